"""Binary spatial weights (H3 rings, polygon contiguity, distance bands) as scipy CSR matrices.

Every builder returns a square ``scipy.sparse.csr_matrix`` of ``float64`` ones with **no self
loops stored**: ``w[i, j] == 1`` when unit ``j`` is a neighbour of unit ``i``. The focal unit is
added by the statistic that needs it (``ctxrisk.analytics.gistar.GiStar`` adds the self weight of
Getis-Ord Gi*). All builders here produce symmetric matrices.

*Islands* are units with no neighbour (an empty row). They are legal, never silently dropped:
each builder logs how many there are and :func:`island_mask` returns them, and
``GiStar`` reports them and never flags them as hot or cold spots (a unit with no neighbours
cannot be part of a spatial cluster).

Study region
------------
A hot spot test compares each cell with the whole *study region*, so the region is part of the
result. :func:`study_region_h3` defines it as:

* with ``boundary`` (polygons in WGS84): every H3 cell at ``resolution`` that **overlaps** the
  boundary polygon(s) -- the cells covering the area the partnership is responsible for;
  observed cells outside the boundary are not part of the region (their count is logged);
* without ``boundary``: the observed cells plus every cell within ``buffer_k`` grid steps of
  one (an H3 k-ring buffer), so that each observed cell has its full neighbourhood.

In both cases cells with **zero events are part of the study area** and must be given a count of
0, not left out: leaving them out would compare busy places only with other busy places and
hide real concentrations.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import h3
import numpy as np
import scipy.sparse as sp
import shapely
from h3.api import basic_int as h3_int
from scipy.spatial import cKDTree

from ctxrisk.pipelines.errors import ValidationError

logger = logging.getLogger(__name__)

__all__ = [
    "distance_band_weights",
    "h3_cells_for_points",
    "h3_cells_indexed",
    "h3_kring_weights",
    "island_mask",
    "polygon_contiguity_weights",
    "study_region_h3",
]

#: Points turned into H3 cells per pass: a pass holds its coordinates as Python floats (32 bytes each).
_POINT_CHUNK = 1 << 20


def _symmetric_csr(rows: np.ndarray, cols: np.ndarray, n: int) -> sp.csr_matrix:
    """Build a symmetric binary CSR matrix from (possibly one-directional) index pairs."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    keep = rows != cols
    rows, cols = rows[keep], cols[keep]
    r = np.concatenate([rows, cols])
    c = np.concatenate([cols, rows])
    w = sp.csr_matrix((np.ones(r.size, dtype=np.float64), (r, c)), shape=(n, n))
    w.sum_duplicates()
    w.data[:] = 1.0  # duplicates summed to 2 -> back to binary
    w.sort_indices()
    return w


def island_mask(w: sp.spmatrix) -> np.ndarray:
    """Return a boolean mask of the units with no neighbour (empty rows) in ``w``.

    Parameters
    ----------
    w : scipy.sparse matrix
        Square weights matrix.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` where the row holds no non-zero weight.
    """
    w = sp.csr_matrix(w)
    return np.asarray((w != 0).sum(axis=1)).ravel() == 0


def _log_built(kind: str, w: sp.csr_matrix) -> None:
    n = w.shape[0]
    islands = int(island_mask(w).sum())
    mean_k = w.nnz / n if n else 0.0
    logger.info("built %s weights: %s units, %s links, mean %.2f neighbours", kind, f"{n:,}", f"{w.nnz:,}", mean_k)
    if islands:
        logger.warning("%s weights: %s of %s units are islands (no neighbours)", kind, f"{islands:,}", f"{n:,}")


def _check_resolution(resolution: int) -> int:
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or not 0 <= resolution <= 15:
        msg = f"H3 resolution must be an integer from 0 to 15, got {resolution!r}"
        raise ValidationError(msg)
    return int(resolution)


