"""Tests for ctxrisk.pipelines.tabular: exact line numbers through the quirks real exports have."""

import pandas as pd
import pyarrow as pa
import pytest

from ctxrisk.pipelines import tabular
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.tabular import read_csv_text, read_parquet_text, read_text_table


def values(series):
    return [None if pd.isna(v) else v for v in series]


def write(tmp_path, data: bytes, name="f.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_clean_file_uses_fast_path_line_numbers(tmp_path):
    path = write(tmp_path, b"a,b\n1,2\n3,4\n")
    t = read_csv_text(path)
    assert t.header == ["a", "b"]
    assert t.frame["a"].tolist() == ["1", "3"]
    assert t.lines.tolist() == [2, 3]
    assert t.rows_read == 2 and not t.rejects


def test_bom_mixed_endings_blank_lines_quotes_and_truncation(tmp_path):
    data = b'\xef\xbb\xbfa,b,c\r\n1,"x,y",3\n2,z\r\n\n4,5,6,7\n5,"multi\nline",8\n6,"say ""hi""",8\n\n\n9,1'
    t = read_csv_text(write(tmp_path, data))
    assert t.header == ["a", "b", "c"]
    assert t.frame["b"].tolist() == ["x,y", "multi\nline", 'say "hi"']
    assert t.lines.tolist() == [2, 6, 8]
    assert [(r.line, r.reason) for r in t.rejects] == [
        (3, "too few fields: expected 3, found 2"),
        (5, "too many fields: expected 3, found 4"),
        (11, "too few fields: expected 3, found 2 (the last line looks truncated)"),
    ]
    assert t.rows_read == len(t.frame) + len(t.rejects) == 6


def test_blank_values_become_none_and_spaces_are_trimmed(tmp_path):
    t = read_csv_text(write(tmp_path, b"a,b\n 1 ,\n"))
    assert values(t.frame.iloc[0]) == ["1", None]


def test_all_blank_record_is_rejected_not_dropped(tmp_path):
    t = read_csv_text(write(tmp_path, b"a,b\n1,2\n,\n"))
    assert [(r.line, r.reason) for r in t.rejects] == [(3, "empty record: every field is blank")]
    assert t.rows_read == 2


def test_not_utf8_names_line_and_column(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValidationError, match=r"line 3, column 6: the file is not UTF-8"):
        read_csv_text(path)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "the file is empty"),
        (b"a,a\n1,2\n", "column 'a' appears twice"),
        (b"a,,c\n1,2,3\n", "blank column name"),
    ],
)
def test_unusable_files(tmp_path, data, match):
    with pytest.raises(ValidationError, match=match):
        read_csv_text(write(tmp_path, data))


def test_missing_file(tmp_path):
    with pytest.raises(ValidationError, match="no such file"):
        read_text_table(tmp_path / "nope.csv")


def test_parquet_rows_are_numbered_and_typed_values_become_text(tmp_path):
    path = tmp_path / "f.parquet"
    pd.DataFrame({"a": [1.5, None], "t": pd.to_datetime(["2024-01-01 10:00", None])}).to_parquet(path)
    t = read_parquet_text(path)
    assert values(t.frame["a"]) == ["1.5", None]
    assert values(t.frame["t"]) == ["2024-01-01T10:00:00", None]
    assert t.lines.tolist() == [1, 2] and t.line_kind == "row"


def test_a_file_hashed_before_reading_is_not_hashed_again_unless_it_changed(tmp_path, monkeypatch):
    import hashlib

    from ctxrisk.pipelines import tabular

    path = tmp_path / "a.csv"
    path.write_text("a,b\n1,2\n")
    first = tabular.file_sha256(path)
    calls = []
    real = hashlib.sha256
    monkeypatch.setattr(tabular.hashlib, "sha256", lambda *a: calls.append(a) or real(*a))
    assert read_csv_text(path).sha256 == first
    assert calls == []
    path.write_text("a,b\n1,3\n")  # same size, new bytes
    assert read_csv_text(path).sha256 == hashlib.sha256(b"a,b\n1,3\n").hexdigest() != first


def test_bytes_kept_from_hashing_are_parsed_only_while_the_file_is_unchanged(tmp_path, monkeypatch):
    import hashlib
    from pathlib import Path

    from ctxrisk.pipelines import tabular

    path = tmp_path / "a.csv"
    path.write_text("a,b\n1,2\n")
    digest = tabular.file_sha256(path, keep_bytes=True)
    reads = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or real(self))
    table = read_csv_text(path)
    assert reads == [] and table.sha256 == digest and table.frame["b"].tolist() == ["2"]
    assert not tabular._KEPT  # consumed: the slot never holds a file that was parsed
    tabular.file_sha256(path, keep_bytes=True)
    reads.clear()
    path.write_text("a,b\n1,3\n")  # rewritten after the check: read and hashed again
    table = read_csv_text(path)
    assert reads == [path] and table.frame["b"].tolist() == ["3"]
    assert table.sha256 == hashlib.sha256(b"a,b\n1,3\n").hexdigest()
    tabular.file_sha256(path, keep_bytes=True)
    tabular.forget_kept()
    assert not tabular._KEPT


