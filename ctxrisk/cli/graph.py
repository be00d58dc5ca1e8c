"""``ctxrisk graph ...`` commands: association-graph analyses over the warehouse, written to marts."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import networkx as nx
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from ctxrisk.cli.common import fail
from ctxrisk.pipelines.errors import CtxriskError

log = logging.getLogger(__name__)

app = typer.Typer(
    help="Association graphs for Prepare and Pursue: who is linked to whom, and how.", no_args_is_help=True
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

FORMATS = ("table", "csv", "json")

WarehouseOpt = Annotated[
    Path | None, typer.Option("--warehouse", "-w", help="DuckDB warehouse (default from settings).")
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="ctxrisk.toml settings file.")]
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="Keep evidence on or after this date/time (ISO 8601, London time).")
]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="Keep evidence before this time; a date includes the whole day.")
]
RelationsOpt = Annotated[
    str | None,
    typer.Option(
        "--relations", help="Comma-separated relations to keep, e.g. found_with,co_involvement (default all)."
    ),
]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="Output: table, csv or json.")]
LimitOpt = Annotated[int, typer.Option("--limit", help="Rows shown in a table (all rows go to the mart).")]
MartOpt = Annotated[bool, typer.Option("--mart/--no-mart", help="Write the result to marts.graph_<command>.")]


def _open(config: Path | None, warehouse: Path | None):
    from ctxrisk.pipelines.settings import load_settings
    from ctxrisk.pipelines.warehouse import connect

    settings = load_settings(config, warehouse=warehouse)
    return settings, connect(settings.paths.warehouse, settings=settings)


def _inputs(con, settings, since: str | None, until: str | None):
    from ctxrisk.analytics.graph.inputs import load_graph_inputs

    return load_graph_inputs(con, since=since, until=until, location_resolution=settings.hotspots.h3_resolution)


def _build(inputs, settings, since, until, relations: str | None) -> nx.Graph:
    from ctxrisk.analytics.graph.build import build_graph

    return build_graph(
        inputs,
        since=since,
        until=until,
        relations=relations,
        half_life_days=settings.graph.recency_half_life_days,
        max_event_size=settings.graph.max_event_size,
    )


def _graph(con, settings, since: str | None, until: str | None, relations: str | None) -> nx.Graph:
    return _build(_inputs(con, settings, since, until), settings, since, until, relations)


def _emit(con, frame: pd.DataFrame, *, mart: str | None, fmt: str, title: str, limit: int) -> None:
    if fmt not in FORMATS:
        msg = f"--format must be one of {list(FORMATS)}, got {fmt!r}"
        raise typer.BadParameter(msg)
    if mart:
        from ctxrisk.pipelines.warehouse import write_mart

        write_mart(con, mart, frame.reset_index(drop=True))
    if fmt == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif fmt == "json":
        sys.stdout.write(frame.to_json(orient="records", date_format="iso") + "\n")
    else:
        table = Table(title=f"{title} ({len(frame):,} rows{', first ' + str(limit) if len(frame) > limit else ''})")
        for col in frame.columns:
            table.add_column(str(col), justify="right" if pd.api.types.is_numeric_dtype(frame[col]) else "left")
        for row in frame.head(limit).itertuples(index=False):
            table.add_row(
                *(
                    ""
                    if v is None or (isinstance(v, float) and pd.isna(v))
                    else (f"{v:.4g}" if isinstance(v, float) else str(v))
                    for v in row
                )
            )
        console.print(table)


def _run(config, warehouse, fn) -> None:
    try:
        settings, con = _open(config, warehouse)
        try:
            fn(settings, con)
        finally:
            con.close()
    except CtxriskError as exc:
        raise fail(exc) from exc


@app.command("adults-of-concern")
def adults_of_concern_cmd(
    min_children: Annotated[
        int | None, typer.Option("--min-children", help="Least distinct children linked (default from settings).")
    ] = None,
    alpha: Annotated[
        float | None, typer.Option("--alpha", help="False discovery rate for flagged (default from settings).")
    ] = None,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    relations: RelationsOpt = None,
    fmt: FormatOpt = "table",
    limit: LimitOpt = 50,
    mart: MartOpt = True,
) -> None:
    """Adults (18+) linked to children, tested against chance; flagged adults (25+, q < alpha) first."""
    from ctxrisk.analytics.graph.concern import adults_of_concern

    def go(settings, con):
        g = _graph(con, settings, since, until, relations)
        frame = adults_of_concern(
            g,
            min_children=min_children or settings.graph.min_children,
            alpha=alpha if alpha is not None else settings.graph.alpha,
        )
        _emit(
            con,
            frame,
            mart="graph_adults_of_concern" if mart else None,
            fmt=fmt,
            title="Adults linked to children (flagged: more than chance)",
            limit=limit,
        )

    _run(config, warehouse, go)


@app.command("groups")
def groups_cmd(
    seeds: Annotated[
        int, typer.Option("--seeds", help="Number of Leiden runs (seeds 0..N-1) for the stability check.")
    ] = 10,
    resolution: Annotated[
        float, typer.Option("--resolution", help="Modularity resolution; higher gives smaller groups.")
    ] = 1.0,
    summary: Annotated[
        bool, typer.Option("--summary/--members", help="One row per group, or one row per person.")
    ] = True,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    relations: RelationsOpt = None,
    fmt: FormatOpt = "table",
    limit: LimitOpt = 50,
    mart: MartOpt = True,
) -> None:
    """Groups of closely linked people (Leiden), with their stability across seeds."""
    from ctxrisk.analytics.graph.communities import group_tables

    def go(settings, con):
        g = _graph(con, settings, since, until, relations)
        members, groups_table = group_tables(g, seeds=range(max(1, seeds)), resolution=resolution)
        if mart:
            from ctxrisk.pipelines.warehouse import write_mart

            write_mart(con, "graph_group_members", members)
        err_console.print(
            f"{members.attrs['method']}: modularity {members.attrs['modularity']:.3f}, "
            f"stability (mean adjusted Rand index over {seeds} seeds) {members.attrs['stability_ari']:.3f}",
            highlight=False,
        )
        frame = groups_table if summary else members
        _emit(con, frame, mart="graph_groups" if mart and summary else None, fmt=fmt, title="Groups", limit=limit)

    _run(config, warehouse, go)


@app.command("centrality")
def centrality_cmd(
    pivots: Annotated[
        int | None, typer.Option("--pivots", help="Pivots for sampled betweenness on large graphs.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    relations: RelationsOpt = None,
    fmt: FormatOpt = "table",
    limit: LimitOpt = 50,
    mart: MartOpt = True,
) -> None:
    """Degree, betweenness (exact or sampled with standard error), eigenvector and triangles."""
    from ctxrisk.analytics.graph.centrality import centrality

    def go(settings, con):
        g = _graph(con, settings, since, until, relations)
        frame = centrality(g, exact_max_nodes=settings.graph.exact_betweenness_max_nodes, k=pivots, seed=seed)
        err_console.print(
            f"betweenness {frame.attrs['method']} ({frame.attrs['engine']}, {frame.attrs['pivots']:,} pivots, "
            f"mean standard error {frame.attrs['mean_se']:.2g})",
            highlight=False,
        )
        _emit(con, frame, mart="graph_centrality" if mart else None, fmt=fmt, title="Centrality", limit=limit)

    _run(config, warehouse, go)


@app.command("at-risk-children")
def at_risk_children_cmd(
    hops: Annotated[int, typer.Option("--hops", help="Largest number of links to a suspect.")] = 2,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    relations: RelationsOpt = None,
    fmt: FormatOpt = "table",
    limit: LimitOpt = 50,
    mart: MartOpt = True,
) -> None:
    """Children ranked by the number of distinct suspects within a few links of them."""
    from ctxrisk.analytics.graph.concern import at_risk_children

    def go(settings, con):
        g = _graph(con, settings, since, until, relations)
        frame = at_risk_children(g, hops=hops)
        _emit(
            con,
            frame,
            mart="graph_at_risk_children" if mart else None,
            fmt=fmt,
            title="Children near suspects",
            limit=limit,
        )

    _run(config, warehouse, go)


@app.command("ego")
def ego_cmd(
    person: Annotated[str, typer.Argument(help="Pseudonymous person ID.")],
    hops: Annotated[int, typer.Option("--hops")] = 2,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    relations: RelationsOpt = None,
    fmt: FormatOpt = "table",
    limit: LimitOpt = 50,
    mart: MartOpt = True,
) -> None:
    """Everyone within a few links of one person."""
    from ctxrisk.analytics.graph.paths import ego

    def go(settings, con):
        g = _graph(con, settings, since, until, relations)
        frame = ego(g, person, hops=hops)
        _emit(con, frame, mart="graph_ego" if mart else None, fmt=fmt, title=f"Network of {person}", limit=limit)

    _run(config, warehouse, go)


@app.command("paths")
def paths_cmd(
    a: Annotated[str, typer.Argument(help="From person ID.")],
    b: Annotated[str, typer.Argument(help="To person ID.")],
    max_hops: Annotated[int, typer.Option("--max-hops")] = 6,
    time_ordered: Annotated[
        bool, typer.Option("--time-ordered", help="Follow links in date order (i2 Find Path).")
    ] = False,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    relations: RelationsOpt = None,
    fmt: FormatOpt = "table",
    limit: LimitOpt = 50,
    mart: MartOpt = True,
) -> None:
    """All shortest paths between two people, with the type and date of each link."""
    from ctxrisk.analytics.graph.paths import paths

    def go(settings, con):
        g = _graph(con, settings, since, until, relations)
        frame = paths(g, a, b, max_hops=max_hops, relations=relations, time_ordered=time_ordered)
        _emit(con, frame, mart="graph_paths" if mart else None, fmt=fmt, title=f"Paths {a} to {b}", limit=limit)

    _run(config, warehouse, go)


@app.command("connect")
def connect_cmd(
    people: Annotated[list[str], typer.Argument(help="Two or more person IDs.")],
    by: Annotated[str, typer.Option("--by", help="hops (fewest links) or strength (strongest links).")] = "hops",
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    relations: RelationsOpt = None,
    fmt: FormatOpt = "table",
    limit: LimitOpt = 50,
    mart: MartOpt = True,
) -> None:
    """The smallest network joining several people (like i2 Find Connecting Network)."""
    from ctxrisk.analytics.graph.paths import connect

    def go(settings, con):
        g = _graph(con, settings, since, until, relations)
        frame = connect(g, people, by=by)
        if frame.attrs.get("connectors"):
            err_console.print(f"joined through: {', '.join(map(str, frame.attrs['connectors']))}", highlight=False)
        _emit(con, frame, mart="graph_connect" if mart else None, fmt=fmt, title="Connecting network", limit=limit)

    _run(config, warehouse, go)


@app.command("export")
def export_cmd(
    path: Annotated[Path, typer.Argument(help="Output file (GraphML/GEXF) or folder / name.csv (i2).")],
    to: Annotated[str, typer.Option("--to", help="graphml, gexf or i2.")] = "graphml",
    person: Annotated[str | None, typer.Option("--person", help="Export only this person's network.")] = None,
    hops: Annotated[int, typer.Option("--hops", help="Links around --person.")] = 2,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    relations: RelationsOpt = None,
) -> None:
    """Write the graph for Gephi, yEd or an i2 Analyst's Notebook import specification."""
    from ctxrisk.analytics.graph.export import export
    from ctxrisk.analytics.graph.paths import ego_graph

    def go(settings, con):
        g = _graph(con, settings, since, until, relations)
        if person:
            g = ego_graph(g, person, hops=hops)
        written = export(g, path, format=to)
        console.print(
            json.dumps({"nodes": g.number_of_nodes(), "edges": g.number_of_edges(), "files": [str(p) for p in written]})
        )

    _run(config, warehouse, go)


