"""Tests for retention purges: durations, cut-offs, what is removed with its links, atomicity, audit, CLI."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ctxrisk.pipelines import purge as purge_module
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.ingest import ingest_file
from ctxrisk.pipelines.lock import RunLock, lock_path_for
from ctxrisk.pipelines.purge import Duration, parse_duration, purge, purge_older_than
from ctxrisk.pipelines.warehouse import connect

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
CUTOFF_7Y = datetime(2018, 6, 15, 12, 0, tzinfo=UTC)

FILES = {
    "incidents": "incident_id,occurred_at,latitude,longitude,category\n"
    "I-OLD,2017-01-10T10:00,53.1,-2.4,cse\n"
    "I-NEW,2024-05-01T10:00,53.1,-2.4,cse\n"
    "I-EDGE,2018-06-15T13:00,53.1,-2.4,cse\n"  # 12:00 UTC (BST): exactly the cut-off, kept
    "I-BAD,not a time,53.1,-2.4,cse\n",
    "persons": "person_id,sex\nP1,F\nP2,M\nP3,F\nbad id!,F\n",
    "involvements": "person_id,event_id,event_type,role\n"
    "P1,I-OLD,incident,victim\nP1,I-NEW,incident,victim\n"
    "P2,M-OLD,missing,found_with\nP2,INT-OLD,intelligence,subject\n",
    "missing": "episode_id,person_id,started_at,ended_at\n"
    "M-OLD,P2,2016-01-01,2016-01-02\nM-NEW,P2,2023-01-01,\nM-SPAN,P1,2018-06-01,2018-07-01\n",
    "intelligence": "intel_id,reported_at,category\nINT-OLD,2015-03-03,cce\nINT-NEW,2025-01-01,cce\n",
    "associations": "person_a,person_b,relation,observed_at\n"
    "P1,P2,knows,2010-01-01\nP1,P3,knows,\nP2,P3,family,2024-01-01\n",
    "screenings": "person_id,screened_at,tool,risk_level\nP1,2012-01-01,full,high\nP1,2024-01-01,full,low\n",
    "referrals": "person_id,referred_at,type\nP1,2011-01-01,nrm\nP1,2024-01-01,mace\n",
}

EXPECTED = {
    "raw.involvements": 3,
    "raw.event_areas": 3,
    "raw.incidents": 1,
    "raw.missing_episodes": 1,
    "raw.intelligence": 1,
    "raw.stop_searches": 0,
    "raw.associations": 1,
    "raw.screenings": 1,
    "raw.referrals": 1,
    "raw.rejected_rows": 1,
}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A warehouse holding FILES, built once and copied for each test."""
    from ctxrisk.pipelines.settings import load_settings

    folder = tmp_path_factory.mktemp("purge")
    settings = load_settings(None, warehouse=folder / "template.duckdb")
    con = connect(settings=settings)
    for kind, text in FILES.items():
        path = folder / f"{kind}.csv"
        path.write_text(text)
        ingest_file(con, kind, path, settings=settings)
    # The incidents file (with its rejected row) was received long ago.
    con.execute("update raw.ingest_files set ingested_at = '2010-01-01 00:00:00+00' where kind = 'incidents'")
    con.executemany(
        "insert into raw.event_areas values (?, ?, 'lsoa21', 'E01000001')",
        [["incident", "I-OLD"], ["incident", "I-NEW"], ["missing", "M-OLD"], ["intelligence", "INT-OLD"]],
    )
    con.close()
    return folder / "template.duckdb"


@pytest.fixture()
def filled(settings, template: Path):
    Path(settings.paths.warehouse).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, settings.paths.warehouse)
    con = connect(settings=settings)
    yield con
    con.close()


