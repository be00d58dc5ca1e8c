"""The canonical input kinds: their columns, types, allowed values, keys and coordinate pairs."""

from __future__ import annotations

from dataclasses import dataclass, field

ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,64}$"
KEY_PATTERN = r"^[A-Za-z0-9_.:/#\-]{1,128}$"
# The same rules as character sets and lengths, checked byte by byte (ctxrisk.pipelines.arrowtext.charset_match).
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
ID_CHARS, ID_MAX = _ALNUM + "_.:-", 64
KEY_CHARS, KEY_MAX = _ALNUM + "_.:/#-", 128

ROLES = ("victim", "suspect", "associate", "witness", "found_with", "subject")
EVENT_TYPES = ("incident", "missing", "intelligence", "stop_search")
RELATIONS = ("knows", "family", "lives_with", "social_media", "phone_contact", "co_offender", "intelligence")
SOURCE_EVALUATIONS = ("1", "2", "3")
INTELLIGENCE_EVALUATIONS = ("A", "B", "C", "D", "E")
HANDLING_CODES = ("P", "C")
MISSING_TYPES = ("missing", "away")
SCREENING_TOOLS = ("pre_screen", "full")
REFERRAL_TYPES = ("nrm", "mace", "channel", "early_help", "other")
SEXES = ("female", "male", "other", "unknown")


@dataclass(frozen=True)
class Column:
    """One column of a canonical file.

    Attributes
    ----------
    name : str
        Canonical name.
    type : str
        ``id`` (pseudonymous person ID), ``key`` (record key), ``text``, ``time``, ``yearmonth``, ``enum``,
        ``bool``, ``idlist`` (person IDs separated by ``;``).
    required : bool
        The column must be in the header and every row must have a value.
    allowed : tuple of str or None
        For ``enum``: allowed values (compared case-insensitively, stored as written here).
    synonyms : dict
        For ``enum``: other spellings accepted for an allowed value.
    person : bool
        Holds person IDs: replaced by pseudonyms under ``--pseudonymise``.
    """

    name: str
    type: str
    required: bool = False
    allowed: tuple[str, ...] | None = None
    synonyms: dict[str, str] = field(default_factory=dict)
    person: bool = False


@dataclass(frozen=True)
class Point:
    """A coordinate pair, given as WGS84 or British National Grid, under a column-name prefix."""

    prefix: str
    header_required: bool = False

    @property
    def wgs84(self) -> tuple[str, str]:
        return f"{self.prefix}latitude", f"{self.prefix}longitude"

    @property
    def bng(self) -> tuple[str, str]:
        return f"{self.prefix}easting", f"{self.prefix}northing"


@dataclass(frozen=True)
class Kind:
    """A canonical input kind and the raw table it loads into.

    ``episodes`` marks rows that are episodes of one child (``person_id``, ``started_at``, ``ended_at``):
    two of the same child may not overlap in time (:mod:`ctxrisk.pipelines.episodes`).
    """

    name: str
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    points: tuple[Point, ...] = ()
    episodes: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        names = [c.name for c in self.columns]
        for point in self.points:
            names += [*point.wgs84, *point.bng]
        return tuple(names)


_GRADING = (
    Column("source_evaluation", "enum", allowed=SOURCE_EVALUATIONS),
    Column("intelligence_evaluation", "enum", allowed=INTELLIGENCE_EVALUATIONS),
    Column("handling", "enum", allowed=HANDLING_CODES),
)

KINDS: dict[str, Kind] = {
    "incidents": Kind(
        "incidents",
        "raw.incidents",
        (
            Column("incident_id", "key", required=True),
            Column("occurred_at", "time", required=True),
            Column("category", "text", required=True),
            Column("theme", "enum"),
            Column("location_type", "text"),
            Column("source", "text"),
        ),
        key=("incident_id",),
        points=(Point("", header_required=True),),
    ),
    "persons": Kind(
        "persons",
        "raw.persons",
        (
            Column("person_id", "id", required=True, person=True),
            Column("birth_year_month", "yearmonth"),
            Column(
                "sex",
                "enum",
                allowed=SEXES,
                synonyms={"f": "female", "m": "male", "u": "unknown", "o": "other", "not known": "unknown"},
            ),
            Column("looked_after", "bool"),
        ),
        key=("person_id",),
    ),
    "involvements": Kind(
        "involvements",
        "raw.involvements",
        (
            Column("person_id", "id", required=True, person=True),
            Column("event_id", "key", required=True),
            Column("event_type", "enum", required=True, allowed=EVENT_TYPES),
            Column("role", "enum", required=True, allowed=ROLES),
        ),
        key=("person_id", "event_id", "event_type", "role"),
    ),
    "missing": Kind(
        "missing",
        "raw.missing_episodes",
        (
            Column("episode_id", "key", required=True),
            Column("person_id", "id", required=True, person=True),
            Column("started_at", "time", required=True),
            Column("ended_at", "time"),
            Column(
                "missing_type", "enum", allowed=MISSING_TYPES, synonyms={"m": "missing", "a": "away", "absent": "away"}
            ),
            Column("found_with", "idlist", person=True),
            Column("rhi_offered_at", "time"),
            Column("rhi_completed_at", "time"),
        ),
        key=("episode_id",),
        points=(Point("from_"), Point("found_")),
        episodes=True,
    ),
    "associations": Kind(
        "associations",
        "raw.associations",
        (
            Column("person_a", "id", required=True, person=True),
            Column("person_b", "id", required=True, person=True),
            Column("relation", "enum", required=True, allowed=RELATIONS),
            Column("observed_at", "time"),
            *_GRADING,
        ),
        key=("person_a", "person_b", "relation", "observed_at"),
    ),
    "intelligence": Kind(
        "intelligence",
        "raw.intelligence",
        (
            Column("intel_id", "key", required=True),
            Column("reported_at", "time", required=True),
            Column("category", "text", required=True),
            Column("theme", "enum"),
            *_GRADING,
            Column("persons", "idlist", person=True),
        ),
        key=("intel_id",),
        points=(Point(""),),
    ),
    "screenings": Kind(
        "screenings",
        "raw.screenings",
        (
            Column("person_id", "id", required=True, person=True),
            Column("screened_at", "time", required=True),
            Column(
                "tool",
                "enum",
                required=True,
                allowed=SCREENING_TOOLS,
                synonyms={"pre-screen": "pre_screen", "prescreen": "pre_screen"},
            ),
            Column("risk_level", "enum", required=True),
        ),
        key=("person_id", "screened_at", "tool"),
    ),
    "referrals": Kind(
        "referrals",
        "raw.referrals",
        (
            Column("person_id", "id", required=True, person=True),
            Column("referred_at", "time", required=True),
            Column("type", "enum", required=True, allowed=REFERRAL_TYPES, synonyms={"early help": "early_help"}),
            Column("outcome", "text"),
        ),
        key=("person_id", "referred_at", "type"),
    ),
}
