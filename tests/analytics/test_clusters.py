"""Tests for ctxrisk.analytics.clusters."""

import numpy as np
import pytest

from ctxrisk.analytics.clusters import point_clusters
from ctxrisk.pipelines.errors import ValidationError


def two_blobs():
    rng = np.random.default_rng(2)
    a = rng.normal(0, 20, size=(30, 2)) + [400_000, 300_000]
    b = rng.normal(0, 20, size=(25, 2)) + [402_000, 301_000]
    lone = np.array([[420_000.0, 320_000.0], [380_000.0, 280_000.0]])
    pts = np.vstack([a, b, lone])
    return pts[:, 0], pts[:, 1]


def test_two_clusters_and_noise():
    x, y = two_blobs()
    res = point_clusters(x, y, min_cluster_size=5)
    assert res.n_clusters == 2
    assert res.noise[-2:].all()
    assert len(set(res.labels[:30].tolist())) == 1 and len(set(res.labels[30:55].tolist())) == 1
    assert res.labels[0] != res.labels[30]
    hulls = res.hulls.set_index("cluster")
    assert hulls.crs.to_epsg() == 27700
    assert sorted(hulls["size"].tolist()) == sorted([int((res.labels == k).sum()) for k in range(2)])
    k0 = res.labels[0]
    assert hulls.loc[k0, "centroid_easting"] == pytest.approx(x[res.labels == k0].mean())
    assert hulls.loc[k0, "centroid_northing"] == pytest.approx(y[res.labels == k0].mean(), abs=1e-6)
    assert hulls.loc[k0, "area_m2"] > 0
    assert hulls.geometry.contains_properly(hulls.geometry.centroid).all()
    assert list(res.hulls.columns) == [
        "cluster",
        "size",
        "centroid_easting",
        "centroid_northing",
        "area_m2",
        "geometry",
    ]


def test_hull_of_square_by_hand():
    # 6 points on a 10 m square (two repeated corners), a 4-point group 5 km away, one lone point.
    x = [0, 10, 10, 0, 0, 10, 5_000, 5_003, 5_001, 5_002, 20_000]
    y = [0, 0, 10, 10, 0, 10, 5_000, 5_001, 5_003, 5_002, 1_000]
    res = point_clusters(x, y, min_cluster_size=3)
    assert res.labels.tolist() == [0] * 6 + [1] * 4 + [-1]
    assert res.hulls.loc[0, "area_m2"] == pytest.approx(100.0)
    assert res.hulls.loc[0, "size"] == 6
    assert res.hulls.loc[0, "centroid_easting"] == pytest.approx(5.0)
    assert res.hulls.loc[1, "area_m2"] == pytest.approx(4.0)  # triangle (0,0),(3,1),(1,3): (2,2) lies on its edge


def test_too_few_points_is_all_noise():
    res = point_clusters([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], min_cluster_size=5)
    assert res.n_clusters == 0
    assert res.labels.tolist() == [-1, -1, -1]
    assert len(res.hulls) == 0 and res.hulls.crs.to_epsg() == 27700


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"min_cluster_size": 1}, "min_cluster_size"), ({"min_samples": 0}, "min_samples")],
)
def test_rejects_bad_options(kwargs, match):
    with pytest.raises(ValidationError, match=match):
        point_clusters([0.0] * 6, [0.0] * 6, **kwargs)


def test_rejects_bad_coordinates():
    with pytest.raises(ValidationError, match="finite"):
        point_clusters([0.0, np.nan], [0.0, 1.0])
    with pytest.raises(ValidationError, match="same length"):
        point_clusters([0.0, 1.0], [0.0])
