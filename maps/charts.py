"""Small dependency-free inline SVG charts (grouped bars, lines) with accessible titles, for self-contained reports.

A value of ``None`` is a suppressed number: it is never drawn at any height. A bar chart marks it with a short
label (``"<5"`` or ``"withheld"``, from ``gap_labels``) on the axis; a line chart breaks the line there. So a
chart never reveals more than the table beside it.
"""

from __future__ import annotations

import html
import logging
import math
import re
from collections.abc import Mapping, Sequence

from ctxrisk.pipelines.errors import ValidationError

__all__ = ["PALETTE", "bar_chart", "line_chart", "nice_ticks"]

logger = logging.getLogger(__name__)

#: Okabe-Ito colour-blind-safe palette (black dropped), in series order.
PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")

_FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif\""
_ID = re.compile(r"[^a-z0-9]+")


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def nice_ticks(top: float, *, count: int = 5) -> list[float]:
    """Round axis ticks from 0 to at least ``top`` (1, 2, 2.5 or 5 times a power of ten apart).

    Parameters
    ----------
    top : float
        Largest value to show (>= 0). A top of 0 gives ``[0, 1]``.
    count : int
        Rough number of intervals wanted (>= 1).
    """
    if count < 1:
        msg = f"count must be at least 1, got {count}"
        raise ValidationError(msg)
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    n = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _check(categories: Sequence[str], series: Mapping[str, Sequence[float | None]]) -> None:
    if not categories:
        msg = "a chart needs at least one category"
        raise ValidationError(msg)
    if not series:
        msg = "a chart needs at least one series"
        raise ValidationError(msg)
    for name, values in series.items():
        if len(values) != len(categories):
            msg = f"series {name!r} has {len(values)} values for {len(categories)} categories"
            raise ValidationError(msg)
        for v in values:
            if v is not None and (not math.isfinite(float(v)) or v < 0):
                msg = f"series {name!r}: values must be finite and >= 0 (or None when suppressed), got {v!r}"
                raise ValidationError(msg)


def _frame(chart_id: str, title: str, description: str, width: int, height: int) -> tuple[str, str]:
    ident = _ID.sub("-", chart_id.lower()).strip("-") or "chart"
    head = (
        f'<svg class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{ident}-title {ident}-desc" {_FONT} font-size="11">'
        f'<title id="{ident}-title">{_esc(title)}</title><desc id="{ident}-desc">{_esc(description)}</desc>'
        f'<text x="0" y="14" font-size="13" font-weight="600" fill="#222">{_esc(title)}</text>'
    )
    return head, "</svg>"


def _axis(ticks: list[float], left: int, right: int, top: int, bottom: int, unit: str) -> list[str]:
    parts = []
    span = ticks[-1] or 1.0
    for t in ticks:
        y = bottom - (bottom - top) * t / span
        parts.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 3.5:.1f}" text-anchor="end" fill="#555">{_fmt(t)}</text>')
    parts.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#888"/>')
    if unit:
        parts.append(f'<text x="{left}" y="{top - 6}" fill="#555">{_esc(unit)}</text>')
    return parts


def _legend(names: Sequence[str], colours: Sequence[str], x: int, y: int, width: int) -> tuple[list[str], int]:
    parts, cx, cy = [], x, y
    for name, colour in zip(names, colours, strict=True):
        w = 18 + 6.5 * len(name) + 14
        if cx + w > x + width and cx > x:
            cx, cy = x, cy + 16
        parts.append(f'<rect x="{cx:.0f}" y="{cy - 9}" width="11" height="11" fill="{colour}"/>')
        parts.append(f'<text x="{cx + 15:.0f}" y="{cy}" fill="#333">{_esc(name)}</text>')
        cx += w
    return parts, cy


