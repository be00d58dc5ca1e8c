"""Tests for ctxrisk.analytics.graph.locations: the person-location layer."""

import pytest

from ctxrisk.analytics.graph.build import build_graph
from ctxrisk.analytics.graph.locations import children_linked_through_locations, person_location_graph
from ctxrisk.analytics.graph.synthetic import worked_example
from ctxrisk.pipelines.errors import ValidationError


def test_person_location_graph_and_children_linked():
    ex = worked_example()
    plg = person_location_graph(ex, persons_graph=build_graph(ex))
    assert sorted(n for n, d in plg.nodes(data=True) if d["kind"] == "location") == [
        "location:L1",
        "location:L2",
        "location:L3",
    ]
    assert plg.edges["c1", "location:L1"] == {
        "n_links": 1,
        "first_seen": "2024-01-10T00:00:00Z",
        "last_seen": "2024-01-10T00:00:00Z",
    }
    df = children_linked_through_locations(plg)
    # only L1 holds two children (c1, c3); a2 is the adult linked there
    assert df.to_dict("records") == [
        {
            "person_id": "c1",
            "children_linked": 1,
            "linked_children": "c3",
            "shared_locations": 1,
            "location_ids": "L1",
            "adults_at_locations": 1,
        },
        {
            "person_id": "c3",
            "children_linked": 1,
            "linked_children": "c1",
            "shared_locations": 1,
            "location_ids": "L1",
            "adults_at_locations": 1,
        },
    ]
    with pytest.raises(ValidationError, match="min_children must be at least 2"):
        children_linked_through_locations(plg, min_children=1)


def test_window_and_unknown_ages():
    ex = worked_example()
    plg = person_location_graph(ex, until="2024-05-31")  # c3 and a2 were linked to L1 in June
    assert not plg.has_node("c3")
    assert plg.nodes["c1"]["age_band"] == "unknown"  # no association graph given
    assert children_linked_through_locations(plg).empty
