"""Data coverage of the outcome report: each feed's first and last record, and what that means for a period.

A feed that ends before a period starts (or starts after it ends) has **no data** for that period: its
counts there are shown as "no data", never as "<5" or "too few to compare". A feed that ends before the
period ends (or starts after it starts) covers only part of it, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from ctxrisk.maps import indicators as ind
from ctxrisk.maps.report_html import esc, objectives, table
from ctxrisk.maps.wording import day_text as _day

__all__ = [
    "FEEDS",
    "GRACE_DAYS",
    "FEED_OF_CELL",
    "Coverage",
    "FeedSpan",
    "coverage_section",
    "coverage_warnings",
    "read_coverage",
]

#: Feeds in the order the report lists them: key -> plain-English name.
FEEDS: dict[str, str] = {
    "incidents": "Incidents",
    "missing": "Missing episodes (missing and away)",
    "screenings": "Exploitation risk screenings",
    "referrals": "Referrals (NRM, MACE, Channel, early help)",
    "intelligence": "Intelligence reports",
    "stop_search": "Stop and search",
}
#: The feed each kind of report cell counts (cell key's first part -> feed).
FEED_OF_CELL: dict[str, str] = {
    "inc": "incidents",
    "inc_slice": "incidents",
    "dq": "incidents",
    "mis": "missing",
    "scr": "screenings",
    "ref": "referrals",
}


#: Days a feed's first record may come after a period starts, or its last before it ends, and still cover it.
GRACE_DAYS = 14


@dataclass(frozen=True)
class FeedSpan:
    """One feed's extent: ``first`` and ``last`` UK local dates of its records (None when it holds none)."""

    feed: str
    first: date | None
    last: date | None

    @property
    def loaded(self) -> bool:
        """True when the feed holds at least one record."""
        return self.first is not None and self.last is not None

    def empty(self, start: date, end: date) -> bool:
        """True when the feed can hold no record in ``[start, end)``: none loaded, or it ends or starts outside."""
        return not self.loaded or self.last < start or self.first >= end

    def describe(self, period: ind.Period) -> tuple[str, str]:
        """``(status, phrase)`` for the period: status ``none``, ``no_data``, ``partial`` or ``covered``.

        A feed is ``partial`` when its first record comes more than :data:`GRACE_DAYS` days after the period
        starts, or its last record more than that before the period ends (a sparse feed may have no record in
        a period's last days without stopping).
        """
        if not self.loaded:
            return "none", "no records loaded"
        if self.last < period.start:
            return "no_data", f"last record {_day(self.last)}, before {period.label} starts: no data for it"
        if self.first >= period.end:
            return "no_data", f"first record {_day(self.first)}, after {period.label} ends: no data for it"
        gaps = []
        if (self.first - period.start).days > GRACE_DAYS:
            gaps.append(f"first record {_day(self.first)}, after {period.label} starts")
        if (period.last_day - self.last).days > GRACE_DAYS:
            gaps.append(f"last record {_day(self.last)}, before {period.label} ends ({_day(period.last_day)})")
        if gaps:
            return "partial", "; ".join(gaps) + ": figures cover only part of it"
        return "covered", f"covers {period.label}"


@dataclass(frozen=True)
class Coverage:
    """Every feed's :class:`FeedSpan`."""

    spans: dict[str, FeedSpan]

    def empty(self, feed: str, start: date, end: date) -> bool:
        """True when ``feed`` holds no record in ``[start, end)`` because of where its records start or end."""
        return self.spans[feed].empty(start, end)


def read_coverage(con: duckdb.DuckDBPyConnection) -> Coverage:
    """Each feed's first and last record from ``marts.indicators_feed_coverage``.

    The mart dates a month-dated incident (police.uk) to its month's last day, so such a feed reaches the end
    of its last month."""
    ind.check_views(con)
    rows = con.execute("select feed, records, first_date, last_date from marts.indicators_feed_coverage").fetchall()
    got = {feed: FeedSpan(feed, first if n else None, last if n else None) for feed, n, first, last in rows}
    return Coverage({f: got.get(f, FeedSpan(f, None, None)) for f in FEEDS})


def coverage_warnings(coverage: Coverage, period: ind.Period) -> list[str]:
    """Sentences for the feeds that end before the period does (or start after it starts)."""
    out = []
    for feed, name in FEEDS.items():
        status, text = coverage.spans[feed].describe(period)
        if status in ("no_data", "partial"):
            out.append(f"{name}: {text}.")
    return out


def coverage_section(coverage: Coverage, period: ind.Period, previous: ind.Period, *, threshold: int) -> str:
    """The "Data coverage" section: a table of feeds and a warning for each one that stops short."""
    rows = []
    for feed, name in FEEDS.items():
        span = coverage.spans[feed]
        first = _day(span.first) if span.first else "none"
        last = _day(span.last) if span.last else "none"
        rows.append(
            [
                (name, ""),
                (first, ""),
                (last, ""),
                (span.describe(period)[1], ""),
                (span.describe(previous)[1], ""),
            ]
        )
    warnings = coverage_warnings(coverage, period)
    warn = (
        '<div class="warning" role="note"><p><strong>Some feeds stop short of the period.</strong> Their figures '
        "read “no data” where a feed holds no record for a period, and cover only part of a period where a "
        "feed starts or ends inside it: a low figure there is missing data, not low activity.</p><ul>"
        + "".join(f"<li>{esc(w)}</li>" for w in warnings)
        + "</ul></div>"
        if warnings
        else ""
    )
    caption = f"Feeds held, with their first and last record (UK dates), for {period.label} and {previous.label}"
    header = ["Feed", "First record", "Last record", period.label, previous.label]
    return (
        f'<section id="coverage"><h2>{objectives("Prepare")}Data coverage</h2>'
        "<p>Which records the warehouse holds. A period a feed does not reach is shown as “no data”, which is "
        f"not the same as a small number (“&lt;{threshold}”).</p>"
        + warn
        + table(caption, header, rows, text_cols=5)
        + "</section>"
    )
