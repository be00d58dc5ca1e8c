"""The steering-group map (issues 6, 21): where the places of concern are, told so a steering group can read it.

Pure functions over pandas/geopandas inputs; the caller reads the marts. Disclosure rules applied here:
no event points and no person IDs are ever drawn (inputs holding person-ID columns or point geometries are
refused), places are H3 cell centres or areas named by area (never by an H3 ID), every count below the
suppression threshold is shown as ``"<5"``, and busy times are told in blocks of at least the threshold
(:mod:`ctxrisk.maps.steering_profile`). Every data-derived string is escaped
(:mod:`ctxrisk.maps.steering_layers`). Only the display fields are written into the page.
"""

from __future__ import annotations

import html as html_lib
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
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
from ctxrisk.maps.selfcontained import base_map
from ctxrisk.maps.steering_furniture import Furniture, add_heading
from ctxrisk.maps.steering_layers import (
    EMERGING_COLOURS,
    GI_BINS,
    IMD_COLOURS,
    LayerState,
    add_boundaries,
    add_context,
    add_emerging,
    add_hotspots,
    add_imd,
    add_places,
    full_precision,
)
from ctxrisk.maps.steering_periods import PeriodSlider, place_states
from ctxrisk.maps.steering_places import LAD_TOLERANCE_M, naming_areas, place_names, themes_of, themes_shown
from ctxrisk.maps.steering_profile import as_profile, day_part_counts, describe_profile, profile_svg
from ctxrisk.maps.steering_stack import StackedPlaces
from ctxrisk.maps.steering_themes import ThemeHotspots, add_theme_hotspots, check_theme_parts
from ctxrisk.maps.wording import span_text
from ctxrisk.pipelines import lad
from ctxrisk.pipelines.errors import ValidationError

__all__ = [
    "EMERGING_COLOURS",
    "GI_BINS",
    "IMD_COLOURS",
    "THEME_LABELS",
    "analysed_area",
    "build_steering_map",
    "districts_around",
    "describe_profile",
    "full_precision",
    "profile_svg",
]

logger = logging.getLogger(__name__)

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


def _one_period(p: object) -> str:
    if isinstance(p, (tuple, list)) and len(p) == 2:
        return span_text(pd.Timestamp(p[0]).date(), pd.Timestamp(p[1]).date())
    return str(p)


def _period_text(periods: Sequence[object]) -> str:
    texts = [_one_period(p) for p in periods]
    if not texts:
        msg = "periods is empty: the map must state the period it covers"
        raise ValidationError(msg)
    if len(texts) == 1:
        return f"Period: {texts[0]}."
    if len(texts) <= 4:  # "all periods (...) ... 2026 Q2 (...)" left the middle one (the latest quarter) out
        return f"Periods to choose from: {'; '.join(texts)}."
    return f"Periods to choose from: {texts[0]} ... {texts[-1]} ({len(texts)} periods)."


def _settings_values(settings: Any) -> tuple[int, str | None, str, tuple[str, ...]]:
    if settings is None:
        from ctxrisk.pipelines.settings import load_settings

        settings = load_settings()
    threshold = int(settings.privacy.suppression_threshold)
    basemap = settings.maps.basemap_url
    attribution = getattr(settings.maps, "basemap_attribution", "") or ""
    return threshold, basemap, attribution, tuple(settings.themes)


#: Score parts that rest on a count of events, children or searches: each is named as a reason for a place's rank
#: only when the count behind it (this column) reaches the suppression threshold. Parts not listed here (hot spot
#: z, trend) are statistics, not counts.
PART_COUNTS = {
    "score_events": "count",
    "score_children": "distinct_children",
    "score_repeat_found": "repeat_found_at",
    "score_intelligence": "intelligence_items",
    "score_searches": "searches_of_children",
}
PART_WORDS = {
    "score_hotspot": "a hot spot",
    "score_events": "many events",
    "score_children": "many children linked",
    "score_repeat_found": "children found there repeatedly",
    "score_intelligence": "graded intelligence",
    "score_searches": "searches of children",
    "score_trend": "a rising trend",
}


