"""Ingest speed of a police.uk street CSV: ctxrisk against DuckDB's read_csv (the ceiling) and pandas.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_ingest.py [--rows 1000000] [--repeat 2]

The real Merseyside 2018-12 file in ``../shared/data/police_uk/street`` is replicated (each copy's Crime IDs
made unique, blank anti-social-behaviour IDs left blank) to about ``--rows`` rows in a temporary folder.
Each contender loads the same file into a fresh database file on disk, in its own Python process (as a user's
``ctxrisk ingest`` or script would run), timed from opening the database to closing it with the imports done
before; ctxrisk's warehouse is created first, as it exists before a file arrives. The contenders take turns,
and the best of ``--repeat`` rounds counts. The machine's load averages are recorded with the results.
Writes ``benchmarks/results/ingest.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "police_uk" / "street" / "police-uk-2018-12-merseyside-street.csv"
RESULTS = ROOT / "benchmarks" / "results" / "ingest.json"


def build_file(folder: Path, rows: int) -> tuple[Path, int]:
    """Replicate the real file to at least ``rows`` records; return the path and the record count."""
    lines = SOURCE.read_text(encoding="utf-8").splitlines()
    header, body = lines[0], lines[1:]
    copies = max(1, -(-rows // len(body)))
    path = folder / f"2018-12-merseyside-street-x{copies}.csv"
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(header + "\n")
        for k in range(copies):
            suffix = f"{k:06x}"
            for line in body:
                if line.startswith(","):
                    out.write(line + "\n")
                else:
                    crime_id, rest = line.split(",", 1)
                    out.write(crime_id[:-6] + suffix + "," + rest + "\n")
    return path, copies * len(body)


def run_ctxrisk(path: Path, folder: Path) -> int:
    from pipelines.runner import ingest_one
    from pipelines.settings import load_settings
    from pipelines.warehouse import connect

    settings = load_settings(None, warehouse=folder / "ctxrisk.duckdb")
    con = connect(settings=settings)
    result = ingest_one(con, "police-uk-street", path, settings=settings)
    con.close()
    return result.rows_loaded


def _prepare(contender: str, folder: Path) -> None:
    """What happens before a file arrives: imports, and for ctxrisk an existing (empty) warehouse."""
    if contender == "ctxrisk":
        import pipelines.runner  # noqa: F401 - imported before the clock starts, as duckdb and pandas are
        import pipelines.sources.police_uk  # noqa: F401
        from pipelines.settings import load_settings
        from pipelines.warehouse import connect

        connect(settings=load_settings(None, warehouse=folder / "ctxrisk.duckdb")).close()


def worker(contender: str, path: Path, folder: Path) -> dict[str, float]:
    """Load ``path`` with one contender in this process; rows and seconds (printed as JSON by ``--worker``)."""
    func = CONTENDERS[contender]
    _prepare(contender, folder)
    start = time.perf_counter()
    rows = func(path, folder)
    return {"rows": rows, "seconds": time.perf_counter() - start}


def run_duckdb(path: Path, folder: Path) -> int:
    con = duckdb.connect(str(folder / "duckdb.duckdb"))
    con.execute("create table street as select * from read_csv(?)", [str(path)])
    n = con.execute("select count(*) from street").fetchone()[0]
    con.close()
    return n


def run_pandas(path: Path, folder: Path) -> int:
    frame = pd.read_csv(path)
    with sqlite3.connect(folder / "pandas.sqlite") as con:
        frame.to_sql("street", con, index=False, chunksize=100_000)
    return len(frame)


def timed(contenders: list[tuple[str, str]], path: Path, repeat: int) -> list[dict[str, object]]:
    """Best time of each contender over ``repeat`` rounds; each round runs every contender once, in turn.

    Interleaving the contenders means a burst of load on a shared machine falls on all of them alike. Each run
    is a fresh Python process (``--worker``), so no contender inherits another's memory, threads or pending
    disk writes.
    """
    best: dict[str, float] = {}
    loaded: dict[str, int] = {}
    for _ in range(repeat):
        for name, key in contenders:
            # The previous contender's files (pandas writes a 300 MB SQLite file) would otherwise be written
            # back to disk while this one runs: each starts with no other's writes pending.
            os.sync()
            with tempfile.TemporaryDirectory() as scratch:
                done = subprocess.run([sys.executable, __file__, "--worker", key, str(path), scratch],
                                      capture_output=True, text=True, check=False, cwd=ROOT,
                                      env={**os.environ, "PYTHONPATH": str(ROOT)})
            if done.returncode != 0:
                msg = f"{name} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}"
                raise RuntimeError(msg)
            run = json.loads(done.stdout.strip().splitlines()[-1])
            loaded[name] = int(run["rows"])
            best[name] = min(best.get(name, run["seconds"]), run["seconds"])
    return [{"name": name, "rows": loaded[name], "seconds": round(best[name], 3),
             "rows_per_second": round(loaded[name] / best[name])} for name, _key in contenders]


CONTENDERS = {"duckdb": run_duckdb, "ctxrisk": run_ctxrisk, "pandas": run_pandas}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--worker", nargs=3, metavar=("CONTENDER", "FILE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        key, path, folder = args.worker
        print(json.dumps(worker(key, Path(path), Path(folder))))
        return 0
    if not SOURCE.is_file():
        print(f"{SOURCE} is not present: nothing to measure", file=sys.stderr)
        return 1
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        path, rows = build_file(Path(folder), args.rows)
        contenders = [("duckdb read_csv (ceiling)", "duckdb"), ("ctxrisk ingest police-uk-street", "ctxrisk")]
        if not args.skip_pandas:
            contenders.append(("pandas read_csv + to_sql (sqlite)", "pandas"))
        results = timed(contenders, path, args.repeat)
        size = path.stat().st_size
    ceiling = results[0]["rows_per_second"]
    for r in results:
        r["share_of_ceiling"] = round(r["rows_per_second"] / ceiling, 3)
    report = {
        "file": {"rows": rows, "bytes": size, "replicated_from": SOURCE.name},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "duckdb": duckdb.__version__, "pandas": pd.__version__,
                    # 1, 5 and 15 minute load averages: on a shared machine the times move with them
                    "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in os.getloadavg()]},
        "results": results,
        "goal": "ctxrisk at least half the ceiling's rows per second",
        "goal_met": results[1]["share_of_ceiling"] >= 0.5,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{rows:,} rows, {size / 1e6:.0f} MB, load average {load_before[0]:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after\n")
    print("| contender | seconds | rows/s | share of ceiling |")
    print("| --- | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['name']} | {r['seconds']:.2f} | {r['rows_per_second']:,} | {r['share_of_ceiling']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
