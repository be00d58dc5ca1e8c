"""Ego networks, paths between two people (plain or time-ordered) and connecting networks."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import networkx as nx
import pandas as pd

from ctxrisk.analytics.graph.build import validate_relations
from ctxrisk.pipelines.errors import ValidationError

log = logging.getLogger(__name__)

PATH_COLUMNS = ("path_id", "hops", "persons", "links", "start_date", "end_date", "min_weight")
LINK_COLUMNS = ("person_a", "person_b", "relations", "weight", "first_seen", "last_seen")


def _need(g: nx.Graph, person: Any) -> None:
    if person not in g:
        msg = f"person {person!r} is not in the graph (check the ID and the --since/--until window)"
        raise ValidationError(msg)


def _filtered(g: nx.Graph, relations: frozenset[str] | None) -> nx.Graph:
    if relations is None:
        return g
    return nx.subgraph_view(
        g, filter_edge=lambda u, v: bool(relations.intersection(g.edges[u, v].get("relations") or ()))
    )


def ego_graph(g: nx.Graph, person: Any, *, hops: int = 2) -> nx.Graph:
    """The subgraph of everyone within ``hops`` links of ``person`` (a copy, for export)."""
    _need(g, person)
    if int(hops) < 1:
        msg = f"hops must be at least 1, got {hops!r}"
        raise ValidationError(msg)
    return nx.ego_graph(g, person, radius=int(hops)).copy()


def ego(g: nx.Graph, person: Any, *, hops: int = 2) -> pd.DataFrame:
    """Everyone within ``hops`` links of ``person``.

    Returns
    -------
    DataFrame
        Ranked by ``hops`` then ``weight`` (the person themself first). Columns ``person_id``,
        ``hops`` (0 for the person), ``age_band``, ``is_suspect``, ``looked_after``, ``risk_level``,
        ``via`` (their direct contact on a shortest path, empty for direct contacts),
        ``relations`` and ``weight`` of the direct link (empty/NaN beyond one hop).
    """
    sub = ego_graph(g, person, hops=hops)
    paths = nx.single_source_shortest_path(sub, person, cutoff=int(hops))
    rows = []
    for m, path in paths.items():
        d = g.nodes[m]
        direct = g.edges[person, m] if g.has_edge(person, m) else None
        rows.append(
            {
                "person_id": m,
                "hops": len(path) - 1,
                "age_band": d.get("age_band", "unknown"),
                "is_suspect": bool(d.get("is_suspect")),
                "looked_after": d.get("looked_after"),
                "risk_level": d.get("risk_level"),
                "via": path[1] if len(path) > 2 else "",
                "relations": ";".join(direct.get("relations") or []) if direct else "",
                "weight": float(direct["weight"]) if direct else float("nan"),
            }
        )
    frame = pd.DataFrame(rows)
    frame["_w"] = frame["weight"].fillna(-1.0)
    frame = frame.sort_values(["hops", "_w", "person_id"], ascending=[True, False, True], kind="stable").drop(
        columns="_w"
    )
    log.info("ego network of %s: %s people within %d links", person, f"{len(frame) - 1:,}", int(hops))
    return frame.reset_index(drop=True)


def _dates(g: nx.Graph, u: Any, v: Any, relations: frozenset[str] | None) -> list[str]:
    return sorted(
        e["date"]
        for e in g.edges[u, v].get("evidence") or []
        if e.get("date") and (relations is None or e["relation"] in relations)
    )


def _first_on_or_after(dates: list[str], t: str) -> str | None:
    for d in dates:
        if d >= t:
            return d
    return None


def _time_ordered(
    h: nx.Graph, a: Any, b: Any, max_hops: int, relations, max_paths: int
) -> list[tuple[list, list[str]]]:
    dist = nx.single_source_shortest_path_length(h, b, cutoff=max_hops)
    if a not in dist:
        return []
    cache: dict[tuple, list[str]] = {}

    def dates(u, v):
        key = (u, v) if str(u) <= str(v) else (v, u)
        if key not in cache:
            cache[key] = _dates(h, u, v, relations)
        return cache[key]

    results: list[tuple[list, list[str]]] = []

    def dfs(path: list, used: list[str], t: str, limit: int) -> None:
        if len(results) >= max_paths:
            return
        u = path[-1]
        if u == b:
            results.append((list(path), list(used)))
            return
        for v in sorted(h.neighbors(u), key=str):
            if v in path or len(path) + dist.get(v, max_hops + 1) > limit:
                continue
            d = _first_on_or_after(dates(u, v), t)
            if d is None:
                continue
            path.append(v)
            used.append(d)
            dfs(path, used, d, limit)
            path.pop()
            used.pop()

    for limit in range(max(1, dist[a]), max_hops + 1):
        dfs([a], [], "", limit)
        if results:
            break
    return results


def _shortest(h: nx.Graph, a: Any, b: Any, *, max_hops: int, max_paths: int) -> list[tuple[list, list[str | None]]]:
    """Up to ``max_paths`` shortest paths of at most ``max_hops`` links, each with its links' ``last_seen``."""
    try:
        length = nx.shortest_path_length(h, a, b)
    except nx.NetworkXNoPath:
        return []
    found: list[tuple[list, list[str | None]]] = []
    if length <= max_hops:
        for p in nx.all_shortest_paths(h, a, b):
            found.append((p, [h.edges[u, v].get("last_seen") for u, v in zip(p, p[1:], strict=False)]))
            if len(found) >= max_paths:
                break
    return found


