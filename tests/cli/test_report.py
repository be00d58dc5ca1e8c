"""Tests for maps/report_cli.py: `ctxrisk report --out FILE.html` on a fresh Typer app with register(app)."""

from __future__ import annotations

import stat

import duckdb
import pytest
import typer
from support.report_fixtures import build_tiny_warehouse
from typer.testing import CliRunner

from ctxrisk.cli.report import choose_period, register
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.warehouse import connect

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """ctxrisk"""

    register(app)
    return app


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report-cli")
    path = folder / "w.duckdb"
    settings = load_settings(None, warehouse=path)
    con = connect(settings=settings)
    build_tiny_warehouse(con, settings, folder / "files")
    con.close()
    return path


def test_choose_period():
    assert choose_period("2026Q3", None, None).label == "2026Q3"
    assert choose_period(None, "2026-07-01", "2026-07-31").days == 31
    assert choose_period(None, None, None) is None
    with pytest.raises(ValidationError, match="not both"):
        choose_period("2026Q3", "2026-07-01", "2026-07-31")
    with pytest.raises(ValidationError, match="go together"):
        choose_period(None, "2026-07-01", None)


def test_report_command_writes_private_file_and_audits(warehouse, tmp_path):
    out = tmp_path / "out" / "report.html"
    result = runner.invoke(_app(), ["report", "--out", str(out), "--period", "2026Q3", "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert "outcome report for 2026Q3 (1 Jul 2026 to 30 Sep 2026)" in result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "Contextual safeguarding outcome report: 2026Q3" in out.read_text(encoding="utf-8")
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute("select action, edition, target, detail from meta.audit where action = 'report'").fetchall()
    con.close()
    assert rows[-1] == ("report", "steering", str(out), "outcome report 2026Q3 against 2026Q2")
    assert not list(out.parent.glob(".*.tmp"))


def test_report_command_since_until_and_default(warehouse, tmp_path):
    out = tmp_path / "r.html"
    result = runner.invoke(
        _app(),
        ["report", "--out", str(out), "--since", "2026-08-01", "--until", "2026-08-31", "--warehouse", str(warehouse)],
    )
    assert result.exit_code == 0, result.output
    assert "1 Aug 2026 to 31 Aug 2026, compared with 1 Jul 2026 to 31 Jul 2026" in result.output
    result = runner.invoke(_app(), ["report", "--out", str(out), "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert "outcome report for 2026Q2" in result.output  # the tiny data end in September 2026Q3


def test_report_command_errors(warehouse, tmp_path):
    out = tmp_path / "r.html"
    result = runner.invoke(_app(), ["report", "--out", str(out), "--period", "2026Q9", "--warehouse", str(warehouse)])
    assert result.exit_code == 1 and "not a quarter" in result.output
    result = runner.invoke(_app(), ["report", "--out", str(out), "--warehouse", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 1 and "does not exist" in result.output
    assert not out.exists()
