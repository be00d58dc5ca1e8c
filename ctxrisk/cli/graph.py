"""``ctxrisk graph ...`` commands: association-graph analyses over the warehouse, written to marts."""

import functools
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import networkx as nx
import pandas as pd
import typer
from rich.table import Table
from rich.text import Text

from ctxrisk.cli.common import console, err_console, fail, settings_from, with_options
from ctxrisk.pipelines.errors import CtxriskError, ValidationError
from ctxrisk.pipelines.spreadsheet import write_csv

app = typer.Typer(
    help="Association graphs for Prepare and Pursue: who is linked to whom, and how.", no_args_is_help=True
)

FORMATS = ("table", "csv", "json")
COMPARE_TABLES = ("new-links", "dropped-links", "growing-groups")
RANKINGS = ("adults-of-concern", "at-risk-children", "centrality")

UntilOpt = Annotated[
    str | None, typer.Option("--until", help="Keep evidence before this time; a date includes the whole day.")
]
RelationsOpt = Annotated[
    str | None,
    typer.Option(
        "--relations", help="Comma-separated relations to keep, e.g. found_with,co_involvement (default all)."
    ),
]

#: Options every graph command takes: where the warehouse is and which evidence to keep.
SOURCE_OPTIONS = {
    "warehouse": (
        Annotated[Path | None, typer.Option("--warehouse", "-w", help="DuckDB warehouse (default from settings).")],
        None,
    ),
    "config": (Annotated[Path | None, typer.Option("--config", help="ctxrisk.toml settings file.")], None),
    "since": (
        Annotated[
            str | None,
            typer.Option("--since", help="Keep evidence on or after this date/time (ISO 8601, London time)."),
        ],
        None,
    ),
    "until": (UntilOpt, None),
    "relations": (RelationsOpt, None),
}

#: Options of the commands that print a table and write a mart.
OUTPUT_OPTIONS = {
    "fmt": (Annotated[str, typer.Option("--format", "-f", help="Output: table, csv or json.")], "table"),
    "limit": (Annotated[int, typer.Option("--limit", help="Rows shown in a table (all rows go to the mart).")], 50),
    "mart": (
        Annotated[bool, typer.Option("--mart/--no-mart", help="Write the result to marts.graph_<command>.")],
        True,
    ),
}

MinChildrenOpt = Annotated[
    int | None, typer.Option("--min-children", help="Least distinct children linked (default from settings).")
]


@dataclass
class GraphRun:
    """One graph command's settings, warehouse connection, evidence window and output choices."""

    settings: Any
    con: Any
    since: str | None
    until: str | None
    relations: str | None
    fmt: str = "table"
    limit: int = 50
    mart: bool = True

    def inputs(self, since: str | None = None, until: str | None = None) -> Any:
        """Graph inputs of the warehouse in the window (the command's window by default)."""
        from ctxrisk.analytics.graph.inputs import load_graph_inputs

        return load_graph_inputs(
            self.con,
            since=since or self.since,
            until=until or self.until,
            location_resolution=self.settings.hotspots.h3_resolution,
        )

    def arrays(self, inputs: Any = None, *, since: str | None = None, until: str | None = None) -> Any:
        """The graph as arrays, built for the window and relations: what every analysis runs on."""
        from ctxrisk.analytics.graph.build import build_arrays

        return build_arrays(
            inputs if inputs is not None else self.inputs(),
            since=since or self.since,
            until=until or self.until,
            relations=self.relations,
            half_life_days=self.settings.graph.recency_half_life_days,
            max_event_size=self.settings.graph.max_event_size,
        )

    def graph(self, inputs: Any = None, *, since: str | None = None, until: str | None = None) -> nx.Graph:
        """The networkx form, for paths, ego networks, exports and period comparisons."""
        from ctxrisk.analytics.graph.arrays import to_networkx

        return to_networkx(self.arrays(inputs, since=since, until=until))

    def emit(self, frame: pd.DataFrame, *, mart: str | None, title: str, shown: tuple[str, ...] | None = None) -> None:
        """Write ``frame`` to ``marts.<mart>`` (unless --no-mart) and print it as a table, CSV or JSON.

        ``shown`` narrows the printed table to those columns; CSV, JSON and the mart keep them all.
        """
        if self.mart and mart:
            from ctxrisk.pipelines.warehouse import write_mart

            write_mart(self.con, mart, frame.reset_index(drop=True))
        if self.fmt == "csv":
            write_csv(frame, sys.stdout)  # formula-like cells quoted (ctxrisk.pipelines.spreadsheet)
        elif self.fmt == "json":
            sys.stdout.write(frame.to_json(orient="records", date_format="iso") + "\n")
        else:
            console.print(_table(frame[list(shown)] if shown else frame, title, self.limit))


