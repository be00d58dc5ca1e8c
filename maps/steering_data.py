"""Read the steering map's inputs from the warehouse: areas, Gi* hot spots per period, emerging hot spots, places.

:func:`load_steering_inputs` turns ``raw.boundaries`` and the hot spot and location marts into the frames
that :func:`ctxrisk.maps.steering.build_steering_map` draws. Only display fields leave this module: area names,
codes, IMD deciles and simplified outlines; cell outlines with their count, z and bin; emerging-pattern
categories; and for each ranked place its name, cell-centre position, score parts, themes, trend in words
and weekday x hour profile. No event row or person ID is read; event positions are only compared with the
outline vertices, inside DuckDB, so that no vertex coincides with one (:func:`clear_of_event_positions`).

The period selector
-------------------
``marts.hotspots`` holds one Gi* run. The map's period selector offers that run (``"all"``: every period it
analysed) and, by default, the latest calendar quarter with events and the quarter before it: those are read
from ``marts.hotspot_periods``, where the hot spot step (or ``ctxrisk hotspots periods``) stores every
calendar quarter's Gi* on the whole run's units and region. The page computes no statistic. The selector
switches the Gi* hot spot layer (overall, or each ticked theme's from ``marts.hotspot_themes``) and renumbers
the places of concern by their events in the period (``marts.hotspot_periods``), see
:mod:`ctxrisk.maps.steering_period_data`; emerging hot spots are a trend over every month analysed and stay
the same (the map says so).

Size
----
Area outlines are simplified in British National Grid metres (``simplify_m``, default 10 m: the Cheshire
East LSOAs shrink from 364 kB to about 150 kB of coordinates, with no visible change at the zoom levels a
borough is viewed at) and every outline's coordinates are rounded to 6 decimal places (about 0.1 m). Gi* cells
that are not significant are not drawn (``show_not_significant``), nor are emerging cells with no pattern.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ctxrisk.maps.steering_clear import clear_of_event_positions
from ctxrisk.maps.steering_period_data import event_days, read_place_counts, read_theme_hotspots, withheld_places
from ctxrisk.maps.steering_secondary import secondary_suppression
from ctxrisk.maps.wording import TREND_WORDS, period_long_label, span_text
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.warehouse import stale_marts

__all__ = [
    "DEFAULT_PERIODS",
    "DISPLAY_DECIMALS",
    "MAX_PERIOD_PERMUTATIONS",
    "SIMPLIFY_M",
    "PeriodSpec",
    "SteeringInputs",
    "SteeringPeriod",
    "clear_of_event_positions",
    "load_steering_inputs",
    "period_permutations",
    "resolve_periods",
    "secondary_suppression",
    "trend_text",
]

logger = logging.getLogger(__name__)

#: Periods offered by the selector when none are asked for: the mart's own run, then the latest quarter
#: with events and the one before it.
DEFAULT_PERIODS: tuple[str, ...] = ("all", "latest-quarter", "previous-quarter")
#: Douglas-Peucker tolerance for area outlines, metres (BNG).
SIMPLIFY_M = 10.0
#: Largest number of permutations a per-period Gi* re-run uses (see :func:`period_permutations`).
MAX_PERIOD_PERMUTATIONS = 99_999
#: Decimal places of every outline coordinate written to the page (6: about 0.1 m). Not 5: at 5 places
#: (about 1 m) an H3 vertex coincides with some event position by chance once there are a few thousand
#: events, and the page's leak scan (:func:`ctxrisk.maps.disclosure.scan_for_leaks`) rightly cannot tell a grid
#: vertex from an event; at 6 places the chance is a hundred times smaller.
DISPLAY_DECIMALS = 6

_QUARTER = re.compile(r"(\d{4})[-\s]?Q([1-4])", re.IGNORECASE)
_CALENDAR = re.compile(r"\d{4}(?:-\d{2})?")  # a year or a month: named as the report names them
_CALENDAR_KIND = {4: "year", 7: "month"}
_BASE_LEVEL = "study area"
_NO_EMERGING = "(select null::varchar as unit_id, null::varchar as category, null::varchar as geometry_wkt limit 0)"


@dataclass(frozen=True)
class PeriodSpec:
    """One period of the selector.

    Attributes
    ----------
    key : str
        What was asked for (``all``, ``latest-quarter``, ``2026-Q3``, ``2025-01..2025-06`` ...).
    label : str
        Shown in the selector, e.g. ``"2026 Q3 (1 Jul to 30 Sep 2026)"``.
    since, until : datetime.date or None
        First and last local day (both inclusive); None for ``all`` (the mart's own run).
    """

    key: str
    label: str
    since: date | None
    until: date | None


@dataclass(frozen=True)
class SteeringPeriod:
    """One period's Gi* hot spots, ready to draw.

    Attributes
    ----------
    spec : PeriodSpec
    hotspots : geopandas.GeoDataFrame
        ``unit_id``, ``count``, ``z``, ``p``, ``q``, ``bin`` and the cell or area outline (WGS84), only
        the cells that are drawn.
    events_used : int
        Events the Gi* run placed in the study region.
    run_id : str
        The mart's run (``all``) or the run made for this map.
    """

    spec: PeriodSpec
    hotspots: gpd.GeoDataFrame
    events_used: int
    run_id: str


@dataclass(frozen=True)
class SteeringInputs:
    """Everything the steering map draws.

    Attributes
    ----------
    boundaries : geopandas.GeoDataFrame
        ``level``, ``code``, ``name``, ``imd_decile``, simplified outlines (WGS84). When no boundary is
        loaded, one ``"study area"`` outline: the union of the hot spot run's cells.
    periods : list of SteeringPeriod
        In selector order; the first is shown when the page opens.
    emerging : geopandas.GeoDataFrame
        ``unit_id``, ``category``, outline; cells with no pattern left out.
    locations : pandas.DataFrame
        The ranked places (at most ``settings.locations.top``): ``rank``, ``unit_id``, ``name``, ``score``,
        ``score_*``, ``themes``, ``trend`` (words), ``profile`` (7 x 24), ``count``, ``latitude``,
        ``longitude`` (cell centre).
    notes : list of str
        Lines for the map's info box: what the selector switches, what each layer covers, what was left out.
    unit : str
        The analysis unit (``h3:9``, ``lsoa11`` ...).
    analysed : geopandas.GeoDataFrame or None
        The local authority district(s) analysed (:func:`ctxrisk.maps.steering.analysed_area` of every unit
        of the hot spot run); None lets the map find them from what it draws.
    theme_hotspots : list of (str, str, geopandas.GeoDataFrame)
        ``(period label, theme, significant cells)`` from ``marts.hotspot_themes``, for the theme filter.
    place_counts : dict or None
        ``{period label: {unit_id: events}}`` of the places (read, then suppressed by the map).
    """

    boundaries: gpd.GeoDataFrame
    periods: list[SteeringPeriod]
    emerging: gpd.GeoDataFrame
    locations: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    unit: str = ""
    analysed: gpd.GeoDataFrame | None = None
    theme_hotspots: list[tuple[str, str, gpd.GeoDataFrame]] = field(default_factory=list)
    place_counts: dict[str, dict[str, int]] | None = None

    @property
    def hotspots(self) -> gpd.GeoDataFrame:
        """The first period's hot spots (shown when the page opens)."""
        return self.periods[0].hotspots

    def build_map(
        self,
        *,
        settings: Settings,
        title: str = "Contextual safeguarding: places of concern",
        show_not_significant: bool = False,
    ) -> folium.Map:
        """Draw the map with :func:`ctxrisk.maps.steering.build_steering_map`, one selector entry per period."""
        from ctxrisk.maps.steering import build_steering_map

        return build_steering_map(
            boundaries=self.boundaries,
            hotspots=self.hotspots,
            emerging=self.emerging,
            locations=self.locations,
            periods=[p.spec.label for p in self.periods],
            settings=settings,
            title=title,
            show_not_significant=show_not_significant,
            period_hotspots=[(p.spec.label, p.hotspots) for p in self.periods],
            notes=self.notes,
            analysed=self.analysed,
            theme_hotspots=self.theme_hotspots,
            place_counts=self.place_counts,
        )


# --------------------------------------------------------------------------------------------------- periods


def _quarter_of(d: date) -> tuple[int, int]:
    return d.year, (d.month - 1) // 3 + 1


def _quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    start = date(year, 3 * quarter - 2, 1)
    nxt = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
    return start, nxt - timedelta(days=1)


def _quarter_spec(key: str, year: int, quarter: int) -> PeriodSpec:
    start, end = _quarter_bounds(year, quarter)
    return PeriodSpec(key, period_long_label("quarter", start, end), start, end)


def resolve_periods(
    specs: str | Sequence[str] | None, *, first_day: date | None, last_day: date | None
) -> list[PeriodSpec]:
    """Turn the ``--period`` texts into selector periods.

    Parameters
    ----------
    specs : str, sequence of str or None
        Comma-separated (or a sequence of) period texts, in selector order:

        * ``all`` -- the hot spot mart's own run (every period it analysed);
        * ``latest-quarter`` / ``previous-quarter`` -- the calendar quarter holding ``last_day`` / the one
          before it;
        * ``YYYY-Qn`` (or ``YYYYQn``) -- a calendar quarter;
        * ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or ``A..B`` (both ends inclusive), as
          :func:`ctxrisk.analytics.events.parse_period`.

        None means :data:`DEFAULT_PERIODS`.
    first_day, last_day : datetime.date or None
        Local dates of the first and last event the hot spot run used (for ``all``'s label and the
        relative quarters).

    Returns
    -------
    list of PeriodSpec
        Duplicates (same dates) are dropped, keeping the first.

    Raises
    ------
    ValidationError
        On an unreadable period, or a relative quarter with no events to anchor it.
    """
    from ctxrisk.analytics.events import parse_period

    if specs is None:
        texts = list(DEFAULT_PERIODS)
    elif isinstance(specs, str):
        texts = [t.strip() for t in specs.split(",") if t.strip()]
    else:
        texts = [str(t).strip() for t in specs if str(t).strip()]
    if not texts:
        msg = "no period given: use all, latest-quarter, previous-quarter, YYYY-Qn, YYYY[-MM[-DD]] or A..B"
        raise ValidationError(msg)
    out: list[PeriodSpec] = []
    for text in texts:
        key = text.lower()
        if key == "all":
            if first_day is not None and last_day is not None:
                label = f"all periods ({span_text(first_day, last_day)})"
            else:
                label = "all periods analysed"
            spec = PeriodSpec("all", label, None, None)
        elif key in ("latest-quarter", "previous-quarter"):
            if last_day is None:
                msg = f"period {text!r} needs events to find the latest quarter, and the hot spot run used none"
                raise ValidationError(msg)
            year, quarter = _quarter_of(last_day)
            if key == "previous-quarter":
                year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
            spec = _quarter_spec(key, year, quarter)
        elif m := _QUARTER.fullmatch(text.strip()):
            spec = _quarter_spec(key, int(m.group(1)), int(m.group(2)))
        else:
            start, end = parse_period(text)
            last = end - timedelta(days=1)
            kind = _CALENDAR_KIND.get(len(text.strip()), "range") if _CALENDAR.fullmatch(text.strip()) else "range"
            spec = PeriodSpec(text, period_long_label(kind, start, last), start, last)
        if any((p.since, p.until) == (spec.since, spec.until) for p in out):
            continue
        out.append(spec)
    return out


def trend_text(trend: object, *, p: object = None) -> str:
    """Say a Mann-Kendall trend of monthly counts in words.

    Parameters
    ----------
    trend : str
        ``"increasing"``, ``"decreasing"``, ``"no trend"`` (as :mod:`ctxrisk.analytics.mannkendall`) or other text
        (returned as it is, e.g. ``"too few months"``).
    p : float or None
        The test's two-sided p-value, stated when given (to 3 places; below 0.001 as ``p < 0.001``).

    Returns
    -------
    str
        E.g. ``"rising (Mann-Kendall test of monthly counts, p = 0.003)"``.
    """
    text = str(trend) if trend is not None and not (isinstance(trend, float) and math.isnan(trend)) else "unknown"
    if text not in TREND_WORDS:
        return text
    p_val = None if p is None else float(p)
    if p_val is None or math.isnan(p_val):
        p_text = ""
    else:
        p_text = ", p < 0.001" if p_val < 0.001 else f", p = {p_val:.3f}"
    return f"{TREND_WORDS[text]} (Mann-Kendall test of monthly counts{p_text})"


# ------------------------------------------------------------------------------------------------- reading


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, name]
    ).fetchone()
    return bool(row and row[0])


