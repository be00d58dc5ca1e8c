"""Tests for ctxrisk.analytics.backtest."""

import math

import numpy as np
import pytest

from ctxrisk.analytics.backtest import backtest
from ctxrisk.pipelines.errors import ValidationError

COUNTS = np.array([5, 0, 3, 0, 0, 1, 0, 0, 1, 0], dtype=float)
AREA = np.ones(10)


def mask(*idx, n=10):
    m = np.zeros(n, dtype=bool)
    m[list(idx)] = True
    return m


def test_perfect_flagging():
    r = backtest(mask(0, 2), AREA, COUNTS)
    assert (r.hit_rate, r.pai, r.pei) == pytest.approx((0.8, 4.0, 1.0))
    assert (r.captured, r.total, r.max_captured, r.n_flagged) == (8.0, 10.0, 8.0, 2)
    assert r.area_share == pytest.approx(0.2)


def test_imperfect_flagging_by_hand():
    r = backtest(mask(0, 5), AREA * 250_000.0, COUNTS)  # areas in m2 change nothing
    # n = 6 of N = 10 on 2 of 10 units; the best 2 units hold 8
    assert (r.hit_rate, r.pai, r.pei) == pytest.approx((0.6, 3.0, 0.75))


def test_unequal_areas_use_fractional_bound():
    r = backtest(np.array([True, False, False]), np.array([1.0, 2.0, 1.0]), np.array([2.0, 6.0, 1.0]))
    # n = 2 of 9; a/A = 1/4 -> PAI = (2/9)/(1/4); best density is unit 1 (3 per area): half of it = 3 events
    assert r.pai == pytest.approx(8 / 9)
    assert r.max_captured == pytest.approx(3.0)
    assert r.pei == pytest.approx(2 / 3)


def test_nothing_flagged_is_nan():
    r = backtest(np.zeros(10, dtype=bool), AREA, COUNTS)
    assert r.hit_rate == 0.0 and math.isnan(r.pai) and math.isnan(r.pei)


@pytest.mark.parametrize(
    ("flagged", "area", "counts", "match"),
    [
        (mask(0), AREA, np.zeros(10), "no events"),
        (mask(0), np.r_[AREA[:9], 0.0], COUNTS, "positive"),
        (mask(0), AREA, np.r_[COUNTS[:9], -1.0], "non-negative"),
        (np.ones(10), AREA, COUNTS, "boolean"),
        (mask(0), AREA[:9], COUNTS, "one length"),
    ],
)
def test_rejects(flagged, area, counts, match):
    with pytest.raises(ValidationError, match=match):
        backtest(flagged, area, counts)
