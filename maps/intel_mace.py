"""The explorer's MACE view: the MACE 1 children (indicators met, with the evidence) and the MACE 2 places.

The same list as ``ctxrisk mace`` (:func:`ctxrisk.analytics.protect.mace.mace_list`, in its order) and its
places (:func:`ctxrisk.analytics.protect.mace.mace_places`, exact counts: the explorer is OFFICIAL-SENSITIVE),
packed as column arrays for ``templates/intel_mace.js``. Every value is data to be shown as text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from ctxrisk.analytics.protect.mace import INDICATOR_LABELS
from ctxrisk.pipelines.errors import ValidationError

__all__ = ["EVIDENCE_CHARS", "MACE_LABELS", "MACE_LIMIT", "mace_payload"]

#: Most children put into the page (the first in the list's order); ``ctxrisk mace`` gives the whole list.
MACE_LIMIT = 2_000
#: Longest evidence text kept per indicator; a longer one is cut at an item boundary and says how many more.
EVIDENCE_CHARS = 1_500

#: How each indicator is named on the page: the wording of ``ctxrisk mace``.
MACE_LABELS: dict[str, str] = INDICATOR_LABELS

_CHILD_COLUMNS = ("rank", "person_id", "age_years", "looked_after", "indicators_met")
_PLACE_COLUMNS = ("rank", "name", "children_linked", "mace_children", "events_linked", "last_linked")


def _text(value: Any) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _whole(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _check(frame: pd.DataFrame, name: str, needed: Iterable[str]) -> None:
    if not isinstance(frame, pd.DataFrame):
        msg = f"{name} must be a pandas DataFrame, not {type(frame).__name__}"
        raise ValidationError(msg)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        msg = f"{name} lacks the columns {missing} (give mace_list(...).frame and mace_places(...))"
        raise ValidationError(msg)


def _shorten(text: str, limit: int) -> str:
    """``text`` cut before ``limit`` characters at a ``"; "`` or ``", "`` item boundary, saying what is left out."""
    if len(text) <= limit:
        return text
    cut = max(text.rfind("; ", 0, limit), text.rfind(", ", 0, limit))
    cut = cut if cut > 0 else limit
    rest = text[cut:].lstrip(";, ")
    items = rest.count("; ") + rest.count(", ") + 1
    return f"{text[:cut]} ... and {items} more (see ctxrisk mace)"


def _children(frame: pd.DataFrame, indicators: list[str], evidence_chars: int) -> dict[str, list]:
    """One entry per child, in the list's order; ``ev`` pairs each met indicator (its index) with its evidence."""
    code = {name: k for k, name in enumerate(indicators)}
    evidence = []
    for _, row in frame.iterrows():
        met = [m for m in str(row["indicators_met"] or "").split("; ") if m in code]
        evidence.append([[code[m], _shorten(_text(row.get(f"evidence_{m}")) or "", evidence_chars)] for m in met])
    la = frame["looked_after"].astype("boolean")
    return {
        "rank": [int(r) for r in frame["rank"]],
        "id": [str(p) for p in frame["person_id"]],
        "age": [_whole(a) for a in frame["age_years"]],
        "la": [None if pd.isna(v) else int(bool(v)) for v in la],
        "latest": [_text(v) for v in frame.get("latest_evidence", pd.Series([None] * len(frame)))],
        "ev": evidence,
    }


def _places(places: pd.DataFrame | None) -> dict[str, list] | None:
    if places is None:
        return None
    _check(places, "mace_places", _PLACE_COLUMNS)
    return {
        "rank": [int(r) for r in places["rank"]],
        "name": [_text(n) or "" for n in places["name"]],
        "children": [int(v) for v in places["children_linked"]],
        "mace": [int(v) for v in places["mace_children"]],
        "events": [int(v) for v in places["events_linked"]],
        "last": [_text(v) for v in places["last_linked"]],
    }


def mace_payload(
    children: pd.DataFrame,
    *,
    places: pd.DataFrame | None = None,
    notes: Iterable[str] = (),
    period: str = "",
    limit: int = MACE_LIMIT,
    evidence_chars: int = EVIDENCE_CHARS,
) -> dict[str, Any]:
    """The page's MACE data.

    Parameters
    ----------
    children : pandas.DataFrame
        :attr:`MaceResult.frame <ctxrisk.analytics.protect.mace.MaceResult>`: ``rank``, ``person_id``,
        ``age_years``, ``looked_after``, ``indicators_met`` and ``evidence_<indicator>`` columns.
    places : pandas.DataFrame or None
        :func:`~ctxrisk.analytics.protect.mace.mace_places` (``steering=False``: exact counts).
    notes : iterable of str
        Indicators that could not be assessed (:attr:`MaceResult.notes`).
    period : str
        The evidence window the list was made for, as shown on the page.
    limit : int
        Most children kept (``>= 1``; default :data:`MACE_LIMIT`): the first in the list's order. The page
        says when the list is longer.
    evidence_chars : int
        Longest evidence text per indicator (``>= 40``; default :data:`EVIDENCE_CHARS`): a longer one is cut
        at an item boundary and ends "... and N more (see ctxrisk mace)".

    Returns
    -------
    dict
        ``indicators`` (names, in the frame's order), ``labels``, ``children`` (``rank``, ``id``, ``age``,
        ``la``, ``latest``, ``ev``: ``[indicator index, evidence text]`` per indicator met), ``total`` (children
        on the whole list), ``places`` (or None), ``notes`` and ``period``.
    """
    _check(children, "mace", _CHILD_COLUMNS)
    if int(limit) < 1 or int(evidence_chars) < 40:
        msg = f"limit must be >= 1 and evidence_chars >= 40, got {limit!r} and {evidence_chars!r}"
        raise ValidationError(msg)
    indicators = [c.removeprefix("evidence_") for c in children.columns if c.startswith("evidence_")]
    kept = children.head(int(limit))
    return {
        "indicators": indicators,
        "labels": [MACE_LABELS.get(name, name.replace("_", " ")) for name in indicators],
        "children": _children(kept, indicators, int(evidence_chars)),
        "total": len(children),
        "places": _places(places),
        "notes": [str(n) for n in notes],
        "period": str(period),
    }
