"""Emerging hot spot analysis: space-time Gi* per bin, Mann-Kendall trends and the 17 ArcGIS patterns.

Method (after ArcGIS Pro "How Emerging Hot Spot Analysis works")
----------------------------------------------------------------
1. **Space-time cube.** ``counts[u, t]`` is the count for unit ``u`` (e.g. an H3 cell of the study
   region, zeros included) in time step ``t`` (oldest first). Every ``(u, t)`` is a *bin*.
2. **Space-time Gi\\*.** The neighbours of bin ``(u, t)`` are the bins ``(v, s)`` with ``v`` equal
   to ``u`` or a spatial neighbour of ``u`` and ``t - time_step_window <= s <= t`` (the current
   and the previous ``time_step_window`` steps; never later ones), excluding the bin itself,
   which Gi* adds as its self weight. Gi* (:class:`ctxrisk.analytics.gistar.GiStar`) is computed once on
   the whole cube, so every bin is compared with the mean and variance of the entire cube (the
   ArcGIS "entire cube" global window). Early steps have fewer time-lagged neighbours.
3. **Significance per bin with FDR per time step.** Each bin's p-value (conditional permutation
   ``p_sim`` by default, or the analytic two-sided ``p_norm``) is Benjamini-Hochberg adjusted
   *within its time step* (the family is the units of one time slice). A bin is a **hot spot**
   when ``q < alpha`` and ``z > 0``, a **cold spot** when ``q < alpha`` and ``z < 0``.
4. **Trend.** The Mann-Kendall test (:mod:`ctxrisk.analytics.mannkendall`, two-sided, level
   ``trend_alpha``) is run on each unit's series of Gi* z-scores: a significant increase means
   the clustering of high values is intensifying.
5. **Patterns.** Each unit gets exactly one of the 17 categories below, with ``n`` time steps,
   ``h`` hot bins, ``c`` cold bins; "90 per cent" means ``h >= 0.9 n`` (tested as
   ``10 h >= 9 n``); "final" is the most recent step.

Hot spot patterns (cold spot patterns are the mirror image: swap hot/cold and, for the trend,
increasing/decreasing -- an *intensifying cold spot* has significantly decreasing z):

* **New hot spot** -- hot in the final step and never a significant hot spot before.
* **Consecutive hot spot** -- a single uninterrupted run of at least two hot bins ending in the
  final step, never hot before that run, and less than 90 % of bins hot.
* **Intensifying hot spot** -- hot in at least 90 % of steps including the final one, with a
  significant increasing trend in z.
* **Persistent hot spot** -- hot in at least 90 % of steps (including the final one, see
  precedence), with no significant trend in z.
* **Diminishing hot spot** -- hot in at least 90 % of steps including the final one, with a
  significant decreasing trend in z.
* **Sporadic hot spot** -- hot in the final step, an on-again off-again hot spot before (some hot
  bin before the final run), less than 90 % of bins hot and **never** a significant cold spot.
* **Oscillating hot spot** -- hot in the final step, a significant cold spot in some earlier step,
  and less than 90 % of bins hot.
* **Historical hot spot** -- not hot in the final step, but hot in at least 90 % of steps.
* **No pattern detected** -- none of the above, hot or cold.

Precedence where the published definitions overlap (documented choices, as in R sfdep):

* A unit whose final bin is significant is classified by that final state first: final hot ->
  a hot pattern, final cold -> a cold pattern; the historical patterns apply only when the final
  bin is not significant. (9 hot steps then a final cold one is an *oscillating cold spot*.)
* "Never hot before" in *new* and *consecutive* also excludes earlier cold spots: any earlier
  cold spot makes a final-hot unit with < 90 % hot bins *oscillating*.
* Persistent, intensifying and diminishing all need the final step hot: with the final step not
  hot and >= 90 % hot bins the unit is *historical*, whatever the trend.

References
----------
Esri, ArcGIS Pro documentation: Emerging Hot Spot Analysis (Space Time Pattern Mining) and
"How Emerging Hot Spot Analysis works".
Getis & Ord (1992); Ord & Getis (1995); Benjamini & Hochberg (1995); Mann (1945); Kendall (1975).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ctxrisk.analytics.gistar import GiStar, benjamini_hochberg, coarse_permutations_note, gi_bin
from ctxrisk.analytics.mannkendall import MKResult, mann_kendall_many
from ctxrisk.pipelines.errors import ValidationError

logger = logging.getLogger(__name__)

__all__ = [
    "CATEGORIES",
    "EmergingResult",
    "classify_patterns",
    "emerging_hot_spots",
    "space_time_weights",
]

CATEGORIES: tuple[str, ...] = (
    "new hot spot",
    "consecutive hot spot",
    "intensifying hot spot",
    "persistent hot spot",
    "diminishing hot spot",
    "sporadic hot spot",
    "oscillating hot spot",
    "historical hot spot",
    "new cold spot",
    "consecutive cold spot",
    "intensifying cold spot",
    "persistent cold spot",
    "diminishing cold spot",
    "sporadic cold spot",
    "oscillating cold spot",
    "historical cold spot",
    "no pattern detected",
)


def _trailing_run(mask: np.ndarray) -> np.ndarray:
    """Length of the run of True at the end of each row."""
    rev = mask[:, ::-1]
    return np.where(rev.all(axis=1), mask.shape[1], np.argmin(rev, axis=1))


def _side_patterns(
    on: np.ndarray, other: np.ndarray, up: np.ndarray, down: np.ndarray, side: str
) -> tuple[np.ndarray, np.ndarray]:
    """Patterns for units whose final bin is on ``side`` (hot or cold); returns (labels, final_on)."""
    n_steps = on.shape[1]
    count = on.sum(axis=1)
    ninety = 10 * count >= 9 * n_steps
    final_on = on[:, -1]
    prior_other = other[:, :-1].any(axis=1)
    run = _trailing_run(on)
    before_run = count > run
    conditions = [
        ninety & up,
        ninety & down,
        ninety,
        prior_other,
        count == 1,
        ~before_run,
    ]
    names = [
        f"intensifying {side} spot",
        f"diminishing {side} spot",
        f"persistent {side} spot",
        f"oscillating {side} spot",
        f"new {side} spot",
        f"consecutive {side} spot",
    ]
    labels = np.select(conditions, names, default=f"sporadic {side} spot")
    return labels, final_on


def classify_patterns(hot: Any, cold: Any, trend: Any) -> np.ndarray:
    """Assign each unit one of the 17 emerging hot spot categories (see the module docstring).

    Parameters
    ----------
    hot, cold : array-like of bool, shape (units, time_steps)
        Significant hot / cold spot bins, oldest step first; a bin cannot be both.
    trend : array-like of str, shape (units,)
        Mann-Kendall trend of each unit's z series: ``"increasing"``, ``"decreasing"`` or
        ``"no trend"``.

    Returns
    -------
    numpy.ndarray of str
        One label from :data:`CATEGORIES` per unit.

    Raises
    ------
    ValidationError
        On shape mismatch, fewer than 2 time steps, a bin both hot and cold, or an unknown trend.
    """
    hot_a = np.asarray(hot, dtype=bool)
    cold_a = np.asarray(cold, dtype=bool)
    trend_a = np.asarray(trend).astype(str)
    if hot_a.ndim != 2 or hot_a.shape != cold_a.shape or trend_a.shape != (hot_a.shape[0],):
        msg = (
            "hot and cold must be (units, steps) of one shape and trend (units,); "
            f"got {hot_a.shape}, {cold_a.shape}, {trend_a.shape}"
        )
        raise ValidationError(msg)
    if hot_a.shape[1] < 2:
        msg = f"need at least 2 time steps, got {hot_a.shape[1]}"
        raise ValidationError(msg)
    if (hot_a & cold_a).any():
        msg = "a bin cannot be both a hot and a cold spot"
        raise ValidationError(msg)
    unknown = set(np.unique(trend_a).tolist()) - {"increasing", "decreasing", "no trend"}
    if unknown:
        msg = f"unknown trend values {sorted(unknown)}; expected 'increasing', 'decreasing' or 'no trend'"
        raise ValidationError(msg)
    inc = trend_a == "increasing"
    dec = trend_a == "decreasing"
    hot_labels, final_hot = _side_patterns(hot_a, cold_a, inc, dec, "hot")
    cold_labels, final_cold = _side_patterns(cold_a, hot_a, dec, inc, "cold")
    n_steps = hot_a.shape[1]
    ninety_hot = 10 * hot_a.sum(axis=1) >= 9 * n_steps
    ninety_cold = 10 * cold_a.sum(axis=1) >= 9 * n_steps
    return (
        np.select(
            [final_hot, final_cold, ninety_hot, ninety_cold],
            [hot_labels, cold_labels, "historical hot spot", "historical cold spot"],
            default="no pattern detected",
        )
        .astype(object)
        .astype(str)
    )


def space_time_weights(w: Any, n_steps: int, *, time_step_window: int = 1) -> sp.csr_matrix:
    """Binary space-time weights for a cube flattened time-major (bin index ``t * units + u``).

    Parameters
    ----------
    w : scipy.sparse matrix, shape (units, units)
        Binary spatial weights without self loops.
    n_steps : int
        Number of time steps, >= 1.
    time_step_window : int, default 1
        Previous steps included, >= 0 (0: spatial neighbours in the same step only).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(units * n_steps,)`` square binary matrix without self loops: bin ``(u, t)`` links to
        ``(v, s)`` for ``v in {u} | N(u)`` and ``t - window <= s <= t``, except itself.
    """
    if (
        isinstance(time_step_window, bool)
        or not isinstance(time_step_window, (int, np.integer))
        or time_step_window < 0
    ):
        msg = f"time_step_window must be a non-negative integer, got {time_step_window!r}"
        raise ValidationError(msg)
    # Built row block by row block into arrays of the final size: a Kronecker product (time band x (W + I))
    # makes the same matrix through COO triplets and a copy, about 2.4 times its size at the peak.
    w_csr = sp.csr_matrix(w, dtype=np.float64)
    w_self = sp.csr_matrix(w_csr + sp.eye(w_csr.shape[0], format="csr"))
    w_self.sort_indices()
    units = w_self.shape[0]
    window = min(int(time_step_window), max(n_steps - 1, 0))
    steps_in = np.minimum(np.arange(n_steps), window) + 1  # the steps t - window .. t that exist
    per_row = np.diff(w_self.indptr)[None, :] * steps_in[:, None] - 1  # (n_steps, units): itself left out
    indptr = np.zeros(units * n_steps + 1, dtype=np.int64)
    np.cumsum(per_row.ravel(), out=indptr[1:])
    big = units * n_steps >= 2**31 - 1 or indptr[-1] >= 2**31 - 1
    indices = np.empty(int(indptr[-1]), dtype=np.int64 if big else np.int32)
    for t in range(n_steps):
        lo = t - int(steps_in[t]) + 1
        block = sp.hstack([w_self] * int(steps_in[t]), format="csr")  # row u: u and N(u) in steps lo..t
        cols = block.indices.astype(np.int64) + lo * units
        keep = cols != np.repeat(t * units + np.arange(units), np.diff(block.indptr))
        indices[indptr[t * units] : indptr[(t + 1) * units]] = cols[keep]
    st = sp.csr_matrix(
        (np.ones(indices.size), indices, indptr.astype(indices.dtype)), shape=(units * n_steps, units * n_steps)
    )
    st.has_sorted_indices = True
    return st


@dataclass(frozen=True)
class EmergingResult:
    """Result of :func:`emerging_hot_spots`; arrays are (units, steps) unless noted.

    Attributes
    ----------
    z : numpy.ndarray
        Space-time Gi* z-scores.
    p : numpy.ndarray
        Bin p-values (``p_sim`` or two-sided ``p_norm``, see ``inference``).
    q : numpy.ndarray
        Benjamini-Hochberg adjusted ``p`` within each time step.
    bin : numpy.ndarray of int8
        ArcGIS-style Gi_Bin from ``q`` and the sign of ``z``.
    hot, cold : numpy.ndarray of bool
        ``q < alpha`` with ``z > 0`` / ``z < 0``.
    trend : MKResult
        Mann-Kendall test of each unit's z series (arrays of length units).
    category : numpy.ndarray of str, shape (units,)
        One of :data:`CATEGORIES`.
    alpha, trend_alpha : float
        Levels used.
    time_step_window : int
        Previous steps in the neighbourhood.
    permutations : int
        Permutations used (0 for analytic inference).
    seed : int or None
        Seed of the permutations.
    inference : str
        ``"permutation"`` or ``"analytic"``.
    """

    z: np.ndarray
    p: np.ndarray
    q: np.ndarray
    bin: np.ndarray
    hot: np.ndarray
    cold: np.ndarray
    trend: MKResult
    category: np.ndarray
    alpha: float
    trend_alpha: float
    time_step_window: int
    permutations: int
    seed: int | None
    inference: str

    def to_frame(self, index: Any = None) -> pd.DataFrame:
        """Per-unit summary: category, hot/cold step counts, final bin and the trend test.

        Parameters
        ----------
        index : array-like, optional
            Unit identifiers (e.g. H3 cells); default ``range(units)``.

        Returns
        -------
        pandas.DataFrame
            Columns ``category, n_hot, n_cold, final_bin, final_z, trend, trend_tau, trend_z, trend_p``.
        """
        return pd.DataFrame(
            {
                "category": self.category,
                "n_hot": self.hot.sum(axis=1),
                "n_cold": self.cold.sum(axis=1),
                "final_bin": self.bin[:, -1],
                "final_z": self.z[:, -1],
                "trend": self.trend.trend,
                "trend_tau": self.trend.tau,
                "trend_z": self.trend.z,
                "trend_p": self.trend.p,
            },
            index=index,
        )


#: Bins of one time step that must be able to pass BH together at the smallest pseudo p-value.
TIED_BINS = 10


def _warn_if_coarse(permutations: int, m: int, alpha: float) -> None:
    """Warn when BH within a time step of ``m`` units needs more than ten bins tied at the smallest p_sim."""
    suggested = int(np.ceil(m / (TIED_BINS * alpha))) - 1  # the automatic rule of emerging runs, uncapped
    note = coarse_permutations_note(
        permutations, m, alpha, suggested=suggested, ties=TIED_BINS, over="units of each time step"
    )
    if note:
        logger.warning("%s", note)


def emerging_hot_spots(
    counts: Any,
    w: Any,
    *,
    time_step_window: int = 1,
    permutations: int = 999,
    seed: int | None = None,
    alpha: float = 0.05,
    trend_alpha: float = 0.05,
    inference: Literal["permutation", "analytic"] = "permutation",
) -> EmergingResult:
    """Emerging hot spot analysis of a space-time cube (method in the module docstring).

    Parameters
    ----------
    counts : array-like of float, shape (units, steps)
        Non-negative counts per unit and time step (oldest first), zeros included; steps >= 3.
    w : scipy.sparse matrix, shape (units, units)
        Binary spatial weights without self loops (:mod:`ctxrisk.analytics.weights`).
    time_step_window : int, default 1
        Previous time steps in each bin's neighbourhood, 0 <= window < steps.
    permutations : int, default 999
        Conditional permutations per bin for ``inference="permutation"``.
    seed : int or None, default None
        Seed for the permutations.
    alpha : float, default 0.05
        FDR level for a bin to be a hot or cold spot; in (0, 1).
    trend_alpha : float, default 0.05
        Two-sided level of the Mann-Kendall trend test; in (0, 1).
    inference : {"permutation", "analytic"}, default "permutation"
        Bin p-values from conditional permutations (``p_sim``) or the normal approximation.

    Returns
    -------
    EmergingResult

    Raises
    ------
    ValidationError
        On a malformed cube or weights, fewer than 3 steps, a bad option, or a cube with no
        variation (all zero or constant).
    """
    cube = np.asarray(counts, dtype=np.float64)
    if cube.ndim != 2:
        msg = f"counts must be 2-D (units x time steps), got shape {cube.shape}"
        raise ValidationError(msg)
    units, steps = cube.shape
    if steps < 3:
        msg = f"emerging hot spot analysis needs at least 3 time steps, got {steps}"
        raise ValidationError(msg)
    if inference not in ("permutation", "analytic"):
        msg = f"inference must be 'permutation' or 'analytic', got {inference!r}"
        raise ValidationError(msg)
    if not 0 < trend_alpha < 1:
        msg = f"trend_alpha must be in (0, 1), got {trend_alpha!r}"
        raise ValidationError(msg)
    if not sp.issparse(w) or w.shape != (units, units):
        shape = getattr(w, "shape", None)
        msg = f"w must be a scipy.sparse ({units}, {units}) matrix matching counts, got {type(w).__name__} {shape}"
        raise ValidationError(msg)
    if (
        isinstance(time_step_window, (int, np.integer))
        and not isinstance(time_step_window, bool)
        and time_step_window >= steps
    ):
        msg = f"time_step_window must be smaller than the number of steps ({steps}), got {time_step_window}"
        raise ValidationError(msg)
    if steps < 10:
        logger.warning(
            "only %d time steps: the Mann-Kendall trend has little power (ArcGIS advises at least 10)", steps
        )
    st = space_time_weights(w, steps, time_step_window=time_step_window)
    y = cube.T.ravel()  # time-major: bin t * units + u
    perms = permutations if inference == "permutation" else 0
    gi = GiStar(y, st, permutations=perms, seed=seed, alternative="two-sided", alpha=alpha, warn_coarse=False)
    z = gi.z.reshape(steps, units).T
    p_flat = gi.p_sim if inference == "permutation" else gi.p_norm
    p = p_flat.reshape(steps, units).T
    islands = gi.islands.reshape(steps, units).T
    q = np.ones_like(p)
    for t in range(steps):
        ok = ~islands[:, t]
        if ok.any():
            q[ok, t] = benjamini_hochberg(p[ok, t])
    _warn_if_coarse(perms, int((~islands).sum(axis=0).max()), alpha)
    bins = gi_bin(z, q)
    hot = (q < alpha) & (z > 0)
    cold = (q < alpha) & (z < 0)
    mk = mann_kendall_many(z, alpha=trend_alpha)
    category = classify_patterns(hot, cold, mk.trend)
    labels, counts_per = np.unique(category, return_counts=True)
    logger.info(
        "emerging hot spots on %s units x %d steps: %s",
        f"{units:,}",
        steps,
        ", ".join(f"{c:,} {lab}" for lab, c in zip(labels, counts_per, strict=True)),
    )
    return EmergingResult(
        z=z,
        p=p,
        q=q,
        bin=bins,
        hot=hot,
        cold=cold,
        trend=mk,
        category=category,
        alpha=float(alpha),
        trend_alpha=float(trend_alpha),
        time_step_window=int(time_step_window),
        permutations=int(perms),
        seed=seed,
        inference=inference,
    )
