"""Forecast back-tests: rankings of the training period's units against the test period's events, at equal area.

For each fold (a training window and the test window after it) every method ranks the units of one study
region from the training events only, and the top ``k`` units of each are scored against the test events
with hit rate, PAI and PEI (:func:`ctxrisk.analytics.backtest.backtest`). ``k`` is the same for every
method of a fold -- by default the number of units Gi* flags hot in the training window (at least 1% of
the units when it flags fewer) -- so the methods are compared at **equal area** (H3 cells of one
resolution have equal areas).

Methods (``METHODS``):

* ``naive top-k`` -- units by training count (the analyst's baseline: "where it happened most");
* ``kde`` -- kernel density of the training events at each unit centre (scikit-learn ``KernelDensity``,
  Gaussian kernel, bandwidth chosen by held-out likelihood among 0.25-2 x the unit's neighbour spacing,
  :func:`kde_bandwidth`);
* ``gi* flagged`` -- the units Gi* flags hot (``q < alpha``, ``z > 0``), by z, then by z alone to fill up
  to ``k`` when fewer are flagged;
* ``gi* z`` -- units by Gi* z;
* ``locations`` -- the "where next" ranking of ``ctxrisk locations``: the place-level score's parts that
  exist for every unit (events there, Gi* z, trend) -- see :func:`where_next_scores`.

Rolling origin (:func:`rolling_folds`): train on ``train_months`` consecutive months, test on the next
``test_months``, moving the origin a month at a time over the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from sklearn.neighbors import KernelDensity

from ctxrisk.analytics.backtest import backtest
from ctxrisk.analytics.events import parse_period
from ctxrisk.analytics.gistar import GiStar, auto_permutations
from ctxrisk.analytics.gistar_groups import GroupedGiStar
from ctxrisk.analytics.marts import record_run, replace_mart
from ctxrisk.analytics.parameters import HotspotParameters
from ctxrisk.analytics.scale import neighbour_spacing_m
from ctxrisk.analytics.units import StudyUnits, _counts, _run_stamp, parse_unit, select_events
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.geo import wgs84_to_bng
from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.warehouse import transaction

__all__ = [
    "METHODS",
    "BacktestRun",
    "Fold",
    "rank_units",
    "rolling_folds",
    "run_backtest",
    "score_fold",
    "where_next_scores",
]

METHODS: tuple[str, ...] = ("naive top-k", "kde", "gi* flagged", "gi* z", "locations")


@dataclass(frozen=True)
class Fold:
    """One training window and the test window after it (local dates, both ends inclusive)."""

    train_start: date
    train_end: date
    test_start: date
    test_end: date


def _month_start(d: date, add: int = 0) -> date:
    m = d.year * 12 + d.month - 1 + add
    return date(m // 12, m % 12 + 1, 1)


def rolling_folds(first: date, last: date, *, train_months: int, test_months: int) -> list[Fold]:
    """Every rolling-origin fold of whole months between ``first`` and ``last`` (origin moves a month)."""
    out = []
    start = _month_start(first)
    while True:
        test_start = _month_start(start, train_months)
        test_end = _month_start(test_start, test_months) - timedelta(days=1)
        if test_end > last:
            return out
        out.append(Fold(start, test_start - timedelta(days=1), test_start, test_end))
        start = _month_start(start, 1)


def where_next_scores(y_train: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The "where next" ranking score of every unit: training count first, Gi* z to break ties.

    The rolling back-tests over the real City of London months (docs/hotspots.md, "Forecasts") show that
    ranking cells by their own past events captures more of the next months' events than Gi* flags or
    z at equal area, so the default forecast ranking leads with the count and uses z only between equal
    counts (a busier neighbourhood is the better bet).
    """
    zz = np.nan_to_num(np.asarray(z, dtype=float))
    span = float(np.ptp(zz)) or 1.0
    return np.asarray(y_train, dtype=float) + 0.5 * (zz - zz.min()) / span


#: Bandwidths tried for the KDE, as multiples of the units' neighbour spacing.
KDE_BANDWIDTHS = (0.25, 0.5, 1.0, 2.0)


