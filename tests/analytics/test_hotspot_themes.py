"""Gi* per theme, whole run and per period, on the whole run's units (marts.hotspot_themes)."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest
from support.hotspot_fixtures import sample_warehouse, truth, write_csv

from ctxrisk.analytics.hotspot_themes import run_theme_hotspots
from ctxrisk.analytics.hotspots import run_hotspots
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.ingest import ingest_file
from ctxrisk.pipelines.warehouse import connect

A = h3.latlng_to_cell(53.1, -2.44, 9)
B = sorted(h3.grid_ring(A, 1))[0]
HEADER = "incident_id,occurred_at,latitude,longitude,category,source"


def _at(cell: str) -> str:
    lat, lon = h3.cell_to_latlng(cell)
    return f"{lat:.6f},{lon:.6f}"


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    settings, _path = sample_warehouse(tmp_path_factory.mktemp("themes"))
    con = connect(settings=settings)
    frame = run_theme_hotspots(con, settings=settings, unit="h3:9", permutations=0)
    yield settings, con, frame
    con.close()


def test_each_planted_site_is_hot_for_its_own_themes(sample):
    _settings, con, frame = sample
    whole = frame[(frame["period"] == "all") & frame["hot"]]
    hot_for = {t: set(g["unit_id"]) for t, g in whole.groupby("theme")}
    sites = truth()["locations_of_concern"]
    found = sum(site["h3_res9"] in hot_for.get(theme, set()) for site in sites for theme in site["themes"])
    assert found >= 0.8 * sum(len(site["themes"]) for site in sites)
    # a site is not a hot spot of every theme: the Car wash (modern slavery only) is no CSE hot spot
    car_wash = next(s for s in sites if s["themes"] == ["modern_slavery"])
    assert car_wash["h3_res9"] in hot_for["modern_slavery"]
    assert car_wash["h3_res9"] not in hot_for.get("cse", set())
    # only significant cells are stored, and the mart holds what was returned
    assert (frame["bin"] != 0).all()
    assert con.execute("select count(*) from marts.hotspot_themes").fetchone()[0] == len(frame)
    # every theme's quarters besides its whole run, each its own run
    periods = set(frame.loc[frame["theme"] == "cse", "period"])
    assert "all" in periods and "2025-Q2" in periods
    runs = {r[0] for r in con.execute("select run_id from meta.hotspot_runs where analysis = 'theme'").fetchall()}
    assert set(frame["run_id"]) <= runs
    assert frame.groupby(["theme", "period"])["run_id"].nunique().eq(1).all()  # one run per theme and period


def test_a_theme_run_is_the_themed_whole_run_on_the_same_region(tmp_path, settings, con):
    # six county lines events in cell A, one in its neighbour B, and a CSE event far off in B's ring: on a
    # fixed study area the theme's Gi* is the same test as `ctxrisk hotspots --theme county_lines`
    rows = [f"I{i},2025-03-0{i + 1}T19:30:00,{_at(A)},Drug supply,police" for i in range(6)]
    rows.append(f"I6,2025-03-04T10:00:00,{_at(B)},Drug supply,police")
    rows.append(f"I7,2025-05-04T10:00:00,{_at(B)},Child sexual exploitation,police")
    far = sorted(h3.grid_ring(A, 6))[:20]  # CSE events elsewhere: the control of the case-control test
    rows += [f"C{i},2025-05-05T10:00:00,{_at(c)},Child sexual exploitation,police" for i, c in enumerate(far)]
    ingest_file(con, "incidents", write_csv(tmp_path / "incidents.csv", HEADER, rows), settings=settings)
    options = {"unit": "h3:9", "k_ring": 1, "permutations": 0, "study_area": "Cheshire East"}
    frame = run_theme_hotspots(con, settings=settings, alpha=0.5, **options)
    lines = frame[(frame["theme"] == "county_lines") & (frame["period"] == "all")].set_index("unit_id")
    alone = run_hotspots(con, settings=settings, theme="county_lines", alpha=0.5, write=False, **options)
    expected = alone.frame.set_index("unit_id")
    assert lines.loc[A, "count"] == 6 and lines.loc[A, "z"] == pytest.approx(expected.loc[A, "z"])
    assert lines.loc[A, "bin"] == expected.loc[A, "bin"] > 0
    n = len(expected)  # Ord & Getis (1995) by hand: ybar = 7 / n, s^2 = 37 / n - ybar^2, k* = 7, sum 7
    z = (7 - 7 * 7 / n) / (np.sqrt(37 / n - (7 / n) ** 2) * np.sqrt((n * 7 - 49) / (n - 1)))
    assert lines.loc[A, "z"] == pytest.approx(z)
    # the quarter holding them is its own run; the CSE event stands alone (one cell: z from its own test)
    assert set(frame.loc[frame["theme"] == "county_lines", "period"]) >= {"all", "2025-Q1"}
    assert "2025-Q2" not in set(frame.loc[frame["theme"] == "county_lines", "period"])
    # against every incident (case-control), a theme is tested as `--theme X --baseline all-incidents` is
    control = run_theme_hotspots(con, settings=settings, alpha=0.5, baseline="all-incidents", write=False, **options)
    lines = control[(control["theme"] == "county_lines") & (control["period"] == "all")].set_index("unit_id")
    alone = run_hotspots(
        con, settings=settings, theme="county_lines", alpha=0.5, baseline="all-incidents", write=False, **options
    )
    expected = alone.frame.set_index("unit_id")
    shared = lines.index.intersection(expected.index[expected["bin"] != 0])
    assert len(shared) and np.allclose(lines.loc[shared, "z"], expected.loc[shared, "z"])
    assert set(lines.index) == set(expected.index[expected["bin"] != 0])


def test_theme_runs_test_the_exact_permutation_null_of_the_themed_run(sample):
    # with the automatic permutation count a theme's run computes its permutation p-values exactly: the same
    # test as the simulated `ctxrisk hotspots --theme cse`, without the Monte-Carlo error
    settings, con, _frame = sample
    region = {"unit": "h3:9", "study_area": "Cheshire East"}  # the same units for both runs
    frame = run_theme_hotspots(con, settings=settings, write=False, **region)
    cse = frame[(frame["theme"] == "cse") & (frame["period"] == "all")].set_index("unit_id")
    alone = run_hotspots(con, settings=settings, theme="cse", write=False, **region)
    simulated = alone.frame.set_index("unit_id")
    perms = alone.parameters["permutations"]
    assert perms > 0 and alone.parameters["inference"] == "total"
    p_exact = cse["p"]
    sd = np.sqrt(p_exact * (1 - p_exact) / perms) + 1 / perms
    assert (np.abs(simulated.loc[cse.index, "p"] - p_exact) <= 5 * sd).all()
    flagged = set(simulated.index[simulated["bin"] != 0])
    assert len(flagged ^ set(cse.index)) <= 0.02 * len(flagged)  # the same cells, up to Monte-Carlo error
    sites = [s["h3_res9"] for s in truth()["locations_of_concern"] if "cse" in s["themes"]]
    found = set(sites) & set(cse.index[cse["hot"]])  # the planted CSE sites both runs find
    assert found == set(sites) & set(simulated.index[simulated["hot"]]) and len(found) >= len(sites) - 1


def test_points_are_refused(settings, con):
    with pytest.raises(ValidationError, match="areas or H3 cells"):
        run_theme_hotspots(con, settings=settings, unit="points")


def test_real_city_of_london_themes_add_up_to_the_whole_run(tmp_path):
    # data we did not make: six months of police.uk street crime for the City of London
    from support import shared_data_path

    from ctxrisk.analytics.hotspot_themes import periods_of
    from ctxrisk.analytics.hotspots import run_hotspot_periods
    from ctxrisk.pipelines.runner import ingest_one
    from ctxrisk.pipelines.settings import load_settings

    folder = shared_data_path("police_uk", "street", "city-of-london-monthly")
    settings = load_settings(None, warehouse=tmp_path / "city.duckdb")
    con = connect(settings=settings)
    for path in sorted(folder.glob("*-city-of-london-street.csv"))[:6]:
        ingest_one(con, "police-uk-street", path, settings=settings)
    whole = run_hotspots(con, settings=settings)
    unit = whole.parameters["unit"]
    periods = run_hotspot_periods(con, settings=settings, unit=unit)
    frame = run_theme_hotspots(con, settings=settings, unit=unit, periods=periods_of(periods))
    runs = con.execute("select themes, since, until, events_used from meta.hotspot_runs where analysis = 'theme'").df()
    con.close()
    assert set(frame["unit_type"]) == {unit} and (frame["bin"] != 0).all()
    # each theme's quarters add up to its whole run, and the themes' whole runs to the overall run
    totals = 0
    for _theme, group in runs.groupby("themes"):
        widest = group.assign(days=pd.to_datetime(group["until"]) - pd.to_datetime(group["since"]))
        top = widest["days"].idxmax()
        assert group.drop(index=top)["events_used"].sum() == group.loc[top, "events_used"]
        totals += int(group.loc[top, "events_used"])
    assert totals == int(whole.frame["events_used"].iloc[0])
    # police.uk violence and sexual offences are the City's commonest theme: it has hot cells of its own
    hot = frame[(frame["period"] == "all") & frame["hot"]]
    assert (hot["theme"] == "serious_violence").any()
