"""Scoring with the champion: credit-file rows of one snapshot in, the scored table out.

:func:`score_snapshot` (``scoring score --segment sme --as-of 2013-12-31``) loads
``models:/<segment>-credit@champion`` from the tracking store (:mod:`scoring.lifecycle`),
scores every entity of the credit file on that snapshot (observable or not) and writes
``paths.scored/<segment>/<as_of>.parquet`` atomically, in the exact layout of
:data:`scoring.exports.SCORED_SCHEMA`, stamped with the model's name, version and run id.
The model takes the raw credit-file rows: no preprocessing happens here beyond passing
integer features as floats (the pyfunc's signature; the model casts them back).

``engine="polars"`` scores in this process. ``engine="spark"`` is reserved for scoring
past one machine with MLflow's Spark UDF (issue 9) and is refused for now.

Examples
--------
>>> from scoring.config import load_config
>>> score_snapshot(load_config(), segment="sme", as_of=dt.date(2013, 12, 31), engine="dask")
Traceback (most recent call last):
...
scoring.exceptions.ConfigError: 'engine' must be one of polars, spark; got 'dask'.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from scoring.config import WorkbenchConfig
from scoring.exceptions import ConfigError, DataError
from scoring.exports import SCORED_SCHEMA, scored_path
from scoring.features import features_for
from scoring.storage import write_parquet
from scoring.training import read_credit_file

__all__ = ["ENGINES", "ScoreResult", "score_frame", "score_snapshot"]

Engine = Literal["polars", "spark"]
ENGINES: tuple[Engine, ...] = ("polars", "spark")


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """What :func:`score_snapshot` wrote."""

    path: Path
    rows: int
    model_name: str
    model_version: str
    run_id: str
    seconds: float
    grades: dict[str, int]


def _pyfunc_input(rows: pl.DataFrame, *, segment: str) -> pl.DataFrame:
    # every feature of the segment (the model ignores the ones it does not use);
    # integers as floats: the pyfunc signature declares numeric features as doubles
    cols = [
        pl.col(f.name).cast(pl.Float64) if f.kind == "numeric" else pl.col(f.name)
        for f in features_for(segment)
    ]
    return rows.select(cols)


def score_frame(
    rows: pl.DataFrame,
    model: object,
    *,
    segment: str,
    as_of: dt.date,
    model_name: str,
    model_version: str,
    run_id: str,
) -> pl.DataFrame:
    """Score credit-file ``rows`` with a loaded pyfunc ``model``; the scored-table layout.

    ``model`` is anything with ``predict(pandas frame) -> pandas frame`` returning score,
    grade, PD and reasons (an ``mlflow.pyfunc.PyFuncModel``).
    """
    out = pl.from_pandas(model.predict(_pyfunc_input(rows, segment=segment).to_pandas()))  # type: ignore[attr-defined]
    if out.height != rows.height:
        raise DataError(
            f"'model' must return one row per input row; got {out.height} for {rows.height}."
        )
    frame = pl.concat(
        [
            rows.select("entity_id", "region_code"),
            out.drop(["entity_id", "region_code"], strict=False),
        ],
        how="horizontal",
    ).with_columns(
        pl.lit(segment).alias("segment"),
        pl.lit(as_of).alias("as_of"),
        pl.lit(model_name).alias("model_name"),
        pl.lit(model_version).alias("model_version"),
        pl.lit(run_id).alias("run_id"),
    )
    return frame.select(pl.col(c).cast(t) for c, t in SCORED_SCHEMA.items())


def score_snapshot(
    config: WorkbenchConfig,
    *,
    segment: str,
    as_of: dt.date,
    engine: str = "polars",
    alias: str = "champion",
) -> ScoreResult:
    """Score every entity of a segment's credit file on ``as_of`` with the champion.

    Raises
    ------
    ConfigError
        An unknown segment or engine (``spark`` is not built yet).
    InputFileError, DataError
        No credit file, or no row on ``as_of`` (the message lists the snapshots there are).
    TrackingError
        The store is unusable or holds no champion for the segment.
    """
    if engine not in ENGINES:
        raise ConfigError(f"'engine' must be one of {', '.join(ENGINES)}; got {engine!r}.")
    if engine == "spark":
        raise ConfigError(
            "'engine' must be 'polars' in this version; got 'spark' (Spark scoring with "
            "MLflow's Spark UDF is planned, issue 9)."
        )
    if segment not in ("sme", "household"):
        raise ConfigError(f"'segment' must be one of sme, household; got {segment!r}.")
    t0 = time.perf_counter()
    data = read_credit_file(config, segment=segment)
    rows = data.filter(pl.col("snapshot_date") == as_of)
    if rows.height == 0:
        have = ", ".join(str(d) for d in data.get_column("snapshot_date").unique().sort())
        raise DataError(
            f"'as_of' must be a snapshot date of the {segment} credit files ({have}); got {as_of}."
        )
    from scoring.lifecycle import load_by_alias

    loaded = load_by_alias(config, segment=segment, alias=alias)
    frame = score_frame(
        rows,
        loaded.model,
        segment=segment,
        as_of=as_of,
        model_name=loaded.name,
        model_version=loaded.version,
        run_id=loaded.run_id,
    )
    path = write_parquet(frame, scored_path(config, segment=segment, as_of=as_of))
    counts = frame.group_by("grade").len().sort("grade")
    return ScoreResult(
        path=path,
        rows=frame.height,
        model_name=loaded.name,
        model_version=loaded.version,
        run_id=loaded.run_id,
        seconds=time.perf_counter() - t0,
        grades=dict(zip(counts.get_column("grade"), counts.get_column("len"), strict=True)),
    )
