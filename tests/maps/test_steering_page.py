"""The steering page as a steering group member meets it (issue 21) and as an attacker tries it (issue 24).

Disclosure in every mark (a planted small count cannot be read), escaping and CSP against planted markup,
colours under colour-vision deficiency, accessibility (axe-core, keyboard order), the A4 print layout.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from support import steering_fixtures as F
from support.browser import axe_violations, open_page, print_pdf, require_chromium
from support.colour import CVD_MATRICES, delta_e

from ctxrisk.maps.selfcontained import render_self_contained, write_html
from ctxrisk.maps.steering import EMERGING_COLOURS, GI_BINS, build_steering_map
from ctxrisk.maps.steering_places import THEME_COLOURS, place_names

PERIODS = [("2024-01-01", "2024-12-31")]
DAY = datetime(2026, 12, 5, 10, 25, tzinfo=UTC)
XSS = "\"><img src=x onerror=alert(1)><script>alert(2)</script>'><svg onload=alert(3)>"


def _page(**overrides) -> str:
    kwargs = {
        "boundaries": F.boundaries(),
        "hotspots": F.hotspots(),
        "emerging": F.emerging(),
        "locations": F.locations(),
        "periods": PERIODS,
        "settings": F.settings(),
        "generated": DAY,
    }
    kwargs.update(overrides)
    fmap = build_steering_map(**kwargs)
    return render_self_contained(fmap, title=fmap.ctxrisk_title)


# ------------------------------------------------------------------------------------ disclosure


def _small_count_page(v: int) -> str:
    """Every count the page could show is ``v``: each cell's, each place's, and a block and an hour of each
    place's busy times that hold nothing else."""
    hot = F.hotspots().assign(count=v)
    locs = F.locations()
    locs["count"] = v
    # every count behind a score part, and a theme's count at each place; each part linear in its count
    for part, column in (
        ("children", "distinct_children"),
        ("repeat_found", "repeat_found_at"),
        ("intelligence", "intelligence_items"),
        ("searches", "searches_of_children"),
    ):
        locs[column] = v
        locs[f"score_{part}"] = 0.05 * v
    locs["themes"] = [["cse", "county_lines", "radicalisation"]] * len(locs)
    locs["counts_by_theme"] = json.dumps({"cse": 40, "county_lines": 12, "radicalisation": v})
    profiles = []
    for profile in locs["profile"]:
        arr = np.array(profile, dtype=float)
        arr[5, 7] += v  # weekend mornings, and 07:00-07:59, hold only this
        arr[1, 4] += v  # weekday nights, and 04:00-04:59, hold only this
        profiles.append(arr)
    locs["profile"] = profiles
    html = _page(hotspots=hot, locations=locs)
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    return re.sub(r"_[0-9a-f]{32}", "_ID", html)


def test_a_planted_count_under_five_cannot_be_read_from_any_mark():
    # hot spot tooltips, place pop-ups, the busy-times chart and sentence, badges, colours and sizes: the
    # page is byte for byte the same whatever the count under 5 is
    pages = {v: _small_count_page(v) for v in (0, 1, 2, 3, 4)}
    assert len(set(pages.values())) == 1
    # and the check can fail: a count of 5 is shown
    assert _small_count_page(5) != pages[4]


def test_peak_hour_and_chart_only_from_blocks_of_five():
    locs = F.locations()
    arr = np.zeros((7, 24))
    arr[5, 20], arr[6, 21], arr[0, 8] = 3, 3, 4  # weekend evenings 6, a weekday morning 4
    locs["profile"] = [arr, F.profile(4, range(19, 23)), np.zeros((7, 24))]
    html = _page(locations=locs)
    assert "Busiest on weekend evenings (18:00-23:59)." in html  # no hour holds 5: no peak hour
    assert "Weekday mornings: fewer than 5 (withheld)" in html


def test_nothing_flagged_still_builds_with_a_sentence():
    html = _page(hotspots=F.hotspots().assign(bin=0), locations=F.locations().iloc[0:0])
    assert "No cell was flagged as a hot or cold spot in this period" in html
    assert "No places of concern are ranked for this edition." in html


# ---------------------------------------------------------------------------------------- naming


