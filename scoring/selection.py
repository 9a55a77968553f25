"""Feature selection for scorecards, on WoE columns, with every decision written down.

:func:`select_features` runs, in order:

1. **IV range**: drop features whose information value is below ``min_iv`` (too weak) or
   above ``max_iv`` (too good to be true: often a leak of the outcome).
2. **Correlation**: in decreasing IV order, drop a feature whose absolute Pearson
   correlation with an already kept one exceeds ``max_correlation``.
3. **VIF**: while the largest variance inflation factor exceeds ``max_vif``, drop that
   feature (VIF from the diagonal of the inverse correlation matrix).
4. **Stepwise** (optional): forward or backward by AIC, BIC or in-sample AUC, on at most
   ``stepwise_max_rows`` rows (a seeded sample beyond that, since every step refits).

Each step appends one row per feature it looked at to the log: ``feature``, ``step``,
``decision`` (``kept`` / ``dropped``), ``reason`` and the ``value`` behind the decision.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.metrics import roc_auc_score

from scoring._frames import as_target
from scoring._logistic import fit_logistic
from scoring.exceptions import ConfigError, DataError

__all__ = ["LOG_SCHEMA", "SelectionResult", "select_features"]

FloatArray = npt.NDArray[np.float64]

LOG_SCHEMA: dict[str, Any] = {
    "feature": pl.String,
    "step": pl.String,
    "decision": pl.String,
    "reason": pl.String,
    "value": pl.Float64,
}
"""Columns of the selection log."""


@dataclass(frozen=True)
class SelectionResult:
    """The features kept (in input order) and the log of every decision."""

    selected: tuple[str, ...]
    log: pl.DataFrame


class _Log:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, float | None]] = []

    def add(self, feature: str, step: str, kept: bool, reason: str, value: float | None) -> None:
        v = None if value is None or not math.isfinite(value) else float(value)
        self.rows.append((feature, step, "kept" if kept else "dropped", reason, v))

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.rows, schema=LOG_SCHEMA, orient="row")


def _check_optional_positive(name: str, value: float | None, *, upper: float | None = None) -> None:
    if value is None:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (upper is not None and value > upper):
        bound = f"in [0, {upper}]" if upper is not None else ">= 0"
        raise ConfigError(f"'{name}' must be a number {bound} or None; got {value!r}.")


def _woe_matrix(woe: Any, features: Sequence[str] | None) -> tuple[FloatArray, list[str]]:
    if isinstance(woe, pl.DataFrame):
        return woe.to_numpy().astype(np.float64, copy=False), list(woe.columns)
    if type(woe).__module__.startswith("pandas") and hasattr(woe, "columns"):
        return woe.to_numpy(dtype=np.float64), [str(c) for c in woe.columns]
    arr = np.asarray(woe, dtype=np.float64)
    if arr.ndim != 2:
        raise DataError(f"'woe' must be 2-dimensional; got {arr.ndim} dimension(s).")
    names = list(features) if features is not None else [f"x{j}" for j in range(arr.shape[1])]
    if len(names) != arr.shape[1]:
        raise DataError(
            f"'features' must name every WoE column ({arr.shape[1]}); got {len(names)} names."
        )
    return arr, names


def _covariance(X: FloatArray) -> FloatArray:
    """Sample covariance of the columns from one Gram product (no centred copy of X)."""
    n = X.shape[0]
    if n < 2:
        return np.zeros((X.shape[1], X.shape[1]))
    mean = X.mean(axis=0)
    gram = X.T @ X
    cov: FloatArray = (gram - n * np.outer(mean, mean)) / (n - 1)
    return cov


def _vif(corr: FloatArray) -> FloatArray:
    try:
        inv = np.linalg.inv(corr)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(corr)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.diag(inv).copy()
    d[~np.isfinite(d) | (d < 1.0)] = np.inf
    return d


def _criterion(X: FloatArray, y: npt.NDArray[np.bool_], cols: list[int], criterion: str) -> float:
    """Lower is better."""
    n = int(X.shape[0])
    if not cols:
        p = float(y.mean())
        ll = n * (p * math.log(p) + (1 - p) * math.log(1 - p))
        if criterion == "aic":
            return 2.0 - 2.0 * ll
        if criterion == "bic":
            return math.log(n) - 2.0 * ll
        return -0.5
    fit = fit_logistic(X[:, cols], y)
    if criterion == "aic":
        return fit.aic()
    if criterion == "bic":
        return fit.bic(n)
    score = X[:, cols] @ fit.coef
    return -float(roc_auc_score(y, score))


def select_features(
    woe: Any,
    y: Any,
    *,
    iv: Mapping[str, float],
    features: Sequence[str] | None = None,
    min_iv: float | None = 0.005,
    max_iv: float | None = None,
    max_correlation: float | None = 0.7,
    max_vif: float | None = 5.0,
    stepwise: Literal["forward", "backward"] | None = None,
    criterion: Literal["aic", "bic", "auc"] = "bic",
    auc_tol: float = 1e-3,
    stepwise_max_rows: int | None = 200_000,
    random_state: int = 0,
) -> SelectionResult:
    """Select scorecard features from their WoE columns; see the module docstring.

    Parameters
    ----------
    woe : polars/pandas DataFrame or 2-D array
        WoE-encoded features (as :meth:`scoring.binning.WoEBinner.transform` returns).
    y : array-like
        Default flag: 0/1 or bool, 1 = bad.
    iv : mapping of str to float
        Information value per feature (``WoEBinner.iv_``).
    features : sequence of str, optional
        Column names when ``woe`` is an array (default: the order of ``iv``).
    min_iv, max_iv : float or None, default 0.005 and None
        IV range to keep; ``None`` disables a bound. The floor only removes features with
        practically no information: below the customary 0.02, features raised the
        cross-validated AUC of a ridge-penalised scorecard on most public credit data sets
        (``bench/bench_public.py``).
    max_correlation : float or None, default 0.7
        Largest absolute pairwise correlation allowed between kept features.
    max_vif : float or None, default 5.0
        Largest variance inflation factor allowed.
    stepwise : {"forward", "backward"} or None, default None
        Optional stepwise search after the filters.
    criterion : {"aic", "bic", "auc"}, default "bic"
        Stepwise criterion; AUC moves must gain at least ``auc_tol``.
    stepwise_max_rows : int or None, default 200000
        Rows used by the stepwise search (a sample drawn with ``random_state`` beyond it).

    Returns
    -------
    SelectionResult
        ``selected`` features in input order and the decision ``log``.

    Raises
    ------
    ConfigError
        For invalid options.
    DataError
        When the WoE table and the target do not fit together.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=4000)
    >>> y = rng.random(4000) < 1 / (1 + np.exp(2 - a))
    >>> woe = pl.DataFrame({"a": a, "a_copy": a + rng.normal(scale=0.1, size=4000),
    ...                     "noise": rng.normal(size=4000)})
    >>> res = select_features(woe, y, iv={"a": 0.5, "a_copy": 0.45, "noise": 0.001})
    >>> res.selected
    ('a',)
    >>> res.log.filter(pl.col("decision") == "dropped").select("feature", "step")
    shape: (2, 2)
    ┌─────────┬─────────────┐
    │ feature ┆ step        │
    │ ---     ┆ ---         │
    │ str     ┆ str         │
    ╞═════════╪═════════════╡
    │ noise   ┆ iv          │
    │ a_copy  ┆ correlation │
    └─────────┴─────────────┘
    """
    if features is None and not isinstance(woe, pl.DataFrame) and not hasattr(woe, "columns"):
        features = list(iv)
    X, names = _woe_matrix(woe, features)
    is_bad, _ = as_target(y, n_rows=X.shape[0])
    _check_optional_positive("min_iv", min_iv)
    _check_optional_positive("max_iv", max_iv)
    _check_optional_positive("max_correlation", max_correlation, upper=1.0)
    if max_vif is not None and (
        not isinstance(max_vif, int | float) or isinstance(max_vif, bool) or max_vif < 1.0
    ):
        raise ConfigError(f"'max_vif' must be a number >= 1 or None; got {max_vif!r}.")
    if stepwise not in (None, "forward", "backward"):
        raise ConfigError(f"'stepwise' must be one of forward, backward, None; got {stepwise!r}.")
    if criterion not in ("aic", "bic", "auc"):
        raise ConfigError(f"'criterion' must be one of aic, bic, auc; got {criterion!r}.")
    missing_iv = [f for f in names if f not in iv]
    if missing_iv:
        raise DataError(f"'iv' must have a value for every feature; missing {missing_iv[:10]}.")
    log = _Log()

    # 1. IV range
    alive: list[int] = []
    for j, f in enumerate(names):
        v = float(iv[f])
        if min_iv is not None and v < min_iv:
            log.add(f, "iv", False, f"IV {v:.4f} below min_iv {min_iv}", v)
        elif max_iv is not None and v > max_iv:
            log.add(f, "iv", False, f"IV {v:.4f} above max_iv {max_iv} (check for leakage)", v)
        else:
            log.add(f, "iv", True, "IV within range", v)
            alive.append(j)

    # 2. correlation, strongest first (one pass over the data: the covariance of all columns)
    cov = _covariance(X)
    std = np.sqrt(np.maximum(np.diag(cov), 0.0))
    flat = [j for j in alive if not std[j] > 1e-12]
    for j in flat:
        log.add(names[j], "correlation", False, "constant WoE (a single bin)", 0.0)
    alive = [j for j in alive if j not in flat]
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.clip(cov / np.outer(std, std), -1.0, 1.0)
    if alive:
        order = sorted(alive, key=lambda j: (-float(iv[names[j]]), j))
        kept: list[int] = []
        for j in order:
            if kept:
                r = np.abs(corr[j, kept])
                worst = int(np.argmax(r))
                if max_correlation is not None and r[worst] > max_correlation:
                    other = names[kept[worst]]
                    log.add(
                        names[j],
                        "correlation",
                        False,
                        f"|r| {r[worst]:.3f} with {other!r} (higher IV) above {max_correlation}",
                        float(r[worst]),
                    )
                    continue
                log.add(names[j], "correlation", True, "correlation within limit", float(r[worst]))
            else:
                log.add(names[j], "correlation", True, "highest IV", 0.0)
            kept.append(j)
        alive = sorted(kept)

    # 3. VIF
    if max_vif is not None and len(alive) > 1:
        while len(alive) > 1:
            vif = _vif(corr[np.ix_(alive, alive)])
            worst = int(np.argmax(vif))
            if vif[worst] <= max_vif:
                for j, v in zip(alive, vif, strict=True):
                    log.add(names[j], "vif", True, f"VIF within {max_vif}", float(v))
                break
            log.add(
                names[alive[worst]],
                "vif",
                False,
                f"VIF {vif[worst]:.2f} above {max_vif}",
                float(vif[worst]),
            )
            alive.pop(worst)

    # 4. stepwise
    if stepwise is not None and alive:
        Xs, ys = X, is_bad
        if stepwise_max_rows is not None and X.shape[0] > stepwise_max_rows:
            rows = np.sort(
                np.random.default_rng(random_state).choice(
                    X.shape[0], size=stepwise_max_rows, replace=False
                )
            )
            Xs, ys = X[rows], is_bad[rows]
        alive = _stepwise(Xs, ys, alive, names, stepwise, criterion, auc_tol, log)

    return SelectionResult(selected=tuple(names[j] for j in sorted(alive)), log=log.frame())


def _stepwise(
    X: FloatArray,
    y: npt.NDArray[np.bool_],
    candidates: list[int],
    names: Sequence[str],
    direction: str,
    criterion: str,
    auc_tol: float,
    log: _Log,
) -> list[int]:
    tol = auc_tol if criterion == "auc" else 0.0
    label = criterion.upper()

    def shown(v: float) -> float:
        return -v if criterion == "auc" else v

    if direction == "forward":
        chosen: list[int] = []
        rest = list(candidates)
        current = _criterion(X, y, chosen, criterion)
        while rest:
            scores = [_criterion(X, y, [*chosen, j], criterion) for j in rest]
            k = int(np.argmin(scores))
            if scores[k] < current - tol:
                log.add(
                    names[rest[k]],
                    "stepwise",
                    True,
                    f"added: {label} {shown(current):.4f} -> {shown(scores[k]):.4f}",
                    shown(scores[k]),
                )
                current = scores[k]
                chosen.append(rest.pop(k))
            else:
                break
        for j in rest:
            log.add(names[j], "stepwise", False, f"not added: no {label} improvement", None)
        return chosen
    chosen = list(candidates)
    current = _criterion(X, y, chosen, criterion)
    while len(chosen) > 1:
        scores = [_criterion(X, y, [c for c in chosen if c != j], criterion) for j in chosen]
        k = int(np.argmin(scores))
        if scores[k] < current - tol or (criterion == "auc" and scores[k] <= current + tol):
            log.add(
                names[chosen[k]],
                "stepwise",
                False,
                f"removed: {label} {shown(current):.4f} -> {shown(scores[k]):.4f}",
                shown(scores[k]),
            )
            current = scores[k]
            chosen.pop(k)
        else:
            break
    for j in chosen:
        log.add(names[j], "stepwise", True, f"kept: removal does not improve {label}", None)
    return chosen
