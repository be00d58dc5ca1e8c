"""What links a child to others and to places: adults found with, flagged adults, locations of concern."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import h3
import numpy as np
import pandas as pd
import pyarrow as pa

from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.warehouse import stale_marts

log = logging.getLogger(__name__)

__all__ = [
    "FlaggedAdults",
    "LocationsOfConcern",
    "co_involvements",
    "flagged_adults",
    "flagged_adults_from_graph",
    "found_with",
    "load_locations_of_concern",
    "place_links",
    "rank_at",
]


@dataclass(frozen=True)
class FlaggedAdults:
    """Adults flagged in the association graph.

    Attributes
    ----------
    ids : frozenset of str
        Their pseudonymous IDs.
    assessed : bool
        False when the warehouse holds no graph result (``marts.graph_adults_of_concern`` missing or
        empty): then no child can meet the flagged-adult indicator, and the outputs say it was not assessed.
    basis : str
        How the set was chosen, for the output's note.
    """

    ids: frozenset[str] = field(default_factory=frozenset)
    assessed: bool = False
    basis: str = "no association graph in the warehouse (run `ctxrisk run` or `ctxrisk graph adults-of-concern`)"


def _table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return [r[0] for r in rows]


def flagged_adults(con: duckdb.DuckDBPyConnection, *, adults: pd.DataFrame | None = None) -> FlaggedAdults:
    """The adults flagged in the association graph.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    adults : pandas.DataFrame or None
        An adults-of-concern frame (:func:`ctxrisk.analytics.graph.concern.adults_of_concern`) to use instead
        of ``marts.graph_adults_of_concern``.

    Returns
    -------
    FlaggedAdults
        Where the frame has a ``flagged`` column (linked to more children than chance would give), the rows
        with ``flagged`` true; otherwise every adult listed (linked to ``[graph] min_children`` or more).
    """
    if adults is None:
        columns = _table_columns(con, "marts", "graph_adults_of_concern")
        # The mart is declared, so a new warehouse holds it empty, and a purge empties it and lists it as
        # stale: either way no graph result (a run lists every adult linked to [graph] min_children or more).
        empty = not columns or not con.execute("select count(*) from marts.graph_adults_of_concern").fetchone()[0]
        if empty or "graph_adults_of_concern" in stale_marts(con):
            return FlaggedAdults()
        wanted = ["person_id", *(["flagged"] if "flagged" in columns else [])]
        adults = con.execute(f"select {', '.join(wanted)} from marts.graph_adults_of_concern").df()
    if "flagged" in adults.columns:
        ids = adults.loc[adults["flagged"].fillna(False).astype(bool), "person_id"]
        basis = "adults the association graph flags (linked to more children than chance would give)"
    else:
        ids = adults["person_id"]
        basis = "adults the association graph lists as linked to several children"
    return FlaggedAdults(frozenset(ids.astype(str)), True, basis)


def flagged_adults_from_graph(con: duckdb.DuckDBPyConnection, *, settings: Settings) -> FlaggedAdults:
    """Build the association graph from the warehouse now and test its adults against chance.

    The same as the ``ctxrisk run`` graph step (``[graph] recency_half_life_days``, ``min_children``,
    ``alpha``), for a warehouse without ``marts.graph_adults_of_concern`` or whose mart is out of date.
    """
    from ctxrisk.analytics.graph.build import build_arrays
    from ctxrisk.analytics.graph.concern import adults_of_concern
    from ctxrisk.analytics.graph.inputs import load_graph_inputs

    arrays = build_arrays(load_graph_inputs(con), half_life_days=settings.graph.recency_half_life_days)
    if arrays.n_nodes == 0:
        return FlaggedAdults(frozenset(), True, "no persons linked in the warehouse")
    adults = adults_of_concern(arrays, min_children=settings.graph.min_children, alpha=settings.graph.alpha)
    return flagged_adults(con, adults=adults)


_FOUND_WITH_SQL = """
select e.episode_id, e.person_id as child_id, e.started_at, w.person_id,
    case when p.birth_date is null then null
         else date_sub('year', p.birth_date, timezone($tz, e.started_at)::date) end as age_years
from staging.missing_episodes as e,
    unnest(e.found_with) as w(person_id)
