"""data.police.uk street, stop-and-search and outcomes readers, on the real files and crafted bad variants."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest
from support import shared_data_path

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.runner import ingest_one
from ctxrisk.pipelines.sources.police_uk import link_outcomes, read_stop_search, read_street

STREET = ("police_uk", "street")
MERSEYSIDE = "police-uk-2018-12-merseyside-street.csv"
CITY = "2023-05-city-of-london-street.csv"
SEARCH = ("police_uk", "stop_and_search", "2025-06-cheshire-stop-and-search.csv")
OUTCOMES = ("police_uk", "outcomes", "2026-02-city-of-london-outcomes.HEAD15.csv")


def verified(*parts: str) -> Path:
    """The real file, after checking its SHA-256 against the folder's SHA256SUMS."""
    path = shared_data_path(*parts)
    sums = dict(line.split()[::-1] for line in (path.parent / "SHA256SUMS").read_text().splitlines() if line.strip())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sums[path.name]
    return path


def count(con, sql: str) -> int:
    return con.execute(sql).fetchone()[0]


def head_lines(path: Path, n: int) -> list[str]:
    """The header and first ``n`` records of a real file, without line endings."""
    return path.read_text(encoding="utf-8").splitlines()[: n + 1]


def test_real_street_files_reconcile_and_reingest_adds_nothing(con, settings):
    for name, rows in ((MERSEYSIDE, 12_636), (CITY, 774)):
        result = ingest_one(con, "police-uk-street", verified(*STREET, name), settings=settings)
        assert result.rows_read == rows
        assert result.rows_read == result.rows_loaded + result.rows_rejected
    total = count(con, "select count(*) from raw.incidents")
    assert total == count(con, "select sum(rows_loaded) from raw.ingest_files")
    again = ingest_one(con, "police-uk-street", verified(*STREET, CITY), settings=settings)
    assert again.skipped_same_file and again.rows_loaded == 0
    assert count(con, "select count(*) from raw.incidents") == total


def test_real_street_keys_precision_vintage_and_unlocated(con, settings):
    ingest_one(con, "police-uk-street", verified(*STREET, CITY), settings=settings)
    ingest_one(con, "police-uk-street", verified(*STREET, MERSEYSIDE), settings=settings)
    assert count(con, "select count(distinct incident_id) from raw.incidents") == 13_410
    assert count(con, "select count(*) from raw.incidents where incident_id like 'pu-%'") == 2_020 + 46
    assert count(con, "select count(*) from raw.incidents where incident_id like '%#%'") == 14
    assert count(con, "select count(*) from raw.incidents where time_precision <> 'month'") == 0
    assert count(con, "select count(*) from raw.incidents where not located") == 27
    assert count(con, "select count(*) from raw.incidents where not located and lsoa_code is not null") == 0
    assert count(con, "select count(distinct lsoa_vintage) from raw.incidents where lsoa_code is not null") == 1
    assert (
        con.execute("select any_value(lsoa_vintage) from raw.incidents where lsoa_code is not null").fetchone()[0]
        == "lsoa11"
    )
    first = con.execute(
        "select occurred_at, falls_within, outcome_category from raw.incidents where incident_id = "
        "'db9003ee5b1d9ae42008d255ca58916d215da6259baba81a200c0a33c97b28f1'"
    ).fetchone()
    assert str(first[0]) == "2018-12-01 00:00:00+00:00"
    assert first[1] == "Merseyside Police"
    assert first[2] == "Action to be taken by another organisation"


def test_crime_types_map_to_themes(con, settings):
    ingest_one(con, "police-uk-street", verified(*STREET, MERSEYSIDE), settings=settings)
    themes = dict(con.execute("select category, any_value(theme) from raw.incidents group by 1").fetchall())
    assert themes["Drugs"] == "county_lines"
    assert themes["Possession of weapons"] == "cce"
    assert themes["Anti-social behaviour"] == "other"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_line_endings_bom_blank_lines_do_not_change_rows_or_keys(tmp_path, settings):
    lines = head_lines(verified(*STREET, CITY), 60)
    plain = _write(tmp_path, "2023-05-x-street.csv", ("\n".join(lines) + "\n").encode())
    mixed_text = "".join(line + ("\r\n" if i % 2 else "\n") for i, line in enumerate(lines)) + "\n\n\r\n"
    mixed = _write(tmp_path, "2023-05-y-street.csv", b"\xef\xbb\xbf" + mixed_text.encode())
    a = read_street(plain, settings=settings, options={})
    b = read_street(mixed, settings=settings, options={})
    assert a.rows_read == b.rows_read == 60
    assert list(a.rows["incident_id"]) == list(b.rows["incident_id"])
    assert list(b.rows["line"][:3]) == [2, 3, 4]


