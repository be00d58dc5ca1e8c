"""Ofsted Annex A workbook, List 8 (children looked after): per-child missing and absent episode counts."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctxrisk.pipelines.batch import Batch, RejectCollector, finish_batch
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.kinds import ID_PATTERN
from ctxrisk.pipelines.pseudonymise import pseudonymise_series
from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.sources import register
from ctxrisk.pipelines.sources.common import normalise_header, yes_no
from ctxrisk.pipelines.tabular import TextTable, file_sha256

log = logging.getLogger(__name__)

SHEET = "list 8"
HEADER_SEARCH_ROWS = 20
# Internal name -> regular expression on the normalised header (lower case, straight quotes).
COLUMNS: dict[str, str] = {
    "child": r"child unique id|child id|unique id",
    "sex": r"gender|sex",
    "dob": r"date of birth",
    "cla_start": r"date started to be looked after",
    "cla_end": r"date ceased to be looked after",
    "postcode": r"placement postcode",
    "placement_la": r"la of placement",
    "missing": r"number of episodes .*'?missing'? .*",
    "absent": r"number of episodes .*'?absent'? .*",
    "rhi_offered": r".*offered a return (home )?interview.*",
    "rhi_accepted": r".*accept(ed)? a return (home )?interview.*",
}
REQUIRED = ("child", "missing", "absent")
LETTER_PREFIX = re.compile(r"^\s*[a-z]{1,2}\)\s*", re.IGNORECASE)
POSTCODE = re.compile(r"^\s*([A-Z]{1,2}\d[A-Z\d]?)\s*\d[A-Z]{2}\s*$", re.IGNORECASE)
SEXES = {
    "female": "female",
    "male": "male",
    "f": "female",
    "m": "male",
    "unknown": "unknown",
    "not known": "unknown",
    "other": "other",
    "indeterminate": "other",
}
EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _to_date(value: object) -> tuple[date | None, bool]:
    """A cell as a date: a date cell, an Excel serial number, or text dd/mm/YYYY or YYYY-MM-DD; (date, bad)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, False
    if isinstance(value, datetime):
        return value.date(), False
    if isinstance(value, date):
        return value, False
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 2_958_466:  # Excel serials 1900-01-01 .. 9999-12-31
            return (EXCEL_EPOCH + pd.Timedelta(days=int(value))).date(), False
        return None, True
    text = str(value).strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).date(), False
        except ValueError:
            continue
    if re.fullmatch(r"\d{4,5}(\.0+)?", text):
        return _to_date(float(text))
    return None, True


