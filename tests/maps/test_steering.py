"""Tests for ctxrisk.maps.steering: profile wording, validation, disclosure, and the page in real Chromium."""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pytest
from support import steering_fixtures as F
from shapely.geometry import Point
from support.browser import open_page, require_chromium

from ctxrisk.maps.disclosure import scan_for_leaks
from ctxrisk.maps.language import find_terms
from ctxrisk.maps.selfcontained import render_self_contained, write_html
from ctxrisk.maps.steering import build_steering_map, describe_profile, profile_svg
from ctxrisk.pipelines.errors import ValidationError

PERIODS = [("2024-01-01", "2024-12-31")]


def _build(**overrides) -> folium.Map:
    kwargs = {
        "boundaries": F.boundaries(),
        "hotspots": F.hotspots(),
        "emerging": F.emerging(),
        "locations": F.locations(),
        "periods": PERIODS,
        "settings": F.settings(),
    }
    kwargs.update(overrides)
    return build_steering_map(**kwargs)


def _geojson_properties(fmap: folium.Map, layer_name: str) -> list[dict]:
    group = next(
        c for c in fmap._children.values() if isinstance(c, folium.FeatureGroup) and c.layer_name == layer_name
    )
    (geojson,) = [c for c in group._children.values() if isinstance(c, folium.GeoJson)]
    return [f["properties"] for f in geojson.data["features"]]


# ------------------------------------------------------------------------------------- wording


def test_describe_profile_names_days_part_of_day_and_peak():
    assert describe_profile(F.profile(4, range(19, 23))) == (
        "Busiest on Friday, mostly in the evening (18:00-23:59); peak hour 14:00-14:59."
    )
    arr = np.zeros((7, 24))
    arr[4, 20] = arr[5, 20] = 5
    arr[6, 20] = 4
    assert describe_profile(arr) == (
        "Busiest on Friday, Saturday and Sunday, mostly in the evening (18:00-23:59); peak hour 20:00-20:59."
    )
    assert (
        describe_profile(np.ones((7, 24))) == "Spread across the week, at varied times of day; peak hour 00:00-00:59."
    )


def test_describe_profile_says_too_few_below_threshold():
    arr = np.zeros((7, 24))
    arr[0, 3] = 4
    assert describe_profile(arr) == "Too few timed events (<5) to describe when this place is busiest."
    assert describe_profile(arr, threshold=3).startswith("Busiest on Monday, mostly in the night (00:00-05:59)")


def test_profile_svg_is_a_7_by_24_grid_without_counts():
    svg = profile_svg(F.profile(4, range(19, 23)))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<rect") == 168
    assert 'fill-opacity="1.00"' in svg and 'fill-opacity="0.06"' in svg
    assert "http" not in svg


def test_profile_must_be_7_by_24():
    with pytest.raises(ValidationError, match=r"7 weekdays x 24 hours.*shape \(24, 7\)"):
        describe_profile(np.zeros((24, 7)))


# ---------------------------------------------------------------------------------- validation


def test_refuses_person_id_columns():
    locs = F.locations().assign(person_id="p_1")
    with pytest.raises(ValidationError, match=r"locations holds person-ID column\(s\) \['person_id'\]"):
        _build(locations=locs)


def test_refuses_event_points():
    hot = F.hotspots()
    hot.loc[0, "geometry"] = Point(-1.5478, 53.7965)
    with pytest.raises(ValidationError, match="hotspots holds point geometries"):
        _build(hotspots=hot)


def test_refuses_location_away_from_its_cell_centre():
    locs = F.locations()
    locs.loc[0, "latitude"] = F.EVENTS.loc[0, "latitude"]
    with pytest.raises(ValidationError, match="location ranked 1 .* not at its cell centre"):
        _build(locations=locs)


def test_refuses_missing_columns_bad_bins_and_empty_periods():
    with pytest.raises(ValidationError, match=r"hotspots lacks column\(s\) \['q'\]"):
        _build(hotspots=F.hotspots().drop(columns="q"))
    with pytest.raises(ValidationError, match="bin must be an integer -3..3; found 4"):
        _build(hotspots=F.hotspots().assign(bin=4))
    with pytest.raises(ValidationError, match="periods is empty"):
        _build(periods=[])
    with pytest.raises(ValidationError, match="boundaries has no CRS"):
        _build(
            boundaries=gpd.GeoDataFrame(F.boundaries().drop(columns="geometry"), geometry=list(F.boundaries().geometry))
        )


# -------------------------------------------------------------------------------- map contents


def test_layers_in_order_with_layer_control_last():
    fmap = _build()
    names = [c.layer_name for c in fmap._children.values() if isinstance(c, folium.FeatureGroup)]
    assert names == [
        "Boundaries: lsoa",
        "Boundaries: ward",
        "Deprivation (IMD decile)",
        "Hot spots (Gi*)",
        "Emerging hot spots",
        "Places of concern: Child sexual exploitation",
        "Places of concern: Child criminal exploitation",
        "Places of concern: County lines",
        "Places of concern: Missing children",
        "Places of concern: Other concerns",
    ]
    assert isinstance(list(fmap._children.values())[-1], folium.LayerControl)


