"""Tests for ctxrisk.analytics.hotspots and .events: planted sites found, exclusions counted, tiny values pinned."""

from __future__ import annotations

import json

import h3
import numpy as np
import pytest
from support.hotspot_fixtures import sample_warehouse, truth, write_csv

from ctxrisk.analytics.emerging import CATEGORIES
from ctxrisk.analytics.events import load_events, parse_hours, parse_period
from ctxrisk.analytics.forecast import METHODS, run_backtest
from ctxrisk.analytics.hotspots import load_hotspots, parse_unit, run_emerging, run_hotspot_periods, run_hotspots
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
    settings, path = sample_warehouse(tmp_path_factory.mktemp("hotspots"))
    con = connect(settings=settings)
    result = run_hotspots(con, settings=settings, unit="h3:9")
    yield settings, con, result
    con.close()


@pytest.fixture()
def tiny(tmp_path, settings, con):
    rows = [f"I{i},2025-03-0{i + 1}T19:30:00,{_at(A)},Drug supply,police" for i in range(5)]
    rows.append(f"I5,2025-03-04,{_at(B)},Drug supply,police")  # day precision
    rows.append(f"I6,2025-03,{_at(A)},Drug supply,police")  # month precision
    rows.append("I7,2025-03-05T10:00:00,,,Drug supply,police")  # unlocated
    ingest_file(con, "incidents", write_csv(tmp_path / "incidents.csv", HEADER, rows), settings=settings)
    return settings, con


def test_every_planted_site_is_flagged_and_few_unplanted_cells_are(sample):
    _, con, result = sample
    frame = result.frame.set_index("unit_id")
    sites = [s["h3_res9"] for s in truth()["locations_of_concern"]]
    assert len(sites) == 8
    assert (frame.loc[sites, "q"] < 0.05).all() and (frame.loc[sites, "bin"] > 0).all()
    flagged = frame.index[frame["hot"]].tolist()
    ring = {c: min(h3.grid_distance(c, s) for s in sites) for c in frame.index}
    far = [c for c in flagged if ring[c] > 2]
    unplanted = [c for c in frame.index if ring[c] > 2]
    # The sample's ten towns are separate groups, each analysed apart: a town's busy centre is flagged against
    # its own town (measured: 121 of 1,584 unplanted cells, 7.6 %, median 8 events against 1 elsewhere).
    assert len(far) / len(unplanted) < 0.1
    assert len(far) / len(flagged) < 0.5
    assert frame.loc[far, "count"].median() >= 4 * max(1, frame.loc[unplanted, "count"].median())
    # Against its own town's mean a few empty cells amid a busy town are cold (measured: 3, each with 0 events).
    assert frame["cold"].sum() <= 5 and (frame.loc[frame["cold"], "count"] == 0).all()
    assert "10 separate groups analysed apart; hot units per group" in result.note()
    stored = con.execute("select count(*), count(distinct run_id), min(unit_type) from marts.hotspots").fetchone()
    assert stored == (len(frame), 1, "h3:9")
    run = con.execute("select * from meta.hotspot_runs where run_id = ?", [result.run_id]).df().iloc[0]
    assert run["weights"] == "kring k=2" and run["inference"] == "total" and run["seed"] == 12345
    # Each town draws its own budget (group_permutations); the run stores the largest: the busiest town's
    busiest = result.gistar.gistar.group_permutations[0]
    assert (
        run["permutations"] == busiest == 5 * int((frame["n_neighbours"] > 0)[result.units.groups == 0].sum()) * 20 - 1
    )
    assert "area the events cover" in run["study_region"] and run["study_area_km2"] > 0
    assert "parameters" not in frame.columns  # one typed row per run, not JSON on every unit
    back = load_hotspots(con)
    assert back.run_id == result.run_id and back.parameters["unit"] == "h3:9" and "hot and" in back.note()


def test_the_scale_is_chosen_from_the_data_unless_set(sample):
    settings, con, _ = sample
    auto = run_hotspots(con, settings=settings, permutations=0, write=False)
    assert auto.parameters["unit_requested"] == "auto" and auto.parameters["unit"].startswith("h3:")
    assert "median nearest-neighbour distance" in auto.parameters["scale_reason"]
    assert "Unit h3:" in auto.region_note()
    fixed = run_hotspots(con, settings=settings, unit="h3:8", permutations=0, write=False)
    assert fixed.parameters["unit"] == "h3:8" and fixed.parameters["scale_reason"] == "unit set: h3:8"


