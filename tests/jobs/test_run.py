"""Tests for the unattended run: steps, drop folders, quarantine, run log, exit codes and SIGKILL recovery."""

from __future__ import annotations

import functools
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import support
from support.run_entry import count_and_report_steps

from ctxrisk.jobs import run as jobs
from ctxrisk.jobs import signals
from ctxrisk.jobs.run import Step, StepList, StepOutput, plan_steps, run_job
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.lock import RunLock, lock_path_for
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.warehouse import connect, write_mart

REPO = Path(__file__).resolve().parents[2]

INCIDENTS_A = (
    "incident_id,occurred_at,latitude,longitude,category\n"
    "A1,2024-03-01T10:00,53.1,-2.4,cse\nA2,2024-03-02,53.2,-2.5,drugs\nA3,not a time,53.2,-2.5,drugs\n"
)
INCIDENTS_B = (
    "incident_id,occurred_at,easting,northing,category\n"
    "B1,2024-04-01T10:00,370000,360000,county lines\nB2,2024-04-02,370100,360100,robbery\n"
)
PERSONS_OK = "person_id,sex\nP1,F\nP2,m\n"
PERSONS_PII = "person_id,first_name\nP9,Anna\n"
NOT_UTF8 = "incident_id,occurred_at,latitude,longitude,category\nC1,2024-03-01,53.1,-2.4,caf\xe9\n".encode("latin-1")


@pytest.fixture()
def plan() -> StepList:
    """The steps a test runs after the ingest steps: none until it registers some."""
    return StepList()


def _config(root: Path, kinds: tuple[str, ...] = ("incidents", "persons")) -> Path:
    drops = ", ".join(f'{k} = "drop/{k}"' for k in kinds)
    path = root / "ctxrisk.toml"
    path.write_text(f'[paths]\nwarehouse = "wh/ctxrisk.duckdb"\noutput_dir = "out"\ndrop_dirs = {{ {drops} }}\n')
    for kind in kinds:
        (root / "drop" / kind).mkdir(parents=True, exist_ok=True)
    return path


def _drop(root: Path, kind: str, name: str, data: str | bytes) -> Path:
    path = root / "drop" / kind / name
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


@pytest.fixture()
def site(tmp_path: Path):
    config = _config(tmp_path)
    return tmp_path, load_settings(config)


