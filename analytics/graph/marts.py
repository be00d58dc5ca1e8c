"""The association graph's five marts for a scheduled run, the groups found beside the other measures."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from ctxrisk.analytics.graph.arrays import GraphArrays
from ctxrisk.analytics.graph.centrality import centrality
from ctxrisk.analytics.graph.communities import default_seeds, group_tables
from ctxrisk.analytics.graph.concern import adults_of_concern, at_risk_children

log = logging.getLogger(__name__)

#: The marts :func:`graph_marts` returns, in the order it returns them.
GRAPH_MARTS = (
    "graph_adults_of_concern",
    "graph_group_members",
    "graph_groups",
    "graph_centrality",
    "graph_at_risk_children",
)


def graph_marts(
    arrays: GraphArrays,
    *,
    min_children: int = 2,
    alpha: float = 0.05,
    exact_max_nodes: int = 5000,
    seeds: range | None = None,
) -> dict[str, pd.DataFrame]:
    """Adults of concern, groups and their members, centrality and children near suspects, from one graph.

    The groups are found in a thread of their own while this one works out the other measures: from a
    thread other than the main one every Leiden seed runs in a worker process
    (:func:`ctxrisk.analytics.graph.communities.group_tables`), so the seeds and the other measures
    use the cores side by side. The frames are those of the functions run one after another.

    Parameters
    ----------
    arrays : GraphArrays
        From :func:`ctxrisk.analytics.graph.build.build_arrays`.
    min_children, alpha
        As for :func:`ctxrisk.analytics.graph.concern.adults_of_concern` (``[graph]`` settings).
    exact_max_nodes : int
        As for :func:`ctxrisk.analytics.graph.centrality.centrality`.
    seeds : range, optional
        Leiden seeds (default :func:`ctxrisk.analytics.graph.communities.default_seeds` of the links).

    Returns
    -------
    dict of str to DataFrame
        Keyed by the names in :data:`GRAPH_MARTS`.
    """
    indptr, indices, edge = arrays.csr()
    adjacency = (indptr, indices, arrays.weight[edge], arrays.people.tolist())
    seeds = default_seeds(arrays.n_edges) if seeds is None else seeds
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="graph-groups") as pool:
        groups = pool.submit(group_tables, arrays, adjacency=adjacency, seeds=seeds)
        adults = adults_of_concern(arrays, min_children=min_children, alpha=alpha)
        at_risk = at_risk_children(arrays, csr=(indptr, indices, edge))
        central = centrality(arrays, exact_max_nodes=exact_max_nodes, adjacency=adjacency)
        members, group_rows = groups.result()
    return dict(zip(GRAPH_MARTS, (adults, members, group_rows, central, at_risk), strict=True))
