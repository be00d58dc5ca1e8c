"""Retention: remove events older than a cut-off with their involvements, area links and rejected rows."""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.settings import Settings
from ctxrisk.pipelines.warehouse import audit

log = logging.getLogger(__name__)

_DURATION = re.compile(r"(\d+)\s*([dwmy])")
_DURATION_FULL = re.compile(r"^\s*(\d+\s*[dwmy]\s*)+$")

# Dated tables: (table, id column, event_type used in involvements/event_areas or None, SQL time expression).
# Identifiers here are constants, never taken from data or from the command line.
EVENT_TABLES: tuple[tuple[str, str, str | None, str], ...] = (
    ("raw.incidents", "incident_id", "incident", "occurred_at"),
    ("raw.missing_episodes", "episode_id", "missing", "coalesce(ended_at, started_at)"),
    ("raw.intelligence", "intel_id", "intelligence", "reported_at"),
    ("raw.stop_searches", "search_id", "stop_search", "occurred_at"),
)
# Person-level records that carry their own date.
DATED_RECORDS: tuple[tuple[str, str], ...] = (
    ("raw.associations", "observed_at"),
    ("raw.screenings", "screened_at"),
    ("raw.referrals", "referred_at"),
)


@dataclass(frozen=True)
class Duration:
    """A retention period such as ``7y`` or ``18m2w``.

    Attributes
    ----------
    years, months, weeks, days : int
    text : str
        As written.
    """

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    text: str = ""

    def cutoff(self, now: datetime | None = None) -> datetime:
        """Return ``now`` minus this period (calendar years and months; the day is clamped to the month's end).

        Parameters
        ----------
        now : datetime or None
            Time zone aware; default the current UTC time.
        """
        now = now or datetime.now(UTC)
        total_months = now.year * 12 + (now.month - 1) - (self.years * 12 + self.months)
        year, month = divmod(total_months, 12)
        month += 1
        if year < 1:
            msg = f"retention period {self.text!r} reaches before year 1"
            raise ValidationError(msg)
        day = min(now.day, calendar.monthrange(year, month)[1])
        return now.replace(year=year, month=month, day=day) - timedelta(weeks=self.weeks, days=self.days)


def parse_duration(text: str) -> Duration:
    """Parse a retention period: whole numbers with units ``d`` (days), ``w`` (weeks), ``m`` (months), ``y`` (years).

    Parts may be combined (``1y6m``). The period must be at least one day.

    Examples
    --------
    >>> parse_duration("7y").years
    7

    Raises
    ------
    ValidationError
        The text is not of that form, or is zero.
    """
    if not isinstance(text, str) or not _DURATION_FULL.match(text.lower()):
        msg = (
            f"retention period {text!r} is not understood: use a whole number and a unit, d (days), w (weeks), "
            "m (months) or y (years), e.g. 7y, 18m, 6w, 30d or 1y6m"
        )
        raise ValidationError(msg)
    parts = {"d": 0, "w": 0, "m": 0, "y": 0}
    for number, unit in _DURATION.findall(text.lower()):
        parts[unit] += int(number)
    if not any(parts.values()):
        msg = f"retention period {text!r} is zero: it would remove everything; give at least 1d"
        raise ValidationError(msg)
    return Duration(years=parts["y"], months=parts["m"], weeks=parts["w"], days=parts["d"], text=text.strip())


@dataclass
class PurgeResult:
    """What a purge removed (or, with ``dry_run``, would remove).

    Attributes
    ----------
    cutoff : datetime
        Records dated before this UTC time are removed.
    deleted : dict
        ``table -> rows`` removed, including ``raw.involvements``, ``raw.event_areas`` and ``raw.rejected_rows``.
    dry_run : bool
    cleared_marts : dict
        ``mart -> rows`` removed: every derived table in ``marts`` was computed partly from removed records, so
        it is emptied in the same transaction and listed in ``meta.stale_marts`` until it is written again.
    removed_files : list of str
        ``processed/`` copies of source files that held removed records, deleted after the commit.
    """

    cutoff: datetime
    deleted: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    cleared_marts: dict[str, int] = field(default_factory=dict)
    removed_files: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.deleted.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "cutoff": self.cutoff.isoformat(),
            "dry_run": self.dry_run,
            "deleted": dict(self.deleted),
            "total": self.total,
            "cleared_marts": dict(self.cleared_marts),
            "removed_files": list(self.removed_files),
        }


