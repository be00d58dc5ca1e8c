"""The synthetic partnership's world: towns, categories and themes, time patterns, planted site kinds."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

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