def _round_geoms(geoms: Any) -> np.ndarray:
    from ctxrisk.maps.steering import full_precision

    return full_precision(geoms)


def _cells_frame(frame: pd.DataFrame, columns: Sequence[str]) -> gpd.GeoDataFrame:
    geoms = _round_geoms(shapely.from_wkt(frame["geometry_wkt"].to_numpy(object)))
    return gpd.GeoDataFrame(frame[list(columns)].reset_index(drop=True), geometry=geoms, crs=4326)


def read_boundaries(con: duckdb.DuckDBPyConnection, *, simplify_m: float = SIMPLIFY_M) -> gpd.GeoDataFrame:
    """Every loaded boundary (one row per level and code), simplified and rounded for display.

    Parameters
    ----------
    simplify_m : float
        Douglas-Peucker tolerance in metres, applied in British National Grid (topology kept); 0 keeps
        every vertex.

    Returns
    -------
    geopandas.GeoDataFrame
        ``level``, ``code``, ``name``, ``imd_decile`` (Int64), geometry (WGS84); empty when none is loaded.
    """
    if simplify_m < 0:
        msg = f"simplify_m must be >= 0 metres, got {simplify_m}"
        raise ValidationError(msg)
    rows = con.execute(
        "select level, code, any_value(name) as name, any_value(imd_decile) as imd_decile, "
        "any_value(geometry_wkt) as wkt from raw.boundaries group by level, code order by level, code"
    ).df()
    geoms = shapely.from_wkt(rows["wkt"].to_numpy(object)) if len(rows) else []
    gdf = gpd.GeoDataFrame(
        {
            "level": rows["level"].astype(str).to_numpy(),
            "code": rows["code"].astype(str).to_numpy(),
            "name": rows["name"].fillna(rows["code"]).astype(str).to_numpy(),
            "imd_decile": pd.array(rows["imd_decile"], dtype="Int64"),
        },
        geometry=list(geoms),
        crs=4326,
    )
    if not len(gdf):
        return gdf
    before = int(shapely.get_num_coordinates(gdf.geometry.values).sum())
    if simplify_m > 0:
        gdf = gdf.to_crs(27700)
        gdf["geometry"] = gdf.geometry.simplify(simplify_m, preserve_topology=True)
        gdf = gdf.to_crs(4326)
    gdf["geometry"] = _round_geoms(gdf.geometry.values)
    after = int(shapely.get_num_coordinates(gdf.geometry.values).sum())
    logger.info(
        "read %s boundaries: %s vertices kept of %s (%g m tolerance)",
        f"{len(gdf):,}",
        f"{after:,}",
        f"{before:,}",
        simplify_m,
    )
    return gdf


