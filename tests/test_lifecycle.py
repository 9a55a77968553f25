"""The registry: champion and challenger aliases, the promotion gate and its tags.

One small synthetic province per module (scale 0.1: there the gradient-boosting challenger
beats the scorecard out of time by about 0.04 AUC, calibrated in band); one empty MLflow
store made once per session and copied for each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from scoring.cli import cli
from scoring.config import ModelGateConfig, WorkbenchConfig
from scoring.exceptions import ConfigError, TrackingError
from scoring.lifecycle import (
    CHALLENGER,
    CHAMPION,
    gate_checks,
    load_by_alias,
    promote,
    register_run,
)
from scoring.tracking import mlflow_quiet, train_and_log

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def local_store_only() -> Iterator[None]:
    """Tests use the embedded default store under their temporary root, never a team's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory, store_kit: SimpleNamespace) -> Path:
    return store_kit.build_province(tmp_path_factory.mktemp("province"))


@pytest.fixture
def workbench(
    province: Path,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    store_kit: SimpleNamespace,
) -> WorkbenchConfig:
    """The province's credit files and truth with a fresh, empty store of its own."""
    cfg: WorkbenchConfig = store_kit.copy_workbench(
        province, tmp_path, tmp_path_factory.getbasetemp()
    )
    return cfg


def aliases(name: str) -> dict[str, str]:
    with mlflow_quiet():
        return {k: str(v) for k, v in MlflowClient().get_registered_model(name).aliases.items()}


def version_tags(name: str, version: str) -> dict[str, str]:
    with mlflow_quiet():
        return dict(MlflowClient().get_model_version(name, version).tags)


# ----------------------------------------------------------------------------- lifecycle


def test_champion_challenger_and_the_gate(workbench: WorkbenchConfig) -> None:
    cfg = workbench
    # the first model of a segment is champion at once; there is nothing to promote yet
    v1 = register_run(cfg, train_and_log(cfg, segment="sme", model_type="scorecard"))
    assert (v1.name, v1.version, v1.alias) == ("sme-credit", "1", CHAMPION)
    tags = version_tags("sme-credit", "1")
    assert tags["model_type"] == "scorecard"
    assert len(tags["data_fingerprint"]) == 16
    with pytest.raises(TrackingError, match="'challenger' alias of 'sme-credit' must exist"):
        promote(cfg, segment="sme")

    # a better challenger (gradient boosting) passes the gate
    v2 = register_run(cfg, train_and_log(cfg, segment="sme", model_type="gbm"))
    assert (v2.version, v2.alias) == ("2", CHALLENGER)
    assert aliases("sme-credit") == {CHAMPION: "1", CHALLENGER: "2"}
    accepted = promote(cfg, segment="sme")
    assert accepted.decision == "promoted", [c.text() for c in accepted.checks]
    assert aliases("sme-credit") == {CHAMPION: "2"}
    t2, t1 = version_tags("sme-credit", "2"), version_tags("sme-credit", "1")
    assert t2["gate.decision"] == "promoted"
    assert t2["gate.auc"].startswith("auc: pass: out-of-time AUC")
    assert t1["gate.last_challenge.decision"] == "promoted"
    assert t1["lifecycle.retired"].startswith("replaced by version 2")

    # a worse challenger (the scorecard again) is refused, with every reason on both versions
    v3 = register_run(cfg, train_and_log(cfg, segment="sme", model_type="scorecard"))
    assert v3.alias == CHALLENGER
    result = CliRunner().invoke(cli, ["--config", str(cfg.source), "promote", "sme"])
    assert result.exit_code == 1, result.output
    assert "auc: fail" in result.output
    assert "challenger version 3 vs champion version 2: refused" in result.output
    assert aliases("sme-credit") == {CHAMPION: "2", CHALLENGER: "3"}
    t3, t2 = version_tags("sme-credit", "3"), version_tags("sme-credit", "2")
    assert t3["gate.decision"] == "refused"
    assert t3["gate.auc"].startswith("auc: fail")
    for check in ("calibration", "psi", "directions"):
        assert f"{check}: " in t3["gate.reasons"]
    assert t2["gate.last_challenge.decision"] == "refused"
    assert t2["gate.last_challenge.challenger"] == "version 3"

    # an override needs a reason, and records it
    with pytest.raises(ConfigError, match="'why' must explain a forced promotion"):
        promote(cfg, segment="sme", force=True)
    forced = promote(cfg, segment="sme", force=True, why="board decision 2014-03, ticket 17")
    assert forced.decision == "promoted-override"
    assert aliases("sme-credit") == {CHAMPION: "3"}
    t3 = version_tags("sme-credit", "3")
    assert t3["gate.override_why"] == "board decision 2014-03, ticket 17"
    assert t3["gate.decision"] == "promoted-override"
    with mlflow_quiet():
        versions = MlflowClient().search_model_versions("name='sme-credit'")
    assert sorted(str(v.version) for v in versions) == ["1", "2", "3"]
    assert {v.current_stage for v in versions} == {"None"}  # aliases, no stages


def test_loading_an_alias_that_no_version_holds_is_a_clear_error(
    workbench: WorkbenchConfig,
) -> None:
    with pytest.raises(TrackingError, match="'champion' alias of 'household-credit' must exist"):
        load_by_alias(workbench, segment="household")


def test_registering_an_unknown_run_is_a_clear_error(workbench: WorkbenchConfig) -> None:
    with pytest.raises(TrackingError, match="'run' must be a run of sqlite:///"):
        register_run(workbench, "0123456789abcdef0123456789abcdef")


# ----------------------------------------------------------------------------- the gate


_CAL = pl.DataFrame(
    {
        "grade": ["A", "B", "C"],
        "n": [400, 300, 20],
        "bads": [4, 12, 9],
        "expected_pd": [0.01, 0.04, 0.1],
    }
)
_GOOD = {"oot_auc": 0.80, "psi_train_oot": 0.05, "direction_violations": 0.0}


def failed(checks: tuple[object, ...]) -> list[str]:
    return [c.name for c in checks if not c.passed]  # type: ignore[attr-defined]


def test_the_gate_passes_a_better_calibrated_stable_challenger() -> None:
    gate = ModelGateConfig()
    assert failed(gate_checks(_GOOD, {"oot_auc": 0.79}, _CAL, gate=gate)) == []
    assert failed(gate_checks(_GOOD, None, _CAL, gate=gate)) == []


@pytest.mark.parametrize(
    ("challenger", "champion", "calibration", "why"),
    [
        ({**_GOOD, "oot_auc": 0.794}, {"oot_auc": 0.79}, _CAL, "auc"),
        ({**_GOOD, "psi_train_oot": 0.31}, {"oot_auc": 0.70}, _CAL, "psi"),
        ({**_GOOD, "direction_violations": 2.0}, {"oot_auc": 0.70}, _CAL, "directions"),
        (_GOOD, {"oot_auc": 0.70}, _CAL.with_columns(pl.col("bads") * 4), "calibration"),
        (_GOOD, {"oot_auc": 0.70}, _CAL.with_columns(pl.col("n") // 100), "calibration"),
    ],
    ids=["auc-margin", "psi", "direction", "calibration-out-of-band", "calibration-too-small"],
)
def test_the_gate_refuses_on_each_condition(
    challenger: dict[str, float], champion: dict[str, float], calibration: pl.DataFrame, why: str
) -> None:
    checks = gate_checks(
        challenger, champion, calibration, gate=ModelGateConfig(), violations="x: wrong way"
    )
    assert failed(checks) == [why]
