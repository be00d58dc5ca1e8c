"""The DuckDB warehouse: open or create it, apply the layered SQL schema, check its version, write marts."""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd

from ctxrisk import __version__
from ctxrisk.pipelines.errors import CtxriskError, SchemaVersionError, ValidationError
from ctxrisk.pipelines.fsutil import private_umask, secure_mkdir
from ctxrisk.pipelines.settings import Settings, load_settings

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
LAYERS = ("meta", "raw", "staging", "marts")
_MART_NAME = "abcdefghijklmnopqrstuvwxyz0123456789_"


@functools.cache
def schema_files() -> tuple[tuple[str, str, str], ...]:
    """Return ``(layer, file name, sql)`` for every schema file, in the order they are applied."""
    root = resources.files("ctxrisk.pipelines").joinpath("sql")
    out: list[tuple[str, str, str]] = []
    for layer in LAYERS:
        folder = root.joinpath(layer)
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".sql"):
                out.append((layer, entry.name, entry.read_text(encoding="utf-8")))
    return tuple(out)


@functools.cache
def schema_fingerprint() -> str:
    """SHA-256 over every schema file's layer, name and text, in the order they are applied."""
    digest = hashlib.sha256()
    for layer, name, sql in schema_files():
        digest.update(f"{layer}/{name}\x00{sql}\x00".encode())
    return digest.hexdigest()


def _stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    try:
        row = con.execute("select max(schema_version) from meta.schema_info").fetchone()
    except duckdb.CatalogException:  # a new file: no schema yet
        return None
    return None if row is None or row[0] is None else int(row[0])


def _applied_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    try:
        row = con.execute("select max(fingerprint) from meta.schema_applied").fetchone()
    except duckdb.CatalogException:  # made before fingerprints were recorded, or a new file
        return None
    return None if row is None else row[0]


def apply_schema(con: duckdb.DuckDBPyConnection, *, force: bool = False) -> bool:
    """Create every schema object that is missing and record the schema version; True when the files ran.

    The files are run only when the warehouse's recorded fingerprint (:func:`schema_fingerprint`) differs
    from this ctxrisk's, or with ``force``, so an unchanged warehouse opens without running them again.
    """
    fingerprint = schema_fingerprint()
    if not force and _applied_fingerprint(con) == fingerprint:
        return False
    files = schema_files()
    with transaction(con):
        for _layer, _name, sql in files:
            con.execute(sql)
        if _stored_version(con) is None:
            con.execute(
                "insert into meta.schema_info values (?, ?, ?)", [SCHEMA_VERSION, datetime.now(UTC), __version__]
            )
        con.execute("delete from meta.schema_applied")
        con.execute("insert into meta.schema_applied values (?, ?, ?)", [fingerprint, datetime.now(UTC), __version__])
    log.debug("applied %s schema file(s)", f"{len(files):,}")
    return True


def check_version(con: duckdb.DuckDBPyConnection, path: Path | str) -> None:
    """Raise SchemaVersionError when the warehouse was made by another schema version."""
    stored = _stored_version(con)
    if stored is None or stored == SCHEMA_VERSION:
        return
    if stored > SCHEMA_VERSION:
        msg = (
            f"{path} uses warehouse schema version {stored}, newer than this ctxrisk ({__version__}, schema "
            f"{SCHEMA_VERSION}); upgrade ctxrisk to open it"
        )
    else:
        msg = (
            f"{path} uses warehouse schema version {stored}, older than this ctxrisk's schema {SCHEMA_VERSION}; "
            "re-create it with `ctxrisk init --warehouse NEW` and ingest the source files again"
        )
    raise SchemaVersionError(msg)


class WarehouseMissingError(ValidationError):
    """The warehouse file does not exist and the command may not create one."""


def require_warehouse(path: str | Path) -> Path:
    """Return ``path`` when it is an existing warehouse file; otherwise raise, creating nothing.

    Raises
    ------
    WarehouseMissingError
        Nothing is at ``path`` (the message suggests ``ctxrisk init``).
    ValidationError
        Something other than a file is there.
    """
    path = Path(path)
    if not path.exists():
        msg = (
            f"warehouse {path} does not exist (nothing was created): check the path, or create it with "
            f"`ctxrisk init --warehouse {path}`"
        )
        raise WarehouseMissingError(msg)
    if not path.is_file():
        msg = f"warehouse {path} is not a file: give the path of a DuckDB file"
        raise ValidationError(msg)
    return path


