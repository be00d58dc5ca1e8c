"""What the warehouse holds: table counts, sources with their rejected rows (and where each was), the last runs."""

from __future__ import annotations

from typing import Any

import duckdb

from ctxrisk.pipelines.warehouse import _stored_version, table_counts


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
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


#: Columns of :func:`rejected_rows`: where a row was refused and why. The refused value is never listed
#: (it may hold a name or another identifier); it stays in ``raw.rejected_rows`` for those allowed to see it.
REJECTED_COLUMNS = ("kind", "file", "line", "column", "reason")


def rejected_rows(
    con: duckdb.DuckDBPyConnection, *, file_ids: list[str] | None = None, limit: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Rows refused at ingest: file, line, column and reason, oldest file first, then by line.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse.
    file_ids : list of str or None
        Only these ingested files (``raw.ingest_files.file_id``); None: every file.
    limit : int or None
        Rows returned per file when ``file_ids`` is given, in all otherwise; None: every row.

    Returns
    -------
    (list of dict, int)
        Records with keys :data:`REJECTED_COLUMNS` (``line`` is the file's line number, ``column`` the
        column named by the check, empty for a whole-row refusal), and how many rows were refused in all.
    """
    where, params = "", []
    if file_ids is not None:
        if not file_ids:
            return [], 0
        where = f"where r.file_id in ({', '.join('?' for _ in file_ids)})"
        params = list(file_ids)
    total = con.execute(f"select count(*) from raw.rejected_rows r {where}", params).fetchone()[0]
    per_file = file_ids is not None and limit is not None
    sql = f"""
        select kind, file, line, "column", reason from (
            select r.kind, r.path as file, r.line, coalesce(r.column_name, '') as "column", r.reason,
                   row_number() over (partition by r.file_id order by r.line nulls last, r.reason) as n,
                   f.ingested_at
            from raw.rejected_rows r left join raw.ingest_files f using (file_id)
            {where}
        )
        where ? or n <= ?
        order by ingested_at nulls last, file, line nulls last, reason
        limit ?
    """
    cap = int(limit) if limit is not None else None
    params += [not per_file, cap or 0, cap if cap is not None and not per_file else 2**62]
    return _records(con, sql, params), int(total)
