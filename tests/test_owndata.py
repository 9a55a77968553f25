"""``scoring card fit|apply``: a scorecard on the user's own table, for non-programmers."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from scoring.cli import cli
from scoring.exceptions import DataError, InputFileError
from scoring.owndata import apply_card, fit_card, read_labelled_table
from scoring.scorecard import Scorecard

GERMAN = Path(__file__).resolve().parent / "data" / "germancredit.csv"


def test_fit_and_apply_on_german_credit_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "card"
    runner = CliRunner()
    fit_args = ["card", "fit", str(GERMAN), "--target", "creditability", "--bad", "bad"]
    fit = runner.invoke(cli, [*fit_args, "--out", str(out)])
    assert fit.exit_code == 0, fit.output
    assert "1000 rows, 300 bad (30.0%)" in fit.output
    assert "not a feature: creditability: the target" in fit.output
    assert sorted(p.name for p in out.iterdir()) == [
        "bins.csv",
        "metrics.json",
        "report.html",
        "scorecard.csv",
        "scorecard.json",
        "scores.csv",
        "selection.csv",
    ]
    summary = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert summary["rows"] == 1000
    assert summary["bads"] == 300
    assert 0.70 < summary["metrics"]["test_auc"] < summary["metrics"]["train_auc"]
    scores = pl.read_csv(out / "scores.csv")
    assert scores.get_column("split").value_counts().sort("split").rows() == [
        ("test", 300),
        ("train", 700),
    ]
    # 30 % held out in each class
    test = scores.filter(pl.col("split") == "test")
    assert test.get_column("default").sum() == 90
    # the saved scorecard gives the scores of the report; apply gives them again
    card = Scorecard.from_json((out / "scorecard.json").read_text(encoding="utf-8"))
    german = pl.read_csv(GERMAN, infer_schema_length=None)
    assert np.array_equal(np.asarray(card.points(german)), scores.get_column("score").to_numpy())
    scored = tmp_path / "scored.parquet"
    apply_args = ["card", "apply", str(out / "scorecard.json"), str(GERMAN)]
    applied = runner.invoke(cli, [*apply_args, "--out", str(scored)])
    assert applied.exit_code == 0, applied.output
    again = pl.read_parquet(scored)
    assert again.select("row", "score", "pd").equals(scores.select("row", "score", "pd"))
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("Plotly.newPlot") >= 3  # ROC, KS and bins
    assert "status_of_existing_checking_account" in page


@pytest.fixture
def people(province_kit: SimpleNamespace) -> pl.DataFrame:
    """Loans with columns that must never become features, and a real signal."""
    rng = np.random.default_rng(3)
    n = 600
    overdue = rng.integers(0, 6, n)
    risk = 1 / (1 + np.exp(3.0 - 0.9 * overdue))
    return pl.DataFrame(
        {
            "loan_no": [f"LN{i:06d}" for i in range(n)],
            "borrower_id": [province_kit.resident_id(i) for i in range(n)],
            "borrower_name": [f"客户{i:04d}" for i in range(n)],
            "firm_code": [province_kit.uscc(i) for i in range(n)],
            "opened": pl.date_range(
                pl.date(2012, 1, 1), pl.date(2012, 1, 1), "1d", eager=True
            ).extend_constant(pl.date(2012, 1, 1), n - 1),
            "overdue_months": overdue,
            "region": rng.choice(["north", "south", "east"], n),
            "default": (rng.random(n) < risk).astype(np.int64),
        }
    )


def test_identifiers_and_personal_data_are_never_features_nor_shown(
    people: pl.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    people.write_csv(path)
    table = read_labelled_table(path, target="default", id_column="borrower_id")
    assert table.set_aside == {
        "default": "the target",
        "borrower_id": "the id column; resident id numbers, so rows are shown by number",
        "borrower_name": "identifier-like text (most values unique, e.g. names or numbers)",
        "firm_code": "unified social credit codes (identifiers)",
        "loan_no": "identifier-like text (most values unique, e.g. names or numbers)",
        "opened": "a date or time: derive a duration or an age from it first",
    }
    assert table.features.columns == ["overdue_months", "region"]
    assert table.rows.columns == ["row"]  # resident ids are not copied to the output
    result = fit_card(path, target="default", id_column="borrower_id", out=tmp_path / "card")
    assert "overdue_months" in result.features_used
    secrets = set(people.get_column("borrower_id")) | set(people.get_column("borrower_name"))
    for written in (tmp_path / "card").iterdir():
        text = written.read_text(encoding="utf-8")
        assert not [s for s in secrets if s in text], written.name
    # an id column that is not personal data is carried into the scores
    shown = fit_card(path, target="default", id_column="loan_no", out=tmp_path / "card2")
    assert shown.set_aside["loan_no"] == "the id column"
    scores = pl.read_csv(tmp_path / "card2" / "scores.csv")
    assert scores.get_column("loan_no").to_list() == people.get_column("loan_no").to_list()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ([0, 1, None, 1, 0] * 40, r"must have a value on every row; it is empty on rows 3, 8, 13"),
        ([0, 1, 2, 1, 0] * 40, r"must be the 0/1 default flag .*got \[2, 2, 2, 2, 2\] on rows 3"),
        ([0] * 200, r"must have both classes \(0 and 1\); got only 0"),
        (["yes", "no"] * 100, r"must be the 0/1 default flag \(1 = bad\), or name the bad value"),
    ],
)
def test_a_bad_target_is_refused_with_its_rows(
    tmp_path: Path, target: list[object], message: str
) -> None:
    path = tmp_path / "t.csv"
    pl.DataFrame({"x": list(range(200)), "y": target}).write_csv(path)
    with pytest.raises(DataError, match=message):
        fit_card(path, target="y", out=tmp_path / "card")
    assert not (tmp_path / "card").exists()


def test_bad_value_names_the_bad_class(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 2000)
    flag = np.where(rng.random(2000) < 0.05 + 0.08 * x, "late", "paid")
    pl.DataFrame({"x": x, "status": flag}).write_parquet(path)
    table = read_labelled_table(path, target="status", bad="late")
    assert table.target.sum() == int((flag == "late").sum())
    with pytest.raises(DataError, match=r"exactly two values, one of them 'lost'"):
        read_labelled_table(path, target="status", bad="lost")


def test_missing_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="must be a CSV or Parquet file"):
        fit_card(tmp_path / "nope.csv", target="y", out=tmp_path / "card")
    path = tmp_path / "t.csv"
    pl.DataFrame({"x": [1, 2], "y": [0, 1]}).write_csv(path)
    with pytest.raises(DataError, match=r"'target' must be a column of .*got 'default'"):
        fit_card(path, target="default", out=tmp_path / "card")
    with pytest.raises(DataError, match=r"'id' must be a column"):
        fit_card(path, target="y", id_column="loan", out=tmp_path / "card")
    (tmp_path / "odd.xlsx").write_text("x")
    with pytest.raises(InputFileError, match=r"must be a .csv or .parquet file"):
        fit_card(tmp_path / "odd.xlsx", target="y", out=tmp_path / "card")
    result = CliRunner().invoke(cli, ["card", "fit", str(path), "--target", "default"])
    assert result.exit_code == 2
    assert result.output.startswith("error: 'target' must be a column")


def test_apply_refuses_a_table_without_the_features(tmp_path: Path) -> None:
    fit_card(GERMAN, target="creditability", bad="bad", out=tmp_path / "card")
    other = tmp_path / "other.csv"
    pl.DataFrame({"duration_in_month": [12, 24]}).write_csv(other)
    with pytest.raises(DataError, match="status_of_existing_checking_account"):
        apply_card(tmp_path / "card" / "scorecard.json", other, out=tmp_path / "s.csv")
    assert not (tmp_path / "s.csv").exists()
    with pytest.raises(InputFileError, match=r"'out' must end in .csv or .parquet"):
        apply_card(tmp_path / "card" / "scorecard.json", GERMAN, out=tmp_path / "s.xlsx")
