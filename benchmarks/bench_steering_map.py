"""Benchmark ``ctxrisk map steering`` over a synthetic partnership of 1M incidents: page size and Chromium load time.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_steering_map.py [--incidents 1000000] [--browser-runs 3]``.

Steps, each timed: generate the sample (:func:`ctxrisk.synthetic.sample.generate_sample`, Parquet), ingest every kind
(plus the Cheshire East wards and the Cheshire LSOAs with IMD deciles from ``../shared/data/boundaries`` when
present, read in place, as ``make demo`` does), Gi* hot spots, emerging hot spots, locations of concern, then
the map exactly as the CLI makes it (:func:`ctxrisk.cli.maps.make_steering_map`: inputs with two per-quarter Gi*
re-runs, build, self-contained render, atomic write), a leak scan of the page against every person ID and
event coordinate in the warehouse, and the page opened ``--browser-runs`` times in headless Chromium
(navigation timing: ``loadEventEnd``, i.e. HTML parsed, every inlined script run, the map drawn).

Goals (issue 21): page under 5 MB, opens in under 2 s. Results go to ``benchmarks/results/steering_map.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

KINDS = ("persons", "incidents", "involvements", "missing", "associations", "intelligence", "screenings", "referrals")
SHARED_BOUNDARIES = ROOT.parent / "shared" / "data" / "boundaries"
BOUNDARIES = (
    ("ward", "cheshire_east_E06000049_wards2013.geojson"),
    ("lsoa11", "cheshire_police_area_lsoa2011_imd2019.geojson"),
)
GOAL_BYTES = 5_000_000
GOAL_LOAD_S = 2.0


class Timer:
    """Collect named wall-clock timings and print each as it ends."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}

    def __call__(self, name: str):
        timer = self

        class _Step:
            def __enter__(self_inner):
                self_inner.t0 = time.perf_counter()
                return self_inner

            def __exit__(self_inner, *exc):
                timer.steps[name] = round(time.perf_counter() - self_inner.t0, 2)
                print(f"{name:<34} {timer.steps[name]:>8.2f} s", flush=True)

        return _Step()


def _load_times(path: Path, runs: int) -> tuple[list[float], list[str], list[str], float]:
    from support.browser import BrowserSession, chromium_status

    ok, reason = chromium_status()
    if not ok:
        print(f"browser step skipped: {reason}")
        return [], [], [], 0.0
    session = BrowserSession()
    loads: list[float] = []
    errors: list[str] = []
    external: list[str] = []
    non_blank = 0.0
    try:
        for _ in range(runs):
            report = session.open_page(path, settle_ms=0)
            nav = report.page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd; }"
            )
            loads.append(round(float(nav) / 1000.0, 3))
            errors += report.console_errors
            external += report.requests_external
            non_blank = report.non_blank_fraction
            report.page.close()
    finally:
        session.close()
    return loads, errors, external, non_blank


def _git_head() -> str | None:
    """The short commit measured (None outside a git checkout)."""
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return None
    return out.stdout.strip() or None


