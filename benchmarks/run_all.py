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
with ratios and pass/fail against each goal, growth 100k -> 1M -> 10M with a fitted exponent).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
DATA_DIR = BENCH / "_data"
RESULTS = BENCH / "results" / "run_all.json"
MARKDOWN = ROOT / "BENCHMARKS.md"
#: Written by bench_ingest.py: the real public CSV formats (issue 3) against the same contenders.
POLICE_UK_INGEST = BENCH / "results" / "ingest.json"
DEFAULT_SCALES = "100k,1M,10M"
KINDS = ("persons", "incidents", "missing", "intelligence", "involvements", "associations", "screenings", "referrals")
SHARED_BOUNDARIES = ROOT.parent / "shared" / "data" / "boundaries"
BOUNDARIES = {
    "ward": "cheshire_east_E06000049_wards2013.geojson",
    "lsoa11": "cheshire_police_area_lsoa2011_imd2019.geojson",
}
INGEST_CONTENDERS = ("duckdb", "ctxrisk", "pandas")
#: rounds of the ingest comparison; each contender's best round counts
INGEST_ROUNDS = 3
PACKAGES = (
    "duckdb",
    "pandas",
    "numpy",
    "pyarrow",
    "scipy",
    "networkx",
    "igraph",
    "esda",
    "libpysal",
    "numba",
    "h3",
    "folium",
    "psutil",
    "playwright",
)
SAMPLE_MARKER = ".bench_sample.json"

#: The issue's goals: end-to-end 1M incidents in under 2 minutes on 2 cores; 10M with peak memory under 8 GB;
#: ingest at least half of DuckDB's read_csv rows/s; Gi* at least 10x esda.
GOAL_E2E_1M_S = 120.0
GOAL_PEAK_10M_BYTES = 8 * 1024**3
GOAL_INGEST_SHARE = 0.5
GOAL_GISTAR_SPEEDUP = 10.0
LINEAR_BAND = (0.9, 1.1)

log = logging.getLogger("benchmarks.run_all")
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))


class BenchError(RuntimeError):
    """A benchmark could not be run (bad option, a subprocess failed)."""


# --------------------------------------------------------------------------------------------------------------
# Scales


def parse_scales(text: str) -> list[int]:
    """Parse ``"100k,1M,10M"`` into incident counts (each as :func:`ctxrisk.synthetic.sample.parse_scale` reads it).

    Raises
    ------
    BenchError
        An empty list, or a scale below the sample's minimum of 1,000 incidents.
    """
    from ctxrisk.pipelines.errors import ValidationError
    from ctxrisk.synthetic.sample import MIN_INCIDENTS, parse_scale

    scales = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            n = parse_scale(part)
        except ValidationError as exc:
            raise BenchError(str(exc)) from exc
        if n < MIN_INCIDENTS:
            msg = f"scale {part!r} is below the sample's minimum of {MIN_INCIDENTS:,} incidents"
            raise BenchError(msg)
        scales.append(n)
    if not scales:
        msg = f"no scales in {text!r}: use e.g. 100k,1M,10M"
        raise BenchError(msg)
    return sorted(set(scales))


