"""Ingest many files of one kind, each in its own transaction, collecting results and failures."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

from ctxrisk.pipelines.errors import CtxriskError
from ctxrisk.pipelines.ingest import IngestResult, ingest_file, skip_if_ingested, store_batch
from ctxrisk.pipelines.kinds import KINDS
from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.warehouse import transaction

log = logging.getLogger(__name__)


def ingest_one(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    path: Path,
    *,
    settings: Settings,
    pseudonymise_key: bytes | None = None,
    options: dict[str, Any] | None = None,
    run_id: str | None = None,
) -> IngestResult:
    """Ingest one file of a canonical kind or of a public format."""
    if kind in KINDS:
        result = ingest_file(con, kind, path, settings=settings, pseudonymise_key=pseudonymise_key, run_id=run_id)
        if not result.skipped_same_file:
            _assign_areas(con, kind, result, tables=[KINDS[kind].table])
        return result
    return _ingest_source(
        con, kind, path, settings=settings, pseudonymise_key=pseudonymise_key, options=options, run_id=run_id
    )


def _ingest_source(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    path: Path,
    *,
    settings: Settings,
    pseudonymise_key: bytes | None,
    options: dict[str, Any] | None,
    run_id: str | None,
) -> IngestResult:
    """Ingest one file of a public format, then link what it adds (outcomes, areas)."""
    from ctxrisk.pipelines import sources

    skipped = skip_if_ingested(con, kind, Path(path))
    if skipped is not None:
        return skipped
    batch = sources.read_source(
        kind, Path(path), settings=settings, options={**(options or {}), "pseudonymise_key": pseudonymise_key}
    )
    result = store_batch(con, batch, run_id=run_id, pseudonymised=pseudonymise_key is not None)
    tables = [batch.table, *(extra.table for extra in batch.extra)]
    del batch  # its rows are stored: not held while outcomes are linked and areas assigned
    sources.after_load(kind, con, settings=settings)
    _assign_areas(con, kind, result, tables=tables)
    return result


def _assign_areas(con: duckdb.DuckDBPyConnection, kind: str, result: IngestResult, *, tables: list[str]) -> None:
    """Point-in-polygon assignment after an ingest.

    After boundaries change every event is assigned again; after a file that loaded events, exactly that
    file's events are; a kind that writes no event table (persons, involvements …) needs nothing.
    """
    from ctxrisk.pipelines.areas import adds_events, assign_event_areas, boundaries_loaded

    if kind == "boundaries":
        if boundaries_loaded(con):
            assign_event_areas(con, only_new=False)
        return
    if not adds_events(tables) or not result.rows_loaded or not boundaries_loaded(con):
        return
    assign_event_areas(con, file_id=result.file_id)


def ingest_paths(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    paths: Iterable[Path],
    *,
    settings: Settings,
    pseudonymise_key: bytes | None = None,
    options: dict[str, Any] | None = None,
    run_id: str | None = None,
) -> tuple[list[IngestResult], list[tuple[str, str]]]:
    """Ingest each path; a file that cannot be read is reported and the others still load.

    Returns
    -------
    results : list of IngestResult
    failures : list of (path, message)
    """
    results: list[IngestResult] = []
    failures: list[tuple[str, str]] = []
    for path in paths:
        try:
            # The file's rows and its format's follow-up work (area assignment, outcome joins) commit together.
            with transaction(con):
                results.append(
                    ingest_one(
                        con,
                        kind,
                        Path(path),
                        settings=settings,
                        pseudonymise_key=pseudonymise_key,
                        options=options,
                        run_id=run_id,
                    )
                )
        except CtxriskError as exc:
            log.error("%s", exc)
            failures.append((str(path), str(exc)))
    return results, failures
