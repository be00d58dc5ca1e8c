"""The analytics steps of ``ctxrisk run``: hot spots, emerging hot spots, locations of concern, graph marts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ctxrisk.jobs.steps import StepContext, StepOutput

log = logging.getLogger(__name__)

HOTSPOTS = "hotspots"
EMERGING = "emerging hotspots"
LOCATIONS = "locations of concern"
GRAPH = "association graph"


# The hot spot step's Gi* run, kept (without its events) for the locations step of the same run, which
# would otherwise repeat the identical analysis. Keyed by run id; taken by the step that uses it.
_KEPT_HOTSPOTS: dict[str, Any] = {}


def _events_present(ctx: StepContext) -> bool:
    """True when the warehouse holds at least one located event (stops at the first)."""
    return (
        ctx.con.execute("select count(*) from (select 1 from staging.events where located limit 1)").fetchone()[0] > 0
    )


def hotspots_step(ctx: StepContext) -> StepOutput:
    """Gi* on H3 cells at the configured resolution, all themes, the whole period -> ``marts.hotspots``."""
    from ctxrisk.analytics.hotspots import run_hotspots

    if not _events_present(ctx):
        return StepOutput(rows=0, detail="no located events yet: nothing to analyse")
    result = run_hotspots(ctx.con, settings=ctx.settings, unit=f"h3:{ctx.settings.hotspots.h3_resolution}")
    _keep_hotspots(ctx.run_id, result)
    frame = result.frame
    hot = int((frame["bin"] > 0).sum())
    cold = int((frame["bin"] < 0).sum())
    return StepOutput(
        rows=len(frame),
        detail=f"{len(frame):,} cells: {hot:,} hot, {cold:,} cold (q < alpha). {result.selection.note()}",
    )


def _keep_hotspots(run_id: str, result: Any) -> None:
    """Keep the run's Gi* result for the locations step: the statistic and units, not the events."""
    import dataclasses

    from ctxrisk.analytics.events import EventSelection

    _KEPT_HOTSPOTS.clear()  # one run per process at a time; nothing of an earlier run is kept
    sel = result.selection
    slim = EventSelection(sel.events.iloc[0:0].copy(), dict(sel.excluded), dict(sel.filters))
    _KEPT_HOTSPOTS[run_id] = dataclasses.replace(result, selection=slim)


def emerging_step(ctx: StepContext) -> StepOutput:
    """Emerging hot spot categories on the unit x month cube -> ``marts.emerging_hotspots``."""
    from ctxrisk.analytics.emerging import CATEGORIES
    from ctxrisk.analytics.hotspots import run_emerging

    if not _events_present(ctx):
        return StepOutput(rows=0, detail="no located events yet: nothing to analyse")
    result = run_emerging(ctx.con, settings=ctx.settings, unit=f"h3:{ctx.settings.hotspots.h3_resolution}")
    frame = result.frame
    no_pattern = CATEGORIES[-1]
    counts = frame["category"].value_counts()
    patterns = ", ".join(f"{n:,} {name}" for name, n in counts.items() if name != no_pattern)
    return StepOutput(rows=len(frame), detail=f"{len(frame):,} cells; {patterns or 'no pattern anywhere'}")


def locations_step(ctx: StepContext) -> StepOutput:
    """Profiles and the ranked ``marts.locations_of_concern``."""
    from ctxrisk.analytics.locations import run_locations

    if not _events_present(ctx):
        return StepOutput(rows=0, detail="no located events yet: nothing to rank")
    result = run_locations(ctx.con, settings=ctx.settings, hotspots=_KEPT_HOTSPOTS.pop(ctx.run_id, None))
    return StepOutput(rows=len(result.frame), detail=f"{len(result.frame):,} locations of concern ranked")


def graph_step(ctx: StepContext) -> StepOutput:
    """Build the association graph and write adults of concern, groups, centrality and at-risk children.

    The graph is held as arrays (:func:`ctxrisk.analytics.graph.build.build_arrays`), on which every
    analysis runs; no networkx graph is made.
    """
    import gc

    from ctxrisk.analytics.graph import load_graph_inputs
    from ctxrisk.analytics.graph.build import build_arrays
    from ctxrisk.analytics.graph.marts import graph_marts
    from ctxrisk.pipelines.warehouse import write_mart

    settings = ctx.settings
    inputs = load_graph_inputs(ctx.con)
    arrays = build_arrays(inputs, half_life_days=settings.graph.recency_half_life_days)
    del inputs  # the tables are coded into the arrays: free them before the marts
    gc.collect()
    if arrays.n_nodes == 0:
        return StepOutput(rows=0, detail="no persons linked yet: no graph")
    marts = graph_marts(
        arrays,
        min_children=settings.graph.min_children,
        alpha=settings.graph.alpha,
        exact_max_nodes=settings.graph.exact_betweenness_max_nodes,
    )
    adults = marts["graph_adults_of_concern"]
    rows = 0
    for name, frame in marts.items():
        rows += write_mart(ctx.con, name, _flatten(frame))
    flagged = int(adults["flagged"].sum())
    detail = f"{arrays.n_nodes:,} persons, {arrays.n_edges:,} links; {flagged:,} adults flagged (more than chance)"
    return StepOutput(rows=rows, detail=detail)


def _flatten(frame: Any) -> Any:
    """Lists, sets and dicts in cells become JSON text so the mart keeps them."""
    import json

    out = frame.reset_index(drop=True).copy()
    for column in out.columns:
        if out[column].dtype == object and out[column].map(lambda v: isinstance(v, list | set | tuple | dict)).any():
            out[column] = out[column].map(
                lambda v: (
                    json.dumps(sorted(v) if isinstance(v, set) else v, default=str)
                    if isinstance(v, list | set | tuple | dict)
                    else v
                )
            )
    return out


def register_steps(register: Callable[..., Any]) -> None:
    """Add the analytics steps to ``ctxrisk run`` (called by :func:`ctxrisk.jobs.builtin.builtin_steps`)."""
    # The graph reads only ingested tables and nothing after it reads its marts, so it starts first and,
    # with [run] concurrent_steps, runs beside the hot spot, map and report steps.
    register(GRAPH, graph_step, concurrent=True)
    register(HOTSPOTS, hotspots_step, after=GRAPH)
    register(EMERGING, emerging_step, after=HOTSPOTS)
    register(LOCATIONS, locations_step, after=EMERGING)
