"""The steps every ``ctxrisk run`` has after its ingest steps: analytics, then the steering map and report."""

from __future__ import annotations

from ctxrisk.jobs import analytics_steps, map_steps
from ctxrisk.jobs.steps import Step, StepList


def builtin_steps() -> list[Step]:
    """The built-in steps in run order: association graph, hot spots, emerging hot spots, locations of
    concern, steering map, report."""
    plan = StepList()
    analytics_steps.register_steps(plan.register)
    map_steps.register_steps(plan.register)
    return plan.steps
