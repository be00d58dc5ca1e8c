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
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from analytics.graph.inputs import (
    ASSOCIATION_RELATIONS,
    RELATIONS,
    GraphInputs,
    as_id_list,
    in_window,
    parse_bound,
)
from pipelines.errors import ValidationError

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
        Names from :data:`analytics.graph.inputs.RELATIONS`.
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


def _norm_grade(values: pd.Series, allowed: str, column: str) -> pd.Series:
    out = pd.Series(None, index=values.index, dtype=object)
    held = values.notna()
    if held.any():
        text = values[held].astype(str).str.strip().str.upper().str.replace(r"\.0$", "", regex=True)
        text = text.where(text != "", None)
        out[held] = text.astype(object)
    out = out.where(out.notna(), None)
    bad = out.dropna()[~out.dropna().isin(list(allowed))]
    if len(bad):
        msg = f"{len(bad):,} value(s) of {column} are not one of {list(allowed)} (first: {bad.iloc[0]!r})"
        raise ValidationError(msg)
    return out


def _project(members: pd.DataFrame, relation: str, max_event_size: int) -> tuple[pd.DataFrame, int, int]:
    """Project event membership (event_id, person_id, date) onto weighted pairs."""
    members = members.drop_duplicates(["event_id", "person_id"]).reset_index(drop=True)
    sizes = members.groupby("event_id", sort=False)["person_id"].transform("size")
    too_big = members.loc[sizes > max_event_size, "event_id"].nunique()
    members = members.loc[(sizes >= 2) & (sizes <= max_event_size)].copy()
    members["n"] = sizes.loc[members.index]
    if members.empty:
        return pd.DataFrame(columns=_EVIDENCE_COLUMNS), too_big, 0
    left = members[["event_id", "person_id", "date", "n"]]
    pairs = left.merge(members[["event_id", "person_id"]], on="event_id", suffixes=("_a", "_b"))
    pairs = pairs.loc[pairs["person_id_a"] < pairs["person_id_b"]]
    out = pd.DataFrame(
        {
            "a": pairs["person_id_a"].to_numpy(),
            "b": pairs["person_id_b"].to_numpy(),
            "relation": relation,
            "event_id": pairs["event_id"].to_numpy(),
            "date": pairs["date"].to_numpy(),
            "base": 1.0 / (pairs["n"].to_numpy() - 1.0),
        }
    )
    return out, too_big, members["event_id"].nunique()


