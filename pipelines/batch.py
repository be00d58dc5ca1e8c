"""A file's rows ready to store, the rows it refuses with their reasons, and what an ingest reports."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ctxrisk.pipelines.plausibility import DateWindow
from ctxrisk.pipelines.rowchecks import check_person_ids, check_rows
from ctxrisk.pipelines.tabular import TextTable

log = logging.getLogger(__name__)

MAX_TEXT = 500
REJECT_COLUMNS = ["line", "column_name", "value", "reason", "rule"]


@dataclass
class ExtraRows:
    """Rows one file also feeds into a second raw table of its own source (e.g. an SSDA903 XML return's header
    children into ``raw.ssda903_children``); stored rows with the same key are replaced, as for the main rows.

    Attributes
    ----------
    table : str
        Target raw table.
    key : tuple of str
        Columns identifying a row; keys must be unique within ``rows``.
    rows : DataFrame
        Rows with the table's columns (``file_id`` is added on load).
    """

    table: str
    key: tuple[str, ...]
    rows: pd.DataFrame


@dataclass(frozen=True)
class EpisodeOverlaps:
    """The check a batch of a child's episodes passes when it is stored: no two may overlap in time.

    See :mod:`ctxrisk.pipelines.episodes` for the rule.

    Attributes
    ----------
    source : str
        The ``source`` value the batch's rows are stored with; only stored rows of this source are compared.
    timezone : str
        IANA zone the times in refusal reasons are shown in (``[general] local_timezone``).
    """

    source: str = "partnership"
    timezone: str = "Europe/London"


@dataclass
class Batch:
    """Rows ready to load from one file, and the rows refused.

    Attributes
    ----------
    kind : str
        The ingest kind (``incidents``, ``police-uk-street`` …).
    table : str
        Target raw table, e.g. ``raw.incidents``.
    key : tuple of str
        Columns identifying a row: a re-export with the same key replaces the stored row.
    path : Path
    sha256 : str
    rows_read : int
        Records read from the file.
    rows : DataFrame
        Good rows with the raw table's columns (``file_id`` is added on load).
    rejects : DataFrame
        Columns ``line``, ``column_name``, ``value``, ``reason``, ``rule``; one or more per refused record.
    rejected_records : int
        Distinct records refused; ``rows_read == len(rows) + rejected_records``.
    notes : list of str
        Things the analyst should know (ignored columns, unlocated rows …).
    extra : list of ExtraRows
        Rows for other tables derived from the same file, loaded in the same transaction (not counted in
        ``rows_read``).
    overlaps : EpisodeOverlaps or None
        When set, rows are episodes of a child: on storing, one that overlaps another episode of the same
        child (in the file, or stored from the same source) is refused instead of loaded.
    """

    kind: str
    table: str
    key: tuple[str, ...]
    path: Path
    sha256: str
    rows_read: int
    rows: pd.DataFrame
    rejects: pd.DataFrame
    rejected_records: int
    notes: list[str] = field(default_factory=list)
    extra: list[ExtraRows] = field(default_factory=list)
    overlaps: EpisodeOverlaps | None = None


@dataclass
class IngestResult:
    """What one file's ingest did."""

    kind: str
    path: str
    file_id: str | None
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    replaced: int = 0
    skipped_same_file: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "path": self.path,
            "file_id": self.file_id,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "rows_replaced": self.replaced,
            "skipped_same_file": self.skipped_same_file,
            "notes": self.notes,
        }


