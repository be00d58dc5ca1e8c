"""What links a child to others and to places: adults found with, flagged adults, locations of concern."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import duckdb
import h3
import numpy as np
import pandas as pd

from ctxrisk.analytics.weights import h3_cells_indexed
from ctxrisk.pipelines.settings import Settings

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
]


@dataclass(frozen=True)
class FlaggedAdults:
    """Adults flagged in the association graph.

    Attributes
    ----------
    ids : frozenset of str
        Their pseudonymous IDs.
    assessed : bool
        False when the warehouse holds no graph result (``marts.graph_adults_of_concern``): then no child
        can meet the flagged-adult indicator, and the outputs say it was not assessed.
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
        if not columns:
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
with adults as (select unnest($ids::varchar[]) as person_id)
select c.person_id as child_id, a.person_id as adult_id, c.event_id, c.event_type, c.role, a.role as adult_role,
    c.occurred_at, i.source_evaluation, i.intelligence_evaluation
from staging.involvements as a
join staging.involvements as c
    on c.event_id = a.event_id and c.event_type = a.event_type and c.person_id <> a.person_id
left join raw.intelligence as i on c.event_type = 'intelligence' and i.intel_id = c.event_id
where a.person_id in (select person_id from adults)
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
    if not set(wanted) <= set(columns):
        return LocationsOfConcern(pd.DataFrame(columns=wanted), False, settings.hotspots.h3_resolution, {})
    frame = con.execute(f"select {', '.join(wanted)} from marts.locations_of_concern order by rank").df()
    resolution = h3.get_resolution(frame["unit_id"].iloc[0]) if len(frame) else settings.hotspots.h3_resolution
    cell_rank: dict[str, int] = {}
    for rank, cell in zip(frame["rank"].tolist(), frame["unit_id"].tolist(), strict=True):
        for c in h3.grid_disk(cell, int(settings.mace.location_rings)):
            cell_rank.setdefault(c, int(rank))
    return LocationsOfConcern(frame, True, resolution, cell_rank)


_PLACED_SQL = """
select distinct i.person_id, i.event_id, i.event_type, i.occurred_at, i.latitude, i.longitude
from staging.involvements as i
where i.latitude is not null and i.longitude is not null and i.age_band in (select unnest($bands::varchar[]))
    and ($since is null or i.occurred_at >= $since) and ($until is null or i.occurred_at < $until)
"""


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
    params = {
        "since": None if since is None else since.to_pydatetime(),
        "until": None if until is None else until.to_pydatetime(),
        "bands": list(bands),
    }
    frame = con.execute(_PLACED_SQL, params).df()
    if frame.empty:
        return empty
    ok = frame["latitude"].between(-90, 90) & frame["longitude"].between(-180, 180)
    frame = frame[ok.to_numpy(bool)].reset_index(drop=True)
    cells, index = h3_cells_indexed(
        frame["latitude"].to_numpy(float), frame["longitude"].to_numpy(float), resolution=places.resolution
    )
    rank_of_cell = np.array([places.cell_rank.get(c, -1) for c in cells.tolist()], dtype=np.int64)
    frame["rank"] = rank_of_cell[index]
    frame = frame[frame["rank"] >= 0].drop(columns=["latitude", "longitude"]).reset_index(drop=True)
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    return frame
