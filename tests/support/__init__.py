"""Test helpers shared across the suite: a headless browser, tiny warehouses and the real public files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
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
