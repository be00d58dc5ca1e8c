"""Ranked locations of concern: Gi* hot spot peaks and other flagged places, scored with every part shown.

Candidates
----------
1. **Hot spot peaks.** The H3 cells flagged hot by Gi* (``q < alpha``, ``z > 0``; :func:`ctxrisk.analytics.hotspots.
   run_hotspots`) are taken in order of event count (then z); a cell within ``k`` rings of a cell already
   taken is part of that place's neighbourhood and is not listed again (non-maximum suppression with the
   Gi* neighbourhood radius). Gi* flags the neighbours of a busy place as well as the place itself; this
   keeps one row per place.
2. **Other signals.** A cell with at least ``[locations] min_repeat_found`` repeat missing "found at"
   episodes or at least ``min_graded_intelligence`` graded intelligence is also a candidate, even where
   incidents are not concentrated (again one per ``k``-ring).

Score
-----
For each candidate ``c`` and each part ``j`` with raw value ``x_cj``::

    part_cj = w_j * x_cj / max_c x_cj          (0 when every x_cj is 0)
    score_c = sum_j part_cj                    (in [0, 1] when the weights sum to 1)

Parts (raw values; weights ``w_j`` in ``[locations]`` of the settings):

* ``hotspot`` -- the cell's Gi* z-score, negative values as 0 (concentration in the neighbourhood);
* ``events`` -- events of every type placed in the cell itself (concentration at the place);
* ``children`` -- distinct children linked to events there;
* ``repeat_found`` -- repeat missing "found at" episodes (each child's second and later);
* ``intelligence`` -- graded intelligence (sum of 3x5x2 grade weights, :mod:`ctxrisk.analytics.profiles`);
* ``searches`` -- stop and searches of children there;
* ``trend`` -- Kendall's tau of the monthly counts, negative values as 0 (rising activity adds concern;
  falling activity does not remove concern already shown by the other parts).

Every ``score_<part>`` column is the weighted, normalised part, so the parts add up to ``score`` and a
steering group can see why a place ranks where it does. Normalising by the largest candidate makes scores
comparable within one run, not between runs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import h3
import numpy as np
import pandas as pd

from ctxrisk.analytics.events import EventSelection, load_events
from ctxrisk.analytics.hotspots import HotspotResult, run_hotspots
from ctxrisk.analytics.parameters import HotspotParameters
from ctxrisk.analytics.profiles import PROFILE_EVENT_COLUMNS, build_profiles, child_involvements, grades_of
from ctxrisk.analytics.units import _run_stamp, _theme_label, parse_unit
from ctxrisk.analytics.weights import h3_cells_indexed
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.settings import LocationSettings, Settings
from ctxrisk.pipelines.warehouse import transaction, write_mart

logger = logging.getLogger(__name__)

__all__ = ["PARTS", "LocationsResult", "candidate_cells", "rank_locations", "run_locations", "suppress"]

#: Score parts: (column suffix, profile/hot spot column holding the raw value, settings weight attribute).
PARTS: tuple[tuple[str, str, str], ...] = (
    ("hotspot", "z_pos", "weight_hotspot"),
    ("events", "count", "weight_events"),
    ("children", "distinct_children", "weight_children"),
    ("repeat_found", "repeat_found_at", "weight_repeat_found"),
    ("intelligence", "intelligence_graded", "weight_intelligence"),
    ("searches", "searches_of_children", "weight_searches"),
    ("trend", "trend_pos", "weight_trend"),
)


def weights_of(loc: LocationSettings) -> dict[str, float]:
    """The score weights by part name; checked non-negative with a positive sum."""
    w = {name: float(getattr(loc, attr)) for name, _, attr in PARTS}
    if any(v < 0 for v in w.values()) or sum(w.values()) <= 0:
        msg = f"[locations] weights must be non-negative with a positive sum, got {w}"
        raise ValidationError(msg)
    return w


def suppress(cells: list[str], k: int) -> list[str]:
    """Keep cells in the given (priority) order, dropping any within ``k`` grid steps of one already kept."""
    kept: list[str] = []
    blocked: set[str] = set()
    for c in cells:
        if c in blocked:
            continue
        kept.append(c)
        blocked.update(h3.grid_disk(c, k))
    return kept


def _cell_signals(
    selection: EventSelection, con: duckdb.DuckDBPyConnection, cells: tuple[np.ndarray, np.ndarray]
) -> pd.DataFrame:
    """Repeat found-at episodes and graded intelligence per cell, for choosing extra candidates.

    ``cells`` is :func:`ctxrisk.analytics.weights.h3_cells_indexed` of ``selection.located()``.
    """
    ev = selection.located()
    wanted = ev["event_type"].isin(["missing", "intelligence"]).to_numpy(bool)
    ev = ev.loc[wanted, ["event_id", "event_type"]].reset_index(drop=True)
    if ev.empty:
        return pd.DataFrame(columns=["cell", "repeat_found_at", "intelligence_graded"])
    distinct, index = cells
    ev["cell"] = distinct[index[wanted]]
    miss = ev[ev["event_type"] == "missing"].merge(
        con.execute("select episode_id as event_id, person_id from raw.missing_episodes").df(), on="event_id"
    )
    rep = (miss.groupby("cell").size() - miss.groupby("cell")["person_id"].nunique()).rename("repeat_found_at")
    intel = ev[ev["event_type"] == "intelligence"].merge(
        con.execute(
            "select intel_id as event_id, source_evaluation, intelligence_evaluation from raw.intelligence"
        ).df(),
        on="event_id",
    )
    intel["w"] = grades_of(intel["source_evaluation"], intel["intelligence_evaluation"])[0]
    graded = intel.groupby("cell")["w"].sum().rename("intelligence_graded")
    out = pd.concat([rep, graded], axis=1).fillna(0).reset_index(names="cell")
    return out


def candidate_cells(hot: HotspotResult, signals: pd.DataFrame, *, k: int, loc: LocationSettings) -> pd.DataFrame:
    """Choose candidate cells (see the module docstring); returns ``unit_id`` and ``candidate_reason``."""
    f = hot.frame
    hot_rows = f[f["hot"]].sort_values(["count", "z", "unit_id"], ascending=[False, False, True])
    peaks = suppress(hot_rows["unit_id"].tolist(), k)
    blocked = set().union(*(h3.grid_disk(c, k) for c in peaks)) if peaks else set()
    extra = signals[
        (signals["repeat_found_at"] >= loc.min_repeat_found)
        | (signals["intelligence_graded"] >= loc.min_graded_intelligence)
    ]
    extra = extra.assign(total=extra["repeat_found_at"] + extra["intelligence_graded"])
    extra = extra.sort_values(["total", "cell"], ascending=[False, True])
    others = suppress([c for c in extra["cell"] if c not in blocked], k)
    reasons = {c: "Gi* hot spot" for c in peaks}
    sig = extra.set_index("cell")
    for c in others:
        bits = []
        if sig.loc[c, "repeat_found_at"] >= loc.min_repeat_found:
            bits.append("repeat found-at episodes")
        if sig.loc[c, "intelligence_graded"] >= loc.min_graded_intelligence:
            bits.append("graded intelligence")
        reasons[c] = " and ".join(bits)
    return pd.DataFrame(
        {
            "unit_id": pd.Series(list(reasons), dtype=object),
            "candidate_reason": pd.Series(list(reasons.values()), dtype=object),
        }
    )


#: Cells profiled and listed by ``rank_by="where-next"``.
WHERE_NEXT_CANDIDATES = 200


def where_next_cells(hot: HotspotResult) -> pd.DataFrame:
    """The cells with events, best "where next" bet first (``unit_id``, ``candidate_reason``)."""
    from ctxrisk.analytics.forecast import where_next_scores

    f = hot.frame[hot.frame["count"] > 0]
    score = where_next_scores(f["count"].to_numpy(float), f["z"].to_numpy(float))
    order = np.lexsort((f["unit_id"].to_numpy(str), -score))[:WHERE_NEXT_CANDIDATES]
    ids = f["unit_id"].to_numpy(object)[order]
    return pd.DataFrame(
        {
            "unit_id": pd.Series(ids, dtype=object),
            "candidate_reason": pd.Series(["where next: past events, then Gi* z"] * len(ids), dtype=object),
        }
    )


def rank_locations(profiles: pd.DataFrame, *, weights: dict[str, float]) -> pd.DataFrame:
    """Score and rank profiled candidates (columns ``z_pos``, ``trend_pos`` and the profile counts needed).

    Returns the frame sorted by score (ties by unit id) with ``rank`` (1 = most concern), ``score`` and one
    ``score_<part>`` column per part of :data:`PARTS`.
    """
    out = profiles.copy()
    total_w = sum(weights.values())
    score = np.zeros(len(out))
    for name, col, _ in PARTS:
        x = out[col].to_numpy(float)
        top = float(np.nanmax(x)) if len(x) else 0.0
        part = (weights[name] / total_w) * (x / top) if top > 0 else np.zeros(len(x))
        out[f"score_{name}"] = np.round(part, 6)
        score += out[f"score_{name}"].to_numpy()
    out["score"] = np.round(score, 6)
    out = out.sort_values(["score", "unit_id"], ascending=[False, True]).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


@dataclass(frozen=True)
class LocationsResult:
    """Ranked locations (``frame``, the ``marts.locations_of_concern`` rows) and their ``profiles``.

    ``selection`` holds the profiled events with the columns profiles read
    (:data:`ctxrisk.analytics.profiles.PROFILE_EVENT_COLUMNS`), low-cardinality text as categoricals.
    """

    frame: pd.DataFrame
    profiles: pd.DataFrame
    hotspots: HotspotResult
    selection: EventSelection
    parameters: dict[str, Any]
    run_id: str
    run_at: datetime

    def note(self) -> str:
        """Events used and left out by the hot spot statistic and by the profiles."""
        return (
            f"hot spots: {self.hotspots.note()}. Profiles: {self.selection.note()}; hour profiles count "
            f"minute-precision events only ({int(self.profiles['profile_excluded'].sum()):,} date- or "
            "month-only events at these places left out of them)."
        )


def _name(row: pd.Series) -> str:
    for col in ("ward_name", "lsoa_name"):
        v = row.get(col)
        if isinstance(v, str) and v:
            return f"{v} ({row['unit_id']})"
    return f"H3 cell {row['unit_id']}"


def run_locations(
    con: duckdb.DuckDBPyConnection,
    params: HotspotParameters | None = None,
    *,
    settings: Settings,
    hotspots: HotspotResult | None = None,
    rank_by: str = "concern",
    write: bool = True,
    **options: Any,
) -> LocationsResult:
    """Rank locations of concern and write ``marts.location_profiles`` and ``marts.locations_of_concern``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse.
    params : HotspotParameters or None
        Gi* and filter parameters (None: from settings and ``options``); filters apply to the hot spots and
        the profiles alike. Places are H3 cells: a polygon or points unit is replaced by ``auto``.
    settings : Settings
        ``[locations]`` for candidates and weights.
    hotspots : HotspotResult or None
        A Gi* run on H3 cells to reuse (the scheduled run passes the hot spot step's); run (not written) when
        None.
    rank_by : {"concern", "where-next"}
        ``concern`` (default): Gi* peaks and places with other signals, by the weighted score.
        ``where-next``: the forecast question -- every cell with events, ranked by its own past events with
        Gi* z between equal counts (:func:`ctxrisk.analytics.forecast.where_next_scores`), the ranking that
        captured at least as much of the next months' events as any other at equal area in the back-tests;
        the top :data:`WHERE_NEXT_CANDIDATES` are profiled.
    write : bool
        Write both marts in one transaction.

    Returns
    -------
    LocationsResult
    """
    if params is None:
        params = HotspotParameters.from_settings(settings, **options)
    if parse_unit(params.unit, settings=settings).kind not in ("h3", "auto"):
        params = params.replace(unit="auto")
    k = params.k_ring
    weights = weights_of(settings.locations)
    theme, source, since, until = params.themes, params.sources, params.since, params.until
    include_out_of_area = params.include_out_of_area
    if hotspots is None:
        hotspots = run_hotspots(con, params, settings=settings, write=False)
    unit_type = str(hotspots.frame["unit_type"].iloc[0]) if len(hotspots.frame) else ""
    if not unit_type.startswith("h3:"):
        msg = f"locations of concern need a Gi* run on H3 cells, not {unit_type or 'an empty run'}"
        raise ValidationError(msg)
    res = int(unit_type[3:])
    # Children's involvements before the events: the warehouse query behind them is the step's largest, and
    # so it does not run while millions of events are held.
    children = child_involvements(con)
    sel = load_events(
        con,
        settings=settings,
        event_types="all",
        themes=list(theme) if theme else None,
        sources=list(source) if source else None,
        since=since,
        until=until,
        include_out_of_area=include_out_of_area,
        columns=PROFILE_EVENT_COLUMNS,
        compact=True,
    )
    located = sel.located()
    cells = (
        h3_cells_indexed(located["latitude"].to_numpy(float), located["longitude"].to_numpy(float), resolution=res)
        if len(located)
        else (np.array([], dtype=str), np.zeros(0, np.int64))
    )
    signals = _cell_signals(sel, con, cells)
    if rank_by not in ("concern", "where-next"):
        msg = f"rank_by must be concern or where-next, got {rank_by!r}"
        raise ValidationError(msg)
    if rank_by == "where-next":
        cands = where_next_cells(hotspots)
    else:
        cands = candidate_cells(hotspots, signals, k=k, loc=settings.locations)
    profiles = build_profiles(
        con,
        cands["unit_id"].tolist(),
        settings=settings,
        selection=sel,
        cells_of_events=cells,
        children=children,
        resolution=res,
    )
    del children
    hot = hotspots.frame.set_index("unit_id")
    profiles = profiles.merge(cands, on="unit_id", how="left")
    profiles["z"] = hot["z"].reindex(profiles["unit_id"]).to_numpy()
    profiles["q"] = hot["q"].reindex(profiles["unit_id"]).to_numpy()
    profiles["bin"] = hot["bin"].reindex(profiles["unit_id"]).fillna(0).astype(np.int64).to_numpy()
    profiles["hotspot_count"] = hot["count"].reindex(profiles["unit_id"]).fillna(0).astype(np.int64).to_numpy()
    profiles["z_pos"] = np.clip(np.nan_to_num(profiles["z"].to_numpy(float)), 0, None)
    profiles["trend_pos"] = np.clip(np.nan_to_num(profiles["trend_tau"].to_numpy(float)), 0, None)
    run_id, run_at = _run_stamp()
    params = {
        "weights": weights,
        "k_ring": k,
        "resolution": res,
        "min_repeat_found": settings.locations.min_repeat_found,
        "min_graded_intelligence": settings.locations.min_graded_intelligence,
        "filters": sel.filters,
        "rank_by": rank_by,
    }
    ranked = rank_locations(profiles, weights=weights)
    if rank_by == "where-next":
        order = cands.reset_index(drop=True).reset_index().set_index("unit_id")["index"]
        ranked = ranked.iloc[np.argsort(order.reindex(ranked["unit_id"]).to_numpy(), kind="stable")]
        ranked = ranked.reset_index(drop=True).assign(rank=np.arange(1, len(ranked) + 1))
    ranked["name"] = [_name(r) for _, r in ranked.iterrows()]
    stamp = {
        "theme": _theme_label(theme),
        "run_id": run_id,
        "run_at": run_at,
        "hotspot_run_id": hotspots.run_id,
        "events_excluded": json.dumps(sel.excluded | {"unlocated": sel.n_unlocated}),
        "parameters": json.dumps(params, default=str),
    }
    ranked = ranked.assign(**stamp)
    lead = [
        "rank",
        "unit_id",
        "name",
        "score",
        *[f"score_{p}" for p, _, _ in PARTS],
        "candidate_reason",
        "z",
        "q",
        "bin",
        "count",
        "hotspot_count",
        "distinct_children",
        "repeat_found_at",
        "found_at_episodes",
        "children_found_repeatedly",
        "intelligence_graded",
        "intelligence_items",
        "searches_of_children",
        "trend",
        "trend_tau",
        "trend_p",
        "themes",
        "counts_by_theme",
        "first_seen",
        "last_seen",
        "ward_code",
        "ward_name",
        "lsoa_code",
        "lsoa_name",
        "imd_decile",
        "profile",
        "profile_events",
        "profile_excluded",
        "latitude",
        "longitude",
        "unlocated_events",
    ]
    frame = ranked[lead + list(stamp)]
    prof_out = profiles.drop(columns=["z_pos", "trend_pos"]).assign(**stamp)
    if write:
        with transaction(con):
            write_mart(con, "location_profiles", prof_out)
            write_mart(con, "locations_of_concern", frame)
    logger.info("ranked %s locations of concern", f"{len(frame):,}")
    return LocationsResult(frame, prof_out, hotspots, sel, params, run_id, run_at)


def load_locations(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Read ``marts.locations_of_concern`` with ``profile`` as 7 x 24 arrays (the map builder's input)."""
    from ctxrisk.analytics.profiles import profile_matrix

    frame = con.execute("select * from marts.locations_of_concern order by rank").df()
    frame["profile"] = [profile_matrix(p) for p in frame["profile"]]
    return frame
