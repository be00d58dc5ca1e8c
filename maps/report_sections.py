"""Sections of the outcome report: summary, at a glance, incidents, screenings, referrals, Annex A, quality, method.

Every section reads the protected cells through :class:`ctxrisk.maps.report_cells.Page`, so a count is shown
as a number only when published, as ``<5``/``withheld`` when suppressed, and as ``no data`` when its feed
holds no record for the period. Each table's caption names its period.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import date

from ctxrisk.maps import indicators as ind
from ctxrisk.maps.charts import bar_chart, line_chart, series_style
from ctxrisk.maps.report_cells import CHANGE_ALPHA, STEADY_PERCENT, STEADY_POINTS, Page
from ctxrisk.maps.report_html import NO_CHART, esc, objectives, table
from ctxrisk.maps.report_missing import rhi_rows
from ctxrisk.maps.steering import THEME_LABELS

__all__ = [
    "REFERRAL_LABELS",
    "RISK_LABEL",
    "annex_section",
    "glance_section",
    "incidents_section",
    "method_section",
    "quality_section",
    "referral_section",
    "screening_section",
    "summary_section",
]

REFERRAL_LABELS: dict[str, str] = {
    "nrm": "National Referral Mechanism (NRM)",
    "mace": "Multi-agency child exploitation (MACE) panel",
    "channel": "Channel (Prevent)",
    "early_help": "Early help",
    "other": "Other referrals",
}
RISK_LABEL = "{} risk"
_PAIR_COLOURS = ("#6f9bc4", "#0b4f8a")


def _count_sentence(page: Page, what: str, current: Hashable, previous: Hashable, labels: tuple[str, str]) -> str:
    now, before = page.text(current), page.text(previous)
    if page.empty(current):
        return f"{what}: no data for {labels[0]} (the records held do not reach it; see Data coverage)."
    if page.empty(previous):
        return f"{what}: {now} in {labels[0]}; no data for {labels[1]} to compare with."
    phrase, cls = page.change(current, previous)
    if not cls:
        return (
            f"{what}: {now} in {labels[0]} and {before} in {labels[1]} (no comparison: a figure is small or withheld)."
        )
    return f"{what}: {now} in {labels[0]} against {before} in {labels[1]}: {phrase}."


def _pct_sentence(page: Page, what: str, key: str, labels: tuple[str, str]) -> str:
    if page.empty(("mis", "P", "returns")):
        return f"{what}: no data for {labels[0]}."
    now = page.pct(("mis", "P", key), ("mis", "P", "returns"))
    before = page.pct(("mis", "B", key), ("mis", "B", "returns"))
    if now is None:
        return f"{what}: not shown for {labels[0]} because the numbers are too small."
    text = f"{what}: {now:.0f}% of {page.text(('mis', 'P', 'returns'))} returns in {labels[0]}"
    if before is None:
        return text + f" (not shown for {labels[1]}: too few or no data)."
    phrase, _cls = page.rate_change(*((("mis", w, key), ("mis", w, "returns")) for w in ("P", "B")))
    return text + f" against {before:.0f}% in {labels[1]}: {phrase}."


def _theme_moves(page: Page) -> list[str]:
    moves = []
    for t in ("cse", "cce", "county_lines", "modern_slavery"):
        if not page.has(("inc", "P", t)):
            continue
        now, before = page.n(("inc", "P", t)), page.n(("inc", "B", t))
        _phrase, cls = page.change(("inc", "P", t), ("inc", "B", t))
        if cls in ("up", "down") and now is not None and before:  # only a change that is not likely chance
            moves.append(((now - before) / before, t, now, before))
    out = []
    rises = [m for m in moves if m[0] > 0]
    falls = [m for m in moves if m[0] < 0]
    if rises:
        rise = max(rises)
        name = THEME_LABELS.get(rise[1], rise[1]).lower()
        out.append(f"The largest rise among exploitation themes was in {name} ({rise[3]:,} to {rise[2]:,}).")
    if falls:
        fall = min(falls)
        name = THEME_LABELS.get(fall[1], fall[1]).lower()
        out.append(f"The largest fall among exploitation themes was in {name} ({fall[3]:,} to {fall[2]:,}).")
    return out


def summary_section(page: Page, labels: tuple[str, str], *, locations_text: str, warnings: list[str]) -> str:
    """Plain-English summary: the headline counts and rates, coverage warnings and the locations' state."""
    items = [_count_sentence(page, "Incidents recorded", ("inc", "P", "all"), ("inc", "B", "all"), labels)]
    items += _theme_moves(page)
    items.append(
        _count_sentence(page, "Missing and away episodes", ("mis", "P", "episodes"), ("mis", "B", "episodes"), labels)
    )
    items.append(
        _count_sentence(
            page,
            f"Children missing repeatedly ({ind.REPEAT_EPISODES} or more episodes)",
            ("mis", "P", "children_repeat"),
            ("mis", "B", "children_repeat"),
            labels,
        )
    )
    items.append(
        _pct_sentence(
            page, "Return home interviews offered within 72 hours of the child's return", "rhi_offered_72h", labels
        )
    )
    items.append(_pct_sentence(page, "Return home interviews completed within 72 hours", "rhi_completed_72h", labels))
    items.append(
        _count_sentence(
            page, "Children screened for exploitation risk", ("scr", "P", "all"), ("scr", "B", "all"), labels
        )
    )
    items.append(
        _count_sentence(
            page,
            "Referrals (NRM, MACE, Channel, early help and other)",
            ("ref", "P", "all"),
            ("ref", "B", "all"),
            labels,
        )
    )
    items.append(locations_text)
    if warnings:
        items.append(
            "Some records stop short of the period, so their figures read “no data” or cover part of it: "
            + " ".join(warnings)
        )
    lis = "".join(f"<li>{esc(i)}</li>" for i in items)
    return (
        '<section id="summary"><h2>Summary</h2><div class="summary"><ul>' + lis + "</ul>"
        '<p class="note">A rise in recorded incidents, screenings or referrals can mean that partners are '
        "identifying more children at risk, not only that more harm is happening; read the trends together.</p>"
        "</div></section>"
    )


