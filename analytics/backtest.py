"""Back-testing flagged areas against later events: hit rate, PAI and PEI.

Given the units flagged from a training period (e.g. Gi* hot spot cells), their areas and the
event counts of a later test period, with ``n`` test events inside the flagged units, ``N`` test
events in total, ``a`` the flagged area and ``A`` the whole study area::

    hit rate = n / N
    PAI      = (n / N) / (a / A)                       (Chainey, Tompson & Uhlig 2008)
    PEI      = PAI / PAI*,  PAI* = (n* / N) / (a / A)  (Hunt 2016)

``n*`` is the largest number of test events any selection of units with total area ``a`` could
have captured. With equal unit areas (an H3 or square grid) that is exactly the sum of the
largest ``m`` test counts, ``m`` being the number of flagged units. With unequal areas the exact
maximum is a knapsack problem; we use its fractional (linear-programming) bound -- units taken
in decreasing order of count per area, the last one in part -- which is never below the true
maximum, so PEI is never over-stated and stays within [0, 1].

PAI > 1 means the flagged area captured more events than its share of the area; PEI = 1 means
no other choice of the same area would have captured more. With nothing flagged, PAI and PEI are
undefined and reported as NaN.

References
----------
Chainey, S., Tompson, L. and Uhlig, S. (2008). The utility of hotspot mapping for predicting
spatial patterns of crime. Security Journal, 21(1-2), 4-28.
Hunt, J. M. (2016). Do crime hot spots move? Exploring the effects of the modifiable areal unit
problem and modifiable temporal unit problem on crime hot spot stability. PhD thesis, American
University (Predictive Efficiency Index).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from ctxrisk.pipelines.errors import ValidationError

logger = logging.getLogger(__name__)

__all__ = ["BacktestResult", "backtest"]


@dataclass(frozen=True)
class BacktestResult:
    """Back-test metrics of one flagged area (formulas in the module docstring).

    Attributes
    ----------
    hit_rate : float
        Share of test events inside the flagged units, ``n / N``.
    pai : float
        Predictive Accuracy Index (NaN when nothing is flagged).
    pei : float
        Predictive Efficiency Index in [0, 1] (NaN when nothing is flagged).
    captured : float
        ``n``, test events in flagged units.
    total : float
        ``N``, all test events.
    max_captured : float
        ``n*``, most events an area of the same size could have captured.
    flagged_area : float
        ``a``, in the unit of ``area`` (e.g. m2 or km2).
    total_area : float
        ``A``.
    area_share : float
        ``a / A``.
    n_flagged : int
        Number of flagged units.
    """

    hit_rate: float
    pai: float
    pei: float
    captured: float
    total: float
    max_captured: float
    flagged_area: float
    total_area: float
    area_share: float
    n_flagged: int


def _max_capture(area: np.ndarray, counts: np.ndarray, budget: float, n_flagged: int) -> float:
    """Most events capturable with total area ``budget`` (exact for equal areas, LP bound otherwise)."""
    if np.allclose(area, area[0], rtol=1e-9, atol=0):
        return float(np.sort(counts)[::-1][:n_flagged].sum())
    order = np.lexsort((-counts, -(counts / area)))
    cum_area = np.cumsum(area[order])
    full = cum_area <= budget * (1 + 1e-12)
    captured = float(counts[order][full].sum())
    nxt = int(full.sum())
    if nxt < order.size:
        left = budget - (cum_area[nxt - 1] if nxt else 0.0)
        if left > 0:
            captured += float(counts[order[nxt]] * left / area[order[nxt]])
    return captured


def backtest(flagged: Any, area: Any, counts: Any) -> BacktestResult:
    """Score a flagged area against test-period event counts.

    Parameters
    ----------
    flagged : array-like of bool, shape (units,)
        Units flagged from the training period.
    area : array-like of float, shape (units,)
        Area of each unit (> 0, any consistent unit such as m2).
    counts : array-like of float, shape (units,)
        Test-period events per unit (>= 0); the units must cover the whole study area.

    Returns
    -------
    BacktestResult

    Raises
    ------
    ValidationError
        On shape mismatch, non-positive areas, negative or missing counts, or no test events.
    """
    f = np.asarray(flagged)
    a = np.asarray(area, dtype=np.float64)
    c = np.asarray(counts, dtype=np.float64)
    if f.dtype != bool:
        msg = f"flagged must be a boolean mask, got dtype {f.dtype}"
        raise ValidationError(msg)
    if not (f.ndim == a.ndim == c.ndim == 1) or not (f.size == a.size == c.size):
        msg = f"flagged, area and counts must be 1-D of one length, got {f.shape}, {a.shape}, {c.shape}"
        raise ValidationError(msg)
    if f.size == 0:
        msg = "no units to back-test"
        raise ValidationError(msg)
    if not np.isfinite(a).all() or (a <= 0).any():
        msg = "every unit area must be a positive finite number"
        raise ValidationError(msg)
    if not np.isfinite(c).all() or (c < 0).any():
        msg = "test-period counts must be finite and non-negative"
        raise ValidationError(msg)
    total = float(c.sum())
    if total <= 0:
        msg = "the test period has no events: hit rate, PAI and PEI are undefined"
        raise ValidationError(msg)
    total_area = float(a.sum())
    flagged_area = float(a[f].sum())
    captured = float(c[f].sum())
    n_flagged = int(f.sum())
    hit = captured / total
    share = flagged_area / total_area
    if n_flagged == 0:
        logger.warning("back-test: nothing flagged, PAI and PEI are undefined")
        return BacktestResult(hit, float("nan"), float("nan"), captured, total, 0.0, 0.0, total_area, 0.0, 0)
    best = _max_capture(a, c, flagged_area, n_flagged)
    pai = hit / share
    pei = captured / best if best > 0 else float("nan")
    logger.info(
        "back-test: %s of %s units flagged (%.1f%% of area) captured %s of %s test events; PAI %.2f, PEI %.2f",
        f"{n_flagged:,}",
        f"{f.size:,}",
        100 * share,
        f"{captured:,.0f}",
        f"{total:,.0f}",
        pai,
        pei,
    )
    return BacktestResult(hit, pai, pei, captured, total, best, flagged_area, total_area, share, n_flagged)
