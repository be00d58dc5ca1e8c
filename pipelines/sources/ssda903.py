"""DfE SSDA903 (children looked after) Missing table, as CSV or XML, checked against the DfE rules."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ctxrisk.pipelines.arrowtext import (
    charset_match,
    constant_text,
    encode,
    factorize,
    spread,
    spread_flags,
    text_series,
    to_chunked,
)
from ctxrisk.pipelines.batch import Batch, ExtraRows, RejectCollector, finish_batch
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.kinds import ID_CHARS, ID_MAX
from ctxrisk.pipelines.pseudonymise import pseudonymise_series
from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.sources import register
from ctxrisk.pipelines.sources.common import map_columns
from ctxrisk.pipelines.tabular import TextTable, file_sha256, read_csv_text
from ctxrisk.pipelines.timeparse import local_to_utc

log = logging.getLogger(__name__)

MISSING_COLUMNS = {
    "child": "CHILD",
    "dob": "DOB",
    "missing": "MISSING",
    "mis_start": "MIS_START",
    "mis_end": "MIS_END",
    "sex": "SEX",
}
MISSING_TYPES = {"M": "missing", "A": "away"}
SEXES = {"1": "male", "2": "female"}


def _dates(series: pd.Series) -> pd.Series:
    """Parse ``dd/mm/YYYY`` (the 903 format) or ISO ``YYYY-MM-DD``; NaT where blank or invalid."""
    text = series.astype("object")
    uk = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    return uk.fillna(iso)


class _Dates:
    """A column of dates read once per distinct value: ``codes`` per row, ``values`` per code (last: blank)."""

    def __init__(self, series: pd.Series) -> None:
        self.codes, uniques = factorize(series)
        self.values = _dates(pd.Series([*uniques, None], dtype="object")).to_numpy()
        self.rows = self.values[self.codes]
        self.blank = self.codes == len(uniques)
        self.invalid = ~self.blank & np.isnat(self.rows)

    def text(self, fmt: str) -> pa.Array:
        """Each row's date written with ``fmt`` (null where blank or invalid), as Arrow strings."""
        texts = pd.Series(self.values).dt.strftime(fmt)
        return spread([t if isinstance(t, str) else None for t in texts], self.codes)

    def utc(self, timezone: str) -> tuple[pd.Series, pd.Series]:
        """Each row's date as the UTC instant of its local midnight in ``timezone``, and its precision.

        The same reading as :func:`ctxrisk.pipelines.timeparse.parse_times` gives the date written ``YYYY-MM-DD``
        (:func:`ctxrisk.pipelines.timeparse.local_to_utc`), made once per distinct date from the dates already
        read rather than written out and parsed again. NaT and a blank precision where the date is blank or
        invalid.
        """
        utc = pd.Series(local_to_utc(self.values, timezone))
        precision = pd.Series(np.where(np.isnat(self.values), None, "day"))  # the parser's dtype
        return utc.take(self.codes).reset_index(drop=True), precision.take(self.codes).reset_index(drop=True)


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
                records.append(
                    {
                        "child": child_id,
                        "dob": dob,
                        "sex": sex,
                        "missing": text(block, "MISSING"),
                        "mis_start": text(block, "MIS_START"),
                        "mis_end": text(block, "MIS_END"),
                    }
                )
            elem.clear()
    except ET.ParseError as exc:
        line, column = exc.position
        msg = f"{path}: line {line}, column {column}: not well-formed XML ({exc}); nothing was loaded from it"
        raise ValidationError(msg) from exc
    columns = ["child", "dob", "missing", "mis_start", "mis_end", "sex"]
    frame = pd.DataFrame(records, columns=columns).astype(pd.StringDtype("pyarrow"))
    frame.columns = [MISSING_COLUMNS[c] for c in columns]
    table = TextTable(
        path,
        [MISSING_COLUMNS[c] for c in columns],
        frame,
        np.arange(1, len(frame) + 1, dtype=np.int64),
        [],
        len(frame),
        file_sha256(path),
        line_kind="record",
    )
    return table, pd.DataFrame(children, columns=["child", "dob", "sex"]).astype(pd.StringDtype("pyarrow"))


