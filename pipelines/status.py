"""What the warehouse holds: table counts, sources with their rejected rows, and the last runs."""

from __future__ import annotations

from typing import Any

import duckdb

from ctxrisk.pipelines.warehouse import _stored_version, table_counts


def _records(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def warehouse_status(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Return schema version, row counts, per-source reconciliation, common reject reasons and last runs."""
    return {
        "schema_version": _stored_version(con),
        "tables": table_counts(con),
        "sources": _records(
            con,
            """
            select kind, count(*) as files, sum(rows_read) as rows_read, sum(rows_loaded) as rows_loaded,
                   sum(rows_rejected) as rows_rejected, max(ingested_at) as last_ingested_at
            from raw.ingest_files group by kind order by kind
            """,
        ),
        "top_reject_reasons": _records(
            con,
            """
            select kind, reason, count(*) as rows from raw.rejected_rows
            group by kind, reason order by rows desc, kind, reason limit 10
            """,
        ),
        "stale_marts": _records(
            con,
            "select mart, made_stale_at, reason from meta.stale_marts order by mart",
        ),
        "runs": _records(
            con,
            """
            select run_id, step, status, started_at, ended_at, rows_loaded, error from meta.run_log
            order by started_at desc limit 10
            """,
        ),
    }