left join staging.persons as p on p.person_id = w.person_id
where e.found_with is not null
"""


def found_with(con: duckdb.DuckDBPyConnection, *, settings: Settings) -> pd.DataFrame:
    """Everyone a child was found with: ``episode_id, child_id, started_at, person_id, age_years`` (age then)."""
    frame = con.execute(_FOUND_WITH_SQL, {"tz": settings.local_timezone}).df()
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    return frame


_CO_INVOLVED_SQL = """
with
adult_events as (
    select distinct event_id, event_type, person_id as adult_id, role as adult_role
    from staging.involved
    where person_id in (select unnest($ids::varchar[]))
),
pairs as (
    select distinct c.person_id as child_id, a.adult_id, a.event_id, a.event_type, c.role, a.adult_role
    from adult_events as a
    join staging.involved as c on c.event_id = a.event_id and c.event_type = a.event_type
    where c.person_id <> a.adult_id
)
select pairs.*, ev.occurred_at, i.source_evaluation, i.intelligence_evaluation
from pairs
left join staging.event_places as ev on ev.event_id = pairs.event_id and ev.event_type = pairs.event_type
left join (
    select intel_id, 'intelligence' as event_type, source_evaluation, intelligence_evaluation from raw.intelligence
) as i on i.intel_id = pairs.event_id and i.event_type = pairs.event_type  -- equalities only: a hash join
"""


def co_involvements(con: duckdb.DuckDBPyConnection, ids: frozenset[str] | set[str]) -> pd.DataFrame:
    """Every person in the same event as one of ``ids``, with the event, its time and grading where graded.

    Returns
    -------
    pandas.DataFrame
        ``child_id`` (the other person, any age: the caller keeps children), ``adult_id``, ``event_id``,
        ``event_type``, ``role`` and ``adult_role`` (a missing episode's ``found_with`` adult), ``occurred_at``,
        ``source_evaluation``, ``intelligence_evaluation``.
    """
    if not ids:
        return pd.DataFrame(
            columns=[
                "child_id",
                "adult_id",
                "event_id",
                "event_type",
                "role",
                "adult_role",
                "occurred_at",
                "source_evaluation",
                "intelligence_evaluation",
            ]
        )
    frame = con.execute(_CO_INVOLVED_SQL, {"ids": sorted(ids)}).df()
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    return frame


@dataclass(frozen=True)
class LocationsOfConcern:
    """The ranked places of ``marts.locations_of_concern`` and the H3 cells that count as each.

    Attributes
    ----------
    frame : pandas.DataFrame
        ``rank, unit_id, name, score, latitude, longitude`` (empty when the mart is absent).
    assessed : bool
        False when the warehouse holds no locations of concern (run ``ctxrisk locations``).
    resolution : int
        H3 resolution of the cells.
    cell_rank : dict
        H3 cell -> rank of the place it belongs to (the best-ranked one where rings overlap).
    """

    frame: pd.DataFrame
    assessed: bool
    resolution: int
    cell_rank: dict[str, int]


def load_locations_of_concern(con: duckdb.DuckDBPyConnection, *, settings: Settings) -> LocationsOfConcern:
    """Read ``marts.locations_of_concern`` and spread each place over ``[mace] location_rings`` H3 rings."""
    columns = _table_columns(con, "marts", "locations_of_concern")
    wanted = ["rank", "unit_id", "name", "score", "latitude", "longitude"]
    if not set(wanted) <= set(columns) or "locations_of_concern" in stale_marts(con):
        return LocationsOfConcern(pd.DataFrame(columns=wanted), False, settings.hotspots.h3_resolution, {})
    frame = con.execute(f"select {', '.join(wanted)} from marts.locations_of_concern order by rank").df()
    resolution = h3.get_resolution(frame["unit_id"].iloc[0]) if len(frame) else settings.hotspots.h3_resolution
    cell_rank: dict[str, int] = {}
    for rank, cell in zip(frame["rank"].tolist(), frame["unit_id"].tolist(), strict=True):
        for c in h3.grid_disk(cell, int(settings.mace.location_rings)):
            cell_rank.setdefault(c, int(rank))
    return LocationsOfConcern(frame, True, resolution, cell_rank)


_NEAR_SQL = """
select ev.event_id, ev.event_type, ev.occurred_at, ev.latitude, ev.longitude
from staging.event_places as ev
join {squares} as b on floor(ev.latitude * 100)::bigint = b.la and floor(ev.longitude * 100)::bigint = b.lo
where ev.latitude between -90 and 90 and ev.longitude between -180 and 180
    and ($since is null or ev.occurred_at >= $since) and ($until is null or ev.occurred_at < $until)
"""

_PLACED_SQL = """
with
placed as (
    select distinct i.person_id, hit.event_id, hit.event_type, hit.occurred_at, hit.rank
    from {events} as hit
    join staging.involved as i on i.event_id = hit.event_id and i.event_type = hit.event_type
),
aged as (
    select placed.*,
        case
            when p.birth_date is null or placed.occurred_at is null then 'unknown'
            when date_sub('year', p.birth_date, placed.occurred_at::date) < 18 then 'child'
            when date_sub('year', p.birth_date, placed.occurred_at::date) < 25 then 'young_adult'
            else 'adult'
        end as age_band
    from placed
    left join (select person_id, birth_date from staging.persons) as p using (person_id)
)
select person_id, event_id, event_type, occurred_at, rank
from aged
where age_band in (select unnest($bands::varchar[]))
"""


def _cell_squares(cells: list[str]) -> pd.DataFrame:
    """The 0.01-degree squares (``floor(100 x degrees)``) that a bounding box of each H3 cell touches."""
    squares: set[tuple[int, int]] = set()
    for cell in cells:
        lat, lon = zip(*h3.cell_to_boundary(cell), strict=True)
        for la in range(math.floor(min(lat) * 100), math.floor(max(lat) * 100) + 1):
            for lo in range(math.floor(min(lon) * 100), math.floor(max(lon) * 100) + 1):
                squares.add((la, lo))
    return pd.DataFrame(sorted(squares), columns=["la", "lo"], dtype="int64")


def _inside_convex(x: np.ndarray, y: np.ndarray, vx: np.ndarray, vy: np.ndarray) -> np.ndarray:
    """Points ``(x, y)`` inside or on the convex polygon with vertices ``(vx, vy)`` (either orientation)."""
    area = np.sum(vx * np.roll(vy, -1) - np.roll(vx, -1) * vy)
    sign = 1.0 if area > 0 else -1.0
    inside = np.ones(x.size, dtype=bool)
    for k in range(vx.size):
        ax, ay, bx, by = vx[k], vy[k], vx[(k + 1) % vx.size], vy[(k + 1) % vx.size]
        inside &= sign * ((bx - ax) * (y - ay) - (by - ay) * (x - ax)) >= 0
    return inside


def rank_at(places: LocationsOfConcern, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """The rank of the place whose H3 cell holds each point (-1: none).

    Point in polygon on each cell's boundary, in degrees: an H3 edge is a great-circle arc, which at
    resolution 9 departs from the straight line between its vertices by about a millimetre. A point on an
    edge shared by two places goes to the better rank.
    """
    out = np.full(lat.size, -1, dtype=np.int64)
    order = np.argsort(lat, kind="stable")
    lat_sorted = lat[order]
    for cell, rank in sorted(places.cell_rank.items(), key=lambda kv: (-kv[1], kv[0])):  # best rank last: it wins
        vy, vx = (np.array(v) for v in zip(*h3.cell_to_boundary(cell), strict=True))
        lo = np.searchsorted(lat_sorted, vy.min(), side="left")
        hi = np.searchsorted(lat_sorted, vy.max(), side="right")
        idx = order[lo:hi]
        idx = idx[(lon[idx] >= vx.min()) & (lon[idx] <= vx.max())]
        out[idx[_inside_convex(lon[idx], lat[idx], vx, vy)]] = rank
    return out


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, prefix: str, frame: pd.DataFrame) -> Iterator[str]:
    """Register ``frame`` under a name unique to this thread for the block; yield the name."""
    name = f"{prefix}_{threading.get_ident()}"
    con.register(name, frame)
    try:
        yield name
    finally:
        con.unregister(name)


def place_links(
    con: duckdb.DuckDBPyConnection,
    places: LocationsOfConcern,
    *,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    bands: tuple[str, ...] = ("child", "unknown"),
) -> pd.DataFrame:
    """Every located event (any role, missing found-at places included) at a location of concern of a person
    whose age band then is one of ``bands``.

    Returns
    -------
    pandas.DataFrame
        ``person_id, event_id, event_type, occurred_at, rank`` (the place's rank).
    """
    empty = pd.DataFrame(columns=["person_id", "event_id", "event_type", "occurred_at", "rank"])
    if not places.cell_rank:
        return empty
    window = {
        "since": None if since is None else since.to_pydatetime(),
        "until": None if until is None else until.to_pydatetime(),
    }
    with _registered(con, "protect_squares", _cell_squares(sorted(places.cell_rank))) as squares:
        near = con.execute(_NEAR_SQL.format(squares=squares), window).to_arrow_table()
    if near.num_rows == 0:
        return empty
    lat = near.column("latitude").to_numpy().astype(float)
    lon = near.column("longitude").to_numpy().astype(float)
    rank = rank_at(places, lat, lon)
    keep = rank >= 0
    at = near.select(["event_id", "event_type", "occurred_at"]).filter(pa.array(keep))
    at = at.append_column("rank", pa.array(rank[keep]))
    with _registered(con, "protect_events", at) as events:
        frame = con.execute(_PLACED_SQL.format(events=events), {"bands": list(bands)}).df()
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    return frame
