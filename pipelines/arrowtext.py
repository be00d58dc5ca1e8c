"""Arrow string columns: byte-level checks (exact answers without a regex per value) and distinct-value coding."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Bytes that may start or end a value that Unicode trimming changes: ASCII controls and space (0x00-0x20)
# and any byte of a multi-byte UTF-8 sequence (>= 0x80). Conservative: a value without such a first or last
# byte is certainly left unchanged by ``utf8_trim_whitespace``.
_TRIM_CANDIDATE = np.zeros(256, dtype=bool)
_TRIM_CANDIDATE[:0x21] = True
_TRIM_CANDIDATE[0x80:] = True
# Control characters refused in text values: U+0000-U+0008, U+000B, U+000C, U+000E-U+001F. In UTF-8 these
# bytes occur only as those characters, so a byte scan is exact.
_CONTROL = np.zeros(256, dtype=bool)
_CONTROL[[*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]] = True


def as_chunked(values: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as a ChunkedArray of ``string`` or ``large_string``."""
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values], type=values.type)
    if values.type not in (pa.string(), pa.large_string()):
        values = values.cast(pa.string())
    return values


def _chunks(values: pa.ChunkedArray) -> Iterator[tuple[pa.Array, np.ndarray, np.ndarray]]:
    """Each chunk with its value offsets (``len + 1`` of them) and its data bytes."""
    for chunk in values.chunks:
        if not len(chunk):
            continue
        offset_type = np.int64 if chunk.type == pa.large_string() else np.int32
        buffers = chunk.buffers()
        offsets = np.frombuffer(buffers[1], dtype=offset_type)[chunk.offset : chunk.offset + len(chunk) + 1]
        data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
        yield chunk, offsets.astype(np.int64, copy=False), data


def _valid(chunk: pa.Array) -> np.ndarray:
    if chunk.null_count == 0:
        return np.ones(len(chunk), dtype=bool)
    return pc.is_valid(chunk).to_numpy(zero_copy_only=False)


def may_need_trim(values: pa.Array | pa.ChunkedArray) -> bool:
    """False when no value can change under Unicode white-space trimming (first and last bytes checked)."""
    for _chunk, offsets, data in _chunks(as_chunked(values)):
        if not len(data) or offsets[-1] == offsets[0]:
            continue
        # An empty value's "first byte" is its neighbour's: looking at it too can only cause a needless trim.
        # mode="clip" keeps the positions of a trailing empty value inside the data.
        first_bytes = np.take(data, offsets[:-1], mode="clip")
        last_bytes = np.take(data, offsets[1:] - 1, mode="clip")
        if _TRIM_CANDIDATE[first_bytes].any() or _TRIM_CANDIDATE[last_bytes].any():
            return True
    return False


def clean_text(values: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """Trim Unicode white space and turn blank values into nulls, touching only columns that need it."""
    values = as_chunked(values)
    if may_need_trim(values):
        values = pc.utf8_trim_whitespace(values)
    if _has_empty(values):
        values = pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)
    return values


def _has_empty(values: pa.ChunkedArray) -> bool:
    """True when some non-null value is the empty string (found from the offsets, without comparing text)."""
    for chunk, offsets, _data in _chunks(values):
        empty = offsets[1:] == offsets[:-1]
        if empty.any() and (empty & _valid(chunk)).any():
            return True
    return False


