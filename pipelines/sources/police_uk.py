"""data.police.uk street-level crime, stop and search, and outcomes CSVs, read as they are published."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ctxrisk.pipelines.arrowtext import charset_match, constant_text, spread_flags
from ctxrisk.pipelines.batch import Batch, RejectCollector, finish_batch
from ctxrisk.pipelines.kinds import KEY_CHARS, KEY_MAX, Point
from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.sources import register
from ctxrisk.pipelines.sources.common import (
    derived_keys,
    factorize,
    force_from_filename,
    lsoa_vintage,
    map_columns,
    parse_times_unique,
    spread,
    text_checks,
    text_series,
    to_chunked,
    yes_no,
)
from ctxrisk.pipelines.sources.common import (
    repeated as repeated_values,
)
from ctxrisk.pipelines.tabular import read_csv_text
from ctxrisk.pipelines.timeparse import parse_times
from ctxrisk.pipelines.validate import validate_points

log = logging.getLogger(__name__)

# police.uk files use LSOA 2011 codes for months up to May 2023 and LSOA 2021 codes from June 2023.
LSOA21_FROM = "2023-06"
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
CHILD_AGE_RANGES = ("under 10", "10-17")
AGE_RANGES = ("under 10", "10-17", "18-24", "25-34", "over 34")
# Themes whose searches of a child are an exploitation indicator at that place.
EXPLOITATION_THEMES = ("county_lines", "cce")

STREET_COLUMNS = {
    "crime_id": "Crime ID",
    "month": "Month",
    "reported_by": "Reported by",
    "falls_within": "Falls within",
    "longitude": "Longitude",
    "latitude": "Latitude",
    "location": "Location",
    "lsoa_code": "LSOA code",
    "lsoa_name": "LSOA name",
    "crime_type": "Crime type",
    "last_outcome": "Last outcome category",
    "context": "Context",
}
# Columns that identify a street record; the outcome and context may change in a corrected re-export.
STREET_IDENTITY = [
    "crime_id",
    "month",
    "reported_by",
    "falls_within",
    "longitude",
    "latitude",
    "location",
    "lsoa_code",
    "crime_type",
]
SEARCH_COLUMNS = {
    "search_type": "Type",
    "date": "Date",
    "part_of_operation": "Part of a policing operation",
    "policing_operation": "Policing operation",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "gender": "Gender",
    "age_range": "Age range",
    "self_defined_ethnicity": "Self-defined ethnicity",
    "officer_defined_ethnicity": "Officer-defined ethnicity",
    "legislation": "Legislation",
    "object_of_search": "Object of search",
    "outcome": "Outcome",
    "outcome_linked": "Outcome linked to object of search",
    "removal_of_clothing": "Removal of more than just outer clothing",
}

OUTCOME_COLUMNS = {
    "crime_id": "Crime ID",
    "month": "Month",
    "reported_by": "Reported by",
    "falls_within": "Falls within",
    "longitude": "Longitude",
    "latitude": "Latitude",
    "location": "Location",
    "lsoa_code": "LSOA code",
    "lsoa_name": "LSOA name",
    "outcome_type": "Outcome type",
}


def _month_checks(
    frame: pd.DataFrame, collector: RejectCollector, settings: Settings
) -> tuple[pd.Series, pd.Series, tuple[np.ndarray, list[object]]]:
    """Refuse blank and malformed months; parse each distinct month once.

    Returns each row's time (UTC), its precision, and the month's codes and distinct values (``factorize``).
    """
    month = frame["month"]
    codes, uniques = factorize(month)
    collector.add(codes == len(uniques), "Month", None, "required value is blank")
    shaped = pc.match_substring_regex(pa.array(uniques, type=pa.string()), MONTH_PATTERN)
    ok = np.append(np.asarray(shaped.to_numpy(zero_copy_only=False), dtype=bool), True)  # blank: refused above
    bad = ~ok[codes]
    collector.add(bad, "Month", month, "not a month (YYYY-MM)")
    distinct = pd.Series([u if good else None for u, good in zip(uniques, ok, strict=False)] + [None], dtype="object")
    utc, precision, _invalid = parse_times(distinct, timezone=settings.local_timezone)
    # Arrow-backed text: the rows go to DuckDB through Arrow, and a million Python strings would be converted.
    per_month = [None if pd.isna(v) else v for v in precision]
    return utc.take(codes).reset_index(drop=True), text_series(spread(per_month, codes)), (codes, uniques)


# The coordinate columns of every police.uk format, and their names in the files.
POINT_COLUMNS = {"latitude": "Latitude", "longitude": "Longitude"}


def _points(frame: pd.DataFrame) -> tuple[dict[str, np.ndarray], RejectCollector]:
    """Validate the coordinate pair, naming the file's own columns in rejects; the points and their refusals."""
    own = RejectCollector(len(frame))
    points = validate_points(Point(""), frame[list(POINT_COLUMNS)], own)
    for block in own._blocks:  # re-label with the file's column names
        block["column_name"] = block["column_name"].map(lambda c: POINT_COLUMNS.get(c, c))
    return points, own


