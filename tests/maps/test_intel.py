"""Tests for ctxrisk.maps.intel and ctxrisk.cli.intel: the OFFICIAL-SENSITIVE graph explorer, built, scanned and used in Chromium."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
import os
import re
import stat
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
import typer
from support.browser import open_page, require_chromium
from support.hotspot_fixtures import sample_warehouse, truth
from typer.testing import CliRunner

from ctxrisk.cli.intel import make_intel_page, period_text, register_intel
from ctxrisk.maps.intel import BANNER, INTEL_MARKER, LINK_NOTICE, build_intel_page, layout_by_group
from ctxrisk.maps.language import find_terms
from ctxrisk.maps.selfcontained import external_references
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.warehouse import connect

REPO = Path(__file__).resolve().parents[2]
DOCS_IMG = REPO / "docs" / "img" / "intel-explorer.png"
MADE = dt.datetime(2026, 10, 1, 9, 30, tzinfo=dt.UTC)
runner = CliRunner()


def _data(html: str) -> dict:
    match = re.search(r'<script type="application/octet-stream" id="intel-data"[^>]*>(.*?)</script>', html, re.S)
    assert match, "page has no inlined graph data"
    return json.loads(gzip.decompress(base64.b64decode(match.group(1))))


@pytest.fixture
def tiny(tmp_path) -> Path:
    """Two children linked to one adult through two incidents; the adult co-offends with another adult (graded 2B)."""
    path = tmp_path / "w.duckdb"
    con = connect(path)
    con.execute(
        "insert into raw.persons (person_id, birth_year_month, looked_after, file_id) values "
        "('c1','2009-01',true,'t'), ('c2','2010-03',false,'t'), ('a1','1990-05',null,'t'), ('a2','1988-02',null,'t')"
    )
    con.execute(
        "insert into raw.incidents (incident_id, source, occurred_at, time_precision, category, theme, latitude, longitude, located, file_id) values "
        "('i1','partnership','2024-01-10 12:00:00+00','minute','cse','cse',53.1,-2.4,true,'t'),"
        "('i2','partnership','2024-03-05 12:00:00+00','minute','cse','cse',53.2,-2.5,true,'t')"
    )
    con.execute(
        "insert into raw.involvements (person_id, event_id, event_type, role, file_id) values "
        "('c1','i1','incident','victim','t'), ('a1','i1','incident','suspect','t'),"
        "('c2','i2','incident','victim','t'), ('a1','i2','incident','suspect','t')"
    )
    con.execute(
        "insert into raw.associations (person_a, person_b, relation, observed_at, source_evaluation, intelligence_evaluation, handling, file_id) "
        "values ('a1','a2','co_offender','2024-02-01 00:00:00+00','2','B','C','t')"
    )
    con.close()
    return path


def _tiny_page(tiny: Path, tmp_path: Path, **kwargs) -> tuple[Path, str]:
    settings = load_settings(None, warehouse=tiny)
    con = connect(settings=settings)
    try:
        path, _size, _summary = make_intel_page(
            con, tmp_path / "out" / "intel.html", settings=settings, made_at=MADE, seeds=2, **kwargs
        )
    finally:
        con.close()
    return path, path.read_text(encoding="utf-8")


def test_tiny_page_carries_the_graph_and_its_evidence(tiny, tmp_path):
    path, html = _tiny_page(tiny, tmp_path)
    data = _data(html)
    assert sorted(data["nodes"]["id"]) == ["a1", "a2", "c1", "c2"]
    assert data["counts"] == {
        "people": 4,
        "links": 3,
        "children": 2,
        "flaggedAdults": 1,
        "brokers": data["counts"]["brokers"],
        "evidence": 3,
    }
    ids = data["nodes"]["id"]
    concern = [ids[i] for i, f in enumerate(data["nodes"]["flags"]) if f & 1]
    assert concern == ["a1"]
    looked_after = [ids[i] for i, f in enumerate(data["nodes"]["flags"]) if f & 4]
    assert looked_after == ["c1"]
    assert data["relations"] == ["co_involvement", "co_offender"]
    assert data["sources"] == ["incident record", "recorded association"]
    ev = data["evidence"]
    rows = sorted(
        (data["relations"][r], e, d, data["grades"][g], c)
        for r, e, d, g, c in zip(ev["rel"], ev["id"], ev["day"], ev["grade"], ev["cond"], strict=True)
    )
    # days since 1970-01-01: 2024-01-10 = 19732, 2024-02-01 = 19754, 2024-03-05 = 19787
    assert rows == [
        ("co_involvement", "i1", 19732, "", 0),
        ("co_involvement", "i2", 19787, "", 0),
        ("co_offender", None, 19754, "2B", 1),
    ]
    assert data["dayRange"] == [19732, 19787]
    assert data["meta"]["period"] == "2024-01-10 to 2024-03-05"
    assert data["meta"]["madeAt"] == "2026-10-01 09:30 UTC"
    # both incidents placed H3 cells (resolution 9) on the people involved: the side map has two hexagons
    assert len(data["places"]["id"]) == 2 and all(p.startswith("h3:") for p in data["places"]["id"])
    assert all(len(poly) == 6 for poly in data["places"]["poly"])


def test_tiny_page_is_marked_private_and_self_contained(tiny, tmp_path):
    path, html = _tiny_page(tiny, tmp_path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert INTEL_MARKER in html
    assert f'<div class="banner" id="banner">{BANNER}</div>' in html
    assert 'Period: <b id="period">2024-01-10 to 2024-03-05</b>' in html
    assert 'Made: <b id="made">2026-10-01 09:30 UTC</b>' in html
    assert "A link is not proof of gang membership or of involvement in offending." in html
    assert external_references(html) == []
    assert "connect-src 'none'" in html and "default-src 'none'" in html
    # scripts run by hash only: every inline script is listed, and nothing else may run
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html).group(1)
    script_src = re.search(r"script-src ([^;]*);", csp).group(1)
    assert "unsafe-inline" not in script_src
    bodies = re.findall(r"<script>(.*?)</script>", html, re.S)
    hashes = {base64.b64encode(hashlib.sha256(b.encode("utf-8")).digest()).decode() for b in bodies}
    assert len(bodies) == 4 and set(re.findall(r"'sha256-([^']+)'", script_src)) == hashes
    assert "npm sigma@3.0.2" in html and "npm graphology@0.26.0" in html
    assert find_terms(html) == []
    # never a name, birth month or coordinate of an event: only pseudonymous IDs and H3 cells
    assert "1990-05" not in html and "53.1,-2.4" not in html and "-2.4," not in html


def test_cli_writes_page_and_audits_intel_edition(tiny, tmp_path):
    app = typer.Typer()
    register_intel(app)

    @app.command("other")
    def _other() -> None:  # a second command keeps typer from collapsing the group
        """Unused."""

    out = tmp_path / "o" / "explorer.html"
    result = runner.invoke(app, ["intel", "--out", str(out), "--warehouse", str(tiny), "--relations", "co_offender"])
    assert result.exit_code == 0, result.output
    assert "OFFICIAL-SENSITIVE" in result.output and "4 people, 1 links" in result.output
    data = _data(out.read_text(encoding="utf-8"))
    assert sorted(data["nodes"]["id"]) == ["a1", "a2", "c1", "c2"]  # people involved in the window stay, unlinked
    assert data["relations"] == ["co_offender"] and data["edges"]["s"] and len(data["edges"]["s"]) == 1
    assert data["view"] == {"threshold": 300, "budget": 2000}
    focused = runner.invoke(app, ["intel", "--out", str(out), "--warehouse", str(tiny), "--focus-threshold", "2"])
    assert focused.exit_code == 0, focused.output
    assert _data(out.read_text(encoding="utf-8"))["view"]["threshold"] == 2
    con = connect(tiny, read_only=True)
    rows = con.execute("select action, edition, target from meta.audit where edition = 'intel'").fetchall()
    con.close()
    assert rows == [("map", "intel", str(out)), ("map", "intel", str(out))]
    bad = runner.invoke(app, ["intel", "--out", str(out), "--warehouse", str(tiny), "--relations", "gang"])
    assert bad.exit_code == 1 and "unknown relation" in bad.output


def test_window_is_named_in_the_banner(tiny, tmp_path):
    _path, html = _tiny_page(tiny, tmp_path, since="2024-02-01", until="2024-12-31")
    data = _data(html)
    assert data["meta"]["period"] == "2024-02-01 to 2024-12-31 (window asked for)"
    assert sorted(data["nodes"]["id"]) == ["a1", "a2", "c2"]


def _graph() -> nx.Graph:
    g = nx.Graph()
    for n, band in [("c1", "child"), ("c2", "child"), ("a1", "adult"), ("y1", "young_adult"), ("u1", "unknown")]:
        g.add_node(n, age_band=band, locations=[], n_events=1)
    ev = {"relation": "knows", "event_id": None, "date": None, "grading": None, "handling": None, "weight": 1.0}
    for a, b in [("c1", "a1"), ("c2", "a1"), ("a1", "y1")]:
        g.add_edge(a, b, weight=1.0, relations=["knows"], evidence=[ev], first_seen=None, last_seen=None)
    return g


def _frames(g: nx.Graph):
    communities = pd.DataFrame({"person_id": ["c1", "c2", "a1", "y1", "u1"], "group_id": [1, 1, 1, 1, 2]})
    centrality = pd.DataFrame({"person_id": ["a1", "c1"], "betweenness": [0.8, 0.0]})
    adults = pd.DataFrame({"person_id": ["a1"]})
    brokers = pd.DataFrame({"person_id": ["a1", "y1"], "betweenness": [0.8, 0.0], "groups_linked": [1, 0]})
    return {"communities": communities, "centrality": centrality, "adults": adults, "brokers": brokers}


def test_sizes_follow_betweenness_and_flags_mark_brokers():
    g = _graph()
    data = _data(build_intel_page(g, **_frames(g), period="p", made_at="2026-01-01"))
    size = dict(zip(data["nodes"]["id"], data["nodes"]["size"], strict=True))
    assert size == {"c1": 2.0, "c2": 2.0, "a1": 12.0, "y1": 2.0, "u1": 2.0}
    flags = dict(zip(data["nodes"]["id"], data["nodes"]["flags"], strict=True))
    assert flags["a1"] == 1 | 2 and flags["y1"] == 0
    assert data["nodes"]["rank"] == [0, 0, 1, 0, 0]
    assert data["groups"]["id"] == [1, 2] and data["groups"]["size"] == [4, 1] and data["groups"]["children"] == [2, 0]
    assert data["evidence"]["day"] == [None, None, None] and data["dayRange"] is None


def test_refuses_names_and_bad_inputs():
    g = _graph()
    named = nx.relabel_nodes(g, {"c1": "Jane Smith"})
    frames = _frames(g)
    with pytest.raises(ValidationError, match="not pseudonymous IDs"):
        build_intel_page(named, **frames, period="p", made_at="x")
    with pytest.raises(ValidationError, match="communities lacks column"):
        build_intel_page(g, **(frames | {"communities": pd.DataFrame({"person_id": []})}), period="p", made_at="x")
    with pytest.raises(ValidationError, match="not a tile URL template"):
        build_intel_page(g, **frames, period="p", made_at="x", basemap_url="http://tiles.example/{z}/{x}/{y}.png")
    with pytest.raises(ValidationError, match="made_at must be"):
        build_intel_page(g, **frames, period="p", made_at=20260101)
    with pytest.raises(ValidationError, match="undirected networkx.Graph"):
        build_intel_page(nx.DiGraph(g), **frames, period="p", made_at="x")


def test_basemap_is_the_only_allowed_host():
    g = _graph()
    html = build_intel_page(
        g, **_frames(g), period="p", made_at="x", basemap_url="https://tiles.example.org/{z}/{x}/{y}.png"
    )
    assert "img-src data: blob: https://tiles.example.org;" in html
    assert external_references(html) == []


def test_layout_keeps_groups_apart_and_is_deterministic():
    g = nx.disjoint_union(nx.complete_graph(6), nx.cycle_graph(5))
    g.add_node(99)
    groups = {n: (1 if n < 6 else 2) for n in range(11)}
    pos = layout_by_group(g, groups, seed=3)
    assert pos == layout_by_group(g, groups, seed=3)
    assert set(pos) == set(g.nodes)

    def centre(nodes):
        return (sum(pos[n][0] for n in nodes) / len(nodes), sum(pos[n][1] for n in nodes) / len(nodes))

    (x1, y1), (x2, y2) = centre(range(6)), centre(range(6, 11))
    spread = max(abs(pos[n][0] - x1) for n in range(6))
    assert ((x1 - x2) ** 2 + (y1 - y2) ** 2) ** 0.5 > spread  # group centres further apart than a group's radius


def test_period_text_without_dates():
    assert period_text(nx.Graph()) == "no dated evidence"


def test_notice_uses_appropriate_language():
    assert find_terms(LINK_NOTICE) == []


# ------------------------------------------------------------------------------------------ the sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The committed sample with hot spots, emerging hot spots and places of concern; intel and steering pages made from it."""
    from ctxrisk.analytics.hotspots import run_emerging, run_hotspots
    from ctxrisk.analytics.locations import run_locations

    settings, path = sample_warehouse(tmp_path_factory.mktemp("intel-sample"))
    con = connect(settings=settings)
    try:
        hot = run_hotspots(con, settings=settings, permutations=99)
        run_emerging(con, settings=settings, permutations=99)
        run_locations(con, settings=settings, hotspots=hot)
        out = tmp_path_factory.mktemp("intel-out")
        intel_path, _, _ = make_intel_page(con, out / "intel.html", settings=settings, made_at=MADE, seeds=2)
        from ctxrisk.cli.maps import make_steering_map

        steering_path, _, _ = make_steering_map(con, out / "steering.html", settings=settings, period="all")
        audit = con.execute("select edition, target from meta.audit where action = 'map' order by edition").fetchall()
    finally:
        con.close()
    return {"intel": intel_path, "steering": steering_path, "audit": audit}


