"""``ctxrisk hotspots ...``: Gi* hot spots, point clusters, emerging hot spots and back-tests, written to marts."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ctxrisk.cli.common import fail
from ctxrisk.pipelines.errors import CtxriskError

log = logging.getLogger(__name__)

app = typer.Typer(
    help="Locations of concern: Getis-Ord Gi* hot spots (FDR-controlled), point clusters, emerging hot spots "
    "and back-tests. See docs/hotspots.md.",
    add_completion=False,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

WarehouseOpt = Annotated[Path | None, typer.Option("--warehouse", help="DuckDB warehouse (default from settings).")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Settings TOML file (default ./ctxrisk.toml).")]
UnitOpt = Annotated[
    str,
    typer.Option(
        "--unit",
        help="h3[:RES] (default resolution from settings), a loaded "
        "boundary level (lsoa11, lsoa21, ward, msoa, lad), or points.",
    ),
]
ThemeOpt = Annotated[str | None, typer.Option("--theme", help="Theme(s) to keep, comma-separated (default all).")]
SourceOpt = Annotated[str | None, typer.Option("--source", help="Source(s) to keep, comma-separated (default all).")]
TypeOpt = Annotated[
    str | None,
    typer.Option(
        "--event-type",
        help="incident, missing, intelligence, stop_search (comma-separated) or all; default from settings (incident).",
    ),
]
SinceOpt = Annotated[str | None, typer.Option("--since", help="First local day kept: YYYY, YYYY-MM or YYYY-MM-DD.")]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="Last local day kept (inclusive): YYYY, YYYY-MM or YYYY-MM-DD.")
]
HoursOpt = Annotated[
    str | None,
    typer.Option(
        "--hours", help="Local time of day, e.g. 18-23 or 22-3 (hours inclusive); date-only events are then left out."
    ),
]
OutOfAreaOpt = Annotated[
    bool,
    typer.Option(
        "--include-out-of-area", help="Keep events outside every loaded boundary (default: left out, counted)."
    ),
]
WeightsOpt = Annotated[
    str | None, typer.Option("--weights", help="kring (H3 default), contiguity (polygon default) or distance.")
]
KOpt = Annotated[int | None, typer.Option("--k", help="H3 ring size (default [hotspots] k_ring = 2).")]
DistanceOpt = Annotated[
    float | None, typer.Option("--distance-m", help="Distance band in metres for --weights distance.")
]
PermOpt = Annotated[
    int | None, typer.Option("--permutations", help="Conditional permutations (default 999; 0: normal approximation).")
]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Seed of the permutations (default from settings).")]
AlphaOpt = Annotated[float | None, typer.Option("--alpha", help="FDR level (default 0.05).")]
FormatOpt = Annotated[str, typer.Option("--format", help="table, csv, json or geojson.")]
LimitOpt = Annotated[int, typer.Option("--limit", help="Rows shown in a table (every row goes to the mart).")]
MartOpt = Annotated[bool, typer.Option("--mart/--no-mart", help="Write the result to its mart (default yes).")]

HOTSPOT_OUT = [
    "unit_id",
    "unit_type",
    "name",
    "count",
    "z",
    "p",
    "q",
    "bin",
    "n_neighbours",
    "latitude",
    "longitude",
    "area_m2",
    "theme",
    "run_id",
]
HOTSPOT_TABLE = ["unit_id", "name", "count", "z", "p", "q", "bin"]
CLUSTER_TABLE = ["unit_id", "count", "latitude", "longitude", "area_m2"]
EMERGING_TABLE = ["unit_id", "category", "count", "n_hot", "n_cold", "trend"]
CLUSTER_OUT = [
    "unit_id",
    "unit_type",
    "count",
    "z",
    "p",
    "q",
    "bin",
    "latitude",
    "longitude",
    "area_m2",
    "centroid_easting",
    "centroid_northing",
    "noise_events",
    "theme",
    "run_id",
]
EMERGING_OUT = [
    "unit_id",
    "unit_type",
    "name",
    "category",
    "count",
    "n_hot",
    "n_cold",
    "final_bin",
    "final_z",
    "trend",
    "trend_tau",
    "trend_p",
    "latitude",
    "longitude",
    "time_bin",
    "theme",
    "run_id",
]


def open_warehouse(config: Path | None, warehouse: Path | None, *, write: bool = True):
    """Load settings (``--config``, then the root ``--config``) and open the warehouse."""
    from ctxrisk.pipelines.settings import load_settings
    from ctxrisk.pipelines.warehouse import connect

    if config is None:
        try:
            from ctxrisk.cli.common import State

            config = State.config
        except ImportError:  # pragma: no cover - the CLI module is always there
            config = None
    settings = load_settings(config, warehouse=warehouse)
    return settings, connect(settings.paths.warehouse, settings=settings, read_only=not write)


def say(note: str, fmt: str) -> None:
    """Print the note on what was used and left out: to stdout under a table, to stderr otherwise."""
    (console if fmt == "table" else err_console).print(note, highlight=False, markup=False)


def check_format(fmt: str) -> None:
    """Refuse an unknown --format before any work is done (exit 2)."""
    from ctxrisk.cli.formats import FORMATS

    if fmt not in FORMATS:
        err_console.print(f"[bold red]error:[/] --format must be one of {list(FORMATS)}, got {fmt!r}")
        raise typer.Exit(2)


@app.callback(invoke_without_command=True)
def hotspots(
    ctx: typer.Context,
    unit: UnitOpt = "h3",
    theme: ThemeOpt = None,
    source: SourceOpt = None,
    event_type: TypeOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    hours: HoursOpt = None,
    include_out_of_area: OutOfAreaOpt = False,
    weights: WeightsOpt = None,
    k: KOpt = None,
    distance_m: DistanceOpt = None,
    permutations: PermOpt = None,
    seed: SeedOpt = None,
    alpha: AlphaOpt = None,
    alternative: Annotated[
        str, typer.Option("--alternative", help="two-sided, greater (hot only) or less (cold only).")
    ] = "two-sided",
    min_cluster_size: Annotated[
        int | None, typer.Option("--min-cluster-size", help="HDBSCAN, for --unit points.")
    ] = None,
    all_rows: Annotated[bool, typer.Option("--all", help="Table: show every unit, not only flagged ones.")] = False,
    fmt: FormatOpt = "table",
    limit: LimitOpt = 30,
    mart: MartOpt = True,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Gi* hot and cold spots per unit (marts.hotspots), or HDBSCAN point clusters (marts.point_clusters).

    csv, json and geojson hold every unit of the study region (zero-count units included); the table shows the
    flagged units (q < alpha) by z. What was left out, and why, is printed (to stderr for csv/json/geojson).
    """
    if ctx.invoked_subcommand is not None:
        return
    from ctxrisk.analytics.hotspots import run_hotspots
    from ctxrisk.cli.formats import emit

    check_format(fmt)
    try:
        settings, con = open_warehouse(config, warehouse)
        try:
            result = run_hotspots(
                con,
                settings=settings,
                unit=unit,
                event_types=event_type,
                theme=theme,
                source=source,
                since=since,
                until=until,
                hours=hours,
                include_out_of_area=include_out_of_area,
                weights=weights,
                k_ring=k,
                distance_m=distance_m,
                permutations=permutations,
                seed=seed,
                alternative=alternative,
                alpha=alpha,
                min_cluster_size=min_cluster_size,
                write=mart,
            )
        finally:
            con.close()
    except CtxriskError as exc:
        raise fail(exc) from exc
    frame = result.frame
    if result.mart == "point_clusters":
        cols = CLUSTER_TABLE if fmt == "table" else CLUSTER_OUT
        shown = frame.sort_values("count", ascending=False)
        title = f"HDBSCAN point clusters ({len(frame):,})"
    else:
        cols = HOTSPOT_OUT
        if fmt == "table":
            cols = HOTSPOT_TABLE if frame["name"].notna().any() else [c for c in HOTSPOT_TABLE if c != "name"]
        shown = frame if all_rows or fmt != "table" else frame[frame["bin"] != 0]
        if fmt == "table":
            shown = shown.sort_values("z", ascending=False)
        title = f"Gi* hot and cold spots, {result.parameters['unit']}, {result.parameters['weights']}"
    emit(shown, fmt=fmt, out=sys.stdout, console=console, columns=cols, title=title, limit=limit)
    say(result.note() + (f"; written to marts.{result.mart} (run {result.run_id})" if mart else ""), fmt)


