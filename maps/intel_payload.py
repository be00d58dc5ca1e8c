"""The intel explorer's data: layout by group, people, links, evidence, groups and places as column arrays."""

from __future__ import annotations

import datetime as dt
import logging
import math
import random
import re
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from ctxrisk.pipelines.errors import ValidationError

__all__ = [
    "AGE_BAND_COLOURS",
    "FLAGS",
    "graph_payload",
    "layout_by_group",
]

logger = logging.getLogger(__name__)

#: Node colour of each age band (Okabe-Ito, colour-blind safe).
AGE_BAND_COLOURS: dict[str, str] = {
    "child": "#E69F00",
    "young_adult": "#56B4E9",
    "adult": "#0072B2",
    "unknown": "#999999",
}

_BAND_LABELS = {
    "child": "child (under 18)",
    "young_adult": "young adult (18-24)",
    "adult": "adult (25+)",
    "unknown": "age unknown",
}

#: Bits of ``nodes.flags`` in the page's data.
FLAGS = {
    "flagged_adult": 1,  # adult (25+) linked to more children than chance explains
    "broker": 2,
    "looked_after": 4,
    "suspect": 8,
    "young_adult_linked": 16,  # 18-24, linked to more children than chance: may be exploited themselves
    "child_at_risk": 32,  # child whose latest screening is in ``at_risk_levels`` (every child when none is)
}

#: Where each relation's evidence comes from, shown as the link's source.
_SOURCES = {
    "co_involvement": "incident record",
    "intelligence_co_subject": "intelligence item",
    "found_with": "missing episode (found with)",
}

_PERSON_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_EPOCH = dt.date(1970, 1, 1)


# ------------------------------------------------------------------------------------------------ layout


def _unit_layout(h: Any, seed: int) -> np.ndarray:
    """Force-directed layout of one group, centred and scaled into the unit disc."""
    n = h.vcount()
    if n == 1:
        return np.zeros((1, 2))
    if n == 2:
        return np.array([[-0.5, 0.0], [0.5, 0.0]])
    random.seed(seed)
    if n <= 200:
        xy = np.asarray(h.layout_fruchterman_reingold(niter=300, grid="nogrid").coords, dtype=float)
    else:
        niter = 120 if n <= 2000 else 80
        xy = np.asarray(h.layout_fruchterman_reingold(niter=niter, grid="grid").coords, dtype=float)
    xy -= xy.mean(axis=0)
    radius = float(np.sqrt((xy**2).sum(axis=1)).max())
    return xy / radius if radius > 0 else xy


