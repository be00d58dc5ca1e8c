"""Keep each synthetic child's missing episodes apart in time: no two episodes of one child overlap.

Episodes are drawn chunk by chunk and a child may be drawn again in a later chunk, so the times of every
episode written so far are held here. An episode that would overlap one already placed for its child (each
starting before the other ends, or both starting together; an open episode runs on past the window) is moved
by whole weeks, keeping its weekday and hour, to the nearest week inside the window its child has free: up
to ``NEAR_WEEKS`` either side for a background episode, any week for a planted one (its child is in the
ground truth). An episode no such week holds is given to another background child free at its time (its
from-place moves with the child's home), or failing that moved to any free week. Ingest refuses overlapping
episodes of one child (``docs/data-model.md``).
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np

from ctxrisk.synthetic.world import PERIOD_MINUTES

WEEK = 7 * 1440
#: Shifts tried first for an overlapping background episode: this many weeks either side.
NEAR_WEEKS = 8
#: Other children tried for a background episode that fits in no week nearby.
OTHER_CHILDREN = 200
_OPEN = np.iinfo(np.int64).max


class _Child:
    """One child's placed episodes as sorted, non-overlapping ``[start, end)`` minutes."""

    __slots__ = ("ends", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def free(self, start: int, end: int) -> bool:
        i = bisect_right(self.starts, start)
        if i and (self.ends[i - 1] > start or self.starts[i - 1] == start):
            return False
        return i == len(self.starts) or self.starts[i] >= end

    def add(self, start: int, end: int) -> None:
        i = bisect_right(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


class Timeline:
    """The episodes placed so far, by child; :meth:`place` fits a chunk of episodes in (in place).

    Parameters
    ----------
    rng : numpy.random.Generator
        Chooses the other child for a background episode that cannot be moved.
    children : tuple of int
        ``(lo, hi)``: background children (person indices) an episode may be given to.
    home : tuple of ndarray
        Home points (easting, northing) of persons ``home_base`` onwards.
    home_base : int
        Person index of the first home point.
    """

    def __init__(
        self, rng: np.random.Generator, children: tuple[int, int], home: tuple[np.ndarray, np.ndarray], home_base: int
    ) -> None:
        self._rng = rng
        self._children = children
        self._home = home
        self._base = home_base
        self._by_child: dict[int, _Child] = {}
        self.moved = 0
        self.reassigned = 0

    def _child(self, person: int) -> _Child:
        child = self._by_child.get(person)
        if child is None:
            child = self._by_child[person] = _Child()
        return child

    def place(self, f: dict[str, np.ndarray], planted: np.ndarray) -> None:
        """Move or reassign the episodes of chunk ``f`` (``person``, ``t``, ``dur`` of -1 when open, ``offer``,
        ``done``, ``fx``, ``fy``, ``w1``) that would overlap another episode of their child, then hold them all.
        """
        ends = np.where(f["dur"] >= 0, f["t"] + f["dur"], _OPEN)
        rows = zip(f["person"].tolist(), f["t"].tolist(), ends.tolist(), strict=True)
        every = PERIOD_MINUTES // WEEK
        for row, (person, start, end) in enumerate(rows):
            child = self._child(person)
            if child.free(start, end):
                child.add(start, end)
                continue
            # A planted episode keeps its child (the ground truth names it) unless no week can hold it.
            if self._fit(f, row, child, start, end, weeks=every if planted[row] else NEAR_WEEKS):
                continue
            if self._reassign(f, row, start, end) or self._fit(f, row, child, start, end, weeks=every):
                continue
            msg = f"no week and no child is free for a synthetic missing episode at minute {start}"
            raise RuntimeError(msg)

    def _fit(self, f: dict[str, np.ndarray], row: int, child: _Child, start: int, end: int, *, weeks: int) -> bool:
        """Move the episode by the nearest whole number of weeks (up to ``weeks``) that its child has free."""
        delta = self._shift(child, start, end, weeks=weeks)
        if delta is None:
            return False
        self._move(f, row, delta)
        child.add(start + delta, end if end == _OPEN else end + delta)
        self.moved += 1
        return True

    @staticmethod
    def _shift(child: _Child, start: int, end: int, *, weeks: int) -> int | None:
        """Minutes to move the episode by (whole weeks, nearest first, earlier before later) so it fits, or None."""
        for k in range(1, weeks + 1):
            for delta in (-k * WEEK, k * WEEK):
                s = start + delta
                e = end if end == _OPEN else end + delta
                if 0 <= s and (s < PERIOD_MINUTES if end == _OPEN else e < PERIOD_MINUTES) and child.free(s, e):
                    return delta
        return None

    @staticmethod
    def _move(f: dict[str, np.ndarray], row: int, delta: int) -> None:
        f["t"][row] += delta
        for key in ("offer", "done"):
            if f[key][row] >= 0:
                moved = f[key][row] + delta
                f[key][row] = moved if moved < PERIOD_MINUTES else -1
        if f["offer"][row] < 0:
            f["done"][row] = -1

    def _reassign(self, f: dict[str, np.ndarray], row: int, start: int, end: int) -> bool:
        """Give the episode to another background child free at its time; False when none of those tried is."""
        lo, hi = self._children
        for person in self._rng.integers(lo, hi, OTHER_CHILDREN):
            child = self._child(int(person))
            if person == f["person"][row] or person == f["w1"][row] or not child.free(start, end):
                continue
            hx, hy = self._home
            old, new = int(f["person"][row]) - self._base, int(person) - self._base
            f["fx"][row] += hx[new] - hx[old]
            f["fy"][row] += hy[new] - hy[old]
            f["person"][row] = person
            child.add(start, end)
            self.reassigned += 1
            return True
        return False
