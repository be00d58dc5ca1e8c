"""Mann-Kendall monotonic trend test with tie correction, for one series or many at once.

For a series ``x_1 .. x_n`` (Mann 1945; Kendall 1975)::

    S     = sum_{i<j} sign(x_j - x_i)
    Var S = [n (n - 1) (2n + 5) - sum_g t_g (t_g - 1) (2 t_g + 5)] / 18

where ``t_g`` is the size of the g-th group of tied values. With the continuity correction::

    z = (S - 1) / sqrt(Var S)  if S > 0
        0                      if S = 0 (also when Var S = 0: a constant series)
        (S + 1) / sqrt(Var S)  if S < 0

The test is **two-sided**: ``p = 2 (1 - Phi(|z|))``. ``tau = S / (n (n - 1) / 2)`` (Kendall's
tau-a, as ``pymannkendall.original_test`` reports it). ``trend`` is ``"increasing"`` when
``p < alpha`` and ``z > 0``, ``"decreasing"`` when ``p < alpha`` and ``z < 0``, else
``"no trend"``.

References
----------
Mann, H. B. (1945). Nonparametric tests against trend. Econometrica, 13(3), 245-259.
Kendall, M. G. (1975). Rank Correlation Methods. 4th ed. Griffin, London.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ctxrisk.pipelines.errors import ValidationError

logger = logging.getLogger(__name__)

__all__ = ["MKResult", "mann_kendall", "mann_kendall_many"]

_CHUNK_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class MKResult:
    """Result of a Mann-Kendall test (scalars for one series, arrays for many).

    Attributes
    ----------
    S : int or numpy.ndarray
        Kendall's score.
    var_s : float or numpy.ndarray
        Tie-corrected variance of ``S``.
    z : float or numpy.ndarray
        Continuity-corrected standard normal score.
    p : float or numpy.ndarray
        Two-sided p-value.
    tau : float or numpy.ndarray
        Kendall's tau-a, ``S / (n (n - 1) / 2)``.
    trend : str or numpy.ndarray of str
        ``"increasing"``, ``"decreasing"`` or ``"no trend"`` at level ``alpha``.
    """

    S: Any
    var_s: Any
    z: Any
    p: Any
    tau: Any
    trend: Any


def mann_kendall_many(x: Any, *, alpha: float = 0.05) -> MKResult:
    """Mann-Kendall test of every row of a 2-D array (vectorised, memory bounded).

    Parameters
    ----------
    x : array-like of float, shape (m, n)
        ``m`` series of ``n >= 3`` time-ordered values each; no NaN.
    alpha : float, default 0.05
        Two-sided significance level used for ``trend``; in (0, 1).

    Returns
    -------
    MKResult
        Arrays of length ``m``.

    Raises
    ------
    ValidationError
        If ``x`` is not 2-D, has fewer than 3 time points, holds NaN/inf, or ``alpha`` is invalid.
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        msg = f"x must be 2-D (series x time), got shape {arr.shape}"
        raise ValidationError(msg)
    m, n = arr.shape
    if n < 3:
        msg = f"Mann-Kendall needs at least 3 time points, got {n}"
        raise ValidationError(msg)
    if not np.isfinite(arr).all():
        msg = "Mann-Kendall series must be finite (no NaN or infinity)"
        raise ValidationError(msg)
    if not 0 < alpha < 1:
        msg = f"alpha must be in (0, 1), got {alpha!r}"
        raise ValidationError(msg)
    s = np.empty(m, dtype=np.int64)
    ties = np.empty(m, dtype=np.float64)
    iu, ju = np.triu_indices(n, k=1)
    step = max(1, _CHUNK_ELEMENTS // (n * n))
    for start in range(0, m, step):
        block = arr[start : start + step]
        diff = block[:, ju] - block[:, iu]
        s[start : start + step] = np.sign(diff).sum(axis=1).astype(np.int64)
        # c_i = size of the tie group of x_i; sum_i (c_i - 1)(2 c_i + 5) = sum_g t_g (t_g - 1)(2 t_g + 5)
        c = (block[:, :, None] == block[:, None, :]).sum(axis=2).astype(np.float64)
        ties[start : start + step] = ((c - 1.0) * (2.0 * c + 5.0)).sum(axis=1)
    var_s = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, (s - 1) / np.sqrt(var_s), np.where(s < 0, (s + 1) / np.sqrt(var_s), 0.0))
    z = np.where(var_s > 0, z, 0.0)
    p = 2.0 * stats.norm.sf(np.abs(z))
    tau = s / (n * (n - 1) / 2.0)
    sig = p < alpha
    trend = np.where(sig & (z > 0), "increasing", np.where(sig & (z < 0), "decreasing", "no trend"))
    logger.debug("Mann-Kendall on %s series of %d points", f"{m:,}", n)
    return MKResult(S=s, var_s=var_s, z=z, p=p, tau=tau, trend=trend)


def mann_kendall(x: Any, *, alpha: float = 0.05) -> MKResult:
    """Two-sided Mann-Kendall trend test of one time-ordered series.

    Parameters
    ----------
    x : array-like of float, shape (n,)
        Time-ordered values, ``n >= 3``, no NaN.
    alpha : float, default 0.05
        Significance level for ``trend``; in (0, 1).

    Returns
    -------
    MKResult
        Scalars: ``S`` (int), ``var_s``, ``z``, ``p``, ``tau`` (float), ``trend`` (str).

    Raises
    ------
    ValidationError
        If ``x`` is not 1-D, is shorter than 3 or holds NaN/inf.
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        msg = f"x must be 1-D, got shape {arr.shape}"
        raise ValidationError(msg)
    r = mann_kendall_many(arr[None, :], alpha=alpha)
    return MKResult(
        S=int(r.S[0]),
        var_s=float(r.var_s[0]),
        z=float(r.z[0]),
        p=float(r.p[0]),
        tau=float(r.tau[0]),
        trend=str(r.trend[0]),
    )
