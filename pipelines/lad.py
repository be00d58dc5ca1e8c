"""Packaged ONS local-authority district outlines for England, so every map can show where it is."""

from __future__ import annotations

from functools import cache
from importlib import resources

import geopandas as gpd
import numpy as np
import shapely

__all__ = ["ATTRIBUTION", "local_authorities", "local_authorities_for_points", "local_authority"]

#: What every page drawing these outlines must say (Open Government Licence v3.0).
ATTRIBUTION = (
    "Source: Office for National Statistics licensed under the Open Government Licence v3.0. "
    "Contains OS data © Crown copyright and database right 2024."
)


@cache
def _read() -> gpd.GeoDataFrame:
    ref = resources.files("ctxrisk.pipelines").joinpath("data", "lad_england_may2024.geojson")
    with resources.as_file(ref) as path:
        frame = gpd.read_file(path)
    return frame[["code", "name", "geometry"]].set_crs("EPSG:4326", allow_override=True)


def local_authorities() -> gpd.GeoDataFrame:
    """Every local authority district of England (May 2024), generalised.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code`` (ONS GSS code, e.g. ``"E06000049"``), ``name`` and ``geometry`` (WGS84 multipolygons),
        one row per district, sorted by code. A copy: callers may change it.
    """
    return _read().copy()


def local_authority(code_or_name: str) -> gpd.GeoDataFrame:
    """One local authority district by its ONS code or its name (case and surrounding spaces ignored).

    Parameters
    ----------
    code_or_name : str
        An ONS code such as ``"E06000049"`` or a name such as ``"Cheshire East"``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row with ``code``, ``name`` and ``geometry`` (WGS84).

    Raises
    ------
    ValueError
        When no district of England has that code or name (the message suggests close names).
    """
    frame = _read()
    wanted = str(code_or_name).strip().casefold()
    hit = frame[(frame["code"].str.casefold() == wanted) | (frame["name"].str.casefold() == wanted)]
    if len(hit) == 1:
        return hit.reset_index(drop=True).copy()
    close = sorted(n for n in frame["name"] if wanted and wanted[:4] in n.casefold())[:5]
    hint = f"; did you mean {', '.join(close)}?" if close else " (use an ONS code such as E06000049)"
    msg = f"no local authority district of England has the code or name {code_or_name!r}{hint}"
    raise ValueError(msg)


def local_authorities_for_points(latitude, longitude) -> np.ndarray:
    """The ONS code of the district holding each point (``None`` outside England).

    Parameters
    ----------
    latitude, longitude : array-like of float
        WGS84 coordinates.

    Returns
    -------
    numpy.ndarray of object
        One code (or ``None``) per point.
    """
    lat = np.asarray(latitude, dtype=float)
    lon = np.asarray(longitude, dtype=float)
    out = np.full(lat.shape, None, dtype=object)
    if lat.size == 0:
        return out
    frame = _read()
    points = shapely.points(lon, lat)
    point_idx, poly_idx = frame.sindex.query(points, predicate="intersects")
    out[point_idx] = frame["code"].to_numpy()[poly_idx]
    return out
