"""Graph inputs: the warehouse tables an association graph is built from, and their loader."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.timeparse import local_to_utc

log = logging.getLogger(__name__)

#: Age bands used on every person node (see docs/data-model.md).
AGE_BANDS: tuple[str, ...] = ("child", "young_adult", "adult", "unknown")

#: Relations recorded in ``raw.associations``.
ASSOCIATION_RELATIONS: tuple[str, ...] = (
    "knows",
    "family",
    "lives_with",
    "social_media",
    "phone_contact",
    "co_offender",
    "intelligence",
)

#: Relations derived from events rather than recorded associations.
EVENT_RELATIONS: tuple[str, ...] = ("co_involvement", "found_with", "intelligence_co_subject")

#: Every relation an edge can carry; the ``relations=`` filters accept these names.
RELATIONS: tuple[str, ...] = EVENT_RELATIONS + ASSOCIATION_RELATIONS

LONDON = "Europe/London"

_COLUMNS: dict[str, tuple[str, ...]] = {
    "persons": ("person_id", "birth_year_month", "sex", "looked_after"),
    "involvements": ("person_id", "event_id", "event_type", "role", "occurred_at", "age_band"),
    "missing_episodes": ("episode_id", "person_id", "started_at", "found_with"),
    "associations": (
        "person_a",
        "person_b",
        "relation",
        "observed_at",
        "source_evaluation",
        "intelligence_evaluation",
        "handling",
    ),
    "screenings": ("person_id", "screened_at", "risk_level"),
    "intelligence": (
        "intel_id",
        "reported_at",
        "persons",
        "source_evaluation",
        "intelligence_evaluation",
        "handling",
    ),
    "person_locations": ("person_id", "location_id", "linked_at"),
}

_TIME_COLUMNS: dict[str, str] = {
    "involvements": "occurred_at",
    "missing_episodes": "started_at",
    "associations": "observed_at",
    "screenings": "screened_at",
    "intelligence": "reported_at",
    "person_locations": "linked_at",
}

_REQUIRED: dict[str, tuple[str, ...]] = {
    "persons": ("person_id",),
    "involvements": ("person_id", "event_id", "event_type", "role"),
    "missing_episodes": ("episode_id", "person_id"),
    "associations": ("person_a", "person_b", "relation"),
    "screenings": ("person_id", "screened_at", "risk_level"),
    "intelligence": ("intel_id",),
    "person_locations": ("person_id", "location_id"),
}


def empty_frame(kind: str) -> pd.DataFrame:
    """Return an empty DataFrame with the columns of input ``kind``.

    Parameters
    ----------
    kind : str
        One of ``persons``, ``involvements``, ``missing_episodes``, ``associations``,
        ``screenings``, ``intelligence``, ``person_locations``.
    """
    if kind not in _COLUMNS:
        msg = f"unknown graph input kind {kind!r}; expected one of {sorted(_COLUMNS)}"
        raise ValidationError(msg)
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in _COLUMNS[kind]})
    if kind in _TIME_COLUMNS:
        frame[_TIME_COLUMNS[kind]] = pd.Series(dtype="datetime64[us, UTC]")
    return frame


@dataclass
class GraphInputs:
    """The tables an association graph is built from (pandas DataFrames, warehouse columns).

    Attributes
    ----------
    persons : DataFrame
        ``person_id``, ``birth_year_month`` (``YYYY-MM`` or null), ``sex``, ``looked_after`` (bool or null).
    involvements : DataFrame
        ``person_id``, ``event_id``, ``event_type`` (``incident``, ``missing``, ``intelligence``),
        ``role`` (``victim``, ``suspect``, ``associate``, ``witness``, ``found_with``, ``subject``),
        ``occurred_at`` (UTC), ``age_band`` (``child``, ``young_adult``, ``adult``, ``unknown``).
    missing_episodes : DataFrame
        ``episode_id``, ``person_id`` (the child), ``started_at`` (UTC), ``found_with`` (list of
        person IDs, a ``;``-separated string, or null).
    associations : DataFrame
        ``person_a``, ``person_b``, ``relation`` (one of :data:`ASSOCIATION_RELATIONS`),
        ``observed_at`` (UTC or null), ``source_evaluation`` (``1``-``3`` or null),
        ``intelligence_evaluation`` (``A``-``E`` or null), ``handling`` (``P``, ``C`` or null).
    screenings : DataFrame
        ``person_id``, ``screened_at`` (UTC), ``risk_level``.
    intelligence : DataFrame
        Optional. ``intel_id``, ``reported_at``, ``persons`` (list or ``;``-string), and the 3x5x2
        grading; used to grade co-subjects of an intelligence item.
    person_locations : DataFrame
        Optional. ``person_id``, ``location_id`` and optionally ``linked_at``.
    """

    persons: pd.DataFrame = field(default_factory=lambda: empty_frame("persons"))
    involvements: pd.DataFrame = field(default_factory=lambda: empty_frame("involvements"))
    missing_episodes: pd.DataFrame = field(default_factory=lambda: empty_frame("missing_episodes"))
    associations: pd.DataFrame = field(default_factory=lambda: empty_frame("associations"))
    screenings: pd.DataFrame = field(default_factory=lambda: empty_frame("screenings"))
    intelligence: pd.DataFrame = field(default_factory=lambda: empty_frame("intelligence"))
    person_locations: pd.DataFrame = field(default_factory=lambda: empty_frame("person_locations"))

    def __post_init__(self) -> None:
        for kind in _COLUMNS:
            frame = getattr(self, kind)
            if frame is None:
                frame = empty_frame(kind)
            if not isinstance(frame, pd.DataFrame):
                msg = f"graph input {kind!r} must be a pandas DataFrame, not {type(frame).__name__}"
                raise ValidationError(msg)
            missing = [c for c in _REQUIRED[kind] if c not in frame.columns]
            if missing:
                msg = f"graph input {kind!r} lacks required column(s) {missing}; it has {list(frame.columns)}"
                raise ValidationError(msg)
            frame = frame.copy()
            for col in _COLUMNS[kind]:
                if col not in frame.columns:
                    frame[col] = None
            if kind in _TIME_COLUMNS:
                col = _TIME_COLUMNS[kind]
                frame[col] = to_utc(frame[col], column=f"{kind}.{col}")
            setattr(self, kind, frame)


def to_utc(values: pd.Series, *, column: str = "time") -> pd.Series:
    """Convert a column of times to UTC timestamps (naive times are Europe/London local).

    Parameters
    ----------
    values : Series
        Timestamps, ISO 8601 strings or nulls.
    column : str
        Name used in error messages.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    if values.isna().all():
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    try:
        parsed = pd.to_datetime(values, utc=False, format="ISO8601")
    except (ValueError, TypeError):
        try:
            parsed = pd.to_datetime(values, utc=True, format="ISO8601")
        except (ValueError, TypeError) as exc:
            msg = f"column {column!r} holds values that are not ISO 8601 times: {exc}"
            raise ValidationError(msg) from exc
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return parsed.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    return pd.Series(local_to_utc(parsed, LONDON), index=parsed.index, name=parsed.name)


