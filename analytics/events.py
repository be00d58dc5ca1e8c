"""Load the events an analysis uses from ``staging.events``, filtered, with a count of what was left out and why.

Filters (all optional): event type, theme, source, period (``since``/``until``), time of day, and whether
out-of-area events are kept. Every event left out for a reason other than "it does not match the filter" is
counted in :attr:`EventSelection.excluded`, so each analysis can say what it did not use:

``out_of_area``
    Located events that fall outside every loaded boundary (``staging.events.out_of_area``); kept only with
    ``include_out_of_area=True``.
``coarse_for_period``
    Events whose time is too coarse to tell whether they fall in the period: a month-precision event of a
    month that straddles ``since`` or ``until`` (or a day-precision event of a straddled day).
``coarse_for_time_of_day``
    Day- or month-precision events when a time-of-day filter is given (their hour is unknown).
``outside_covered_span``
    Added by emerging hot spot runs: events in time steps beyond a gap where no event at all was loaded
    (:class:`ctxrisk.analytics.emerging_run.CoveredSpan`).
``coarse_for_<need>``
    Added by :meth:`EventSelection.require_precision`: ``week`` and ``weekday`` need day precision or better
    (month-precision police.uk rows are left out), ``hour`` needs minute precision, ``month`` takes any.

Unlocated events (no coordinates) pass the filters and are counted (:attr:`EventSelection.n_unlocated`) but
never placed: :meth:`EventSelection.located` leaves them out.

Times are stored in UTC; periods, hours and weekdays are read in the partnership's local time
(``settings.local_timezone``, default Europe/London).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Literal

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "COMPACT_COLUMNS",
    "EVENT_COLUMNS",
    "EVENT_TYPES",
    "EventSelection",
    "load_events",
    "parse_hours",
    "parse_period",
]

EVENT_TYPES: tuple[str, ...] = ("incident", "missing", "intelligence", "stop_search")
#: Columns of :attr:`EventSelection.events`, in order (``local_time`` is worked out from ``occurred_at``).
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "event_type",
    "source",
    "occurred_at",
    "time_precision",
    "category",
    "theme",
    "latitude",
    "longitude",
    "easting",
    "northing",
    "located",
    "out_of_area",
    "local_time",
)
#: Text columns of a few distinct values, held as pandas categoricals by ``load_events(compact=True)``.
COMPACT_COLUMNS: tuple[str, ...] = ("event_type", "source", "time_precision", "category", "theme")
#: Rows per batch read from the warehouse.
_BATCH_ROWS = 1 << 20
#: Columns every selection holds: what is placed and what is left out depend on them.
_ALWAYS: tuple[str, ...] = ("located", "out_of_area")
Need = Literal["month", "week", "weekday", "hour"]
#: Precisions good enough for each kind of time analysis.
PRECISION_OK: dict[str, frozenset[str]] = {
    "month": frozenset({"minute", "day", "month"}),
    "week": frozenset({"minute", "day"}),
    "weekday": frozenset({"minute", "day"}),
    "hour": frozenset({"minute"}),
}
#: Added to both ends of the SQL pre-filter on ``occurred_at``: longer than a month plus any UTC offset.
_PERIOD_MARGIN = timedelta(days=33)
_REASONS = {
    "out_of_area": "out of area",
    "coarse_for_period": "time too coarse to place in the period",
    "coarse_for_time_of_day": "no time of day (date or month only)",
    "coarse_for_week": "month-only time, too coarse for weekly bins",
    "coarse_for_weekday": "month-only time, too coarse for a weekday profile",
    "coarse_for_hour": "date or month only, too coarse for an hour profile",
    "coarse_for_month": "no usable time",
    "outside_region": "outside the study region",
    "outside_covered_span": "outside the time steps analysed (beyond a gap with no data)",
    "outside_areas": "not inside any area of the unit's level",
}


def _parse_point(text: str) -> tuple[date, date]:
    """Return ``[start, end)`` of a year ``YYYY``, month ``YYYY-MM`` or day ``YYYY-MM-DD``."""
    t = text.strip()
    try:
        if re.fullmatch(r"\d{4}", t):
            y = int(t)
            return date(y, 1, 1), date(y + 1, 1, 1)
        if re.fullmatch(r"\d{4}-\d{2}", t):
            y, m = int(t[:4]), int(t[5:])
            start = date(y, m, 1)
            return start, date(y + (m == 12), m % 12 + 1, 1)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
            d = date.fromisoformat(t)
            return d, d + timedelta(days=1)
    except ValueError as exc:
        msg = f"not a valid date {text!r}: {exc}"
        raise ValidationError(msg) from exc
    msg = f"not a date, month or year: {text!r}; use YYYY, YYYY-MM or YYYY-MM-DD"
    raise ValidationError(msg)


def parse_period(text: str) -> tuple[date, date]:
    """Parse a period into local dates ``[start, end)``.

    Parameters
    ----------
    text : str
        ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``, or two of these joined by ``..`` (both ends inclusive:
        ``2025-01..2025-06`` is January to June 2025).

    Returns
    -------
    tuple of datetime.date
        First day of the period and the day after its last day.

    Raises
    ------
    ValidationError
        On an unreadable date or an empty period.
    """
    if ".." in text:
        left, right = text.split("..", 1)
        start, _ = _parse_point(left)
        _, end = _parse_point(right)
    else:
        start, end = _parse_point(text)
    if end <= start:
        msg = f"period {text!r} is empty: it ends before it starts"
        raise ValidationError(msg)
    return start, end


def parse_hours(text: str) -> tuple[int, int]:
    """Parse a time-of-day window ``"H1-H2"`` (local hours 0-23, both inclusive; may wrap past midnight).

    ``"18-23"`` keeps 18:00-23:59; ``"22-3"`` keeps 22:00-03:59; ``"7"`` keeps 07:00-07:59.

    Raises
    ------
    ValidationError
        When the text is not one or two hours from 0 to 23.
    """
    m = re.fullmatch(r"\s*(\d{1,2})\s*(?:-\s*(\d{1,2})\s*)?", text)
    if not m:
        msg = f"time of day must look like 18-23 (local hours, inclusive), got {text!r}"
        raise ValidationError(msg)
    a = int(m.group(1))
    b = int(m.group(2)) if m.group(2) is not None else a
    if not (0 <= a <= 23 and 0 <= b <= 23):
        msg = f"hours must be from 0 to 23, got {text!r}"
        raise ValidationError(msg)
    return a, b


def _hour_mask(hours: pd.Series, window: tuple[int, int]) -> pd.Series:
    a, b = window
    return (hours >= a) & (hours <= b) if a <= b else (hours >= a) | (hours <= b)


@dataclass(frozen=True)
class EventSelection:
    """Events that passed the filters, and the count of those left out, by reason.

    Attributes
    ----------
    events : pandas.DataFrame
        One row per event: ``event_id, event_type, source, occurred_at`` (UTC), ``local_time`` (naive local
        time), ``time_precision, category, theme, latitude, longitude, easting, northing, located,
        out_of_area``. Unlocated events are included.
    excluded : dict of str to int
        Events left out, by reason (keys described in the module docstring); only reasons with a count.
    filters : dict
        The filters applied, for the run stamp.
    """

    events: pd.DataFrame
    excluded: dict[str, int] = field(default_factory=dict)
    filters: dict[str, object] = field(default_factory=dict)

    @property
    def n_unlocated(self) -> int:
        """Events that passed the filters but have no coordinates (counted, never placed)."""
        return int((~self.events["located"]).sum())

    @property
    def n_located(self) -> int:
        """Events with coordinates."""
        return int(self.events["located"].sum())

    def located(self) -> pd.DataFrame:
        """The events that can be placed on a map (``located``), in the order loaded.

        Worked out once per selection; each call returns its own frame (changes to it stay in it).
        """
        return self._located.copy(deep=False)

    @cached_property
    def _located(self) -> pd.DataFrame:
        located = self.events["located"].to_numpy(bool)
        return _rows(self.events, located, int(located.size - located.sum()))

    def require_precision(self, need: Need) -> EventSelection:
        """Leave out events whose time is too coarse for ``need`` and count them.

        Parameters
        ----------
        need : {"month", "week", "weekday", "hour"}
            The analysis: monthly bins take any precision; weekly bins and weekday profiles need a day;
            hour profiles need minute precision.
        """
        if need not in PRECISION_OK:
            msg = f"need must be one of {sorted(PRECISION_OK)}, got {need!r}"
            raise ValidationError(msg)
        keep = self.events["time_precision"].isin(PRECISION_OK[need])
        dropped = int((~keep).sum())
        excluded = dict(self.excluded)
        if dropped:
            excluded[f"coarse_for_{need}"] = excluded.get(f"coarse_for_{need}", 0) + dropped
            logger.info("left out %s events too coarse for %s analysis", f"{dropped:,}", need)
        return replace(self, events=_rows(self.events, keep.to_numpy(bool), dropped), excluded=excluded)

    def exclude(self, mask: pd.Series | object, reason: str) -> EventSelection:
        """Return a copy without the rows where ``mask`` is True, counting them under ``reason``."""
        m = pd.Series(mask, index=self.events.index).astype(bool)
        n = int(m.sum())
        excluded = dict(self.excluded)
        if n:
            excluded[reason] = excluded.get(reason, 0) + n
        return replace(self, events=_rows(self.events, ~m.to_numpy(bool), n), excluded=excluded)

    def note(self) -> str:
        """One sentence for the analyst: events used, unlocated, and what was left out and why."""
        parts = [f"{len(self.events):,} events selected ({self.n_located:,} located"]
        parts[0] += f", {self.n_unlocated:,} unlocated: counted, never placed)" if self.n_unlocated else ")"
        if self.excluded:
            left = "; ".join(f"{n:,} {_REASONS.get(k, k)}" for k, n in self.excluded.items())
            parts.append(f"left out: {left}")
        else:
            parts.append("none left out")
        return "; ".join(parts)


def _rows(frame: pd.DataFrame, keep: np.ndarray, n_dropped: int) -> pd.DataFrame:
    """The rows of ``frame`` where ``keep`` is True, renumbered from 0.

    With nothing dropped this is a shallow copy (copy-on-write: nothing is copied unless one of the two frames
    is changed), not a second copy of every column.
    """
    if n_dropped == 0:
        return frame.reset_index(drop=True)
    return frame[keep].reset_index(drop=True)


def _local_bounds(d: date | str | None, tz: str) -> pd.Timestamp | None:
    if d is None:
        return None
    if isinstance(d, str):
        d = _parse_point(d)[0]
    return pd.Timestamp(datetime(d.year, d.month, d.day)).tz_localize(tz).tz_convert("UTC").tz_localize(None)


def _as_tuple(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in value.split(",")]
    out = tuple(v.strip() for v in value if v and v.strip())
    return out or None


def load_events(
    con: duckdb.DuckDBPyConnection,
    *,
    settings: Settings,
    event_types: str | tuple[str, ...] | list[str] | None = None,
    themes: str | tuple[str, ...] | list[str] | None = None,
    sources: str | tuple[str, ...] | list[str] | None = None,
    since: date | str | None = None,
    until: date | str | None = None,
    hours: tuple[int, int] | str | None = None,
    include_out_of_area: bool = False,
    columns: Sequence[str] | None = None,
    compact: bool = False,
) -> EventSelection:
    """Load events from ``staging.events`` with filters, counting what is left out (see the module docstring).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An open warehouse.
    settings : Settings
        For ``themes`` (allowed names) and ``local_timezone``.
    event_types : str, sequence of str or None
        Any of ``incident``, ``missing`` (found-at places), ``intelligence``, ``stop_search``; a string is
        comma-separated; ``"all"`` or None keeps every type.
    themes : str, sequence of str or None
        Themes to keep (``settings.themes``); None keeps all.
    sources : str, sequence of str or None
        Sources to keep (e.g. ``police``, ``partnership``, ``police_uk_street``); None keeps all.
    since, until : datetime.date, str or None
        Local dates; ``since`` is the first day kept, ``until`` the last day kept (inclusive). A string may be
        ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (``until="2025-06"`` keeps all of June).
    hours : (int, int), str or None
        Local time-of-day window, both hours inclusive (see :func:`parse_hours`); events with no time of day
        are then left out and counted.
    include_out_of_area : bool
        Keep located events outside every loaded boundary (default False: they are left out and counted).
    columns : sequence of str or None
        The columns of the events frame, any of :data:`EVENT_COLUMNS`; ``located`` and ``out_of_area`` are
        always kept. None keeps all. An analysis that reads a few columns of millions of events asks for
        those only: the rows, the filters and the counts left out are the same.
    compact : bool
        Hold the text columns of a few distinct values (:data:`COMPACT_COLUMNS`) as pandas categoricals
        (the same values in a fraction of the memory). Default False: text (``str``) columns.

    Returns
    -------
    EventSelection

    Raises
    ------
    ValidationError
        On an unknown event type, theme or column, or ``since`` after ``until``.
    """
    wanted = EVENT_COLUMNS if columns is None else tuple(columns)
    bad_columns = sorted(set(wanted) - set(EVENT_COLUMNS))
    if bad_columns:
        msg = f"unknown event column(s) {bad_columns}; allowed: {list(EVENT_COLUMNS)}"
        raise ValidationError(msg)
    types = _as_tuple(event_types)
    if types is not None and "all" in types:
        types = None
    if types is not None:
        bad = sorted(set(types) - set(EVENT_TYPES))
        if bad:
            msg = f"unknown event type(s) {bad}; allowed: {list(EVENT_TYPES)} or 'all'"
            raise ValidationError(msg)
    theme_t = _as_tuple(themes)
    if theme_t is not None and settings.themes:
        bad = sorted(set(theme_t) - set(settings.themes))
        if bad:
            msg = f"unknown theme(s) {bad}; allowed: {list(settings.themes)}"
            raise ValidationError(msg)
    source_t = _as_tuple(sources)
    window = parse_hours(hours) if isinstance(hours, str) else hours
    tz = settings.local_timezone
    since_d = _parse_point(since)[0] if isinstance(since, str) else since
    until_end = _parse_point(until)[1] if isinstance(until, str) else (until + timedelta(days=1) if until else None)
    if since_d is not None and until_end is not None and until_end <= since_d:
        msg = f"--since {since_d} is after --until {until}"
        raise ValidationError(msg)

    where, params = [], []
    if types is not None:
        where.append(f"event_type in ({', '.join('?' for _ in types)})")
        params.extend(types)
    if theme_t is not None:
        where.append(f"theme in ({', '.join('?' for _ in theme_t)})")
        params.extend(theme_t)
    if source_t is not None:
        where.append(f"source in ({', '.join('?' for _ in source_t)})")
        params.extend(source_t)
    # A coarse UTC window that holds every event overlapping the local period (a month-precision event spans
    # at most 31 days; local time is within a day of UTC); the exact test, and the count of straddling
    # events, follow below. Events outside it neither match nor straddle, so none is miscounted.
    if since_d is not None:
        where.append("occurred_at >= ?")
        params.append(datetime(since_d.year, since_d.month, since_d.day, tzinfo=UTC) - _PERIOD_MARGIN)
    if until_end is not None:
        where.append("occurred_at < ?")
        params.append(datetime(until_end.year, until_end.month, until_end.day, tzinfo=UTC) + _PERIOD_MARGIN)
    # The filters on the period and the time of day read the local time and its precision.
    timed = since_d is not None or until_end is not None or window is not None
    keep = set(wanted) | set(_ALWAYS) | ({"local_time", "time_precision"} if timed else set())
    read = [c for c in EVENT_COLUMNS if c in keep and c != "local_time"]
    if "local_time" in keep and "occurred_at" not in read:
        read.insert(0, "occurred_at")
    select = ", ".join("coalesce(out_of_area, false) as out_of_area" if c == "out_of_area" else c for c in read)
    sql = (
        f"select {select} from staging.events"
        + (" where " + " and ".join(where) if where else "")
        + " order by event_type, event_id"
    )
    df = _to_pandas(con.execute(sql, params).to_arrow_reader(_BATCH_ROWS), compact=compact)
    if "occurred_at" in df:
        occurred = pd.to_datetime(df["occurred_at"], utc=True)
        df["occurred_at"] = occurred
        if "local_time" in keep:
            df["local_time"] = occurred.dt.tz_convert(tz).dt.tz_localize(None)
        del occurred
    df["located"] = df["located"].astype(bool)
    df["out_of_area"] = df["out_of_area"].astype(bool)
    df = df[[c for c in EVENT_COLUMNS if c in keep]]
    sel = EventSelection(df.reset_index(drop=True))

    if since_d is not None or until_end is not None:
        start = df["local_time"]
        month = df["time_precision"] == "month"
        day = df["time_precision"] == "day"
        end = start + pd.Timedelta(minutes=1)
        end[day] = start[day] + pd.Timedelta(days=1)
        end[month] = start[month] + pd.offsets.MonthBegin(1)
        lo = pd.Timestamp(since_d) if since_d is not None else None
        hi = pd.Timestamp(until_end) if until_end is not None else None
        inside = pd.Series(True, index=df.index)
        overlap = pd.Series(True, index=df.index)
        if lo is not None:
            inside &= start >= lo
            overlap &= end > lo
        if hi is not None:
            inside &= end <= hi
            overlap &= start < hi
        straddle = overlap & ~inside
        sel = sel.exclude(straddle, "coarse_for_period")
        keep_inside = inside[~straddle].reset_index(drop=True)
        sel = replace(sel, events=sel.events[keep_inside.to_numpy()].reset_index(drop=True))

    if window is not None:
        sel = sel.exclude(sel.events["time_precision"] != "minute", "coarse_for_time_of_day")
        in_window = _hour_mask(sel.events["local_time"].dt.hour, window)
        sel = replace(sel, events=sel.events[in_window.to_numpy()].reset_index(drop=True))

    if not include_out_of_area:
        sel = sel.exclude(sel.events["out_of_area"] & sel.events["located"], "out_of_area")

    filters = {
        "event_types": list(types) if types else "all",
        "themes": list(theme_t) if theme_t else "all",
        "sources": list(source_t) if source_t else "all",
        "since": str(since_d) if since_d else None,
        "until": str(until_end - timedelta(days=1)) if until_end else None,
        "hours": f"{window[0]}-{window[1]}" if window else None,
        "include_out_of_area": bool(include_out_of_area),
        "local_timezone": tz,
    }
    sel = replace(sel, filters=filters)
    extra = [c for c in sel.events.columns if c not in wanted and c not in _ALWAYS]
    if extra:  # read for the filters only
        sel = replace(sel, events=sel.events.drop(columns=extra))
    logger.info("loaded events: %s", sel.note())
    return sel


def _to_pandas(reader: pa.RecordBatchReader, *, compact: bool) -> pd.DataFrame:
    """The query's rows as a frame (faster than ``.df()`` for text), categoricals for :data:`COMPACT_COLUMNS`.

    The rows are read in batches; with ``compact`` each batch's few-valued text is dictionary-encoded as it
    arrives, so the whole result is never held as text.
    """
    schema = reader.schema
    chunks: dict[str, list[pa.Array]] = {name: [] for name in schema.names}
    for batch in reader:
        for name, column in zip(schema.names, batch.columns, strict=True):
            chunks[name].append(pc.dictionary_encode(column) if compact and name in COMPACT_COLUMNS else column)
    out: dict[str, pd.Series] = {}
    for name in schema.names:
        kind = schema.field(name).type
        if compact and name in COMPACT_COLUMNS:
            out[name] = _categorical(chunks.pop(name), kind, name)
        else:
            out[name] = pa.chunked_array(chunks.pop(name), type=kind).to_pandas()
    return pd.DataFrame(out)


def _categorical(chunks: list[pa.Array], kind: pa.DataType, name: str) -> pd.Series:
    """One pandas categorical from dictionary-encoded batches (categories in order of first appearance)."""
    column = pa.chunked_array(chunks, type=pa.dictionary(pa.int32(), kind))
    column = pa.table({name: column}).unify_dictionaries().column(name)
    if column.num_chunks:
        categories = column.chunk(0).dictionary.to_pylist()
        codes = np.concatenate([c.indices.fill_null(-1).to_numpy() for c in column.chunks]).astype(np.int32)
    else:
        categories, codes = [], np.zeros(0, dtype=np.int32)
    values = pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype="str"))
    return pd.Series(values, name=name)