def test_corrected_reexport_replaces_rows_rather_than_adding(tmp_path, con, settings):
    lines = head_lines(verified(*STREET, CITY), 80)
    first = _write(tmp_path, "a.csv", ("\n".join(lines) + "\n").encode())
    ingest_one(con, "police-uk-street", first, settings=settings)
    changed = [lines[0]] + [line.replace("Under investigation", "Local resolution") for line in lines[1:]]
    second = _write(tmp_path, "b.csv", ("\r\n".join(changed) + "\r\n").encode())
    result = ingest_one(con, "police-uk-street", second, settings=settings)
    assert result.replaced == 80
    assert count(con, "select count(*) from raw.incidents") == 80


def test_quoted_commas_truncated_last_line_swapped_pair_and_bad_month(tmp_path, settings):
    lines = head_lines(verified(*STREET, CITY), 20)
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    rows[1][6] = "On or near Cheapside, Poultry"
    rows[2][4], rows[2][5] = rows[2][5], rows[2][4]  # latitude in the Longitude column
    rows[3][1] = "2023-13"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    text = buffer.getvalue() + lines[5][:40]  # a last line cut off mid-record, no newline
    batch = read_street(_write(tmp_path, "bad.csv", text.encode()), settings=settings, options={})
    assert batch.rows_read == 21
    assert batch.rows_read == len(batch.rows) + batch.rejected_records
    assert batch.rejected_records == 3
    assert "On or near Cheapside, Poultry" in set(batch.rows["location_description"])
    reasons = dict(zip(batch.rejects["line"], batch.rejects["reason"], strict=True))
    assert "swapped" in reasons[3]
    assert reasons[4] == "not a month (YYYY-MM)"
    assert "truncated" in reasons[22]


def test_identical_asb_rows_get_numbered_keys(tmp_path, settings):
    header = head_lines(verified(*STREET, CITY), 0)[0]
    row = (
        ",2023-05,City of London Police,City of London Police,-0.09,51.51,On or near X,E01000001,City 001A,"
        "Anti-social behaviour,,"
    )
    batch = read_street(
        _write(tmp_path, "asb.csv", f"{header}\n{row}\n{row}\n".encode()), settings=settings, options={}
    )
    keys = list(batch.rows["incident_id"])
    assert keys[0].startswith("pu-") and keys[0].endswith("-1")
    assert keys[1] == keys[0][:-2] + "-2"


def test_repeated_crime_ids_and_blank_ids_keyed_in_file_order(tmp_path, settings):
    header = head_lines(verified(*STREET, CITY), 0)[0]
    tail = ",2023-05,City of London Police,City of London Police,-0.09,51.51,On or near {},E01000001,City 001A,{},,"
    body = [
        "abc123" + tail.format("X", "Drugs"),
        "" + tail.format("Y", "Anti-social behaviour"),
        "abc123" + tail.format("Z", "Drugs"),  # same ID, another place: a different key
        "unique9" + tail.format("X", "Drugs"),
        "abc123" + tail.format("X", "Drugs"),  # identical to the first row: numbered 2
        "" + tail.format("Y", "Anti-social behaviour"),
    ]
    batch = read_street(
        _write(tmp_path, "rep.csv", "\n".join([header, *body, ""]).encode()), settings=settings, options={}
    )
    keys = list(batch.rows["incident_id"])
    assert [k.split("#")[0] for k in keys[::2]] == ["abc123", "abc123", "abc123"]
    assert keys[0].endswith("-1") and keys[4] == keys[0][:-2] + "-2"
    assert keys[2] != keys[0] and keys[2].endswith("-1")
    assert keys[1].startswith("pu-") and keys[1].endswith("-1") and keys[5] == keys[1][:-2] + "-2"
    assert keys[3] == "unique9"
    assert len(keys[0].split("#")[1]) == len("0123456789abcdef0123-1")
    assert "3 row(s) share a Crime ID" in " ".join(batch.notes)


