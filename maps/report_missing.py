"""The outcome report's missing-children section: episodes, children missing repeatedly, return home interviews.

Return home interviews are shown first as **rates** (offered within 72 hours, completed within 72 hours, over
the children's returns in the period) with the counts behind them; every count is suppressed as the rest of
the report, and a rate is worked out only from published counts (:meth:`ctxrisk.maps.report_cells.Page.pct`).

The figures come from one function, :func:`missing_figures`; to build the section from another summary (such
as ``ctxrisk missing summary``), give it a frame of the same ``indicator``/``value`` rows.
"""

from __future__ import annotations

from collections.abc import Hashable

import duckdb
import pandas as pd

from ctxrisk.maps import indicators as ind
from ctxrisk.maps.charts import bar_chart
from ctxrisk.maps.report_cells import Cells, Page
from ctxrisk.maps.report_html import NO_CHART, objectives, table

__all__ = ["MISSING_INDICATORS", "missing_cells", "missing_figures", "missing_section", "rhi_rate", "rhi_rows"]

#: Indicators the section needs from :func:`missing_figures` (counts, whole numbers).
MISSING_INDICATORS: tuple[str, ...] = (
    "episodes_missing",
    "episodes_away",
    "children",
    "children_repeat",
    "returns",
    "rhi_offered_72h",
    "rhi_completed_72h",
    "episodes_no_found_place",
)
SOURCE_LABELS = {"partnership": "partnership records", "ssda903": "SSDA903 returns (children looked after)"}
_RHI = (
    ("Offered within 72 hours of return", "rhi_offered_72h"),
    ("Completed within 72 hours of return", "rhi_completed_72h"),
)


def missing_figures(con: duckdb.DuckDBPyConnection, period: ind.Period) -> pd.DataFrame:
    """The section's figures for one period: columns ``indicator``, ``value`` (exact counts).

    Rows: :data:`MISSING_INDICATORS` and ``episodes_source:<source>`` per source of the episodes. Today read
    from the warehouse's indicator views (:func:`ctxrisk.maps.indicators.missing_summary`).
    """
    return ind.missing_summary(con, period)


def missing_cells(cells: Cells, name: str, summary: pd.DataFrame, sources: list[str]) -> None:
    """Add one period's (``name``: ``P`` or ``B``) missing-episode cells and the relations between them."""
    v = dict(zip(summary["indicator"], summary["value"], strict=True))
    for key in MISSING_INDICATORS:
        cells.add(("mis", name, key), v[key])
    cells.total(("mis", name, "episodes"), [("mis", name, "episodes_missing"), ("mis", name, "episodes_away")])
    if len(sources) > 1:
        for s in sources:
            cells.add(("mis", name, f"source:{s}"), v.get(f"episodes_source:{s}", 0))
        cells.relate(("mis", name, "episodes"), [("mis", name, f"source:{s}") for s in sources])
    cells.part_of(("mis", name, "children"), ("mis", name, "children_repeat"), ("mis", name, "children_once_twice"))
    cells.part_of(("mis", name, "returns"), ("mis", name, "rhi_offered_72h"), ("mis", name, "rhi_not_offered_72h"))
    cells.part_of(("mis", name, "returns"), ("mis", name, "rhi_completed_72h"), ("mis", name, "rhi_not_completed_72h"))
    cells.part_of(
        ("mis", name, "episodes"), ("mis", name, "episodes_no_found_place"), ("mis", name, "episodes_found_place")
    )


def rhi_rate(page: Page, window: str, key: str) -> tuple[str, str]:
    """A table cell for a return home interview rate: ``"75% (9 of 12 returns)"``, with the counts behind it.

    Without a published rate it says why: ``"no data"``, or ``"not shown (<5 returns)"`` / ``"not shown (small
    numbers)"`` while still giving the published count of returns when there is one.
    """
    num, den = ("mis", window, key), ("mis", window, "returns")
    if page.empty(den):
        return "no data", "nodata"
    share = page.pct(num, den)
    if share is None:
        returns = page.n(den)
        if returns is None:
            return f"not shown (returns {page.text(den)})", "sup"
        return f"not shown: small numbers ({returns:,} returns)", "sup"
    return f"{share:.0f}% ({page.text(num)} of {page.text(den)} returns)", ""


