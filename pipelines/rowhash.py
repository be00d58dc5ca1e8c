"""Stable keys for rows without a usable ID: SHA-256 of the row's values with ``hashlib``.

A derived key is ``[lead + joiner] + prefix`` + the first 20 hex digits of the SHA-256 of the row's values
(blanks as empty text) joined by ``\\x1f`` + ``-`` + the row's number among rows with those 20 digits, in file
order. The same rows in a re-export get the same keys, so a re-export replaces rather than duplicates.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Hex digits of the digest kept in a key (80 bits).
KEY_HEX_DIGITS = 20
#: What joins a row's values before hashing.
SEPARATOR = "\x1f"


def row_digests(columns: list[pa.ChunkedArray | pa.Array]) -> list[str]:
    """The first :data:`KEY_HEX_DIGITS` hex digits of each row's SHA-256 (values joined by :data:`SEPARATOR`).

    Parameters
    ----------
    columns : list of pyarrow.ChunkedArray or pyarrow.Array
        Columns of the same length; each is cast to text and a null counts as empty text.
    """
    if not columns:
        msg = "internal: no columns to hash"
        raise ValueError(msg)
    text = pa.large_string()
    parts = [pc.fill_null(column.cast(text), "") for column in columns]
    joined = pc.binary_join_element_wise(*parts, pa.scalar(SEPARATOR, text)) if len(parts) > 1 else parts[0]
    sha256 = hashlib.sha256
    return [sha256(value.encode("utf-8")).hexdigest()[:KEY_HEX_DIGITS] for value in joined.to_pylist()]


def occurrence(digests: list[str]) -> np.ndarray:
    """1-based number of each row among the rows with the same digest, in the given (file) order."""
    if not digests:
        return np.zeros(0, dtype=np.int64)
    series = pd.Series(digests)
    return series.groupby(series, sort=False).cumcount().to_numpy(dtype=np.int64) + 1


def row_keys(
    columns: list[pa.ChunkedArray | pa.Array],
    *,
    prefix: str = "",
    lead: pa.Array | pa.ChunkedArray | None = None,
    joiner: str = "",
) -> pa.Array:
    """Keys ``[lead + joiner] + prefix + <20 hex digits> + "-" + number`` as Arrow ``large_string``.

    Parameters
    ----------
    columns : list of pyarrow.ChunkedArray or pyarrow.Array
        The values that identify a row.
    prefix : str
        Text before the digest, e.g. ``"pu-"``.
    lead : pyarrow.Array or None
        Text per row put first (a null as empty), e.g. a Crime ID that repeats.
    joiner : str
        Text between ``lead`` and ``prefix``.
    """
    digests = row_digests(columns)
    text = pa.large_string()
    numbers = pa.array(occurrence(digests)).cast(text)
    pieces = [pa.scalar(prefix, text), pa.array(digests, type=text), pa.scalar("-", text), numbers]
    if lead is not None:
        if isinstance(lead, pa.ChunkedArray):
            lead = lead.combine_chunks()
        pieces = [pc.fill_null(lead.cast(text), ""), pa.scalar(joiner, text), *pieces]
    return pc.binary_join_element_wise(*pieces, pa.scalar("", text))