def _street_ids(
    identity: pd.DataFrame, repeated: np.ndarray
) -> tuple[np.ndarray, np.ndarray, pa.ChunkedArray | pa.Array]:
    """Blank and repeated Crime IDs, and each row's incident key (see :func:`read_street`).

    ``identity`` holds the ``STREET_IDENTITY`` columns; ``repeated`` is the mask of rows whose Crime ID is on
    another row too.
    """
    ids = to_chunked(identity["crime_id"])
    blank_id = pc.is_null(ids).to_numpy(zero_copy_only=False)
    blank_keys = derived_keys(identity, STREET_IDENTITY, prefix="pu-", rows=blank_id) if blank_id.any() else None
    if blank_keys is None and not repeated.any():
        return blank_id, repeated, ids
    replace = blank_id | repeated  # disjoint: a repeated ID is never blank
    # Only the replaced rows' keys, in file order: blank IDs' and repeated IDs' keys interleaved.
    pieces, owners = [], []
    if blank_keys is not None:
        pieces.append(blank_keys)
        owners.append(np.flatnonzero(blank_id))
    if repeated.any():
        repeated_ids = pc.filter(ids, pa.array(repeated))
        pieces.append(derived_keys(identity, STREET_IDENTITY, prefix="", rows=repeated, lead=repeated_ids, joiner="#"))
        owners.append(np.flatnonzero(repeated))
    keys = pa.concat_arrays(pieces)
    # Each row's key, null where the Crime ID is kept; if_else then works chunk by chunk on the IDs as read
    # (replace_with_mask would first copy all of them into one array).
    position = np.full(len(replace), -1, dtype=np.int64)
    position[np.concatenate(owners)] = np.arange(len(keys))
    spread_keys = keys.take(pa.array(position, mask=~replace))
    incident_id = pc.if_else(pa.array(replace), spread_keys, ids.cast(pa.large_string()))
    return blank_id, repeated, incident_id


def _unlocated_note(points: dict[str, np.ndarray], good: np.ndarray) -> list[str]:
    unlocated = int((~points["located"][good]).sum())
    if not unlocated:
        return []
    return [
        f"{unlocated:,} row(s) have no coordinates ('No Location'): kept as unlocated "
        "(counted in indicators, never mapped)"
    ]


