"""Drop folders: list the files waiting in them, and move each to ``processed/`` or ``quarantine/`` with its reason."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from ctxrisk.pipelines.fsutil import atomic_write_text, move_private, secure_mkdir

log = logging.getLogger(__name__)

PROCESSED = "processed"
QUARANTINE = "quarantine"
REASON_SUFFIX = ".reason.txt"
# Files still being copied in, editor backups and the like are left alone until they are renamed.
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".swp", "~")
# A shapefile's companions travel with its .shp file and are not read on their own.
SHAPEFILE_COMPANIONS = (".dbf", ".shx", ".prj", ".cpg", ".sbn", ".sbx", ".qix", ".fix", ".shp.xml")


def _companions(path: Path) -> list[Path]:
    if path.suffix.lower() != ".shp":
        return []
    stem = path.name[: -len(path.suffix)]
    return sorted(
        p
        for p in path.parent.iterdir()
        if p.is_file() and p != path and p.name.lower() in {stem.lower() + s for s in SHAPEFILE_COMPANIONS}
    )


def pending_files(folder: str | Path) -> list[Path]:
    """Return the files waiting in a drop folder, oldest first (then by name).

    Hidden files (``.name``), partly copied files (``.part``, ``.tmp``, ``.crdownload`` …), the
    ``processed/`` and ``quarantine/`` sub-folders and shapefile companions (``.dbf``, ``.shx``, ``.prj`` …,
    which move with their ``.shp``) are not listed. A missing folder has no files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    shp_stems = {p.name[:-4].lower() for p in folder.iterdir() if p.suffix.lower() == ".shp"}
    out: list[Path] = []
    for entry in folder.iterdir():
        name = entry.name.lower()
        if not entry.is_file() or name.startswith(".") or name.endswith(PARTIAL_SUFFIXES):
            continue
        if name.endswith(REASON_SUFFIX):
            continue
        if any(name.endswith(s) and name[: -len(s)] in shp_stems for s in SHAPEFILE_COMPANIONS):
            continue
        out.append(entry)
    return sorted(out, key=lambda p: (p.stat().st_mtime_ns, p.name))


def mark_processed(path: str | Path) -> Path:
    """Move an ingested file (and any shapefile companions) into ``processed/`` beside it; return its new path."""
    path = Path(path)
    companions = _companions(path)
    target = move_private(path, path.parent / PROCESSED)
    for extra in companions:
        move_private(extra, target.parent, name=extra.name + target.name[len(path.name) :])
    log.info("moved %s to %s", path.name, target.parent)
    return target


def quarantine(path: str | Path, reason: str, *, run_id: str | None = None) -> Path:
    """Move a file that could not be ingested into ``quarantine/`` with ``<name>.reason.txt`` beside it.

    The reason file is written first, so a run killed half-way leaves either the file still waiting (it is
    tried again) or the file and its reason together.

    Returns
    -------
    Path
        Where the file now is.
    """
    path = Path(path)
    folder = secure_mkdir(path.parent / QUARANTINE)
    companions = _companions(path)
    name = path.name
    counter = 0
    while (folder / name).exists():
        counter += 1
        name = f"{path.name}.{counter}"
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    text = f"file: {path.name}\nquarantined_at: {stamp}\nrun: {run_id or '-'}\nreason: {reason}\n"
    atomic_write_text(folder / (name + REASON_SUFFIX), text)
    target = move_private(path, folder, name=name)
    for extra in companions:
        move_private(extra, folder, name=extra.name + target.name[len(path.name) :])
    log.info("quarantined %s in %s", path.name, folder)
    return target
