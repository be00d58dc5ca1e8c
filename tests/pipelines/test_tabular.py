"""Tests for ctxrisk.pipelines.tabular: exact line numbers through the quirks real exports have."""

import pandas as pd
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


def test_blank_line_inside_a_large_clean_file_keeps_exact_line_numbers(tmp_path):
    # The fast reader counts lines beside Arrow's parse; a blank line makes the counts differ.
    rows = [f"{i},x{i}" for i in range(5000)]
    path = write(tmp_path, ("a,b\n" + "\n".join(rows[:10]) + "\n\n" + "\n".join(rows[10:]) + "\n").encode())
    table = read_csv_text(path)
    assert table.rows_read == 5000
    assert table.lines[:12].tolist() == [*range(2, 12), 13, 14]


@pytest.mark.parametrize(
    ("body", "lines", "reasons"),
    [
        # a blank line after clean records
        (b"1,a\n2,b\n3,c\n4,d\n5,e\n\n6,f\n7,g\n", [2, 3, 4, 5, 6, 8, 9], []),
        # a value over two lines
        (b'1,a\n2,b\n3,c\n4,d\n5,"e\ne"\n6,f\n7,g\n', [2, 3, 4, 5, 6, 8, 9], []),
        # a short record
        (
            b"1,a\n2,b\n3,c\n4,d\n5,e\n6,f\n7,g\n8,h\n9\n10,j\n",
            [2, 3, 4, 5, 6, 7, 8, 9, 11],
            [(10, "too few fields: expected 2, found 1")],
        ),
    ],
)
def test_a_quirk_after_clean_records_falls_back_to_exact_lines(tmp_path, body, lines, reasons):
    table = read_csv_text(write(tmp_path, b"n,v\n" + body))
    assert table.lines.tolist() == lines
    assert [(r.line, r.reason) for r in table.rejects] == reasons


@pytest.mark.parametrize("rows", [3, 10])
def test_utf8_beyond_the_head_is_checked(tmp_path, monkeypatch, rows):
    monkeypatch.setattr(tabular, "HEAD_BYTES", 8)  # the head decode sees only the header
    body = [f"{i},x{i}" for i in range(rows - 1)]
    plain = read_csv_text(write(tmp_path, ("a,b\n" + "\n".join([*body, "9,cafe"]) + "\n").encode(), "plain.csv"))
    assert plain.frame["b"].tolist()[-1] == "cafe"
    accented = read_csv_text(write(tmp_path, ("a,b\n" + "\n".join([*body, "9,café"]) + "\n").encode(), "utf8.csv"))
    assert accented.frame["b"].tolist()[-1] == "café"
    bad = write(tmp_path, ("a,b\n" + "\n".join(body) + "\n9,caf").encode() + b"\xe9\n", "latin1.csv")
    with pytest.raises(ValidationError, match=rf"line {rows + 1}, column 6: the file is not UTF-8"):
        read_csv_text(bad)


def test_a_quote_left_open_to_the_end_rejects_its_record_and_keeps_the_rest(tmp_path):
    table = read_csv_text(write(tmp_path, b'n,v\n1,"open\n2,b\n3,c\n'))
    assert table.rows_read == 3 and len(table.frame) == 2
    assert values(table.frame["n"]) == ["2", "3"] and table.lines.tolist() == [3, 4]
    assert [(r.line, r.reason) for r in table.rejects] == [(2, "column 3: a quote opened here is never closed")]


@pytest.mark.parametrize("size", [3, 5_000])  # both readers: a small file and one past the exact reader's range
def test_text_after_a_closing_quote_is_rejected_with_its_line_and_column(tmp_path, size):
    rows = [f"{i},x" for i in range(size)]
    rows[1] = '1,"Drugs"x'
    table = read_csv_text(write(tmp_path, ("n,v\n" + "\n".join(rows) + "\n").encode()))
    assert table.rows_read == size and len(table.frame) == size - 1
    assert "Drugsx" not in set(values(table.frame["v"]))
    assert [(r.line, r.reason, r.value) for r in table.rejects] == [
        (3, "column 10: text after a closing quote; quote the whole value", '1,"Drugs"x')
    ]


def test_quoted_values_with_commas_and_doubled_quotes_read_the_same_at_any_size(tmp_path):
    rows = [f'{i},"say ""hi"", {i}",x' for i in range(5_000)]
    table = read_csv_text(write(tmp_path, ("n,v,w\n" + "\n".join(rows) + "\n").encode()))
    assert table.rows_read == 5_000 and not table.rejects
    assert values(table.frame["v"])[:2] == ['say "hi", 0', 'say "hi", 1']
    assert table.lines.tolist()[-1] == 5_001
