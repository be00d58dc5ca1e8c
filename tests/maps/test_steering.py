"""Tests for ctxrisk.maps.steering: profile wording, validation, disclosure, and the page in real Chromium."""

from __future__ import annotations

import re

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point
from support import steering_fixtures as F
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


def test_describe_profile_names_day_parts_and_a_peak_hour_of_at_least_five():
    assert describe_profile(F.profile(4, range(19, 23))) == (
        "Busiest on weekday evenings (18:00-23:59); peak hour 14:00-14:59."
    )
    arr = np.zeros((7, 24))
    arr[5, 20] = arr[6, 21] = 4
    arr[1, 9] = 7
    # weekend evenings (8) and weekday mornings (7, within 80% of 8) are blocks of 5 or more
    assert describe_profile(arr) == (
        "Busiest on weekend evenings (18:00-23:59) and weekday mornings (06:00-11:59); peak hour 09:00-09:59."
    )
    arr[1, 9] = 4
    assert describe_profile(arr) == "Busiest on weekend evenings (18:00-23:59)."
    assert describe_profile(np.ones((7, 24))) == "Busy at many times of the week; peak hour 00:00-00:59."


def test_describe_profile_says_too_few_below_threshold():
    arr = np.zeros((7, 24))
    arr[0, 3] = 4
    assert describe_profile(arr) == (
        "Too few timed events (<5) in any part of the week to describe when this place is busiest."
    )
    assert describe_profile(arr, threshold=3) == "Busiest on weekday nights (00:00-05:59); peak hour 03:00-03:59."
    # 20 events spread so that no block holds 5: nothing is said
    spread = np.zeros((7, 24))
    spread[0, [0, 6, 12, 18]] = 4
    spread[5, [0, 6, 12, 18]] = 2
    # 20 timed events: the sentence says no part of the week holds 5, not that there are fewer than 5 events
    assert describe_profile(spread).startswith("Too few timed events (<5) in any part of the week")


def test_profile_chart_is_eight_blocks_in_bands_with_small_blocks_withheld():
    arr = F.profile(4, range(19, 23))  # weekday evenings 24, weekday afternoons 5, weekend afternoons 2
    svg = profile_svg(arr)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<title>") == 8
    assert "<title>Weekday evenings: busiest</title>" in svg
    assert "<title>Weekday afternoons: less busy</title>" in svg
    assert "<title>Weekend afternoons: fewer than 5 (withheld)</title>" in svg
    assert svg.count("&lt;5") == 6
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


def test_layers_in_order_with_one_layer_control():
    fmap = _build()
    names = [c.layer_name for c in fmap._children.values() if isinstance(c, folium.FeatureGroup)]
    assert names == [
        "Not analysed (around the area)",
        "Local authority",
        "Boundaries: lsoa",
        "Boundaries: ward",
        "Deprivation (IMD decile)",
        "Hot spots (Gi*)",
        "Emerging hot spots",
        "Places of concern",
    ]
    assert sum(isinstance(c, folium.LayerControl) for c in fmap._children.values()) == 1


def test_hotspot_cells_are_merged_per_class_and_carry_no_count():
    fmap = _build()
    group = next(c for c in fmap._children.values() if getattr(c, "layer_name", None) == "Hot spots (Gi*)")
    (geojson,) = [c for c in group._children.values() if isinstance(c, folium.GeoJson)]
    features = geojson.data["features"]
    # the 11 significant cells fall in six classes: one outline each, the 99% classes drawn last (on top:
    # the 90% edges, 5 px when zoomed out, covered a 99% cluster otherwise), no count or z
    assert [f["properties"]["label"] for f in features] == [
        "Hot spot, 90% confidence",
        "Cold spot, 90% confidence",
        "Hot spot, 95% confidence",
        "Cold spot, 95% confidence",
        "Hot spot, 99% confidence",
        "Cold spot, 99% confidence",
    ]
    assert all(set(f["properties"]) == {"label", "fill"} for f in features)
    hot = F.hotspots()
    merged = shapely.geometry.shape(features[4]["geometry"])
    planted = shapely.union_all(hot.geometry[hot["bin"] == 3].to_numpy())
    assert merged.symmetric_difference(planted).area < 1e-3 * planted.area  # the three 99% cells, nothing else
    with_zero = _geojson_properties(_build(show_not_significant=True), "Hot spots (Gi*)")
    assert [p["label"] for p in with_zero][0] == "Not significant" and len(with_zero) == 7  # drawn first


