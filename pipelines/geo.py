"""Coordinate conversion between WGS84 and British National Grid (EPSG:27700) with pyproj."""

from __future__ import annotations

import functools

import numpy as np
from pyproj import Transformer

WGS84 = "EPSG:4326"
BNG = "EPSG:27700"

# Generous bounds of Great Britain and its waters; a point outside them is an input error, not a place.
LAT_RANGE = (49.8, 60.9)
LON_RANGE = (-8.7, 1.8)
EASTING_RANGE = (0.0, 700_000.0)
NORTHING_RANGE = (0.0, 1_300_000.0)


@functools.cache
def _transformer(src: str, dst: str) -> Transformer:
    """One pyproj Transformer per direction, made on first use."""
    return Transformer.from_crs(src, dst, always_xy=True)


def _transform(src: str, dst: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out_x, out_y = _transformer(src, dst).transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(out_x, dtype=float), np.asarray(out_y, dtype=float)


def wgs84_to_bng(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS84 latitude/longitude (degrees) to BNG easting/northing (metres).

    PROJ uses the published 7-parameter Helmert transformation unless the OSTN15 grid is installed,
    which is accurate to a few metres: enough for 100 m cells, not for surveying.
    """
    return _transform(WGS84, BNG, lon, lat)


def bng_to_wgs84(easting: np.ndarray, northing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert BNG easting/northing (metres) to WGS84 latitude/longitude (degrees)."""
    lon, lat = _transform(BNG, WGS84, easting, northing)
    return lat, lon


def in_gb_wgs84(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Boolean mask of points inside the WGS84 bounds of Great Britain."""
    return (lat >= LAT_RANGE[0]) & (lat <= LAT_RANGE[1]) & (lon >= LON_RANGE[0]) & (lon <= LON_RANGE[1])


def in_gb_bng(easting: np.ndarray, northing: np.ndarray) -> np.ndarray:
    """Boolean mask of points inside the BNG bounds of Great Britain."""
    return (
        (easting >= EASTING_RANGE[0])
        & (easting <= EASTING_RANGE[1])
        & (northing >= NORTHING_RANGE[0])
        & (northing <= NORTHING_RANGE[1])
    )
