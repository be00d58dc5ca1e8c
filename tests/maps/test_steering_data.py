"""Tests for ctxrisk.maps.steering_data: periods, trend words, boundaries, marts to map inputs, the period selector."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date

import folium
import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from support import steering_fixtures as F

from ctxrisk.maps.selfcontained import render_self_contained
from ctxrisk.maps.steering_data import (
    SteeringInputs,
    SteeringPeriod,
    load_steering_inputs,
    period_permutations,
    read_boundaries,
    resolve_periods,
    trend_text,
)
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.warehouse import write_mart

# ----------------------------------------------------------------------------------------------- periods


def test_default_periods_are_all_then_latest_and_previous_quarter():
    specs = resolve_periods(None, first_day=date(2024, 10, 1), last_day=date(2026, 8, 15))
    assert [(s.key, s.label, s.since, s.until) for s in specs] == [
        ("all", "all periods (1 Oct 2024 to 15 Aug 2026)", None, None),
        ("latest-quarter", "2026 Q3 (1 Jul to 30 Sep 2026)", date(2026, 7, 1), date(2026, 9, 30)),
        ("previous-quarter", "2026 Q2 (1 Apr to 30 Jun 2026)", date(2026, 4, 1), date(2026, 6, 30)),
    ]


def test_previous_quarter_crosses_the_year_and_explicit_periods_parse():
    specs = resolve_periods(
        "previous-quarter, 2025Q4, 2025-01..2025-06, 2024", first_day=None, last_day=date(2026, 2, 1)
    )
    assert [(s.label, s.since, s.until) for s in specs] == [
        ("2025 Q4 (1 Oct to 31 Dec 2025)", date(2025, 10, 1), date(2025, 12, 31)),
        ("1 Jan to 30 Jun 2025", date(2025, 1, 1), date(2025, 6, 30)),
        ("2024 (1 Jan to 31 Dec 2024)", date(2024, 1, 1), date(2024, 12, 31)),
    ]  # 2025Q4 repeats previous-quarter's dates and is dropped


def test_bad_periods_are_refused():
    with pytest.raises(ValidationError, match="not a date, month or year: 'spring'"):
        resolve_periods("spring", first_day=None, last_day=None)
    with pytest.raises(ValidationError, match="needs events to find the latest quarter"):
        resolve_periods("latest-quarter", first_day=None, last_day=None)
    with pytest.raises(ValidationError, match="no period given"):
        resolve_periods(" , ", first_day=None, last_day=None)
    assert resolve_periods(["all"], first_day=None, last_day=None)[0].label == "all periods analysed"


def test_trend_words():
    assert trend_text("increasing", p=0.0031) == "rising (Mann-Kendall test of monthly counts, p = 0.003)"
    assert trend_text("decreasing", p=0.04) == "falling (Mann-Kendall test of monthly counts, p = 0.040)"
    assert trend_text("no trend", p=float("nan")) == "no clear change (Mann-Kendall test of monthly counts)"
    assert trend_text("increasing", p=0.00002) == "rising (Mann-Kendall test of monthly counts, p < 0.001)"
    assert trend_text("too few months") == "too few months"
    assert trend_text(None) == "unknown"


def test_period_permutations_let_ten_tied_units_through_fdr():
    # n / (10 alpha) = 12,827 / 0.5 = 25,654 -> 25,999 (1 / 26,000 <= 0.05 * 10 / 12,827)
    assert period_permutations({"n_units": 12_827, "alpha": 0.05}) == 25_999
    assert period_permutations({"n_units": 4_797, "alpha": 0.05}) == 9_999
    assert period_permutations({"n_units": 10_000_000, "alpha": 0.05}) == 99_999
    assert period_permutations({}) == 0


# ------------------------------------------------------------------------------------------ boundaries


def _circle_wkt(lat: float, lon: float, radius_m: float, n: int) -> str:
    from pyproj import Transformer

    to_bng = Transformer.from_crs(4326, 27700, always_xy=True)
    to_wgs = Transformer.from_crs(27700, 4326, always_xy=True)
    x, y = to_bng.transform(lon, lat)
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    xs, ys = to_wgs.transform(x + radius_m * np.cos(angles), y + radius_m * np.sin(angles))
    return shapely.Polygon(zip(xs, ys, strict=True)).wkt


def _add_boundary(con, level: str, code: str, name: str, wkt: str, imd: int | None = None) -> None:
    con.execute(
        "insert into raw.boundaries (level, code, name, imd_decile, geometry_wkt, file_id) "
        "values (?, ?, ?, ?, ?, 'f1')",
        [level, code, name, imd, wkt],
    )


def test_boundaries_are_simplified_in_metres_and_rounded(con):
    _add_boundary(con, "lsoa11", "E01000001", "Test 001A", _circle_wkt(53.1, -2.4, 500, 360), imd=3)
    full = read_boundaries(con, simplify_m=0)
    simple = read_boundaries(con, simplify_m=10)
    assert shapely.get_num_coordinates(full.geometry.values).tolist() == [361]
    kept = int(shapely.get_num_coordinates(simple.geometry.values)[0])
    # a 500 m circle within 10 m needs about pi / acos(1 - 10/500) = 16 sides
    assert 14 <= kept <= 30
    assert abs(simple.to_crs(27700).area.iloc[0] / full.to_crs(27700).area.iloc[0] - 1) < 0.05
    coords = shapely.get_coordinates(simple.geometry.values)
    assert np.allclose(coords, np.round(coords, 6), atol=1e-12, rtol=0)
    assert simple[["level", "code", "name"]].iloc[0].tolist() == ["lsoa11", "E01000001", "Test 001A"]
    assert int(simple["imd_decile"].iloc[0]) == 3
    with pytest.raises(ValidationError, match="simplify_m must be >= 0 metres"):
        read_boundaries(con, simplify_m=-1)


# -------------------------------------------------------------------------------- marts to map inputs


def _hot_mart(cells: list[str], bins: list[int], counts: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_id": cells,
            "unit_type": "h3:9",
            "count": counts,
            "z": np.linspace(3, -3, len(cells)),
            "p": 0.01,
            "q": 0.02,
            "bin": bins,
            "geometry_wkt": [F.cell_polygon(c).wkt for c in cells],
            "theme": "all",
            "run_id": "run1",
            "events_used": sum(counts),
            "parameters": json.dumps({"unit": "h3:9", "n_units": len(cells), "alpha": 0.05, "permutations": 999}),
        }
    )


def _emerging_mart(cells: list[str], categories: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_id": cells,
            "category": categories,
            "geometry_wkt": [F.cell_polygon(c).wkt for c in cells],
            "first_step": date(2024, 10, 1),
            "last_step": date(2026, 9, 1),
        }
    )


def _locations_mart(n: int) -> pd.DataFrame:
    cells = F.CELLS[:n]
    centres = [h3.cell_to_latlng(c) for c in cells]
    return pd.DataFrame(
        {
            "rank": range(1, n + 1),
            "unit_id": cells,
            "name": [f"Leeds 111A ({c})" for c in cells],
            "score": np.linspace(0.9, 0.5, n),
            "score_hotspot": 0.3,
            "score_events": 0.2,
            "themes": "cse;missing",
            "trend": "increasing",
            "trend_p": 0.01,
            "count": 12,
            "distinct_children": 4,
            "profile": [list(range(168))] * n,
            "latitude": [c[0] for c in centres],
            "longitude": [c[1] for c in centres],
        }
    )


def test_missing_hot_spot_marts_say_to_run_hotspots_first(con, settings):
    with pytest.raises(ValidationError, match=r"no marts.hotspots: run `ctxrisk hotspots` first"):
        load_steering_inputs(con, settings=settings)
    write_mart(con, "hotspots", _hot_mart(F.CELLS[:3], [3, 0, 1], [9, 1, 6]))
    # no emerging hot spots (one month of police.uk data can never have them): the map is made, and says so
    inputs = load_steering_inputs(con, settings=settings, period="all")
    assert len(inputs.emerging) == 0
    assert "No emerging hot spots: they were not computed (they need at least 3 months of events)." in inputs.notes


def test_marts_become_map_inputs(con, settings):
    write_mart(con, "hotspots", _hot_mart(F.CELLS, [3, 0, 2, -1, 0] + [0] * 14, [9, 1, 6, 0, 2] + [0] * 14))
    write_mart(
        con,
        "emerging_hotspots",
        _emerging_mart(F.CELLS[:3], ["new hot spot", "no pattern detected", "sporadic hot spot"]),
    )
    write_mart(con, "locations_of_concern", _locations_mart(4))
    settings = replace(settings, locations=replace(settings.locations, top=3))
    inputs = load_steering_inputs(con, settings=settings, period="all")
    # no boundary loaded: the base is the outline of the 19 cells analysed
    assert inputs.boundaries[["level", "code", "name"]].iloc[0].tolist() == [
        "study area",
        "h3:9",
        "Area analysed (19 H3 cells)",
    ]
    assert len(inputs.boundaries) == 1
    assert inputs.boundaries.geometry.iloc[0].contains(F.cell_polygon(F.CELLS[5]).centroid)
    assert [p.spec.label for p in inputs.periods] == ["all periods analysed"]
    assert inputs.hotspots["unit_id"].tolist() == [F.CELLS[0], F.CELLS[2], F.CELLS[3]]  # significant only
    assert inputs.emerging["category"].tolist() == ["new hot spot", "sporadic hot spot"]
    locs = inputs.locations
    assert locs["rank"].tolist() == [1, 2, 3]
    assert locs["trend"].iloc[0] == "rising (Mann-Kendall test of monthly counts, p = 0.010)"
    assert locs["profile"].iloc[0].shape == (7, 24) and locs["profile"].iloc[0][1, 0] == 24
    # the counts behind the score parts come along only to decide which parts may be named (at 5 or more)
    assert locs["distinct_children"].tolist() == [4, 4, 4]
    assert inputs.notes == [
        "No area boundaries are loaded: the outline shows the area analysed.",
        "Emerging hot spots: Oct 2024 to Sep 2026.",
    ]


def test_places_missing_is_noted_and_out_of_area_cells_left_out(con, settings):
    inside, outside = F.CELLS[0], h3.latlng_to_cell(53.9, -1.2, 9)
    write_mart(con, "hotspots", _hot_mart([inside, outside], [3, 3], [9, 8]))
    write_mart(con, "emerging_hotspots", _emerging_mart([inside, outside], ["new hot spot", "new hot spot"]))
    box = shapely.box(-1.556, 53.790, -1.540, 53.804)
    _add_boundary(con, "ward", "E05001001", "City and Hunslet", box.wkt)
    inputs = load_steering_inputs(con, settings=settings, period="all")
    assert inputs.hotspots["unit_id"].tolist() == [inside]
    assert inputs.emerging["unit_id"].tolist() == [inside]
    assert len(inputs.locations) == 0
    assert inputs.notes == [
        "Places of concern have not been ranked for this edition.",
        "Emerging hot spots: Oct 2024 to Sep 2026.",
        "2 cells outside the partnership's boundaries are not drawn.",
    ]
    both = load_steering_inputs(con, settings=settings, period="all", include_out_of_area=True)
    assert sorted(both.hotspots["unit_id"]) == sorted([inside, outside])


# ------------------------------------------------------------------------------------ period selector


def _inputs(periods: list[tuple[str, object]]) -> SteeringInputs:
    from ctxrisk.maps.steering_data import PeriodSpec

    return SteeringInputs(
        boundaries=F.boundaries(),
        periods=[SteeringPeriod(PeriodSpec(label, label, None, None), frame, 10, "r") for label, frame in periods],
        emerging=F.emerging(),
        locations=F.locations().drop(columns="debug_info"),
        notes=["The period selector switches the Gi* hot spots."],
    )


def test_period_selector_is_one_base_layer_per_period_first_shown():
    hot = F.hotspots().drop(columns="debug_info")
    later = hot.assign(bin=[3 if i == 4 else 0 for i in range(len(hot))])
    fmap = _inputs([("2026 Q3", later), ("2026 Q2", hot)]).build_map(settings=F.settings())
    groups = [c for c in fmap._children.values() if isinstance(c, folium.FeatureGroup)]
    base = [(g.layer_name, g.show) for g in groups if not g.overlay]
    assert base == [("Hot spots: 2026 Q3", True), ("Hot spots: 2026 Q2", False)]
    cells = {
        g.layer_name: len(next(c for c in g._children.values() if isinstance(c, folium.GeoJson)).data["features"])
        for g in groups
        if not g.overlay
    }
    assert cells == {"Hot spots: 2026 Q3": 1, "Hot spots: 2026 Q2": 6}  # one outline per non-zero bin
    assert "Hot spots (Gi*)" not in [g.layer_name for g in groups]
    html = render_self_contained(fmap)
    assert "The period selector switches the Gi* hot spots." in html
    assert "content: 'Period'" in html
    assert '"bbox"' not in html  # no per-feature bounding boxes: size, and no (lat, lon)-looking pairs


def test_period_with_no_significant_cell_still_gets_its_selector_entry():
    hot = F.hotspots().drop(columns="debug_info")
    fmap = _inputs([("2026 Q3", hot.assign(bin=0)), ("all", hot)]).build_map(settings=F.settings())
    base = [g.layer_name for g in fmap._children.values() if isinstance(g, folium.FeatureGroup) and not g.overlay]
    assert base == ["Hot spots: 2026 Q3", "Hot spots: all"]
    render_self_contained(fmap)


def test_period_labels_must_differ():
    hot = F.hotspots().drop(columns="debug_info")
    with pytest.raises(ValidationError, match="period labels must differ"):
        _inputs([("Q3", hot), ("Q3", hot)]).build_map(settings=F.settings())


def test_a_place_under_two_themes_has_one_badge_and_one_popup_text():
    fmap = _inputs([("all", F.hotspots().drop(columns="debug_info"))]).build_map(settings=F.settings())
    html = render_self_contained(fmap)
    assert html.count("Ranked 1 of 3 places of concern.") == 1  # rank 1 is under cse and county_lines
    assert html.count("Place 1: Leeds 111A. Themes: Child sexual exploitation, County lines.") == 1
    assert len(re.findall(r'\.bindPopup\(ctxrisk_popups_[0-9a-f]+\["\d+"\], \{maxWidth: 290\}\)', html)) == 3


@pytest.mark.browser
def test_switching_on_deprivation_keeps_hot_spot_cells_on_top(tmp_path):
    from support.browser import open_page, require_chromium

    from ctxrisk.maps.selfcontained import write_html

    require_chromium()
    hot = F.hotspots().drop(columns="debug_info")
    path = tmp_path / "layers.html"
    write_html(render_self_contained(_inputs([("all", hot)]).build_map(settings=F.settings())), path)
    page = open_page(path).page

    def last_fill() -> str:  # the fill of the path drawn last, i.e. on top
        return page.evaluate(
            "() => { const p = [...document.querySelectorAll('path.leaflet-interactive')]; "
            "return p[p.length - 1].getAttribute('fill'); }"
        )

    hot_fills = {"#b2182b", "#ef8a62", "#fddbc7", "#d1e5f0", "#67a9cf", "#2166ac"}
    assert last_fill() in hot_fills
    page.locator(".leaflet-control-layers-overlays label", has_text="Deprivation").locator("input").check()
    assert last_fill() in hot_fills
    page.locator(".leaflet-control-layers-overlays label", has_text="Boundaries: lsoa").locator("input").uncheck()
    page.locator(".leaflet-control-layers-overlays label", has_text="Boundaries: lsoa").locator("input").check()
    assert last_fill() in hot_fills


def test_vertices_on_event_positions_move_off_them(con):
    from ctxrisk.maps.steering import full_precision
    from ctxrisk.maps.steering_data import clear_of_event_positions

    cell = F.CELLS[0]
    poly = full_precision([F.cell_polygon(cell)])[0]
    lon, lat = shapely.get_coordinates(poly)[0]
    # an event 0.05 m from the first vertex, another far away
    con.execute("create table raw.fake_events (latitude double, longitude double)")
    con.execute("insert into raw.fake_events values (?, ?), (53.9, -1.2)", [lat + 4e-7, lon - 3e-7])
    layer = gpd.GeoDataFrame({"unit_id": [cell]}, geometry=[poly], crs=4326)
    twin = gpd.GeoDataFrame({"unit_id": ["copy"]}, geometry=[poly], crs=4326)
    (out, out_twin), moved = clear_of_event_positions(con, [layer, twin])
    assert moved == 1
    new = shapely.get_coordinates(out.geometry.values)
    old = shapely.get_coordinates(layer.geometry.values)
    changed = np.flatnonzero((new != old).any(axis=1))
    assert changed.tolist() == [0, len(old) - 1]  # the ring's first (= last) vertex only
    assert round((new[0, 1] - old[0, 1]) * 1e6) in (2, 3) and new[0, 0] == old[0, 0]
    assert np.array_equal(new, shapely.get_coordinates(out_twin.geometry.values))  # shared vertices move together
    assert clear_of_event_positions(con, [out])[1] == 0


def test_secondary_suppression_withholds_a_whole_run_count_that_gives_away_a_small_one():
    from ctxrisk.maps.steering_data import PeriodSpec, secondary_suppression

    def period(key, since, until, counts):
        cells = list(counts)
        frame = gpd.GeoDataFrame(
            {"unit_id": cells, "count": list(counts.values()), "bin": 3},
            geometry=[F.cell_polygon(F.CELLS[i]) for i in range(len(cells))],
            crs=4326,
        )
        return SteeringPeriod(PeriodSpec(key, key, since, until), frame, 10, "r")

    whole = period("all", None, None, {"a": 7, "b": 12, "c": 3})
    q2 = period("2026-Q2", date(2026, 4, 1), date(2026, 6, 30), {"a": 2, "b": 6})
    q3 = period("2026-Q3", date(2026, 7, 1), date(2026, 9, 30), {"a": 5, "b": 6, "c": 3})
    out = secondary_suppression([whole, q3, q2], threshold=5, first_day=date(2026, 4, 3), last_day=date(2026, 9, 28))
    # a: 7 - 5 gives away Q2's 2; b: nothing suppressed; c: not drawn in Q2, so Q2's count is not known
    assert out[0].hotspots["withheld"].tolist() == [True, False, False]
    assert out[1] is q3 and out[2] is q2
    # the periods do not cover the whole run: nothing can be worked out
    untiled = secondary_suppression(
        [whole, q3, q2], threshold=5, first_day=date(2026, 1, 1), last_day=date(2026, 9, 28)
    )
    assert "withheld" not in untiled[0].hotspots.columns
    props = _inputs([("all", out[0].hotspots.assign(z=1.0, p=0.01, q=0.01))]).build_map(settings=F.settings())
    groups = [c for c in props._children.values() if isinstance(c, folium.FeatureGroup) and not c.overlay]
    (geojson,) = [c for c in groups[0]._children.values() if isinstance(c, folium.GeoJson)]
    # the map draws the three cells as one outline of their class, with no count to give away or withhold
    assert [f["properties"] for f in geojson.data["features"]] == [
        {"label": "Hot spot, 99% confidence", "fill": "#b2182b"}
    ]


# ------------------------------------------------------------------ per-theme hot spots, places per period


def _period_rows(period: str, start: date, end: date, counts: list[int]) -> pd.DataFrame:
    cells = F.CELLS[: len(counts)]
    return _hot_mart(cells, [0] * len(cells), counts).assign(
        period=period, period_start=start, period_end=end, run_id=f"run-{period}"
    )


def _theme_rows(rows: list[tuple[str, str, int, int, str]]) -> pd.DataFrame:
    """(theme, period, cell index, bin, unit type) -> marts.hotspot_themes rows."""
    starts = {"all": (date(2026, 4, 1), date(2026, 9, 30)), "2026-Q2": (date(2026, 4, 1), date(2026, 6, 30))}
    starts["2026-Q3"] = (date(2026, 7, 1), date(2026, 9, 30))
    return pd.DataFrame(
        {
            "theme": [r[0] for r in rows],
            "period": [r[1] for r in rows],
            "period_start": [starts[r[1]][0] for r in rows],
            "period_end": [starts[r[1]][1] for r in rows],
            "unit_id": [F.CELLS[r[2]] for r in rows],
            "unit_type": [r[4] for r in rows],
            "count": 3,
            "z": 2.5,
            "bin": [r[3] for r in rows],
            "geometry_wkt": [F.cell_polygon(F.CELLS[r[2]]).wkt for r in rows],
        }
    )


def test_theme_hot_spots_and_places_counts_per_period_are_read_from_the_marts(con, settings):
    write_mart(con, "hotspots", _hot_mart(F.CELLS, [3, 0, 2, -1, 0] + [0] * 14, [9, 1, 6, 0, 2] + [0] * 14))
    write_mart(con, "emerging_hotspots", _emerging_mart(F.CELLS[:1], ["new hot spot"]))
    write_mart(con, "locations_of_concern", _locations_mart(3))
    q2 = _period_rows("2026-Q2", date(2026, 4, 1), date(2026, 6, 30), [7, 2])  # the third place: no row, 0
    q3 = _period_rows("2026-Q3", date(2026, 7, 1), date(2026, 9, 30), [2, 0, 6])
    write_mart(con, "hotspot_periods", pd.concat([q2, q3], ignore_index=True))
    themes = [
        ("cse", "all", 0, 2, "h3:9"),
        ("cse", "2026-Q2", 1, 2, "h3:9"),
        ("cse", "2026-Q2", 2, 0, "h3:9"),  # not significant: not drawn
        ("county_lines", "2026-Q3", 3, -1, "h3:9"),
        ("county_lines", "2026-Q3", 4, 3, "h3:8"),  # another unit (an older run): not drawn
    ]
    write_mart(con, "hotspot_themes", _theme_rows(themes))
    inputs = load_steering_inputs(con, settings=settings, period="all,2026-Q2,2026-Q3")
    labels = [p.spec.label for p in inputs.periods]
    read = [(label, theme, cells["unit_id"].tolist()) for label, theme, cells in inputs.theme_hotspots]
    assert read == [
        (labels[0], "cse", [F.CELLS[0]]),
        (labels[1], "cse", [F.CELLS[1]]),
        (labels[2], "county_lines", [F.CELLS[3]]),
    ]
    assert "count" not in inputs.theme_hotspots[0][2].columns  # a theme's count never reaches the map
    cells = F.CELLS[:3]
    assert inputs.place_counts == {
        labels[1]: {cells[0]: 7, cells[1]: 2, cells[2]: 0},
        labels[2]: {cells[0]: 2, cells[1]: 0, cells[2]: 6},
    }
    assert "renumbers the places of concern" in " ".join(inputs.notes)
    html = render_self_contained(inputs.build_map(settings=F.settings()))
    assert "Unticking a theme shows each ticked theme" in html


def test_a_places_whole_run_count_is_withheld_when_tiled_periods_give_a_small_one_away():
    from ctxrisk.maps.steering_data import PeriodSpec
    from ctxrisk.maps.steering_period_data import withheld_places

    def period(key, since, until):
        return SteeringPeriod(PeriodSpec(key, key, since, until), F.hotspots().iloc[0:0], 0, "r")

    periods = [
        period("all", None, None),
        period("Q2", date(2026, 4, 1), date(2026, 6, 30)),
        period("Q3", date(2026, 7, 1), date(2026, 9, 30)),
    ]
    counts = {"Q2": {"a": 2, "b": 6, "c": 3, "d": 0}, "Q3": {"a": 9, "b": 6, "c": 4, "d": 0}}
    days = {"first_day": date(2026, 4, 2), "last_day": date(2026, 9, 29)}
    # a: whole run 11 - 9 gives Q2's 2 away; b: nothing small; c: 3 + 4 = 7 cannot be split; d: 0 and 0
    assert withheld_places(counts, periods, threshold=5, **days) == {"a", "d"}
    assert (
        withheld_places(counts, periods, threshold=5, first_day=date(2026, 1, 1), last_day=date(2026, 9, 29)) == set()
    )
    assert withheld_places(counts, periods[1:], threshold=5, **days) == set()  # no whole run shown


def test_events_dated_to_the_month_cover_the_whole_month():
    """police.uk crimes carry only a month: the last of them, October (BST), covers 1 to 31 Oct, not 1 Oct."""
    from types import SimpleNamespace

    import duckdb

    from ctxrisk.maps.steering_period_data import event_days

    db = duckdb.connect()
    db.execute("create schema staging")
    db.execute(
        "create table staging.events as select * from (values "
        "(timestamptz '2024-05-31 23:00:00+00', 'month', 'incident', 'other', 'police_uk'), "
        "(timestamptz '2024-09-30 23:00:00+00', 'month', 'incident', 'other', 'police_uk'), "
        "(timestamptz '2024-10-12 08:30:00+00', 'minute', 'incident', 'cse', 'partner')) "
        "t(occurred_at, time_precision, event_type, theme, source)"
    )
    london = SimpleNamespace(local_timezone="Europe/London")
    assert event_days(db, {}, settings=london) == (date(2024, 6, 1), date(2024, 10, 31))
    assert event_days(db, {"filters": {"themes": ["cse"]}}, settings=london) == (date(2024, 10, 12),) * 2
    assert event_days(db, {"filters": {"until": "2024-10-15"}}, settings=london)[1] == date(2024, 10, 15)
