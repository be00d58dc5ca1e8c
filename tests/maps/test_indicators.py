"""Tests for maps/indicators.py: periods, the default period, and pinned counts from a tiny warehouse."""

from __future__ import annotations

from datetime import date

import pytest
from support.report_fixtures import THEMES, build_tiny_warehouse

from ctxrisk.maps import indicators as ind
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.warehouse import connect

Q3 = ind.parse_period("2026Q3")
Q2 = Q3.previous()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    settings = load_settings(None, warehouse=folder / "w.duckdb")
    con = connect(settings=settings)
    build_tiny_warehouse(con, settings, folder / "files")
    yield con, settings
    con.close()


def test_parse_period_forms_and_previous():
    assert (Q3.start, Q3.end, Q3.label) == (date(2026, 7, 1), date(2026, 10, 1), "2026 Q3")
    assert (Q2.start, Q2.end, Q2.kind) == (date(2026, 4, 1), date(2026, 7, 1), "quarter")
    assert ind.parse_period("2026-q1").previous().label == "2025 Q4"
    month = ind.parse_period("2026-03")
    assert (month.end, month.previous().start) == (date(2026, 4, 1), date(2026, 2, 1))
    year = ind.parse_period("2025")
    assert (year.days, year.previous().label) == (365, "2024")
    assert Q3.long_label == "2026 Q3 (1 Jul to 30 Sep 2026)"


def test_range_period_compares_with_equal_length_before():
    p = ind.period_from_dates("2026-07-15", "2026-08-13")
    assert (p.days, p.end) == (30, date(2026, 8, 14))
    prev = p.previous()
    assert (prev.start, prev.end, prev.days) == (date(2026, 6, 15), date(2026, 7, 15), 30)
    assert p.label == "15 Jul to 13 Aug 2026"


@pytest.mark.parametrize("text", ["2026Q5", "26Q1", "2026-13", "last quarter", ""])
def test_bad_periods_are_refused(text):
    with pytest.raises(ValidationError, match="period"):
        ind.parse_period(text)


def test_bad_ranges_are_refused():
    with pytest.raises(ValidationError, match="before --since"):
        ind.period_from_dates("2026-08-01", "2026-07-01")
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        ind.period_from_dates("01/07/2026", "2026-08-01")


def test_default_period_is_last_quarter_complete_by_calendar_and_data(tiny):
    con, _ = tiny
    # the tiny data end on 20 September 2026, so 2026 Q3 is not complete by the data
    assert ind.default_period(con, today=date(2026, 11, 26)).label == "2026 Q2"
    assert ind.default_period(con, today=date(2026, 5, 2)).label == "2026 Q1"


def test_incidents_by_theme_uses_uk_local_dates(tiny):
    con, _ = tiny
    q3 = ind.incidents_by_theme(con, Q3, themes=THEMES)
    assert list(q3["theme"]) == list(THEMES)
    assert dict(zip(q3["theme"], q3["incidents"], strict=True)) == {
        "cse": 6,
        "cce": 2,
        "county_lines": 5,
        "missing": 0,
        "radicalisation": 0,
        "modern_slavery": 0,
        "serious_violence": 0,
        "other": 0,
    }
    q2 = ind.incidents_by_theme(con, Q2, themes=THEMES).set_index("theme")["incidents"]
    assert (q2["cse"], q2["county_lines"], q2.sum()) == (5, 7, 12)


def test_incidents_by_quarter_grid(tiny):
    con, _ = tiny
    grid = ind.incidents_by_quarter(con, first=date(2026, 1, 15), last=date(2026, 9, 30), themes=THEMES)
    assert len(grid) == 3 * len(THEMES)
    totals = grid.groupby("quarter")[["incidents", "unlocated", "coarse_time"]].sum()
    assert totals.loc["2026 Q1"].tolist() == [0, 0, 0]
    assert totals.loc["2026 Q3"].tolist() == [13, 1, 1]


