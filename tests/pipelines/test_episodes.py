"""Tests for ctxrisk.pipelines.episodes: overlapping missing episodes of one child are refused, with reasons."""

from __future__ import annotations

import textwrap

import pandas as pd

from ctxrisk.pipelines.episodes import overlapping_episodes
from ctxrisk.pipelines.ingest import ingest_file

HEADER = "episode_id,person_id,started_at,ended_at\n"


def missing_file(tmp_path, name: str, rows: str):
    path = tmp_path / name
    path.write_text(HEADER + textwrap.dedent(rows).lstrip(), encoding="utf-8")
    return path


def stored(con) -> list[tuple]:
    return con.execute("select episode_id, strftime(ended_at, '%H:%M') from raw.missing_episodes order by 1").fetchall()


def refused(con) -> list[tuple]:
    return con.execute(
        "select line, column_name, value, reason, rule from raw.rejected_rows order by file_id, line"
    ).fetchall()


def reconcile(result) -> None:
    assert result.rows_read == result.rows_loaded + result.rows_rejected


def test_overlap_in_one_file_refuses_the_later_start(tmp_path, con, settings):
    path = missing_file(
        tmp_path,
        "m.csv",
        """
        M2,P1,2026-03-02T08:00,2026-03-02T20:00
        M1,P1,2026-03-01T18:00,2026-03-02T09:00
        M3,P2,2026-03-01T19:00,2026-03-02T10:00
        """,
    )
    result = ingest_file(con, "missing", path, settings=settings)
    reconcile(result)
    assert (result.rows_loaded, result.rows_rejected) == (2, 1)
    assert [r[0] for r in stored(con)] == ["M1", "M3"]  # another child's episode at the same time is kept
    (row,) = refused(con)
    assert row[:3] == (2, "started_at", "2026-03-02 08:00")
    assert row[4] == "overlap"
    assert row[3] == "overlaps episode M1 of the same child (2026-03-01 18:00 to 2026-03-02 09:00), on line 3"


def test_touching_episodes_do_not_overlap(tmp_path, con, settings):
    path = missing_file(
        tmp_path,
        "m.csv",
        """
        M1,P1,2026-03-01T18:00,2026-03-02T09:00
        M2,P1,2026-03-02T09:00,2026-03-02T20:00
        """,
    )
    result = ingest_file(con, "missing", path, settings=settings)
    assert (result.rows_loaded, result.rows_rejected) == (2, 0)


def test_an_open_episode_overlaps_every_later_one(tmp_path, con, settings):
    path = missing_file(
        tmp_path,
        "m.csv",
        """
        M1,P1,2026-03-05T18:00,
        M0,P1,2026-03-01T18:00,2026-03-02T09:00
        M2,P1,2026-06-01T10:00,2026-06-01T12:00
        """,
    )
    result = ingest_file(con, "missing", path, settings=settings)
    reconcile(result)
    assert [r[0] for r in stored(con)] == ["M0", "M1"]
    (row,) = refused(con)
    assert row[0] == 4
    assert row[3] == "overlaps episode M1 of the same child (2026-03-05 18:00, not ended), on line 2"


def test_same_start_is_an_overlap_and_the_later_line_is_refused(tmp_path, con, settings):
    path = missing_file(
        tmp_path,
        "m.csv",
        """
        M1,P1,2026-03-01T18:00,2026-03-01T18:00
        M2,P1,2026-03-01T18:00,2026-03-01T18:00
        """,
    )
    reconcile(ingest_file(con, "missing", path, settings=settings))
    assert [r[0] for r in stored(con)] == ["M1"]
    assert [r[0] for r in refused(con)] == [3]


def test_a_refused_episode_does_not_refuse_others(tmp_path, con, settings):
    # M2 overlaps M1 and is refused; M3 overlaps only M2, which is not kept, so M3 is kept.
    path = missing_file(
        tmp_path,
        "m.csv",
        """
        M1,P1,2026-03-01T10:00,2026-03-01T20:00
        M2,P1,2026-03-01T15:00,2026-03-02T06:00
        M3,P1,2026-03-02T00:00,2026-03-02T08:00
        """,
    )
    ingest_file(con, "missing", path, settings=settings)
    assert [r[0] for r in stored(con)] == ["M1", "M3"]


def test_overlap_with_a_stored_episode_refuses_the_new_one(tmp_path, con, settings):
    first = missing_file(tmp_path, "march.csv", "M1,P1,2026-03-01T18:00,2026-03-02T09:00\n")
    ingest_file(con, "missing", first, settings=settings)
    # M0 starts earlier than the stored M1 but runs into it: the stored episode stays, the new one is refused.
    later = missing_file(
        tmp_path,
        "april.csv",
        """
        M0,P1,2026-03-01T12:00,2026-03-01T19:00
        M9,P1,2026-04-01T12:00,2026-04-01T19:00
        """,
    )
    result = ingest_file(con, "missing", later, settings=settings)
    reconcile(result)
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert [r[0] for r in stored(con)] == ["M1", "M9"]
    (row,) = refused(con)
    assert row[0] == 2
    assert row[3] == (
        "overlaps episode M1 of the same child (2026-03-01 18:00 to 2026-03-02 09:00), stored from an earlier file"
    )


