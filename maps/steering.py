"""The steering-group map (issue 6): boundaries, Gi* hot spots, emerging hot spots and ranked places of concern.

Pure functions over pandas/geopandas inputs; the caller reads the marts. Disclosure rules applied here:
no event points and no person IDs are ever drawn (inputs holding person-ID columns or point geometries are
refused), places are H3 cell centres or areas, and every count below the suppression threshold is shown
as ``"<5"``. Only the display fields are written into the page, never the input frames' other columns.
"""

from __future__ import annotations

import html as html_lib
import json
import logging
import math
from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from ctxrisk.maps.disclosure import suppress_counts
from ctxrisk.maps.language import assert_appropriate
from ctxrisk.maps.legend import InfoBox, Legend
from ctxrisk.maps.selfcontained import base_map
from ctxrisk.pipelines.errors import ValidationError

__all__ = [
    "EMERGING_COLOURS",
    "GI_BINS",
    "IMD_COLOURS",
    "THEME_LABELS",
    "build_steering_map",
    "describe_profile",
    "profile_svg",
]

logger = logging.getLogger(__name__)

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

#: Emerging hot spot categories (space-time pattern mining, ArcGIS names), normalised key -> colour.
EMERGING_COLOURS: dict[str, str] = {
    "new hot spot": "#67000d",
    "consecutive hot spot": "#a50f15",
    "intensifying hot spot": "#d7301f",
    "persistent hot spot": "#ef6548",
    "diminishing hot spot": "#fc8d59",
    "sporadic hot spot": "#fdbb84",
    "oscillating hot spot": "#fdd49e",
    "historical hot spot": "#fee8c8",
    "new cold spot": "#08306b",
    "consecutive cold spot": "#08519c",
    "intensifying cold spot": "#2171b5",
    "persistent cold spot": "#4292c6",
    "diminishing cold spot": "#6baed6",
    "sporadic cold spot": "#9ecae1",
    "oscillating cold spot": "#c6dbef",
    "historical cold spot": "#deebf7",
}
_NO_PATTERN = {"no pattern", "no pattern detected", "not significant", "none", ""}
_UNKNOWN_COLOUR = "#969696"

#: IMD decile 1 (most deprived 10% of neighbourhoods in England) to 10 (least deprived).
IMD_COLOURS: dict[int, str] = {
    1: "#3f007d", 2: "#54278f", 3: "#6a51a3", 4: "#807dba", 5: "#9e9ac8",
    6: "#bcbddc", 7: "#dadaeb", 8: "#efedf5", 9: "#f7f5fa", 10: "#fcfbfd",
}  # fmt: skip

THEME_LABELS: dict[str, str] = {
    "cse": "Child sexual exploitation",
    "cce": "Child criminal exploitation",
    "county_lines": "County lines",
    "missing": "Missing children",
    "radicalisation": "Radicalisation",
    "modern_slavery": "Modern slavery and trafficking",
    "serious_violence": "Serious violence",
    "other": "Other concerns",
}

_PERSON_COLUMNS = {"person_id", "person_a", "person_b", "persons", "found_with", "child"}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_PARTS_OF_DAY = (
    ("night", 0, 6),
    ("morning", 6, 12),
    ("afternoon", 12, 18),
    ("evening", 18, 24),
)


def _theme_label(theme: str) -> str:
    return THEME_LABELS.get(theme, theme.replace("_", " ").capitalize())


