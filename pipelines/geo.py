"""Coordinate conversion between WGS84 and British National Grid (EPSG:27700) with pyproj."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from pyproj import Transformer

WGS84 = "EPSG:4326"
BNG = "EPSG:27700"

# Generous bounds of Great Britain and its waters; a point outside them is an input error, not a place.
LAT_RANGE = (49.8, 60.9)
LON_RANGE = (-8.7, 1.8)
EASTING_RANGE = (0.0, 700_000.0)
NORTHING_RANGE = (0.0, 1_300_000.0)


# Above this many points the transform is split over threads (PROJ runs without the interpreter lock).
THREADED_POINTS = 200_000
MAX_TRANSFORM_THREADS = 4

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_WARMED = False


_TRANSFORMERS: dict[tuple[str, str], Transformer] = {}
_TRANSFORMERS_LOCK = threading.Lock()


def _transformer(src: str, dst: str) -> Transformer:
    # pyproj (3.1+) keeps one PROJ object per thread behind a Transformer, built on a thread's first call
    # (about 0.06 s); the long-lived pool below means each thread builds it once per process. One Transformer
    # per direction, made under a lock: threads racing to make their own would each build a PROJ object for a
    # Transformer that is then thrown away.
    with _TRANSFORMERS_LOCK:
        found = _TRANSFORMERS.get((src, dst))
        if found is None:
            found = _TRANSFORMERS[(src, dst)] = Transformer.from_crs(src, dst, always_xy=True)
        return found


def _pool_threads() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_TRANSFORM_THREADS))


def _pool() -> ThreadPoolExecutor:
    """The process's transform threads, started on first use."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(_pool_threads(), thread_name_prefix="ctxrisk-proj")
        return _POOL


def warm_up() -> None:
    """Build the WGS84 -> BNG transform on every transform thread in the background; returns at once.

    Called when an ingest starts, so PROJ's set-up overlaps reading the file instead of following it. Only the
    direction every located row needs is built: each PROJ object takes about 0.05 s, and a small file's
    transform waits behind whatever the threads are building (with both directions, the first transform of a
    15-row outcomes file waited 0.2 s). The inverse, for files that give only easting/northing, is built on
    its first use.
    """
    global _WARMED
    with _POOL_LOCK:
        if _WARMED:
            return
        _WARMED = True
    threads = _pool_threads()
    # Each task waits until all have started, so every thread takes one and builds its own PROJ object; a
    # thread is then free as soon as its own is built (waiting after building held the first-built thread
    # until the last was done, and a small file's transform with it).
    started = threading.Barrier(threads, timeout=10)

    def build() -> None:
        try:
            started.wait()
        except threading.BrokenBarrierError:
            pass
        # On every thread: a small file is transformed on whichever thread is free.
        _transformer(WGS84, BNG).transform(-2.0, 53.0)

    for _ in range(threads):
        _pool().submit(build)


def _transform(src: str, dst: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Transform points on the transform threads, in equal slices when there are many (same results as one call)."""
    x = np.ascontiguousarray(x, dtype=float)
    y = np.ascontiguousarray(y, dtype=float)
    slices = min(_pool_threads(), max(1, len(x) // (THREADED_POINTS // 2)))
    bounds = np.linspace(0, len(x), slices + 1).astype(int)
    out_x, out_y = np.empty_like(x), np.empty_like(y)

    def part(k: int) -> None:
        # Looked up on the transform thread: a Transformer builds a PROJ object in the thread that creates it
        # and in each thread that uses it, so creating it here saves one build (~0.06 s) per direction.
        transformer = _transformer(src, dst)
        lo, hi = bounds[k], bounds[k + 1]
        out_x[lo:hi], out_y[lo:hi] = transformer.transform(x[lo:hi], y[lo:hi])

    for done in [_pool().submit(part, k) for k in range(slices)]:
        done.result()
    return out_x, out_y


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
