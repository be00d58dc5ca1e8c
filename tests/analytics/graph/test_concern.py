"""Tests for ctxrisk.analytics.graph.concern: adults linked to several children, children near suspects."""

import pytest

from ctxrisk.analytics.graph.build import build_graph
from ctxrisk.analytics.graph.concern import adults_of_concern, at_risk_children
from ctxrisk.analytics.graph.synthetic import worked_example
from ctxrisk.pipelines.errors import ValidationError


@pytest.fixture(scope="module")
def graph():
    return build_graph(worked_example(), as_of="2025-01-01", half_life_days=1e12)


def test_adults_of_concern(graph):
    df = adults_of_concern(graph)
    assert list(df["person_id"]) == ["a1", "y1", "a2"]
    assert list(df["children_linked"]) == [3, 3, 2]
    # a1: c1 (i1, 1/2) + c2 (i2, 1) + c4 (m1, 1); y1: c1 1/2 + c2 2B 0.56 + c4 1
    assert list(df["score"].round(6)) == [2.5, 2.06, 2.0]
    assert list(df["looked_after_children"]) == [2, 2, 1]
    row = df.iloc[0]
    assert row["relations"] == "co_involvement:2;found_with:1"
    assert row["last_seen"] == "2024-04-01T00:00:00Z"
    assert row["evidence_summary"] == (
        "linked to 3 children (2 looked after, 0 screened high risk) through 3 evidence items: "
        "co_involvement x2, found_with x1; latest 2024-04-01"
    )
    assert list(adults_of_concern(graph, min_children=3)["person_id"]) == ["a1", "y1"]
    with pytest.raises(ValidationError, match="min_children must be at least 1"):
        adults_of_concern(graph, min_children=0)


def test_high_risk_children_counted():
    g = build_graph(worked_example(), until="2024-07-31")  # c1's latest screening is then 'high'
    df = adults_of_concern(g).set_index("person_id")
    assert df.loc["a1", "high_risk_children"] == 1


def test_at_risk_children(graph):
    one = at_risk_children(graph, hops=1)
    assert list(one["person_id"]) == ["c1", "c2", "c4", "c3"]
    assert list(one["suspects_linked"]) == [3, 2, 2, 1]
    two = at_risk_children(graph, hops=2)
    # within two links every child reaches all three suspects; ties broken by direct suspects
    assert list(two["suspects_linked"]) == [3, 3, 3, 3]
    assert list(two["direct_suspects"]) == [3, 2, 2, 1]
    assert list(two["nearest_suspect_hops"]) == [1, 1, 1, 1]


def test_children_recorded_as_suspects_left_out(graph):
    g = graph.copy()
    g.nodes["c2"]["is_suspect"] = True
    df = at_risk_children(g, hops=1)
    assert "c2" not in set(df["person_id"])
    # c2 now counts as a suspect near y1's and a1's other contacts, but not near c3
    assert df.set_index("person_id")["suspects_linked"].to_dict() == {"c1": 3, "c4": 2, "c3": 1}
    with pytest.raises(ValidationError, match="hops must be at least 1"):
        at_risk_children(graph, hops=0)
