"""The run log (``meta.run_log``): one row per run, step and ingested file."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import duckdb

from ctxrisk.jobs.steps import STATUS_INTERRUPTED
from ctxrisk.pipelines.errors import CtxriskError

log = logging.getLogger("ctxrisk.jobs.run")


def now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def log_start(con: duckdb.DuckDBPyConnection, run_id: str, step: str) -> None:
    con.execute(
        "insert into meta.run_log (run_id, step, started_at, status) values (?, ?, ?, ?)",
        [run_id, step, now(), "running"],
    )


def log_end(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    step: str,
    status: str,
    *,
    rows: tuple[int | None, int | None, int | None] = (None, None, None),
    detail: str | None = None,
    error: str | None = None,
) -> None:
    con.execute(
        "update meta.run_log set ended_at = ?, status = ?, rows_read = ?, rows_loaded = ?, rows_rejected = ?, "
        "detail = ?, error = ? where run_id = ? and step = ?",
        [now(), status, *rows, detail, error, run_id, step],
    )


def mark_interrupted(con: duckdb.DuckDBPyConnection) -> int:
    """Mark run-log rows left ``running`` by a run that died as ``interrupted``; return how many.

    Only call while holding the run lock: then no other run can be running.
    """
    count = con.execute("select count(*) from meta.run_log where status = 'running'").fetchone()[0]
    if count:
        con.execute(
            "update meta.run_log set status = ?, ended_at = ?, error = ? where status = 'running'",
            [
                STATUS_INTERRUPTED,
                now(),
                "the run stopped before this finished (killed or crashed); its uncommitted work was rolled back "
                "and is redone by a later run",
            ],
        )
        log.warning("%s step(s) of an earlier run were interrupted; their work is redone now", f"{count:,}")
    return int(count)


def error_text(exc: BaseException, redact: Callable[[str], str]) -> str:
    """An error as stored and logged: its message, the key redacted; unexpected ones name their type."""
    if isinstance(exc, CtxriskError):
        return redact(str(exc))
    return redact(f"unexpected {type(exc).__name__}: {exc}")