def _table(frame: pd.DataFrame, title: str, limit: int) -> Table:
    shown = f", first {limit}" if len(frame) > limit else ""
    table = Table(title=f"{title} ({len(frame):,} rows{shown})")
    for col in frame.columns:
        table.add_column(str(col), justify="right" if pd.api.types.is_numeric_dtype(frame[col]) else "left")
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    return table


def _cell(value: Any) -> Text:
    """A table cell shown as written: data such as "[bold red]" or "[/x]" is never read as rich markup."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return Text("")
    return Text(f"{value:.4g}" if isinstance(value, float) else str(value))


def graph_command(name: str, *, output: bool = True) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``fn(run, **own_options)`` as ``ctxrisk graph <name>`` with the shared options added.

    The command takes its own options and the :data:`SOURCE_OPTIONS` (and, when ``output``, the
    :data:`OUTPUT_OPTIONS`); it gets a :class:`GraphRun` with the settings and an open warehouse
    connection, closed afterwards. A :class:`~ctxrisk.pipelines.errors.CtxriskError` becomes a message
    and the exit code of :func:`ctxrisk.cli.common.fail`.
    """
    shared = {**SOURCE_OPTIONS, **(OUTPUT_OPTIONS if output else {})}

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        @with_options(shared, param="run")
        @functools.wraps(fn)
        def command(run: dict[str, Any], **kwargs: Any) -> None:
            options = dict(run)  # the shared options' values: ``fn`` gets the GraphRun made from them
            if output and options["fmt"] not in FORMATS:
                msg = f"--format must be one of {list(FORMATS)}, got {options['fmt']!r}"
                raise typer.BadParameter(msg)
            try:
                from ctxrisk.pipelines.warehouse import connect

                settings = settings_from(options.pop("config"), options.pop("warehouse"))  # else `ctxrisk --config`
                con = connect(settings.paths.warehouse, settings=settings, create=False)
                try:
                    fn(GraphRun(settings, con, **options), **kwargs)
                finally:
                    con.close()
            except CtxriskError as exc:
                raise fail(exc) from exc

        return app.command(name)(command)

    return register


@graph_command("adults-of-concern")
def adults_of_concern_cmd(
    run: GraphRun,
    min_children: MinChildrenOpt = None,
    alpha: Annotated[
        float | None, typer.Option("--alpha", help="False discovery rate for flagged (default from settings).")
    ] = None,
) -> None:
    """Adults (18+) linked to children, tested against chance; flagged adults (25+, q < alpha) first."""
    from ctxrisk.analytics.graph.concern import adults_of_concern

    frame = adults_of_concern(
        run.arrays(),
        min_children=min_children or run.settings.graph.min_children,
        alpha=alpha if alpha is not None else run.settings.graph.alpha,
    )
    shown = ("person_id", "age_band", "children_linked", "child_links", "expected_by_chance", "q", "finding")
    run.emit(frame, mart="graph_adults_of_concern", title="Adults linked to children, against chance", shown=shown)


@graph_command("groups")
def groups_cmd(
    run: GraphRun,
    seeds: Annotated[
        int, typer.Option("--seeds", help="Number of Leiden runs (seeds 0..N-1) for the stability check.")
    ] = 10,
    resolution: Annotated[
        float, typer.Option("--resolution", help="Modularity resolution; higher gives smaller groups.")
    ] = 1.0,
    summary: Annotated[
        bool, typer.Option("--summary/--members", help="One row per group, or one row per person.")
    ] = True,
) -> None:
    """Groups of closely linked people (Leiden), with their stability across seeds."""
    from ctxrisk.analytics.graph.communities import group_tables

    members, groups_table = group_tables(run.arrays(), seeds=range(max(1, seeds)), resolution=resolution)
    if run.mart:
        from ctxrisk.pipelines.warehouse import write_mart

        write_mart(run.con, "graph_group_members", members)
    err_console.print(
        f"{members.attrs['method']}: modularity {members.attrs['modularity']:.3f}, "
        f"stability (mean adjusted Rand index over {seeds} seeds) {members.attrs['stability_ari']:.3f}",
        highlight=False,
    )
    run.emit(groups_table if summary else members, mart="graph_groups" if summary else None, title="Groups")


