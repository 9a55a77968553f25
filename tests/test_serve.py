"""Serving: Voila arguments, the optional extra, port errors and a clean Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from scoring.cli import cli
from scoring.serve import (
    DASHBOARDS_DIR,
    LANDING_PAGE,
    REFUSED_ROUTES,
    ServerProcess,
    dashboard_url,
    voila_arguments,
)


def test_voila_runs_preheated_culled_and_quiet() -> None:
    args = voila_arguments(Path("d"), host="127.0.0.1", port=8866, cull_idle_seconds=90)
    assert args[0] == "d"
    for expected in (
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        "--port=8866",
        "--Voila.port_retries=0",
        "--preheat_kernel=True",
        "--pool_size=1",
        "--show_tracebacks=False",
        "--MappingKernelManager.cull_idle_timeout=90",
        "--MappingKernelManager.cull_interval=30",
        "--template=gdcredit",
    ):
        assert expected in args
    assert not [a for a in args if "--ip=" in a and not a.startswith("--Voila.ip")]


def test_refused_routes_cover_the_jupyter_apis() -> None:
    joined = " ".join(REFUSED_ROUTES)
    for route in ("/api/contents", "/api/kernels", "/api/sessions", "/lab", "/tree", "/files"):
        assert route in joined
    assert "/terminals" in joined
    # the kernel channel itself stays (widgets need it); only the list is refused
    assert r"/api/kernels/?" in REFUSED_ROUTES


def test_dashboard_url() -> None:
    assert dashboard_url("::1", 9000) == "http://[::1]:9000/"
    assert dashboard_url("127.0.0.1", 8866, LANDING_PAGE).endswith("/voila/render/index.ipynb")


def test_scoring_imports_without_the_dashboards_extra() -> None:
    script = textwrap.dedent(
        """
        import sys

        class NoVoila:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("voila", "plotly", "ipywidgets"):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, NoVoila())
        import scoring.cli, scoring.marts, scoring.serve
        from scoring.config import load_config
        from scoring.exceptions import MissingExtraError
        try:
            scoring.serve.serve_dashboards(load_config())
        except MissingExtraError as exc:
            print("missing:", exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "missing: 'voila' must be installed" in out.stdout
    assert "--extra dashboards" in out.stdout


def test_serve_refuses_a_port_in_use(project_config: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["--config", str(project_config), "serve", "--port", str(port)]
        )
    assert result.exit_code == 2
    assert f"'port' must be free on 127.0.0.1; got {port} (in use)" in result.output


def test_serve_needs_the_landing_page(project_config: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--config", str(project_config), "serve", "--dashboards", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "'dashboards' must be a folder holding index.ipynb" in result.output


def test_the_dashboards_folder_has_its_landing_page() -> None:
    assert (DASHBOARDS_DIR / LANDING_PAGE).is_file()


@pytest.mark.slow
def test_ctrl_c_stops_the_server_and_its_kernels(project_config: Path, tmp_path: Path) -> None:
    folder = tmp_path / "dash"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell("1 + 1")]
    nbformat.write(nb, folder / LANDING_PAGE)
    with (tmp_path / "serve.log").open("wb") as log:
        server = ServerProcess(project_config, dashboards=folder, log=log)
        server.start()
        try:
            for _ in range(100):  # the pre-heated kernel starts in the background
                if server.kernel_pids():
                    break
                time.sleep(0.1)
            assert server.kernel_pids(), "no pre-heated kernel was started"
        finally:
            report = server.stop(sig=signal.SIGINT)
    text = (tmp_path / "serve.log").read_text(encoding="utf-8", errors="replace")
    assert report.kernels_before
    assert report.leftover == ()
    assert report.returncode == 0, text
    assert "Dashboards 看板: http://127.0.0.1:" in text
    assert "Dashboards stopped." in text
