"""Tests of scoring.scorecard: points scorecard, sign check, reasons and persistence."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from scoring.binning import WoEBinner
from scoring.exceptions import ConfigError, DataError, ModelError, NotFittedError
from scoring.grades import PointsScaling
from scoring.scorecard import Scorecard

GERMAN = Path(__file__).parent / "data" / "germancredit.csv"


@pytest.fixture(scope="module")
def german() -> tuple[pl.DataFrame, np.ndarray]:
    df = pl.read_csv(GERMAN)
    return df.drop("creditability"), (df["creditability"] == "bad").cast(pl.Int8).to_numpy()


@pytest.fixture(scope="module")
def german_card(german: tuple[pl.DataFrame, np.ndarray]) -> Scorecard:
    X, y = german
    labels = {"duration_in_month": ("贷款期限", "loan duration")}
    return Scorecard(feature_labels=labels).fit(X, y)


def make_credit(n: int, seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    debt = rng.uniform(0, 1, n)
    years = rng.integers(0, 30, n).astype(np.float64)
    sector = rng.choice(["farm", "shop", "works"], n)
    logit = -3 + 2.5 * debt - 0.05 * years + np.where(sector == "farm", 0.6, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    debt[rng.random(n) < 0.05] = np.nan
    frame = pl.DataFrame({"debt": debt, "years": years, "sector": sector})
    return frame.with_columns(pl.col("debt").fill_nan(None)), y


# --------------------------------------------------------------------------- model


def test_german_scorecard_is_a_valid_points_table(
    german_card: Scorecard, german: tuple[pl.DataFrame, np.ndarray]
) -> None:
    X, y = german
    card = german_card
    assert all(c > 0 for c in card.coefficients_.values())
    assert "status_of_existing_checking_account" in card.features_
    table = card.table()
    assert table.columns == [
        "feature",
        "bin",
        "label",
        "kind",
        "count",
        "bad_rate",
        "woe",
        "coefficient",
        "points",
    ]
    assert table["points"].dtype == pl.Int64
    assert set(table["feature"]) == set(card.features_)
    # riskier bins (higher WoE) never earn more points
    for f in card.features_:
        part = table.filter((pl.col("feature") == f) & (pl.col("count") > 0)).sort("woe")
        assert (np.diff(part["points"].to_numpy()) <= 0).all()
    points = card.points(X)
    assert points.dtype == np.int64
    assert roc_auc_score(y, -points) > 0.78
    # PD is the one implied by the integer score
    assert card.predict_proba(X)[:, 1] == pytest.approx(card.scaling_.pd_from_score(points))
    assert card.decision_function(X) == pytest.approx(
        (card.scaling_.offset - points) / card.scaling_.factor
    )
    assert set(card.predict(X)) <= {0, 1}


def test_points_are_the_sum_of_the_table(
    german_card: Scorecard, german: tuple[pl.DataFrame, np.ndarray]
) -> None:
    X, _ = german
    card = german_card
    total = np.zeros(X.height, dtype=np.int64)
    for f in card.features_:
        fb = card.binner_.bins_[f]
        col = X[f]
        if fb.kind == "numeric":
            code = np.searchsorted(np.array(fb.splits), col.to_numpy(), side="right")
        else:
            lookup = {lv: k for k, g in enumerate(fb.groups) for lv in g}
            code = np.array([lookup[v] for v in col.to_list()])
        total += card.points_[f][code]
    assert np.array_equal(card.points(X), total)
    # and the points follow the scaling: score of WoE 0 everywhere = offset - factor * a
    s = card.scaling_
    share = (s.offset - s.factor * card.intercept_) / len(card.features_)
    for f in card.features_:
        woe = np.asarray(card.binner_.bins_[f].woe)
        expected = np.rint(-s.factor * card.coefficients_[f] * woe + share)
        assert np.array_equal(card.points_[f], expected)


def test_scaling_is_configurable(german: tuple[pl.DataFrame, np.ndarray]) -> None:
    X, y = german
    base = Scorecard().fit(X, y)
    other = Scorecard(scaling=PointsScaling(base_points=500, base_odds=1, pdo=50)).fit(X, y)
    assert base.features_ == other.features_
    # 50 points per doubling instead of 20: the spread of scores grows by 2.5
    ratio = np.ptp(other.points(X)) / np.ptp(base.points(X))
    assert ratio == pytest.approx(2.5, rel=0.02)


def test_wrong_sign_is_dropped_and_logged() -> None:
    rng = np.random.default_rng(11)
    n = 20_000
    z1, z2 = rng.normal(size=(2, n))
    # B's marginal effect is positive but its effect given A is negative (a suppressor)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2.0 + z1 + 0.3 * z2)))).astype(int)
    X = pl.DataFrame({"A": z1 + z2, "B": z2})
    card = Scorecard(min_iv=None, max_correlation=None, max_vif=None).fit(X, y)
    assert card.features_ == ("A",)
    sign = card.selection_log_.filter(pl.col("step") == "sign")
    dropped = sign.filter(pl.col("decision") == "dropped")
    assert dropped["feature"].to_list() == ["B"]
    assert dropped["value"][0] < 0
    assert "must be positive" in dropped["reason"][0]
    assert sign.filter(pl.col("decision") == "kept")["feature"].to_list() == ["A"]


def _shadow_of_a_driver(n: int, seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    """Risk rises with `driver`; `shadow` only looks U-shaped because driver ~ shadow**2."""
    rng = np.random.default_rng(seed)
    shadow = rng.uniform(-1.5, 1.5, n)
    driver = shadow**2 + rng.normal(scale=0.4, size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(2.5 - 1.5 * driver))).astype(int)
    return pl.DataFrame({"driver": driver, "shadow": shadow}), y


def test_a_shape_that_only_shadows_another_feature_becomes_monotone() -> None:
    X, y = _shadow_of_a_driver(20_000, 0)
    # on its own, shadow is clearly a valley
    alone = WoEBinner().fit(X, y)
    assert alone.monotonic_trends_["shadow"] == 0
    assert "shadow" in alone.monotone_alternatives_
    card = Scorecard(max_correlation=None, max_vif=None).fit(X, y)
    shape = card.selection_log_.filter(pl.col("step") == "shape")
    assert shape["feature"].to_list() == ["shadow"]
    assert shape["value"][0] < 24
    assert shape["reason"][0].startswith("monotone bins instead of a valley")
    # the card uses the monotone bins, and they are what the binner now holds and applies
    fb = card.binner_.bins_["shadow"]
    assert fb == alone.monotone_alternatives_["shadow"]
    assert card.binner_.monotonic_trends_["shadow"] in (-1, 1)
    assert card.binner_.monotone_alternatives_ == {}
    assert card.binner_.iv_["shadow"] < alone.iv_["shadow"]
    woe = card.binner_.transform(X.head(50))[:, 1]
    codes = np.searchsorted(np.asarray(fb.splits), X["shadow"].head(50).to_numpy(), side="right")
    assert woe == pytest.approx(np.asarray(fb.woe)[codes])
    assert Scorecard.from_json(card.to_json()).binner_.bins_["shadow"] == fb


def test_a_shape_that_pays_given_the_other_features_is_kept() -> None:
    rng = np.random.default_rng(1)
    n = 20_000
    u, m = rng.uniform(-2, 2, n), rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(2.5 - 0.6 * u**2 - 0.8 * m))).astype(int)
    card = Scorecard().fit(pl.DataFrame({"u": u, "m": m}), y)
    shape = card.selection_log_.filter(pl.col("step") == "shape")
    assert shape["feature"].to_list() == ["u"]
    assert shape["value"][0] >= 24
    assert shape["reason"][0].startswith("valley bins kept")
    assert card.binner_.monotonic_trends_ == {"u": 0, "m": 1}
    # without the shape test in the binner nothing is shaped, and nothing is checked
    plain = Scorecard(binner=WoEBinner(peak_valley_min_chi2=None)).fit(
        pl.DataFrame({"u": u, "m": m}), y
    )
    assert plain.selection_log_.filter(pl.col("step") == "shape").height == 0
    assert roc_auc_score(y, card.predict_proba(pl.DataFrame({"u": u, "m": m}))[:, 1]) > (
        roc_auc_score(y, plain.predict_proba(pl.DataFrame({"u": u, "m": m}))[:, 1]) + 0.02
    )


def test_default_ridge_is_scikit_learns_c_of_one(german: tuple[pl.DataFrame, np.ndarray]) -> None:
    X, y = german
    card = Scorecard().fit(X, y)
    assert card.l2 == 1.0
    woe = card.binner_.transform(X)
    cols = [list(card.binner_.bins_).index(f) for f in card.features_]
    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(woe[:, cols], y)
    assert np.asarray(list(card.coefficients_.values())) == pytest.approx(ref.coef_[0], abs=1e-5)
    assert card.intercept_ == pytest.approx(ref.intercept_[0], abs=1e-5)
    # and it is a penalty: plain maximum likelihood gives larger coefficients overall
    plain = Scorecard(l2=0.0).fit(X, y)
    assert plain.features_ == card.features_
    assert sum(abs(c) for c in plain.coefficients_.values()) > sum(
        abs(c) for c in card.coefficients_.values()
    )


def test_nested_binner_parameters(german: tuple[pl.DataFrame, np.ndarray]) -> None:
    X, y = german
    card = Scorecard(binner=WoEBinner(), min_iv=None).set_params(binner__max_n_bins=2).fit(X, y)
    assert all(card.binner_.bins_[f].n_regular <= 2 for f in card.features_)
    assert card.binner.max_n_bins == 2  # type: ignore[union-attr]
    assert card.binner_ is not card.binner


# --------------------------------------------------------------------------- reasons


def test_reasons(german_card: Scorecard, german: tuple[pl.DataFrame, np.ndarray]) -> None:
    X, _ = german
    card = german_card
    reasons = card.reasons(X, k=3)
    assert reasons.columns == [
        f"reason_{i}_{kind}" for i in (1, 2, 3) for kind in ("code", "zh", "en")
    ]
    assert reasons.height == X.height
    codes = {f.upper() for f in card.features_}
    assert set(reasons["reason_1_code"].drop_nulls()) <= codes
    # the first reason is the feature that lost the most points against its best bin
    lost = {f: card.points_[f].max() - card.points_[f] for f in card.features_}
    row = X.row(0, named=True)
    per_feature = {}
    for f in card.features_:
        fb = card.binner_.bins_[f]
        value = row[f]
        if fb.kind == "numeric":
            code = int(np.searchsorted(np.array(fb.splits), value, side="right"))
        else:
            code = next(k for k, g in enumerate(fb.groups) if value in g)
        per_feature[f] = int(lost[f][code])
    ranked = sorted(card.features_, key=lambda f: (-per_feature[f], card.features_.index(f)))
    expected = [f.upper() if per_feature[f] > 0 else None for f in ranked[:3]]
    assert [reasons[f"reason_{i}_code"][0] for i in (1, 2, 3)] == expected
    # labels from feature_labels, generic text otherwise
    dur = reasons.filter(pl.col("reason_1_code") == "DURATION_IN_MONTH")
    if dur.height:
        assert dur["reason_1_zh"][0] == "贷款期限得分偏低"
        assert dur["reason_1_en"][0] == "loan duration lowered the score"
    other = reasons.filter(pl.col("reason_1_code") == "STATUS_OF_EXISTING_CHECKING_ACCOUNT")
    assert other["reason_1_en"][0] == "status_of_existing_checking_account lowered the score"


def test_no_reason_for_a_row_in_every_best_bin(german_card: Scorecard) -> None:
    card = german_card
    best: dict[str, object] = {}
    for f in card.features_:
        fb = card.binner_.bins_[f]
        used = np.flatnonzero(np.asarray(fb.counts) > 0)
        k = int(used[np.argmax(card.points_[f][used])])  # best bin among bins with data
        if k == fb.missing_bin:
            best[f] = None
        elif k >= fb.n_regular:
            best[f] = fb.specials[k - fb.n_regular]
        elif fb.kind == "categorical":
            best[f] = fb.groups[k][0]
        else:
            best[f] = fb.splits[k - 1] if k > 0 else (fb.splits[0] - 1 if fb.splits else 0.0)
    frame = pl.DataFrame({f: [v] for f, v in best.items()})
    reasons = card.reasons(frame, k=2)
    assert reasons.row(0) == (None,) * 6
    many = card.reasons(frame, k=len(card.features_) + 2)
    assert many.width == 3 * (len(card.features_) + 2)


# --------------------------------------------------------------------------- properties


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_points_keep_the_rank_order_of_pd_and_json_round_trips(seed: int) -> None:
    X, y = make_credit(4000, seed)
    card = Scorecard(min_iv=0.0).fit(X, y)
    points = card.points(X)
    pd_ = card.predict_proba(X)[:, 1]
    order = np.argsort(points, kind="stable")
    assert (np.diff(pd_[order]) <= 0).all()  # higher score, never a higher PD
    text = card.to_json()
    assert json.loads(text)["format"] == "scoring.Scorecard"
    again = Scorecard.from_json(text)
    assert np.array_equal(again.points(X), points)
    assert np.array_equal(again.predict_proba(X), card.predict_proba(X))
    assert again.reasons(X).equals(card.reasons(X))
    assert again.table().equals(card.table())
    assert again.selection_log_.equals(card.selection_log_)


def test_threaded_scoring_matches_serial() -> None:
    X, y = make_credit(260_000, 2)
    card = Scorecard(n_jobs=2).fit(X, y)
    serial = Scorecard.from_json(card.to_json()).set_params(n_jobs=1)
    assert np.array_equal(card.points(X), serial.points(X))
    assert card.reasons(X.head(1000)).equals(serial.reasons(X.head(1000)))


# --------------------------------------------------------------------------- errors


def test_errors(german: tuple[pl.DataFrame, np.ndarray]) -> None:
    X, y = german
    with pytest.raises(NotFittedError, match="must be fitted"):
        Scorecard().points(X)
    rng = np.random.default_rng(0)
    noise = pl.DataFrame({"a": rng.normal(size=1000), "b": rng.normal(size=1000)})
    with pytest.raises(ModelError, match="passing selection"):
        Scorecard(min_iv=0.5).fit(noise, y)
    card = Scorecard().fit(X, y)
    with pytest.raises(ConfigError, match="'k' must be a positive integer"):
        card.reasons(X, k=0)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"binner": "woe"}, "'binner' must be a WoEBinner"),
        ({"scaling": {"pdo": 20}}, "'scaling' must be a PointsScaling"),
        ({"l2": -1.0}, "'l2' must be a finite number >= 0"),
        ({"feature_labels": {"duration_in_month": "期限"}}, "must be a \\(zh, en\\) pair"),
    ],
)
def test_invalid_parameters(
    params: dict[str, object], match: str, german: tuple[pl.DataFrame, np.ndarray]
) -> None:
    X, y = german
    with pytest.raises(ConfigError, match=match):
        Scorecard(**params).fit(X, y)  # type: ignore[arg-type]


def test_only_the_01_flag_is_a_target(german: tuple[pl.DataFrame, np.ndarray]) -> None:
    X, y = german
    # "good" < "bad" is not universal: string labels are refused, never guessed
    with pytest.raises(DataError, match=r"0/1 default flag.*\['bad', 'good'\]"):
        Scorecard().fit(X, np.where(y == 1, "bad", "good"))
    with pytest.raises(DataError, match="0/1 default flag"):
        Scorecard().fit(X, y + 1)
    as_bool = Scorecard().fit(X, y.astype(bool))
    assert as_bool.classes_.tolist() == [False, True]
    assert math.isclose(
        roc_auc_score(y, as_bool.predict_proba(X)[:, 1]),
        roc_auc_score(y, Scorecard().fit(X, y).predict_proba(X)[:, 1]),
    )


# --------------------------------------------------------------------------- scikit-learn

# The common checks fit on 10-300 rows of random or blob data. With the default rules
# (bins of >= 5 % of rows with >= 5 bads and 5 goods, IV >= 0.02) such data rarely has a
# usable feature and fit rightly refuses with a ModelError; this configuration relaxes the
# data-size rules so that the checks exercise the API itself. Nothing is skipped.
_SMALL_DATA = Scorecard(
    binner=WoEBinner(min_bin_share=0.0, min_bad_count=0, min_good_count=0),
    min_iv=None,
    max_correlation=None,
    max_vif=None,
)


_LABELS = (
    "targets must be the 0/1 default flag (1 = bad) so that the bad class is never guessed "
    "from label order; this check fits on other labels ({1, 2} or strings)"
)
_SCORECARD_XFAIL = {
    "check_estimators_dtypes": _LABELS,
    "check_classifier_data_not_an_array": _LABELS,
    "check_classifiers_classes": _LABELS,
    "check_fit2d_1feature": _LABELS,
}


@parametrize_with_checks([_SMALL_DATA], expected_failed_checks=lambda est: _SCORECARD_XFAIL)
def test_sklearn_compatible(estimator: Scorecard, check: object) -> None:
    params = repr(estimator.get_params())
    check(estimator)  # type: ignore[operator]  # scikit-learn's check raises when it fails
    assert repr(estimator.get_params()) == params  # and it left our parameters alone
