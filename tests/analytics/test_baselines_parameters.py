"""Tests for ctxrisk.analytics.baselines (case-control and rate Gi*) and ctxrisk.analytics.parameters."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from ctxrisk.analytics.baselines import BaselineGi
from ctxrisk.analytics.gistar import auto_permutations
from ctxrisk.analytics.parameters import HotspotParameters
from ctxrisk.pipelines.errors import ValidationError


def _path(n: int) -> sp.csr_matrix:
    i = np.arange(n - 1)
    return sp.csr_matrix((np.ones(2 * (n - 1)), (np.r_[i, i + 1], np.r_[i + 1, i])), shape=(n, n))


def test_case_control_is_the_hypergeometric_tail_of_the_star():
    b = BaselineGi([3, 0, 0], [3, 3, 3], _path(3), kind="all-incidents")
    # unit 0: star {0, 1} holds 6 of 9 incidents and all 3 cases; P(X >= 3) = C(6,3) / C(9,3) = 20 / 84
    assert b.p[0] == pytest.approx(20 / 84) and b.expected[0] == pytest.approx(2.0)
    assert b.z[0] == pytest.approx(1 / np.sqrt(0.5))  # var = 6 (1/3) (2/3) (9 - 6) / 8 = 0.5
    assert b.p[2] == pytest.approx(1.0) and not b.hot.any()


def test_rate_baseline_is_binomial_on_population_shares():
    b = BaselineGi([8, 0, 0, 0], [100, 100, 100, 100], _path(4), kind="population", alternative="greater")
    # unit 0: star {0, 1} has half the residents and all 8 cases: P(X >= 8) = 0.5 ** 8
    assert b.p[0] == pytest.approx(0.5**8) and b.expected[0] == pytest.approx(4.0)
    with pytest.raises(ValidationError, match="cases <= incidents"):
        BaselineGi([2, 0, 0], [1, 1, 1], _path(3), kind="all-incidents")


def test_parameters_resolve_settings_once_and_refuse_bad_values(settings):
    p = HotspotParameters.from_settings(settings, theme="cse,cce", permutations=None, k_ring=3)
    assert p.unit == "auto" and p.inference == "total" and p.permutations is None and p.baseline == "none"
    assert p.themes == ("cse", "cce") and p.k_ring == 3 and p.event_types == ("incident",)
    assert HotspotParameters.from_settings(settings, permutations=0).inference == "normal"
    assert HotspotParameters.from_settings(settings, event_types="all").event_types is None
    row = p.row()
    assert row["themes"] == "cse,cce" and row["unit"] == "auto"
    with pytest.raises(ValidationError, match="baseline must be one of"):
        HotspotParameters.from_settings(settings, baseline="busy")
    with pytest.raises(ValidationError, match="unknown hot spot option"):
        HotspotParameters.from_settings(settings, colour="red")


def test_auto_permutations_let_fdr_reach_the_region():
    assert auto_permutations(100, 0.05) == 9_999  # the floor
    assert auto_permutations(6_068, 0.05) == 606_799  # ceil(5 m / alpha) - 1
    assert auto_permutations(10_000_000, 0.05) == 4_999_999  # the cap


def test_population_estimates_are_read_with_line_and_column_on_errors(tmp_path):
    from ctxrisk.analytics.population import read_population

    good = tmp_path / "pop.csv"
    good.write_text('LSOA Code,LSOA Name,All Ages\nE01000001,City 001A,"1,500"\nE01000002,City 001B,1200\n')
    pop = read_population(good)
    assert pop.to_dict() == {"E01000001": 1500.0, "E01000002": 1200.0}
    bad = tmp_path / "bad.csv"
    bad.write_text("lsoa_code,population\nE01000001,100\nE01000002,many\n")
    with pytest.raises(ValidationError, match=r"bad.csv, line 3, column 'population'"):
        read_population(bad)
    with pytest.raises(ValidationError, match="needs an LSOA code column"):
        read_population(_write(tmp_path / "x.csv", "area,people\nA,1\n"))


def _write(path, text):
    path.write_text(text)
    return path


def test_baseline_all_incidents_compares_a_source_with_every_incident(settings, con, tmp_path):
    import h3
    from support.hotspot_fixtures import write_csv

    from ctxrisk.analytics.hotspots import run_hotspots
    from ctxrisk.pipelines.ingest import ingest_file

    a = h3.latlng_to_cell(53.1, -2.44, 9)
    lat, lon = h3.cell_to_latlng(a)
    rows = [
        f"I{i},2025-03-01T12:00:00,{lat:.6f},{lon:.6f},Drug supply,{'partnership' if i < 3 else 'police'}"
        for i in range(9)
    ]
    header = "incident_id,occurred_at,latitude,longitude,category,source"
    ingest_file(con, "incidents", write_csv(tmp_path / "i.csv", header, rows), settings=settings)
    common = dict(unit="h3:9", study_area="E06000049", baseline="all-incidents", write=False)
    with pytest.raises(ValidationError, match="give --theme or --source"):
        run_hotspots(con, settings=settings, **common)
    r = run_hotspots(con, settings=settings, source="partnership", **common)
    f = r.frame.set_index("unit_id")
    assert f.loc[a, "count"] == 3 and f.loc[a, "baseline_count"] == 9  # 3 of the 9 incidents there
    # a third of the incidents everywhere: no excess anywhere
    assert not f["hot"].any() and r.parameters["inference"] == "baseline test (all-incidents)"
