"""Hot spot runs over the warehouse: units, study region and weights, Gi*, emerging hot spots, point clusters, back-tests.

This module turns filtered events (:mod:`ctxrisk.analytics.events`) into analysis units, runs the statistics of
:mod:`ctxrisk.analytics.gistar`, :mod:`ctxrisk.analytics.emerging`, :mod:`ctxrisk.analytics.clusters` and :mod:`ctxrisk.analytics.backtest`,
and writes the results to marts, each run in one transaction and stamped with a run id, time and its
parameters (JSON). The method, study region and defaults are documented in ``docs/hotspots.md``.

Units (``unit``):

* ``"h3"`` or ``"h3:R"`` -- H3 cells at resolution ``R`` (default ``settings.hotspots.h3_resolution``);
* a boundary level loaded in ``raw.boundaries`` (``"lsoa11"``, ``"lsoa21"``, ``"ward"``, ``"msoa"``, ``"lad"``);
  events are placed by the point-in-polygon assignment in ``raw.event_areas``;
* ``"points"`` -- no areas: HDBSCAN clusters of the event points in BNG metres with convex hulls.

Study region (every unit of it is tested, zero-count units included):

* H3 with boundaries loaded: every cell overlapping the partnership's area -- the polygons of the first
  loaded level of ``lad, ward, lsoa21, lsoa11, msoa``; with ``include_out_of_area`` the cells of the
  out-of-area events (and their ``k``-ring) are added;
* H3 without boundaries: the cells holding events plus every cell within ``k`` grid steps of one, so that
  every observed cell has its full neighbourhood;
* polygons: every area of the level, with or without events.

Weights (binary; Gi* adds the self weight): ``"kring"`` (H3 cells within ``k`` steps, default for H3),
``"contiguity"`` (queen contiguity, default for polygons), ``"distance"`` (unit centres within
``distance_m`` metres in BNG).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import duckdb
import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from shapely import wkt as shapely_wkt

from ctxrisk.analytics.events import EventSelection, load_events, parse_period
from ctxrisk.analytics.gistar import GiStar
from ctxrisk.analytics.weights import (
    distance_band_weights,
    h3_cells_indexed,
    h3_kring_weights,
    polygon_contiguity_weights,
    study_region_h3,
)
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.geo import bng_to_wgs84, wgs84_to_bng
from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.warehouse import transaction, write_mart

logger = logging.getLogger(__name__)

__all__ = [
    "BacktestRun",
    "EmergingRun",
    "HotspotResult",
    "StudyUnits",
    "UnitSpec",
    "build_units",
    "parse_unit",
    "run_backtest",
    "run_emerging",
    "run_hotspots",
    "run_point_clusters",
]

REGION_LEVELS: tuple[str, ...] = ("lad", "ward", "lsoa21", "lsoa11", "msoa")
WeightsKind = Literal["kring", "contiguity", "distance"]
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
    "latitude",
    "longitude",
    "area_m2",
    "geometry_wkt",
    "theme",
    "run_id",
    "run_at",
    "events_used",
    "events_excluded",
    "parameters",
]


@dataclass(frozen=True)
class UnitSpec:
    """A parsed ``--unit``: ``kind`` is ``h3``, ``polygon`` or ``points``."""

    kind: Literal["h3", "polygon", "points"]
    resolution: int | None = None
    level: str | None = None

    @property
    def label(self) -> str:
        """``h3:9``, the level name, or ``points``."""
        if self.kind == "h3":
            return f"h3:{self.resolution}"
        return self.level if self.kind == "polygon" else "points"


def parse_unit(text: str, *, settings: Settings) -> UnitSpec:
    """Parse ``h3``, ``h3:R`` (R 0-15), ``points`` or a boundary level name (``lsoa11``, ``ward`` ...).

    Raises
    ------
    ValidationError
        On a malformed H3 resolution or an empty name.
    """
    t = (text or "").strip().lower()
    if not t:
        msg = "unit must be h3[:RES], points or a boundary level such as lsoa11 or ward"
        raise ValidationError(msg)
    if t == "points":
        return UnitSpec("points")
    if t == "h3" or t.startswith("h3:"):
        res_text = t[3:] if t.startswith("h3:") else str(settings.hotspots.h3_resolution)
        if not res_text.isdigit() or not 0 <= int(res_text) <= 15:
            msg = f"H3 resolution must be 0-15, got {text!r}"
            raise ValidationError(msg)
        return UnitSpec("h3", resolution=int(res_text))
    return UnitSpec("polygon", level=t)


@dataclass(frozen=True)
class StudyUnits:
    """The units of a study region with their neighbours.

    Attributes
    ----------
    spec : UnitSpec
    ids : numpy.ndarray of str
        Unit identifiers (H3 cells or area codes), sorted.
    names : list of str or None
        Area names (None for H3 cells).
    geometry : geopandas.GeoSeries
        Unit outlines in WGS84.
    latitude, longitude : numpy.ndarray
        Unit centre in WGS84 (the H3 cell centre; a polygon's representative point).
    easting, northing : numpy.ndarray
        The same centre in BNG metres.
    area_m2 : numpy.ndarray
        Unit area in square metres (BNG for polygons, H3's own for cells).
    w : scipy.sparse.csr_matrix
        Binary weights without self loops.
    weights : str
        ``kring``, ``contiguity`` or ``distance``.
    region : str
        How the study region was made (for the run stamp).
    """

    spec: UnitSpec
    ids: np.ndarray
    names: list[str | None]
    geometry: gpd.GeoSeries
    latitude: np.ndarray
    longitude: np.ndarray
    easting: np.ndarray
    northing: np.ndarray
    area_m2: np.ndarray
    w: sp.csr_matrix
    weights: str
    region: str
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        """Number of units."""
        return int(self.ids.size)

    def position(self, unit_ids: Any) -> np.ndarray:
        """Row of each unit id in this region (-1 when not in it)."""
        codes, distinct = pd.factorize(np.asarray(unit_ids, dtype=object), use_na_sentinel=False)
        rows = np.array([self._index.get(str(u), -1) for u in distinct], dtype=np.int64)
        return rows[codes] if codes.size else np.zeros(0, dtype=np.int64)


def _boundaries(con: duckdb.DuckDBPyConnection, level: str) -> gpd.GeoDataFrame:
    rows = con.execute(
        "select code, any_value(name) as name, any_value(imd_decile) as imd_decile, any_value(geometry_wkt) as wkt "
        "from raw.boundaries where level = ? group by code order by code",
        [level],
    ).df()
    geoms = [shapely_wkt.loads(w) for w in rows["wkt"]]
    return gpd.GeoDataFrame(rows.drop(columns="wkt"), geometry=geoms, crs=4326)


def loaded_levels(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Boundary levels present in ``raw.boundaries``."""
    return [r[0] for r in con.execute("select distinct level from raw.boundaries order by 1").fetchall()]


EventCells = tuple[np.ndarray, np.ndarray]


#: The last points placed in H3 cells (key: resolution and a digest of the coordinates) and their cells: the
#: hot spot, emerging and locations analyses of one run place the same events.
_LAST_EVENT_CELLS: dict[tuple[Any, ...], EventCells] = {}


def event_cells(events: pd.DataFrame, resolution: int) -> EventCells:
    """The distinct H3 cells of located events and each event's position in them (:func:`h3_cells_indexed`).

    Computed once per analysis and given to :func:`build_units` and :func:`place_events` (``cells=``); the
    last result is kept, so the next analysis of the same points (same coordinates, same order) re-uses it.
    Callers get their own copy of the positions.
    """
    if events.empty:
        return np.array([], dtype=str), np.zeros(0, dtype=np.int64)
    lat = np.ascontiguousarray(events["latitude"].to_numpy(float))
    lon = np.ascontiguousarray(events["longitude"].to_numpy(float))
    digest = hashlib.blake2b(lat.tobytes(), digest_size=16)
    digest.update(lon.tobytes())
    key = (int(resolution), lat.size, digest.hexdigest())
    with _KEPT_LOCK:
        cached = _LAST_EVENT_CELLS.get(key)
    if cached is None:
        cached = h3_cells_indexed(lat, lon, resolution=resolution)
        with _KEPT_LOCK:
            _LAST_EVENT_CELLS.clear()
            _LAST_EVENT_CELLS[key] = cached
    else:
        logger.info("re-used the H3 cells of the same %s points", f"{lat.size:,}")
    return cached[0].copy(), cached[1].copy()


#: Centres, outlines, areas and weights of recent H3 regions, by region and weights (a run re-uses its region
#: in every hot spot analysis: hot spots, emerging, locations, the steering map's periods).
_CELL_LAYOUTS: OrderedDict[tuple[Any, ...], tuple[Any, ...]] = OrderedDict()
_CELL_LAYOUTS_KEPT = 4
#: Guards both kept results (a run may analyse in more than one thread).
_KEPT_LOCK = threading.Lock()


def _cell_layout(ids: np.ndarray, *, weights: str, k: int, distance_m: float) -> tuple[Any, ...]:
    """Centres (WGS84, BNG), outlines, areas and weights of the H3 cells ``ids``; each call gets its own copies."""
    digest = hashlib.blake2b(ids.tobytes(), digest_size=16).hexdigest()
    key = (
        digest,
        ids.size,
        ids.dtype.str,
        weights,
        int(k) if weights == "kring" else None,
        float(distance_m) if weights == "distance" else None,
    )
    with _KEPT_LOCK:
        layout = _CELL_LAYOUTS.get(key)
        if layout is not None:
            _CELL_LAYOUTS.move_to_end(key)
    if layout is None:
        centres = np.array([h3.cell_to_latlng(c) for c in ids]) if ids.size else np.empty((0, 2))
        lat, lon = centres[:, 0], centres[:, 1]
        e, nn = wgs84_to_bng(lat, lon)
        geoms = gpd.GeoSeries([shapely.Polygon([(b, a) for a, b in h3.cell_to_boundary(c)]) for c in ids], crs=4326)
        area = np.array([h3.cell_area(c, "m^2") for c in ids])
        if weights == "kring":
            w = h3_kring_weights(ids, k=k)
            wdesc = f"kring k={k}"
        else:
            w = distance_band_weights(e, nn, threshold_m=distance_m)
            wdesc = f"distance {distance_m:g} m"
        layout = (lat, lon, np.asarray(e), np.asarray(nn), geoms, area, w, wdesc)
        with _KEPT_LOCK:
            _CELL_LAYOUTS[key] = layout
            while len(_CELL_LAYOUTS) > _CELL_LAYOUTS_KEPT:
                _CELL_LAYOUTS.popitem(last=False)
    else:
        logger.info(
            "re-used the outlines and %s weights of the %s cells of this study region", layout[7], f"{ids.size:,}"
        )
    lat, lon, e, nn, geoms, area, w, wdesc = layout
    return lat.copy(), lon.copy(), e.copy(), nn.copy(), geoms.copy(), area.copy(), w.copy(), wdesc


def _h3_units(
    con: duckdb.DuckDBPyConnection,
    spec: UnitSpec,
    events: pd.DataFrame,
    *,
    weights: str,
    k: int,
    distance_m: float,
    include_out_of_area: bool,
    cells: EventCells | None = None,
) -> StudyUnits:
    res = int(spec.resolution)
    if cells is None:
        cells = event_cells(events, res)
    cells, index = cells
    levels = loaded_levels(con)
    region_level = next((lv for lv in REGION_LEVELS if lv in levels), None)
    if region_level is not None:
        bounds = _boundaries(con, region_level)
        region = set(study_region_h3(cells, resolution=res, boundary=bounds).tolist())
        how = f"H3 res {res} cells overlapping the {len(bounds):,} {region_level} area(s) loaded"
        if include_out_of_area and cells.size:
            outside = events["out_of_area"].to_numpy(bool)
            if outside.any():
                region |= set(study_region_h3(cells[np.unique(index[outside])], resolution=res, buffer_k=k).tolist())
                how += f", plus out-of-area event cells and their {k}-ring"
    else:
        if not cells.size:
            msg = "no located events match the filters: there is nothing to analyse"
            raise ValidationError(msg)
        region = set(study_region_h3(cells, resolution=res, buffer_k=k).tolist())
        how = f"H3 res {res} cells holding events plus every cell within {k} grid steps (no boundary loaded)"
    ids = np.array(sorted(region), dtype=str)
    if weights not in ("kring", "distance"):
        msg = f"weights {weights!r} do not apply to H3 cells; use kring or distance"
        raise ValidationError(msg)
    lat, lon, e, nn, geoms, area, w, wdesc = _cell_layout(ids, weights=weights, k=k, distance_m=distance_m)
    return StudyUnits(
        spec,
        ids,
        [None] * ids.size,
        geoms,
        lat,
        lon,
        np.asarray(e),
        np.asarray(nn),
        area,
        w,
        wdesc,
        how,
        {c: i for i, c in enumerate(ids.tolist())},
    )


def _polygon_units(con: duckdb.DuckDBPyConnection, spec: UnitSpec, *, weights: str, distance_m: float) -> StudyUnits:
    levels = loaded_levels(con)
    if spec.level not in levels:
        msg = (
            f"unit {spec.level!r} is not a loaded boundary level (loaded: {levels or 'none'}); load it with "
            "`ctxrisk ingest boundaries --level ...` or use h3[:RES] or points"
        )
        raise ValidationError(msg)
    gdf = _boundaries(con, str(spec.level))
    bng = gdf.to_crs(27700)
    rep = bng.geometry.representative_point()
    e, nn = rep.x.to_numpy(), rep.y.to_numpy()
    lat, lon = bng_to_wgs84(e, nn)
    if weights == "contiguity":
        w = polygon_contiguity_weights(gdf, rule="queen")
        wdesc = "queen contiguity"
    elif weights == "distance":
        w = distance_band_weights(e, nn, threshold_m=distance_m)
        wdesc = f"distance {distance_m:g} m between representative points"
    else:
        msg = f"weights {weights!r} do not apply to polygons; use contiguity or distance"
        raise ValidationError(msg)
    ids = gdf["code"].astype(str).to_numpy()
    return StudyUnits(
        spec,
        ids,
        gdf["name"].tolist(),
        gdf.geometry,
        np.asarray(lat),
        np.asarray(lon),
        e,
        nn,
        bng.geometry.area.to_numpy(),
        w,
        wdesc,
        f"all {len(ids):,} {spec.level} areas loaded",
        {c: i for i, c in enumerate(ids.tolist())},
    )


def build_units(
    con: duckdb.DuckDBPyConnection,
    spec: UnitSpec,
    events: pd.DataFrame,
    *,
    weights: WeightsKind | None = None,
    k: int = 2,
    distance_m: float = 400.0,
    include_out_of_area: bool = False,
    cells: EventCells | None = None,
) -> StudyUnits:
    """Build the study region's units and weights (see the module docstring).

    Parameters
    ----------
    spec : UnitSpec
        ``h3`` or ``polygon`` (``points`` has no units).
    events : pandas.DataFrame
        Located events (``latitude``, ``longitude``, ``out_of_area``); they define the H3 region when no
        boundary is loaded.
    weights : {"kring", "contiguity", "distance"} or None
        None: ``kring`` for H3, ``contiguity`` for polygons.
    k : int
        H3 ring size (>= 1), also the buffer of a region made from events.
    distance_m : float
        Distance band in metres for ``weights="distance"``.
    cells : (numpy.ndarray, numpy.ndarray) or None
        :func:`event_cells` of ``events`` at the unit's resolution, when already computed (H3 only).
    """
    if spec.kind == "points":
        msg = "points have no study units; use run_point_clusters"
        raise ValidationError(msg)
    if weights is None:
        weights = "kring" if spec.kind == "h3" else "contiguity"
    if weights not in ("kring", "contiguity", "distance"):
        msg = f"weights must be kring, contiguity or distance, got {weights!r}"
        raise ValidationError(msg)
    if spec.kind == "h3":
        return _h3_units(
            con,
            spec,
            events,
            weights=weights,
            k=k,
            distance_m=distance_m,
            include_out_of_area=include_out_of_area,
            cells=cells,
        )
    return _polygon_units(con, spec, weights=weights, distance_m=distance_m)


def place_events(
    con: duckdb.DuckDBPyConnection, units: StudyUnits, selection: EventSelection, *, cells: EventCells | None = None
) -> tuple[EventSelection, np.ndarray]:
    """Place located events in the units; events outside them are left out and counted.

    ``cells`` is :func:`event_cells` of ``selection.located()`` when already computed (H3 units only).

    Returns
    -------
    (EventSelection, numpy.ndarray)
        The selection without unplaceable events (unlocated events are kept: counted, never placed), and the
        unit row of each of its events (-1 for unlocated ones).
    """
    ev = selection.events
    located = ev["located"].to_numpy(bool)
    pos = np.full(len(ev), -1, dtype=np.int64)
    if units.spec.kind == "h3":
        if located.any():
            distinct, index = cells if cells is not None else event_cells(ev[located], int(units.spec.resolution))
            pos[located] = units.position(distinct)[index]
        reason = "outside_region"
    else:
        areas = con.execute(
            "select event_type, event_id, min(area_code) as area_code from raw.event_areas where level = ? "
            "group by all",
            [units.spec.level],
        ).df()
        merged = ev[["event_type", "event_id"]].merge(areas, on=["event_type", "event_id"], how="left")
        codes = merged["area_code"].to_numpy(object)
        pos = np.where(located, units.position(codes), -1)
        reason = "outside_areas"
    drop = located & (pos < 0)
    if drop.any():
        logger.info("%s located events fall outside the study region and are left out", f"{int(drop.sum()):,}")
    new = selection.exclude(pd.Series(drop, index=ev.index), reason)
    return new, pos[~drop]


def _counts(pos: np.ndarray, n: int) -> np.ndarray:
    placed = pos[pos >= 0]
    return np.bincount(placed, minlength=n).astype(np.float64)


def _run_stamp() -> tuple[str, datetime]:
    return uuid.uuid4().hex[:12], datetime.now(UTC)


def _theme_label(theme: Any) -> str:
    if theme is None:
        return "all"
    return theme if isinstance(theme, str) else ",".join(theme)


@dataclass(frozen=True)
class HotspotResult:
    """One hot spot run.

    Attributes
    ----------
    frame : pandas.DataFrame
        The mart rows (:data:`HOTSPOT_COLUMNS`; for ``points`` the cluster columns).
    selection : EventSelection
        Events used, and those left out with reasons; the frame holds the columns the analysis read
        (``latitude, longitude`` for H3, ``event_type, event_id`` for polygons, ``easting, northing`` for
        points, with ``located`` and ``out_of_area``).
    parameters : dict
        Everything needed to repeat the run (unit, weights, k, permutations, seed, filters, region).
    run_id : str
    run_at : datetime.datetime
    gistar : ctxrisk.analytics.gistar.GiStar or None
        The statistic (None for points).
    units : StudyUnits or None
    mart : str
        ``hotspots`` or ``point_clusters``.
    """

    frame: pd.DataFrame
    selection: EventSelection
    parameters: dict[str, Any]
    run_id: str
    run_at: datetime
    gistar: GiStar | None
    units: StudyUnits | None
    mart: str

    def note(self) -> str:
        """What was analysed and what was left out, in one paragraph."""
        flagged = ""
        if self.gistar is not None:
            flagged = (
                f"; {int(self.gistar.hot.sum()):,} hot and {int(self.gistar.cold.sum()):,} cold units at "
                f"FDR q < {self.gistar.alpha:g} of {self.gistar.n:,}"
            )
        return f"{self.selection.note()}{flagged}"


#: The event columns each kind of unit reads (placing events, and the region of an H3 analysis).
_UNIT_COLUMNS: dict[str, tuple[str, ...]] = {
    "h3": ("latitude", "longitude"),
    "polygon": ("event_type", "event_id"),
    "points": ("easting", "northing"),
}


def _select(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    *,
    event_types: Any,
    theme: Any,
    source: Any,
    since: Any,
    until: Any,
    hours: Any,
    include_out_of_area: bool,
    spec: UnitSpec,
    extra: tuple[str, ...] = (),
) -> EventSelection:
    """The events of an analysis on ``spec`` units: only the columns it reads (``extra`` adds some)."""
    return load_events(
        con,
        settings=settings,
        event_types=settings.hotspots.event_types if event_types is None else event_types,
        themes=theme,
        sources=source,
        since=since,
        until=until,
        hours=hours,
        include_out_of_area=include_out_of_area,
        columns=_UNIT_COLUMNS[spec.kind] + extra,
        compact=spec.kind != "polygon",  # polygons join the event type to raw.event_areas: keep it text
    )


def run_hotspots(
    con: duckdb.DuckDBPyConnection,
    *,
    settings: Settings,
    unit: str = "h3",
    event_types: str | list[str] | None = None,
    theme: str | list[str] | None = None,
    source: str | list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    hours: str | tuple[int, int] | None = None,
    include_out_of_area: bool = False,
    weights: WeightsKind | None = None,
    k_ring: int | None = None,
    distance_m: float | None = None,
    permutations: int | None = None,
    seed: int | None = None,
    alternative: Literal["two-sided", "greater", "less"] = "two-sided",
    alpha: float | None = None,
    min_cluster_size: int | None = None,
    write: bool = True,
) -> HotspotResult:
    """Run Getis-Ord Gi* hot spots (or, for ``unit="points"``, HDBSCAN clusters) and write the mart.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse (writable when ``write``).
    settings : Settings
        Defaults come from ``[hotspots]``.
    unit : str
        ``h3``, ``h3:R``, a loaded boundary level (``lsoa11``, ``ward`` ...), or ``points``.
    event_types : str, list of str or None
        Default ``settings.hotspots.event_types`` (incidents); ``"all"`` counts every event type.
    theme, source : str, list of str or None
        Filters (comma-separated strings allowed); None keeps all.
    since, until : str or None
        Local dates ``YYYY[-MM[-DD]]``, both inclusive.
    hours : str, (int, int) or None
        Local time-of-day window (``"18-23"``); events without a time of day are then left out and counted.
    include_out_of_area : bool
        Keep events outside every loaded boundary (default: left out, counted).
    weights : {"kring", "contiguity", "distance"} or None
        Default ``kring`` for H3, ``contiguity`` for polygons.
    k_ring : int or None
        H3 ring size (default ``settings.hotspots.k_ring``, 2).
    distance_m : float or None
        Distance band (default ``settings.hotspots.distance_band_m``).
    permutations, seed, alpha : optional
        Gi* inference (defaults from settings: 999, 12345, 0.05); ``permutations=0`` uses the normal
        approximation.
    alternative : {"two-sided", "greater", "less"}
        Sidedness of the Gi* test.
    min_cluster_size : int or None
        HDBSCAN, for ``unit="points"`` (default ``settings.hotspots.min_cluster_size``).
    write : bool
        Write ``marts.hotspots`` (or ``marts.point_clusters``) in one transaction.

    Returns
    -------
    HotspotResult

    Raises
    ------
    ValidationError
        On bad options, an unloaded level, or no events to analyse.
    """
    hs = settings.hotspots
    spec = parse_unit(unit, settings=settings)
    sel = _select(
        con,
        settings,
        event_types=event_types,
        theme=theme,
        source=source,
        since=since,
        until=until,
        hours=hours,
        include_out_of_area=include_out_of_area,
        spec=spec,
    )
    if spec.kind == "points":
        return run_point_clusters(
            con, settings=settings, selection=sel, theme=theme, min_cluster_size=min_cluster_size, write=write
        )
    k = hs.k_ring if k_ring is None else int(k_ring)
    dist = float(hs.distance_band_m if distance_m is None else distance_m)
    perms = hs.permutations if permutations is None else int(permutations)
    seed_v = hs.seed if seed is None else int(seed)
    alpha_v = hs.alpha if alpha is None else float(alpha)
    located = sel.located()
    cells = event_cells(located, int(spec.resolution)) if spec.kind == "h3" else None
    units = build_units(
        con, spec, located, weights=weights, k=k, distance_m=dist, include_out_of_area=include_out_of_area, cells=cells
    )
    sel, pos = place_events(con, units, sel, cells=cells)
    y = _counts(pos, units.n)
    if y.sum() == 0:
        msg = f"no events fall in the study region ({sel.note()}): there is nothing to analyse"
        raise ValidationError(msg)
    gi = GiStar(y, units.w, permutations=perms, seed=seed_v, alternative=alternative, alpha=alpha_v)
    run_id, run_at = _run_stamp()
    params = {
        "unit": spec.label,
        "weights": units.weights,
        "k_ring": k if units.weights.startswith("kring") else None,
        "distance_m": dist if units.weights.startswith("distance") else None,
        "permutations": perms,
        "seed": seed_v,
        "alternative": alternative,
        "alpha": alpha_v,
        "fdr": "Benjamini-Hochberg over all units",
        "inference": "conditional permutation" if perms else "normal approximation",
        "study_region": units.region,
        "n_units": units.n,
        "filters": sel.filters,
    }
    frame = pd.DataFrame(
        {
            "unit_id": units.ids,
            "unit_type": spec.label,
            "name": units.names,
            "count": y.astype(np.int64),
            "z": gi.z,
            "p": gi.p_sim if perms else gi.p_norm,
            "p_norm": gi.p_norm,
            "q": gi.q,
            "bin": gi.bin.astype(np.int64),
            "hot": gi.hot,
            "cold": gi.cold,
            "n_neighbours": gi.n_neighbours.astype(np.int64),
            "latitude": units.latitude,
            "longitude": units.longitude,
            "area_m2": units.area_m2,
            "geometry_wkt": units.geometry.to_wkt().to_numpy(),
            "theme": _theme_label(theme),
            "run_id": run_id,
            "run_at": run_at,
            "events_used": int(y.sum()),
            "events_excluded": json.dumps(sel.excluded | {"unlocated": sel.n_unlocated}),
            "parameters": json.dumps(params),
        }
    )[HOTSPOT_COLUMNS]
    if write:
        with transaction(con):
            write_mart(con, "hotspots", frame)
    logger.info("hot spots on %s %s units: %s", f"{units.n:,}", spec.label, sel.note())
    return HotspotResult(frame, sel, params, run_id, run_at, gi, units, "hotspots")


def run_point_clusters(
    con: duckdb.DuckDBPyConnection,
    *,
    settings: Settings,
    selection: EventSelection,
    theme: Any = None,
    min_cluster_size: int | None = None,
    write: bool = True,
) -> HotspotResult:
    """HDBSCAN clusters of the selected located events in BNG metres, written to ``marts.point_clusters``.

    Each row is a cluster: ``unit_id`` (``cluster-N``), ``count`` (events), centroid (BNG and WGS84), hull
    area and hull outline (WGS84 WKT). ``z``, ``p``, ``q`` and ``bin`` are empty: HDBSCAN finds dense groups
    but gives no significance. Events left as noise are counted in ``noise_events``.
    """
    from ctxrisk.analytics.clusters import point_clusters

    size = settings.hotspots.min_cluster_size if min_cluster_size is None else int(min_cluster_size)
    ev = selection.located()
    result = point_clusters(ev["easting"].to_numpy(float), ev["northing"].to_numpy(float), min_cluster_size=size)
    hulls = result.hulls
    lat, lon = bng_to_wgs84(hulls["centroid_easting"].to_numpy(float), hulls["centroid_northing"].to_numpy(float))
    wgs = hulls.to_crs(4326) if len(hulls) else hulls
    run_id, run_at = _run_stamp()
    params = {
        "unit": "points",
        "method": "HDBSCAN (scikit-learn) on BNG metres",
        "min_cluster_size": size,
        "n_clusters": result.n_clusters,
        "filters": selection.filters,
    }
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
            "theme": _theme_label(theme),
            "run_id": run_id,
            "run_at": run_at,
            "events_used": len(ev),
            "events_excluded": json.dumps(selection.excluded | {"unlocated": selection.n_unlocated}),
            "parameters": json.dumps(params),
        }
    )
    if write:
        with transaction(con):
            write_mart(con, "point_clusters", frame)
    return HotspotResult(frame, selection, params, run_id, run_at, None, None, "point_clusters")