def test_places_are_named_by_area_never_by_h3_id():
    cell = F.CELLS[0]
    lat, lon = (float(v) for v in F.h3.cell_to_latlng(cell))
    names = place_names(
        [f"Crewe Central ({cell})", f"Crewe Central ({F.CELLS[5]})", f"H3 cell {cell}"],
        [lat + 0.01, lat - 0.01, lat],
        [lon, lon, lon],
        areas=F.boundaries(),
    )
    assert names == ["Crewe Central (north)", "Crewe Central (south)", "Leeds 111C"]  # the LSOA holding it
    html = _page()
    for c in F.CELLS:
        assert c not in html


def test_heading_names_area_period_and_date_with_attribution():
    html = _page()
    assert "<title>Contextual safeguarding: places of concern: Leeds, 1 Jan to 31 Dec 2024</title>" in html
    assert '<html lang="en-GB">' in html
    assert (
        "<h1>Contextual safeguarding: places of concern: Leeds, "
        '<span class="ctxrisk-shown">1 Jan to 31 Dec 2024</span></h1>'
    ) in html
    assert "Period: 1 Jan to 31 Dec 2024. Generated 5 December 2026 10:25 UTC." in html
    assert "Source: Office for National Statistics licensed under the Open Government Licence v3.0" in html
    assert "Contains OS data" in html and "Crown copyright and database right" in html
    assert "L.control.scale" in html
    assert "not analysed" in html


def test_boundaries_outside_the_analysed_area_are_left_out():
    from shapely.geometry import box

    b = F.boundaries()
    far = b.iloc[[0]].assign(code="E01012345", name="Liverpool 001A", geometry=[box(-2.99, 53.40, -2.98, 53.41)])
    html = _page(boundaries=pd.concat([b, far], ignore_index=True))
    assert "Liverpool 001A" not in html and "Leeds 111A" in html


# ----------------------------------------------------------------------------------------- colour


@pytest.mark.parametrize("vision", list(CVD_MATRICES))
def test_palettes_stay_distinct_under_colour_vision_deficiency(vision):
    gi = [c for b, (_label, c) in GI_BINS.items() if b != 0]
    emerging = list(EMERGING_COLOURS.values())
    assert delta_e(EMERGING_COLOURS["consecutive hot spot"], GI_BINS[3][1], vision=vision) >= 20
    for palette, least in ((gi, 15), (emerging, 8), (list(THEME_COLOURS.values()), 15)):
        assert min(delta_e(a, b, vision=vision) for a, b in combinations(palette, 2)) >= least
    assert min(delta_e(a, b, vision=vision) for a in emerging for b in gi) >= 8


# ------------------------------------------------------------------------------- planted markup


def _planted():
    b = F.boundaries()
    b["name"] = [f"{n} {XSS}" for n in b["name"]]
    b["code"] = [f"{c}{XSS}" for c in b["code"]]
    b["level"] = [f"{lev} {XSS}" for lev in b["level"]]
    em = F.emerging()
    em["category"] = [f"{c}{XSS}" if i == 1 else c for i, c in enumerate(em["category"])]
    em["theme"] = ["cse", f"x{XSS}", "cse", "cse", "cse"]
    locs = F.locations()
    locs["name"] = [f"{n} {XSS}" for n in locs["name"]]
    locs["trend"] = [f"{t} {XSS}" for t in locs["trend"]]
    locs["themes"] = [["cse", f"t{XSS}"], "cce", []]
    hot = F.hotspots()
    periods = [(f"2026 Q3 {XSS}", hot), ("all", hot)]
    return {
        "boundaries": b,
        "emerging": em,
        "locations": locs,
        "period_hotspots": periods,
        "periods": [label for label, _f in periods],
        "notes": [f"note {XSS} see https://example.org/x.png"],
        "title": f"Places {XSS}",
    }


def test_planted_markup_is_escaped_in_the_page_source():
    html = _page(**_planted())
    assert "<img src=x" not in html and "<svg onload" not in html
    assert "<script>alert" not in html
    assert html.count("Content-Security-Policy") == 1
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]


@pytest.fixture(scope="module")
def planted_page(tmp_path_factory):
    require_chromium()
    path = tmp_path_factory.mktemp("planted") / "steering.html"
    write_html(_page(**_planted()), path)
    return open_page(path)


_INJECTED = "() => document.querySelectorAll('img[src=\"x\"], [onerror], [onload], svg[onload]').length"
_OPEN_ALL = """() => {
    const map = Object.keys(window).filter(k => /^map_[0-9a-f]{32}$/.test(k)).map(k => window[k])[0];
    let injected = 0, opened = 0;
    const check = () => { injected += document.querySelectorAll('img[src="x"], [onerror], [onload]').length; };
    map.eachLayer(l => {
        if (l.getTooltip && l.getTooltip()) { l.openTooltip(l.getLatLng ? l.getLatLng() : map.getCenter()); opened++;
            check(); l.closeTooltip(); }
        if (l.getPopup && l.getPopup()) { l.openPopup(); opened++; check(); l.closePopup(); }
    });
    return [opened, injected];
}"""