def _event_evidence(inputs: GraphInputs, lo, hi, max_event_size: int) -> list[pd.DataFrame]:
    inv = inputs.involvements
    inv = inv.loc[in_window(inv["occurred_at"], lo, hi, keep_null=False)]
    frames: list[pd.DataFrame] = []

    # co-involvement in incidents
    inc = inv.loc[inv["event_type"] == "incident", ["event_id", "person_id", "occurred_at"]]
    inc = inc.assign(date=inc.groupby("event_id")["occurred_at"].transform("min"))
    ev, big, used = _project(inc, "co_involvement", max_event_size)
    frames.append(ev)
    log.info("co-involvement: %s incidents linked people, %s larger than %d people left out", f"{used:,}", f"{big:,}", max_event_size)

    # intelligence co-subjects, graded by the item
    intel = inputs.intelligence
    intel = intel.loc[in_window(intel["reported_at"], lo, hi, keep_null=False)]
    listed = intel[["intel_id", "persons", "reported_at"]].copy()
    listed["person_id"] = listed["persons"].map(as_id_list)
    listed = listed.explode("person_id").dropna(subset=["person_id"])
    members = pd.concat(
        [
            inv.loc[inv["event_type"] == "intelligence", ["event_id", "person_id", "occurred_at"]].rename(
                columns={"occurred_at": "date"}
            ),
            listed.rename(columns={"intel_id": "event_id", "reported_at": "date"})[["event_id", "person_id", "date"]],
        ],
        ignore_index=True,
    )
    members["event_id"] = members["event_id"].astype(str)
    members["date"] = members.groupby("event_id")["date"].transform("min")
    ev, big, used = _project(members, "intelligence_co_subject", max_event_size)
    if len(ev):
        grades = inputs.intelligence.drop_duplicates("intel_id").set_index(
            inputs.intelligence.drop_duplicates("intel_id")["intel_id"].astype(str)
        )
        for col in ("source_evaluation", "intelligence_evaluation", "handling"):
            ev[col] = ev["event_id"].map(grades[col]) if len(grades) else None
    frames.append(ev)
    log.info("intelligence co-subjects: %s items linked people, %s larger than %d people left out", f"{used:,}", f"{big:,}", max_event_size)

    # found with during a missing episode
    eps = inputs.missing_episodes
    eps = eps.loc[in_window(eps["started_at"], lo, hi, keep_null=False)]
    from_eps = eps[["episode_id", "person_id", "started_at", "found_with"]].copy()
    from_eps["other"] = from_eps["found_with"].map(as_id_list)
    from_eps = from_eps.explode("other").dropna(subset=["other"])
    pairs = [
        pd.DataFrame(
            {
                "child": from_eps["person_id"].astype(str).to_numpy(),
                "other": from_eps["other"].astype(str).to_numpy(),
                "event_id": from_eps["episode_id"].astype(str).to_numpy(),
                "date": from_eps["started_at"].to_numpy(),
            }
        )
    ]
    mis = inv.loc[inv["event_type"] == "missing"]
    if len(mis):
        child_of = dict(zip(inputs.missing_episodes["episode_id"].astype(str), inputs.missing_episodes["person_id"].astype(str), strict=True))
        fw = mis.loc[mis["role"] == "found_with", ["event_id", "person_id", "occurred_at"]]
        missing_people = mis.loc[mis["role"] != "found_with", ["event_id", "person_id"]]
        recorded = pd.DataFrame(
            {"event_id": list(child_of), "child": list(child_of.values())}
        )
        kids = pd.concat([missing_people.rename(columns={"person_id": "child"}), recorded], ignore_index=True)
        kids["event_id"] = kids["event_id"].astype(str)
        fw = fw.assign(event_id=fw["event_id"].astype(str))
        joined = fw.merge(kids.drop_duplicates(), on="event_id")
        pairs.append(
            pd.DataFrame(
                {
                    "child": joined["child"].to_numpy(),
                    "other": joined["person_id"].to_numpy(),
                    "event_id": joined["event_id"].to_numpy(),
                    "date": joined["occurred_at"].to_numpy(),
                }
            )
        )
    fw_all = pd.concat(pairs, ignore_index=True)
    fw_all = fw_all.loc[fw_all["child"] != fw_all["other"]]
    a = np.where(fw_all["child"] < fw_all["other"], fw_all["child"], fw_all["other"])
    b = np.where(fw_all["child"] < fw_all["other"], fw_all["other"], fw_all["child"])
    fw_ev = pd.DataFrame(
        {"a": a, "b": b, "relation": "found_with", "event_id": fw_all["event_id"].to_numpy(), "date": fw_all["date"].to_numpy(), "base": 1.0}
    )
    fw_ev = fw_ev.sort_values("date").drop_duplicates(["a", "b", "event_id"])
    frames.append(fw_ev)
    log.info("found with: %s links from %s missing episodes", f"{len(fw_ev):,}", f"{fw_ev['event_id'].nunique():,}")
    return frames


