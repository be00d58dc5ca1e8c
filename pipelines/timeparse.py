"""Parse ISO 8601 times: naive ones are local (Europe/London) time, every result is UTC, with its precision."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ctxrisk.pipelines.arrowtext import as_chunked

_MONTH = r"^\d{4}-\d{2}$"
_DAY = r"^\d{4}-\d{2}-\d{2}$"
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"
_ISO = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$"
# Plain local times, read without pandas' parser (see parse_plain_times).
_PLAIN = r"^\d{4}-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?)?$"
# Times with a zone offset (police.uk stop and search: 2025-06-01T00:38:00+00:00), read by Arrow's cast.
_AWARE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:?\d{2})$"


def local_to_utc(naive: np.ndarray | pd.Series | pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    """Naive local times in ``timezone`` as UTC instants (``datetime64[us, UTC]``; NaT stays NaT).

    In the autumn hour that happens twice the first (summer time) reading is taken; a local time in the
    spring hour that is skipped is moved forward by the gap, as a clock would be.
    """
    local = pd.DatetimeIndex(naive).tz_localize(
        timezone, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward"
    )
    return local.tz_convert("UTC").astype("datetime64[us, UTC]")


def parse_times(values: pd.Series, *, timezone: str = "Europe/London") -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse a column of ISO 8601 strings.

    Parameters
    ----------
    values : Series of str
        ``YYYY-MM``, ``YYYY-MM-DD``, ``YYYY-MM-DD[T ]HH:MM[:SS[.f]]`` with an optional ``Z`` or ``±HH:MM``.
    timezone : str
        Zone of times written without an offset.

    Returns
    -------
    utc : Series of datetime64[us, UTC]
        NaT where the value is blank or invalid.
    precision : Series of str
        ``month``, ``day`` or ``minute`` (None where blank or invalid).
    invalid : Series of bool
        True where a non-blank value could not be parsed.

    Notes
    -----
    Naive times are read as :func:`local_to_utc` reads them (the first reading of a repeated hour, a
    skipped hour moved forward).
    """
    text = values.astype("string").str.strip()
    blank = text.isna() | (text == "")
    is_month = text.str.match(_MONTH).fillna(False).astype(bool)
    is_day = text.str.match(_DAY).fillna(False).astype(bool)
    shaped = text.str.match(_ISO).fillna(False).astype(bool) | is_month
    has_offset = text.str.contains(_OFFSET, regex=True).fillna(False).astype(bool) & ~is_month & ~is_day

    utc = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    naive_mask = shaped & ~has_offset & ~blank
    if naive_mask.any():
        naive_text = text[naive_mask].where(~is_month[naive_mask], text[naive_mask] + "-01")
        naive = pd.to_datetime(naive_text.str.replace("T", " ", regex=False), format="ISO8601", errors="coerce")
        utc[naive_mask] = pd.Series(local_to_utc(naive, timezone), index=naive.index)
    offset_mask = shaped & has_offset & ~blank
    if offset_mask.any():
        aware = pd.to_datetime(text[offset_mask], format="ISO8601", utc=True, errors="coerce")
        utc[offset_mask] = aware.astype("datetime64[us, UTC]")

    invalid = ~blank & utc.isna()
    precision = pd.Series(np.where(is_month, "month", np.where(is_day, "day", "minute")), index=values.index)
    precision = precision.where(~utc.isna(), None)
    return utc, precision, invalid


def plain_time_parts(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray] | None:
    """Naive times and text lengths of a column whose every value is a plain local time, else None.

    Plain: ``YYYY-MM``, ``YYYY-MM-DD`` or ``YYYY-MM-DD[T ]HH:MM[:SS]`` with a real calendar day, hours 00-23
    and minutes and seconds 00-59. Nulls are NaT with length 0. The shape is checked with one regular
    expression and the values are read by Arrow's ISO 8601 cast, which refuses days a month does not have.
    """
    array = as_chunked(values).combine_chunks()
    if array.type not in (pa.string(), pa.large_string()):
        return None
    if not len(array):
        return np.zeros(0, dtype="datetime64[us]"), np.zeros(0, dtype=np.int64)
    shaped = pc.fill_null(pc.match_substring_regex(array, _PLAIN), True)
    if not pc.all(shaped).as_py():
        return None
    lengths = pc.fill_null(pc.binary_length(array), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    months = lengths == 7
    if months.any():  # a month alone is its first day
        array = pc.if_else(pa.array(months), pc.binary_join_element_wise(array, "-01", ""), array)
    try:
        stamps = pc.cast(array, pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return stamps.to_numpy(zero_copy_only=False).astype("datetime64[us]"), lengths


def aware_times(values: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """UTC times of a column whose every value is a time with a zone offset, else None.

    Aware: ``YYYY-MM-DD[T ]HH:MM[:SS]`` then ``Z`` or ``±HH[:]MM``, a real calendar day, hours 00-23, minutes
    and seconds 00-59. Nulls are NaT. Arrow's ISO 8601 cast reads the offset; a value it refuses (31 February,
    an offset of 25 hours) makes the whole column go to :func:`parse_times`.
    """
    array = as_chunked(values)
    if array.type not in (pa.string(), pa.large_string()) or not len(array):
        return None
    if not pc.all(pc.fill_null(pc.match_substring_regex(array, _AWARE), True)).as_py():
        return None
    try:
        stamps = pc.cast(array, pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return stamps.to_numpy().astype("datetime64[us]")


def parse_plain_times(values: pd.Series, *, timezone: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """:func:`parse_times`, faster on columns of plain local dates and times.

    When every value is ``YYYY-MM``, ``YYYY-MM-DD`` or ``YYYY-MM-DD[T ]HH:MM[:SS]`` (a real date and time,
    no offset, no fraction, nothing around it), or every value is such a time with a zone offset
    (:func:`aware_times`), the values are read by Arrow's cast;
    any other column, or any value that is not a real date, is parsed by ``parse_times`` itself. The results
    are the same.
    """
    arrow_errors = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)
    try:
        array = pa.array(values, from_pandas=True)
    except arrow_errors:
        return parse_times(values, timezone=timezone)
    # A column that starts with an offset is not plain: its shape is not checked twice.
    first = values.first_valid_index()
    offset_first = first is not None and re.search(_OFFSET, str(values[first])) is not None
    try:
        parts = None if offset_first else plain_time_parts(array)
        aware = aware_times(array) if parts is None else None
    except arrow_errors:
        parts = aware = None
    if parts is not None:
        naive, length = parts
        utc = pd.Series(local_to_utc(naive, timezone), index=values.index)
        codes = np.where(length == 7, 0, np.where(length == 10, 1, 2)).astype(np.int8)
    elif aware is not None:
        utc = pd.Series(pd.DatetimeIndex(aware).tz_localize("UTC").astype("datetime64[us, UTC]"), index=values.index)
        codes = np.full(len(aware), 2, dtype=np.int8)  # every aware time is to the minute
    else:
        return parse_times(values, timezone=timezone)
    # Built as Arrow strings from three codes: a million Python strings would take longer than the parse.
    precision = pa.DictionaryArray.from_arrays(
        pa.array(codes, mask=np.asarray(utc.isna())), pa.array(["month", "day", "minute"])
    ).dictionary_decode()
    return (
        utc,
        pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([precision])), index=values.index),
        pd.Series(np.zeros(len(values), dtype=bool), index=values.index),
    )
