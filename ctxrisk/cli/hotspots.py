"""``ctxrisk hotspots ...``: Gi* hot spots, point clusters, emerging hot spots and back-tests, written to marts."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ctxrisk.cli.common import (
    WAREHOUSE_OPTIONS,
    ConfigOpt,
    Option,
    WarehouseOpt,
    check_format,
    console,
    err_console,
    usage_error,
    warehouse_session,
    with_options,
)

if TYPE_CHECKING:
    import pandas as pd

    from ctxrisk.analytics.parameters import HotspotParameters
    from ctxrisk.pipelines.settings import Settings

log = logging.getLogger(__name__)

app = typer.Typer(
    help="Locations of concern: Getis-Ord Gi* hot spots (FDR-controlled), point clusters, emerging hot spots "
    "and back-tests. See docs/hotspots.md.",
    add_completion=False,
)

UnitOpt = Annotated[
    str | None,
    typer.Option(
        "--unit",
        help="auto (default \\[hotspots] unit: H3 resolution chosen from the spacing of the events), h3[:RES], a "
        "loaded boundary level (lsoa11, lsoa21, ward, msoa, lad), or points.",
    ),
]
InferenceOpt = Annotated[
    str | None,
    typer.Option(
        "--inference", help="total (default: total-permutation Gi*), conditional (esda's) or normal (no permutation)."
    ),
]
BaselineOpt = Annotated[
    str | None,
    typer.Option(
        "--baseline",
        help="none (default), all-incidents (a theme against every incident: case-control) or population "
        "(LSOA units, \\[hotspots] population_csv).",
    ),
]
StudyAreaOpt = Annotated[
    str | None,
    typer.Option(
        "--study-area",
        help="Local-authority codes or names (comma-separated) as the study region when no boundary is loaded.",
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
KOpt = Annotated[int | None, typer.Option("--k", help="H3 ring size (default \\[hotspots] k_ring = 2).")]
DistanceOpt = Annotated[
    float | None, typer.Option("--distance-m", help="Distance band in metres for --weights distance.")
]
PermOpt = Annotated[
    int | None,
    typer.Option(
        "--permutations", help="Permutations (default: enough for FDR over the region; 0: normal approximation)."
    ),
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

#: The columns of a back-test in csv and json: one row per fold and method.
BACKTEST_OUT = ["fold", "method", "unit_type", "train_start", "train_end", "test_start", "test_end", "n_units"]
BACKTEST_OUT += ["n_selected", "area_share", "train_events", "test_events", "captured", "hit_rate", "pai", "pei"]


def say(note: str, fmt: str) -> None:
    """Print the note on what was used and left out: to stdout under a table, to stderr otherwise."""
    (console if fmt == "table" else err_console).print(note, highlight=False, markup=False)


#: Options of these commands named otherwise than the hot spot parameter they set. The commands read their
#: parameters from their options by name (see :func:`parameters`): an option is declared once.
PARAMETER_OF = {
    "event_type": "event_types",
    "theme": "themes",
    "source": "sources",
    "k": "k_ring",
    "window": "time_step_window",
}


def parameters(settings: Settings, options: Mapping[str, Any], *, skip: tuple[str, ...] = ()) -> HotspotParameters:
    """The run's parameters: ``[hotspots]`` defaults with the command's options that name one.

    Parameters
    ----------
    settings : Settings
        The loaded settings (their ``[hotspots]`` table gives the defaults).
    options : mapping
        The command's options by name (``ctx.params``, or the shared options of :func:`with_options`); those
        naming no hot spot parameter (``--format``, ``--mart`` ...) are left out, the others renamed by
        :data:`PARAMETER_OF`.
    skip : tuple of str
        Options that share a parameter's name but mean something else for this command.

    Returns
    -------
    HotspotParameters
        A bad value raises :class:`~ctxrisk.pipelines.errors.ValidationError` (exit 1).
    """
    import dataclasses

    from ctxrisk.analytics.parameters import HotspotParameters

    fields = {f.name for f in dataclasses.fields(HotspotParameters)}
    chosen = {PARAMETER_OF.get(k, k): v for k, v in options.items() if k not in skip}
    return HotspotParameters.from_settings(settings, **{k: v for k, v in chosen.items() if k in fields})


@app.callback(invoke_without_command=True)
def hotspots(
    ctx: typer.Context,
    unit: UnitOpt = None,
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
    inference: InferenceOpt = None,
    baseline: BaselineOpt = None,
    study_area: StudyAreaOpt = None,
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
    flagged units (q < alpha) by z. The unit picked (and why), the study region and its area, and what was left
    out are printed (to stderr for csv/json/geojson); the run's parameters go to meta.hotspot_runs.
    """
    if ctx.invoked_subcommand is not None:
        return
    from ctxrisk.analytics.hotspots import run_hotspots
    from ctxrisk.cli.formats import emit

    check_format(fmt)
    with warehouse_session(config=config, warehouse=warehouse) as (settings, con):
        result = run_hotspots(con, parameters(settings, ctx.params), settings=settings, write=mart)
    if result.mart == "point_clusters":
        shown, cols, title = cluster_view(result.frame, fmt=fmt)
    else:
        shown, cols, title = hotspot_view(result, fmt=fmt, all_rows=all_rows)
        say(result.region_note(), fmt)
    emit(shown, fmt=fmt, out=sys.stdout, console=console, columns=cols, title=title, limit=limit)
    say(result.note() + (f"; written to marts.{result.mart} (run {result.run_id})" if mart else ""), fmt)