def _study_area(cells: gpd.GeoDataFrame, unit: str, *, simplify_m: float) -> gpd.GeoDataFrame:
    """One outline: the union of every unit of the hot spot run (the base when no boundary is loaded)."""
    outline = shapely.union_all(shapely.make_valid(cells.geometry.values))
    base = gpd.GeoSeries([outline], crs=4326)
    if simplify_m > 0:
        base = base.to_crs(27700).simplify(simplify_m, preserve_topology=True).to_crs(4326)
    return gpd.GeoDataFrame(
        {
            "level": [_BASE_LEVEL],
            "code": [unit],
            "name": [f"Area analysed ({len(cells):,} {'H3 cells' if unit.startswith('h3') else 'areas'})"],
            "imd_decile": pd.array([None], dtype="Int64"),
        },
        geometry=_round_geoms(base.values),
        crs=4326,
    )


def _mart_parameters(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, Any], str, str, int]:
    row = con.execute(
        "select any_value(theme), any_value(run_id), any_value(events_used), count(*) from marts.hotspots"
    ).fetchone()
    if row is None or not row[3]:
        msg = "marts.hotspots is empty: run `ctxrisk hotspots` first"
        raise ValidationError(msg)
    from ctxrisk.analytics.marts import read_run

    run = read_run(con, str(row[1]))
    if run is not None:  # the run's typed row in meta.hotspot_runs
        split = lambda v: None if v is None or v != v else str(v).split(",")  # noqa: E731
        params = dict(run) | {
            "filters": {
                "event_types": split(run.get("event_types")),
                "themes": split(run.get("themes")),
                "sources": split(run.get("sources")),
                "since": run.get("since"),
                "until": run.get("until"),
                "include_out_of_area": bool(run.get("include_out_of_area")),
            }
        }
    else:  # a mart written before meta.hotspot_runs: its parameters column, if any
        cols = {c[0] for c in con.execute("describe marts.hotspots").fetchall()}
        raw = None
        if "parameters" in cols:
            raw = con.execute("select any_value(parameters) from marts.hotspots").fetchone()[0]
        params = json.loads(raw or "{}")
    return params, str(row[0] or "all"), str(row[1]), int(row[2] or 0)


