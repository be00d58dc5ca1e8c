"""Generate a realistic synthetic Cheshire East partnership data set with planted, documented patterns."""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import h3
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.geo import bng_to_wgs84, wgs84_to_bng

log = logging.getLogger(__name__)

FILES = ("incidents", "persons", "involvements", "missing", "associations", "intelligence", "screenings", "referrals")
FORMATS = ("csv", "parquet")
DEFAULT_INCIDENTS = 5000
MIN_INCIDENTS = 1000
CHUNK_ROWS = 250_000
H3_RESOLUTION = 9
SITE_RADIUS_M = 60.0

# Observation window: 24 months of naive Europe/London local times ending 2026-09-30.
PERIOD_START = np.datetime64("2024-10-01T00:00", "m")
N_DAYS = 730
PERIOD_MINUTES = N_DAYS * 1440
AGE_REFERENCE_MONTH = np.datetime64("2025-10", "M")  # ages below are "at the middle of the window"
_WEEKDAY0 = int((PERIOD_START.astype("datetime64[D]") - np.datetime64("1970-01-05")).astype(int)) % 7  # Monday=0
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Per incident: proportional sizes of the other files.
PERSONS_PER_INCIDENT = 0.40
MISSING_PER_INCIDENT = 0.12
INTELLIGENCE_PER_INCIDENT = 0.10
ASSOCIATIONS_PER_INCIDENT = 0.30
PLANTED_SITE_SHARE = 0.06  # share of incidents within SITE_RADIUS_M of a planted location of concern
HALO_SHARE = 0.12  # share of incidents in the streets around a site (HALO_INNER_M..HALO_OUTER_M from it)
HALO_INNER_M, HALO_OUTER_M = 90.0, 380.0


@dataclass(frozen=True)
class Town:
    """A Cheshire East town: centre (WGS84) and approximate population (the weight of background activity)."""

    name: str
    latitude: float
    longitude: float
    population: int


# Town-centre coordinates (WGS84) and approximate 2021 census populations of the built-up areas.
TOWNS: tuple[Town, ...] = (
    Town("Crewe", 53.0979, -2.4407, 71_700),
    Town("Macclesfield", 53.2587, -2.1270, 52_000),
    Town("Congleton", 53.1633, -2.2130, 30_000),
    Town("Wilmslow", 53.3262, -2.2310, 24_500),
    Town("Sandbach", 53.1445, -2.3620, 18_600),
    Town("Nantwich", 53.0672, -2.5218, 14_900),
    Town("Poynton", 53.3498, -2.1215, 14_300),
    Town("Middlewich", 53.1917, -2.4437, 14_000),
    Town("Knutsford", 53.3025, -2.3734, 13_300),
    Town("Alsager", 53.0965, -2.3047, 12_000),
    Town("Bollington", 53.2980, -2.0930, 8_000),
    Town("Handforth", 53.3466, -2.2153, 6_300),
    Town("Holmes Chapel", 53.1985, -2.3535, 6_000),
    Town("Alderley Edge", 53.3037, -2.2369, 4_800),
    Town("Disley", 53.3580, -2.0419, 4_300),
)

THEMES = ("cse", "cce", "county_lines", "missing", "radicalisation", "modern_slavery", "serious_violence", "other")
EXPLOITATION_THEMES = ("cse", "cce", "county_lines", "modern_slavery")

# Category -> theme, consistent with [themes.categories] of pipelines/default_config.toml.
CATEGORY_THEMES: dict[str, str] = {
    "Anti-social behaviour": "other",
    "Shoplifting": "other",
    "Criminal damage": "other",
    "Burglary": "other",
    "Vehicle crime": "other",
    "Public order": "other",
    "Concern for welfare": "other",
    "Violence with injury": "serious_violence",
    "Possession of weapons": "serious_violence",
    "Robbery": "serious_violence",
    "Drug supply": "county_lines",
    "Cuckooing": "county_lines",
    "Criminal exploitation": "cce",
    "Child sexual exploitation": "cse",
    "Online grooming": "cse",
    "Modern slavery": "modern_slavery",
    "Human trafficking": "modern_slavery",
    "Radicalisation concern": "radicalisation",
    "Missing from home": "missing",
}
CATEGORIES = tuple(CATEGORY_THEMES)
_CAT = {c: i for i, c in enumerate(CATEGORIES)}
_CAT_THEME_IDX = np.array([THEMES.index(CATEGORY_THEMES[c]) for c in CATEGORIES], dtype=np.int16)
_BG_CATEGORY_WEIGHTS = {
    "Anti-social behaviour": 22,
    "Shoplifting": 12,
    "Criminal damage": 10,
    "Burglary": 7,
    "Vehicle crime": 7,
    "Public order": 6,
    "Concern for welfare": 8,
    "Violence with injury": 9,
    "Possession of weapons": 2,
    "Robbery": 2,
    "Drug supply": 4,
    "Cuckooing": 0.7,
    "Criminal exploitation": 2,
    "Child sexual exploitation": 2,
    "Online grooming": 0.8,
    "Modern slavery": 0.7,
    "Human trafficking": 0.3,
    "Radicalisation concern": 0.5,
    "Missing from home": 3,
}
_INTEL_CATEGORY_WEIGHTS = {
    "Child sexual exploitation": 16,
    "Online grooming": 4,
    "Criminal exploitation": 15,
    "Drug supply": 22,
    "Cuckooing": 5,
    "Possession of weapons": 10,
    "Modern slavery": 5,
    "Human trafficking": 2,
    "Radicalisation concern": 3,
    "Anti-social behaviour": 10,
    "Concern for welfare": 8,
}
THEME_CATEGORIES: dict[str, tuple[str, ...]] = {
    "cse": ("Child sexual exploitation", "Child sexual exploitation", "Online grooming"),
    "cce": ("Criminal exploitation",),
    "county_lines": ("Drug supply", "Drug supply", "Cuckooing"),
    "modern_slavery": ("Modern slavery", "Modern slavery", "Human trafficking"),
    "serious_violence": ("Possession of weapons", "Violence with injury", "Robbery"),
    "radicalisation": ("Radicalisation concern",),
    "missing": ("Missing from home",),
    "other": ("Anti-social behaviour",),
}

LOCATION_TYPES = (
    "residential",
    "street",
    "retail",
    "park",
    "transport_hub",
    "licensed_premises",
    "school",
    "takeaway",
    "hotel",
    "retail_park",
    "car_wash",
)
_BG_LOCATION_WEIGHTS = (40, 30, 8, 7, 5, 5, 5, 0, 0, 0, 0)
SOURCES = ("police", "partnership", "children_social_care", "education")
_BG_SOURCE_WEIGHTS = (65, 20, 10, 5)
_SITE_SOURCE_WEIGHTS = (55, 25, 12, 8)
ROLES = ("victim", "suspect", "associate", "witness", "found_with", "subject")
RELATIONS = ("knows", "family", "lives_with", "social_media", "phone_contact", "co_offender", "intelligence")
_BG_RELATION_WEIGHTS = (35, 20, 10, 15, 10, 5, 5)
SEXES = ("female", "male", "other", "unknown")
RISK_LEVELS = ("low", "medium", "high")
INTEL_EVALUATIONS = ("A", "B", "C", "D", "E")
REFERRAL_TYPES = ("nrm", "mace", "channel", "early_help", "other")
REFERRAL_OUTCOMES: dict[str, tuple[str, ...]] = {
    "nrm": (
        "positive reasonable grounds decision",
        "positive conclusive grounds decision",
        "negative reasonable grounds decision",
        "awaiting decision",
    ),
    "mace": ("multi-agency plan agreed", "disruption plan agreed", "kept under review", "no further action"),
    "channel": ("adopted as Channel case", "not adopted - signposted to other support", "no further action"),
    "early_help": (
        "early help assessment completed",
        "family support plan in place",
        "declined by family",
        "stepped up to children's social care",
    ),
    "other": ("youth justice service support", "school support plan", "no further action"),
}
_OUTCOME_LIST = tuple(o for t in REFERRAL_TYPES for o in REFERRAL_OUTCOMES[t])
_OUTCOME_START = np.cumsum([0] + [len(REFERRAL_OUTCOMES[t]) for t in REFERRAL_TYPES])

_BG_HOUR_WEIGHTS = np.array(
    [2, 1.5, 1, 0.7, 0.5, 0.5, 0.8, 1.5, 2.5, 3, 3.5, 4, 4.5, 4.5, 4.5, 5, 5.5, 5.5, 5.5, 5, 4.5, 4, 3.5, 3]
)
_MISSING_HOUR_WEIGHTS = np.array(
    [2, 1.5, 1, 0.5, 0.3, 0.3, 0.3, 0.5, 1, 1, 1, 1, 1.5, 1.5, 2, 3.5, 4.5, 5, 5.5, 6, 6, 5.5, 4, 3]
)


