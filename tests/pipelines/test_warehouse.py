"""Tests for ctxrisk.pipelines.warehouse: schema layers, version checks, marts, permissions."""

import os
import stat

import duckdb
import pandas as pd
import pytest

from ctxrisk.pipelines.errors import SchemaVersionError, ValidationError
from ctxrisk.pipelines.warehouse import (
    SCHEMA_VERSION,
    apply_schema,
    connect,
    schema_files,
    schema_fingerprint,
    write_mart,
)


def test_schema_is_layered_raw_staging_marts(con):
    layers = [layer for layer, _, _ in schema_files()]
    assert layers == sorted(layers, key=["meta", "raw", "staging", "marts"].index)
    schemas = {r[0] for r in con.execute("select schema_name from information_schema.schemata").fetchall()}
    assert {"meta", "raw", "staging", "marts"} <= schemas
    assert con.execute("select schema_version from meta.schema_info").fetchall() == [(SCHEMA_VERSION,)]


def test_reopening_keeps_one_version_row(settings):
    connect(settings=settings).close()
    con = connect(settings=settings)
    assert con.execute("select count(*) from meta.schema_info").fetchone()[0] == 1


def test_unchanged_schema_is_not_applied_again(settings):
    connect(settings=settings).close()
    con = connect(settings=settings)
    assert con.execute("select fingerprint from meta.schema_applied").fetchall() == [(schema_fingerprint(),)]
    assert apply_schema(con) is False
    assert apply_schema(con, force=True) is True
    assert con.execute("select count(*) from meta.schema_applied").fetchone()[0] == 1


@pytest.mark.parametrize(
    "change", ["update meta.schema_applied set fingerprint = 'older files'", "drop table meta.schema_applied"]
)
def test_changed_or_unrecorded_schema_is_applied(settings, change):
    connect(settings=settings).close()
    raw = duckdb.connect(str(settings.paths.warehouse))
    raw.execute("drop view staging.events")
    raw.execute(change)  # files edited since, or a warehouse made before fingerprints were recorded
    raw.close()
    con = connect(settings=settings)
    assert con.execute("select count(*) from staging.events").fetchone()[0] == 0
    assert con.execute("select fingerprint from meta.schema_applied").fetchall() == [(schema_fingerprint(),)]
    assert con.execute("select count(*) from meta.schema_info").fetchone()[0] == 1


def test_fingerprint_changes_with_any_file_text_or_order(monkeypatch):
    files = schema_files()
    fingerprints = {schema_fingerprint.__wrapped__()}
    edited = (*files[:-1], (files[-1][0], files[-1][1], files[-1][2] + "\n-- edited"))
    for variant in (edited, files[:-1], (files[1], files[0], *files[2:])):
        monkeypatch.setattr("ctxrisk.pipelines.warehouse.schema_files", lambda variant=variant: variant)
        fingerprints.add(schema_fingerprint.__wrapped__())
    assert len(fingerprints) == 4
    assert schema_fingerprint() in fingerprints


@pytest.mark.parametrize(
    ("stored", "match"),
    [(SCHEMA_VERSION + 1, "newer than this ctxrisk"), (SCHEMA_VERSION - 1, "older than this ctxrisk")],
)
def test_other_schema_version_is_refused(settings, stored, match):
    connect(settings=settings).close()
    raw = duckdb.connect(str(settings.paths.warehouse))
    raw.execute("update meta.schema_info set schema_version = ?", [stored])
    raw.close()
    with pytest.raises(SchemaVersionError, match=match):
        connect(settings=settings)


def test_files_are_owner_only(settings):
    connect(settings=settings).close()
    path = settings.paths.warehouse
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_read_only_needs_an_existing_file(tmp_path):
    with pytest.raises(ValidationError, match="does not exist"):
        connect(tmp_path / "none.duckdb", read_only=True)


def test_write_mart_replaces_atomically(con):
    assert write_mart(con, "example", pd.DataFrame({"a": [1, 2]})) == 2
    assert write_mart(con, "example", pd.DataFrame({"a": [3]})) == 1
    assert con.execute("select a from marts.example").fetchall() == [(3,)]
    with pytest.raises(ValidationError, match="mart name"):
        write_mart(con, "bad; drop table x", pd.DataFrame({"a": [1]}))


def test_time_zone_is_utc(con):
    assert con.execute("select current_setting('TimeZone')").fetchone()[0] == "UTC"


def test_nested_transaction_joins_the_outer_one(con):
    from ctxrisk.pipelines.warehouse import transaction

    con.execute("create table marts.t (a int)")
    try:
        with transaction(con):
            with transaction(con):
                con.execute("insert into marts.t values (1)")
            write_mart(con, "inner", pd.DataFrame({"a": [1]}))
            raise RuntimeError("roll everything back")
    except RuntimeError:
        pass
    assert con.execute("select count(*) from marts.t").fetchone()[0] == 0
    tables = con.execute("select table_name from information_schema.tables where table_schema = 'marts'").fetchall()
    assert ("inner",) not in tables


def test_incident_columns_keep_their_declared_compression(settings):
    # DuckDB would try every method on every segment; the raw tables name one per column (see the SQL files).
    # The values are picked so that DuckDB's own choice would be the other way round (dictionary for three
    # repeated IDs, FSST for unique category text). Compression applies when rows are checkpointed to a file.
    con = connect(settings=settings)
    con.execute(
        "insert into raw.incidents (incident_id, source, occurred_at, time_precision, category, theme, located, "
        "file_id) select 'inc-' || (i % 3), 'partner', timestamptz '2026-01-01', 'minute', "
        "'on or near ' || md5(i::varchar), 'cse', false, 'f1' from range(5000) r(i)"
    )
    con.execute("checkpoint")
    used = dict(
        con.execute(
            "select column_name, string_agg(distinct compression, ',') from pragma_storage_info('raw.incidents') "
            "where segment_type = 'VARCHAR' group by column_name"
        ).fetchall()
    )
    con.close()
    assert used["incident_id"] == "FSST"
    assert used["category"] == used["source"] == used["file_id"] == "Dictionary"
