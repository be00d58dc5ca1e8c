"""The ``ctxrisk report`` command: write the steering-group outcome report for a period as HTML or an A4 PDF."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from ctxrisk.cli.common import ConfigOpt, WarehouseOpt, console, fail, warehouse_session
from ctxrisk.maps import indicators as ind
from ctxrisk.pipelines.errors import CtxriskError, ValidationError

__all__ = ["FORMATS", "check_period_has_data", "choose_period", "register", "write_report"]

#: Output formats of ``ctxrisk report``: a self-contained HTML page (default) or an A4 PDF for board papers.
FORMATS = ("html", "pdf")

logger = logging.getLogger(__name__)


def choose_period(period: str | None, since: str | None, until: str | None) -> ind.Period | None:
    """Turn ``--period`` or ``--since``/``--until`` into a Period (None: the default period).

    Raises
    ------
    ValidationError
        When ``--period`` is combined with ``--since``/``--until``, or only one of those two is given.
    """
    if period is not None and (since is not None or until is not None):
        msg = "give either --period or --since and --until, not both"
        raise ValidationError(msg)
    if (since is None) != (until is None):
        msg = "--since and --until go together: give both (dates written YYYY-MM-DD, both days included)"
        raise ValidationError(msg)
    if period is not None:
        return ind.parse_period(period)
    if since is not None and until is not None:
        return ind.period_from_dates(since, until)
    return None


def check_period_has_data(con, period: ind.Period, *, today: date | None = None) -> None:
    """Refuse a report that could only show "no data": an empty warehouse, or a period in the future or after
    the last record of every feed (``marts.indicators_feed_coverage``).

    Raises
    ------
    ValidationError
        Saying why, and which period would have data.
    """
    from ctxrisk.maps.report_coverage import FEEDS, read_coverage

    today = today or datetime.now(UTC).date()
    spans = [s for s in read_coverage(con).spans.values() if s.loaded]
    if not spans:
        feeds = ", ".join(name.split(" (")[0].lower() for name in FEEDS.values())
        msg = f"the warehouse holds no records ({feeds}): load them with `ctxrisk ingest` or `ctxrisk run` first"
        raise ValidationError(msg)
    if period.start > today:
        msg = f"{period.long_label} has not begun (today is {today.day} {today:%b %Y}): choose a period that has"
        raise ValidationError(msg)
    last = max(s.last for s in spans)
    if period.start > last:
        default = ind.default_period(con, today=today)
        msg = (
            f"no feed has a record in {period.long_label}: the last record of any feed is dated "
            f"{last.day} {last:%b %Y}; choose an earlier period (the default is {default.label})"
        )
        raise ValidationError(msg)


def write_report(
    con,
    out: str | Path,
    *,
    settings,
    period: ind.Period | None = None,
    today: date | None = None,
    fmt: str = "html",
) -> tuple[Path, ind.Period]:
    """Build the report, write it atomically (mode 0600) and record an audit row (edition ``steering``).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A writable warehouse connection (the audit row is written to ``meta.audit``).
    out : str or Path
        The file to write; its folder is created when missing.
    settings : Settings
    period : Period or None
        None for :func:`ctxrisk.maps.indicators.default_period`.
    today : datetime.date, optional
        For the default period.
    fmt : {"html", "pdf"}
        ``html``: the self-contained page; ``pdf``: the same page printed to A4 by headless Chromium.

    Returns
    -------
    (Path, Period)
        The written file and the period reported on.
    """
    from ctxrisk.maps.report import build_report
    from ctxrisk.maps.report_pdf import html_to_pdf
    from ctxrisk.maps.selfcontained import write_html
    from ctxrisk.pipelines.warehouse import audit

    if fmt not in FORMATS:
        msg = f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}"
        raise ValidationError(msg)
    if Path(out).is_dir():
        msg = f"--out {out} is a folder; give a file name such as {Path(out) / ('report.' + fmt)}"
        raise ValidationError(msg)
    if period is None:
        period = ind.default_period(con, today=today)
    check_period_has_data(con, period, today=today)
    html = build_report(con, period=period, settings=settings, today=today)
    if fmt == "pdf":
        title = f"Contextual safeguarding outcome report: {period.label}"
        path = html_to_pdf(html, out, title=title)
    else:
        path = write_html(html, out)
    audit(
        con,
        "report",
        edition="steering",
        target=str(path),
        detail=f"outcome report {period.label} against {period.previous().label} ({fmt})",
    )
    logger.info("wrote outcome report for %s to %s", period.label, path)
    return path, period


def register(app: typer.Typer) -> None:
    """Add the top-level ``report`` command to the ``ctxrisk`` app."""

    @app.command("report")
    def report(
        out: Annotated[Path, typer.Option("--out", help="File to write (owner-only): HTML page or A4 PDF.")],
        fmt: Annotated[
            str,
            typer.Option("--format", help="html (self-contained page, the default) or pdf (A4, for board papers)."),
        ] = "html",
        period: Annotated[
            str | None,
            typer.Option(
                "--period",
                help="Quarter (2026Q3), month (2026-07) or year (2026); compared with the one before. "
                "Default: the last complete quarter.",
            ),
        ] = None,
        since: Annotated[str | None, typer.Option("--since", help="First day, YYYY-MM-DD (with --until).")] = None,
        until: Annotated[str | None, typer.Option("--until", help="Last day, YYYY-MM-DD, included.")] = None,
        warehouse: WarehouseOpt = None,
        config: ConfigOpt = None,
    ) -> None:
        """Write the steering-group outcome report: this period against the previous one, small numbers suppressed."""
        try:
            if fmt not in FORMATS:
                msg = f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}"
                raise ValidationError(msg)
            chosen = choose_period(period, since, until)
        except CtxriskError as exc:
            raise fail(exc) from exc
        with warehouse_session(config=config, warehouse=warehouse) as (settings, con):  # a mistyped path: refused
            path, used = write_report(con, out, settings=settings, period=chosen, fmt=fmt)
        console.print(
            f"wrote {path}: outcome report for {used.long_label}, compared with {used.previous().long_label}",
            highlight=False,
        )
