"""One scale of the benchmarks: the sample, the end-to-end run, the ingest comparison, the page; and the fixed sizes."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness_common import (
    BENCH,
    BOUNDARIES,
    INGEST_CONTENDERS,
    INGEST_ROUNDS,
    KINDS,
    ROOT,
    SAMPLE_MARKER,
    SHARED_BOUNDARIES,
    BenchError,
    log,
    scale_label,
)
from harness_measure import _ctxrisk, git_state, run_measured

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
                [sys.executable, str(BENCH / "run_all.py"), "--ingest-worker", contender, str(csv), str(scratch)],
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

        loads, errors, external, _ = _load_times(path, runs)
    except ImportError as exc:  # the browser harness lives in tests/support
        out["browser"] = f"not measured: {exc}"
        return out
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