def h3_cells_indexed(
    lat: Sequence[float] | np.ndarray, lon: Sequence[float] | np.ndarray, *, resolution: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct H3 cells holding WGS84 points and, for each point, the position of its cell.

    ``cells[index]`` is :func:`h3_cells_for_points`; the distinct cells come first so that callers can work
    on a few thousand cells instead of a million points (region, positions, names).

    Parameters
    ----------
    lat, lon : array-like of float
        WGS84 latitude and longitude in decimal degrees, same length, all finite;
        latitude in [-90, 90], longitude in [-180, 180].
    resolution : int
        H3 resolution, 0-15 (9 is about 0.1 km2 per cell).

    Returns
    -------
    (numpy.ndarray of str, numpy.ndarray of int64)
        The distinct cells (sorted) and, per point in input order, the position of its cell in them.

    Raises
    ------
    ValidationError
        If lengths differ, a coordinate is missing or out of range, or the resolution is invalid.
    """
    res = _check_resolution(resolution)
    lat_a = np.asarray(lat, dtype=np.float64).ravel()
    lon_a = np.asarray(lon, dtype=np.float64).ravel()
    if lat_a.shape != lon_a.shape:
        msg = f"lat and lon must have the same length, got {lat_a.size} and {lon_a.size}"
        raise ValidationError(msg)
    bad = ~np.isfinite(lat_a) | ~np.isfinite(lon_a) | (np.abs(lat_a) > 90) | (np.abs(lon_a) > 180)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        msg = (
            f"{int(bad.sum()):,} points have a missing or out-of-range coordinate "
            f"(first at position {first}: lat={lat_a[first]!r}, lon={lon_a[first]!r}); "
            "drop unlocated rows before assigning H3 cells"
        )
        raise ValidationError(msg)
    # The integer API skips a string per point; only the distinct cells are turned into strings.
    to_cell = h3_int.latlng_to_cell
    codes = np.empty(lat_a.size, dtype=np.uint64)
    for start in range(0, lat_a.size, _POINT_CHUNK):  # Python floats for a chunk at a time, not all points
        stop = min(start + _POINT_CHUNK, lat_a.size)
        codes[start:stop] = np.fromiter(
            (to_cell(a, b, res) for a, b in zip(lat_a[start:stop].tolist(), lon_a[start:stop].tolist(), strict=True)),
            dtype=np.uint64,
            count=stop - start,
        )
    distinct, index = np.unique(codes, return_inverse=True)
    cells = np.array([h3_int.int_to_str(int(c)) for c in distinct.tolist()], dtype=str)
    # Cells of one resolution are hex strings of one length, so numeric and text order agree; sort anyway.
    order = np.argsort(cells, kind="stable")
    if (order != np.arange(order.size)).any():
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        cells, index = cells[order], rank[index]
    logger.info("assigned %s points to %s H3 cells at resolution %d", f"{lat_a.size:,}", f"{cells.size:,}", res)
    return cells, index.astype(np.int64, copy=False)


def h3_cells_for_points(
    lat: Sequence[float] | np.ndarray, lon: Sequence[float] | np.ndarray, *, resolution: int
) -> np.ndarray:
    """Return the H3 cell (string index) holding each WGS84 point.

    Parameters
    ----------
    lat, lon : array-like of float
        WGS84 latitude and longitude in decimal degrees, same length, all finite;
        latitude in [-90, 90], longitude in [-180, 180].
    resolution : int
        H3 resolution, 0-15 (9 is about 0.1 km2 per cell).

    Returns
    -------
    numpy.ndarray of str
        One cell index per point, in input order.

    Raises
    ------
    ValidationError
        If lengths differ, a coordinate is missing or out of range, or the resolution is invalid.
    """
    cells, index = h3_cells_indexed(lat, lon, resolution=resolution)
    return cells[index] if index.size else np.array([], dtype=str)


def _boundary_polygons(boundary: Any) -> list[shapely.Polygon]:
    """Flatten a shapely geometry, GeoSeries/GeoDataFrame or iterable of geometries into polygons."""
    geoms: Iterable[Any]
    if hasattr(boundary, "geometry") and hasattr(boundary, "crs"):  # GeoDataFrame / GeoSeries
        crs = boundary.crs
        if crs is not None and crs.to_epsg() != 4326:
            boundary = boundary.to_crs(4326)
        geoms = list(boundary.geometry)
    elif isinstance(boundary, shapely.Geometry):
        geoms = [boundary]
    else:
        geoms = list(boundary)
    polys: list[shapely.Polygon] = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        if isinstance(g, shapely.Polygon):
            polys.append(g)
        elif isinstance(g, shapely.MultiPolygon):
            polys.extend(g.geoms)
        else:
            msg = f"boundary must hold polygons, got a {g.geom_type}"
            raise ValidationError(msg)
    if not polys:
        msg = "boundary holds no polygon"
        raise ValidationError(msg)
    return polys


def _polygon_to_h3shape(poly: shapely.Polygon) -> h3.LatLngPoly:
    outer = [(y, x) for x, y in poly.exterior.coords[:-1]]
    holes = [[(y, x) for x, y in ring.coords[:-1]] for ring in poly.interiors]
    return h3.LatLngPoly(outer, *holes)


def study_region_h3(
    cells: Sequence[str] | np.ndarray,
    *,
    resolution: int,
    buffer_k: int = 2,
    boundary: Any = None,
) -> np.ndarray:
    """Return the H3 cells of the study region (see the module docstring for the definition).

    Parameters
    ----------
    cells : array-like of str
        Observed H3 cells (may repeat, one per event); all at ``resolution``.
    resolution : int
        H3 resolution of the region, 0-15.
    buffer_k : int, default 2
        Grid-step buffer added around observed cells when no ``boundary`` is given; >= 0.
    boundary : shapely Polygon/MultiPolygon, GeoSeries/GeoDataFrame or iterable of them, optional
        The area the partnership covers, in WGS84 (a GeoDataFrame in another CRS is reprojected).
        When given, the region is every cell overlapping it and ``buffer_k`` is not used.

    Returns
    -------
    numpy.ndarray of str
        Sorted, unique cell indices. Cells with no event are included (count 0).

    Raises
    ------
    ValidationError
        If a cell is invalid or at another resolution, ``buffer_k`` is negative, or the region is empty.
    """
    res = _check_resolution(resolution)
    if isinstance(buffer_k, bool) or not isinstance(buffer_k, (int, np.integer)) or buffer_k < 0:
        msg = f"buffer_k must be a non-negative integer, got {buffer_k!r}"
        raise ValidationError(msg)
    observed = sorted({str(c) for c in np.asarray(cells, dtype=object).ravel().tolist()})
    for c in observed:
        if not h3.is_valid_cell(c):
            msg = f"not a valid H3 cell index: {c!r}"
            raise ValidationError(msg)
        if h3.get_resolution(c) != res:
            msg = f"cell {c} is at resolution {h3.get_resolution(c)}, expected {res}"
            raise ValidationError(msg)
    if boundary is not None:
        region: set[str] = set()
        for poly in _boundary_polygons(boundary):
            region.update(h3.h3shape_to_cells_experimental(_polygon_to_h3shape(poly), res, contain="overlap"))
        outside = sum(1 for c in observed if c not in region)
        if outside:
            logger.warning("%s observed cells lie outside the boundary and are not in the study region", f"{outside:,}")
    else:
        if not observed:
            msg = "no observed cells and no boundary: the study region would be empty"
            raise ValidationError(msg)
        region = set()
        for c in observed:
            region.update(h3.grid_disk(c, int(buffer_k)))
    if not region:
        msg = "the study region is empty"
        raise ValidationError(msg)
    out = np.array(sorted(region), dtype=str)
    logger.info(
        "study region: %s H3 cells at resolution %d (%s observed, %s with no events)",
        f"{out.size:,}",
        res,
        f"{len(observed):,}",
        f"{out.size - len(set(observed) & region):,}",
    )
    return out


def h3_kring_weights(cells: Sequence[str] | np.ndarray, *, k: int = 1) -> sp.csr_matrix:
    """Binary weights linking H3 cells within ``k`` grid steps of each other.

    Parameters
    ----------
    cells : array-like of str
        Unique H3 cells (the study region), all at one resolution; row/column order follows it.
    k : int, default 1
        Ring size, >= 1 (k=1: the 6 touching cells).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(n, n)`` symmetric binary matrix, no self loops. Neighbours outside ``cells`` are
        ignored, so border cells of the region have fewer neighbours.

    Raises
    ------
    ValidationError
        If ``k`` < 1, a cell repeats, is invalid, or resolutions differ.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        msg = f"k must be an integer >= 1, got {k!r}"
        raise ValidationError(msg)
    cell_list = [str(c) for c in np.asarray(cells, dtype=object).ravel().tolist()]
    index = {c: i for i, c in enumerate(cell_list)}
    if len(index) != len(cell_list):
        msg = f"cells must be unique, got {len(cell_list) - len(index):,} repeats"
        raise ValidationError(msg)
    resolutions = set()
    rows: list[int] = []
    cols: list[int] = []
    for i, c in enumerate(cell_list):
        if not h3.is_valid_cell(c):
            msg = f"not a valid H3 cell index: {c!r}"
            raise ValidationError(msg)
        resolutions.add(h3.get_resolution(c))
        for nb in h3.grid_disk(c, int(k)):
            j = index.get(nb)
            if j is not None and j != i:
                rows.append(i)
                cols.append(j)
    if len(resolutions) > 1:
        msg = f"cells mix H3 resolutions {sorted(resolutions)}"
        raise ValidationError(msg)
    w = _symmetric_csr(np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), len(cell_list))
    _log_built(f"H3 {k}-ring", w)
    return w


