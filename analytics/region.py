"""The study region of a hot spot run: loaded boundaries, a configured area, or a region drawn from the data.

Gi* compares every unit with the whole region, and PAI and PEI divide by its area, so the region is part
of the result. In order of preference:

1. **Loaded boundaries** -- the partnership's own polygons (``raw.boundaries``; see
   :mod:`ctxrisk.analytics.hotspots`).
2. **A configured area** -- ``[hotspots] study_area`` (or ``--study-area``): ONS local-authority codes or
   names of England, comma-separated, from the outlines the project ships (:mod:`ctxrisk.pipelines.lad`).
3. **A region drawn from the data** (:func:`data_region`). police.uk files carry points outside the
   force (even Welsh LSOAs) and a region made of every event cell plus a ring of empty cells around each
   is both inflated (PAI grows with it) and miscalibrated (the empty ring makes every populated cell look
   hot: under complete spatial randomness a 2-ring buffer flagged about 200 units per run in the
   validation study). Instead:

   * distinct event locations closer than ``link_m`` are linked, and groups holding under
     ``min_share`` of the events are left out as isolated (out-of-force) points, counted;
   * the kept points are closed morphologically on a ``pixel_m`` grid (dilated by ``link_m / 2``, holes
     filled, eroded by the same): a shape hugging the data with no margin of empty space, and without the
     open water or countryside between two separate groups;
   * the region is every H3 cell whose centre lies in that shape, plus every cell holding a kept event.

   ``link_m`` defaults to ``max(1000, 10 x`` the median nearest-neighbour distance between distinct
   locations``)``.

   When more than one group is kept (two towns, or a City of London file with a Merseyside month), each
   cell carries the label of its group (the group of the nearest kept location, ``cell_group``; 0 the group
   with most events): hot spot runs analyse the groups apart, as an analyst would analyse two separate
   areas (:class:`ctxrisk.analytics.gistar_groups.GroupedGiStar`).
"""

from __future__ import annotations

from dataclasses import dataclass

import h3
import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from ctxrisk.analytics.weights import study_region_h3
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.geo import wgs84_to_bng

__all__ = ["DataRegion", "data_region", "link_distance"]


@dataclass(frozen=True)
class DataRegion:
    """A region drawn from the data.

    Attributes
    ----------
    cells : numpy.ndarray of str
        H3 cells of the region, sorted.
    kept : numpy.ndarray of bool
        For each input point: inside a kept group (False: an isolated point, left out).
    link_m : float
        Link distance used.
    groups_kept, groups_dropped : int
        Groups of linked locations kept and left out.
    cell_group : numpy.ndarray of int
        For each cell of ``cells``: its kept group, ``0 .. groups_kept - 1`` by events, most first.
    group_events : numpy.ndarray of int
        Events of each kept group, in the order of the labels.
    """

    cells: np.ndarray
    kept: np.ndarray
    link_m: float
    groups_kept: int
    groups_dropped: int
    cell_group: np.ndarray
    group_events: np.ndarray

    def describe(self, resolution: int) -> str:
        """One sentence for the run stamp and the CLI."""
        dropped = int((~self.kept).sum())
        apart = ""
        if self.groups_kept > 1:
            apart = (
                f"; the {self.groups_kept} groups are more than {self.link_m:,.0f} m apart, so each is analysed "
                "apart (Gi* and its permutation null within the group, weights never crossing groups; one FDR "
                "over all units)"
            )
        return (
            f"H3 res {resolution} cells of the area the events cover (no boundary loaded: {self.groups_kept} "
            f"group(s) of locations within {self.link_m:,.0f} m of each other, closed without margin"
            + (f"; {dropped:,} isolated event(s) in {self.groups_dropped} small group(s) left out" if dropped else "")
            + apart
            + ")"
        )


def link_distance(easting: np.ndarray, northing: np.ndarray) -> float:
    """``max(1000, 10 x median nearest-neighbour distance)`` between distinct locations, in metres."""
    pts = np.unique(np.column_stack([np.round(easting, 1), np.round(northing, 1)]), axis=0)
    if len(pts) < 2:
        return 1000.0
    d = cKDTree(pts).query(pts, k=2)[0][:, 1]
    return float(max(1000.0, 10.0 * np.median(d)))


