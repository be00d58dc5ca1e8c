"""The MACE list: each indicator with its evidence, the order, who is listed, the places list, the wording."""

from __future__ import annotations

import re
from dataclasses import replace

import h3
import pandas as pd
import pytest
from support.hotspot_fixtures import write_csv

from ctxrisk.analytics.protect.links import FlaggedAdults, flagged_adults
from ctxrisk.analytics.protect.mace import mace_list, mace_places
from ctxrisk.maps.language import assert_appropriate
from ctxrisk.pipelines.ingest import ingest_file
from ctxrisk.pipelines.runner import ingest_one
from ctxrisk.pipelines.settings import MaceSettings
from ctxrisk.pipelines.warehouse import connect, write_mart

PLACE = (53.2, -2.2)
SEARCH = (
    "Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,Gender,Age range,"
    "Self-defined ethnicity,Officer-defined ethnicity,Legislation,Object of search,Outcome,"
    "Outcome linked to object of search,Removal of more than just outer clothing"
)


@pytest.fixture()
def warehouse(con, settings, tmp_path):
    files = {
        "persons": (
            "person_id,birth_year_month,sex,looked_after",
            [
                "K1,2010-03,female,true",
                "K2,2011-04,male,false",
                "K3,,male,",
                "K4,2012-01,female,false",
                "AD,1985-01,male,",
                "AX,1980-01,male,",
                "OLD,2003-01,female,",
            ],
        ),
        "incidents": (
            "incident_id,occurred_at,latitude,longitude,category,theme,source",
            [
                "INC1,2026-01-05T20:00,53.2,-2.2,Criminal exploitation,cce,police",
                "INC2,2026-01-06T20:00,53.2,-2.2,Drugs,county_lines,police",
            ],
        ),
        "intelligence": (
            "intel_id,reported_at,latitude,longitude,category,source_evaluation,intelligence_evaluation,handling,persons",
            ["INT1,2026-02-01T10:00,,,Child criminal exploitation,2,B,P,AD;K3"],
        ),
        "missing": (
            "episode_id,person_id,started_at,ended_at,missing_type,found_latitude,found_longitude,found_with",
            ["M1,K2,2026-01-08T18:00,2026-01-09T02:00,missing,53.4,-2.0,AD"],
        ),
        "screenings": (
            "person_id,screened_at,tool,risk_level",
            ["K1,2026-01-10T10:00,full,high", "K2,2025-01-01T10:00,full,high", "K2,2026-01-01T10:00,full,low"],
        ),
        "referrals": (
            "person_id,referred_at,type,outcome",
            ["K4,2026-02-10T10:00,nrm,awaiting decision", "OLD,2026-01-01T10:00,nrm,", "K1,2026-01-02T10:00,mace,"],
        ),
    }
    for kind, (header, rows) in files.items():
        ingest_file(con, kind, write_csv(tmp_path / f"{kind}.csv", header, rows), settings=settings)
    search = write_csv(
        tmp_path / "2026-01-cheshire-stop-and-search.csv",
        SEARCH,
        [
            "Person search,2026-01-20T16:00:00+00:00,,,53.3,-2.3,Male,10-17,,,Misuse of Drugs Act 1971 (section 23),"
            "Controlled drugs,Arrest,True,False"
        ],
    )
    ingest_one(con, "police-uk-stop-search", search, settings=settings)
    search_id = con.execute("select search_id from raw.stop_searches").fetchone()[0]
    involvements = [
        "K1,INC1,incident,victim",
        "AD,INC1,incident,suspect",
        "K2,INC2,incident,witness",
        f"K2,{search_id},stop_search,subject",
    ]
    ingest_file(
        con,
        "involvements",
        write_csv(tmp_path / "involvements.csv", "person_id,event_id,event_type,role", involvements),
        settings=settings,
    )
    cell = h3.latlng_to_cell(*PLACE, settings.hotspots.h3_resolution)
    write_mart(
        con,
        "locations_of_concern",
        pd.DataFrame({"rank": [1], "unit_id": [cell], "name": ["Station Road"], "score": [0.9],
                      "latitude": [PLACE[0]], "longitude": [PLACE[1]]}),
    )  # fmt: skip
    write_mart(con, "graph_adults_of_concern", _adults_mart())
    return con, search_id