def bar_chart(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    description: str,
    chart_id: str,
    unit: str = "",
    gap_labels: Mapping[tuple[str, int], str] | None = None,
    width: int = 640,
    height: int = 260,
    colours: Sequence[str] | None = None,
) -> str:
    """A grouped bar chart as an inline ``<svg>`` element.

    Parameters
    ----------
    categories : sequence of str
        Groups along the x axis (e.g. quarters, referral types).
    series : mapping of str to sequence of (float or None)
        One bar per series in each group, values >= 0. ``None`` (a suppressed count) draws no bar, only a
        small grey label on the axis.
    title : str
        Visible heading and the SVG ``<title>`` (read by screen readers).
    description : str
        SVG ``<desc>``: a sentence saying what the chart shows (plain English).
    chart_id : str
        Unique within the page; used for the ``aria-labelledby`` ids.
    unit : str
        Axis caption, e.g. ``"incidents"``.
    gap_labels : mapping of (series name, category index) to str, optional
        Text shown where a value is ``None`` (default ``"<5"``).
    width, height : int
        Size in CSS pixels.
    colours : sequence of str, optional
        One colour per series (default :data:`PALETTE`).

    Returns
    -------
    str
        SVG markup, with no script and no external reference.
    """
    _check(categories, series)
    names = list(series)
    colours = list(colours or PALETTE)
    if len(colours) < len(names):
        colours = [colours[i % len(colours)] for i in range(len(names))]
    gap_labels = dict(gap_labels or {})
    head, tail = _frame(chart_id, title, description, width, height)
    legend, legend_bottom = _legend(names, colours[: len(names)], 48, 34, width - 60) if len(names) > 1 else ([], 22)
    left, right, top, bottom = 48, width - 8, legend_bottom + 22, height - 34
    shown = [v for vals in series.values() for v in vals if v is not None]
    ticks = nice_ticks(max(shown, default=0))
    span = ticks[-1] or 1.0
    parts = [head, *legend, *_axis(ticks, left, right, top, bottom, unit)]
    group_w = (right - left) / len(categories)
    bar_w = max(2.0, min(28.0, group_w * 0.8 / len(names)))
    for i, cat in enumerate(categories):
        gx = left + group_w * i + (group_w - bar_w * len(names)) / 2
        for j, name in enumerate(names):
            value = series[name][i]
            x = gx + j * bar_w
            if value is None:
                label = gap_labels.get((name, i), "<5")
                parts.append(
                    f'<text x="{x + bar_w / 2:.1f}" y="{bottom - 3}" text-anchor="middle" font-size="8" '
                    f'fill="#777">{_esc(label)}</text>'
                )
                continue
            h = (bottom - top) * float(value) / span
            parts.append(
                f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                f'fill="{colours[j]}"><title>{_esc(name)}, {_esc(cat)}: {_fmt(value)}</title></rect>'
            )
        parts.append(
            f'<text x="{left + group_w * (i + 0.5):.1f}" y="{bottom + 14}" text-anchor="middle" fill="#333">'
            f"{_esc(cat)}</text>"
        )
    parts.append(tail)
    return "".join(parts)


def line_chart(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    description: str,
    chart_id: str,
    unit: str = "",
    width: int = 640,
    height: int = 280,
    colours: Sequence[str] | None = None,
) -> str:
    """A multi-series line chart as an inline ``<svg>`` element.

    Parameters
    ----------
    categories : sequence of str
        Points along the x axis, in time order (e.g. quarters).
    series : mapping of str to sequence of (float or None)
        Values >= 0; ``None`` (suppressed) breaks the line and draws no point.
    title, description, chart_id, unit, width, height, colours
        As for :func:`bar_chart`.

    Returns
    -------
    str
        SVG markup.
    """
    _check(categories, series)
    names = list(series)
    colours = list(colours or PALETTE)
    if len(colours) < len(names):
        colours = [colours[i % len(colours)] for i in range(len(names))]
    head, tail = _frame(chart_id, title, description, width, height)
    legend, legend_bottom = _legend(names, colours[: len(names)], 48, 34, width - 60)
    left, right, top, bottom = 48, width - 28, legend_bottom + 22, height - 34
    shown = [v for vals in series.values() for v in vals if v is not None]
    ticks = nice_ticks(max(shown, default=0))
    span = ticks[-1] or 1.0
    parts = [head, *legend, *_axis(ticks, left, right, top, bottom, unit)]
    n = len(categories)
    step = (right - left) / max(n - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + step * i if n > 1 else (left + right) / 2
        return x, bottom - (bottom - top) * float(v) / span

    for j, name in enumerate(names):
        runs: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(series[name]):
            if v is None:
                runs.append([])
            else:
                runs[-1].append(xy(i, v))
        for run in runs:
            if len(run) > 1:
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                parts.append(f'<polyline points="{pts}" fill="none" stroke="{colours[j]}" stroke-width="2"/>')
        for i, v in enumerate(series[name]):
            if v is None:
                continue
            x, y = xy(i, v)
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.8" fill="{colours[j]}">'
                f"<title>{_esc(name)}, {_esc(categories[i])}: {_fmt(v)}</title></circle>"
            )
    for i, cat in enumerate(categories):
        x = left + step * i if n > 1 else (left + right) / 2
        parts.append(f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle" fill="#333">{_esc(cat)}</text>')
    parts.append(tail)
    return "".join(parts)
