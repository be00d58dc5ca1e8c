"""Gi* over a study region that falls into separate groups: a null within each group, one FDR over all units.

When the study region is two towns far apart (or a force's area and a second force's files), Gi* over the
whole region compares a quiet town with the busy one: the busy town's counts set the mean, the variance
and the permutation null of every unit, and a strong concentration in the quiet town is never extreme
against them. :class:`GroupedGiStar` analyses each group as its own study region -- its own ``n``, ``S``,
``s^2``, weights never crossing groups and its own permutation null (so ``z`` within a group is esda's
``G_Local`` of the group alone) -- and then runs **one** Benjamini-Hochberg correction over the testable
units of every group, so ``q`` is a false-discovery rate over the whole run, as for one region.

Permutation budget (:func:`group_permutations`). The cost of a total-permutation null is the number of
permutations times the largest neighbourhood, whatever the number of units, so giving every group the
count of the whole region (:func:`ctxrisk.analytics.gistar.auto_permutations` of all ``m`` tested units)
would multiply the run time by the number of groups. Group ``g`` with ``m_g`` tested units instead gets::

    P_g + 1 = ceil(max(5 m_g, m / t) / alpha),  t = max(10, G),  bounded to [9,999, 4,999,999]

The first term is the automatic rule of the group's own units (for one group it is
``auto_permutations(m)`` exactly); the second keeps a small group's smallest pseudo p-value,
``1 / (P_g + 1)``, at or under the BH threshold of rank ``t`` over all ``m`` units. So a unit of group ``g``
at its floor passes the run's FDR once the run holds ``min(m / (5 m_g), t)`` discoveries at or below that
p (one, for a group holding at least a fifth of the units). The counts sum to at most
``(1 + 1/5)`` times the automatic count of the whole region, plus the floor of 9,999 per group. A group whose
floor could not pass BH at rank 1 (``1 / (P_g + 1) > alpha / m``: a small group beside a large one) is tested
on its exact permutation null instead when its counts are whole numbers (:mod:`ctxrisk.analytics.gistar_exact`;
the limit of the simulated p-value, with no floor, and cheap for a small group), so a lone strong site there is
not lost to the budget; its ``group_permutations`` entry is then 0.

References
----------
Getis, A. and Ord, J. K. (1992). The analysis of spatial association by use of distance statistics.
Geographical Analysis, 24(3), 189-206.
Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B, 57(1), 289-300.
Benjamini, Y. and Yekutieli, D. (2001). The control of the false discovery rate in multiple testing under
dependency. Annals of Statistics, 29(4), 1165-1188 (BH under positive dependence within each group; the
groups' nulls are drawn independently).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from ctxrisk.analytics.gistar import (
    AUTO_PERMUTATIONS_MAX,
    AUTO_PERMUTATIONS_MIN,
    Alternative,
    GiStar,
    Randomisation,
    _as_csr,
    benjamini_hochberg,
    coarse_permutations_note,
    gi_bin,
)
from ctxrisk.analytics.gistar_exact import exact_fits
from ctxrisk.pipelines.errors import ValidationError

logger = logging.getLogger(__name__)

__all__ = ["GroupedGiStar", "group_permutations"]

#: Discoveries of the run that let a small group's floor p-value through BH (at least; the number of groups
#: when larger).
GROUP_TIES = 10


def group_permutations(m_group: int, m_total: int, alpha: float, *, n_groups: int = 1) -> int:
    """Permutations of one group of a region analysed apart (the rule in the module docstring).

    Parameters
    ----------
    m_group : int
        Tested units (units with a neighbour) of the group.
    m_total : int
        Tested units of every group: the size of the run's FDR family.
    alpha : float
        FDR level, in (0, 1).
    n_groups : int
        Groups of the region (``t = max(10, n_groups)``).

    Returns
    -------
    int
        ``ceil(max(5 m_group, m_total / t) / alpha) - 1``, at least 9,999 and at most 4,999,999.
    """
    ties = max(GROUP_TIES, int(n_groups))
    need = int(np.ceil(max(5 * max(int(m_group), 1), int(m_total) / ties) / float(alpha))) - 1
    return int(min(AUTO_PERMUTATIONS_MAX, max(AUTO_PERMUTATIONS_MIN, need)))


def _group_null(
    y: np.ndarray, w: sp.csr_matrix, m_group: int, m_total: int, alpha: float, *, n_groups: int
) -> int | Literal["exact"]:
    """The automatic null of one group: :func:`group_permutations`, or exact p-values where that count's
    smallest pseudo p-value, ``1 / (P_g + 1)``, could not pass Benjamini-Hochberg at rank 1 over all ``m_total``
    units (``alpha / m_total``) and the group's counts are whole numbers whose exact null fits
    (:func:`ctxrisk.analytics.gistar_exact.exact_fits`). The exact p-value is the limit of the simulated one
    (the same test, no floor), so a lone strong site in a small group beside a large one is not lost to the
    budget."""
    perms = group_permutations(m_group, m_total, alpha, n_groups=n_groups)
    floor_passes = 1.0 / (perms + 1) <= float(alpha) / max(int(m_total), 1)
    if floor_passes or not np.array_equal(y, np.rint(y)) or not exact_fits(y, np.diff(w.indptr)):
        return perms
    return "exact"


def _check_values(y: np.ndarray, permutations: Any, alternative: Any) -> None:
    """Refuse what :class:`GiStar` refuses, in every group: a group too small to test is no way round it."""
    if not np.isfinite(y).all():
        msg = f"y holds {int((~np.isfinite(y)).sum()):,} missing or infinite values; give empty units 0"
        raise ValidationError(msg)
    if (y < 0).any():
        msg = "Gi* needs non-negative values (counts or rates); y has negative values"
        raise ValidationError(msg)
    if isinstance(permutations, str) and permutations == "exact" and not np.array_equal(y, np.rint(y)):
        msg = "exact permutation p-values need integer counts; give a number of permutations for other values"
        raise ValidationError(msg)
    if alternative not in ("two-sided", "greater", "less"):
        msg = f"alternative must be one of ('two-sided', 'greater', 'less'), got {alternative!r}"
        raise ValidationError(msg)


def _check_options(permutations: Any, randomisation: Any) -> None:
    """Refuse a permutation count or null :class:`GiStar` would refuse, even when no group is tested."""
    exact = isinstance(permutations, str) and permutations == "exact"
    count = isinstance(permutations, (int, np.integer)) and not isinstance(permutations, bool) and permutations >= 0
    if not (permutations is None or exact or count):
        msg = f"permutations must be a non-negative integer, 'exact' or None, got {permutations!r}"
        raise ValidationError(msg)
    if randomisation not in ("conditional", "total"):
        msg = f"randomisation must be one of ('conditional', 'total'), got {randomisation!r}"
        raise ValidationError(msg)


def _tested(w: sp.csr_matrix, idx: np.ndarray) -> int:
    return int((np.diff(w[idx][:, idx].indptr) > 0).sum())


class GroupedGiStar:
    """Gi* within each group of a study region, with one Benjamini-Hochberg FDR over all units.

    Each group is analysed by :class:`ctxrisk.analytics.gistar.GiStar` as its own region (weights between
    groups are dropped); ``q`` is the BH adjustment of every testable unit's p-value together. A group of
    fewer than 3 units, or with the same value in every unit, cannot be tested: its units get ``z = 0``,
    ``p = 1``, ``q = 1``, are counted in ``untested`` and marked as islands.

    Parameters
    ----------
    y : array-like of float, shape (n,)
        Values of every unit.
    w : scipy.sparse matrix, shape (n, n)
        Binary weights without self loops; entries between groups are ignored.
    groups : array-like of int, shape (n,)
        Group label of each unit.
    permutations : int, "exact" or None, default None
        None: each group's count from :func:`group_permutations` (the budget of the module docstring); an
        int: every group draws that many (0: the normal approximation); ``"exact"``: each group's exact
        permutation p-values (:class:`ctxrisk.analytics.gistar.GiStar` with ``permutations="exact"``: no
        Monte-Carlo floor, so no budget).
    seed : int or None
        Group ``i`` (labels in sorted order) is seeded with ``SeedSequence([seed, i])``.
    alternative, alpha, randomisation
        As :class:`ctxrisk.analytics.gistar.GiStar`.

    Attributes
    ----------
    z, p_norm, p_sim, q, bin, hot, cold, significant, n_neighbours, islands, alpha
        As :class:`ctxrisk.analytics.gistar.GiStar` (``islands`` includes the units of untested groups).
    permutations : int
        The largest count any group drew (0 for the normal approximation and for exact p-values).
    group_permutations : dict of int to int
        Permutations drawn by each tested group.
    exact : bool
        True when the p-values are exact (``permutations="exact"``).
    groups : numpy.ndarray
        The labels given.
    n_groups : int
        Number of groups.
    group_results : dict of int to GiStar
        The within-group statistic of each tested group.
    untested : int
        Units in groups too small or too uniform for Gi*.
    """

    def __init__(
        self,
        y: Any,
        w: Any,
        groups: Any,
        *,
        permutations: int | Literal["exact"] | None = None,
        seed: int | None = None,
        alternative: Alternative = "two-sided",
        alpha: float = 0.05,
        randomisation: Randomisation = "total",
    ) -> None:
        y_arr = np.asarray(y, dtype=np.float64)
        g_arr = np.asarray(groups)
        if g_arr.shape != y_arr.shape:
            msg = f"groups has shape {g_arr.shape} but y has {y_arr.shape}; give one label per unit"
            raise ValidationError(msg)
        if g_arr.size and not np.issubdtype(g_arr.dtype, np.integer):
            msg = f"groups must be integer labels, got {g_arr.dtype} values such as {g_arr.ravel()[0]!r}"
            raise ValidationError(msg)
        if not 0 < alpha < 1:
            msg = f"alpha must be in (0, 1), got {alpha!r}"
            raise ValidationError(msg)
        _check_values(y_arr, permutations, alternative)
        _check_options(permutations, randomisation)
        if seed is not None and int(seed) < 0:
            msg = f"seed must be a non-negative integer or None, got {seed!r}"
            raise ValidationError(msg)
        n = y_arr.size
        w_csr = _as_csr(w, n)
        labels = np.unique(g_arr)
        members = [np.flatnonzero(g_arr == label) for label in labels]
        testable = [idx.size >= 3 and np.ptp(y_arr[idx]) > 0 for idx in members]
        tested = {i: _tested(w_csr, idx) for i, idx in enumerate(members) if testable[i]}
        m_total = sum(tested.values())
        self.alpha, self.alternative = float(alpha), alternative
        self.exact = isinstance(permutations, str) and permutations == "exact"
        self.groups, self.n_groups = g_arr, int(labels.size)
        self.z, self.p_norm = np.zeros(n), np.ones(n)
        self.p_sim = np.ones(n) if permutations != 0 else np.full(n, np.nan)
        self.n_neighbours = np.zeros(n, dtype=np.int64)
        self.islands = np.ones(n, dtype=bool)
        self.group_results: dict[int, GiStar] = {}
        self.group_permutations: dict[int, int] = {}
        for i, (label, idx) in enumerate(zip(labels, members, strict=True)):
            self.n_neighbours[idx] = np.diff(w_csr[idx][:, idx].indptr)  # within the group, tested or not
            if not testable[i]:
                continue
            perms: int | Literal["exact"] = (
                _group_null(y_arr[idx], w_csr[idx][:, idx], tested[i], m_total, alpha, n_groups=len(tested))
                if permutations is None
                else permutations
            )
            sub_seed = None if seed is None else int(np.random.SeedSequence([int(seed), i]).generate_state(1)[0])
            gi = GiStar(
                y_arr[idx],
                w_csr[idx][:, idx],
                permutations=perms,
                seed=sub_seed,
                alternative=alternative,
                alpha=alpha,
                randomisation=randomisation,
                warn_coarse=False,
            )
            self.group_results[int(label)] = gi
            self.group_permutations[int(label)] = gi.permutations
            self.z[idx], self.p_norm[idx], self.p_sim[idx] = gi.z, gi.p_norm, gi.p_sim
            self.n_neighbours[idx], self.islands[idx] = gi.n_neighbours, gi.islands
        self.permutations = max(self.group_permutations.values(), default=0)
        self.untested = int(n - sum(int(r.n) for r in self.group_results.values()))
        self._fdr(permutations, m_total)

    def _fdr(self, permutations: int | Literal["exact"] | None, m_total: int) -> None:
        """One BH family over the testable units of every group; bins and flags from its ``q``."""
        ok = ~self.islands
        p_for_q = self.p_norm if permutations == 0 else self.p_sim
        self.q = np.ones(self.z.size)
        self.q[ok] = benjamini_hochberg(p_for_q[ok])
        if isinstance(permutations, int) and permutations:  # a fixed count: say when too coarse for the run's FDR
            suggested = max(AUTO_PERMUTATIONS_MIN, int(np.ceil(5 * m_total / self.alpha)) - 1)
            note = coarse_permutations_note(int(permutations), m_total, self.alpha, suggested=suggested)
            if note:
                logger.warning("%s", note)
        self.bin = gi_bin(self.z, self.q, alternative=self.alternative)
        self.bin[self.islands] = 0
        self.significant = self.q < self.alpha
        self.hot = self.significant & (self.z > 0) & (self.alternative != "less")
        self.cold = self.significant & (self.z < 0) & (self.alternative != "greater")

    def hot_per_group(self) -> np.ndarray:
        """Hot units of each group, in the order of the sorted labels."""
        inv = np.unique(self.groups, return_inverse=True)[1].ravel()
        return np.bincount(inv[self.hot], minlength=self.n_groups)