def polygon_contiguity_weights(gdf: Any, *, rule: Literal["queen", "rook"] = "queen") -> sp.csr_matrix:
    """Binary contiguity weights between polygons, found with a shapely STRtree.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame or GeoSeries
        Polygons (Polygon/MultiPolygon), one unit per row; row order is kept.
    rule : {"queen", "rook"}, default "queen"
        ``"queen"``: polygons sharing at least one boundary point (intersecting) are neighbours.
        ``"rook"``: polygons sharing a boundary segment of positive length are neighbours.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(n, n)`` symmetric binary matrix, no self loops.

    Raises
    ------
    ValidationError
        On an unknown rule, or a missing, empty or non-polygon geometry.
    """
    if rule not in ("queen", "rook"):
        msg = f"rule must be 'queen' or 'rook', got {rule!r}"
        raise ValidationError(msg)
    geoms = np.asarray(getattr(gdf, "geometry", gdf), dtype=object)
    for pos, g in enumerate(geoms):
        if g is None or not isinstance(g, (shapely.Polygon, shapely.MultiPolygon)) or g.is_empty:
            kind = "missing" if g is None else ("empty" if g.is_empty else g.geom_type)
            msg = f"polygon_contiguity_weights needs polygons; row {pos} is {kind}"
            raise ValidationError(msg)
    n = geoms.size
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if rule == "rook" and left.size:
        bounds = shapely.boundary(geoms)
        shared = shapely.intersection(bounds[left], bounds[right])
        edge = shapely.length(shared) > 0
        left, right = left[edge], right[edge]
    w = _symmetric_csr(left, right, n)
    _log_built(f"{rule} contiguity", w)
    return w


