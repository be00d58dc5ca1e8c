"""Property-based tests: malformed, oddly encoded, huge and injection-like files at every ingest kind.

For every canonical kind (``ctxrisk.pipelines.kinds.KINDS``) and every public format registered in
``ctxrisk.pipelines.sources.SOURCE_KINDS`` when the tests run, hypothesis writes files that are partly plausible (the
kind's own column names, dates, coordinates, enum values) and partly hostile (broken quoting, truncation,
Latin-1/UTF-16/CR-only files, NUL and control bytes, 100 kB fields, SQL and shell injection strings in IDs and
categories). Ingesting one must end in exactly one of two ways:

* a :class:`~ctxrisk.pipelines.errors.CtxriskError` with a message, and the warehouse exactly as before (no partial
  file load), or
* a result with ``rows_read == rows_loaded + rows_rejected`` whose loaded rows are exactly the rows stored
  under its ``file_id``, with no table created or dropped and a sentinel row untouched.

Anything else (another exception, a half-loaded file, a changed schema) fails the test.
Set ``CTXRISK_HYPOTHESIS_EXAMPLES`` to run more examples per kind (default 10) and
``CTXRISK_HYPOTHESIS_RANDOM=1`` to draw new examples instead of the fixed ones.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from ctxrisk.pipelines.errors import CtxriskError
from ctxrisk.pipelines.kinds import KINDS
from ctxrisk.pipelines.runner import ingest_one
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.sources import SOURCE_KINDS
from ctxrisk.pipelines.warehouse import connect

EXAMPLES = int(os.environ.get("CTXRISK_HYPOTHESIS_EXAMPLES", "10"))
# Fixed examples by default (the same ones on every CI run); CTXRISK_HYPOTHESIS_RANDOM=1 explores new ones.
DERANDOMIZE = os.environ.get("CTXRISK_HYPOTHESIS_RANDOM") != "1"
ALL_KINDS = [*KINDS, *SOURCE_KINDS]

INJECTION = [
    "'; drop table raw.incidents; --",
    "x' or '1'='1",
    'Robert"); DROP TABLE raw.persons;--',
    "1; delete from raw.ingest_files",
    "$(rm -rf /)",
    "`id`",
    "${jndi:ldap://example.invalid/a}",
    "<script>alert(1)</script>",
    "=cmd|' /C calc'!A0",
    "../../etc/passwd",
    "NULL",
    "null",
    "NaN",
    "-inf",
    "1e309",
    "0x1F",
    "\\",
    '"',
    "'",
    ",",
    ";",
    "\n",
    "\r\n",
    "\x00",
    "\x1b[31m",
    "\u202e",
    "\ufeff",
    "é",
    "😀",
    " ",
    "",
    "P1;P2;' or 1=1",
    "I:1/2#3",
]

# Public formats: their header names (from the readers' own column maps where they expose one).
SOURCE_HEADERS: dict[str, list[str]] = {
    "police-uk-street": [
        "Crime ID",
        "Month",
        "Reported by",
        "Falls within",
        "Longitude",
        "Latitude",
        "Location",
        "LSOA code",
        "LSOA name",
        "Crime type",
        "Last outcome category",
        "Context",
    ],
    "police-uk-outcomes": [
        "Crime ID",
        "Month",
        "Reported by",
        "Falls within",
        "Longitude",
        "Latitude",
        "Location",
        "LSOA code",
        "LSOA name",
        "Outcome type",
    ],
    "police-uk-stop-search": [
        "Type",
        "Date",
        "Part of a policing operation",
        "Policing operation",
        "Latitude",
        "Longitude",
        "Gender",
        "Age range",
        "Self-defined ethnicity",
        "Officer-defined ethnicity",
        "Legislation",
        "Object of search",
        "Outcome",
        "Outcome linked to object of search",
        "Removal of more than just outer clothing",
    ],
    "ssda903-missing": ["CHILD", "DOB", "MISSING", "MIS_START", "MIS_END", "SEX"],
    "annex-a": [
        "Child Unique ID",
        "Gender",
        "Date of birth",
        "Date started to be looked after",
        "Date ceased to be looked after",
        "Number of episodes child has been reported as 'missing' from placement in the last 12 months",
        "Number of episodes child has been reported as 'absent' from placement in the last 12 months",
        "Child offered a return interview after each missing episode",
        "Child accepted a return interview",
    ],
}
ENUM_VALUES = [
    "victim",
    "suspect",
    "incident",
    "missing",
    "intelligence",
    "knows",
    "family",
    "nrm",
    "mace",
    "pre_screen",
    "full",
    "low",
    "high",
    "female",
    "M",
    "F",
    "U",
    "1",
    "2",
    "A",
    "E",
    "P",
    "C",
    "yes",
    "N",
    "away",
    "cse",
    "county_lines",
    "Drugs",
    "Violence and sexual offences",
    "Under 10",
    "10-17",
    "M",
    "A",
    "a) Yes",
    "b) No",
    "Person search",
    "Arrest",
]


def _header_vocabulary(kind: str) -> list[str]:
    if kind in KINDS:
        return list(KINDS[kind].column_names)
    return SOURCE_HEADERS.get(kind, ["id", "date", "latitude", "longitude", "category", "person_id"])


def _value_for(column: str, draw) -> str:
    low = column.lower()
    if "lat" in low:
        return str(draw(st.one_of(st.floats(49.0, 61.5), st.floats(-95, 95), st.just(""))))
    if "lon" in low:
        return str(draw(st.one_of(st.floats(-9.0, 2.5), st.floats(-200, 200), st.just(""))))
    if "easting" in low or "northing" in low:
        return str(draw(st.one_of(st.integers(-10, 1_400_000), st.floats(allow_nan=True, allow_infinity=True))))
    if any(t in low for t in ("_at", "date", "month", "start", "end", "dob", "mis_", "birth")):
        day = draw(st.dates())
        fmt = draw(
            st.sampled_from(
                [
                    "%Y-%m-%d",
                    "%Y-%m-%dT%H:%M",
                    "%d/%m/%Y",
                    "%Y-%m",
                    "%Y-%m-%dT01:30:00",
                    "%Y-%m-%d %H:%M:%S+01:00",
                    "%Y-%m-%dT%H:%M:%SZ",
                    "%m/%d/%Y",
                    "%Y-%m-%d",
                ]
            )
        )
        try:
            return day.strftime(fmt)
        except ValueError:
            return day.isoformat()
    if low.endswith("_id") or low in (
        "child",
        "person_a",
        "person_b",
        "found_with",
        "persons",
        "crime id",
        "child unique id",
    ):
        return draw(
            st.one_of(
                st.from_regex(r"[A-Za-z0-9_.:\-]{1,70}", fullmatch=True),
                st.lists(st.from_regex(r"P[0-9]{1,3}", fullmatch=True), max_size=4).map(";".join),
            )
        )
    if "number of episodes" in low or low == "missing":
        return str(draw(st.one_of(st.integers(-3, 400), st.sampled_from(["M", "A", "x"]))))
    return draw(st.sampled_from(ENUM_VALUES))


@st.composite
def cell(draw, column: str) -> str:
    choice = draw(st.integers(0, 12))
    if choice <= 7:
        return _value_for(column, draw)
    if choice <= 9:
        return draw(st.sampled_from(INJECTION))
    if choice == 10:
        return draw(st.text(max_size=40))
    if choice == 11:
        return draw(st.sampled_from(["x", "é", "'", "\x00"])) * draw(st.integers(500, 70_000))
    return draw(st.from_regex(r"[A-Za-z0-9 ,\"'\n]{0,30}", fullmatch=True))


@st.composite
def table(draw, kind: str) -> tuple[list[str], list[list[str]]]:
    vocabulary = _header_vocabulary(kind)
    keep_all = draw(st.integers(0, 3)) > 0
    header = (
        list(vocabulary)
        if keep_all
        else draw(st.lists(st.sampled_from(vocabulary), min_size=1, max_size=len(vocabulary), unique=True))
    )
    header = draw(st.permutations(header))
    extra_names = st.sampled_from(
        [
            "notes",
            "first_name",
            "Postcode",
            "",
            " ",
            "incident_id",
            "DOB",
            "email",
            "x" * 300,
            "'; drop table raw.persons; --",
            "notes",
        ]
    )
    extra = draw(st.lists(extra_names, max_size=2)) if draw(st.integers(0, 3)) == 0 else []
    header = [*header, *extra]
    rows = draw(st.lists(st.lists(st.none(), min_size=len(header), max_size=len(header)), max_size=6))
    rows = [[draw(cell(h)) for h in header] for _ in rows]
    ragged = draw(st.integers(0, 3)) == 0
    if ragged and rows:
        index = draw(st.integers(0, len(rows) - 1))
        rows[index] = rows[index][: draw(st.integers(0, len(header)))] + draw(st.lists(st.just("extra"), max_size=2))
    return header, rows


@st.composite
def csv_file(draw, kind: str) -> tuple[str, bytes]:
    if draw(st.integers(0, 19)) == 0:
        return ".csv", draw(st.binary(max_size=3000))
    header, rows = draw(table(kind))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r", "\n"]))
    buffer = io.StringIO()
    if draw(st.booleans()):
        writer = csv.writer(
            buffer,
            lineterminator=newline,
            quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC])),
        )
        writer.writerow(header)
        writer.writerows(rows)
        text = buffer.getvalue()
    else:  # naive writers: no quoting at all
        text = newline.join(",".join(r) for r in [header, *rows]) + draw(st.sampled_from(["", newline]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    corruption = draw(st.integers(0, 9))
    if corruption == 0 and data:
        data = data[: draw(st.integers(0, len(data)))]
    elif corruption == 1:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=20)) + data[at:]
    elif corruption == 2:
        data = data.replace(b'"', b"", 1)
    return ".csv", data


def _parquet_bytes(header: list[str], rows: list[list[str]]) -> bytes | None:
    import pandas as pd

    names = [h for h in dict.fromkeys(header) if h]
    if not names:
        return None
    frame = pd.DataFrame({n: [r[i] if i < len(r) else None for r in rows] for i, n in enumerate(names)}, dtype="object")
    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer, index=False)
    except Exception:  # e.g. lone surrogates: then this example is a CSV one
        return None
    return buffer.getvalue()


@st.composite
def canonical_file(draw, kind: str) -> tuple[str, bytes]:
    if draw(st.integers(0, 6)) == 0:
        header, rows = draw(table(kind))
        data = _parquet_bytes(header, rows)
        if data is not None:
            if draw(st.integers(0, 4)) == 0:
                data = data[: draw(st.integers(0, len(data)))]
            return ".parquet", data
    return draw(csv_file(kind))


@st.composite
def geojson_file(draw) -> tuple[str, bytes]:
    if draw(st.integers(0, 9)) == 0:
        return ".geojson", draw(st.binary(max_size=2000))
    coordinate = st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=0, max_size=3)
    ring = st.lists(coordinate, max_size=6)
    good_ring = st.tuples(st.floats(-3, -1), st.floats(52, 54)).map(
        lambda p: [[p[0], p[1]], [p[0] + 0.01, p[1]], [p[0] + 0.01, p[1] + 0.01], [p[0], p[1]]]
    )
    geometry = st.one_of(
        st.none(),
        st.builds(lambda r: {"type": "Polygon", "coordinates": [r]}, good_ring),
        st.builds(lambda r: {"type": "Polygon", "coordinates": [r]}, ring),
        st.builds(lambda c: {"type": "Point", "coordinates": c}, coordinate),
        st.sampled_from([{"type": "Nonsense"}, {"type": "MultiPolygon", "coordinates": "x"}, "POLYGON", 7]),
    )
    prop_value = st.one_of(
        st.sampled_from(INJECTION),
        st.text(max_size=20),
        st.integers(),
        st.none(),
        st.from_regex(r"E0[0-9]{7}", fullmatch=True),
    )
    props = st.dictionaries(
        st.sampled_from(
            [
                "LSOA21CD",
                "LSOA21NM",
                "LSOA11CD",
                "MSOA11CD",
                "WD13CD",
                "LAD13CD",
                "name",
                "imd_decile",
                "IMD rank",
                "'; drop table x; --",
            ]
        ),
        prop_value,
        max_size=5,
    )
    features = st.lists(
        st.fixed_dictionaries({"type": st.just("Feature"), "properties": props, "geometry": geometry}), max_size=5
    )
    text = json.dumps({"type": "FeatureCollection", "features": draw(features)})
    data = text.encode("utf-8")
    if draw(st.integers(0, 5)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return ".geojson", data


@st.composite
def workbook_file(draw, kind: str) -> tuple[str, bytes]:
    if draw(st.integers(0, 5)) == 0:
        return ".xlsx", draw(st.binary(max_size=2000))
    from openpyxl import Workbook

    header, rows = draw(table(kind))
    book = Workbook()
    sheet = book.active
    sheet.title = draw(st.sampled_from(["List 8", "list 8", "List 7", "'; drop"]))
    for _ in range(draw(st.integers(0, 3))):
        sheet.append([draw(st.sampled_from(INJECTION[:10]))])

    def clean(value: str) -> str:
        # openpyxl refuses control characters; the reader sees what Excel could hold.
        return "".join(ch for ch in value if ch >= " " or ch in "\t\n\r")[:32_000]

    sheet.append([clean(h) for h in header])
    for row in rows:
        sheet.append([clean(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return ".xlsx", buffer.getvalue()


def file_strategy(kind: str):
    if kind == "boundaries":
        return geojson_file()
    if kind == "annex-a":
        return workbook_file(kind)
    if kind in KINDS:
        return canonical_file(kind)
    return csv_file(kind)


def options_strategy(kind: str):
    if kind == "boundaries":
        return st.fixed_dictionaries(
            {
                "level": st.sampled_from(
                    ["lsoa21", "lsoa11", "msoa", "ward", "lad", "nonsense", "'; drop table raw.boundaries; --"]
                )
            }
        )
    return st.just({})


# ---------------------------------------------------------------------------------------------------- checks


def _snapshot(con) -> dict[str, int]:
    tables = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_type = 'BASE TABLE' order by 1"
    ).fetchall()
    return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for (t,) in tables}


def _file_tables(con) -> list[str]:
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.columns "
        "where column_name = 'file_id' and table_schema = 'raw' "
        "and table_name not in ('ingest_files', 'rejected_rows') order by 1"
    ).fetchall()
    return [r[0] for r in rows]


EXTRA_TABLES = {"raw.ssda903_children"}
SENTINEL = ("SENTINEL-ROW", "partnership", "2020-01-01 00:00:00+00", "day", "sentinel", "other", False, "sentinel")


def _check_one(con, settings, kind: str, path: Path, options: dict, before: dict[str, int]) -> tuple[str, dict]:
    """Ingest one file and check the outcome; ``before`` is the warehouse's snapshot; return (outcome, after)."""
    try:
        result = ingest_one(con, kind, path, settings=settings, options=options)
    except CtxriskError as exc:
        assert str(exc).strip(), "an error needs a message"
        assert _snapshot(con) == before, f"a refused file changed the warehouse: {exc}"
        return "error", before
    after = _snapshot(con)
    assert set(after) == set(before), "tables were created or dropped"
    assert result.rows_read == result.rows_loaded + result.rows_rejected
    sentinel = con.execute(
        "select count(*) from raw.incidents where incident_id = 'SENTINEL-ROW' and category = 'sentinel'"
    ).fetchone()[0]
    assert sentinel == 1
    if result.skipped_same_file:
        assert after == before
        return "skipped", after
    assert after["raw.ingest_files"] == before["raw.ingest_files"] + 1
    stored = con.execute(
        "select rows_read, rows_loaded, rows_rejected from raw.ingest_files where file_id = ?", [result.file_id]
    ).fetchone()
    assert stored == (result.rows_read, result.rows_loaded, result.rows_rejected)
    held = {
        t: con.execute(f"select count(*) from {t} where file_id = ?", [result.file_id]).fetchone()[0]
        for t in _file_tables(con)
    }
    # A public format may also fill a second table of its own (``Batch.extra``: an SSDA903 XML return's header
    # children); those rows are not counted as loaded, but cannot outnumber the records read of a CSV.
    extra = {t: n for t, n in held.items() if kind not in KINDS and t in EXTRA_TABLES}
    assert all(n <= result.rows_read for n in extra.values()), extra
    main = sum(n for t, n in held.items() if t not in extra)
    assert main == result.rows_loaded, f"the loaded rows are not exactly the rows stored for the file: {held}"
    refused = con.execute("select count(*) from raw.rejected_rows where file_id = ?", [result.file_id]).fetchone()[0]
    assert refused >= result.rows_rejected
    return "loaded", after


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    folder = tmp_path_factory.mktemp("props")
    settings = load_settings(None, warehouse=folder / "props.duckdb")
    con = connect(settings=settings)
    con.execute(
        "insert into raw.incidents (incident_id, source, occurred_at, time_precision, category, theme, "
        "located, file_id) values (?, ?, ?, ?, ?, ?, ?, ?)",
        list(SENTINEL),
    )
    yield con, settings, folder
    con.close()


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_every_kind_errors_cleanly_or_loads_whole_files(kind: str, warehouse) -> None:
    con, settings, folder = warehouse
    outcomes: list[str] = []
    counter = iter(range(10**9))
    state = {"before": _snapshot(con)}

    @hsettings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=DERANDOMIZE,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    )
    @given(file=file_strategy(kind), options=options_strategy(kind))
    def check(file: tuple[str, bytes], options: dict) -> None:
        suffix, data = file
        path = folder / f"{kind}-{next(counter)}{suffix}"
        path.write_bytes(data)
        try:
            outcome, state["before"] = _check_one(con, settings, kind, path, options, state["before"])
        except BaseException:
            state["before"] = _snapshot(con)  # hypothesis replays and shrinks from the true state
            raise
        outcomes.append(outcome)

    check()
    assert outcomes  # the property ran
    assert "loaded" in outcomes or EXAMPLES < 10, outcomes  # the examples reach the loading code, not only errors


def test_injection_strings_are_stored_verbatim_as_data(warehouse) -> None:
    con, settings, folder = warehouse
    categories = ["'); drop table raw.persons; --", 'x" or "1"="1', "=cmd|' /C calc'!A0", "<script>x</script>"]
    path = folder / "injection.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["incident_id", "occurred_at", "latitude", "longitude", "category"])
        for i, category in enumerate(categories):
            writer.writerow([f"INJ:{i}/a#b", "2024-01-01", "53.1", "-2.4", category])
        writer.writerow(["INJ'; drop table raw.incidents; --", "2024-01-01", "53.1", "-2.4", "x"])
    result = ingest_one(con, "incidents", path, settings=settings)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5, 4, 1)
    stored = con.execute("select category from raw.incidents where incident_id like 'INJ:%' order by incident_id")
    assert [r[0] for r in stored.fetchall()] == categories
    reason = con.execute(
        "select column_name, reason from raw.rejected_rows where file_id = ?", [result.file_id]
    ).fetchone()
    assert reason[0] == "incident_id" and reason[1].startswith("invalid ID")
    assert con.execute("select count(*) from raw.persons").fetchone()[0] >= 0  # still there
