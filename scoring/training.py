"""Training and evaluating a credit model from the credit files, free of MLflow.

The steps behind ``scoring train`` (:mod:`scoring.tracking` logs what they produce):

1. :func:`read_credit_file` reads ``paths.curated/<segment>_credit_files.parquet``;
   :func:`split_credit_file` keeps the observable rows (default known 12 months on) and
   splits them by snapshot per ``[model]``: rows of ``train_snapshots`` are training
   rows, of which the entities drawn with ``seed`` (a ``test_share`` of them, with all
   their snapshots, so no entity is in both) form the test split; rows of
   ``oot_snapshots`` are the out-of-time split.
2. :func:`fit_credit_model` fits a :class:`~scoring.scorecard.Scorecard` or a
   :class:`~scoring.challenger.GBMChallenger` with the segment's ``[model.<segment>.*]``
   settings. The expected direction of each feature (:mod:`scoring.features`) is the
   binning trend of the scorecard and the monotone constraint of the challenger. The
   result is a :class:`CreditModel`: the estimator, its master scale and the input
   columns, with one :meth:`CreditModel.predict` that turns raw credit-file rows into
   score, grade, PD and the top-3 reasons. The MLflow pyfunc model wraps exactly this.
3. :func:`evaluate` measures it per split and per region (AUC, Gini, KS, Brier),
   calibration by grade, the score PSI from training to out-of-time, and whether any
   feature's effect runs against its expected direction.
4. :func:`write_report` writes the run's report files (bin tables, scorecard, charts,
   model card) into a folder; :mod:`scoring.tracking` logs that folder as is.

The synthetic truth (``paths.truth/ceiling.json``) is read for the model card's
"performance against the ceiling" only, never for fitting.

Examples
--------
>>> import datetime as dt
>>> d1, d2 = dt.date(2011, 12, 31), dt.date(2013, 12, 31)
>>> frame = pl.DataFrame({"entity_id": list("abcdefgh") + ["a", "b"], "observable": True,
...     "default": [0, 1] * 5, "snapshot_date": [d1] * 8 + [d2] * 2})
>>> cfg = ModelConfig(train_snapshots=(d1,), oot_snapshots=(d2,), test_share=0.5)
>>> {k: v.height for k, v in split_credit_file(frame, cfg).items()}
{'train': 4, 'test': 4, 'oot': 2}
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import subprocess
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from scoring.binning import DroppedFeatureWarning, WoEBinner
from scoring.challenger import GBMChallenger
from scoring.config import ModelConfig, WorkbenchConfig
from scoring.exceptions import ConfigError, DataError, InputFileError
from scoring.features import features_for
from scoring.geo import region_name
from scoring.grades import MasterScale, PointsScaling
from scoring.metrics import (
    binomial_interval,
    calibration_by_grade,
    ks_curve,
    metrics_by_group,
    pd_metrics,
    psi,
    psi_table,
    roc_curve,
)
from scoring.scorecard import Scorecard
from scoring.storage import scan_table

__all__ = [
    "MODEL_TYPES",
    "OUTPUT_COLUMNS",
    "PACKAGES",
    "SPLITS",
    "CreditModel",
    "Evaluation",
    "FittedRun",
    "TrainingData",
    "calibration_verdict",
    "credit_file_path",
    "data_fingerprint",
    "direction_violations",
    "evaluate",
    "fit_and_evaluate",
    "fit_credit_model",
    "git_commit",
    "model_params",
    "package_versions",
    "read_ceiling",
    "read_credit_file",
    "split_credit_file",
    "write_report",
]

ModelType = Literal["scorecard", "gbm"]
MODEL_TYPES: tuple[ModelType, ...] = ("scorecard", "gbm")
SPLITS = ("train", "test", "oot")
REASON_COLUMNS = tuple(f"reason_{i}_{p}" for i in (1, 2, 3) for p in ("code", "zh", "en"))
OUTPUT_COLUMNS: dict[str, pl.DataType] = {
    "score": pl.Int32(),
    "grade": pl.String(),
    "pd": pl.Float64(),
    **{c: pl.String() for c in REASON_COLUMNS},
}
"""What :meth:`CreditModel.predict` returns, one row per input row, in input order."""

PACKAGES = ("polars", "numpy", "scipy", "scikit-learn", "lightgbm", "pandas", "pyarrow")
"""The packages a credit model needs at inference (pinned in its pip requirements)."""


# --------------------------------------------------------------------------- data


def credit_file_path(config: WorkbenchConfig, *, segment: str) -> Path:
    """``paths.curated/<segment>_credit_files.parquet`` (written by ``scoring collect``).

    Examples
    --------
    >>> from scoring.config import load_config
    >>> credit_file_path(load_config(), segment="sme").name
    'sme_credit_files.parquet'
    """
    _check_segment(segment)
    return config.paths.curated / f"{segment}_credit_files.parquet"


def _check_segment(segment: str) -> None:
    if segment not in ("sme", "household"):
        raise ConfigError(f"'segment' must be one of sme, household; got {segment!r}.")


def _check_model_type(model_type: str) -> None:
    if model_type not in MODEL_TYPES:
        raise ConfigError(f"'model_type' must be one of scorecard, gbm; got {model_type!r}.")


def read_credit_file(config: WorkbenchConfig, *, segment: str) -> pl.DataFrame:
    """Every row of a segment's credit file, sorted by snapshot date and entity id.

    Raises
    ------
    InputFileError
        When the file is missing (run ``scoring collect`` first).
    DataError
        When a column a model needs is missing.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> read_credit_file(load_config().with_root("/nonexistent"), segment="sme")
    Traceback (most recent call last):
    ...
    scoring.exceptions.InputFileError: '/nonexistent/data/curated/sme_credit_files.parquet' must ...
    """
    path = credit_file_path(config, segment=segment)
    if not path.is_file():
        raise InputFileError(
            f"'{path}' must exist: the {segment} credit files (run `scoring collect` first)."
        )
    frame = scan_table(path).sort("snapshot_date", "entity_id").collect()
    needed = ["entity_id", "snapshot_date", "region_code", "default", "observable"]
    needed += [f.name for f in features_for(segment)]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(f"'{path}' must have the columns {missing}; got {frame.columns}.")
    return frame


def split_credit_file(frame: pl.DataFrame, config: ModelConfig) -> dict[str, pl.DataFrame]:
    """Observable rows split into ``train``, ``test`` and ``oot`` (see the module docstring).

    The test entities are drawn from the sorted unique entity ids with
    ``numpy.random.default_rng(seed)``, so the split depends on the data and the seed only.

    Raises
    ------
    DataError
        When a split is empty or holds a single class.
    """
    obs = frame.filter(pl.col("observable"))
    earlier = obs.filter(pl.col("snapshot_date").is_in(list(config.train_snapshots)))
    oot = obs.filter(pl.col("snapshot_date").is_in(list(config.oot_snapshots)))
    entities = np.asarray(earlier.get_column("entity_id").unique().sort().to_list(), dtype=object)
    rng = np.random.default_rng(config.seed)
    n_test = round(config.test_share * entities.size)
    test_ids = entities[rng.permutation(entities.size)[:n_test]].tolist()
    is_test = pl.col("entity_id").is_in(test_ids)
    splits = {"train": earlier.filter(~is_test), "test": earlier.filter(is_test), "oot": oot}
    for name, part in splits.items():
        y = part.get_column("default")
        if part.height == 0 or y.n_unique() < 2:
            raise DataError(
                f"'{name}' split must hold observable rows of both classes; got "
                f"{part.height} rows, {int(y.sum() or 0)} defaults (snapshots: train "
                f"{[str(d) for d in config.train_snapshots]}, out-of-time "
                f"{[str(d) for d in config.oot_snapshots]}; see [model] in the config)."
            )
    return splits


@dataclass(frozen=True, slots=True)
class TrainingData:
    """The splits of one training run and the fingerprint of their input."""

    segment: str
    splits: Mapping[str, pl.DataFrame]
    fingerprint: Mapping[str, Any]


def data_fingerprint(
    path: Path, splits: Mapping[str, pl.DataFrame], *, config: ModelConfig
) -> dict[str, Any]:
    """SHA-256 of the input file, rows and defaults per split, and the snapshot dates.

    ``fingerprint`` (16 hex digits) hashes all of that: same input and split, same value.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.parquet"
    >>> _ = p.write_bytes(b"abc")
    >>> s = {"train": pl.DataFrame({"default": [0, 1]})}
    >>> data_fingerprint(p, s, config=ModelConfig())["file_sha256"][:12]
    'ba7816bf8f01'
    """
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    info: dict[str, Any] = {
        "file": path.name,
        "file_sha256": digest.hexdigest(),
        "train_snapshots": [str(d) for d in config.train_snapshots],
        "oot_snapshots": [str(d) for d in config.oot_snapshots],
        "test_share": config.test_share,
        "seed": config.seed,
        "rows": {k: v.height for k, v in splits.items()},
        "defaults": {k: int(v.get_column("default").sum()) for k, v in splits.items()},
    }
    info["fingerprint"] = hashlib.sha256(json.dumps(info, sort_keys=True).encode()).hexdigest()[:16]
    return info


# --------------------------------------------------------------------------- the model


def _labels(segment: str) -> dict[str, tuple[str, str]]:
    return {f.name: (f.zh, f.en) for f in features_for(segment)}


def _directions(segment: str) -> dict[str, int]:
    """Expected direction of risk per numeric feature (+1 / -1), from the dictionary."""
    return {
        f.name: int(f.monotone)
        for f in features_for(segment)
        if f.monotone in (1, -1) and f.kind == "numeric"
    }


class CreditModel:
    """A fitted credit model as one object: raw credit-file rows in, scores out.

    Parameters
    ----------
    segment : {"sme", "household"}
    model_type : {"scorecard", "gbm"}
    estimator : Scorecard or GBMChallenger
        Fitted; it holds the binning (scorecard) or the encoding (challenger).
    master_scale : MasterScale
        Fitted; maps the PD to a grade.
    input_dtypes : mapping of str to str
        The feature columns the model reads, with their credit-file polars types; input
        columns are cast back to these (a pyfunc input arrives with integers as floats).
    fit_notes : sequence of str, default ()
        What fitting reported (e.g. features dropped as constant), for the model card.
    reference_scores : mapping of int to int, optional
        Count of training rows per score: the reference of :meth:`score_psi`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pl.DataFrame({"max_dpd_12m": rng.integers(0, 120, 4000).astype(np.int32)})
    >>> y = (rng.random(4000) < 0.01 + X["max_dpd_12m"].to_numpy() / 400).astype(int)
    >>> card = Scorecard().fit(X, y)
    >>> ms = MasterScale(segment="sme").fit(card.predict_proba(X)[:, 1], y)
    >>> m = CreditModel(segment="sme", model_type="scorecard", estimator=card,
    ...                 master_scale=ms, input_dtypes={"max_dpd_12m": "Int32"})
    >>> m.predict(X.head(2)).columns[:4]
    ['score', 'grade', 'pd', 'reason_1_code']
    """

    def __init__(
        self,
        *,
        segment: str,
        model_type: str,
        estimator: Scorecard | GBMChallenger,
        master_scale: MasterScale,
        input_dtypes: Mapping[str, str],
        fit_notes: Sequence[str] = (),
        reference_scores: Mapping[int, int] | None = None,
    ) -> None:
        _check_segment(segment)
        _check_model_type(model_type)
        self.segment = segment
        self.model_type = model_type
        self.estimator = estimator
        self.master_scale = master_scale
        self.input_dtypes = dict(input_dtypes)
        self.fit_notes = tuple(fit_notes)
        self.reference_scores = None if reference_scores is None else dict(reference_scores)

    @property
    def features(self) -> list[str]:
        """The input feature columns, in model order."""
        return list(self.input_dtypes)

    def input_frame(self, rows: Any) -> pl.DataFrame:
        """The feature columns of ``rows`` (polars or pandas), cast to the training types.

        Raises
        ------
        SchemaError
            When a feature column is missing.
        """
        frame = rows if isinstance(rows, pl.DataFrame) else pl.from_pandas(rows)
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            from scoring.exceptions import SchemaError

            raise SchemaError(
                f"'rows' must have the feature columns {missing} of the {self.segment} "
                f"credit file; got {frame.columns}."
            )
        casts = []
        for name, dtype in self.input_dtypes.items():
            target = getattr(pl, dtype)
            col = pl.col(name)
            if frame.schema[name] == pl.Float64 and target != pl.Float64:
                # a pyfunc input holds integer features as floats (NaN for missing)
                col = col.fill_nan(None)
            casts.append(col.cast(target, strict=False).alias(name))
        return frame.select(casts)

    def pd(self, rows: Any) -> npt.NDArray[np.float64]:
        """Probability of default per row."""
        out: npt.NDArray[np.float64] = self.estimator.predict_proba(self.input_frame(rows))[:, 1]
        return out

    def score_pd_grade(self, rows: Any) -> pl.DataFrame:
        """Score, grade and PD of each row (no reasons: cheaper, for evaluation)."""
        X = self.input_frame(rows)
        pd_ = self.estimator.predict_proba(X)[:, 1]
        if isinstance(self.estimator, Scorecard):
            score = self.estimator.points(X)
        else:
            scaling = self.estimator.scaling or PointsScaling()
            score = np.rint(scaling.score_from_pd(pd_)).astype(np.int64)
        return pl.DataFrame(
            {
                "score": pl.Series(score, dtype=pl.Int32),
                "grade": pl.Series(self.master_scale.grade(pd_).tolist(), dtype=pl.String),
                "pd": pl.Series(pd_, dtype=pl.Float64),
            }
        )

    def score_psi(self, scores: Any) -> float | None:
        """PSI of ``scores`` against the training scores (10 quantile bins), or None.

        None when the model carries no reference distribution.
        """
        if not self.reference_scores:
            return None
        values = np.fromiter(self.reference_scores, dtype=np.float64)
        counts = np.fromiter(self.reference_scores.values(), dtype=np.int64)
        return psi(np.repeat(values, counts), np.asarray(scores, dtype=np.float64), bins=10)

    def predict(self, rows: Any) -> pl.DataFrame:
        """Score (points), grade, PD and the top-3 reasons of each row, in input order.

        The reason code is the feature name in capitals for both model types.
        """
        X = self.input_frame(rows)
        reasons = self.estimator.reasons(X, k=3).with_columns(
            pl.col(f"reason_{i}_code").str.to_uppercase() for i in (1, 2, 3)
        )
        return self.score_pd_grade(X).hstack(reasons.select(REASON_COLUMNS))


def model_params(config: ModelConfig, *, segment: str, model_type: str) -> dict[str, Any]:
    """The effective settings of one training run, flat (``[model]`` keys as dotted names).

    Examples
    --------
    >>> p = model_params(ModelConfig(), segment="sme", model_type="gbm")
    >>> p["model_type"], p["gbm.learning_rate"], "scorecard.min_iv" in p
    ('gbm', 0.05, False)
    """
    _check_segment(segment)
    _check_model_type(model_type)
    seg = config.segment(segment)
    out: dict[str, Any] = {"segment": segment, "model_type": model_type}
    for key in ("test_share", "seed", "region_min_count", "base_points", "base_odds", "pdo"):
        out[key] = getattr(config, key)
    out["train_snapshots"] = ",".join(str(d) for d in config.train_snapshots)
    out["oot_snapshots"] = ",".join(str(d) for d in config.oot_snapshots)
    out["pd_bounds"] = ",".join(str(b) for b in seg.pd_bounds) or "default"
    for k, v in asdict(config.gate).items():
        out[f"gate.{k}"] = v
    chosen = seg.scorecard if model_type == "scorecard" else seg.gbm
    for k, v in asdict(chosen).items():
        out[f"{model_type}.{k}"] = v
    return out


def fit_credit_model(
    train: pl.DataFrame, *, segment: str, model_type: str, config: ModelConfig
) -> CreditModel:
    """Fit a scorecard or the ML challenger on the training rows of a credit file.

    Raises
    ------
    ModelError
        When no feature survives selection, or a class is too rare to fit.
    """
    _check_segment(segment)
    _check_model_type(model_type)
    X = train.select(f.name for f in features_for(segment))
    y = train.get_column("default").to_numpy()
    with warnings.catch_warnings(record=True) as caught:
        # a feature constant on the training rows is dropped by the binner with a warning;
        # here it is a fact to report in the model card, not a problem
        warnings.simplefilter("always", DroppedFeatureWarning)
        estimator, master, used = _fit(X, y, segment=segment, model_type=model_type, config=config)
    notes = []
    for w in caught:
        if issubclass(w.category, DroppedFeatureWarning):
            notes.append(str(w.message))
        else:  # anything else is not ours to silence
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    dtypes = {f: str(train.schema[f]) for f in used}
    model = CreditModel(
        segment=segment,
        model_type=model_type,
        estimator=estimator,
        master_scale=master,
        input_dtypes=dtypes,
        fit_notes=notes,
    )
    values, counts = np.unique(model.score_pd_grade(train)["score"].to_numpy(), return_counts=True)
    model.reference_scores = dict(zip(values.tolist(), counts.tolist(), strict=True))
    return model


def _fit(
    X: pl.DataFrame, y: npt.NDArray[Any], *, segment: str, model_type: str, config: ModelConfig
) -> tuple[Scorecard | GBMChallenger, MasterScale, list[str]]:
    seg = config.segment(segment)
    scaling = PointsScaling(
        base_points=config.base_points, base_odds=config.base_odds, pdo=config.pdo
    )
    bounds = seg.pd_bounds or None
    directions = _directions(segment)
    estimator: Scorecard | GBMChallenger
    if model_type == "scorecard":
        p = seg.scorecard
        binner = WoEBinner(
            max_n_bins=p.max_n_bins or None,
            min_bin_share=p.min_bin_share,
            min_bad_count=p.min_bad_count,
            min_good_count=p.min_good_count,
            monotonic_trend={
                f: ("ascending" if d > 0 else "descending") for f, d in directions.items()
            },
            n_jobs=2,
        )
        card = Scorecard(
            binner=binner,
            min_iv=p.min_iv,
            max_correlation=p.max_correlation,
            max_vif=p.max_vif,
            l2=p.l2,
            scaling=scaling,
            feature_labels=_labels(segment),
            n_jobs=2,
        ).fit(X, y)
        train_pd = card.predict_proba(X)[:, 1]
        master = MasterScale(segment=segment, pd_bounds=bounds).fit(train_pd, y)  # type: ignore[arg-type]
        estimator = card
        used = list(card.features_)
    else:
        g = seg.gbm
        gbm = GBMChallenger(
            monotone_constraints=directions,
            calibration=g.calibration,  # type: ignore[arg-type]
            n_splits=g.n_splits,  # type: ignore[arg-type]
            learning_rate=g.learning_rate,
            max_rounds=g.max_rounds,
            early_stopping_rounds=g.early_stopping_rounds,
            num_leaves=g.num_leaves,
            min_child_samples=g.min_child_samples,  # type: ignore[arg-type]
            subsample=g.subsample,
            colsample_bytree=g.colsample_bytree,
            reg_lambda=g.reg_lambda,
            scaling=scaling,
            segment=segment,  # type: ignore[arg-type]
            pd_bounds=bounds,
            feature_labels=_labels(segment),
            random_state=config.seed,
            n_jobs=2,
        ).fit(X, y)
        master = gbm.master_scale_
        estimator = gbm
        used = list(X.columns)
    return estimator, master, used


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Everything :func:`evaluate` measured (frames hold no entity ids)."""

    metrics: dict[str, float]
    """Flat metrics for MLflow: ``<split>_<auc|gini|ks|brier|...>``, ``psi_train_oot``,
    ``region/<code>/<split>_<auc|n|bad_rate|mean_pd>``, calibration and direction counts."""
    by_split: pl.DataFrame
    by_region: pl.DataFrame
    calibration: pl.DataFrame
    psi_table: pl.DataFrame
    roc: pl.DataFrame
    ks_curve: pl.DataFrame
    scores: pl.DataFrame
    """``split``, ``region_code``, ``score``: the score distribution (no ids)."""
    violations: tuple[str, ...]
    ceiling: dict[str, Any] | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def direction_violations(model: CreditModel) -> list[str]:
    """Features whose effect on risk contradicts their expected direction.

    Scorecard: the coefficient must be positive and the WoE of the regular numeric bins
    must run the expected way (non-decreasing for +1). Challenger: the monotone constraint
    must not be the opposite of the expected direction.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pl.DataFrame({"max_dpd_12m": rng.integers(0, 120, 4000).astype(np.int32)})
    >>> y = (rng.random(4000) < 0.01 + X["max_dpd_12m"].to_numpy() / 400).astype(int)
    >>> card = Scorecard().fit(X, y)
    >>> ms = MasterScale().fit(card.predict_proba(X)[:, 1], y)
    >>> direction_violations(CreditModel(segment="sme", model_type="scorecard",
    ...     estimator=card, master_scale=ms, input_dtypes={"max_dpd_12m": "Int32"}))
    []
    """
    expected = _directions(model.segment)
    out: list[str] = []
    est = model.estimator
    if isinstance(est, Scorecard):
        for f in est.features_:
            coef = est.coefficients_[f]
            if not coef > 0:
                out.append(f"{f}: coefficient {coef:.4f} is not positive")
                continue
            d = expected.get(f)
            if d is None:
                continue
            bt = est.binner_.bin_table(f, totals=False).filter(
                (pl.col("kind") == "range") & (pl.col("count") > 0)
            )
            woe = np.asarray(bt.get_column("woe").to_list(), dtype=np.float64)
            steps = np.diff(woe) * d
            if woe.size > 1 and (steps < -1e-9).any():
                want = "rise" if d > 0 else "fall"
                out.append(f"{f}: risk must {want} with the feature; the WoE of its bins does not")
    else:
        for f, c in est.monotone_constraints_.items():
            d = expected.get(f)
            if d is not None and c == -d:
                out.append(f"{f}: monotone constraint {c:+d} contradicts expected direction {d:+d}")
    return out


