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


def test_many_points_are_transformed_on_threads_with_the_same_results(monkeypatch):
    from ctxrisk.pipelines import geo

    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(50, 58, 2_001), rng.uniform(-5, 1, 2_001)
    one_call = wgs84_to_bng(lat, lon)
    monkeypatch.setattr(geo, "THREADED_POINTS", 500)  # 4 slices of about 500 points
    sliced = wgs84_to_bng(lat, lon)
    assert np.array_equal(one_call[0], sliced[0]) and np.array_equal(one_call[1], sliced[1])
    back = bng_to_wgs84(*sliced)
    assert np.allclose(back[0], lat, atol=1e-6) and np.allclose(back[1], lon, atol=1e-6)


def test_one_transformer_per_direction_even_when_threads_race():
    from concurrent.futures import ThreadPoolExecutor

    from ctxrisk.pipelines import geo

    geo._TRANSFORMERS.clear()
    with ThreadPoolExecutor(4) as pool:
        made = list(pool.map(lambda _: geo._transformer(geo.WGS84, geo.BNG), range(8)))
    assert len({id(t) for t in made}) == 1
    assert geo._transformer(geo.BNG, geo.WGS84) is not made[0]
    lat, lon = 52 + 39 / 60 + 28.8282 / 3600, 1 + 42 / 60 + 57.8663 / 3600  # Caister water tower, as above
    easting, northing = wgs84_to_bng(np.array([lat]), np.array([lon]))
    assert easting[0] == pytest.approx(651409.903, abs=5) and northing[0] == pytest.approx(313177.270, abs=5)


def test_warm_up_builds_the_forward_transform_once_on_every_thread(monkeypatch):
    import threading

    from ctxrisk.pipelines import geo

    monkeypatch.setattr(geo, "_WARMED", False)
    monkeypatch.setattr(geo, "_POOL", None)  # a fresh pool: its threads have built nothing yet
    seen = []
    real = geo._transformer

    def spy(src, dst):
        seen.append((threading.get_ident(), src, dst))
        return real(src, dst)

    monkeypatch.setattr(geo, "_transformer", spy)
    geo.warm_up()
    geo.warm_up()  # once per process
    geo._POOL.shutdown(wait=True)
    # The inverse is left for files that give only easting/northing: a small file's transform would wait for it.
    assert {(src, dst) for _, src, dst in seen} == {(geo.WGS84, geo.BNG)}
    assert len(seen) == len({thread for thread, _, _ in seen}) == geo._pool_threads()
