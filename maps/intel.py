"""The intelligence edition: a self-contained, OFFICIAL-SENSITIVE association-graph explorer (sigma.js, WebGL).

The page carries pseudonymous person IDs, the links between people and the evidence behind each link
(event IDs, dates, 3x5x2 grading). It is made for analysts and is never part of the steering edition
(``ctxrisk.maps.steering`` imports nothing from here). Everything is inlined: the vendored sigma.js,
graphology and Leaflet bundles (see ``maps/assets/README.md``), the graph as gzip-compressed JSON with a
layout computed in Python (:mod:`ctxrisk.maps.intel_payload`), and the page's own HTML, CSS and JavaScript
from ``maps/templates/``. A Content-Security-Policy forbids every network request (tile images from the
configured basemap host excepted) and every script but the page's own, by SHA-256 hash: no inline handler
or injected markup can run. Every data-derived string is put into the page as text, never as markup.

Above :data:`FOCUS_THRESHOLD` people the WebGL graph opens on flagged adults and children at risk and grows
on demand (as Neo4j Bloom does); the whole graph stays in the page's data for search, paths, the
connecting network, the timeline, filters and export. ``benchmarks/bench_intel.py`` measures it at 50,000
people.

Peer-mapping practice: the page states that a link is not proof of gang membership or of involvement in
offending, shows each link's source and grading with its 3x5x2 meaning, and uses no victim-blaming term
(:func:`ctxrisk.maps.language.assert_appropriate` is run on its text).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import html as html_lib
import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import networkx as nx
import pandas as pd

from ctxrisk.maps.intel_mace import mace_payload
from ctxrisk.maps.intel_map import local_authority_layer
from ctxrisk.maps.intel_payload import AGE_BAND_COLOURS, graph_payload, layout_by_group
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

#: Above this many people the page opens on the starting view (see :func:`build_intel_page`), not everyone.
FOCUS_THRESHOLD = 300

#: At most this many people in the starting view.
FOCUS_BUDGET = 2_000

#: Latest screening risk levels that make a child part of the starting view.
AT_RISK_LEVELS = ("high", "medium")

_ANY_URL = re.compile(r"https?://[^\s\"'<>`)\\]+", re.IGNORECASE)
_SOURCE_MAP = re.compile(r"^\s*//# sourceMappingURL=.*$", re.MULTILINE)
_CSS_URL = re.compile(r"url\(\s*[\"']?([^\"')]+?)[\"']?\s*\)", re.IGNORECASE)
_LEAFLET_IMAGES = {
    "images/layers.png": "leaflet-layers.png",
    "images/layers-2x.png": "leaflet-layers-2x.png",
    "images/marker-icon.png": "leaflet-marker-icon.png",
}
_SVG_NAMESPACE = "http://www.w3.org/2000/svg"
_TEMPLATES = Path(__file__).resolve().parent / "templates"
_VENDORED_JS = (
    ("graphology.umd.min.js", "graphology", "0.26.0", "MIT"),
    ("sigma.min.js", "sigma", "3.0.2", "MIT"),
    ("leaflet.js", "leaflet", "1.9.3", "BSD-2-Clause"),
)


# ------------------------------------------------------------------------------------------------ page


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


def _csp(basemap_url: str | None, script_hashes: Iterable[str]) -> str:
    img = "data: blob:"
    if basemap_url is not None:
        parts = urlsplit(basemap_url.replace("{s}", "a"))
        host = parts.netloc.replace("a.", "*.", 1) if "{s}" in basemap_url else parts.netloc
        img += f" {parts.scheme}://{host}"
    scripts = " ".join(f"'sha256-{h}'" for h in script_hashes)
    return (
        f"default-src 'none'; script-src {scripts}; style-src 'unsafe-inline'; img-src {img}; "
        "connect-src 'none'; font-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'"
    )


def _template(name: str) -> str:
    return (_TEMPLATES / name).read_text(encoding="utf-8")


def _scripts(own_js: list[str]) -> tuple[str, list[str]]:
    """Every executable script as one ``<script>`` element, and the SHA-256 (base64) of each for the CSP."""
    bodies = [
        f"/* {name}: npm {pkg}@{ver}, {lic} */\n{_script_safe(_asset(name))}" for name, pkg, ver, lic in _VENDORED_JS
    ]
    bodies.extend(_script_safe(js) for js in own_js)
    hashes = [base64.b64encode(hashlib.sha256(b.encode("utf-8")).digest()).decode("ascii") for b in bodies]
    return "\n".join(f"<script>{b}</script>" for b in bodies), hashes


def _packed(payload: dict[str, Any]) -> str:
    """The page's data as gzip-compressed JSON in base64 (decoded in the page with DecompressionStream)."""
    raw = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return base64.b64encode(gzip.compress(raw, compresslevel=5, mtime=0)).decode("ascii")