def read_ceiling(config: WorkbenchConfig, *, segment: str) -> dict[str, Any] | None:
    """The synthetic truth's AUC ceiling for the out-of-time snapshots, or None.

    Read from ``paths.truth/ceiling.json`` when it exists (evaluation only).
    """
    path = config.paths.truth / "ceiling.json"
    if not path.is_file():
        return None
    try:
        seg = json.loads(path.read_text(encoding="utf-8"))["segments"][segment]
    except (KeyError, ValueError, TypeError):
        return None
    by = seg.get("by_snapshot", {})
    oot = {str(d): by.get(str(d), {}).get("auc") for d in config.model.oot_snapshots}
    return {"overall": seg.get("auc"), "oot": oot}


def calibration_verdict(
    table: pl.DataFrame, *, confidence: float, min_count: int
) -> tuple[float | None, int]:
    """Share of grades (with ``min_count`` rows or more) whose PD lies in the interval.

    ``table`` has ``grade``, ``n``, ``bads`` and ``expected_pd`` (a calibration-by-grade
    table); the interval is the Wilson interval at ``confidence``. Returns the share
    (None when no grade is large enough) and the number of grades checked.

    Examples
    --------
    >>> t = pl.DataFrame({"grade": ["A", "B"], "n": [100, 10], "bads": [2, 5],
    ...                   "expected_pd": [0.02, 0.1]})
    >>> calibration_verdict(t, confidence=0.99, min_count=50)
    (1.0, 1)
    """
    big = table.filter(pl.col("n") >= min_count)
    if big.height == 0:
        return None, 0
    lo, hi = binomial_interval(
        big.get_column("bads").to_numpy(), big.get_column("n").to_numpy(), confidence=confidence
    )
    pd_ = big.get_column("expected_pd").to_numpy()
    inside = (pd_ >= lo) & (pd_ <= hi)
    return float(inside.mean()), int(big.height)


