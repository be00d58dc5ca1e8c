"""Security and privacy: owner-only files, the key never written anywhere, audit trail, check-pii."""

from __future__ import annotations

import getpass
import json
import logging
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from ctxrisk.jobs import run as jobs
from ctxrisk.jobs.run import RedactingFilter, StepList, make_redactor
from ctxrisk.pipelines.fsutil import atomic_path, atomic_write_bytes, atomic_write_text, secure_mkdir
from ctxrisk.pipelines.warehouse import connect, write_mart

KEY = "ctxrisk-test-key-7f3a9c1e5b2d"


@pytest.fixture()
def loose_umask():
    """Start from the common 022 umask, as a cron job or a shell would."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture()
def plan() -> StepList:
    """The steps ``ctxrisk run`` runs after its ingest steps in these tests: none until a test adds some."""
    return StepList()


@pytest.fixture()
def cli(monkeypatch, plan):
    """Invoke the CLI in this process (the steps of ``plan`` only); logging is restored afterwards."""
    from typer.testing import CliRunner

    from ctxrisk.cli.main import app

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    jobs_level = logging.getLogger("ctxrisk.jobs.run").level
    real_run_job = jobs.run_job
    monkeypatch.setattr(jobs, "run_job", lambda settings, **kw: real_run_job(settings, **kw, steps=plan.steps))
    for name in ("CTXRISK_WAREHOUSE", "CTXRISK_CONFIG", "CTXRISK_PSEUDO_KEY", "CTXRISK_PSEUDO_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str, env: dict | None = None):
        return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})

    yield invoke
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("ctxrisk.jobs.run").setLevel(jobs_level)


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in sorted(root.rglob("*"))}


def test_warehouse_and_its_log_are_owner_only_even_under_umask_022(tmp_path: Path, loose_umask) -> None:
    con = connect(tmp_path / "a" / "b" / "ctxrisk.duckdb")
    con.execute("insert into meta.audit values (now(), 'test', null, null, null, null)")
    modes = _modes(tmp_path / "a")
    con.close()
    assert modes["b"] == 0o700
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert modes["b/ctxrisk.duckdb"] == 0o600
    assert all(mode == (0o700 if (tmp_path / "a" / name).is_dir() else 0o600) for name, mode in modes.items()), modes


def test_atomic_writes_are_owner_only_and_all_or_nothing(tmp_path: Path, loose_umask) -> None:
    target = tmp_path / "new" / "report.html"
    atomic_write_text(target, "first")
    assert target.read_text() == "first"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    with pytest.raises(RuntimeError, match="writer failed"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer failed")
    assert target.read_text() == "first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]


def test_secure_mkdir_keeps_existing_folders(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    secure_mkdir(shared / "x" / "y")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert stat.S_IMODE((shared / "x").stat().st_mode) == 0o700
    assert stat.S_IMODE((shared / "x" / "y").stat().st_mode) == 0o700


def test_redactor_and_log_filter() -> None:
    redact = make_redactor([KEY.encode(), None, b""])
    assert redact(f"bad key {KEY}!") == "bad key [redacted]!"
    assert redact("nothing secret") == "nothing secret"
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "key %s here", (KEY,), None)
    assert RedactingFilter(redact).filter(record)
    assert record.getMessage() == "key [redacted] here"


def _site(root: Path) -> Path:
    for kind in ("incidents", "persons", "involvements"):
        (root / "drop" / kind).mkdir(parents=True)
    config = root / "ctxrisk.toml"
    config.write_text(
        '[paths]\nwarehouse = "wh/ctxrisk.duckdb"\noutput_dir = "out"\n'
        'drop_dirs = { incidents = "drop/incidents", persons = "drop/persons", '
        'involvements = "drop/involvements" }\n'
    )
    (root / "drop" / "incidents" / "i.csv").write_text(
        "incident_id,occurred_at,latitude,longitude,category\nI1,2024-03-01T10:00,53.1,-2.4,cse\n"
    )
    (root / "drop" / "persons" / "p.csv").write_text("person_id,sex\nP1,F\nP2,M\nbad id!,F\n")
    (root / "drop" / "involvements" / "v.csv").write_text("person_id,event_id,event_type,role\nP1,I1,incident,victim\n")
    (root / "drop" / "persons" / "names.csv").write_text("person_id,surname\nP3,Smith\n")
    return config


def test_key_never_appears_in_logs_errors_warehouse_or_outputs(tmp_path: Path, cli, plan, loose_umask) -> None:
    config = _site(tmp_path)

    def leaky(ctx):
        # A library that echoes its configuration in an error: the run must scrub it.
        msg = f"could not connect with token {KEY}"
        raise RuntimeError(msg)

    def export(ctx):
        people = ctx.con.execute("select person_id from raw.persons order by 1").df()
        write_mart(ctx.con, "people_export", people)
        ctx.write_output("exports/people.csv", people.to_csv(index=False), action="export", edition="analyst")
        return len(people)

    plan.register("export", export)
    plan.register("leaky", leaky)
    env = {"CTXRISK_PSEUDO_KEY": KEY}
    result = cli(
        "--log-level",
        "DEBUG",
        "--log-format",
        "json",
        "run",
        "--config",
        str(config),
        "--pseudonymise",
        "--format",
        "json",
        env=env,
    )
    assert result.exit_code == 5, result.output
    summary = json.loads(result.stdout)
    assert {s["name"]: s["status"] for s in summary["steps"]}["leaky"] == "failed"
    assert "could not connect with token [redacted]" in result.stdout
    text = result.stdout + result.stderr
    assert "[redacted]" in result.stderr
    assert KEY not in text
    # Nothing on disk holds the key: warehouse (and any log), outputs, moved files, reason files, lock.
    con = connect(tmp_path / "wh" / "ctxrisk.duckdb")
    persons = [r[0] for r in con.execute("select person_id from raw.persons order by 1").fetchall()]
    errors = " ".join(r[0] or "" for r in con.execute("select error from meta.run_log").fetchall())
    refused = con.execute("select column_name, value from raw.rejected_rows where kind = 'persons'").fetchall()
    con.execute("checkpoint")
    con.close()
    # "bad id!" is refused before hashing (its pseudonym would look valid), and its value is not kept.
    assert len(persons) == 2 and all(p.startswith("p_") and len(p) == 18 for p in persons)
    assert refused == [("person_id", None)]
    assert "[redacted]" in errors
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".duckdb" for p in files) and any(p.name == "people.csv" for p in files)
    for path in files:
        data = path.read_bytes()
        assert KEY.encode() not in data, path
        assert KEY.encode("utf-16-le") not in data, path
    # Everything the run created is owner-only (the test made drop/<kind> and the input files itself).
    made_by_test = {"ctxrisk.toml", "drop", *(f"drop/{k}" for k in ("incidents", "persons", "involvements"))}
    for name, mode in _modes(tmp_path).items():
        if name in made_by_test:
            continue
        expected = 0o700 if (tmp_path / name).is_dir() else 0o600
        assert mode == expected, (name, oct(mode))
    assert (tmp_path / "drop" / "persons" / "quarantine" / "names.csv.reason.txt").exists()


def test_key_errors_do_not_show_the_key(tmp_path: Path, cli) -> None:
    config = _site(tmp_path)
    short = "short-k3y"
    result = cli("run", "--config", str(config), "--pseudonymise", env={"CTXRISK_PSEUDO_KEY": short})
    assert result.exit_code == 1
    assert "too short (9 bytes" in result.stderr
    assert short not in result.stdout + result.stderr
    key_file = tmp_path / "k.key"
    key_file.write_text("tiny\n")
    result = cli("run", "--config", str(config), "--pseudonymise", "--key-file", str(key_file))
    assert result.exit_code == 1 and "tiny" not in result.stdout + result.stderr
    assert not (tmp_path / "wh").exists()  # nothing was created before the key was accepted


def test_audit_records_runs_outputs_and_purges_with_the_os_user(tmp_path: Path, cli, plan) -> None:
    config = _site(tmp_path)
    plan.register(
        "steering map",
        lambda ctx: ctx.write_output("maps/steering.html", "<html></html>", action="map", edition="steering") and 1,
    )
    assert cli("run", "--config", str(config)).exit_code == 5  # names.csv is quarantined
    assert cli("purge", "--older-than", "1y", "--config", str(config)).exit_code == 0
    con = connect(tmp_path / "wh" / "ctxrisk.duckdb", read_only=True)
    rows = con.execute("select action, edition, target, os_user, detail from meta.audit order by recorded_at").df()
    con.close()
    assert list(rows.action) == ["run", "map", "run", "purge"]
    assert set(rows.os_user) == {getpass.getuser()}
    map_row = rows[rows.action == "map"].iloc[0]
    assert map_row.edition == "steering"
    assert map_row.target == str((tmp_path / "out" / "maps" / "steering.html").resolve())
    assert rows.detail.iloc[0].endswith("started") and " partial: " in rows.detail.iloc[2]
    assert rows.detail.iloc[3].startswith("retention 1y: ")


def test_check_pii_lists_identifying_columns(tmp_path: Path, cli) -> None:
    risky = tmp_path / "risky.csv"
    pd.DataFrame(
        {
            "person_id": ["P1", "P2"],
            "dob": ["2010-01-02", "2011-03-04"],
            "area": ["CW1 2AB", "SK10 1AA"],
            "notes": ["a", "b"],
        }
    ).to_csv(risky, index=False)
    found = cli("check-pii", str(risky), "--format", "json")
    assert found.exit_code == 1
    columns = {f["column"] for f in json.loads(found.stdout)}
    assert columns == {"dob", "area"}
    clean = tmp_path / "clean.csv"
    pd.DataFrame({"person_id": ["P1"], "sex": ["F"]}).to_csv(clean, index=False)
    ok = cli("check-pii", str(clean))
    assert ok.exit_code == 0
    assert "no identifying columns found" in ok.stdout
