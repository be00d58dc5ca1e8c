"""The association graph as arrays (nodes, edges, evidence) and its conversion to a networkx graph."""

from __future__ import annotations

import contextlib
import gc
import logging
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

_NAT = np.iinfo(np.int64).min  # int64 view of numpy's NaT


@dataclass
class GraphArrays:
    """The person association graph held as numpy arrays, in the order networkx would hold it.

    ``to_networkx(arrays)`` gives the graph :func:`ctxrisk.analytics.graph.build.build_graph` returns;
    the marts can be computed from the arrays directly (a few hundred bytes per edge less than
    the networkx graph, whose evidence records are Python dicts).

    Attributes
    ----------
    people : ndarray of object (n,)
        Person IDs (str) in node order: people with a link in the order their first edge was
        added, then people involved in the window without a link, in ID order.
    age_band : ndarray of object (n,)
        ``child``, ``young_adult``, ``adult`` or ``unknown``.
    looked_after : ndarray of object (n,)
        ``True``, ``False`` or ``None`` (not recorded).
    risk_level, screened_at : ndarray of object (n,)
        Latest screening before the window end (``screened_at`` ISO UTC), or ``None``.
    id_rank : ndarray of int64 (n,)
        Rank of each node's person ID among the node IDs (sorting by it sorts by ID).
    is_suspect : ndarray of bool (n,)
        Recorded as a suspect in the window.
    n_events : ndarray of int64 (n,)
        Distinct events the person is involved in within the window.
    role_ptr, roles : ndarray of int64 (n+1,), ndarray of object
        Sorted distinct roles of node ``i``: ``roles[role_ptr[i]:role_ptr[i+1]]``.
    location_ptr, locations : ndarray of int64 (n+1,), ndarray of object
        Sorted distinct location IDs of node ``i``, as for roles.
    edge_u, edge_v : ndarray of int64 (m,)
        Node positions of each edge's ends (``people[edge_u] < people[edge_v]``), edges in the
        order they are added to the graph (by ``(edge_u, edge_v)`` person ID).
    weight : ndarray of float (m,)
        Sum of the evidence weights of each edge.
    first_seen, last_seen : ndarray of datetime64[us] (m,)
        Earliest and latest dated evidence (UTC, NaT when every item is undated).
    handling_conditions : ndarray of bool (m,)
        Any evidence with handling code ``C``.
    evidence_ptr : ndarray of int64 (m+1,)
        Evidence of edge ``j`` is ``evidence_*[evidence_ptr[j]:evidence_ptr[j+1]]`` (by date,
        undated first, then relation).
    evidence_relation : ndarray of int8
        Position of the relation in :attr:`relation_names`.
    evidence_event_id, evidence_grading, evidence_handling : ndarray of object
        Event or intelligence ID, grading like ``"2B"`` and handling code (``None`` when not held).
    evidence_date : ndarray of datetime64[us]
        Evidence time (UTC, NaT when undated).
    evidence_weight : ndarray of float
        ``base x grading x recency decay`` of each item.
    relation_names : list of str
        Relation names in sorted order.
    graph : dict
        Graph attributes (``as_of``, ``half_life_days``, ``max_event_size``, ``relations`` and
        ``since``/``until`` when given).
    """

    people: np.ndarray
    id_rank: np.ndarray
    age_band: np.ndarray
    looked_after: np.ndarray
    risk_level: np.ndarray
    screened_at: np.ndarray
    is_suspect: np.ndarray
    n_events: np.ndarray
    role_ptr: np.ndarray
    roles: np.ndarray
    location_ptr: np.ndarray
    locations: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    weight: np.ndarray
    first_seen: np.ndarray
    last_seen: np.ndarray
    handling_conditions: np.ndarray
    evidence_ptr: np.ndarray
    evidence_relation: np.ndarray
    evidence_event_id: np.ndarray
    evidence_date: np.ndarray
    evidence_grading: np.ndarray
    evidence_handling: np.ndarray
    evidence_weight: np.ndarray
    relation_names: list[str]
    graph: dict[str, Any] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        """Number of people (nodes)."""
        return int(self.people.size)

    @property
    def n_edges(self) -> int:
        """Number of links (edges)."""
        return int(self.edge_u.size)

    def csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR adjacency in networkx order: ``indptr``, ``indices`` (node positions) and ``edge`` (edge of each entry).

        Row ``i`` lists the neighbours of node ``i`` in the order ``networkx.Graph.neighbors``
        yields them (by person ID: edges are added by ID pair), each undirected edge in both rows
        (a self-loop once).
        """
        n, m = self.n_nodes, self.n_edges
        other = self.edge_u != self.edge_v  # a self-loop is one entry of its row, as in networkx
        rows = np.concatenate([self.edge_u, self.edge_v[other]])
        cols = np.concatenate([self.edge_v, self.edge_u[other]])
        edge = np.concatenate([np.arange(m, dtype=np.int64), np.flatnonzero(other)])
        order = np.lexsort((self.id_rank[cols], rows))  # neighbours in person-ID order
        indptr = np.zeros(n + 1, dtype=np.int64)
        indptr[1:] = np.cumsum(np.bincount(rows, minlength=n))
        return indptr, cols[order], edge[order]

    def adjacency(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
        """Weighted CSR adjacency ``(indptr, indices, weights, nodes)``, neighbours in person-ID order."""
        indptr, indices, edge = self.csr()
        return indptr, indices, self.weight[edge], self.people.tolist()

    def lists(self, ptr: np.ndarray, values: np.ndarray) -> list[list]:
        """Per node, the slice ``values[ptr[i]:ptr[i+1]]`` as a list."""
        flat = values.tolist()
        return [flat[s:e] for s, e in zip(ptr[:-1].tolist(), ptr[1:].tolist(), strict=True)]


def iso(times: np.ndarray) -> np.ndarray:
    """ISO 8601 UTC strings (``2024-03-05T00:00:00Z``) of ``datetime64`` values; None for NaT.

    Formats each distinct second once.
    """
    secs = np.asarray(times).astype("datetime64[s]")
    if secs.size == 0:
        return np.empty(0, dtype=object)
    uniq, inverse = np.unique(secs.view(np.int64), return_inverse=True)
    text = np.char.add(np.datetime_as_string(uniq.view("datetime64[s]"), unit="s"), "Z").astype(object)
    text[uniq == _NAT] = None
    return text[inverse.ravel()]


@contextlib.contextmanager
def no_gc():
    """Pause the cyclic garbage collector while millions of small dicts and lists are made.

    None of them form reference cycles, but each generation-2 pass would walk every one of them
    again; without the pause the edge and evidence records cost several times more to build.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:
                # file the new long-lived objects with the oldest generation without walking them
                # (a first young-generation pass over millions of objects would cost seconds)
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def to_networkx(arrays: GraphArrays) -> nx.Graph:
    """The networkx graph of :func:`ctxrisk.analytics.graph.build.build_graph` from its arrays.

    Parameters
    ----------
    arrays : GraphArrays
        From :func:`ctxrisk.analytics.graph.build.build_arrays`.

    Returns
    -------
    networkx.Graph
        Edges added in ``edge_u, edge_v`` order with ``weight``, ``relations`` (sorted list),
        ``evidence`` (list of dicts with ``relation``, ``event_id``, ``date``, ``grading``,
        ``handling``, ``weight``), ``first_seen``, ``last_seen``, ``n_evidence`` and
        ``handling_conditions``; then every node with ``age_band``, ``looked_after``,
        ``risk_level``, ``screened_at``, ``is_suspect``, ``roles``, ``n_events`` and ``locations``.
    """
    g = nx.Graph()
    with no_gc():
        if arrays.n_edges:
            _add_edges(g, arrays)
        _add_nodes(g, arrays)
    g.graph.update(arrays.graph)
    return g


