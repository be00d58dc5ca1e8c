"""Places of concern on the steering map: names by area, one badge per place showing its themes, a theme filter."""

from __future__ import annotations

import html as html_lib
import json
import math
import re
from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from ctxrisk.pipelines import lad

__all__ = [
    "LAD_TOLERANCE_M",
    "THEME_COLOURS",
    "ThemeFilter",
    "naming_areas",
    "place_names",
    "place_badge",
    "theme_colour",
]

#: How far the packaged district outlines may stray from the true ones: ONS "BUC" outlines, generalised to 500 m.
LAD_TOLERANCE_M = 500.0

#: Theme colours of the badges' dots: the Okabe-Ito palette, told apart under colour-vision deficiency.
THEME_COLOURS: dict[str, str] = {
    "cse": "#E69F00",
    "cce": "#56B4E9",
    "county_lines": "#009E73",
    "missing": "#F0E442",
    "radicalisation": "#0072B2",
    "modern_slavery": "#D55E00",
    "serious_violence": "#CC79A7",
    "other": "#000000",
}
_SPARE = ("#999999", "#882255", "#44AA99", "#DDCC77")
_H3_SUFFIX = re.compile(r"\s*\((?:H3 cell\s*)?[0-9a-f]{15}\)\s*$", re.IGNORECASE)
_H3_ONLY = re.compile(r"^\s*(?:H3 cell\s*)?[0-9a-f]{15}\s*$", re.IGNORECASE)
_DIRECTIONS = ("east", "north-east", "north", "north-west", "west", "south-west", "south", "south-east")


def theme_colour(theme: str, known: Sequence[str] = ()) -> str:
    """The badge colour of a theme (a spare colour for a theme outside :data:`THEME_COLOURS`)."""
    if theme in THEME_COLOURS:
        return THEME_COLOURS[theme]
    others = sorted(t for t in known if t not in THEME_COLOURS)
    index = others.index(theme) if theme in others else 0
    return _SPARE[index % len(_SPARE)]


def naming_areas(boundaries: gpd.GeoDataFrame, analysed: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The areas that name places with no area name of their own (the map and the report use the same).

    The loaded boundaries (the study-area outline names no place), the districts analysed grown by
    :data:`LAD_TOLERANCE_M` (a place just outside a generalised outline is the analysed district's, as
    its events are), and every other district of England. :func:`place_names` takes the smallest holding
    a place.
    """
    named = boundaries[boundaries["level"].astype(str) != "study area"] if len(boundaries) else boundaries
    parts = [named[["name", "geometry"]]] if len(named) else []
    every = lad.local_authorities()
    if len(analysed):
        grown = analysed[["name", "geometry"]].to_crs(27700)
        grown["geometry"] = grown.geometry.buffer(LAD_TOLERANCE_M)
        parts.append(grown.to_crs(4326))
        every = every[~every["code"].isin(analysed["code"])]
    parts.append(every[["name", "geometry"]])
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)


def _containing_name(lat: float, lon: float, areas: gpd.GeoDataFrame | None) -> str | None:
    if areas is None or not len(areas):
        return None
    point = shapely.Point(lon, lat)
    hits = areas[areas.geometry.contains(point)]
    if not len(hits):
        return None
    smallest = shapely.area(np.asarray(hits.geometry.values, dtype=object)).argmin()  # ranking only
    return str(hits["name"].iloc[int(smallest)])


def _direction(dlat: float, dlon: float) -> str:
    angle = math.degrees(math.atan2(dlat, dlon * math.cos(math.radians(53.0))))
    return _DIRECTIONS[int(((angle + 22.5) % 360) // 45)]


def place_names(
    names: Sequence[object],
    latitude: Sequence[float],
    longitude: Sequence[float],
    *,
    areas: gpd.GeoDataFrame | None = None,
    fallback: str = "Unnamed area",
) -> list[str]:
    """Name each place by its area, never by an H3 ID; tell apart places that share an area's name.

    Parameters
    ----------
    names : sequence
        The ranked places' names as the locations mart gives them (``"Crewe Central (8919...ffff)"``,
        ``"H3 cell 8919...ffff"``): an H3 ID in brackets is dropped; a name that is only an H3 ID is replaced
        by the name of the smallest area of ``areas`` holding the place, else ``fallback``.
    latitude, longitude : sequence of float
        The places' positions (cell centres).
    areas : geopandas.GeoDataFrame or None
        ``name`` and polygon geometry (WGS84): loaded boundaries and local authority outlines.
    fallback : str
        The name of a place in no area.

    Returns
    -------
    list of str
        In input order. Places sharing a name get the compass direction of each from their middle
        (``"Crewe Central (north)"``, ``"Crewe Central (south-west)"``); places still alike are numbered
        (``"Crewe Central (north, 2)"``).
    """
    base = []
    for name, lat, lon in zip(names, latitude, longitude, strict=True):
        text = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name)
        if _H3_ONLY.match(text) or not text.strip():
            text = _containing_name(float(lat), float(lon), areas) or fallback
        base.append(_H3_SUFFIX.sub("", text).strip())
    out = list(base)
    lat_arr, lon_arr = np.asarray(latitude, dtype=float), np.asarray(longitude, dtype=float)
    for name in {n for n in base if base.count(n) > 1}:
        idx = [i for i, n in enumerate(base) if n == name]
        mid_lat, mid_lon = lat_arr[idx].mean(), lon_arr[idx].mean()
        labels = {i: _direction(lat_arr[i] - mid_lat, lon_arr[i] - mid_lon) for i in idx}
        for i in idx:
            same = [j for j in idx if labels[j] == labels[i]]
            suffix = labels[i] if len(same) == 1 else f"{labels[i]}, {same.index(i) + 1}"
            out[i] = f"{name} ({suffix})"
    return out


def place_badge(rank: int, name: str, themes: Sequence[str], labels: dict[str, str], colours: dict[str, str]) -> str:
    """HTML of one place's badge: its rank, a dot per theme, and the spoken text for a screen reader."""
    dots = "".join(
        f'<span class="ctxrisk-dot" style="background:{colours[t]}" title="{html_lib.escape(labels[t])}"></span>'
        for t in themes
    )
    spoken = f"Place {rank}: {name}. Themes: {', '.join(labels[t] for t in themes) or 'none with 5 or more events'}."
    return (
        f'<div class="ctxrisk-rank" aria-hidden="true">{rank}</div><div class="ctxrisk-dots" aria-hidden="true">'
        f'{dots}</div><span class="ctxrisk-sr">{html_lib.escape(spoken)}</span>'
    )