def test_sample_page_lists_known_adults_and_labels_places(sample):
    html = sample["intel"].read_text(encoding="utf-8")
    data = _data(html)
    ids = data["nodes"]["id"]
    flagged = {ids[i] for i, f in enumerate(data["nodes"]["flags"]) if f & (1 | 16)}
    assert set(truth()["adults_of_concern"]) <= flagged
    # 18-24-year-olds are young adults who may be exploited themselves, never flagged as adults (25+)
    bands = data["bands"]
    adults = [i for i, f in enumerate(data["nodes"]["flags"]) if f & 1]
    assert adults and all(bands[data["nodes"]["band"][i]] == "adult" for i in adults)
    assert all(bands[data["nodes"]["band"][i]] == "young_adult" for i, f in enumerate(data["nodes"]["flags"]) if f & 16)
    assert any(label and label.startswith("location of concern #1: ") for label in data["places"]["label"])
    assert find_terms(html) == []
    assert external_references(html) == []


def test_steering_edition_never_holds_intel_content(sample):
    intel_html = sample["intel"].read_text(encoding="utf-8")
    steering = sample["steering"].read_text(encoding="utf-8")
    data = _data(intel_html)
    assert INTEL_MARKER not in steering and BANNER not in steering
    assert "intel-data" not in steering and "npm sigma@" not in steering and "graphology" not in steering
    assert "gang membership" not in steering
    tokens = set(re.findall(r"[A-Za-z0-9_.:-]+", steering))
    assert not tokens & set(data["nodes"]["id"])
    assert not tokens & {e for e in data["evidence"]["id"] if e}
    assert ("intel", str(sample["intel"])) in sample["audit"] and ("steering", str(sample["steering"])) in sample[
        "audit"
    ]