def parse_bound(value: Any, *, end: bool = False) -> pd.Timestamp | None:
    """Parse a ``since``/``until`` bound into a UTC timestamp.

    Parameters
    ----------
    value : str, date, datetime, Timestamp or None
        A naive time is Europe/London local time. ``None`` means unbounded.
    end : bool
        When true and ``value`` is a date without a time (``"2024-12-31"`` or a ``date``), the
        bound is the end of that day, so ``until="2024-12-31"`` keeps all of 31 December.

    Returns
    -------
    Timestamp or None
        Windows are half-open: ``since <= t < until``.
    """
    if value is None:
        return None
    date_only = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    if isinstance(value, str):
        date_only = len(value.strip()) == 10
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        msg = f"cannot read {value!r} as a date or time (use ISO 8601, e.g. 2024-03-31)"
        raise ValidationError(msg) from exc
    if ts is pd.NaT:
        msg = f"cannot read {value!r} as a date or time (use ISO 8601, e.g. 2024-03-31)"
        raise ValidationError(msg)
    if end and date_only:
        ts = ts + pd.Timedelta(days=1)
    if ts.tzinfo is None:
        ts = ts.tz_localize(LONDON, ambiguous=True, nonexistent="shift_forward")
    return ts.tz_convert("UTC")


def in_window(
    times: pd.Series, since: pd.Timestamp | None, until: pd.Timestamp | None, *, keep_null: bool
) -> pd.Series:
    """Boolean mask of ``since <= t < until``; null times are kept when ``keep_null``."""
    mask = pd.Series(True, index=times.index)
    if since is not None:
        mask &= times >= since
    if until is not None:
        mask &= times < until
    if keep_null:
        mask |= times.isna()
    else:
        mask &= times.notna()
    return mask


