"""How much a ranking of people moves when a share of the links is dropped at random."""

from __future__ import annotations

import logging
from collections.abc import Callable

import networkx as nx
import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ctxrisk.pipelines.errors import ValidationError

log = logging.getLogger(__name__)

SENSITIVITY_COLUMNS = (
    "person_id",
    "baseline_rank",
    "mean_rank",
    "rank_sd",
    "min_rank",
    "max_rank",
    "mean_abs_change",
    "kept_share",
    "top_share",
)


def _ranks(frame: pd.DataFrame) -> dict:
    if not isinstance(frame, pd.DataFrame) or "person_id" not in frame.columns:
        msg = "ranking_fn must return a DataFrame with a person_id column, ranked best first"
        raise ValidationError(msg)
    return {p: i for i, p in enumerate(frame["person_id"], start=1)}


def _perturbed_ranks(
    g: nx.Graph,
    ranking_fn: Callable[[nx.Graph], pd.DataFrame],
    base: dict,
    *,
    edges: list,
    n_drop: int,
    repeats: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[float]]:
    """Rank ``repeats`` times, each time without ``n_drop`` random links.

    Returns each repeat's rank of each person of ``base`` (NaN: no longer ranked), a row per repeat, and the
    finite Spearman correlations with the baseline of the repeats ranking more than two of them.
    """
    people = list(base)
    ranks = np.full((repeats, len(people)), np.nan)
    spearman = []
    for r in range(repeats):
        h = g.copy()
        drop = rng.choice(len(edges), size=n_drop, replace=False) if n_drop else []
        h.remove_edges_from(edges[i] for i in drop)
        new = _ranks(ranking_fn(h))
        ranks[r] = [new.get(p, np.nan) for p in people]
        both = [p for p in people if p in new]
        if len(both) > 2:
            rho = spearmanr([base[p] for p in both], [new[p] for p in both]).statistic
            if np.isfinite(rho):
                spearman.append(float(rho))
    return ranks, spearman


def _rank_summary(people: list, ranks: np.ndarray, *, top: int) -> pd.DataFrame:
    """The :data:`SENSITIVITY_COLUMNS` of each person from the repeats' ranks (see :func:`rank_sensitivity`)."""
    baseline = np.arange(1, len(people) + 1, dtype=float)
    kept = ~np.isnan(ranks)
    ranked = bool(len(people) and kept.any())  # else every statistic over the repeats is NaN
    with np.errstate(all="ignore"):
        return pd.DataFrame(
            {
                "person_id": people,
                "baseline_rank": baseline.astype(int),
                "mean_rank": np.nanmean(ranks, axis=0) if ranked else np.nan,
                "rank_sd": np.nanstd(ranks, axis=0, ddof=0) if ranked else np.nan,
                "min_rank": np.nanmin(ranks, axis=0) if ranked else np.nan,
                "max_rank": np.nanmax(ranks, axis=0) if ranked else np.nan,
                "mean_abs_change": np.nanmean(np.abs(ranks - baseline), axis=0) if ranked else np.nan,
                "kept_share": kept.mean(axis=0) if len(people) else np.nan,
                "top_share": (np.nan_to_num(ranks, nan=np.inf) <= top).mean(axis=0) if len(people) else np.nan,
            },
            columns=list(SENSITIVITY_COLUMNS),
        )


def rank_sensitivity(
    g: nx.Graph,
    ranking_fn: Callable[[nx.Graph], pd.DataFrame],
    *,
    drop_share: float = 0.2,
    repeats: int = 20,
    seed: int = 0,
    top: int = 10,
) -> pd.DataFrame:
    """Re-rank after dropping a random share of links, to show how firm each rank is.

    Recorded links are incomplete and partly wrong; a rank that survives losing a fifth of the
    links at random is one a panel can lean on more.

    Parameters
    ----------
    g : networkx.Graph
        Association graph.
    ranking_fn : callable
        ``ranking_fn(graph) -> DataFrame`` with ``person_id`` ranked best first, e.g.
        ``lambda h: adults_of_concern(h, min_children=2)`` or ``centrality``.
    drop_share : float
        Share of links removed in each repeat, ``0 < drop_share < 1`` (default 0.2).
    repeats : int
        Number of random repeats (``>= 1``).
    seed : int
        Seed of the numpy generator choosing links to drop.
    top : int
        Size of the "top" list for ``top_share``.

    Returns
    -------
    DataFrame
        People of the baseline ranking, in baseline order. Columns ``person_id``;
        ``baseline_rank`` (1 = first); ``mean_rank``, ``rank_sd``, ``min_rank``, ``max_rank`` (over
        repeats in which they are still ranked); ``mean_abs_change`` (mean |rank - baseline rank|
        over those repeats); ``kept_share`` (share of repeats in which they are still ranked at
        all, e.g. still linked to enough children); ``top_share`` (share of repeats with rank <=
        ``top``). ``attrs`` holds ``mean_spearman`` (mean Spearman correlation between baseline and
        perturbed ranks of people ranked in both), ``drop_share``, ``repeats``, ``seed``.
    """
    if not 0 < drop_share < 1:
        msg = f"drop_share must be between 0 and 1 (exclusive), got {drop_share!r}"
        raise ValidationError(msg)
    if int(repeats) < 1:
        msg = f"repeats must be at least 1, got {repeats!r}"
        raise ValidationError(msg)
    base = _ranks(ranking_fn(g))
    people = list(base)
    edges = list(g.edges)
    n_drop = int(round(drop_share * len(edges)))
    rng = np.random.default_rng(seed)
    ranks, spearman = _perturbed_ranks(g, ranking_fn, base, edges=edges, n_drop=n_drop, repeats=int(repeats), rng=rng)
    frame = _rank_summary(people, ranks, top=int(top))
    frame.attrs.update(
        {
            "mean_spearman": float(np.mean(spearman)) if spearman else float("nan"),
            "drop_share": float(drop_share),
            "repeats": int(repeats),
            "seed": int(seed),
        }
    )
    log.info(
        "rank sensitivity over %d repeats dropping %s of %s links: mean Spearman %.3f",
        int(repeats),
        f"{n_drop:,}",
        f"{len(edges):,}",
        frame.attrs["mean_spearman"],
    )
    return frame
