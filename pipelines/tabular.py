"""Read a CSV or Parquet file as text columns, keeping each record's line number and the records that do not parse."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import mmap
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
from ctxrisk.pipelines.identifiers import column_label

log = logging.getLogger(__name__)

csv.field_size_limit(2**31 - 1)
HEAD_BYTES = 1 << 20
# Arrow parses blocks of this size in parallel; large blocks mean few chunks for every later column pass.
# A file of more than one row group is parsed in pieces of ROW_GROUP_ROWS lines instead (_arrow_csv_pieces).
CSV_BLOCK_BYTES = 16 << 20
# DuckDB's row group size: batches of this many rows are loaded in parallel.
ROW_GROUP_ROWS = 122_880
# Newlines are counted in windows of this size when a file is cut into pieces.
NEWLINE_WINDOW_BYTES = 1 << 20
# A file is read and hashed in blocks of this size, the hashing one block behind the reading.
HASH_BLOCK_BYTES = 8 << 20


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


# Digests of files hashed lately, by what stat() says of them: the same-bytes check hashes a file just before
# it is read, and the reader then need not hash it again. Any write changes ctime, so a changed file misses.
_DIGESTS: dict[tuple[object, ...], str] = {}
_DIGESTS_KEPT = 16


def _stat_key(path: Path) -> tuple[object, ...]:
    st = os.stat(path)
    return (str(Path(path).resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _remember(key: tuple[object, ...], digest: str) -> None:
    if len(_DIGESTS) >= _DIGESTS_KEPT:
        _DIGESTS.clear()
    _DIGESTS[key] = digest


# A file's bytes as read: ``bytes``, or for a large file an anonymous memory map (see _read_hashing). Both give
# len, slices (as bytes), find/rfind and the buffer protocol, which is all the readers below use.
FileBytes = bytes | mmap.mmap

# The bytes of the file hashed last, when the caller is about to parse it (see file_sha256's keep_bytes).
_KEPT: dict[tuple[object, ...], FileBytes] = {}


def file_sha256(path: Path, *, keep_bytes: bool = False) -> str:
    """Return the SHA-256 of a file's bytes.

    With ``keep_bytes`` the whole file is read at once and its bytes are kept for the next
    :func:`read_csv_text` of the same unchanged file (one slot; :func:`forget_kept` drops them), so a file
    that is checked and then parsed is read from disk once.
    """
    _KEPT.clear()
    before = _stat_key(path)
    if keep_bytes:
        data, digest = _read_hashing(path, int(before[3]))
        if len(data) == before[3] and _stat_key(path) == before:
            _remember(before, digest)
            _KEPT[before] = data
        return digest
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            hasher.update(chunk)
    if _stat_key(path) == before:
        _remember(before, hasher.hexdigest())
    return hasher.hexdigest()


def _read_hashing(path: Path, size: int) -> tuple[FileBytes, str]:
    """All of a file's bytes and their SHA-256, each block hashed on another thread while the next is read.

    Copying the file from the page cache into fresh memory and hashing it take about as long as each other,
    and neither holds the interpreter lock, so overlapping them shortens the wait before parsing can start
    (219 MB: 0.24 s against 0.30-0.35 s one after the other). The bytes go into an anonymous memory map,
    which, unlike a ``bytearray``, is not zero-filled first. ``size`` is what stat() said; a file found longer
    or shorter is read again whole, so the digest is always that of the bytes returned.
    """
    if size < 2 * HASH_BLOCK_BYTES:
        data = path.read_bytes()
        return data, hashlib.sha256(data).hexdigest()
    buffer = _anonymous_memory(size)
    view = memoryview(buffer)
    hasher = hashlib.sha256()
    filled = 0
    with open(path, "rb", buffering=0) as handle, ThreadPoolExecutor(1) as pool:
        hashed = None
        while filled < size:
            got = handle.readinto(view[filled : min(size, filled + HASH_BLOCK_BYTES)])
            if not got:
                break
            if hashed is not None:
                hashed.result()
            hashed = pool.submit(hasher.update, view[filled : filled + got])
            filled += got
        if hashed is not None:
            hashed.result()
        complete = filled == size and not handle.read(1)
    if not complete:  # the file changed while it was read
        data = path.read_bytes()
        return data, hashlib.sha256(data).hexdigest()
    return buffer, hasher.hexdigest()


def _anonymous_memory(size: int) -> mmap.mmap:
    """``size`` bytes of private memory, its pages mapped in one call where the system allows it.

    Python's default anonymous map is shared memory, whose pages cost more to fault in one by one: reading
    220 MB into private, pre-populated pages took 0.13-0.15 s against 0.21-0.28 s.
    """
    private = getattr(mmap, "MAP_PRIVATE", None)
    anonymous = getattr(mmap, "MAP_ANONYMOUS", None)
    if private is None or anonymous is None:  # Windows: no flags
        return mmap.mmap(-1, size)
    return mmap.mmap(-1, size, flags=private | anonymous | getattr(mmap, "MAP_POPULATE", 0))


def forget_kept() -> None:
    """Drop the bytes kept by ``file_sha256(..., keep_bytes=True)`` (the file will not be parsed)."""
    _KEPT.clear()


def _read_with_digest(path: Path) -> tuple[FileBytes, str]:
    """A file's bytes and their SHA-256, hashed again only when the file is not the one hashed last time."""
    before = _stat_key(path)
    kept = _KEPT.pop(before, None)
    _KEPT.clear()
    known = _DIGESTS.get(before)
    if kept is None and known is None:
        return _read_hashing(path, int(before[3]))
    data = kept if kept is not None else path.read_bytes()
    if known is not None and len(data) == before[3] and _stat_key(path) == before:
        return data, known
    return data, hashlib.sha256(data).hexdigest()


