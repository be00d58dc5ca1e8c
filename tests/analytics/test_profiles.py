"""Tests for ctxrisk.analytics.profiles: counts, children, repeat found-at, graded intelligence, hour profile, areas."""

from __future__ import annotations

import json

import h3
import numpy as np
import pytest
from support.hotspot_fixtures import write_csv

from ctxrisk.analytics.profiles import build_profiles, grade_weight, profile_matrix
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.ingest import ingest_file

A = h3.latlng_to_cell(53.1, -2.44, 9)
B = sorted(h3.grid_ring(A, 1))[0]


def _at(cell: str) -> str:
    lat, lon = h3.cell_to_latlng(cell)
    return f"{lat:.6f},{lon:.6f}"


@pytest.fixture()
def place(tmp_path, settings, con):
    w = lambda name, header, rows: ingest_file(  # noqa: E731
        con, name, write_csv(tmp_path / f"{name}.csv", header, rows), settings=settings
    )
    w(
        "persons",
        "person_id,birth_year_month,sex,looked_after",
        ["K1,2010-05,female,true", "K2,2011-01,male,false", "AD1,1980-01,male,"],
    )
    # Fridays at 20:xx local (BST in June: stored 19:xx UTC), one date-only, one in cell B
    w(
        "incidents",
        "incident_id,occurred_at,latitude,longitude,category,source",
        [
            f"I1,2025-06-06T20:15:00,{_at(A)},Child sexual exploitation,police",
            f"I2,2025-06-13T20:40:00,{_at(A)},Child sexual exploitation,partnership",
            f"I3,2025-07-04,{_at(A)},Drug supply,police",
            f"I4,2025-08-01T20:05:00,{_at(A)},Anti-social behaviour,police",
            f"I5,2025-08-01T21:00:00,{_at(B)},Drug supply,police",
        ],
    )
    w(
        "involvements",
        "person_id,event_id,event_type,role",
        ["K1,I1,incident,victim", "AD1,I1,incident,suspect", "K2,I2,incident,victim", "K2,I5,incident,victim"],
    )
    w(
        "missing",
        "episode_id,person_id,started_at,ended_at,found_latitude,found_longitude,found_with",
        [
            f"M1,K1,2025-06-01T18:00:00,2025-06-02T01:00:00,{_at(A).split(',')[0]},{_at(A).split(',')[1]},AD1",
            f"M2,K1,2025-06-20T18:00:00,2025-06-21T01:00:00,{_at(A).split(',')[0]},{_at(A).split(',')[1]},",
            f"M3,K1,2025-07-20T18:00:00,2025-07-21T01:00:00,{_at(A).split(',')[0]},{_at(A).split(',')[1]},",
            f"M4,K2,2025-07-22T18:00:00,2025-07-23T01:00:00,{_at(A).split(',')[0]},{_at(A).split(',')[1]},",
        ],
    )
    w(
        "intelligence",
        "intel_id,reported_at,latitude,longitude,category,source_evaluation,intelligence_evaluation,persons",
        [
            f"N1,2025-06-10T12:00:00,{_at(A)},Child sexual exploitation,1,B,AD1",
            f"N2,2025-06-11T12:00:00,{_at(A)},Child sexual exploitation,2,C,",
            f"N3,2025-06-12T12:00:00,{_at(A)},Child sexual exploitation,,,",
            "N4,2025-06-12T12:00:00,,,Child sexual exploitation,1,A,",
        ],
    )
    return settings, con


