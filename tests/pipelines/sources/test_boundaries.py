"""Boundary layers in every supported format, and point-in-polygon assignment of events to areas."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from support import shared_data_path

from ctxrisk.pipelines.areas import assign_event_areas
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.runner import ingest_one
from ctxrisk.pipelines.sources.boundaries import read_boundaries


def verified(name: str) -> Path:
    path = shared_data_path("boundaries", name)
    sums = dict(line.split()[::-1] for line in (path.parent / "SHA256SUMS").read_text().splitlines() if line.strip())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sums[name]
    return path


def count(con, sql: str) -> int:
    return con.execute(sql).fetchone()[0]


@pytest.mark.parametrize(
    ("name", "level", "code_field", "features", "example"),
    [
        ("cheshire_east_E06000049_lsoa2011.geojson", "lsoa11", None, 234, None),
        ("cheshire_east_E06000049_msoa2011.geojson", "msoa", None, 51, None),
        ("cheshire_east_E06000049_wards2013.geojson", "ward", None, 52, None),
        ("england_lad2013_topo.json", "lad", None, 326, ("E06000049", "Cheshire East")),
        ("england_lad_may2024_buc_names_only.geojson", "lad", "name", 296, ("Cheshire East", "Cheshire East")),
        (
            "cheshire_police_force_boundary.kml",
            "force",
            None,
            1,
            ("cheshire_police_force_boundary", "cheshire_police_force_boundary"),
        ),
    ],
)
def test_real_boundary_files_load(name, level, code_field, features, example, settings):
    batch = read_boundaries(verified(name), settings=settings, options={"level": level, "code_field": code_field})
    assert batch.rows_read == features == len(batch.rows)
    assert batch.rejected_records == 0
    assert batch.rows["geometry_wkt"].str.match(r"^(MULTI)?POLYGON \(").all()
    if example:
        assert tuple(batch.rows.loc[batch.rows["code"] == example[0], ["code", "name"]].iloc[0]) == example


def test_imd_deciles_kept_and_reingest_adds_nothing(con, settings):
    path = verified("cheshire_police_area_lsoa2011_imd2019.geojson")
    result = ingest_one(con, "boundaries", path, settings=settings, options={"level": "lsoa11"})
    assert (result.rows_read, result.rows_loaded) == (652, 652)
    assert count(con, "select count(*) from raw.boundaries where imd_decile between 1 and 10") == 652
    assert count(con, "select count(distinct imd_decile) from raw.boundaries") == 10
    again = ingest_one(con, "boundaries", path, settings=settings, options={"level": "lsoa11"})
    assert again.skipped_same_file
    assert count(con, "select count(*) from raw.boundaries") == 652


def test_level_and_code_field_are_checked(settings):
    path = verified("england_lad_may2024_buc_names_only.geojson")
    with pytest.raises(ValidationError, match="no code property found for level lad; pass --code-field"):
        read_boundaries(path, settings=settings, options={"level": "lad"})
    with pytest.raises(ValidationError, match="boundaries need --level"):
        read_boundaries(path, settings=settings, options={"level": "county"})
    with pytest.raises(ValidationError, match="--code-field 'LAD24CD' is not a property"):
        read_boundaries(path, settings=settings, options={"level": "lad", "code_field": "LAD24CD"})


def test_shapefile_geopackage_and_bng_layers(tmp_path, settings):
    layer = gpd.read_file(verified("cheshire_east_E06000049_msoa2011.geojson")).to_crs("EPSG:27700")
    layer.to_file(tmp_path / "msoa.shp")
    layer.to_file(tmp_path / "msoa.gpkg", driver="GPKG")
    wgs = read_boundaries(
        verified("cheshire_east_E06000049_msoa2011.geojson"), settings=settings, options={"level": "msoa"}
    )
    for name in ("msoa.shp", "msoa.gpkg"):
        batch = read_boundaries(tmp_path / name, settings=settings, options={"level": "msoa"})
        assert len(batch.rows) == 51
        assert list(batch.rows["code"]) == list(wgs.rows["code"])
        first = shapely.from_wkt(batch.rows["geometry_wkt"].iloc[0])
        assert first.equals_exact(shapely.from_wkt(wgs.rows["geometry_wkt"].iloc[0]), tolerance=1e-5)


def test_features_without_code_or_polygon_and_duplicates_are_refused(tmp_path, settings):
    data = json.loads(verified("cheshire_east_E06000049_wards2013.geojson").read_text())
    features = data["features"][:5]
    features[1]["properties"]["WD13CD"] = None
    features[2] = json.loads(json.dumps(features[0]))
    features[3]["geometry"] = {"type": "Point", "coordinates": [-2.4, 53.1]}
    data["features"] = features
    path = tmp_path / "w.geojson"
    path.write_text(json.dumps(data))
    batch = read_boundaries(path, settings=settings, options={"level": "ward"})
    assert (batch.rows_read, len(batch.rows), batch.rejected_records) == (5, 2, 3)
    assert list(batch.rejects["reason"]) == [
        "the area has no code",
        "the same area code appears on an earlier feature",
        "not a polygon",
    ]


def test_events_are_assigned_to_areas_and_out_of_area_flagged(tmp_path, con, settings):
    header = "incident_id,occurred_at,latitude,longitude,category\n"
    rows = (
        "in_crewe,2024-01-05,53.0979,-2.4416,cuckooing\n"  # Crewe: inside Cheshire East
        "in_london,2024-01-05,51.5072,-0.1276,cuckooing\n"  # London: outside every loaded area
        "nowhere,2024-01-05,,,cuckooing\n"
    )
    events = tmp_path / "incidents.csv"
    events.write_text(header + rows)
    ingest_one(con, "incidents", events, settings=settings)
    assert count(con, "select count(*) from raw.event_areas") == 0  # no boundaries yet
    ingest_one(
        con,
        "boundaries",
        verified("cheshire_east_E06000049_lsoa2011.geojson"),
        settings=settings,
        options={"level": "lsoa11"},
    )
    ingest_one(
        con, "boundaries", verified("cheshire_police_force_boundary.kml"), settings=settings, options={"level": "force"}
    )
    areas = con.execute("select event_id, level, area_code from raw.event_areas order by 1, 2").fetchall()
    assert [(e, lv) for e, lv, _ in areas] == [("in_crewe", "force"), ("in_crewe", "lsoa11")]
    assert areas[1][2].startswith("E01")
    flags = dict(con.execute("select event_id, out_of_area from staging.events").fetchall())
    assert flags == {"in_crewe": False, "in_london": True, "nowhere": False}
    later = tmp_path / "more.csv"
    later.write_text(header + "in_macclesfield,2024-02-01,53.2587,-2.1270,cuckooing\n")
    ingest_one(con, "incidents", later, settings=settings)
    assert count(con, "select count(*) from raw.event_areas where event_id = 'in_macclesfield'") == 2
    assert assign_event_areas(con, only_new=True) == 0
    assert assign_event_areas(con, only_new=False) == 4


def test_real_street_file_against_the_cheshire_lsoas(con, settings):
    ingest_one(
        con,
        "boundaries",
        verified("cheshire_police_area_lsoa2011_imd2019.geojson"),
        settings=settings,
        options={"level": "lsoa11"},
    )
    ingest_one(
        con,
        "police-uk-street",
        shared_data_path("police_uk", "street", "police-uk-2018-12-merseyside-street.csv"),
        settings=settings,
    )
    # The Merseyside file holds crimes located in Cheshire West and Chester and Halton LSOAs.
    inside = con.execute(
        "select count(*), count(*) filter (where i.lsoa_code = ea.area_code) from raw.event_areas ea "
        "join raw.incidents i on i.incident_id = ea.event_id"
    ).fetchone()
    assert inside[0] > 0
    assert inside[1] >= 0.9 * inside[0]  # police.uk's own LSOA agrees with point-in-polygon for nearly all
    assert count(con, "select count(*) from staging.events where out_of_area") == 12_636 - inside[0]
