"""The unattended run: ingest every drop folder, then the registered analytics, map and report steps, each logged.

A run is an ordered list of named :class:`Step` objects. The ingest steps come from the settings (one per
``[paths] drop_dirs`` kind, plus the configured boundary files); analytics, maps and reports add theirs with
:func:`register_step` (or a ``register_steps(register_step)`` function in one of :data:`STEP_MODULES`).

Guarantees (see ``docs/operations.md``):

* one run at a time per warehouse (:class:`ctxrisk.pipelines.lock.RunLock`; a dead run's lock is recovered);
* each ingested file is one transaction (:func:`ctxrisk.pipelines.ingest.store_batch`), and each registered step runs
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
import signal
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb

from ctxrisk.pipelines.errors import CtxriskError, ValidationError
from ctxrisk.pipelines.fsutil import atomic_path, private_umask, remove_stale_temps, secure_mkdir
from ctxrisk.pipelines.kinds import KINDS
from ctxrisk.pipelines.lock import LockHolder, RunLock, lock_path_for
from ctxrisk.pipelines.quarantine import mark_processed, pending_files, quarantine
from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.warehouse import audit, connect, transaction

log = logging.getLogger(__name__)

#: Modules that may add steps: each is imported when present and its ``register_steps(register_step)`` called.
STEP_MODULES: list[str] = ["analytics", "maps"]

#: Test hooks: when ``$CTXRISK_TEST_PAUSE_AT`` names a pause point, the run writes the point's name to the file
#: named by ``$CTXRISK_TEST_PAUSE_SIGNAL`` and sleeps there (``$CTXRISK_TEST_PAUSE_SECONDS``, default 60), so a
#: test can kill it at a known place. Points: ``ingest:<kind>:in-transaction`` (a file's rows are stored, not yet
#: committed), ``ingest:<kind>:committed`` (committed, the file not yet moved), ``step:<name>:in-transaction`` (a step's work is done but not committed),
#: ``step:<name>:committed``, ``output:<file name>:written`` (temporary file written, not yet renamed).
ENV_PAUSE_AT = "CTXRISK_TEST_PAUSE_AT"
ENV_PAUSE_SIGNAL = "CTXRISK_TEST_PAUSE_SIGNAL"
ENV_PAUSE_SECONDS = "CTXRISK_TEST_PAUSE_SECONDS"

STATUS_OK = "ok"
STATUS_PARTIAL = "partial"
STATUS_FAILED = "failed"
STATUS_SKIPPED = "skipped"
STATUS_QUARANTINED = "quarantined"
STATUS_INTERRUPTED = "interrupted"
REDACTED = "[redacted]"


def _pause_point(point: str) -> None:
    """Sleep at ``point`` when a test asked for it (see :data:`ENV_PAUSE_AT`); otherwise do nothing."""
    if os.environ.get(ENV_PAUSE_AT) != point:
        return
    signal_file = os.environ.get(ENV_PAUSE_SIGNAL)
    if signal_file:
        Path(signal_file).write_text(point, encoding="utf-8")
    time.sleep(float(os.environ.get(ENV_PAUSE_SECONDS, "60")))


# --------------------------------------------------------------------------------------------------------------
# Steps and their registration


@dataclass
class FileOutcome:
    """What happened to one file of an ingest step.

    Attributes
    ----------
    path : str
        Where the file was read from.
    status : str
        ``ok`` (loaded), ``skipped`` (the same bytes were ingested before), ``quarantined`` (could not be read;
        moved to ``quarantine/``) or ``failed`` (an unexpected error; the file stays and is tried again).
    rows_read, rows_loaded, rows_rejected : int
    reason : str or None
        Why it was quarantined or failed.
    moved_to : str or None
    """

    path: str
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    reason: str | None = None
    moved_to: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class StepOutput:
    """What a step function may return (an ``int`` is read as ``StepOutput(rows=n)``; None as no rows).

    Attributes
    ----------
    rows : int or None
        Rows written (a mart's rows, features drawn …), stored in ``meta.run_log.rows_loaded``.
    detail : str or None
        One line for the run log, e.g. ``"234 areas, 12 hotspots at 95%"``.
    files : list of FileOutcome
        For ingest steps.
    """

    rows: int | None = None
    detail: str | None = None
    files: list[FileOutcome] = field(default_factory=list)


class StepContext:
    """What a step function is given.

    Attributes
    ----------
    con : duckdb.DuckDBPyConnection
        Inside the step's transaction (for transactional steps): do not begin or commit; raise to roll back.
        :func:`ctxrisk.pipelines.warehouse.write_mart` may be called as it joins the open transaction.
    settings : Settings
    run_id : str
    output_dir : Path
        ``settings.paths.output_dir``, created owner-only.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        settings: Settings,
        run_id: str,
        *,
        progress: Progress | None = None,
        step: Step | None = None,
    ) -> None:
        self.con = con
        self.settings = settings
        self.run_id = run_id
        self.output_dir = Path(settings.paths.output_dir)
        self._progress = progress
        self._step = step

    def output_file(self, relative: str | Path) -> Path:
        """Return ``output_dir / relative``, refusing paths that leave the output folder."""
        target = (self.output_dir / relative).resolve()
        root = self.output_dir.resolve()
        if root != target and root not in target.parents:
            msg = f"output {relative} is outside the output folder {self.output_dir}"
            raise ValidationError(msg)
        return target

    @contextlib.contextmanager
    def writing(
        self, relative: str | Path, *, action: str = "export", edition: str | None = None, detail: str | None = None
    ) -> Iterator[Path]:
        """Yield a temporary path to write an output to; it is renamed into place (0600) and audited.

        Parameters
        ----------
        relative : str or Path
            File name under the output folder, e.g. ``"maps/steering.html"``.
        action : str
            ``export``, ``map`` or ``report`` (the ``meta.audit`` action).
        edition : str or None
            ``steering``, ``intel`` or ``analyst`` where the output has an edition.
        """
        target = self.output_file(relative)
        with atomic_path(target) as tmp:
            yield tmp
            _pause_point(f"output:{target.name}:written")
        self.audit(action, edition=edition, target=str(target), detail=detail)

    def write_output(
        self,
        relative: str | Path,
        data: str | bytes,
        *,
        action: str = "export",
        edition: str | None = None,
        detail: str | None = None,
    ) -> Path:
        """Write text or bytes to an output file atomically (owner-only) and audit it; return the path."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        with self.writing(relative, action=action, edition=edition, detail=detail) as tmp:
            tmp.write_bytes(raw)
        return self.output_file(relative)

    def audit(
        self, action: str, *, edition: str | None = None, target: str | None = None, detail: str | None = None
    ) -> None:
        """Record an action in ``meta.audit`` (in the step's transaction) with this run's id."""
        note = f"run {self.run_id}" + (f": {detail}" if detail else "")
        audit(self.con, action, edition=edition, target=target, detail=note)

    def file_done(self, outcome: FileOutcome) -> None:
        """Report one file's outcome to the progress display."""
        if self._progress is not None and self._step is not None:
            self._progress.file_done(self._step, outcome)


StepFunc = Callable[[StepContext], "StepOutput | int | None"]


@dataclass(frozen=True)
class Step:
    """One named step of a run.

    Attributes
    ----------
    name : str
        Unique within a run; shown in ``meta.run_log.step``, e.g. ``"ingest incidents"``, ``"hotspots"``.
    func : callable
        ``func(ctx: StepContext) -> StepOutput | int | None``. Raise to fail the step (its work is rolled
        back, the run goes on with the steps that do not require it).
    requires : tuple of str
        Steps that must have succeeded in this run for this one to run (otherwise it is ``skipped``).
    transactional : bool
        Run ``func`` and its ``meta.run_log`` row in one transaction. Ingest steps are not: each file is its
        own transaction.
    concurrent : bool
        May run in a background thread beside the steps after it (``[run] concurrent_steps``), with its own
        warehouse cursor and transaction; it must not read what those steps write. A later step that
        requires it waits for it, and the run waits for it before it ends.
    """

    name: str
    func: StepFunc
    requires: tuple[str, ...] = ()
    transactional: bool = True
    concurrent: bool = False


_REGISTERED: list[Step] = []


def register_step(
    name: str,
    func: StepFunc,
    *,
    after: str | None = None,
    before: str | None = None,
    requires: Sequence[str] = (),
    transactional: bool = True,
    concurrent: bool = False,
) -> Step:
    """Add (or replace) an analytics, map or report step; it runs after every ingest step.

    Parameters
    ----------
    name : str
        Step name, e.g. ``"hotspots"``, ``"graph"``, ``"steering map"``, ``"report"``.
    func : callable
        ``func(ctx: StepContext) -> StepOutput | int | None``.
    after, before : str or None
        Place the step right after / before an already registered step; otherwise it is appended.
    requires : sequence of str
        Steps that must succeed first in the same run (else this one is skipped and says why).
    transactional, concurrent : bool
        See :class:`Step`.

    Returns
    -------
    Step
    """
    if not name or not name.strip():
        msg = "a step needs a name"
        raise ValidationError(msg)
    if name.startswith("ingest ") or name == "run":
        msg = f"step name {name!r} is reserved for ctxrisk's own steps"
        raise ValidationError(msg)
    step = Step(name, func, tuple(requires), transactional, concurrent)
    unregister_step(name)
    names = [s.name for s in _REGISTERED]
    if after is not None and after in names:
        _REGISTERED.insert(names.index(after) + 1, step)
    elif before is not None and before in names:
        _REGISTERED.insert(names.index(before), step)
    else:
        if after is not None or before is not None:
            log.debug("step %s: %s is not registered; appended at the end", name, after or before)
        _REGISTERED.append(step)
    return step


def unregister_step(name: str) -> None:
    """Remove a registered step (nothing happens when it is not registered)."""
    _REGISTERED[:] = [s for s in _REGISTERED if s.name != name]


def registered_steps() -> list[Step]:
    """Return the registered (non-ingest) steps in run order, after loading :data:`STEP_MODULES`."""
    load_step_modules()
    return list(_REGISTERED)


_LOADED_MODULES: set[str] = set()


def load_step_modules() -> None:
    """Register the built-in steps of each group named in :data:`STEP_MODULES` (``analytics``, ``maps``), once."""
    from ctxrisk.jobs import analytics_steps, map_steps

    hooks = {"analytics": analytics_steps.register_steps, "maps": map_steps.register_steps}
    for name in STEP_MODULES:
        if name in _LOADED_MODULES:
            continue
        hooks[name](register_step)
        _LOADED_MODULES.add(name)


# --------------------------------------------------------------------------------------------------------------
# Ingest steps


def _source_kinds() -> dict[str, Any]:
    from ctxrisk.pipelines.sources import SOURCE_KINDS

    return SOURCE_KINDS


def _ingest_kind_order() -> list[str]:
    """Kinds a drop folder may hold, in the order they are ingested: canonical kinds, then public formats."""
    return list(KINDS) + [k for k in _source_kinds() if k != "boundaries"]


def _error_text(exc: BaseException, redact: Callable[[str], str]) -> str:
    if isinstance(exc, CtxriskError):
        return redact(str(exc))
    return redact(f"unexpected {type(exc).__name__}: {exc}")


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
    from ctxrisk.pipelines.runner import ingest_one

    con = ctx.con
    row = _file_step_name(step, path)
    _log_start(con, ctx.run_id, row)
    try:
        # One transaction for the file's rows, its rejected rows, the source's after-load work (area
        # assignment, outcome joins) and its run-log row: all of it is committed, or none.
        with transaction(con):
            result = ingest_one(
                con, kind, path, settings=ctx.settings, pseudonymise_key=key, options=options, run_id=ctx.run_id
            )
            _pause_point(f"ingest:{kind}:in-transaction")
            status = STATUS_SKIPPED if result.skipped_same_file else STATUS_OK
            detail = "; ".join(result.notes) or None
            _log_end(
                con,
                ctx.run_id,
                row,
                status,
                rows=(result.rows_read, result.rows_loaded, result.rows_rejected),
                detail=redact(detail) if detail else None,
            )
    except CtxriskError as exc:
        reason = _error_text(exc, redact)
        moved = quarantine(path, reason, run_id=ctx.run_id) if move else None
        _log_end(con, ctx.run_id, row, STATUS_QUARANTINED if move else STATUS_FAILED, error=reason)
        return FileOutcome(
            str(path),
            STATUS_QUARANTINED if move else STATUS_FAILED,
            reason=reason,
            moved_to=str(moved) if moved else None,
        )
    except Exception as exc:  # an unexpected failure is not the file's fault: leave it to be tried again
        _stop_if_requested(exc)
        reason = _error_text(exc, redact)
        log.error("%s: %s; the file stays in its folder and is tried again by the next run", path.name, reason)
        _log_end(con, ctx.run_id, row, STATUS_FAILED, error=reason)
        return FileOutcome(str(path), STATUS_FAILED, reason=reason)
    _pause_point(f"ingest:{kind}:committed")
    moved = mark_processed(path) if move else None
    return FileOutcome(
        str(path),
        status,
        result.rows_read,
        result.rows_loaded,
        result.rows_rejected,
        moved_to=str(moved) if moved else None,
    )


def _drop_folder_step(kind: str, folder: Path, *, key: bytes | None, redact: Callable[[str], str]) -> Step:
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


def _boundaries_step(boundaries: dict[str, Path], *, redact: Callable[[str], str]) -> Step:
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


def plan_steps(
    settings: Settings,
    *,
    pseudonymise_key: bytes | None = None,
    extra_steps: Sequence[Step] | None = None,
    redact: Callable[[str], str] = lambda s: s,
) -> list[Step]:
    """Return the run's steps in order: configured boundaries, each drop folder, then the registered steps.

    Parameters
    ----------
    extra_steps : sequence of Step or None
        Used instead of :func:`registered_steps` when given (tests, embedding).

    Raises
    ------
    ValidationError
        A drop folder is configured for an unknown kind, or boundary files are configured but no
        ``boundaries`` ingest kind is installed.
    """
    sources = _source_kinds()
    allowed = _ingest_kind_order()
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
    steps: list[Step] = []
    if settings.paths.boundaries:
        if "boundaries" not in sources:
            msg = "[paths] boundaries is set but this ctxrisk has no boundaries ingest kind installed"
            raise ValidationError(msg)
        steps.append(_boundaries_step(dict(settings.paths.boundaries), redact=redact))
    for kind in allowed:
        folder = settings.paths.drop_dirs.get(kind)
        if folder is not None:
            steps.append(_drop_folder_step(kind, Path(folder), key=pseudonymise_key, redact=redact))
    steps.extend(registered_steps() if extra_steps is None else extra_steps)
    names = [s.name for s in steps]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        msg = f"step name(s) {duplicated} appear twice in the run"
        raise ValidationError(msg)
    return steps


# --------------------------------------------------------------------------------------------------------------
# The run log


def _now() -> datetime:
    return datetime.now(UTC)


def _log_start(con: duckdb.DuckDBPyConnection, run_id: str, step: str) -> None:
    con.execute(
        "insert into meta.run_log (run_id, step, started_at, status) values (?, ?, ?, ?)",
        [run_id, step, _now(), "running"],
    )


def _log_end(
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
        [_now(), status, *rows, detail, error, run_id, step],
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
                _now(),
                "the run stopped before this finished (killed or crashed); its uncommitted work was rolled back "
                "and is redone by a later run",
            ],
        )
        log.warning("%s step(s) of an earlier run were interrupted; their work is redone now", f"{count:,}")
    return int(count)


