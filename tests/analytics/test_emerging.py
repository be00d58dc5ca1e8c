"""Tests for ctxrisk.analytics.emerging."""

import numpy as np
import pytest
import scipy.sparse as sp

from ctxrisk.analytics.emerging import CATEGORIES, classify_patterns, emerging_hot_spots, space_time_weights
from ctxrisk.analytics.weights import distance_band_weights
from ctxrisk.pipelines.errors import ValidationError

# H = hot bin, C = cold bin, . = not significant; oldest step first, 10 steps.
CASES = [
    ("..........", "no trend", "no pattern detected"),
    (".........H", "no trend", "new hot spot"),
    (".......HHH", "increasing", "consecutive hot spot"),
    ("HHHHHHHHHH", "increasing", "intensifying hot spot"),
    (".HHHHHHHHH", "no trend", "persistent hot spot"),
    ("HHHHHHHHHH", "decreasing", "diminishing hot spot"),
    ("..H..H...H", "no trend", "sporadic hot spot"),
    ("..C......H", "no trend", "oscillating hot spot"),
    ("HHHHHHHHH.", "no trend", "historical hot spot"),
    (".........C", "no trend", "new cold spot"),
    ("........CC", "decreasing", "consecutive cold spot"),
    ("CCCCCCCCCC", "decreasing", "intensifying cold spot"),
    ("CCCCCCCCC.", "no trend", "historical cold spot"),
    ("C.CCCCCCCC", "no trend", "persistent cold spot"),
    ("CCCCCCCCCC", "increasing", "diminishing cold spot"),
    ("C...C.CC.C", "no trend", "sporadic cold spot"),
    ("HH.......C", "no trend", "oscillating cold spot"),
]


def encode(rows):
    hot = np.array([[ch == "H" for ch in r] for r in rows])
    cold = np.array([[ch == "C" for ch in r] for r in rows])
    return hot, cold


def test_every_category_hit_exactly():
    hot, cold = encode([c[0] for c in CASES])
    got = classify_patterns(hot, cold, [c[1] for c in CASES])
    assert got.tolist() == [c[2] for c in CASES]
    assert set(got.tolist()) == set(CATEGORIES)
    assert len(CATEGORIES) == 17


@pytest.mark.parametrize(
    ("series", "trend", "expected"),
    [
        ("HHHHHHHHHC", "no trend", "oscillating cold spot"),  # final state first, then history
        ("C........H", "no trend", "oscillating hot spot"),  # earlier cold beats "new"
        ("H.......HH", "no trend", "sporadic hot spot"),  # hot before the final run: not consecutive
        ("HHHHHHHH.H", "no trend", "persistent hot spot"),  # 9/10 = 90 % counts
        ("HHHHHHHH..", "increasing", "no pattern detected"),  # 80 %, final not hot
        ("HHHHHHHHC.", "no trend", "no pattern detected"),
        ("HHHHHHHHH.", "increasing", "historical hot spot"),  # trend does not matter when final not hot
        ("C.HHHHHHHH", "no trend", "oscillating hot spot"),  # 80 % hot, earlier cold
        ("..HHHHHHHH", "no trend", "consecutive hot spot"),  # 80 % in one final run
        ("HHHHHHHHHH", "no trend", "persistent hot spot"),
    ],
)
def test_boundaries_and_precedence(series, trend, expected):
    hot, cold = encode([series])
    assert classify_patterns(hot, cold, [trend]).tolist() == [expected]


def test_classify_rejects():
    hot, cold = encode(["HH.", "..."])
    with pytest.raises(ValidationError, match="both a hot and a cold"):
        classify_patterns(hot, hot, ["no trend", "no trend"])
    with pytest.raises(ValidationError, match="unknown trend"):
        classify_patterns(hot, cold, ["up", "no trend"])


