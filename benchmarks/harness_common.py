"""What the benchmark harness shares: paths, goals, packages, scales and its error."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
DATA_DIR = BENCH / "_data"
RESULTS = BENCH / "results" / "run_all.json"
MARKDOWN = ROOT / "BENCHMARKS.md"
#: Written by bench_ingest.py: the real public CSV formats (issue 3) against the same contenders.
POLICE_UK_INGEST = BENCH / "results" / "ingest.json"
#: Written by the per-feature benchmarks; rendered into BENCHMARKS.md when present (key: file stem).
FEATURE_RESULTS = ("intel", "report", "missing", "graph_step", "steering_map", "real_data_hotspots")
DEFAULT_SCALES = "100k,1M,10M"
KINDS = ("persons", "incidents", "missing", "intelligence", "involvements", "associations", "screenings", "referrals")
SHARED_BOUNDARIES = ROOT.parent / "shared" / "data" / "boundaries"
BOUNDARIES = {
    "ward": "cheshire_east_E06000049_wards2013.geojson",
    "lsoa11": "cheshire_police_area_lsoa2011_imd2019.geojson",
}
INGEST_CONTENDERS = ("duckdb", "ctxrisk", "pandas")
#: rounds of the ingest comparison; each contender's best round counts
INGEST_ROUNDS = 3
PACKAGES = (
    "duckdb",
    "pandas",
    "numpy",
    "pyarrow",
    "scipy",
    "networkx",
    "igraph",
    "esda",
    "libpysal",
    "numba",
    "h3",
    "folium",
    "psutil",
    "playwright",
)
SAMPLE_MARKER = ".bench_sample.json"

#: The goals (issue 19's speed floor): end-to-end 1M incidents in under 2 minutes on 2 cores; 10M with peak
#: memory under 8 GB; a 1M-row incidents.csv ingested at 0.4 of DuckDB's read_csv rows/s or more; the 20 real
#: City of London street months in one command in under 5 s; the association-graph step at most 20 s at 1M;
#: Gi* at least 10x esda.
GOAL_E2E_1M_S = 120.0
GOAL_PEAK_10M_BYTES = 8 * 1024**3
GOAL_INGEST_SHARE = 0.4
GOAL_CITY_MONTHS_S = 5.0
GOAL_GRAPH_STEP_1M_S = 20.0
GOAL_GISTAR_SPEEDUP = 10.0
#: The per-feature benchmarks' goals (issues 21, 22, 23): the intel explorer for about 50,000 people built in
#: under 15 s, under 6 MB, first frames in Chromium in under 3 s; the PDF report at 1M incidents in under 20 s;
#: ``ctxrisk missing children`` and ``ctxrisk mace`` each under 10 s at 1M incidents and 120k missing episodes;
#: the steering page at 1M incidents under 5 MB, opening in Chromium in under 2 s.
GOAL_INTEL_BUILD_S = 15.0
GOAL_INTEL_BYTES = 6_000_000
GOAL_INTEL_OPEN_S = 3.0
#: the intel benchmark counts as "about 50,000 people" from this many people up
INTEL_MIN_PEOPLE = 45_000
GOAL_REPORT_PDF_S = 20.0
GOAL_MISSING_S = 10.0
MISSING_EPISODES = 120_000
GOAL_STEERING_BYTES = 5_000_000
GOAL_STEERING_OPEN_S = 2.0
#: Hand-written history appended to BENCHMARKS.md when it is rendered.
HISTORY = BENCH / "history.md"
LINEAR_BAND = (0.9, 1.1)

log = logging.getLogger("benchmarks.run_all")
sys.path.insert(0, str(ROOT / "tests"))  # support.browser, the headless browser harness of the tests
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))


class BenchError(RuntimeError):
    """A benchmark could not be run (bad option, a subprocess failed)."""


# --------------------------------------------------------------------------------------------------------------
# Scales


def parse_scales(text: str) -> list[int]:
    """Parse ``"100k,1M,10M"`` into incident counts (each as :func:`ctxrisk.synthetic.sample.parse_scale` reads it).

    Raises
    ------
    BenchError
        An empty list, or a scale below the sample's minimum of 1,000 incidents.
    """
    from ctxrisk.pipelines.errors import ValidationError
    from ctxrisk.synthetic.sample import MIN_INCIDENTS, parse_scale

    scales = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            n = parse_scale(part)
        except ValidationError as exc:
            raise BenchError(str(exc)) from exc
        if n < MIN_INCIDENTS:
            msg = f"scale {part!r} is below the sample's minimum of {MIN_INCIDENTS:,} incidents"
            raise BenchError(msg)
        scales.append(n)
    if not scales:
        msg = f"no scales in {text!r}: use e.g. 100k,1M,10M"
        raise BenchError(msg)
    return sorted(set(scales))


def scale_label(n: int) -> str:
    """``100000 -> "100k"``, ``1000000 -> "1M"``, ``2500 -> "2500"`` (the folder and table name of a scale)."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 10_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)
