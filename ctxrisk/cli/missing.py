"""``ctxrisk missing``: children missing from home or care (one row each) and the period summary."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import pandas as pd
import typer

from ctxrisk.cli.common import (
    WAREHOUSE_OPTIONS,
    ConfigOpt,
    WarehouseOpt,
    check_format,
    console,
    warehouse_session,
    with_options,
)
from ctxrisk.cli.hotspots import SinceOpt, UntilOpt, say
from ctxrisk.pipelines.errors import CtxriskError

if TYPE_CHECKING:
    from ctxrisk.pipelines.settings import Settings

T = TypeVar("T")

app = typer.Typer(
    help="Children missing from home or care: one row per child, and a summary per month or quarter "
    "(OFFICIAL-SENSITIVE, pseudonymous IDs). See docs/missing.md.",
    add_completion=False,
    no_args_is_help=True,
)

#: Printed above every table of this command and ``ctxrisk mace``.
BANNER = "OFFICIAL-SENSITIVE: pseudonymous IDs; for safeguarding partners only, not the steering group."
#: Formats of these commands (no GeoJSON: a child is not a place).
FORMATS = ("table", "csv", "json")

FormatOpt = Annotated[str, typer.Option("--format", help="table, csv or json.")]
LimitOpt = Annotated[int, typer.Option("--limit", help="Rows shown in a table (csv and json hold every row).")]
FreshGraphOpt = Annotated[
    bool,
    typer.Option(
        "--fresh-graph",
        help="Build the association graph now for the flagged adults, instead of reading the last run's "
        "marts.graph_adults_of_concern.",
    ),
]


def flagged_for(con, settings, fresh: bool):
    """The flagged adults: from a graph built now when ``fresh``, else None (the mart is read)."""
    if not fresh:
        return None
    from ctxrisk.analytics.protect.links import flagged_adults_from_graph

    return flagged_adults_from_graph(con, settings=settings)


def with_age_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Replace ``age_years`` by ``age``: the whole years, or ``unknown`` where the birth date is not known."""
    if "age_years" not in frame.columns:
        return frame
    age = frame["age_years"].map(lambda v: "unknown" if pd.isna(v) else str(int(v)))
    out = frame.copy()
    out.insert(list(frame.columns).index("age_years"), "age", age)
    return out.drop(columns=["age_years"])


def write(frame: pd.DataFrame, *, fmt: str, title: str, table_columns: list[str] | None, limit: int) -> None:
    """Emit ``frame``: a table (with the banner) limited to ``table_columns`` and ``limit`` rows, or all of it."""
    from ctxrisk.cli.formats import emit

    if fmt == "table":
        console.print(BANNER, highlight=False, markup=False)
        shown = f" (first {limit:,} of {len(frame):,})" if len(frame) > limit else f" ({len(frame):,})"
        emit(frame, fmt=fmt, out=sys.stdout, console=console, columns=table_columns, title=title + shown, limit=limit)
    else:
        emit(frame, fmt=fmt, out=sys.stdout)


def record(con, action: str, fmt: str, rows: int) -> None:
    """Audit an OFFICIAL-SENSITIVE list: what, in which format, how many rows, by which OS user."""
    from ctxrisk.pipelines.warehouse import audit

    audit(con, action, edition="official-sensitive", target=f"stdout ({fmt})", detail=f"{rows:,} rows")