def _rows(con, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def assert_consistent(warehouse: Path) -> dict[str, int]:
    """The warehouse opens and every ingested file has exactly its loaded and rejected rows; return counts."""
    con = connect(warehouse)
    try:
        tables = {"incidents": "raw.incidents", "persons": "raw.persons", "involvements": "raw.involvements"}
        files = _rows(con, "select file_id, kind, rows_read, rows_loaded, rows_rejected from raw.ingest_files")
        for file_id, kind, read, loaded, rejected in files:
            assert read == loaded + rejected
            stored = _rows(con, f"select count(*) from {tables[kind]} where file_id = ?", [file_id])[0][0]
            assert stored == loaded, (kind, file_id)
            refused = _rows(con, "select count(distinct line) from raw.rejected_rows where file_id = ?", [file_id])
            assert refused[0][0] == rejected
        for table in tables.values():
            orphans = _rows(
                con, f"select count(*) from {table} where file_id not in (select file_id from raw.ingest_files)"
            )[0][0]
            assert orphans == 0, table
        return {k: _rows(con, f"select count(*) from {t}")[0][0] for k, t in tables.items()}
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------------- planning


def test_plan_has_one_ingest_step_per_drop_folder_then_registered_steps(site, plan) -> None:
    _root, settings = site
    plan.register("hotspots", lambda ctx: None)
    plan.register("report", lambda ctx: None)
    plan.register("graph", lambda ctx: None, after="hotspots")
    plan.register("map", lambda ctx: None, before="report")
    names = [s.name for s in plan_steps(settings, steps=plan.steps)]
    assert names == ["ingest incidents", "ingest persons", "hotspots", "graph", "map", "report"]
    plan.register("graph", lambda ctx: 1)  # re-registering replaces, appended at the end
    assert [s.name for s in plan.steps] == ["hotspots", "map", "report", "graph"]
    plan.remove("map")
    assert [s.name for s in plan.steps] == ["hotspots", "report", "graph"]


def test_plan_refuses_unknown_kinds_and_reserved_names(tmp_path: Path, plan) -> None:
    settings = load_settings(_config(tmp_path, ("incidents", "crimes")))
    with pytest.raises(ValidationError, match=r"drop_dirs names unknown kind\(s\) \['crimes'\]; allowed: .*incidents"):
        plan_steps(settings, steps=plan.steps)
    with pytest.raises(ValidationError, match="reserved"):
        plan.register("ingest incidents", lambda ctx: None)
    with pytest.raises(ValidationError, match="needs a name"):
        plan.register(" ", lambda ctx: None)


def test_boundaries_are_configured_by_level_not_dropped(tmp_path: Path, plan) -> None:
    settings = load_settings(_config(tmp_path, ("incidents", "boundaries")))
    with pytest.raises(ValidationError, match=r"not read from a drop folder: list them by level in \[paths\]"):
        plan_steps(settings, steps=plan.steps)


def test_configured_boundaries_load_once_and_stay_in_place(tmp_path: Path, plan) -> None:
    square = [[-2.45, 53.05], [-2.35, 53.05], [-2.35, 53.15], [-2.45, 53.15], [-2.45, 53.05]]
    layer = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"LSOA21CD": "E01000001", "LSOA21NM": "Test 001A"},
                "geometry": {"type": "Polygon", "coordinates": [square]},
            }
        ],
    }
    (tmp_path / "lsoa.geojson").write_text(json.dumps(layer))
    config = _config(tmp_path, ("incidents",))
    config.write_text(config.read_text() + 'boundaries = { lsoa21 = "lsoa.geojson" }\n')
    _drop(tmp_path, "incidents", "a.csv", INCIDENTS_A)
    settings = load_settings(config)
    assert [s.name for s in plan_steps(settings, steps=plan.steps)] == [
        "ingest boundaries (configured)",
        "ingest incidents",
    ]
    first = run_job(settings, steps=plan.steps)
    assert first.status == "ok", first.as_dict()
    assert [(Path(f.path).name, f.status, f.rows_loaded) for f in first.files] == [
        ("lsoa.geojson", "ok", 1),
        ("a.csv", "ok", 2),
    ]
    assert (tmp_path / "lsoa.geojson").exists()  # configured files are not moved
    assert [f.status for f in run_job(settings, steps=plan.steps).files] == ["skipped"]
    con = connect(settings=settings)
    assert _rows(con, "select level, code from raw.boundaries") == [("lsoa21", "E01000001")]
    con.close()


def test_builtin_steps_are_planned_in_run_order() -> None:
    assert [s.name for s in jobs.builtin_steps()] == [
        "association graph",
        "hotspots",
        "emerging hotspots",
        "locations of concern",
        "steering map",
        "report",
    ]


# ---------------------------------------------------------------------------------------------------- running