def _counts(con) -> dict[str, int]:
    return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in EXPECTED}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7y", Duration(years=7, text="7y")),
        ("18m", Duration(months=18, text="18m")),
        ("6w", Duration(weeks=6, text="6w")),
        ("30d", Duration(days=30, text="30d")),
        ("1y6m", Duration(years=1, months=6, text="1y6m")),
        (" 2Y ", Duration(years=2, text="2Y")),
    ],
)
def test_parse_duration(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("7", "not understood"),
        ("7x", "not understood"),
        ("-1d", "not understood"),
        ("", "not understood"),
        ("1.5y", "not understood"),
        ("y", "not understood"),
        ("0d", "is zero"),
        ("0y0m", "is zero"),
    ],
)
def test_parse_duration_refuses(text: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        parse_duration(text)


def test_cutoffs_count_calendar_months_and_clamp_the_day() -> None:
    assert parse_duration("7y").cutoff(NOW) == CUTOFF_7Y
    assert parse_duration("1m").cutoff(datetime(2025, 3, 31, tzinfo=UTC)) == datetime(2025, 2, 28, tzinfo=UTC)
    assert parse_duration("1y").cutoff(datetime(2024, 2, 29, tzinfo=UTC)) == datetime(2023, 2, 28, tzinfo=UTC)
    assert parse_duration("13m").cutoff(datetime(2025, 1, 15, tzinfo=UTC)) == datetime(2023, 12, 15, tzinfo=UTC)
    assert parse_duration("1y6m2w3d").cutoff(datetime(2025, 1, 15, tzinfo=UTC)) == datetime(2023, 6, 28, tzinfo=UTC)
    with pytest.raises(ValidationError, match="before year 1"):
        parse_duration("3000y").cutoff(NOW)


def test_purge_removes_old_records_with_their_links(filled) -> None:
    before = _counts(filled)
    result = purge_older_than(filled, CUTOFF_7Y, reason="retention 7y")
    assert result.deleted == EXPECTED
    assert result.total == 13
    after = _counts(filled)
    assert {t: before[t] - after[t] for t in EXPECTED} == EXPECTED
    kept = {r[0] for r in filled.execute("select incident_id from raw.incidents").fetchall()}
    assert kept == {"I-NEW", "I-EDGE"}
    assert {r[0] for r in filled.execute("select episode_id from raw.missing_episodes").fetchall()} == {
        "M-NEW",
        "M-SPAN",
    }
    assert filled.execute("select event_id from raw.involvements").fetchall() == [("I-NEW",)]
    assert filled.execute("select event_id from raw.event_areas").fetchall() == [("I-NEW",)]
    # Undated links and persons stay; the persons file's recent rejected row stays.
    assert filled.execute("select count(*) from raw.associations where observed_at is null").fetchone()[0] == 1
    assert filled.execute("select count(*) from raw.persons").fetchone()[0] == 3
    assert filled.execute("select kind from raw.rejected_rows").fetchall() == [("persons",)]
    action, target, detail = filled.execute("select action, target, detail from meta.audit").fetchone()
    assert action == "purge"
    assert target == "records before 2018-06-15T12:00:00+00:00"
    assert detail.startswith("retention 7y: raw.involvements 3, raw.event_areas 3, raw.incidents 1")


def test_dry_run_counts_and_changes_nothing(filled) -> None:
    before = _counts(filled)
    result = purge_older_than(filled, CUTOFF_7Y, dry_run=True)
    assert result.deleted == EXPECTED and result.dry_run
    assert _counts(filled) == before
    assert filled.execute("select count(*) from meta.audit").fetchone()[0] == 0


def test_a_failing_purge_rolls_back_everything(filled, monkeypatch) -> None:
    before = _counts(filled)
    monkeypatch.setattr(purge_module, "DATED_RECORDS", (*purge_module.DATED_RECORDS, ("raw.persons", "no_such")))
    with pytest.raises(Exception, match="no_such"):
        purge_older_than(filled, CUTOFF_7Y)
    assert _counts(filled) == before
    assert filled.execute("select count(*) from meta.audit").fetchone()[0] == 0


def test_naive_cutoff_is_refused(filled) -> None:
    with pytest.raises(ValidationError, match="time zone"):
        purge_older_than(filled, datetime(2018, 1, 1))


def test_purge_takes_the_lock(filled, settings) -> None:
    filled.close()
    with RunLock(lock_path_for(settings.paths.warehouse)), pytest.raises(Exception, match="locked by"):
        purge(settings, "7y", now=NOW)
    result = purge(settings, "7y", now=NOW)
    assert result.deleted == EXPECTED


def _cli(*args: str, cwd: Path):
    from typer.testing import CliRunner

    from ctxrisk.cli.main import app

    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_cli_purge_json_and_exit_codes(filled, settings, tmp_path: Path) -> None:
    filled.close()
    wh = str(settings.paths.warehouse)
    bad = _cli("purge", "--older-than", "seven years", "--warehouse", wh, cwd=tmp_path)
    assert bad.exit_code == 1
    assert "retention period 'seven years' is not understood" in bad.stderr
    dry = _cli("purge", "--older-than", "1y", "--dry-run", "--format", "json", "--warehouse", wh, cwd=tmp_path)
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["dry_run"] is True
    with RunLock(lock_path_for(wh)):
        locked = _cli("purge", "--older-than", "1y", "--warehouse", wh, cwd=tmp_path)
    assert locked.exit_code == 4
    assert "locked by ctxrisk run" in locked.stderr
    done = _cli("purge", "--older-than", "500y", "--warehouse", wh, cwd=tmp_path)
    assert done.exit_code == 0, done.output
    assert "removed 0 row(s)" in done.stdout