def byte_lengths(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Length of each value in bytes (0 for nulls)."""
    values = as_chunked(values)
    out = [np.diff(offsets) * _valid(chunk) for chunk, offsets, _data in _chunks(values)]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def longer_than(values: pa.Array | pa.ChunkedArray, limit: int) -> np.ndarray:
    """True where a value has more than ``limit`` characters (code points); False for nulls.

    Only values with more than ``limit`` bytes are counted in characters.
    """
    values = as_chunked(values)
    candidates = byte_lengths(values) > limit
    if not candidates.any():
        return candidates
    positions = np.flatnonzero(candidates)
    chars = pc.utf8_length(values.take(pa.array(positions))).to_numpy(zero_copy_only=False)
    out = np.zeros(len(values), dtype=bool)
    out[positions] = chars > limit
    return out


def has_control(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """True where a value holds a control character (U+0000-U+0008, U+000B, U+000C, U+000E-U+001F)."""
    values = as_chunked(values)
    out = np.zeros(len(values), dtype=bool)
    start = 0
    for chunk, offsets, data in _chunks(values):
        n = len(chunk)
        lo, hi = int(offsets[0]), int(offsets[-1])
        if hi <= lo or data[lo:hi].min() >= 0x20:  # every control character is a byte below 0x20
            start += n
            continue
        rows = _rows_holding(offsets, data, _CONTROL)
        if rows.size:
            valid = _valid(chunk)
            out[start + rows[valid[rows]]] = True
        start += n
    return out


def _rows_holding(offsets: np.ndarray, data: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Positions (within the chunk) of the values holding a byte marked in the 256-entry ``table``.

    A position may repeat. Null and empty values span no bytes, so they are never among them.
    """
    lo, hi = int(offsets[0]), int(offsets[-1])
    hits = np.flatnonzero(table[data[lo:hi]])
    return np.searchsorted(offsets, hits + lo, side="right") - 1


def _byte_set(characters: str) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[list(characters.encode("ascii"))] = True
    return table


def charset_match(values: pa.Array | pa.ChunkedArray, characters: str, max_length: int) -> np.ndarray:
    """True where a value is 1 to ``max_length`` characters, each one of ``characters`` (ASCII); True for nulls.

    The same answer as the regular expression ``^[<characters>]{1,max_length}$``: every allowed character is
    one byte, so a value passes exactly when its byte length is in range and each of its bytes is allowed.
    A clean column costs one table lookup per byte instead of one regex per value.
    """
    allowed = _byte_set(characters)
    allowed_bytes = characters.encode("ascii")
    values = as_chunked(values)
    parts = []
    for chunk, offsets, data in _chunks(values):
        lengths = np.diff(offsets)
        valid = _valid(chunk)
        ok = ~valid | ((lengths >= 1) & (lengths <= max_length))
        lo, hi = int(offsets[0]), int(offsets[-1])
        # bytes.translate deleting the allowed bytes leaves nothing for a clean chunk: a few times faster than
        # the per-byte table lookup, which is only done to find the rows when something is left.
        if hi > lo and data[lo:hi].tobytes().translate(None, allowed_bytes):
            rows = _rows_holding(offsets, data, ~allowed)
            ok[rows[valid[rows]]] = False
        parts.append(ok)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


# Odd 64-bit multipliers for fingerprints: a value's 8-byte words times these, summed (wrapping).
_FINGERPRINT_MULTIPLIERS = np.random.default_rng(20261127).integers(1, 2**63, size=64, dtype=np.uint64) * 2 + 1


def fixed_width_fingerprints(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray] | None:
    """A 64-bit fingerprint of each non-null value and its row, when every non-null value has one byte length.

    Equal values have equal fingerprints; different values almost never do (a candidate found by fingerprint
    still needs an exact check). Fixed-width IDs, such as police.uk's 64-hex-digit Crime IDs, lie back to back
    in a chunk's data buffer, so they are read as a matrix of 8-byte words without a pass per value. Returns
    None when the lengths differ, a value is empty, the width is over 512 bytes or a null slot holds bytes.
    """
    prints, rows, start, width = [], [], 0, None
    for chunk, offsets, data in _chunks(as_chunked(values)):
        valid = _valid(chunk)
        lengths = np.diff(offsets)[valid]
        if len(lengths):
            low, high = int(lengths.min()), int(lengths.max())
            if low != high or (width is not None and low != width) or not 0 < low <= 512:
                return None
            width = low
            if int(offsets[-1]) - int(offsets[0]) != width * len(lengths):
                return None  # a null slot holds bytes (Arrow allows it): the values are not back to back
            matrix = data[int(offsets[0]) : int(offsets[-1])].reshape(-1, width)
            whole = width - width % 8
            words = matrix[:, :whole].view(np.uint64) if whole else np.zeros((len(matrix), 0), np.uint64)
            with np.errstate(over="ignore"):
                fingerprint = words @ _FINGERPRINT_MULTIPLIERS[: whole // 8]
                for k in range(whole, width):  # the last bytes of a width that is not a multiple of 8
                    fingerprint += matrix[:, k].astype(np.uint64) * _FINGERPRINT_MULTIPLIERS[k % 64]
                    fingerprint *= np.uint64(0x9E3779B97F4A7C15)
            prints.append(fingerprint)
            rows.append(start + np.flatnonzero(valid))
        start += len(chunk)
    if not prints:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    return np.concatenate(prints), np.concatenate(rows)


def to_arrow(series: pd.Series) -> pa.Array:
    """A column as one Arrow array (zero-copy for Arrow-backed strings)."""
    arr = pa.array(series, from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def to_chunked(series: pd.Series) -> pa.ChunkedArray:
    """A column as an Arrow ChunkedArray, without copying Arrow-backed values into one buffer."""
    arr = pa.array(series, from_pandas=True)
    return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr], type=arr.type)


def encode(series: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """Codes and the Arrow array of distinct values (first-seen order); blanks get code ``len(distinct)``."""
    encoded = pc.dictionary_encode(to_chunked(series))
    chunks = [c for c in encoded.chunks if len(c)]
    if not chunks:
        return np.zeros(0, dtype=np.int64), pa.array([], type=encoded.type.value_type)
    # Arrow encodes all chunks with one memo table: every chunk carries the same, final dictionary.
    dictionary = chunks[-1].dictionary
    if any(len(c.dictionary) != len(dictionary) for c in chunks):  # pragma: no cover - defensive
        combined = encoded.combine_chunks()
        chunks, dictionary = [combined], combined.dictionary
    n = len(dictionary)
    codes = np.concatenate([pc.fill_null(c.indices, n).to_numpy(zero_copy_only=False) for c in chunks])
    return codes.astype(np.int64, copy=False), dictionary


def factorize(series: pd.Series) -> tuple[np.ndarray, list[object]]:
    """Codes and distinct values of a column with Arrow's hash kernel; blanks get code ``len(uniques)``."""
    codes, dictionary = encode(series)
    return codes, dictionary.to_pylist()


def is_arrow_text(series: pd.Series) -> bool:
    """True for strings held in Arrow (``string[pyarrow]`` or an Arrow string dtype)."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        return dtype.storage == "pyarrow"
    if isinstance(dtype, pd.ArrowDtype):
        return pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(dtype.pyarrow_dtype)
    return False


def text_series(values: pa.Array | pa.ChunkedArray) -> pd.Series:
    """An Arrow string array as a ``string[pyarrow]`` Series without copying it."""
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values], type=values.type)
    return pd.Series(pd.arrays.ArrowStringArray(values), dtype=pd.StringDtype("pyarrow"))


def spread(values: list[object], codes: np.ndarray, type: pa.DataType | None = None) -> pa.Array:
    """One value per distinct code (``values[code]``) spread back to every row as an Arrow array (text by default)."""
    return pa.array(values, type=type or pa.string()).take(pa.array(codes))


def spread_flags(flags: list[bool], codes: np.ndarray) -> np.ndarray:
    """One flag per distinct code spread back to every row; the blank code (``len(flags)`` or -1) reads False."""
    return np.append(np.asarray(flags, dtype=bool), False)[codes]


def constant_text(value: str | None, rows: int) -> pd.Series:
    """The same text on every row as Arrow-backed strings (not ``rows`` Python strings)."""
    return text_series(spread([value], np.zeros(rows, dtype=np.int8)))