@dataclass(frozen=True)
class TimePattern:
    """When events at a planted site happen: hour weights and weekday weights (Monday first)."""

    name: str
    description: str
    hours: tuple[int, ...]
    hour_weights: tuple[float, ...]
    weekday_weights: tuple[float, ...]

    def peak_weekdays(self) -> list[str]:
        w = np.asarray(self.weekday_weights, float)
        return [WEEKDAYS[i] for i in np.flatnonzero(w >= 1.5 * w.mean())] or list(WEEKDAYS)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "hours": list(self.hours),
            "weekdays": self.peak_weekdays(),
            "share_following_pattern": 0.85,
        }


PATTERNS: dict[str, TimePattern] = {
    p.name: p
    for p in (
        TimePattern(
            "evenings_fri_sat",
            "evenings 18:00-23:59, mostly Fridays and Saturdays",
            (18, 19, 20, 21, 22, 23),
            (3, 4, 5, 5, 4, 3),
            (1, 1, 1, 1.5, 6, 6, 1),
        ),
        TimePattern(
            "after_school",
            "after school 15:00-19:59 on weekdays",
            (15, 16, 17, 18, 19),
            (3, 5, 5, 4, 2),
            (5, 5, 5, 5, 5, 0.6, 0.4),
        ),
        TimePattern(
            "late_night",
            "late night 21:00-02:59, mostly Thursday to Saturday",
            (21, 22, 23, 0, 1, 2),
            (2, 3, 4, 4, 3, 2),
            (1, 1, 1, 3, 6, 6, 1.5),
        ),
        TimePattern(
            "daytime_weekdays",
            "daytime 08:00-17:59, Monday to Saturday",
            tuple(range(8, 18)),
            (1,) * 10,
            (5, 5, 5, 5, 5, 3, 0),
        ),
    )
}


@dataclass(frozen=True)
class _SiteTemplate:
    label: str
    town: str
    location_type: str
    themes: tuple[str, ...]
    pattern: str
    trend: str


SITE_TEMPLATES: tuple[_SiteTemplate, ...] = (
    _SiteTemplate("Park", "Crewe", "park", ("cse", "cce"), "evenings_fri_sat", "persistent"),
    _SiteTemplate("Railway station", "Crewe", "transport_hub", ("county_lines", "cce"), "after_school", "persistent"),
    _SiteTemplate("Takeaway", "Macclesfield", "takeaway", ("cse",), "late_night", "emerging"),
    _SiteTemplate("Hotel", "Wilmslow", "hotel", ("cse", "modern_slavery"), "late_night", "emerging"),
    _SiteTemplate(
        "Retail park", "Congleton", "retail_park", ("cce", "serious_violence"), "after_school", "diminishing"
    ),
    _SiteTemplate(
        "Bus station",
        "Macclesfield",
        "transport_hub",
        ("county_lines", "serious_violence"),
        "after_school",
        "persistent",
    ),
    _SiteTemplate("Recreation ground", "Nantwich", "park", ("serious_violence",), "evenings_fri_sat", "emerging"),
    _SiteTemplate("Car wash", "Middlewich", "car_wash", ("modern_slavery",), "daytime_weekdays", "persistent"),
)


@dataclass
class SampleSummary:
    """Rows written per file by :func:`generate_sample`.

    Attributes
    ----------
    out_dir : Path
        Folder holding the files, ``ground_truth.json`` and ``README.md``.
    fmt : str
        ``csv`` or ``parquet``.
    seed : int
        Seed of the generator; the same seed, size and format give byte-identical files.
    incidents, persons, involvements, missing, associations, intelligence, screenings, referrals : int
        Rows written to each file.
    seconds : float
        Wall-clock time taken.
    """

    out_dir: Path
    fmt: str
    seed: int
    incidents: int = 0
    persons: int = 0
    involvements: int = 0
    missing: int = 0
    associations: int = 0
    intelligence: int = 0
    screenings: int = 0
    referrals: int = 0
    seconds: float = 0.0

    def rows(self) -> dict[str, int]:
        """Rows per file, in the order of :data:`FILES`."""
        return {name: getattr(self, name) for name in FILES}

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["out_dir"] = str(self.out_dir)
        return out


_SCALE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$")


def parse_scale(text: str | int) -> int:
    """Parse an incident count such as ``"5000"``, ``"100k"``, ``"1M"``, ``"2.5M"`` or ``"10_000"``.

    ``k`` means thousand and ``M`` million (either case). Returns a positive integer.

    Raises
    ------
    ValidationError
        The text is not a positive count in one of these forms.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        value = float(text)
    else:
        match = _SCALE_RE.match(str(text).replace("_", "").replace(",", ""))
        if match is None:
            msg = f"scale {text!r} is not a count: use e.g. 5000, 100k, 1M or 10M"
            raise ValidationError(msg)
        value = float(match.group(1)) * {"": 1, "k": 1e3, "m": 1e6}[match.group(2).lower()]
    if value < 1 or value != round(value):
        msg = f"scale {text!r} must be a positive whole number of incidents"
        raise ValidationError(msg)
    return int(round(value))


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


# --------------------------------------------------------------------------------------------- to Arrow


class _Encoder:
    """Turns internal numeric codes into the strings of the canonical files."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self._person_ids: pa.Array | None = None
        tod = np.arange(1440)
        self._tod = pa.array([f"T{h:02d}:{m:02d}:00" for h, m in zip(tod // 60, tod % 60, strict=False)])

    @property
    def person_ids(self) -> pa.Array:
        if self._person_ids is None:
            digits = pc.utf8_lpad(
                pc.cast(pa.array(self.plan.person_number), pa.string()), self.plan.id_width, padding="0"
            )
            self._person_ids = pc.binary_join_element_wise("P", digits, "")
        return self._person_ids

    def persons(self, idx: np.ndarray) -> pa.Array:
        idx = np.asarray(idx, dtype=np.int64)
        return pc.take(self.person_ids, pa.array(idx, mask=idx < 0))

    def person_list(self, cols: list[np.ndarray]) -> pa.Array:
        parts = [self.persons(c) for c in cols]
        # null_handling="skip" drops all-null rows in pyarrow 26, so join blanks and tidy the separators
        joined = pc.binary_join_element_wise(*parts, ";", null_handling="replace", null_replacement="")
        joined = pc.utf8_trim(pc.replace_substring_regex(joined, ";;+", ";"), ";")
        return pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), joined)

    @staticmethod
    def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
        digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, padding="0")
        return pc.binary_join_element_wise(f"{prefix}-", digits, "")

    def times(self, minutes: np.ndarray, date_only: np.ndarray | None = None) -> pa.Array:
        """Naive local ISO strings from minutes since the window start; negative = blank."""
        minutes = np.asarray(minutes, dtype=np.int64)
        null = minutes < 0
        safe = np.where(null, 0, minutes)
        days = pc.cast(pa.array((PERIOD_START + safe).astype("datetime64[D]")), pa.string())
        full = pc.binary_join_element_wise(days, pc.take(self._tod, pa.array(safe % 1440)), "")
        if date_only is not None and date_only.any():
            full = pc.if_else(pa.array(date_only), days, full)
        if null.any():
            full = pc.if_else(pa.array(null), pa.scalar(None, pa.string()), full)
        return full

    @staticmethod
    def codes(values: tuple[str, ...], idx: np.ndarray) -> pa.Array:
        idx = np.asarray(idx, dtype=np.int64)
        return pc.take(pa.array(values, pa.string()), pa.array(idx, mask=idx < 0))

    @staticmethod
    def coordinates(x: np.ndarray, y: np.ndarray, bng: np.ndarray) -> dict[str, pa.Array]:
        """WGS84 (6 dp) for most rows, BNG metres for ``bng`` rows; NaN coordinates are blank."""
        located = np.isfinite(x) & np.isfinite(y)
        wgs = located & ~bng
        lat = np.full(len(x), np.nan)
        lon = np.full(len(x), np.nan)
        if wgs.any():
            la, lo = bng_to_wgs84(x[wgs], y[wgs])
            lat[wgs], lon[wgs] = np.round(la, 6), np.round(lo, 6)
        on_grid = located & bng
        e = np.where(on_grid, np.round(np.nan_to_num(x)), 0).astype(np.int64)
        n = np.where(on_grid, np.round(np.nan_to_num(y)), 0).astype(np.int64)
        return {
            "latitude": pa.array(lat, mask=~wgs),
            "longitude": pa.array(lon, mask=~wgs),
            "easting": pa.array(e, mask=~on_grid),
            "northing": pa.array(n, mask=~on_grid),
        }