def _path_row(
    g: nx.Graph, p: list, dates: list[str | None], *, rels: frozenset[str] | None, time_ordered: bool
) -> dict[str, Any]:
    """One row of :func:`paths` for the path ``p`` whose links are dated ``dates`` (plus ``_first``, its first
    known date, for sorting)."""
    steps = list(zip(p, p[1:], strict=False))
    parts = [str(p[0])]
    for (u, v), d in zip(steps, dates, strict=True):
        edge_rels = [r for r in g.edges[u, v].get("relations") or [] if rels is None or r in rels]
        if time_ordered:
            used = sorted(
                {e["relation"] for e in g.edges[u, v]["evidence"] if e.get("date") == d and e["relation"] in edge_rels}
            )
            edge_rels = used or edge_rels
        label = "/".join(edge_rels) + (f" {d[:10]}" if d else "")
        parts.append(f" -[{label}]- {v}")
    known = [d for d in dates if d]
    return {
        "hops": len(steps),
        "persons": " > ".join(map(str, p)),
        "links": "".join(parts),
        "start_date": (dates[0] or "")[:10] if dates else "",
        "end_date": (dates[-1] or "")[:10] if dates else "",
        "min_weight": min(float(g.edges[u, v]["weight"]) for u, v in steps),
        "_first": min(known) if known else "",
    }


def paths(
    g: nx.Graph,
    a: Any,
    b: Any,
    *,
    max_hops: int = 6,
    relations: Iterable[str] | str | None = None,
    time_ordered: bool = False,
    max_paths: int = 100,
) -> pd.DataFrame:
    """All shortest paths between two people, with the type and date of each link.

    Parameters
    ----------
    g : networkx.Graph
        Association graph.
    a, b : str
        Person IDs (start and end).
    max_hops : int
        Longest path considered (default 6); no rows when the people are further apart.
    relations : iterable of str, comma-separated str, or None
        Follow only links holding one of these relations.
    time_ordered : bool
        Like i2 Find Path with time ordering: follow links in non-decreasing date order from ``a``
        to ``b``. Each link uses its earliest dated evidence on or after the previous link's date
        (undated evidence cannot be ordered and is not used). The result is the fewest-hop simple
        paths that can be walked in time order, which may be longer than the plain shortest path
        or differ from it, and depends on direction.
    max_paths : int
        Stop after this many paths.

    Returns
    -------
    DataFrame
        One row per path, fewest hops first, then strongest weakest link. Columns ``path_id``,
        ``hops``, ``persons`` (``"a > x > b"``), ``links`` (``"a -[relation date]- x ..."``),
        ``start_date`` and ``end_date`` (dates of the first and last link, ISO), ``min_weight``
        (weight of the weakest link).
    """
    _need(g, a)
    _need(g, b)
    if int(max_hops) < 1:
        msg = f"max_hops must be at least 1, got {max_hops!r}"
        raise ValidationError(msg)
    if a == b:
        msg = "a and b are the same person; give two different people"
        raise ValidationError(msg)
    rels = validate_relations(relations)
    h = _filtered(g, rels)
    if time_ordered:
        found = [(p, list(d)) for p, d in _time_ordered(h, a, b, int(max_hops), rels, int(max_paths))]
    else:
        found = _shortest(h, a, b, max_hops=int(max_hops), max_paths=int(max_paths))
    rows = [_path_row(g, p, dates, rels=rels, time_ordered=time_ordered) for p, dates in found]
    frame = pd.DataFrame(rows, columns=[c for c in PATH_COLUMNS if c != "path_id"] + ["_first"])
    frame = frame.sort_values(["hops", "min_weight", "persons"], ascending=[True, False, True], kind="stable").drop(
        columns="_first"
    )
    frame.insert(0, "path_id", range(1, len(frame) + 1))
    log.info("%s %spaths from %s to %s", f"{len(frame):,}", "time-ordered " if time_ordered else "shortest ", a, b)
    return frame.reset_index(drop=True)


