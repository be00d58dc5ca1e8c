"""Tests for ctxrisk.analytics.graph.centrality: hand-computed measures, networkx as reference, sampled betweenness."""

import networkx as nx
import numpy as np
import pytest

from ctxrisk.analytics.graph.centrality import betweenness, brokers, centrality, kcore
from ctxrisk.pipelines.errors import ValidationError


def _tiny() -> nx.Graph:
    """Hub h with x, y, z; x-y closes a triangle; z-w is a tail."""
    g = nx.Graph()
    g.add_edges_from([("h", "x"), ("h", "y"), ("h", "z"), ("z", "w"), ("x", "y")], weight=1.0)
    for n in g:
        g.nodes[n]["age_band"] = "child" if n in ("x", "w") else "adult"
    return g


def test_centrality_hand_computed():
    df = centrality(_tiny()).set_index("person_id")
    # h lies on (x,z) (y,z) (x,w) (y,w): 4 of (5-1)(5-2)/2 = 6 pairs; z on (w,h) (w,x) (w,y): 3 of 6
    assert df.loc["h", "betweenness"] == pytest.approx(4 / 6)
    assert df.loc["z", "betweenness"] == pytest.approx(3 / 6)
    assert df.loc["x", "betweenness"] == 0.0
    assert df["triangles"].to_dict() == {"h": 1, "z": 0, "x": 1, "y": 1, "w": 0}
    assert df["degree"].to_dict() == {"h": 3, "z": 2, "x": 2, "y": 2, "w": 1}
    assert list(df.index[:2]) == ["h", "z"]  # ranked by betweenness
    assert df.attrs["method"] == "exact"
    assert (df["betweenness_se"] == 0).all()
    assert np.linalg.norm(df["eigenvector"]) == pytest.approx(1.0)
    assert df["eigenvector"].idxmax() == "h"


def test_betweenness_agrees_with_networkx():
    g = nx.karate_club_graph()
    expected = nx.betweenness_centrality(g)
    got, _, info = betweenness(g)
    assert info["engine"] == "igraph" and info["method"] == "exact"
    assert np.allclose([expected[n] for n in g], got.to_numpy())
    # with every node as a pivot the sampled estimator is exact
    all_pivots, se, info = betweenness(g, exact_max_nodes=0, k=g.number_of_nodes())
    assert (info["method"], info["engine"]) == ("sampled", "numba")
    assert np.allclose(all_pivots.to_numpy(), got.to_numpy())
    assert np.allclose(se.to_numpy(), 0.0)


def test_sampled_betweenness_error_estimate_is_honest():
    g = nx.barabasi_albert_graph(400, 2, seed=3)
    exact, _, _ = betweenness(g)
    est, se, info = betweenness(g, exact_max_nodes=100, k=80, seed=1)
    assert info["method"] == "sampled" and info["pivots"] == 80
    err = (est - exact).abs()
    # the mean absolute error is of the order of the stated standard error (about 0.8 SE)
    assert 0.3 * se.mean() < err.mean() < 2.0 * se.mean()
    with pytest.raises(ValidationError, match="k \\(pivots"):
        betweenness(g, k=0)


def test_brokers_hand_computed():
    g = _tiny()
    df = brokers(g, [{"h", "x", "y"}, {"z", "w"}]).set_index("person_id")
    # h: links to x, y (own group) and z (other group): 1 - (2/3)^2 - (1/3)^2 = 4/9
    assert df.loc["h", "participation"] == pytest.approx(4 / 9)
    assert df.loc["h", "groups_linked"] == 1
    assert df.loc["x", "participation"] == 0.0
    # Burt: z has two unconnected contacts of equal weight: 2 x (1/2)^2
    assert df.loc["z", "constraint"] == pytest.approx(0.5)
    # x's contacts h and y know each other: (1/2 + 1/2*1/2)^2 for h (via y, who has 2 contacts)
    # + (1/2 + 1/2*1/3)^2 for y (via h, who has 3 contacts) = 9/16 + 4/9
    assert df.loc["x", "constraint"] == pytest.approx(9 / 16 + 4 / 9)
    assert df.index[0] == "h"