def data_region(
    latitude: np.ndarray,
    longitude: np.ndarray,
    *,
    resolution: int,
    link_m: float | None = None,
    min_share: float = 0.005,
    pixel_m: float = 25.0,
) -> DataRegion:
    """Draw the study region from located events (see the module docstring).

    Parameters
    ----------
    latitude, longitude : numpy.ndarray
        WGS84 event locations (duplicates allowed: police.uk snaps many events to one point).
    resolution : int
        H3 resolution of the region's cells.
    link_m : float or None
        Link distance; default :func:`link_distance`.
    min_share : float
        Groups holding fewer than this share of the events are left out (the largest group is always kept).
    pixel_m : float
        Grid of the morphological closing (metres).
    """
    lat = np.asarray(latitude, dtype=float)
    lon = np.asarray(longitude, dtype=float)
    if lat.size == 0:
        msg = "no located events: there is no area to draw a study region from"
        raise ValidationError(msg)
    e, n = (np.asarray(v) for v in wgs84_to_bng(lat, lon))
    link = float(link_m) if link_m is not None else link_distance(e, n)
    pts, inverse, weight = np.unique(
        np.column_stack([np.round(e, 1), np.round(n, 1)]), axis=0, return_inverse=True, return_counts=True
    )
    inverse = inverse.ravel()
    # Rasterise (the pixel grows with the area, bounding memory to about 4 million pixels).
    span = np.ptp(pts, axis=0) + 2 * link + 4 * pixel_m
    px = max(pixel_m, float(np.sqrt(span[0] * span[1] / 4e6)))
    origin = pts.min(axis=0) - (link + 2 * px)
    ij = np.floor((pts - origin) / px).astype(np.int64)
    grid = np.zeros(tuple(np.ceil((pts.max(axis=0) - origin + link + 2 * px) / px).astype(np.int64)), dtype=bool)
    grid[ij[:, 0], ij[:, 1]] = True
    half = link / 2 / px
    # Groups: locations whose half-link discs touch (single linkage at link_m), found on the raster.
    grown = ndimage.distance_transform_edt(~grid) <= half
    label, n_groups = ndimage.label(grown)
    point_group = label[ij[:, 0], ij[:, 1]] - 1
    events = np.bincount(point_group, weights=weight, minlength=n_groups)
    keep_group = events >= min_share * lat.size
    keep_group[np.argmax(events)] = True
    kept_pt = keep_group[point_group]
    # Closing of the kept locations: dilate by half the link, fill holes, erode by the same.
    core = np.zeros_like(grid)
    core[ij[kept_pt, 0], ij[kept_pt, 1]] = True
    closed = ndimage.binary_fill_holes(ndimage.distance_transform_edt(~core) <= half)
    shape = (ndimage.distance_transform_edt(closed) > half) | core
    kept = kept_pt[inverse]
    event_cells = np.unique([h3.latlng_to_cell(a, b, resolution) for a, b in zip(lat[kept], lon[kept], strict=True)])
    steps = int(np.ceil(link / 2 / (h3.average_hexagon_edge_length(resolution, "m") * np.sqrt(3)))) + 1
    candidates = np.asarray(study_region_h3(event_cells, resolution=resolution, buffer_k=steps))
    centres = np.array([h3.cell_to_latlng(c) for c in candidates])
    ce, cn = (np.asarray(v) for v in wgs84_to_bng(centres[:, 0], centres[:, 1]))
    ci = np.floor((np.column_stack([ce, cn]) - origin) / px).astype(np.int64)
    inside = (ci >= 0).all(axis=1) & (ci[:, 0] < grid.shape[0]) & (ci[:, 1] < grid.shape[1])
    hit = np.zeros(candidates.size, dtype=bool)
    hit[inside] = shape[ci[inside, 0], ci[inside, 1]]
    cells = np.sort(np.union1d(candidates[hit], event_cells))
    cell_group, group_events = _cell_groups(cells, pts[kept_pt], point_group[kept_pt], events)
    return DataRegion(cells, kept, link, int(keep_group.sum()), int((~keep_group).sum()), cell_group, group_events)


def _cell_groups(
    cells: np.ndarray, pts: np.ndarray, group: np.ndarray, events: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Kept group of each cell (that of the nearest kept location; labels by events, most first), group events."""
    kept_groups = np.unique(group)
    order = kept_groups[np.argsort(-events[kept_groups], kind="stable")]
    relabel = np.empty(int(group.max()) + 1, dtype=np.int64)
    relabel[order] = np.arange(order.size)
    if order.size == 1:
        return np.zeros(cells.size, dtype=np.int64), events[order].astype(np.int64)
    centres = np.array([h3.cell_to_latlng(c) for c in cells])
    ce, cn = (np.asarray(v) for v in wgs84_to_bng(centres[:, 0], centres[:, 1]))
    nearest = cKDTree(pts).query(np.column_stack([ce, cn]))[1]
    return relabel[group[nearest]], events[order].astype(np.int64)
