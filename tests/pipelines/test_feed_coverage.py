"""Tests for marts.indicators_feed_coverage: each feed's first and last record as UK local dates."""

import pytest


def _incident(con, incident_id: str, occurred_at: str, precision: str) -> None:
    con.execute(
        "insert into raw.incidents (incident_id, source, occurred_at, time_precision, category, theme, located, "
        "file_id) values (?, 'police_uk', ?::timestamptz, ?, 'other crime', 'cse', false, 'f1')",
        [incident_id, occurred_at, precision],
    )


def _incidents_span(con) -> tuple:
    return con.execute(
        "select records, first_date::varchar, last_date::varchar from marts.indicators_feed_coverage "
        "where feed = 'incidents'"
    ).fetchone()


def test_month_dated_incident_lasts_to_its_months_last_day(con):
    # police.uk dates a crime to its month (stored as the 1st): it is a record of the whole of February
    _incident(con, "a", "2026-01-10 12:00:00+00", "minute")
    _incident(con, "b", "2026-02-01 00:00:00+00", "month")
    assert _incidents_span(con) == (2, "2026-01-10", "2026-02-28")


def test_a_later_exact_date_still_wins_over_an_earlier_month(con):
    _incident(con, "a", "2026-02-01 00:00:00+00", "month")
    _incident(con, "b", "2026-03-05 09:30:00+00", "minute")
    assert _incidents_span(con) == (2, "2026-02-01", "2026-03-05")


@pytest.mark.parametrize("precision", ["minute", "day"])
def test_exact_dates_are_their_own_last_day(con, precision):
    _incident(con, "a", "2026-02-01 10:00:00+00", precision)
    assert _incidents_span(con) == (1, "2026-02-01", "2026-02-01")
