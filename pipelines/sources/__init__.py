"""Readers for real public formats (data.police.uk, DfE SSDA903, Ofsted Annex A, ONS boundaries)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ctxrisk.pipelines.batch import Batch
from ctxrisk.pipelines.settings import Settings


@dataclass(frozen=True)
class SourceKind:
    """An ingest kind for a public format.

    Attributes
    ----------
    read : callable
        ``read(path, *, settings, options) -> Batch``: parse and validate one file (no warehouse access).
    after_load : callable or None
        ``after_load(con, *, settings) -> None``: run inside the load's transaction after the rows are stored
        (e.g. assign events to areas, join outcomes to crimes).
    located : bool
        The format's rows carry coordinates that are converted with PROJ (police.uk), so PROJ is set up in the
        background as soon as a file of it arrives.
    """

    read: Callable[..., Batch]
    after_load: Callable[..., None] | None = None
    located: bool = False


SOURCE_KINDS: dict[str, SourceKind] = {}


def register(
    name: str, read: Callable[..., Batch], after_load: Callable[..., Any] | None = None, *, located: bool = False
) -> None:
    """Add a public-format ingest kind."""
    SOURCE_KINDS[name] = SourceKind(read, after_load, located)


def located(name: str) -> bool:
    """True when the format's rows carry coordinates converted with PROJ."""
    return SOURCE_KINDS[name].located


def read_source(name: str, path: Path, *, settings: Settings, options: dict[str, Any]) -> Batch:
    """Parse one file of a public format into a Batch."""
    return SOURCE_KINDS[name].read(path, settings=settings, options=options)


def after_load(name: str, con: duckdb.DuckDBPyConnection, *, settings: Settings) -> None:
    """Run a kind's post-load step, if it has one."""
    hook = SOURCE_KINDS[name].after_load
    if hook is not None:
        hook(con, settings=settings)


# Register the public formats (each module calls register() on import).
from ctxrisk.pipelines.sources import annex_a, boundaries, police_uk, ssda903  # noqa: E402,F401