@graph_command("centrality")
def centrality_cmd(
    run: GraphRun,
    pivots: Annotated[
        int | None, typer.Option("--pivots", help="Pivots for sampled betweenness on large graphs.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Degree, betweenness (exact or sampled with standard error), eigenvector and triangles."""
    from ctxrisk.analytics.graph.centrality import centrality

    exact = run.settings.graph.exact_betweenness_max_nodes
    frame = centrality(run.arrays(), exact_max_nodes=exact, k=pivots, seed=seed)
    err_console.print(
        f"betweenness {frame.attrs['method']} ({frame.attrs['engine']}, {frame.attrs['pivots']:,} pivots, "
        f"mean standard error {frame.attrs['mean_se']:.2g})",
        highlight=False,
    )
    run.emit(frame, mart="graph_centrality", title="Centrality")


@graph_command("at-risk-children")
def at_risk_children_cmd(
    run: GraphRun, hops: Annotated[int, typer.Option("--hops", help="Largest number of links to a suspect.")] = 2
) -> None:
    """Children ranked by the number of distinct suspects within a few links of them."""
    from ctxrisk.analytics.graph.concern import at_risk_children

    run.emit(at_risk_children(run.arrays(), hops=hops), mart="graph_at_risk_children", title="Children near suspects")


@graph_command("ego")
def ego_cmd(
    run: GraphRun,
    person: Annotated[str, typer.Argument(help="Pseudonymous person ID.")],
    hops: Annotated[int, typer.Option("--hops")] = 2,
) -> None:
    """Everyone within a few links of one person."""
    from ctxrisk.analytics.graph.paths import ego

    run.emit(ego(run.graph(), person, hops=hops), mart="graph_ego", title=f"Network of {person}")


@graph_command("paths")
def paths_cmd(
    run: GraphRun,
    a: Annotated[str, typer.Argument(help="From person ID.")],
    b: Annotated[str, typer.Argument(help="To person ID.")],
    max_hops: Annotated[int, typer.Option("--max-hops")] = 6,
    time_ordered: Annotated[
        bool, typer.Option("--time-ordered", help="Follow links in date order (i2 Find Path).")
    ] = False,
) -> None:
    """All shortest paths between two people, with the type and date of each link."""
    from ctxrisk.analytics.graph.paths import paths

    frame = paths(run.graph(), a, b, max_hops=max_hops, relations=run.relations, time_ordered=time_ordered)
    run.emit(frame, mart="graph_paths", title=f"Paths {a} to {b}")


@graph_command("connect")
def connect_cmd(
    run: GraphRun,
    people: Annotated[list[str], typer.Argument(help="Two or more person IDs.")],
    by: Annotated[str, typer.Option("--by", help="hops (fewest links) or strength (strongest links).")] = "hops",
) -> None:
    """The smallest network joining several people (like i2 Find Connecting Network)."""
    from ctxrisk.analytics.graph.paths import connect

    frame = connect(run.graph(), people, by=by)
    if frame.attrs.get("connectors"):
        err_console.print(f"joined through: {', '.join(map(str, frame.attrs['connectors']))}", highlight=False)
    run.emit(frame, mart="graph_connect", title="Connecting network")


@graph_command("export", output=False)
def export_cmd(
    run: GraphRun,
    path: Annotated[Path, typer.Argument(help="Output file (GraphML/GEXF) or folder / name.csv (i2).")],
    to: Annotated[str, typer.Option("--to", help="graphml, gexf or i2.")] = "graphml",
    person: Annotated[str | None, typer.Option("--person", help="Export only this person's network.")] = None,
    hops: Annotated[int, typer.Option("--hops", help="Links around --person.")] = 2,
) -> None:
    """Write the graph for Gephi, yEd or an i2 Analyst's Notebook import specification."""
    from ctxrisk.analytics.graph.export import export
    from ctxrisk.analytics.graph.paths import ego_graph

    g = run.graph()
    if person:
        g = ego_graph(g, person, hops=hops)
    written = export(g, path, format=to)
    files = [str(p) for p in written]
    console.print(json.dumps({"nodes": g.number_of_nodes(), "edges": g.number_of_edges(), "files": files}))


def _period_end(split: str) -> str:
    """``--split`` as an exclusive end: a date means the start of that day, not its end."""
    text = split.strip()
    return f"{text}T00:00:00" if len(text) == 10 else text


@graph_command("compare")
def compare_cmd(
    run: GraphRun,
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
    cut = parse_bound(_period_end(split))
    lo, hi = parse_bound(run.since), parse_bound(run.until, end=True)
    if (lo is not None and cut <= lo) or (hi is not None and cut >= hi):
        msg = f"--split {split} must fall inside the --since/--until window"
        raise ValidationError(msg)
    inputs = run.inputs()
    before = run.graph(inputs, until=_period_end(split))
    after = run.graph(inputs, since=split)
    result = compare_periods(before, after, seed=seed, resolution=resolution, min_growth=min_growth)
    tables = {"new-links": result.new_links, "dropped-links": result.dropped_links}
    tables["growing-groups"] = result.growing_groups
    if run.mart:
        from ctxrisk.pipelines.warehouse import write_mart

        for name, frame in tables.items():
            write_mart(run.con, "graph_" + name.replace("-", "_"), frame)
    err_console.print(
        f"earlier period: {before.number_of_edges():,} links; later period: {after.number_of_edges():,} links; "
        f"{len(result.new_links):,} new, {len(result.dropped_links):,} dropped, "
        f"{len(result.growing_groups):,} growing groups",
        highlight=False,
    )
    run.emit(tables[show], mart=None, title=show.replace("-", " ").capitalize())


@graph_command("sensitivity")
def sensitivity_cmd(
    run: GraphRun,
    ranking: Annotated[
        str, typer.Option("--ranking", help="Ranking to test: adults-of-concern, at-risk-children or centrality.")
    ] = "adults-of-concern",
    drop_share: Annotated[
        float, typer.Option("--drop-share", help="Share of links dropped at random in each repeat (0-1).")
    ] = 0.2,
    repeats: Annotated[int, typer.Option("--repeats", help="Number of random repeats.")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random link drops.")] = 0,
    top: Annotated[int, typer.Option("--top", help="Size of the top list counted in top_share.")] = 10,
    min_children: MinChildrenOpt = None,
    hops: Annotated[int, typer.Option("--hops", help="For at-risk-children.")] = 2,
) -> None:
    """How much each person's rank moves when a share of the links is dropped at random."""
    from ctxrisk.analytics.graph.centrality import centrality
    from ctxrisk.analytics.graph.concern import adults_of_concern, at_risk_children
    from ctxrisk.analytics.graph.sensitivity import rank_sensitivity

    if ranking not in RANKINGS:
        msg = f"--ranking must be one of {list(RANKINGS)}, got {ranking!r}"
        raise typer.BadParameter(msg)
    graph = run.settings.graph
    fns = {
        "adults-of-concern": lambda h: adults_of_concern(h, min_children=min_children or graph.min_children),
        "at-risk-children": lambda h: at_risk_children(h, hops=hops),
        "centrality": lambda h: centrality(h, exact_max_nodes=graph.exact_betweenness_max_nodes, seed=seed),
    }
    frame = rank_sensitivity(run.graph(), fns[ranking], drop_share=drop_share, repeats=repeats, seed=seed, top=top)
    err_console.print(
        f"{ranking}: {len(frame):,} people ranked; dropping {drop_share:.0%} of links {repeats} times, "
        f"mean Spearman correlation with the full ranking {frame.attrs['mean_spearman']:.3f}",
        highlight=False,
    )
    run.emit(frame, mart="graph_sensitivity", title=f"Rank sensitivity: {ranking}")
