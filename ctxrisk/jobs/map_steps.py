"""Run steps for maps: ``ctxrisk run`` writes the steering-group map after the hot spot and location analytics."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

__all__ = ["REPORT_OUTPUT", "STEERING_OUTPUT", "register_steps", "report_step", "steering_map_step"]

logger = logging.getLogger(__name__)

#: Where the run writes the steering map, under ``settings.paths.output_dir``.
STEERING_OUTPUT = "maps/steering.html"
#: Where the run writes the outcome report, under ``settings.paths.output_dir``.
REPORT_OUTPUT = "reports/report.html"


def steering_map_step(ctx: Any) -> Any:
    """Write ``<output_dir>/maps/steering.html`` from the marts (atomic, owner-only, audited as ``steering``).

    Parameters
    ----------
    ctx : ctxrisk.jobs.run.StepContext

    Returns
    -------
    ctxrisk.jobs.run.StepOutput
        ``rows`` = places of concern drawn; ``detail`` = what the page draws and its size.

    Raises
    ------
    ValidationError
        When the hot spot marts are missing (the message says to run ``ctxrisk hotspots`` first).
    """
    from ctxrisk.jobs.run import StepOutput
    from ctxrisk.maps.steering_page import steering_page

    page = steering_page(ctx.con, settings=ctx.settings)
    detail = f"{page.summary}; {len(page.html.encode('utf-8')):,} bytes"
    ctx.write_output(STEERING_OUTPUT, page.html, action="map", edition="steering", detail=detail)
    logger.info("steering map step: %s", detail)
    return StepOutput(rows=len(page.inputs.locations), detail=detail)


def report_step(ctx: Any) -> Any:
    """Write ``<output_dir>/reports/report.html``: the latest quarter against the one before (audited as ``steering``).

    Parameters
    ----------
    ctx : ctxrisk.jobs.run.StepContext

    Returns
    -------
    ctxrisk.jobs.run.StepOutput
        ``detail`` = the period reported on and the page's size.
    """
    from ctxrisk.jobs.run import StepOutput
    from ctxrisk.maps.indicators import default_period, incident_facts
    from ctxrisk.maps.report import build_report

    facts = incident_facts(ctx.con)  # one pass over the incidents, shared by the period and the page
    period = default_period(ctx.con, facts=facts)
    html = build_report(ctx.con, period=period, settings=ctx.settings, facts=facts)
    detail = f"period {period.label}; {len(html.encode('utf-8')):,} bytes"
    ctx.write_output(REPORT_OUTPUT, html, action="report", edition="steering", detail=detail)
    logger.info("report step: %s", detail)
    return StepOutput(detail=detail)


def register_steps(register: Callable[..., Any]) -> None:
    """Add the ``steering map`` and ``report`` steps with ``register`` (``StepList.register``)."""
    register("steering map", steering_map_step)
    register("report", report_step, after="steering map")
