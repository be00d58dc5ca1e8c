"""Children missing from home or care: one row per child, and the period summary the steering report reads.

Column names carry the settings they were worked out with: ``max_in_30_days``, ``repeat_3_in_30`` and
``rhi_offered_72h_share`` with the defaults of ``[missing]`` (``repeat_window_days``, ``repeat_count``,
``rhi_hours``). Shares are over the episodes they can be known for (see
:mod:`ctxrisk.analytics.protect.episodes`); NaN when there are none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from ctxrisk.analytics.protect.episodes import episode_measures, load_episodes, local_window
from ctxrisk.analytics.protect.frames import isin, join_by
from ctxrisk.analytics.protect.links import (
    FlaggedAdults,
    LocationsOfConcern,
    flagged_adults,
    found_with,
    load_locations_of_concern,
    place_links,
)
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.settings import MissingSettings, Settings

__all__ = [
    "PERIODS",
    "ChildTable",
    "age_on",
    "child_columns",
    "missing_children",
    "missing_summary",
    "overlaps_within_source",
]

PERIODS: tuple[str, ...] = ("month", "quarter")


def _hours(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def child_columns(cfg: MissingSettings) -> dict[str, str]:
    """The configurable column names: ``max_in``, ``repeat`` and ``rhi_offered``."""
    days, n = cfg.repeat_window_days, cfg.repeat_count
    return {
        "max_in": f"max_in_{days}_days",
        "repeat": f"repeat_{n}_in_{days}",
        "rhi_offered": f"rhi_offered_{_hours(cfg.rhi_hours)}h_share",
    }


@dataclass(frozen=True)
class ChildTable:
    """One row per child (``frame``) and what the reader should know about how it was made (``notes``)."""

    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def age_on(birth_date: pd.Series, day: date) -> pd.Series:
    """Whole years from each birth date to ``day`` (nullable integers; NA where the birth date is unknown)."""
    born = pd.to_datetime(birth_date)
    years = (
        day.year
        - born.dt.year
        - ((born.dt.month > day.month) | ((born.dt.month == day.month) & (born.dt.day > day.day)))
    )
    return years.astype("Int64")


def _as_of(until: str | date | None, settings: Settings) -> date:
    _, hi = local_window(None, until, settings.local_timezone)
    if hi is None:
        return pd.Timestamp.now(tz=settings.local_timezone).date()
    return (hi.tz_convert(settings.local_timezone) - pd.Timedelta(days=1)).date()


def _adult_columns(con: duckdb.DuckDBPyConnection, ep: pd.DataFrame, settings: Settings, flagged: FlaggedAdults):
    fw = found_with(con, settings=settings)
    fw = fw[isin(fw["episode_id"], ep["episode_id"])]
    adults = fw[fw["age_years"].ge(18).fillna(False).astype(bool)]
    count = adults.groupby("child_id")["person_id"].nunique()
    flagged_any = fw.assign(f=isin(fw["person_id"], flagged.ids)).groupby("child_id")["f"].any()
    return count, flagged_any


def _place_column(con, people: pd.Index, places: LocationsOfConcern, since, until) -> pd.Series:
    links = place_links(con, places, since=since, until=until)
    links = links[isin(links["person_id"], people)]
    if links.empty:
        return pd.Series(dtype=object)
    names = dict(zip(places.frame["rank"].astype(int), places.frame["name"].astype(str), strict=True))
    pairs = links[["person_id", "rank"]].drop_duplicates().sort_values(["person_id", "rank"], kind="stable")
    labels = pairs["rank"].astype(int).map({r: f"#{r} {n}".strip() for r, n in names.items()})
    return join_by(pairs["person_id"], labels, "; ")


def missing_children(
    con: duckdb.DuckDBPyConnection,
    *,
    settings: Settings,
    since: str | date | None = None,
    until: str | date | None = None,
    flagged: FlaggedAdults | None = None,
    places: LocationsOfConcern | None = None,
) -> ChildTable:
    """One row per child with an episode starting in the window.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    settings : Settings
        ``[missing]`` for the repeat rule, interview deadline and distance; ``[mace] location_rings``.
    since, until : str, date or None
        First and last local day of episode starts kept; ``until`` is also the day ages are given on
        (default today).
    flagged : FlaggedAdults or None
        Default :func:`~ctxrisk.analytics.protect.links.flagged_adults` of the warehouse.
    places : LocationsOfConcern or None
        Default ``marts.locations_of_concern``.

    Returns
    -------
    ChildTable
        ``frame`` sorted by the repeat flag, the most episodes in one window, then episodes (highest first):
        ``person_id``, ``age_years`` (NA: birth date unknown, the child is kept), ``looked_after``,
        ``episodes``, ``missing_episodes``, ``away_episodes``, ``open_episodes``, ``first_episode``,
        ``last_episode`` (local start dates), ``max_in_30_days``, ``repeat_3_in_30``, ``total_hours_missing``,
        ``median_hours_missing`` (returned episodes), ``rhi_offered_72h_share``, ``rhi_completed_share``,
        ``found_away`` (episodes), ``adults_found_with``, ``flagged_adult_found_with`` (NA when no graph),
        ``locations_of_concern`` (``#rank name``, ``;``-separated), ``sources`` (every source recording an
        episode of the child, an SSDA903 episode counted once included).
    """
    flagged = flagged_adults(con) if flagged is None else flagged
    places = load_locations_of_concern(con, settings=settings) if places is None else places
    names = child_columns(settings.missing)
    ep = episode_measures(load_episodes(con, settings=settings, since=since, until=until), settings=settings)
    tz = settings.local_timezone
    ep = ep.assign(
        is_missing=ep["missing_type"].eq("missing"),
        is_away=ep["missing_type"].eq("away"),
        is_open=ep["ended_at"].isna(),
    )
    g = ep.groupby("person_id", sort=False)
    also = ep.loc[ep["ssda903_episode_ids"].notna(), ["person_id"]].assign(source="ssda903")
    sources = pd.concat([ep[["person_id", "source"]], also], ignore_index=True)
    sources = sources.drop_duplicates().sort_values(["person_id", "source"])
    frame = pd.DataFrame(
        {
            "episodes": g.size(),
            "missing_episodes": g["is_missing"].sum(),
            "away_episodes": g["is_away"].sum(),
            "open_episodes": g["is_open"].sum(),
            "first_episode": g["started_at"].min().dt.tz_convert(tz).dt.date,
            "last_episode": g["started_at"].max().dt.tz_convert(tz).dt.date,
            names["max_in"]: g["in_window"].max(),
            names["repeat"]: g["repeat"].any(),
            "total_hours_missing": g["hours_missing"].sum(min_count=1),
            "median_hours_missing": g["hours_missing"].median(),
            names["rhi_offered"]: g["rhi_offered_in_time"].mean(),
            "rhi_completed_share": g["rhi_completed"].mean(),
            "found_away": g["found_away"].sum().astype(int),
            "sources": join_by(sources["person_id"], sources["source"], ";"),
        }
    )
    first = g.first()
    frame.insert(0, "looked_after", first["looked_after"].astype("boolean"))
    frame.insert(0, "age_years", age_on(first["birth_date"], _as_of(until, settings)))
    adults, flagged_any = _adult_columns(con, ep, settings, flagged)
    frame["adults_found_with"] = adults.reindex(frame.index).fillna(0).astype(int)
    flag = flagged_any.reindex(frame.index).fillna(False).astype("boolean")
    frame["flagged_adult_found_with"] = (
        flag if flagged.assessed else pd.Series(pd.NA, index=frame.index, dtype="boolean")
    )
    lo, hi = local_window(since, until, tz)
    frame["locations_of_concern"] = _place_column(con, frame.index, places, lo, hi).reindex(frame.index)
    frame = frame.rename_axis("person_id").reset_index()
    frame = frame.sort_values(
        [names["repeat"], names["max_in"], "episodes", "person_id"],
        ascending=[False, False, False, True],
        kind="stable",
    ).reset_index(drop=True)
    return ChildTable(frame, _notes(ep, flagged, places))


def overlaps_within_source(episodes: pd.DataFrame) -> int:
    """Episodes starting before an earlier episode of the same child and source has ended (open: never ends)."""
    if episodes.empty:
        return 0
    ep = episodes.sort_values(["person_id", "source", "started_at"], kind="stable")
    seconds = ep["ended_at"].to_numpy("datetime64[s]").astype(np.int64)
    end = pd.Series(np.where(ep["ended_at"].isna().to_numpy(), np.iinfo(np.int64).max, seconds), index=ep.index)
    keys = [ep["person_id"], ep["source"]]
    before = end.groupby(keys).cummax().groupby(keys).shift(1)
    return int((ep["started_at"].to_numpy("datetime64[s]").astype(np.int64) < before.to_numpy()).sum())


def _notes(ep: pd.DataFrame, flagged: FlaggedAdults, places: LocationsOfConcern) -> list[str]:
    both = int(ep["ssda903_episode_ids"].notna().sum())
    notes = [
        f"{len(ep):,} episodes of {ep['person_id'].nunique():,} children; {both:,} recorded both by the "
        "partnership and in an SSDA903 return, counted once."
    ]
    overlapping = overlaps_within_source(ep)
    if overlapping:
        notes.append(
            f"{overlapping:,} episodes start while an earlier episode of the same child from the same source is "
            "still open; each is counted."
        )
    unrecorded = int((~ep["rhi_recorded"].fillna(False).astype(bool)).sum())
    if unrecorded:
        notes.append(f"{unrecorded:,} episodes from SSDA903 returns only: no return home interview is recorded there.")
    if not flagged.assessed:
        notes.append(f"Flagged adults not assessed: {flagged.basis}.")
    if not places.assessed:
        notes.append("Locations of concern not assessed: run `ctxrisk locations` first.")
    return notes


def _period_starts(days: pd.Series, period: str) -> pd.Series:
    stamps = pd.to_datetime(days)
    freq = "M" if period == "month" else "Q"
    return stamps.dt.to_period(freq).dt.start_time.dt.date


def _period_label(start: date, period: str) -> str:
    return f"{start:%Y-%m}" if period == "month" else f"{start.year} Q{(start.month - 1) // 3 + 1}"


def missing_summary(
    con: duckdb.DuckDBPyConnection,
    *,
    settings: Settings,
    period: str = "quarter",
    since: str | date | None = None,
    until: str | date | None = None,
) -> pd.DataFrame:
    """Per month or quarter of episode start (local time): the counts the steering report publishes.

    Counts are exact; the report applies its own suppression (``[privacy] suppression_threshold``) to every
    count and to every percentage whose numerator or denominator is under the threshold.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    settings : Settings
    period : {"month", "quarter"}
    since, until : str, date or None
        First and last local day of episode starts kept.

    Returns
    -------
    pandas.DataFrame
        One row per period with an episode, oldest first: ``period_start`` (date), ``period`` (``2025-04`` or
        ``2025 Q2``), ``episodes``, ``children``, ``children_missing_repeatedly`` (children with an episode
        in the period that made them missing repeatedly, ``[missing]`` repeat rule), ``rhi_recorded``
        (returned episodes from sources recording interviews: the denominator of the next two),
        ``rhi_offered_in_time``, ``rhi_offered_in_time_pct``, ``rhi_completed``, ``rhi_completed_pct``,
        ``median_hours_to_rhi`` (return to completed interview), ``episodes_from_care`` (the child looked
        after), ``found_located`` (found place known), ``found_away``, ``found_away_pct`` (of
        ``found_located``).
    """
    if period not in PERIODS:
        msg = f"period must be one of {list(PERIODS)}, got {period!r}"
        raise ValidationError(msg)
    ep = episode_measures(load_episodes(con, settings=settings, since=None, until=until), settings=settings)
    lo, _ = local_window(since, None, settings.local_timezone)
    if lo is not None:  # earlier episodes still count towards a later episode's repeat rule
        ep = ep[ep["started_at"] >= lo]
    ep = ep.assign(
        period_start=_period_starts(ep["started_at"].dt.tz_convert(settings.local_timezone).dt.date, period),
        repeat_child=ep["person_id"].where(ep["repeat"]),
        care=ep["looked_after"].fillna(False).astype(bool),
        located=ep["found_latitude"].notna() & ep["found_longitude"].notna(),
    )
    g = ep.groupby("period_start", sort=True)
    out = pd.DataFrame(
        {
            "episodes": g.size(),
            "children": g["person_id"].nunique(),
            "children_missing_repeatedly": g["repeat_child"].nunique(),
            "rhi_recorded": g["rhi_offered_in_time"].count(),
            "rhi_offered_in_time": g["rhi_offered_in_time"].sum().astype(int),
            "rhi_completed": g["rhi_completed"].sum().astype(int),
            "median_hours_to_rhi": g["hours_to_rhi"].median(),
            "episodes_from_care": g["care"].sum().astype(int),
            "found_located": g["located"].sum().astype(int),
            "found_away": g["found_away"].sum().astype(int),
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rhi_offered_in_time_pct"] = 100.0 * out["rhi_offered_in_time"] / out["rhi_recorded"].replace(0, np.nan)
        out["rhi_completed_pct"] = 100.0 * out["rhi_completed"] / out["rhi_recorded"].replace(0, np.nan)
        out["found_away_pct"] = 100.0 * out["found_away"] / out["found_located"].replace(0, np.nan)
    out = out.reset_index()
    out.insert(1, "period", [_period_label(d, period) for d in out["period_start"]])
    order = [
        "period_start", "period", "episodes", "children", "children_missing_repeatedly", "rhi_recorded",
        "rhi_offered_in_time", "rhi_offered_in_time_pct", "rhi_completed", "rhi_completed_pct",
        "median_hours_to_rhi", "episodes_from_care", "found_located", "found_away", "found_away_pct",
    ]  # fmt: skip
    return out[order]