def kde_bandwidth(train_xy: np.ndarray, units: StudyUnits, *, seed: int = 0) -> float:
    """The KDE bandwidth (metres) of :data:`KDE_BANDWIDTHS` x spacing with the best held-out likelihood.

    The training events are split at random into halves; each bandwidth is fitted on one half and scored
    (mean log-likelihood) on the other, both ways.
    """
    spacing = neighbour_spacing_m(units.spec.resolution) if units.spec.kind == "h3" else 300.0
    if len(train_xy) < 10:
        return spacing
    half = np.random.default_rng(seed).random(len(train_xy)) < 0.5
    scores = []
    for factor in KDE_BANDWIDTHS:
        bw = factor * spacing
        fit = 0.0
        for a, b in ((half, ~half), (~half, half)):
            fit += KernelDensity(bandwidth=bw).fit(train_xy[a]).score_samples(train_xy[b]).mean()
        scores.append(fit)
    return float(KDE_BANDWIDTHS[int(np.argmax(scores))] * spacing)


def rank_units(
    method: str,
    units: StudyUnits,
    y_train: np.ndarray,
    train_xy: np.ndarray,
    gi: GiStar | GroupedGiStar,
) -> np.ndarray:
    """Unit rows in ranked order (best first) for ``method``; ties by unit id."""
    tie = np.arange(units.n)
    if method == "naive top-k":
        key = y_train
    elif method == "kde":
        kde = KernelDensity(kernel="gaussian", bandwidth=kde_bandwidth(train_xy, units)).fit(train_xy)
        key = kde.score_samples(np.column_stack([units.easting, units.northing]))
    elif method == "gi* flagged":
        key = np.where(gi.hot, 1e6, 0.0) + gi.z
    elif method == "gi* z":
        key = gi.z
    elif method == "locations":
        key = where_next_scores(y_train, gi.z)
    else:
        msg = f"unknown method {method!r}; allowed: {list(METHODS)}"
        raise ValueError(msg)
    return np.lexsort((tie, -np.nan_to_num(np.asarray(key, dtype=float), nan=-np.inf)))


