"""Getis-Ord local Gi* hot spot statistic with conditional-permutation inference and FDR bins.

Notation (binary weights, focal unit included -- "star"):

* ``y`` -- non-negative values of the ``n`` units (e.g. event counts per H3 cell; zero-count
  cells of the study region included), ``S = sum(y)``, ``ybar = S / n``,
  ``s^2 = sum(y^2) / n - ybar^2`` (population variance, as in Getis & Ord 1992 and esda);
* ``w`` -- binary neighbour matrix with no self loops; ``k_i`` neighbours of unit ``i``;
  Gi* adds the self weight ``w_ii = 1`` so ``k*_i = k_i + 1``;
* ``T_i = sum_j w_ij y_j`` -- the neighbours' total (self excluded).

Statistic and analytic moments (Getis & Ord 1992; Ord & Getis 1995)::

    G_i  = (y_i + T_i) / S
    E[G_i] = k*_i / n
    V[G_i] = k*_i (n - k*_i) / (n - 1) / n^2 * s^2 / ybar^2
    z_i  = (G_i - E[G_i]) / sqrt(V[G_i])

which is exactly ``esda.G_Local(y, w, transform="B", star=True).Zs`` (esda fills the diagonal of
binary weights with 1), and algebraically the familiar Ord & Getis (1995) form
``(sum_j w*_ij y_j - ybar k*_i) / (s sqrt((n k*_i - k*_i^2) / (n - 1)))``.
If ``k*_i = n`` the variance is 0 and ``G_i = E[G_i] = 1``: ``z_i`` is set to 0 (no evidence).

Total permutation inference (``randomisation="total"``, the default of hot spot runs): under the null of
the analytic z, the ``n`` values are exchangeable over the units, so the star sum ``y_i + T_i`` is the sum
of ``k*_i`` values drawn without replacement from all ``n``. One set of ``P`` draws of ``K* = max k*_i``
distinct units serves every neighbourhood size (the first ``j`` units of a uniformly ordered random
``K*``-subset are a uniform random ``j``-subset), and ``X_i`` counts the simulated sums at least as extreme
as the observed one, sided as below (two-sided: folded about the exact mean ``k*_i S / n``). A unit with a
busy place of its own is judged on its whole neighbourhood, as z judges it.

Exact p-values (``permutations="exact"``, integer counts): the permutation null of either randomisation is
not simulated but computed (:mod:`ctxrisk.analytics.gistar_exact`) -- the distribution of the sum of a simple
random sample of the counts, built one value class at a time with hypergeometric weights; the conditional null
holds one unit of the focal value out of it. ``p_sim`` is then the exact probability of a value at least as
extreme, sided as below: the limit of the simulated ``(X + 1) / (P + 1)`` as ``P`` grows, with no floor at
``1 / (P + 1)``.

Conditional permutation inference (``randomisation="conditional"``, esda's; Anselin 1995): ``y_i`` is held
fixed and the ``k_i`` neighbour values are drawn **without replacement from the other n - 1 values**. Under that null
``T_i`` depends on unit ``i`` only through ``(y_i, k_i)``, so all units sharing the same pair share
one null distribution: it is simulated once per distinct ``(y_i, k_i)`` (count data have few such
pairs), vectorised in chunks of bounded memory (never a units x permutations array). Each pair's
simulation is independent and driven by one ``numpy.random.Generator`` seeded with ``seed``, so
results are reproducible. With ``P`` permutations and ``X_i`` the number of simulated values at
least as extreme as the observed one::

    p_sim_i = (X_i + 1) / (P + 1)

Sidedness (``alternative``):

* ``"greater"`` (hot spots only): ``X_i = #{T_sim >= T_i}``; ``p_norm = 1 - Phi(z)``.
* ``"less"`` (cold spots only): ``X_i = #{T_sim <= T_i}``; ``p_norm = Phi(z)``.
* ``"two-sided"`` (default): the null distribution is *folded* about its exact conditional mean
  ``mu_i = k_i (S - y_i) / (n - 1)`` and both tails count:
  ``X_i = #{|T_sim - mu_i| >= |T_i - mu_i|}``; ``p_norm = 2 (1 - Phi(|z|))``.
  (esda's ``p_sim`` instead counts only the tail on the observed side -- a one-sided value for
  the observed direction -- and esda's ``p_norm`` is one-sided; ours are genuinely two-sided.)

Ties are counted as extreme (conservative); a relative tolerance of 1e-9 of ``S`` absorbs
floating-point summation order.

Multiple testing: ``q`` is the Benjamini & Hochberg (1995) false-discovery-rate adjusted
``p_sim`` (or ``p_norm`` when ``permutations=0``) over all units that have at least one neighbour.

``bin`` follows the ArcGIS ``Gi_Bin`` coding -- +/-3, +/-2, +/-1 for 99, 95 and 90 per cent
confidence, 0 otherwise, sign of ``z`` -- but is computed from the **FDR-adjusted q**
(``q < 0.01`` -> 3, ``q < 0.05`` -> 2, ``q < 0.10`` -> 1). We bin on ``q`` rather than raw
p-values because a study region has thousands of cells and unadjusted 90 % bins would flag
about one cell in ten by chance alone. With ``P`` permutations the smallest p is ``1/(P+1)``,
so bin 3 needs ``P >= 100``. For a one-sided ``alternative`` only that side's bins occur.

Permutations and FDR over many units: BH gives ``q >= m p / r`` for a unit of rank ``r`` among
``m`` tested units, and ``p_sim >= 1 / (P + 1)``. With ``m = 100,000`` cells and ``P = 999`` a
cell needs thousands of other cells at the minimum ``p_sim`` to reach ``q < 0.05``, so planted
clusters of a few hundred cells are never significant. Use ``P`` well above ``m / alpha`` for
region-wide maps (99,999 permutations of 100,000 count cells take about 0.2 s because the null
is simulated once per distinct ``(y_i, k_i)``); a warning is logged when ``m / (P + 1) > alpha``.

Islands (units with no neighbour) keep their analytic ``z`` (as esda computes it), but their
``p_sim`` and ``q`` are 1 and their ``bin`` 0: a unit alone cannot be a spatial cluster.

References
----------
Getis, A. and Ord, J. K. (1992). The analysis of spatial association by use of distance
statistics. Geographical Analysis, 24(3), 189-206.
Ord, J. K. and Getis, A. (1995). Local spatial autocorrelation statistics: distributional issues
and an application. Geographical Analysis, 27(4), 286-306.
Anselin, L. (1995). Local indicators of spatial association -- LISA. Geographical Analysis,
27(2), 93-115.
Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate: a practical and
powerful approach to multiple testing. JRSS B, 57(1), 289-300.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from ctxrisk.analytics.gistar_exact import MAX_TABLE, exact_conditional_p, exact_fits, exact_total_p
from ctxrisk.pipelines.errors import ValidationError

logger = logging.getLogger(__name__)

__all__ = [
    "GiStar",
    "auto_permutations",
    "benjamini_hochberg",
    "coarse_permutations_note",
    "gi_bin",
]

Alternative = Literal["two-sided", "greater", "less"]
_ALTERNATIVES = ("two-sided", "greater", "less")
Randomisation = Literal["conditional", "total"]
_RANDOMISATIONS = ("conditional", "total")
# Elements (int64 draws) per simulation chunk: bounds memory at about 8 bytes x this.
_CHUNK_ELEMENTS = 4_000_000
#: Up to this many draws per sample, duplicates are found by pairwise comparison (a 2-ring has 18 cells).
_PAIRWISE_MAX_K = 24
#: A null shared by more units than this is sorted once; for fewer, each unit counts the extremes directly.
_SORT_ABOVE_UNITS = 8


#: Bounds of :func:`auto_permutations`.
AUTO_PERMUTATIONS_MIN = 9_999
AUTO_PERMUTATIONS_MAX = 4_999_999


def auto_permutations(m: int, alpha: float) -> int:
    """Permutations that let Benjamini-Hochberg at ``alpha`` reach the units of a region of ``m`` tested units.

    BH passes the unit of rank ``r`` when ``p <= r alpha / m``; the smallest pseudo p-value is
    ``1 / (P + 1)``. ``P + 1 = 5 m / alpha`` puts the rank-1 threshold five steps above the floor, so a
    single strong unit can be found and the Monte-Carlo error of p near the thresholds stays small.
    The result is at least 9,999 and at most 4,999,999 (then a warning is logged by :class:`GiStar`).

    Returns
    -------
    int
        ``max(9_999, min(4_999_999, ceil(5 m / alpha) - 1))``.
    """
    need = int(np.ceil(5 * max(int(m), 1) / float(alpha))) - 1
    return int(min(AUTO_PERMUTATIONS_MAX, max(AUTO_PERMUTATIONS_MIN, need)))


def coarse_permutations_note(
    permutations: int, m: int, alpha: float, *, suggested: int, ties: int = 1, over: str = "units"
) -> str | None:
    """Say when ``permutations`` are too few for Benjamini-Hochberg at ``alpha`` over ``m`` tests, else None.

    The smallest pseudo p-value is ``1 / (P + 1)``; BH passes it only when at least ``m / ((P + 1) alpha)``
    tests share it. The count is coarse when that is more than ``ties`` (1 for :class:`GiStar`'s own FDR; 10
    for emerging hot spots, whose automatic count lets ten bins of a time step tied at the floor pass).
    ``suggested`` is the automatic rule of the caller for ``m`` tests, uncapped: it is always more than
    ``permutations`` when the note is given, so the advice never asks for fewer than are in use.
    """
    if permutations <= 0 or m <= 0:
        return None
    share = m / ((permutations + 1) * alpha)
    if share <= ties:
        return None
    who = "a single unit" if ties == 1 else f"{ties} units tied at the smallest p_sim"
    return (
        f"{permutations:,} permutations are coarse for FDR over {m:,} {over}: a unit reaches q < {alpha:g} only "
        f"if about {int(np.ceil(share)):,} units share the smallest p_sim (1/{permutations + 1:,}); "
        f"{max(int(suggested), permutations + 1):,} permutations let {who} reach it"
    )


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Return Benjamini-Hochberg (1995) FDR-adjusted p-values (q-values).

    Parameters
    ----------
    p : array-like of float
        p-values in [0, 1], any shape; NaN is not allowed.

    Returns
    -------
    numpy.ndarray
        ``q_(i) = min_{j >= i} min(1, m p_(j) / j)`` over the sorted p-values, in input order.
    """
    p_arr = np.asarray(p, dtype=np.float64)
    flat = p_arr.ravel()
    if flat.size == 0:
        return p_arr.copy()
    if np.isnan(flat).any() or (flat < 0).any() or (flat > 1).any():
        msg = "p-values must be in [0, 1] with no NaN"
        raise ValidationError(msg)
    m = flat.size
    order = np.argsort(flat, kind="stable")
    ranked = flat[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    q = np.empty_like(flat)
    q[order] = q_sorted
    return q.reshape(p_arr.shape)


def gi_bin(z: np.ndarray, q: np.ndarray, *, alternative: Alternative = "two-sided") -> np.ndarray:
    """ArcGIS-style Gi_Bin from z-scores and (FDR-adjusted) p-values.

    Parameters
    ----------
    z : array-like of float
        Gi* z-scores (their sign gives hot, positive, or cold, negative).
    q : array-like of float
        Adjusted p-values, same shape.
    alternative : {"two-sided", "greater", "less"}
        One-sided tests only produce bins on their own side.

    Returns
    -------
    numpy.ndarray of int8
        +/-3 where ``q < 0.01``, +/-2 where ``q < 0.05``, +/-1 where ``q < 0.10``, else 0.
    """
    z = np.asarray(z, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    level = np.select([q < 0.01, q < 0.05, q < 0.10], [3, 2, 1], default=0).astype(np.int8)
    sign = np.sign(np.nan_to_num(z)).astype(np.int8)
    if alternative == "greater":
        sign[sign < 0] = 0
    elif alternative == "less":
        sign[sign > 0] = 0
    return (level * sign).astype(np.int8)


def _as_csr(w: Any, n: int) -> sp.csr_matrix:
    """Validate binary, square, self-loop-free weights and return them as CSR."""
    if hasattr(w, "sparse") and not sp.issparse(w):  # libpysal W / Graph
        w = w.sparse
    if not sp.issparse(w):
        msg = f"w must be a scipy.sparse matrix, got {type(w).__name__}"
        raise ValidationError(msg)
    w = sp.csr_matrix(w, dtype=np.float64)
    w.eliminate_zeros()
    if w.shape != (n, n):
        msg = f"w has shape {w.shape} but y has {n} values; expected ({n}, {n})"
        raise ValidationError(msg)
    if w.nnz and not np.all(w.data == 1.0):
        msg = "w must be binary (every stored weight 1); row-standardised weights are not supported"
        raise ValidationError(msg)
    if np.any(w.diagonal() != 0):
        msg = "w must not store self loops: Gi* adds the self weight itself"
        raise ValidationError(msg)
    w.sort_indices()
    return w


def _repeating_samples_py(draws: np.ndarray, n_pool: int) -> np.ndarray:
    """True for each column of ``draws`` (``(k, rows)``) that holds an index twice (one pass, a stamp per index)."""
    k, rows = draws.shape
    seen = np.full(n_pool, -1, dtype=np.int64)
    dup = np.zeros(rows, dtype=np.bool_)
    for r in range(rows):
        for i in range(k):
            v = draws[i, r]
            if seen[v] == r:
                dup[r] = True
                break
            seen[v] = r
    return dup


def _null_sums_py(draws: np.ndarray, y: np.ndarray, skip: np.ndarray, perms: int) -> np.ndarray:
    """Simulated neighbour totals ``(groups, perms)`` from pool draws ``(k, groups * perms)``.

    A draw at or above the group's ``skip`` moves up by one (the pool leaves out one unit with the focal
    value); values are added in draw order, as ``y[draws].sum(axis=0)`` does.
    """
    k, total = draws.shape
    groups = total // perms
    out = np.empty((groups, perms))
    for g in range(groups):
        cut = skip[g]
        for p in range(perms):
            col = g * perms + p
            d = draws[0, col]
            acc = y[d + 1] if d >= cut else y[d]
            for i in range(1, k):
                d = draws[i, col]
                acc += y[d + 1] if d >= cut else y[d]
            out[g, p] = acc
    return out


try:  # compiled when numba is there (a pinned dependency); numpy otherwise
    from numba import njit

    _repeating_samples: Any = njit(cache=True, nogil=True)(_repeating_samples_py)
    _null_sums: Any = njit(cache=True, nogil=True)(_null_sums_py)
except ImportError:  # pragma: no cover - numba is pinned
    _repeating_samples = _null_sums = None


def _draw_distinct(rng: np.random.Generator, n_pool: int, rows: int, k: int) -> np.ndarray:
    """Draw ``rows`` independent uniform samples of ``k`` distinct indices from ``range(n_pool)``.

    Returns a ``(k, rows)`` array (column ``r`` is sample ``r``): the draw-major layout keeps the
    duplicate checks on contiguous memory.
    """
    accept = float(np.prod(1.0 - np.arange(k) / n_pool))
    if accept >= 0.05:
        # Rejection: iid uniform draws, redrawing whole samples that repeat an index; accepted
        # samples are uniform over ordered k-tuples of distinct indices.
        dtype = np.int32 if n_pool < 2**31 - 1 else np.int64
        draws = rng.integers(0, n_pool, size=(k, rows), dtype=dtype)
        todo: np.ndarray | None = None  # None: every sample still to check
        while k > 1:
            sub = draws if todo is None else draws[:, todo]
            if _repeating_samples is not None:
                dup = _repeating_samples(sub, n_pool)
            elif k <= _PAIRWISE_MAX_K:  # pairwise comparisons beat a sort for small k
                dup = np.zeros(sub.shape[1], dtype=bool)
                for i in range(1, k):
                    for j in range(i):
                        dup |= sub[i] == sub[j]
            else:
                srt = np.sort(sub, axis=0)
                dup = (srt[1:] == srt[:-1]).any(axis=0)
            todo = np.flatnonzero(dup) if todo is None else todo[dup]
            if not todo.size:
                break
            draws[:, todo] = rng.integers(0, n_pool, size=(k, todo.size), dtype=dtype)
        return draws
    # Dense regime (k close to n): random keys, smallest k per sample -- a uniform k-subset.
    out = np.empty((k, rows), dtype=np.int64)
    step = max(1, _CHUNK_ELEMENTS // n_pool)
    for start in range(0, rows, step):
        stop = min(rows, start + step)
        keys = rng.random((stop - start, n_pool))
        out[:, start:stop] = np.argpartition(keys, k - 1, axis=1)[:, :k].T
    return out


class GiStar:
    """Local Getis-Ord Gi* with binary weights, conditional permutation p-values and FDR bins.

    See the module docstring for formulas, sidedness and references.

    Parameters
    ----------
    y : array-like of float, shape (n,)
        Non-negative finite values (counts) of every unit of the study region, zeros included.
    w : scipy.sparse matrix, shape (n, n)
        Binary neighbour matrix without self loops (e.g. from :mod:`ctxrisk.analytics.weights`).
        A libpysal ``W``/``Graph`` is accepted through its ``.sparse`` matrix.
    permutations : int or "exact", default 999
        Permutations, >= 0; 0 skips simulation (``p_sim`` is NaN and ``q`` uses ``p_norm``). ``"exact"``
        (integer counts only): ``p_sim`` is the exact probability of the permutation null, computed from the
        distribution of sample sums (:mod:`ctxrisk.analytics.gistar_exact`) instead of simulated: the limit of the
        simulated ``p_sim`` as the permutations grow, with no Monte-Carlo error and no floor at
        ``1/(P + 1)``.
    seed : int or None, default None
        Seed of the ``numpy.random.Generator`` driving the permutations.
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        Hypothesis for ``p_norm``/``p_sim``.
    alpha : float, default 0.05
        FDR level for ``significant``, ``hot`` and ``cold``; in (0, 1).
    randomisation : {"conditional", "total"}, default "conditional"
        Permutation null (module docstring): ``conditional`` holds the unit's own value (esda's ``p_sim``),
        ``total`` permutes every value (the null of ``z``; the default of hot spot runs).
    warn_coarse : bool, default True
        Log a warning (:func:`coarse_permutations_note`) when ``permutations`` are too few for BH over the
        units; a caller that runs its own FDR over other groups (emerging hot spots) warns itself.

    Attributes
    ----------
    n : int
        Number of units.
    G : numpy.ndarray
        Gi* statistic ``(y_i + T_i) / S``.
    EG : numpy.ndarray
        Expected value ``k*_i / n``.
    VG : numpy.ndarray
        Analytic variance of ``G``.
    z : numpy.ndarray
        Analytic z-score (equals esda ``G_Local(..., transform="B", star=True).Zs``).
    p_norm : numpy.ndarray
        Normal-approximation p-value for ``alternative``.
    p_sim : numpy.ndarray
        Permutation pseudo p-value ``(X + 1) / (P + 1)`` (the exact permutation probability with
        ``permutations="exact"``); 1 for islands.
    q : numpy.ndarray
        Benjamini-Hochberg adjusted ``p_sim`` (``p_norm`` if ``permutations=0``); 1 for islands.
    bin : numpy.ndarray of int8
        ArcGIS-style Gi_Bin (+/-3, 2, 1, 0) from ``q`` and the sign of ``z``.
    n_neighbours : numpy.ndarray of int
        Neighbours of each unit excluding itself (``k_i``).
    islands : numpy.ndarray of bool
        Units with no neighbour.
    significant, hot, cold : numpy.ndarray of bool
        ``q < alpha``; and with ``z > 0`` / ``z < 0``.
    n_null_distributions : int
        Distinct null distributions: ``(y_i, k_i)`` pairs (conditional), neighbourhood sizes (total), focal
        values (exact conditional).
    exact : bool
        True when the permutation p-values were computed exactly (``permutations="exact"``; then
        ``permutations`` is 0).
    """

    def __init__(
        self,
        y: Any,
        w: Any,
        *,
        permutations: int | Literal["exact"] = 999,
        seed: int | None = None,
        alternative: Alternative = "two-sided",
        alpha: float = 0.05,
        randomisation: Randomisation = "conditional",
        warn_coarse: bool = True,
    ) -> None:
        y_arr = np.asarray(y, dtype=np.float64)
        if y_arr.ndim != 1:
            msg = f"y must be one-dimensional, got shape {y_arr.shape}"
            raise ValidationError(msg)
        n = y_arr.size
        if n < 3:
            msg = f"Gi* needs at least 3 units, got {n}"
            raise ValidationError(msg)
        if not np.isfinite(y_arr).all():
            msg = f"y holds {int((~np.isfinite(y_arr)).sum()):,} missing or infinite values; give empty units 0"
            raise ValidationError(msg)
        if (y_arr < 0).any():
            msg = "Gi* needs non-negative values (counts or rates); y has negative values"
            raise ValidationError(msg)
        if alternative not in _ALTERNATIVES:
            msg = f"alternative must be one of {_ALTERNATIVES}, got {alternative!r}"
            raise ValidationError(msg)
        exact = isinstance(permutations, str) and permutations == "exact"
        if not exact and (
            isinstance(permutations, bool) or not isinstance(permutations, (int, np.integer)) or permutations < 0
        ):
            msg = f"permutations must be a non-negative integer or 'exact', got {permutations!r}"
            raise ValidationError(msg)
        if exact and not np.array_equal(y_arr, np.rint(y_arr)):
            msg = "exact permutation p-values need integer counts; give a number of permutations for other values"
            raise ValidationError(msg)
        if not 0 < alpha < 1:
            msg = f"alpha must be in (0, 1), got {alpha!r}"
            raise ValidationError(msg)
        if randomisation not in _RANDOMISATIONS:
            msg = f"randomisation must be one of {_RANDOMISATIONS}, got {randomisation!r}"
            raise ValidationError(msg)
        if seed is not None and int(seed) < 0:
            msg = f"seed must be a non-negative integer or None, got {seed!r}"
            raise ValidationError(msg)
        total = float(y_arr.sum())
        ybar = total / n
        var = float((y_arr**2).mean() - ybar**2)
        if total <= 0 or var <= 1e-12 * max(1.0, ybar**2):
            msg = (
                "y has zero variance (all values equal"
                + (", all zero" if total <= 0 else "")
                + "): Gi* is undefined; there is nothing to find hot or cold spots in"
            )
            raise ValidationError(msg)
        w_csr = _as_csr(w, n)
        if exact and not exact_fits(y_arr, np.diff(w_csr.indptr)):
            msg = (
                f"exact permutation p-values of counts up to {int(y_arr.max()):,} would need a table of more than "
                f"{MAX_TABLE:,} sums; give a number of permutations"
            )
            raise ValidationError(msg)

        self.y = y_arr
        self.w = w_csr
        self.n = n
        self.exact = exact
        self.permutations = 0 if exact else int(permutations)
        self.seed = seed
        self.alternative = alternative
        self.alpha = float(alpha)
        self.randomisation = randomisation

        k = np.diff(w_csr.indptr).astype(np.int64)
        self.n_neighbours = k
        self.islands = k == 0
        t_obs = w_csr @ y_arr
        self._t_obs = t_obs

        # Analytic moments (esda G_Local star=True, transform="B").
        k_star = (k + 1).astype(np.float64)
        self.G = (y_arr + t_obs) / total
        self.EG = k_star / n
        self.VG = k_star * (n - k_star) / (n - 1) / n**2 * var / ybar**2
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (self.G - self.EG) / np.sqrt(self.VG)
        z[self.VG <= 0] = 0.0
        self.z = z
        if alternative == "greater":
            self.p_norm = stats.norm.sf(z)
        elif alternative == "less":
            self.p_norm = stats.norm.cdf(z)
        else:
            self.p_norm = np.minimum(1.0, 2.0 * stats.norm.sf(np.abs(z)))

        self.n_null_distributions = 0
        if exact:
            exact_p = exact_total_p if randomisation == "total" else exact_conditional_p
            self.p_sim, self.n_null_distributions = exact_p(y_arr, k, t_obs, alternative=alternative)
            p_for_q = self.p_sim
        elif self.permutations and randomisation == "total":
            self.p_sim = self._total_permutation_p(y_arr, k, t_obs, total)
            p_for_q = self.p_sim
        elif self.permutations:
            self.p_sim = self._permutation_p(y_arr, k, t_obs, total)
            p_for_q = self.p_sim
        else:
            self.p_sim = np.full(n, np.nan)
            p_for_q = self.p_norm
        q = np.ones(n)
        testable = ~self.islands
        q[testable] = benjamini_hochberg(p_for_q[testable])
        m = int(testable.sum())
        # The advice is the automatic count (auto_permutations), uncapped: more than the count in use.
        suggested = max(AUTO_PERMUTATIONS_MIN, int(np.ceil(5 * m / self.alpha)) - 1)
        note = coarse_permutations_note(self.permutations, m, self.alpha, suggested=suggested) if warn_coarse else None
        if note:
            logger.warning("%s", note)
        self.q = q
        self.bin = gi_bin(z, q, alternative=alternative)
        self.bin[self.islands] = 0
        self.significant = q < self.alpha
        self.hot = self.significant & (z > 0) & (alternative != "less")
        self.cold = self.significant & (z < 0) & (alternative != "greater")
        logger.info(
            "Gi* on %s units (%s islands, %s null distributions, %s permutations): %s hot, %s cold at FDR %.2f",
            f"{n:,}",
            f"{int(self.islands.sum()):,}",
            f"{self.n_null_distributions:,}",
            f"{self.permutations:,}",
            f"{int(self.hot.sum()):,}",
            f"{int(self.cold.sum()):,}",
            self.alpha,
        )

    def _total_permutation_p(self, y: np.ndarray, k: np.ndarray, t_obs: np.ndarray, total: float) -> np.ndarray:
        """Total-permutation pseudo p-values of the star sums, one simulated null per distinct ``k_i``.

        One set of draws of ``K* = max k_i + 1`` distinct units serves every size: the first ``j`` units of
        a uniformly ordered random ``K*``-subset are a uniform random ``j``-subset, so the running sums give
        every size's null. Extremes are counted chunk by chunk (memory stays bounded).
        """
        n = self.n
        perms = self.permutations
        rng = np.random.default_rng(self.seed)
        tol = 1e-9 * max(1.0, total)
        p_sim = np.ones(n)
        active = np.flatnonzero((k > 0) & (k < n - 1))
        if active.size == 0:
            return p_sim
        star = y + t_obs
        sizes = np.unique(k[active]) + 1
        big = int(sizes.max())
        groups = [active[k[active] == s - 1] for s in sizes]
        mus = sizes * total / n
        two = self.alternative == "two-sided"
        less = self.alternative == "less"
        # Distinct observed values per size, and each unit's place among them.
        obs, where = [], []
        for g, mu in zip(groups, mus, strict=True):
            u, inv = np.unique(np.abs(star[g] - mu) if two else star[g], return_inverse=True)
            obs.append(u + tol if less else u - tol)
            where.append(inv.ravel())
        below = [np.zeros(u.size + 1, dtype=np.int64) for u in obs]
        step = max(1, _CHUNK_ELEMENTS // big)
        for start in range(0, perms, step):
            stop = min(perms, start + step)
            sums = np.cumsum(y[_draw_distinct(rng, n, stop - start, big)], axis=0)
            for i, size in enumerate(sizes):
                sims = np.abs(sums[size - 1] - mus[i]) if two else sums[size - 1]
                # r = thresholds passed by each simulated value; counts of r give every threshold's tail.
                r = np.searchsorted(obs[i], sims, side="left" if less else "right")
                below[i] += np.bincount(r, minlength=obs[i].size + 1)
            del sums
        for g, counts, inv in zip(groups, below, where, strict=True):
            # greater/two-sided: X_j = #{sim >= u_j} = #{r > j}; less: X_j = #{sim <= u_j} = #{r <= j}.
            tail = np.cumsum(counts)[:-1] if less else np.cumsum(counts[::-1])[::-1][1:]
            p_sim[g] = (tail[inv] + 1.0) / (perms + 1.0)
        self.n_null_distributions = int(sizes.size)
        return p_sim

    def _permutation_p(self, y: np.ndarray, k: np.ndarray, t_obs: np.ndarray, total: float) -> np.ndarray:
        """Conditional permutation pseudo p-values, one simulated null per distinct (y_i, k_i)."""
        n = self.n
        perms = self.permutations
        rng = np.random.default_rng(self.seed)
        tol = 1e-9 * max(1.0, total)
        p_sim = np.ones(n)
        # Units with 0 neighbours (islands) or n-1 neighbours have a degenerate null: p = 1.
        active = np.flatnonzero((k > 0) & (k < n - 1))
        if active.size == 0:
            return p_sim
        values, first_index, vcode = np.unique(y, return_index=True, return_inverse=True)
        key = vcode[active].astype(np.int64) * n + k[active]
        ukeys, ginv = np.unique(key, return_inverse=True)
        self.n_null_distributions = int(ukeys.size)
        order = np.argsort(ginv, kind="stable")
        bounds = np.searchsorted(ginv[order], np.arange(ukeys.size + 1))
        cells_sorted = active[order]
        g_value = values[ukeys // n]
        g_k = ukeys % n
        g_skip = first_index[ukeys // n]  # one pool member with the focal value: removed from the pool
        g_mu = g_k * (total - g_value) / (n - 1)
        alt = self.alternative
        for kk in np.unique(g_k):
            groups = np.flatnonzero(g_k == kk)
            per_chunk = max(1, _CHUNK_ELEMENTS // (perms * int(kk)))
            for start in range(0, groups.size, per_chunk):
                chunk = groups[start : start + per_chunk]
                draws = _draw_distinct(rng, n - 1, chunk.size * perms, int(kk))
                if _null_sums is not None:
                    sims = _null_sums(draws, y, g_skip[chunk].astype(np.int64), perms)
                else:
                    draws = draws.reshape(int(kk), chunk.size, perms)
                    draws += draws >= g_skip[chunk][None, :, None]  # skip one pool member with the focal value
                    sims = y[draws].sum(axis=0)  # (groups, perms)
                del draws
                if alt == "two-sided":
                    sims = np.abs(sims - g_mu[chunk, None])
                for row, g in enumerate(chunk):
                    cells = cells_sorted[bounds[g] : bounds[g + 1]]
                    obs = t_obs[cells]
                    srow = sims[row]
                    # X = simulated values at least as extreme as the observed one; a sort pays off only
                    # when many units share this null, otherwise count directly (the same X).
                    if cells.size > _SORT_ABOVE_UNITS:
                        srow.sort()
                        if alt == "greater":
                            extreme = perms - np.searchsorted(srow, obs - tol, side="left")
                        elif alt == "less":
                            extreme = np.searchsorted(srow, obs + tol, side="right")
                        else:
                            extreme = perms - np.searchsorted(srow, np.abs(obs - g_mu[g]) - tol, side="left")
                    elif alt == "greater":
                        extreme = (srow[None, :] >= (obs - tol)[:, None]).sum(axis=1)
                    elif alt == "less":
                        extreme = (srow[None, :] <= (obs + tol)[:, None]).sum(axis=1)
                    else:
                        extreme = (srow[None, :] >= (np.abs(obs - g_mu[g]) - tol)[:, None]).sum(axis=1)
                    p_sim[cells] = (extreme + 1.0) / (perms + 1.0)
        return p_sim

    def to_frame(self, index: Any = None) -> pd.DataFrame:
        """Return the per-unit results as a DataFrame.

        Parameters
        ----------
        index : array-like, optional
            Unit identifiers (e.g. H3 cells) used as the index; default ``range(n)``.

        Returns
        -------
        pandas.DataFrame
            Columns ``y, n_neighbours, G, EG, VG, z, p_norm, p_sim, q, bin, hot, cold, island``.
        """
        return pd.DataFrame(
            {
                "y": self.y,
                "n_neighbours": self.n_neighbours,
                "G": self.G,
                "EG": self.EG,
                "VG": self.VG,
                "z": self.z,
                "p_norm": self.p_norm,
                "p_sim": self.p_sim,
                "q": self.q,
                "bin": self.bin,
                "hot": self.hot,
                "cold": self.cold,
                "island": self.islands,
            },
            index=index,
        )
