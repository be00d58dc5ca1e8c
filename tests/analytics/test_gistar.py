"""Tests for ctxrisk.analytics.gistar."""

import re
import warnings
from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from ctxrisk.analytics.gistar import GiStar, auto_permutations, benjamini_hochberg, coarse_permutations_note, gi_bin
from ctxrisk.analytics.weights import distance_band_weights
from ctxrisk.pipelines.errors import ValidationError


def path_weights(n: int) -> sp.csr_matrix:
    """Units 0-1-2-...-(n-1) in a line."""
    i = np.arange(n - 1)
    a = sp.coo_matrix((np.ones(n - 1), (i, i + 1)), shape=(n, n))
    return (a + a.T).tocsr()


def exact_p(y, w, i, alternative):
    """Exact conditional-permutation p-value by enumerating every neighbour set."""
    y = np.asarray(y, float)
    k = int(w[i].nnz)
    others = np.delete(y, i)
    sums = np.array([sum(c) for c in combinations(others, k)])
    t = float((w[i] @ y)[0])
    mu = k * others.sum() / others.size
    if alternative == "greater":
        return np.mean(sums >= t - 1e-9)
    if alternative == "less":
        return np.mean(sums <= t + 1e-9)
    return np.mean(np.abs(sums - mu) >= abs(t - mu) - 1e-9)


def test_hand_worked_path_example():
    y = np.array([0.0, 1.0, 2.0, 3.0, 10.0])
    g = GiStar(y, path_weights(5), permutations=0)
    # unit 4: G = (10 + 3) / 16, E = 2/5, s^2 = 114/5 - 3.2^2 = 12.56
    assert g.G[4] == pytest.approx(13 / 16)
    assert g.EG[4] == pytest.approx(0.4)
    assert g.VG[4] == pytest.approx(2 * 3 / 4 / 25 * 12.56 / 3.2**2)
    assert g.z.tolist() == pytest.approx(
        [-1.2440943295, -1.5205597360, -0.8293962197, 1.2440943295, 1.5205597360], abs=1e-9
    )
    # Ord & Getis (1995) form gives the same z
    s = np.sqrt(12.56)
    kstar = np.array([2, 3, 3, 3, 2])
    wy = np.array([1, 3, 6, 15, 13])
    assert g.z == pytest.approx((wy - 3.2 * kstar) / (s * np.sqrt((5 * kstar - kstar**2) / 4)))
    assert g.p_norm == pytest.approx(2 * stats.norm.sf(np.abs(g.z)))
    assert g.n_neighbours.tolist() == [1, 2, 2, 2, 1]
    assert np.isnan(g.p_sim).all()


