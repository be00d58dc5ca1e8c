"""Stable keys for rows without a usable ID: SHA-256 of the row's values, hashed in compiled code on all cores.

A derived key is ``prefix`` + the first 20 hex digits of the SHA-256 of the row's values joined by ``\\x1f`` +
``-`` + the row's number among rows with that digest, in file order. In Python that is a joined string, an
encoded copy and a ``hashlib`` call per row: about 3 s of a million-row stop-and-search ingest. Here each
row's values are fed, where they lie in their Arrow columns, to OpenSSL's SHA-256 (the library ``hashlib``
uses, with the CPU's SHA instructions where it has them) in a compiled loop that releases the GIL, on a thread
per core, while the next block's positions are worked out. A million police.uk outcomes (193 MB of values)
are hashed in 0.27-0.3 s on two cores; gathering each row's bytes into one buffer first took 0.37-0.41 s.
The digests are the same as ``hashlib.sha256(joined.encode("utf-8")).digest()``; where numba or OpenSSL's
functions are not there, or for inputs under a few hundred thousand rows (numba's first compiled call in a
process costs about 0.8 s of CPU, setting up its type system; the cached code itself loads in 0.02 s), the same
digests are made with ``hashlib`` (:data:`COMPILED_FROM_ROWS`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hashlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

log = logging.getLogger(__name__)

#: Hex digits of the digest kept in a key (80 bits).
KEY_HEX_DIGITS = 20
#: Rows from which the compiled loop is used even when it is not loaded yet. ``hashlib`` takes about 1.1 µs a
#: row; numba's set-up takes 0.8 s of CPU: fresh processes broke even at about 300,000 police.uk rows (100,000
#: outcomes: 0.69 s with hashlib against 1.00 s compiled; 300,000: 1.41 against 1.60; a million: 4.63 against
#: 3.64).
COMPILED_FROM_ROWS = 300_000
#: Rows from which the compiled loop is used once :func:`start_warm_up` has begun loading it.
WARMED_FROM_ROWS = 50_000
#: Bytes of hashed rows from which the compiled loops are loaded in the background as soon as reading starts:
#: about :data:`COMPILED_FROM_ROWS` rows of police.uk's 200-260 bytes.
WARM_UP_FROM_BYTES = 60_000_000
#: Rows whose positions are worked out per call of the compiled loop: bounds the memory they take.
BLOCK_ROWS = 122_880
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hash_rows(
    starts: np.ndarray,
    lengths: np.ndarray,
    separator: np.ndarray,
    first: int,
    stop: int,
    out: np.ndarray,
    init: Any,
    update: Any,
    final: Any,
) -> None:
    """SHA-256 of rows ``first`` to ``stop - 1`` into ``out[r]``: column ``c`` of row ``r`` is the
    ``lengths[c, r]`` bytes at address ``starts[c, r]``, columns joined by the one byte in ``separator``.

    Each value is fed to ``update`` where it lies in its Arrow column: gathering a row's bytes into one buffer
    first cost as much again as hashing them.
    """
    columns = starts.shape[0]
    context = np.empty(512, dtype=np.uint8)  # SHA256_CTX is 112 bytes; room to spare
    context_address = context.ctypes.data
    separator_address = separator.ctypes.data
    out_address = out.ctypes.data
    for r in range(first, stop):
        init(context_address)
        for c in range(columns):
            if c:
                update(context_address, separator_address, 1)
            size = lengths[c, r]
            if size:
                update(context_address, starts[c, r], size)
        final(out_address + 32 * r, context_address)


def _format_keys(
    has_lead: bool,
    lead_data: np.ndarray,
    lead_starts: np.ndarray,
    lead_ends: np.ndarray,
    joiner: np.ndarray,
    prefix: np.ndarray,
    digests: np.ndarray,
    numbers: np.ndarray,
    hex_digits: int,
    hex_table: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``[lead + joiner] + prefix + hex(digest)[:hex_digits] + "-" + number`` per row, as Arrow offsets and bytes."""
    rows = len(numbers)
    offsets = np.zeros(rows + 1, dtype=np.int64)
    for r in range(rows):
        size = len(prefix) + hex_digits + 1
        value = numbers[r]
        while True:
            size += 1
            value //= 10
            if value == 0:
                break
        if has_lead:
            size += lead_ends[r] - lead_starts[r] + len(joiner)
        offsets[r + 1] = offsets[r] + size
    data = np.empty(offsets[rows], dtype=np.uint8)
    for r in range(rows):
        n = offsets[r]
        if has_lead:
            size = lead_ends[r] - lead_starts[r]
            data[n : n + size] = lead_data[lead_starts[r] : lead_ends[r]]  # one copy, not a loop per byte
            n += size
            data[n : n + len(joiner)] = joiner
            n += len(joiner)
        data[n : n + len(prefix)] = prefix
        n += len(prefix)
        for j in range(hex_digits // 2):
            byte = digests[r, j]
            data[n] = hex_table[byte >> 4]
            data[n + 1] = hex_table[byte & 15]
            n += 2
        if hex_digits % 2:
            data[n] = hex_table[digests[r, hex_digits // 2] >> 4]
            n += 1
        data[n] = 45  # "-"
        n += 1
        end = offsets[r + 1]
        value = numbers[r]
        while True:
            end -= 1
            data[end] = 48 + value % 10
            value //= 10
            if value == 0:
                break
    return offsets, data


try:  # compiled when numba is there (a pinned dependency)
    from numba import njit

    _hash_rows_compiled: Any = njit(cache=True, nogil=True)(_hash_rows)
    _format_keys_compiled: Any = njit(cache=True, nogil=True)(_format_keys)
except ImportError:  # pragma: no cover - numba is pinned
    _hash_rows_compiled = _format_keys_compiled = None


@functools.cache
def _openssl_sha256() -> tuple[Any, Any, Any] | None:
    """OpenSSL's ``SHA256_Init``, ``SHA256_Update`` and ``SHA256_Final``, from the library ``hashlib`` uses."""
    import _hashlib

    for name in (_hashlib.__file__, ctypes.util.find_library("crypto")):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)  # a module's handle also finds the symbols of the libraries it links
            functions = (lib.SHA256_Init, lib.SHA256_Update, lib.SHA256_Final)
        except (OSError, AttributeError):
            continue
        init, update, final = functions
        init.argtypes, init.restype = [ctypes.c_void_p], ctypes.c_int
        update.argtypes, update.restype = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t], ctypes.c_int
        final.argtypes, final.restype = [ctypes.c_void_p, ctypes.c_void_p], ctypes.c_int
        # Checked once against hashlib: a library that answers differently is not used.
        probe = np.frombuffer(b"ctxrisk\x1fprobe", dtype=np.uint8).copy()
        out = np.zeros((1, 32), dtype=np.uint8)
        context = np.zeros(512, dtype=np.uint8)
        init(context.ctypes.data)
        update(context.ctypes.data, probe.ctypes.data, len(probe))
        final(out.ctypes.data, context.ctypes.data)
        if bytes(out[0]) == hashlib.sha256(probe.tobytes()).digest():
            return functions
    return None


def compiled_available() -> bool:
    """True when row hashing can run compiled (numba and OpenSSL's SHA-256 functions are there)."""
    return _hash_rows_compiled is not None and _openssl_sha256() is not None


_warm_up_started = threading.Event()


def _load_compiled() -> None:
    """Load (or, the first time, compile and cache) the compiled loops by running them on one tiny row."""
    digests = sha256_rows([pa.chunked_array([["x"]])], compiled=True)
    format_keys(digests, np.ones(1, dtype=np.int64), compiled=True)


def start_warm_up(path: Path, *, hashed_share: float = 1.0) -> None:
    """Load the compiled loops on a background thread if enough of ``path`` will be hashed to use them.

    Loading them costs about 0.8 s of CPU (numba sets up its type system on the first compiled call), mostly
    while Arrow parses the CSV on its own threads; a large file's rows are then hashed without waiting for it.
    Runs once per process.

    Parameters
    ----------
    hashed_share : float
        The share of the file's rows that get a derived key, from 0 to 1: loading starts when that share of
        the file's bytes is at least :data:`WARM_UP_FROM_BYTES`.
    """
    try:
        size = Path(path).stat().st_size
    except OSError:
        return
    if size * hashed_share < WARM_UP_FROM_BYTES or _warm_up_started.is_set() or not compiled_available():
        return
    _warm_up_started.set()
    threading.Thread(target=_load_compiled, name="rowhash-warm-up", daemon=True).start()


def _worth_compiling(rows: int) -> bool:
    """True when ``rows`` are better done by the compiled loops than by ``hashlib`` or Arrow."""
    return rows >= COMPILED_FROM_ROWS or (rows >= WARMED_FROM_ROWS and _warm_up_started.is_set())


def _text_buffers(values: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A text column's bytes, and where each value starts and ends in them (a null is empty text)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.large_string())
    _, offsets_buffer, data_buffer = values.buffers()
    offset_type = np.int64 if pa.types.is_large_string(values.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[values.offset : values.offset + len(values) + 1]
    first = int(offsets[0]) if len(offsets) else 0
    offsets = offsets.astype(np.int64) - first
    starts, ends = offsets[:-1], offsets[1:]
    if values.null_count:  # a null slot may still hold bytes: it ends where it starts
        ends = np.where(values.is_null().to_numpy(zero_copy_only=False), starts, ends)
    if data_buffer is None or not len(values):
        return np.zeros(0, dtype=np.uint8), starts, ends
    return np.frombuffer(data_buffer, dtype=np.uint8)[first : first + int(offsets[-1])], starts, ends


def _hashlib_rows(columns: list[pa.ChunkedArray], separator: str) -> np.ndarray:
    """The digests with ``hashlib``, one joined string per row (the reference the compiled loop must match)."""
    rows = len(columns[0])
    if not rows:
        return np.zeros((0, 32), dtype=np.uint8)
    parts = [pc.fill_null(col.cast(pa.large_string()), "") for col in columns]
    joined = (
        pc.binary_join_element_wise(*parts, pa.scalar(separator, pa.large_string())) if len(parts) > 1 else parts[0]
    ).cast(pa.large_binary())
    digest = hashlib.sha256
    return np.frombuffer(b"".join([digest(v).digest() for v in joined.to_pylist()]), dtype=np.uint8).reshape(rows, 32)


def sha256_rows(columns: list[pa.ChunkedArray], *, separator: str = "\x1f", compiled: bool | None = None) -> np.ndarray:
    """SHA-256 of each row's values (nulls as empty text) joined by ``separator``: a ``(rows, 32)`` uint8 array.

    Parameters
    ----------
    columns : list of pyarrow.ChunkedArray
        Text columns of the same length.
    separator : str
        One ASCII character.
    compiled : bool or None
        ``True``: the compiled loop (an error where it is not available); ``False``: ``hashlib``; ``None``
        (default): compiled where available from :data:`COMPILED_FROM_ROWS` rows, or from
        :data:`WARMED_FROM_ROWS` once :func:`start_warm_up` has begun loading it.
    """
    if not columns:
        msg = "internal: no columns to hash"
        raise ValueError(msg)
    sep = separator.encode("ascii")
    if len(sep) != 1:
        msg = f"internal: the separator must be one ASCII character, not {separator!r}"
        raise ValueError(msg)
    rows = len(columns[0])
    automatic = compiled is None
    if automatic:
        compiled = _worth_compiling(rows) and compiled_available()
    if compiled:
        try:
            log.debug("hashing %s row(s) with OpenSSL in compiled code", f"{rows:,}")
            return _compiled_rows(columns, sep[0], rows)
        except Exception as exc:  # noqa: BLE001 - numba could not compile or load its loops on this machine
            if not automatic:
                raise
            log.warning("compiled row hashing failed (%s); hashing with hashlib, which gives the same keys", exc)
    log.debug("hashing %s row(s) with hashlib", f"{rows:,}")
    return _hashlib_rows(columns, separator)


def _compiled_rows(columns: list[pa.ChunkedArray], separator: int, rows: int) -> np.ndarray:
    functions = _openssl_sha256()
    if _hash_rows_compiled is None or functions is None:
        msg = "compiled row hashing needs numba and OpenSSL's SHA256_Init/Update/Final"
        raise RuntimeError(msg)
    pieces = [_text_pieces(col) for col in columns]
    separator_byte = np.array([separator], dtype=np.uint8)
    out = np.empty((rows, 32), dtype=np.uint8)
    workers = max(1, min(os.cpu_count() or 1, 8))
    blocks = [(start, min(rows, start + BLOCK_ROWS)) for start in range(0, rows, BLOCK_ROWS)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rowhash") as pool:
        running: list[Any] = []
        for start, stop in blocks:
            # This block's positions are worked out while the previous block is hashed.
            starts, lengths = _block_positions(pieces, start, stop)
            for job in running:
                job.result()
            cuts = np.linspace(0, stop - start, workers + 1).astype(np.int64)
            running = [
                pool.submit(
                    _hash_rows_compiled, starts, lengths, separator_byte, int(a), int(b), out[start:stop], *functions
                )
                for a, b in zip(cuts[:-1], cuts[1:], strict=True)
                if b > a
            ]
        for job in running:
            job.result()
    return out


def _text_pieces(values: pa.ChunkedArray | pa.Array) -> list[tuple[int, pa.Array]]:
    """``(first row, chunk)`` for each non-empty chunk of a column, as Arrow ``string`` or ``large_string``."""
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values])
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.large_string())
    pieces, first = [], 0
    for chunk in values.chunks:
        if len(chunk):
            pieces.append((first, chunk))
        first += len(chunk)
    return pieces


def _block_positions(pieces: list[list[tuple[int, pa.Array]]], start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each value of rows ``start`` to ``stop - 1`` lies: its address and byte length per column.

    A null is zero bytes (its slot may still hold some). The columns' chunks are read in place, not copied.
    """
    starts = np.zeros((len(pieces), stop - start), dtype=np.int64)
    lengths = np.zeros((len(pieces), stop - start), dtype=np.int64)
    for c, column in enumerate(pieces):
        for first, chunk in column:
            a, b = max(start, first), min(stop, first + len(chunk))
            if a >= b:
                continue
            _, offsets_buffer, data_buffer = chunk.buffers()
            offset_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
            at = chunk.offset + a - first
            offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[at : at + b - a + 1].astype(np.int64)
            sizes = np.diff(offsets)
            if chunk.null_count:
                sizes[chunk.slice(a - first, b - a).is_null().to_numpy(zero_copy_only=False)] = 0
            if data_buffer is not None:
                starts[c, a - start : b - start] = offsets[:-1] + data_buffer.address
            lengths[c, a - start : b - start] = sizes
    return starts, lengths


def occurrence(digests: np.ndarray, digits: int = KEY_HEX_DIGITS) -> np.ndarray:
    """1-based number of each row among the rows whose digests agree in the first ``digits`` hex digits."""
    rows = len(digests)
    if not rows:
        return np.zeros(0, dtype=np.int64)
    width = -(-digits // 2)
    prefix = np.zeros((rows, 16), dtype=np.uint8)
    prefix[:, :width] = digests[:, :width]
    if digits % 2:
        prefix[:, width - 1] &= 0xF0
    words = prefix.view(np.uint64)
    high, low = words[:, 0], words[:, 1]
    ordered = np.sort(high)
    same = ordered[1:] == ordered[:-1]
    numbers = np.ones(rows, dtype=np.int64)
    if not same.any():
        # Every row its own digest (the usual case): all first occurrences. A sort and a look at neighbours
        # tells in 0.015 s per million rows; hashing them into a table (factorize) took 0.1 s.
        return numbers
    # Only the rows whose first 64 bits repeat are numbered (in file order: flatnonzero keeps it).
    # Looked up in a hash table of the repeated values: 0.02 s a million rows, where np.isin (which sorts all
    # rows again) or a bisection per row took 0.1-0.15 s.
    picked = np.flatnonzero(pd.Series(high).isin(ordered[1:][same]).to_numpy())
    numbers[picked] = _numbered(high[picked], low[picked])
    return numbers


def _numbered(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """1-based number of each row among earlier rows with the same ``(high, low)`` words, in the given order."""
    codes, _ = pd.factorize(high)
    # Two digests that share their first 64 bits but not the rest: practically never; then group exactly.
    first_low = np.zeros(codes.max() + 1, dtype=np.uint64)
    first_low[codes[::-1]] = low[::-1]
    if (first_low[codes] != low).any():
        codes = pd.MultiIndex.from_arrays([high, low]).factorize()[0]
    return pd.Series(codes).groupby(codes, sort=False).cumcount().to_numpy() + 1


def format_keys(
    digests: np.ndarray,
    numbers: np.ndarray,
    *,
    prefix: str = "",
    lead: pa.Array | pa.ChunkedArray | None = None,
    joiner: str = "",
    compiled: bool | None = None,
) -> pa.Array:
    """Keys ``[lead + joiner] + prefix + <20 hex digits> + "-" + number`` as Arrow ``large_string``.

    ``lead`` (text, one per row; null as empty) goes first, e.g. a Crime ID that repeats.
    """
    rows = len(numbers)
    automatic = compiled is None
    if automatic:
        compiled = _worth_compiling(rows) and _format_keys_compiled is not None
    if compiled:
        try:
            return _compiled_keys(digests, numbers, prefix=prefix, lead=lead, joiner=joiner)
        except Exception as exc:  # noqa: BLE001 - numba could not compile or load its loop on this machine
            if not automatic:
                raise
            log.warning("compiled key writing failed (%s); writing keys with Arrow, which gives the same keys", exc)
    hexes = np.empty((rows, KEY_HEX_DIGITS), dtype=np.uint8)
    width = KEY_HEX_DIGITS // 2
    hexes[:, 0::2] = _HEX[digests[:, :width] >> 4]
    hexes[:, 1::2] = _HEX[digests[:, :width] & 15]
    text = pa.large_string()
    hex_text = pa.Array.from_buffers(
        pa.large_string(),
        rows,
        [
            None,
            pa.py_buffer(np.arange(0, rows * KEY_HEX_DIGITS + 1, KEY_HEX_DIGITS, dtype=np.int64)),
            pa.py_buffer(hexes),
        ],
    )
    pieces = [pa.scalar(prefix, text), hex_text, pa.scalar("-", text), pa.array(numbers).cast(text)]
    if lead is not None:
        if isinstance(lead, pa.ChunkedArray):
            lead = lead.combine_chunks()
        pieces = [pc.fill_null(lead.cast(text), ""), pa.scalar(joiner, text), *pieces]
    return pc.binary_join_element_wise(*pieces, pa.scalar("", text))


def _compiled_keys(
    digests: np.ndarray, numbers: np.ndarray, *, prefix: str, lead: pa.Array | pa.ChunkedArray | None, joiner: str
) -> pa.Array:
    rows = len(numbers)
    if _format_keys_compiled is None:
        msg = "compiled key writing needs numba"
        raise RuntimeError(msg)
    if lead is not None:
        lead_data, lead_starts, lead_ends = _text_buffers(lead)
    else:
        lead_data, lead_starts, lead_ends = np.zeros(0, dtype=np.uint8), np.zeros(0, np.int64), np.zeros(0, np.int64)
    offsets, data = _format_keys_compiled(
        lead is not None,
        lead_data,
        lead_starts,
        lead_ends,
        np.frombuffer(joiner.encode("utf-8"), dtype=np.uint8),
        np.frombuffer(prefix.encode("utf-8"), dtype=np.uint8),
        digests,
        numbers.astype(np.int64),
        KEY_HEX_DIGITS,
        _HEX,
    )
    return pa.Array.from_buffers(pa.large_string(), rows, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
