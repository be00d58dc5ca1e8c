"""Outcome indicators for the steering report: the period, its comparison period, and tidy counts from the marts.

Every function reads the ``marts.indicators_*`` views (``pipelines/sql/marts``) and returns a tidy
``pandas.DataFrame`` of **exact** counts; disclosure control is applied later, by the report
(:mod:`ctxrisk.maps.report_suppression`). Dates are UK local calendar dates (Europe/London); a period is
``[start, end)``.

Definitions
-----------
incidents in a period
    Partnership and police incidents whose local date falls in the period, by theme.
missing episodes in a period
    Missing and away episodes that **started** in the period. *Children missing*: distinct children with at
    least one such episode. *Children missing repeatedly*: children with **3 or more** episodes (missing or away)
    starting in the period (the DfE/Ofsted convention of "three or more episodes" applied to the period).
return home interviews
    Over episodes recorded as ``missing`` (not ``away``) whose child **returned** in the period (``ended_at``
    in the period): *offered within 72 hours* when ``rhi_offered_at <= ended_at + 72 h``; *completed within
    72 hours* when ``rhi_completed_at <= ended_at + 72 h`` (statutory guidance on children who run away or go
    missing from home or care, DfE 2014: an interview within 72 hours of return).
screenings by latest risk level
    Children screened in the period, each counted once at the risk level of their **latest** screening in the
    period (a full screening wins over a pre-screen on the same instant).
referrals
    Referrals made in the period by type: ``nrm``, ``mace``, ``channel``, ``early_help``, ``other``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import duckdb
import pandas as pd

from ctxrisk.maps.wording import period_label, period_long_label, quarter_text
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.warehouse import stale_marts

__all__ = [
    "REFERRAL_TYPES",
    "REPEAT_EPISODES",
    "RHI_HOURS",
    "Period",
    "add_months",
    "annex_a_summary",
    "check_views",
    "data_quality",
    "default_period",
    "incidents_by_quarter",
    "incidents_by_theme",
    "incidents_daily",
    "IncidentFacts",
    "incident_facts",
    "locations_of_concern",
    "missing_sources",
    "missing_summary",
    "parse_period",
    "period_from_dates",
    "quarter_label",
    "quarter_of",
    "quarters_between",
    "referrals_by_type",
    "screenings_by_risk",
]

logger = logging.getLogger(__name__)

#: Episodes (missing or away) starting in a period that make a child "missing repeatedly".
REPEAT_EPISODES = 3
#: Hours after a child's return within which a return home interview should be offered and held.
RHI_HOURS = 72
REFERRAL_TYPES: tuple[str, ...] = ("nrm", "mace", "channel", "early_help", "other")

_QUARTER = re.compile(r"^(\d{4})[-\s]?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_VIEWS = (
    "indicators_incidents",
    "indicators_incidents_quarterly",
    "indicators_missing_episodes",
    "indicators_screenings",
    "indicators_referrals",
    "indicators_feed_coverage",
)


def add_months(d: date, months: int) -> date:
    """The first day of the month ``months`` after (or before, when negative) the month of ``d``."""
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def quarter_of(d: date) -> date:
    """First day of the calendar quarter holding ``d``."""
    return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def quarters_between(first: date, last: date) -> list[date]:
    """First days of the calendar quarters from the one holding ``first`` to the one holding ``last``."""
    out, q = [], quarter_of(first)
    while q <= last:
        out.append(q)
        q = add_months(q, 3)
    return out


def quarter_label(start: date) -> str:
    """``2026 Q3`` for a quarter starting 2026-07-01 (:func:`ctxrisk.maps.wording.quarter_text`)."""
    return quarter_text(start.year, (start.month - 1) // 3 + 1)


@dataclass(frozen=True)
class Period:
    """A reporting period ``[start, end)`` of UK local dates.

    Attributes
    ----------
    start : datetime.date
        First day, included.
    end : datetime.date
        Day after the last day (excluded).
    kind : str
        ``"quarter"``, ``"month"``, ``"year"`` or ``"range"`` (from ``--since``/``--until``).
    """

    start: date
    end: date
    kind: str = "range"

    def __post_init__(self) -> None:
        if self.end <= self.start:
            msg = f"a period must end after it starts: {self.start} to {self.end}"
            raise ValidationError(msg)
        if self.kind not in ("quarter", "month", "year", "range"):
            msg = f"period kind must be quarter, month, year or range, got {self.kind!r}"
            raise ValidationError(msg)

    @property
    def days(self) -> int:
        """Length in days."""
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        """The last day included."""
        return self.end - timedelta(days=1)

    @property
    def label(self) -> str:
        """``2026 Q3``, ``July 2026``, ``2026`` or ``1 Jul to 30 Sep 2026`` (:func:`ctxrisk.maps.wording.period_label`,
        as the steering map names its periods)."""
        return period_label(self.kind, self.start, self.last_day)

    @property
    def long_label(self) -> str:
        """The label with its dates, e.g. ``2026 Q3 (1 Jul to 30 Sep 2026)``."""
        return period_long_label(self.kind, self.start, self.last_day)

    def previous(self) -> Period:
        """The comparison period: the previous quarter, month or year, or the same number of days before.

        A calendar period is compared with the calendar period before it (2026 Q3 with 2026 Q2, although the
        two differ by a day); a ``--since/--until`` range with the range of equal length that ends the day
        before it starts.
        """
        if self.kind == "quarter":
            return Period(add_months(self.start, -3), self.start, "quarter")
        if self.kind == "month":
            return Period(add_months(self.start, -1), self.start, "month")
        if self.kind == "year":
            return Period(date(self.start.year - 1, 1, 1), self.start, "year")
        return Period(self.start - timedelta(days=self.days), self.start, "range")


def parse_period(text: str) -> Period:
    """Parse ``--period``: a quarter ``2026Q3`` (or ``2026-Q3``, ``2026 Q3``), a month ``2026-07`` or a year ``2026``.

    Raises
    ------
    ValidationError
        For any other text.
    """
    value = text.strip()
    if m := _QUARTER.match(value):
        start = date(int(m.group(1)), 3 * (int(m.group(2)) - 1) + 1, 1)
        return Period(start, add_months(start, 3), "quarter")
    if m := _MONTH.match(value):
        month = int(m.group(2))
        if not 1 <= month <= 12:
            msg = f"period {text!r}: month must be 01-12"
            raise ValidationError(msg)
        start = date(int(m.group(1)), month, 1)
        return Period(start, add_months(start, 1), "month")
    if m := _YEAR.match(value):
        return Period(date(int(m.group(1)), 1, 1), date(int(m.group(1)) + 1, 1, 1), "year")
    msg = f"period {text!r} is not a quarter (2026Q3), a month (2026-07) or a year (2026)"
    raise ValidationError(msg)


def period_from_dates(since: str | date, until: str | date) -> Period:
    """A ``--since``/``--until`` period: both ISO dates (``YYYY-MM-DD``), both days included."""
    try:
        start = since if isinstance(since, date) else date.fromisoformat(str(since).strip())
        last = until if isinstance(until, date) else date.fromisoformat(str(until).strip())
    except ValueError as exc:
        msg = f"--since and --until must be dates written YYYY-MM-DD: {exc}"
        raise ValidationError(msg) from exc
    if last < start:
        msg = f"--until {last} is before --since {start}"
        raise ValidationError(msg)
    return Period(start, last + timedelta(days=1), "range")


def check_views(con: duckdb.DuckDBPyConnection) -> None:
    """Raise ValidationError when the warehouse lacks the indicator views (opened read-only before they existed)."""
    present = {
        r[0]
        for r in con.execute("select table_name from information_schema.tables where table_schema = 'marts'").fetchall()
    }
    missing = [v for v in _VIEWS if v not in present]
    if missing:
        msg = (
            f"the warehouse has no marts.{missing[0]} view; open it writable once (e.g. `ctxrisk init`) so the "
            "indicator views are created"
        )
        raise ValidationError(msg)


@dataclass(frozen=True)
class IncidentFacts:
    """Incidents counted by ``local_date, theme, located, out_of_area, time_precision`` (column ``n``).

    One pass over ``marts.indicators_incidents`` (a view over every event) that :func:`default_period`,
    :func:`incidents_daily` and :func:`data_quality` can share instead of reading the view each.

    Attributes
    ----------
    table : pyarrow.Table
        The grouped counts, with the view's column types.
    """

    table: object

    def query(
        self, con: duckdb.DuckDBPyConnection, sql: str, params: list[object], *, fetch: Literal["df", "one"] = "df"
    ) -> Any:
        """Run ``sql`` on ``con`` with ``{facts}`` naming the counts; ``fetch`` ``"df"`` (a DataFrame) or ``"one"``."""
        con.register("_indicator_incident_facts", self.table)
        try:
            result = con.execute(sql.replace("{facts}", "_indicator_incident_facts"), params)
            return result.df() if fetch == "df" else result.fetchone()
        finally:
            con.unregister("_indicator_incident_facts")


def incident_facts(con: duckdb.DuckDBPyConnection) -> IncidentFacts:
    """Count incidents by local date, theme, place and time quality in one pass (see :class:`IncidentFacts`)."""
    check_views(con)
    table = con.execute(
        "select local_date, theme, located, out_of_area, time_precision, count(*)::bigint as n "
        "from marts.indicators_incidents group by all"
    ).to_arrow_table()
    return IncidentFacts(table)


def default_period(
    con: duckdb.DuckDBPyConnection, *, today: date | None = None, facts: IncidentFacts | None = None
) -> Period:
    """The last calendar quarter that is complete both by the calendar and by the data.

    That is the last quarter ending on or before ``today`` and on or before the day after the latest
    incident, missing episode, screening or referral in the warehouse (so a sample whose data end on
    30 September reports on the July-September quarter). An incident dated only to its month (police.uk)
    counts as its month's last day: the real City of London months end with December 2024, and the report
    was made for July-September. ``facts`` (:func:`incident_facts`) saves a pass over the incidents.
    """
    check_views(con)
    today = today or datetime.now(UTC).date()
    incidents = "marts.indicators_incidents" if facts is None else "{facts}"
    sql = f"""
        select max(d) from (
            select max(if(time_precision = 'month', last_day(local_date), local_date)) as d from {incidents}
            union all select max(start_date) from marts.indicators_missing_episodes
            union all select max(screened_date) from marts.indicators_screenings
            union all select max(referred_date) from marts.indicators_referrals
        )
        """
    latest = (con.execute(sql).fetchone() if facts is None else facts.query(con, sql, [], fetch="one"))[0]
    horizon = today if latest is None else min(today, latest + timedelta(days=1))
    start = add_months(quarter_of(horizon), -3)
    if quarter_of(horizon + timedelta(days=1)) != quarter_of(horizon):
        start = quarter_of(horizon)  # horizon is the last day of its quarter: that quarter is complete
    return Period(start, add_months(start, 3), "quarter")


def incidents_daily(
    con: duckdb.DuckDBPyConnection, *, start: date, end: date, facts: IncidentFacts | None = None
) -> pd.DataFrame:
    """Incidents per local date and theme in ``[start, end)``: columns ``local_date``, ``theme``, ``incidents``.

    ``facts`` (:func:`incident_facts`) saves a pass over the incidents.
    """
    check_views(con)
    if facts is not None:
        return facts.query(
            con,
            """
            select local_date, theme, sum(n)::bigint as incidents
            from {facts}
            where local_date >= ? and local_date < ?
            group by all order by all
            """,
            [start, end],
        )
    return con.execute(
        """
        select local_date, theme, count(*)::bigint as incidents
        from marts.indicators_incidents
        where local_date >= ? and local_date < ?
        group by all order by all
        """,
        [start, end],
    ).df()


def incidents_by_theme(con: duckdb.DuckDBPyConnection, period: Period, *, themes: tuple[str, ...]) -> pd.DataFrame:
    """Incidents in the period by theme: columns ``theme``, ``incidents`` (every theme of ``themes``, zeros kept)."""
    daily = incidents_daily(con, start=period.start, end=period.end)
    counts = daily.groupby("theme")["incidents"].sum()
    names = list(themes) + sorted(set(counts.index) - set(themes))
    return pd.DataFrame({"theme": names, "incidents": [int(counts.get(t, 0)) for t in names]})


def incidents_by_quarter(
    con: duckdb.DuckDBPyConnection, *, first: date, last: date, themes: tuple[str, ...]
) -> pd.DataFrame:
    """Incidents per calendar quarter and theme from ``marts.indicators_incidents_quarterly``.

    Returns
    -------
    pandas.DataFrame
        Columns ``quarter_start``, ``quarter``, ``theme``, ``incidents``, ``unlocated``, ``out_of_area``,
        ``coarse_time``: one row per quarter from the one holding ``first`` to the one holding ``last`` and per
        theme, zeros included.
    """
    check_views(con)
    quarters = quarters_between(first, last)
    got = con.execute(
        "select * from marts.indicators_incidents_quarterly where quarter_start >= ? and quarter_start <= ?",
        [quarters[0], quarters[-1]],
    ).df()
    names = list(themes) + sorted(set(got["theme"]) - set(themes))
    grid = pd.MultiIndex.from_product([quarters, names], names=["quarter_start", "theme"]).to_frame(index=False)
    if len(got):
        got["quarter_start"] = pd.to_datetime(got["quarter_start"]).dt.date
    out = grid.merge(got.drop(columns=["quarter"]), on=["quarter_start", "theme"], how="left")
    for col in ("incidents", "unlocated", "out_of_area", "coarse_time"):
        out[col] = out[col].fillna(0).astype("int64")
    out.insert(1, "quarter", [quarter_label(q) for q in out["quarter_start"]])
    return out


def missing_summary(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """Missing-episode indicators for the period: columns ``indicator``, ``value``.

    Indicators: ``episodes``, ``episodes_missing``, ``episodes_away``, ``children``, ``children_repeat``
    (``REPEAT_EPISODES`` or more episodes), ``returns`` (missing episodes whose child returned in the period),
    ``rhi_offered_72h``, ``rhi_completed_72h``, ``episodes_no_found_place``, and ``episodes_source:<source>``
    per source of the episodes (``partnership``, ``ssda903`` …).
    """
    check_views(con)
    row = con.execute(
        f"""
        with started as (
            select * from marts.indicators_missing_episodes where start_date >= $1 and start_date < $2
        ),
        per_child as (select person_id, count(*) as n from started group by person_id),
        returned as (
            select * from marts.indicators_missing_episodes
            where returned and missing_type = 'missing' and return_date >= $1 and return_date < $2
        )
        select
            (select count(*) from started),
            (select count(*) from started where missing_type = 'missing'),
            (select count(*) from started where missing_type <> 'missing'),
            (select count(*) from per_child),
            (select count(*) from per_child where n >= {REPEAT_EPISODES}),
            (select count(*) from returned),
            (select count(*) from returned where rhi_offered_72h),
            (select count(*) from returned where rhi_completed_72h),
            (select count(*) from started where not found_located)
        """,
        [period.start, period.end],
    ).fetchone()
    names = [
        "episodes",
        "episodes_missing",
        "episodes_away",
        "children",
        "children_repeat",
        "returns",
        "rhi_offered_72h",
        "rhi_completed_72h",
        "episodes_no_found_place",
    ]
    out = pd.DataFrame({"indicator": names, "value": [int(v) for v in row]})
    sources = con.execute(
        "select source, count(*) from marts.indicators_missing_episodes where start_date >= ? and start_date < ? "
        "group by 1 order by 1",
        [period.start, period.end],
    ).fetchall()
    extra = pd.DataFrame(
        {"indicator": [f"episodes_source:{s}" for s, _ in sources], "value": [int(n) for _, n in sources]}
    )
    return pd.concat([out, extra], ignore_index=True)


def missing_sources(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Sources of the missing episodes held (e.g. ``["partnership", "ssda903"]``)."""
    check_views(con)
    return [
        r[0] for r in con.execute("select distinct source from marts.indicators_missing_episodes order by 1").fetchall()
    ]


