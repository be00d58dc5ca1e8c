"""The steering map's layers, one function each: context, boundaries, deprivation, hot spots, emerging, places.

Every data-derived string (names, codes, categories, theme and period labels) is HTML-escaped here, before
it reaches a GeoJSON property, a tooltip, a layer name or a popup: Leaflet and folium put them into the page
as HTML. Outline shapes are drawn non-interactive where they carry nothing to hover, so the keyboard never
stops on them.
"""

from __future__ import annotations

import html as html_lib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ctxrisk.maps.legend import Legend
from ctxrisk.maps.steering_places import ThemeFilter, place_badge, theme_colour, themes_of
from ctxrisk.pipelines.errors import ValidationError

__all__ = [
    "EMERGING_COLOURS",
    "GI_BINS",
    "IMD_COLOURS",
    "NOT_ANALYSED_COLOUR",
    "LayerState",
    "add_boundaries",
    "add_context",
    "add_emerging",
    "add_hotspots",
    "add_imd",
    "add_places",
    "cell_style",
    "dissolve",
    "esc",
    "feature_collection",
    "full_precision",
    "gi_outlines",
    "settlements",
]

#: ArcGIS ``Gi_Bin`` coding as produced by ``ctxrisk.analytics.gistar.GiStar`` (binned on FDR q): label, colour.
GI_BINS: dict[int, tuple[str, str]] = {
    3: ("Hot spot, 99% confidence", "#b2182b"),
    2: ("Hot spot, 95% confidence", "#ef8a62"),
    1: ("Hot spot, 90% confidence", "#fddbc7"),
    0: ("Not significant", "#f7f7f7"),
    -1: ("Cold spot, 90% confidence", "#d1e5f0"),
    -2: ("Cold spot, 95% confidence", "#67a9cf"),
    -3: ("Cold spot, 99% confidence", "#2166ac"),
}

#: Emerging hot spot categories (space-time pattern mining, ArcGIS names), normalised key -> colour. Hot
#: patterns in purples and browns, cold in greens, teals and grey (ColorBrewer PuOr, BrBG, PiYG), chosen so
#: that every colour differs from every other and from every Gi* colour by a CIE76 difference of at least 8
#: under normal vision and simulated protanopia, deuteranopia and tritanopia (Machado et al. 2009).
EMERGING_COLOURS: dict[str, str] = {
    "new hot spot": "#2d004b",
    "consecutive hot spot": "#542788",
    "intensifying hot spot": "#8073ac",
    "persistent hot spot": "#543005",
    "diminishing hot spot": "#7f3b08",
    "sporadic hot spot": "#dfc27d",
    "oscillating hot spot": "#bf812d",
    "historical hot spot": "#fdb863",
    "new cold spot": "#003c30",
    "consecutive cold spot": "#7fbc41",
    "intensifying cold spot": "#35978f",
    "persistent cold spot": "#80cdc1",
    "diminishing cold spot": "#276419",
    "sporadic cold spot": "#1b7837",
    "oscillating cold spot": "#525252",
    "historical cold spot": "#a6dba0",
}
NO_PATTERN = {"no pattern", "no pattern detected", "not significant", "none", ""}
UNKNOWN_COLOUR = "#969696"
#: Fill of the land outside the analysed area.
NOT_ANALYSED_COLOUR = "#bdbdbd"

#: IMD decile 1 (most deprived 10% of neighbourhoods in England) to 10 (least deprived).
IMD_COLOURS: dict[int, str] = {
    1: "#3f007d", 2: "#54278f", 3: "#6a51a3", 4: "#807dba", 5: "#9e9ac8",
    6: "#bcbddc", 7: "#dadaeb", 8: "#efedf5", 9: "#f7f5fa", 10: "#fcfbfd",
}  # fmt: skip


def esc(value: object) -> str:
    """HTML-escape a data-derived value (quotes included)."""
    return html_lib.escape(str(value), quote=True)


def full_precision(geoms: Any) -> np.ndarray:
    """Round coordinates to 6 decimal places so that each is *written* with all 6 (about 0.1 m).

    A value whose 6th decimal is 0 (``53.294700``) would print as ``53.2947`` and be compared by a leak scan at
    4 places (about 11 m) instead of 6; such values move by 1e-6 degree (at most 0.11 m), the same way
    wherever they occur, so shared vertices stay shared.

    Parameters
    ----------
    geoms : array-like of shapely geometries (WGS84)

    Returns
    -------
    numpy.ndarray of shapely geometries
    """
    arr = np.array(shapely.set_precision(np.asarray(geoms, dtype=object), 1e-6), dtype=object, copy=True)
    coords = shapely.get_coordinates(arr)
    if not len(coords):
        return arr
    micro = np.rint(coords * 1e6).astype(np.int64)
    micro[micro % 10 == 0] += 1
    return shapely.set_coordinates(arr, micro / 1e6)


