"""Cost of analysing the separate groups of a study region apart, on the ten-town sample and two forces' files.

Usage::

    .venv/bin/python benchmarks/bench_region_groups.py [--repeats 3] [--out benchmarks/results/region_groups.json]

Warehouses are built in a temporary folder: the committed sample (``data_samples/``, every kind, as
``ctxrisk sample`` writes it: ten Cheshire East towns) and Merseyside 2018-12 with the City of London's 20
months (``../shared/data/police_uk/street/``). For each, on the region and counts of a default
``ctxrisk hotspots`` run, the Gi* step is timed three ways, taking turns, best of ``--repeats``
(``time.perf_counter``):

* ``one_null``: one total-permutation Gi* over the whole region with the automatic count of all its units
  (what a run did before the groups were analysed apart);
* ``budgeted``: :class:`ctxrisk.analytics.gistar_groups.GroupedGiStar` with each group's count from
  :func:`ctxrisk.analytics.gistar_groups.group_permutations` (the default);
* ``full_count_per_group``: every group drawing the whole region's automatic count (branch ``regions``,
  reverted for its cost).

Also reported: the permutations each way draws in total, the hot units of each, and the wall time of the
command a user runs, ``ctxrisk hotspots --format csv`` (a subprocess, best of ``--repeats``).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from ctxrisk.analytics.gistar import GiStar, auto_permutations  # noqa: E402
from ctxrisk.analytics.gistar_groups import GroupedGiStar  # noqa: E402
from ctxrisk.analytics.hotspots import run_hotspots  # noqa: E402
from ctxrisk.pipelines.ingest import ingest_file  # noqa: E402
from ctxrisk.pipelines.runner import ingest_paths  # noqa: E402
from ctxrisk.pipelines.settings import load_settings  # noqa: E402
from ctxrisk.pipelines.warehouse import connect  # noqa: E402

STREET = ROOT.parent / "shared" / "data" / "police_uk" / "street"
KINDS = ("persons", "incidents", "missing", "intelligence", "involvements", "associations", "screenings", "referrals")


def _sample(path: Path) -> None:
    settings = load_settings(None, warehouse=path)
    con = connect(settings=settings)
    for kind in KINDS:
        ingest_file(con, kind, ROOT / "data_samples" / f"{kind}.csv", settings=settings)
    con.close()


def _two_forces(path: Path) -> None:
    settings = load_settings(None, warehouse=path)
    con = connect(settings=settings)
    months = sorted((STREET / "city-of-london-monthly").glob("*.csv"))
    ingest_paths(
        con, "police-uk-street", [STREET / "police-uk-2018-12-merseyside-street.csv", *months], settings=settings
    )
    con.close()


def _ways(y: np.ndarray, units, seed: int) -> dict:
    w, groups = units.w, units.groups
    m = int((np.diff(w.indptr) > 0).sum())
    full = auto_permutations(m, 0.05)
    return {
        "one_null": lambda: GiStar(y, w, permutations=full, seed=seed, randomisation="total"),
        "budgeted": lambda: GroupedGiStar(y, w, groups, seed=seed),
        "full_count_per_group": lambda: GroupedGiStar(y, w, groups, permutations=full, seed=seed),
    }


def _drawn(name: str, gi) -> int:
    """Permutations drawn in total (every group's)."""
    return int(gi.permutations) if name == "one_null" else int(sum(gi.group_permutations.values()))


def measure(path: Path, repeats: int) -> dict:
    settings = load_settings(None, warehouse=path)
    con = connect(settings=settings)
    run = run_hotspots(con, settings=settings, write=False)
    con.close()
    y, units = run.frame["count"].to_numpy(float), run.units
    ways = _ways(y, units, int(run.parameters["seed"]))
    times: dict[str, list[float]] = {name: [] for name in ways}
    out: dict = {"unit": run.parameters["unit"], "units": units.n, "groups": units.n_groups}
    for _ in range(repeats):
        for name, fn in ways.items():
            t = time.perf_counter()
            gi = fn()
            times[name].append(time.perf_counter() - t)
            out[f"{name}_permutations"] = _drawn(name, gi)
            out[f"{name}_hot"] = int(gi.hot.sum())
    for name, ts in times.items():
        out[f"{name}_s"] = round(min(ts), 3)
    out["budgeted_vs_one_null"] = round(out["budgeted_s"] / out["one_null_s"], 2)
    out["full_count_per_group_vs_one_null"] = round(out["full_count_per_group_s"] / out["one_null_s"], 2)
    cli = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).parent / "ctxrisk"), "hotspots", "--warehouse", str(path), "--format", "csv"],
            check=True,
            capture_output=True,
        )
        cli.append(time.perf_counter() - t)
    out["ctxrisk_hotspots_cli_s"] = round(min(cli), 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "region_groups.json")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    out: dict = {"measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "repeats": args.repeats}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _sample(folder / "sample.duckdb")
        out["ten_town_sample"] = measure(folder / "sample.duckdb", args.repeats)
        _two_forces(folder / "forces.duckdb")
        out["merseyside_and_city"] = measure(folder / "forces.duckdb", args.repeats)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
