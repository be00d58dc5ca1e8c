"""Wording shared by the steering map and the outcome report: periods, dates and trend words.

Both pages print a period, a date and a direction of change the same way, as a UK board paper would:
``2026 Q3``, ``5 Dec 2026``, ``1 Jul to 30 Sep 2026``, ``Generated 5 December 2026 10:25 UTC``, and the trend
words ``rising``, ``falling`` and ``no clear change``. This module imports nothing from the project, so every
page module may import it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

__all__ = [
    "FALLING",
    "NO_CLEAR_CHANGE",
    "RISING",
    "TREND_WORDS",
    "day_text",
    "generated_text",
    "month_text",
    "period_label",
    "period_long_label",
    "quarter_text",
    "span_text",
]

#: A change or trend that a test says is unlikely to be chance, upwards.
RISING = "rising"
#: A change or trend that a test says is unlikely to be chance, downwards.
FALLING = "falling"
#: A change too small (or too uncertain) to call a change.
NO_CLEAR_CHANGE = "no clear change"
#: Mann-Kendall results (:mod:`ctxrisk.analytics.mannkendall`) -> the words both pages print.
TREND_WORDS: dict[str, str] = {"increasing": RISING, "decreasing": FALLING, "no trend": NO_CLEAR_CHANGE}


def quarter_text(year: int, quarter: int) -> str:
    """``2026 Q3`` for the third quarter of 2026."""
    if not 1 <= quarter <= 4:
        msg = f"quarter must be 1-4, got {quarter!r}"
        raise ValueError(msg)
    return f"{year} Q{quarter}"


def month_text(d: date) -> str:
    """``July 2026`` for any day of July 2026."""
    return f"{d:%B %Y}"


def period_label(kind: str, first: date, last: date) -> str:
    """A period's short name: ``2026 Q3``, ``July 2026``, ``2026`` or, for a range, ``1 Jul to 13 Aug 2026``.

    Parameters
    ----------
    kind : str
        ``"quarter"``, ``"month"``, ``"year"`` or ``"range"``.
    first, last : datetime.date
        The period's first and last days (both included).
    """
    if kind == "quarter":
        return quarter_text(first.year, (first.month - 1) // 3 + 1)
    if kind == "month":
        return month_text(first)
    if kind == "year":
        return f"{first:%Y}"
    if kind == "range":
        return span_text(first, last)
    msg = f"period kind must be quarter, month, year or range, got {kind!r}"
    raise ValueError(msg)


def period_long_label(kind: str, first: date, last: date) -> str:
    """The short name with its days: ``2026 Q3 (1 Jul to 30 Sep 2026)``; a range is its days alone."""
    dates = span_text(first, last)
    return dates if kind == "range" else f"{period_label(kind, first, last)} ({dates})"


def day_text(d: date) -> str:
    """``5 Dec 2026``: a day as the pages print it in tables and sentences."""
    return f"{d.day} {d:%b %Y}"


def span_text(first: date, last: date) -> str:
    """Two days, both included: ``1 Jul to 30 Sep 2026``; ``1 to 31 Jul 2026`` within a month; ``1 Oct 2025 to
    31 Mar 2026`` across a year; ``4 Jul 2026`` for one day."""
    if first == last:
        return day_text(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day} to {day_text(last)}"
    if first.year == last.year:
        return f"{first.day} {first:%b} to {day_text(last)}"
    return f"{day_text(first)} to {day_text(last)}"


def generated_text(when: date | datetime) -> str:
    """``5 December 2026 10:25 UTC`` for a time (an aware time is turned to UTC; a naive one is taken as UTC),
    ``5 December 2026`` for a date."""
    if not isinstance(when, datetime):
        return f"{when.day} {when:%B %Y}"
    utc = when.astimezone(UTC) if when.tzinfo is not None else when
    return f"{utc.day} {utc:%B %Y %H:%M} UTC"
