"""Tests for maps/report.py: the outcome report on a tiny warehouse (pinned cells) and on the committed sample."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.report_fixtures import build_tiny_warehouse, warehouse_secrets

from ctxrisk.maps.disclosure import scan_for_leaks
from ctxrisk.maps.language import find_terms
from ctxrisk.maps.report import build_report, change_phrase
from ctxrisk.maps.selfcontained import external_references
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.ingest import ingest_file
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.warehouse import connect

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"
FIXED = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-report")
    settings = load_settings(None, warehouse=folder / "w.duckdb")
    con = connect(settings=settings)
    build_tiny_warehouse(con, settings, folder / "files")
    yield con, settings
    con.close()


@pytest.fixture(scope="module")
def tiny_html(tiny):
    con, settings = tiny
    return build_report(con, period="2026Q3", settings=settings, generated_at=FIXED)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample-report")
    settings = load_settings(None, warehouse=folder / "w.duckdb")
    con = connect(settings=settings)
    for kind in (
        "persons",
        "incidents",
        "involvements",
        "missing",
        "associations",
        "intelligence",
        "screenings",
        "referrals",
    ):
        ingest_file(con, kind, SAMPLES / f"{kind}.csv", settings=settings)
    yield con, settings
    con.close()


def _row(html: str, label: str) -> list[str]:
    """Texts of the table cells of the first row whose header cell is ``label``."""
    m = re.search(r"<tr><th scope=\"row\"[^>]*>" + re.escape(label) + r"</th>(.*?)</tr>", html)
    assert m, label
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", m.group(1))]


def test_change_phrase():
    assert change_phrase(150, 100) == ("up", "rising (up 50%)")  # p = 0.0019
    assert change_phrase(1000, 1100) == ("down", "falling (down 9%)")  # p = 0.031
    assert change_phrase(113, 100) == ("same", "no clear change")  # up 13% but p = 0.41: may well be chance
    assert change_phrase(7, 0) == ("up", "rising (up from 0)")  # p = 0.016
    assert change_phrase(None, 100) == ("", "too few to compare")


def test_tiny_report_pinned_cells(tiny_html):
    html = tiny_html
    # incidents: 12 -> 13; the two county lines incidents either side of midnight on 30 June fall by UK date
    assert _row(html, "All themes")[-2:] == ["12", "13"]
    assert _row(html, "Child criminal exploitation")[-1] == "&lt;5"
    # 2026 Q2: 12 = 5 + 7 + six zeros, so cse and county lines are withheld, else the zeros would be known
    assert _row(html, "County lines")[-2:] == ["withheld", "5"]
    # missing: 12 episodes (10 missing, 2 away): the 10 is withheld, else 12 - 10 gives the 2
    assert _row(html, "Missing and away episodes") == ["withheld", "12", "too few to compare"]
    # 2026 Q2's 7 is withheld too: the measures table's episodes are tied to this table's (the same figure
    # when no episode is recorded by both sources), and with them published the 7 would narrow the "<5"s
    assert _row(html, "of which missing") == ["withheld", "withheld", "too few to compare"]
    assert _row(html, "Children with an episode") == ["7", "6", "no clear change"]
    # 9 of 11 returns offered within 72 h: the 2 not offered is small, so no share and the 9 is withheld
    assert _row(html, "Return home interview offered within 72 hours")[1] == "withheld"
    assert _row(html, "Offered within 72 hours of return") == [
        "not shown (returns withheld)",
        "not shown: small numbers (11 returns)",
        "too few to compare",
    ]
    assert _row(html, "Completed within 72 hours of return")[1] == "55% (6 of 11 returns)"
    assert _row(html, "Medium risk")[:2] == ["&lt;5", "5"]
    assert _row(html, "All children screened")[:2] == ["&lt;5", "7"]
    assert _row(html, "All referrals") == ["6", "13", "no clear change"]  # 6 then 13: p = 0.17
    assert "Incidents recorded: 13 in 2026 Q3 against 12 in 2026 Q2: no clear change." in html


def test_tiny_report_is_self_contained_and_static(tiny_html):
    assert tiny_html.startswith("<!DOCTYPE html>")
    assert "<script" not in tiny_html.lower()
    assert external_references(tiny_html) == []
    assert re.search(r"https?://(?!www\.w3\.org)", tiny_html) is None
    assert "@media print" in tiny_html
    assert tiny_html.count('role="img"') == 4 and tiny_html.count("<desc ") == 4


def test_tiny_report_says_hotspot_analysis_has_not_been_run(tiny_html):
    assert "Hotspot analysis has not been run" in tiny_html


def test_tiny_report_leaks_no_person_id_or_coordinate(tiny, tiny_html):
    con, _ = tiny
    ids, coords = warehouse_secrets(con)
    assert len(ids) == 15 and len(coords) > 40
    assert scan_for_leaks(tiny_html, person_ids=ids, coordinates=coords) == []
    # the scan itself finds a planted leak
    planted = tiny_html.replace("</main>", f"<p>{ids[3]} {coords[5][0]:.5f}, {coords[5][1]:.5f}</p></main>")
    assert {leak.kind for leak in scan_for_leaks(planted, person_ids=ids, coordinates=coords)} == {
        "person_id",
        "coordinate",
    }


def test_tiny_report_uses_appropriate_language(tiny_html):
    assert find_terms(tiny_html) == []


def test_charts_never_draw_a_suppressed_number(tiny_html):
    # every bar/point carries a tooltip "<series>, <category>: <value>"; none may be below the threshold
    values = [int(v.replace(",", "")) for v in re.findall(r"<title>[^<]*: ([\d,]+)</title>", tiny_html)]
    assert values and min(values) >= 5


def test_threshold_from_settings(tiny):
    con, settings = tiny
    from dataclasses import replace

    strict = replace(settings, privacy=replace(settings.privacy, suppression_threshold=10))
    html = build_report(con, period="2026Q3", settings=strict, generated_at=FIXED)
    assert _row(html, "All referrals") == ["&lt;10", "13", "too few to compare"]
    assert "&lt;5" not in html


def test_range_period_and_bad_period(tiny):
    con, settings = tiny
    from ctxrisk.maps.indicators import period_from_dates

    html = build_report(
        con, period=period_from_dates("2026-07-01", "2026-09-30"), settings=settings, generated_at=FIXED
    )
    assert "1 Jul to 30 Sep 2026" in html and "31 Mar to 30 Jun 2026" in html
    with pytest.raises(ValidationError, match="not a quarter"):
        build_report(con, period="Q3", settings=settings)


def test_locations_and_annex_a_sections_when_present(tiny):
    con, settings = tiny
    con.execute(
        "create table marts.locations_of_concern as select * from (values "
        "(1, '89195da49a3ffff', 'H3 cell 89195da49a3ffff', 'cse;county_lines', 9.1, 30, 6, 'increasing'), "
        "(2, '89195da49b7ffff', 'H3 cell 89195da49b7ffff', 'cce', 7.5, 3, 2, 'no trend')) "
        "t(rank, unit_id, name, themes, score, count, distinct_children, trend)"
    )
    con.execute(
        "insert into raw.annex_a_children (person_id, missing_episodes_12m, absent_episodes_12m, rhi_offered,"
        " rhi_accepted, file_id) select 'aa-' || i, (i % 3)::int, 0, i % 3 > 0, i % 2 = 0, 'f'"
        " from range(30) t(i)"
    )
    try:
        html = build_report(con, period="2026Q3", settings=settings, generated_at=FIXED)
    finally:
        con.execute("drop table marts.locations_of_concern")
        con.execute("delete from raw.annex_a_children")
    assert "Hotspot analysis has not been run" not in html
    assert _row(html, "1") == [
        "Place ranked 1 (no area name: no boundaries loaded)",
        "Child sexual exploitation, County lines",
        "9.10",
        "30",
        "6",
        "rising (Mann-Kendall test of monthly counts)",
    ]
    assert _row(html, "2")[3:5] == ["&lt;5", "&lt;5"]
    assert _row(html, "Children looked after in the Annex A list") == ["30"]
    assert _row(html, "Children with a missing episode in the last 12 months") == ["20"]
    assert _row(html, "Children who accepted a return interview") == ["15"]


def test_sample_report_end_to_end(sample):
    con, settings = sample
    html = build_report(con, settings=settings, today=datetime(2026, 11, 26).date(), generated_at=FIXED)
    assert "outcome report: 2026 Q3" in html
    assert _row(html, "All themes")[-2:] == ["640", "754"]
    assert _row(html, "Missing and away episodes") == ["85", "91", "no clear change"]
    assert _row(html, "Offered within 72 hours of return")[:2] == ["60% (43 of 72 returns)", "75% (57 of 76 returns)"]
    ids, coords = warehouse_secrets(con)
    assert len(ids) == 2000 and len(coords) > 5000
    assert scan_for_leaks(html, person_ids=ids, coordinates=coords) == []
    assert find_terms(html) == []
    assert external_references(html) == []


def test_ssda903_episodes_are_shown_by_source(tiny):
    con, settings = tiny
    con.execute(
        "insert into raw.missing_episodes (episode_id, person_id, started_at, started_precision, ended_at,"
        " missing_type, source, file_id) select '903:x' || i, 'c903-' || i, timestamptz '2026-08-01 09:00'"
        " + to_days(i::int), 'day', null, 'missing', 'ssda903', 'f903' from range(6) t(i)"
    )
    try:
        html = build_report(con, period="2026Q3", settings=settings, generated_at=FIXED)
    finally:
        con.execute("delete from raw.missing_episodes where source = 'ssda903'")
    assert _row(html, "from partnership records")[1] == "12"
    assert _row(html, "from SSDA903 returns (children looked after)")[1] == "6"
    assert _row(html, "Missing and away episodes")[1] == "18"
