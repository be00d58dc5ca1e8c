"""The validation study's pinned claims: calibrated under the null, powerful on a planted site (fixed seeds)."""

from __future__ import annotations

import math

import numpy as np

from ctxrisk.analytics.validation import Scenario, simulate, study

ALPHA = 0.05


def test_no_false_discoveries_beyond_alpha_under_complete_spatial_randomness():
    runs = 30
    table = study([Scenario("csr"), Scenario("csr", snap=True)], runs=runs, seed=7)
    allowance = ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / runs)  # alpha + 3 Monte-Carlo standard errors
    assert (table["fdr"] <= allowance).all(), table[["snap", "fdr", "mean_hot"]]


def test_a_50_event_site_on_a_3000_event_town_is_found_in_nine_runs_of_ten():
    table = study([Scenario("town", site_events=50, site_radius_m=150.0)], runs=20, seed=11)
    assert table["power"].iloc[0] >= 0.9 and table["power_se"].iloc[0] < 0.1


def test_case_control_baseline_is_calibrated_on_a_busy_town():
    table = study([Scenario("town", baseline="all-incidents")], runs=20, seed=3)
    assert table["fdr"].iloc[0] <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / 20)


def test_simulation_is_seeded_and_snaps_to_shared_points():
    a, planted, site = simulate(Scenario("town", site_events=50, snap=True), np.random.default_rng(1))
    b, _, _ = simulate(Scenario("town", site_events=50, snap=True), np.random.default_rng(1))
    assert np.array_equal(a, b) and planted.sum() == 50 and len(a) == 3_050
    assert len(np.unique(a, axis=0)) < 0.7 * len(a)  # many events share an anonymised map point
    assert 1_200 <= np.hypot(*site) <= 3_000  # the site lies 1.2 to 3 km from the town centre


def test_two_towns_analysed_apart_stay_calibrated_with_one_fdr_over_both():
    runs = 30
    table = study([Scenario("csr", quiet_town=600)], runs=runs, seed=5)
    assert table["fdr"].iloc[0] <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / runs)


def test_a_site_in_the_quieter_of_two_towns_is_found_in_nine_runs_of_ten():
    table = study([Scenario("town", quiet_town=600, site_events=50)], runs=20, seed=13)
    assert table["power"].iloc[0] >= 0.9


def test_the_quiet_town_lies_apart_and_holds_the_site():
    xy, planted, site = simulate(Scenario("csr", quiet_town=600, site_events=50), np.random.default_rng(2))
    assert len(xy) == 3_650 and (xy[:3_000, 0] < 5_000).all() and (xy[3_000:, 0] > 25_000).all()
    assert planted[-50:].all() and 1_200 <= np.hypot(*(site - [30_000.0, 0.0])) <= 3_000


def test_a_small_quiet_town_with_a_small_budget_stays_calibrated_and_finds_its_site():
    # A town of 1.2 km radius beside the 4 km one: a twelfth of the units, so it draws about a twelfth of the
    # permutations (group_permutations), yet one FDR over both towns stays within alpha and its site is found.
    small = {"quiet_town": 150, "quiet_radius_m": 1_200.0}
    null = study([Scenario("csr", **small)], runs=20, seed=17)
    assert null["fdr"].iloc[0] <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / 20)
    sites = study([Scenario("town", site_events=50, **small)], runs=20, seed=19)
    assert sites["power"].iloc[0] >= 0.9


def test_exact_p_values_are_calibrated_on_a_sparse_theme_and_find_the_same_site():
    # the per-theme runs' exact p-values: a sparse map (300 events, as a theme in a quarter) under complete
    # spatial randomness, and the 50-event site of the simulated test above
    runs = 40
    table = study([Scenario("csr", n_background=300, exact=True)], runs=runs, seed=7)
    assert table["fdr"].iloc[0] <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / runs), table[["fdr", "mean_hot"]]
    site = study([Scenario("town", site_events=50, site_radius_m=150.0, exact=True)], runs=20, seed=11)
    assert site["power"].iloc[0] >= 0.9