def _weights_kind(text: object) -> str | None:
    t = str(text or "")
    if t.startswith("kring"):
        return "kring"
    if t.startswith("distance"):
        return "distance"
    if "contiguity" in t:
        return "contiguity"
    return None


def _as_filter(value: object) -> Any:
    return None if value in (None, "all") else value


def period_permutations(params: dict[str, Any], *, cap: int = MAX_PERIOD_PERMUTATIONS) -> int:
    """Permutations for a per-period Gi* re-run: enough for the FDR step to reach ``alpha``.

    With ``P`` permutations the smallest pseudo p-value is ``1 / (P + 1)``; under Benjamini-Hochberg over
    ``n`` units, ``m`` units tied at that value reach ``q < alpha`` only if ``1 / (P + 1) <= alpha m / n``.
    A quarter has a fraction of the events of the whole run, so fewer units are extreme; this returns the
    ``P`` that lets ``m = 10`` tied units through, ``P + 1 >= n / (10 alpha)``, rounded up to a whole
    thousand minus one and capped at ``cap``. The test (conditional permutation Gi*) is unchanged; only its
    p-values are finer.

    Parameters
    ----------
    params : dict
        The hot spot mart's ``parameters`` (``n_units``, ``alpha``).
    cap : int
        Upper bound (run time grows linearly with permutations).
    """
    n_units = int(params.get("n_units") or 0)
    alpha = float(params.get("alpha") or 0.05)
    need = math.ceil(n_units / (10 * alpha))
    return int(min(cap, math.ceil(need / 1000) * 1000 - 1)) if need > 0 else 0


