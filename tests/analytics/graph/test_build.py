"""Tests for ctxrisk.analytics.graph.build: projection weights, grading, decay, windows, relations, node attributes."""

import logging

import pandas as pd
import pytest

from ctxrisk.analytics.graph.build import DEFAULT_GRADING_WEIGHTS, age_band_at, build_graph, validate_relations
from ctxrisk.analytics.graph.inputs import GraphInputs
from ctxrisk.analytics.graph.synthetic import worked_example
from ctxrisk.pipelines.errors import ValidationError

NO_DECAY = 1e12


def _event(event_id, people, when="2024-01-01"):
    return pd.DataFrame(
        {
            "person_id": people,
            "event_id": event_id,
            "event_type": "incident",
            "role": "associate",
            "occurred_at": pd.Timestamp(when, tz="UTC"),
            "age_band": "adult",
        }
    )


def test_worked_example_edges_and_weights(caplog):
    caplog.set_level(logging.INFO, logger="ctxrisk.analytics.graph.build")
    g = build_graph(worked_example(), half_life_days=NO_DECAY)
    weights = {tuple(sorted((a, b))): round(d["weight"], 6) for a, b, d in g.edges(data=True)}
    assert weights == {
        ("a1", "a2"): 1.0,  # co_offender graded 1A
        ("a1", "c1"): 0.5,  # i1 had three people: 1/(3-1)
        ("a1", "c2"): 1.0,
        ("a1", "c4"): 1.0,  # m1 recorded twice (episode + involvement), counted once
        ("a1", "y1"): 0.5,
        ("a2", "c1"): 1.0,
        ("a2", "c3"): 1.0,
        ("a2", "u1"): 0.24,  # intelligence item graded 3C: 0.4 x 0.6
        ("c1", "c3"): 1.0,
        ("c1", "c4"): 1.0,  # undated 'knows'
        ("c1", "y1"): 0.5,
        ("c2", "y1"): 0.56,  # social media graded 2B: 0.7 x 0.8
        ("c4", "y1"): 1.0,
    }
    assert g.edges["a1", "c4"]["n_evidence"] == 1
    assert g.edges["c2", "y1"]["handling_conditions"] is True
    assert g.edges["a1", "a2"]["handling_conditions"] is False
    ev = g.edges["a2", "u1"]["evidence"][0]
    assert ev == {
        "relation": "intelligence_co_subject",
        "event_id": "x1",
        "date": "2024-05-20T00:00:00Z",
        "grading": "3C",
        "handling": "P",
        "weight": pytest.approx(0.24),
    }
    assert "built graph with 8 nodes (4 children) and 13 edges from 13 evidence items" in caplog.text
    assert "co-involvement: 3 incidents linked people" in caplog.text


def test_node_attributes():
    g = build_graph(worked_example(), as_of="2025-01-01")
    assert g.nodes["c1"] == {
        "age_band": "child",
        "looked_after": True,
        "risk_level": "medium",
        "screened_at": "2024-08-01T00:00:00Z",
        "is_suspect": False,
        "roles": ["victim"],
        "n_events": 1,
        "locations": ["L1"],
    }
    assert g.nodes["y1"]["age_band"] == "young_adult"
    assert g.nodes["u1"]["age_band"] == "unknown"
    assert g.nodes["a1"]["is_suspect"] is True
    assert g.nodes["a1"]["n_events"] == 3
    # screening after the window end is not used
    g2 = build_graph(worked_example(), until="2024-07-31")
    assert g2.nodes["c1"]["risk_level"] == "high"


