"""Location profiles: what happened at each place of concern, by whom, when, and in which ward and LSOA.

A *place* is one H3 cell (resolution ``settings.hotspots.h3_resolution``, about 0.1 km2 at 9). Its profile
counts every event type placed in the cell (incidents, missing "found at" places, intelligence, stop and
searches) that passes the filters, and reports:

``count``, ``counts_by_theme``, ``counts_by_source``, ``counts_by_type``
    Events in the cell (the two breakdowns as JSON objects).
``distinct_children``
    Different people aged under 18 at the time (``staging.involvements.age_band = 'child'``) involved in any
    of those events in any role, including children found there and children found with them.
``found_at_episodes``, ``repeat_found_at``, ``children_found_repeatedly``
    Missing episodes whose child was found in the cell; *repeat* found-at episodes are each child's second
    and later episodes found there (``episodes - distinct children found``); and how many children were
    found there more than once.
``searches_of_children``
    Stop and searches in the cell of people under 18 (police.uk age range ``under 10`` or ``10-17``).
``intelligence_items``, ``intelligence_graded``, ``intelligence_by_grade``
    Intelligence placed in the cell; the graded sum weights each item by its 3x5x2 grading (source
    evaluation 1: 1.0, 2: 0.6, 3: 0.2; intelligence evaluation A: 1.0, B: 0.8, C: 0.6, D: 0.3, E: 0.0;
    an ungraded part counts 0.5) so that reliable, corroborated intelligence counts most; and the items by
    grade (``"1B"``, ``"2?"``...).
``profile``
    168 counts, weekday (Monday first) x hour of local time, of events with a minute-precision time;
    ``profile_events`` were counted and ``profile_excluded`` left out because only the date or month is
    known.
``trend``, ``trend_tau``, ``trend_p``
    Mann-Kendall test (two-sided, ``settings.hotspots.trend_alpha``) of the cell's monthly counts over the
    whole period analysed (every month from the first to the last event of the selection, zeros included).
``first_seen``, ``last_seen``
    Earliest and latest event time (UTC).
``ward_code``, ``ward_name``, ``lsoa_code``, ``lsoa_name``, ``imd_decile``
    Areas holding the cell centre, where those boundaries are loaded (LSOA 2021 preferred to 2011);
    the IMD decile is the LSOA's.
``unlocated_events``
    Events of the selection with no place: counted here, partnership-wide, never placed.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from typing import Any

import duckdb
import h3
import numpy as np
import pandas as pd
import shapely
from shapely import wkt as shapely_wkt

from ctxrisk.analytics.events import EventSelection, load_events
from ctxrisk.analytics.mannkendall import mann_kendall_many
from ctxrisk.analytics.weights import h3_cells_indexed
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "PROFILE_COLUMNS",
    "PROFILE_EVENT_COLUMNS",
    "child_involvements",
    "SOURCE_GRADE",
    "INTEL_GRADE",
    "build_profiles",
    "grade_weight",
    "grades_of",
    "profile_matrix",
]

SOURCE_GRADE: dict[str, float] = {"1": 1.0, "2": 0.6, "3": 0.2}
INTEL_GRADE: dict[str, float] = {"A": 1.0, "B": 0.8, "C": 0.6, "D": 0.3, "E": 0.0}
UNGRADED = 0.5
PROFILE_COLUMNS = [
    "unit_id",
    "latitude",
    "longitude",
    "count",
    "counts_by_type",
    "counts_by_theme",
    "counts_by_source",
    "themes",
    "distinct_children",
    "found_at_episodes",
    "repeat_found_at",
    "children_found_repeatedly",
    "searches_of_children",
    "intelligence_items",
    "intelligence_graded",
    "intelligence_by_grade",
    "profile",
    "profile_events",
    "profile_excluded",
    "trend",
    "trend_tau",
    "trend_p",
    "first_seen",
    "last_seen",
    "ward_code",
    "ward_name",
    "lsoa_code",
    "lsoa_name",
    "imd_decile",
    "unlocated_events",
]
#: The event columns profiles read (:func:`ctxrisk.analytics.events.load_events` ``columns``).
PROFILE_EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "event_type",
    "source",
    "occurred_at",
    "time_precision",
    "theme",
    "latitude",
    "longitude",
    "local_time",
)


def grade_weight(source_evaluation: Any, intelligence_evaluation: Any) -> float:
    """Weight of one intelligence item from its 3x5x2 grading (see the module docstring).

    Parameters
    ----------
    source_evaluation : {"1", "2", "3"} or None
    intelligence_evaluation : {"A", "B", "C", "D", "E"} or None
    """
    s = SOURCE_GRADE.get(str(source_evaluation).strip(), UNGRADED) if _present(source_evaluation) else UNGRADED
    i = (
        INTEL_GRADE.get(str(intelligence_evaluation).strip().upper(), UNGRADED)
        if _present(intelligence_evaluation)
        else UNGRADED
    )
    return s * i


def _present(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and np.isnan(v)) and v is not pd.NA and str(v).strip() != ""


def profile_matrix(profile: Sequence[int]) -> np.ndarray:
    """Turn a stored 168-value profile into the 7 x 24 weekday x hour array (Monday first)."""
    arr = np.asarray(list(profile), dtype=np.int64)
    if arr.size != 168:
        msg = f"a weekday x hour profile has 168 values, got {arr.size}"
        raise ValidationError(msg)
    return arr.reshape(7, 24)


def _json_counts(series: pd.Series) -> str:
    counts = series.value_counts()
    return json.dumps({str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))})


def grades_of(source: pd.Series, intel: pd.Series) -> tuple[np.ndarray, list[str]]:
    """:func:`grade_weight` and the grade text (``"1B"``, ``"2?"``) of each item, worked out once per grading."""
    done: dict[tuple[Any, Any], tuple[float, str]] = {}
    weights, texts = [], []
    for pair in zip(source.tolist(), intel.tolist(), strict=True):
        got = done.get(pair)
        if got is None:
            s, i = pair
            got = done[pair] = (
                grade_weight(s, i),
                (str(s) if _present(s) else "?") + (str(i).upper() if _present(i) else "?"),
            )
        weights.append(got[0])
        texts.append(got[1])
    return np.array(weights, dtype=np.float64), texts


def _slot_counts(frame: pd.DataFrame, column: str) -> dict[int, list[tuple[Any, int]]]:
    """Per slot, the values of ``column`` with their counts as ``Series.value_counts`` orders them.

    Most frequent first; ties in order of first appearance; missing values left out.
    """
    if not len(frame):
        return {}
    work = pd.DataFrame(
        {
            "slot": frame["slot"].to_numpy(np.int64),
            "value": frame[column].astype(object).to_numpy(),
            "row": np.arange(len(frame)),
        }
    )
    work = work[frame[column].notna().to_numpy(bool)]
    agg = work.groupby(["slot", "value"], sort=False).agg(n=("row", "size"), first=("row", "min")).reset_index()
    agg = agg.sort_values(["slot", "n", "first"], ascending=[True, False, True], kind="stable")
    out: dict[int, list[tuple[Any, int]]] = {}
    for slot, value, n in zip(agg["slot"].tolist(), agg["value"].tolist(), agg["n"].tolist(), strict=True):
        out.setdefault(slot, []).append((value, int(n)))
    return out


def _slot_nunique(frame: pd.DataFrame, column: str, n_slots: int) -> np.ndarray:
    """Distinct non-missing values of ``column`` per slot."""
    if not len(frame):
        return np.zeros(n_slots, dtype=np.int64)
    counts = frame.groupby("slot")[column].nunique()
    return counts.reindex(range(n_slots), fill_value=0).to_numpy(np.int64)


def _slot_sums(slot: np.ndarray, values: np.ndarray, n_slots: int) -> np.ndarray:
    """Sum of ``values`` per slot, each slot summed as ``Series.sum`` does (numpy, rows in their order)."""
    out = np.zeros(n_slots)
    if not slot.size:
        return out
    order = np.argsort(slot, kind="stable")
    bounds = np.searchsorted(slot[order], np.arange(n_slots + 1))
    ordered = values[order]
    for i in np.flatnonzero(np.diff(bounds)).tolist():
        out[i] = ordered[bounds[i] : bounds[i + 1]].sum()
    return out


def _json_pairs(pairs: list[tuple[Any, int]]) -> str:
    """Counts as a JSON object, most frequent first then by text (as :func:`_json_counts`)."""
    return json.dumps({str(k): int(v) for k, v in sorted(pairs, key=lambda kv: (-kv[1], str(kv[0])))})


def _areas_for_points(con: duckdb.DuckDBPyConnection, lat: np.ndarray, lon: np.ndarray) -> pd.DataFrame:
    out = pd.DataFrame(
        {c: pd.array([None] * lat.size, dtype="string") for c in ("ward_code", "ward_name", "lsoa_code", "lsoa_name")},
        index=range(lat.size),
    )
    out["imd_decile"] = pd.array([None] * lat.size, dtype="Int64")
    if not lat.size:
        return out
    levels = [r[0] for r in con.execute("select distinct level from raw.boundaries").fetchall()]
    pts = shapely.points(lon, lat)
    for prefix, choices in (("ward", ("ward",)), ("lsoa", ("lsoa21", "lsoa11"))):
        level = next((lv for lv in choices if lv in levels), None)
        if level is None:
            continue
        rows = con.execute(
            "select code, any_value(name), any_value(imd_decile), any_value(geometry_wkt) from raw.boundaries "
            "where level = ? group by code order by code",
            [level],
        ).fetchall()
        geoms = np.array([shapely_wkt.loads(r[3]) for r in rows], dtype=object)
        tree = shapely.STRtree(geoms)
        p_idx, g_idx = tree.query(pts, predicate="intersects")
        first: dict[int, int] = {}
        for p, g in zip(p_idx.tolist(), g_idx.tolist(), strict=True):
            first.setdefault(p, g)  # rows sorted by code: the smaller code wins on a shared edge
        for p, g in first.items():
            out.loc[p, f"{prefix}_code"] = rows[g][0]
            out.loc[p, f"{prefix}_name"] = rows[g][1]
            if prefix == "lsoa" and rows[g][2] is not None:
                out.loc[p, "imd_decile"] = int(rows[g][2])
    return out


def child_involvements(con: duckdb.DuckDBPyConnection, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """Distinct ``person_id, event_id, event_type`` of children (``age_band = 'child'``) involved in events.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    events : pandas.DataFrame or None
        ``event_id`` and ``event_type`` of the events wanted; None: every event of the warehouse.

    Returns
    -------
    pandas.DataFrame
        One row per child and event, any role, from ``staging.involvements``.
    """
    sql = "select distinct person_id, event_id, event_type from staging.involvements where age_band = 'child'"
    if events is None:
        return con.execute(sql).to_arrow_table().to_pandas()
    wanted = events[["event_id", "event_type"]].drop_duplicates()
    name = f"profile_events_{threading.get_ident()}"
    con.register(name, wanted)
    try:
        return (
            con.execute(f"{sql} and (event_id, event_type) in (select event_id, event_type from {name})")
            .to_arrow_table()
            .to_pandas()
        )
    finally:
        con.unregister(name)


def build_profiles(
    con: duckdb.DuckDBPyConnection,
    cells: Sequence[str],
    *,
    settings: Settings,
    selection: EventSelection | None = None,
    theme: str | list[str] | None = None,
    source: str | list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    include_out_of_area: bool = False,
    cells_of_events: tuple[np.ndarray, np.ndarray] | None = None,
    children: pd.DataFrame | None = None,
    resolution: int | None = None,
) -> pd.DataFrame:
    """Profile each H3 cell in ``cells`` (columns :data:`PROFILE_COLUMNS`, described in the module docstring).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse.
    cells : sequence of str
        H3 cells, all at ``resolution``; one row each, in this order.
    settings : Settings
    selection : EventSelection or None
        Events to profile (all event types), with at least the columns :data:`PROFILE_EVENT_COLUMNS`
        (categoricals allowed); loaded with the filters below when None.
    theme, source, since, until, include_out_of_area
        Filters as :func:`ctxrisk.analytics.events.load_events`.
    cells_of_events : (numpy.ndarray, numpy.ndarray) or None
        :func:`ctxrisk.analytics.weights.h3_cells_indexed` of ``selection.located()`` at the resolution, when the
        caller has it already (it is worked out otherwise).
    children : pandas.DataFrame or None
        :func:`child_involvements` of (at least) the profiled events, when the caller has fetched them;
        fetched for the events in ``cells`` otherwise.
    resolution : int or None
        The cells' H3 resolution (the hot spot run's); default ``settings.hotspots.h3_resolution``.

    Returns
    -------
    pandas.DataFrame
    """
    res = settings.hotspots.h3_resolution if resolution is None else int(resolution)
    cell_list = [str(c) for c in cells]
    for c in cell_list:
        if not h3.is_valid_cell(c) or h3.get_resolution(c) != res:
            msg = f"{c!r} is not an H3 cell at resolution {res}"
            raise ValidationError(msg)
    if selection is None:
        selection = load_events(
            con,
            settings=settings,
            event_types="all",
            themes=theme,
            sources=source,
            since=since,
            until=until,
            include_out_of_area=include_out_of_area,
            columns=PROFILE_EVENT_COLUMNS,
            compact=True,
        )
    # One slot per distinct cell asked for; rows repeat a slot when a cell is asked for twice.
    slots = list(dict.fromkeys(cell_list))
    slot_of = {c: i for i, c in enumerate(slots)}
    n_slots = len(slots)
    ev = selection.located()
    if len(ev):
        distinct, index = (
            cells_of_events
            if cells_of_events is not None
            else h3_cells_indexed(ev["latitude"].to_numpy(float), ev["longitude"].to_numpy(float), resolution=res)
        )
        # months of the whole selection (for the trend), before restricting to the cells
        local = ev["local_time"]
        months = pd.period_range(pd.Period(local.min(), "M"), pd.Period(local.max(), "M"), freq="M")
        ev_slot = np.array([slot_of.get(c, -1) for c in distinct.tolist()], dtype=np.int64)[index]
        keep = ev_slot >= 0
        ev = ev.loc[keep, list(PROFILE_EVENT_COLUMNS)].reset_index(drop=True)
        ev_slot = ev_slot[keep]
    else:
        months = pd.PeriodIndex([], freq="M")
        ev_slot = np.zeros(0, dtype=np.int64)
        ev = ev[list(PROFILE_EVENT_COLUMNS)]
    for column in ev.columns:  # categoricals of a compact selection back to text, for the few events kept
        if isinstance(ev[column].dtype, pd.CategoricalDtype):
            ev[column] = ev[column].astype("str")
    ev["slot"] = ev_slot

    if children is None:
        children = child_involvements(con, ev)
    kids = ev[["slot", "event_id", "event_type"]].merge(children, on=["event_id", "event_type"])
    missing = ev[ev["event_type"] == "missing"][["slot", "event_id"]].merge(
        con.execute("select episode_id as event_id, person_id from raw.missing_episodes").to_arrow_table().to_pandas(),
        on="event_id",
    )
    searches = ev[ev["event_type"] == "stop_search"][["slot", "event_id"]].merge(
        con.execute("select search_id as event_id, coalesce(is_child, false) as is_child from raw.stop_searches").df(),
        on="event_id",
    )
    intel = ev[ev["event_type"] == "intelligence"][["slot", "event_id"]].merge(
        con.execute("select intel_id as event_id, source_evaluation, intelligence_evaluation from raw.intelligence")
        .to_arrow_table()
        .to_pandas(),
        on="event_id",
    )
    intel["weight"], intel["grade"] = grades_of(intel["source_evaluation"], intel["intelligence_evaluation"])

    slot_a = ev["slot"].to_numpy(np.int64)
    count = np.bincount(slot_a, minlength=n_slots)
    timed = (ev["time_precision"] == "minute").to_numpy(bool)
    local = ev["local_time"]
    hour_of_week = (local.dt.day_of_week.to_numpy() * 24 + local.dt.hour.to_numpy())[timed].astype(np.int64)
    prof = np.bincount(slot_a[timed] * 168 + hour_of_week, minlength=n_slots * 168).reshape(n_slots, 168)
    by_slot = np.zeros((n_slots, max(len(months), 1)))
    if len(months):
        dated = local.notna().to_numpy(bool)
        first = months[0]
        step = (local.dt.year.to_numpy() - first.year) * 12 + local.dt.month.to_numpy() - first.month
        np.add.at(by_slot, (slot_a[dated], step[dated].astype(np.int64)), 1.0)
    occurred = ev["occurred_at"].groupby(slot_a)
    first_seen = occurred.min().reindex(range(n_slots))
    last_seen = occurred.max().reindex(range(n_slots))

    by_type = _slot_counts(ev, "event_type")
    by_theme = _slot_counts(ev, "theme")
    by_source = _slot_counts(ev, "source")
    by_grade = _slot_counts(intel, "grade")
    episodes = np.bincount(missing["slot"].to_numpy(np.int64), minlength=n_slots)
    found_kids = _slot_nunique(missing, "person_id", n_slots)
    per_child = missing.groupby(["slot", "person_id"]).size()
    repeat_kids = np.bincount(
        per_child[per_child >= 2].index.get_level_values("slot").to_numpy(np.int64), minlength=n_slots
    )
    distinct_kids = _slot_nunique(kids, "person_id", n_slots)
    child_searches = np.bincount(
        searches["slot"].to_numpy(np.int64),
        weights=searches["is_child"].to_numpy(bool).astype(np.float64),
        minlength=n_slots,
    )
    items = np.bincount(intel["slot"].to_numpy(np.int64), minlength=n_slots)
    graded = _slot_sums(intel["slot"].to_numpy(np.int64), intel["weight"].to_numpy(np.float64), n_slots)

    rows: list[dict[str, Any]] = []
    series = np.zeros((len(cell_list), max(len(months), 1)))
    for row_i, cell in enumerate(cell_list):
        i = slot_of[cell]
        lat, lon = h3.cell_to_latlng(cell)
        series[row_i] = by_slot[i]
        n_events = int(count[i])
        n_timed = int(prof[i].sum())
        theme_counts = by_theme.get(i, [])
        rows.append(
            {
                "unit_id": cell,
                "latitude": lat,
                "longitude": lon,
                "count": n_events,
                "counts_by_type": _json_pairs(by_type.get(i, [])),
                "counts_by_theme": _json_pairs(theme_counts),
                "counts_by_source": _json_pairs(by_source.get(i, [])),
                "themes": ";".join(str(t) for t, _ in theme_counts),
                "distinct_children": int(distinct_kids[i]),
                "found_at_episodes": int(episodes[i]),
                "repeat_found_at": int(episodes[i] - found_kids[i]),
                "children_found_repeatedly": int(repeat_kids[i]),
                "searches_of_children": int(child_searches[i]),
                "intelligence_items": int(items[i]),
                "intelligence_graded": float(graded[i]),
                "intelligence_by_grade": _json_pairs(by_grade.get(i, [])),
                "profile": prof[i].tolist(),
                "profile_events": n_timed,
                "profile_excluded": n_events - n_timed,
                "first_seen": first_seen.iloc[i] if n_events else pd.NaT,
                "last_seen": last_seen.iloc[i] if n_events else pd.NaT,
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            c
            for c in PROFILE_COLUMNS
            if c
            not in (
                "trend",
                "trend_tau",
                "trend_p",
                "ward_code",
                "ward_name",
                "lsoa_code",
                "lsoa_name",
                "imd_decile",
                "unlocated_events",
            )
        ],
    )
    if len(months) >= 3 and len(cell_list):
        mk = mann_kendall_many(series, alpha=settings.hotspots.trend_alpha)
        frame["trend"], frame["trend_tau"], frame["trend_p"] = mk.trend, mk.tau, mk.p
    else:
        frame["trend"], frame["trend_tau"], frame["trend_p"] = "too few months", np.nan, np.nan
    lat_a = frame["latitude"].to_numpy(float)
    lon_a = frame["longitude"].to_numpy(float)
    areas = _areas_for_points(con, lat_a, lon_a)
    for col in areas.columns:
        frame[col] = areas[col].array
    frame["unlocated_events"] = selection.n_unlocated
    logger.info(
        "built %s location profiles (%s events; %s unlocated counted, not placed)",
        f"{len(frame):,}",
        f"{int(frame['count'].sum()):,}",
        f"{selection.n_unlocated:,}",
    )
    return frame[PROFILE_COLUMNS]