def _add_edges(g: nx.Graph, arrays: GraphArrays) -> None:
    ptr = arrays.evidence_ptr
    starts, ends = ptr[:-1], ptr[1:]
    n_rel = len(arrays.relation_names)
    rel_code = arrays.evidence_relation.astype(np.int64)
    edge_of = np.repeat(np.arange(arrays.n_edges), ends - starts)
    pair_rel = edge_of * n_rel + rel_code
    pair_rel = np.sort(pair_rel)
    pair_rel = pair_rel[np.r_[True, pair_rel[1:] != pair_rel[:-1]]]
    rel_starts = np.flatnonzero(np.r_[True, np.diff(pair_rel // n_rel) != 0])
    rel_ends = np.r_[rel_starts[1:], pair_rel.size]
    names_of = np.array(arrays.relation_names, dtype=object)
    rel_list = names_of[pair_rel % n_rel].tolist()
    records = [
        {"relation": r, "event_id": e, "date": d, "grading": gr, "handling": h, "weight": x}
        for r, e, d, gr, h, x in zip(
            names_of[rel_code].tolist(),
            arrays.evidence_event_id.tolist(),
            iso(arrays.evidence_date).tolist(),
            arrays.evidence_grading.tolist(),
            arrays.evidence_handling.tolist(),
            arrays.evidence_weight.tolist(),
            strict=True,
        )
    ]
    ids = arrays.people.tolist()
    edges = [
        (
            ids[u],
            ids[v],
            {
                "weight": w,
                "relations": rel_list[rs:re],
                "evidence": records[s:e],
                "first_seen": f,
                "last_seen": last,
                "n_evidence": e - s,
                "handling_conditions": c,
            },
        )
        for u, v, w, rs, re, s, e, f, last, c in zip(
            arrays.edge_u.tolist(),
            arrays.edge_v.tolist(),
            arrays.weight.tolist(),
            rel_starts.tolist(),
            rel_ends.tolist(),
            starts.tolist(),
            ends.tolist(),
            iso(arrays.first_seen).tolist(),
            iso(arrays.last_seen).tolist(),
            arrays.handling_conditions.tolist(),
            strict=True,
        )
    ]
    g.add_edges_from(edges)


def _add_nodes(g: nx.Graph, arrays: GraphArrays) -> None:
    roles = arrays.lists(arrays.role_ptr, arrays.roles)
    locations = arrays.lists(arrays.location_ptr, arrays.locations)
    g.add_nodes_from(
        (
            p,
            {
                "age_band": bd,
                "looked_after": la,
                "risk_level": rl,
                "screened_at": sc,
                "is_suspect": su,
                "roles": ro,
                "n_events": ne,
                "locations": lo,
            },
        )
        for p, bd, la, rl, sc, su, ro, ne, lo in zip(
            arrays.people.tolist(),
            arrays.age_band.tolist(),
            arrays.looked_after.tolist(),
            arrays.risk_level.tolist(),
            arrays.screened_at.tolist(),
            arrays.is_suspect.tolist(),
            roles,
            arrays.n_events.tolist(),
            locations,
            strict=True,
        )
    )


def _times_of(values: list) -> np.ndarray:
    """ISO UTC strings (or None) as naive-UTC ``datetime64[us]`` (NaT for None)."""
    stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True, errors="coerce")
    return stamps.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")


def _ptr_lists(lists: list[list]) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and flat values of a list of lists."""
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(x) for x in lists])
    return ptr, np.array([v for x in lists for v in x], dtype=object)


def from_networkx(g: nx.Graph) -> GraphArrays:
    """The arrays of a networkx association graph: the inverse of :func:`to_networkx`.

    Every analysis runs on :class:`GraphArrays`; a networkx graph (one a user edited, or a subgraph
    such as an ego network) is converted with this function first.

    Parameters
    ----------
    g : networkx.Graph
        Nodes and edges with the attributes :func:`to_networkx` writes. Missing node attributes
        take neutral values (``age_band`` ``"unknown"``, ``is_suspect`` False, no roles); an edge
        without an ``evidence`` list counts as one undated item of relation ``"link"`` with the
        edge's ``weight`` (default 1).

    Returns
    -------
    GraphArrays
        Nodes in ``g``'s node order; edges ordered by their ends' person IDs, as
        :func:`~ctxrisk.analytics.graph.build.build_arrays` orders them.
    """
    ids = list(g.nodes)
    people = np.empty(len(ids), dtype=object)
    people[:] = ids
    keys = np.array([str(p) for p in ids], dtype=object)
    id_rank = np.empty(len(ids), dtype=np.int64)
    id_rank[np.argsort(keys, kind="stable")] = np.arange(len(ids))
    data = [d for _, d in g.nodes(data=True)]

    def column(name: str, default: Any) -> np.ndarray:
        out = np.empty(len(data), dtype=object)
        out[:] = [d.get(name, default) for d in data]
        return out

    role_ptr, roles = _ptr_lists([list(d.get("roles") or []) for d in data])
    location_ptr, locations = _ptr_lists([list(d.get("locations") or []) for d in data])
    nodes = {
        "people": people,
        "id_rank": id_rank,
        "age_band": column("age_band", "unknown"),
        "looked_after": column("looked_after", None),
        "risk_level": column("risk_level", None),
        "screened_at": column("screened_at", None),
        "is_suspect": np.array([bool(d.get("is_suspect")) for d in data], dtype=bool),
        "n_events": np.array([int(d.get("n_events") or 0) for d in data], dtype=np.int64),
        "role_ptr": role_ptr,
        "roles": roles,
        "location_ptr": location_ptr,
        "locations": locations,
    }
    return GraphArrays(**nodes, **_edges_from_networkx(g, id_rank), graph=dict(g.graph))


def _edges_from_networkx(g: nx.Graph, id_rank: np.ndarray) -> dict[str, Any]:
    """Edge and evidence arrays of :func:`from_networkx`."""
    position = {p: i for i, p in enumerate(g.nodes)}
    ends, records, counts, weights, flags = [], [], [], [], []
    for x, y, d in g.edges(data=True):
        u, v = position[x], position[y]
        ends.append((u, v) if id_rank[u] <= id_rank[v] else (v, u))
        items = d.get("evidence") or [{"relation": "link", "weight": float(d.get("weight", 1.0))}]
        records.extend(items)
        counts.append(len(items))
        weights.append(float(d.get("weight", sum(float(e.get("weight") or 0.0) for e in items))))
        flags.append(bool(d.get("handling_conditions")))
    order = sorted(range(len(ends)), key=lambda j: (id_rank[ends[j][0]], id_rank[ends[j][1]]))
    spans = np.r_[0, np.cumsum(counts)]
    records = [records[k] for j in order for k in range(spans[j], spans[j + 1])]
    ends, counts = [ends[j] for j in order], [counts[j] for j in order]
    weights, flags = [weights[j] for j in order], [flags[j] for j in order]
    names = sorted({str(e["relation"]) for e in records})
    code = {r: i for i, r in enumerate(names)}
    dates = _times_of([e.get("date") for e in records])
    ptr = np.zeros(len(counts) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(counts)
    first, last = seen_bounds(dates, ptr)
    pair = np.array(ends, dtype=np.int64).reshape(-1, 2)

    def column(name: str) -> np.ndarray:
        out = np.empty(len(records), dtype=object)
        out[:] = [e.get(name) for e in records]
        return out

    return {
        "edge_u": pair[:, 0].copy(),
        "edge_v": pair[:, 1].copy(),
        "weight": np.array(weights, dtype=float),
        "first_seen": first,
        "last_seen": last,
        "handling_conditions": np.array(flags, dtype=bool),
        "evidence_ptr": ptr,
        "evidence_relation": np.array([code[str(e["relation"])] for e in records], dtype=np.int8),
        "evidence_event_id": column("event_id"),
        "evidence_date": dates,
        "evidence_grading": column("grading"),
        "evidence_handling": column("handling"),
        "evidence_weight": np.array([float(e.get("weight") or 0.0) for e in records], dtype=float),
        "relation_names": names,
    }


def seen_bounds(dates: np.ndarray, ptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Earliest and latest dated evidence of each edge (NaT when none is dated)."""
    m = ptr.size - 1
    edge = np.repeat(np.arange(m), np.diff(ptr))
    ints = dates.view(np.int64)
    dated = ints != _NAT
    first = np.full(m, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(m, _NAT, dtype=np.int64)
    np.minimum.at(first, edge[dated], ints[dated])
    np.maximum.at(last, edge[dated], ints[dated])
    first[first == np.iinfo(np.int64).max] = _NAT
    return first.view("datetime64[us]"), last.view("datetime64[us]")


def as_arrays(graph: GraphArrays | nx.Graph) -> GraphArrays:
    """``graph`` itself when it is :class:`GraphArrays`, else :func:`from_networkx` of it."""
    if isinstance(graph, GraphArrays):
        return graph
    if isinstance(graph, nx.Graph):
        return from_networkx(graph)
    msg = f"graph must be GraphArrays or a networkx Graph, not {type(graph).__name__}"
    raise TypeError(msg)
