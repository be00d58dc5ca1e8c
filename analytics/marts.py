"""Write the hot spot marts with the columns and types their SQL files declare, and the run table.

The marts ``hotspots``, ``hotspot_periods``, ``hotspot_backtest`` and ``hotspot_themes`` are declared in
``pipelines/sql/marts/07*.sql`` and ``meta.hotspot_runs`` in ``pipelines/sql/meta/010_hotspot_runs.sql``. A
frame is written by name: a column the SQL does not declare, a missing ``not null`` value or a value of the
wrong type is an error, not a silently different table.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.warehouse import schema_files, transaction

__all__ = ["declared_columns", "read_run", "record_run", "replace_mart"]

_FILES = {
    ("marts", "hotspots"): "070_hotspots.sql",
    ("marts", "hotspot_periods"): "071_hotspot_periods.sql",
    ("marts", "hotspot_backtest"): "072_hotspot_backtest.sql",
    ("marts", "hotspot_themes"): "073_hotspot_themes.sql",
    ("meta", "hotspot_runs"): "010_hotspot_runs.sql",
}


def _sql(schema: str, name: str) -> str:
    wanted = _FILES[(schema, name)]
    for layer, file, sql in schema_files():
        if layer == schema and file == wanted:
            return sql
    msg = f"schema file {schema}/{wanted} is missing from the package"  # pragma: no cover - packaged
    raise ValidationError(msg)


def declared_columns(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> list[str]:
    """The columns of ``schema.name`` as declared, in order (the table is created if missing)."""
    con.execute(_sql(schema, name))
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, name],
    ).fetchall()
    return [r[0] for r in rows]


def _insert(con: duckdb.DuckDBPyConnection, schema: str, name: str, frame: pd.DataFrame) -> None:
    extra = sorted(set(frame.columns) - set(declared_columns(con, schema, name)))
    if extra:
        msg = f"{schema}.{name} does not declare column(s) {extra}"
        raise ValidationError(msg)
    view = f"_declared_src_{name}"
    con.register(view, frame)
    try:
        con.execute(f'insert into {schema}."{name}" by name select * from "{view}"')
    finally:
        con.unregister(view)


def replace_mart(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> int:
    """Replace every row of ``marts.<name>`` with ``frame`` (the table re-made from its SQL file first)."""
    with transaction(con):
        con.execute(f'drop table if exists marts."{name}"')
        _insert(con, "marts", name, frame)
    return len(frame)


def record_run(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> None:
    """Append one run to ``meta.hotspot_runs``."""
    with transaction(con):
        _insert(con, "meta", "hotspot_runs", pd.DataFrame([row]))


def read_run(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any] | None:
    """The ``meta.hotspot_runs`` row of ``run_id`` as a dict (None when there is none)."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'meta' and table_name = 'hotspot_runs'"
    ).fetchone()[0]
    if not exists:
        return None
    frame = con.execute("select * from meta.hotspot_runs where run_id = ? order by run_at desc limit 1", [run_id]).df()
    return None if frame.empty else frame.iloc[0].to_dict()
