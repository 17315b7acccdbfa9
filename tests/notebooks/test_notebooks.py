"""Every notebook executes headless, and is committed without outputs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from helpers import executed_notebook, has_output

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path: Path) -> None:
    outputs, _home = executed_notebook(path.name)
    assert not [o for o in outputs if o.output_type == "error"]
    assert has_output(outputs, "application/vnd.jupyter.widget-view+json"), (
        "the notebook shows no widget")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_committed_without_outputs(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert all("id" in cell for cell in raw["cells"]), "every cell needs an id (nbformat 4.5)"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_notebooks_exist() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert {"01_clinician_assessment.ipynb", "02_dose_calculator.ipynb"} <= names
