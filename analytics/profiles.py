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
from collections.abc import Sequence
from typing import Any

import duckdb
import h3
import numpy as np
import pandas as pd
import shapely
from shapely import wkt as shapely_wkt

from analytics.events import EventSelection, load_events
from analytics.mannkendall import mann_kendall_many
from analytics.weights import h3_cells_for_points
from pipelines.errors import ValidationError
from pipelines.settings import Settings

logger = logging.getLogger(__name__)

__all__ = ["PROFILE_COLUMNS", "SOURCE_GRADE", "INTEL_GRADE", "build_profiles", "grade_weight", "profile_matrix"]

SOURCE_GRADE: dict[str, float] = {"1": 1.0, "2": 0.6, "3": 0.2}
INTEL_GRADE: dict[str, float] = {"A": 1.0, "B": 0.8, "C": 0.6, "D": 0.3, "E": 0.0}
UNGRADED = 0.5
PROFILE_COLUMNS = [
    "unit_id", "latitude", "longitude", "count", "counts_by_type", "counts_by_theme", "counts_by_source",
    "themes", "distinct_children", "found_at_episodes", "repeat_found_at", "children_found_repeatedly",
    "searches_of_children", "intelligence_items", "intelligence_graded", "intelligence_by_grade", "profile",
    "profile_events", "profile_excluded", "trend", "trend_tau", "trend_p", "first_seen", "last_seen",
    "ward_code", "ward_name", "lsoa_code", "lsoa_name", "imd_decile", "unlocated_events",
]


def grade_weight(source_evaluation: Any, intelligence_evaluation: Any) -> float:
    """Weight of one intelligence item from its 3x5x2 grading (see the module docstring).

    Parameters
    ----------
    source_evaluation : {"1", "2", "3"} or None
    intelligence_evaluation : {"A", "B", "C", "D", "E"} or None
    """
    s = SOURCE_GRADE.get(str(source_evaluation).strip(), UNGRADED) if _present(source_evaluation) else UNGRADED
    i = INTEL_GRADE.get(str(intelligence_evaluation).strip().upper(), UNGRADED) if _present(intelligence_evaluation) else UNGRADED
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