def read_street(path: Path, *, settings: Settings, options: dict[str, Any]) -> Batch:
    """Read a data.police.uk street-level crime CSV into ``raw.incidents`` rows.

    Parameters
    ----------
    path : Path
        A ``YYYY-MM-<force>-street.csv`` file (any name; the 12-column header is what is checked).
    settings : Settings
        ``[themes.police_uk]`` maps ``Crime type`` to a theme.
    options : dict
        Unused.

    Returns
    -------
    Batch
        ``incident_id`` is the Crime ID when it is given and unique in the file; a Crime ID repeated on
        several rows becomes ``<Crime ID>#<hash>-<n>``; a blank Crime ID (anti-social behaviour) becomes
        ``pu-<hash>-<n>``, where ``<hash>`` is the first 20 hex digits of SHA-256 over the row's identifying
        columns (Crime ID, Month, Reported by, Falls within, Longitude, Latitude, Location, LSOA code, Crime
        type) and ``<n>`` numbers identical rows in file order. Every row has ``time_precision = 'month'``.
    """
    table = read_csv_text(path)
    frame = map_columns(
        table,
        STREET_COLUMNS,
        required=("crime_id", "month", "longitude", "latitude", "crime_type"),
        fmt="data.police.uk street-level crime",
    )
    n = len(frame)
    collector = RejectCollector(n)
    crime_id = frame["crime_id"]
    ids = to_chunked(crime_id)
    utc, precision, month_codes = _month_checks(frame, collector, settings)
    crime_type = frame["crime_type"]
    type_codes, type_uniques = factorize(crime_type)
    collector.add(type_codes == len(type_uniques), "Crime type", None, "required value is blank")
    collector.add(
        ~charset_match(ids, KEY_CHARS, KEY_MAX),
        "Crime ID",
        crime_id,
        "invalid Crime ID: use 1-128 letters, digits or _ . : / # -",
    )
    for name in (
        "reported_by",
        "falls_within",
        "location",
        "lsoa_code",
        "lsoa_name",
        "crime_type",
        "last_outcome",
        "context",
    ):
        text_checks(collector, frame[name], STREET_COLUMNS[name])
    blank_id, repeated, incident_id = _street_ids(frame[STREET_IDENTITY], repeated_values(crime_id))
    points, point_rejects = _points(frame)
    collector.extend(point_rejects)
    themes = [settings.theme_for_crime_type(t) for t in type_uniques] + ["other"]  # blank type: other
    rows = pd.DataFrame(
        {
            "incident_id": text_series(incident_id),
            "source": constant_text("police_uk_street", n),
            "occurred_at": utc,
            "time_precision": precision,
            "category": crime_type,
            "theme": text_series(spread(themes, type_codes)),
            "location_type": None,
            "latitude": points["latitude"],
            "longitude": points["longitude"],
            "easting": points["easting"],
            "northing": points["northing"],
            "located": points["located"],
            "lsoa_code": frame["lsoa_code"],
            "lsoa_name": frame["lsoa_name"],
            "lsoa_vintage": lsoa_vintage(
                frame["month"], frame["lsoa_code"], lsoa21_from=LSOA21_FROM, month_codes=month_codes
            ),
            "falls_within": frame["falls_within"],
            "reported_by": frame["reported_by"],
            "location_description": frame["location"],
            "outcome_category": frame["last_outcome"],
            "context": frame["context"],
        }
    )
    good = ~collector.bad
    notes = _unlocated_note(points, good)
    if good.any():
        notes.append(
            f"{int(good.sum()):,} row(s) have month precision only: analyses by week, weekday or time "
            "of day leave them out"
        )
    if blank_id[good].any():
        notes.append(
            f"{int(blank_id[good].sum()):,} row(s) have no Crime ID (anti-social behaviour): "
            "given derived keys pu-<hash>-<n>"
        )
    if repeated[good].any():
        notes.append(
            f"{int(repeated[good].sum()):,} row(s) share a Crime ID with another row: keyed <Crime ID>#<hash>-<n>"
        )
    return finish_batch("police-uk-street", "raw.incidents", ("incident_id",), table, rows, collector, notes)


