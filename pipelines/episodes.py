"""Refuse a missing episode that overlaps another episode of the same child from the same source.

Rule (``docs/data-model.md``, "missing"; ``docs/missing.md``, "Bad input"):

* two episodes of one child overlap when each starts before the other ends, or both start at the same time;
  an episode that ends exactly when the next starts does not overlap it;
* an episode with no end is still open: it overlaps every later episode of the child;
* the episodes of a file are taken in order of start (then line); an episode is kept when it overlaps no
  episode already kept, otherwise it is refused, naming the earliest-starting kept episode it overlaps. So of
  two overlapping episodes the later-starting one is refused and the first kept;
* episodes of the same child already stored from the same source are kept as they are and checked too,
  except those the file replaces (a row with the same ``episode_id``): a corrected re-export replaces its
  rows instead of overlapping them, and the same bytes ingested again add nothing before any check.
"""

from __future__ import annotations

import dataclasses

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ctxrisk.pipelines.batch import REJECT_COLUMNS, Batch, EpisodeOverlaps

OVERLAP_RULE = "overlap"
_OPEN = np.iinfo(np.int64).max


def _ns(values: pd.Series, *, open_value: int) -> np.ndarray:
    """UTC times as int64 nanoseconds; blank becomes ``open_value``."""
    times = pd.to_datetime(pd.Series(values).reset_index(drop=True), utc=True)
    out = times.dt.tz_localize(None).to_numpy("datetime64[ns]").view(np.int64).copy()
    out[times.isna().to_numpy()] = open_value
    return out


def _when(start: int, end: int, timezone: str) -> str:
    def local(ns: int) -> str:
        return pd.Timestamp(ns, tz="UTC").tz_convert(timezone).strftime("%Y-%m-%d %H:%M")

    return f"{local(start)}, not ended" if end == _OPEN else f"{local(start)} to {local(end)}"


def _overlap(s1: int, e1: int, s2: int, e2: int) -> bool:
    return s1 == s2 or (s1 < e2 and s2 < e1)


def _conflicted(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Codes of the children with any two overlapping episodes (a sweep by child and start)."""
    order = np.lexsort((starts, codes))
    c, s = codes[order], starts[order]
    latest = pd.Series(ends[order]).groupby(c, sort=False).cummax().to_numpy()
    same = c[1:] == c[:-1]
    hit = same & ((s[1:] < latest[:-1]) | (s[1:] == s[:-1]))
    return np.unique(c[1:][hit])


def overlapping_episodes(rows: pd.DataFrame, stored: pd.DataFrame, *, timezone: str) -> tuple[np.ndarray, list]:
    """Which of a file's episodes overlap a kept episode of the same child (see the module's rule).

    Parameters
    ----------
    rows : DataFrame
        The file's episodes: ``episode_id``, ``person_id``, ``started_at``, ``ended_at`` (UTC) and ``line``.
    stored : DataFrame
        Stored episodes of the same source with the same columns but ``line``; none of them shares an
        ``episode_id`` with ``rows``.

    Returns
    -------
    refused : ndarray of bool
        One per row of ``rows``.
    reasons : list of str
        One per refused row, in row order.
    """
    n = len(rows)
    both = pd.concat([rows[["episode_id", "person_id"]], stored[["episode_id", "person_id"]]], ignore_index=True)
    codes = pd.factorize(both["person_id"])[0]
    starts = np.concatenate([_ns(rows["started_at"], open_value=0), _ns(stored["started_at"], open_value=0)])
    ends = np.concatenate([_ns(rows["ended_at"], open_value=_OPEN), _ns(stored["ended_at"], open_value=_OPEN)])
    ids = both["episode_id"].astype(str).to_numpy()
    lines = rows["line"].to_numpy() if n else np.zeros(0, np.int64)
    refused = np.zeros(n, dtype=bool)
    reason_at: dict[int, str] = {}
    by_child = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[by_child], np.arange(codes.max() + 2 if len(codes) else 1))
    for code in _conflicted(codes, starts, ends):
        members = by_child[bounds[code] : bounds[code + 1]]
        members = members[np.lexsort((members, members >= n, starts[members]))]  # stored first on a tie
        kept = [int(i) for i in members if i >= n]
        for i in (int(i) for i in members if i < n):
            hits = [k for k in kept if _overlap(starts[i], ends[i], starts[k], ends[k])]
            if not hits:
                kept.append(i)
                continue
            k = min(hits, key=lambda k: (starts[k], k))
            where = f"on line {lines[k]}" if k < n else "stored from an earlier file"
            reason_at[i] = (
                f"overlaps episode {ids[k]} of the same child ({_when(starts[k], ends[k], timezone)}), {where}"
            )
            refused[i] = True
    return refused, [reason_at[i] for i in np.flatnonzero(refused)]


def _stored_episodes(con: duckdb.DuckDBPyConnection, batch: Batch, source: str) -> pd.DataFrame:
    """Stored episodes of the batch's children from ``source``, except those the batch replaces."""
    keys = pa.Table.from_pandas(batch.rows[["episode_id", "person_id"]], preserve_index=False)
    con.register("_episode_keys", keys)
    try:
        return con.execute(
            f"select episode_id, person_id, started_at, ended_at from {batch.table} "
            "where source = ? and person_id in (select person_id from _episode_keys) "
            "and episode_id not in (select episode_id from _episode_keys)",
            [source],
        ).df()
    finally:
        con.unregister("_episode_keys")


def refuse_overlaps(con: duckdb.DuckDBPyConnection, batch: Batch, check: EpisodeOverlaps) -> Batch:
    """The batch with its overlapping episodes moved to its refused rows (rule ``overlap``, column
    ``started_at``); rows read = loaded + rejected still holds. Call inside the storing transaction.
    """
    if not len(batch.rows):
        return batch
    stored = _stored_episodes(con, batch, check.source)
    refused, reasons = overlapping_episodes(batch.rows, stored, timezone=check.timezone)
    if not refused.any():
        return batch
    starts = pd.to_datetime(batch.rows["started_at"], utc=True)[refused].dt.tz_convert(check.timezone)
    rejects = pd.DataFrame(
        {
            "line": batch.rows["line"].to_numpy()[refused],
            "column_name": "started_at",
            "value": starts.dt.strftime("%Y-%m-%d %H:%M").to_numpy(),
            "reason": reasons,
            "rule": OVERLAP_RULE,
        }
    )[REJECT_COLUMNS]
    frames = [f for f in (batch.rejects, rejects) if len(f)]
    all_rejects = pd.concat(frames, ignore_index=True).sort_values("line", kind="stable")
    return dataclasses.replace(
        batch,
        rows=batch.rows[~refused].reset_index(drop=True),
        rejects=all_rejects.reset_index(drop=True),
        rejected_records=batch.rejected_records + int(refused.sum()),
    )