SCHEMAS: dict[str, pa.Schema] = {
    "incidents": pa.schema(
        [
            ("incident_id", pa.string()),
            ("occurred_at", pa.string()),
            ("latitude", pa.float64()),
            ("longitude", pa.float64()),
            ("easting", pa.int64()),
            ("northing", pa.int64()),
            ("category", pa.string()),
            ("theme", pa.string()),
            ("location_type", pa.string()),
            ("source", pa.string()),
        ]
    ),
    "persons": pa.schema(
        [
            ("person_id", pa.string()),
            ("birth_year_month", pa.string()),
            ("sex", pa.string()),
            ("looked_after", pa.bool_()),
        ]
    ),
    "involvements": pa.schema(
        [
            ("person_id", pa.string()),
            ("event_id", pa.string()),
            ("event_type", pa.string()),
            ("role", pa.string()),
        ]
    ),
    "missing": pa.schema(
        [
            ("episode_id", pa.string()),
            ("person_id", pa.string()),
            ("started_at", pa.string()),
            ("ended_at", pa.string()),
            ("missing_type", pa.string()),
            ("from_latitude", pa.float64()),
            ("from_longitude", pa.float64()),
            ("from_easting", pa.int64()),
            ("from_northing", pa.int64()),
            ("found_latitude", pa.float64()),
            ("found_longitude", pa.float64()),
            ("found_easting", pa.int64()),
            ("found_northing", pa.int64()),
            ("found_with", pa.string()),
            ("rhi_offered_at", pa.string()),
            ("rhi_completed_at", pa.string()),
        ]
    ),
    "associations": pa.schema(
        [
            ("person_a", pa.string()),
            ("person_b", pa.string()),
            ("relation", pa.string()),
            ("observed_at", pa.string()),
            ("source_evaluation", pa.string()),
            ("intelligence_evaluation", pa.string()),
            ("handling", pa.string()),
        ]
    ),
    "intelligence": pa.schema(
        [
            ("intel_id", pa.string()),
            ("reported_at", pa.string()),
            ("latitude", pa.float64()),
            ("longitude", pa.float64()),
            ("easting", pa.int64()),
            ("northing", pa.int64()),
            ("category", pa.string()),
            ("theme", pa.string()),
            ("source_evaluation", pa.string()),
            ("intelligence_evaluation", pa.string()),
            ("handling", pa.string()),
            ("persons", pa.string()),
        ]
    ),
    "screenings": pa.schema(
        [
            ("person_id", pa.string()),
            ("screened_at", pa.string()),
            ("tool", pa.string()),
            ("risk_level", pa.string()),
        ]
    ),
    "referrals": pa.schema(
        [
            ("person_id", pa.string()),
            ("referred_at", pa.string()),
            ("type", pa.string()),
            ("outcome", pa.string()),
        ]
    ),
}


