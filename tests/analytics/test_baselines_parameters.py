"""Tests for ctxrisk.analytics.baselines (case-control and rate Gi*) and ctxrisk.analytics.parameters."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from ctxrisk.analytics.baselines import BaselineGi
from ctxrisk.analytics.gistar import auto_permutations
from ctxrisk.analytics.parameters import HotspotParameters
from ctxrisk.pipelines.errors import ValidationError


def _path(n: int) -> sp.csr_matrix:
    i = np.arange(n - 1)
    return sp.csr_matrix((np.ones(2 * (n - 1)), (np.r_[i, i + 1], np.r_[i + 1, i])), shape=(n, n))


def test_case_control_is_the_hypergeometric_tail_of_the_star():
    b = BaselineGi([3, 0, 0], [3, 3, 3], _path(3), kind="all-incidents")
    # unit 0: star {0, 1} holds 6 of 9 incidents and all 3 cases; P(X >= 3) = C(6,3) / C(9,3) = 20 / 84
    assert b.p[0] == pytest.approx(20 / 84) and b.expected[0] == pytest.approx(2.0)
    assert b.z[0] == pytest.approx(1 / np.sqrt(0.5))  # var = 6 (1/3) (2/3) (9 - 6) / 8 = 0.5
    assert b.p[2] == pytest.approx(1.0) and not b.hot.any()


def test_rate_baseline_is_binomial_on_population_shares():
    b = BaselineGi([8, 0, 0, 0], [100, 100, 100, 100], _path(4), kind="population", alternative="greater")
    # unit 0: star {0, 1} has half the residents and all 8 cases: P(X >= 8) = 0.5 ** 8
    assert b.p[0] == pytest.approx(0.5**8) and b.expected[0] == pytest.approx(4.0)
    with pytest.raises(ValidationError, match="cases <= incidents"):
        BaselineGi([2, 0, 0], [1, 1, 1], _path(3), kind="all-incidents")


def test_parameters_resolve_settings_once_and_refuse_bad_values(settings):
    p = HotspotParameters.from_settings(settings, theme="cse,cce", permutations=None, k_ring=3)
    assert p.unit == "auto" and p.inference == "total" and p.permutations is None and p.baseline == "none"
    assert p.themes == ("cse", "cce") and p.k_ring == 3 and p.event_types == ("incident",)
    assert HotspotParameters.from_settings(settings, permutations=0).inference == "normal"
    assert HotspotParameters.from_settings(settings, event_types="all").event_types is None
    row = p.row()
    assert row["themes"] == "cse,cce" and row["unit"] == "auto"
    with pytest.raises(ValidationError, match="baseline must be one of"):
        HotspotParameters.from_settings(settings, baseline="busy")
    with pytest.raises(ValidationError, match="unknown hot spot option"):
        HotspotParameters.from_settings(settings, colour="red")


def test_auto_permutations_let_fdr_reach_the_region():
    assert auto_permutations(100, 0.05) == 9_999  # the floor
    assert auto_permutations(6_068, 0.05) == 606_799  # ceil(5 m / alpha) - 1
    assert auto_permutations(10_000_000, 0.05) == 4_999_999  # the cap
