"""`scoring score --engine spark`: the champion through MLflow's Spark UDF on Spark local[2].

One small synthetic province (scale 0.15, a few thousand SMEs on the scored snapshot), the
gradient-boosting challenger as champion in a fresh store, one Spark session for the module.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner

from scoring.batch import score_snapshot
from scoring.cli import cli
from scoring.config import WorkbenchConfig, load_config
from scoring.exports import SCORED_SCHEMA, scored_path
from scoring.lifecycle import register_run
from scoring.synth import generate_province
from scoring.tracking import train_and_log

pyspark = pytest.importorskip("pyspark", reason="the `spark` extra is not installed")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("spark"),
    pytest.mark.skipif(
        shutil.which("java") is None,
        reason="Spark needs Java 17+ (`apt-get install -y openjdk-17-jre-headless`)",
    ),
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2013, 12, 31)


@pytest.fixture(scope="module", autouse=True)
def local_store_only() -> Iterator[None]:
    """The embedded store under the temporary root, never a team's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """One local[2] session for the module, stopped at its end."""
    from pyspark.sql import SparkSession

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYSPARK_PYTHON", sys.executable)  # the workers run in this environment
        session = (
            SparkSession.builder.master("local[2]")
            .appName("gd-credit-workbench tests")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A generated, validated, collected province and its SME champion (gbm)."""
    root = tmp_path_factory.mktemp("spark-province")
    (root / "configs").mkdir()
    config = root / "configs" / "workbench.toml"
    shutil.copy(PROJECT_ROOT / "configs" / "workbench.toml", config)
    cfg = load_config(config)
    generate_province(
        cfg, out=cfg.paths.raw, truth=cfg.paths.truth, scale=0.15, seed=5, faults=True
    )
    for args in (["validate", "--quarantine"], ["rate", "tax"], ["collect"]):
        result = CliRunner().invoke(cli, ["--config", str(config), *args])
        assert result.exit_code == 0, result.output
    register_run(cfg, train_and_log(cfg, segment="sme", model_type="gbm"))
    return {"config": config, "cfg": cfg}


def test_spark_and_in_process_give_identical_scores_grades_pds_and_reasons(
    province: dict[str, Any], spark: Any
) -> None:
    cfg: WorkbenchConfig = province["cfg"]
    here = score_snapshot(cfg, segment="sme", as_of=AS_OF, batch_rows=700)
    local = pl.read_parquet(here.path)
    seen: list[tuple[int, int]] = []
    there = score_snapshot(
        cfg,
        segment="sme",
        as_of=AS_OF,
        engine="spark",
        master="local[2]",
        batch_rows=1000,
        on_batch=lambda *a: seen.append(a),
    )
    remote = pl.read_parquet(there.path)
    assert local.height == remote.height >= 2000
    assert seen[-1] == (remote.height, remote.height)
    assert dict(remote.schema) == SCORED_SCHEMA
    texts = [c for c, t in SCORED_SCHEMA.items() if t == pl.String()]
    # integers and strings exactly (null reasons stay null), row for row and in the same order
    for col in ("score", *texts):
        same = remote.get_column(col).eq_missing(local.get_column(col))
        assert same.all(), (
            col,
            remote.filter(~same).head(3).select(col).rows(),
            local.filter(~same).head(3).select(col).rows(),
        )
    assert remote.get_column("reason_3_code").null_count() > 0  # the null case is exercised
    # the PD to float precision
    diff = (remote.get_column("pd") - local.get_column("pd")).abs().max()
    assert isinstance(diff, float)
    assert diff <= 1e-15
    assert there.grades == here.grades
    assert (there.model_name, there.model_version) == (here.model_name, here.model_version)
    # the shared active session was used and left running; no temporary parts left behind
    assert spark.sparkContext._jsc is not None
    assert sorted(
        p.name for p in scored_path(cfg, segment="sme", as_of=AS_OF).parent.iterdir()
    ) == [
        "2013-12-31.parquet",
        "health",
    ]


def test_an_interrupted_spark_scoring_leaves_no_scored_table(
    province: dict[str, Any], spark: Any
) -> None:
    cfg: WorkbenchConfig = province["cfg"]
    target = scored_path(cfg, segment="sme", as_of=AS_OF)
    target.unlink(missing_ok=True)

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_snapshot(
            cfg, segment="sme", as_of=AS_OF, engine="spark", batch_rows=500, on_batch=stop
        )
    leftovers = [p.name for p in target.parent.iterdir() if p.name != "health"]
    assert leftovers == []


def test_the_package_works_without_pyspark_and_says_which_extra_to_install(
    province: dict[str, Any], tmp_path: Path
) -> None:
    code = (
        "import sys; sys.modules['pyspark'] = None\n"  # as if the extra were not installed
        "import scoring.batch, scoring.cli, scoring.spark\n"
        "from scoring.cli import main\n"
        "main()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    args = ["--config", str(province["config"]), "score", "--segment", "sme"]
    args += ["--as-of", str(AS_OF), "--engine", "spark"]
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "'pyspark' must be installed to score with --engine spark" in proc.stderr
    assert "gd-credit-workbench[spark]" in proc.stderr
