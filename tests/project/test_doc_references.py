"""Every file and module the README and docs/ name exists: a restructure must carry the documentation along."""

from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: A Python file named in backticks or prose: ``tests/analytics/test_gistar.py``, ``maps/report.py``, ``gistar.py``.
PY_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.py)\b")
#: A module or attribute named with dots, as the docs write them: ``ctxrisk.analytics.protect.survival``.
DOTTED = re.compile(r"`((?:ctxrisk\.)?(?:analytics|pipelines|maps|cli|jobs|synthetic)(?:\.[A-Za-z_]\w*)+)")
SKIP_DIRS = {".venv", ".git", "node_modules", "__pycache__"}


def _repo_py_names() -> set[str]:
    names = set()
    for path in REPO.rglob("*.py"):
        if not SKIP_DIRS & set(path.relative_to(REPO).parts):
            names.add(path.name)
    return names


def _named(pattern: re.Pattern[str]) -> list[tuple[str, int, str]]:
    found = []
    for doc in DOCS:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
            found += [(doc.relative_to(REPO).as_posix(), number, m.group(1)) for m in pattern.finditer(line)]
    return found


def test_the_docs_name_python_files():
    named = {name for _, _, name in _named(PY_PATH)}
    assert {"tests/project/test_layout.py", "ctxrisk/jobs/map_steps.py"} <= named  # the pattern finds paths


def test_every_python_path_in_the_readme_and_docs_exists():
    """A path with a folder must exist from the repository root; a bare file name somewhere in the repository."""
    everywhere = _repo_py_names()
    missing = [
        f"{doc}:{line}: {name}"
        for doc, line, name in _named(PY_PATH)
        if not ((REPO / name).is_file() if "/" in name else name in everywhere)
    ]
    assert not missing, "paths named in the docs that do not exist:\n" + "\n".join(missing)


def test_every_test_path_in_the_readme_and_docs_is_under_the_mirrored_layout():
    tests = [(doc, line, name) for doc, line, name in _named(PY_PATH) if name.startswith("tests/")]
    assert tests, "the docs name test files"
    flat = [f"{doc}:{line}: {name}" for doc, line, name in tests if name.count("/") < 2 and "conftest" not in name]
    assert not flat, "tests live in tests/<package>/...; old flat paths:\n" + "\n".join(flat)


@pytest.mark.parametrize(("doc", "line", "name"), _named(DOTTED))
def test_every_dotted_module_in_the_docs_resolves(doc, line, name):
    full = name if name.startswith("ctxrisk.") else f"ctxrisk.{name}"
    try:
        pkgutil.resolve_name(full)
    except (ImportError, AttributeError, ValueError) as exc:
        pytest.fail(f"{doc}:{line}: {name} does not resolve ({exc})")
