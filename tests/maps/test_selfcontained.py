"""Tests for ctxrisk.maps.selfcontained: inlining, resource checks, CSP, atomic writing, the page in Chromium."""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import os
import re
import stat
from collections import Counter
from html.parser import HTMLParser

import folium
import geopandas as gpd
import pytest
from shapely.geometry import box
from support.browser import open_page, require_chromium

from ctxrisk.maps.legend import Legend
from ctxrisk.maps.selfcontained import (
    base_map,
    content_security_policy,
    external_references,
    render_self_contained,
    write_html,
)
from ctxrisk.pipelines.errors import ValidationError


class _TagCounter(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.starts: Counter[str] = Counter()
        self.ends: Counter[str] = Counter()

    def handle_starttag(self, tag, attrs):
        self.starts[tag] += 1

    def handle_endtag(self, tag):
        self.ends[tag] += 1


THEMES = {"cse": "#d7301f", "county_lines": "#2b8cbe", "missing": "#31a354"}


def _polygons() -> gpd.GeoDataFrame:
    # three 0.01-degree squares in Leeds, one per theme
    rows = [
        ("cse", "Area A", box(-1.56, 53.79, -1.55, 53.80)),
        ("county_lines", "Area B", box(-1.55, 53.79, -1.54, 53.80)),
        ("missing", "Area C", box(-1.56, 53.80, -1.55, 53.81)),
    ]
    return gpd.GeoDataFrame(
        {"theme": [r[0] for r in rows], "name": [r[1] for r in rows]}, geometry=[r[2] for r in rows], crs=4326
    )


def _themed_map(*, popup: bool = True) -> folium.Map:
    gdf = _polygons()
    fmap = base_map(location=(53.80, -1.55), zoom_start=14)
    for theme, colour in THEMES.items():
        group = folium.FeatureGroup(name=f"Theme {theme}", show=True).add_to(fmap)
        part = gdf[gdf["theme"] == theme]
        layer = folium.GeoJson(
            part.to_json(),
            style_function=lambda _f, c=colour: {"fillColor": c, "color": "#333", "weight": 1, "fillOpacity": 0.7},
            tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=["Area"]),
        )
        if popup:
            layer.add_child(folium.Popup(f"<b>{theme}</b>"))
        layer.add_to(group)
    Legend("Themes", [(c, t) for t, c in THEMES.items()]).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.fit_bounds([[53.79, -1.56], [53.81, -1.54]])
    return fmap


def test_render_inlines_assets_and_drops_cdn_links():
    html = render_self_contained(_themed_map())
    assert external_references(html) == []
    assert "cdn.jsdelivr.net" not in html and "code.jquery.com" not in html and "cdnjs" not in html
    assert "Leaflet 1.9.3" in html  # leaflet.js header
    assert "jQuery v3.7.1" in html  # popups use $(...)
    assert "bootstrap" not in html.lower()
    assert "L.AwesomeMarkers" not in html  # not used, so not inlined
    assert "sourceMappingURL" not in html
    assert 'url("data:image/png;base64,' in html  # leaflet.css images inlined
    tags = _TagCounter()
    tags.feed(html)
    assert tags.starts["script"] == tags.ends["script"] == html.count("</script>")


def test_render_leaves_out_jquery_when_unused():
    html = render_self_contained(_themed_map(popup=False))
    assert "jQuery v3.7.1" not in html
    assert "Leaflet 1.9.3" in html


def test_awesome_marker_assets_inlined_only_when_used():
    fmap = base_map(location=(53.8, -1.55))
    folium.Marker([53.8, -1.55], icon=folium.Icon(color="red")).add_to(fmap)
    html = render_self_contained(fmap)
    assert "Leaflet.AwesomeMarkers" in html
    assert "images/markers-soft" not in html
    assert external_references(html) == []


def test_unknown_external_script_is_refused_by_url():
    fmap = _themed_map()
    fmap.get_root().header.add_child(folium.JavascriptLink("https://example.org/lib/plugin.js"))
    with pytest.raises(ValidationError, match=r"https://example\.org/lib/plugin\.js.*no vendored copy"):
        render_self_contained(fmap)


def test_tile_layer_needs_configured_basemap():
    fmap = folium.Map(location=[53.8, -1.55], tiles="OpenStreetMap")
    with pytest.raises(ValidationError, match=r"external request.*https://tile\.openstreetmap\.org"):
        render_self_contained(fmap)


def test_configured_basemap_is_the_only_allowed_url():
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    fmap = base_map(location=(53.8, -1.55), basemap_url=url, basemap_attribution="Example tiles")
    html = render_self_contained(fmap, basemap_url=url)
    assert url in html
    with pytest.raises(ValidationError, match=r"tiles\.example\.org"):
        render_self_contained(fmap)  # not configured: refused


def test_basemap_url_must_be_a_tile_template():
    with pytest.raises(ValidationError, match=r"not a tile URL template"):
        base_map(location=(53.8, -1.55), basemap_url="https://tiles.example.org/tiles.png")


def test_external_image_in_popup_is_refused():
    fmap = base_map(location=(53.8, -1.55))
    folium.CircleMarker([53.8, -1.55], popup=folium.Popup('<img src="https://example.org/a.png">')).add_to(fmap)
    with pytest.raises(ValidationError, match=r"https://example\.org/a\.png"):
        render_self_contained(fmap)


def test_svg_namespace_is_not_a_request():
    fmap = base_map(location=(53.8, -1.55))
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'
    folium.CircleMarker([53.8, -1.55], popup=folium.Popup(svg)).add_to(fmap)
    assert "http://www.w3.org/2000/svg" in render_self_contained(fmap)


