"""Implausible dates: event times outside a plausible window and births in the future or too long ago."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from ctxrisk.pipelines.settings import PlausibilitySettings


@dataclass(frozen=True)
class DateWindow:
    """The dates a batch's rows may carry.

    Attributes
    ----------
    earliest, latest : pandas.Timestamp
        Event times must satisfy ``earliest <= t < latest`` (UTC).
    birth_earliest, birth_latest : str
        ``YYYY-MM`` bounds, inclusive, for a birth year and month.
    """

    earliest: pd.Timestamp
    latest: pd.Timestamp
    birth_earliest: str
    birth_latest: str

    @classmethod
    def from_settings(cls, settings: PlausibilitySettings | None = None, *, today: date | None = None) -> DateWindow:
        """The window for ingest on ``today`` (default: today, UTC) under ``[plausibility]``."""
        settings = settings or PlausibilitySettings()
        today = today or datetime.now(UTC).date()
        latest = date.fromisoformat(settings.latest) if settings.latest else today + timedelta(days=1)
        oldest_year = today.year - settings.max_age_years
        return cls(
            earliest=pd.Timestamp(date.fromisoformat(settings.earliest), tz="UTC"),
            latest=pd.Timestamp(latest, tz="UTC"),
            birth_earliest=f"{oldest_year:04d}-{today.month:02d}",
            birth_latest=f"{today.year:04d}-{today.month:02d}",
        )


def implausible_dates(rows: pd.DataFrame, window: DateWindow) -> list[tuple[np.ndarray, str, pd.Series, str]]:
    """Find rows whose dates cannot be right.

    Every timestamp column is checked against ``[earliest, latest)``; every column whose name holds ``birth``
    (``birth_year_month``, ``birth_date`` …) against the birth bounds, compared by year and month. Missing
    values pass (whether a column may be empty is checked elsewhere).

    Returns
    -------
    list of (mask, column, values, reason)
        For each column with implausible values: a boolean mask over ``rows``, the column name, the values as
        text and the reason.
    """
    found = []
    for column in rows.columns:
        series = rows[column]
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            times = series if series.dt.tz is not None else series.dt.tz_localize("UTC")
            early = (times < window.earliest).fillna(False).to_numpy(dtype=bool)
            late = (times >= window.latest).fillna(False).to_numpy(dtype=bool)
            if early.any() or late.any():
                reasons = np.where(
                    early,
                    f"implausible date: before {window.earliest:%Y-%m-%d} ([plausibility] earliest)",
                    f"implausible date: on or after {window.latest:%Y-%m-%d} (in the future; [plausibility] latest)",
                )
                found.append((early | late, column, series.astype("string"), reasons))
        elif "birth" in column and (series.dtype == object or isinstance(series.dtype, pd.StringDtype)):
            month = series.astype("string").str.slice(0, 7)
            shaped = month.str.fullmatch(r"\d{4}-\d{2}").fillna(False).to_numpy(dtype=bool)
            future = shaped & (month > window.birth_latest).fillna(False).to_numpy(dtype=bool)
            old = shaped & (month < window.birth_earliest).fillna(False).to_numpy(dtype=bool)
            if future.any() or old.any():
                reasons = np.where(
                    future,
                    "implausible birth: in the future",
                    f"implausible birth: before {window.birth_earliest} ([plausibility] max_age_years)",
                )
                found.append((future | old, column, series.astype("string"), reasons))
    return found
