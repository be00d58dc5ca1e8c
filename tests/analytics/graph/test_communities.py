"""Tests for ctxrisk.analytics.graph.communities: Leiden groups, summaries, stability."""

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from ctxrisk.analytics.graph.build import build_graph
from ctxrisk.analytics.graph.communities import adjusted_rand_index, group_summary, groups
from ctxrisk.analytics.graph.synthetic import worked_example
from ctxrisk.pipelines.errors import ValidationError


def _two_cliques() -> nx.Graph:
    g = nx.Graph()
    a, b = ["a1", "a2", "a3", "a4"], ["b1", "b2", "b3"]
    for grp in (a, b):
        g.add_edges_from(((u, v) for i, u in enumerate(grp) for v in grp[i + 1 :]), weight=1.0)
    g.add_edge("a1", "b1", weight=0.1)
    g.add_node("lone")
    for n in g:
        g.nodes[n].update(
            age_band="child" if n.endswith("2") else "adult", locations=["L9"] if n in ("b1", "b2") else []
        )
    return g


def test_groups_two_cliques():
    df = groups(_two_cliques(), seeds=range(3))
    assert df.attrs["method"] == "leiden"
    got = df.groupby("group_id")["person_id"].agg(lambda s: sorted(s)).to_dict()
    assert got == {1: ["a1", "a2", "a3", "a4"], 2: ["b1", "b2", "b3"], 3: ["lone"]}
    assert df.attrs["stability_ari"] == pytest.approx(1.0)
    b1 = df.set_index("person_id").loc["b1"]
    assert (b1["group_size"], b1["group_children"], b1["group_adults"], b1["group_shared_locations"]) == (3, 1, 2, 1)


def test_modularity_hand_computed():
    # two triangles joined by one link (all weight 1): m = 7; each triangle has 3 inner links and degree sum 7
    g = nx.Graph([("a", "b"), ("b", "c"), ("a", "c"), ("x", "y"), ("y", "z"), ("x", "z"), ("c", "x")])
    nx.set_edge_attributes(g, 1.0, "weight")
    df = groups(g, seeds=[0])
    assert df.attrs["modularity"] == pytest.approx(2 * (3 / 7 - (7 / 14) ** 2))
    assert math.isnan(df.attrs["stability_ari"])  # one seed: nothing to compare


def test_group_summary_on_worked_example():
    g = build_graph(worked_example())
    df = groups(g)
    summary = group_summary(g, df)
    assert summary["size"].sum() == 8
    assert summary["children"].sum() == 4
    assert list(summary.columns[:4]) == ["group_id", "size", "children", "adults"]


def test_bad_options():
    with pytest.raises(ValidationError, match="at least one seed"):
        groups(_two_cliques(), seeds=[])
    with pytest.raises(ValidationError, match="resolution must be > 0"):
        groups(_two_cliques(), resolution=0)


def test_adjusted_rand_index_literal_values():
    # values from the scikit-learn documentation of adjusted_rand_score
    assert adjusted_rand_index([0, 0, 1, 1], [0, 0, 1, 1]) == pytest.approx(1.0)
    assert adjusted_rand_index([0, 0, 1, 1], [1, 1, 0, 0]) == pytest.approx(1.0)
    assert adjusted_rand_index([0, 0, 1, 2], [0, 0, 1, 1]) == pytest.approx(4 / 7)
    assert adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)


def test_group_summary_internal_weight_equals_subgraph_size():
    """Vectorised internal weights against networkx subgraph sizes (self-loop counted once)."""
    g = nx.les_miserables_graph()
    g.add_edge("Valjean", "Valjean", weight=2.5)
    members = groups(g, seeds=[0])
    summary = group_summary(g, members).set_index("group_id")
    for gid, part in members.groupby("group_id"):
        assert summary.loc[gid, "internal_weight"] == pytest.approx(
            g.subgraph(part["person_id"]).size(weight="weight"), abs=1e-12
        )


def test_adjusted_rand_index_is_sparse_enough_for_many_groups():
    # 200,000 people in 50,000 groups: a dense contingency table would need 20 GB.
    rng = np.random.default_rng(1)
    a = rng.integers(0, 50_000, 200_000)
    b = a.copy()
    b[:1000] = rng.integers(0, 50_000, 1000)
    ari = adjusted_rand_index(list(a), list(b))
    assert 0.98 < ari < 1.0


def test_leiden_seeds_in_worker_processes_give_the_same_groups(monkeypatch):
    """Seeds shared with a worker process give the partitions this process finds for the same seeds."""
    from ctxrisk.analytics.graph import communities

    g = nx.connected_caveman_graph(40, 6)
    for u, v in g.edges:
        g[u][v]["weight"] = 1.0 + (u * 7 + v) % 5
    here = groups(g, seeds=range(4), processes=1)
    monkeypatch.setattr(communities, "PARALLEL_MIN_EDGES", 0)
    shared = groups(g, seeds=range(4), processes=2)
    pd.testing.assert_frame_equal(shared, here)
    assert shared.attrs == here.attrs


def test_leiden_worker_failure_falls_back_to_this_process(monkeypatch, caplog):
    from ctxrisk.analytics.graph import communities

    g = nx.connected_caveman_graph(10, 5)
    nx.set_edge_attributes(g, 1.0, "weight")
    monkeypatch.setattr(communities, "PARALLEL_MIN_EDGES", 0)
    monkeypatch.setattr(communities, "_start_worker", lambda *a, **k: None)
    with caplog.at_level("INFO", logger="ctxrisk.analytics.graph.communities"):
        frame = groups(g, seeds=range(3), processes=2)
    assert frame.attrs["modularity"] == groups(g, seeds=range(3), processes=1).attrs["modularity"]
    assert "ran 3 Leiden seeds in 2 processes" in caplog.text


def test_leiden_seeds_from_a_background_thread_all_go_to_workers(monkeypatch, caplog):
    import threading

    from ctxrisk.analytics.graph import communities

    g = nx.connected_caveman_graph(30, 5)
    nx.set_edge_attributes(g, 1.0, "weight")
    here = groups(g, seeds=range(4), processes=1)
    monkeypatch.setattr(communities, "PARALLEL_MIN_EDGES", 0)
    ran_here = []
    real = communities._leiden
    monkeypatch.setattr(communities, "_leiden", lambda h, seed, res: ran_here.append(seed) or real(h, seed, res))
    found = {}
    with caplog.at_level("INFO", logger="ctxrisk.analytics.graph.communities"):
        worker = threading.Thread(target=lambda: found.setdefault("frame", groups(g, seeds=range(4), processes=2)))
        worker.start()
        worker.join()
    pd.testing.assert_frame_equal(found["frame"], here)
    assert ran_here == []  # no Leiden run held this process's interpreter lock
    assert "ran 4 Leiden seeds in 2 processes" in caplog.text


def test_default_seeds_keep_the_leiden_work_bounded():
    from ctxrisk.analytics.graph.communities import default_seeds

    assert default_seeds(48_611) == range(10)  # 100k incidents
    assert default_seeds(150_000) == range(10)
    assert default_seeds(200_000) == range(7)
    assert default_seeds(490_533) == range(3)  # 1M incidents
    assert default_seeds(1_000_000) == range(3)
    assert default_seeds(4_912_473) == range(3)  # 10M incidents
    assert default_seeds(0) == range(10)
