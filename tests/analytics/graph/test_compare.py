"""Tests for ctxrisk.analytics.graph.compare: changes between two periods."""

from ctxrisk.analytics.graph.build import build_graph
from ctxrisk.analytics.graph.compare import compare_periods
from ctxrisk.analytics.graph.synthetic import worked_example


def test_compare_periods():
    ex = worked_example()
    before = build_graph(
        ex, until="2024-03-31", relations=["co_involvement", "found_with", "co_offender", "phone_contact"]
    )
    after = build_graph(
        ex, since="2024-04-01", relations=["co_involvement", "found_with", "co_offender", "phone_contact"]
    )
    cmp = compare_periods(before, after)
    new = {(a, b) for a, b in zip(cmp.new_links["person_a"], cmp.new_links["person_b"], strict=True)}
    assert new == {("a1", "c4"), ("a2", "c1"), ("a2", "c3"), ("c1", "c3")}
    dropped = {(a, b) for a, b in zip(cmp.dropped_links["person_a"], cmp.dropped_links["person_b"], strict=True)}
    assert dropped == {("a1", "a2"), ("a1", "c1"), ("a1", "c2"), ("a1", "y1"), ("c1", "y1"), ("c4", "y1")}
    row = cmp.new_links.set_index(["person_a", "person_b"]).loc[("a2", "c3")]
    assert (row["children"], row["new_people"]) == (1, 1)  # a2 was linked before (co-offender); c3 was not
    # before: {c1, c4, y1} and {a1, a2, c2}; after: {a2, c1, c3} and {a1, c4} - no group outgrew its origin
    assert cmp.growing_groups.empty


def test_growing_group_detected():
    ex = worked_example()
    before = build_graph(ex, until="2024-02-29")  # groups {c1, c4, y1} and {a1, a2}
    after = build_graph(ex)  # groups {a1, c2, c4, y1} and {a2, c1, c3, u1}
    grown = compare_periods(before, after).growing_groups
    assert grown.to_dict("records") == [
        {"group_id": 1, "size_after": 4, "size_before": 3, "growth": 1, "new_members": "a1;c2", "new_children": 1},
        {"group_id": 2, "size_after": 4, "size_before": 3, "growth": 1, "new_members": "a2;c3;u1", "new_children": 1},
    ]