def feature_collection(gdf: gpd.GeoDataFrame, columns: Sequence[str]) -> dict[str, Any]:
    """GeoJSON of only the given display columns (plus geometry), coordinates rounded to 6 places, no bbox."""
    out = gpd.GeoDataFrame(gdf[list(columns)].reset_index(drop=True), geometry=gdf.geometry.values, crs=4326)
    out["geometry"] = full_precision(out.geometry.values)
    # no per-feature "bbox": it adds four numbers per feature, and its (min lat, max lon) pair reads as a point
    return out.to_geo_dict(na="null", show_bbox=False, drop_id=True)


@dataclass
class LayerState:
    """What the layer functions share: the map, its options and the layers made so far.

    Attributes
    ----------
    fmap : folium.Map
    threshold : int
        Suppression threshold.
    order : callable
        Sorts theme keys into the configured order.
    theme_label : callable
        Theme key -> label.
    generated : list of str
        Every sentence written, for the language scan.
    area_groups, cell_groups : list
        Area layers (drawn under) and cell layers (kept on top).
    themed : list of (layer, theme)
        Cell layers of one theme, for the theme filter.
    filter_themes : list of str
        Further themes the theme filter offers (those of the per-theme hot spots it switches).
    filter_note : str
        A sentence under the theme filter (set as text), e.g. that the hot spots do not follow it.
    """

    fmap: folium.Map
    threshold: int
    order: Callable[[Sequence[str]], list[str]]
    theme_label: Callable[[str], str]
    generated: list[str] = field(default_factory=list)
    area_groups: list[Any] = field(default_factory=list)
    cell_groups: list[Any] = field(default_factory=list)
    themed: list[tuple[Any, str]] = field(default_factory=list)
    filter_themes: list[str] = field(default_factory=list)
    filter_note: str = ""


def _label_marker(lat: float, lon: float, text: str, css: str) -> folium.Marker:
    """A text label that neither takes the keyboard nor the mouse."""
    return folium.Marker(
        [lat, lon],
        icon=folium.DivIcon(html=f'<div class="{css}">{esc(text)}</div>', icon_size=(160, 20), icon_anchor=(80, 10)),
        interactive=False,
        keyboard=False,
    )


def add_context(state: LayerState, *, analysed: gpd.GeoDataFrame, neighbours: gpd.GeoDataFrame) -> None:
    """The local authority outline(s) analysed, named, and the land around shaded and labelled "not analysed".

    Parameters
    ----------
    analysed : geopandas.GeoDataFrame
        ``name`` and outline of each local authority analysed (WGS84).
    neighbours : geopandas.GeoDataFrame
        ``name`` and outline of the districts around, clipped to the view.
    """
    if len(neighbours):
        group = folium.FeatureGroup(name="Not analysed (around the area)", show=True, control=False)
        group.add_to(state.fmap)
        shown = gpd.GeoDataFrame({"name": [esc(n) for n in neighbours["name"]]}, geometry=neighbours.geometry.values)
        folium.GeoJson(
            feature_collection(shown.set_crs(4326), ["name"]),
            style_function=lambda _f: {
                "color": "#8c8c8c",
                "weight": 1,
                "fillColor": NOT_ANALYSED_COLOUR,
                "fillOpacity": 0.6,
                "interactive": False,
            },
            interactive=False,
        ).add_to(group)
        for name, geom in zip(neighbours["name"], neighbours.geometry, strict=True):
            point = geom.representative_point()
            _label_marker(point.y, point.x, f"{name}: not analysed", "ctxrisk-label ctxrisk-label-out").add_to(group)
        state.generated.append("not analysed")
    if not len(analysed):
        return
    group = folium.FeatureGroup(name="Local authority", show=True).add_to(state.fmap)
    shown = gpd.GeoDataFrame({"name": [esc(n) for n in analysed["name"]]}, geometry=analysed.geometry.values)
    folium.GeoJson(
        feature_collection(shown.set_crs(4326), ["name"]),
        style_function=lambda _f: {"color": "#252525", "weight": 3, "fill": False, "interactive": False},
        interactive=False,
    ).add_to(group)
    for name, geom in zip(analysed["name"], analysed.geometry, strict=True):
        point = geom.representative_point()
        _label_marker(point.y, point.x, str(name), "ctxrisk-label ctxrisk-label-la").add_to(group)


