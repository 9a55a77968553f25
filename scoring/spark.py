"""Scoring on Apache Spark: the registered champion through MLflow's Spark UDF.

``scoring score --engine spark [--master URL]`` (:func:`scoring.batch.score_snapshot` with
``engine="spark"``) scores the same registered model version as the in-process path, through
``mlflow.pyfunc.spark_udf(spark, "models:/<name>/<version>", env_manager="local",
result_type=<the scored columns as a struct>)``: every executor runs the model's
``CreditPyfunc`` in the workbench's own Python environment (``env_manager="local"``, so the
cluster's Python must have this package and its pinned versions installed; nothing is
rebuilt per job). Spark reads the credit file, keeps the snapshot's rows, casts the numeric
features to double (the model's signature) and writes the scores as Parquet parts to a hidden
temporary folder next to the scored table; the parts are then appended in order, batch by
batch, into the one scored table of :data:`scoring.exports.SCORED_SCHEMA`, renamed into place
when complete. The scores, grades, PDs and reasons are those of the in-process path, row for
row (``tests/test_spark.py``).

On a cluster the credit file and the scored folder must be on storage every executor sees
(a shared file system); ``--master`` (or ``$SPARK_MASTER``) chooses the cluster and any
``spark.*`` setting can be given in ``$SPARK_CONF_DIR/spark-defaults.conf`` as usual.
A :class:`pyspark.sql.SparkSession` already active in the process (a notebook's, a test's) is
used as it is and left running; one started here is stopped at the end.

PySpark is the optional ``spark`` extra (``uv sync --extra spark`` or
``pip install 'gd-credit-workbench[spark]'``) and needs Java 17 or later; this module imports
it only inside its functions, so the package works without it.

Examples
--------
>>> spark_master(None) in ("local[*]", os.environ.get("SPARK_MASTER"))
True
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import logging
import os
import shutil
import sys
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl

from scoring.config import environment
from scoring.exceptions import ConfigError, DataError, MissingExtraError
from scoring.exports import SCORED_SCHEMA
from scoring.features import features_for
from scoring.progress import track
from scoring.storage import parquet_batches

__all__ = [
    "require_pyspark",
    "result_type",
    "score_on_spark",
    "spark_master",
    "spark_quiet",
    "spark_session",
]

_OUTPUT = [c for c in SCORED_SCHEMA if c not in ("entity_id", "segment", "as_of", "region_code")]
_OUTPUT = [c for c in _OUTPUT if c not in ("model_name", "model_version", "run_id")]
_SPARK_TYPES = {pl.Int32(): "int", pl.Float64(): "double", pl.String(): "string"}


def require_pyspark() -> ModuleType:
    """The ``pyspark`` module, or a :class:`MissingExtraError` naming the extra to install."""
    try:
        return importlib.import_module("pyspark")
    except ImportError as exc:
        raise MissingExtraError(
            "'pyspark' must be installed to score with --engine spark (the `spark` extra: "
            "`uv sync --extra spark` or `pip install 'gd-credit-workbench[spark]'`, and Java "
            f"17+); got {type(exc).__name__}: {exc}."
        ) from None


def spark_master(master: str | None) -> str:
    """The Spark master URL: ``master``, else ``$SPARK_MASTER``, else ``local[*]``.

    Examples
    --------
    >>> spark_master("local[2]")
    'local[2]'
    """
    chosen = master or os.environ.get("SPARK_MASTER") or "local[*]"
    if not chosen.startswith(("local", "spark://", "yarn", "k8s://", "mesos://")):
        raise ConfigError(
            f"'master' must be a Spark master URL (local[N], spark://host:port, yarn, "
            f"k8s://...); got {chosen!r}."
        )
    return chosen


def result_type() -> str:
    """The UDF's result type: the model's outputs as a Spark struct (DDL).

    Examples
    --------
    >>> result_type().split(", ")[:3]
    ['score int', 'grade string', 'pd double']
    """
    return ", ".join(f"{c} {_SPARK_TYPES[SCORED_SCHEMA[c]]}" for c in _OUTPUT)


@contextlib.contextmanager
def spark_quiet() -> Iterator[None]:
    """Known PySpark and MLflow chatter, silenced precisely (as :func:`mlflow_quiet`).

    PySpark 4 warns on every pandas conversion that pandas 3 is not fully supported (the
    conversions used here are plain columns and tested); MLflow warns that
    ``env_manager="local"`` does not rebuild the training environment, which is the point.
    """
    from scoring.tracking import mlflow_quiet

    logger = logging.getLogger("mlflow.pyfunc")
    level = logger.level
    try:
        logger.setLevel(logging.ERROR)
        with mlflow_quiet(), warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore",
                message=r"PySpark does not yet fully support pandas",
                category=FutureWarning,
            )
            yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def spark_session(*, master: str | None = None, batch_rows: int = 10_000) -> Iterator[Any]:
    """The active SparkSession, or a new one on ``master`` stopped when the block ends.

    A new local session runs its Python workers with this interpreter (unless
    ``PYSPARK_PYTHON`` says otherwise; on a cluster the executors' Python must have this
    package installed), sends Arrow batches of ``batch_rows`` rows to the model and logs
    errors only.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    url = spark_master(master)
    # PySpark reads the workers' interpreter from the environment when the context starts
    python = {"PYSPARK_PYTHON": sys.executable} if url.startswith("local") else {}
    with environment(python, keep_set=True):
        spark = (
            SparkSession.builder.master(url)
            .appName("gd-credit-workbench scoring")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch_rows))
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()