def rank_reasons(row: pd.Series, parts: list[str], *, threshold: int, most: int = 3) -> list[str]:
    """What raises a place's rank, in words, largest part first, with no number that could be worked back.

    A part resting on a count is named only when that count (see :data:`PART_COUNTS`) is present and at least
    ``threshold``; the parts' values are never shown, since each is linear in its count.
    """
    named = []
    for part in sorted(parts, key=lambda c: -float(row[c]) if pd.notna(row[c]) else 0.0):
        if not pd.notna(row[part]) or float(row[part]) <= 0:
            continue
        source = PART_COUNTS.get(part)
        if part not in PART_WORDS:
            continue  # a part this page does not know may rest on a count: not named
        if source is not None and (source not in row.index or not pd.notna(row[source])):
            continue
        if source is not None and int(row[source]) < threshold:
            continue
        named.append(PART_WORDS[part])
    return named[:most]


#: Said in every popup when no place has a timed event (police.uk dates crimes to the month): a fact of the
#: records, not a count of one place.
UNTIMED = "The records give no time of day (they are dated to the day or month), so busy times cannot be described."


#: Under the theme filter when no hot spots by theme were computed: unticking a theme hides places only.
THEMES_NOT_SPLIT = "The theme boxes choose the places shown; the hot spots are of every theme together."


def _untimed(locs: pd.DataFrame, threshold: int) -> bool:
    """Whether no place has a timed event while the places hold at least ``threshold`` untimed ones."""
    if not {"profile_events", "profile_excluded"} <= set(locs.columns):
        return False
    return int(locs["profile_events"].sum()) == 0 and int(locs["profile_excluded"].sum()) >= threshold


def _location_popup(
    row: pd.Series, *, threshold: int, parts: list[str], n_ranked: int, order: Any = list, untimed: bool = False
) -> tuple[str, str]:
    """Return (popup html, the same text with the place name left out, for the language check)."""
    themes = order(themes_of(row["themes"]))
    theme_text = ", ".join(_theme_label(t) for t in themes) or f"No theme with {threshold} or more events"
    reasons = rank_reasons(row, parts, threshold=threshold)
    score_text = f"Ranked high for {', '.join(reasons)}" if reasons else "Ranked on the combined score"
    profile = as_profile(row["profile"], rank=row["rank"])
    lines = [
        f"Ranked {int(row['rank'])} of {n_ranked} places of concern.",
        score_text + ".",
        f"Themes: {theme_text}.",
        f"Trend: {row['trend']}.",
    ]
    if "count" in row.index and bool(row.get("withheld", False)):
        lines.append(
            "Events (all periods analysed): withheld, so that a count under the threshold cannot be worked out."
        )
    elif "count" in row.index:
        lines.append(f"Events (all periods analysed): {suppress_counts([row['count']], threshold=threshold).iloc[0]}.")
    lines.append(UNTIMED if untimed else describe_profile(profile, threshold=threshold))
    body = "".join(f"<p style='margin:2px 0'>{html_lib.escape(line)}</p>" for line in lines)
    chart = profile_svg(profile, threshold=threshold) if (day_part_counts(profile) >= threshold).any() else ""
    name = html_lib.escape(str(row["_name"]))
    html = f"<div style='font:12px Arial,sans-serif;width:250px'><b>{name}</b>{body}{chart}</div>"
    return html, " ".join(lines)


def analysed_area(
    latitude: Sequence[float],
    longitude: Sequence[float],
    *,
    weights: Sequence[float] | None = None,
    min_share: float = 0.04,
    margin_m: float = LAD_TOLERANCE_M,
) -> gpd.GeoDataFrame:
    """The local authority districts analysed: those holding a share of the events (or places) analysed.

    Parameters
    ----------
    latitude, longitude : sequence of float
        Centres of the cells or areas analysed (WGS84).
    weights : sequence of float or None
        Events at each point (a cell's count); None counts each point once. Weighting by events keeps a
        small district whose cells reach into its neighbours (the City of London's 2.9 km2 within the
        H3 cells of its events) from being outnumbered by those neighbours' cells.
    min_share : float
        A district is analysed when it holds at least this share of the weight (the district holding most
        is always analysed). Once 10%: Knowsley, one of Merseyside Police's five districts, holds 8% of the
        real December 2018 street crimes (6% at least 500 m inside it) and was drawn "not analysed", its hot
        spots left out; the generalised Tower Hamlets holds 0.3% of the City of London's crimes 500 m
        inside it (0.4% of the hot spot run's cells, weighted by their counts).
    margin_m : float
        A district other than the one holding most weight counts only the points at least this far inside
        its outline towards ``min_share`` (of all the weight). The packaged outlines are generalised to
        500 m, so a point nearer an outline than that may lie in the neighbouring district: of the real City
        of London street crimes (2023-05 to 2024-12), 17% fell in the generalised Tower Hamlets, which was
        then drawn as analysed; 0.3% lie deeper in it.

    Returns
    -------
    geopandas.GeoDataFrame
        ``code``, ``name`` and outline of each district (packaged ONS outlines, :mod:`ctxrisk.pipelines.lad`);
        empty when no point is in England.
    """
    codes = pd.Series(lad.local_authorities_for_points(latitude, longitude), dtype=object)
    weight = pd.Series(np.ones(len(codes)) if weights is None else np.asarray(weights, dtype=float))
    every = lad.local_authorities()
    inside = codes.notna() & (weight > 0)
    if not inside.any():
        return every.iloc[0:0]
    totals = weight[inside].groupby(codes[inside]).sum().sort_values(ascending=False)
    deep = inside & _deeper_than(codes, latitude, longitude, margin_m)
    shares = weight[deep].groupby(codes[deep]).sum() / totals.sum()
    chosen = [totals.index[0]] + [c for c, share in shares.items() if share >= min_share and c != totals.index[0]]
    return every[every["code"].isin(chosen)].reset_index(drop=True)


