"""Small dependency-free inline SVG charts (grouped bars, lines) with accessible titles, for self-contained reports.

A value of ``None`` is a suppressed number: it is never drawn at any height. A bar chart marks it with a short
label (``"<5"``, ``"withheld"`` or ``"no data"``, from ``gap_labels``) standing upright on the axis; a line chart
breaks the line there. The axis is scaled to the drawn values only. So a chart never reveals more than the table
beside it.

Lines never rely on colour alone: each series has its own marker shape and dash pattern (:func:`series_style`)
and is labelled directly at its last drawn point. Category labels wrap onto two lines so they do not overlap.
"""

from __future__ import annotations

import html
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ctxrisk.pipelines.errors import ValidationError

__all__ = ["PALETTE", "SeriesStyle", "bar_chart", "line_chart", "nice_ticks", "series_style"]

logger = logging.getLogger(__name__)

#: Okabe-Ito colour-blind-safe palette (black dropped), in series order.
PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")

#: Text colour of gap labels and axis text (7:1 on white, WCAG AA at any size).
GAP_INK = "#595959"
_MARKERS = ("circle", "square", "triangle", "diamond", "cross", "bar")
_DASHES = ("", "7 4", "2 3", "9 3 2 3", "4 2", "12 4")


@dataclass(frozen=True)
class SeriesStyle:
    """How one line is drawn: ``colour``, SVG ``dash`` pattern (``""`` solid) and ``marker`` shape."""

    colour: str
    dash: str
    marker: str


#: Fixed styles of the report's themes, so a theme looks the same in every chart. County lines (blue, solid,
#: circles) and modern slavery (orange, dashed, squares) differ in hue for every colour vision, in dash and in
#: marker.
THEME_STYLES: dict[str, SeriesStyle] = {
    "county_lines": SeriesStyle("#0072B2", "", "circle"),
    "modern_slavery": SeriesStyle("#D55E00", "7 4", "square"),
    "cse": SeriesStyle("#CC79A7", "2 3", "triangle"),
    "cce": SeriesStyle("#009E73", "9 3 2 3", "diamond"),
    "serious_violence": SeriesStyle("#000000", "4 2", "cross"),
    "missing": SeriesStyle("#56B4E9", "12 4", "bar"),
}


def series_style(name: str, index: int = 0) -> SeriesStyle:
    """The style of a theme (:data:`THEME_STYLES`), or the ``index``-th of the palette, dashes and markers."""
    if name in THEME_STYLES:
        return THEME_STYLES[name]
    return SeriesStyle(PALETTE[index % len(PALETTE)], _DASHES[index % len(_DASHES)], _MARKERS[index % len(_MARKERS)])


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
    # on a phone the chart keeps its size and scrolls sideways in its frame (shrunk to fit 390 px, its
    # 11 px labels were 5 px high); the frame takes focus so that a keyboard can scroll it too
    head = (
        f'<div class="chart-frame" tabindex="0" role="group" aria-labelledby="{ident}-title">'
        f'<svg class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{ident}-title {ident}-desc" {_FONT} font-size="11">'
        f'<title id="{ident}-title">{_esc(title)}</title><desc id="{ident}-desc">{_esc(description)}</desc>'
        f'<text x="0" y="14" font-size="13" font-weight="600" fill="#222">{_esc(title)}</text>'
    )
    return head, "</svg></div>"


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


def _text_width(text: str, size: float = 11) -> float:
    """Rough width in pixels of ``text`` in the chart font (about 0.56 em per character)."""
    return 0.56 * size * len(text)


def _wrap(text: str, width: float, size: float = 11) -> list[str]:
    """Split a label into at most two lines that fit ``width`` pixels where the words allow."""
    if _text_width(text, size) <= width or " " not in text:
        return [text]
    words = text.split(" ")
    best = [text]
    best_w = math.inf
    for k in range(1, len(words)):
        lines = [" ".join(words[:k]), " ".join(words[k:])]
        w = max(_text_width(line, size) for line in lines)
        if w < best_w:
            best, best_w = lines, w
    return best


def _category_labels(categories: Sequence[str], xs: Sequence[float], width: float, y: float) -> list[str]:
    parts = []
    for cat, x in zip(categories, xs, strict=True):
        lines = _wrap(str(cat), width)
        size = (
            11
            if all(_text_width(line) <= width for line in lines)
            else max(8, int(11 * width / max(_text_width(line) for line in lines)))
        )
        spans = "".join(
            f'<tspan x="{x:.1f}" dy="{0 if k == 0 else size + 2}">{_esc(line)}</tspan>' for k, line in enumerate(lines)
        )
        parts.append(
            f'<text class="cat" x="{x:.1f}" y="{y}" text-anchor="middle" font-size="{size}" fill="#333">{spans}</text>'
        )
    return parts


