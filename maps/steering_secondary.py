"""Secondary suppression across the steering map's period layers: no count under the threshold by subtraction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pandas as pd

__all__ = ["secondary_suppression"]

logger = logging.getLogger(__name__)


def secondary_suppression(
    periods: Sequence[Any], *, threshold: int, first_day: date | None, last_day: date | None
) -> list[Any]:
    """Withhold a cell's whole-run count when the shown periods would give away a count under ``threshold``.

    When the dated periods of the selector tile the whole run (``all``) exactly, a cell drawn in every one
    of them has ``all = sum of its period counts``; the counts shown as numbers then give away the sum of
    those shown as ``<5``. Where that sum is under ``threshold`` (0 included), the cell's count in ``all``
    is marked ``withheld`` (column ``withheld``; the place of concern at that cell then withholds its count: the
    map draws no cell's count), so no count under the threshold can be worked out. Cells
    missing from some period (not significant there) are safe: that period's count is not shown at all.

    Parameters
    ----------
    periods : sequence of ctxrisk.maps.steering_data.SteeringPeriod
    threshold : int
    first_day, last_day : datetime.date or None
        The whole run's first and last local day.

    Returns
    -------
    list of SteeringPeriod
        The same periods; the ``all`` period's cells gain a boolean ``withheld`` column.
    """
    whole = [p for p in periods if p.spec.since is None]
    dated = sorted((p for p in periods if p.spec.since is not None), key=lambda p: p.spec.since)
    if not whole or not dated or first_day is None or last_day is None:
        return list(periods)
    tiled = dated[0].spec.since <= first_day and dated[-1].spec.until >= last_day
    tiled &= all(b.spec.since == a.spec.until + timedelta(days=1) for a, b in zip(dated, dated[1:], strict=False))
    if not tiled:
        return list(periods)
    frames = [p.hotspots.set_index("unit_id")["count"] for p in dated]
    out = []
    for p in periods:
        if p.spec.since is not None:
            out.append(p)
            continue
        counts = pd.concat(frames, axis=1, join="inner")  # cells drawn in every dated period
        small = counts.where(counts < threshold).sum(axis=1, min_count=1)
        risky = set(small[small.notna() & (small < threshold)].index.astype(str))
        withheld = p.hotspots["unit_id"].astype(str).isin(risky) & (p.hotspots["count"] >= threshold)
        hot = p.hotspots.assign(withheld=withheld.to_numpy())
        if risky:
            logger.info("%s whole-run cell counts withheld (secondary suppression)", f"{len(risky):,}")
        out.append(replace(p, hotspots=hot))
    return out
