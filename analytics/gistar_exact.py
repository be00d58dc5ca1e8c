"""Exact permutation nulls of Gi* for counts: the distribution of the sum of a simple random sample.

The total permutation null of a unit's star sum (``k*`` of the ``n`` counts drawn without replacement) and the
conditional null of its neighbours' total (``k`` of the other ``n - 1``) are distributions of sums of simple
random samples of a finite population of integers. :func:`sample_sum_pmf` computes them exactly, one value
class at a time; :func:`exact_total_p` and :func:`exact_conditional_p` turn them into the p-values that
:class:`ctxrisk.analytics.gistar.GiStar` reports with ``permutations="exact"`` -- the limits of its simulated
``(X + 1) / (P + 1)`` as the permutations grow. Sidedness and ties as in :mod:`ctxrisk.analytics.gistar`
(two-sided: folded about the null mean; a relative tolerance of 1e-9 of the total).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

__all__ = ["MAX_TABLE", "exact_conditional_p", "exact_fits", "exact_total_p", "sample_sum_pmf"]

#: Largest growth of rounding errors the held-out recursion of the conditional null may have; above it, the
#: held-out population's sums are computed directly.
_MAX_GROWTH = 1e3

#: Largest table of sample sums (sizes x sums, 8 bytes each) an exact null may use.
MAX_TABLE = 20_000_000


def exact_fits(y: Any, k: Any) -> bool:
    """True when the exact null of counts ``y`` with neighbour counts ``k`` fits in :data:`MAX_TABLE`.

    Every sum tested is below ``2 (max k + 1) max y + 2`` (a star sum, or twice the null mean), so the table
    has at most ``(max k + 2)`` rows of that many sums.
    """
    big = int(np.max(k)) + 1 if np.size(k) else 1
    return (big + 1) * (2 * big * float(np.max(y)) + 3) <= MAX_TABLE


def _log_comb(n: Any, k: Any) -> np.ndarray:
    """``log C(n, k)`` elementwise (``-inf`` where ``k < 0`` or ``k > n``)."""
    n = np.asarray(n, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    return np.where((k < 0) | (k > n), -np.inf, out)


def sample_sum_pmf(values: Any, counts: Any, max_size: int, cap: int) -> np.ndarray:
    """Exact distribution of the sum of a simple random sample (without replacement) of a population of counts.

    The population holds ``counts[d]`` units of value ``values[d]`` (non-negative integers). Classes are added
    one at a time: with ``m`` units so far and a class of ``c`` units of value ``v`` added, a sample of ``j``
    of the ``m + c`` units takes ``a`` of the class with the hypergeometric probability
    ``C(c, a) C(m, j - a) / C(m + c, j)`` and its other ``j - a`` units are a simple random sample of the
    first ``m``, so ``pmf'[j, s] = sum_a C(c, a) C(m, j - a) / C(m + c, j) pmf[j - a, s - a v]``. Every
    term is a probability (no large binomial coefficients are formed), and the work grows with the number of
    distinct values, not of units.

    Parameters
    ----------
    values, counts : array-like of int
        Distinct non-negative integer values and how many units hold each (at least ``max_size`` units).
    max_size : int
        Largest sample size.
    cap : int
        Sums from ``cap`` up are pooled in the last column.

    Returns
    -------
    numpy.ndarray, shape (max_size + 1, cap + 1)
        ``pmf[j, s] = P(sum of j units = s)`` for ``s < cap`` and ``pmf[j, cap] = P(sum >= cap)``.
    """
    values = np.asarray(values, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    big, cap = int(max_size), int(cap)
    sizes = np.arange(big + 1)
    pmf = np.zeros((big + 1, cap + 1))
    pmf[0, 0] = 1.0
    done = 0  # units added so far
    top = 0  # largest sum reachable so far (sums only grow as classes are added in increasing value)
    for v, c in zip(values[order].tolist(), counts[order].tolist(), strict=True):
        new = np.zeros_like(pmf)
        log_all = _log_comb(done + c, sizes)
        top = min(cap, top + min(c, big) * v)
        width = top + 1  # columns that can hold mass
        for a in range(min(c, big) + 1):
            with np.errstate(invalid="ignore"):  # samples larger than the population so far: no mass
                coef = np.nan_to_num(np.exp(_log_comb(c, a) + _log_comb(done, sizes[a:] - a) - log_all[a:]))
            src = pmf[: big + 1 - a, :width]
            shift = a * v
            if shift >= cap:
                new[a:, cap] += coef * src.sum(axis=1)
                continue
            keep = min(width, cap - shift)
            new[a:, shift : shift + keep] += coef[:, None] * src[:, :keep]
            if keep < width:
                new[a:, cap] += coef * src[:, keep:].sum(axis=1)
        pmf = new
        done += c
    return pmf


def _thresholds(obs: np.ndarray, mu: np.ndarray, tol: float, alternative: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer sums at least as extreme as ``obs``: ``sum >= hi`` (greater side), ``sum <= lo`` (less side)."""
    if alternative == "two-sided":
        d = np.abs(obs - mu)
        return np.ceil(mu + d - tol).astype(np.int64), np.floor(mu - d + tol).astype(np.int64)
    return obs.astype(np.int64), obs.astype(np.int64)


