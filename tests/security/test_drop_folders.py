"""Attacks on drop folders and the lock file: symbolic links, hard links, odd names (issue 24 items 2, 10)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from ctxrisk.jobs import run as jobs
from ctxrisk.pipelines.errors import LockError
from ctxrisk.pipelines.fsutil import printable
from ctxrisk.pipelines.lock import RunLock, read_holder
from ctxrisk.pipelines.quarantine import LINK_REASON, pending_files, quarantine
from ctxrisk.pipelines.settings import load_settings

INCIDENTS = "incident_id,occurred_at,latitude,longitude,category\nA1,2024-03-01T10:00,51.51,-0.09,cse\n"
SECRET = "incident_id,occurred_at,latitude,longitude,category\nS1,2024-03-01,51.5,-0.1,Jane Doe 2014-02-03\n"


@pytest.fixture(autouse=True)
def _own_steps(monkeypatch):
    real = jobs.run_job  # the steps after the ingest steps: none in these tests
    monkeypatch.setattr(jobs, "run_job", lambda settings, **kw: real(settings, **{"steps": [], **kw}))


@pytest.fixture()
def site(tmp_path: Path):
    (tmp_path / "drop" / "incidents").mkdir(parents=True)
    config = tmp_path / "ctxrisk.toml"
    config.write_text(
        '[paths]\nwarehouse = "wh/ctxrisk.duckdb"\noutput_dir = "out"\ndrop_dirs = { incidents = "drop/incidents" }\n'
    )
    outside = tmp_path / "outside"
    outside.mkdir()
    return tmp_path, load_settings(config), outside


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_symlink_in_a_drop_folder_is_quarantined_unread_and_its_target_unchanged(site, caplog) -> None:
    root, settings, outside = site
    target = outside / "secret.csv"
    target.write_text(SECRET)
    target.chmod(0o644)
    drop = root / "drop" / "incidents"
    (drop / "absolute.csv").symlink_to(target)
    (drop / "relative.csv").symlink_to(Path("..") / ".." / "outside" / "secret.csv")
    (drop / "broken.csv").symlink_to("nowhere.csv")
    (drop / "good.csv").write_text(INCIDENTS)
    with caplog.at_level(logging.INFO):
        summary = jobs.run_job(settings)
    statuses = {Path(f.path).name: f.status for f in summary.files}
    assert statuses == {
        "absolute.csv": "quarantined",
        "relative.csv": "quarantined",
        "broken.csv": "quarantined",
        "good.csv": "ok",
    }
    assert _mode(target) == 0o644 and target.read_text() == SECRET
    quarantined = drop / "quarantine"
    for name in ("absolute.csv", "relative.csv", "broken.csv"):
        assert (quarantined / name).is_symlink()
        reason = (quarantined / f"{name}.reason.txt").read_text()
        assert LINK_REASON in reason
        assert "Jane" not in reason and "secret" not in reason and "outside" not in reason
    assert "Jane" not in caplog.text
    from ctxrisk.pipelines.warehouse import connect

    con = connect(settings=settings)
    assert con.execute("select list(incident_id) from raw.incidents").fetchone()[0] == ["A1"]
    errors = " ".join(
        str(r[0]) for r in con.execute("select error from meta.run_log where error is not null").fetchall()
    )
    con.close()
    assert "Jane" not in errors and "symbolic link" in errors


def test_pending_files_lists_no_links_folders_or_fifos(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x")
    (tmp_path / "link.csv").symlink_to(tmp_path / "a.csv")
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / "pipe.csv")
    assert pending_files(tmp_path) == [tmp_path / "a.csv"]


def test_a_hard_link_to_a_file_of_another_mode_is_not_chmodded(tmp_path: Path) -> None:
    source = tmp_path / "shared.csv"
    source.write_text(INCIDENTS)
    source.chmod(0o644)
    drop = tmp_path / "drop"
    drop.mkdir()
    os.link(source, drop / "dropped.csv")
    moved = quarantine(drop / "dropped.csv", "test")
    assert _mode(source) == 0o644 and moved.read_text() == INCIDENTS


def test_a_newline_in_a_file_name_cannot_forge_a_reason_or_log_line(tmp_path: Path, caplog) -> None:
    path = tmp_path / "x.csv\nreason: all fine\x1b[31m"
    path.write_text("x")
    with caplog.at_level(logging.INFO):
        moved = quarantine(path, "bad\nrun: forged")
    text = (moved.parent / (moved.name + ".reason.txt")).read_text()
    assert text.count("\n") == 4 and "\\nreason: all fine\\x1b[31m" in text and "bad\\nrun: forged" in text
    assert "\n" not in caplog.records[-1].getMessage() and "\x1b" not in caplog.records[-1].getMessage()
    assert printable("a\tb\r\nc") == "a\\tb\\r\\nc" and printable("ünïcode") == "ünïcode"


def test_a_symlinked_lock_does_not_overwrite_its_target(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    target.chmod(0o644)
    lock = tmp_path / "ctxrisk.duckdb.lock"
    lock.symlink_to(target)
    with pytest.raises(LockError, match="is a symbolic link"):
        RunLock(lock).acquire()
    assert target.read_text() == "keep me" and _mode(target) == 0o644
    assert read_holder(lock) is None


def test_a_folder_at_the_lock_path_is_a_clear_error(tmp_path: Path) -> None:
    lock = tmp_path / "ctxrisk.duckdb.lock"
    lock.mkdir()
    with pytest.raises(LockError, match="is a folder, not a file"):
        RunLock(lock).acquire()
    assert read_holder(lock) is None


def test_a_file_name_cannot_forge_log_lines_or_markup_in_a_cli_run(site) -> None:
    from typer.testing import CliRunner

    from ctxrisk.cli.main import app

    root, _settings, _outside = site
    drop = root / "drop" / "incidents"
    # A file name cannot hold "/", so no closing tag; "[bold red]" alone must still be shown as written.
    (drop / "x.csv\n2026-01-01 00:00:00,000 INFO ctxrisk: all files clean [bold red]LOUD").write_text(
        "not,a\nvalid,file\n"
    )
    logger = logging.getLogger()
    handlers, level = list(logger.handlers), logger.level
    try:
        result = CliRunner().invoke(
            app, ["run", "--config", str(root / "ctxrisk.toml"), "--progress", "lines"], env={"COLUMNS": "250"}
        )
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)
    assert result.exit_code == 5, result.output
    assert not any(line.startswith("2026-01-01 00:00:00,000 INFO") for line in result.stderr.splitlines())
    assert "x.csv\\n2026-01-01" in result.stderr and "[bold red]LOUD" in result.stderr


@pytest.mark.parametrize("sub", ["processed", "quarantine"])
def test_a_linked_processed_or_quarantine_folder_is_not_followed(site, sub) -> None:
    root, settings, outside = site
    drop = root / "drop" / "incidents"
    (drop / sub).symlink_to(outside, target_is_directory=True)
    (drop / "good.csv").write_text(INCIDENTS)
    (drop / "bad.csv").write_bytes(b"\xff\xfe not text")
    summary = jobs.run_job(settings)
    assert summary.status == "partial"
    assert list(outside.iterdir()) == []  # nothing moved through the link
    said = " ".join(str(s.error) for s in summary.steps) + " ".join(str(f.reason) for f in summary.files)
    assert "symbolic link" in said