def test_hotspot_counts_are_suppressed_and_only_display_fields_written():
    fmap = _build()
    props = _geojson_properties(fmap, "Hot spots (Gi*)")
    # the 11 significant cells, in input order, counts 0,3,12,25,7,1,30,5,8,40,1
    assert [p["events"] for p in props] == ["<5", "<5", "12", "25", "7", "<5", "30", "5", "8", "40", "<5"]
    assert set(props[0]) == {"label", "events", "z", "fill"}
    assert props[0]["label"] == "Hot spot, 99% confidence"
    with_zero = _geojson_properties(_build(show_not_significant=True), "Hot spots (Gi*)")
    assert len(with_zero) == 19


def test_other_threshold_changes_suppression():
    props = _geojson_properties(_build(settings=F.settings(threshold=10)), "Hot spots (Gi*)")
    assert [p["events"] for p in props][:4] == ["<10", "<10", "12", "25"]


def test_emerging_categories_normalised_and_no_pattern_dropped():
    props = _geojson_properties(_build(), "Emerging hot spots")
    assert [p["category"] for p in props] == [
        "New hot spot",
        "Intensifying hot spot",
        "Persistent cold spot",
        "Sporadic hot spot",
    ]


def test_per_theme_hotspot_layers_when_theme_given():
    hot = F.hotspots().assign(theme=["cse"] * 10 + ["county_lines"] * 9)
    fmap = _build(hotspots=hot)
    names = [c.layer_name for c in fmap._children.values() if isinstance(c, folium.FeatureGroup)]
    assert "Hot spots: Child sexual exploitation" in names and "Hot spots: County lines" in names


def test_page_holds_no_person_ids_event_coordinates_or_blaming_words():
    fmap = _build()
    own = fmap.get_root().render()
    assert find_terms(own) == []
    html = render_self_contained(fmap)
    assert scan_for_leaks(html, person_ids=F.PERSON_IDS, coordinates=F.EVENTS) == []
    # the scan does see them when they are there
    leaky = html.replace(
        "</body>", f"<p>{F.PERSON_IDS[0]} [{F.EVENTS.latitude[0]}, {F.EVENTS.longitude[0]}]</p></body>"
    )
    assert [leak.kind for leak in scan_for_leaks(leaky, person_ids=F.PERSON_IDS, coordinates=F.EVENTS)] == [
        "person_id",
        "coordinate",
    ]


def test_configured_basemap_is_used():
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    fmap = _build(settings=F.settings(basemap_url=url))
    assert url in render_self_contained(fmap, basemap_url=url)


# ------------------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def steering_page(tmp_path_factory):
    require_chromium()
    path = tmp_path_factory.mktemp("steering") / "steering.html"
    write_html(render_self_contained(_build()), path)
    return open_page(path)


@pytest.mark.browser
def test_steering_page_loads_offline_without_errors(steering_page):
    assert steering_page.console_errors == []
    assert steering_page.requests_external == []
    assert steering_page.requests_local_failed == []
    assert steering_page.non_blank_fraction > 0.3


@pytest.mark.browser
def test_steering_layer_control_and_badges(steering_page):
    page = steering_page.page
    labels = page.eval_on_selector_all(
        ".leaflet-control-layers-overlays label", "els => els.map(e => e.textContent.trim())"
    )
    assert labels[:5] == [
        "Boundaries: lsoa",
        "Boundaries: ward",
        "Deprivation (IMD decile)",
        "Hot spots (Gi*)",
        "Emerging hot spots",
    ]
    assert len(labels) == 10
    # one badge per (place, theme): ranks 1 (2 themes), 2 (2 themes), 3 (other)
    badges = page.eval_on_selector_all(".ctxrisk-rank", "els => els.map(e => e.textContent).sort()")
    assert badges == ["1", "1", "2", "2", "3"]


@pytest.mark.browser
def test_steering_popup_describes_place_in_words(steering_page):
    page = steering_page.page
    page.locator(".ctxrisk-rank", has_text="3").first.dispatch_event("click")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert "Ranked 3 of 3 places of concern." in text
    assert "Events in the period: <5." in text
    assert "Too few timed events (<5)" in text
    assert popup.locator("svg").count() == 0
    page.locator(".leaflet-popup-close-button").click()
    page.locator(".leaflet-popup-content").wait_for(state="detached")
    page.locator(".ctxrisk-rank", has_text="1").first.dispatch_event("click")
    text = page.locator(".leaflet-popup-content").inner_text()
    assert "Score 0.91 (hotspot 0.50; trend 0.25; repeat 0.16)." in text
    assert "Themes: Child sexual exploitation, County lines." in text
    assert "Busiest on Friday, mostly in the evening (18:00-23:59)" in text
    assert page.locator(".leaflet-popup-content svg rect").count() == 168


@pytest.mark.browser
def test_legends_follow_their_layers(steering_page):
    page = steering_page.page

    def legends() -> list[str]:
        return page.eval_on_selector_all(".ctxrisk-legend h4", "els => els.map(e => e.textContent)")

    assert legends() == ["Hot spots (Getis-Ord Gi*, FDR-adjusted)"]
    overlays = page.locator(".leaflet-control-layers-overlays label")
    overlays.filter(has_text="Deprivation (IMD decile)").locator("input").check()
    assert "Deprivation (IMD decile)" in legends()
    overlays.filter(has_text="Hot spots (Gi*)").locator("input").uncheck()
    assert "Hot spots (Getis-Ord Gi*, FDR-adjusted)" not in legends()
    overlays.filter(has_text="Emerging hot spots").locator("input").check()
    assert "Emerging hot spots" in legends()
