"""Tests for the run lock: exclusive, names its holder, recovers a dead run's lock."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ctxrisk.pipelines.errors import LockError
from ctxrisk.pipelines.lock import LockHolder, RunLock, lock_path_for, pid_alive, read_holder


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_lock_path_is_beside_the_warehouse(tmp_path: Path) -> None:
    assert lock_path_for(tmp_path / "w" / "ctxrisk.duckdb") == tmp_path / "w" / "ctxrisk.duckdb.lock"


def test_acquire_writes_holder_owner_only_and_release_removes_it(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "x.lock"
    with RunLock(path, command="purge") as lock:
        assert lock.held
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        data = json.loads(path.read_text())
        assert data["pid"] == os.getpid()
        assert data["host"] == socket.gethostname()
        assert data["command"] == "purge"
        assert data["started_at"].endswith("+00:00")
        assert lock.recovered is None
    assert not path.exists()
    assert not lock.held


def test_second_lock_is_refused_naming_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with RunLock(path):
        with pytest.raises(LockError, match=rf"locked by ctxrisk run, pid {os.getpid()} on host .*wait for it"):
            RunLock(path).acquire()
        assert path.exists()  # the refused attempt left the holder's file alone
    RunLock(path).acquire().release()


def test_stale_lock_of_a_dead_pid_is_recovered_with_a_warning(tmp_path: Path, caplog) -> None:
    path = tmp_path / "x.lock"
    pid = _dead_pid()
    assert not pid_alive(pid)
    path.write_text(
        json.dumps(
            {"pid": pid, "host": socket.gethostname(), "started_at": "2025-01-31T02:00:00+00:00", "command": "run"}
        )
    )
    with caplog.at_level(logging.WARNING, logger="ctxrisk.pipelines.lock"), RunLock(path) as lock:
        assert lock.recovered == LockHolder(pid, socket.gethostname(), "2025-01-31T02:00:00+00:00", "run")
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert f"recovered a stale lock: ctxrisk run, pid {pid}" in caplog.text
    assert "is no longer running" in caplog.text


def test_empty_or_garbled_lock_file_is_recovered(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    path.write_text("{not json")
    with RunLock(path) as lock:
        assert lock.recovered == LockHolder(None, None, None)
    path.write_text("")
    with RunLock(path) as lock:
        assert lock.recovered is None  # an empty file is what a fresh create looks like


def test_lock_held_by_another_process_then_recovered_after_sigkill(tmp_path: Path, caplog) -> None:
    path = tmp_path / "x.lock"
    code = (
        "import sys, time; from ctxrisk.pipelines.lock import RunLock; "
        f"l = RunLock({str(path)!r}).acquire(); print('held', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2]
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(LockError, match=rf"pid {proc.pid} on host"):
            RunLock(path).acquire()
        assert read_holder(path).pid == proc.pid
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert path.exists()  # SIGKILL leaves the file behind …
    with caplog.at_level(logging.WARNING, logger="ctxrisk.pipelines.lock"), RunLock(path) as lock:
        assert lock.recovered.pid == proc.pid  # … and the next run takes it over
    assert "recovered a stale lock" in caplog.text


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(_dead_pid())
    assert not pid_alive(0)


def test_read_holder_without_file(tmp_path: Path) -> None:
    assert read_holder(tmp_path / "none.lock") is None


def test_lock_is_taken_quickly(tmp_path: Path) -> None:
    start = time.monotonic()
    for _ in range(50):
        RunLock(tmp_path / "x.lock").acquire().release()
    assert time.monotonic() - start < 2.0
