"""Attacks on the exact permutation p-values of Gi*: large neighbourhoods, against the enumerated null."""

from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp

from ctxrisk.analytics.gistar import GiStar


def hub_weights(n: int, left_out: int) -> sp.csr_matrix:
    """A path 1-2-...-(n-1) and unit 0 linked to every unit but the last ``left_out``."""
    w = sp.lil_matrix((n, n))
    for j in range(1, n - 1):
        w[j, j + 1] = w[j + 1, j] = 1
    for j in range(1, n - left_out):
        w[0, j] = w[j, 0] = 1
    return w.tocsr()


def enumerated_hub_p(y, w, alternative, randomisation):
    """Unit 0's permutation p-value, listing the units a draw leaves out (few, as the hub sees most units)."""
    k, t = int(w[0].nnz), float((w[0] @ y)[0])
    if randomisation == "total":
        pool, size, obs = y, k + 1, y[0] + t
    else:
        pool, size, obs = np.delete(y, 0), k, t
    sums = pool.sum() - np.array([sum(c) for c in combinations(pool, pool.size - size)])
    mu = size * pool.sum() / pool.size
    if alternative == "greater":
        return np.mean(sums >= obs - 1e-9)
    if alternative == "less":
        return np.mean(sums <= obs + 1e-9)
    return np.mean(np.abs(sums - mu) >= abs(obs - mu) - 1e-9)


@pytest.mark.parametrize("n", [60, 100, 200])
@pytest.mark.parametrize("left_out", [1, 2, 3])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_exact_conditional_p_of_a_unit_next_to_most_of_the_region(n, left_out, alternative):
    # The held-out recursion multiplied rounding errors by j / (n - j) at every step past n / 2: for n = 100
    # and k = 97 it gave p = 0.0 where the enumerated null gives 0.768 (and 1.0 for 0.030 at k = 98).
    y = np.random.default_rng(1).poisson(2, n).astype(float)
    y[0] = 3
    w = hub_weights(n, left_out)
    g = GiStar(y, w, permutations="exact", alternative=alternative, randomisation="conditional")
    expected = enumerated_hub_p(y, w, alternative, "conditional")
    assert g.p_sim[0] == pytest.approx(expected, abs=1e-9)
    assert 0 < g.p_sim[0] <= 1


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_exact_total_p_of_a_unit_next_to_most_of_the_region(alternative):
    y = np.random.default_rng(1).poisson(2, 100).astype(float)
    w = hub_weights(100, 2)
    g = GiStar(y, w, permutations="exact", alternative=alternative, randomisation="total")
    assert g.p_sim[0] == pytest.approx(enumerated_hub_p(y, w, alternative, "total"), abs=1e-9)