# ----------------------------------------------------------------------------------------------------------
# Emerging hot spots


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
    *,
    settings: Settings,
    unit: str = "h3",
    time_bin: Literal["week", "month"] | None = None,
    event_types: str | list[str] | None = None,
    theme: str | list[str] | None = None,
    source: str | list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    hours: str | None = None,
    include_out_of_area: bool = False,
    weights: WeightsKind | None = None,
    k_ring: int | None = None,
    distance_m: float | None = None,
    time_step_window: int | None = None,
    permutations: int | None = None,
    seed: int | None = None,
    alpha: float | None = None,
    trend_alpha: float | None = None,
    inference: Literal["permutation", "analytic"] = "permutation",
    write: bool = True,
) -> EmergingRun:
    """Emerging hot spot analysis on a unit x week/month cube; writes ``marts.emerging_hotspots`` and
    ``marts.emerging_bins`` in one transaction.

    Weekly bins leave out month-precision events (counted as ``coarse_for_week``); monthly bins take every
    event. The steps run from ``since`` (or the first event) to ``until`` (or the last event), empty steps
    included. Other parameters as :func:`run_hotspots`; ``time_step_window`` and ``trend_alpha`` default to
    ``settings.hotspots``; ``inference`` as :func:`ctxrisk.analytics.emerging.emerging_hot_spots`.
    """
    from ctxrisk.analytics.emerging import emerging_hot_spots

    hs = settings.hotspots
    tb = time_bin or hs.time_bin
    spec = parse_unit(unit, settings=settings)
    if spec.kind == "points":
        msg = "emerging hot spots need areas or H3 cells, not points"
        raise ValidationError(msg)
    sel = _select(
        con,
        settings,
        event_types=event_types,
        theme=theme,
        source=source,
        since=since,
        until=until,
        hours=hours,
        include_out_of_area=include_out_of_area,
        spec=spec,
        extra=("time_precision", "local_time"),
    )
    sel = sel.require_precision("week" if tb == "week" else "month")
    k = hs.k_ring if k_ring is None else int(k_ring)
    dist = float(hs.distance_band_m if distance_m is None else distance_m)
    perms = hs.permutations if permutations is None else int(permutations)
    seed_v = hs.seed if seed is None else int(seed)
    alpha_v = hs.alpha if alpha is None else float(alpha)
    t_alpha = hs.trend_alpha if trend_alpha is None else float(trend_alpha)
    window = hs.time_step_window if time_step_window is None else int(time_step_window)
    located = sel.located()
    cells = event_cells(located, int(spec.resolution)) if spec.kind == "h3" else None
    units = build_units(
        con, spec, located, weights=weights, k=k, distance_m=dist, include_out_of_area=include_out_of_area, cells=cells
    )
    sel, pos = place_events(con, units, sel, cells=cells)
    placed = pos >= 0
    if not placed.any():
        msg = f"no events fall in the study region ({sel.note()}): there is nothing to analyse"
        raise ValidationError(msg)
    start = parse_period(since)[0] if since else None
    end = (pd.Timestamp(parse_period(until)[1]) - pd.Timedelta(days=1)) if until else None
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
    params = {
        "unit": spec.label,
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
        "study_region": units.region,
        "n_units": units.n,
        "filters": sel.filters,
    }
    summary = res.to_frame()
    frame = pd.DataFrame(
        {
            "unit_id": units.ids,
            "unit_type": spec.label,
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
            "theme": _theme_label(theme),
            "run_id": run_id,
            "run_at": run_at,
            "events_used": int(placed.sum()),
            "events_excluded": json.dumps(sel.excluded | {"unlocated": sel.n_unlocated}),
            "parameters": json.dumps(params),
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
    return EmergingRun(frame, bins, sel, params, run_id, run_at, res, units)


# ----------------------------------------------------------------------------------------------------------
# Back-testing


@dataclass(frozen=True)
class BacktestRun:
    """A back-test: hot spots from ``train`` scored against ``test`` events (``frame`` is the mart row)."""

    frame: pd.DataFrame
    result: Any
    train: HotspotResult
    test_selection: EventSelection
    parameters: dict[str, Any]


def run_backtest(
    con: duckdb.DuckDBPyConnection,
    *,
    settings: Settings,
    train: str,
    test: str,
    unit: str = "h3",
    event_types: str | list[str] | None = None,
    theme: str | list[str] | None = None,
    source: str | list[str] | None = None,
    include_out_of_area: bool = False,
    weights: WeightsKind | None = None,
    k_ring: int | None = None,
    distance_m: float | None = None,
    permutations: int | None = None,
    seed: int | None = None,
    alpha: float | None = None,
    write: bool = True,
) -> BacktestRun:
    """Flag Gi* hot spots (``q < alpha``, ``z > 0``) from the ``train`` period and score them against the
    ``test`` period's events with hit rate, PAI and PEI (:func:`ctxrisk.analytics.backtest.backtest`).

    Periods are ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or ``A..B`` (both ends inclusive). The study region is
    the same for both periods: with boundaries loaded, the partnership's area; otherwise the cells of the
    events of both periods plus their ``k``-ring, so every test event falls in some unit. Writes
    ``marts.hotspot_backtest`` (one row).
    """
    from ctxrisk.analytics.backtest import backtest

    hs = settings.hotspots
    spec = parse_unit(unit, settings=settings)
    if spec.kind == "points":
        msg = "back-tests need areas or H3 cells, not points"
        raise ValidationError(msg)
    tr0, tr1 = parse_period(train)
    te0, te1 = parse_period(test)
    if te0 < tr1:
        logger.warning("the test period %s starts before the training period %s ends", test, train)
    common = dict(event_types=event_types, theme=theme, source=source, include_out_of_area=include_out_of_area)
    fmt = "%Y-%m-%d"
    last = lambda d: (pd.Timestamp(d) - pd.Timedelta(days=1)).strftime(fmt)  # noqa: E731
    sel_train = _select(con, settings, since=tr0.strftime(fmt), until=last(tr1), hours=None, spec=spec, **common)
    sel_test = _select(con, settings, since=te0.strftime(fmt), until=last(te1), hours=None, spec=spec, **common)
    k = hs.k_ring if k_ring is None else int(k_ring)
    dist = float(hs.distance_band_m if distance_m is None else distance_m)
    both = pd.concat([sel_train.located(), sel_test.located()], ignore_index=True)
    units = build_units(con, spec, both, weights=weights, k=k, distance_m=dist, include_out_of_area=include_out_of_area)
    sel_train, pos_train = place_events(con, units, sel_train)
    sel_test, pos_test = place_events(con, units, sel_test)
    y_train = _counts(pos_train, units.n)
    y_test = _counts(pos_test, units.n)
    perms = hs.permutations if permutations is None else int(permutations)
    seed_v = hs.seed if seed is None else int(seed)
    alpha_v = hs.alpha if alpha is None else float(alpha)
    gi = GiStar(y_train, units.w, permutations=perms, seed=seed_v, alpha=alpha_v)
    flagged = gi.hot
    result = backtest(flagged, units.area_m2, y_test)
    run_id, run_at = _run_stamp()
    params = {
        "unit": spec.label,
        "train": [str(tr0), str(tr1 - pd.Timedelta(days=1).to_pytimedelta())],
        "test": [str(te0), str(te1 - pd.Timedelta(days=1).to_pytimedelta())],
        "weights": units.weights,
        "permutations": perms,
        "seed": seed_v,
        "alpha": alpha_v,
        "flag": "Gi* hot spot, FDR q < alpha",
        "study_region": units.region,
        "n_units": units.n,
    }
    train_frame = pd.DataFrame({"unit_id": units.ids, "count": y_train, "z": gi.z, "q": gi.q, "bin": gi.bin})
    train_result = HotspotResult(train_frame, sel_train, params, run_id, run_at, gi, units, "hotspots")
    frame = pd.DataFrame(
        [
            {
                "unit_type": spec.label,
                "train_start": tr0,
                "train_end": (pd.Timestamp(tr1) - pd.Timedelta(days=1)).date(),
                "test_start": te0,
                "test_end": (pd.Timestamp(te1) - pd.Timedelta(days=1)).date(),
                "n_units": units.n,
                "n_flagged": result.n_flagged,
                "flagged_area_km2": result.flagged_area / 1e6,
                "total_area_km2": result.total_area / 1e6,
                "area_share": result.area_share,
                "test_events": result.total,
                "captured": result.captured,
                "max_captured": result.max_captured,
                "hit_rate": result.hit_rate,
                "pai": result.pai,
                "pei": result.pei,
                "train_events": int(y_train.sum()),
                "theme": _theme_label(theme),
                "run_id": run_id,
                "run_at": run_at,
                "train_excluded": json.dumps(sel_train.excluded | {"unlocated": sel_train.n_unlocated}),
                "test_excluded": json.dumps(sel_test.excluded | {"unlocated": sel_test.n_unlocated}),
                "parameters": json.dumps(params),
            }
        ]
    )
    if write:
        with transaction(con):
            write_mart(con, "hotspot_backtest", frame)
    return BacktestRun(frame, result, train_result, sel_test, params)
