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

__all__ = ["MACE_LABELS", "mace_payload"]

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


def _children(frame: pd.DataFrame, indicators: list[str]) -> dict[str, list]:
    """One entry per child, in the list's order; ``ev`` pairs each met indicator (its index) with its evidence."""
    code = {name: k for k, name in enumerate(indicators)}
    evidence = []
    for _, row in frame.iterrows():
        met = [m for m in str(row["indicators_met"] or "").split("; ") if m in code]
        evidence.append([[code[m], _text(row.get(f"evidence_{m}")) or ""] for m in met])
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

    Returns
    -------
    dict
        ``indicators`` (names, in the frame's order), ``labels``, ``children`` (``rank``, ``id``, ``age``,
        ``la``, ``latest``, ``ev``: ``[indicator index, evidence text]`` per indicator met), ``places`` (or
        None), ``notes`` and ``period``.
    """
    _check(children, "mace", _CHILD_COLUMNS)
    indicators = [c.removeprefix("evidence_") for c in children.columns if c.startswith("evidence_")]
    return {
        "indicators": indicators,
        "labels": [MACE_LABELS.get(name, name.replace("_", " ")) for name in indicators],
        "children": _children(children, indicators),
        "places": _places(places),
        "notes": [str(n) for n in notes],
        "period": str(period),
    }
