"""The dashboard notebooks as committed: no outputs, no code of their own, no paths."""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from scoring.panels import DASHBOARDS
from scoring.serve import DASHBOARDS_DIR, LANDING_PAGE

NOTEBOOKS = sorted(DASHBOARDS_DIR.glob("*.ipynb"))


def test_the_landing_page_and_every_listed_dashboard_exist() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert names == {LANDING_PAGE, *(d[0] for d in DASHBOARDS)}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: object) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.metadata.get("title")  # the browser tab: Chinese first, English alongside
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
            assert cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_only_call_the_package(path: object) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            assert not isinstance(
                node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
            ), f"{path}: define it in scoring/, not in a cell"
            if isinstance(node, ast.Import | ast.ImportFrom):
                mods = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                assert all(m.split(".")[0] == "scoring" for m in mods), mods
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not re.search(r"(^/|\.parquet|data/|\.toml)", node.value), node.value