_GLANCE = [
    ("Prevent", "Children screened for exploitation risk", "scr", "all"),
    ("Prevent", "Early help referrals", "ref", "early_help"),
    ("Prevent", "Channel referrals", "ref", "channel"),
    ("Protect", "Missing and away episodes", "mis", "episodes"),
    ("Protect", "Children missing repeatedly", "mis", "children_repeat"),
    ("Protect", "NRM referrals", "ref", "nrm"),
    ("Protect", "MACE panel referrals", "ref", "mace"),
    ("Pursue", "cce", "inc", "cce"),
    ("Pursue", "county_lines", "inc", "county_lines"),
    ("Pursue", "cse", "inc", "cse"),
    ("Pursue", "modern_slavery", "inc", "modern_slavery"),
]


def glance_section(page: Page, labels: tuple[str, str]) -> str:
    """Key indicators by objective; return home interviews as rates with the counts behind them."""
    rows = []
    for objective, what, kind, key in _GLANCE:
        now, before = (kind, "P", key), (kind, "B", key)
        if not page.has(now):
            continue
        text = f"{THEME_LABELS.get(what, what)} incidents" if kind == "inc" else what
        rows.append([(objective, ""), (text, ""), page.cell(before), page.cell(now), page.change(now, before)])
        if key == "children_repeat":
            for (label, _), b, p, change in rhi_rows(page):
                rows.append([("Protect", ""), (f"Return home interviews {label.lower()}", ""), b, p, change])
    # data quality is counted for the report period only: the period before says so rather than a bare dash
    unlocated = page.cell(("dq", "unlocated"))
    prepare = [("Prepare", ""), ("Incidents with no place recorded", ""), ("not counted", "nodata"), unlocated]
    at = next((i for i, r in enumerate(rows) if r[0][0] != "Prevent"), len(rows))
    rows.insert(at, [*prepare, ("see data quality", "")])
    return (
        '<section id="glance"><h2>At a glance: Prevent, Prepare, Protect, Pursue</h2>'
        + table(
            f"Key indicators, {labels[0]} against {labels[1]}",
            ["Objective", "Indicator", labels[1], labels[0], "Change"],
            rows,
            note="Change compares published counts only; it is not given where either count is small or a feed "
            "has no data for a period. Return home interviews are shares of the children's returns.",
            text_cols=2,
        )
        + "</section>"
    )


