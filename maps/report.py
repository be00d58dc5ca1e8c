"""The steering-group outcome report (issue 6): one self-contained HTML page comparing a period with the previous one.

Sections follow the four objectives of the serious and organised crime strategy (Prevent, Prepare, Protect,
Pursue) and answer "where, what, and is it getting better?": incidents by theme per quarter, missing episodes
and children missing repeatedly, return home interviews within 72 hours, screenings by risk level, referrals
(NRM, MACE, Channel, early help), the top locations of concern with their trend, and notes on data quality.

Disclosure control: the page holds aggregates only (no event points, no person IDs, no coordinates); every
count below ``settings.privacy.suppression_threshold`` is shown as ``"<5"`` and further cells are withheld so
that no small number can be recovered by differencing (:mod:`ctxrisk.maps.report_suppression`); percentages are
computed only after suppression, from published counts. Charts draw only published numbers. All wording is
checked with :func:`ctxrisk.maps.language.assert_appropriate` before the page is returned.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb
import pandas as pd

from ctxrisk.maps import indicators as ind
from ctxrisk.maps.charts import bar_chart, line_chart
from ctxrisk.maps.language import assert_appropriate
from ctxrisk.maps.report_suppression import SECONDARY, Protected, protect
from ctxrisk.maps.selfcontained import external_references
from ctxrisk.maps.steering import THEME_LABELS  # one wording of each theme for every page
from ctxrisk.pipelines.errors import ValidationError

__all__ = ["QUARTERS_SHOWN", "REFERRAL_LABELS", "RISK_LABEL", "THEME_LABELS", "build_report", "change_phrase"]

logger = logging.getLogger(__name__)

#: Quarters shown in the incidents-by-theme trend (ending with the quarter holding the period's last day).
QUARTERS_SHOWN = 8
#: Relative change (in %) within which two counts are described as "about the same".
STEADY_PERCENT = 5.0

REFERRAL_LABELS: dict[str, str] = {
    "nrm": "National Referral Mechanism (NRM)",
    "mace": "Multi-agency child exploitation (MACE) panel",
    "channel": "Channel (Prevent)",
    "early_help": "Early help",
    "other": "Other referrals",
}
RISK_LABEL = "{} risk"
_SOURCE_LABELS = {"partnership": "partnership records", "ssda903": "SSDA903 returns (children looked after)"}

_CSS = """
:root { --ink: #1d1d1f; --muted: #5a5a5a; --rule: #d9d9d9; --band: #f4f6f8; --accent: #0b4f8a; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 60rem; padding: 1.5rem 1.25rem 3rem; line-height: 1.45; font-size: 15px;
       background: #fff; }
header { border-bottom: 4px solid var(--accent); margin-bottom: 1rem; padding-bottom: .6rem; }
h1 { font-size: 1.55rem; margin: 0 0 .2rem; }
h2 { font-size: 1.2rem; margin: 1.6rem 0 .4rem; border-bottom: 1px solid var(--rule); padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1rem 0 .3rem; }
p.meta { color: var(--muted); margin: .1rem 0; font-size: .9rem; }
.summary { background: var(--band); border-left: 4px solid var(--accent); padding: .6rem 1rem; }
.summary li { margin: .2rem 0; }
.objective { display: inline-block; font-size: .72rem; font-weight: 600; letter-spacing: .03em;
             text-transform: uppercase; background: var(--accent); color: #fff; border-radius: 3px;
             padding: .05rem .4rem; margin-right: .3rem; vertical-align: middle; }
table { border-collapse: collapse; margin: .4rem 0 .8rem; font-size: .9rem; }
caption { text-align: left; font-weight: 600; padding-bottom: .25rem; }
th, td { border-bottom: 1px solid var(--rule); padding: .25rem .6rem; text-align: right; }
th.t, td.t { text-align: left; }
thead th { background: var(--band); }
td.sup { color: var(--muted); font-style: italic; }
.up::before { content: "\\25B2\\00A0"; } .down::before { content: "\\25BC\\00A0"; } .same::before { content: "\\25AC\\00A0"; }
.note { color: var(--muted); font-size: .85rem; }
svg.chart { max-width: 100%; height: auto; display: block; margin: .3rem 0 .8rem; }
section { break-inside: avoid-page; }
footer { margin-top: 2rem; border-top: 1px solid var(--rule); padding-top: .5rem; color: var(--muted); font-size: .8rem; }
@media print {
  @page { size: A4; margin: 15mm; }
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  h2 { break-after: avoid-page; }
  table, svg.chart, .summary { break-inside: avoid-page; }
  .summary { background: none; border: 1px solid var(--rule); }
  .objective { background: none; color: var(--ink); border: 1px solid var(--ink); }
}
"""


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}%"


def change_phrase(
    current: int | None, previous: int | None, *, steady_percent: float = STEADY_PERCENT
) -> tuple[str, str]:
    """Direction of change between two published counts, in plain English.

    Parameters
    ----------
    current, previous : int or None
        Published counts (None when suppressed or withheld).
    steady_percent : float
        Relative change (in %) within which the counts are "about the same".

    Returns
    -------
    (str, str)
        A CSS class (``"up"``, ``"down"``, ``"same"`` or ``""``) and a phrase such as ``"up 12%"``, ``"down 3%"``
        ``"about the same"``, ``"up from 0"`` or ``"too few to compare"`` (when either count is not published).
    """
    if current is None or previous is None:
        return "", "too few to compare"
    if previous == 0:
        return ("same", "about the same") if current == 0 else ("up", "up from 0")
    change = 100.0 * (current - previous) / previous
    if abs(change) < steady_percent:
        return "same", "about the same"
    return ("up", f"up {abs(change):.0f}%") if change > 0 else ("down", f"down {abs(change):.0f}%")


@dataclass
class _Cells:
    """Counts and the relations between them, before suppression."""

    values: dict[Hashable, int] = field(default_factory=dict)
    relations: list[tuple[Hashable, tuple[Hashable, ...]]] = field(default_factory=list)
    hidden: set[Hashable] = field(default_factory=set)
    #: window name -> quarter label, when the period (or the previous one) is exactly that quarter
    alias: dict[str, str] = field(default_factory=dict)

    def key(self, key: Hashable) -> Hashable:
        """The cell a key stands for: ``("inc", "P", t)`` is ``("inc", "2026Q3", t)`` when P is that quarter."""
        if isinstance(key, tuple) and len(key) == 3 and key[0] == "inc" and key[1] in self.alias:
            return (key[0], self.alias[key[1]], key[2])
        return key

    def add(self, key: Hashable, value: int, *, hidden: bool = False) -> Hashable:
        key = self.key(key)
        if key in self.values and self.values[key] != int(value):
            msg = f"cell {key!r} given two values: {self.values[key]} and {value}"
            raise ValidationError(msg)
        self.values[key] = int(value)
        if hidden:
            self.hidden.add(key)
        return key

    def total(self, key: Hashable, parts: Sequence[Hashable]) -> None:
        key, parts = self.key(key), [self.key(p) for p in parts]
        self.add(key, sum(self.values[p] for p in parts))
        self.relations.append((key, tuple(parts)))

    def relate(self, key: Hashable, parts: Sequence[Hashable]) -> None:
        """Declare ``key = sum(parts)`` between cells already added."""
        self.relations.append((self.key(key), tuple(self.key(p) for p in parts)))

    def part_of(self, total: Hashable, part: Hashable, complement: Hashable) -> None:
        """Declare the hidden complement ``total - part`` (so a percentage part/total is safe to show)."""
        total, part = self.key(total), self.key(part)
        self.add(complement, self.values[total] - self.values[part], hidden=True)
        self.relations.append((total, (part, complement)))


@dataclass(frozen=True)
class _Windows:
    period: ind.Period
    previous: ind.Period
    quarters: list[date]

    def named(self) -> dict[str, tuple[date, date]]:
        out = {"P": (self.period.start, self.period.end), "B": (self.previous.start, self.previous.end)}
        for q in self.quarters:
            out[ind.quarter_label(q)] = (q, ind.add_months(q, 3))
        return out


def _incident_cells(cells: _Cells, daily: pd.DataFrame, windows: _Windows, themes: list[str]) -> None:
    """Incidents per window and theme as sums of hidden elementary slices, so overlaps cannot be differenced."""
    named = windows.named()
    for name, _label in cells.alias.items():
        named.pop(name, None)
    bounds = sorted({d for span in named.values() for d in span})
    atoms = list(zip(bounds, bounds[1:], strict=False))
    inside = {name: [a for a in atoms if a[0] >= w[0] and a[1] <= w[1]] for name, w in named.items()}
    # a slice that is a whole window is that window's cell; other slices are hidden cells of their own
    slice_key: dict[tuple[date, date], str | None] = {a: None for a in atoms}
    for name, slices in inside.items():
        if len(slices) == 1:
            slice_key[slices[0]] = name
    dates = pd.to_datetime(daily["local_date"]).dt.date if len(daily) else pd.Series([], dtype=object)
    for atom in atoms:
        in_atom = daily[(dates >= atom[0]) & (dates < atom[1])] if len(daily) else daily
        by_theme = in_atom.groupby("theme")["incidents"].sum() if len(in_atom) else {}
        for t in themes:
            owner = slice_key[atom]
            key = ("inc", owner, t) if owner is not None else ("inc_slice", atom[0], t)
            cells.add(key, int(by_theme.get(t, 0)), hidden=owner is None)
    for name, slices in inside.items():
        if len(slices) > 1:
            for t in themes:
                parts = [
                    ("inc", slice_key[a], t) if slice_key[a] is not None else ("inc_slice", a[0], t) for a in slices
                ]
                cells.total(("inc", name, t), parts)
        cells.total(("inc", name, "all"), [("inc", name, t) for t in themes])


def _missing_cells(cells: _Cells, name: str, summary: pd.DataFrame, sources: list[str]) -> None:
    v = dict(zip(summary["indicator"], summary["value"], strict=True))
    for key in (
        "episodes_missing",
        "episodes_away",
        "children",
        "children_repeat",
        "returns",
        "rhi_offered_72h",
        "rhi_completed_72h",
        "episodes_no_found_place",
    ):
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


def _quality_cells(cells: _Cells, dq: pd.DataFrame) -> None:
    v = dict(zip(dq["indicator"], dq["value"], strict=True))
    total = cells.key(("inc", "P", "all"))
    if cells.values[total] != v["incidents"]:  # pragma: no cover - both read the same view
        msg = "data quality and incident counts disagree"
        raise ValidationError(msg)
    for key in ("unlocated", "out_of_area"):
        cells.add(("dq", key), v[key])
        cells.part_of(total, ("dq", key), ("dq", f"not_{key}"))
    cells.add(("dq", "day_precision"), v["day_precision"])
    cells.add(("dq", "month_precision"), v["month_precision"])
    cells.add(("dq", "minute_precision"), v["incidents"] - v["day_precision"] - v["month_precision"], hidden=True)
    cells.relate(total, [("dq", "minute_precision"), ("dq", "day_precision"), ("dq", "month_precision")])


def _table(
    caption: str,
    header: Sequence[str],
    rows: Sequence[Sequence[tuple[str, str]]],
    *,
    note: str = "",
    text_cols: int = 1,
) -> str:
    """An HTML table; each cell is ``(text, css class)``; the first ``text_cols`` columns are left-aligned labels."""
    left = ' class="t"'
    head = "".join(f'<th scope="col"{left if i < text_cols else ""}>{_esc(h)}</th>' for i, h in enumerate(header))
    body = []
    for row in rows:
        cells = []
        for i, (text, cls) in enumerate(row):
            classes = " ".join(c for c in (cls, "t" if i < text_cols else "") if c)
            attr = f' class="{classes}"' if classes else ""
            tag = 'th scope="row"' if i == 0 else "td"
            end = "th" if i == 0 else "td"
            cells.append(f"<{tag}{attr}>{_esc(text)}</{end}>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    foot = f'<p class="note">{_esc(note)}</p>' if note else ""
    return f"<table><caption>{_esc(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{foot}"


class _Page:
    """Helpers bound to the protected cells."""

    def __init__(self, cells: Protected, keys: _Cells) -> None:
        self.cells = cells
        self._keys = keys

    def has(self, key: Hashable) -> bool:
        return self._keys.key(key) in self.cells.values

    def text(self, key: Hashable) -> str:
        return self.cells.text(self._keys.key(key))

    def cell(self, key: Hashable) -> tuple[str, str]:
        key = self._keys.key(key)
        status = self.cells.status[key]
        return self.cells.text(key), "" if status == "shown" else "sup"

    def n(self, key: Hashable) -> int | None:
        return self.cells.number(self._keys.key(key))

    def change(self, current: Hashable, previous: Hashable) -> tuple[str, str]:
        cls, phrase = change_phrase(self.n(current), self.n(previous))
        return phrase, cls

    def pct(self, num: Hashable, den: Hashable) -> float | None:
        return self.cells.percent(self._keys.key(num), self._keys.key(den))

    def gap(self, key: Hashable) -> str:
        return "withheld" if self.cells.status[self._keys.key(key)] == SECONDARY else f"<{self.cells.threshold}"


def _objectives(*names: str) -> str:
    return "".join(f'<span class="objective">{_esc(n)}</span>' for n in names)


def _count_sentence(page: _Page, what: str, current: Hashable, previous: Hashable, labels: tuple[str, str]) -> str:
    now, before = page.text(current), page.text(previous)
    cls, phrase = change_phrase(page.n(current), page.n(previous))
    if not cls:
        return (
            f"{what}: {now} in {labels[0]} and {before} in {labels[1]} (no comparison: a figure is small or withheld)."
        )
    return f"{what}: {now} in {labels[0]}, {phrase} on {labels[1]} ({before})."


def _pct_sentence(
    page: _Page, what: str, num: tuple[Hashable, Hashable], den: tuple[Hashable, Hashable], labels: tuple[str, str]
) -> str:
    now, before = page.pct(num[0], den[0]), page.pct(num[1], den[1])
    if now is None:
        return f"{what}: not shown for {labels[0]} because the numbers are too small."
    text = f"{what}: {now:.0f}% in {labels[0]}"
    if before is None:
        return text + f" (not shown for {labels[1]}: too few)."
    diff = now - before
    if abs(diff) < 2.5:
        return text + f", about the same as {labels[1]} ({before:.0f}%)."
    word = "up" if diff > 0 else "down"
    return text + f", {word} {abs(diff):.0f} percentage points on {labels[1]} ({before:.0f}%)."


def build_report(
    con: duckdb.DuckDBPyConnection,
    *,
    period: ind.Period | str | None = None,
    settings: object,
    today: date | None = None,
    generated_at: datetime | None = None,
    facts: ind.IncidentFacts | None = None,
) -> str:
    """Build the outcome report as one self-contained HTML page.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An open warehouse (with the ``marts.indicators_*`` views).
    period : Period, str or None
        The reporting period: a :class:`ctxrisk.maps.indicators.Period`, a ``--period`` text (``2026Q3``, ``2026-07``,
        ``2026``) or None for :func:`ctxrisk.maps.indicators.default_period`. It is compared with
        ``period.previous()``.
    settings : Settings
        Uses ``privacy.suppression_threshold``, ``themes`` and ``screening.risk_levels``.
    today : datetime.date, optional
        For the default period (default: today, UTC).
    generated_at : datetime.datetime, optional
        Time printed on the page (default: now, UTC).
    facts : ctxrisk.maps.indicators.IncidentFacts, optional
        :func:`ctxrisk.maps.indicators.incident_facts` when the caller has it (one pass over the incidents is made
        otherwise).

    Returns
    -------
    str
        The HTML page: no script, no external reference, no person ID, no coordinate.

    Raises
    ------
    ValidationError
        If the period is not understood, the warehouse lacks the indicator views, or the page's wording fails
        the language check.
    """
    ind.check_views(con)
    facts = facts if facts is not None else ind.incident_facts(con)
    if period is None:
        period = ind.default_period(con, today=today, facts=facts)
    elif isinstance(period, str):
        period = ind.parse_period(period)
    previous = period.previous()
    threshold = int(settings.privacy.suppression_threshold)
    themes = list(settings.themes) or list(THEME_LABELS)
    levels = tuple(settings.screening.risk_levels)
    last_q = ind.quarter_of(period.last_day)
    quarters = ind.quarters_between(ind.add_months(last_q, -3 * (QUARTERS_SHOWN - 1)), last_q)
    windows = _Windows(period, previous, quarters)
    labels = (period.label, previous.label)

    # ------------------------------------------------------------------ counts
    first = min(quarters[0], previous.start)
    last = max(ind.add_months(quarters[-1], 3), period.end)
    daily = ind.incidents_daily(con, start=first, end=last, facts=facts)
    extra = sorted(set(daily["theme"]) - set(themes)) if len(daily) else []
    themes = themes + extra
    cells = _Cells()
    for name, p in (("P", period), ("B", previous)):
        for q in quarters:
            if (q, ind.add_months(q, 3)) == (p.start, p.end):
                cells.alias[name] = ind.quarter_label(q)
    _incident_cells(cells, daily, windows, themes)
    _quality_cells(cells, ind.data_quality(con, period, facts=facts))
    sources = ind.missing_sources(con)
    for name, p in (("P", period), ("B", previous)):
        _missing_cells(cells, name, ind.missing_summary(con, p), sources)
        scr = ind.screenings_by_risk(con, p, levels=levels)
        for level, n in zip(scr["risk_level"], scr["children"], strict=True):
            cells.add(("scr", name, level), n)
        cells.total(("scr", name, "all"), [("scr", name, lv) for lv in scr["risk_level"]])
        ref = ind.referrals_by_type(con, p)
        for kind, n in zip(ref["referral_type"], ref["referrals"], strict=True):
            cells.add(("ref", name, kind), n)
        cells.total(("ref", name, "all"), [("ref", name, k) for k in ref["referral_type"]])
    risk_names = list(scr["risk_level"])
    referral_names = list(ref["referral_type"])
    annex = ind.annex_a_summary(con)
    if annex is not None:
        av = dict(zip(annex["indicator"], annex["value"], strict=True))
        for key, value in av.items():
            cells.add(("aa", key), value)
        cells.part_of(("aa", "children"), ("aa", "children_missing"), ("aa", "children_not_missing"))
        cells.part_of(("aa", "children"), ("aa", "rhi_offered"), ("aa", "rhi_not_offered"))
        cells.part_of(("aa", "rhi_offered"), ("aa", "rhi_accepted"), ("aa", "rhi_not_accepted"))
    locations = ind.locations_of_concern(con)
    count_cols: list[str] = []
    if locations is not None:
        count_cols = [
            c
            for c in ("count", "events", "incidents", "distinct_children", "count_current", "count_previous")
            if c in locations
        ]
        for i, row in locations.iterrows():
            for c in count_cols:
                cells.add(("loc", i, c), 0 if pd.isna(row[c]) else int(row[c]))

    protected = protect(cells.values, relations=cells.relations, hidden=cells.hidden, threshold=threshold)
    page = _Page(protected, cells)

    # ------------------------------------------------------------------ sections
    sections = [
        _summary(page, labels, locations),
        _glance(page, labels),
        _incidents_section(page, themes, quarters, labels),
        _missing_section(page, labels, sources),
        _screening_section(page, risk_names, labels),
        _referral_section(page, referral_names, labels),
        _locations_section(page, locations, count_cols),
    ]
    if annex is not None:
        sections.append(_annex_section(page))
    sections.append(_quality_section(page, period))
    sections.append(_method_section(threshold))
    generated = (generated_at or datetime.now(UTC)).astimezone(UTC)
    title = f"Contextual safeguarding outcome report: {period.label}"
    body = "".join(sections)
    doc = (
        "<!DOCTYPE html>\n"
        '<html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_esc(title)}</h1>"
        f'<p class="meta">Period {_esc(period.long_label)}, compared with {_esc(previous.long_label)}.</p>'
        f'<p class="meta">Steering group edition: aggregate counts only; counts below {threshold} are shown as '
        f"&lt;{threshold}. Generated {generated:%d %b %Y %H:%M} UTC.</p></header>"
        f"<main>{body}</main>"
        "<footer>Made with ctxrisk from the partnership warehouse. Aggregates only: no individual events, "
        "people or precise places are shown. Wording follows <i>Appropriate Language in Relation to Child "
        "Exploitation</i> (The Children's Society, 2022).</footer></body></html>\n"
    )
    assert_appropriate(doc, where="outcome report")
    refs = external_references(doc)
    if refs:  # pragma: no cover - the page is built from inline text only
        msg = f"outcome report references the external URL {refs[0]}"
        raise ValidationError(msg)
    logger.info(
        "built outcome report for %s: %s bytes, %s cells suppressed",
        period.label,
        f"{len(doc.encode('utf-8')):,}",
        f"{protected.suppressed:,}",
    )
    return doc


# ---------------------------------------------------------------------------------------------- sections


def _summary(page: _Page, labels: tuple[str, str], locations: pd.DataFrame | None) -> str:
    items = [
        _count_sentence(page, "Incidents recorded", ("inc", "P", "all"), ("inc", "B", "all"), labels),
    ]
    exploitation = [t for t in ("cse", "cce", "county_lines", "modern_slavery") if page.has(("inc", "P", t))]
    moves = []
    for t in exploitation:
        now, before = page.n(("inc", "P", t)), page.n(("inc", "B", t))
        if now is not None and before is not None and before > 0:
            moves.append(((now - before) / before, t, now, before))
    if moves:
        rise = max(moves)
        fall = min(moves)
        if rise[0] >= STEADY_PERCENT / 100:
            items.append(
                f"The largest rise among exploitation themes was in {THEME_LABELS.get(rise[1], rise[1]).lower()} "
                f"({rise[3]:,} to {rise[2]:,})."
            )
        if fall[0] <= -STEADY_PERCENT / 100:
            items.append(
                f"The largest fall among exploitation themes was in {THEME_LABELS.get(fall[1], fall[1]).lower()} "
                f"({fall[3]:,} to {fall[2]:,})."
            )
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
            page,
            "Return home interviews offered within 72 hours of the child's return",
            (("mis", "P", "rhi_offered_72h"), ("mis", "B", "rhi_offered_72h")),
            (("mis", "P", "returns"), ("mis", "B", "returns")),
            labels,
        )
    )
    items.append(
        _pct_sentence(
            page,
            "Return home interviews completed within 72 hours",
            (("mis", "P", "rhi_completed_72h"), ("mis", "B", "rhi_completed_72h")),
            (("mis", "P", "returns"), ("mis", "B", "returns")),
            labels,
        )
    )
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
    if locations is None:
        items.append(
            "Hotspot analysis has not been run on this warehouse, so no locations of concern are listed "
            "(run the locations-of-concern analysis, then make this report again)."
        )
    elif len(locations):
        items.append(f"{len(locations):,} locations of concern are listed below, ranked, with their trend.")
    lis = "".join(f"<li>{_esc(i)}</li>" for i in items)
    return (
        '<section id="summary"><h2>Summary</h2><div class="summary"><ul>' + lis + "</ul>"
        '<p class="note">A rise in recorded incidents, screenings or referrals can mean that partners are '
        "identifying more children at risk, not only that more harm is happening; read the trends together.</p>"
        "</div></section>"
    )


def _glance(page: _Page, labels: tuple[str, str]) -> str:
    rows_spec = [
        ("Prevent", "Children screened for exploitation risk", ("scr", "P", "all"), ("scr", "B", "all")),
        ("Prevent", "Early help referrals", ("ref", "P", "early_help"), ("ref", "B", "early_help")),
        ("Prevent", "Channel referrals", ("ref", "P", "channel"), ("ref", "B", "channel")),
        ("Prepare", "Incidents with no place recorded", ("dq", "unlocated"), None),
        ("Protect", "Missing and away episodes", ("mis", "P", "episodes"), ("mis", "B", "episodes")),
        ("Protect", "Children missing repeatedly", ("mis", "P", "children_repeat"), ("mis", "B", "children_repeat")),
        (
            "Protect",
            "Return home interviews offered within 72 hours",
            ("mis", "P", "rhi_offered_72h"),
            ("mis", "B", "rhi_offered_72h"),
        ),
        ("Protect", "NRM referrals", ("ref", "P", "nrm"), ("ref", "B", "nrm")),
        ("Protect", "MACE panel referrals", ("ref", "P", "mace"), ("ref", "B", "mace")),
        ("Pursue", "Child criminal exploitation and county lines incidents", None, None),
        ("Pursue", "Child sexual exploitation incidents", ("inc", "P", "cse"), ("inc", "B", "cse")),
        (
            "Pursue",
            "Modern slavery and trafficking incidents",
            ("inc", "P", "modern_slavery"),
            ("inc", "B", "modern_slavery"),
        ),
    ]
    rows = []
    for objective, what, now, before in rows_spec:
        if now is None:
            for t in ("cce", "county_lines"):
                key_now, key_before = ("inc", "P", t), ("inc", "B", t)
                if page.has(key_now):
                    rows.append(
                        [
                            (objective, ""),
                            (THEME_LABELS[t] + " incidents", ""),
                            page.cell(key_before),
                            page.cell(key_now),
                            page.change(key_now, key_before),
                        ]
                    )
            continue
        if not page.has(now):
            continue
        if before is None:
            rows.append([(objective, ""), (what, ""), ("–", ""), page.cell(now), ("see data quality", "")])
        else:
            rows.append([(objective, ""), (what, ""), page.cell(before), page.cell(now), page.change(now, before)])
    return (
        '<section id="glance"><h2>At a glance: Prevent, Prepare, Protect, Pursue</h2>'
        + _table(
            f"Key indicators, {labels[0]} against {labels[1]}",
            ["Objective", "Indicator", labels[1], labels[0], "Change"],
            rows,
            note="Change compares published counts only; it is not given where either count is small.",
            text_cols=2,
        )
        + "</section>"
    )


def _incidents_section(page: _Page, themes: list[str], quarters: list[date], labels: tuple[str, str]) -> str:
    qlabels = [ind.quarter_label(q) for q in quarters]
    rows = []
    for t in themes:
        rows.append([(THEME_LABELS.get(t, t), ""), *[page.cell(("inc", q, t)) for q in qlabels]])
    rows.append([("All themes", ""), *[page.cell(("inc", q, "all")) for q in qlabels]])
    trend_table = _table("Incidents by theme and quarter", ["Theme", *qlabels], rows)
    period_rows = [
        [
            (THEME_LABELS.get(t, t), ""),
            page.cell(("inc", "B", t)),
            page.cell(("inc", "P", t)),
            page.change(("inc", "P", t), ("inc", "B", t)),
        ]
        for t in themes
    ]
    period_rows.append(
        [
            ("All themes", ""),
            page.cell(("inc", "B", "all")),
            page.cell(("inc", "P", "all")),
            page.change(("inc", "P", "all"), ("inc", "B", "all")),
        ]
    )
    period_table = _table(
        f"Incidents by theme, {labels[0]} against {labels[1]}", ["Theme", labels[1], labels[0], "Change"], period_rows
    )
    focus = [t for t in ("cse", "cce", "county_lines", "modern_slavery", "serious_violence", "missing") if t in themes]
    chart = line_chart(
        qlabels,
        {THEME_LABELS.get(t, t): [page.n(("inc", q, t)) for q in qlabels] for t in focus},
        title="Incidents per quarter, exploitation and violence themes",
        description=(
            f"Line chart of incidents recorded per quarter from {qlabels[0]} to {qlabels[-1]} for "
            f"{len(focus)} themes; quarters with small or withheld numbers are left as gaps."
        ),
        chart_id="incidents-quarterly",
        unit="incidents",
    )
    return (
        f'<section id="incidents"><h2>{_objectives("Pursue", "Prevent")}Incidents by theme</h2>'
        "<p>Incidents recorded by partners and police, by theme and calendar quarter (UK local dates).</p>"
        + chart
        + trend_table
        + period_table
        + "</section>"
    )


def _missing_section(page: _Page, labels: tuple[str, str], sources: list[str]) -> str:
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
        spec[3:3] = [
            (f"from {_SOURCE_LABELS.get(s, s.replace('_', ' ') + ' records')}", f"source:{s}") for s in sources
        ]
    rows = [
        [
            (label, ""),
            page.cell(("mis", "B", key)),
            page.cell(("mis", "P", key)),
            page.change(("mis", "P", key), ("mis", "B", key)),
        ]
        for label, key in spec
    ]
    for label, num in (
        ("Share offered within 72 hours", "rhi_offered_72h"),
        ("Share completed within 72 hours", "rhi_completed_72h"),
    ):
        rows.append(
            [
                (label, ""),
                (_pct(page.pct(("mis", "B", num), ("mis", "B", "returns"))), ""),
                (_pct(page.pct(("mis", "P", num), ("mis", "P", "returns"))), ""),
                ("", ""),
            ]
        )
    cats = ["Episodes", "Children", "Repeat", "Returns", "RHI offered 72h", "RHI completed 72h"]
    keys = ["episodes", "children", "children_repeat", "returns", "rhi_offered_72h", "rhi_completed_72h"]
    chart = bar_chart(
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
        colours=("#9ab7d3", "#0b4f8a"),
    )
    return (
        f'<section id="missing"><h2>{_objectives("Protect")}Missing children and return home interviews</h2>'
        f"<p>Episodes that started in each period; a child is counted as missing repeatedly with "
        f"{ind.REPEAT_EPISODES} or more episodes in the period. Return home interviews are counted over missing "
        f"(not away) episodes whose child returned in the period, against the {ind.RHI_HOURS}-hour standard.</p>"
        + chart
        + _table(
            "Missing episodes",
            ["Indicator", labels[1], labels[0], "Change"],
            rows,
            note="Shares are worked out only from published counts, after small numbers are suppressed.",
        )
        + "</section>"
    )


def _screening_section(page: _Page, levels: list[str], labels: tuple[str, str]) -> str:
    rows = [
        [
            (RISK_LABEL.format(lv.replace("_", " ").capitalize()), ""),
            page.cell(("scr", "B", lv)),
            page.cell(("scr", "P", lv)),
            page.change(("scr", "P", lv), ("scr", "B", lv)),
        ]
        for lv in levels
    ]
    rows.append(
        [
            ("All children screened", ""),
            page.cell(("scr", "B", "all")),
            page.cell(("scr", "P", "all")),
            page.change(("scr", "P", "all"), ("scr", "B", "all")),
        ]
    )
    cats = [lv.replace("_", " ").capitalize() for lv in levels]
    chart = bar_chart(
        cats,
        {
            labels[1]: [page.n(("scr", "B", lv)) for lv in levels],
            labels[0]: [page.n(("scr", "P", lv)) for lv in levels],
        },
        title="Children screened, by latest risk level",
        description=f"Grouped bar chart of children screened in {labels[1]} and {labels[0]} by the risk level of "
        "their latest screening in the period.",
        chart_id="screenings",
        unit="children",
        gap_labels={
            (lab, i): page.gap(("scr", w, lv))
            for lab, w in ((labels[1], "B"), (labels[0], "P"))
            for i, lv in enumerate(levels)
        },
        colours=("#9ab7d3", "#0b4f8a"),
    )
    return (
        f'<section id="screenings"><h2>{_objectives("Prevent", "Protect")}Exploitation risk screenings</h2>'
        "<p>Children screened in each period, counted once at the risk level of their latest screening.</p>"
        + chart
        + _table("Children screened by latest risk level", ["Risk level", labels[1], labels[0], "Change"], rows)
        + "</section>"
    )


def _referral_section(page: _Page, kinds: list[str], labels: tuple[str, str]) -> str:
    rows = [
        [
            (REFERRAL_LABELS.get(k, k), ""),
            page.cell(("ref", "B", k)),
            page.cell(("ref", "P", k)),
            page.change(("ref", "P", k), ("ref", "B", k)),
        ]
        for k in kinds
    ]
    rows.append(
        [
            ("All referrals", ""),
            page.cell(("ref", "B", "all")),
            page.cell(("ref", "P", "all")),
            page.change(("ref", "P", "all"), ("ref", "B", "all")),
        ]
    )
    short = {"nrm": "NRM", "mace": "MACE", "channel": "Channel", "early_help": "Early help", "other": "Other"}
    chart = bar_chart(
        [short.get(k, k) for k in kinds],
        {labels[1]: [page.n(("ref", "B", k)) for k in kinds], labels[0]: [page.n(("ref", "P", k)) for k in kinds]},
        title="Referrals by type",
        description=f"Grouped bar chart of referrals made in {labels[1]} and {labels[0]}: National Referral "
        "Mechanism, MACE panel, Channel, early help and other.",
        chart_id="referrals",
        unit="referrals",
        gap_labels={
            (lab, i): page.gap(("ref", w, k))
            for lab, w in ((labels[1], "B"), (labels[0], "P"))
            for i, k in enumerate(kinds)
        },
        colours=("#9ab7d3", "#0b4f8a"),
    )
    return (
        f'<section id="referrals"><h2>{_objectives("Protect", "Prevent")}Referrals: NRM, MACE, Channel and early help</h2>'
        + chart
        + _table("Referrals by type", ["Referral", labels[1], labels[0], "Change"], rows)
        + "</section>"
    )


def _locations_section(page: _Page, locations: pd.DataFrame | None, count_cols: list[str]) -> str:
    head = f'<section id="locations"><h2>{_objectives("Pursue")}Top locations of concern</h2>'
    if locations is None:
        return head + (
            "<p><strong>Hotspot analysis has not been run</strong> on this warehouse (there is no "
            "locations-of-concern result), so no places are listed. Run the locations-of-concern analysis and "
            "make this report again.</p></section>"
        )
    if not len(locations):
        return head + "<p>The locations-of-concern analysis found no place of concern.</p></section>"
    name_col = next((c for c in ("name", "label", "area_name", "unit_id") if c in locations), None)
    text_cols = [
        c
        for c in (name_col, "ward_name", "lsoa_name")
        if c is not None and c in locations and locations[c].notna().any()
    ]
    theme_col = "themes" if "themes" in locations else ("theme" if "theme" in locations else None)
    titles = {
        "name": "Place",
        "label": "Place",
        "area_name": "Place",
        "unit_id": "Place",
        "ward_name": "Ward",
        "lsoa_name": "Neighbourhood (LSOA)",
        "count": "Events",
        "events": "Events",
        "incidents": "Incidents",
        "distinct_children": "Children involved",
        "count_current": "Events this period",
        "count_previous": "Events before",
    }
    header = ["Rank", *[titles[c] for c in text_cols]]
    if theme_col:
        header.append("Themes")
    if "score" in locations:
        header.append("Score")
    header += [titles[c] for c in count_cols]
    trend_col = "trend_label" if "trend_label" in locations else ("trend" if "trend" in locations else None)
    if trend_col:
        header.append("Trend")
    rows = []
    for i, row in locations.iterrows():
        cells = [(f"{int(row['rank'])}", "")]
        cells += [("" if pd.isna(row[c]) else str(row[c]).replace("_", " "), "") for c in text_cols]
        if theme_col:
            names = [] if pd.isna(row[theme_col]) else [t for t in str(row[theme_col]).split(";") if t]
            shown = ", ".join(THEME_LABELS.get(t, t.replace("_", " ")) for t in names[:3])
            cells.append((shown + (f" and {len(names) - 3} more" if len(names) > 3 else ""), ""))
        if "score" in locations:
            cells.append(("" if pd.isna(row["score"]) else f"{float(row['score']):.2f}", ""))
        cells += [page.cell(("loc", i, c)) for c in count_cols]
        if trend_col:
            cells.append(("" if pd.isna(row[trend_col]) else str(row[trend_col]).replace("_", " "), ""))
        rows.append(cells)
    return head + (
        "<p>Places ranked by the locations-of-concern analysis (areas or map cells, never exact points), with "
        "the direction of their trend.</p>"
        + _table("Top locations of concern", header, rows, text_cols=1 + len(text_cols) + (1 if theme_col else 0))
        + "</section>"
    )


def _annex_section(page: _Page) -> str:
    spec = [
        ("Children looked after in the Annex A list", "children"),
        ("Children with a missing episode in the last 12 months", "children_missing"),
        ("Children with an absence in the last 12 months", "children_absent"),
        ("Children offered a return interview", "rhi_offered"),
        ("Children who accepted a return interview", "rhi_accepted"),
    ]
    rows = [[(label, ""), page.cell(("aa", key))] for label, key in spec]
    return (
        f'<section id="annex-a"><h2>{_objectives("Protect")}Children looked after (Ofsted Annex A, list 8)</h2>'
        "<p>From the latest Annex A return loaded: a 12-month snapshot, not tied to the report period.</p>"
        + _table("Annex A list 8", ["Indicator", "Children"], rows)
        + "</section>"
    )


def _quality_section(page: _Page, period: ind.Period) -> str:
    rows = [
        [("Incidents in the period", ""), page.cell(("inc", "P", "all"))],
        [("With no place recorded (counted, never mapped)", ""), page.cell(("dq", "unlocated"))],
        [("Located outside the loaded boundaries", ""), page.cell(("dq", "out_of_area"))],
        [("Dated to the day only (no time of day)", ""), page.cell(("dq", "day_precision"))],
        [("Dated to the month only", ""), page.cell(("dq", "month_precision"))],
        [("Missing episodes with no found-at place", ""), page.cell(("mis", "P", "episodes_no_found_place"))],
    ]
    return (
        f'<section id="quality"><h2>{_objectives("Prepare")}Data quality notes</h2>'
        f"<p>How complete the period's records are. Records with no place are counted in every total but cannot "
        f"be mapped; records dated only to the day or month are left out of analyses by time of day or weekday.</p>"
        + _table(f"Place and time recording, {period.label}", ["Records", "Count"], rows)
        + "</section>"
    )


def _method_section(threshold: int) -> str:
    return (
        '<section id="method"><h2>Definitions and disclosure control</h2><ul>'
        "<li>Periods use UK local calendar dates. A quarter, month or year is compared with the one before it; a "
        "date range with the range of the same length just before it.</li>"
        f"<li>Children missing repeatedly: children with {ind.REPEAT_EPISODES} or more missing or away episodes "
        "starting in the period.</li>"
        f"<li>Return home interviews: over missing episodes whose child returned in the period, offered (or "
        f"completed) no later than {ind.RHI_HOURS} hours after the return.</li>"
        "<li>Screenings: each child counted once, at the risk level of their latest screening in the period.</li>"
        f"<li>Small numbers: every count below {threshold}, including zero, is shown as &lt;{threshold}. Where a "
        "small number could otherwise be worked out by adding or subtracting published figures (for example a "
        "total minus its other parts), a further count is withheld and shown as “withheld”. Shares and changes "
        "are worked out only from published counts, after suppression, and a share is not shown where the "
        "remainder would be a small number.</li>"
        "<li>Charts show only published numbers; a small or withheld number is a gap, never a bar or point.</li>"
        "</ul></section>"
    )
