"""Centrality, brokerage and k-core measures of people in an association graph."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from ctxrisk.analytics.graph.arrays import GraphArrays, as_arrays
from ctxrisk.pipelines.errors import ValidationError

log = logging.getLogger(__name__)

#: Most pivots used for sampled betweenness when ``k`` is not given.
DEFAULT_PIVOTS = 500
#: Fewest pivots used when ``k`` is not given (large graphs).
MIN_DEFAULT_PIVOTS = 100
#: Work budget of the default pivot count: pivots x (nodes + 2 edges) adjacency entries visited.
PIVOT_BUDGET = 1.5e8


def default_pivots(n_nodes: int, n_edges: int) -> int:
    """Pivots for sampled betweenness when none are given: ``clip(PIVOT_BUDGET / (n + 2m), 100, 500)``, at most n.

    Each pivot is one breadth-first search plus accumulation over ``n + 2m`` adjacency entries,
    so this keeps the time roughly constant: 500 pivots up to about 75k nodes + links, 166 on
    the 100k-person synthetic graph (~99k people, 401k links), never fewer than 100. The standard
    error grows as ``1/sqrt(k)`` and is reported per person (``betweenness_se``), so fewer pivots
    are stated, not hidden.
    """
    budget = int(PIVOT_BUDGET // max(1, n_nodes + 2 * n_edges))
    return max(1, min(n_nodes, max(MIN_DEFAULT_PIVOTS, min(DEFAULT_PIVOTS, budget))))


CENTRALITY_COLUMNS = (
    "person_id",
    "age_band",
    "degree",
    "strength",
    "betweenness",
    "betweenness_se",
    "eigenvector",
    "triangles",
)


def adjacency_arrays(g: nx.Graph, *, weight: str | None = "weight") -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """CSR adjacency of a networkx graph in node order: ``indptr``, ``indices``, ``weights``, node list.

    ``weights`` is 1.0 where ``weight`` is None or an edge lacks it. One pass over the networkx
    adjacency; each undirected edge appears in both rows (a directed graph: successors only).
    """
    nodes = list(g.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    adj = list(g.adjacency())
    indptr = np.zeros(len(nodes) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(nbrs) for _, nbrs in adj])
    indices = np.fromiter((index[v] for _, nbrs in adj for v in nbrs), dtype=np.int64, count=int(indptr[-1]))
    if weight is None:
        weights = np.ones(indices.size)
    else:
        weights = np.fromiter(
            (float(d.get(weight, 1.0)) for _, nbrs in adj for d in nbrs.values()), dtype=float, count=int(indptr[-1])
        )
    return indptr, indices, weights, nodes


def _adjacency(arrays: GraphArrays, adjacency: tuple | None, *, weighted: bool = True) -> tuple:
    """``adjacency`` if given, else ``arrays.adjacency()``; unit weights when not ``weighted``."""
    indptr, indices, weights, nodes = adjacency if adjacency is not None else arrays.adjacency()
    return indptr, indices, weights if weighted else np.ones(indices.size), nodes


def _edge_rows(indptr: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row of each undirected edge once and the mask of CSR entries kept (``v >= u``)."""
    rows = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    once = indices >= rows
    return rows[once], once


def igraph_from_arrays(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray | None, n: int) -> Any:
    """Undirected ``igraph.Graph`` from CSR arrays, each edge once; ``weight`` set unless ``weights`` is None."""
    import igraph as ig

    rows, once = _edge_rows(indptr, indices)
    # pairs from two lists: igraph reads a list of tuples several times faster than a 2-D array's rows
    h = ig.Graph(n=n, edges=list(zip(rows.tolist(), indices[once].tolist(), strict=True)), directed=False)
    if weights is not None:
        h.es["weight"] = weights[once].tolist()
    return h