def _check_inputs(g: Any, top_brokers: int, focus_threshold: int, focus_budget: int, basemap_url: str | None) -> None:
    if not isinstance(g, nx.Graph) or g.is_directed() or g.is_multigraph():
        msg = f"g must be an undirected networkx.Graph from build_graph, not {type(g).__name__}"
        raise ValidationError(msg)
    if int(top_brokers) < 0:
        msg = f"top_brokers must be >= 0, got {top_brokers!r}"
        raise ValidationError(msg)
    if int(focus_threshold) < 0 or int(focus_budget) < 1:
        msg = f"focus_threshold must be >= 0 and focus_budget >= 1, got {focus_threshold!r} and {focus_budget!r}"
        raise ValidationError(msg)
    if basemap_url is not None and not (
        re.match(r"^https://[^\s\"'<>]+$", basemap_url) and all(k in basemap_url for k in ("{z}", "{x}", "{y}"))
    ):
        msg = (
            f"basemap_url {basemap_url!r} is not a tile URL template: it must start with https:// and contain "
            "{z}, {x} and {y}"
        )
        raise ValidationError(msg)


def _themes(themes: pd.DataFrame | None) -> dict[str, str]:
    if themes is None:
        return {}
    frame = _frame(themes, "themes", ("event_id", "theme")).dropna(subset=["event_id", "theme"])
    return dict(zip(frame["event_id"].astype(str), frame["theme"].astype(str), strict=True))