@pytest.mark.browser
def test_planted_markup_never_runs_in_chromium(planted_page):
    page = planted_page.page
    assert planted_page.dialogs == []
    assert planted_page.console_errors == []  # not even a blocked inline script: nothing was injected
    assert planted_page.requests_external == []
    assert page.evaluate(_INJECTED) == 0
    opened, injected = page.evaluate(_OPEN_ALL)
    assert opened >= 8 and injected == 0
    page.wait_for_timeout(100)
    assert planted_page.dialogs == []
    # the text is shown as text
    assert XSS in page.inner_text("h1")
    assert any(XSS in t for t in page.eval_on_selector_all(".ctxrisk-filter label", "els => els.map(e => e.innerText)"))
    labels = page.eval_on_selector_all(".leaflet-control-layers label", "els => els.map(e => e.innerText)")
    assert any(XSS in t for t in labels)


@pytest.mark.browser
def test_csp_stops_markup_that_escaped_escaping(tmp_path):
    require_chromium()
    html = _page().replace("</header>", '</header><img src=x onerror="alert(7)"><script>alert(8)</script>', 1)
    path = tmp_path / "broken.html"
    write_html(html, path)
    report = open_page(path)
    assert report.dialogs == []
    assert any("Content Security Policy" in e for e in report.console_errors)


# ----------------------------------------------------------------------------------- accessibility


@pytest.fixture(scope="module")
def steering_page(tmp_path_factory):
    require_chromium()
    path = tmp_path_factory.mktemp("a11y") / "steering.html"
    write_html(_page(), path)
    return open_page(path)


@pytest.mark.browser
def test_axe_finds_no_wcag_a_or_aa_violation(steering_page):
    assert steering_page.console_errors == []
    assert axe_violations(steering_page.page) == []


@pytest.mark.browser
def test_keyboard_reaches_controls_then_places_and_never_shapes(steering_page):
    page = steering_page.page
    page.locator("body").focus()
    stops, seen = [], set()
    for _ in range(60):  # one round of the page's Tab order
        page.keyboard.press("Tab")
        key, kind = page.evaluate(
            "() => { const e = document.activeElement; "
            "if (!e.dataset.stop) { e.dataset.stop = String(Math.random()); } "
            "const key = e.dataset.stop; "
            "if (e.closest('.ctxrisk-badge')) return [key, 'badge']; "
            "if (e.closest('.leaflet-control')) return [key, 'control']; return [key, e.tagName.toLowerCase()]; }"
        )
        if key in seen or kind == "body":
            break
        seen.add(key)
        stops.append(kind)
    assert "path" not in stops
    # every badge not stacked under another at this zoom (a stacked one is named by the badge it is under)
    shown = page.locator(".ctxrisk-badge:not(.ctxrisk-stacked)").count()
    assert shown >= 1 and stops.count("badge") == shown
    first_badge = stops.index("badge")
    assert "control" in stops[:first_badge]
    assert page.locator("path.leaflet-interactive:not([tabindex='-1'])").count() == 0
    spoken = page.eval_on_selector_all(".ctxrisk-badge .ctxrisk-sr", "els => els.map(e => e.textContent)")
    assert "Place 1: Leeds 111A. Themes: Child sexual exploitation, County lines." in spoken


@pytest.mark.browser
def test_theme_filter_hides_places_without_a_ticked_theme(steering_page):
    page = steering_page.page
    boxes = [
        page.locator(".ctxrisk-filter label", has_text=label).locator("input")
        for label in ("Child criminal exploitation", "Missing children")
    ]
    for box in boxes:
        box.uncheck()
    visible = page.eval_on_selector_all(
        ".ctxrisk-badge", "els => els.filter(e => e.style.display !== 'none').map(e => e.textContent[0]).sort()"
    )
    assert visible == ["1"]  # place 2's themes are unticked; place 3 has no theme of 5 or more events
    for box in boxes:
        box.check()


