"""Build the typed, time-stamped, weighted person association graph from the graph inputs.

Edges come from four kinds of evidence, each kept on the edge in an ``evidence`` list:

* ``co_involvement`` — two people recorded in the same incident. A k-person event is projected
  onto its k(k-1)/2 pairs with weight ``1/(k-1)`` each (Newman's collaboration weighting), so each
  person gains a total of 1 from any one event however large it is and big events do not swamp
  the graph as cliques. Events with more than ``max_event_size`` people (default 30: a festival
  disorder, a school-wide incident) link nobody and are counted in the log.
* ``intelligence_co_subject`` — co-subjects of one intelligence item (``involvements`` with
  ``event_type = 'intelligence'`` and the ``persons`` list of ``intelligence``), projected the same
  way and graded with the item's 3x5x2 grading.
* ``found_with`` — a child missing from home or care and each person they were found with
  (``missing_episodes.found_with`` and ``involvements`` with ``role = 'found_with'``); weight 1.
* the association relations ``knows``, ``family``, ``lives_with``, ``social_media``,
  ``phone_contact``, ``co_offender``, ``intelligence`` from ``associations``; weight 1.

Each evidence item's weight is ``base x grading x 0.5 ** (age_days / half_life_days)`` where
``age_days`` is the time from the evidence date to ``as_of`` (0 for evidence after ``as_of``;
undated evidence is not decayed) and ``grading`` comes from :data:`DEFAULT_GRADING_WEIGHTS`. The
edge ``weight`` is the sum over its evidence.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pac

from ctxrisk.analytics.graph.arrays import GraphArrays, to_networkx
from ctxrisk.analytics.graph.coding import NAT as _NAT
from ctxrisk.analytics.graph.coding import ids as _ids
from ctxrisk.analytics.graph.coding import names as _names
from ctxrisk.analytics.graph.coding import times as _times
from ctxrisk.analytics.graph.inputs import (
    ASSOCIATION_RELATIONS,
    RELATIONS,
    GraphInputs,
    as_id_list,
    in_window,
    parse_bound,
)
from ctxrisk.analytics.graph.nodes import node_arrays as _node_arrays
from ctxrisk.pipelines.errors import ValidationError

log = logging.getLogger(__name__)

#: Weight of each source evaluation (1 reliable, 2 untested, 3 not reliable).
SOURCE_WEIGHTS: dict[str, float] = {"1": 1.0, "2": 0.7, "3": 0.4}

#: Weight of each intelligence evaluation (A known directly ... E suspected to be false).
INTELLIGENCE_WEIGHTS: dict[str, float] = {"A": 1.0, "B": 0.8, "C": 0.6, "D": 0.4, "E": 0.1}

#: Default 3x5x2 grading weights, keyed ``"1A"`` … ``"3E"``: the product of the source and the
#: intelligence weight. Handling (``P``/``C``) does not change the weight; it is kept in the evidence.
#:
#: ====  =====  =====  =====  =====  =====
#: src   A      B      C      D      E
#: ====  =====  =====  =====  =====  =====
#: 1     1.00   0.80   0.60   0.40   0.10
#: 2     0.70   0.56   0.42   0.28   0.07
#: 3     0.40   0.32   0.24   0.16   0.04
#: ====  =====  =====  =====  =====  =====
#:
#: Ungraded evidence (incidents, missing episodes, ungraded associations) weighs 1. When only one
#: half of a grading is held, the other half is taken as the best (``1`` or ``A``), so a grading
#: only ever discounts what it states.
DEFAULT_GRADING_WEIGHTS: dict[str, float] = {
    s + i: round(ws * wi, 4) for s, ws in SOURCE_WEIGHTS.items() for i, wi in INTELLIGENCE_WEIGHTS.items()
}

_EVIDENCE_COLUMNS = [
    "a",
    "b",
    "relation",
    "event_id",
    "date",
    "source_evaluation",
    "intelligence_evaluation",
    "handling",
    "base",
]


def age_band_at(birth_year_month: Any, when: pd.Timestamp | None) -> str:
    """Age band at ``when`` from a ``YYYY-MM`` birth month (born on the 1st, so never overstated).

    Returns ``'child'`` (< 18), ``'young_adult'`` (18–24), ``'adult'`` (25+) or ``'unknown'``.
    """
    if when is None or pd.isna(when) or not isinstance(birth_year_month, str) or len(birth_year_month) < 7:
        return "unknown"
    try:
        year, month = int(birth_year_month[:4]), int(birth_year_month[5:7])
    except ValueError:
        return "unknown"
    age = when.year - year - (1 if when.month < month else 0)
    if age < 0:
        return "unknown"
    if age < 18:
        return "child"
    if age < 25:
        return "young_adult"
    return "adult"


def validate_relations(relations: Iterable[str] | str | None) -> frozenset[str] | None:
    """Check a ``relations=`` filter and return it as a frozenset (``None`` keeps every relation).

    Parameters
    ----------
    relations : iterable of str, comma-separated str, or None
        Names from :data:`ctxrisk.analytics.graph.inputs.RELATIONS`.
    """
    if relations is None:
        return None
    if isinstance(relations, str):
        relations = [r for r in relations.split(",") if r.strip()]
    chosen = frozenset(r.strip() for r in relations)
    unknown = sorted(chosen - set(RELATIONS))
    if unknown:
        msg = f"unknown relation(s) {unknown}; choose from {list(RELATIONS)}"
        raise ValidationError(msg)
    if not chosen:
        msg = "relations filter is empty; give at least one relation or None for all"
        raise ValidationError(msg)
    return chosen


def _grading_table(grading_weights: Mapping[str, float] | None) -> dict[str, float]:
    table = dict(DEFAULT_GRADING_WEIGHTS)
    if grading_weights is None:
        return table
    for key, value in grading_weights.items():
        code = str(key).strip().upper()
        if code not in DEFAULT_GRADING_WEIGHTS:
            msg = f"grading weight key {key!r} is not a 3x5x2 grade; use '1A' … '3E'"
            raise ValidationError(msg)
        if not np.isfinite(value) or value < 0:
            msg = f"grading weight for {code} must be a finite number >= 0, got {value!r}"
            raise ValidationError(msg)
        table[code] = float(value)
    return table


def _norm_grade(values: np.ndarray, allowed: str, column: str) -> np.ndarray:
    """Normalise grading codes (``' 2 '`` -> ``'2'``, ``'b'`` -> ``'B'``, ``2.0`` -> ``'2'``); None where not held.

    Works on the distinct values only, so it costs the same for a million rows as for ten.
    """
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    norm = []
    for value in uniques:
        text = str(value).strip().upper()
        if text.endswith(".0"):
            text = text[:-2]
        norm.append(text or None)
    bad = [(i, t) for i, t in enumerate(norm) if t is not None and t not in allowed]
    if bad:
        bad_codes = np.array([i for i, _ in bad])
        n_bad = int(np.isin(codes, bad_codes).sum())
        first = norm[int(codes[np.isin(codes, bad_codes)][0])]
        msg = f"{n_bad:,} value(s) of {column} are not one of {list(allowed)} (first: {first!r})"
        raise ValidationError(msg)
    table = np.array([*norm, None], dtype=object)
    return table[codes]  # code -1 (not held) takes the trailing None


#: Relation names in sorted order; evidence carries the position in this index as its relation code.
_REL_NAMES: list[str] = sorted(RELATIONS)
_REL_CODE = pd.Index(_REL_NAMES, dtype=object)


def _explode(
    ids: pd.Series, lists: pd.Series, times: pd.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows ``(id, member, time)`` for every member of a list column (list, array or ``;``-string).

    The fourth array is the number of members of each input row.
    """
    parsed = [as_id_list(v) for v in lists.to_numpy(dtype=object)]
    repeat = np.array([len(x) for x in parsed], dtype=np.int64)
    members = np.array([m for x in parsed for m in x], dtype=object)
    return np.repeat(_ids(ids), repeat), members, np.repeat(_times(times), repeat), repeat