def _adults_mart() -> pd.DataFrame:
    """marts.graph_adults_of_concern with every declared column: AD flagged, AX listed but not flagged."""
    return pd.DataFrame(
        {
            "person_id": ["AD", "AX"],
            "age_band": ["adult", "adult"],
            "children_linked": [3, 2],
            "child_links": [3, 2],
            "links": [3, 4],
            "expected_by_chance": [0.4, 1.6],
            "p": [0.001, 0.35],
            "q": [0.002, 0.35],
            "flagged": [True, False],
            "finding": ["adult linked to 3 children (more than chance)", "adult linked to 2 children"],
            "score": [2.5, 1.2],
            "looked_after_children": [1, 0],
            "high_risk_children": [1, 0],
            "relations": ["co_involvement:3", "co_involvement:2"],
            "last_seen": pd.to_datetime(["2026-02-01T10:00:00Z", "2026-01-15T10:00:00Z"]),
            "evidence_summary": ["linked to 3 children through 3 items", "linked to 2 children through 2 items"],
        }
    )


def _rows(result) -> dict[str, pd.Series]:
    return {r["person_id"]: r for _, r in result.frame.iterrows()}


def test_each_indicator_names_its_evidence(warehouse, settings):
    con, search_id = warehouse
    rows = _rows(mace_list(con, settings=settings, until="2026-03-31"))
    assert rows["K1"]["indicators_met"] == "flagged_adult; location_of_concern; screening_high"
    assert rows["K1"]["evidence_flagged_adult"] == "in the same incident as AD (INC1 2026-01-05)"
    assert rows["K1"]["evidence_location_of_concern"] == "#1 Station Road: INC1 2026-01-05"
    assert rows["K1"]["evidence_screening_high"] == "high on 2026-01-10 (full)"
    assert rows["K2"]["indicators_met"] == "flagged_adult; location_of_concern; stop_search"
    assert rows["K2"]["evidence_flagged_adult"] == "found with AD (M1 2026-01-08)"
    assert rows["K2"]["evidence_stop_search"] == f"{search_id} 2026-01-20 (Controlled drugs, Arrest)"
    assert pd.isna(rows["K2"]["evidence_screening_high"])  # high once, but the latest screening is low
    assert rows["K3"]["evidence_flagged_adult"] == "in the same intelligence as AD (INT1 2026-02-01, graded 2B)"
    assert rows["K4"]["evidence_nrm_referral"] == "NRM 2026-02-10: awaiting decision"


def test_order_and_who_is_listed(warehouse, settings):
    con, _ = warehouse
    result = mace_list(con, settings=settings, until="2026-03-31")
    frame = result.frame
    # three indicators each (strength 6): K2's latest evidence is later; then one each: NRM 10 Feb before 1 Feb
    assert frame["person_id"].tolist() == ["K2", "K1", "K4", "K3"]
    assert frame["indicators"].tolist() == [3, 3, 1, 1] and frame["strength"].tolist() == [6.0, 6.0, 3.0, 3.0]
    assert frame["rank"].tolist() == [1, 2, 3, 4]
    assert pd.isna(frame.set_index("person_id").at["K3", "age_years"])  # no birth date: listed, age unknown
    assert result.notes == []  # graph and places were both there
    # OLD (23, NRM referral) is listed only when [mace] max_age reaches 18-24-year-olds
    older = mace_list(con, settings=replace(settings, mace=MaceSettings(max_age=25)), until="2026-03-31").frame
    assert older.set_index("person_id").at["OLD", "age_years"] == 23


def test_indicators_and_weights_are_configurable(warehouse, settings):
    con, _ = warehouse
    only_nrm = replace(settings, mace=MaceSettings(indicators=("nrm_referral",)))
    frame = mace_list(con, settings=only_nrm, until="2026-03-31").frame
    assert frame["person_id"].tolist() == ["K4"]
    assert [c for c in frame.columns if c.startswith("evidence_")] == ["evidence_nrm_referral"]
    places_first = MaceSettings(weights={"location_of_concern": 10.0})
    order = mace_list(con, settings=replace(settings, mace=places_first), until="2026-03-31").frame
    assert order["strength"].tolist()[:2] == [15.0, 15.0]
    with pytest.raises(Exception, match="indicators must be some of"):
        MaceSettings(indicators=("absent",))


