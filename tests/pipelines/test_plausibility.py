"""Tests for ctxrisk.pipelines.plausibility and ctxrisk.pipelines.rowchecks: literal windows and rejections."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctxrisk.pipelines.errors import IdentifierError
from ctxrisk.pipelines.ingest import RejectCollector
from ctxrisk.pipelines.plausibility import DateWindow, implausible_dates
from ctxrisk.pipelines.rowchecks import check_person_ids, check_rows
from ctxrisk.pipelines.settings import PlausibilitySettings

TODAY = date(2025, 6, 15)


def test_the_default_window() -> None:
    window = DateWindow.from_settings(today=TODAY)
    assert window.earliest == pd.Timestamp("1990-01-01", tz="UTC")
    assert window.latest == pd.Timestamp("2025-06-16", tz="UTC")
    assert (window.birth_earliest, window.birth_latest) == ("1915-06", "2025-06")


def test_a_configured_window() -> None:
    settings = PlausibilitySettings(earliest="2000-01-01", latest="2030-01-01", max_age_years=25)
    window = DateWindow.from_settings(settings, today=TODAY)
    assert (window.earliest.year, window.latest.year, window.birth_earliest) == (2000, 2030, "2000-06")


def test_implausible_dates_flag_exactly_the_rows_outside() -> None:
    rows = pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(
                ["1989-12-31 23:59", "1990-01-01", "2025-06-15 23:00", "2025-06-16", None], utc=True, format="ISO8601"
            ),
            "birth_year_month": ["1915-05", "1915-06", "2025-06", "2025-07", None],
        }
    )
    found = {
        column: (mask.tolist(), list(reasons[mask]))
        for mask, column, _v, reasons in implausible_dates(rows, DateWindow.from_settings(today=TODAY))
    }
    assert found["occurred_at"][0] == [True, False, False, True, False]
    assert found["occurred_at"][1][0].startswith("implausible date: before 1990-01-01")
    assert "in the future" in found["occurred_at"][1][1]
    assert found["birth_year_month"][0] == [True, False, False, True, False]
    assert found["birth_year_month"][1] == [
        "implausible birth: before 1915-06 ([plausibility] max_age_years)",
        "implausible birth: in the future",
    ]


def test_check_rows_rejects_identifiers_and_dates_once_per_row() -> None:
    rows = pd.DataFrame(
        {
            "incident_id": ["A", "B", "C", "D"],
            "category": ["cse", "near SW1A 1AA", "mail a@b.org", "cse"],
            "location_type": ["street", "07700 900123", "street", "street"],
            "occurred_at": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-01", "1800-01-01"], utc=True),
        }
    )
    collector = RejectCollector(4)
    refused = check_rows(
        "incidents", rows, collector, key=("incident_id",), window=DateWindow.from_settings(today=TODAY)
    )
    assert refused == 3
    assert collector.bad.tolist() == [False, True, True, True]
    frame = collector.frame(np.array([2, 3, 4, 5]))
    assert frame[["line", "column_name", "rule"]].values.tolist() == [
        [3, "category", "identifier"],
        [4, "category", "identifier"],
        [5, "occurred_at", "plausible-date"],
    ]
    assert frame["value"].iloc[:2].isna().all()  # identifiers are not kept
    assert frame["reason"].iloc[0] == "identifier in category: holds what looks like a full postcode (value not kept)"


def test_boundaries_are_not_checked_for_identifiers() -> None:
    rows = pd.DataFrame({"name": ["SW1A 1AA"]})
    collector = RejectCollector(1)
    assert check_rows("boundaries", rows, collector) == 0


@pytest.mark.parametrize(
    ("ids", "reason"),
    [
        (["P1", "9434765919"], r"holds a valid NHS number \(modulus 11\)"),
        (["P1", "x@y.org"], "holds what looks like an e-mail address"),
        ([["P2"], ["P1", "9434765919"]], r"holds a valid NHS number \(modulus 11\)"),
    ],
)
def test_person_ids_that_identify_refuse_the_file(ids, reason) -> None:
    rows = pd.DataFrame({"person_id" if not isinstance(ids[0], list) else "found_with": ids})
    with pytest.raises(IdentifierError, match=rf"f.csv: line 3: refused, column '\w+' {reason} in 1 row\(s\)"):
        check_person_ids("persons", rows, np.array([2, 3]), Path("f.csv"))


def test_ordinary_person_ids_pass() -> None:
    # 0123456789 passes the modulus-11 check, but inside a pseudonym's hex it is not an NHS number.
    rows = pd.DataFrame({"person_id": ["P1", "9434765918", "p_0123456789abcdef", "p_abcdef0123456789"]})
    check_person_ids("persons", rows, np.array([2, 3, 4, 5]), Path("f.csv"))


def test_no_pseudonym_is_ever_taken_for_an_identifier() -> None:
    from ctxrisk.pipelines.identifiers import identifier_in_values
    from ctxrisk.pipelines.pseudonymise import pseudonym

    key = b"plausibility-test-key-0123456789abcdef"
    values = [pseudonym(f"P{i}", key) for i in range(20_000)]
    assert [v for v, r in zip(values, identifier_in_values(values), strict=True) if r is not None] == []
