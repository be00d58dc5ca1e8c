"""SSDA903 Missing reader: the fake DfE CSV and XML, the DfE rules, pseudonyms and the children's births."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from support import shared_data_path

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.ingest import Batch, ExtraRows, store_batch
from ctxrisk.pipelines.runner import ingest_one
from ctxrisk.pipelines.sources.ssda903 import read_missing

KEY = b"0123456789abcdef-test-key"
HEADER = "CHILD,DOB,MISSING,MIS_START,MIS_END"


def verified(name: str) -> Path:
    path = shared_data_path("ssda903", name)
    sums = dict(line.split()[::-1] for line in (path.parent / "SHA256SUMS").read_text().splitlines() if line.strip())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sums[name]
    return path


def count(con, sql: str) -> int:
    return con.execute(sql).fetchone()[0]


def write(tmp_path: Path, *rows: str, name: str = "missing.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_real_csv_reconciles_with_one_overlap_refused(con, settings):
    result = ingest_one(con, "ssda903-missing", verified("missing.csv"), settings=settings)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (43, 42, 1)
    reject = con.execute("select line, column_name, rule from raw.rejected_rows").fetchall()
    assert reject == [(36, "MIS_START", "574")]  # 366621: M from 20/11/2017 inside A 02/11-22/12/2017
    assert count(con, "select count(*) from raw.missing_episodes where missing_type = 'away'") == 24
    assert count(con, "select count(*) from raw.missing_episodes where started_precision <> 'day'") == 0
    assert count(con, "select count(*) from staging.persons where looked_after") == 39
    assert count(con, "select count(*) from raw.persons") == 0  # the partnership's own file only
    assert con.execute(
        "select distinct birth_year_month from raw.missing_episodes where person_id = '510000'"
    ).fetchall() == [("2002-03",)]
    assert con.execute(
        "select birth_year_month, looked_after from staging.persons where person_id = '510000'"
    ).fetchone() == ("2002-03", True)
    assert any("39 child(ren)'s year-month of birth kept with their episodes" in n for n in result.notes)
    again = ingest_one(con, "ssda903-missing", verified("missing.csv"), settings=settings)
    assert again.skipped_same_file
    assert count(con, "select count(*) from raw.missing_episodes") == 42


def test_real_xml_reconciles_and_records_every_child(con, settings):
    result = ingest_one(con, "ssda903-missing", verified("fake_903.xml"), settings=settings)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (6, 6, 0)
    episode = con.execute(
        "select person_id, missing_type, started_at, ended_at from raw.missing_episodes where person_id = '608176'"
    ).fetchone()
    assert episode[1] == "away"
    assert str(episode[2]) == "2017-07-28 23:00:00+00:00"  # 29/07/2017 00:00 BST
    assert str(episode[3]) == "2017-09-14 23:00:00+00:00"
    assert count(con, "select count(*) from raw.ssda903_children") == 253
    assert count(con, "select count(*) from staging.persons where sex in ('male', 'female') and looked_after") == 253
    assert count(con, "select count(*) from raw.missing_episodes where sex is null or birth_year_month is null") == 0


def test_no_full_date_of_birth_is_stored(con, settings):
    ingest_one(con, "ssda903-missing", verified("missing.csv"), settings=settings)
    assert count(con, "select count(*) from raw.missing_episodes where length(birth_year_month) <> 7") == 0
    assert count(con, "select count(*) from staging.persons where length(birth_year_month) <> 7") == 0
    assert count(con, "select count(*) from raw.rejected_rows where value like '%/%/%' and column_name = 'DOB'") == 0


def test_rules_567_574_586_and_code_checks(tmp_path, settings):
    path = write(
        tmp_path,
        "C1,01/01/2010,M,10/03/2020,05/03/2020",  # 567 ends before it starts
        "C2,01/01/2010,A,01/01/2020,",  # open period ...
        "C2,01/01/2010,M,05/01/2020,06/01/2020",  # ... 574 starts while it is open
        "C3,01/06/2015,M,01/05/2015,10/05/2015",  # 586 before birth
        "C4,01/01/2010,X,01/01/2020,02/01/2020",  # 1006
        "C5,01/01/2010,M,,02/01/2020",  # 564
        "C6,01/01/2010,M,31/02/2020,",  # 1004
        "C7,01/01/2010,M,01/02/2020,2020-02-30",  # 1005
        "C8,01/01/2010,,01/02/2020,02/02/2020",  # 565
        "C9,01/01/2010,A,01/02/2020,10/02/2020",
        "C9,01/01/2010,M,10/02/2020,12/02/2020",  # starts the day the last one ended: allowed
        "C9,01/01/2010,M,11/02/2020,15/02/2020",  # 574 overlaps
    )
    batch = read_missing(path, settings=settings, options={})
    assert batch.rows_read == 12 and len(batch.rows) == 3 and batch.rejected_records == 9
    rules = dict(zip(batch.rejects["line"], batch.rejects["rule"], strict=True))
    assert rules == {2: "567", 4: "574", 5: "586", 6: "1006", 7: "564", 8: "1004", 9: "1005", 10: "565", 13: "574"}
    assert list(batch.rows["person_id"]) == ["C2", "C9", "C9"]
    assert batch.rows["ended_at"].isna().tolist() == [True, False, False]


def test_rule_574_orders_each_childs_periods_by_start_whatever_the_file_order(tmp_path, settings):
    path = write(
        tmp_path,
        "C1,01/01/2010,M,20/03/2020,25/03/2020",  # listed first, starts inside C1's next period: 574
        "C2,01/01/2010,A,01/03/2020,",  # open for ever, but only C2's own later periods overlap it
        "C1,01/01/2010,M,10/03/2020,30/03/2020",
        "C3,01/01/2010,M,21/03/2020,22/03/2020",
        "C2,01/01/2010,M,2021-06-01,2021-06-02",  # 574: C2's open period
        "C3,01/01/2010,a,2020-03-21,2020-03-23",  # 574: the same start day written the ISO way
        "C4,31/02/2011,M,01/01/2020,02/01/2020",  # DOB not a date: refused, its birth not kept ...
        "C4,01/01/2011,M,05/01/2020,06/01/2020",  # ... this row's instead
    )
    batch = read_missing(path, settings=settings, options={})
    rules = dict(zip(batch.rejects["line"], batch.rejects["rule"], strict=True))
    assert rules == {2: "574", 6: "574", 7: "574", 8: None}
    assert list(batch.rows["episode_id"]) == [
        "903:C2:2020-03-01",
        "903:C1:2020-03-10",
        "903:C3:2020-03-21",
        "903:C4:2020-01-05",
    ]
    assert batch.extra == []  # a CSV's children are known from their episodes
    assert list(batch.rows["birth_year_month"]) == ["2010-01", "2010-01", "2010-01", "2011-01"]


def test_a_second_period_starting_the_same_day_is_refused_per_child(tmp_path, settings):
    path = write(
        tmp_path,
        "C1,01/01/2010,M,01/04/2020,01/04/2020",  # a period of a day ...
        "C2,01/01/2010,M,01/04/2020,02/04/2020",  # another child the same day: allowed
        "C1,01/01/2010,A,01/04/2020,03/04/2020",  # ... then one starting that day: 574 (not an overlap)
        "C1,01/01/2010,A,05/04/2020,06/04/2020",
        "C2,01/01/2010,M,2019-12-31,2019-12-31",  # C2 months earlier, a day ...
        "C2,01/01/2010,M,31/12/2019,02/01/2020",  # ... and again that day: 574
        "C2,01/01/2010,A,31/03/2020,31/03/2020",  # a day before C1's first: not the same child and day
    )
    batch = read_missing(path, settings=settings, options={})
    rejects = batch.rejects.set_index("line")
    assert rejects["rule"].to_dict() == {4: "574", 7: "574"}
    assert rejects["reason"].str.contains("same start date").all()
    assert list(batch.rows["episode_id"]) == [
        "903:C1:2020-04-01",
        "903:C2:2020-04-01",
        "903:C1:2020-04-05",
        "903:C2:2019-12-31",
        "903:C2:2020-03-31",
    ]
    assert list(batch.rows["line"]) == [2, 3, 5, 6, 8]


def test_pseudonymised_children_never_reach_the_warehouse_in_clear(tmp_path, con, settings):
    path = write(tmp_path, "123456,01/01/2010,M,01/02/2020,02/02/2020")
    ingest_one(con, "ssda903-missing", path, settings=settings, pseudonymise_key=KEY)
    person, episode = con.execute("select person_id, episode_id from raw.missing_episodes").fetchone()
    assert person.startswith("p_") and "123456" not in episode
    assert con.execute("select person_id from staging.persons").fetchall() == [(person,)]


@pytest.mark.parametrize("order", ["persons file first", "return first"])
def test_a_persons_file_and_a_return_merge_whatever_the_order(tmp_path, con, settings, order):
    persons = tmp_path / "persons.csv"
    persons.write_text("person_id,birth_year_month,sex\nC1,,female\nC2,2008-01,\n")
    files = [
        ("persons", persons),
        (
            "ssda903-missing",
            write(tmp_path, "C1,15/04/2009,M,01/02/2020,02/02/2020", "C2,15/04/2009,M,01/02/2020,02/02/2020"),
        ),
    ]
    for kind, path in files if order == "persons file first" else reversed(files):
        ingest_one(con, kind, path, settings=settings)
    merged = con.execute("select person_id, birth_year_month, sex, looked_after from staging.persons order by 1")
    # the persons file's values first; what it leaves blank from the return; children of a return are looked after
    assert merged.fetchall() == [("C1", "2009-04", "female", True), ("C2", "2008-01", None, True)]


def test_a_child_given_two_births_is_taken_as_the_younger(tmp_path, con, settings):
    path = write(tmp_path, "C3,01/01/2010,M,01/02/2020,02/02/2020", "C3,20/06/2010,A,01/03/2020,02/03/2020")
    ingest_one(con, "ssda903-missing", path, settings=settings)
    assert con.execute("select birth_year_month, birth_date from staging.persons").fetchall() == [
        ("2010-06", date(2010, 6, 30))
    ]  # an age is never overstated


def test_a_warehouse_with_returns_in_raw_persons_moves_them_to_their_own_tables(tmp_path, settings):
    import duckdb

    from ctxrisk.pipelines.warehouse import connect

    connect(settings=settings).close()
    old = duckdb.connect(str(settings.paths.warehouse))  # as ctxrisk wrote it before each source kept its rows
    old.execute(
        "insert into raw.persons values ('X1', '2009-04', 'male', true, 'ssda903', 'f1', null), "
        "('A1', '2010-02', 'female', true, 'annex_a', 'f2', 2), ('P1', '2001-01', null, null, 'partnership', "
        "'f3', 2)"
    )
    old.execute(
        "insert into raw.annex_a_children (person_id, birth_year_month, sex, file_id, line) "
        "values ('A1', '2010-02', 'female', 'f2', 2)"
    )
    old.execute("update meta.schema_applied set fingerprint = 'before'")
    old.close()
    con = connect(settings=settings)
    assert con.execute("select person_id, source from raw.persons").fetchall() == [("P1", "partnership")]
    assert con.execute("select person_id, birth_year_month, sex, file_id from raw.ssda903_children").fetchall() == [
        ("X1", "2009-04", "male", "f1")
    ]
    assert con.execute(
        "select person_id, birth_year_month, looked_after from staging.persons order by 1"
    ).fetchall() == [("A1", "2010-02", True), ("P1", "2001-01", None), ("X1", "2009-04", True)]
    con.close()
    assert connect(settings=settings).execute("select count(*) from raw.ssda903_children").fetchone() == (1,)


def test_store_batch_extra_rows_replace_by_key(tmp_path, con, settings):
    import pandas as pd

    def batch(value: str) -> Batch:
        rows = pd.DataFrame({"person_id": ["E1"], "birth_year_month": [value], "line": [2]})
        return Batch(
            "persons",
            "raw.persons",
            ("person_id",),
            tmp_path / "x.csv",
            value,
            0,
            pd.DataFrame({"person_id": [], "source": [], "line": []}, dtype="object"),
            pd.DataFrame(columns=["line", "column_name", "value", "reason", "rule"]),
            0,
            extra=[ExtraRows("raw.ssda903_children", ("person_id",), rows)],
        )

    store_batch(con, batch("2001-01"))
    store_batch(con, batch("2002-02"))
    assert con.execute("select birth_year_month from raw.ssda903_children").fetchall() == [("2002-02",)]


def test_missing_column_and_bad_xml_are_refused(tmp_path, settings):
    path = tmp_path / "m.csv"
    path.write_text("CHILD,DOB,MISSING,MIS_START\nC1,01/01/2010,M,01/01/2020\n")
    with pytest.raises(ValidationError, match="'MIS_END' missing"):
        read_missing(path, settings=settings, options={})
    xml = tmp_path / "m.xml"
    xml.write_text("<EXPSSDA903><CHILD><HEADER><CHILDID>1</CHILDID></HEADER></EXPSSDA903>")
    with pytest.raises(ValidationError, match="not well-formed XML"):
        read_missing(xml, settings=settings, options={})


@pytest.mark.parametrize("timezone", ["Europe/London", "America/Sao_Paulo", "Asia/Beirut", "UTC"])
def test_dates_become_the_same_instants_as_the_time_parser_gives(timezone):
    # Sao Paulo's clocks skipped midnight on 2018-11-04 and Beirut's repeated it on 2019-10-27: the
    # episode dates must be read as the parser reads a date written YYYY-MM-DD.
    import pandas as pd

    from ctxrisk.pipelines.sources.ssda903 import _Dates
    from ctxrisk.pipelines.timeparse import parse_times

    days = pd.date_range("2018-10-20", "2019-11-10", freq="D")
    written = [d.strftime("%d/%m/%Y") for d in days] + [None, "31/02/2019", "2019-03-31"]
    dates = _Dates(pd.Series(written, dtype=pd.StringDtype("pyarrow")))
    utc, precision = dates.utc(timezone)
    expected, expected_precision, _ = parse_times(
        pd.Series([d.strftime("%Y-%m-%d") for d in days] + [None, None, "2019-03-31"], dtype="object"),
        timezone=timezone,
    )
    assert utc.equals(expected.reset_index(drop=True))
    assert [None if pd.isna(p) else p for p in precision] == [None if pd.isna(p) else p for p in expected_precision]


def test_a_child_known_only_from_purged_episodes_leaves_staging_persons(tmp_path, con, settings):
    from datetime import UTC, datetime

    from ctxrisk.pipelines.purge import purge_older_than

    path = write(tmp_path, "OLD1,01/01/2000,M,01/02/2010,02/02/2010", "NEW1,01/01/2010,M,01/02/2024,02/02/2024")
    ingest_one(con, "ssda903-missing", path, settings=settings)
    purge_older_than(con, datetime(2020, 1, 1, tzinfo=UTC), reason="retention test")
    assert con.execute("select person_id from staging.persons").fetchall() == [("NEW1",)]
