"""Small-number suppression for the outcome report: primary "<5" cells plus secondary suppression against differencing.

The rule (documented for the steering group in the report's method note):

1. **Primary suppression.** Every count below the threshold (``settings.privacy.suppression_threshold``,
   default 5), zero included, is shown as ``"<5"``.
2. **Secondary suppression.** The report publishes totals, subtotals and counts for overlapping windows, which
   are tied by linear relations (``total = part_1 + … + part_n``). A suppressed count must not be recoverable
   by adding and subtracting published numbers. After primary suppression, the published, unsuppressed cells
   are taken as known; a cell is *recoverable* when every solution of the relations gives it the same value
   (its row of the null space of the relation matrix restricted to unknown cells is zero). While any small
   cell (a primary-suppressed cell, or a hidden cell such as the complement of a percentage) is recoverable,
   the smallest known published cell linked to it is withheld as well (shown as ``"withheld"``), and the check
   is repeated. A second audit then adds what a reader also knows (a ``"<5"`` cell lies in 0-4, a withheld
   cell is at least 5, no count is negative) and solves, for every small unknown cell, the least and greatest
   value consistent with everything published (linear programmes); where only one whole number remains
   (two ``"<5"`` parts of a published 8 must both be 4) another cell is withheld.
3. **Ratios last.** A percentage is computed only from two published, unsuppressed counts, and its
   complement (denominator minus numerator) is a hidden cell of the relations: a percentage is never shown
   when it would reveal a small complement ("96 % of 100" reveals 4).

4. **No data is not a small number.** A cell whose feed holds no record in its window (the feed starts after the
   window ends, or ends before it starts) is a known zero: passed as ``no_data``, it is shown as ``"no data"``,
   takes part in the audits as a published value (a reader can work it out from the data coverage), and is never
   counted as small.

Afterwards no small cell has a single possible value; a small cell may still be bounded more tightly than
0-4 (a "<5" part of a published 7 whose other part is withheld lies in 2-4), which the threshold accepts.

References
----------
Hundepool, A. et al. (2012). *Statistical Disclosure Control*, ch. 4 (tabular data: primary and secondary
cell suppression, the audit for exact disclosure). Wiley.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

from ctxrisk.pipelines.errors import ValidationError

__all__ = ["HIDDEN", "NO_DATA", "PRIMARY", "SECONDARY", "SHOWN", "Protected", "protect"]

logger = logging.getLogger(__name__)

SHOWN = "shown"
PRIMARY = "primary"
SECONDARY = "secondary"
HIDDEN = "hidden"
NO_DATA = "no_data"

#: Display text of a cell withheld by secondary suppression.
WITHHELD = "withheld"
#: Display text of a cell whose feed holds no record in its window.
NO_DATA_TEXT = "no data"
#: Statuses whose value a reader knows.
_KNOWN = (SHOWN, NO_DATA)

_TOL = 1e-9


@dataclass(frozen=True)
class Protected:
    """Cells after suppression.

    Attributes
    ----------
    values : dict
        Cell key -> count (every cell, hidden ones included).
    status : dict
        Cell key -> ``"shown"``, ``"primary"`` (below the threshold, shown as ``"<5"``), ``"secondary"``
        (withheld against differencing), ``"no_data"`` (the feed holds no record in the cell's window) or
        ``"hidden"`` (never published: an atom or a complement).
    threshold : int
        The suppression threshold.
    """

    values: dict[Hashable, int]
    status: dict[Hashable, str]
    threshold: int
    relations: tuple[tuple[Hashable, tuple[Hashable, ...]], ...] = field(default=(), repr=False)

    def shown(self, key: Hashable) -> bool:
        """True when the cell's number may be published."""
        return self.status[key] == SHOWN

    def text(self, key: Hashable) -> str:
        """Display text: the count with thousands separators, ``"<5"``, ``"withheld"`` or ``"no data"``."""
        status = self.status[key]
        if status == NO_DATA:
            return NO_DATA_TEXT
        if status == SHOWN:
            return f"{self.values[key]:,}"
        if status == PRIMARY:
            return f"<{self.threshold}"
        if status == SECONDARY:
            return WITHHELD
        msg = f"cell {key!r} is hidden and has no display text"
        raise ValidationError(msg)

    def number(self, key: Hashable) -> int | None:
        """The count when it may be published, else None (for charts: a gap, never the true value)."""
        return self.values[key] if self.shown(key) else None

    def percent(self, numerator: Hashable, denominator: Hashable) -> float | None:
        """``100 * numerator / denominator`` when both are published (else None).

        The complement must have been declared as a hidden cell with ``denominator = numerator + complement``
        for the percentage to be safe; :func:`protect` then withholds a cell when the complement is small.
        """
        num, den = self.number(numerator), self.number(denominator)
        if num is None or den is None or den == 0:
            return None
        return 100.0 * num / den

    @property
    def suppressed(self) -> int:
        """Number of published cells not shown (primary plus secondary)."""
        return sum(1 for s in self.status.values() if s in (PRIMARY, SECONDARY))


def protect(
    values: Mapping[Hashable, int],
    *,
    relations: Iterable[tuple[Hashable, Sequence[Hashable]]] = (),
    hidden: Iterable[Hashable] = (),
    no_data: Iterable[Hashable] = (),
    threshold: int = 5,
) -> Protected:
    """Apply primary and secondary suppression to a set of related counts.

    Parameters
    ----------
    values : mapping
        Cell key -> count (whole number >= 0) for every published and hidden cell.
    relations : iterable of (total key, sequence of part keys)
        Each states ``values[total] == sum(values[part] for part in parts)``; checked.
    hidden : iterable of keys
        Cells that are never published (e.g. counts of the elementary time slices that windows are sums of,
        or the complement of a percentage). A hidden cell below the threshold must not be recoverable either.
    no_data : iterable of keys
        Cells whose feed holds no record in their window (each must be 0): shown as ``"no data"``, known to
        a reader, never small.
    threshold : int
        Smallest count shown (``settings.privacy.suppression_threshold``), at least 1.

    Returns
    -------
    Protected

    Raises
    ------
    ValidationError
        On a negative or fractional count, an unknown key in a relation, a relation that does not add up,
        a ``no_data`` cell that is not 0, or a threshold below 1.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or threshold < 1:
        msg = f"threshold must be a whole number of at least 1, got {threshold!r}"
        raise ValidationError(msg)
    vals: dict[Hashable, int] = {}
    for key, value in values.items():
        if value is None or value < 0 or int(value) != value:
            msg = f"cell {key!r}: counts must be whole numbers >= 0, got {value!r}"
            raise ValidationError(msg)
        vals[key] = int(value)
    hidden_set = set(hidden)
    rels: list[tuple[Hashable, tuple[Hashable, ...]]] = []
    for total, parts in relations:
        parts = tuple(parts)
        for key in (total, *parts):
            if key not in vals:
                msg = f"relation names cell {key!r}, which has no value"
                raise ValidationError(msg)
        if vals[total] != sum(vals[p] for p in parts):
            parts_sum = sum(vals[p] for p in parts)
            msg = f"relation does not add up: {total!r} = {vals[total]} but its parts sum to {parts_sum}"
            raise ValidationError(msg)
        rels.append((total, parts))
    empty = set(no_data)
    for key in empty:
        if vals.get(key) != 0:
            msg = f"cell {key!r} is marked as having no data but holds {vals.get(key)!r}"
            raise ValidationError(msg)
    status = {
        k: NO_DATA if k in empty else HIDDEN if k in hidden_set else (PRIMARY if v < threshold else SHOWN)
        for k, v in vals.items()
    }
    sensitive = {k for k, v in vals.items() if v < threshold and k not in empty}
    if rels:
        _secondary(vals, status, sensitive, rels, threshold)
    result = Protected(vals, status, threshold, tuple(rels))
    logger.info(
        "suppressed %s of %s published cells (%s secondary)",
        f"{result.suppressed:,}",
        f"{sum(1 for s in status.values() if s not in (HIDDEN, NO_DATA)):,}",
        f"{sum(1 for s in status.values() if s == SECONDARY):,}",
    )
    return result


def _recoverable(keys: list[Hashable], index: dict[Hashable, int], matrix: np.ndarray, status: dict) -> set:
    """Unknown cells fixed by the relations: those whose unit vector lies in the row space of A_U."""
    unknown = [k for k in keys if status[k] not in _KNOWN]
    if not unknown:
        return set()
    sub = matrix[:, [index[k] for k in unknown]]
    sub = sub[np.abs(sub).sum(axis=1) > 0]
    if sub.shape[0] == 0:
        return set()
    _u, s, vh = np.linalg.svd(sub, full_matrices=False)
    rank = int((s > _TOL * max(sub.shape) * (s[0] if s.size else 1.0)).sum())
    basis = vh[:rank]
    # squared length of the projection of e_u onto the row space; 1 means x_u is fixed by the relations
    projected = (basis**2).sum(axis=0)
    return {k for k, p in zip(unknown, projected, strict=True) if p > 1 - 1e-7}


def _pinned_by_bounds(
    comp: list[Hashable], index: dict, matrix: np.ndarray, status: dict, vals: dict, sensitive: set, threshold: int
) -> list[Hashable]:
    """Small unknown cells whose value the relations *and* the published bounds fix exactly.

    A reader knows more than the relations: a ``"<5"`` cell lies in 0-4, a withheld cell is at least 5 (else it
    would read ``"<5"``), every count is >= 0. Two ``"<5"`` parts of a published 8 must both be 4. For each
    small unknown cell, the least and greatest values consistent with all of that (linear programmes) are
    compared; equal bounds are an exact disclosure.
    """
    unknown = [k for k in comp if status[k] not in _KNOWN]
    targets = [k for k in unknown if k in sensitive]
    if not targets:
        return []
    cols = {k: i for i, k in enumerate(unknown)}
    known = [k for k in comp if status[k] in _KNOWN]
    a_eq = matrix[:, [index[k] for k in unknown]]
    b_eq = (
        -matrix[:, [index[k] for k in known]] @ np.array([vals[k] for k in known], dtype=float)
        if known
        else (np.zeros(matrix.shape[0]))
    )
    bounds = [
        (0, threshold - 1) if status[k] == PRIMARY else (threshold, None) if status[k] == SECONDARY else (0, None)
        for k in unknown
    ]
    x = np.array([vals[k] for k in unknown], dtype=float)
    lower = np.array([b[0] for b in bounds], dtype=float)
    upper = np.array([np.inf if b[1] is None else b[1] for b in bounds], dtype=float)
    free = _null_basis(a_eq)
    pinned = []
    for k in targets:
        if free is not None and _moves_by_one(cols[k], x, lower, upper, free):
            continue  # the true values can be moved along the relations so this cell changes by 1 or more
        c = np.zeros(len(unknown))
        c[cols[k]] = 1.0
        high = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if high.status == 3 or (high.status == 0 and -high.fun >= vals[k] + 1 - 1e-6):
            continue  # unbounded above, or can be at least one more
        low = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if low.status == 0 and low.fun <= vals[k] - 1 + 1e-6:
            continue
        pinned.append(k)
        break  # one is enough: the caller withholds one cell and checks again
    return pinned


def _null_basis(a: np.ndarray) -> np.ndarray | None:
    """Orthonormal basis (columns) of the null space of ``a``, or None when it is trivial."""
    if a.shape[0] == 0:
        return np.eye(a.shape[1])
    _u, sv, vh = np.linalg.svd(a, full_matrices=True)
    rank = int((sv > _TOL * max(a.shape) * (sv[0] if sv.size else 1.0)).sum())
    basis = vh[rank:].T
    return basis if basis.shape[1] else None


def _moves_by_one(u: int, x: np.ndarray, lower: np.ndarray, upper: np.ndarray, free: np.ndarray) -> bool:
    """True when, from the true values ``x``, a step along the relations changes ``x[u]`` by at least 1 in bounds.

    The direction is the projection of the unit vector of ``u`` onto the null space; a cheap certificate that
    the cell is not pinned (the linear programmes are run only when it fails).
    """
    d = free @ free[u]
    if d[u] < 1e-9:
        return False
    for sign in (1.0, -1.0):
        step = sign * d
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(step > 1e-12, (upper - x) / step, np.where(step < -1e-12, (lower - x) / step, np.inf))
        if np.min(room) * d[u] >= 1 - 1e-9:
            return True
    return False


def _components(keys: list[Hashable], neighbours: dict[Hashable, set]) -> list[list[Hashable]]:
    seen: set = set()
    out = []
    for start in keys:
        if start in seen:
            continue
        seen.add(start)
        comp, stack = [], [start]
        while stack:
            cell = stack.pop()
            comp.append(cell)
            for other in neighbours[cell]:
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        out.append(comp)
    return out


def _secondary(vals: dict, status: dict, sensitive: set, rels: list, threshold: int) -> None:
    keys = sorted({k for total, parts in rels for k in (total, *parts)}, key=repr)
    neighbours: dict[Hashable, set] = {k: set() for k in keys}
    for total, parts in rels:
        members = {total, *parts}
        for m in members:
            neighbours[m] |= members - {m}
    for comp in _components(keys, neighbours):
        members = set(comp)
        comp_rels = [r for r in rels if r[0] in members]
        index = {k: i for i, k in enumerate(comp)}
        matrix = np.zeros((len(comp_rels), len(comp)))
        for row, (total, parts) in enumerate(comp_rels):
            matrix[row, index[total]] += 1.0
            for p in parts:
                matrix[row, index[p]] -= 1.0
        while True:
            exposed = sorted(_recoverable(comp, index, matrix, status) & sensitive, key=repr)
            if not exposed:
                exposed = _pinned_by_bounds(comp, index, matrix, status, vals, sensitive, threshold)
            if not exposed:
                break
            # one cell at a time: a cell withheld for one exposure often protects others too
            target = exposed[0]
            candidate = _nearest_known(target, neighbours, status, vals)
            if candidate is None:  # pragma: no cover - an exposed cell always has a published cell linked to it
                msg = f"cannot protect cell {target!r}: no published cell is linked to it"
                raise ValidationError(msg)
            status[candidate] = SECONDARY
            logger.debug("withheld %r so that %r cannot be recovered by differencing", candidate, target)


def _nearest_known(target: Hashable, neighbours: dict, status: dict, vals: dict) -> Hashable | None:
    """Smallest shown cell linked to ``target`` through relations (via unknown cells only), nearest first."""
    seen = {target}
    frontier = [target]
    while frontier:
        known: list[Hashable] = []
        nxt: list[Hashable] = []
        for cell in frontier:
            for other in neighbours[cell]:
                if other in seen:
                    continue
                seen.add(other)
                if status[other] == SHOWN:
                    known.append(other)
                else:
                    nxt.append(other)
        if known:
            return min(known, key=lambda k: (vals[k], repr(k)))
        frontier = nxt
    return None