def add_boundaries(state: LayerState, boundaries: gpd.GeoDataFrame) -> None:
    """One layer per boundary level, finest first; names on hover for the finest, labels for wards."""
    levels = boundaries["level"].astype(str).value_counts().index.tolist()
    for i, level in enumerate(levels):
        part = boundaries[boundaries["level"].astype(str) == level]
        group = folium.FeatureGroup(name=f"Boundaries: {esc(level)}", show=True).add_to(state.fmap)
        state.area_groups.append(group)
        shown = gpd.GeoDataFrame(
            {"name": [esc(n) for n in part["name"]], "code": [esc(c) for c in part["code"]]},
            geometry=part.geometry.values,
            crs=4326,
        )
        hover = i == 0
        folium.GeoJson(
            feature_collection(shown, ["name", "code"]),
            name=f"Boundaries: {esc(level)}",
            style_function=lambda _f, w=1 + i, h=hover: {
                "color": "#555555",
                "weight": w,
                "fillColor": "#ffffff",
                "fillOpacity": 0.55 if w == 1 else 0.0,
                "interactive": h,
            },
            interactive=hover,
            tooltip=folium.GeoJsonTooltip(fields=["name", "code"], aliases=["Area", "Code"]) if hover else None,
        ).add_to(group)
        if "ward" in level.lower() or (i > 0 and len(part) <= 60):
            for name, geom in zip(part["name"], part.geometry, strict=True):
                point = geom.representative_point()
                _label_marker(point.y, point.x, str(name), "ctxrisk-label ctxrisk-label-ward").add_to(group)
            for town, point in settlements(part):
                _label_marker(point.y, point.x, town, "ctxrisk-label ctxrisk-label-town").add_to(group)


def settlements(areas: gpd.GeoDataFrame, *, min_areas: int = 2) -> list[tuple[str, shapely.Point]]:
    """Settlement names read from area names: the first word that several neighbouring areas share.

    Ward names usually start with their town ("Crewe Central", "Crewe East", "Crewe North"): a first
    word shared by at least ``min_areas`` areas whose outlines touch is taken as a settlement, labelled at a
    point inside the union of those areas. Words such as "North" or "St" are not towns and are skipped.

    Returns
    -------
    list of (str, shapely.Point)
        In name order.
    """
    skip = {"north", "south", "east", "west", "central", "upper", "lower", "st", "st.", "the", "new", "old"}
    first = areas["name"].astype(str).str.split().str[0].fillna("")
    out = []
    for word in sorted(set(first)):
        if word.lower() in skip or len(word) < 3:
            continue
        members = areas.geometry[(first == word).to_numpy()]
        if len(members) < min_areas:
            continue
        union = shapely.union_all(np.asarray(members.values, dtype=object))
        if union.geom_type == "MultiPolygon" and len(union.geoms) == len(members):
            continue  # same first word, but the areas are apart: not one settlement
        out.append((word, union.representative_point()))
    return out


def add_imd(state: LayerState, boundaries: gpd.GeoDataFrame) -> None:
    """The deprivation (IMD decile) overlay, hidden at first, with its legend."""
    imd = boundaries[boundaries["imd_decile"].notna()]
    if not len(imd):
        return
    deciles = pd.to_numeric(imd["imd_decile"], errors="coerce")
    if deciles.isna().any() or not deciles.between(1, 10).all() or (deciles != deciles.round()).any():
        msg = f"imd_decile must be a whole number 1-10; found {imd['imd_decile'][~deciles.between(1, 10)].iloc[0]}"
        raise ValidationError(msg)
    shown = gpd.GeoDataFrame(
        {
            "name": [esc(n) for n in imd["name"]],
            "decile": deciles.astype(int).astype(str).to_numpy(),
            "fill": [IMD_COLOURS[int(d)] for d in deciles],
        },
        geometry=imd.geometry.values,
        crs=4326,
    )
    group = folium.FeatureGroup(name="Deprivation (IMD decile)", show=False).add_to(state.fmap)
    state.area_groups.append(group)
    folium.GeoJson(
        feature_collection(shown, ["name", "decile", "fill"]),
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "color": "#666666",
            "weight": 0.5,
            "fillOpacity": 0.7,
        },
        tooltip=folium.GeoJsonTooltip(fields=["name", "decile"], aliases=["Area", "IMD decile"]),
    ).add_to(group)
    items = [(IMD_COLOURS[1], "1: most deprived 10%")] + [(IMD_COLOURS[d], str(d)) for d in range(2, 10)]
    items.append((IMD_COLOURS[10], "10: least deprived 10%"))
    Legend("Deprivation (IMD decile)", items, position="bottomleft", layers=[group]).add_to(state.fmap)


