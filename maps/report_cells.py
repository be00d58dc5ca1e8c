"""The outcome report's cells: exact counts keyed by what they count, the relations between them, and how to show them.

A cell key is a tuple: ``("inc", window, theme)``, ``("inc_slice", (start, end), theme)`` (a hidden elementary
date slice), ``("dq", indicator)``, ``("mis", window, indicator)``, ``("scr", window, level)``,
``("ref", window, type)``, ``("aa", indicator)`` or ``("loc", row, column)``. Windows are ``"P"`` (the period),
``"B"`` (the comparison period) and quarter labels such as ``"2026Q3"``. :class:`Page` reads the cells after
:func:`ctxrisk.maps.report_suppression.protect`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from ctxrisk.maps import indicators as ind
from ctxrisk.maps.report_coverage import FEED_OF_CELL, Coverage
from ctxrisk.maps.report_suppression import NO_DATA, SECONDARY, SHOWN, Protected
from ctxrisk.pipelines.errors import ValidationError

__all__ = ["STEADY_PERCENT", "Cells", "Page", "Windows", "change_phrase", "incident_cells", "quality_cells"]

#: Relative change (in %) within which two counts are described as "about the same".
STEADY_PERCENT = 5.0


def change_phrase(
    current: int | None, previous: int | None, *, steady_percent: float = STEADY_PERCENT
) -> tuple[str, str]:
    """Direction of change between two published counts, in plain English.

    Parameters
    ----------
    current, previous : int or None
        Published counts (None when suppressed or withheld).
    steady_percent : float
        Relative change (in %) within which the counts are "about the same".

    Returns
    -------
    (str, str)
        A CSS class (``"up"``, ``"down"``, ``"same"`` or ``""``) and a phrase such as ``"up 12%"``, ``"down 3%"``
        ``"about the same"``, ``"up from 0"`` or ``"too few to compare"`` (when either count is not published).
    """
    if current is None or previous is None:
        return "", "too few to compare"
    if previous == 0:
        return ("same", "about the same") if current == 0 else ("up", "up from 0")
    change = 100.0 * (current - previous) / previous
    if abs(change) < steady_percent:
        return "same", "about the same"
    return ("up", f"up {abs(change):.0f}%") if change > 0 else ("down", f"down {abs(change):.0f}%")


@dataclass
class Cells:
    """Counts and the relations between them, before suppression."""

    values: dict[Hashable, int] = field(default_factory=dict)
    relations: list[tuple[Hashable, tuple[Hashable, ...]]] = field(default_factory=list)
    hidden: set[Hashable] = field(default_factory=set)
    #: window name -> quarter label, when the period (or the previous one) is exactly that quarter
    alias: dict[str, str] = field(default_factory=dict)

    def key(self, key: Hashable) -> Hashable:
        """The cell a key stands for: ``("inc", "P", t)`` is ``("inc", "2026Q3", t)`` when P is that quarter."""
        if isinstance(key, tuple) and len(key) == 3 and key[0] == "inc" and key[1] in self.alias:
            return (key[0], self.alias[key[1]], key[2])
        return key

    def add(self, key: Hashable, value: int, *, hidden: bool = False) -> Hashable:
        key = self.key(key)
        if key in self.values and self.values[key] != int(value):
            msg = f"cell {key!r} given two values: {self.values[key]} and {value}"
            raise ValidationError(msg)
        self.values[key] = int(value)
        if hidden:
            self.hidden.add(key)
        return key

    def total(self, key: Hashable, parts: Sequence[Hashable]) -> None:
        key, parts = self.key(key), [self.key(p) for p in parts]
        self.add(key, sum(self.values[p] for p in parts))
        self.relations.append((key, tuple(parts)))

    def relate(self, key: Hashable, parts: Sequence[Hashable]) -> None:
        """Declare ``key = sum(parts)`` between cells already added."""
        self.relations.append((self.key(key), tuple(self.key(p) for p in parts)))

    def part_of(self, total: Hashable, part: Hashable, complement: Hashable) -> None:
        """Declare the hidden complement ``total - part`` (so a percentage part/total is safe to show)."""
        total, part = self.key(total), self.key(part)
        self.add(complement, self.values[total] - self.values[part], hidden=True)
        self.relations.append((total, (part, complement)))

    def no_data(self, coverage: Coverage, windows: dict[str, tuple[date, date]]) -> set[Hashable]:
        """Cells whose feed holds no record in their window (see :meth:`Coverage.empty`): known zeros."""
        out = set()
        for key, value in self.values.items():
            if value != 0 or not isinstance(key, tuple) or key[0] not in FEED_OF_CELL:
                continue
            if key[0] == "inc_slice":
                span = key[1]
            elif key[0] == "dq":
                span = windows["P"]
            else:
                span = windows.get(key[1])
            if span is not None and coverage.empty(FEED_OF_CELL[key[0]], *span):
                out.add(key)
        return out


@dataclass(frozen=True)
class Windows:
    """The period, its comparison period and the quarters of the incidents trend."""

    period: ind.Period
    previous: ind.Period
    quarters: list[date]

    def named(self) -> dict[str, tuple[date, date]]:
        """Window name (``P``, ``B`` or a quarter label) -> ``(start, end)``."""
        out = {"P": (self.period.start, self.period.end), "B": (self.previous.start, self.previous.end)}
        for q in self.quarters:
            out[ind.quarter_label(q)] = (q, ind.add_months(q, 3))
        return out


def incident_cells(cells: Cells, daily: pd.DataFrame, windows: Windows, themes: list[str]) -> None:
    """Incidents per window and theme as sums of hidden elementary slices, so overlaps cannot be differenced."""
    named = windows.named()
    for name in cells.alias:
        named.pop(name, None)
    bounds = sorted({d for span in named.values() for d in span})
    atoms = list(zip(bounds, bounds[1:], strict=False))
    inside = {name: [a for a in atoms if a[0] >= w[0] and a[1] <= w[1]] for name, w in named.items()}
    # a slice that is a whole window is that window's cell; other slices are hidden cells of their own
    slice_key: dict[tuple[date, date], str | None] = {a: None for a in atoms}
    for name, slices in inside.items():
        if len(slices) == 1:
            slice_key[slices[0]] = name

    def key_of(atom: tuple[date, date], theme: str) -> tuple:
        owner = slice_key[atom]
        return ("inc", owner, theme) if owner is not None else ("inc_slice", atom, theme)

    dates = pd.to_datetime(daily["local_date"]).dt.date if len(daily) else pd.Series([], dtype=object)
    for atom in atoms:
        in_atom = daily[(dates >= atom[0]) & (dates < atom[1])] if len(daily) else daily
        by_theme = in_atom.groupby("theme")["incidents"].sum() if len(in_atom) else {}
        for t in themes:
            cells.add(key_of(atom, t), int(by_theme.get(t, 0)), hidden=slice_key[atom] is None)
    for name, slices in inside.items():
        if len(slices) > 1:
            for t in themes:
                cells.total(("inc", name, t), [key_of(a, t) for a in slices])
        cells.total(("inc", name, "all"), [("inc", name, t) for t in themes])


def quality_cells(cells: Cells, dq: pd.DataFrame) -> None:
    """Place and time quality of the period's incidents, tied to the period's total."""
    v = dict(zip(dq["indicator"], dq["value"], strict=True))
    total = cells.key(("inc", "P", "all"))
    if cells.values[total] != v["incidents"]:  # pragma: no cover - both read the same view
        msg = "data quality and incident counts disagree"
        raise ValidationError(msg)
    for key in ("unlocated", "out_of_area"):
        cells.add(("dq", key), v[key])
        cells.part_of(total, ("dq", key), ("dq", f"not_{key}"))
    cells.add(("dq", "day_precision"), v["day_precision"])
    cells.add(("dq", "month_precision"), v["month_precision"])
    cells.add(("dq", "minute_precision"), v["incidents"] - v["day_precision"] - v["month_precision"], hidden=True)
    cells.relate(total, [("dq", "minute_precision"), ("dq", "day_precision"), ("dq", "month_precision")])


class Page:
    """The protected cells, read the way the page shows them."""

    def __init__(self, cells: Protected, keys: Cells) -> None:
        self.cells = cells
        self._keys = keys

    def has(self, key: Hashable) -> bool:
        """True when the cell exists (e.g. the theme is configured)."""
        return self._keys.key(key) in self.cells.values

    def status(self, key: Hashable) -> str:
        """``shown``, ``primary``, ``secondary``, ``no_data`` or ``hidden``."""
        return self.cells.status[self._keys.key(key)]

    def empty(self, key: Hashable) -> bool:
        """True when the cell's feed holds no record in its window."""
        return self.status(key) == NO_DATA

    def text(self, key: Hashable) -> str:
        """``"1,234"``, ``"<5"``, ``"withheld"`` or ``"no data"``."""
        return self.cells.text(self._keys.key(key))

    def cell(self, key: Hashable) -> tuple[str, str]:
        """``(text, css class)`` for a table cell."""
        status = self.status(key)
        cls = "" if status == SHOWN else ("nodata" if status == NO_DATA else "sup")
        return self.text(key), cls

    def n(self, key: Hashable) -> int | None:
        """The published count, or None (a gap in a chart)."""
        return self.cells.number(self._keys.key(key))

    def change(self, current: Hashable, previous: Hashable) -> tuple[str, str]:
        """``(phrase, css class)`` comparing two cells; ``"no data to compare"`` when either has no data."""
        if self.empty(current) or self.empty(previous):
            return "no data to compare", ""
        cls, phrase = change_phrase(self.n(current), self.n(previous))
        return phrase, cls

    def pct(self, num: Hashable, den: Hashable) -> float | None:
        """A share in %, from published counts only (None when not shown)."""
        return self.cells.percent(self._keys.key(num), self._keys.key(den))

    def gap(self, key: Hashable) -> str:
        """What a chart writes where a value is not drawn: ``"<5"``, ``"withheld"`` or ``"no data"``."""
        status = self.status(key)
        if status == NO_DATA:
            return "no data"
        return "withheld" if status == SECONDARY else f"<{self.cells.threshold}"