def scale_label(n: int) -> str:
    """``100000 -> "100k"``, ``1000000 -> "1M"``, ``2500 -> "2500"`` (the folder and table name of a scale)."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 10_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


# --------------------------------------------------------------------------------------------------------------
# Measuring a subprocess: wall time, peak memory of its process tree, load average


@dataclass
class Measured:
    """One measured subprocess.

    Attributes
    ----------
    seconds : float
        Wall-clock time from start to exit.
    peak_rss_bytes : int
        The larger of the polled peak of the summed RSS of the process and all its descendants and the
        kernel's ``ru_maxrss`` for the process (the largest single process).
    polled_peak_rss_bytes, maxrss_bytes : int
        Both measures separately.
    returncode : int
    load_average : dict
        ``min``, ``mean``, ``max`` of the 1-minute load average sampled while it ran.
    cpu_seconds : float
        User + system CPU time of the process and the descendants it waited for (``wait4`` rusage). On a
        shared machine this is the steadier measure: wall time ≈ CPU time when the work is single-threaded.
    timed_out : bool
        Stopped by the ``timeout`` of :func:`run_measured`.
    stdout : str
    """

    seconds: float
    peak_rss_bytes: int
    polled_peak_rss_bytes: int
    maxrss_bytes: int
    returncode: int
    load_average: dict[str, float]
    cpu_seconds: float = 0.0
    timed_out: bool = False
    stdout: str = field(repr=False, default="")

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "stdout"}


def _tree_rss(proc: Any) -> int:
    import psutil

    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in members:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def _load_summary(samples: Sequence[float]) -> dict[str, float]:
    if not samples:
        samples = [os.getloadavg()[0]]
    return {"min": round(min(samples), 2), "mean": round(sum(samples) / len(samples), 2), "max": round(max(samples), 2)}


def run_measured(
    cmd: Sequence[str],
    *,
    cwd: Path | None = None,
    log_path: Path | None = None,
    interval: float = 0.2,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    max_rss_bytes: int | None = None,
) -> Measured:
    """Run ``cmd``; measure wall time, peak memory of its process tree and the load average meanwhile.

    Parameters
    ----------
    cmd : sequence of str
    cwd : Path or None
    log_path : Path or None
        Where its standard error goes (else discarded).
    interval : float
        Seconds between memory polls (the load average is sampled every 25 polls).
    env : dict or None
        Extra environment variables.
    timeout : float or None
        Seconds after which the process group is sent SIGTERM (``ctxrisk run`` rolls back to its last
        commit and exits 143); ``Measured.timed_out`` is then True.
    max_rss_bytes : int or None
        Stop the process group (SIGTERM, SIGKILL 30 s later) when the tree's RSS passes this, to protect a
        shared machine; ``Measured.timed_out`` is then True and ``peak_rss_bytes`` shows the level reached.
    """
    import signal

    import psutil

    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    err = open(log_path, "w", encoding="utf-8") if log_path else subprocess.DEVNULL  # noqa: SIM115
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as out:
        began = time.perf_counter()
        popen = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            stdout=out,
            stderr=err,
            env=full_env,
            start_new_session=timeout is not None or max_rss_bytes is not None,
        )
        proc = psutil.Process(popen.pid)
        peak = 0
        loads: list[float] = []
        done = threading.Event()
        status: dict[str, Any] = {}

        def wait() -> None:
            _, code, usage = os.wait4(popen.pid, 0)
            status["code"] = os.waitstatus_to_exitcode(code)
            status["maxrss"] = usage.ru_maxrss * 1024  # kilobytes on Linux
            status["cpu"] = usage.ru_utime + usage.ru_stime
            status["ended"] = time.perf_counter()
            done.set()

        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        polls = 0
        timed_out = False
        stopped_at = None
        while not done.is_set():
            peak = max(peak, _tree_rss(proc))
            over_time = timeout is not None and time.perf_counter() - began > timeout
            over_memory = max_rss_bytes is not None and peak > max_rss_bytes
            if (over_time or over_memory) and not timed_out:
                timed_out = True
                stopped_at = time.perf_counter()
                log.warning(
                    "stopping %s: %s",
                    cmd[0],
                    f"after {timeout:.0f} s (timeout)"
                    if over_time
                    else f"memory {peak / 1e9:.1f} GB over the {max_rss_bytes / 1e9:.1f} GB cap",
                )
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(popen.pid, signal.SIGTERM)
            elif timed_out and stopped_at is not None and time.perf_counter() - stopped_at > 30:
                stopped_at = None
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(popen.pid, signal.SIGKILL)
            if polls % 25 == 0:
                loads.append(os.getloadavg()[0])
            polls += 1
            done.wait(interval)
        waiter.join()
        popen.returncode = status["code"]
        out.seek(0)
        stdout = out.read()
    if log_path:
        err.close()
    return Measured(
        seconds=round(status["ended"] - began, 3),
        peak_rss_bytes=max(peak, status["maxrss"]),
        polled_peak_rss_bytes=peak,
        maxrss_bytes=status["maxrss"],
        returncode=status["code"],
        load_average=_load_summary(loads),
        cpu_seconds=round(status["cpu"], 2),
        timed_out=timed_out,
        stdout=stdout,
    )


def _ctxrisk() -> str:
    exe = Path(sys.executable).with_name("ctxrisk")
    return str(exe) if exe.exists() else "ctxrisk"


# --------------------------------------------------------------------------------------------------------------
# Per scale: sample, end-to-end run, ingest contenders, steering map


def _count_rows(path: Path) -> int:
    lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 24):
            lines += chunk.count(b"\n")
    return max(0, lines - 1)


def generate(n: int, folder: Path, *, seed: int) -> dict[str, Any]:
    """Write the sample with ``ctxrisk sample`` (reused when ``folder`` holds the same scale and seed)."""
    marker = folder / SAMPLE_MARKER
    if marker.exists():
        info = json.loads(marker.read_text(encoding="utf-8"))
        if (
            info.get("incidents") == n
            and info.get("seed") == seed
            and all((folder / f"{k}.csv").exists() for k in KINDS)
        ):
            log.info("reusing the %s-incident sample in %s", f"{n:,}", folder)
            return {**info, "reused": True}
    folder.mkdir(parents=True, exist_ok=True)
    m = run_measured(
        [
            _ctxrisk(),
            "--log-level",
            "INFO",
            "sample",
            "--scale",
            str(n),
            "--seed",
            str(seed),
            "--format",
            "csv",
            "--out",
            str(folder),
        ],
        log_path=folder.parent / "sample.log",
    )
    if m.returncode != 0:
        msg = f"ctxrisk sample --scale {n} failed with exit code {m.returncode}; see {folder.parent / 'sample.log'}"
        raise BenchError(msg)
    rows = {k: _count_rows(folder / f"{k}.csv") for k in KINDS}
    info = {
        "incidents": n,
        "seed": seed,
        "rows": rows,
        "bytes": sum((folder / f"{k}.csv").stat().st_size for k in KINDS),
        **m.as_dict(),
    }
    marker.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return {**info, "reused": False}


def _toml_str(path: Path) -> str:
    return json.dumps(str(path))


def prepare_run(work: Path, sample: Path, *, boundaries: bool) -> Path:
    """Make fresh drop folders holding the sample (hard links) and a settings file; return the settings path."""
    for name in ("drop", "output"):
        shutil.rmtree(work / name, ignore_errors=True)
    for name in ("ctxrisk.duckdb", "ctxrisk.duckdb.wal"):
        (work / name).unlink(missing_ok=True)
    lines = [
        "# written by benchmarks/run_all.py",
        "[paths]",
        f"warehouse = {_toml_str(work / 'ctxrisk.duckdb')}",
        f"output_dir = {_toml_str(work / 'output')}",
        "",
        "[paths.drop_dirs]",
    ]
    for kind in KINDS:
        drop = work / "drop" / kind
        drop.mkdir(parents=True)
        try:
            os.link(sample / f"{kind}.csv", drop / f"{kind}.csv")
        except OSError:
            shutil.copy2(sample / f"{kind}.csv", drop / f"{kind}.csv")
        lines.append(f"{kind} = {_toml_str(drop)}")
    present = {
        lvl: SHARED_BOUNDARIES / name for lvl, name in BOUNDARIES.items() if (SHARED_BOUNDARIES / name).is_file()
    }
    if boundaries and present:
        lines += ["", "[paths.boundaries]", *(f"{lvl} = {_toml_str(p)}" for lvl, p in present.items())]
    config = work / "ctxrisk.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def run_log_steps(warehouse: Path, run_id: str | None = None) -> list[dict[str, Any]]:
    """Each step of the (latest or given) run from ``meta.run_log``: name, status, seconds, rows read/loaded.

    Per-file rows (``"ingest incidents: incidents.csv"``) are left out: their step's row covers them; the
    ``run`` row is the whole run.
    """
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        if run_id is None:
            row = con.execute(
                "select run_id from meta.run_log where step = 'run' order by started_at desc limit 1"
            ).fetchone()
            run_id = row[0] if row else None
        rows = con.execute(
            "select step, status, epoch(ended_at) - epoch(started_at), rows_read, rows_loaded, detail "
            "from meta.run_log where run_id = ? order by started_at",
            [run_id],
        ).fetchall()
    finally:
        con.close()
    return [
        {
            "step": s,
            "status": st,
            "seconds": round(float(sec), 3) if sec is not None else None,
            "rows_read": rr,
            "rows_loaded": rl,
            "detail": d,
        }
        for s, st, sec, rr, rl, d in rows
        if ": " not in s
    ]


_STEP_DONE = re.compile(r"ctxrisk\.jobs\.run: step (.+) (ok|partial|failed|skipped) in ([0-9.]+) s")
_STEP_STARTED = re.compile(r"ctxrisk\.jobs\.run: step \d+/\d+ (.+) started")


def steps_from_log(path: Path) -> tuple[list[dict[str, Any]], str | None]:
    """Finished steps (name, status, seconds) from a run's log lines, and the step still running, if any.

    Used when ``meta.run_log`` cannot be read (the run was stopped before it committed its summary).
    """
    steps: list[dict[str, Any]] = []
    running = None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if m := _STEP_STARTED.search(line):
            running = m.group(1)
        elif m := _STEP_DONE.search(line):
            steps.append(
                {
                    "step": m.group(1),
                    "status": m.group(2),
                    "seconds": float(m.group(3)),
                    "rows_read": None,
                    "rows_loaded": None,
                    "detail": None,
                }
            )
            running = None
    return steps, running


def end_to_end(
    work: Path, sample: Path, *, boundaries: bool, timeout: float | None = None, max_rss_bytes: int | None = None
) -> dict[str, Any]:
    """``ctxrisk run`` over the sample in a subprocess: wall time, peak memory, steps from ``meta.run_log``.

    With ``timeout`` (seconds) a run still going is stopped; its finished steps then come from its log.
    """
    config = prepare_run(work.resolve(), sample.resolve(), boundaries=boundaries)
    m = run_measured(
        [_ctxrisk(), "--log-level", "INFO", "run", "--config", str(config), "--format", "json", "--progress", "lines"],
        cwd=work,
        log_path=work / "run.log",
        timeout=timeout,
        max_rss_bytes=max_rss_bytes,
    )
    result: dict[str, Any] = {
        "command": f"ctxrisk run --config {config.name}",
        **m.as_dict(),
        "boundaries": boundaries and any((SHARED_BOUNDARIES / n).is_file() for n in BOUNDARIES.values()),
    }
    try:
        summary = json.loads(m.stdout)
    except json.JSONDecodeError:
        summary = {}
    result["status"] = summary.get("status", f"exit code {m.returncode}")
    result["headline"] = summary.get("headline")
    warehouse = work / "ctxrisk.duckdb"
    result["steps"] = run_log_steps(warehouse, summary.get("run_id")) if warehouse.exists() and summary else []
    if not result["steps"]:
        result["steps"], result["running_step"] = steps_from_log(work / "run.log")
        if result["running_step"]:  # the unfinished step gets the rest of the wall time
            done = sum(st["seconds"] for st in result["steps"])
            result["steps"].append(
                {
                    "step": result["running_step"],
                    "status": "stopped",
                    "seconds": round(max(0.0, m.seconds - done), 3),
                    "rows_read": None,
                    "rows_loaded": None,
                    "detail": "unfinished when the run was stopped",
                }
            )
        if m.timed_out:
            why = "timeout" if timeout is not None and m.seconds >= timeout else "memory cap"
            result["status"] = f"stopped after {m.seconds:,.0f} s ({why}) during {result['running_step']}"
    result["warehouse_bytes"] = warehouse.stat().st_size if warehouse.exists() else None
    page = work / "output" / "maps" / "steering.html"
    result["steering_page"] = str(page) if page.exists() else None
    if m.returncode not in (0, 5):
        log.warning("ctxrisk run exited %s; see %s", m.returncode, work / "run.log")
    return result


def ingest_worker(contender: str, path: Path, folder: Path) -> dict[str, Any]:
    """Load ``path`` (an incidents CSV) into a fresh database in ``folder`` with one contender; time the load.

    ``contender`` is ``ctxrisk`` (``ingest_one(con, "incidents", ...)`` into a new, empty warehouse: validation,
    staging and after-load work included), ``duckdb`` (``create table ... as select * from read_csv(path)``)
    or ``pandas`` (``read_csv`` then ``to_sql`` into SQLite in chunks of 100,000). Each time runs from opening
    the database to closing it (DuckDB writes its checkpoint on close; ctxrisk's commit writes its own).
    """
    import bench_ingest

    if contender == "ctxrisk":
        from ctxrisk.pipelines.runner import ingest_one
        from ctxrisk.pipelines.settings import load_settings
        from ctxrisk.pipelines.warehouse import connect

        settings = load_settings(None, warehouse=folder / "ctxrisk.duckdb")
        connect(settings=settings).close()  # the warehouse exists before the file arrives, as in a real run
        began = time.perf_counter()  # from opening the warehouse to closing it, as DuckDB's time runs
        con = connect(settings=settings)
        res = ingest_one(con, "incidents", path, settings=settings)
        con.close()
        seconds = time.perf_counter() - began
        rows = res.rows_loaded
    elif contender in ("duckdb", "pandas"):
        func = bench_ingest.run_duckdb if contender == "duckdb" else bench_ingest.run_pandas
        began = time.perf_counter()
        rows = func(path, folder)
        seconds = time.perf_counter() - began
    else:
        msg = f"unknown ingest contender {contender!r}; allowed: {', '.join(INGEST_CONTENDERS)}"
        raise BenchError(msg)
    return {"rows": int(rows), "seconds": round(seconds, 3)}


def ingest_compare(
    csv: Path, work: Path, *, contenders: Sequence[str] = INGEST_CONTENDERS, rounds: int = INGEST_ROUNDS
) -> dict[str, Any]:
    """Each contender in its own subprocess on the same file; rows/s and the share of DuckDB's ceiling.

    The contenders take turns for ``rounds`` rounds and each one's best round counts (``seconds_all`` keeps
    every round): a burst of load on a shared machine then falls on all of them alike.
    """
    out: dict[str, Any] = {"file": csv.name, "bytes": csv.stat().st_size, "rounds": rounds, "contenders": {}}
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in contenders}
    errors: dict[str, str] = {}
    for _ in range(rounds):
        for contender in contenders:
            if contender in errors:
                continue
            scratch = work / f"ingest-{contender}"
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir(parents=True)
            os.sync()  # the previous contender's writes are on disk before this one starts (see bench_ingest)
            m = run_measured(
                [sys.executable, __file__, "--ingest-worker", contender, str(csv), str(scratch)],
                log_path=work / f"ingest-{contender}.log",
            )
            shutil.rmtree(scratch, ignore_errors=True)
            if m.returncode != 0:
                errors[contender] = f"exit code {m.returncode}; see ingest-{contender}.log"
                continue
            inner = json.loads(m.stdout.strip().splitlines()[-1])
            runs[contender].append(
                {
                    **inner,
                    "process_seconds": m.seconds,
                    "peak_rss_bytes": m.peak_rss_bytes,
                    "load_average": m.load_average,
                }
            )
    for contender in contenders:
        if contender in errors:
            out["contenders"][contender] = {"error": errors[contender]}
            continue
        best = min(runs[contender], key=lambda r: r["seconds"])
        out["contenders"][contender] = {
            **best,
            "rows_per_second": round(best["rows"] / best["seconds"]),
            "seconds_all": [r["seconds"] for r in runs[contender]],
        }
        log.info(
            "ingest %s: %s rows, best %.1f s of %s",
            contender,
            f"{best['rows']:,}",
            best["seconds"],
            [r["seconds"] for r in runs[contender]],
        )
    c = out["contenders"]
    ceiling = c.get("duckdb", {}).get("rows_per_second")
    if ceiling:
        for r in c.values():
            if "rows_per_second" in r:
                r["share_of_duckdb"] = round(r["rows_per_second"] / ceiling, 3)
    if "rows_per_second" in c.get("ctxrisk", {}) and "rows_per_second" in c.get("pandas", {}):
        out["ctxrisk_vs_pandas"] = round(c["ctxrisk"]["rows_per_second"] / c["pandas"]["rows_per_second"], 2)
    return out


def steering_page(page: str | None, *, runs: int) -> dict[str, Any]:
    """Size of the run's steering map and its load time in headless Chromium (median of ``runs`` loads)."""
    if page is None:
        return {"error": "the run wrote no steering map"}
    path = Path(page)
    out: dict[str, Any] = {"bytes": path.stat().st_size}
    if runs <= 0:
        return out
    try:
        from bench_steering_map import _load_times
    except ImportError as exc:  # the browser harness lives in tests/
        out["browser"] = f"not measured: {exc}"
        return out
    loads, errors, external, _ = _load_times(path, runs)
    if loads:
        out.update(
            {
                "load_seconds": loads,
                "load_median_seconds": sorted(loads)[len(loads) // 2],
                "console_errors": len(errors),
                "external_requests": len(external),
            }
        )
    else:
        out["browser"] = "not measured: Chromium or playwright unavailable"
    return out


def bench_scale(
    n: int,
    *,
    data_dir: Path,
    seed: int,
    baselines: bool,
    boundaries: bool,
    browser_runs: int,
    run_timeout: float | None = None,
    max_rss_bytes: int | None = None,
) -> dict[str, Any]:
    """Everything measured at one scale (see the module docstring)."""
    label = scale_label(n)
    work = data_dir / label
    work.mkdir(parents=True, exist_ok=True)
    began = datetime.now(UTC).isoformat(timespec="seconds")
    log.info("scale %s: sample", label)
    sample = generate(n, work / "sample", seed=seed)
    log.info("scale %s: end-to-end ctxrisk run", label)
    e2e = end_to_end(work, work / "sample", boundaries=boundaries, timeout=run_timeout, max_rss_bytes=max_rss_bytes)
    log.info(
        "scale %s: run %s in %.1f s, peak %.2f GB", label, e2e["status"], e2e["seconds"], e2e["peak_rss_bytes"] / 1e9
    )
    result: dict[str, Any] = {
        "incidents": n,
        "label": label,
        "started_at": began,
        "git": git_state(),
        "sample": sample,
        "end_to_end": e2e,
    }
    if baselines:
        log.info("scale %s: ingest contenders", label)
        result["ingest"] = ingest_compare(work / "sample" / "incidents.csv", work)
        result["steering_map"] = steering_page(e2e.get("steering_page"), runs=browser_runs)
    else:
        result["steering_map"] = steering_page(e2e.get("steering_page"), runs=0)
    result["ended_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    (work / "result.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


# --------------------------------------------------------------------------------------------------------------
# Fixed-size benchmarks (the existing per-capability scripts)


def bench_fixed(data_dir: Path, *, esda_cells: int, graph_involvements: int, graph_nodes: int) -> dict[str, Any]:
    """Run bench_gistar (100k cells, 999 permutations) and bench_graph; return their JSON and the costs."""
    out: dict[str, Any] = {}
    folder = data_dir / "fixed"
    folder.mkdir(parents=True, exist_ok=True)
    jobs = {
        "gistar": [
            sys.executable,
            str(BENCH / "bench_gistar.py"),
            "--cells",
            "100000",
            "--permutations",
            "999",
            "--esda-cells",
            str(esda_cells),
            "--repeats",
            "1",
            "--output",
            str(folder / "gistar.json"),
        ],
        "graph": [
            sys.executable,
            str(BENCH / "bench_graph.py"),
            "--involvements",
            str(graph_involvements),
            "--nodes",
            str(graph_nodes),
            "--output",
            str(folder / "graph.json"),
        ],
    }
    for name, cmd in jobs.items():
        log.info("fixed benchmark: %s", name)
        m = run_measured(cmd, cwd=ROOT, log_path=folder / f"{name}.log")
        entry: dict[str, Any] = {
            "command": " ".join(["python", *[Path(c).name if c.endswith(".py") else c for c in cmd[1:]]]),
            "process": m.as_dict(),
        }
        if m.returncode == 0 and (folder / f"{name}.json").exists():
            entry["result"] = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        else:
            entry["error"] = f"exit code {m.returncode}; see {folder / (name + '.log')}"
        out[name] = entry
    return out


# --------------------------------------------------------------------------------------------------------------
# Machine, growth and goals


def git_state() -> str | None:
    """``<commit>`` or ``<commit>+dirty`` of the checkout being measured (None outside git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def _lscpu_model() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return platform.processor() or platform.machine()
    for line in text.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """CPU model (``lscpu``), cores, RAM, OS, Python, key package versions and Chromium's version."""
    mem = 0
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    chromium = None
    if shutil.which("chromium"):
        chromium = (
            subprocess.run(["chromium", "--version"], capture_output=True, text=True, check=False).stdout.strip()
            or None
        )
    return {
        "cpu_model": _lscpu_model(),
        "cores": os.cpu_count(),
        "ram_bytes": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "chromium": chromium,
    }


def fit_exponent(ns: Sequence[float], costs: Sequence[float]) -> float | None:
    """Least-squares ``b`` of ``log(cost) = a + b log(n)`` (cost ∝ n^b); None with fewer than two points.

    ``b = 1`` is linear growth, ``b < 1`` grows more slowly (fixed costs still weigh), ``b > 1`` faster.
    """
    pairs = [(math.log(n), math.log(c)) for n, c in zip(ns, costs, strict=True) if n > 0 and c and c > 0]
    if len(pairs) < 2:
        return None
    mx = sum(x for x, _ in pairs) / len(pairs)
    my = sum(y for _, y in pairs) / len(pairs)
    sxx = sum((x - mx) ** 2 for x, _ in pairs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in pairs) / sxx


def linearity(b: float | None) -> str:
    """Say in words what a fitted exponent means (``LINEAR_BAND`` counts as linear)."""
    if b is None:
        return "not enough scales to tell"
    if b < LINEAR_BAND[0]:
        return "sub-linear (fixed costs still weigh at the small end)"
    if b <= LINEAR_BAND[1]:
        return "linear"
    return "super-linear"


def growth(scales: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Fitted exponents of end-to-end time, peak memory, ctxrisk ingest and each run step over the scales.

    End-to-end time and peak memory count only runs that finished (exit code 0 or 5); a step counts at every
    scale where it finished ``ok``, also in a run that was stopped later. A series' values are aligned with
    ``incidents`` (None where not measured); the exponent is fitted on the measured points.
    """
    runs = sorted((s for s in scales.values() if s.get("end_to_end")), key=lambda s: s["incidents"])
    ns = [s["incidents"] for s in runs]

    def finished(s: dict[str, Any], key: str) -> float | None:
        e = s["end_to_end"]
        return e[key] if e.get("returncode") in (0, 5) else None

    series: dict[str, list[float | None]] = {
        "end-to-end time": [finished(s, "seconds") for s in runs],
        "peak memory": [finished(s, "peak_rss_bytes") for s in runs],
        "ingest incidents (ctxrisk, alone)": [
            s.get("ingest", {}).get("contenders", {}).get("ctxrisk", {}).get("seconds") for s in runs
        ],
    }
    names: list[str] = []
    for s in runs:
        names += [st["step"] for st in s["end_to_end"]["steps"] if st["step"] != "run" and st["step"] not in names]
    for name in (n for n in names if not n.startswith("ingest boundaries")):  # a fixed file: does not scale
        series[f"step: {name}"] = [
            next(
                (st["seconds"] for st in s["end_to_end"]["steps"] if st["step"] == name and st["status"] == "ok"), None
            )
            for s in runs
        ]
    out = {}
    for name, values in series.items():
        points = [(n, v) for n, v in zip(ns, values, strict=True) if v is not None]
        if not points:
            continue
        b = fit_exponent([n for n, _ in points], [v for _, v in points])
        segments = [
            fit_exponent([points[i][0], points[i + 1][0]], [points[i][1], points[i + 1][1]])
            for i in range(len(points) - 1)
        ]
        out[name] = {
            "values": values,
            "exponent": None if b is None else round(b, 2),
            "segments": [None if x is None else round(x, 2) for x in segments],
            "verdict": linearity(b),
        }
    return {"incidents": ns, "series": out}


def _scale(results: dict[str, Any], n: int) -> dict[str, Any] | None:
    return next((s for s in results.get("scales", {}).values() if s["incidents"] == n), None)


def _by_contender(fmt: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """A bench_ingest result's contenders by the first word of their names (``duckdb``, ``ctxrisk``, ``pandas``)."""
    return {r["name"].split()[0]: r for r in (fmt or {}).get("results", [])}


def _ingest_by_size(sizes: dict[str, dict[str, Any]], replicas: dict[str, Any]) -> list[str]:
    """The "by file size" section: each format's share of DuckDB's read_csv at each size measured."""
    counts = sorted({int(n) for per_format in sizes.values() for n in per_format})
    lines = [
        "### By file size",
        "",
        "`python benchmarks/bench_ingest.py --sizes " + ",".join(str(n) for n in counts) + "` — each "
        "sample replicated to each size, timed as above. The files partnerships hold run from hundreds of "
        "records (a small force's month, one authority's return) to about a hundred thousand (a month of "
        "the largest force); the million-row replicas above are ten times that. Each cell is ctxrisk's "
        "share of DuckDB's rows/s (ctxrisk's seconds / DuckDB's).",
        "",
        "| format | " + " | ".join(f"{n:,} rows" for n in counts) + " | about a million rows |",
        "| --- | " + " | ".join("---:" for _ in counts) + " | ---: |",
    ]
    for key, per_format in sizes.items():
        cells = []
        for n in counts:
            fmt = per_format.get(str(n))
            by = _by_contender(fmt)
            cells.append(
                f"{by['ctxrisk']['share_of_ceiling']:.2f} ({by['ctxrisk']['seconds']:.2f} s / "
                f"{by['duckdb']['seconds']:.2f} s)"
                if "ctxrisk" in by and "duckdb" in by
                else "-"
            )
        big = _by_contender(replicas.get(key))
        cells.append(f"{big['ctxrisk']['share_of_ceiling']:.2f}" if "ctxrisk" in big else "-")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def evaluate_goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each of the issue's goals with the measured number and ``pass``, ``fail`` or ``not measured``."""
    goals = []
    one = _scale(results, 1_000_000)
    e2e = one["end_to_end"] if one else None
    goals.append(
        {
            "goal": "end-to-end run over 1M incidents in under 2 minutes on 2 cores",
            "measured": (
                f"{e2e['seconds']:.0f} s wall, "
                + (f"{e2e['cpu_seconds']:.0f} s CPU, " if e2e.get("cpu_seconds") else "")
                + f"load average {e2e['load_average']['mean']} ({e2e['status']})"
            )
            if e2e
            else None,
            "status": "not measured"
            if not e2e
            else "pass"
            if e2e["seconds"] < GOAL_E2E_1M_S and e2e["returncode"] == 0
            else "fail",
        }
    )
    ten = _scale(results, 10_000_000)
    e2e = ten["end_to_end"] if ten else None
    goals.append(
        {
            "goal": "10M incidents complete with peak memory under 8 GB",
            "measured": (f"{e2e['peak_rss_bytes'] / 1024**3:.2f} GiB, {e2e['seconds'] / 60:.0f} min ({e2e['status']})")
            if e2e
            else None,
            "status": "not measured"
            if not e2e
            else "pass"
            if e2e["peak_rss_bytes"] < GOAL_PEAK_10M_BYTES and e2e["returncode"] == 0
            else "fail",
        }
    )
    shares = [
        (s["label"], s["ingest"]["contenders"].get("ctxrisk", {}).get("share_of_duckdb"))
        for s in sorted(results.get("scales", {}).values(), key=lambda s: s["incidents"])
        if "ingest" in s
    ]
    shares = [(lbl, v) for lbl, v in shares if v is not None]
    goals.append(
        {
            "goal": "ingest of incidents.csv at least half of DuckDB's read_csv rows/s",
            "measured": ", ".join(f"{v:.2f} at {lbl}" for lbl, v in shares) or None,
            "status": "not measured"
            if not shares
            else "pass"
            if all(v >= GOAL_INGEST_SHARE for _, v in shares)
            else "fail",
        }
    )
    ingest = results.get("police_uk_ingest", {})
    by_size = [
        (key, fmt)
        for key, sizes in ingest.get("sizes", {}).items()
        for _, fmt in sorted(sizes.items(), key=lambda item: int(item[0]))
    ]
    for measured, goal, size in (
        (
            list(ingest.get("formats", {}).items()),
            "ingest of the real public CSV formats at least half of DuckDB's read_csv rows/s",
            lambda rows: f"{rows / 1e6:.1f}M rows",
        ),
        (
            by_size,
            "ingest of the real public CSV formats at the sizes partnerships hold at least half of "
            "DuckDB's read_csv rows/s",
            lambda rows: f"{rows:,} rows",
        ),
        (
            list(ingest.get("as_published", {}).items()),
            "ingest of the real public CSV files as published at least half of DuckDB's read_csv rows/s",
            lambda rows: f"{rows:,} rows",
        ),
    ):
        public = []
        for key, fmt in measured:
            ours = _by_contender(fmt).get("ctxrisk")
            if ours is not None:
                public.append((f"{key} ({size(fmt['file']['rows'])})", ours["share_of_ceiling"]))
        goals.append(
            {
                "goal": goal,
                "measured": ", ".join(f"{v:.2f} for {lbl}" for lbl, v in public) or None,
                "status": "not measured"
                if not public
                else "pass"
                if all(v >= GOAL_INGEST_SHARE for _, v in public)
                else "fail",
            }
        )
    gi = results.get("fixed", {}).get("gistar", {}).get("result")
    speed = gi.get("speedup_same_subset") if gi else None
    goals.append(
        {
            "goal": "Gi* at least 10x esda G_Local",
            "measured": f"{speed}x (per cell, {gi['esda_cells']:,}-cell subset)" if speed else None,
            "status": "not measured" if speed is None else "pass" if speed >= GOAL_GISTAR_SPEEDUP else "fail",
        }
    )
    return goals


# --------------------------------------------------------------------------------------------------------------
# BENCHMARKS.md


def _gb(b: float | None) -> str:
    return "-" if b is None else f"{b / 1024**3:.2f} GiB"


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:,.1f} s" if x < 600 else f"{x / 60:,.1f} min"


def _top_steps(scale: dict[str, Any], k: int = 3) -> list[tuple[str, float]]:
    steps = [(st["step"], st["seconds"] or 0.0) for st in scale["end_to_end"]["steps"] if st["step"] != "run"]
    return sorted(steps, key=lambda t: -t[1])[:k]


def render_markdown(results: dict[str, Any]) -> str:
    """``BENCHMARKS.md`` from ``run_all.json``: machine, commands, results with ratios, goals, growth."""
    m = results["machine"]
    scales = sorted(results.get("scales", {}).values(), key=lambda s: s["incidents"])
    lines = [
        "# Benchmarks",
        "",
        "Generated by `benchmarks/run_all.py` (`make bench`) from `benchmarks/results/run_all.json`; "
        "do not edit by hand.",
        "",
        "## Machine",
        "",
        f"* CPU: {m['cpu_model']}, {m['cores']} cores; RAM {m['ram_bytes'] / 1024**3:.1f} GiB; {m['platform']}",
        f"* Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v),
        f"* Chromium: {m.get('chromium') or 'not installed'}",
        "* **The machine is shared** (a KVM guest other jobs ran on at the same time). The 1-minute load "
        "average sampled during each measurement is given beside it; with a load above the core count, "
        "wall-clock times are inflated (processes wait for a core) and are an upper bound on what an "
        "idle machine of this size does.",
        "",
    ]
    lines += [
        "## Commands",
        "",
        "```bash",
        "make bench                                     # = .venv/bin/python benchmarks/run_all.py (100k, 1M, 10M)",
        ".venv/bin/python benchmarks/run_all.py --quick               # 100k only",
    ]
    lines += [f"# this file: {results.get('command', '')}".rstrip()] if results.get("command") else []
    lines += [
        "```",
        "",
        "Per scale: `ctxrisk sample --scale N --format csv` (persons 0.40, missing 0.12, "
        "intelligence 0.10, associations 0.30 per incident; involvements follow), then `ctxrisk run "
        "--config` over drop folders holding the sample (Cheshire East wards and LSOAs as configured "
        "boundaries when present), then the same `incidents.csv` ingested alone by each contender in a "
        "fresh process and database. Peak memory is the larger of the polled summed RSS of the run's "
        "process tree and the kernel's `ru_maxrss`.",
        "",
    ]
    lines += ["## Goals", "", "| goal | measured | result |", "| --- | --- | --- |"]
    goals = evaluate_goals(results)
    for g in goals:
        lines.append(f"| {g['goal']} | {g['measured'] or '-'} | **{g['status']}** |")
    lines.append("")
    missed = [g for g in goals if g["status"] == "fail"]
    if missed:
        lines += ["**Missed:** " + "; ".join(f"{g['goal']} (measured {g['measured']})" for g in missed) + "."]
        for n in (1_000_000, 10_000_000):
            s = _scale(results, n)
            if s is not None:
                run = s["end_to_end"]["seconds"]
                top = "; ".join(f"{name} {_s(t)} ({t / run:.0%})" for name, t in _top_steps(s, 4))
                lines.append(
                    f"Where the time goes at {scale_label(n)} (share of the {_s(run)} run; a step run beside others overlaps them, so shares can add up to more than 100%): {top}."
                )
        lines.append("")
    if scales:
        lines += [
            "## End-to-end `ctxrisk run`",
            "",
            "| incidents | rows in all files | sample generation | run wall time | run CPU time | peak memory "
            "| status | load avg (mean) | slowest steps (wall) |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |",
        ]
        for s in scales:
            e, smp = s["end_to_end"], s["sample"]
            top = "; ".join(f"{n} {_s(t)}" for n, t in _top_steps(s))
            lines.append(
                f"| {s['incidents']:,} | {sum(smp['rows'].values()):,} | {_s(smp['seconds'])} | "
                f"{_s(e['seconds'])} | {_s(e.get('cpu_seconds'))} | {_gb(e['peak_rss_bytes'])} | "
                f"{e['status']} | "
                f"{e['load_average']['mean']} | {top} |"
            )
        lines += ["", "### Step times (from `meta.run_log`)", ""]
        names: list[str] = []
        for s in scales:
            names += [st["step"] for st in s["end_to_end"]["steps"] if st["step"] not in ("run", *names)]
        lines += [
            "| step | " + " | ".join(s["label"] for s in scales) + " |",
            "| --- | " + " | ".join("---:" for _ in scales) + " |",
        ]
        for name in names:
            cells = []
            for s in scales:
                st = next((x for x in s["end_to_end"]["steps"] if x["step"] == name), None)
                cells.append(
                    "-"
                    if st is None
                    else f"{_s(st['seconds'])}" + ("" if st["status"] == "ok" else f" ({st['status']})")
                )
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    ing = [s for s in scales if "ingest" in s]
    if ing:
        rounds = sorted({s["ingest"].get("rounds", 1) for s in ing})
        lines += ["## Ingest: `incidents.csv` alone", ""]
        if rounds != [1]:
            lines += [
                f"The contenders take turns for {'/'.join(map(str, rounds))} rounds, each in a fresh subprocess "
                "and database; each one's best round is shown.",
                "",
            ]
        lines += [
            "| incidents | file | contender | seconds | rows/s | share of DuckDB read_csv | peak memory | load avg |",
            "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        names = {
            "duckdb": "DuckDB `read_csv` (ceiling)",
            "ctxrisk": "ctxrisk `ingest_one`",
            "pandas": "pandas `read_csv` + `to_sql` (SQLite)",
        }
        for s in ing:
            for key in INGEST_CONTENDERS:
                r = s["ingest"]["contenders"].get(key)
                if r is None:
                    continue
                if "error" in r:
                    lines.append(f"| {s['incidents']:,} | | {names[key]} | {r['error']} | | | | |")
                    continue
                lines.append(
                    f"| {s['incidents']:,} | {s['ingest']['bytes'] / 1e6:,.0f} MB | {names[key]} | "
                    f"{r['seconds']:,.1f} | {r['rows_per_second']:,} | {r.get('share_of_duckdb', '-')} | "
                    f"{_gb(r['peak_rss_bytes'])} | {r['load_average']['mean']} |"
                )
        vs = [f"{s['ingest']['ctxrisk_vs_pandas']}x at {s['label']}" for s in ing if "ctxrisk_vs_pandas" in s["ingest"]]
        if vs:
            lines += [
                "",
                f"ctxrisk against pandas + `to_sql`: {', '.join(vs)} (rows/s ratio). ctxrisk's time "
                "includes validation of every row, the rejected-rows table, staging and the derived "
                "columns; DuckDB's only parses and stores.",
            ]
        lines.append("")
    formats = results.get("police_uk_ingest", {}).get("formats", {})
    if formats:
        lines += [
            "## Ingest: the real public CSV formats",
            "",
            "`python benchmarks/bench_ingest.py` — each format's real sample in `../shared/data` replicated to "
            "about a million rows; each contender in a fresh database, in its own process, taking turns; "
            "the best round counts. ctxrisk's rows are those read (loaded + rejected).",
            "",
        ]
        for key, fmt in formats.items():
            f = fmt["file"]
            lines += [
                f"### {key} (`ctxrisk ingest {fmt['source']}`)",
                "",
                f"{f['rows']:,} rows ({f['bytes'] / 1e6:,.0f} MB), the real `{f['replicated_from']}` with "
                f"{f['how']}; best of {fmt['rounds']} rounds, load average {fmt['load_average_before'][0]} "
                f"at the start ({fmt['measured_at']}).",
                "",
                "| contender | seconds | rows/s | share of DuckDB read_csv |",
                "| --- | ---: | ---: | ---: |",
            ]
            lines += [
                f"| {r['name']} | {r['seconds']:,.2f} | {r['rows_per_second']:,} | {r['share_of_ceiling']} |"
                for r in fmt["results"]
            ]
            lines.append("")
    sizes = results.get("police_uk_ingest", {}).get("sizes", {})
    if sizes:
        lines += _ingest_by_size(sizes, formats)
    published = results.get("police_uk_ingest", {}).get("as_published", {})
    if published:
        lines += [
            "### The files as published",
            "",
            "`python benchmarks/bench_ingest.py --as-published` — each real sample as it is, read in place "
            "(a month of one force, one authority's return), each contender in a fresh process with its "
            "imports done. At these sizes what a contender does once per file or per process weighs as "
            "much as the rows: ctxrisk's first file in a process sets up PROJ's transformers and the "
            "first calls of pandas and its time parser, and every file runs its dozen warehouse "
            "statements (checks, rejects, the file's record, area assignment), where DuckDB reads a few "
            "dozen rows in a few hundredths of a second in all.",
            "",
            "| format | rows | DuckDB read_csv | ctxrisk | pandas + to_sql | share of DuckDB read_csv | "
            "best of | load avg |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for key, fmt in published.items():
            by = _by_contender(fmt)
            ours = by.get("ctxrisk", {})
            cells = [f"{by[n]['seconds']:.3f} s" if n in by else "-" for n in ("duckdb", "ctxrisk", "pandas")]
            lines.append(
                f"| {key} (`{fmt['file']['replicated_from']}`) | {fmt['file']['rows']:,} | "
                f"{' | '.join(cells)} | {ours.get('share_of_ceiling', '-')} | {fmt['rounds']} | "
                f"{fmt['load_average_before'][0]} |"
            )
        lines.append("")
    maps = [s for s in scales if s.get("steering_map", {}).get("bytes")]
    if maps:
        lines += [
            "## Steering map",
            "",
            "| incidents | page size | Chromium load (median `loadEventEnd`) |",
            "| ---: | ---: | ---: |",
        ]
        for s in maps:
            sm = s["steering_map"]
            load = (
                f"{sm['load_median_seconds']:.2f} s of {sm['load_seconds']}"
                if "load_median_seconds" in sm
                else sm.get("browser", "not measured")
            )
            lines.append(f"| {s['incidents']:,} | {sm['bytes'] / 1e6:.2f} MB | {load} |")
        lines.append("")
    fixed = results.get("fixed", {})
    gi = fixed.get("gistar", {}).get("result")
    if gi:
        lines += [
            "## Gi* against esda `G_Local` (identical H3 weights)",
            "",
            f"`{fixed['gistar']['command']}`",
            "",
            "| | cells | permutations | seconds | µs per cell |",
            "| --- | ---: | ---: | ---: | ---: |",
            f"| ctxrisk `GiStar` | {gi['cells']:,} | {gi['permutations']} | {gi['gistar_full_s']} | "
            f"{gi['gistar_full_us_per_cell']} |",
        ]
        if "esda_cells" in gi:
            lines += [
                f"| ctxrisk `GiStar`, subset | {gi['esda_cells']:,} | {gi['permutations']} | "
                f"{gi['gistar_subset_s']} | {gi['gistar_subset_us_per_cell']} |",
                f"| esda `G_Local` (star, n_jobs=-1), subset | {gi['esda_cells']:,} | {gi['permutations']} | "
                f"{gi['esda_subset_s']} | {gi['esda_us_per_cell']} |",
                "",
                f"Speed-up on the same {gi['esda_cells']:,} cells: **{gi['speedup_same_subset']}x**; largest "
                f"|z difference| {gi['max_abs_z_diff']:.1e}. esda was not run on all 100k cells (minutes per "
                f"run): the ratio is measured like for like on the subset only. Per cell, esda on the subset "
                f"({gi['esda_us_per_cell']} µs) against GiStar on all 100k cells "
                f"({gi['gistar_full_us_per_cell']} µs) would be "
                f"{gi['esda_us_per_cell'] / gi['gistar_full_us_per_cell']:.0f}x, but that mixes sizes. "
                f"Counts data share null distributions across cells with the same (value, neighbours) "
                f"({gi['null_distributions']} at 100k cells), which is where most of the speed comes from.",
            ]
        lines.append("")
    gr = fixed.get("graph", {}).get("result")
    if gr:
        b, bc = gr["build"], gr["betweenness"]
        lines += [
            "## Association graph",
            "",
            f"`{fixed['graph']['command']}`",
            "",
            "| measure | value |",
            "| --- | --- |",
            f"| involvements | {b['involvements']:,} |",
            f"| ctxrisk `build_graph`, all relations | {b['build_full_s']} s, {b['full_nodes']:,} nodes, "
            f"{b['full_edges']:,} edges |",
            f"| ctxrisk `build_graph`, co-involvement only (no decay) | {b['build_co_involvement_s']} s, "
            f"{b['co_involvement_edges']:,} edges |",
        ]
        if "naive_projection_s" in b:
            lines.append(
                f"| naive networkx bipartite projection (same pairs: {b['same_pairs_as_naive']}) | "
                f"{b['naive_projection_s']} s; ctxrisk is **{b['speedup_vs_naive']}x** its speed |"
            )
        lines.append(
            f"| exact betweenness, igraph ({bc['nodes']:,} nodes, {bc['edges']:,} edges) | {bc['exact_igraph_s']} s |"
        )
        for smp in bc["sampled"]:
            lines.append(
                f"| sampled betweenness, {smp['pivots']} pivots, {smp['engine']} | {smp['seconds']} s "
                f"({bc['exact_igraph_s'] / smp['seconds']:.1f}x faster than exact igraph); mean abs error "
                f"{smp['mean_abs_error']:.2g} (stated SE {smp['mean_stated_se']:.2g}), "
                f"{smp['share_within_2se']:.0%} within 2 SE, top-50 overlap {smp['top50_overlap']:.0%} |"
            )
        lines.append("")
    for name in ("gistar", "graph"):
        if "error" in fixed.get(name, {}):
            lines += [f"`bench_{name}` failed: {fixed[name]['error']}", ""]
    gw = results.get("growth", {})
    if gw.get("series"):
        ns = gw["incidents"]
        lines += [
            "## Growth",
            "",
            "Fitted exponent *b* of cost ∝ n^b by least squares on log-log over "
            + ", ".join(f"{n:,}" for n in ns)
            + " incidents (b = 1 is linear); per-segment exponents "
            "between consecutive scales.",
            "",
            "| cost | " + " | ".join(scale_label(n) for n in ns) + " | b | per segment | growth |",
            "| --- | " + " | ".join("---:" for _ in ns) + " | ---: | --- | --- |",
        ]
        for name, ser in gw["series"].items():
            fmt = _gb if name == "peak memory" else _s
            vals = " | ".join(fmt(v) for v in ser["values"])
            segs = ", ".join("-" if x is None else str(x) for x in ser["segments"]) or "-"
            lines.append(
                f"| {name} | {vals} | {ser['exponent'] if ser['exponent'] is not None else '-'} | "
                f"{segs} | {ser['verdict']} |"
            )
        e2e = gw["series"].get("end-to-end time", {})
        fitted = {k: v for k, v in gw["series"].items() if v["exponent"] is not None and k != "end-to-end time"}
        ingest = [v["exponent"] for k, v in fitted.items() if k.startswith("step: ingest")]
        analytics = {
            k[6:]: v["exponent"]
            for k, v in fitted.items()
            if k.startswith("step: ") and not k.startswith("step: ingest")
        }
        answer = f"End-to-end time: {e2e.get('verdict', 'not measured')}" + (
            f" (b = {e2e['exponent']})."
            if e2e.get("exponent") is not None
            else " (it needs two scales whose runs finished)."
        )
        if ingest:
            answer += (
                f" Ingest steps grow with b from {min(ingest)} to {max(ingest)} "
                f"({linearity(sum(ingest) / len(ingest))} on average)."
            )
        if analytics:
            answer += " Analytics steps: " + ", ".join(f"{k} b = {v}" for k, v in analytics.items()) + "."
        lines += ["", f"**Is it linear?** {answer}", ""]
    if results.get("notes"):
        lines += ["## Notes", "", *[f"* {n}" for n in results["notes"]], ""]
    return "\n".join(lines).rstrip() + "\n"


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
