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
from scipy import stats

from ctxrisk.maps import indicators as ind
from ctxrisk.maps.report_coverage import FEED_OF_CELL, Coverage
from ctxrisk.maps.report_suppression import NO_DATA, SECONDARY, SHOWN, Protected
from ctxrisk.maps.wording import FALLING, NO_CLEAR_CHANGE, RISING
from ctxrisk.pipelines.errors import ValidationError

__all__ = [
    "CHANGE_ALPHA",
    "STEADY_PERCENT",
    "STEADY_POINTS",
    "Cells",
    "Page",
    "Windows",
    "change_phrase",
    "change_test",
    "incident_cells",
    "quality_cells",
    "rate_change_phrase",
]

#: Relative change (in %) below which two counts show "no clear change" however large they are.
STEADY_PERCENT = 5.0
#: Change in a rate (in percentage points) below which two rates show "no clear change".
STEADY_POINTS = 2.5
#: Two-sided p-value at or above which a change is "no clear change": it may well be chance.
CHANGE_ALPHA = 0.05


def change_test(current: int, previous: int, *, exposure: float = 1.0) -> float:
    """Two-sided p-value of the exact test that two counts come from the same daily rate.

    Given ``n = current + previous`` events, under equal rates ``current`` is binomial with ``n`` trials and
    probability ``exposure / (1 + exposure)`` (the conditional test of two Poisson counts; Przyborowski and
    Wilenski 1940). ``exposure`` is the current window's length over the previous one's (92 / 91 for
    2026 Q3 against 2026 Q2). Returns 1.0 when both counts are 0.
    """
    if current < 0 or previous < 0 or exposure <= 0:
        msg = f"counts must be at least 0 and exposure above 0, got {current}, {previous}, {exposure}"
        raise ValueError(msg)
    if current + previous == 0:
        return 1.0
    return float(stats.binomtest(current, current + previous, exposure / (1.0 + exposure)).pvalue)


def change_phrase(
    current: int | None,
    previous: int | None,
    *,
    steady_percent: float = STEADY_PERCENT,
    alpha: float = CHANGE_ALPHA,
    exposure: float = 1.0,
) -> tuple[str, str]:
    """Direction of change between two published counts, in the steering map's trend words.

    A change is stated ("rising" or "falling", with its size) only when it is unlikely to be chance
    (:func:`change_test` below ``alpha``) **and** at least ``steady_percent`` of the earlier count; otherwise the
    counts show "no clear change" (5 then 6 is not a rise of 20%). Counts that are not published give "too few
    to compare", so a suppressed count is never read through a change.

    Parameters
    ----------
    current, previous : int or None
        Published counts (None when suppressed or withheld).
    steady_percent : float
        Relative change (in %) below which the counts show no clear change.
    alpha : float
        Two-sided significance level of :func:`change_test`.
    exposure : float
        The current window's length over the previous one's.

    Returns
    -------
    (str, str)
        A CSS class (``"up"``, ``"down"``, ``"same"`` or ``""``) and a phrase: ``"rising (up 50%)"``,
        ``"falling (down 20%)"``, ``"rising (up from 0)"``, ``"no clear change"`` or ``"too few to compare"``.
    """
    if current is None or previous is None:
        return "", "too few to compare"
    if change_test(current, previous, exposure=exposure) >= alpha:
        return "same", NO_CLEAR_CHANGE
    if previous == 0:
        return "up", f"{RISING} (up from 0)"
    change = 100.0 * (current - previous) / previous
    if abs(change) < steady_percent:
        return "same", NO_CLEAR_CHANGE
    return ("up", f"{RISING} (up {change:.0f}%)") if change > 0 else ("down", f"{FALLING} (down {-change:.0f}%)")


def rate_change_phrase(
    now: tuple[int, int] | None,
    before: tuple[int, int] | None,
    *,
    steady_points: float = STEADY_POINTS,
    alpha: float = CHANGE_ALPHA,
) -> tuple[str, str]:
    """Direction of change between two published rates ``(numerator, denominator)``, in the map's trend words.

    A change is stated only when Fisher's exact test of the two 2 x 2 tables gives a two-sided p-value below
    ``alpha`` **and** the rates differ by at least ``steady_points`` percentage points; otherwise "no clear
    change". A rate not published (None) gives "too few to compare".

    Returns
    -------
    (str, str)
        A CSS class and a phrase, e.g. ``("up", "rising (up 12 percentage points)")``.
    """
    if now is None or before is None:
        return "", "too few to compare"
    (a, n1), (b, n2) = now, before
    if min(n1, n2) <= 0 or not (0 <= a <= n1 and 0 <= b <= n2):
        msg = f"a rate needs 0 <= numerator <= denominator and a denominator above 0, got {now} and {before}"
        raise ValueError(msg)
    diff = 100.0 * (a / n1 - b / n2)
    if abs(diff) < steady_points or stats.fisher_exact([[a, n1 - a], [b, n2 - b]]).pvalue >= alpha:
        return "same", NO_CLEAR_CHANGE
    return (
        ("up", f"{RISING} (up {diff:.0f} percentage points)")
        if diff > 0
        else (
            "down",
            f"{FALLING} (down {-diff:.0f} percentage points)",
        )
    )


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

    def __init__(self, cells: Protected, keys: Cells, *, exposure: float = 1.0) -> None:
        self.cells = cells
        self._keys = keys
        #: the period's length over the comparison period's (for :func:`change_test`)
        self.exposure = exposure

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
        """``(phrase, css class)`` comparing a period's cell with the comparison period's (:func:`change_phrase`);
        ``"no data to compare"`` when either has no data."""
        if self.empty(current) or self.empty(previous):
            return "no data to compare", ""
        cls, phrase = change_phrase(self.n(current), self.n(previous), exposure=self.exposure)
        return phrase, cls

    def rate_change(self, now: tuple[Hashable, Hashable], before: tuple[Hashable, Hashable]) -> tuple[str, str]:
        """``(phrase, css class)`` comparing two rates, each given as ``(numerator, denominator)`` cells
        (:func:`rate_change_phrase`); ``"no data to compare"`` when a denominator has no data."""
        if self.empty(now[1]) or self.empty(before[1]):
            return "no data to compare", ""
        cls, phrase = rate_change_phrase(self._published(now), self._published(before))
        return phrase, cls

    def _published(self, rate: tuple[Hashable, Hashable]) -> tuple[int, int] | None:
        """The rate's counts when the page publishes the rate, else None."""
        if self.pct(*rate) is None:
            return None
        num, den = self.n(rate[0]), self.n(rate[1])
        return None if num is None or den is None else (num, den)

    def pct(self, num: Hashable, den: Hashable) -> float | None:
        """A share in %, from published counts only (None when not shown)."""
        return self.cells.percent(self._keys.key(num), self._keys.key(den))

    def gap(self, key: Hashable) -> str:
        """What a chart writes where a value is not drawn: ``"<5"``, ``"withheld"`` or ``"no data"``."""
        status = self.status(key)
        if status == NO_DATA:
            return "no data"
        return "withheld" if status == SECONDARY else f"<{self.cells.threshold}"