@app.command()
def emerging(
    unit: UnitOpt = "h3",
    time_bin: Annotated[
        str | None,
        typer.Option(
            "--time-bin", help="week or month (default from settings); weekly bins leave out month-only events."
        ),
    ] = None,
    theme: ThemeOpt = None,
    source: SourceOpt = None,
    event_type: TypeOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    hours: HoursOpt = None,
    include_out_of_area: OutOfAreaOpt = False,
    weights: WeightsOpt = None,
    k: KOpt = None,
    distance_m: DistanceOpt = None,
    window: Annotated[
        int | None, typer.Option("--window", help="Previous time steps in each bin's neighbourhood (default 1).")
    ] = None,
    permutations: PermOpt = None,
    seed: SeedOpt = None,
    alpha: AlphaOpt = None,
    inference: Annotated[
        str, typer.Option("--inference", help="permutation or analytic (normal approximation).")
    ] = "permutation",
    all_rows: Annotated[bool, typer.Option("--all", help="Table: also show units with no pattern.")] = False,
    fmt: FormatOpt = "table",
    limit: LimitOpt = 30,
    mart: MartOpt = True,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Emerging hot spots: space-time Gi* per unit x week/month with FDR per step, Mann-Kendall trend and
    the 17 categories (marts.emerging_hotspots, per-bin results in marts.emerging_bins)."""
    from ctxrisk.analytics.hotspots import run_emerging
    from ctxrisk.cli.formats import emit

    check_format(fmt)
    try:
        settings, con = open_warehouse(config, warehouse)
        try:
            run = run_emerging(
                con,
                settings=settings,
                unit=unit,
                time_bin=time_bin,
                event_types=event_type,
                theme=theme,
                source=source,
                since=since,
                until=until,
                hours=hours,
                include_out_of_area=include_out_of_area,
                weights=weights,
                k_ring=k,
                distance_m=distance_m,
                time_step_window=window,
                permutations=permutations,
                seed=seed,
                alpha=alpha,
                inference=inference,
                write=mart,
            )
        finally:
            con.close()
    except CtxriskError as exc:
        raise fail(exc) from exc
    frame = run.frame
    if fmt == "table":
        shown = frame if all_rows else frame[frame["category"] != "no pattern detected"]
        shown = shown.sort_values(["n_hot", "final_z"], ascending=False)
    else:
        shown = frame
    counts = frame["category"].value_counts()
    summary = ", ".join(f"{n:,} {c}" for c, n in counts.items())
    p = run.parameters
    emit(
        shown,
        fmt=fmt,
        out=sys.stdout,
        console=console,
        columns=EMERGING_TABLE if fmt == "table" else EMERGING_OUT,
        limit=limit,
        title=f"Emerging hot spots, {p['unit']} x {p['n_steps']} {p['time_bin']}s ({p['first_step']} to "
        f"{p['last_step']})",
    )
    say(
        f"{run.selection.note()}; categories: {summary}"
        + (f"; written to marts.emerging_hotspots and marts.emerging_bins (run {run.run_id})" if mart else ""),
        fmt,
    )


@app.command()
def backtest(
    train: Annotated[str, typer.Option("--train", help="Training period: YYYY, YYYY-MM, YYYY-MM-DD or A..B.")],
    test: Annotated[str, typer.Option("--test", help="Test period, same forms (usually the next period).")],
    unit: UnitOpt = "h3",
    theme: ThemeOpt = None,
    source: SourceOpt = None,
    event_type: TypeOpt = None,
    include_out_of_area: OutOfAreaOpt = False,
    weights: WeightsOpt = None,
    k: KOpt = None,
    distance_m: DistanceOpt = None,
    permutations: PermOpt = None,
    seed: SeedOpt = None,
    alpha: AlphaOpt = None,
    fmt: FormatOpt = "table",
    mart: MartOpt = True,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Flag Gi* hot spots from --train and report hit rate, PAI and PEI against --test events
    (marts.hotspot_backtest)."""
    from ctxrisk.analytics.hotspots import run_backtest
    from ctxrisk.cli.formats import emit

    check_format(fmt)
    if fmt == "geojson":
        err_console.print("[bold red]error:[/] a back-test has no geometry; use table, csv or json")
        raise typer.Exit(2)
    try:
        settings, con = open_warehouse(config, warehouse)
        try:
            run = run_backtest(
                con,
                settings=settings,
                train=train,
                test=test,
                unit=unit,
                event_types=event_type,
                theme=theme,
                source=source,
                include_out_of_area=include_out_of_area,
                weights=weights,
                k_ring=k,
                distance_m=distance_m,
                permutations=permutations,
                seed=seed,
                alpha=alpha,
                write=mart,
            )
        finally:
            con.close()
    except CtxriskError as exc:
        raise fail(exc) from exc
    cols = [
        "unit_type",
        "train_start",
        "train_end",
        "test_start",
        "test_end",
        "n_units",
        "n_flagged",
        "area_share",
        "train_events",
        "test_events",
        "captured",
        "hit_rate",
        "pai",
        "pei",
    ]
    if fmt == "table":
        cols = ["n_flagged", "area_share", "test_events", "captured", "hit_rate", "pai", "pei"]
    emit(run.frame, fmt=fmt, out=sys.stdout, console=console, columns=cols, title="Back-test of Gi* hot spots")
    say(f"training: {run.train.selection.note()}; test: {run.test_selection.note()}", fmt)