class ThemeFilter(MacroElement):
    """The themes' key, with a check box each: a place shows while any of its themes is ticked.

    It is the legend of the badges' dots too (printed without its check boxes); themed cell layers follow
    their theme's box, and every change is told to the page's other controls (the map fires
    ``ctxrisk:themes`` with ``on``, theme -> ticked).

    Parameters
    ----------
    themes : sequence of (key, label, colour)
    markers : sequence of (folium.Marker, list of theme keys)
    layers : sequence of (folium layer, theme key)
        Cell layers drawn for one theme: shown only while their theme is ticked.
    note : str
        A sentence under the boxes (set as text).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var themes = {{ this.themes_json() }};
            var note = {{ this.note_json() }};
            var places = [{% for m, t in this.markers %}
                [{{ m.get_name() }}, {{ t|tojson }}]{{ "," if not loop.last }}{% endfor %}];
            var layers = [{% for l, t in this.layers %}
                [{{ l.get_name() }}, {{ t|tojson }}]{{ "," if not loop.last }}{% endfor %}];
            var control = L.control({position: "topleft"});
            control.onAdd = function () {
                var div = L.DomUtil.create("fieldset", "ctxrisk-control ctxrisk-filter");
                var legend = L.DomUtil.create("legend", "", div);
                legend.textContent = "Themes (dots on each place)";
                themes.forEach(function (t) {
                    var label = L.DomUtil.create("label", "ctxrisk-filter-row", div);
                    var box = L.DomUtil.create("input", "", label);
                    box.type = "checkbox"; box.checked = true; box.value = t[0];
                    var dot = L.DomUtil.create("span", "ctxrisk-dot", label);
                    dot.style.background = t[2];
                    var text = L.DomUtil.create("span", "", label);
                    text.textContent = t[1];
                });
                if (note) {
                    var p = L.DomUtil.create("p", "ctxrisk-filter-note", div);
                    p.textContent = note;
                }
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.on(div, "change", update);
                return div;
            };
            control.addTo(map);
            function ticked() {
                var on = {};
                control.getContainer().querySelectorAll("input").forEach(function (b) { on[b.value] = b.checked; });
                return on;
            }
            function update() {
                var on = ticked();
                var all = themes.every(function (t) { return on[t[0]]; });
                places.forEach(function (p) {
                    // a place with no theme shown is kept while every theme is ticked
                    var show = p[1].length ? p[1].some(function (t) { return on[t]; }) : all;
                    var el = p[0].getElement();
                    if (el) { el.style.display = show ? "" : "none"; }
                    p[0].options.ctxriskHidden = !show;
                });
                layers.forEach(function (l) {
                    if (on[l[1]]) { if (!map.hasLayer(l[0])) { map.addLayer(l[0]); } }
                    else if (map.hasLayer(l[0])) { map.removeLayer(l[0]); }
                });
                map.fire("ctxrisk:themes", {on: on});
            }
            map.on("overlayadd", function () { update(); });
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        themes: Sequence[tuple[str, str, str]],
        markers: Sequence[tuple[folium.Marker, list[str]]],
        layers: Sequence[tuple[folium.map.Layer, str]] = (),
        *,
        note: str = "",
    ) -> None:
        super().__init__()
        self._name = "CtxriskThemeFilter"
        self.note = str(note)
        self.themes = [tuple(t) for t in themes]
        self.markers = list(markers)
        self.layers = list(layers)

    def note_json(self) -> str:
        text = json.dumps(self.note, ensure_ascii=False)  # set as textContent; no text closes the <script>
        return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")

    def themes_json(self) -> str:
        # labels may come from data: set as textContent in the page, and written with <, > and & as JSON
        # escapes so that no text can close the <script> or read as markup
        text = json.dumps(self.themes, ensure_ascii=False)
        return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def themes_of(value: object) -> list[str]:
    """A place's themes from a list or a ``;``-separated string."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.split(";") if t.strip()]
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        return [str(t) for t in value]
    return [str(value)]


def themes_shown(themes: object, counts: object, threshold: int) -> str:
    """A place's themes with at least ``threshold`` events there (``counts`` is the mart's JSON theme counts).

    Without the counts no theme is shown: a theme dot or name would tell that a theme has at least one event.
    """
    try:
        by_theme = dict(json.loads(counts)) if isinstance(counts, str) and counts else {}
    except (ValueError, TypeError):
        by_theme = {}
    if not isinstance(by_theme, dict):
        by_theme = {}
    names = [t for t in str(themes or "").split(";") if t]
    return ";".join(t for t in names if int(by_theme.get(t, 0) or 0) >= threshold)
