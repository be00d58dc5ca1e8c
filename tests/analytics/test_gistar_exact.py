"""Exact permutation p-values of Gi* (``GiStar(permutations="exact")``) and the sample-sum distribution."""

from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp

from ctxrisk.analytics.gistar import GiStar, auto_permutations
from ctxrisk.analytics.gistar_exact import sample_sum_pmf
from ctxrisk.analytics.weights import distance_band_weights
from ctxrisk.pipelines.errors import ValidationError


def ring_weights(n: int) -> sp.csr_matrix:
    """Units 0-1-...-(n-1)-0 in a ring, plus a chord 5-7 (neighbourhood sizes 2 and 3)."""
    w = sp.lil_matrix((n, n))
    for i in range(n):
        w[i, (i + 1) % n] = w[(i + 1) % n, i] = 1
    w[5, 7] = w[7, 5] = 1
    return w.tocsr()


def enumerated_p(y, w, i, alternative, randomisation):
    """The permutation p-value of unit i by listing every equally likely draw of the null."""
    k = int(w[i].nnz)
    t = float((w[i] @ y)[0])
    if randomisation == "total":  # the star sum: k + 1 of all n values
        pool, size, obs = y, k + 1, y[i] + t
    else:  # the neighbours' total: k of the other n - 1 values
        pool, size, obs = np.delete(y, i), k, t
    sums = np.array([sum(c) for c in combinations(pool, size)])
    mu = size * pool.sum() / pool.size
    if alternative == "greater":
        return np.mean(sums >= obs - 1e-9)
    if alternative == "less":
        return np.mean(sums <= obs + 1e-9)
    return np.mean(np.abs(sums - mu) >= abs(obs - mu) - 1e-9)


def test_sample_sum_pmf_literal_values():
    # population {0, 0, 1, 2}: the six pairs sum to 0, 1, 1, 2, 2, 3
    pmf = sample_sum_pmf([0, 1, 2], [2, 1, 1], 2, 4)
    np.testing.assert_allclose(pmf[2], [1 / 6, 2 / 6, 2 / 6, 1 / 6, 0], atol=1e-15)
    np.testing.assert_allclose(pmf[1], [2 / 4, 1 / 4, 1 / 4, 0, 0], atol=1e-15)
    assert pmf[0, 0] == 1.0
    # sums from the cap up are pooled in the last column
    np.testing.assert_allclose(sample_sum_pmf([2, 1, 0], [1, 1, 2], 2, 2)[2], [1 / 6, 2 / 6, 3 / 6], atol=1e-15)


@pytest.mark.parametrize("randomisation", ["total", "conditional"])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_exact_p_equals_the_enumerated_permutation_null(alternative, randomisation):
    y = np.array([0, 0, 1, 1, 2, 5, 7, 0, 3, 9.0])
    w = ring_weights(10)
    g = GiStar(y, w, permutations="exact", alternative=alternative, randomisation=randomisation)
    expected = [enumerated_p(y, w, i, alternative, randomisation) for i in range(10)]
    np.testing.assert_allclose(g.p_sim, expected, rtol=0, atol=1e-12)
    assert g.z == pytest.approx(GiStar(y, w, permutations=0).z)  # z is esda's either way
    assert g.permutations == 0 and g.exact


@pytest.mark.parametrize("randomisation", ["total", "conditional"])
def test_simulated_p_converges_to_the_exact_p(randomisation):
    # a sparse count map (most units 0, as a theme in a quarter): the simulated p_sim is the exact p plus
    # Monte-Carlo error, sd sqrt(p (1 - p) / P)
    rng = np.random.default_rng(8)
    side = 20
    r, c = np.divmod(np.arange(side * side), side)
    w = distance_band_weights(c.astype(float), r.astype(float), threshold_m=1.5)
    y = rng.poisson(0.15, side * side).astype(float)
    y[[210, 211, 230, 231]] += [4, 3, 5, 2]  # a small cluster
    perms = 49_999
    exact = GiStar(y, w, permutations="exact", randomisation=randomisation)
    sim = GiStar(y, w, permutations=perms, seed=2, randomisation=randomisation)
    sd = np.sqrt(exact.p_sim * (1 - exact.p_sim) / perms) + 1 / perms
    assert np.all(np.abs(sim.p_sim - exact.p_sim) <= 5 * sd)
    assert exact.hot[[210, 211, 230, 231]].any()


def test_exact_p_has_no_floor_and_finds_a_site_among_many_units():
    # 40,000 units, 2,000 scattered events and a planted site of 30 events in 9 cells: the site's centre
    # has p far below 1 / (P + 1) of the automatic count, and nothing else is flagged in a CSR background
    side = 200
    r, c = np.divmod(np.arange(side * side), side)
    w = distance_band_weights(c.astype(float), r.astype(float), threshold_m=1.5)
    rng = np.random.default_rng(3)
    y = np.bincount(rng.integers(0, side * side, 2_000), minlength=side * side).astype(float)
    site = [(r0 * side + c0) for r0 in (99, 100, 101) for c0 in (99, 100, 101)]
    y[site] += [3, 4, 3, 4, 6, 4, 2, 2, 2]
    g = GiStar(y, w, permutations="exact", alpha=0.05, randomisation="total")
    centre = 100 * side + 100
    assert g.hot[centre] and g.p_sim[centre] < 1 / (auto_permutations(side * side, 0.05) + 1)
    near = np.abs(r - 100).clip(0) + np.abs(c - 100)
    assert not g.hot[near > 6].any()  # every flag is on or beside the site
    assert not g.cold.any()


def test_exact_needs_integer_counts():
    with pytest.raises(ValidationError, match="integer counts"):
        GiStar(np.arange(10.0) / 2, ring_weights(10), permutations="exact")  # rates: simulate instead
    huge = np.zeros(10)
    huge[3] = 5_000_000  # a table of sums up to millions: simulate instead
    with pytest.raises(ValidationError, match="give a number of permutations"):
        GiStar(huge, ring_weights(10), permutations="exact")
    with pytest.raises(ValidationError, match="non-negative integer or 'exact'"):
        GiStar(np.arange(10.0), ring_weights(10), permutations="all")
