"""Tests for ctxrisk.pipelines.sources.common: helpers shared by the public-format readers."""

import numpy as np
import pandas as pd
import pytest

from ctxrisk.pipelines import arrowtext
from ctxrisk.pipelines.sources.common import repeated


def text(values):
    return pd.Series(values, dtype=pd.StringDtype("pyarrow"))


@pytest.mark.parametrize(
    "values",
    [
        ["a1b2c3d4e5f6a7b8", None, "a1b2c3d4e5f6a7b9", "a1b2c3d4e5f6a7b8", None, "ffffffffffffffff"],  # width 16
        ["abc", "abd", None, "abc", "abc"],  # width 3: no whole 8-byte word
        ["short", "longer one", "short", None],  # several widths: counted as text
    ],
)
def test_repeated_marks_every_row_of_a_value_seen_twice_never_a_blank(values):
    expected = [v is not None and values.count(v) > 1 for v in values]
    assert repeated(text(values)).tolist() == expected


def test_repeated_checks_fingerprint_matches_as_text(monkeypatch):
    # Every fingerprint the same: all rows are candidates, and only the text decides.
    monkeypatch.setattr(arrowtext, "_FINGERPRINT_MULTIPLIERS", np.zeros(64, dtype=np.uint64))
    values = ["id-0001", "id-0002", "id-0001", "id-0003"]
    assert repeated(text(values)).tolist() == [True, False, True, False]


def test_yes_no_reads_each_answer_with_its_prefix_and_marks_the_rest():
    from ctxrisk.pipelines.sources.common import yes_no

    values, bad = yes_no(text(["True", "a) Yes", "B) no", "N", "0", None, "maybe"]))
    assert values.tolist() == [True, True, False, False, False, pd.NA, pd.NA]
    assert bad.tolist() == [False, False, False, False, False, False, True]  # a blank is not an answer, nor bad
