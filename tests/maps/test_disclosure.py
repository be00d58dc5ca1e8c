"""Tests for ctxrisk.maps.disclosure: suppression, snapping to H3 cells and areas, and leak scanning."""

from __future__ import annotations

import geopandas as gpd
import h3
import pandas as pd
import pytest
from shapely.geometry import Point, box

from ctxrisk.maps.disclosure import (
    Leak,
    h3_cell_centres,
    scan_for_leaks,
    snap_to_areas,
    snap_to_h3,
    suppress_count,
    suppress_counts,
)
from ctxrisk.pipelines.errors import ValidationError


def test_suppress_counts_keeps_index_and_hides_small_counts():
    out = suppress_counts(pd.Series([0, 1, 4, 5, 12, 1204.0], index=list("abcdef"), name="count"))
    assert out.to_dict() == {"a": "<5", "b": "<5", "c": "<5", "d": "5", "e": "12", "f": "1,204"}
    assert out.name == "count"


def test_suppress_counts_other_threshold_and_iterables():
    assert suppress_counts([2, 3, 10], threshold=3).tolist() == ["<3", "3", "10"]
    assert suppress_count(7, threshold=10) == "<10"
    assert suppress_count(10) == "10"


@pytest.mark.parametrize("bad", [[1, None], [1, -2], [1.5], ["x"]])
def test_suppress_counts_refuses_non_counts(bad):
    with pytest.raises(ValidationError, match="whole numbers >= 0"):
        suppress_counts(bad)


@pytest.mark.parametrize("threshold", [0, -1, 2.5, True])
def test_suppress_counts_refuses_bad_threshold(threshold):
    with pytest.raises(ValidationError, match="threshold must be a whole number"):
        suppress_counts([1], threshold=threshold)


def test_snap_to_h3_and_centres_round_trip():
    cells = snap_to_h3([53.7997, 53.8008], [-1.5492, -1.5401], resolution=9)
    assert list(cells) == [h3.latlng_to_cell(53.7997, -1.5492, 9), h3.latlng_to_cell(53.8008, -1.5401, 9)]
    centres = h3_cell_centres(cells)
    assert list(centres.columns) == ["unit_id", "latitude", "longitude"]
    assert list(snap_to_h3(centres["latitude"], centres["longitude"], resolution=9)) == list(cells)
    # the centre is not the event point
    assert abs(centres.loc[0, "latitude"] - 53.7997) > 1e-5


def test_snap_to_h3_refuses_bad_input():
    with pytest.raises(ValidationError, match="resolution must be 0-15"):
        snap_to_h3([53.8], [-1.5], resolution=16)
    with pytest.raises(ValidationError, match="differ in length"):
        snap_to_h3([53.8, 53.9], [-1.5], resolution=9)
    with pytest.raises(ValidationError, match="not an H3 cell id: 'E01011229'"):
        h3_cell_centres(["E01011229"])


def test_snap_to_areas_border_goes_to_smallest_code_and_outside_is_na():
    areas = gpd.GeoDataFrame({"code": ["E02", "E01"]}, geometry=[box(1, 0, 2, 1), box(0, 0, 1, 1)], crs=27700)
    points = gpd.GeoDataFrame(
        geometry=[Point(0.5, 0.5), Point(1, 0.5), Point(1.5, 0.2), Point(5, 5)], crs=27700, index=[10, 11, 12, 13]
    )
    out = snap_to_areas(points, areas)
    assert out.index.tolist() == [10, 11, 12, 13]
    assert out.iloc[:3].tolist() == ["E01", "E01", "E02"]
    assert pd.isna(out.iloc[3])
    with pytest.raises(ValidationError, match="no 'lsoa' column"):
        snap_to_areas(points, areas, code_column="lsoa")


def test_scan_finds_person_ids_as_whole_tokens_only():
    html = 'popup("seen with p_ab12.") p_ab123 xp_ab12 {"id": "p_ab12"}'
    leaks = scan_for_leaks(html, person_ids=["p_ab12"], coordinates=[])
    assert [(leak.kind, leak.value, leak.position) for leak in leaks] == [
        ("person_id", "p_ab12", 17),
        ("person_id", "p_ab12", 51),
    ]


def test_scan_finds_coordinate_pairs_in_either_order_at_printed_precision():
    html = (
        "L.circleMarker([53.79974, -1.54927])"  # 5 places, Leaflet order
        ' "coordinates": [-1.5493, 53.7997]'  # GeoJSON order, rounded to 4 places
        ' {"lat": 53.799741, "lng": -1.549271}'  # full precision
        " [53.7997] is not next to [-1.54927]"
    )
    leaks = scan_for_leaks(html, person_ids=[], coordinates=[(53.799741, -1.549271)])
    assert [(leak.value, leak.position) for leak in leaks] == [
        ("53.79974,-1.54927", 16),
        ("53.7997,-1.5493", 53),
        ("53.799741,-1.549271", 79),
    ]
    assert all(isinstance(leak, Leak) and leak.kind == "coordinate" for leak in leaks)


def test_scan_ignores_sign_flip_other_numbers_and_nearby_vertices():
    html = (
        "[53.7997, 1.5492] [153.7997, -1.5492]"  # sign flip; 153 is not 53
        " [53.799712, -1.549209]"  # a vertex 1.4 m away, printed to 6 places
        " [53.799, -1.549]"  # too coarse to compare
        " [53.79700, -1.54920]"  # the event itself, 5 places
    )
    coords = pd.DataFrame({"latitude": [53.797], "longitude": [-1.5492]})
    leaks = scan_for_leaks(html, person_ids=[], coordinates=coords)
    assert [(leak.value, leak.position) for leak in leaks] == [("53.79700,-1.54920", html.index("[53.79700") + 1)]


def test_scan_many_ids_in_one_pass_with_unusual_ids():
    ids = [f"p_{i:016x}" for i in range(500)] + ["ssd:1204.7", "-odd"]
    html = f"a p_{7:016x} b ssd:1204.7. c ssd:1204.77 d x-odd -odd"
    leaks = scan_for_leaks(html, person_ids=ids, coordinates=[])
    assert [(leak.value, leak.position) for leak in leaks] == [
        (f"p_{7:016x}", 2),
        ("ssd:1204.7", 23),
        ("-odd", 57),
    ]


def test_scan_decimals_bounds():
    with pytest.raises(ValidationError, match="decimals must be 1-10"):
        scan_for_leaks("", person_ids=[], coordinates=[], decimals=0)