def test_missing_summary_pinned(tiny):
    con, _ = tiny
    q3 = dict(ind.missing_summary(con, Q3).itertuples(index=False))
    assert q3 == {
        "episodes": 12,
        "episodes_missing": 10,
        "episodes_away": 2,
        "children": 6,
        "children_repeat": 2,
        "returns": 11,
        "rhi_offered_72h": 9,
        "rhi_completed_72h": 6,
        "episodes_no_found_place": 3,
        "episodes_source:partnership": 12,
    }
    q2 = dict(ind.missing_summary(con, Q2).itertuples(index=False))
    # the episode that starts on 30 June counts in 2026 Q2; its return (1 July) in 2026 Q3
    assert (q2["episodes"], q2["children"], q2["returns"], q2["rhi_offered_72h"], q2["rhi_completed_72h"]) == (
        7,
        7,
        6,
        6,
        4,
    )


def test_screenings_latest_level_full_wins_a_tie(tiny):
    con, settings = tiny
    q3 = ind.screenings_by_risk(con, Q3, levels=settings.screening.risk_levels)
    assert q3.to_dict("list") == {"risk_level": ["low", "medium", "high"], "children": [1, 5, 1]}
    assert ind.screenings_by_risk(con, Q2, levels=("low", "medium", "high"))["children"].tolist() == [0, 1, 0]


def test_referrals_by_type(tiny):
    con, _ = tiny
    q3 = ind.referrals_by_type(con, Q3)
    assert q3.to_dict("list") == {
        "referral_type": ["nrm", "mace", "channel", "early_help", "other"],
        "referrals": [2, 5, 0, 6, 0],
    }


def test_data_quality_and_absent_optional_sources(tiny):
    con, _ = tiny
    dq = dict(ind.data_quality(con, Q3).itertuples(index=False))
    assert dq == {"incidents": 13, "unlocated": 1, "out_of_area": 0, "day_precision": 1, "month_precision": 0}
    assert ind.locations_of_concern(con) is None
    assert ind.annex_a_summary(con) is None
    assert ind.missing_sources(con) == ["partnership"]


def test_locations_of_concern_reads_only_display_columns(tiny):
    con, _ = tiny
    con.execute(
        "create table marts.locations_of_concern as select * from (values "
        "(2, '8919', 7.5, 11, 'rising', 53.1, -2.4), (1, '8918', 9.1, 30, 'steady', 53.2, -2.5)) "
        "t(rank, unit_id, score, count, trend, latitude, longitude)"
    )
    try:
        top = ind.locations_of_concern(con, top=1)
        assert list(top.columns) == ["rank", "unit_id", "score", "count", "trend"]
        assert top["unit_id"].tolist() == ["8918"]
    finally:
        con.execute("drop table marts.locations_of_concern")


def test_missing_views_are_reported(tmp_path):
    import duckdb

    con = duckdb.connect(str(tmp_path / "bare.duckdb"))
    con.execute("create schema marts")
    with pytest.raises(ValidationError, match="no marts.indicators_incidents view"):
        ind.check_views(con)


def test_incident_facts_give_the_same_answers_in_one_pass(tiny):
    con, _ = tiny
    facts = ind.incident_facts(con)
    assert facts.table.num_rows > 0
    assert ind.default_period(con, today=date(2026, 11, 1), facts=facts) == ind.default_period(
        con, today=date(2026, 11, 1)
    )
    dq = dict(ind.data_quality(con, Q3, facts=facts).itertuples(index=False))
    assert dq == {"incidents": 13, "unlocated": 1, "out_of_area": 0, "day_precision": 1, "month_precision": 0}
    empty = ind.data_quality(con, ind.parse_period("2001Q1"), facts=facts)
    assert empty["value"].tolist() == [0, 0, 0, 0, 0]
    start, end = date(2026, 1, 1), date(2027, 1, 1)
    with_facts = ind.incidents_daily(con, start=start, end=end, facts=facts)
    assert with_facts.equals(ind.incidents_daily(con, start=start, end=end))
    assert int(with_facts["incidents"].sum()) >= 13
