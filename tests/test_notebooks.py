"""The notebooks run as shipped: each is executed afresh in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import HANG_GUARD

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_and_draws(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    # Runs in tmp_path, so figures the notebook saves do not overwrite committed ones.
    nbclient.NotebookClient(
        notebook,
        timeout=HANG_GUARD,
        kernel_name="python3",
        resources={"metadata": {"path": tmp_path}},
    ).execute()  # raises CellExecutionError on any failing cell
    images = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert images, f"{path.name} drew no figure"
