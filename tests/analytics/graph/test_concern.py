"""Tests for ctxrisk.analytics.graph.concern: adults linked to children more than chance, children near suspects."""

import networkx as nx
import pytest

from ctxrisk.analytics.graph.build import build_arrays, build_graph
from ctxrisk.analytics.graph.concern import ChildLinkTest, adults_of_concern, at_risk_children
from ctxrisk.analytics.graph.synthetic import worked_example
from ctxrisk.pipelines.errors import ValidationError

NO_DECAY = 1e12


@pytest.fixture(scope="module")
def graph():
    return build_graph(worked_example(), as_of="2025-01-01", half_life_days=NO_DECAY)


def test_child_link_test_literal_values():
    # pi = 5 / (12 - n): 5/9 and 1/2; p = P(Binomial(n, pi) >= x); BH over the two
    t = ChildLinkTest([3, 1], [3, 2], child_ends=5, total_ends=12)
    assert t.chance == pytest.approx([5 / 9, 0.5])
    assert t.expected == pytest.approx([5 / 3, 1.0])
    assert t.p == pytest.approx([(5 / 9) ** 3, 0.75])
    assert t.q == pytest.approx([2 * (5 / 9) ** 3, 0.75])
    assert t.significant.tolist() == [False, False]
    sure = ChildLinkTest([40, 0], [40, 40], child_ends=40, total_ends=400, alpha=0.01)
    assert sure.p[0] == pytest.approx((40 / 360) ** 40)
    assert sure.p[1] == 1.0 and sure.significant.tolist() == [True, False]
    assert ChildLinkTest([], [], child_ends=0, total_ends=0).q.size == 0


def test_child_link_test_rejects_bad_input():
    with pytest.raises(ValidationError, match="between 0 and its links"):
        ChildLinkTest([3], [2], child_ends=1, total_ends=4)
    with pytest.raises(ValidationError, match="alpha must be between 0 and 1"):
        ChildLinkTest([1], [2], child_ends=1, total_ends=4, alpha=1.5)
    with pytest.raises(ValidationError, match="child_ends"):
        ChildLinkTest([1], [2], child_ends=5, total_ends=4)


def test_adults_of_concern(graph):
    df = adults_of_concern(graph)
    # 13 evidence items, 26 ends, 12 held by children; y1: 3 of 4 links with children, pi = 12/22
    assert list(df["person_id"]) == ["y1", "a1", "a2"]
    assert list(df["children_linked"]) == [3, 3, 2]
    assert list(df["child_links"]) == [3, 3, 2]
    assert list(df["links"]) == [4, 5, 4]
    assert list(df["expected_by_chance"].round(6)) == [2.181818, 2.857143, 2.181818]
    pi = 12 / 22
    assert df["p"][0] == pytest.approx(4 * pi**3 * (1 - pi) + pi**4)
    assert list(df["p"].round(6)) == [0.38358, 0.632118, 0.752408]
    assert list(df["q"].round(6)) == [0.752408] * 3
    assert not df["flagged"].any()
    assert df["finding"][1] == "linked to 3 children (no more than chance)"
    # a1: c1 (i1, 1/2) + c2 (i2, 1) + c4 (m1, 1); y1: c1 1/2 + c2 2B 0.56 + c4 1
    assert list(df.set_index("person_id").loc[["a1", "y1", "a2"], "score"].round(6)) == [2.5, 2.06, 2.0]
    row = df.set_index("person_id").loc["a1"]
    assert row["looked_after_children"] == 2
    assert row["relations"] == "co_involvement:2;found_with:1"
    assert row["last_seen"] == "2024-04-01T00:00:00Z"
    assert row["evidence_summary"] == (
        "linked to 3 children (2 looked after, 0 screened high risk) through 3 evidence items: "
        "co_involvement x2, found_with x1; latest 2024-04-01"
    )
    assert list(adults_of_concern(graph, min_children=3)["person_id"]) == ["y1", "a1"]
    with pytest.raises(ValidationError, match="min_children must be at least 1"):
        adults_of_concern(graph, min_children=0)


def _star_graph() -> nx.Graph:
    """Adult a and young adult y each with five records with each of three children, among 20 adults in pairs."""
    g = nx.Graph()
    for p, band in [("a", "adult"), ("y", "young_adult")] + [(f"c{i}", "child") for i in range(6)]:
        g.add_node(p, age_band=band)
    records = [{"relation": "found_with", "weight": 1.0} for _ in range(5)]
    for i in range(3):
        g.add_edge("a", f"c{i}", evidence=records, weight=5.0)
        g.add_edge("y", f"c{i + 3}", evidence=records, weight=5.0)
    for i in range(0, 40, 2):
        g.add_node(f"b{i}", age_band="adult")
        g.add_node(f"b{i + 1}", age_band="adult")
        g.add_edge(f"b{i}", f"b{i + 1}")
    g.add_edge("b0", "c0")  # one adult with one record with a child: no more than chance
    return g


def test_only_adults_25_and_over_are_flagged():
    df = adults_of_concern(_star_graph(), min_children=1).set_index("person_id")
    # 51 records, 102 ends, 31 held by children: a's 15 links all with children, pi = 31/87
    assert df.loc["a", "expected_by_chance"] == pytest.approx(15 * 31 / 87)
    assert df.loc["a", "p"] == pytest.approx((31 / 87) ** 15)
    assert df.loc["a", "q"] < 0.05 and df.loc["y", "q"] < 0.05
    assert df["flagged"][df["flagged"]].index.tolist() == ["a"]
    assert df.loc["a", "finding"] == "adult linked to 3 children (more than chance)"
    assert df.loc["y", "finding"] == (
        "young adult (18-24) linked to 3 children (more than chance); may be exploited themselves"
    )
    assert df.loc["b0", "finding"] == "linked to 1 child (no more than chance)"
    assert not adults_of_concern(_star_graph(), min_children=1, alpha=1e-12)["flagged"].any()


def test_flags_for_a_window_or_relations_match_a_graph_built_for_it():
    arrays = build_arrays(worked_example(), as_of="2025-01-01", half_life_days=NO_DECAY)
    for window in ({"since": "2024-03-01"}, {"relations": "co_involvement,found_with"}):
        rebuilt = build_arrays(worked_example(), as_of="2025-01-01", half_life_days=NO_DECAY, **window)
        assert adults_of_concern(arrays, min_children=1, **window).equals(adults_of_concern(rebuilt, min_children=1))
    df = adults_of_concern(arrays, min_children=1, since="2024-03-01")
    assert df[["person_id", "child_links", "links"]].values.tolist() == [["a1", 2, 2], ["y1", 1, 1], ["a2", 2, 3]]
    assert list(df["p"].round(6)) == [0.413265, 0.6, 0.774238]


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
