"""MLflow runs of the credit models: where they are tracked, what a run holds, the pyfunc.

With :mod:`scoring.lifecycle` the only modules that import ``mlflow``.

Where: ``MLFLOW_TRACKING_URI`` when set (e.g. ``http://mlflow.team:5000``, an MLflow server
on PostgreSQL), else the embedded default ``sqlite:///<paths.mlruns>/mlflow.db`` with the
artifacts under ``<paths.mlruns>/artifacts``. :func:`connect` checks the store before
anything is trained against it and raises :class:`~scoring.exceptions.TrackingError`
naming the URI when it is unreachable, locked or not an MLflow store. Creating a new
SQLite store runs MLflow's schema migrations once (several seconds).

What (:func:`train_and_log`, the ``scoring train`` command): one run in experiment
``sme-credit`` / ``household-credit`` with

* params: the effective ``[model]`` settings of the run (:func:`scoring.training.model_params`);
* tags: segment, model type, data fingerprint, git commit, package versions;
* metrics: AUC, Gini, KS, Brier (and more) per split, per region, PSI, calibration;
* artifacts (one ``log_artifacts`` of the report folder of
  :func:`scoring.training.write_report`): model card, bin tables, scorecard, metrics
  tables, charts;
* the model, a pyfunc logged from code (:class:`CreditPyfunc`) with the fitted
  :class:`~scoring.training.CreditModel` as its artifact, a signature, an input example
  (feature values of five training rows, no ids) and explicit pip requirements. It takes raw
  credit-file rows (extra columns are ignored) and returns score, grade, PD and the top-3
  reasons.

The trained model is never lost to a tracking failure: every run is first staged under
``<paths.mlruns>/pending/<name>/`` and the folder removed once logged; when logging fails the
folder stays and the error says ``scoring log-pending <folder>`` logs it later.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib  # type: ignore[import-untyped]
import pandas as pd  # type: ignore[import-untyped]
import polars as pl

from scoring.config import WorkbenchConfig, environment
from scoring.exceptions import ConfigError, InputFileError, TrackingError
from scoring.training import (
    OUTPUT_COLUMNS,
    PACKAGES,
    CreditModel,
    FittedRun,
    fit_and_evaluate,
    git_commit,
    package_versions,
    write_report,
)

with warnings.catch_warnings():
    # mlflow.pyfunc derives schemas of its own agent types at import and warns about
    # their `Any` hints; nothing of ours is concerned.
    warnings.filterwarnings(
        "ignore", message=r".*Any type hint is inferred as AnyType", category=UserWarning
    )
    import mlflow
    import mlflow.pyfunc
    from mlflow.models import ModelSignature
    from mlflow.pyfunc.model import PythonModel
    from mlflow.tracking import MlflowClient
    from mlflow.types import ColSpec, Schema, TensorSpec

__all__ = [
    "EXPERIMENTS",
    "MODEL_ARTIFACT",
    "PENDING_FOLDER",
    "CreditPyfunc",
    "LoggedRun",
    "TrackingTarget",
    "connect",
    "experiment_name",
    "log_staged",
    "mlflow_quiet",
    "model_input",
    "pending_runs",
    "spark_udf",
    "stage_training",
    "tracking_uri",
    "train_and_log",
]

EXPERIMENTS = {"sme": "sme-credit", "household": "household-credit"}
"""Experiment (and registered model) name per segment."""

MODEL_ARTIFACT = "model"
"""Name of the logged pyfunc model within its run."""

PENDING_FOLDER = "pending"
"""Sub-folder of ``paths.mlruns`` holding trained runs not yet logged."""

_MODEL_FILE = "credit_model.joblib"
_RUN_FILE = "run.json"
_EXAMPLE_ROWS = 5
_HEALTH_TIMEOUT_SECONDS = 5.0
_ENTRY_POINT = '''"""MLflow entry point of a workbench credit model (from scoring.tracking)."""
import mlflow.models

from scoring.tracking import CreditPyfunc

mlflow.models.set_model(CreditPyfunc())
'''


def experiment_name(segment: str) -> str:
    """The experiment (and registered model) of a segment.

    Examples
    --------
    >>> experiment_name("household")
    'household-credit'
    """
    if segment not in EXPERIMENTS:
        raise ConfigError(f"'segment' must be one of sme, household; got {segment!r}.")
    return EXPERIMENTS[segment]


# --------------------------------------------------------------------------- the store


@dataclass(frozen=True, slots=True)
class TrackingTarget:
    """The tracking store in use: its URI and, for a local store, the artifact folder."""

    uri: str
    artifact_root: Path | None
    """Where new experiments keep their artifacts; None lets the server decide."""

    @property
    def is_server(self) -> bool:
        """True for an MLflow tracking server (http or https)."""
        return self.uri.startswith(("http://", "https://"))


def tracking_uri(config: WorkbenchConfig) -> str:
    """``MLFLOW_TRACKING_URI`` when set, else ``sqlite:///<paths.mlruns>/mlflow.db``.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> uri = tracking_uri(load_config().with_root("/srv/wb"))
    >>> uri == "sqlite:////srv/wb/mlruns/mlflow.db" or uri == os.environ["MLFLOW_TRACKING_URI"]
    True
    """
    env = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if env:
        return env
    return f"sqlite:///{config.paths.mlruns / 'mlflow.db'}"


@contextlib.contextmanager
def mlflow_quiet() -> Iterator[None]:
    """Known third-party warnings and MLflow's progress chatter, silenced precisely.

    For :mod:`scoring.lifecycle` and this module: every MLflow call runs inside it.
    """
    loggers = {"mlflow": logging.WARNING, "mlflow.utils.environment": logging.ERROR}
    before = {name: logging.getLogger(name).level for name in loggers}
    try:
        for name, level in loggers.items():
            logging.getLogger(name).setLevel(level)
        no_bars = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
        with environment(no_bars), warnings.catch_warnings():
            # SQLAlchemy 2.1 deprecates a loader option MLflow's SQL stores still use (at
            # their first import); nothing to fix on our side.
            warnings.filterwarnings(
                "ignore", message=r"The ``noload`` loader strategy is deprecated"
            )
            # MLflow compares a pandas Index with a range when saving the input example;
            # pandas 3 deprecates that comparison.
            warnings.filterwarnings("ignore", message=r"Operation with range is deprecated")
            warnings.filterwarnings(
                "ignore", message=r".*Any type hint is inferred as AnyType", category=UserWarning
            )
            yield
    finally:
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)


def _sqlite_path(uri: str) -> Path | None:
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///") :])
    return None


def _check_sqlite(uri: str, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrackingError(
            f"'MLFLOW_TRACKING_URI' must point to a writable store; got {uri} "
            f"(cannot create {path.parent}: {exc.strerror})."
        ) from exc
    if not path.exists():
        return
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as c:
            c.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise TrackingError(
            f"'MLFLOW_TRACKING_URI' must point to a usable MLflow store; got {uri} "
            f"({exc}: the file is corrupt, locked or not a SQLite database)."
        ) from exc


def _check_server(uri: str) -> None:
    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=_HEALTH_TIMEOUT_SECONDS) as resp:
            ok = resp.status == 200
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingError(
            f"'MLFLOW_TRACKING_URI' must point to a reachable MLflow server; got {uri} "
            f"({reason}). Start the server or unset MLFLOW_TRACKING_URI for the local store."
        ) from exc
    if not ok:
        raise TrackingError(
            f"'MLFLOW_TRACKING_URI' must point to a healthy MLflow server; got {uri} "
            f"({url} answered {resp.status})."
        )


def connect(config: WorkbenchConfig) -> TrackingTarget:
    """Point MLflow (tracking and registry) at the store and check that it answers.

    Raises
    ------
    TrackingError
        When the store is unreachable, corrupt, locked or not an MLflow store; the
        message names the URI.
    """
    uri = tracking_uri(config)
    db = _sqlite_path(uri)
    if uri.startswith(("http://", "https://")):
        _check_server(uri)
        root: Path | None = None
    elif db is not None:
        _check_sqlite(uri, db)
        root = db.parent / "artifacts"
    elif uri.startswith("file:") or "://" not in uri:
        raise TrackingError(
            f"'MLFLOW_TRACKING_URI' must be a database or server URI (MLflow 3 refuses "
            f"plain file stores); got {uri}."
        )
    else:
        root = config.paths.mlruns / "artifacts"
    # MLflow also exports the URIs to the environment, where they would outrank the
    # configuration in this process's later calls: keep the environment as it was.
    with _env_kept("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
    try:
        with mlflow_quiet():
            MlflowClient().search_experiments(max_results=1)
    except Exception as exc:  # MLflow and SQLAlchemy raise many kinds; all mean "unusable"
        raise TrackingError(
            f"'MLFLOW_TRACKING_URI' must point to a usable MLflow store; got {uri} "
            f"({type(exc).__name__}: {str(exc).splitlines()[0][:300]})."
        ) from exc
    return TrackingTarget(uri=uri, artifact_root=root)


def _experiment_id(client: MlflowClient, name: str, target: TrackingTarget) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            client.restore_experiment(exp.experiment_id)
        return str(exp.experiment_id)
    location = None if target.artifact_root is None else (target.artifact_root / name).as_uri()
    return str(client.create_experiment(name, artifact_location=location))


# --------------------------------------------------------------------------- the pyfunc


def model_input(model: CreditModel, rows: pl.DataFrame) -> pd.DataFrame:
    """The pyfunc input for credit-file ``rows``: feature columns, integers as floats.

    MLflow refuses 64-bit integers for ``double`` columns (and integers cannot be
    missing), so integer features travel as floats and the model casts them back.
    """
    cols = []
    for name in model.features:
        dtype = rows.schema[name]
        cols.append(pl.col(name).cast(pl.Float64) if dtype.is_numeric() else pl.col(name))
    return rows.select(cols).to_pandas()


class CreditPyfunc(PythonModel):
    """The pyfunc face of a :class:`~scoring.training.CreditModel` (logged from code).

    The fitted model is the artifact ``credit_model`` (joblib); ``predict`` takes a pandas
    frame of credit-file rows and returns score, grade, PD and the top-3 reasons.
    """

    def __init__(self) -> None:
        self.model: CreditModel | None = None

    def load_context(self, context: Any) -> None:
        """Load the fitted model from the ``credit_model`` artifact."""
        self.model = joblib.load(context.artifacts["credit_model"])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Score raw credit-file rows (extra columns are ignored)."""
        if self.model is None:  # pragma: no cover - MLflow always calls load_context first
            self.load_context(context)
        assert self.model is not None
        out: pd.DataFrame = self.model.predict(model_input).to_pandas()
        return out


