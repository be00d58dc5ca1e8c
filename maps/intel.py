"""The intelligence edition: a self-contained, OFFICIAL-SENSITIVE association-graph explorer (sigma.js, WebGL).

The page carries pseudonymous person IDs, the links between people and the evidence behind each link
(event IDs, dates, 3x5x2 grading). It is made for analysts and is never part of the steering edition
(``ctxrisk.maps.steering`` imports nothing from here). Everything is inlined: the vendored sigma.js, graphology and
Leaflet bundles (see ``maps/assets/README.md``), the graph as JSON with a layout computed in Python, and the
page's own vanilla JavaScript. A Content-Security-Policy forbids every network request (tile images from
the configured basemap host excepted).

Scale: above :data:`FOCUS_THRESHOLD` people the WebGL graph holds only a focused view (the top adults of
concern and the brokers with their strongest links, at most :data:`FOCUS_BUDGET` people), widened by a
group, a search, a click or the ego view; the whole graph stays in the page's data, and filters hide people
through sigma's reducers. ``benchmarks/bench_intel.py`` measures it at 50,000 people.

Peer-mapping practice: the page states that a link is not proof of gang membership or of involvement in
offending, shows each link's source and grading, and uses no victim-blaming term
(:func:`ctxrisk.maps.language.assert_appropriate` is run on its text).
"""

from __future__ import annotations

import base64
import datetime as dt
import html as html_lib
import json
import logging
import math
import random
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import networkx as nx
import numpy as np
import pandas as pd

from ctxrisk.maps.language import assert_appropriate
from ctxrisk.maps.selfcontained import ASSETS_DIR, external_references
from ctxrisk.pipelines.errors import ValidationError

__all__ = [
    "AGE_BAND_COLOURS",
    "BANNER",
    "FOCUS_BUDGET",
    "FOCUS_THRESHOLD",
    "INTEL_MARKER",
    "LINK_NOTICE",
    "build_intel_page",
    "layout_by_group",
]

logger = logging.getLogger(__name__)

#: Protective marking shown on every intel page.
BANNER = "OFFICIAL-SENSITIVE"

#: Attribute on the ``<html>`` element of every intel page; the steering edition must never contain it.
INTEL_MARKER = 'data-edition="intel"'

#: The peer-mapping statement shown at the top of the page and above every evidence list.
LINK_NOTICE = (
    "A link is not proof of gang membership or of involvement in offending. It means two people were "
    "recorded together: in one incident, intelligence item or missing episode, or as a recorded association. "
    "Each link shows its source, date and grading. Children shown here are at risk of, or are being, exploited."
)

#: Above this many people the page opens on a focused view (see :func:`build_intel_page`), not the whole graph.
FOCUS_THRESHOLD = 5_000

#: At most this many people in the focused first view of a large graph.
FOCUS_BUDGET = 2_000

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

#: Where each relation's evidence comes from, shown as the link's source.
_SOURCES = {
    "co_involvement": "incident record",
    "intelligence_co_subject": "intelligence item",
    "found_with": "missing episode (found with)",
}

_PERSON_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_ANY_URL = re.compile(r"https?://[^\s\"'<>`)\\]+", re.IGNORECASE)
_SOURCE_MAP = re.compile(r"^\s*//# sourceMappingURL=.*$", re.MULTILINE)
_CSS_URL = re.compile(r"url\(\s*[\"']?([^\"')]+?)[\"']?\s*\)", re.IGNORECASE)
_LEAFLET_IMAGES = {
    "images/layers.png": "leaflet-layers.png",
    "images/layers-2x.png": "leaflet-layers-2x.png",
    "images/marker-icon.png": "leaflet-marker-icon.png",
}
_VENDORED_JS = (
    ("graphology.umd.min.js", "graphology", "0.26.0", "MIT"),
    ("sigma.min.js", "sigma", "3.0.2", "MIT"),
    ("leaflet.js", "leaflet", "1.9.3", "BSD-2-Clause"),
)


# ------------------------------------------------------------------------------------------------ layout


def _unit_layout(h: Any, seed: int) -> np.ndarray:
    """Fruchterman-Reingold layout of one connected piece, centred and scaled into the unit disc."""
    n = h.vcount()
    if n == 1:
        return np.zeros((1, 2))
    if n == 2:
        return np.array([[-0.5, 0.0], [0.5, 0.0]])
    random.seed(seed)
    niter = 500 if n <= 200 else (200 if n <= 2000 else 100)
    xy = np.asarray(h.layout_fruchterman_reingold(niter=niter, grid="auto").coords, dtype=float)
    xy -= xy.mean(axis=0)
    radius = float(np.sqrt((xy**2).sum(axis=1)).max())
    return xy / radius if radius > 0 else xy