# --------------------------------------------------------------------------------------------------------------
# Progress


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


# --------------------------------------------------------------------------------------------------------------
# Results


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


# --------------------------------------------------------------------------------------------------------------
# Redaction of the key


def make_redactor(secrets: Sequence[bytes | str | None]) -> Callable[[str], str]:
    """Return ``redact(text)`` replacing each secret (as text) by ``[redacted]``; empty secrets are ignored."""
    texts = []
    for secret in secrets:
        if not secret:
            continue
        text = secret.decode("utf-8", errors="replace") if isinstance(secret, bytes) else secret
        if text:
            texts.append(text)

    def redact(value: str) -> str:
        for text in texts:
            value = value.replace(text, REDACTED)
        return value

    return redact


class RedactingFilter(logging.Filter):
    """A logging filter that removes secrets from every record's message."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[1] is not None:
            exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info, record.exc_text = None, exc_text
        return True


@contextlib.contextmanager
def _redacting_logs(redact: Callable[[str], str]) -> Iterator[None]:
    handlers = list(logging.getLogger().handlers)
    filt = RedactingFilter(redact)
    for handler in handlers:
        handler.addFilter(filt)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(filt)


class Terminated(BaseException):
    """Raised in the run when the process is asked to stop (SIGTERM), so the open step rolls back cleanly."""


# Set by the SIGTERM handler: DuckDB turns a signal that arrives during a query into its own "Query
# interrupted" error, which must still stop the run rather than count as a failed file or step.
_STOP_REQUESTED: list[str] = []


def _stop_if_requested(exc: BaseException) -> None:
    """Re-raise as :class:`Terminated` when a stop was asked for while ``exc`` was being raised."""
    if _STOP_REQUESTED:
        raise Terminated(_STOP_REQUESTED[-1]) from exc


@contextlib.contextmanager
def _sigterm_rolls_back() -> Iterator[None]:
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        _STOP_REQUESTED.append(f"stopped by signal {signum}")
        raise Terminated(_STOP_REQUESTED[-1])

    _STOP_REQUESTED.clear()
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --------------------------------------------------------------------------------------------------------------
# The run


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
            _log_start(con, ctx.run_id, step.name)
            _log_end(con, ctx.run_id, step.name, STATUS_SKIPPED, error=reason)
        return StepResult(step.name, STATUS_SKIPPED, error=reason)
    _log_start(con, ctx.run_id, step.name)
    try:
        if step.transactional:
            with transaction(con):
                out = _as_output(step.func(ctx))
                _pause_point(f"step:{step.name}:in-transaction")
                _log_end(
                    con,
                    ctx.run_id,
                    step.name,
                    STATUS_OK,
                    rows=(None, out.rows, None),
                    detail=redact(out.detail) if out.detail else None,
                )
            _pause_point(f"step:{step.name}:committed")
            return StepResult(
                step.name, STATUS_OK, rows_loaded=out.rows, detail=out.detail, seconds=time.monotonic() - started
            )
        out = _as_output(step.func(ctx))
    except Exception as exc:
        _stop_if_requested(exc)
        error = _error_text(exc, redact)
        with contextlib.suppress(duckdb.TransactionException):
            con.execute("rollback")  # a step that left a transaction open
        _log_end(con, ctx.run_id, step.name, STATUS_FAILED, error=error)
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
    _log_end(
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
        int(con.execute(f"select count(*) from {src.table}").fetchone()[0])  # noqa: S608 - constants
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
    ) -> _Background:
        import threading

        cursor = con.cursor()  # a connection of its own to the same database: its own transactions
        ctx = StepContext(cursor, settings, run_id, progress=progress, step=step)
        job = cls(step, index, cursor, None)

        def work() -> None:
            try:
                job.result = _execute(cursor, step, ctx, done=done, redact=redact)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread by join()
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
) -> RunSummary:
    """Run the whole job once: take the lock, ingest every drop folder, run the registered steps, log all.

    Parameters
    ----------
    settings : Settings
        ``paths.warehouse``, ``paths.output_dir``, ``paths.drop_dirs`` and ``paths.boundaries`` are used.
    pseudonymise_key : bytes or None
        Person IDs in dropped files are replaced by keyed pseudonyms before storing. Never logged or stored.
    steps : sequence of Step or None
        The non-ingest steps; default :func:`registered_steps`.
    progress : Progress or None
        Default :class:`LogProgress`.

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
    with _redacting_logs(redact), _sigterm_rolls_back():
        plan = plan_steps(settings, pseudonymise_key=pseudonymise_key, extra_steps=steps, redact=redact)
        warehouse = Path(settings.paths.warehouse)
        lock = RunLock(lock_path_for(warehouse), command="run")
        with lock:
            secure_mkdir(settings.paths.output_dir)
            remove_stale_temps(settings.paths.output_dir)
            con = connect(settings=settings)
            try:
                return _run_plan(con, settings, plan, progress=progress, redact=redact, recovered=lock.recovered)
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
) -> RunSummary:
    run_id = new_run_id()
    started_at = _now()
    interrupted = mark_interrupted(con)
    with transaction(con):
        _log_start(con, run_id, "run")
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
                    con, step, index, settings, run_id, progress=progress, done=dict(done), redact=redact
                )
                results.append(None)
                continue
            ctx = StepContext(con, settings, run_id, progress=progress, step=step)
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
            [STATUS_INTERRUPTED, _now(), f"{exc}; rolled back to the last commit", run_id],
        )
        _log_end(con, run_id, "run", STATUS_FAILED, error=f"{exc}; rolled back to the last commit")
        audit(con, "run", target=str(settings.paths.warehouse), detail=f"run {run_id} {exc}")
        raise
    ok = all(r.status == STATUS_OK for r in results)
    summary = RunSummary(
        run_id,
        STATUS_OK if ok else STATUS_PARTIAL,
        results,
        started_at,
        _now(),
        recovered_lock=recovered,
        interrupted_steps=interrupted,
    )
    files = summary.files
    with transaction(con):
        _log_end(
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
