"""Analysis units of a hot spot run: H3 cells or loaded areas, their study region and weights, events placed in them.

Units (``unit``):

* ``"auto"`` -- H3 cells at a resolution chosen from the spacing of the events (:mod:`ctxrisk.analytics.scale`);
* ``"h3"`` or ``"h3:R"`` -- H3 cells at resolution ``R`` (default ``settings.hotspots.h3_resolution``);
* a boundary level loaded in ``raw.boundaries`` (``"lsoa11"``, ``"lsoa21"``, ``"ward"``, ``"msoa"``, ``"lad"``);
  events are placed by the point-in-polygon assignment in ``raw.event_areas``;
* ``"points"`` -- no areas: HDBSCAN clusters of the event points in BNG metres with convex hulls.

Study region (every unit of it is tested, zero-count units included; see :mod:`ctxrisk.analytics.region`):

* H3 with boundaries loaded: every cell overlapping the partnership's area -- the polygons of the first
  loaded level of ``lad, ward, lsoa21, lsoa11, msoa``; with ``include_out_of_area`` the cells of the
  out-of-area events (and their ``k``-ring) are added;
* H3 with a configured ``study_area`` (local-authority codes or names): every cell overlapping those
  packaged outlines (:mod:`ctxrisk.pipelines.lad`);
* H3 otherwise: the area the events cover, drawn without a margin of empty cells and leaving out isolated
  out-of-force points (:func:`ctxrisk.analytics.region.data_region`);
* polygons: every area of the level, with or without events.

Weights (binary; Gi* adds the self weight): ``"kring"`` (H3 cells within ``k`` steps, default for H3),
``"contiguity"`` (queen contiguity, default for polygons), ``"distance"`` (unit centres within
``distance_m`` metres in BNG).
"""

from __future__ import annotations

import hashlib
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

from ctxrisk.analytics.events import EventSelection, load_events
from ctxrisk.analytics.region import data_region
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

logger = logging.getLogger(__name__)

__all__ = [
    "StudyUnits",
    "UnitSpec",
    "build_units",
    "event_cells",
    "loaded_levels",
    "parse_unit",
    "place_events",
    "select_events",
]

REGION_LEVELS: tuple[str, ...] = ("lad", "ward", "lsoa21", "lsoa11", "msoa")
WeightsKind = Literal["kring", "contiguity", "distance"]


@dataclass(frozen=True)
class UnitSpec:
    """A parsed ``--unit``: ``kind`` is ``h3``, ``polygon`` or ``points``."""

    kind: Literal["h3", "polygon", "points", "auto"]
    resolution: int | None = None
    level: str | None = None

    @property
    def label(self) -> str:
        """``h3:9``, the level name, ``points`` or ``auto``."""
        if self.kind == "auto":
            return "auto"
        if self.kind == "h3":
            return f"h3:{self.resolution}"
        return self.level if self.kind == "polygon" else "points"


