"""Tests for ctxrisk.analytics.mannkendall."""

import numpy as np
import pytest

from ctxrisk.analytics.mannkendall import mann_kendall, mann_kendall_many
from ctxrisk.pipelines.errors import ValidationError


def test_strictly_increasing_by_hand():
    r = mann_kendall([1, 2, 3, 4, 5])
    # S = 10, Var S = 5*4*15/18, z = 9 / sqrt(50/3)
    assert r.S == 10
    assert r.var_s == pytest.approx(50 / 3)
    assert r.z == pytest.approx(2.2045407685)
    assert r.p == pytest.approx(0.0274863361)
    assert r.tau == 1.0
    assert r.trend == "increasing"


def test_ties_by_hand():
    r = mann_kendall([1, 2, 2, 3])
    # S = 5; one tie group of 2: Var S = (4*3*13 - 2*1*9)/18 = 138/18
    assert r.S == 5
    assert r.var_s == pytest.approx(138 / 18)
    assert r.z == pytest.approx(4 / np.sqrt(138 / 18))
    assert r.z == pytest.approx(1.4446302)
    assert r.p == pytest.approx(0.1485617749)
    assert r.tau == pytest.approx(5 / 6)
    assert r.trend == "no trend"


def test_decreasing_and_constant():
    r = mann_kendall([9, 7, 7, 4, 3, 1])
    assert r.S == -14
    assert r.z < 0 and r.trend == "decreasing"
    c = mann_kendall([2, 2, 2, 2])
    assert (c.S, c.var_s, c.z, c.p, c.trend) == (0, 0.0, 0.0, 1.0, "no trend")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_pymannkendall(seed):
    pmk = pytest.importorskip("pymannkendall")
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=25).cumsum(), 0)  # rounding makes ties
    ours = mann_kendall(x)
    ref = pmk.original_test(x)
    assert ours.S == ref.s
    assert ours.var_s == pytest.approx(ref.var_s)
    assert ours.z == pytest.approx(ref.z)
    assert ours.p == pytest.approx(ref.p)
    assert ours.tau == pytest.approx(ref.Tau)
    assert ours.trend == ref.trend


def test_many_equals_one_at_a_time():
    rng = np.random.default_rng(4)
    x = rng.integers(0, 4, size=(50, 12)).astype(float)
    many = mann_kendall_many(x)
    for i in (0, 17, 49):
        one = mann_kendall(x[i])
        assert (many.S[i], many.trend[i]) == (one.S, one.trend)
        assert many.p[i] == pytest.approx(one.p)


@pytest.mark.parametrize(
    ("x", "match"),
    [([1, 2], "at least 3"), ([1, np.nan, 3], "finite"), ([[1, 2, 3]], "1-D")],
)
def test_rejects(x, match):
    with pytest.raises(ValidationError, match=match):
        mann_kendall(x)
