"""Tests for ctxrisk.analytics.forecast: rolling folds, equal-area scoring, the where-next ranking."""

from __future__ import annotations

from datetime import date

import h3
import numpy as np

from ctxrisk.analytics.forecast import METHODS, rolling_folds, score_fold, where_next_scores
from ctxrisk.analytics.units import UnitSpec, _cell_layout


def test_rolling_folds_move_a_month_at_a_time():
    folds = rolling_folds(date(2023, 5, 3), date(2024, 12, 31), train_months=6, test_months=1)
    assert len(folds) == 14  # tests 2023-11 .. 2024-12
    assert folds[0].train_start == date(2023, 5, 1) and folds[0].train_end == date(2023, 10, 31)
    assert folds[0].test_start == date(2023, 11, 1) and folds[-1].test_end == date(2024, 12, 31)
    assert rolling_folds(date(2024, 1, 1), date(2024, 3, 31), train_months=6, test_months=1) == []


def test_where_next_leads_with_counts_and_breaks_ties_by_z():
    s = where_next_scores(np.array([3.0, 3.0, 5.0, 0.0]), np.array([1.0, 2.0, -1.0, 9.0]))
    assert list(np.argsort(-s)) == [2, 1, 0, 3]


def test_every_method_selects_the_same_area():
    from ctxrisk.analytics.units import StudyUnits

    ids = np.array(sorted(h3.grid_disk(h3.latlng_to_cell(53.1, -2.44, 9), 4)), dtype=str)
    lat, lon, e, n, geoms, area, w, wdesc = _cell_layout(ids, weights="kring", k=1, distance_m=400.0)
    units = StudyUnits(UnitSpec("h3", 9), ids, [None] * ids.size, geoms, lat, lon, e, n, area, w, wdesc, "test", {})
    rng = np.random.default_rng(0)
    y_train = rng.poisson(1.0, ids.size).astype(float)
    y_train[:3] += 20
    y_test = y_train + rng.poisson(0.5, ids.size)
    xy = np.repeat(np.column_stack([e, n]), y_train.astype(int), axis=0)
    out = score_fold(units, y_train, y_test, xy, alpha=0.05, seed=1, k=5)
    assert list(out["method"]) == list(METHODS) and (out["n_selected"] == 5).all()
    best = out.set_index("method")["captured"]
    assert best["locations"] >= best["naive top-k"] and best.max() <= np.sort(y_test)[-5:].sum()
