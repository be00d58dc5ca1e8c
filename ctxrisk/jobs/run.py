"""The unattended run: ingest every drop folder, then the analytics, map and report steps, each logged.

A run is an ordered list of named :class:`~ctxrisk.jobs.steps.Step` objects. The ingest steps come from the
settings (one per ``[paths] drop_dirs`` kind, plus the configured boundary files); the steps after them are
passed in, by default :func:`ctxrisk.jobs.builtin.builtin_steps` (analytics, steering map, report).

Guarantees (see ``docs/operations.md``):

* one run at a time per warehouse (:class:`ctxrisk.pipelines.lock.RunLock`; a dead run's lock is recovered);
* each ingested file is one transaction (:func:`ctxrisk.pipelines.store.store_batch`), and each other step runs
  in one transaction together with its ``meta.run_log`` row, so a run killed at any point leaves the
  warehouse as it was after the last commit and the next run redoes the rest;
* a file that cannot be read is moved to ``quarantine/`` with ``<name>.reason.txt`` and the run goes on; a file
  already ingested (same bytes) is not loaded again; an ingested file moves to ``processed/``;
* outputs are written to a temporary file and renamed (:mod:`ctxrisk.pipelines.fsutil`), owner-only;
* the pseudonymisation key is redacted from every log line and stored error.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ctxrisk.jobs.builtin import builtin_steps
from ctxrisk.jobs.ingest_steps import boundaries_step, drop_folder_step, ingest_kind_order
from ctxrisk.jobs.progress import LogProgress, Progress, RunSummary, StepResult
from ctxrisk.jobs.redaction import REDACTED, RedactingFilter, make_redactor, redacting_logs
from ctxrisk.jobs.runlog import error_text, log_end, log_start, mark_interrupted, now
from ctxrisk.jobs.signals import Terminated, sigterm_rolls_back, stop_if_requested
from ctxrisk.jobs.steps import (
    STATUS_FAILED,
    STATUS_INTERRUPTED,
    STATUS_OK,
    STATUS_PARTIAL,
    STATUS_QUARANTINED,
    STATUS_SKIPPED,
    FileOutcome,
    PauseHook,
    Step,
    StepContext,
    StepList,
    StepOutput,
    no_pause,
)
from ctxrisk.pipelines.errors import CtxriskError, ValidationError
from ctxrisk.pipelines.fsutil import private_umask, remove_stale_temps, secure_mkdir
from ctxrisk.pipelines.lock import LockHolder, RunLock, lock_path_for
from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.sources import SOURCE_KINDS
from ctxrisk.pipelines.warehouse import audit, connect, transaction

__all__ = [
    "REDACTED",
    "STATUS_FAILED",
    "STATUS_INTERRUPTED",
    "STATUS_OK",
    "STATUS_PARTIAL",
    "STATUS_QUARANTINED",
    "STATUS_SKIPPED",
    "FileOutcome",
    "LogProgress",
    "PauseHook",
    "Progress",
    "RedactingFilter",
    "RunSummary",
    "Step",
    "StepContext",
    "StepList",
    "StepOutput",
    "StepResult",
    "Terminated",
    "builtin_steps",
    "concurrency_allowed",
    "make_redactor",
    "mark_interrupted",
    "new_run_id",
    "plan_steps",
    "run_job",
]

log = logging.getLogger(__name__)


def plan_steps(
    settings: Settings,
    *,
    pseudonymise_key: bytes | None = None,
    steps: Sequence[Step] | None = None,
    redact: Callable[[str], str] = lambda s: s,
) -> list[Step]:
    """Return the run's steps in order: configured boundaries, each drop folder, then ``steps``.

    Parameters
    ----------
    steps : sequence of Step or None
        The steps after the ingest steps; default :func:`ctxrisk.jobs.builtin.builtin_steps`.

    Raises
    ------
    ValidationError
        A drop folder is configured for an unknown kind, or boundary files are configured but no
        ``boundaries`` ingest kind is installed.
    """
    allowed = ingest_kind_order()
    if "boundaries" in settings.paths.drop_dirs:
        msg = (
            "boundary files are not read from a drop folder: list them by level in [paths] boundaries, e.g. "
            'boundaries = { lsoa21 = "geography/lsoa21.geojson" } (a changed file is loaded again)'
        )
        raise ValidationError(msg)
    unknown = sorted(set(settings.paths.drop_dirs) - set(allowed))
    if unknown:
        msg = f"[paths] drop_dirs names unknown kind(s) {unknown}; allowed: {', '.join(allowed)}"
        raise ValidationError(msg)
    planned: list[Step] = []
    if settings.paths.boundaries:
        if "boundaries" not in SOURCE_KINDS:
            msg = "[paths] boundaries is set but this ctxrisk has no boundaries ingest kind installed"
            raise ValidationError(msg)
        planned.append(boundaries_step(dict(settings.paths.boundaries), redact=redact))
    for kind in allowed:
        folder = settings.paths.drop_dirs.get(kind)
        if folder is not None:
            planned.append(drop_folder_step(kind, Path(folder), key=pseudonymise_key, redact=redact))
    planned.extend(builtin_steps() if steps is None else steps)
    names = [s.name for s in planned]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        msg = f"step name(s) {duplicated} appear twice in the run"
        raise ValidationError(msg)
    return planned


def _as_output(value: StepOutput | int | None) -> StepOutput:
    if value is None:
        return StepOutput()
    if isinstance(value, StepOutput):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"a step must return StepOutput, an int or None, not {type(value).__name__}"
        raise ValidationError(msg)
    return StepOutput(rows=value)


def _execute(
    con: duckdb.DuckDBPyConnection, step: Step, ctx: StepContext, *, done: dict[str, str], redact: Callable[[str], str]
) -> StepResult:
    try:
        return _execute_step(con, step, ctx, done=done, redact=redact)
    finally:
        # A step's large frames and arrays can sit in reference cycles, which only a full collection frees:
        # collected here so the next step does not start beside them.
        gc.collect()


def _execute_step(
    con: duckdb.DuckDBPyConnection, step: Step, ctx: StepContext, *, done: dict[str, str], redact: Callable[[str], str]
) -> StepResult:
    started = time.monotonic()
    missing = [r for r in step.requires if done.get(r) != STATUS_OK]
    if missing:
        reason = f"needs {', '.join(missing)}, which did not succeed in this run"
        with transaction(con):
            log_start(con, ctx.run_id, step.name)
            log_end(con, ctx.run_id, step.name, STATUS_SKIPPED, error=reason)
        return StepResult(step.name, STATUS_SKIPPED, error=reason)
    log_start(con, ctx.run_id, step.name)
    try:
        if step.transactional:
            with transaction(con):
                out = _as_output(step.func(ctx))
                ctx.pause(f"step:{step.name}:in-transaction")
                log_end(
                    con,
                    ctx.run_id,
                    step.name,
                    STATUS_OK,
                    rows=(None, out.rows, None),
                    detail=redact(out.detail) if out.detail else None,
                )
            ctx.pause(f"step:{step.name}:committed")
            return StepResult(
                step.name, STATUS_OK, rows_loaded=out.rows, detail=out.detail, seconds=time.monotonic() - started
            )
        out = _as_output(step.func(ctx))
    except Exception as exc:
        stop_if_requested(exc)
        error = error_text(exc, redact)
        with contextlib.suppress(duckdb.TransactionException):
            con.execute("rollback")  # a step that left a transaction open
        log_end(con, ctx.run_id, step.name, STATUS_FAILED, error=error)
        if not isinstance(exc, CtxriskError):
            log.error("step %s failed: %s", step.name, error, exc_info=exc)
        return StepResult(step.name, STATUS_FAILED, error=error, seconds=time.monotonic() - started)
    files = out.files
    rows = (sum(f.rows_read for f in files), sum(f.rows_loaded for f in files), sum(f.rows_rejected for f in files))
    bad = [f for f in files if f.status in (STATUS_QUARANTINED, STATUS_FAILED)]
    status = STATUS_PARTIAL if bad else STATUS_OK
    detail = out.detail
    if files:
        detail = (
            f"{len(files):,} file(s): {sum(f.status == STATUS_OK for f in files):,} loaded, "
            f"{sum(f.status == STATUS_SKIPPED for f in files):,} already ingested, "
            f"{sum(f.status == STATUS_QUARANTINED for f in files):,} quarantined, "
            f"{sum(f.status == STATUS_FAILED for f in files):,} failed"
        )
    error = "; ".join(f"{Path(f.path).name}: {f.reason}" for f in bad) or None
    log_end(
        con,
        ctx.run_id,
        step.name,
        status,
        rows=rows if files else (None, out.rows, None),
        detail=redact(detail) if detail else None,
        error=error,
    )
    return StepResult(
        step.name,
        status,
        *(rows if files else (None, out.rows, None)),
        detail=detail,
        error=error,
        seconds=time.monotonic() - started,
        files=files,
    )


def concurrency_allowed(con: duckdb.DuckDBPyConnection, settings: Settings) -> bool:
    """Whether concurrent steps may run beside the others now (``[run] concurrent_steps``; see :class:`RunSettings`)."""
    mode = settings.run.concurrent_steps
    if mode != "auto":
        return bool(mode)
    from ctxrisk.pipelines.areas import EVENT_SOURCES

    present = {
        f"{s}.{t}" for s, t in con.execute("select table_schema, table_name from information_schema.tables").fetchall()
    }
    events = sum(
        int(con.execute(f"select count(*) from {src.table}").fetchone()[0])  # the tables are constants
        for src in EVENT_SOURCES
        if src.table in present
    )
    allowed = events <= settings.run.concurrent_max_events
    log.info(
        "%s events in the warehouse: concurrent steps %s (limit %s)",
        f"{events:,}",
        "run beside the others" if allowed else "run one at a time",
        f"{settings.run.concurrent_max_events:,}",
    )
    return allowed


class _Background:
    """A concurrent step running in its own thread with its own cursor (see :attr:`Step.concurrent`)."""

    def __init__(self, step: Step, index: int, cursor: duckdb.DuckDBPyConnection, thread: Any) -> None:
        self.step, self.index, self.cursor, self.thread = step, index, cursor, thread
        self.result: StepResult | None = None
        self.error: BaseException | None = None

    @classmethod
    def start(
        cls,
        con: duckdb.DuckDBPyConnection,
        step: Step,
        index: int,
        settings: Settings,
        run_id: str,
        *,
        progress: Progress,
        done: dict[str, str],
        redact: Callable[[str], str],
        pause: PauseHook,
    ) -> _Background:
        cursor = con.cursor()  # a connection of its own to the same database: its own transactions
        ctx = StepContext(cursor, settings, run_id, progress=progress, step=step, pause=pause)
        job = cls(step, index, cursor, None)

        def work() -> None:
            try:
                job.result = _execute(cursor, step, ctx, done=done, redact=redact)
            except BaseException as exc:  # handed to the main thread by join()
                job.error = exc

        job.thread = threading.Thread(target=work, name=f"ctxrisk step {step.name}", daemon=True)
        job.thread.start()
        log.info("step %s runs beside the next steps", step.name)
        return job

    def join(self) -> StepResult:
        """Wait for the step; its result, or its error raised here."""
        self.thread.join()
        self.cursor.close()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result

    def stop(self) -> None:
        """Interrupt the step's warehouse work and give it a moment to roll back (the run is stopping)."""
        with contextlib.suppress(Exception):
            self.cursor.interrupt()
        self.thread.join(timeout=5)


