"""The analyst notebooks: thin by convention, and every one executes on generated data.

The slow test generates a small province (scale 0.1), runs the pipeline up to the lists
with the CLI, and executes all five notebooks with ``scoring reports`` in a fresh kernel
each, against a temporary MLflow store: notebooks 02 and 03 log, register and promote
real models there, 04 reads the champions back.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import jupytext
import polars as pl
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from scoring.cli import cli
from scoring.config import load_config
from scoring.lifecycle import CHAMPION, registered_model_name
from scoring.reports import (
    NOTEBOOKS_DIR,
    NotebookFailed,
    build_reports,
    find_notebooks,
    read_notebook,
)
from scoring.serve import free_port
from scoring.tracking import mlflow_quiet

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = find_notebooks()
HAN = re.compile(r"[\u4e00-\u9fff]")


# ----------------------------------------------------------------------------- conventions


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_thin_and_bilingual(path: Path) -> None:
    nb = read_notebook(path)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    tree = ast.parse(code)
    defined = [
        type(n).__name__
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda)
    ]
    assert defined == [], f"{path.name} defines {defined}: put them in scoring/"
    imported = {
        (n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
    } | {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported <= {"scoring", "polars", "json"}, f"{path.name} imports {imported}"
    # paths come from the configuration, never typed in
    assert not re.search(r"""["'](data|mlruns|exports|reports)/""", code), path.name
    assert "load_config()" in code
    headings = [
        line
        for c in nb.cells
        if c.cell_type == "markdown"
        for line in c.source.splitlines()
        if line.startswith("#")
    ]
    assert len(headings) >= 3, path.name
    for heading in headings:
        assert HAN.search(heading), heading
        assert re.search(r"[A-Za-z]{3}", heading), heading


def test_notebooks_are_jupytext_percent_files() -> None:
    for path in NOTEBOOKS:
        text = path.read_text(encoding="utf-8")
        assert "format_name: percent" in text, path.name
        # the cells survive a round trip through jupytext (what JupyterLab saves back)
        nb = jupytext.reads(text, fmt="py:percent")
        again = jupytext.reads(jupytext.writes(nb, fmt="py:percent"), fmt="py:percent")
        assert [(c.cell_type, c.source) for c in again.cells] == [
            (c.cell_type, c.source) for c in nb.cells
        ], path.name
        assert sum(c.cell_type == "markdown" for c in nb.cells) >= 4, path.name


def test_a_failing_notebook_names_its_cell_and_writes_no_report(
    project_config: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "nbs"
    folder.mkdir()
    (folder / "01_fine.py").write_text("# %% [markdown]\n# # 好 · Fine\n\n# %%\nx = 1\n")
    (folder / "02_broken.py").write_text(
        "# %%\nimport polars as pl\n\n# %%\npl.read_parquet('nowhere.parquet')\n"
    )
    out = tmp_path / "out"
    with pytest.raises(NotebookFailed, match=r"02_broken.py, cell 2 .*FileNotFoundError"):
        build_reports(load_config(project_config), folder=folder, out=out, timeout=120)
    assert sorted(p.name for p in out.iterdir()) == ["01_fine.html"]


def test_reports_command_refuses_unknown_notebooks(project_config: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(project_config), "reports", "--only", "99"])
    assert result.exit_code == 2
    assert "'only' must name notebooks" in result.output


# ----------------------------------------------------------------------------- execution


