"""Codes to Arrow columns, the files' schemas, chunked writers, and frames of equal-length arrays."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ctxrisk.pipelines.geo import bng_to_wgs84
from ctxrisk.synthetic.plan import _Plan
from ctxrisk.synthetic.world import CHUNK_ROWS, PERIOD_START

log = logging.getLogger(__name__)


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


def _located(prefix: str = "") -> list[tuple[str, pa.DataType]]:
    """The four columns of one place: WGS84 ``latitude``/``longitude`` and BNG ``easting``/``northing``."""
    return [
        (f"{prefix}latitude", pa.float64()),
        (f"{prefix}longitude", pa.float64()),
        (f"{prefix}easting", pa.int64()),
        (f"{prefix}northing", pa.int64()),
    ]


def _schema(*columns: str | tuple[str, pa.DataType]) -> pa.Schema:
    """A file's schema from its columns in order: a bare name is a string column, else ``(name, type)``."""
    return pa.schema([(c, pa.string()) if isinstance(c, str) else c for c in columns])


#: The grading of a piece of intelligence: source, intelligence and handling codes.
_GRADING = ("source_evaluation", "intelligence_evaluation", "handling")

SCHEMAS: dict[str, pa.Schema] = {
    "incidents": _schema("incident_id", "occurred_at", *_located(), "category", "theme", "location_type", "source"),
    "persons": _schema("person_id", "birth_year_month", "sex", ("looked_after", pa.bool_())),
    "involvements": _schema("person_id", "event_id", "event_type", "role"),
    "missing": _schema(
        "episode_id",
        "person_id",
        "started_at",
        "ended_at",
        "missing_type",
        *_located("from_"),
        *_located("found_"),
        "found_with",
        "rhi_offered_at",
        "rhi_completed_at",
    ),
    "associations": _schema("person_a", "person_b", "relation", "observed_at", *_GRADING),
    "intelligence": _schema("intel_id", "reported_at", *_located(), "category", "theme", *_GRADING, "persons"),
    "screenings": _schema("person_id", "screened_at", "tool", "risk_level"),
    "referrals": _schema("person_id", "referred_at", "type", "outcome"),
}


class _Writer:
    """Streams Arrow tables to one CSV (header unquoted, no quoting) or Parquet file."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str) -> None:
        self.schema, self.rows = schema, 0
        if fmt == "csv":
            self._file = open(path, "wb")  # closed in close()
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