def _deeper_than(codes: pd.Series, latitude: Sequence[float], longitude: Sequence[float], margin_m: float) -> pd.Series:
    """Whether each point lies at least ``margin_m`` inside the outline of its district (``codes``)."""
    if margin_m <= 0:
        return pd.Series(True, index=codes.index)
    outlines = lad.local_authorities().set_index("code").geometry.to_crs(27700).boundary
    points = gpd.GeoSeries(gpd.points_from_xy(longitude, latitude), crs=4326).to_crs(27700)
    known = codes.notna().to_numpy()
    depth = np.zeros(len(codes))
    edges = outlines.reindex(codes[known].astype(str).to_numpy()).to_numpy()
    depth[known] = shapely.distance(np.asarray(points.values, dtype=object)[known], edges)
    return pd.Series(depth >= margin_m, index=codes.index)


def districts_around(analysed: gpd.GeoDataFrame, *, margin: float = 0.2) -> gpd.GeoDataFrame:
    """The districts around the analysed ones, clipped to a frame ``margin`` wider on each side (to shade)."""
    every = lad.local_authorities()
    if not len(analysed):
        return every.iloc[0:0]
    minx, miny, maxx, maxy = analysed.total_bounds
    dx, dy = (maxx - minx) * margin, (maxy - miny) * margin
    frame = shapely.box(minx - dx, miny - dy, maxx + dx, maxy + dy)
    around = every[~every["code"].isin(analysed["code"]) & every.intersects(frame)].copy()
    around["geometry"] = around.geometry.intersection(frame)
    return around[~around.geometry.is_empty].reset_index(drop=True)


