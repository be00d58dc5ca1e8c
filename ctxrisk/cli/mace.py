"""``ctxrisk mace``: the children a MACE panel should discuss and why (MACE 1), and the places list (MACE 2)."""

from __future__ import annotations

from functools import partial

import typer

from ctxrisk.cli.common import ConfigOpt, WarehouseOpt, check_format
from ctxrisk.cli.hotspots import SinceOpt, UntilOpt, say
from ctxrisk.cli.missing import FORMATS, FormatOpt, FreshGraphOpt, LimitOpt, make_list, with_age_text, write

app = typer.Typer(
    help="The MACE list: children meeting any [mace] indicator, with the evidence (OFFICIAL-SENSITIVE, never in "
    "the steering edition), and `mace places` for MACE 2. See docs/missing.md.",
    add_completion=False,
)


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
    from ctxrisk.analytics.protect.mace import mace_list

    check_format(fmt, FORMATS)
    make = partial(mace_list, since=since, until=until)
    _, result = make_list("mace", make, config=config, warehouse=warehouse, fmt=fmt, fresh_graph=fresh_graph)
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
    from ctxrisk.analytics.protect.mace import mace_list, mace_places

    check_format(fmt, FORMATS)
    make = partial(mace_list, since=since, until=until)
    settings, result = make_list(
        "mace places", make, config=config, warehouse=warehouse, fmt=fmt, fresh_graph=fresh_graph
    )
    frame = mace_places(result, settings=settings)
    write(frame, fmt=fmt, title="MACE places: locations of concern", table_columns=None, limit=limit)
    if result.places is None or not result.places.assessed:
        say("No locations of concern in the warehouse: run `ctxrisk locations` first.", fmt)