def _tails(pmf: np.ndarray, size: np.ndarray, hi: np.ndarray, lo: np.ndarray, cap: int, alternative: str) -> np.ndarray:
    """``P(sum >= hi)``, ``P(sum <= lo)`` or (two-sided) both, for samples of ``size`` units, in [0, 1]."""
    at_least = np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1]  # the last column pools "cap or more"
    at_most = np.cumsum(pmf, axis=1)
    if alternative == "greater":
        tail = at_least[size, hi]
    elif alternative == "less":
        tail = at_most[size, lo]
    else:
        low = np.where(lo >= 0, at_most[size, np.maximum(lo, 0)], 0.0)
        tail = np.where(lo >= hi - 1, 1.0, low + at_least[size, np.minimum(hi, cap)])
    return np.clip(tail, 0.0, 1.0)


def _population(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.unique(np.rint(y).astype(np.int64), return_counts=True)


def exact_total_p(y: np.ndarray, k: np.ndarray, t_obs: np.ndarray, *, alternative: str) -> tuple[np.ndarray, int]:
    """Exact total-permutation p-values of the star sums ``y_i + t_obs_i`` of integer counts.

    Parameters
    ----------
    y : numpy.ndarray
        Integer counts (as floats) of the ``n`` units.
    k : numpy.ndarray of int
        Neighbours of each unit (self excluded).
    t_obs : numpy.ndarray
        The neighbours' totals.
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    (numpy.ndarray, int)
        The p-values (1 for units with no neighbour or every other unit as neighbour) and the number of
        neighbourhood sizes (null distributions).
    """
    n = y.size
    p = np.ones(n)
    active = np.flatnonzero((k > 0) & (k < n - 1))
    if active.size == 0:
        return p, 0
    total = float(y.sum())
    star = np.rint(y + t_obs)[active]
    size = k[active] + 1
    hi, lo = _thresholds(star, size * total / n, 1e-9 * max(1.0, total), alternative)
    cap = int(max(hi.max(), lo.max())) + 1
    pmf = sample_sum_pmf(*_population(y), int(size.max()), cap)
    p[active] = _tails(pmf, size, hi, lo, cap, alternative)
    return p, int(np.unique(size).size)


def exact_conditional_p(y: np.ndarray, k: np.ndarray, t_obs: np.ndarray, *, alternative: str) -> tuple[np.ndarray, int]:
    """Exact conditional-permutation p-values of the neighbours' totals of integer counts.

    With ``A_j`` the distribution of a ``j``-sample of all ``n`` values and ``B_j`` that of the ``n - 1``
    values left when one unit of value ``v`` is held out, a ``j``-sample of all holds that unit with
    probability ``j / n``: ``A_j(s) = (n - j) / n B_j(s) + j / n B_{j-1}(s - v)``, solved for ``B_j`` from
    ``B_0``. The recursion multiplies earlier rounding errors by ``j / (n - j)``, which grows them once
    ``j > n / 2``; when neighbourhoods are that large (a unit next to most of a small group) and the growth
    would pass 1,000, ``B`` is computed directly by :func:`sample_sum_pmf` of the held-out population.
    Parameters and returns as :func:`exact_total_p` (the count is of distinct focal values).
    """
    n = y.size
    p = np.ones(n)
    active = np.flatnonzero((k > 0) & (k < n - 1))
    if active.size == 0:
        return p, 0
    total = float(y.sum())
    kk = k[active]
    focal = np.rint(y[active]).astype(np.int64)
    mu = kk * (total - focal) / (n - 1)
    hi, lo = _thresholds(np.rint(t_obs[active]), mu, 1e-9 * max(1.0, total), alternative)
    cap = int(max(hi.max(), lo.max())) + 1
    big = int(kk.max())
    values, counts = _population(y)
    stable = _held_out_growth(n, big) <= _MAX_GROWTH
    full = sample_sum_pmf(values, counts, big, cap) if stable else None
    for v in np.unique(focal).tolist():
        if full is not None:
            held = _held_out(full, n, v, cap)
        else:  # the recursion would amplify rounding errors: the held-out population's sums directly
            held = sample_sum_pmf(values, counts - (values == v), big, cap)
        mine = np.flatnonzero(focal == v)
        p[active[mine]] = _tails(held, kk[mine], hi[mine], lo[mine], cap, alternative)
    return p, int(np.unique(focal).size)


def _held_out_growth(n: int, big: int) -> float:
    """Largest factor by which :func:`_held_out` multiplies a rounding error (steps ``j > n / 2`` grow it)."""
    j = np.arange(1, big + 1, dtype=np.float64)
    return float(np.exp(np.sum(np.log(np.maximum(j / (n - j), 1.0)))))


def _held_out(full: np.ndarray, n: int, v: int, cap: int) -> np.ndarray:
    """Sample-sum distributions of the population with one unit of value ``v`` held out (see above)."""
    held = np.empty_like(full)
    held[0] = full[0]
    for j in range(1, full.shape[0]):
        prev = np.zeros(cap + 1)
        if v < cap:
            prev[v:cap] = held[j - 1, : cap - v]
            prev[cap] = held[j - 1, cap - v :].sum()
        else:
            prev[cap] = held[j - 1].sum()
        held[j] = np.maximum((n * full[j] - j * prev) / (n - j), 0.0)
    return held
