"""Ingest speed of the real public CSV formats: ctxrisk against DuckDB's read_csv (the ceiling) and pandas.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_ingest.py [--formats street,stop-search,outcomes,ssda903-missing]
        [--rows 1000000] [--repeat 3] [--as-published | --sizes 10000,100000 | --city-months]

Each format's real sample in ``../shared/data`` is replicated to about ``--rows`` rows in a temporary folder.
The first copy is the real file; each later copy changes every record so the copies stay as distinct as a
real file's records (see :data:`FORMATS`): street copies are a month earlier each, with their own Crime IDs
(anti-social behaviour has none), outcomes copies get their own Crime IDs, stop-and-search copies their own
second of the minute and year, SSDA903 copies their own child IDs. Each contender loads the same file into a
fresh database file on disk, in its own Python process (as a user's ``ctxrisk ingest`` or script would run),
timed from opening the database to closing it with the imports done before; ctxrisk's warehouse is created
first, as it exists before a file arrives. The contenders take turns, and the best of ``--repeat`` rounds
counts. The machine's load averages are recorded with the results.

With ``--as-published`` each real sample is timed as it is, read in place: the files a partnership receives
are a month of one force (hundreds to tens of thousands of records) or one authority's return, where what
each contender does once per process weighs as much as its rows.

With ``--sizes`` each sample is replicated to each of the given sizes in turn: the share of the ceiling moves
with the size of the file, from per-file costs at a few thousand rows to storage at a million, and the files
partnerships hold run from hundreds of rows to about a hundred thousand (a month of the largest force).

Writes ``benchmarks/results/ingest.json`` (``formats`` for the replicas of ``--rows``, ``sizes`` for those of
``--sizes``, ``as_published`` for the samples as they are; what is not measured in this run keeps its earlier
results) and prints a markdown table per format and size.
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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "ingest.json"
GOAL_SHARE = 0.4
#: A year and more of one force's monthly street files, as a partnership receives them (20 real months).
CITY_MONTHS = SHARED / "police_uk" / "street" / "city-of-london-monthly"
GOAL_CITY_MONTHS_S = 5.0


def _new_crime_id(line: str, copy: int) -> str:
    """An outcomes record whose 64-hex Crime ID ends in the copy number."""
    crime_id, rest = line.split(",", 1)
    return f"{crime_id[:-6]}{copy:06x},{rest}" if crime_id else line


def _new_street_month(line: str, copy: int) -> str:
    """A street record ``copy`` months earlier, its 64-hex Crime ID ending in the copy number.

    Anti-social behaviour has no Crime ID: moving the month keeps those records as distinct from one copy to
    the next as they are within a real file (about seven in ten; identical rows are numbered in their keys).
    """
    crime_id, month, rest = line.split(",", 2)
    if len(month) == 7 and month[4] == "-" and month[:4].isdigit() and month[5:].isdigit():
        index = int(month[:4]) * 12 + int(month[5:]) - 1 - copy
        month = f"{index // 12:04d}-{index % 12 + 1:02d}"
    crime_id = f"{crime_id[:-6]}{copy:06x}" if crime_id else crime_id
    return f"{crime_id},{month},{rest}"


def _new_time(line: str, copy: int) -> str:
    """A stop-and-search record ``copy % 60`` seconds later in its minute and ``copy // 60`` years earlier:
    every copy of a record differs from it, and the times stay about as distinct as a real file's (the
    published times are to the minute). ``Type`` holds no comma."""
    kind, date, rest = line.split(",", 2)
    if len(date) >= 19 and date[4] == "-" and date[16] == ":" and date[:4].isdigit() and date[17:19].isdigit():
        years, seconds = divmod(copy, 60)
        date = f"{int(date[:4]) - years:04d}{date[4:17]}{(int(date[17:19]) + seconds) % 60:02d}{date[19:]}"
    return f"{kind},{date},{rest}"


def _new_child(line: str, copy: int) -> str:
    """An SSDA903 Missing record of a child ID made distinct per copy (``CHILD`` is the first column)."""
    child, rest = line.split(",", 1)
    return f"{child}-{copy:x},{rest}" if child else line


@dataclass(frozen=True)
class Format:
    """A real public CSV format: its ctxrisk source, its real sample and how a copy of a record is made."""

    source: str
    sample: Path
    replicate: Callable[[str, int], str]
    how: str


FORMATS: dict[str, Format] = {
    "street": Format(
        "police-uk-street",
        SHARED / "police_uk" / "street" / "police-uk-2018-12-merseyside-street.csv",
        _new_street_month,
        "each copy a month earlier, with its own Crime IDs",
    ),
    "stop-search": Format(
        "police-uk-stop-search",
        SHARED / "police_uk" / "stop_and_search" / "2025-06-cheshire-stop-and-search.csv",
        _new_time,
        "each copy at its own second of the minute and year",
    ),
    "outcomes": Format(
        "police-uk-outcomes",
        SHARED / "police_uk" / "outcomes" / "2026-02-city-of-london-outcomes.HEAD15.csv",
        _new_crime_id,
        "distinct Crime IDs per copy",
    ),
    "ssda903-missing": Format(
        "ssda903-missing", SHARED / "ssda903" / "missing.csv", _new_child, "distinct child IDs per copy"
    ),
}


def sample_lines(path: Path) -> tuple[str, list[str]]:
    """A sample's header and its non-blank record lines (no record of the samples spans lines)."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    return lines[0], [line for line in lines[1:] if line.strip()]


