"""Tests of scoring.challenger.GBMChallenger."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from scoring import metrics
from scoring.binning import WoEBinner
from scoring.challenger import GBMChallenger
from scoring.exceptions import ConfigError, DataError, ModelError, NotFittedError
from scoring.grades import SME_GRADES, PointsScaling
from scoring.scorecard import Scorecard

SECTOR_LOGIT = {"retail": 0.0, "farm": 0.8, "factory": -0.6, "mining": 1.2}


def make_credit(n: int, seed: int) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """SME-like data: debt raises risk, years in business lower it, a categorical sector."""
    rng = np.random.default_rng(seed)
    debt = rng.uniform(0, 1, n)
    years = rng.gamma(2.0, 5.0, n)
    sector = rng.choice(list(SECTOR_LOGIT), n)
    noise = rng.normal(size=n)
    logit = -3.6 + 2.5 * debt - 0.08 * years + np.vectorize(SECTOR_LOGIT.get)(sector).astype(float)
    pd_ = 1 / (1 + np.exp(-logit))
    y = rng.binomial(1, pd_)
    debt_obs = np.where(rng.random(n) < 0.05, np.nan, debt)
    X = pl.DataFrame(
        {"debt_ratio": debt_obs, "years_in_business": years, "sector": sector, "noise": noise}
    ).with_columns(pl.col("debt_ratio").fill_nan(None))
    return X, y, pd_


@pytest.fixture(scope="module")
def credit() -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    return make_credit(6000, seed=1)


@pytest.fixture(scope="module")
def fitted(credit: tuple[pl.DataFrame, np.ndarray, np.ndarray]) -> GBMChallenger:
    X, y, _ = credit
    return GBMChallenger(
        monotone_constraints={"debt_ratio": 1, "years_in_business": -1}, n_splits=3
    ).fit(X, y)


# --------------------------------------------------------------------------- behaviour


def test_fit_predict_on_polars_with_categories_and_nulls(
    fitted: GBMChallenger, credit: tuple[pl.DataFrame, np.ndarray, np.ndarray]
) -> None:
    X, y, true_pd = credit
    proba = fitted.predict_proba(X)
    assert proba.shape == (X.height, 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert fitted.categorical_features_ == ["sector"]
    assert fitted.categories_["sector"] == sorted(SECTOR_LOGIT)
    assert fitted.feature_names_in_.tolist() == X.columns
    assert len(fitted.boosters_) == 3
    assert len(fitted.calibrators_) == 3
    # out-of-fold discrimination close to the truth's, PDs calibrated on average
    oof_auc = metrics.auc(y, fitted.oof_pd_)
    assert oof_auc > metrics.auc(y, true_pd) - 0.04
    assert proba[:, 1].mean() == pytest.approx(y.mean(), abs=0.01)
    assert fitted.feature_importances_.sum() == pytest.approx(1.0)
    imp = dict(zip(X.columns, fitted.feature_importances_, strict=True))
    assert imp["noise"] < imp["debt_ratio"]


def test_scoring_reorders_columns_and_tolerates_unseen_levels(
    fitted: GBMChallenger, credit: tuple[pl.DataFrame, np.ndarray, np.ndarray]
) -> None:
    X, _, _ = credit
    head = X.head(50)
    base = fitted.predict_proba(head)
    shuffled = head.select(["noise", "sector", "years_in_business", "debt_ratio"])
    assert np.array_equal(fitted.predict_proba(shuffled), base)
    assert np.array_equal(fitted.predict_proba(head.to_pandas()), base)
    unseen = head.with_columns(pl.lit("fishery").alias("sector"))
    assert np.isfinite(fitted.predict_proba(unseen)).all()


@pytest.mark.parametrize(("feature", "direction"), [("debt_ratio", 1), ("years_in_business", -1)])
def test_monotone_constraint_holds(
    fitted: GBMChallenger,
    credit: tuple[pl.DataFrame, np.ndarray, np.ndarray],
    feature: str,
    direction: int,
) -> None:
    X, _, _ = credit
    rows = X.head(40)
    grid = np.linspace(float(X[feature].min()), float(X[feature].max()), 60)
    curves = np.column_stack(
        [fitted.predict_proba(rows.with_columns(pl.lit(g).alias(feature)))[:, 1] for g in grid]
    )
    steps = np.diff(curves, axis=1) * direction
    assert (steps >= -1e-12).all()  # each row's PD moves one way only
    assert (curves[:, -1] - curves[:, 0]).mean() * direction > 0.01


def test_auto_constraints_follow_the_binning_trends() -> None:
    rng = np.random.default_rng(40)
    n = 8000
    debt = rng.uniform(0, 1, n)
    tenure = rng.gamma(2.0, 5.0, n)
    age = rng.uniform(18, 75, n)
    guarantor = rng.integers(0, 2, n)  # binary
    education = rng.integers(1, 7, n)  # a nominal code stored as an integer
    weak = rng.normal(size=n)
    logit = (
        -3.2
        + 2.5 * debt
        - 0.08 * tenure
        + 0.004 * (age - 46) ** 2  # young and old riskier: a valley
        - 0.6 * guarantor
        + np.where(education == 1, -0.6, 0.0)  # only code 1 differs: two bins
        + 0.05 * weak
    )
    y = rng.binomial(1, 1 / (1 + np.exp(-logit)))
    X = pl.DataFrame(
        {
            "debt": debt,
            "tenure": tenure,
            "age": age,
            "guarantor": guarantor,
            "education": education,
            "weak": weak,
            "sector": rng.choice(["farm", "shop"], n),
        }
    )
    model = GBMChallenger(n_splits=2).fit(X, y)
    got = model.monotone_constraints_
    assert (got["debt"], got["tenure"], got["guarantor"]) == (1, -1, -1)
    assert got["age"] == 0
    assert got["sector"] == 0
    # the rules, checked against the binner's own output
    binner = WoEBinner().fit(X.drop("sector"), y)
    for c, trend in binner.monotonic_trends_.items():
        binary = X[c].n_unique() <= 2
        keep = trend != 0 and binner.iv_[c] >= 0.02
        keep = keep and (binary or binner.bins_[c].n_regular >= 3)
        assert got[c] == (trend if keep else 0), c
    table = model.constraint_table_
    reasons = dict(zip(table["feature"], table["reason"], strict=True))
    assert reasons["age"].startswith("peak, valley")
    assert reasons["sector"] == "categorical"
    assert reasons["debt"] == "monotone WoE"
    assert got["weak"] == 0
    assert got["education"] == 0
    assert reasons["education"] == "fewer than 3 bins: left free"
    assert reasons["weak"] == "IV below 0.02: left free"
    assert table.filter(pl.col("feature") == "debt")["iv"].item() == pytest.approx(
        binner.iv_["debt"]
    )


def test_without_constraint_the_curve_is_free() -> None:
    # a U-shaped risk: with no constraint the model follows it, so the check above can fail
    rng = np.random.default_rng(3)
    n = 6000
    x = rng.uniform(-1, 1, n)
    y = rng.binomial(1, 1 / (1 + np.exp(-(-3.0 + 3.0 * x**2))))
    X = x.reshape(-1, 1)
    free = GBMChallenger(monotone_constraints=None, n_splits=2).fit(X, y)
    grid = np.linspace(-1, 1, 41).reshape(-1, 1)
    pd_free = free.predict_proba(grid)[:, 1]
    assert (np.diff(pd_free) < -1e-9).any()
    assert (np.diff(pd_free) > 1e-9).any()
    rising = GBMChallenger(monotone_constraints={"x0": 1}, n_splits=2).fit(X, y)
    assert (np.diff(rising.predict_proba(grid)[:, 1]) >= -1e-12).all()


def test_calibration_repairs_skewed_probabilities() -> None:
    X, y, _ = make_credit(6000, seed=5)
    X_test, y_test, _ = make_credit(6000, seed=6)
    common = {"monotone_constraints": None, "n_splits": 2, "scale_pos_weight": 15.0}
    raw = GBMChallenger(calibration="none", **common).fit(X, y)  # type: ignore[arg-type]
    platt = GBMChallenger(calibration="sigmoid", **common).fit(X, y)  # type: ignore[arg-type]
    iso = GBMChallenger(calibration="isotonic", **common).fit(X, y)  # type: ignore[arg-type]
    brier_raw = metrics.brier(y_test, raw.predict_proba(X_test)[:, 1])
    brier_platt = metrics.brier(y_test, platt.predict_proba(X_test)[:, 1])
    brier_iso = metrics.brier(y_test, iso.predict_proba(X_test)[:, 1])
    assert raw.predict_proba(X_test)[:, 1].mean() > 2 * y_test.mean()  # really miscalibrated
    assert brier_platt < 0.9 * brier_raw
    assert brier_iso < 0.9 * brier_raw
    assert platt.predict_proba(X_test)[:, 1].mean() == pytest.approx(y_test.mean(), abs=0.012)


def test_reasons_point_at_the_planted_driver() -> None:
    rng = np.random.default_rng(8)
    n = 5000
    X = pl.DataFrame(
        {
            "overdue_months": rng.poisson(0.5, n).astype(float),
            "noise_a": rng.normal(size=n),
            "noise_b": rng.normal(size=n),
        }
    )
    y = rng.binomial(1, 1 / (1 + np.exp(-(-3.5 + 1.2 * X["overdue_months"].to_numpy()))))
    model = GBMChallenger(
        monotone_constraints={"overdue_months": 1},
        n_splits=2,
        feature_labels={"overdue_months": ("逾期月数", "months overdue")},
    ).fit(X, y)
    risky = X.filter(pl.col("overdue_months") >= 3)
    assert risky.height > 20
    r = model.reasons(risky, k=3)
    assert r.columns == [f"reason_{i}_{s}" for i in (1, 2, 3) for s in ("code", "zh", "en")]
    assert (r["reason_1_code"] == "OVERDUE_MONTHS").mean() == 1.0
    assert r["reason_1_zh"][0] == "逾期月数得分偏低"
    assert r["reason_1_en"][0] == "months overdue lowered the score"
    # default text uses the feature name; fewer positive contributions than k gives nulls
    safe = X.filter(pl.col("overdue_months") == 0).head(200)
    rs = model.reasons(safe, k=5)
    assert rs.width == 15
    assert rs["reason_4_code"].null_count() == 200
    codes = rs["reason_1_code"].drop_nulls()
    assert "OVERDUE_MONTHS" not in codes.to_list()
    assert rs["reason_1_en"].drop_nulls().str.ends_with(" lowered the score").all()
    contrib = model.contributions(risky)
    raw = model._raw_scores(model._encode(model._scoring_frame(risky)))
    assert np.allclose(contrib.sum_horizontal().to_numpy(), raw)


def test_reason_texts_match_the_scorecard() -> None:
    X, y, _ = make_credit(4000, seed=12)
    X = X.drop("sector")
    labels = {"debt_ratio": ("负债率", "debt ratio")}
    card = Scorecard(feature_labels=labels).fit(X, y)
    gbm = GBMChallenger(monotone_constraints=None, n_splits=2, feature_labels=labels).fit(X, y)
    rows = X.head(300)

    def texts(r: pl.DataFrame) -> set[tuple[str, str, str]]:
        return {t for t in r.select(r.columns[:3]).rows() if t[0] is not None}

    from_card = texts(card.reasons(rows, k=1))
    from_gbm = texts(gbm.reasons(rows, k=1))
    assert ("DEBT_RATIO", "负债率得分偏低", "debt ratio lowered the score") in from_card & from_gbm
    assert (
        "YEARS_IN_BUSINESS",
        "years_in_business得分偏低",
        "years_in_business lowered the score",
    ) in (from_card & from_gbm)


def test_points_and_grades(
    fitted: GBMChallenger, credit: tuple[pl.DataFrame, np.ndarray, np.ndarray]
) -> None:
    X, _, _ = credit
    pd_ = fitted.predict_proba(X)[:, 1]
    pts = fitted.points(X)
    assert pts.dtype == np.int64
    order = np.argsort(pd_)
    assert (np.diff(pts[order]) <= 0).all()  # higher PD, fewer points
    assert np.array_equal(pts, np.rint(PointsScaling().score_from_pd(pd_)).astype(np.int64))
    custom = GBMChallenger(
        monotone_constraints=None,
        n_splits=2,
        scaling=PointsScaling(base_points=500, base_odds=20, pdo=50),
        segment="household",
    ).fit(X, credit[1])
    assert set(custom.grades(X).tolist()) <= {"AAA", "AA", "A", "BELOW_A"}
    assert abs(np.median(custom.points(X)) - np.median(pts)) > 20
    g = fitted.grades(X)
    assert set(g.tolist()) <= set(SME_GRADES)
    assert np.array_equal(g, fitted.master_scale_.grade(pd_))
    assert fitted.master_scale_.grade_table_["n"].sum() == X.height  # all rows out of fold


def test_single_split_and_deterministic(
    credit: tuple[pl.DataFrame, np.ndarray, np.ndarray],
) -> None:
    X, y, _ = credit
    kw = {"monotone_constraints": None, "n_splits": 1, "validation_fraction": 0.25}
    a = GBMChallenger(random_state=3, **kw).fit(X, y)  # type: ignore[arg-type]
    b = GBMChallenger(random_state=3, **kw).fit(X, y)  # type: ignore[arg-type]
    c = GBMChallenger(random_state=4, **kw).fit(X, y)  # type: ignore[arg-type]
    assert len(a.boosters_) == 1
    assert np.isnan(a.oof_pd_).sum() == pytest.approx(0.75 * X.height, abs=1)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    assert a.master_scale_.grade_table_["n"].sum() == pytest.approx(0.25 * X.height, abs=1)


def test_numpy_and_pandas_inputs() -> None:
    X, y, _ = make_credit(2000, seed=2)
    Xn = X.drop("sector").to_numpy()
    m = GBMChallenger(monotone_constraints={"x0": 1}, n_splits=2).fit(Xn, y)
    assert not hasattr(m, "feature_names_in_")
    assert m.predict(Xn).shape == (2000,)
    mp = GBMChallenger(monotone_constraints=None, n_splits=2).fit(X.to_pandas(), pd.Series(y))
    assert mp.categorical_features_ == ["sector"]
    codes = GBMChallenger(
        monotone_constraints=None, n_splits=2, categorical_features=["years_in_business"]
    ).fit(X.with_columns(pl.col("years_in_business").round(0)), y)
    assert codes.categorical_features_ == ["years_in_business", "sector"]


# --------------------------------------------------------------------------- bad input


def test_target_must_be_binary(credit: tuple[pl.DataFrame, np.ndarray, np.ndarray]) -> None:
    X, y, _ = credit
    model = GBMChallenger(monotone_constraints=None, n_splits=2)
    with pytest.raises(DataError, match="Only binary classification is supported"):
        model.fit(X, y + np.arange(y.size) % 3)
    with pytest.raises(DataError, match="got values \\['bad', 'good'\\]"):
        model.fit(X, np.where(y == 1, "bad", "good"))
    with pytest.raises(DataError, match="continuous values"):
        model.fit(X, y * 0.5)
    with pytest.raises(ModelError, match="one class only"):
        model.fit(X, np.zeros(X.height))
    with pytest.raises(DataError, match="with 6000 rows"):
        model.fit(X, y[:-1])


def test_mismatched_columns_at_scoring(
    fitted: GBMChallenger, credit: tuple[pl.DataFrame, np.ndarray, np.ndarray]
) -> None:
    X, _, _ = credit
    with pytest.raises(DataError, match="missing \\['noise'\\]"):
        fitted.predict_proba(X.drop("noise"))
    with pytest.raises(DataError, match="must have 4 columns as in fit; got 3"):
        fitted.predict_proba(np.zeros((2, 3)))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        GBMChallenger().predict_proba(X)


def test_unusable_columns(credit: tuple[pl.DataFrame, np.ndarray, np.ndarray]) -> None:
    X, y, _ = credit
    dated = X.with_columns(pl.date(2014, 1, 1).alias("snapshot"))
    with pytest.raises(DataError, match="column 'snapshot' must be numeric or string"):
        GBMChallenger(monotone_constraints=None).fit(dated, y)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"monotone_constraints": {"nope": 1}}, "must name features of X"),
        ({"monotone_constraints": {"debt_ratio": 2}}, "must be -1, 0 or 1"),
        ({"monotone_constraints": {"sector": 1}}, "must be 0 for a categorical feature"),
        ({"monotone_constraints": "increasing"}, "must be a mapping, 'auto' or None"),
        ({"calibration": "beta"}, "'calibration' must be one of"),
        ({"n_splits": 0}, "'n_splits' must be a positive integer or 'auto'"),
        ({"learning_rate": 0}, "'learning_rate' must be in \\(0"),
        ({"subsample": 1.5}, "'subsample' must be in \\(0"),
        ({"num_leaves": 1}, "'num_leaves' must be an integer >= 2"),
        ({"min_child_samples": 0}, "'min_child_samples' must be a positive integer"),
        ({"scaling": 600}, "'scaling' must be a PointsScaling"),
        ({"feature_labels": {"debt_ratio": "负债"}}, "must be a \\(zh, en\\) pair"),
        ({"categorical_features": ["nope"]}, "'categorical_features' must name columns"),
    ],
)
def test_bad_params(
    credit: tuple[pl.DataFrame, np.ndarray, np.ndarray], kwargs: dict[str, object], match: str
) -> None:
    X, y, _ = credit
    params: dict[str, object] = {"monotone_constraints": None, "n_splits": 2, **kwargs}
    with pytest.raises(ConfigError, match=match):
        GBMChallenger(**params).fit(X.head(500), y[:500])  # type: ignore[arg-type]


def test_too_few_bads_for_the_folds(credit: tuple[pl.DataFrame, np.ndarray, np.ndarray]) -> None:
    X, y, _ = credit
    with pytest.raises(ModelError, match="'n_splits' must be at most the number of rows"):
        GBMChallenger(monotone_constraints=None, n_splits=10_000).fit(X, y)
    few = np.zeros(X.height)
    few[:3] = 1
    auto = GBMChallenger(monotone_constraints=None).fit(X, few)  # "auto" uses 3 folds
    assert len(auto.boosters_) == 3


def test_reasons_rejects_bad_k(fitted: GBMChallenger) -> None:
    with pytest.raises(ConfigError, match="'k' must be a positive integer"):
        fitted.reasons(pl.DataFrame(), k=0)


# --------------------------------------------------------------------------- scikit-learn

_LABELS = (
    "targets must be the 0/1 default flag (1 = default) so that the bad class is never "
    "guessed from label order; this check fits on other labels ({1, 2} or strings)"
)
_CHALLENGER_XFAIL = {
    "check_n_features_in_after_fitting": (
        "the feature-count error is a DataError in the house message shape \"'X' must "
        "have 4 features as in fit; got 1.\", not sklearn's wording the check matches"
    ),
    "check_estimators_dtypes": _LABELS,
    "check_classifier_data_not_an_array": _LABELS,
    "check_classifiers_classes": _LABELS,
}


@parametrize_with_checks(
    [GBMChallenger(monotone_constraints=None, n_splits=2)],
    expected_failed_checks=lambda est: _CHALLENGER_XFAIL,
)
def test_sklearn_compatible(estimator: GBMChallenger, check: object) -> None:
    params = repr(estimator.get_params())
    check(estimator)  # type: ignore[operator]  # scikit-learn's check raises when it fails
    assert repr(estimator.get_params()) == params  # and it left our parameters alone
