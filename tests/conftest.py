"""Shared fixtures: settings, a fresh warehouse, and the real public files in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines.settings import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
SAMPLES = REPO_ROOT / "data_samples"


def shared_data_path(*parts: str) -> Path:
    """Path to a real public file in ../shared/data; skip where it is absent, fail under CI."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        reason = f"real public data {path} is not present beside this checkout"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    """Packaged default settings with the warehouse in a temporary folder."""
    return load_settings(None, warehouse=tmp_path / "w" / "ctxrisk.duckdb")


@pytest.fixture()
def con(settings: Settings):
    """A fresh warehouse connection."""
    from pipelines.warehouse import connect

    connection = connect(settings=settings)
    yield connection
    connection.close()
