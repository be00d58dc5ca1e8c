"""``ctxrisk mace``: the children a MACE panel should discuss and why (MACE 1), and the places list (MACE 2)."""

from __future__ import annotations

import typer

from ctxrisk.cli.hotspots import ConfigOpt, SinceOpt, UntilOpt, WarehouseOpt, fail, say
from ctxrisk.cli.missing import (
    FormatOpt,
    FreshGraphOpt,
    LimitOpt,
    check_format,
    flagged_for,
    open_for_list,
    record,
    with_age_text,
    write,
)
from ctxrisk.pipelines.errors import CtxriskError

app = typer.Typer(
    help="The MACE list: children meeting any [mace] indicator, with the evidence (OFFICIAL-SENSITIVE, never in "
    "the steering edition), and `mace places` for MACE 2. See docs/missing.md.",
    add_completion=False,
)


def _result(config, warehouse, since, until, fresh_graph: bool, action: str, fmt: str):
    from ctxrisk.analytics.protect.mace import mace_list

    settings, con = open_for_list(config, warehouse)
    try:
        flagged = flagged_for(con, settings, fresh_graph)
        result = mace_list(con, settings=settings, since=since, until=until, flagged=flagged)
        record(con, action, fmt, len(result.frame))
        return settings, result
    finally:
        con.close()


@app.callback(invoke_without_command=True)
def mace(
    ctx: typer.Context,
    since: SinceOpt = None,
    until: UntilOpt = None,
    fmt: FormatOpt = "table",
    limit: LimitOpt = 50,
    fresh_graph: FreshGraphOpt = False,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Children meeting any configured indicator, each naming the indicators met and the evidence (event IDs,
    dates, gradings); most and strongest indicators first."""
    if ctx.invoked_subcommand is not None:
        return
    check_format(fmt)
    try:
        settings, result = _result(config, warehouse, since, until, fresh_graph, "mace", fmt)
    except CtxriskError as exc:
        raise fail(exc) from exc
    frame = with_age_text(result.frame)
    evidence = [c for c in frame.columns if c.startswith("evidence_")]
    shown = ["rank", "person_id", "age", "looked_after", "indicators", "strength", "indicators_met", *evidence]
    write(frame, fmt=fmt, title="MACE list: children at risk of exploitation", table_columns=shown, limit=limit)
    say(" ".join(result.notes) or "Every configured indicator was assessed.", fmt)


@app.command("places")
def places_cmd(
    since: SinceOpt = None,
    until: UntilOpt = None,
    fmt: FormatOpt = "table",
    limit: LimitOpt = 50,
    fresh_graph: FreshGraphOpt = False,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """MACE 2: each location of concern with the children linked to it in the window (exact counts)."""
    from ctxrisk.analytics.protect.mace import mace_places

    check_format(fmt)
    try:
        settings, result = _result(config, warehouse, since, until, fresh_graph, "mace places", fmt)
    except CtxriskError as exc:
        raise fail(exc) from exc
    frame = mace_places(result, settings=settings)
    write(frame, fmt=fmt, title="MACE places: locations of concern", table_columns=None, limit=limit)
    if result.places is None or not result.places.assessed:
        say("No locations of concern in the warehouse: run `ctxrisk locations` first.", fmt)
