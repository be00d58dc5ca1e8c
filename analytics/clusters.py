"""Density-based point clusters (HDBSCAN in British National Grid metres) with convex-hull outlines.

HDBSCAN (Campello, Moulavi & Sander 2013; McInnes, Healy & Astels 2017) finds groups of events
that are denser than their surroundings without a fixed search radius, and leaves isolated events
as noise. It runs on Euclidean distances between BNG easting/northing (EPSG:27700) metres.

References
----------
Campello, R. J. G. B., Moulavi, D. and Sander, J. (2013). Density-based clustering based on
hierarchical density estimates. PAKDD 2013, 160-172.
McInnes, L., Healy, J. and Astels, S. (2017). hdbscan: hierarchical density based clustering.
Journal of Open Source Software, 2(11), 205.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from sklearn.cluster import HDBSCAN

from ctxrisk.pipelines.errors import ValidationError

logger = logging.getLogger(__name__)

__all__ = ["ClusterResult", "point_clusters"]

_HULL_COLUMNS = ["cluster", "size", "centroid_easting", "centroid_northing", "area_m2", "geometry"]


@dataclass(frozen=True)
class ClusterResult:
    """Result of :func:`point_clusters`.

    Attributes
    ----------
    labels : numpy.ndarray of int
        Cluster of each input point, ``0 .. n_clusters - 1``; ``-1`` is noise.
    probabilities : numpy.ndarray of float
        HDBSCAN membership strength in [0, 1] (0 for noise).
    n_clusters : int
        Number of clusters found.
    hulls : geopandas.GeoDataFrame
        One row per cluster (EPSG:27700): ``cluster``, ``size`` (points), ``centroid_easting``,
        ``centroid_northing`` (mean of the members, metres), ``area_m2`` (hull area) and
        ``geometry`` -- the convex hull of the members (a Point or LineString when all members
        coincide or are collinear; area 0).
    min_cluster_size : int
        Smallest cluster size asked for.
    min_samples : int or None
        HDBSCAN ``min_samples`` (None: equal to ``min_cluster_size``).
    """

    labels: np.ndarray
    probabilities: np.ndarray
    n_clusters: int
    hulls: gpd.GeoDataFrame
    min_cluster_size: int
    min_samples: int | None

    @property
    def noise(self) -> np.ndarray:
        """Boolean mask of the points left as noise (label -1)."""
        return self.labels == -1


def _hulls(x: np.ndarray, y: np.ndarray, labels: np.ndarray, n_clusters: int) -> gpd.GeoDataFrame:
    rows: list[dict[str, Any]] = []
    for k in range(n_clusters):
        members = labels == k
        pts = shapely.points(x[members], y[members])
        hull = shapely.convex_hull(shapely.multipoints(pts))
        rows.append(
            {
                "cluster": k,
                "size": int(members.sum()),
                "centroid_easting": float(x[members].mean()),
                "centroid_northing": float(y[members].mean()),
                "area_m2": float(hull.area),
                "geometry": hull,
            }
        )
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in _HULL_COLUMNS[:-1]}, geometry=gpd.GeoSeries([], crs=27700), crs=27700)
    return gpd.GeoDataFrame(rows, columns=_HULL_COLUMNS, geometry="geometry", crs=27700)


def point_clusters(
    easting: Any,
    northing: Any,
    *,
    min_cluster_size: int = 5,
    min_samples: int | None = None,
) -> ClusterResult:
    """Cluster event points with HDBSCAN in BNG metres and outline each cluster.

    Parameters
    ----------
    easting, northing : array-like of float
        BNG coordinates (EPSG:27700, metres) of located events, same length, finite.
    min_cluster_size : int, default 5
        Smallest group of events reported as a cluster, >= 2. Keeping it at or above the
        privacy suppression threshold (5) avoids outlining very small groups.
    min_samples : int or None, default None
        HDBSCAN ``min_samples`` (>= 1): larger values make clustering more conservative;
        None uses ``min_cluster_size``.

    Returns
    -------
    ClusterResult

    Raises
    ------
    ValidationError
        On different lengths, non-finite coordinates or invalid sizes.
    """
    x = np.asarray(easting, dtype=np.float64).ravel()
    y = np.asarray(northing, dtype=np.float64).ravel()
    if x.shape != y.shape:
        msg = f"easting and northing must have the same length, got {x.size} and {y.size}"
        raise ValidationError(msg)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        msg = "easting and northing must be finite BNG metres; drop unlocated events first"
        raise ValidationError(msg)
    if (
        isinstance(min_cluster_size, bool)
        or not isinstance(min_cluster_size, (int, np.integer))
        or min_cluster_size < 2
    ):
        msg = f"min_cluster_size must be an integer >= 2, got {min_cluster_size!r}"
        raise ValidationError(msg)
    if min_samples is not None and (
        isinstance(min_samples, bool) or not isinstance(min_samples, (int, np.integer)) or min_samples < 1
    ):
        msg = f"min_samples must be None or an integer >= 1, got {min_samples!r}"
        raise ValidationError(msg)
    n = x.size
    needed = max(min_cluster_size, min_samples or 0)
    if n < needed:
        logger.info("%d points is fewer than %d: no clusters", n, needed)
        labels = np.full(n, -1, dtype=np.int64)
        probs = np.zeros(n)
    else:
        model = HDBSCAN(min_cluster_size=int(min_cluster_size), min_samples=min_samples, metric="euclidean", copy=True)
        model.fit(np.column_stack([x, y]))
        labels = model.labels_.astype(np.int64)
        probs = np.asarray(model.probabilities_, dtype=np.float64)
    n_clusters = int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 0
    hulls = _hulls(x, y, labels, n_clusters)
    logger.info(
        "HDBSCAN on %s points: %s clusters, %s noise points",
        f"{n:,}",
        f"{n_clusters:,}",
        f"{int((labels == -1).sum()):,}",
    )
    return ClusterResult(
        labels=labels,
        probabilities=probs,
        n_clusters=n_clusters,
        hulls=hulls,
        min_cluster_size=int(min_cluster_size),
        min_samples=min_samples,
    )