def _marker(shape: str, x: float, y: float, colour: str, title: str = "") -> str:
    tip = f"<title>{_esc(title)}</title>" if title else ""
    if shape == "square":
        mark = f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{colour}"/>'
    elif shape in ("triangle", "diamond", "cross"):
        points = {
            "triangle": ((0, -4.5), (4.5, 3.5), (-4.5, 3.5)),
            "diamond": ((0, -5), (5, 0), (0, 5), (-5, 0)),
            "cross": ((-4, -4), (4, 4), (-4, 4), (4, -4)),
        }[shape]
        path = "".join(
            f"{'M' if k == 0 or (shape == 'cross' and k == 2) else 'L'}{x + dx:.1f} {y + dy:.1f}"
            for k, (dx, dy) in enumerate(points)
        )
        paint = f'stroke="{colour}" stroke-width="2.2"' if shape == "cross" else f'fill="{colour}"'
        mark = f'<path d="{path}{"" if shape == "cross" else "Z"}" {paint}/>'
    elif shape == "bar":
        mark = f'<rect x="{x - 5:.1f}" y="{y - 2:.1f}" width="10" height="4" fill="{colour}"/>'
    else:
        mark = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.8" fill="{colour}"/>'
    return f'<g class="pt">{tip}{mark}</g>' if tip else mark


def _legend(
    names: Sequence[str], styles: Sequence[SeriesStyle], x: int, y: int, width: int, *, lines: bool = False
) -> tuple[list[str], int]:
    parts, cx, cy = [], x, y
    for name, style in zip(names, styles, strict=True):
        sample = 26 if lines else 11
        w = sample + 6 + _text_width(name) + 16
        if cx + w > x + width and cx > x:
            cx, cy = x, cy + 16
        if lines:
            dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
            parts.append(
                f'<line x1="{cx:.0f}" x2="{cx + sample:.0f}" y1="{cy - 4}" y2="{cy - 4}" stroke="{style.colour}" '
                f'stroke-width="2"{dash}/>'
            )
            parts.append(_marker(style.marker, cx + sample / 2, cy - 4, style.colour))
        else:
            parts.append(f'<rect x="{cx:.0f}" y="{cy - 9}" width="11" height="11" fill="{style.colour}"/>')
        parts.append(f'<text x="{cx + sample + 4:.0f}" y="{cy}" fill="#333">{_esc(name)}</text>')
        cx += w
    return parts, cy