def _signature(model: CreditModel) -> ModelSignature:
    inputs: list[ColSpec | TensorSpec] = [
        ColSpec("string" if dtype == "String" else "double", name, required=False)
        for name, dtype in model.input_dtypes.items()
    ]
    outputs: list[ColSpec | TensorSpec] = [
        ColSpec({"Int32": "integer", "Float64": "double"}.get(str(t), "string"), name)
        if name in ("score", "grade", "pd")
        else ColSpec("string", name, required=False)
        for name, t in OUTPUT_COLUMNS.items()
    ]
    return ModelSignature(inputs=Schema(list(inputs)), outputs=Schema(list(outputs)))


def _pip_requirements() -> list[str]:
    versions = package_versions()
    names = (*PACKAGES, "mlflow", "gd-credit-workbench")
    return [f"{n}=={versions[n]}" for n in names if versions[n] != "not installed"]


# --------------------------------------------------------------------------- staging


@dataclass(frozen=True, slots=True)
class LoggedRun:
    """A logged training run."""

    segment: str
    model_type: str
    run_id: str
    experiment_id: str
    model_uri: str
    fingerprint: str
    metrics: Mapping[str, float]
    logging_seconds: float
    """Wall time of the MLflow calls alone (run, params, metrics, artifacts, model)."""
    logging_steps: Mapping[str, float]
    """The same, per step."""
    tracking_uri: str


