"""Compare the association graphs of two periods: new links, dropped links and growing groups."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import networkx as nx
import pandas as pd

from ctxrisk.analytics.graph.communities import groups

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodComparison:
    """Changes between two period graphs.

    Attributes
    ----------
    new_links : DataFrame
        Links in the later graph only: ``person_a``, ``person_b``, ``relations``, ``weight``,
        ``first_seen``, ``last_seen``, ``children`` (ends who are children), ``new_people`` (ends
        absent from the earlier graph); strongest first.
    dropped_links : DataFrame
        Links in the earlier graph only: ``person_a``, ``person_b``, ``relations``, ``weight``
        (in the earlier graph), ``last_seen``; strongest first.
    growing_groups : DataFrame
        Groups (two or more people) of the later graph larger than the earlier group most of
        their members were in (ties: the lower earlier group id):
        ``group_id`` (as in ``groups(g_after)``), ``size_after``, ``size_before`` (size of that
        earlier group, 0 if none), ``growth``, ``new_members`` (``;``-separated), ``new_children``;
        largest growth first.
    """

    new_links: pd.DataFrame
    dropped_links: pd.DataFrame
    growing_groups: pd.DataFrame


def _links(g: nx.Graph, pairs: set[frozenset], other: nx.Graph) -> pd.DataFrame:
    rows = []
    for pair in pairs:
        a, b = sorted(pair, key=str)
        d = g.edges[a, b]
        rows.append(
            {
                "person_a": a,
                "person_b": b,
                "relations": ";".join(d.get("relations") or []),
                "weight": float(d.get("weight", 0.0)),
                "first_seen": d.get("first_seen"),
                "last_seen": d.get("last_seen"),
                "children": sum(g.nodes[p].get("age_band") == "child" for p in (a, b)),
                "new_people": sum(p not in other for p in (a, b)),
            }
        )
    cols = ["person_a", "person_b", "relations", "weight", "first_seen", "last_seen", "children", "new_people"]
    frame = pd.DataFrame(rows, columns=cols)
    return frame.sort_values(
        ["weight", "person_a", "person_b"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)


def compare_periods(
    g_before: nx.Graph, g_after: nx.Graph, *, seed: int = 0, resolution: float = 1.0, min_growth: int = 1
) -> PeriodComparison:
    """Compare two period graphs (e.g. ``build_graph(..., until=X)`` and ``build_graph(..., since=X)``).

    Parameters
    ----------
    g_before, g_after : networkx.Graph
        Association graphs of the earlier and the later period.
    seed : int
        Seed of the Leiden runs used to find groups in each period.
    resolution : float
        Modularity resolution of those runs.
    min_growth : int
        Least growth (members) for a group to be listed (default 1).

    Returns
    -------
    PeriodComparison
    """
    before = {frozenset(e) for e in g_before.edges}
    after = {frozenset(e) for e in g_after.edges}
    new_links = _links(g_after, after - before, g_before)
    dropped = _links(g_before, before - after, g_after).drop(columns=["first_seen", "children", "new_people"])

    ga = groups(g_after, seeds=(seed,), resolution=resolution)
    gb = (
        groups(g_before, seeds=(seed,), resolution=resolution)
        if g_before.number_of_nodes()
        else pd.DataFrame(columns=["person_id", "group_id"])
    )
    before_group = dict(zip(gb["person_id"], gb["group_id"], strict=True))
    before_members = gb.groupby("group_id")["person_id"].agg(set).to_dict() if len(gb) else {}
    rows = []
    for gid, part in ga.groupby("group_id", sort=True):
        members = set(part["person_id"])
        if len(members) < 2:
            continue  # a person with no links is not a group
        counts: dict = {}
        for m in members:
            if m in before_group:
                counts[before_group[m]] = counts.get(before_group[m], 0) + 1
        if counts:
            match = min(counts, key=lambda k: (-counts[k], k))  # most shared members, then lowest id
            old = before_members[match]
        else:
            old = set()
        new = sorted(members - old, key=str)
        growth = len(members) - len(old)
        if growth < int(min_growth):
            continue
        rows.append(
            {
                "group_id": gid,
                "size_after": len(members),
                "size_before": len(old),
                "growth": growth,
                "new_members": ";".join(map(str, new)),
                "new_children": sum(g_after.nodes[m].get("age_band") == "child" for m in new),
            }
        )
    growing = pd.DataFrame(
        rows, columns=["group_id", "size_after", "size_before", "growth", "new_members", "new_children"]
    )
    growing = growing.sort_values(
        ["growth", "new_children", "group_id"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)
    log.info(
        "compared periods: %s new links, %s dropped links, %s growing groups",
        f"{len(new_links):,}",
        f"{len(dropped):,}",
        f"{len(growing):,}",
    )
    return PeriodComparison(new_links=new_links, dropped_links=dropped, growing_groups=growing)
