"""Tests for ctxrisk.analytics.graph.arrays: the graph as arrays, its networkx form both ways, windows, marts."""

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from ctxrisk.analytics.graph.arrays import from_networkx, to_networkx
from ctxrisk.analytics.graph.build import build_arrays, build_graph
from ctxrisk.analytics.graph.centrality import adjacency_arrays, centrality
from ctxrisk.analytics.graph.communities import group_summary, group_tables, groups
from ctxrisk.analytics.graph.concern import adults_of_concern, at_risk_children
from ctxrisk.analytics.graph.subset import restrict
from ctxrisk.analytics.graph.synthetic import synthetic_inputs, worked_example
from ctxrisk.pipelines.errors import ValidationError

NO_DECAY = 1e12


@pytest.fixture(scope="module")
def worked():
    arrays = build_arrays(worked_example(), as_of="2025-01-01", half_life_days=NO_DECAY)
    return arrays, to_networkx(arrays)


@pytest.fixture(scope="module")
def synthetic():
    arrays = build_arrays(synthetic_inputs(20_000, seed=7), half_life_days=200)
    return arrays, to_networkx(arrays)


def _same_graph(g1, g2):
    assert list(g1.nodes(data=True)) == list(g2.nodes(data=True))
    assert list(g1.edges(data=True)) == list(g2.edges(data=True))
    assert [(n, list(nbrs)) for n, nbrs in g1.adjacency()] == [(n, list(nbrs)) for n, nbrs in g2.adjacency()]
    assert g1.graph == g2.graph


def test_worked_example_arrays(worked):
    arrays, g = worked
    assert (arrays.n_nodes, arrays.n_edges) == (8, 13)
    assert arrays.people.tolist() == list(g.nodes)
    assert arrays.people[arrays.edge_u].tolist() == [u for u, _ in sorted((min(e), max(e)) for e in g.edges)]
    assert np.diff(arrays.evidence_ptr).tolist() == [
        g.edges[u, v]["n_evidence"]
        for u, v in zip(arrays.people[arrays.edge_u], arrays.people[arrays.edge_v], strict=True)
    ]
    a1, a2 = arrays.people.tolist().index("a1"), arrays.people.tolist().index("a2")
    j = int(np.flatnonzero((arrays.edge_u == a1) & (arrays.edge_v == a2))[0])
    assert arrays.weight[j] == pytest.approx(1.0)  # co_offender graded 1A
    assert arrays.relation_names[arrays.evidence_relation[arrays.evidence_ptr[j]]] == "co_offender"
    assert arrays.graph["as_of"] == "2025-01-01T00:00:00Z"
    roles = dict(zip(arrays.people.tolist(), arrays.lists(arrays.role_ptr, arrays.roles), strict=True))
    assert roles == {n: d["roles"] for n, d in g.nodes(data=True)}


@pytest.mark.parametrize(
    "options", [{}, {"until": "2024-07-31"}, {"relations": "knows,found_with"}, {"since": "2024-03-01"}]
)
def test_build_graph_is_to_networkx_of_build_arrays(options):
    _same_graph(build_graph(worked_example(), **options), to_networkx(build_arrays(worked_example(), **options)))


def test_adjacency_matches_networkx(synthetic):
    arrays, g = synthetic
    for x, y in zip(adjacency_arrays(g), arrays.adjacency(), strict=True):
        assert np.array_equal(np.asarray(x, dtype=object), np.asarray(y, dtype=object))


@pytest.mark.parametrize("graph", ["worked", "synthetic"])
def test_from_networkx_is_the_inverse_of_to_networkx(request, graph):
    arrays, g = request.getfixturevalue(graph)
    back = from_networkx(g)
    _same_graph(to_networkx(back), g)
    assert back.people.tolist() == arrays.people.tolist()
    assert np.array_equal(back.edge_u, arrays.edge_u) and np.array_equal(back.edge_v, arrays.edge_v)


def test_from_networkx_without_evidence():
    g = nx.Graph()
    g.add_edge("b", "a", weight=2.0)
    g.add_node("c", age_band="child")
    arrays = from_networkx(g)
    assert arrays.people.tolist() == ["b", "a", "c"] and arrays.age_band.tolist() == ["unknown"] * 2 + ["child"]
    assert arrays.people[arrays.edge_u].tolist() == ["a"] and arrays.relation_names == ["link"]
    assert arrays.weight.tolist() == [2.0] and np.diff(arrays.evidence_ptr).tolist() == [1]


