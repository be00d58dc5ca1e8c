"""``ctxrisk locations``: the ranked locations of concern with each part of their score, and their profiles."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ctxrisk.cli.common import ConfigOpt, WarehouseOpt, check_format, console, fail, warehouse_session
from ctxrisk.cli.hotspots import (
    FormatOpt,
    KOpt,
    MartOpt,
    OutOfAreaOpt,
    PermOpt,
    SeedOpt,
    SinceOpt,
    SourceOpt,
    ThemeOpt,
    UnitOpt,
    UntilOpt,
    say,
)

app = typer.Typer(
    help="Ranked locations of concern (Gi* hot spot peaks and places with repeat found-at episodes or graded "
    "intelligence), with the parts of each score. See docs/hotspots.md.",
    add_completion=False,
)

#: The score and its weighted parts, which add up to it.
SCORE_OUT = [
    "score",
    "score_hotspot",
    "score_events",
    "score_children",
    "score_repeat_found",
    "score_intelligence",
    "score_searches",
    "score_trend",
]
LOCATION_OUT = [
    "rank",
    "unit_id",
    "name",
    *SCORE_OUT,
    "z",
    "q",
    "count",
    "distinct_children",
    "repeat_found_at",
    "intelligence_graded",
    "searches_of_children",
    "trend",
    "themes",
    "first_seen",
    "last_seen",
    "ward_name",
    "lsoa_code",
    "imd_decile",
    "profile_excluded",
    "latitude",
    "longitude",
    "candidate_reason",
]
TABLE_OUT = ["rank", "name", *SCORE_OUT]


def empty_sentence(result) -> str:
    """The sentence shown when no place is a location of concern (the table is then empty, exit 0)."""
    alpha = result.hotspots.gistar.alpha if result.hotspots.gistar is not None else None
    level = f" at FDR q < {alpha:g}" if alpha is not None else ""
    return (
        f"No location of concern: no unit is a Gi* hot spot{level}, and no place has enough repeat "
        "found-at episodes or graded intelligence to be listed (\\[locations] min_repeat_found, "
        "min_graded_intelligence)."
    )


@app.callback(invoke_without_command=True)
def locations(
    ctx: typer.Context,
    top: Annotated[
        int | None,
        typer.Option(
            "--top", help="How many places to show (default \\[locations] top); every candidate goes to the mart."
        ),
    ] = None,
    rank_by: Annotated[
        str,
        typer.Option(
            "--rank-by",
            help="concern (Gi* peaks and other signals by score) or where-next (the forecast: past events, then "
            "Gi* z; it beat Gi* flags in the back-tests, see `ctxrisk hotspots backtest`).",
        ),
    ] = "concern",
    unit: UnitOpt = None,
    theme: ThemeOpt = None,
    source: SourceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    include_out_of_area: OutOfAreaOpt = False,
    permutations: PermOpt = None,
    seed: SeedOpt = None,
    k: KOpt = None,
    fmt: FormatOpt = "table",
    mart: MartOpt = True,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Rank locations of concern (marts.locations_of_concern) and profile them (marts.location_profiles).

    score = sum of weight x part / largest part; the score_* columns are those weighted parts and add up to the
    score. The weekday x hour profile counts minute-precision events only; the number left out is shown.
    """
    if ctx.invoked_subcommand is not None:
        return
    from ctxrisk.analytics.locations import run_locations
    from ctxrisk.cli.formats import emit

    check_format(fmt)
    with warehouse_session(config=config, warehouse=warehouse) as (settings, con):
        result = run_locations(
            con,
            settings=settings,
            theme=theme,
            source=source,
            since=since,
            until=until,
            include_out_of_area=include_out_of_area,
            permutations=permutations,
            seed=seed,
            k_ring=k,
            unit=unit,
            rank_by=rank_by,
            write=mart,
        )
    n = settings.locations.top if top is None else top
    if n < 1:
        raise fail(ValueError(f"--top must be at least 1, got {n}"))
    frame = result.frame.head(n)
    cols = TABLE_OUT if fmt == "table" else LOCATION_OUT
    if fmt == "geojson":
        import h3
        import shapely

        frame = frame.assign(
            geometry_wkt=[shapely.Polygon([(b, a) for a, b in h3.cell_to_boundary(c)]).wkt for c in frame["unit_id"]]
        )
    emit(
        frame,
        fmt=fmt,
        out=sys.stdout,
        console=console,
        columns=cols,
        title=f"Locations of concern (top {len(frame):,} of {len(result.frame):,})",
    )
    if result.frame.empty:
        say(empty_sentence(result), fmt)
    say(
        result.note()
        + (
            f" Written to marts.locations_of_concern and marts.location_profiles (run {result.run_id})." if mart else ""
        ),
        fmt,
    )
