"""MLflow runs of `scoring train` in a temporary store: what a run holds, and faults.

One small synthetic province per module (scale 0.1: about 2,000 SMEs), one empty MLflow
store created once per session and copied for each test (creating a SQLite store runs
MLflow's migrations, several seconds).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import mlflow
import polars as pl
import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from scoring.cli import cli
from scoring.codes import is_valid_resident_id
from scoring.config import WorkbenchConfig, load_config
from scoring.exceptions import ConfigError, TrackingError
from scoring.tracking import (
    connect,
    mlflow_quiet,
    pending_runs,
    stage_training,
    tracking_uri,
    train_and_log,
)
from scoring.training import fit_and_evaluate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def local_store_only() -> Iterator[None]:
    """Tests use the embedded default store under their temporary root, never a team's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory, store_kit: SimpleNamespace) -> Path:
    return store_kit.build_province(tmp_path_factory.mktemp("province"))


@pytest.fixture(scope="module")
def trained(
    province: Path, tmp_path_factory: pytest.TempPathFactory, store_kit: SimpleNamespace
) -> dict[str, object]:
    """One scorecard run logged into a fresh store."""
    cfg = load_config(province)
    store_kit.empty_store(cfg, tmp_path_factory.getbasetemp())
    run = train_and_log(cfg, segment="sme", model_type="scorecard")
    return {"cfg": cfg, "run": run}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ----------------------------------------------------------------------------- the run


def test_a_run_holds_params_metrics_tags_and_artifacts(trained: dict[str, object]) -> None:
    cfg, run = trained["cfg"], trained["run"]
    assert isinstance(cfg, WorkbenchConfig)
    assert tracking_uri(cfg) == f"sqlite:///{cfg.paths.mlruns / 'mlflow.db'}"
    with mlflow_quiet():
        client = MlflowClient(tracking_uri=tracking_uri(cfg))
        got = client.get_run(run.run_id)  # type: ignore[attr-defined]
        exp = client.get_experiment(got.info.experiment_id)
        top = {a.path for a in client.list_artifacts(got.info.run_id)}
        nested = {
            a.path
            for d in ("bins", "metrics", "scorecard")
            for a in client.list_artifacts(got.info.run_id, d)
        }
    assert exp.name == "sme-credit"
    assert got.info.status == "FINISHED"
    # params: the whole effective [model] settings of the run
    p = got.data.params
    assert p["segment"] == "sme"
    assert p["model_type"] == "scorecard"
    assert p["oot_snapshots"] == "2013-12-31"
    assert p["gate.max_psi"] == "0.25"
    assert p["scorecard.min_iv"] == str(load_config().model.segment("sme").scorecard.min_iv)
    assert p["seed"] == "42"
    # metrics per split, per region, PSI, calibration and the ceiling from the truth
    m = got.data.metrics
    for split in ("train", "test", "oot"):
        for k in ("auc", "ks", "brier"):
            assert 0.0 <= m[f"{split}_{k}"] <= 1.0, (split, k)
        assert m[f"{split}_gini"] == pytest.approx(2 * m[f"{split}_auc"] - 1)
    assert 0.55 < m["oot_auc"] < m["oot_auc_ceiling"] < 1.0
    assert "psi_train_oot" in m
    assert m["direction_violations"] == 0.0
    regions = {k.split("/")[1] for k in m if k.startswith("region/")}
    assert "440100" in regions
    assert m["region/440100/oot_n"] >= 1
    # tags: fingerprint, provenance, package versions
    t = got.data.tags
    assert re.fullmatch(r"[0-9a-f]{16}", t["data_fingerprint"])
    assert t["version.polars"] == pl.__version__
    assert t["version.mlflow"] == mlflow.__version__
    assert t["model_uri"].startswith("models:/m-")
    # artifacts: report, bin tables, scorecard, charts, model card, all in one run
    assert {"model_card.md", "charts.html", "fingerprint.json"} <= top
    assert {"bins/bin_table.csv", "bins/bin_table.html", "scorecard/scorecard.csv"} <= nested
    assert {
        "scorecard/scorecard.html",
        "metrics/calibration.csv",
        "metrics/by_region.csv",
    } <= nested
    card = (
        Path(
            mlflow.artifacts.download_artifacts(
                run_id=got.info.run_id, artifact_path="model_card.md"
            )
        )
    ).read_text(encoding="utf-8")
    for heading in ("## Purpose", "## Data", "## Performance", "## Limits", "## Fairness"):
        assert heading in card
    assert "truth ceiling" in card