def test_space_time_weights_structure():
    w = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=float))
    st = space_time_weights(w, 3, time_step_window=1).toarray()
    # bin (u=0, t=1) is index 3: itself excluded; (0,1),(1,1) now and (0,0),(1,0) before
    assert np.flatnonzero(st[3]).tolist() == [0, 1, 4]
    assert np.flatnonzero(st[0]).tolist() == [1]  # first step: no earlier step
    assert np.flatnonzero(st[8]).tolist() == [5]  # unit 2 (spatial island) at t=2: itself at t=1
    assert st.diagonal().sum() == 0
    assert np.flatnonzero(space_time_weights(w, 3, time_step_window=0).toarray()[3]).tolist() == [4]
    two = space_time_weights(w, 3, time_step_window=2).toarray()
    assert np.flatnonzero(two[6]).tolist() == [0, 1, 3, 4, 7]


def grid(side):
    r, c = np.divmod(np.arange(side * side), side)
    return distance_band_weights(c.astype(float), r.astype(float), threshold_m=1.5)


def test_emerging_finds_a_new_and_a_persistent_hot_spot():
    side, steps = 10, 10
    rng = np.random.default_rng(8)
    counts = rng.poisson(0.3, size=(side * side, steps)).astype(float)
    persistent = [r * side + c for r in (1, 2, 3) for c in (1, 2, 3)]
    new = [r * side + c for r in (6, 7, 8) for c in (6, 7, 8)]
    counts[persistent, :] += 6
    counts[new, -1] += 8
    res = emerging_hot_spots(counts, grid(side), permutations=499, seed=1)
    assert res.z.shape == (side * side, steps)
    assert res.category[2 * side + 2] == "persistent hot spot"
    assert res.category[7 * side + 7] == "new hot spot"
    assert res.hot[7 * side + 7, -1] and not res.hot[7 * side + 7, :-2].any()
    summary = res.to_frame()
    assert summary.loc[2 * side + 2, "n_hot"] >= 9
    assert set(res.category.tolist()) <= set(CATEGORIES)
    again = emerging_hot_spots(counts, grid(side), permutations=499, seed=1)
    assert np.array_equal(res.category, again.category) and np.array_equal(res.p, again.p)
    analytic = emerging_hot_spots(counts, grid(side), inference="analytic")
    assert analytic.permutations == 0
    assert analytic.category[2 * side + 2] == "persistent hot spot"


def test_emerging_rejects():
    w = grid(3)
    with pytest.raises(ValidationError, match="at least 3 time steps"):
        emerging_hot_spots(np.ones((9, 2)), w)
    with pytest.raises(ValidationError, match="zero variance"):
        emerging_hot_spots(np.zeros((9, 4)), w, permutations=9)
    with pytest.raises(ValidationError, match="matching counts"):
        emerging_hot_spots(np.ones((8, 4)), w)
    with pytest.raises(ValidationError, match="smaller than the number of steps"):
        emerging_hot_spots(np.arange(36.0).reshape(9, 4), w, time_step_window=4)


def test_coarse_warning_counts_the_units_of_a_time_step_not_the_cube(caplog):
    """BH runs within each time step: the advice is about the units of a step, and the automatic count is quiet."""
    from ctxrisk.analytics.emerging_run import emerging_permutations

    rng = np.random.default_rng(3)
    counts = rng.poisson(1.0, size=(100, 12)).astype(float)
    with caplog.at_level("WARNING"):
        emerging_hot_spots(counts, grid(10), permutations=19, seed=0)
    assert "over 100 units of each time step" in caplog.text and "1,200" not in caplog.text
    assert "only if about 100 units share the smallest p_sim (1/20); 199 permutations let 10 units" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        emerging_hot_spots(counts, grid(10), permutations=emerging_permutations(100, 0.05), seed=0)
    assert "coarse" not in caplog.text


def _months(*spans, per_month=10):
    import pandas as pd

    months = [m for a, b in spans for m in pd.period_range(a, b, freq="M").astype(str)]
    return pd.Series(pd.to_datetime([f"{m}-{1 + d:02d} 12:00" for m in months for d in range(per_month)]))


