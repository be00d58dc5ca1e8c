"""Graph step at scale: array marts against networkx marts on one warehouse's inputs, and the step's time and peak RSS.

Usage: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_graph_step.py WAREHOUSE [--compare] [--seeds N]``.
The warehouse is copied first (the step writes marts). ``--compare`` builds the networkx graph from the
same inputs and checks that every mart is the same frame (``pd.testing.assert_frame_equal``, exact).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time


def compare(path: str, seeds: int) -> None:
    """Array marts == networkx marts on the inputs of ``path``."""
    import pandas as pd

    from ctxrisk.analytics.graph import centrality, group_summary, groups, load_graph_inputs
    from ctxrisk.analytics.graph.arrays import to_networkx
    from ctxrisk.analytics.graph.build import build_arrays
    from ctxrisk.analytics.graph.centrality import centrality_arrays
    from ctxrisk.analytics.graph.communities import group_summary_arrays, groups_arrays
    from ctxrisk.pipelines import warehouse
    from ctxrisk.pipelines.settings import load_settings

    settings = load_settings(warehouse=path)
    con = warehouse.connect(path, read_only=True)
    arrays = build_arrays(load_graph_inputs(con), half_life_days=settings.graph.recency_half_life_days)
    g = to_networkx(arrays)
    exact = settings.graph.exact_betweenness_max_nodes
    pairs = {
        "centrality": (centrality(g, exact_max_nodes=exact), centrality_arrays(arrays, exact_max_nodes=exact)),
        "groups": (groups(g, seeds=range(seeds)), groups_arrays(arrays, seeds=range(seeds))),
    }
    pairs["group_summary"] = (group_summary(g, pairs["groups"][0]), group_summary_arrays(arrays, pairs["groups"][1]))
    for name, (old, new) in pairs.items():
        pd.testing.assert_frame_equal(new, old, check_exact=True)
        assert new.attrs == old.attrs, name
        print(f"{name}: {len(new):,} rows identical")


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
        start = time.perf_counter()
        out = steps.graph_step(ctx)
        seconds = time.perf_counter() - start
        con.close()
    return {
        "seconds": round(seconds, 1),
        "maxrss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "maxrss_before_gb": round(before / 1e6, 2),
        "detail": out.detail,
    }


class _Ctx:
    """The parts of a step context the graph step reads."""

    def __init__(self, con, path: str) -> None:
        from ctxrisk.pipelines.settings import load_settings

        self.con, self.settings = con, load_settings(warehouse=path)


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("warehouse")
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    if args.compare:
        compare(args.warehouse, args.seeds)
    else:
        print(json.dumps(step(args.warehouse)))


if __name__ == "__main__":
    main()
