"""Tests of scoring.selection: IV range, correlation, VIF and stepwise, with their log."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from scoring._logistic import fit_logistic
from scoring.exceptions import ConfigError, DataError
from scoring.selection import LOG_SCHEMA, select_features


@pytest.fixture(scope="module")
def woe_data() -> tuple[pl.DataFrame, np.ndarray, dict[str, float]]:
    rng = np.random.default_rng(3)
    n = 6000
    a, b, noise = rng.normal(size=(3, n))
    y = rng.random(n) < 1 / (1 + np.exp(2.0 - 1.2 * a - 0.8 * b))
    frame = pl.DataFrame(
        {
            "a": a,
            "a_twin": a + rng.normal(scale=0.2, size=n),  # |r| ~ 0.98 with a
            "b": b,
            "ab_sum": a + b + rng.normal(scale=0.3, size=n),  # collinear with a and b
            "noise": noise,
            "leak": y.astype(float) + rng.normal(scale=0.01, size=n),
        }
    )
    iv = {"a": 0.6, "a_twin": 0.55, "b": 0.3, "ab_sum": 0.5, "noise": 0.001, "leak": 5.0}
    return frame, y, iv


def test_each_rule_drops_what_it_should(
    woe_data: tuple[pl.DataFrame, np.ndarray, dict[str, float]],
) -> None:
    frame, y, iv = woe_data
    res = select_features(frame, y, iv=iv, max_iv=2.0, max_correlation=0.9, max_vif=5.0)
    assert res.selected == ("a", "b")
    dropped = res.log.filter(pl.col("decision") == "dropped")
    assert dict(zip(dropped["feature"], dropped["step"], strict=True)) == {
        "noise": "iv",
        "leak": "iv",
        "a_twin": "correlation",
        "ab_sum": "vif",
    }
    twin = dropped.filter(pl.col("feature") == "a_twin")
    assert "with 'a'" in twin["reason"][0]
    assert twin["value"][0] > 0.9
    assert "leakage" in dropped.filter(pl.col("feature") == "leak")["reason"][0]
    assert dropped.filter(pl.col("feature") == "ab_sum")["value"][0] > 5.0
    assert res.log.schema == pl.Schema(LOG_SCHEMA)


def test_disabled_rules_keep_everything(
    woe_data: tuple[pl.DataFrame, np.ndarray, dict[str, float]],
) -> None:
    frame, y, iv = woe_data
    res = select_features(frame, y, iv=iv, min_iv=None, max_correlation=None, max_vif=None)
    assert res.selected == tuple(frame.columns)
    assert set(res.log["decision"]) == {"kept"}


def test_numpy_input_uses_iv_order(
    woe_data: tuple[pl.DataFrame, np.ndarray, dict[str, float]],
) -> None:
    frame, y, iv = woe_data
    res = select_features(frame.to_numpy(), y, iv=iv, max_iv=2.0, max_correlation=0.9)
    assert res.selected == ("a", "b")


@pytest.mark.parametrize("criterion", ["aic", "bic", "auc"])
def test_forward_stepwise_adds_only_useful_features(
    criterion: str, woe_data: tuple[pl.DataFrame, np.ndarray, dict[str, float]]
) -> None:
    frame, y, iv = woe_data
    sub = frame.select("a", "b", "noise")
    res = select_features(
        sub,
        y,
        iv=iv,
        min_iv=None,
        max_vif=None,
        stepwise="forward",
        criterion=criterion,  # type: ignore[arg-type]
    )
    assert res.selected == ("a", "b")
    steps = res.log.filter(pl.col("step") == "stepwise")
    assert steps.filter(pl.col("decision") == "kept")["feature"].to_list() == ["a", "b"]
    assert steps.filter(pl.col("decision") == "dropped")["feature"].to_list() == ["noise"]


def test_backward_stepwise_removes_noise(
    woe_data: tuple[pl.DataFrame, np.ndarray, dict[str, float]],
) -> None:
    frame, y, iv = woe_data
    sub = frame.select("a", "b", "noise")
    res = select_features(sub, y, iv=iv, min_iv=None, stepwise="backward", criterion="bic")
    assert res.selected == ("a", "b")
    removed = res.log.filter((pl.col("step") == "stepwise") & (pl.col("decision") == "dropped"))
    assert removed["feature"].to_list() == ["noise"]
    assert removed["reason"][0].startswith("removed: BIC")


def test_stepwise_sample_is_used_beyond_max_rows(
    woe_data: tuple[pl.DataFrame, np.ndarray, dict[str, float]],
) -> None:
    frame, y, iv = woe_data
    res = select_features(
        frame.select("a", "b", "noise"),
        y,
        iv=iv,
        min_iv=None,
        stepwise="forward",
        stepwise_max_rows=3000,
    )
    assert res.selected == ("a", "b")


def test_constant_woe_column_is_dropped(
    woe_data: tuple[pl.DataFrame, np.ndarray, dict[str, float]],
) -> None:
    frame, y, _ = woe_data
    res = select_features(
        frame.select("a").with_columns(pl.lit(0.0).alias("flat")),
        y,
        iv={"a": 0.6, "flat": 0.0},
        min_iv=None,
    )
    assert res.selected == ("a",)
    assert (
        res.log.filter(pl.col("feature") == "flat")["reason"][-1] == "constant WoE (a single bin)"
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_correlation": 1.5}, ConfigError, "'max_correlation' must be a number in"),
        ({"max_vif": 0.5}, ConfigError, "'max_vif' must be a number >= 1"),
        ({"stepwise": "both"}, ConfigError, "'stepwise' must be one of"),
        ({"criterion": "r2"}, ConfigError, "'criterion' must be one of"),
        ({"min_iv": -1}, ConfigError, "'min_iv' must be a number >= 0"),
        ({"iv": {"a": 1.0}}, DataError, "'iv' must have a value for every feature"),
    ],
)
def test_invalid_options(
    kwargs: dict[str, object],
    error: type[Exception],
    match: str,
    woe_data: tuple[pl.DataFrame, np.ndarray, dict[str, float]],
) -> None:
    frame, y, iv = woe_data
    options: dict[str, object] = {"iv": iv, **kwargs}
    with pytest.raises(error, match=match):
        select_features(frame, y, **options)  # type: ignore[arg-type]


def test_logistic_solver_matches_sklearn_and_sample_path() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    X = rng.normal(size=(30_000, 3))
    y = rng.random(30_000) < 1 / (1 + np.exp(-(-2.0 + X @ np.array([1.0, -0.5, 0.0]))))
    ours = fit_logistic(X, y)
    ref = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(X, y)
    assert ours.coef == pytest.approx(ref.coef_[0], abs=1e-5)
    assert ours.intercept == pytest.approx(ref.intercept_[0], abs=1e-5)
    # the sampled-Hessian path reaches the same optimum
    sampled = fit_logistic(X, y, hessian_rows=5000)
    assert sampled.coef == pytest.approx(ours.coef, abs=1e-7)
    assert sampled.loglik == pytest.approx(ours.loglik, rel=1e-12)
