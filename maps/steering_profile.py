"""When a place is busy, told so that no count under the suppression threshold can be read (issue 21)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ctxrisk.pipelines.errors import ValidationError

__all__ = ["DAY_PARTS", "DAY_TYPES", "day_part_counts", "describe_profile", "profile_svg"]

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: Parts of the day: name, first hour, hour after the last.
DAY_PARTS: tuple[tuple[str, int, int], ...] = (
    ("night", 0, 6),
    ("morning", 6, 12),
    ("afternoon", 12, 18),
    ("evening", 18, 24),
)
#: Kinds of day: name, weekday rows of the profile (0 = Monday).
DAY_TYPES: tuple[tuple[str, tuple[int, ...]], ...] = (("weekdays", (0, 1, 2, 3, 4)), ("weekends", (5, 6)))
#: Shading bands of the chart, from the share of the busiest shown block: (lowest share, label, colour).
_BANDS = ((2 / 3, "busiest", "#67000d"), (1 / 3, "busy", "#cb181d"), (0.0, "less busy", "#fc9272"))
_WITHHELD = "#d9d9d9"


def as_profile(value: object, *, rank: object = "?") -> np.ndarray:
    """A 7 x 24 weekday x hour array of counts >= 0 (``None`` is all zeros); raises on any other shape."""
    arr = np.asarray(value if value is not None else np.zeros((7, 24)), dtype="float64")
    if arr.shape != (7, 24) or not np.isfinite(arr).all() or (arr < 0).any():
        msg = f"location ranked {rank}: profile must be 7 weekdays x 24 hours of counts >= 0, got shape {arr.shape}"
        raise ValidationError(msg)
    return arr


def day_part_counts(profile: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Coarsen a weekday x hour profile to 2 kinds of day (weekdays, weekends) x 4 parts of the day.

    Parameters
    ----------
    profile : array-like, shape (7, 24)
        Event counts by weekday (row 0 = Monday) and hour of day (column 0 = 00:00-00:59), local time.

    Returns
    -------
    numpy.ndarray, shape (2, 4)
        Rows as :data:`DAY_TYPES`, columns as :data:`DAY_PARTS`.
    """
    arr = as_profile(profile)
    return np.array([[arr[list(rows), a:b].sum() for _n, a, b in DAY_PARTS] for _t, rows in DAY_TYPES])


def describe_profile(profile: Sequence[Sequence[float]] | np.ndarray, *, threshold: int = 5) -> str:
    """Say in words when a place is busiest, using only blocks of at least ``threshold`` events.

    The profile is coarsened to weekday and weekend nights, mornings, afternoons and evenings
    (:func:`day_part_counts`); a block with fewer than ``threshold`` events is withheld and counts for
    nothing, so the sentence is the same whatever a withheld block holds (0 to ``threshold - 1``).

    Parameters
    ----------
    profile : array-like, shape (7, 24)
        Event counts by weekday (row 0 = Monday) and hour of day, local time.
    threshold : int
        Suppression threshold.

    Returns
    -------
    str
        ``"Busiest on weekend evenings (18:00-23:59)."``: the block with most events, and any other block
        within 80% of it (at most two are named; more is "busy at many times"). A peak hour is added only
        when that hour alone holds at least ``threshold`` events. With no block of ``threshold`` events:
        ``"Too few timed events (<5) in any part of the week to describe when this place is busiest."``.
    """
    arr = as_profile(profile)
    blocks = day_part_counts(arr)
    shown = np.where(blocks >= threshold, blocks, 0.0)
    if shown.max() < threshold:
        return f"Too few timed events (<{threshold}) in any part of the week to describe when this place is busiest."
    top = shown.max()
    busy = [(d, p) for d in range(2) for p in range(4) if shown[d, p] >= 0.8 * top]
    busy.sort(key=lambda dp: -shown[dp])
    if len(busy) > 2:
        text = "Busy at many times of the week"
    else:
        words = []
        for d, p in busy:
            name, a, b = DAY_PARTS[p]
            words.append(f"{DAY_TYPES[d][0][:-1]} {name}s ({a:02d}:00-{b - 1:02d}:59)")
        text = "Busiest on " + " and ".join(words)
    hours = arr.sum(axis=0)
    peak = int(np.argmax(hours))
    if hours[peak] >= threshold:
        text += f"; peak hour {peak:02d}:00-{peak:02d}:59"
    return text + "."


def profile_svg(
    profile: Sequence[Sequence[float]] | np.ndarray, *, threshold: int = 5, colour: str | None = None
) -> str:
    """A small inline SVG chart: weekdays and weekends by part of the day, in three shading bands.

    Parameters
    ----------
    profile : array-like, shape (7, 24)
        As for :func:`describe_profile`.
    threshold : int
        Blocks with fewer events are drawn grey and marked "<threshold" (withheld); shown blocks are shaded
        by their share of the busiest block (busiest >= 2/3, busy >= 1/3, less busy), never by count, so
        the chart is the same whatever a withheld block holds.
    colour : str or None
        Unused; kept for callers of the earlier signature.

    Returns
    -------
    str
        ``<svg role="img">`` markup with an ``aria-label`` naming each block's band; no counts.
    """
    del colour
    blocks = day_part_counts(profile)
    top = blocks[blocks >= threshold].max() if (blocks >= threshold).any() else 0.0
    cw, ch, left, top_y = 44, 18, 62, 14
    parts = []
    spoken = []
    for p, (name, a, b) in enumerate(DAY_PARTS):
        parts.append(
            f'<text x="{left + p * cw + cw / 2:.0f}" y="10" font-size="9" text-anchor="middle">'
            f"{name[:1].upper()}{name[1:]}</text>"
        )
        del a, b
    for d, (day_type, _rows) in enumerate(DAY_TYPES):
        y = top_y + d * ch
        parts.append(f'<text x="0" y="{y + 12}" font-size="9">{day_type.capitalize()}</text>')
        for p, (name, _a, _b) in enumerate(DAY_PARTS):
            value = blocks[d, p]
            if value < threshold:
                label, fill, mark = f"fewer than {threshold} (withheld)", _WITHHELD, f"&lt;{threshold}"
            else:
                label, fill = next((lab, col) for low, lab, col in _BANDS if value / top >= low)
                mark = ""
            spoken.append(f"{day_type[:-1]} {name}s: {label}")
            x = left + p * cw
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cw - 2}" height="{ch - 2}" fill="{fill}">'
                f"<title>{day_type.capitalize()[:-1]} {name}s: {label}</title></rect>"
            )
            if mark:
                parts.append(
                    f'<text x="{x + cw / 2 - 1:.0f}" y="{y + 12}" font-size="9" text-anchor="middle" '
                    f'fill="#333">{mark}</text>'
                )
    key_y = top_y + 2 * ch + 12
    for i, (_low, lab, col) in enumerate(_BANDS):
        parts.append(f'<rect x="{left + i * 56}" y="{key_y - 8}" width="9" height="9" fill="{col}"/>')
        parts.append(f'<text x="{left + i * 56 + 12}" y="{key_y}" font-size="8">{lab}</text>')
    width, height = left + 4 * cw, key_y + 4
    head = (
        f'<svg class="ctxrisk-profile" width="{width}" height="{height}" role="img" '
        f'aria-label="When this place is busy: {"; ".join(spoken)}">'
    )
    return head + "".join(parts) + "</svg>"