@pytest.mark.browser
def test_sample_page_in_chromium(sample):
    require_chromium()
    report = open_page(sample["intel"], settle_ms=500)
    page = report.page
    try:
        assert report.console_errors == []
        assert report.requests_external == []
        assert report.requests_local_failed == []
        assert page.get_attribute("body", "data-ready") == "true"
        assert page.inner_text("#banner") == "OFFICIAL-SENSITIVE"
        data = _data(sample["intel"].read_text(encoding="utf-8"))
        # opens on flagged adults and children at risk (as Neo4j Bloom starts small), not on all 1,778 people
        start = int(page.get_attribute("#count", "data-visible-nodes"))
        assert page.get_attribute("#count", "data-view") == "focused" and 0 < start < len(data["nodes"]["id"])
        page.click("#show-all")
        total = int(page.get_attribute("#count", "data-visible-nodes"))
        assert total == len(data["nodes"]["id"])

        # search finds a known ID and shows its links with the evidence behind each
        known = truth()["adults_of_concern"][0]
        page.fill("#search", known)
        page.press("#search", "Enter")
        page.wait_for_selector("#person-id")
        assert page.inner_text("#person-id") == known
        assert page.locator("#links .link").count() >= 2
        first = page.locator("#links tr.evidence").first.inner_text()
        assert re.search(r"\d{4}-\d{2}-\d{2}|undated", first) and re.search(r"graded|[123][A-E]", first)
        assert "not proof of gang membership" in page.inner_text("#panel")
        assert page.inner_text("#mapcaption").startswith("Group ")

        # a click on the person (the camera has fitted them and their links) shows their evidence
        page.wait_for_timeout(300)
        page.evaluate("document.getElementById('panel').replaceChildren()")
        box = page.locator("#graph").bounding_box()
        at = page.evaluate(f"window.intel.viewportOf({json.dumps(known)})")
        assert 0 <= at["x"] <= box["width"] and 0 <= at["y"] <= box["height"]
        page.mouse.click(box["x"] + at["x"], box["y"] + at["y"])
        page.wait_for_selector("#person-id")
        assert page.inner_text("#person-id") == known
        # a click on a linked person in the panel moves to them
        neighbour = page.locator("#links button.person").first.inner_text()
        page.locator("#links button.person").first.click()
        page.wait_for_function(f"document.getElementById('person-id').textContent === {json.dumps(neighbour)}")

        # filters change what is shown
        page.uncheck("#bandset input[data-band='0']")  # children
        no_children = int(page.get_attribute("#count", "data-visible-nodes"))
        assert 0 < no_children < total
        page.check("#bandset input[data-band='0']")
        assert int(page.get_attribute("#count", "data-visible-nodes")) == total
        page.select_option("#hops", "1")
        ego = int(page.get_attribute("#count", "data-visible-nodes"))
        assert 1 < ego < total
        page.select_option("#hops", "0")
        relation = page.locator("#relset input").first
        relation.uncheck()
        fewer = int(page.get_attribute("#count", "data-visible-nodes"))
        assert fewer < total
        page.click("#reset")
        assert int(page.get_attribute("#count", "data-visible-nodes")) == start
        page.click("#show-all")
        page.fill("#to", "2025-01-31")
        page.dispatch_event("#to", "change")
        assert int(page.get_attribute("#count", "data-visible-nodes")) < total
        page.click("#reset")
        # the side map opens on the local authorities around the linked places, with their names
        assert page.locator("#map .la-name").count() > 0
        assert "Office for National Statistics" in page.inner_text("#map")

        page.fill("#search", known)
        page.press("#search", "Enter")
        page.set_viewport_size({"width": 1400, "height": 850})
        page.wait_for_timeout(600)
        png = page.screenshot(type="png")
        assert png.startswith(b"\x89PNG")
        if os.environ.get("CTXRISK_UPDATE_SCREENSHOTS") == "1":
            # Only on request: a test run must not change the committed docs.
            DOCS_IMG.parent.mkdir(parents=True, exist_ok=True)
            DOCS_IMG.write_bytes(png)
        assert report.console_errors == []
        assert report.requests_external == []
    finally:
        page.close()