def _flag_note(period: str, alpha: float, min_children: int) -> str:
    return (
        "Flags are recalculated for the evidence shown (time window, relations, themes, grading): an adult "
        f"(25+) is flagged when linked to at least {min_children} children and to children more often than "
        f"chance explains (binomial test, Benjamini-Hochberg q < {alpha:g}). Betweenness ranks were computed "
        f"on the whole period ({period}) with every relation and do not change with the filters."
    )


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
    themes: pd.DataFrame | None = None,
    local_authorities: bool = True,
    top_brokers: int = 20,
    at_risk_levels: Iterable[str] = AT_RISK_LEVELS,
    alpha: float = 0.05,
    min_children: int = 2,
    basemap_url: str | None = None,
    basemap_attribution: str | None = None,
    focus_threshold: int = FOCUS_THRESHOLD,
    focus_budget: int = FOCUS_BUDGET,
    seed: int = 0,
    mace: pd.DataFrame | None = None,
    mace_places: pd.DataFrame | None = None,
    mace_notes: Iterable[str] = (),
) -> str:
    """Build the self-contained intelligence explorer page.

    Parameters
    ----------
    g : networkx.Graph
        Association graph from ``ctxrisk.analytics.graph.build_graph`` (node IDs must be pseudonymous IDs).
    communities : DataFrame
        ``person_id``, ``group_id`` (``ctxrisk.analytics.graph.groups``): the group filter, the layout and
        the side map.
    centrality : DataFrame
        ``person_id``, ``betweenness`` (``ctxrisk.analytics.graph.centrality``): shown as a rank; node size
        grows with it (with degree when every betweenness is 0).
    adults : DataFrame
        ``person_id`` with optional ``age_band``, ``children_linked`` and ``flagged``
        (``ctxrisk.analytics.graph.adults_of_concern``). Rows with ``flagged`` true (every row when the
        column is absent) are marked: an adult (25+) as "adult linked to N children (more than chance)", a
        young adult (18-24) as a young adult who may be exploited themselves, never "of concern".
    brokers : DataFrame
        ``person_id``, ``betweenness``, ``groups_linked`` (``ctxrisk.analytics.graph.brokers``): the first
        ``top_brokers`` rows with betweenness > 0 and a link into another group are marked.
    period : str
        The evidence window shown in the banner (e.g. ``"2024-10-01 to 2026-09-30"``).
    made_at : datetime or str
        When the page was made (an aware datetime is shown in UTC).
    places : DataFrame, optional
        ``location_id`` with optional ``label`` and ``latitude``, ``longitude`` for locations that are not
        ``h3:<cell>`` IDs. Locations come from the nodes' ``locations`` attribute.
    themes : DataFrame, optional
        ``event_id``, ``theme``: the theme of each event (the theme filter); evidence without one passes
        when "no theme recorded" is ticked.
    local_authorities : bool
        Draw the packaged ONS local-authority outlines and names (``ctxrisk.pipelines.lad``) around the
        linked places on the side map, which opens on them (default True).
    top_brokers : int
        How many brokers to mark (``>= 0``).
    at_risk_levels : iterable of str
        Latest screening risk levels that put a child in the starting view (default ``("high", "medium")``;
        every child when no child has one of them).
    alpha, min_children : float, int
        The page recalculates the flags for the evidence its filters leave with the test of
        ``ctxrisk.analytics.graph.adults_of_concern`` (binomial configuration-model null, Benjamini-Hochberg
        ``q < alpha``, at least ``min_children`` children); pass the values ``adults`` was computed with
        (defaults 0.05 and 2) so the page opens on the same flags.
    basemap_url, basemap_attribution : str, optional
        Tile URL template of the configured basemap; ``None`` (the default) draws no tiles and the page
        makes no request at all.
    focus_threshold : int
        Above this many people (``>= 0``; default :data:`FOCUS_THRESHOLD`) the page opens on the starting
        view: flagged adults and children at risk (at most ``focus_budget`` people), widened on demand by a
        click (the person's neighbours), a group, a search, the ego view or "Show everyone". The whole graph
        and its evidence are always in the page.
    focus_budget : int
        Most people in the starting view (``>= 1``; default :data:`FOCUS_BUDGET`).
    seed : int
        Seed of the layout.
    mace : DataFrame, optional
        The MACE list (``ctxrisk.analytics.protect.mace.mace_list(...).frame``): shown in its order in the
        page's MACE view, each child with the indicators met and their evidence; a child in the graph is
        selected by a click. None (the default) leaves the view out.
    mace_places : DataFrame, optional
        Its places for MACE 2 (``ctxrisk.analytics.protect.mace.mace_places``, exact counts).
    mace_notes : iterable of str
        Indicators that could not be assessed, shown above the list. The page holds at most
        :data:`ctxrisk.maps.intel_mace.MACE_LIMIT` children (the first; it says so) and evidence texts of
        at most :data:`~ctxrisk.maps.intel_mace.EVIDENCE_CHARS` characters, so the list cannot swell the page.

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
    _check_inputs(g, top_brokers, focus_threshold, focus_budget, basemap_url)
    if not 0 < float(alpha) < 1 or int(min_children) < 1:
        msg = f"alpha must be in (0, 1) and min_children >= 1, got {alpha!r} and {min_children!r}"
        raise ValidationError(msg)
    payload = graph_payload(
        g,
        communities=_frame(communities, "communities", ("person_id", "group_id")),
        centrality=_frame(centrality, "centrality", ("person_id", "betweenness")),
        adults=_frame(adults, "adults", ("person_id",)),
        brokers=_frame(brokers, "brokers", ("person_id", "betweenness", "groups_linked")),
        places=None if places is None else _frame(places, "places", ("location_id",)),
        themes=_themes(themes),
        top_brokers=int(top_brokers),
        at_risk_levels=tuple(at_risk_levels),
        seed=int(seed),
    )
    made = _made_at_text(made_at)
    payload["meta"] = {
        "period": str(period),
        "madeAt": made,
        "notice": LINK_NOTICE,
        "flagNote": _flag_note(str(period), float(alpha), int(min_children)),
        "banner": BANNER,
        "basemap": basemap_url,
        "attribution": basemap_attribution or "",
    }
    payload["boundaries"] = local_authority_layer(payload["places"]) if local_authorities else None
    payload["view"] = {"threshold": int(focus_threshold), "budget": int(focus_budget)}
    payload["test"] = {"alpha": float(alpha), "minChildren": int(min_children)}
    payload["mace"] = None
    if mace is not None:
        payload["mace"] = mace_payload(mace, places=mace_places, notes=mace_notes, period=str(period))
    return _assemble(payload, basemap_url=basemap_url)


def _assemble(payload: dict[str, Any], *, basemap_url: str | None) -> str:
    meta = payload["meta"]
    own_html, own_css = _template("intel.html"), _template("intel.css")
    # the stateless helpers and the MACE view run as one script before the page's own
    own_js = [_template("intel_lib.js") + "\n" + _template("intel_mace.js"), _template("intel.js")]
    own = own_html + "".join(own_js) + own_css
    ours = {k: payload["mace"][k] for k in ("labels", "notes")} if payload.get("mace") else {}
    assert_appropriate(own + json.dumps(meta) + json.dumps(ours), where="intel page text")
    # the page's own text names no URL (data-derived text is shown as text and can never stop the build)
    for match in _ANY_URL.finditer(own):
        if match.group(0) == _SVG_NAMESPACE:  # an XML namespace name, never fetched
            continue
        msg = f"intel page template would make an external request: it contains the URL {match.group(0)}"
        raise ValidationError(msg)
    scripts, hashes = _scripts(own_js)
    page = (
        own_html.replace("%%CSP%%", html_lib.escape(_csp(basemap_url, hashes), quote=False))
        .replace("%%BANNER%%", BANNER)
        .replace("%%PERIOD%%", html_lib.escape(meta["period"]))
        .replace("%%MADE%%", html_lib.escape(meta["madeAt"]))
        .replace("%%NOTICE%%", html_lib.escape(LINK_NOTICE))
        .replace("%%FLAGNOTE%%", html_lib.escape(meta["flagNote"]))
        .replace("%%LEAFLET_CSS%%", f"/* leaflet.css: npm leaflet@1.9.3, BSD-2-Clause */\n{_leaflet_css()}")
        .replace("%%CSS%%", own_css)
        .replace("%%DATA%%", _packed(payload))
        .replace("%%SCRIPTS%%", scripts)
    )
    refs = external_references(page)
    if refs:
        msg = f"intel page references the external URL {refs[0]}"
        raise ValidationError(msg)
    counts = payload["counts"]
    logger.info(
        "built intel page: %s people, %s links, %s evidence items, %s flagged adults; %s bytes",
        f"{counts['people']:,}",
        f"{counts['links']:,}",
        f"{counts['evidence']:,}",
        f"{counts['flaggedAdults']:,}",
        f"{len(page.encode('utf-8')):,}",
    )
    return page