def new_run_id() -> str:
    """Return a run id: the UTC start time and 6 random hex digits, e.g. ``20250131T020000Z-3fa2c1``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def run_job(
    settings: Settings,
    *,
    pseudonymise_key: bytes | None = None,
    steps: Sequence[Step] | None = None,
    progress: Progress | None = None,
    pause: PauseHook = no_pause,
) -> RunSummary:
    """Run the whole job once: take the lock, ingest every drop folder, run the registered steps, log all.

    Parameters
    ----------
    settings : Settings
        ``paths.warehouse``, ``paths.output_dir``, ``paths.drop_dirs`` and ``paths.boundaries`` are used.
    pseudonymise_key : bytes or None
        Person IDs in dropped files are replaced by keyed pseudonyms before storing. Never logged or stored.
    steps : sequence of Step or None
        The steps after the ingest steps; default :func:`ctxrisk.jobs.builtin.builtin_steps`.
    progress : Progress or None
        Default :class:`LogProgress`.
    pause : callable
        Called at each pause point (see :data:`ctxrisk.jobs.steps.PauseHook`); tests pass one that waits there.

    Returns
    -------
    RunSummary
        ``status`` is ``ok`` or ``partial`` (files quarantined or steps failed).

    Raises
    ------
    LockError
        Another run holds the warehouse lock.
    SchemaVersionError, ValidationError
        The warehouse cannot be opened or the settings name an unknown kind. Nothing was changed then.
    """
    private_umask()
    progress = progress or LogProgress()
    redact = make_redactor([pseudonymise_key, os.environ.get("CTXRISK_PSEUDO_KEY")])
    with redacting_logs(redact), sigterm_rolls_back():
        plan = plan_steps(settings, pseudonymise_key=pseudonymise_key, steps=steps, redact=redact)
        warehouse = Path(settings.paths.warehouse)
        lock = RunLock(lock_path_for(warehouse), command="run")
        with lock:
            secure_mkdir(settings.paths.output_dir)
            remove_stale_temps(settings.paths.output_dir)
            con = connect(settings=settings)
            try:
                return _run_plan(
                    con, settings, plan, progress=progress, redact=redact, recovered=lock.recovered, pause=pause
                )
            finally:
                con.close()


def _run_plan(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    plan: list[Step],
    *,
    progress: Progress,
    redact: Callable[[str], str],
    recovered: LockHolder | None,
    pause: PauseHook,
) -> RunSummary:
    run_id = new_run_id()
    started_at = now()
    interrupted = mark_interrupted(con)
    with transaction(con):
        log_start(con, run_id, "run")
        audit(con, "run", target=str(settings.paths.warehouse), detail=f"run {run_id} started")
    progress.run_started(run_id, plan)
    results: list[StepResult | None] = []
    done: dict[str, str] = {}
    background: dict[str, _Background] = {}

    def finish(name: str) -> None:
        job = background.pop(name)
        result = job.join()
        done[name] = result.status
        results[job.index] = result
        progress.step_finished(result)

    try:
        for index, step in enumerate(plan):
            for name in [r for r in step.requires if r in background]:
                finish(name)
            progress.step_started(step, index)
            if step.concurrent and index < len(plan) - 1 and concurrency_allowed(con, settings):
                background[step.name] = _Background.start(
                    con, step, index, settings, run_id, progress=progress, done=dict(done), redact=redact, pause=pause
                )
                results.append(None)
                continue
            ctx = StepContext(con, settings, run_id, progress=progress, step=step, pause=pause)
            result = _execute(con, step, ctx, done=done, redact=redact)
            done[step.name] = result.status
            results.append(result)
            progress.step_finished(result)
        for name in list(background):
            finish(name)
    except Terminated as exc:
        for job in background.values():
            job.stop()
        con.execute(
            "update meta.run_log set status = ?, ended_at = ?, error = ? where run_id = ? and "
            "status = 'running' and step <> 'run'",
            [STATUS_INTERRUPTED, now(), f"{exc}; rolled back to the last commit", run_id],
        )
        log_end(con, run_id, "run", STATUS_FAILED, error=f"{exc}; rolled back to the last commit")
        audit(con, "run", target=str(settings.paths.warehouse), detail=f"run {run_id} {exc}")
        raise
    ok = all(r.status == STATUS_OK for r in results)
    summary = RunSummary(
        run_id,
        STATUS_OK if ok else STATUS_PARTIAL,
        results,
        started_at,
        now(),
        recovered_lock=recovered,
        interrupted_steps=interrupted,
    )
    files = summary.files
    with transaction(con):
        log_end(
            con,
            run_id,
            "run",
            summary.status,
            rows=(
                sum(f.rows_read for f in files),
                sum(f.rows_loaded for f in files),
                sum(f.rows_rejected for f in files),
            ),
            detail=redact(summary.headline()),
            error="; ".join(f"{r.name}: {r.error}" for r in results if r.error) or None,
        )
        audit(
            con,
            "run",
            target=str(settings.paths.warehouse),
            detail=redact(f"run {run_id} {summary.status}: {summary.headline()}"),
        )
    progress.run_finished(summary)
    return summary