@pytest.fixture(scope="module")
def small_province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Scale 0.1 province through the lists, with an empty store of its own."""
    root = tmp_path_factory.mktemp("notebook-province")
    (root / "configs").mkdir()
    config = root / "configs" / "workbench.toml"
    shutil.copy(PROJECT_ROOT / "configs" / "workbench.toml", config)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        for args in (
            ["generate", "--scale", "0.1", "--seed", "11"],
            ["validate", "--quarantine"],
            ["rate", "tax"],
            ["collect"],
            ["rate", "rural"],
            ["lists"],
        ):
            result = CliRunner().invoke(cli, ["--config", str(config), *args])
            assert result.exit_code == 0, result.output
        yield config


@pytest.mark.slow
def test_every_notebook_executes_and_writes_its_report(small_province: Path) -> None:
    cfg = load_config(small_province)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        result = CliRunner().invoke(cli, ["--config", str(small_province), "reports"])
    assert result.exit_code == 0, result.output
    pages = {p.stem: p.read_text(encoding="utf-8") for p in cfg.paths.reports.glob("*.html")}
    assert sorted(pages) == [p.stem for p in NOTEBOOKS]
    assert not list(cfg.paths.reports.glob(".*.tmp"))
    for name, page in pages.items():
        # no cell wrote to stderr (a warning would show as a red box in the report)
        assert 'data-mime-type="application/vnd.jupyter.stderr"' not in page, name
        # charts are rendered with plotly.js embedded once per page (opens offline)
        assert page.count("Plotly.newPlot") >= 1, name
        assert page.count("plotly.js v") == 1, name
    assert "数据校验发现 · Validation findings" in pages["01_data_overview"]
    assert "KS 曲线 · KS (out of time)" in pages["02_sme_model"]
    assert "信用村与信用镇" in pages["03_household_model"]
    assert "安慰剂检验" in pages["04_pilot_evaluation"]
    assert "红名单与黑名单" in pages["05_tax_and_lists"]

    # 02 and 03 logged, registered and promoted real models in the temporary store
    with pytest.MonkeyPatch.context() as mp, mlflow_quiet():
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        from scoring.tracking import connect

        connect(cfg)
        client = MlflowClient()
        for segment in ("sme", "household"):
            model = client.get_registered_model(registered_model_name(segment))
            assert CHAMPION in model.aliases, segment
            versions = client.search_model_versions(f"name = '{model.name}'")
            assert len(versions) == 2, segment

    # no resident id number or name of a household head reaches a report
    heads = pl.read_parquet(cfg.paths.validated / "households.parquet")
    secrets = set(heads.get_column("head_id_number").head(2000).to_list())
    secrets |= set(heads.get_column("head_name").drop_nulls().head(2000).to_list())
    for name, page in pages.items():
        leaked = [s for s in secrets if s and s in page]
        assert leaked == [], f"{name} shows personal data: {leaked[:3]}"


def test_the_validation_report_the_overview_reads_is_json(small_province: Path) -> None:
    cfg = load_config(small_province)
    report = json.loads((cfg.paths.reports / "validation_report.json").read_text())
    assert report["errors"] > 0  # the generator plants faults; 01 shows them
    assert {"table", "column", "problem", "count"} <= set(report["problems"][0])


def test_notebooks_folder_is_the_projects() -> None:
    assert NOTEBOOKS_DIR == PROJECT_ROOT / "notebooks"
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"]


# ----------------------------------------------------------------------------- make lab


def _get_json(url: str) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            data: dict[str, object] = json.loads(resp.read())
            return data
    except OSError:
        return None


@pytest.mark.slow
def test_make_lab_serves_the_notebooks_as_notebooks(tmp_path: Path) -> None:
    port = free_port()
    token = "workbench-test"
    log = (tmp_path / "lab.log").open("wb")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    lab = subprocess.Popen(
        [
            "make",
            "-s",
            "lab",
            f"LAB_PORT={port}",
            f"LAB_ARGS=--IdentityProvider.token={token}",
        ],
        cwd=PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while _get_json(f"{base}/api/status?token={token}") is None:
            assert lab.poll() is None, (tmp_path / "lab.log").read_text()
            assert time.monotonic() < deadline, "JupyterLab did not answer in 120 s"
            time.sleep(0.5)
        for path in NOTEBOOKS:
            model = _get_json(f"{base}/api/contents/{path.name}?type=notebook&token={token}")
            assert model is not None, path.name
            assert model["type"] == "notebook", path.name
            content = model["content"]
            assert isinstance(content, dict)
            assert len(content["cells"]) == len(read_notebook(path).cells), path.name
        settings = _get_json(
            f"{base}/lab/api/settings/@jupyterlab/docmanager-extension:plugin?token={token}"
        )
        assert settings is not None
        schema = settings["schema"]
        assert isinstance(schema, dict)
        # a double click opens a .py notebook as a notebook, not as text
        assert schema["properties"]["defaultViewers"]["default"] == {"python": "Jupytext Notebook"}
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait()
        log.close()