def connecting_network(g: nx.Graph, people: Iterable[Any], *, by: str = "hops") -> nx.Graph:
    """The smallest network joining ``people`` (Steiner tree approximation, like i2 Find Connecting Network).

    Uses Mehlhorn's 2-approximation (``networkx.algorithms.approximation.steiner_tree``): the tree
    is at most twice the size of the smallest possible one.

    Parameters
    ----------
    people : iterable of str
        Two or more person IDs, all in one connected part of the graph.
    by : {"hops", "strength"}
        ``hops`` minimises the number of links; ``strength`` the sum of ``1/weight`` (prefers strong
        links).

    Returns
    -------
    networkx.Graph
        A subgraph of ``g`` (with its attributes) that is a tree containing every person given.
    """
    people = list(dict.fromkeys(people))
    if len(people) < 2:
        msg = f"give at least two people to connect, got {len(people)}"
        raise ValidationError(msg)
    for p in people:
        _need(g, p)
    if by not in ("hops", "strength"):
        msg = f"by must be 'hops' or 'strength', got {by!r}"
        raise ValidationError(msg)
    comp = nx.node_connected_component(g, people[0])
    apart = [p for p in people if p not in comp]
    if apart:
        msg = f"no chain of links joins {people[0]!r} to {apart}; they are in different parts of the network"
        raise ValidationError(msg)
    h = nx.Graph()
    for u, v, d in g.subgraph(comp).edges(data=True):
        w = float(d.get("weight", 0.0))
        h.add_edge(u, v, cost=1.0 if by == "hops" else (1.0 / w if w > 0 else 1e12))
    from networkx.algorithms.approximation import steiner_tree

    tree = steiner_tree(h, people, weight="cost", method="mehlhorn")
    out = g.edge_subgraph(tree.edges).copy() if tree.number_of_edges() else g.subgraph(people).copy()
    log.info(
        "connecting network for %d people: %d people, %d links",
        len(people),
        out.number_of_nodes(),
        out.number_of_edges(),
    )
    return out


def connect(g: nx.Graph, people: Iterable[Any], *, by: str = "hops") -> pd.DataFrame:
    """Links of the smallest network joining ``people`` (see :func:`connecting_network`).

    Returns
    -------
    DataFrame
        Columns ``person_a``, ``person_b``, ``relations`` (``;``-separated), ``weight``,
        ``first_seen``, ``last_seen``; strongest link first. ``attrs['connectors']`` lists the
        people added to join those given.
    """
    people = list(dict.fromkeys(people))
    tree = connecting_network(g, people, by=by)
    rows = [
        {
            "person_a": min(u, v, key=str),
            "person_b": max(u, v, key=str),
            "relations": ";".join(d.get("relations") or []),
            "weight": float(d.get("weight", 0.0)),
            "first_seen": d.get("first_seen"),
            "last_seen": d.get("last_seen"),
        }
        for u, v, d in tree.edges(data=True)
    ]
    frame = pd.DataFrame(rows, columns=list(LINK_COLUMNS))
    frame = frame.sort_values(
        ["weight", "person_a", "person_b"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)
    frame.attrs["connectors"] = sorted((n for n in tree.nodes if n not in set(people)), key=str)
    return frame
