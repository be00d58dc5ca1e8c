"""Separate areas of one study region are analysed apart: Gi* within each group, one FDR over all units."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial import cKDTree
from support.hotspot_fixtures import write_csv

from ctxrisk.analytics.gistar import GiStar, GroupedGiStar, benjamini_hochberg
from ctxrisk.analytics.hotspots import run_hotspots
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.geo import bng_to_wgs84, wgs84_to_bng
from ctxrisk.pipelines.ingest import ingest_file

HEADER = "incident_id,occurred_at,latitude,longitude,category,source"
BUSY = (385_000.0, 360_000.0)  # Cheshire, BNG metres
QUIET = (425_000.0, 360_000.0)  # 40 km east


def _two_paths() -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
    """Two paths of 6 units each (a busy one and a quiet one), linked end to end by one stray weight."""
    y = np.array([40.0, 90, 12, 30, 55, 70, 1, 0, 4, 2, 1, 3])
    rows = [i for i in range(12) if i not in (5, 11)]
    w = sp.lil_matrix((12, 12))
    for i in rows:
        w[i, i + 1] = w[i + 1, i] = 1
    w[5, 6] = w[6, 5] = 1  # crosses the groups: must be ignored
    return y, sp.csr_matrix(w), np.repeat([0, 1], 6)


def test_z_within_each_group_equals_esda_of_that_group_alone():
    esda = pytest.importorskip("esda")
    from libpysal.graph import Graph

    y, w, groups = _two_paths()
    grouped = GroupedGiStar(y, w, groups, permutations=0)
    assert grouped.n_groups == 2 and grouped.untested == 0
    for g in (0, 1):
        idx = np.flatnonzero(groups == g)
        sub = sp.csr_matrix(w[idx][:, idx])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = esda.G_Local(y[idx], Graph.from_sparse(sub), transform="B", star=True, permutations=0)
        np.testing.assert_allclose(grouped.z[idx], theirs.Zs, rtol=0, atol=1e-12)
    # Literal values: the quiet path's busiest star, judged against the quiet path only.
    assert grouped.z[9] == pytest.approx(3 / np.sqrt(13), abs=1e-12)
    assert grouped.n_neighbours.tolist() == [1, 2, 2, 2, 2, 1, 1, 2, 2, 2, 2, 1]  # the stray link is dropped
    whole = GiStar(y, w, permutations=0)
    assert whole.z[9] < 0 < grouped.z[9]  # on the whole region the quiet path's busiest unit looks cold


def test_one_benjamini_hochberg_correction_over_every_group():
    y, w, groups = _two_paths()
    grouped = GroupedGiStar(y, w, groups, permutations=999, seed=1, randomisation="total")
    np.testing.assert_allclose(grouped.q, benjamini_hochberg(grouped.p_sim))  # m = 12, not 6 per group
    again = GroupedGiStar(y, w, groups, permutations=999, seed=1, randomisation="total")
    np.testing.assert_array_equal(grouped.p_sim, again.p_sim)
    assert ((grouped.p_sim > 0) & (grouped.p_sim <= 1)).all()


def test_a_group_that_cannot_be_tested_is_never_flagged():
    y = np.array([5.0, 0, 9, 1, 3, 3, 3])
    w = sp.csr_matrix(np.eye(7, k=1) + np.eye(7, k=-1))
    grouped = GroupedGiStar(y, w, [0, 0, 0, 0, 1, 1, 1], permutations=99, seed=3)
    assert grouped.untested == 3 and not grouped.significant[4:].any() and (grouped.q[4:] == 1).all()
    with pytest.raises(ValidationError, match="one label per unit"):
        GroupedGiStar(y, w, [0, 1], permutations=0)


def _disc(rng: np.random.Generator, n: int, radius: float, centre: tuple[float, float]) -> np.ndarray:
    r, t = radius * np.sqrt(rng.random(n)), rng.random(n) * 2 * np.pi
    return np.column_stack([centre[0] + r * np.cos(t), centre[1] + r * np.sin(t)])


def test_the_quieter_towns_planted_site_is_flagged(tmp_path, settings, con):
    rng = np.random.default_rng(20)
    # A busy city centre (police.uk-like: 6,000 events snapped to 400 shared map points) ...
    anchors = BUSY + rng.normal(0, 700, size=(400, 2))
    busy = anchors[cKDTree(anchors).query(BUSY + rng.normal(0, 400, size=(6_000, 2)))[1]]
    # ... and a quiet town 40 km away with 600 events spread over 2 km and a site of 40 within 100 m.
    site = (QUIET[0] + 900.0, QUIET[1])
    quiet = np.vstack([_disc(rng, 600, 2_000.0, QUIET), _disc(rng, 40, 100.0, site)])
    xy = np.vstack([busy, quiet])
    lat, lon = bng_to_wgs84(xy[:, 0], xy[:, 1])
    rows = [
        f"I{i},2025-03-{1 + i % 28:02d},{a:.6f},{b:.6f},Drug supply,police"
        for i, (a, b) in enumerate(zip(lat, lon, strict=True))
    ]
    ingest_file(con, "incidents", write_csv(tmp_path / "incidents.csv", HEADER, rows), settings=settings)
    result = run_hotspots(con, settings=settings)
    frame = result.frame
    assert "the 2 groups are more than" in result.parameters["study_region"]
    assert "analysed apart" in result.region_note()
    hot_per_group = result.note().split("hot units per group, most events first: ")[1].rstrip(")").split(", ")
    assert len(hot_per_group) == 2 and all(int(v) > 0 for v in hot_per_group)
    e, n = wgs84_to_bng(frame["latitude"].to_numpy(float), frame["longitude"].to_numpy(float))
    in_quiet = np.asarray(e) > (BUSY[0] + QUIET[0]) / 2
    from_site = np.hypot(np.asarray(e) - site[0], np.asarray(n) - site[1])
    assert frame.loc[from_site < 150, "hot"].any()  # fails when one null serves both towns
    assert not frame.loc[in_quiet & (from_site > 500), "hot"].any()  # only the site and its 2-ring
    assert frame.loc[~in_quiet, "hot"].any()  # the busy centre is still found
