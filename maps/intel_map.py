"""The intel explorer's side map: packaged local-authority outlines and names around the linked places."""

from __future__ import annotations

from typing import Any

import shapely

__all__ = ["local_authority_layer"]


def _bbox(places: dict[str, Any]) -> tuple[float, float, float, float] | None:
    lats: list[float] = []
    lons: list[float] = []
    for poly, point in zip(places["poly"], places["point"], strict=True):
        for lat, lon in poly or [point]:
            lats.append(lat)
            lons.append(lon)
    if not lats:
        return None
    return min(lons), min(lats), max(lons), max(lats)


def _rounded(geom: Any, digits: int) -> dict[str, Any]:
    def _ring(coords: Any) -> list[list[float]]:
        return [[round(x, digits), round(y, digits)] for x, y in coords]

    polygons = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    return {
        "type": "MultiPolygon",
        "coordinates": [[_ring(p.exterior.coords), *(_ring(r.coords) for r in p.interiors)] for p in polygons],
    }


def local_authority_layer(places: dict[str, Any], *, margin: float = 0.1) -> dict[str, Any] | None:
    """Outlines and names of the local authorities around the places linked to people.

    Parameters
    ----------
    places : dict
        The page's place table (``poly``: lists of ``[lat, lon]`` or None; ``point``: ``[lat, lon]`` or None).
    margin : float
        Share of the places' extent added on each side when choosing the districts drawn (``>= 0``).

    Returns
    -------
    dict or None
        ``outlines`` (a GeoJSON FeatureCollection with ``name`` and ``code``), ``labels`` (``[name, lat,
        lon]`` at a point inside each district) and ``attribution`` (the ONS/OGL notice); None when no place
        has a position or none lies in England.
    """
    from ctxrisk.pipelines.lad import ATTRIBUTION, local_authorities

    box = _bbox(places)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    dx, dy = max(x1 - x0, 0.02) * margin, max(y1 - y0, 0.02) * margin
    frame = local_authorities()
    chosen = frame[frame.intersects(shapely.box(x0 - dx, y0 - dy, x1 + dx, y1 + dy))]
    if not len(chosen):
        return None
    features, labels = [], []
    for code, name, geom in zip(chosen["code"], chosen["name"], chosen.geometry, strict=True):
        simple = geom.simplify(0.0005, preserve_topology=True)
        features.append(
            {"type": "Feature", "properties": {"code": str(code), "name": str(name)}, "geometry": _rounded(simple, 5)}
        )
        inside = geom.representative_point()
        labels.append([str(name), round(inside.y, 5), round(inside.x, 5)])
    return {
        "outlines": {"type": "FeatureCollection", "features": features},
        "labels": labels,
        "attribution": ATTRIBUTION,
    }
