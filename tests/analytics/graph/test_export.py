"""Tests for ctxrisk.analytics.graph.export: GraphML/GEXF round trips and i2 import CSVs."""

import networkx as nx
import pandas as pd
import pytest

from ctxrisk.analytics.graph.build import build_graph
from ctxrisk.analytics.graph.export import I2_ENTITY_COLUMNS, I2_LINK_COLUMNS, decode, export, serialisable
from ctxrisk.analytics.graph.synthetic import worked_example
from ctxrisk.pipelines.errors import ValidationError


@pytest.fixture(scope="module")
def graph():
    return build_graph(worked_example(), as_of="2025-01-01")


def _same(a: nx.Graph, b: nx.Graph, *, graph_attrs: bool = True) -> None:
    assert dict(a.nodes(data=True)) == dict(b.nodes(data=True))
    assert {frozenset(e) for e in a.edges} == {frozenset(e) for e in b.edges}
    for u, v, d in a.edges(data=True):
        assert b.edges[u, v] == d
    if graph_attrs:  # GraphML keeps graph attributes (and adds empty defaults); GEXF has none
        assert a.graph == {k: v for k, v in b.graph.items() if k not in ("node_default", "edge_default")}


def test_graphml_round_trip(graph, tmp_path):
    (path,) = export(graph, tmp_path / "net.graphml")
    back = nx.read_graphml(path)
    _same(serialisable(graph), back)
    # decoding restores the lists; None attributes were left out
    restored = decode(back)
    assert restored.edges["c2", "y1"]["evidence"] == graph.edges["c2", "y1"]["evidence"]
    assert restored.nodes["c1"]["roles"] == ["victim"]
    assert "looked_after" not in restored.nodes["a1"]
    assert restored.nodes["c1"]["looked_after"] is True


def test_gexf_round_trip(graph, tmp_path):
    (path,) = export(graph, tmp_path / "net.gexf", format="gexf")
    back = nx.read_gexf(path)
    _same(serialisable(graph, gexf=True), back, graph_attrs=False)
    assert decode(back).edges["a1", "c1"]["relations"] == ["co_involvement"]


def test_i2_csvs(graph, tmp_path):
    ent_path, link_path = export(graph, tmp_path / "i2", format="i2")
    assert (ent_path.name, link_path.name) == ("entities.csv", "links.csv")
    ents = pd.read_csv(ent_path, dtype=str, keep_default_na=False)
    links = pd.read_csv(link_path, dtype=str, keep_default_na=False)
    assert tuple(ents.columns) == I2_ENTITY_COLUMNS
    assert tuple(links.columns) == I2_LINK_COLUMNS
    assert len(ents) == 8 and len(links) == 13
    assert set(ents["entity_type"]) == {"Person"}
    row = links.loc[(links["from_id"] == "c2") & (links["to_id"] == "y1")].iloc[0]
    assert row["link_type"] == "social_media"
    assert row["best_grading"] == "2B"
    assert row["handling"] == "C"
    assert (row["first_date"], row["first_time"]) == ("2024-05-01", "00:00:00")
    c1 = ents.loc[ents["entity_id"] == "c1"].iloc[0]
    assert (c1["age_band"], c1["looked_after"], c1["risk_level"]) == ("child", "yes", "medium")
    # every link end is an entity
    assert set(links["from_id"]) | set(links["to_id"]) <= set(ents["entity_id"])
    files = export(graph, tmp_path / "net.csv", format="i2")
    assert [p.name for p in files] == ["net_entities.csv", "net_links.csv"]


def test_unknown_format(graph, tmp_path):
    with pytest.raises(ValidationError, match="unknown export format 'pajek'"):
        export(graph, tmp_path / "x", format="pajek")
