"""Parse ISO 8601 times: naive ones are local (Europe/London) time, every result is UTC, with its precision."""

from __future__ import annotations

import numpy as np
import pandas as pd

_MONTH = r"^\d{4}-\d{2}$"
_DAY = r"^\d{4}-\d{2}-\d{2}$"
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"
_ISO = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$"


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
    In the autumn hour that happens twice the first (summer time) reading is taken; a local time in the
    spring hour that is skipped is moved forward by the gap, as a clock would be.
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
        local = naive.dt.tz_localize(
            timezone, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward"
        )
        utc[naive_mask] = local.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    offset_mask = shaped & has_offset & ~blank
    if offset_mask.any():
        aware = pd.to_datetime(text[offset_mask], format="ISO8601", utc=True, errors="coerce")
        utc[offset_mask] = aware.astype("datetime64[us, UTC]")

    invalid = ~blank & utc.isna()
    precision = pd.Series(np.where(is_month, "month", np.where(is_day, "day", "minute")), index=values.index)
    precision = precision.where(~utc.isna(), None)
    return utc, precision, invalid