def _areas_for_points(con: duckdb.DuckDBPyConnection, lat: np.ndarray, lon: np.ndarray) -> pd.DataFrame:
    out = pd.DataFrame({c: pd.array([None] * lat.size, dtype="string")
                        for c in ("ward_code", "ward_name", "lsoa_code", "lsoa_name")}, index=range(lat.size))
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
            "where level = ? group by code order by code", [level]
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
) -> pd.DataFrame:
    """Profile each H3 cell in ``cells`` (columns :data:`PROFILE_COLUMNS`, described in the module docstring).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse.
    cells : sequence of str
        H3 cells, all at ``settings.hotspots.h3_resolution``; one row each, in this order.
    settings : Settings
    selection : EventSelection or None
        Events to profile (all event types); loaded with the filters below when None.
    theme, source, since, until, include_out_of_area
        Filters as :func:`analytics.events.load_events`.

    Returns
    -------
    pandas.DataFrame
    """
    res = settings.hotspots.h3_resolution
    cell_list = [str(c) for c in cells]
    for c in cell_list:
        if not h3.is_valid_cell(c) or h3.get_resolution(c) != res:
            msg = f"{c!r} is not an H3 cell at resolution {res}"
            raise ValidationError(msg)
    if selection is None:
        selection = load_events(con, settings=settings, event_types="all", themes=theme, sources=source,
                                since=since, until=until, include_out_of_area=include_out_of_area)
    ev = selection.located()
    ev["cell"] = h3_cells_for_points(ev["latitude"].to_numpy(float), ev["longitude"].to_numpy(float), resolution=res) if len(ev) else []
    # months of the whole selection (for the trend), before restricting to the cells
    month = ev["local_time"].dt.to_period("M") if len(ev) else pd.Series([], dtype="period[M]")
    months = pd.period_range(month.min(), month.max(), freq="M") if len(ev) else pd.PeriodIndex([], freq="M")
    ev["month"] = month
    wanted = set(cell_list)
    ev = ev[ev["cell"].isin(wanted)].reset_index(drop=True)

    children = con.execute(
        "select distinct person_id, event_id, event_type from staging.involvements where age_band = 'child'"
    ).df()
    kids = ev[["cell", "event_id", "event_type"]].merge(children, on=["event_id", "event_type"])
    missing = ev[ev["event_type"] == "missing"][["cell", "event_id"]].merge(
        con.execute("select episode_id as event_id, person_id from raw.missing_episodes").df(), on="event_id")
    searches = ev[ev["event_type"] == "stop_search"][["cell", "event_id"]].merge(
        con.execute("select search_id as event_id, coalesce(is_child, false) as is_child from raw.stop_searches").df(),
        on="event_id")
    intel = ev[ev["event_type"] == "intelligence"][["cell", "event_id"]].merge(
        con.execute("select intel_id as event_id, source_evaluation, intelligence_evaluation from raw.intelligence").df(),
        on="event_id")
    intel["weight"] = [grade_weight(s, i) for s, i in zip(intel["source_evaluation"], intel["intelligence_evaluation"], strict=True)]
    intel["grade"] = [(str(s) if _present(s) else "?") + (str(i).upper() if _present(i) else "?")
                      for s, i in zip(intel["source_evaluation"], intel["intelligence_evaluation"], strict=True)]

    month_pos = {p: i for i, p in enumerate(months)}
    series = np.zeros((len(cell_list), max(len(months), 1)))
    rows: list[dict[str, Any]] = []
    groups = dict(tuple(ev.groupby("cell"))) if len(ev) else {}
    kid_groups = dict(tuple(kids.groupby("cell"))) if len(kids) else {}
    miss_groups = dict(tuple(missing.groupby("cell"))) if len(missing) else {}
    search_groups = dict(tuple(searches.groupby("cell"))) if len(searches) else {}
    intel_groups = dict(tuple(intel.groupby("cell"))) if len(intel) else {}
    empty = ev.iloc[0:0]
    for row_i, cell in enumerate(cell_list):
        g = groups.get(cell, empty)
        lat, lon = h3.cell_to_latlng(cell)
        timed = g[g["time_precision"] == "minute"]
        prof = np.zeros(168, dtype=np.int64)
        if len(timed):
            np.add.at(prof, timed["local_time"].dt.day_of_week.to_numpy() * 24 + timed["local_time"].dt.hour.to_numpy(), 1)
        for p, n in g["month"].value_counts().items():
            series[row_i, month_pos[p]] = n
        m = miss_groups.get(cell)
        episodes = 0 if m is None else len(m)
        found_kids = 0 if m is None else m["person_id"].nunique()
        repeat_kids = 0 if m is None else int((m["person_id"].value_counts() >= 2).sum())
        s = search_groups.get(cell)
        it = intel_groups.get(cell)
        k = kid_groups.get(cell)
        theme_counts = g["theme"].value_counts()
        rows.append({
            "unit_id": cell, "latitude": lat, "longitude": lon, "count": len(g),
            "counts_by_type": _json_counts(g["event_type"]), "counts_by_theme": _json_counts(g["theme"]),
            "counts_by_source": _json_counts(g["source"]),
            "themes": ";".join(str(t) for t in theme_counts.index),
            "distinct_children": 0 if k is None else int(k["person_id"].nunique()),
            "found_at_episodes": episodes, "repeat_found_at": episodes - found_kids,
            "children_found_repeatedly": repeat_kids,
            "searches_of_children": 0 if s is None else int(s["is_child"].sum()),
            "intelligence_items": 0 if it is None else len(it),
            "intelligence_graded": 0.0 if it is None else float(it["weight"].sum()),
            "intelligence_by_grade": "{}" if it is None else _json_counts(it["grade"]),
            "profile": prof.tolist(), "profile_events": int(prof.sum()), "profile_excluded": len(g) - len(timed),
            "first_seen": g["occurred_at"].min() if len(g) else pd.NaT,
            "last_seen": g["occurred_at"].max() if len(g) else pd.NaT,
        })
    frame = pd.DataFrame(rows, columns=[c for c in PROFILE_COLUMNS if c not in
                                        ("trend", "trend_tau", "trend_p", "ward_code", "ward_name", "lsoa_code",
                                         "lsoa_name", "imd_decile", "unlocated_events")])
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
    logger.info("built %s location profiles (%s events; %s unlocated counted, not placed)",
                f"{len(frame):,}", f"{int(frame['count'].sum()):,}", f"{selection.n_unlocated:,}")
    return frame[PROFILE_COLUMNS]