def test_reingesting_the_same_bytes_adds_nothing(tmp_path, con, settings):
    path = missing_file(tmp_path, "m.csv", "M1,P1,2026-03-01T18:00,2026-03-02T09:00\n")
    ingest_file(con, "missing", path, settings=settings)
    again = ingest_file(con, "missing", path, settings=settings)
    assert again.skipped_same_file and again.rows_rejected == 0
    assert stored(con) == [("M1", "09:00")] and refused(con) == []


def test_a_corrected_reexport_replaces_its_episodes(tmp_path, con, settings):
    first = missing_file(
        tmp_path,
        "v1.csv",
        """
        M1,P1,2026-03-01T18:00,
        M2,P1,2026-03-04T10:00,2026-03-04T12:00
        """,
    )
    ingest_file(con, "missing", first, settings=settings)
    assert [r[0] for r in stored(con)] == ["M1"]  # M2 starts while M1 is open
    # The corrected export closes M1 (same key): it replaces the stored M1 rather than overlapping it.
    fixed = missing_file(
        tmp_path,
        "v2.csv",
        """
        M1,P1,2026-03-01T18:00,2026-03-02T09:00
        M2,P1,2026-03-04T10:00,2026-03-04T12:00
        """,
    )
    result = ingest_file(con, "missing", fixed, settings=settings)
    assert (result.rows_loaded, result.rows_rejected, result.replaced) == (2, 0, 1)
    assert stored(con) == [("M1", "09:00"), ("M2", "12:00")]


def test_ssda903_episodes_are_another_source(tmp_path, con, settings):
    con.execute(
        "insert into raw.missing_episodes (episode_id, person_id, started_at, started_precision, missing_type, "
        "source, file_id) values ('903:P1:2026-03-01', 'P1', '2026-03-01 00:00:00+00', 'day', 'missing', "
        "'ssda903', 'f')"
    )
    path = missing_file(tmp_path, "m.csv", "M1,P1,2026-03-01T18:00,2026-03-02T09:00\n")
    result = ingest_file(con, "missing", path, settings=settings)
    assert (result.rows_loaded, result.rows_rejected) == (1, 0)


def test_reasons_name_the_kept_episode_in_the_local_zone():
    rows = pd.DataFrame(
        {
            "episode_id": ["A", "B"],
            "person_id": ["P1", "P1"],
            "started_at": pd.to_datetime(["2026-07-01 17:00", "2026-07-01 18:00"], utc=True),
            "ended_at": pd.to_datetime(["2026-07-02 08:00", None], utc=True),
            "line": [2, 3],
        }
    )
    empty = rows.iloc[:0].drop(columns="line")
    mask, reasons = overlapping_episodes(rows, empty, timezone="Europe/London")
    assert mask.tolist() == [False, True]
    assert reasons == ["overlaps episode A of the same child (2026-07-01 18:00 to 2026-07-02 09:00), on line 2"]


def test_pseudonymised_files_are_checked_on_their_pseudonyms(tmp_path, con, settings):
    key = b"a-test-key-of-enough-length"
    first = missing_file(tmp_path, "a.csv", "M1,P1,2026-03-01T18:00,2026-03-02T09:00\n")
    ingest_file(con, "missing", first, settings=settings, pseudonymise_key=key)
    later = missing_file(
        tmp_path,
        "b.csv",
        """
        M2,P1,2026-03-02T08:00,2026-03-02T10:00
        M3,P2,2026-03-02T08:00,2026-03-02T10:00
        """,
    )
    result = ingest_file(con, "missing", later, settings=settings, pseudonymise_key=key)
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    ((line, column, value, reason, rule),) = refused(con)
    assert (line, column, value, rule) == (2, "started_at", "2026-03-02 08:00", "overlap")
    assert reason.startswith("overlaps episode M1 of the same child") and "P1" not in reason


def test_an_episode_with_no_end_after_a_closed_one_is_kept(tmp_path, con, settings):
    path = missing_file(
        tmp_path,
        "m.csv",
        """
        M1,P1,2026-03-01T18:00,2026-03-02T09:00
        M2,P1,2026-03-02T09:00,
        """,
    )
    result = ingest_file(con, "missing", path, settings=settings)
    assert (result.rows_loaded, result.rows_rejected) == (2, 0)
    later = missing_file(tmp_path, "n.csv", "M3,P1,2026-02-20T10:00,2026-03-01T18:30\n")
    assert ingest_file(con, "missing", later, settings=settings).rows_rejected == 1
    (row,) = refused(con)
    assert row[3] == (
        "overlaps episode M1 of the same child (2026-03-01 18:00 to 2026-03-02 09:00), stored from an earlier file"
    )
