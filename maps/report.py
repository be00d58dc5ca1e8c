"""The steering-group outcome report (issue 6): one self-contained HTML page comparing a period with the previous one.

Sections follow the four objectives of the serious and organised crime strategy (Prevent, Prepare, Protect,
Pursue) and answer "where, what, and is it getting better?": the data coverage of each feed, incidents by theme
per quarter, missing episodes and children missing repeatedly, return home interview rates, screenings by risk
level, referrals (NRM, MACE, Channel, early help), the top locations of concern with their trend, and notes on
data quality. The sections live in :mod:`ctxrisk.maps.report_sections`, :mod:`ctxrisk.maps.report_missing`,
:mod:`ctxrisk.maps.report_locations` and :mod:`ctxrisk.maps.report_coverage`.

Disclosure control: the page holds aggregates only (no event points, no person IDs, no coordinates); every
count below ``settings.privacy.suppression_threshold`` is shown as ``"<5"`` and further cells are withheld so
that no small number can be recovered by differencing (:mod:`ctxrisk.maps.report_suppression`); a feed with
no record for a period reads ``"no data"``; percentages are computed only after suppression, from published
counts. Charts draw only published numbers. Every data-derived string is escaped, the page carries a
Content-Security-Policy that allows no script, and all wording is checked with
:func:`ctxrisk.maps.language.assert_appropriate` before the page is returned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb

from ctxrisk.maps import indicators as ind
from ctxrisk.maps.language import assert_appropriate
from ctxrisk.maps.report_cells import STEADY_PERCENT, Cells, Page, Windows, change_phrase, incident_cells, quality_cells
from ctxrisk.maps.report_coverage import coverage_section, coverage_warnings, read_coverage
from ctxrisk.maps.report_html import CSP, CSS, esc
from ctxrisk.maps.report_locations import analysis_span, location_cells, locations_section, map_names_and_themes
from ctxrisk.maps.report_missing import (
    MissingExtras,
    measure_cells,
    missing_cells,
    missing_figures,
    missing_measures,
    missing_section,
    next_episode_figures,
)
from ctxrisk.maps.report_sections import (
    REFERRAL_LABELS,
    RISK_LABEL,
    annex_section,
    glance_section,
    incidents_section,
    method_section,
    quality_section,
    referral_section,
    screening_section,
    summary_section,
)
from ctxrisk.maps.report_suppression import protect
from ctxrisk.maps.selfcontained import external_references
from ctxrisk.maps.steering import THEME_LABELS  # one wording of each theme for every page
from ctxrisk.maps.wording import generated_text
from ctxrisk.pipelines.errors import ValidationError

__all__ = [
    "QUARTERS_SHOWN",
    "REFERRAL_LABELS",
    "RISK_LABEL",
    "STEADY_PERCENT",
    "THEME_LABELS",
    "build_report",
    "change_phrase",
]

logger = logging.getLogger(__name__)

#: Quarters shown in the incidents-by-theme trend (ending with the quarter holding the period's last day).
QUARTERS_SHOWN = 8


@dataclass
class _Content:
    """Everything the sections read: the protected cells and what names them."""

    page: Page
    period: ind.Period
    previous: ind.Period
    quarters: list[date]
    themes: list[str]
    levels: list[str]
    kinds: list[str]
    sources: list[str]
    locations: object
    count_cols: list[str]
    span: str
    has_annex: bool
    coverage: object
    missing: MissingExtras | None = None


def _period(con: duckdb.DuckDBPyConnection, period, *, today, facts) -> ind.Period:
    if period is None:
        return ind.default_period(con, today=today, facts=facts)
    return ind.parse_period(period) if isinstance(period, str) else period


def _by_kind(cells: Cells, kind: str, frames: dict) -> list[str]:
    """Add ``(kind, window, name)`` cells and their totals from one frame per window (name, count columns).

    Every name found in either window gets a cell in both (0 where absent), so the two columns list the
    same rows and a category met in only one period is still shown.
    """
    names: list[str] = []
    for frame in frames.values():
        names += [n for n in frame.iloc[:, 0] if n not in names]
    for window, frame in frames.items():
        counts = dict(zip(frame.iloc[:, 0], frame.iloc[:, 1], strict=True))
        for n in names:
            cells.add((kind, window, n), int(counts.get(n, 0)))
        cells.total((kind, window, "all"), [(kind, window, n) for n in names])
    return names


def _gather(con: duckdb.DuckDBPyConnection, period: ind.Period, settings, facts: ind.IncidentFacts) -> _Content:
    """Read every count, relate them, mark feeds without data, and suppress small numbers."""
    previous = period.previous()
    themes = list(settings.themes) or list(THEME_LABELS)
    last_q = ind.quarter_of(period.last_day)
    quarters = ind.quarters_between(ind.add_months(last_q, -3 * (QUARTERS_SHOWN - 1)), last_q)
    windows = Windows(period, previous, quarters)
    daily = ind.incidents_daily(
        con,
        start=min(quarters[0], previous.start),
        end=max(ind.add_months(quarters[-1], 3), period.end),
        facts=facts,
    )
    themes += sorted(set(daily["theme"]) - set(themes)) if len(daily) else []
    cells = Cells()
    for name, p in (("P", period), ("B", previous)):
        for q in quarters:
            if (q, ind.add_months(q, 3)) == (p.start, p.end):
                cells.alias[name] = ind.quarter_label(q)
    incident_cells(cells, daily, windows, themes)
    quality_cells(cells, ind.data_quality(con, period, facts=facts))
    sources = ind.missing_sources(con)
    levels = tuple(settings.screening.risk_levels)
    medians = {}
    for name, p in (("P", period), ("B", previous)):
        missing_cells(cells, name, missing_figures(con, p), sources)
        medians[name] = measure_cells(cells, name, missing_measures(con, p, settings=settings))
    extras = MissingExtras(settings, medians, next_episode_figures(con, period, settings=settings))
    levels = _by_kind(
        cells,
        "scr",
        {
            n: ind.screenings_by_risk(con, p, levels=tuple(settings.screening.risk_levels))
            for n, p in (("P", period), ("B", previous))
        },
    )
    kinds = _by_kind(cells, "ref", {n: ind.referrals_by_type(con, p) for n, p in (("P", period), ("B", previous))})
    annex = ind.annex_a_summary(con)
    if annex is not None:
        for key, value in zip(annex["indicator"], annex["value"], strict=True):
            cells.add(("aa", key), value)
        cells.part_of(("aa", "children"), ("aa", "children_missing"), ("aa", "children_not_missing"))
        cells.part_of(("aa", "children"), ("aa", "rhi_offered"), ("aa", "rhi_not_offered"))
        cells.part_of(("aa", "rhi_offered"), ("aa", "rhi_accepted"), ("aa", "rhi_not_accepted"))
    locations = map_names_and_themes(
        con,
        ind.locations_of_concern(con),
        top=int(settings.locations.top),
        threshold=int(settings.privacy.suppression_threshold),
    )
    count_cols = location_cells(cells, locations)
    coverage = read_coverage(con)
    span_dates = coverage.spans["incidents"]
    protected = protect(
        cells.values,
        relations=cells.relations,
        hidden=cells.hidden,
        no_data=cells.no_data(coverage, windows.named()),
        threshold=int(settings.privacy.suppression_threshold),
    )
    return _Content(
        page=Page(protected, cells, exposure=period.days / previous.days),
        period=period,
        previous=previous,
        quarters=quarters,
        themes=themes,
        levels=levels,
        kinds=kinds,
        sources=sources,
        locations=locations,
        count_cols=count_cols,
        span=analysis_span(locations, first=span_dates.first, last=span_dates.last) if locations is not None else "",
        has_annex=annex is not None,
        coverage=coverage,
        missing=extras,
    )


def _locations_sentence(c: _Content) -> str:
    if c.locations is None:
        return (
            "Hotspot analysis has not been run on this warehouse, so no locations of concern are listed "
            "(run the locations-of-concern analysis, then make this report again)."
        )
    if not len(c.locations):
        return "No place of concern was flagged by the locations-of-concern analysis; the table is empty."
    return f"{len(c.locations):,} locations of concern are listed below, ranked, with their trend ({c.span})."


def _sections(c: _Content) -> list[str]:
    labels = (c.period.label, c.previous.label)
    warnings = coverage_warnings(c.coverage, c.period)
    out = [
        summary_section(c.page, labels, locations_text=_locations_sentence(c), warnings=warnings),
        glance_section(c.page, labels),
        coverage_section(c.coverage, c.period, c.previous, threshold=c.page.cells.threshold),
        incidents_section(c.page, c.themes, c.quarters, labels),
        missing_section(c.page, labels, c.sources, c.missing),
        screening_section(c.page, c.levels, labels),
        referral_section(c.page, c.kinds, labels),
        locations_section(c.page, c.locations, c.count_cols, span=c.span),
    ]
    if c.has_annex:
        out.append(annex_section(c.page))
    out.append(quality_section(c.page, c.period))
    out.append(method_section(c.page.cells.threshold))
    return out


def _document(c: _Content, body: str, generated: datetime) -> str:
    threshold = c.page.cells.threshold
    title = f"Contextual safeguarding outcome report: {c.period.label}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en-GB"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1>"
        f'<p class="meta">Period {esc(c.period.long_label)}, compared with {esc(c.previous.long_label)}.</p>'
        f'<p class="meta">Steering group edition: aggregate counts only; counts below {threshold} are shown as '
        f"&lt;{threshold}; “no data” marks a period a feed does not reach. Generated "
        f"{generated_text(generated)}.</p></header>"
        f"<main>{body}</main>"
        "<footer>Made with ctxrisk from the partnership warehouse. Aggregates only: no individual events, "
        "people or precise places are shown. Wording follows <i>Appropriate Language in Relation to Child "
        "Exploitation</i> (The Children's Society, 2022).</footer></body></html>\n"
    )


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
        The reporting period: a :class:`ctxrisk.maps.indicators.Period`, a ``--period`` text (``2026Q3``,
        ``2026-07``, ``2026``) or None for :func:`ctxrisk.maps.indicators.default_period`. It is compared with
        ``period.previous()``.
    settings : Settings
        Uses ``privacy.suppression_threshold``, ``themes`` and ``screening.risk_levels``.
    today : datetime.date, optional
        For the default period (default: today, UTC).
    generated_at : datetime.datetime, optional
        Time printed on the page (default: now, UTC).
    facts : ctxrisk.maps.indicators.IncidentFacts, optional
        :func:`ctxrisk.maps.indicators.incident_facts` when the caller has it (one pass over the incidents is
        made otherwise).

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
    content = _gather(con, _period(con, period, today=today, facts=facts), settings, facts)
    generated = (generated_at or datetime.now(UTC)).astimezone(UTC)
    doc = _document(content, "".join(_sections(content)), generated)
    assert_appropriate(doc, where="outcome report")
    refs = external_references(doc)
    if refs:  # pragma: no cover - the page is built from escaped text only
        msg = f"outcome report references the external URL {refs[0]}"
        raise ValidationError(msg)
    logger.info(
        "built outcome report for %s: %s bytes, %s cells suppressed",
        content.period.label,
        f"{len(doc.encode('utf-8')):,}",
        f"{content.page.cells.suppressed:,}",
    )
    return doc
