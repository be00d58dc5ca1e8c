"""Gi* hot spots of each theme, for the whole run and each calendar period, on the whole run's units.

:func:`run_theme_hotspots` writes ``marts.hotspot_themes`` (``pipelines/sql/marts/073_hotspot_themes.sql``): for
every configured theme, the Gi* run of that theme's events alone over the whole period (``period = 'all'``)
and over each calendar quarter, on the study region, unit and weights of the whole-run analysis with its
parameters. Each theme and period is a test of its own: its own Benjamini-Hochberg FDR over the region's units
and its own row of ``meta.hotspot_runs`` (analysis ``theme``). With the automatic permutation count its
permutation p-values are exact (``GiStar(permutations="exact")``: the same null, no Monte-Carlo error, a cost
that does not grow with units x permutations, so the scheduled run can always compute them); a count the run
fixed is simulated as the run's own test is. Only significant units
(``bin != 0``) are stored: the steering map's theme filter draws those and nothing else.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ctxrisk.analytics.gistar import GiStar
from ctxrisk.analytics.gistar_exact import exact_fits
from ctxrisk.analytics.gistar_groups import GroupedGiStar
from ctxrisk.analytics.hotspots import Statistic, _statistic, analyse_region, calendar_quarters, run_row
from ctxrisk.analytics.marts import record_run, replace_mart
from ctxrisk.analytics.parameters import HotspotParameters
from ctxrisk.analytics.units import StudyUnits, _counts, _run_stamp, parse_unit, place_events, select_events
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.warehouse import transaction

__all__ = ["ALL_PERIOD", "periods_of", "run_theme_hotspots", "theme_list"]

#: The ``period`` of a theme's whole-run rows.
ALL_PERIOD = "all"


def theme_list(params: HotspotParameters, settings: Settings, present: Any) -> list[str]:
    """The themes to analyse: the run's own (``--theme``), else ``settings.themes``, else those in the data.

    Parameters
    ----------
    present : iterable of str
        The themes of the selected events (used when no theme is configured).
    """
    if params.themes:
        return [str(t) for t in params.themes]
    if settings.themes:
        return [str(t) for t in settings.themes]
    return sorted({str(t) for t in present if t is not None and t == t})


def periods_of(frame: pd.DataFrame) -> list[tuple[str, date, date]]:
    """``(label, first day, last day)`` of each period of a ``marts.hotspot_periods`` frame, in its order."""
    if not len(frame):
        return []
    seen = frame[["period", "period_start", "period_end"]].drop_duplicates("period")
    return [(str(p), pd.Timestamp(a).date(), pd.Timestamp(b).date()) for p, a, b in seen.itertuples(index=False)]


def _baseline(
    con: duckdb.DuckDBPyConnection, params: HotspotParameters, settings: Settings, units: StudyUnits
) -> tuple[Any, Any]:
    """The run's baseline on ``units``: ``(residents per unit or None, (days, unit) of every incident or None)``.

    As :func:`ctxrisk.analytics.hotspots.run_hotspots`: ``population`` tests against residents,
    ``all-incidents`` against every incident (any theme or source) of the same period, ``none`` is plain Gi*.
    """
    if params.baseline == "population":
        from ctxrisk.analytics.population import population_of_units

        return population_of_units(con, units, settings=settings), None
    if params.baseline != "all-incidents":
        return None, None
    everything = params.replace(themes=None, sources=None)
    sel = select_events(con, settings, everything, kind=units.spec.kind, extra=("local_time",))
    sel, pos = place_events(con, units, sel)
    placed = pos >= 0
    return None, (sel.events["local_time"][placed].dt.date.to_numpy(), pos[placed])


def _theme_statistic(
    y: np.ndarray, units: StudyUnits, params: HotspotParameters, base: np.ndarray | None
) -> tuple[Statistic, str | None]:
    """The theme's test and, when it is the exact permutation p-value, the inference label of its run.

    Gi* with the automatic permutation count (total or conditional permutation on H3 cells, no baseline)
    evaluates the permutation null exactly (:class:`ctxrisk.analytics.gistar.GiStar` with
    ``permutations="exact"``): the same test as the simulated one without its Monte-Carlo error, at a cost
    that grows with the theme's distinct counts rather than with units x permutations. Otherwise (a baseline,
    polygon units, the normal approximation, a permutation count the run fixed, or counts too large for the
    exact table) the run's own test.
    """
    simulated = params.inference in ("total", "conditional") and params.permutations is None
    if base is not None or units.spec.kind == "polygon" or not simulated or not exact_fits(y, np.diff(units.w.indptr)):
        return _statistic(y, units, params, base), None
    options: dict[str, Any] = {"seed": params.seed, "alternative": params.alternative, "alpha": params.alpha}
    gi: GiStar | GroupedGiStar
    if units.n_groups > 1:  # separate groups of the region, each its own exact null; one FDR over all
        gi = GroupedGiStar(y, units.w, units.groups, permutations="exact", randomisation=params.inference, **options)
    else:
        gi = GiStar(y, units.w, permutations="exact", randomisation=params.inference, **options)
    stat = Statistic(gi.z, gi.p_sim, gi.p_norm, gi.q, gi.bin, gi.hot, gi.cold, gi.n_neighbours, gi.alpha, 0, gi)
    return stat, f"{params.inference} (exact)"


def run_theme_hotspots(
    con: duckdb.DuckDBPyConnection,
    params: HotspotParameters | None = None,
    *,
    settings: Settings,
    periods: list[tuple[str, date, date]] | None = None,
    write: bool = True,
    **options: Any,
) -> pd.DataFrame:
    """Gi* of each theme's events, whole run and per period, on the whole run's units -> ``marts.hotspot_themes``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse (``staging.events``).
    params : HotspotParameters or None
        The whole run's parameters (unit, region, weights, seed, alpha, filters, baseline: a theme is tested
        against the same baseline, residents or every incident of the period); None: built from
        ``options`` and settings. The unit should be the one the whole run resolved (``h3:9``, not
        ``auto``), so that the cells are the same.
    settings : Settings
        ``themes`` (the themes analysed when ``params.themes`` is empty).
    periods : list of (label, first day, last day) or None
        The periods besides the whole run; None: every calendar quarter of the selected events.
    write : bool
        Replace ``marts.hotspot_themes`` and record each run in ``meta.hotspot_runs`` (one transaction).

    Returns
    -------
    pandas.DataFrame
        The mart's rows: significant units only, by theme and period. A theme or period with no events, or
        the same count in every unit, has no rows (and no run).

    Raises
    ------
    ValidationError
        For points as the unit, or when no event falls in the study region.
    """
    if params is None:
        params = HotspotParameters.from_settings(settings, **options)
    spec = parse_unit(params.unit, settings=settings)
    if spec.kind == "points":
        msg = "per-theme hot spots need areas or H3 cells, not points"
        raise ValidationError(msg)
    sel = select_events(con, settings, params, kind=spec.kind, extra=("local_time", "theme"))
    units, reason, sel, pos, _ = analyse_region(con, params, settings=settings, selection=sel)
    placed = pos >= 0
    if not placed.any():
        msg = f"no events fall in the study region ({sel.note()}): there is nothing to analyse"
        raise ValidationError(msg)
    days = sel.events["local_time"][placed].dt.date.to_numpy()
    theme_of = sel.events["theme"][placed].astype(object).to_numpy()
    where = pos[placed]
    first, last = min(days), max(days)
    wanted = [(ALL_PERIOD, first, last), *(calendar_quarters(first, last) if periods is None else periods)]
    fixed = params.replace(unit=units.spec.label)
    residents, incidents = _baseline(con, params, settings, units)
    frames, rows = [], []
    day = days.astype("datetime64[D]")
    for theme in theme_list(params, settings, set(theme_of)):
        of_theme = np.flatnonzero(theme_of == theme)
        for label, start, end in wanted:
            in_period = (day[of_theme] >= np.datetime64(start, "D")) & (day[of_theme] <= np.datetime64(end, "D"))
            y = _counts(where[of_theme[in_period]], units.n)
            if y.sum() == 0 or np.ptp(y) == 0:
                continue
            run_params = fixed.replace(themes=(theme,), since=str(start), until=str(end))
            base = residents
            if incidents is not None:  # every incident of the period, on the same units
                base = _counts(incidents[1][(incidents[0] >= start) & (incidents[0] <= end)], units.n)
            stat, exact = _theme_statistic(y, units, run_params, base)
            run_id, run_at = _run_stamp()
            row = run_row(
                run_params,
                analysis="theme",
                run_id=run_id,
                run_at=run_at,
                units=units,
                scale_reason=reason,
                selection=sel,
                events_used=int(y.sum()),
                stat=stat,
            )
            if exact:
                row["inference"] = exact
            rows.append(row)
            keep = np.flatnonzero(stat.bin != 0)
            frames.append(
                pd.DataFrame(
                    {
                        "theme": theme,
                        "period": label,
                        "period_start": start,
                        "period_end": end,
                        "unit_id": units.ids[keep],
                        "unit_type": units.spec.label,
                        "count": y[keep].astype(np.int64),
                        "z": stat.z[keep],
                        "p": stat.p[keep],
                        "q": stat.q[keep],
                        "bin": stat.bin[keep].astype(np.int64),
                        "hot": stat.hot[keep],
                        "cold": stat.cold[keep],
                        "latitude": units.latitude[keep],
                        "longitude": units.longitude[keep],
                        "geometry_wkt": units.geometry.iloc[keep].to_wkt().to_numpy(),
                        "run_id": run_id,
                        "events_used": int(y.sum()),
                    }
                )
            )
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["theme", "period", "unit_id"])
    if write:
        with transaction(con):
            replace_mart(con, "hotspot_themes", frame)
            for row in rows:
                record_run(con, row)
    return frame
