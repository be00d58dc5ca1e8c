"""Measuring a subprocess (wall time, peak memory of its tree, load) and describing the machine."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from harness_common import PACKAGES, ROOT, log

# --------------------------------------------------------------------------------------------------------------
# Measuring a subprocess: wall time, peak memory of its process tree, load average


@dataclass
class Measured:
    """One measured subprocess.

    Attributes
    ----------
    seconds : float
        Wall-clock time from start to exit.
    peak_rss_bytes : int
        The larger of the polled peak of the summed RSS of the process and all its descendants and the
        kernel's ``ru_maxrss`` for the process (the largest single process).
    polled_peak_rss_bytes, maxrss_bytes : int
        Both measures separately.
    returncode : int
    load_average : dict
        ``min``, ``mean``, ``max`` of the 1-minute load average sampled while it ran.
    cpu_seconds : float
        User + system CPU time of the process and the descendants it waited for (``wait4`` rusage). On a
        shared machine this is the steadier measure: wall time ≈ CPU time when the work is single-threaded.
    timed_out : bool
        Stopped by the ``timeout`` of :func:`run_measured`.
    stdout : str
    """

    seconds: float
    peak_rss_bytes: int
    polled_peak_rss_bytes: int
    maxrss_bytes: int
    returncode: int
    load_average: dict[str, float]
    cpu_seconds: float = 0.0
    timed_out: bool = False
    stdout: str = field(repr=False, default="")

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "stdout"}


def _tree_rss(proc: Any) -> int:
    import psutil

    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in members:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def _load_summary(samples: Sequence[float]) -> dict[str, float]:
    if not samples:
        samples = [os.getloadavg()[0]]
    return {"min": round(min(samples), 2), "mean": round(sum(samples) / len(samples), 2), "max": round(max(samples), 2)}


def run_measured(
    cmd: Sequence[str],
    *,
    cwd: Path | None = None,
    log_path: Path | None = None,
    interval: float = 0.2,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    max_rss_bytes: int | None = None,
) -> Measured:
    """Run ``cmd``; measure wall time, peak memory of its process tree and the load average meanwhile.

    Parameters
    ----------
    cmd : sequence of str
    cwd : Path or None
    log_path : Path or None
        Where its standard error goes (else discarded).
    interval : float
        Seconds between memory polls (the load average is sampled every 25 polls).
    env : dict or None
        Extra environment variables.
    timeout : float or None
        Seconds after which the process group is sent SIGTERM (``ctxrisk run`` rolls back to its last
        commit and exits 143); ``Measured.timed_out`` is then True.
    max_rss_bytes : int or None
        Stop the process group (SIGTERM, SIGKILL 30 s later) when the tree's RSS passes this, to protect a
        shared machine; ``Measured.timed_out`` is then True and ``peak_rss_bytes`` shows the level reached.
    """
    import signal

    import psutil

    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    err = open(log_path, "w", encoding="utf-8") if log_path else subprocess.DEVNULL
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as out:
        began = time.perf_counter()
        popen = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            stdout=out,
            stderr=err,
            env=full_env,
            start_new_session=timeout is not None or max_rss_bytes is not None,
        )
        proc = psutil.Process(popen.pid)
        peak = 0
        loads: list[float] = []
        done = threading.Event()
        status: dict[str, Any] = {}

        def wait() -> None:
            _, code, usage = os.wait4(popen.pid, 0)
            status["code"] = os.waitstatus_to_exitcode(code)
            status["maxrss"] = usage.ru_maxrss * 1024  # kilobytes on Linux
            status["cpu"] = usage.ru_utime + usage.ru_stime
            status["ended"] = time.perf_counter()
            done.set()

        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        polls = 0
        timed_out = False
        stopped_at = None
        while not done.is_set():
            peak = max(peak, _tree_rss(proc))
            over_time = timeout is not None and time.perf_counter() - began > timeout
            over_memory = max_rss_bytes is not None and peak > max_rss_bytes
            if (over_time or over_memory) and not timed_out:
                timed_out = True
                stopped_at = time.perf_counter()
                log.warning(
                    "stopping %s: %s",
                    cmd[0],
                    f"after {timeout:.0f} s (timeout)"
                    if over_time
                    else f"memory {peak / 1e9:.1f} GB over the {max_rss_bytes / 1e9:.1f} GB cap",
                )
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(popen.pid, signal.SIGTERM)
            elif timed_out and stopped_at is not None and time.perf_counter() - stopped_at > 30:
                stopped_at = None
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(popen.pid, signal.SIGKILL)
            if polls % 25 == 0:
                loads.append(os.getloadavg()[0])
            polls += 1
            done.wait(interval)
        waiter.join()
        popen.returncode = status["code"]
        out.seek(0)
        stdout = out.read()
    if log_path:
        err.close()
    return Measured(
        seconds=round(status["ended"] - began, 3),
        peak_rss_bytes=max(peak, status["maxrss"]),
        polled_peak_rss_bytes=peak,
        maxrss_bytes=status["maxrss"],
        returncode=status["code"],
        load_average=_load_summary(loads),
        cpu_seconds=round(status["cpu"], 2),
        timed_out=timed_out,
        stdout=stdout,
    )


def _ctxrisk() -> str:
    exe = Path(sys.executable).with_name("ctxrisk")
    return str(exe) if exe.exists() else "ctxrisk"


# --------------------------------------------------------------------------------------------------------------
# Machine, growth and goals


def git_state() -> str | None:
    """``<commit>`` or ``<commit>+dirty`` of the checkout being measured (None outside git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def _lscpu_model() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return platform.processor() or platform.machine()
    for line in text.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """CPU model (``lscpu``), cores, RAM, OS, Python, key package versions and Chromium's version."""
    mem = 0
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    chromium = None
    if shutil.which("chromium"):
        chromium = (
            subprocess.run(["chromium", "--version"], capture_output=True, text=True, check=False).stdout.strip()
            or None
        )
    return {
        "cpu_model": _lscpu_model(),
        "cores": os.cpu_count(),
        "ram_bytes": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "chromium": chromium,
    }
