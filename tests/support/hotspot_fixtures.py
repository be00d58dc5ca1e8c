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