def test_the_configured_threshold_reaches_every_places_count():
    def counts(threshold: int) -> list[str]:
        html = render_self_contained(_build(settings=F.settings(threshold=threshold)))
        return re.findall(r"Events \(all periods analysed\): ([^.]*)\.", html)

    assert counts(5) == ["40", "30", "&lt;5"]
    assert counts(50) == ["&lt;50", "&lt;50", "&lt;50"]


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
    assert labels == [
        "Local authority",
        "Boundaries: lsoa",
        "Boundaries: ward",
        "Deprivation (IMD decile)",
        "Hot spots (Gi*)",
        "Emerging hot spots",
        "Places of concern",
    ]
    # one badge per place, a dot per theme, and the spoken text
    badges = page.eval_on_selector_all(
        ".ctxrisk-badge",
        "els => els.map(e => [e.querySelector('.ctxrisk-rank').textContent, "
        "e.querySelectorAll('.ctxrisk-dot').length, e.querySelector('.ctxrisk-sr').textContent])",
    )
    assert sorted(badges) == [
        ["1", 2, "Place 1: Leeds 111A. Themes: Child sexual exploitation, County lines."],
        ["2", 2, "Place 2: Leeds 111D. Themes: Child criminal exploitation, Missing children."],
        ["3", 0, "Place 3: Leeds 111B. Themes: none with 5 or more events."],
    ]
    # a place with no theme shown carries no dot of a theme it was not given ("Other concerns" once), and
    # stays while every theme is ticked, whatever layer is switched on
    page.locator(".leaflet-control-layers-overlays label", has_text="Emerging hot spots").locator("input").check()
    shown = "els => els.filter(e => e.style.display !== 'none').map(e => e.textContent[0]).sort()"
    assert page.eval_on_selector_all(".ctxrisk-badge", shown) == ["1", "2", "3"]
    box = page.locator(".ctxrisk-filter label", has_text="Missing children").locator("input")
    box.uncheck()
    assert page.eval_on_selector_all(".ctxrisk-badge", shown) == ["1", "2"]  # 3 has no ticked theme
    box.check()
    page.locator(".leaflet-control-layers-overlays label", has_text="Emerging hot spots").locator("input").uncheck()
    assert page.eval_on_selector_all(".ctxrisk-badge", shown) == ["1", "2", "3"]


@pytest.mark.browser
def test_steering_popup_describes_place_in_words(steering_page):
    page = steering_page.page
    page.locator(".ctxrisk-rank", has_text="3").first.dispatch_event("click")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert "Ranked 3 of 3 places of concern." in text
    assert "Events (all periods analysed): <5." in text
    assert "Too few timed events (<5)" in text
    assert popup.locator("svg").count() == 0
    page.locator(".leaflet-popup-close-button").click()
    page.locator(".leaflet-popup-content").wait_for(state="detached")
    page.locator(".ctxrisk-rank", has_text="1").first.dispatch_event("click")
    text = page.locator(".leaflet-popup-content").inner_text()
    assert "Ranked high for a hot spot, a rising trend." in text
    assert "0.91" not in text and "0.50" not in text  # score parts are linear in counts: never shown
    assert "Themes: Child sexual exploitation, County lines." in text
    assert "Busiest on weekday evenings (18:00-23:59)" in text
    assert page.locator(".leaflet-popup-content svg title").count() == 8


