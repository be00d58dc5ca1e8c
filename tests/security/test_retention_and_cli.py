"""Retention leaves nothing derived behind; commands neither create warehouses by typo nor print tracebacks or
interpret markup from paths (issue 24 items 7, 10, 11)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ctxrisk.cli.main import app
from ctxrisk.jobs import run as jobs
from ctxrisk.pipelines.purge import purge
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.warehouse import connect, stale_marts, write_mart

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
OLD_AND_NEW = (
    "incident_id,occurred_at,latitude,longitude,category\n"
    "OLD1,2021-01-10T10:00,51.51,-0.09,cse\nNEW1,2025-05-01T10:00,51.51,-0.09,cse\n"
)
ONLY_NEW = "incident_id,occurred_at,latitude,longitude,category\nNEW2,2025-05-02T10:00,51.51,-0.09,cse\n"


@pytest.fixture(autouse=True)
def _own_steps(monkeypatch):
    real = jobs.run_job  # the steps after the ingest steps: none in these tests
    monkeypatch.setattr(jobs, "run_job", lambda settings, **kw: real(settings, **{"steps": [], **kw}))
    for name in ("CTXRISK_WAREHOUSE", "CTXRISK_CONFIG", "CTXRISK_PSEUDO_KEY", "CTXRISK_PSEUDO_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


def _cli(*args: str):
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture()
def site(tmp_path: Path):
    drop = tmp_path / "drop" / "incidents"
    drop.mkdir(parents=True)
    (drop / "mixed.csv").write_text(OLD_AND_NEW)
    (drop / "recent.csv").write_text(ONLY_NEW)
    config = tmp_path / "c.toml"
    config.write_text(
        '[paths]\nwarehouse = "wh/ctxrisk.duckdb"\noutput_dir = "out"\ndrop_dirs = { incidents = "drop/incidents" }\n'
    )
    settings = load_settings(config)
    assert jobs.run_job(settings).status == "ok"
    con = connect(settings=settings)
    write_mart(con, "hotspots", pd.DataFrame({"area": ["E01000001"], "events": [2]}))
    write_mart(con, "graph_nodes", pd.DataFrame({"person_id": ["P-OLD"]}))
    con.close()
    return tmp_path, settings


def test_purge_removes_derived_marts_and_marks_them_stale(site) -> None:
    _root, settings = site
    result = purge(settings, "1y6m", now=NOW)
    assert result.deleted["raw.incidents"] == 1
    # only marts that held rows are stale; each is emptied, keeping its declared columns
    assert result.cleared_marts == {"graph_nodes": 1, "hotspots": 1}
    con = connect(settings=settings)
    assert con.execute("select count(*) from marts.hotspots").fetchone()[0] == 0
    assert con.execute("select count(*) from marts.graph_nodes").fetchone()[0] == 0
    assert set(stale_marts(con)) == {"graph_nodes", "hotspots"}
    assert sorted(r[0] for r in con.execute("select mart from meta.stale_marts").fetchall()) == [
        "graph_nodes",
        "hotspots",
    ]
    write_mart(con, "hotspots", pd.DataFrame({"area": ["E01000001"], "events": [1]}))
    assert [r[0] for r in con.execute("select mart from meta.stale_marts").fetchall()] == ["graph_nodes"]
    con.close()
    status = _cli("status", "--warehouse", str(settings.paths.warehouse))
    assert status.exit_code == 0 and "not rebuilt yet: graph_nodes" in status.output


def test_purge_removes_processed_copies_that_held_purged_rows(site) -> None:
    root, settings = site
    processed = root / "drop" / "incidents" / "processed"
    assert sorted(p.name for p in processed.iterdir()) == ["mixed.csv", "recent.csv"]
    dry = purge(settings, "1y6m", now=NOW, dry_run=True)
    assert dry.removed_files == [str(processed / "mixed.csv")] and (processed / "mixed.csv").exists()
    result = purge(settings, "1y6m", now=NOW)
    assert result.removed_files == [str(processed / "mixed.csv")]
    assert sorted(p.name for p in processed.iterdir()) == ["recent.csv"]


def test_a_purge_with_nothing_older_leaves_marts_alone(site) -> None:
    _root, settings = site
    result = purge(settings, "10y", now=NOW)
    assert result.total == 0 and result.cleared_marts == {} and result.removed_files == []


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["hotspots"],
        ["locations"],
        ["graph", "groups"],
        ["map", "steering", "--out", "m.html"],
        ["purge", "--older-than", "7y"],
        ["missing", "children"],
        ["mace"],
        ["report", "--out", "r.html"],
        ["ingest", "incidents", "i.csv"],
        ["ingest", "boundaries", "b.geojson", "--level", "ward"],
    ],
)
def test_a_mistyped_warehouse_creates_nothing(tmp_path: Path, monkeypatch, command) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "i.csv").write_text(ONLY_NEW)  # a good file: the missing warehouse is what is refused
    typo = tmp_path / "typo" / "nested" / "wh.duckdb"
    result = _cli(*command, "--warehouse", str(typo))
    assert result.exit_code != 0
    assert "does not exist" in result.output and "ctxrisk init" in result.output
    assert not (tmp_path / "typo").exists()


def test_ingest_into_a_missing_warehouse_says_run_init_first_and_exits_1(tmp_path: Path) -> None:
    target = tmp_path / "new" / "wh.duckdb"
    (tmp_path / "i.csv").write_text(ONLY_NEW)
    result = _cli("ingest", "incidents", str(tmp_path / "i.csv"), "--warehouse", str(target))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert f"ctxrisk init --warehouse {target}" in " ".join(result.output.split())
    assert not (tmp_path / "new").exists()
    assert _cli("init", "--warehouse", str(target)).exit_code == 0
    result = _cli("ingest", "incidents", str(tmp_path / "i.csv"), "--warehouse", str(target))
    assert result.exit_code == 0, result.output
    assert "read 1 = loaded 1 + rejected 0" in result.output


def test_init_creates_the_warehouse(tmp_path: Path) -> None:
    target = tmp_path / "new" / "wh.duckdb"
    assert _cli("init", "--warehouse", str(target)).exit_code == 0
    assert target.is_file()
    assert _cli("status", "--warehouse", str(target)).exit_code == 0


@pytest.mark.parametrize("name", ["odd[/x]", "[bold red]loud[/bold red]", "a\nFAKE LOG LINE"])
def test_paths_with_markup_or_newlines_are_printed_as_written(tmp_path: Path, name: str) -> None:
    target = tmp_path / name / "wh.duckdb"
    result = _cli("status", "--warehouse", str(target))
    assert result.exit_code == 1
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    shown = name.replace("\n", "\\n")
    assert shown in result.output
    assert "\nFAKE LOG LINE" not in result.output


def test_a_truncated_warehouse_is_a_sentence(tmp_path: Path) -> None:
    target = tmp_path / "wh.duckdb"
    assert _cli("init", "--warehouse", str(target)).exit_code == 0
    data = target.read_bytes()
    target.write_bytes(data[:-1])
    result = _cli("status", "--warehouse", str(target))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "cannot open warehouse" in result.output and "restore it from a backup" in result.output


@pytest.mark.parametrize(
    ("toml", "match"),
    [
        ('[paths]\ndrop_dirs = "x"\n', "drop_dirs must be a table of paths by kind"),
        ("[paths]\ndrop_dirs = [1, 2]\n", "drop_dirs must be a table of paths by kind"),
        ("[paths]\ndrop_dirs = { incidents = 3 }\n", "the path of incidents must be a non-empty string"),
        ("[paths]\nwarehouse = 5\n", "warehouse must be a path in quotes"),
        ('[paths]\nboundaries = "b.geojson"\n', "boundaries must be a table of paths by kind"),
    ],
)
def test_bad_path_settings_are_a_sentence(tmp_path: Path, toml: str, match: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(toml)
    result = _cli("run", "--config", str(config))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert match in " ".join(result.output.split())


def test_outputs_to_a_folder_or_under_a_file_are_a_sentence(site) -> None:
    root, settings = site
    warehouse = str(settings.paths.warehouse)
    folder = root / "reports"
    folder.mkdir()
    blocker = root / "notes.txt"
    blocker.write_text("x")
    for args, expected in [
        (["report", "--out", str(folder)], "a folder; give a file name"),
        (["report", "--out", str(blocker / "r.html")], "notes.txt is a file, not a folder"),
        (["graph", "export", str(blocker / "g.graphml")], "notes.txt is a file, not a folder"),
    ]:
        result = _cli(*args, "--warehouse", warehouse)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
        assert expected in " ".join(result.output.split())
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_run_creates_only_the_warehouse_its_config_names(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "drop").mkdir()
    config = tmp_path / "c.toml"
    config.write_text('[paths]\noutput_dir = "out"\ndrop_dirs = { incidents = "drop" }\n')
    result = _cli("run", "--config", str(config))  # the config names no warehouse: the default is not created
    assert result.exit_code == 1 and "does not exist (nothing was created)" in " ".join(result.output.split())
    result = _cli("run", "--config", str(config), "--warehouse", str(tmp_path / "typo" / "wh.duckdb"))
    assert result.exit_code == 1 and not (tmp_path / "typo").exists() and not (tmp_path / "output").exists()
    config.write_text(
        '[paths]\nwarehouse = "wh/ctxrisk.duckdb"\noutput_dir = "out"\ndrop_dirs = { incidents = "drop" }\n'
    )
    assert _cli("run", "--config", str(config)).exit_code == 0
    assert (tmp_path / "wh" / "ctxrisk.duckdb").is_file()


def test_no_steering_map_is_drawn_from_marts_a_purge_removed(site) -> None:
    root, settings = site
    purge(settings, "1y6m", now=NOW)
    out = root / "map.html"
    result = _cli("map", "steering", "--out", str(out), "--warehouse", str(settings.paths.warehouse))
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and "emptied by a purge" in said and "marts.hotspots" in said
    assert not out.exists()


def test_ingest_of_files_named_with_markup_prints_them_as_written(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    assert _cli("init", "--warehouse", str(warehouse)).exit_code == 0
    folder = tmp_path / "[bold red]x"
    folder.mkdir()
    good = folder / "[red]good.csv"
    good.write_text(ONLY_NEW)
    bad = folder / "[blink]bad.csv"
    bad.write_text("no,header,we,know\n1,2,3,4\n")
    result = _cli("ingest", "incidents", str(good), str(bad), "--warehouse", str(warehouse))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "[red]good.csv" in result.output and "[blink]bad.csv" in result.output


def test_readers_treat_a_purged_mart_as_not_built(tmp_path: Path) -> None:
    from ctxrisk.analytics.protect.links import flagged_adults
    from ctxrisk.maps.indicators import locations_of_concern
    from ctxrisk.pipelines.settings import load_settings

    con = connect(settings=load_settings(None, warehouse=tmp_path / "w.duckdb"))
    adult = {"person_id": "A1", "age_band": "adult", "children_linked": 3, "child_links": 3, "links": 3}
    adult |= {"expected_by_chance": 0.5, "p": 0.001, "q": 0.002, "flagged": True, "finding": "adult linked to 3"}
    adult |= {"score": 2.0, "looked_after_children": 0, "high_risk_children": 0, "relations": "knows:3"}
    adult |= {"last_seen": pd.Timestamp("2024-01-01", tz="UTC"), "evidence_summary": ""}
    write_mart(con, "graph_adults_of_concern", pd.DataFrame([adult]))  # every column pipelines/sql/marts declares
    write_mart(con, "locations_of_concern", pd.DataFrame({"rank": [1], "unit_id": ["89195da49a3ffff"]}))
    assert flagged_adults(con).ids == frozenset({"A1"}) and locations_of_concern(con) is not None
    con.execute("delete from marts.graph_adults_of_concern")
    con.execute("delete from marts.locations_of_concern")
    con.execute(
        "insert into meta.stale_marts values ('graph_adults_of_concern', now(), 'purge'), "
        "('locations_of_concern', now(), 'purge')"
    )
    assert not flagged_adults(con).assessed and locations_of_concern(con) is None
    con.close()


def test_locations_on_a_small_incidents_only_warehouse_is_a_table_not_a_traceback(tmp_path: Path) -> None:
    """Issue 24 item 10: 20 incidents, no persons nor boundaries; `locations` before and after `hotspots`."""
    warehouse = str(tmp_path / "wh.duckdb")
    rows = [
        f"I{i},2025-0{1 + i % 9}-1{i % 9}T10:00,{51.51 + i * 0.0004:.5f},{-0.09 + (i * 7 % 20) * 0.0005:.5f},cse"
        for i in range(20)
    ]
    path = tmp_path / "incidents.csv"
    path.write_text("incident_id,occurred_at,latitude,longitude,category\n" + "\n".join(rows) + "\n")
    assert _cli("init", "--warehouse", warehouse).exit_code == 0
    assert "read 20 = loaded 20 + rejected 0" in _cli("ingest", "incidents", str(path), "--warehouse", warehouse).output
    for args in (["locations", "--top", "10"], ["hotspots"], ["locations", "--top", "10"]):
        result = _cli(*args, "--warehouse", warehouse)
        assert result.exit_code == 0, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.output
    assert "No location of concern" in result.output
    result = _cli("locations", "--top", "10", "--format", "csv", "--warehouse", warehouse)
    assert result.exit_code == 0 and result.stdout.startswith("rank,unit_id,name,score")