def _utc_stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def stage_training(
    config: WorkbenchConfig,
    *,
    segment: str,
    model_type: str,
    fitted: FittedRun | None = None,
) -> Path:
    """Fit, evaluate and write everything a run logs into a pending folder; return it.

    ``fitted``: a run already fitted by :func:`scoring.training.fit_and_evaluate` (of
    this ``segment`` and ``model_type``), written as is instead of fitting again.

    No MLflow call is made: the folder (``run.json``, ``report/``, ``model/``) is complete
    on its own and :func:`log_staged` logs it.
    """
    if fitted is None:
        fitted = fit_and_evaluate(config, segment=segment, model_type=model_type)
    elif (fitted.segment, fitted.model_type) != (segment, model_type):
        raise ConfigError(
            f"'fitted' must be a {segment} {model_type} run; "
            f"got a {fitted.segment} {fitted.model_type} run."
        )
    model, ev, splits = fitted.model, fitted.evaluation, fitted.splits
    fp, params = fitted.fingerprint, fitted.params
    name = f"{segment}-{model_type}-{_utc_stamp()}"
    folder = config.paths.mlruns / PENDING_FOLDER / name
    tmp = folder.with_name(f".{name}.tmp")
    try:
        write_report(model, ev, tmp / "report", fingerprint=fp, params=params, config=config.model)
        (tmp / "model").mkdir()
        joblib.dump(model, tmp / "model" / _MODEL_FILE)
        example = splits["train"].select(model.features).head(_EXAMPLE_ROWS)
        example.write_parquet(tmp / "model" / "input_example.parquet")
        tags = {
            "segment": segment,
            "model_type": model_type,
            "data_fingerprint": fp["fingerprint"],
            "data_file_sha256": fp["file_sha256"],
            "snapshots.train": ",".join(fp["train_snapshots"]),
            "snapshots.oot": ",".join(fp["oot_snapshots"]),
            "direction_violations": "; ".join(ev.violations) or "none",
            "fit_notes": "; ".join(model.fit_notes)[:4900] or "none",
            **{f"version.{k}": v for k, v in package_versions().items()},
        }
        commit = git_commit(Path(__file__).resolve().parent.parent)
        if commit is not None:
            tags["git_commit"] = commit[0]
            tags["git_dirty"] = str(commit[1]).lower()
        run = {
            "segment": segment,
            "model_type": model_type,
            "experiment": experiment_name(segment),
            "run_name": f"{model_type}-{fp['fingerprint'][:8]}",
            "params": params,
            "metrics": ev.metrics,
            "tags": tags,
            "fingerprint": fp["fingerprint"],
        }
        (tmp / _RUN_FILE).write_text(json.dumps(run, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def pending_runs(config: WorkbenchConfig) -> list[Path]:
    """Staged runs not yet logged, oldest first."""
    root = config.paths.mlruns / PENDING_FOLDER
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / _RUN_FILE).is_file())