def _rerun_hotspots(
    con: duckdb.DuckDBPyConnection,
    params: dict[str, Any],
    spec: PeriodSpec,
    *,
    settings: Settings,
    include_out_of_area: bool,
) -> pd.DataFrame | None:
    """One period's Gi* hot spots, read from ``marts.hotspot_periods`` (computed by the hot spot step or
    ``ctxrisk hotspots periods``); None when that period has no events. Nothing is computed here."""
    if not _table_exists(con, "marts", "hotspot_periods"):
        msg = "the warehouse has no marts.hotspot_periods: run `ctxrisk hotspots periods` (or `ctxrisk run`) first"
        raise ValidationError(msg)
    frame = con.execute(
        "select unit_id, count, z, p, q, bin, geometry_wkt, run_id, events_used from marts.hotspot_periods "
        "where period_start = ? and period_end = ? order by unit_id",
        [spec.since, spec.until],
    ).df()
    if len(frame):
        return frame
    first, last = event_days(con, params, settings=settings)
    if first is not None and last is not None and (spec.until < first or spec.since > last):
        return None
    msg = (
        f"marts.hotspot_periods has no hot spots for {spec.label}: run `ctxrisk hotspots periods --period "
        f"{spec.since}..{spec.until}` first (the map draws the marts, it does not compute them)"
    )
    raise ValidationError(msg)


