"""Store a checked batch in the warehouse: rows, refusals and the file's record, in one transaction."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from ctxrisk.pipelines.batch import Batch, ExtraRows, IngestResult
from ctxrisk.pipelines.episodes import refuse_overlaps
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.pseudonymise import check_mode, scrub_rejects
from ctxrisk.pipelines.tabular import file_sha256
from ctxrisk.pipelines.warehouse import transaction

log = logging.getLogger(__name__)


def already_ingested(con: duckdb.DuckDBPyConnection, kind: str, sha256: str) -> str | None:
    """Return the file_id of an earlier ingest of the same bytes for the same kind, if any."""
    row = con.execute(
        "select file_id from raw.ingest_files where kind = ? and sha256 = ? limit 1", [kind, sha256]
    ).fetchone()
    return None if row is None else row[0]


def skip_if_ingested(con: duckdb.DuckDBPyConnection, kind: str, path: Path) -> IngestResult | None:
    """Return a "nothing added" result when the same bytes were ingested before for ``kind``, else None.

    Checked before the file is parsed, so re-delivering a large file costs one read of its bytes.

    Raises
    ------
    ValidationError
        When the file does not exist.
    """
    if not path.is_file():
        msg = f"{path}: no such file"
        raise ValidationError(msg)
    earlier = already_ingested(con, kind, file_sha256(path))
    if earlier is None:
        return None
    log.info("%s %s: same bytes already ingested (file %s); nothing to add", kind, path.name, earlier)
    return IngestResult(
        kind,
        str(path),
        earlier,
        0,
        0,
        0,
        skipped_same_file=True,
        notes=["the same file was ingested before: nothing added"],
    )


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """A ``schema.table``'s columns in order; none when there is no such table.

    ``pragma_table_info`` looks the one table up, where ``duckdb_columns()`` lists every column of the
    catalogue first.
    """
    try:
        return [r[0] for r in con.execute("select name from pragma_table_info(?) order by cid", [table]).fetchall()]
    except duckdb.CatalogException:
        return []


#: Rows in a DuckDB row group.
ROW_GROUP_ROWS = 122_880


def _to_arrow(rows: pd.DataFrame) -> pa.Table | pd.DataFrame:
    """The rows as an Arrow table for DuckDB to scan; the DataFrame itself where Arrow cannot type a column.

    The table's batches end on DuckDB's row group boundaries, so DuckDB writes each batch as whole row
    groups on its threads instead of merging and compressing partial ones again (see BENCHMARKS.md).
    """
    try:
        table = pa.Table.from_pandas(rows, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return rows
    if table.num_rows <= ROW_GROUP_ROWS:
        return table
    batches = []
    for start in range(0, table.num_rows, ROW_GROUP_ROWS):
        batches.extend(table.slice(start, ROW_GROUP_ROWS).combine_chunks().to_batches())
    return pa.Table.from_batches(batches, schema=table.schema)


def _store_extra(con: duckdb.DuckDBPyConnection, extra: ExtraRows, file_id: str) -> None:
    """Load one ExtraRows block inside the caller's transaction."""
    if not len(extra.rows):
        return
    rows = extra.rows.copy()
    rows["file_id"] = file_id
    columns = _table_columns(con, extra.table)
    unknown = [c for c in rows.columns if c not in columns]
    if unknown:
        msg = f"internal: extra columns {unknown} are not in {extra.table}"
        raise ValidationError(msg)
    column_list = ", ".join(f'"{c}"' for c in rows.columns)
    key_match = " and ".join(f't."{k}" is not distinct from n."{k}"' for k in extra.key)
    con.register("_extra_rows", _to_arrow(rows))  # Arrow strings scanned as they are, not as Python objects
    try:
        con.execute(f"delete from {extra.table} t using _extra_rows n where {key_match}")
        con.execute(f"insert into {extra.table} ({column_list}) select {column_list} from _extra_rows")
    finally:
        con.unregister("_extra_rows")


