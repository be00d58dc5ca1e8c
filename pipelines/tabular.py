"""Read a CSV or Parquet file as text columns, keeping each record's line number and the records that do not parse."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ctxrisk.pipelines.arrowtext import clean_text
from ctxrisk.pipelines.errors import ValidationError

log = logging.getLogger(__name__)

csv.field_size_limit(2**31 - 1)
HEAD_BYTES = 1 << 20
#: Bytes Arrow parses per block (in parallel).
CSV_BLOCK_BYTES = 16 << 20


@dataclass
class StructuralReject:
    """A record that could not be split into the header's columns."""

    line: int
    reason: str
    value: str | None = None
    column: str | None = None


@dataclass
class TextTable:
    """A file's records as strings.

    Attributes
    ----------
    path : Path
    header : list of str
        Column names as written in the file (BOM and surrounding spaces removed).
    frame : DataFrame
        One string column per header name, one row per well-formed record; blanks are None.
    lines : ndarray of int
        The 1-based line on which each row of ``frame`` starts (for Parquet, the 1-based row number).
    rejects : list of StructuralReject
        Records with the wrong number of fields or broken quoting.
    rows_read : int
        Records read, blank lines not counted: ``len(frame) + len(rejects)``.
    sha256 : str
        Digest of the file's bytes.
    """

    path: Path
    header: list[str]
    frame: pd.DataFrame
    lines: np.ndarray
    rejects: list[StructuralReject] = field(default_factory=list)
    rows_read: int = 0
    sha256: str = ""
    line_kind: str = "line"


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file's bytes."""
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        msg = (
            f"{path}: line {line}, column {column}: the file is not UTF-8 text "
            f"(byte 0x{data[exc.start]:02x}); export it as UTF-8 and ingest again. Nothing was loaded from it."
        )
        raise ValidationError(msg) from exc


def _decode_head(path: Path, data: bytes) -> str:
    """The first MiB as text (the whole file when it is shorter), cut at a line end; decoding errors raised."""
    if len(data) <= HEAD_BYTES:
        return _decode(path, data)
    cut = data.rfind(b"\n", 0, HEAD_BYTES)
    head = data[: cut + 1] if cut >= 0 else data[:HEAD_BYTES]
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError:
        if cut >= 0:
            return _decode(path, head)
        return _decode(path, data)


def _check_header(path: Path, header: list[str]) -> list[str]:
    header = [h.strip() for h in header]
    if not header or all(not h for h in header):
        msg = f"{path}: line 1: no header row"
        raise ValidationError(msg)
    blanks = [i + 1 for i, h in enumerate(header) if not h]
    if blanks:
        msg = f"{path}: line 1: header has blank column name(s) at position(s) {blanks}"
        raise ValidationError(msg)
    seen: set[str] = set()
    for name in header:
        if name.lower() in seen:
            msg = f"{path}: line 1: column {name!r} appears twice in the header"
            raise ValidationError(msg)
        seen.add(name.lower())
    return header


def _is_blank(record: list[str]) -> bool:
    return len(record) <= 1 and (not record or not record[0].strip())


def _convert_options(header: list[str], *, check_utf8: bool = True) -> pacsv.ConvertOptions:
    return pacsv.ConvertOptions(
        # large_string is what pandas' Arrow-backed strings hold: no conversion when the frame is made
        column_types={name: pa.large_string() for name in header},
        strings_can_be_null=True,
        null_values=[""],
        quoted_strings_can_be_null=True,
        check_utf8=check_utf8,
    )


def _arrow_csv(data: bytes, header: list[str]) -> pa.Table | None:
    """Every record after the header as large strings, or None when Arrow refuses or skips a record."""
    invalid = 0

    def on_invalid(_row: object) -> str:
        nonlocal invalid
        invalid += 1
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=CSV_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(newlines_in_values=False, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.large_string() for name in header},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    return None if invalid else table


#: A quoted value that does not close on its line, or whose closing quote is followed by more text: a quote
#: at the start of a value, its text (a doubled quote is one quote; possessive, so it never backtracks), then
#: either a quote followed by anything but a comma or the line's end, or the line's end itself. A comma inside
#: a quoted value may start a match too: that only sends a sound file to the exact reader.
_MISPLACED_QUOTE = re.compile(rb'(?:^|,)"(?:[^"\n]|"")*+(?:"[^,\r\n]|$)', re.MULTILINE)