def evaluate(
    model: CreditModel,
    splits: Mapping[str, pl.DataFrame],
    *,
    config: ModelConfig,
    ceiling: dict[str, Any] | None = None,
) -> Evaluation:
    """Measure a fitted model on every split (see :class:`Evaluation`)."""
    metrics: dict[str, float] = {}
    split_rows: list[dict[str, Any]] = []
    region_parts: list[pl.DataFrame] = []
    cal_parts: list[pl.DataFrame] = []
    roc_rows: list[pl.DataFrame] = []
    score_parts: list[pl.DataFrame] = []
    scored: dict[str, tuple[npt.NDArray[Any], npt.NDArray[np.float64], npt.NDArray[Any]]] = {}
    grades = list(model.master_scale.grades_)
    for name in SPLITS:
        part = splits[name]
        out = model.score_pd_grade(part)
        y = part.get_column("default").cast(pl.Int64).to_numpy()
        pd_ = out.get_column("pd").to_numpy()
        score = out.get_column("score").to_numpy()
        scored[name] = (y, pd_, score)
        m = pd_metrics(y, pd_)
        split_rows.append({"split": name, **m})
        for k in ("auc", "gini", "ks", "brier", "log_loss", "n", "bad_rate", "mean_pd"):
            metrics[f"{name}_{k}"] = float(m[k])
        regions = part.get_column("region_code").to_numpy()
        by = metrics_by_group(y, pd_, regions, min_count=config.region_min_count)
        # numpy sums in a fixed order: the same data gives the same bits every time
        codes, where = np.unique(regions, return_inverse=True)
        mean_pd = pl.DataFrame(
            {
                "group": codes.tolist(),
                "mean_pd": np.bincount(where, weights=pd_) / np.bincount(where),
            },
            schema={"group": pl.String, "mean_pd": pl.Float64},
        )
        by = by.join(mean_pd, on="group", how="left").with_columns(pl.lit(name).alias("split"))
        region_parts.append(by)
        for row in by.iter_rows(named=True):
            base = f"region/{row['group']}/{name}"
            metrics[f"{base}_n"] = float(row["n"])
            metrics[f"{base}_bad_rate"] = float(row["bad_rate"])
            metrics[f"{base}_mean_pd"] = float(row["mean_pd"])
            for k in ("auc", "gini", "ks"):
                if row[k] is not None:
                    metrics[f"{base}_{k}"] = float(row[k])
        cal = calibration_by_grade(
            y,
            model.master_scale.grade_pd(pd_),
            out.get_column("grade").to_numpy(),
            grade_order=grades,
            confidence=config.gate.calibration_confidence,
        ).with_columns(pl.lit(name).alias("split"))
        cal_parts.append(cal)
        roc_rows.append(
            roc_curve(y, pd_).select(
                pl.lit(name).alias("split"), pl.all(), pl.lit(float(m["auc"])).alias("auc")
            )
        )
        score_parts.append(
            pl.DataFrame(
                {"split": name, "region_code": regions, "score": score},
                schema={"split": pl.String, "region_code": pl.String, "score": pl.Int32},
            )
        )
    calibration = pl.concat(cal_parts)
    share, checked = calibration_verdict(
        calibration.filter(pl.col("split") == "oot"),
        confidence=config.gate.calibration_confidence,
        min_count=config.gate.calibration_min_count,
    )
    metrics["oot_calibration_grades_checked"] = float(checked)
    if share is not None:
        metrics["oot_calibration_in_band_share"] = share
    train_score, oot_score = scored["train"][2], scored["oot"][2]
    psi_t = psi_table(train_score, oot_score, bins=10)
    metrics["psi_train_oot"] = float(psi_t.get_column("psi").sum())
    metrics["psi_train_test"] = psi(train_score, scored["test"][2], bins=10)
    violations = tuple(direction_violations(model))
    metrics["direction_violations"] = float(len(violations))
    metrics["n_features"] = float(len(model.features))
    if ceiling is not None:
        values = [v for v in ceiling.get("oot", {}).values() if v is not None]
        if values:
            metrics["oot_auc_ceiling"] = float(np.mean(values))
            metrics["oot_auc_share_of_ceiling"] = metrics["oot_auc"] / metrics["oot_auc_ceiling"]
    # KS curve of the out-of-time split, by score (higher score = safer)
    y_oot, _, s_oot = scored["oot"]
    ks_oot = ks_curve(y_oot, s_oot)
    by_region = pl.concat(region_parts).rename({"group": "region_code"})
    return Evaluation(
        metrics=metrics,
        by_split=pl.DataFrame(split_rows),
        by_region=by_region.select("split", pl.exclude("split")),
        calibration=calibration.select("split", pl.exclude("split")),
        psi_table=psi_t,
        roc=pl.concat(roc_rows),
        ks_curve=ks_oot,
        scores=pl.concat(score_parts),
        violations=violations,
        ceiling=ceiling,
    )


