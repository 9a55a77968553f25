"""Tests of scoring.metrics: known answers against scikit-learn / scipy, and properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.metrics import log_loss as sk_log_loss

from scoring import metrics as m
from scoring.exceptions import ConfigError, DataError


@pytest.fixture
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    n = 3000
    z = rng.normal(size=n)
    pd_ = 1 / (1 + np.exp(3.0 - 1.2 * z))
    y = rng.binomial(1, pd_)
    # round to create many ties
    return y, np.round(pd_, 2)


# --------------------------------------------------------------------------- known answers


def test_auc_matches_sklearn_with_ties(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, s = scored
    assert len(np.unique(s)) < 100  # the fixture really has ties
    assert m.auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert m.gini(y, s) == pytest.approx(2 * roc_auc_score(y, s) - 1, abs=1e-12)


def test_auc_accepts_polars_pandas_and_bool(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, s = scored
    expected = roc_auc_score(y, s)
    assert m.auc(pl.Series(y.astype(bool)), pl.Series(s)) == pytest.approx(expected)
    assert m.auc(pd.Series(y), pd.Series(s)) == pytest.approx(expected)


def test_ks_matches_scipy(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, s = scored
    ref = stats.ks_2samp(s[y == 1], s[y == 0])
    got = m.ks(y, s)
    assert got.statistic == pytest.approx(ref.statistic, abs=1e-12)
    assert got.threshold == pytest.approx(ref.statistic_location)


def test_ks_threshold_hand_computed() -> None:
    # bads at 0.25, 0.9; goods at 0.1, 0.2, 0.3: F_good(0.2) = 2/3, F_bad(0.2) = 0
    r = m.ks([0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.25, 0.9])
    assert r.statistic == pytest.approx(2 / 3)
    assert r.threshold == 0.2


def test_brier_and_log_loss_match_sklearn(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, s = scored
    p = np.clip(s, 0.01, 0.99)
    assert m.brier(y, p) == pytest.approx(brier_score_loss(y, p), rel=1e-12)
    assert m.log_loss(y, p) == pytest.approx(sk_log_loss(y, p), rel=1e-12)


def test_log_loss_clips_certain_mistakes() -> None:
    loss = m.log_loss([1, 0], [0.0, 0.0])
    assert math.isfinite(loss)
    assert loss == pytest.approx(-math.log(m.LOG_LOSS_EPS) / 2, rel=1e-6)


def test_psi_hand_computed() -> None:
    expected = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    actual = [1, 1, 2, 3, 4, 5, 9, 9, 10, 10]
    # bins (-inf, 4), [4, 8), [8, inf): shares 0.3/0.4/0.3 vs 0.4/0.2/0.4
    want = (
        (0.4 - 0.3) * math.log(0.4 / 0.3)
        + (0.2 - 0.4) * math.log(0.2 / 0.4)
        + (0.4 - 0.3) * math.log(0.4 / 0.3)
    )
    assert m.psi(expected, actual, bins=[4, 8]) == pytest.approx(want, abs=1e-12)


def test_psi_epsilon_for_empty_bin() -> None:
    # actual is empty in [5, inf): its share 0 becomes epsilon
    t = m.psi_table([1, 2, 8, 9], [1, 2, 3, 4], bins=[5], epsilon=0.001)
    want = (1.0 - 0.5) * math.log(1.0 / 0.5) + (0.001 - 0.5) * math.log(0.001 / 0.5)
    assert t["psi"].sum() == pytest.approx(want)
    assert t["actual_share"].to_list() == [1.0, 0.0]


def test_psi_quantile_bins_come_from_expected() -> None:
    rng = np.random.default_rng(3)
    ref = rng.normal(size=10_000)
    t = m.psi_table(ref, ref + 0.5, bins=10)
    assert t.height == 10
    assert np.allclose(t["expected_share"].to_numpy(), 0.1, atol=0.001)
    assert m.psi(ref, ref + 0.5) > 0.2
    assert m.psi(ref, rng.normal(size=10_000)) < 0.01


def test_psi_missing_and_categorical_bins() -> None:
    t = m.psi_table([1.0, 2.0, np.nan, np.nan], [1.0, 2.0, 2.0, np.nan], bins=[1.5])
    assert t["bin"].to_list() == ["[-inf, 1.5)", "[1.5, inf)", "missing"]
    assert t["actual_n"].to_list() == [1, 2, 1]
    cat = m.psi_table(pl.Series(["a", "b", None]), pl.Series(["a", "c", "c"]))
    assert cat["bin"].to_list() == ["a", "b", "c", "missing"]
    assert cat["expected_n"].to_list() == [1, 1, 0, 1]


def test_csi_per_feature() -> None:
    ref = pl.DataFrame({"x": np.arange(100.0), "g": ["a", "b"] * 50})
    new = pl.DataFrame({"x": np.arange(100.0) + 50, "g": ["a", "b"] * 50})
    t = m.csi(ref, new, bins={"x": [25.0, 50.0, 75.0]})
    assert t["feature"].to_list() == ["x", "g"]
    assert t.filter(pl.col("feature") == "g")["csi"].item() == 0.0
    assert t.filter(pl.col("feature") == "x")["csi"].item() == pytest.approx(
        m.psi(ref["x"], new["x"], bins=[25.0, 50.0, 75.0])
    )
    with pytest.raises(DataError, match="'columns' must exist in both samples"):
        m.csi(ref, new, columns=["nope"])


def test_lift_table_deciles(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, _ = scored
    rng = np.random.default_rng(0)
    s = rng.random(y.size) + y  # bads score higher
    t = m.lift_table(y, s)
    assert t.height == 10
    assert t["n"].sum() == y.size
    assert t["bads"].sum() == y.sum()
    assert t["cum_share_bads"][-1] == pytest.approx(1.0)
    assert t["lift"][0] > 1.5  # the riskiest decile is worse than average
    assert t["ks"].max() == pytest.approx(m.ks(y, s).statistic, abs=0.05)
    # points: higher is safer, so the first bin is the lowest scores
    pts = m.lift_table(y, -s, higher_is_riskier=False)
    assert pts["bads"].to_list() == t["bads"].to_list()


def test_lift_table_explicit_bins_keep_empty_bins() -> None:
    t = m.lift_table([0, 1, 0, 1], [0.1, 0.2, 0.8, 0.9], bins=[0.3, 0.5, 0.7])
    assert t["n"].to_list() == [2, 0, 0, 2]
    assert t["bad_rate"].to_list() == [0.5, None, None, 0.5]


def test_binomial_intervals() -> None:
    lo, hi = m.binomial_interval([10], [200], method="exact")
    ref = stats.binomtest(10, 200).proportion_ci(confidence_level=0.95, method="exact")
    assert (lo[0], hi[0]) == pytest.approx((ref.low, ref.high))
    lo, hi = m.binomial_interval([10], [200], method="wilson")
    ref = stats.binomtest(10, 200).proportion_ci(confidence_level=0.95, method="wilson")
    assert (lo[0], hi[0]) == pytest.approx((ref.low, ref.high))
    lo, hi = m.binomial_interval([0, 7], [7, 7], method="wilson")
    assert lo[0] == 0.0
    assert hi[1] == 1.0
    lo, hi = m.binomial_interval([0], [0])
    assert np.isnan(lo[0])
    assert np.isnan(hi[0])


def test_calibration_by_grade_flags_miscalibration() -> None:
    rng = np.random.default_rng(1)
    n = 4000
    grade = rng.choice(["A", "B"], n)
    true_pd = np.where(grade == "A", 0.02, 0.10)
    y = rng.binomial(1, true_pd)
    stated = np.where(grade == "A", 0.02, 0.03)  # B is badly under-stated
    t = m.calibration_by_grade(y, stated, grade, grade_order=["A", "B", "C"])
    assert t["grade"].to_list() == ["A", "B", "C"]
    assert t["expected_in_interval"].to_list() == [True, False, None]
    assert t["n"].to_list()[2] == 0
    assert t["n"].sum() == n
    with pytest.raises(DataError, match="'grades' must only hold grades of 'grade_order'"):
        m.calibration_by_grade(y, stated, grade, grade_order=["A"])


def test_metrics_by_group() -> None:
    rng = np.random.default_rng(2)
    n = 2000
    region = rng.choice(["440100", "440300", "445300"], n)
    s = rng.random(n)
    y = rng.binomial(1, np.where(region == "445300", 0.5 * s, 0.2))
    t = m.metrics_by_group(y, s, region)
    assert t["group"].to_list() == ["440100", "440300", "445300"]
    assert t["n"].sum() == n
    row = t.filter(pl.col("group") == "445300")
    assert row["auc"].item() == pytest.approx(m.auc(y[region == "445300"], s[region == "445300"]))
    assert row["auc"].item() > 0.6
    small = m.metrics_by_group(y, s, region, min_count=10_000)
    assert small["auc"].null_count() == 3


def test_pd_metrics_summary(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, s = scored
    got = m.pd_metrics(y, s)
    assert got["auc"] == pytest.approx(roc_auc_score(y, s))
    assert got["n"] == y.size


# --------------------------------------------------------------------------- bad input


def test_target_not_binary() -> None:
    with pytest.raises(DataError, match="'y_true' must be binary 0/1"):
        m.auc([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(DataError, match="'y_true' must contain both classes"):
        m.auc([0, 0], [0.1, 0.2])


def test_bad_scores() -> None:
    with pytest.raises(DataError, match="must not contain NaN"):
        m.auc([0, 1], [0.1, np.nan])
    with pytest.raises(DataError, match="as many rows"):
        m.ks([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(DataError, match="probabilities in \\[0, 1\\]"):
        m.brier([0, 1], [0.1, 1.2])


def test_bad_options() -> None:
    with pytest.raises(ConfigError, match="'epsilon' must be in \\(0, 1\\)"):
        m.psi([1, 2], [1, 2], epsilon=0)
    with pytest.raises(ConfigError, match="strictly increasing"):
        m.psi([1, 2], [1, 2], bins=[2, 1])
    with pytest.raises(ConfigError, match="'n_bins' must be a positive integer"):
        m.lift_table([0, 1], [0.1, 0.2], n_bins=0)
    with pytest.raises(ConfigError, match="'method' must be one of"):
        m.binomial_interval([1], [2], method="normal")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- properties

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 200), elements=finite), st.integers(1, 20))
def test_psi_of_a_sample_with_itself_is_zero(x: np.ndarray, n_bins: int) -> None:
    assert m.psi(x, x, bins=n_bins) == 0.0


@settings(max_examples=60, deadline=None)
@given(
    # scores on a 0.1 grid: the transforms below stay strictly increasing in floating point
    st.lists(
        st.tuples(st.integers(0, 1), st.integers(-10_000, 10_000).map(lambda i: i / 10)),
        min_size=2,
        max_size=200,
    ).filter(lambda r: len({t[0] for t in r}) == 2)
)
def test_auc_invariant_under_monotone_transforms(rows: list[tuple[int, float]]) -> None:
    y = np.array([r[0] for r in rows])
    s = np.array([r[1] for r in rows])
    base = m.auc(y, s)
    # strictly increasing maps keep the ranks (and the ties)
    assert m.auc(y, np.arctan(s / 1e3) * 7 + 3) == pytest.approx(base, abs=1e-12)
    assert m.auc(y, np.sign(s) * np.log1p(np.abs(s))) == pytest.approx(base, abs=1e-12)
    assert m.auc(y, -s) == pytest.approx(1 - base, abs=1e-12)
    assert m.gini(y, s) == pytest.approx(2 * base - 1, abs=1e-12)
    assert 0.0 <= m.ks(y, s).statistic <= 1.0
