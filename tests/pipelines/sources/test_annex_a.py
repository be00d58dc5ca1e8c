"""Ofsted Annex A List 8 reader on the sample workbook and on crafted workbooks."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from support import shared_data_path

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.runner import ingest_one
from ctxrisk.pipelines.sources.annex_a import read_annex_a

MISSING = "Number of Episodes the Child has been \u2018Missing\u2019 from their Placement in the last 12 months"
ABSENT = "Number of Episodes the Child has been \u2018Absent\u2019 from their Placement in the last 12 months"
OFFERED = "Was the child offered a Return Interview after their last missing episode (Y/N)?"
ACCEPTED = "Did the child accept a Return Interview after their last missing episode (Y/N)?"


def verified() -> Path:
    path = shared_data_path("annex_a", "Annex_A.xlsx")
    sums = dict(line.split()[::-1] for line in (path.parent / "SHA256SUMS").read_text().splitlines() if line.strip())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sums["Annex_A.xlsx"]
    return path


def test_real_workbook_reconciles_and_minimises(con, settings):
    result = ingest_one(con, "annex-a", verified(), settings=settings)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5, 5, 0)
    rows = con.execute(
        "select person_id, birth_year_month, sex, looked_after_from, placement_postcode_district, "
        "missing_episodes_12m, absent_episodes_12m from raw.annex_a_children order by line"
    ).fetchall()
    assert rows[0] == ("1761444", "2002-02", "female", date(2009, 8, 6), "T28", 0, 0)
    assert rows[1][4] is None  # "nope" is not a postcode
    assert con.execute("select count(*) from raw.persons").fetchone() == (0,)  # the partnership's file only
    assert con.execute(
        "select birth_year_month, sex, looked_after from staging.persons where person_id = '1761444'"
    ).fetchone() == ("2002-02", "female", True)
    assert con.execute("select count(*) from staging.persons where looked_after").fetchone() == (5,)
    assert any("not valid postcodes" in note for note in result.notes)
    again = ingest_one(con, "annex-a", verified(), settings=settings)
    assert again.skipped_same_file


def _workbook(tmp_path: Path, rows: list[list[object]], *, title_rows: int = 2, sheet: str = "List 8") -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    for _ in range(title_rows):
        ws.append(["Annex A - children looked after"])
    ws.append(
        [
            "Child Unique ID",
            "Gender",
            "Date of Birth",
            "Date Started to be Looked After",
            "Date Ceased to be Looked After",
            "Placement postcode",
            MISSING,
            ABSENT,
            OFFERED,
            ACCEPTED,
            "Allocated Worker",
        ]
    )
    for row in rows:
        ws.append(row)
    path = tmp_path / "annex.xlsx"
    book.save(path)
    return path


def test_serial_dates_prefixes_and_bad_cells(tmp_path, settings):
    path = _workbook(
        tmp_path,
        [
            ["A1", "b) Female", 37300, 40031, None, "CW1 2AB", 3, 1, "a) Yes", "b) No", "A Worker"],
            ["A2", "a) Male", datetime(2010, 5, 1), "05/08/2009", None, None, 0, 0, "Y", "Y", None],
            ["A3", "a) Male", None, None, None, None, -1, 0, None, None, None],  # negative count
            ["A4", "a) Male", None, None, None, None, 1, 0, "N", "Y", None],  # accepted but not offered
            ["A5", "a) Male", None, "not a date", None, None, 1, 0, None, None, None],
            ["A1", "b) Female", None, None, None, None, 0, 0, None, None, None],  # same child again
            [None, None, None, None, None, None, None, None, None, None, None],  # blank row: not a record
        ],
    )
    batch = read_annex_a(path, settings=settings, options={})
    assert batch.rows_read == 6
    assert (len(batch.rows), batch.rejected_records) == (2, 4)
    assert list(batch.rejects["line"]) == [6, 7, 8, 9]
    first = batch.rows.iloc[0]
    assert first["looked_after_from"] == date(2009, 8, 6)  # Excel serial 40031, as in the sample workbook
    assert first["birth_year_month"] == "2002-02"  # Excel serial 37300 = 2002-02-13
    assert (first["sex"], first["placement_postcode_district"]) == ("female", "CW1")
    assert (first["missing_episodes_12m"], first["absent_episodes_12m"]) == (3, 1)
    assert (bool(first["rhi_offered"]), bool(first["rhi_accepted"])) == (True, False)
    assert "A Worker" not in batch.rows.astype(str).to_numpy().ravel().tolist()
    assert any("Allocated Worker" in note for note in batch.notes)


def test_pseudonymised_and_refused_workbooks(tmp_path, settings):
    path = _workbook(tmp_path, [["A1", None, None, None, None, None, 0, 0, None, None, None]], title_rows=0)
    batch = read_annex_a(path, settings=settings, options={"pseudonymise_key": b"0123456789abcdef-key"})
    assert batch.rows["person_id"].iloc[0].startswith("p_")
    other = _workbook(tmp_path, [["A1"]], sheet="List 9")
    with pytest.raises(ValidationError, match="no sheet 'List 8'"):
        read_annex_a(other, settings=settings, options={})
    text = tmp_path / "not.xlsx"
    text.write_text("CHILD\n1\n")
    with pytest.raises(ValidationError, match="not a readable .xlsx workbook"):
        read_annex_a(text, settings=settings, options={})
