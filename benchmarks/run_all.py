"""One command for the scale benchmarks (issue 9): sample, end-to-end run, ingest, Gi*, graph and steering map.

Usage (from the repository root; ``make bench`` runs the first line)::

    .venv/bin/python benchmarks/run_all.py                       # 100k, 1M and 10M incidents
    .venv/bin/python benchmarks/run_all.py --quick               # 100k only
    .venv/bin/python benchmarks/run_all.py --scales 1M --skip-fixed
    .venv/bin/python benchmarks/run_all.py --render-only --merge-from benchmarks/_data/run_10M.json

For each scale (a number of incidents; persons, involvements, missing episodes and the other files are
proportional, see :func:`ctxrisk.synthetic.sample.generate_sample`):

1. ``ctxrisk sample --scale N`` (CSV) into ``benchmarks/_data/<scale>/sample`` (git-ignored; reused when the
   same scale and seed were generated before);
2. the sample files are hard-linked into fresh drop folders and ``ctxrisk run --config`` runs end to end in a
   subprocess (with the Cheshire East ward and LSOA boundaries read in place when present, as ``make demo``
   does): wall time, peak resident memory of the process tree (psutil polling, and the kernel's ``ru_maxrss``),
   and each step's time from ``meta.run_log``;
3. ingest of the same ``incidents.csv`` by ctxrisk (``ctxrisk.pipelines.runner.ingest_one``), by DuckDB's own
   ``read_csv`` (the ceiling) and by pandas ``read_csv`` + ``to_sql`` (SQLite), each in its own subprocess
   (the contenders are :mod:`bench_ingest`'s ``run_duckdb`` and ``run_pandas``), taking turns for
   ``INGEST_ROUNDS`` rounds with each one's best round counted;
4. the steering map the run wrote: its size and its load time in headless Chromium (``loadEventEnd``, via
   :mod:`bench_steering_map`).

Once per command, at the fixed sizes the issue names: :mod:`bench_gistar` (100k cells, 999 permutations;
esda ``G_Local`` on a subset of ``--esda-cells`` cells, per-cell ratio on that like-for-like pair) and
:mod:`bench_graph` (build vs a naive networkx bipartite projection; sampled vs exact betweenness).

Writes ``benchmarks/results/run_all.json`` and renders ``BENCHMARKS.md`` from it (machine, commands, results
with ratios and pass/fail against each goal, growth 100k -> 1M -> 10M with a fitted exponent). The results the
per-feature benchmarks left in ``benchmarks/results`` (``bench_intel``, ``bench_report``, ``bench_missing``,
``bench_graph_step``, ``bench_steering_map``, ``real_data_hotspots``; see :mod:`harness_features`) are read
at every render, also with ``--render-only``: each gets a section and its goals a row.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from harness_common import (  # noqa: E402 - benchmarks/ is on sys.path
    DATA_DIR,
    DEFAULT_SCALES,
    MARKDOWN,
    POLICE_UK_INGEST,
    RESULTS,
    BenchError,
    parse_scales,
    scale_label,
)
from harness_features import load_features  # noqa: E402 - benchmarks/ is on sys.path
from harness_measure import machine_info  # noqa: E402 - benchmarks/ is on sys.path
from harness_report import evaluate_goals, growth, render_markdown  # noqa: E402 - benchmarks/ is on sys.path
from harness_scale import bench_fixed, bench_scale, ingest_worker  # noqa: E402 - benchmarks/ is on sys.path

log = logging.getLogger("benchmarks.run_all")

# --------------------------------------------------------------------------------------------------------------
# Command line


def _merge(base: dict[str, Any], other: dict[str, Any]) -> None:
    base.setdefault("scales", {}).update(other.get("scales", {}))
    for name, entry in other.get("fixed", {}).items():
        base.setdefault("fixed", {})[name] = entry


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default=None, help=f"comma-separated incident counts (default {DEFAULT_SCALES})")
    parser.add_argument("--quick", action="store_true", help="100k incidents only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="samples, warehouses, logs (git-ignored)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--markdown", type=Path, default=MARKDOWN, help="where to render BENCHMARKS.md")
    parser.add_argument(
        "--skip-baselines",
        action="store_true",
        help="only sample + end-to-end run: no ingest contenders, browser, Gi* or graph benchmarks",
    )
    parser.add_argument("--skip-fixed", action="store_true", help="skip the fixed-size Gi* and graph benchmarks")
    parser.add_argument("--fixed-only", action="store_true", help="only the fixed-size Gi* and graph benchmarks")
    parser.add_argument("--no-boundaries", action="store_true", help="do not configure the shared ONS boundaries")
    parser.add_argument("--browser-runs", type=int, default=3)
    parser.add_argument(
        "--max-rss-gb",
        type=float,
        default=None,
        help="stop an end-to-end run whose memory passes this many GB (protects a shared machine)",
    )
    parser.add_argument(
        "--run-timeout",
        type=float,
        default=None,
        help="stop an end-to-end run after this many seconds (its finished steps are kept)",
    )
    parser.add_argument("--esda-cells", type=int, default=10_000)
    parser.add_argument("--graph-involvements", type=int, default=1_000_000)
    parser.add_argument("--graph-nodes", type=int, default=5_000)
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the scales and fixed results of the existing --output that this run does not redo",
    )
    parser.add_argument(
        "--merge-from",
        type=Path,
        nargs="*",
        default=[],
        help="also take scales and fixed results from these run_all JSON files",
    )
    parser.add_argument("--render-only", action="store_true", help="re-render --markdown from --output (+ merges)")
    parser.add_argument("--note", action="append", default=[], help="a note for BENCHMARKS.md (repeatable)")
    parser.add_argument("--ingest-worker", nargs=3, metavar=("CONTENDER", "CSV", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.data_dir = args.data_dir.resolve()

    if args.ingest_worker:
        contender, csv, folder = args.ingest_worker
        print(json.dumps(ingest_worker(contender, Path(csv), Path(folder))))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    existing = json.loads(args.output.read_text(encoding="utf-8")) if args.output.exists() else None
    if args.render_only:
        if existing is None:
            raise BenchError(f"{args.output} does not exist: nothing to render")
        results = existing
    else:
        text = args.scales or ("100k" if args.quick else DEFAULT_SCALES)
        scales = parse_scales(text)
        command = "python benchmarks/run_all.py " + " ".join(argv if argv is not None else sys.argv[1:])
        results = {
            "command": command.strip(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "scales": {},
            "fixed": {},
        }
        if args.merge and existing:
            _merge(results, existing)
            results["notes"] = existing.get("notes", [])
        results["machine"] = machine_info()
        load_before = os.getloadavg()
        for n in [] if args.fixed_only else scales:
            results["scales"][scale_label(n)] = bench_scale(
                n,
                data_dir=args.data_dir,
                seed=args.seed,
                baselines=not args.skip_baselines,
                boundaries=not args.no_boundaries,
                browser_runs=args.browser_runs,
                run_timeout=args.run_timeout,
                max_rss_bytes=int(args.max_rss_gb * 1e9) if args.max_rss_gb else None,
            )
            _write(results, args.output)
        if not args.skip_baselines and not args.skip_fixed:
            results["fixed"] = bench_fixed(
                args.data_dir,
                esda_cells=args.esda_cells,
                graph_involvements=args.graph_involvements,
                graph_nodes=args.graph_nodes,
            )
        results["load_average_at_start"] = [round(x, 2) for x in load_before]
        results["ended_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    for path in args.merge_from:
        _merge(results, json.loads(path.read_text(encoding="utf-8")))
    results.setdefault("machine", machine_info())
    if args.note:  # the notes given replace the stored ones
        results["notes"] = list(args.note)
    if POLICE_UK_INGEST.exists():
        results["police_uk_ingest"] = json.loads(POLICE_UK_INGEST.read_text(encoding="utf-8"))
    results["features"] = load_features()
    results["growth"] = growth(results.get("scales", {}))
    results["goals"] = evaluate_goals(results)
    _write(results, args.output)
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(render_markdown(results), encoding="utf-8")
    log.info("wrote %s and %s", args.output, args.markdown)
    for g in results["goals"]:
        log.info("goal %s: %s (%s)", g["goal"], g["status"], g["measured"])
    return 0


def _write(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main())