class RejectCollector:
    """Collects refused records as vectorised (row position, column, value, reason) blocks."""

    def __init__(self, n_rows: int) -> None:
        self.n_rows = n_rows
        self.bad = np.zeros(n_rows, dtype=bool)
        self._blocks: list[pd.DataFrame] = []

    def add(
        self,
        mask: pd.Series | np.ndarray,
        column: str | None,
        values: pd.Series | None,
        reason: str | np.ndarray,
        rule: str | None = None,
    ) -> None:
        """Refuse the records where ``mask`` is True; ``reason`` is one text or one per refused record."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        positions = np.flatnonzero(mask)
        self.bad |= mask
        vals = (  # take the refused positions first: converting a whole column of millions of strings is slow
            pd.Series(values.iloc[positions].to_numpy(), dtype="object").astype("string").str.slice(0, 200)
            if values is not None
            else pd.Series([None] * len(positions), dtype="object")
        )
        self._blocks.append(
            pd.DataFrame(
                {"pos": positions, "column_name": column, "value": vals.to_numpy(), "reason": reason, "rule": rule}
            )
        )

    def extend(self, other: RejectCollector) -> None:
        """Take over ``other``'s refused records (same rows), after this collector's own."""
        self.bad |= other.bad
        self._blocks.extend(other._blocks)

    def frame(self, lines: np.ndarray) -> pd.DataFrame:
        if not self._blocks:
            return pd.DataFrame(columns=REJECT_COLUMNS)
        out = pd.concat(self._blocks, ignore_index=True).sort_values(["pos"], kind="stable")
        out.insert(0, "line", lines[out.pop("pos").to_numpy()])
        return out[REJECT_COLUMNS].reset_index(drop=True)


def _keep_rows(rows: pd.DataFrame, good: np.ndarray) -> pd.DataFrame:
    """The rows where ``good`` is true, on a fresh index.

    Arrow-backed text is filtered by Arrow's kernel column by column, where pandas' ``loc`` takes it row by
    index.
    """
    mask = pa.array(good, type=pa.bool_())
    texts = [
        name
        for name in rows.columns
        if isinstance(rows[name].dtype, pd.StringDtype) and rows[name].dtype.storage == "pyarrow"
    ]
    others = rows.drop(columns=texts).loc[good].reset_index(drop=True)
    kept = {}
    for name in rows.columns:
        if name in texts:  # the same string dtype back (pandas' NA or NaN flavour)
            values = rows[name].array
            kept[name] = pd.Series(
                type(values)(pa.array(values).filter(mask), dtype=rows[name].dtype), index=others.index
            )
        else:
            kept[name] = others[name]
    return pd.DataFrame(kept, index=others.index)


def finish_batch(
    kind: str,
    table_name: str,
    key: tuple[str, ...],
    table: TextTable,
    rows: pd.DataFrame,
    collector: RejectCollector,
    notes: list[str],
    *,
    window: DateWindow | None = None,
) -> Batch:
    """Drop refused records, attach line numbers and structural rejects, and build the Batch.

    Every batch first passes :mod:`ctxrisk.pipelines.rowchecks` (identifiers in free text, identifiers as
    person IDs, implausible dates; ``window`` defaults to ``[plausibility]``'s defaults).
    """
    check_person_ids(kind, rows, table.lines, table.path)
    check_rows(kind, rows, collector, key=key, window=window)
    good = ~collector.bad
    rows = rows.reset_index(drop=True) if good.all() else _keep_rows(rows, good)
    rows["line"] = table.lines[good]
    rejects = collector.frame(table.lines)
    if table.rejects:
        structural = pd.DataFrame(
            [
                {"line": r.line, "column_name": r.column, "value": r.value, "reason": r.reason, "rule": None}
                for r in table.rejects
            ]
        )
        rejects = pd.concat([structural, rejects], ignore_index=True).sort_values("line", kind="stable")
    rejected = int(collector.bad.sum()) + len(table.rejects)
    log.info("%s %s: %s rows ready, %s refused", kind, table.path.name, f"{len(rows):,}", f"{rejected:,}")
    return Batch(
        kind=kind,
        table=table_name,
        key=key,
        path=table.path,
        sha256=table.sha256,
        rows_read=table.rows_read,
        rows=rows,
        rejects=rejects.reset_index(drop=True),
        rejected_records=rejected,
        notes=notes,
    )
