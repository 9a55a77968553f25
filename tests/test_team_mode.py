"""Team mode: train, promote and score against an MLflow server backed by PostgreSQL.

Starts a throwaway PostgreSQL cluster (Debian's ``postgresql`` package; ``initdb`` refuses
root, so as root the cluster runs as the ``postgres`` user) and ``mlflow server`` on
127.0.0.1 with proxied artifacts, then runs the same commands a team runs with
``MLFLOW_TRACKING_URI=http://...``; everything is torn down afterwards. Skipped, with the
reason, only where the PostgreSQL server binaries are not installed.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from scoring.cli import cli
from scoring.config import load_config
from scoring.exports import scored_path
from scoring.synth import generate_province
from scoring.tracking import mlflow_quiet

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _pg_bin() -> Path | None:
    for name in ("initdb", "pg_ctl"):
        if shutil.which(name) is None:
            break
    else:
        return Path(shutil.which("pg_ctl") or "").resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


PG_BIN = _pg_bin()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        PG_BIN is None,
        reason="PostgreSQL server binaries (initdb, pg_ctl) are not installed; "
        "`apt-get install -y postgresql` (done by .ci/run) enables this test",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def as_cluster_owner(cmd: list[str]) -> list[str]:
    """``cmd`` as the postgres user when running as root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A PostgreSQL cluster on 127.0.0.1; yields its URI, stops and removes it after."""
    assert PG_BIN is not None
    home = Path(tempfile.mkdtemp(prefix="gdcredit-pg-"))  # under /tmp: postgres can enter
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(home, pw.pw_uid, pw.pw_gid)
    data, port = home / "data", free_port()
    try:
        subprocess.run(
            as_cluster_owner([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                              "-A", "trust", "--no-sync", "-E", "UTF8"]),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        subprocess.run(
            as_cluster_owner([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(home / "log"),
                              "-w", "-t", "60", "-o",
                              f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off",
                              "start"]),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3: name the driver installed
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                as_cluster_owner([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                                  "stop"]),
                capture_output=True, timeout=120,
            )  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def mlflow_server(postgres: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` on the cluster with proxied artifacts; yields its URL."""
    artifacts = tmp_path_factory.mktemp("team-artifacts")
    port = free_port()
    log = (tmp_path_factory.mktemp("team-log") / "server.log").open("w")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", postgres,
         "--artifacts-destination", str(artifacts), "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, "mlflow server exited; see its log"
            assert time.monotonic() < deadline, "mlflow server did not answer in 180 s"
            time.sleep(0.5)
        yield url
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the server and its workers, started here
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("team-province")
    (root / "configs").mkdir()
    config = root / "configs" / "workbench.toml"
    shutil.copy(PROJECT_ROOT / "configs" / "workbench.toml", config)
    cfg = load_config(config)
    generate_province(
        cfg, out=cfg.paths.raw, truth=cfg.paths.truth, scale=0.1, seed=11, faults=True
    )
    for args in (["validate", "--quarantine"], ["rate", "tax"], ["collect"]):
        result = CliRunner().invoke(cli, ["--config", str(config), *args])
        assert result.exit_code == 0, result.output
    return config


def test_train_promote_score_against_a_postgres_backed_server(
    mlflow_server: str, province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)

    def scoring(*args: str) -> str:
        result = CliRunner().invoke(cli, ["--config", str(province), *args])
        assert result.exit_code == 0, result.output
        return result.output

    assert "as champion" in scoring("train", "sme")
    assert "as challenger" in scoring("train", "sme", "--model", "gbm")
    assert "challenger version 2 vs champion version 1: promoted" in scoring("promote", "sme")
    # scoring in a fresh process, as a team member's scheduled job would
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "scoring.cli", "--config", str(province), "score",
         "--segment", "sme", "--as-of", "2013-12-31"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    cfg = load_config(province)
    scored = pl.read_parquet(scored_path(cfg, segment="sme", as_of=dt.date(2013, 12, 31)))
    assert scored.select("model_name", "model_version").unique().rows() == [("sme-credit", "2")]
    # the registry and the runs live on the server (PostgreSQL), not in paths.mlruns
    assert not (cfg.paths.mlruns / "mlflow.db").exists()
    with mlflow_quiet():
        client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
        model = client.get_registered_model("sme-credit")
        runs = client.search_runs([client.get_experiment_by_name("sme-credit").experiment_id])
        cards = [a.path for a in client.list_artifacts(runs[0].info.run_id)]
    assert {k: str(v) for k, v in model.aliases.items()} == {"champion": "2"}
    assert len(runs) == 2
    assert "model_card.md" in cards
