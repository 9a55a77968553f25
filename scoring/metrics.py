"""Model metrics as pure functions over numpy arrays (polars and pandas Series accepted).

Conventions: ``y_true`` is the binary outcome with 1 = default (bad). ``y_score`` is a
risk score where a higher value means more likely to default (a PD, a log-odds); pass
``-points`` (or ``higher_is_riskier=False`` where offered) for scorecard points, which rise
with creditworthiness.

Discrimination: :func:`auc`, :func:`gini`, :func:`ks`, :func:`lift_table`.
Accuracy of PDs: :func:`brier`, :func:`log_loss`, :func:`calibration_by_grade`.
Stability: :func:`psi`, :func:`psi_table`, :func:`csi`.
Breakdowns: :func:`metrics_by_group`; all at once: :func:`pd_metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

from scoring.exceptions import ConfigError, DataError

__all__ = [
    "KSResult",
    "auc",
    "binomial_interval",
    "brier",
    "calibration_by_grade",
    "csi",
    "gini",
    "ks",
    "ks_curve",
    "lift_table",
    "log_loss",
    "metrics_by_group",
    "pd_metrics",
    "psi",
    "psi_table",
    "quantile_edges",
    "roc_curve",
]

FloatArray = npt.NDArray[np.float64]
PSI_EPSILON = 1e-4
"""Default share given to a bin that is empty in one sample, so that ln(a / e) is finite."""

CURVE_POINTS = 200
"""At most this many points are kept of a ROC or KS curve (for charts and artifacts)."""

LOG_LOSS_EPS = 1e-15
"""PDs are clipped to ``[LOG_LOSS_EPS, 1 - LOG_LOSS_EPS]`` inside :func:`log_loss`."""


# --------------------------------------------------------------------------- input checks


def _to_numpy(values: Any, name: str) -> npt.NDArray[Any]:
    if isinstance(values, pl.DataFrame | pl.LazyFrame):
        raise DataError(f"'{name}' must be one-dimensional; got a polars DataFrame.")
    if isinstance(values, pl.Series):
        if values.dtype == pl.Boolean:
            values = values.cast(pl.Int8)
        return np.asarray(values.to_numpy())
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        values = values.to_numpy()  # pandas Series / Index
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DataError(f"'{name}' must be one-dimensional; got shape {arr.shape}.")
    return arr


def _as_float(values: Any, name: str, *, allow_nan: bool = False) -> FloatArray:
    arr = _to_numpy(values, name)
    try:
        out = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"'{name}' must be numeric; got dtype {arr.dtype}.") from exc
    if not allow_nan and np.isnan(out).any():
        raise DataError(
            f"'{name}' must not contain NaN or null; got {int(np.isnan(out).sum())} missing."
        )
    return out


def _as_binary(y_true: Any, name: str = "y_true") -> npt.NDArray[np.int8]:
    arr = _to_numpy(y_true, name)
    if arr.dtype == bool:
        return arr.astype(np.int8)
    try:
        f = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"'{name}' must be binary 0/1; got dtype {arr.dtype}.") from exc
    ok = (f == 0) | (f == 1)
    if not ok.all():
        bad = sorted({str(v) for v in arr[~ok][:5].tolist()})
        raise DataError(f"'{name}' must be binary 0/1; got values {bad}.")
    return f.astype(np.int8)


def _pair(
    y_true: Any, y_score: Any, *, score_name: str = "y_score"
) -> tuple[npt.NDArray[np.int8], FloatArray]:
    y = _as_binary(y_true)
    s = _as_float(y_score, score_name)
    if y.shape[0] != s.shape[0]:
        raise DataError(
            f"'{score_name}' must have as many rows as 'y_true' ({y.shape[0]}); got {s.shape[0]}."
        )
    return y, s


def _check_pd(pd: FloatArray, name: str = "y_pd") -> None:
    if pd.size and (pd.min() < 0.0 or pd.max() > 1.0):
        bad = pd[(pd < 0.0) | (pd > 1.0)][0]
        raise DataError(f"'{name}' must be probabilities in [0, 1]; got {bad}.")


def _both_classes(y: npt.NDArray[np.int8]) -> tuple[int, int]:
    n_bad = int(y.sum())
    n_good = int(y.size - n_bad)
    if n_bad == 0 or n_good == 0:
        raise DataError(f"'y_true' must contain both classes; got {n_bad} bads and {n_good} goods.")
    return n_bad, n_good


# --------------------------------------------------------------------------- discrimination


def auc(y_true: Any, y_score: Any) -> float:
    """Area under the ROC curve, by ranks (Mann-Whitney U); ties count one half.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary outcome, 1 = bad.
    y_score : array-like of shape (n,)
        Risk score, higher = riskier.

    Returns
    -------
    float
        ``P(score_bad > score_good) + 0.5 * P(score_bad == score_good)``.

    Raises
    ------
    DataError
        When ``y_true`` is not binary, holds one class only, or ``y_score`` has NaN.

    Examples
    --------
    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> auc([0, 1], [0.5, 0.5])
    0.5
    """
    y, s = _pair(y_true, y_score)
    n_bad, n_good = _both_classes(y)
    ranks = stats.rankdata(s, method="average")
    rank_sum = float(ranks[y == 1].sum())
    return (rank_sum - n_bad * (n_bad + 1) / 2.0) / (n_bad * n_good)


def gini(y_true: Any, y_score: Any) -> float:
    """Gini coefficient (accuracy ratio): ``2 * auc - 1``.

    Examples
    --------
    >>> gini([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.5
    """
    return 2.0 * auc(y_true, y_score) - 1.0


class KSResult(NamedTuple):
    """Kolmogorov-Smirnov statistic and the score at which it is reached."""

    statistic: float
    """``max |F_bad(s) - F_good(s)|`` with ``F(s) = P(score <= s)``."""
    threshold: float
    """The smallest score ``s`` at which the maximum is reached."""


def ks(y_true: Any, y_score: Any) -> KSResult:
    """Two-sample Kolmogorov-Smirnov separation of bads and goods.

    Returns
    -------
    KSResult
        ``statistic`` in [0, 1] and ``threshold``, the score where it is reached
        (the cumulative shares are taken at ``score <= threshold``).

    Examples
    --------
    >>> r = ks([0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.25, 0.9])
    >>> round(r.statistic, 4), r.threshold
    (0.6667, 0.2)
    """
    y, s = _pair(y_true, y_score)
    n_bad, n_good = _both_classes(y)
    values, inverse = np.unique(s, return_inverse=True)
    bads = np.bincount(inverse, weights=y.astype(np.float64), minlength=values.size)
    totals = np.bincount(inverse, minlength=values.size).astype(np.float64)
    diff = np.cumsum(bads) / n_bad - np.cumsum(totals - bads) / n_good
    i = int(np.argmax(np.abs(diff)))
    return KSResult(statistic=float(abs(diff[i])), threshold=float(values[i]))


# --------------------------------------------------------------------------- PD accuracy


def brier(y_true: Any, y_pd: Any) -> float:
    """Brier score: mean squared difference between outcome and PD (lower is better).

    Examples
    --------
    >>> round(brier([0, 1], [0.1, 0.7]), 6)
    0.05
    """
    y, p = _pair(y_true, y_pd, score_name="y_pd")
    _check_pd(p)
    if y.size == 0:
        raise DataError("'y_true' must hold at least one row; got 0.")
    return float(np.mean((p - y) ** 2))


def log_loss(y_true: Any, y_pd: Any) -> float:
    """Mean negative log-likelihood of the outcomes under the PDs (lower is better).

    PDs are clipped to ``[LOG_LOSS_EPS, 1 - LOG_LOSS_EPS]`` (1e-15) so that a PD of
    exactly 0 or 1 gives a large but finite loss.

    Examples
    --------
    >>> round(log_loss([0, 1], [0.2, 0.6]), 6)
    0.366985
    """
    y, p = _pair(y_true, y_pd, score_name="y_pd")
    _check_pd(p)
    if y.size == 0:
        raise DataError("'y_true' must hold at least one row; got 0.")
    p = np.clip(p, LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def binomial_interval(
    bads: Any,
    n: Any,
    *,
    confidence: float = 0.95,
    method: Literal["wilson", "exact"] = "wilson",
) -> tuple[FloatArray, FloatArray]:
    """Two-sided confidence interval of a default rate ``bads / n``.

    ``"wilson"`` is the Wilson score interval; ``"exact"`` the Clopper-Pearson interval
    from beta quantiles. A group with ``n = 0`` gets ``(nan, nan)``.

    Examples
    --------
    >>> lo, hi = binomial_interval([5], [100])
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.0215, 0.1118)
    >>> lo, hi = binomial_interval([0], [50], method="exact")
    >>> float(lo[0]), round(float(hi[0]), 4)
    (0.0, 0.0711)
    """
    if not (isinstance(confidence, float | int) and 0.0 < confidence < 1.0):
        raise ConfigError(f"'confidence' must be in (0, 1); got {confidence!r}.")
    if method not in ("wilson", "exact"):
        raise ConfigError(f"'method' must be one of 'wilson', 'exact'; got {method!r}.")
    k = np.atleast_1d(np.asarray(bads, dtype=np.float64))
    m = np.atleast_1d(np.asarray(n, dtype=np.float64))
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "wilson":
            z = float(stats.norm.ppf(1.0 - alpha / 2.0))
            phat = k / m
            denom = 1.0 + z * z / m
            centre = (phat + z * z / (2.0 * m)) / denom
            half = z * np.sqrt(phat * (1.0 - phat) / m + z * z / (4.0 * m * m)) / denom
            lo, hi = centre - half, centre + half
        else:
            lo = np.where(k > 0, stats.beta.ppf(alpha / 2.0, k, m - k + 1.0), 0.0)
            hi = np.where(k < m, stats.beta.ppf(1.0 - alpha / 2.0, k + 1.0, m - k), 1.0)
    # exact ends for 0 and n bads (Wilson's formula leaves rounding dust there)
    lo = np.where(k <= 0, 0.0, lo)
    hi = np.where(k >= m, 1.0, hi)
    empty = m <= 0
    lo = np.where(empty, np.nan, np.clip(lo, 0.0, 1.0))
    hi = np.where(empty, np.nan, np.clip(hi, 0.0, 1.0))
    return lo.astype(np.float64), hi.astype(np.float64)


def calibration_by_grade(
    y_true: Any,
    y_pd: Any,
    grades: Any,
    *,
    grade_order: Sequence[str] | None = None,
    confidence: float = 0.95,
    method: Literal["wilson", "exact"] = "wilson",
) -> pl.DataFrame:
    """Observed default rate against expected PD per grade, with a binomial interval.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary outcome, 1 = bad.
    y_pd : array-like of shape (n,)
        Expected PD per row (a model PD, or the PD of the row's grade).
    grades : array-like of shape (n,)
        Grade label per row.
    grade_order : sequence of str, optional
        Row order of the table (grades absent from the data get ``n = 0``); by default
        grades ordered by expected PD.
    confidence : float, default 0.95
        Confidence level of the interval.
    method : {"wilson", "exact"}, default "wilson"
        Wilson score or Clopper-Pearson interval, see :func:`binomial_interval`.

    Returns
    -------
    polars.DataFrame
        grade, n, bads, observed_rate, expected_pd, ci_lower, ci_upper,
        expected_in_interval (``ci_lower <= expected_pd <= ci_upper``; null when n = 0).

    Examples
    --------
    >>> t = calibration_by_grade([0, 0, 0, 1, 0, 1], [0.1] * 3 + [0.5] * 3,
    ...                          ["A", "A", "A", "B", "B", "B"])
    >>> t.select("grade", "n", "bads", "expected_in_interval").rows()
    [('A', 3, 0, True), ('B', 3, 2, True)]
    """
    y, p = _pair(y_true, y_pd, score_name="y_pd")
    _check_pd(p)
    g = _to_numpy(grades, "grades")
    if g.shape[0] != y.shape[0]:
        raise DataError(
            f"'grades' must have as many rows as 'y_true' ({y.shape[0]}); got {g.shape[0]}."
        )
    frame = pl.DataFrame({"grade": g.astype(str), "y": y, "pd": p})
    agg = frame.group_by("grade").agg(
        pl.len().alias("n"),
        pl.col("y").sum().cast(pl.Int64).alias("bads"),
        pl.col("pd").mean().alias("expected_pd"),
    )
    if grade_order is not None:
        order = pl.DataFrame({"grade": [str(x) for x in grade_order]})
        unknown = set(agg["grade"].to_list()) - set(order["grade"].to_list())
        if unknown:
            raise DataError(
                f"'grades' must only hold grades of 'grade_order'; got {sorted(unknown)[:5]}."
            )
        agg = order.join(agg, on="grade", how="left", maintain_order="left").with_columns(
            pl.col("n").fill_null(0).cast(pl.Int64), pl.col("bads").fill_null(0)
        )
    else:
        agg = agg.with_columns(pl.col("n").cast(pl.Int64)).sort("expected_pd", "grade")
    lo, hi = binomial_interval(
        agg["bads"].to_numpy(), agg["n"].to_numpy(), confidence=confidence, method=method
    )
    return (
        agg.with_columns(
            observed_rate=pl.when(pl.col("n") > 0).then(pl.col("bads") / pl.col("n")),
            ci_lower=pl.Series(lo).fill_nan(None),
            ci_upper=pl.Series(hi).fill_nan(None),
        )
        .with_columns(
            expected_in_interval=pl.when(pl.col("n") > 0).then(
                (pl.col("expected_pd") >= pl.col("ci_lower"))
                & (pl.col("expected_pd") <= pl.col("ci_upper"))
            )
        )
        .select(
            "grade",
            "n",
            "bads",
            "observed_rate",
            "expected_pd",
            "ci_lower",
            "ci_upper",
            "expected_in_interval",
        )
    )


# --------------------------------------------------------------------------- binned tables


def quantile_edges(values: Any, *, n_bins: int = 10) -> FloatArray:
    """Interior cut points splitting ``values`` into ``n_bins`` equal-count bins.

    With at most ``n_bins`` distinct values every distinct value but the smallest is a
    cut point; otherwise the cut points are the ``i / n_bins`` quantiles (the next observed
    value), with duplicates from heavy ties dropped, so fewer bins may result. NaN is
    ignored.
    The cut points define left-closed bins ``(-inf, c1), [c1, c2), ..., [ck, inf)``.

    Examples
    --------
    >>> quantile_edges(np.arange(100), n_bins=4).tolist()
    [25.0, 50.0, 75.0]
    >>> quantile_edges([1, 1, 1, 1, 2], n_bins=4).tolist()
    [2.0]
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ConfigError(f"'n_bins' must be a positive integer; got {n_bins!r}.")
    v = _as_float(values, "values", allow_nan=True)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return np.empty(0, dtype=np.float64)
    distinct = np.unique(v)
    if distinct.size <= n_bins:
        cuts: FloatArray = distinct[1:].astype(np.float64)
        return cuts
    edges = np.unique(np.quantile(v, np.arange(1, n_bins) / n_bins, method="higher"))
    # a cut at the minimum would leave its lower bin empty
    kept: FloatArray = edges[edges > v.min()].astype(np.float64)
    return kept


def _check_edges(edges: Any, name: str = "bins") -> FloatArray:
    try:
        e = np.asarray(edges, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"'{name}' must be a sequence of numbers; got {edges!r}.") from exc
    if e.ndim != 1 or np.isnan(e).any() or (e.size > 1 and np.any(np.diff(e) <= 0)):
        raise ConfigError(f"'{name}' must be strictly increasing cut points; got {e.tolist()}.")
    return e[np.isfinite(e)]


def lift_table(
    y_true: Any,
    y_score: Any,
    *,
    n_bins: int = 10,
    bins: Sequence[float] | None = None,
    higher_is_riskier: bool = True,
) -> pl.DataFrame:
    """Lift / gain table, riskiest bin first.

    Parameters
    ----------
    y_true, y_score : array-like of shape (n,)
        Outcome (1 = bad) and score.
    n_bins : int, default 10
        Number of quantile bins (deciles) of the score, used when ``bins`` is None.
    bins : sequence of float, optional
        Explicit strictly increasing cut points; bins are ``[c_i, c_{i+1})`` with open
        outer ends.
    higher_is_riskier : bool, default True
        False for scores that rise with creditworthiness (points).

    Returns
    -------
    polars.DataFrame
        bin (1 = riskiest), score_lower, score_upper, n, bads, bad_rate, cum_n,
        cum_bads, cum_share_population, cum_share_bads (the gain / capture rate),
        cum_share_goods, ks, lift, cum_lift.

    Examples
    --------
    >>> t = lift_table([0, 0, 1, 0, 1, 1], [1, 2, 3, 4, 5, 6], bins=[3.5])
    >>> t.select("bin", "n", "bads", "cum_share_bads", "lift").rows()
    [(1, 3, 2, 0.6666666666666666, 1.3333333333333333), (2, 3, 1, 1.0, 0.6666666666666666)]
    """
    y, s = _pair(y_true, y_score)
    n_bad, n_good = _both_classes(y)
    edges = quantile_edges(s, n_bins=n_bins) if bins is None else _check_edges(bins)
    idx = np.searchsorted(edges, s, side="right")
    k = edges.size + 1
    n = np.bincount(idx, minlength=k).astype(np.int64)
    bads = np.bincount(idx, weights=y.astype(np.float64), minlength=k).astype(np.int64)
    lower = np.concatenate([[-np.inf], edges])
    upper = np.concatenate([edges, [np.inf]])
    order = np.arange(k)[::-1] if higher_is_riskier else np.arange(k)
    n, bads, lower, upper = n[order], bads[order], lower[order], upper[order]
    base_rate = n_bad / y.size
    cum_n = np.cumsum(n)
    cum_bads = np.cumsum(bads)
    with np.errstate(invalid="ignore", divide="ignore"):
        bad_rate = np.where(n > 0, bads / np.maximum(n, 1), np.nan)
        cum_rate = np.where(cum_n > 0, cum_bads / np.maximum(cum_n, 1), np.nan)
    cum_share_bads = cum_bads / n_bad
    cum_share_goods = (cum_n - cum_bads) / n_good
    return pl.DataFrame(
        {
            "bin": np.arange(1, k + 1, dtype=np.int64),
            "score_lower": lower,
            "score_upper": upper,
            "n": n,
            "bads": bads,
            "bad_rate": bad_rate,
            "cum_n": cum_n,
            "cum_bads": cum_bads,
            "cum_share_population": cum_n / y.size,
            "cum_share_bads": cum_share_bads,
            "cum_share_goods": cum_share_goods,
            "ks": np.abs(cum_share_bads - cum_share_goods),
            "lift": bad_rate / base_rate,
            "cum_lift": cum_rate / base_rate,
        }
    ).with_columns(pl.col("bad_rate", "lift", "cum_lift").fill_nan(None))


# --------------------------------------------------------------------------- stability


def _is_numeric(arr: npt.NDArray[Any]) -> bool:
    return arr.dtype.kind in "biuf"


def _shares(
    expected: npt.NDArray[Any], actual: npt.NDArray[Any], bins: int | Sequence[Any]
) -> tuple[list[str], FloatArray, FloatArray, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Bin labels and counts of both samples over the same bins (nulls in a bin of their own)."""
    if _is_numeric(expected) and _is_numeric(actual):
        e = expected.astype(np.float64)
        a = actual.astype(np.float64)
        if isinstance(bins, int | np.integer) and not isinstance(bins, bool):
            edges = quantile_edges(e, n_bins=int(bins))
        elif isinstance(bins, bool):
            raise ConfigError(f"'bins' must be an int or cut points; got {bins!r}.")
        else:
            edges = _check_edges(bins)
        k = edges.size + 1
        e_idx = np.where(np.isnan(e), k, np.searchsorted(edges, e, side="right"))
        a_idx = np.where(np.isnan(a), k, np.searchsorted(edges, a, side="right"))
        lows = ["-inf", *(f"{c:g}" for c in edges)]
        highs = [*(f"{c:g}" for c in edges), "inf"]
        labels = [f"[{lo}, {hi})" for lo, hi in zip(lows, highs, strict=True)] + ["missing"]
        ec = np.bincount(e_idx, minlength=k + 1).astype(np.int64)
        ac = np.bincount(a_idx, minlength=k + 1).astype(np.int64)
    else:
        # categorical: one bin per level seen in either sample
        e_s = np.array([None if _isnull(v) else str(v) for v in expected.tolist()], dtype=object)
        a_s = np.array([None if _isnull(v) else str(v) for v in actual.tolist()], dtype=object)
        levels = sorted(
            {v for v in e_s.tolist() if v is not None} | {v for v in a_s.tolist() if v is not None}
        )
        pos = {lvl: i for i, lvl in enumerate(levels)}
        k = len(levels)
        e_idx = np.array([k if v is None else pos[v] for v in e_s.tolist()], dtype=np.int64)
        a_idx = np.array([k if v is None else pos[v] for v in a_s.tolist()], dtype=np.int64)
        labels = [*levels, "missing"]
        ec = np.bincount(e_idx, minlength=k + 1).astype(np.int64)
        ac = np.bincount(a_idx, minlength=k + 1).astype(np.int64)
    # drop the missing bin when neither sample has nulls
    if ec[-1] == 0 and ac[-1] == 0:
        labels, ec, ac = labels[:-1], ec[:-1], ac[:-1]
    return labels, ec / max(ec.sum(), 1), ac / max(ac.sum(), 1), ec, ac


def _isnull(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _check_epsilon(epsilon: float) -> None:
    if not (isinstance(epsilon, float | int) and 0.0 < epsilon < 1.0):
        raise ConfigError(f"'epsilon' must be in (0, 1); got {epsilon!r}.")


def psi_table(
    expected: Any,
    actual: Any,
    *,
    bins: int | Sequence[float] = 10,
    epsilon: float = PSI_EPSILON,
) -> pl.DataFrame:
    """Per-bin terms of the population stability index.

    ``PSI = sum_i (a_i - e_i) * ln(a_i / e_i)`` over shares ``e_i`` (expected / reference
    sample) and ``a_i`` (actual / recent sample) of the same bins. A share of 0 is
    replaced by ``epsilon`` (default 1e-4) in both the difference and the log; other shares
    are left as they are (no renormalisation), so bins empty in both samples add 0.

    Parameters
    ----------
    expected, actual : array-like of shape (n,) and (m,)
        Reference and recent values. Numeric values are binned; strings (or any
        non-numeric values) are treated as categories, one bin per level. NaN / null
        values go to a ``missing`` bin (present only when a sample has them).
    bins : int or sequence of float, default 10
        Number of quantile bins taken on ``expected`` (see :func:`quantile_edges`), or
        explicit cut points; bins are left-closed ``[c_i, c_{i+1})`` with open outer ends.
    epsilon : float, default 1e-4
        Share used in place of 0.

    Returns
    -------
    polars.DataFrame
        bin, expected_n, actual_n, expected_share, actual_share, psi (the bin's term).

    Examples
    --------
    >>> t = psi_table([1, 2, 3, 4], [1, 1, 1, 4], bins=[2.5])
    >>> t.select("bin", "expected_share", "actual_share").rows()
    [('[-inf, 2.5)', 0.5, 0.75), ('[2.5, inf)', 0.5, 0.25)]
    >>> t["psi"].round(6).to_list()  # 0.25 * ln(1.5), -0.25 * ln(0.5)
    [0.101366, 0.173287]
    """
    _check_epsilon(epsilon)
    e = _to_numpy(expected, "expected")
    a = _to_numpy(actual, "actual")
    if e.size == 0 or a.size == 0:
        raise DataError(
            f"'expected' and 'actual' must not be empty; got {e.size} and {a.size} rows."
        )
    labels, es, as_, ec, ac = _shares(e, a, bins)
    es_f = np.where(es > 0, es, epsilon)
    as_f = np.where(as_ > 0, as_, epsilon)
    terms = (as_f - es_f) * np.log(as_f / es_f)
    return pl.DataFrame(
        {
            "bin": labels,
            "expected_n": ec,
            "actual_n": ac,
            "expected_share": es,
            "actual_share": as_,
            "psi": terms,
        }
    )


def psi(
    expected: Any,
    actual: Any,
    *,
    bins: int | Sequence[float] = 10,
    epsilon: float = PSI_EPSILON,
) -> float:
    """Population stability index of ``actual`` against ``expected``.

    Rule of thumb: below 0.1 stable, 0.1-0.25 worth a look, above 0.25 shifted. See
    :func:`psi_table` for the binning, the ``epsilon`` treatment and the per-bin terms.

    Examples
    --------
    >>> round(psi([1, 2, 3, 4], [1, 1, 1, 4], bins=[2.5]), 6)
    0.274653
    >>> psi(["a", "b", "b"], ["a", "b", "b"])
    0.0
    """
    return float(psi_table(expected, actual, bins=bins, epsilon=epsilon)["psi"].sum())


def csi(
    expected: pl.DataFrame,
    actual: pl.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    bins: int | Mapping[str, Sequence[float]] = 10,
    epsilon: float = PSI_EPSILON,
) -> pl.DataFrame:
    """Characteristic stability index: the PSI of each feature between two samples.

    Parameters
    ----------
    expected, actual : polars.DataFrame
        Reference and recent samples (pandas DataFrames are converted).
    columns : sequence of str, optional
        Features to compare; by default every column of ``expected``.
    bins : int or mapping of str to cut points, default 10
        Quantile bin count for numeric features, or explicit cut points per feature
        (features missing from the mapping get 10 quantile bins). String features are
        compared level by level.
    epsilon : float, default 1e-4
        Share used in place of 0, as in :func:`psi_table`.

    Returns
    -------
    polars.DataFrame
        feature, csi, n_bins; largest shift first.

    Examples
    --------
    >>> ref = pl.DataFrame({"age": [25, 35, 45, 55], "region": ["a", "a", "b", "b"]})
    >>> new = pl.DataFrame({"age": [25, 35, 45, 55], "region": ["a", "b", "b", "b"]})
    >>> csi(ref, new, bins={"age": [40]}).rows()
    [('region', 0.2746530721670274, 2), ('age', 0.0, 2)]
    """
    exp_df = expected if isinstance(expected, pl.DataFrame) else pl.from_pandas(expected)
    act_df = actual if isinstance(actual, pl.DataFrame) else pl.from_pandas(actual)
    cols = list(exp_df.columns) if columns is None else list(columns)
    missing = [c for c in cols if c not in exp_df.columns or c not in act_df.columns]
    if missing:
        raise DataError(f"'columns' must exist in both samples; missing {missing}.")
    rows: list[tuple[str, float, int]] = []
    for col in cols:
        col_bins = bins.get(col, 10) if isinstance(bins, Mapping) else bins
        t = psi_table(exp_df[col], act_df[col], bins=col_bins, epsilon=epsilon)
        rows.append((col, float(t["psi"].sum()), t.height))
    return pl.DataFrame(
        rows, schema={"feature": pl.String, "csi": pl.Float64, "n_bins": pl.Int64}, orient="row"
    ).sort("csi", "feature", descending=[True, False])


# --------------------------------------------------------------------------- summaries


def pd_metrics(y_true: Any, y_pd: Any) -> dict[str, float]:
    """AUC, Gini, KS, Brier, log loss and the mean PD against the bad rate, in one dict.

    Examples
    --------
    >>> m = pd_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> sorted(m)
    ['auc', 'bad_rate', 'brier', 'gini', 'ks', 'log_loss', 'mean_pd', 'n']
    >>> m["auc"], m["gini"]
    (0.75, 0.5)
    """
    y, p = _pair(y_true, y_pd, score_name="y_pd")
    _check_pd(p)
    a = auc(y, p)
    return {
        "n": float(y.size),
        "bad_rate": float(y.mean()),
        "mean_pd": float(p.mean()),
        "auc": a,
        "gini": 2.0 * a - 1.0,
        "ks": ks(y, p).statistic,
        "brier": brier(y, p),
        "log_loss": log_loss(y, p),
    }


def metrics_by_group(
    y_true: Any,
    y_score: Any,
    groups: Any,
    *,
    min_count: int = 1,
) -> pl.DataFrame:
    """Discrimination per group (e.g. per region): n, bads, bad rate, AUC, Gini, KS.

    AUC, Gini and KS are null for a group with a single class or fewer than
    ``min_count`` rows; such groups are still listed with their counts.

    Parameters
    ----------
    y_true, y_score : array-like of shape (n,)
        Outcome (1 = bad) and risk score (higher = riskier).
    groups : array-like of shape (n,)
        Group key per row (nulls form their own group).
    min_count : int, default 1
        Minimum rows for the metrics to be computed.

    Returns
    -------
    polars.DataFrame
        group, n, bads, bad_rate, auc, gini, ks; one row per group, sorted by group.

    Examples
    --------
    >>> t = metrics_by_group([0, 1, 0, 1, 0, 0], [0.1, 0.9, 0.2, 0.3, 0.4, 0.5],
    ...                      ["x", "x", "y", "y", "z", "z"])
    >>> t.select("group", "n", "bads", "auc").rows()
    [('x', 2, 1, 1.0), ('y', 2, 1, 1.0), ('z', 2, 0, None)]
    """
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ConfigError(f"'min_count' must be a positive integer; got {min_count!r}.")
    y, s = _pair(y_true, y_score)
    g = _to_numpy(groups, "groups")
    if g.shape[0] != y.shape[0]:
        raise DataError(
            f"'groups' must have as many rows as 'y_true' ({y.shape[0]}); got {g.shape[0]}."
        )
    keys = pl.Series("group", g, strict=False)
    _, first, inverse = np.unique(
        keys.rank("dense").fill_null(0).to_numpy(), return_index=True, return_inverse=True
    )
    rows: list[dict[str, Any]] = []
    for j, i0 in enumerate(first.tolist()):
        mask = inverse == j
        yj, sj = y[mask], s[mask]
        nb = int(yj.sum())
        ok = 0 < nb < yj.size and yj.size >= min_count
        a = auc(yj, sj) if ok else None
        rows.append(
            {
                "group": keys[i0],
                "n": int(yj.size),
                "bads": nb,
                "bad_rate": nb / yj.size,
                "auc": a,
                "gini": None if a is None else 2.0 * a - 1.0,
                "ks": ks(yj, sj).statistic if ok else None,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "group": keys.dtype,
            "n": pl.Int64,
            "bads": pl.Int64,
            "bad_rate": pl.Float64,
            "auc": pl.Float64,
            "gini": pl.Float64,
            "ks": pl.Float64,
        },
    ).sort("group", nulls_last=True)


# --------------------------------------------------------------------------- curves


def _thin(n: int, points: int) -> npt.NDArray[np.intp]:
    """Indices of at most ``points`` evenly spread points of ``n`` (first and last kept)."""
    if n <= points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, points).round().astype(np.intp))


def roc_curve(y_true: Any, y_score: Any, *, points: int = CURVE_POINTS) -> pl.DataFrame:
    """ROC curve (``fpr``, ``tpr``), one point per distinct score, thinned to ``points``.

    Higher ``y_score`` means riskier (a PD).

    Examples
    --------
    >>> roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]).rows()
    [(0.0, 0.0), (0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (1.0, 1.0)]
    """
    y, s = _pair(y_true, y_score)
    order = np.argsort(-s, kind="stable")
    ys = y[order]
    tps = np.cumsum(ys)
    fps = np.cumsum(1 - ys)
    distinct = np.r_[np.flatnonzero(np.diff(s[order])), ys.size - 1]
    tpr = np.r_[0.0, tps[distinct] / max(tps[-1], 1)]
    fpr = np.r_[0.0, fps[distinct] / max(fps[-1], 1)]
    keep = _thin(tpr.size, points)
    return pl.DataFrame({"fpr": fpr[keep], "tpr": tpr[keep]})


def ks_curve(y_true: Any, score: Any, *, points: int = CURVE_POINTS) -> pl.DataFrame:
    """Cumulative shares of bads and goods by score (``score``, ``cum_bad``, ``cum_good``).

    Higher ``score`` means safer (points); the KS statistic is the largest gap between
    the two columns.

    Examples
    --------
    >>> ks_curve([1, 0, 1, 0], [500, 520, 540, 560]).rows()
    [(500.0, 0.5, 0.0), (520.0, 0.5, 0.5), (540.0, 1.0, 0.5), (560.0, 1.0, 1.0)]
    """
    y, s = _pair(y_true, score)
    levels, inverse = np.unique(s, return_inverse=True)
    bads = np.bincount(inverse, weights=y.astype(np.float64), minlength=levels.size)
    totals = np.bincount(inverse, minlength=levels.size).astype(np.float64)
    keep = _thin(levels.size, points)
    return pl.DataFrame(
        {
            "score": levels[keep].astype(np.float64),
            "cum_bad": (np.cumsum(bads) / max(bads.sum(), 1))[keep],
            "cum_good": (np.cumsum(totals - bads) / max((totals - bads).sum(), 1))[keep],
        }
    )