# --------------------------------------------------------------------------- provenance


@dataclass(frozen=True, slots=True)
class FittedRun:
    """One model fitted and measured on a segment's credit file, ready to be logged.

    :func:`scoring.tracking.train_and_log` logs it as is, so a notebook that shows the
    evaluation and then logs the run fits the model once.
    """

    segment: str
    model_type: str
    model: CreditModel
    evaluation: Evaluation
    fingerprint: dict[str, Any]
    """:func:`data_fingerprint` of the credit file and the splits the model saw."""
    params: dict[str, Any]
    """:func:`model_params`: the settings logged with the run."""
    splits: dict[str, pl.DataFrame]


def fit_and_evaluate(config: WorkbenchConfig, *, segment: str, model_type: str) -> FittedRun:
    """Read the credit file, split it, fit one model and evaluate it on every split.

    Raises
    ------
    InputFileError, DataError, ModelError
        When the credit file is missing or cannot train a model.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> fit_and_evaluate(load_config(), segment="sme", model_type="forest")
    Traceback (most recent call last):
    ...
    scoring.exceptions.ConfigError: 'model_type' must be one of scorecard, gbm; got 'forest'.
    """
    _check_segment(segment)
    _check_model_type(model_type)
    data = read_credit_file(config, segment=segment)
    splits = split_credit_file(data, config.model)
    model = fit_credit_model(
        splits["train"], segment=segment, model_type=model_type, config=config.model
    )
    ev = evaluate(model, splits, config=config.model, ceiling=read_ceiling(config, segment=segment))
    return FittedRun(
        segment=segment,
        model_type=model_type,
        model=model,
        evaluation=ev,
        fingerprint=data_fingerprint(
            credit_file_path(config, segment=segment), splits, config=config.model
        ),
        params=model_params(config.model, segment=segment, model_type=model_type),
        splits=splits,
    )