@pytest.mark.browser
def test_legends_follow_their_layers(steering_page):
    page = steering_page.page

    def legends() -> list[str]:
        return page.eval_on_selector_all(".ctxrisk-legend h4", "els => els.map(e => e.textContent).sort()")

    assert legends() == ["Hot spots (Getis-Ord Gi*, FDR-adjusted)"]
    overlays = page.locator(".leaflet-control-layers-overlays label")
    overlays.filter(has_text="Deprivation (IMD decile)").locator("input").check()
    assert "Deprivation (IMD decile)" in legends()
    overlays.filter(has_text="Hot spots (Gi*)").locator("input").uncheck()
    assert "Hot spots (Getis-Ord Gi*, FDR-adjusted)" not in legends()
    overlays.filter(has_text="Emerging hot spots").locator("input").check()
    assert "Emerging hot spots" in legends()


def test_settlements_are_read_from_ward_names_that_neighbours_share():
    from shapely.geometry import box

    from ctxrisk.maps.steering_layers import settlements

    wards = gpd.GeoDataFrame(
        {"name": ["Crewe Central", "Crewe East", "Crewe North", "North Rode", "Nantwich North", "Nantwich South"]},
        geometry=[
            box(0, 0, 1, 1),
            box(1, 0, 2, 1),
            box(0, 1, 1, 2),
            box(5, 5, 6, 6),
            box(10, 0, 11, 1),
            box(20, 0, 21, 1),  # apart from the other Nantwich ward: not one settlement
        ],
        crs=4326,
    )
    found = settlements(wards)
    assert [name for name, _p in found] == ["Crewe"]
    assert found[0][1].within(box(0, 0, 2, 2))


def test_analysed_district_is_found_from_the_cells_and_its_neighbours_shaded():
    from ctxrisk.maps.steering import analysed_area, districts_around

    # Crewe and Macclesfield (Cheshire East), and one point in Chester (Cheshire West and Chester)
    lat = [53.0979, 53.0990, 53.2587, 53.2600, 53.1934]
    lon = [-2.4416, -2.4400, -2.1270, -2.1250, -2.8931]
    analysed = analysed_area(lat, lon, min_share=0.25)
    assert analysed["code"].tolist() == ["E06000049"] and analysed["name"].tolist() == ["Cheshire East"]
    around = districts_around(analysed)
    assert {"Cheshire West and Chester", "Stoke-on-Trent", "Stockport"} <= set(around["name"])
    assert "Cheshire East" not in set(around["name"])
    assert analysed_area([55.95], [-3.19]).empty  # Edinburgh: no district of England


def test_ward_and_district_names_are_labelled_on_the_map():
    fmap = _build()
    html = fmap.get_root().render()
    assert 'ctxrisk-label ctxrisk-label-ward\\"\\u003eCity and Hunslet\\u003c/div' in html
    assert "Leeds" in html and "not analysed" in html


def test_analysed_districts_are_weighted_by_events():
    from ctxrisk.maps.steering import analysed_area

    # the City of London's cells hold most events; three cells reaching into Tower Hamlets hold few
    lat, lon = [51.5155, 51.5140, 51.5190, 51.5200, 51.5210], [-0.0920, -0.0850, -0.0600, -0.0550, -0.0500]
    assert "Tower Hamlets" in analysed_area(lat, lon)["name"].tolist()  # by cells, Tower Hamlets outnumbers
    assert analysed_area(lat, lon, weights=[60, 40, 1, 1, 1])["name"].tolist() == ["City of London"]


def test_analysed_district_of_real_city_of_london_crimes_is_the_city_alone():
    """police.uk City of London street crimes: the generalised Tower Hamlets outline must not count as analysed."""
    import pandas as pd
    from support import shared_data_path

    from ctxrisk.maps.steering import analysed_area

    folder = shared_data_path("police_uk", "street", "city-of-london-monthly")
    frames = [pd.read_csv(p, usecols=["Latitude", "Longitude"]) for p in sorted(folder.glob("*-street.csv"))]
    points = pd.concat(frames).dropna()
    assert len(frames) == 20 and len(points) > 14_000
    lat, lon = points["Latitude"].to_numpy(), points["Longitude"].to_numpy()
    assert analysed_area(lat, lon)["name"].tolist() == ["City of London"]
    # every point counted, as before: 17% of the crimes fall in the generalised Tower Hamlets
    assert analysed_area(lat, lon, margin_m=0, min_share=0.1)["name"].tolist() == ["City of London", "Tower Hamlets"]