class _PersonIndex:
    """One sorted index of every person ID met, so integer codes compare as the IDs do.

    Each column is dictionary-encoded on its own and only the distinct IDs are merged and sorted, all in Arrow:
    millions of IDs never become Python strings, except the final sorted index itself (at 10M incidents the
    Python-string version held about 2 GB more while it ran). Arrow sorts text by its UTF-8 bytes, which is
    the order of the code points, as Python's ``sorted`` (and ``pd.factorize(sort=True)``) orders str.
    """

    def __init__(self) -> None:
        self._parts: list[tuple[np.ndarray, pa.Array]] = []
        self.people = np.empty(0, dtype=object)

    def add(self, values: pd.Series | np.ndarray) -> int:
        encoded = pac.dictionary_encode(_id_text(values))
        local = pac.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        self._parts.append((local, encoded.dictionary))
        return len(self._parts) - 1

    def build(self) -> list[np.ndarray]:
        met = (
            pa.chunked_array([d for _, d in self._parts], type=pa.large_string())
            if self._parts
            else pa.chunked_array([], type=pa.large_string())
        )
        distinct = pac.unique(met)
        people = distinct.take(pac.array_sort_indices(distinct)) if len(distinct) else distinct
        self.people = np.asarray(people.to_numpy(zero_copy_only=False), dtype=object)
        out = []
        for local, dictionary in self._parts:
            table = np.r_[pac.index_in(dictionary, value_set=people).to_numpy(zero_copy_only=False), -1]
            out.append(table.astype(np.int64)[local])  # local -1 (missing) reads the trailing -1
        return out


