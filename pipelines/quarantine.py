"""Drop folders: list the files waiting in them, and move each to ``processed/`` or ``quarantine/`` with its reason."""

from __future__ import annotations

import logging
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.fsutil import atomic_write_text, is_link, move_private, printable, secure_mkdir

log = logging.getLogger(__name__)

PROCESSED = "processed"
QUARANTINE = "quarantine"
REASON_SUFFIX = ".reason.txt"
# Files still being copied in, editor backups and the like are left alone until they are renamed.
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".swp", "~")
# A shapefile's companions travel with its .shp file and are not read on their own.
SHAPEFILE_COMPANIONS = (".dbf", ".shx", ".prj", ".cpg", ".sbn", ".sbx", ".qix", ".fix", ".shp.xml")


#: Why a symbolic link in a drop folder is set aside; it quotes nothing from the link or its target.
LINK_REASON = (
    "a symbolic link: ctxrisk never follows links in a drop folder (its target was not read, changed or "
    "moved); copy the file itself into the folder"
)


def _subfolder(folder: Path, name: str) -> Path:
    """``folder / name`` (``processed`` or ``quarantine``), refused when it is a symbolic link or not a folder.

    Raises
    ------
    ValidationError
        Someone made the sub-folder a link (files would be moved wherever it points) or a file.
    """
    target = folder / name
    if is_link(target):
        msg = f"{target} is a symbolic link: ctxrisk does not move files through it; remove the link"
        raise ValidationError(msg)
    if target.exists() and not target.is_dir():
        msg = f"{target} is not a folder: remove or rename it so ctxrisk can create the folder"
        raise ValidationError(msg)
    return target


def _regular(path: Path) -> bool:
    """True when ``path`` is a regular file itself (a symbolic link to one is not)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _companions(path: Path) -> list[Path]:
    if path.suffix.lower() != ".shp":
        return []
    stem = path.name[: -len(path.suffix)]
    return sorted(
        p
        for p in path.parent.iterdir()
        if _regular(p) and p != path and p.name.lower() in {stem.lower() + s for s in SHAPEFILE_COMPANIONS}
    )


def _waiting(folder: Path) -> list[os.DirEntry]:
    """The folder's entries that may be waiting files (names and suffixes filtered, nothing followed)."""
    with os.scandir(folder) as entries:
        listed = list(entries)
    shp_stems = {e.name[:-4].lower() for e in listed if e.name.lower().endswith(".shp")}
    out = []
    for entry in listed:
        name = entry.name.lower()
        if name.startswith(".") or name.endswith(PARTIAL_SUFFIXES) or name.endswith(REASON_SUFFIX):
            continue
        if entry.name in (PROCESSED, QUARANTINE) and entry.is_dir(follow_symlinks=False):
            continue
        if any(name.endswith(s) and name[: -len(s)] in shp_stems for s in SHAPEFILE_COMPANIONS):
            continue
        out.append(entry)
    return out


def waiting_links(folder: str | Path) -> list[Path]:
    """Return the symbolic links waiting in a drop folder (never followed; see :func:`set_aside_links`)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(Path(e.path) for e in _waiting(folder) if e.is_symlink())


def set_aside_links(folder: str | Path, *, run_id: str | None = None) -> list[tuple[Path, Path, str]]:
    """Move every symbolic link waiting in a drop folder to ``quarantine/`` (the link itself, never its target).

    Returns
    -------
    list of (Path, Path, str)
        Where each link was, where it now is, and the reason (:data:`LINK_REASON`, which quotes nothing from
        the link).
    """
    out = []
    for link in waiting_links(folder):
        out.append((link, quarantine(link, LINK_REASON, run_id=run_id), LINK_REASON))
    return out


def pending_files(folder: str | Path) -> list[Path]:
    """Return the files waiting in a drop folder, oldest first (then by name).

    Hidden files (``.name``), partly copied files (``.part``, ``.tmp``, ``.crdownload`` …), the
    ``processed/`` and ``quarantine/`` sub-folders and shapefile companions (``.dbf``, ``.shx``, ``.prj`` …,
    which move with their ``.shp``) are not listed. Nor are symbolic links, which are never followed: see
    :func:`set_aside_links`. A missing folder has no files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    files = [(e.stat(follow_symlinks=False).st_mtime_ns, e.name) for e in _waiting(folder) if _is_file(e)]
    return [folder / name for _mtime, name in sorted(files)]


def _is_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def mark_processed(path: str | Path) -> Path:
    """Move an ingested file (and any shapefile companions) into ``processed/`` beside it; return its new path."""
    path = Path(path)
    companions = _companions(path)
    target = move_private(path, _subfolder(path.parent, PROCESSED))
    for extra in companions:
        move_private(extra, target.parent, name=extra.name + target.name[len(path.name) :])
    log.info("moved %s to %s", printable(path.name), target.parent)
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
    folder = secure_mkdir(_subfolder(path.parent, QUARANTINE))
    companions = _companions(path)
    name = path.name
    counter = 0
    while (folder / name).exists():
        counter += 1
        name = f"{path.name}.{counter}"
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    text = f"file: {printable(path.name)}\nquarantined_at: {stamp}\nrun: {run_id or '-'}\nreason: {printable(reason)}\n"
    atomic_write_text(folder / (name + REASON_SUFFIX), text)
    target = move_private(path, folder, name=name)
    for extra in companions:
        move_private(extra, folder, name=extra.name + target.name[len(path.name) :])
    log.info("quarantined %s in %s%s", printable(path.name), folder, " (a symbolic link)" if is_link(target) else "")
    return target