@pytest.mark.browser
def test_a4_print_layout_has_title_legend_scale_attribution_and_no_controls(tmp_path):
    require_chromium()
    path = tmp_path / "print.html"
    write_html(_page(), path)
    page = open_page(path).page
    pdf = print_pdf(page)
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 1
    box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert box is not None and abs(float(box.group(1)) - 841.89) < 1 and abs(float(box.group(2)) - 595.28) < 1

    def shown(selector: str) -> bool:
        return page.eval_on_selector(selector, "e => getComputedStyle(e).display !== 'none'")

    for selector in (".leaflet-control-layers", ".leaflet-control-zoom", ".ctxrisk-filter input"):
        assert not shown(selector)
    for selector in ("h1", ".ctxrisk-legend", ".ctxrisk-filter", ".leaflet-control-scale", ".ctxrisk-attribution"):
        assert shown(selector)
    # the notes print open, the theme key prints without its check boxes
    assert page.eval_on_selector("details.ctxrisk-info", "d => d.open")
    assert page.locator(".ctxrisk-info p", has_text="Counts under 5 are shown as <5").is_visible()
    # the badges are inside the printed map frame
    frame = page.eval_on_selector(".folium-map", "e => e.getBoundingClientRect().toJSON()")
    badge = page.eval_on_selector(".ctxrisk-badge", "e => e.getBoundingClientRect().toJSON()")
    assert frame["left"] <= badge["left"] <= frame["right"] and frame["top"] <= badge["top"] <= frame["bottom"]
    # a print cannot be zoomed into a stack of badges: the places shown are listed by number under the heading
    assert shown(".ctxrisk-print-places")
    listed = page.inner_text(".ctxrisk-print-places")
    assert listed == "Places of concern: 1. Leeds 111A; 2. Leeds 111D; 3. Leeds 111B."
    page.emulate_media(media="screen")
    assert not shown(".ctxrisk-print-places")  # on screen the badges and their "+n" do it


