"""What every ctxrisk command shares: exit codes, consoles, options, settings, logging, the warehouse, errors."""

from __future__ import annotations

import functools
import inspect
import json
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import IO, Annotated, Any, TypeVar

import duckdb
import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape

from ctxrisk.pipelines.errors import CtxriskError, LockError, SchemaVersionError
from ctxrisk.pipelines.fsutil import printable
from ctxrisk.pipelines.settings import Settings, load_settings

log = logging.getLogger("ctxrisk")

F = TypeVar("F", bound=Callable[..., Any])
#: An option several commands share, declared once: its ``Annotated[type, typer.Option(...)]`` and its default.
Option = tuple[Any, Any]


class ExitCode(IntEnum):
    """Documented exit codes of every ctxrisk command."""

    OK = 0
    INPUT_ERROR = 1  # a file or option could not be accepted (nothing loaded from that file)
    USAGE = 2  # wrong command-line usage (typer's own code)
    SCHEMA = 3  # the warehouse was made by another schema version
    LOCKED = 4  # another run holds the lock
    PARTIAL = 5  # the run finished, but some files were quarantined or some steps failed


#: Width of a console that is not a terminal (a pipe, a cron log, ``make demo``) when $COLUMNS is unset.
PIPE_WIDTH = 200


class WideConsole(Console):
    """A rich console that is as wide as the terminal, or, when not writing to one, ``$COLUMNS`` (else
    :data:`PIPE_WIDTH`) wide: tables in logs and captured output keep whole headers instead of being cut
    to rich's 80-column fallback."""

    @property
    def size(self) -> ConsoleDimensions:
        dims = super().size
        if self.is_terminal:
            return dims
        # rich sets _width from $COLUMNS (or the width asked for) when the console is made; else rich's 80.
        return ConsoleDimensions(self._width or PIPE_WIDTH, dims.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)


def make_console(*, stderr: bool = False, file: IO[str] | None = None) -> Console:
    """A ctxrisk console (see :class:`WideConsole`) on stdout, stderr or ``file``; no console elsewhere."""
    return WideConsole(stderr=stderr, file=file, soft_wrap=True)


console = make_console()
err_console = make_console(stderr=True)

