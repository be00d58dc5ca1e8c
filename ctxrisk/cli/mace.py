"""``ctxrisk mace``: the children a MACE panel should discuss and why (MACE 1), and the places list (MACE 2)."""

from __future__ import annotations

import typer

from ctxrisk.cli.common import with_options
from ctxrisk.cli.hotspots import say
from ctxrisk.cli.missing import LIST_OPTIONS, ListOptions, with_age_text

app = typer.Typer(
    help="The MACE list: children meeting any \\[mace] indicator, with the evidence (OFFICIAL-SENSITIVE, never in "
    "the steering edition), and `mace places` for MACE 2. See docs/missing.md.",
    add_completion=False,
)


@app.callback(invoke_without_command=True)
@with_options(LIST_OPTIONS, param="opts", into=ListOptions)
def mace(ctx: typer.Context, opts: ListOptions) -> None:
    """Children meeting any configured indicator, each naming the indicators met and the evidence (event IDs,
    dates, gradings); most and strongest indicators first."""
    if ctx.invoked_subcommand is not None:
        return
    from ctxrisk.analytics.protect.mace import mace_list

    _, result = opts.make_list("mace", mace_list)
    frame = with_age_text(result.frame)
    evidence = [c for c in frame.columns if c.startswith("evidence_")]
    shown = ["rank", "person_id", "age", "looked_after", "indicators", "strength", "indicators_met", *evidence]
    opts.write(frame, title="MACE list: children at risk of exploitation", table_columns=shown)
    say(" ".join(result.notes) or "Every configured indicator was assessed.", opts.fmt)


@app.command("places")
@with_options(LIST_OPTIONS, param="opts", into=ListOptions)
def places_cmd(opts: ListOptions) -> None:
    """MACE 2: each location of concern with the children linked to it in the window (exact counts)."""
    from ctxrisk.analytics.protect.mace import mace_list, mace_places

    settings, result = opts.make_list("mace places", mace_list)
    frame = mace_places(result, settings=settings)
    opts.write(frame, title="MACE places: locations of concern", table_columns=None)
    if result.places is None or not result.places.assessed:
        say("No locations of concern in the warehouse: run `ctxrisk locations` first.", opts.fmt)