def as_id_list(value: Any) -> list[str]:
    """Return a list of person IDs from a list, array, ``;``-separated string or null."""
    if value is None:
        return []
    if isinstance(value, float) and np.isnan(value):
        return []
    if isinstance(value, str):
        items = value.split(";")
    else:
        try:
            items = list(value)
        except TypeError:
            return []
    return [str(i).strip() for i in items if i is not None and str(i).strip()]


def _table_exists(con: Any, schema: str, table: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def _columns_of(con: Any, schema: str, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return [r[0] for r in rows]


def _read(
    con: Any,
    kind: str,
    qualified: str,
    wanted: tuple[str, ...],
    where: str = "",
    params: list | None = None,
    *,
    order_by: tuple[str, ...] = (),
) -> pd.DataFrame:
    schema, table = qualified.split(".")
    if not _table_exists(con, schema, table):
        log.info("warehouse has no %s; %s left empty", qualified, kind)
        return empty_frame(kind)
    have = _columns_of(con, schema, table)
    cols = [c for c in wanted if c in have]
    order = [c for c in order_by if c in have]
    sql = f"SELECT {', '.join(cols)} FROM {qualified} {where}" + (f" ORDER BY {', '.join(order)}" if order else "")
    frame = con.execute(sql, params or []).to_arrow_table().to_pandas()
    for col in wanted:
        if col not in frame.columns:
            frame[col] = None
    return frame


def _window_clause(col: str, lo: pd.Timestamp | None, hi: pd.Timestamp | None, *, keep_null: bool) -> tuple[str, list]:
    """``WHERE lo <= col < hi`` (either bound may be None) and its parameters; ``keep_null`` keeps undated rows."""
    clauses, params = [], []
    if lo is not None:
        clauses.append(f"{col} >= ?")
        params.append(lo.to_pydatetime())
    if hi is not None:
        clauses.append(f"{col} < ?")
        params.append(hi.to_pydatetime())
    if not clauses:
        return "", []
    cond = " AND ".join(clauses)
    if keep_null:
        cond = f"({cond}) OR {col} IS NULL"
    return f"WHERE {cond}", params


def _person_locations(involvements: pd.DataFrame, *, resolution: int | None) -> pd.DataFrame:
    """Person–location links of the located involvements: their H3 cells at ``resolution`` (None: none)."""
    located = involvements.dropna(subset=["latitude", "longitude"]) if resolution is not None else involvements[:0]
    if not len(located):
        return empty_frame("person_locations")
    from ctxrisk.analytics.weights import h3_cells_indexed

    cells, index = h3_cells_indexed(
        located["latitude"].to_numpy(dtype=float),
        located["longitude"].to_numpy(dtype=float),
        resolution=int(resolution),
    )
    names = np.array(["h3:" + c for c in cells.tolist()], dtype=object)
    return pd.DataFrame(
        {
            # the column itself: .to_numpy() would make a Python string of every ID
            "person_id": located["person_id"].reset_index(drop=True),
            "location_id": names[index],
            # the column itself, not .to_numpy(): that makes an object array of Timestamps
            "linked_at": located["occurred_at"].reset_index(drop=True),
        }
    )


def load_graph_inputs(
    con: Any,
    *,
    since: Any = None,
    until: Any = None,
    location_resolution: int | None = 9,
) -> GraphInputs:
    """Read the graph inputs from a ctxrisk DuckDB warehouse.

    Reads ``staging.persons``, ``staging.involvements``, ``raw.missing_episodes``,
    ``raw.associations``, ``raw.screenings`` and ``raw.intelligence``; a table the warehouse
    does not have is read as empty. Person–location links are derived from located
    involvements as H3 cells (``location_id = "h3:<cell>"``), the cells the hotspot maps use.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An open warehouse connection (e.g. from ``ctxrisk.pipelines.warehouse.connect``).
    since, until : str, date, datetime or None
        Keep dated rows with ``since <= t < until`` (a date-only ``until`` includes that day).
        Undated associations are always kept. Screenings are kept up to ``until`` whatever
        ``since`` is, so each person's latest screening is known. Persons are never filtered.
    location_resolution : int or None
        H3 resolution (0–15) of derived person–location links; ``None`` derives none.

    Returns
    -------
    GraphInputs
    """
    lo = parse_bound(since)
    hi = parse_bound(until, end=True)
    if location_resolution is not None and not 0 <= int(location_resolution) <= 15:
        msg = f"location_resolution must be an H3 resolution 0-15 or None, got {location_resolution!r}"
        raise ValidationError(msg)

    def window(col: str, *, keep_null: bool, lower: bool = True) -> tuple[str, list]:
        return _window_clause(col, lo if lower else None, hi, keep_null=keep_null)

    # staging.persons: the partnership's persons and the children the statutory returns name, merged
    persons = _read(con, "persons", "staging.persons", _COLUMNS["persons"])
    where, params = window("occurred_at", keep_null=False)
    inv_cols = _COLUMNS["involvements"] + ("latitude", "longitude")
    # the view unions and joins, so its row order varies from read to read; the graph's node order (and
    # with it Leiden's partitions) must not
    involvements = _read(
        con,
        "involvements",
        "staging.involvements",
        inv_cols,
        where,
        params,
        order_by=("event_type", "event_id", "person_id", "role"),
    )
    where, params = window("started_at", keep_null=False)
    missing = _read(con, "missing_episodes", "raw.missing_episodes", _COLUMNS["missing_episodes"], where, params)
    where, params = window("observed_at", keep_null=True)
    associations = _read(con, "associations", "raw.associations", _COLUMNS["associations"], where, params)
    where, params = window("screened_at", keep_null=False, lower=False)
    screenings = _read(con, "screenings", "raw.screenings", _COLUMNS["screenings"], where, params)
    where, params = window("reported_at", keep_null=False)
    intelligence = _read(con, "intelligence", "raw.intelligence", _COLUMNS["intelligence"], where, params)

    person_locations = _person_locations(involvements, resolution=location_resolution)
    involvements = involvements.drop(columns=["latitude", "longitude"])
    inputs = GraphInputs(
        persons=persons,
        involvements=involvements,
        missing_episodes=missing,
        associations=associations,
        screenings=screenings,
        intelligence=intelligence,
        person_locations=person_locations,
    )
    log.info(
        "loaded graph inputs: %s persons, %s involvements, %s missing episodes, %s associations, "
        "%s screenings, %s intelligence items, %s person-location links",
        f"{len(persons):,}",
        f"{len(involvements):,}",
        f"{len(missing):,}",
        f"{len(associations):,}",
        f"{len(screenings):,}",
        f"{len(intelligence):,}",
        f"{len(person_locations):,}",
    )
    return inputs
