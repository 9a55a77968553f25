"""Tests of scoring.grades: points scaling and the master scale."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from scoring.exceptions import ConfigError, DataError, NotFittedError
from scoring.grades import (
    GRADE_TEXT,
    HOUSEHOLD_GRADES,
    PD_FLOOR,
    SME_GRADES,
    MasterScale,
    PointsScaling,
    default_pd_bounds,
)

# --------------------------------------------------------------------------- PointsScaling


def test_points_scaling_known_answers() -> None:
    s = PointsScaling()
    assert s.factor == pytest.approx(20 / math.log(2))
    assert s.offset == pytest.approx(600 - 20 / math.log(2) * math.log(50))
    # 600 points at 50:1, 620 at 100:1, 580 at 25:1
    got = s.score_from_pd([1 / 51, 1 / 101, 1 / 26])
    assert got == pytest.approx([600.0, 620.0, 580.0])
    assert s.score_from_log_odds(np.log([50.0, 100.0])) == pytest.approx([600.0, 620.0])


def test_points_scaling_custom_and_round_trip() -> None:
    s = PointsScaling(base_points=500, base_odds=20, pdo=40)
    pd_ = np.array([0.001, 0.01, 0.05, 0.3, 0.9])
    assert s.pd_from_score(s.score_from_pd(pd_)) == pytest.approx(pd_, rel=1e-9)
    assert s.score_from_pd([1 / 21])[0] == pytest.approx(500.0)
    assert s.score_from_pd(pl.Series([1 / 21]))[0] == pytest.approx(500.0)


def test_points_scaling_extreme_pd_stays_finite() -> None:
    s = PointsScaling()
    lo, hi = s.score_from_pd([1.0, 0.0])
    assert np.isfinite([lo, hi]).all()
    assert hi == pytest.approx(s.score_from_pd([PD_FLOOR])[0])
    assert s.pd_from_score([1e6, -1e6]) == pytest.approx([0.0, 1.0])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"base_points": 0}, "base_points"),
        ({"base_odds": -50}, "base_odds"),
        ({"pdo": float("nan")}, "pdo"),
        ({"pdo": "20"}, "pdo"),
    ],
)
def test_points_scaling_rejects_bad_values(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ConfigError, match=f"'{name}' must be a positive finite number; got"):
        PointsScaling(**kwargs)  # type: ignore[arg-type]


def test_points_scaling_is_frozen() -> None:
    s = PointsScaling()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.pdo = 10.0  # type: ignore[misc]


def test_points_scaling_rejects_bad_pd() -> None:
    with pytest.raises(DataError, match="'pd' must be probabilities in \\[0, 1\\]"):
        PointsScaling().score_from_pd([0.5, 1.5])
    with pytest.raises(DataError, match="without NaN"):
        PointsScaling().score_from_pd([np.nan])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=1e-6, max_value=1 - 1e-6), min_size=2, max_size=50),
    st.floats(min_value=1, max_value=1000),
    st.floats(min_value=0.1, max_value=1000),
    st.floats(min_value=1, max_value=200),
)
def test_points_keep_the_rank_order_of_pd(
    pds: list[float], base_points: float, base_odds: float, pdo: float
) -> None:
    s = PointsScaling(base_points=base_points, base_odds=base_odds, pdo=pdo)
    pd_ = np.sort(np.asarray(pds))
    score = s.score_from_pd(pd_)
    # higher PD, lower (or equal for equal PDs) score
    assert np.all(np.diff(score) <= 1e-9)
    strictly = np.diff(pd_) > 1e-9
    assert np.all(np.diff(score)[strictly] < 0)


# --------------------------------------------------------------------------- MasterScale


@pytest.fixture
def portfolio() -> tuple[np.ndarray, np.ndarray]:
    """A ~3 % default-rate portfolio whose PDs are calibrated."""
    rng = np.random.default_rng(11)
    pd_ = rng.beta(0.6, 20, size=40_000)
    return pd_, rng.binomial(1, pd_)


def test_default_bounds() -> None:
    assert len(default_pd_bounds("sme")) == len(SME_GRADES) - 1
    assert len(default_pd_bounds("household")) == len(HOUSEHOLD_GRADES) - 1
    assert all(np.diff(default_pd_bounds("sme")) > 0)
    with pytest.raises(ConfigError, match="'segment' must be one of"):
        default_pd_bounds("bank")  # type: ignore[arg-type]


def test_grades_are_left_closed_on_the_bounds() -> None:
    ms = MasterScale(segment="household", pd_bounds=[0.01, 0.02, 0.05]).fit([0.03])
    got = ms.grade([0.0, 0.0099, 0.01, 0.0199, 0.02, 0.05, 1.0])
    assert got.tolist() == ["AAA", "AAA", "AA", "AA", "A", "BELOW_A", "BELOW_A"]
    assert ms.grade_index([0.0, 1.0]).tolist() == [0, 3]
    assert ms.transform(np.array([[0.001], [0.5]])).tolist() == [["AAA"], ["BELOW_A"]]


def test_household_grade_text() -> None:
    ms = MasterScale(segment="household").fit([0.01])
    table = ms.grade_table_
    assert table["grade"].to_list() == ["AAA", "AA", "A", "BELOW_A"]
    assert table.filter(pl.col("grade") == "BELOW_A").row(0, named=True)["grade_zh"] == "低于A"
    assert GRADE_TEXT["BELOW_A"] == ("低于A", "below A")


def test_fit_estimates_observed_rates(portfolio: tuple[np.ndarray, np.ndarray]) -> None:
    pd_, y = portfolio
    ms = MasterScale().fit(pd_, y)
    t = ms.grade_table_
    assert t["grade"].to_list() == list(SME_GRADES)
    assert t["n"].sum() == pd_.size
    assert t["bads"].sum() == y.sum()
    big = t.filter(pl.col("n") > 5000)
    assert big.height >= 3
    # large grades: grade PD ~ observed rate (shrinkage weight 30 is negligible)
    assert np.allclose(big["grade_pd"], big["observed_rate"], rtol=0.02)
    assert np.all(np.diff(ms.grade_pd_) >= 0)
    # the bounds really hold the grade's PDs
    assert (t["mean_pd"].drop_nulls() >= t.filter(pl.col("n") > 0)["pd_lower"]).all()
    assert ms.grade_pd(pd_).mean() == pytest.approx(y.mean(), rel=0.1)


def test_empty_and_small_grades_fall_back_and_stay_monotone() -> None:
    # AA is empty; A has 3 rows and 3 bads; BBB is large and clean.
    pd_ = np.r_[np.full(1000, 0.001), np.full(3, 0.005), np.full(1000, 0.015)]
    y = np.r_[np.zeros(1000), np.ones(3), np.r_[np.ones(15), np.zeros(985)]]
    ms = MasterScale(pd_bounds=[0.002, 0.004, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32]).fit(pd_, y)
    t = ms.grade_table_
    aa = t.row(1, named=True)
    assert aa["n"] == 0
    assert aa["observed_rate"] is None
    # the raw estimate of A, (3 + 30 * 0.005) / 33, exceeds BBB's: pooled to be monotone
    assert np.all(np.diff(ms.grade_pd_) >= -1e-15)
    assert ms.grade_pd_[2] == pytest.approx(ms.grade_pd_[3])
    assert ms.grade_pd_[2] < 3 / 3  # shrunk toward the predicted PD, not 100 %
    # a grade nobody falls into still gets a PD inside or near its bounds
    assert 0.0 < ms.grade_pd_[-1] <= 1.0


def test_fit_without_outcomes_uses_mean_pd() -> None:
    ms = MasterScale(segment="household").fit(pl.Series([0.001, 0.003, 0.02]))
    assert ms.grade_pd_[0] == pytest.approx(0.002)
    assert ms.grade_table_["bads"].null_count() == 4


def test_inputs_polars_pandas(portfolio: tuple[np.ndarray, np.ndarray]) -> None:
    pd_, y = portfolio
    a = MasterScale().fit(pd_, y).grade_pd_
    b = MasterScale().fit(pl.DataFrame({"pd": pd_}), pl.Series(y)).grade_pd_
    c = MasterScale().fit(pd.DataFrame({"pd": pd_}), pd.Series(y)).grade_pd_
    assert np.array_equal(a, b)
    assert np.array_equal(a, c)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"segment": "bank"}, "'segment' must be one of"),
        ({"pd_bounds": [0.1, 0.2]}, "'pd_bounds' must hold 8 limits"),
        ({"pd_bounds": [0.001, 0.002, 0.01, 0.005, 0.04, 0.08, 0.16, 0.32]}, "strictly increasing"),
        ({"segment": "household", "pd_bounds": [0.0, 0.1, 0.2]}, "strictly increasing within"),
        ({"segment": "household", "pd_bounds": [0.1, 0.2, 1.0]}, "strictly increasing within"),
        ({"min_count": -1}, "'min_count' must be a non-negative integer"),
    ],
)
def test_master_scale_rejects_bad_params(kwargs: dict[str, object], match: str) -> None:
    est = MasterScale(**kwargs)  # type: ignore[arg-type]  # validation happens in fit
    with pytest.raises(ConfigError, match=match):
        est.fit([0.1])


def test_master_scale_rejects_bad_data() -> None:
    with pytest.raises(DataError, match="'X' must be probabilities in \\[0, 1\\]"):
        MasterScale().fit([0.1, 2.0])
    with pytest.raises(DataError, match="'y' must be binary"):
        MasterScale().fit([0.1, 0.2], [0, 2])
    with pytest.raises(DataError, match="'y' must be one-dimensional with 2 rows"):
        MasterScale().fit([0.1, 0.2], [0, 1, 1])
    with pytest.raises(DataError, match="exactly one column"):
        MasterScale().fit(np.zeros((3, 2)))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        MasterScale().grade([0.1])


def test_clone_keeps_params() -> None:
    ms = MasterScale(segment="household", pd_bounds=(0.01, 0.02, 0.03), min_count=5)
    assert clone(ms).get_params() == ms.get_params()


_PD_INPUT = (
    "MasterScale takes one column of PDs in [0, 1]; this check fits on several columns of "
    "unbounded values, which are rejected with a DataError"
)
_MASTER_SCALE_XFAIL = {
    name: _PD_INPUT
    for name in [
        "check_fit_score_takes_y",
        "check_estimators_overwrite_params",
        "check_dont_overwrite_parameters",
        "check_estimators_fit_returns_self",
        "check_readonly_memmap_input",
        "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit",
        "check_estimators_dtypes",
        "check_dtype_object",
        "check_estimators_empty_data_messages",
        "check_pipeline_consistency",
        "check_estimators_nan_inf",
        "check_estimators_pickle",
        "check_f_contiguous_array_estimator",
        "check_transformer_data_not_an_array",
        "check_transformer_general",
        "check_transformer_preserve_dtypes",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_fit2d_1sample",
        "check_fit2d_1feature",
        "check_dict_unchanged",
        "check_fit_idempotent",
        "check_fit_check_is_fitted",
        "check_n_features_in",
        "check_fit2d_predict1d",
    ]
}


@parametrize_with_checks([MasterScale()], expected_failed_checks=lambda est: _MASTER_SCALE_XFAIL)
def test_sklearn_compatible(estimator: MasterScale, check: object) -> None:
    params = repr(estimator.get_params())
    check(estimator)  # type: ignore[operator]  # scikit-learn's check raises when it fails
    assert repr(estimator.get_params()) == params  # and it left our parameters alone


def test_master_scale_pickles_and_refits_identically(
    portfolio: tuple[np.ndarray, np.ndarray],
) -> None:
    # what the skipped sklearn checks cover, on valid PD input
    import pickle

    pd_, y = portfolio
    ms = MasterScale().fit(pd_, y)
    again = pickle.loads(pickle.dumps(ms))
    assert np.array_equal(again.grade(pd_[:100]), ms.grade(pd_[:100]))
    assert np.array_equal(MasterScale().fit(pd_, y).grade_pd_, ms.grade_pd_)
    assert ms.n_features_in_ == 1
    assert ms.get_feature_names_out().tolist() == ["grade"]
    order = np.random.default_rng(0).permutation(pd_.size)
    assert np.array_equal(MasterScale().fit(pd_[order], y[order]).grade_pd_, ms.grade_pd_)
