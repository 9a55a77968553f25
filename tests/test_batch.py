"""`scoring score`: the champion loaded by alias in a fresh process writes the scored table.

One small synthetic province per module (scale 0.1); a scorecard (version 1) and the
gradient-boosting challenger (version 2, promoted) in a fresh store.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import joblib
import mlflow
import polars as pl
import pytest
from click.testing import CliRunner

from scoring.batch import score_snapshot
from scoring.cli import cli
from scoring.config import WorkbenchConfig, load_config
from scoring.exceptions import ConfigError, DataError
from scoring.exports import SCORED_SCHEMA, scored_path
from scoring.lifecycle import promote, register_run
from scoring.marts import load_mart
from scoring.synth import generate_province
from scoring.tracking import connect, mlflow_quiet, model_input, train_and_log
from scoring.training import CreditModel

PROJECT_ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2013, 12, 31)


def build_province(root: Path) -> Path:
    """Generate, validate, rate and collect a province at scale 0.1 under ``root``."""
    (root / "configs").mkdir(parents=True)
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


def empty_store(cfg: WorkbenchConfig, cache: Path) -> None:
    """An empty, migrated MLflow store at paths.mlruns (a copy of one made once)."""
    template = cache / "mlflow-empty.db"
    if not template.exists():
        scratch = cache / "mlflow-template"
        connect(load_config(cfg.source).with_root(scratch))
        shutil.copy(scratch / "mlruns" / "mlflow.db", template)
    cfg.paths.mlruns.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, cfg.paths.mlruns / "mlflow.db")


@pytest.fixture(scope="module", autouse=True)
def local_store_only() -> Iterator[None]:
    """Tests use the embedded default store under their temporary root, never a team's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A province whose SME champion is version 2 (gbm), the scorecard run kept aside."""
    config = build_province(tmp_path_factory.mktemp("province"))
    cfg = load_config(config)
    empty_store(cfg, tmp_path_factory.getbasetemp())
    card = train_and_log(cfg, segment="sme", model_type="scorecard")
    register_run(cfg, card)
    register_run(cfg, train_and_log(cfg, segment="sme", model_type="gbm"))
    assert promote(cfg, segment="sme").promoted
    return {"config": config, "cfg": cfg, "card": card}


def fresh_process_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def test_score_in_a_fresh_process_reproduces_the_in_process_model_exactly(
    champion: dict[str, object], tmp_path: Path
) -> None:
    config, cfg = champion["config"], champion["cfg"]
    assert isinstance(cfg, WorkbenchConfig)
    proc = subprocess.run(
        [sys.executable, "-m", "scoring.cli", "--config", str(config), "score",
         "--segment", "sme", "--as-of", str(AS_OF)],
        capture_output=True, text=True, env=fresh_process_env(), cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "with sme-credit version 2" in proc.stdout
    scored = pl.read_parquet(scored_path(cfg, segment="sme", as_of=AS_OF))
    # the exports contract, exactly
    assert dict(scored.schema) == SCORED_SCHEMA
    rows = pl.read_parquet(cfg.paths.curated / "sme_credit_files.parquet").filter(
        pl.col("snapshot_date") == AS_OF
    )
    assert scored.height == rows.height == scored.get_column("entity_id").n_unique()
    assert scored.get_column("entity_id").to_list() == rows.get_column("entity_id").to_list()
    stamp = scored.select("model_name", "model_version", "run_id", "segment", "as_of").unique()
    assert stamp.height == 1
    assert stamp.row(0)[:2] == ("sme-credit", "2")
    # the same fitted model, in this process, on the raw credit-file rows
    with mlflow_quiet():
        folder = Path(
            mlflow.artifacts.download_artifacts("models:/sme-credit/2", dst_path=str(tmp_path))
        )
    model = joblib.load(folder / "artifacts" / "credit_model.joblib")
    assert isinstance(model, CreditModel)
    assert model.model_type == "gbm"
    expected = model.predict(rows)
    got = scored.select(expected.columns)
    assert got.equals(expected), "scores, grades, PDs or reasons differ"
    assert scored.get_column("reason_1_code").null_count() < scored.height
    assert set(scored.get_column("grade")) <= {"AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"}
    # the champion's health for the dashboards: its run's samples and the scored snapshot
    health = load_mart("model_health", cfg)
    assert health is not None
    province = health.filter(pl.col("region_code") == "440000").sort("sample")
    assert province.get_column("sample").to_list() == ["oot", "scored", "test", "train"]
    assert set(province.get_column("model_version")) == {"2"}
    with mlflow_quiet():
        run = mlflow.get_run(stamp.get_column("run_id")[0])
    by = dict(zip(province.get_column("sample"), province.get_column("auc"), strict=True))
    # 2013-12-31 is the out-of-time snapshot: scored again, its observable rows give the same AUC
    assert by["scored"] == pytest.approx(run.data.metrics["oot_auc"], abs=1e-12)
    assert by["oot"] == pytest.approx(run.data.metrics["oot_auc"])
    regions = health.filter(pl.col("sample") == "scored", pl.col("region_code") != "440000")
    published = regions.filter(~pl.col("suppressed"))
    assert published.height >= 10
    assert published.get_column("n").sum() <= scored.height
    assert (published.get_column("n") >= cfg.marts.min_group_size).all()
    assert regions.filter(pl.col("suppressed")).get_column("auc").null_count() == (
        regions.get_column("suppressed").sum()
    )


def test_the_scorecard_pyfunc_matches_the_scorecard_itself(champion: dict[str, object]) -> None:
    cfg, card = champion["cfg"], champion["card"]
    assert isinstance(cfg, WorkbenchConfig)
    rows = pl.read_parquet(cfg.paths.curated / "sme_credit_files.parquet")
    with mlflow_quiet():
        pyfunc = mlflow.pyfunc.load_model(card.model_uri)  # type: ignore[attr-defined]
        folder = Path(mlflow.artifacts.download_artifacts(card.model_uri))  # type: ignore[attr-defined]
    model = joblib.load(folder / "artifacts" / "credit_model.joblib")
    # whole credit-file rows go in (ids, dates, outcome too): the model reads its features
    whole = rows.with_columns(pl.col(pl.Int8, pl.Int32, pl.Int64).cast(pl.Float64))
    got = pl.from_pandas(pyfunc.predict(whole.to_pandas()))
    assert got.equals(pl.from_pandas(pyfunc.predict(model_input(model, rows))))
    expected = model.predict(rows)
    assert got.equals(expected)
    points = model.estimator.points(rows.select(model.features))
    assert got.get_column("score").to_list() == points.tolist()


def test_scoring_an_unknown_snapshot_or_engine_is_refused(champion: dict[str, object]) -> None:
    config, cfg = champion["config"], champion["cfg"]
    assert isinstance(cfg, WorkbenchConfig)
    result = CliRunner().invoke(
        cli, ["--config", str(config), "score", "--segment", "sme", "--as-of", "2014-12-31"]
    )
    assert result.exit_code == 2
    assert "'as_of' must be a snapshot date of the sme credit files (2010-12-31" in result.output
    with pytest.raises(ConfigError, match="issue 9"):
        score_snapshot(cfg, segment="sme", as_of=AS_OF, engine="spark")
    with pytest.raises(DataError, match="'as_of' must be a snapshot date"):
        score_snapshot(cfg, segment="sme", as_of=dt.date(2009, 12, 31))