def screenings_by_risk(con: duckdb.DuckDBPyConnection, period: Period, *, levels: tuple[str, ...]) -> pd.DataFrame:
    """Children screened in the period by the risk level of their latest screening in it.

    Returns
    -------
    pandas.DataFrame
        Columns ``risk_level``, ``children``: one row per level of ``levels`` (lowest first, zeros kept),
        then any other level found, sorted.
    """
    check_views(con)
    got = con.execute(
        """
        with latest as (
            select person_id, risk_level from marts.indicators_screenings
            where screened_date >= ? and screened_date < ?
            qualify row_number() over (
                partition by person_id order by screened_at desc, (tool = 'full') desc, risk_level
            ) = 1
        )
        select risk_level, count(*)::bigint as children from latest group by 1
        """,
        [period.start, period.end],
    ).df()
    counts = dict(zip(got["risk_level"], got["children"], strict=True))
    names = list(levels) + sorted(set(counts) - set(levels))
    return pd.DataFrame({"risk_level": names, "children": [int(counts.get(n, 0)) for n in names]})


def referrals_by_type(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """Referrals made in the period by type: columns ``referral_type``, ``referrals`` (every type, zeros kept)."""
    check_views(con)
    got = con.execute(
        "select referral_type, count(*)::bigint as n from marts.indicators_referrals "
        "where referred_date >= ? and referred_date < ? group by 1",
        [period.start, period.end],
    ).fetchall()
    counts = dict(got)
    names = list(REFERRAL_TYPES) + sorted(set(counts) - set(REFERRAL_TYPES))
    return pd.DataFrame({"referral_type": names, "referrals": [int(counts.get(n, 0)) for n in names]})


def data_quality(con: duckdb.DuckDBPyConnection, period: Period, *, facts: IncidentFacts | None = None) -> pd.DataFrame:
    """Place and time quality of the period's incidents: columns ``indicator``, ``value``.

    Indicators: ``incidents``, ``unlocated`` (no place: counted, never mapped), ``out_of_area`` (located
    outside every loaded boundary), ``day_precision`` and ``month_precision`` (dated to the day or month only:
    left out of analyses by time of day or weekday). ``facts`` (:func:`incident_facts`) saves a pass over the
    incidents.
    """
    check_views(con)
    names = ["incidents", "unlocated", "out_of_area", "day_precision", "month_precision"]
    if facts is not None:
        row = facts.query(
            con,
            """
            select coalesce(sum(n), 0), coalesce(sum(n) filter (where not located), 0),
                   coalesce(sum(n) filter (where out_of_area), 0),
                   coalesce(sum(n) filter (where time_precision = 'day'), 0),
                   coalesce(sum(n) filter (where time_precision = 'month'), 0)
            from {facts} where local_date >= ? and local_date < ?
            """,
            [period.start, period.end],
            fetch="one",
        )
        return pd.DataFrame({"indicator": names, "value": [int(v) for v in row]})
    row = con.execute(
        """
        select count(*), count(*) filter (where not located), count(*) filter (where out_of_area),
               count(*) filter (where time_precision = 'day'), count(*) filter (where time_precision = 'month')
        from marts.indicators_incidents where local_date >= ? and local_date < ?
        """,
        [period.start, period.end],
    ).fetchone()
    return pd.DataFrame({"indicator": names, "value": [int(v) for v in row]})


def _table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position",
            [schema, table],
        ).fetchall()
    ]


