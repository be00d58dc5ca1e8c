"""A full disk under the warehouse: a sentence, the work rolled back, the file kept for the next run, and the run's
summary kept (issue 24 item 10)."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pytest

from ctxrisk.jobs import run as jobs
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.warehouse import StorageFullError, connect, storage_full, transaction

INCIDENTS = "incident_id,occurred_at,latitude,longitude,category\nA1,2024-03-01T10:00,51.51,-0.09,cse\n"
FULL = 'IO Error: Could not write file "/srv/wh.duckdb.wal": No space left on device'


@pytest.fixture(autouse=True)
def _own_steps(monkeypatch):
    real = jobs.run_job  # the steps after the ingest steps: none in these tests
    monkeypatch.setattr(jobs, "run_job", lambda settings, **kw: real(settings, **{"steps": [], **kw}))


def test_a_full_disk_in_a_transaction_is_a_storage_error_and_rolls_back(tmp_path: Path) -> None:
    con = connect(tmp_path / "wh.duckdb")
    try:
        with pytest.raises(StorageFullError, match="the disk holding the warehouse is full"):
            with transaction(con):
                con.execute("create table t (x int)")
                raise duckdb.IOException(FULL)
        assert con.execute("select count(*) from information_schema.tables where table_name = 't'").fetchone() == (0,)
    finally:
        con.close()
    assert storage_full(OSError(28, "No space left on device"))
    assert not storage_full(duckdb.IOException("Could not read enough bytes"))


def test_a_full_disk_leaves_the_file_for_the_next_run_without_a_traceback(tmp_path: Path, monkeypatch, caplog) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.csv").write_text(INCIDENTS)
    config = tmp_path / "c.toml"
    config.write_text('[paths]\nwarehouse = "wh.duckdb"\noutput_dir = "out"\ndrop_dirs = { incidents = "drop" }\n')
    settings = load_settings(config)
    import ctxrisk.jobs.ingest_steps as runner  # where the drop-folder step calls ingest_one

    real = runner.ingest_one

    def full(con, *args, **kwargs):
        with transaction(con):
            raise duckdb.IOException(FULL)

    monkeypatch.setattr(runner, "ingest_one", full)
    with caplog.at_level(logging.INFO):
        summary = jobs.run_job(settings)
    assert [(Path(f.path).name, f.status) for f in summary.files] == [("a.csv", "failed")]
    assert "disk holding the warehouse is full" in summary.files[0].reason
    assert (drop / "a.csv").exists() and not (drop / "quarantine").exists()
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)
    monkeypatch.setattr(runner, "ingest_one", real)
    assert [f.status for f in jobs.run_job(settings).files] == ["ok"]  # space freed: the next run loads it
