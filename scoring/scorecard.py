"""The points scorecard: WoE binning + selection + logistic regression + points scaling.

:class:`Scorecard` fits a :class:`~scoring.binning.WoEBinner`, selects features on their
WoE columns (:func:`~scoring.selection.select_features`), fits a logistic regression of
the bad flag on the WoE and turns it into integer points per bin:

* With ``WoE = ln(%bad / %good)`` a feature's coefficient must be positive (a riskier bin
  must raise the PD). A feature with a coefficient <= 0 is dropped, the model refitted and
  the drop written to ``selection_log_`` (step ``sign``); one feature at a time, the most
  negative first.
* A feature the binner gave a peak or valley (``monotonic_trend="auto"``) keeps that shape
  only if it also pays given the other features: the model is refitted with the feature's
  best monotone bins, and the shape stays when it gains at least the binner's
  ``peak_valley_min_chi2`` in twice the log-likelihood; otherwise the monotone bins
  replace it in ``binner_`` (step ``shape`` in ``selection_log_``). A marginal U-shape can
  be the shadow of another feature (a purchase price whose risk follows the loan amount).
* Points follow :class:`~scoring.grades.PointsScaling`: ``score = offset + factor *
  ln(good:bad odds)``. Bin ``k`` of feature ``j`` gets ``round(-factor * coef_j * woe_jk +
  (offset - factor * intercept) / n_features)`` points; a row's score is the sum of its
  bins' points.
* The PD is the one implied by the integer score (``scaling.pd_from_score``), so PD,
  score and grade never disagree and a higher score always means a lower PD.
* Reason codes: the characteristics whose bin lost the most points against the feature's
  best bin (among the bins that held training rows).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils import ClassifierTags
from sklearn.utils.validation import check_is_fitted

from scoring._frames import EstimatorNotFittedError, apply_tables, as_frame, as_target
from scoring._logistic import LogitFit, fit_logistic
from scoring.binning import FeatureBins, WoEBinner
from scoring.exceptions import ConfigError, DataError, ModelError
from scoring.grades import PointsScaling
from scoring.selection import LOG_SCHEMA, select_features

__all__ = ["Scorecard"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_JSON_FORMAT = "scoring.Scorecard"
_JSON_VERSION = 1
_REASON_ZH = "{label}得分偏低"
_REASON_EN = "{label} lowered the score"
_REASON_ROWS = 1 << 20


class Scorecard(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Points scorecard on optimal WoE bins (a scikit-learn binary classifier).

    Parameters
    ----------
    binner : WoEBinner or None, default None
        Binning settings (cloned in ``fit``; ``None`` means ``WoEBinner()``). Its
        parameters are reachable as ``binner__<name>`` in ``set_params``.
    min_iv, max_iv, max_correlation, max_vif, stepwise, stepwise_criterion
        Selection rules, see :func:`scoring.selection.select_features`.
    l2 : float, default 1.0
        Ridge penalty on the coefficients, ``l2 / 2 * ||coef||^2`` added to the negative
        log-likelihood (scikit-learn's ``LogisticRegression(C=1 / l2)``; 0 = plain maximum
        likelihood). A fixed prior: it steadies small samples and fades on large ones.
    scaling : PointsScaling or None, default None
        Base points, base odds and PDO (``None`` means 600 points at 50:1, PDO 20).
    feature_labels : mapping of str to (str, str), optional
        Chinese and English label per feature for reason texts (default: the name).
    n_jobs : int or None, default -1
        Threads for binning and scoring; -1 uses all cores.

    Attributes
    ----------
    binner_ : WoEBinner
        The fitted binner.
    features_ : tuple of str
        Features in the model, in input order.
    coefficients_ : dict of str to float
        Logistic coefficient per model feature (all positive).
    intercept_ : float
        Logistic intercept (log-odds of bad at WoE 0).
    points_ : dict of str to ndarray of int
        Points per bin code of every model feature.
    selection_log_ : polars.DataFrame
        Every selection decision (IV, correlation, VIF, stepwise, sign, shape) with its
        reason.
    scaling_ : PointsScaling
        The scaling used.
    classes_ : ndarray
        The two labels; ``classes_[1]`` is bad.
    n_features_in_, feature_names_in_
        As for the binner.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n = 20000
    >>> X = pl.DataFrame({"debt_ratio": rng.uniform(0, 1, n),
    ...                   "years": rng.integers(0, 30, n).astype(float),
    ...                   "sector": rng.choice(["farm", "shop", "works"], n)})
    >>> logit = -3 + 2.5 * X["debt_ratio"].to_numpy() - 0.05 * X["years"].to_numpy()
    >>> y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    >>> card = Scorecard(binner=WoEBinner(max_n_bins=5)).fit(X, y)
    >>> card.features_
    ('debt_ratio', 'years')
    >>> card.points(X.head(3)).tolist()
    [558, 598, 562]
    >>> card.reasons(X.head(1), k=1).row(0)
    ('DEBT_RATIO', 'debt_ratio得分偏低', 'debt_ratio lowered the score')
    """

    def __init__(
        self,
        *,
        binner: WoEBinner | None = None,
        min_iv: float | None = 0.005,
        max_iv: float | None = None,
        max_correlation: float | None = 0.7,
        max_vif: float | None = 5.0,
        stepwise: str | None = None,
        stepwise_criterion: str = "bic",
        l2: float = 1.0,
        scaling: PointsScaling | None = None,
        feature_labels: Mapping[str, tuple[str, str]] | None = None,
        n_jobs: int | None = -1,
    ) -> None:
        self.binner = binner
        self.min_iv = min_iv
        self.max_iv = max_iv
        self.max_correlation = max_correlation
        self.max_vif = max_vif
        self.stepwise = stepwise
        self.stepwise_criterion = stepwise_criterion
        self.l2 = l2
        self.scaling = scaling
        self.feature_labels = feature_labels
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ fit

    def _check_params(self) -> PointsScaling:
        if self.binner is not None and not isinstance(self.binner, WoEBinner):
            raise ConfigError(f"'binner' must be a WoEBinner or None; got {self.binner!r}.")
        if self.scaling is not None and not isinstance(self.scaling, PointsScaling):
            raise ConfigError(f"'scaling' must be a PointsScaling or None; got {self.scaling!r}.")
        if (
            isinstance(self.l2, bool)
            or not isinstance(self.l2, int | float)
            or not np.isfinite(self.l2)
            or self.l2 < 0
        ):
            raise ConfigError(f"'l2' must be a finite number >= 0; got {self.l2!r}.")
        if self.feature_labels is not None:
            if not isinstance(self.feature_labels, Mapping):
                raise ConfigError(
                    "'feature_labels' must map feature to (zh, en); "
                    f"got {type(self.feature_labels).__name__}."
                )
            for k, v in self.feature_labels.items():
                if (
                    not isinstance(v, Sequence)
                    or isinstance(v, str)
                    or len(v) != 2
                    or not all(isinstance(t, str) for t in v)
                ):
                    raise ConfigError(
                        f"'feature_labels[{k!r}]' must be a (zh, en) pair of strings; got {v!r}."
                    )
        return self.scaling if self.scaling is not None else PointsScaling()

    def fit(self, X: Any, y: Any) -> Scorecard:
        """Bin, select, fit the logistic regression and scale it to points.

        Parameters
        ----------
        X : polars/pandas DataFrame, numpy array or nested lists
            Features (nulls and NaN are missing values).
        y : array-like
            Default flag: 0/1 or bool, 1 = bad. Other labels are refused.

        Returns
        -------
        Scorecard
            ``self``, fitted.

        Raises
        ------
        DataError, ConfigError
            For unusable input or options.
        ModelError
            When no feature survives selection and the sign check.
        """
        scaling = self._check_params()
        frame, named = as_frame(X)
        is_bad, classes = as_target(y, n_rows=frame.height)
        binner = clone(self.binner) if self.binner is not None else WoEBinner()
        if self.binner is None:
            binner.set_params(n_jobs=self.n_jobs)
        binner._fit_frame(frame, named, is_bad)
        names = list(binner.bins_)
        woe = binner._transform_frame(frame.select(names))
        sel = select_features(
            woe,
            is_bad,
            iv=binner.iv_,
            features=names,
            min_iv=self.min_iv,
            max_iv=self.max_iv,
            max_correlation=self.max_correlation,
            max_vif=self.max_vif,
            stepwise=cast(Any, self.stepwise),
            criterion=cast(Any, self.stepwise_criterion),
        )
        log_rows: list[dict[str, Any]] = []
        chosen = [names.index(f) for f in sel.selected]
        if not chosen:
            raise ModelError(
                "'X' must have at least one feature passing selection; got none "
                f"(see the IV/correlation/VIF rules; IVs: "
                f"{ {k: round(v, 4) for k, v in binner.iv_.items()} })."
            )
        fit = self._fit_signed(woe, is_bad, chosen, names, log_rows)
        threshold = binner.peak_valley_min_chi2
        for j in list(chosen):
            f = names[j]
            alt = binner.monotone_alternatives_.get(f)
            if alt is None or j not in chosen or threshold is None:
                continue
            alt_woe = apply_tables(
                frame.select(f),
                [alt.encoder()],
                [np.asarray(alt.woe, dtype=np.float64)],
                mode="matrix",
                n_jobs=self.n_jobs,
            )[:, 0]
            Xm = np.ascontiguousarray(woe[:, chosen])
            Xm[:, chosen.index(j)] = alt_woe
            stat = 2.0 * (fit.loglik - fit_logistic(Xm, is_bad, l2=float(self.l2)).loglik)
            shape = _shape_name(binner.bins_[f])
            if stat >= threshold:
                reason = (
                    f"{shape} bins kept: they gain {stat:.1f} in 2 log-likelihood over "
                    f"monotone bins given the other features (>= {threshold:g})"
                )
            else:
                reason = (
                    f"monotone bins instead of a {shape}: it gains only {stat:.1f} in "
                    f"2 log-likelihood given the other features (< {threshold:g})"
                )
                binner._use_monotone_alternative(f)
                woe[:, j] = alt_woe
                fit = self._fit_signed(woe, is_bad, chosen, names, log_rows)
            log_rows.append(
                {"feature": f, "step": "shape", "decision": "kept", "reason": reason, "value": stat}
            )
        for c, j in zip(fit.coef, chosen, strict=True):
            log_rows.append(
                {
                    "feature": names[j],
                    "step": "sign",
                    "decision": "kept",
                    "reason": "positive coefficient",
                    "value": float(c),
                }
            )
        features = tuple(names[j] for j in chosen)
        self._set_fitted(
            binner=binner,
            features=features,
            coefficients=dict(zip(features, (float(c) for c in fit.coef), strict=True)),
            intercept=float(fit.intercept),
            scaling=scaling,
            classes=classes,
            log=pl.concat([sel.log, pl.DataFrame(log_rows, schema=LOG_SCHEMA)]),
        )
        return self

    def _fit_signed(
        self,
        woe: FloatArray,
        is_bad: npt.NDArray[np.bool_],
        chosen: list[int],
        names: Sequence[str],
        log_rows: list[dict[str, Any]],
    ) -> LogitFit:
        """Fit the logistic regression on ``chosen``, dropping wrong signs (in place)."""
        while True:
            Xm = np.ascontiguousarray(woe[:, chosen])
            fit = fit_logistic(Xm, is_bad, l2=float(self.l2))
            wrong = [(c, j) for c, j in zip(fit.coef, chosen, strict=True) if not c > 0]
            if not wrong:
                return fit
            coef, j = min(wrong)
            log_rows.append(
                {
                    "feature": names[j],
                    "step": "sign",
                    "decision": "dropped",
                    "reason": f"coefficient {coef:.4f} <= 0 (WoE coefficients must be positive)",
                    "value": float(coef),
                }
            )
            chosen.remove(j)
            if not chosen:
                raise ModelError(
                    "'X' must have at least one feature with a positive WoE coefficient; got "
                    "none after dropping wrong signs (see selection_log_)."
                )

    def _set_fitted(
        self,
        *,
        binner: WoEBinner,
        features: tuple[str, ...],
        coefficients: dict[str, float],
        intercept: float,
        scaling: PointsScaling,
        classes: npt.NDArray[Any],
        log: pl.DataFrame,
        points: Mapping[str, Any] | None = None,
    ) -> None:
        self.binner_ = binner
        self.features_ = features
        self.coefficients_ = coefficients
        self.intercept_ = intercept
        self.scaling_ = scaling
        self.classes_ = classes
        self.selection_log_ = log
        self.n_features_in_ = binner.n_features_in_
        if hasattr(binner, "feature_names_in_"):
            self.feature_names_in_ = binner.feature_names_in_
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        if points is None:
            share = (scaling.offset - scaling.factor * intercept) / len(features)
            points = {
                f: np.rint(
                    -scaling.factor * coefficients[f] * np.asarray(binner.bins_[f].woe) + share
                ).astype(np.int64)
                for f in features
            }
        self.points_ = {f: np.asarray(points[f], dtype=np.int64) for f in features}

    # ------------------------------------------------------------------ scoring

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "points_")
        except SklearnNotFittedError as exc:
            raise EstimatorNotFittedError(
                f"'{type(self).__name__}' must be fitted before use; call fit(X, y) first."
            ) from exc

    def _frame(self, X: Any) -> pl.DataFrame:
        return self.binner_._frame_for(X, list(self.features_))

    def _encoders(self) -> list[Any]:
        return [self.binner_.bins_[f].encoder() for f in self.features_]

    def points(self, X: Any) -> IntArray:
        """Total integer score of every row (higher = safer).

        Raises
        ------
        NotFittedError, SchemaError, DataError
            Before ``fit``; for missing columns; for unseen levels with ``unseen="error"``.
        """
        self._check_fitted()
        frame = self._frame(X)
        return cast(
            IntArray,
            apply_tables(
                frame,
                self._encoders(),
                [self.points_[f].astype(np.int32) for f in self.features_],
                mode="sum",
                n_jobs=self.n_jobs,
            ).astype(np.int64),
        )

    def decision_function(self, X: Any) -> FloatArray:
        """Log-odds of bad implied by the integer score: ``(offset - score) / factor``."""
        score = self.points(X).astype(np.float64)
        return (self.scaling_.offset - score) / self.scaling_.factor

    def predict_proba(self, X: Any) -> FloatArray:
        """Columns ``[P(classes_[0]), P(classes_[1])]``; the second is the PD."""
        score = self.points(X).astype(np.float64)
        pd_ = self.scaling_.pd_from_score(score)
        return np.column_stack((1.0 - pd_, pd_))

    def predict(self, X: Any) -> npt.NDArray[Any]:
        """``classes_[1]`` (bad) where the PD exceeds one half, else ``classes_[0]``."""
        self._check_fitted()
        return cast(npt.NDArray[Any], self.classes_[(self.decision_function(X) > 0).astype(int)])

    def reasons(self, X: Any, *, k: int = 3) -> pl.DataFrame:
        """Top-``k`` reason codes per row: the features that lost most points vs. their best bin.

        Returns a frame with ``reason_{i}_code``, ``reason_{i}_zh`` and ``reason_{i}_en``
        for ``i = 1..k``; a reason is null when fewer than ``i`` features lost points. The
        code is the feature name upper-cased; the texts use ``feature_labels``. Ties are
        broken by model feature order.

        Raises
        ------
        ConfigError
            When ``k`` is not a positive integer.
        """
        self._check_fitted()
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigError(f"'k' must be a positive integer; got {k!r}.")
        frame = self._frame(X)
        lost_tables = []
        for f in self.features_:
            pts = self.points_[f]
            # best bin among bins with training rows: an unused bin is no benchmark
            used = np.asarray(self.binner_.bins_[f].counts) > 0
            lost_tables.append(np.maximum(pts[used].max() - pts, 0).astype(np.int32))
        p = len(self.features_)
        kk = min(k, p)
        idx = np.empty((frame.height, kk), dtype=np.int64)
        for st in range(0, frame.height, _REASON_ROWS):
            part = frame.slice(st, _REASON_ROWS)
            lost = apply_tables(
                part, self._encoders(), lost_tables, mode="matrix", n_jobs=self.n_jobs
            )
            order = np.argsort(-lost, axis=1, kind="stable")[:, :kk]
            top = np.take_along_axis(lost, order, axis=1)
            idx[st : st + part.height] = np.where(top > 0, order, -1)
        labels = self.feature_labels or {}
        codes = [f.upper() for f in self.features_]
        zh = [_REASON_ZH.format(label=labels.get(f, (f, f))[0]) for f in self.features_]
        en = [_REASON_EN.format(label=labels.get(f, (f, f))[1]) for f in self.features_]
        cols: dict[str, pl.Series] = {}
        keys = list(range(p))
        for i in range(k):
            # -1 (no reason) is not a key, so it maps to null.
            s = pl.Series(idx[:, i] if i < kk else np.full(frame.height, -1), dtype=pl.Int64)
            for name, texts in (("code", codes), ("zh", zh), ("en", en)):
                cols[f"reason_{i + 1}_{name}"] = s.replace_strict(
                    keys, texts, default=None, return_dtype=pl.String
                ).alias(f"reason_{i + 1}_{name}")
        return pl.DataFrame(list(cols.values()))

    # ------------------------------------------------------------------ reporting

    def table(self) -> pl.DataFrame:
        """The scorecard: one row per bin of every model feature.

        Columns: ``feature``, ``bin``, ``label``, ``kind``, ``count``, ``bad_rate``,
        ``woe``, ``coefficient``, ``points``.

        Examples
        --------
        >>> rng = np.random.default_rng(2)
        >>> X = pl.DataFrame({"overdue_months": rng.integers(0, 4, 5000)})
        >>> risk = 1 / (1 + np.exp(3 - X["overdue_months"].to_numpy()))
        >>> y = (rng.random(5000) < risk).astype(int)
        >>> Scorecard().fit(X, y).table().select("label", "count", "points")
        shape: (5, 3)
        ┌───────────┬───────┬────────┐
        │ label     ┆ count ┆ points │
        │ ---       ┆ ---   ┆ ---    │
        │ str       ┆ i64   ┆ i64    │
        ╞═══════════╪═══════╪════════╡
        │ (-inf, 1) ┆ 1296  ┆ 580    │
        │ [1, 2)    ┆ 1233  ┆ 542    │
        │ [2, 3)    ┆ 1233  ┆ 517    │
        │ [3, inf)  ┆ 1238  ┆ 484    │
        │ Missing   ┆ 0     ┆ 521    │
        └───────────┴───────┴────────┘

        The missing bin held no training rows: WoE 0, so it scores as an average row.
        """
        self._check_fitted()
        parts = []
        for f in self.features_:
            bt = self.binner_.bin_table(f, totals=False)
            parts.append(
                bt.select(
                    pl.lit(f).alias("feature"),
                    "bin",
                    "label",
                    "kind",
                    "count",
                    "bad_rate",
                    "woe",
                    pl.lit(self.coefficients_[f]).alias("coefficient"),
                    pl.Series("points", self.points_[f]),
                )
            )
        return pl.concat(parts)

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        """Bins, coefficients, points and scaling as a JSON-ready dict."""
        self._check_fitted()
        params = self.get_params(deep=False)
        params["binner"] = None if self.binner is None else self.binner.get_params()
        params["scaling"] = None if self.scaling is None else _scaling_dict(self.scaling)
        params["feature_labels"] = (
            None
            if self.feature_labels is None
            else {k: list(v) for k, v in self.feature_labels.items()}
        )
        return {
            "format": _JSON_FORMAT,
            "version": _JSON_VERSION,
            "params": params,
            "binner": self.binner_.to_dict(),
            "features": list(self.features_),
            "coefficients": dict(self.coefficients_),
            "intercept": self.intercept_,
            "scaling": _scaling_dict(self.scaling_),
            "points": {f: self.points_[f].tolist() for f in self.features_},
            "classes": self.classes_.tolist(),
            "selection_log": self.selection_log_.to_dicts(),
        }

    def to_json(self) -> str:
        """Serialise to JSON; :meth:`from_json` restores identical scores.

        Examples
        --------
        >>> rng = np.random.default_rng(1)
        >>> X = pl.DataFrame({"x": rng.normal(size=3000)})
        >>> y = (rng.random(3000) < 1 / (1 + np.exp(2 - X["x"].to_numpy()))).astype(int)
        >>> card = Scorecard().fit(X, y)
        >>> bool((Scorecard.from_json(card.to_json()).points(X) == card.points(X)).all())
        True
        """
        return json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scorecard:
        """Rebuild a fitted scorecard from :meth:`to_dict` output.

        Raises
        ------
        DataError
            When ``data`` is not a serialised Scorecard of a known version.
        """
        if data.get("format") != _JSON_FORMAT or data.get("version") != _JSON_VERSION:
            raise DataError(
                f"'data' must be a {_JSON_FORMAT} version {_JSON_VERSION} document; got "
                f"format {data.get('format')!r} version {data.get('version')!r}."
            )
        params = dict(data["params"])
        if params.get("binner") is not None:
            params["binner"] = WoEBinner(**params["binner"])
        if params.get("scaling") is not None:
            params["scaling"] = PointsScaling(**params["scaling"])
        if params.get("feature_labels") is not None:
            params["feature_labels"] = {k: tuple(v) for k, v in params["feature_labels"].items()}
        card = cls(**params)
        card._set_fitted(
            binner=WoEBinner.from_dict(data["binner"]),
            features=tuple(data["features"]),
            coefficients={k: float(v) for k, v in data["coefficients"].items()},
            intercept=float(data["intercept"]),
            scaling=PointsScaling(**data["scaling"]),
            classes=np.asarray(data["classes"]),
            log=pl.DataFrame(data["selection_log"], schema=LOG_SCHEMA),
            points=data["points"],
        )
        return card

    @classmethod
    def from_json(cls, text: str) -> Scorecard:
        """Rebuild a fitted scorecard from :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.classifier_tags = ClassifierTags(multi_class=False)
        return tags


def _shape_name(fb: FeatureBins) -> str:
    woe = np.asarray(fb.woe[: fb.n_regular])
    return "peak" if woe.size > 1 and woe[1] > woe[0] else "valley"


def _scaling_dict(s: PointsScaling) -> dict[str, float]:
    return {"base_points": s.base_points, "base_odds": s.base_odds, "pdo": s.pdo}