@pytest.mark.parametrize(
    "options",
    [
        {"since": "2023-06-01"},
        {"until": "2023-12-31"},
        {"relations": "co_involvement,knows"},
        {"relations": "found_with"},
    ],
)
def test_restrict_equals_a_graph_built_for_the_window(options):
    inputs = synthetic_inputs(5_000, seed=3)
    full = build_arrays(inputs, half_life_days=200, as_of="2025-01-01")
    rebuilt = to_networkx(build_arrays(inputs, half_life_days=200, as_of="2025-01-01", **options))
    got = to_networkx(restrict(full, **options))

    def edges(g):
        return {tuple(sorted((u, v))): d for u, v, d in g.edges(data=True)}

    want, have = edges(rebuilt), edges(got)
    assert set(have) == set(want) and len(want) > 50
    assert [have[e].pop("weight") for e in want] == pytest.approx([want[e].pop("weight") for e in want])
    assert have == want
    with pytest.raises(ValidationError, match="must be after since"):
        restrict(full, since="2024-01-01", until="2023-01-01")


def test_at_risk_children_in_blocks(synthetic, monkeypatch):
    from ctxrisk.analytics.graph import concern

    arrays, _ = synthetic
    whole = at_risk_children(arrays)
    monkeypatch.setattr(concern, "REACH_CHUNK", 7)
    pd.testing.assert_frame_equal(at_risk_children(arrays), whole, check_exact=True)
    assert len(whole) > 0


def test_empty_graph_marts():
    from ctxrisk.analytics.graph.inputs import GraphInputs

    arrays = build_arrays(GraphInputs())
    assert arrays.n_nodes == 0
    assert adults_of_concern(arrays).empty and at_risk_children(arrays).empty
    assert centrality(arrays).empty and groups(arrays).empty
    members = pd.DataFrame({"person_id": pd.Series([], dtype=object), "group_id": pd.Series([], dtype=np.int64)})
    assert group_summary(arrays, members).empty


def test_marts_check_options(worked):
    arrays, _ = worked
    with pytest.raises(ValidationError, match="min_children must be at least 1"):
        adults_of_concern(arrays, min_children=0)
    with pytest.raises(ValidationError, match="hops must be at least 1"):
        at_risk_children(arrays, hops=0)
    with pytest.raises(ValidationError, match="1 member.* not people of the graph .first: 'zz'"):
        group_summary(arrays, pd.DataFrame({"person_id": ["a1", "zz"], "group_id": [1, 1]}))


@pytest.mark.parametrize("graph", ["worked", "synthetic"])
def test_analyses_give_the_same_frames_on_arrays_and_networkx(request, graph):
    """Every analysis runs once, on arrays: a networkx graph is converted, so the frames are the same."""
    arrays, g = request.getfixturevalue(graph)
    pd.testing.assert_frame_equal(centrality(g, exact_max_nodes=10), centrality(arrays, exact_max_nodes=10))
    members, summary = group_tables(arrays, seeds=range(3))
    pd.testing.assert_frame_equal(members, groups(g, seeds=range(3)), check_exact=True)
    pd.testing.assert_frame_equal(summary, group_summary(g, members), check_exact=True)
    assert members.attrs["seeds"] == [0, 1, 2] and len(summary) == members["group_id"].nunique()


def test_graph_marts_are_the_measures_run_one_after_another(synthetic):
    from ctxrisk.analytics.graph.communities import group_tables
    from ctxrisk.analytics.graph.marts import GRAPH_MARTS, graph_marts

    arrays, _ = synthetic
    marts = graph_marts(arrays, min_children=2, exact_max_nodes=10, seeds=range(2))
    assert tuple(marts) == GRAPH_MARTS
    members, summary = group_tables(arrays, seeds=range(2))
    expected = {
        "graph_adults_of_concern": adults_of_concern(arrays, min_children=2),
        "graph_group_members": members,
        "graph_groups": summary,
        "graph_centrality": centrality(arrays, exact_max_nodes=10),
        "graph_at_risk_children": at_risk_children(arrays),
    }
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(marts[name], frame, check_exact=True)
    assert marts["graph_group_members"].attrs == members.attrs