class _Writer:
    """Streams Arrow tables to one CSV (header unquoted, no quoting) or Parquet file."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str) -> None:
        self.schema, self.rows = schema, 0
        if fmt == "csv":
            self._file = open(path, "wb")  # noqa: SIM115 - closed in close()
            self._file.write((",".join(schema.names) + "\n").encode())
            options = pacsv.WriteOptions(include_header=False, quoting_style="none")
            self._writer = pacsv.CSVWriter(self._file, schema, write_options=options)
        else:
            self._file = None
            self._writer = pq.ParquetWriter(path, schema, compression="zstd")

    def write(self, columns: dict[str, pa.Array]) -> None:
        table = pa.table([columns[name] for name in self.schema.names], schema=self.schema)
        if table.num_rows:
            self._writer.write_table(table)
            self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()
        if self._file is not None:
            self._file.close()


# --------------------------------------------------------------------------------------------- frames
# A "frame" is a dict of equal-length numpy arrays with internal codes; planted and background frames of
# one kind share their keys and dtypes so they can be interleaved.


def _concat(frames: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    frames = [f for f in frames if f]
    return {k: np.concatenate([f[k] for f in frames]) for k in frames[0]}


def _take(frame: dict[str, np.ndarray], idx) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in frame.items()}


def _interleave(
    total: int, planted: dict[str, np.ndarray], background: Callable[[int, int], dict], rng: np.random.Generator
) -> Iterator[tuple[int, np.ndarray, dict[str, np.ndarray], np.ndarray]]:
    """Yield chunks ``(start, planted_rows, frame, is_planted)`` of ``total`` rows in ID order.

    Planted rows get random positions among all rows; ``background(chunk_index, n)`` makes the rest.
    ``planted_rows`` gives, for each planted row in the chunk, its index in ``planted``.
    """
    n_planted = len(next(iter(planted.values()))) if planted else 0
    n_planted = min(n_planted, total)
    position = np.sort(rng.choice(total, size=n_planted, replace=False)) if n_planted else np.zeros(0, np.int64)
    order = rng.permutation(n_planted)  # planted row order[k] sits at position[k]
    for chunk, start in enumerate(range(0, total, CHUNK_ROWS)):
        stop = min(start + CHUNK_ROWS, total)
        lo, hi = np.searchsorted(position, [start, stop])
        rows = order[lo:hi]
        mask = np.zeros(stop - start, dtype=bool)
        mask[position[lo:hi] - start] = True
        bg = background(chunk, int((~mask).sum()))
        frame = {}
        for key, values in bg.items() if bg else planted.items():
            out = np.empty(stop - start, dtype=values.dtype)
            if bg:
                out[~mask] = values
            if n_planted:
                out[mask] = planted[key][rows]
            frame[key] = out
        yield start, rows, frame, mask


# --------------------------------------------------------------------------------------------- incidents


def _site_days(rng: np.random.Generator, site: _Site, n: int) -> np.ndarray:
    u = rng.random(n)
    span = site.end_day - site.start_day
    if site.trend == "emerging":
        frac = np.sqrt(u)
    elif site.trend == "diminishing":
        frac = 1.0 - np.sqrt(u)
    else:
        frac = u
    return site.start_day + np.minimum(np.floor(span * frac), span - 1).astype(np.int64)


def _site_minutes(rng: np.random.Generator, site: _Site, n: int) -> np.ndarray:
    """Event minutes for a site: its trend over the window, its weekday and hour pattern (85 % of events)."""
    day = _site_days(rng, site, n)
    pattern = site.pattern
    follow = rng.random(n) < 0.85
    target = rng.choice(7, size=n, p=_p(pattern.weekday_weights))
    shifted = day + (target - (day + _WEEKDAY0) % 7) % 7
    shifted = np.where(shifted >= site.end_day, shifted - 7, shifted)
    shifted = np.where(shifted < site.start_day, day, shifted)
    day = np.where(follow, shifted, day)
    pattern_hour = rng.choice(np.array(pattern.hours), size=n, p=_p(pattern.hour_weights))
    any_hour = rng.choice(24, size=n, p=_p(_BG_HOUR_WEIGHTS))
    hour = np.where(follow, pattern_hour, any_hour)
    return day * 1440 + hour * 60 + rng.integers(0, 60, n)


def _incident_frame(n: int) -> dict[str, np.ndarray]:
    return {
        "x": np.zeros(n),
        "y": np.zeros(n),
        "t": np.zeros(n, np.int64),
        "date_only": np.zeros(n, bool),
        "bng": np.zeros(n, bool),
        "cat": np.zeros(n, np.int16),
        "theme_blank": np.zeros(n, bool),
        "ltype": np.zeros(n, np.int16),
        "source": np.zeros(n, np.int8),
    }


def _background_incidents(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    f = _incident_frame(n)
    f["x"], f["y"] = _town_points(rng, n)
    f["t"] = _minutes(rng, rng.integers(0, N_DAYS, n), _BG_HOUR_WEIGHTS)
    f["date_only"] = rng.random(n) < 0.04
    f["bng"] = rng.random(n) < 0.06
    cat = rng.choice(len(CATEGORIES), size=n, p=_weighted_category_p(_BG_CATEGORY_WEIGHTS)).astype(np.int16)
    f["cat"] = cat
    f["theme_blank"] = rng.random(n) < 0.05
    ltype = rng.choice(len(LOCATION_TYPES), size=n, p=_p(_BG_LOCATION_WEIGHTS)).astype(np.int16)
    ltype[cat == _CAT["Shoplifting"]] = LOCATION_TYPES.index("retail")
    ltype[rng.random(n) < 0.08] = -1
    f["ltype"] = ltype
    f["source"] = rng.choice(len(SOURCES), size=n, p=_p(_BG_SOURCE_WEIGHTS)).astype(np.int8)
    return f


def _planted_incidents(plan: _Plan, rng: np.random.Generator) -> tuple[dict, dict]:
    """Incidents at the planted sites and the involvements of network members in them.

    Each site has core events within ``SITE_RADIUS_M`` (all in the site's H3 resolution-9 cell) and a
    smaller halo of related events in the surrounding streets, so that the site is a cluster (which Gi*
    with conditional permutation needs) and not a lone spike.
    """
    share = _p(rng.uniform(0.8, 1.2, len(plan.sites)))
    counts = []
    for total in (round(PLANTED_SITE_SHARE * plan.n_incidents), round(HALO_SHARE * plan.n_incidents)):
        c = np.floor(share * total).astype(int)
        c[: total - c.sum()] += 1
        counts.append(c)
    frames, inv = [], []
    offset = 0
    for site, n_core, n_halo in zip(plan.sites, *counts, strict=False):
        n = int(n_core + n_halo)
        f = _incident_frame(int(n))
        halo = np.arange(n) >= n_core
        f["x"], f["y"] = _disc(rng, n, site.x, site.y)
        hx, hy = _annulus(rng, int(halo.sum()), site.x, site.y)
        f["x"][halo], f["y"][halo] = hx, hy
        f["t"] = _site_minutes(rng, site, n)
        f["bng"] = rng.random(n) < 0.06
        theme = rng.choice(np.array(site.themes), size=n)
        cats = np.zeros(n, dtype=np.int16)
        for t in dict.fromkeys(site.themes):  # vary within a theme (ordered: set order depends on hashing)
            options = np.array([_CAT[c] for c in THEME_CATEGORIES[t]], dtype=np.int16)
            sel = theme == t
            cats[sel] = rng.choice(options, size=int(sel.sum()))
        cats[rng.random(n) < 0.10] = _CAT["Anti-social behaviour"]
        f["cat"] = cats
        f["ltype"][:] = LOCATION_TYPES.index(site.location_type)
        f["ltype"][halo] = LOCATION_TYPES.index("street")
        f["source"] = rng.choice(len(SOURCES), size=n, p=_p(_SITE_SOURCE_WEIGHTS)).astype(np.int8)
        frames.append(f)
        row = offset + np.arange(n)
        if site.networks:
            adults = [(a, kids) for k in site.networks for a, kids in plan.networks[k].links.items()]
            adult_ids = np.array([a for a, _ in adults])
            width = max(len(k) for _, k in adults)
            links = np.full((len(adults), width), -1, dtype=np.int64)
            n_links = np.array([len(k) for _, k in adults])
            for i, (_, kids) in enumerate(adults):
                links[i, : len(kids)] = kids
            sel = rng.random(n) < 0.5
            r = row[sel]
            a = rng.integers(0, len(adults), len(r))
            j1 = np.floor(rng.random(len(r)) * n_links[a]).astype(int)
            j2 = (j1 + 1 + np.floor(rng.random(len(r)) * (n_links[a] - 1)).astype(int)) % n_links[a]
            two = rng.random(len(r)) < 0.5
            inv.append({"row": r, "person": adult_ids[a], "role": np.full(len(r), 1, np.int8)})
            inv.append({"row": r, "person": links[a, j1], "role": np.zeros(len(r), np.int8)})
            inv.append({"row": r[two], "person": links[a, j2][two], "role": np.zeros(int(two.sum()), np.int8)})
        else:
            sel = rng.random(n) < 0.3
            r = row[sel]
            pool = rng.random(len(r))
            person = np.where(
                pool < 0.3,
                _skewed(rng, plan.child_lo, plan.child_hi, len(r)),
                np.where(
                    pool < 0.6,
                    _skewed(rng, plan.ya_lo, plan.ya_hi, len(r)),
                    _skewed(rng, plan.adult_lo, plan.adult_hi, len(r)),
                ),
            )
            inv.append({"row": r, "person": person, "role": rng.choice([0, 1, 3], size=len(r)).astype(np.int8)})
        offset += n
    return _concat(frames), _concat(inv)


_ROLE_P = (
    _p([45, 30, 10, 15, 0, 0]),  # first person named
    _p([25, 35, 20, 20, 0, 0]),  # others
)


def _background_involvements(plan: _Plan, rng: np.random.Generator, rows: np.ndarray) -> dict[str, np.ndarray]:
    """People named in background incidents: 35 % have 1-3 people, roles and ages plausibly mixed."""
    has = rows[rng.random(len(rows)) < 0.35]
    k = rng.choice([1, 2, 3], size=len(has), p=[0.6, 0.3, 0.1])
    row = np.repeat(has, k)
    slot = np.arange(len(row)) - np.repeat(np.cumsum(k) - k, k)
    role = np.where(
        slot == 0, rng.choice(6, size=len(row), p=_ROLE_P[0]), rng.choice(6, size=len(row), p=_ROLE_P[1])
    ).astype(np.int8)
    u = rng.random(len(row))
    child_share = np.where(role == 1, 0.1, 0.4)
    ya_share = np.where(role == 1, 0.45, 0.25)
    person = np.where(
        u < child_share,
        _skewed(rng, plan.child_lo, plan.child_hi, len(row)),
        np.where(
            u < child_share + ya_share,
            _skewed(rng, plan.ya_lo, plan.ya_hi, len(row)),
            _skewed(rng, plan.adult_lo, plan.adult_hi, len(row)),
        ),
    )
    _, first = np.unique(row * plan.n_persons + person, return_index=True)
    first.sort()
    return {"row": row[first], "person": person[first], "role": role[first]}


def _write_incidents(plan: _Plan, seed: int, enc: _Encoder, out: _Writer, inv_out: _Writer) -> None:
    n = plan.n_incidents
    width = max(7, len(str(n)))
    planted, planted_inv = _planted_incidents(plan, _rng(seed, 2))
    for start, rows, frame, mask in _interleave(
        n, planted, lambda c, m: _background_incidents(_rng(seed, 3, c), m), _rng(seed, 4)
    ):
        m = len(mask)
        theme = _CAT_THEME_IDX[frame["cat"]].astype(np.int64)
        theme[frame["theme_blank"]] = -1
        cols = {
            "incident_id": enc.ids("INC", start + 1 + np.arange(m), width),
            "occurred_at": enc.times(frame["t"], frame["date_only"]),
            **enc.coordinates(frame["x"], frame["y"], frame["bng"]),
            "category": enc.codes(CATEGORIES, frame["cat"]),
            "theme": enc.codes(THEMES, theme),
            "location_type": enc.codes(LOCATION_TYPES, frame["ltype"]),
            "source": enc.codes(SOURCES, frame["source"]),
        }
        out.write(cols)
        # involvements: background rows of this chunk, then planted rows that fell in it
        bg = _background_involvements(plan, _rng(seed, 5, start // CHUNK_ROWS), np.flatnonzero(~mask))
        local = np.full(len(planted["x"]) if planted else 0, -1, dtype=np.int64)
        local[rows] = np.flatnonzero(mask)
        sel = local[planted_inv["row"]] >= 0 if len(local) else np.zeros(0, bool)
        inv = _concat(
            [
                bg,
                {
                    "row": local[planted_inv["row"][sel]],
                    "person": planted_inv["person"][sel],
                    "role": planted_inv["role"][sel],
                },
            ]
        )
        order = np.lexsort((inv["role"], inv["row"]))
        inv = _take(inv, order)
        inv_out.write(
            {
                "person_id": enc.persons(inv["person"]),
                "event_id": enc.ids("INC", start + 1 + inv["row"], width),
                "event_type": pa.array(np.full(len(inv["row"]), "incident")).cast(pa.string()),
                "role": enc.codes(ROLES, inv["role"]),
            }
        )
    log.info("wrote %s incidents (%s at planted sites)", f"{n:,}", f"{len(planted['x']):,}")


# --------------------------------------------------------------------------------------------- persons


def _write_persons(plan: _Plan, seed: int, enc: _Encoder, out: _Writer) -> None:
    """Birth month (never a full date), sex and looked-after status for each pseudonymous person."""
    networked = plan.networked_children
    by_id = np.argsort(plan.person_number)
    for chunk, lo in enumerate(range(0, plan.n_persons, CHUNK_ROWS)):
        rng = _rng(seed, 10, chunk)
        idx = by_id[lo : lo + CHUNK_ROWS]  # rows in pseudonym order, so row order reveals nothing
        n = len(idx)
        aoc = idx < plan.n_adults_of_concern
        group_child = (idx >= plan.n_adults_of_concern) & (idx < plan.child_lo)
        child = (idx >= plan.child_lo) & (idx < plan.child_hi)
        ya = (idx >= plan.ya_lo) & (idx < plan.ya_hi)
        months = np.select(
            [aoc, group_child, child, ya],
            [
                rng.integers(240, 540, n),
                rng.integers(144, 198, n),
                rng.integers(132, 192, n),
                rng.integers(216, 300, n),
            ],
            300 + np.floor(660 * rng.random(n) ** 1.5).astype(np.int64),
        )
        born = (AGE_REFERENCE_MONTH - months.astype("timedelta64[M]")).astype("datetime64[D]")
        birth = pc.cast(pa.array(born), pa.string())
        birth = pc.utf8_slice_codeunits(birth, 0, 7)
        unknown_birth = ~(aoc | group_child) & (rng.random(n) < 0.03)
        birth = pc.if_else(pa.array(unknown_birth), pa.scalar(None, pa.string()), birth)
        sex = np.where(
            aoc,
            rng.choice(4, size=n, p=[0.15, 0.85, 0, 0]),
            np.where(
                group_child,
                rng.choice(4, size=n, p=[0.55, 0.43, 0.01, 0.01]),
                rng.choice(4, size=n, p=[0.49, 0.49, 0.005, 0.015]),
            ),
        )
        is_child = group_child | child
        in_network = np.isin(idx, networked)
        looked = rng.random(n) < np.where(in_network, 0.35, np.where(group_child, 0.15, 0.06))
        out.write(
            {
                "person_id": enc.persons(idx),
                "birth_year_month": birth,
                "sex": enc.codes(SEXES, sex),
                "looked_after": pa.array(looked, mask=~is_child),
            }
        )
    log.info("wrote %s persons", f"{plan.n_persons:,}")


def _home_points(plan: _Plan, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Home (or placement) point of each child in the background and peer-group blocks."""
    rng = _rng(seed, 11)
    n = plan.child_hi - plan.n_adults_of_concern
    return _town_points(rng, n, spread=0.8)


# --------------------------------------------------------------------------------------------- missing


def _missing_frame(n: int) -> dict[str, np.ndarray]:
    return {
        "person": np.zeros(n, np.int64),
        "t": np.zeros(n, np.int64),
        "dur": np.zeros(n, np.int64),
        "away": np.zeros(n, bool),
        "fx": np.zeros(n),
        "fy": np.zeros(n),
        "gx": np.zeros(n),
        "gy": np.zeros(n),
        "bng": np.zeros(n, bool),
        "w0": np.zeros(n, np.int64),
        "w1": np.zeros(n, np.int64),
        "offer": np.zeros(n, np.int64),
        "done": np.zeros(n, np.int64),
    }


def _episode_details(
    rng: np.random.Generator, f: dict[str, np.ndarray], home: tuple[np.ndarray, np.ndarray], base: int
) -> None:
    """Fill duration, type, from-place and return home interview times (in place)."""
    n = len(f["t"])
    dur = np.round(np.exp(rng.normal(np.log(10 * 60), 1.0, n))).astype(np.int64) + 30
    end = f["t"] + dur
    ongoing = end >= PERIOD_MINUTES
    f["dur"] = np.where(ongoing, -1, dur)
    f["away"] = rng.random(n) < 0.15
    hx, hy = home
    k = f["person"] - base
    from_known = rng.random(n) < 0.7
    f["fx"] = np.where(from_known, hx[k] + rng.normal(0, 15, n), np.nan)
    f["fy"] = np.where(from_known, hy[k] + rng.normal(0, 15, n), np.nan)
    f["bng"] = rng.random(n) < 0.06
    offered = ~ongoing & (rng.random(n) < 0.9)
    quick = rng.random(n) < 0.75
    offer = end + np.where(quick, rng.integers(120, 60 * 60, n), rng.integers(72 * 60, 240 * 60, n))
    completed = offered & (rng.random(n) < 0.72)
    done = np.maximum(
        offer,
        end + np.where(rng.random(n) < 0.7, rng.integers(180, 72 * 60, n), rng.integers(72 * 60, 21 * 24 * 60, n)),
    )
    f["offer"] = np.where(offered & (offer < PERIOD_MINUTES), offer, -1)
    f["done"] = np.where(completed & (f["offer"] >= 0) & (done < PERIOD_MINUTES), done, -1)


def _planted_missing(plan: _Plan, seed: int, home: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
    """Episodes of networked and peer-group children: found at their network's site, often with others."""
    rng = _rng(seed, 20)
    kids, site_of, adult_of, peer_pool = [], [], [], []
    for k, net in enumerate(plan.networks):
        for a, cs in net.links.items():
            for c in cs:
                if c not in kids:
                    kids.append(c)
                    site_of.append(net.site)
                    adult_of.append(a)
                    peer_pool.append([m for m in plan.groups[net.group] if m != c])
    n_networked = len(kids)
    in_net = set(kids)
    for g in plan.groups:
        for c in g:
            if c not in in_net:
                kids.append(c)
                site_of.append(-1)
                adult_of.append(-1)
                peer_pool.append([m for m in g if m != c])
    kids_a = np.array(kids, dtype=np.int64)
    counts = np.where(np.arange(len(kids)) < n_networked, 2 + rng.poisson(4, len(kids)), rng.integers(0, 3, len(kids)))
    owner = np.repeat(np.arange(len(kids)), counts)
    n = len(owner)
    f = _missing_frame(n)
    f["person"] = kids_a[owner]
    site_idx = np.array(site_of)[owner]
    at_site = (site_idx >= 0) & (rng.random(n) < 0.6)
    t = _minutes(rng, rng.integers(0, N_DAYS, n), _MISSING_HOUR_WEIGHTS)
    gx, gy = np.full(n, np.nan), np.full(n, np.nan)
    hx, hy = home
    k = f["person"] - plan.n_adults_of_concern
    elsewhere = ~at_site & (rng.random(n) < 0.8)
    gx[elsewhere] = hx[k[elsewhere]] + rng.normal(0, 1500, int(elsewhere.sum()))
    gy[elsewhere] = hy[k[elsewhere]] + rng.normal(0, 1500, int(elsewhere.sum()))
    for s in np.unique(site_idx[at_site]):
        sel = at_site & (site_idx == s)
        site = plan.sites[int(s)]
        gx[sel], gy[sel] = _disc(rng, int(sel.sum()), site.x, site.y)
        t[sel] = _site_minutes(rng, site, int(sel.sum()))
    f["t"], f["gx"], f["gy"] = t, gx, gy
    adult = np.array(adult_of, dtype=np.int64)[owner]
    f["w0"] = np.where(at_site & (rng.random(n) < 0.5), adult, -1)
    peer = np.array([p[int(rng.integers(len(p)))] if p else -1 for p in (peer_pool[o] for o in owner)], dtype=np.int64)
    f["w1"] = np.where(rng.random(n) < np.where(at_site, 0.45, 0.15), peer, -1)
    _episode_details(rng, f, home, plan.n_adults_of_concern)
    return f


def _background_missing(
    plan: _Plan, rng: np.random.Generator, n: int, home: tuple[np.ndarray, np.ndarray]
) -> dict[str, np.ndarray]:
    f = _missing_frame(n)
    f["person"] = _skewed(rng, plan.child_lo, plan.child_hi, n, power=3.0)
    f["t"] = _minutes(rng, rng.integers(0, N_DAYS, n), _MISSING_HOUR_WEIGHTS)
    hx, hy = home
    k = f["person"] - plan.n_adults_of_concern
    found = rng.random(n) < 0.8
    tx, ty = _town_points(rng, n)
    far = rng.random(n) < 0.15
    f["gx"] = np.where(found, np.where(far, tx, hx[k] + rng.normal(0, 1500, n)), np.nan)
    f["gy"] = np.where(found, np.where(far, ty, hy[k] + rng.normal(0, 1500, n)), np.nan)
    f["w0"] = np.full(n, -1, np.int64)
    f["w1"] = np.where(rng.random(n) < 0.05, _skewed(rng, plan.child_lo, plan.child_hi, n), -1)
    f["w1"] = np.where(f["w1"] == f["person"], -1, f["w1"])
    _episode_details(rng, f, home, plan.n_adults_of_concern)
    return f


def _write_missing(
    plan: _Plan, seed: int, enc: _Encoder, out: _Writer, inv_out: _Writer, home: tuple[np.ndarray, np.ndarray]
) -> None:
    planted = _planted_missing(plan, seed, home)
    total = max(round(MISSING_PER_INCIDENT * plan.n_incidents), len(planted["t"]))
    width = max(6, len(str(total)))
    for start, _, f, _ in _interleave(
        total, planted, lambda c, m: _background_missing(plan, _rng(seed, 21, c), m, home), _rng(seed, 22)
    ):
        m = len(f["t"])
        end = np.where(f["dur"] >= 0, f["t"] + f["dur"], -1)
        ids = enc.ids("MIS", start + 1 + np.arange(m), width)
        from_xy = enc.coordinates(f["fx"], f["fy"], f["bng"])
        found_xy = enc.coordinates(f["gx"], f["gy"], f["bng"])
        out.write(
            {
                "episode_id": ids,
                "person_id": enc.persons(f["person"]),
                "started_at": enc.times(f["t"]),
                "ended_at": enc.times(end),
                "missing_type": enc.codes(("missing", "away"), f["away"].astype(int)),
                **{f"from_{k}": v for k, v in from_xy.items()},
                **{f"found_{k}": v for k, v in found_xy.items()},
                "found_with": enc.person_list([f["w0"], f["w1"]]),
                "rhi_offered_at": enc.times(f["offer"]),
                "rhi_completed_at": enc.times(f["done"]),
            }
        )
        row = np.arange(m)
        parts = [{"row": row, "person": f["person"], "role": np.full(m, 5, np.int8)}]  # subject
        for key in ("w0", "w1"):
            has = f[key] >= 0
            parts.append({"row": row[has], "person": f[key][has], "role": np.full(int(has.sum()), 4, np.int8)})
        inv = _concat(parts)
        inv = _take(inv, np.lexsort((inv["role"], inv["row"])))
        inv_out.write(
            {
                "person_id": enc.persons(inv["person"]),
                "event_id": pc.take(ids, pa.array(inv["row"])),
                "event_type": pa.array(np.full(len(inv["row"]), "missing")).cast(pa.string()),
                "role": enc.codes(ROLES, inv["role"]),
            }
        )
    log.info("wrote %s missing episodes (%s planted)", f"{total:,}", f"{len(planted['t']):,}")


# --------------------------------------------------------------------------------------------- intelligence


def _intel_frame(n: int) -> dict[str, np.ndarray]:
    return {
        "t": np.zeros(n, np.int64),
        "x": np.zeros(n),
        "y": np.zeros(n),
        "bng": np.zeros(n, bool),
        "cat": np.zeros(n, np.int16),
        "theme_blank": np.zeros(n, bool),
        "se": np.zeros(n, np.int8),
        "ie": np.zeros(n, np.int8),
        "ha": np.zeros(n, np.int8),
        **{f"p{i}": np.full(n, -1, np.int64) for i in range(4)},
    }


def _planted_intelligence(plan: _Plan, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Graded intelligence naming an adult of concern with 1-3 of the children linked to them."""
    frames = []
    for net in plan.networks:
        site = plan.sites[net.site]
        n = 6 + int(rng.poisson(4))
        f = _intel_frame(n)
        at_site = rng.random(n) < 0.7
        x, y = _disc(rng, n, site.x, site.y)
        tx, ty = _town_points(rng, n)
        unlocated = ~at_site & (rng.random(n) < 0.5)
        f["x"] = np.where(at_site, x, np.where(unlocated, np.nan, tx))
        f["y"] = np.where(at_site, y, np.where(unlocated, np.nan, ty))
        f["t"] = _site_minutes(rng, site, n)
        f["bng"] = rng.random(n) < 0.06
        themes = [t for t in site.themes if t in EXPLOITATION_THEMES] or list(site.themes)
        f["cat"] = np.array([_CAT[THEME_CATEGORIES[str(rng.choice(themes))][0]] for _ in range(n)], np.int16)
        f["se"], f["ie"], f["ha"] = _grading(rng, n, strong=True)
        adults = list(net.links)
        for i in range(n):
            a = adults[int(rng.integers(len(adults)))]
            kids = rng.choice(net.links[a], size=int(rng.integers(1, min(3, len(net.links[a])) + 1)), replace=False)
            f["p0"][i] = a
            for j, c in enumerate(kids):
                f[f"p{j + 1}"][i] = c
        frames.append(f)
    return _concat(frames)


def _background_intelligence(plan: _Plan, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    f = _intel_frame(n)
    x, y = _town_points(rng, n)
    unlocated = rng.random(n) < 0.25
    f["x"], f["y"] = np.where(unlocated, np.nan, x), np.where(unlocated, np.nan, y)
    f["t"] = _minutes(rng, rng.integers(0, N_DAYS, n), _BG_HOUR_WEIGHTS)
    f["bng"] = rng.random(n) < 0.06
    f["cat"] = rng.choice(len(CATEGORIES), size=n, p=_weighted_category_p(_INTEL_CATEGORY_WEIGHTS)).astype(np.int16)
    f["theme_blank"] = rng.random(n) < 0.05
    f["se"], f["ie"], f["ha"] = _grading(rng, n, present=rng.random(n) < 0.95)
    k = np.where(rng.random(n) < 0.45, rng.choice([1, 2], size=n, p=[0.7, 0.3]), 0)
    f["p0"] = np.where(k >= 1, _skewed(rng, plan.child_lo, plan.adult_hi, n), -1)
    p1 = np.where(k >= 2, _skewed(rng, plan.child_lo, plan.adult_hi, n), -1)
    f["p1"] = np.where(p1 == f["p0"], -1, p1)
    return f


def _write_intelligence(plan: _Plan, seed: int, enc: _Encoder, out: _Writer, inv_out: _Writer) -> None:
    planted = _planted_intelligence(plan, _rng(seed, 30))
    total = max(round(INTELLIGENCE_PER_INCIDENT * plan.n_incidents), len(planted["t"]))
    width = max(6, len(str(total)))
    for start, _, f, _ in _interleave(
        total, planted, lambda c, m: _background_intelligence(plan, _rng(seed, 31, c), m), _rng(seed, 32)
    ):
        m = len(f["t"])
        theme = _CAT_THEME_IDX[f["cat"]].astype(np.int64)
        theme[f["theme_blank"]] = -1
        ids = enc.ids("INT", start + 1 + np.arange(m), width)
        people = [f[f"p{i}"] for i in range(4)]
        out.write(
            {
                "intel_id": ids,
                "reported_at": enc.times(f["t"]),
                **enc.coordinates(f["x"], f["y"], f["bng"]),
                "category": enc.codes(CATEGORIES, f["cat"]),
                "theme": enc.codes(THEMES, theme),
                "source_evaluation": enc.codes(("", "1", "2", "3"), np.where(f["se"] == 0, -1, f["se"])),
                "intelligence_evaluation": enc.codes(INTEL_EVALUATIONS, f["ie"]),
                "handling": enc.codes(("P", "C"), f["ha"]),
                "persons": enc.person_list(people),
            }
        )
        row = np.repeat(np.arange(m)[None, :], 4, axis=0).ravel()
        person = np.concatenate(people)
        keep = person >= 0
        order = np.lexsort((np.repeat(np.arange(4), m)[keep], row[keep]))
        row, person = row[keep][order], person[keep][order]
        inv_out.write(
            {
                "person_id": enc.persons(person),
                "event_id": pc.take(ids, pa.array(row)),
                "event_type": pa.array(np.full(len(row), "intelligence")).cast(pa.string()),
                "role": enc.codes(ROLES, np.full(len(row), 5)),
            }
        )
    log.info("wrote %s intelligence items (%s planted)", f"{total:,}", f"{len(planted['t']):,}")


# --------------------------------------------------------------------------------------------- associations


def _planted_associations(plan: _Plan, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Dense links inside peer groups, adults to the children they exploit, sparse links outside."""
    a, b, rel, graded = [], [], [], []

    def add(p: int, q: int, relations: list[int], observations: int, grade: float) -> None:
        for _ in range(observations):
            a.append(p)
            b.append(q)
            rel.append(relations[int(rng.integers(len(relations)))])
            graded.append(rng.random() < grade)

    peer_relations = [0, 3, 4, 5]  # knows, social_media, phone_contact, co_offender
    for g, members in enumerate(plan.groups):
        for i, p in enumerate(members):
            for q in members[i + 1 :]:
                if rng.random() < 0.7 or q == members[(i + 1) % len(members)]:
                    add(p, q, peer_relations, 1 + int(rng.integers(3)), 0.2)
            if i == 0:
                add(members[0], members[-1], peer_relations, 1, 0.2)
        other = [m for h, ms in enumerate(plan.groups) if h != g for m in ms]
        if other:
            add(members[int(rng.integers(len(members)))], other[int(rng.integers(len(other)))], [0, 3], 1, 0.0)
        for _ in range(2):
            add(
                members[int(rng.integers(len(members)))],
                int(rng.integers(plan.child_lo, plan.child_hi)),
                [0, 1, 3],
                1,
                0.0,
            )
    for net in plan.networks:
        for adult, kids in net.links.items():
            for c in kids:
                add(adult, c, [0, 3, 4, 6], 1 + int(rng.integers(3)), 0.5)
        for i, p in enumerate(net.adults):
            for q in net.adults[i + 1 :]:
                add(p, q, [5, 4], 2, 0.5)
    n = len(a)
    rel_a = np.array(rel, dtype=np.int8)
    se, ie, ha = _grading(rng, n, present=np.array(graded) | (rel_a == 6), strong=True)
    return {
        "a": np.array(a, np.int64),
        "b": np.array(b, np.int64),
        "rel": rel_a,
        "t": _minutes(rng, rng.integers(0, N_DAYS, n), _BG_HOUR_WEIGHTS),
        "day_only": np.zeros(n, bool),
        "se": se,
        "ie": ie,
        "ha": ha,
    }


def _background_associations(plan: _Plan, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    lo, hi = plan.child_lo, plan.adult_hi
    a = _skewed(rng, lo, hi, n, power=1.5)
    b = _skewed(rng, lo, hi, n, power=1.5)
    b = np.where(a == b, lo + (b - lo + 1) % (hi - lo), b)
    rel = rng.choice(len(RELATIONS), size=n, p=_p(_BG_RELATION_WEIGHTS)).astype(np.int8)
    graded = (rng.random(n) < 0.25) | (rel == 6)
    se, ie, ha = _grading(rng, n, present=graded)
    return {
        "a": a,
        "b": b,
        "rel": rel,
        "t": _minutes(rng, rng.integers(0, N_DAYS, n), _BG_HOUR_WEIGHTS),
        "day_only": rng.random(n) < 0.2,
        "se": se,
        "ie": ie,
        "ha": ha,
    }


def _write_associations(plan: _Plan, seed: int, enc: _Encoder, out: _Writer) -> None:
    planted = _planted_associations(plan, _rng(seed, 40))
    total = max(round(ASSOCIATIONS_PER_INCIDENT * plan.n_incidents), len(planted["a"]))
    for _, _, f, _ in _interleave(
        total, planted, lambda c, m: _background_associations(plan, _rng(seed, 41, c), m), _rng(seed, 42)
    ):
        na, nb = plan.person_number[f["a"]], plan.person_number[f["b"]]
        first = np.where(na < nb, f["a"], f["b"])
        second = np.where(na < nb, f["b"], f["a"])
        t = np.where(f["day_only"], f["t"] - f["t"] % 1440, f["t"])
        key = np.stack([first, second, f["rel"].astype(np.int64), t, f["day_only"].astype(np.int64)])
        _, keep = np.unique(key, axis=1, return_index=True)
        keep.sort()
        f = {k: v[keep] for k, v in f.items()}
        first, second, t = first[keep], second[keep], t[keep]
        out.write(
            {
                "person_a": enc.persons(first),
                "person_b": enc.persons(second),
                "relation": enc.codes(RELATIONS, f["rel"]),
                "observed_at": enc.times(t, f["day_only"]),
                "source_evaluation": enc.codes(("", "1", "2", "3"), np.where(f["se"] == 0, -1, f["se"])),
                "intelligence_evaluation": enc.codes(INTEL_EVALUATIONS, f["ie"]),
                "handling": enc.codes(("P", "C"), f["ha"]),
            }
        )
    log.info("wrote %s associations (%s planted)", f"{out.rows:,}", f"{len(planted['a']):,}")


# --------------------------------------------------------------------------------------------- screenings & referrals


def _write_screenings_referrals(plan: _Plan, seed: int, enc: _Encoder, out: _Writer, ref_out: _Writer) -> None:
    """Pre-screens then full screens (higher risk for networked children) and the referrals that follow."""
    networked = plan.networked_children
    net_theme = {}
    for net in plan.networks:
        themes = set(plan.sites[net.site].themes)
        for kids in net.links.values():
            for c in kids:
                net_theme[c] = themes
    peers = np.array(sorted({c for g in plan.groups for c in g} - set(networked.tolist())), dtype=np.int64)
    for chunk, lo in enumerate(range(plan.n_adults_of_concern, plan.child_hi, CHUNK_ROWS)):
        rng = _rng(seed, 50, chunk)
        idx = np.arange(lo, min(lo + CHUNK_ROWS, plan.child_hi))
        n = len(idx)
        is_net = np.isin(idx, networked)
        is_peer = np.isin(idx, peers)
        screened = is_net | (is_peer & (rng.random(n) < 0.5)) | (rng.random(n) < 0.25)
        t0 = rng.integers(30, 520, n) * 1440 + rng.integers(8 * 60, 18 * 60, n)
        pre_risk = np.where(
            is_net,
            rng.choice(3, size=n, p=[0, 0.4, 0.6]),
            np.where(is_peer, rng.choice(3, size=n, p=[0.5, 0.45, 0.05]), rng.choice(3, size=n, p=[0.65, 0.28, 0.07])),
        )
        full = screened & np.where(is_net, rng.random(n) < 0.85, (pre_risk >= 1) & (rng.random(n) < 0.5))
        t1 = t0 + rng.integers(7, 60, n) * 1440 + rng.integers(-120, 120, n)
        full_risk = np.where(
            is_net, rng.choice(3, size=n, p=[0.05, 0.35, 0.6]), rng.choice(3, size=n, p=[0.3, 0.5, 0.2])
        )
        again = full & is_net & (rng.random(n) < 0.3)
        t2 = t1 + rng.integers(60, 120, n) * 1440
        full_risk2 = rng.choice(3, size=n, p=[0.1, 0.4, 0.5])
        parts = [(screened, t0, 0, pre_risk), (full, t1, 1, full_risk), (again, t2, 1, full_risk2)]
        who = np.concatenate([idx[s] for s, *_ in parts])
        when = np.concatenate([t[s] for s, t, *_ in parts])
        tool = np.concatenate([np.full(int(s.sum()), k) for s, _, k, _ in parts])
        risk = np.concatenate([r[s] for s, _, _, r in parts])
        order = np.lexsort((plan.person_number[who], when))  # by time, as an export would be
        out.write(
            {
                "person_id": enc.persons(who[order]),
                "screened_at": enc.times(when[order]),
                "tool": enc.codes(("pre_screen", "full"), tool[order]),
                "risk_level": enc.codes(RISK_LEVELS, risk[order]),
            }
        )

        concern = screened & (np.maximum(pre_risk, np.where(full, full_risk, 0)) >= 1)
        exploit = np.array(
            [
                bool(net_theme.get(int(i), set()) & {"cce", "county_lines", "modern_slavery", "cse"})
                for i in idx[is_net]
            ],
            dtype=bool,
        )
        nrm = np.zeros(n, bool)
        nrm[np.flatnonzero(is_net)] = exploit & (rng.random(int(is_net.sum())) < 0.45)
        refs = [
            (is_net & (rng.random(n) < 0.8), 1),
            (nrm, 0),
            (
                (is_net & (rng.random(n) < 0.15))
                | (~is_net & concern & (rng.random(n) < 0.35))
                | (~screened & (rng.random(n) < 0.02)),
                3,
            ),
            (~is_net & concern & (rng.random(n) < 0.2), 1),
            (rng.random(n) < 0.01, 2),
            (~is_net & concern & (rng.random(n) < 0.10), 4),
        ]
        who, when, kind = [], [], []
        for sel, k in refs:
            who.append(idx[sel])
            when.append(t0[sel] + rng.integers(3, 45, int(sel.sum())) * 1440 + rng.integers(0, 480, int(sel.sum())))
            kind.append(np.full(int(sel.sum()), k))
        who, when, kind = np.concatenate(who), np.concatenate(when), np.concatenate(kind)
        _, keep = np.unique(np.stack([who, when, kind]), axis=1, return_index=True)
        who, when, kind = who[keep], when[keep], kind[keep]
        n_out = np.diff(_OUTCOME_START)[kind]
        outcome = _OUTCOME_START[kind] + np.floor(rng.random(len(kind)) * n_out).astype(int)
        outcome = np.where((rng.random(len(kind)) < 0.1) | (when > PERIOD_MINUTES - 30 * 1440), -1, outcome)
        order = np.lexsort((plan.person_number[who], when))  # by time, as an export would be
        ref_out.write(
            {
                "person_id": enc.persons(who[order]),
                "referred_at": enc.times(when[order]),
                "type": enc.codes(REFERRAL_TYPES, kind[order]),
                "outcome": enc.codes(_OUTCOME_LIST, outcome[order]),
            }
        )
    log.info("wrote %s screenings and %s referrals", f"{out.rows:,}", f"{ref_out.rows:,}")


# --------------------------------------------------------------------------------------------- ground truth


def _day_iso(day: int) -> str:
    return str(PERIOD_START.astype("datetime64[D]") + int(day))


def ground_truth(plan: _Plan, seed: int, enc: _Encoder) -> dict[str, object]:
    """What was planted: locations of concern, adults of concern, peer groups and exploitation networks."""
    ids = enc.person_ids

    def pid(i: int) -> str:
        return ids[int(i)].as_py()

    sites = []
    for s in plan.sites:
        sites.append(
            {
                "name": s.name,
                "town": s.town,
                "latitude": s.latitude,
                "longitude": s.longitude,
                "easting": round(s.x, 1),
                "northing": round(s.y, 1),
                "h3_res9": s.cell,
                "radius_m": SITE_RADIUS_M,
                "halo_m": [HALO_INNER_M, HALO_OUTER_M],
                "themes": list(s.themes),
                "location_type": s.location_type,
                "pattern": s.pattern.as_dict(),
                "trend": s.trend,
                "start": _day_iso(s.start_day),
                "end": _day_iso(s.end_day - 1),
                "networks": [f"NET-{k + 1:02d}" for k in s.networks],
            }
        )
    networks = []
    for k, net in enumerate(plan.networks):
        site = plan.sites[net.site]
        networks.append(
            {
                "id": f"NET-{k + 1:02d}",
                "adults": [pid(a) for a in net.adults],
                "children": sorted({pid(c) for cs in net.links.values() for c in cs}),
                "links": {pid(a): sorted(pid(c) for c in cs) for a, cs in net.links.items()},
                "peer_group": net.group,
                "site": site.name,
                "themes": list(site.themes),
            }
        )
    return {
        "seed": seed,
        "incidents": plan.n_incidents,
        "synthetic": True,
        "locations_of_concern": sites,
        "adults_of_concern": [pid(a) for net in plan.networks for a in net.adults],
        "peer_groups": [sorted(pid(c) for c in g) for g in plan.groups],
        "networks": networks,
    }


_README = """# Synthetic sample partnership data (not real people)

Every row in this folder was **made up** by `pipelines/sample.py` (seed {seed}, {incidents:,} incidents).
No row describes a real person, incident or place of concern. The towns are real Cheshire East towns,
used only so that maps look familiar; the planted sites are invented points near them, named by type
and town (for example "Park (Crewe)"), and do not refer to any real business or venue.

| file | rows | contents |
| --- | ---: | --- |
{table}

All files follow `docs/data-model.md`. Times are Europe/London local times without an offset, from
2024-10-01 to 2026-09-30; a few incidents give a date only. Most places are WGS84 latitude/longitude; about
6 % give British National Grid easting/northing instead, to exercise both. Person IDs are pseudonyms
(`P000123`); birth is held as a month only.

`ground_truth.json` names what was planted so analyses can be checked:

* `locations_of_concern` - sites whose core events fall within `radius_m` of the point (one H3
  resolution-9 cell each; twice as many related events fall in the streets `halo_m` metres
  around), with their themes, location type, time pattern and trend (persistent, emerging, diminishing);
* `adults_of_concern` - adults each linked to several children by co-involvement, missing episodes
  (found with), associations and intelligence;
* `peer_groups` - groups of children densely linked inside and sparsely outside;
* `networks` - which adults, children, peer group and site belong together.

Regenerate with `ctxrisk sample --seed {seed} --scale {incidents} --out DIR`.
"""


def _write_readme(out_dir: Path, summary: SampleSummary, plan: _Plan, ext: str) -> None:
    about = {
        "incidents": "incidents with time, place, category, theme, location type",
        "persons": "pseudonymous people: birth month, sex, looked after (children)",
        "involvements": "who was involved in which incident, missing episode or intelligence item, and how",
        "missing": "missing and away episodes: from and found-at places, found with, return home interviews",
        "associations": "links between people, some graded 3x5x2",
        "intelligence": "graded intelligence items naming people",
        "screenings": "exploitation screening tool results (pre_screen, full)",
        "referrals": "referrals (nrm, mace, channel, early_help, other) and outcomes",
    }
    table = "\n".join(f"| `{k}.{ext}` | {v:,} | {about[k]} |" for k, v in summary.rows().items())
    text = _README.format(seed=summary.seed, incidents=plan.n_incidents, table=table)
    (out_dir / "README.md").write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------------------------- entry point


def generate_sample(
    out_dir: str | Path,
    *,
    seed: int = 0,
    incidents: int = DEFAULT_INCIDENTS,
    fmt: str = "csv",
) -> SampleSummary:
    """Write a synthetic partnership data set with planted locations, adults of concern and peer groups.

    Writes ``incidents``, ``persons``, ``involvements``, ``missing``, ``associations``, ``intelligence``,
    ``screenings`` and ``referrals`` (``.csv`` or ``.parquet``) exactly per ``docs/data-model.md``, plus
    ``ground_truth.json`` (what was planted) and ``README.md`` (says the data are synthetic).

    Sizes are proportional to ``incidents``: persons 0.40, missing episodes 0.12, intelligence 0.10 and
    associations 0.30 per incident; involvements, screenings and referrals follow from those. Planted sites
    (about 8 at 5,000 incidents) and networks (about 5) grow with the square root of the size; 6 % of
    incidents happen within 60 m of a planted site and 12 % in the streets 90-380 m around one (so each
    site is a cluster that Gi* can find, peaking in the site's own cell). Generation is vectorised and
    streamed in chunks of ``CHUNK_ROWS`` rows, so memory stays bounded.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write; created if needed. Existing sample files in it are overwritten.
    seed : int
        Random seed (>= 0). The same seed, size and format give byte-identical files.
    incidents : int
        Number of incidents, at least ``MIN_INCIDENTS`` (1,000). 5,000 by default.
    fmt : str
        ``"csv"`` (UTF-8, LF, header row) or ``"parquet"`` (zstd).

    Returns
    -------
    SampleSummary
        Rows written per file, and the time taken.

    Raises
    ------
    ValidationError
        ``incidents`` below the minimum, a negative seed or an unknown format.
    """
    if fmt not in FORMATS:
        msg = f"format {fmt!r} is not supported; allowed: {', '.join(FORMATS)}"
        raise ValidationError(msg)
    if isinstance(incidents, bool) or not isinstance(incidents, (int, np.integer)) or incidents < MIN_INCIDENTS:
        msg = f"incidents must be a whole number of at least {MIN_INCIDENTS:,}, got {incidents!r}"
        raise ValidationError(msg)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        msg = f"seed must be a whole number >= 0, got {seed!r}"
        raise ValidationError(msg)
    began = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed, incidents = int(seed), int(incidents)
    plan = _make_plan(seed, incidents)
    enc = _Encoder(plan)
    ext = "csv" if fmt == "csv" else "parquet"
    writers = {name: _Writer(out / f"{name}.{ext}", SCHEMAS[name], fmt) for name in FILES}
    try:
        _write_persons(plan, seed, enc, writers["persons"])
        _write_incidents(plan, seed, enc, writers["incidents"], writers["involvements"])
        home = _home_points(plan, seed)
        _write_missing(plan, seed, enc, writers["missing"], writers["involvements"], home)
        _write_intelligence(plan, seed, enc, writers["intelligence"], writers["involvements"])
        _write_associations(plan, seed, enc, writers["associations"])
        _write_screenings_referrals(plan, seed, enc, writers["screenings"], writers["referrals"])
    finally:
        for writer in writers.values():
            writer.close()
    truth = ground_truth(plan, seed, enc)
    (out / "ground_truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    summary = SampleSummary(out_dir=out, fmt=fmt, seed=seed, **{k: w.rows for k, w in writers.items()})
    summary.seconds = round(time.perf_counter() - began, 3)
    _write_readme(out, summary, plan, ext)
    log.info(
        "wrote synthetic sample to %s in %.1f s: %s",
        out,
        summary.seconds,
        ", ".join(f"{k} {v:,}" for k, v in summary.rows().items()),
    )
    return summary
