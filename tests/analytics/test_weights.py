"""Tests for ctxrisk.analytics.weights."""

import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely

from ctxrisk.analytics.weights import (
    distance_band_weights,
    h3_cells_for_points,
    h3_cells_indexed,
    h3_kring_weights,
    island_mask,
    polygon_contiguity_weights,
    study_region_h3,
)
from ctxrisk.pipelines.errors import ValidationError

MANCHESTER = (53.4794, -2.2453)


def test_h3_cells_for_points_matches_h3():
    cells = h3_cells_for_points([MANCHESTER[0], 51.5072], [MANCHESTER[1], -0.1276], resolution=9)
    assert cells.tolist() == [h3.latlng_to_cell(*MANCHESTER, 9), h3.latlng_to_cell(51.5072, -0.1276, 9)]
    assert cells.dtype.kind == "U"


@pytest.mark.parametrize(
    ("lat", "lon", "kwargs", "match"),
    [
        ([53.0], [-2.0, -2.1], {"resolution": 9}, "same length"),
        ([np.nan], [-2.0], {"resolution": 9}, "missing or out-of-range"),
        ([95.0], [-2.0], {"resolution": 9}, "missing or out-of-range"),
        ([53.0], [-2.0], {"resolution": 16}, "resolution must be"),
    ],
)
def test_h3_cells_for_points_rejects(lat, lon, kwargs, match):
    with pytest.raises(ValidationError, match=match):
        h3_cells_for_points(lat, lon, **kwargs)


def test_study_region_buffer_includes_zero_count_cells():
    c = h3.latlng_to_cell(*MANCHESTER, 9)
    region = study_region_h3([c, c], resolution=9, buffer_k=2)
    assert len(region) == 19  # 1 + 6 + 12 cells within two steps
    assert c in region.tolist()
    assert region.tolist() == sorted(region.tolist())
    assert len(study_region_h3([c], resolution=9, buffer_k=0)) == 1


def test_study_region_boundary_covers_polygon_and_drops_outside_cells():
    box = shapely.box(-2.26, 53.47, -2.23, 53.49)
    inside = h3.latlng_to_cell(53.48, -2.245, 9)
    outside = h3.latlng_to_cell(51.5, -0.12, 9)
    region = study_region_h3([inside, outside], resolution=9, boundary=box)
    assert inside in region.tolist() and outside not in region.tolist()
    centre_only = h3.h3shape_to_cells(h3.LatLngPoly([(y, x) for x, y in box.exterior.coords[:-1]]), 9)
    assert set(centre_only) <= set(region.tolist())  # "overlap" covers at least the centre cells
    assert len(region) > len(centre_only)
    gdf = gpd.GeoDataFrame(geometry=[box], crs=4326).to_crs(27700)
    assert study_region_h3([inside], resolution=9, boundary=gdf).tolist() == region.tolist()


def test_study_region_rejects_wrong_resolution():
    c = h3.latlng_to_cell(*MANCHESTER, 8)
    with pytest.raises(ValidationError, match="resolution 8, expected 9"):
        study_region_h3([c], resolution=9)


def test_h3_kring_weights_symmetric_binary_no_self():
    c = h3.latlng_to_cell(*MANCHESTER, 9)
    region = study_region_h3([c], resolution=9, buffer_k=1)
    w = h3_kring_weights(region, k=1)
    centre = region.tolist().index(c)
    assert w.shape == (7, 7)
    assert (w != w.T).nnz == 0
    assert w.diagonal().sum() == 0
    assert set(w.data.tolist()) == {1.0}
    counts = np.diff(w.indptr)
    assert counts[centre] == 6
    assert sorted(counts.tolist()) == [3, 3, 3, 3, 3, 3, 6]


def test_h3_kring_weights_islands_and_errors():
    a = h3.latlng_to_cell(*MANCHESTER, 9)
    b = h3.latlng_to_cell(51.5, -0.12, 9)
    w = h3_kring_weights([a, b])
    assert island_mask(w).tolist() == [True, True]
    with pytest.raises(ValidationError, match="unique"):
        h3_kring_weights([a, a])
    with pytest.raises(ValidationError, match="k must be"):
        h3_kring_weights([a], k=0)