def cell_style(feature: dict[str, Any]) -> dict[str, Any]:
    # a stroke in the cell's own colour keeps cells of 0.1 km2 visible at the zoom that shows a whole borough
    return {
        "fillColor": feature["properties"]["fill"],
        "color": feature["properties"]["fill"],
        "weight": 2,
        "opacity": 0.9,
        "fillOpacity": 0.8,
    }


def drawing_order(cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Cells by confidence, least first, so that the 99% classes are drawn last, on top.

    Each class's edge is drawn in its own colour, 5 px wide when zoomed out: drawn after the 99% class,
    the 90% and 95% classes around it covered a 99% cluster of 0.015 km2 cells (h3:10) down to a speck at
    the zoom that fits Cheshire East.
    """
    return (
        cells.assign(_rank=cells["bin"].abs())
        .sort_values(["_rank", "bin"], ascending=[True, False], kind="stable")
        .drop(columns="_rank")
    )


def dissolve(frame: gpd.GeoDataFrame, column: str) -> tuple[list[Any], list[Any]]:
    """The cells of each distinct value of ``column`` merged into one outline (adjacent cells share edges).

    Returns the values in order of first appearance and one (Multi)Polygon each, on a 1e-6 degree grid
    (about 0.1 m) so that edges shared by neighbouring cells cancel exactly.
    """
    values = frame[column].to_numpy()
    keys = list(dict.fromkeys(values.tolist()))
    cells = np.asarray(frame.geometry.values, dtype=object)
    return keys, [shapely.union_all(cells[values == k], grid_size=1e-6) for k in keys]


def gi_outlines(cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One merged outline per Gi* bin of ``cells``, in :func:`drawing_order`, with its ``label`` and ``fill``."""
    bins, outlines = dissolve(drawing_order(cells), "bin")
    return gpd.GeoDataFrame(
        {"label": [GI_BINS[b][0] for b in bins], "fill": [GI_BINS[b][1] for b in bins]}, geometry=outlines, crs=4326
    )


def add_hotspots(
    state: LayerState,
    parts: Sequence[tuple[str, gpd.GeoDataFrame, bool, str | None]],
    *,
    as_periods: bool,
    show_not_significant: bool,
    legend_also: Sequence[Any] = (),
) -> list[Any]:
    """Gi* hot and cold spots: one layer per ``(label, cells, shown first, theme)``, with their legend.

    The cells of each confidence class are drawn as one merged outline whose tooltip names the class: a
    layer can hold thousands of cells, mostly side by side, and merging drops their inner edges (at a
    million incidents on h3:10 cells, 4.5 of a 5.7 MB page). No cell's event count is drawn: the places of
    concern carry the counts, each at or above the threshold. With ``as_periods`` each part is a *base*
    layer (one period shows at a time, radio buttons under the heading "Period"); otherwise an overlay (per
    theme). Without periods the legend shows while any of these layers or of ``legend_also`` (per-theme
    cells) is on.
    """
    groups = []
    for label, part, first, theme in parts:
        shown = gi_outlines(part if show_not_significant else part[part["bin"] != 0])
        if as_periods:
            group = folium.FeatureGroup(name=esc(label), overlay=False, show=first).add_to(state.fmap)
        else:
            group = folium.FeatureGroup(name=esc(label), show=True).add_to(state.fmap)
        folium.GeoJson(
            feature_collection(shown, ["label", "fill"]),
            style_function=cell_style,
            # folium refuses tooltip fields on an empty collection (a period with no significant cell)
            tooltip=folium.GeoJsonTooltip(fields=["label"], aliases=["Gi*"]) if len(shown) else None,
        ).add_to(group)
        groups.append(group)
        if theme is not None:
            state.themed.append((group, theme))
    items = [(GI_BINS[b][1], GI_BINS[b][0]) for b in (3, 2, 1, 0, -1, -2, -3) if show_not_significant or b != 0]
    state.generated += [lab for _c, lab in items]
    if groups:
        # With a period selector one base layer always shows, so the legend always shows too.
        shown_with = () if as_periods else [*groups, *legend_also]  # per-theme layers show the same classes
        Legend("Hot spots (Getis-Ord Gi*, FDR-adjusted)", items, layers=shown_with).add_to(state.fmap)
    state.cell_groups += groups
    return groups


def normalise_category(value: object) -> str:
    """``"New_HotSpot"`` -> ``"new hot spot"``."""
    text = " ".join(str(value).lower().replace("_", " ").replace("-", " ").split())
    return text.replace("hotspot", "hot spot").replace("coldspot", "cold spot")


def add_emerging(state: LayerState, emerging: gpd.GeoDataFrame, split: Callable[..., Any]) -> list[Any]:
    """Emerging hot spot cells (hidden at first; one layer per theme when themed), with their legend.

    The cells of each pattern are drawn as one merged outline (adjacent cells share their edges): a cell's
    tooltip names only its pattern, so merging loses nothing and drops most of the layer's bytes.
    """
    em = emerging.assign(_category=emerging["category"].map(normalise_category))
    em = em[~em["_category"].isin(NO_PATTERN)]
    groups = []
    for theme, part in split(em):
        label = "Emerging hot spots" if theme is None else f"Emerging: {state.theme_label(theme)}"
        categories, merged = dissolve(part, "_category")
        shown = gpd.GeoDataFrame(
            {
                "category": [esc(c.capitalize()) for c in categories],
                "fill": [EMERGING_COLOURS.get(c, UNKNOWN_COLOUR) for c in categories],
            },
            geometry=merged,
            crs=4326,
        )
        group = folium.FeatureGroup(name=esc(label), show=False).add_to(state.fmap)
        folium.GeoJson(
            feature_collection(shown, ["category", "fill"]),
            style_function=cell_style,
            tooltip=folium.GeoJsonTooltip(fields=["category"], aliases=["Pattern"]),
        ).add_to(group)
        groups.append(group)
        if theme is not None:
            state.themed.append((group, theme))
    if groups:
        present = list(dict.fromkeys(em["_category"]))
        ordered = [c for c in EMERGING_COLOURS if c in present] + sorted(
            c for c in present if c not in EMERGING_COLOURS
        )
        items = [(EMERGING_COLOURS.get(c, UNKNOWN_COLOUR), c.capitalize()) for c in ordered]
        state.generated += [lab for _c, lab in items]
        Legend("Emerging hot spots", items, layers=groups).add_to(state.fmap)
    state.cell_groups += groups
    return groups


def add_places(state: LayerState, locs: pd.DataFrame, popups: Any) -> dict[Any, folium.Marker]:
    """One badge per place (rank and a dot per theme, spoken text), the theme legend and the theme filter.

    ``locs`` holds ``rank``, ``_name`` (display name), ``themes``, ``latitude``, ``longitude``; ``popups``
    maps the frame's index to popup HTML (a :class:`ctxrisk.maps.steering._SharedPopups`). Returns each
    place's badge by the frame's index.
    """
    # a place with no theme shown (none with 5 or more events there) gets no dot: never a theme it was not given
    themes_by_place = {idx: themes_of(value) for idx, value in locs["themes"].items()}
    present = state.order(list(dict.fromkeys(t for ts in themes_by_place.values() for t in ts)))
    themed_layers = state.order(sorted({t for _l, t in state.themed} | set(state.filter_themes)))
    known = list(dict.fromkeys(present + themed_layers))
    labels = {t: state.theme_label(t) for t in known}  # set as textContent by the filter
    colours = {t: theme_colour(t, known) for t in known}
    markers = []
    badges: dict[Any, folium.Marker] = {}
    if len(locs):
        group = folium.FeatureGroup(name="Places of concern", show=True).add_to(state.fmap)
        for idx in locs.index:
            row = locs.loc[idx]
            rank, name = int(row["rank"]), str(row["_name"])
            ts = [t for t in present if t in themes_by_place[idx]]
            width = max(24, 10 * len(ts) + 6)
            marker = folium.Marker(
                [float(row["latitude"]), float(row["longitude"])],
                icon=folium.DivIcon(
                    html=place_badge(rank, name, ts, {t: state.theme_label(t) for t in ts}, colours),
                    icon_size=(width, 34),
                    icon_anchor=(width // 2, 46),  # stands on a 12 px stem above its cell, so the cell shows
                    class_name="ctxrisk-badge",
                ),
                tooltip=f"{rank}. {esc(name)}",
                title=f"Place {rank}: {name}",
                z_index_offset=1000 - rank,  # above the place-name labels, rank 1 on top
            ).add_to(group)
            popups.bindings.append((marker, str(idx)))
            markers.append((marker, ts))
            badges[idx] = marker
        state.generated += [state.theme_label(t) for t in present]
    if known:
        rows = [(t, labels[t], colours[t]) for t in known]
        ThemeFilter(rows, markers, state.themed, note=state.filter_note).add_to(state.fmap)
        state.generated.append(state.filter_note)
    return badges