def _rule_574(child_codes: np.ndarray, start: np.ndarray, end: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Rows whose period starts while an earlier period of the same child is still open (or overlaps it)."""
    out = np.zeros(len(child_codes), dtype=bool)
    idx = np.flatnonzero(eligible)
    if not len(idx):
        return out
    codes = child_codes[idx]
    begins = start[idx].astype("datetime64[ns]").view(np.int64)
    # An open period (no end) runs on for ever.
    ends = end[idx].astype("datetime64[ns]")
    ends = np.where(np.isnat(ends), np.iinfo(np.int64).max, ends.view(np.int64))
    order = np.lexsort((idx, begins, codes))  # by child, then start, then file order
    codes, begins, ends = codes[order], begins[order], ends[order]
    # The latest end among the child's periods so far: a running maximum per child (pandas' grouped cummax
    # runs in C; a Python function per child took a minute for 100,000 rows), compared one row down.
    latest = pd.Series(ends).groupby(codes, sort=False).cummax().to_numpy()
    overlap = np.zeros(len(codes), dtype=bool)
    overlap[1:] = (codes[1:] == codes[:-1]) & (begins[1:] < latest[:-1])
    out[idx[order][overlap]] = True
    return out


def _repeated_pairs(codes: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """True where the (child code, start day) pair was seen on an earlier row; ``starts`` are all valid dates.

    The pair is packed into one integer (code times the span of days, plus the day), one value to compare
    instead of a two-column frame.
    """
    if not len(codes):
        return np.zeros(0, dtype=bool)
    days = starts.astype("datetime64[D]").view(np.int64)
    first, span = days.min(), int(days.max() - days.min()) + 1
    packed = codes.astype(np.int64) * span + (days - first)
    return pd.Series(packed).duplicated(keep="first").to_numpy()


def _first_of_each(codes: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Of ``rows`` (ascending positions), the first row of each distinct code, in file order."""
    _, first = np.unique(codes[rows], return_index=True)
    return np.sort(rows[first])


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
        ``missing_type`` ``missing`` for M and ``away`` for A, ``ended_at`` blank while still missing), each
        with the child's year-month of birth and sex as the row gives them; from the XML return also, as
        extra rows, every child of its header for ``raw.ssda903_children``. ``staging.persons`` reads both
        (the children are looked after). The full date of birth is never stored.
        Records are refused with the DfE rule code: 564 (start blank), 565 (type blank), 1004/1005 (start/end
        not a date), 1006 (type not M or A), 567 (ends before it starts), 574 (overlaps an earlier period of
        the same child, or starts while it is still open), 586 (starts before the child's birth).
    """
    children = None
    if path.suffix.lower() == ".xml":
        table, children = _read_xml(path)
    else:
        table = read_csv_text(path)
    frame = map_columns(
        table, MISSING_COLUMNS, required=("child", "dob", "missing", "mis_start", "mis_end"), fmt="SSDA903 Missing"
    )
    key = options.get("pseudonymise_key")
    if key is not None:
        frame["child"] = pseudonymise_series(frame["child"], key).astype(pd.StringDtype("pyarrow"))
        if children is not None:
            children["child"] = pseudonymise_series(children["child"], key).astype(pd.StringDtype("pyarrow"))
    # Every column is read once per distinct value and spread back: a return repeats its children, dates
    # and the two types on many rows.
    n = len(frame)
    collector = RejectCollector(n)
    child = frame["child"]
    child_codes, _ = encode(child)
    valid_child = _valid_ids(child)
    collector.add(child.isna().to_numpy(), "CHILD", None, "required value is blank")
    collector.add(
        child.notna().to_numpy() & ~valid_child,
        "CHILD",
        child,
        "invalid child ID: use 1-64 letters, digits or _ . : - characters",
    )
    dob = _Dates(frame["dob"])
    collector.add(dob.blank, "DOB", None, "required value is blank")
    collector.add(
        dob.invalid, "DOB", None, "not a date (dd/mm/YYYY); the value is not shown because it is a date of birth"
    )
    type_codes, type_values = factorize(frame["missing"])
    types = [v.strip().upper() or None for v in type_values]
    type_blank = spread_flags([t is None for t in types], type_codes) | (type_codes == len(types))
    collector.add(
        type_blank,
        "MISSING",
        None,
        "the missing/away type is blank (M = missing, A = away without authorisation)",
        "565",
    )
    collector.add(
        spread_flags([t is not None and t not in MISSING_TYPES for t in types], type_codes),
        "MISSING",
        frame["missing"],
        "missing type invalid: use M (missing) or A (away)",
        "1006",
    )
    start = _Dates(frame["mis_start"])
    end = _Dates(frame["mis_end"])
    collector.add(start.blank, "MIS_START", None, "the date the child started to be missing or away is blank", "564")
    collector.add(
        start.invalid, "MIS_START", frame["mis_start"], "the start date is not a valid date (dd/mm/YYYY)", "1004"
    )
    collector.add(end.invalid, "MIS_END", frame["mis_end"], "the end date is not a valid date (dd/mm/YYYY)", "1005")
    # NaT compares False: a blank or invalid date breaks neither rule.
    collector.add(end.rows < start.rows, "MIS_END", frame["mis_end"], "the episode ends before it starts", "567")
    collector.add(
        start.rows < dob.rows, "MIS_START", frame["mis_start"], "the episode starts before the child's birth", "586"
    )
    overlap = _rule_574(child_codes, start.rows, end.rows, ~collector.bad)
    collector.add(
        overlap,
        "MIS_START",
        frame["mis_start"],
        "the period starts while an earlier period of this child is still open or overlaps it",
        "574",
    )
    start_iso = start.text("%Y-%m-%d")
    started_at, precision = start.utc(settings.local_timezone)
    ended_at, _ = end.utc(settings.local_timezone)
    text = pa.large_string()
    episode_id = pc.binary_join_element_wise(
        pa.scalar("903", text),
        to_chunked(child).cast(text),
        start_iso.cast(text),
        pa.scalar(":", text),
        null_handling="replace",
    )
    # A second period of a child with the same start day has the same episode ID.
    candidates = np.flatnonzero(~collector.bad)
    dup = np.zeros(n, dtype=bool)
    dup[candidates[_repeated_pairs(child_codes[candidates], start.rows[candidates])]] = True
    collector.add(dup, "MIS_START", frame["mis_start"], "a second period of this child with the same start date", "574")
    rows = pd.DataFrame(
        {
            "episode_id": text_series(episode_id),
            "person_id": child,
            "started_at": started_at,
            "started_precision": precision,
            "ended_at": ended_at,
            "missing_type": text_series(spread([MISSING_TYPES.get(t or "") for t in types] + [None], type_codes)),
            "source": constant_text("ssda903", n),
            "birth_year_month": text_series(dob.text("%Y-%m")),
            "sex": _sexes(frame["sex"]),
        }
    )
    good = ~collector.bad
    notes = []
    open_count = int((end.blank & good).sum())
    if open_count:
        notes.append(f"{open_count:,} episode(s) have no end date: still missing or away at the end of the return")
    batch = finish_batch("ssda903-missing", "raw.missing_episodes", ("episode_id",), table, rows, collector, notes)
    if children is None:
        known = int(np.count_nonzero(np.bincount(child_codes[good])))
        batch.notes.append(
            f"{known:,} child(ren)'s year-month of birth kept with their episodes "
            "(the full date of birth is not stored)"
        )
    else:
        header = _children(children)
        batch.extra.append(ExtraRows("raw.ssda903_children", ("person_id",), header))
        batch.notes.append(
            f"{len(header):,} child(ren) of the return's header recorded in raw.ssda903_children "
            "with their year-month of birth (the full date of birth is not stored)"
        )
    return batch


def _valid_ids(child: pd.Series) -> np.ndarray:
    """True where a child ID is given and is 1-64 letters, digits or ``_ . : -``."""
    return child.notna().to_numpy() & charset_match(to_chunked(child), ID_CHARS, ID_MAX)


def _sexes(sex: pd.Series) -> pd.Series:
    """``SEX`` codes as ``male`` (1) or ``female`` (2), blank otherwise; read once per distinct code."""
    codes, values = factorize(sex)
    return text_series(spread([SEXES.get((v or "").strip()) for v in values] + [None], codes))


def _children(children: pd.DataFrame) -> pd.DataFrame:
    """One row per child of an XML header (``child``, ``dob``, ``sex``) with a valid ID and date of birth:
    year-month of birth only. A child listed twice keeps its first entry."""
    child, sex, dob = children["child"], children["sex"], _Dates(children["dob"])
    codes, _ = encode(child)
    first = _first_of_each(codes, np.flatnonzero(_valid_ids(child) & ~np.isnat(dob.rows)))
    return pd.DataFrame(
        {
            "person_id": text_series(to_chunked(child).take(first)),
            "birth_year_month": text_series(dob.text("%Y-%m").take(first)),
            "sex": _sexes(sex).take(first).reset_index(drop=True),
            "line": np.full(len(first), None, dtype=object),
        }
    )


register("ssda903-missing", read_missing)
