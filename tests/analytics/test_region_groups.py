"""Separate areas of one study region are analysed apart: Gi* within each group, one FDR over all units."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial import cKDTree
from support.hotspot_fixtures import write_csv

from ctxrisk.analytics.gistar import GiStar, auto_permutations, benjamini_hochberg
from ctxrisk.analytics.gistar_groups import GroupedGiStar, group_permutations
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
    with pytest.raises(ValidationError, match="alpha must be in"):
        GroupedGiStar(y, w, [0, 0, 0, 0, 1, 1, 1], alpha=0.0)


def test_each_group_draws_a_budget_from_its_own_units():
    # One group: the automatic count of the whole region.
    assert group_permutations(10_000, 10_000, 0.05) == auto_permutations(10_000, 0.05) == 999_999
    # A group of 2,000 of 20,000 tested units: 5 m_g / alpha, a tenth of the whole region's count.
    assert group_permutations(2_000, 20_000, 0.05, n_groups=4) == 199_999
    # A small group keeps its floor p at the BH threshold of rank 10 over all units: m / (10 alpha).
    assert group_permutations(100, 20_000, 0.05, n_groups=4) == 39_999
    assert group_permutations(100, 20_000, 0.05, n_groups=40) == 9_999  # rank 40 with 40 groups (and the floor)
    assert group_permutations(10, 100, 0.05) == 9_999
    # The counts of any split sum to at most 1.2 x the whole region's count plus the floor of each group.
    rng = np.random.default_rng(4)
    for groups in (2, 4, 10, 60):
        sizes = rng.multinomial(50_000 - 3 * groups, rng.dirichlet(np.full(groups, 0.5))) + 3
        total = sum(group_permutations(int(m), 50_000, 0.05, n_groups=groups) + 1 for m in sizes)
        assert total <= 1.2 * (auto_permutations(50_000, 0.05) + 1) + groups * 10_000


def test_grouped_gistar_gives_each_group_its_budget_and_stores_the_largest():
    y, w, groups = _two_paths()
    grouped = GroupedGiStar(y, w, groups, seed=2)
    assert grouped.group_permutations == {0: 9_999, 1: 9_999} and grouped.permutations == 9_999
    fixed = GroupedGiStar(y, w, groups, permutations=99, seed=2)
    assert fixed.group_permutations == {0: 99, 1: 99}
    normal = GroupedGiStar(y, w, groups, permutations=0)
    assert np.isnan(normal.p_sim).all() and normal.permutations == 0
    np.testing.assert_allclose(normal.q, benjamini_hochberg(normal.p_norm))


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


def _two_towns(rng: np.random.Generator, *, sites: bool) -> np.ndarray:
    """A dense town (4,000 events over 2.5 km) and a sparse one (700 over 2 km) 35 km apart, BNG metres."""
    dense, sparse = (530_000.0, 180_000.0), (565_000.0, 180_000.0)  # Kent, far from the sample's Cheshire
    parts = [_disc(rng, 4_000, 2_500.0, dense), _disc(rng, 700, 2_000.0, sparse)]
    if sites:  # 45 events within 120 m, 1.5 km from each centre
        parts += [
            _disc(rng, 45, 120.0, (dense[0] - 1_500.0, dense[1])),
            _disc(rng, 45, 120.0, (sparse[0], 1_500.0 + sparse[1])),
        ]
    return np.vstack(parts)


def _ingest(tmp_path, settings, con, xy: np.ndarray) -> None:
    lat, lon = bng_to_wgs84(xy[:, 0], xy[:, 1])
    rows = [
        f"I{i},2025-04-{1 + i % 28:02d},{a:.6f},{b:.6f},Drug supply,police"
        for i, (a, b) in enumerate(zip(lat, lon, strict=True))
    ]
    ingest_file(con, "incidents", write_csv(tmp_path / "incidents.csv", HEADER, rows), settings=settings)


def test_two_towns_of_different_density_both_sites_flagged(tmp_path, settings, con):
    _ingest(tmp_path, settings, con, _two_towns(np.random.default_rng(31), sites=True))
    result = run_hotspots(con, settings=settings, write=False)
    frame = result.frame
    assert "the 2 groups are more than" in result.parameters["study_region"]
    e, n = (np.asarray(v) for v in wgs84_to_bng(frame["latitude"].to_numpy(float), frame["longitude"].to_numpy(float)))
    for site in ((528_500.0, 180_000.0), (565_000.0, 181_500.0)):
        near = np.hypot(e - site[0], n - site[1])
        assert frame.loc[near < 200, "hot"].any()
        assert not frame.loc[(near > 600) & (np.abs(e - site[0]) < 10_000), "hot"].any()  # nothing else in the town
    assert not frame["cold"].any()


def test_two_towns_of_different_density_under_csr_flag_nothing(tmp_path, settings, con):
    _ingest(tmp_path, settings, con, _two_towns(np.random.default_rng(32), sites=False))
    result = run_hotspots(con, settings=settings, write=False)
    assert result.units.n_groups == 2 and not result.frame["hot"].any() and not result.frame["cold"].any()
    # One null over both towns calls the whole dense town hot and the sparse one cold.
    one = GiStar(result.frame["count"].to_numpy(float), result.units.w, permutations=0)
    assert one.hot.sum() > 100 and one.cold.sum() > 100


def test_exact_p_values_within_each_group_with_one_fdr():
    y, w, groups = _two_paths()
    grouped = GroupedGiStar(y, w, groups, permutations="exact")
    assert grouped.exact and grouped.permutations == 0 and grouped.group_permutations == {0: 0, 1: 0}
    for g in (0, 1):
        idx = np.flatnonzero(groups == g)
        alone = GiStar(y[idx], sp.csr_matrix(w[idx][:, idx]), permutations="exact", randomisation="total")
        np.testing.assert_allclose(grouped.p_sim[idx], alone.p_sim, rtol=1e-12)
    np.testing.assert_allclose(grouped.q, benjamini_hochberg(grouped.p_sim))