def _styles(names: Sequence[str], colours: Sequence[str] | None, styles: Sequence[SeriesStyle] | None) -> list:
    if styles is not None:
        if len(styles) != len(names):
            msg = f"{len(styles)} styles given for {len(names)} series"
            raise ValidationError(msg)
        return list(styles)
    palette = list(colours or PALETTE)
    return [
        SeriesStyle(palette[i % len(palette)], _DASHES[i % len(_DASHES)], _MARKERS[i % len(_MARKERS)])
        for i in range(len(names))
    ]


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
    height: int = 270,
    colours: Sequence[str] | None = None,
) -> str:
    """A grouped bar chart as an inline ``<svg>`` element.

    Parameters
    ----------
    categories : sequence of str
        Groups along the x axis (e.g. quarters, referral types); long labels wrap onto two lines.
    series : mapping of str to sequence of (float or None)
        One bar per series in each group, values >= 0. ``None`` (a suppressed count) draws no bar, only a
        small upright grey label on the axis.
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
    styles = _styles(names, colours, None)
    gap_labels = dict(gap_labels or {})
    head, tail = _frame(chart_id, title, description, width, height)
    legend, legend_bottom = _legend(names, styles, 48, 34, width - 60) if len(names) > 1 else ([], 22)
    left, right, top, bottom = 48, width - 8, legend_bottom + 22, height - 44
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
                cx, cy = x + bar_w / 2 + 3, bottom - 3
                parts.append(
                    f'<text class="gap" x="{cx:.1f}" y="{cy}" transform="rotate(-90 {cx:.1f} {cy})" font-size="9" '
                    f'fill="{GAP_INK}"><title>{_esc(name)}, {_esc(cat)}: {_esc(label)}</title>{_esc(label)}</text>'
                )
                continue
            h = (bottom - top) * float(value) / span
            parts.append(
                f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                f'fill="{styles[j].colour}"><title>{_esc(name)}, {_esc(cat)}: {_fmt(value)}</title></rect>'
            )
    xs = [left + group_w * (i + 0.5) for i in range(len(categories))]
    parts += _category_labels(categories, xs, group_w - 6, bottom + 14)
    parts.append(tail)
    return "".join(parts)


def _spread(ys: list[float], *, gap: float, low: float, high: float) -> list[float]:
    """Move label positions apart by at least ``gap`` pixels, keeping their order, within ``[low, high]``."""
    order = sorted(range(len(ys)), key=lambda i: ys[i])
    out = list(ys)
    prev = -math.inf
    for i in order:
        out[i] = max(out[i], prev + gap, low)
        prev = out[i]
    overflow = prev - high
    if overflow > 0:  # pushed past the bottom: shift the stack up
        for i in order:
            out[i] -= overflow
        prev = math.inf
        for i in reversed(order):
            out[i] = min(out[i], prev - gap)
            prev = out[i]
    return out


def line_chart(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    description: str,
    chart_id: str,
    unit: str = "",
    width: int = 640,
    height: int = 290,
    colours: Sequence[str] | None = None,
    styles: Sequence[SeriesStyle] | None = None,
) -> str:
    """A multi-series line chart as an inline ``<svg>`` element, each line labelled at its end.

    Parameters
    ----------
    categories : sequence of str
        Points along the x axis, in time order (e.g. quarters).
    series : mapping of str to sequence of (float or None)
        Values >= 0; ``None`` (suppressed) breaks the line and draws no point.
    title, description, chart_id, unit, width, height, colours
        As for :func:`bar_chart`.
    styles : sequence of SeriesStyle, optional
        Colour, dash and marker per series (e.g. :func:`series_style` of each theme); overrides ``colours``.

    Returns
    -------
    str
        SVG markup.
    """
    _check(categories, series)
    names = list(series)
    styles = _styles(names, colours, styles)
    label_w = min(190, max((_text_width(n) for n in names), default=0) + 14)
    head, tail = _frame(chart_id, title, description, width, height)
    legend, legend_bottom = _legend(names, styles, 48, 34, width - 60, lines=True)
    left, right, top, bottom = 48, width - 12 - label_w, legend_bottom + 22, height - 44
    shown = [v for vals in series.values() for v in vals if v is not None]
    ticks = nice_ticks(max(shown, default=0))
    span = ticks[-1] or 1.0
    parts = [head, *legend, *_axis(ticks, left, right, top, bottom, unit)]
    n = len(categories)
    pad = 24  # the first and last points stand clear of the axis labels
    step = (right - left - 2 * pad) / max(n - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + pad + step * i if n > 1 else (left + right) / 2
        return x, bottom - (bottom - top) * float(v) / span

    ends: list[tuple[int, float, float]] = []
    for j, name in enumerate(names):
        style = styles[j]
        dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
        runs: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(series[name]):
            if v is None:
                runs.append([])
            else:
                runs[-1].append(xy(i, v))
        for run in runs:
            if len(run) > 1:
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                parts.append(f'<polyline points="{pts}" fill="none" stroke="{style.colour}" stroke-width="2"{dash}/>')
        last = None
        for i, v in enumerate(series[name]):
            if v is None:
                continue
            x, y = xy(i, v)
            last = (x, y)
            parts.append(_marker(style.marker, x, y, style.colour, f"{name}, {categories[i]}: {_fmt(v)}"))
        if last is not None:
            ends.append((j, last[0], last[1]))
    ys = _spread([e[2] for e in ends], gap=13, low=top, high=bottom - 8)
    for (j, x, y), ly in zip(ends, ys, strict=True):
        lx = right + 10
        parts.append(f'<line x1="{x + 5:.1f}" x2="{lx - 2:.1f}" y1="{y:.1f}" y2="{ly:.1f}" stroke="#999"/>')
        parts.append(
            f'<text class="end" x="{lx:.1f}" y="{ly + 4:.1f}" fill="#222" font-weight="600">{_esc(names[j])}</text>'
        )
    xs = [left + pad + step * i if n > 1 else (left + right) / 2 for i in range(n)]
    parts += _category_labels(categories, xs, max(step - 4, 30), bottom + 14)
    parts.append(tail)
    return "".join(parts)
