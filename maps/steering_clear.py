"""Keep the steering page's outline vertices off stored event positions (compared inside DuckDB)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ctxrisk.pipelines.errors import ValidationError

__all__ = ["clear_of_event_positions"]

logger = logging.getLogger(__name__)


def _keys(micro: np.ndarray) -> np.ndarray:
    """One int64 per (lon, lat) pair of micro-degrees (|lon| < 9e6 and 0 < lat < 9e7 in Great Britain)."""
    return micro[:, 0] * 100_000_000 + micro[:, 1]


def _event_position_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    rows = con.execute(
        "select table_name, column_name from information_schema.columns where table_schema = 'raw'"
    ).fetchall()
    by_table: dict[str, set[str]] = {}
    for table, column in rows:
        by_table.setdefault(table, set()).add(column)
    out = []
    for table, cols in sorted(by_table.items()):
        for lat in sorted(c for c in cols if c.endswith("latitude")):
            lon = lat.replace("latitude", "longitude")
            if lon in cols:
                out.append((table, lat, lon))
    return out


def clear_of_event_positions(
    con: duckdb.DuckDBPyConnection, layers: Sequence[gpd.GeoDataFrame], *, max_rounds: int = 5
) -> tuple[list[gpd.GeoDataFrame], int]:
    """Move any outline vertex that lies within 1e-6 degree of a stored event position by 2-3e-6 degree.

    Outlines are written to 6 decimal places. With a million events, a few H3 or boundary vertices coincide
    with an event position to 6 places by chance (an event 0.1 m from a cell corner); the page would then
    hold a number pair equal to that event's coordinates. Every such vertex moves north by 2e-6 degree
    (about 0.2 m; 3e-6 when 2e-6 would end in a 0), the same way in every layer so shared vertices stay
    shared, and the check is repeated. Event positions are compared inside DuckDB (every ``*latitude`` /
    ``*longitude`` column pair of the raw layer); none is read into Python.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    layers : sequence of geopandas.GeoDataFrame
        WGS84 outlines already rounded by :func:`ctxrisk.maps.steering.full_precision`.
    max_rounds : int
        Checks before giving up (a vertex still on an event then raises).

    Returns
    -------
    (list of geopandas.GeoDataFrame, int)
        The layers with moved vertices, and how many distinct vertices moved.

    Raises
    ------
    ValidationError
        When a vertex still coincides with an event after ``max_rounds`` moves.
    """
    sources = _event_position_columns(con)
    layers = [layer.copy() for layer in layers]
    moved: dict[int, tuple[int, int]] = {}
    for _round in range(max_rounds):
        parts = [shapely.get_coordinates(layer.geometry.values) for layer in layers if len(layer)]
        if not parts or not sources:
            return layers, len(moved)
        micro = np.unique(np.rint(np.concatenate(parts) * 1e6).astype(np.int64), axis=0)
        # each vertex with its 3 x 3 neighbouring micro-degree keys, so the join is an equi-join (hash join)
        d = np.array([(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)], dtype=np.int64)
        vertices = pd.DataFrame(
            {
                "klon": np.repeat(micro[:, 0], 9),
                "klat": np.repeat(micro[:, 1], 9),
                "elon": (micro[:, None, 0] + d[None, :, 0]).ravel(),
                "elat": (micro[:, None, 1] + d[None, :, 1]).ravel(),
            }
        )
        events = " union ".join(
            f'select cast(floor("{lat}" * 1e6) as bigint) as klat, cast(floor("{lon}" * 1e6) as bigint) as klon '
            f'from raw."{table}" where "{lat}" is not null and "{lon}" is not null'
            for table, lat, lon in sources
        )
        con.register("_steering_vertices", vertices)
        try:
            hits = con.execute(
                f"with e as ({events}) select distinct v.klon, v.klat from _steering_vertices v join e "
                "on e.klat = v.elat and e.klon = v.elon"
            ).fetchnumpy()
        finally:
            con.unregister("_steering_vertices")
        if not len(hits["klon"]):
            return layers, len(moved)
        old = np.column_stack([hits["klon"], hits["klat"]]).astype(np.int64)
        step = np.where((old[:, 1] + 2) % 10 == 0, 3, 2)
        new = old.copy()
        new[:, 1] += step
        mapping = dict(zip(_keys(old).tolist(), map(tuple, new.tolist()), strict=True))
        for k, v in mapping.items():
            moved[k] = v
        for layer in layers:
            if not len(layer):
                continue
            coords = shapely.get_coordinates(layer.geometry.values)
            cm = np.rint(coords * 1e6).astype(np.int64)
            hit = np.isin(_keys(cm), list(mapping))
            if hit.any():
                cm[hit] = [mapping[k] for k in _keys(cm[hit]).tolist()]
                arr = np.array(layer.geometry.values, dtype=object, copy=True)
                layer["geometry"] = shapely.set_coordinates(arr, cm / 1e6)
        logger.info("moved %s outline vertices off event positions", f"{len(mapping):,}")
    msg = f"outline vertices still coincide with event positions after {max_rounds} moves"
    raise ValidationError(msg)
