"""Tests for maps/charts.py: inline SVG bar and line charts, suppressed values drawn as gaps."""

from __future__ import annotations

import re

import pytest

from ctxrisk.maps.charts import bar_chart, line_chart, nice_ticks
from ctxrisk.maps.selfcontained import external_references
from ctxrisk.pipelines.errors import ValidationError


def test_nice_ticks():
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(754) == [0, 200, 400, 600, 800]
    assert nice_ticks(12) == [0, 2.5, 5, 7.5, 10, 12.5]


def test_bar_chart_is_accessible_and_draws_no_suppressed_bar():
    svg = bar_chart(
        ["NRM", "MACE"],
        {"2026Q2": [None, 9], "2026Q3": [12, None]},
        title="Referrals by type",
        description="Referrals in two quarters.",
        chart_id="ref chart",
        gap_labels={("2026Q3", 1): "withheld"},
    )
    assert svg.startswith('<svg class="chart" role="img"')
    assert 'aria-labelledby="ref-chart-title ref-chart-desc"' in svg
    assert '<title id="ref-chart-title">Referrals by type</title>' in svg
    assert len(re.findall(r"<rect [^>]*height", svg)) - 2 == 2  # two legend swatches, two bars
    assert ">&lt;5</text>" in svg and ">withheld</text>" in svg
    assert "<script" not in svg and external_references(f"<html><body>{svg}</body></html>") == []


def test_line_chart_breaks_at_suppressed_values():
    svg = line_chart(["Q1", "Q2", "Q3", "Q4"], {"CSE": [10, 20, None, 30]}, title="t", description="d", chart_id="c")
    assert svg.count("<polyline") == 1  # Q1-Q2 joined; Q4 stands alone
    assert svg.count("<circle") == 3 + 1  # three points and the legend sample


def test_bad_series_are_refused():
    with pytest.raises(ValidationError, match="2 values for 3 categories"):
        bar_chart(["a", "b", "c"], {"s": [1, 2]}, title="t", description="d", chart_id="x")
    with pytest.raises(ValidationError, match=">= 0"):
        line_chart(["a"], {"s": [-1]}, title="t", description="d", chart_id="x")
