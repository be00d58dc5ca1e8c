"""Benchmark the steering map at borough scale: build, self-contained render, leak scan and Chromium load.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_maps.py [--cells 5000] [--events 20000] [--browser]``.
Synthetic inputs only (a grid of square "LSOAs" and H3 resolution-9 cells around Leeds); prints one line
per step with wall time and, at the end, the page size.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
from shapely.geometry import Polygon, box

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ctxrisk.maps.disclosure import scan_for_leaks  # noqa: E402
from ctxrisk.maps.language import find_terms  # noqa: E402
from ctxrisk.maps.selfcontained import render_self_contained, write_html  # noqa: E402
from ctxrisk.maps.steering import build_steering_map  # noqa: E402


def _inputs(n_cells: int, n_events: int, seed: int) -> tuple[dict, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    centre = h3.latlng_to_cell(53.7965, -1.5478, 9)
    k = 1
    while 3 * k * (k + 1) + 1 < n_cells:
        k += 1
    cells = sorted(h3.grid_disk(centre, k))[:n_cells]
    polys = [Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in cells]
    hot = gpd.GeoDataFrame(
        {
            "unit_id": cells,
            "count": rng.poisson(4, len(cells)),
            "z": rng.normal(0, 1.5, len(cells)),
            "p": rng.uniform(0, 1, len(cells)),
            "q": rng.uniform(0, 1, len(cells)),
            "bin": rng.choice([-3, -2, -1, 0, 0, 0, 0, 1, 2, 3], len(cells)),
        },
        geometry=polys,
        crs=4326,
    )
    categories = ["new hot spot", "intensifying hot spot", "persistent hot spot", "sporadic cold spot", "no pattern"]
    emerging = gpd.GeoDataFrame(
        {"unit_id": cells, "category": rng.choice(categories, len(cells))}, geometry=polys, crs=4326
    )
    minx, miny, maxx, maxy = hot.total_bounds
    xs, ys = np.linspace(minx, maxx, 21), np.linspace(miny, maxy, 16)
    squares = [box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(20) for j in range(15)]
    boundaries = gpd.GeoDataFrame(
        {
            "code": [f"E0101{i:04d}" for i in range(len(squares))],
            "name": [f"Area {i}" for i in range(len(squares))],
            "level": "lsoa",
            "imd_decile": rng.integers(1, 11, len(squares)),
        },
        geometry=squares,
        crs=4326,
    )
    top = cells[:50]
    locations = pd.DataFrame(
        {
            "rank": range(1, 51),
            "unit_id": top,
            "name": [f"Area {i}" for i in range(50)],
            "score": np.linspace(0.95, 0.3, 50),
            "score_hotspot": np.linspace(0.5, 0.1, 50),
            "score_trend": np.linspace(0.3, 0.1, 50),
            "themes": [["cse", "county_lines"][: 1 + i % 2] for i in range(50)],
            "trend": "increasing",
            "profile": [rng.poisson(0.3, (7, 24)).astype(float) for _ in range(50)],
            "count": rng.poisson(20, 50),
            "latitude": [h3.cell_to_latlng(c)[0] for c in top],
            "longitude": [h3.cell_to_latlng(c)[1] for c in top],
        }
    )
    events = pd.DataFrame(
        {"latitude": rng.uniform(miny, maxy, n_events), "longitude": rng.uniform(minx, maxx, n_events)}
    )
    inputs = {"boundaries": boundaries, "hotspots": hot, "emerging": emerging, "locations": locations}
    return inputs, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=5000)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--browser", action="store_true", help="also load the page in headless Chromium")
    args = parser.parse_args()
    settings = SimpleNamespace(
        privacy=SimpleNamespace(suppression_threshold=5),
        maps=SimpleNamespace(basemap_url=None, basemap_attribution=""),
        themes=("cse", "cce", "county_lines", "missing", "other"),
    )

    def step(label: str, func):
        t0 = time.perf_counter()
        out = func()
        print(f"{label:<34} {time.perf_counter() - t0:8.2f} s")
        return out

    inputs, events = step("synthetic inputs", lambda: _inputs(args.cells, args.events, args.seed))
    fmap = step(
        f"build_steering_map ({args.cells:,} cells)",
        lambda: build_steering_map(**inputs, periods=["2024-01 to 2024-12"], settings=settings),
    )
    html = step("render_self_contained", lambda: render_self_contained(fmap))
    leaks = step(
        f"scan_for_leaks ({args.events:,} events)",
        lambda: scan_for_leaks(html, person_ids=[f"p_{i:016x}" for i in range(1000)], coordinates=events),
    )
    step("find_terms (page)", lambda: find_terms(html))
    print(f"{'page size':<34} {len(html.encode()) / 1e6:8.2f} MB; leaks found: {len(leaks)}")
    if args.browser:
        sys.path.insert(0, str(ROOT / "tests"))
        from support.browser import BrowserSession  # noqa: PLC0415

        with tempfile.TemporaryDirectory() as tmp:
            path = write_html(html, Path(tmp) / "bench.html")
            session = step("launch Chromium", BrowserSession)
            report = step("open page + screenshot", lambda: session.open_page(path))
            errors, external = len(report.console_errors), len(report.requests_external)
            print(f"{'console errors / external requests':<34} {errors} / {external}")
            session.close()


if __name__ == "__main__":
    main()
