"""The association graph on the committed synthetic sample recovers what ``pipelines/sample.py`` planted.

The warehouse is built once per module from ``data_samples/`` (every kind through
``ctxrisk.pipelines.ingest.ingest_file``), then the graph is built as ``ctxrisk graph`` builds it.
"""

import json
from pathlib import Path

import pytest

from ctxrisk.analytics.graph.build import build_graph
from ctxrisk.analytics.graph.communities import adjusted_rand_index, groups
from ctxrisk.analytics.graph.concern import adults_of_concern
from ctxrisk.analytics.graph.inputs import load_graph_inputs
from ctxrisk.pipelines.ingest import ingest_file
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.warehouse import connect

SAMPLES = Path(__file__).resolve().parents[3] / "data_samples"
KINDS = ("persons", "incidents", "missing", "intelligence", "involvements", "associations", "screenings", "referrals")


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((SAMPLES / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    path = tmp_path_factory.mktemp("graph-sample") / "sample.duckdb"
    settings = load_settings(None, warehouse=path)
    con = connect(settings=settings)
    for kind in KINDS:
        ingest_file(con, kind, SAMPLES / f"{kind}.csv", settings=settings)
    inputs = load_graph_inputs(con, location_resolution=settings.hotspots.h3_resolution)
    con.close()
    return build_graph(
        inputs,
        half_life_days=settings.graph.recency_half_life_days,
        max_event_size=settings.graph.max_event_size,
    )


def test_planted_adults_are_flagged_and_few_others(graph, truth):
    """The planted adults are linked to children more than chance; the rest of the old rule's 228 are not.

    The old rule listed every adult linked to two or more children (228 people here). Tested
    against chance, the six planted adults aged 25+ are flagged, the two planted 18-24-year-olds
    are shown as young adults linked to children more than chance (never flagged), and none of
    the other 220 is.
    """
    planted = set(truth["adults_of_concern"])
    ranked = adults_of_concern(graph, min_children=2).set_index("person_id")
    assert len(ranked) == 228
    flagged = set(ranked.index[ranked["flagged"]])
    assert flagged <= planted
    assert flagged == {p for p in planted if ranked.loc[p, "age_band"] == "adult"}
    assert len(flagged) == 6
    young = ranked.loc[sorted(planted - flagged)]
    assert (young["age_band"] == "young_adult").all() and (young["q"] < 0.05).all()
    assert young["finding"].str.startswith("young adult (18-24) linked to").all()
    assert (ranked.drop(index=sorted(planted))["q"] >= 0.05).all()
    # and every planted adult is linked to children of their own network
    for net in truth["networks"]:
        for adult in net["adults"]:
            assert set(net["links"][adult]) <= set(graph.neighbors(adult))


def test_planted_peer_groups_are_recovered(graph, truth):
    """ARI between Leiden groups and planted peer groups, over the planted members only.

    The sample plants peer groups among 2,000 people; everyone else belongs to no planted group,
    so the comparison is restricted to planted members (a person's planted group vs the group
    Leiden put them in). Splitting or merging planted groups lowers the index.
    """
    found = groups(graph, seeds=range(5))
    label = dict(zip(found["person_id"], found["group_id"], strict=True))
    members = [(p, i) for i, group in enumerate(truth["peer_groups"]) for p in group]
    assert all(p in label for p, _ in members)
    ari = adjusted_rand_index([i for _, i in members], [label[p] for p, _ in members])
    assert ari >= 0.8
    # planted groups are not swallowed by one giant group either
    sizes = found.drop_duplicates("group_id").set_index("group_id")["group_size"]
    assert max(sizes[label[p]] for p, _ in members) < 50
