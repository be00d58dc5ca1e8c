"""Tests for maps.disclosure: suppression, snapping to H3 cells and areas, and leak scanning."""

from __future__ import annotations

import geopandas as gpd
import h3
import pandas as pd
import pytest
from shapely.geometry import Point, box

from maps.disclosure import (
    Leak,
    h3_cell_centres,
    scan_for_leaks,
    snap_to_areas,
    snap_to_h3,
    suppress_count,
    suppress_counts,
)
from pipelines.errors import ValidationError


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
    areas = gpd.GeoDataFrame(
        {"code": ["E02", "E01"]}, geometry=[box(1, 0, 2, 1), box(0, 0, 1, 1)], crs=27700
    )
    points = gpd.GeoDataFrame(geometry=[Point(0.5, 0.5), Point(1, 0.5), Point(1.5, 0.2), Point(5, 5)], crs=27700, index=[10, 11, 12, 13])
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


def test_scan_finds_coordinate_pairs_in_either_order_rounded_or_truncated():
    html = (
        "L.circleMarker([53.79974, -1.54927])"  # full precision, Leaflet order
        ' "coordinates": [-1.5493, 53.7997]'  # GeoJSON order, rounded
        " [53.7997] is not next to [-1.54927]"
    )
    leaks = scan_for_leaks(html, person_ids=[], coordinates=[(53.799741, -1.549271)])
    assert [(leak.value, leak.position) for leak in leaks] == [("53.7997,-1.5492", 16), ("53.7997,-1.5493", 53)]
    assert all(isinstance(leak, Leak) and leak.kind == "coordinate" for leak in leaks)


def test_scan_ignores_sign_flip_and_other_numbers():
    html = "[53.7997, 1.5492] [153.7997, -1.5492] [53.79971234, -1.54929]"
    leaks = scan_for_leaks(html, person_ids=[], coordinates=pd.DataFrame({"latitude": [53.7997], "longitude": [-1.5492]}))
    assert [leak.position for leak in leaks] == [html.index("[53.7997123") + 1]


def test_scan_decimals_bounds():
    with pytest.raises(ValidationError, match="decimals must be 1-10"):
        scan_for_leaks("", person_ids=[], coordinates=[], decimals=0)
