"""Centrality, brokerage and k-core measures of people in an association graph."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from pipelines.errors import ValidationError

log = logging.getLogger(__name__)

#: Pivots used for sampled betweenness when ``k`` is not given.
DEFAULT_PIVOTS = 500

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


def to_igraph(g: nx.Graph, *, weight: str | None = "weight") -> tuple[Any, list]:
    """Convert to an undirected ``igraph.Graph``; returns the graph and the node list (vertex order)."""
    import igraph as ig

    nodes = list(g.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    edges = [(index[a], index[b]) for a, b in g.edges]
    h = ig.Graph(n=len(nodes), edges=edges, directed=False)
    if weight is not None:
        h.es["weight"] = [float(d.get(weight, 1.0)) for _, _, d in g.edges(data=True)]
    return h, nodes


def _per_pivot_dependencies(g: nx.Graph, nodes: list, pivots: np.ndarray, use_igraph: bool) -> np.ndarray:
    """Matrix (pivots x nodes) of each pivot's contribution to unnormalised betweenness.

    Summed over every node as pivot this is the exact (pairs counted once) betweenness.
    """
    if use_igraph:
        h, _ = to_igraph(g, weight=None)
        return np.array([h.betweenness(directed=False, sources=[int(s)]) for s in pivots], dtype=float).reshape(len(pivots), len(nodes))
    rows = []
    for s in pivots:
        # same per-pivot share as igraph's betweenness(sources=[s]) (undirected, halved)
        b = nx.betweenness_centrality_subset(g, sources=[nodes[s]], targets=nodes, normalized=False)
        rows.append([b[n] for n in nodes])
    return np.array(rows, dtype=float).reshape(len(pivots), len(nodes))


def betweenness(
    g: nx.Graph,
    *,
    exact_max_nodes: int = 5000,
    k: int | None = None,
    seed: int = 0,
    use_igraph: bool = True,
) -> tuple[pd.Series, pd.Series, dict[str, Any]]:
    """Normalised shortest-path betweenness (hop counts), exact or sampled with a standard error.

    Betweenness of v is ``sum over pairs s<t of sigma_st(v)/sigma_st`` normalised by
    ``(n-1)(n-2)/2`` (as ``networkx.betweenness_centrality(normalized=True)``), on unweighted
    paths: edge weights are strengths, not distances (Brandes 2001).

    Up to ``exact_max_nodes`` nodes (and when ``k`` is None or >= n) it is exact. Beyond that,
    ``k`` pivots (default :data:`DEFAULT_PIVOTS`) are drawn without replacement with ``seed`` and
    ``B(v) ~ (n/k) sum_{s in pivots} delta_s(v)`` (Brandes & Pich 2007), with standard error
    ``n sd_s(delta_s(v)) / sqrt(k) * sqrt(1 - k/n)`` (sample standard deviation over pivots,
    finite-population corrected), normalised like the estimate.

    Returns
    -------
    (betweenness, standard_error, info)
        Two Series indexed by node and a dict with ``method`` (``exact`` or ``sampled``),
        ``engine`` (``igraph`` or ``networkx``), ``pivots``, ``mean_se`` and ``max_se``.
    """
    n = g.number_of_nodes()
    if exact_max_nodes < 0:
        msg = f"exact_max_nodes must be >= 0, got {exact_max_nodes!r}"
        raise ValidationError(msg)
    if k is not None and int(k) < 1:
        msg = f"k (pivots for sampled betweenness) must be >= 1, got {k!r}"
        raise ValidationError(msg)
    nodes = list(g.nodes)
    engine = "igraph" if use_igraph else "networkx"
    scale = 1.0 / ((n - 1) * (n - 2) / 2.0) if n > 2 else 0.0
    exact = n <= exact_max_nodes and (k is None or int(k) >= n)
    if n == 0:
        empty = pd.Series(dtype=float)
        return empty, empty, {"method": "exact", "engine": engine, "pivots": 0, "mean_se": 0.0, "max_se": 0.0}
    if exact:
        if use_igraph:
            h, _ = to_igraph(g, weight=None)
            raw = np.array(h.betweenness(directed=False), dtype=float)
        else:
            bc = nx.betweenness_centrality(g, normalized=False)
            raw = np.array([bc[v] for v in nodes], dtype=float)
        est = raw * scale
        se = np.zeros(n)
        info = {"method": "exact", "engine": engine, "pivots": n, "mean_se": 0.0, "max_se": 0.0}
    else:
        kk = min(int(k) if k is not None else DEFAULT_PIVOTS, n)
        rng = np.random.default_rng(seed)
        pivots = rng.choice(n, size=kk, replace=False)
        dep = _per_pivot_dependencies(g, nodes, pivots, use_igraph)
        est = dep.mean(axis=0) * n * scale
        sd = dep.std(axis=0, ddof=1) if kk > 1 else np.full(n, np.nan)
        se = n * sd / math.sqrt(kk) * math.sqrt(max(0.0, 1.0 - kk / n)) * scale
        info = {
            "method": "sampled",
            "engine": engine,
            "pivots": kk,
            "mean_se": float(np.nanmean(se)),
            "max_se": float(np.nanmax(se)) if n else 0.0,
        }
    log.info(
        "betweenness of %s nodes: %s with %s (%s pivots, mean standard error %.2g)",
        f"{n:,}",
        info["method"],
        engine,
        f"{info['pivots']:,}",
        info["mean_se"],
    )
    return pd.Series(est, index=nodes), pd.Series(se, index=nodes), info


def _eigenvector(g: nx.Graph) -> dict:
    if g.number_of_edges() == 0:
        return dict.fromkeys(g.nodes, 0.0)
    try:
        ev = nx.eigenvector_centrality_numpy(g, weight="weight")
    except (nx.NetworkXException, ArithmeticError, ValueError):
        ev = nx.eigenvector_centrality(g, weight="weight", max_iter=1000, tol=1e-8)
    return {n: abs(float(v)) for n, v in ev.items()}


def centrality(
    g: nx.Graph,
    *,
    exact_max_nodes: int = 5000,
    k: int | None = None,
    seed: int = 0,
    use_igraph: bool = True,
) -> pd.DataFrame:
    """Centrality of every person, ranked by betweenness then degree (highest first).

    Parameters
    ----------
    g : networkx.Graph
        Association graph from :func:`analytics.graph.build.build_graph`.
    exact_max_nodes : int
        Betweenness is exact up to this many nodes (default 5,000) and sampled beyond it.
    k : int, optional
        Pivots for sampled betweenness (default 500, at most n). A ``k`` below n forces sampling.
    seed : int
        Seed of the pivot draw.
    use_igraph : bool
        Compute betweenness with igraph (C, several times faster); ``False`` uses networkx only.

    Returns
    -------
    DataFrame
        Columns ``person_id``; ``age_band``; ``degree`` (distinct people linked); ``strength``
        (sum of edge weights); ``betweenness`` (normalised, see :func:`betweenness`);
        ``betweenness_se`` (standard error, 0 when exact); ``eigenvector`` (weighted eigenvector
        centrality, unit length over the graph — people outside the dominant component score near
        0); ``triangles`` (closed triangles through the person). ``attrs`` holds the betweenness
        ``method``, ``engine``, ``pivots``, ``mean_se`` and ``max_se``.
    """
    bc, se, info = betweenness(g, exact_max_nodes=exact_max_nodes, k=k, seed=seed, use_igraph=use_igraph)
    ev = _eigenvector(g)
    tri = nx.triangles(g)
    nodes = list(g.nodes)
    frame = pd.DataFrame(
        {
            "person_id": nodes,
            "age_band": [g.nodes[n].get("age_band", "unknown") for n in nodes],
            "degree": [g.degree(n) for n in nodes],
            "strength": [float(g.degree(n, weight="weight")) for n in nodes],
            "betweenness": [float(bc.get(n, 0.0)) for n in nodes],
            "betweenness_se": [float(se.get(n, 0.0)) for n in nodes],
            "eigenvector": [ev.get(n, 0.0) for n in nodes],
            "triangles": [int(tri[n]) for n in nodes],
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


def brokers(g: nx.Graph, communities: Any, *, exact_max_nodes: int = 5000, seed: int = 0) -> pd.DataFrame:
    """People who bridge groups: betweenness, participation coefficient and Burt's constraint.

    Parameters
    ----------
    g : networkx.Graph
        Association graph.
    communities : DataFrame, mapping or iterable of sets
        Groups, e.g. the result of :func:`analytics.graph.communities.groups`. People missing from
        it count as a group of their own.
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
        many), ``constraint`` (Burt 1992 via ``networkx.constraint`` on edge weights; low
        constraint = many non-redundant contacts = brokerage opportunity).
    """
    groups = membership(communities)
    linked = [n for n in g.nodes if g.degree(n) > 0]
    bc, _, info = betweenness(g, exact_max_nodes=exact_max_nodes, seed=seed)
    constraint = nx.constraint(g, nodes=linked, weight="weight") if linked else {}
    rows = []
    for n in linked:
        own = groups.get(n, ("own", n))
        counts: dict[Any, int] = {}
        for m in g.neighbors(n):
            key = groups.get(m, ("own", m))
            counts[key] = counts.get(key, 0) + 1
        deg = g.degree(n)
        rows.append(
            {
                "person_id": n,
                "age_band": g.nodes[n].get("age_band", "unknown"),
                "group_id": groups.get(n),
                "degree": deg,
                "groups_linked": len([c for c in counts if c != own]),
                "betweenness": float(bc.get(n, 0.0)),
                "participation": 1.0 - sum((c / deg) ** 2 for c in counts.values()),
                "constraint": float(constraint.get(n, np.nan)),
            }
        )
    frame = pd.DataFrame(
        rows, columns=["person_id", "age_band", "group_id", "degree", "groups_linked", "betweenness", "participation", "constraint"]
    )
    frame = frame.sort_values(
        ["betweenness", "participation", "constraint", "person_id"], ascending=[False, False, True, True], kind="stable"
    ).reset_index(drop=True)
    frame.attrs.update({f"betweenness_{k}": v for k, v in info.items()})
    log.info("brokerage measured for %s linked people", f"{len(frame):,}")
    return frame


def kcore(g: nx.Graph) -> pd.DataFrame:
    """Core number of every person (the largest k such that they are in a subgraph of minimum degree k).

    Returns
    -------
    DataFrame
        Columns ``person_id``, ``age_band``, ``core_number``, ``degree``, ranked by core number
        (highest, the densest part of the network, first). ``attrs['max_core']`` is the top core.
    """
    core = nx.core_number(g) if g.number_of_nodes() else {}
    frame = pd.DataFrame(
        {
            "person_id": list(core),
            "age_band": [g.nodes[n].get("age_band", "unknown") for n in core],
            "core_number": [int(v) for v in core.values()],
            "degree": [g.degree(n) for n in core],
        },
        columns=["person_id", "age_band", "core_number", "degree"],
    )
    frame = frame.sort_values(["core_number", "degree", "person_id"], ascending=[False, False, True], kind="stable").reset_index(drop=True)
    frame.attrs["max_core"] = int(frame["core_number"].max()) if len(frame) else 0
    log.info("k-core: %s people, highest core %d", f"{len(frame):,}", frame.attrs["max_core"])
    return frame