def score_fold(
    units: StudyUnits,
    y_train: np.ndarray,
    y_test: np.ndarray,
    train_xy: np.ndarray,
    *,
    alpha: float,
    seed: int,
    k: int | None = None,
) -> pd.DataFrame:
    """Every method of :data:`METHODS` scored on one fold at equal area; one row per method."""
    options: dict[str, Any] = {"seed": seed, "alpha": alpha, "alternative": "greater", "randomisation": "total"}
    gi: GiStar | GroupedGiStar
    if units.n_groups > 1:  # separate groups of the region are analysed apart, as a hot spot run does
        gi = GroupedGiStar(y_train, units.w, units.groups, **options)
    else:
        m = int((np.diff(units.w.indptr) > 0).sum())
        gi = GiStar(y_train, units.w, permutations=auto_permutations(m, alpha), **options)
    n_sel = int(k) if k is not None else max(int(gi.hot.sum()), int(np.ceil(0.01 * units.n)))
    rows = []
    for method in METHODS:
        order = rank_units(method, units, y_train, train_xy, gi)
        chosen = np.zeros(units.n, dtype=bool)
        chosen[order[:n_sel]] = True
        res = backtest(chosen, units.area_m2, y_test)
        rows.append(
            {
                "method": method,
                "n_selected": int(chosen.sum()),
                "selected_area_km2": res.flagged_area / 1e6,
                "total_area_km2": res.total_area / 1e6,
                "area_share": res.area_share,
                "train_events": int(y_train.sum()),
                "test_events": int(res.total),
                "captured": float(res.captured),
                "hit_rate": res.hit_rate,
                "pai": res.pai,
                "pei": res.pei,
                "gi_flagged": int(gi.hot.sum()),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class BacktestRun:
    """A back-test: one row per fold and method (``frame``, the ``marts.hotspot_backtest`` rows) and a summary.

    ``summary`` has one row per method: folds, mean hit rate, PAI and PEI, and ``captured_vs_naive`` (the
    method's test events captured over the naive top-k's, summed over folds).
    """

    frame: pd.DataFrame
    summary: pd.DataFrame
    parameters: dict
    run_id: str

    def verdict(self) -> str:
        """Which ranking forecast best, and what that means for Gi* flags, in plain words."""
        s = self.summary.set_index("method")
        best = str(s["captured"].idxmax())
        gi = s.loc["gi* flagged", "captured_vs_naive"]
        text = (
            f"Best forecast at equal area: {best} ({s.loc[best, 'captured']:,.0f} test events captured over "
            f"{len(self.frame['fold'].unique())} fold(s)). Gi* flags captured {gi:.0%} of what the naive top-k did"
        )
        if best != "gi* flagged":
            text += (
                ": Gi* flags mark where events are concentrated beyond chance, not where the next ones will be; "
                "for 'where next' use `ctxrisk locations --rank-by where-next`, which ranks by past events with "
                "Gi* z between equal counts (the 'locations' row)"
            )
        return text + "."


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-method totals and means over folds (see :class:`BacktestRun`)."""
    g = frame.groupby("method", sort=False)
    out = g.agg(
        folds=("fold", "nunique"),
        captured=("captured", "sum"),
        test_events=("test_events", "sum"),
        mean_area_share=("area_share", "mean"),
        mean_hit_rate=("hit_rate", "mean"),
        mean_pai=("pai", "mean"),
        mean_pei=("pei", "mean"),
    ).reset_index()
    naive = float(out.loc[out["method"] == "naive top-k", "captured"].iloc[0]) or np.nan
    out["captured_vs_naive"] = out["captured"] / naive
    return out


def _folds(days: np.ndarray, train: str | None, test: str | None, train_months: int, test_months: int) -> list[Fold]:
    if (train is None) != (test is None):
        msg = "give both --train and --test, or neither (rolling-origin folds over the data)"
        raise ValidationError(msg)
    if train is not None and test is not None:
        tr0, tr1 = parse_period(train)
        te0, te1 = parse_period(test)
        return [Fold(tr0, tr1 - timedelta(days=1), te0, te1 - timedelta(days=1))]
    folds = rolling_folds(min(days), max(days), train_months=train_months, test_months=test_months)
    if not folds:
        msg = (
            f"the events span {min(days)} to {max(days)}: too short for {train_months} training and "
            f"{test_months} test month(s); give --train-months/--test-months or --train/--test"
        )
        raise ValidationError(msg)
    return folds


def run_backtest(
    con: duckdb.DuckDBPyConnection,
    params: HotspotParameters | None = None,
    *,
    settings: Settings,
    train: str | None = None,
    test: str | None = None,
    train_months: int = 6,
    test_months: int = 1,
    k: int | None = None,
    write: bool = True,
    **options: Any,
) -> BacktestRun:
    """Back-test every method of :data:`METHODS` on one fold (``train``/``test``) or rolling-origin folds.

    The units and study region are those of the whole selection (both periods), so every fold and method
    divides by the same area. Writes ``marts.hotspot_backtest`` (one row per fold and method) and the run's
    row of ``meta.hotspot_runs``.
    """
    from ctxrisk.analytics.hotspots import analyse_region, run_row

    if params is None:
        params = HotspotParameters.from_settings(settings, **options)
    spec0 = parse_unit(params.unit, settings=settings)
    if spec0.kind == "points":
        msg = "back-tests need areas or H3 cells, not points"
        raise ValidationError(msg)
    sel = select_events(con, settings, params, kind=spec0.kind, extra=("local_time",))
    units, reason, sel, pos, _ = analyse_region(con, params, settings=settings, selection=sel)
    placed = pos >= 0
    ev = sel.events[placed]
    days = ev["local_time"].dt.date.to_numpy()
    if not len(days):
        msg = f"no events fall in the study region ({sel.note()}): there is nothing to back-test"
        raise ValidationError(msg)
    e, n = wgs84_to_bng(ev["latitude"].to_numpy(float), ev["longitude"].to_numpy(float))
    xy = np.column_stack([np.asarray(e), np.asarray(n)])
    run_id, run_at = _run_stamp()
    frames = []
    for i, fold in enumerate(_folds(days, train, test, train_months, test_months), start=1):
        tr = (days >= fold.train_start) & (days <= fold.train_end)
        te = (days >= fold.test_start) & (days <= fold.test_end)
        if not tr.any() or not te.any():
            continue
        y_train, y_test = _counts(pos[placed][tr], units.n), _counts(pos[placed][te], units.n)
        if np.ptp(y_train) == 0:
            continue
        scored = score_fold(units, y_train, y_test, xy[tr], alpha=params.alpha, seed=params.seed, k=k)
        frames.append(scored.assign(fold=i, **{f: getattr(fold, f) for f in fold.__dataclass_fields__}))
    if not frames:
        msg = "no fold has events in both its training and its test window"
        raise ValidationError(msg)
    frame = pd.concat(frames, ignore_index=True).assign(
        run_id=run_id, unit_type=units.spec.label, n_units=units.n, run_at=run_at
    )
    row = run_row(
        params,
        analysis="backtest",
        run_id=run_id,
        run_at=run_at,
        units=units,
        scale_reason=reason,
        selection=sel,
        events_used=int(placed.sum()),
    )
    row.update(inference="total", permutations=None)
    if write:
        with transaction(con):
            replace_mart(con, "hotspot_backtest", frame.drop(columns=["gi_flagged"]))
            record_run(con, row)
    return BacktestRun(frame, summarise(frame), row, run_id)
