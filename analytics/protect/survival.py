"""Time to the next missing episode: Kaplan-Meier survival by looked-after status.

For each returned episode, the time from the child's return to the start of their next episode is an
observed event; when no next episode has started by the end of the data (``as_of``), the time to then is
censored. The Kaplan-Meier estimate (Kaplan & Meier 1958) is

    S(t) = prod_{t_i <= t} (1 - d_i / n_i)

over the distinct event times ``t_i``, with ``d_i`` events at ``t_i`` and ``n_i`` at risk just before it
(durations of ``t_i`` or more; a time censored at ``t_i`` is still at risk there). Greenwood's variance,
``S(t)^2 sum d_i / (n_i (n_i - d_i))``, gives the standard error. The median is the first time at which
S(t) <= 0.5 (NaN when the curve never gets there).

References
----------
Kaplan, E. L. and Meier, P. (1958). Nonparametric estimation from incomplete observations. JASA 53, 457-481.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from ctxrisk.analytics.protect.episodes import load_episodes, local_window
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.settings import Settings

__all__ = ["REPORT_DAYS", "KaplanMeier", "next_episode_curves", "next_episode_gaps", "survival_at"]

#: Days at which :func:`survival_at` reads the curves for the report.
REPORT_DAYS: tuple[int, ...] = (1, 7, 14, 30, 60, 90, 180, 365)


@dataclass(frozen=True)
class KaplanMeier:
    """Kaplan-Meier estimate of a survival function from right-censored durations.

    Parameters
    ----------
    durations : array-like of float
        Time to the event, or to censoring; finite and >= 0.
    observed : array-like of bool
        True where the event happened, False where the duration is censored.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per distinct duration: ``time``, ``at_risk`` (n_i), ``events`` (d_i), ``censored``,
        ``survival`` (S(t) just after ``time``), ``std_error`` (Greenwood).
    n : int
        Number of durations.
    median : float
        First ``time`` with ``survival <= 0.5``; NaN when none.
    """

    table: pd.DataFrame
    n: int
    median: float

    @classmethod
    def fit(cls, durations: np.ndarray | list[float], observed: np.ndarray | list[bool]) -> KaplanMeier:
        """Estimate from ``durations`` and ``observed`` (see the class docstring)."""
        t = np.asarray(durations, dtype=float)
        e = np.asarray(observed, dtype=bool)
        if t.shape != e.shape or t.ndim != 1:
            msg = f"durations and observed must be 1-D and the same length, got {t.shape} and {e.shape}"
            raise ValidationError(msg)
        if not np.isfinite(t).all() or (t < 0).any():
            msg = "durations must be finite and >= 0"
            raise ValidationError(msg)
        times, inverse = np.unique(t, return_inverse=True)
        events = np.bincount(inverse, weights=e, minlength=times.size).astype(np.int64)
        total = np.bincount(inverse, minlength=times.size).astype(np.int64)
        at_risk = t.size - np.concatenate([[0], np.cumsum(total)[:-1]])
        with np.errstate(divide="ignore", invalid="ignore"):
            survival = np.cumprod(1.0 - events / at_risk)
            terms = np.where(at_risk > events, events / (at_risk * (at_risk - events)), np.inf)
            greenwood = np.cumsum(np.where(events > 0, terms, 0.0))
            std_error = np.where(np.isfinite(greenwood), survival * np.sqrt(greenwood), np.nan)
        table = pd.DataFrame(
            {
                "time": times,
                "at_risk": at_risk,
                "events": events,
                "censored": total - events,
                "survival": survival,
                "std_error": std_error,
            }
        )
        below = np.flatnonzero(survival <= 0.5)
        median = float(times[below[0]]) if below.size else float("nan")
        return cls(table, int(t.size), median)

    def at(self, times: np.ndarray | list[float]) -> np.ndarray:
        """S(t) at each of ``times`` (a step function: 1 before the first event time)."""
        q = np.asarray(times, dtype=float)
        pos = np.searchsorted(self.table["time"].to_numpy(), q, side="right") - 1
        values = np.concatenate([[1.0], self.table["survival"].to_numpy()])
        return values[pos + 1]

    def at_risk_at(self, times: np.ndarray | list[float]) -> np.ndarray:
        """Durations of at least each of ``times``: those still at risk then."""
        q = np.asarray(times, dtype=float)
        counts = self.table["events"].to_numpy() + self.table["censored"].to_numpy()
        tail = self.n - np.concatenate([[0], np.cumsum(counts)])
        pos = np.searchsorted(self.table["time"].to_numpy(), q, side="left")
        return tail[pos]


def next_episode_gaps(
    con: duckdb.DuckDBPyConnection,
    *,
    settings: Settings,
    since: str | date | None = None,
    until: str | date | None = None,
) -> pd.DataFrame:
    """Days from each return to the child's next episode, or to ``until``'s end (censored).

    Returns
    -------
    pandas.DataFrame
        One row per returned episode starting in the window: ``person_id``, ``episode_id``, ``looked_after``
        (``looked after``, ``not looked after`` or ``unknown``), ``days``, ``observed`` (a next episode
        started). Episodes after ``until`` still end a gap, so the window does not shorten anyone's follow-up
        beyond the data.
    """
    episodes = load_episodes(con, settings=settings, since=since)
    if episodes.empty:
        return pd.DataFrame(columns=["person_id", "episode_id", "looked_after", "days", "observed"])
    latest = pd.concat([episodes["started_at"], episodes["ended_at"]]).max()
    nxt = episodes.groupby("person_id")["started_at"].shift(-1)
    out = episodes.assign(next_start=nxt)
    out = out[out["ended_at"].notna()]
    if until is not None:
        _, hi = local_window(None, until, settings.local_timezone)
        out = out[out["started_at"] < hi]
    observed = out["next_start"].notna()
    end = out["next_start"].where(observed, latest)
    days = ((end - out["ended_at"]).dt.total_seconds() / 86400.0).clip(lower=0.0)
    status = out["looked_after"].map({True: "looked after", False: "not looked after"}).fillna("unknown")
    return pd.DataFrame(
        {
            "person_id": out["person_id"].to_numpy(),
            "episode_id": out["episode_id"].to_numpy(),
            "looked_after": status.to_numpy(),
            "days": days.to_numpy(float),
            "observed": observed.to_numpy(bool),
        }
    )


def next_episode_curves(gaps: pd.DataFrame) -> dict[str, KaplanMeier]:
    """One Kaplan-Meier curve per looked-after status in ``gaps`` (:func:`next_episode_gaps`)."""
    return {
        str(status): KaplanMeier.fit(part["days"].to_numpy(float), part["observed"].to_numpy(bool))
        for status, part in gaps.groupby("looked_after", sort=True)
    }


def survival_at(
    con: duckdb.DuckDBPyConnection,
    *,
    settings: Settings,
    days: tuple[int, ...] = REPORT_DAYS,
    since: str | date | None = None,
    until: str | date | None = None,
) -> pd.DataFrame:
    """The aggregated curves for a report: per looked-after status and day, the share with no new episode yet.

    Returns
    -------
    pandas.DataFrame
        ``looked_after``, ``day``, ``returns`` (returned episodes followed, the curve's n), ``at_risk``
        (still followed on that day), ``no_new_episode_pct`` (100 S(day)), ``median_days`` (per status).
        Counts are exact; a steering output suppresses rows whose ``at_risk`` or ``returns`` is under its
        threshold.
    """
    curves = next_episode_curves(next_episode_gaps(con, settings=settings, since=since, until=until))
    rows = []
    for status, km in curves.items():
        for day, s, risk in zip(days, km.at(days), km.at_risk_at(days), strict=True):
            rows.append(
                {
                    "looked_after": status,
                    "day": int(day),
                    "returns": km.n,
                    "at_risk": int(risk),
                    "no_new_episode_pct": 100.0 * float(s),
                    "median_days": km.median,
                }
            )
    return pd.DataFrame(
        rows, columns=["looked_after", "day", "returns", "at_risk", "no_new_episode_pct", "median_days"]
    )
