"""Disclosure control for steering-group outputs: small-count suppression, snapping places, leak scanning."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import geopandas as gpd
import h3
import numpy as np
import pandas as pd

from ctxrisk.pipelines.errors import ValidationError

__all__ = [
    "Leak",
    "h3_cell_centres",
    "scan_for_leaks",
    "snap_to_areas",
    "snap_to_h3",
    "suppress_count",
    "suppress_counts",
]

logger = logging.getLogger(__name__)


def _check_threshold(threshold: int) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or threshold < 1:
        msg = f"threshold must be a whole number of at least 1, got {threshold!r}"
        raise ValidationError(msg)


def suppress_count(value: float, *, threshold: int = 5) -> str:
    """Show one count for publication: ``"<5"`` below the threshold, else the whole number.

    Parameters
    ----------
    value : int or float
        A count: a whole number >= 0.
    threshold : int
        Smallest count shown as a number (``settings.privacy.suppression_threshold``, default 5). Every
        count below it, including 0, is shown as ``f"<{threshold}"`` so that a zero cannot be told apart
        from a small count.

    Returns
    -------
    str
    """
    return suppress_counts(pd.Series([value]), threshold=threshold).iloc[0]


def suppress_counts(series: pd.Series | Iterable[float], *, threshold: int = 5) -> pd.Series:
    """Turn counts into display strings with small counts suppressed.

    Parameters
    ----------
    series : pandas.Series or iterable of numbers
        Counts: whole numbers >= 0 (floats such as ``3.0`` are accepted). Missing values are refused.
    threshold : int
        Smallest count shown as a number (default 5). Counts ``< threshold`` (0 included) become
        ``"<5"`` (``f"<{threshold}"``); others become their decimal digits with thousands separators
        (``"1,204"``).

    Returns
    -------
    pandas.Series of str
        Same index as ``series`` (a new ``RangeIndex`` for other iterables).

    Raises
    ------
    ValidationError
        On a missing, negative or fractional count, or a threshold below 1.
    """
    _check_threshold(threshold)
    values = series if isinstance(series, pd.Series) else pd.Series(list(series), dtype=object)
    numeric = pd.to_numeric(values, errors="coerce").astype("float64")
    bad = numeric.isna() | (numeric < 0) | (numeric != np.floor(numeric))
    if bad.any():
        first = values[bad].iloc[0]
        msg = f"counts must be whole numbers >= 0; found {first!r} ({int(bad.sum())} bad value(s))"
        raise ValidationError(msg)
    label = f"<{threshold}"
    out = pd.Series(
        [label if v < threshold else f"{int(v):,}" for v in numeric.to_numpy()],
        index=values.index,
        dtype=object,
        name=values.name,
    )
    logger.debug("suppressed %s of %s counts below %s", f"{int((numeric < threshold).sum()):,}", len(out), threshold)
    return out


def snap_to_h3(latitude: Iterable[float], longitude: Iterable[float], *, resolution: int) -> np.ndarray:
    """Replace points by the H3 cell that holds them.

    Parameters
    ----------
    latitude, longitude : iterables of float
        WGS84 degrees, same length.
    resolution : int
        H3 resolution, 0-15 (``settings.hotspots.h3_resolution``, default 9: cells of about 0.1 km²).

    Returns
    -------
    numpy.ndarray of str
        H3 cell ids (hex strings).
    """
    lat = np.asarray(list(latitude), dtype="float64")
    lon = np.asarray(list(longitude), dtype="float64")
    if lat.shape != lon.shape:
        msg = f"latitude and longitude differ in length: {lat.size} and {lon.size}"
        raise ValidationError(msg)
    if not 0 <= resolution <= 15:
        msg = f"H3 resolution must be 0-15, got {resolution}"
        raise ValidationError(msg)
    if np.isnan(lat).any() or np.isnan(lon).any():
        msg = "cannot snap missing coordinates to H3 cells"
        raise ValidationError(msg)
    return np.array([h3.latlng_to_cell(a, b, resolution) for a, b in zip(lat, lon, strict=True)], dtype=object)


def h3_cell_centres(cells: Iterable[str]) -> pd.DataFrame:
    """Centre of each H3 cell: the only point we ever publish for a cell.

    Parameters
    ----------
    cells : iterable of str
        H3 cell ids.

    Returns
    -------
    pandas.DataFrame
        Columns ``unit_id``, ``latitude``, ``longitude`` (WGS84), one row per input cell, in order.
    """
    ids = list(cells)
    bad = [c for c in ids if not isinstance(c, str) or not h3.is_valid_cell(c)]
    if bad:
        msg = f"not an H3 cell id: {bad[0]!r} ({len(bad)} invalid)"
        raise ValidationError(msg)
    centres = [h3.cell_to_latlng(c) for c in ids]
    return pd.DataFrame(
        {
            "unit_id": ids,
            "latitude": [c[0] for c in centres],
            "longitude": [c[1] for c in centres],
        }
    )


def snap_to_areas(points: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, *, code_column: str = "code") -> pd.Series:
    """Replace points by the code of the area polygon that holds them.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Point geometries (any CRS; reprojected to the areas' CRS).
    areas : geopandas.GeoDataFrame
        Polygons with a ``code_column``. A point on a shared border goes to the smallest code; a point in
        no area gets ``<NA>``.
    code_column : str
        Column of ``areas`` holding the area code.

    Returns
    -------
    pandas.Series of str
        Area code per point, with the index of ``points``.
    """
    if code_column not in areas.columns:
        msg = f"areas have no {code_column!r} column; columns are {list(areas.columns)}"
        raise ValidationError(msg)
    if points.crs is not None and areas.crs is not None and points.crs != areas.crs:
        points = points.to_crs(areas.crs)
    joined = gpd.sjoin(
        points[[points.geometry.name]],
        areas[[code_column, areas.geometry.name]],
        how="left",
        predicate="intersects",
    )
    codes = joined[code_column].astype("string")
    first = codes.groupby(level=0, sort=False).min()
    out = first.reindex(points.index)
    out.name = code_column
    logger.info("snapped %s points to areas (%s outside every area)", f"{len(out):,}", f"{int(out.isna().sum()):,}")
    return out


@dataclass(frozen=True)
class Leak:
    """A person ID or raw event coordinate found in a page.

    Attributes
    ----------
    kind : str
        ``"person_id"`` or ``"coordinate"``.
    value : str
        The ID, or the coordinate as ``"lat,lon"`` at the scanned precision.
    position : int
        Character offset of the hit in the page.
    context : str
        Up to 40 characters either side of the hit.
    """

    kind: str
    value: str
    position: int
    context: str


#: Extra decimal places, beyond ``decimals``, at which a more precise number in the page is compared.
_EXTRA_PLACES = 2


def _decimal_forms(value: float, places: int) -> set[str]:
    """A coordinate written to ``places`` decimals: rounded half-even, rounded half-up, or truncated."""
    exact = Decimal(repr(float(value)))
    quantum = Decimal(1).scaleb(-places)
    return {
        format(exact.quantize(quantum, rounding=mode), "f") for mode in (ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_DOWN)
    }


_DECIMAL = re.compile(r"(?<![\d.])-?\d+\.\d+")
_GAP = re.compile(r"[\s,;:\"'=A-Za-z_]{1,16}")
_WORD_RUN = re.compile(r"[A-Za-z0-9_]+")
_SIMPLE_ID = re.compile(r"[A-Za-z0-9_]+(?:[-.:]+[A-Za-z0-9_]+)*")


def _compared(text: str, decimals: int) -> str | None:
    """A number's text cut to the places it is compared at, or ``None`` when it has fewer than ``decimals``."""
    whole, frac = text.split(".", 1)
    if len(frac) < decimals:
        return None
    return f"{whole}.{frac[: min(len(frac), decimals + _EXTRA_PLACES)]}"


def _context(html: str, start: int, end: int) -> str:
    return html[max(0, start - 40) : end + 40]


def _scan_person_ids(html: str, ids: list[str]) -> list[Leak]:
    """Whole-token hits of IDs, in one pass over the page's word runs (regex per unusual ID)."""
    leaks: list[Leak] = []
    simple: dict[int, set[str]] = {}
    for pid in ids:
        if _SIMPLE_ID.fullmatch(pid):
            simple.setdefault(len(_WORD_RUN.findall(pid)), set()).add(pid)
        else:
            pattern = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(pid) + r"(?![A-Za-z0-9_])")
            leaks.extend(
                Leak("person_id", pid, m.start(), _context(html, m.start(), m.end())) for m in pattern.finditer(html)
            )
    if simple:
        runs = [(m.start(), m.end()) for m in _WORD_RUN.finditer(html)]
        for i, (start, _end) in enumerate(runs):
            for n_runs, wanted in simple.items():
                if i + n_runs > len(runs):
                    continue
                end = runs[i + n_runs - 1][1]
                if html[start:end] in wanted:
                    leaks.append(Leak("person_id", html[start:end], start, _context(html, start, end)))
    return leaks