def read_stop_search(path: Path, *, settings: Settings, options: dict[str, Any]) -> Batch:
    """Read a data.police.uk stop-and-search CSV into ``raw.stop_searches`` rows.

    Parameters
    ----------
    path : Path
        A ``YYYY-MM-<force>-stop-and-search.csv`` file. Latitude comes before Longitude in this format;
        columns are matched by name, never by position.
    options : dict
        ``force``: the force's name; by default the ``<force>`` part of the file name.

    Returns
    -------
    Batch
        ``Date`` is read as UTC when it has no offset (police.uk publishes UTC). ``is_child`` is True for
        age ranges ``under 10`` and ``10-17``. ``theme`` comes from ``[themes.police_uk_search]`` by
        ``Object of search``; ``exploitation_indicator`` is True for a child searched for an object whose
        theme is ``county_lines`` or ``cce`` (drugs, weapons). ``search_id`` is ``ss-<hash>-<n>``: SHA-256 over
        every column of the row, numbered in file order among identical rows.
    """
    table = read_csv_text(path)
    frame = map_columns(
        table,
        SEARCH_COLUMNS,
        required=("date", "latitude", "longitude", "age_range", "object_of_search"),
        fmt="data.police.uk stop and search",
    )
    n = len(frame)
    collector = RejectCollector(n)
    date = frame["date"]
    collector.add(date.isna().to_numpy(), "Date", None, "required value is blank")
    utc, precision, invalid = parse_times_unique(date, timezone="UTC")
    collector.add(invalid, "Date", date, "not an ISO 8601 date and time (e.g. 2025-06-01T00:38:00+00:00)")
    booleans = {}
    for name in ("part_of_operation", "outcome_linked", "removal_of_clothing"):
        value, bad = yes_no(frame[name])
        collector.add(bad, SEARCH_COLUMNS[name], frame[name], "not True or False")
        booleans[name] = value
    for name in (
        "search_type",
        "policing_operation",
        "gender",
        "age_range",
        "self_defined_ethnicity",
        "officer_defined_ethnicity",
        "legislation",
        "object_of_search",
        "outcome",
    ):
        text_checks(collector, frame[name], SEARCH_COLUMNS[name])
    points, point_rejects = _points(frame)
    collector.extend(point_rejects)
    # Age ranges and objects of search are a handful of distinct values: each is read once and spread back.
    age_codes, ages = factorize(frame["age_range"])
    age = [a.strip().lower() for a in ages]
    child = spread_flags([a in CHILD_AGE_RANGES for a in age], age_codes)
    is_child = pd.Series(pd.arrays.BooleanArray(child, age_codes == len(ages)))
    obj = frame["object_of_search"]
    object_codes, objects = factorize(obj)
    themes = [settings.police_uk_search_themes.get(o.strip().lower(), "other") for o in objects] + ["other"]
    theme = text_series(spread(themes, object_codes))
    indicator = child & np.array([t in EXPLOITATION_THEMES for t in themes])[object_codes]
    force = options.get("force") or force_from_filename(path, "stop-and-search")
    search_id = derived_keys(frame[list(SEARCH_COLUMNS)], list(SEARCH_COLUMNS), prefix="ss-")
    rows = pd.DataFrame(
        {
            "search_id": text_series(search_id),
            "source": constant_text("police_uk_stop_search", n),
            "occurred_at": utc,
            "time_precision": precision,
            "search_type": frame["search_type"],
            "part_of_policing_operation": booleans["part_of_operation"],
            "policing_operation": frame["policing_operation"],
            "latitude": points["latitude"],
            "longitude": points["longitude"],
            "easting": points["easting"],
            "northing": points["northing"],
            "located": points["located"],
            "gender": frame["gender"],
            "age_range": frame["age_range"],
            "is_child": is_child,
            "self_defined_ethnicity": frame["self_defined_ethnicity"],
            "officer_defined_ethnicity": frame["officer_defined_ethnicity"],
            "legislation": frame["legislation"],
            "object_of_search": obj,
            "outcome": frame["outcome"],
            "outcome_linked_to_object": booleans["outcome_linked"],
            "removal_of_clothing": booleans["removal_of_clothing"],
            "exploitation_indicator": indicator,
            "theme": theme,
            "force": constant_text(force, n),
        }
    )
    good = ~collector.bad
    notes = _unlocated_note(points, good)
    unknown_age = spread_flags([a not in AGE_RANGES for a in age], age_codes) & good
    if unknown_age.any():
        values = ", ".join(sorted(set(frame["age_range"][unknown_age].dropna())))
        notes.append(
            f"{int(unknown_age.sum()):,} row(s) have an age range not known to ctxrisk ({values}): "
            "kept, not counted as children"
        )
    if indicator[good].any():
        notes.append(
            f"{int(indicator[good].sum()):,} search(es) of children for drugs or weapons: "
            "exploitation indicators at those places"
        )
    return finish_batch("police-uk-stop-search", "raw.stop_searches", ("search_id",), table, rows, collector, notes)