def _table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and "
            "table_name = ? and table_type = 'BASE TABLE'",
            [schema, name],
        ).fetchone()[0]
    )


def _files_with_old_records(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> list[tuple[str, str]]:
    """``(path, sha256)`` of every ingested file that holds a record older than ``cutoff``."""
    selects = [
        f"select file_id from {table} where {when} < ?"
        for table, _id, _type, when in EVENT_TABLES
        if _table_exists(con, table)
    ] + [f"select file_id from {table} where {when} < ?" for table, when in DATED_RECORDS if _table_exists(con, table)]
    if not selects:
        return []
    union = " union ".join(selects)
    return [
        (str(p), str(s))
        for p, s in con.execute(
            f"select distinct path, sha256 from raw.ingest_files where file_id in ({union})",
            [cutoff] * len(selects),
        ).fetchall()
    ]


def _clear_marts(con: duckdb.DuckDBPyConnection, reason: str) -> dict[str, int]:
    """Empty every derived table in ``marts`` and list those that held rows in ``meta.stale_marts``.

    Emptied, not dropped, so the marts declared in ``pipelines/sql/marts`` keep their columns and types; every
    reader treats a mart listed as stale as not built (:func:`ctxrisk.pipelines.warehouse.stale_marts`) and
    says to run its step, where an empty mart would read as "nothing found". Returns ``mart -> rows`` removed.
    """
    names = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "and table_type = 'BASE TABLE' order by 1"
        ).fetchall()
    ]
    cleared = {}
    now = datetime.now(UTC)
    for name in names:
        rows = int(con.execute(f'select count(*) from marts."{name}"').fetchone()[0])
        if not rows:
            continue
        cleared[name] = rows
        con.execute(f'delete from marts."{name}"')
        con.execute("delete from meta.stale_marts where mart = ?", [name])
        con.execute("insert into meta.stale_marts values (?, ?, ?)", [name, now, reason])
    if cleared:
        log.warning(
            "emptied %s derived mart(s) computed partly from purged records: run `ctxrisk run` to rebuild them",
            f"{len(cleared):,}",
        )
    return cleared


def _processed_copies(path: Path, sha256: str) -> list[Path]:
    """The ``processed/`` copies of a dropped file (its name, or the name with ``.1``, ``.2`` …) with its bytes."""
    from ctxrisk.pipelines.quarantine import PROCESSED
    from ctxrisk.pipelines.tabular import file_sha256

    folder = path.parent / PROCESSED
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        if entry.name != path.name and not (
            entry.name.startswith(path.name + ".") and entry.name[len(path.name) + 1 :].isdigit()
        ):
            continue
        if entry.is_symlink() or not entry.is_file():
            continue
        try:
            if file_sha256(entry) == sha256:
                found.append(entry)
        except OSError:
            continue
    return sorted(found)


def _remove_processed_copies(files: list[tuple[str, str]], *, dry_run: bool) -> list[str]:
    """Delete the ``processed/`` copies of files that held purged records; return their paths.

    Files ingested from elsewhere (``ctxrisk ingest FILE``) are the analyst's own and are not touched.
    """
    removed = []
    for path_text, sha256 in files:
        for copy in _processed_copies(Path(path_text), sha256):
            if not dry_run:
                try:
                    copy.unlink()
                except OSError as exc:
                    log.warning("could not remove %s after the purge: %s", copy, exc.strerror or exc)
                    continue
            removed.append(str(copy))
    if removed:
        log.info(
            "%s %s processed source file(s) that held purged records",
            "would remove" if dry_run else "removed",
            f"{len(removed):,}",
        )
    return removed