def _association_evidence(inputs: GraphInputs, lo, hi) -> pd.DataFrame:
    assoc = inputs.associations
    assoc = assoc.loc[in_window(assoc["observed_at"], lo, hi, keep_null=True)]
    bad = ~assoc["relation"].isin(ASSOCIATION_RELATIONS)
    if bad.any():
        msg = f"{int(bad.sum()):,} association(s) have a relation not in {list(ASSOCIATION_RELATIONS)} (first: {assoc.loc[bad, 'relation'].iloc[0]!r})"
        raise ValidationError(msg)
    pa, pb = assoc["person_a"].astype(str), assoc["person_b"].astype(str)
    same = pa == pb
    if same.any():
        log.warning("left out %s association(s) of a person with themselves", f"{int(same.sum()):,}")
    keep = ~same
    undated = int(assoc.loc[keep, "observed_at"].isna().sum())
    if undated:
        log.info("%s association(s) have no date: kept in every window and not decayed", f"{undated:,}")
    return pd.DataFrame(
        {
            "a": np.where(pa < pb, pa, pb)[keep.to_numpy()],
            "b": np.where(pa < pb, pb, pa)[keep.to_numpy()],
            "relation": assoc.loc[keep, "relation"].to_numpy(),
            "event_id": None,
            "date": assoc.loc[keep, "observed_at"].to_numpy(),
            "source_evaluation": assoc.loc[keep, "source_evaluation"].to_numpy(),
            "intelligence_evaluation": assoc.loc[keep, "intelligence_evaluation"].to_numpy(),
            "handling": assoc.loc[keep, "handling"].to_numpy(),
            "base": 1.0,
        }
    )


def _clean(values: pd.Series) -> np.ndarray:
    """Object array with every missing value (None, NaN, NA) as None and the rest as str."""
    arr = values.to_numpy(dtype=object)
    return np.array([None if x is None or x is pd.NA or x != x else str(x) for x in arr], dtype=object)


