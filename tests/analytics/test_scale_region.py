"""Tests for ctxrisk.analytics.scale (resolution from the data) and ctxrisk.analytics.region (the study region)."""

from __future__ import annotations

import h3
import numpy as np
import pytest

from ctxrisk.analytics.region import data_region, link_distance
from ctxrisk.analytics.scale import choose_resolution, neighbour_spacing_m
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.geo import bng_to_wgs84

E0, N0 = 385_000.0, 360_000.0  # Cheshire, BNG metres


def _lattice(step: float, side: int) -> tuple[np.ndarray, np.ndarray]:
    g = np.arange(side) * step
    e, n = np.meshgrid(E0 + g, N0 + g)
    return e.ravel(), n.ravel()


def test_spacing_of_the_events_picks_the_resolution():
    assert [round(neighbour_spacing_m(r)) for r in (8, 9, 10)] == [920, 348, 131]
    fine = choose_resolution(*_lattice(100.0, 20))  # 3 x 100 m: only h3:10 (131 m) fits
    assert fine.resolution == 10 and fine.nearest_neighbour_m == pytest.approx(100.0)
    assert "median nearest-neighbour distance of 100 m" in fine.reason() and fine.unit == "h3:10"
    assert choose_resolution(*_lattice(400.0, 10)).resolution == 8  # 1,200 m: h3:8 (920 m)
    assert choose_resolution(*_lattice(5_000.0, 4)).resolution == 7
    assert choose_resolution(*_lattice(10.0, 10)).resolution == 10  # never finer than police.uk's precision
    e, n = _lattice(100.0, 5)
    doubled = choose_resolution(np.r_[e, e], np.r_[n, n])  # snapped duplicates count once
    assert doubled.locations == 25 and doubled.nearest_neighbour_m == pytest.approx(100.0)
    with pytest.raises(ValidationError, match="fewer than two distinct event locations"):
        choose_resolution(np.array([E0, E0]), np.array([N0, N0]))


def test_data_region_hugs_the_events_and_leaves_out_isolated_points():
    rng = np.random.default_rng(0)
    r, t = 2_000 * np.sqrt(rng.random(3_000)), rng.random(3_000) * 2 * np.pi
    e, n = E0 + r * np.cos(t), N0 + r * np.sin(t)
    e, n = np.r_[e, E0 + 60_000, E0 + 60_010], np.r_[n, N0, N0]  # two events 60 km away: out of force
    lat, lon = bng_to_wgs84(e, n)
    region = data_region(np.asarray(lat), np.asarray(lon), resolution=9)
    assert region.kept[:3_000].all() and not region.kept[3_000:].any()
    assert region.groups_kept == 1 and region.groups_dropped == 1
    area = sum(h3.cell_area(c, "km^2") for c in region.cells)
    assert 0.9 * np.pi * 4 < area < 1.25 * np.pi * 4  # the 2 km disc, no ring of empty cells around it
    assert "2 isolated event(s) in 1 small group(s) left out" in region.describe(9)
    assert link_distance(e[:3_000], n[:3_000]) == 1_000.0  # dense events: the 1 km floor


def test_data_region_needs_events():
    with pytest.raises(ValidationError, match="no located events"):
        data_region(np.array([]), np.array([]), resolution=9)


def test_data_region_labels_each_cell_with_its_group_busiest_first():
    rng = np.random.default_rng(1)
    r, t = 1_500 * np.sqrt(rng.random(2_000)), rng.random(2_000) * 2 * np.pi
    e = np.r_[E0 + r[:1_500] * np.cos(t[:1_500]), E0 + 30_000 + r[1_500:] * np.cos(t[1_500:])]
    n = N0 + r * np.sin(t)
    lat, lon = bng_to_wgs84(e, n)
    region = data_region(np.asarray(lat), np.asarray(lon), resolution=9)
    assert region.groups_kept == 2 and region.group_events.tolist() == [1_500, 500]
    east = np.array([h3.cell_to_latlng(c)[1] for c in region.cells]) > float(np.mean(lon))
    assert (region.cell_group == east.astype(int)).all()  # the busier town is group 0
    assert "the 2 groups are more than 1,000 m apart, so each is analysed apart" in region.describe(9)