def _rate_change(page: Page, key: str) -> tuple[str, str]:
    now, before = (
        page.pct(("mis", "P", key), ("mis", "P", "returns")),
        page.pct(("mis", "B", key), ("mis", "B", "returns")),
    )
    if page.empty(("mis", "P", "returns")) or page.empty(("mis", "B", "returns")):
        return "no data to compare", ""
    if now is None or before is None:
        return "too few to compare", ""
    diff = now - before
    if abs(diff) < 2.5:
        return "about the same", "same"
    return f"{'up' if diff > 0 else 'down'} {abs(diff):.0f} percentage points", "up" if diff > 0 else "down"


def rhi_rows(page: Page) -> list[list[tuple[str, str]]]:
    """Rows ``label, previous, period, change`` of the two return home interview rates."""
    return [
        [(label, ""), rhi_rate(page, "B", key), rhi_rate(page, "P", key), _rate_change(page, key)]
        for label, key in _RHI
    ]


def _count_rows(page: Page, sources: list[str]) -> list[list[tuple[str, str]]]:
    spec = [
        ("Missing and away episodes", "episodes"),
        ("of which missing", "episodes_missing"),
        ("of which away (absent)", "episodes_away"),
        ("Children with an episode", "children"),
        (f"Children missing repeatedly ({ind.REPEAT_EPISODES}+ episodes)", "children_repeat"),
        ("Children returned from a missing episode (episodes)", "returns"),
        ("Return home interview offered within 72 hours", "rhi_offered_72h"),
        ("Return home interview completed within 72 hours", "rhi_completed_72h"),
    ]
    if len(sources) > 1:
        spec[3:3] = [(f"from {SOURCE_LABELS.get(s, s.replace('_', ' ') + ' records')}", f"source:{s}") for s in sources]
    return [
        [
            (label, ""),
            page.cell(("mis", "B", k)),
            page.cell(("mis", "P", k)),
            page.change(("mis", "P", k), ("mis", "B", k)),
        ]
        for label, k in spec
    ]


def _chart(page: Page, labels: tuple[str, str]) -> str:
    cats = ["Episodes", "Children", "Missing repeatedly", "Returns", "Interview offered", "Interview completed"]
    keys = ["episodes", "children", "children_repeat", "returns", "rhi_offered_72h", "rhi_completed_72h"]
    if all(page.n(("mis", w, k)) is None for w in ("P", "B") for k in keys):
        return NO_CHART
    return bar_chart(
        cats,
        {labels[1]: [page.n(("mis", "B", k)) for k in keys], labels[0]: [page.n(("mis", "P", k)) for k in keys]},
        title=f"Missing episodes and return home interviews, {labels[1]} and {labels[0]}",
        description=(
            "Grouped bar chart comparing missing and away episodes, children with an episode, children "
            "missing repeatedly, returns, and return home interviews offered and completed within 72 "
            "hours, in the two periods."
        ),
        chart_id="missing",
        unit="count",
        gap_labels={
            (lab, i): page.gap(("mis", w, k))
            for lab, w in ((labels[1], "B"), (labels[0], "P"))
            for i, k in enumerate(keys)
        },
        colours=("#6f9bc4", "#0b4f8a"),
    )


def missing_section(page: Page, labels: tuple[str, str], sources: list[str]) -> str:
    """The section: return home interview rates, a chart of the counts, and the counts table."""
    key: Hashable = ("mis", "P", "returns")
    rates = table(
        f"Return home interviews within {ind.RHI_HOURS} hours, as a share of returns, {labels[1]} and {labels[0]}",
        ["Return home interview", labels[1], labels[0], "Change"],
        rhi_rows(page),
        note="Each share is worked out from published counts only, over missing (not away) episodes whose child "
        "returned in the period; it is not shown where a count behind it is small.",
    )
    lead = "" if page.has(key) else "<p>No missing episodes are held.</p>"
    return (
        f'<section id="missing"><h2>{objectives("Protect")}Missing children and return home interviews</h2>'
        f"{lead}<p>Episodes that started in each period; a child is counted as missing repeatedly with "
        f"{ind.REPEAT_EPISODES} or more episodes in the period. Return home interviews are counted over missing "
        f"(not away) episodes whose child returned in the period, against the {ind.RHI_HOURS}-hour standard.</p>"
        + rates
        + _chart(page, labels)
        + table(
            f"Missing episodes, {labels[1]} and {labels[0]}",
            ["Indicator", labels[1], labels[0], "Change"],
            _count_rows(page, sources),
        )
        + "</section>"
    )
