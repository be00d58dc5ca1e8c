"""Warehouses for the hot spot, profile, location and CLI tests: the committed sample (built once) and tiny ones."""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
from pathlib import Path

from ctxrisk.pipelines.ingest import ingest_file
from ctxrisk.pipelines.settings import Settings, load_settings
from ctxrisk.pipelines.warehouse import connect

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"
KINDS = ("persons", "incidents", "missing", "intelligence", "involvements", "associations", "screenings", "referrals")


@functools.cache
def _sample_master() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="ctxrisk-hotspot-sample-"))
    path = folder / "sample.duckdb"
    settings = load_settings(None, warehouse=path)
    con = connect(settings=settings)
    for kind in KINDS:
        ingest_file(con, kind, SAMPLES / f"{kind}.csv", settings=settings)
    con.close()
    return path


def sample_warehouse(dest: Path) -> tuple[Settings, Path]:
    """Copy of a warehouse holding every committed sample file (ingested once per test session)."""
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / "sample.duckdb"
    shutil.copyfile(_sample_master(), path)
    return load_settings(None, warehouse=path), path


def truth() -> dict:
    """The sample's ground truth."""
    return json.loads((SAMPLES / "ground_truth.json").read_text(encoding="utf-8"))


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    """Write a tiny canonical CSV."""
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


#: Towns of the independent partnership (Norfolk, far from the sample's Cheshire East): centre, events, spread.
NORFOLK_TOWNS = (
    ("Norwich", 52.6300, 1.2970, 0.45, 900.0),
    ("Great Yarmouth", 52.6080, 1.7300, 0.20, 600.0),
    ("King's Lynn", 52.7540, 0.3980, 0.20, 550.0),
    ("Thetford", 52.4130, 0.7490, 0.15, 450.0),
)
#: Planted sites: town, offset east and north of its centre (m), events, radius (m).
NORFOLK_SITES = (("Norwich", 1800.0, -1500.0, 60, 150.0), ("Thetford", -900.0, 1200.0, 50, 150.0))
STREET_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
    "Last outcome category,Context"
)


def norfolk_street_files(folder: Path, *, seed: int = 2024, events: int = 4_000, months: int = 12) -> dict:
    """Write police.uk street files of an invented Norfolk partnership, independently of ``ctxrisk sample``.

    Four towns of different sizes and spreads (Gaussian around each centre plus a tenth spread over the
    county), two planted sites (``NORFOLK_SITES``) and a few out-of-force points (Cardiff, Leeds); every
    event snapped, as police.uk does, to the nearest of a set of anonymised map points (one per about
    120 m x 120 m of each town, so many events share a point). Returns the planted sites' centres.
    """
    import numpy as np

    from ctxrisk.pipelines.geo import bng_to_wgs84, wgs84_to_bng

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    pts, anchors = [], []
    for _, lat, lon, share, spread in NORFOLK_TOWNS:
        e0, n0 = (float(v[0]) for v in wgs84_to_bng(np.array([lat]), np.array([lon])))
        m = int(events * share)
        pts.append(np.column_stack([rng.normal(e0, spread, m), rng.normal(n0, spread, m)]))
        side = int(8 * spread / 120)
        anchors.append(
            np.column_stack(
                [
                    rng.uniform(e0 - 4 * spread, e0 + 4 * spread, side * side),
                    rng.uniform(n0 - 4 * spread, n0 + 4 * spread, side * side),
                ]
            )
        )
    sites = {}
    for town, de, dn, m, radius in NORFOLK_SITES:
        lat, lon = next((t[1], t[2]) for t in NORFOLK_TOWNS if t[0] == town)
        e0, n0 = (float(v[0]) for v in wgs84_to_bng(np.array([lat]), np.array([lon])))
        r, a = radius * np.sqrt(rng.random(m)), rng.random(m) * 2 * np.pi
        pts.append(np.column_stack([e0 + de + r * np.cos(a), n0 + dn + r * np.sin(a)]))
        slat, slon = bng_to_wgs84(np.array([e0 + de]), np.array([n0 + dn]))
        sites[town] = (float(slat[0]), float(slon[0]))
    xy = np.vstack(pts)
    grid = np.vstack(anchors)
    from scipy.spatial import cKDTree

    xy = grid[cKDTree(grid).query(xy)[1]]
    lat, lon = bng_to_wgs84(xy[:, 0], xy[:, 1])
    lat, lon = np.round(np.asarray(lat), 6), np.round(np.asarray(lon), 6)
    far = [(51.4816, -3.1791), (53.8008, -1.5491), (51.4816, -3.1791)]  # out of force, as police.uk files carry
    lat = np.concatenate([lat, [p[0] for p in far]])
    lon = np.concatenate([lon, [p[1] for p in far]])
    month = rng.integers(0, months, lat.size)
    types = ("Violence and sexual offences", "Anti-social behaviour", "Shoplifting", "Drugs", "Public order")
    for k in range(months):
        label = f"2024-{k + 1:02d}"
        rows = [
            f"nf{k}-{i},{label},Norfolk Constabulary,Norfolk Constabulary,{lon[i]:.6f},{lat[i]:.6f},"
            f"On or near Somewhere,E01026{i % 900:03d},Norfolk {i % 90:03d}A,{types[i % len(types)]},"
            "Under investigation,"
            for i in np.flatnonzero(month == k)
        ]
        write_csv(folder / f"{label}-norfolk-street.csv", STREET_HEADER, rows)
    return sites
