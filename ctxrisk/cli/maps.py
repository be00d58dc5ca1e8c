"""``ctxrisk map ...`` commands: self-contained, disclosure-controlled map pages made from the warehouse's marts."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from ctxrisk.cli.common import ConfigOpt, WarehouseOpt, console, warehouse_session
from ctxrisk.maps.steering_page import SteeringPage, make_steering_map, steering_page

__all__ = ["SteeringPage", "app", "make_steering_map", "steering_page"]

logger = logging.getLogger(__name__)

#: One help text for the group (``ctxrisk --help`` and ``ctxrisk map --help``): it names both editions.
MAP_HELP = (
    "Self-contained map pages: `steering` for the steering group (aggregates only, small numbers "
    "suppressed) and `intel`, the OFFICIAL-SENSITIVE association-graph explorer for intelligence "
    "officers and analysts."
)

app = typer.Typer(help=MAP_HELP, no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Self-contained map pages: `steering` for the steering group (aggregates only, small numbers
    suppressed) and `intel`, the OFFICIAL-SENSITIVE association-graph explorer for intelligence officers
    and analysts."""


def _register_other_pages() -> None:
    """Add the map commands that live in their own modules (``ctxrisk map intel``) where installed."""
    from ctxrisk.cli.intel import register_intel

    if "intel" not in {c.name for c in app.registered_commands}:
        register_intel(app)


@app.command("steering")
def steering(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write, e.g. output/maps/steering.html.")],
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help=(
                "Periods of the selector, comma-separated, first shown first: all (the hot spot mart's run), "
                "latest-quarter, previous-quarter, YYYY-Qn, YYYY[-MM[-DD]] or A..B. "
                "Default: all,latest-quarter,previous-quarter."
            ),
        ),
    ] = None,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    include_out_of_area: Annotated[
        bool,
        typer.Option(
            "--include-out-of-area",
            help="Also draw cells outside the loaded boundaries and keep out-of-area events in period re-runs.",
        ),
    ] = False,
    area: Annotated[
        str | None,
        typer.Option(
            "--area",
            help=(
                "The partnership's local authority districts, by ONS code or name, comma-separated "
                "(e.g. E06000049 or 'Cheshire East'). Default: the districts holding the hot spot run's events."
            ),
        ),
    ] = None,
) -> None:
    """Write the steering-group map: one self-contained HTML file, aggregates only, no network needed.

    Needs `ctxrisk hotspots` (Gi* and emerging hot spots) first; places of concern come from
    `ctxrisk locations` when it has been run.
    """
    with warehouse_session(config=config, warehouse=warehouse) as (settings, con):
        path, size, summary = make_steering_map(
            con, out, settings=settings, period=period, include_out_of_area=include_out_of_area, area=area
        )
    console.print(f"wrote {path} ({size / 1e6:.1f} MB): {summary}", highlight=False)


_register_other_pages()
