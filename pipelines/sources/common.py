"""Helpers shared by the public-format readers: header matching, stable derived keys, value checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ctxrisk.pipelines.arrowtext import (  # noqa: F401 - encode .. to_chunked are re-exported for the format readers
    encode,
    factorize,
    fixed_width_fingerprints,
    has_control,
    is_arrow_text,
    longer_than,
    spread,
    spread_flags,
    text_series,
    to_arrow,
    to_chunked,
)
from ctxrisk.pipelines.batch import MAX_TEXT, RejectCollector
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.rowhash import row_keys
from ctxrisk.pipelines.tabular import TextTable

_SPACES = re.compile(r"\s+")
#: Rows looked at to judge whether a column is mostly distinct (see parse_times_unique).
DISTINCT_SAMPLE_ROWS = 10_000


def normalise_header(name: str) -> str:
    """Lower-case a column name, straighten curly quotes and collapse white space."""
    name = name.replace("\u2018", "'").replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    return _SPACES.sub(" ", name.strip().lower())


def map_columns(
    table: TextTable,
    columns: dict[str, str],
    *,
    required: tuple[str, ...],
    fmt: str,
) -> pd.DataFrame:
    """Return the file's columns renamed to internal names; raise when a required column is missing.

    Parameters
    ----------
    columns : dict
        Internal name -> the column name the format uses (matched case-insensitively).
    required : tuple of str
        Internal names that must be in the header.
    fmt : str
        The format's name, for messages.
    """
    by_norm = {normalise_header(h): h for h in table.header}
    found = {
        name: by_norm[normalise_header(header)]
        for name, header in columns.items()
        if normalise_header(header) in by_norm
    }
    missing = [columns[name] for name in required if name not in found]
    if missing:
        msg = (
            f"{table.path}: line 1: not a {fmt} file: column(s) {', '.join(repr(m) for m in missing)} missing; "
            f"the header has {', '.join(table.header)}. Nothing was loaded from this file"
        )
        raise ValidationError(msg)
    frame = table.frame[list(found.values())].copy()
    frame.columns = list(found.keys())
    for name in columns:
        if name not in frame.columns:  # all blank, as Arrow nulls
            frame[name] = text_series(pa.nulls(len(frame), pa.large_string()))
    return frame.reset_index(drop=True)


def repeated(series: pd.Series) -> np.ndarray:
    """True where a non-blank value appears more than once in the column.

    Fixed-width values (police.uk Crime IDs) are first told apart by a 64-bit fingerprint each
    (:func:`ctxrisk.pipelines.arrowtext.fixed_width_fingerprints`) and a sort of the fingerprints; only values whose
    fingerprint repeats are compared as text, rather than counting every ID in a hash table of strings. Other
    columns are counted directly.
    """
    values = to_chunked(series)
    found = fixed_width_fingerprints(values)
    if found is None:
        return _repeated_text(values)
    prints, rows = found
    out = np.zeros(len(values), dtype=bool)
    ordered = np.sort(prints)  # neighbours in sorted order: cheaper than a hash table of the fingerprints
    twice = ordered[1:][ordered[1:] == ordered[:-1]]
    if len(twice):  # none is the usual case: all different
        maybe = rows[np.isin(prints, twice)]
        out[maybe[_repeated_text(values.take(pa.array(maybe)))]] = True
    return out


def _repeated_text(values: pa.ChunkedArray) -> np.ndarray:
    counts = pc.value_counts(values)
    several = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1)).drop_null()
    if not len(several):
        return np.zeros(len(values), dtype=bool)
    return pc.is_in(values, value_set=several).to_numpy(zero_copy_only=False)


def map_unique(series: pd.Series, func: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply a vectorised ``func`` to the distinct values of ``series`` only and spread the result back.

    Real exports repeat a few values millions of times (one month, one force), so checking the distinct
    values is much faster than checking every row. ``func`` also gets one blank value (last).
    """
    codes, uniques = factorize(series)
    values = pd.Series([*uniques, None], dtype=series.dtype)
    result = func(values).reset_index(drop=True)
    out = result.take(codes)
    out.index = series.index
    return out


def text_checks(collector: RejectCollector, series: pd.Series, column: str) -> None:
    """Refuse values longer than the text limit or holding control characters.

    Both checks look at the column's bytes (a value's byte length bounds its length in characters; control
    characters are single bytes in UTF-8), so clean columns cost one pass over memory, not one regex per value.
    """
    values = to_chunked(series)
    long = longer_than(values, MAX_TEXT)
    control = has_control(values)
    collector.add(long, column, series, f"longer than {MAX_TEXT} characters")
    collector.add(control & ~long, column, series, "contains control characters")


