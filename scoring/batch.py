"""Scoring with the champion: credit-file rows of one snapshot in, the scored table out.

:func:`score_snapshot` (``scoring score --segment sme --as-of 2013-12-31``) loads
``models:/<segment>-credit@champion`` from the tracking store (:mod:`scoring.lifecycle`),
scores every entity of the credit file on that snapshot (observable or not) and writes
``paths.scored/<segment>/<as_of>.parquet`` atomically, in the exact layout of
:data:`scoring.exports.SCORED_SCHEMA`, stamped with the model's name, version and run id.
The model takes the raw credit-file rows: no preprocessing happens here beyond passing
integer features as floats (the pyfunc's signature; the model casts them back).

Each scoring also records the champion's health for the dashboards (the ``model_health``
mart, :func:`write_model_health`): its AUC, KS and Gini per region and province-wide on the
training, test and out-of-time samples of its run, and on the scored snapshot (where
outcomes are observable), with the score PSI against its training scores.

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
from typing import TYPE_CHECKING, Literal

import polars as pl

from scoring.config import WorkbenchConfig
from scoring.exceptions import ConfigError, DataError
from scoring.exports import SCORED_SCHEMA, scored_path
from scoring.features import features_for
from scoring.geo import REGION_CODES
from scoring.marts import PROVINCE_CODE, write_mart
from scoring.metrics import metrics_by_group
from scoring.storage import scan_table, write_parquet
from scoring.training import SPLITS, read_credit_file

if TYPE_CHECKING:
    from scoring.lifecycle import AliasedModel

__all__ = [
    "ENGINES",
    "ScoreResult",
    "champion_health",
    "health_path",
    "score_frame",
    "score_snapshot",
    "write_model_health",
]

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
    health = champion_health(frame, rows, loaded=loaded, segment=segment, as_of=as_of)
    write_parquet(health, health_path(config, segment=segment, as_of=as_of))
    write_model_health(config)
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


# --------------------------------------------------------------------------- model health

_HEALTH_SCHEMA: dict[str, pl.DataType] = {
    "region_code": pl.String(),
    "snapshot_date": pl.Date(),
    "segment": pl.String(),
    "model_name": pl.String(),
    "model_version": pl.String(),
    "alias": pl.String(),
    "sample": pl.String(),
    "n": pl.Int64(),
    "auc": pl.Float64(),
    "ks": pl.Float64(),
    "gini": pl.Float64(),
    "psi": pl.Float64(),
}


def health_path(config: WorkbenchConfig, *, segment: str, as_of: dt.date) -> Path:
    """``paths.scored/<segment>/health/<as_of>.parquet``: the champion's health rows.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> health_path(load_config(), segment="sme", as_of=dt.date(2013, 12, 31)).parent.name
    'health'
    """
    return config.paths.scored / segment / "health" / f"{as_of.isoformat()}.parquet"


def champion_health(
    scored: pl.DataFrame,
    rows: pl.DataFrame,
    *,
    loaded: AliasedModel,
    segment: str,
    as_of: dt.date,
) -> pl.DataFrame:
    """Health rows of the champion: its run's samples and the scored snapshot.

    One row per region (with at least one row) and province-wide (``440000``) per
    sample ``train``, ``test``, ``oot`` (from the run's metrics; the snapshot is the last
    of the sample's snapshots) and ``scored`` (AUC, KS, Gini on the observable rows of
    ``as_of``, null without both outcomes; PSI of the scores against the training scores).
    """
    out: list[dict[str, object]] = []
    base = {
        "segment": segment,
        "model_name": loaded.name,
        "model_version": loaded.version,
        "alias": loaded.alias,
    }
    m = loaded.metrics
    snaps = {
        "train": loaded.params.get("train_snapshots", ""),
        "test": loaded.params.get("train_snapshots", ""),
        "oot": loaded.params.get("oot_snapshots", ""),
    }
    psis = {"train": 0.0, "test": m.get("psi_train_test"), "oot": m.get("psi_train_oot")}
    for split in SPLITS:
        if not snaps[split] or f"{split}_n" not in m:
            continue
        day = max(dt.date.fromisoformat(d) for d in snaps[split].split(","))
        common = {**base, "snapshot_date": day, "sample": split}
        out.append(
            {
                **common,
                "region_code": PROVINCE_CODE,
                "n": int(m[f"{split}_n"]),
                "auc": m.get(f"{split}_auc"),
                "ks": m.get(f"{split}_ks"),
                "gini": m.get(f"{split}_gini"),
                "psi": psis[split],
            }
        )
        for code in REGION_CODES:
            key = f"region/{code}/{split}"
            if f"{key}_n" in m:
                out.append(
                    {
                        **common,
                        "region_code": code,
                        "n": int(m[f"{key}_n"]),
                        "auc": m.get(f"{key}_auc"),
                        "ks": m.get(f"{key}_ks"),
                        "gini": m.get(f"{key}_gini"),
                        "psi": None,
                    }
                )
    common = {**base, "snapshot_date": as_of, "sample": "scored"}
    seen = rows.select("region_code", "default", "observable").with_columns(scored.get_column("pd"))
    obs = seen.filter(pl.col("observable"))
    by = (
        metrics_by_group(
            obs.get_column("default").to_numpy(),
            obs.get_column("pd").to_numpy(),
            obs.get_column("region_code").to_numpy(),
        )
        if obs.height and obs.get_column("default").n_unique() == 2
        else None
    )
    whole = (
        metrics_by_group(
            obs.get_column("default").to_numpy(),
            obs.get_column("pd").to_numpy(),
            [PROVINCE_CODE] * obs.height,
        ).row(0, named=True)
        if by is not None
        else {}
    )
    out.append(
        {
            **common,
            "region_code": PROVINCE_CODE,
            "n": scored.height,
            "auc": whole.get("auc"),
            "ks": whole.get("ks"),
            "gini": whole.get("gini"),
            "psi": loaded.credit_model.score_psi(scored.get_column("score").to_numpy()),
        }
    )
    stats = {} if by is None else {r["group"]: r for r in by.iter_rows(named=True)}
    counts = scored.group_by("region_code").len()
    for code, n in counts.sort("region_code").iter_rows():
        r = stats.get(code, {})
        out.append(
            {
                **common,
                "region_code": code,
                "n": int(n),
                "auc": r.get("auc"),
                "ks": r.get("ks"),
                "gini": r.get("gini"),
                "psi": None,
            }
        )
    return pl.DataFrame(out, schema=_HEALTH_SCHEMA)


def write_model_health(config: WorkbenchConfig) -> Path | None:
    """Gather every segment's champion health rows into the ``model_health`` mart.

    Returns the mart's path, or None when no segment has been scored yet.
    """
    files = sorted(config.paths.scored.glob("*/health/*.parquet"))
    if not files:
        return None
    frame = pl.concat([scan_table(f).collect() for f in files], how="vertical")
    return write_mart("model_health", frame.select(list(_HEALTH_SCHEMA)), config=config)
