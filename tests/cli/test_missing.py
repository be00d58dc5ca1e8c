"""``ctxrisk missing children|summary`` and ``ctxrisk mace [places]`` through the command line."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from support.hotspot_fixtures import write_csv
from typer.testing import CliRunner

from ctxrisk.cli.main import app
from ctxrisk.cli.missing import BANNER
from ctxrisk.maps.language import assert_appropriate
from ctxrisk.pipelines.ingest import ingest_file
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.warehouse import connect

runner = CliRunner()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    folder = tmp_path_factory.mktemp("missing-cli")
    path = folder / "w.duckdb"
    settings = load_settings(None, warehouse=path)
    con = connect(settings=settings)
    persons = write_csv(folder / "p.csv", "person_id,birth_year_month,sex,looked_after", ["C1,2010-05,female,true"])
    ingest_file(con, "persons", persons, settings=settings)
    episodes = write_csv(
        folder / "m.csv",
        "episode_id,person_id,started_at,ended_at,rhi_offered_at",
        [
            "E1,C1,2026-01-01T20:00,2026-01-02T08:00,2026-01-03T08:00",
            "E2,C1,2026-01-10T20:00,2026-01-11T08:00,",
            "E3,C1,2026-01-20T20:00,2026-01-21T08:00,",
            "E4,C2,2026-02-20T20:00,2026-02-21T08:00,",
        ],
    )
    ingest_file(con, "missing", episodes, settings=settings)
    con.close()
    return path


def _run(*args: str):
    return runner.invoke(app, list(args))


def test_children_table_has_the_banner_and_unknown_age(warehouse):
    result = _run("missing", "children", "--warehouse", str(warehouse), "--until", "2026-03-31")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == BANNER
    assert "OFFICIAL-SENSITIVE" in BANNER
    cells = [re.sub(r"[\s│]", "", line) for line in result.output.splitlines()]
    assert any(c.startswith("C2unk") for c in cells)  # C2 has no persons row: listed, age unknown
    assert_appropriate(result.output, where="ctxrisk missing children")


def test_children_csv_and_json(warehouse):
    result = _run("missing", "children", "--warehouse", str(warehouse), "--format", "csv", "--until", "2026-03-31")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["person_id"], r["age"], r["episodes"], r["repeat_3_in_30"]) for r in rows] == [
        ("C1", "15", "3", "True"),
        ("C2", "unknown", "1", "False"),
    ]
    result = _run("missing", "children", "--warehouse", str(warehouse), "--format", "json")
    records = json.loads(result.stdout)
    assert records[0]["max_in_30_days"] == 3 and records[0]["rhi_offered_72h_share"] == pytest.approx(1 / 3)


def test_summary(warehouse):
    result = _run("missing", "summary", "--warehouse", str(warehouse), "--period", "month", "--format", "json")
    assert result.exit_code == 0, result.output
    months = {r["period"]: r for r in json.loads(result.stdout)}
    assert (months["2026-01"]["episodes"], months["2026-01"]["children_missing_repeatedly"]) == (3, 1)
    assert months["2026-02"]["children"] == 1
    bad = _run("missing", "summary", "--warehouse", str(warehouse), "--period", "week")
    assert bad.exit_code == 1 and "period must be one of" in bad.output


def test_mace_lists_repeat_missing_and_says_what_was_not_assessed(warehouse):
    result = _run("mace", "--warehouse", str(warehouse), "--format", "json", "--until", "2026-03-31")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [(r["person_id"], r["indicators_met"]) for r in records] == [("C1", "repeat_missing")]
    assert records[0]["evidence_repeat_missing"] == (
        "3 episodes within 30 days: E1 2026-01-01, E2 2026-01-10, E3 2026-01-20"
    )
    assert "Flagged adults not assessed" in result.stderr and "Locations of concern not assessed" in result.stderr
    table = _run("mace", "--warehouse", str(warehouse), "--until", "2026-03-31")
    assert table.output.splitlines()[0] == BANNER
    text = table.output + result.stdout
    assert_appropriate(text, where="ctxrisk mace")
    assert not re.search(r"\binvolved in\b|\babscond", text, re.IGNORECASE)


def test_mace_places_without_locations(warehouse):
    result = _run("mace", "places", "--warehouse", str(warehouse))
    assert result.exit_code == 0, result.output
    assert "run `ctxrisk locations` first" in result.output


def test_geojson_is_refused(warehouse):
    result = _run("mace", "--warehouse", str(warehouse), "--format", "geojson")
    assert result.exit_code == 2 and "--format must be one of" in result.output


def test_fresh_graph_assesses_flagged_adults(warehouse):
    result = _run("mace", "--warehouse", str(warehouse), "--format", "csv", "--fresh-graph")
    assert result.exit_code == 0, result.output
    assert "Flagged adults not assessed" not in result.stderr
    assert "Locations of concern not assessed" in result.stderr


def test_help_docs_and_module_text_use_appropriate_language():
    from pathlib import Path

    import ctxrisk.analytics.protect as protect

    root = Path(__file__).resolve().parents[2]
    texts = [
        _run("missing", "--help").output,
        _run("missing", "children", "--help").output,
        _run("missing", "summary", "--help").output,
        _run("mace", "--help").output,
        _run("mace", "places", "--help").output,
        (root / "docs" / "missing.md").read_text(encoding="utf-8"),
        *(p.read_text(encoding="utf-8") for p in sorted(Path(protect.__file__).parent.glob("*.py"))),
    ]
    for text in texts:
        assert_appropriate(text, where="missing and MACE text")
        assert not re.search(r"\binvolved in\b", text, re.IGNORECASE)


def test_an_empty_warehouse_gives_empty_tables(tmp_path):
    path = tmp_path / "empty.duckdb"
    connect(settings=load_settings(None, warehouse=path)).close()
    for args in (["missing", "children"], ["missing", "summary"], ["mace"], ["mace", "places"]):
        result = _run(*args, "--warehouse", str(path), "--format", "json")
        assert result.exit_code == 0, (args, result.output)
        assert json.loads(result.stdout) == []


def test_each_list_is_audited(tmp_path, warehouse):
    import shutil

    copy = tmp_path / "w.duckdb"
    shutil.copyfile(warehouse, copy)
    con = connect(settings=load_settings(None, warehouse=copy))
    before = con.execute("select count(*) from meta.audit").fetchone()[0]
    con.close()
    for args in (["missing", "children"], ["missing", "summary"], ["mace"], ["mace", "places"]):
        assert _run(*args, "--warehouse", str(copy), "--format", "csv").exit_code == 0
    con = connect(settings=load_settings(None, warehouse=copy))
    rows = con.execute(
        "select action, edition, target, detail, os_user from meta.audit order by recorded_at offset ?", [before]
    ).fetchall()
    con.close()
    assert [r[:4] for r in rows] == [
        ("missing children", "official-sensitive", "stdout (csv)", "2 rows"),
        ("missing summary", "official-sensitive", "stdout (csv)", "1 rows"),
        ("mace", "official-sensitive", "stdout (csv)", "1 rows"),
        ("mace places", "official-sensitive", "stdout (csv)", "1 rows"),
    ]
    assert all(r[4] for r in rows)