def test_conditional_permutations_miss_one_ring_sites_that_total_ones_find(sample):
    settings, con, _ = sample
    sites = [s["h3_res9"] for s in truth()["locations_of_concern"]]
    old = run_hotspots(con, settings=settings, unit="h3:9", k_ring=1, inference="conditional", permutations=999)
    # the old default misses sites: 999 permutations are too coarse (2 of 8 missed with each town apart)
    assert (old.frame.set_index("unit_id").loc[sites, "q"] > 0.05).any()
    new = run_hotspots(con, settings=settings, unit="h3:9", k_ring=1, write=False)
    assert (new.frame.set_index("unit_id").loc[sites, "q"] < 0.05).all()


def test_backtest_compares_methods_at_equal_area(sample):
    settings, con, _ = sample
    run = run_backtest(con, settings=settings, unit="h3:9", train="2025-01..2025-06", test="2025-07..2025-12")
    f = run.frame.set_index("method")
    assert list(f.index) == list(METHODS) and f["n_selected"].nunique() == 1  # equal area
    assert (f["test_events"] == f["test_events"].iloc[0]).all() and f["train_events"].iloc[0] > 1000
    assert ((f["hit_rate"] > 0) & (f["hit_rate"] < 1) & (f["pei"] <= 1)).all()
    assert f["pai"].to_numpy() == pytest.approx((f["hit_rate"] / f["area_share"]).to_numpy())
    assert f.loc["locations", "captured"] >= f.loc["naive top-k", "captured"]  # where-next >= counting
    assert con.execute("select count(*) from marts.hotspot_backtest").fetchone()[0] == len(METHODS)
    assert "Best forecast at equal area" in run.verdict()


def test_per_period_hot_spots_are_stored_on_the_whole_run_region(sample):
    settings, con, result = sample
    frame = run_hotspot_periods(con, settings=settings, unit="h3:9", permutations=0)
    quarters = ["2024-Q4"] + [f"2025-Q{q}" for q in range(1, 5)] + [f"2026-Q{q}" for q in range(1, 4)]
    assert list(frame["period"].unique()) == quarters  # every calendar quarter of the sample, in order
    assert (frame.groupby("period")["unit_id"].count() == len(result.frame)).all()
    stored = con.execute("select count(distinct period), count(*) from marts.hotspot_periods").fetchone()
    assert stored == (len(quarters), len(frame))
    one = run_hotspot_periods(con, settings=settings, unit="h3:9", periods=["2025-Q2"], permutations=0, write=False)
    assert set(one["period"]) == {"2025-Q2"} and str(one["period_end"].iloc[0]) == "2025-06-30"


def test_tiny_gistar_pinned(tiny):
    settings, con = tiny
    r = run_hotspots(con, settings=settings, unit="h3:9", k_ring=1, permutations=0, study_area="Cheshire East")
    f = r.frame.set_index("unit_id")
    n = len(f)  # every cell overlapping the packaged Cheshire East outline
    assert 10_000 < n < 13_000 and "configured study area (Cheshire East)" in r.parameters["study_region"]
    assert f.loc[A, "count"] == 6 and f.loc[B, "count"] == 1 and f["count"].sum() == 6 + 1
    assert f.loc[A, "n_neighbours"] == 6
    # Ord & Getis (1995) by hand: ybar = 7 / n, s^2 = 37 / n - ybar^2, k* = 7, neighbourhood sum 7
    ybar = 7 / n
    z = (7 - ybar * 7) / (np.sqrt(37 / n - ybar**2) * np.sqrt((n * 7 - 49) / (n - 1)))
    assert f.loc[A, "z"] == pytest.approx(z)
    assert f.loc[A, "latitude"] == pytest.approx(h3.cell_to_latlng(A)[0])
    with pytest.raises(ValidationError, match="too small an area"):
        run_hotspots(con, settings=settings, unit="h3:9", k_ring=1, permutations=0, write=False)
    assert f.loc[A, "geometry_wkt"].startswith("POLYGON")
    assert json.loads(r.parameters["events_excluded"]) == {"unlocated": 1}


def test_time_of_day_leaves_out_coarse_events_and_says_so(tiny):
    settings, con = tiny
    r = run_hotspots(
        con,
        settings=settings,
        unit="h3:9",
        k_ring=1,
        permutations=0,
        hours="19-20",
        study_area="E06000049",
        write=False,
    )
    assert json.loads(r.parameters["events_excluded"]) == {
        "coarse_for_time_of_day": 2,
        "unlocated": 0,
    }  # I7 is at 10:00
    assert r.frame["count"].sum() == 5
    assert "2 no time of day (date or month only)" in r.note()


