"""The outcome report's "Top locations of concern" section: places by area name, their counts' period, trend words.

Places carry the names and themes the steering map gives them (:func:`map_names_and_themes`): the area they
lie in, never a map-cell ID, places sharing an area told apart by compass direction ("Crewe Central (north)"),
and only the themes with 5 or more events there, so that a reader holding the map and the report sees the
same place under the same name and cannot read a small theme count from the difference. The counts come from
the last locations-of-concern analysis, which covers its own span of records (not only the report period):
the table says which. Trends use the steering map's words (:func:`ctxrisk.maps.steering_data.trend_text`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date

import duckdb
import geopandas as gpd
import pandas as pd
import shapely

from ctxrisk.maps.report_cells import Cells, Page
from ctxrisk.maps.report_html import esc, objectives, table
from ctxrisk.maps.steering import THEME_LABELS, analysed_area
from ctxrisk.maps.steering_data import read_boundaries, trend_text
from ctxrisk.maps.steering_places import naming_areas, themes_shown
from ctxrisk.maps.steering_places import place_names as map_place_names
from ctxrisk.maps.wording import day_text
from ctxrisk.pipelines import lad

__all__ = [
    "COUNT_COLUMNS",
    "analysis_span",
    "location_cells",
    "locations_section",
    "map_names_and_themes",
    "place_names",
]

#: Count columns of ``marts.locations_of_concern`` the table shows (each suppressed like every count).
COUNT_COLUMNS: dict[str, str] = {
    "count": "Events",
    "events": "Events",
    "incidents": "Incidents",
    "distinct_children": "Children involved",
    "count_current": "Events this period",
    "count_previous": "Events before",
}
_CELL_SUFFIX = re.compile(r"\s*\((?:H3 cell )?[0-9a-f]{15}\)\s*$")
_CELL_NAME = re.compile(r"^\s*(?:H3 cell\s+)?[0-9a-f]{15}\s*$", re.IGNORECASE)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).strip()


def _area_name(row: pd.Series) -> str:
    for col in ("ward_name", "lsoa_name", "area_name", "label", "name"):
        text = _CELL_SUFFIX.sub("", _text(row.get(col)))
        if text and not _CELL_NAME.match(text):
            return text
    return f"Place ranked {int(row['rank'])} (no area name: no boundaries loaded)"


def place_names(frame: pd.DataFrame) -> list[str]:
    """One distinct area name per row, in row order.

    The ward name, else the LSOA name, else another name column with any map-cell ID removed. Rows that
    share a name add their LSOA name when that tells them apart, then ``", 1 of 2"`` and so on in rank
    order, so no two rows read the same.
    """
    base = [_area_name(row) for _, row in frame.iterrows()]
    lsoa = [_text(v) for v in frame["lsoa_name"]] if "lsoa_name" in frame else [""] * len(frame)
    counts = Counter(base)
    names = [f"{b}, {lsoa[i]}" if counts[b] > 1 and lsoa[i] and lsoa[i] != b else b for i, b in enumerate(base)]
    counts = Counter(names)
    seen: Counter[str] = Counter()
    out = []
    for name in names:
        if counts[name] > 1:
            seen[name] += 1
            out.append(f"{name}, {seen[name]} of {counts[name]}")
        else:
            out.append(name)
    return out


def _analysed_districts(con: duckdb.DuckDBPyConnection) -> gpd.GeoDataFrame:
    """The districts the steering map treats as analysed (found from the hot spot run's cells and counts)."""
    every = lad.local_authorities()
    tables = {
        r[0]
        for r in con.execute("select table_name from information_schema.tables where table_schema = 'marts'").fetchall()
    }
    if "hotspots" not in tables:
        return every.iloc[0:0]
    mart = con.execute("select geometry_wkt, count from marts.hotspots").df()
    if not len(mart):
        return every.iloc[0:0]
    centres = shapely.centroid(shapely.from_wkt(mart["geometry_wkt"].to_numpy(object)))
    weights = pd.to_numeric(mart["count"], errors="coerce").fillna(0).to_numpy()
    return analysed_area(shapely.get_y(centres), shapely.get_x(centres), weights=weights if weights.sum() else None)


def map_names_and_themes(
    con: duckdb.DuckDBPyConnection, locations: pd.DataFrame | None, *, top: int, threshold: int
) -> pd.DataFrame | None:
    """Add ``map_name`` and ``map_themes`` to the report's places: the name and themes the steering map shows.

    Parameters
    ----------
    locations : pandas.DataFrame or None
        The report's places (:func:`ctxrisk.maps.indicators.locations_of_concern`), with ``rank``.
    top : int
        The places the map draws (``[locations] top``): names are told apart among those, as on the map.
    threshold : int
        Suppression threshold: a theme is named only with this many events at the place, as on the map.

    Returns
    -------
    pandas.DataFrame or None
        ``locations`` with the two columns when the mart holds the places' positions (cell centres, used to
        find the area holding a place and never shown), else ``locations`` unchanged.
    """
    if locations is None or not len(locations):
        return locations
    columns = {r[0] for r in con.execute("describe marts.locations_of_concern").fetchall()}
    if not {"rank", "name", "latitude", "longitude", "themes"} <= columns:
        return locations
    counts = "counts_by_theme" if "counts_by_theme" in columns else "null"
    ranked = con.execute(
        f"select rank, name, latitude, longitude, themes, {counts} as counts_by_theme "
        "from marts.locations_of_concern where rank <= ? order by rank",
        [max(int(top), int(locations["rank"].max()))],
    ).df()
    areas = naming_areas(read_boundaries(con), _analysed_districts(con))
    names = map_place_names(ranked["name"].tolist(), ranked["latitude"], ranked["longitude"], areas=areas)
    order = {t: i for i, t in enumerate(THEME_LABELS)}
    themes = [
        ";".join(sorted(filter(None, shown.split(";")), key=lambda t: order.get(t, len(order))))
        for shown in (
            _text(t) if counts == "null" else themes_shown(_text(t), c, threshold)
            for t, c in zip(ranked["themes"], ranked["counts_by_theme"], strict=True)
        )
    ]
    by_rank = dict(zip(ranked["rank"].astype(int), zip(names, themes, strict=True), strict=True))
    out = locations.copy()
    out["map_name"] = [by_rank.get(int(r), (None, None))[0] for r in out["rank"]]
    out["map_themes"] = [by_rank.get(int(r), (None, None))[1] for r in out["rank"]]
    return out


def _day(d: object) -> str:
    try:
        value = pd.Timestamp(d)
    except (ValueError, TypeError):
        return str(d)  # shown as text (escaped), never a reason not to build the page
    return day_text(value.date())


def analysis_span(frame: pd.DataFrame, *, first: date | None, last: date | None) -> str:
    """The records the analysis counted, e.g. ``"records from 1 Jan 2026 to 30 Sep 2026"``.

    From the ``since``/``until`` filters stored in the mart's ``parameters`` when set, else the first and
    last incident held (``first``/``last``), with the day the analysis ran when the mart records it.
    """
    since = until = None
    if "parameters" in frame and len(frame):
        try:
            filters = json.loads(str(frame["parameters"].iloc[0])).get("filters") or {}
        except (ValueError, AttributeError):
            filters = {}
        since, until = filters.get("since"), filters.get("until")
    start = _day(since) if since else (_day(first) if first else "the first record")
    end = _day(until) if until else (_day(last) if last else "the last record")
    ran = ""
    if "run_at" in frame and len(frame) and pd.notna(frame["run_at"].iloc[0]):
        ran = f", analysis run on {_day(frame['run_at'].iloc[0])}"
    return f"records from {start} to {end}{ran}"


def location_cells(cells: Cells, locations: pd.DataFrame | None) -> list[str]:
    """Add the table's counts as cells ``("loc", row, column)``; return the count columns shown."""
    if locations is None:
        return []
    cols = [c for c in COUNT_COLUMNS if c in locations]
    for i, row in locations.iterrows():
        for c in cols:
            cells.add(("loc", i, c), 0 if pd.isna(row[c]) else int(row[c]))
    return cols


def _themes(value: object) -> str:
    names = [t for t in _text(value).split(";") if t]
    return ", ".join(THEME_LABELS.get(t, t.replace("_", " ")) for t in names)


def locations_section(page: Page, locations: pd.DataFrame | None, count_cols: list[str], *, span: str) -> str:
    """The section, or a clear sentence when the analysis has not run or flagged no place."""
    head = f'<section id="locations"><h2>{objectives("Pursue")}Top locations of concern</h2>'
    if locations is None:
        return head + (
            "<p><strong>Hotspot analysis has not been run</strong> on this warehouse (there is no "
            "locations-of-concern result), so no places are listed. Run the locations-of-concern analysis and "
            "make this report again.</p></section>"
        )
    if not len(locations):
        return head + (
            f"<p><strong>No place of concern was flagged.</strong> The locations-of-concern analysis ({esc(span)}) "
            "found no area whose records stand out from the rest of the area analysed, so the table is empty. "
            "This is not evidence that no child is at risk anywhere: small or scattered concerns may not reach "
            "the test's threshold.</p></section>"
        )
    theme_col = next((c for c in ("map_themes", "themes", "theme") if c in locations), None)
    header = ["Rank", "Place"] + (["Themes"] if theme_col else []) + (["Score"] if "score" in locations else [])
    header += [COUNT_COLUMNS[c] for c in count_cols]
    trend_col = "trend" if "trend" in locations else None
    if trend_col:
        header.append("Trend")
    rows = []
    names = place_names(locations)
    if "map_name" in locations:
        names = [m if isinstance(m, str) and m else n for m, n in zip(locations["map_name"], names, strict=True)]
    for (i, row), name in zip(locations.iterrows(), names, strict=True):
        cells = [(f"{int(row['rank'])}", ""), (name, "")]
        if theme_col:
            shown = _themes(row[theme_col])
            if not shown and theme_col == "map_themes":  # as the map's popup says it
                shown = f"none with {page.cells.threshold} or more events"
            cells.append((shown, ""))
        if "score" in locations:
            cells.append(("" if pd.isna(row["score"]) else f"{float(row['score']):.2f}", ""))
        cells += [page.cell(("loc", i, c)) for c in count_cols]
        if trend_col:
            p = row["trend_p"] if "trend_p" in locations else None
            cells.append((trend_text(None if pd.isna(row[trend_col]) else row[trend_col], p=p), ""))
        rows.append(cells)
    text_cols = 2 + (1 if theme_col else 0)
    return head + (
        "<p>Places ranked by the locations-of-concern analysis (areas, never exact points), named by the area "
        f"they lie in, with the trend of their monthly counts. The counts cover {esc(span)}: the whole span of "
        "that analysis, not only the report period.</p>"
        + table(f"Top locations of concern ({span})", header, rows, text_cols=text_cols)
        + "</section>"
    )