COMPARE_TABLES = ("new-links", "dropped-links", "growing-groups")
RANKINGS = ("adults-of-concern", "at-risk-children", "centrality")


def _period_end(split: str) -> str:
    """``--split`` as an exclusive end: a date means the start of that day, not its end."""
    text = split.strip()
    return f"{text}T00:00:00" if len(text) == 10 else text


@app.command("compare")
def compare_cmd(
    split: Annotated[
        str,
        typer.Option(
            "--split", help="Start of the later period (ISO date/time, London time); the earlier period ends there."
        ),
    ],
    show: Annotated[
        str,
        typer.Option(
            "--show", help="Table to print: new-links, dropped-links or growing-groups (all three go to marts)."
        ),
    ] = "growing-groups",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the Leiden runs finding each period's groups.")] = 0,
    resolution: Annotated[float, typer.Option("--resolution", help="Modularity resolution of those runs.")] = 1.0,
    min_growth: Annotated[
        int, typer.Option("--min-growth", help="Least growth (members) for a group to be listed.")
    ] = 1,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    relations: RelationsOpt = None,
    fmt: FormatOpt = "table",
    limit: LimitOpt = 50,
    mart: MartOpt = True,
) -> None:
    """Changes between two periods: new links, dropped links and growing groups.

    The earlier period runs from --since (or the first record) to --split, the later one from --split
    to --until (or the last record).
    """
    from ctxrisk.analytics.graph.compare import compare_periods
    from ctxrisk.analytics.graph.inputs import parse_bound

    if show not in COMPARE_TABLES:
        msg = f"--show must be one of {list(COMPARE_TABLES)}, got {show!r}"
        raise typer.BadParameter(msg)

    def go(settings, con):
        cut = parse_bound(_period_end(split))
        lo, hi = parse_bound(since), parse_bound(until, end=True)
        if (lo is not None and cut <= lo) or (hi is not None and cut >= hi):
            from ctxrisk.pipelines.errors import ValidationError

            msg = f"--split {split} must fall inside the --since/--until window"
            raise ValidationError(msg)
        inputs = _inputs(con, settings, since, until)
        before = _build(inputs, settings, since, _period_end(split), relations)
        after = _build(inputs, settings, split, until, relations)
        result = compare_periods(before, after, seed=seed, resolution=resolution, min_growth=min_growth)
        tables = {
            "new-links": result.new_links,
            "dropped-links": result.dropped_links,
            "growing-groups": result.growing_groups,
        }
        if mart:
            from ctxrisk.pipelines.warehouse import write_mart

            for name, frame in tables.items():
                write_mart(con, "graph_" + name.replace("-", "_"), frame)
        err_console.print(
            f"earlier period: {before.number_of_edges():,} links; later period: {after.number_of_edges():,} links; "
            f"{len(result.new_links):,} new, {len(result.dropped_links):,} dropped, {len(result.growing_groups):,} growing groups",
            highlight=False,
        )
        _emit(con, tables[show], mart=None, fmt=fmt, title=show.replace("-", " ").capitalize(), limit=limit)

    _run(config, warehouse, go)