# ------------------------------------------------------------------------------------ large-graph view


def _large_graph(groups: int = 8, size: int = 30) -> tuple[nx.Graph, dict]:
    """``groups`` rings of ``size`` people (every third a child), each ring chorded, ring k tied to ring k+1 by one link."""
    g = nx.Graph()
    bands = ("child", "young_adult", "adult")
    for k in range(groups):
        for m in range(size):
            g.add_node(f"p{k:02d}-{m:02d}", age_band=bands[m % 3], locations=[], n_events=1)
    edges = []
    for k in range(groups):
        ring = [f"p{k:02d}-{m:02d}" for m in range(size)]
        edges += list(zip(ring, ring[1:] + ring[:1], strict=True)) + [
            (ring[m], ring[(m + 5) % size]) for m in range(0, size, 3)
        ]
        if k + 1 < groups:
            edges.append((ring[0], f"p{k + 1:02d}-00"))
    for n, (a, b) in enumerate(edges):
        ev = {
            "relation": "co_involvement",
            "event_id": f"e{n}",
            "date": "2025-03-01",
            "grading": None,
            "handling": None,
        }
        g.add_edge(a, b, weight=1.0 + (n % 4), relations=["co_involvement"], evidence=[ev])
    people = list(g.nodes)
    frames = {
        "communities": pd.DataFrame({"person_id": people, "group_id": [int(p[1:3]) + 1 for p in people]}),
        "centrality": pd.DataFrame({"person_id": people, "betweenness": [float(g.degree(p)) for p in people]}),
        "adults": pd.DataFrame({"person_id": ["p00-02"]}),
        "brokers": pd.DataFrame({"person_id": ["p03-00"], "betweenness": [1.0], "groups_linked": [1]}),
    }
    return g, frames