@pytest.mark.parametrize("kind", ["W", "WSP"])
def test_z_matches_esda_on_same_weights(kind):
    esda = pytest.importorskip("esda")
    from libpysal.weights import WSP

    rng = np.random.default_rng(7)
    n = 300
    x, yy = rng.uniform(0, 3000, n), rng.uniform(0, 3000, n)
    x[0], yy[0] = 99_999.0, 99_999.0  # an island
    w = distance_band_weights(x, yy, threshold_m=300)
    y = rng.poisson(1 + 3 * (x < 800)).astype(float)
    ours = GiStar(y, w, permutations=0)
    wsp = WSP(w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w_obj = wsp.to_W(silence_warnings=True) if kind == "W" else wsp
        if kind == "WSP":
            from libpysal.graph import Graph

            w_obj = Graph.from_sparse(w)
        theirs = esda.G_Local(y, w_obj, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(ours.z, theirs.Zs, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.G, theirs.Gs, rtol=0, atol=1e-12)
    assert ours.islands[0] and ours.p_sim[0] != ours.p_sim[0]  # NaN: no simulation requested


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_p_sim_matches_exact_enumeration(alternative):
    y = np.array([0, 0, 1, 1, 2, 5, 7, 0, 3, 9.0])
    w = path_weights(10).tolil()
    w[9, 0] = w[0, 9] = 1  # ring
    w[5, 7] = w[7, 5] = 1
    w = w.tocsr()
    g = GiStar(y, w, permutations=19_999, seed=11, alternative=alternative)
    exact = np.array([exact_p(y, w, i, alternative) for i in range(10)])
    expected = (exact * 19_999 + 1) / 20_000
    np.testing.assert_allclose(g.p_sim, expected, atol=0.012)


def test_dense_regime_matches_exact():
    # 9 units, each linked to all but one other: k = 7 of a pool of 8 -> the random-key path.
    n = 9
    a = np.ones((n, n)) - np.eye(n)
    for i in range(n):
        a[i, (i + 1) % n] = a[(i + 1) % n, i] = 0
    w = sp.csr_matrix(a)
    y = np.array([0, 1, 2, 3, 4, 5, 6, 7, 20.0])
    g = GiStar(y, w, permutations=9_999, seed=3, alternative="greater")
    exact = np.array([exact_p(y, w, i, "greater") for i in range(n)])
    np.testing.assert_allclose(g.p_sim, (exact * 9_999 + 1) / 10_000, atol=0.015)


def test_units_with_same_value_and_k_share_one_null():
    y = np.array([0, 0, 0, 0, 0, 0, 4, 5, 0, 0, 1, 0.0])
    g = GiStar(y, path_weights(12), permutations=499, seed=1)
    # pairs (value, k): (0,1), (0,2), (4,2), (5,2), (1,2) -> 5 distinct nulls
    assert g.n_null_distributions == 5
    # units 1..4 are (0, 2) with the same neighbour total 0 -> identical p
    assert len(set(g.p_sim[[1, 2, 3, 4]].tolist())) == 1


def test_seeded_and_reproducible():
    rng = np.random.default_rng(0)
    y = rng.poisson(2, 60).astype(float)
    w = path_weights(60)
    a = GiStar(y, w, permutations=199, seed=42)
    b = GiStar(y, w, permutations=199, seed=42)
    c = GiStar(y, w, permutations=199, seed=43)
    assert np.array_equal(a.p_sim, b.p_sim)
    assert not np.array_equal(a.p_sim, c.p_sim)


def grid_queen(side: int) -> sp.csr_matrix:
    """Queen contiguity on a side x side grid of unit squares, row-major order."""
    r, c = np.divmod(np.arange(side * side), side)
    return distance_band_weights(c.astype(float), r.astype(float), threshold_m=1.5)


def test_hot_spot_found_and_binned():
    side = 12
    y = np.zeros(side * side)
    block = [(r * side + c) for r in (5, 6, 7) for c in (5, 6, 7)]
    y[block] = [6, 9, 8, 7, 9, 8, 6, 7, 9]
    y[[3, 30, 100, 140]] = 1
    w = grid_queen(side)
    g = GiStar(y, w, permutations=999, seed=5)
    centre = 6 * side + 6
    assert g.hot[centre] and g.bin[centre] >= 2
    assert g.hot[[block[1], block[3], block[4], block[5], block[7]]].all()  # the plus; corners may not be
    assert not g.cold.any()
    assert (g.bin[:side] == 0).all()
    assert np.all(g.q >= g.p_sim - 1e-12)
    greater = GiStar(y, w, permutations=999, seed=5, alternative="greater")
    less = GiStar(y, w, permutations=999, seed=5, alternative="less")
    assert greater.p_sim[centre] == pytest.approx(0.001)
    assert less.p_sim[centre] == pytest.approx(1.0)
    assert (less.bin <= 0).all() and (greater.bin >= 0).all()
    df = g.to_frame()
    assert list(df.columns[:3]) == ["y", "n_neighbours", "G"] and len(df) == side * side


def test_islands_never_flagged():
    y = np.array([9.0, 0, 0, 1, 0, 2])
    w = path_weights(6).tolil()
    w[0, 1] = w[1, 0] = 0
    w = w.tocsr()
    w.eliminate_zeros()
    g = GiStar(y, w, permutations=99, seed=0)
    assert g.islands.tolist() == [True, False, False, False, False, False]
    assert g.p_sim[0] == 1.0 and g.q[0] == 1.0 and g.bin[0] == 0
    assert g.z[0] > 0  # analytic z kept as esda computes it


def test_benjamini_hochberg_hand_values_and_scipy():
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.2]))
    assert q.tolist() == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.2])
    p = np.random.default_rng(1).uniform(size=50) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p, method="bh"))
    with pytest.raises(ValidationError, match=r"\[0, 1\]"):
        benjamini_hochberg(np.array([0.5, 1.5]))


def test_gi_bin_levels():
    z = np.array([2.0, -2.0, 1.0, 3.0, -1.0, 0.5])
    q = np.array([0.005, 0.03, 0.07, 0.01, 0.2, 0.001])
    assert gi_bin(z, q).tolist() == [3, -2, 1, 2, 0, 3]
    assert gi_bin(z, q, alternative="greater").tolist() == [3, 0, 1, 2, 0, 3]
    assert gi_bin(z, q, alternative="less").tolist() == [0, -2, 0, 0, 0, 0]


@pytest.mark.parametrize(
    ("y", "w", "kwargs", "match"),
    [
        (np.zeros(5), path_weights(5), {}, "zero variance.*all zero"),
        (np.full(5, 2.0), path_weights(5), {}, "zero variance"),
        (np.array([1, -1, 2, 3, 4.0]), path_weights(5), {}, "non-negative"),
        (np.array([1, np.nan, 2, 3, 4.0]), path_weights(5), {}, "missing or infinite"),
        (np.arange(5.0), path_weights(4), {}, "shape"),
        (np.arange(5.0), path_weights(5) + sp.eye(5), {}, "self loops"),
        (np.arange(5.0), path_weights(5) * 0.5, {}, "binary"),
        (np.arange(5.0), path_weights(5).toarray(), {}, "scipy.sparse"),
        (np.arange(5.0), path_weights(5), {"alternative": "both"}, "alternative"),
        (np.arange(5.0), path_weights(5), {"permutations": -1}, "permutations"),
        (np.arange(5.0), path_weights(5), {"alpha": 1.5}, "alpha"),
        (np.arange(2.0), path_weights(2), {}, "at least 3"),
    ],
)
def test_validation_errors(y, w, kwargs, match):
    with pytest.raises(ValidationError, match=match):
        GiStar(y, w, **kwargs)