def test_weekly_emerging_leaves_out_month_precision(tiny, tmp_path):
    settings, con = tiny
    more = [f"J{i},2025-0{3 + i % 3}-1{i % 9}T12:00:00,{_at(B)},Drug supply,police" for i in range(9)]
    ingest_file(con, "incidents", write_csv(tmp_path / "more.csv", HEADER, more), settings=settings)
    run = run_emerging(
        con, settings=settings, unit="h3:9", time_bin="week", k_ring=1, permutations=0, study_area="E06000049"
    )
    assert run.selection.excluded == {"coarse_for_week": 1}
    stored = con.execute("select events_excluded from meta.hotspot_runs where run_id = ?", [run.run_id]).fetchone()
    assert json.loads(stored[0])["coarse_for_week"] == 1
    assert run.frame["count"].sum() == 6 + 9
    assert set(run.frame["category"]) <= set(CATEGORIES)
    n_bins = con.execute("select count(*) from marts.emerging_bins").fetchone()[0]
    assert n_bins % run.parameters["n_steps"] == 0 and n_bins >= 2 * run.parameters["n_steps"]
    monthly = run_emerging(
        con,
        settings=settings,
        unit="h3:9",
        time_bin="month",
        k_ring=1,
        permutations=0,
        study_area="E06000049",
        write=False,
    )
    assert monthly.selection.excluded == {} and monthly.parameters["n_steps"] == 3


def test_out_of_area_events_are_left_out_unless_asked(tiny):
    settings, con = tiny
    a, b = h3.cell_to_latlng(A)
    d = 0.01
    ring = [(b - d, a - d), (b + d, a - d), (b + d, a + d), (b - d, a + d), (b - d, a - d)]
    square = "POLYGON((" + ", ".join(f"{x} {y}" for x, y in ring) + "))"
    con.execute("insert into raw.boundaries values ('ward', 'W1', 'Ward one', null, null, ?, 'f', 1)", [square])
    con.execute(
        "insert into raw.event_areas select event_type, event_id, 'ward', 'W1' from staging.events "
        "where located and event_id <> 'I5'"
    )
    sel = load_events(con, settings=settings)
    assert sel.excluded == {"out_of_area": 1}
    assert load_events(con, settings=settings, include_out_of_area=True).excluded == {}
    r = run_hotspots(con, settings=settings, unit="h3:9", k_ring=1, permutations=0)
    assert r.frame.set_index("unit_id").loc[A, "count"] == 6
    assert "overlapping the 1 ward area(s)" in r.parameters["study_region"]
    with pytest.raises(ValidationError, match="is not a loaded boundary level"):
        run_hotspots(con, settings=settings, unit="lsoa11")


def test_points_are_hdbscan_clusters_with_hulls(settings, con, tmp_path):
    rows = []
    for k, (lat, lon) in enumerate([(53.10, -2.44), (53.20, -2.30)]):
        for i in range(12):
            rows.append(f"C{k}{i},2025-03-01T12:00:00,{lat + (i % 4) * 1e-4:.6f},{lon + (i // 4) * 1e-4:.6f},x,police")
    rows += ["N1,2025-03-01T12:00:00,53.0,-2.6,x,police", "N2,2025-03-01T12:00:00,53.3,-2.1,x,police"]
    ingest_file(con, "incidents", write_csv(tmp_path / "p.csv", HEADER, rows), settings=settings)
    r = run_hotspots(con, settings=settings, unit="points", min_cluster_size=5)
    f = r.frame
    assert sorted(f["count"]) == [12, 12] and (f["noise_events"] == 2).all()
    assert f["geometry_wkt"].str.startswith("POLYGON").all() and f["z"].isna().all()
    assert con.execute("select count(*) from marts.point_clusters").fetchone()[0] == 2


def test_parsers_and_bad_options(settings):
    assert parse_period("2025") == (parse_period("2025-01")[0], parse_period("2025-12")[1])
    assert str(parse_period("2025-01..2025-06")[1]) == "2025-07-01"
    assert parse_hours("22-3") == (22, 3) and parse_hours("7") == (7, 7)
    assert parse_unit("h3", settings=settings).label == "h3:9"
    assert parse_unit("ward", settings=settings).level == "ward"
    assert parse_unit("auto", settings=settings).kind == "auto"
    with pytest.raises(ValidationError, match="time of day must look like"):
        parse_hours("evening")
    with pytest.raises(ValidationError, match="H3 resolution must be 0-15"):
        parse_unit("h3:16", settings=settings)
    with pytest.raises(ValidationError, match="is empty"):
        parse_period("2025-06..2025-01")


