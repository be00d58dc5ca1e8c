"""Generate a realistic synthetic Cheshire East partnership data set with planted, documented patterns."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.fsutil import secure_mkdir
from ctxrisk.synthetic.encode import SCHEMAS, _Encoder, _Writer
from ctxrisk.synthetic.events import _home_points, _write_incidents, _write_missing, _write_persons
from ctxrisk.synthetic.links import _write_associations, _write_intelligence, _write_screenings_referrals
from ctxrisk.synthetic.plan import _make_plan, _Plan
from ctxrisk.synthetic.world import (
    DEFAULT_INCIDENTS,
    FILES,
    FORMATS,
    HALO_INNER_M,
    HALO_OUTER_M,
    MIN_INCIDENTS,
    PERIOD_START,
    SITE_RADIUS_M,
)

log = logging.getLogger(__name__)


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

Every row in this folder was **made up** by `ctxrisk/synthetic/sample.py` (seed {seed}, {incidents:,} incidents).
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
        "missing": (
            "missing and away episodes: from and found-at places, found with, return home interviews; "
            "no two episodes of one child overlap"
        ),
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
    with _owner_only(out, [f"{name}.{'csv' if fmt == 'csv' else 'parquet'}" for name in FILES]):
        summary = _generate(out, int(seed), int(incidents), fmt)
    summary.seconds = round(time.perf_counter() - began, 3)
    log.info(
        "wrote synthetic sample to %s in %.1f s: %s",
        out,
        summary.seconds,
        ", ".join(f"{k} {v:,}" for k, v in summary.rows().items()),
    )
    return summary


@contextlib.contextmanager
def _owner_only(out: Path, names: list[str]) -> Iterator[None]:
    """Within the block, what is written to ``out`` is owner-only (folders 0700, files 0600), whatever the umask.

    The folder and its missing parents are made 0700; files about to be replaced are made 0600 first; new files
    are created under a umask of 077 (restored afterwards).
    """
    previous = os.umask(0o077)
    try:
        secure_mkdir(out)
        for name in [*names, "ground_truth.json", "README.md"]:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(out / name, 0o600)
        yield
    finally:
        os.umask(previous)


def _generate(out: Path, seed: int, incidents: int, fmt: str) -> SampleSummary:
    """Write every file of the sample to ``out``; see :func:`generate_sample`."""
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
    _write_readme(out, summary, plan, ext)
    return summary
