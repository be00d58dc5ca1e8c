"""The ``ctxrisk`` command line: init, ingest, status, sample and the analytics, map and report commands."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ctxrisk.cli.common import (
    ConfigOpt,
    ExitCode,
    State,
    WarehouseOpt,
    check_format,
    console,
    err_console,
    exit_code_for,
    fail,
    say_error,
    settings_from,
    setup_logging,
    usage_error,
    warehouse_session,
)
from ctxrisk.pipelines.errors import CtxriskError
from ctxrisk.pipelines.fsutil import printable
from ctxrisk.pipelines.kinds import KINDS

log = logging.getLogger("ctxrisk")


KeyFileOpt = Annotated[
    Path | None, typer.Option("--key-file", help="File holding the pseudonymisation key (else $CTXRISK_PSEUDO_KEY).")
]

app = typer.Typer(
    name="ctxrisk",
    help="Geospatial contextual-risk analytics for child safeguarding partnerships.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(
    config: ConfigOpt = None,
    log_level: Annotated[str, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR.")] = "WARNING",
    log_format: Annotated[str, typer.Option("--log-format", help="plain or json.")] = "plain",
) -> None:
    State.config = config
    State.log_format, State.log_level = log_format, log_level
    setup_logging(log_level, log_format)


@app.command()
def init(warehouse: WarehouseOpt = None, config: ConfigOpt = None) -> None:
    """Create the warehouse (or bring an existing one's schema up to date)."""
    from ctxrisk.pipelines.warehouse import SCHEMA_VERSION, apply_schema, audit, connect

    try:
        settings = settings_from(config, warehouse)
        con = connect(settings=settings)
        # Every schema file runs again even when the recorded fingerprint matches (connect skips them then):
        # init is how a view or table removed by hand is put back.
        apply_schema(con, force=True)
        audit(con, "init", target=str(settings.paths.warehouse))
        con.close()
    except CtxriskError as exc:
        raise fail(exc) from exc
    console.print(Text(f"warehouse {printable(str(settings.paths.warehouse))} ready (schema version {SCHEMA_VERSION})"))


def _ingest_kinds() -> list[str]:
    from ctxrisk.pipelines.sources import SOURCE_KINDS

    return [*KINDS, *SOURCE_KINDS]


@app.command()
def ingest(
    kind: Annotated[
        str,
        typer.Argument(
            help="incidents, persons, involvements, missing, associations, "
            "intelligence, screenings, referrals, or a public format "
            "(police-uk-street, police-uk-stop-search, police-uk-outcomes, "
            "ssda903-missing, annex-a, boundaries)."
        ),
    ],
    paths: Annotated[list[Path], typer.Argument(help="Files to ingest (CSV or Parquet; see docs/data-model.md).")],
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    pseudonymise: Annotated[
        bool, typer.Option("--pseudonymise", help="Replace person IDs by keyed HMAC-SHA256 pseudonyms before storing.")
    ] = False,
    key_file: KeyFileOpt = None,
    level: Annotated[
        str | None, typer.Option("--level", help="Boundaries only: lsoa11, lsoa21, msoa, ward, lad or force.")
    ] = None,
    code_field: Annotated[str | None, typer.Option("--code-field", help="Boundaries only: the code property.")] = None,
    name_field: Annotated[str | None, typer.Option("--name-field", help="Boundaries only: the name property.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Validate and load files of one kind; print rows read, loaded and rejected for each."""
    from ctxrisk.pipelines.pseudonymise import load_key
    from ctxrisk.pipelines.runner import ingest_paths
    from ctxrisk.pipelines.warehouse import connect

    if kind not in _ingest_kinds():
        raise usage_error(f"unknown kind {kind!r}; allowed: {', '.join(_ingest_kinds())}")
    try:
        settings = settings_from(config, warehouse)
        key = load_key(key_file=key_file) if pseudonymise else None
        # Only `init` (and a run whose settings file names the warehouse) creates one: a mistyped path says so.
        con = connect(settings=settings, create=False)
    except CtxriskError as exc:
        raise fail(exc) from exc
    options = {"level": level, "code_field": code_field, "name_field": name_field}
    results, failures = ingest_paths(con, kind, paths, settings=settings, pseudonymise_key=key, options=options)
    try:
        first_rejected = _first_rejected(con, results)
    finally:
        con.close()
    if fmt == "json":
        files = [r.as_dict() for r in results]
        for f in files:
            mine = [row for row in first_rejected if row["file_id"] == f["file_id"]]
            f["first_rejected"] = [{k: v for k, v in row.items() if k != "file_id"} for row in mine]
        console.print_json(
            json.dumps({"files": files, "failed": [{"path": p, "error": e} for p, e in failures]}, default=str)
        )
    else:
        _print_ingest_table(results)
        _print_rejected(first_rejected, sum(r.rows_rejected for r in results))
        for _path, error in failures:
            say_error(error)
    if failures:
        raise typer.Exit(ExitCode.INPUT_ERROR)


def _table(title: str, columns: Iterable[str], rows: Iterable[Iterable[Any]], *, right: Iterable[str] = ()) -> Table:
    """A rich table of ``rows`` under ``columns`` (those named in ``right`` right-aligned), cells as given."""
    table = Table(title=title)
    for name in columns:
        table.add_column(name, justify="right" if name in right else "left")
    for row in rows:
        table.add_row(*row)
    return table


def _count(value: int | None) -> str:
    """A count as a table shows it: ``1,234``, or blank when there is none."""
    return "" if value is None else f"{value:,}"


def _print_ingest_table(results: list) -> None:
    numbers = ("read", "loaded", "rejected", "replaced")
    rows = [
        (
            r.kind,
            Text(printable(Path(r.path).name)),
            *(f"{n:,}" for n in (r.rows_read, r.rows_loaded, r.rows_rejected, r.replaced)),
        )
        for r in results
    ]
    console.print(_table("ingest", ("kind", "file", *numbers), rows, right=numbers))
    totals = [
        sum(r.rows_read for r in results),
        sum(r.rows_loaded for r in results),
        sum(r.rows_rejected for r in results),
    ]
    for r in results:
        for note in r.notes:
            console.print(Text(f"{printable(Path(r.path).name)}: {printable(note)}"), highlight=False)
    console.print(
        f"read {totals[0]:,} = loaded {totals[1]:,} + rejected {totals[2]:,}"
        + (" (`ctxrisk status --rejected` lists every rejected row)" if totals[2] else "")
    )


#: Rejected rows printed per file after an ingest (``ctxrisk status --rejected`` lists them all).
FIRST_REJECTED = 5


def _first_rejected(con, results: list) -> list[dict]:
    """The first rejected rows of each file just ingested (file, line, column, reason; never the value)."""
    from ctxrisk.pipelines.status import rejected_rows

    ids = [r.file_id for r in results if r.file_id and r.rows_rejected]
    rows = []
    for file_id in ids:  # one file at a time keeps each row's file_id for the JSON output
        found, _ = rejected_rows(con, file_ids=[file_id], limit=FIRST_REJECTED)
        rows += [{**row, "file_id": file_id} for row in found]
    return rows


def _rejected_table(rows: list[dict], title: str) -> Table:
    cells = [
        (Text(printable(str(row["file"]))), _count(row["line"]), Text(printable(row["column"])), Text(row["reason"]))
        for row in rows
    ]
    return _table(title, ("file", "line", "column", "reason"), cells, right=("line",))


def _print_rejected(rows: list[dict], total: int) -> None:
    if not rows:
        return
    shown = f"the first {FIRST_REJECTED} of each file" if total > len(rows) else "all of them"
    console.print(_rejected_table(rows, f"rejected rows ({shown}; the values are not shown)"))


@app.command()
def status(
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json (csv too with --rejected).")] = "table",
    rejected: Annotated[
        bool,
        typer.Option(
            "--rejected", help="List the rejected rows instead: file, line, column and reason (never the value)."
        ),
    ] = False,
    limit: Annotated[int | None, typer.Option("--limit", help="With --rejected: at most this many rows.")] = None,
) -> None:
    """Row counts per table, ingested files with rejected rows, and the last runs (--rejected: which rows)."""
    from ctxrisk.pipelines.status import rejected_rows, warehouse_status

    check_format(fmt, ("table", "csv", "json") if rejected else ("table", "json"))
    if limit is not None and limit < 1:
        raise usage_error(f"--limit must be at least 1, got {limit}")
    if limit is not None and not rejected:
        raise usage_error("--limit goes with --rejected")
    with warehouse_session(config=config, warehouse=warehouse, write=False) as (settings, con):
        if rejected:
            rows, total = rejected_rows(con, limit=limit)
        else:
            info = warehouse_status(con)
            info["warehouse"] = str(settings.paths.warehouse)
    if rejected:
        _print_rejected_list(rows, total, fmt)
        return
    if fmt == "json":
        console.print_json(json.dumps(info, default=str))
        return
    _print_status(info)


def _print_status(info: dict[str, Any]) -> None:
    """The status tables: rows per table, sources, the commonest reasons rows were rejected, the last runs."""
    console.print(Text(f"warehouse {printable(info['warehouse'])} (schema version {info['schema_version']})"))
    counts = [(name, f"{count:,}") for name, count in info["tables"].items()]
    console.print(_table("tables", ("table", "rows"), counts, right=("rows",)))
    sources = [
        (
            s["kind"],
            *(f"{s[k]:,}" for k in ("files", "rows_read", "rows_loaded", "rows_rejected")),
            str(s["last_ingested_at"]),
        )
        for s in info["sources"]
    ]
    console.print(_table("sources", ("kind", "files", "read", "loaded", "rejected", "last ingested"), sources))
    if info["top_reject_reasons"]:
        reasons = [(Text(r["kind"]), Text(r["reason"]), f"{r['rows']:,}") for r in info["top_reject_reasons"]]
        console.print(_table("most common reasons rows were rejected", ("kind", "reason", "rows"), reasons))
    if info["runs"]:
        runs = [
            (
                r["run_id"],
                Text(r["step"]),
                r["status"],
                str(r["started_at"]),
                str(r["ended_at"]),
                _count(r["rows_loaded"]),
                Text(r["error"] or ""),
            )
            for r in info["runs"]
        ]
        console.print(_table("last runs", ("run", "step", "status", "started", "ended", "rows loaded", "error"), runs))
    if info.get("stale_marts"):
        names = ", ".join(m["mart"] for m in info["stale_marts"])
        console.print(
            Text(f"removed by a purge, not rebuilt yet: {names}; run `ctxrisk run` to rebuild them", style="yellow")
        )


def _print_rejected_list(rows: list[dict], total: int, fmt: str) -> None:
    import pandas as pd

    from ctxrisk.pipelines.spreadsheet import write_csv
    from ctxrisk.pipelines.status import REJECTED_COLUMNS

    if fmt == "json":
        console.print_json(json.dumps({"rejected_rows": total, "rows": rows}, default=str))
    elif fmt == "csv":
        write_csv(pd.DataFrame(rows, columns=list(REJECTED_COLUMNS)), sys.stdout, lineterminator="\n")
    elif rows:
        console.print(_rejected_table(rows, f"rejected rows ({len(rows):,} of {total:,}; the values are not shown)"))
    if fmt != "table":
        err_console.print(f"{len(rows):,} of {total:,} rejected row(s)", highlight=False)
    elif not rows:
        console.print("no rejected rows", highlight=False)


@app.command()
def sample(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the sample files to.")] = Path("data_samples"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same files.")] = 0,
    scale: Annotated[str, typer.Option("--scale", help="Number of incidents: 5000, 100k, 1M, 10M …")] = "5000",
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
) -> None:
    """Write a synthetic partnership over the real Cheshire East geography, with its ground truth."""
    from ctxrisk.synthetic.sample import generate_sample, parse_scale

    try:
        incidents = parse_scale(scale)
        summary = generate_sample(out, seed=seed, incidents=incidents, fmt=fmt)
    except CtxriskError as exc:
        raise fail(exc) from exc
    counts = ", ".join(f"{name} {count:,}" for name, count in summary.rows().items())
    console.print(f"wrote a synthetic partnership to {out} in {summary.seconds:.1f} s: {counts}", highlight=False)


@app.command("check-pii")
def check_pii(
    paths: Annotated[list[Path], typer.Argument(help="CSV or Parquet files to scan before ingest.")],
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """List columns that look identifying (names, dates of birth, NHS numbers, postcodes …); exit 1 if any."""
    from ctxrisk.pipelines.identifiers import find_identifier_columns
    from ctxrisk.pipelines.tabular import read_text_table

    found: list[dict[str, str]] = []
    try:
        for path in paths:
            table = read_text_table(path)
            for f in find_identifier_columns(table.header, table.frame.head(5000)):
                found.append({"file": str(path), "column": f.column, "reason": f.reason, "evidence": f.evidence})
    except CtxriskError as exc:
        raise fail(exc) from exc
    if fmt == "json":
        console.print_json(json.dumps(found))
    elif found:
        columns = ("file", "column", "reason", "evidence")
        console.print(_table("columns that look identifying", columns, ([f[c] for c in columns] for f in found)))
    else:
        console.print("no identifying columns found")
    if found:
        raise typer.Exit(ExitCode.INPUT_ERROR)


class _RichRunProgress:
    """A rich progress bar for ``ctxrisk run`` on a terminal (one bar for the steps, a line per file)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        )
        self._task = None

    def run_started(self, run_id: str, steps: list) -> None:
        self._bar.start()
        self._task = self._bar.add_task(f"run {run_id}", total=max(len(steps), 1))

    def step_started(self, step, index: int) -> None:
        self._bar.update(self._task, description=f"{step.name}")

    def file_done(self, step, outcome) -> None:
        colour = {"ok": "green", "skipped": "dim", "quarantined": "yellow", "failed": "red"}.get(outcome.status, "")
        # File names and reasons come from outside: escaped (rich markup, control characters), never interpreted.
        name = escape(printable(Path(outcome.path).name))
        text = f"  {escape(step.name)}: {name} [{colour}]{outcome.status}[/]"
        if outcome.reason:
            text += f": {escape(printable(outcome.reason))}"
        elif outcome.status == "ok":
            text += f" (loaded {outcome.rows_loaded:,}, rejected {outcome.rows_rejected:,})"
        self._bar.console.print(text, highlight=False)

    def step_finished(self, result) -> None:
        colour = "green" if result.status == "ok" else "yellow" if result.status in ("skipped", "partial") else "red"
        self._bar.console.print(
            f"[{colour}]{result.status}[/] {escape(result.name)} ({result.seconds:.1f} s)"
            + (f": {escape(printable(result.error))}" if result.error and not result.files else ""),
            highlight=False,
        )
        self._bar.advance(self._task)

    def run_finished(self, summary) -> None:
        self._bar.stop()


@app.command()
def run(
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    pseudonymise: Annotated[
        bool,
        typer.Option(
            "--pseudonymise", help="Replace person IDs in dropped files by keyed HMAC-SHA256 pseudonyms before storing."
        ),
    ] = False,
    key_file: KeyFileOpt = None,
    progress: Annotated[
        str, typer.Option("--progress", help="auto (a bar on a terminal, log lines otherwise), bar or lines.")
    ] = "auto",
    fmt: Annotated[str, typer.Option("--format", help="table or json (the summary on stdout).")] = "table",
    log_format: Annotated[
        str | None, typer.Option("--log-format", help="plain or json log lines on stderr (as the global option).")
    ] = None,
) -> None:
    """Run the whole job: ingest new files from the drop folders, then analytics, maps and report.

    Exit codes: 0 all done; 1 settings or key not usable; 3 warehouse schema mismatch; 4 another run holds the
    lock; 5 finished, but files were quarantined or steps failed; 143 stopped by SIGTERM (rolled back to the
    last commit). See docs/operations.md.
    """
    import logging as _logging

    from ctxrisk.jobs.run import LogProgress, Terminated, run_job
    from ctxrisk.pipelines.pseudonymise import load_key
    from ctxrisk.pipelines.warehouse import run_may_create

    if progress not in ("auto", "bar", "lines") or fmt not in ("table", "json"):
        raise usage_error("--progress is auto, bar or lines; --format is table or json")
    if log_format is not None:
        if log_format not in ("plain", "json"):
            raise usage_error("--log-format is plain or json")
        State.log_format = log_format
        setup_logging(State.log_level, log_format)
    use_bar = progress == "bar" or (progress == "auto" and err_console.is_terminal and State.log_format != "json")
    jobs_log = _logging.getLogger("ctxrisk.jobs.run")
    if not use_bar and jobs_log.getEffectiveLevel() > _logging.INFO:
        jobs_log.setLevel(_logging.INFO)  # plain line logs under cron and systemd
    try:
        settings = settings_from(config, warehouse)
        key = load_key(key_file=key_file) if pseudonymise else None
        summary = run_job(
            settings,
            pseudonymise_key=key,
            progress=_RichRunProgress() if use_bar else LogProgress(),
            create_warehouse=run_may_create(settings, override=warehouse),  # a typo creates no warehouse
        )
    except CtxriskError as exc:
        raise fail(exc) from exc
    except Terminated as exc:
        err_console.print(
            f"[bold red]stopped:[/] {escape(str(exc))}; the open step was rolled back, the next run redoes it",
            highlight=False,
        )
        raise typer.Exit(128 + 15) from None
    if fmt == "json":
        console.print_json(json.dumps(summary.as_dict(), default=str))
    else:
        numbers = ("read", "loaded", "rejected", "seconds")
        steps = [
            (
                Text(printable(r.name)),
                r.status,
                *(_count(n) for n in (r.rows_read, r.rows_loaded, r.rows_rejected)),
                f"{r.seconds:.1f}",
                Text(printable((r.detail if r.files else r.error or r.detail) or "")),
            )
            for r in summary.steps
        ]
        title = f"run {summary.run_id}: {summary.status}"
        console.print(_table(title, ("step", "status", *numbers, "detail / error"), steps, right=numbers))
        for f in summary.quarantined:
            console.print(Text(printable(f"quarantined {f.path} -> {f.moved_to}: {f.reason}")), highlight=False)
        console.print(summary.headline(), highlight=False)
    if summary.status != "ok":
        raise typer.Exit(ExitCode.PARTIAL)


@app.command()
def purge(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than", help="Retention period: e.g. 7y, 18m, 6w, 30d or 1y6m (d days, w weeks, m months, y years)."
        ),
    ],
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be removed; change nothing.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Remove events (and their involvements, area links, rejected rows) older than the retention period."""
    from ctxrisk.pipelines.purge import purge as purge_records

    try:
        settings = settings_from(config, warehouse)
        result = purge_records(settings, older_than, dry_run=dry_run)
    except CtxriskError as exc:
        raise fail(exc) from exc
    if fmt == "json":
        console.print_json(json.dumps(result.as_dict()))
        return
    title = f"{'would remove (dry run)' if dry_run else 'removed'}: records before {result.cutoff:%Y-%m-%d %H:%M} UTC"
    counts = [(name, f"{count:,}") for name, count in result.deleted.items()]
    console.print(_table(title, ("table", "rows"), counts, right=("rows",)))
    console.print(f"{'would remove' if dry_run else 'removed'} {result.total:,} row(s)", highlight=False)


from ctxrisk.cli import graph as _graph  # noqa: E402 - the command groups mount on the app defined above
from ctxrisk.cli import hotspots as _hotspots  # noqa: E402
from ctxrisk.cli import locations as _locations  # noqa: E402
from ctxrisk.cli import mace as _mace  # noqa: E402
from ctxrisk.cli import maps as _maps  # noqa: E402
from ctxrisk.cli import missing as _missing  # noqa: E402
from ctxrisk.cli import report as _report  # noqa: E402

app.add_typer(_hotspots.app, name="hotspots")
app.add_typer(_locations.app, name="locations")
app.add_typer(_graph.app, name="graph")
app.add_typer(_maps.app, name="map")
app.add_typer(_missing.app, name="missing")
app.add_typer(_mace.app, name="mace")
_report.register(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except CtxriskError as exc:
        say_error(exc)
        sys.exit(exit_code_for(exc))


if __name__ == "__main__":
    main()