def test_flagged_adults_come_from_the_graph_mart(warehouse, settings):
    con, _ = warehouse
    assert flagged_adults(con).ids == frozenset({"AD"})  # AX is listed but not flagged
    none = FlaggedAdults()
    result = mace_list(con, settings=settings, until="2026-03-31", flagged=none)
    assert "Flagged adults not assessed" in result.notes[0]
    assert "K3" not in set(result.frame["person_id"])
    con.execute("drop table marts.graph_adults_of_concern")
    assert not flagged_adults(con).assessed


def test_evidence_window(warehouse, settings):
    con, _ = warehouse
    frame = mace_list(con, settings=settings, since="2026-02", until="2026-02").frame.set_index("person_id")
    # events and referrals in February only; a screening is a state: the latest up to the end of February
    assert frame["indicators_met"].to_dict() == {"K4": "nrm_referral", "K3": "flagged_adult", "K1": "screening_high"}


def test_places_list_exact_for_the_panel_and_suppressed_for_steering(warehouse, settings):
    con, _ = warehouse
    result = mace_list(con, settings=settings, until="2026-03-31")
    panel = mace_places(result, settings=settings)
    assert panel[["rank", "name", "children_linked", "mace_children", "events_linked"]].values.tolist() == [
        [1, "Station Road", 2, 2, 2]
    ]
    steering = mace_places(result, settings=settings, steering=True)
    assert steering[["children_linked", "mace_children", "events_linked"]].values.tolist() == [["<5", "<5", "<5"]]


def test_outputs_use_appropriate_language(warehouse, settings):
    from ctxrisk.analytics.protect.mace import INDICATOR_LABELS

    con, _ = warehouse
    result = mace_list(con, settings=settings, until="2026-03-31")
    text = "\n".join(
        [
            result.frame.to_csv(index=False),
            mace_places(result, settings=settings).to_csv(index=False),
            *result.notes,
            *INDICATOR_LABELS.values(),
        ]
    )
    assert_appropriate(text, where="MACE list")
    assert not re.search(r"\binvolved in\b|\babscond", text, re.IGNORECASE)


def test_planted_networks_lead_the_list_on_the_sample(tmp_path):
    """Data written by `ctxrisk sample` (not for this test): its planted exploited children come first."""
    from support.hotspot_fixtures import sample_warehouse, truth

    from ctxrisk.analytics.protect.links import flagged_adults_from_graph

    settings, path = sample_warehouse(tmp_path / "sample")
    con = connect(settings=settings)
    try:
        flagged = flagged_adults_from_graph(con, settings=settings)
        frame = mace_list(con, settings=settings, until="2026-09-30", flagged=flagged).frame
    finally:
        con.close()
    planted = {child for network in truth()["networks"] for child in network["children"]}
    assert flagged.ids <= set(truth()["adults_of_concern"]) and len(flagged.ids) == 6
    assert len(planted) == 31 and len(planted & set(frame["person_id"])) == 28
    assert frame["person_id"].head(25).isin(planted).all()


def test_rank_at_agrees_with_h3():
    import numpy as np

    from ctxrisk.analytics.protect.links import LocationsOfConcern, rank_at

    centre = h3.latlng_to_cell(53.2, -2.2, 9)
    ring = sorted(set(h3.grid_disk(centre, 1)) - {centre})
    cell_rank = {centre: 1, ring[0]: 2, ring[3]: 3}
    places = LocationsOfConcern(pd.DataFrame(), True, 9, cell_rank)
    rng = np.random.default_rng(7)
    lat, lon = 53.2 + rng.uniform(-0.006, 0.006, 20_000), -2.2 + rng.uniform(-0.01, 0.01, 20_000)
    expected = np.array([cell_rank.get(h3.latlng_to_cell(a, b, 9), -1) for a, b in zip(lat, lon, strict=True)])
    got = rank_at(places, lat, lon)
    assert (got == expected).all() and {1, 2, 3, -1} <= set(got.tolist())


def test_frame_helpers():
    from ctxrisk.analytics.protect.frames import isin, join_by

    s = pd.Series(["a", "b", None, "c"])
    assert isin(s, {"a", "c"}).tolist() == [True, False, False, True]
    assert isin(s, pd.Index(["b"])).tolist() == [False, True, False, False]
    joined = join_by(pd.Series(["k2", "k1", "k2"]), pd.Series(["x", "y", "z"]), "; ")
    assert joined.to_dict() == {"k2": "x; z", "k1": "y"}
    assert join_by(pd.Series([], dtype=str), pd.Series([], dtype=str), ";").empty