def make_list(
    action: str,
    make: Callable[..., T],
    *,
    config: Path | None,
    warehouse: Path | None,
    fmt: str,
    fresh_graph: bool | None = None,
    errors: tuple[type[Exception], ...] = (CtxriskError,),
) -> tuple[Settings, T]:
    """Make an OFFICIAL-SENSITIVE list from the warehouse and audit it (see :func:`record`).

    Parameters
    ----------
    action : str
        What the audit trail calls the list, e.g. ``"missing children"``.
    make : callable
        ``make(con, settings=..., flagged=...)`` gives the list: a frame, or a result with a ``frame``.
    config, warehouse : Path or None
        The command's ``--config`` and ``--warehouse`` (opened writable: the audit trail records who listed
        children).
    fmt : str
        The output format, recorded in the audit trail.
    fresh_graph : bool or None
        ``flagged`` for ``make`` (see :func:`flagged_for`); None: ``make`` takes no ``flagged``.
    errors : tuple of exception types
        Errors shown as a message with their exit code (see :func:`ctxrisk.cli.common.warehouse_session`).

    Returns
    -------
    tuple of (Settings, result of ``make``)
    """
    with warehouse_session(config=config, warehouse=warehouse, errors=errors) as (settings, con):
        flagged: dict[str, Any] = {} if fresh_graph is None else {"flagged": flagged_for(con, settings, fresh_graph)}
        result = make(con, settings=settings, **flagged)
        record(con, action, fmt, len(result if isinstance(result, pd.DataFrame) else result.frame))
    return settings, result


@dataclass(frozen=True)
class ListOptions:
    """The options of every command listing children (``missing children``, ``mace``, ``mace places``)."""

    since: str | None = None
    until: str | None = None
    fmt: str = "table"
    limit: int = 50
    fresh_graph: bool = False
    warehouse: Path | None = None
    config: Path | None = None

    def make_list(self, action: str, make: Callable[..., T]) -> tuple[Settings, T]:
        """Refuse a format other than :data:`FORMATS` (exit 2), then :func:`make_list` for the window."""
        check_format(self.fmt, FORMATS)
        window = partial(make, since=self.since, until=self.until)
        options = {"config": self.config, "warehouse": self.warehouse, "fmt": self.fmt}
        return make_list(action, window, **options, fresh_graph=self.fresh_graph)

    def write(self, frame: pd.DataFrame, *, title: str, table_columns: list[str] | None) -> None:
        """:func:`write` in the format and row limit asked for."""
        write(frame, fmt=self.fmt, title=title, table_columns=table_columns, limit=self.limit)


#: The options of :class:`ListOptions`, after each list command's own.
LIST_OPTIONS = {
    "since": (SinceOpt, None),
    "until": (UntilOpt, None),
    "fmt": (FormatOpt, "table"),
    "limit": (LimitOpt, 50),
    "fresh_graph": (FreshGraphOpt, False),
    **WAREHOUSE_OPTIONS,
}


@app.command("children")
@with_options(LIST_OPTIONS, param="opts", into=ListOptions)
def children_cmd(opts: ListOptions) -> None:
    """One row per child with an episode in the window: episodes, repeat rule, hours, interviews, found away,
    adults found with, locations of concern. Most repeated first."""
    from ctxrisk.analytics.protect.missing import child_columns, missing_children

    settings, table = opts.make_list("missing children", missing_children)
    names = child_columns(settings.missing)
    frame = with_age_text(table.frame)
    shown = [
        "person_id",
        "age",
        "looked_after",
        "episodes",
        names["max_in"],
        names["repeat"],
        "median_hours_missing",
        names["rhi_offered"],
        "rhi_completed_share",
        "found_away",
        "adults_found_with",
        "flagged_adult_found_with",
        "locations_of_concern",
    ]
    opts.write(frame, title="Children missing from home or care", table_columns=shown)
    say(" ".join(table.notes), opts.fmt)


@app.command("summary")
def summary_cmd(
    period: Annotated[str, typer.Option("--period", help="month or quarter.")] = "quarter",
    since: SinceOpt = None,
    until: UntilOpt = None,
    fmt: FormatOpt = "table",
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Per month or quarter: episodes, children, children missing repeatedly, interviews offered in time and
    completed, median hours to the interview, episodes from care, share found away. Exact counts: the steering
    report suppresses small ones."""
    from ctxrisk.analytics.protect.missing import missing_summary

    check_format(fmt, FORMATS)
    summary = partial(missing_summary, period=period, since=since, until=until)
    errors = (CtxriskError, ValueError)
    _, frame = make_list("missing summary", summary, config=config, warehouse=warehouse, fmt=fmt, errors=errors)
    write(frame, fmt=fmt, title=f"Missing episodes by {period}", table_columns=None, limit=len(frame) or 1)
