"""Seeded validation study of the hot spot defaults: calibration under the null, power on planted sites.

Each run simulates a town in British National Grid metres (a disc of radius ``radius_m`` around an
arbitrary centre in England), places its events in units, runs the hot spot test and scores it:

* **backgrounds** -- ``"csr"``: complete spatial randomness over the disc; ``"town"``: an inhomogeneous
  intensity (half the events around a centre, Gaussian with sd 600 m; a quarter around two district
  centres 2.5 km out, sd 350 m; a quarter uniform);
* **planted site** -- ``site_events`` extra events uniform within ``site_radius_m`` of a point 1.2 to 3 km
  from the town centre, at a random angle (0 events: a null run);
* **snapping** -- as police.uk publishes, every event moved to the nearest of a set of anonymised map
  points (one per ``snap_spacing_m`` squared on average, placed at random): many events share a point;
* **a second, quieter town** -- ``quiet_town`` events (complete spatial randomness over a disc of radius
  ``quiet_radius_m``, 30 km east of the first); the planted site, if any, is then in the quiet town, 0.3 to
  0.75 of its radius from its centre (1.2 to 3 km for the default 4 km). The region is
  both discs, analysed apart as a run analyses the separate groups of a region
  (:class:`ctxrisk.analytics.gistar_groups.GroupedGiStar`: Gi* and its null within each town, each town's
  permutations budgeted from its own units, one FDR over all);
* **units** -- ``"auto"`` (the default: the H3 resolution :mod:`ctxrisk.analytics.scale` picks from the
  events), H3 cells ``"h3:R"`` with a ``k``-ring, or ``"lsoa"``: LSOA-like Voronoi polygons (about 1,500
  residents each, so small in the centre), queen contiguity; the region is the disc (the partnership's
  area: every cell centred in it, zero-count cells included);
* **inference** -- ``"total"`` (total-permutation Gi*, permutations from :func:`ctxrisk.analytics.gistar.
  auto_permutations`; the default), ``"conditional"`` (esda's conditional permutation, same count),
  ``"normal"`` (analytic z); or, with ``baseline="all-incidents"``, the case-control test of
  :mod:`ctxrisk.analytics.baselines` where a tenth of the events (chosen at random: nothing planted) or
  the planted site's events are the theme. ``exact=True`` computes the permutation p-values exactly
  (``GiStar(permutations="exact")``, as the per-theme runs do) instead of simulating them.

Scores: a *discovery* is a flagged hot unit. In a null run every discovery is false; the study reports
the share of runs with any false discovery and the false discovery proportion (equal under the null), each
with its Monte-Carlo standard error ``sqrt(x (1 - x) / runs)``. In a site run the site is *detected* when
a hot unit holds at least one planted event. ``python -m ctxrisk.analytics.validation`` prints the tables
of docs/hotspots.md ("Validation").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import h3
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.spatial import Delaunay, cKDTree

from ctxrisk.analytics.baselines import BaselineGi
from ctxrisk.analytics.gistar import GiStar, auto_permutations
from ctxrisk.analytics.gistar_groups import GroupedGiStar
from ctxrisk.analytics.scale import choose_resolution
from ctxrisk.analytics.weights import h3_cells_indexed, h3_kring_weights
from ctxrisk.pipelines.geo import bng_to_wgs84, wgs84_to_bng

__all__ = ["Scenario", "run_scenario", "simulate", "study"]

#: Centre of the simulated town (BNG metres): open country in the Midlands, any point would do.
CENTRE = (430_000.0, 300_000.0)
#: Offset of the second, quieter town from the first (metres east).
QUIET_OFFSET = np.array([30_000.0, 0.0])


@dataclass(frozen=True)
class Scenario:
    """One cell of the study (see the module docstring)."""

    background: Literal["csr", "town"] = "csr"
    n_background: int = 3_000
    site_events: int = 0
    site_radius_m: float = 150.0
    snap: bool = False
    snap_spacing_m: float = 80.0
    unit: str = "auto"
    k: int = 2
    inference: Literal["total", "conditional", "normal"] = "total"
    exact: bool = False
    baseline: Literal["none", "all-incidents"] = "none"
    radius_m: float = 4_000.0
    alpha: float = 0.05
    quiet_town: int = 0
    quiet_radius_m: float = 4_000.0


def _disc(rng: np.random.Generator, n: int, radius: float) -> np.ndarray:
    r = radius * np.sqrt(rng.random(n))
    t = rng.random(n) * 2 * np.pi
    return np.column_stack([r * np.cos(t), r * np.sin(t)])


def _background(rng: np.random.Generator, sc: Scenario) -> np.ndarray:
    n = sc.n_background
    if sc.background == "csr":
        return _disc(rng, n, sc.radius_m)
    parts = rng.multinomial(n, [0.5, 0.125, 0.125, 0.25])
    districts = [(2_500.0, 0.0), (-1_250.0, 2_165.0)]
    pts = [rng.normal(0, 600, size=(parts[0], 2))]
    pts += [np.array(c) + rng.normal(0, 350, size=(m, 2)) for c, m in zip(districts, parts[1:3], strict=True)]
    pts.append(_disc(rng, parts[3], sc.radius_m))
    out = np.vstack(pts)
    outside = np.hypot(out[:, 0], out[:, 1]) > sc.radius_m
    out[outside] = _disc(rng, int(outside.sum()), sc.radius_m)
    return out


def simulate(sc: Scenario, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Events of one run: offsets from :data:`CENTRE` (metres), which are planted, and the site's centre."""
    bg = _background(rng, sc)
    if sc.quiet_town:
        bg = np.vstack([bg, QUIET_OFFSET + _disc(rng, sc.quiet_town, sc.quiet_radius_m)])
    site = None
    planted = np.zeros(len(bg), dtype=bool)
    if sc.site_events:
        dist = rng.uniform(1_200, 3_000) if not sc.quiet_town else rng.uniform(0.3, 0.75) * sc.quiet_radius_m
        ang = rng.uniform(0, 2 * np.pi)
        site = np.array([dist * np.cos(ang), dist * np.sin(ang)]) + (QUIET_OFFSET if sc.quiet_town else 0.0)
        pts = site + _disc(rng, sc.site_events, sc.site_radius_m)
        bg = np.vstack([bg, pts])
        planted = np.concatenate([planted, np.ones(sc.site_events, dtype=bool)])
    if sc.snap:
        area = np.pi * sc.radius_m**2
        anchors = _disc(rng, max(10, int(area / sc.snap_spacing_m**2)), sc.radius_m)
        if sc.quiet_town:
            share = (sc.quiet_radius_m / sc.radius_m) ** 2  # the same spacing of map points in the quiet town
            quiet = _disc(rng, max(10, int(len(anchors) * share)), sc.quiet_radius_m)
            anchors = np.vstack([anchors, QUIET_OFFSET + quiet])
        bg = anchors[cKDTree(anchors).query(bg)[1]]
    return bg, planted, site


