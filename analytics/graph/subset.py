"""The association graph restricted to a time window or to some relations, without rebuilding it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import numpy as np

from ctxrisk.analytics.graph.arrays import GraphArrays, seen_bounds
from ctxrisk.analytics.graph.build import validate_relations
from ctxrisk.analytics.graph.inputs import parse_bound
from ctxrisk.pipelines.errors import ValidationError


def restrict(
    arrays: GraphArrays,
    *,
    since: Any = None,
    until: Any = None,
    relations: Iterable[str] | str | None = None,
) -> GraphArrays:
    """The graph with only the evidence dated in ``[since, until)`` and of the given relations.

    Links left with no evidence are dropped; people stay (with the attributes of the whole
    graph: age band, screening and roles as the graph was built). Each remaining link's weight
    is the sum of its remaining evidence weights (recency decay as built). Undated evidence is
    kept in every window, as :func:`~ctxrisk.analytics.graph.build.build_arrays` keeps it.

    Parameters
    ----------
    arrays : GraphArrays
        From :func:`~ctxrisk.analytics.graph.build.build_arrays`.
    since, until : str, date, datetime or None
        Evidence window (a date-only ``until`` includes that day; naive times are Europe/London).
    relations : iterable of str, comma-separated str, or None
        Relation names to keep (``None`` keeps all).

    Returns
    -------
    GraphArrays
        A new graph; ``graph`` attributes record the window and relations applied.
    """
    chosen = validate_relations(relations)
    lo, hi = parse_bound(since), parse_bound(until, end=True)
    if lo is not None and hi is not None and hi <= lo:
        msg = f"until ({until}) must be after since ({since})"
        raise ValidationError(msg)
    keep = np.ones(arrays.evidence_date.size, dtype=bool)
    dated = ~np.isnat(arrays.evidence_date)
    for bound, after in ((lo, True), (hi, False)):
        if bound is not None:
            t = np.datetime64(bound.tz_convert("UTC").tz_localize(None).to_datetime64(), "us")
            inside = arrays.evidence_date >= t if after else arrays.evidence_date < t
            keep &= ~dated | inside
    if chosen is not None:
        codes = [i for i, r in enumerate(arrays.relation_names) if r in chosen]
        keep &= np.isin(arrays.evidence_relation, codes)
    return _keep_evidence(arrays, keep, lo, hi, chosen)


def _keep_evidence(arrays: GraphArrays, keep: np.ndarray, lo: Any, hi: Any, chosen: Any) -> GraphArrays:
    """``arrays`` with the evidence items where ``keep`` and the links left with any."""
    ptr = arrays.evidence_ptr
    edge_of = np.repeat(np.arange(arrays.n_edges), np.diff(ptr))
    per_edge = np.bincount(edge_of[keep], minlength=arrays.n_edges)
    live = per_edge > 0
    new_ptr = np.zeros(int(live.sum()) + 1, dtype=np.int64)
    new_ptr[1:] = np.cumsum(per_edge[live])
    dates = arrays.evidence_date[keep]
    first, last = seen_bounds(dates, new_ptr)
    weight = np.bincount(edge_of[keep], weights=arrays.evidence_weight[keep], minlength=arrays.n_edges)
    conditions = np.bincount(edge_of[keep], weights=arrays.evidence_handling[keep] == "C", minlength=arrays.n_edges)
    attrs = dict(arrays.graph)
    if lo is not None:
        attrs["since"] = lo.strftime("%Y-%m-%dT%H:%M:%SZ")
    if hi is not None:
        attrs["until"] = hi.strftime("%Y-%m-%dT%H:%M:%SZ")
    if chosen is not None:
        attrs["relations"] = ",".join(sorted(chosen))
    return dataclasses.replace(
        arrays,
        edge_u=arrays.edge_u[live],
        edge_v=arrays.edge_v[live],
        weight=weight[live],
        first_seen=first,
        last_seen=last,
        handling_conditions=conditions[live] > 0,
        evidence_ptr=new_ptr,
        evidence_relation=arrays.evidence_relation[keep],
        evidence_event_id=arrays.evidence_event_id[keep],
        evidence_date=dates,
        evidence_grading=arrays.evidence_grading[keep],
        evidence_handling=arrays.evidence_handling[keep],
        evidence_weight=arrays.evidence_weight[keep],
        graph=attrs,
    )
