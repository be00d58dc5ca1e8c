"""DfE SSDA903 (children looked after) Missing table, as CSV or XML, checked against the DfE rules."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.errors import ValidationError
from pipelines.ingest import Batch, ExtraRows, RejectCollector, finish_batch
from pipelines.kinds import ID_PATTERN
from pipelines.pseudonymise import pseudonymise_series
from pipelines.settings import Settings
from pipelines.sources import register
from pipelines.sources.common import map_columns, parse_times_unique
from pipelines.tabular import TextTable, file_sha256, read_csv_text

log = logging.getLogger(__name__)

MISSING_COLUMNS = {"child": "CHILD", "dob": "DOB", "missing": "MISSING", "mis_start": "MIS_START",
                   "mis_end": "MIS_END", "sex": "SEX"}
MISSING_TYPES = {"M": "missing", "A": "away"}
SEXES = {"1": "male", "2": "female"}


def _dates(series: pd.Series) -> pd.Series:
    """Parse ``dd/mm/YYYY`` (the 903 format) or ISO ``YYYY-MM-DD``; NaT where blank or invalid."""
    text = series.astype("object")
    uk = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    return uk.fillna(iso)


def _read_xml(path: Path) -> tuple[TextTable, pd.DataFrame]:
    """Read the 903 XML return: one record per ``<AMISSING>``; also every child's DOB and SEX.

    ``lines`` are 1-based record numbers (the position of the ``<AMISSING>`` block in the file), since the
    XML return is usually written on one physical line.
    """
    records: list[dict[str, str | None]] = []
    children: list[dict[str, str | None]] = []

    def text(elem: ET.Element | None, tag: str) -> str | None:
        found = elem.find(tag) if elem is not None else None
        if found is None or found.text is None or not found.text.strip():
            return None
        return found.text.strip()

    try:
        for _event, elem in ET.iterparse(path, events=("end",)):
            if elem.tag != "CHILD":
                continue
            header = elem.find("HEADER")
            child_id = text(header, "CHILDID") or text(elem, "CHILDID")
            dob = text(header, "DOB")
            sex = text(header, "SEX")
            children.append({"child": child_id, "dob": dob, "sex": sex})
            for block in elem.iter("AMISSING"):
                records.append({"child": child_id, "dob": dob, "sex": sex, "missing": text(block, "MISSING"),
                                "mis_start": text(block, "MIS_START"), "mis_end": text(block, "MIS_END")})
            elem.clear()
    except ET.ParseError as exc:
        line, column = exc.position
        msg = f"{path}: line {line}, column {column}: not well-formed XML ({exc}); nothing was loaded from it"
        raise ValidationError(msg) from exc
    columns = ["child", "dob", "missing", "mis_start", "mis_end", "sex"]
    frame = pd.DataFrame(records, columns=columns).astype(pd.StringDtype("pyarrow"))
    frame.columns = [MISSING_COLUMNS[c] for c in columns]
    table = TextTable(path, [MISSING_COLUMNS[c] for c in columns], frame,
                      np.arange(1, len(frame) + 1, dtype=np.int64), [], len(frame), file_sha256(path),
                      line_kind="record")
    return table, pd.DataFrame(children, columns=["child", "dob", "sex"]).astype(pd.StringDtype("pyarrow"))


def _rule_574(person: pd.Series, start: pd.Series, end: pd.Series, eligible: np.ndarray) -> np.ndarray:
    """Rows whose period starts while an earlier period of the same child is still open (or overlaps it)."""
    out = np.zeros(len(person), dtype=bool)
    idx = np.flatnonzero(eligible)
    if not len(idx):
        return out
    sub = pd.DataFrame({"person": person.to_numpy()[idx], "start": start.to_numpy()[idx],
                        "end": end.to_numpy()[idx], "pos": idx})
    sub = sub.sort_values(["person", "start", "pos"], kind="stable")
    # An open period (no end) runs on for ever.
    end_filled = sub["end"].fillna(pd.Timestamp("9999-12-31").as_unit(sub["end"].dt.unit))
    prev_max = end_filled.groupby(sub["person"].to_numpy()).transform(lambda s: s.cummax().shift(1))
    overlap = (prev_max.notna() & (sub["start"] < prev_max)).to_numpy(dtype=bool)
    out[sub["pos"].to_numpy()[overlap]] = True
    return out


def read_missing(path: Path, *, settings: Settings, options: dict[str, Any]) -> Batch:
    """Read an SSDA903 Missing table (CSV ``CHILD,DOB,MISSING,MIS_START,MIS_END`` or the XML return).

    Parameters
    ----------
    path : Path
        ``.xml`` for the XML return (``<CHILD><HEADER><CHILDID>…<AMISSING>…``), otherwise CSV.
    options : dict
        ``pseudonymise_key`` (bytes or None): CHILD is replaced by its keyed pseudonym before anything else.

    Returns
    -------
    Batch
        Episodes for ``raw.missing_episodes`` (``episode_id = 903:<person>:<start date>``, day precision,
        ``missing_type`` ``missing`` for M and ``away`` for A, ``ended_at`` blank while still missing) and,
        as extra rows, each child's year-month of birth for ``raw.persons`` (``looked_after`` true; blanks of
        an existing person are filled, nothing is overwritten). The full date of birth is never stored.
        Records are refused with the DfE rule code: 564 (start blank), 565 (type blank), 1004/1005 (start/end
        not a date), 1006 (type not M or A), 567 (ends before it starts), 574 (overlaps an earlier period of
        the same child, or starts while it is still open), 586 (starts before the child's birth).
    """
    children = None
    if path.suffix.lower() == ".xml":
        table, children = _read_xml(path)
    else:
        table = read_csv_text(path)
    frame = map_columns(table, MISSING_COLUMNS, required=("child", "dob", "missing", "mis_start", "mis_end"),
                        fmt="SSDA903 Missing")
    key = options.get("pseudonymise_key")
    if key is not None:
        frame["child"] = pseudonymise_series(frame["child"], key).astype(pd.StringDtype("pyarrow"))
        if children is not None:
            children["child"] = pseudonymise_series(children["child"], key).astype(pd.StringDtype("pyarrow"))
    n = len(frame)
    collector = RejectCollector(n)
    child = frame["child"]
    collector.add(child.isna().to_numpy(), "CHILD", None, "required value is blank")
    bad_child = child.notna().to_numpy() & ~child.str.match(ID_PATTERN).fillna(False).to_numpy(dtype=bool)
    collector.add(bad_child, "CHILD", child, "invalid child ID: use 1-64 letters, digits or _ . : - characters")
    dob = _dates(frame["dob"])
    collector.add(frame["dob"].isna().to_numpy(), "DOB", None, "required value is blank")
    collector.add(frame["dob"].notna().to_numpy() & dob.isna().to_numpy(), "DOB", None,
                  "not a date (dd/mm/YYYY); the value is not shown because it is a date of birth")
    mtype = frame["missing"].str.strip().str.upper()
    collector.add(mtype.isna().to_numpy(), "MISSING", None,
                  "the missing/away type is blank (M = missing, A = away without authorisation)", "565")
    collector.add(mtype.notna().to_numpy() & ~mtype.isin(list(MISSING_TYPES)).fillna(False).to_numpy(bool),
                  "MISSING", frame["missing"], "missing type invalid: use M (missing) or A (away)", "1006")
    start = _dates(frame["mis_start"])
    end = _dates(frame["mis_end"])
    collector.add(frame["mis_start"].isna().to_numpy(), "MIS_START", None,
                  "the date the child started to be missing or away is blank", "564")
    collector.add(frame["mis_start"].notna().to_numpy() & start.isna().to_numpy(), "MIS_START", frame["mis_start"],
                  "the start date is not a valid date (dd/mm/YYYY)", "1004")
    collector.add(frame["mis_end"].notna().to_numpy() & end.isna().to_numpy(), "MIS_END", frame["mis_end"],
                  "the end date is not a valid date (dd/mm/YYYY)", "1005")
    ends_before = (end.notna() & start.notna() & (end < start)).to_numpy(dtype=bool)
    collector.add(ends_before, "MIS_END", frame["mis_end"], "the episode ends before it starts", "567")
    before_birth = (dob.notna() & start.notna() & (start < dob)).to_numpy(dtype=bool)
    collector.add(before_birth, "MIS_START", frame["mis_start"], "the episode starts before the child's birth", "586")
    overlap = _rule_574(child, start, end, ~collector.bad)
    collector.add(overlap, "MIS_START", frame["mis_start"],
                  "the period starts while an earlier period of this child is still open or overlaps it", "574")
    start_iso = pd.Series(start.dt.strftime("%Y-%m-%d"), dtype="object")
    end_iso = pd.Series(end.dt.strftime("%Y-%m-%d"), dtype="object")
    started_at, precision, _ = parse_times_unique(start_iso, timezone=settings.local_timezone)
    ended_at, _, _ = parse_times_unique(end_iso, timezone=settings.local_timezone)
    episode_id = "903:" + child.astype("object").fillna("") + ":" + start_iso.fillna("")
    dup = np.zeros(n, dtype=bool)
    good_ids = episode_id[~collector.bad]
    dup[good_ids.index[good_ids.duplicated(keep="first")].to_numpy()] = True
    collector.add(dup, "MIS_START", frame["mis_start"], "a second period of this child with the same start date",
                  "574")
    rows = pd.DataFrame({
        "episode_id": episode_id.to_numpy(),
        "person_id": child.astype("object"),
        "started_at": started_at,
        "started_precision": precision,
        "ended_at": ended_at,
        "missing_type": mtype.map(MISSING_TYPES, na_action="ignore").astype("object"),
        "source": "ssda903",
    })
    good = ~collector.bad
    notes = []
    open_count = int((end.isna().to_numpy() & frame["mis_end"].isna().to_numpy() & good).sum())
    if open_count:
        notes.append(f"{open_count:,} episode(s) have no end date: still missing or away at the end of the return")
    persons = _persons(frame, children, table.lines)
    batch = finish_batch("ssda903-missing", "raw.missing_episodes", ("episode_id",), table, rows, collector, notes)
    batch.extra.append(ExtraRows("raw.persons", ("person_id",), persons, mode="fill"))
    batch.notes.append(f"{len(persons):,} child(ren)'s year-month of birth recorded in raw.persons "
                       "(the full date of birth is not stored)")
    return batch


def _persons(frame: pd.DataFrame, children: pd.DataFrame | None, lines: np.ndarray) -> pd.DataFrame:
    """One row per child with a valid ID and date of birth: year-month of birth only, looked after."""
    source = children if children is not None else frame[["child", "dob", "sex"]]
    line = np.full(len(source), None, dtype=object) if children is not None else lines
    dob = _dates(source["dob"])
    ok = (source["child"].notna() & source["child"].str.match(ID_PATTERN).fillna(False) & dob.notna()).to_numpy(bool)
    people = pd.DataFrame({
        "person_id": source["child"].astype("object").to_numpy()[ok],
        "birth_year_month": dob.dt.strftime("%Y-%m").to_numpy()[ok],
        "sex": source["sex"].astype("object").map(SEXES).to_numpy()[ok],
        "looked_after": True,
        "source": "ssda903",
        "line": line[ok],
    })
    return people.drop_duplicates("person_id", keep="first").reset_index(drop=True)


register("ssda903-missing", read_missing)
