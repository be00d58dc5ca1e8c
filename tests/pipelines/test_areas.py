"""Point-in-polygon assignment of events to areas: edges and ties, per-file assignment, rebuilds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ctxrisk.pipelines.areas import EVENT_SOURCES, AreaIndex, adds_events, assign_event_areas
from ctxrisk.pipelines.runner import ingest_one

# Two unit squares side by side near Crewe (WGS84): B2 (west) and B1 (east) share the edge x = -2.44.
WEST = "POLYGON((-2.45 53.09, -2.44 53.09, -2.44 53.10, -2.45 53.10, -2.45 53.09))"
EAST = "POLYGON((-2.44 53.09, -2.43 53.09, -2.43 53.10, -2.44 53.10, -2.44 53.09))"
BOTH = "POLYGON((-2.45 53.09, -2.43 53.09, -2.43 53.10, -2.45 53.10, -2.45 53.09))"
HEADER = "incident_id,occurred_at,latitude,longitude,category\n"


def add_area(con, level: str, code: str, wkt: str) -> None:
    con.execute(
        "insert into raw.boundaries (level, code, name, geometry_wkt, file_id) values (?, ?, ?, ?, 'f')",
        [level, code, code, wkt],
    )


def areas(con) -> list[tuple[str, str, str]]:
    return con.execute("select event_id, level, area_code from raw.event_areas order by 1, 2").fetchall()


def square_layer(path: Path, features: dict[str, list[list[float]]]) -> Path:
    layer = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"WD13CD": code, "WD13NM": code},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
            for code, ring in features.items()
        ],
    }
    path.write_text(json.dumps(layer))
    return path


def test_index_gives_an_edge_point_to_the_smaller_code_per_level(con):
    add_area(con, "ward", "B2", WEST)
    add_area(con, "ward", "B1", EAST)
    add_area(con, "lad", "L1", BOTH)
    index = AreaIndex.load(con)
    x = np.array([-2.445, -2.435, -2.44, -2.45, -2.50, -2.44])
    y = np.array([53.095, 53.095, 53.095, 53.09, 53.095, 53.10])
    point, polygon = index.locate(x, y)
    found = sorted(
        (int(p), str(index.levels[index.level_of[g]]), str(index.codes[g]))
        for p, g in zip(point, polygon, strict=False)
    )
    assert found == [
        (0, "lad", "L1"),
        (0, "ward", "B2"),
        (1, "lad", "L1"),
        (1, "ward", "B1"),
        (2, "lad", "L1"),
        (2, "ward", "B1"),  # on the shared edge: B1 < B2
        (3, "lad", "L1"),
        (3, "ward", "B2"),  # a corner is on the edge, so inside
        (5, "lad", "L1"),
        (5, "ward", "B1"),  # the shared corner of both squares
    ]


def test_index_without_points_or_hits(con):
    add_area(con, "ward", "B1", EAST)
    index = AreaIndex.load(con)
    for x, y in ((np.zeros(0), np.zeros(0)), (np.array([0.5]), np.array([51.0]))):
        point, polygon = index.locate(x, y)
        assert point.size == 0 and polygon.size == 0


def test_adds_events_names_the_event_tables():
    assert adds_events(["raw.incidents"]) and adds_events(["raw.persons", "raw.missing_episodes"])
    assert not adds_events(["raw.persons", "raw.involvements", "raw.associations"])
    assert [s.event_type for s in EVENT_SOURCES] == ["incident", "missing", "intelligence", "stop_search"]


def test_ingest_assigns_only_the_new_file_and_a_reexport_moves_its_events(tmp_path, con, settings):
    layer = square_layer(
        tmp_path / "wards.geojson",
        {
            "B2": [[-2.45, 53.09], [-2.44, 53.09], [-2.44, 53.10], [-2.45, 53.10], [-2.45, 53.09]],
            "B1": [[-2.44, 53.09], [-2.43, 53.09], [-2.43, 53.10], [-2.44, 53.10], [-2.44, 53.09]],
        },
    )
    first = tmp_path / "first.csv"
    first.write_text(
        HEADER + "a,2024-01-05,53.095,-2.445,cuckooing\n"
        "edge,2024-01-05,53.095,-2.44,cuckooing\n"
        "away,2024-01-05,51.5072,-0.1276,cuckooing\n"
        "nowhere,2024-01-05,,,cuckooing\n"
    )
    ingest_one(con, "incidents", first, settings=settings)
    assert areas(con) == []  # no boundaries yet
    ingest_one(con, "boundaries", layer, settings=settings, options={"level": "ward"})
    assert areas(con) == [("a", "ward", "B2"), ("edge", "ward", "B1")]
    flags = dict(con.execute("select event_id, out_of_area from staging.events").fetchall())
    assert flags == {"a": False, "edge": False, "away": True, "nowhere": False}
    # A corrected re-export moves "a" east: its old area goes, and only this file's events are tested.
    con.execute("insert into raw.event_areas values ('incident', 'away', 'ward', 'stale-but-kept')")
    second = tmp_path / "second.csv"
    second.write_text(HEADER + "a,2024-01-05,53.095,-2.435,cuckooing\nb,2024-01-06,53.091,-2.449,cuckooing\n")
    result = ingest_one(con, "incidents", second, settings=settings)
    assert result.replaced == 1
    assert areas(con) == [
        ("a", "ward", "B1"),
        ("away", "ward", "stale-but-kept"),
        ("b", "ward", "B2"),
        ("edge", "ward", "B1"),
    ]
    # A boundaries ingest rebuilds every assignment.
    again = tmp_path / "again.geojson"
    again.write_text(layer.read_text() + "\n")  # other bytes, so not skipped as already ingested
    ingest_one(con, "boundaries", again, settings=settings, options={"level": "ward"})
    assert areas(con) == [("a", "ward", "B1"), ("b", "ward", "B2"), ("edge", "ward", "B1")]


def test_kinds_without_events_leave_the_assignments_alone(tmp_path, con, settings):
    add_area(con, "ward", "B1", EAST)
    con.execute("insert into raw.event_areas values ('incident', 'gone', 'ward', 'B1')")
    persons = tmp_path / "persons.csv"
    persons.write_text("person_id,birth_year_month\np1,2010-01\n")
    ingest_one(con, "persons", persons, settings=settings)
    # The old re-test of every unassigned event would have removed this assignment of a missing event.
    assert areas(con) == [("gone", "ward", "B1")]


@pytest.mark.parametrize("only_new", [True, False])
def test_whole_warehouse_modes(tmp_path, con, settings, only_new):
    events = tmp_path / "incidents.csv"
    events.write_text(HEADER + "a,2024-01-05,53.095,-2.445,cuckooing\n")
    ingest_one(con, "incidents", events, settings=settings)
    add_area(con, "ward", "B2", WEST)
    con.execute("insert into raw.event_areas values ('incident', 'gone', 'ward', 'B2')")
    assert assign_event_areas(con, only_new=only_new) == 1
    assert areas(con) == [("a", "ward", "B2")]
    assert assign_event_areas(con, only_new=True) == 0
