"""Benchmark ctxrisk.analytics.gistar.GiStar against esda.G_Local on identical H3 weights.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_gistar.py --cells 100000 --permutations 999 --esda-cells 10000

What is measured (wall-clock, ``time.perf_counter``, best of ``--repeats``):

* ``gistar_full_s``: ``GiStar(y, w, permutations=P, seed=...)`` on ``--cells`` H3 cells (resolution 9,
  a hexagonal disk of cells around central Manchester, 1-ring binary weights, zero cells included).
  It includes analytic z, conditional permutations, BH q and bins; weights construction is excluded.
* ``gistar_subset_s`` and ``esda_subset_s``: GiStar and ``esda.G_Local(y, W, transform="B",
  star=True, permutations=P, seed=..., n_jobs=-1)`` on the same ``--esda-cells`` subset (the
  innermost disk, weights restricted to it, so both get the same libpysal ``W`` built from our CSR).
  esda is warmed up first so its numba compilation is not timed. esda on 100k cells takes minutes,
  hence the subset; per-cell times and the ratio are reported for that like-for-like pair only.
* ``max_abs_z_diff``: largest ``|GiStar.z - esda.Zs|`` on the subset.

Data: ``--data counts`` (default) draws negative-binomial counts (mostly zeros) with a few planted
clusters -- the product's use case; ``--data continuous`` draws gamma values (every cell a distinct
value, the worst case for the per-(value, k) null sharing).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import h3
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ctxrisk.analytics.gistar import GiStar  # noqa: E402
from ctxrisk.analytics.weights import h3_kring_weights  # noqa: E402

CENTRE = (53.4794, -2.2453)


def disk_cells(n: int) -> np.ndarray:
    """The n cells nearest (in grid steps, then index order) to the centre cell, at resolution 9."""
    origin = h3.latlng_to_cell(*CENTRE, 9)
    k = 0
    while 3 * k * (k + 1) + 1 < n:
        k += 1
    cells = sorted(h3.grid_disk(origin, k), key=lambda c: (h3.grid_distance(origin, c), c))
    return np.array(cells[:n], dtype=str)


def make_values(cells: np.ndarray, kind: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = cells.size
    if kind == "continuous":
        return rng.gamma(2.0, 1.0, n)
    y = rng.negative_binomial(1, 0.8, n).astype(float)
    index = {c: i for i, c in enumerate(cells.tolist())}
    for c in rng.choice(n, size=max(1, n // 2000), replace=False):  # planted clusters of ~19 cells
        for nb in h3.grid_disk(str(cells[c]), 2):
            if nb in index:
                y[index[nb]] += rng.poisson(4)
    return y


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=100_000)
    ap.add_argument("--permutations", type=int, default=999)
    ap.add_argument("--esda-cells", type=int, default=10_000, help="cells for the esda comparison (0 to skip)")
    ap.add_argument("--data", choices=["counts", "continuous"], default="counts")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--output", type=Path, default=Path(__file__).resolve().parent / "results" / "gistar.json")
    args = ap.parse_args()

    t0 = time.perf_counter()
    cells = disk_cells(args.cells)
    w = h3_kring_weights(cells, k=1)
    y = make_values(cells, args.data, args.seed)
    setup_s = time.perf_counter() - t0

    full = {}
    gistar_full_s = best_of(
        lambda: full.setdefault("g", GiStar(y, w, permutations=args.permutations, seed=args.seed)), args.repeats
    )
    g = full["g"]
    result = {
        "cells": int(args.cells),
        "permutations": int(args.permutations),
        "data": args.data,
        "links": int(w.nnz),
        "null_distributions": int(g.n_null_distributions),
        "hot_cells": int(g.hot.sum()),
        "cold_cells": int(g.cold.sum()),
        "setup_s": round(setup_s, 3),
        "gistar_full_s": round(gistar_full_s, 4),
        "gistar_full_us_per_cell": round(1e6 * gistar_full_s / args.cells, 3),
    }

    if args.esda_cells:
        import esda
        from libpysal.weights import WSP

        m = min(args.esda_cells, args.cells)
        sub_w = w[:m][:, :m].tocsr()  # disk order: the first m cells are the innermost disk
        sub_y = y[:m]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            W = WSP(sub_w).to_W(silence_warnings=True)
            esda.G_Local(
                sub_y[:200],
                WSP(sub_w[:200][:, :200]).to_W(silence_warnings=True),
                transform="B",
                star=True,
                permutations=99,
                seed=1,
            )  # warm-up: numba compilation
            box = {}
            esda_s = best_of(
                lambda: box.setdefault(
                    "e",
                    esda.G_Local(
                        sub_y, W, transform="B", star=True, permutations=args.permutations, seed=args.seed, n_jobs=-1
                    ),
                ),
                max(1, min(args.repeats, 2)),
            )
        sub = {}
        gistar_sub_s = best_of(
            lambda: sub.setdefault("g", GiStar(sub_y, sub_w, permutations=args.permutations, seed=args.seed)),
            args.repeats,
        )
        result.update(
            {
                "esda_cells": int(m),
                "esda_version": esda.__version__,
                "esda_subset_s": round(esda_s, 4),
                "gistar_subset_s": round(gistar_sub_s, 4),
                "esda_us_per_cell": round(1e6 * esda_s / m, 3),
                "gistar_subset_us_per_cell": round(1e6 * gistar_sub_s / m, 3),
                "speedup_same_subset": round(esda_s / gistar_sub_s, 1),
                "max_abs_z_diff": float(np.max(np.abs(sub["g"].z - box["e"].Zs))),
            }
        )
    result.update(
        {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "platform": platform.platform(),
        }
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")

    print(
        "| cells | perms | data | GiStar (s) | esda cells | esda (s) | GiStar same cells (s) | speed-up "
        "| max abs z diff |"
    )
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {result['cells']:,} | {result['permutations']} | {result['data']} | {result['gistar_full_s']:.3f} | "
        f"{result.get('esda_cells', 0):,} | {result.get('esda_subset_s', float('nan')):.3f} | "
        f"{result.get('gistar_subset_s', float('nan')):.3f} | {result.get('speedup_same_subset', float('nan'))}x | "
        f"{result.get('max_abs_z_diff', float('nan')):.1e} |"
    )
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
