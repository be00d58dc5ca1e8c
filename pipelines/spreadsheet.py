"""Cells safe to open in a spreadsheet: text that a spreadsheet would run as a formula is prefixed with a quote.

A CSV opened in Excel, LibreOffice or Google Sheets runs a cell starting with ``=``, ``+``, ``-`` or ``@`` as a
formula (``=HYPERLINK(...)`` sends data away, ``=cmd|...`` ran programs in older Excel), and a leading tab or
carriage return can hide such a cell. As OWASP recommends ("CSV Injection"), every text cell starting with one
of these characters is written with a single quote in front, which spreadsheets show as text. Numbers stay
numbers: a negative count is not text.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, Any

import pandas as pd

#: The characters that make a spreadsheet read a cell as a formula (OWASP CSV Injection).
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralise_cell(value: Any) -> Any:
    """Return ``value`` with a single quote in front when it is text starting with a formula trigger."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return QUOTE + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` whose text cells are neutralised (see :func:`neutralise_cell`).

    Only text columns (object or string dtype) are touched; numeric, boolean and time columns are kept as
    they are. Column names are neutralised too (they are the header row).
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or isinstance(series.dtype, pd.StringDtype):
            text = series.astype("string")
            risky = text.str.startswith(FORMULA_TRIGGERS).fillna(False).astype(bool)
            if series.dtype == object:
                risky &= series.map(lambda v: isinstance(v, str)).astype(bool)
            if risky.any():
                series = series.astype("object").copy()
                series[risky] = QUOTE + text[risky].astype(str)
                out[column] = series
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def write_csv(frame: pd.DataFrame, target: str | Path | IO[str], **to_csv: Any) -> None:
    """Write ``frame`` as CSV with every text cell neutralised; ``to_csv`` goes to :meth:`DataFrame.to_csv`.

    ``index`` defaults to False and ``quoting`` to :data:`csv.QUOTE_MINIMAL`.
    """
    to_csv.setdefault("index", False)
    to_csv.setdefault("quoting", csv.QUOTE_MINIMAL)
    neutralise_frame(frame).to_csv(target, **to_csv)