def test_a_place_is_never_named_after_the_study_area_outline():
    """With no boundary loaded the base is the outline of the cells analysed; places take the district's name."""
    study = gpd.GeoDataFrame(
        {"code": ["study"], "name": ["Area analysed (19 H3 cells)"], "level": ["study area"]},
        geometry=[shapely.box(-1.60, 53.75, -1.50, 53.85)],
        crs=4326,
    )
    study["imd_decile"] = pd.array([None], dtype="Int64")
    locs = F.locations().assign(name=lambda f: "H3 cell " + f["unit_id"])
    html = _build(boundaries=study, locations=locs).get_root().render()
    assert "Area analysed (19 H3 cells)" in html  # the outline is still drawn
    assert "Place 1: Leeds (" in html and "Place 1: Area analysed" not in html


def test_popups_say_the_records_give_no_time_of_day_when_no_place_has_one():
    """police.uk dates crimes to the month: every popup says so, rather than "too few timed events (<5)"."""
    locs = F.locations()
    untimed = locs.assign(profile=[np.zeros((7, 24))] * 3, profile_events=0, profile_excluded=locs["count"])
    html = render_self_contained(_build(locations=untimed))
    assert html.count("The records give no time of day") == 3 and "Too few timed events" not in html
    # one place with a timed event: each place is described by its own profile again
    timed = untimed.assign(profile_events=[0, 0, 1])
    html = render_self_contained(_build(locations=timed))
    assert "The records give no time of day" not in html and html.count("Too few timed events (&lt;5)") == 3


@pytest.mark.browser
def test_overlapping_badges_stack_under_the_first_with_a_count_of_places(steering_page):
    """Zoomed out, the three places overlap: one badge shows "+2", names the others, and "+2" zooms in."""
    page = steering_page.page
    start = page.evaluate(
        "() => { const m = Object.values(window).find(v => v instanceof L.Map); return m.getZoom(); }"
    )
    visible = (
        "() => [...document.querySelectorAll('.ctxrisk-badge')].filter(e => getComputedStyle(e).display !== 'none')"
        ".map(e => e.querySelector('.ctxrisk-rank').textContent + (e.querySelector('.ctxrisk-more') || "
        "{textContent: ''}).textContent)"
    )
    page.evaluate("() => Object.values(window).find(v => v instanceof L.Map).setZoom(9, {animate: false})")
    page.wait_for_timeout(100)
    assert page.evaluate(visible) == ["1+2"]
    spoken = page.eval_on_selector(".ctxrisk-badge:not(.ctxrisk-stacked) .ctxrisk-sr-more", "e => e.textContent")
    assert spoken == " With 2 more places here: 2. Leeds 111D; 3. Leeds 111B. Zoom in to see each."
    # a stacked badge is out of the keyboard order; the "+2" zooms in until the places part
    assert page.eval_on_selector_all(".ctxrisk-stacked", "els => els.every(e => e.offsetParent === null)")
    page.evaluate("() => Object.values(window).find(v => v instanceof L.Map).closePopup()")
    page.locator(".ctxrisk-more").click()
    page.wait_for_timeout(400)
    assert sorted(page.evaluate(visible)) == ["1", "2", "3"]
    page.evaluate(f"() => Object.values(window).find(v => v instanceof L.Map).setZoom({start}, {{animate: false}})")


def test_every_district_of_a_real_police_force_with_its_crimes_is_analysed():
    """Merseyside Police's December 2018 street crimes: Knowsley (8% of them) was once shaded not analysed."""
    import pandas as pd
    from support import shared_data_path

    from ctxrisk.maps.steering import analysed_area

    path = shared_data_path("police_uk", "street", "police-uk-2018-12-merseyside-street.csv")
    points = pd.read_csv(path, usecols=["Latitude", "Longitude"]).dropna()
    found = analysed_area(points["Latitude"].to_numpy(), points["Longitude"].to_numpy())
    assert sorted(found["name"]) == ["Knowsley", "Liverpool", "Sefton", "St. Helens", "Wirral"]
    assert "Knowsley" not in analysed_area(points["Latitude"], points["Longitude"], min_share=0.1)["name"].tolist()


