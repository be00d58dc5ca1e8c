"""``ctxrisk map intel``: write the OFFICIAL-SENSITIVE association-graph explorer from the warehouse."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Annotated, Any

import networkx as nx
import pandas as pd
import typer

from ctxrisk.cli.common import ConfigOpt, console, warehouse_session
from ctxrisk.cli.graph import RelationsOpt, UntilOpt

__all__ = ["intel", "make_intel_page", "period_text", "register_intel"]

logger = logging.getLogger(__name__)


def period_text(g: nx.Graph, *, since: str | None = None, until: str | None = None) -> str:
    """Describe the evidence window of a graph for the page banner.

    Parameters
    ----------
    g : networkx.Graph
        Association graph (edges carry ``first_seen``/``last_seen`` ISO dates).
    since, until : str or None
        The window asked for (shown as given); when absent the first/last dated evidence is shown.

    Returns
    -------
    str
        London dates, e.g. ``"2024-10-01 to 2026-09-30"``, or ``"2025-01-01 to 2025-12-31 (window asked for)"``.
    """
    if since or until:
        return f"{since or 'start of records'} to {until or 'latest record'} (window asked for)"
    first = [d["first_seen"] for _, _, d in g.edges(data=True) if d.get("first_seen")]
    last = [d["last_seen"] for _, _, d in g.edges(data=True) if d.get("last_seen")]
    if not first:
        return "no dated evidence"
    london = [pd.Timestamp(t).tz_convert("Europe/London").strftime("%Y-%m-%d") for t in (min(first), max(last))]
    return f"{london[0]} to {london[1]}"


def _places(con: Any, resolution: int) -> pd.DataFrame | None:
    """Labels for places that are locations of concern (``marts.locations_of_concern``), when that mart exists.

    The graph's places are H3 cells at ``resolution``; a location of concern at a finer resolution (the hot spot
    scale chosen from the data) labels the cell holding it.
    """
    import h3

    row = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'marts' and table_name = 'locations_of_concern'"
    ).fetchone()
    if not row or not row[0]:
        return None
    frame = con.execute("select rank, unit_id, name from marts.locations_of_concern order by rank").df()
    out = pd.DataFrame(
        {
            "location_id": [
                "h3:" + (h3.cell_to_parent(c, resolution) if h3.get_resolution(c) > resolution else c)
                for c in frame["unit_id"].astype(str)
            ],
            "label": [f"location of concern #{int(r)}: {n}" for r, n in zip(frame["rank"], frame["name"], strict=True)],
        }
    )
    return out.drop_duplicates("location_id")  # the best-ranked location of concern names a cell


def _local_day(value: str | None, tz: str) -> str | None:
    """The local day of an ISO 8601 ``--since``/``--until`` (a date, ``YYYY`` or ``YYYY-MM`` kept as given).

    A time with an offset is read in ``tz`` (``2025-03-31T23:30:00Z`` is 1 April in London in summer time);
    one without is already local.
    """
    if value is None or len(value) <= 10:
        return value
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(tz)
    return stamp.strftime("%Y-%m-%d")


def _mace(con: Any, settings: Any, adults: pd.DataFrame, since: str | None, until: str | None) -> dict[str, Any]:
    """The MACE list and its places for the page, with the page's own flagged adults."""
    from ctxrisk.analytics.protect.links import flagged_adults
    from ctxrisk.analytics.protect.mace import mace_list, mace_places

    result = mace_list(
        con,
        settings=settings,
        since=_local_day(since, settings.local_timezone),
        until=_local_day(until, settings.local_timezone),
        flagged=flagged_adults(con, adults=adults),
    )
    return {
        "mace": result.frame,
        "mace_places": mace_places(result, settings=settings),
        "mace_notes": result.notes,
    }


def _themes(con: Any) -> pd.DataFrame:
    """The theme of each event (``staging.events``), for the page's theme filter."""
    return con.execute("select event_id, theme from staging.events where theme is not null").df()


