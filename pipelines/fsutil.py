"""Owner-only files and folders, written atomically: a temporary file in the same folder, then a rename."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ctxrisk.pipelines.errors import ValidationError

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
PRIVATE_UMASK = 0o077


def private_umask() -> int:
    """Make every file this process creates from now on owner-only; return the previous umask.

    The umask is process-wide: DuckDB's write-ahead log, spill folder and every output inherit it, which a
    ``chmod`` after the fact cannot guarantee (the file would be readable by others for a moment). Bits
    already masked stay masked, so a stricter umask is kept.
    """
    previous = os.umask(PRIVATE_UMASK)
    os.umask(previous | PRIVATE_UMASK)
    return previous


def secure_mkdir(path: str | Path) -> Path:
    """Create ``path`` (and missing parents) as owner-only folders (0700); return it.

    Folders that already exist keep their mode: ctxrisk never loosens or silently changes a folder an
    administrator set up.
    """
    path = Path(path)
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=DIR_MODE)
        os.chmod(folder, DIR_MODE)
    return path


def ensure_folder(path: str | Path) -> Path:
    """Create ``path`` owner-only like :func:`secure_mkdir`, or raise a clear error when it cannot be a folder.

    Raises
    ------
    ValidationError
        ``path`` or one of its parents is a file (or cannot be created); the message names it.
    """
    path = Path(path)
    for probe in (path, *path.parents):
        if probe.exists() and not probe.is_dir():
            msg = f"cannot write under {path}: {probe} is a file, not a folder; choose another output path"
            raise ValidationError(msg)
    try:
        return secure_mkdir(path)
    except OSError as exc:
        msg = f"cannot create the folder {path}: {exc.strerror or exc}"
        raise ValidationError(msg) from exc


def prepare_output_file(path: str | Path) -> Path:
    """Check that ``path`` can be written as a file and create its folder (0700); return it.

    Raises
    ------
    ValidationError
        ``path`` is a folder (give a file name) or lies under a file.
    """
    path = Path(path)
    if path.is_dir():
        msg = f"cannot write {path}: it is a folder; give a file name, e.g. {path / 'output.html'}"
        raise ValidationError(msg)
    ensure_folder(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, mode: int = FILE_MODE) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is made ``mode`` and renamed over ``path``.

    For writers that want a file name (``folium.Map.save``, ``DataFrame.to_parquet`` …). If the block raises
    or the process dies, ``path`` keeps its previous content (or stays absent) and the temporary file
    (named ``.<name>.<random>.tmp``) is removed when possible.

    Parameters
    ----------
    path : str or Path
        The final file. Its folder is created owner-only (0700) when missing.
    mode : int
        Permission bits of the final file; default 0600 (owner read/write only).
    """
    path = prepare_output_file(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, mode)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def remove_stale_temps(folder: str | Path) -> int:
    """Remove temporary files left under ``folder`` by :func:`atomic_path` when a writer was killed; return how many.

    Only call while no writer is active (the run lock is held). Files named ``.<name>.<8 characters>.tmp``
    are removed; nothing else is touched.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    removed = 0
    for entry in folder.rglob(".*.tmp"):
        parts = entry.name.split(".")
        if entry.is_file() and len(parts) >= 4 and len(parts[-2]) == 8:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed += 1
    if removed:
        log.warning("removed %s unfinished temporary output file(s) under %s", f"{removed:,}", folder)
    return removed


def atomic_write_bytes(path: str | Path, data: bytes, *, mode: int = FILE_MODE) -> Path:
    """Write ``data`` to ``path`` atomically with owner-only permissions (0600 unless ``mode`` says).

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    with atomic_path(path, mode=mode) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
    log.debug("wrote %s (%s bytes)", path, f"{len(data):,}")
    return path


def atomic_write_text(path: str | Path, text: str, *, mode: int = FILE_MODE, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically with owner-only permissions; see :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode(encoding), mode=mode)


def printable(text: str) -> str:
    """Return ``text`` with control characters (newlines, tabs, escapes …) written as ``\\n``, ``\\x1b`` ….

    For file names and other outside text put into a log line, a reason file or the terminal: a newline in a
    file name must not forge a log line, nor an escape sequence drive the terminal.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def is_link(path: str | Path) -> bool:
    """True when ``path`` itself is a symbolic link (never followed)."""
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def _make_private(path: Path) -> None:
    """Make a moved file 0600, through a handle that does not follow links, and only when this user owns it.

    ctxrisk never changes the mode of a file it does not own: a hard link to someone else's file dropped in a
    folder keeps its mode (and the chmod would fail anyway, or worse succeed as root).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return
    try:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid() and info.st_nlink == 1:
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def move_private(source: str | Path, folder: str | Path, *, name: str | None = None) -> Path:
    """Move a file into ``folder`` (created 0700) and make it 0600, never overwriting: a clash gets ``.1``, ``.2`` …

    A symbolic link is moved as the link itself (its target is neither read nor changed); a file this user
    does not own keeps its mode.

    Returns
    -------
    Path
        Where the file now is.
    """
    source = Path(source)
    folder = secure_mkdir(folder)
    base = name or source.name
    target = folder / base
    counter = 0
    while True:
        try:
            # link + unlink: atomic and fails rather than replacing an existing file. A link is linked as itself.
            os.link(source, target, follow_symlinks=False)
        except FileExistsError:
            counter += 1
            target = folder / f"{base}.{counter}"
            continue
        except OSError:
            if target.exists():
                counter += 1
                target = folder / f"{base}.{counter}"
                continue
            os.replace(source, target)  # file systems without hard links
            _make_private(target)
            return target
        source.unlink()
        _make_private(target)
        return target