@contextlib.contextmanager
def _env_kept(*names: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in names}
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _log(folder: Path, target: TrackingTarget) -> LoggedRun:
    run_info = json.loads((folder / _RUN_FILE).read_text(encoding="utf-8"))
    model: CreditModel = joblib.load(folder / "model" / _MODEL_FILE)
    example = model_input(model, pl.read_parquet(folder / "model" / "input_example.parquet"))
    client = MlflowClient()
    steps: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        steps[step] = now - clock
        clock = now

    exp_id = _experiment_id(client, run_info["experiment"], target)
    lap("experiment")
    with tempfile.TemporaryDirectory(prefix="scoring-pyfunc-") as code_dir:
        entry = Path(code_dir) / "credit_model_entry.py"
        entry.write_text(_ENTRY_POINT, encoding="utf-8")
        # uv.lock of the project would describe the whole development environment, not
        # what the model needs: the pip requirements below are the contract.
        with (
            environment({"MLFLOW_LOG_UV_FILES": "false"}),
            mlflow.start_run(
                experiment_id=exp_id, run_name=run_info["run_name"], tags=run_info["tags"]
            ) as run,
        ):
            lap("start_run")
            mlflow.log_params(run_info["params"])
            lap("params")
            # MLflow links the metrics logged before the model to it, one history query
            # per metric: only the headline ones go first, the per-region ones after.
            metrics = run_info["metrics"]
            mlflow.log_metrics({k: v for k, v in metrics.items() if not k.startswith("region/")})
            lap("metrics")
            mlflow.log_artifacts(str(folder / "report"))
            lap("artifacts")
            info = mlflow.pyfunc.log_model(
                name=MODEL_ARTIFACT,
                python_model=str(entry),
                artifacts={"credit_model": str(folder / "model" / _MODEL_FILE)},
                signature=_signature(model),
                input_example=example,
                pip_requirements=_pip_requirements(),
                metadata={
                    "segment": run_info["segment"],
                    "model_type": run_info["model_type"],
                    "data_fingerprint": run_info["fingerprint"],
                },
            )
            lap("model")
            mlflow.log_metrics({k: v for k, v in metrics.items() if k.startswith("region/")})
            mlflow.set_tag("model_uri", info.model_uri)
            lap("region_metrics")
        lap("end_run")
    seconds = sum(steps.values())
    return LoggedRun(
        segment=run_info["segment"],
        model_type=run_info["model_type"],
        run_id=run.info.run_id,
        experiment_id=exp_id,
        model_uri=info.model_uri,
        fingerprint=run_info["fingerprint"],
        metrics=run_info["metrics"],
        logging_seconds=seconds,
        logging_steps=steps,
        tracking_uri=target.uri,
    )