def _quoting_is_plain(data: bytes) -> bool:
    """True when every quoted value opens and closes on its line, followed by a comma or the line's end:
    Arrow's one-line-per-record parse then reads the file as the exact reader would."""
    return b'"' not in data or _MISPLACED_QUOTE.search(data) is None


def quote_problem(text: str) -> tuple[int, int, str] | None:
    """The first misplaced quote in a record's text: ``(line offset, column, reason)``, or None.

    A quoted value must end with a quote followed by a comma or the record's end (``"Drugs"x`` does not), and
    every opened quote must be closed. The line offset counts from the record's first line (0); the column is
    1-based within that line.
    """
    line, column, i, n = 0, 0, 0, len(text)
    at_field_start = True
    while i < n:
        char = text[i]
        column += 1
        if char == "\n":
            line, column, at_field_start = line + 1, 0, True
        elif char == ",":
            at_field_start = True
        elif char == '"' and at_field_start:
            open_line, open_column = line, column
            i += 1
            while True:
                if i >= n:
                    reason = "a quote opened here is never closed"
                    return open_line, open_column, reason
                char = text[i]
                column += 1
                if char == "\n":
                    line, column = line + 1, 0
                elif char == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        i += 1
                        column += 1
                    else:
                        break
                i += 1
            following = text[i + 1] if i + 1 < n else ""
            if following not in ("", ",", "\n", "\r"):
                reason = "text after a closing quote; quote the whole value"
                return line, column + 1, reason
            at_field_start = False
        else:
            at_field_start = False
        i += 1
    return None


def _fast_csv(path: Path, data: bytes, header: list[str]) -> TextTable | None:
    """Read with Arrow's multi-threaded parser when every record is one line; None to use the exact reader."""
    first_end = data.find(b"\n") + 1
    if not first_end or data[:first_end].count(b'"') % 2 or not _quoting_is_plain(data):
        return None
    table = _arrow_csv(data, header)
    if table is None:
        return None
    physical_lines = data.count(b"\n") + (0 if data[-1:] == b"\n" else 1)
    if physical_lines != table.num_rows + 1:
        # Blank lines or values spanning lines: the exact reader numbers lines correctly.
        return None
    # Trim and turn blanks into nulls with Arrow kernels, only on columns where a value can change.
    columns = [clean_text(column) for column in table.columns]
    if table.num_rows and columns:
        all_blank = pc.is_null(columns[0])
        for column in columns[1:]:
            all_blank = pc.and_(all_blank, pc.is_null(column))
        if pc.any(all_blank).as_py():
            return None  # records with every field blank are refused by the exact reader
    table = pa.table(columns, names=header)
    frame = table.to_pandas(
        types_mapper=lambda t: pd.StringDtype("pyarrow") if t in (pa.string(), pa.large_string()) else None
    )
    lines = np.arange(2, table.num_rows + 2, dtype=np.int64)
    return TextTable(path, header, frame, lines, [], table.num_rows)


class _Lines:
    """The physical lines of a text, handed out one at a time from a position that can be moved back."""

    def __init__(self, text: str) -> None:
        self.lines = io.StringIO(text, newline="").readlines()
        self.next = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.next >= len(self.lines):
            raise StopIteration
        self.next += 1
        return self.lines[self.next - 1]


def _unparsable(lines: _Lines, start: int, exc: csv.Error) -> StructuralReject:
    """The reject for a record starting on line ``start`` that the CSV parser refused, naming line and column."""
    text = "".join(lines.lines[start - 1 : max(lines.next, start)])
    found = quote_problem(text)
    if found is None:
        return StructuralReject(start, f"the record could not be parsed as CSV: {exc}")
    offset, column, reason = found
    line = start + offset
    return StructuralReject(line, f"column {column}: {reason}", value=lines.lines[line - 1].rstrip("\r\n")[:200])