def _decode(path: Path, data: FileBytes) -> str:
    data = data if isinstance(data, bytes) else data[:]
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


def _decode_head(path: Path, data: FileBytes) -> str:
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
            msg = f"{path}: line 1: {column_label(name, header)} appears twice in the header"
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


def _is_ascii(data: FileBytes) -> bool:
    """True when every byte is below 0x80: the text is then valid UTF-8 without checking each value.

    One vectorised pass (about 0.015 s for 200 MB) spares Arrow's per-value UTF-8 check, about 0.25 s of CPU
    for a million police.uk rows; the published files are plain ASCII.
    """
    return not len(data) or int(np.frombuffer(data, dtype=np.uint8).max()) < 0x80


def _arrow_csv(
    data: FileBytes, header: list[str], on_invalid: Callable[[object], str], *, check_utf8: bool = True
) -> pa.Table | None:
    """Every record of ``data`` after the header as large strings, or None when Arrow cannot parse it."""
    try:
        return pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=CSV_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(newlines_in_values=False, invalid_row_handler=on_invalid),
            convert_options=_convert_options(header, check_utf8=check_utf8),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None


def _line_cuts(data: FileBytes, start: int, lines_per_piece: int) -> tuple[list[int], int]:
    """Byte offsets cutting ``data[start:]`` into pieces of ``lines_per_piece`` lines, and its newline count.

    Newlines are counted with numpy a mebibyte at a time (faster than ``bytes.count``, and the mask is reused).
    """
    everything = np.frombuffer(data, dtype=np.uint8)
    mask = np.empty(min(len(data), NEWLINE_WINDOW_BYTES), dtype=bool)
    cuts, wanted, newlines, pos = [start], lines_per_piece, 0, start
    while pos < len(data):
        end = min(len(data), pos + NEWLINE_WINDOW_BYTES)
        found = np.equal(everything[pos:end], 0x0A, out=mask[: end - pos])
        count = int(np.count_nonzero(found))
        if count < wanted:
            wanted -= count
            newlines += count
            pos = end
            continue
        pos += int(np.flatnonzero(found)[wanted - 1]) + 1
        newlines += wanted
        cuts.append(pos)
        wanted = lines_per_piece
    if cuts[-1] != len(data):
        cuts.append(len(data))
    return cuts, newlines