def run_may_create(settings: Settings, *, override: str | Path | None = None) -> bool:
    """Whether a run may create the warehouse: only at the path its settings file names.

    ``ctxrisk run`` creates the warehouse only at the path its configuration file names in ``[paths]
    warehouse``: a missing warehouse given by ``--warehouse``, ``$CTXRISK_WAREHOUSE`` or the built-in default
    is most likely a typo (or the wrong folder), so nothing is created.

    Returns
    -------
    bool
        True when the warehouse exists or the settings file names it in ``[paths] warehouse``.
    """
    import tomllib

    from ctxrisk.pipelines.settings import ENV_WAREHOUSE

    path = Path(settings.paths.warehouse)
    if path.exists():
        return True
    named = False
    if override is None and not os.environ.get(ENV_WAREHOUSE) and settings.source is not None:
        try:
            named = "warehouse" in tomllib.loads(Path(settings.source).read_text(encoding="utf-8")).get("paths", {})
        except (OSError, tomllib.TOMLDecodeError):
            named = False
    return named


def _secure_parent(path: Path) -> None:
    secure_mkdir(path.parent)


def connect(
    path: str | Path | None = None,
    *,
    read_only: bool = False,
    settings: Settings | None = None,
    create: bool = True,
) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed and allowed) the warehouse and make sure its schema is current.

    Parameters
    ----------
    path : str, Path or None
        The DuckDB file, or ``":memory:"``. When None, ``settings.paths.warehouse``.
    read_only : bool
        Open without write access (the file must exist).
    settings : Settings or None
        Loaded with :func:`ctxrisk.pipelines.settings.load_settings` when None.
    create : bool
        Create the file (and its folders) when missing. Commands that only read or analyse pass False, so a
        mistyped ``--warehouse`` creates nothing and says so (only ``init`` and ``run`` create).

    Returns
    -------
    duckdb.DuckDBPyConnection
        With its time zone set to UTC.

    Raises
    ------
    SchemaVersionError
        When the file was made by another schema version.
    """
    if path is None:
        path = (settings or load_settings()).paths.warehouse
    memory = str(path) == ":memory:"
    if not memory:
        # Owner-only from the first byte: the file, its write-ahead log and spill folder hold data about children.
        private_umask()
        path = Path(path)
        if read_only or not create:
            require_warehouse(path)
        _secure_parent(path)
        created = not path.exists()
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        msg = (
            f"cannot open warehouse {path}: {exc}. If the file was damaged (a full disk, a copy cut short), "
            "restore it from a backup"
        )
        raise ValidationError(msg) from exc
    con.execute("set TimeZone = 'UTC'")
    check_version(con, path)
    if not read_only:
        apply_schema(con)
        if not memory and created:
            # Owner-only: this file holds data about children.
            os.chmod(path, 0o600)
    return con


def load_spatial(con: duckdb.DuckDBPyConnection) -> None:
    """Load DuckDB's spatial extension from the installed ``duckdb-extension-spatial`` wheel (no download)."""
    try:
        con.execute("load spatial")
        return
    except duckdb.Error:
        pass
    from duckdb_extensions import import_extension

    import_extension("spatial", con=con)
    con.execute("load spatial")


# Connections (by id) with a transaction opened by :func:`transaction`, and how deeply it is nested. DuckDB
# aborts the open transaction when asked to begin a second one, so nesting is tracked here instead.
_OPEN_TRANSACTIONS: dict[int, int] = {}


class StorageFullError(CtxriskError):
    """The disk holding the warehouse (or its write-ahead log or spill folder) is full; the work was rolled back."""


_FULL_MESSAGE = (
    "the disk holding the warehouse is full (no space left on device): this work was rolled back and is redone "
    "by the next run; free some space (see `df -h`) before then"
)


def storage_full(exc: BaseException) -> bool:
    """True when ``exc`` (or its cause) says the disk is full."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if "No space left on device" in str(exc):
            return True
        exc = exc.__cause__
    return False


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run a block in one transaction: all of it is committed, or none of it.

    Inside a transaction opened by an outer ``transaction(con)`` (a run step, say) the block joins it: the
    outer transaction commits or rolls back the block's work with its own.
    """
    key = id(con)
    if _OPEN_TRANSACTIONS.get(key):
        _OPEN_TRANSACTIONS[key] += 1
        try:
            yield con
        finally:
            _OPEN_TRANSACTIONS[key] -= 1
        return
    con.execute("begin transaction")
    _OPEN_TRANSACTIONS[key] = 1
    try:
        yield con
    except BaseException as exc:
        with contextlib.suppress(duckdb.Error):  # a failed write may have ended the transaction already
            con.execute("rollback")
        if storage_full(exc):
            raise StorageFullError(_FULL_MESSAGE) from exc
        raise
    else:
        try:
            con.execute("commit")
        except duckdb.Error as exc:
            if storage_full(exc):
                raise StorageFullError(_FULL_MESSAGE) from exc
            raise
    finally:
        _OPEN_TRANSACTIONS.pop(key, None)