def test_run_ingests_quarantines_moves_and_logs(site, plan) -> None:
    root, settings = site
    _drop(root, "incidents", "a.csv", INCIDENTS_A)
    _drop(root, "incidents", "c.csv", NOT_UTF8)
    _drop(root, "persons", "good.csv", PERSONS_OK)
    _drop(root, "persons", "pii.csv", PERSONS_PII)
    _drop(root, "persons", ".hidden.csv", PERSONS_OK)
    _drop(root, "persons", "copying.csv.part", PERSONS_OK)
    summary = run_job(settings, steps=plan.steps)
    assert summary.status == "partial"
    by_name = {Path(f.path).name: f for f in summary.files}
    assert {n: f.status for n, f in by_name.items()} == {
        "a.csv": "ok",
        "c.csv": "quarantined",
        "good.csv": "ok",
        "pii.csv": "quarantined",
    }
    assert (by_name["a.csv"].rows_read, by_name["a.csv"].rows_loaded, by_name["a.csv"].rows_rejected) == (3, 2, 1)
    drop = root / "drop"
    assert sorted(p.name for p in (drop / "incidents" / "processed").iterdir()) == ["a.csv"]
    assert sorted(p.name for p in (drop / "incidents" / "quarantine").iterdir()) == ["c.csv", "c.csv.reason.txt"]
    reason = (drop / "incidents" / "quarantine" / "c.csv.reason.txt").read_text()
    assert "reason: " in reason and "not UTF-8" in reason and f"run: {summary.run_id}" in reason
    assert "direct identifiers" in (drop / "persons" / "quarantine" / "pii.csv.reason.txt").read_text()
    assert sorted(p.name for p in (drop / "persons").iterdir() if p.is_file()) == [".hidden.csv", "copying.csv.part"]
    assert summary.headline() == (
        "4 file(s): 2 loaded, 0 already ingested, 2 quarantined, 0 failed; 4 rows loaded, 1 rejected; 0 of 2 step(s) ok"
    )
    assert assert_consistent(settings.paths.warehouse) == {"incidents": 2, "persons": 2, "involvements": 0}
    con = connect(settings=settings)
    log_rows = {
        r[0]: r[1:]
        for r in _rows(
            con,
            "select step, status, rows_read, rows_loaded, rows_rejected from meta.run_log where run_id = ?",
            [summary.run_id],
        )
    }
    assert log_rows == {
        "run": ("partial", 5, 4, 1),
        "ingest incidents": ("partial", 3, 2, 1),
        "ingest incidents: a.csv": ("ok", 3, 2, 1),
        "ingest incidents: c.csv": ("quarantined", None, None, None),
        "ingest persons": ("partial", 2, 2, 0),
        "ingest persons: good.csv": ("ok", 2, 2, 0),
        "ingest persons: pii.csv": ("quarantined", None, None, None),
    }
    assert _rows(con, "select count(*) from meta.run_log where ended_at is null or ended_at < started_at")[0][0] == 0
    audits = _rows(con, "select action, detail from meta.audit order by recorded_at")
    assert [a for a, _ in audits] == ["run", "run"]
    assert audits[1][1].startswith(f"run {summary.run_id} partial: 4 file(s)")
    con.close()
    # The next run finds nothing new; the same bytes under a new name are skipped and filed away.
    _drop(root, "incidents", "a-again.csv", INCIDENTS_A)
    second = run_job(settings, steps=plan.steps)
    assert second.status == "ok"
    assert [(Path(f.path).name, f.status) for f in second.files] == [("a-again.csv", "skipped")]
    assert (drop / "incidents" / "processed" / "a-again.csv").exists()
    assert assert_consistent(settings.paths.warehouse)["incidents"] == 2


def test_same_name_dropped_again_is_kept_beside_the_first(site, plan) -> None:
    root, settings = site
    _drop(root, "incidents", "a.csv", INCIDENTS_A)
    run_job(settings, steps=plan.steps)
    _drop(root, "incidents", "a.csv", INCIDENTS_B)
    assert run_job(settings, steps=plan.steps).status == "ok"
    processed = root / "drop" / "incidents" / "processed"
    assert sorted(p.name for p in processed.iterdir()) == ["a.csv", "a.csv.1"]
    assert (processed / "a.csv.1").read_text() == INCIDENTS_B


