"""Validate canonical files row by row and load them into the warehouse in one transaction per file.

The work is in :mod:`ctxrisk.pipelines.batch` (rows and refusals), :mod:`ctxrisk.pipelines.validate` (checks)
and :mod:`ctxrisk.pipelines.store` (writing); their public names are importable from here.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ctxrisk.pipelines.batch import (
    MAX_TEXT,
    REJECT_COLUMNS,
    Batch,
    ExtraRows,
    IngestResult,
    RejectCollector,
    finish_batch,
)
from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.store import already_ingested, skip_if_ingested, store_batch
from ctxrisk.pipelines.tabular import read_text_table
from ctxrisk.pipelines.validate import prepare_batch, validate_columns, validate_points

__all__ = [
    "MAX_TEXT",
    "REJECT_COLUMNS",
    "Batch",
    "ExtraRows",
    "IngestResult",
    "RejectCollector",
    "already_ingested",
    "finish_batch",
    "ingest_file",
    "prepare_batch",
    "skip_if_ingested",
    "store_batch",
    "validate_columns",
    "validate_points",
]


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    path: str | Path,
    *,
    settings: Settings,
    pseudonymise_key: bytes | None = None,
    run_id: str | None = None,
) -> IngestResult:
    """Ingest one canonical file of ``kind``; identical bytes already ingested add nothing.

    Parameters
    ----------
    kind : str
        One of ``incidents``, ``persons``, ``involvements``, ``missing``, ``associations``, ``intelligence``,
        ``screenings``, ``referrals``.
    pseudonymise_key : bytes or None
        When given, person IDs are replaced by keyed HMAC-SHA256 pseudonyms before anything is stored.
    """
    path = Path(path)
    skipped = skip_if_ingested(con, kind, path)
    if skipped is not None:
        return skipped
    table = read_text_table(path)
    batch = prepare_batch(kind, table, settings=settings, pseudonymise_key=pseudonymise_key)
    return store_batch(con, batch, run_id=run_id, pseudonymised=pseudonymise_key is not None)