def purge_older_than(
    con: duckdb.DuckDBPyConnection,
    cutoff: datetime,
    *,
    dry_run: bool = False,
    reason: str | None = None,
) -> PurgeResult:
    """Remove every dated record older than ``cutoff``, with its links, in one transaction, and audit it.

    Removed: incidents (by ``occurred_at``), missing episodes (by ``ended_at``, else ``started_at``), intelligence
    (``reported_at``), stop and searches (``occurred_at``), associations (``observed_at``; undated links are kept),
    screenings and referrals; the involvements and area assignments (``raw.event_areas``) of the removed
    events; and the rejected rows of files ingested before the cut-off. In the same transaction every derived
    table in ``marts`` (hot spots, locations, graph marts …) is emptied and listed in ``meta.stale_marts``
    until it is rebuilt, so no count or person from removed records survives in them; after the commit the
    ``processed/`` copies of source files that held removed records are deleted. Persons, boundaries and the list of
    ingested files (``raw.ingest_files``: names, digests and counts only, so a purged file is not loaded again)
    are kept; a child known only from an SSDA903 return's removed episodes leaves ``staging.persons`` with them.

    Parameters
    ----------
    cutoff : datetime
        Time zone aware.
    dry_run : bool
        Count what would be removed, change nothing (the transaction is rolled back; nothing is audited).
    reason : str or None
        Recorded in the audit trail, e.g. ``"retention 7y"``.

    Returns
    -------
    PurgeResult
    """
    if cutoff.tzinfo is None:
        msg = "the purge cut-off must carry a time zone"
        raise ValidationError(msg)
    result = PurgeResult(cutoff=cutoff, dry_run=dry_run)
    deleted = result.deleted
    con.execute("begin transaction")
    try:
        touched = _files_with_old_records(con, cutoff)
        for table, id_col, event_type, when in EVENT_TABLES:
            if not _table_exists(con, table):
                continue
            old = f"select {id_col} from {table} where {when} < ?"
            if event_type in ("incident", "missing", "intelligence"):
                n = con.execute(
                    f"delete from raw.involvements where event_type = ? and event_id in ({old})", [event_type, cutoff]
                ).fetchone()[0]
                deleted["raw.involvements"] = deleted.get("raw.involvements", 0) + int(n)
            if _table_exists(con, "raw.event_areas"):
                n = con.execute(
                    f"delete from raw.event_areas where event_type = ? and event_id in ({old})", [event_type, cutoff]
                ).fetchone()[0]
                deleted["raw.event_areas"] = deleted.get("raw.event_areas", 0) + int(n)
            n = con.execute(f"delete from {table} where {when} < ?", [cutoff]).fetchone()[0]
            deleted[table] = int(n)
        for table, when in DATED_RECORDS:
            if _table_exists(con, table):
                deleted[table] = int(con.execute(f"delete from {table} where {when} < ?", [cutoff]).fetchone()[0])
        deleted["raw.rejected_rows"] = int(
            con.execute(
                "delete from raw.rejected_rows where file_id in (select file_id from raw.ingest_files "
                "where ingested_at < ?)",
                [cutoff],
            ).fetchone()[0]
        )
        if result.total:
            result.cleared_marts = _clear_marts(con, f"purge of records before {cutoff.isoformat()}")
        if dry_run:
            con.execute("rollback")
        else:
            detail = ", ".join(f"{t} {n:,}" for t, n in deleted.items() if n) or "nothing older"
            if result.cleared_marts:
                detail += f"; {len(result.cleared_marts):,} derived mart(s) removed until the next run"
            audit(
                con,
                "purge",
                target=f"records before {cutoff.isoformat()}",
                detail=(f"{reason}: " if reason else "") + detail,
            )
            con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    result.removed_files = _remove_processed_copies(touched, dry_run=dry_run)
    log.info(
        "%s %s record(s) older than %s",
        "would remove" if dry_run else "removed",
        f"{result.total:,}",
        cutoff.isoformat(),
    )
    return result


def purge(
    settings: Settings,
    older_than: str,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> PurgeResult:
    """Take the run lock, open the warehouse and purge records older than ``older_than`` (e.g. ``"7y"``).

    Parameters
    ----------
    settings : Settings
    older_than : str
        See :func:`parse_duration`.
    dry_run : bool
    now : datetime or None
        The time the period is counted back from; default now (UTC).

    Raises
    ------
    LockError
        A run is using the warehouse.
    ValidationError
        The period is not understood.
    """
    from ctxrisk.pipelines.fsutil import private_umask
    from ctxrisk.pipelines.lock import RunLock, lock_path_for
    from ctxrisk.pipelines.warehouse import connect, require_warehouse

    duration = parse_duration(older_than)
    cutoff = duration.cutoff(now)
    require_warehouse(settings.paths.warehouse)  # before the lock: a mistyped path creates no folder
    private_umask()
    with RunLock(lock_path_for(Path(settings.paths.warehouse)), command="purge"):
        con = connect(settings=settings, create=False)
        try:
            return purge_older_than(con, cutoff, dry_run=dry_run, reason=f"retention {duration.text}")
        finally:
            con.close()
