"""Hot spot runs over the warehouse: Gi* (or a baseline test) per unit, per period, and point clusters.

A run takes one :class:`ctxrisk.analytics.parameters.HotspotParameters` (resolved from settings once, by the
CLI or the scheduled run), picks the scale when asked (:mod:`ctxrisk.analytics.scale`), builds the study
region and weights (:mod:`ctxrisk.analytics.units`), runs the statistic (:mod:`ctxrisk.analytics.gistar`,
:mod:`ctxrisk.analytics.baselines`) and writes ``marts.hotspots`` (or ``marts.point_clusters``) with one row
of ``meta.hotspot_runs`` holding its parameters. Per-period hot spots for the steering map's selector are
:func:`run_hotspot_periods` (``marts.hotspot_periods``). The method, study region and defaults are
documented in ``docs/hotspots.md``.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ctxrisk.analytics.baselines import BaselineGi
from ctxrisk.analytics.emerging_run import EmergingRun, run_emerging, time_steps
from ctxrisk.analytics.events import EventSelection, parse_period
from ctxrisk.analytics.gistar import GiStar, auto_permutations
from ctxrisk.analytics.gistar_groups import GroupedGiStar
from ctxrisk.analytics.marts import record_run, replace_mart
from ctxrisk.analytics.parameters import HotspotParameters
from ctxrisk.analytics.scale import choose_resolution
from ctxrisk.analytics.units import (
    StudyUnits,
    UnitSpec,
    _counts,
    _run_stamp,
    _theme_label,
    build_units,
    event_cells,
    parse_unit,
    place_events,
    select_events,
)
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.geo import bng_to_wgs84, wgs84_to_bng
from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.warehouse import transaction, write_mart

logger = logging.getLogger(__name__)

__all__ = [
    "EmergingRun",
    "HotspotResult",
    "StudyUnits",
    "UnitSpec",
    "analyse_region",
    "load_hotspots",
    "parse_unit",
    "resolve_unit",
    "run_emerging",
    "run_hotspot_periods",
    "run_hotspots",
    "run_point_clusters",
    "time_steps",
]

HOTSPOT_COLUMNS = [
    "unit_id",
    "unit_type",
    "name",
    "count",
    "z",
    "p",
    "p_norm",
    "q",
    "bin",
    "hot",
    "cold",
    "n_neighbours",
    "baseline_count",
    "latitude",
    "longitude",
    "area_m2",
    "geometry_wkt",
    "theme",
    "run_id",
    "run_at",
    "events_used",
]


def resolve_unit(params: HotspotParameters, *, settings: Settings, located: pd.DataFrame) -> tuple[UnitSpec, str]:
    """The unit to use and why: ``auto`` is resolved from the spacing of ``located`` events."""
    spec = parse_unit(params.unit, settings=settings)
    if spec.kind != "auto":
        return spec, f"unit set: {spec.label}"
    if located.empty:
        msg = "no located events match the filters: there is nothing to analyse"
        raise ValidationError(msg)
    e, n = wgs84_to_bng(located["latitude"].to_numpy(float), located["longitude"].to_numpy(float))
    choice = choose_resolution(np.asarray(e), np.asarray(n))
    return UnitSpec("h3", resolution=choice.resolution), choice.reason()


@dataclass(frozen=True)
class Statistic:
    """The per-unit result of the test a run used (Gi* or a baseline test), as the mart needs it."""

    z: np.ndarray
    p: np.ndarray
    p_norm: np.ndarray
    q: np.ndarray
    bin: np.ndarray
    hot: np.ndarray
    cold: np.ndarray
    n_neighbours: np.ndarray
    alpha: float
    permutations: int
    gistar: GiStar | GroupedGiStar | None


def _statistic(y: np.ndarray, units: StudyUnits, params: HotspotParameters, base: np.ndarray | None) -> Statistic:
    """Gi* of ``y`` (``base`` None), or the baseline test of ``y`` against ``base``."""
    k = np.diff(units.w.indptr).astype(np.int64)
    if base is None and units.spec.kind == "polygon":
        # Areas of unequal size (LSOAs are equal in population, not area): counts are not exchangeable under
        # complete spatial randomness, so the test is against area, the binomial null of a constant intensity.
        base = units.area_m2
    if base is not None:
        kind = "all-incidents" if params.baseline == "all-incidents" else "population"
        b = BaselineGi(y, base, units.w, kind=kind, alternative=params.alternative, alpha=params.alpha)
        from scipy import stats

        p_norm = stats.norm.sf(b.z) if params.alternative == "greater" else 2 * stats.norm.sf(np.abs(b.z))
        return Statistic(b.z, b.p, p_norm, b.q, b.bin, b.hot, b.cold, k, params.alpha, 0, None)
    randomisation = "conditional" if params.inference == "conditional" else "total"
    options: dict[str, Any] = {
        "seed": params.seed,
        "alternative": params.alternative,
        "alpha": params.alpha,
        "randomisation": randomisation,
    }
    fixed = 0 if params.inference == "normal" else params.permutations
    if units.n_groups > 1:
        # Separate areas are analysed apart (each its own Gi* and null, a permutation count budgeted from its
        # own units), with one FDR over the units of all of them.
        gi: GiStar | GroupedGiStar = GroupedGiStar(y, units.w, units.groups, permutations=fixed, **options)
        perms = gi.permutations
    else:
        perms = fixed if fixed is not None else auto_permutations(int((k > 0).sum()), params.alpha)
        gi = GiStar(y, units.w, permutations=perms, **options)
    p = gi.p_sim if perms else gi.p_norm
    return Statistic(gi.z, p, gi.p_norm, gi.q, gi.bin, gi.hot, gi.cold, gi.n_neighbours, gi.alpha, perms, gi)


@dataclass(frozen=True)
class HotspotResult:
    """One hot spot run.

    Attributes
    ----------
    frame : pandas.DataFrame
        The mart rows (:data:`HOTSPOT_COLUMNS`; for ``points`` the cluster columns).
    selection : EventSelection
        Events used, and those left out with reasons.
    parameters : dict
        The run's row of ``meta.hotspot_runs`` (unit used and why, region and its area, inference, filters).
    run_id : str
    run_at : datetime.datetime
    gistar : Statistic or None
        The per-unit statistic (None for points).
    units : StudyUnits or None
    mart : str
        ``hotspots`` or ``point_clusters``.
    """

    frame: pd.DataFrame
    selection: EventSelection | None
    parameters: dict[str, Any]
    run_id: str
    run_at: datetime
    gistar: Statistic | None
    units: StudyUnits | None
    mart: str

    def note(self) -> str:
        """What was analysed and what was left out, in one paragraph."""
        if self.selection is None:  # read back from the marts
            p = self.parameters
            return (
                f"{int(p.get('events_used') or 0):,} events used by hot spot run {self.run_id}; "
                f"{int(p.get('n_hot') or 0):,} hot and {int(p.get('n_cold') or 0):,} cold units at FDR q < "
                f"{float(p.get('alpha') or 0.05):g} of {int(p.get('n_units') or len(self.frame)):,}"
            )
        flagged = ""
        if self.gistar is not None:
            flagged = (
                f"; {int(self.gistar.hot.sum()):,} hot and {int(self.gistar.cold.sum()):,} cold units at "
                f"FDR q < {self.gistar.alpha:g} of {len(self.gistar.z):,}"
            )
            grouped = self.gistar.gistar
            if isinstance(grouped, GroupedGiStar):
                per = _per_group(grouped)
                flagged += (
                    f" ({grouped.n_groups} separate groups analysed apart; hot units per group, most events "
                    f"first: {per})"
                )
        return f"{self.selection.note()}{flagged}"

    def region_note(self) -> str:
        """The scale and the study region used, in one sentence."""
        p = self.parameters
        return f"Unit {p.get('unit')} ({p.get('scale_reason')}). Study region: {p.get('study_region')}."


def _per_group(grouped: GroupedGiStar) -> str:
    """Hot units of each group, in label order; a group Gi* could not test says so rather than 0."""
    labels, sizes = np.unique(grouped.groups, return_counts=True)
    return ", ".join(
        f"{int(hot):,}"
        if int(label) in grouped.group_results
        else f"not tested ({int(size):,} unit{'s' if size != 1 else ''}: too few or all equal)"
        for label, size, hot in zip(labels, sizes, grouped.hot_per_group(), strict=True)
    )


def _inference_label(params: HotspotParameters, units: StudyUnits | None) -> str:
    if params.baseline != "none":
        return f"baseline test ({params.baseline})"
    if units is not None and units.spec.kind == "polygon":
        return "rate against area (binomial)"
    return params.inference


def run_row(
    params: HotspotParameters,
    *,
    analysis: str,
    run_id: str,
    run_at: datetime,
    units: StudyUnits | None,
    scale_reason: str | None,
    selection: EventSelection,
    events_used: int,
    stat: Statistic | None = None,
) -> dict[str, Any]:
    """The ``meta.hotspot_runs`` row of a run."""
    row = params.row()
    for drop in ("min_cluster_size", "time_bin", "time_step_window", "trend_alpha"):
        row.pop(drop)
    row.update(
        run_id=run_id,
        run_at=run_at,
        analysis=analysis,
        unit_requested=params.unit,
        unit=units.spec.label if units is not None else "points",
        scale_reason=scale_reason,
        study_region=units.region if units is not None else None,
        study_area_km2=float(units.area_m2.sum() / 1e6) if units is not None else None,
        n_units=units.n if units is not None else None,
        weights=units.weights if units is not None else None,
        inference=_inference_label(params, units),
        permutations=stat.permutations if stat is not None else 0,
        events_used=int(events_used),
        events_excluded=json.dumps(selection.excluded | {"unlocated": selection.n_unlocated}),
        n_hot=int(stat.hot.sum()) if stat is not None else None,
        n_cold=int(stat.cold.sum()) if stat is not None else None,
    )
    row.pop("unit_requested_", None)
    return row


def analyse_region(
    con: duckdb.DuckDBPyConnection, params: HotspotParameters, *, settings: Settings, selection: EventSelection
) -> tuple[StudyUnits, str, EventSelection, np.ndarray, Any]:
    """Resolve the unit, build the region and place the selected events: ``(units, reason, selection, pos, cells)``."""
    located = selection.located()
    spec, reason = resolve_unit(params, settings=settings, located=located)
    cells = event_cells(located, int(spec.resolution)) if spec.kind == "h3" else None
    units = build_units(
        con,
        spec,
        located,
        weights=params.weights,
        k=params.k_ring,
        distance_m=params.distance_m,
        include_out_of_area=params.include_out_of_area,
        cells=cells,
        study_area=params.study_area,
    )
    selection, pos = place_events(con, units, selection, cells=cells)
    return units, reason, selection, pos, cells


def _baseline_counts(
    con: duckdb.DuckDBPyConnection, params: HotspotParameters, settings: Settings, units: StudyUnits
) -> np.ndarray | None:
    """All incidents per unit (``all-incidents``), residents per unit (``population``), or None."""
    if params.baseline == "none":
        return None
    if params.baseline == "population":
        from ctxrisk.analytics.population import population_of_units

        return population_of_units(con, units, settings=settings)
    if not params.themes and not params.sources:
        msg = "--baseline all-incidents compares a theme or source with every incident: give --theme or --source"
        raise ValidationError(msg)
    everything = params.replace(themes=None, sources=None)
    sel = select_events(con, settings, everything, kind=units.spec.kind)
    sel, pos = place_events(con, units, sel)
    return _counts(pos, units.n)


def run_hotspots(
    con: duckdb.DuckDBPyConnection,
    params: HotspotParameters | None = None,
    *,
    settings: Settings,
    write: bool = True,
    **options: Any,
) -> HotspotResult:
    """Run Gi* hot spots (or, for ``unit="points"``, HDBSCAN clusters) and write the mart.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse (writable when ``write``).
    params : HotspotParameters or None
        The run's parameters; None: :meth:`HotspotParameters.from_settings` with ``options``.
    settings : Settings
        Themes, time zone and the ``[hotspots]`` defaults.
    write : bool
        Write ``marts.hotspots`` (or ``marts.point_clusters``) and the run's row of ``meta.hotspot_runs``.
    **options
        Shorthand for callers without a parameters object: fields of :class:`HotspotParameters` (``theme``,
        ``source`` accepted); only used when ``params`` is None.

    Returns
    -------
    HotspotResult

    Raises
    ------
    ValidationError
        On bad options, an unloaded level, or no events to analyse.
    """
    if params is None:
        params = HotspotParameters.from_settings(settings, **options)
    spec0 = parse_unit(params.unit, settings=settings)
    sel = select_events(con, settings, params, kind=spec0.kind)
    if spec0.kind == "points":
        return run_point_clusters(con, settings=settings, selection=sel, params=params, write=write)
    units, reason, sel, pos, _ = analyse_region(con, params, settings=settings, selection=sel)
    y = _counts(pos, units.n)
    if y.sum() == 0:
        msg = f"no events fall in the study region ({sel.note()}): there is nothing to analyse"
        raise ValidationError(msg)
    base = _baseline_counts(con, params, settings, units)
    stat = _statistic(y, units, params, base)
    run_id, run_at = _run_stamp()
    row = run_row(
        params,
        analysis="hotspots",
        run_id=run_id,
        run_at=run_at,
        units=units,
        scale_reason=reason,
        selection=sel,
        events_used=int(y.sum()),
        stat=stat,
    )
    frame = pd.DataFrame(
        {
            "unit_id": units.ids,
            "unit_type": units.spec.label,
            "name": units.names,
            "count": y.astype(np.int64),
            "z": stat.z,
            "p": stat.p,
            "p_norm": stat.p_norm,
            "q": stat.q,
            "bin": stat.bin.astype(np.int64),
            "hot": stat.hot,
            "cold": stat.cold,
            "n_neighbours": stat.n_neighbours.astype(np.int64),
            "baseline_count": base if base is not None else np.full(units.n, np.nan),
            "latitude": units.latitude,
            "longitude": units.longitude,
            "area_m2": units.area_m2,
            "geometry_wkt": units.geometry.to_wkt().to_numpy(),
            "theme": _theme_label(params.themes),
            "run_id": run_id,
            "run_at": run_at,
            "events_used": int(y.sum()),
        }
    )[HOTSPOT_COLUMNS]
    if write:
        with transaction(con):
            replace_mart(con, "hotspots", frame)
            record_run(con, row)
    logger.info("hot spots on %s %s units: %s", f"{units.n:,}", units.spec.label, sel.note())
    return HotspotResult(frame, sel, row, run_id, run_at, stat, units, "hotspots")


def load_hotspots(con: duckdb.DuckDBPyConnection) -> HotspotResult:
    """The latest ``marts.hotspots`` run and its ``meta.hotspot_runs`` row, read back (no statistic re-run).

    Raises
    ------
    ValidationError
        When ``marts.hotspots`` is missing or empty.
    """
    from ctxrisk.analytics.marts import read_run

    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = 'hotspots'"
    ).fetchone()[0]
    frame = con.execute("select * from marts.hotspots order by unit_id").df() if exists else pd.DataFrame()
    if frame.empty:
        msg = "marts.hotspots is empty: run `ctxrisk hotspots` first"
        raise ValidationError(msg)
    run_id = str(frame["run_id"].iloc[0])
    row = read_run(con, run_id) or {"unit": str(frame["unit_type"].iloc[0])}
    return HotspotResult(frame, None, row, run_id, frame["run_at"].iloc[0], None, None, "hotspots")


def calendar_quarters(first: date, last: date) -> list[tuple[str, date, date]]:
    """``(YYYY-Qn, first day, last day)`` of every calendar quarter from ``first`` to ``last``."""
    out = []
    year, quarter = first.year, (first.month - 1) // 3 + 1
    while date(year, 3 * quarter - 2, 1) <= last:
        start = date(year, 3 * quarter - 2, 1)
        nxt = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
        out.append((f"{year}-Q{quarter}", start, nxt - timedelta(days=1)))
        year, quarter = (year, quarter + 1) if quarter < 4 else (year + 1, 1)
    return out


def run_hotspot_periods(
    con: duckdb.DuckDBPyConnection,
    params: HotspotParameters | None = None,
    *,
    settings: Settings,
    periods: list[str] | None = None,
    write: bool = True,
    **options: Any,
) -> pd.DataFrame:
    """Gi* hot spots of each period on the whole run's units and region -> ``marts.hotspot_periods``.

    ``periods``: period texts (``YYYY-Qn``, ``YYYY``, ``YYYY-MM``, ``A..B``); None: every calendar quarter of
    the selected events. Each period gets its own row of ``meta.hotspot_runs`` (analysis ``period``) and
    enough permutations for its region (the same automatic rule); a period without events has no rows.
    """
    if params is None:
        params = HotspotParameters.from_settings(settings, **options)
    spec0 = parse_unit(params.unit, settings=settings)
    if spec0.kind == "points":
        msg = "per-period hot spots need areas or H3 cells, not points"
        raise ValidationError(msg)
    sel = select_events(con, settings, params, kind=spec0.kind, extra=("local_time",))
    units, reason, sel, pos, _ = analyse_region(con, params, settings=settings, selection=sel)
    placed = pos >= 0
    days = sel.events["local_time"][placed].dt.date.to_numpy()
    if not len(days):
        msg = f"no events fall in the study region ({sel.note()}): there is nothing to analyse"
        raise ValidationError(msg)
    if periods is None:
        wanted = calendar_quarters(min(days), max(days))
    else:
        wanted = []
        for text in periods:
            quarter = re.fullmatch(r"(\d{4})-?[Qq]([1-4])", text.strip())
            if quarter:
                year, q = int(quarter.group(1)), int(quarter.group(2))
                wanted += calendar_quarters(date(year, 3 * q - 2, 1), date(year, 3 * q - 2, 1))
                continue
            start, end = parse_period(text)
            wanted.append((text, start, end - timedelta(days=1)))
    frames, rows = [], []
    fixed = params.replace(unit=units.spec.label)
    for label, start, end in wanted:
        in_period = (days >= start) & (days <= end)
        y = _counts(pos[placed][in_period], units.n)
        if y.sum() == 0 or np.ptp(y) == 0:
            continue
        stat = _statistic(y, units, fixed, None)
        run_id, run_at = _run_stamp()
        rows.append(
            run_row(
                fixed.replace(since=str(start), until=str(end)),
                analysis="period",
                run_id=run_id,
                run_at=run_at,
                units=units,
                scale_reason=reason,
                selection=sel,
                events_used=int(y.sum()),
                stat=stat,
            )
        )
        frames.append(
            pd.DataFrame(
                {
                    "period": label,
                    "period_start": start,
                    "period_end": end,
                    "unit_id": units.ids,
                    "unit_type": units.spec.label,
                    "count": y.astype(np.int64),
                    "z": stat.z,
                    "p": stat.p,
                    "q": stat.q,
                    "bin": stat.bin.astype(np.int64),
                    "hot": stat.hot,
                    "cold": stat.cold,
                    "latitude": units.latitude,
                    "longitude": units.longitude,
                    "geometry_wkt": units.geometry.to_wkt().to_numpy(),
                    "run_id": run_id,
                    "events_used": int(y.sum()),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["period", "unit_id"])
    if write:
        with transaction(con):
            replace_mart(con, "hotspot_periods", frame)
            for row in rows:
                record_run(con, row)
    return frame


def run_point_clusters(
    con: duckdb.DuckDBPyConnection,
    *,
    settings: Settings,
    selection: EventSelection,
    params: HotspotParameters,
    write: bool = True,
) -> HotspotResult:
    """HDBSCAN clusters of the selected located events in BNG metres, written to ``marts.point_clusters``.

    Each row is a cluster: ``unit_id`` (``cluster-N``), ``count`` (events), centroid (BNG and WGS84), hull
    area and hull outline (WGS84 WKT). ``z``, ``p``, ``q`` and ``bin`` are empty: HDBSCAN finds dense groups
    but gives no significance. Events left as noise are counted in ``noise_events``.
    """
    from ctxrisk.analytics.clusters import point_clusters

    size = int(params.min_cluster_size)
    ev = selection.located()
    result = point_clusters(ev["easting"].to_numpy(float), ev["northing"].to_numpy(float), min_cluster_size=size)
    hulls = result.hulls
    lat, lon = bng_to_wgs84(hulls["centroid_easting"].to_numpy(float), hulls["centroid_northing"].to_numpy(float))
    wgs = hulls.to_crs(4326) if len(hulls) else hulls
    run_id, run_at = _run_stamp()
    row = run_row(
        params,
        analysis="points",
        run_id=run_id,
        run_at=run_at,
        units=None,
        scale_reason="HDBSCAN on BNG metres",
        selection=selection,
        events_used=len(ev),
    )
    nan = np.full(len(hulls), np.nan)
    frame = pd.DataFrame(
        {
            "unit_id": [f"cluster-{int(c)}" for c in hulls["cluster"]],
            "unit_type": "points",
            "count": hulls["size"].to_numpy(np.int64),
            "z": nan,
            "p": nan,
            "q": nan,
            "bin": pd.array([None] * len(hulls), dtype="Int64"),
            "centroid_easting": hulls["centroid_easting"].to_numpy(float),
            "centroid_northing": hulls["centroid_northing"].to_numpy(float),
            "latitude": np.asarray(lat),
            "longitude": np.asarray(lon),
            "area_m2": hulls["area_m2"].to_numpy(float),
            "geometry_wkt": wgs.geometry.to_wkt().to_numpy() if len(hulls) else np.array([], dtype=object),
            "noise_events": int(result.noise.sum()),
            "theme": _theme_label(params.themes),
            "run_id": run_id,
            "run_at": run_at,
            "events_used": len(ev),
        }
    )
    if write:
        with transaction(con):
            write_mart(con, "point_clusters", frame)
            record_run(con, row)
    return HotspotResult(frame, selection, row, run_id, run_at, None, None, "point_clusters")