def incidents_section(page: Page, themes: list[str], quarters: list[date], labels: tuple[str, str]) -> str:
    """Incidents by theme: a line chart by quarter, the quarterly table and the period comparison."""
    qlabels = [ind.quarter_label(q) for q in quarters]
    rows = [[(THEME_LABELS.get(t, t), ""), *[page.cell(("inc", q, t)) for q in qlabels]] for t in themes]
    rows.append([("All themes", ""), *[page.cell(("inc", q, "all")) for q in qlabels]])
    trend_table = table(f"Incidents by theme and quarter, {qlabels[0]} to {qlabels[-1]}", ["Theme", *qlabels], rows)
    period_rows = [
        [
            (THEME_LABELS.get(t, t), ""),
            page.cell(("inc", "B", t)),
            page.cell(("inc", "P", t)),
            page.change(("inc", "P", t), ("inc", "B", t)),
        ]
        for t in [*themes, "all"]
    ]
    period_rows[-1][0] = ("All themes", "")
    period_table = table(
        f"Incidents by theme, {labels[0]} against {labels[1]}", ["Theme", labels[1], labels[0], "Change"], period_rows
    )
    focus = [t for t in ("cse", "cce", "county_lines", "modern_slavery", "serious_violence", "missing") if t in themes]
    chart = line_chart(
        qlabels,
        {THEME_LABELS.get(t, t): [page.n(("inc", q, t)) for q in qlabels] for t in focus},
        title="Incidents per quarter, exploitation and violence themes",
        description=(
            f"Line chart of incidents recorded per quarter from {qlabels[0]} to {qlabels[-1]} for "
            f"{len(focus)} themes, each line labelled at its end and drawn with its own marker and dash; "
            "quarters with small, withheld or no data are left as gaps."
        ),
        chart_id="incidents-quarterly",
        unit="incidents",
        styles=[series_style(t) for t in focus],
    )
    return (
        f'<section id="incidents"><h2>{objectives("Pursue", "Prevent")}Incidents by theme</h2>'
        "<p>Incidents recorded by partners and police, by theme and calendar quarter (UK local dates).</p>"
        + chart
        + trend_table
        + period_table
        + "</section>"
    )


def _pair_section(
    page: Page, kind: str, keys: list[str], names: list[str], short: list[str], labels: tuple[str, str], **text: str
) -> str:
    rows = [
        [(name, ""), page.cell((kind, "B", k)), page.cell((kind, "P", k)), page.change((kind, "P", k), (kind, "B", k))]
        for k, name in zip([*keys, "all"], [*names, text["all"]], strict=True)
    ]
    caption = f"{text['caption']}, {labels[1]} and {labels[0]}"
    grid = table(caption, [text["first"], labels[1], labels[0], "Change"], rows)
    series = {labels[1]: [page.n((kind, "B", k)) for k in keys], labels[0]: [page.n((kind, "P", k)) for k in keys]}
    if all(v is None for values in series.values() for v in values):
        return NO_CHART + grid
    chart = bar_chart(
        short,
        series,
        title=text["chart_title"],
        description=text["description"],
        chart_id=text["chart_id"],
        unit=text["unit"],
        gap_labels={
            (lab, i): page.gap((kind, w, k))
            for lab, w in ((labels[1], "B"), (labels[0], "P"))
            for i, k in enumerate(keys)
        },
        colours=_PAIR_COLOURS,
    )
    return chart + grid


def screening_section(page: Page, levels: list[str], labels: tuple[str, str]) -> str:
    """Children screened, by the risk level of their latest screening."""
    names = [lv.replace("_", " ").capitalize() for lv in levels]
    body = _pair_section(
        page,
        "scr",
        levels,
        [RISK_LABEL.format(n) for n in names],
        names,
        labels,
        all="All children screened",
        chart_title="Children screened, by latest risk level",
        description=f"Grouped bar chart of children screened in {labels[1]} and {labels[0]} by the risk level of "
        "their latest screening in the period.",
        chart_id="screenings",
        unit="children",
        caption="Children screened by latest risk level",
        first="Risk level",
    )
    return (
        f'<section id="screenings"><h2>{objectives("Prevent", "Protect")}Exploitation risk screenings</h2>'
        "<p>Children screened in each period, counted once at the risk level of their latest screening.</p>"
        + body
        + "</section>"
    )


def referral_section(page: Page, kinds: list[str], labels: tuple[str, str]) -> str:
    """Referrals by type: NRM, MACE, Channel, early help and other."""
    short = {"nrm": "NRM", "mace": "MACE", "channel": "Channel", "early_help": "Early help", "other": "Other"}
    body = _pair_section(
        page,
        "ref",
        kinds,
        [REFERRAL_LABELS.get(k, k) for k in kinds],
        [short.get(k, k) for k in kinds],
        labels,
        all="All referrals",
        chart_title="Referrals by type",
        description=f"Grouped bar chart of referrals made in {labels[1]} and {labels[0]}: National Referral "
        "Mechanism, MACE panel, Channel, early help and other.",
        chart_id="referrals",
        unit="referrals",
        caption="Referrals by type",
        first="Referral",
    )
    return (
        f'<section id="referrals"><h2>{objectives("Protect", "Prevent")}Referrals: NRM, MACE, Channel and early '
        "help</h2>" + body + "</section>"
    )


