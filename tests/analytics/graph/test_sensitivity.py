"""Tests for ctxrisk.analytics.graph.sensitivity: rank stability when links are dropped."""

import networkx as nx
import pandas as pd
import pytest

from ctxrisk.analytics.graph.sensitivity import rank_sensitivity
from ctxrisk.pipelines.errors import ValidationError


def _by_degree(g: nx.Graph) -> pd.DataFrame:
    ranked = sorted(((n, d) for n, d in g.degree() if d > 0), key=lambda x: (-x[1], x[0]))
    return pd.DataFrame({"person_id": [n for n, _ in ranked]})


def test_star_hub_keeps_first_rank():
    g = nx.star_graph(10)  # hub 0 and leaves 1..10: dropping 20% of links leaves the hub first
    df = rank_sensitivity(g, _by_degree, drop_share=0.2, repeats=10, seed=0)
    hub = df.iloc[0]
    assert (hub["person_id"], hub["baseline_rank"], hub["mean_rank"], hub["rank_sd"], hub["kept_share"]) == (
        0,
        1,
        1.0,
        0.0,
        1.0,
    )
    # two of ten leaves lose their only link each time: each leaf is still ranked in 8 of 10 on average
    assert df.loc[df["person_id"] != 0, "kept_share"].mean() == pytest.approx(0.8)
    assert df.attrs["repeats"] == 10


def test_same_seed_same_result_and_validation():
    g = nx.karate_club_graph()
    a = rank_sensitivity(g, _by_degree, repeats=5, seed=3)
    b = rank_sensitivity(g, _by_degree, repeats=5, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert 0 < a.attrs["mean_spearman"] <= 1
    with pytest.raises(ValidationError, match="drop_share must be between 0 and 1"):
        rank_sensitivity(g, _by_degree, drop_share=1.0)
    with pytest.raises(ValidationError, match="must return a DataFrame with a person_id column"):
        rank_sensitivity(g, lambda h: [1, 2])
