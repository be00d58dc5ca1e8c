"""The parameters of a hot spot run: one typed object, resolved from settings once at the edge.

The CLI and the scheduled run build a :class:`HotspotParameters` with
:meth:`HotspotParameters.from_settings` (every option left as None takes its ``[hotspots]`` default) and
hand it to :func:`ctxrisk.analytics.hotspots.run_hotspots`, :func:`~ctxrisk.analytics.hotspots.run_emerging`,
:func:`~ctxrisk.analytics.backtest_run.run_backtest` and :func:`~ctxrisk.analytics.locations.run_locations`.
A run's parameters are stored as one row of ``marts.hotspot_runs`` (:meth:`HotspotParameters.row`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.settings import Settings

__all__ = ["HotspotParameters"]

_INFERENCE = ("total", "conditional", "normal")
_BASELINES = ("none", "all-incidents", "population")
_ALTERNATIVES = ("two-sided", "greater", "less")


def _as_tuple(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        parts = tuple(v.strip() for v in value.split(",") if v.strip())
        return parts or None
    return tuple(str(v) for v in value)


@dataclass(frozen=True)
class HotspotParameters:
    """Everything a hot spot run needs besides the warehouse (defaults: ``[hotspots]``).

    Attributes
    ----------
    unit : str
        ``auto`` (H3 resolution chosen from the data, :mod:`ctxrisk.analytics.scale`), ``h3``, ``h3:R``, a
        loaded boundary level (``lsoa11``, ``ward`` ...) or ``points``.
    event_types, themes, sources : tuple of str or None
        Filters; None keeps all (``event_types`` None: ``[hotspots] event_types``).
    since, until : str or None
        Local dates ``YYYY[-MM[-DD]]``, both inclusive.
    hours : str or None
        Local time-of-day window (``"18-23"``).
    include_out_of_area : bool
    weights : {"kring", "contiguity", "distance"} or None
        None: ``kring`` for H3, ``contiguity`` for polygons.
    k_ring : int
    distance_m : float
    permutations : int or None
        None: :func:`ctxrisk.analytics.gistar.auto_permutations` of the region.
    seed : int
    alternative : {"two-sided", "greater", "less"}
    alpha : float
    inference : {"total", "conditional", "normal"}
        Gi* p-values (see :mod:`ctxrisk.analytics.gistar`); ``normal`` uses no permutation.
    baseline : {"none", "all-incidents", "population"}
        See :mod:`ctxrisk.analytics.baselines`.
    study_area : str or None
        Local-authority codes or names (comma-separated) used as the region when no boundary is loaded.
    min_cluster_size : int
    time_bin : {"week", "month"}
    time_step_window : int
    trend_alpha : float
    """

    unit: str = "auto"
    event_types: tuple[str, ...] | None = ("incident",)
    themes: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None
    since: str | None = None
    until: str | None = None
    hours: str | None = None
    include_out_of_area: bool = False
    weights: Literal["kring", "contiguity", "distance"] | None = None
    k_ring: int = 2
    distance_m: float = 400.0
    permutations: int | None = None
    seed: int = 12345
    alternative: Literal["two-sided", "greater", "less"] = "two-sided"
    alpha: float = 0.05
    inference: Literal["total", "conditional", "normal"] = "total"
    baseline: Literal["none", "all-incidents", "population"] = "none"
    study_area: str | None = None
    min_cluster_size: int = 10
    time_bin: Literal["week", "month"] = "month"
    time_step_window: int = 1
    trend_alpha: float = 0.05

    def __post_init__(self) -> None:
        checks = (
            ("inference", self.inference, _INFERENCE),
            ("baseline", self.baseline, _BASELINES),
            ("alternative", self.alternative, _ALTERNATIVES),
            ("time_bin", self.time_bin, ("week", "month")),
        )
        for name, value, allowed in checks:
            if value not in allowed:
                msg = f"{name} must be one of {list(allowed)}, got {value!r}"
                raise ValidationError(msg)
        if self.k_ring < 1:
            msg = f"k_ring must be at least 1, got {self.k_ring}"
            raise ValidationError(msg)
        if not 0 < self.alpha < 1:
            msg = f"alpha must be in (0, 1), got {self.alpha!r}"
            raise ValidationError(msg)
        if self.permutations is not None and self.permutations < 0:
            msg = f"permutations must be at least 0, got {self.permutations}"
            raise ValidationError(msg)
        if self.seed < 0:  # numpy's generators take non-negative seeds only
            msg = f"seed must be at least 0, got {self.seed}"
            raise ValidationError(msg)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> HotspotParameters:
        """Parameters from ``settings.hotspots``; every option given and not None overrides its default.

        ``theme``/``source`` are accepted for ``themes``/``sources``, and ``permutations=0`` means the
        normal approximation (``inference="normal"``).
        """
        hs = settings.hotspots
        perms = hs.permutations
        base = {
            "unit": hs.unit,
            "event_types": tuple(hs.event_types),
            "weights": None,
            "k_ring": hs.k_ring,
            "distance_m": float(hs.distance_band_m),
            "permutations": None if str(perms).lower() == "auto" else int(perms),
            "seed": hs.seed,
            "alpha": hs.alpha,
            "inference": hs.inference,
            "baseline": hs.baseline,
            "study_area": hs.study_area or None,
            "min_cluster_size": hs.min_cluster_size,
            "time_bin": hs.time_bin,
            "time_step_window": hs.time_step_window,
            "trend_alpha": hs.trend_alpha,
        }
        aliases = {"theme": "themes", "source": "sources", "distance_band_m": "distance_m"}
        fields = {f.name for f in dataclasses.fields(cls)}
        for key, value in options.items():
            name = aliases.get(key, key)
            if name not in fields:
                msg = f"unknown hot spot option {key!r}; allowed: {sorted(fields)}"
                raise ValidationError(msg)
            if value is not None:
                base[name] = value
        for name in ("event_types", "themes", "sources"):
            value = base.get(name)
            base[name] = None if value == "all" or value == ("all",) else _as_tuple(value)
        if base.get("permutations") == 0:
            base["inference"] = "normal"
        if isinstance(base.get("hours"), tuple | list):
            lo, hi = base["hours"]
            base["hours"] = f"{int(lo)}-{int(hi)}"
        return cls(**base)

    def replace(self, **changes: Any) -> HotspotParameters:
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)

    def row(self) -> dict[str, Any]:
        """The parameters as one row of ``marts.hotspot_runs`` (lists as comma-separated text)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = ",".join(value) if isinstance(value, tuple) else value
        return out