def _prepare(args, t: Timer, settings, sample_dir: Path):
    """Generate the sample, ingest it (with the shared boundaries when present) and run the analytics."""
    from ctxrisk.analytics.hotspot_themes import periods_of, run_theme_hotspots
    from ctxrisk.analytics.hotspots import run_emerging, run_hotspot_periods, run_hotspots
    from ctxrisk.analytics.locations import run_locations
    from ctxrisk.pipelines.runner import ingest_one
    from ctxrisk.pipelines.warehouse import connect
    from ctxrisk.synthetic.sample import generate_sample

    with t("generate sample"):
        summary = generate_sample(sample_dir, seed=args.seed, incidents=args.incidents, fmt="parquet")
    con = connect(settings=settings)
    boundaries_used = []
    if not args.no_boundaries and SHARED_BOUNDARIES.is_dir():
        with t("ingest boundaries"):
            for level, name in BOUNDARIES:
                ingest_one(con, "boundaries", SHARED_BOUNDARIES / name, settings=settings, options={"level": level})
                boundaries_used.append(f"{level}: {name}")
    rows = {}
    with t("ingest 8 kinds"):
        for kind in KINDS:
            rows[kind] = ingest_one(con, kind, sample_dir / f"{kind}.parquet", settings=settings).rows_loaded
    with t("hot spots (Gi*)"):
        hot = run_hotspots(con, settings=settings)
    with t("hot spots per quarter"):
        periods = run_hotspot_periods(con, settings=settings, unit=hot.parameters["unit"])
    with t("hot spots per theme and quarter"):
        run_theme_hotspots(con, settings=settings, unit=hot.parameters["unit"], periods=periods_of(periods))
    with t("emerging hot spots"):
        run_emerging(con, settings=settings)
    with t("locations of concern"):
        run_locations(con, settings=settings, hotspots=hot)
    return con, rows, boundaries_used, {k: getattr(summary, k) for k in KINDS}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--browser-runs", type=int, default=3)
    parser.add_argument("--no-boundaries", action="store_true", help="do not load the shared ONS boundaries")
    parser.add_argument("--no-scan", action="store_true", help="skip the leak scan")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the sample, warehouse and page here")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --workdir: reuse its warehouse (sample, ingest and analytics already done)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "steering_map.json")
    args = parser.parse_args()

    import duckdb

    from ctxrisk.cli.maps import make_steering_map
    from ctxrisk.maps.disclosure import scan_for_leaks
    from ctxrisk.pipelines.settings import load_settings
    from ctxrisk.pipelines.warehouse import connect

    work = args.workdir or Path(tempfile.mkdtemp(prefix="ctxrisk-bench-steering-"))
    work.mkdir(parents=True, exist_ok=True)
    sample_dir, wh, page = work / "sample", work / "ctxrisk.duckdb", work / "steering.html"
    reuse = bool(args.reuse and args.workdir and wh.exists())
    if wh.exists() and not reuse:
        wh.unlink()
    settings = load_settings(None, warehouse=wh)
    t = Timer()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    load_start = round(os.getloadavg()[0], 2)
    if reuse:
        previous = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
        t.steps.update({k: v for k, v in previous.get("steps_seconds", {}).items() if not k.startswith("map")})
        con = connect(settings=settings)
        rows = previous.get("rows_loaded", {})
        boundaries_used = previous.get("boundaries", [])
        sample_rows = previous.get("sample_rows", {})
    else:
        con, rows, boundaries_used, sample_rows = _prepare(args, t, settings, sample_dir)

    with t("map (inputs, build, render, write)"):
        path, size, map_summary = make_steering_map(con, page, settings=settings)
    con.close()
    print(f"page: {size:,} bytes; {map_summary}")

    leaks = None
    if not args.no_scan:
        ro = duckdb.connect(str(wh), read_only=True)
        with t("collect IDs and coordinates"):
            ids = {r[0] for r in ro.execute("select person_id from raw.persons").fetchall()}
            ids |= {r[0] for r in ro.execute("select person_id from raw.involvements").fetchall()}
            coords = ro.execute("select distinct latitude, longitude from staging.events where located").fetchall()
        ro.close()
        html = path.read_text(encoding="utf-8")
        with t("leak scan"):
            leaks = len(scan_for_leaks(html, person_ids=ids, coordinates=coords))
        print(f"leak scan: {len(ids):,} person IDs, {len(coords):,} event positions, {leaks} leak(s)")

    loads, errors, external, non_blank = _load_times(path, args.browser_runs)
    if loads:
        print(
            f"Chromium load (loadEventEnd): {loads} s; console errors {len(errors)}, external requests {len(external)}"
        )

    result = {
        "incidents": args.incidents,
        "seed": args.seed,
        "rows_loaded": rows,
        "boundaries": boundaries_used,
        "sample_rows": sample_rows,
        "steps_seconds": t.steps,
        "page_bytes": size,
        "page_summary": map_summary,
        "leaks": leaks,
        "browser_load_seconds": loads,
        "browser_load_median_seconds": statistics.median(loads) if loads else None,
        "browser_console_errors": errors,
        "browser_external_requests": external,
        "screenshot_non_blank_fraction": round(non_blank, 3),
        "goals": {
            "page_under_5_mb": size < GOAL_BYTES,
            "opens_under_2_s": bool(loads) and statistics.median(loads) < GOAL_LOAD_S,
        },
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "duckdb": duckdb.__version__,
        },
        "measured_at": started,
        "load_average_1min": [load_start, round(os.getloadavg()[0], 2)],
        "git": _git_head(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
