"""Assign located events to the loaded areas of each level by point-in-polygon (shapely, prepared polygons)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from ctxrisk.pipelines.warehouse import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventSource:
    """A raw table whose rows are events of ``staging.events``, and where their point is.

    Attributes
    ----------
    table : str
        Raw table, e.g. ``raw.incidents``.
    event_type : str
        ``event_type`` of its rows in ``staging.events`` and ``raw.event_areas``.
    id_column, longitude, latitude : str
        Key column and WGS84 point columns.
    located : str
        SQL condition for a located row, as ``staging.events`` states it.
    """

    table: str
    event_type: str
    id_column: str
    longitude: str
    latitude: str
    located: str


# Identifiers here are constants, never taken from data; they mirror pipelines/sql/staging/010_events.sql.
EVENT_SOURCES: tuple[EventSource, ...] = (
    EventSource("raw.incidents", "incident", "incident_id", "longitude", "latitude", "located"),
    EventSource(
        "raw.missing_episodes",
        "missing",
        "episode_id",
        "found_longitude",
        "found_latitude",
        "found_latitude is not null",
    ),
    EventSource("raw.intelligence", "intelligence", "intel_id", "longitude", "latitude", "located"),
    EventSource("raw.stop_searches", "stop_search", "search_id", "longitude", "latitude", "located"),
)
EVENT_TABLES = frozenset(s.table for s in EVENT_SOURCES)


def boundaries_loaded(con: duckdb.DuckDBPyConnection) -> bool:
    """True when ``raw.boundaries`` holds at least one area."""
    return bool(con.execute("select count(*) > 0 from raw.boundaries").fetchone()[0])


def adds_events(tables: Iterable[str]) -> bool:
    """True when any of the raw ``tables`` an ingest wrote holds events (so they need areas)."""
    return any(t in EVENT_TABLES for t in tables)


@dataclass
class AreaIndex:
    """The loaded areas, prepared for point-in-polygon tests.

    Attributes
    ----------
    levels : ndarray of str
        The distinct levels, sorted.
    level_of : ndarray of int
        Index into ``levels`` of each polygon.
    codes : ndarray of str
        Each polygon's area code.
    code_rank : ndarray of int
        Each polygon's code's position in the sorted distinct codes (a smaller rank is a smaller code).
    geoms : ndarray of shapely geometries
        Prepared polygons (WGS84).
    bounds : ndarray, shape (n, 4)
        Each polygon's ``minx, miny, maxx, maxy``.
    """

    levels: np.ndarray
    level_of: np.ndarray
    codes: np.ndarray
    code_rank: np.ndarray
    geoms: np.ndarray
    bounds: np.ndarray

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> AreaIndex:
        """Read ``raw.boundaries`` (level, code, WKT) and prepare its polygons."""
        import shapely  # here, not at the top: ingests into a warehouse without boundaries never need it

        rows = con.execute("select level, code, geometry_wkt from raw.boundaries").fetchnumpy()
        level = np.asarray(rows["level"], dtype=object)
        codes = np.asarray(rows["code"], dtype=object)
        levels, level_of = (
            np.unique(level.astype(str), return_inverse=True)
            if len(level)
            else (np.array([], dtype=str), np.zeros(0, dtype=np.int64))
        )
        _unique, code_rank = (
            np.unique(codes.astype(str), return_inverse=True) if len(codes) else (None, np.zeros(0, dtype=np.int64))
        )
        geoms = shapely.from_wkt(np.asarray(rows["geometry_wkt"], dtype=object))
        shapely.prepare(geoms)
        return cls(levels, level_of.astype(np.int64), codes, code_rank.astype(np.int64), geoms, shapely.bounds(geoms))

    def locate(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each point, the polygon holding it at each level.

        Parameters
        ----------
        x, y : ndarray of float
            Longitude and latitude (WGS84), finite.

        Returns
        -------
        point : ndarray of int
            Position of the point in ``x``/``y``.
        polygon : ndarray of int
            Position of the polygon in this index; one per (point, level) the point is in.

        Notes
        -----
        A point is in a polygon when it is inside it or on its edge (``intersects``, as DuckDB's
        ``ST_Intersects``). A point on the shared edge of two areas of one level is given to the area with the
        smaller code. Candidates come from each polygon's bounding box, searched in the points sorted by
        longitude, and are then tested exactly against the prepared polygon.
        """
        import shapely

        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        order = np.argsort(x)
        xs, ys = x[order], y[order]
        points: list[np.ndarray] = []
        polygons: list[np.ndarray] = []
        for g, (x0, y0, x1, y1) in enumerate(self.bounds):
            if not np.isfinite(x0):  # an empty geometry holds no point
                continue
            lo = int(np.searchsorted(xs, x0, side="left"))
            hi = int(np.searchsorted(xs, x1, side="right"))
            if hi <= lo:
                continue
            in_box = np.flatnonzero((ys[lo:hi] >= y0) & (ys[lo:hi] <= y1)) + lo
            if not len(in_box):
                continue
            inside = in_box[shapely.intersects_xy(self.geoms[g], xs[in_box], ys[in_box])]
            if len(inside):
                points.append(order[inside])
                polygons.append(np.full(len(inside), g, dtype=np.int64))
        if not points:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        point = np.concatenate(points)
        polygon = np.concatenate(polygons)
        return _one_per_level(point, polygon, self.level_of, self.code_rank, len(x))


