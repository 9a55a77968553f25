"""Scoring with the champion: credit-file rows of one snapshot in, the scored table out.

:func:`score_snapshot` (``scoring score --segment sme --as-of 2013-12-31``) loads
``models:/<segment>-credit@champion`` from the tracking store (:mod:`scoring.lifecycle`),
scores every entity of the credit file on that snapshot (observable or not) and writes
``paths.scored/<segment>/<as_of>.parquet`` atomically, in the exact layout of
:data:`scoring.exports.SCORED_SCHEMA`, stamped with the model's name, version and run id.
The snapshot is streamed from Parquet to Parquet (:func:`snapshot_batches`, ``batch_rows``
at a time, :func:`scoring.storage.parquet_batches`), so a province-sized snapshot (10 million
entities) scores in bounded memory; ``bench/bench_scale.py`` measures it.
The model takes the raw credit-file rows: no preprocessing happens here beyond passing
integer features as floats (the pyfunc's signature; the model casts them back).

Each scoring also records the champion's health for the dashboards (the ``model_health``
mart, :func:`write_model_health`): its AUC, KS and Gini per region and province-wide on the
training, test and out-of-time samples of its run, and on the scored snapshot (where
outcomes are observable), with the score PSI against its training scores.

``engine="polars"`` scores in this process. ``engine="spark"`` runs the same registered
model through MLflow's Spark UDF on a Spark cluster (or ``local[N]``), see
:mod:`scoring.spark`; the scored table is the same, row for row.

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from scoring.config import WorkbenchConfig
from scoring.exceptions import ConfigError, DataError, InputFileError
from scoring.exports import SCORED_SCHEMA, scored_path
from scoring.features import features_for
from scoring.geo import REGION_CODES
from scoring.marts import PROVINCE_CODE, write_mart
from scoring.metrics import metrics_by_group
from scoring.progress import track
from scoring.storage import parquet_batches, scan_table, write_parquet
from scoring.training import SPLITS, credit_file_path

if TYPE_CHECKING:
    from scoring.lifecycle import AliasedModel

__all__ = [
    "BATCH_ROWS",
    "ENGINES",
    "ScoreResult",
    "champion_health",
    "health_path",
    "input_columns",
    "score_frame",
    "score_snapshot",
    "snapshot_batches",
    "write_model_health",
]

Engine = Literal["polars", "spark"]
ENGINES: tuple[Engine, ...] = ("polars", "spark")
BATCH_ROWS = 200_000
"""Rows scored at a time by default: about 0.5 GB of working memory for an SME batch."""


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


def _credit_source(config: WorkbenchConfig, *, segment: str, as_of: dt.date) -> tuple[Path, int]:
    """The credit file and its row count on ``as_of``, checked before anything is loaded."""
    path = credit_file_path(config, segment=segment)
    if not path.is_file():
        raise InputFileError(
            f"'{path}' must exist: the {segment} credit files (run `scoring collect` first)."
        )
    lf = scan_table(path)
    have = lf.collect_schema()
    missing = [c for c in input_columns(segment) if c not in have]
    if missing:
        raise DataError(f"'{path}' must have the columns {missing}; got {list(have)}.")
    day = pl.lit(as_of, dtype=pl.Date)
    n = int(lf.filter(pl.col("snapshot_date") == day).select(pl.len()).collect().item())
    if n == 0:
        dates = lf.select(pl.col("snapshot_date").unique().sort()).collect().to_series()
        listed = ", ".join(str(d) for d in dates)
        raise DataError(
            f"'as_of' must be a snapshot date of the {segment} credit files ({listed}); "
            f"got {as_of}."
        )
    return path, n


def input_columns(segment: str) -> list[str]:
    """The credit-file columns scoring reads: keys, outcome and every feature of ``segment``.

    Examples
    --------
    >>> input_columns("sme")[:5]
    ['entity_id', 'snapshot_date', 'region_code', 'default', 'observable']
    """
    keys = ["entity_id", "snapshot_date", "region_code", "default", "observable"]
    return keys + [f.name for f in features_for(segment) if f.name not in keys]


def snapshot_batches(
    path: str | Path, *, as_of: dt.date, columns: Sequence[str], batch_rows: int
) -> Iterator[pl.DataFrame]:
    """The rows of a credit file on ``as_of``, ``batch_rows`` at a time, in file order.

    Reads the Parquet file's row groups that can hold ``as_of`` (by their statistics), one
    Arrow batch at a time, so memory stays bounded by the batch size whatever the file's.
    Checks on the way that the entity ids are strictly increasing, as ``scoring collect``
    writes them (sorted, one row per entity and snapshot): the streamed result is then the
    in-memory one, row for row.

    Raises
    ------
    DataError
        An entity id not above the one before it (the error names both).

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "c.parquet"
    >>> day = dt.date(2013, 12, 31)
    >>> pl.DataFrame({"entity_id": ["a", "b", "c"], "snapshot_date": [day] * 3}).write_parquet(f)
    >>> [b.height for b in snapshot_batches(f, as_of=day, columns=["entity_id"], batch_rows=2)]
    [2, 1]
    """
    import pyarrow.parquet as pq

    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise ConfigError(f"'batch_rows' must be a positive integer; got {batch_rows!r}.")
    source = pq.ParquetFile(path)
    groups = _row_groups_holding(source, as_of)
    read = list(dict.fromkeys(["entity_id", "snapshot_date", *columns]))
    pending: list[pl.DataFrame] = []
    held = 0
    last: str | None = None
    for arrow in source.iter_batches(batch_size=batch_rows, row_groups=groups, columns=read):
        chunk = pl.from_arrow(arrow)
        assert isinstance(chunk, pl.DataFrame)
        chunk = chunk.filter(pl.col("snapshot_date") == as_of)
        if chunk.height == 0:
            continue
        last = _check_increasing(chunk.get_column("entity_id"), after=last, path=path)
        pending.append(chunk.select(columns))
        held += chunk.height
        while held >= batch_rows:
            whole = pl.concat(pending, how="vertical", rechunk=True)
            yield whole.head(batch_rows)
            rest = whole.slice(batch_rows)
            pending, held = ([rest], rest.height) if rest.height else ([], 0)
    if held:
        yield pl.concat(pending, how="vertical", rechunk=True)


def _row_groups_holding(source: Any, day: dt.date) -> list[int]:
    meta = source.metadata
    col = next(j for j in range(meta.num_columns) if meta.schema.column(j).path == "snapshot_date")
    keep = []
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(col).statistics
        if stats is None or not stats.has_min_max or stats.min <= day <= stats.max:
            keep.append(i)
    return keep


def _check_increasing(ids: pl.Series, *, after: str | None, path: str | Path) -> str:
    values = ids if after is None else pl.concat([pl.Series([after], dtype=pl.String), ids])
    ok = values.slice(1) > values.slice(0, values.len() - 1)
    if ok.null_count() or not ok.all():
        i = int((~ok.fill_null(False)).arg_max() or 0)
        raise DataError(
            f"'{path}' must be sorted by snapshot_date and entity_id, one row per entity and "
            f"snapshot (as `scoring collect` writes it); got entity_id {values[i + 1]!r} "
            f"after {values[i]!r}."
        )
    return str(ids[-1])


def score_snapshot(
    config: WorkbenchConfig,
    *,
    segment: str,
    as_of: dt.date,
    engine: str = "polars",
    alias: str = "champion",
    batch_rows: int = BATCH_ROWS,
    on_batch: Callable[[int, int], object] | None = None,
    master: str | None = None,
) -> ScoreResult:
    """Score every entity of a segment's credit file on ``as_of`` with the champion.

    The credit file is streamed: ``batch_rows`` rows are read, scored and appended to the
    scored table (under a temporary name, renamed when complete) at a time, with a progress
    bar on a terminal, so memory stays bounded however many entities the snapshot holds.
    ``on_batch(rows_done, rows_total)`` is called after each batch is written; whatever it
    raises (``KeyboardInterrupt`` included) stops the run and leaves no scored table behind
    (an earlier one at the same place stays as it was).

    ``engine="spark"`` scores with MLflow's Spark UDF on ``master`` (default ``local[*]``)
    instead; it needs the ``spark`` extra (:mod:`scoring.spark`).

    Raises
    ------
    ConfigError
        An unknown segment or engine, or a batch size under 1.
    InputFileError, DataError
        No credit file, no row on ``as_of`` (the message lists the snapshots there are), or
        a credit file not sorted by entity id.
    TrackingError
        The store is unusable or holds no champion for the segment.
    MissingExtraError
        ``engine="spark"`` without PySpark installed.
    """
    if engine not in ENGINES:
        raise ConfigError(f"'engine' must be one of {', '.join(ENGINES)}; got {engine!r}.")
    if segment not in ("sme", "household"):
        raise ConfigError(f"'segment' must be one of sme, household; got {segment!r}.")
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise ConfigError(f"'batch_rows' must be a positive integer; got {batch_rows!r}.")
    if master is not None and engine != "spark":
        raise ConfigError(f"'master' must come with engine 'spark'; got engine {engine!r}.")
    t0 = time.perf_counter()
    source, total = _credit_source(config, segment=segment, as_of=as_of)
    from scoring.lifecycle import load_by_alias

    loaded = load_by_alias(config, segment=segment, alias=alias)
    target = scored_path(config, segment=segment, as_of=as_of)
    if engine == "spark":
        from scoring.spark import score_on_spark

        rows = score_on_spark(
            source,
            target,
            model_uri=f"models:/{loaded.name}/{loaded.version}",
            segment=segment,
            as_of=as_of,
            model_name=loaded.name,
            model_version=loaded.version,
            run_id=loaded.run_id,
            master=master,
            batch_rows=batch_rows,
            on_batch=on_batch,
        )
    else:
        batches = snapshot_batches(
            source, as_of=as_of, columns=input_columns(segment), batch_rows=batch_rows
        )
        rows = 0
        with parquet_batches(target) as write:
            for batch in track(
                batches,
                description=f"scoring {segment} {as_of}",
                total=-(-total // batch_rows),
            ):
                scored = score_frame(
                    batch,
                    loaded.model,
                    segment=segment,
                    as_of=as_of,
                    model_name=loaded.name,
                    model_version=loaded.version,
                    run_id=loaded.run_id,
                )
                rows = write(scored)
                if on_batch is not None:
                    on_batch(rows, total)
    if rows != total:
        raise DataError(f"'{target}' must hold {total} scored rows; got {rows}.")
    return _finish(
        config, target=target, source=source, loaded=loaded, segment=segment, as_of=as_of, t0=t0
    )


def _finish(
    config: WorkbenchConfig,
    *,
    target: Path,
    source: Path,
    loaded: AliasedModel,
    segment: str,
    as_of: dt.date,
    t0: float,
) -> ScoreResult:
    """Health rows and grade counts from the scored table just written."""
    scored = pl.scan_parquet(target).select("entity_id", "region_code", "score", "pd")
    outcome = (
        pl.scan_parquet(source)
        .filter(pl.col("snapshot_date") == pl.lit(as_of, dtype=pl.Date))
        .select("entity_id", "default", "observable")
    )
    both = scored.join(outcome, on="entity_id", how="left", maintain_order="left").collect()
    health = champion_health(both, both, loaded=loaded, segment=segment, as_of=as_of)
    write_parquet(health, health_path(config, segment=segment, as_of=as_of))
    write_model_health(config)
    counts = pl.scan_parquet(target).group_by("grade").len().sort("grade").collect()
    return ScoreResult(
        path=target,
        rows=both.height,
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