def _lsoa_like(rng: np.random.Generator, sc: Scenario) -> tuple[cKDTree, sp.csr_matrix, np.ndarray]:
    """Voronoi units seeded at the town's intensity (equal-population areas), their contiguity and areas."""
    seeds = _background(rng, dataclasses.replace(sc, n_background=max(30, sc.n_background // 50)))
    tri = Delaunay(seeds)
    a, b = tri.vertex_neighbor_vertices
    rows = np.repeat(np.arange(len(seeds)), np.diff(a))
    w = sp.csr_matrix((np.ones(b.size), (rows, b)), shape=(len(seeds), len(seeds)))
    w = ((w + w.T) > 0).astype(np.float64)
    w.setdiag(0)
    w.eliminate_zeros()
    tree = cKDTree(seeds)
    grid = _disc(np.random.default_rng(0), 200_000, sc.radius_m)  # areas by a fine uniform sample of the disc
    area = np.bincount(tree.query(grid)[1], minlength=len(seeds)) * (np.pi * sc.radius_m**2 / len(grid))
    return tree, sp.csr_matrix(w), np.maximum(area, 1.0)


def _units(
    sc: Scenario, xy: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, int, sp.csr_matrix, np.ndarray | None, np.ndarray | None]:
    """Unit of each event, number of units, weights, (polygons) areas and (two towns) each unit's town."""
    if sc.unit == "lsoa":
        if sc.quiet_town:
            msg = "the quiet town is simulated on H3 units only"
            raise ValueError(msg)
        tree, w, area = _lsoa_like(rng, sc)
        return tree.query(xy)[1], w.shape[0], w, area, None
    if sc.unit == "auto":  # the default: the resolution chosen from the events' spacing
        res = choose_resolution(xy[:, 0] + CENTRE[0], xy[:, 1] + CENTRE[1]).resolution
    else:
        res = int(sc.unit.split(":")[1])
    lat, lon = bng_to_wgs84(xy[:, 0] + CENTRE[0], xy[:, 1] + CENTRE[1])
    cells, index = h3_cells_indexed(np.asarray(lat), np.asarray(lon), resolution=res)
    # The partnership's area is the disc: every cell whose centre lies in it, zero-count cells included;
    # events in a cell centred outside it are left out, as a run leaves out events outside its region.
    towns = [(np.array(CENTRE), sc.radius_m)]
    if sc.quiet_town:
        towns.append((np.array(CENTRE) + QUIET_OFFSET, sc.quiet_radius_m))
    spacing = h3.average_hexagon_edge_length(res, "m") * np.sqrt(3)
    parts = []
    for centre, radius in towns:
        c_lat, c_lon = bng_to_wgs84(np.array([centre[0]]), np.array([centre[1]]))
        centre_cell = h3.latlng_to_cell(float(c_lat[0]), float(c_lon[0]), res)
        disk = np.array(sorted(h3.grid_disk(centre_cell, int(radius / spacing) + 2)))
        ce, cn = wgs84_to_bng(*np.array([h3.cell_to_latlng(c) for c in disk]).T)
        parts.append(disk[np.hypot(np.asarray(ce) - centre[0], np.asarray(cn) - centre[1]) <= radius])
    ids = np.concatenate(parts)
    order = np.argsort(ids)
    ids, town = ids[order], np.repeat(np.arange(len(parts)), [p.size for p in parts])[order]
    pos = {c: i for i, c in enumerate(ids.tolist())}
    rows = np.array([pos.get(c, -1) for c in cells.tolist()], dtype=np.int64)
    return rows[index], ids.size, h3_kring_weights(ids, k=sc.k), None, town if sc.quiet_town else None


def run_scenario(sc: Scenario, *, seed: int) -> dict[str, float]:
    """One seeded run: the number of hot units, of false ones (null runs), and whether the site was found."""
    rng = np.random.default_rng(seed)
    xy, planted, _ = simulate(sc, rng)
    unit_of, n, w, area, town = _units(sc, xy, rng)
    keep = unit_of >= 0
    xy, planted, unit_of = xy[keep], planted[keep], unit_of[keep]
    if sc.baseline == "all-incidents":
        theme = planted if sc.site_events else rng.random(len(xy)) < 0.1
        cases = np.bincount(unit_of[theme], minlength=n)
        total = np.bincount(unit_of, minlength=n)
        hot = BaselineGi(cases, total, w, kind="all-incidents", alpha=sc.alpha).hot
    elif area is not None:  # polygons of unequal area: the run's rate test against area
        y = np.bincount(unit_of, minlength=n)
        hot = BaselineGi(y, area, w, kind="population", alternative="two-sided", alpha=sc.alpha).hot
    else:
        y = np.bincount(unit_of, minlength=n).astype(np.float64)
        m = int((np.diff(w.indptr) > 0).sum())
        rnd = "conditional" if sc.inference == "conditional" else "total"
        exact = sc.exact and sc.inference != "normal"
        if town is not None:  # two towns are analysed apart, as a run analyses the separate groups of its region
            # None: each town's permutation budget (group_permutations)
            each: int | Literal["exact"] | None = 0 if sc.inference == "normal" else ("exact" if exact else None)
            hot = GroupedGiStar(y, w, town, permutations=each, seed=seed, alpha=sc.alpha, randomisation=rnd).hot
        else:
            perms: int | Literal["exact"] = 0 if sc.inference == "normal" else auto_permutations(m, sc.alpha)
            if exact:
                perms = "exact"
            hot = GiStar(y, w, permutations=perms, seed=seed, alpha=sc.alpha, randomisation=rnd).hot
    site_units = np.unique(unit_of[planted])
    return {
        "hot": float(hot.sum()),
        "any_false": float(hot.any()) if not sc.site_events else np.nan,
        "detected": float(hot[site_units].any()) if sc.site_events else np.nan,
    }


def study(scenarios: list[Scenario], *, runs: int, seed: int = 20_261_205) -> pd.DataFrame:
    """Run every scenario ``runs`` times (run ``r`` seeded ``seed + r``) and summarise with MC errors.

    Returns
    -------
    pandas.DataFrame
        One row per scenario: its fields, ``runs``, ``mean_hot``, ``fdr`` (null runs: the false discovery
        rate, which equals the share of runs with any discovery), ``power`` (site runs), each rate with
        ``*_se`` = ``sqrt(x (1 - x) / runs)``.
    """
    rows = []
    for sc in scenarios:
        res = pd.DataFrame([run_scenario(sc, seed=seed + r) for r in range(runs)])
        row = dataclasses.asdict(sc) | {"runs": runs, "mean_hot": res["hot"].mean()}
        for name, col in (("fdr", "any_false"), ("power", "detected")):
            x = float(res[col].mean()) if res[col].notna().any() else np.nan
            row[name] = x
            row[f"{name}_se"] = float(np.sqrt(x * (1 - x) / runs)) if np.isfinite(x) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def default_grid() -> list[Scenario]:
    """The scenarios of docs/hotspots.md: nulls and sites on both backgrounds, snapping, units, rings, inference."""
    grid: list[Scenario] = []
    for unit in ("auto", "h3:8", "h3:9", "h3:10", "h3:11", "lsoa"):
        grid.append(Scenario("csr", unit=unit))
        grid.append(Scenario("csr", unit=unit, snap=True))
        for events, radius in ((10, 50.0), (50, 150.0), (100, 500.0)):
            grid.append(Scenario("town", unit=unit, site_events=events, site_radius_m=radius))
        grid.append(Scenario("town", unit=unit, site_events=50, snap=True))
        grid.append(Scenario("town", unit=unit, baseline="all-incidents"))
    for inference in ("conditional", "normal"):
        grid.append(Scenario("csr", inference=inference))
        grid.append(Scenario("csr", inference=inference, snap=True))
        grid.append(Scenario("town", inference=inference, site_events=50))
    for k in (1, 3):
        grid.append(Scenario("csr", k=k))
        grid.append(Scenario("town", k=k, site_events=50))
    grid.append(Scenario("csr", quiet_town=600))
    grid.append(Scenario("csr", quiet_town=600, snap=True))
    grid.append(Scenario("town", quiet_town=600, site_events=50))
    grid.append(Scenario("town", quiet_town=600, site_events=50, snap=True))
    # A small quiet town (a twelfth of the region's units): its budget is the small-group term
    grid.append(Scenario("csr", quiet_town=150, quiet_radius_m=1_200.0))
    grid.append(Scenario("town", quiet_town=150, quiet_radius_m=1_200.0, site_events=50))
    return grid + exact_grid()


def exact_grid() -> list[Scenario]:
    """Exact permutation p-values (the per-theme runs) beside the simulated ones, dense and sparse (a theme)."""
    grid: list[Scenario] = []
    for exact in (False, True):
        for events in (3_000, 300):
            grid.append(Scenario("csr", n_background=events, exact=exact))
            grid.append(Scenario("csr", n_background=events, snap=True, exact=exact))
        grid.append(Scenario("town", site_events=50, exact=exact))
        grid.append(Scenario("town", site_events=50, snap=True, exact=exact))
        grid.append(Scenario("town", n_background=300, site_events=20, site_radius_m=100.0, exact=exact))
        grid.append(Scenario("csr", inference="conditional", exact=exact))
        grid.append(Scenario("town", site_events=50, inference="conditional", exact=exact))
    return grid


COLUMNS = [
    "background",
    "quiet_town",
    "quiet_radius_m",
    "site_events",
    "site_radius_m",
    "snap",
    "unit",
    "k",
    "inference",
    "baseline",
]


def main(runs: int, grid: list[Scenario] | None = None) -> None:  # pragma: no cover - the study's command line
    """Print the study's table (markdown), a row as each scenario finishes."""
    print("| " + " | ".join([*COLUMNS, "runs", "mean hot", "FDR (se)", "power (se)"]) + " |", flush=True)
    print("|" + "---|" * (len(COLUMNS) + 4), flush=True)
    for sc in default_grid() if grid is None else grid:
        r = study([sc], runs=runs).iloc[0]
        fdr = f"{r['fdr']:.3f} ({r['fdr_se']:.3f})" if np.isfinite(r["fdr"]) else ""
        power = f"{r['power']:.3f} ({r['power_se']:.3f})" if np.isfinite(r["power"]) else ""
        cells = [str(r[c]) for c in COLUMNS] + [str(runs), f"{r['mean_hot']:.1f}", fdr, power]
        if sc.n_background != Scenario.n_background:
            cells[0] += f" ({sc.n_background:,} events)"
        if sc.exact:
            cells[COLUMNS.index("inference")] += " (exact)"
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":  # pragma: no cover
    import logging
    import sys

    logging.disable(logging.WARNING)
    only_exact = "--exact" in sys.argv  # only the exact-versus-simulated rows
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    main(int(numbers[0]) if numbers else 100, exact_grid() if only_exact else None)