def test_registered_steps_run_in_one_transaction_each(site, plan) -> None:
    root, settings = site
    _drop(root, "incidents", "a.csv", INCIDENTS_A)

    def counts(ctx):
        n = ctx.con.execute("select count(*) from raw.incidents").fetchone()[0]
        write_mart(ctx.con, "job_counts", pd.DataFrame({"incidents": [n]}))
        return StepOutput(rows=1, detail=f"{n} incidents")

    def broken(ctx):
        write_mart(ctx.con, "half_done", pd.DataFrame({"a": [1]}))
        ctx.write_output("broken.txt", "never kept")
        msg = "the model did not converge"
        raise ValidationError(msg)

    def report(ctx):
        path = ctx.write_output("reports/summary.txt", "2 incidents\n", action="report", edition="analyst")
        return StepOutput(rows=1, detail=path.name)

    plan.register("counts", counts)
    plan.register("broken", broken)
    plan.register("needs broken", lambda ctx: 1, requires=["broken"])
    plan.register("report", report, requires=["counts"])
    plan.register("crashes", lambda ctx: 1 / 0)
    summary = run_job(settings, steps=plan.steps)
    assert [(s.name, s.status) for s in summary.steps] == [
        ("ingest incidents", "ok"),
        ("ingest persons", "ok"),
        ("counts", "ok"),
        ("broken", "failed"),
        ("needs broken", "skipped"),
        ("report", "ok"),
        ("crashes", "failed"),
    ]
    assert summary.status == "partial"
    steps = {s.name: s for s in summary.steps}
    assert steps["broken"].error == "the model did not converge"
    assert steps["needs broken"].error == "needs broken, which did not succeed in this run"
    assert steps["crashes"].error == "unexpected ZeroDivisionError: division by zero"
    con = connect(settings=settings)
    assert _rows(con, "select incidents from marts.job_counts") == [(2,)]
    marts = {r[0] for r in _rows(con, "select table_name from information_schema.tables where table_schema='marts'")}
    assert "half_done" not in marts  # rolled back with its step
    out = root / "out" / "reports" / "summary.txt"
    assert out.read_text() == "2 incidents\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o700
    audit = _rows(con, "select action, edition, target, os_user from meta.audit where action = 'report'")
    import getpass

    assert audit == [("report", "analyst", str(out.resolve()), getpass.getuser())]
    log_rows = dict(_rows(con, "select step, status from meta.run_log where run_id = ?", [summary.run_id]))
    assert log_rows["counts"] == "ok" and log_rows["broken"] == "failed" and log_rows["needs broken"] == "skipped"
    assert _rows(con, "select rows_loaded, detail from meta.run_log where step = 'counts'") == [(1, "2 incidents")]
    con.close()


def _overlap_steps(plan: StepList, seen: dict) -> None:
    """A concurrent step that waits (briefly) for the step after it to start, and a step that needs it."""
    import threading

    started = threading.Event()

    def graph(ctx):
        seen["overlapped"] = started.wait(timeout=2.0)
        write_mart(ctx.con, "beside", pd.DataFrame({"n": [1, 2]}))
        return StepOutput(rows=2, detail="ran beside")

    def maps(ctx):
        started.set()
        write_mart(ctx.con, "after", pd.DataFrame({"n": [3]}))
        return 1

    plan.register("graph", graph, concurrent=True)
    plan.register("maps", maps)
    plan.register(
        "needs graph",
        lambda ctx: ctx.con.execute("select count(*) from marts.beside").fetchone()[0],
        requires=["graph"],
    )


def test_a_concurrent_step_runs_beside_the_next_and_its_dependants_wait(site, plan) -> None:
    root, settings = site
    _drop(root, "incidents", "a.csv", INCIDENTS_A)
    seen: dict = {}
    _overlap_steps(plan, seen)
    summary = run_job(settings, steps=plan.steps)
    assert seen["overlapped"] is True
    assert [(s.name, s.status, s.rows_loaded) for s in summary.steps[2:]] == [
        ("graph", "ok", 2),
        ("maps", "ok", 1),
        ("needs graph", "ok", 2),
    ]  # plan order, whatever finished first
    assert summary.status == "ok"
    con = connect(settings=settings)
    assert _rows(
        con,
        "select step, status, rows_loaded from meta.run_log where run_id = ? and step in "
        "('graph', 'maps') order by step",
        [summary.run_id],
    ) == [("graph", "ok", 2), ("maps", "ok", 1)]
    assert _rows(con, "select count(*) from marts.beside") == [(2,)]
    assert _rows(con, "select count(*) from marts.after") == [(1,)]
    con.close()


def test_concurrent_steps_can_be_turned_off(site, plan) -> None:
    root, _ = site
    config = root / "ctxrisk.toml"
    config.write_text(config.read_text() + "\n[run]\nconcurrent_steps = false\n")
    seen: dict = {}
    _overlap_steps(plan, seen)
    summary = run_job(load_settings(config), steps=plan.steps)
    assert seen["overlapped"] is False  # one after another: the next step had not started
    assert [s.status for s in summary.steps[2:]] == ["ok", "ok", "ok"]


