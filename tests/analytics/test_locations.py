"""Tests for ctxrisk.analytics.locations: planted sites ranked first, score parts add up, candidates, suppression."""

from __future__ import annotations

import json

import h3
import numpy as np
import pandas as pd
import pytest
from support.hotspot_fixtures import sample_warehouse, truth

from ctxrisk.analytics.locations import PARTS, load_locations, rank_locations, run_locations, suppress, weights_of
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.settings import LocationSettings
from ctxrisk.pipelines.warehouse import connect


@pytest.fixture(scope="module")
def ranked(tmp_path_factory):
    settings, _ = sample_warehouse(tmp_path_factory.mktemp("locations"))
    con = connect(settings=settings)
    result = run_locations(con, settings=settings, unit="h3:9")  # the sample's truth is at resolution 9
    yield settings, con, result
    con.close()


def test_planted_sites_rank_first(ranked):
    _, _, result = ranked
    sites = {s["h3_res9"]: s for s in truth()["locations_of_concern"]}
    top = result.frame.head(len(sites))
    assert set(top["unit_id"]) == set(sites)
    # one row per place: no two candidates within the Gi* neighbourhood (k = 2) of each other
    cells = result.frame["unit_id"].tolist()
    assert all(h3.grid_distance(a, b) > 2 for i, a in enumerate(cells) for b in cells[i + 1 :])
    # the emerging sites rise, the diminishing one does not
    trend = result.frame.set_index("unit_id")["trend"]
    for cell, site in sites.items():
        if site["trend"] == "diminishing":
            assert trend[cell] == "decreasing"
        if site["name"].startswith(("Takeaway", "Hotel")):
            assert trend[cell] == "increasing"


def test_score_parts_add_up_and_are_shown(ranked):
    settings, con, result = ranked
    f = result.frame
    parts = [f"score_{p}" for p, _, _ in PARTS]
    assert np.allclose(f[parts].sum(axis=1), f["score"], atol=1e-5)
    assert (f["rank"] == np.arange(1, len(f) + 1)).all() and f["score"].is_monotonic_decreasing
    for p, _, attr in PARTS:  # the largest candidate gets the whole weight of each part
        assert (
            f[f"score_{p}"].max() == pytest.approx(getattr(settings.locations, attr), abs=1e-6)
            or f[f"score_{p}"].max() == 0
        )
    assert (f.loc[f["candidate_reason"] == "Gi* hot spot", "q"] < 0.05).all()
    params = json.loads(f["parameters"].iloc[0])
    assert params["weights"]["events"] == 0.25 and params["k_ring"] == 2
    stored = load_locations(con)
    assert len(stored) == len(f) and stored["profile"].iloc[0].shape == (7, 24)
    n_prof = con.execute("select count(*) from marts.location_profiles").fetchone()[0]
    assert n_prof == len(f)
    top = f.iloc[0]
    assert top["unlocated_events"] == 213 and top["profile_events"] + top["profile_excluded"] == top["count"]


def test_planted_site_hour_profiles_follow_their_pattern(ranked):
    _, _, result = ranked
    f = result.frame.set_index("unit_id")
    for s in truth()["locations_of_concern"]:
        prof = np.asarray(f.loc[s["h3_res9"], "profile"]).reshape(7, 24)
        assert prof[:, s["pattern"]["hours"]].sum() / prof.sum() > 0.6, s["name"]


def test_rank_locations_pinned():
    frame = pd.DataFrame(
        {
            "unit_id": ["a", "b", "c"],
            "z_pos": [4.0, 2.0, 0.0],
            "count": [10, 20, 5],
            "distinct_children": [0, 2, 4],
            "repeat_found_at": [0, 0, 0],
            "intelligence_graded": [1.0, 0.0, 0.5],
            "searches_of_children": [0, 0, 0],
            "trend_pos": [0.0, 0.5, 0.0],
        }
    )
    w = {
        "hotspot": 0.4,
        "events": 0.2,
        "children": 0.2,
        "repeat_found": 0.0,
        "intelligence": 0.1,
        "searches": 0.0,
        "trend": 0.1,
    }
    out = rank_locations(frame, weights=w)
    # a: 0.4 + 0.2 * 10/20 + 0.1 = 0.6; b: 0.4 * 2/4 + 0.2 + 0.2 * 2/4 + 0.1 = 0.6 (tie: by unit id);
    # c: 0.2 * 5/20 + 0.2 + 0.1 * 0.5 = 0.3
    assert out["unit_id"].tolist() == ["a", "b", "c"]
    assert out["score"].tolist() == pytest.approx([0.6, 0.6, 0.3])
    assert out.loc[1, "score_children"] == pytest.approx(0.1) and out["rank"].tolist() == [1, 2, 3]


def test_suppress_and_weights():
    a = h3.latlng_to_cell(53.1, -2.44, 9)
    near = sorted(h3.grid_ring(a, 2))[0]
    far = sorted(h3.grid_ring(a, 3))[0]
    assert suppress([a, near, far], 2) == [a, far]
    assert suppress([near, a], 1) == [near, a]
    with pytest.raises(ValidationError, match="non-negative with a positive sum"):
        weights_of(LocationSettings(weight_hotspot=-1.0))
