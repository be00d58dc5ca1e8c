"""Headless Chromium tests of the outcome report: clean load, WCAG 2.1 AA (axe-core), planted markup inert,
tables that wrap on a phone, chart labels that do not overlap."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from support.browser import open_page, require_chromium
from support.report_fixtures import build_tiny_warehouse

from ctxrisk.maps.report import build_report
from ctxrisk.maps.selfcontained import write_html
from ctxrisk.pipelines.ingest import ingest_file
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.warehouse import connect

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"
AXE = Path(__file__).resolve().parents[1] / "support" / "axe" / "axe.min.js"
FIXED = datetime(2026, 11, 26, tzinfo=UTC)
PAYLOADS = (
    "<img src=x onerror=alert('img')>",
    '"><svg onload=alert("svg")>',
    "</title><script>alert('script')</script>",
    "javascript:alert('href')",
)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report-browser")
    settings = load_settings(None, warehouse=folder / "w.duckdb")
    con = connect(settings=settings)
    for kind in ("persons", "incidents", "missing", "screenings", "referrals"):
        ingest_file(con, kind, SAMPLES / f"{kind}.csv", settings=settings)
    html = build_report(con, settings=settings, today=date(2026, 11, 26), generated_at=FIXED)
    con.close()
    return write_html(html, folder / "report.html")


@pytest.fixture(scope="module")
def planted_file(tmp_path_factory):
    """The tiny warehouse with markup planted in every text field the report shows."""
    folder = tmp_path_factory.mktemp("report-xss")
    settings = load_settings(None, warehouse=folder / "w.duckdb")
    con = connect(settings=settings)
    build_tiny_warehouse(con, settings, folder / "files")
    a, b, c, d = PAYLOADS
    con.execute("update raw.incidents set theme = ? where theme = 'cce'", [a])
    con.execute("update raw.referrals set type = ? where type = 'nrm'", [b])
    con.execute("update raw.screenings set risk_level = ? where risk_level = 'high'", [c])
    con.execute("update raw.missing_episodes set source = ? where missing_type = 'away'", [d])
    con.execute(
        "create table marts.locations_of_concern as select * from (values "
        "(1, '89195da49a3ffff', ?, ?, ?, ?, 9.1, 30, 6, ?, 0.01, ?)) "
        "t(rank, unit_id, name, ward_name, lsoa_name, themes, score, count, distinct_children, trend, trend_p, "
        "parameters)",
        [a, b, c, f"{d};{a}", b, '{"filters": {"since": "<img src=x onerror=alert(9)>"}}'],
    )
    html = build_report(con, period="2026Q3", settings=settings, generated_at=FIXED)
    con.close()
    return write_html(html, folder / "planted.html")


def _axe(page) -> list[dict]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate(
        """() => axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
            .then(r => r.violations.map(v => ({
                id: v.id, help: v.help, targets: v.nodes.map(n => n.target.join(" "))})))"""
    )


@pytest.mark.browser
def test_report_opens_cleanly_in_chromium(report_file):
    require_chromium()
    page = open_page(report_file)
    assert page.console_errors == []
    assert page.requests_external == []
    assert page.requests_local_failed == []
    assert page.non_blank_fraction > 0.03
    svgs = page.page.locator("svg.chart")
    # screenings and referrals end before 2026 Q2 is over, so their charts would have nothing to draw
    assert svgs.count() == 2
    assert page.page.get_by_text("No chart: every figure here is small, withheld or has no data").count() == 2
    box = svgs.first.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 150
    assert page.page.title() == "Contextual safeguarding outcome report: 2026 Q3"
    assert page.page.locator("html").get_attribute("lang") == "en-GB"
    assert page.page.locator("h1").count() == 1
    assert page.page.locator("h1").inner_text().startswith("Contextual safeguarding outcome report: 2026 Q3")
    # print layout: on the width of an A4 page inside 15 mm margins (180 mm, 680 px) no table runs off the page
    page.page.emulate_media(media="print")
    page.page.set_viewport_size({"width": 680, "height": 1000})
    assert page.page.locator("table").count() >= 8
    widest = page.page.evaluate("() => Math.max(...[...document.querySelectorAll('table')].map(t => t.scrollWidth))")
    assert widest <= 680
    page.page.emulate_media(media="screen")
    page.page.set_viewport_size({"width": 900, "height": 650})


@pytest.mark.browser
@pytest.mark.parametrize("which", ["report_file", "planted_file"])
def test_report_meets_wcag_aa_in_axe(which, request):
    require_chromium()
    page = open_page(request.getfixturevalue(which))
    assert _axe(page.page) == []


@pytest.mark.browser
def test_axe_finds_a_planted_contrast_failure(report_file, tmp_path):
    require_chromium()
    bad = report_file.read_text(encoding="utf-8").replace("</main>", '<p style="color:#bbb">faint</p></main>')
    page = open_page(write_html(bad, tmp_path / "bad.html"))
    assert "color-contrast" in {v["id"] for v in _axe(page.page)}


def _dialogs_on_reload(page) -> list[str]:
    seen: list[str] = []

    def _dialog(dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", _dialog)
    page.reload(wait_until="load")
    page.wait_for_timeout(300)
    return seen


@pytest.mark.browser
def test_planted_markup_is_shown_as_text_and_never_runs(planted_file, tmp_path):
    require_chromium()
    page = open_page(planted_file)
    assert _dialogs_on_reload(page.page) == []
    assert page.page.locator("main img, main script, main svg:not(.chart), main a").count() == 0
    assert page.page.locator("svg.chart svg, svg.chart script, svg.chart img").count() == 0
    text = page.page.locator("main").inner_text()
    assert "<img src=x onerror=alert('img')>" in text  # the incident theme, as text
    assert '"><svg onload=alert("svg")>' in text  # the referral type and a ward name
    assert "</title><script>alert('script')</script>" in text  # the risk level
    assert "javascript:alert('href')" in text  # the episodes' source
    assert page.console_errors == [] and page.requests_external == []
    # the listener does catch a script that runs: the same payload unescaped, on a page with no policy
    control = open_page(write_html(f"<!DOCTYPE html><html><body>{PAYLOADS[0]}</body></html>", tmp_path / "c.html"))
    assert _dialogs_on_reload(control.page) == ["img"]


@pytest.mark.browser
def test_tables_wrap_on_a_phone(report_file):
    require_chromium()
    page = open_page(report_file).page
    page.set_viewport_size({"width": 360, "height": 740})
    page.wait_for_timeout(100)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360
    # a cell keeps its column's name on a narrow screen
    label = page.evaluate("""() => getComputedStyle(document.querySelector('td[data-label]'), '::before').content""")
    assert label.endswith(': "') or ": " in label
    # charts keep their size (text readable) and scroll sideways in their own frame, not the page
    sizes = page.evaluate(
        """() => [...document.querySelectorAll('svg.chart')].map(svg => {
            const frame = svg.closest('.chart-frame');
            const text = svg.querySelector('text').getBoundingClientRect().height;
            return [text, frame.scrollWidth > frame.clientWidth, frame.tabIndex];
        })"""
    )
    assert sizes and all(text >= 11 and scrolls and tab == 0 for text, scrolls, tab in sizes), sizes
    page.set_viewport_size({"width": 900, "height": 650})


@pytest.mark.browser
@pytest.mark.parametrize("which", ["report_file", "planted_file"])
def test_chart_labels_do_not_overlap(which, request):
    require_chromium()
    page = open_page(request.getfixturevalue(which)).page
    overlaps = page.evaluate(
        """() => {
            const out = [];
            for (const svg of document.querySelectorAll('svg.chart')) {
                const boxes = [...svg.querySelectorAll('text')].map(t => [t.textContent, t.getBoundingClientRect()]);
                for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
                    const [a, p] = boxes[i], [b, q] = boxes[j];
                    const dx = Math.min(p.right, q.right) - Math.max(p.left, q.left);
                    const dy = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
                    if (dx > 0.5 && dy > 0.5) out.push(svg.id + ': ' + a + ' / ' + b);
                }
            }
            return out;
        }"""
    )
    assert overlaps == []
