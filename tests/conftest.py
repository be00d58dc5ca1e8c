"""Shared fixtures: settings, a fresh warehouse, and the real public files in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctxrisk.pipelines.settings import Settings, load_settings


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    """Packaged default settings with the warehouse in a temporary folder."""
    return load_settings(None, warehouse=tmp_path / "w" / "ctxrisk.duckdb")


@pytest.fixture()
def con(settings: Settings):
    """A fresh warehouse connection."""
    from ctxrisk.pipelines.warehouse import connect

    connection = connect(settings=settings)
    yield connection
    connection.close()
