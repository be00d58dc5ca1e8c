"""Hot spots against a baseline: a theme's concentration beyond busy places (case-control and rate Gi*).

A plain Gi* (``baseline="none"``) asks whether events are concentrated relative to the area of the units:
a busy town centre is a hot spot for every theme. With a baseline the question becomes whether a theme's
events (the *cases*) are concentrated relative to something that is itself uneven:

* ``"all-incidents"`` -- **case-control Gi*** (random labelling; Diggle, 2003). Given where all the
  incidents happened, the theme's events are a random subset of them under the null. For unit ``i`` with
  star neighbourhood ``N*_i`` (the unit and its neighbours, as Gi*), let ``n_i`` be all incidents in
  ``N*_i``, ``c_i`` the cases among them, ``N`` all incidents and ``C`` all cases. Under random labelling
  ``c_i`` is hypergeometric: ``c_i ~ Hypergeom(N, C, n_i)`` with mean ``n_i C / N`` and variance
  ``n_i (C / N) (1 - C / N) (N - n_i) / (N - 1)``. ``z_i`` is the standardised excess and ``p_i`` is the
  exact hypergeometric tail (no simulation).
* ``"population"`` -- **rate Gi*** (Poisson; as the spatial scan's Poisson model, Kulldorff 1997). With
  resident population ``r_j`` per unit (ONS LSOA estimates loaded by the partnership), the cases in
  ``N*_i`` under the null of a constant rate are ``Binomial(C, R*_i / R)`` where ``R*_i`` is the
  population of ``N*_i`` and ``R`` the total; ``z_i`` and the exact binomial tail follow.

Both keep the sidedness of :class:`ctxrisk.analytics.gistar.GiStar` and Benjamini-Hochberg FDR over the
units with at least one neighbour, and bin as ``Gi_Bin`` on ``q``.

References
----------
Diggle, P. J. (2003). Statistical Analysis of Spatial Point Patterns, 2nd ed., ch. 9 (case-control data,
random labelling). Arnold.
Kulldorff, M. (1997). A spatial scan statistic. Communications in Statistics - Theory and Methods, 26(6),
1481-1496.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from scipy import stats

from ctxrisk.analytics.gistar import Alternative, _as_csr, benjamini_hochberg, gi_bin
from ctxrisk.pipelines.errors import ValidationError

__all__ = ["BASELINES", "BaselineGi"]

Baseline = Literal["none", "all-incidents", "population"]
BASELINES: tuple[str, ...] = ("none", "all-incidents", "population")


class BaselineGi:
    """Case-control (hypergeometric) or rate (binomial) Gi* of ``cases`` against ``baseline`` per unit.

    Parameters
    ----------
    cases : array-like of int, shape (n,)
        The theme's events per unit.
    baseline : array-like of float, shape (n,)
        All incidents per unit (``kind="all-incidents"``; must be >= ``cases``) or resident population
        (``kind="population"``; > 0 somewhere).
    w : scipy.sparse matrix, shape (n, n)
        Binary weights without self loops (the unit itself is added, as Gi*).
    kind : {"all-incidents", "population"}
        The null (see the module docstring).
    alternative : {"two-sided", "greater", "less"}, default "greater"
    alpha : float, default 0.05
        FDR level.

    Attributes
    ----------
    observed, expected, sd, z, p, q : numpy.ndarray
        Cases in each star neighbourhood, their null mean and standard deviation, the standardised excess,
        the exact p-value for ``alternative`` and its Benjamini-Hochberg adjustment (1 for islands).
    bin : numpy.ndarray of int8
    hot, cold, islands : numpy.ndarray of bool
    """

    def __init__(
        self,
        cases: Any,
        baseline: Any,
        w: Any,
        *,
        kind: Literal["all-incidents", "population"],
        alternative: Alternative = "greater",
        alpha: float = 0.05,
    ) -> None:
        c = np.asarray(cases, dtype=np.float64)
        b = np.asarray(baseline, dtype=np.float64)
        if c.shape != b.shape or c.ndim != 1:
            msg = f"cases {c.shape} and baseline {b.shape} must be one-dimensional and the same length"
            raise ValidationError(msg)
        if kind not in ("all-incidents", "population"):
            msg = f"baseline kind must be all-incidents or population, got {kind!r}"
            raise ValidationError(msg)
        if (c < 0).any() or (b < 0).any() or not np.isfinite(b).all():
            msg = "cases and baseline must be non-negative and finite"
            raise ValidationError(msg)
        if kind == "all-incidents" and (c > b).any():
            msg = "with the all-incidents baseline every unit's cases must be among its incidents (cases <= incidents)"
            raise ValidationError(msg)
        if c.sum() <= 0 or b.sum() <= 0:
            msg = "a baseline Gi* needs at least one case and a positive baseline"
            raise ValidationError(msg)
        w_csr = _as_csr(w, c.size)
        star = w_csr + sp.identity(c.size, format="csr")
        self.kind = kind
        self.alternative = alternative
        self.alpha = float(alpha)
        self.islands = np.diff(w_csr.indptr) == 0
        obs = np.asarray(star @ c).ravel()
        base = np.asarray(star @ b).ravel()
        total_c, total_b = float(c.sum()), float(b.sum())
        if kind == "all-incidents":
            big_n, draws = int(round(total_b)), np.rint(base).astype(np.int64)
            dist = stats.hypergeom(big_n, int(round(total_c)), draws)
            share = total_c / total_b
            mean = draws * share
            var = draws * share * (1 - share) * (big_n - draws) / max(big_n - 1, 1)
        else:
            share = base / total_b
            dist = stats.binom(int(round(total_c)), share)
            mean = total_c * share
            var = total_c * share * (1 - share)
        self.observed = obs
        self.expected = np.asarray(mean, dtype=np.float64)
        self.sd = np.sqrt(np.asarray(var, dtype=np.float64))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (obs - self.expected) / self.sd
        z[~np.isfinite(z)] = 0.0
        self.z = z
        upper = np.asarray(dist.sf(obs - 1), dtype=np.float64)  # P(X >= obs)
        lower = np.asarray(dist.cdf(obs), dtype=np.float64)  # P(X <= obs)
        if alternative == "greater":
            p = upper
        elif alternative == "less":
            p = lower
        else:
            p = np.minimum(1.0, 2.0 * np.minimum(upper, lower))
        p = np.clip(np.nan_to_num(p, nan=1.0), 0.0, 1.0)
        p[self.islands] = 1.0
        self.p = p
        q = np.ones(c.size)
        q[~self.islands] = benjamini_hochberg(p[~self.islands])
        self.q = q
        self.bin = gi_bin(z, q, alternative=alternative)
        self.bin[self.islands] = 0
        sig = q < self.alpha
        self.hot = sig & (z > 0) & (alternative != "less")
        self.cold = sig & (z < 0) & (alternative != "greater")
