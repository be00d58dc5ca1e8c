"""Write analysis frames for the command line: a rich table, CSV, JSON records or a GeoJSON feature collection."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import IO, Any

import numpy as np
import pandas as pd
import shapely
from rich.console import Console
from rich.table import Table
from rich.text import Text
from shapely import wkt as shapely_wkt

from ctxrisk.cli.common import make_console
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.spreadsheet import write_csv

__all__ = ["FORMATS", "emit", "to_geojson"]

FORMATS: tuple[str, ...] = ("table", "csv", "json", "geojson")
#: Columns never printed as a table cell or GeoJSON property (bulky or machine-only).
_BULKY = ("geometry_wkt", "parameters", "profile", "events_excluded")


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return None if math.isnan(f) else f
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


#: Columns printed with five decimals (about 1 m): a place must be findable from the table.
_COORDINATES = ("latitude", "longitude", "lat", "lon", "lng")


def _cell_kind(name: str, values: pd.Series) -> str:
    """How a table column prints: ``coordinate``, ``integer`` (integer columns, and float columns whose
    values are all whole numbers, such as counts after a merge), or ``value``."""
    if name in _COORDINATES:
        return "coordinate"
    if pd.api.types.is_bool_dtype(values):
        return "value"
    if pd.api.types.is_integer_dtype(values):
        return "integer"
    if pd.api.types.is_float_dtype(values):
        present = values.dropna().to_numpy(dtype=float)
        if present.size and np.isfinite(present).all() and (present == np.round(present)).all():
            return "integer"
    return "value"


def _cell(value: Any, kind: str) -> str:
    """One table cell: integers with thousands separators, coordinates to 5 decimals, other numbers to
    3 significant figures (large ones whole, with separators)."""
    v = _plain(value)
    if v is None:
        return ""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if kind == "coordinate":
        return f"{v:.5f}"
    if kind == "integer" or isinstance(v, int):
        return f"{round(v):,}"
    return f"{v:,.0f}" if abs(v) >= 1_000 else f"{v:.3g}"


def to_geojson(frame: pd.DataFrame, *, geometry: str = "geometry_wkt") -> dict[str, Any]:
    """Return a GeoJSON FeatureCollection (WGS84) of ``frame``: geometry from the WKT column, the other
    columns (except bulky ones) as properties.

    Raises
    ------
    ValidationError
        When ``frame`` has no ``geometry`` column.
    """
    if geometry not in frame.columns:
        msg = f"GeoJSON needs a {geometry!r} column; this result has {list(frame.columns)}"
        raise ValidationError(msg)
    props = [c for c in frame.columns if c not in _BULKY]
    features = []
    for row in frame.itertuples(index=False):
        rec = row._asdict()
        wkt_text = rec.get(geometry)
        geom = shapely.geometry.mapping(shapely_wkt.loads(wkt_text)) if isinstance(wkt_text, str) else None
        features.append({"type": "Feature", "geometry": geom, "properties": {c: _plain(rec[c]) for c in props}})
    return {"type": "FeatureCollection", "features": features}


def emit(
    frame: pd.DataFrame,
    *,
    fmt: str,
    out: IO[str],
    console: Console | None = None,
    columns: Sequence[str] | None = None,
    title: str = "",
    limit: int | None = None,
) -> None:
    """Write ``frame`` to ``out`` as ``fmt``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows to write (all of them for csv/json/geojson).
    fmt : {"table", "csv", "json", "geojson"}
    out : text stream
        Where csv/json/geojson go (stdout).
    console : rich.console.Console or None
        Where a table goes.
    columns : sequence of str or None
        Columns for table/csv/json (default: all but bulky ones); GeoJSON always carries geometry.
    title : str
        Table title.
    limit : int or None
        Rows shown in a table.
    """
    if fmt not in FORMATS:
        msg = f"--format must be one of {list(FORMATS)}, got {fmt!r}"
        raise ValidationError(msg)
    cols = list(columns) if columns is not None else [c for c in frame.columns if c not in _BULKY]
    if fmt == "geojson":
        out.write(json.dumps(to_geojson(frame)) + "\n")
        return
    view = frame[cols]
    if fmt == "csv":
        write_csv(view, out, lineterminator="\n")  # formula-like cells quoted (ctxrisk.pipelines.spreadsheet)
        return
    if fmt == "json":
        records = [{c: _plain(v) for c, v in zip(cols, row, strict=True)} for row in view.itertuples(index=False)]
        out.write(json.dumps(records) + "\n")
        return
    table = Table(title=title or None)
    for c in cols:
        table.add_column(c, overflow="fold")
    shown = view if limit is None else view.head(limit)
    kinds = [_cell_kind(c, shown[c]) for c in cols]
    for row in shown.itertuples(index=False):
        cells = [Text(_cell(v, kind)) for v, kind in zip(row, kinds, strict=True)]
        table.add_row(*cells)  # Text: data such as "[bold red]" or "[/x]" is shown as written, not as markup
    (console or make_console(file=out)).print(table)
