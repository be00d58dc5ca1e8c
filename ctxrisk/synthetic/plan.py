"""Random draws and the plan of a synthetic partnership: where its sites, networks and children are."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import lru_cache

import h3
import numpy as np

from ctxrisk.pipelines.geo import bng_to_wgs84, wgs84_to_bng
from ctxrisk.synthetic.world import (
    CATEGORIES,
    DEFAULT_INCIDENTS,
    H3_RESOLUTION,
    HALO_INNER_M,
    HALO_OUTER_M,
    N_DAYS,
    PATTERNS,
    PERSONS_PER_INCIDENT,
    SITE_RADIUS_M,
    SITE_TEMPLATES,
    TOWNS,
    TimePattern,
)

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------- helpers


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), *stream]))


def _p(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


def _weighted_category_p(weights: dict[str, float]) -> np.ndarray:
    return _p([weights.get(c, 0.0) for c in CATEGORIES])


@dataclass(frozen=True)
class _Geo:
    x: np.ndarray  # town centre eastings
    y: np.ndarray
    weights: np.ndarray
    sigma: np.ndarray  # core kernel spread (m)


@lru_cache(maxsize=1)
def _geo() -> _Geo:
    lat = np.array([t.latitude for t in TOWNS])
    lon = np.array([t.longitude for t in TOWNS])
    x, y = wgs84_to_bng(lat, lon)
    pop = np.array([t.population for t in TOWNS], dtype=float)
    return _Geo(x=x, y=y, weights=pop / pop.sum(), sigma=350.0 * np.sqrt(pop / 10_000.0))


def _town_points(rng: np.random.Generator, n: int, *, spread: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Points around towns: a core Gaussian kernel (75 %) and a wider one (25 %), scaled by town size."""
    geo = _geo()
    town = rng.choice(len(TOWNS), size=n, p=geo.weights)
    sigma = geo.sigma[town] * np.where(rng.random(n) < 0.25, 2.5, 1.0) * spread
    return geo.x[town] + rng.standard_normal(n) * sigma, geo.y[town] + rng.standard_normal(n) * sigma


def _disc(
    rng: np.random.Generator, n: int, cx: float, cy: float, radius: float = SITE_RADIUS_M - 5
) -> tuple[np.ndarray, np.ndarray]:
    """Points around a site centre: Gaussian (sd 20 m) pulled inside ``radius`` metres."""
    dx, dy = rng.standard_normal(n) * 20.0, rng.standard_normal(n) * 20.0
    r = np.hypot(dx, dy)
    shrink = np.where(r > radius, radius / np.maximum(r, 1e-9) * rng.uniform(0.5, 1.0, n), 1.0)
    return cx + dx * shrink, cy + dy * shrink


def _annulus(
    rng: np.random.Generator, n: int, cx: float, cy: float, inner: float = HALO_INNER_M, outer: float = HALO_OUTER_M
) -> tuple[np.ndarray, np.ndarray]:
    """Points spread evenly over the ring between ``inner`` and ``outer`` metres from a site centre."""
    r = np.sqrt(rng.uniform(inner**2, outer**2, n))
    angle = rng.uniform(0, 2 * np.pi, n)
    return cx + r * np.cos(angle), cy + r * np.sin(angle)


def _minutes(rng: np.random.Generator, day: np.ndarray, hour_weights: np.ndarray) -> np.ndarray:
    hour = rng.choice(24, size=len(day), p=_p(hour_weights))
    return day.astype(np.int64) * 1440 + hour * 60 + rng.integers(0, 60, len(day))


def _skewed(rng: np.random.Generator, lo: int, hi: int, n: int, power: float = 2.0) -> np.ndarray:
    """Indices in [lo, hi) skewed to the start, so some people recur often (IDs are shuffled, so no leak)."""
    return lo + np.floor((hi - lo) * rng.random(n) ** power).astype(np.int64)