@pytest.mark.browser
def test_period_slider_switches_hot_spots_and_marks_places(tmp_path):
    require_chromium()
    hot = F.hotspots()
    later = hot.assign(bin=[3 if i == 4 else 0 for i in range(len(hot))])  # no place's cell is hot in Q3
    periods = [("2026 Q3", later), ("2026 Q2", hot)]
    path = tmp_path / "periods.html"
    write_html(_page(period_hotspots=periods, periods=["2026 Q3", "2026 Q2"]), path)
    report = open_page(path)
    page = report.page
    assert report.console_errors == []

    def state() -> tuple[int, int, str, list[str]]:
        quiet = page.locator(".ctxrisk-badge.ctxrisk-quiet").count()
        cells = sum(
            d.count("M")
            for d in page.eval_on_selector_all(
                "path.leaflet-interactive[fill='#b2182b']", "els => els.map(e => e.getAttribute('d') || '')"
            )
        )  # rings: cells are drawn merged
        checked = page.eval_on_selector(
            ".leaflet-control-layers-base input:checked", "e => e.parentElement.textContent.trim()"
        )
        spoken = page.eval_on_selector_all(".ctxrisk-badge .ctxrisk-sr", "els => els.map(e => e.textContent)")
        return quiet, cells, checked, spoken

    quiet, cells, checked, spoken = state()
    assert (quiet, cells, checked) == (3, 1, "Hot spots: 2026 Q3")
    assert all(s.endswith("Not a hot spot in 2026 Q3.") for s in spoken)
    page.eval_on_selector(
        "#ctxrisk-period-slider", "e => { e.value = 1; e.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    quiet, cells, checked, spoken = state()
    assert (quiet, checked) == (0, "Hot spots: 2026 Q2") and cells == 3
    assert all(s.endswith("A hot spot in 2026 Q2.") for s in spoken)
    assert page.inner_text(".ctxrisk-period-label") == "2026 Q2"
    # the heading and the page title name the period shown, so a printed map says which quarter it is
    assert page.inner_text("h1").endswith(", 2026 Q2") and page.title().endswith(", 2026 Q2")
    assert "2026 Q3" not in page.inner_text("h1") + page.title()
    # the layer control's buttons drive the slider too
    page.locator(".leaflet-control-layers-base label", has_text="2026 Q3").locator("input").check()
    assert page.eval_on_selector("#ctxrisk-period-slider", "e => e.value") == "0"
    assert page.inner_text("h1").endswith(", 2026 Q3") and page.title().endswith(", 2026 Q3")
    assert axe_violations(page) == []


@pytest.mark.browser
def test_on_a_phone_the_panels_fold_and_leave_the_map_visible(tmp_path):
    require_chromium()
    path = tmp_path / "phone.html"
    write_html(_page(), path)
    page = open_page(path).page
    page.set_viewport_size({"width": 390, "height": 800})
    page.wait_for_timeout(200)
    covered = page.evaluate(
        """() => { const m = document.querySelector('.folium-map').getBoundingClientRect(); let a = 0;
        document.querySelectorAll('.leaflet-control').forEach(c => {
            const r = c.getBoundingClientRect(); a += r.width * r.height; });
        return a / (m.width * m.height); }"""
    )
    assert covered < 0.35
    legend = page.locator(".ctxrisk-legend", has_text="Hot spots (Getis-Ord")
    assert not legend.locator(".ctxrisk-legend-row").first.is_visible()
    legend.locator("h4").focus()
    page.keyboard.press("Enter")
    assert legend.locator(".ctxrisk-legend-row").first.is_visible()
    assert axe_violations(page) == []


@pytest.mark.browser
def test_theme_filter_also_switches_themed_cell_layers(tmp_path):
    require_chromium()
    hot = F.hotspots().assign(theme=["cse"] * 10 + ["county_lines"] * 9)
    em = F.emerging().assign(theme=["cse", "county_lines", "cse", "county_lines", "cse"])
    path = tmp_path / "themed.html"
    write_html(_page(hotspots=hot, emerging=em), path)
    page = open_page(path).page

    def ticked_layers() -> list[str]:
        return page.eval_on_selector_all(
            ".leaflet-control-layers-overlays label",
            "els => els.filter(e => e.querySelector('input').checked).map(e => e.textContent.trim())",
        )

    assert {"Hot spots: Child sexual exploitation", "Hot spots: County lines"} <= set(ticked_layers())
    page.locator(".ctxrisk-filter label", has_text="County lines").locator("input").uncheck()
    assert "Hot spots: County lines" not in ticked_layers()
    assert "Hot spots: Child sexual exploitation" in ticked_layers()
    # places under county lines only are hidden; place 1 (also CSE) stays
    visible = page.eval_on_selector_all(
        ".ctxrisk-badge", "els => els.filter(e => e.style.display !== 'none').map(e => e.textContent[0]).sort()"
    )
    assert "1" in visible
    page.locator(".ctxrisk-filter label", has_text="County lines").locator("input").check()
    assert "Hot spots: County lines" in ticked_layers()


@pytest.mark.browser
def test_on_a_phone_the_period_slider_stays_usable(tmp_path):
    require_chromium()
    hot = F.hotspots()
    path = tmp_path / "phone-periods.html"
    write_html(_page(period_hotspots=[("2026 Q3", hot), ("2026 Q2", hot)], periods=["2026 Q3", "2026 Q2"]), path)
    page = open_page(path).page
    page.set_viewport_size({"width": 390, "height": 800})
    page.wait_for_timeout(200)
    assert page.locator("#ctxrisk-period-slider").is_visible()
    assert page.inner_text(".ctxrisk-period-label") == "2026 Q3"


def test_cells_outside_the_analysed_district_are_not_drawn():
    from shapely.geometry import box

    hot = F.hotspots()
    # a Liverpool cell with 4 of the 136 events drawn: under 4%, so Liverpool is not analysed
    far = hot.iloc[[0]].assign(unit_id="far", count=4, geometry=[box(-2.99, 53.40, -2.98, 53.41)])
    html = _page(hotspots=pd.concat([hot, far], ignore_index=True))
    assert re.search(r"\[-2\.9[89]\d{4}, 53\.4[01]\d{4}\]", html) is None  # no vertex of the Liverpool cell
    assert "Hot spot, 99% confidence" in html and re.search(r"\[-1\.\d{6}, 53\.\d{6}\]", html)  # the others


@pytest.mark.browser
def test_hot_spot_cells_are_visible_at_the_opening_zoom(steering_page):
    page = steering_page.page
    # each ring of the 99% class's merged outline (one per cell here: they are apart), its box on screen
    sizes = page.eval_on_selector_all(
        "path.leaflet-interactive[fill='#b2182b']",
        "els => els.flatMap(e => (e.getAttribute('d') || '').split('M').filter(Boolean).map(ring => {"
        " const v = ring.match(/-?[0-9.]+/g).map(Number), xs = v.filter((_, i) => i % 2 === 0),"
        " ys = v.filter((_, i) => i % 2 === 1);"
        " return Math.min(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys))"
        " + parseFloat(e.getAttribute('stroke-width')); }))",
    )
    zoom = page.evaluate(
        "() => Object.keys(window).filter(k => /^map_[0-9a-f]{32}$/.test(k)).map(k => window[k].getZoom())[0]"
    )
    assert zoom < 12 and len(sizes) == 3  # the whole district in view, its three 99% cells drawn
    # a 0.1 km2 cell is about 6 px across at this zoom (the outline's box); its 5 px edge makes it 11
    assert min(sizes) >= 10


def test_real_city_of_london_months_map_the_city(tmp_path):
    # data we did not make: six months of police.uk street crime for the City of London, no boundaries loaded
    from support import shared_data_path

    from ctxrisk.analytics.hotspots import run_emerging, run_hotspots
    from ctxrisk.maps.steering_page import steering_page
    from ctxrisk.pipelines.runner import ingest_one
    from ctxrisk.pipelines.settings import load_settings
    from ctxrisk.pipelines.warehouse import connect

    folder = shared_data_path("police_uk", "street", "city-of-london-monthly")
    settings = load_settings(None, warehouse=tmp_path / "city.duckdb")
    con = connect(settings=settings)
    for path in sorted(folder.glob("*-city-of-london-street.csv"))[:6]:
        ingest_one(con, "police-uk-street", path, settings=settings)
    run_hotspots(con, settings=settings)
    run_emerging(con, settings=settings)
    page = steering_page(con, settings=settings, period="all")
    con.close()
    heading = re.search(r"<h1>(.*?)</h1>", page.html).group(1)
    assert heading.startswith("Contextual safeguarding: places of concern: City of London")
    assert "Westminster: not analysed" in page.html and "City of London: not analysed" not in page.html
    assert "No places of concern are ranked for this edition." in page.html


def test_the_subtitle_names_every_period_to_choose_from():
    hot = F.hotspots()
    html = _page(period_hotspots=[("2026 Q3", hot), ("2026 Q2", hot)], periods=["all", "2026 Q3", "2026 Q2"])
    assert "Periods to choose from: all; 2026 Q3; 2026 Q2." in html


_COVERED_JS = """(b) => {
    const map = Object.keys(window).filter(k => /^map_[0-9a-f]{32}$/.test(k)).map(k => window[k])[0];
    const box = map.getContainer().getBoundingClientRect();
    const sw = map.latLngToContainerPoint(b[0]), ne = map.latLngToContainerPoint(b[1]);
    const a = {l: box.left + sw.x, r: box.left + ne.x, t: box.top + ne.y, b: box.top + sw.y};
    const inside = a.l >= box.left - 1 && a.r <= box.right + 1 && a.t >= box.top - 1 && a.b <= box.bottom + 1;
    const covered = [];
    document.querySelectorAll('.leaflet-control').forEach(c => {
        const r = c.getBoundingClientRect();
        const w = Math.min(r.right, a.r) - Math.max(r.left, a.l), h = Math.min(r.bottom, a.b) - Math.max(r.top, a.t);
        if (w > 0 && h > 0) { covered.push(c.className.split(' ')[1] || c.className); }
    });
    return {inside: inside, covered: covered, width: a.r - a.l}; }"""


@pytest.mark.browser
@pytest.mark.parametrize("district", [None, "City of London"])
def test_on_a_phone_no_panel_covers_the_analysed_area(tmp_path, district):
    """A phone opening the page (390 x 800) sees the whole analysed area clear of every panel, for a large
    district and for the small, wide City of London: the district's top sat under the period panel before the
    map was fitted into the band between the top and bottom panels."""
    from ctxrisk.pipelines.lad import local_authority

    require_chromium()
    hot = F.hotspots()
    fmap = build_steering_map(
        boundaries=F.boundaries(),
        hotspots=hot,
        emerging=F.emerging(),
        locations=F.locations(),
        periods=["2026 Q3", "2026 Q2"],
        period_hotspots=[("2026 Q3", hot), ("2026 Q2", hot)],
        settings=F.settings(),
        generated=DAY,
        analysed=None if district is None else local_authority(district),
    )
    path = tmp_path / "phone-area.html"
    write_html(render_self_contained(fmap, title=fmap.ctxrisk_title), path)
    page = open_page(path).page
    page.set_viewport_size({"width": 390, "height": 800})
    page.reload()  # a phone lays the page out at its own size from the start
    page.wait_for_timeout(300)
    assert page.locator("#ctxrisk-period-slider").is_visible()
    got = page.evaluate(_COVERED_JS, fmap.ctxrisk_bounds)
    assert got["inside"] and got["covered"] == [] and got["width"] > 200, got