def build_file(fmt: Format, folder: Path, rows: int) -> tuple[Path, int]:
    """Replicate ``fmt``'s sample to at least ``rows`` records; return the path and the record count.

    The first copy is the real file as it is; each later copy is changed by ``fmt.replicate``.
    """
    header, body = sample_lines(fmt.sample)
    copies = max(1, -(-rows // len(body)))
    path = folder / f"{fmt.sample.stem}-x{copies}.csv"
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(header + "\n")
        for k in range(copies):
            out.write("\n".join(fmt.replicate(line, k) if k else line for line in body) + "\n")
    return path, copies * len(body)


def run_ctxrisk(source: str, path: Path, folder: Path) -> int:
    from ctxrisk.pipelines.runner import ingest_one
    from ctxrisk.pipelines.settings import load_settings
    from ctxrisk.pipelines.warehouse import connect

    settings = load_settings(None, warehouse=folder / "ctxrisk.duckdb")
    con = connect(settings=settings)
    result = ingest_one(con, source, path, settings=settings)
    con.close()
    return result.rows_loaded + result.rows_rejected


def run_duckdb(path: Path, folder: Path) -> int:
    con = duckdb.connect(str(folder / "duckdb.duckdb"))
    con.execute("create table loaded as select * from read_csv(?)", [str(path)])
    n = con.execute("select count(*) from loaded").fetchone()[0]
    con.close()
    return n


def run_pandas(path: Path, folder: Path) -> int:
    frame = pd.read_csv(path)
    with sqlite3.connect(folder / "pandas.sqlite") as con:
        frame.to_sql("loaded", con, index=False, chunksize=100_000)
    return len(frame)


def _prepare(contender: str, folder: Path) -> None:
    """What happens before a file arrives: imports, and for ctxrisk an existing (empty) warehouse."""
    if contender == "ctxrisk":
        import ctxrisk.pipelines.runner  # noqa: F401 - imported before the clock starts, as duckdb and pandas are
        import ctxrisk.pipelines.sources.police_uk  # noqa: F401
        import ctxrisk.pipelines.sources.ssda903  # noqa: F401
        from ctxrisk.pipelines.settings import load_settings
        from ctxrisk.pipelines.warehouse import connect

        connect(settings=load_settings(None, warehouse=folder / "ctxrisk.duckdb")).close()


def worker(contender: str, source: str, path: Path, folder: Path) -> dict[str, float]:
    """Load ``path`` with one contender in this process; rows and seconds (printed as JSON by ``--worker``)."""
    _prepare(contender, folder)
    start = time.perf_counter()
    if contender == "ctxrisk":
        rows = run_ctxrisk(source, path, folder)
    else:
        rows = CONTENDERS[contender](path, folder)
    return {"rows": rows, "seconds": time.perf_counter() - start}


CONTENDERS: dict[str, Callable[[Path, Path], int]] = {"duckdb": run_duckdb, "pandas": run_pandas}


def timed(contenders: list[tuple[str, str]], source: str, path: Path, repeat: int) -> list[dict[str, object]]:
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
                done = subprocess.run(
                    [sys.executable, __file__, "--worker", key, source, str(path), scratch],
                    capture_output=True,
                    text=True,
                    check=False,
                    cwd=ROOT,
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                )
            if done.returncode != 0:
                msg = f"{name} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}"
                raise RuntimeError(msg)
            run = json.loads(done.stdout.strip().splitlines()[-1])
            loaded[name] = int(run["rows"])
            best[name] = min(best.get(name, run["seconds"]), run["seconds"])
    return [
        {
            "name": name,
            "rows": loaded[name],
            "seconds": round(best[name], 3),
            "rows_per_second": round(loaded[name] / best[name]),
        }
        for name, _key in contenders
    ]


def published_records(path: Path) -> int:
    """The records of a sample as published: its non-blank lines after the header (none spans lines)."""
    return len(sample_lines(path)[1])


def measure(key: str, *, rows: int, repeat: int, pandas: bool, as_published: bool = False) -> dict[str, object]:
    """Time the contenders on one format's sample, replicated to ``rows`` records or ``as_published`` (read in
    place, as a partnership receives it); the format's report."""
    fmt = FORMATS[key]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        if as_published:
            path, records = fmt.sample, published_records(fmt.sample)
        else:
            path, records = build_file(fmt, Path(folder), rows)
        contenders = [("duckdb read_csv (ceiling)", "duckdb"), (f"ctxrisk ingest {fmt.source}", "ctxrisk")]
        if pandas:
            contenders.append(("pandas read_csv + to_sql (sqlite)", "pandas"))
        results = timed(contenders, fmt.source, path, repeat)
        size = path.stat().st_size
    for r in results:
        if r["rows"] != records:
            msg = f"{r['name']} took {r['rows']:,} rows of {path.name}; the file has {records:,}"
            raise RuntimeError(msg)
    ceiling = results[0]["rows_per_second"]
    for r in results:
        r["share_of_ceiling"] = round(r["rows_per_second"] / ceiling, 3)
    return {
        "source": fmt.source,
        "file": {
            "rows": records,
            "bytes": size,
            "replicated_from": fmt.sample.name,
            "how": "as published" if as_published else fmt.how,
        },
        "rounds": repeat,
        # 1, 5 and 15 minute load averages: on a shared machine the times move with them
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "results": results,
        "goal_met": results[1]["share_of_ceiling"] >= GOAL_SHARE,
    }


def city_months(repeat: int) -> dict[str, object]:
    """Time ``ctxrisk ingest police-uk-street <every City of London month>`` as one command, best of ``repeat``.

    Each round starts from a fresh warehouse made by ``ctxrisk init`` (a warehouse exists before files
    arrive) and times the whole command, Python's start and imports included.
    """
    files = sorted(CITY_MONTHS.glob("*-street.csv"))
    ctxrisk = str(Path(sys.executable).with_name("ctxrisk"))
    load_before = os.getloadavg()
    best, rows = None, None
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as folder:
            warehouse = str(Path(folder) / "ctxrisk.duckdb")
            subprocess.run([ctxrisk, "init", "--warehouse", warehouse], check=True, capture_output=True, cwd=folder)
            os.sync()
            start = time.perf_counter()
            done = subprocess.run(
                [ctxrisk, "ingest", "police-uk-street", *map(str, files), "--warehouse", warehouse, "--format", "json"],
                capture_output=True,
                text=True,
                check=False,
                cwd=folder,
            )
            seconds = time.perf_counter() - start
        if done.returncode != 0:
            msg = f"ctxrisk ingest failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}"
            raise RuntimeError(msg)
        rows = sum(f["rows_read"] for f in json.loads(done.stdout)["files"])
        best = seconds if best is None else min(best, seconds)
    return {
        "files": len(files),
        "rows": rows,
        "seconds": round(best, 3),
        "rounds": repeat,
        "load_average": round(load_before[0], 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "goal_met": best < GOAL_CITY_MONTHS_S,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--formats", default=",".join(FORMATS), help=f"comma-separated; allowed: {', '.join(FORMATS)}")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-pandas", action="store_true")
    how = parser.add_mutually_exclusive_group()
    how.add_argument(
        "--as-published",
        action="store_true",
        help="time each real sample as it is (no replication); kept apart from the replicas' results",
    )
    how.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        help="comma-separated record counts, e.g. 10000,100000: each sample replicated to each size",
    )
    how.add_argument(
        "--city-months",
        action="store_true",
        help="time one `ctxrisk ingest` of the 20 real City of London street months (goal: under 5 s)",
    )
    parser.add_argument("--worker", nargs=4, metavar=("CONTENDER", "SOURCE", "FILE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        key, source, path, folder = args.worker
        print(json.dumps(worker(key, source, Path(path), Path(folder))))
        return 0
    if args.city_months:
        return _city_months_main(args.repeat)
    keys = [k.strip() for k in args.formats.split(",") if k.strip()]
    unknown = [k for k in keys if k not in FORMATS]
    if unknown:
        parser.error(f"unknown format(s) {', '.join(unknown)}; allowed: {', '.join(FORMATS)}")
    missing = [str(FORMATS[k].sample) for k in keys if not FORMATS[k].sample.is_file()]
    if missing:
        print(f"not present, nothing to measure: {', '.join(missing)}", file=sys.stderr)
        return 1
    report = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    report = report if "formats" in report else {}  # results in the earlier street-only layout are replaced
    report["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "duckdb": duckdb.__version__,
        "pandas": pd.__version__,
    }
    report["goal"] = f"ctxrisk at least {GOAL_SHARE} of the ceiling's rows per second"
    runs: list[tuple[str, int | None]] = [(key, size) for size in (args.sizes or [None]) for key in keys]
    for key, size in runs:
        f = measure(
            key, rows=size or args.rows, repeat=args.repeat, pandas=not args.skip_pandas, as_published=args.as_published
        )
        if args.as_published:
            report.setdefault("as_published", {})[key] = f
        elif size is None:
            report.setdefault("formats", {})[key] = f
        else:
            report.setdefault("sizes", {}).setdefault(key, {})[str(size)] = f
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
        print(
            f"\n{key}: {f['file']['rows']:,} rows, {f['file']['bytes'] / 1e6:.0f} MB, load average "
            f"{f['load_average_before'][0]:.2f} before, {f['load_average_after'][0]:.2f} after\n"
        )
        print("| contender | seconds | rows/s | share of ceiling |")
        print("| --- | ---: | ---: | ---: |")
        for r in f["results"]:
            print(f"| {r['name']} | {r['seconds']:.2f} | {r['rows_per_second']:,} | {r['share_of_ceiling']:.2f} |")
    return 0


def _city_months_main(repeat: int) -> int:
    if not CITY_MONTHS.is_dir():
        print(f"not present, nothing to measure: {CITY_MONTHS}", file=sys.stderr)
        return 1
    report = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    report["city_months"] = found = city_months(repeat)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"{found['files']} City of London months, {found['rows']:,} rows: {found['seconds']:.2f} s in one command "
        f"(best of {repeat}; load average {found['load_average']:.2f})"
    )
    return 0


def _sizes(text: str) -> list[int]:
    """``--sizes``: comma-separated positive record counts."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        sizes = []
    if not sizes or any(n < 1 for n in sizes):
        msg = f"sizes must be comma-separated positive record counts, e.g. 10000,100000, not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return sizes


if __name__ == "__main__":
    sys.exit(main())
