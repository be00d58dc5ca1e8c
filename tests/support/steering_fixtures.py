"""Tiny fixture inputs for the steering map tests (Leeds city centre, H3 resolution 9)."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
from shapely.geometry import Polygon, box

CENTRE = h3.latlng_to_cell(53.7965, -1.5478, 9)
CELLS = sorted(h3.grid_disk(CENTRE, 2))  # 19 cells
PERSON_IDS = ["p_3f9a1c2b7d4e5f60", "p_0a1b2c3d4e5f6071"]
# raw event points: never passed to the map builder, and must never appear in the page
EVENTS = pd.DataFrame(
    {
        "latitude": [53.796823, 53.795411, 53.797902, 53.794977],
        "longitude": [-1.547312, -1.549968, -1.545521, -1.546688],
    }
)


def cell_polygon(cell: str) -> Polygon:
    return Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])


def settings(threshold: int = 5, basemap_url: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        privacy=SimpleNamespace(suppression_threshold=threshold),
        maps=SimpleNamespace(basemap_url=basemap_url, basemap_attribution=""),
        themes=("cse", "cce", "county_lines", "missing", "other"),
    )


def boundaries() -> gpd.GeoDataFrame:
    lsoas = [
        ("E01011001", "Leeds 111A", box(-1.556, 53.790, -1.548, 53.797), 1),
        ("E01011002", "Leeds 111B", box(-1.548, 53.790, -1.540, 53.797), 3),
        ("E01011003", "Leeds 111C", box(-1.556, 53.797, -1.548, 53.804), 7),
        ("E01011004", "Leeds 111D", box(-1.548, 53.797, -1.540, 53.804), 10),
    ]
    rows = [(c, n, "lsoa", d, g) for c, n, g, d in lsoas]
    rows.append(("E05001001", "City and Hunslet", "ward", None, box(-1.556, 53.790, -1.540, 53.804)))
    return gpd.GeoDataFrame(
        {
            "code": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "level": [r[2] for r in rows],
            "imd_decile": pd.array([r[3] for r in rows], dtype="Int64"),
        },
        geometry=[r[4] for r in rows],
        crs=4326,
    )


def hotspots() -> gpd.GeoDataFrame:
    n = len(CELLS)
    counts = [0, 3, 12, 4, 25, 7, 1, 9, 30, 2, 5, 6, 0, 11, 8, 2, 40, 3, 1][:n]
    bins = [3, 2, 1, 0, -1, -2, -3, 0, 3, 0, 2, 0, 0, 0, 1, 0, 3, 0, -1][:n]
    return gpd.GeoDataFrame(
        {
            "unit_id": CELLS,
            "count": counts,
            "z": np.linspace(3.2, -2.9, n),
            "p": np.linspace(0.001, 0.9, n),
            "q": np.linspace(0.002, 0.95, n),
            "bin": bins,
            "debug_info": [f"seen with {PERSON_IDS[0]}"] * n,  # extra column: must not reach the page
        },
        geometry=[cell_polygon(c) for c in CELLS],
        crs=4326,
    )


def emerging() -> gpd.GeoDataFrame:
    cats = ["new_hotspot", "Intensifying Hot Spot", "no pattern detected", "persistent cold spot", "sporadic hot spot"]
    cells = CELLS[:5]
    return gpd.GeoDataFrame({"unit_id": cells, "category": cats}, geometry=[cell_polygon(c) for c in cells], crs=4326)


def profile(peak_day: int, peak_hours: range, total_peak: int = 6) -> np.ndarray:
    arr = np.zeros((7, 24))
    arr[:, 14] = 1
    for h in peak_hours:
        arr[peak_day, h] = total_peak
    return arr


def locations() -> pd.DataFrame:
    ranked = [CELLS[16], CELLS[8], CELLS[0]]
    centres = [h3.cell_to_latlng(c) for c in ranked]
    return pd.DataFrame(
        {
            "rank": [1, 2, 3],
            "unit_id": ranked,
            "name": ["Leeds 111A", "Leeds 111D", "Leeds 111B"],
            "score": [0.91, 0.74, 0.52],
            "score_hotspot": [0.5, 0.4, 0.3],
            "score_trend": [0.25, 0.2, 0.12],
            "score_repeat": [0.16, 0.14, 0.1],
            "themes": [["cse", "county_lines"], "cce;missing", []],
            "trend": ["increasing", "no clear trend", "decreasing"],
            "profile": [
                profile(4, range(19, 23)),
                profile(5, range(1, 4)),
                np.zeros((7, 24)) + np.eye(7, 24)[:, :24] * 0,
            ],
            "count": [40, 30, 3],
            "latitude": [c[0] for c in centres],
            "longitude": [c[1] for c in centres],
            "debug_info": [f"{e.latitude}, {e.longitude}" for e in EVENTS.head(3).itertuples()],  # must not leak
        }
    )
