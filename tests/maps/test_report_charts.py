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
    assert svg.startswith('<div class="chart-frame" tabindex="0"') and '><svg class="chart" role="img"' in svg
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


# Machado, Oliveira and Fernandes (2009), severity 1.0, applied to linear RGB.
_DEUTERANOPIA = ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881))
_PROTANOPIA = ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998))


def _lab(hex_colour: str, matrix=None) -> tuple[float, float, float]:
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    if matrix is not None:
        lin = [min(1.0, max(0.0, sum(m * c for m, c in zip(row, lin, strict=True)))) for row in matrix]
    r, g, b = lin
    xyz = (
        (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
        0.2126 * r + 0.7152 * g + 0.0722 * b,
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
    )
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def _delta_e(a: str, b: str, matrix=None) -> float:
    return sum((x - y) ** 2 for x, y in zip(_lab(a, matrix), _lab(b, matrix), strict=True)) ** 0.5


def test_county_lines_and_modern_slavery_stay_apart_under_colour_vision_deficiency():
    from ctxrisk.maps.charts import THEME_STYLES

    cl, ms = THEME_STYLES["county_lines"], THEME_STYLES["modern_slavery"]
    for matrix in (None, _DEUTERANOPIA, _PROTANOPIA):
        assert _delta_e(cl.colour, ms.colour, matrix) > 40
    # the simulation itself tells a confusable pair (red and green) from this one
    assert _delta_e("#D55E00", "#009E73", _DEUTERANOPIA) < _delta_e(cl.colour, ms.colour, _DEUTERANOPIA) / 2
    # and never by colour alone: every theme has its own dash and its own marker
    styles = list(THEME_STYLES.values())
    assert len({s.dash for s in styles}) == len(styles) and len({s.marker for s in styles}) == len(styles)


def test_line_chart_labels_each_line_at_its_end_with_its_own_marker_and_dash():
    from ctxrisk.maps.charts import series_style

    svg = line_chart(
        ["2026Q1", "2026Q2", "2026Q3"],
        {"County lines": [12, 14, None], "Modern slavery": [13, 15, 9], "Child sexual exploitation": [None] * 3},
        title="t",
        description="d",
        chart_id="c",
        styles=[series_style("county_lines"), series_style("modern_slavery"), series_style("cse")],
    )
    # direct labels for the lines drawn (a series with no published value has no line to label)
    assert re.findall(r'<text class="end"[^>]*>([^<]*)</text>', svg) == ["County lines", "Modern slavery"]
    assert 'stroke="#0072B2" stroke-width="2"/>' in svg  # county lines: solid
    assert 'stroke="#D55E00" stroke-width="2" stroke-dasharray="7 4"/>' in svg  # modern slavery: dashed
    assert len(re.findall(r'<g class="pt"><title>County lines[^<]*</title><circle', svg)) == 2
    assert len(re.findall(r'<g class="pt"><title>Modern slavery[^<]*</title><rect', svg)) == 3
    # the label of county lines sits at its last published point (2026Q2: 14), not at the hidden 2026Q3
    end = re.search(r'<line x1="([\d.]+)" x2="[\d.]+" y1="([\d.]+)"[^>]*/><text class="end"[^>]*>County lines', svg)
    point = re.search(r"<title>County lines, 2026Q2: 14</title><circle cx=\"([\d.]+)\" cy=\"([\d.]+)\"", svg)
    assert abs(float(end.group(1)) - 5 - float(point.group(1))) < 0.1 and end.group(2) == point.group(2)


def test_bar_chart_wraps_long_category_labels():
    svg = bar_chart(
        ["Interview completed within 72 hours", "Returns"],
        {"a": [10, 20]},
        title="t",
        description="d",
        chart_id="b",
        width=300,
    )
    first = re.search(r'<text class="cat"[^>]*>(.*?)</text>', svg).group(1)
    assert first.count("<tspan") == 2