def make_intel_page(
    con: Any,
    out: Path,
    *,
    settings: Any,
    since: str | None = None,
    until: str | None = None,
    relations: str | None = None,
    made_at: dt.datetime | None = None,
    seeds: int = 10,
    focus_threshold: int | None = None,
    mace: bool = True,
) -> tuple[Path, int, str]:
    """Build the intel explorer from the warehouse, write it atomically (0600) and audit it as edition ``intel``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A writable warehouse connection.
    out : Path
        HTML file to write (its folder is created).
    settings : ctxrisk.pipelines.settings.Settings
        ``[graph]`` (recency half-life, min children, exact betweenness size), ``[hotspots] h3_resolution``
        (places) and ``[maps]`` (basemap).
    since, until : str or None
        Evidence window (ISO 8601; a date-only ``until`` includes that day).
    relations : str or None
        Comma-separated relations to keep (``ctxrisk.analytics.graph.RELATIONS``); None keeps all.
    made_at : datetime or None
        Time stamped on the page (default now, UTC).
    seeds : int
        Leiden runs for the groups (``>= 1``).
    focus_threshold : int or None
        Above this many people the page opens on its starting view (``>= 0``; None uses
        :data:`ctxrisk.maps.intel.FOCUS_THRESHOLD`).
    mace : bool
        Add the MACE view: ``ctxrisk mace``'s list for the same window (local days; the page's flagged adults
        for the flagged-adult indicator) and its places (default True).

    Returns
    -------
    (pathlib.Path, int, str)
        The written path, its size in bytes and a one-line summary.
    """
    from ctxrisk.analytics.graph import adults_of_concern, brokers, build_graph, centrality, groups, load_graph_inputs
    from ctxrisk.maps.intel import FOCUS_THRESHOLD, build_intel_page
    from ctxrisk.maps.selfcontained import write_html
    from ctxrisk.pipelines.warehouse import audit

    inputs = load_graph_inputs(con, since=since, until=until, location_resolution=settings.hotspots.h3_resolution)
    g = build_graph(
        inputs, since=since, until=until, relations=relations, half_life_days=settings.graph.recency_half_life_days
    )
    members = groups(g, seeds=range(max(1, int(seeds))))
    exact = settings.graph.exact_betweenness_max_nodes
    adults = adults_of_concern(g, min_children=settings.graph.min_children, alpha=settings.graph.alpha)
    listed = _mace(con, settings, adults, since, until) if mace else {}
    html = build_intel_page(
        g,
        communities=members,
        centrality=centrality(g, exact_max_nodes=exact),
        adults=adults,
        brokers=brokers(g, members, exact_max_nodes=exact),
        period=period_text(g, since=since, until=until),
        made_at=made_at or dt.datetime.now(dt.UTC),
        places=_places(con, settings.hotspots.h3_resolution),
        themes=_themes(con),
        alpha=settings.graph.alpha,
        min_children=settings.graph.min_children,
        basemap_url=settings.maps.basemap_url,
        basemap_attribution=settings.maps.basemap_attribution,
        focus_threshold=FOCUS_THRESHOLD if focus_threshold is None else int(focus_threshold),
        **listed,
    )
    path = write_html(html, out)
    size = len(html.encode("utf-8"))
    summary = (
        f"{g.number_of_nodes():,} people, {g.number_of_edges():,} links, "
        f"{members['group_id'].nunique() if len(members) else 0:,} groups; relations {relations or 'all'}"
        + (f"; MACE list {len(listed['mace']):,} children" if listed else "")
    )
    audit(con, "map", edition="intel", target=str(path), detail=f"{summary}; {size:,} bytes")
    logger.info("intel page %s: %s", path, summary)
    return path, size, summary


def intel(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write, e.g. output/intel/explorer.html.")],
    since: Annotated[
        str | None, typer.Option("--since", help="Keep evidence on or after this date/time (ISO 8601).")
    ] = None,
    until: UntilOpt = None,
    relations: RelationsOpt = None,
    warehouse: Annotated[
        Path | None, typer.Option("--warehouse", help="DuckDB warehouse (default from settings).")
    ] = None,
    config: ConfigOpt = None,
    focus_threshold: Annotated[
        int | None,
        typer.Option(
            "--focus-threshold",
            min=0,
            help="Above this many people the page opens on flagged adults and children at risk (default 300).",
        ),
    ] = None,
) -> None:
    """Write the OFFICIAL-SENSITIVE association-graph explorer (pseudonymous IDs, links and their evidence).

    One self-contained HTML file for analysts: never part of the steering group's papers.
    """
    with warehouse_session(config=config, warehouse=warehouse) as (settings, con):
        path, size, summary = make_intel_page(
            con, out, settings=settings, since=since, until=until, relations=relations, focus_threshold=focus_threshold
        )
    console.print(f"wrote {path} ({size / 1e6:.1f} MB, OFFICIAL-SENSITIVE): {summary}", highlight=False)


def register_intel(app: typer.Typer) -> None:
    """Add the ``intel`` command to the ``ctxrisk map`` Typer app."""
    app.command("intel")(intel)
