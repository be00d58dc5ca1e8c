"""Tests for ctxrisk.pipelines.timeparse: ISO 8601, Europe/London local time, DST edges, precision."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ctxrisk.pipelines.timeparse import aware_times, parse_times


def parse(*values):
    utc, precision, invalid = parse_times(pd.Series(list(values), dtype="object"))
    return [None if pd.isna(t) else t.isoformat() for t in utc], list(precision), list(invalid)


def test_winter_and_summer_local_times_become_utc():
    utc, precision, _ = parse("2024-01-15T18:45:00", "2024-07-15 18:45")
    assert utc == ["2024-01-15T18:45:00+00:00", "2024-07-15T17:45:00+00:00"]
    assert precision == ["minute", "minute"]


def test_spring_forward_gap_moves_forward():
    # 01:30 on 31 March 2024 never happened in London: clocks went from 01:00 GMT to 02:00 BST.
    utc, _, invalid = parse("2024-03-31T01:30:00", "2024-03-31T00:59:00", "2024-03-31T02:00:00")
    assert utc == ["2024-03-31T01:00:00+00:00", "2024-03-31T00:59:00+00:00", "2024-03-31T01:00:00+00:00"]
    assert invalid == [False, False, False]


def test_autumn_repeated_hour_takes_first_reading():
    # 01:30 on 27 October 2024 happened twice; the first (BST) is 00:30 UTC.
    utc, _, _ = parse("2024-10-27 01:30", "2024-10-27 02:30")
    assert utc == ["2024-10-27T00:30:00+00:00", "2024-10-27T02:30:00+00:00"]


def test_offsets_are_respected():
    utc, _, _ = parse("2024-06-01T12:00:00+01:00", "2024-06-01T12:00:00Z", "2024-06-01T12:00:00-0500")
    assert utc == ["2024-06-01T11:00:00+00:00", "2024-06-01T12:00:00+00:00", "2024-06-01T17:00:00+00:00"]


def test_precision_of_dates_and_months():
    utc, precision, _ = parse("2024-06-01", "2024-06", "2024-01")
    assert precision == ["day", "month", "month"]
    assert utc == ["2024-05-31T23:00:00+00:00", "2024-05-31T23:00:00+00:00", "2024-01-01T00:00:00+00:00"]


def test_invalid_and_blank():
    utc, precision, invalid = parse("bad", "", None, "2024-13-01", "2024-02-30", "31/01/2024")
    assert utc == [None] * 6
    assert invalid == [True, False, False, True, True, True]
    assert all(p is None or pd.isna(p) for p in precision)


def test_aware_times_reads_offsets_as_utc():
    values = pa.array(
        [
            "2025-06-01T00:38:00+00:00",
            "2025-06-01T00:38:00+01:00",
            "2025-06-01 00:38Z",
            None,
            "2025-06-01T00:38:00-0130",
        ]
    )
    assert np.datetime_as_string(aware_times(values), unit="m").tolist() == [
        "2025-06-01T00:38",
        "2025-05-31T23:38",
        "2025-06-01T00:38",
        "NaT",
        "2025-06-01T02:08",
    ]


@pytest.mark.parametrize(
    "value",
    [
        "2025-06-01T00:38:00",
        "2025-06-01",
        "2025-02-30T00:00+00:00",
        "2025-06-01T24:00+00:00",
        "2025-06-01T00:38:00.1Z",
        "2025-06-01T00:38+2",
    ],
)
def test_aware_times_leave_other_columns_to_parse_times(value):
    assert aware_times(pa.array(["2025-06-01T00:38:00+00:00", value])) is None