def test_lsoa_2021_vintage_from_june_2023(tmp_path, settings):
    lines = head_lines(verified(*STREET, CITY), 5)
    text = "\n".join([lines[0]] + [line.replace(",2023-05,", ",2023-06,") for line in lines[1:]]) + "\n"
    batch = read_street(_write(tmp_path, "2023-06.csv", text.encode()), settings=settings, options={})
    assert set(batch.rows["lsoa_vintage"].dropna()) == {"lsoa21"}


def test_missing_column_refuses_the_file(tmp_path, settings):
    lines = head_lines(verified(*STREET, CITY), 3)
    text = "\n".join(line.replace("Crime type", "Type of crime") for line in lines) + "\n"
    with pytest.raises(ValidationError, match="'Crime type' missing"):
        read_street(_write(tmp_path, "x.csv", text.encode()), settings=settings, options={})


def test_real_stop_search_utc_children_and_indicators(con, settings):
    result = ingest_one(con, "police-uk-stop-search", verified(*SEARCH), settings=settings)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (1_185, 1_185, 0)
    assert count(con, "select count(*) from raw.stop_searches where not located") == 24
    assert count(con, "select count(*) from raw.stop_searches where is_child") == 99
    assert count(con, "select count(*) from raw.stop_searches where exploitation_indicator") == 64
    assert count(con, "select count(*) from raw.stop_searches where exploitation_indicator and not is_child") == 0
    first = con.execute(
        "select min(occurred_at), any_value(force), any_value(time_precision) from raw.stop_searches"
    ).fetchone()
    assert str(first[0]) == "2025-05-31 23:45:00+00:00"
    assert first[1:] == ("cheshire", "minute")
    again = ingest_one(con, "police-uk-stop-search", verified(*SEARCH), settings=settings)
    assert again.skipped_same_file
    assert count(con, "select count(*) from raw.stop_searches") == 1_185


def test_stop_search_columns_by_name_and_swapped_values(tmp_path, settings):
    lines = head_lines(verified(*SEARCH), 10)
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    reordered = [[r[0], r[1], r[2], r[3], r[5], r[4], *r[6:]] for r in rows]  # Longitude before Latitude
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(reordered)
    a = read_stop_search(_write(tmp_path, "a.csv", buffer.getvalue().encode()), settings=settings, options={})
    b = read_stop_search(
        _write(tmp_path, "b.csv", ("\n".join(lines) + "\n").encode()), settings=settings, options={"force": "cheshire"}
    )
    assert list(a.rows["latitude"]) == list(b.rows["latitude"])
    rows[1][4], rows[1][5] = rows[1][5], rows[1][4]
    rows[2][1] = "2025-06-31T10:00:00+00:00"
    rows[3][13] = "Maybe"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    bad = read_stop_search(_write(tmp_path, "c.csv", buffer.getvalue().encode()), settings=settings, options={})
    assert bad.rejected_records == 3 and len(bad.rows) == 7
    assert set(bad.rejects["line"]) == {2, 3, 4}


def test_outcomes_reconcile_and_join_to_street_crimes(tmp_path, con, settings):
    path = verified(*OUTCOMES)
    result = ingest_one(con, "police-uk-outcomes", path, settings=settings)
    assert (result.rows_read, result.rows_loaded) == (15, 15)
    assert count(con, "select count(distinct outcome_id) from raw.police_outcomes") == 15
    assert count(con, "select count(*) from raw.police_outcomes where not located") == 4
    assert count(con, "select count(*) from raw.police_outcomes where match_status = 'unmatched'") == 15
    header = head_lines(verified(*STREET, CITY), 0)[0]
    crime = "bf0699ea01785a76096263cec2155d3e1c23ed5ec2759849f60a3ad9b962b5c0"
    street = (
        f"{header}\n{crime},2026-01,City of London Police,City of London Police,-0.089208,51.509744,"
        "On or near Angel Lane,E01032739,City of London 001F,Robbery,Under investigation,\n"
    )
    ingest_one(con, "police-uk-street", _write(tmp_path, "s.csv", street.encode()), settings=settings)
    assert (
        count(
            con, f"select count(*) from raw.police_outcomes where incident_id = '{crime}' and match_status = 'matched'"
        )
        == 2
    )
    assert link_outcomes(con) == 2