def git_commit(folder: Path) -> tuple[str, bool] | None:
    """The commit checked out in ``folder`` and whether the tree has changes, or None.

    Examples
    --------
    >>> git_commit(Path("/")) is None
    True
    """
    try:
        head = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head, bool(dirty)


def package_versions() -> dict[str, str]:
    """Installed versions of :data:`PACKAGES`, mlflow and this workbench.

    Examples
    --------
    >>> sorted(package_versions())[:3]
    ['gd-credit-workbench', 'lightgbm', 'mlflow']
    """
    out = {}
    for name in (*PACKAGES, "mlflow", "gd-credit-workbench"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


# --------------------------------------------------------------------------- report files


def _html_table(frame: pl.DataFrame, *, title: str) -> str:
    def cell(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return "" if math.isnan(v) else f"{v:.6g}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in frame.iter_rows()
    )
    style = (
        "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
        "td,th{border:1px solid #c9d1dc;padding:2px 8px;text-align:right}"
        "th{background:#eef2f7}"
    )
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{style}</style></head><body><h2>{html.escape(title)}</h2>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>"
    )


def _write_table(frame: pl.DataFrame, folder: Path, name: str, *, title: str) -> None:
    flat = frame.with_columns(
        pl.col(c).list.join(", ") for c, t in frame.schema.items() if t == pl.List(pl.String)
    )
    flat = flat.select(
        pl.col(c).cast(pl.String) if isinstance(t, pl.List) else pl.col(c)
        for c, t in flat.schema.items()
    )
    flat.write_csv(folder / f"{name}.csv")
    (folder / f"{name}.html").write_text(_html_table(flat, title=title), encoding="utf-8")


