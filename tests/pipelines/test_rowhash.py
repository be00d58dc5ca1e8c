"""Tests for ctxrisk.pipelines.rowhash: compiled SHA-256 of rows against hashlib, occurrence numbers and key text."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ctxrisk.pipelines import rowhash
from ctxrisk.pipelines.sources.common import derived_keys

needs_compiled = pytest.mark.skipif(not rowhash.compiled_available(), reason="numba or OpenSSL's SHA-256 not there")


def reference(columns: list[list[str | None]], separator: str = "\x1f") -> np.ndarray:
    rows = zip(*[[v or "" for v in col] for col in columns], strict=True)
    return np.array([list(hashlib.sha256(separator.join(r).encode("utf-8")).digest()) for r in rows], dtype=np.uint8)


# Lengths around SHA-256's 64-byte blocks (55 bytes is the most that fits with the padding in one block).
TEXT = [
    None,
    "",
    "a",
    "é",
    "x" * 54,
    "x" * 55,
    "x" * 56,
    "y" * 63,
    "y" * 64,
    "z" * 119,
    "z" * 120,
    "Person and Vehicle search",
    "\u2603 snow",
    "White - English/Welsh/Scottish/Northern Irish/British" * 3,
]


@needs_compiled
@pytest.mark.parametrize("large", [False, True])
def test_compiled_digests_equal_hashlib_over_block_boundaries_nulls_and_utf8(large):
    kind = pa.large_string() if large else pa.string()
    first = TEXT * 3
    second = list(reversed(TEXT)) * 3
    third = [None if i % 4 == 0 else f"{i}" for i in range(len(first))]
    columns = [pa.chunked_array([pa.array(col, type=kind)]) for col in (first, second, third)]
    got = rowhash.sha256_rows(columns, compiled=True)
    assert np.array_equal(got, reference([first, second, third]))
    assert np.array_equal(rowhash.sha256_rows(columns, compiled=False), got)


@needs_compiled
def test_compiled_digests_follow_rows_across_chunks_slices_and_blocks(monkeypatch):
    monkeypatch.setattr(rowhash, "BLOCK_ROWS", 7)  # several blocks, each cutting through the chunks
    values = [f"v{i}" * (i % 9) if i % 5 else None for i in range(50)]
    chunked = pa.chunked_array([pa.array(values[:13]), pa.array(values[13:31]), pa.array(values[31:])])
    sliced = pa.chunked_array([pa.array(["skip"] + values)]).slice(1)
    got = rowhash.sha256_rows([chunked, sliced], compiled=True)
    assert np.array_equal(got, reference([values, values]))


def test_one_empty_column_is_the_digest_of_nothing():
    empty = pa.chunked_array([pa.array([None, ""])])
    digests = rowhash.sha256_rows([empty, empty], compiled=False)
    # sha256(b"\x1f"): two empty values joined by the separator
    assert bytes(digests[0]).hex()[:20] == "ffe679bb831c95b67dc1"
    assert bytes(rowhash.sha256_rows([empty], compiled=False)[0]).hex() == hashlib.sha256(b"").hexdigest()


def test_occurrence_numbers_rows_with_the_same_first_20_hex_digits():
    digests = np.zeros((6, 32), dtype=np.uint8)
    digests[[1, 4], 0] = 1
    digests[2, 9] = 7  # differs within the first 80 bits, but only after the first 64: its own group
    digests[3, 10] = 7  # differs after the first 80 bits: the same key digits as row 0
    digests[5, 8] = 1
    assert rowhash.occurrence(digests).tolist() == [1, 1, 1, 2, 2, 1]


def test_occurrence_matches_counting_each_key_in_file_order():
    rng = np.random.default_rng(11)
    digests = rng.integers(0, 256, (2_000, 32), dtype=np.uint8)
    digests[rng.integers(0, 2_000, 600)] = digests[rng.integers(0, 2_000, 600)]  # some rows repeated
    digests[5, 8:10] = digests[6, 8:10] + 1  # ... and pairs that agree in 64 bits only
    digests[5, :8] = digests[6, :8]
    seen: dict[bytes, int] = {}
    expected = []
    for row in digests:
        key = bytes(row[:10])
        seen[key] = seen.get(key, 0) + 1
        expected.append(seen[key])
    assert max(expected) > 1
    assert rowhash.occurrence(digests).tolist() == expected


@pytest.mark.parametrize("compiled", [False, pytest.param(True, marks=needs_compiled)])
def test_format_keys_writes_lead_prefix_hex_and_number(compiled):
    digests = np.zeros((3, 32), dtype=np.uint8)
    digests[:, 0] = [0xAB, 0x01, 0xFF]
    digests[:, 9] = 0x9C
    lead = pa.chunked_array([pa.array(["crime1", None]), pa.array(["é"])])
    keys = rowhash.format_keys(digests, np.array([1, 12, 305]), prefix="p-", lead=lead, joiner="#", compiled=compiled)
    zeros = "0" * 16
    assert keys.to_pylist() == [f"crime1#p-ab{zeros}9c-1", f"#p-01{zeros}9c-12", f"é#p-ff{zeros}9c-305"]
    plain = rowhash.format_keys(digests[:1], np.array([7]), prefix="ss-", compiled=compiled)
    assert plain.to_pylist() == [f"ss-ab{zeros}9c-7"]


def test_derived_keys_number_identical_rows_in_file_order():
    frame = pd.DataFrame({"a": ["x", "x", "y", "x"], "b": ["1", "1", None, "1"]}, dtype=pd.StringDtype("pyarrow"))
    keys = derived_keys(frame, ["a", "b"], prefix="ss-").to_pylist()
    x1 = hashlib.sha256(b"x\x1f1").hexdigest()[:20]
    y = hashlib.sha256(b"y\x1f").hexdigest()[:20]
    assert keys == [f"ss-{x1}-1", f"ss-{x1}-2", f"ss-{y}-1", f"ss-{x1}-3"]
    picked = derived_keys(
        frame,
        ["a", "b"],
        prefix="",
        rows=np.array([False, True, True, False]),
        lead=pa.chunked_array([pa.array(["id1", "id2"])]),
        joiner=":",
    ).to_pylist()
    assert picked == [f"id1:{x1}-1", f"id2:{y}-1"]


@needs_compiled
def test_derived_keys_are_the_same_whichever_way_they_are_hashed(monkeypatch):
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {"a": rng.choice(["p", "q", None, "é" * 40], 400), "b": rng.choice(["1", "22", ""], 400)},
        dtype=pd.StringDtype("pyarrow"),
    )
    monkeypatch.setattr(rowhash, "COMPILED_FROM_ROWS", 10**9)
    by_hashlib = derived_keys(frame, ["a", "b"], prefix="pu-").to_pylist()
    monkeypatch.setattr(rowhash, "COMPILED_FROM_ROWS", 1)
    assert derived_keys(frame, ["a", "b"], prefix="pu-").to_pylist() == by_hashlib
    assert len(set(by_hashlib)) == 400


def test_bad_separator_and_no_columns_are_refused():
    with pytest.raises(ValueError, match="one ASCII character"):
        rowhash.sha256_rows([pa.chunked_array([pa.array(["a"])])], separator="--")
    with pytest.raises(ValueError, match="no columns"):
        rowhash.sha256_rows([])


def test_a_compiled_loop_that_fails_falls_back_to_the_same_keys_unless_asked_for(monkeypatch):
    def broken(*_args):
        raise RuntimeError("no LLVM here")

    columns = [pa.chunked_array([pa.array(["a", None, "é"])]), pa.chunked_array([pa.array(["1", "2", None])])]
    expected = reference([["a", None, "é"], ["1", "2", None]])
    monkeypatch.setattr(rowhash, "COMPILED_FROM_ROWS", 1)
    monkeypatch.setattr(rowhash, "compiled_available", lambda: True)
    monkeypatch.setattr(rowhash, "_hash_rows_compiled", broken)
    monkeypatch.setattr(rowhash, "_format_keys_compiled", broken)
    digests = rowhash.sha256_rows(columns)
    assert np.array_equal(digests, expected)
    keys = rowhash.format_keys(digests, np.array([1, 1, 2]), prefix="ss-").to_pylist()
    assert keys[2] == f"ss-{bytes(expected[2]).hex()[:20]}-2"
    with pytest.raises(RuntimeError, match="no LLVM"):
        rowhash.sha256_rows(columns, compiled=True)
    with pytest.raises(RuntimeError, match="no LLVM"):
        rowhash.format_keys(digests, np.array([1, 1, 2]), compiled=True)


def test_warm_up_starts_once_when_enough_of_the_file_is_hashed(tmp_path, monkeypatch):
    path = tmp_path / "rows.csv"
    path.write_bytes(b"x" * 1_000)
    started = []

    class RecordedThread:
        def __init__(self, *, target, name, daemon):
            started.append(name)

        def start(self):
            pass

    monkeypatch.setattr(rowhash, "_warm_up_started", rowhash.threading.Event())
    monkeypatch.setattr(rowhash, "compiled_available", lambda: True)
    monkeypatch.setattr(rowhash.threading, "Thread", RecordedThread)
    monkeypatch.setattr(rowhash, "WARM_UP_FROM_BYTES", 500)
    rowhash.start_warm_up(path, hashed_share=0.25)  # 250 of its bytes hashed: hashlib does them
    assert started == []
    assert not rowhash._worth_compiling(rowhash.WARMED_FROM_ROWS)
    assert rowhash._worth_compiling(rowhash.COMPILED_FROM_ROWS)
    rowhash.start_warm_up(path)
    rowhash.start_warm_up(path)
    assert started == ["rowhash-warm-up"]
    assert rowhash._worth_compiling(rowhash.WARMED_FROM_ROWS)
    assert not rowhash._worth_compiling(rowhash.WARMED_FROM_ROWS - 1)