def test_auto_runs_concurrent_steps_one_at_a_time_above_the_event_limit(site, caplog, plan) -> None:
    root, _ = site
    _drop(root, "incidents", "a.csv", INCIDENTS_A)
    config = root / "ctxrisk.toml"
    config.write_text(config.read_text() + '\n[run]\nconcurrent_steps = "auto"\nconcurrent_max_events = 1\n')
    seen: dict = {}
    _overlap_steps(plan, seen)
    with caplog.at_level("INFO", logger="ctxrisk.jobs.run"):
        summary = run_job(load_settings(config), steps=plan.steps)
    assert seen["overlapped"] is False  # 2 incidents > 1: one at a time
    assert "2 events in the warehouse: concurrent steps run one at a time (limit 1)" in caplog.text
    assert [s.status for s in summary.steps[2:]] == ["ok", "ok", "ok"]


def test_concurrent_steps_setting_is_checked(tmp_path: Path) -> None:
    config = tmp_path / "ctxrisk.toml"
    config.write_text('[run]\nconcurrent_steps = "sometimes"\n')
    with pytest.raises(ValidationError, match=r"concurrent_steps must be true, false or \"auto\""):
        load_settings(config)
    config.write_text("[run]\nconcurrent_max_events = -1\n")
    with pytest.raises(ValidationError, match="concurrent_max_events must be a whole number"):
        load_settings(config)


def test_a_failing_concurrent_step_fails_alone(site, plan) -> None:
    root, settings = site

    def broken(ctx):
        write_mart(ctx.con, "half_done", pd.DataFrame({"a": [1]}))
        msg = "the model did not converge"
        raise ValidationError(msg)

    plan.register("graph", broken, concurrent=True)
    plan.register("maps", lambda ctx: 1)
    plan.register("needs graph", lambda ctx: 1, requires=["graph"])
    summary = run_job(settings, steps=plan.steps)
    assert [(s.name, s.status) for s in summary.steps[2:]] == [
        ("graph", "failed"),
        ("maps", "ok"),
        ("needs graph", "skipped"),
    ]
    assert summary.steps[2].error == "the model did not converge"
    con = connect(settings=settings)
    marts = {r[0] for r in _rows(con, "select table_name from information_schema.tables where table_schema='marts'")}
    assert "half_done" not in marts
    con.close()


def test_outputs_cannot_leave_the_output_folder(site, plan) -> None:
    _root, settings = site
    plan.register("escape", lambda ctx: ctx.write_output("../escaped.txt", "x"))
    summary = run_job(settings, steps=plan.steps)
    assert summary.steps[-1].error.startswith("output ../escaped.txt is outside the output folder")
    assert not (_root / "escaped.txt").exists()


def test_a_step_must_return_rows_or_output(site, plan) -> None:
    _root, settings = site
    plan.register("odd", lambda ctx: "done")
    assert (
        run_job(settings, steps=plan.steps).steps[-1].error == "a step must return StepOutput, an int or None, not str"
    )


def test_interrupted_rows_are_marked_by_the_next_run(site, plan) -> None:
    _root, settings = site
    con = connect(settings=settings)
    con.execute(
        "insert into meta.run_log (run_id, step, started_at, status) values ('old', 'hotspots', now(), 'running')"
    )
    con.close()
    summary = run_job(settings, steps=plan.steps)
    assert summary.interrupted_steps == 1
    con = connect(settings=settings)
    status, error = _rows(con, "select status, error from meta.run_log where run_id = 'old'")[0]
    con.close()
    assert status == "interrupted"
    assert "rolled back" in error


# ---------------------------------------------------------------------------------------------------- CLI