def _arrow_csv_pieces(
    data: FileBytes, header: list[str], cuts: list[int], on_invalid: Callable[[object], str], *, check_utf8: bool = True
) -> pa.Table | None:
    """The records between consecutive ``cuts``, each piece parsed as one block on a pool of threads.

    Every column then has one chunk per piece: with pieces of a DuckDB row group each, the rows reach
    DuckDB in aligned batches without being copied into them (``ctxrisk.pipelines.ingest``), which for a million
    police.uk rows saved copying about 300 MB into fresh memory (0.3-0.4 s on a 2-core machine).
    """
    buffer = pa.py_buffer(data)

    def piece(lo: int, hi: int) -> pa.Table:
        return pacsv.read_csv(
            pa.BufferReader(buffer.slice(lo, hi - lo)),
            read_options=pacsv.ReadOptions(column_names=header, block_size=hi - lo + 1, use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=False, invalid_row_handler=on_invalid),
            convert_options=_convert_options(header, check_utf8=check_utf8),
        )

    try:
        with ThreadPoolExecutor(max(1, min(os.cpu_count() or 1, len(cuts) - 1))) as pool:
            tables = list(pool.map(piece, cuts[:-1], cuts[1:]))
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    return pa.concat_tables(tables)


def _fast_csv(path: Path, data: FileBytes, header: list[str]) -> TextTable | None:
    """Read with Arrow's multi-threaded parser when every record is one line; None to use the exact reader."""
    invalid = 0

    def on_invalid(_row: object) -> str:
        nonlocal invalid
        invalid += 1
        return "skip"

    check_utf8 = not _is_ascii(data)
    first_end = data.find(b"\n") + 1
    if first_end and data[:first_end].count(b'"') % 2 == 0:  # the header is the first line
        cuts, after_header = _line_cuts(data, first_end, ROW_GROUP_ROWS)
        newlines = 1 + after_header
        if len(cuts) > 2:
            table = _arrow_csv_pieces(data, header, cuts, on_invalid, check_utf8=check_utf8)
        else:  # one row group or less: Arrow's own blocks, on its threads
            table = _arrow_csv(data, header, on_invalid, check_utf8=check_utf8)
    else:
        newlines = _line_cuts(data, 0, len(data) + 1)[1]
        table = _arrow_csv(data, header, on_invalid, check_utf8=check_utf8)
    if table is None or invalid:
        return None
    physical_lines = newlines + (0 if data[-1:] == b"\n" else 1)
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


def _exact_csv(path: Path, text: str, header: list[str]) -> TextTable:
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    next(reader)  # header, already checked
    width = len(header)
    rows: list[list[str]] = []
    lines: list[int] = []
    rejects: list[StructuralReject] = []
    last_line = reader.line_num
    final_line = _last_record_line(text)
    while True:
        start = last_line + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rejects.append(StructuralReject(start, f"the record could not be parsed as CSV: {exc}"))
            last_line = reader.line_num
            continue
        last_line = reader.line_num
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
        lines.append(start)
    frame = (
        pd.DataFrame(rows, columns=header, dtype=pd.StringDtype("pyarrow"))
        if rows
        else pd.DataFrame({name: pd.Series([], dtype=pd.StringDtype("pyarrow")) for name in header})
    )
    frame = frame.apply(lambda col: col.str.strip())
    frame = frame.mask(frame == "", None)
    return TextTable(path, header, frame, np.asarray(lines, dtype=np.int64), rejects, len(rows) + len(rejects))


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
    data, sha = _read_with_digest(path)
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
