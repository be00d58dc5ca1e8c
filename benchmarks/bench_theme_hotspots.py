"""Benchmark the per-theme hot spots of the scheduled run: exact permutation p-values against simulated ones.

Run (on a warehouse made by ``benchmarks/run_all.py``, which this copies first and never writes to)::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_theme_hotspots.py --data /tmp/bench/data/1M

What is measured (wall clock, ``time.perf_counter``), on the whole run's unit and study region, every configured
theme, whole run and each calendar quarter of ``marts.hotspot_periods``:

* ``gistar_exact_s``: the theme-period Gi* runs as they run now (``GiStar(permutations="exact")``);
* ``gistar_simulated_s``: the same runs simulated with the automatic permutation count (what a theme run cost
  before; ``--simulated N`` times the first N runs only and scales up, ``0`` skips);
* ``agreement``: for each simulated run, the cells flagged by one test and not the other;
* ``theme_runs_s``: :func:`ctxrisk.analytics.hotspot_themes.run_theme_hotspots` as the step calls it (study
  region, every run, the mart and its ``meta.hotspot_runs`` rows written);
* ``step_s`` and ``step_without_themes_s``: the scheduled run's hot spot step with per-theme hot spots, and
  with them skipped (``theme_max_units = 0``: what the step did at this size before); alternated, best of two.

The load average is recorded before and after: the machine is shared. Results go to
``benchmarks/results/theme_hotspots.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ctxrisk.analytics.gistar import GiStar, auto_permutations  # noqa: E402
from ctxrisk.analytics.hotspot_themes import periods_of, run_theme_hotspots, theme_list  # noqa: E402
from ctxrisk.analytics.hotspots import analyse_region, load_hotspots  # noqa: E402
from ctxrisk.analytics.parameters import HotspotParameters  # noqa: E402
from ctxrisk.analytics.units import _counts, select_events  # noqa: E402
from ctxrisk.jobs.analytics_steps import hotspots_step  # noqa: E402
from ctxrisk.jobs.steps import StepContext  # noqa: E402
from ctxrisk.pipelines.settings import load_settings  # noqa: E402
from ctxrisk.pipelines.warehouse import connect, transaction  # noqa: E402


def theme_counts(con, params, settings, periods) -> tuple[list[tuple[str, str, np.ndarray]], object]:
    """``(theme, period, counts per unit)`` of every theme-period run, and the study units."""
    sel = select_events(con, settings, params, kind="h3", extra=("local_time", "theme"))
    units, _reason, sel, pos, _ = analyse_region(con, params, settings=settings, selection=sel)
    placed = pos >= 0
    day = sel.events["local_time"][placed].dt.date.to_numpy().astype("datetime64[D]")
    theme_of = sel.events["theme"][placed].astype(object).to_numpy()
    where = pos[placed]
    wanted = [("all", day.min(), day.max())] + [(p, np.datetime64(a), np.datetime64(b)) for p, a, b in periods]
    out = []
    for theme in theme_list(params, settings, set(theme_of)):
        mine = theme_of == theme
        for label, start, end in wanted:
            y = _counts(where[mine & (day >= start) & (day <= end)], units.n)
            if y.sum() and np.ptp(y):
                out.append((theme, label, y))
    return out, units


def timed(fn):
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/bench/data/1M"), help="folder of a run_all.py warehouse")
    ap.add_argument("--simulated", type=int, default=-1, help="simulated runs to time (-1: all, 0: none)")
    ap.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "theme_hotspots.json")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_themes_"))
    try:
        shutil.copy2(args.data / "ctxrisk.duckdb", work / "ctxrisk.duckdb")
        settings = load_settings(args.data / "ctxrisk.toml", warehouse=work / "ctxrisk.duckdb")
        settings = dataclasses.replace(settings, paths=dataclasses.replace(settings.paths, output_dir=work / "out"))
        result = run(settings, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"wrote {args.output}")


def run(settings, args) -> dict:
    con = connect(settings=settings)
    load = {"start": round(os.getloadavg()[0], 2)}
    ctx = StepContext(con, settings, "bench-themes")
    skip = StepContext(
        con,
        dataclasses.replace(settings, hotspots=dataclasses.replace(settings.hotspots, theme_max_units=0)),
        "bench-themes",
    )
    times: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(2):  # alternated, best of two: the first call also warms caches and compiled kernels
        for name, context in (("without", skip), ("with", ctx)):
            with transaction(con):
                out, took = timed(lambda context=context: hotspots_step(context))
            times[name].append(took)
    step_s, without_s = min(times["with"]), min(times["without"])
    load["after_steps"] = round(os.getloadavg()[0], 2)
    unit = str(load_hotspots(con).parameters["unit"])
    params = HotspotParameters.from_settings(settings).replace(unit=unit)
    periods = periods_of(con.execute("select * from marts.hotspot_periods").df())
    _, themes_s = timed(lambda: run_theme_hotspots(con, params, settings=settings, periods=periods))
    runs, units = theme_counts(con, params, settings, periods)
    w = units.w
    m = int((np.diff(w.indptr) > 0).sum())
    perms = auto_permutations(m, params.alpha)
    exact, exact_s = timed(
        lambda: [GiStar(y, w, permutations="exact", seed=params.seed, randomisation="total") for _t, _p, y in runs]
    )
    load["after_exact"] = round(os.getloadavg()[0], 2)
    n_sim = len(runs) if args.simulated < 0 else min(args.simulated, len(runs))
    simulated, sim_s = timed(
        lambda: [
            GiStar(y, w, permutations=perms, seed=params.seed, randomisation="total") for _t, _p, y in runs[:n_sim]
        ]
    )
    load["end"] = round(os.getloadavg()[0], 2)
    exact_only = [int(((a.bin != 0) & (b.bin == 0)).sum()) for a, b in zip(exact, simulated, strict=False)]
    simulated_only = [int(((a.bin == 0) & (b.bin != 0)).sum()) for a, b in zip(exact, simulated, strict=False)]
    differ = [x + y for x, y in zip(exact_only, simulated_only, strict=True)]
    where_differ = [
        f"{runs[i][0]} {runs[i][1]}: +{exact_only[i]} -{simulated_only[i]}" for i, d in enumerate(differ) if d
    ]
    flagged = [int((a.bin != 0).sum()) for a in exact[:n_sim]]
    con.close()
    return {
        "units": int(units.n),
        "unit": unit,
        "theme_period_runs": len(runs),
        "themes": len({t for t, _p, _y in runs}),
        "periods": len({p for _t, p, _y in runs}),
        "events_per_run_median": int(np.median([y.sum() for _t, _p, y in runs])),
        "distinct_counts_max": int(max(np.unique(y).size for _t, _p, y in runs)),
        "gistar_exact_s": round(exact_s, 2),
        "gistar_simulated_runs_timed": n_sim,
        "simulated_permutations": int(perms),
        "gistar_simulated_s": round(sim_s * len(runs) / n_sim, 1) if n_sim else None,
        "speedup": round(sim_s * len(runs) / n_sim / exact_s, 1) if n_sim else None,
        "agreement": {
            "runs_compared": n_sim,
            "flagged_cells": int(sum(flagged)),
            "cells_flagged_by_one_test_only": int(sum(differ)),
            "runs_with_any_difference": int(sum(d > 0 for d in differ)),
            "flagged_by_exact_only": int(sum(exact_only)),
            "flagged_by_simulated_only": int(sum(simulated_only)),
            "runs_that_differ": where_differ,
        },
        "theme_runs_s": round(themes_s, 2),
        "step_s": round(step_s, 2),
        "step_without_themes_s": round(without_s, 2),
        "step_runs_s": {name: [round(t, 2) for t in ts] for name, ts in times.items()},
        "step_detail": out.detail[:300],
        "load_average_1min": load,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
    }


if __name__ == "__main__":
    main()