def test_the_logged_model_has_signature_example_and_pinned_requirements(
    trained: dict[str, object],
) -> None:
    cfg, run = trained["cfg"], trained["run"]
    assert isinstance(cfg, WorkbenchConfig)
    with mlflow_quiet():
        info = mlflow.models.get_model_info(run.model_uri)  # type: ignore[attr-defined]
        folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=run.model_uri))  # type: ignore[attr-defined]
    inputs = info.signature.inputs.input_names()
    outputs = info.signature.outputs.input_names()
    assert "entity_id" not in inputs
    assert "region_code" not in inputs
    assert "default" not in inputs
    assert outputs[:3] == ["score", "grade", "pd"]
    assert "reason_3_en" in outputs
    example = json.loads((folder / "input_example.json").read_text(encoding="utf-8"))
    assert example["columns"] == inputs
    assert 1 <= len(example["data"]) <= 5
    reqs = (folder / "requirements.txt").read_text(encoding="utf-8").split()
    pinned = {r.split("==")[0] for r in reqs if "==" in r}
    assert {"polars", "scikit-learn", "lightgbm", "mlflow", "numpy"} <= pinned
    assert not (folder / "uv.lock").exists()  # the requirements are the contract


def test_same_data_and_seed_give_the_same_metrics(province: Path, tmp_path: Path) -> None:
    cfg = load_config(province)
    runs = []
    for _ in range(2):
        folder = stage_training(cfg, segment="sme", model_type="gbm")
        runs.append(json.loads((folder / "run.json").read_text(encoding="utf-8")))
        shutil.rmtree(folder)
    assert runs[0]["metrics"] == runs[1]["metrics"]
    assert runs[0]["fingerprint"] == runs[1]["fingerprint"]
    assert runs[0]["params"] == runs[1]["params"]


def test_a_run_fitted_beforehand_is_staged_as_fitting_would(province: Path) -> None:
    cfg = load_config(province)
    fitted = fit_and_evaluate(cfg, segment="sme", model_type="scorecard")
    given = stage_training(cfg, segment="sme", model_type="scorecard", fitted=fitted)
    fresh = stage_training(cfg, segment="sme", model_type="scorecard")
    runs = [json.loads((f / "run.json").read_text(encoding="utf-8")) for f in (given, fresh)]
    for f in (given, fresh):
        shutil.rmtree(f)
    assert runs[0]["metrics"] == runs[1]["metrics"]
    assert runs[0]["fingerprint"] == runs[1]["fingerprint"]
    assert fitted.evaluation.metrics == runs[0]["metrics"]
    with pytest.raises(ConfigError, match="'fitted' must be a sme gbm run; got a sme scorecard"):
        stage_training(cfg, segment="sme", model_type="gbm", fitted=fitted)


# ----------------------------------------------------------------------------- privacy

_RESIDENT_ID = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")