def scan_for_leaks(
    html: str,
    *,
    person_ids: Iterable[str],
    coordinates: Iterable[tuple[float, float]] | pd.DataFrame,
    decimals: int = 4,
) -> list[Leak]:
    """Find person IDs and raw event coordinates written into a page.

    A person ID is reported where it appears as a whole token (not preceded or followed by a letter, digit
    or ``_``). A coordinate is reported where two adjacent numbers of the page are its latitude and
    longitude, in either order (``[lat, lon]`` as Leaflet writes it, ``[lon, lat]`` as GeoJSON does),
    separated by at most 16 spaces, commas, colons, semicolons, quotes, ``=`` or letters (``"lat": …,
    "lng": …``). A number written with ``p >= decimals`` places is compared at ``min(p, decimals + 2)``
    places with the event coordinate rounded (half-even or half-up) or truncated to as many places, so a
    raw coordinate is found at any precision it is printed with, while a polygon vertex printed to 6
    places matches an event only if it lies within about 0.1 m of it. Numbers with fewer than
    ``decimals`` places, and a lone latitude or longitude, are not reported.

    Parameters
    ----------
    html : str
        Page text (or any text).
    person_ids : iterable of str
        Pseudonymous IDs that must not appear.
    coordinates : iterable of (latitude, longitude) or pandas.DataFrame
        Raw event positions (WGS84) that must not appear; a DataFrame needs ``latitude`` and ``longitude``.
    decimals : int
        Decimal places compared (default 4, about 11 m), 1-10.

    Returns
    -------
    list of Leak
        In page order; empty when nothing leaked.
    """
    if not 1 <= decimals <= 10:
        msg = f"decimals must be 1-10, got {decimals}"
        raise ValidationError(msg)
    leaks = _scan_person_ids(html, [p for p in dict.fromkeys(str(p) for p in person_ids) if p])
    if isinstance(coordinates, pd.DataFrame):
        pairs: Iterable[tuple[float, float]] = zip(
            coordinates["latitude"].to_numpy(), coordinates["longitude"].to_numpy(), strict=True
        )
    else:
        pairs = coordinates
    lat_index: dict[str, set[int]] = {}
    lon_index: dict[str, set[int]] = {}
    for i, (lat, lon) in enumerate(pairs):
        if pd.isna(lat) or pd.isna(lon):
            continue
        for places in range(decimals, decimals + _EXTRA_PLACES + 1):
            for form in _decimal_forms(lat, places):
                lat_index.setdefault(form, set()).add(i)
            for form in _decimal_forms(lon, places):
                lon_index.setdefault(form, set()).add(i)
    if lat_index:
        # one pass over the numbers of the page; each adjacent pair is looked up in both orders
        tokens = [(m.start(), m.end(), _compared(m.group(0), decimals)) for m in _DECIMAL.finditer(html)]
        for (s1, e1, t1), (s2, e2, t2) in zip(tokens, tokens[1:], strict=False):
            if t1 is None or t2 is None or not _GAP.fullmatch(html, e1, s2):
                continue
            if lat_index.get(t1, set()) & lon_index.get(t2, set()):
                leaks.append(Leak("coordinate", f"{t1},{t2}", s1, _context(html, s1, e2)))
            elif lat_index.get(t2, set()) & lon_index.get(t1, set()):
                leaks.append(Leak("coordinate", f"{t2},{t1}", s1, _context(html, s1, e2)))
    leaks.sort(key=lambda leak: (leak.position, leak.kind, leak.value))
    unique = list(dict.fromkeys(leaks))
    if unique:
        logger.warning("found %s leak(s) in page", f"{len(unique):,}")
    return unique
