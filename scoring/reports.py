"""Analyst notebooks: find them, execute them, and write them as HTML reports.

The notebooks live in ``notebooks/`` as jupytext ``py:percent`` files (text under version
control; JupyterLab opens them as notebooks). :func:`build_reports` executes each one in a
fresh kernel (nbclient) with ``SCORING_CONFIG`` set to the configuration in use, and writes
``<paths.reports>/<name>.html`` with its plots (nbconvert's lab template):

- plotly figures are stored by the kernel as JSON (``PLOTLY_RENDERER=plotly_mimetype``);
  the report turns them into HTML with plotly.js embedded once, so a report opens offline;
- a report is written to a temporary name and renamed when complete: a failed or
  interrupted run never leaves a half-written report, and the error names the notebook,
  the cell and the exception.

Needs the ``notebooks`` extra (jupytext, nbclient, nbconvert, ipykernel); importing this
module does not.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoring.config import PROJECT_ROOT, WorkbenchConfig, environment
from scoring.exceptions import InputFileError, MissingExtraError, WorkbenchError
from scoring.storage import write_text

__all__ = [
    "NOTEBOOKS_DIR",
    "NotebookFailed",
    "ReportResult",
    "build_reports",
    "execute_notebook",
    "find_notebooks",
    "notebook_html",
    "read_notebook",
]

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
"""The analyst notebooks of the project (``NN_name.py``, jupytext ``py:percent``)."""

_PLOTLY_MIME = "application/vnd.plotly.v1+json"
_PATTERN = "[0-9][0-9]_*.py"


class NotebookFailed(WorkbenchError, RuntimeError):
    """A notebook raised while it was executed (the message names notebook and cell)."""


@dataclass(frozen=True, slots=True)
class ReportResult:
    """One executed notebook: its source, its report and how long it ran."""

    notebook: Path
    report: Path
    seconds: float
    cells: int
    figures: int


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"'{module}' must be installed to run the notebooks; got {exc.name or exc}: "
            "install the extra with `uv sync --extra notebooks`."
        ) from None


def find_notebooks(folder: Path | None = None, *, only: Sequence[str] = ()) -> list[Path]:
    """The notebooks of ``folder`` (default ``notebooks/``) in their numbered order.

    ``only``: keep notebooks whose name starts with one of these (``"02"``,
    ``"04_pilot"``).

    Raises
    ------
    InputFileError
        When the folder holds no notebook, or ``only`` matches none.

    Examples
    --------
    >>> [p.name[:2] for p in find_notebooks()]
    ['01', '02', '03', '04', '05']
    >>> [p.name for p in find_notebooks(only=["04"])]
    ['04_pilot_evaluation.py']
    >>> find_notebooks(only=["99"])
    Traceback (most recent call last):
    ...
    scoring.exceptions.InputFileError: 'only' must name notebooks of ...; got ['99'].
    """
    root = (folder or NOTEBOOKS_DIR).resolve()
    found = sorted(root.glob(_PATTERN))
    if not found:
        raise InputFileError(
            f"'notebooks' must be a folder of NN_name.py notebooks; got {str(root)!r}."
        )
    if only:
        found = [p for p in found if any(p.name.startswith(o) for o in only)]
        if not found:
            raise InputFileError(f"'only' must name notebooks of {str(root)!r}; got {list(only)}.")
    return found


def read_notebook(path: Path) -> Any:
    """A ``py:percent`` file as an ``nbformat`` notebook (with the python3 kernel).

    Examples
    --------
    >>> nb = read_notebook(find_notebooks(only=["01"])[0])
    >>> nb.cells[0].cell_type, nb.metadata["kernelspec"]["name"]
    ('markdown', 'python3')
    """
    jupytext = _require("jupytext")
    try:
        nb = jupytext.read(path, fmt="py:percent")
    except OSError as exc:
        raise InputFileError(f"'notebook' must be readable; got {str(path)!r} ({exc}).") from None
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def execute_notebook(
    path: Path, config: WorkbenchConfig, *, timeout: float = 900.0, kernel_name: str = "python3"
) -> Any:
    """Execute a notebook in a fresh kernel with ``config``; return the executed notebook.

    The kernel runs in the notebook's folder with ``SCORING_CONFIG`` set to
    ``config.source`` and ``SCORING_PROGRESS=0`` (no progress bars in reports).

    Raises
    ------
    NotebookFailed
        When a cell raises or times out: the message names the notebook, the cell (its
        number and first line) and the error.
    """
    nbclient = _require("nbclient")
    nb = read_notebook(path)
    client = nbclient.NotebookClient(
        nb,
        timeout=int(timeout),
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(path.parent)}},
    )
    env = {
        "SCORING_CONFIG": str(config.source.resolve()),
        "SCORING_PROGRESS": "0",
        "PLOTLY_RENDERER": "plotly_mimetype",
        "MPLBACKEND": "Agg",
    }
    with environment(env):
        try:
            client.execute()
        except (nbclient.exceptions.CellExecutionError, nbclient.exceptions.CellTimeoutError):
            cell = _failed_cell(nb)
            raise NotebookFailed(_failure_text(path, nb, cell)) from None
    return nb


def _failed_cell(nb: Any) -> int | None:
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return i
    # a timeout leaves no error output: the last cell that started
    started = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("outputs")]
    return started[-1] if started else None


def _failure_text(path: Path, nb: Any, index: int | None) -> str:
    if index is None:
        return f"notebook {path.name} failed before its first cell ran (kernel or timeout)."
    cell = nb.cells[index]
    first = next((ln for ln in cell.source.splitlines() if ln.strip()), "").strip()
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    what = f"{errors[0]['ename']}: {errors[0]['evalue']}" if errors else "timed out"
    return f"notebook {path.name}, cell {index + 1} ({first[:60]!r}): {what}"


def _plotly_to_html(nb: Any) -> int:
    """Replace plotly JSON outputs by HTML (plotly.js inline once); return their count."""
    from scoring.plots import bundle_html

    count = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if _PLOTLY_MIME not in data:
                continue
            data["text/html"] = bundle_html(data.pop(_PLOTLY_MIME), include_plotlyjs=count == 0)
            data.pop("text/plain", None)
            count += 1
    return count


def notebook_html(nb: Any, *, title: str) -> tuple[str, int]:
    """An executed notebook as one self-contained HTML page; also its figure count."""
    nbconvert = _require("nbconvert")
    figures = _plotly_to_html(nb)
    exporter = nbconvert.HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return str(body), figures


def build_reports(
    config: WorkbenchConfig,
    *,
    only: Sequence[str] = (),
    folder: Path | None = None,
    out: Path | None = None,
    timeout: float = 900.0,
) -> list[ReportResult]:
    """Execute the notebooks and write one HTML report each into ``paths.reports``.

    Stops at the first notebook that fails (:class:`NotebookFailed`); the reports
    written before it are complete, the failed one is not written.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> build_reports(load_config(), only=["99"])
    Traceback (most recent call last):
    ...
    scoring.exceptions.InputFileError: 'only' must name notebooks of ...; got ['99'].
    """
    notebooks = find_notebooks(folder, only=only)
    target = out if out is not None else config.paths.reports
    target.mkdir(parents=True, exist_ok=True)
    results = []
    for path in notebooks:
        t0 = time.perf_counter()
        nb = execute_notebook(path, config, timeout=timeout)
        page, figures = notebook_html(nb, title=path.stem)
        report = target / f"{path.stem}.html"
        write_text(page, report)
        results.append(
            ReportResult(
                notebook=path,
                report=report,
                seconds=time.perf_counter() - t0,
                cells=len(nb.cells),
                figures=figures,
            )
        )
    return results