def _fmt(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _model_card(
    model: CreditModel,
    ev: Evaluation,
    *,
    fingerprint: Mapping[str, Any],
    params: Mapping[str, Any],
    config: ModelConfig,
) -> str:
    seg_text = {"sme": "SMEs (中小微企业)", "household": "rural households (农户)"}[model.segment]
    kind = {
        "scorecard": "points scorecard (optimal WoE binning, IV selection, logistic regression)",
        "gbm": "gradient boosting (LightGBM, monotone constraints, calibrated), the ML challenger",
    }[model.model_type]
    m = ev.metrics
    lines = [
        f"# Model card: {model.segment} credit model ({model.model_type})",
        "",
        "## Purpose",
        f"Probability of default of {seg_text} within 12 months of a snapshot date "
        "(default = 90+ days past due), as a score, a master-scale grade, a PD and the "
        "top-3 reasons (code, Chinese, English). Input: raw credit-file rows "
        "(`scoring collect`); the binning lives inside the model. Used for bank exports "
        "of consented entities and for the pilot's dashboards (aggregates only). Not for "
        "decisions without human review: reasons must be explainable and contestable "
        "(PIPL Art.24).",
        "",
        f"Model: {kind}; {len(model.features)} input features: "
        + ", ".join(f"`{f}`" for f in model.features)
        + ".",
        "",
        "## Data",
        f"Credit file `{fingerprint['file']}` (SHA-256 `{fingerprint['file_sha256'][:16]}...`), "
        "observable rows only. Training snapshots "
        f"{', '.join(fingerprint['train_snapshots'])} (test: {config.test_share:.0%} of "
        f"entities held out), out-of-time {', '.join(fingerprint['oot_snapshots'])}.",
        "",
        "| split | rows | defaults |",
        "|---|---|---|",
        *(f"| {s} | {fingerprint['rows'][s]} | {fingerprint['defaults'][s]} |" for s in SPLITS),
        "",
        f"Data fingerprint `{fingerprint['fingerprint']}`. No entity id, name or resident id "
        "number is stored in this run's artifacts; the input example holds feature values only.",
        "",
        "## Performance",
        "| split | AUC | Gini | KS | Brier | default rate | mean PD |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {s} | {_fmt(m[f'{s}_auc'])} | {_fmt(m[f'{s}_gini'])} | {_fmt(m[f'{s}_ks'])} "
            f"| {_fmt(m[f'{s}_brier'], 4)} | {_fmt(m[f'{s}_bad_rate'], 4)} "
            f"| {_fmt(m[f'{s}_mean_pd'], 4)} |"
            for s in SPLITS
        ),
        "",
        f"Score PSI training -> out-of-time: {_fmt(m['psi_train_oot'])} "
        f"(gate limit {config.gate.max_psi}).",
    ]
    if ev.ceiling is not None and "oot_auc_ceiling" in m:
        lines += [
            "",
            f"Against the truth ceiling (AUC of the synthetic province's true PD on the same "
            f"out-of-time snapshots, evaluation only): ceiling {_fmt(m['oot_auc_ceiling'])}, "
            f"model {_fmt(m['oot_auc'])} = {m['oot_auc_share_of_ceiling']:.1%} of it.",
        ]
    share = m.get("oot_calibration_in_band_share")
    lines += [
        "",
        "Calibration by grade (out-of-time): grade PD within the "
        f"{config.gate.calibration_confidence:.0%} interval of the observed default rate in "
        f"{_fmt(share, 2) if share is not None else 'n/a'} of the "
        f"{int(m['oot_calibration_grades_checked'])} grades with at least "
        f"{config.gate.calibration_min_count} rows (`calibration.csv`).",
        "",
        "## Limits",
        "- Trained on "
        + ("synthetic" if ev.ceiling is not None else "the configured")
        + " department records of a pilot period; the outcome window is 12 months, so the "
        "latest snapshot has no observable outcome yet and is scored but not evaluated.",
        "- Defaults are rare: per-region and per-grade figures on few defaults are noisy "
        "(see the interval columns); regions under "
        f"{config.region_min_count} rows get no AUC.",
        "- The expected direction of every feature (feature dictionary) is imposed "
        "(binning trend / monotone constraint); "
        + (
            "violations: " + "; ".join(ev.violations)
            if ev.violations
            else "no feature's effect contradicts it."
        ),
        "- Negative records older than the retention period are not used (collection rules).",
        *(f"- Fitting: {note}" for note in model.fit_notes),
        "",
        "## Fairness across regions",
    ]
    oot = ev.by_region.filter(pl.col("split") == "oot").sort("region_code")
    rated = oot.filter(pl.col("auc").is_not_null())
    if rated.height:
        aucs = rated.get_column("auc")
        lines.append(
            f"Out-of-time AUC by region ranges from {_fmt(aucs.min())} to {_fmt(aucs.max())} "  # type: ignore[arg-type]
            f"over the {rated.height} regions with at least {config.region_min_count} rows "
            "and both outcomes. A gap between mean PD and the default rate flags a region "
            "the model over- or under-rates."
        )
    lines += [
        "",
        "| region | rows | defaults | default rate | mean PD | AUC |",
        "|---|---|---|---|---|---|",
    ]
    for row in oot.iter_rows(named=True):
        lines.append(
            f"| {row['region_code']} {region_name(row['region_code'])} | {row['n']} "
            f"| {row['bads']} | {_fmt(row['bad_rate'], 4)} | {_fmt(row['mean_pd'], 4)} "
            f"| {_fmt(row['auc'])} |"
        )
    lines += [
        "",
        "## Settings",
        "",
        "| parameter | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in params.items()),
        "",
    ]
    return "\n".join(lines)