def layout_by_group(g: nx.Graph, membership: Mapping[Any, Any], *, seed: int = 0) -> dict[Any, tuple[float, float]]:
    """Lay out a graph group by group: each group force-directed on its own, groups packed in shelves.

    Each group's induced subgraph is laid out with igraph's Fruchterman-Reingold (grid variant above
    1,000 people) into a disc of radius ``sqrt(size)``; discs are packed row by row, largest first, in a
    square-ish area. People in no group form groups of one. Cost is about linear in the number of people,
    so 50,000 people lay out in seconds, and each group stays visibly together.

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
        sub = g.subgraph(people)
        h = ig.Graph(n=len(people), edges=[(index[a], index[b]) for a, b in sub.edges], directed=False)
        xy = _unit_layout(h, seed + i)
        r = math.sqrt(len(people))
        if x + 2 * r > width and x > 0:
            x, y, row_height = 0.0, y + row_height + 1.0, 0.0
        cx, cy = x + r, y + r
        for p, (px, py) in zip(people, xy, strict=True):
            pos[p] = (cx + px * r, cy + py * r)
        x += 2 * r + 1.0
        row_height = max(row_height, 2 * r)
    if singles:
        y += row_height + 2.0
        per_row = max(1, int(width // 1.5))
        for k, p in enumerate(sorted(singles, key=str)):
            pos[p] = ((k % per_row) * 1.5, y + (k // per_row) * 1.5)
    return pos


# ------------------------------------------------------------------------------------------------ data


def _frame(obj: pd.DataFrame | None, name: str, needed: tuple[str, ...]) -> pd.DataFrame:
    if obj is None:
        return pd.DataFrame(columns=list(needed))
    if not isinstance(obj, pd.DataFrame):
        msg = f"{name} must be a pandas DataFrame, not {type(obj).__name__}"
        raise ValidationError(msg)
    missing = [c for c in needed if c not in obj.columns]
    if missing:
        msg = f"{name} lacks column(s) {missing}; it has {list(obj.columns)}"
        raise ValidationError(msg)
    return obj


def _day(iso: str | None) -> int | None:
    if not iso:
        return None
    return (dt.date.fromisoformat(iso[:10]) - dt.date(1970, 1, 1)).days


def _h3_boundary(cell: str) -> list[list[float]] | None:
    import h3

    if not h3.is_valid_cell(cell):
        return None
    return [[round(lat, 5), round(lon, 5)] for lat, lon in h3.cell_to_boundary(cell)]


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
        label = info.get("label")
        ids.append(loc)
        labels.append(None if label is None or (isinstance(label, float) and np.isnan(label)) else str(label))
        polys.append(poly)
        points.append(point)
    if skipped:
        logger.info(
            "%s linked location(s) have neither an H3 cell nor coordinates: left off the side map", f"{skipped:,}"
        )
    return ids, {"id": ids, "label": labels, "poly": polys, "point": points}


def _graph_payload(
    g: nx.Graph,
    *,
    communities: pd.DataFrame,
    centrality: pd.DataFrame,
    adults: pd.DataFrame,
    brokers: pd.DataFrame,
    places: pd.DataFrame | None,
    top_brokers: int,
    top_adults: int,
    seed: int,
) -> dict[str, Any]:
    nodes = list(g.nodes)
    bad = [n for n in nodes if not isinstance(n, str) or not _PERSON_ID.match(n)]
    if bad:
        msg = (
            f"{len(bad):,} node ID(s) are not pseudonymous IDs (1-64 letters, digits, _ - . :), first {bad[0]!r}; "
            "the intel page carries pseudonymous IDs only"
        )
        raise ValidationError(msg)
    index = {n: i for i, n in enumerate(nodes)}
    group_of = {
        p: int(gid) for p, gid in zip(communities["person_id"], communities["group_id"], strict=True) if p in index
    }
    pos = layout_by_group(g, group_of, seed=seed)

    cent = centrality.set_index("person_id") if len(centrality) else pd.DataFrame(columns=["betweenness", "degree"])
    betw = np.array([float(cent["betweenness"].get(n, 0.0)) if n in cent.index else 0.0 for n in nodes])
    degree = np.array([g.degree(n) for n in nodes], dtype=float)
    basis = betw if betw.max(initial=0.0) > 0 else degree
    top = basis.max(initial=0.0)
    sizes = 2.0 + 10.0 * np.sqrt(basis / top) if top > 0 else np.full(len(nodes), 2.0)

    adult_ids = set(adults["person_id"])
    top_adult_ids = set(adults["person_id"].head(int(top_adults)))
    ranked = brokers.loc[(brokers["betweenness"] > 0) & (brokers["groups_linked"] >= 1)]
    broker_ids = set(ranked["person_id"].head(int(top_brokers)))
    bands = list(AGE_BAND_COLOURS)
    risks = sorted({str(d["risk_level"]) for _, d in g.nodes(data=True) if d.get("risk_level")})
    flags = []
    for n in nodes:
        d = g.nodes[n]
        f = 0
        f |= 1 if n in adult_ids else 0
        f |= 2 if n in broker_ids else 0
        f |= 4 if d.get("looked_after") else 0
        f |= 8 if d.get("is_suspect") else 0
        f |= 16 if n in top_adult_ids else 0
        flags.append(f)

    place_ids, place_data = _places_table(g, places)
    place_index = {p: i for i, p in enumerate(place_ids)}
    group_places: dict[int, dict[int, int]] = {}
    for n in nodes:
        gid = group_of.get(n, 0)
        for loc in g.nodes[n].get("locations") or []:
            k = place_index.get(loc)
            if k is not None:
                counts = group_places.setdefault(gid, {})
                counts[k] = counts.get(k, 0) + 1
    gids = sorted(set(group_of.values()))
    size_of: dict[int, int] = {}
    kids_of: dict[int, int] = {}
    for n in nodes:
        gid = group_of.get(n, 0)
        size_of[gid] = size_of.get(gid, 0) + 1
        kids_of[gid] = kids_of.get(gid, 0) + (g.nodes[n].get("age_band") == "child")

    relations = sorted({r for _, _, d in g.edges(data=True) for r in d.get("relations") or []})
    rel_index = {r: i for i, r in enumerate(relations)}
    grades = [""]
    grade_index = {"": 0}
    src, dst, weight, starts = [], [], [], [0]
    ev_rel, ev_id, ev_day, ev_grade, ev_cond = [], [], [], [], []
    for a, b, d in g.edges(data=True):
        src.append(index[a])
        dst.append(index[b])
        weight.append(round(float(d.get("weight", 0.0)), 4))
        for e in d.get("evidence") or []:
            ev_rel.append(rel_index[e["relation"]])
            ev_id.append(e.get("event_id"))
            ev_day.append(_day(e.get("date")))
            code = e.get("grading") or ""
            if code not in grade_index:
                grade_index[code] = len(grades)
                grades.append(code)
            ev_grade.append(grade_index[code])
            ev_cond.append(1 if e.get("handling") == "C" else 0)
        starts.append(len(ev_rel))
    days = [v for v in ev_day if v is not None]
    return {
        "bands": bands,
        "bandLabels": [_BAND_LABELS[b] for b in bands],
        "colours": [AGE_BAND_COLOURS[b] for b in bands],
        "relations": relations,
        "sources": [_SOURCES.get(r, "recorded association") for r in relations],
        "grades": grades,
        "risks": risks,
        "nodes": {
            "id": nodes,
            "x": [round(pos[n][0], 3) for n in nodes],
            "y": [round(pos[n][1], 3) for n in nodes],
            "band": [
                bands.index(g.nodes[n].get("age_band", "unknown")) if g.nodes[n].get("age_band") in bands else 3
                for n in nodes
            ],
            "group": [group_of.get(n, 0) for n in nodes],
            "size": [round(float(s), 2) for s in sizes],
            "betweenness": [float(f"{v:.4g}") for v in betw],
            "flags": flags,
            "risk": [risks.index(str(g.nodes[n]["risk_level"])) if g.nodes[n].get("risk_level") else -1 for n in nodes],
            "events": [int(g.nodes[n].get("n_events", 0)) for n in nodes],
        },
        "edges": {"s": src, "t": dst, "w": weight, "ev": starts},
        "evidence": {"rel": ev_rel, "id": ev_id, "day": ev_day, "grade": ev_grade, "cond": ev_cond},
        "dayRange": [min(days), max(days)] if days else None,
        "groups": {
            "id": gids,
            "size": [size_of.get(k, 0) for k in gids],
            "children": [kids_of.get(k, 0) for k in gids],
            "places": [sorted(group_places.get(k, {}).items(), key=lambda kv: (-kv[1], kv[0])) for k in gids],
        },
        "places": place_data,
        "counts": {
            "people": len(nodes),
            "links": g.number_of_edges(),
            "children": sum(1 for n in nodes if g.nodes[n].get("age_band") == "child"),
            "adultsOfConcern": len(adult_ids & set(index)),
            "brokers": len(broker_ids & set(index)),
            "evidence": len(ev_rel),
        },
    }


# ------------------------------------------------------------------------------------------------ page


def _asset(filename: str) -> str:
    return _SOURCE_MAP.sub("", (ASSETS_DIR / filename).read_text(encoding="utf-8"))


def _script_safe(text: str) -> str:
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE).replace("<!--", "<\\!--")


def _leaflet_css() -> str:
    def _replace(match: re.Match[str]) -> str:
        target = match.group(1)
        if target in _LEAFLET_IMAGES:
            data = (ASSETS_DIR / _LEAFLET_IMAGES[target]).read_bytes()
            return f'url("data:image/png;base64,{base64.b64encode(data).decode("ascii")}")'
        return match.group(0)

    return _CSS_URL.sub(_replace, _asset("leaflet.css"))


def _made_at_text(made_at: Any) -> str:
    if isinstance(made_at, str):
        return made_at
    if isinstance(made_at, pd.Timestamp):
        made_at = made_at.to_pydatetime()
    if isinstance(made_at, dt.datetime):
        if made_at.tzinfo is not None:
            made_at = made_at.astimezone(dt.UTC)
            return made_at.strftime("%Y-%m-%d %H:%M UTC")
        return made_at.strftime("%Y-%m-%d %H:%M")
    msg = f"made_at must be a datetime or a string, not {type(made_at).__name__}"
    raise ValidationError(msg)


def _csp(basemap_url: str | None) -> str:
    img = "data: blob:"
    if basemap_url is not None:
        parts = urlsplit(basemap_url.replace("{s}", "a"))
        host = parts.netloc.replace("a.", "*.", 1) if "{s}" in basemap_url else parts.netloc
        img += f" {parts.scheme}://{host}"
    return f"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src {img}; connect-src 'none'; font-src 'none'"


def build_intel_page(
    g: nx.Graph,
    *,
    communities: pd.DataFrame,
    centrality: pd.DataFrame,
    adults: pd.DataFrame,
    brokers: pd.DataFrame,
    period: str,
    made_at: dt.datetime | str,
    places: pd.DataFrame | None = None,
    top_brokers: int = 20,
    top_adults: int = 50,
    basemap_url: str | None = None,
    basemap_attribution: str | None = None,
    focus_threshold: int = FOCUS_THRESHOLD,
    focus_budget: int = FOCUS_BUDGET,
    seed: int = 0,
) -> str:
    """Build the self-contained intelligence explorer page.

    Parameters
    ----------
    g : networkx.Graph
        Association graph from ``ctxrisk.analytics.graph.build_graph`` (node IDs must be pseudonymous IDs).
    communities : DataFrame
        ``person_id``, ``group_id`` (``ctxrisk.analytics.graph.groups``): the group filter, the layout and the side map.
    centrality : DataFrame
        ``person_id``, ``betweenness`` (``ctxrisk.analytics.graph.centrality``): node size grows with the square root
        of betweenness (with degree when every betweenness is 0).
    adults : DataFrame
        ``person_id`` (``ctxrisk.analytics.graph.adults_of_concern``): highlighted and listed.
    brokers : DataFrame
        ``person_id``, ``betweenness``, ``groups_linked`` (``ctxrisk.analytics.graph.brokers``): the first
        ``top_brokers`` rows with betweenness > 0 and a link into another group are highlighted.
    period : str
        The evidence window shown in the banner (e.g. ``"2024-10-01 to 2026-09-30"``).
    made_at : datetime or str
        When the page was made (an aware datetime is shown in UTC).
    places : DataFrame, optional
        ``location_id`` with optional ``label`` (e.g. a location of concern's name) and ``latitude``,
        ``longitude`` for locations that are not ``h3:<cell>`` IDs. Locations come from the nodes'
        ``locations`` attribute; H3 cells are drawn as hexagons.
    top_brokers : int
        How many brokers to highlight (``>= 0``).
    top_adults : int
        How many adults of concern (the first rows of ``adults``) always show their label (``>= 0``); every
        one of them is flagged, listed and shown in the panel, but thousands of forced labels would make a
        large graph slow to draw.
    basemap_url, basemap_attribution : str, optional
        Tile URL template of the configured basemap; ``None`` (the default) draws no tiles and the page
        makes no request at all.
    focus_threshold : int
        Above this many people (``>= 0``; default :data:`FOCUS_THRESHOLD`) the page opens on a focused view:
        the WebGL graph holds only the flagged adults of concern (the first ``top_adults``) and the
        highlighted brokers with their strongest links, at most ``focus_budget`` people (the largest groups
        when nobody is flagged). Choosing a group shows that group; finding or clicking a person adds them
        and their links; the ego view adds the people within its hops; "Show everyone" draws the whole
        graph. The whole graph and its evidence are always in the page: search, the lists, the counts and
        the evidence panel cover everyone. Filters hide people through sigma's reducers, never by
        rebuilding the graph.
    focus_budget : int
        Most people in the focused first view (``>= 1``; default :data:`FOCUS_BUDGET`).
    seed : int
        Seed of the layout.

    Returns
    -------
    str
        The complete HTML page (``<html data-edition="intel">``), banner ``OFFICIAL-SENSITIVE``.

    Raises
    ------
    ValidationError
        On a non-pseudonymous node ID, a malformed input frame, a bad basemap URL, or a page that would
        reference an external URL.
    """
    if not isinstance(g, nx.Graph) or g.is_directed() or g.is_multigraph():
        msg = f"g must be an undirected networkx.Graph from build_graph, not {type(g).__name__}"
        raise ValidationError(msg)
    if int(top_brokers) < 0 or int(top_adults) < 0:
        msg = f"top_brokers and top_adults must be >= 0, got {top_brokers!r} and {top_adults!r}"
        raise ValidationError(msg)
    if int(focus_threshold) < 0 or int(focus_budget) < 1:
        msg = f"focus_threshold must be >= 0 and focus_budget >= 1, got {focus_threshold!r} and {focus_budget!r}"
        raise ValidationError(msg)
    if basemap_url is not None and not (
        re.match(r"^https://[^\s\"'<>]+$", basemap_url) and all(k in basemap_url for k in ("{z}", "{x}", "{y}"))
    ):
        msg = f"basemap_url {basemap_url!r} is not a tile URL template: it must start with https:// and contain {{z}}, {{x}} and {{y}}"
        raise ValidationError(msg)
    communities = _frame(communities, "communities", ("person_id", "group_id"))
    centrality = _frame(centrality, "centrality", ("person_id", "betweenness"))
    adults = _frame(adults, "adults", ("person_id",))
    brokers = _frame(brokers, "brokers", ("person_id", "betweenness", "groups_linked"))
    if places is not None:
        places = _frame(places, "places", ("location_id",))
    made = _made_at_text(made_at)
    payload = _graph_payload(
        g,
        communities=communities,
        centrality=centrality,
        adults=adults,
        brokers=brokers,
        places=places,
        top_brokers=int(top_brokers),
        top_adults=int(top_adults),
        seed=int(seed),
    )
    payload["meta"] = {
        "period": str(period),
        "madeAt": made,
        "notice": LINK_NOTICE,
        "basemap": basemap_url,
        "attribution": basemap_attribution or "",
    }
    payload["view"] = {"threshold": int(focus_threshold), "budget": int(focus_budget)}
    data = _script_safe(json.dumps(payload, separators=(",", ":"), allow_nan=False))
    own = _TEMPLATE
    assert_appropriate(own + LINK_NOTICE + json.dumps(payload["meta"]), where="intel page text")
    for match in _ANY_URL.finditer(own + json.dumps(payload["meta"])):
        if basemap_url is None or not match.group(0).startswith(basemap_url.split("{")[0]):
            msg = f"intel page would make an external request: it contains the URL {match.group(0)}"
            raise ValidationError(msg)
    scripts = "\n".join(
        f"<script>/* {name}: npm {pkg}@{ver}, {lic} */\n{_script_safe(_asset(name))}</script>"
        for name, pkg, ver, lic in _VENDORED_JS
    )
    counts = payload["counts"]
    page = (
        own.replace("%%CSP%%", html_lib.escape(_csp(basemap_url), quote=False))
        .replace("%%BANNER%%", BANNER)
        .replace("%%PERIOD%%", html_lib.escape(str(period)))
        .replace("%%MADE%%", html_lib.escape(made))
        .replace("%%NOTICE%%", html_lib.escape(LINK_NOTICE))
        .replace("%%LEAFLET_CSS%%", f"/* leaflet.css: npm leaflet@1.9.3, BSD-2-Clause */\n{_leaflet_css()}")
        .replace("%%VENDORED%%", scripts)
        .replace("%%DATA%%", data)
    )
    refs = external_references(page)
    if refs:
        msg = f"intel page references the external URL {refs[0]}"
        raise ValidationError(msg)
    logger.info(
        "built intel page: %s people, %s links, %s evidence items, %s adults of concern, %s brokers highlighted; %s bytes",
        f"{counts['people']:,}",
        f"{counts['links']:,}",
        f"{counts['evidence']:,}",
        f"{counts['adultsOfConcern']:,}",
        f"{counts['brokers']:,}",
        f"{len(page.encode('utf-8')):,}",
    )
    return page


_TEMPLATE = r"""<!DOCTYPE html>
<html lang="en" data-edition="intel">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="%%CSP%%">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>%%BANNER%% - association graph explorer</title>
<style>%%LEAFLET_CSS%%</style>
<style>
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; font: 13px/1.35 system-ui, "Segoe UI", Arial, sans-serif; color: #1b1b1b; }
body { display: flex; flex-direction: column; }
.banner { background: #b00020; color: #fff; text-align: center; font-weight: 700; letter-spacing: .08em; padding: 3px; }
header { display: flex; flex-wrap: wrap; gap: 4px 18px; align-items: baseline; padding: 4px 10px; border-bottom: 1px solid #ccc; background: #fafafa; }
header h1 { font-size: 15px; margin: 0; }
.notice { padding: 4px 10px; background: #fff8e1; border-bottom: 1px solid #e0c97f; font-size: 12px; }
main { flex: 1; display: flex; min-height: 0; }
#controls { width: 230px; overflow-y: auto; padding: 8px; border-right: 1px solid #ccc; }
#controls fieldset { border: 1px solid #ddd; margin: 0 0 8px; padding: 4px 6px; }
#controls legend { font-weight: 600; }
#controls label { display: block; }
#graph { flex: 1; position: relative; min-width: 200px; background: #fff; }
#viewnote { position: absolute; left: 8px; bottom: 6px; right: 8px; z-index: 2; background: rgba(255,248,225,.92); padding: 2px 6px; border-radius: 3px; font-size: 12px; }
#count { position: absolute; left: 8px; top: 6px; z-index: 2; background: rgba(255,255,255,.85); padding: 2px 6px; border-radius: 3px; }
#side { width: 380px; display: flex; flex-direction: column; border-left: 1px solid #ccc; min-height: 0; }
#panel { flex: 1; overflow-y: auto; padding: 8px; }
#map { height: 230px; border-top: 1px solid #ccc; background: #eef2f5; }
#mapcaption { font-size: 12px; padding: 2px 8px; background: #f5f5f5; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; vertical-align: middle; }
.link { border-top: 1px solid #eee; padding: 4px 0; }
.link table { border-collapse: collapse; width: 100%; font-size: 12px; }
.link td, .link th { text-align: left; padding: 1px 4px 1px 0; vertical-align: top; }
.link tr.out { color: #aaa; }
button.person { background: none; border: 0; padding: 0; color: #0b57d0; text-decoration: underline; cursor: pointer; font: inherit; }
#matches button { display: block; }
.tag { display: inline-block; padding: 0 4px; margin-right: 3px; border-radius: 3px; background: #eee; font-size: 11px; }
.tag.concern { background: #fde0dc; }
.tag.broker { background: #e3dcfd; }
</style>
</head>
<body>
<div class="banner" id="banner">%%BANNER%%</div>
<header>
  <h1>Association graph explorer - intelligence edition</h1>
  <span>Period: <b id="period">%%PERIOD%%</b></span>
  <span>Made: <b id="made">%%MADE%%</b></span>
  <span id="summary"></span>
</header>
<div class="notice" id="notice">%%NOTICE%% People are shown by pseudonymous ID only. Handle under the partnership's
information sharing agreement; do not copy into the steering group's papers.</div>
<main>
  <div id="controls">
    <fieldset><legend>Find a person</legend>
      <input id="search" type="search" placeholder="pseudonymous ID" autocomplete="off" style="width:100%">
      <div id="matches"></div>
    </fieldset>
    <fieldset id="bandset"><legend>Age band</legend></fieldset>
    <fieldset id="relset"><legend>Relation</legend></fieldset>
    <fieldset><legend>Time window</legend>
      <label>From <input id="from" type="date"></label>
      <label>To <input id="to" type="date"></label>
      <small>Undated recorded associations are kept in every window.</small>
    </fieldset>
    <fieldset><legend>Group</legend>
      <select id="group" style="width:100%"><option value="">all groups</option></select>
    </fieldset>
    <fieldset><legend>Ego view</legend>
      <select id="hops"><option value="0">off</option><option value="1">1 link</option><option value="2">2 links</option><option value="3">3 links</option></select>
      <small>around the selected person</small>
    </fieldset>
    <fieldset><legend>Highlight</legend>
      <label><input type="checkbox" id="hl-concern" checked> adults linked to several children</label>
      <label><input type="checkbox" id="hl-broker" checked> brokers between groups</label>
      <label><input type="checkbox" id="dim"> dim everyone else</label>
    </fieldset>
    <button id="reset" type="button">Reset filters and view</button>
    <fieldset style="margin-top:8px"><legend>Lists</legend><div id="lists"></div></fieldset>
  </div>
  <div id="graph"><div id="count" data-visible-nodes="0" data-visible-edges="0"></div>
    <div id="viewnote" hidden><span id="viewtext"></span> <button id="show-all" type="button">Show everyone (slow)</button></div></div>
  <div id="side">
    <div id="panel"><p>Click a person, or find one by ID, to see their links and the evidence behind each.</p></div>
    <div id="mapcaption">Places linked to the selected group</div>
    <div id="map"></div>
  </div>
</main>
%%VENDORED%%
<script type="application/json" id="intel-data">%%DATA%%</script>
<script>
"use strict";
(function () {
  const t0 = performance.now();
  const D = JSON.parse(document.getElementById("intel-data").textContent);
  const tParsed = performance.now();
  const N = D.nodes.id.length, E = D.edges.s.length;
  const FLAG_CONCERN = 1, FLAG_BROKER = 2, FLAG_LOOKED_AFTER = 4, FLAG_SUSPECT = 8, FLAG_TOP_CONCERN = 16;
  const BIG = E > 20000;
  const fmt = (v) => v.toLocaleString("en-GB");
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const dayText = (d) => d === null ? "undated" : new Date(d * 86400000).toISOString().slice(0, 10);
  const dayOf = (text) => text ? Math.floor(Date.parse(text + "T00:00:00Z") / 86400000) : null;

  // adjacency (CSR) for the panel and the ego view
  const deg = new Int32Array(N + 1);
  for (let j = 0; j < E; j++) { deg[D.edges.s[j] + 1]++; deg[D.edges.t[j] + 1]++; }
  for (let i = 0; i < N; i++) deg[i + 1] += deg[i];
  const adj = new Int32Array(2 * E), fill = deg.slice(0, N);
  for (let j = 0; j < E; j++) { adj[fill[D.edges.s[j]]++] = j; adj[fill[D.edges.t[j]]++] = j; }
  const other = (j, i) => D.edges.s[j] === i ? D.edges.t[j] : D.edges.s[j];
  const idIndex = new Map(D.nodes.id.map((id, i) => [id, i]));
  const groupIndex = new Map(D.groups.id.map((g, k) => [g, k]));

  // view: above D.view.threshold people the sigma graph holds only a focused view (the top adults of concern and
  // the brokers with their strongest links, or the largest groups); a group, a search, a click or the ego view widen
  // it. The full graph stays in D and in the CSR arrays; filters hide nodes through sigma's reducers.
  const FOCUSED = N > D.view.threshold;
  const inView = new Uint8Array(N), want = new Uint8Array(N), base = new Uint8Array(N), edgeIn = new Uint8Array(E);
  const memberStart = new Int32Array(D.groups.id.length + 1), members = new Int32Array(N);
  {
    for (let i = 0; i < N; i++) { const k = groupIndex.get(D.nodes.group[i]); if (k !== undefined) memberStart[k + 1]++; }
    for (let k = 0; k < D.groups.id.length; k++) memberStart[k + 1] += memberStart[k];
    const at = memberStart.slice(0, D.groups.id.length);
    for (let i = 0; i < N; i++) { const k = groupIndex.get(D.nodes.group[i]); if (k !== undefined) members[at[k]++] = i; }
  }
  function neighboursByWeight(i) {
    const links = [];
    for (let p = deg[i]; p < deg[i + 1]; p++) links.push(adj[p]);
    links.sort((a, b) => D.edges.w[b] - D.edges.w[a]);
    return links.map((j) => other(j, i));
  }
  let baseSize = 0, baseKind = "everyone";
  if (FOCUSED) {
    const budget = D.view.budget;
    const add = (i) => { if (!base[i] && baseSize < budget) { base[i] = 1; baseSize++; } };
    const seeds = [];
    for (let i = 0; i < N; i++) if (D.nodes.flags[i] & (FLAG_TOP_CONCERN | FLAG_BROKER)) seeds.push(i);
    seeds.forEach(add);
    for (const s of seeds) { if (baseSize >= budget) break; for (const o of neighboursByWeight(s)) add(o); }
    baseKind = "adults of concern and brokers with their strongest links";
    if (!seeds.length) {
      const order = D.groups.id.map((_, k) => k).sort((a, b) => D.groups.size[b] - D.groups.size[a]);
      for (const k of order) {
        const size = memberStart[k + 1] - memberStart[k];
        if (baseSize && baseSize + size > budget) continue;
        for (let p = memberStart[k]; p < memberStart[k + 1]; p++) { base[members[p]] = 1; baseSize++; }
      }
      baseKind = "the largest groups";
    }
  }

  // graph (only the view's people and the links between them)
  const graph = new graphology.Graph({type: "undirected", multi: false, allowSelfLoops: false});
  let maxW = 1e-9;
  for (let j = 0; j < E; j++) if (D.edges.w[j] > maxW) maxW = D.edges.w[j];
  // sigma runs a full re-index on every dropped node or edge: detach the graph while it changes, re-attach once
  const detached = new graphology.Graph({type: "undirected"});
  function syncGraph() {
    let changed = false;
    for (let i = 0; i < N; i++) if (inView[i] !== want[i]) { changed = true; break; }
    if (!changed) return false;
    if (renderer) renderer.setGraph(detached);
    for (let i = 0; i < N; i++) {
      if (inView[i] && !want[i]) {
        for (let p = deg[i]; p < deg[i + 1]; p++) edgeIn[adj[p]] = 0;
        graph.dropNode(String(i));
        inView[i] = 0;
      }
    }
    const added = [];
    for (let i = 0; i < N; i++) {
      if (want[i] && !inView[i]) {
        graph.addNode(String(i), {x: D.nodes.x[i], y: -D.nodes.y[i], size: D.nodes.size[i], label: D.nodes.id[i], color: D.colours[D.nodes.band[i]]});
        inView[i] = 1;
        added.push(i);
      }
    }
    for (const i of added) {
      for (let p = deg[i]; p < deg[i + 1]; p++) {
        const j = adj[p];
        if (edgeIn[j] || !inView[other(j, i)]) continue;
        graph.addEdgeWithKey(String(j), String(D.edges.s[j]), String(D.edges.t[j]), {size: 0.5 + 2.5 * Math.sqrt(D.edges.w[j] / maxW), color: "#c8c8c8"});
        edgeIn[j] = 1;
      }
    }
    if (renderer) renderer.setGraph(graph);  // one full refresh and render
    return true;
  }

  // state
  const state = {bands: new Set(D.bands.map((_, k) => k)), relations: new Set(D.relations.map((_, k) => k)),
                 from: null, to: null, group: null, hops: 0, selected: null,
                 hlConcern: true, hlBroker: true, dim: false, all: !FOCUSED, extra: new Set()};
  const nodeVis = new Uint8Array(N), edgeVis = new Uint8Array(E), evPass = new Uint8Array(D.evidence.rel.length), focus = new Uint8Array(N);
  const nodePass = new Uint8Array(N), vdeg = new Int32Array(N), dist = new Int32Array(N);
  let visibleNodes = 0, visibleEdges = 0, evKey = "";
  let renderer = null;

  function edgeFilterActive() {
    return state.relations.size < D.relations.length || state.from !== null || state.to !== null;
  }
  function evidenceOk(k) {
    if (!state.relations.has(D.evidence.rel[k])) return false;
    const d = D.evidence.day[k];
    if (d === null) return true;
    return (state.from === null || d >= state.from) && (state.to === null || d <= state.to);
  }
  function applyFilters() {
    for (let i = 0; i < N; i++) {
      nodePass[i] = state.bands.has(D.nodes.band[i]) && (state.group === null || D.nodes.group[i] === state.group) ? 1 : 0;
    }
    const key = [...state.relations].join(",") + "|" + state.from + "|" + state.to;
    if (key !== evKey) { for (let k = 0; k < evPass.length; k++) evPass[k] = evidenceOk(k) ? 1 : 0; evKey = key; }
    vdeg.fill(0);
    for (let j = 0; j < E; j++) {
      let ok = 0;
      for (let k = D.edges.ev[j]; k < D.edges.ev[j + 1]; k++) if (evPass[k]) { ok = 1; break; }
      ok = ok && nodePass[D.edges.s[j]] && nodePass[D.edges.t[j]] ? 1 : 0;
      edgeVis[j] = ok;
      if (ok) { vdeg[D.edges.s[j]]++; vdeg[D.edges.t[j]]++; }
    }
    const active = edgeFilterActive();
    for (let i = 0; i < N; i++) nodeVis[i] = nodePass[i] && (vdeg[i] > 0 || !active) ? 1 : 0;
    // the view: everyone, or the focused view / the chosen group, widened around each person looked at
    if (state.all) want.fill(1);
    else {
      want.fill(0);
      if (state.group !== null && groupIndex.has(state.group)) {
        const k = groupIndex.get(state.group);
        for (let p = memberStart[k]; p < memberStart[k + 1]; p++) want[members[p]] = 1;
      } else want.set(base);
      for (const i of state.extra) { want[i] = 1; for (let p = deg[i]; p < deg[i + 1]; p++) want[other(adj[p], i)] = 1; }
    }
    if (state.hops > 0 && state.selected !== null) {
      dist.fill(-1);
      const queue = [state.selected];
      dist[state.selected] = 0;
      for (let q = 0; q < queue.length; q++) {
        const u = queue[q];
        if (dist[u] >= state.hops) continue;
        for (let p = deg[u]; p < deg[u + 1]; p++) {
          const j = adj[p];
          if (!edgeVis[j]) continue;
          const v = other(j, u);
          if (dist[v] < 0) { dist[v] = dist[u] + 1; queue.push(v); }
        }
      }
      for (let i = 0; i < N; i++) { nodeVis[i] = dist[i] >= 0 ? 1 : 0; if (nodeVis[i]) want[i] = 1; }
      nodeVis[state.selected] = 1;
    }
    if (state.selected !== null) want[state.selected] = 1;
    visibleNodes = 0; visibleEdges = 0;
    for (let i = 0; i < N; i++) { if (!want[i]) nodeVis[i] = 0; visibleNodes += nodeVis[i]; }
    for (let j = 0; j < E; j++) {
      if (edgeVis[j] && !(nodeVis[D.edges.s[j]] && nodeVis[D.edges.t[j]])) edgeVis[j] = 0;
      visibleEdges += edgeVis[j];
    }
    focus.fill(0);
    if (state.selected !== null) {
      focus[state.selected] = 1;
      for (let p = deg[state.selected]; p < deg[state.selected + 1]; p++) if (edgeVis[adj[p]]) focus[other(adj[p], state.selected)] = 1;
    }
    const synced = syncGraph();
    const count = document.getElementById("count");
    const focusedNow = !state.all;
    count.dataset.visibleNodes = visibleNodes;
    count.dataset.visibleEdges = visibleEdges;
    count.dataset.view = focusedNow ? "focused" : "all";
    count.dataset.inGraph = graph.order;
    count.textContent = "Showing " + fmt(visibleNodes) + " of " + fmt(N) + " people and " + fmt(visibleEdges) + " of " + fmt(E) + " links";
    const note = document.getElementById("viewnote");
    if (focusedNow) {
      note.hidden = false;
      document.getElementById("viewtext").textContent = "Focused view of a large graph (over " + fmt(D.view.threshold) + " people): " +
        (state.group !== null ? "group " + state.group : baseKind) +
        (state.extra.size ? ", widened around " + fmt(state.extra.size) + (state.extra.size === 1 ? " person" : " people") + " looked at" : "") +
        ". Choose a group, find a person, click one or use the ego view to widen it.";
    } else note.hidden = !FOCUSED;
    if (!focusedNow && FOCUSED) document.getElementById("viewtext").textContent = "Showing everyone: drawing the whole graph is slow.";
    document.getElementById("show-all").hidden = !focusedNow;
    if (renderer && !synced) renderer.refresh();
    if (state.selected !== null) showPerson(state.selected);
    drawPlaces();
  }

  // side map
  const map = L.map("map", {preferCanvas: true, attributionControl: !!D.meta.basemap, zoomControl: true}).setView([54.0, -2.5], 5);
  if (D.meta.basemap) L.tileLayer(D.meta.basemap, {attribution: D.meta.attribution, maxZoom: 18}).addTo(map);
  const placeLayer = L.layerGroup().addTo(map);

  const tPrepared = performance.now();
  applyFilters();
  const tView = performance.now();
  renderer = new Sigma(graph, document.getElementById("graph"), {
    hideEdgesOnMove: E > 20000,
    // thin one-pixel lines for big graphs: a quarter of the vertices of sigma's default rectangles
    ...(E > 10000 && Sigma.rendering && Sigma.rendering.EdgeLineProgram
      ? {defaultEdgeType: "line", edgeProgramClasses: {line: Sigma.rendering.EdgeLineProgram}} : {}),
    // on large graphs only forced labels are drawn: the top adults of concern, the brokers, the selected person and their links
    labelRenderedSizeThreshold: FOCUSED ? 1e9 : 7,
    labelDensity: 0.5,
    zIndex: true,
    nodeReducer: (key, data) => {
      const i = +key;
      if (!nodeVis[i]) return {...data, hidden: true};
      const res = {...data};
      const f = D.nodes.flags[i];
      const marked = (state.hlConcern && (f & FLAG_CONCERN)) || (state.hlBroker && (f & FLAG_BROKER));
      if (marked && (f & (FLAG_TOP_CONCERN | FLAG_BROKER))) res.forceLabel = true;
      if (marked) { res.zIndex = 1; res.size = data.size + 2; res.label = D.nodes.id[i] + ((f & FLAG_CONCERN) ? " (adult of concern)" : " (broker)"); }
      if (state.selected !== null) {
        if (i === state.selected) { res.highlighted = true; res.forceLabel = true; res.zIndex = 2; }
        else if (focus[i]) { res.forceLabel = true; res.zIndex = 1; }
      }
      const dimmed = state.dim && !marked && !focus[i];
      if (dimmed) { res.color = "#e4e4e4"; res.label = ""; res.zIndex = 0; }
      return res;
    },
    edgeReducer: (key, data) => {
      const j = +key;
      if (!edgeVis[j]) return {...data, hidden: true};
      if (state.selected !== null && (D.edges.s[j] === state.selected || D.edges.t[j] === state.selected)) return {...data, color: "#555", zIndex: 1};
      return data;
    },
  });
  renderer.on("clickNode", ({node}) => select(+node, false));
  function currentGroup() {
    if (state.group !== null) return state.group;
    if (state.selected !== null) return D.nodes.group[state.selected];
    return null;
  }
  function drawPlaces() {
    placeLayer.clearLayers();
    const gid = currentGroup();
    const cap = document.getElementById("mapcaption");
    if (gid === null || !groupIndex.has(gid)) { cap.textContent = "Places linked to the selected group: choose a group or a person"; return; }
    const linked = D.groups.places[groupIndex.get(gid)];
    const bounds = [];
    for (const [k, members] of linked) {
      const label = (D.places.label[k] ? D.places.label[k] + " - " : "") + D.places.id[k] + ": " + members + (members === 1 ? " member" : " members") + " linked";
      const style = {color: "#7a1fa2", weight: 1, fillColor: "#7a1fa2", fillOpacity: Math.min(0.85, 0.25 + 0.1 * members)};
      const shape = D.places.poly[k] ? L.polygon(D.places.poly[k], style) : L.circleMarker(D.places.point[k], {...style, radius: 6});
      shape.bindTooltip(label).addTo(placeLayer);
      if (D.places.poly[k]) bounds.push(...D.places.poly[k]); else bounds.push(D.places.point[k]);
    }
    cap.textContent = "Group " + gid + ": linked to " + fmt(linked.length) + (linked.length === 1 ? " place" : " places") + " (H3 cells; darker = more members)";
    if (bounds.length) map.fitBounds(bounds, {padding: [10, 10], maxZoom: 15});
  }

  // evidence panel
  function showPerson(i) {
    const f = D.nodes.flags[i];
    const tags = [];
    if (f & FLAG_CONCERN) tags.push('<span class="tag concern">adult linked to several children</span>');
    if (f & FLAG_BROKER) tags.push('<span class="tag broker">broker between groups</span>');
    if (f & FLAG_LOOKED_AFTER) tags.push('<span class="tag">looked after</span>');
    if (f & FLAG_SUSPECT) tags.push('<span class="tag">recorded as a suspect in the period</span>');
    const links = [];
    for (let p = deg[i]; p < deg[i + 1]; p++) links.push(adj[p]);
    links.sort((a, b) => D.edges.w[b] - D.edges.w[a]);
    const shown = links.filter((j) => edgeVis[j]);
    let html = '<h2 style="font-size:15px;margin:0 0 4px" id="person-id">' + esc(D.nodes.id[i]) + "</h2>" +
      '<div><span class="swatch" style="background:' + D.colours[D.nodes.band[i]] + '"></span>' + esc(D.bandLabels[D.nodes.band[i]]) +
      " - group " + D.nodes.group[i] + " - " + D.nodes.events[i] + " events - betweenness " + D.nodes.betweenness[i] +
      (D.nodes.risk[i] >= 0 ? " - latest screening: " + esc(D.risks[D.nodes.risk[i]]) : "") + "</div><div>" + tags.join(" ") + "</div>" +
      '<p class="notice" style="margin:6px 0">' + esc(D.meta.notice) + "</p>" +
      "<div><b>" + fmt(shown.length) + "</b> of " + fmt(links.length) + " links shown under the current filters" +
      (shown.length > 100 ? " (strongest 100 listed)" : "") + '</div><div id="links">';
    for (const j of shown.slice(0, 100)) {
      const o = other(j, i);
      html += '<div class="link" data-edge="' + j + '"><button class="person" data-node="' + o + '">' + esc(D.nodes.id[o]) + "</button> " +
        '<span class="swatch" style="background:' + D.colours[D.nodes.band[o]] + '"></span>' + esc(D.bandLabels[D.nodes.band[o]]) +
        " - link weight " + D.edges.w[j] + "<table><tr><th>source</th><th>relation</th><th>event</th><th>date</th><th>grading</th></tr>";
      for (let k = D.edges.ev[j]; k < D.edges.ev[j + 1]; k++) {
        const r = D.evidence.rel[k];
        html += '<tr class="evidence' + (evPass[k] ? "" : " out") + '"><td>' + esc(D.sources[r]) + "</td><td>" + esc(D.relations[r].replace(/_/g, " ")) +
          "</td><td>" + esc(D.evidence.id[k] === null ? "-" : D.evidence.id[k]) + "</td><td>" + dayText(D.evidence.day[k]) +
          "</td><td>" + (D.grades[D.evidence.grade[k]] || "not graded") + (D.evidence.cond[k] ? " (handling: conditions apply)" : "") + "</td></tr>";
      }
      html += "</table></div>";
    }
    html += "</div>";
    document.getElementById("panel").innerHTML = html;
  }
  document.getElementById("panel").addEventListener("click", (ev) => {
    const b = ev.target.closest("button.person");
    if (b) select(+b.dataset.node, true);
  });

  function select(i, move) {
    state.selected = i;
    if (!state.all) state.extra.add(i);
    applyFilters();
    if (move && nodeVis[i]) {
      const d = renderer.getNodeDisplayData(String(i));
      if (d && BIG) renderer.getCamera().setState({x: d.x, y: d.y, ratio: 0.15});  // one frame, not an animation
      else if (d) renderer.getCamera().animate({x: d.x, y: d.y, ratio: 0.15}, {duration: 300});
    }
  }

  // controls
  const search = document.getElementById("search"), matches = document.getElementById("matches");
  let lowIds = null, lineStart = null;
  function lineOf(at) {  // the person whose line of lowIds holds character ``at`` (binary search over line starts)
    if (lineStart === null) {
      lineStart = new Int32Array(N);
      let pos = 1;
      for (let i = 0; i < N; i++) { lineStart[i] = pos; pos += D.nodes.id[i].length + 1; }
    }
    let lo = 0, hi = N - 1;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (lineStart[mid] <= at) lo = mid; else hi = mid - 1; }
    return lo;
  }
  function runSearch() {
    const q = search.value.trim();
    matches.innerHTML = "";
    if (!q) return;
    if (idIndex.has(q)) { select(idIndex.get(q), true); matches.textContent = "found " + q; return; }
    const found = [];
    const low = q.toLowerCase();
    if (lowIds === null) lowIds = "\n" + D.nodes.id.join("\n").toLowerCase() + "\n";  // one string: indexOf, not 50k calls
    for (let at = lowIds.indexOf(low); at >= 0 && found.length < 20; at = lowIds.indexOf(low, at + 1)) {
      const i = lineOf(at);
      if (!found.length || found[found.length - 1] !== i) found.push(i);
    }
    if (!found.length) { matches.textContent = "no person with that ID"; return; }
    matches.innerHTML = found.map((i) => '<button class="person" data-node="' + i + '">' + esc(D.nodes.id[i]) + "</button>").join("");
  }
  search.addEventListener("keydown", (ev) => { if (ev.key === "Enter") runSearch(); });
  search.addEventListener("change", runSearch);
  matches.addEventListener("click", (ev) => { const b = ev.target.closest("button.person"); if (b) select(+b.dataset.node, true); });

  const bandset = document.getElementById("bandset");
  D.bands.forEach((b, k) => {
    bandset.insertAdjacentHTML("beforeend", '<label><input type="checkbox" data-band="' + k + '" checked> <span class="swatch" style="background:' +
      D.colours[k] + '"></span>' + esc(D.bandLabels[k]) + "</label>");
  });
  bandset.addEventListener("change", (ev) => {
    const k = +ev.target.dataset.band;
    if (ev.target.checked) state.bands.add(k); else state.bands.delete(k);
    applyFilters();
  });
  const relset = document.getElementById("relset");
  D.relations.forEach((r, k) => {
    relset.insertAdjacentHTML("beforeend", '<label><input type="checkbox" data-relation="' + k + '" checked> ' + esc(r.replace(/_/g, " ")) +
      ' <small>(' + esc(D.sources[k]) + ")</small></label>");
  });
  relset.addEventListener("change", (ev) => {
    const k = +ev.target.dataset.relation;
    if (ev.target.checked) state.relations.add(k); else state.relations.delete(k);
    applyFilters();
  });
  const from = document.getElementById("from"), to = document.getElementById("to");
  if (D.dayRange) { from.min = to.min = dayText(D.dayRange[0]); from.max = to.max = dayText(D.dayRange[1]); }
  from.addEventListener("change", () => { state.from = dayOf(from.value); applyFilters(); });
  to.addEventListener("change", () => { state.to = dayOf(to.value); applyFilters(); });
  const groupSel = document.getElementById("group");
  D.groups.id.map((g, k) => k).sort((a, b) => D.groups.size[b] - D.groups.size[a] || D.groups.id[a] - D.groups.id[b]).forEach((k) => {  // largest first
    const g = D.groups.id[k];
    if (D.groups.size[k] < 2) return;
    groupSel.insertAdjacentHTML("beforeend", '<option value="' + g + '">group ' + g + " (" + D.groups.size[k] + " people, " + D.groups.children[k] + " children)</option>");
  });
  groupSel.addEventListener("change", () => { state.group = groupSel.value === "" ? null : +groupSel.value; applyFilters(); });
  document.getElementById("hops").addEventListener("change", (ev) => { state.hops = +ev.target.value; applyFilters(); });
  document.getElementById("hl-concern").addEventListener("change", (ev) => { state.hlConcern = ev.target.checked; renderer.refresh(); });
  document.getElementById("hl-broker").addEventListener("change", (ev) => { state.hlBroker = ev.target.checked; renderer.refresh(); });
  document.getElementById("dim").addEventListener("change", (ev) => { state.dim = ev.target.checked; renderer.refresh(); });
  document.getElementById("show-all").addEventListener("click", () => { state.all = true; applyFilters(); });
  document.getElementById("reset").addEventListener("click", () => {
    state.bands = new Set(D.bands.map((_, k) => k)); state.relations = new Set(D.relations.map((_, k) => k));
    state.from = state.to = state.group = null; state.hops = 0; state.all = !FOCUSED; state.extra.clear();
    document.querySelectorAll("#bandset input, #relset input").forEach((c) => { c.checked = true; });
    from.value = to.value = ""; groupSel.value = ""; document.getElementById("hops").value = "0";
    applyFilters();
  });

  const listed = (flag, title) => {
    const ids = [];
    for (let i = 0; i < N; i++) if (D.nodes.flags[i] & flag) ids.push(i);
    return "<div><b>" + title + " (" + ids.length + ")</b><br>" + ids.slice(0, 50).map((i) => '<button class="person" data-node="' + i + '">' + esc(D.nodes.id[i]) + "</button>").join(" ") + "</div>";
  };
  const lists = document.getElementById("lists");
  lists.innerHTML = listed(FLAG_CONCERN, "Adults linked to several children") + listed(FLAG_BROKER, "Brokers between groups");
  lists.addEventListener("click", (ev) => { const b = ev.target.closest("button.person"); if (b) select(+b.dataset.node, true); });
  document.getElementById("summary").textContent = fmt(D.counts.people) + " people (" + fmt(D.counts.children) + " children), " +
    fmt(D.counts.links) + " links, " + fmt(D.counts.evidence) + " evidence items";

  window.intel = {
    select: (id) => { if (idIndex.has(id)) select(idIndex.get(id), true); },
    visibleNodes: () => visibleNodes,
    visibleEdges: () => visibleEdges,
    applyFilters: applyFilters,
    graphOrder: () => graph.order,
    id: (i) => D.nodes.id[i],
    focused: FOCUSED,
    renderer: renderer,
    state: state,
    ready: true,
  };
  const tDone = performance.now();
  window.intel.timings = {parseMs: tParsed - t0, prepareMs: tPrepared - tParsed, viewMs: tView - tPrepared, drawAndControlsMs: tDone - tView,
                          scriptMs: tDone - t0, pageMs: tDone};
  requestAnimationFrame(() => requestAnimationFrame(() => { window.intel.timings.firstFramesMs = performance.now(); }));
  document.body.dataset.ready = "true";
})();
</script>
</body>
</html>
"""
