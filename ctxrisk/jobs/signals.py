"""Stopping a run on SIGTERM: the open step rolls back and the run ends as interrupted."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class Terminated(BaseException):
    """Raised in the run when the process is asked to stop (SIGTERM), so the open step rolls back cleanly."""


# Set by the SIGTERM handler: DuckDB turns a signal that arrives during a query into its own "Query
# interrupted" error, which must still stop the run rather than count as a failed file or step.
STOP_REQUESTED: list[str] = []


def stop_if_requested(exc: BaseException) -> None:
    """Re-raise as :class:`Terminated` when a stop was asked for while ``exc`` was being raised."""
    if STOP_REQUESTED:
        raise Terminated(STOP_REQUESTED[-1]) from exc


@contextlib.contextmanager
def sigterm_rolls_back() -> Iterator[None]:
    """Within the block (on the main thread), SIGTERM raises :class:`Terminated` so the open step rolls back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        STOP_REQUESTED.append(f"stopped by signal {signum}")
        raise Terminated(STOP_REQUESTED[-1])

    STOP_REQUESTED.clear()
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