def _require(frame: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"{name} lacks column(s) {missing}; it has {list(frame.columns)}"
        raise ValidationError(msg)
    person = sorted(c for c in frame.columns if str(c).lower() in _PERSON_COLUMNS)
    if person:
        msg = f"{name} holds person-ID column(s) {person}: the steering map never takes person data"
        raise ValidationError(msg)


def _wgs84(gdf: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = f"{name} must be a GeoDataFrame, got {type(gdf).__name__}"
        raise ValidationError(msg)
    if gdf.crs is None:
        msg = f"{name} has no CRS; expected WGS84 (EPSG:4326)"
        raise ValidationError(msg)
    if len(gdf) and gdf.geom_type.isin(["Point", "MultiPoint"]).any():
        msg = f"{name} holds point geometries: only cell or area polygons may be mapped, never event points"
        raise ValidationError(msg)
    return gdf if gdf.crs.to_epsg() == 4326 else gdf.to_crs(4326)


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


def _feature_collection(gdf: gpd.GeoDataFrame, columns: Sequence[str]) -> dict[str, Any]:
    """GeoJSON of only the given display columns (plus geometry), coordinates rounded to 6 places, no bbox."""
    out = gpd.GeoDataFrame(gdf[list(columns)].reset_index(drop=True), geometry=gdf.geometry.values, crs=4326)
    out["geometry"] = full_precision(out.geometry.values)
    # no per-feature "bbox": it adds four numbers per feature, and its (min lat, max lon) pair reads as a point
    return out.to_geo_dict(na="null", show_bbox=False, drop_id=True)


def _normalise_category(value: object) -> str:
    text = " ".join(str(value).lower().replace("_", " ").replace("-", " ").split())
    return text.replace("hotspot", "hot spot").replace("coldspot", "cold spot")


def _as_profile(value: object, *, rank: object) -> np.ndarray:
    arr = np.asarray(value if value is not None else np.zeros((7, 24)), dtype="float64")
    if arr.shape != (7, 24) or not np.isfinite(arr).all() or (arr < 0).any():
        msg = f"location ranked {rank}: profile must be 7 weekdays x 24 hours of counts >= 0, got shape {arr.shape}"
        raise ValidationError(msg)
    return arr


def _themes_of(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.split(";") if t.strip()]
    return [str(t) for t in value]


def describe_profile(profile: Sequence[Sequence[float]] | np.ndarray, *, threshold: int = 5) -> str:
    """Say in words when a place is busiest, from a weekday x hour count profile.

    Parameters
    ----------
    profile : array-like, shape (7, 24)
        Event counts by weekday (row 0 = Monday) and hour of day (column 0 = 00:00-00:59), local time.
    threshold : int
        Suppression threshold: with fewer timed events than this no pattern is described.

    Returns
    -------
    str
        E.g. ``"Busiest on Friday and Saturday, mostly in the evening (18:00-23:59); peak hour 21:00-21:59."``
        Days within 80% of the busiest day's total are named (at most three; otherwise "spread across the
        week"); a part of the day (night 00-06, morning 06-12, afternoon 12-18, evening 18-24) is named
        when it holds at least 40% of events.
    """
    arr = _as_profile(profile, rank="?")
    total = arr.sum()
    if total < threshold:
        return f"Too few timed events (<{threshold}) to describe when this place is busiest."
    days = arr.sum(axis=1)
    busy = [i for i in range(7) if days[i] >= 0.8 * days.max()]
    if len(busy) > 3:
        day_text = "Spread across the week"
    else:
        names = [_WEEKDAYS[i] for i in busy]
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        day_text = f"Busiest on {joined}"
    hours = arr.sum(axis=0)
    shares = {name: hours[a:b].sum() / total for name, a, b in _PARTS_OF_DAY}
    part, share = max(shares.items(), key=lambda kv: kv[1])
    bounds = {name: (a, b) for name, a, b in _PARTS_OF_DAY}[part]
    if share >= 0.4:
        time_text = f"mostly in the {part} ({bounds[0]:02d}:00-{bounds[1] - 1:02d}:59)"
    else:
        time_text = "at varied times of day"
    peak = int(np.argmax(hours))
    return f"{day_text}, {time_text}; peak hour {peak:02d}:00-{peak:02d}:59."


def profile_svg(profile: Sequence[Sequence[float]] | np.ndarray, *, colour: str = "#b2182b") -> str:
    """A small inline SVG heat grid of a weekday x hour profile (shading relative to the busiest hour).

    Parameters
    ----------
    profile : array-like, shape (7, 24)
        As for ``describe_profile``.
    colour : str
        Fill colour of the cells; opacity is count / maximum count.

    Returns
    -------
    str
        ``<svg>`` markup, 7 rows x 24 columns, about 230 x 95 px, with day and hour labels; no counts.
    """
    arr = _as_profile(profile, rank="?")
    peak = arr.max()
    cell, left, top = 8, 30, 4
    parts = [
        f'<svg class="ctxrisk-profile" width="{left + 24 * cell + 4}" height="{top + 7 * cell + 16}" '
        f'role="img" aria-label="Activity by weekday and hour">'
    ]
    for d in range(7):
        y = top + d * cell
        parts.append(f'<text x="0" y="{y + cell - 1}" font-size="8">{_WEEKDAYS[d][:3]}</text>')
        for h in range(24):
            opacity = 0.0 if peak == 0 else arr[d, h] / peak
            parts.append(
                f'<rect x="{left + h * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                f'fill="{colour}" fill-opacity="{0.06 + 0.94 * opacity:.2f}"/>'
            )
    for h in (0, 6, 12, 18):
        parts.append(f'<text x="{left + h * cell}" y="{top + 7 * cell + 10}" font-size="8">{h:02d}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _period_text(periods: Sequence[object]) -> str:
    def one(p: object) -> str:
        if isinstance(p, (tuple, list)) and len(p) == 2:
            return f"{pd.Timestamp(p[0]).date()} to {pd.Timestamp(p[1]).date()}"
        return str(p)

    texts = [one(p) for p in periods]
    if not texts:
        msg = "periods is empty: the map must state the period it covers"
        raise ValidationError(msg)
    if len(texts) == 1:
        return f"Period: {texts[0]}."
    return f"Periods: {texts[0]} ... {texts[-1]} ({len(texts)} periods)."


def _settings_values(settings: Any) -> tuple[int, str | None, str, tuple[str, ...]]:
    if settings is None:
        from ctxrisk.pipelines.settings import load_settings

        settings = load_settings()
    threshold = int(settings.privacy.suppression_threshold)
    basemap = settings.maps.basemap_url
    attribution = getattr(settings.maps, "basemap_attribution", "") or ""
    return threshold, basemap, attribution, tuple(settings.themes)


def _location_popup(row: pd.Series, *, threshold: int, parts: list[str], n_ranked: int) -> tuple[str, str]:
    """Return (popup html, the same text with the place name left out, for the language check)."""
    themes = _themes_of(row["themes"])
    theme_text = ", ".join(_theme_label(t) for t in themes) or "No theme recorded"
    score_bits = [f"{p.removeprefix('score_').replace('_', ' ')} {float(row[p]):.2f}" for p in parts]
    score_text = f"Score {float(row['score']):.2f}" + (f" ({'; '.join(score_bits)})" if score_bits else "")
    profile = _as_profile(row["profile"], rank=row["rank"])
    lines = [
        f"Ranked {int(row['rank'])} of {n_ranked} places of concern.",
        score_text + ".",
        f"Themes: {theme_text}.",
        f"Trend: {row['trend']}.",
    ]
    if "count" in row.index:
        lines.append(f"Events in the period: {suppress_counts([row['count']], threshold=threshold).iloc[0]}.")
    lines.append(describe_profile(profile, threshold=threshold))
    body = "".join(f"<p style='margin:2px 0'>{html_lib.escape(line)}</p>" for line in lines)
    chart = profile_svg(profile) if profile.sum() >= threshold else ""
    name = html_lib.escape(str(row["_name"]))
    html = f"<div style='font:12px Arial,sans-serif;width:240px'><b>{name}</b>{body}{chart}</div>"
    return html, " ".join(lines)


def build_steering_map(
    *,
    boundaries: gpd.GeoDataFrame,
    hotspots: gpd.GeoDataFrame,
    emerging: gpd.GeoDataFrame,
    locations: pd.DataFrame,
    periods: Sequence[object],
    settings: Any = None,
    title: str = "Contextual safeguarding: places of concern",
    show_not_significant: bool = False,
    period_hotspots: Sequence[tuple[str, gpd.GeoDataFrame]] | None = None,
    notes: Sequence[str] = (),
) -> folium.Map:
    """Build the steering-group map: one layer per theme or kind of result, layer control last.

    Layers, in order: boundaries (one per ``level``, names on hover); IMD decile (hidden at first, when any
    boundary has a decile); Gi* hot and cold spot cells coloured by ``bin`` (one layer per theme when
    ``hotspots`` has a ``theme`` column); emerging hot spot categories (hidden at first; per theme likewise;
    "no pattern" cells are not drawn); ranked places of concern, one layer per theme, a numbered badge at the
    cell centre with a popup describing score, themes, trend and busy times in words plus a weekday x hour
    chart. Legends show only while their layers are on. An info box states the period and the suppression
    rule. No basemap unless ``settings.maps.basemap_url`` is set.

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame
        Columns ``code``, ``name``, ``level``, ``imd_decile`` (1-10 or missing), polygon geometry (WGS84;
        other CRSs are reprojected).
    hotspots : geopandas.GeoDataFrame
        Columns ``unit_id``, ``count``, ``z``, ``p``, ``q``, ``bin`` (-3..3, ArcGIS ``Gi_Bin`` coding on
        FDR q as in ``ctxrisk.analytics.gistar``), cell polygons; optional ``theme``.
    emerging : geopandas.GeoDataFrame
        Columns ``unit_id``, ``category`` (e.g. ``"intensifying hot spot"``, ``"new_hotspot"``; see
        ``EMERGING_COLOURS``), cell polygons; optional ``theme``.
    locations : pandas.DataFrame
        Columns ``rank`` (1 = most concern), ``unit_id``, ``name`` (or ``area``), ``score``, any number of
        ``score_*`` parts, ``themes`` (list or ``;``-separated string), ``trend`` (text), ``profile``
        (7 x 24 weekday x hour counts), ``latitude``/``longitude`` of the CELL CENTRE (checked against
        ``h3.cell_to_latlng`` when ``unit_id`` is an H3 cell); optional ``count``.
    periods : sequence
        Period labels, or ``(start, end)`` pairs, that the results cover (stated on the map).
    settings : ctxrisk.pipelines.settings.Settings or None
        Uses ``privacy.suppression_threshold``, ``maps.basemap_url``/``basemap_attribution`` and
        ``themes`` (layer order). ``None`` loads the default settings.
    title : str
        Heading of the info box.
    show_not_significant : bool
        Also draw Gi* cells with ``bin == 0`` (default ``False``: fewer shapes, smaller page).
    period_hotspots : sequence of (str, geopandas.GeoDataFrame) or None
        The period selector: Gi* results of the same analysis for several periods, as ``(label, frame)``
        pairs with the columns of ``hotspots``. Each becomes one *base* layer ``"Hot spots: <label>"`` of the
        layer control (radio buttons under the heading "Period"), so exactly one period's hot spots show at
        a time; the first is shown at first. ``hotspots`` is then not drawn on its own (pass the first
        period's frame). Per-theme splitting does not apply here. ``None`` (default): ``hotspots`` is drawn
        as overlay(s) as described above.
    notes : sequence of str
        Extra lines for the info box (e.g. what the period selector switches, what was left out).

    Returns
    -------
    folium.Map
        Render it with ``ctxrisk.maps.selfcontained.render_self_contained(m, basemap_url=...)``.

    Raises
    ------
    ValidationError
        On missing columns, person-ID columns, point geometries, bins outside -3..3, a location not at its
        cell centre, a malformed profile, empty ``periods`` or victim-blaming wording in generated text.
    """
    threshold, basemap_url, attribution, theme_order = _settings_values(settings)
    _require(boundaries, "boundaries", ["code", "name", "level", "imd_decile", "geometry"])
    _require(hotspots, "hotspots", ["unit_id", "count", "z", "p", "q", "bin", "geometry"])
    _require(emerging, "emerging", ["unit_id", "category", "geometry"])
    _require(
        locations, "locations", ["rank", "unit_id", "score", "themes", "trend", "profile", "latitude", "longitude"]
    )
    name_col = "name" if "name" in locations.columns else "area" if "area" in locations.columns else None
    if name_col is None:
        msg = f"locations need a 'name' or 'area' column; it has {list(locations.columns)}"
        raise ValidationError(msg)
    boundaries = _wgs84(boundaries, "boundaries")
    hotspots = _wgs84(hotspots, "hotspots")
    emerging = _wgs84(emerging, "emerging")
    period_text = _period_text(periods)
    if len(boundaries) == 0:
        msg = "boundaries is empty: the map needs at least one area to draw"
        raise ValidationError(msg)

    def order(themes: Sequence[str]) -> list[str]:
        known = [t for t in theme_order if t in themes]
        return known + sorted(t for t in themes if t not in known)

    minx, miny, maxx, maxy = boundaries.total_bounds
    fmap = base_map(
        location=((miny + maxy) / 2, (minx + maxx) / 2),
        zoom_start=12,
        basemap_url=basemap_url,
        basemap_attribution=attribution or None,
    )
    generated: list[str] = [title, period_text]

    area_groups: list[folium.FeatureGroup] = []

    # --- boundaries, finest level first
    levels = boundaries["level"].astype(str).value_counts().index.tolist()
    for i, level in enumerate(levels):
        part = boundaries[boundaries["level"].astype(str) == level]
        group = folium.FeatureGroup(name=f"Boundaries: {level}", show=True).add_to(fmap)
        area_groups.append(group)
        shown = pd.DataFrame({"name": part["name"].astype(str), "code": part["code"].astype(str)})
        folium.GeoJson(
            _feature_collection(gpd.GeoDataFrame(shown, geometry=part.geometry.values, crs=4326), ["name", "code"]),
            name=f"Boundaries: {level}",
            style_function=lambda _f, w=1 + i: {
                "color": "#555555",
                "weight": w,
                "fillColor": "#ffffff",
                "fillOpacity": 0.55 if w == 1 else 0.0,
            },
            tooltip=folium.GeoJsonTooltip(fields=["name", "code"], aliases=["Area", "Code"]),
        ).add_to(group)

    # --- IMD decile overlay
    imd = boundaries[boundaries["imd_decile"].notna()]
    if len(imd):
        deciles = pd.to_numeric(imd["imd_decile"], errors="coerce")
        if deciles.isna().any() or not deciles.between(1, 10).all() or (deciles != deciles.round()).any():
            msg = f"imd_decile must be a whole number 1-10; found {imd['imd_decile'][~deciles.between(1, 10)].iloc[0]}"
            raise ValidationError(msg)
        shown = gpd.GeoDataFrame(
            {
                "name": imd["name"].astype(str).to_numpy(),
                "decile": deciles.astype(int).astype(str).to_numpy(),
                "fill": [IMD_COLOURS[int(d)] for d in deciles],
            },
            geometry=imd.geometry.values,
            crs=4326,
        )
        group = folium.FeatureGroup(name="Deprivation (IMD decile)", show=False).add_to(fmap)
        area_groups.append(group)
        folium.GeoJson(
            _feature_collection(shown, ["name", "decile", "fill"]),
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
        Legend("Deprivation (IMD decile)", items, position="bottomleft", layers=[group]).add_to(fmap)

    # --- Gi* hot spots
    bins = pd.to_numeric(hotspots["bin"], errors="coerce")
    if bins.isna().any() or not bins.isin(list(GI_BINS)).all():
        msg = f"hotspots bin must be an integer -3..3; found {hotspots['bin'][~bins.isin(list(GI_BINS))].iloc[0]}"
        raise ValidationError(msg)
    hot = hotspots.assign(bin=bins.astype(int))
    if not show_not_significant:
        hot = hot[hot["bin"] != 0]
    if period_hotspots is None:
        hot_parts = [
            ("Hot spots (Gi*)" if theme is None else f"Hot spots: {_theme_label(theme)}", part, True)
            for theme, part in _split_by_theme(hot, order)
        ]
    else:
        hot_parts = _period_parts(period_hotspots, show_not_significant=show_not_significant)
        hot = pd.concat([part for _label, part, _base in hot_parts]) if hot_parts else hot.iloc[0:0]
    hot_groups = []
    for label, part, first in hot_parts:
        events = suppress_counts(part["count"].reset_index(drop=True), threshold=threshold)
        shown = gpd.GeoDataFrame(
            {
                "label": [GI_BINS[b][0] for b in part["bin"]],
                "events": events.to_numpy(),
                "z": [f"{z:.2f}" for z in part["z"]],
                "fill": [GI_BINS[b][1] for b in part["bin"]],
            },
            geometry=part.geometry.values,
            crs=4326,
        )
        if period_hotspots is None:
            group = folium.FeatureGroup(name=label, show=True).add_to(fmap)
        else:
            group = folium.FeatureGroup(name=label, overlay=False, show=first).add_to(fmap)
        folium.GeoJson(
            _feature_collection(shown, ["label", "events", "z", "fill"]),
            style_function=lambda f: {
                "fillColor": f["properties"]["fill"],
                "color": "#444444",
                "weight": 0.5,
                "fillOpacity": 0.75,
            },
            # folium refuses tooltip fields on an empty collection (a period with no significant cell)
            tooltip=folium.GeoJsonTooltip(fields=["label", "events", "z"], aliases=["Gi*", "Events", "z"])
            if len(shown)
            else None,
        ).add_to(group)
        hot_groups.append(group)
    gi_items = [(GI_BINS[b][1], GI_BINS[b][0]) for b in (3, 2, 1, 0, -1, -2, -3) if show_not_significant or b != 0]
    generated += [label for _c, label in gi_items]
    if hot_groups:
        # With a period selector one base layer always shows, so the legend always shows too.
        tied = hot_groups if period_hotspots is None else ()
        Legend("Hot spots (Getis-Ord Gi*, FDR-adjusted)", gi_items, layers=tied).add_to(fmap)
    if period_hotspots is not None:
        generated += [label for label, _part, _first in hot_parts]

    # --- emerging hot spots
    categories = emerging["category"].map(_normalise_category)
    em = emerging.assign(_category=categories)
    em = em[~em["_category"].isin(_NO_PATTERN)]
    em_groups = []
    for theme, part in _split_by_theme(em, order):
        label = "Emerging hot spots" if theme is None else f"Emerging: {_theme_label(theme)}"
        shown = gpd.GeoDataFrame(
            {
                "category": [c.capitalize() for c in part["_category"]],
                "fill": [EMERGING_COLOURS.get(c, _UNKNOWN_COLOUR) for c in part["_category"]],
            },
            geometry=part.geometry.values,
            crs=4326,
        )
        group = folium.FeatureGroup(name=label, show=False).add_to(fmap)
        folium.GeoJson(
            _feature_collection(shown, ["category", "fill"]),
            style_function=lambda f: {
                "fillColor": f["properties"]["fill"],
                "color": "#444444",
                "weight": 0.5,
                "fillOpacity": 0.75,
            },
            tooltip=folium.GeoJsonTooltip(fields=["category"], aliases=["Pattern"]),
        ).add_to(group)
        em_groups.append(group)
    if em_groups:
        present = list(dict.fromkeys(em["_category"]))
        ordered = [c for c in EMERGING_COLOURS if c in present] + sorted(
            c for c in present if c not in EMERGING_COLOURS
        )
        em_items = [(EMERGING_COLOURS.get(c, _UNKNOWN_COLOUR), c.capitalize()) for c in ordered]
        generated += [label for _c, label in em_items]
        Legend("Emerging hot spots", em_items, layers=em_groups).add_to(fmap)

    # --- ranked places of concern
    locs = locations.assign(_name=locations[name_col].astype(str)).sort_values("rank", kind="stable")
    _check_cell_centres(locs)
    parts = [c for c in locs.columns if str(c).startswith("score_")]
    n_ranked = len(locs)
    by_theme: dict[str, list[int]] = {}
    for idx, value in locs["themes"].items():
        for theme in _themes_of(value) or ["other"]:
            by_theme.setdefault(theme, []).append(idx)
    # A place listed under several themes has one badge per theme layer; its popup (text and a 168-cell chart)
    # is written into the page once and bound to each badge (see _SharedPopups), not copied per badge.
    popups = _SharedPopups(max_width=280)
    for idx in locs.index:
        popup_html, popup_text = _location_popup(locs.loc[idx], threshold=threshold, parts=parts, n_ranked=n_ranked)
        generated.append(popup_text)
        popups.contents[str(idx)] = popup_html
    for theme in order(list(by_theme)):
        group = folium.FeatureGroup(name=f"Places of concern: {_theme_label(theme)}", show=True).add_to(fmap)
        for idx in by_theme[theme]:
            row = locs.loc[idx]
            rank = int(row["rank"])
            marker = folium.Marker(
                [float(row["latitude"]), float(row["longitude"])],
                icon=folium.DivIcon(
                    html=f'<div class="ctxrisk-rank">{rank}</div>', icon_size=(22, 22), icon_anchor=(11, 11)
                ),
                tooltip=f"{rank}. {html_lib.escape(str(row['_name']))}",
            ).add_to(group)
            popups.bindings.append((marker, str(idx)))
    if popups.bindings:
        popups.add_to(fmap)
    generated += [_theme_label(t) for t in by_theme]
    fmap.get_root().header.add_child(
        folium.Element(
            "<style>.ctxrisk-rank{width:22px;height:22px;border-radius:11px;background:#252525;color:#fff;"
            "font:bold 11px/22px Arial,sans-serif;text-align:center;border:2px solid #fff;"
            "box-shadow:0 0 3px rgba(0,0,0,.6);box-sizing:border-box}"
            ".leaflet-control-layers{font:12px/1.4 Arial,Helvetica,sans-serif}"
            ".leaflet-control-layers-base:not(:empty)::before{content:'Period';display:block;font-weight:bold}"
            "</style>"
        ),
        name="ctxrisk_rank_css",
    )

    info = [
        period_text,
        f"Counts under {threshold} are shown as <{threshold}.",
        "Places are shown as grid cells or areas: no event locations and no information about individual "
        "children are included.",
        *notes,
    ]
    generated += info
    InfoBox(title, info).add_to(fmap)
    if area_groups and (hot_groups or em_groups):
        _CellsOnTop(area_groups, hot_groups + em_groups).add_to(fmap)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    folium.LayerControl(collapsed=False).add_to(fmap)
    assert_appropriate("\n".join(generated), where="steering map text")
    logger.info(
        "built steering map: %s boundaries, %s hot/cold spot cells, %s emerging cells, %s places of concern",
        f"{len(boundaries):,}",
        f"{len(hot):,}",
        f"{len(em):,}",
        f"{n_ranked:,}",
    )
    return fmap


class _CellsOnTop(MacroElement):
    """Keep hot spot and emerging cells above the area layers when an area layer is switched on.

    Leaflet draws a layer that is (re-)added on top of the others, so switching on the IMD overlay or a
    boundary layer (both filled) would hide the cells; the visible cell layers are brought back to the front.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var areas = [{% for l in this.areas %}{{ l.get_name() }}{{ "," if not loop.last }}{% endfor %}];
            var cells = [{% for l in this.cells %}{{ l.get_name() }}{{ "," if not loop.last }}{% endfor %}];
            map.on("overlayadd", function (e) {
                if (areas.indexOf(e.layer) < 0) { return; }
                cells.forEach(function (l) { if (map.hasLayer(l)) { l.bringToFront(); } });
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, areas: Sequence[folium.FeatureGroup], cells: Sequence[folium.FeatureGroup]) -> None:
        super().__init__()
        self._name = "CtxriskCellsOnTop"
        self.areas = list(areas)
        self.cells = list(cells)


class _SharedPopups(MacroElement):
    """Bind one popup text to several markers: each text is written into the page once, as a JSON string."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.contents_json() }};
        {%- for marker, key in this.bindings %}
        {{ marker.get_name() }}.bindPopup({{ this.get_name() }}[{{ key|tojson }}], {maxWidth: {{ this.max_width }}});
        {%- endfor %}
        {% endmacro %}
        """
    )

    def __init__(self, *, max_width: int) -> None:
        super().__init__()
        self._name = "CtxriskPopups"
        self.max_width = int(max_width)
        self.contents: dict[str, str] = {}
        self.bindings: list[tuple[folium.Marker, str]] = []

    def contents_json(self) -> str:
        # "</" is escaped so that no popup text can close the page's <script> element
        return json.dumps(self.contents, ensure_ascii=False).replace("</", "<\\/")


def _period_parts(
    period_hotspots: Sequence[tuple[str, gpd.GeoDataFrame]], *, show_not_significant: bool
) -> list[tuple[str, gpd.GeoDataFrame, bool]]:
    """Validate each period's Gi* frame; return ``(layer label, cells to draw, shown first)`` per period."""
    if len(period_hotspots) == 0:
        msg = "period_hotspots is empty: give at least one (label, hot spots) pair, or None"
        raise ValidationError(msg)
    labels = [str(label) for label, _frame in period_hotspots]
    if len(set(labels)) != len(labels):
        msg = f"period labels must differ from each other, got {labels}"
        raise ValidationError(msg)
    out = []
    for i, (label, frame) in enumerate(period_hotspots):
        name = f"hot spots of period {label!r}"
        _require(frame, name, ["unit_id", "count", "z", "p", "q", "bin", "geometry"])
        frame = _wgs84(frame, name)
        bins = pd.to_numeric(frame["bin"], errors="coerce")
        if bins.isna().any() or not bins.isin(list(GI_BINS)).all():
            msg = f"{name}: bin must be an integer -3..3; found {frame['bin'][~bins.isin(list(GI_BINS))].iloc[0]}"
            raise ValidationError(msg)
        part = frame.assign(bin=bins.astype(int))
        if not show_not_significant:
            part = part[part["bin"] != 0]
        out.append((f"Hot spots: {label}", part, i == 0))
    return out


def _split_by_theme(frame: gpd.GeoDataFrame, order: Any) -> list[tuple[str | None, gpd.GeoDataFrame]]:
    if len(frame) == 0:
        return []
    if "theme" not in frame.columns:
        return [(None, frame)]
    themes = frame["theme"].astype(str)
    return [(t, frame[themes == t]) for t in order(list(dict.fromkeys(themes)))]


def _check_cell_centres(locs: pd.DataFrame) -> None:
    for _, row in locs.iterrows():
        unit = row["unit_id"]
        if isinstance(unit, str) and h3.is_valid_cell(unit):
            lat, lon = h3.cell_to_latlng(unit)
            if abs(lat - float(row["latitude"])) > 1e-6 or abs(lon - float(row["longitude"])) > 1e-6:
                msg = (
                    f"location ranked {row['rank']} ({unit}) is at {row['latitude']}, {row['longitude']}, not at its "
                    f"cell centre {lat:.6f}, {lon:.6f}: only cell centres may be mapped"
                )
                raise ValidationError(msg)
