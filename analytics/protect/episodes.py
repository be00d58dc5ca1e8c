"""Missing and away episodes, each once, with the per-episode measures the child and period tables add up.

Episodes come from ``staging.missing_episodes``: the partnership's own files and SSDA903 returns, an episode
in both counted once (see ``pipelines/sql/staging/040_missing_episodes.sql`` and docs/missing.md).

Measures per episode
--------------------
``hours_missing``
    ``ended_at - started_at`` in hours; NaN while the child is still missing (open episodes are counted, not
    timed). An SSDA903 episode is dated to the day, so its hours are whole days.
``rhi_offered_in_time``, ``rhi_completed``
    Only for returned episodes from a source that records return home interviews (``rhi_recorded``; an
    SSDA903 return does not): offered within ``[missing] rhi_hours`` of the return; completed at any time.
    NaN otherwise, so an unrecorded interview is not counted as one not offered.
``hours_to_rhi``
    Hours from the return to the completed interview.
``found_away``
    Found outside the partnership's boundaries (``staging.events.out_of_area``), or further than
    ``[missing] far_from_home_km`` (haversine, R = 6371.0088 km) from where the child went missing from.
``in_window``
    Episodes of the same child starting in ``[started_at, started_at + window)``, this one included: its
    largest value per child is ``max_in_30_days``.
``repeat``
    At least ``repeat_count`` of the child's episodes start in ``(started_at - window, started_at]``: the
    episode makes the child missing repeatedly.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

from ctxrisk.analytics.events import parse_period
from ctxrisk.pipelines.settings import Settings

__all__ = ["EARTH_RADIUS_KM", "episode_measures", "load_episodes", "local_window", "window_counts"]

#: Mean Earth radius (IUGG) for the haversine distance.
EARTH_RADIUS_KM = 6371.0088

_EPISODES_SQL = """
select
    e.episode_id, e.person_id, e.source, e.missing_type, e.started_at, e.started_precision::varchar as precision,
    e.ended_at, e.rhi_offered_at, e.rhi_completed_at, e.rhi_recorded, e.found_with, e.ssda903_episode_ids,
    e.from_latitude, e.from_longitude, e.found_latitude, e.found_longitude,
    -- staging.events.out_of_area for a missing episode, read from the tables it reads
    e.found_latitude is not null and e.found_longitude is not null
        and exists (select 1 from raw.boundaries)
        and not exists (
            select 1 from raw.event_areas as ea where ea.event_type = 'missing' and ea.event_id = e.episode_id
        ) as out_of_area,
    p.looked_after, p.birth_date
from staging.missing_episodes as e
left join (select person_id, looked_after, birth_date from staging.persons) as p using (person_id)
where ($since is null or e.started_at >= $since) and ($until is null or e.started_at < $until)
"""


def local_window(
    since: str | date | None, until: str | date | None, tz: str
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """UTC bounds ``[start, end)`` of local days ``since`` (first kept) and ``until`` (last kept, inclusive).

    Each is ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (a year or month means its first or last day) or a date.
    """

    def bound(value: str | date | None, *, end: bool) -> pd.Timestamp | None:
        if value is None:
            return None
        if isinstance(value, date):
            day = pd.Timestamp(value) + pd.Timedelta(days=int(end))
        else:
            start, stop = parse_period(value)
            day = pd.Timestamp(stop if end else start)
        return day.tz_localize(tz).tz_convert("UTC")

    return bound(since, end=False), bound(until, end=True)


def load_episodes(
    con: duckdb.DuckDBPyConnection,
    *,
    settings: Settings,
    since: str | date | None = None,
    until: str | date | None = None,
) -> pd.DataFrame:
    """Episodes starting in the window, each once, with the child's looked-after status and birth date.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    settings : Settings
        ``local_timezone`` for the window.
    since, until : str, date or None
        First and last local day kept (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``); None: no bound.

    Returns
    -------
    pandas.DataFrame
        One row per episode, times in UTC, sorted by ``person_id`` then ``started_at``.
    """
    lo, hi = local_window(since, until, settings.local_timezone)
    params = {"since": None if lo is None else lo.to_pydatetime(), "until": None if hi is None else hi.to_pydatetime()}
    frame = con.execute(_EPISODES_SQL, params).df()
    for column in ("started_at", "ended_at", "rhi_offered_at", "rhi_completed_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.sort_values(["person_id", "started_at", "episode_id"], kind="stable").reset_index(drop=True)


def window_counts(codes: np.ndarray, seconds: np.ndarray, window_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Episodes of the same child starting in ``[t, t + window)`` and in ``(t - window, t]`` of each one.

    ``codes`` (child) and ``seconds`` (start) must be sorted by child, then time.
    """
    span = float(seconds.max() - seconds.min()) + 2 * window_s + 1 if seconds.size else 1.0
    key = codes.astype(np.float64) * span + (seconds - (seconds.min() if seconds.size else 0))
    idx = np.arange(key.size)
    ahead = np.searchsorted(key, key + window_s, side="left") - idx
    behind = idx + 1 - np.searchsorted(key, key - window_s, side="right")
    return ahead, behind


def _haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def episode_measures(episodes: pd.DataFrame, *, settings: Settings) -> pd.DataFrame:
    """Add the measures of the module docstring to :func:`load_episodes`' frame (a copy, same order)."""
    cfg = settings.missing
    out = episodes.copy()
    started, ended = out["started_at"], out["ended_at"]
    returned = ended.notna().to_numpy()
    out["hours_missing"] = (ended - started).dt.total_seconds() / 3600.0
    recorded = out["rhi_recorded"].fillna(False).to_numpy(bool) & returned
    deadline = ended + pd.Timedelta(hours=float(cfg.rhi_hours))
    offered = (out["rhi_offered_at"].notna() & (out["rhi_offered_at"] <= deadline)).to_numpy()
    out["rhi_offered_in_time"] = np.where(recorded, offered.astype(float), np.nan)
    out["rhi_completed"] = np.where(recorded, out["rhi_completed_at"].notna().to_numpy().astype(float), np.nan)
    to_rhi = (out["rhi_completed_at"] - ended).dt.total_seconds() / 3600.0
    out["hours_to_rhi"] = to_rhi.where(pd.Series(recorded, index=out.index))
    distance = _haversine_km(
        out["from_latitude"].to_numpy(float),
        out["from_longitude"].to_numpy(float),
        out["found_latitude"].to_numpy(float),
        out["found_longitude"].to_numpy(float),
    )
    out["found_distance_km"] = distance
    far = np.nan_to_num(distance, nan=0.0) > float(cfg.far_from_home_km)
    out["found_away"] = out["out_of_area"].fillna(False).to_numpy(bool) | far
    codes, _ = pd.factorize(out["person_id"])
    seconds = started.to_numpy("datetime64[s]").astype(np.int64).astype(np.float64)
    ahead, behind = window_counts(codes, seconds, cfg.repeat_window_days * 86400.0)
    out["in_window"] = ahead
    out["repeat"] = behind >= int(cfg.repeat_count)
    return out
