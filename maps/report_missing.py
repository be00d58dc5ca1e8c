"""The outcome report's missing-children section: episodes, children missing repeatedly, return home interviews.

Return home interviews are shown first as **rates** (offered within 72 hours, completed within 72 hours, over
the children's returns in the period) with the counts behind them; every count is suppressed as the rest of
the report, and a rate is worked out only from published counts (:meth:`ctxrisk.maps.report_cells.Page.pct`).

The counts table comes from :func:`missing_figures` (the warehouse's indicator views). Below it, the
partnership's missing-episode measures come from ``ctxrisk missing summary``
(:func:`missing_measures`: each episode once across SSDA903 and partnership records, the ``[missing]`` repeat
rule and interview deadline), suppressed by the same rules (their cells are ``("mis", window, "m_<name>")``
with the complement behind every share; a median is shown only over 5 or more interviews), and the time to
the next episode (:func:`next_episode_figures`, Kaplan-Meier by looked-after status) as shares at fixed days,
never a curve, each withheld unless enough children and episodes lie behind it
(:func:`next_episode_cells`).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from ctxrisk.analytics.protect.episodes import episode_measures, load_episodes, local_window
from ctxrisk.analytics.protect.missing import missing_summary
from ctxrisk.analytics.protect.survival import next_episode_curves, next_episode_gaps
from ctxrisk.maps import indicators as ind
from ctxrisk.maps.charts import bar_chart
from ctxrisk.maps.report_cells import Cells, Page
from ctxrisk.maps.report_html import NO_CHART, esc, objectives, table
from ctxrisk.pipelines.settings import Settings

__all__ = [
    "MEASURE_COUNTS",
    "MISSING_INDICATORS",
    "RETURN_DAYS",
    "MissingExtras",
    "measure_cells",
    "measure_rows",
    "measures_block",
    "missing_cells",
    "missing_figures",
    "missing_measures",
    "missing_section",
    "next_episode_cells",
    "next_episode_figures",
    "next_episode_table",
    "rhi_rate",
    "rhi_rows",
]

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
    return _pct_change(page, *((("mis", w, key), ("mis", w, "returns")) for w in ("P", "B")))


def _pct_change(page: Page, now: tuple[Hashable, Hashable], before: tuple[Hashable, Hashable]) -> tuple[str, str]:
    """How a share moved from the previous period (``before``) to this one (``now``), each given as its
    ``(numerator, denominator)`` cells: a phrase and its CSS class (:meth:`Page.rate_change`)."""
    return page.rate_change(now, before)


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


@dataclass(frozen=True)
class MissingExtras:
    """What the measures block needs besides the cells: the settings, each window's median hours to an
    interview with the number behind it (``{"P": ..., "B": ...}``, :func:`measure_cells`) and the period's
    time-to-next-episode figures (:func:`next_episode_figures`)."""

    settings: Settings
    medians: dict[str, tuple[float, int]]
    returns: pd.DataFrame


def measures_block(page: Page, labels: tuple[str, str], extras: MissingExtras) -> str:
    """The measures table and the time-to-next-episode table."""
    threshold = page.cells.threshold
    return (
        "<h3>Missing from home or care: the partnership's measures</h3>"
        "<p>Each episode counted once where a partnership record and an SSDA903 return describe the same "
        "episode; episodes by the day they started. These rules differ from the counts above (which read each "
        "source's records), so the two tables need not agree.</p>"
        + table(
            f"Missing episode measures, {labels[1]} and {labels[0]}",
            ["Measure", labels[1], labels[0], "Change"],
            measure_rows(page, extras.settings, extras.medians),
            note="Shares are worked out from published counts only and are not shown where a count behind "
            f"them is small; the median is not shown over fewer than {threshold} completed interviews.",
        )
        + "<h3>Time to the next episode</h3>"
        + (
            f"<p>No data: the missing episode records held do not reach {esc(labels[0])} (see Data coverage).</p>"
            if page.text(("mis", "P", "episodes")) == "no data"
            else next_episode_table(extras.returns, threshold, labels[0])
        )
    )


def missing_section(
    page: Page, labels: tuple[str, str], sources: list[str], extras: MissingExtras | None = None
) -> str:
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
        + (measures_block(page, labels, extras) if extras is not None else "")
        + "</section>"
    )


# ------------------------------------------------------------------ measures from ``ctxrisk missing summary``

#: Counts the measures table reads from :func:`missing_measures` (cells ``("mis", window, "m_<name>")``).
MEASURE_COUNTS: tuple[str, ...] = (
    "episodes",
    "children",
    "children_missing_repeatedly",
    "episodes_from_care",
    "rhi_recorded",
    "rhi_offered_in_time",
    "rhi_completed",
    "found_located",
    "found_away",
)
_ADDITIVE = ("episodes", "episodes_from_care", "rhi_recorded", "rhi_offered_in_time", "rhi_completed")
_ADDITIVE += ("found_located", "found_away")


def _window_by_episodes(con: duckdb.DuckDBPyConnection, period: ind.Period, settings: Settings) -> dict[str, float]:
    """Distinct children, children missing repeatedly and the median over a window spanning quarters.

    The same episode measures and rules as :func:`~ctxrisk.analytics.protect.missing.missing_summary` (earlier
    episodes count towards the repeat rule), read once for the whole window.
    """
    ep = episode_measures(load_episodes(con, settings=settings, until=period.last_day), settings=settings)
    lo, _ = local_window(period.start, None, settings.local_timezone)
    ep = ep[ep["started_at"] >= lo]
    return {
        "children": ep["person_id"].nunique(),
        "children_missing_repeatedly": ep.loc[ep["repeat"].astype(bool), "person_id"].nunique(),
        "median_hours_to_rhi": float(ep["hours_to_rhi"].median()) if ep["hours_to_rhi"].notna().any() else np.nan,
    }


def missing_measures(con: duckdb.DuckDBPyConnection, period: ind.Period, *, settings: Settings) -> pd.DataFrame:
    """The missing-episode measures of one period: columns ``indicator``, ``value`` (exact).

    Read from :func:`ctxrisk.analytics.protect.missing.missing_summary` (each episode once across SSDA903 and
    partnership records; ``[missing]`` repeat rule and interview deadline) by quarter of episode start over
    the period. Rows: :data:`MEASURE_COUNTS` and ``median_hours_to_rhi`` (NaN when no interview was
    completed). A period within one quarter is that quarter's one row; over several quarters the counts are
    added and the children (distinct) and the median are read from the same episode measures for the whole
    period.
    """
    rows = missing_summary(con, settings=settings, period="quarter", since=period.start, until=period.last_day)
    out = {k: int(rows[k].sum()) for k in _ADDITIVE}
    if len(rows) <= 1:
        out["children"] = int(rows["children"].sum())
        out["children_missing_repeatedly"] = int(rows["children_missing_repeatedly"].sum())
        out["median_hours_to_rhi"] = float(rows["median_hours_to_rhi"].iloc[0]) if len(rows) else np.nan
    else:
        out |= _window_by_episodes(con, period, settings)
    names = [*MEASURE_COUNTS, "median_hours_to_rhi"]
    return pd.DataFrame({"indicator": names, "value": [out[k] for k in names]})


def measure_cells(cells: Cells, name: str, measures: pd.DataFrame) -> tuple[float, int]:
    """Add one period's measure cells and the complements behind their shares.

    Returns the median hours to a completed interview and the number of interviews behind it (exact: the
    median is published only when that number reaches the threshold).
    """
    v = dict(zip(measures["indicator"], measures["value"], strict=True))
    key = lambda k: ("mis", name, f"m_{k}")  # noqa: E731
    for k in MEASURE_COUNTS:
        cells.add(key(k), int(v[k]))
    cells.part_of(key("children"), key("children_missing_repeatedly"), key("children_not_repeat"))
    cells.part_of(key("episodes"), key("episodes_from_care"), key("episodes_not_from_care"))
    cells.part_of(key("rhi_recorded"), key("rhi_offered_in_time"), key("rhi_not_offered_in_time"))
    cells.part_of(key("rhi_recorded"), key("rhi_completed"), key("rhi_not_completed"))
    cells.part_of(key("found_located"), key("found_away"), key("found_in_area"))
    cells.part_of(key("episodes"), key("found_located"), key("found_not_located"))
    for new, old in (("episodes", "episodes"), ("children", "children")):
        _tie(cells, key(new), ("mis", name, old))
    return float(v["median_hours_to_rhi"]), int(v["rhi_completed"])


def _tie(cells: Cells, new: Hashable, old: Hashable) -> None:
    """Relate a measure to the counts table's figure of the same thing, so neither unlocks the other's secrets.

    Equal values are declared equal (``new = old``); otherwise the larger is the smaller plus a hidden
    difference (episodes recorded by both sources, counted once here), which is itself protected when small.
    """
    old = cells.key(old)
    if old not in cells.values:
        return
    a, b = cells.values[cells.key(new)], cells.values[old]
    if a == b:
        cells.relate(new, [old])
    elif a > b:
        cells.add(("mis_tie", new, old), a - b, hidden=True)
        cells.relate(new, [old, ("mis_tie", new, old)])
    else:
        cells.add(("mis_tie", new, old), b - a, hidden=True)
        cells.relate(old, [new, ("mis_tie", new, old)])


def _share(page: Page, window: str, num: str, den: str, unit: str) -> tuple[str, str]:
    n, d = ("mis", window, f"m_{num}"), ("mis", window, f"m_{den}")
    if page.empty(d):
        return "no data", "nodata"
    share = page.pct(n, d)
    if share is None:
        known = f" ({page.text(d)} {unit})" if page.n(d) is not None else ""
        return f"not shown: small numbers{known}", "sup"
    return f"{share:.0f}% ({page.text(n)} of {page.text(d)} {unit})", ""


def _share_change(page: Page, num: str, den: str) -> tuple[str, str]:
    return _pct_change(page, *((("mis", w, f"m_{num}"), ("mis", w, f"m_{den}")) for w in ("P", "B")))


def _median(page: Page, window: str, median: tuple[float, int]) -> tuple[str, str]:
    if page.empty(("mis", window, "m_rhi_completed")):
        return "no data", "nodata"
    value, behind = median
    if behind < page.cells.threshold or np.isnan(value):
        return "not shown: small numbers", "sup"
    return f"{value:.0f} hours", ""


def measure_rows(page: Page, settings: Settings, medians: dict[str, tuple[float, int]]) -> list[list[tuple[str, str]]]:
    """Rows ``label, previous, period, change`` of the measures table (``medians`` from :func:`measure_cells`)."""
    cfg = settings.missing
    hours = f"{cfg.rhi_hours:g}"

    def counts(label: str, k: str) -> list[tuple[str, str]]:
        now, before = ("mis", "P", f"m_{k}"), ("mis", "B", f"m_{k}")
        return [(label, ""), page.cell(before), page.cell(now), page.change(now, before)]

    def shares(label: str, num: str, den: str, unit: str) -> list[tuple[str, str]]:
        return [(label, ""), _share(page, "B", num, den, unit), _share(page, "P", num, den, unit),
                _share_change(page, num, den)]  # fmt: skip

    return [
        counts("Episodes (each once across records)", "episodes"),
        counts("Children with an episode", "children"),
        counts(
            f"Children missing repeatedly ({cfg.repeat_count} or more episodes within {cfg.repeat_window_days} days)",
            "children_missing_repeatedly",
        ),
        counts("Episodes missing from care (the child looked after)", "episodes_from_care"),
        shares(f"Return home interview offered within {hours} hours", "rhi_offered_in_time", "rhi_recorded", "returns"),
        shares("Return home interview completed", "rhi_completed", "rhi_recorded", "returns"),
        [("Median time from return to a completed interview", ""), _median(page, "B", medians["B"]),
         _median(page, "P", medians["P"]), ("", "")],
        shares("Found outside the area", "found_away", "found_located", "episodes with a found place"),
    ]  # fmt: skip


# ------------------------------------------------------------------ time to the next episode (Kaplan-Meier)

#: Days at which the report gives the share with another episode.
RETURN_DAYS: tuple[int, ...] = (30, 90)
_STATUSES = ("looked after", "not looked after", "unknown")


def next_episode_figures(
    con: duckdb.DuckDBPyConnection, period: ind.Period, *, settings: Settings, days: tuple[int, ...] = RETURN_DAYS
) -> pd.DataFrame:
    """Exact Kaplan-Meier figures for returns from episodes starting in the period, by looked-after status.

    Returns
    -------
    pandas.DataFrame
        Per status and day (ascending): ``looked_after``, ``day``, ``returns`` (the curve's n),
        ``children`` (distinct), ``next_pct`` (100 (1 - S(day)): another episode by then),
        ``at_risk_children`` (children still followed on that day), ``events`` (next episodes by then) and
        ``event_children`` (children with one), the raw material of :func:`next_episode_cells`.
    """
    gaps = next_episode_gaps(con, settings=settings, since=period.start, until=period.last_day)
    rows = []
    for status, km in next_episode_curves(gaps).items():
        part = gaps[gaps["looked_after"] == status]
        for day, s in zip(days, km.at(days), strict=True):
            ev = part[part["observed"] & (part["days"] <= day)]
            rows.append(
                {
                    "looked_after": status,
                    "day": int(day),
                    "returns": km.n,
                    "children": part["person_id"].nunique(),
                    "next_pct": 100.0 * (1.0 - float(s)),
                    "at_risk_children": part.loc[part["days"] >= day, "person_id"].nunique(),
                    "events": len(ev),
                    "event_children": ev["person_id"].nunique(),
                }
            )
    columns = ["looked_after", "day", "returns", "children", "next_pct", "at_risk_children", "events"]
    return pd.DataFrame(rows, columns=[*columns, "event_children"])


def _shown_shares(part: pd.DataFrame, threshold: int) -> list[tuple[str, str]]:
    out, last = [], (0, 0)
    for row in part.itertuples():
        ok = (
            row.returns >= threshold
            and row.at_risk_children >= threshold
            and row.events - last[0] >= threshold
            and row.event_children - last[1] >= threshold
        )
        if ok:
            last = (row.events, row.event_children)
        out.append((f"{row.next_pct:.0f}%", "") if ok else ("not shown: small numbers", "sup"))
    return out


def next_episode_cells(figures: pd.DataFrame, threshold: int) -> list[list[tuple[str, str]]]:
    """Table rows ``status, returns followed, share by each day`` with the report's rules applied.

    ``returns`` below ``threshold`` is shown as ``<threshold``. A share is shown only when at least
    ``threshold`` children were still followed on that day and at least ``threshold`` next episodes, of at
    least ``threshold`` children (counted as growth of the distinct count), lie between it and the share
    shown before it (or day 0): no single episode moves a published figure. Otherwise the cell reads
    ``not shown: small numbers``.
    """
    rows = []
    for status in [s for s in _STATUSES if s in set(figures["looked_after"])]:
        part = figures[figures["looked_after"] == status].sort_values("day")
        n = int(part["returns"].iloc[0])
        small = n < threshold
        returns = (f"<{threshold}", "sup") if small else (f"{n:,}", "")
        rows.append([(status.capitalize(), ""), returns, *_shown_shares(part, threshold)])
    return rows


def next_episode_table(figures: pd.DataFrame, threshold: int, label: str) -> str:
    """The time-to-next-episode table (no curve: only the shares at the listed days)."""
    days = sorted(set(figures["day"])) or list(RETURN_DAYS)
    rows = next_episode_cells(figures, threshold)
    if not rows:
        return "<p>No child returned from an episode starting in the period.</p>"
    return table(
        f"Children returned from an episode starting in {label}: share with another episode within "
        + " and ".join(f"{d} days" for d in days),
        ["Looked-after status", "Returns followed", *[f"Another episode within {d} days" for d in days]],
        rows,
        note="Kaplan-Meier estimates: each return is followed to the child's next episode or to the end of "
        "the records. Shares only, at fixed days, never a curve; a share is not shown where fewer than "
        f"{threshold} children were still followed, fewer than {threshold} children had another episode, or "
        f"fewer than {threshold} episodes lie between it and the share before it.",
    )