def test_blank_line_inside_a_large_clean_file_keeps_exact_line_numbers(tmp_path):
    # The fast reader counts lines beside Arrow's parse; a blank line makes the counts differ.
    rows = [f"{i},x{i}" for i in range(5000)]
    path = write(tmp_path, ("a,b\n" + "\n".join(rows[:10]) + "\n\n" + "\n".join(rows[10:]) + "\n").encode())
    table = read_csv_text(path)
    assert table.rows_read == 5000
    assert table.lines[:12].tolist() == [*range(2, 12), 13, 14]


def test_a_file_of_several_row_groups_is_read_in_aligned_pieces(tmp_path, monkeypatch):
    # Each piece is one row group: every column then has one chunk per row group, so the rows reach DuckDB
    # without being copied into aligned batches. The last piece holds what is left, without a final newline.
    monkeypatch.setattr(tabular, "ROW_GROUP_ROWS", 4)
    path = write(tmp_path, b"a,b\n" + b"\n".join(f" {i} ,x{i}".encode() for i in range(10)) + b"\n10,")
    table = read_csv_text(path)
    column = pa.array(table.frame["a"], from_pandas=True)
    assert [len(chunk) for chunk in column.chunks] == [4, 4, 3]
    assert values(table.frame["a"]) == [str(i) for i in range(11)]
    assert values(table.frame["b"]) == [f"x{i}" for i in range(10)] + [None]
    assert table.lines.tolist() == list(range(2, 13))
    assert table.rows_read == 11 and not table.rejects


@pytest.mark.parametrize(
    ("body", "lines", "reasons"),
    [
        # a blank line in the second piece
        (b"1,a\n2,b\n3,c\n4,d\n5,e\n\n6,f\n7,g\n", [2, 3, 4, 5, 6, 8, 9], []),
        # a value over two lines in the second piece
        (b'1,a\n2,b\n3,c\n4,d\n5,"e\ne"\n6,f\n7,g\n', [2, 3, 4, 5, 6, 8, 9], []),
        # a short record in the third piece
        (
            b"1,a\n2,b\n3,c\n4,d\n5,e\n6,f\n7,g\n8,h\n9\n10,j\n",
            [2, 3, 4, 5, 6, 7, 8, 9, 11],
            [(10, "too few fields: expected 2, found 1")],
        ),
    ],
)
def test_a_quirk_in_a_later_piece_falls_back_to_exact_lines(tmp_path, monkeypatch, body, lines, reasons):
    monkeypatch.setattr(tabular, "ROW_GROUP_ROWS", 4)
    table = read_csv_text(write(tmp_path, b"n,v\n" + body))
    assert table.lines.tolist() == lines
    assert [(r.line, r.reason) for r in table.rejects] == reasons


def test_a_large_file_is_hashed_block_by_block_while_it_is_read(tmp_path, monkeypatch):
    import hashlib

    monkeypatch.setattr(tabular, "HASH_BLOCK_BYTES", 16)
    body = b"a,b\n" + b"".join(f"{i},x{i}\n".encode() for i in range(40))
    path = write(tmp_path, body)
    digest = tabular.file_sha256(path, keep_bytes=True)
    assert digest == hashlib.sha256(body).hexdigest()
    table = read_csv_text(path)  # parsed from the kept bytes (a memory map, not bytes)
    assert table.sha256 == digest
    assert values(table.frame["b"]) == [f"x{i}" for i in range(40)]
    assert table.lines.tolist() == list(range(2, 42))


@pytest.mark.parametrize("stat_size_error", [-5, 5])
def test_a_file_that_changes_size_while_hashed_is_read_again_whole(tmp_path, monkeypatch, stat_size_error):
    import hashlib

    monkeypatch.setattr(tabular, "HASH_BLOCK_BYTES", 16)
    body = b"a,b\n" + b"".join(f"{i},x{i}\n".encode() for i in range(40))
    path = write(tmp_path, body)
    # stat() said one size; the file then holds more (or fewer) bytes
    data, digest = tabular._read_hashing(path, len(body) + stat_size_error)
    assert data[:] == body and digest == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize("rows", [3, 10])  # one piece, and several row-group pieces
def test_utf8_beyond_the_head_is_checked_unless_the_file_is_plain_ascii(tmp_path, monkeypatch, rows):
    monkeypatch.setattr(tabular, "HEAD_BYTES", 8)  # the head decode sees only the header
    monkeypatch.setattr(tabular, "ROW_GROUP_ROWS", 4)
    asked = []
    real = tabular._convert_options

    def spy(header, *, check_utf8=True):
        asked.append(check_utf8)
        return real(header, check_utf8=check_utf8)

    monkeypatch.setattr(tabular, "_convert_options", spy)
    body = [f"{i},x{i}" for i in range(rows - 1)]
    plain = read_csv_text(write(tmp_path, ("a,b\n" + "\n".join([*body, "9,cafe"]) + "\n").encode(), "plain.csv"))
    assert plain.frame["b"].tolist()[-1] == "cafe" and set(asked) == {False}
    asked.clear()
    accented = read_csv_text(write(tmp_path, ("a,b\n" + "\n".join([*body, "9,café"]) + "\n").encode(), "utf8.csv"))
    assert accented.frame["b"].tolist()[-1] == "café" and set(asked) == {True}
    bad = write(tmp_path, ("a,b\n" + "\n".join(body) + "\n9,caf").encode() + b"\xe9\n", "latin1.csv")
    with pytest.raises(ValidationError, match=rf"line {rows + 1}, column 6: the file is not UTF-8"):
        read_csv_text(bad)
