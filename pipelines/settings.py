"""One place for settings and paths: packaged defaults, an optional ctxrisk.toml, then CLI overrides."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from ctxrisk.pipelines.errors import ValidationError

DEFAULT_CONFIG_NAME = "ctxrisk.toml"
ENV_CONFIG = "CTXRISK_CONFIG"
ENV_WAREHOUSE = "CTXRISK_WAREHOUSE"


@dataclass(frozen=True)
class PathSettings:
    """Where the warehouse, outputs, drop folders and boundary files are."""

    warehouse: Path = Path("output/ctxrisk.duckdb")
    output_dir: Path = Path("output")
    drop_dirs: dict[str, Path] = field(default_factory=dict)
    boundaries: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class PrivacySettings:
    """Disclosure control and identifier refusal."""

    suppression_threshold: int = 5
    refuse_identifier_columns: bool = True


@dataclass(frozen=True)
class PlausibilitySettings:
    """Dates a record may carry; rows outside are rejected with a reason (:mod:`ctxrisk.pipelines.plausibility`).

    Attributes
    ----------
    earliest : str
        ISO date: event times before it are rejected. Default ``"1990-01-01"``.
    latest : str
        ISO date, or ``""`` for tomorrow (UTC) at ingest time: event times on or after it are rejected.
    max_age_years : int
        Births more than this many years before ingest are rejected, as are births in the future.
    """

    earliest: str = "1990-01-01"
    latest: str = ""
    max_age_years: int = 110

    def __post_init__(self) -> None:
        from datetime import date

        for name in ("earliest", "latest"):
            value = getattr(self, name)
            if name == "latest" and value == "":
                continue
            try:
                date.fromisoformat(str(value))
            except ValueError:
                msg = f"[plausibility] {name} must be an ISO date such as 1990-01-01, not {value!r}"
                raise ValidationError(msg) from None
        if isinstance(self.max_age_years, bool) or not isinstance(self.max_age_years, int) or self.max_age_years < 1:
            msg = f"[plausibility] max_age_years must be a whole number of years >= 1, not {self.max_age_years!r}"
            raise ValidationError(msg)


@dataclass(frozen=True)
class HotspotSettings:
    """Defaults for the locations-of-concern statistics."""

    h3_resolution: int = 9
    unit: str = "auto"
    permutations: int | str = "auto"
    inference: str = "total"
    baseline: str = "none"
    study_area: str = ""
    population_csv: str = ""
    seed: int = 12345
    alpha: float = 0.05
    distance_band_m: float = 400.0
    #: Safety limit: the scheduled run computes each theme's hot spots (the steering map's theme filter) when the
    #: whole run has at most this many units, far above a partnership's region (their exact tests cost little).
    theme_max_units: int = 1_000_000
    time_bin: str = "month"
    k_ring: int = 2
    event_types: tuple[str, ...] = ("incident",)
    min_cluster_size: int = 10
    time_step_window: int = 1
    trend_alpha: float = 0.05


@dataclass(frozen=True)
class LocationSettings:
    """Weights of the locations-of-concern score (see docs/hotspots.md) and how candidates are chosen."""

    weight_hotspot: float = 0.20
    weight_events: float = 0.25
    weight_children: float = 0.15
    weight_repeat_found: float = 0.15
    weight_intelligence: float = 0.10
    weight_searches: float = 0.05
    weight_trend: float = 0.10
    min_repeat_found: int = 2
    min_graded_intelligence: float = 2.0
    top: int = 20


@dataclass(frozen=True)
class GraphSettings:
    """Defaults for the association graphs."""

    recency_half_life_days: float = 365.0
    min_children: int = 2
    #: False discovery rate below which an adult's links with children are more than chance explains.
    alpha: float = 0.05
    exact_betweenness_max_nodes: int = 5000
    max_event_size: int = 30


@dataclass(frozen=True)
class ScreeningSettings:
    """The screening tool's risk scale, lowest first."""

    risk_levels: tuple[str, ...] = ("low", "medium", "high")


