"""Attacks through file contents: identifiers in free text, NHS numbers as IDs, impossible dates, raw IDs beside
pseudonyms, a file without its header (issue 24 items 3, 4, 5, 8)."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from ctxrisk.pipelines.errors import CtxriskError, IdentifierError, ValidationError
from ctxrisk.pipelines.ingest import ingest_file
from ctxrisk.pipelines.kinds import KINDS
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.warehouse import connect

KEY = b"security-suite-key-4c1d9e7a2b6f0358-and-more"
IDENTIFIERS = ["SW1A 1AA", "943 476 5919", "9434765919", "jane.doe@example.org", "07700 900123", "+44 20 7946 0018"]
MARKUP = ["<img src=x onerror=alert(1)>", "[bold red]x[/]", "[/x]", '"><script>alert(1)</script>', "{{7*7}}"]
FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "=cmd|' /C calc'!A0"]


def _valid(column) -> str:
    by_name = {"risk_level": "high", "person_b": "P2"}
    if column.name in by_name:
        return by_name[column.name]
    values = {"key": "K1", "id": "P1", "idlist": "P1;P2", "time": "2024-03-01T10:00", "yearmonth": "2010-05"}
    if column.type == "enum":
        return column.allowed[0] if column.allowed else ""
    if column.type == "bool":
        return "true"
    return values.get(column.type, "cse")


def _csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _kind_file(kind_name: str, overrides: dict[str, str] | None = None, n: int = 1) -> str:
    kind = KINDS[kind_name]
    header = [c.name for c in kind.columns]
    if any(p.prefix == "" for p in kind.points):
        header += ["latitude", "longitude"]
    rows = []
    for i in range(n):
        row = {c.name: _valid(c) for c in kind.columns}
        for c in kind.columns:
            if c.type == "key":
                row[c.name] = f"K{i}"
        if kind_name in ("persons", "screenings", "referrals") and n > 1:
            row["person_id"] = f"P{i}"
        if kind_name == "associations":
            row["person_a"], row["person_b"] = f"PA{i}", f"PB{i}"
        row.update({"latitude": "51.51", "longitude": "-0.09"})
        rows.append([row[h] for h in header])
    text = _csv(header, rows)
    for name, value in (overrides or {}).items():
        kind_row = rows[0]
        kind_row[header.index(name)] = value
        text = _csv(header, rows)
    return text


def _stored_text(con) -> str:
    """Every text value in every raw and meta table, joined (what a thief of the warehouse file would read)."""
    parts = []
    tables = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema in ('raw', 'meta') and data_type in ('VARCHAR', 'VARCHAR[]')"
    ).fetchall()
    for schema, table, column in tables:
        values = con.execute(f"select string_agg(\"{column}\"::varchar, '|') from {schema}.{table}").fetchone()[0]
        parts.append(values or "")
    return "\n".join(parts)


@pytest.fixture()
def wh(tmp_path: Path):
    settings = load_settings(None, warehouse=tmp_path / "wh.duckdb")
    con = connect(settings=settings)
    yield con, settings, tmp_path
    con.close()


def _ingest(wh, kind: str, text: str, name: str = "f.csv", key: bytes | None = None):
    con, settings, folder = wh
    path = folder / name
    path.write_text(text)
    return ingest_file(con, kind, path, settings=settings, pseudonymise_key=key)


@pytest.mark.parametrize("value", IDENTIFIERS)
@pytest.mark.parametrize(
    ("kind", "column"),
    [("incidents", "category"), ("incidents", "location_type"), ("referrals", "outcome"), ("intelligence", "category")],
)
def test_an_identifier_in_free_text_rejects_the_row_and_is_stored_nowhere(wh, kind, column, value) -> None:
    text = _kind_file(kind, n=3)
    lines = text.splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index(column)] = f"seen with {value} today"
    lines[2] = ",".join(cells)
    result = _ingest(wh, kind, "\n".join(lines) + "\n")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    con = wh[0]
    reason, rule, stored = con.execute("select reason, rule, value from raw.rejected_rows").fetchone()
    assert rule == "identifier" and reason.startswith(f"identifier in {column}: holds") and stored is None
    assert value not in _stored_text(con)


def test_every_row_is_checked_not_a_sample(wh) -> None:
    text = _kind_file("incidents", n=5000)
    text = text.rstrip("\n") + "\nK_last,2024-03-01T10:00,cse,,SW1A 2AA,,51.5,-0.1\n"
    header = text.splitlines()[0].split(",")
    assert header[:5] == ["incident_id", "occurred_at", "category", "theme", "location_type"]
    result = _ingest(wh, "incidents", text)
    assert (result.rows_read, result.rows_rejected) == (5001, 1)
    assert "SW1A 2AA" not in _stored_text(wh[0])


def test_an_nhs_number_as_person_id_refuses_the_file_unless_pseudonymised(wh) -> None:
    text = "person_id,sex\nP1,F\n9434765919,M\n"
    with pytest.raises(IdentifierError, match=r"f.csv: line 3: refused, column 'person_id' holds a valid NHS"):
        _ingest(wh, "persons", text)
    assert "5919" not in _stored_text(wh[0])
    result = _ingest(wh, "persons", text, name="g.csv", key=KEY)
    assert (result.rows_loaded, result.rows_rejected) == (2, 0)
    assert "9434765919" not in _stored_text(wh[0])


def test_a_ten_digit_id_failing_the_check_digit_is_an_ordinary_id(wh) -> None:
    result = _ingest(wh, "persons", "person_id,sex\n9434765918,F\n")
    assert result.rows_loaded == 1


@pytest.mark.parametrize(
    ("occurred_at", "reason"),
    [
        ("1800-01-01", "before 1990-01-01"),
        ("0000-01-01", None),
        ("2200-06-01", "in the future"),
        ("1989-12-31T23:00", "before 1990-01-01"),
    ],
)
def test_implausible_event_times_reject_the_row(wh, occurred_at, reason) -> None:
    text = _kind_file("incidents", n=2, overrides={"occurred_at": occurred_at})
    result = _ingest(wh, "incidents", text)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    stored = wh[0].execute("select reason from raw.rejected_rows").fetchone()[0]
    if reason is not None:
        assert reason in stored
    assert wh[0].execute("select min(occurred_at) >= '1990-01-01' from raw.incidents").fetchone()[0]


@pytest.mark.parametrize(("birth", "reason"), [("2100-01", "in the future"), ("1890-05", "max_age_years")])
def test_implausible_births_reject_the_row(wh, birth, reason) -> None:
    result = _ingest(wh, "persons", f"person_id,birth_year_month\nP1,{birth}\nP2,2011-04\n")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    assert reason in wh[0].execute("select reason from raw.rejected_rows").fetchone()[0]


def test_the_plausible_window_is_configurable(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[plausibility]\nearliest = "1970-01-01"\nmax_age_years = 200\n')
    settings = load_settings(config, warehouse=tmp_path / "wh.duckdb")
    con = connect(settings=settings)
    try:
        path = tmp_path / "i.csv"
        path.write_text(_kind_file("incidents", overrides={"occurred_at": "1975-01-01"}))
        assert ingest_file(con, "incidents", path, settings=settings).rows_loaded == 1
    finally:
        con.close()
    config.write_text('[plausibility]\nearliest = "last year"\n')
    with pytest.raises(ValidationError, match=r"\[plausibility\] earliest must be an ISO date"):
        load_settings(config)


def test_rejected_rows_keep_no_raw_id_when_pseudonymising(wh) -> None:
    text = "person_id,sex\nRAWID-1,F\nRAWID-2,F,extra,fields\nRAWID-3,M\n"
    result = _ingest(wh, "persons", text, key=KEY)
    assert (result.rows_read, result.rows_loaded) == (3, 2)
    assert "RAWID" not in _stored_text(wh[0])
    reasons = [r[0] for r in wh[0].execute("select reason from raw.rejected_rows").fetchall()]
    assert any("value not kept" in r for r in reasons)


def test_the_other_pseudonymisation_mode_is_refused(wh) -> None:
    _ingest(wh, "persons", "person_id,sex\nA1,F\n", key=KEY)
    with pytest.raises(
        ValidationError, match="stores person IDs pseudonymised and this ingest would store them as-given"
    ):
        _ingest(wh, "persons", "person_id,sex\nB1,F\n", name="b.csv")
    assert "B1" not in _stored_text(wh[0])
    # Public data without person IDs is not concerned.
    assert _ingest(wh, "incidents", _kind_file("incidents"), name="i.csv").rows_loaded == 1


def test_the_other_mode_is_refused_the_other_way_round(wh) -> None:
    _ingest(wh, "screenings", _kind_file("screenings"))
    with pytest.raises(ValidationError, match="as-given and this ingest would store them pseudonymised"):
        _ingest(wh, "persons", "person_id,sex\nB1,F\n", name="b.csv", key=KEY)


HEADERLESS = "P1,Jane Doe,2012-03-04,SW1A 1AA,9434765919\nP2,John Roe,2013-04-05,M1 1AE,4010232137\n"


def test_a_file_without_header_is_not_quoted_in_errors_logs_or_reasons(tmp_path: Path, monkeypatch, caplog) -> None:
    from ctxrisk.jobs import run as jobs

    real = jobs.run_job  # the steps after the ingest steps: none in these tests
    monkeypatch.setattr(jobs, "run_job", lambda settings, **kw: real(settings, **{"steps": [], **kw}))
    (tmp_path / "drop" / "persons").mkdir(parents=True)
    (tmp_path / "drop" / "persons" / "export.csv").write_text(HEADERLESS)
    config = tmp_path / "c.toml"
    config.write_text(
        '[paths]\nwarehouse = "wh.duckdb"\noutput_dir = "out"\ndrop_dirs = { persons = "drop/persons" }\n'
    )
    settings = load_settings(config)
    with caplog.at_level(logging.DEBUG):
        summary = jobs.run_job(settings)
    assert [f.status for f in summary.files] == ["quarantined"]
    reason = (tmp_path / "drop" / "persons" / "quarantine" / "export.csv.reason.txt").read_text()
    con = connect(settings=settings)
    stored = _stored_text(con)
    con.close()
    assert "header line missing" in reason
    for secret in ("Jane", "2012-03-04", "SW1A", "9434765919", "P1"):
        assert secret not in reason and secret not in caplog.text and secret not in stored, secret


@pytest.mark.parametrize(
    "column",
    [
        "ChildName",
        "DateOfBirth",
        "patient_name",
        "victim_name",
        "young_person_name",
        "address1",
        "addr",
        "zipcode",
        "pcode",
        "emailaddress",
        "alias",
        "known_as",
    ],
)
def test_identifier_column_names_are_refused_by_ingest(wh, column) -> None:
    with pytest.raises(IdentifierError, match=rf"column '{column}': "):
        _ingest(wh, "persons", f"person_id,sex,{column}\nP1,F,x\n")


def test_identifier_column_names_are_found_by_check_pii(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ctxrisk.cli.main import app

    columns = [
        "ChildName",
        "DateOfBirth",
        "patient_name",
        "victim_name",
        "young_person_name",
        "address1",
        "addr",
        "zipcode",
        "pcode",
        "emailaddress",
        "alias",
        "known_as",
    ]
    path = tmp_path / "f.csv"
    path.write_text(",".join(["person_id", *columns]) + "\n" + ",".join(["P1"] + ["x"] * len(columns)) + "\n")
    result = CliRunner().invoke(app, ["check-pii", str(path), "--format", "json"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    import json

    assert sorted(f["column"] for f in json.loads(result.stdout)) == sorted(columns)


# --------------------------------------------------------------------------------------------------------------
# Properties: markup, formulas and identifiers in every text column of every canonical kind.

TEXT_TYPES = ("text", "key", "id")
CHUNKS = [*"<>\"'=+-@[]/{}&;%\t \\", "a", "1", "SW1A 1AA", "=1+1", "[/x]", "<b>", "@x.org"]
PAYLOADS = st.sampled_from(IDENTIFIERS + MARKUP + FORMULAS) | st.lists(
    st.sampled_from(CHUNKS), min_size=1, max_size=6
).map("".join)
SLOTS = [(k, c.name) for k, kind in KINDS.items() for c in kind.columns if c.type in TEXT_TYPES]


@pytest.mark.parametrize(("kind", "column"), SLOTS)
def test_payloads_in_any_text_column_are_refused_cleanly_or_stored_as_data(tmp_path: Path, kind, column) -> None:
    settings = load_settings(None, warehouse=tmp_path / "p.duckdb")
    con = connect(settings=settings)
    counter = iter(range(10**6))

    @hsettings(
        max_examples=12,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(payload=PAYLOADS, pseudonymise=st.booleans())
    def check(payload: str, pseudonymise: bool) -> None:
        path = tmp_path / f"{next(counter)}.csv"
        path.write_text(_kind_file(kind, n=2, overrides={column: payload}))
        key = KEY if pseudonymise else None
        try:
            result = ingest_file(con, kind, path, settings=settings, pseudonymise_key=key)
        except CtxriskError as exc:
            assert payload.strip() not in str(exc) or payload.strip() in ("", "a", "1") or payload in MARKUP + FORMULAS
            return
        assert result.rows_read == result.rows_loaded + result.rows_rejected
        stored = _stored_text(con)
        if payload.strip() in IDENTIFIERS and column not in KINDS[kind].key:
            assert payload.strip() not in stored
        if payload in MARKUP and result.rows_loaded == 2:  # markup is data: stored as written, escaped on output
            assert payload in stored

    try:
        check()
    finally:
        con.close()


STREET_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
    "Last outcome category,Context"
)
STREET_TEXT = ["Reported by", "Falls within", "Location", "LSOA name", "Crime type", "Last outcome category", "Context"]


STOP_HEADER = (
    "Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,Gender,Age range,"
    "Self-defined ethnicity,Officer-defined ethnicity,Legislation,Object of search,Outcome,"
    "Outcome linked to object of search,Removal of more than just outer clothing"
)
STOP_BASE = [
    "Person search",
    "2025-05-31T23:45:00+00:00",
    "",
    "",
    "53.3715",
    "-2.5840",
    "Male",
    "10-17",
    "White",
    "White",
    "Misuse of Drugs Act 1971 (section 23)",
    "Controlled drugs",
    "A no further action disposal",
    "False",
    "False",
]
STOP_TEXT = ["Type", "Policing operation", "Self-defined ethnicity", "Legislation", "Object of search", "Outcome"]
OUTCOME_HEADER = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Outcome type"
OUTCOME_BASE = [
    "331ab57909c66f7cd31bce33ddbdc542ac2d88410c0f8451a9ebd846f223c75f",
    "2026-02",
    "City of London Police",
    "City of London Police",
    "-0.0860",
    "51.5136",
    "On or near Finch Lane",
    "E01032739",
    "City of London 001F",
    "Under investigation",
]
OUTCOME_TEXT = ["Location", "LSOA name", "Outcome type"]


@pytest.mark.parametrize(
    ("kind", "header_text", "base", "column"),
    [("police-uk-stop-search", STOP_HEADER, STOP_BASE, c) for c in STOP_TEXT]
    + [("police-uk-outcomes", OUTCOME_HEADER, OUTCOME_BASE, c) for c in OUTCOME_TEXT],
)
def test_payloads_in_other_police_uk_formats(tmp_path: Path, kind, header_text, base, column) -> None:
    from ctxrisk.pipelines.runner import ingest_one

    settings = load_settings(None, warehouse=tmp_path / "p.duckdb")
    con = connect(settings=settings)
    header = header_text.split(",")
    counter = iter(range(10**6))
    second = list(base)
    if kind == "police-uk-outcomes":
        second[0] = "0" * 64

    @hsettings(
        max_examples=8,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(payload=PAYLOADS)
    def check(payload: str) -> None:
        row = list(base)
        row[header.index(column)] = payload
        path = tmp_path / f"{next(counter)}-{kind}.csv"
        path.write_text(_csv(header, [row, second]))
        try:
            result = ingest_one(con, kind, path, settings=settings)
        except CtxriskError:
            return
        assert result.rows_read == result.rows_loaded + result.rows_rejected
        if payload.strip() in IDENTIFIERS:
            assert payload.strip() not in _stored_text(con)

    try:
        check()
    finally:
        con.close()


@pytest.mark.parametrize("column", STREET_TEXT)
def test_payloads_in_police_uk_text_columns_are_refused_cleanly_or_stored_as_data(tmp_path: Path, column) -> None:
    from ctxrisk.pipelines.runner import ingest_one

    settings = load_settings(None, warehouse=tmp_path / "p.duckdb")
    con = connect(settings=settings)
    header = STREET_HEADER.split(",")
    base = [
        "",
        "2023-05",
        "City of London Police",
        "City of London Police",
        "-0.1076",
        "51.5177",
        "On or near B521",
        "E01000917",
        "Camden 027C",
        "Bicycle theft",
        "Under investigation",
        "",
    ]
    counter = iter(range(10**6))

    @hsettings(
        max_examples=10,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(payload=PAYLOADS)
    def check(payload: str) -> None:
        row = list(base)
        row[header.index(column)] = payload
        path = tmp_path / f"{next(counter)}-street.csv"
        path.write_text(_csv(header, [row, base]))
        try:
            result = ingest_one(con, "police-uk-street", path, settings=settings)
        except CtxriskError:
            return
        assert result.rows_read == result.rows_loaded + result.rows_rejected
        if payload.strip() in IDENTIFIERS:
            assert payload.strip() not in _stored_text(con)

    try:
        check()
    finally:
        con.close()


def test_an_identifier_in_a_police_uk_location_rejects_the_row(tmp_path: Path) -> None:
    from ctxrisk.pipelines.runner import ingest_one

    settings = load_settings(None, warehouse=tmp_path / "p.duckdb")
    con = connect(settings=settings)
    path = tmp_path / "2023-05-street.csv"
    good = ",2023-05,City of London Police,City of London Police,-0.1076,51.5177,On or near B521,E01000917,Camden 027C,"
    path.write_text(
        STREET_HEADER + "\n" + good + "Bicycle theft,,\n" + good.replace("B521", "EC1A 1BB") + "Burglary,,\n"
    )
    try:
        result = ingest_one(con, "police-uk-street", path, settings=settings)
        assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
        assert "EC1A 1BB" not in _stored_text(con)
    finally:
        con.close()


def test_a_warehouse_filled_before_the_mode_was_recorded_keeps_its_mode(wh) -> None:
    _ingest(wh, "persons", "person_id,sex\nA1,F\n", key=KEY)
    wh[0].execute("delete from meta.pseudonymisation")  # as a warehouse of an earlier ctxrisk
    with pytest.raises(ValidationError, match="stores person IDs pseudonymised"):
        _ingest(wh, "screenings", _kind_file("screenings"), name="s.csv")
    assert _ingest(wh, "persons", "person_id,sex\nB2,F\n", name="p2.csv", key=KEY).rows_loaded == 1
    assert wh[0].execute("select mode from meta.pseudonymisation").fetchall() == [("pseudonymised",)]