def test_recency_decay_halves_each_half_life():
    # i2 was on 2024-03-05; as_of a year (365 days) later halves it, two years quarters it
    g = build_graph(worked_example(), as_of="2025-03-05", half_life_days=365)
    assert g.edges["a1", "c2"]["weight"] == pytest.approx(0.5)
    g = build_graph(worked_example(), as_of="2026-03-05", half_life_days=365)
    assert g.edges["a1", "c2"]["weight"] == pytest.approx(0.25)
    # undated evidence is never decayed; evidence after as_of is not inflated
    assert g.edges["c1", "c4"]["weight"] == pytest.approx(1.0)
    g = build_graph(worked_example(), as_of="2020-01-01")
    assert g.edges["a1", "c2"]["weight"] == pytest.approx(1.0)


def test_projection_weights_and_event_cap():
    inv = pd.concat([_event("big", [f"p{i}" for i in range(31)]), _event("four", ["q1", "q2", "q3", "q4"])])
    g = build_graph(GraphInputs(involvements=inv), half_life_days=NO_DECAY)
    assert g.edges["q1", "q2"]["weight"] == pytest.approx(1 / 3)
    # each person gains 1 in total from one event: 3 partners x 1/3
    assert sum(d["weight"] for _, _, d in g.edges("q1", data=True)) == pytest.approx(1.0)
    # the 31-person event is over the default cap of 30: its people are nodes without links
    assert g.degree("p0") == 0
    assert g.number_of_edges() == 6
    g = build_graph(GraphInputs(involvements=inv), half_life_days=NO_DECAY, max_event_size=31)
    assert g.edges["p0", "p1"]["weight"] == pytest.approx(1 / 30)
    assert g.number_of_edges() == 6 + 31 * 30 // 2


def test_evidence_is_summed_on_one_edge():
    ex = worked_example()
    extra = pd.DataFrame(
        {
            "person_a": ["c2"],
            "person_b": ["a1"],
            "relation": ["knows"],
            "observed_at": [pd.Timestamp("2024-03-06", tz="UTC")],
        }
    )
    ex.associations = pd.concat([ex.associations, extra.reindex(columns=ex.associations.columns)], ignore_index=True)
    g = build_graph(ex, half_life_days=NO_DECAY)
    edge = g.edges["a1", "c2"]
    assert edge["weight"] == pytest.approx(2.0)
    assert edge["relations"] == ["co_involvement", "knows"]
    assert [e["date"] for e in edge["evidence"]] == ["2024-03-05T00:00:00Z", "2024-03-06T00:00:00Z"]
    assert (edge["first_seen"], edge["last_seen"]) == ("2024-03-05T00:00:00Z", "2024-03-06T00:00:00Z")


def test_relation_filter_applies_to_all_evidence():
    g = build_graph(worked_example(), relations=["found_with"])
    assert sorted(tuple(sorted(e)) for e in g.edges) == [("a1", "c4"), ("a2", "c1"), ("c1", "c3")]
    assert all(d["relations"] == ["found_with"] for _, _, d in g.edges(data=True))
    g = build_graph(worked_example(), relations="knows,intelligence_co_subject")
    assert sorted(tuple(sorted(e)) for e in g.edges) == [("a2", "u1"), ("c1", "c4")]
    with pytest.raises(ValidationError, match=r"unknown relation\(s\) \['friend'\]"):
        build_graph(worked_example(), relations=["friend"])
    assert validate_relations(None) is None


def test_window():
    g = build_graph(worked_example(), since="2024-03-01", until="2024-06-30")
    pairs = sorted(tuple(sorted(e)) for e in g.edges)
    # i1 (January), m2 (July) and the January phone contact fall outside; the undated 'knows' stays
    assert pairs == [("a1", "c2"), ("a1", "c4"), ("a2", "c3"), ("a2", "u1"), ("c1", "c4"), ("c2", "y1")]
    assert g.graph["since"] == "2024-03-01T00:00:00Z"
    assert g.graph["until"] == "2024-06-30T23:00:00Z"  # end of 30 June, London time (BST)
    with pytest.raises(ValidationError, match="must be after since"):
        build_graph(worked_example(), since="2024-05-01", until="2024-04-01")