@pytest.fixture()
def cli(monkeypatch):
    """Invoke the ctxrisk CLI in this process with the two test steps registered; logging is restored after."""
    import logging

    from typer.testing import CliRunner

    from ctxrisk.cli.main import app

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    jobs_level = logging.getLogger("ctxrisk.jobs.run").level
    monkeypatch.delenv("CTXRISK_WAREHOUSE", raising=False)
    monkeypatch.delenv("CTXRISK_CONFIG", raising=False)
    monkeypatch.setattr(jobs, "run_job", functools.partial(jobs.run_job, steps=count_and_report_steps()))

    def invoke(*args: str):
        return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})

    yield invoke
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("ctxrisk.jobs.run").setLevel(jobs_level)


def test_cli_exit_codes_and_json_logs(tmp_path: Path, cli) -> None:
    config = _config(tmp_path)
    _drop(tmp_path, "incidents", "a.csv", INCIDENTS_A)
    first = cli("--log-format", "json", "run", "--config", str(config), "--format", "json")
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["status"] == "ok"
    assert [s["name"] for s in summary["steps"]] == ["ingest incidents", "ingest persons", "count", "report"]
    log_lines = [json.loads(line) for line in first.stderr.splitlines()]
    assert any(r["message"].startswith("step ingest incidents ok") for r in log_lines)
    _drop(tmp_path, "persons", "pii.csv", PERSONS_PII)
    second = cli("run", "--config", str(config))
    assert second.exit_code == 5
    assert "quarantined" in second.stdout and "1 quarantined" in second.stdout
    assert " WARNING ctxrisk.jobs.run: ingest persons: pii.csv quarantined" in second.stderr  # plain lines under cron
    with RunLock(lock_path_for(tmp_path / "wh" / "ctxrisk.duckdb")):
        locked = cli("run", "--config", str(config))
    assert locked.exit_code == 4
    assert "locked by ctxrisk run, pid" in locked.stderr
    (tmp_path / "bad.toml").write_text('[paths]\ndrop_dirs = { crimes = "x" }\n')
    bad = cli("run", "--config", str(tmp_path / "bad.toml"))
    assert bad.exit_code == 1
    assert "unknown kind(s) ['crimes']" in bad.stderr
    usage = cli("run", "--config", str(config), "--progress", "fancy")
    assert usage.exit_code == 2


# ---------------------------------------------------------------------------------------------------- SIGKILL

# The CLI with two real steps (a mart of the incident count, a report file made from it) and a pause hook.
ENTRY = Path(support.__file__).with_name("run_entry.py")


def _entry(point: str, signal_file: Path, config: Path) -> list[str]:
    return [sys.executable, str(ENTRY), point, str(signal_file), "run", "--config", str(config)]


def _kill_at(root: Path, config: Path, point: str) -> None:
    """Start a run that pauses at ``point``, wait until it is there, SIGKILL it."""
    signal_file = root / "paused"
    signal_file.unlink(missing_ok=True)
    proc = subprocess.Popen(
        _entry(point, signal_file, config),
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not signal_file.exists():
            assert proc.poll() is None, f"the run ended before reaching {point}: {proc.stderr.read()}"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=20) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def _finish(config: Path) -> jobs.RunSummary:
    """Run to completion in this process, with the same steps."""
    summary = run_job(load_settings(config), steps=count_and_report_steps())
    assert summary.status == "ok", summary.as_dict()
    return summary


@pytest.fixture()
def killable(tmp_path: Path):
    config = _config(tmp_path)
    _drop(tmp_path, "incidents", "a.csv", INCIDENTS_A)
    time.sleep(0.01)
    _drop(tmp_path, "incidents", "b.csv", INCIDENTS_B)
    return tmp_path, config


def test_sigkill_after_a_file_commit_before_it_moves(killable) -> None:
    root, config = killable
    _kill_at(root, config, "ingest:incidents:committed")
    wh = root / "wh" / "ctxrisk.duckdb"
    assert assert_consistent(wh)["incidents"] == 2  # a.csv committed, b.csv not started
    assert (root / "drop" / "incidents" / "a.csv").exists()  # not yet moved
    assert (root / "wh" / "ctxrisk.duckdb.lock").exists()
    done = _finish(config)
    assert done.recovered_lock.pid is not None
    assert done.interrupted_steps == 2  # the run and its ingest step; a.csv's row was committed with its rows
    statuses = {Path(f.path).name: f.status for f in done.files}
    assert statuses == {"a.csv": "skipped", "b.csv": "ok"}
    assert assert_consistent(wh)["incidents"] == 4
    assert (root / "out" / "report.txt").read_text() == "incidents 4\n"