def test_warns_when_permutations_too_coarse_for_fdr(caplog):
    rng = np.random.default_rng(0)
    y = rng.poisson(1, 200).astype(float)
    with caplog.at_level("WARNING", logger="ctxrisk.analytics.gistar"):
        GiStar(y, path_weights(200), permutations=99, seed=0)
    assert "coarse for FDR over 200 units" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="ctxrisk.analytics.gistar"):
        GiStar(y, path_weights(200), permutations=9_999, seed=0)
    assert "coarse" not in caplog.text


def _advised(text: str) -> int:
    return int(re.search(r"; ([\d,]+) permutations let", text).group(1).replace(",", ""))


@pytest.mark.parametrize(("units", "permutations"), [(52, 999), (1_400, 25_999), (200, 99), (60, 1_000)])
def test_coarse_permutation_advice_asks_for_more_than_are_in_use(caplog, units, permutations):
    """999 permutations over 52 units once drew the advice "about 104": fewer than in use."""
    y = np.random.default_rng(1).poisson(2, units).astype(float)
    with caplog.at_level("WARNING", logger="ctxrisk.analytics.gistar"):
        GiStar(y, path_weights(units), permutations=permutations, seed=0)
    advised = _advised(caplog.text)
    assert advised > permutations
    assert advised == auto_permutations(units, 0.05)  # the automatic count for this many units
    share = np.ceil(units / (permutations + 1) / 0.05)
    assert f"only if about {share:,.0f} units share the smallest p_sim (1/{permutations + 1:,})" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="ctxrisk.analytics.gistar"):
        GiStar(y, path_weights(units), permutations=advised, seed=0)
    assert "coarse" not in caplog.text


def test_coarse_permutations_note_literal_values():
    assert coarse_permutations_note(999, 52, 0.05, suggested=5_199) == (
        "999 permutations are coarse for FDR over 52 units: a unit reaches q < 0.05 only if about 2 units share "
        "the smallest p_sim (1/1,000); 5,199 permutations let a single unit reach it"
    )
    assert coarse_permutations_note(999, 50, 0.05, suggested=4_999) is None  # 50 / 1,000 = alpha: attainable
    assert coarse_permutations_note(0, 10_000, 0.05, suggested=1) is None  # normal approximation
    note = coarse_permutations_note(99, 200, 0.05, suggested=399, ties=10, over="units of each time step")
    assert note.endswith(
        "over 200 units of each time step: a unit reaches q < 0.05 only if about 40 units share "
        "the smallest p_sim (1/100); 399 permutations let 10 units tied at the smallest p_sim reach it"
    )


def test_compiled_kernels_match_their_numpy_forms():
    from ctxrisk.analytics import gistar as gs

    rng = np.random.default_rng(7)
    draws = rng.integers(0, 9, size=(4, 6 * 5), dtype=np.int32)
    y = rng.integers(0, 5, size=10).astype(float)
    skip = np.array([0, 3, 8, 2, 5, 9], dtype=np.int64)
    moved = draws.reshape(4, 6, 5) + (draws.reshape(4, 6, 5) >= skip[None, :, None])
    expected = y[moved].sum(axis=0)
    np.testing.assert_array_equal(gs._null_sums_py(draws, y, skip, 5), expected)
    srt = np.sort(draws, axis=0)
    np.testing.assert_array_equal(gs._repeating_samples_py(draws, 9), (srt[1:] == srt[:-1]).any(axis=0))
    if gs._null_sums is not None:
        np.testing.assert_array_equal(gs._null_sums(draws, y, skip, 5), expected)
        np.testing.assert_array_equal(gs._repeating_samples(draws, 9), gs._repeating_samples_py(draws, 9))


def test_total_permutation_matches_the_exact_null_of_the_star_sum():
    y = np.array([5.0, 0.0, 0.0, 0.0, 1.0])
    g = GiStar(y, path_weights(5), permutations=99_999, seed=4, alternative="greater", randomisation="total")
    # unit 0's star {0, 1} sums to 5; of the 10 pairs of the five values, 4 (those holding the 5) reach 5
    assert g.p_sim[0] == pytest.approx(0.4, abs=0.005)
    # unit 2's star {1, 2, 3} sums to 0: every triple reaches it
    assert g.p_sim[2] == pytest.approx(1.0)
    assert g.z == pytest.approx(GiStar(y, path_weights(5), permutations=0).z)  # z is esda's either way
    with pytest.raises(ValidationError, match="randomisation must be one of"):
        GiStar(y, path_weights(5), randomisation="spatial")