def _id_text(values: pd.Series | np.ndarray) -> pa.Array:
    """IDs as one Arrow ``large_string`` array, null where missing (IDs that are not text become their str)."""
    if isinstance(values, pd.Series) and pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        text = pa.array(values, from_pandas=True)
    else:
        text = pa.array(_ids(values), type=pa.large_string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    return text.cast(pa.large_string())


def _project(
    event: pd.Series | np.ndarray, person: np.ndarray, time: np.ndarray, max_event_size: int
) -> tuple[dict[str, np.ndarray], int, int]:
    """Project event membership onto weighted pairs ``1/(n-1)`` (Newman 2001), vectorised.

    Parameters are aligned rows (event ID, person code, time). Returns the evidence arrays (``a < b``
    person codes, ``event`` as str, ``date`` the event's earliest recorded time, ``base``), the number
    of events left out as larger than ``max_event_size`` and the number of events that linked people.
    """
    ev_code, ev_uniques = pd.factorize(event)
    ev_code = np.asarray(ev_code, dtype=np.int64)
    n_events = len(ev_uniques)
    tkey = time.view(np.int64).copy()
    tkey[tkey == _NAT] = np.iinfo(np.int64).max  # NaT never wins the minimum
    known = (person >= 0) & (ev_code >= 0)  # rows without a person or event ID link nobody
    ev_code, person, tkey = ev_code[known], person[known], tkey[known]
    empty = {
        "a": np.empty(0, np.int64),
        "b": np.empty(0, np.int64),
        "event": np.empty(0, object),
        "date": np.empty(0, "datetime64[us]"),
        "base": np.empty(0),
    }
    if ev_code.size == 0:
        return empty, 0, 0
    order = np.lexsort((person, ev_code))
    e, p, t = ev_code[order], person[order], tkey[order]
    # the event's date is its earliest recorded time (over every row, before de-duplication)
    est = np.flatnonzero(np.r_[True, e[1:] != e[:-1]])
    event_time = np.full(n_events, np.iinfo(np.int64).max, dtype=np.int64)
    event_time[e[est]] = np.minimum.reduceat(t, est)
    event_time[event_time == np.iinfo(np.int64).max] = _NAT
    # one row per (event, person); people within an event in code (= ID) order
    keep = np.r_[True, (e[1:] != e[:-1]) | (p[1:] != p[:-1])]
    e, p = e[keep], p[keep]
    starts = np.flatnonzero(np.r_[True, e[1:] != e[:-1]])
    sizes = np.diff(np.r_[starts, e.size])
    too_big = int((sizes > max_event_size).sum())
    valid = (sizes >= 2) & (sizes <= max_event_size)
    n = np.repeat(sizes, sizes)
    k = np.arange(e.size) - np.repeat(starts, sizes)  # position within the event
    count = np.where(np.repeat(valid, sizes), n - 1 - k, 0)  # partners later in the event
    left = np.repeat(np.arange(e.size), count)
    right = left + (np.arange(left.size) - np.repeat(np.cumsum(count) - count, count)) + 1
    out = {
        "a": p[left],
        "b": p[right],
        "event": _names(ev_uniques, e[left]),  # strings for the events that link people only
        "date": event_time[e[left]].view("datetime64[us]"),
        "base": 1.0 / (n[left] - 1.0),
    }
    return out, too_big, int(valid.sum())


def _evidence_frame(
    rel: str | np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    event: np.ndarray | None,
    date: np.ndarray,
    base: np.ndarray | float = 1.0,
    **grades: np.ndarray,
) -> dict[str, np.ndarray]:
    """Evidence columns with ``a < b``; pairs of a person with themselves or unknown people are left out."""
    keep = (a != b) & (a >= 0) & (b >= 0)
    size = int(keep.sum())
    cols = {
        "a": np.minimum(a, b)[keep],
        "b": np.maximum(a, b)[keep],
        "relation": _REL_CODE.get_indexer(rel[keep]).astype(np.int8)
        if isinstance(rel, np.ndarray)
        else np.full(size, _REL_CODE.get_loc(rel), dtype=np.int8),
        "event_id": event[keep] if event is not None else np.full(size, None, dtype=object),
        "date": np.asarray(date, dtype="datetime64[us]")[keep],
        "base": np.broadcast_to(np.asarray(base, dtype=float), a.shape)[keep],
    }
    for col in ("source_evaluation", "intelligence_evaluation", "handling"):
        cols[col] = grades[col][keep] if col in grades else np.full(size, None, dtype=object)
    return cols


@dataclass
class _Coded:
    """Evidence and the person codes of the node-attribute sources."""

    evidence: dict[str, np.ndarray]
    people: np.ndarray
    inv_person: np.ndarray
    persons: np.ndarray
    screenings: np.ndarray
    locations: np.ndarray


def _evidence(
    inputs: GraphInputs, inv: pd.DataFrame, lo, hi, chosen: frozenset[str] | None, max_event_size: int
) -> _Coded:
    """Every evidence item as a row of arrays, with people as codes into one sorted ID index."""

    def use(rel: str) -> bool:
        return chosen is None or rel in chosen

    index = _PersonIndex()
    h_inv = index.add(inv["person_id"])
    is_type = {t: (inv["event_type"] == t).to_numpy(dtype=bool) for t in ("incident", "intelligence", "missing")}

    intel = inputs.intelligence
    intel = intel.loc[in_window(intel["reported_at"], lo, hi, keep_null=False)]
    intel_event, intel_people, intel_time, _ = _explode(intel["intel_id"], intel["persons"], intel["reported_at"])
    h_intel = index.add(intel_people)

    eps = inputs.missing_episodes
    eps = eps.loc[in_window(eps["started_at"], lo, hi, keep_null=False)]
    eps_event, eps_other, eps_time, found = _explode(eps["episode_id"], eps["found_with"], eps["started_at"])
    eps_child = np.repeat(_ids(eps["person_id"]), found)
    h_eps_child, h_eps_other = index.add(eps_child), index.add(eps_other)
    h_all_eps = index.add(inputs.missing_episodes["person_id"])

    assoc = inputs.associations
    assoc = assoc.loc[in_window(assoc["observed_at"], lo, hi, keep_null=True)]
    assoc_rel = _ids(assoc["relation"])
    bad = ~np.isin(assoc_rel, np.array(ASSOCIATION_RELATIONS, dtype=object))
    if bad.any():
        allowed = list(ASSOCIATION_RELATIONS)
        msg = f"{int(bad.sum()):,} association(s) have a relation not in {allowed} (first: {assoc_rel[bad][0]!r})"
        raise ValidationError(msg)
    h_a, h_b = index.add(assoc["person_a"]), index.add(assoc["person_b"])
    h_persons = index.add(inputs.persons["person_id"])
    h_scr = index.add(inputs.screenings["person_id"])
    h_pl = index.add(inputs.person_locations["person_id"])
    codes = index.build()
    inv_code = codes[h_inv]

    frames: list[dict[str, np.ndarray]] = []
    if use("co_involvement"):
        sel = is_type["incident"]
        ev, big, used = _project(inv["event_id"][sel], inv_code[sel], _times(inv["occurred_at"][sel]), max_event_size)
        frames.append(_evidence_frame("co_involvement", ev["a"], ev["b"], ev["event"], ev["date"], ev["base"]))
        log.info(
            "co-involvement: %s incidents linked people, %s larger than %d people left out",
            f"{used:,}",
            f"{big:,}",
            max_event_size,
        )
    if use("intelligence_co_subject"):
        sel = is_type["intelligence"]
        event_ids = np.concatenate([_ids(inv["event_id"][sel]), intel_event])
        people, times = (
            np.concatenate([inv_code[sel], codes[h_intel]]),
            np.concatenate([_times(inv["occurred_at"][sel]), intel_time]),
        )
        frames.append(_co_subject_evidence(inputs.intelligence, event_ids, people, times, max_event_size))
    if use("found_with"):
        recorded = (codes[h_eps_child], codes[h_eps_other], eps_event, eps_time)
        frames.append(_found_with_evidence(inputs, inv, inv_code, is_type["missing"], recorded, codes[h_all_eps]))
    frames.append(_association_evidence(assoc, assoc_rel, codes[h_a], codes[h_b], chosen))
    evidence = {col: np.concatenate([f[col] for f in frames]) for col in frames[0]}
    return _Coded(evidence, index.people, inv_code, codes[h_persons], codes[h_scr], codes[h_pl])


def _co_subject_evidence(
    intelligence: pd.DataFrame, event_ids: np.ndarray, people: np.ndarray, times: np.ndarray, max_event_size: int
) -> dict[str, np.ndarray]:
    """``intelligence_co_subject`` evidence: people named in one intelligence item, with its grading."""
    ev, big, used = _project(event_ids, people, times, max_event_size)
    grade_of = intelligence.assign(_id=_ids(intelligence["intel_id"])).drop_duplicates("_id").set_index("_id")
    pos = (
        pd.Index(grade_of.index, dtype=object).get_indexer(pd.Index(ev["event"], dtype=object))
        if len(grade_of)
        else np.full(ev["event"].size, -1)
    )
    grades = {}
    for col in ("source_evaluation", "intelligence_evaluation", "handling"):
        table = np.r_[grade_of[col].to_numpy(dtype=object), None] if len(grade_of) else np.array([None], dtype=object)
        grades[col] = table[pos]
    log.info(
        "intelligence co-subjects: %s items linked people, %s larger than %d people left out",
        f"{used:,}",
        f"{big:,}",
        max_event_size,
    )
    return _evidence_frame("intelligence_co_subject", ev["a"], ev["b"], ev["event"], ev["date"], ev["base"], **grades)


def _found_with_evidence(
    inputs: GraphInputs,
    inv: pd.DataFrame,
    inv_code: np.ndarray,
    sel: np.ndarray,
    recorded: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    episode_child: np.ndarray,
) -> dict[str, np.ndarray]:
    """``found_with`` evidence: one link per pair and missing episode, dated by its earliest record.

    ``recorded`` holds the child, other person, episode and time of each ``found_with`` entry of the
    episodes table; ``sel`` marks the involvements of missing episodes; ``episode_child`` is the
    child code of every episode.
    """
    child, other, event, date = ([x] for x in recorded)
    if sel.any():
        fw_sel = sel & (inv["role"] == "found_with").to_numpy(dtype=bool)
        kid_sel = sel & ~fw_sel
        fw = pd.DataFrame(
            {
                "event_id": _ids(inv["event_id"][fw_sel]),
                "other": inv_code[fw_sel],
                "date": _times(inv["occurred_at"][fw_sel]),
            }
        )
        # the missing child: the episode's other people, or the child the episode records
        kids = pd.DataFrame(
            {
                "event_id": np.concatenate(
                    [_ids(inv["event_id"][kid_sel]), _ids(inputs.missing_episodes["episode_id"])]
                ),
                "child": np.concatenate([inv_code[kid_sel], episode_child]),
            }
        ).drop_duplicates()
        joined = fw.merge(kids, on="event_id")
        child.append(joined["child"].to_numpy(dtype=np.int64))
        other.append(joined["other"].to_numpy(dtype=np.int64))
        event.append(_ids(joined["event_id"]))
        date.append(joined["date"].to_numpy(dtype="datetime64[us]"))
    cols = _evidence_frame(
        "found_with", np.concatenate(child), np.concatenate(other), np.concatenate(event), np.concatenate(date)
    )
    order = np.argsort(cols["date"], kind="stable")
    key = pd.DataFrame({"a": cols["a"][order], "b": cols["b"][order], "e": pd.factorize(cols["event_id"][order])[0]})
    first = order[~key.duplicated().to_numpy()]
    cols = {k: v[first] for k, v in cols.items()}
    log.info(
        "found with: %s links from %s missing episodes", f"{first.size:,}", f"{len(set(cols['event_id'].tolist())):,}"
    )
    return cols


def _association_evidence(
    assoc: pd.DataFrame, assoc_rel: np.ndarray, a_code: np.ndarray, b_code: np.ndarray, chosen: frozenset[str] | None
) -> dict[str, np.ndarray]:
    """Evidence of recorded associations (of the chosen relations), graded as recorded."""
    keep = (
        np.ones(len(assoc), dtype=bool)
        if chosen is None
        else np.isin(assoc_rel, np.array(sorted(chosen), dtype=object))
    )
    same = (a_code == b_code) & (a_code >= 0)
    if same.any():
        log.warning("left out %s association(s) of a person with themselves", f"{int(same.sum()):,}")
    assoc_date = _times(assoc["observed_at"])
    undated = int((np.isnat(assoc_date) & keep & ~same).sum())
    if undated:
        log.info("%s association(s) have no date: kept in every window and not decayed", f"{undated:,}")
    return _evidence_frame(
        assoc_rel[keep],
        a_code[keep],
        b_code[keep],
        None,
        assoc_date[keep],
        source_evaluation=assoc["source_evaluation"].to_numpy(dtype=object)[keep],
        intelligence_evaluation=assoc["intelligence_evaluation"].to_numpy(dtype=object)[keep],
        handling=assoc["handling"].to_numpy(dtype=object)[keep],
    )


def build_arrays(
    inputs: GraphInputs,
    *,
    since: Any = None,
    until: Any = None,
    relations: Iterable[str] | str | None = None,
    half_life_days: float = 365,
    as_of: Any = None,
    grading_weights: Mapping[str, float] | None = None,
    max_event_size: int = 30,
) -> GraphArrays:
    """Build the person association graph as arrays (see :class:`~ctxrisk.analytics.graph.arrays.GraphArrays`).

    The projection is vectorised (numpy): each source becomes arrays of person codes, events are
    projected onto their pairs in one pass, weights are computed as arrays, evidence is sorted by
    pair and date once, and grouped per pair. :func:`build_graph` is ``to_networkx(build_arrays(...))``.

    Parameters
    ----------
    inputs : GraphInputs
        Persons, involvements, missing episodes, associations, screenings (and optionally
        intelligence and person–location links).
    since, until : str, date, datetime or None
        Evidence window ``since <= t < until`` (a date-only ``until`` includes that day; naive times
        are Europe/London). Undated associations are kept in every window.
    relations : iterable of str, comma-separated str, or None
        Keep only these relations (names in :data:`ctxrisk.analytics.graph.inputs.RELATIONS`); ``None``
        keeps all. The filter applies to every kind of evidence.
    half_life_days : float
        Recency half-life: evidence ``half_life_days`` older than ``as_of`` counts half. ``> 0``.
    as_of : str, date, datetime or None
        Reference time for recency decay and screenings; default ``until`` if given, else the latest
        evidence or involvement time.
    grading_weights : mapping of str to float, optional
        Overrides of :data:`DEFAULT_GRADING_WEIGHTS` keyed ``"1A"`` … ``"3E"``.
    max_event_size : int
        Events (incidents, intelligence items) with more people than this link nobody. ``>= 2``.

    Returns
    -------
    GraphArrays
        The graph :func:`build_graph` returns, as arrays. Nodes are person IDs with attributes
        ``age_band`` (at their latest event in the window:
        ``child``, ``young_adult``, ``adult``, ``unknown``), ``looked_after`` (bool or None),
        ``risk_level`` and ``screened_at`` (latest screening before ``until``/``as_of``, or None),
        ``is_suspect`` (recorded as a suspect in the window), ``roles`` (sorted list), ``n_events``
        and ``locations`` (sorted list of location IDs). Edges carry ``weight`` (float),
        ``relations`` (sorted list), ``evidence`` (list of dicts with ``relation``, ``event_id``,
        ``date`` ISO UTC or None, ``grading`` like ``"2B"`` or None, ``handling``, ``weight``),
        ``first_seen`` and ``last_seen`` (ISO UTC or None), ``n_evidence`` and
        ``handling_conditions`` (True when any evidence has handling code ``C``).
    """
    _check_options(inputs, half_life_days=half_life_days, max_event_size=max_event_size)
    chosen = validate_relations(relations)
    table = _grading_table(grading_weights)
    lo, hi = _window(since, until)

    inv = inputs.involvements
    in_inv = in_window(inv["occurred_at"], lo, hi, keep_null=False)
    if not in_inv.all():
        inv = inv.loc[in_inv]
    coded = _evidence(inputs, inv, lo, hi, chosen, int(max_event_size))
    ev = coded.evidence
    n_ev = ev["a"].size
    if chosen is not None:
        log.info("relation filter %s kept %s evidence items", sorted(chosen), f"{n_ev:,}")

    dates = ev["date"]
    ref = _reference_time(as_of, hi, dates, inv)
    weight, grading_code, handling = _weights(ev, table, ref, float(half_life_days))

    # evidence sorted by pair, date (undated first), relation
    rel_code = ev["relation"].astype(np.int64)
    order = np.lexsort((rel_code, dates.view(np.int64), ev["b"], ev["a"]))
    a, b, rel_code, dates, weight = ev["a"][order], ev["b"][order], rel_code[order], dates[order], weight[order]
    event_ids, grading_code, handling = ev["event_id"][order], grading_code[order], handling[order]
    del ev, coded.evidence, order

    nodes = _node_arrays(inputs, inv, coded, a, b, dates, lo, hi, ref)
    edges = _edge_arrays(a, b, dates, handling, weight, nodes.pop("position"))
    attrs = {
        "as_of": ref.strftime(_ISO_UTC),
        "half_life_days": float(half_life_days),
        "max_event_size": int(max_event_size),
        "relations": ",".join(sorted(chosen)) if chosen is not None else "all",
    }
    attrs |= {name: bound.strftime(_ISO_UTC) for name, bound in (("since", lo), ("until", hi)) if bound is not None}
    arrays = GraphArrays(
        **nodes,
        **edges,
        evidence_relation=rel_code.astype(np.int8),
        evidence_event_id=event_ids,
        evidence_date=dates,
        evidence_grading=grading_code,
        evidence_handling=handling,
        evidence_weight=weight,
        relation_names=list(_REL_NAMES),
        graph=attrs,
    )
    log.info(
        "built graph with %s nodes (%s children) and %s edges from %s evidence items",
        f"{arrays.n_nodes:,}",
        f"{int((arrays.age_band == 'child').sum()):,}",
        f"{arrays.n_edges:,}",
        f"{n_ev:,}",
    )
    return arrays


#: How the graph's attributes write a time: ISO 8601, UTC, to the second.
_ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"


def _check_options(inputs: Any, *, half_life_days: float, max_event_size: int) -> None:
    """Refuse inputs that are not :class:`GraphInputs`, a half-life that is not a positive number of days,
    and an event size under two people (:class:`ValidationError`)."""
    if not isinstance(inputs, GraphInputs):
        msg = f"inputs must be GraphInputs (see load_graph_inputs), not {type(inputs).__name__}"
        raise ValidationError(msg)
    if not half_life_days or not np.isfinite(half_life_days) or half_life_days <= 0:
        msg = f"half_life_days must be a positive number of days, got {half_life_days!r}"
        raise ValidationError(msg)
    if int(max_event_size) < 2:
        msg = f"max_event_size must be at least 2 people, got {max_event_size!r}"
        raise ValidationError(msg)


def _window(since: Any, until: Any) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The evidence window's bounds in UTC (a date-only ``until`` includes that day); ``until`` after ``since``."""
    lo, hi = parse_bound(since), parse_bound(until, end=True)
    if lo is not None and hi is not None and hi <= lo:
        msg = f"until ({until}) must be after since ({since})"
        raise ValidationError(msg)
    return lo, hi


def _reference_time(as_of: Any, hi: pd.Timestamp | None, dates: np.ndarray, inv: pd.DataFrame) -> pd.Timestamp:
    """``as_of``, else the window end, else the latest evidence or involvement time (else now), in UTC."""
    if as_of is not None:
        return parse_bound(as_of)
    if hi is not None:
        return hi
    inv_times = _times(inv["occurred_at"])
    candidates = [x.max() for x in (dates[~np.isnat(dates)], inv_times[~np.isnat(inv_times)]) if x.size]
    return pd.Timestamp(max(candidates)).tz_localize("UTC") if candidates else pd.Timestamp.now(tz="UTC")


def _weights(
    ev: dict[str, np.ndarray], table: Mapping[str, float], ref: pd.Timestamp, half_life_days: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evidence weights ``base x grading x recency decay``, the grading codes held and the handling codes."""
    n_ev = ev["a"].size
    src = _norm_grade(ev["source_evaluation"], "123", "source_evaluation")
    itl = _norm_grade(ev["intelligence_evaluation"], "ABCDE", "intelligence_evaluation")
    handling = _norm_grade(ev["handling"], "PC", "handling")
    has_src, has_itl = src != None, itl != None  # noqa: E711 - elementwise on object arrays
    graded = has_src | has_itl
    grading_code = np.full(n_ev, None, dtype=object)
    grade_weight = np.ones(n_ev)
    if graded.any():
        s_held, i_held = np.where(has_src, src, "")[graded].astype(str), np.where(has_itl, itl, "")[graded].astype(str)
        s_full, i_full = (
            np.where(has_src, src, "1")[graded].astype(str),
            np.where(has_itl, itl, "A")[graded].astype(str),
        )
        grade_weight[graded] = pd.Series(np.char.add(s_full, i_full), dtype=object).map(table).to_numpy(dtype=float)
        grading_code[graded] = np.char.add(s_held, i_held).astype(object)
    dates = ev["date"]
    ref_us = np.datetime64(ref.tz_convert("UTC").tz_localize(None).to_datetime64(), "us")
    undated = np.isnat(dates)
    age_days = np.clip((ref_us - dates).astype("timedelta64[us]").astype(np.int64) / 86_400e6, 0, None)
    decay = np.where(undated, 1.0, 0.5 ** (np.where(undated, 0.0, age_days) / half_life_days))
    return ev["base"] * grade_weight * decay, grading_code, handling


def build_graph(
    inputs: GraphInputs,
    *,
    since: Any = None,
    until: Any = None,
    relations: Iterable[str] | str | None = None,
    half_life_days: float = 365,
    as_of: Any = None,
    grading_weights: Mapping[str, float] | None = None,
    max_event_size: int = 30,
) -> nx.Graph:
    """Build the person association graph (networkx): ``to_networkx(build_arrays(inputs, ...))``.

    Parameters are those of :func:`build_arrays`.

    Returns
    -------
    networkx.Graph
        Nodes are person IDs with attributes ``age_band`` (at their latest event in the window:
        ``child``, ``young_adult``, ``adult``, ``unknown``), ``looked_after`` (bool or None),
        ``risk_level`` and ``screened_at`` (latest screening before ``until``/``as_of``, or None),
        ``is_suspect`` (recorded as a suspect in the window), ``roles`` (sorted list), ``n_events``
        and ``locations`` (sorted list of location IDs). Edges carry ``weight`` (float),
        ``relations`` (sorted list), ``evidence`` (list of dicts with ``relation``, ``event_id``,
        ``date`` ISO UTC or None, ``grading`` like ``"2B"`` or None, ``handling``, ``weight``),
        ``first_seen`` and ``last_seen`` (ISO UTC or None), ``n_evidence`` and
        ``handling_conditions`` (True when any evidence has handling code ``C``).
    """
    arrays = build_arrays(
        inputs,
        since=since,
        until=until,
        relations=relations,
        half_life_days=half_life_days,
        as_of=as_of,
        grading_weights=grading_weights,
        max_event_size=max_event_size,
    )
    return to_networkx(arrays)


def _edge_arrays(
    a: np.ndarray, b: np.ndarray, dates: np.ndarray, handling: np.ndarray, weight: np.ndarray, position: np.ndarray
) -> dict[str, np.ndarray]:
    """Group the evidence (sorted by pair) per pair: ends as node positions, weight, first/last seen, offsets."""
    n_ev = a.size
    starts = np.flatnonzero(np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]) if n_ev else np.empty(0, dtype=np.int64)
    ends = np.r_[starts[1:], n_ev].astype(np.int64)
    nat = np.full(starts.size, np.datetime64("NaT"), dtype="datetime64[us]")
    if not n_ev:
        return {
            "edge_u": starts.copy(),
            "edge_v": starts.copy(),
            "weight": np.zeros(0),
            "first_seen": nat,
            "last_seen": nat,
            "handling_conditions": np.zeros(0, dtype=bool),
            "evidence_ptr": np.zeros(1, dtype=np.int64),
        }
    undated = np.isnat(dates)
    n_undated = np.add.reduceat(undated.astype(np.int64), starts)
    first_idx = starts + n_undated  # undated evidence sorts first within a pair
    first_seen = np.where(first_idx < ends, dates[np.minimum(first_idx, n_ev - 1)], nat)
    return {
        "edge_u": position[a[starts]],
        "edge_v": position[b[starts]],
        "weight": np.add.reduceat(weight, starts),
        "first_seen": first_seen,
        "last_seen": dates[ends - 1],
        "handling_conditions": np.add.reduceat((handling == "C").astype(np.int64), starts) > 0,
        "evidence_ptr": np.r_[starts, n_ev].astype(np.int64),
    }
