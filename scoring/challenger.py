"""The ML challenger: monotone-constrained, calibrated gradient boosting (LightGBM).

:class:`GBMChallenger` competes with the scorecard on equal terms: the same
``predict_proba`` / ``points`` / ``grades`` / ``reasons`` interface, the same
:class:`~scoring.grades.PointsScaling` and :class:`~scoring.grades.MasterScale`.

How it is fitted
----------------
1. Monotone constraints: given per feature, or (``"auto"``) taken from the WoE trends of a
   :class:`~scoring.binning.WoEBinner` fitted on the same data (+1: the bad rate rises
   with the feature, so the model's risk may only rise with it; -1: falls; 0: free).
   Features binned as a peak or valley, non-binary features with fewer than three bins
   and features with IV below 0.02 stay free (``constraint_table_`` says which and why).
   String columns are LightGBM categorical features and never constrained. LightGBM's
   "intermediate" constraint method is used: "advanced" breaks the constraint on rows
   with missing values (LightGBM issue #6155, reproduced with 4.7).
2. Cross-fitting: the rows are split into ``n_splits`` stratified folds (one stratified
   hold-out of ``validation_fraction`` when ``n_splits == 1``). For each fold a booster is
   trained on the other rows with early stopping on the fold, then calibrated on the
   same held-out fold (Platt or isotonic, via scikit-learn's ``CalibratedClassifierCV``
   over a ``FrozenEstimator``). The PD is the mean of the calibrated fold PDs, as in
   ``CalibratedClassifierCV(ensemble=True)``; every row used to calibrate a booster was
   unseen by it.
3. Grades: a :class:`~scoring.grades.MasterScale` fitted on out-of-fold calibrated PDs,
   so the grade PDs are not flattered by in-sample fit.

Reasons come from LightGBM's per-feature contributions (``pred_contrib``) to the log-odds
of default, averaged over the fold boosters: the features that pushed risk up most.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils.validation import column_or_1d

from scoring.binning import WoEBinner
from scoring.exceptions import ConfigError, DataError, ModelError, NotFittedError
from scoring.grades import MasterScale, PointsScaling

__all__ = ["REASON_TEMPLATE", "GBMChallenger"]

FloatArray = npt.NDArray[np.float64]

REASON_TEMPLATE: tuple[str, str] = ("{label}得分偏低", "{label} lowered the score")
"""Chinese and English reason text; ``{label}`` is the feature's label (or its name).
The same texts and codes as :meth:`scoring.scorecard.Scorecard.reasons`."""

_PD_CLIP = 1e-5
"""Calibrated PDs are kept in ``[1e-5, 1 - 1e-5]``: isotonic calibration can return 0."""

_AUTO_SPLITS_MAX_ROWS = 200_000

_THREADED_MIN_ROWS = 20_000

_MIN_TREND_BINS = 3
"""``"auto"`` constrains a non-binary feature only when its WoE rises or falls over at
least this many bins."""

_MIN_TREND_IV = 0.02
"""``"auto"`` constrains a feature only when its binning IV reaches this."""

_TREND_MAX_ROWS = 200_000
"""``"auto"`` reads the WoE trends from at most this many rows."""

_CONSTRAINT_SCHEMA = {
    "feature": pl.String,
    "constraint": pl.Int64,
    "iv": pl.Float64,
    "reason": pl.String,
}


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


class _FoldBooster(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A trained booster seen by scikit-learn as a fitted classifier (for calibration).

    ``decision_function`` is the raw log-odds of default, so Platt scaling works on the
    log-odds scale rather than on already squashed probabilities.
    """

    def __init__(self, booster: lgb.Booster | None = None) -> None:
        self.booster = booster

    def __sklearn_is_fitted__(self) -> bool:
        return self.booster is not None

    @property
    def classes_(self) -> npt.NDArray[np.int64]:
        return np.array([0, 1], dtype=np.int64)

    def fit(self, X: Any, y: Any) -> _FoldBooster:  # pragma: no cover - always frozen
        raise ModelError("'_FoldBooster' must be used frozen; got a call to 'fit'.")

    def decision_function(self, X: Any) -> FloatArray:
        assert self.booster is not None  # guarded by FrozenEstimator's fitted check
        out: FloatArray = np.asarray(
            self.booster.predict(X, raw_score=True, num_iteration=self.booster.best_iteration),
            dtype=np.float64,
        )
        return out

    def predict_proba(self, X: Any) -> FloatArray:
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> npt.NDArray[np.int64]:
        return (self.decision_function(X) > 0).astype(np.int64)


