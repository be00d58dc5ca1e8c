"""The run lock: one ctxrisk run (or purge) at a time per warehouse, with stale locks recovered."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import socket
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from ctxrisk.pipelines.errors import LockError
from ctxrisk.pipelines.fsutil import FILE_MODE, secure_mkdir

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"


def lock_path_for(warehouse: str | Path) -> Path:
    """Return the lock file of a warehouse: ``<warehouse>.lock`` in the same folder."""
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.name + LOCK_SUFFIX)


def pid_alive(pid: int) -> bool:
    """Return True when a process with this id exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


@dataclass(frozen=True)
class LockHolder:
    """What a lock file says about the run holding it.

    Attributes
    ----------
    pid : int or None
    host : str or None
    started_at : str or None
        ISO 8601 UTC time the run took the lock.
    command : str or None
        ``run`` or ``purge``.
    """

    pid: int | None
    host: str | None
    started_at: str | None
    command: str | None = None

    @classmethod
    def parse(cls, text: str) -> LockHolder | None:
        """Read a lock file's JSON; None when it is empty or unreadable."""
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        pid = data.get("pid")
        return cls(
            pid=pid if isinstance(pid, int) else None,
            host=str(data["host"]) if data.get("host") is not None else None,
            started_at=str(data["started_at"]) if data.get("started_at") is not None else None,
            command=str(data["command"]) if data.get("command") is not None else None,
        )

    def describe(self) -> str:
        """Return e.g. ``ctxrisk run, pid 4242 on host analytics-01, started 2025-01-31T02:00:00+00:00``."""
        return (
            f"ctxrisk {self.command or 'run'}, pid {self.pid if self.pid is not None else '?'} on host "
            f"{self.host or '?'}, started {self.started_at or 'at an unknown time'}"
        )


class RunLock:
    """An exclusive lock on a warehouse for the length of a run.

    The lock file (``<warehouse>.lock``, mode 0600) holds the pid, host and start time of the run that took
    it, and that run keeps an OS file lock (``flock``) on it. A second run finds the OS lock taken and is
    refused with a :class:`~ctxrisk.pipelines.errors.LockError` naming the holder. A run that died without
    releasing the lock (killed, power cut) leaves the file but not the OS lock, which the kernel drops with
    the process: the next run takes over the file and logs a warning naming the dead run ("stale lock").

    Parameters
    ----------
    path : str or Path
        The lock file, usually :func:`lock_path_for` of the warehouse.
    command : str
        What is taking the lock (``run`` or ``purge``), written into the file for the analyst.

    Attributes
    ----------
    recovered : LockHolder or None
        The dead run whose stale lock was taken over, if any.
    """

    def __init__(self, path: str | Path, *, command: str = "run") -> None:
        self.path = Path(path)
        self.command = command
        self.recovered: LockHolder | None = None
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> RunLock:
        """Take the lock or raise LockError; return self.

        Raises
        ------
        LockError
            Another live run holds it. The message names its pid, host and start time.
        """
        if self._fd is not None:
            return self
        secure_mkdir(self.path.parent)
        for _attempt in range(20):
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = LockHolder.parse(self._read(fd))
                os.close(fd)
                who = holder.describe() if holder else "another ctxrisk process"
                msg = (
                    f"the warehouse is locked by {who} (lock file {self.path}); wait for it to finish. "
                    "Only one run or purge may use a warehouse at a time"
                )
                raise LockError(msg) from None
            except BaseException:
                os.close(fd)
                raise
            # The file may have been removed (and maybe re-created) by a run that released it between our
            # open and our flock: then our lock is on an orphaned inode, so try again.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            previous = self._read(fd)
            if previous.strip():
                holder = LockHolder.parse(previous) or LockHolder(None, None, None)
                self.recovered = holder
                state = (
                    "is no longer running"
                    if holder.pid is None or not pid_alive(holder.pid)
                    else ("does not hold the lock any more (its pid is now another process)")
                )
                log.warning(
                    "recovered a stale lock: %s %s; its unfinished work is redone by this run", holder.describe(), state
                )
            self._write(fd)
            self._fd = fd
            return self
        msg = f"could not take the lock {self.path}: it kept changing under this process"  # pragma: no cover
        raise LockError(msg)  # pragma: no cover

    def _open(self) -> int:
        """Open (or create) the lock file without following a symbolic link; refuse anything but a file."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK, FILE_MODE)
        except IsADirectoryError:
            msg = f"the lock path {self.path} is a folder, not a file: remove or rename it, then try again"
            raise LockError(msg) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                msg = (
                    f"the lock path {self.path} is a symbolic link: ctxrisk never writes through a link; "
                    "remove it, then try again"
                )
                raise LockError(msg) from None
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            msg = f"the lock path {self.path} is not a regular file: remove it, then try again"
            raise LockError(msg)
        return fd

    def _read(self, fd: int) -> str:
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", errors="replace")

    def _write(self, fd: int) -> None:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": self.command,
        }
        data = (json.dumps(info) + "\n").encode("utf-8")
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, data)
        os.fsync(fd)
        os.fchmod(fd, FILE_MODE)

    def release(self) -> None:
        """Remove the lock file and drop the OS lock (nothing happens when not held)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        finally:
            os.close(fd)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def read_holder(path: str | Path) -> LockHolder | None:
    """Return who a lock file names, or None when there is no readable lock file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:  # missing, a link (not followed), a folder: nothing readable names a holder
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return LockHolder.parse(os.read(fd, 65536).decode("utf-8", errors="replace"))
    finally:
        os.close(fd)