def log_staged(config: WorkbenchConfig, folder: Path) -> LoggedRun:
    """Log a staged run (see :func:`stage_training`) and remove its folder.

    Raises
    ------
    InputFileError
        When ``folder`` is not a staged run.
    TrackingError
        When the store fails; the folder is kept, so nothing trained is lost.
    """
    folder = Path(folder)
    if not (folder / _RUN_FILE).is_file():
        raise InputFileError(f"'{folder}' must be a staged run (with {_RUN_FILE}); it is not.")
    target = connect(config)
    try:
        with mlflow_quiet():
            logged = _log(folder, target)
    except Exception as exc:  # any failure of the store; the staged folder keeps the model
        raise TrackingError(
            f"'MLFLOW_TRACKING_URI' must accept the run; got {target.uri} failing with "
            f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}. The trained model is "
            f"kept in '{folder}'; log it later with `scoring log-pending {folder}`."
        ) from exc
    shutil.rmtree(folder, ignore_errors=True)
    return logged


def spark_udf(spark: Any, model_uri: str, *, result_type: str) -> Any:
    """MLflow's Spark UDF of a registered model, run in this Python environment.

    ``env_manager="local"``: executors use the interpreter and packages they have (on a
    cluster: this package and its pinned versions); nothing is rebuilt per job. Used by
    :mod:`scoring.spark`; this module and :mod:`scoring.lifecycle` stay the only importers
    of mlflow.
    """
    with mlflow_quiet():
        return mlflow.pyfunc.spark_udf(
            spark, model_uri, env_manager="local", result_type=result_type
        )


def train_and_log(
    config: WorkbenchConfig,
    *,
    segment: str,
    model_type: str,
    fitted: FittedRun | None = None,
) -> LoggedRun:
    """``scoring train``: check the store, fit and evaluate, stage, log (not register).

    ``fitted``: log this run (from :func:`scoring.training.fit_and_evaluate`) instead of
    fitting one.

    The store is checked first so that a broken store fails fast; if it fails later,
    the staged run is kept (see :func:`log_staged`).

    Raises
    ------
    TrackingError
        When the tracking store is unusable.
    InputFileError, DataError, ModelError
        When the credit files are missing or cannot train a model.
    """
    experiment_name(segment)
    connect(config)
    folder = stage_training(config, segment=segment, model_type=model_type, fitted=fitted)
    return log_staged(config, folder)