def cluster_view(frame: pd.DataFrame, *, fmt: str) -> tuple[pd.DataFrame, list[str], str]:
    """The rows, columns and title shown of HDBSCAN point clusters: the largest first."""
    shown = frame.sort_values("count", ascending=False)
    if fmt == "table":
        return shown.assign(area_m2=cluster_extent(shown)), CLUSTER_TABLE, f"HDBSCAN point clusters ({len(frame):,})"
    return shown, CLUSTER_OUT, f"HDBSCAN point clusters ({len(frame):,})"


def hotspot_view(result: Any, *, fmt: str, all_rows: bool) -> tuple[pd.DataFrame, list[str], str]:
    """The rows, columns and title shown of a Gi* run: in a table the flagged units (every unit with
    ``all_rows``) by z, without the name column when no unit has a name; every unit in other formats."""
    frame, p = result.frame, result.parameters
    title = f"Gi* hot and cold spots, {p['unit']}, {p['weights']}, {p['inference']}"
    if p["baseline"] != "none":
        title += f", against {p['baseline']}"
    if fmt != "table":
        return frame, HOTSPOT_OUT, title
    cols = HOTSPOT_TABLE if frame["name"].notna().any() else [c for c in HOTSPOT_TABLE if c != "name"]
    shown = frame if all_rows else frame[frame["bin"] != 0]
    return shown.sort_values("z", ascending=False), cols, title


def cluster_extent(frame: pd.DataFrame) -> pd.Series:
    """The area column of the cluster table: square metres of the hull, or what the hull is when it has no
    area (police.uk snaps events to anonymised map points, so a cluster may be one point or on one line)."""
    kinds = frame["geometry_wkt"].astype("string").str.split(" ", n=1).str[0].str.upper()
    area = frame["area_m2"].astype(float)
    text = area.map("{:,.0f}".format).where(area > 0, "")
    text = text.mask((area <= 0) & kinds.eq("POINT"), "single point")
    return text.mask((area <= 0) & ~kinds.eq("POINT"), "on one line")


