"""Attacks on Gi* over separate groups (GroupedGiStar): bad values, consistency with esda, seeds."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from ctxrisk.analytics.gistar import GiStar
from ctxrisk.analytics.gistar_groups import GroupedGiStar
from ctxrisk.pipelines.errors import ValidationError


def path_weights(n: int) -> sp.csr_matrix:
    """Units 0-1-...-(n-1) on a path (a single unit: no neighbour)."""
    w = sp.lil_matrix((n, n))
    for i in range(n - 1):
        w[i, i + 1] = w[i + 1, i] = 1
    return w.tocsr()


def blocks(sizes: list[int]) -> tuple[sp.csr_matrix, np.ndarray]:
    """One path per group, no weight between groups; the label of each unit."""
    w = sp.block_diag([path_weights(s) for s in sizes]).tocsr()
    return w, np.repeat(np.arange(len(sizes)), sizes)


@pytest.mark.parametrize(
    ("bad", "options", "match"),
    [
        (-4.0, {}, "non-negative"),
        (np.nan, {}, "missing or infinite"),
        (np.inf, {}, "missing or infinite"),
        (0.5, {"permutations": "exact"}, "integer counts"),
        (1.0, {"alternative": "bigger"}, "alternative must be one of"),
    ],
)
def test_a_bad_value_in_a_group_too_small_to_test_is_refused(bad, options, match):
    # The group of two units is never tested, so GiStar never saw its values: a negative count, a NaN or a
    # fraction given to the exact test was taken silently (z 0, p 1) instead of refused as in one region.
    w, groups = blocks([5, 2])
    y = np.array([1, 0, 3, 0, 2, bad, 1.0]) if "alternative" not in options else np.ones(7)
    with pytest.raises(ValidationError, match=match):
        GroupedGiStar(y, w, groups, **{"permutations": 99, "seed": 1, **options})


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"permutations": -5}, "non-negative integer"),
        ({"permutations": "EXACT"}, "non-negative integer"),
        ({"randomisation": "bogus"}, "randomisation must be one of"),
        ({"seed": -1}, "seed must be a non-negative integer"),
    ],
)
def test_bad_options_are_refused_when_no_group_can_be_tested(options, match):
    # Two groups of two units: no GiStar is built, so its checks never ran and the options were accepted.
    with pytest.raises(ValidationError, match=match):
        GroupedGiStar(np.arange(4.0), sp.csr_matrix((4, 4)), [0, 0, 1, 1], **options)


@pytest.mark.parametrize("labels", [list("aabb"), [0.0, 0.0, np.nan, np.nan]])
def test_labels_that_are_not_integers_are_refused(labels):
    # Strings and NaN ended in "ValueError: invalid literal for int()" / "cannot convert float NaN to integer".
    with pytest.raises(ValidationError, match="groups must be integer labels"):
        GroupedGiStar(np.arange(4.0), path_weights(4), labels, permutations=9)


def test_units_of_an_untested_group_keep_their_neighbour_counts():
    # marts.hotspots.n_neighbours is "neighbours excluding the unit itself": the two linked units of a group too
    # small to test were stored with 0, as if islands.
    w, groups = blocks([5, 2])
    g = GroupedGiStar(np.array([1, 0, 3, 0, 2, 4, 1.0]), w, groups, permutations=9, seed=1)
    assert g.n_neighbours.tolist() == [1, 2, 2, 2, 1, 1, 1]
    assert g.islands[5:].all() and (g.q[5:] == 1).all() and g.untested == 2  # still never tested


def test_a_negative_seed_is_refused_by_gistar_too():
    with pytest.raises(ValidationError, match="seed must be a non-negative integer"):
        GiStar(np.arange(5.0), path_weights(5), permutations=9, seed=-1)


def test_z_equals_esda_within_each_group_of_very_different_sizes():
    esda = pytest.importorskip("esda")
    from libpysal.graph import Graph

    sizes = [3, 7, 40]
    w, groups = blocks(sizes)
    y = np.random.default_rng(3).poisson([0.5] * 3 + [4] * 7 + [1.5] * 40).astype(float)
    y[[0, 3, 10]] = [2, 9, 6]  # no group uniform
    g = GroupedGiStar(y, w, groups, permutations=0)
    for label, size in enumerate(sizes):
        idx = np.flatnonzero(groups == label)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # esda divides by a zero variance where k* = n
            theirs = esda.G_Local(y[idx], Graph.from_sparse(w[idx][:, idx]), transform="B", star=True, permutations=0)
        whole = g.n_neighbours[idx] + 1 == size  # a star holding its whole group: esda NaN, ours 0 (documented)
        np.testing.assert_allclose(g.z[idx][~whole], theirs.Zs[~whole], rtol=0, atol=1e-12)
        assert np.isnan(theirs.Zs[whole]).all() and (g.z[idx][whole] == 0).all()
    assert g.z[1] == 0 and g.z[0] == 0 and g.z[2] == pytest.approx(-np.sqrt(1.5), abs=1e-12)


@pytest.mark.parametrize("permutations", [None, 199, "exact"])
def test_results_are_the_same_for_the_same_seed(permutations):
    w, groups = blocks([3, 12, 30])
    y = np.random.default_rng(5).poisson(1.5, 45).astype(float)
    y[[0, 4, 20]] = [3, 8, 11]
    a = GroupedGiStar(y, w, groups, permutations=permutations, seed=11)
    b = GroupedGiStar(y, w, groups, permutations=permutations, seed=11)
    np.testing.assert_array_equal(a.p_sim, b.p_sim)
    np.testing.assert_array_equal(a.q, b.q)
    np.testing.assert_array_equal(a.bin, b.bin)


def queen_grid(rows: int, cols: int) -> sp.csr_matrix:
    """Queen contiguity of a rows x cols grid (up to 8 neighbours)."""
    w = sp.lil_matrix((rows * cols, rows * cols))
    for r in range(rows):
        for c in range(cols):
            for dr, dc in ((0, 1), (1, -1), (1, 0), (1, 1)):
                if 0 <= r + dr < rows and 0 <= c + dc < cols:
                    i, j = r * cols + c, (r + dr) * cols + c + dc
                    w[i, j] = w[j, i] = 1
    return w.tocsr()


def _quiet_city_and_small_town_with_a_site(seed: int) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray, list[int]]:
    """A 32 x 32 city under CSR (1 event a cell) and a 5 x 5 town (0.5) with a 3 x 3 site of 4 events a cell."""
    w = sp.block_diag([queen_grid(32, 32), queen_grid(5, 5)]).tocsr()
    groups = np.repeat([0, 1], [1024, 25])
    y = np.random.default_rng(seed).poisson(np.repeat([1.0, 0.5], [1024, 25])).astype(float)
    site = [1024 + r * 5 + c for r in (1, 2, 3) for c in (1, 2, 3)]
    y[site] = 4
    return y, w, groups, site


def test_a_strong_site_in_a_small_group_is_found_with_exact_p_values():
    y, w, groups, site = _quiet_city_and_small_town_with_a_site(100)
    g = GroupedGiStar(y, w, groups, permutations="exact")
    assert g.hot[site[4]]  # the site's centre: every one of its 9 cells holds 4 events
    assert g.p_sim[site[4]] < 1e-5


def test_a_strong_site_in_a_small_group_is_found_with_the_default_budget():
    y, w, groups, site = _quiet_city_and_small_town_with_a_site(100)
    # The town's budget (9,999 permutations, floor p 1e-4) could not pass BH at rank 1 over 1,049 units (4.8e-5):
    # the town is tested on its exact null instead (0 permutations), the city keeps its simulated one.
    g = GroupedGiStar(y, w, groups, seed=1)
    assert g.group_permutations[1] == 0 and g.group_permutations[0] > 9_999
    assert g.hot[site[4]]
    assert not g.significant[groups == 0].any()  # nothing in the quiet city


@pytest.mark.parametrize("permutations", ["exact", None])
def test_false_discoveries_under_csr_over_groups_of_very_different_sizes(permutations):
    # Five groups (400, 100, 25, 16 and 3 cells; 0.2 to 5 events a cell) with nothing to find: every
    # discovery is false, so the FDR is the chance of any. Measured: 2.2 % of 400 runs (exact), 2.0 % of 300
    # (budgeted simulation); 10 groups 2.0 % and 1.0 %.
    shapes, rates = [(20, 20), (10, 10), (5, 5), (4, 4), (1, 3)], [2.0, 0.5, 5.0, 0.2, 1.0]
    w = sp.block_diag([queen_grid(*s) for s in shapes]).tocsr()
    sizes = [r * c for r, c in shapes]
    groups = np.repeat(np.arange(5), sizes)
    rng = np.random.default_rng(2026)
    runs = 60 if permutations is None else 200
    with_any = 0
    for run in range(runs):
        y = rng.poisson(np.repeat(rates, sizes)).astype(float)
        with_any += GroupedGiStar(y, w, groups, permutations=permutations, seed=run).significant.any()
    assert with_any / runs <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / runs)
