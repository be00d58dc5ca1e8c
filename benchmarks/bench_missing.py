"""``ctxrisk missing children`` and ``ctxrisk mace`` at scale (issue 23: each under 10 s at 1M incidents and
120k missing episodes), and the repeat rule against the SQL window query an analyst would write.

Usage: ``.venv/bin/python benchmarks/bench_missing.py [--incidents 1M] [--out benchmarks/results/missing.json]``.

``ctxrisk sample --scale N`` (parquet; 0.12 missing episodes per incident) is written to
``benchmarks/_data/missing-<N>/`` (git-ignored, reused) and ingested into a warehouse there. The association
graph's flagged adults and the locations of concern are stand-ins written from the sample's ground truth
(the planted adults and places): the graph step and Gi* are measured by bench_graph_step and bench_gistar,
and these commands read their marts. Timed, each once after one warm-up run: the two functions in process,
and the two commands end to end (a new process each: import, open, query, write CSV to /dev/null). The
machine's load average before and after is recorded: a shared machine slows every number.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("persons", "incidents", "missing", "intelligence", "involvements", "associations", "screenings", "referrals")

REPEAT_SQL = """
select person_id, max(n) as max_in_window from (
    select person_id, count(*) over (
        partition by person_id order by started_at
        range between current row and interval '{days} days' - interval '1 microsecond' following
    ) as n
    from staging.missing_episodes
) group by person_id
"""


def build(n: int) -> Path:
    """Sample and warehouse for ``n`` incidents (reused when present)."""
    from ctxrisk.pipelines.ingest import ingest_file
    from ctxrisk.pipelines.settings import load_settings
    from ctxrisk.pipelines.warehouse import connect
    from ctxrisk.synthetic.sample import generate_sample

    folder = ROOT / "benchmarks" / "_data" / f"missing-{n}"
    sample, path = folder / "sample", folder / "w.duckdb"
    if not (sample / "ground_truth.json").exists():
        generate_sample(sample, incidents=n, fmt="parquet")
    if path.exists():
        return path
    settings = load_settings(None, warehouse=path)
    con = connect(settings=settings)
    for kind in KINDS:
        ingest_file(con, kind, sample / f"{kind}.parquet", settings=settings)
    stand_ins(con, json.loads((sample / "ground_truth.json").read_text()))
    con.close()
    return path


def stand_ins(con, truth: dict) -> None:
    """Graph and locations marts from the planted adults and places (see the module docstring)."""
    import pandas as pd

    from ctxrisk.pipelines.warehouse import write_mart

    adults = truth["adults_of_concern"]
    # every declared column (pipelines/sql/marts/060): the commands read person_id and flagged only
    stand_in = {"age_band": "adult", "expected_by_chance": 0.0, "p": 0.0, "q": 0.0, "flagged": True, "score": 0.0}
    counts = ("children_linked", "child_links", "links", "looked_after_children", "high_risk_children")
    frame = pd.DataFrame({"person_id": adults, **stand_in, **dict.fromkeys(counts, 0)})
    frame = frame.assign(finding="planted adult of concern", relations="", last_seen=pd.NaT, evidence_summary="")
    write_mart(con, "graph_adults_of_concern", frame)
    places = truth["locations_of_concern"]
    write_mart(
        con,
        "locations_of_concern",
        pd.DataFrame(
            {
                "rank": range(1, len(places) + 1),
                "unit_id": [p["h3_res9"] for p in places],
                "name": [p["name"] for p in places],
                "score": [1.0 - i / len(places) for i in range(len(places))],
                "latitude": [p["latitude"] for p in places],
                "longitude": [p["longitude"] for p in places],
            }
        ),
    )


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def measure(path: Path) -> dict:
    """Seconds of each function and command, and the repeat rule against DuckDB's window query."""
    import numpy as np

    from ctxrisk.analytics.protect.episodes import load_episodes, window_counts
    from ctxrisk.analytics.protect.mace import mace_list, mace_places
    from ctxrisk.analytics.protect.missing import missing_children
    from ctxrisk.pipelines.settings import load_settings
    from ctxrisk.pipelines.warehouse import connect

    settings = load_settings(None, warehouse=path)
    con = connect(path, settings=settings, read_only=True)
    counts = {
        t: con.execute(f"select count(*) from {t}").fetchone()[0]
        for t in ("raw.incidents", "staging.missing_episodes", "staging.involvements")
    }
    missing_children(con, settings=settings)  # warm-up: caches and lazy imports
    children_s, table = timed(lambda: missing_children(con, settings=settings))
    mace_s, result = timed(lambda: mace_list(con, settings=settings))
    places_s, places = timed(lambda: mace_places(result, settings=settings))
    days = settings.missing.repeat_window_days
    sql_s, by_sql = timed(lambda: con.execute(REPEAT_SQL.format(days=days)).df())
    episodes = load_episodes(con, settings=settings)

    def ours():
        codes = episodes["person_id"].factorize()[0]
        seconds = episodes["started_at"].to_numpy("datetime64[s]").astype(np.int64).astype(np.float64)
        return window_counts(codes, seconds, days * 86400.0)[0]

    ours_s, ahead = timed(ours)
    ours_max = episodes.assign(n=ahead).groupby("person_id")["n"].max()
    same = bool((by_sql.set_index("person_id")["max_in_window"].reindex(ours_max.index) == ours_max).all())
    con.close()
    cli = {}
    for name, args in {"missing_children": ["missing", "children"], "mace": ["mace"]}.items():
        command = [sys.executable, "-m", "ctxrisk.cli.main", *args, "--warehouse", str(path), "--format", "csv"]
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cli[name] = round(time.perf_counter() - start, 2)
    return {
        "rows": counts,
        "missing_children": {"seconds": round(children_s, 2), "children": len(table.frame)},
        "mace": {"seconds": round(mace_s, 2), "children": len(result.frame), "places_seconds": round(places_s, 3),
                 "places": len(places)},
        "cli_seconds": cli,
        "repeat_rule": {"numpy_window_counts_s": round(ours_s, 3), "duckdb_window_sql_s": round(sql_s, 3),
                        "speedup_vs_sql": round(sql_s / ours_s, 2), "same_max_per_child": same},
    }  # fmt: skip


def main() -> None:
    """Command line: see the module docstring."""
    from ctxrisk.synthetic.sample import parse_scale

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", default="1M")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "missing.json"))
    args = parser.parse_args()
    n = parse_scale(args.incidents)
    path = build(n)
    load_before = os.getloadavg()[0]
    measured = measure(path)
    result = {
        "machine": {
            "python": platform.python_version(),
            "processor": platform.machine(),
            "cpus": os.cpu_count(),
            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        },
        "incidents": n,
        **measured,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
