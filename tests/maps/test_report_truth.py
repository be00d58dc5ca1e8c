"""A truthful outcome report: data coverage, "no data" apart from "<5", periods stated, places by area name."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from support.report_fixtures import build_tiny_warehouse

from ctxrisk.maps.report import build_report
from ctxrisk.maps.report_locations import place_names
from ctxrisk.maps.steering_data import trend_text
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.warehouse import connect

FIXED = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    """The tiny warehouse with referrals ending 6 May 2026 and screenings ending 1 May 2026 (before 2026 Q3)."""
    folder = tmp_path_factory.mktemp("tiny-stopped")
    settings = load_settings(None, warehouse=folder / "w.duckdb")
    con = connect(settings=settings)
    build_tiny_warehouse(con, settings, folder / "files")
    con.execute("delete from raw.referrals where referred_at >= timestamptz '2026-06-01 00:00:00+01'")
    con.execute("delete from raw.screenings where screened_at >= timestamptz '2026-06-01 00:00:00+01'")
    yield con, settings
    con.close()


def _row(html: str, label: str) -> list[str]:
    m = re.search(r"<tr><th scope=\"row\"[^>]*>" + re.escape(label) + r"</th>(.*?)</tr>", html)
    assert m, label
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", m.group(1))]


def test_a_feed_that_ends_before_the_period_reads_no_data(stopped):
    con, settings = stopped
    html = build_report(con, period="2026Q3", settings=settings, generated_at=FIXED)
    assert _row(html, "All referrals") == ["6", "no data", "no data to compare"]
    assert _row(html, "National Referral Mechanism (NRM)") == ["&lt;5", "no data", "no data to compare"]
    assert _row(html, "All children screened")[:2] == ["&lt;5", "no data"]
    assert "Referrals (NRM, MACE, Channel, early help and other): no data for 2026 Q3" in html
    # the data coverage section lists every feed with its first and last record and warns
    assert _row(html, "Referrals (NRM, MACE, Channel, early help)") == [
        "2 Apr 2026",
        "6 May 2026",
        "last record 6 May 2026, before 2026 Q3 starts: no data for it",
        "last record 6 May 2026, before 2026 Q2 ends (30 Jun 2026): figures cover only part of it",
    ]
    assert _row(html, "Exploitation risk screenings")[1] == "1 May 2026"
    assert _row(html, "Intelligence reports") == ["none", "none", "no records loaded", "no records loaded"]
    assert _row(html, "Stop and search")[2] == "no records loaded"
    warning = re.search(r'<div class="warning".*?</div>', html, flags=re.S).group(0)
    assert "Referrals (NRM, MACE, Channel, early help): last record 6 May 2026" in warning
    # the referrals chart marks the period as no data, never as a small number
    svg = re.search(r'<svg[^>]*aria-labelledby="referrals-title.*?</svg>', html, flags=re.S).group(0)
    assert svg.count(">no data</text>") == 5 and "2026 Q3, NRM: &lt;5" not in svg


def test_incident_quarters_before_the_first_record_read_no_data(stopped):
    con, settings = stopped
    html = build_report(con, period="2026Q3", settings=settings, generated_at=FIXED)
    assert _row(html, "All themes") == ["no data"] * 6 + ["12", "13"]
    assert _row(html, "Child criminal exploitation")[5:] == ["no data", "&lt;5", "&lt;5"]


def test_every_table_states_its_period(stopped):
    con, settings = stopped
    html = build_report(con, period="2026Q3", settings=settings, generated_at=FIXED)
    captions = re.findall(r"<caption>(.*?)</caption>", html)
    assert captions
    assert all(re.search(r"\d{4}Q\d|\d{4}", c) for c in captions), captions


def test_place_names_are_area_names_and_never_repeat():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "rank": [1, 2, 3, 4, 5],
            "name": [
                "Crewe Central (89195da49a3ffff)",
                "Crewe Central (89195da49b7ffff)",
                "Crewe Central (89195da4917ffff)",
                "H3 cell 89195da4933ffff",
                "Nantwich North (89195da4937ffff)",
            ],
            "ward_name": ["Crewe Central", "Crewe Central", "Crewe Central", None, "Nantwich North"],
            "lsoa_name": ["Cheshire East 014A", "Cheshire East 014B", "Cheshire East 014A", None, None],
        }
    )
    names = place_names(frame)
    assert names == [
        "Crewe Central, Cheshire East 014A, 1 of 2",
        "Crewe Central, Cheshire East 014B",
        "Crewe Central, Cheshire East 014A, 2 of 2",
        "Place ranked 4 (no area name: no boundaries loaded)",
        "Nantwich North",
    ]
    assert len(set(names)) == len(names) and not any(re.search(r"[0-9a-f]{15}", n) for n in names)


def _locations(con, rows: str) -> None:
    con.execute(
        "create or replace table marts.locations_of_concern as select * from (values " + rows + ") "
        "t(rank, unit_id, name, ward_name, lsoa_name, themes, score, count, distinct_children, trend, trend_p, "
        "run_at, parameters)"
    )


def test_locations_table_names_areas_states_its_span_and_uses_the_map_trend_words(stopped):
    con, settings = stopped
    params = '{"filters": {"since": "2026-01-01", "until": "2026-09-30"}}'
    _locations(
        con,
        f"(1, '89195da49a3ffff', 'Crewe Central (89195da49a3ffff)', 'Crewe Central', 'Cheshire East 014A', "
        f"'cse;county_lines', 9.1, 30, 6, 'increasing', 0.004, timestamptz '2026-10-02 08:00:00+00', '{params}'), "
        f"(2, '89195da49b7ffff', 'Crewe Central (89195da49b7ffff)', 'Crewe Central', 'Cheshire East 014B', "
        f"'cce', 7.5, 3, 2, 'no trend', 0.4, timestamptz '2026-10-02 08:00:00+00', '{params}')",
    )
    try:
        html = build_report(con, period="2026Q3", settings=settings, generated_at=FIXED)
    finally:
        con.execute("drop table marts.locations_of_concern")
    span = "records from 1 Jan 2026 to 30 Sep 2026, analysis run on 2 Oct 2026"
    assert f"Top locations of concern ({span})" in html
    assert _row(html, "1") == [
        "Crewe Central, Cheshire East 014A",
        "Child sexual exploitation, County lines",
        "9.10",
        "30",
        "6",
        trend_text("increasing", p=0.004),
    ]
    assert _row(html, "2")[0] == "Crewe Central, Cheshire East 014B"
    assert _row(html, "2")[3:5] == ["&lt;5", "&lt;5"]
    assert "89195da49" not in html


def test_no_place_flagged_is_a_clear_sentence(stopped):
    con, settings = stopped
    _locations(con, "(1, 'x', 'x', 'x', 'x', 'x', 1.0, 1, 1, 'x', 0.1, now(), '{}')")
    con.execute("delete from marts.locations_of_concern")
    try:
        html = build_report(con, period="2026Q3", settings=settings, generated_at=FIXED)
    finally:
        con.execute("drop table marts.locations_of_concern")
    assert "No place of concern was flagged." in html
    assert "No place of concern was flagged by the locations-of-concern analysis; the table is empty." in html


def test_a_url_in_a_place_name_never_stops_the_report(stopped):
    con, settings = stopped
    _locations(
        con,
        "(1, '89195da49a3ffff', 'x', 'See https://evil.example/t.png', null, 'cse', 9.1, 30, 6, 'no trend', 0.5, "
        "now(), '{}')",
    )
    try:
        html = build_report(con, period="2026Q3", settings=settings, generated_at=FIXED)
    finally:
        con.execute("drop table marts.locations_of_concern")
    assert _row(html, "1")[0] == "See https://evil.example/t.png"
    assert 'src="https://evil' not in html and "url(https://evil" not in html


def test_places_carry_the_steering_maps_names_and_themes(stopped):
    """Map and report name a place alike, and name a theme only at 5 or more events there, as the map does."""
    from ctxrisk.maps.steering_places import place_names as map_place_names

    con, settings = stopped
    con.execute(
        "create or replace table marts.locations_of_concern as select * from (values "
        "(1, '89195da49a3ffff', 'Crewe Central (89195da49a3ffff)', 'cse;county_lines', '{\"cse\": 6, "
        "\"county_lines\": 4}', 9.1, 30, 6, 'increasing', 0.004, 53.1000, -2.4400), "
        "(2, '89195da49b7ffff', 'Crewe Central (89195da49b7ffff)', 'cce;missing', '{\"cce\": 3, \"missing\": 2}', "
        "7.5, 7, 2, 'no trend', 0.4, 53.0950, -2.4420), "
        "(3, '89195da4933ffff', 'H3 cell 89195da4933ffff', 'missing;cse', '{\"cse\": 5, \"missing\": 9}', 5.0, 14, "
        "3, 'no trend', 0.4, 53.2600, -2.1250)) "
        "t(rank, unit_id, name, themes, counts_by_theme, score, count, distinct_children, trend, trend_p, latitude, "
        "longitude)"
    )
    try:
        html = build_report(con, period="2026Q3", settings=settings, generated_at=FIXED)
    finally:
        con.execute("drop table marts.locations_of_concern")
    rows = [_row(html, str(rank)) for rank in (1, 2, 3)]
    assert [r[0] for r in rows] == ["Crewe Central (north)", "Crewe Central (south)", "Cheshire East"]
    assert [r[0] for r in rows] == map_place_names(
        ["Crewe Central (89195da49a3ffff)", "Crewe Central (89195da49b7ffff)", "H3 cell 89195da4933ffff"],
        [53.1000, 53.0950, 53.2600],
        [-2.4400, -2.4420, -2.1250],
    )[:2] + ["Cheshire East"]
    # county lines (4 events), cce (3) and missing (2) are not named: the map hides them too
    assert [r[1] for r in rows] == [
        "Child sexual exploitation",
        "none with 5 or more events",
        "Child sexual exploitation, Missing children",
    ]


def test_time_to_next_episode_reads_no_data_when_the_missing_feed_stops_before_the_period(stopped):
    con, settings = stopped
    con.execute("begin")
    try:
        con.execute("delete from raw.missing_episodes where started_at >= timestamptz '2026-06-01 00:00:00+01'")
        html = build_report(con, period="2026Q3", settings=settings, generated_at=FIXED)
    finally:
        con.execute("rollback")
    assert _row(html, "Missing and away episodes")[1] == "no data"
    section = html.split("<h3>Time to the next episode</h3>", 1)[1]
    assert section.startswith("<p>No data: the missing episode records held do not reach 2026 Q3")
    assert "No child returned" not in html  # a claim of none where nothing is known


@pytest.fixture(scope="module")
def city_of_london(tmp_path_factory):
    """The 20 real City of London months (police.uk: every crime dated only to its month)."""
    from support import shared_data_path

    from ctxrisk.pipelines import runner

    folder = shared_data_path("police_uk", "street", "city-of-london-monthly")
    settings = load_settings(None, warehouse=tmp_path_factory.mktemp("col") / "w.duckdb")
    con = connect(settings=settings)
    runner.ingest_paths(con, "police-uk-street", sorted(folder.glob("*-street.csv")), settings=settings)
    yield con, settings
    con.close()


def test_month_dated_crimes_reach_the_end_of_their_last_month(city_of_london):
    """The files end with December 2024: the report covers 2024 Q4, which the incidents cover whole."""
    con, settings = city_of_london
    html = build_report(con, settings=settings, today=datetime(2026, 11, 26).date(), generated_at=FIXED)
    assert "outcome report: 2024 Q4" in html  # was 2024 Q3: the last crime read as 1 December
    assert _row(html, "Incidents") == ["1 May 2023", "31 Dec 2024", "covers 2024 Q4", "covers 2024 Q3"]
    assert "figures cover only part of it" not in html.split('id="coverage"', 1)[-1].split("</section>", 1)[0]


def test_at_a_glance_says_what_it_did_not_count(stopped):
    con, settings = stopped
    html = build_report(con, period="2026Q3", settings=settings, generated_at=FIXED)
    row = re.search(r"Incidents with no place recorded</t[hd]>(.*?)</tr>", html).group(1)
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
    assert cells[0] == "not counted" and "–" not in row  # was a bare dash: not a count, nor no data
