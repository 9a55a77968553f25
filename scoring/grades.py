"""Points scaling and the master scale: from PD to score and from PD to grade.

:class:`PointsScaling` turns log-odds or a PD into points with the usual
base-points-at-base-odds and points-to-double-the-odds (PDO) convention, and back.
:class:`MasterScale` maps a PD to a rating grade (SME: AAA .. C; household: AAA, AA, A,
below A) and estimates the PD of each grade on training data.

Both the scorecard and the ML challenger use these, so their points and grades agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.base import BaseEstimator, TransformerMixin

from scoring.exceptions import ConfigError, DataError, NotFittedError

__all__ = [
    "GRADE_TEXT",
    "HOUSEHOLD_GRADES",
    "PD_FLOOR",
    "SME_GRADES",
    "MasterScale",
    "PointsScaling",
    "default_pd_bounds",
]

PD_FLOOR = 1e-9
"""PDs of exactly 0 or 1 are clipped to ``[PD_FLOOR, 1 - PD_FLOOR]`` before taking logs."""

FloatArray = npt.NDArray[np.float64]


def _check_positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ConfigError(f"'{name}' must be a positive finite number; got {value!r}.")


def _as_pd_array(pd_values: Any, *, name: str = "pd") -> FloatArray:
    """Validate PDs as a 1-D float array in [0, 1] without NaN."""
    if isinstance(pd_values, pl.Series):
        pd_values = pd_values.to_numpy()
    try:
        arr = np.asarray(pd_values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"'{name}' must be numeric; got {type(pd_values).__name__}.") from exc
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DataError(f"'{name}' must be one-dimensional; got shape {arr.shape}.")
    if arr.size and (np.isnan(arr).any() or arr.min() < 0.0 or arr.max() > 1.0):
        bad = arr[np.isnan(arr) | (arr < 0.0) | (arr > 1.0)][0]
        raise DataError(f"'{name}' must be probabilities in [0, 1] without NaN; got {bad}.")
    return arr


@dataclass(frozen=True)
class PointsScaling:
    """Score = offset + factor * ln(good:bad odds), with ``factor = pdo / ln 2``.

    A score of ``base_points`` means good:bad odds of ``base_odds``; every ``pdo``
    points double the odds.

    Parameters
    ----------
    base_points : float, default 600.0
        Score at the base odds.
    base_odds : float, default 50.0
        Good:bad odds at ``base_points`` (50 means PD = 1/51).
    pdo : float, default 20.0
        Points to double the odds.

    Raises
    ------
    ConfigError
        When a value is not a positive finite number.

    Examples
    --------
    >>> s = PointsScaling()
    >>> round(s.factor, 4), round(s.offset, 4)
    (28.8539, 487.1229)
    >>> s.score_from_pd([1 / 51, 1 / 101]).round(2)
    array([600., 620.])
    >>> s.pd_from_score([600.0, 620.0]).round(5)
    array([0.01961, 0.0099 ])
    """

    base_points: float = 600.0
    base_odds: float = 50.0
    pdo: float = 20.0

    def __post_init__(self) -> None:
        _check_positive("base_points", self.base_points)
        _check_positive("base_odds", self.base_odds)
        _check_positive("pdo", self.pdo)

    @property
    def factor(self) -> float:
        """Points per unit of natural-log odds: ``pdo / ln 2``."""
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        """Score at odds 1:1: ``base_points - factor * ln(base_odds)``."""
        return self.base_points - self.factor * math.log(self.base_odds)

    def score_from_log_odds(self, log_odds_good_bad: Any) -> FloatArray:
        """Score from the natural log of the good:bad odds (``ln((1 - pd) / pd)``).

        Examples
        --------
        >>> PointsScaling().score_from_log_odds([0.0, np.log(50.0)]).round(2)
        array([487.12, 600.  ])
        """
        if isinstance(log_odds_good_bad, pl.Series):
            log_odds_good_bad = log_odds_good_bad.to_numpy()
        arr = np.asarray(log_odds_good_bad, dtype=np.float64)
        return self.offset + self.factor * arr

    def score_from_pd(self, pd: Any) -> FloatArray:
        """Score from the probability of default.

        PDs of exactly 0 or 1 are clipped to ``[PD_FLOOR, 1 - PD_FLOOR]`` so that the
        score stays finite.

        Raises
        ------
        DataError
            When a PD is NaN or outside [0, 1].

        Examples
        --------
        >>> PointsScaling(base_points=500, base_odds=1, pdo=50).score_from_pd([0.5, 1 / 3])
        array([500., 550.])
        """
        arr = np.clip(_as_pd_array(pd), PD_FLOOR, 1.0 - PD_FLOOR)
        return self.score_from_log_odds(np.log1p(-arr) - np.log(arr))

    def pd_from_score(self, score: Any) -> FloatArray:
        """Probability of default implied by a score (the inverse of :meth:`score_from_pd`).

        Examples
        --------
        >>> PointsScaling().pd_from_score([487.1228762045055]).round(6)
        array([0.5])
        """
        if isinstance(score, pl.Series):
            score = score.to_numpy()
        arr = np.asarray(score, dtype=np.float64)
        log_odds = (arr - self.offset) / self.factor
        # 1 / (1 + exp(log_odds)) computed stably for large |log_odds|.
        out: FloatArray = np.exp(-np.logaddexp(0.0, log_odds))
        return out


# --------------------------------------------------------------------------- master scale

SME_GRADES: tuple[str, ...] = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C")
"""PBoC credit-market scale for borrowing enterprises, best first."""

HOUSEHOLD_GRADES: tuple[str, ...] = ("AAA", "AA", "A", "BELOW_A")
"""Rural household (信用户) grades, best first; ``BELOW_A`` is not a credit household."""

GRADE_TEXT: dict[str, tuple[str, str]] = {
    "AAA": ("AAA", "AAA"),
    "AA": ("AA", "AA"),
    "A": ("A", "A"),
    "BBB": ("BBB", "BBB"),
    "BB": ("BB", "BB"),
    "B": ("B", "B"),
    "CCC": ("CCC", "CCC"),
    "CC": ("CC", "CC"),
    "C": ("C", "C"),
    "BELOW_A": ("低于A", "below A"),
}
"""Display text (Chinese, English) per grade code."""

_SEGMENT_GRADES: dict[str, tuple[str, ...]] = {"sme": SME_GRADES, "household": HOUSEHOLD_GRADES}

# Upper PD limits on a log scale, tuned for a portfolio default rate near 3 %:
# the median borrower lands around A/BBB, and C collects PDs above 50 %.
_DEFAULT_BOUNDS: dict[str, tuple[float, ...]] = {
    "sme": (0.0015, 0.004, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32),
    "household": (0.005, 0.015, 0.04),
}


def default_pd_bounds(segment: Literal["sme", "household"]) -> tuple[float, ...]:
    """Default PD upper limits of every grade but the last (which runs to 1).

    The SME limits roughly double from grade to grade (0.15 % for AAA up to 32 % for CC,
    C above); the household limits are 0.5 %, 1.5 % and 4 % for AAA, AA and A.

    Examples
    --------
    >>> default_pd_bounds("household")
    (0.005, 0.015, 0.04)
    >>> len(default_pd_bounds("sme")) + 1 == len(SME_GRADES)
    True
    """
    if segment not in _DEFAULT_BOUNDS:
        raise ConfigError(f"'segment' must be one of 'sme', 'household'; got {segment!r}.")
    return _DEFAULT_BOUNDS[segment]


class MasterScale(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Map a PD to a grade of the master scale and estimate each grade's PD.

    Grade ``g`` (best first) holds PDs in ``[bounds[g-1], bounds[g])``, the first grade
    starting at 0 and the last ending at 1 (inclusive). ``fit`` counts the training cases
    and bads per grade and sets the grade PD to the observed default rate, shrunk toward
    the grade's mean predicted PD when the grade is small::

        grade_pd = (bads + w * mean_pd) / (n + w),   w = min_count

    so an empty grade gets its mean predicted PD (or, when no training PD fell in it, the
    geometric midpoint of its bounds), and a grade of ``n >> min_count`` gets its observed
    rate. The grade PDs are then made non-decreasing from the best to the worst grade by a
    weighted pool-adjacent-violators pass.

    Parameters
    ----------
    segment : {"sme", "household"}, default "sme"
        Selects the grade labels (:data:`SME_GRADES` or :data:`HOUSEHOLD_GRADES`).
    pd_bounds : sequence of float or None, default None
        Strictly increasing PD upper limits in (0, 1) of every grade but the last; one
        fewer than the grades. ``None`` uses :func:`default_pd_bounds`.
    min_count : int, default 30
        Pseudo-count ``w`` of the shrinkage toward the mean predicted PD.

    Attributes
    ----------
    grades_ : tuple of str
        Grade codes, best first.
    pd_bounds_ : ndarray of shape (n_grades + 1,)
        Lower and upper PD limits, from 0 to 1.
    grade_pd_ : ndarray of shape (n_grades,)
        Estimated PD of each grade, non-decreasing.
    grade_table_ : polars.DataFrame
        Columns grade, grade_zh, grade_en, pd_lower, pd_upper, n, bads, observed_rate,
        mean_pd, grade_pd.
    n_features_in_ : int
        Always 1 (the PD).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> pd_ = rng.beta(0.6, 20, size=5000)
    >>> y = rng.binomial(1, pd_)
    >>> ms = MasterScale(segment="household").fit(pd_, y)
    >>> ms.grade([0.001, 0.01, 0.03, 0.2]).tolist()
    ['AAA', 'AA', 'A', 'BELOW_A']
    >>> ms.grade_table_.columns[:5]
    ['grade', 'grade_zh', 'grade_en', 'pd_lower', 'pd_upper']
    >>> bool(np.all(np.diff(ms.grade_pd_) >= 0))
    True
    """

    def __init__(
        self,
        *,
        segment: Literal["sme", "household"] = "sme",
        pd_bounds: Sequence[float] | None = None,
        min_count: int = 30,
    ) -> None:
        self.segment = segment
        self.pd_bounds = pd_bounds
        self.min_count = min_count

    # -- validation ------------------------------------------------------------------
    def _validated_bounds(self) -> tuple[tuple[str, ...], FloatArray]:
        if self.segment not in _SEGMENT_GRADES:
            raise ConfigError(f"'segment' must be one of 'sme', 'household'; got {self.segment!r}.")
        grades = _SEGMENT_GRADES[self.segment]
        raw = default_pd_bounds(self.segment) if self.pd_bounds is None else self.pd_bounds
        try:
            inner = np.asarray(list(raw), dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"'pd_bounds' must be a sequence of floats; got {raw!r}.") from exc
        if inner.ndim != 1 or inner.size != len(grades) - 1:
            raise ConfigError(
                f"'pd_bounds' must hold {len(grades) - 1} limits for segment "
                f"{self.segment!r}; got {inner.size}."
            )
        if not (np.all(inner > 0) and np.all(inner < 1) and np.all(np.diff(inner) > 0)):
            raise ConfigError(
                f"'pd_bounds' must be strictly increasing within (0, 1); got {inner.tolist()}."
            )
        if (
            isinstance(self.min_count, bool)
            or not isinstance(self.min_count, int | np.integer)
            or self.min_count < 0
        ):
            raise ConfigError(
                f"'min_count' must be a non-negative integer; got {self.min_count!r}."
            )
        return grades, np.concatenate([[0.0], inner, [1.0]])

    @staticmethod
    def _pd_input(X: Any) -> FloatArray:
        """Accept a 1-D PD vector or a one-column 2-D array / DataFrame."""
        if isinstance(X, pl.DataFrame):
            if X.width != 1:
                raise DataError(f"'X' must have exactly one column (the PD); got {X.width}.")
            X = X.to_series()
        elif hasattr(X, "iloc") and getattr(X, "ndim", 1) == 2:  # pandas DataFrame
            if X.shape[1] != 1:
                raise DataError(f"'X' must have exactly one column (the PD); got {X.shape[1]}.")
            X = X.iloc[:, 0].to_numpy()
        if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
            raise DataError(
                f"'X' must be a dense column of PDs; sparse input is not supported; "
                f"got {type(X).__name__}."
            )
        arr = np.asarray(X.to_numpy() if isinstance(X, pl.Series) else X)
        if arr.dtype.kind == "c":
            raise DataError(
                f"'X' must be real PDs; got dtype {arr.dtype} (Complex data not supported)."
            )
        if arr.ndim == 2:
            if arr.shape[1] != 1:
                raise DataError(f"'X' must have exactly one column (the PD); got {arr.shape[1]}.")
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise DataError(f"'X' must be one-dimensional; got shape {arr.shape}.")
        if arr.dtype.kind not in "biuf":
            raise DataError(f"'X' must be numeric PDs; got dtype {arr.dtype}.")
        return _as_pd_array(arr, name="X")

    # -- fitting ---------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> MasterScale:
        """Estimate the PD of each grade from predicted PDs ``X`` and outcomes ``y``.

        Parameters
        ----------
        X : array-like of shape (n,) or (n, 1)
            Predicted PDs in [0, 1].
        y : array-like of shape (n,), optional
            Binary outcome (1 = default). Without it the grade PD is the mean
            predicted PD of the grade (the midpoint of its bounds when empty).

        Returns
        -------
        MasterScale
            The fitted scale.
        """
        grades, bounds = self._validated_bounds()
        pd_ = self._pd_input(X)
        if pd_.size == 0:
            raise DataError("'X' must hold at least one PD; got 0 rows.")
        if y is not None:
            yv = np.asarray(y.to_numpy() if isinstance(y, pl.Series) else y)
            if yv.ndim != 1 or yv.shape[0] != pd_.shape[0]:
                raise DataError(
                    f"'y' must be one-dimensional with {pd_.shape[0]} rows; got shape {yv.shape}."
                )
            labels = set(np.unique(yv).tolist())
            if not labels <= {0, 1}:
                raise DataError(f"'y' must be binary (0/1); got values {sorted(labels)[:5]}.")
            yv = yv.astype(np.float64)
        else:
            yv = None

        k = len(grades)
        idx = self._index(pd_, bounds)
        n = np.bincount(idx, minlength=k).astype(np.float64)
        sum_pd = np.bincount(idx, weights=pd_, minlength=k)
        bads = np.bincount(idx, weights=yv, minlength=k) if yv is not None else np.zeros(k)
        # geometric midpoint of the bounds (arithmetic for the first grade, which starts at 0)
        lo, hi = bounds[:-1], bounds[1:]
        midpoint = np.where(lo > 0, np.sqrt(np.maximum(lo, PD_FLOOR) * hi), hi / 2.0)
        mean_pd = np.where(n > 0, sum_pd / np.maximum(n, 1.0), midpoint)
        w = float(self.min_count)
        if yv is None:
            raw_pd = mean_pd
            weights = np.maximum(n, 1.0)
        else:
            raw_pd = np.where(n + w > 0, (bads + w * mean_pd) / np.maximum(n + w, 1e-12), mean_pd)
            weights = n + max(w, 1.0)
        grade_pd = _pava_increasing(raw_pd, weights)

        observed = np.where(n > 0, bads / np.maximum(n, 1.0), np.nan)
        self.grades_ = grades
        self.pd_bounds_ = bounds
        self.grade_pd_ = grade_pd
        self.n_features_in_ = 1
        self.grade_table_ = pl.DataFrame(
            {
                "grade": list(grades),
                "grade_zh": [GRADE_TEXT[g][0] for g in grades],
                "grade_en": [GRADE_TEXT[g][1] for g in grades],
                "pd_lower": lo,
                "pd_upper": hi,
                "n": n.astype(np.int64),
                "bads": bads.astype(np.int64) if yv is not None else [None] * k,
                "observed_rate": observed if yv is not None else [None] * k,
                "mean_pd": np.where(n > 0, mean_pd, np.nan),
                "grade_pd": grade_pd,
            },
            schema_overrides={"bads": pl.Int64, "observed_rate": pl.Float64},
        ).with_columns(pl.col("observed_rate", "mean_pd").fill_nan(None))
        return self

    @staticmethod
    def _index(pd_: FloatArray, bounds: FloatArray) -> npt.NDArray[np.intp]:
        # [lower, upper): searchsorted on the inner limits with side="right"
        return np.searchsorted(bounds[1:-1], pd_, side="right").astype(np.intp)

    def _check_fitted(self) -> None:
        if not hasattr(self, "grade_pd_"):
            raise NotFittedError(
                "This MasterScale is not fitted yet; call 'fit' with PDs and outcomes first."
            )

    # -- applying --------------------------------------------------------------------
    def grade_index(self, pd: Any) -> npt.NDArray[np.intp]:
        """Position of each PD's grade in :attr:`grades_` (0 = best).

        Examples
        --------
        >>> MasterScale(segment="household").fit([0.01, 0.1]).grade_index([0.0, 1.0]).tolist()
        [0, 3]
        """
        self._check_fitted()
        return self._index(self._pd_input(pd), self.pd_bounds_)

    def grade(self, pd: Any) -> npt.NDArray[np.str_]:
        """Grade code of each PD (vectorised).

        Examples
        --------
        >>> MasterScale().fit([0.02, 0.05]).grade([0.001, 0.5]).tolist()
        ['AAA', 'C']
        """
        idx = self.grade_index(pd)
        return np.asarray(self.grades_)[idx]

    def grade_pd(self, pd: Any) -> FloatArray:
        """The estimated PD of each PD's grade.

        Examples
        --------
        >>> ms = MasterScale(segment="household").fit([0.001] * 10, [0] * 10)
        >>> float(ms.grade_pd([0.002])[0]) == float(ms.grade_pd_[0])
        True
        """
        out: FloatArray = self.grade_pd_[self.grade_index(pd)]
        return out

    def transform(self, X: Any) -> npt.NDArray[np.str_]:
        """Grade codes as a column, shape ``(n, 1)`` (scikit-learn transformer API).

        Examples
        --------
        >>> MasterScale().fit([0.02]).transform([[0.001], [0.03]]).ravel().tolist()
        ['AAA', 'BB']
        """
        return self.grade(X).reshape(-1, 1)

    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.object_]:
        """The single output column, ``grade``."""
        self._check_fitted()
        return np.asarray(["grade"], dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        return tags


def _pava_increasing(values: FloatArray, weights: FloatArray) -> FloatArray:
    """Weighted isotonic (non-decreasing) regression by pool-adjacent-violators."""
    blocks: list[list[float]] = []  # [mean, weight, length]
    for v, w in zip(values.tolist(), weights.tolist(), strict=True):
        blocks.append([v, w, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, l2 = blocks.pop()
            m1, w1, l1 = blocks.pop()
            wt = w1 + w2
            blocks.append([(m1 * w1 + m2 * w2) / wt if wt > 0 else (m1 + m2) / 2, wt, l1 + l2])
    out = np.concatenate([np.full(int(b[2]), b[0]) for b in blocks])
    return out.astype(np.float64)
