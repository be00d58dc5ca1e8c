"""Area boundaries (GeoJSON, TopoJSON, KML, Shapefile, GeoPackage) stored as WGS84 WKT per level."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ctxrisk.pipelines.batch import Batch, RejectCollector, finish_batch
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.geo import in_gb_bng, in_gb_wgs84
from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.sources import register
from ctxrisk.pipelines.tabular import TextTable, file_sha256

log = logging.getLogger(__name__)

LEVELS = ("lsoa11", "lsoa21", "msoa", "ward", "lad", "force")
# Code-property patterns tried in order for each level (matched case-insensitively, whole name).
CODE_PATTERNS: dict[str, tuple[str, ...]] = {
    "lsoa11": (r"lsoa11cd", r"lsoa_code_2011", r"lsoa_?code"),
    "lsoa21": (r"lsoa21cd", r"lsoa_code_2021", r"lsoa_?code"),
    "msoa": (r"msoa\d{2}cd", r"msoa_?code"),
    "ward": (r"wd\d{2}cd", r"ward_?code"),
    "lad": (r"lad\d{2}cd", r"lau1\d{2}cd", r"ctyua\d{2}cd", r"lad_?code", r"local_authority_district_code.*"),
    "force": (r"pfa\d{2}cd", r"force_?code", r"force"),
}
NAME_PATTERNS = (r".*\d{2}nm", r"name", r".*_name", r"nm")
IMD_DECILE = re.compile(r".*imd.*decile.*", re.IGNORECASE)
IMD_RANK = re.compile(r".*imd.*rank.*", re.IGNORECASE)
WKT_DECIMALS = 6


def _pick(columns: list[str], patterns: tuple[str, ...]) -> str | None:
    for pattern in patterns:
        for column in columns:
            if re.fullmatch(pattern, column, flags=re.IGNORECASE):
                return column
    return None


def _to_wgs84(frame: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """Return the layer in WGS84; a layer without a CRS is taken as WGS84 or BNG from its bounds."""
    if frame.crs is None:
        minx, miny, maxx, maxy = frame.total_bounds
        if in_gb_wgs84(np.array([miny, maxy]), np.array([minx, maxx])).all():
            frame = frame.set_crs("EPSG:4326")
        elif in_gb_bng(np.array([minx, maxx]), np.array([miny, maxy])).all():
            frame = frame.set_crs("EPSG:27700")
        else:
            msg = (
                f"{path}: the layer has no coordinate reference system and its bounds "
                f"({minx:.3f}, {miny:.3f}, {maxx:.3f}, {maxy:.3f}) are neither WGS84 nor British National Grid"
            )
            raise ValidationError(msg)
    if frame.crs.to_epsg() != 4326:
        frame = frame.to_crs("EPSG:4326")
    return frame


def read_boundaries(path: Path, *, settings: Settings, options: dict[str, Any]) -> Batch:
    """Read a boundary layer into ``raw.boundaries`` rows (one per area, WGS84 WKT).

    Parameters
    ----------
    path : Path
        GeoJSON, TopoJSON, KML, Shapefile or GeoPackage (read with pyogrio/GDAL; TopoJSON arcs are
        resolved by GDAL's TopoJSON driver).
    options : dict
        ``level`` (required): one of ``lsoa11``, ``lsoa21``, ``msoa``, ``ward``, ``lad``, ``force``.
        ``code_field`` / ``name_field``: properties holding the area code and name; by default the ONS
        property for the level (``LSOA11CD``, ``MSOA11CD``, ``WD13CD``, ``LAD13CD`` …) and its ``…NM``.
        A layer with one feature and no code property (e.g. a police.uk force KML) takes its code from the
        file name.

    Returns
    -------
    Batch
        Key (``level``, ``code``). Features without a code or a polygon geometry are refused, as is a
        second feature with the same code. An IMD decile/rank property (e.g.
        ``index_of_multiple_deprivation_imd_decile``) is kept in ``imd_decile``/``imd_rank``.
    """
    level = (options.get("level") or "").strip().lower()
    if level not in LEVELS:
        msg = f"boundaries need --level, one of {', '.join(LEVELS)} (got {options.get('level')!r})"
        raise ValidationError(msg)
    if not path.is_file():
        msg = f"{path}: no such file"
        raise ValidationError(msg)
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        msg = f"{path}: not a readable boundary file (GeoJSON, TopoJSON, KML, Shapefile, GeoPackage): {exc}"
        raise ValidationError(msg) from exc
    if frame.empty:
        msg = f"{path}: the layer has no features"
        raise ValidationError(msg)
    frame = _to_wgs84(frame, path)
    props = [c for c in frame.columns if c != frame.geometry.name]
    code_field = options.get("code_field") or _pick(props, CODE_PATTERNS[level])
    name_field = options.get("name_field")
    for given, what in ((options.get("code_field"), "--code-field"), (name_field, "--name-field")):
        if given and given not in props:
            msg = f"{path}: {what} {given!r} is not a property of the layer; properties: {', '.join(props)}"
            raise ValidationError(msg)
    if code_field is None and len(frame) > 1:
        msg = (
            f"{path}: no code property found for level {level}; pass --code-field, one of: "
            f"{', '.join(props) or '(no properties)'}"
        )
        raise ValidationError(msg)
    if name_field is None and code_field is not None:
        twin = re.sub(r"cd$", "nm", code_field, flags=re.IGNORECASE)
        twin = twin if twin != code_field else None
        name_field = twin if twin in props else _pick(props, NAME_PATTERNS)
    n = len(frame)
    text = pd.DataFrame(
        {
            c: frame[c]
            .astype("object")
            .where(frame[c].notna(), None)
            .map(lambda v: None if v is None else str(v).strip() or None)
            for c in props
        }
    )
    codes = text[code_field] if code_field else pd.Series([path.stem] * n, dtype="object")
    names = text[name_field] if name_field else pd.Series([None] * n, dtype="object")
    if name_field is None and code_field is None:
        names = text["Name"] if "Name" in text and text["Name"].notna().all() else codes
    collector = RejectCollector(n)
    codes = codes.astype("object")
    collector.add(codes.isna().to_numpy(), code_field, None, "the area has no code")
    geoms = frame.geometry.to_numpy()
    missing = np.array([g is None or g.is_empty for g in geoms], dtype=bool)
    collector.add(missing, "geometry", None, "the feature has no geometry")
    geoms = np.array([None if m else shapely.force_2d(g) for g, m in zip(geoms, missing, strict=True)], dtype=object)
    kinds = np.array([None if g is None else g.geom_type for g in geoms], dtype=object)
    not_polygon = ~missing & ~np.isin(kinds, ["Polygon", "MultiPolygon", "GeometryCollection"])
    collector.add(not_polygon, "geometry", pd.Series(kinds), "not a polygon")
    fixed = 0
    for i, g in enumerate(geoms):
        if g is None or not_polygon[i]:
            continue
        if not g.is_valid:
            g = shapely.make_valid(g, method="structure", keep_collapsed=False)
            fixed += 1
        if g.geom_type == "GeometryCollection":
            parts = [p for p in g.geoms if p.geom_type in ("Polygon", "MultiPolygon")]
            g = shapely.union_all(parts) if parts else None
        geoms[i] = g
    no_area = np.array([g is None or g.is_empty for g in geoms], dtype=bool) & ~missing & ~not_polygon
    collector.add(no_area, "geometry", None, "the geometry has no polygon area")
    good_codes = codes.where(~collector.bad)
    dup = (good_codes.notna() & good_codes.duplicated(keep="first")).to_numpy()
    collector.add(dup, code_field, codes, "the same area code appears on an earlier feature")
    decile_field = next((c for c in props if IMD_DECILE.fullmatch(c)), None)
    rank_field = next((c for c in props if IMD_RANK.fullmatch(c)), None)

    def integer(field: str | None, low: int, high: int) -> pd.Series:
        if field is None:
            return pd.Series([None] * n, dtype="Int64")
        values = pd.to_numeric(text[field], errors="coerce")
        bad = (
            text[field].notna().to_numpy()
            & (values.isna() | (values < low) | (values > high) | (values % 1 != 0)).to_numpy()
        )
        collector.add(bad, field, text[field], f"not a whole number from {low} to {high}")
        return values.where(~pd.Series(bad)).astype("Int64")

    decile = integer(decile_field, 1, 10)
    rank = integer(rank_field, 1, 10_000_000)
    wkt = np.array(
        [None if g is None else shapely.to_wkt(g, rounding_precision=WKT_DECIMALS) for g in geoms], dtype=object
    )
    rows = pd.DataFrame(
        {
            "level": level,
            "code": codes.to_numpy(),
            "name": names.astype("object").to_numpy(),
            "imd_decile": decile,
            "imd_rank": rank,
            "geometry_wkt": wkt,
        }
    )
    table = TextTable(
        path, props, text, np.arange(1, n + 1, dtype=np.int64), [], n, file_sha256(path), line_kind="feature"
    )
    notes = [f"level {level}: code from {code_field or 'the file name'}, name from {name_field or '(none)'}"]
    if fixed:
        notes.append(f"{fixed:,} invalid polygon(s) repaired (shapely.make_valid)")
    if decile_field:
        notes.append(f"IMD decile kept from property {decile_field!r}")
    return finish_batch("boundaries", "raw.boundaries", ("level", "code"), table, rows, collector, notes)


register("boundaries", read_boundaries)