@app.command("sensitivity")
def sensitivity_cmd(
    ranking: Annotated[
        str, typer.Option("--ranking", help="Ranking to test: adults-of-concern, at-risk-children or centrality.")
    ] = "adults-of-concern",
    drop_share: Annotated[
        float, typer.Option("--drop-share", help="Share of links dropped at random in each repeat (0-1).")
    ] = 0.2,
    repeats: Annotated[int, typer.Option("--repeats", help="Number of random repeats.")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random link drops.")] = 0,
    top: Annotated[int, typer.Option("--top", help="Size of the top list counted in top_share.")] = 10,
    min_children: Annotated[
        int | None, typer.Option("--min-children", help="For adults-of-concern (default from settings).")
    ] = None,
    hops: Annotated[int, typer.Option("--hops", help="For at-risk-children.")] = 2,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    relations: RelationsOpt = None,
    fmt: FormatOpt = "table",
    limit: LimitOpt = 50,
    mart: MartOpt = True,
) -> None:
    """How much each person's rank moves when a share of the links is dropped at random."""
    from ctxrisk.analytics.graph.centrality import centrality
    from ctxrisk.analytics.graph.concern import adults_of_concern, at_risk_children
    from ctxrisk.analytics.graph.sensitivity import rank_sensitivity

    if ranking not in RANKINGS:
        msg = f"--ranking must be one of {list(RANKINGS)}, got {ranking!r}"
        raise typer.BadParameter(msg)

    def go(settings, con):
        g = _graph(con, settings, since, until, relations)
        fns = {
            "adults-of-concern": lambda h: adults_of_concern(
                h, min_children=min_children or settings.graph.min_children
            ),
            "at-risk-children": lambda h: at_risk_children(h, hops=hops),
            "centrality": lambda h: centrality(
                h, exact_max_nodes=settings.graph.exact_betweenness_max_nodes, seed=seed
            ),
        }
        frame = rank_sensitivity(g, fns[ranking], drop_share=drop_share, repeats=repeats, seed=seed, top=top)
        err_console.print(
            f"{ranking}: {len(frame):,} people ranked; dropping {drop_share:.0%} of links {repeats} times, "
            f"mean Spearman correlation with the full ranking {frame.attrs['mean_spearman']:.3f}",
            highlight=False,
        )
        _emit(
            con,
            frame,
            mart="graph_sensitivity" if mart else None,
            fmt=fmt,
            title=f"Rank sensitivity: {ranking}",
            limit=limit,
        )

    _run(config, warehouse, go)
