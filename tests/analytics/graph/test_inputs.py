"""Tests for ctxrisk.analytics.graph.inputs: loader from DuckDB, time bounds, input validation."""

import datetime as dt

import duckdb
import pandas as pd
import pytest

from ctxrisk.analytics.graph.inputs import GraphInputs, as_id_list, load_graph_inputs, parse_bound
from ctxrisk.pipelines.errors import ValidationError


@pytest.fixture
def con():
    con = duckdb.connect(":memory:")
    for schema in ("raw", "staging"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute(
        "CREATE TABLE staging.persons (person_id VARCHAR, birth_year_month VARCHAR, sex VARCHAR, looked_after BOOLEAN)"
    )
    con.execute("INSERT INTO staging.persons VALUES ('c1','2009-01','female',true), ('a1','1990-05','male',NULL)")
    con.execute(
        "CREATE TABLE staging.involvements (person_id VARCHAR, event_id VARCHAR, event_type VARCHAR, role VARCHAR, "
        "occurred_at TIMESTAMPTZ, age_band VARCHAR, latitude DOUBLE, longitude DOUBLE, easting DOUBLE, northing DOUBLE)"
    )
    con.execute(
        "INSERT INTO staging.involvements VALUES "
        "('c1','i1','incident','victim','2024-01-10 12:00:00+00','child',51.5,-0.1,NULL,NULL),"
        "('a1','i1','incident','suspect','2024-01-10 12:00:00+00','adult',51.5,-0.1,NULL,NULL),"
        "('a1','i2','incident','suspect','2023-05-01 12:00:00+00','adult',NULL,NULL,NULL,NULL)"
    )
    con.execute(
        "CREATE TABLE raw.missing_episodes (episode_id VARCHAR, person_id VARCHAR, started_at TIMESTAMPTZ, "
        "ended_at TIMESTAMPTZ, found_with VARCHAR[])"
    )
    con.execute("INSERT INTO raw.missing_episodes VALUES ('m1','c1','2024-02-01 00:00:00+00',NULL,['a1'])")
    con.execute(
        "CREATE TABLE raw.associations (person_a VARCHAR, person_b VARCHAR, relation VARCHAR, observed_at TIMESTAMPTZ, "
        "source_evaluation VARCHAR, intelligence_evaluation VARCHAR, handling VARCHAR)"
    )
    con.execute(
        "INSERT INTO raw.associations VALUES ('a1','c1','knows',NULL,NULL,NULL,NULL), "
        "('a1','c1','phone_contact','2022-01-01 00:00:00+00','2','B','P')"
    )
    con.execute(
        "CREATE TABLE raw.screenings (person_id VARCHAR, screened_at TIMESTAMPTZ, tool VARCHAR, risk_level VARCHAR)"
    )
    con.execute(
        "INSERT INTO raw.screenings VALUES ('c1','2023-06-01 00:00:00+00','full','low'), "
        "('c1','2025-06-01 00:00:00+00','full','high')"
    )
    yield con
    con.close()


def test_load_reads_every_table_and_derives_locations(con):
    inputs = load_graph_inputs(con)
    assert len(inputs.persons) == 2
    assert len(inputs.involvements) == 3
    assert list(inputs.missing_episodes["found_with"].map(as_id_list)) == [["a1"]]
    assert len(inputs.associations) == 2
    assert len(inputs.screenings) == 2
    assert inputs.intelligence.empty  # warehouse without raw.intelligence reads as empty
    # two located involvements in one H3 cell, the unlocated one gives no link
    assert len(inputs.person_locations) == 2
    assert inputs.person_locations["location_id"].nunique() == 1
    assert inputs.person_locations["location_id"].iloc[0].startswith("h3:89")
    assert str(inputs.involvements["occurred_at"].dtype) == "datetime64[us, UTC]"


def test_involvements_come_in_key_order_whatever_the_view_gives(con):
    # the staging view unions and joins, so its order varies; the graph's node order must not
    con.execute(
        "INSERT INTO staging.involvements VALUES "
        "('b2','i0','incident','witness','2024-01-09 12:00:00+00','adult',NULL,NULL,NULL,NULL)"
    )
    frame = load_graph_inputs(con).involvements
    assert list(zip(frame["event_id"], frame["person_id"], strict=True)) == [
        ("i0", "b2"),
        ("i1", "a1"),
        ("i1", "c1"),
        ("i2", "a1"),
    ]
    assert str(frame["occurred_at"].dtype) == "datetime64[us, UTC]"
    assert str(load_graph_inputs(con).person_locations["linked_at"].dtype) == "datetime64[us, UTC]"


def test_load_window(con):
    inputs = load_graph_inputs(con, since="2024-01-01", until="2024-12-31", location_resolution=None)
    assert sorted(inputs.involvements["event_id"]) == ["i1", "i1"]
    assert len(inputs.missing_episodes) == 1
    # the undated association is kept, the 2022 one is outside the window
    assert list(inputs.associations["relation"]) == ["knows"]
    # screenings are kept up to `until` whatever `since` is; the 2025 one is after it
    assert list(inputs.screenings["risk_level"]) == ["low"]
    assert inputs.person_locations.empty


def test_load_rejects_bad_resolution(con):
    with pytest.raises(ValidationError, match="H3 resolution"):
        load_graph_inputs(con, location_resolution=16)


def test_parse_bound_date_only_until_includes_the_day():
    assert parse_bound("2024-12-31", end=True) == pd.Timestamp("2025-01-01T00:00:00Z")
    # naive times are Europe/London: 1 July 10:00 BST is 09:00 UTC
    assert parse_bound("2024-07-01T10:00") == pd.Timestamp("2024-07-01T09:00:00Z")
    assert parse_bound(dt.date(2024, 7, 1), end=True) == pd.Timestamp("2024-07-01T23:00:00Z")
    assert parse_bound(None) is None
    with pytest.raises(ValidationError, match="cannot read 'soon'"):
        parse_bound("soon")


def test_inputs_validate_columns():
    with pytest.raises(ValidationError, match=r"'associations' lacks required column\(s\) \['relation'\]"):
        GraphInputs(associations=pd.DataFrame({"person_a": ["a"], "person_b": ["b"]}))


def test_naive_input_times_are_london():
    inv = pd.DataFrame(
        {
            "person_id": ["a"],
            "event_id": ["e"],
            "event_type": ["incident"],
            "role": ["suspect"],
            "occurred_at": ["2024-07-01 10:00"],
        }
    )
    inputs = GraphInputs(involvements=inv)
    assert inputs.involvements["occurred_at"].iloc[0] == pd.Timestamp("2024-07-01T09:00:00Z")


def test_as_id_list():
    assert as_id_list("a; b;;c") == ["a", "b", "c"]
    assert as_id_list(None) == []
    assert as_id_list(float("nan")) == []
    assert as_id_list(["x", None]) == ["x"]