def _exact_csv(path: Path, text: str, header: list[str]) -> TextTable:
    lines = _Lines(text)
    reader = csv.reader(lines, strict=True)
    try:
        next(reader)  # header, already checked
    except csv.Error as exc:
        reject = _unparsable(lines, 1, exc)
        msg = f"{path}: line {reject.line}: the header could not be read: {reject.reason}. Nothing was loaded"
        raise ValidationError(msg) from exc
    width = len(header)
    rows: list[list[str]] = []
    numbers: list[int] = []
    rejects: list[StructuralReject] = []
    final_line = _last_record_line(text)
    while True:
        start = lines.next + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rejects.append(_unparsable(lines, start, exc))
            lines.next = start  # a quote that swallowed later lines gives them back: read again from the next
            continue
        if _is_blank(record):
            continue
        if len(record) != width:
            kind = "too few" if len(record) < width else "too many"
            reason = f"{kind} fields: expected {width}, found {len(record)}"
            if len(record) < width and start == final_line:
                reason += " (the last line looks truncated)"
            rejects.append(StructuralReject(start, reason, value=",".join(record)[:200]))
            continue
        if all(not value.strip() for value in record):
            rejects.append(StructuralReject(start, "empty record: every field is blank"))
            continue
        rows.append(record)
        numbers.append(start)
    frame = (
        pd.DataFrame(rows, columns=header, dtype=pd.StringDtype("pyarrow"))
        if rows
        else pd.DataFrame({name: pd.Series([], dtype=pd.StringDtype("pyarrow")) for name in header})
    )
    frame = frame.apply(lambda col: col.str.strip())
    frame = frame.mask(frame == "", None)
    return TextTable(path, header, frame, np.asarray(numbers, dtype=np.int64), rejects, len(rows) + len(rejects))


def _last_record_line(text: str) -> int:
    stripped = text.rstrip("\r\n \t")
    return stripped.count("\n") + 1


def read_csv_text(path: str | Path) -> TextTable:
    """Read a CSV file as strings with exact line numbers.

    UTF-8 with or without a BOM; LF, CRLF or mixed line endings; blank lines are skipped (not counted);
    quoted values may hold commas, quotes and line breaks. Records with the wrong number of fields are
    returned as ``rejects`` with their line.

    Raises
    ------
    ValidationError
        The file is missing, empty, not UTF-8, or its header is unusable. Nothing is read then.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: no such file"
        raise ValidationError(msg)
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    head = _decode_head(path, data)
    if not head.strip() and (len(data) <= HEAD_BYTES or not _decode(path, data).strip()):
        msg = f"{path}: the file is empty"
        raise ValidationError(msg)
    first = next(csv.reader(io.StringIO(head, newline="")))  # the header is in the first MiB
    header = _check_header(path, first)
    table = None
    if data[:3] != b"\xef\xbb\xbf" and b"\r" not in data[: 1 << 16]:
        # Arrow checks that every value is UTF-8; a file that is not falls through to the exact reader,
        # which names the first bad byte.
        table = _fast_csv(path, data, header)
    if table is None:
        table = _exact_csv(path, _decode(path, data), header)
    table.sha256 = sha
    log.info("read %s: %s records, %s malformed", path.name, f"{table.rows_read:,}", f"{len(table.rejects):,}")
    return table


def read_parquet_text(path: str | Path) -> TextTable:
    """Read a Parquet file with every column as strings; ``lines`` holds 1-based row numbers."""
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: no such file"
        raise ValidationError(msg)
    try:
        frame = pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        msg = f"{path}: not a readable Parquet file: {exc}"
        raise ValidationError(msg) from exc
    header = _check_header(path, [str(c) for c in frame.columns])
    frame.columns = header
    out = {}
    for name in header:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            text = col.map(lambda v: v.isoformat() if pd.notna(v) else None)
        else:
            text = col.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
        out[name] = text.astype(pd.StringDtype("pyarrow")).str.strip()
    frame = pd.DataFrame(out)
    frame = frame.mask(frame == "", None)
    lines = np.arange(1, len(frame) + 1, dtype=np.int64)
    return TextTable(path, header, frame, lines, [], len(frame), file_sha256(path), line_kind="row")


def read_text_table(path: str | Path) -> TextTable:
    """Read a CSV (``.csv``, ``.txt``) or Parquet (``.parquet``, ``.pq``) file as strings."""
    suffix = Path(path).suffix.lower()
    if suffix in {".parquet", ".pq"}:
        return read_parquet_text(path)
    return read_csv_text(path)