def _one_per_level(
    point: np.ndarray, polygon: np.ndarray, level_of: np.ndarray, code_rank: np.ndarray, n_points: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keep one polygon per (point, level): the one with the smallest code rank (a tie on a shared edge)."""
    level = level_of[polygon]
    n_levels = int(level.max()) + 1 if len(level) else 0
    key = point * n_levels + level
    counts = np.bincount(key, minlength=n_points * n_levels)
    if counts.max(initial=0) <= 1:
        return point, polygon
    tied = counts[key] > 1
    sub = np.flatnonzero(tied)
    first = sub[np.lexsort((code_rank[polygon[sub]], key[sub]))]
    keep_sub = np.ones(len(first), dtype=bool)
    keep_sub[1:] = key[first[1:]] != key[first[:-1]]
    keep = ~tied
    keep[first[keep_sub]] = True
    return point[keep], polygon[keep]


def _assign(
    con: duckdb.DuckDBPyConnection, index: AreaIndex, source: EventSource, where: str, params: list[object]
) -> tuple[int, int]:
    """Test the located events of one source matching ``where``; insert their areas. Returns (tested, added)."""
    events = con.execute(
        f"select {source.id_column} as event_id, {source.longitude} as x, {source.latitude} as y "
        f"from {source.table} t where ({source.located}) and {source.longitude} is not null "
        f"and {source.latitude} is not null {where}",
        params,
    ).to_arrow_table()
    if not events.num_rows:
        return 0, 0
    x = events["x"].to_numpy()
    y = events["y"].to_numpy()
    point, polygon = index.locate(x, y)
    if not len(point):
        return events.num_rows, 0
    taken = pa.array(polygon)
    found = pa.table(
        {
            "event_id": events["event_id"].take(pa.array(point)),
            "level": pa.array(index.levels[index.level_of].astype(object), type=pa.string()).take(taken),
            "area_code": pa.array(index.codes, type=pa.string()).take(taken),
        }
    )
    con.register("_found_areas", found)
    try:
        # The event type is a bound parameter, the same for every row.
        con.execute(
            "insert into raw.event_areas (event_type, event_id, level, area_code) "
            "select ?::varchar, event_id, level, area_code from _found_areas",
            [source.event_type],
        )
    finally:
        con.unregister("_found_areas")
    return events.num_rows, len(point)


def assign_event_areas(con: duckdb.DuckDBPyConnection, *, only_new: bool = True, file_id: str | None = None) -> int:
    """Fill ``raw.event_areas``: for each located event and each loaded level, the area holding the point.

    Parameters
    ----------
    only_new : bool
        Used when ``file_id`` is None. True: test only events with no area yet (events outside every area
        are tested again) and remove assignments of events or levels that no longer exist. False: rebuild
        every assignment (after boundaries change).
    file_id : str or None
        Test exactly the events loaded by this ingested file (``file_id`` of the raw tables): their earlier
        assignments, if a re-export replaced them, are removed first. This is what an ingest runs: events of
        other files keep the assignments made when they were loaded, which stay right while the boundaries
        do (a boundaries ingest rebuilds everything; ``ctxrisk purge`` removes the assignments of the events
        it removes).

    Returns
    -------
    int
        Rows added to ``raw.event_areas``.

    Notes
    -----
    A point inside an area or on its edge belongs to it; a point on the shared edge of two areas of one level
    is given to the area with the smaller code, so each event has at most one area per level. Events in no
    loaded area get no row and are flagged ``out_of_area`` by ``staging.events``.
    """
    if not boundaries_loaded(con):
        return 0
    index = AreaIndex.load(con)
    tested = added = 0
    with transaction(con):
        if file_id is not None:
            for source in EVENT_SOURCES:
                con.execute(
                    f"delete from raw.event_areas where event_type = ? and event_id in "
                    f"(select {source.id_column} from {source.table} where file_id = ?)",
                    [source.event_type, file_id],
                )
        elif only_new:
            con.execute(
                """
                delete from raw.event_areas ea
                where not exists (select 1 from staging.events e
                                  where e.event_type = ea.event_type and e.event_id = ea.event_id)
                   or ea.level not in (select distinct level from raw.boundaries)
                """
            )
        else:
            con.execute("delete from raw.event_areas")
        for source in EVENT_SOURCES:
            if file_id is not None:
                where, params = "and t.file_id = ?", [file_id]
            elif only_new:
                where = (
                    f"and not exists (select 1 from raw.event_areas ea where ea.event_type = ? "
                    f"and ea.event_id = t.{source.id_column})"
                )
                params = [source.event_type]
            else:
                where, params = "", []
            n_tested, n_added = _assign(con, index, source, where, params)
            tested += n_tested
            added += n_added
    log.info("assigned %s event(s) to areas: %s assignment(s) added", f"{tested:,}", f"{added:,}")
    return added
