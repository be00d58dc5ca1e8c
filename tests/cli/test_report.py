"""Tests for ctxrisk/cli/report.py: `ctxrisk report --out FILE [--format pdf]` on a fresh Typer app."""

from __future__ import annotations

import re
import stat

import duckdb
import pytest
import typer
from support.browser import require_chromium
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
    assert choose_period("2026Q3", None, None).label == "2026 Q3"
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
    assert "outcome report for 2026 Q3 (1 Jul to 30 Sep 2026)" in result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "Contextual safeguarding outcome report: 2026 Q3" in out.read_text(encoding="utf-8")
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute("select action, edition, target, detail from meta.audit where action = 'report'").fetchall()
    con.close()
    assert rows[-1] == ("report", "steering", str(out), "outcome report 2026 Q3 against 2026 Q2 (html)")
    assert not list(out.parent.glob(".*.tmp"))


def test_report_command_since_until_and_default(warehouse, tmp_path):
    out = tmp_path / "r.html"
    result = runner.invoke(
        _app(),
        ["report", "--out", str(out), "--since", "2026-08-01", "--until", "2026-08-31", "--warehouse", str(warehouse)],
    )
    assert result.exit_code == 0, result.output
    assert "1 to 31 Aug 2026, compared with 1 to 31 Jul 2026" in result.output
    result = runner.invoke(_app(), ["report", "--out", str(out), "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert "outcome report for 2026 Q2" in result.output  # the tiny data end in September 2026 Q3


def test_report_command_errors(warehouse, tmp_path):
    out = tmp_path / "r.html"
    result = runner.invoke(_app(), ["report", "--out", str(out), "--period", "2026Q9", "--warehouse", str(warehouse)])
    assert result.exit_code == 1 and "not a quarter" in result.output
    result = runner.invoke(_app(), ["report", "--out", str(out), "--warehouse", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 1 and "does not exist" in result.output
    assert not out.exists()


def test_report_command_refuses_a_folder_and_an_unknown_format(warehouse, tmp_path):
    args = ["report", "--period", "2026Q3", "--warehouse", str(warehouse)]
    result = runner.invoke(_app(), [*args, "--out", str(tmp_path)])
    assert result.exit_code == 1 and "is a folder" in result.output
    result = runner.invoke(_app(), [*args, "--out", str(tmp_path / "r.docx"), "--format", "docx"])
    assert result.exit_code == 1 and "--format must be one of html, pdf" in result.output
    assert not (tmp_path / "r.docx").exists()


def _pdf_title(data: bytes) -> str:
    """The document title of a PDF's info dictionary (a literal or a UTF-16 hex string)."""
    m = re.search(rb"/Title\s*(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f]+>)", data)
    assert m, "the PDF has no /Title"
    raw = m.group(1)
    if raw.startswith(b"<"):
        text = bytes.fromhex(raw[1:-1].decode())
        return text[2:].decode("utf-16-be") if text.startswith(b"\xfe\xff") else text.decode("latin-1")
    return raw[1:-1].decode("latin-1")


@pytest.mark.browser
def test_report_command_writes_an_a4_pdf(warehouse, tmp_path):
    require_chromium()
    out = tmp_path / "board" / "report.pdf"
    result = runner.invoke(
        _app(), ["report", "--out", str(out), "--period", "2026Q3", "--format", "pdf", "--warehouse", str(warehouse)]
    )
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
    assert pages >= 3
    # every page is A4 portrait: 595 x 842 points
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert len(boxes) == pages and {(round(float(w)), round(float(h))) for w, h in boxes} == {(595, 842)}
    assert _pdf_title(data) == "Contextual safeguarding outcome report: 2026 Q3"
    assert re.search(rb"/CreationDate\s*\(D:20\d{6}", data)  # dated
    assert not list(out.parent.glob(".*.tmp"))
    con = duckdb.connect(str(warehouse), read_only=True)
    detail = con.execute("select detail from meta.audit where action = 'report' order by 1 desc").fetchall()
    con.close()
    assert ("outcome report 2026 Q3 against 2026 Q2 (pdf)",) in detail


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("2999Q1", "2999 Q1 (1 Jan to 31 Mar 2999) has not begun"),
        ("2999", "has not begun"),
        # the tiny data end in September 2026: a later period holds nothing from any feed
        ("2026 Q4", "no feed has a record in 2026 Q4 (1 Oct to 31 Dec 2026): the last record of any feed"),
        ("2026-11", "choose an earlier period (the default is 2026 Q2)"),
    ],
)
def test_report_refuses_a_period_no_feed_reaches(warehouse, tmp_path, period, expected):
    out = tmp_path / "r.html"
    result = runner.invoke(_app(), ["report", "--out", str(out), "--period", period, "--warehouse", str(warehouse)])
    assert result.exit_code == 1, result.output
    assert expected in " ".join(result.output.split())
    assert not out.exists()


def test_report_refuses_a_warehouse_with_no_records(tmp_path):
    path = tmp_path / "empty.duckdb"
    connect(settings=load_settings(None, warehouse=path)).close()
    out = tmp_path / "r.html"
    result = runner.invoke(_app(), ["report", "--out", str(out), "--warehouse", str(path)])
    assert result.exit_code == 1, result.output
    assert "the warehouse holds no records (incidents, missing episodes" in " ".join(result.output.split())
    assert not out.exists()