def _brandes_moments_py(
    indptr: np.ndarray, indices: np.ndarray, pivots: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sum and sum of squares over pivots of each node's single-source dependency (Brandes 2001), halved.

    Unweighted BFS from each pivot, then dependencies accumulated in reverse BFS order; halving
    makes the sum over every node as pivot the undirected betweenness with each pair counted once.
    """
    total = np.zeros(n)
    total_sq = np.zeros(n)
    sigma = np.zeros(n)
    dist = np.full(n, -1, dtype=np.int32)  # 32-bit: half the memory each search reads
    delta = np.zeros(n)
    order = np.empty(n, dtype=np.int32)
    for s in pivots:
        head = 0
        tail = 1
        order[0] = s
        dist[s] = 0
        sigma[s] = 1.0
        while head < tail:
            v = order[head]
            head += 1
            below = dist[v] + 1
            paths = sigma[v]
            for j in range(indptr[v], indptr[v + 1]):
                w = indices[j]
                if dist[w] < 0:
                    dist[w] = below
                    order[tail] = w
                    tail += 1
                if dist[w] == below:
                    sigma[w] += paths
        for i in range(tail - 1, -1, -1):
            w = order[i]
            above = dist[w] - 1
            share = (1.0 + delta[w]) / sigma[w]  # once per node, not once per link
            for j in range(indptr[w], indptr[w + 1]):
                v = indices[j]
                if dist[v] == above:
                    delta[v] += sigma[v] * share
            if w != s:
                half = delta[w] / 2.0
                total[w] += half
                total_sq[w] += half * half
        for i in range(tail):
            w = order[i]
            dist[w] = -1
            sigma[w] = 0.0
            delta[w] = 0.0
    return total, total_sq


#: Most pivot chunks run side by side (one thread each); each chunk holds 6 arrays of n floats.
MAX_PIVOT_CHUNKS = 4


def _brandes_chunks_py(
    indptr: np.ndarray, indices: np.ndarray, pivots: np.ndarray, n: int, chunks: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_brandes_moments_py` over ``chunks`` interleaved slices of the pivots, summed in chunk order.

    Compiled with ``parallel=True`` the chunks run on separate threads; the result depends on
    ``chunks`` only in the last bits of the floating-point sums, never on thread timing.
    """
    totals = np.zeros((chunks, n))
    totals_sq = np.zeros((chunks, n))
    for c in _prange(chunks):
        t, t_sq = _brandes_moments(indptr, indices, pivots[c::chunks], n)
        totals[c] = t
        totals_sq[c] = t_sq
    total = np.zeros(n)
    total_sq = np.zeros(n)
    for c in range(chunks):
        total += totals[c]
        total_sq += totals_sq[c]
    return total, total_sq


try:  # compiled when numba is there (a pinned dependency); the same code runs as Python otherwise
    import numba
    from numba import njit
    from numba import prange as _prange

    _brandes_moments = njit(cache=True, nogil=True)(_brandes_moments_py)
    _brandes_chunks = njit(cache=True, nogil=True, parallel=True)(_brandes_chunks_py)

    def _pivot_chunks(k: int) -> int:
        return max(1, min(MAX_PIVOT_CHUNKS, numba.get_num_threads(), k))
except ImportError:  # pragma: no cover
    _prange = range
    _brandes_moments = _brandes_moments_py
    _brandes_chunks = _brandes_chunks_py

    def _pivot_chunks(k: int) -> int:
        return 1


def _local_order(indptr: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relabel nodes in reverse Cuthill–McKee order (neighbours get nearby labels, so BFS touches memory in order).

    Returns the permuted ``indptr`` and ``indices`` (32-bit while they fit: half the memory a
    breadth-first search reads) and ``new`` with ``new[old] = new label``. Results are unchanged.
    """
    from scipy import sparse
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    n = indptr.size - 1
    a = sparse.csr_matrix((np.ones(indices.size, dtype=np.int8), indices, indptr), shape=(n, n))
    perm = reverse_cuthill_mckee(a, symmetric_mode=True)
    b = a[perm][:, perm].tocsr()
    b.sort_indices()
    new = np.empty(n, dtype=np.int64)
    new[perm] = np.arange(n)
    kind = np.int32 if b.indices.size < np.iinfo(np.int32).max else np.int64
    return b.indptr.astype(kind), b.indices.astype(kind), new


def _pivot_moments(indptr: np.ndarray, indices: np.ndarray, pivots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation (ddof 1) over pivots of each node's share of betweenness.

    Summed over every node as pivot the shares give the exact (pairs counted once) betweenness.
    A compiled Brandes accumulation on CSR arrays, one chunk of pivots per core.
    """
    k, n = len(pivots), indptr.size - 1
    indptr, indices, new = _local_order(indptr, indices)
    order = new[np.asarray(pivots, dtype=np.int64)]
    chunks = _pivot_chunks(k)
    if chunks > 1:  # pivots are independent: one chunk of them per core
        total, total_sq = _brandes_chunks(indptr, indices, order, n, chunks)
    else:
        total, total_sq = _brandes_moments(indptr, indices, order, n)
    total, total_sq = total[new], total_sq[new]
    mean = total / k
    if k > 1:
        sd = np.sqrt(np.maximum(total_sq - k * mean * mean, 0.0) / (k - 1))
    else:
        sd = np.full(n, np.nan)
    return mean, sd


def betweenness(
    graph: GraphArrays | nx.Graph,
    *,
    exact_max_nodes: int = 5000,
    k: int | None = None,
    seed: int = 0,
    adjacency: tuple | None = None,
) -> tuple[pd.Series, pd.Series, dict[str, Any]]:
    """Normalised shortest-path betweenness (hop counts), exact or sampled with a standard error.

    Betweenness of v is ``sum over pairs s<t of sigma_st(v)/sigma_st`` normalised by
    ``(n-1)(n-2)/2`` (as ``networkx.betweenness_centrality(normalized=True)``), on unweighted
    paths: edge weights are strengths, not distances (Brandes 2001).

    Up to ``exact_max_nodes`` nodes (and when ``k`` is None or >= n) it is exact (igraph). Beyond
    that, ``k`` pivots (default :func:`default_pivots`) are drawn without replacement with
    ``seed`` and ``B(v) ~ (n/k) sum_{s in pivots} delta_s(v)`` (Brandes & Pich 2007), with standard
    error ``n sd_s(delta_s(v)) / sqrt(k) * sqrt(1 - k/n)`` (sample standard deviation over pivots,
    finite-population corrected), normalised like the estimate; each pivot's dependencies come
    from a compiled Brandes accumulation over CSR arrays (numba).

    Returns
    -------
    (betweenness, standard_error, info)
        Two Series indexed by person and a dict with ``method`` (``exact`` or ``sampled``),
        ``engine`` (``igraph`` or ``numba``), ``pivots``, ``mean_se`` and ``max_se``.

    ``adjacency`` is ``arrays.adjacency()`` if already computed (weights are not used).
    """
    if exact_max_nodes < 0:
        msg = f"exact_max_nodes must be >= 0, got {exact_max_nodes!r}"
        raise ValidationError(msg)
    if k is not None and int(k) < 1:
        msg = f"k (pivots for sampled betweenness) must be >= 1, got {k!r}"
        raise ValidationError(msg)
    indptr, indices, _, nodes = _adjacency(as_arrays(graph) if adjacency is None else None, adjacency)
    n = len(nodes)
    scale = 1.0 / ((n - 1) * (n - 2) / 2.0) if n > 2 else 0.0
    if n == 0:
        empty = pd.Series(dtype=float)
        return empty, empty, {"method": "exact", "engine": "igraph", "pivots": 0, "mean_se": 0.0, "max_se": 0.0}
    if n <= exact_max_nodes and (k is None or int(k) >= n):
        raw = np.array(igraph_from_arrays(indptr, indices, None, n).betweenness(directed=False), dtype=float)
        est, se = raw * scale, np.zeros(n)
        info = {"method": "exact", "engine": "igraph", "pivots": n, "mean_se": 0.0, "max_se": 0.0}
    else:
        kk = min(int(k) if k is not None else default_pivots(n, _edge_count(indptr, indices)), n)
        pivots = np.random.default_rng(seed).choice(n, size=kk, replace=False)
        mean, sd = _pivot_moments(indptr, indices, pivots)
        est = mean * n * scale
        se = n * sd / math.sqrt(kk) * math.sqrt(max(0.0, 1.0 - kk / n)) * scale
        info = {
            "method": "sampled",
            "engine": "numba",
            "pivots": kk,
            "mean_se": float(np.nanmean(se)),
            "max_se": float(np.nanmax(se)),
        }
    log.info(
        "betweenness of %s nodes: %s with %s (%s pivots, mean standard error %.2g)",
        f"{n:,}",
        info["method"],
        info["engine"],
        f"{info['pivots']:,}",
        info["mean_se"],
    )
    return pd.Series(est, index=nodes), pd.Series(se, index=nodes), info


def _edge_count(indptr: np.ndarray, indices: np.ndarray) -> int:
    """Number of undirected edges in CSR arrays (a self-loop is one entry)."""
    rows = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    return int((indices.size + int((rows == indices).sum())) // 2)


def _sparse(adjacency: tuple, *, weighted: bool) -> Any:
    from scipy import sparse

    indptr, indices, weights, nodes = adjacency
    n = len(nodes)
    return sparse.csr_array((weights if weighted else np.ones(indices.size), indices, indptr), shape=(n, n))


def _eigenvector(adjacency: tuple) -> np.ndarray:
    """Weighted eigenvector centrality: the leading eigenvector of the weighted adjacency, unit length.

    Dense ``eigh`` up to 2,000 nodes, ARPACK ``eigsh`` beyond. On a disconnected graph the vector
    lives on the component with the largest eigenvalue and is 0 elsewhere.
    """
    n = len(adjacency[3])
    if _edge_count(adjacency[0], adjacency[1]) == 0:
        return np.zeros(n)
    a = _sparse(adjacency, weighted=True)
    if n <= 2000:
        vec = np.linalg.eigh(a.toarray())[1][:, -1]
    else:
        from scipy.sparse.linalg import eigsh

        # a fixed start vector: ARPACK's default is random, which made the last digits vary run to run
        start = np.full(n, 1.0 / math.sqrt(n))
        vec = eigsh(a.astype(float), k=1, which="LA", tol=1e-10, v0=start)[1][:, 0]
    return np.abs(vec) / np.linalg.norm(vec)


def _triangles(adjacency: tuple) -> np.ndarray:
    """Closed triangles through each node: ``diag(A^3)/2`` on the 0/1 adjacency without self-loops."""
    if _edge_count(adjacency[0], adjacency[1]) == 0:
        return np.zeros(len(adjacency[3]), dtype=np.int64)
    a = _sparse(adjacency, weighted=False)
    a.setdiag(0)
    a.eliminate_zeros()
    counts = np.asarray((a @ a).multiply(a).sum(axis=1)).ravel() / 2
    return np.rint(counts).astype(np.int64)


def centrality(
    graph: GraphArrays | nx.Graph,
    *,
    exact_max_nodes: int = 5000,
    k: int | None = None,
    seed: int = 0,
    adjacency: tuple | None = None,
) -> pd.DataFrame:
    """Centrality of every person, ranked by betweenness then degree (highest first).

    Parameters
    ----------
    graph : GraphArrays or networkx.Graph
        From :func:`ctxrisk.analytics.graph.build.build_arrays` (or its networkx form).
    exact_max_nodes : int
        Betweenness is exact up to this many nodes (default 5,000) and sampled beyond it.
    k : int, optional
        Pivots for sampled betweenness (default :func:`default_pivots`; at most n). A ``k`` below
        n forces sampling.
    seed : int
        Seed of the pivot draw.
    adjacency : tuple, optional
        ``arrays.adjacency()`` (weighted) if already computed.

    Returns
    -------
    DataFrame
        Columns ``person_id``; ``age_band``; ``degree`` (distinct people linked; a self-loop
        counts 2, as in networkx); ``strength`` (sum of edge weights); ``betweenness``
        (normalised, see :func:`betweenness`); ``betweenness_se`` (standard error, 0 when exact);
        ``eigenvector`` (weighted eigenvector centrality, unit length over the graph — people
        outside the dominant component score near 0); ``triangles`` (closed triangles through
        the person). ``attrs`` holds the betweenness ``method``, ``engine``, ``pivots``,
        ``mean_se`` and ``max_se``.
    """
    arrays = as_arrays(graph)
    adjacency = _adjacency(arrays, adjacency)
    indptr, indices, weights, nodes = adjacency
    bc, se, info = betweenness(arrays, exact_max_nodes=exact_max_nodes, k=k, seed=seed, adjacency=adjacency)
    rows = np.repeat(np.arange(len(nodes)), np.diff(indptr))
    loop = rows == indices
    degree = np.diff(indptr) + np.bincount(rows[loop], minlength=len(nodes))
    strength = np.bincount(rows, weights=weights, minlength=len(nodes)) + np.bincount(
        rows[loop], weights=weights[loop], minlength=len(nodes)
    )
    frame = pd.DataFrame(
        {
            "person_id": nodes,
            "age_band": arrays.age_band,
            "degree": degree.astype(np.int64),
            "strength": strength.astype(float),
            "betweenness": bc.to_numpy(dtype=float) if len(bc) else np.zeros(len(nodes)),
            "betweenness_se": se.to_numpy(dtype=float) if len(se) else np.zeros(len(nodes)),
            "eigenvector": _eigenvector(adjacency),
            "triangles": _triangles(adjacency),
        },
        columns=list(CENTRALITY_COLUMNS),
    )
    frame = frame.sort_values(["betweenness", "degree", "person_id"], ascending=[False, False, True], kind="stable")
    frame = frame.reset_index(drop=True)
    frame.attrs.update(info)
    return frame


def membership(communities: Any) -> dict:
    """Node -> group mapping from a groups() DataFrame, a mapping, or an iterable of node sets."""
    if isinstance(communities, pd.DataFrame):
        if not {"person_id", "group_id"} <= set(communities.columns):
            msg = f"communities DataFrame needs columns person_id and group_id; it has {list(communities.columns)}"
            raise ValidationError(msg)
        return dict(zip(communities["person_id"], communities["group_id"], strict=True))
    if isinstance(communities, Mapping):
        return dict(communities)
    if isinstance(communities, Iterable):
        out = {}
        for i, members in enumerate(communities, start=1):
            for n in members:
                out[n] = i
        return out
    msg = f"communities must be a DataFrame, a mapping or an iterable of sets, not {type(communities).__name__}"
    raise ValidationError(msg)


def burt_constraint(graph: GraphArrays | nx.Graph, *, weight: str | None = "weight") -> pd.Series:
    """Burt's (1992) constraint of every node, vectorised with scipy sparse matrices.

    ``c_i = sum_{j in N(i)} (p_ij + sum_q p_iq p_qj)^2`` with the normalised mutual weight
    ``p_ij = (w_ij + w_ji) / sum_k (w_ik + w_ki)`` (0 when the sum is 0), over the neighbours
    ``N(i)`` of ``i`` — the definition of ``networkx.constraint``, which it matches to rounding
    (about 1e-15) including self-loops and zero weights, as two sparse products ``P + P @ P``
    read at the edges. Low constraint = many non-redundant contacts = brokerage opportunity; 1
    for a single contact.

    Parameters
    ----------
    graph : GraphArrays or networkx.Graph
        Graph (for a directed networkx graph, neighbours are predecessors and successors, as
        networkx).
    weight : str or None
        Edge attribute holding the tie strength (missing = 1); ``None`` weighs every edge 1.

    Returns
    -------
    Series
        Constraint indexed by node, in node order; NaN for nodes without links.
    """
    from scipy import sparse

    directed = isinstance(graph, nx.Graph) and graph.is_directed()
    if directed:
        indptr, indices, weights, nodes = adjacency_arrays(graph, weight=weight)
    else:
        indptr, indices, weights, nodes = _adjacency(as_arrays(graph), None, weighted=weight is not None)
    n = len(nodes)
    if n == 0:
        return pd.Series(dtype=float)
    a = sparse.csr_array((weights, indices, indptr), shape=(n, n))
    mutual = (a + a.T).tocsr()
    pattern = sparse.csr_array((np.ones(indices.size), indices, indptr), shape=(n, n))
    pattern = ((pattern + pattern.T) > 0).astype(float)  # neighbours either way; zero weights kept
    total = np.asarray(mutual.sum(axis=1)).ravel()
    inv = np.divide(1.0, total, out=np.zeros(n), where=total != 0)
    p = (sparse.diags_array(inv) @ mutual).tocsr()
    local = (p + p @ p).multiply(pattern)
    out = np.asarray(local.power(2).sum(axis=1), dtype=float).ravel()
    out[np.diff(pattern.indptr) == 0] = np.nan
    if directed:  # networkx: NaN when the node has no successors
        out[np.diff(indptr) == 0] = np.nan
    return pd.Series(out, index=nodes)


def _participation(
    indptr: np.ndarray, indices: np.ndarray, nodes: list, groups: Mapping
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Degree, distinct other groups linked and participation coefficient of every node, from CSR arrays.

    A node missing from ``groups`` is a group of its own. Degree counts a self-loop twice (as
    ``networkx.Graph.degree``); the group counts count each neighbour once.
    """
    n = len(nodes)
    known = pd.Series([groups.get(v, _MISSING) for v in nodes], dtype=object)
    present = (known != _MISSING).to_numpy()
    labels = np.empty(n, dtype=np.int64)
    codes, _ = pd.factorize(known[present], use_na_sentinel=False)
    labels[present] = codes
    labels[~present] = codes.max(initial=-1) + 1 + np.arange(int((~present).sum()))
    rows = np.repeat(np.arange(n), np.diff(indptr))
    deg = np.diff(indptr) + np.bincount(rows[rows == indices], minlength=n)
    pair = rows * (labels.max(initial=0) + 1) + labels[indices]
    uniq, counts = np.unique(pair, return_counts=True)
    urow = uniq // (labels.max(initial=0) + 1)
    ulab = uniq % (labels.max(initial=0) + 1)
    share = np.divide(counts, deg[urow], out=np.zeros(counts.size), where=deg[urow] != 0)
    participation = 1.0 - np.bincount(urow, weights=share * share, minlength=n)
    linked = np.bincount(urow, weights=(ulab != labels[urow]).astype(float), minlength=n).astype(np.int64)
    return deg, linked, participation


_MISSING = object()


def brokers(
    graph: GraphArrays | nx.Graph, communities: Any, *, exact_max_nodes: int = 5000, seed: int = 0
) -> pd.DataFrame:
    """People who bridge groups: betweenness, participation coefficient and Burt's constraint.

    Parameters
    ----------
    graph : GraphArrays or networkx.Graph
        Association graph.
    communities : DataFrame, mapping or iterable of sets
        Groups, e.g. the result of :func:`ctxrisk.analytics.graph.communities.groups`. People
        missing from it count as a group of their own.
    exact_max_nodes, seed
        As for :func:`centrality`.

    Returns
    -------
    DataFrame
        One row per person with at least one link, ranked by betweenness, then participation,
        then lowest constraint. Columns ``person_id``, ``age_band``, ``group_id``, ``degree``,
        ``groups_linked`` (distinct other groups among their links), ``betweenness``,
        ``participation`` (Guimerà & Amaral 2005: ``1 - sum_s (k_is/k_i)^2`` over groups s with
        k_is links into group s — 0 when all links stay in one group, towards 1 when spread over
        many), ``constraint`` (Burt 1992, see :func:`burt_constraint`, on edge weights; low
        constraint = many non-redundant contacts = brokerage opportunity).
    """
    groups = membership(communities)
    arrays = as_arrays(graph)
    adjacency = arrays.adjacency()
    indptr, indices, _, nodes = adjacency
    deg, linked_groups, participation = _participation(indptr, indices, nodes, groups)
    keep = np.flatnonzero(deg > 0)
    bc, _, info = betweenness(arrays, exact_max_nodes=exact_max_nodes, seed=seed, adjacency=adjacency)
    constraint = burt_constraint(arrays, weight="weight") if keep.size else pd.Series(dtype=float)
    frame = pd.DataFrame(
        {
            "person_id": [nodes[i] for i in keep],
            "age_band": arrays.age_band[keep],
            "group_id": [groups.get(nodes[i]) for i in keep],
            "degree": deg[keep],
            "groups_linked": linked_groups[keep],
            "betweenness": bc.to_numpy(dtype=float)[keep] if len(bc) else np.zeros(keep.size),
            "participation": participation[keep],
            "constraint": constraint.to_numpy(dtype=float)[keep] if len(constraint) else np.zeros(keep.size),
        },
        columns=list(BROKER_COLUMNS),
    )
    frame = frame.sort_values(
        ["betweenness", "participation", "constraint", "person_id"], ascending=[False, False, True, True], kind="stable"
    ).reset_index(drop=True)
    frame.attrs.update({f"betweenness_{k}": v for k, v in info.items()})
    log.info("brokerage measured for %s linked people", f"{len(frame):,}")
    return frame


BROKER_COLUMNS = (
    "person_id",
    "age_band",
    "group_id",
    "degree",
    "groups_linked",
    "betweenness",
    "participation",
    "constraint",
)


def kcore(graph: GraphArrays | nx.Graph) -> pd.DataFrame:
    """Core number of every person (the largest k such that they are in a subgraph of minimum degree k).

    Returns
    -------
    DataFrame
        Columns ``person_id``, ``age_band``, ``core_number``, ``degree``, ranked by core number
        (highest, the densest part of the network, first). ``attrs['max_core']`` is the top core.
    """
    arrays = as_arrays(graph)
    indptr, indices, _, nodes = arrays.adjacency()
    h = igraph_from_arrays(indptr, indices, None, len(nodes))
    frame = pd.DataFrame(
        {
            "person_id": nodes,
            "age_band": arrays.age_band,
            "core_number": np.asarray(h.coreness(), dtype=np.int64),
            "degree": np.asarray(h.degree(), dtype=np.int64),
        },
        columns=["person_id", "age_band", "core_number", "degree"],
    )
    frame = frame.sort_values(
        ["core_number", "degree", "person_id"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)
    frame.attrs["max_core"] = int(frame["core_number"].max()) if len(frame) else 0
    log.info("k-core: %s people, highest core %d", f"{len(frame):,}", frame.attrs["max_core"])
    return frame