class GBMChallenger(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Calibrated LightGBM classifier with monotone constraints, points, grades and reasons.

    Parameters
    ----------
    monotone_constraints : mapping of str to int, "auto" or None, default "auto"
        Per-feature direction of the risk: +1 (risk may only rise with the feature), -1
        (only fall) or 0 (free); features left out are free. ``"auto"`` takes the WoE
        trends (``monotonic_trends_``) of a default :class:`~scoring.binning.WoEBinner`
        fitted on the training data; features it bins as a peak or valley, non-binary
        features with fewer than 3 bins and features with IV below 0.02 stay free (see
        ``constraint_table_``).
        ``None`` leaves every feature free.
    categorical_features : sequence of str, optional
        Numeric columns to treat as categorical codes, in addition to string columns.
    calibration : {"sigmoid", "isotonic", "none"}, default "sigmoid"
        Platt scaling on the log-odds, isotonic regression, or none (the booster's own
        probabilities). Sigmoid keeps the rank order and needs few bads; isotonic is more
        flexible but needs thousands of held-out rows.
    n_splits : int or "auto", default "auto"
        Folds for cross-fitting; 1 means a single hold-out of ``validation_fraction``.
        ``"auto"`` is 5 below 200,000 rows and 1 from there on, where one hold-out is
        enough and five boosters would cost five times the time.
    validation_fraction : float, default 0.2
        Share of rows held out when ``n_splits == 1``.
    learning_rate : float, default 0.05
        Shrinkage per boosting round.
    max_rounds : int, default 2000
        Upper limit of boosting rounds; early stopping usually ends sooner.
    early_stopping_rounds : int, default 100
        Stop when the held-out log loss has not improved for this many rounds.
    num_leaves : int, default 7
        Leaves per tree; small trees suit noisy credit outcomes (5-7 leaves beat 15 by
        0.001-0.004 AUC on six public credit data sets).
    min_child_samples : int or "auto", default "auto"
        Minimum rows per leaf; ``"auto"`` is 0.5 % of the training rows, between 20
        and 500, which keeps leaves from fitting a handful of bads.
    subsample : float, default 0.8
        Share of rows drawn for each tree (bagging).
    colsample_bytree : float, default 0.8
        Share of features drawn for each tree.
    reg_lambda : float, default 5.0
        L2 penalty on leaf values.
    scale_pos_weight : float, default 1.0
        Weight of the bads while boosting; the calibration maps the resulting skewed
        probabilities back to PDs.
    scaling : PointsScaling, optional
        Points scaling for :meth:`points`; default ``PointsScaling()`` (600 points at
        50:1, PDO 20).
    segment : {"sme", "household"}, default "sme"
        Grade labels of the master scale.
    pd_bounds : sequence of float, optional
        Grade PD limits of the master scale (see :class:`~scoring.grades.MasterScale`).
    feature_labels : mapping of str to (str, str), optional
        Chinese and English label per feature for :meth:`reasons`.
    random_state : int or None, default 0
        Seed of the folds, the bagging and the feature sampling.
    n_jobs : int, default 2
        LightGBM threads (one below 20,000 training rows, where more only add overhead)
        and binning threads for ``"auto"`` constraints.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        ``[0, 1]``; 1 = default.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of str
        Feature names, when fit on a DataFrame.
    categorical_features_ : list of str
        Features treated as categorical.
    categories_ : dict of str to list of str
        Levels of each categorical feature seen in fit (unseen levels score as missing).
    monotone_constraints_ : dict of str to int
        The constraint applied to each feature.
    constraint_table_ : polars.DataFrame
        feature, constraint, iv, reason: how each constraint was set (the binning IV
        only with ``"auto"``).
    boosters_ : list of lightgbm.Booster
        One booster per fold.
    calibrators_ : list of CalibratedClassifierCV
        The calibrator of each fold (empty when ``calibration == "none"``).
    best_iterations_ : list of int
        Rounds kept by early stopping, per fold.
    oof_pd_ : ndarray of shape (n_samples,)
        Out-of-fold calibrated PD (NaN for rows never held out).
    master_scale_ : MasterScale
        The master scale fitted on the out-of-fold PDs.
    feature_importances_ : ndarray of shape (n_features,)
        Total gain per feature, averaged over the folds, summing to 1.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n = 3000
    >>> X = pl.DataFrame({
    ...     "debt_ratio": rng.uniform(0, 1, n),
    ...     "years_in_business": rng.integers(0, 30, n).astype(float),
    ...     "sector": rng.choice(["retail", "farm", "factory"], n),
    ... })
    >>> logit = -4.0 + 3.0 * X["debt_ratio"].to_numpy() - 0.05 * X["years_in_business"].to_numpy()
    >>> y = rng.binomial(1, 1 / (1 + np.exp(-logit)))
    >>> model = GBMChallenger(
    ...     monotone_constraints={"debt_ratio": 1, "years_in_business": -1}, n_splits=2
    ... ).fit(X, y)
    >>> model.predict_proba(X).shape
    (3000, 2)
    >>> model.points(X.head(2)).dtype
    dtype('int64')
    >>> model.reasons(X.head(1), k=1).columns
    ['reason_1_code', 'reason_1_zh', 'reason_1_en']
    """

    def __init__(
        self,
        *,
        monotone_constraints: Mapping[str, int] | Literal["auto"] | None = "auto",
        categorical_features: Sequence[str] | None = None,
        calibration: Literal["sigmoid", "isotonic", "none"] = "sigmoid",
        n_splits: int | Literal["auto"] = "auto",
        validation_fraction: float = 0.2,
        learning_rate: float = 0.05,
        max_rounds: int = 2000,
        early_stopping_rounds: int = 100,
        num_leaves: int = 7,
        min_child_samples: int | Literal["auto"] = "auto",
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 5.0,
        scale_pos_weight: float = 1.0,
        scaling: PointsScaling | None = None,
        segment: Literal["sme", "household"] = "sme",
        pd_bounds: Sequence[float] | None = None,
        feature_labels: Mapping[str, tuple[str, str]] | None = None,
        random_state: int | None = 0,
        n_jobs: int = 2,
    ) -> None:
        self.monotone_constraints = monotone_constraints
        self.categorical_features = categorical_features
        self.calibration = calibration
        self.n_splits = n_splits
        self.validation_fraction = validation_fraction
        self.learning_rate = learning_rate
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.scale_pos_weight = scale_pos_weight
        self.scaling = scaling
        self.segment = segment
        self.pd_bounds = pd_bounds
        self.feature_labels = feature_labels
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ validation
    def _validate_params(self) -> None:
        if self.calibration not in ("sigmoid", "isotonic", "none"):
            raise ConfigError(
                "'calibration' must be one of 'sigmoid', 'isotonic', 'none'; "
                f"got {self.calibration!r}."
            )
        if self.n_splits != "auto" and not (_is_int(self.n_splits) and self.n_splits >= 1):
            raise ConfigError(
                f"'n_splits' must be a positive integer or 'auto'; got {self.n_splits!r}."
            )
        checks: list[tuple[str, Any, float, float, bool, bool]] = [
            # name, value, low, high, low inclusive, high inclusive
            ("validation_fraction", self.validation_fraction, 0.0, 1.0, False, False),
            ("learning_rate", self.learning_rate, 0.0, math.inf, False, False),
            ("subsample", self.subsample, 0.0, 1.0, False, True),
            ("colsample_bytree", self.colsample_bytree, 0.0, 1.0, False, True),
            ("reg_lambda", self.reg_lambda, 0.0, math.inf, True, False),
            ("scale_pos_weight", self.scale_pos_weight, 0.0, math.inf, False, False),
        ]
        for name, value, lo, hi, lo_inc, hi_inc in checks:
            ok = _is_real(value) and math.isfinite(float(value))
            if ok:
                v = float(value)
                ok = (v >= lo if lo_inc else v > lo) and (v <= hi if hi_inc else v < hi)
            if not ok:
                left, right = "[" if lo_inc else "(", "]" if hi_inc else ")"
                raise ConfigError(f"'{name}' must be in {left}{lo}, {hi}{right}; got {value!r}.")
        for name, value, low in [
            ("max_rounds", self.max_rounds, 1),
            ("early_stopping_rounds", self.early_stopping_rounds, 1),
            ("num_leaves", self.num_leaves, 2),
            ("n_jobs", self.n_jobs, 1),
        ]:
            if not (_is_int(value) and value >= low):
                raise ConfigError(f"'{name}' must be an integer >= {low}; got {value!r}.")
        if self.min_child_samples != "auto" and not (
            _is_int(self.min_child_samples) and self.min_child_samples >= 1
        ):
            raise ConfigError(
                "'min_child_samples' must be a positive integer or 'auto'; "
                f"got {self.min_child_samples!r}."
            )
        if self.scaling is not None and not isinstance(self.scaling, PointsScaling):
            raise ConfigError(f"'scaling' must be a PointsScaling or None; got {self.scaling!r}.")
        if self.random_state is not None and not _is_int(self.random_state):
            raise ConfigError(
                f"'random_state' must be an integer or None; got {self.random_state!r}."
            )
        if self.feature_labels is not None:
            if not isinstance(self.feature_labels, Mapping):
                raise ConfigError(
                    "'feature_labels' must be a mapping of feature to (zh, en); "
                    f"got {type(self.feature_labels).__name__}."
                )
            for key, pair in self.feature_labels.items():
                if not (
                    isinstance(pair, tuple | list)
                    and len(pair) == 2
                    and all(isinstance(t, str) for t in pair)
                ):
                    raise ConfigError(
                        f"'feature_labels[{key!r}]' must be a (zh, en) pair of str; got {pair!r}."
                    )

    # ------------------------------------------------------------------ input
    @staticmethod
    def _to_frame(X: Any) -> tuple[pl.DataFrame, bool]:
        """Any supported input as a polars DataFrame; second item: it came with names."""
        if isinstance(X, pl.LazyFrame):
            X = X.collect()
        if isinstance(X, pl.DataFrame):
            return X, True
        if hasattr(X, "columns") and hasattr(X, "iloc"):  # pandas DataFrame
            frame = pl.from_pandas(X.rename(columns=str))
            return frame, True
        if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
            raise DataError(
                "'X' must be a dense table (polars, pandas or numpy); sparse input is not "
                f"supported; got {type(X).__name__}."
            )
        try:
            arr = np.asarray(X)
        except (TypeError, ValueError) as exc:
            raise DataError(f"'X' must be a table of features; got {type(X).__name__}.") from exc
        if arr.ndim != 2:
            raise DataError(
                f"'X' must be two-dimensional (rows x features); got shape {arr.shape}. "
                "Reshape your data with X.reshape(-1, 1) for a single feature."
            )
        if arr.dtype.kind == "c":
            raise DataError(
                f"'X' must be real numbers or strings; got dtype {arr.dtype} "
                "(Complex data not supported)."
            )
        names = [f"x{i}" for i in range(arr.shape[1])]
        if arr.dtype.kind in "biuf":
            return pl.DataFrame(arr.astype(np.float64), schema=names, orient="row"), False
        cols: dict[str, pl.Series] = {}
        for i, name in enumerate(names):
            col = arr[:, i]
            try:
                cols[name] = pl.Series(name, col.astype(np.float64))
            except (TypeError, ValueError):
                cols[name] = pl.Series(
                    name, [None if v is None else str(v) for v in col.tolist()], dtype=pl.String
                )
        return pl.DataFrame(cols), False

    @staticmethod
    def _target(y: Any, n_rows: int) -> npt.NDArray[np.int8]:
        if y is None:
            raise DataError(
                "'y' must be the 0/1 default flag: this estimator requires y to be passed, "
                "but the target y is None."
            )
        if isinstance(y, pl.Series) or (hasattr(y, "to_numpy") and not isinstance(y, np.ndarray)):
            y = y.to_numpy()
        arr = np.asarray(y)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = column_or_1d(arr, warn=True)
        if arr.ndim != 1 or arr.shape[0] != n_rows:
            raise DataError(
                f"'y' must be one-dimensional with {n_rows} rows; got shape {arr.shape}."
            )
        if arr.dtype == bool:
            return arr.astype(np.int8)
        if arr.dtype == object:
            with contextlib.suppress(TypeError, ValueError):  # strings are reported below
                arr = arr.astype(np.float64)
        values = np.unique(arr.astype(str)) if arr.dtype.kind not in "biuf" else np.unique(arr)
        shown = [str(v) for v in values[:5].tolist()]
        if arr.dtype.kind not in "biuf" or arr.dtype.kind == "c":
            raise DataError(f"'y' must be binary 0/1 with 1 = default; got values {shown}.")
        f = arr.astype(np.float64)
        if np.isnan(f).any():
            raise DataError(
                f"'y' must be binary 0/1 without missing values; got {int(np.isnan(f).sum())} NaN."
            )
        if not np.all(f == np.round(f)):
            raise DataError(
                f"'y' must be binary 0/1 with 1 = default; got continuous values {shown}."
            )
        if values.size > 2:
            raise DataError(
                f"'y' must be binary 0/1 with 1 = default; got {values.size} classes {shown}. "
                "Only binary classification is supported."
            )
        if not np.isin(f, (0.0, 1.0)).all():
            raise DataError(f"'y' must be binary 0/1 with 1 = default; got values {shown}.")
        return f.astype(np.int8)

    def _categorical_columns(self, frame: pl.DataFrame) -> list[str]:
        forced = list(self.categorical_features or [])
        unknown = [c for c in forced if c not in frame.columns]
        if unknown:
            raise ConfigError(
                f"'categorical_features' must name columns of X; got unknown {unknown}."
            )
        cats: list[str] = []
        for name, dtype in frame.schema.items():
            if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum) or name in forced:
                cats.append(name)
            elif not (dtype.is_numeric() or dtype == pl.Boolean or dtype == pl.Null):
                raise DataError(
                    f"'X' column {name!r} must be numeric or string; got dtype {dtype}."
                )
        return cats

    def _encode(self, frame: pl.DataFrame) -> FloatArray:
        """The LightGBM matrix: numeric as float (null -> NaN), categorical as level codes."""
        exprs: list[pl.Expr] = []
        for name in self.feature_names_:
            if name in self.categories_:
                mapping = {lvl: float(i) for i, lvl in enumerate(self.categories_[name])}
                exprs.append(
                    pl.col(name)
                    .cast(pl.String)
                    .replace_strict(mapping, default=None, return_dtype=pl.Float64)
                    .alias(name)
                )
            else:
                exprs.append(pl.col(name).cast(pl.Float64).alias(name))
        out: FloatArray = frame.select(exprs).to_numpy().astype(np.float64, copy=False)
        return np.ascontiguousarray(out)

    def _check_fitted(self) -> None:
        if not hasattr(self, "boosters_"):
            raise NotFittedError(
                "This GBMChallenger is not fitted yet; call 'fit' with X and y first."
            )

    def _scoring_frame(self, X: Any) -> pl.DataFrame:
        self._check_fitted()
        frame, named = self._to_frame(X)
        if self._fitted_with_names:
            if named:
                missing = [c for c in self.feature_names_ if c not in frame.columns]
                if missing:
                    raise DataError(
                        f"'X' must have the columns seen in fit; missing {missing[:10]}."
                    )
                return frame.select(self.feature_names_)
            if frame.width != len(self.feature_names_):
                raise DataError(
                    f"'X' must have {len(self.feature_names_)} columns as in fit; "
                    f"got {frame.width}."
                )
            return frame.rename(dict(zip(frame.columns, self.feature_names_, strict=True)))
        if frame.width != self.n_features_in_:
            raise DataError(
                f"'X' must have {self.n_features_in_} features as in fit; got {frame.width}."
            )
        return frame.rename(dict(zip(frame.columns, self.feature_names_, strict=True)))

    # ------------------------------------------------------------------ constraints
    def _resolve_constraints(
        self, frame: pl.DataFrame, y: npt.NDArray[np.int8], cats: list[str]
    ) -> dict[str, int]:
        names = list(frame.columns)
        spec = self.monotone_constraints
        if spec is None:
            return dict.fromkeys(names, 0)
        if isinstance(spec, str):
            if spec != "auto":
                raise ConfigError(
                    f"'monotone_constraints' must be a mapping, 'auto' or None; got {spec!r}."
                )
            return self._auto_constraints(frame, y, cats)
        if not isinstance(spec, Mapping):
            raise ConfigError(
                "'monotone_constraints' must be a mapping, 'auto' or None; "
                f"got {type(spec).__name__}."
            )
        unknown = [k for k in spec if k not in names]
        if unknown:
            raise ConfigError(
                f"'monotone_constraints' must name features of X; got unknown {unknown[:10]}."
            )
        out = dict.fromkeys(names, 0)
        for key, value in spec.items():
            if not (_is_int(value) and value in (-1, 0, 1)):
                raise ConfigError(
                    f"'monotone_constraints[{key!r}]' must be -1, 0 or 1; got {value!r}."
                )
            if value != 0 and key in cats:
                raise ConfigError(
                    f"'monotone_constraints[{key!r}]' must be 0 for a categorical feature; "
                    f"got {value}."
                )
            out[key] = int(value)
        return out

    def _auto_constraints(
        self, frame: pl.DataFrame, y: npt.NDArray[np.int8], cats: list[str]
    ) -> dict[str, int]:
        """Constraints from ``WoEBinner().monotonic_trends_`` on the numeric features.

        The binner picks ascending or descending WoE by IV, or a peak / valley shape
        when its IV gain is too large to be noise; peak, valley and single-bin features
        get trend 0 and stay free here. So do non-binary features with fewer than
        ``_MIN_TREND_BINS`` bins: two bins are monotone whatever the shape, and for an
        integer-coded category (education 1..6, say) they prove no order. The binning
        reads at most ``_TREND_MAX_ROWS`` rows (a seeded sample).
        """
        names = list(frame.columns)
        numeric = [c for c in names if c not in cats]
        out = dict.fromkeys(names, 0)
        rows: list[dict[str, Any]] = []
        if numeric:
            sub, ys = frame.select(numeric), y
            if frame.height > _TREND_MAX_ROWS:
                rng = check_random_state(self.random_state)
                take = np.sort(rng.choice(frame.height, _TREND_MAX_ROWS, replace=False))
                sub, ys = sub[take], y[take]
            binner = WoEBinner(n_jobs=self.n_jobs).fit(sub, ys)
            for c in numeric:
                if c in binner.dropped_features_:
                    trend, iv, reason = (
                        0,
                        None,
                        f"dropped by the binning: {binner.dropped_features_[c]}",
                    )
                else:
                    trend = int(np.sign(binner.monotonic_trends_.get(c, 0)))
                    iv = float(binner.iv_.get(c, 0.0))
                    reason = "monotone WoE" if trend else "peak, valley or single bin: left free"
                    binary = sub[c].drop_nulls().n_unique() <= 2
                    if trend and not binary and binner.bins_[c].n_regular < _MIN_TREND_BINS:
                        # two bins always look monotone; on a coded or lumpy feature they
                        # say nothing about the order of the values inside each bin
                        trend = 0
                        reason = f"fewer than {_MIN_TREND_BINS} bins: left free"
                    elif trend and iv < _MIN_TREND_IV:
                        # a weak marginal trend is the likeliest to reverse once the other
                        # features are known (bill amount given the credit limit, say)
                        trend = 0
                        reason = f"IV below {_MIN_TREND_IV}: left free"
                out[c] = trend
                rows.append({"feature": c, "constraint": trend, "iv": iv, "reason": reason})
        rows.extend(
            {"feature": c, "constraint": 0, "iv": None, "reason": "categorical"} for c in cats
        )
        self.constraint_table_ = pl.DataFrame(rows, schema=_CONSTRAINT_SCHEMA)
        return out

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any) -> GBMChallenger:
        """Fit the fold boosters, their calibrators and the master scale.

        Parameters
        ----------
        X : polars.DataFrame, pandas.DataFrame or array-like of shape (n, p)
            Features; string columns are categorical, nulls are allowed.
        y : array-like of shape (n,)
            Default flag, 0/1 or bool, 1 = default.

        Returns
        -------
        GBMChallenger
            The fitted model.

        Raises
        ------
        DataError
            When ``y`` is not binary, ``X`` has unusable columns or too few rows.
        ModelError
            When there are too few bads or goods to hold out and calibrate.
        """
        self._validate_params()
        frame, named = self._to_frame(X)
        yv = self._target(y, frame.height)
        if frame.width == 0:
            raise DataError(
                f"'X' must have at least one feature; got 0 feature(s) (shape=({frame.height}, 0))"
                " while a minimum of 1 is required."
            )
        n_bad = int(yv.sum())
        n_good = int(yv.size - n_bad)
        cats = self._categorical_columns(frame)

        min_class = min(n_bad, n_good)
        if min_class < 2:
            raise ModelError(
                "'y' must contain both classes (0 = good, 1 = default) with at least 2 rows "
                f"each; got {n_bad} bads and {n_good} goods"
                + (" (one class only)." if min_class == 0 else ".")
            )
        if self.n_splits == "auto":
            n_splits = 5 if frame.height < _AUTO_SPLITS_MAX_ROWS else 1
            n_splits = min(n_splits, min_class)
        else:
            n_splits = int(self.n_splits)
            if n_splits > min_class:
                raise ModelError(
                    f"'n_splits' must be at most the number of rows of the rarer class "
                    f"({min_class}); got {n_splits}."
                )
        if n_splits == 1 and min(n_bad, n_good) * self.validation_fraction < 1:
            raise ModelError(
                f"'validation_fraction' must leave at least one bad and one good in the "
                f"hold-out; got {self.validation_fraction} of {n_bad} bads and {n_good} goods."
            )

        self._fitted_with_names = named
        self.feature_names_ = list(frame.columns)
        if named:
            self.feature_names_in_ = np.asarray(self.feature_names_, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.n_features_in_ = frame.width
        self.classes_ = np.array([0, 1], dtype=np.int64)
        self.categorical_features_ = cats
        self.categories_ = {
            c: sorted(frame[c].cast(pl.String).drop_nulls().unique().to_list()) for c in cats
        }
        self.monotone_constraints_ = self._resolve_constraints(frame, yv, cats)
        if self.monotone_constraints != "auto":
            given = self.monotone_constraints is not None
            self.constraint_table_ = pl.DataFrame(
                [
                    {
                        "feature": c,
                        "constraint": self.monotone_constraints_[c],
                        "iv": None,
                        "reason": "categorical"
                        if c in cats
                        else ("given" if given else "monotone_constraints=None"),
                    }
                    for c in self.feature_names_
                ],
                schema=_CONSTRAINT_SCHEMA,
            )
        matrix = self._encode(frame)

        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        if n_splits == 1:
            splitter: Any = StratifiedShuffleSplit(
                n_splits=1, test_size=self.validation_fraction, random_state=seed
            )
        else:
            splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        folds = list(splitter.split(np.zeros(yv.size), yv))

        n_train = int(np.mean([tr.size for tr, _ in folds]))
        params = self._lgb_params(n_train, seed)
        cat_idx = [self.feature_names_.index(c) for c in cats]
        full = lgb.Dataset(
            matrix,
            label=yv.astype(np.float64),
            # bads weighted as rows, not via LightGBM's scale_pos_weight, so that the
            # held-out loss used for early stopping is weighted the same way
            weight=None
            if self.scale_pos_weight == 1
            else np.where(yv == 1, float(self.scale_pos_weight), 1.0),
            feature_name=[f"f{i}" for i in range(frame.width)],
            categorical_feature=cat_idx,
            params={
                "verbosity": -1,
                "max_bin": 255,
                "feature_pre_filter": False,
                "min_data_in_bin": 3,
            },
            free_raw_data=False,
        ).construct()

        self.boosters_: list[lgb.Booster] = []
        self.calibrators_: list[CalibratedClassifierCV] = []
        self.best_iterations_: list[int] = []
        oof = np.full(yv.size, np.nan)
        for train_idx, valid_idx in folds:
            train_set = full.subset(np.sort(train_idx).tolist())
            valid_set = full.subset(np.sort(valid_idx).tolist())
            booster = lgb.train(
                params,
                train_set,
                num_boost_round=self.max_rounds,
                valid_sets=[valid_set],
                callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
            )
            if booster.best_iteration <= 0:
                booster.best_iteration = booster.current_iteration()
            self.boosters_.append(booster)
            self.best_iterations_.append(int(booster.best_iteration))
            Xv = matrix[valid_idx]
            if self.calibration == "none":
                oof[valid_idx] = _FoldBooster(booster).predict_proba(Xv)[:, 1]
            else:
                # one split whose test set is the whole fold: the frozen booster only
                # predicts, so sklearn's default 5-fold pass would add nothing
                whole = np.arange(valid_idx.size)
                calibrator = CalibratedClassifierCV(
                    FrozenEstimator(_FoldBooster(booster)),
                    method=self.calibration,
                    cv=[(whole, whole)],
                ).fit(Xv, yv[valid_idx])
                self.calibrators_.append(calibrator)
                oof[valid_idx] = calibrator.predict_proba(Xv)[:, 1]
        self.oof_pd_ = np.clip(oof, _PD_CLIP, 1.0 - _PD_CLIP)

        held = ~np.isnan(oof)
        self.master_scale_ = MasterScale(segment=self.segment, pd_bounds=self.pd_bounds).fit(
            self.oof_pd_[held], yv[held]
        )
        gains = np.zeros(frame.width)
        for booster in self.boosters_:
            g = booster.feature_importance(
                importance_type="gain", iteration=booster.best_iteration
            ).astype(np.float64)
            gains += g / g.sum() if g.sum() > 0 else g
        self.feature_importances_ = gains / max(gains.sum(), 1e-300)
        return self

    def _lgb_params(self, n_train: int, seed: int) -> dict[str, Any]:
        if self.min_child_samples == "auto":
            min_leaf = int(np.clip(round(0.005 * n_train), 20, 500))
        else:
            min_leaf = int(self.min_child_samples)
        constraints = [self.monotone_constraints_[c] for c in self.feature_names_]
        monotone: dict[str, Any] = {}
        if any(constraints):
            # "advanced" breaks the constraint on rows with missing values (LightGBM
            # issue #6155, reproduced with 4.7); "intermediate" holds it and is looser
            # than "basic". Without any constraint the method is left unset (issue #6841).
            monotone = {
                "monotone_constraints": constraints,
                "monotone_constraints_method": "intermediate",
            }
        return {
            **monotone,
            "objective": "binary",
            "metric": "binary_logloss",
            "learning_rate": float(self.learning_rate),
            "num_leaves": int(self.num_leaves),
            "min_data_in_leaf": min_leaf,
            "min_sum_hessian_in_leaf": 1e-3,
            "bagging_fraction": float(self.subsample),
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": float(self.colsample_bytree),
            "lambda_l2": float(self.reg_lambda),
            "min_data_per_group": max(10, min_leaf),
            "cat_smooth": 10.0,
            "cat_l2": 10.0,
            "max_cat_to_onehot": 4,
            "seed": seed,
            "deterministic": True,
            "force_col_wise": True,
            # below ~20k rows thread start-up costs more than it saves
            "num_threads": int(self.n_jobs) if n_train >= _THREADED_MIN_ROWS else 1,
            "verbosity": -1,
        }

    # ------------------------------------------------------------------ predict
    def _raw_scores(self, matrix: FloatArray) -> FloatArray:
        """Mean raw log-odds of default over the fold boosters (before calibration)."""
        total = np.zeros(matrix.shape[0])
        for booster in self.boosters_:
            total += np.asarray(
                booster.predict(matrix, raw_score=True, num_iteration=booster.best_iteration)
            )
        out: FloatArray = total / len(self.boosters_)
        return out

    def _pd(self, X: Any) -> FloatArray:
        matrix = self._encode(self._scoring_frame(X))
        if self.calibration == "none":
            pd_ = np.mean(
                [_FoldBooster(b).predict_proba(matrix)[:, 1] for b in self.boosters_], axis=0
            )
        else:
            pd_ = np.mean([c.predict_proba(matrix)[:, 1] for c in self.calibrators_], axis=0)
        out: FloatArray = np.clip(pd_, _PD_CLIP, 1.0 - _PD_CLIP)
        return out

    def predict_proba(self, X: Any) -> FloatArray:
        """Calibrated probabilities ``[P(good), P(default)]`` per row.

        Examples
        --------
        >>> rng = np.random.default_rng(1)
        >>> X = rng.normal(size=(2000, 2))
        >>> y = rng.binomial(1, 1 / (1 + np.exp(3 - 2 * X[:, 0])))
        >>> m = GBMChallenger(monotone_constraints=None, n_splits=2).fit(X, y)
        >>> p = m.predict_proba(X)
        >>> bool(np.allclose(p.sum(axis=1), 1.0)), bool(abs(p[:, 1].mean() - y.mean()) < 0.02)
        (True, True)
        """
        pd_ = self._pd(X)
        return np.column_stack([1.0 - pd_, pd_])

    def predict(self, X: Any) -> npt.NDArray[np.int64]:
        """Predicted class (1 = default) at a PD of 0.5; use :meth:`predict_proba` for PDs.

        Examples
        --------
        >>> rng = np.random.default_rng(1)
        >>> X = rng.normal(size=(1000, 1))
        >>> y = (X[:, 0] + rng.normal(size=1000) > 1.5).astype(int)
        >>> GBMChallenger(monotone_constraints=None, n_splits=2).fit(X, y).predict([[-3.0], [4.0]])
        array([0, 1])
        """
        bad = (self._pd(X) >= 0.5).astype(np.int64)
        out: npt.NDArray[np.int64] = self.classes_[bad]
        return out

    def points(self, X: Any) -> npt.NDArray[np.int64]:
        """Integer score from the calibrated PD via :class:`~scoring.grades.PointsScaling`.

        Examples
        --------
        >>> rng = np.random.default_rng(2)
        >>> X = rng.normal(size=(2000, 1))
        >>> y = rng.binomial(1, 1 / (1 + np.exp(3.5 - X[:, 0])))
        >>> m = GBMChallenger(monotone_constraints={"x0": 1}, n_splits=2).fit(X, y)
        >>> a, b = m.points([[-2.0], [2.0]])
        >>> bool(a > b)
        True
        """
        scaling = self.scaling if self.scaling is not None else PointsScaling()
        return np.rint(scaling.score_from_pd(self._pd(X))).astype(np.int64)

    def grades(self, X: Any) -> npt.NDArray[np.str_]:
        """Master-scale grade of each row.

        Examples
        --------
        >>> rng = np.random.default_rng(3)
        >>> X = rng.normal(size=(2000, 1))
        >>> y = rng.binomial(1, 1 / (1 + np.exp(3.5 - X[:, 0])))
        >>> m = GBMChallenger(monotone_constraints=None, n_splits=2, segment="household")
        >>> set(m.fit(X, y).grades(X).tolist()) <= {"AAA", "AA", "A", "BELOW_A"}
        True
        """
        return self.master_scale_.grade(self._pd(X))

    def contributions(self, X: Any) -> pl.DataFrame:
        """Per-feature contributions to the raw log-odds of default (mean over folds).

        One column per feature plus ``bias``; each row sums to the uncalibrated
        log-odds. Positive values pushed the risk up.

        Examples
        --------
        >>> rng = np.random.default_rng(4)
        >>> X = pl.DataFrame({"a": rng.normal(size=1500), "b": rng.normal(size=1500)})
        >>> y = rng.binomial(1, 1 / (1 + np.exp(3 - 2 * X["a"].to_numpy())))
        >>> m = GBMChallenger(monotone_constraints=None, n_splits=2).fit(X, y)
        >>> m.contributions(X.head(3)).columns
        ['a', 'b', 'bias']
        """
        matrix = self._encode(self._scoring_frame(X))
        total = np.zeros((matrix.shape[0], len(self.feature_names_) + 1))
        for booster in self.boosters_:
            total += np.asarray(
                booster.predict(matrix, pred_contrib=True, num_iteration=booster.best_iteration)
            )
        total /= len(self.boosters_)
        return pl.DataFrame(total, schema=[*self.feature_names_, "bias"], orient="row")

    def reasons(self, X: Any, *, k: int = 3) -> pl.DataFrame:
        """The ``k`` features that pushed each row's risk up most, as code and text.

        A reason is a feature with a positive contribution to the log-odds of default
        (see :meth:`contributions`); rows with fewer than ``k`` such features get nulls
        in the remaining columns. As in the scorecard, the code is the feature name
        upper-cased and the texts follow :data:`REASON_TEMPLATE` with the label from
        ``feature_labels`` (the feature name when absent).

        Parameters
        ----------
        X : table of shape (n, p)
            Rows to explain.
        k : int, default 3
            Reasons per row.

        Returns
        -------
        polars.DataFrame
            Columns ``reason_{i}_code``, ``reason_{i}_zh``, ``reason_{i}_en`` for
            ``i = 1..k``.

        Examples
        --------
        >>> rng = np.random.default_rng(5)
        >>> X = pl.DataFrame({"debt": rng.normal(size=2000), "noise": rng.normal(size=2000)})
        >>> y = rng.binomial(1, 1 / (1 + np.exp(3 - 2 * X["debt"].to_numpy())))
        >>> m = GBMChallenger(
        ...     monotone_constraints={"debt": 1}, n_splits=2,
        ...     feature_labels={"debt": ("负债", "debt")},
        ... ).fit(X, y)
        >>> m.reasons(pl.DataFrame({"debt": [3.0], "noise": [0.0]}), k=1).row(0)
        ('DEBT', '负债得分偏低', 'debt lowered the score')
        """
        if not (_is_int(k) and k >= 1):
            raise ConfigError(f"'k' must be a positive integer; got {k!r}.")
        contrib = self.contributions(X).drop("bias").to_numpy()
        n_feat = contrib.shape[1]
        kk = min(int(k), n_feat)
        order = np.argsort(-contrib, axis=1, kind="stable")[:, :kk]
        top = np.take_along_axis(contrib, order, axis=1)
        labels = self.feature_labels or {}
        codes = np.asarray([c.upper() for c in self.feature_names_], dtype=object)
        zh = np.asarray(
            [
                REASON_TEMPLATE[0].format(label=labels.get(c, (c, c))[0])
                for c in self.feature_names_
            ],
            dtype=object,
        )
        en = np.asarray(
            [
                REASON_TEMPLATE[1].format(label=labels.get(c, (c, c))[1])
                for c in self.feature_names_
            ],
            dtype=object,
        )
        columns: dict[str, pl.Series] = {}
        for i in range(int(k)):
            name = f"reason_{i + 1}"
            if i < kk:
                keep = top[:, i] > 0
                idx = order[:, i]
                values = []
                for table in (codes, zh, en):
                    picked = table[idx]
                    picked[~keep] = None
                    values.append(picked.tolist())
            else:
                values = [[None] * contrib.shape[0]] * 3
            for suffix, vals in zip(("code", "zh", "en"), values, strict=True):
                columns[f"{name}_{suffix}"] = pl.Series(f"{name}_{suffix}", vals, dtype=pl.String)
        return pl.DataFrame(columns)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.classifier_tags.multi_class = False
        tags.classifier_tags.poor_score = True
        return tags
