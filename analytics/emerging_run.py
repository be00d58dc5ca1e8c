"""Emerging hot spot runs over the warehouse: a unit x week/month cube, space-time Gi* and the 17 categories.

Takes the same :class:`ctxrisk.analytics.parameters.HotspotParameters` as :func:`ctxrisk.analytics.hotspots.
run_hotspots` (unit, region, weights, filters, seed, alpha) plus ``time_bin``, ``time_step_window`` and
``trend_alpha``; writes ``marts.emerging_hotspots`` and ``marts.emerging_bins`` in one transaction and its
row of ``meta.hotspot_runs``. The statistic is :mod:`ctxrisk.analytics.emerging`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd

from ctxrisk.analytics.events import EventSelection, parse_period
from ctxrisk.analytics.marts import record_run
from ctxrisk.analytics.parameters import HotspotParameters
from ctxrisk.analytics.units import StudyUnits, _run_stamp, _theme_label, parse_unit, select_events
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.warehouse import transaction, write_mart

__all__ = ["CoveredSpan", "EmergingRun", "covered_span", "run_emerging", "time_steps"]

#: Bounds of the automatic permutation count of each space-time bin (see :func:`emerging_permutations`).
EMERGING_PERMUTATIONS = (999, 199_999)


def emerging_permutations(m: int, alpha: float) -> int:
    """Conditional permutations per bin when the parameters leave them automatic: ``ceil(m / (10 alpha)) - 1``.

    Benjamini-Hochberg runs within each time step over the ``m`` units; with this count ten bins tied at the
    smallest pseudo p-value reach ``q < alpha``. Bounded to 999-199,999 (each bin's null is simulated).
    """
    low, high = EMERGING_PERMUTATIONS
    return int(min(high, max(low, int(np.ceil(m / (10 * alpha))) - 1)))


def time_steps(
    local_time: pd.Series, time_bin: str, *, start: Any = None, end: Any = None
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Bin local times into consecutive weeks (Monday start) or months.

    Returns
    -------
    (pandas.DatetimeIndex, numpy.ndarray)
        The start of every step from the first to the last (or ``start``/``end`` when given), and each
        time's step number.
    """
    if time_bin == "week":
        floor = local_time.dt.normalize() - pd.to_timedelta(local_time.dt.day_of_week, unit="D")
        freq = "W-MON"
    elif time_bin == "month":
        floor = local_time.dt.to_period("M").dt.to_timestamp()
        freq = "MS"
    else:
        msg = f"time bin must be week or month, got {time_bin!r}"
        raise ValidationError(msg)
    first = floor.min() if start is None else pd.Timestamp(start)
    last = floor.max() if end is None else pd.Timestamp(end)
    if time_bin == "week":
        first = first - pd.Timedelta(days=first.weekday())
        last = last - pd.Timedelta(days=last.weekday())
    else:
        first, last = first.replace(day=1), last.replace(day=1)
    steps = pd.date_range(first, last, freq=freq)
    step_of = steps.get_indexer(pd.DatetimeIndex(floor)).astype(np.int64)
    return steps, step_of


@dataclass(frozen=True)
class CoveredSpan:
    """The time steps an emerging run analyses: the longest run of consecutive steps without a gap in the data.

    Steps with no event at all of the selected event types and sources (whatever the theme or hours), for
    longer than the data's rate makes likely (:func:`covered_span`), are a gap in the data, not counts of
    zero: police.uk files, for example, may be loaded for 2018-12 and for 2023-05 to 2024-12 only. Only the
    longest run of steps without such a gap (the latest on a tie) is analysed; events in other steps are left
    out and counted (``outside_covered_span``).

    Attributes
    ----------
    first, last : pandas.Timestamp or None
        Start of the first and last step analysed (None: no event at all).
    n_steps, n_total, n_empty : int
        Steps analysed; steps from the first to the last (or ``--since``/``--until``); steps in gaps.
    time_bin : str
        ``week`` or ``month``.
    """

    first: pd.Timestamp | None
    last: pd.Timestamp | None
    n_steps: int
    n_total: int
    n_empty: int
    time_bin: str

    @property
    def whole(self) -> bool:
        """True when no step of the range is in a gap (nothing is left out for coverage)."""
        return self.n_empty == 0

    @property
    def note(self) -> str:
        """One sentence for the analyst: what span is analysed and why (empty when the whole range is)."""
        if self.whole or self.first is None:
            return ""
        b = self.time_bin
        return (
            f"Analysed {self.n_steps:,} {b}s, {self.first.date()} to {self.last.date()}: the longest run of {b}s "
            f"with data. {self.n_empty:,} of the {self.n_total:,} {b}s from the first to the last fall in gaps with "
            f"no event at all (no data, not counts of zero), so they and the {b}s beyond them are not analysed"
        )

    def restrict(self, selection: EventSelection) -> EventSelection:
        """Leave out (and count) the selected events outside the span."""
        if self.whole or self.first is None:
            return selection
        floor = _step_floor(selection.events["local_time"], self.time_bin)
        outside = ((floor < self.first) | (floor > self.last)).to_numpy(bool)
        return selection.exclude(outside, "outside_covered_span")


def _step_floor(local_time: pd.Series, time_bin: str) -> pd.Series:
    if time_bin == "week":
        return local_time.dt.normalize() - pd.to_timedelta(local_time.dt.day_of_week, unit="D")
    return local_time.dt.to_period("M").dt.to_timestamp()


#: A run of empty steps is a gap in the data when at least this many events were expected in it at the range's
#: average rate: a Poisson chance under 1 in 1,000 (e^-7) of seeing none by chance.
GAP_EXPECTED_EVENTS = 7.0


def covered_span(local_time: pd.Series, time_bin: str, *, start: Any = None, end: Any = None) -> CoveredSpan:
    """The longest run of consecutive steps without a gap in the data (see :class:`CoveredSpan`).

    Steps run from ``start`` (or the first time) to ``end`` (or the last), as :func:`time_steps`. A run of
    ``g`` steps with no event at all is a gap when ``g`` times the average events per step of the whole range
    is at least :data:`GAP_EXPECTED_EVENTS`; shorter empty runs of sparse data are counts of zero and stay.

    Raises
    ------
    ValidationError
        When the longest run is shorter than 3 steps (the least emerging hot spot analysis takes).
    """
    times = local_time.dropna().reset_index(drop=True)
    if times.empty:
        return CoveredSpan(None, None, 0, 0, 0, time_bin)
    steps, step_of = time_steps(times, time_bin, start=start, end=end)
    counts = np.bincount(step_of[step_of >= 0], minlength=len(steps))
    rate = counts.sum() / len(steps)
    gap = np.zeros(len(steps), dtype=bool)
    i = 0
    while i < len(steps):
        j = i
        while j < len(steps) and counts[j] == 0:
            j += 1
        if j > i and rate * (j - i) >= GAP_EXPECTED_EVENTS:
            gap[i:j] = True
        i = max(j, i + 1)
    best, best_len, run = 0, 0, 0
    for i, ok in enumerate(~gap):
        run = run + 1 if ok else 0
        if ok and run >= best_len:  # ">=": the latest of equally long runs
            best, best_len = i - run + 1, run
    if best_len < 3:
        msg = (
            f"emerging hot spot analysis needs at least 3 consecutive {time_bin}s with data; the longest run "
            f"without a gap is {best_len} ({int(gap.sum()):,} of {len(steps):,} {time_bin}s are gaps with no "
            "event at all)"
        )
        raise ValidationError(msg)
    return CoveredSpan(steps[best], steps[best + best_len - 1], best_len, len(steps), int(gap.sum()), time_bin)


def _coverage_times(
    con: duckdb.DuckDBPyConnection, settings: Settings, params: HotspotParameters, kind: str, sel: EventSelection
) -> pd.Series:
    """Local times that say which steps hold data: the selected event types and sources, any theme or hour."""
    if not params.themes and not params.hours:
        return sel.events["local_time"]
    wider = dataclasses.replace(params, themes=None, hours=None)
    every = select_events(con, settings, wider, kind=kind, extra=("time_precision", "local_time"))
    return every.require_precision("week" if params.time_bin == "week" else "month").events["local_time"]


@dataclass(frozen=True)
class EmergingRun:
    """One emerging hot spot run: per-unit categories (``frame``) and per-bin results (``bins``)."""

    frame: pd.DataFrame
    bins: pd.DataFrame
    selection: EventSelection
    parameters: dict[str, Any]
    run_id: str
    run_at: datetime
    result: Any
    units: StudyUnits


def run_emerging(
    con: duckdb.DuckDBPyConnection,
    params: HotspotParameters | None = None,
    *,
    settings: Settings,
    inference: Literal["permutation", "analytic"] = "permutation",
    write: bool = True,
    **options: Any,
) -> EmergingRun:
    """Emerging hot spot analysis on a unit x week/month cube; writes ``marts.emerging_hotspots`` and
    ``marts.emerging_bins`` in one transaction.

    Weekly bins leave out month-precision events (counted as ``coarse_for_week``); monthly bins take every
    event. The steps run from ``since`` (or the first event) to ``until`` (or the last event), empty steps
    included. ``params`` as :func:`ctxrisk.analytics.hotspots.run_hotspots` (None: built from ``options``
    and settings); ``inference`` as :func:`ctxrisk.analytics.emerging.emerging_hot_spots`.
    """
    from ctxrisk.analytics.emerging import emerging_hot_spots
    from ctxrisk.analytics.hotspots import analyse_region, run_row

    if params is None:
        params = HotspotParameters.from_settings(settings, **options)
    tb = params.time_bin
    spec = parse_unit(params.unit, settings=settings)
    if spec.kind == "points":
        msg = "emerging hot spots need areas or H3 cells, not points"
        raise ValidationError(msg)
    sel = select_events(con, settings, params, kind=spec.kind, extra=("time_precision", "local_time"))
    sel = sel.require_precision("week" if tb == "week" else "month")
    seed_v, alpha_v, t_alpha, window = params.seed, params.alpha, params.trend_alpha, params.time_step_window
    since, until = params.since, params.until
    start = parse_period(since)[0] if since else None
    end = (pd.Timestamp(parse_period(until)[1]) - pd.Timedelta(days=1)) if until else None
    span = covered_span(_coverage_times(con, settings, params, spec.kind, sel), tb, start=start, end=end)
    sel = span.restrict(sel)
    start, end = span.first, span.last
    units, reason, sel, pos, _ = analyse_region(con, params, settings=settings, selection=sel)
    if params.permutations is None:
        # The units tested in a time step: with a time window, a unit with no spatial neighbour still has
        # itself in the steps before (so it is tested too).
        tested = units.n if window > 0 else int((np.diff(units.w.indptr) > 0).sum())
        perms = emerging_permutations(tested, params.alpha)
    else:
        perms = int(params.permutations)
    if params.inference == "normal":
        perms, inference = 0, "analytic"
    placed = pos >= 0
    if not placed.any():
        msg = f"no events fall in the study region ({sel.note()}): there is nothing to analyse"
        raise ValidationError(msg)
    steps, step_of = time_steps(sel.events["local_time"][placed].reset_index(drop=True), tb, start=start, end=end)
    cube = np.zeros((units.n, len(steps)))
    np.add.at(cube, (pos[placed], step_of), 1.0)
    res = emerging_hot_spots(
        cube,
        units.w,
        time_step_window=window,
        permutations=perms,
        seed=seed_v,
        alpha=alpha_v,
        trend_alpha=t_alpha,
        inference=inference,
    )
    run_id, run_at = _run_stamp()
    row = run_row(
        params,
        analysis="emerging",
        run_id=run_id,
        run_at=run_at,
        units=units,
        scale_reason=reason,
        selection=sel,
        events_used=int(placed.sum()),
    )
    row.update(permutations=res.permutations, inference=f"space-time Gi*, {inference}")
    info = {
        "unit": units.spec.label,
        "time_bin": tb,
        "n_steps": len(steps),
        "first_step": str(steps[0].date()),
        "last_step": str(steps[-1].date()),
        "weights": units.weights,
        "time_step_window": window,
        "permutations": res.permutations,
        "seed": seed_v,
        "alpha": alpha_v,
        "trend_alpha": t_alpha,
        "inference": inference,
        "fdr": "Benjamini-Hochberg within each time step",
        "coverage": span.note,
        "study_region": units.region,
        "n_units": units.n,
        "filters": sel.filters,
    }
    summary = res.to_frame()
    frame = pd.DataFrame(
        {
            "unit_id": units.ids,
            "unit_type": units.spec.label,
            "name": units.names,
            "category": summary["category"].to_numpy(),
            "count": cube.sum(axis=1).astype(np.int64),
            "n_hot": summary["n_hot"].to_numpy(np.int64),
            "n_cold": summary["n_cold"].to_numpy(np.int64),
            "final_bin": summary["final_bin"].to_numpy(np.int64),
            "final_z": summary["final_z"].to_numpy(float),
            "trend": summary["trend"].to_numpy(),
            "trend_tau": summary["trend_tau"].to_numpy(float),
            "trend_z": summary["trend_z"].to_numpy(float),
            "trend_p": summary["trend_p"].to_numpy(float),
            "latitude": units.latitude,
            "longitude": units.longitude,
            "geometry_wkt": units.geometry.to_wkt().to_numpy(),
            "time_bin": tb,
            "n_steps": len(steps),
            "first_step": steps[0].date(),
            "last_step": steps[-1].date(),
            "theme": _theme_label(params.themes),
            "run_id": run_id,
            "run_at": run_at,
            "events_used": int(placed.sum()),
        }
    )
    # Per-bin results for units with any event or any significant bin (the rest are all-zero, no pattern).
    keep = np.flatnonzero((cube.sum(axis=1) > 0) | (res.bin != 0).any(axis=1))
    uu, tt = np.meshgrid(keep, np.arange(len(steps)), indexing="ij")
    uu, tt = uu.ravel(), tt.ravel()
    bins = pd.DataFrame(
        {
            "unit_id": units.ids[uu],
            "step": tt.astype(np.int64),
            "step_start": steps[tt].date,
            "count": cube[uu, tt].astype(np.int64),
            "z": res.z[uu, tt],
            "p": res.p[uu, tt],
            "q": res.q[uu, tt],
            "bin": res.bin[uu, tt].astype(np.int64),
            "run_id": run_id,
        }
    )
    if write:
        with transaction(con):
            write_mart(con, "emerging_hotspots", frame)
            write_mart(con, "emerging_bins", bins)
            record_run(con, row)
    return EmergingRun(frame, bins, sel, info, run_id, run_at, res, units)