def test_grading_weights():
    assert DEFAULT_GRADING_WEIGHTS["1A"] == 1.0
    assert DEFAULT_GRADING_WEIGHTS["3E"] == 0.04
    assert len(DEFAULT_GRADING_WEIGHTS) == 15
    g = build_graph(worked_example(), half_life_days=NO_DECAY, grading_weights={"2b": 0.9})
    assert g.edges["c2", "y1"]["weight"] == pytest.approx(0.9)
    ex = worked_example()
    ex.associations.loc[0, "intelligence_evaluation"] = None
    ex.associations.loc[0, "source_evaluation"] = "3"
    g = build_graph(ex, half_life_days=NO_DECAY)
    assert g.edges["a1", "a2"]["weight"] == pytest.approx(0.4)  # only the source grade is held
    assert g.edges["a1", "a2"]["evidence"][0]["grading"] == "3"
    with pytest.raises(ValidationError, match="not a 3x5x2 grade"):
        build_graph(worked_example(), grading_weights={"4A": 1.0})
    ex.associations.loc[1, "intelligence_evaluation"] = "F"
    with pytest.raises(ValidationError, match="intelligence_evaluation are not one of"):
        build_graph(ex)


def test_age_band_at():
    assert age_band_at("2006-07", pd.Timestamp("2024-06-30", tz="UTC")) == "child"
    assert age_band_at("2006-07", pd.Timestamp("2024-07-01", tz="UTC")) == "young_adult"
    assert age_band_at("2000-01", pd.Timestamp("2025-01-01", tz="UTC")) == "adult"
    assert age_band_at(None, pd.Timestamp("2025-01-01", tz="UTC")) == "unknown"


def test_age_band_at_latest_event_in_window():
    inv = pd.concat([_event("e1", ["x", "y"], "2024-06-01"), _event("e2", ["x", "z"], "2024-08-01")])
    inv.loc[(inv["person_id"] == "x") & (inv["event_id"] == "e1"), "age_band"] = "child"
    inv.loc[(inv["person_id"] == "x") & (inv["event_id"] == "e2"), "age_band"] = "young_adult"
    g = build_graph(GraphInputs(involvements=inv))
    assert g.nodes["x"]["age_band"] == "young_adult"
    g = build_graph(GraphInputs(involvements=inv), until="2024-07-01")
    assert g.nodes["x"]["age_band"] == "child"


def test_bad_options():
    with pytest.raises(ValidationError, match="half_life_days must be a positive"):
        build_graph(worked_example(), half_life_days=0)
    with pytest.raises(ValidationError, match="max_event_size must be at least 2"):
        build_graph(worked_example(), max_event_size=1)
    with pytest.raises(ValidationError, match="inputs must be GraphInputs"):
        build_graph({})


def test_self_association_left_out():
    assoc = pd.DataFrame({"person_a": ["a", "a"], "person_b": ["a", "b"], "relation": ["knows", "family"]})
    g = build_graph(GraphInputs(associations=assoc))
    assert list(g.edges) == [("a", "b")]


def test_person_index_codes_sort_as_python_sorts_the_ids():
    import numpy as np

    from ctxrisk.analytics.graph.build import _PersonIndex

    index = _PersonIndex()
    first = index.add(pd.Series(["P10", "é1", None, "P2", "P10"], dtype="str"))
    second = index.add(np.array(["Z9", None, "P2", "a0", float("nan")], dtype=object))
    empty = index.add(pd.Series([], dtype="str"))
    codes = index.build()
    people = sorted({"P10", "é1", "P2", "Z9", "a0"})  # code points: digits, capitals, small letters, then é
    assert index.people.tolist() == people == ["P10", "P2", "Z9", "a0", "é1"]
    assert codes[first].tolist() == [0, 4, -1, 1, 0]
    assert codes[second].tolist() == [2, -1, 1, 3, -1]
    assert codes[empty].tolist() == []