def distance_band_weights(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *, threshold_m: float
) -> sp.csr_matrix:
    """Binary weights linking points no more than ``threshold_m`` metres apart (inclusive).

    Parameters
    ----------
    x, y : array-like of float
        British National Grid easting and northing (EPSG:27700, metres), finite, same length.
    threshold_m : float
        Band radius in metres, > 0. Pairs at distance <= threshold are neighbours.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(n, n)`` symmetric binary matrix, no self loops (coincident points are neighbours).

    Raises
    ------
    ValidationError
        On different lengths, non-finite coordinates or a non-positive threshold.
    """
    xa = np.asarray(x, dtype=np.float64).ravel()
    ya = np.asarray(y, dtype=np.float64).ravel()
    if xa.shape != ya.shape:
        msg = f"x and y must have the same length, got {xa.size} and {ya.size}"
        raise ValidationError(msg)
    if not np.isfinite(xa).all() or not np.isfinite(ya).all():
        msg = "x and y must be finite BNG metres; drop unlocated rows first"
        raise ValidationError(msg)
    if not np.isfinite(threshold_m) or threshold_m <= 0:
        msg = f"threshold_m must be a positive number of metres, got {threshold_m!r}"
        raise ValidationError(msg)
    pts = np.column_stack([xa, ya])
    pairs = (
        cKDTree(pts).query_pairs(float(threshold_m), output_type="ndarray")
        if xa.size
        else np.empty((0, 2), dtype=np.int64)
    )
    w = _symmetric_csr(pairs[:, 0], pairs[:, 1], xa.size)
    _log_built(f"{threshold_m:g} m distance band", w)
    return w