def parse_unit(text: str, *, settings: Settings) -> UnitSpec:
    """Parse ``auto``, ``h3``, ``h3:R`` (R 0-15), ``points`` or a boundary level name (``lsoa11``, ``ward`` ...).

    Raises
    ------
    ValidationError
        On a malformed H3 resolution or an empty name.
    """
    t = (text or "").strip().lower()
    if not t:
        msg = "unit must be auto, h3[:RES], points or a boundary level such as lsoa11 or ward"
        raise ValidationError(msg)
    if t == "auto":
        return UnitSpec("auto")
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
    groups : numpy.ndarray of int or None
        Group of each unit when a region drawn from the data falls into separate groups (then ``w`` never
        links two groups and hot spot runs analyse each group apart); None for one group.
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
    groups: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of units."""
        return int(self.ids.size)

    @property
    def n_groups(self) -> int:
        """Groups analysed apart (1 when ``groups`` is None)."""
        return 1 if self.groups is None else int(np.unique(self.groups).size)

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


def configured_area(study_area: str) -> gpd.GeoDataFrame:
    """The packaged outlines of the local authorities named in ``study_area`` (codes or names, comma-separated)."""
    from ctxrisk.pipelines.lad import local_authority

    names = [t.strip() for t in str(study_area).split(",") if t.strip()]
    if not names:
        msg = "study_area names no local authority"
        raise ValidationError(msg)
    try:
        return pd.concat([local_authority(name) for name in names], ignore_index=True)
    except ValueError as exc:
        msg = f"[hotspots] study_area: {exc}"
        raise ValidationError(msg) from exc


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
    study_area: str | None = None,
) -> StudyUnits:
    res = int(spec.resolution)
    groups: np.ndarray | None = None
    if cells is None:
        cells = event_cells(events, res)
    cells, index = cells
    levels = loaded_levels(con)
    region_level = next((lv for lv in REGION_LEVELS if lv in levels), None)
    if region_level is not None or study_area:
        if region_level is not None:
            bounds = _boundaries(con, region_level)
            how = f"H3 res {res} cells overlapping the {len(bounds):,} {region_level} area(s) loaded"
        else:
            bounds = configured_area(str(study_area))
            how = f"H3 res {res} cells overlapping the configured study area ({', '.join(bounds['name'])})"
        region = set(study_region_h3(cells, resolution=res, boundary=bounds).tolist())
        if include_out_of_area and cells.size:
            outside = events["out_of_area"].to_numpy(bool)
            if outside.any():
                region |= set(study_region_h3(cells[np.unique(index[outside])], resolution=res, buffer_k=k).tolist())
                how += f", plus out-of-area event cells and their {k}-ring"
    else:
        if not cells.size:
            msg = "no located events match the filters: there is nothing to analyse"
            raise ValidationError(msg)
        drawn = data_region(events["latitude"].to_numpy(float), events["longitude"].to_numpy(float), resolution=res)
        region = set(drawn.cells.tolist())
        how = drawn.describe(res)
        if drawn.groups_kept > 1:
            groups = drawn.cell_group  # drawn.cells are sorted, as the ids below
        if len(region) < 3:
            msg = (
                f"the events cover too small an area for a study region ({len(region)} H3 res {res} cell(s)): load "
                "the partnership's boundaries or set [hotspots] study_area (--study-area) to local authorities"
            )
            raise ValidationError(msg)
    ids = np.array(sorted(region), dtype=str)
    if weights not in ("kring", "distance"):
        msg = f"weights {weights!r} do not apply to H3 cells; use kring or distance"
        raise ValidationError(msg)
    lat, lon, e, nn, geoms, area, w, wdesc = _cell_layout(ids, weights=weights, k=k, distance_m=distance_m)
    how += f"; {area.sum() / 1e6:,.1f} km2"
    if groups is not None:
        w = _within_groups(w, groups)
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
        groups,
    )


def _within_groups(w: sp.csr_matrix, groups: np.ndarray) -> sp.csr_matrix:
    """``w`` without the links between units of different groups."""
    coo = w.tocoo()
    same = groups[coo.row] == groups[coo.col]
    out = sp.csr_matrix((coo.data[same], (coo.row[same], coo.col[same])), shape=w.shape)
    out.sort_indices()
    return out


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
        f"all {len(ids):,} {spec.level} areas loaded; {bng.geometry.area.sum() / 1e6:,.1f} km2",
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
    study_area: str | None = None,
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
    study_area : str or None
        Local-authority codes or names (comma-separated): the H3 region when no boundary is loaded.
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
            study_area=study_area,
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


_UNIT_COLUMNS: dict[str, tuple[str, ...]] = {
    "h3": ("latitude", "longitude"),
    "polygon": ("event_type", "event_id"),
    "points": ("easting", "northing"),
}


def select_events(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    params: Any,
    *,
    kind: str,
    extra: tuple[str, ...] = (),
    since: str | None = None,
    until: str | None = None,
    event_types: Any = None,
) -> EventSelection:
    """The events of an analysis on ``kind`` units (``h3``, ``polygon``, ``points``): only the columns it reads.

    ``params`` is a :class:`ctxrisk.analytics.parameters.HotspotParameters`; ``since``, ``until`` and
    ``event_types`` override its own (back-tests and baselines select other periods and types).
    """
    types = event_types if event_types is not None else params.event_types
    return load_events(
        con,
        settings=settings,
        event_types=list(types) if types else "all",
        themes=list(params.themes) if params.themes else None,
        sources=list(params.sources) if params.sources else None,
        since=since if since is not None else params.since,
        until=until if until is not None else params.until,
        hours=params.hours,
        include_out_of_area=params.include_out_of_area,
        columns=_UNIT_COLUMNS["h3" if kind == "auto" else kind] + extra,
        compact=kind != "polygon",  # polygons join the event type to raw.event_areas: keep it text
    )