def _cells_within(cells: gpd.GeoDataFrame, analysed: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Keep the cells that touch an analysed district (all of them when none is known)."""
    if not len(analysed) or not len(cells):
        return cells
    tree = shapely.STRtree(np.asarray(analysed.geometry.values, dtype=object))
    hit, _ = tree.query(np.asarray(cells.geometry.values, dtype=object), predicate="intersects")
    keep = np.zeros(len(cells), dtype=bool)
    keep[hit] = True
    if not keep.all():
        logger.info("%s cells outside the analysed districts are not drawn", f"{int((~keep).sum()):,}")
    return cells[keep]


def _clip_to(boundaries: gpd.GeoDataFrame, analysed: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Keep the areas whose inside point lies in an analysed district (the study-area outline is always kept)."""
    if not len(analysed) or not len(boundaries):
        return boundaries
    points = boundaries.geometry.representative_point()
    codes = lad.local_authorities_for_points(points.y.to_numpy(), points.x.to_numpy())
    keep = np.isin(codes.astype(str), analysed["code"].astype(str).to_numpy())
    keep |= (boundaries["level"].astype(str) == "study area").to_numpy()
    dropped = int((~keep).sum())
    if dropped:
        logger.info("%s areas outside the analysed districts are not drawn", f"{dropped:,}")
    return boundaries[keep]


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
    analysed: gpd.GeoDataFrame | None = None,
    generated: date | datetime | None = None,
    theme_hotspots: Sequence[tuple[str | None, str, gpd.GeoDataFrame]] = (),
    place_counts: Mapping[str, Mapping[str, int]] | None = None,
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
    analysed : geopandas.GeoDataFrame or None
        ``code``, ``name`` and outline of the local authority district(s) analysed; ``None`` finds them
        from the cells and places drawn (:func:`analysed_area`). Their outline and name are always drawn,
        boundaries outside them are left out, and the districts around are shaded "not analysed".
    generated : datetime.datetime, datetime.date or None
        When the map was made, printed under the heading as the report prints it (``5 December 2026 10:25
        UTC``; a date prints without the time). Default now.
    theme_hotspots : sequence of (str or None, str, geopandas.GeoDataFrame)
        Each theme's own Gi* cells (``marts.hotspot_themes``) as ``(period label, theme, frame)`` with
        ``unit_id``, ``z``, ``bin`` and cell polygons; the period label is one of ``period_hotspots``'
        (None when there is no period selector). The theme filter then switches the hot spot cells: all
        themes ticked shows the overall run, otherwise each ticked theme's cells for the period shown. No
        count of a theme's cell is written.
    place_counts : mapping of period label -> mapping of unit_id -> int, or None
        Each place's events per period (from the marts). Choosing a period then renumbers the places by
        their events in it and fades those with fewer than the threshold
        (:func:`ctxrisk.maps.steering_periods.place_states`); None: places are faded where their cell is not
        a hot spot in the period.

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

    hot_parts = _hot_parts(hotspots, period_hotspots, order, show_not_significant=show_not_significant)
    locs = locations.sort_values("rank", kind="stable")
    _check_cell_centres(locs)
    if analysed is None:
        analysed = _area_of(hot_parts, emerging, locs, boundaries)
    around = districts_around(analysed)
    boundaries = _clip_to(boundaries, analysed)
    hot_parts = [(label, _cells_within(part, analysed), first, theme) for label, part, first, theme in hot_parts]
    emerging = _cells_within(emerging, analysed)
    frame_of = analysed if len(analysed) else boundaries
    minx, miny, maxx, maxy = frame_of.total_bounds
    fmap = base_map(
        location=((miny + maxy) / 2, (minx + maxx) / 2),
        zoom_start=11,
        basemap_url=basemap_url,
        basemap_attribution=attribution or None,
        control_scale=True,
        zoom_snap=0.25,
    )
    state = LayerState(fmap, threshold, order, _theme_label, generated=[title, period_text])
    names = [str(n) for n in analysed["name"]]
    area_name = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else ""
    add_context(state, analysed=analysed, neighbours=around)
    add_boundaries(state, boundaries)
    add_imd(state, boundaries)
    as_periods = period_hotspots is not None
    labels = [label for label, _f in period_hotspots] if period_hotspots is not None else None
    theme_parts = [
        (i, theme, _cells_within(cells, analysed)) for i, theme, cells in check_theme_parts(theme_hotspots, labels)
    ]
    theme_parts = [(i, theme, cells) for i, theme, cells in theme_parts if len(cells)]
    theme_layers = add_theme_hotspots(state, theme_parts)
    if not theme_layers:  # e.g. the demo: more units than [hotspots] theme_max_units, so no per-theme run
        state.filter_note = THEMES_NOT_SPLIT
    state.filter_themes += [theme for _i, theme, _c in theme_parts]
    hot_groups = add_hotspots(
        state,
        hot_parts,
        as_periods=as_periods,
        show_not_significant=show_not_significant,
        legend_also=[layer for layer, _i, _t in theme_layers],
    )
    if period_hotspots is not None:
        state.generated += [label for label, *_rest in hot_parts]
    add_emerging(state, emerging, lambda frame: _split_by_theme(frame, order))
    names_from = naming_areas(boundaries, analysed)  # never the study-area outline ("Area analysed (...)")
    locs = locs.assign(
        _name=place_names(locs[name_col].tolist(), locs["latitude"], locs["longitude"], areas=names_from)
    )
    if "counts_by_theme" in locs.columns:  # a theme is named (popup, badge dot, filter) only at 5 or more events
        locs["themes"] = [
            themes_shown(";".join(themes_of(t)), c, threshold)
            for t, c in zip(locs["themes"], locs["counts_by_theme"], strict=True)
        ]
    popups = _SharedPopups(max_width=290)
    parts = [c for c in locs.columns if str(c).startswith("score_")]
    untimed = _untimed(locs, threshold)
    for idx in locs.index:
        popup_html, popup_text = _location_popup(
            locs.loc[idx], threshold=threshold, parts=parts, n_ranked=len(locs), order=order, untimed=untimed
        )
        state.generated.append(popup_text)
        popups.contents[str(idx)] = popup_html
    badges = add_places(state, locs, popups)
    if period_hotspots is not None and len(hot_groups) > 1:
        has_emerging = len(emerging) > 0
        slider = _period_slider(hot_parts, hot_groups, locs, badges, place_counts, threshold, emerging=has_emerging)
        slider.add_to(fmap)
        state.generated += [str(st["text"]) for _m, states in slider.places for st in states] + [slider.note]
    StackedPlaces([(badges[i], int(locs.loc[i, "rank"]), str(locs.loc[i, "_name"])) for i in badges]).add_to(fmap)
    if theme_layers:
        pairs = zip(hot_groups, hot_parts, strict=True)
        overall = [[g] for g in hot_groups] if as_periods else [[g for g, p in pairs if p[3] is None]]
        themes = {t: _theme_label(t) for _l, _i, t in theme_layers} | {t: _theme_label(t) for t in theme_order}
        shown = labels if labels is not None else [_one_period(periods[0])]
        ThemeHotspots(overall, theme_layers, labels=themes, periods=shown).add_to(fmap)
        state.generated += ["Hot spots: every theme together.", "no hot or cold spot of its own in"]
    if popups.bindings:
        popups.add_to(fmap)

    flagged = sum(len(part) for _label, part, *_rest in hot_parts)
    info = [
        period_text,
        *_empty_sentences(flagged, len(locs)),
        f"Counts under {threshold} are shown as <{threshold}; busy times are told only for blocks of "
        f"{threshold} or more events.",
        "Places are shown as grid cells or areas: no event locations and no information about individual "
        "children are included.",
        *notes,
    ]
    if theme_layers:
        info.append(
            "Unticking a theme shows each ticked theme's own hot spots (a Gi* run of that theme's events alone); "
            "their cells carry no event count."
        )
    state.generated += info
    if state.cell_groups:
        _CellsOnTop(state.area_groups, state.cell_groups).add_to(fmap)
    bounds = [[miny, minx], [maxy, maxx]]
    opening_fit = folium.FitBounds(bounds)
    opening_fit.options["animate"] = False  # an animated opening zoom would undo the phone's refit (Furniture)
    opening_fit.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    heading = add_heading(
        fmap,
        title=title,
        area=area_name,
        period=period_text,
        shown=_one_period(periods[0]),
        generated=generated or datetime.now(UTC),
        notes=info,
        attribution=lad.ATTRIBUTION,
    )
    Furniture(bounds=bounds, label=f"Map: {heading}").add_to(fmap)
    fmap.ctxrisk_title = heading
    fmap.ctxrisk_bounds = bounds  # the analysed area's [[south, west], [north, east]], as fitted
    assert_appropriate("\n".join(state.generated), where="steering map text")
    logger.info(
        "built steering map: %s boundaries, %s hot/cold spot cells, %s emerging cells, %s places of concern",
        f"{len(boundaries):,}",
        f"{flagged:,}",
        f"{len(emerging):,}",
        f"{len(locs):,}",
    )
    return fmap


#: What the period choice cannot change, said under the slider.
EMERGING_WHOLE_RUN = (
    "Emerging hot spots stay the same whichever period is shown: they are a trend over every month analysed."
)


def _period_slider(
    hot_parts: Sequence[tuple[str, gpd.GeoDataFrame, bool, str | None]],
    hot_groups: Sequence[Any],
    locs: pd.DataFrame,
    badges: dict[Any, folium.Marker],
    place_counts: Mapping[str, Mapping[str, int]] | None,
    threshold: int,
    *,
    emerging: bool,
) -> PeriodSlider:
    """The slider over the period layers, with each place's state per period (:func:`place_states`)."""
    labels = [label.removeprefix("Hot spots: ") for label, *_r in hot_parts]
    hot_sets = [set(part.loc[part["bin"] > 0, "unit_id"].astype(str)) for _l, part, *_r in hot_parts]
    idx = list(badges)
    units = [str(locs.loc[i, "unit_id"]) for i in idx]
    withheld = [bool(locs.loc[i, "withheld"]) if "withheld" in locs.columns else False for i in idx]
    states = place_states(
        units,
        [int(locs.loc[i, "rank"]) for i in idx],
        labels,
        [[u in hot for hot in hot_sets] for u in units],
        place_counts,
        threshold=threshold,
        withheld=withheld,
    )
    slider = PeriodSlider(
        list(zip(hot_groups, labels, strict=True)),
        [(badges[i], s) for i, s in zip(idx, states, strict=True)],
        note=EMERGING_WHOLE_RUN if emerging else "",
    )
    return slider


def _empty_sentences(flagged: int, places: int) -> list[str]:
    """What the page says when nothing was flagged, so an empty map is not read as a broken one."""
    out = []
    if flagged == 0:
        out.append(
            "No cell was flagged as a hot or cold spot in this period: no count stood out from its "
            "neighbours' at 90% confidence after the false discovery rate correction."
        )
    if places == 0:
        out.append("No places of concern are ranked for this edition.")
    return out


def _hot_parts(
    hotspots: gpd.GeoDataFrame,
    period_hotspots: Sequence[tuple[str, gpd.GeoDataFrame]] | None,
    order: Any,
    *,
    show_not_significant: bool,
) -> list[tuple[str, gpd.GeoDataFrame, bool, str | None]]:
    """``(layer label, cells, shown first, theme)`` for each hot spot layer: per period, else per theme."""
    if period_hotspots is not None:
        return [
            (label, part, first, None)
            for label, part, first in _period_parts(period_hotspots, show_not_significant=show_not_significant)
        ]
    bins = pd.to_numeric(hotspots["bin"], errors="coerce")
    if bins.isna().any() or not bins.isin(list(GI_BINS)).all():
        msg = f"hotspots bin must be an integer -3..3; found {hotspots['bin'][~bins.isin(list(GI_BINS))].iloc[0]}"
        raise ValidationError(msg)
    hot = hotspots.assign(bin=bins.astype(int))
    if not show_not_significant:
        hot = hot[hot["bin"] != 0]
    return [
        ("Hot spots (Gi*)" if theme is None else f"Hot spots: {_theme_label(theme)}", part, True, theme)
        for theme, part in _split_by_theme(hot, order)
    ]


def _area_of(
    hot_parts: Sequence[tuple[str, gpd.GeoDataFrame, bool, str | None]],
    emerging: gpd.GeoDataFrame,
    locs: pd.DataFrame,
    boundaries: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """:func:`analysed_area` of the hot spot cells drawn, weighted by their events (else the other cells and
    places, else the boundaries)."""
    hot = [part for _l, part, *_r in hot_parts if len(part)]
    if hot:
        cells = pd.concat(hot, ignore_index=True)
        centres = shapely.centroid(np.asarray(cells.geometry.values, dtype=object))
        weights = pd.to_numeric(cells["count"], errors="coerce").fillna(0).to_numpy()
        if weights.sum() > 0:
            return analysed_area(shapely.get_y(centres), shapely.get_x(centres), weights=weights)
    centres = shapely.centroid(np.asarray(emerging.geometry.values, dtype=object))
    lat = list(shapely.get_y(centres)) + [float(v) for v in locs["latitude"]]
    lon = list(shapely.get_x(centres)) + [float(v) for v in locs["longitude"]]
    if not lat:
        points = boundaries.geometry.representative_point()
        lat, lon = list(points.y), list(points.x)
    return analysed_area(lat, lon)


class _CellsOnTop(MacroElement):
    """Keep hot spot and emerging cells above the area layers, and thick enough to see when zoomed out.

    Leaflet draws a layer that is (re-)added on top of the others, so switching on the IMD overlay or a
    boundary layer (both filled) would hide the cells; the visible cell layers are brought back to the front.
    A cell of 0.1 km2 is two or three pixels wide at the zoom that shows a whole district, so the cells'
    edge (in their own colour) is 5 px below zoom 11, 3 px below 12 and 2 px from there.
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
            function thicken() {
                var z = map.getZoom(), w = z < 11 ? 5 : (z < 12 ? 3 : 2);
                cells.forEach(function (l) {
                    l.eachLayer(function (g) { if (g.setStyle) { g.setStyle({weight: w}); } });
                });
            }
            map.on("zoomend overlayadd baselayerchange", thicken);
            thicken();
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