def _grading(
    rng: np.random.Generator, n: int, present: np.ndarray | None = None, *, strong: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """3x5x2 grading codes: source 1-3 (0 = blank), intelligence A-E (-1 = blank), handling P/C (-1 = blank)."""
    se = rng.choice([1, 2, 3], size=n, p=[0.3, 0.6, 0.1] if strong else [0.2, 0.6, 0.2]).astype(np.int8)
    ie = rng.choice(5, size=n, p=[0.1, 0.45, 0.35, 0.07, 0.03] if strong else [0.05, 0.3, 0.4, 0.15, 0.1]).astype(
        np.int8
    )
    ha = (rng.random(n) < 0.15).astype(np.int8)
    if present is not None:
        se[~present], ie[~present], ha[~present] = 0, -1, -1
    return se, ie, ha


# --------------------------------------------------------------------------------------------- the plan


@dataclass
class _Site:
    name: str
    town: str
    location_type: str
    themes: tuple[str, ...]
    pattern: TimePattern
    trend: str
    start_day: int
    end_day: int
    x: float
    y: float
    latitude: float
    longitude: float
    cell: str
    networks: list[int]


@dataclass
class _Network:
    adults: list[int]
    links: dict[int, list[int]]  # adult index -> linked child indices
    group: int
    site: int


@dataclass
class _Plan:
    n_incidents: int
    n_persons: int
    sites: list[_Site]
    groups: list[list[int]]
    networks: list[_Network]
    # person index layout
    n_adults_of_concern: int
    child_lo: int
    child_hi: int
    ya_lo: int
    ya_hi: int
    adult_lo: int
    adult_hi: int
    person_number: np.ndarray  # index -> pseudonym number (a permutation)
    id_width: int

    @property
    def networked_children(self) -> np.ndarray:
        kids = {c for net in self.networks for cs in net.links.values() for c in cs}
        return np.array(sorted(kids), dtype=np.int64)


def _cells_apart(a: str, b: str, k: int) -> bool:
    try:
        return h3.grid_distance(a, b) >= k
    except h3.H3BaseException:  # too far apart for H3 to measure
        return True


def _place_sites(rng: np.random.Generator, n_sites: int) -> list[_Site]:
    geo = _geo()
    town_index = {t.name: i for i, t in enumerate(TOWNS)}
    exp_weights = _p(np.sqrt(geo.weights))
    taken: list[str] = []
    sites: list[_Site] = []
    for k in range(n_sites):
        template = SITE_TEMPLATES[k % len(SITE_TEMPLATES)]
        town = template.town if k < len(SITE_TEMPLATES) else TOWNS[int(rng.choice(len(TOWNS), p=exp_weights))].name
        ti = town_index[town]
        for attempt in range(10_000):
            reach = 1200.0 * (1.0 + attempt / 25.0)
            dist = rng.uniform(250.0, reach)
            angle = rng.uniform(0, 2 * math.pi)
            lat, lon = bng_to_wgs84(
                np.array([geo.x[ti] + dist * math.cos(angle)]), np.array([geo.y[ti] + dist * math.sin(angle)])
            )
            cell = h3.latlng_to_cell(float(lat[0]), float(lon[0]), H3_RESOLUTION)
            if all(_cells_apart(cell, other, 3) for other in taken):
                break
        taken.append(cell)
        clat, clon = h3.cell_to_latlng(cell)
        cx, cy = wgs84_to_bng(np.array([clat]), np.array([clon]))
        if template.trend == "emerging":
            start, end = int(rng.integers(300, 430)), N_DAYS
        elif template.trend == "diminishing":
            start, end = 0, int(rng.integers(480, 560))
        else:
            start, end = 0, N_DAYS
        suffix = "" if k < len(SITE_TEMPLATES) else f" {k // len(SITE_TEMPLATES) + 1}"
        sites.append(
            _Site(
                name=f"{template.label} ({town}){suffix}",
                town=town,
                location_type=template.location_type,
                themes=template.themes,
                pattern=PATTERNS[template.pattern],
                trend=template.trend,
                start_day=start,
                end_day=end,
                x=float(cx[0]),
                y=float(cy[0]),
                latitude=round(clat, 6),
                longitude=round(clon, 6),
                cell=cell,
                networks=[],
            )
        )
    return sites


def _make_plan(seed: int, n_incidents: int) -> _Plan:
    rng = _rng(seed, 1)
    root = math.sqrt(n_incidents / DEFAULT_INCIDENTS)
    n_sites = max(4, round(8 * root))
    n_networks = max(2, round(5 * root))
    n_groups = n_networks + max(1, round(n_networks / 5))
    sites = _place_sites(rng, n_sites)
    exploitation_sites = [i for i, s in enumerate(sites) if set(s.themes) & {"cse", "cce", "county_lines"}]

    sizes = rng.integers(5, 9, n_groups)
    n_adults = 1 + (rng.random(n_networks) < 0.3).astype(int)
    n_aoc = int(n_adults.sum())
    child_start = n_aoc
    groups, pos = [], child_start
    for size in sizes:
        groups.append(list(range(pos, pos + int(size))))
        pos += int(size)
    n_planted = pos
    n_persons = max(round(PERSONS_PER_INCIDENT * n_incidents), n_planted + 300)
    n_bg = n_persons - n_planted
    child_lo = n_planted
    child_hi = child_lo + round(0.36 * n_bg)
    ya_hi = child_hi + round(0.24 * n_bg)

    networks, adult = [], 0
    for k in range(n_networks):
        members = groups[k]
        adults = list(range(adult, adult + int(n_adults[k])))
        adult += int(n_adults[k])
        links = {}
        for a in adults:
            m = int(rng.integers(3, min(6, len(members)) + 1))
            links[a] = sorted(int(c) for c in rng.choice(members, size=m, replace=False))
        site = exploitation_sites[k % len(exploitation_sites)]
        sites[site].networks.append(k)
        networks.append(_Network(adults=adults, links=links, group=k, site=site))
    width = max(6, len(str(n_persons)))
    plan = _Plan(
        n_incidents=n_incidents,
        n_persons=n_persons,
        sites=sites,
        groups=groups,
        networks=networks,
        n_adults_of_concern=n_aoc,
        child_lo=child_lo,
        child_hi=child_hi,
        ya_lo=child_hi,
        ya_hi=ya_hi,
        adult_lo=ya_hi,
        adult_hi=n_persons,
        person_number=rng.permutation(n_persons).astype(np.int64) + 1,
        id_width=width,
    )
    log.info(
        "planned %s sites, %s networks, %s peer groups, %s persons", len(sites), n_networks, n_groups, f"{n_persons:,}"
    )
    return plan