def test_covered_span_is_the_longest_run_of_steps_with_data():
    """police.uk files for 2018-12 and 2023-05..2024-12: the 52 empty months between are a gap, not zeros."""
    import pandas as pd

    from ctxrisk.analytics.emerging_run import covered_span

    span = covered_span(_months(("2018-12", "2018-12"), ("2023-05", "2024-12")), "month")
    assert (span.first, span.last) == (pd.Timestamp("2023-05-01"), pd.Timestamp("2024-12-01"))
    assert (span.n_steps, span.n_total, span.n_empty) == (20, 73, 52)
    assert span.note.startswith("Analysed 20 months, 2023-05-01 to 2024-12-01: the longest run of months with data")
    assert "52 of the 73 months from the first to the last fall in gaps with no event at all" in span.note
    whole = covered_span(_months(("2024-01", "2024-06")), "month", start="2024-01-01", end="2024-06-30")
    assert whole.whole and whole.note == "" and whole.n_steps == 6
    # --since before the data: the months with no event at all are not analysed as zeros either
    early = covered_span(_months(("2024-03", "2024-06")), "month", start="2023-01-01")
    assert (early.first, early.n_steps, early.n_empty) == (pd.Timestamp("2024-03-01"), 4, 14)
    tie = covered_span(_months(("2024-01", "2024-03"), ("2024-05", "2024-07")), "month")
    assert tie.first == pd.Timestamp("2024-05-01")  # the latest of equally long runs
    with pytest.raises(ValidationError, match="at least 3 consecutive months with data; the longest run"):
        covered_span(_months(("2024-01", "2024-02"), ("2024-06", "2024-07")), "month")


def test_sparse_data_keeps_its_empty_steps_as_zeros():
    """Under one event a month: 3 empty months (about 2 expected) are zeros; 12 with 8 expected are a gap."""
    import pandas as pd

    from ctxrisk.analytics.emerging_run import GAP_EXPECTED_EVENTS, covered_span

    assert GAP_EXPECTED_EVENTS == 7.0
    sparse = _months(("2024-01", "2024-03"), ("2024-07", "2024-12"), per_month=1)  # 9 events over 12 months
    span = covered_span(sparse, "month")
    assert span.whole and span.n_steps == 12 and span.n_empty == 0
    long_gap = _months(("2023-01", "2023-12"), ("2025-01", "2025-12"), per_month=1)  # 24 events, 36 months
    span = covered_span(long_gap, "month")  # 12 empty months x 24/36 a month = 8 expected: a gap
    assert (span.first, span.n_steps, span.n_empty) == (pd.Timestamp("2025-01-01"), 12, 12)


@pytest.mark.parametrize(("units", "steps", "window"), [(1, 1, 0), (6, 3, 1), (40, 10, 2), (25, 4, 0), (7, 2, 5)])
def test_space_time_weights_are_the_time_band_times_the_neighbourhood(units, steps, window):
    a = sp.random(units, units, density=0.3, random_state=units, format="csr")
    w = ((a + a.T) > 0).astype(float)
    w.setdiag(0)
    w.eliminate_zeros()
    # the definition: bin (u, t) links to (v, s) for v in {u} | N(u) and t - window <= s <= t, except itself
    band = sp.diags(
        [np.ones(steps - d) for d in range(min(window, steps - 1) + 1)],
        [-d for d in range(min(window, steps - 1) + 1)],
        shape=(steps, steps),
    )
    expected = sp.kron(band, w + sp.eye(units), format="csr")
    expected.setdiag(0)
    expected.eliminate_zeros()
    got = space_time_weights(w, steps, time_step_window=window)
    assert got.shape == expected.shape and (got != (expected > 0)).nnz == 0
    assert set(got.data) <= {1.0} and got.has_sorted_indices and (got.diagonal() == 0).all()
