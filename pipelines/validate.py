"""Check a canonical file's columns and coordinates row by row and shape the rows its kind stores."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ctxrisk.pipelines.arrowtext import as_chunked, charset_match, encode, has_control, longer_than, spread, text_series
from ctxrisk.pipelines.batch import MAX_TEXT, Batch, EpisodeOverlaps, RejectCollector, finish_batch
from ctxrisk.pipelines.errors import IdentifierError, ValidationError
from ctxrisk.pipelines.geo import bng_to_wgs84, in_gb_bng, in_gb_wgs84, wgs84_to_bng
from ctxrisk.pipelines.identifiers import column_label, find_identifier_columns, header_looks_like_data, header_text
from ctxrisk.pipelines.kinds import ID_CHARS, ID_MAX, KEY_CHARS, KEY_MAX, KINDS, Kind, Point
from ctxrisk.pipelines.plausibility import DateWindow
from ctxrisk.pipelines.pseudonymise import pseudonymise_series
from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.tabular import TextTable
from ctxrisk.pipelines.timeparse import parse_plain_times

log = logging.getLogger(__name__)

# Below this many points every pair is transformed; above it, each distinct pair once.
DISTINCT_TRANSFORM_MIN = 10_000
# Above twice this many points, a sample of this size whose pairs are over 80% distinct means every pair is
# transformed (finding the distinct pairs of a million points costs half as much as transforming them).
DISTINCT_SAMPLE = 50_000
DISTINCT_SAMPLE_SHARE = 0.8
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
# What Python's str.strip() removes (every character whose isspace() is True): IDs in lists lose exactly these.
_PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _canonical_header(kind: Kind, header: list[str], aliases: dict[str, list[str]], path: Path) -> dict[str, str]:
    """Map file columns to canonical names: exact (case-insensitive) names first, then configured aliases."""
    wanted = {name.lower(): name for name in kind.column_names}
    alias_to = {alt.lower(): canon for canon, alts in aliases.items() for alt in alts}
    mapping: dict[str, str] = {}
    for col in header:
        low = col.lower()
        canon = wanted.get(low) or alias_to.get(low)
        if canon is None:
            continue
        if canon in mapping.values():
            msg = f"{path}: line 1: columns for {canon!r} appear twice (after aliases)"
            raise ValidationError(msg)
        mapping[col] = canon
    return mapping


def _text_rejects(collector: RejectCollector, series: pd.Series, column: str) -> None:
    values = _as_arrow(series)
    collector.add(longer_than(values, MAX_TEXT), column, series, f"longer than {MAX_TEXT} characters")
    collector.add(has_control(values), column, series, "contains control characters")


def _as_arrow(series: pd.Series) -> pa.ChunkedArray:
    """A text column as an Arrow string column (no copy for pandas' Arrow-backed strings)."""
    try:
        return as_chunked(pa.array(series, from_pandas=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return as_chunked(pa.array(series.astype("object").where(series.notna(), None), type=pa.string()))


def _id_lists(series: pd.Series) -> tuple[pa.ListArray, np.ndarray]:
    """Split ``;``-separated ID lists: the non-blank IDs of each record and which records hold an invalid one.

    Each ID is stripped of white space as Python's ``str.strip`` does. Records with no ID (blank, or only
    separators) get a null list.

    Returns
    -------
    lists : ListArray of string
        One list per record.
    invalid : ndarray of bool
        True where a record holds an ID that does not match ``ctxrisk.pipelines.kinds.ID_PATTERN``.
    """
    values = _as_arrow(series).combine_chunks() if len(series) else pa.array([], type=pa.string())
    parts = pc.split_pattern(values, ";")
    parent = pc.list_parent_indices(parts).to_numpy(zero_copy_only=False)
    ids = pc.utf8_trim(pc.list_flatten(parts), characters=_PY_WHITESPACE)
    keep = pc.not_equal(ids, "").to_numpy(zero_copy_only=False)
    kept_ids = ids.filter(pa.array(keep)).cast(pa.string())
    kept_parent = parent[keep]
    n = len(series)
    invalid = np.zeros(n, dtype=bool)
    bad = ~charset_match(kept_ids, ID_CHARS, ID_MAX)
    invalid[kept_parent[bad]] = True
    counts = np.bincount(kept_parent, minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    lists = pa.ListArray.from_arrays(pa.array(offsets), kept_ids, mask=pa.array(counts == 0))
    return lists, invalid


def _invalid_person_ids(series: pd.Series, column_type: str) -> np.ndarray:
    """Mask of records holding a malformed person ID (``id``) or a malformed ID in a list (``idlist``)."""
    if column_type == "id":
        return ~charset_match(_as_arrow(series), ID_CHARS, ID_MAX)
    return _id_lists(series)[1]


def validate_columns(
    kind: Kind,
    frame: pd.DataFrame,
    collector: RejectCollector,
    *,
    settings: Settings,
) -> dict[str, pd.Series]:
    """Check and convert each canonical column; return converted columns (times, booleans, lists, enums)."""
    out: dict[str, pd.Series] = {}
    for column in kind.columns:
        if column.name not in frame.columns:
            continue
        series = frame[column.name]
        blank = series.isna().to_numpy()
        if column.required:
            collector.add(blank, column.name, series, "required value is blank")
        if column.type in ("id", "key"):
            chars, longest = (ID_CHARS, ID_MAX) if column.type == "id" else (KEY_CHARS, KEY_MAX)
            ok = charset_match(_as_arrow(series), chars, longest)
            what = "person ID" if column.type == "id" else "ID"
            others = "_ . : -" if column.type == "id" else "_ . : / # -"
            collector.add(
                ~ok, column.name, series, f"invalid {what}: use 1-{longest} letters, digits or {others} characters"
            )
            out[column.name] = series
        elif column.type == "text":
            _text_rejects(collector, series, column.name)
            out[column.name] = series
        elif column.type == "time":
            utc, precision, invalid = parse_plain_times(series, timezone=settings.local_timezone)
            collector.add(
                invalid.to_numpy(), column.name, series, "not an ISO 8601 date or time (e.g. 2024-03-31T18:45:00)"
            )
            out[column.name] = utc
            out[f"{column.name}__precision"] = precision
        elif column.type == "yearmonth":
            full_date = series.str.match(r"^\d{4}-\d{2}-\d{2}").fillna(False).to_numpy()
            collector.add(
                full_date,
                column.name,
                None,
                "a full date of birth is not accepted: give the year and month only (YYYY-MM)",
            )
            ok = series.str.match(r"^\d{4}-(0[1-9]|1[0-2])$").fillna(True).to_numpy()
            collector.add(~ok & ~full_date, column.name, series, "not a year and month (YYYY-MM)")
            out[column.name] = series
        elif column.type == "enum":
            allowed = column.allowed
            if column.name == "theme":
                allowed = settings.themes
            elif column.name == "risk_level":
                allowed = settings.screening.risk_levels
            lookup = {a.lower(): a for a in allowed or ()}
            lookup.update({k.lower(): v for k, v in column.synonyms.items()})
            mapped = _map_distinct(series, lambda value, lookup=lookup: lookup.get(value.lower()))
            unknown = (~blank) & mapped.isna().to_numpy()
            collector.add(unknown, column.name, series, f"not one of {', '.join(allowed or ())}")
            out[column.name] = mapped
        elif column.type == "bool":
            low = series.str.lower()
            value = pd.Series(
                np.where(low.isin(list(_TRUE)).fillna(False), True, None), index=series.index, dtype="object"
            )
            value[low.isin(list(_FALSE)).fillna(False).to_numpy()] = False
            bad = (~blank) & value.isna().to_numpy()
            collector.add(bad, column.name, series, "not a yes/no value (true/false, yes/no, 1/0, Y/N)")
            out[column.name] = value.astype("boolean")
        elif column.type == "idlist":
            lists, invalid = _id_lists(series)
            collector.add(invalid, column.name, series, "holds an invalid person ID (IDs are separated by ;)")
            out[column.name] = pd.Series(pd.arrays.ArrowExtensionArray(lists), index=series.index)
        else:  # pragma: no cover - guarded by the kind definitions
            msg = f"unknown column type {column.type!r}"
            raise ValidationError(msg)
    return out


def _repeats_likely(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether (a, b) pairs repeat enough to transform each distinct pair once: judged on a fixed sample.

    Only speed depends on the answer; the transformed values are the same either way.
    """
    if len(a) <= 2 * DISTINCT_SAMPLE:
        return True
    rng = np.random.default_rng(0)
    pick = rng.choice(len(a), DISTINCT_SAMPLE, replace=False)
    pairs = np.stack([a[pick].view(np.int64), b[pick].view(np.int64)], axis=1)
    return len(np.unique(pairs, axis=0)) <= DISTINCT_SAMPLE_SHARE * DISTINCT_SAMPLE


def _transform_distinct(
    transform: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]], a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Apply a coordinate ``transform`` to each distinct (a, b) pair once and spread the results back.

    Published points repeat (police.uk snaps crimes to a fixed set of map points), so this is much faster
    than transforming every row; pairs are told apart by their exact bits, so results are identical.
    """
    a = np.ascontiguousarray(a, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    if len(a) < DISTINCT_TRANSFORM_MIN or not _repeats_likely(a, b):
        return transform(a, b)
    codes_a, uniques_a = pd.factorize(a.view(np.int64))
    codes_b, uniques_b = pd.factorize(b.view(np.int64))
    pair_codes, pairs = pd.factorize(codes_a.astype(np.int64) * len(uniques_b) + codes_b)
    if len(pairs) > len(a) // 2:
        return transform(a, b)
    first_a = uniques_a.view(np.float64)[pairs // len(uniques_b)]
    first_b = uniques_b.view(np.float64)[pairs % len(uniques_b)]
    out_a, out_b = transform(first_a, first_b)
    return np.asarray(out_a)[pair_codes], np.asarray(out_b)[pair_codes]


def validate_points(point: Point, frame: pd.DataFrame, collector: RejectCollector) -> dict[str, np.ndarray]:
    """Check one coordinate pair and return latitude, longitude, easting, northing and a located mask."""
    n = len(frame)
    lat_c, lon_c = point.wgs84
    e_c, n_c = point.bng

    def numeric(name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in frame.columns:
            return np.full(n, np.nan), np.zeros(n, dtype=bool)
        raw = frame[name]
        try:  # Arrow's cast is much faster on millions of rows; it fails on any non-number, then pandas decides
            values = pc.cast(pa.array(raw, from_pandas=True), pa.float64()).to_numpy(zero_copy_only=False)
            values = np.asarray(values, dtype=float)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        given = raw.notna().to_numpy()
        bad = given & ~np.isfinite(values)
        collector.add(bad, name, raw, "not a number")
        return values, given

    lat, lat_given = numeric(lat_c)
    lon, lon_given = numeric(lon_c)
    east, east_given = numeric(e_c)
    north, north_given = numeric(n_c)
    for a, b, a_name, b_name in ((lat_given, lon_given, lat_c, lon_c), (east_given, north_given, e_c, n_c)):
        collector.add(a & ~b, b_name, None, f"{a_name} is given but {b_name} is blank")
        collector.add(b & ~a, a_name, None, f"{b_name} is given but {a_name} is blank")
    use_wgs = np.isfinite(lat) & np.isfinite(lon)
    use_bng = ~use_wgs & np.isfinite(east) & np.isfinite(north)
    out_wgs = use_wgs & ~in_gb_wgs84(lat, lon)
    out_bng = use_bng & ~in_gb_bng(east, north)
    if lat_c in frame.columns and out_wgs.any():
        collector.add(
            out_wgs,
            lat_c,
            frame[lat_c] + "," + frame[lon_c] if lon_c in frame.columns else None,
            "latitude/longitude outside Great Britain (is the pair swapped?)",
        )
    if e_c in frame.columns and out_bng.any():
        collector.add(
            out_bng,
            e_c,
            frame[e_c] + "," + frame[n_c] if n_c in frame.columns else None,
            "easting/northing outside the British National Grid",
        )
    lat_out = np.where(use_wgs, lat, np.nan)
    lon_out = np.where(use_wgs, lon, np.nan)
    east_out = np.where(use_bng, east, np.nan)
    north_out = np.where(use_bng, north, np.nan)
    if use_wgs.any():
        e2, n2 = _transform_distinct(wgs84_to_bng, lat[use_wgs], lon[use_wgs])
        east_out[use_wgs], north_out[use_wgs] = e2, n2
    if use_bng.any():
        la2, lo2 = _transform_distinct(bng_to_wgs84, east[use_bng], north[use_bng])
        lat_out[use_bng], lon_out[use_bng] = la2, lo2
    located = use_wgs | use_bng
    return {"latitude": lat_out, "longitude": lon_out, "easting": east_out, "northing": north_out, "located": located}


def _map_distinct(series: pd.Series, func: Callable[[str], str | None]) -> pd.Series:
    """``series.map(func, na_action="ignore")`` as Arrow-backed text, calling ``func`` once per distinct value.

    A value that ``func`` maps to None becomes blank.
    """
    codes, distinct = encode(text_series(_as_arrow(series)))
    mapped = spread([*(func(u) for u in distinct.to_pylist()), None], codes)  # blanks stay blank
    out = text_series(mapped)
    out.index = series.index
    return out


def _shape_rows(
    kind: Kind,
    frame: pd.DataFrame,
    values: dict[str, pd.Series],
    points: dict[str, dict],
    collector: RejectCollector,
    settings: Settings,
) -> pd.DataFrame:
    """Build the raw table's columns for a kind from validated values."""
    n = len(frame)

    def col(name: str) -> pd.Series:
        if name in values:
            return values[name].reset_index(drop=True)
        return pd.Series([None] * n, dtype="object")

    def with_point(out: dict, prefix: str, key: str) -> None:
        p = points[key]
        for part in ("latitude", "longitude", "easting", "northing"):
            out[f"{prefix}{part}"] = p[part]

    name = kind.name
    if name in ("incidents", "intelligence"):
        theme = col("theme")
        from_category = _map_distinct(col("category"), settings.theme_for)
        time_col = "occurred_at" if name == "incidents" else "reported_at"
        out = {
            "incident_id" if name == "incidents" else "intel_id": col(kind.key[0]),
            time_col: col(time_col),
            "time_precision": col(f"{time_col}__precision"),
            "category": col("category"),
            "theme": theme.where(theme.notna(), from_category),
        }
        if name == "incidents":
            source = col("source")
            out["source"] = source.where(source.notna(), "partnership")
            out["location_type"] = col("location_type")
        with_point(out, "", "")
        out["located"] = points[""]["located"]
        if name == "intelligence":
            for g in ("source_evaluation", "intelligence_evaluation", "handling"):
                out[g] = col(g)
            out["persons"] = col("persons")
        return pd.DataFrame(out)
    if name == "missing":
        started, ended = col("started_at"), col("ended_at")
        before = (ended.notna() & started.notna() & (ended < started)).to_numpy()
        collector.add(
            before, "ended_at", frame["ended_at"] if "ended_at" in frame else None, "the episode ends before it starts"
        )
        offered, completed = col("rhi_offered_at"), col("rhi_completed_at")
        early = (completed.notna() & started.notna() & (completed < started)).to_numpy()
        collector.add(
            early,
            "rhi_completed_at",
            frame["rhi_completed_at"] if "rhi_completed_at" in frame else None,
            "the return home interview is completed before the episode starts",
        )
        mtype = col("missing_type")
        out = {
            "episode_id": col("episode_id"),
            "person_id": col("person_id"),
            "started_at": started,
            "started_precision": col("started_at__precision"),
            "ended_at": ended,
            "missing_type": mtype.where(mtype.notna(), "missing"),
        }
        with_point(out, "from_", "from_")
        with_point(out, "found_", "found_")
        out["found_with"] = col("found_with")
        out["rhi_offered_at"] = offered
        out["rhi_completed_at"] = completed
        return pd.DataFrame(out)
    if name == "associations":
        a, b = col("person_a"), col("person_b")
        same = (a.notna() & (a == b)).fillna(False).to_numpy()
        collector.add(same, "person_b", frame["person_b"], "a person cannot be associated with themselves")
        swap = (a > b).fillna(False).to_numpy()
        first = np.where(swap, b, a)
        second = np.where(swap, a, b)
        out = {"person_a": first, "person_b": second, "relation": col("relation"), "observed_at": col("observed_at")}
        for g in ("source_evaluation", "intelligence_evaluation", "handling"):
            out[g] = col(g)
        return pd.DataFrame(out)
    # persons, involvements, screenings, referrals: columns as validated
    return pd.DataFrame({c.name: col(c.name) for c in kind.columns})


def _distinct(array: pa.Array | pa.ChunkedArray) -> bool:
    """Whether no value (blank included) appears twice.

    Exports are often sorted by their ID: strictly increasing values are distinct, and comparing neighbours
    costs a tenth of hashing a million strings. Otherwise Arrow's hash count decides, which needs no codes.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if (
        len(array) > 1
        and not array.null_count
        and pc.all(pc.greater(array.slice(1), array.slice(0, len(array) - 1))).as_py()
    ):
        return True
    return pc.count_distinct(array, mode="all").as_py() == len(array)


def _all_distinct(values: pd.Series) -> bool:
    """Whether no value of a column (blank included) appears twice (see :func:`_distinct`)."""
    try:
        return _distinct(_as_arrow(values))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return False


def _tuples_distinct(rows: pd.DataFrame, key: tuple[str, ...], positions: np.ndarray, all_rows: bool) -> bool:
    """Whether the key tuples of the rows at ``positions`` are all different (see :func:`_distinct`).

    Each tuple is joined into one text with the unit separator; blanks become NUL. Key columns hold IDs,
    enumerations and times, none of which can contain either character (IDs are checked against their
    character sets and control characters are refused), so different tuples give different texts. A False
    only sends the rows to the exact search, which names the lines.
    """
    try:
        parts = []
        for name in key:
            column = rows[name] if all_rows else rows[name].iloc[positions]
            values = pa.array(column, from_pandas=True)
            values = values.cast(pa.large_string()) if values.type != pa.large_string() else values
            parts.append(pc.fill_null(values, "\x00"))
        return _distinct(pc.binary_join_element_wise(*parts, pa.scalar("\x1f", pa.large_string())))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return False


def _duplicate_keys(
    rows: pd.DataFrame, key: tuple[str, ...], good: np.ndarray, lines: np.ndarray, collector: RejectCollector
) -> None:
    """Refuse the second and later rows with the same key in one file, naming the first line."""
    positions = np.flatnonzero(good)
    if len(key) > 1 and _tuples_distinct(rows, key, positions, bool(good.all())):
        return
    codes = None
    for name in key:
        column = rows[name] if good.all() else rows[name].iloc[positions]
        # Blank keys count as one value, as pandas' duplicated() and groupby(dropna=False) count them.
        part, uniques = pd.factorize(column, use_na_sentinel=False)
        part = part.astype(np.int64)
        # Renumbered after each column, so the combined code stays below the row count squared.
        codes = pd.factorize(part if codes is None else codes * len(uniques) + part)[0].astype(np.int64)
    if codes is None or not len(codes):
        return
    # factorize numbers codes in order of first appearance (0, 1, 2 …): a row is a repeat when its code is
    # not above every earlier one.
    seen = np.maximum.accumulate(codes)
    dup = np.zeros(len(codes), dtype=bool)
    dup[1:] = codes[1:] <= seen[:-1]
    if not dup.any():
        return
    first = np.flatnonzero(~dup)[codes]
    first_pos = positions[first]
    mask = np.zeros(len(rows), dtype=bool)
    mask[positions[dup]] = True
    reasons = np.array(
        [f"duplicate key in this file (first on line {line})" for line in lines[first_pos[dup]]], dtype=object
    )
    collector.add(mask, key[0], rows[key[0]].astype("string"), reasons)


def prepare_batch(
    kind_name: str,
    table: TextTable,
    *,
    settings: Settings,
    pseudonymise_key: bytes | None = None,
) -> Batch:
    """Validate a canonical file's records and return the rows to load and the rows refused.

    Raises
    ------
    IdentifierError
        A column looks like a direct identifier (a name, a full date of birth, an NHS number, a postcode …).
    ValidationError
        A required column is missing, or no coordinate pair is given where the kind needs one.
    """
    if kind_name not in KINDS:
        msg = f"unknown kind {kind_name!r}; allowed: {', '.join(KINDS)}"
        raise ValidationError(msg)
    kind = KINDS[kind_name]
    path = table.path
    if header_looks_like_data(table.header):
        msg = f"{path}: line 1: the header has {header_text(table.header)}. Nothing was loaded from this file"
        raise ValidationError(msg)
    mapping = _canonical_header(kind, table.header, settings.aliases.get(kind_name, {}), path)
    extra = [c for c in table.header if c not in mapping]
    if settings.privacy.refuse_identifier_columns:
        findings = find_identifier_columns(extra, table.frame[extra].head(2000) if extra else None)
        if findings:
            listed = "; ".join(f"{column_label(f.column, table.header)}: {f.reason} ({f.evidence})" for f in findings)
            msg = (
                f"{path}: line 1: refused, the file holds direct identifiers: {listed}. Remove these columns "
                "(ctxrisk stores pseudonymous data only); nothing was loaded from this file"
            )
            raise IdentifierError(msg)
    frame = table.frame.rename(columns=mapping)[list(mapping.values())].reset_index(drop=True)
    missing = [c.name for c in kind.columns if c.required and c.name not in frame.columns]
    for point in kind.points:
        if point.header_required and not (
            set(point.wgs84) <= set(frame.columns) or set(point.bng) <= set(frame.columns)
        ):
            missing.append(f"{'/'.join(point.wgs84)} or {'/'.join(point.bng)}")
    if missing:
        msg = (
            f"{path}: line 1: required column(s) missing: {', '.join(missing)}; the header has "
            f"{header_text(table.header)}. Nothing was loaded from this file"
        )
        raise ValidationError(msg)
    collector = RejectCollector(len(frame))
    if pseudonymise_key is not None:
        for column in kind.columns:
            if column.person and column.name in frame.columns:
                # Checked before hashing: the pseudonym of a malformed ID would look valid. The raw value is
                # not kept in the rejected rows either.
                collector.add(
                    _invalid_person_ids(frame[column.name], column.type),
                    column.name,
                    None,
                    "invalid person ID (value not kept: this ingest pseudonymises person IDs)",
                )
                sep = ";" if column.type == "idlist" else None
                frame[column.name] = pseudonymise_series(frame[column.name], pseudonymise_key, separator=sep).astype(
                    "string"
                )
    # Refusals are kept in the order of the checks: the other columns first, then coordinates.
    point_collector = RejectCollector(len(frame))
    values = validate_columns(kind, frame, collector, settings=settings)
    points = {p.prefix: validate_points(p, frame, point_collector) for p in kind.points}
    collector.extend(point_collector)
    key_column = frame[kind.key[0]] if len(kind.key) == 1 and kind.key[0] in frame.columns else None
    keys_distinct = _all_distinct(key_column) if key_column is not None else False
    rows = _shape_rows(kind, frame, values, points, collector, settings)
    if not keys_distinct:  # every key in the file differs: no row can repeat one
        _duplicate_keys(rows, kind.key, ~collector.bad, table.lines, collector)
    good = ~collector.bad
    notes = []
    if extra:
        notes.append(f"ignored column(s) not in the {kind_name} contract: {', '.join(extra)}")
    for prefix, p in points.items():
        unlocated = int((~p["located"][good]).sum())
        if unlocated and prefix == "":
            notes.append(f"{unlocated:,} row(s) have no coordinates: kept as unlocated (counted, never mapped)")
    window = DateWindow.from_settings(settings.plausibility)
    batch = finish_batch(kind_name, kind.table, kind.key, table, rows, collector, notes, window=window)
    if kind.episodes:  # checked on storing, against the file's own episodes and the stored ones
        batch.overlaps = EpisodeOverlaps(timezone=settings.local_timezone)
    return batch
