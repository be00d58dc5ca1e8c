"""Safeguarding rankings: adults linked to several children, and children near several suspects."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import networkx as nx
import pandas as pd

from pipelines.errors import ValidationError

log = logging.getLogger(__name__)

ADULT_BANDS = ("young_adult", "adult")

ADULTS_OF_CONCERN_COLUMNS = (
    "person_id",
    "age_band",
    "children_linked",
    "score",
    "looked_after_children",
    "high_risk_children",
    "relations",
    "last_seen",
    "evidence_summary",
)

AT_RISK_CHILDREN_COLUMNS = (
    "person_id",
    "suspects_linked",
    "direct_suspects",
    "nearest_suspect_hops",
    "looked_after",
    "risk_level",
)


def adults_of_concern(
    g: nx.Graph,
    *,
    min_children: int = 2,
    high_risk_levels: Iterable[str] = ("high",),
) -> pd.DataFrame:
    """Adults (18+) linked directly to at least ``min_children`` distinct children.

    Parameters
    ----------
    g : networkx.Graph
        Association graph from :func:`analytics.graph.build.build_graph`.
    min_children : int
        Least number of distinct children an adult must be linked to (``>= 1``; default 2).
    high_risk_levels : iterable of str
        Screening risk levels counted in ``high_risk_children``.

    Returns
    -------
    DataFrame
        Ranked by ``score`` then ``children_linked`` (highest first): among adults linked to
        enough children, the strongest evidence comes first, so weak, old or low-graded links to
        many children (e.g. one large event each) do not outrank repeated, graded evidence.
        Columns ``person_id``;
        ``age_band`` (``young_adult`` or ``adult``); ``children_linked`` (distinct children with a
        direct link); ``score`` (sum of the link weights to those children: recency-decayed,
        grading-weighted evidence); ``looked_after_children``; ``high_risk_children``;
        ``relations`` (relation: number of evidence items, ``;``-separated); ``last_seen`` (latest
        dated evidence, ISO UTC); ``evidence_summary`` (one line for a panel paper).
    """
    if int(min_children) < 1:
        msg = f"min_children must be at least 1, got {min_children!r}"
        raise ValidationError(msg)
    high = set(high_risk_levels)
    rows = []
    for n, d in g.nodes(data=True):
        if d.get("age_band") not in ADULT_BANDS:
            continue
        kids = [m for m in g.neighbors(n) if g.nodes[m].get("age_band") == "child"]
        if len(kids) < int(min_children):
            continue
        rel_counts: dict[str, int] = {}
        dates = []
        score = 0.0
        for m in kids:
            edge = g.edges[n, m]
            score += float(edge.get("weight", 0.0))
            for e in edge.get("evidence") or []:
                rel_counts[e["relation"]] = rel_counts.get(e["relation"], 0) + 1
            if edge.get("last_seen"):
                dates.append(edge["last_seen"])
        looked_after = sum(bool(g.nodes[m].get("looked_after")) for m in kids)
        high_risk = sum(g.nodes[m].get("risk_level") in high for m in kids)
        rels = ";".join(f"{r}:{c}" for r, c in sorted(rel_counts.items(), key=lambda x: (-x[1], x[0])))
        last = max(dates) if dates else None
        summary = (
            f"linked to {len(kids)} children ({looked_after} looked after, {high_risk} screened high risk) "
            f"through {sum(rel_counts.values())} evidence items: {', '.join(f'{r} x{c}' for r, c in sorted(rel_counts.items(), key=lambda x: (-x[1], x[0])))}"
            f"; latest {last[:10] if last else 'undated'}"
        )
        rows.append(
            {
                "person_id": n,
                "age_band": d.get("age_band"),
                "children_linked": len(kids),
                "score": score,
                "looked_after_children": looked_after,
                "high_risk_children": high_risk,
                "relations": rels,
                "last_seen": last,
                "evidence_summary": summary,
            }
        )
    frame = pd.DataFrame(rows, columns=list(ADULTS_OF_CONCERN_COLUMNS))
    frame = frame.sort_values(["score", "children_linked", "person_id"], ascending=[False, False, True], kind="stable").reset_index(drop=True)
    log.info("%s adults linked to %d or more children", f"{len(frame):,}", int(min_children))
    return frame


def at_risk_children(g: nx.Graph, *, hops: int = 2, min_suspects: int = 1) -> pd.DataFrame:
    """Children ranked by how many distinct suspects are within ``hops`` links of them.

    Children recorded as suspects in the window are left out of this ranking: in criminal
    exploitation a child recorded as a suspect may themselves be exploited, so review them
    separately rather than by this measure.

    Parameters
    ----------
    g : networkx.Graph
        Association graph (node attributes ``age_band``, ``is_suspect``).
    hops : int
        Largest number of links between the child and a suspect (``>= 1``; default 2).
    min_suspects : int
        Leave out children with fewer suspects within reach (default 1; 0 lists every child).

    Returns
    -------
    DataFrame
        Ranked by ``suspects_linked``, then ``direct_suspects`` (highest first). Columns
        ``person_id``; ``suspects_linked`` (distinct people recorded as suspects within ``hops``);
        ``direct_suspects`` (suspects one link away); ``nearest_suspect_hops`` (NaN when none);
        ``looked_after``; ``risk_level`` (latest screening).
    """
    if int(hops) < 1:
        msg = f"hops must be at least 1, got {hops!r}"
        raise ValidationError(msg)
    rows = []
    for n, d in g.nodes(data=True):
        if d.get("age_band") != "child" or d.get("is_suspect"):
            continue
        reach = nx.single_source_shortest_path_length(g, n, cutoff=int(hops))
        near = {m: h for m, h in reach.items() if m != n and g.nodes[m].get("is_suspect")}
        if len(near) < int(min_suspects):
            continue
        rows.append(
            {
                "person_id": n,
                "suspects_linked": len(near),
                "direct_suspects": sum(h == 1 for h in near.values()),
                "nearest_suspect_hops": min(near.values()) if near else float("nan"),
                "looked_after": d.get("looked_after"),
                "risk_level": d.get("risk_level"),
            }
        )
    frame = pd.DataFrame(rows, columns=list(AT_RISK_CHILDREN_COLUMNS))
    frame = frame.sort_values(
        ["suspects_linked", "direct_suspects", "person_id"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)
    log.info("%s children with a suspect within %d links", f"{len(frame):,}", int(hops))
    return frame
