"""The rating commands end to end on a small synthetic province, and the dispute rule."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from scoring.cli import cli
from scoring.config import load_config
from scoring.ratings import RATING_FILES
from scoring.ratings._common import drop_disputed
from scoring.synth import generate_province

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A validated synthetic province (about 400 SMEs and 1,000 households); the config path."""
    root = tmp_path_factory.mktemp("province")
    (root / "configs").mkdir()
    config = root / "configs" / "workbench.toml"
    shutil.copy(PROJECT_ROOT / "configs" / "workbench.toml", config)
    cfg = load_config(config)
    generate_province(
        cfg, out=cfg.paths.raw, truth=cfg.paths.truth, scale=0.02, seed=11, faults=True
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "validate", "--quarantine"])
    assert result.exit_code == 0, result.output
    return config


def run(config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return result.output


def read(config: Path, name: str) -> pl.DataFrame:
    df = pl.read_parquet(load_config(config).paths.ratings / f"{name}.parquet")
    assert dict(df.schema) == RATING_FILES[name], name
    return df


def test_rate_tax_writes_both_files_and_prints_the_distribution(province: Path) -> None:
    out = run(province, "rate", "tax")
    assert "| year | taxpayers | A" in out
    ratings, lines = read(province, "tax_ratings"), read(province, "tax_deductions")
    assert sorted(ratings["year"].unique()) == [2010, 2011, 2012, 2013, 2014]
    assert set(ratings["grade"]) <= {"A", "B", "M", "C", "D"}
    for year in range(2010, 2015):
        assert f"| {year} | {ratings.filter(pl.col('year') == year).height} " in out
    # every taxpayer-year explains itself: score = start - the sum of its lines
    sums = lines.group_by("credit_code", "year").agg(pl.col("points").sum())
    joined = ratings.join(sums, on=["credit_code", "year"], how="left").with_columns(
        pl.col("points").fill_null(0.0)
    )
    assert ((joined["start_score"] - joined["points"]).round(6) == joined["score"]).all()
    assert lines.join(ratings, on=["credit_code", "year"], how="anti").height == 0

    # --year rates the years up to it again (same answer) and keeps the later ones
    code = ratings.filter(pl.col("year") == 2011, pl.col("grade") == "B")["credit_code"][0]
    out = run(province, "rate", "tax", "--year", "2011", "--explain", code)
    assert f"{code} 2011: grade B" in out
    assert read(province, "tax_ratings").equals(ratings)
    assert read(province, "tax_deductions").equals(lines)


def test_lists_need_the_ratings_then_list_by_id_only(province: Path) -> None:
    cfg = load_config(province)
    run(province, "rate", "tax")
    (cfg.paths.ratings / "household_ratings.parquet").unlink(missing_ok=True)
    result = CliRunner().invoke(cli, ["--config", str(province), "lists", "--year", "2013"])
    assert result.exit_code == 2
    assert "run `scoring rate rural` first" in result.output

    out = run(province, "rate", "rural")
    assert "| year | households | rated" in out
    rural = ("household_ratings", "household_points", "village_ratings", "town_ratings")
    for name in (*rural, "county_ratings", "rural_criteria"):
        assert sorted(read(province, name)["year"].unique()) == [2010, 2011, 2012, 2013, 2014]
    households = read(province, "household_ratings")
    villages = read(province, "village_ratings")
    criteria = read(province, "rural_criteria")
    failed = criteria.filter(pl.col("level") == "village", ~pl.col("passed"))
    assert villages.filter(~pl.col("credit_village")).height == (
        failed.select("year", "area_code").unique().height
    )

    out = run(province, "lists")
    assert "lists:" in out
    red, black = read(province, "red_list"), read(province, "black_list")
    assert (red["listed_date"] <= red["as_of"]).all()
    assert (black["expiry_date"] > black["as_of"]).all()
    hh = pl.concat([red, black]).filter(pl.col("entity_type") == "household")
    assert hh.height > 0
    raw = pl.read_parquet(cfg.paths.validated / "households.parquet")
    assert (
        hh.join(households, left_on="entity_id", right_on="household_id", how="anti")
        .filter(pl.col("reason_code") == "CREDIT_HOUSEHOLD_AAA")
        .is_empty()
    )
    personal = set(raw["head_id_number"]) | set(raw["head_name"])
    assert not personal & set(pl.concat([red, black])["entity_id"])


def test_year_outside_the_data_is_refused(province: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(province), "rate", "rural", "--year", "1999"])
    assert result.exit_code == 2
    assert "error: 'year' must be one of the data years 2010..2014; got 1999." in result.output


# --------------------------------------------------------------------------- disputes


def _disputes(*rows: tuple[str, str, dt.date, dt.date | None, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source_table": [r[0] for r in rows],
            "source_record_id": [r[1] for r in rows],
            "opened_date": [r[2] for r in rows],
            "resolved_date": [r[3] for r in rows],
            "outcome": [r[4] for r in rows],
        },
        schema={
            "source_table": pl.String,
            "source_record_id": pl.String,
            "opened_date": pl.Date,
            "resolved_date": pl.Date,
            "outcome": pl.String,
        },
    )


def test_disputed_records_left_out_as_collection_does() -> None:
    d = dt.date
    recs = pl.LazyFrame({"record_id": ["OPEN", "FIXED", "UPHELD", "LATER", "OTHER", "PLAIN"]})
    disputes = _disputes(
        ("t", "OPEN", d(2012, 5, 1), None, None),
        ("t", "FIXED", d(2012, 5, 1), d(2012, 6, 1), "corrected"),
        ("t", "UPHELD", d(2012, 5, 1), d(2012, 6, 1), "upheld"),
        ("t", "LATER", d(2013, 1, 2), None, None),
        ("other_table", "OTHER", d(2012, 5, 1), None, None),
    )

    def kept(as_of: dt.date, exclude_open: bool) -> list[str]:
        out = drop_disputed(recs, disputes, table="t", as_of=as_of, exclude_open=exclude_open)
        return sorted(out.collect()["record_id"])

    assert kept(d(2012, 12, 31), True) == ["LATER", "OTHER", "PLAIN", "UPHELD"]
    assert kept(d(2012, 12, 31), False) == ["LATER", "OPEN", "OTHER", "PLAIN", "UPHELD"]
    # before the corrections were settled both disputes were open
    assert kept(d(2012, 5, 31), True) == ["LATER", "OTHER", "PLAIN"]
    assert kept(d(2012, 4, 30), True) == sorted(recs.collect()["record_id"])

    months = pl.LazyFrame({"record_id": ["R1", "R2"], "loan_id": ["L1", "L2"]})
    gone = _disputes(("loans", "L1", d(2012, 5, 1), None, None))
    out = drop_disputed(
        months, gone, table="loans", as_of=d(2012, 12, 31), exclude_open=True, key="loan_id"
    )
    assert out.collect()["record_id"].to_list() == ["R2"]