def score_on_spark(
    source: Path,
    target: Path,
    *,
    model_uri: str,
    segment: str,
    as_of: dt.date,
    model_name: str,
    model_version: str,
    run_id: str,
    master: str | None = None,
    batch_rows: int = 200_000,
    on_batch: Callable[[int, int], object] | None = None,
) -> int:
    """Score the credit file's rows on ``as_of`` with ``model_uri`` on Spark; rows written.

    MLflow must already point at the tracking store holding ``model_uri`` (the caller,
    :func:`scoring.batch.score_snapshot`, has loaded the champion from it). The scored table
    at ``target`` is written atomically; on any failure nothing is left behind.

    Raises
    ------
    MissingExtraError
        PySpark is not installed.
    ConfigError
        ``master`` is not a Spark master URL.
    """
    require_pyspark()
    from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention

    from scoring.tracking import spark_udf

    features = features_for(segment)
    parts = target.parent / f".{target.name}.spark-{uuid.uuid4().hex[:8]}.tmp"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with (
            spark_quiet(),
            spark_session(master=master, batch_rows=min(batch_rows, 50_000)) as spark,
        ):
            udf = spark_udf(spark, model_uri, result_type=result_type())
            rows = spark.read.parquet(str(source)).filter(F.col("snapshot_date") == F.lit(as_of))
            inputs = [
                F.col(f.name).cast("double").alias(f.name) if f.kind == "numeric" else F.col(f.name)
                for f in features
            ]
            out = F.col("out")
            scored = rows.select(
                "entity_id", "region_code", udf(F.struct(*inputs)).alias("out")
            ).select(
                "entity_id",
                "region_code",
                *[
                    _null_text(out[c]).alias(c)
                    if SCORED_SCHEMA[c] == pl.String()
                    else out[c].alias(c)
                    for c in _OUTPUT
                ],
            )
            scored.write.parquet(str(parts))
        return _gather(
            parts,
            target,
            segment=segment,
            as_of=as_of,
            stamp={"model_name": model_name, "model_version": model_version, "run_id": run_id},
            batch_rows=batch_rows,
            on_batch=on_batch,
        )
    finally:
        shutil.rmtree(parts, ignore_errors=True)


def _null_text(column: Any) -> Any:
    """A missing text back to null: MLflow's UDF turns every text cell into ``str(value)``.

    pandas holds a missing text as NaN (pandas 3) or None (pandas 2), which become ``"nan"``
    or ``"None"``; neither is ever a reason code or text, nor a grade.
    """
    from pyspark.sql import functions as F  # noqa: N812

    return F.when(column.isin("nan", "None"), F.lit(None)).otherwise(column)


def _gather(
    parts: Path,
    target: Path,
    *,
    segment: str,
    as_of: dt.date,
    stamp: dict[str, str],
    batch_rows: int,
    on_batch: Callable[[int, int], object] | None,
) -> int:
    """Append Spark's part files, in order, into the one scored table."""
    import pyarrow.parquet as pq

    files = sorted(parts.glob("part-*.parquet"))
    total = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    if not files:
        raise DataError(f"'{parts}' must hold Spark's scored parts; found none.")

    def chunks() -> Iterator[pl.DataFrame]:
        for f in files:
            for arrow in pq.ParquetFile(f).iter_batches(batch_size=batch_rows):
                frame = pl.from_arrow(arrow)
                assert isinstance(frame, pl.DataFrame)
                yield frame

    rows = 0
    with parquet_batches(target) as write:
        for frame in track(chunks(), description=f"gathering {segment} {as_of} from Spark"):
            out = frame.with_columns(
                pl.lit(segment).alias("segment"),
                pl.lit(as_of).alias("as_of"),
                *[pl.lit(v).alias(k) for k, v in stamp.items()],
            ).select(pl.col(c).cast(t) for c, t in SCORED_SCHEMA.items())
            rows = write(out)
            if on_batch is not None:
                on_batch(rows, total)
    return rows
