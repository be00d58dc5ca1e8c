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


def _parameters(ctx: StepContext) -> Any:
    """The hot spot parameters of the run: ``[hotspots]`` resolved once, as the CLI does."""
    from ctxrisk.analytics.parameters import HotspotParameters

    return HotspotParameters.from_settings(ctx.settings)


def _events_present(ctx: StepContext) -> bool:
    """True when the warehouse holds at least one located event (stops at the first)."""
    return (
        ctx.con.execute("select count(*) from (select 1 from staging.events where located limit 1)").fetchone()[0] > 0
    )


def hotspots_step(ctx: StepContext) -> StepOutput:
    """Gi* on the configured unit (``auto``: chosen from the data), all themes, the whole period ->
    ``marts.hotspots``; per calendar quarter on the same units -> ``marts.hotspot_periods``; and per theme,
    whole run and quarters, on the same units -> ``marts.hotspot_themes`` (the steering map's theme filter)."""
    from ctxrisk.analytics.hotspot_themes import periods_of, run_theme_hotspots
    from ctxrisk.analytics.hotspots import run_hotspot_periods, run_hotspots

    if not _events_present(ctx):
        return StepOutput(rows=0, detail="no located events yet: nothing to analyse")
    params = _parameters(ctx)
    result = run_hotspots(ctx.con, params, settings=ctx.settings)
    frame = result.frame
    if result.mart == "point_clusters":
        return StepOutput(rows=len(frame), detail=f"{len(frame):,} point clusters. {result.selection.note()}")
    same_units = params.replace(unit=result.parameters["unit"])
    periods = run_hotspot_periods(ctx.con, same_units, settings=ctx.settings)
    max_units = int(ctx.settings.hotspots.theme_max_units)
    if len(frame) <= max_units:
        themes = run_theme_hotspots(ctx.con, same_units, settings=ctx.settings, periods=periods_of(periods))
        theme_rows = len(themes)
        theme_note = f"{themes['theme'].nunique() if theme_rows else 0:,} theme(s) in marts.hotspot_themes. "
    else:  # a safety limit far above a partnership's region (the exact theme tests cost little per unit)
        theme_rows = 0
        ctx.con.execute("delete from marts.hotspot_themes")
        theme_note = (
            f"per-theme hot spots not computed ({len(frame):,} units, more than [hotspots] theme_max_units "
            f"= {max_units:,}; `ctxrisk hotspots periods` computes them). "
        )
    alpha = float(result.parameters.get("alpha") or 0.05)
    hot = int(((frame["q"] < alpha) & (frame["z"] > 0)).sum())
    cold = int(((frame["q"] < alpha) & (frame["z"] < 0)).sum())
    binned = f"{int((frame['bin'] > 0).sum()):,} hot and {int((frame['bin'] < 0).sum()):,} cold at 90% or more"
    return StepOutput(
        rows=len(frame) + len(periods) + theme_rows,
        detail=f"{len(frame):,} {result.parameters['unit']} cells: {hot:,} hot, {cold:,} cold (q < {alpha:g}; "
        f"{binned}, as the map draws them); "
        f"{periods['period'].nunique() if len(periods) else 0:,} quarter(s) in marts.hotspot_periods; "
        f"{theme_note}{result.selection.note()}",
    )


def emerging_step(ctx: StepContext) -> StepOutput:
    """Emerging hot spot categories on the unit x month cube, on the hot spot step's unit ->
    ``marts.emerging_hotspots``."""
    from ctxrisk.analytics.emerging import CATEGORIES
    from ctxrisk.analytics.hotspots import load_hotspots, run_emerging

    if not _events_present(ctx):
        return StepOutput(rows=0, detail="no located events yet: nothing to analyse")
    unit = str(load_hotspots(ctx.con).parameters.get("unit") or "auto")
    if unit == "points":
        return StepOutput(rows=0, detail="the hot spot unit is points: no emerging hot spots")
    result = run_emerging(ctx.con, _parameters(ctx).replace(unit=unit), settings=ctx.settings)
    frame = result.frame
    no_pattern = CATEGORIES[-1]
    counts = frame["category"].value_counts()
    patterns = ", ".join(f"{n:,} {name}" for name, n in counts.items() if name != no_pattern)
    return StepOutput(rows=len(frame), detail=f"{len(frame):,} cells; {patterns or 'no pattern anywhere'}")


def locations_step(ctx: StepContext) -> StepOutput:
    """Profiles and the ranked ``marts.locations_of_concern``, from the hot spots in ``marts.hotspots``."""
    from ctxrisk.analytics.hotspots import load_hotspots
    from ctxrisk.analytics.locations import run_locations

    if not _events_present(ctx):
        return StepOutput(rows=0, detail="no located events yet: nothing to rank")
    hot = load_hotspots(ctx.con)
    if not str(hot.parameters.get("unit") or "").startswith("h3:"):
        return StepOutput(rows=0, detail="the hot spot unit is not H3 cells: places are not ranked")
    result = run_locations(ctx.con, _parameters(ctx), settings=ctx.settings, hotspots=hot)
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