def test_external_references_reads_tags_and_styles_not_script_text():
    page = (
        '<html><head><link rel="icon" href="https://a.example/i.ico">'
        "<style>.x{background:url('//b.example/x.png')} .y{background:url(data:image/png;base64,AA==)}</style>"
        '<script>var s = "<img src=\\"https://c.example/no.png\\">";</script></head>'
        '<body><img srcset="https://d.example/1.png 1x, local.png 2x"><a href="#top">top</a></body></html>'
    )
    assert external_references(page) == ["https://a.example/i.ico", "//b.example/x.png", "https://d.example/1.png"]


def test_write_html_is_atomic_and_private(tmp_path):
    target = tmp_path / "out" / "map.html"
    write_html("<html>first</html>", target)
    assert write_html("<html>second ✓</html>", target) == target
    assert target.read_text(encoding="utf-8") == "<html>second ✓</html>"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["map.html"]


# ------------------------------------------------------------------------------------------ browser


@pytest.fixture(scope="module")
def themed_page(tmp_path_factory):
    require_chromium()
    path = tmp_path_factory.mktemp("pages") / "themed.html"
    write_html(render_self_contained(_themed_map()), path)
    return open_page(path)


@pytest.mark.browser
def test_page_loads_without_errors_or_requests(themed_page):
    assert themed_page.console_errors == []
    assert themed_page.requests_external == []
    assert themed_page.requests_local_failed == []


@pytest.mark.browser
def test_layer_control_lists_layers_and_legend_shows(themed_page):
    page = themed_page.page
    labels = page.eval_on_selector_all(
        ".leaflet-control-layers-overlays label", "els => els.map(e => e.textContent.trim())"
    )
    assert labels == ["Theme cse", "Theme county_lines", "Theme missing"]
    assert page.inner_text(".ctxrisk-legend").split("\n") == ["Themes", "cse", "county_lines", "missing"]
    assert page.locator("path.leaflet-interactive").count() == 3


@pytest.mark.browser
def test_screenshot_is_not_blank(themed_page, tmp_path):
    # three 117x197 px squares plus controls cover about 18% of the 900x650 viewport; an empty map
    # shows only its zoom buttons and attribution (about 1%)
    assert themed_page.non_blank_fraction > 0.12
    empty = tmp_path / "empty.html"
    write_html(render_self_contained(base_map(location=(53.8, -1.55))), empty)
    assert open_page(empty, settle_ms=50).non_blank_fraction < 0.03


@pytest.mark.browser
def test_unticking_a_layer_removes_its_polygons(themed_page):
    page = themed_page.page
    page.locator(".leaflet-control-layers-overlays input").nth(0).uncheck()
    assert page.locator("path.leaflet-interactive").count() == 2
    page.locator(".leaflet-control-layers-overlays input").nth(0).check()
    assert page.locator("path.leaflet-interactive").count() == 3


@pytest.mark.browser
def test_harness_sees_cdn_requests_of_a_plain_folium_page(tmp_path):
    # negative control: the same map saved by folium itself would fetch from CDNs
    require_chromium()
    path = tmp_path / "plain.html"
    _themed_map().save(str(path))
    report = open_page(path, settle_ms=50)
    assert any(re.match(r"https://cdn\.jsdelivr\.net/npm/leaflet@1\.9\.3", u) for u in report.requests_external)
    assert any("L is not defined" in e for e in report.console_errors)


# ------------------------------------------------------------------------------- CSP and data text


def test_a_url_in_data_text_is_not_a_request():
    # issue 24: a place called "see https://..." is text; only the page's own resources are checked
    fmap = base_map(location=(53.8, -1.55))
    folium.CircleMarker([53.8, -1.55], tooltip=html_lib.escape("Ward <b>see https://example.org/x.png</b>")).add_to(
        fmap
    )
    html = render_self_contained(fmap)
    assert "see https://example.org/x.png" in html
    assert external_references(html) == []


def test_every_inline_script_is_allowed_by_hash_and_nothing_else():
    html = render_self_contained(_themed_map())
    match = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert match and html.index(match.group(0)) < html.index("<script")
    policy = dict(part.strip().split(" ", 1) for part in html_lib.unescape(match.group(1)).split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["img-src"] == "data: blob:"
    allowed = set(policy["script-src"].split())
    assert "'unsafe-inline'" not in allowed and "'unsafe-eval'" not in allowed
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    hashes = {"'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in scripts}
    assert allowed == hashes and len(hashes) >= 3
    assert content_security_policy(html) == html_lib.unescape(match.group(1))


def test_csp_names_the_configured_tile_host_only():
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    fmap = base_map(location=(53.8, -1.55), basemap_url=url, basemap_attribution="Example tiles")
    html = render_self_contained(fmap, basemap_url=url)
    assert "img-src data: blob: https://tiles.example.org;" in html_lib.unescape(html)


def test_page_gets_lang_and_title_and_keeps_its_own_policy():
    fmap = base_map(location=(53.8, -1.55))
    html = render_self_contained(fmap, title="Places <of> concern")
    assert '<html lang="en-GB">' in html and "<title>Places &lt;of&gt; concern</title>" in html
    assert "user-scalable=no" not in html
    own = folium.Figure()
    own.header.add_child(folium.Element('<meta http-equiv="Content-Security-Policy" content="default-src \'self\'">'))
    base_map(location=(53.8, -1.55)).add_to(own)
    assert render_self_contained(own).count("Content-Security-Policy") == 1