def annex_section(page: Page) -> str:
    """Ofsted Annex A list 8 counts (a 12-month snapshot, not tied to the period)."""
    spec = [
        ("Children looked after in the Annex A list", "children"),
        ("Children with a missing episode in the last 12 months", "children_missing"),
        ("Children with an absence in the last 12 months", "children_absent"),
        ("Children offered a return interview", "rhi_offered"),
        ("Children who accepted a return interview", "rhi_accepted"),
    ]
    rows = [[(label, ""), page.cell(("aa", key))] for label, key in spec]
    return (
        f'<section id="annex-a"><h2>{objectives("Protect")}Children looked after (Ofsted Annex A, list 8)</h2>'
        "<p>From the latest Annex A return loaded: a 12-month snapshot, not tied to the report period.</p>"
        + table("Annex A list 8, the 12 months of the latest return", ["Indicator", "Children"], rows)
        + "</section>"
    )


def quality_section(page: Page, period: ind.Period) -> str:
    """Place and time recording of the period's incidents and missing episodes."""
    rows = [
        [("Incidents in the period", ""), page.cell(("inc", "P", "all"))],
        [("With no place recorded (counted, never mapped)", ""), page.cell(("dq", "unlocated"))],
        [("Located outside the loaded boundaries", ""), page.cell(("dq", "out_of_area"))],
        [("Dated to the day only (no time of day)", ""), page.cell(("dq", "day_precision"))],
        [("Dated to the month only", ""), page.cell(("dq", "month_precision"))],
        [("Missing episodes with no found-at place", ""), page.cell(("mis", "P", "episodes_no_found_place"))],
    ]
    return (
        f'<section id="quality"><h2>{objectives("Prepare")}Data quality notes</h2>'
        "<p>How complete the period's records are. Records with no place are counted in every total but cannot "
        "be mapped; records dated only to the day or month are left out of analyses by time of day or weekday. "
        "Which feeds reach the period at all is under Data coverage.</p>"
        + table(f"Place and time recording, {period.label}", ["Records", "Count"], rows)
        + "</section>"
    )


def method_section(threshold: int) -> str:
    """Definitions and the disclosure rules, in plain English."""
    return (
        '<section id="method"><h2>Definitions and disclosure control</h2><ul>'
        "<li>Periods use UK local calendar dates. A quarter, month or year is compared with the one before it; a "
        "date range with the range of the same length just before it.</li>"
        "<li>Changes: a count is called “rising” or “falling” (the steering map's trend words) only when a "
        "simple test says the change is unlikely to be chance (an exact test that both counts come from the "
        f"same daily rate, p &lt; {CHANGE_ALPHA:g}) and it is at least {STEADY_PERCENT:g}% of the earlier count; a "
        f"rate only when Fisher's exact test gives p &lt; {CHANGE_ALPHA:g} and it moved by at least "
        f"{STEADY_POINTS:g} percentage points. Otherwise it shows “no clear change”: 5 then 6 is not a rise of "
        "20%. Where a count is small or withheld the change reads “too few to compare”.</li>"
        f"<li>Children missing repeatedly: children with {ind.REPEAT_EPISODES} or more missing or away episodes "
        "starting in the period.</li>"
        f"<li>Return home interviews: over missing episodes whose child returned in the period, offered (or "
        f"completed) no later than {ind.RHI_HOURS} hours after the return.</li>"
        "<li>Screenings: each child counted once, at the risk level of their latest screening in the period.</li>"
        f"<li>Small numbers: every count below {threshold}, including zero, is shown as &lt;{threshold}, so a "
        f"reader cannot tell a true zero from 1 to {threshold - 1}. Where a small number could otherwise be worked "
        "out by adding or subtracting published figures (for example a total minus its other parts), a further "
        "count is withheld and shown as “withheld”. Shares and changes are worked out only from published counts, "
        "after suppression, and a share is not shown where the remainder would be a small number.</li>"
        "<li>No data: where a feed holds no record for a period (its records end before the period starts, or "
        f"start after it ends), its figures read “no data”, not &lt;{threshold}; see Data coverage.</li>"
        "<li>Charts show only published numbers; a small, withheld or missing number is a gap with a label, never "
        "a bar or point, and the axis is scaled to published numbers only.</li>"
        "</ul></section>"
    )