def test_sigkill_inside_a_file_transaction_loads_nothing_of_it(killable) -> None:
    root, config = killable
    _kill_at(root, config, "ingest:incidents:in-transaction")
    wh = root / "wh" / "ctxrisk.duckdb"
    assert assert_consistent(wh)["incidents"] == 0  # a.csv's rows were stored but never committed
    con = connect(wh)
    assert _rows(con, "select count(*) from raw.ingest_files")[0][0] == 0
    assert _rows(con, "select count(*) from raw.rejected_rows")[0][0] == 0
    con.close()
    done = _finish(config)
    assert [(Path(f.path).name, f.status) for f in done.files] == [("a.csv", "ok"), ("b.csv", "ok")]
    assert assert_consistent(wh)["incidents"] == 4


def test_sigkill_inside_a_step_transaction_rolls_it_back(killable) -> None:
    root, config = killable
    _kill_at(root, config, "step:count:in-transaction")
    wh = root / "wh" / "ctxrisk.duckdb"
    assert assert_consistent(wh)["incidents"] == 4
    con = connect(wh)
    assert _rows(con, "select count(*) from information_schema.tables where table_name = 'kill_test'")[0][0] == 0
    assert _rows(con, "select status from meta.run_log where step = 'count'") == [("running",)]
    con.close()
    assert not (root / "out" / "report.txt").exists()
    _finish(config)
    con = connect(wh)
    assert _rows(con, "select incidents from marts.kill_test") == [(4,)]
    assert _rows(con, "select status from meta.run_log where step = 'count' order by started_at") == [
        ("interrupted",),
        ("ok",),
    ]
    con.close()
    assert (root / "out" / "report.txt").read_text() == "incidents 4\n"


def test_sigkill_while_an_output_is_half_written(killable) -> None:
    root, config = killable
    _finish(config)
    _drop(root, "incidents", "c.csv", INCIDENTS_A.replace("A", "C"))
    _kill_at(root, config, "output:report.txt:written")
    out = root / "out"
    assert (out / "report.txt").read_text() == "incidents 4\n"  # the old output is intact
    temps = [p.name for p in out.iterdir() if p.name.startswith(".report.txt.")]
    assert len(temps) == 1 and (out / temps[0]).read_text() == "incidents 6\n"
    _finish(config)
    assert (out / "report.txt").read_text() == "incidents 6\n"
    assert sorted(p.name for p in out.iterdir()) == ["report.txt"]  # the temporary file was cleared away