def _read_sheet(path: Path) -> tuple[list[str], list[tuple], list[int]]:
    """Return List 8's header, its data rows and their spreadsheet row numbers."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a bad file
        msg = f"{path}: not a readable .xlsx workbook: {exc}"
        raise ValidationError(msg) from exc
    try:
        sheet_name = next((s for s in book.sheetnames if normalise_header(s) == SHEET), None)
        if sheet_name is None:
            msg = f"{path}: no sheet 'List 8' (sheets: {', '.join(book.sheetnames)}); is this an Annex A workbook?"
            raise ValidationError(msg)
        rows = list(book[sheet_name].iter_rows(values_only=True))
    finally:
        book.close()
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        texts = [normalise_header(str(c)) if c is not None else "" for c in row]
        if any(re.fullmatch(COLUMNS["child"], t) for t in texts):
            header = [str(c).strip() if c is not None else "" for c in row]
            data = rows[i + 1 :]
            numbers = list(range(i + 2, i + 2 + len(data)))
            keep = [(r, n) for r, n in zip(data, numbers, strict=True) if any(_cell_text(c) for c in r)]
            return header, [r for r, _ in keep], [n for _, n in keep]
    msg = f"{path}: sheet {sheet_name!r}: no header row with 'Child Unique ID' in its first {HEADER_SEARCH_ROWS} rows"
    raise ValidationError(msg)


def read_annex_a(path: Path, *, settings: Settings, options: dict[str, Any]) -> Batch:
    """Read List 8 of an Ofsted Annex A workbook into ``raw.annex_a_children`` rows.

    Parameters
    ----------
    path : Path
        An ``.xlsx`` workbook with a sheet ``List 8``; its header row is found among the first 20 rows.
        Headers are matched ignoring case and curly quotes.
    options : dict
        ``pseudonymise_key`` (bytes or None): the Child Unique ID is replaced by its keyed pseudonym.

    Returns
    -------
    Batch
        One row per child: counts of episodes missing and absent from placement in the last 12 months, return
        interview offered/accepted (``a) Yes``/``b) No``/``Y``/``N``), looked-after start and end dates (date
        cells, Excel serial numbers or dd/mm/YYYY text), sex, year-month of birth, the placement postcode's
        district (outward code) and LA. Names, full postcodes and full dates of birth are never stored.
        ``staging.persons`` reads each child's year-month of birth and sex from these rows (the children are
        looked after).
    """
    header, data, numbers = _read_sheet(path)
    norm = [normalise_header(h) for h in header]
    found: dict[str, int] = {}
    for name, pattern in COLUMNS.items():
        for i, h in enumerate(norm):
            if re.fullmatch(pattern, h) and i not in found.values():
                found[name] = i
                break
    missing = [name for name in REQUIRED if name not in found]
    if missing:
        msg = f"{path}: List 8: column(s) for {', '.join(missing)} not found; the header has {', '.join(header)}"
        raise ValidationError(msg)
    n = len(data)

    def column(name: str) -> list[object]:
        i = found.get(name)
        return [row[i] if i is not None and i < len(row) else None for row in data]

    text = pd.DataFrame(
        {
            h or f"column {i + 1}": [_cell_text(row[i]) if i < len(row) else None for row in data]
            for i, h in enumerate(header)
        },
        dtype="object",
    )
    collector = RejectCollector(n)
    child = pd.Series([_cell_text(v) for v in column("child")], dtype="object")
    key = options.get("pseudonymise_key")
    if key is not None:
        child = pseudonymise_series(child, key).astype("object")
    collector.add(child.isna().to_numpy(), header[found["child"]], None, "required value is blank")
    bad_id = child.notna().to_numpy() & ~child.astype("string").str.match(ID_PATTERN).fillna(False).to_numpy(bool)
    collector.add(bad_id, header[found["child"]], child, "invalid child ID: use 1-64 letters, digits or _ . : -")

    def counts(name: str) -> pd.Series:
        raw = pd.Series([_cell_text(v) for v in column(name)], dtype="object")
        values = pd.to_numeric(raw, errors="coerce")
        bad = raw.notna().to_numpy() & (values.isna() | (values < 0) | (values % 1 != 0)).to_numpy()
        collector.add(bad, header[found[name]], raw, "not a whole number of episodes (0 or more)")
        return values.where(~pd.Series(bad)).astype("Int64")

    missing_n, absent_n = counts("missing"), counts("absent")

    def dates(name: str, *, shown: bool = True) -> pd.Series:
        if name not in found:
            return pd.Series([None] * n, dtype="object")
        parsed = [_to_date(v) for v in column(name)]
        bad = np.array([b for _, b in parsed], dtype=bool)
        raw = pd.Series([_cell_text(v) for v in column(name)], dtype="object")
        collector.add(
            bad,
            header[found[name]],
            raw if shown else None,
            "not a date (date cell, Excel serial number or dd/mm/YYYY)",
        )
        return pd.Series([None if b else d for d, b in parsed], dtype="object")

    dob = dates("dob", shown=False)
    cla_start, cla_end = dates("cla_start"), dates("cla_end")
    ends_before = np.array([s is not None and e is not None and e < s for s, e in zip(cla_start, cla_end, strict=True)])
    collector.add(
        ends_before,
        header[found["cla_end"]] if "cla_end" in found else None,
        None,
        "ceased to be looked after before starting to be looked after",
    )

    def flags(name: str) -> pd.Series:
        if name not in found:
            return pd.Series([None] * n, dtype="boolean")
        raw = pd.Series([_cell_text(v) for v in column(name)], dtype="string")
        value, bad = yes_no(raw)
        collector.add(bad, header[found[name]], raw, "not Yes or No")
        return value

    offered, accepted = flags("rhi_offered"), flags("rhi_accepted")
    accepted_not_offered = (accepted.fillna(False) & ~offered.fillna(True)).to_numpy(bool)
    collector.add(
        accepted_not_offered,
        header[found["rhi_accepted"]] if "rhi_accepted" in found else None,
        None,
        "a return interview is accepted but was not offered",
    )
    sex_raw = (
        pd.Series([_cell_text(v) for v in column("sex")], dtype="object")
        if "sex" in found
        else pd.Series([None] * n, dtype="object")
    )
    sex = sex_raw.map(lambda v: None if v is None else SEXES.get(LETTER_PREFIX.sub("", v).strip().lower(), "unknown"))
    postcode = pd.Series([_cell_text(v) for v in column("postcode")], dtype="object")
    district = postcode.map(
        lambda v: None if v is None or not POSTCODE.match(v) else POSTCODE.match(v).group(1).upper()
    )
    invalid_postcodes = int((postcode.notna() & district.isna()).sum())
    placement_la = pd.Series([_cell_text(v) for v in column("placement_la")], dtype="object")
    birth_ym = dob.map(lambda d: None if d is None else f"{d.year:04d}-{d.month:02d}")
    good_child = child.where(~pd.Series(collector.bad))
    dup = (good_child.notna() & good_child.duplicated(keep="first")).to_numpy()
    collector.add(dup, header[found["child"]], child, "the same child appears on an earlier row")
    rows = pd.DataFrame(
        {
            "person_id": child,
            "birth_year_month": birth_ym,
            "sex": sex,
            "looked_after_from": cla_start,
            "looked_after_until": cla_end,
            "placement_postcode_district": district,
            "placement_la": placement_la,
            "missing_episodes_12m": missing_n,
            "absent_episodes_12m": absent_n,
            "rhi_offered": offered,
            "rhi_accepted": accepted,
        }
    )
    table = TextTable(
        path, header, text, np.asarray(numbers, dtype=np.int64), [], n, file_sha256(path), line_kind="row"
    )
    notes = []
    if invalid_postcodes:
        notes.append(f"{invalid_postcodes:,} placement postcode(s) are not valid postcodes: district left blank")
    ignored = [h for i, h in enumerate(header) if i not in found.values() and h]
    if ignored:
        notes.append(f"List 8 columns not stored: {', '.join(ignored)}")
    return finish_batch("annex-a", "raw.annex_a_children", ("person_id",), table, rows, collector, notes)


register("annex-a", read_annex_a)