def test_profile_of_one_place_pinned(place):
    settings, con = place
    f = build_profiles(con, [A, B], settings=settings).set_index("unit_id")
    a = f.loc[A]
    assert a["count"] == 4 + 4 + 3
    assert json.loads(a["counts_by_type"]) == {"incident": 4, "missing": 4, "intelligence": 3}
    assert json.loads(a["counts_by_source"])["police"] == 3
    assert a["distinct_children"] == 2  # K1 (incident, missing), K2 (incident, missing); AD1 is an adult
    assert (a["found_at_episodes"], a["repeat_found_at"], a["children_found_repeatedly"]) == (4, 2, 1)
    assert a["intelligence_items"] == 3
    assert a["intelligence_graded"] == pytest.approx(1.0 * 0.8 + 0.6 * 0.6 + 0.5 * 0.5)
    assert json.loads(a["intelligence_by_grade"]) == {"1B": 1, "2C": 1, "??": 1}
    prof = profile_matrix(a["profile"])
    assert prof[4, 20] == 3  # Friday 20:xx local, three minute-precision incidents
    assert a["profile_events"] == 10 and a["profile_excluded"] == 1  # I3 has a date only
    assert str(a["first_seen"]).startswith("2025-06-01 17:00") and str(a["last_seen"]).startswith("2025-08-01 19:05")
    assert a["unlocated_events"] == 1  # N4: counted, never placed
    b = f.loc[B]
    assert b["count"] == 1 and b["distinct_children"] == 1 and b["repeat_found_at"] == 0
    assert a["trend"] in {"increasing", "decreasing", "no trend"}


def test_profiles_of_a_plain_selection_equal_those_of_the_compact_default(place):
    import pandas as pd

    from ctxrisk.analytics.events import load_events

    settings, con = place
    plain = load_events(con, settings=settings, event_types="all")  # every column, text as text
    assert not isinstance(plain.events["event_type"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(
        build_profiles(con, [B, A, B], settings=settings, selection=plain),
        build_profiles(con, [B, A, B], settings=settings),
    )


def test_child_involvements_of_some_events_and_of_all(place):
    import pandas as pd

    from ctxrisk.analytics.profiles import child_involvements

    settings, con = place
    every = child_involvements(con).sort_values(["event_type", "event_id", "person_id"]).reset_index(drop=True)
    # K1 and K2 in incidents and missing episodes; AD1 (an adult) nowhere
    assert sorted(set(every["person_id"])) == ["K1", "K2"] and len(every) == 3 + 4
    some = child_involvements(
        con,
        pd.DataFrame(
            {"event_id": ["I1", "M4", "N1", "M4"], "event_type": ["incident", "missing", "intelligence", "missing"]}
        ),
    )
    assert sorted(zip(some["person_id"], some["event_id"], strict=False)) == [("K1", "I1"), ("K2", "M4")]
    with_all = build_profiles(con, [A, B], settings=settings, children=child_involvements(con))
    pd.testing.assert_frame_equal(with_all, build_profiles(con, [A, B], settings=settings))


def test_areas_and_imd_from_loaded_boundaries(place):
    settings, con = place
    lat, lon = h3.cell_to_latlng(A)

    def sq(d):
        return (
            f"POLYGON(({lon - d} {lat - d}, {lon + d} {lat - d}, {lon + d} {lat + d}, "  # noqa: E731
            f"{lon - d} {lat + d}, {lon - d} {lat - d}))"
        )

    con.execute("insert into raw.boundaries values ('ward', 'E05000001', 'Central', null, null, ?, 'f', 1)", [sq(0.02)])
    con.execute(
        "insert into raw.boundaries values ('lsoa11', 'E01000001', 'Crewe 001A', 2, 3000, ?, 'f', 1)", [sq(0.001)]
    )
    f = build_profiles(con, [A], settings=settings, include_out_of_area=True)
    row = f.iloc[0]
    assert (row["ward_code"], row["ward_name"], row["lsoa_code"], row["imd_decile"]) == (
        "E05000001",
        "Central",
        "E01000001",
        2,
    )


def test_grades_and_bad_input(settings, con):
    assert grade_weight("1", "A") == 1.0 and grade_weight("3", "E") == 0.0
    assert grade_weight(None, None) == 0.25 and grade_weight("2", "c") == pytest.approx(0.36)
    with pytest.raises(ValidationError, match="168 values"):
        profile_matrix([1, 2, 3])
    with pytest.raises(ValidationError, match="not an H3 cell at resolution 9"):
        build_profiles(con, [h3.latlng_to_cell(53.1, -2.44, 8)], settings=settings)
    empty = build_profiles(con, [A], settings=settings)
    assert empty.iloc[0]["count"] == 0 and np.asarray(empty.iloc[0]["profile"]).sum() == 0