def test_large_graph_page_records_its_view_options():
    g, frames = _large_graph(groups=2, size=6)
    data = _data(build_intel_page(g, **frames, period="p", made_at="x", focus_threshold=10, focus_budget=4))
    assert data["view"] == {"threshold": 10, "budget": 4}
    assert len(data["nodes"]["id"]) == 12  # the whole graph is always in the page
    with pytest.raises(ValidationError, match="focus_budget >= 1"):
        build_intel_page(g, **frames, period="p", made_at="x", focus_budget=0)


@pytest.mark.browser
def test_large_graph_opens_on_a_focused_view_in_chromium(tmp_path):
    require_chromium()
    g, frames = _large_graph()
    html = build_intel_page(g, **frames, period="p", made_at="x", focus_threshold=100, focus_budget=6)
    path = tmp_path / "large.html"
    path.write_text(html, encoding="utf-8")
    report = open_page(path, settle_ms=100)
    page = report.page

    def count(attr: str = "data-visible-nodes") -> int:
        return int(page.get_attribute("#count", attr))

    try:
        assert page.get_attribute("body", "data-ready") == "true"
        assert page.get_attribute("#count", "data-view") == "focused"
        assert page.is_visible("#viewnote") and "Focused view" in page.inner_text("#viewtext")
        # the adult of concern p00-02 and broker p03-00 are in the view with their strongest links, 6 people at most
        assert count("data-in-graph") == count() == 6 and page.evaluate("window.intel.graphOrder()") == 6
        shown = set(page.evaluate("window.intel.renderer.getGraph().nodes().map((k) => window.intel.id(+k))"))
        assert {"p00-02", "p03-00"} <= shown and shown <= {"p00-02", "p03-00", *g["p00-02"], *g["p03-00"]}
        assert "of 240 people" in page.inner_text("#count")

        # a band filter hides people through the reducers: the sigma graph keeps its 25 nodes
        page.uncheck("#bandset input[data-band='0']")
        assert 0 < count() < 6 and count("data-in-graph") == 6
        page.check("#bandset input[data-band='0']")

        # search finds someone outside the view: they and their links join the graph, with their evidence
        page.fill("#search", "p06-10")
        page.press("#search", "Enter")
        page.wait_for_selector("#person-id")
        assert page.inner_text("#person-id") == "p06-10"
        assert count("data-in-graph") == 6 + 1 + g.degree("p06-10")
        assert page.locator("#links tr.evidence").count() == g.degree("p06-10")
        assert "2025-03-01" in page.locator("#links tr.evidence").first.inner_text()

        # partial IDs list matches from the prebuilt index
        page.fill("#search", "p07-1")
        page.press("#search", "Enter")
        assert page.locator("#matches button.person").count() == 10

        # a group shows that group only; the ego view widens beyond it
        page.select_option("#group", "6")
        assert count() == 30
        page.select_option("#group", "")
        page.select_option("#hops", "2")
        ego = count()
        assert ego > 1 and page.evaluate("window.intel.graphOrder()") >= ego
        page.select_option("#hops", "0")

        page.click("#show-all")
        assert page.get_attribute("#count", "data-view") == "all" and count() == 240 and count("data-in-graph") == 240
        page.click("#reset")
        # back to the first view, plus the person still selected in the panel
        assert page.get_attribute("#count", "data-view") == "focused" and count("data-in-graph") == 6 + 1
        assert page.inner_text("#person-id") == "p06-10"
        assert report.console_errors == []
        assert report.requests_external == []
    finally:
        page.close()