def derived_keys(
    frame: pd.DataFrame,
    columns: list[str],
    *,
    prefix: str,
    rows: np.ndarray | None = None,
    lead: pa.Array | pa.ChunkedArray | None = None,
    joiner: str = "",
) -> pa.Array:
    """Stable keys for rows without a usable ID: ``prefix`` + content hash + ``-`` + occurrence number.

    The content hash is the first 20 hex digits of the SHA-256 of the row's values in ``columns`` (blanks as
    empty text) joined by ``\\x1f`` (:mod:`ctxrisk.pipelines.rowhash`). The same rows in a re-export get the same keys
    (so a re-export replaces rather than duplicates); identical rows are told apart by the order in which they
    appear. ``rows`` (a boolean mask) keys only those rows; ``lead`` (text per picked row) goes first, then
    ``joiner``. The result has one key per picked row, in file order, as Arrow text.
    """
    mask = None if rows is None else pa.array(rows, type=pa.bool_())
    values = [to_chunked(frame[name]) for name in columns]
    if mask is not None:
        values = [pc.filter(v, mask) for v in values]
    if not values or not len(values[0]):
        return pa.array([], type=pa.large_string())
    return row_keys(values, prefix=prefix, lead=lead, joiner=joiner)


def match_month(series: pd.Series) -> np.ndarray:
    """True where a value is a valid ``YYYY-MM`` month (checked per distinct value)."""
    return map_unique(series, lambda s: s.str.match(r"^\d{4}-(0[1-9]|1[0-2])$").fillna(False).astype(bool)).to_numpy(
        dtype=bool
    )


def lsoa_vintage(
    month: pd.Series,
    lsoa_code: pd.Series,
    *,
    lsoa21_from: str,
    month_codes: tuple[np.ndarray, list[object]] | None = None,
) -> pd.Series:
    """``lsoa11`` for months before ``lsoa21_from`` (``YYYY-MM``), else ``lsoa21``; None where no LSOA code.

    ``month_codes`` is ``factorize(month)`` when the caller has it already (a million months are not hashed
    twice).
    """
    codes, uniques = month_codes if month_codes is not None else factorize(month)
    per_month = ["lsoa11" if (u or "") < lsoa21_from else "lsoa21" for u in uniques] + [
        "lsoa11" if "" < lsoa21_from else "lsoa21"
    ]
    vintage = spread(per_month, codes)
    vintage = pc.if_else(pc.is_valid(to_arrow(lsoa_code)), vintage, pa.scalar(None, pa.string()))
    return text_series(vintage)


_YES = frozenset({"true", "yes", "y", "1"})
_NO = frozenset({"false", "no", "n", "0"})
_ANSWER_PREFIX = re.compile(r"^[a-z]{1,2}\)\s*")


def _yes_no_answer(value: object) -> bool | None:
    if not isinstance(value, str):
        return None
    low = _ANSWER_PREFIX.sub("", value.lower()).strip()
    return True if low in _YES else False if low in _NO else None


def yes_no(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse ``True/False``, ``Yes/No``, ``Y/N`` (with optional letter prefix ``a) Yes``); return values, bad mask.

    Each distinct value is read once and the answers spread back (a column holds a handful of distinct
    answers).
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    answers = [_yes_no_answer(u) for u in uniques]
    is_yes = spread_flags([a is True for a in answers], codes)
    is_no = spread_flags([a is False for a in answers], codes)
    answered = is_yes | is_no
    values = pd.Series(pd.arrays.BooleanArray(is_yes, ~answered), index=series.index)
    return values, series.notna().to_numpy() & ~answered


def batch_lines(table_lines: np.ndarray, good: np.ndarray) -> np.ndarray:
    """Lines of the rows kept."""
    return np.asarray(table_lines)[good]


def force_from_filename(path: Path, suffix: str) -> str | None:
    """The force slug in a data.police.uk file name ``YYYY-MM-<force>-<suffix>.csv``, if it has that shape."""
    match = re.match(rf"^(?:.*?)(\d{{4}}-\d{{2}})-(.+)-{re.escape(suffix)}$", path.stem)
    return match.group(2) if match else None


def parse_times_unique(values: pd.Series, *, timezone: str) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """:func:`ctxrisk.pipelines.timeparse.parse_times` on the distinct values only; returns utc, precision, invalid.

    A column whose first rows are mostly distinct (times to the minute) is parsed whole by
    :func:`ctxrisk.pipelines.timeparse.parse_plain_times` instead: finding its distinct values would cost more than
    the parse saves.
    """
    from ctxrisk.pipelines.timeparse import parse_plain_times, parse_times

    if (
        len(values) >= 2 * DISTINCT_SAMPLE_ROWS
        and is_arrow_text(values)
        and values.iloc[:DISTINCT_SAMPLE_ROWS].nunique() > DISTINCT_SAMPLE_ROWS // 2
    ):
        utc, precision, invalid = parse_plain_times(values.reset_index(drop=True), timezone=timezone)
        return utc, precision, invalid.to_numpy(dtype=bool)
    if is_arrow_text(values):  # Arrow's hash kernel, much faster than pandas on millions of strings
        idx, uniques = factorize(values)
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        uniques = list(uniques)
        idx = np.where(codes < 0, len(uniques), codes)
    distinct = pd.Series([*uniques, None], dtype="object")
    utc, precision, invalid = parse_times(distinct, timezone=timezone)
    out_utc = utc.take(idx).reset_index(drop=True)
    out_precision = precision.take(idx).reset_index(drop=True)
    return out_utc, out_precision, invalid.to_numpy(dtype=bool)[idx]