def stale_marts(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Marts emptied by a purge and not rebuilt since: ``mart -> reason`` (``meta.stale_marts``).

    A reader treats a stale mart as not built: its rows were removed with the records they came from, and an
    empty mart would otherwise read as "nothing found".
    """
    try:
        rows = con.execute("select mart, reason from meta.stale_marts order by mart").fetchall()
    except duckdb.CatalogException:  # a warehouse older than the table
        return {}
    return {str(m): str(r) for m, r in rows}


_DECLARED = re.compile(r"create\s+table\s+if\s+not\s+exists\s+marts\.\"?([a-z0-9_]+)\"?", re.IGNORECASE)


#: Declared marts written here checked against their files. The hot spot marts have their own writer
#: (``ctxrisk.analytics.marts``); until every caller writes whole frames, other names keep the old path.
_CHECKED_PREFIXES = ("graph_",)


@functools.cache
def declared_marts() -> dict[str, str]:
    """``mart -> sql`` for every mart a ``pipelines/sql/marts`` file declares (its whole file's text)."""
    return {
        m.group(1): sql for layer, _name, sql in schema_files() if layer == "marts" for m in _DECLARED.finditer(sql)
    }


def _mart_columns(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ? "
        "order by ordinal_position",
        [name],
    ).fetchall()
    return [r[0] for r in rows]


def write_mart(con: duckdb.DuckDBPyConnection, name: str, df: pd.DataFrame) -> int:
    """Atomically replace the rows of ``marts.<name>`` with ``df``; return the row count.

    A mart declared in ``pipelines/sql/marts`` (:func:`declared_marts`) whose name starts with one of
    :data:`_CHECKED_PREFIXES` is made again from its file (so its declared columns and types hold even
    on a warehouse an older ctxrisk wrote, or when the table was dropped) and ``df`` is inserted by
    column name: a column the file declares that ``df`` lacks, or one ``df`` has that the file does not
    declare, is an error, and so is a value that cannot take the declared type or a null in a ``not
    null`` column. Any other mart is made from ``df``'s own columns. Inside a :func:`transaction` (e.g.
    a ``ctxrisk run`` step) the table is replaced as part of it.

    Parameters
    ----------
    name : str
        Lower-case letters, digits and ``_`` only.

    Raises
    ------
    ValidationError
        A bad name, a missing or extra column, or a value the declared column cannot hold.
    """
    if not name or any(ch not in _MART_NAME for ch in name):
        msg = f"mart name {name!r} must be lower-case letters, digits and _"
        raise ValidationError(msg)
    view = f"_mart_src_{name}"
    con.register(view, df)
    try:
        with transaction(con):
            if name in declared_marts() and name.startswith(_CHECKED_PREFIXES):
                _replace_declared(con, name, [str(c) for c in df.columns], view)
            else:
                con.execute(f'create or replace table marts."{name}" as select * from "{view}"')
            con.execute("delete from meta.stale_marts where mart = ?", [name])  # rebuilt after a purge
    finally:
        con.unregister(view)
    log.info("wrote mart %s with %s rows", name, f"{len(df):,}")
    return len(df)


def _replace_declared(con: duckdb.DuckDBPyConnection, name: str, columns: list[str], view: str) -> None:
    """Re-make declared ``marts.<name>`` from its file and insert ``view``'s columns by name."""
    con.execute(f'drop table if exists marts."{name}"')
    con.execute(declared_marts()[name])  # every "if not exists": the file's other tables are left as they are
    declared = _mart_columns(con, name)
    missing = [c for c in declared if c not in columns]
    extra = [c for c in columns if c not in declared]
    if missing or extra:
        parts = [f"lacks declared column(s) {missing}" if missing else "", f"has undeclared {extra}" if extra else ""]
        msg = f"mart {name}: the frame " + " and ".join(p for p in parts if p) + f" (declared: {declared})"
        raise ValidationError(msg)
    quoted = ", ".join(f'"{c}"' for c in declared)
    try:
        con.execute(f'insert into marts."{name}" ({quoted}) select {quoted} from "{view}"')
    except (duckdb.ConversionException, duckdb.ConstraintException, duckdb.BinderException) as exc:
        msg = f"mart {name}: a value does not fit its declared column: {exc}"
        raise ValidationError(msg) from exc


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of every raw and marts table, keyed ``schema.table``."""
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('raw', 'marts') and table_type = 'BASE TABLE' order by 1, 2"
    ).fetchall()
    return {
        f"{schema}.{table}": con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
        for schema, table in rows
    }


def audit(
    con: duckdb.DuckDBPyConnection,
    action: str,
    *,
    edition: str | None = None,
    target: str | None = None,
    detail: str | None = None,
) -> None:
    """Record an action in ``meta.audit`` with the OS user that made it."""
    try:
        user = os.getlogin()
    except OSError:
        import getpass

        user = getpass.getuser()
    con.execute(
        "insert into meta.audit values (?, ?, ?, ?, ?, ?)",
        [datetime.now(UTC), action, edition, target, user, detail],
    )