def layout_by_group(g: nx.Graph, membership: Mapping[Any, Any], *, seed: int = 0) -> dict[Any, tuple[float, float]]:
    """Lay out a graph group by group: each group force-directed on its own, groups packed in shelves.

    Each group's induced subgraph is laid out with igraph's Fruchterman-Reingold (its grid variant above
    200 people) into a disc of radius ``sqrt(size)``; discs are packed row by row, largest first, with a gap
    between them. People in no group form groups of one, placed on a grid below.

    Parameters
    ----------
    g : networkx.Graph
        The association graph.
    membership : mapping
        Person -> group ID (e.g. from ``ctxrisk.analytics.graph.groups``).
    seed : int
        Seed of the force-directed layouts (the result is deterministic for a given seed).

    Returns
    -------
    dict
        Person -> ``(x, y)``.
    """
    import igraph as ig

    members: dict[Any, list] = {}
    for n in g.nodes:
        members.setdefault(membership.get(n, ("own", n)), []).append(n)
    key_of = {n: membership.get(n, ("own", n)) for n in g.nodes}
    inner: dict[Any, list] = {}
    for a, b in g.edges():
        if key_of[a] == key_of[b]:
            inner.setdefault(key_of[a], []).append((a, b))
    order = sorted(members.values(), key=lambda ps: (-len(ps), str(ps[0])))
    area = sum(4.0 * max(len(ps), 1) for ps in order)
    width = max(2.0, math.sqrt(area) * 1.1)
    pos: dict[Any, tuple[float, float]] = {}
    x = y = row_height = 0.0
    singles: list = []
    for i, people in enumerate(order):
        if len(people) == 1:
            singles.extend(people)
            continue
        index = {p: k for k, p in enumerate(people)}
        pairs = inner.get(key_of[people[0]], [])
        h = ig.Graph(n=len(people), edges=[(index[a], index[b]) for a, b in pairs], directed=False)
        xy = _unit_layout(h, seed + i)
        r = math.sqrt(len(people))
        gap = 1.0 + 0.15 * r
        if x + 2 * r > width and x > 0:
            x, y, row_height = 0.0, y + row_height + gap, 0.0
        cx, cy = x + r, y + r
        for p, (px, py) in zip(people, xy, strict=True):
            pos[p] = (cx + px * r, cy + py * r)
        x += 2 * r + gap
        row_height = max(row_height, 2 * r)
    if singles:
        y += row_height + 2.0
        per_row = max(1, int(width // 1.5))
        for k, p in enumerate(sorted(singles, key=str)):
            pos[p] = ((k % per_row) * 1.5, y + (k // per_row) * 1.5)
    return pos


# ------------------------------------------------------------------------------------------------ places


def _h3_boundary(cell: str) -> list[list[float]] | None:
    import h3

    if not h3.is_valid_cell(cell):
        return None
    return [[round(lat, 5), round(lon, 5)] for lat, lon in h3.cell_to_boundary(cell)]


def _text_or_none(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)


def _places_table(g: nx.Graph, places: pd.DataFrame | None) -> tuple[list[str], dict[str, Any]]:
    """Every location linked to someone, with a polygon (H3 ``h3:<cell>``) or a point, and an optional label."""
    used = sorted({loc for _, d in g.nodes(data=True) for loc in d.get("locations") or []})
    extra: dict[str, dict[str, Any]] = {}
    if places is not None:
        for row in places.to_dict("records"):
            extra[str(row["location_id"])] = row
    ids, labels, polys, points = [], [], [], []
    skipped = 0
    for loc in used:
        info = extra.get(loc, {})
        poly = _h3_boundary(loc[3:]) if loc.startswith("h3:") else None
        point = None
        if poly is None:
            lat, lon = info.get("latitude"), info.get("longitude")
            if lat is None or lon is None or pd.isna(lat) or pd.isna(lon):
                skipped += 1
                continue
            point = [round(float(lat), 5), round(float(lon), 5)]
        ids.append(loc)
        labels.append(_text_or_none(info.get("label")))
        polys.append(poly)
        points.append(point)
    if skipped:
        logger.info("%s linked location(s) have neither an H3 cell nor coordinates: left off the side map", skipped)
    return ids, {"id": ids, "label": labels, "poly": polys, "point": points}


# ------------------------------------------------------------------------------------------------ people


def _check_ids(nodes: list) -> None:
    bad = [n for n in nodes if not isinstance(n, str) or not _PERSON_ID.match(n)]
    if bad:
        msg = (
            f"{len(bad):,} node ID(s) are not pseudonymous IDs (1-64 letters, digits, _ - . :), first {bad[0]!r}; "
            "the intel page carries pseudonymous IDs only"
        )
        raise ValidationError(msg)


def _ranks(nodes: list, centrality: pd.DataFrame) -> np.ndarray:
    """Betweenness rank of each person (1 = highest; ties share the best rank; 0 = on no shortest path)."""
    betw = centrality.set_index("person_id")["betweenness"] if len(centrality) else pd.Series(dtype=float)
    values = pd.Series(nodes).map(betw).fillna(0.0).astype(float)
    ranks = values.rank(method="min", ascending=False).to_numpy()
    return np.where(values.to_numpy() > 0, ranks, 0).astype(int)


def _adult_flags(adults: pd.DataFrame) -> tuple[set, set, dict]:
    """Flagged adults (25+), young adults (18-24) linked to more children than chance, and their children.

    With ``flagged`` (``ctxrisk.analytics.graph.adults_of_concern``), an adult is marked when it is true
    and a young adult when its ``finding`` says "(more than chance)" (``flagged`` is never true for
    them); without it, every row is marked.
    """
    band = adults["age_band"] if "age_band" in adults.columns else pd.Series("adult", index=adults.index)
    if "flagged" in adults.columns:
        adult = adults["flagged"].fillna(False).astype(bool) & (band != "young_adult")
        finding = adults["finding"] if "finding" in adults.columns else pd.Series("", index=adults.index)
        young = (band == "young_adult") & finding.fillna("").astype(str).str.contains("(more than chance)", regex=False)
    else:
        adult, young = band != "young_adult", band == "young_adult"
    kids = adults["children_linked"] if "children_linked" in adults.columns else pd.Series(0, index=adults.index)
    marked = adult | young
    return (
        set(adults.loc[adult, "person_id"]),
        set(adults.loc[young, "person_id"]),
        dict(zip(adults.loc[marked, "person_id"], kids[marked].astype(int), strict=True)),
    )


def _node_columns(
    g: nx.Graph, nodes: list, adults: pd.DataFrame, brokers: pd.DataFrame, top_brokers: int, at_risk: set[str]
) -> dict[str, Any]:
    flagged, young, kids = _adult_flags(adults)
    ranked = brokers.loc[(brokers["betweenness"] > 0) & (brokers["groups_linked"] >= 1)]
    broker_ids = set(ranked["person_id"].head(int(top_brokers)))
    attrs = [g.nodes[n] for n in nodes]
    children = [d.get("age_band") == "child" for d in attrs]
    screened = [str(d["risk_level"]) in at_risk if d.get("risk_level") else False for d in attrs]
    any_screened_child = any(c and s for c, s in zip(children, screened, strict=True))
    flags = []
    for n, d, child, scr in zip(nodes, attrs, children, screened, strict=True):
        f = FLAGS["flagged_adult"] if n in flagged else 0
        f |= FLAGS["broker"] if n in broker_ids else 0
        f |= FLAGS["looked_after"] if d.get("looked_after") else 0
        f |= FLAGS["suspect"] if d.get("is_suspect") else 0
        f |= FLAGS["young_adult_linked"] if n in young else 0
        f |= FLAGS["child_at_risk"] if child and (scr or not any_screened_child) else 0
        flags.append(f)
    return {"flags": flags, "kids": [int(kids.get(n, 0)) for n in nodes], "brokers": broker_ids, "flagged": flagged}


# ------------------------------------------------------------------------------------------------ links


def _day(iso: str | None) -> int | None:
    if not iso:
        return None
    return (dt.date.fromisoformat(iso[:10]) - _EPOCH).days


class _Codes(list):
    """A list of distinct values with a dict from value to position."""

    def __init__(self, first: Iterable = ()) -> None:
        super().__init__()
        self.at: dict = {}
        for v in first:
            self.code(v)

    def code(self, value: Any) -> int:
        k = self.at.get(value)
        if k is None:
            k = self.at[value] = len(self)
            self.append(value)
        return k


def _edge_columns(g: nx.Graph, index: dict, themes: Mapping[str, str]) -> dict[str, Any]:
    rels, grades, theme_codes, day_codes = _Codes(), _Codes([""]), _Codes(), {}
    src, dst, weight, starts = [], [], [], [0]
    ev_rel, ev_id, ev_day, ev_grade, ev_cond, ev_theme = [], [], [], [], [], []
    rel_code, grade_code, theme_code = rels.code, grades.code, theme_codes.code
    for a, b, d in g.edges(data=True):
        src.append(index[a])
        dst.append(index[b])
        weight.append(d.get("weight", 0.0))
        for e in d.get("evidence") or ():
            event, date = e.get("event_id"), e.get("date")
            ev_rel.append(rel_code(e["relation"]))
            ev_id.append(event)
            day = day_codes.get(date, -1)
            if day == -1:
                day = day_codes[date] = _day(date)
            ev_day.append(day)
            ev_grade.append(grade_code(e.get("grading") or ""))
            ev_cond.append(1 if e.get("handling") == "C" else 0)
            theme = themes.get(event) if themes and event is not None else None
            ev_theme.append(-1 if theme is None else theme_code(str(theme)))
        starts.append(len(ev_rel))
    relations = sorted(rels)
    remap = np.array([relations.index(r) for r in rels], dtype=np.int64)
    days = [v for v in day_codes.values() if v is not None]
    return {
        "relations": relations,
        "sources": [_SOURCES.get(r, "recorded association") for r in relations],
        "grades": list(grades),
        "themes": list(theme_codes),
        "edges": {"s": src, "t": dst, "w": np.round(np.asarray(weight, dtype=float), 4).tolist(), "ev": starts},
        "evidence": {
            "rel": remap[np.asarray(ev_rel, dtype=np.int64)].tolist() if ev_rel else [],
            "id": ev_id,
            "day": ev_day,
            "grade": ev_grade,
            "cond": ev_cond,
            "theme": ev_theme,
        },
        "dayRange": [min(days), max(days)] if days else None,
    }


# ------------------------------------------------------------------------------------------------ groups


def _group_columns(g: nx.Graph, nodes: list, group_of: dict, place_index: dict) -> dict[str, Any]:
    group_places: dict[int, dict[int, int]] = {}
    size_of: dict[int, int] = {}
    kids_of: dict[int, int] = {}
    for n in nodes:
        gid = group_of.get(n, 0)
        d = g.nodes[n]
        size_of[gid] = size_of.get(gid, 0) + 1
        kids_of[gid] = kids_of.get(gid, 0) + (d.get("age_band") == "child")
        for loc in d.get("locations") or []:
            k = place_index.get(loc)
            if k is not None:
                counts = group_places.setdefault(gid, {})
                counts[k] = counts.get(k, 0) + 1
    gids = sorted(set(group_of.values()))
    return {
        "id": gids,
        "size": [size_of.get(k, 0) for k in gids],
        "children": [kids_of.get(k, 0) for k in gids],
        "places": [sorted(group_places.get(k, {}).items(), key=lambda kv: (-kv[1], kv[0])) for k in gids],
    }


def graph_payload(
    g: nx.Graph,
    *,
    communities: pd.DataFrame,
    centrality: pd.DataFrame,
    adults: pd.DataFrame,
    brokers: pd.DataFrame,
    places: pd.DataFrame | None,
    themes: Mapping[str, str],
    top_brokers: int,
    at_risk_levels: Iterable[str],
    seed: int,
) -> dict[str, Any]:
    """The page's data as column arrays (see :func:`ctxrisk.maps.intel.build_intel_page` for the inputs)."""
    nodes = list(g.nodes)
    _check_ids(nodes)
    index = {n: i for i, n in enumerate(nodes)}
    group_of = {
        p: int(gid) for p, gid in zip(communities["person_id"], communities["group_id"], strict=True) if p in index
    }
    pos = layout_by_group(g, group_of, seed=seed)
    ranks = _ranks(nodes, centrality)
    ranked = int((ranks > 0).sum())
    degree = np.array([g.degree(n) for n in nodes], dtype=float)
    if ranked:
        basis = np.where(ranks > 0, 1.0 - (ranks - 1) / max(ranked, 1), 0.0)
    else:
        top = degree.max(initial=0.0)
        basis = degree / top if top > 0 else np.zeros(len(nodes))
    sizes = 2.0 + 10.0 * basis**2
    cols = _node_columns(g, nodes, adults, brokers, top_brokers, set(at_risk_levels))
    bands = list(AGE_BAND_COLOURS)
    risks = sorted({str(d["risk_level"]) for _, d in g.nodes(data=True) if d.get("risk_level")})
    risk_index = {r: i for i, r in enumerate(risks)}
    place_ids, place_data = _places_table(g, places)
    links = _edge_columns(g, index, themes)
    attrs = [g.nodes[n] for n in nodes]
    return {
        "bands": bands,
        "bandLabels": [_BAND_LABELS[b] for b in bands],
        "colours": [AGE_BAND_COLOURS[b] for b in bands],
        "risks": risks,
        "nodes": {
            "id": nodes,
            "x": np.round([pos[n][0] for n in nodes], 3).tolist(),
            "y": np.round([pos[n][1] for n in nodes], 3).tolist(),
            "band": [bands.index(d.get("age_band")) if d.get("age_band") in bands else 3 for d in attrs],
            "group": [group_of.get(n, 0) for n in nodes],
            "size": np.round(sizes, 2).tolist(),
            "rank": ranks.tolist(),
            "flags": cols["flags"],
            "kids": cols["kids"],
            "risk": [risk_index[str(d["risk_level"])] if d.get("risk_level") else -1 for d in attrs],
            "events": [int(d.get("n_events", 0)) for d in attrs],
        },
        **links,
        "ranked": ranked,
        "groups": _group_columns(g, nodes, group_of, {p: i for i, p in enumerate(place_ids)}),
        "places": place_data,
        "counts": {
            "people": len(nodes),
            "links": g.number_of_edges(),
            "children": sum(1 for d in attrs if d.get("age_band") == "child"),
            "flaggedAdults": len(cols["flagged"] & set(index)),
            "brokers": len(cols["brokers"] & set(index)),
            "evidence": len(links["evidence"]["rel"]),
        },
    }
