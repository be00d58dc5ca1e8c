"""The package layout: one import namespace, and imports that flow one way between the layers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: Each layer may import only from the layers listed after it (README "Architecture").
LAYERS = ["ctxrisk.cli", "ctxrisk.jobs", "ctxrisk.maps", "ctxrisk.analytics", "ctxrisk.pipelines"]
FOLDERS = {
    "ctxrisk.cli": REPO / "ctxrisk" / "cli",
    "ctxrisk.jobs": REPO / "ctxrisk" / "jobs",
    "ctxrisk.maps": REPO / "maps",
    "ctxrisk.analytics": REPO / "analytics",
    "ctxrisk.pipelines": REPO / "pipelines",
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_installed_as_one_namespace(tmp_path):
    code = (
        "import importlib.util, ctxrisk, ctxrisk.pipelines, ctxrisk.analytics, ctxrisk.maps\n"
        "print([importlib.util.find_spec(n) is None for n in ('pipelines', 'analytics', 'maps')])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[True, True, True]"


@pytest.mark.parametrize("layer", LAYERS)
def test_imports_flow_down_only(layer):
    above = LAYERS[: LAYERS.index(layer)]
    wrong = []
    for path in sorted(FOLDERS[layer].rglob("*.py")):
        for name in _imports(path):
            if name.split(".")[0] in {"pipelines", "analytics", "maps"}:
                wrong.append(f"{path.relative_to(REPO)} imports {name} (not through ctxrisk)")
            if any(name == up or name.startswith(up + ".") for up in above):
                wrong.append(f"{path.relative_to(REPO)} imports {name} from a layer above")
    assert not wrong, "\n".join(wrong)


def test_no_dynamic_imports():
    offenders = [
        str(p.relative_to(REPO))
        for folder in FOLDERS.values()
        for p in folder.rglob("*.py")
        if "import_module(" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