def _write_batch(
    con: duckdb.DuckDBPyConnection,
    batch: Batch,
    file_id: str,
    registered: list[str],
    *,
    run_id: str | None,
    pseudonymised: bool,
) -> int:
    """Replace, insert and record the batch inside the caller's transaction; return the rows replaced.

    Views registered on ``con`` are appended to ``registered`` for the caller to drop.
    """
    rows = batch.rows
    if "file_id" in rows.columns:
        rows = rows.drop(columns="file_id")
    columns = _table_columns(con, batch.table)
    unknown = [c for c in rows.columns if c not in columns]
    if unknown:
        msg = f"internal: batch columns {unknown} are not in {batch.table}"
        raise ValidationError(msg)
    column_list = ", ".join(f'"{c}"' for c in rows.columns)
    key_match = " and ".join(f't."{k}" is not distinct from n."{k}"' for k in batch.key)
    rejects = scrub_rejects(batch.rejects, pseudonymised=pseudonymised).copy()
    rejects.insert(0, "path", str(batch.path))
    rejects.insert(0, "kind", batch.kind)
    rejects.insert(0, "file_id", file_id)
    rejects["value"] = rejects["value"].astype("object")
    # Arrow is scanned by DuckDB natively; a DataFrame of Python string objects is converted value by value.
    con.register("_batch_rows", _to_arrow(rows))
    registered.append("_batch_rows")
    check_mode(con, rows, pseudonymised=pseudonymised, file_id=file_id)
    replaced = 0
    if len(rows):
        replaced = con.execute(
            f"select count(*) from {batch.table} t where exists (select 1 from _batch_rows n where {key_match})"
        ).fetchone()[0]
        if replaced:
            con.execute(f"delete from {batch.table} t using _batch_rows n where {key_match}")
        # file_id is a bound parameter, the same for every row: no copy of the rows is made for it.
        con.execute(
            f'insert into {batch.table} ({column_list}, "file_id") select {column_list}, ?::varchar from _batch_rows',
            [file_id],
        )
    if len(rejects):
        con.register("_batch_rejects", rejects)
        registered.append("_batch_rejects")
        con.execute(
            "insert into raw.rejected_rows (file_id, kind, path, line, column_name, value, reason, rule) "
            "select file_id, kind, path, line, column_name, value, reason, rule from _batch_rejects"
        )
    con.execute(
        "insert into raw.ingest_files values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            file_id,
            batch.kind,
            str(batch.path),
            batch.sha256,
            batch.rows_read,
            len(rows),
            batch.rejected_records,
            datetime.now(UTC),
            run_id,
            pseudonymised,
        ],
    )
    for extra in batch.extra:
        _store_extra(con, extra, file_id)
    return replaced


def store_batch(
    con: duckdb.DuckDBPyConnection,
    batch: Batch,
    *,
    run_id: str | None = None,
    pseudonymised: bool = False,
) -> IngestResult:
    """Load a batch in one transaction: replace rows with the same key, insert, record file and rejects.

    A batch of episodes (``batch.overlaps``) first has the episodes that overlap another of the same child
    moved to its refused rows, inside the same transaction (:func:`ctxrisk.pipelines.episodes.refuse_overlaps`).
    Identifiers in SQL come from the kind definitions and the warehouse's own catalogue, never from the data.
    """
    assert batch.rows_read == len(batch.rows) + batch.rejected_records, "rows do not reconcile"
    file_id = uuid.uuid4().hex[:16]
    registered: list[str] = []
    try:
        with transaction(con):
            if batch.overlaps is not None:
                batch = refuse_overlaps(con, batch, batch.overlaps)
            replaced = _write_batch(con, batch, file_id, registered, run_id=run_id, pseudonymised=pseudonymised)
    finally:
        for name in registered:
            con.unregister(name)
    log.info(
        "%s %s: read %s, loaded %s, rejected %s",
        batch.kind,
        batch.path.name,
        f"{batch.rows_read:,}",
        f"{len(batch.rows):,}",
        f"{batch.rejected_records:,}",
    )
    return IngestResult(
        batch.kind,
        str(batch.path),
        file_id,
        batch.rows_read,
        len(batch.rows),
        batch.rejected_records,
        replaced=replaced,
        notes=batch.notes,
    )