def locations_of_concern(con: duckdb.DuckDBPyConnection, *, top: int = 10) -> pd.DataFrame | None:
    """The top ranked places of ``marts.locations_of_concern``, or None when that mart has not been built.

    Only display-safe columns are read: ``rank``, ``unit_id``, a name (``name``/``label``/``area_name``), ward
    and LSOA names, ``themes`` (``;``-separated), the ``score``, counts (``count``, ``events``, ``incidents``,
    ``distinct_children``, ``count_current``, ``count_previous``), ``trend`` and ``trend_p``, and the run's
    ``run_at`` and ``parameters`` (its filters). Coordinates, geometries, profiles and any person column are
    never read.
    """
    columns = _table_columns(con, "marts", "locations_of_concern")
    if not columns or "locations_of_concern" in stale_marts(con):  # emptied by a purge: not built
        return None
    wanted = [
        "rank",
        "unit_id",
        "name",
        "label",
        "area_name",
        "ward_name",
        "lsoa_name",
        "themes",
        "theme",
        "score",
        "count",
        "events",
        "incidents",
        "distinct_children",
        "count_current",
        "count_previous",
        "trend",
        "trend_p",
        "trend_label",
        "run_at",
        "parameters",
    ]
    keep = [c for c in wanted if c in columns]
    if "rank" not in keep:
        msg = f"marts.locations_of_concern has no rank column; columns are {columns}"
        raise ValidationError(msg)
    quoted = ", ".join(f'"{c}"' for c in keep)
    return con.execute(f'select {quoted} from marts.locations_of_concern order by "rank" limit ?', [int(top)]).df()


def annex_a_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """Ofsted Annex A List 8 (children looked after) counts, or None when no Annex A return is loaded.

    Each child is counted once, from the most recently ingested return that lists them.

    Returns
    -------
    pandas.DataFrame or None
        Columns ``indicator``, ``value``: ``children`` (listed), ``children_missing`` (one or more missing
        episodes in the last 12 months), ``children_absent`` (one or more absences), ``rhi_offered`` and
        ``rhi_accepted`` (children offered / who accepted a return interview).
    """
    if not _table_columns(con, "raw", "annex_a_children"):
        return None
    row = con.execute(
        """
        select count(*), count(*) filter (where missing_episodes_12m > 0),
               count(*) filter (where absent_episodes_12m > 0),
               count(*) filter (where rhi_offered), count(*) filter (where rhi_accepted)
        from (
            select distinct on (person_id) children.*
            from raw.annex_a_children as children
            left join raw.ingest_files as files using (file_id)
            order by person_id, files.ingested_at desc nulls last
        )
        """
    ).fetchone()
    if not row[0]:
        return None
    names = ["children", "children_missing", "children_absent", "rhi_offered", "rhi_accepted"]
    return pd.DataFrame({"indicator": names, "value": [int(v) for v in row]})