WarehouseOpt = Annotated[
    Path | None, typer.Option("--warehouse", help="DuckDB file (default from settings or $CTXRISK_WAREHOUSE).")
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Settings TOML file (default ./ctxrisk.toml).")]
#: The warehouse options, last on most commands (see :func:`with_options`).
WAREHOUSE_OPTIONS: dict[str, Option] = {"warehouse": (WarehouseOpt, None), "config": (ConfigOpt, None)}


class State:
    """Options shared by every command."""

    config: Path | None = None
    log_format: str = "plain"
    log_level: str = "WARNING"


def settings_from(config: Path | None, warehouse: Path | None) -> Settings:
    """Load settings with the command line's overrides."""
    return load_settings(config or State.config, warehouse=warehouse)


def setup_logging(level: str = "INFO", fmt: str = "plain") -> None:
    """Log to stderr as plain lines (or JSON lines with ``fmt='json'``)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":

        class JsonFormatter(logging.Formatter):
            def format(self, record: logging.LogRecord) -> str:
                return json.dumps(
                    {
                        "time": self.formatTime(record),
                        "level": record.levelname,
                        "logger": record.name,
                        "message": record.getMessage(),
                    }
                )

        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(EscapingFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())


class EscapingFilter(logging.Filter):
    """Escape control characters in every log message: a newline in a file name must not forge a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = printable(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def exit_code_for(exc: BaseException) -> ExitCode:
    """The documented exit code of an error: 3 schema mismatch, 4 locked, 1 anything else refused."""
    if isinstance(exc, SchemaVersionError):
        return ExitCode.SCHEMA
    if isinstance(exc, LockError):
        return ExitCode.LOCKED
    return ExitCode.INPUT_ERROR


def say_error(message: object) -> None:
    """Print ``error: <message>`` on stderr; the message is shown as written (no rich markup read in it)."""
    err_console.print(f"[bold red]error:[/] {escape(printable(str(message)))}", highlight=False)


def fail(exc: Exception) -> typer.Exit:
    """Print an error for the analyst and return the exit to raise (see :func:`exit_code_for`)."""
    say_error(exc)
    return typer.Exit(exit_code_for(exc))


def usage_error(message: str) -> typer.Exit:
    """Print a usage error and return the exit to raise (2, as typer's own)."""
    say_error(message)
    return typer.Exit(ExitCode.USAGE)


def check_format(fmt: str, formats: tuple[str, ...] | None = None) -> None:
    """Refuse an unknown ``--format`` before any work is done (exit 2); default the emitter's formats."""
    from ctxrisk.cli.formats import FORMATS

    allowed = formats or FORMATS
    if fmt not in allowed:
        raise usage_error(f"--format must be one of {list(allowed)}, got {fmt!r}")


def open_warehouse(
    config: Path | None, warehouse: Path | None, *, write: bool = True
) -> tuple[Settings, duckdb.DuckDBPyConnection]:
    """Load settings (``--config``, else the root ``--config``) and open the warehouse."""
    from ctxrisk.pipelines.warehouse import connect

    settings = settings_from(config, warehouse)
    # Commands that open a warehouse through here read or analyse it: a mistyped path creates nothing.
    return settings, connect(settings.paths.warehouse, settings=settings, read_only=not write, create=False)


@contextmanager
def warehouse_session(
    *,
    config: Path | None,
    warehouse: Path | None,
    write: bool = True,
    errors: tuple[type[Exception], ...] = (CtxriskError,),
) -> Iterator[tuple[Settings, duckdb.DuckDBPyConnection]]:
    """Settings and an open warehouse for a command's work; closed after it, a refusal shown as :func:`fail`.

    Parameters
    ----------
    config, warehouse : Path or None
        The command's ``--config`` (else the root ``--config``) and ``--warehouse``.
    write : bool
        Open for writing (marts, the audit trail); False opens read-only.
    errors : tuple of exception types
        Errors, raised opening the warehouse or in the ``with`` block, that become an error message and
        the exit code of :func:`exit_code_for` (default :class:`~ctxrisk.pipelines.errors.CtxriskError`).

    Yields
    ------
    tuple of (Settings, duckdb.DuckDBPyConnection)
    """
    try:
        settings, con = open_warehouse(config, warehouse, write=write)
        try:
            yield settings, con
        finally:
            con.close()
    except errors as exc:
        raise fail(exc) from exc


def with_options(options: Mapping[str, Option], *, param: str, into: Callable[..., Any] = dict) -> Callable[[F], F]:
    """Give a typer command ``options`` after its own; it gets their values as one argument.

    Parameters
    ----------
    options : mapping of str to Option
        The shared options by parameter name, in the order ``--help`` lists them (after the command's own).
    param : str
        The command's parameter that gets ``into(**values)``; it is not an option itself.
    into : callable
        Makes that argument from the shared options' values (default a dict).

    Returns
    -------
    callable
        A decorator; the decorated command keeps its name and docstring (its ``--help``).
    """

    def decorate(fn: F) -> F:
        # eval_str: typer reads each option's help from its Annotated type, not from the text of one
        own = [p for p in inspect.signature(fn, eval_str=True).parameters.values() if p.name != param]
        shared = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
            for name, (annotation, default) in options.items()
        ]

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in options}
            return fn(**kwargs, **{param: into(**values)})

        command.__signature__ = inspect.Signature([*own, *shared])
        hints = {name: hint for name, hint in fn.__annotations__.items() if name != param}
        command.__annotations__ = {**hints, **{name: annotation for name, (annotation, _) in options.items()}}
        return command  # type: ignore[return-value]

    return decorate
