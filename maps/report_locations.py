"""The outcome report's "Top locations of concern" section: places by area name, their counts' period, trend words.

Places are named by area (ward, then neighbourhood/LSOA), never by a map-cell ID; two places in the same area
are told apart ("Crewe Central, 1 of 2"). The counts come from the last locations-of-concern analysis, which
covers its own span of records (not only the report period): the table says which. Trends use the steering
map's words (:func:`ctxrisk.maps.steering_data.trend_text`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date

import pandas as pd

from ctxrisk.maps.report_cells import Cells, Page
from ctxrisk.maps.report_html import esc, objectives, table
from ctxrisk.maps.steering import THEME_LABELS
from ctxrisk.maps.steering_data import trend_text

__all__ = ["COUNT_COLUMNS", "analysis_span", "location_cells", "locations_section", "place_names"]

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


def _day(d: object) -> str:
    try:
        value = pd.Timestamp(d)
    except (ValueError, TypeError):
        return str(d)  # shown as text (escaped), never a reason not to build the page
    return f"{value.day} {value:%b %Y}"


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
    shown = ", ".join(THEME_LABELS.get(t, t.replace("_", " ")) for t in names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


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
    theme_col = "themes" if "themes" in locations else ("theme" if "theme" in locations else None)
    header = ["Rank", "Place"] + (["Themes"] if theme_col else []) + (["Score"] if "score" in locations else [])
    header += [COUNT_COLUMNS[c] for c in count_cols]
    trend_col = "trend" if "trend" in locations else None
    if trend_col:
        header.append("Trend")
    rows = []
    for (i, row), name in zip(locations.iterrows(), place_names(locations), strict=True):
        cells = [(f"{int(row['rank'])}", ""), (name, "")]
        if theme_col:
            cells.append((_themes(row[theme_col]), ""))
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
