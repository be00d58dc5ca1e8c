"""Which rows were rejected, from the command line: after an ingest, and with ``ctxrisk status --rejected``."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from support.hotspot_fixtures import write_csv
from typer.testing import CliRunner

from ctxrisk.cli.main import app

runner = CliRunner()
HEADER = "incident_id,occurred_at,latitude,longitude,category"
#: A value that must never be printed: it stands for an identifier in a refused cell.
SECRET = "Jane-Doe-2011"


@pytest.fixture
def bad_files(tmp_path):
    one = write_csv(
        tmp_path / "one.csv",
        HEADER,
        [f"A{i},{SECRET},53.1,-2.4,Drug supply" for i in range(7)] + ["G1,2024-01-01T10:00,53.1,-2.4,Drug supply"],
    )
    two = write_csv(tmp_path / "two.csv", HEADER, ["B1,2024-01-01T10:00,999,-2.4,Drug supply", "B2,,53.1,-2.4,x"])
    wh = tmp_path / "w.duckdb"
    assert runner.invoke(app, ["init", "--warehouse", str(wh)]).exit_code == 0  # ingest creates no warehouse
    return wh, one, two


def _ingest(wh, *paths, fmt="table"):
    return runner.invoke(app, ["ingest", "incidents", *map(str, paths), "--warehouse", str(wh), "--format", fmt])


def test_ingest_prints_the_first_rejected_rows_with_file_line_column_and_reason(bad_files, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    wh, one, two = bad_files
    r = _ingest(wh, one, two)
    assert r.exit_code == 0, r.output
    assert "read 10 = loaded 1 + rejected 9" in r.stdout
    lines = r.stdout.splitlines()
    rows_one = [x for x in lines if "one.csv" in x and "occurred_at" in x]
    assert [int(x.split("│")[2]) for x in rows_one] == [2, 3, 4, 5, 6]  # the first five of seven
    assert all("not an ISO 8601 date or time" in x for x in rows_one)
    assert any("two.csv" in x and "│    2 │ latitude" in x and "outside Great Britain" in x for x in lines)
    assert any("two.csv" in x and "│    3 │ occurred_at" in x and "blank" in x for x in lines)
    assert "`ctxrisk status --rejected` lists every rejected row" in r.stdout
    assert SECRET not in r.output


def test_ingest_json_carries_the_first_rejected_rows_of_each_file(bad_files):
    wh, one, two = bad_files
    r = _ingest(wh, one, two, fmt="json")
    assert r.exit_code == 0, r.output
    files = json.loads(r.stdout)["files"]
    first = {f["path"].rsplit("/", 1)[-1]: f["first_rejected"] for f in files}
    assert [row["line"] for row in first["one.csv"]] == [2, 3, 4, 5, 6]
    assert first["two.csv"][0] == {
        "kind": "incidents",
        "file": str(two),
        "line": 2,
        "column": "latitude",
        "reason": "latitude/longitude outside Great Britain (is the pair swapped?)",
    }
    assert SECRET not in r.stdout


def test_a_clean_ingest_prints_no_rejected_rows(tmp_path):
    path = write_csv(tmp_path / "ok.csv", HEADER, ["G1,2024-01-01T10:00,53.1,-2.4,Drug supply"])
    assert runner.invoke(app, ["init", "--warehouse", str(tmp_path / "w.duckdb")]).exit_code == 0
    r = _ingest(tmp_path / "w.duckdb", path)
    assert r.exit_code == 0, r.output
    assert "read 1 = loaded 1 + rejected 0" in r.stdout and "rejected rows" not in r.stdout


def test_status_rejected_lists_every_row_in_each_format(bad_files, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    wh, one, two = bad_files
    assert _ingest(wh, one, two).exit_code == 0
    r = runner.invoke(app, ["status", "--warehouse", str(wh), "--rejected", "--format", "csv"])
    assert r.exit_code == 0, r.output
    frame = pd.read_csv(io.StringIO(r.stdout))
    assert list(frame.columns) == ["kind", "file", "line", "column", "reason"]
    assert len(frame) == 9 and frame["line"].tolist() == [2, 3, 4, 5, 6, 7, 8, 2, 3]
    assert frame["file"].tolist() == [str(one)] * 7 + [str(two)] * 2
    assert "9 of 9 rejected row(s)" in r.stderr
    r = runner.invoke(app, ["status", "--warehouse", str(wh), "--rejected", "--limit", "3", "--format", "json"])
    info = json.loads(r.stdout)
    assert info["rejected_rows"] == 9 and [row["line"] for row in info["rows"]] == [2, 3, 4]
    r = runner.invoke(app, ["status", "--warehouse", str(wh), "--rejected", "--limit", "8"])
    assert r.exit_code == 0, r.output
    assert "rejected rows (8 of 9; the values are not shown)" in r.stdout
    assert sum("two.csv" in x for x in r.stdout.splitlines()) == 1
    assert SECRET not in r.output


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--rejected", "--format", "geojson"], "--format must be one of"),
        (["--format", "csv"], "--format must be one of"),
        (["--rejected", "--limit", "0"], "--limit must be at least 1"),
        (["--limit", "5"], "--limit goes with --rejected"),
    ],
)
def test_status_rejected_bad_options_are_usage_errors(tmp_path, args, match):
    wh = tmp_path / "w.duckdb"
    assert runner.invoke(app, ["init", "--warehouse", str(wh)]).exit_code == 0
    r = runner.invoke(app, ["status", "--warehouse", str(wh), *args])
    assert r.exit_code == 2 and match in r.stderr


def test_status_rejected_on_a_clean_warehouse_says_so(tmp_path):
    wh = tmp_path / "w.duckdb"
    assert runner.invoke(app, ["init", "--warehouse", str(wh)]).exit_code == 0
    r = runner.invoke(app, ["status", "--warehouse", str(wh), "--rejected"])
    assert r.exit_code == 0 and "no rejected rows" in r.stdout
