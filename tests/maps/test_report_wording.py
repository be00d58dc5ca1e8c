"""The report and the steering map write periods, dates and changes the same way (ctxrisk.maps.wording)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from support import steering_fixtures as F
from support.report_fixtures import build_tiny_warehouse

from ctxrisk.maps import indicators as ind
from ctxrisk.maps.report import build_report
from ctxrisk.maps.selfcontained import render_self_contained
from ctxrisk.maps.steering import build_steering_map
from ctxrisk.maps.steering_data import resolve_periods
from ctxrisk.maps.wording import day_text, generated_text, quarter_text, span_text
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.warehouse import connect

FIXED = datetime(2026, 12, 5, 10, 25, tzinfo=UTC)


@pytest.fixture(scope="module")
def report_html(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wording")
    settings = load_settings(None, warehouse=folder / "w.duckdb")
    con = connect(settings=settings)
    build_tiny_warehouse(con, settings, folder / "files")
    yield build_report(con, period="2026Q3", settings=settings, generated_at=FIXED)
    con.close()


def _map_html(periods) -> str:
    fmap = build_steering_map(
        boundaries=F.boundaries(),
        hotspots=F.hotspots(),
        emerging=F.emerging(),
        locations=F.locations(),
        periods=periods,
        settings=F.settings(),
        generated=FIXED,
    )
    return render_self_contained(fmap, title=fmap.ctxrisk_title)


def test_wording_forms():
    assert quarter_text(2026, 3) == "2026 Q3"
    assert day_text(date(2026, 7, 1)) == "1 Jul 2026"
    assert span_text(date(2026, 7, 1), date(2026, 9, 30)) == "1 Jul to 30 Sep 2026"
    assert span_text(date(2025, 10, 1), date(2026, 3, 31)) == "1 Oct 2025 to 31 Mar 2026"
    assert span_text(date(2026, 7, 1), date(2026, 7, 31)) == "1 to 31 Jul 2026"
    assert span_text(date(2026, 7, 4), date(2026, 7, 4)) == "4 Jul 2026"
    assert generated_text(FIXED) == "5 December 2026 10:25 UTC"
    assert generated_text(datetime(2026, 7, 1, 9, 5, tzinfo=timezone(timedelta(hours=1)))) == "1 July 2026 08:05 UTC"
    assert generated_text(date(2026, 12, 5)) == "5 December 2026"
    with pytest.raises(ValueError, match="quarter must be 1-4"):
        quarter_text(2026, 5)


def test_report_and_map_name_a_quarter_alike():
    report = ind.parse_period("2026Q3")
    (spec,) = resolve_periods("2026-Q3", first_day=None, last_day=None)
    assert report.label == "2026 Q3" and report.long_label == spec.label == "2026 Q3 (1 Jul to 30 Sep 2026)"
    assert ind.parse_period("2026 Q3") == report  # the printed form is also accepted back


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("2026-07", "July 2026 (1 to 31 Jul 2026)"),
        ("2025", "2025 (1 Jan to 31 Dec 2025)"),
        ("2025Q4", "2025 Q4 (1 Oct to 31 Dec 2025)"),
    ],
)
def test_report_and_map_name_every_calendar_period_alike(text, label):
    (spec,) = resolve_periods(text, first_day=None, last_day=None)
    assert ind.parse_period(text).long_label == spec.label == label


def test_a_range_is_its_days_on_both_pages():
    (spec,) = resolve_periods("2026-07-15..2026-08-13", first_day=None, last_day=None)
    assert ind.period_from_dates("2026-07-15", "2026-08-13").long_label == spec.label == "15 Jul to 13 Aug 2026"


def test_report_and_map_print_the_same_generated_line(report_html):
    page = _map_html([("2026-07-01", "2026-09-30")])
    stamp = "Generated 5 December 2026 10:25 UTC."
    assert stamp in report_html and stamp in page
    assert "Period: 1 Jul to 30 Sep 2026." in page
    assert "Contextual safeguarding outcome report: 2026 Q3" in report_html
    assert "Period 2026 Q3 (1 Jul to 30 Sep 2026), compared with 2026 Q2 (1 Apr to 30 Jun 2026)." in report_html
    assert not re.search(r"\b20\d\dQ[1-4]\b", report_html + page)  # no "2026Q3" left on either page
