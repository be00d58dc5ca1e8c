"""A run's steps: what a step is given, what it returns, and the ordered list a run is planned from."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.fsutil import atomic_path
from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.warehouse import audit

if TYPE_CHECKING:
    from ctxrisk.jobs.progress import Progress

log = logging.getLogger(__name__)

STATUS_OK = "ok"
STATUS_PARTIAL = "partial"
STATUS_FAILED = "failed"
STATUS_SKIPPED = "skipped"
STATUS_QUARANTINED = "quarantined"
STATUS_INTERRUPTED = "interrupted"

#: ``pause(point)``: called by the run at each of its pause points, so a test can stop it at a known place.
#: Points: ``ingest:<kind>:in-transaction`` (a file's rows are stored, not yet committed),
#: ``ingest:<kind>:committed`` (committed, the file not yet moved), ``step:<name>:in-transaction`` (a step's
#: work is done but not committed), ``step:<name>:committed``, ``output:<file name>:written`` (temporary file
#: written, not yet renamed).
PauseHook = Callable[[str], None]


def no_pause(point: str) -> None:
    """The pause hook of a real run: goes straight on."""


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
    pause : callable
        ``pause(point)`` is called at each pause point of the run (see :data:`PausePoint`); it does nothing
        unless a test passed its own to :func:`ctxrisk.jobs.run.run_job`.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        settings: Settings,
        run_id: str,
        *,
        progress: Progress | None = None,
        step: Step | None = None,
        pause: PauseHook | None = None,
    ) -> None:
        self.con = con
        self.settings = settings
        self.run_id = run_id
        self.output_dir = Path(settings.paths.output_dir)
        self.pause: PauseHook = pause or no_pause
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
            self.pause(f"output:{target.name}:written")
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


class StepList:
    """The ordered steps of a run after its ingest steps, built explicitly (no registry shared by a process).

    Examples
    --------
    >>> plan = StepList()
    >>> _ = plan.register("hotspots", lambda ctx: None)
    >>> _ = plan.register("map", lambda ctx: None, requires=["hotspots"])
    >>> [s.name for s in plan.steps]
    ['hotspots', 'map']
    """

    def __init__(self, steps: Sequence[Step] = ()) -> None:
        self._steps: list[Step] = list(steps)

    @property
    def steps(self) -> list[Step]:
        """The steps in run order (a copy)."""
        return list(self._steps)

    def register(
        self,
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
            Step name, e.g. ``"hotspots"``, ``"association graph"``, ``"steering map"``, ``"report"``.
        func : callable
            ``func(ctx: StepContext) -> StepOutput | int | None``.
        after, before : str or None
            Place the step right after / before a step already in the list; otherwise it is appended.
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
        self.remove(name)
        names = [s.name for s in self._steps]
        if after is not None and after in names:
            self._steps.insert(names.index(after) + 1, step)
        elif before is not None and before in names:
            self._steps.insert(names.index(before), step)
        else:
            if after is not None or before is not None:
                log.debug("step %s: %s is not in the list; appended at the end", name, after or before)
            self._steps.append(step)
        return step

    def remove(self, name: str) -> None:
        """Remove a step (nothing happens when it is not in the list)."""
        self._steps = [s for s in self._steps if s.name != name]