def test_sigterm_rolls_back_the_open_step_and_releases_the_lock(killable) -> None:
    root, config = killable
    signal_file = root / "paused"
    proc = subprocess.Popen(
        _entry("step:count:in-transaction", signal_file, config),
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not signal_file.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert "stopped: stopped by signal 15; the open step was rolled back" in err
    assert not (root / "wh" / "ctxrisk.duckdb.lock").exists()
    con = connect(root / "wh" / "ctxrisk.duckdb")
    rows = dict(_rows(con, "select step, status from meta.run_log"))
    tables = _rows(con, "select count(*) from information_schema.tables where table_name = 'kill_test'")[0][0]
    con.close()
    assert rows["run"] == "failed" and rows["count"] == "interrupted" and rows["ingest incidents"] == "ok"
    assert tables == 0
    assert _finish(config).interrupted_steps == 0


@pytest.mark.parametrize("delay", [0.9])
def test_sigkill_at_an_arbitrary_moment_of_a_large_ingest(tmp_path: Path, delay: float) -> None:
    config = _config(tmp_path)
    rows = "".join(f"L{i},2024-03-01T10:00,53.1,-2.4,cse\n" for i in range(60_000))
    _drop(tmp_path, "incidents", "large.csv", "incident_id,occurred_at,latitude,longitude,category\n" + rows)
    proc = subprocess.Popen(
        _entry("-", tmp_path / "unused", config),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    proc.kill()
    proc.wait()
    assert assert_consistent(tmp_path / "wh" / "ctxrisk.duckdb")["incidents"] in (0, 60_000)
    _finish(config)
    assert assert_consistent(tmp_path / "wh" / "ctxrisk.duckdb")["incidents"] == 60_000
    assert (tmp_path / "out" / "report.txt").read_text() == "incidents 60000\n"


# ---------------------------------------------------------------------------------------------------- deploy


def test_systemd_units_verify(tmp_path: Path) -> None:
    import shutil

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    ctxrisk = Path(sys.executable).with_name("ctxrisk")
    assert ctxrisk.exists()
    service = (REPO / "deploy" / "ctxrisk.service").read_text()
    assert "ExecStart=/opt/ctxrisk/.venv/bin/ctxrisk --log-format json run --config" in service
    # verify checks that ExecStart's program exists: point it at this checkout's ctxrisk.
    (tmp_path / "ctxrisk.service").write_text(service.replace("/opt/ctxrisk/.venv/bin/ctxrisk", str(ctxrisk)))
    shutil.copy(REPO / "deploy" / "ctxrisk.timer", tmp_path / "ctxrisk.timer")
    done = subprocess.run(
        [analyze, "verify", str(tmp_path / "ctxrisk.service"), str(tmp_path / "ctxrisk.timer")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr  # no ignored or unknown settings
    calendar = subprocess.run([analyze, "calendar", "*-*-* 02:30:00"], capture_output=True, text=True, timeout=30)
    assert calendar.returncode == 0 and "Normalized form: *-*-* 02:30:00" in calendar.stdout


def _cron_field_ok(field: str, low: int, high: int) -> bool:
    for part in field.split(","):
        base, _, step = part.partition("/")
        if step and not (step.isdigit() and int(step) > 0):
            return False
        if base == "*":
            continue
        lo, _, hi = base.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            return False
        if not (low <= int(lo) <= high and (not hi or int(lo) <= int(hi) <= high)):
            return False
    return True


def test_cron_example_lines_are_well_formed() -> None:
    lines = [
        line
        for line in (REPO / "deploy" / "crontab.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    jobs_lines = [line for line in lines if "=" not in line.split()[0]]
    assert len(jobs_lines) == 1
    fields = jobs_lines[0].split(None, 5)
    ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
    assert all(_cron_field_ok(f, lo, hi) for f, (lo, hi) in zip(fields[:5], ranges, strict=True)), fields[:5]
    command = fields[5]
    assert "ctxrisk run --config ctxrisk.toml" in command and "%" not in command  # % is special in crontab
    assert not _cron_field_ok("61", 0, 59) and not _cron_field_ok("*/0", 0, 59)
    docs = (REPO / "docs" / "operations.md").read_text()
    assert jobs_lines[0] in docs  # the documented line is the tested one
    check = subprocess.run(["sh", "-n", "-c", command], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr


def test_a_query_interrupted_by_a_stop_request_ends_the_run(tmp_path: Path) -> None:
    # DuckDB turns a SIGTERM that arrives mid-query into its own error; the run must still stop
    # (not record a failed step and go on).
    config = _config(tmp_path, ("incidents",))
    settings = load_settings(config)

    def interrupted(ctx):
        signals.STOP_REQUESTED.append("stopped by signal 15")
        raise RuntimeError("Query interrupted")

    def never(ctx):
        raise AssertionError("the run went on after the stop")

    with pytest.raises(jobs.Terminated, match="stopped by signal 15"):
        with signals.sigterm_rolls_back():
            signals.STOP_REQUESTED.clear()
            run_job(settings, steps=[Step("interrupted", interrupted), Step("after", never)])
    con = connect(settings=settings)
    statuses = dict(con.execute("select step, status from meta.run_log").fetchall())
    assert statuses["interrupted"] == "interrupted" and "after" not in statuses
