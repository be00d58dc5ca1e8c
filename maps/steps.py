"""Run steps for maps: ``ctxrisk run`` writes the steering-group map after the hot spot and location analytics."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

__all__ = ["STEERING_OUTPUT", "register_steps", "steering_map_step"]

logger = logging.getLogger(__name__)

#: Where the run writes the steering map, under ``settings.paths.output_dir``.
STEERING_OUTPUT = "maps/steering.html"


def steering_map_step(ctx: Any) -> Any:
    """Write ``<output_dir>/maps/steering.html`` from the marts (atomic, owner-only, audited as ``steering``).

    Parameters
    ----------
    ctx : pipelines.jobs.StepContext

    Returns
    -------
    pipelines.jobs.StepOutput
        ``rows`` = places of concern drawn; ``detail`` = what the page draws and its size.

    Raises
    ------
    ValidationError
        When the hot spot marts are missing (the message says to run ``ctxrisk hotspots`` first).
    """
    from maps.cli import steering_page
    from pipelines.jobs import StepOutput

    page = steering_page(ctx.con, settings=ctx.settings)
    detail = f"{page.summary}; {len(page.html.encode('utf-8')):,} bytes"
    ctx.write_output(STEERING_OUTPUT, page.html, action="map", edition="steering", detail=detail)
    logger.info("steering map step: %s", detail)
    return StepOutput(rows=len(page.inputs.locations), detail=detail)


def register_steps(register: Callable[..., Any]) -> None:
    """Register the ``steering map`` step with :func:`pipelines.jobs.register_step` (it runs after analytics)."""
    register("steering map", steering_map_step)
