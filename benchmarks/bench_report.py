"""Benchmark ``ctxrisk report`` over a synthetic partnership: the HTML page and the A4 PDF (board papers).

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_report.py [--incidents 1000000] [--runs 3]``.

Steps, each timed: generate the sample (:func:`ctxrisk.synthetic.sample.generate_sample`, Parquet), ingest every
kind, then ``--runs`` times each: the report built as HTML (:func:`ctxrisk.maps.report.build_report`, every count
read from the warehouse, suppressed and laid out) and the whole ``ctxrisk report --format pdf`` path
(:func:`ctxrisk.cli.report.write_report`: build, print with headless Chromium, atomic write, audit row).

Goal (issue 21): the PDF report builds in under 20 s at 1M incidents. Results go to
``benchmarks/results/report.json``.
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

KINDS = ("persons", "incidents", "involvements", "missing", "associations", "intelligence", "screenings", "referrals")


def _prepare(work: Path, incidents: int, seed: int, settings) -> tuple[dict[str, float], dict[str, int]]:
    from ctxrisk.pipelines.runner import ingest_one
    from ctxrisk.pipelines.warehouse import connect
    from ctxrisk.synthetic.sample import generate_sample

    steps: dict[str, float] = {}
    t0 = time.perf_counter()
    generate_sample(work / "sample", seed=seed, incidents=incidents, fmt="parquet")
    steps["generate sample"] = round(time.perf_counter() - t0, 2)
    con = connect(settings=settings)
    rows = {}
    t0 = time.perf_counter()
    for kind in KINDS:
        rows[kind] = ingest_one(con, kind, work / "sample" / f"{kind}.parquet", settings=settings).rows_loaded
    steps["ingest 8 kinds"] = round(time.perf_counter() - t0, 2)
    con.close()
    return steps, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the sample and warehouse here")
    parser.add_argument("--reuse", action="store_true", help="with --workdir: reuse its warehouse")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "report.json")
    args = parser.parse_args()

    from ctxrisk.cli.report import write_report
    from ctxrisk.maps.report import build_report
    from ctxrisk.pipelines.settings import load_settings
    from ctxrisk.pipelines.warehouse import connect

    work = args.workdir or Path(tempfile.mkdtemp(prefix="ctxrisk-bench-report-"))
    work.mkdir(parents=True, exist_ok=True)
    wh = work / "ctxrisk.duckdb"
    settings = load_settings(None, warehouse=wh)
    if args.reuse and wh.exists():
        previous = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
        steps, rows = previous.get("steps_seconds", {}), previous.get("rows_loaded", {})
    else:
        wh.unlink(missing_ok=True)
        steps, rows = _prepare(work, args.incidents, args.seed, settings)
    con = connect(settings=settings)
    n_incidents = con.execute("select count(*) from marts.indicators_incidents").fetchone()[0]
    html_s, pdf_s, sizes = [], [], {}
    for _ in range(args.runs):
        t0 = time.perf_counter()
        html = build_report(con, settings=settings)
        html_s.append(round(time.perf_counter() - t0, 3))
        t0 = time.perf_counter()
        path, period = write_report(con, work / "report.pdf", settings=settings, fmt="pdf")
        pdf_s.append(round(time.perf_counter() - t0, 3))
        sizes = {"html_bytes": len(html.encode("utf-8")), "pdf_bytes": path.stat().st_size}
    con.close()
    print(f"{n_incidents:,} incidents, period {period.label}: HTML {html_s} s, PDF (build + print) {pdf_s} s")
    result = {
        "incidents": n_incidents,
        "seed": args.seed,
        "rows_loaded": rows,
        "steps_seconds": steps,
        "html_build_seconds": html_s,
        "pdf_seconds": pdf_s,
        "pdf_median_seconds": statistics.median(pdf_s),
        "goal_pdf_seconds": 20,
        **sizes,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