def read_outcomes(path: Path, *, settings: Settings, options: dict[str, Any]) -> Batch:
    """Read a data.police.uk outcomes CSV into ``raw.police_outcomes`` rows.

    Returns
    -------
    Batch
        ``outcome_id`` is ``<Crime ID>:<hash>-<n>`` (SHA-256 over every column; identical rows, e.g. one
        outcome per suspect, are numbered in file order). ``month`` is the month the outcome was recorded,
        not the crime's month. Outcomes are joined to street crimes by Crime ID after loading
        (:func:`link_outcomes`).
    """
    table = read_csv_text(path)
    frame = map_columns(
        table,
        OUTCOME_COLUMNS,
        required=("crime_id", "month", "longitude", "latitude", "outcome_type"),
        fmt="data.police.uk outcomes",
    )
    collector = RejectCollector(len(frame))
    crime_id = frame["crime_id"]
    utc, _precision, month_codes = _month_checks(frame, collector, settings)
    collector.add(crime_id.isna().to_numpy(), "Crime ID", None, "required value is blank")
    bad_id = ~charset_match(to_chunked(crime_id), KEY_CHARS, KEY_MAX)
    collector.add(bad_id, "Crime ID", crime_id, "invalid Crime ID: use 1-128 letters, digits or _ . : / # -")
    collector.add(frame["outcome_type"].isna().to_numpy(), "Outcome type", None, "required value is blank")
    for name in ("reported_by", "falls_within", "location", "lsoa_code", "lsoa_name", "outcome_type"):
        text_checks(collector, frame[name], OUTCOME_COLUMNS[name])
    points, point_rejects = _points(frame)
    collector.extend(point_rejects)
    outcome_id = derived_keys(
        frame[list(OUTCOME_COLUMNS)], list(OUTCOME_COLUMNS), prefix="", lead=to_chunked(crime_id), joiner=":"
    )
    rows = pd.DataFrame(
        {
            "outcome_id": text_series(outcome_id),
            "crime_id": crime_id,
            "month": frame["month"],
            "recorded_at": utc,
            "reported_by": frame["reported_by"],
            "falls_within": frame["falls_within"],
            "latitude": points["latitude"],
            "longitude": points["longitude"],
            "easting": points["easting"],
            "northing": points["northing"],
            "located": points["located"],
            "location_description": frame["location"],
            "lsoa_code": frame["lsoa_code"],
            "lsoa_name": frame["lsoa_name"],
            "lsoa_vintage": lsoa_vintage(
                frame["month"], frame["lsoa_code"], lsoa21_from=LSOA21_FROM, month_codes=month_codes
            ),
            "outcome_type": frame["outcome_type"],
            "incident_id": None,
            "match_status": constant_text("unmatched", len(frame)),  # until link_outcomes finds the street row
        }
    )
    return finish_batch("police-uk-outcomes", "raw.police_outcomes", ("outcome_id",), table, rows, collector, [])


def link_outcomes(con: duckdb.DuckDBPyConnection, *, settings: Settings | None = None) -> int:
    """Join stored outcomes to stored street crimes by Crime ID; return the number of outcomes matched.

    ``match_status`` is ``matched`` (one street row has that Crime ID), ``ambiguous`` (several street rows
    share it: ``incident_id`` is the first of them) or ``unmatched`` (the crime's street file is not loaded).
    Re-run after every street or outcomes ingest, so the order of ingest does not matter.
    """
    if con.execute("select count(*) from raw.police_outcomes").fetchone()[0] == 0:
        log.info("linked 0 police.uk outcome(s) to street crimes: no outcomes are loaded")
        return 0
    # New rows arrive unmatched; only rows linked before are reset (a street row may have gone since).
    con.execute(
        "update raw.police_outcomes set incident_id = null, match_status = 'unmatched' "
        "where incident_id is not null or match_status is distinct from 'unmatched'"
    )
    con.execute(
        """
        update raw.police_outcomes o
        set incident_id = m.incident_id,
            match_status = case when m.n = 1 then 'matched' else 'ambiguous' end
        from (
            select split_part(incident_id, '#', 1) as crime_id, min(incident_id) as incident_id, count(*) as n
            from raw.incidents
            where source = 'police_uk_street'
            group by 1
        ) m
        where m.crime_id = o.crime_id
        """
    )
    matched = con.execute("select count(*) from raw.police_outcomes where match_status <> 'unmatched'").fetchone()[0]
    log.info("linked %s police.uk outcome(s) to street crimes", f"{matched:,}")
    return int(matched)


def _after_street(con: duckdb.DuckDBPyConnection, *, settings: Settings) -> None:
    link_outcomes(con, settings=settings)


register("police-uk-street", read_street, _after_street, located=True)
register("police-uk-stop-search", read_stop_search, located=True)
register("police-uk-outcomes", read_outcomes, _after_street, located=True)
