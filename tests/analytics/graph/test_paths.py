"""Tests for ctxrisk.analytics.graph.paths: ego networks, plain and time-ordered paths, connecting networks."""

import pytest

from ctxrisk.analytics.graph.build import build_graph
from ctxrisk.analytics.graph.paths import connect, connecting_network, ego, ego_graph, paths
from ctxrisk.analytics.graph.synthetic import worked_example
from ctxrisk.pipelines.errors import ValidationError


@pytest.fixture(scope="module")
def graph():
    return build_graph(worked_example(), as_of="2025-01-01", half_life_days=1e12)


def test_ego(graph):
    df = ego(graph, "c4", hops=2)
    # direct contacts by link weight: the undated 'knows' is not decayed at all, then newest first
    assert list(df["person_id"]) == ["c4", "c1", "a1", "y1", "a2", "c2", "c3"]
    assert list(df["hops"]) == [0, 1, 1, 1, 2, 2, 2]
    assert df.set_index("person_id").loc["a1", "relations"] == "found_with"
    assert df.set_index("person_id").loc["c3", "via"] == "c1"
    assert sorted(ego_graph(graph, "u1", hops=1).nodes) == ["a2", "u1"]
    with pytest.raises(ValidationError, match="person 'nobody' is not in the graph"):
        ego(graph, "nobody")


def test_plain_shortest_paths(graph):
    df = paths(graph, "c4", "c2")
    assert list(df["persons"]) == ["c4 > a1 > c2", "c4 > y1 > c2"]
    assert df.loc[0, "links"] == "c4 -[found_with 2024-04-01]- a1 -[co_involvement 2024-03-05]- c2"
    assert list(df["min_weight"].round(2)) == [1.0, 0.56]


def test_time_ordered_path_differs_from_shortest(graph):
    # c4-a1 (1 April) then a1-c2 (5 March) goes back in time, so only the y1 route can be walked
    df = paths(graph, "c4", "c2", time_ordered=True)
    assert list(df["persons"]) == ["c4 > y1 > c2"]
    assert (df.loc[0, "start_date"], df.loc[0, "end_date"]) == ("2024-01-05", "2024-05-01")
    # in the other direction the a1 route is in time order and the y1 route is not
    back = paths(graph, "c2", "c4", time_ordered=True)
    assert list(back["persons"]) == ["c2 > a1 > c4"]
    # without the phone contact, the time-ordered path must be longer than the shortest path
    no_phone = paths(graph, "c4", "c2", time_ordered=True, relations=["found_with", "co_involvement", "knows"])
    assert list(no_phone["persons"]) == []
    plain = paths(graph, "c4", "c2", relations=["found_with", "co_involvement", "knows"])
    assert list(plain["persons"]) == ["c4 > a1 > c2"]


def test_time_ordered_longer_than_shortest():
    ex = worked_example()
    g = build_graph(ex, relations=["co_involvement", "found_with", "phone_contact", "co_offender"])
    # shortest c4-c2 is via a1 (2 links, out of time order);
    # in time order: c4-y1 (5 Jan), y1-a1 (i1, 10 Jan), a1-c2 (i2, 5 Mar)
    assert list(paths(g, "c4", "c2")["persons"]) == ["c4 > a1 > c2"]
    df = paths(g, "c4", "c2", time_ordered=True)
    assert list(df["persons"]) == ["c4 > y1 > a1 > c2"]
    assert list(df["hops"]) == [3]
    assert df.loc[0, "links"] == (
        "c4 -[phone_contact 2024-01-05]- y1 -[co_involvement 2024-01-10]- a1 -[co_involvement 2024-03-05]- c2"
    )


def test_relation_filter_and_limits(graph):
    assert list(paths(graph, "c4", "c2", relations="found_with,co_involvement")["persons"]) == ["c4 > a1 > c2"]
    assert paths(graph, "u1", "c2", max_hops=2).empty
    assert list(paths(graph, "u1", "c2", max_hops=3)["hops"]) == [3]
    with pytest.raises(ValidationError, match="same person"):
        paths(graph, "c1", "c1")


def test_connect(graph):
    df = connect(graph, ["c2", "c3", "u1"])
    assert sorted(zip(df["person_a"], df["person_b"], strict=True)) == [
        ("a1", "a2"),
        ("a1", "c2"),
        ("a2", "c3"),
        ("a2", "u1"),
    ]
    assert df.attrs["connectors"] == ["a1", "a2"]
    tree = connecting_network(graph, ["c4", "c2"])
    assert tree.number_of_edges() == 2
    g = graph.copy()
    g.add_node("alone")
    with pytest.raises(ValidationError, match=r"no chain of links joins 'c2' to \['alone'\]"):
        connect(g, ["c2", "alone"])
    with pytest.raises(ValidationError, match="at least two people"):
        connect(graph, ["c2"])