def test_polygon_contiguity_queen_and_rook():
    # 2x2 grid plus one detached square: corner-touching squares differ between rules.
    polys = [
        shapely.box(0, 0, 1, 1),
        shapely.box(1, 0, 2, 1),
        shapely.box(0, 1, 1, 2),
        shapely.box(1, 1, 2, 2),
        shapely.box(5, 5, 6, 6),
    ]
    gdf = gpd.GeoDataFrame(geometry=polys, crs=27700)
    queen = polygon_contiguity_weights(gdf, rule="queen").toarray()
    rook = polygon_contiguity_weights(gdf, rule="rook").toarray()
    assert queen.sum(axis=1).tolist() == [3, 3, 3, 3, 0]
    assert rook.sum(axis=1).tolist() == [2, 2, 2, 2, 0]
    assert queen[0, 3] == 1 and rook[0, 3] == 0
    assert island_mask(rook).tolist() == [False] * 4 + [True]


def test_polygon_contiguity_rejects_bad_input():
    with pytest.raises(ValidationError, match="rule must be"):
        polygon_contiguity_weights(gpd.GeoSeries([shapely.box(0, 0, 1, 1)]), rule="bishop")
    with pytest.raises(ValidationError, match="row 1 is Point"):
        polygon_contiguity_weights(gpd.GeoSeries([shapely.box(0, 0, 1, 1), shapely.Point(0, 0)]))


def test_distance_band_inclusive_threshold():
    w = distance_band_weights([0, 400, 800.5, 5000], [0, 0, 0, 0], threshold_m=400)
    assert w.toarray().tolist() == [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert island_mask(w).tolist() == [False, False, True, True]


def test_distance_band_matches_brute_force():
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 2000, 200), rng.uniform(0, 2000, 200)
    w = distance_band_weights(x, y, threshold_m=250).toarray()
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    expected = (d <= 250).astype(float)
    np.fill_diagonal(expected, 0)
    assert np.array_equal(w, expected)


def test_distance_band_rejects():
    with pytest.raises(ValidationError, match="positive number"):
        distance_band_weights([0, 1], [0, 1], threshold_m=0)
    with pytest.raises(ValidationError, match="finite"):
        distance_band_weights([0, np.nan], [0, 1], threshold_m=10)


def test_h3_cells_indexed_names_each_cell_once_and_points_to_it():
    lat = [MANCHESTER[0], 51.5072, MANCHESTER[0] + 1e-6, 51.5072]
    lon = [MANCHESTER[1], -0.1276, MANCHESTER[1], -0.1276]
    cells, index = h3_cells_indexed(lat, lon, resolution=9)
    assert cells.tolist() == sorted({h3.latlng_to_cell(a, b, 9) for a, b in zip(lat, lon, strict=False)})
    assert cells[index].tolist() == [h3.latlng_to_cell(a, b, 9) for a, b in zip(lat, lon, strict=False)]
    assert index.dtype == np.int64 and index[1] == index[3]
    empty_cells, empty_index = h3_cells_indexed([], [], resolution=9)
    assert empty_cells.size == 0 and empty_index.size == 0


def test_h3_cells_indexed_in_chunks_places_every_point_as_in_one_pass(monkeypatch):
    import ctxrisk.analytics.weights as weights

    lat = [MANCHESTER[0], 51.5072, MANCHESTER[0] + 1e-6, 51.5072, 53.0, 52.1, 53.0]
    lon = [MANCHESTER[1], -0.1276, MANCHESTER[1], -0.1276, -2.0, -1.5, -2.0]
    whole = h3_cells_indexed(lat, lon, resolution=9)
    monkeypatch.setattr(weights, "_POINT_CHUNK", 3)  # passes of 3, 3 and 1 points
    cells, index = h3_cells_indexed(lat, lon, resolution=9)
    assert cells.tolist() == whole[0].tolist() and index.tolist() == whole[1].tolist()
    assert cells[index].tolist() == [h3.latlng_to_cell(a, b, 9) for a, b in zip(lat, lon, strict=False)]
