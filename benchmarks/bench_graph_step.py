"""The graph step of ``ctxrisk run`` at scale: its wall and CPU time and peak RSS on one warehouse.

Usage: ``.venv/bin/python benchmarks/bench_graph_step.py WAREHOUSE``. The warehouse is copied first
(the step writes marts). CPU time includes the Leiden worker processes; the load average is recorded
because the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time


def step(path: str) -> dict:
    """Run the graph step on a copy of ``path``; seconds and peak RSS."""
    from ctxrisk.jobs import analytics_steps as steps
    from ctxrisk.pipelines import warehouse

    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "w.duckdb")
        shutil.copy(path, copy)
        con = warehouse.connect(copy)
        ctx = _Ctx(con, copy)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        load = os.getloadavg()[0]
        start, cpu0 = time.perf_counter(), _cpu()
        out = steps.graph_step(ctx)
        seconds, cpu = time.perf_counter() - start, _cpu() - cpu0
        con.close()
    return {
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "maxrss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "maxrss_before_gb": round(before / 1e6, 2),
        "detail": out.detail,
    }


def _cpu() -> float:
    """User and system CPU seconds of this process and its finished children (the Leiden workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class _Ctx:
    """The parts of a step context the graph step reads."""

    def __init__(self, con, path: str) -> None:
        from ctxrisk.pipelines.settings import load_settings

        self.con, self.settings = con, load_settings(warehouse=path)


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("warehouse")
    args = parser.parse_args()
    print(json.dumps(step(args.warehouse)))


if __name__ == "__main__":
    main()
