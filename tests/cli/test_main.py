"""Tests for ctxrisk.cli.main: init, ingest, status and check-pii through the command line."""

import json

from typer.testing import CliRunner

from ctxrisk.cli.main import ExitCode, app

runner = CliRunner()


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_init_ingest_status(tmp_path):
    wh = tmp_path / "w.duckdb"
    result = runner.invoke(app, ["init", "--warehouse", str(wh)])
    assert result.exit_code == 0, result.output
    assert "schema version 1" in result.output
    good = write(
        tmp_path,
        "i.csv",
        "incident_id,occurred_at,latitude,longitude,category\n"
        "A,2024-01-01T10:00,53.1,-2.4,Drug supply\nB,bad,53.1,-2.4,x\n",
    )
    result = runner.invoke(app, ["ingest", "incidents", str(good), "--warehouse", str(wh), "--format", "json"])
    assert result.exit_code == 0, result.output
    files = json.loads(result.output)["files"]
    assert (files[0]["rows_read"], files[0]["rows_loaded"], files[0]["rows_rejected"]) == (2, 1, 1)
    result = runner.invoke(app, ["ingest", "incidents", str(good), "--warehouse", str(wh)])
    assert "read 0 = loaded 0 + rejected 0" in result.output
    result = runner.invoke(app, ["status", "--warehouse", str(wh), "--format", "json"])
    info = json.loads(result.output)
    assert info["tables"]["raw.incidents"] == 1
    assert info["sources"][0]["rows_rejected"] == 1
    assert info["top_reject_reasons"][0]["reason"].startswith("not an ISO 8601")


def test_init_puts_back_a_view_removed_by_hand(tmp_path):
    import duckdb

    wh = tmp_path / "w.duckdb"
    assert runner.invoke(app, ["init", "--warehouse", str(wh)]).exit_code == 0
    raw = duckdb.connect(str(wh))
    raw.execute("drop view staging.persons")  # the recorded fingerprint still matches the schema files
    raw.close()
    result = runner.invoke(app, ["init", "--warehouse", str(wh)])
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("select count(*) from staging.persons").fetchone() == (0,)


def test_unreadable_file_exits_1_and_others_still_load(tmp_path):
    wh = tmp_path / "w.duckdb"
    assert runner.invoke(app, ["init", "--warehouse", str(wh)]).exit_code == 0
    bad = write(tmp_path, "bad.csv", "incident_id,category\nA,x\n")
    good = write(
        tmp_path, "good.csv", "incident_id,occurred_at,latitude,longitude,category\nA,2024-01-01T10:00,53.1,-2.4,x\n"
    )
    result = runner.invoke(app, ["ingest", "incidents", str(bad), str(good), "--warehouse", str(wh)])
    assert result.exit_code == ExitCode.INPUT_ERROR
    assert "required column(s) missing" in result.output
    assert "read 1 = loaded 1 + rejected 0" in result.output


def test_unknown_kind_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["ingest", "gangs", str(tmp_path / "x.csv"), "--warehouse", str(tmp_path / "w")])
    assert result.exit_code == ExitCode.USAGE
    assert "unknown kind 'gangs'" in result.output


def test_pseudonymise_without_key_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.delenv("CTXRISK_PSEUDO_KEY", raising=False)
    monkeypatch.delenv("CTXRISK_PSEUDO_KEY_FILE", raising=False)
    path = write(tmp_path, "p.csv", "person_id\nP1\n")
    result = runner.invoke(
        app, ["ingest", "persons", str(path), "--pseudonymise", "--warehouse", str(tmp_path / "w.duckdb")]
    )
    assert result.exit_code == ExitCode.INPUT_ERROR
    assert "needs a key" in result.output


def test_check_pii(tmp_path):
    clean = write(tmp_path, "clean.csv", "person_id,birth_year_month\nP1,2010-01\n")
    dirty = write(tmp_path, "dirty.csv", "person_id,surname,home\nP1,Smith,CW1 2AB\n")
    assert runner.invoke(app, ["check-pii", str(clean)]).exit_code == 0
    result = runner.invoke(app, ["check-pii", str(dirty), "--format", "json"])
    assert result.exit_code == ExitCode.INPUT_ERROR
    assert {f["column"] for f in json.loads(result.output)} == {"surname", "home"}


def test_sample_then_ingest_every_kind(tmp_path):
    out = tmp_path / "sample"
    result = runner.invoke(app, ["sample", "--out", str(out), "--seed", "3", "--scale", "2000"])
    assert result.exit_code == 0, result.output
    assert "incidents 2,000" in result.output
    wh = str(tmp_path / "w.duckdb")
    assert runner.invoke(app, ["init", "--warehouse", wh]).exit_code == 0
    for kind, name in (
        ("persons", "persons"),
        ("incidents", "incidents"),
        ("involvements", "involvements"),
        ("missing", "missing"),
        ("associations", "associations"),
        ("intelligence", "intelligence"),
        ("screenings", "screenings"),
        ("referrals", "referrals"),
    ):
        result = runner.invoke(app, ["ingest", kind, str(out / f"{name}.csv"), "--warehouse", wh, "--format", "json"])
        assert result.exit_code == 0, result.output
        files = json.loads(result.output)["files"]
        assert files[0]["rows_rejected"] == 0 and files[0]["rows_loaded"] > 0, kind


def test_file_names_in_errors_are_printed_as_written(tmp_path):
    wh = tmp_path / "w.duckdb"
    assert runner.invoke(app, ["init", "--warehouse", str(wh)]).exit_code == 0
    names = ["[bold red]x.csv", "a[/x].csv"]
    result = runner.invoke(app, ["ingest", "incidents", *(str(tmp_path / n) for n in names), "--warehouse", str(wh)])
    assert result.exit_code == ExitCode.INPUT_ERROR
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    text = " ".join(result.output.split())  # rich wraps long lines
    for name in names:
        assert f"{name}: no such file" in text


def test_an_open_quote_and_text_after_a_quote_are_rejected_with_line_and_column(tmp_path):
    wh = tmp_path / "w.duckdb"
    assert runner.invoke(app, ["init", "--warehouse", str(wh)]).exit_code == 0
    body = (
        "incident_id,occurred_at,latitude,longitude,category\n"
        'A,2024-01-01T10:00,53.1,-2.4,"Drugs"x\n'
        "B,2024-01-02T10:00,53.1,-2.4,cse\n"
        'C,2024-01-03T10:00,53.1,-2.4,"open\n'
        "D,2024-01-04T10:00,53.1,-2.4,cse\n"
    )
    path = write(tmp_path, "q.csv", body)
    result = runner.invoke(app, ["ingest", "incidents", str(path), "--warehouse", str(wh), "--format", "json"])
    assert result.exit_code == 0, result.output
    files = json.loads(result.output)["files"]
    assert (files[0]["rows_read"], files[0]["rows_loaded"], files[0]["rows_rejected"]) == (4, 2, 2)
    import duckdb

    con = duckdb.connect(str(wh), read_only=True)
    rows = con.execute("select line, reason from raw.rejected_rows order by line").fetchall()
    con.close()
    assert rows == [
        (2, "column 37: text after a closing quote; quote the whole value"),
        (4, "column 30: a quote opened here is never closed"),
    ]
