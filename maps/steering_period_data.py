"""Read what the steering map's theme filter and period choice switch: per-theme hot spots and places' counts.

Both come from the marts the analytics wrote (``marts.hotspot_themes``, ``marts.hotspot_periods`` and
``marts.hotspots``); nothing is computed here. A count is only read, never drawn: the map suppresses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import duckdb
import geopandas as gpd
import pandas as pd
import shapely

from ctxrisk.pipelines.settings import Settings

__all__ = ["event_days", "read_place_counts", "read_theme_hotspots", "withheld_places"]


def _exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = ?", [name]
    ).fetchone()
    return bool(row and row[0])


def read_theme_hotspots(
    con: duckdb.DuckDBPyConnection, periods: Sequence[Any], *, unit_type: str
) -> list[tuple[str, str, gpd.GeoDataFrame]]:
    """``(period label, theme, cells)`` of each theme's significant Gi* cells in each selector period.

    Parameters
    ----------
    periods : sequence of ctxrisk.maps.steering_data.SteeringPeriod
        The selector's periods: ``all`` reads the themes' whole-run rows, a dated period the rows with its
        first and last day.
    unit_type : str
        The overall run's unit: rows on any other unit (an older run) are not read.

    Returns
    -------
    list of (str, str, geopandas.GeoDataFrame)
        ``unit_id``, ``z``, ``bin`` and the cell outline (WGS84, rounded as every outline); empty when the
        mart is missing or empty (the map then offers no per-theme hot spots).
    """
    from ctxrisk.maps.steering import full_precision

    if not _exists(con, "hotspot_themes"):
        return []
    out = []
    for period in periods:
        spec = period.spec
        where, args = (
            ("period = 'all'", [])
            if spec.since is None
            else (
                "period_start = ? and period_end = ?",
                [
                    spec.since,
                    spec.until,
                ],
            )
        )
        frame = con.execute(
            f"select theme, unit_id, z, bin, geometry_wkt from marts.hotspot_themes where {where} and unit_type = ? "
            "and bin <> 0 order by theme, unit_id",
            [*args, unit_type],
        ).df()
        for theme, part in frame.groupby("theme", sort=False):
            geoms = full_precision(shapely.from_wkt(part["geometry_wkt"].to_numpy(object)))
            cells = gpd.GeoDataFrame(part[["unit_id", "z", "bin"]].reset_index(drop=True), geometry=geoms, crs=4326)
            out.append((spec.label, str(theme), cells))
    return out


def read_place_counts(
    con: duckdb.DuckDBPyConnection, periods: Sequence[Any], units: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Each place's events in each dated selector period: ``{period label: {unit_id: count}}``.

    Read from ``marts.hotspot_periods``; a place with no row there has no events then (0). The whole run
    (``all``) is left out: there the places keep their ranks of concern.
    """
    wanted = sorted({str(u) for u in units})
    out: dict[str, dict[str, int]] = {}
    if not wanted:
        return out
    marks = ", ".join("?" for _ in wanted)
    for period in periods:
        spec = period.spec
        if spec.since is None or not _exists(con, "hotspot_periods"):
            continue
        sql = (
            "select unit_id, count from marts.hotspot_periods where period_start = ? and period_end = ? "
            f"and unit_id in ({marks})"
        )
        rows = con.execute(sql, [spec.since, spec.until, *wanted]).fetchall()
        counts = dict.fromkeys(wanted, 0) | {str(u): int(c) for u, c in rows}
        out[spec.label] = counts
    return out


def withheld_places(
    counts: dict[str, dict[str, int]],
    periods: Sequence[Any],
    *,
    threshold: int,
    first_day: date | None,
    last_day: date | None,
) -> set[str]:
    """Places whose whole-run count must be withheld so that no period's count under ``threshold`` follows.

    The same rule as :func:`ctxrisk.maps.steering_secondary.secondary_suppression`, on the places' counts:
    when the dated periods tile the whole run, ``all = sum of the periods``, so the sum of the counts shown
    as ``<5`` can be worked out; where that sum is under ``threshold`` the place's whole-run count (and its
    cell's, in the overall layer) is withheld.
    """
    whole = [p for p in periods if p.spec.since is None]
    dated = sorted(
        (p for p in periods if p.spec.since is not None and p.spec.label in counts), key=lambda p: p.spec.since
    )
    if not whole or not dated or first_day is None or last_day is None:
        return set()
    tiled = dated[0].spec.since <= first_day and dated[-1].spec.until >= last_day
    tiled &= all(b.spec.since == a.spec.until + timedelta(days=1) for a, b in zip(dated, dated[1:], strict=False))
    if not tiled:
        return set()
    table = pd.DataFrame({p.spec.label: counts[p.spec.label] for p in dated})
    small = table.where(table < threshold).sum(axis=1, min_count=1)
    return set(small[small.notna() & (small < threshold)].index.astype(str))


def _local_day(value: object, tz: str) -> date | None:
    stamp = None if value is None else pd.Timestamp(value)
    return None if stamp is None else (stamp.tz_convert(tz) if stamp.tzinfo else stamp).date()


def event_days(
    con: duckdb.DuckDBPyConnection, params: dict[str, Any], *, settings: Settings
) -> tuple[date | None, date | None]:
    """First and last local day of the events matching the hot spot run's filters.

    Events dated only to the month (police.uk) cover the whole month: the real City of London months ended
    "1 Dec 2024" in the map's period label, and the Merseyside file read "1 Dec 2018 to 1 Dec 2018".
    """
    filters = params.get("filters") or {}
    where, args = ["occurred_at is not null"], []
    for column, key in (("event_type", "event_types"), ("theme", "themes"), ("source", "sources")):
        values = filters.get(key, "all")
        if values not in (None, "all") and len(values):
            where.append(f"{column} in ({', '.join('?' for _ in values)})")
            args.extend(values)
    row = con.execute(
        "select min(occurred_at), max(occurred_at), max(occurred_at) filter (where time_precision = 'month') "
        f"from staging.events where {' and '.join(where)}",
        args,
    ).fetchone()
    if row is None or row[0] is None:
        return None, None
    first, last, month = (_local_day(value, settings.local_timezone) for value in row)
    if month is not None:  # dated to the month (police.uk): the events cover that whole month, not its 1st
        last = max(last, (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1))
    if filters.get("since"):
        first = max(first, date.fromisoformat(str(filters["since"])))
    if filters.get("until"):
        last = min(last, date.fromisoformat(str(filters["until"])))
    return first, last
