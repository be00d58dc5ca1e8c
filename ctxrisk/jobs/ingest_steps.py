"""The ingest steps of a run: one per drop folder, plus the configured boundary files."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ctxrisk.jobs.runlog import error_text, log_end, log_start
from ctxrisk.jobs.signals import stop_if_requested
from ctxrisk.jobs.steps import (
    STATUS_FAILED,
    STATUS_OK,
    STATUS_QUARANTINED,
    STATUS_SKIPPED,
    FileOutcome,
    Step,
    StepContext,
    StepOutput,
)
from ctxrisk.pipelines.errors import CtxriskError
from ctxrisk.pipelines.kinds import KINDS
from ctxrisk.pipelines.quarantine import mark_processed, pending_files, quarantine
from ctxrisk.pipelines.runner import ingest_one
from ctxrisk.pipelines.sources import SOURCE_KINDS
from ctxrisk.pipelines.warehouse import transaction

log = logging.getLogger("ctxrisk.jobs.run")


def ingest_kind_order() -> list[str]:
    """Kinds a drop folder may hold, in the order they are ingested: canonical kinds, then public formats."""
    return list(KINDS) + [k for k in SOURCE_KINDS if k != "boundaries"]


def _file_step_name(step: Step, path: Path) -> str:
    return f"{step.name}: {path.name}"


def _ingest_dropped(
    ctx: StepContext,
    step: Step,
    kind: str,
    path: Path,
    *,
    key: bytes | None,
    options: dict[str, Any] | None,
    redact: Callable[[str], str],
    move: bool,
) -> FileOutcome:
    """Ingest one file; move it to processed/ or quarantine/ (when ``move``); log it in meta.run_log."""
    con = ctx.con
    row = _file_step_name(step, path)
    log_start(con, ctx.run_id, row)
    try:
        # One transaction for the file's rows, its rejected rows, the source's after-load work (area
        # assignment, outcome joins) and its run-log row: all of it is committed, or none.
        with transaction(con):
            result = ingest_one(
                con, kind, path, settings=ctx.settings, pseudonymise_key=key, options=options, run_id=ctx.run_id
            )
            ctx.pause(f"ingest:{kind}:in-transaction")
            status = STATUS_SKIPPED if result.skipped_same_file else STATUS_OK
            detail = "; ".join(result.notes) or None
            log_end(
                con,
                ctx.run_id,
                row,
                status,
                rows=(result.rows_read, result.rows_loaded, result.rows_rejected),
                detail=redact(detail) if detail else None,
            )
    except CtxriskError as exc:
        reason = error_text(exc, redact)
        moved = quarantine(path, reason, run_id=ctx.run_id) if move else None
        log_end(con, ctx.run_id, row, STATUS_QUARANTINED if move else STATUS_FAILED, error=reason)
        return FileOutcome(
            str(path),
            STATUS_QUARANTINED if move else STATUS_FAILED,
            reason=reason,
            moved_to=str(moved) if moved else None,
        )
    except Exception as exc:  # an unexpected failure is not the file's fault: leave it to be tried again
        stop_if_requested(exc)
        reason = error_text(exc, redact)
        log.error("%s: %s; the file stays in its folder and is tried again by the next run", path.name, reason)
        log_end(con, ctx.run_id, row, STATUS_FAILED, error=reason)
        return FileOutcome(str(path), STATUS_FAILED, reason=reason)
    ctx.pause(f"ingest:{kind}:committed")
    moved = mark_processed(path) if move else None
    return FileOutcome(
        str(path),
        status,
        result.rows_read,
        result.rows_loaded,
        result.rows_rejected,
        moved_to=str(moved) if moved else None,
    )


def drop_folder_step(kind: str, folder: Path, *, key: bytes | None, redact: Callable[[str], str]) -> Step:
    """A step ingesting every file waiting in ``folder`` as ``kind``; each moves to processed/ or quarantine/."""

    def run(ctx: StepContext) -> StepOutput:
        files = pending_files(folder)
        outcomes = []
        for path in files:
            outcome = _ingest_dropped(ctx, step, kind, path, key=key, options=None, redact=redact, move=True)
            outcomes.append(outcome)
            ctx.file_done(outcome)
        return StepOutput(files=outcomes, detail=f"{len(files):,} file(s) in {folder}")

    step = Step(f"ingest {kind}", run, transactional=False)
    return step


def boundaries_step(boundaries: dict[str, Path], *, redact: Callable[[str], str]) -> Step:
    """A step ingesting the configured boundary files by level; they stay where they are."""

    def run(ctx: StepContext) -> StepOutput:
        outcomes = []
        for level, path in boundaries.items():
            outcome = _ingest_dropped(
                ctx, step, "boundaries", Path(path), key=None, options={"level": level}, redact=redact, move=False
            )
            outcomes.append(outcome)
            ctx.file_done(outcome)
        return StepOutput(files=outcomes, detail=f"{len(boundaries):,} configured boundary file(s)")

    step = Step("ingest boundaries (configured)", run, transactional=False)
    return step