@app.command()
def emerging(
    ctx: typer.Context,
    unit: UnitOpt = None,
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
    with warehouse_session(config=config, warehouse=warehouse) as (settings, con):
        params = parameters(settings, ctx.params, skip=("inference",))  # --inference here: run_emerging's
        run = run_emerging(con, params, settings=settings, inference=inference, write=mart)
    frame = run.frame
    if fmt == "table":
        shown = frame if all_rows else frame[frame["category"] != "no pattern detected"]
        shown = shown.sort_values(["n_hot", "final_z"], ascending=False)
    else:
        shown = frame
    counts = frame["category"].value_counts()
    summary = ", ".join(f"{n:,} {c}" for c, n in counts.items())
    p = run.parameters
    if p.get("coverage"):
        say(p["coverage"] + ".", fmt)
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


#: The options backtest and periods share, after their own, in ``--help`` order: which events and units.
SELECTION_OPTIONS: dict[str, Option] = {
    "unit": (UnitOpt, None),
    "theme": (ThemeOpt, None),
    "source": (SourceOpt, None),
    "event_type": (TypeOpt, None),
    "include_out_of_area": (OutOfAreaOpt, False),
    "study_area": (StudyAreaOpt, None),
    "k": (KOpt, None),
    "seed": (SeedOpt, None),
    "alpha": (AlphaOpt, None),
}
#: Back-test output: the format and whether the mart is written.
BACKTEST_OUTPUT: dict[str, Option] = {"fmt": (FormatOpt, "table"), "mart": (MartOpt, True)}


@app.command()
@with_options({**SELECTION_OPTIONS, **BACKTEST_OUTPUT, **WAREHOUSE_OPTIONS}, param="options")
def backtest(
    options: dict[str, Any],
    train: Annotated[
        str | None, typer.Option("--train", help="Training period: YYYY, YYYY-MM, YYYY-MM-DD or A..B.")
    ] = None,
    test: Annotated[str | None, typer.Option("--test", help="Test period, same forms (usually the next one).")] = None,
    train_months: Annotated[
        int, typer.Option("--train-months", help="Rolling-origin folds (no --train/--test): months trained on.")
    ] = 6,
    test_months: Annotated[int, typer.Option("--test-months", help="Rolling-origin folds: months tested on.")] = 1,
    k_units: Annotated[
        int | None,
        typer.Option("--k-units", help="Units each method selects (default: the number Gi* flags, at least 1%)."),
    ] = None,
) -> None:
    """Forecast back-test at equal area: naive top-k by past count, kernel density, Gi* flags, Gi* z and the
    "where next" ranking, scored with hit rate, PAI and PEI against later events (marts.hotspot_backtest).

    Without --train/--test, rolling-origin folds over the data (train on --train-months, test on the next
    --test-months, moving a month at a time). The table sums every fold; csv/json give one row per fold and method.
    """
    from ctxrisk.analytics.forecast import run_backtest
    from ctxrisk.cli.formats import emit

    fmt = options["fmt"]
    check_format(fmt)
    if fmt == "geojson":
        raise usage_error("a back-test has no geometry; use table, csv or json")
    folds = {"train": train, "test": test, "train_months": train_months, "test_months": test_months, "k": k_units}
    with warehouse_session(config=options["config"], warehouse=options["warehouse"]) as (settings, con):
        params = parameters(settings, options)
        run = run_backtest(con, params, settings=settings, **folds, write=options["mart"])
    p = run.parameters
    say(f"Unit {p['unit']} ({p['scale_reason']}). Study region: {p['study_region']}.", fmt)
    if fmt == "table":
        shown = backtest_table(run.summary)
        title = f"Forecast back-test at equal area ({int(run.summary['test_events'].iloc[0]):,} test events)"
        emit(shown, fmt=fmt, out=sys.stdout, console=console, columns=list(shown.columns), title=title)
    else:
        emit(run.frame, fmt=fmt, out=sys.stdout, console=console, columns=BACKTEST_OUT, title="Forecast back-test")
    say(run.verdict(), fmt)


def backtest_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The back-test table: each method's folds, events captured (and against naive), area share, PAI, PEI."""
    import pandas as pd

    return pd.DataFrame(
        {
            "method": summary["method"],
            "folds": summary["folds"],
            "captured": summary["captured"].round().astype(int).map("{:,}".format),
            "of naive": summary["captured_vs_naive"].map("{:.0%}".format),
            "area": summary["mean_area_share"].map("{:.1%}".format),
            "PAI": summary["mean_pai"].map("{:.1f}".format),
            "PEI": summary["mean_pei"].map("{:.2f}".format),
        }
    )


@app.command()
@with_options({**SELECTION_OPTIONS, **WAREHOUSE_OPTIONS}, param="options")
def periods(
    options: dict[str, Any],
    period: Annotated[
        str | None,
        typer.Option(
            "--period", help="Periods, comma-separated: YYYY-Qn, YYYY, YYYY-MM or A..B (default: every quarter)."
        ),
    ] = None,
) -> None:
    """Gi* hot spots of each period on the whole run's region (marts.hotspot_periods), and of each theme for the
    whole run and each period (marts.hotspot_themes): the map's period selector and theme filter."""
    from ctxrisk.analytics.hotspot_themes import periods_of, run_theme_hotspots
    from ctxrisk.analytics.hotspots import run_hotspot_periods

    with warehouse_session(config=options["config"], warehouse=options["warehouse"]) as (settings, con):
        params = parameters(settings, options)
        texts = [t.strip() for t in period.split(",") if t.strip()] if period else None
        frame = run_hotspot_periods(con, params, settings=settings, periods=texts)
        themes = run_theme_hotspots(con, params, settings=settings, periods=periods_of(frame))
    if frame.empty:
        console.print("No period has events: marts.hotspot_periods is empty.", highlight=False)
        return
    hot = frame[frame["hot"]].groupby("period").size()
    for label, group in frame.groupby("period", sort=False):
        console.print(
            f"{label}: {int(group['events_used'].iloc[0]):,} events, {int(hot.get(label, 0)):,} hot units",
            highlight=False,
        )
    for theme, group in themes.groupby("theme", sort=False):
        hot_units = group[group["hot"] & (group["period"] == "all")]
        console.print(f"Theme {theme}: {len(hot_units):,} hot units over the whole run", highlight=False)
    console.print("Written to marts.hotspot_periods and marts.hotspot_themes.", highlight=False)