def test_kcore():
    df = kcore(_tiny())
    assert df.set_index("person_id")["core_number"].to_dict() == {"h": 2, "x": 2, "y": 2, "z": 1, "w": 1}
    assert df.attrs["max_core"] == 2


def test_triangles_eigenvector_and_pivots_agree_with_networkx():
    """Triangles (sparse A^3), eigenvector (eigh/eigsh) and compiled pivots against networkx."""
    g = nx.les_miserables_graph()
    frame = centrality(g).set_index("person_id")
    assert frame["triangles"].to_dict() == nx.triangles(g)
    expected = nx.eigenvector_centrality_numpy(g, weight="weight")
    assert np.allclose(frame.loc[list(g), "eigenvector"], [abs(expected[n]) for n in g], atol=1e-8)
    # a disconnected graph: the vector lives on the component with the larger eigenvalue
    two = nx.disjoint_union(nx.complete_graph(4), nx.path_graph(3))
    ev = centrality(two).set_index("person_id").loc[list(two), "eigenvector"]
    assert ev.round(6).tolist() == [0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0]
    # sampled betweenness: each pivot's share is networkx's single-source betweenness
    nodes, n, k = list(g), g.number_of_nodes(), 30
    fast, fast_se, info = betweenness(g, exact_max_nodes=0, k=k, seed=2)
    pivots = np.random.default_rng(2).choice(n, size=k, replace=False)
    shares = np.array(
        [
            [b[v] for v in nodes]
            for b in (
                nx.betweenness_centrality_subset(g, sources=[nodes[s]], targets=nodes, normalized=False) for s in pivots
            )
        ]
    )
    scale = 1.0 / ((n - 1) * (n - 2) / 2.0)
    assert info["engine"] == "numba"
    assert np.allclose(fast.to_numpy(), shares.mean(axis=0) * n * scale)
    se = n * shares.std(axis=0, ddof=1) / np.sqrt(k) * np.sqrt(1 - k / n) * scale
    assert np.allclose(fast_se.to_numpy(), se)


def _weighted_cases() -> list[nx.Graph]:
    karate = nx.karate_club_graph()
    rnd = nx.gnm_random_graph(60, 150, seed=4)
    rng = np.random.default_rng(4)
    for u, v in rnd.edges:
        rnd.edges[u, v]["weight"] = float(rng.uniform(0.1, 3.0))
    odd = nx.Graph()
    odd.add_edge("a", "b", weight=2.0)
    odd.add_edge("b", "c", weight=0.0)  # zero weight: still a neighbour
    odd.add_edge("c", "d")  # no weight attribute: counts 1
    odd.add_edge("a", "a", weight=1.5)  # self-loop
    odd.add_edge("a", "c", weight=0.5)
    odd.add_node("lonely")
    directed = nx.gnm_random_graph(40, 90, seed=7, directed=True)
    for u, v in directed.edges:
        directed.edges[u, v]["weight"] = float(rng.uniform(0.5, 2.0))
    return [karate, nx.les_miserables_graph(), rnd, odd, directed]


def test_burt_constraint_equals_networkx():
    from ctxrisk.analytics.graph.centrality import burt_constraint

    for g in _weighted_cases():
        expected = nx.constraint(g, nodes=list(g), weight="weight")  # the per-node definition
        got = burt_constraint(g)
        assert list(got.index) == list(g.nodes)
        want = np.array([expected[n] for n in g], dtype=float)
        assert np.array_equal(np.isnan(got.to_numpy()), np.isnan(want))
        assert np.allclose(got.to_numpy(), want, rtol=0, atol=1e-12, equal_nan=True)
    unweighted = nx.karate_club_graph()
    reference = nx.constraint(unweighted, nodes=list(unweighted))
    assert np.allclose(
        burt_constraint(unweighted, weight=None).to_numpy(), [reference[n] for n in unweighted], rtol=0, atol=1e-12
    )
    # h: x and y (who know each other) (1/3 + 1/3 * 1/2)^2 each, z (1/3)^2; w: one contact
    assert burt_constraint(_tiny()).to_dict() == pytest.approx(
        {"h": 11 / 18, "x": 9 / 16 + 4 / 9, "y": 9 / 16 + 4 / 9, "z": 0.5, "w": 1.0}, abs=1e-15
    )