@pytest.mark.browser
def test_labels_never_overlap_each_other_or_a_badge(steering_page):
    """Zoomed out, the "not analysed" labels and the badges crowd: a label that would overlap gives way."""
    page = steering_page.page
    page.evaluate("() => Object.values(window).find(v => v instanceof L.Map).closePopup()")
    start = page.evaluate("() => Object.values(window).find(v => v instanceof L.Map).getZoom()")
    clashes = """() => {
        const rect = e => {
            const r = document.createRange(); r.selectNodeContents(e); return r.getBoundingClientRect();
        };
        const shown = [...document.querySelectorAll('.ctxrisk-label')].filter(e => e.offsetParent !== null
            && !e.classList.contains('ctxrisk-crowded') && !e.classList.contains('ctxrisk-label-la')).map(rect);
        const badges = [...document.querySelectorAll('.ctxrisk-badge')].filter(e => e.offsetParent !== null)
            .map(e => e.getBoundingClientRect());
        const near = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        let n = 0;
        shown.forEach((a, i) => { shown.slice(i + 1).concat(badges).forEach(b => { if (near(a, b)) n++; }); });
        return [n, document.querySelectorAll('.ctxrisk-crowded').length];
    }"""
    crowded = 0
    for zoom in (8, 10, 12, 14):
        page.evaluate(f"() => Object.values(window).find(v => v instanceof L.Map).setZoom({zoom}, {{animate: false}})")
        page.wait_for_timeout(150)
        overlaps, hidden = page.evaluate(clashes)
        assert overlaps == 0, zoom
        crowded = max(crowded, hidden)
    assert crowded > 0  # some label did give way
    page.evaluate(f"() => Object.values(window).find(v => v instanceof L.Map).setZoom({start}, {{animate: false}})")


@pytest.mark.browser
def test_theme_filter_says_when_the_hot_spots_do_not_follow_it(steering_page):
    """No hot spots by theme (the demo's 87,607 cells exceed [hotspots] theme_max_units): the filter says so."""
    from ctxrisk.maps.steering import THEMES_NOT_SPLIT

    note = steering_page.page.eval_on_selector(".ctxrisk-filter .ctxrisk-filter-note", "e => e.textContent")
    assert note == THEMES_NOT_SPLIT
    # with per-theme hot spots the filter switches them, and this sentence is not written
    cells = F.hotspots().iloc[[0, 1]].assign(bin=2)[["unit_id", "count", "z", "bin", "geometry"]]
    html = render_self_contained(_build(theme_hotspots=[(None, "cse", cells)]))
    assert THEMES_NOT_SPLIT not in html


@pytest.mark.browser
def test_badges_stand_above_their_cells_so_the_cells_show(steering_page):
    """A badge (rank and theme dots) ends at least 10 px above its cell centre; a stem points to it."""
    page = steering_page.page
    start = page.evaluate("() => Object.values(window).find(v => v instanceof L.Map).getZoom()")
    page.evaluate("() => Object.values(window).find(v => v instanceof L.Map).setZoom(16, {animate: false})")
    page.wait_for_timeout(150)  # zoomed in until no badge is stacked, so each is measured
    gaps = page.evaluate(
        """() => { const map = Object.values(window).find(v => v instanceof L.Map);
            const box = map.getContainer().getBoundingClientRect();
            return Object.values(window).filter(v => v instanceof L.Marker && v.getElement()
                && v.getElement().classList.contains('ctxrisk-badge')).map(m => {
                const at = map.latLngToContainerPoint(m.getLatLng());
                const el = m.getElement();
                const bottom = Math.max(...[...el.children].filter(c => c.offsetParent !== null)
                    .map(c => c.getBoundingClientRect().bottom));
                return box.top + at.y - bottom; }); }"""
    )
    page.evaluate(f"() => Object.values(window).find(v => v instanceof L.Map).setZoom({start}, {{animate: false}})")
    assert len(gaps) == 3 and all(10 <= gap < 40 for gap in gaps), gaps