def _iso(times: pd.Series) -> np.ndarray:
    """ISO 8601 UTC strings (``2024-03-05T00:00:00Z``) of a UTC datetime Series; None for NaT."""
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[s]")
    text = np.char.add(np.datetime_as_string(naive, unit="s"), "Z").astype(object)
    text[np.isnat(naive)] = None
    return text


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
    """Build the person association graph.

    Parameters
    ----------
    inputs : GraphInputs
        Persons, involvements, missing episodes, associations, screenings (and optionally
        intelligence and person–location links).
    since, until : str, date, datetime or None
        Evidence window ``since <= t < until`` (a date-only ``until`` includes that day; naive times
        are Europe/London). Undated associations are kept in every window.
    relations : iterable of str, comma-separated str, or None
        Keep only these relations (names in :data:`analytics.graph.inputs.RELATIONS`); ``None``
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
    if not isinstance(inputs, GraphInputs):
        msg = f"inputs must be GraphInputs (see load_graph_inputs), not {type(inputs).__name__}"
        raise ValidationError(msg)
    if not half_life_days or not np.isfinite(half_life_days) or half_life_days <= 0:
        msg = f"half_life_days must be a positive number of days, got {half_life_days!r}"
        raise ValidationError(msg)
    if int(max_event_size) < 2:
        msg = f"max_event_size must be at least 2 people, got {max_event_size!r}"
        raise ValidationError(msg)
    chosen = validate_relations(relations)
    table = _grading_table(grading_weights)
    lo, hi = parse_bound(since), parse_bound(until, end=True)
    if lo is not None and hi is not None and hi <= lo:
        msg = f"until ({until}) must be after since ({since})"
        raise ValidationError(msg)

    frames = _event_evidence(inputs, lo, hi, int(max_event_size))
    frames.append(_association_evidence(inputs, lo, hi))
    frames = [f.reindex(columns=_EVIDENCE_COLUMNS) for f in frames if len(f)]
    if frames:
        ev = pd.concat(frames, ignore_index=True)
    else:
        ev = pd.DataFrame(columns=_EVIDENCE_COLUMNS)
    ev["date"] = pd.to_datetime(ev["date"], utc=True).astype("datetime64[us, UTC]")
    if chosen is not None:
        before = len(ev)
        ev = ev.loc[ev["relation"].isin(chosen)]
        log.info("relation filter %s kept %s of %s evidence items", sorted(chosen), f"{len(ev):,}", f"{before:,}")

    inv = inputs.involvements
    inv = inv.loc[in_window(inv["occurred_at"], lo, hi, keep_null=False)]
    if as_of is not None:
        ref = parse_bound(as_of)
    elif hi is not None:
        ref = hi
    else:
        candidates = [t for t in (ev["date"].max(), inv["occurred_at"].max()) if pd.notna(t)]
        ref = max(candidates) if candidates else pd.Timestamp.now(tz="UTC")

    # weights
    src = _norm_grade(ev["source_evaluation"], "123", "source_evaluation")
    itl = _norm_grade(ev["intelligence_evaluation"], "ABCDE", "intelligence_evaluation")
    handling = _norm_grade(ev["handling"], "PC", "handling")
    graded = src.notna() | itl.notna()
    codes = src.fillna("1") + itl.fillna("A")
    grading = np.where(graded, codes.map(table).astype(float), 1.0)
    age_days = ((ref - ev["date"]).dt.total_seconds() / 86400.0).clip(lower=0).to_numpy(dtype=float)
    decay = np.where(np.isnan(age_days), 1.0, 0.5 ** (np.nan_to_num(age_days) / float(half_life_days)))
    ev = ev.assign(
        weight=ev["base"].astype(float).to_numpy() * grading * decay,
        grading=np.where(graded, src.fillna("") + itl.fillna(""), None),
        handling=handling,
        date_iso=_iso(ev["date"]),
    )
    ev["event_id"] = ev["event_id"].astype(object).where(ev["event_id"].notna(), None)

    # aggregate evidence into edges
    a_code, a_uni = pd.factorize(ev["a"].astype(str), sort=True)
    b_code, b_uni = pd.factorize(ev["b"].astype(str), sort=True)
    date_key = ev["date"].to_numpy(dtype="datetime64[us]").astype(np.int64)
    date_key = np.where(ev["date"].isna().to_numpy(), np.iinfo(np.int64).min, date_key)
    rel_code = pd.factorize(ev["relation"].astype(str), sort=True)[0]
    order = np.lexsort((rel_code, date_key, b_code, a_code))
    ev = ev.iloc[order].reset_index(drop=True)
    g = nx.Graph()
    if len(ev):
        keys = ev["a"].to_numpy(dtype=object), ev["b"].to_numpy(dtype=object)
        change = np.r_[True, (keys[0][1:] != keys[0][:-1]) | (keys[1][1:] != keys[1][:-1])]
        starts = np.flatnonzero(change)
        ends = np.r_[starts[1:], len(ev)]
        w = ev["weight"].to_numpy()
        wsum = np.add.reduceat(w, starts)
        rel = ev["relation"].to_numpy(dtype=object)
        eid = _clean(ev["event_id"])
        dte = _clean(ev["date_iso"])
        grd = _clean(ev["grading"])
        hdl = _clean(ev["handling"])
        records = [
            {"relation": r, "event_id": e, "date": d, "grading": gr, "handling": h, "weight": float(x)}
            for r, e, d, gr, h, x in zip(rel, eid, dte, grd, hdl, w, strict=True)
        ]
        edges = []
        for s, e, total in zip(starts, ends, wsum, strict=True):
            dates = [d for d in dte[s:e] if d is not None]
            edges.append(
                (
                    keys[0][s],
                    keys[1][s],
                    {
                        "weight": float(total),
                        "relations": sorted(set(rel[s:e])),
                        "evidence": records[s:e],
                        "first_seen": min(dates) if dates else None,
                        "last_seen": max(dates) if dates else None,
                        "n_evidence": int(e - s),
                        "handling_conditions": bool(any(h == "C" for h in hdl[s:e])),
                    },
                )
            )
        g.add_edges_from(edges)

    _add_nodes(g, inputs, inv, ev, lo, hi, ref)
    g.graph.update(
        {
            "as_of": ref.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "half_life_days": float(half_life_days),
            "max_event_size": int(max_event_size),
            "relations": ",".join(sorted(chosen)) if chosen is not None else "all",
        }
    )
    if lo is not None:
        g.graph["since"] = lo.strftime("%Y-%m-%dT%H:%M:%SZ")
    if hi is not None:
        g.graph["until"] = hi.strftime("%Y-%m-%dT%H:%M:%SZ")
    bands = pd.Series([d["age_band"] for _, d in g.nodes(data=True)], dtype=object).value_counts()
    log.info(
        "built graph with %s nodes (%s children) and %s edges from %s evidence items",
        f"{g.number_of_nodes():,}",
        f"{int(bands.get('child', 0)):,}",
        f"{g.number_of_edges():,}",
        f"{len(ev):,}",
    )
    return g


def _lists(keys: pd.Series, values: pd.Series) -> dict[str, list[str]]:
    """Sorted distinct values per key, without a Python-level groupby apply."""
    frame = pd.DataFrame({"k": keys.astype(str).to_numpy(), "v": values.astype(str).to_numpy()}).drop_duplicates()
    frame = frame.sort_values(["k", "v"], kind="stable")
    out: dict[str, list[str]] = {}
    for k, v in zip(frame["k"].to_numpy(dtype=object), frame["v"].to_numpy(dtype=object), strict=True):
        out.setdefault(k, []).append(v)
    return out


def _add_nodes(g: nx.Graph, inputs: GraphInputs, inv: pd.DataFrame, ev: pd.DataFrame, lo, hi, ref: pd.Timestamp) -> None:
    people = set(inv["person_id"].astype(str)) | set(g.nodes)
    g.add_nodes_from(people)
    persons = inputs.persons.drop_duplicates("person_id", keep="last")
    pid = persons["person_id"].astype(str).to_numpy(dtype=object)
    birth = dict(zip(pid, persons["birth_year_month"].to_numpy(dtype=object), strict=True))
    looked = dict(zip(pid, persons["looked_after"].to_numpy(dtype=object), strict=True))

    # age band at the latest event in the window
    latest_inv = inv.sort_values("occurred_at").drop_duplicates("person_id", keep="last")
    band_from_inv = dict(zip(latest_inv["person_id"].astype(str), latest_inv["age_band"], strict=True))
    time_from_inv = dict(zip(latest_inv["person_id"].astype(str), latest_inv["occurred_at"], strict=True))
    dated = ev.dropna(subset=["date"])
    last_ev = pd.concat([dated[["a", "date"]].rename(columns={"a": "p"}), dated[["b", "date"]].rename(columns={"b": "p"})])
    time_from_ev = last_ev.groupby("p")["date"].max().to_dict() if len(last_ev) else {}

    # latest screening before the window end (or as_of)
    scr = inputs.screenings
    scr_end = hi if hi is not None else ref
    scr = scr.loc[scr["screened_at"].notna() & (scr["screened_at"] <= scr_end)].sort_values("screened_at")
    scr = scr.drop_duplicates("person_id", keep="last")
    risk = dict(zip(scr["person_id"].astype(str), scr["risk_level"], strict=True))
    screened = dict(zip(scr["person_id"].astype(str), _iso(scr["screened_at"]), strict=True))

    roles = _lists(inv["person_id"], inv["role"])
    n_events = (
        inv.assign(person_id=inv["person_id"].astype(str)).drop_duplicates(["person_id", "event_type", "event_id"]).groupby("person_id").size().to_dict()
    )
    pl = inputs.person_locations
    if len(pl):
        pl = pl.loc[in_window(pl["linked_at"], lo, hi, keep_null=True)]
    locs = _lists(pl["person_id"], pl["location_id"]) if len(pl) else {}

    for p in g.nodes:
        band = band_from_inv.get(p)
        if band not in ("child", "young_adult", "adult"):
            when = time_from_inv.get(p, time_from_ev.get(p, ref))
            band = age_band_at(birth.get(p), when)
        la = looked.get(p)
        looked_after = None if la is None or la is pd.NA or (isinstance(la, float) and np.isnan(la)) else bool(la)
        rl = risk.get(p)
        p_roles = roles.get(p, [])
        g.nodes[p].update(
            {
                "age_band": band,
                "looked_after": looked_after,
                "risk_level": None if rl is None or pd.isna(rl) else str(rl),
                "screened_at": screened.get(p),
                "is_suspect": "suspect" in p_roles,
                "roles": p_roles,
                "n_events": int(n_events.get(p, 0)),
                "locations": locs.get(p, []),
            }
        )