def _inside(cells: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> np.ndarray:
    """True for each cell that touches any area."""
    if not len(cells):
        return np.zeros(0, dtype=bool)
    tree = shapely.STRtree(areas.geometry.values)
    hit, _ = tree.query(cells.geometry.values, predicate="intersects")
    mask = np.zeros(len(cells), dtype=bool)
    mask[hit] = True
    return mask


def _hot_display(frame: pd.DataFrame, *, show_not_significant: bool) -> gpd.GeoDataFrame:
    keep = frame if show_not_significant else frame[frame["bin"].fillna(0).astype(int) != 0]
    return _cells_frame(keep, ["unit_id", "count", "z", "p", "q", "bin"])


def _read_locations(con: duckdb.DuckDBPyConnection, *, top: int) -> pd.DataFrame | None:
    if not _table_exists(con, "marts", "locations_of_concern"):
        return None
    frame = con.execute(f"select * from marts.locations_of_concern order by rank limit {int(top)}").df()
    parts = [c for c in frame.columns if str(c).startswith("score_")]
    needed = ["rank", "unit_id", "name", "score", "themes", "trend", "profile", "latitude", "longitude"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        msg = f"marts.locations_of_concern lacks column(s) {missing}: re-run `ctxrisk locations`"
        raise ValidationError(msg)
    profiles = []
    for rank, values in zip(frame["rank"], frame["profile"], strict=True):
        arr = np.asarray(list(values) if values is not None else [], dtype="float64")
        if arr.size != 168:
            msg = f"marts.locations_of_concern rank {rank}: profile has {arr.size} values, expected 7 x 24 = 168"
            raise ValidationError(msg)
        profiles.append(arr.reshape(7, 24))
    p_values = frame["trend_p"] if "trend_p" in frame.columns else [None] * len(frame)
    out = pd.DataFrame(
        {
            "rank": frame["rank"].astype(int).to_numpy(),
            "unit_id": frame["unit_id"].astype(str).to_numpy(),
            "name": frame["name"].astype(str).to_numpy(),
            "score": frame["score"].astype(float).to_numpy(),
            **{c: frame[c].astype(float).to_numpy() for c in parts},
            "themes": frame["themes"].fillna("").astype(str).to_numpy(),
            "trend": [trend_text(t, p=p) for t, p in zip(frame["trend"], p_values, strict=True)],
            "profile": profiles,
            "latitude": frame["latitude"].astype(float).to_numpy(),
            "longitude": frame["longitude"].astype(float).to_numpy(),
        }
    )
    if "counts_by_theme" in frame.columns:
        out["counts_by_theme"] = frame["counts_by_theme"].astype(object).to_numpy()
    for column in (
        "count",
        "distinct_children",
        "repeat_found_at",
        "intelligence_items",
        "searches_of_children",
        "profile_events",
        "profile_excluded",
    ):
        if column in frame.columns:
            out[column] = frame[column].fillna(0).astype(int).to_numpy()
    return out


def _empty_locations() -> pd.DataFrame:
    return pd.DataFrame(
        {
            c: pd.Series(dtype=object)
            for c in ("rank", "unit_id", "name", "score", "themes", "trend", "profile", "latitude", "longitude")
        }
    )


def load_steering_inputs(
    con: duckdb.DuckDBPyConnection,
    *,
    settings: Settings,
    period: str | Sequence[str] | None = None,
    include_out_of_area: bool = False,
    simplify_m: float = SIMPLIFY_M,
    show_not_significant: bool = False,
    area: str | Sequence[str] | None = None,
) -> SteeringInputs:
    """Read the steering map's inputs from the warehouse (see the module docstring).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse, after ``ctxrisk hotspots`` (``marts.hotspots`` and ``marts.emerging_hotspots``) and,
        for the places of concern, ``ctxrisk locations`` (``marts.locations_of_concern``).
    settings : Settings
        ``hotspots`` (re-runs), ``locations.top`` (places drawn), ``local_timezone``.
    period : str, sequence of str or None
        The selector's periods, in order (see :func:`resolve_periods`); None: ``all``, the latest quarter
        with events and the quarter before.
    include_out_of_area : bool
        Also draw hot spot and emerging cells that touch no loaded boundary, and keep out-of-area events in
        the per-period re-runs (default: such cells are left out of the page and counted in the notes).
    simplify_m : float
        Outline simplification tolerance in metres (BNG), see :func:`read_boundaries`.
    show_not_significant : bool
        Keep Gi* cells with ``bin == 0`` (default False: the page carries significant cells only).
    area : str, sequence of str or None
        The partnership's local authority districts, by ONS code or name (comma-separated or a sequence),
        e.g. ``"E06000049"`` or ``"Cheshire East"``; None finds them from the hot spot run's events
        (:func:`ctxrisk.maps.steering.analysed_area`).

    Returns
    -------
    SteeringInputs

    Raises
    ------
    ValidationError
        When ``marts.hotspots`` is missing or empty (the message says to run ``ctxrisk hotspots`` first; without
        emerging hot spots the map is made with a note), on an unreadable period, or a malformed locations mart.
    """
    stale = stale_marts(con)
    if stale:
        names = ", ".join(f"marts.{m}" for m in stale)
        msg = (
            f"{names} were emptied by a purge ({next(iter(stale.values()))}) and not rebuilt: run `ctxrisk run` "
            "(or the hot spot, locations and graph commands) first, then make the map"
        )
        raise ValidationError(msg)
    # declared marts exist from `ctxrisk init` on, empty until their analysis runs; emerging hot spots need 3
    # months of events, so without them the map is made with a note
    if (
        not _table_exists(con, "marts", "hotspots")
        or not con.execute("select count(*) from marts.hotspots").fetchone()[0]
    ):
        msg = (
            "the warehouse has no marts.hotspots: run `ctxrisk hotspots` first, then make the map "
            "(the steering map draws the hot spot marts, it does not compute them)"
        )
        raise ValidationError(msg)
    params, theme, run_id, events_used = _mart_parameters(con)
    unit = str(params.get("unit") or "")
    notes: list[str] = []

    boundaries = read_boundaries(con, simplify_m=simplify_m)
    mart = con.execute("select unit_id, count, z, p, q, bin, geometry_wkt from marts.hotspots order by unit_id").df()
    if len(boundaries):
        areas = boundaries
    else:
        region = _cells_frame(mart, ["unit_id"])
        boundaries = _study_area(region, unit, simplify_m=simplify_m)
        areas = boundaries
        logger.warning("no boundaries loaded: the map's base is the outline of the %s units analysed", f"{len(mart):,}")
        notes.append("No area boundaries are loaded: the outline shows the area analysed.")

    first_day, last_day = event_days(con, params, settings=settings)
    specs = resolve_periods(period, first_day=first_day, last_day=last_day)
    periods: list[SteeringPeriod] = []
    left_out = 0
    for spec in specs:
        if spec.since is None:
            frame, used, rid = mart, events_used, run_id
        else:
            frame = _rerun_hotspots(con, params, spec, settings=settings, include_out_of_area=include_out_of_area)
            if frame is None:
                notes.append(f"{spec.label}: no events, so no hot spot layer.")
                continue
            used, rid = int(frame["events_used"].iloc[0]), str(frame["run_id"].iloc[0])
        cells = _hot_display(frame, show_not_significant=show_not_significant)
        if not include_out_of_area and len(cells):
            inside = _inside(cells, areas)
            left_out += int((~inside).sum())
            cells = cells[inside].reset_index(drop=True)
        periods.append(SteeringPeriod(spec, cells, used, rid))
        logger.info(
            "period %s: %s hot/cold spot cells drawn from %s events", spec.label, f"{len(cells):,}", f"{used:,}"
        )
    if not periods:
        msg = f"none of the periods {[s.label for s in specs]} has events: there are no hot spots to map"
        raise ValidationError(msg)

    periods = secondary_suppression(
        periods, threshold=settings.privacy.suppression_threshold, first_day=first_day, last_day=last_day
    )
    has_em = _table_exists(con, "marts", "emerging_hotspots")
    em = con.execute(f"select * from {'marts.emerging_hotspots' if has_em else _NO_EMERGING}").df()
    if not len(em):  # one month of police.uk data can never have them: the map is made, and says so
        notes.append("No emerging hot spots: they were not computed (they need at least 3 months of events).")
    category = em["category"].astype(str).str.lower().str.replace("_", " ")
    em = em[~category.isin(["no pattern detected", "no pattern", "not significant", "none", ""])]
    emerging = _cells_frame(em, ["unit_id", "category"])
    if not include_out_of_area and len(emerging):
        inside = _inside(emerging, areas)
        left_out += int((~inside).sum())
        emerging = emerging[inside].reset_index(drop=True)
    first_step = em["first_step"].iloc[0] if len(em) and "first_step" in em.columns else None
    last_step = em["last_step"].iloc[0] if len(em) and "last_step" in em.columns else None

    locations = _read_locations(con, top=settings.locations.top)
    if locations is None:
        logger.warning("marts.locations_of_concern is missing: run `ctxrisk locations` to rank places of concern")
        notes.append("Places of concern have not been ranked for this edition.")
        locations = _empty_locations()
    place_counts = read_place_counts(con, periods, locations["unit_id"]) if len(periods) > 1 else None
    threshold = settings.privacy.suppression_threshold
    risky = withheld_places(place_counts or {}, periods, threshold=threshold, first_day=first_day, last_day=last_day)
    if risky:  # the whole run's count of these places and their cells would give away a small period count
        periods = [p if p.spec.since is not None else _withhold(p, risky) for p in periods]
    withheld = {
        str(u) for p in periods if "withheld" in p.hotspots for u in p.hotspots.loc[p.hotspots["withheld"], "unit_id"]
    }
    if len(locations) and withheld:  # the same cell's count in a linked table
        locations = locations.assign(withheld=locations["unit_id"].astype(str).isin(withheld).to_numpy())

    themed = read_theme_hotspots(con, periods, unit_type=unit)
    if not include_out_of_area:
        themed = [(label, theme, cells[_inside(cells, areas)].reset_index(drop=True)) for label, theme, cells in themed]
    layers = [boundaries, emerging, *(p.hotspots for p in periods), *(cells for _l, _t, cells in themed)]
    layers, n_moved = clear_of_event_positions(con, layers)
    boundaries, emerging = layers[0], layers[1]
    moved = layers[2 : 2 + len(periods)]
    periods = [SteeringPeriod(p.spec, hot, p.events_used, p.run_id) for p, hot in zip(periods, moved, strict=True)]
    themed = [
        (label, theme, cells) for (label, theme, _c), cells in zip(themed, layers[2 + len(periods) :], strict=True)
    ]
    if n_moved:
        logger.info("%s outline vertices were moved about 0.2 m off event positions", f"{n_moved:,}")
    if theme != "all":
        notes.append(f"Hot spots count events of the theme(s) {theme.replace(',', ', ')} only.")
    if len(periods) > 1:
        notes.append(
            "The period selector switches the Gi* hot spots and renumbers the places of concern by their events "
            "in that period; emerging hot spots cover every month analysed."
        )
    if first_step is not None and last_step is not None:
        notes.append(f"Emerging hot spots: {pd.Timestamp(first_step):%b %Y} to {pd.Timestamp(last_step):%b %Y}.")
    if left_out:
        notes.append(f"{left_out:,} cells outside the partnership's boundaries are not drawn.")
    logger.info(
        "steering inputs: %s areas, %s period(s), %s emerging cells, %s places",
        f"{len(boundaries):,}",
        f"{len(periods):,}",
        f"{len(emerging):,}",
        f"{len(locations):,}",
    )
    analysed = _analysed(mart, area)
    return SteeringInputs(boundaries, periods, emerging, locations, notes, unit, analysed, themed, place_counts)


def _withhold(period: SteeringPeriod, units: set[str]) -> SteeringPeriod:
    """The period with the cells of ``units`` marked ``withheld`` (their count is not shown)."""
    hot = period.hotspots
    mark = hot["unit_id"].astype(str).isin(units).to_numpy()
    before = hot["withheld"].fillna(False).astype(bool).to_numpy() if "withheld" in hot.columns else False
    return SteeringPeriod(period.spec, hot.assign(withheld=before | mark), period.events_used, period.run_id)


def _analysed(mart: pd.DataFrame, area: str | Sequence[str] | None = None) -> gpd.GeoDataFrame:
    """The districts named, or those holding the hot spot run's events (every unit, not only significant ones)."""
    from ctxrisk.maps.steering import analysed_area
    from ctxrisk.pipelines import lad

    if area is not None:
        names = [a.strip() for a in (area.split(",") if isinstance(area, str) else area) if str(a).strip()]
        try:
            return pd.concat([lad.local_authority(n) for n in names], ignore_index=True) if names else None
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    centres = shapely.centroid(shapely.from_wkt(mart["geometry_wkt"].to_numpy(object)))
    weights = pd.to_numeric(mart["count"], errors="coerce").fillna(0).to_numpy()
    return analysed_area(shapely.get_y(centres), shapely.get_x(centres), weights=weights if weights.sum() else None)