def test_period_edges_leave_out_straddling_coarse_events(tiny):
    settings, con = tiny
    sel = load_events(con, settings=settings, since="2025-03-02", until="2025-03-04")
    # I1-I3 inside; I5 (whole day 4 March) inside; month-precision I6 straddles; unlocated I7 outside
    assert sorted(sel.events["event_id"]) == ["I1", "I2", "I3", "I5"]
    assert sel.excluded == {"coarse_for_period": 1}
    with pytest.raises(ValidationError, match="unknown theme"):
        load_events(con, settings=settings, themes="nonsense")


def test_events_with_a_few_columns_or_compact_text_are_the_same_rows(tiny):
    import pandas as pd

    settings, con = tiny
    full = load_events(con, settings=settings, since="2025-03-02", until="2025-03-04", hours="18-23")
    few = load_events(
        con, settings=settings, since="2025-03-02", until="2025-03-04", hours="18-23", columns=["latitude", "longitude"]
    )
    # the period and hour filters read local_time and time_precision, which are then dropped
    assert list(few.events.columns) == ["latitude", "longitude", "located", "out_of_area"]
    pd.testing.assert_frame_equal(few.events, full.events[list(few.events.columns)])
    assert few.excluded == full.excluded == {"coarse_for_period": 1, "coarse_for_time_of_day": 1}
    assert sorted(full.events["event_id"]) == ["I1", "I2", "I3"]
    compact = load_events(con, settings=settings, compact=True)
    plain = load_events(con, settings=settings)
    assert isinstance(compact.events["time_precision"].dtype, pd.CategoricalDtype)
    assert sorted(compact.events["time_precision"].cat.categories) == ["day", "minute", "month"]
    pd.testing.assert_series_equal(compact.events["time_precision"].astype("str"), plain.events["time_precision"])
    assert compact.require_precision("week").excluded == {"coarse_for_week": 1}
    with pytest.raises(ValidationError, match="unknown event column"):
        load_events(con, settings=settings, columns=["latitude", "postcode"])


def test_selections_that_drop_nothing_share_their_columns(tiny):
    settings, con = tiny
    sel = load_events(con, settings=settings, columns=["latitude"])
    assert sel.n_unlocated == 1 and len(sel.events) == 8
    kept = sel.exclude(sel.events["latitude"] > 90, "impossible")
    assert kept.excluded == {} and np.shares_memory(
        kept.events["latitude"].to_numpy(), sel.events["latitude"].to_numpy()
    )
    changed = kept.events
    changed.loc[0, "latitude"] = 0.0  # copy-on-write: the selection it came from is not changed
    assert sel.events.loc[0, "latitude"] != 0.0
    assert len(sel.located()) == 7
    dropped = sel.exclude(sel.events["latitude"] > 0, "north")
    assert dropped.excluded == {"north": 7} and dropped.n_unlocated == 1 and dropped.n_located == 0


def test_cell_layouts_are_reused_as_independent_copies():
    from ctxrisk.analytics import units as hs

    ids = np.array(sorted(h3.grid_disk(h3.latlng_to_cell(53.48, -2.24, 9), 2)), dtype=str)
    hs._CELL_LAYOUTS.clear()
    first = hs._cell_layout(ids, weights="kring", k=1, distance_m=400.0)
    first[0][0] = -1.0
    first[6].data[:] = 5.0
    second = hs._cell_layout(ids, weights="kring", k=1, distance_m=400.0)
    assert len(hs._CELL_LAYOUTS) == 1
    assert second[0][0] != -1.0 and set(second[6].data.tolist()) == {1.0}
    assert second[6].nnz == 84 and second[7] == "kring k=1"  # 19 cells of a 2-disk, 1-ring links
    hs._cell_layout(ids, weights="kring", k=2, distance_m=400.0)
    assert len(hs._CELL_LAYOUTS) == 2


def test_event_cells_are_reused_for_the_same_points_only():
    import pandas as pd

    from ctxrisk.analytics import units as hs

    events = pd.DataFrame({"latitude": [53.48, 53.49, 53.48], "longitude": [-2.24, -2.25, -2.24]})
    expected = [h3.latlng_to_cell(a, b, 9) for a, b in zip(events["latitude"], events["longitude"], strict=False)]
    first_cells, first_index = hs.event_cells(events, 9)
    assert first_cells[first_index].tolist() == expected
    first_index[:] = -1  # the caller's copy: the kept result is untouched
    cells, index = hs.event_cells(events, 9)
    assert cells[index].tolist() == expected
    backwards = events.iloc[::-1].reset_index(drop=True)
    cells, index = hs.event_cells(backwards, 9)
    assert cells[index].tolist() == expected[::-1]
    cells, index = hs.event_cells(events, 8)
    assert cells[index][0] == h3.latlng_to_cell(53.48, -2.24, 8)
