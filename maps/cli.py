"""``ctxrisk map ...`` commands: self-contained, disclosure-controlled map pages made from the warehouse's marts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from pipelines.errors import CtxriskError, LockError, SchemaVersionError

__all__ = ["SteeringPage", "app", "make_steering_map", "steering_page"]

logger = logging.getLogger(__name__)

app = typer.Typer(help="Self-contained map pages for the steering group (aggregates only).", no_args_is_help=True)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

@app.callback()
def _group() -> None:
    """Self-contained map pages for the steering group (aggregates only)."""


WarehouseOpt = Annotated[Path | None, typer.Option("--warehouse", help="DuckDB warehouse (default from settings).")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Settings TOML file (default ./ctxrisk.toml).")]


def _fail(exc: Exception) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
    if isinstance(exc, SchemaVersionError):
        return typer.Exit(3)
    if isinstance(exc, LockError):
        return typer.Exit(4)
    return typer.Exit(1)


@dataclass(frozen=True)
class SteeringPage:
    """A rendered steering map.

    Attributes
    ----------
    html : str
        The self-contained page.
    summary : str
        One line: areas, periods with their cell counts, emerging cells, places of concern.
    inputs : maps.steering_data.SteeringInputs
        What was drawn.
    """

    html: str
    summary: str
    inputs: Any


def steering_page(
    con,
    *,
    settings,
    period: str | None = None,
    include_out_of_area: bool = False,
    title: str = "Contextual safeguarding: places of concern",
) -> SteeringPage:
    """Build the steering map from the warehouse and render it as one self-contained page.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A warehouse holding ``marts.hotspots`` and ``marts.emerging_hotspots`` (and, for the places of
        concern, ``marts.locations_of_concern``).
    settings : pipelines.settings.Settings
    period : str or None
        Comma-separated selector periods (see :func:`maps.steering_data.resolve_periods`).
    include_out_of_area : bool
        See :func:`maps.steering_data.load_steering_inputs`.
    title : str
        Heading of the map's info box.

    Returns
    -------
    SteeringPage
    """
    from maps.selfcontained import render_self_contained
    from maps.steering_data import load_steering_inputs

    inputs = load_steering_inputs(con, settings=settings, period=period, include_out_of_area=include_out_of_area)
    fmap = inputs.build_map(settings=settings, title=title)
    html = render_self_contained(fmap, basemap_url=settings.maps.basemap_url)
    summary = (
        f"{len(inputs.boundaries):,} areas, {len(inputs.periods)} period(s) "
        f"({', '.join(f'{len(p.hotspots):,}' for p in inputs.periods)} hot/cold spot cells), "
        f"{len(inputs.emerging):,} emerging cells, {len(inputs.locations):,} places of concern"
    )
    return SteeringPage(html, summary, inputs)


def make_steering_map(
    con,
    out: Path,
    *,
    settings,
    period: str | None = None,
    include_out_of_area: bool = False,
    title: str = "Contextual safeguarding: places of concern",
) -> tuple[Path, int, str]:
    """Build the steering map (:func:`steering_page`), write it atomically (0600) and record it in ``meta.audit``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A writable warehouse (the audit row is written to it).
    out : Path
        The HTML file to write (its folder is created).
    settings, period, include_out_of_area, title
        As :func:`steering_page`.

    Returns
    -------
    (pathlib.Path, int, str)
        The written path, its size in bytes and a one-line summary.
    """
    from maps.selfcontained import write_html
    from pipelines.warehouse import audit

    page = steering_page(con, settings=settings, period=period, include_out_of_area=include_out_of_area, title=title)
    summary = page.summary
    path = write_html(page.html, out)
    size = len(page.html.encode("utf-8"))
    audit(con, "map", edition="steering", target=str(path), detail=f"{summary}; {size:,} bytes")
    logger.info("steering map %s: %s", path, summary)
    return path, size, summary


def _register_other_pages() -> None:
    """Add the map commands that live in their own modules (``ctxrisk map intel``) where installed."""
    try:
        from maps.intel_cli import register_intel
    except ModuleNotFoundError as exc:
        if exc.name != "maps.intel_cli":
            raise
        return
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
) -> None:
    """Write the steering-group map: one self-contained HTML file, aggregates only, no network needed.

    Needs `ctxrisk hotspots` (Gi* and emerging hot spots) first; places of concern come from
    `ctxrisk locations` when it has been run.
    """
    from pipelines.warehouse import connect

    try:
        from pipelines.cli import settings_from

        settings = settings_from(config, warehouse)
        con = connect(settings=settings)
        try:
            path, size, summary = make_steering_map(
                con, out, settings=settings, period=period, include_out_of_area=include_out_of_area
            )
        finally:
            con.close()
    except CtxriskError as exc:
        raise _fail(exc) from exc
    console.print(f"wrote {path} ({size / 1e6:.1f} MB): {summary}", highlight=False)


_register_other_pages()
