"""What a run reports: each step's result, the run's summary, and progress as it goes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from ctxrisk.jobs.steps import (
    STATUS_FAILED,
    STATUS_OK,
    STATUS_PARTIAL,
    STATUS_QUARANTINED,
    STATUS_SKIPPED,
    FileOutcome,
    Step,
)
from ctxrisk.pipelines.lock import LockHolder

#: Progress lines are logged under the run's name (cron and systemd logs filter on it).
log = logging.getLogger("ctxrisk.jobs.run")


class Progress(Protocol):
    """Receives a run's progress (plain log lines, a rich progress bar …)."""

    def run_started(self, run_id: str, steps: Sequence[Step]) -> None: ...

    def step_started(self, step: Step, index: int) -> None: ...

    def file_done(self, step: Step, outcome: FileOutcome) -> None: ...

    def step_finished(self, result: StepResult) -> None: ...

    def run_finished(self, summary: RunSummary) -> None: ...


class LogProgress:
    """Progress as one log line per step and per file (for cron, systemd and ``--log-format json``)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or log
        self.total = 0

    def run_started(self, run_id: str, steps: Sequence[Step]) -> None:
        self.total = len(steps)
        self.log.info("run %s started: %s step(s): %s", run_id, self.total, ", ".join(s.name for s in steps) or "-")

    def step_started(self, step: Step, index: int) -> None:
        self.log.info("step %s/%s %s started", index + 1, self.total, step.name)

    def file_done(self, step: Step, outcome: FileOutcome) -> None:
        name = Path(outcome.path).name
        if outcome.status in (STATUS_QUARANTINED, STATUS_FAILED):
            self.log.warning("%s: %s %s: %s", step.name, name, outcome.status, outcome.reason)
        else:
            self.log.info(
                "%s: %s %s: read %s, loaded %s, rejected %s",
                step.name,
                name,
                outcome.status,
                f"{outcome.rows_read:,}",
                f"{outcome.rows_loaded:,}",
                f"{outcome.rows_rejected:,}",
            )

    def step_finished(self, result: StepResult) -> None:
        level = logging.INFO if result.status in (STATUS_OK, STATUS_SKIPPED) else logging.WARNING
        self.log.log(
            level,
            "step %s %s in %.2f s%s%s",
            result.name,
            result.status,
            result.seconds,
            f": {result.detail}" if result.detail else "",
            f"; error: {result.error}" if result.error else "",
        )

    def run_finished(self, summary: RunSummary) -> None:
        level = logging.INFO if summary.status == STATUS_OK else logging.WARNING
        self.log.log(level, "run %s %s: %s", summary.run_id, summary.status, summary.headline())


@dataclass
class StepResult:
    """How one step ended.

    Attributes
    ----------
    name : str
    status : str
        ``ok``, ``partial`` (an ingest step with quarantined or failed files), ``failed`` or ``skipped``.
    rows_read, rows_loaded, rows_rejected : int or None
    detail, error : str or None
    seconds : float
    files : list of FileOutcome
    """

    name: str
    status: str
    rows_read: int | None = None
    rows_loaded: int | None = None
    rows_rejected: int | None = None
    detail: str | None = None
    error: str | None = None
    seconds: float = 0.0
    files: list[FileOutcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "files"}
        out["files"] = [f.as_dict() for f in self.files]
        return out


@dataclass
class RunSummary:
    """What a run did.

    Attributes
    ----------
    run_id : str
    status : str
        ``ok`` when every step succeeded and no file was quarantined, else ``partial``.
    steps : list of StepResult
    started_at, ended_at : datetime
    recovered_lock : LockHolder or None
        The dead run whose stale lock this run took over.
    interrupted_steps : int
        Run-log rows of earlier runs found still ``running`` (killed) and marked ``interrupted``.
    """

    run_id: str
    status: str
    steps: list[StepResult]
    started_at: datetime
    ended_at: datetime
    recovered_lock: LockHolder | None = None
    interrupted_steps: int = 0

    @property
    def files(self) -> list[FileOutcome]:
        return [f for s in self.steps for f in s.files]

    @property
    def quarantined(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == STATUS_QUARANTINED]

    @property
    def failed_steps(self) -> list[StepResult]:
        return [s for s in self.steps if s.status in (STATUS_FAILED, STATUS_PARTIAL)]

    def headline(self) -> str:
        """One line, e.g. ``"4 file(s): 3 loaded, 0 skipped, 1 quarantined; 1,204 rows loaded; 2 step(s) ok"``."""
        files = self.files
        by = {
            s: sum(1 for f in files if f.status == s)
            for s in (STATUS_OK, STATUS_SKIPPED, STATUS_QUARANTINED, STATUS_FAILED)
        }
        loaded = sum(f.rows_loaded for f in files)
        rejected = sum(f.rows_rejected for f in files)
        steps_ok = sum(1 for s in self.steps if s.status == STATUS_OK)
        text = (
            f"{len(files):,} file(s): {by[STATUS_OK]:,} loaded, {by[STATUS_SKIPPED]:,} already ingested, "
            f"{by[STATUS_QUARANTINED]:,} quarantined, {by[STATUS_FAILED]:,} failed; {loaded:,} rows loaded, "
            f"{rejected:,} rejected; {steps_ok:,} of {len(self.steps):,} step(s) ok"
        )
        bad = [s.name for s in self.steps if s.status in (STATUS_FAILED, STATUS_SKIPPED) and not s.files]
        if bad:
            text += f" (not ok: {', '.join(bad)})"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat(),
            "headline": self.headline(),
            "recovered_lock": None if self.recovered_lock is None else self.recovered_lock.__dict__,
            "interrupted_steps": self.interrupted_steps,
            "steps": [s.as_dict() for s in self.steps],
        }
