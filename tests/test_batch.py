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
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import joblib
import mlflow
import polars as pl
import pytest
from click.testing import CliRunner

from scoring.batch import score_frame, score_snapshot, snapshot_batches
from scoring.cli import cli
from scoring.config import WorkbenchConfig, load_config
from scoring.exceptions import ConfigError, DataError
from scoring.exports import (
    CSV_NAME,
    PARQUET_NAME,
    SCORED_SCHEMA,
    TEMP_PREFIX,
    export_scores,
    scored_path,
    verify_export,
)
from scoring.lifecycle import load_by_alias, promote, register_run
from scoring.marts import load_mart
from scoring.tracking import mlflow_quiet, model_input, train_and_log
from scoring.training import CreditModel

PROJECT_ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2013, 12, 31)


@pytest.fixture(scope="module", autouse=True)
def local_store_only() -> Iterator[None]:
    """Tests use the embedded default store under their temporary root, never a team's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield


@pytest.fixture(scope="module")
def champion(
    tmp_path_factory: pytest.TempPathFactory, store_kit: SimpleNamespace
) -> dict[str, object]:
    """A province whose SME champion is version 2 (gbm), the scorecard run kept aside."""
    config = store_kit.build_province(tmp_path_factory.mktemp("province"))
    cfg = load_config(config)
    store_kit.empty_store(cfg, tmp_path_factory.getbasetemp())
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
    with pytest.raises(ConfigError, match="'engine' must be one of polars, spark; got 'dask'"):
        score_snapshot(cfg, segment="sme", as_of=AS_OF, engine="dask")
    with pytest.raises(ConfigError, match="'batch_rows' must be a positive integer; got 0"):
        score_snapshot(cfg, segment="sme", as_of=AS_OF, batch_rows=0)
    with pytest.raises(ConfigError, match="'master' must come with engine 'spark'"):
        score_snapshot(cfg, segment="sme", as_of=AS_OF, master="local[2]")
    result = CliRunner().invoke(
        cli, ["--config", str(config), "score", "--segment", "sme", "--as-of", str(AS_OF),
              "--batch-rows", "0"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--batch-rows" in result.output
    with pytest.raises(DataError, match="'as_of' must be a snapshot date"):
        score_snapshot(cfg, segment="sme", as_of=dt.date(2009, 12, 31))


# -- streaming: batches from Parquet to Parquet ------------------------------------------


def snapshot_rows(cfg: WorkbenchConfig) -> pl.DataFrame:
    return pl.read_parquet(cfg.paths.curated / "sme_credit_files.parquet").filter(
        pl.col("snapshot_date") == AS_OF
    )


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_streaming_in_several_batches_gives_the_in_memory_scores_exactly(
    champion: dict[str, object],
) -> None:
    cfg = champion["cfg"]
    assert isinstance(cfg, WorkbenchConfig)
    rows = snapshot_rows(cfg)
    seen: list[tuple[int, int]] = []
    batch = rows.height // 4 + 1  # four batches, the last one shorter
    result = score_snapshot(
        cfg, segment="sme", as_of=AS_OF, batch_rows=batch, on_batch=lambda *a: seen.append(a)
    )
    assert [done for done, _ in seen] == [batch, 2 * batch, 3 * batch, rows.height]
    assert {total for _, total in seen} == {rows.height}
    streamed = pl.read_parquet(result.path)
    # the in-memory path: the whole snapshot in one frame, one predict call
    loaded = load_by_alias(cfg, segment="sme")
    whole = score_frame(
        rows,
        loaded.model,
        segment="sme",
        as_of=AS_OF,
        model_name=loaded.name,
        model_version=loaded.version,
        run_id=loaded.run_id,
    )
    assert streamed.schema == whole.schema
    assert streamed.equals(whole)
    assert result.rows == rows.height
    assert sum(result.grades.values()) == rows.height
    assert result.grades == dict(whole.group_by("grade").len().iter_rows())


def test_an_interrupted_scoring_leaves_no_scored_table_and_no_temporary_file(
    champion: dict[str, object],
) -> None:
    cfg = champion["cfg"]
    assert isinstance(cfg, WorkbenchConfig)
    target = scored_path(cfg, segment="sme", as_of=AS_OF)
    target.unlink(missing_ok=True)
    before = files_under(cfg.paths.scored)
    calls: list[int] = []

    def stop_at_second_batch(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_snapshot(
            cfg, segment="sme", as_of=AS_OF, batch_rows=300, on_batch=stop_at_second_batch
        )
    assert calls == [300, 600]
    assert not target.exists()
    assert files_under(cfg.paths.scored) == before


def test_an_unsorted_credit_file_fails_partway_and_leaves_nothing(
    champion: dict[str, object], tmp_path: Path
) -> None:
    """A real bad input found half-way through the stream: two entities out of order."""
    cfg = champion["cfg"]
    assert isinstance(cfg, WorkbenchConfig)
    moved = cfg.with_root(tmp_path)
    moved.paths.mlruns.mkdir(parents=True)
    shutil.copy(cfg.paths.mlruns / "mlflow.db", moved.paths.mlruns / "mlflow.db")  # same models
    moved.paths.curated.mkdir(parents=True)
    whole = pl.read_parquet(cfg.paths.curated / "sme_credit_files.parquet")
    first = whole.with_row_index("i").filter(pl.col("snapshot_date") == AS_OF)["i"][0]
    at = int(first) + 900  # in the fourth batch of 300
    order = list(range(whole.height))
    order[at], order[at + 1] = order[at + 1], order[at]
    whole[order].write_parquet(moved.paths.curated / "sme_credit_files.parquet")
    seen: list[int] = []
    with pytest.raises(DataError, match="must be sorted by snapshot_date and entity_id") as err:
        score_snapshot(
            moved, segment="sme", as_of=AS_OF, batch_rows=300, on_batch=lambda d, t: seen.append(d)
        )
    assert whole["entity_id"][at + 1] in str(err.value)
    # batches were written before the bad one was read (the reader runs at most one ahead)
    assert seen in ([300, 600], [300, 600, 900])
    assert files_under(moved.paths.scored) == set()


# -- streaming exports -------------------------------------------------------------------


def _without_ids(manifest: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in manifest.items() if k not in ("export_id", "created_at", "files")}
    out["csv"] = manifest["files"][CSV_NAME]
    out["parquet_rows"] = manifest["files"][PARQUET_NAME]["rows"]
    return out


@pytest.mark.parametrize("bank", ["ICBCGD", "GDRCU"])  # permission levels 2 and 3 (features)
def test_an_export_in_several_batches_equals_the_one_batch_export(
    champion: dict[str, object], bank: str
) -> None:
    cfg = champion["cfg"]
    assert isinstance(cfg, WorkbenchConfig)
    scored = score_snapshot(cfg, segment="sme", as_of=AS_OF)
    seen: list[tuple[int, int]] = []
    small = export_scores(
        cfg,
        bank=bank,
        segment="sme",
        as_of=AS_OF,
        batch_rows=500,
        on_batch=lambda *a: seen.append(a),
    )
    whole = export_scores(cfg, bank=bank, segment="sme", as_of=AS_OF, batch_rows=10**9)
    n = scored.rows
    assert seen == [(min(k, n), n) for k in range(500, n + 500, 500)]
    assert len(seen) >= 4
    assert 0 < small.rows_exported < n
    a = pl.read_parquet(small.path / PARQUET_NAME)
    b = pl.read_parquet(whole.path / PARQUET_NAME)
    assert a.equals(b)
    assert a.height == small.rows_exported
    assert a.get_column("entity_id").is_sorted()
    assert (small.path / CSV_NAME).read_bytes() == (whole.path / CSV_NAME).read_bytes()
    assert _without_ids(small.manifest) == _without_ids(whole.manifest)
    assert verify_export(small.path, config=cfg).ok
    # and the one batch is the scored table filtered by consent, nothing else
    expected = pl.read_parquet(scored.path).filter(
        pl.col("entity_id").is_in(a["entity_id"].implode())
    )
    assert a.select(expected.columns[:3]).equals(expected.select(expected.columns[:3]))
    assert a.select("score", "grade", "pd").equals(expected.select("score", "grade", "pd"))


def test_a_scored_table_out_of_id_order_exports_the_same_rows(
    champion: dict[str, object],
) -> None:
    cfg = champion["cfg"]
    assert isinstance(cfg, WorkbenchConfig)
    path = score_snapshot(cfg, segment="sme", as_of=AS_OF).path
    ordered = export_scores(cfg, bank="ICBCGD", segment="sme", as_of=AS_OF, batch_rows=400)
    scored = pl.read_parquet(path)
    try:
        scored.sample(fraction=1.0, shuffle=True, seed=3).write_parquet(path)
        shuffled = export_scores(cfg, bank="ICBCGD", segment="sme", as_of=AS_OF, batch_rows=400)
    finally:
        scored.write_parquet(path)
    assert (shuffled.path / CSV_NAME).read_bytes() == (ordered.path / CSV_NAME).read_bytes()
    assert pl.read_parquet(shuffled.path / PARQUET_NAME).equals(
        pl.read_parquet(ordered.path / PARQUET_NAME)
    )


def test_the_export_command_takes_a_batch_size(champion: dict[str, object]) -> None:
    config, cfg = champion["config"], champion["cfg"]
    assert isinstance(cfg, WorkbenchConfig)
    score_snapshot(cfg, segment="sme", as_of=AS_OF)
    args = ["--config", str(config), "export", "--bank", "ICBCGD", "--segment", "sme"]
    result = CliRunner().invoke(cli, [*args, "--as-of", str(AS_OF), "--batch-rows", "250"])
    assert result.exit_code == 0, result.output
    folder = Path(result.output.split(" to ")[1].split()[0])
    assert verify_export(folder, config=cfg).ok
    result = CliRunner().invoke(cli, [*args, "--as-of", str(AS_OF), "--batch-rows", "0"])
    assert result.exit_code == 2
    assert "--batch-rows" in result.output


def test_an_interrupted_export_leaves_no_export_and_no_temporary_folder(
    champion: dict[str, object],
) -> None:
    cfg = champion["cfg"]
    assert isinstance(cfg, WorkbenchConfig)
    score_snapshot(cfg, segment="sme", as_of=AS_OF)
    parent = cfg.paths.exports / "ICBCGD" / "sme" / AS_OF.isoformat()
    before = files_under(parent)
    calls: list[int] = []

    def stop_at_third_batch(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export_scores(
            cfg,
            bank="ICBCGD",
            segment="sme",
            as_of=AS_OF,
            batch_rows=300,
            on_batch=stop_at_third_batch,
        )
    assert calls == [300, 600, 900]
    assert files_under(parent) == before
    assert [p.name for p in parent.glob(f"{TEMP_PREFIX}*")] == []


def test_snapshot_batches_read_only_the_snapshot_in_even_batches(tmp_path: Path) -> None:
    f = tmp_path / "credit.parquet"
    days = [dt.date(2012, 12, 31)] * 5 + [AS_OF] * 7
    ids = [f"E{i:02d}" for i in range(5)] + [f"E{i:02d}" for i in range(7)]
    pl.DataFrame({"entity_id": ids, "snapshot_date": days, "x": range(12)}).write_parquet(
        f, row_group_size=3
    )
    got = list(snapshot_batches(f, as_of=AS_OF, columns=["entity_id", "x"], batch_rows=3))
    assert [b["x"].to_list() for b in got] == [[5, 6, 7], [8, 9, 10], [11]]
    assert got[0].columns == ["entity_id", "x"]
    swapped = [*ids[:8], ids[9], ids[8], *ids[10:]]
    pl.DataFrame({"entity_id": swapped, "snapshot_date": days, "x": range(12)}).write_parquet(f)
    with pytest.raises(DataError, match="got entity_id 'E03' after 'E04'"):
        list(snapshot_batches(f, as_of=AS_OF, columns=["x"], batch_rows=3))