@dataclass(frozen=True)
class MissingSettings:
    """``[missing]``: when a child counts as missing repeatedly, the return home interview deadline, and distance."""

    #: A child is missing repeatedly when ``repeat_count`` or more episodes start within ``repeat_window_days``.
    repeat_count: int = 3
    repeat_window_days: int = 30
    #: A return home interview counts as offered in time when offered within this many hours of the return.
    rhi_hours: float = 72.0
    #: An episode is found away when found outside the partnership's boundaries or further than this from
    #: where the child went missing from (home or placement), where both places are known.
    far_from_home_km: float = 32.0

    def __post_init__(self) -> None:
        for name in ("repeat_count", "repeat_window_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                msg = f"[missing] {name} must be a whole number >= 1, got {value!r}"
                raise ValidationError(msg)
        for name in ("rhi_hours", "far_from_home_km"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                msg = f"[missing] {name} must be a number > 0, got {value!r}"
                raise ValidationError(msg)


#: The MACE indicators, in the order their columns are shown.
MACE_INDICATORS: tuple[str, ...] = (
    "repeat_missing",
    "flagged_adult",
    "location_of_concern",
    "stop_search",
    "screening_high",
    "nrm_referral",
)

_MACE_WEIGHTS: dict[str, float] = {
    "repeat_missing": 2.0,
    "flagged_adult": 3.0,
    "location_of_concern": 1.0,
    "stop_search": 2.0,
    "screening_high": 2.0,
    "nrm_referral": 3.0,
}


@dataclass(frozen=True)
class MaceSettings:
    """``[mace]``: which indicators put a child on the MACE list, their strengths, and who counts as a child."""

    #: Indicators assessed (any of :data:`MACE_INDICATORS`).
    indicators: tuple[str, ...] = MACE_INDICATORS
    #: Strength of each indicator: rows with the same number of indicators are ordered by the sum.
    weights: dict[str, float] = field(default_factory=lambda: dict(_MACE_WEIGHTS))
    #: Screening levels that count as high.
    high_risk_levels: tuple[str, ...] = ("high",)
    #: Themes of a stop and search's object that count (drugs and weapons by the default theme tables).
    search_themes: tuple[str, ...] = ("county_lines", "cce")
    #: People younger than this on the list's date (or of unknown age) are listed.
    max_age: int = 18
    #: H3 rings around a location of concern's cell that count as the place (0: the cell itself).
    location_rings: int = 0

    def __post_init__(self) -> None:
        # weights given for some indicators keep the defaults of the others
        object.__setattr__(self, "weights", {**_MACE_WEIGHTS, **dict(self.weights)})
        bad = sorted(set(self.indicators) - set(MACE_INDICATORS))
        if bad or not self.indicators:
            msg = f"[mace] indicators must be some of {list(MACE_INDICATORS)}, got {list(self.indicators)}"
            raise ValidationError(msg)
        unknown = sorted(set(self.weights) - set(MACE_INDICATORS))
        if unknown or any(not isinstance(v, int | float) or v < 0 for v in self.weights.values()):
            msg = f"[mace] weights must be numbers >= 0 for {list(MACE_INDICATORS)}, got {self.weights!r}"
            raise ValidationError(msg)
        if isinstance(self.max_age, bool) or not isinstance(self.max_age, int) or not 1 <= self.max_age <= 25:
            msg = f"[mace] max_age must be a whole number from 1 to 25, got {self.max_age!r}"
            raise ValidationError(msg)
        if isinstance(self.location_rings, bool) or not isinstance(self.location_rings, int) or self.location_rings < 0:
            msg = f"[mace] location_rings must be a whole number >= 0, got {self.location_rings!r}"
            raise ValidationError(msg)

    def weight(self, indicator: str) -> float:
        """The strength of ``indicator``."""
        return float(self.weights[indicator])


@dataclass(frozen=True)
class MapSettings:
    """Basemap: none unless a tile URL is configured."""

    basemap_url: str | None = None
    basemap_attribution: str = ""


@dataclass(frozen=True)
class RunSettings:
    """``[run]``: how ``ctxrisk run`` schedules its steps."""

    #: Steps registered as concurrent (the association graph) run in a background thread beside the steps
    #: after them (hot spots, maps, report), each with its own warehouse cursor: ``true``, ``false`` (one at a
    #: time), or ``"auto"``: side by side while the warehouse holds at most ``concurrent_max_events`` events
    #: (both steps' data are in memory at once), one at a time above that.
    concurrent_steps: bool | str = "auto"
    #: The ``"auto"`` limit: incidents, missing episodes, intelligence items and searches together.
    concurrent_max_events: int = 3_000_000

    def __post_init__(self) -> None:
        if self.concurrent_steps not in (True, False, "auto"):
            msg = f'[run] concurrent_steps must be true, false or "auto", got {self.concurrent_steps!r}'
            raise ValidationError(msg)
        if (
            isinstance(self.concurrent_max_events, bool)
            or not isinstance(self.concurrent_max_events, int)
            or self.concurrent_max_events < 0
        ):
            msg = f"[run] concurrent_max_events must be a whole number >= 0, got {self.concurrent_max_events!r}"
            raise ValidationError(msg)


@dataclass(frozen=True)
class Settings:
    """All ctxrisk settings.

    Attributes
    ----------
    paths, privacy, hotspots, locations, graph, screening, maps, run, missing, mace
        Sections of the TOML file of the same name.
    themes : tuple of str
        Allowed theme names.
    theme_categories : dict
        Lower-cased category -> theme.
    police_uk_themes : dict
        Lower-cased data.police.uk ``Crime type`` -> theme (``[themes.police_uk]``).
    police_uk_search_themes : dict
        Lower-cased stop-and-search ``Object of search`` -> theme (``[themes.police_uk_search]``).
    aliases : dict
        Kind -> {canonical column -> [accepted alternative names]}.
    local_timezone : str
        Zone of times written without an offset (default ``Europe/London``).
    source : Path or None
        The TOML file these settings came from, if any.
    """

    paths: PathSettings = field(default_factory=PathSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    hotspots: HotspotSettings = field(default_factory=HotspotSettings)
    locations: LocationSettings = field(default_factory=LocationSettings)
    graph: GraphSettings = field(default_factory=GraphSettings)
    screening: ScreeningSettings = field(default_factory=ScreeningSettings)
    maps: MapSettings = field(default_factory=MapSettings)
    run: RunSettings = field(default_factory=RunSettings)
    plausibility: PlausibilitySettings = field(default_factory=PlausibilitySettings)
    missing: MissingSettings = field(default_factory=MissingSettings)
    mace: MaceSettings = field(default_factory=MaceSettings)
    themes: tuple[str, ...] = ()
    theme_categories: dict[str, str] = field(default_factory=dict)
    police_uk_themes: dict[str, str] = field(default_factory=dict)
    police_uk_search_themes: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    local_timezone: str = "Europe/London"
    source: Path | None = None

    def theme_for(self, category: str | None) -> str:
        """Return the theme a category maps to (``other`` when unknown)."""
        if not category:
            return "other"
        return self.theme_categories.get(category.strip().lower(), "other")

    def theme_for_crime_type(self, crime_type: str | None) -> str:
        """Return the theme of a data.police.uk ``Crime type`` (``other`` when unknown or blank)."""
        if not crime_type:
            return "other"
        return self.police_uk_themes.get(crime_type.strip().lower(), "other")

    def with_warehouse(self, path: str | Path | None) -> Settings:
        """Return a copy whose warehouse path is ``path`` (unchanged when None)."""
        if path is None:
            return self
        return replace(self, paths=replace(self.paths, warehouse=Path(path)))


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _section(cls: type, raw: dict[str, Any], name: str) -> Any:
    allowed = set(cls.__dataclass_fields__)
    unknown = set(raw) - allowed
    if unknown:
        msg = f"unknown setting(s) {sorted(unknown)} in [{name}]; allowed: {sorted(allowed)}"
        raise ValidationError(msg)
    return cls(**raw)


def _path_value(raw: dict[str, Any], name: str, default: str) -> str:
    value = raw.get(name, default)
    if not isinstance(value, str) or not value.strip():
        msg = f"[paths] {name} must be a path in quotes, e.g. {name} = {default!r}, not {value!r}"
        raise ValidationError(msg)
    return value


def _path_table(raw: dict[str, Any], name: str, example: str) -> list[tuple[str, str]]:
    """The ``name = { key = "path", … }`` table of [paths], checked (a string or a list is a clear error)."""
    value = raw.get(name, {})
    if not isinstance(value, dict):
        msg = f"[paths] {name} must be a table of paths by kind, e.g. {name} = {{ {example} }}, not {value!r}"
        raise ValidationError(msg)
    bad = sorted(str(k) for k, v in value.items() if not isinstance(v, str) or not v.strip())
    if bad:
        msg = f"[paths] {name}: the path of {', '.join(bad)} must be a non-empty string in quotes"
        raise ValidationError(msg)
    return list(value.items())


def _mace_raw(raw: dict[str, Any]) -> dict[str, Any]:
    out = dict(raw)
    for name in ("indicators", "high_risk_levels", "search_themes"):
        if name in out:
            out[name] = tuple(out[name])
    return out


def default_config_text() -> str:
    """Return the packaged default configuration (a commented TOML file)."""
    return resources.files("ctxrisk.pipelines").joinpath("default_config.toml").read_text(encoding="utf-8")


def load_settings(path: str | Path | None = None, *, warehouse: str | Path | None = None) -> Settings:
    """Load settings from packaged defaults, a TOML file and the environment.

    Parameters
    ----------
    path : str, Path or None
        TOML file. When None: ``$CTXRISK_CONFIG``, else ``ctxrisk.toml`` in the current folder if present,
        else the packaged defaults only.
    warehouse : str, Path or None
        Overrides the warehouse path (as ``--warehouse`` does). Otherwise ``$CTXRISK_WAREHOUSE`` overrides
        the file's value.

    Returns
    -------
    Settings
    """
    raw = tomllib.loads(default_config_text())
    source: Path | None = None
    if path is None:
        env = os.environ.get(ENV_CONFIG)
        if env:
            path = env
        elif Path(DEFAULT_CONFIG_NAME).is_file():
            path = DEFAULT_CONFIG_NAME
    if path is not None:
        source = Path(path)
        if not source.is_file():
            msg = f"settings file {source} does not exist"
            raise ValidationError(msg)
        try:
            user = tomllib.loads(source.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            msg = f"{source}: not valid TOML: {exc}"
            raise ValidationError(msg) from exc
        if isinstance(user.get("themes", {}).get("categories"), dict):
            # A partnership's own mapping extends the default one rather than replacing it.
            user["themes"]["categories"] = {
                **raw["themes"]["categories"],
                **{str(k).lower(): v for k, v in user["themes"]["categories"].items()},
            }
        for table in ("police_uk", "police_uk_search"):
            if isinstance(user.get("themes", {}).get(table), dict):
                user["themes"][table] = {
                    **raw["themes"].get(table, {}),
                    **{str(k).lower(): v for k, v in user["themes"][table].items()},
                }
        raw = _merge(raw, user)
    base_dir = source.parent if source is not None else Path(".")

    def resolve(p: str | Path) -> Path:
        p = Path(p)
        return p if p.is_absolute() else base_dir / p

    paths_raw = dict(raw.get("paths", {}))
    paths = PathSettings(
        warehouse=resolve(_path_value(paths_raw, "warehouse", "output/ctxrisk.duckdb")),
        output_dir=resolve(_path_value(paths_raw, "output_dir", "output")),
        drop_dirs={k: resolve(v) for k, v in _path_table(paths_raw, "drop_dirs", 'incidents = "drop/incidents"')},
        boundaries={k: resolve(v) for k, v in _path_table(paths_raw, "boundaries", 'lsoa21 = "lsoa21.geojson"')},
    )
    themes_raw = raw.get("themes", {})
    themes = tuple(themes_raw.get("names", ()))
    categories = {str(k).lower(): str(v) for k, v in themes_raw.get("categories", {}).items()}
    bad = sorted({v for v in categories.values() if v not in themes})
    if bad:
        msg = f"[themes.categories] maps to unknown theme(s) {bad}; allowed: {list(themes)}"
        raise ValidationError(msg)
    police_tables: dict[str, dict[str, str]] = {}
    for table in ("police_uk", "police_uk_search"):
        mapping = {str(k).lower(): str(v) for k, v in themes_raw.get(table, {}).items()}
        bad = sorted({v for v in mapping.values() if v not in themes})
        if bad:
            msg = f"[themes.{table}] maps to unknown theme(s) {bad}; allowed: {list(themes)}"
            raise ValidationError(msg)
        police_tables[table] = mapping
    maps_raw = dict(raw.get("maps", {}))
    maps_raw["basemap_url"] = maps_raw.get("basemap_url") or None
    screening_raw = dict(raw.get("screening", {}))
    hotspots_raw = dict(raw.get("hotspots", {}))
    if "event_types" in hotspots_raw:
        hotspots_raw["event_types"] = tuple(hotspots_raw["event_types"])
    screening_raw["risk_levels"] = tuple(screening_raw.get("risk_levels", ("low", "medium", "high")))
    settings = Settings(
        paths=paths,
        privacy=_section(PrivacySettings, raw.get("privacy", {}), "privacy"),
        hotspots=_section(HotspotSettings, hotspots_raw, "hotspots"),
        locations=_section(LocationSettings, raw.get("locations", {}), "locations"),
        graph=_section(GraphSettings, raw.get("graph", {}), "graph"),
        screening=_section(ScreeningSettings, screening_raw, "screening"),
        maps=_section(MapSettings, maps_raw, "maps"),
        run=_section(RunSettings, raw.get("run", {}), "run"),
        plausibility=_section(PlausibilitySettings, raw.get("plausibility", {}), "plausibility"),
        missing=_section(MissingSettings, raw.get("missing", {}), "missing"),
        mace=_section(MaceSettings, _mace_raw(raw.get("mace", {})), "mace"),
        themes=themes,
        theme_categories=categories,
        police_uk_themes=police_tables["police_uk"],
        police_uk_search_themes=police_tables["police_uk_search"],
        aliases={k: dict(v) for k, v in raw.get("aliases", {}).items()},
        local_timezone=raw.get("time", {}).get("local_timezone", "Europe/London"),
        source=source,
    )
    if warehouse is None:
        warehouse = os.environ.get(ENV_WAREHOUSE) or None
    return settings.with_warehouse(warehouse)
