"""Tests for ctxrisk.pipelines.ingest: every canonical kind's happy path, bad rows, reconciliation and re-ingest."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from ctxrisk.pipelines.errors import IdentifierError, ValidationError
from ctxrisk.pipelines.ingest import ingest_file
from ctxrisk.pipelines.pseudonymise import pseudonym


def csv_file(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def rejects(con) -> list[tuple]:
    return con.execute("select line, column_name, reason from raw.rejected_rows order by line, column_name").fetchall()


def reconcile(result) -> None:
    assert result.rows_read == result.rows_loaded + result.rows_rejected


def test_incidents_happy_path_and_bad_rows(tmp_path, con, settings):
    path = csv_file(
        tmp_path,
        "incidents.csv",
        """
        incident_id,occurred_at,latitude,longitude,easting,northing,category,theme,location_type,source
        INC-1,2024-03-31T01:30:00,53.0987,-2.4400,,,Drug supply,,park,police
        INC-2,2024-10-27 01:30,,,370500,355200,Shoplifting,,,
        INC-3,not a date,53.1,-2.4,,,Shoplifting,,,
        INC-1,2024-05-01,53.1,-2.4,,,Shoplifting,,,
        INC-4,2024-05-01,-2.4,53.1,,,Shoplifting,,,
        INC-5,2024-05,,,,,Child sexual exploitation,,,
        INC-6,2024-05,53.1,,,,CSE,wrong,,
        INC 7,2024-05,53.1,-2.4,,,CSE,,,
    """,
    )
    result = ingest_file(con, "incidents", path, settings=settings)
    reconcile(result)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (8, 3, 5)
    rows = con.execute(
        "select incident_id, occurred_at::varchar, time_precision, theme, source, located, round(easting), "
        "round(latitude, 4), line from raw.incidents order by incident_id"
    ).fetchall()
    assert rows[0][:6] == ("INC-1", "2024-03-31 01:00:00+00", "minute", "county_lines", "police", True)
    assert rows[1][:5] == ("INC-2", "2024-10-27 00:30:00+00", "minute", "other", "partnership")
    assert rows[1][7] == pytest.approx(53.0932, abs=1e-4)  # BNG converted to WGS84
    assert rows[2][:6] == ("INC-5", "2024-04-30 23:00:00+00", "month", "cse", "partnership", False)
    assert [r[8] for r in rows] == [2, 3, 7]
    assert rejects(con) == [
        (4, "occurred_at", "not an ISO 8601 date or time (e.g. 2024-03-31T18:45:00)"),
        (5, "incident_id", "duplicate key in this file (first on line 2)"),
        (6, "latitude", "latitude/longitude outside Great Britain (is the pair swapped?)"),
        (8, "longitude", "latitude is given but longitude is blank"),
        (
            8,
            "theme",
            "not one of cse, cce, county_lines, missing, radicalisation, modern_slavery, serious_violence, other",
        ),
        (9, "incident_id", "invalid ID: use 1-128 letters, digits or _ . : / # - characters"),
    ]
    assert any("unlocated" in note for note in result.notes)


def test_identical_reingest_adds_nothing_and_corrected_export_replaces(tmp_path, con, settings):
    text = (
        "incident_id,occurred_at,latitude,longitude,category\nA,2024-01-01T10:00,53.1,-2.4,Shoplifting\n"
        "B,2024-01-02T10:00,53.1,-2.4,Shoplifting\n"
    )
    first = ingest_file(con, "incidents", csv_file(tmp_path, "a.csv", text), settings=settings)
    again = ingest_file(con, "incidents", csv_file(tmp_path, "a_copy.csv", text), settings=settings)
    assert first.rows_loaded == 2
    assert again.skipped_same_file and again.rows_loaded == 0
    assert con.execute("select count(*) from raw.incidents").fetchone()[0] == 2
    corrected = text.replace("B,2024-01-02T10:00,53.1,-2.4,Shoplifting", "B,2024-01-02T10:00,53.1,-2.4,Drug supply")
    result = ingest_file(con, "incidents", csv_file(tmp_path, "b.csv", corrected), settings=settings)
    assert result.replaced == 2 and result.rows_loaded == 2
    assert con.execute("select theme from raw.incidents where incident_id = 'B'").fetchall() == [("county_lines",)]
    assert con.execute("select count(*) from raw.incidents").fetchone()[0] == 2


def test_missing_required_column_loads_nothing(tmp_path, con, settings):
    path = csv_file(tmp_path, "x.csv", "incident_id,latitude,longitude,category\nA,53.1,-2.4,x\n")
    with pytest.raises(ValidationError, match=r"x.csv: line 1: required column\(s\) missing: occurred_at"):
        ingest_file(con, "incidents", path, settings=settings)
    assert con.execute("select count(*) from raw.ingest_files").fetchone()[0] == 0


def test_no_coordinate_columns_is_refused(tmp_path, con, settings):
    path = csv_file(tmp_path, "x.csv", "incident_id,occurred_at,category\nA,2024-01-01,x\n")
    with pytest.raises(ValidationError, match="latitude/longitude or easting/northing"):
        ingest_file(con, "incidents", path, settings=settings)


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [
        ("first_name", "Sam", "a person's name"),
        ("DOB", "2010-04-03", "a full date of birth"),
        ("nhs_number", "9434765919", "an NHS number"),
        ("Post Code", "CW1 2AB", "a full postcode"),
        ("notes", "CW1 2AB", "values look like full postcodes"),
        ("ref", "943 476 5919", "valid NHS numbers"),
    ],
)
def test_direct_identifiers_are_refused(tmp_path, con, settings, column, value, match):
    path = csv_file(tmp_path, "p.csv", f"person_id,birth_year_month,{column}\nP1,2010-04,{value}\n")
    with pytest.raises(IdentifierError, match=match):
        ingest_file(con, "persons", path, settings=settings)
    assert con.execute("select count(*) from raw.persons").fetchone()[0] == 0


def test_persons_reject_full_birth_dates_and_map_codes(tmp_path, con, settings):
    path = csv_file(
        tmp_path,
        "persons.csv",
        """
        person_id,birth_year_month,sex,looked_after
        P1,2010-04,F,yes
        P2,2010-04-03,M,no
        P3,2009-13,M,no
        P4,,u,maybe
        P5,1990-01,male,
    """,
    )
    result = ingest_file(con, "persons", path, settings=settings)
    reconcile(result)
    assert con.execute(
        "select person_id, birth_year_month, sex, looked_after from raw.persons order by 1"
    ).fetchall() == [("P1", "2010-04", "female", True), ("P5", "1990-01", "male", None)]
    reasons = rejects(con)
    assert reasons[0] == (
        3,
        "birth_year_month",
        "a full date of birth is not accepted: give the year and month only (YYYY-MM)",
    )
    assert con.execute("select value from raw.rejected_rows where line = 3").fetchone()[0] is None
    assert reasons[1] == (4, "birth_year_month", "not a year and month (YYYY-MM)")
    assert reasons[2] == (5, "looked_after", "not a yes/no value (true/false, yes/no, 1/0, Y/N)")


def test_involvements(tmp_path, con, settings):
    path = csv_file(
        tmp_path,
        "inv.csv",
        """
        person_id,event_id,event_type,role
        P1,INC-1,incident,victim
        P2,INC-1,Incident,SUSPECT
        P3,INC-1,incident,ringleader
        P4,MIS-1,missing,found_with
        P4,MIS-1,missing,found_with
    """,
    )
    result = ingest_file(con, "involvements", path, settings=settings)
    reconcile(result)
    assert result.rows_loaded == 3
    assert con.execute("select role from raw.involvements order by person_id").fetchall() == [
        ("victim",),
        ("suspect",),
        ("found_with",),
    ]
    assert [r[2] for r in rejects(con)] == [
        "not one of victim, suspect, associate, witness, found_with, subject",
        "duplicate key in this file (first on line 5)",
    ]


def test_missing_episodes(tmp_path, con, settings):
    path = csv_file(
        tmp_path,
        "missing.csv",
        """
        episode_id,person_id,started_at,ended_at,missing_type,found_latitude,found_longitude,found_with,rhi_offered_at,rhi_completed_at
        M1,P1,2024-02-01T22:00,2024-02-02T09:00,missing,53.09,-2.44,P7;P8,2024-02-02T12:00,2024-02-03T10:00
        M2,P1,2024-02-05T22:00,2024-02-04T09:00,missing,,,,,
        M3,P2,2024-02-05T22:00,,A,,,P9;bad id,,
        M4,P2,2024-02-06,,,,,,,
    """,
    )
    result = ingest_file(con, "missing", path, settings=settings)
    reconcile(result)
    assert result.rows_loaded == 2
    rows = con.execute(
        "select episode_id, missing_type, found_with, found_easting is not null, started_precision "
        "from raw.missing_episodes order by 1"
    ).fetchall()
    assert rows == [("M1", "missing", ["P7", "P8"], True, "minute"), ("M4", "missing", None, False, "day")]
    assert [r[1:] for r in rejects(con)] == [
        ("ended_at", "the episode ends before it starts"),
        ("found_with", "holds an invalid person ID (IDs are separated by ;)"),
    ]


def test_associations_sorted_pairs_and_grading(tmp_path, con, settings):
    path = csv_file(
        tmp_path,
        "assoc.csv",
        """
        person_a,person_b,relation,observed_at,source_evaluation,intelligence_evaluation,handling
        P2,P1,knows,2024-01-01,1,a,P
        P3,P3,family,,,,
        P1,P4,best_friend,,,,
        P1,P5,phone_contact,,4,B,C
    """,
    )
    result = ingest_file(con, "associations", path, settings=settings)
    reconcile(result)
    assert con.execute(
        "select person_a, person_b, relation, source_evaluation, intelligence_evaluation, handling "
        "from raw.associations"
    ).fetchall() == [("P1", "P2", "knows", "1", "A", "P")]
    assert [r[1] for r in rejects(con)] == ["person_b", "relation", "source_evaluation"]


def test_intelligence_screenings_referrals(tmp_path, con, settings):
    intel = csv_file(
        tmp_path,
        "intel.csv",
        """
        intel_id,reported_at,easting,northing,category,source_evaluation,intelligence_evaluation,handling,persons
        INT-1,2024-03-01T20:00,385000,373000,Cuckooing,2,B,P,P1;P2
        INT-2,2024-03-02T20:00,,,Online grooming,3,E,C,
        INT-3,2024-03-02T20:00,,,Online grooming,,F,,
    """,
    )
    screenings = csv_file(
        tmp_path,
        "screen.csv",
        """
        person_id,screened_at,tool,risk_level
        P1,2024-03-03,pre-screen,medium
        P1,2024-03-10,full,HIGH
        P2,2024-03-10,full,severe
    """,
    )
    referrals = csv_file(
        tmp_path,
        "ref.csv",
        """
        person_id,referred_at,type,outcome
        P1,2024-03-11,nrm,positive reasonable grounds
        P2,2024-03-11,MACE,
        P3,2024-03-11,police,
    """,
    )
    for kind, path, loaded in (("intelligence", intel, 2), ("screenings", screenings, 2), ("referrals", referrals, 2)):
        result = ingest_file(con, kind, path, settings=settings)
        reconcile(result)
        assert result.rows_loaded == loaded, kind
    assert con.execute("select intel_id, theme, located, persons from raw.intelligence order by 1").fetchall() == [
        ("INT-1", "county_lines", True, ["P1", "P2"]),
        ("INT-2", "cse", False, None),
    ]
    assert con.execute("select tool, risk_level from raw.screenings order by screened_at").fetchall() == [
        ("pre_screen", "medium"),
        ("full", "high"),
    ]
    assert con.execute("select type from raw.referrals order by person_id").fetchall() == [("nrm",), ("mace",)]
    assert con.execute("select count(*) from raw.rejected_rows").fetchone()[0] == 3


def test_aliases_from_settings(tmp_path, con, settings):
    from dataclasses import replace

    aliased = replace(settings, aliases={"incidents": {"occurred_at": ["date_time"], "incident_id": ["ref"]}})
    path = csv_file(tmp_path, "a.csv", "ref,date_time,latitude,longitude,category\nA,2024-01-01,53.1,-2.4,x\n")
    assert ingest_file(con, "incidents", path, settings=aliased).rows_loaded == 1


def test_pseudonymise_replaces_ids_before_storing(tmp_path, con, settings):
    key = b"a-test-key-of-enough-length"
    path = csv_file(tmp_path, "m.csv", "episode_id,person_id,started_at,found_with\nM1,P1,2024-01-01,P2;P3\n")
    ingest_file(con, "missing", path, settings=settings, pseudonymise_key=key)
    person, found = con.execute("select person_id, found_with from raw.missing_episodes").fetchone()
    assert person == pseudonym("P1", key) and person.startswith("p_") and len(person) == 18
    assert found == [pseudonym("P2", key), pseudonym("P3", key)]
    assert con.execute("select pseudonymised from raw.ingest_files").fetchone()[0] is True
    stored = con.execute("select string_agg(person_id) from raw.missing_episodes").fetchone()[0]
    assert "P1" not in stored


def test_staging_views_give_age_bands(tmp_path, con, settings):
    csv_file(tmp_path, "persons.csv", "person_id,birth_year_month\nC1,2008-06\nA1,1990-01\nY1,2004-01\nU1,\n")
    csv_file(
        tmp_path,
        "incidents.csv",
        "incident_id,occurred_at,latitude,longitude,category\nI1,2026-06-15T12:00,53.1,-2.4,CSE\n",
    )
    csv_file(
        tmp_path,
        "inv.csv",
        "person_id,event_id,event_type,role\nC1,I1,incident,victim\n"
        "A1,I1,incident,suspect\nY1,I1,incident,associate\nU1,I1,incident,witness\n",
    )
    for kind, name in (("persons", "persons.csv"), ("incidents", "incidents.csv"), ("involvements", "inv.csv")):
        ingest_file(con, kind, tmp_path / name, settings=settings)
    bands = dict(con.execute("select person_id, age_band from staging.involvements").fetchall())
    # C1 born June 2008 is taken as born 30 June 2008, so still 17 on 15 June 2026: never overstated.
    assert bands == {"C1": "child", "A1": "adult", "Y1": "young_adult", "U1": "unknown"}
    events = con.execute("select event_type, theme, located, out_of_area from staging.events").fetchall()
    assert events == [("incident", "cse", True, False)]


def test_parquet_input(tmp_path, con, settings):
    path = tmp_path / "incidents.parquet"
    pd.DataFrame(
        {
            "incident_id": ["A", "B"],
            "occurred_at": ["2024-01-01T10:00", "bad"],
            "latitude": [53.1, 53.1],
            "longitude": [-2.4, -2.4],
            "category": ["x", "y"],
        }
    ).to_parquet(path)
    result = ingest_file(con, "incidents", path, settings=settings)
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert rejects(con)[0][0] == 2  # row number for Parquet


def test_distinct_point_transform_equals_transforming_every_point():
    import numpy as np

    from ctxrisk.pipelines.geo import bng_to_wgs84, wgs84_to_bng
    from ctxrisk.pipelines.validate import DISTINCT_TRANSFORM_MIN, _transform_distinct

    rng = np.random.default_rng(3)
    lat = rng.uniform(53.3, 53.5, 50)[rng.integers(0, 50, DISTINCT_TRANSFORM_MIN + 7)]
    lon = rng.uniform(-3.0, -2.8, 50)[rng.integers(0, 50, DISTINCT_TRANSFORM_MIN + 7)]
    lon[:3] = [0.0, -0.0, 0.0]  # told apart by their bits, as a per-point transform would see them
    for transform, a, b in ((wgs84_to_bng, lat, lon), (bng_to_wgs84, *wgs84_to_bng(lat, lon))):
        fast = _transform_distinct(transform, a, b)
        slow = transform(a, b)
        assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])


def test_reject_values_are_taken_at_the_refused_positions_only():
    import numpy as np

    from ctxrisk.pipelines.ingest import RejectCollector

    collector = RejectCollector(4)
    values = pd.Series(["a", None, "x" * 250, "d"], dtype="string[pyarrow]")
    collector.add(np.array([False, True, True, False]), "c", values, "bad")
    frame = collector.frame(np.array([2, 3, 5, 6]))
    assert frame["line"].tolist() == [3, 5]
    assert frame["value"].isna().tolist() == [True, False]
    assert frame["value"].iloc[1] == "x" * 200


def test_pseudonymised_ingest_still_rejects_malformed_ids_without_keeping_them(tmp_path, con, settings):
    key = b"a-test-key-of-enough-length"
    path = csv_file(
        tmp_path,
        "m.csv",
        "episode_id,person_id,started_at,found_with\n"
        "M1,bad id!,2024-01-01,P2\nM2,P1,2024-01-01,P3;no good\nM3,P4,2024-01-01,\n",
    )
    result = ingest_file(con, "missing", path, settings=settings, pseudonymise_key=key)
    reconcile(result)
    assert (result.rows_loaded, result.rows_rejected) == (1, 2)
    assert con.execute("select person_id from raw.missing_episodes").fetchall() == [(pseudonym("P4", key),)]
    stored = con.execute("select line, column_name, value from raw.rejected_rows order by line").fetchall()
    assert stored == [(2, "person_id", None), (3, "found_with", None)]


def test_id_lists_strip_like_python_and_flag_records_with_a_bad_id():
    from ctxrisk.pipelines.validate import _id_lists

    series = pd.Series(
        ["p1; p2", "p1\x1c;p2\xa0", None, ";", " ; ;p3", "p\u2003x;\u2003y", "ok;bad id"],
        dtype=pd.StringDtype("pyarrow"),
    )
    lists, invalid = _id_lists(series)
    assert lists.to_pylist() == [["p1", "p2"], ["p1", "p2"], None, None, ["p3"], ["p\u2003x", "y"], ["ok", "bad id"]]
    assert invalid.tolist() == [False, False, False, False, False, True, True]


def test_duplicate_keys_over_several_columns_name_the_first_line():
    from ctxrisk.pipelines.batch import RejectCollector
    from ctxrisk.pipelines.validate import _duplicate_keys

    rows = pd.DataFrame({"a": ["x", "x", "y", "x", None, None], "b": [1, 2, 1, 1, 5, 5]})
    collector = RejectCollector(len(rows))
    _duplicate_keys(
        rows, ("a", "b"), np.array([True, True, True, True, True, True]), np.array([2, 3, 4, 5, 6, 7]), collector
    )
    frame = collector.frame(np.array([2, 3, 4, 5, 6, 7]))
    assert frame[["line", "reason"]].values.tolist() == [
        [5, "duplicate key in this file (first on line 2)"],
        [7, "duplicate key in this file (first on line 6)"],
    ]


@pytest.mark.parametrize(
    "values",
    [
        ["2025-03-30T01:30:00", "2025-10-26T01:30", "2024-02-29", "2025-03", None, "2025-06-01 12:00:59"],
        ["2025-02-29", "2025-01-01T10:00"],  # not a real day: parse_times decides
        ["2025-01-01T10:00Z", "2025-01-01T10:00:00+01:00", None, "2025-06-01 00:38:00-0130"],  # offsets: Arrow
        ["2025-02-30T00:00:00+00:00", "2025-01-01T10:00Z"],  # not a real day: parse_times decides
        ["2025-01-01T10:00:00+25:00", "2025-01-01T10:00Z"],  # not a real offset: parse_times decides
        ["2025-01-01T10:00:00.5+00:00", "2025-01-01T10:00Z"],  # a fraction: parse_times
        ["2025-01-01T10:00", "2025-01-01T10:00Z"],  # plain and offset mixed: parse_times
        [None, None],
        [],
    ],
)
def test_parse_plain_times_matches_parse_times(values):
    from ctxrisk.pipelines.timeparse import parse_plain_times, parse_times

    series = pd.Series(values, dtype=pd.StringDtype("pyarrow"))
    utc, precision, invalid = parse_plain_times(series, timezone="Europe/London")
    ref_utc, ref_precision, ref_invalid = parse_times(series, timezone="Europe/London")
    assert utc.equals(ref_utc)
    assert [None if pd.isna(v) else v for v in precision] == [None if pd.isna(v) else v for v in ref_precision]
    assert invalid.to_numpy(bool).tolist() == ref_invalid.to_numpy(bool).tolist()


@pytest.mark.parametrize(
    "value",
    [
        "2025-02-29",
        "2025-13-01",
        "2025-00-10",
        "2025-01-01T24:00",
        "2025-01-01T10:60",
        "2025-01-01T10:00:60",
        "2025-01-01X10:00",
        "2025-01-01T10-00",
        "2025-1-01",
        "20a5-01",
        "2025-01-01T10:00Z",
        "2025/01/01",
        "2025-01-1",
        "2025-01-01T10:00:0",
    ],
)
def test_plain_time_parts_refuse_what_is_not_a_plain_time(value):
    import pyarrow as pa

    from ctxrisk.pipelines import timeparse

    assert timeparse.plain_time_parts(pa.array(["2025-01-01", value])) is None


def test_plain_time_parts_count_days_like_numpy_across_eras():
    import pyarrow as pa

    from ctxrisk.pipelines import timeparse

    values = [
        "0001-01-01",
        "1600-02-29T12:00",
        "1899-12-31T23:59:59",
        "1970-01-01",
        "2000-02-29 06:30",
        "2024-12-31T23:59:59",
        "9999-12",
    ]
    naive, lengths = timeparse.plain_time_parts(pa.array(values))
    expected = np.array([np.datetime64(v.replace(" ", "T") + ("-01" if len(v) == 7 else ""), "us") for v in values])
    assert naive.tolist() == expected.tolist()
    assert lengths.tolist() == [10, 16, 19, 10, 16, 19, 7]


def test_parse_plain_times_reads_london_summer_time_as_utc():
    from ctxrisk.pipelines.timeparse import parse_plain_times

    utc, precision, _ = parse_plain_times(
        pd.Series(["2025-07-01T12:00", "2025-01"], dtype=pd.StringDtype("pyarrow")), timezone="Europe/London"
    )
    assert [str(v) for v in utc] == ["2025-07-01 11:00:00+00:00", "2025-01-01 00:00:00+00:00"]
    assert precision.tolist() == ["minute", "month"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["a1", "a2", "b"], True),  # increasing: settled by comparing neighbours
        (["b", "a", "c"], True),  # not sorted: settled by the hash count
        (["a", "b", "a"], False),
        (["a", None, None], False),  # two blanks are one repeated value, as _duplicate_keys counts them
        (["a", None], True),
        ([], True),
    ],
)
def test_all_distinct_with_sorted_and_unsorted_keys(values, expected):
    from ctxrisk.pipelines.validate import _all_distinct

    assert _all_distinct(pd.Series(values, dtype=pd.StringDtype("pyarrow"))) is expected


def test_tuples_distinct_over_ids_enums_times_and_blanks():
    from ctxrisk.pipelines.validate import _tuples_distinct

    rows = pd.DataFrame(
        {
            "person": pd.Series(["P1", "P1", "P2", "P1"], dtype=pd.StringDtype("pyarrow")),
            "at": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", None], utc=True),
            "tool": pd.Series(["a", "a", "a", "a"], dtype=object),
        }
    )
    everything = np.arange(4)
    assert _tuples_distinct(rows, ("person", "at", "tool"), everything, True)
    assert not _tuples_distinct(rows, ("person", "tool"), everything, True)
    assert _tuples_distinct(rows, ("person", "tool"), np.array([0, 2]), False)
    blanks = pd.DataFrame({"a": ["x", "x"], "b": [None, None]})
    assert not _tuples_distinct(blanks, ("a", "b"), np.arange(2), True)  # two blanks are one value


def test_refused_rows_are_dropped_column_by_column_keeping_each_dtype():
    from ctxrisk.pipelines.batch import _keep_rows

    rows = pd.DataFrame(
        {
            "text": pd.Series(["a", None, "c", "d"], dtype=pd.StringDtype("pyarrow")),
            "str": pd.Series(["p", "q", None, "s"], dtype=pd.StringDtype("pyarrow", na_value=np.nan)),
            "number": [1.5, 2.5, np.nan, 4.5],
            "at": pd.to_datetime(["2024-01-01", "2024-01-02", None, "2024-01-04"], utc=True),
            "flag": [True, False, True, False],
            "codes": pd.Series([["x"], None, ["y", "z"], []], dtype="object"),
        }
    ).set_axis([10, 11, 12, 13])
    kept = _keep_rows(rows, np.array([True, False, True, True]))
    assert list(kept.index) == [0, 1, 2] and list(kept.columns) == list(rows.columns)
    assert kept.dtypes.equals(rows.dtypes)
    assert kept["text"].tolist() == ["a", "c", "d"]
    assert kept["str"].iloc[[0, 2]].tolist() == ["p", "s"] and np.isnan(kept["str"].iloc[1])
    assert kept["number"].tolist()[::2] == [1.5, 4.5] and np.isnan(kept["number"][1])
    assert kept["at"].isna().tolist() == [False, True, False]
    assert kept["flag"].tolist() == [True, True, False]
    assert kept["codes"].tolist() == [["x"], ["y", "z"], []]
