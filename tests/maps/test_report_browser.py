"""Headless Chromium test of the outcome report (tests/browser.py): no console errors, no requests, not blank."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from support.browser import open_page, require_chromium

from ctxrisk.maps.report import build_report
from ctxrisk.maps.selfcontained import write_html
from ctxrisk.pipelines.ingest import ingest_file
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.warehouse import connect

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report-browser")
    settings = load_settings(None, warehouse=folder / "w.duckdb")
    con = connect(settings=settings)
    for kind in ("persons", "incidents", "missing", "screenings", "referrals"):
        ingest_file(con, kind, SAMPLES / f"{kind}.csv", settings=settings)
    html = build_report(
        con, settings=settings, today=date(2026, 11, 26), generated_at=datetime(2026, 11, 26, tzinfo=UTC)
    )
    con.close()
    return write_html(html, folder / "report.html")


@pytest.mark.browser
def test_report_opens_cleanly_in_chromium(report_file):
    require_chromium()
    page = open_page(report_file)
    assert page.console_errors == []
    assert page.requests_external == []
    assert page.requests_local_failed == []
    assert page.non_blank_fraction > 0.03
    svgs = page.page.locator("svg.chart")
    assert svgs.count() == 4
    box = svgs.first.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 150
    assert page.page.locator("h1").inner_text().startswith("Contextual safeguarding outcome report: 2026Q3")
    # print layout: the page still lays out under print media, with its tables
    page.page.emulate_media(media="print")
    assert page.page.locator("table").count() >= 7
