"""Tests for maps/report_suppression.py: primary "<5", secondary suppression against differencing and bounds."""

from __future__ import annotations

import pytest

from ctxrisk.maps.report_suppression import PRIMARY, SECONDARY, SHOWN, protect
from ctxrisk.pipelines.errors import ValidationError


def test_primary_only_without_relations():
    p = protect({"a": 4, "b": 5, "c": 0}, threshold=5)
    assert [p.text(k) for k in "abc"] == ["<5", "5", "<5"]
    assert p.number("a") is None and p.number("b") == 5


def test_total_minus_parts_is_blocked_by_withholding_the_smallest_other_part():
    # 20 = 3 + 7 + 10: without protection the 3 is 20 - 7 - 10
    p = protect({"t": 20, "a": 3, "b": 7, "c": 10}, relations=[("t", ["a", "b", "c"])], threshold=5)
    assert p.status == {"t": SHOWN, "a": PRIMARY, "b": SECONDARY, "c": SHOWN}
    assert p.text("b") == "withheld"


def test_two_small_parts_protect_each_other():
    p = protect({"t": 20, "a": 2, "b": 3, "c": 15}, relations=[("t", ["a", "b", "c"])], threshold=5)
    assert p.suppressed == 2 and p.status["c"] == SHOWN


def test_bounds_disclosure_two_small_parts_of_eight_are_both_four():
    # a + b = 8 with both "<5" pins a = b = 4 although the relation alone leaves one free value
    p = protect({"t": 8, "a": 4, "b": 4}, relations=[("t", ["a", "b"])], threshold=5)
    assert p.status["t"] == SECONDARY


def test_zero_parts_of_a_shown_total_are_protected():
    # 12 = 5 + 7 + 0 + 0: both zeros would be pinned to 0
    p = protect({"t": 12, "a": 5, "b": 7, "z1": 0, "z2": 0}, relations=[("t", ["a", "b", "z1", "z2"])], threshold=5)
    assert p.status["z1"] == p.status["z2"] == PRIMARY
    assert sum(s == SECONDARY for s in p.status.values()) == 2


def test_hidden_complement_blocks_a_percentage():
    # 96 of 100 offered: the 4 not offered is small, so the offered count is withheld and no share is given
    p = protect({"den": 100, "num": 96, "rest": 4}, relations=[("den", ["num", "rest"])], hidden=["rest"], threshold=5)
    assert p.status == {"den": SHOWN, "num": SECONDARY, "rest": "hidden"}
    assert p.percent("num", "den") is None
    q = protect({"den": 100, "num": 60, "rest": 40}, relations=[("den", ["num", "rest"])], hidden=["rest"], threshold=5)
    assert q.percent("num", "den") == 60.0


def test_overlapping_windows_cannot_be_differenced():
    # windows W1 = s1 + s2 and W2 = s1 + s2 + s3: a small slice s3 must not be W2 - W1
    values = {"s1": 10, "s2": 9, "s3": 2, "w1": 19, "w2": 21}
    p = protect(values, relations=[("w1", ["s1", "s2"]), ("w2", ["s1", "s2", "s3"])], hidden=["s1", "s2", "s3"])
    assert SECONDARY in (p.status["w1"], p.status["w2"])


def test_threshold_setting_is_used():
    p = protect({"a": 9, "b": 10}, threshold=10)
    assert p.text("a") == "<10" and p.text("b") == "10"


def test_bad_inputs_are_refused():
    with pytest.raises(ValidationError, match="does not add up"):
        protect({"t": 5, "a": 1}, relations=[("t", ["a"])])
    with pytest.raises(ValidationError, match="whole numbers"):
        protect({"a": -1})
    with pytest.raises(ValidationError, match="no value"):
        protect({"t": 1}, relations=[("t", ["x"])])
    with pytest.raises(ValidationError, match="threshold"):
        protect({"a": 1}, threshold=0)


def test_returns_offered_completed_pattern():
    # returns 6 = offered 6 + not offered 0 = completed 4 + not completed 2 (the 2026 Q2 column of the tiny report)
    p = protect(
        {"r": 6, "o": 6, "n": 0, "c": 4, "m": 2},
        relations=[("r", ["o", "n"]), ("r", ["c", "m"])],
        hidden=["n", "m"],
        threshold=5,
    )
    assert p.status == {"r": SHOWN, "o": SECONDARY, "n": "hidden", "c": PRIMARY, "m": "hidden"}
