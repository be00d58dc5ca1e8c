"""How ctxrisk's command-line output reads off a terminal: console width, number cells, cluster areas, help."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from support.hotspot_fixtures import write_csv
from typer.testing import CliRunner

from ctxrisk.cli.common import PIPE_WIDTH, make_console
from ctxrisk.cli.formats import emit
from ctxrisk.cli.main import app

runner = CliRunner()
REASON = "latitude/longitude outside Great Britain (is the pair swapped?)"


@pytest.fixture
def rejected_warehouse(tmp_path):
    wh = str(tmp_path / "w.duckdb")
    assert runner.invoke(app, ["init", "--warehouse", wh]).exit_code == 0
    path = write_csv(
        tmp_path / "incidents.csv",
        "incident_id,occurred_at,latitude,longitude,category",
        ["A1,2024-01-01T10:00,53.1,-2.4,Drug supply", "A2,2024-01-01T10:00,999,-2.4,Drug supply"],
    )
    assert runner.invoke(app, ["ingest", "incidents", str(path), "--warehouse", wh]).exit_code == 0
    return wh


def test_tables_keep_whole_lines_when_stdout_is_not_a_terminal(rejected_warehouse, monkeypatch):
    """A cron log or `make demo` output: no 80-column cut, so a reason and its headers stay on one line."""
    monkeypatch.delenv("COLUMNS", raising=False)
    r = runner.invoke(app, ["status", "--warehouse", rejected_warehouse])
    assert r.exit_code == 0, r.output
    assert any(REASON in line and "incidents" in line for line in r.stdout.splitlines())
    assert any("last ingested" in line for line in r.stdout.splitlines())


@pytest.mark.parametrize(("columns", "width"), [(None, PIPE_WIDTH), ("100", 100), ("0", PIPE_WIDTH)])
def test_console_width_off_a_terminal_is_columns_else_wide(monkeypatch, columns, width):
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert make_console(file=io.StringIO()).width == width


def _table(frame: pd.DataFrame) -> str:
    out = io.StringIO()
    emit(frame, fmt="table", out=out)
    return out.getvalue()


def test_integer_cells_have_thousands_separators_and_coordinates_five_decimals():
    frame = pd.DataFrame(
        {
            "method": ["naive top-k", "kde"],
            "test_events": [1202, 31],
            "captured": [1202.0, 397.0],  # whole numbers held as floats (e.g. after a merge)
            "z": [2.3456, 41.04],
            "latitude": [51.516871, 53.1],
            "longitude": [-0.081113, -2.44],
            "area_m2": [38_700_000.0, 12.5],
        }
    )
    text = _table(frame)
    assert "1,202" in text and "1.2e+03" not in text and "1202" not in text
    assert "397" in text and "397.0" not in text
    assert "51.51687" in text and "-0.08111" in text and "53.10000" in text
    assert "2.35" in text and "41" in text
    assert "38,700,000" in text and "3.87e+07" not in text and "12.5" in text


def test_point_clusters_on_one_snapped_map_point_say_single_point(tmp_path):
    """police.uk snaps events to anonymised map points: a cluster on one point has no hull area."""
    wh = str(tmp_path / "w.duckdb")
    assert runner.invoke(app, ["init", "--warehouse", wh]).exit_code == 0
    header = "incident_id,occurred_at,latitude,longitude,category"
    rows = [f"S{i},2024-01-0{1 + i % 5}T10:00,53.098765,-2.443210,Drug supply" for i in range(12)]
    rows += [
        f"T{i},2024-01-0{1 + i % 5}T10:00,{53.2 + (i % 4) * 0.0004:.6f},{-2.3 + (i // 4) * 0.0006:.6f},Drug supply"
        for i in range(12)
    ]
    path = write_csv(tmp_path / "incidents.csv", header, rows)
    assert runner.invoke(app, ["ingest", "incidents", str(path), "--warehouse", wh]).exit_code == 0
    r = runner.invoke(app, ["hotspots", "--warehouse", wh, "--unit", "points", "--min-cluster-size", "5", "--no-mart"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    single = [line for line in lines if "53.09876" in line or "53.09877" in line]
    assert len(single) == 1 and "single point" in single[0] and "-2.44321" in single[0]
    spread = [line for line in lines if "53.200" in line]
    assert len(spread) == 1 and "single point" not in spread[0]
    area = spread[0].split()[-2]  # the spread cluster's hull: 3 x 0.0004 deg by 2 x 0.0006 deg, ~ 133 m x 80 m
    assert 8_000 < float(area.replace(",", "")) < 14_000
    r = runner.invoke(
        app,
        ["hotspots", "--warehouse", wh, "--unit", "points", "--min-cluster-size", "5", "--no-mart", "--format", "csv"],
    )
    frame = pd.read_csv(io.StringIO(r.stdout))
    assert sorted(frame["area_m2"].round(-3)) == [0.0, pytest.approx(11_000, abs=3_000)]


def test_map_help_names_the_official_sensitive_edition(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0
    line = next(x for x in r.stdout.splitlines() if " map " in x)
    assert "OFFICIAL-SENSITIVE" in line and "steering" in line
    r = runner.invoke(app, ["map", "--help"])
    assert "Self-contained map pages for the steering group (aggregates only)" not in r.stdout
    assert "OFFICIAL-SENSITIVE association-graph explorer" in r.stdout
