"""Arrow string columns: byte-level checks agree with the per-value definitions they replace; distinct-value coding."""

import re

import numpy as np
import pyarrow as pa
import pytest

from ctxrisk.pipelines.arrowtext import (
    byte_lengths,
    clean_text,
    constant_text,
    encode,
    fixed_width_fingerprints,
    has_control,
    longer_than,
    may_need_trim,
    spread,
    spread_flags,
    text_series,
)

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def chunked(*chunks, type=None):
    type = type or pa.large_string()
    return pa.chunked_array([pa.array(c, type=type) for c in chunks], type=type)


def test_clean_text_trims_unicode_space_and_blanks_become_null():
    values = chunked(["a", " b ", "\u00a0c\u2003"], [None, "   ", "d\t"], type=pa.string())
    assert clean_text(values).to_pylist() == ["a", "b", "c", None, None, "d"]


def test_clean_column_is_returned_untouched():
    values = chunked(["E01006512", "Merseyside Police"], [None, "Café Street"])
    assert not may_need_trim(values)
    assert clean_text(values).equals(values)


@pytest.mark.parametrize("value", [" x", "x ", "\tx", "x\n", "\u00a0x", "x\u3000", "é", "\x1fx"])
def test_values_that_may_change_are_noticed(value):
    assert may_need_trim(chunked(["ok", value]))


def test_longer_than_counts_characters_not_bytes():
    values = chunked(["x" * 501, "é" * 300], [None, "é" * 501, "x" * 500])
    assert longer_than(values, 500).tolist() == [True, False, False, True, False]
    assert byte_lengths(values).tolist() == [501, 600, 0, 1002, 500]


def test_control_characters_found_per_row_across_chunks_and_slices():
    rows = ["ok", "bell\x07", None, "tab\tnewline\n", "unit\x1f", "ésc\x1b", "del\x7f"]
    values = chunked(rows[:3], rows[3:])
    expected = [bool(v is not None and CONTROL.search(v)) for v in rows]
    assert has_control(values).tolist() == expected == [False, True, False, False, True, True, False]
    sliced = pa.array(rows, type=pa.string()).slice(2, 4)  # offsets that do not start at 0
    assert has_control(sliced).tolist() == [False, False, True, True]


def test_empty_and_all_null_columns():
    assert has_control(chunked([])).tolist() == []
    assert longer_than(chunked([None, None]), 5).tolist() == [False, False]
    assert clean_text(chunked([None, ""])).to_pylist() == [None, None]
    sliced = pa.array(["", "a", "", "b"], type=pa.large_string()).slice(1, 3)  # offsets that do not start at 0
    assert clean_text(sliced).to_pylist() == ["a", None, "b"]
    assert clean_text(pa.array(["", "a"]).slice(1)).to_pylist() == ["a"]
    assert np.array_equal(byte_lengths(chunked([None])), [0])


def test_charset_match_gives_the_regex_answer_on_every_kind_of_value():
    import random

    import pyarrow as pa
    import pyarrow.compute as pc

    from ctxrisk.pipelines.arrowtext import charset_match
    from ctxrisk.pipelines.kinds import ID_CHARS, ID_MAX, ID_PATTERN, KEY_CHARS, KEY_MAX, KEY_PATTERN

    rng = random.Random(7)
    alphabet = list("aZ09_.:-/#é \t;")
    values = [None, "", "a" * 64, "a" * 65, "a" * 128, "a" * 129, "INC-1", "P/1", "x#y", "naïve"]
    values += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 5))) for _ in range(3000)]
    # two chunks, the second one sliced: offsets that do not start at zero
    array = pa.chunked_array([pa.array(values[:1000]), pa.array(["pad", *values[1000:]]).slice(1)])
    for chars, longest, pattern in ((ID_CHARS, ID_MAX, ID_PATTERN), (KEY_CHARS, KEY_MAX, KEY_PATTERN)):
        expected = pc.fill_null(pc.match_substring_regex(array, pattern), True).to_numpy(zero_copy_only=False)
        assert charset_match(array, chars, longest).tolist() == expected.tolist()


def test_encode_codes_every_chunk_with_one_dictionary_and_blanks_last():
    chunks = pa.chunked_array([pa.array(["b", None, "a"]), pa.array([], type=pa.string()), pa.array(["a", "c"])])
    codes, distinct = encode(text_series(chunks))
    assert distinct.to_pylist() == ["b", "a", "c"]  # first seen
    assert codes.tolist() == [0, 3, 1, 1, 2]  # the blank gets len(distinct)
    assert spread([*distinct.to_pylist(), None], codes).to_pylist() == ["b", None, "a", "a", "c"]


def test_fixed_width_fingerprints_match_equal_values_across_chunks():
    values = chunked(["abcdefghij", None, "abcdefghik"], ["abcdefghij", "0123456789"])
    prints, rows = fixed_width_fingerprints(values)
    assert rows.tolist() == [0, 2, 3, 4]  # the null is left out
    assert prints[0] == prints[2]  # the same ten bytes
    assert len({int(p) for p in prints}) == 3  # the last byte alone tells the others apart


@pytest.mark.parametrize(
    "chunks",
    [
        (["abc", "abcd"],),  # lengths differ
        (["abc"], ["abcd"]),  # lengths differ between chunks
        (["abc", ""],),  # an empty value
    ],
)
def test_fixed_width_fingerprints_refuse_columns_of_several_widths(chunks):
    assert fixed_width_fingerprints(chunked(*chunks)) is None


def test_fixed_width_fingerprints_of_an_all_null_column_are_empty():
    prints, rows = fixed_width_fingerprints(chunked([None, None]))
    assert len(prints) == len(rows) == 0


def test_fixed_width_fingerprints_refuse_null_slots_that_hold_bytes():
    # Arrow lets a null slot span bytes; the values are then not back to back in the data buffer.
    offsets = pa.py_buffer(np.array([0, 3, 6, 9], dtype=np.int32).tobytes())
    validity = pa.py_buffer(np.packbits([1, 0, 1], bitorder="little").tobytes())
    values = pa.Array.from_buffers(pa.string(), 3, [validity, offsets, pa.py_buffer(b"abcxyzabc")], null_count=1)
    assert values.to_pylist() == ["abc", None, "abc"]
    assert fixed_width_fingerprints(values) is None


def test_spread_flags_reads_false_for_the_blank_code_and_constant_text_is_arrow_backed():
    codes = np.array([1, 0, 2, -1, 1])  # 2 = len(flags) and -1 are the blank codes of factorize and pandas
    assert spread_flags([False, True], codes).tolist() == [True, False, False, False, True]
    column = constant_text("police_uk_street", 3)
    assert column.tolist() == ["police_uk_street"] * 3 and column.dtype == "string[pyarrow]"
    assert constant_text(None, 2).isna().all()
