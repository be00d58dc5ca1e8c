"""Tests for ctxrisk.pipelines.geo: WGS84 <-> British National Grid."""

import numpy as np
import pytest

from ctxrisk.pipelines.geo import bng_to_wgs84, in_gb_bng, in_gb_wgs84, wgs84_to_bng


def test_known_point_caister_water_tower():
    # Ordnance Survey's worked example (A guide to coordinate systems in Great Britain): ETRS89
    # 52°39'28.8282"N 1°42'57.8663"E is E 651409.903 N 313177.270 with OSTN15. Without the grid PROJ uses
    # the Helmert transformation, good to a few metres.
    lat = 52 + 39 / 60 + 28.8282 / 3600
    lon = 1 + 42 / 60 + 57.8663 / 3600
    e, n = wgs84_to_bng(np.array([lat]), np.array([lon]))
    assert e[0] == pytest.approx(651409.903, abs=5)
    assert n[0] == pytest.approx(313177.270, abs=5)


def test_known_point_crewe_station_round_trip():
    lat, lon = np.array([53.0893]), np.array([-2.4330])
    e, n = wgs84_to_bng(lat, lon)
    # Crewe station lies near SJ 711 546 on the OS grid.
    assert e[0] == pytest.approx(371100, abs=300)
    assert n[0] == pytest.approx(354600, abs=300)
    lat2, lon2 = bng_to_wgs84(e, n)
    assert lat2[0] == pytest.approx(lat[0], abs=1e-7)
    assert lon2[0] == pytest.approx(lon[0], abs=1e-7)


def test_bounds_masks():
    assert in_gb_wgs84(np.array([53.1, 2.4]), np.array([-2.4, 53.1])).tolist() == [True, False]
    assert in_gb_bng(np.array([370000.0, -5.0]), np.array([355000.0, 100.0])).tolist() == [True, False]


def test_many_points_round_trip():
    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(50, 58, 2_001), rng.uniform(-5, 1, 2_001)
    back = bng_to_wgs84(*wgs84_to_bng(lat, lon))
    assert np.allclose(back[0], lat, atol=1e-6) and np.allclose(back[1], lon, atol=1e-6)