def test_brokers_participation_equals_loop_definition():
    """Vectorised participation and groups_linked against the per-node loop (Guimerà & Amaral 2005)."""
    g = nx.karate_club_graph()
    g.add_edge(0, 0, weight=1.0)  # a self-loop counts twice in the degree, once as a neighbour
    comms = nx.community.louvain_communities(g, seed=1)
    groups = {n: i for i, c in enumerate(comms) for n in c if n not in (5, 33)}  # 5 and 33: groups of their own
    df = brokers(g, groups).set_index("person_id")
    constraint = nx.constraint(g, nodes=list(g), weight="weight")
    for n in g:
        counts: dict = {}
        for m in g.neighbors(n):
            key = groups.get(m, ("own", m))
            counts[key] = counts.get(key, 0) + 1
        deg = g.degree(n)
        own = groups.get(n, ("own", n))
        assert df.loc[n, "degree"] == deg
        assert df.loc[n, "participation"] == pytest.approx(
            1.0 - sum((c / deg) ** 2 for c in counts.values()), abs=1e-12
        )
        assert df.loc[n, "groups_linked"] == len([c for c in counts if c != own])
        assert df.loc[n, "constraint"] == pytest.approx(constraint[n], abs=1e-12)
    assert burt_constraint_is_networkx_fast_path_where_no_zero_weights(g)


def burt_constraint_is_networkx_fast_path_where_no_zero_weights(g: nx.Graph) -> bool:
    """Without zero weights or self-loop-only nodes, networkx's own matrix path gives the same numbers."""
    from ctxrisk.analytics.graph.centrality import burt_constraint

    fast = nx.constraint(g, weight="weight")
    return bool(np.allclose(burt_constraint(g).to_numpy(), [fast[n] for n in g], rtol=0, atol=1e-12))


def test_default_pivots_scale_with_graph_size():
    from ctxrisk.analytics.graph.centrality import default_pivots

    assert default_pivots(4_939, 20_003) == 500  # small graphs: the full 500
    assert default_pivots(98_874, 400_867) == 166  # 1.5e8 // (98,874 + 801,734)
    assert default_pivots(1_000_000, 5_000_000) == 100  # never below 100 ...
    assert default_pivots(10, 12) == 10  # ... nor above n
    g = nx.barabasi_albert_graph(300, 2, seed=1)
    _, _, info = betweenness(g, exact_max_nodes=100)
    assert info["method"] == "sampled" and info["pivots"] == 300  # n + 2m is small: min(500, n)


def test_degree_and_strength_count_self_loops_as_networkx_does():
    g = nx.Graph()
    g.add_edge("a", "b", weight=2.0)
    g.add_edge("b", "c", weight=0.5)
    g.add_edge("b", "b", weight=3.0)
    frame = centrality(g).set_index("person_id")
    assert frame.loc["b", "degree"] == g.degree("b") == 4
    assert frame.loc["b", "strength"] == g.degree("b", weight="weight") == 8.5
    assert frame.loc["a", "strength"] == 2.0


def test_pivot_chunks_sum_to_the_single_pass():
    from ctxrisk.analytics.graph.centrality import _brandes_chunks, _brandes_moments, adjacency_arrays

    g = nx.connected_watts_strogatz_graph(300, 6, 0.2, seed=4)
    indptr, indices, _, _ = adjacency_arrays(g, weight=None)
    pivots = np.arange(0, 300, 7, dtype=np.int64)
    one, one_sq = _brandes_moments(indptr, indices, pivots, 300)
    for chunks in (2, 3):
        many, many_sq = _brandes_chunks(indptr, indices, pivots, 300, chunks)
        np.testing.assert_allclose(many, one, rtol=1e-12)
        np.testing.assert_allclose(many_sq, one_sq, rtol=1e-12)
