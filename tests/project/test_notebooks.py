"""The analyst notebooks in notebooks/: committed without outputs, and each runs top to bottom on data_samples/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = (
    "01_analyst_walkthrough.ipynb",
    "02_locations_of_concern.ipynb",
    "03_association_graph.ipynb",
    "04_missing_and_mace.ipynb",
)


def _kernel_name() -> str:
    """The ``python3`` kernel of this interpreter (ipykernel's own spec; ``python`` in it is this interpreter)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:  # pragma: no cover - ipykernel ships the native spec
        pytest.fail("no python3 kernel: run `python -m ipykernel install --sys-prefix --name python3`")
    return "python3"


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name):
    book = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    code = [c for c in book["cells"] if c["cell_type"] == "code"]
    assert code, f"{name} has no code cells"
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code), f"{name} is committed with outputs"


@pytest.mark.parametrize("name", NAMES)
def test_imports_the_packages_and_defines_no_functions(name):
    book = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    source = "\n".join("".join(c["source"]) for c in book["cells"] if c["cell_type"] == "code")
    assert "from ctxrisk.pipelines." in source and "from ctxrisk.analytics." in source
    assert "def " not in source and "class " not in source  # logic lives in the packages, not here


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_runs_top_to_bottom(name, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        book, timeout=300, kernel_name=_kernel_name(), resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [
        o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert errors == []
    assert all(c.execution_count for c in book.cells if c.cell_type == "code")