def test_artifacts_hold_no_resident_id_entity_id_or_name(
    trained: dict[str, object], tmp_path: Path
) -> None:
    cfg, run = trained["cfg"], trained["run"]
    assert isinstance(cfg, WorkbenchConfig)
    with mlflow_quiet():
        mlflow.artifacts.download_artifacts(run_id=run.run_id, dst_path=str(tmp_path / "run"))  # type: ignore[attr-defined]
        mlflow.artifacts.download_artifacts(
            artifact_uri=run.model_uri, dst_path=str(tmp_path / "model")
        )  # type: ignore[attr-defined]
    households = pl.read_parquet(cfg.paths.raw / "households.parquet")
    credit = pl.read_parquet(cfg.paths.curated / "sme_credit_files.parquet")
    ids = set(credit.get_column("entity_id").to_list())
    ids |= set(households.get_column("household_id").to_list())
    heads = set(households.get_column("head_id_number").to_list())
    # names of three characters or more: two-character names collide with ordinary words
    names = {n for n in households.get_column("head_name").to_list() if len(n) >= 3}

    def leaks(text: str) -> list[str]:
        found = [m for m in _RESIDENT_ID.findall(text) if is_valid_resident_id(m.upper())]
        tokens = set(re.findall(r"[0-9A-Z]{15,18}", text))
        runs = re.findall(r"[\u4e00-\u9fff]{3,}", text)
        pieces = {r[i : i + k] for r in runs for k in (3, 4) for i in range(len(r) - k + 1)}
        return found + sorted(tokens & (ids | heads)) + sorted(pieces & names)

    # the scan finds what it looks for (a test that cannot fail is a defect)
    planted = f"x,{next(iter(heads))};{sorted(ids)[0]} {next(iter(names))}得分"
    assert len(leaks(planted)) >= 3
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) > 15
    scanned = 0
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        scanned += len(text)
        assert not leaks(text), (path, leaks(text)[:3])
    assert scanned > 1_000_000  # the scan did read the report, charts and model


# ----------------------------------------------------------------------------- faults


def test_an_unreachable_server_is_a_clear_error(
    province: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with pytest.raises(TrackingError, match=re.escape(uri)):
        connect(load_config(province))
    result = CliRunner().invoke(cli, ["--config", str(province), "train", "sme"])
    assert result.exit_code == 2
    assert f"error: 'MLFLOW_TRACKING_URI' must point to a reachable MLflow server; got {uri}" in (
        result.output
    )


def test_a_corrupt_store_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "broken" / "mlflow.db"
    db.parent.mkdir()
    db.write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    cfg = load_config(PROJECT_ROOT / "configs" / "workbench.toml").with_root(tmp_path)
    with pytest.raises(TrackingError, match=r"sqlite:///.*broken/mlflow\.db.*not a SQLite"):
        connect(cfg)


def test_a_plain_file_store_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"file://{tmp_path}/mlruns")
    cfg = load_config(PROJECT_ROOT / "configs" / "workbench.toml").with_root(tmp_path)
    with pytest.raises(TrackingError, match="plain file stores"):
        connect(cfg)


def test_a_failure_while_logging_keeps_the_model_for_log_pending(
    province: Path,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    store_kit: SimpleNamespace,
) -> None:
    copy_workbench = store_kit.copy_workbench
    cache = tmp_path_factory.getbasetemp()
    cfg = copy_workbench(province, tmp_path / "a", cache)
    # an experiment whose artifact folder cannot be created (its parent is a file)
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    connect(cfg)
    with mlflow_quiet():
        MlflowClient().create_experiment("sme-credit", artifact_location=(blocker / "sub").as_uri())
    with pytest.raises(TrackingError, match="scoring log-pending") as err:
        train_and_log(cfg, segment="sme", model_type="scorecard")
    kept = pending_runs(cfg)
    assert len(kept) == 1
    assert str(kept[0]) in str(err.value)
    assert (kept[0] / "model" / "credit_model.joblib").is_file()
    # the store repaired (here: another store), the kept run is logged and registered
    other = copy_workbench(province, tmp_path / "b", cache)
    result = CliRunner().invoke(cli, ["--config", str(other.source), "log-pending", str(kept[0])])
    assert result.exit_code == 0, result.output
    assert f"logged {kept[0].name} as run " in result.output
    assert "registered sme-credit version 1 as champion" in result.output
    assert not kept[0].exists()
    assert pending_runs(cfg) == []