def write_report(
    model: CreditModel,
    ev: Evaluation,
    folder: Path,
    *,
    fingerprint: Mapping[str, Any],
    params: Mapping[str, Any],
    config: ModelConfig,
) -> list[Path]:
    """Write the run's report files into ``folder`` (created); return their paths.

    ``model_card.md``; ``fingerprint.json``; ``metrics/`` (by split, by region,
    calibration by grade, PSI bins); ``bins/`` (bin tables; for the challenger the
    monotone constraints and feature importances); ``scorecard/`` (points table, CSV,
    HTML and JSON; scorecard only); ``charts.html`` (ROC, KS, calibration by grade and
    score by region: one self-contained plotly page).
    """
    from scoring import plots

    folder.mkdir(parents=True, exist_ok=True)
    for sub in ("metrics", "bins"):
        (folder / sub).mkdir(exist_ok=True)
    (folder / "fingerprint.json").write_text(
        json.dumps(fingerprint, indent=2, sort_keys=True), encoding="utf-8"
    )
    _write_table(ev.by_split, folder / "metrics", "by_split", title="Metrics by split")
    _write_table(ev.by_region, folder / "metrics", "by_region", title="Metrics by region")
    _write_table(ev.calibration, folder / "metrics", "calibration", title="Calibration by grade")
    _write_table(ev.psi_table, folder / "metrics", "psi_train_oot", title="Score PSI")
    _write_table(
        model.master_scale.grade_table_, folder / "metrics", "master_scale", title="Master scale"
    )
    est = model.estimator
    if isinstance(est, Scorecard):
        (folder / "scorecard").mkdir(exist_ok=True)
        _write_table(est.binner_.bin_table(), folder / "bins", "bin_table", title="Bin tables")
        _write_table(est.table(), folder / "scorecard", "scorecard", title="Scorecard")
        _write_table(est.selection_log_, folder / "scorecard", "selection_log", title="Selection")
        (folder / "scorecard" / "scorecard.json").write_text(est.to_json(), encoding="utf-8")
    else:
        _write_table(
            est.constraint_table_, folder / "bins", "constraints", title="Monotone constraints"
        )
        importance = pl.DataFrame(
            {"feature": est.feature_names_, "gain_share": est.feature_importances_}
        ).sort("gain_share", descending=True)
        _write_table(importance, folder / "bins", "importance", title="Feature importance")
    oot_cal = ev.calibration.filter(pl.col("split") == "oot")
    charts = {
        "roc": ("ROC 曲线 ROC by split", plots.roc_chart(ev.roc)),
        "ks": ("KS 曲线 KS (out-of-time)", plots.ks_chart(ev.ks_curve)),
        "calibration": (
            "分等级校准 Calibration by grade (out-of-time)",
            plots.calibration_chart(oot_cal),
        ),
        "score_by_region": (
            "分地区评分分布 Score by region (out-of-time)",
            plots.score_by_region_chart(ev.scores.filter(pl.col("split") == "oot")),
        ),
    }
    page = plots.figures_html(
        list(charts.values()), title=f"{model.segment} {model.model_type}: model report"
    )
    (folder / "charts.html").write_text(page, encoding="utf-8")
    (folder / "model_card.md").write_text(
        _model_card(model, ev, fingerprint=fingerprint, params=params, config=config),
        encoding="utf-8",
    )
    return sorted(p for p in folder.rglob("*") if p.is_file())
