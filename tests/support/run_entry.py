"""Test-only ``ctxrisk`` entry point: two small steps instead of the built-in ones, and an injected pause hook.

Usage: ``python run_entry.py POINT SIGNAL_FILE <ctxrisk arguments>``. When the run reaches ``POINT`` it writes
the point's name to ``SIGNAL_FILE`` and sleeps there, so a test can kill it at a known place (``-`` for no
pause). The points are listed at :data:`ctxrisk.jobs.steps.PauseHook`.
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path

import pandas as pd

from ctxrisk.jobs.steps import PauseHook, Step, StepContext, StepList, no_pause
from ctxrisk.pipelines.warehouse import write_mart


def count(ctx: StepContext) -> int:
    """A mart of the incident count."""
    n = ctx.con.execute("select count(*) from raw.incidents").fetchone()[0]
    write_mart(ctx.con, "kill_test", pd.DataFrame({"incidents": [n]}))
    return 1


def report(ctx: StepContext) -> int:
    """A report file made from that mart."""
    n = ctx.con.execute("select incidents from marts.kill_test").fetchone()[0]
    ctx.write_output("report.txt", f"incidents {n}\n", action="report")
    return 1


def count_and_report_steps() -> list[Step]:
    """The two steps, ``report`` requiring ``count``."""
    plan = StepList()
    plan.register("count", count)
    plan.register("report", report, requires=["count"])
    return plan.steps


def pause_at(point: str, signal_file: Path, seconds: float = 60.0) -> PauseHook:
    """A pause hook that signals and sleeps at ``point`` only."""

    def pause(reached: str) -> None:
        if reached == point:
            signal_file.write_text(point, encoding="utf-8")
            time.sleep(seconds)

    return pause


def main() -> None:
    from ctxrisk.cli.main import main as ctxrisk_main
    from ctxrisk.jobs import run as jobs

    point, signal_file, *args = sys.argv[1:]
    pause = no_pause if point == "-" else pause_at(point, Path(signal_file))
    jobs.run_job = functools.partial(jobs.run_job, steps=count_and_report_steps(), pause=pause)
    sys.argv = ["ctxrisk", *args]
    ctxrisk_main()


if __name__ == "__main__":
    main()
