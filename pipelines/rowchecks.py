"""Row checks every batch passes before it is stored: identifiers in free text and implausible dates.

Decisions (see ``docs/operations.md``, "What ingest refuses"):

* a free-text value holding a full postcode, a valid NHS number, an e-mail address or a phone number rejects
  its row, with the column and the kind of identifier as the reason; the value is not kept;
* a person ID that is a valid NHS number (or an e-mail address, phone number or postcode) refuses the whole
  file (the export uses identifiers as IDs): ingest it with ``--pseudonymise``, which stores keyed
  pseudonyms instead;
* a refused value that holds an identifier is not kept in ``raw.rejected_rows`` (see
  :func:`ctxrisk.pipelines.pseudonymise.scrub_rejects`);
* an event time outside ``[plausibility]`` or a birth in the future or more than ``max_age_years`` ago
  rejects its row.

Rejected rows go through the batch's :class:`~ctxrisk.pipelines.ingest.RejectCollector`, so rows read =
loaded + rejected still holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ctxrisk.pipelines.errors import IdentifierError
from ctxrisk.pipelines.identifiers import identifier_in_values
from ctxrisk.pipelines.plausibility import DateWindow, implausible_dates
from ctxrisk.pipelines.pseudonymise import PERSON_COLUMNS

if TYPE_CHECKING:
    from pathlib import Path

    from ctxrisk.pipelines.batch import RejectCollector

#: Columns holding codes or record keys from the source system, not free text.
CODE_COLUMNS = frozenset({"line", "file_id", "lsoa_code", "time_precision", "lsoa_vintage"})
#: Kinds whose text is public reference data, not about people (boundary names and codes).
UNCHECKED_KINDS = frozenset({"boundaries"})
IDENTIFIER_RULE = "identifier"
DATE_RULE = "plausible-date"


def _text_columns(rows: pd.DataFrame, key: tuple[str, ...]) -> list[str]:
    return [
        c
        for c in rows.columns
        if c not in PERSON_COLUMNS
        and c not in CODE_COLUMNS
        and c not in key
        and (rows[c].dtype == object or isinstance(rows[c].dtype, pd.StringDtype))
    ]


def _as_arrow_text(series: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The column as Arrow text without a Python-level pass (Arrow-backed strings are taken as they are)."""
    values = series.array if isinstance(series.dtype, pd.StringDtype) else series.to_numpy(dtype=object)
    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # values that are not all text: compared as their text
        return pa.array(series.astype("string").array, type=pa.string())


def _by_distinct(series: pd.Series) -> np.ndarray | None:
    """Each row's identifier reason (or None), searched once per distinct value; None when no value has one.

    The distinct values come from Arrow (``pyarrow.compute.unique``); only when one holds an identifier are
    the rows mapped back (``index_in``), so the common case costs one pass over the column.
    """
    array = _as_arrow_text(series)
    uniques = pc.unique(array)
    reasons = identifier_in_values(uniques)
    hits = [i for i, r in enumerate(reasons) if r is not None]
    if not hits:
        return None
    found = uniques.take(pa.array(hits, type=pa.int64()))
    where = pc.index_in(array, value_set=found).to_numpy(zero_copy_only=False)
    out = np.full(len(series), None, dtype=object)
    positions = np.flatnonzero(~pd.isna(where))
    out[positions] = np.array([reasons[h] for h in hits], dtype=object)[where[positions].astype(np.int64)]
    return out


def _person_ids(series: pd.Series) -> pd.Series:
    """Person IDs as text, one per row per ID (lists exploded), indexed by row position."""
    if series.dtype == object and series.map(lambda v: isinstance(v, list | tuple | np.ndarray)).any():
        series = series.explode()
    return series.dropna()


def check_person_ids(kind: str, rows: pd.DataFrame, lines: np.ndarray, path: Path) -> None:
    """Refuse the file when a person ID is a valid NHS number, an e-mail address, a phone number or a postcode.

    Such an ID identifies the person outright; under ``--pseudonymise`` IDs are keyed pseudonyms by now and
    never match.

    Raises
    ------
    IdentifierError
        Naming the column, how many rows and the first line; never the value.
    """
    rows = rows.reset_index(drop=True)
    for column in sorted(PERSON_COLUMNS & set(rows.columns)):
        ids = _person_ids(rows[column])
        if ids.empty:
            continue
        reasons = _by_distinct(ids)
        if reasons is None:
            continue
        hits = pd.notna(reasons)
        position = int(ids.index[hits.argmax()])
        line = int(lines[position]) if position < len(lines) else None
        msg = (
            f"{path}: line {line}: refused, column {column!r} {reasons[hits.argmax()]} in "
            f"{len(set(ids.index[hits])):,} row(s): a person ID must not identify the person. Ingest with "
            "--pseudonymise (person IDs are then stored as keyed pseudonyms) or export the system's own "
            "person IDs; nothing was loaded from this file"
        )
        raise IdentifierError(msg)


def check_rows(
    kind: str,
    rows: pd.DataFrame,
    collector: RejectCollector,
    *,
    key: tuple[str, ...] = (),
    window: DateWindow | None = None,
) -> int:
    """Reject rows holding identifiers in free text or implausible dates; return how many rows were refused.

    Parameters
    ----------
    kind : str
        The ingest kind; ``boundaries`` is not checked for identifiers (public names and codes).
    rows : DataFrame
        The shaped rows, aligned with ``collector``.
    key : tuple of str
        Record-key columns (system references), not checked as free text.
    window : DateWindow or None
        Default: ``DateWindow.from_settings()`` (1990-01-01 to tomorrow, births within 110 years).
    """
    before = int(collector.bad.sum())
    if kind not in UNCHECKED_KINDS:
        for column in _text_columns(rows, key):
            reasons = _by_distinct(rows[column])
            if reasons is None:
                continue
            mask = pd.notna(reasons) & ~collector.bad
            if mask.any():
                text = np.array([f"identifier in {column}: {r} (value not kept)" for r in reasons[mask]], dtype=object)
                collector.add(mask, column, None, text, IDENTIFIER_RULE)
    for mask, column, values, reasons in implausible_dates(rows, window or DateWindow.from_settings()):
        mask = mask & ~collector.bad
        if mask.any():
            collector.add(mask, column, values, reasons[mask], DATE_RULE)
    return int(collector.bad.sum()) - before
