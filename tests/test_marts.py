"""Dashboard marts: suppression at the threshold, complements, no entity rows, files."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.cli import cli
from scoring.config import WorkbenchConfig, load_config
from scoring.exceptions import DataError, InputFileError, SchemaError
from scoring.geo import REGION_CODES
from scoring.marts import (
    MANIFEST_NAME,
    MART_SPECS,
    PROVINCE_CODE,
    Margin,
    build_marts,
    load_mart,
    marts_manifest,
    suppress_small_groups,
    write_mart,
)
from scoring.schema import TABLES

MONTH = dt.date(2012, 6, 1)
USCC = re.compile(r"\b[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}\b")
RESIDENT_ID = re.compile(r"\b\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dX]\b")


def _frame(name: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = TABLES[name].schema
    return pl.DataFrame(rows, schema=schema)


def _smes(kit: Any, sizes: dict[str, int]) -> tuple[pl.DataFrame, list[str]]:
    """``sizes[city]`` SMEs in each city, established 2005, active throughout."""
    rows, codes, n = [], [], 0
    for city, count in sizes.items():
        for _ in range(count):
            n += 1
            code = kit.uscc(n, county=f"{city[:4]}01")
            codes.append(code)
            rows.append(
                {
                    "credit_code": code,
                    "name": f"模拟企业{n}有限公司",
                    "city_code": city,
                    "county_code": f"{city[:4]}01",
                    "industry": "C",
                    "size_class": "micro",
                    "registered_capital": 50.0,
                    "established_date": dt.date(2005, 1, 1),
                    "deregistered_date": None,
                }
            )
    return _frame("enterprises", rows), codes


def _write_validated(cfg: WorkbenchConfig, kit: Any, sizes: dict[str, int]) -> list[str]:
    """Validated tables: SMEs per city, each with one loan in June 2012, and repayments."""
    frames = kit.build()
    smes, codes = _smes(kit, sizes)
    frames["enterprises"] = smes
    loans = [
        {
            "loan_id": f"LN{i:05d}",
            "entity_type": "sme",
            "entity_id": code,
            "bank_code": "ICBCGD",
            "purpose": "working_capital",
            "origination_date": dt.date(2012, 6, 10),
            "maturity_date": dt.date(2013, 6, 10),
            "principal": 100000.0,
        }
        for i, code in enumerate(codes)
    ]
    frames["loans"] = _frame("loans", loans)
    reps = [
        {
            "record_id": f"LR{i:05d}",
            "loan_id": f"LN{i:05d}",
            "month": dt.date(2012, 7, 1),
            "balance": 90000.0,
            "amount_due": 10000.0,
            "amount_paid": 10000.0,
            "days_past_due": 120 if i % 5 == 0 else 0,
        }
        for i in range(len(codes))
    ]
    frames["loan_repayments"] = _frame("loan_repayments", reps)
    kit.write(frames, cfg.paths.validated)
    return codes


def _row(frame: pl.DataFrame, region: str, **keys: Any) -> dict[str, Any]:
    sel = frame.filter(pl.col("region_code") == region)
    for k, v in keys.items():
        sel = sel.filter(pl.col(k) == v)
    assert sel.height == 1, (region, keys, sel)
    return sel.row(0, named=True)


# ----------------------------------------------------------------------------- threshold


def test_suppression_at_the_threshold_edge(project_config: Path, province_kit: Any) -> None:
    cfg = load_config(project_config)
    assert cfg.marts.min_group_size == 10
    _write_validated(cfg, province_kit, {"440100": 10, "440200": 9, "440300": 9})
    build_marts(cfg)
    access = load_mart("sme_credit_access", cfg)
    assert access is not None
    ten = _row(access, "440100", month=MONTH)
    assert ten["suppressed"] is False
    assert ten["active_smes"] == 10
    assert ten["borrowers"] == 10
    assert ten["access_rate"] == pytest.approx(1.0)
    for nine in ("440200", "440300"):
        row = _row(access, nine, month=MONTH)
        assert row["suppressed"] is True
        assert all(row[c] is None for c in MART_SPECS["sme_credit_access"].values)
    # two suppressed regions hide 18 SMEs together: the province total may stay
    assert _row(access, PROVINCE_CODE, month=MONTH)["active_smes"] == 28
    npl = load_mart("sme_npl", cfg)
    assert npl is not None
    july = dt.date(2012, 7, 1)
    assert _row(npl, "440100", month=july)["npl_ratio"] == pytest.approx(0.2)
    assert _row(npl, "440200", month=july)["suppressed"] is True


def test_a_lone_suppressed_region_takes_the_next_smallest_with_it(
    project_config: Path, province_kit: Any
) -> None:
    cfg = load_config(project_config)
    _write_validated(cfg, province_kit, {"440100": 10, "440200": 9, "440300": 30})
    build_marts(cfg)
    access = load_mart("sme_credit_access", cfg)
    assert access is not None
    # 440200 (9) alone could be recovered as province - 440100 - 440300
    assert _row(access, "440200", month=MONTH)["suppressed"] is True
    assert _row(access, "440100", month=MONTH)["suppressed"] is True
    assert _row(access, "440300", month=MONTH)["active_smes"] == 30
    assert _row(access, PROVINCE_CODE, month=MONTH)["active_smes"] == 49


def test_min_group_size_comes_from_the_config(project_config: Path, province_kit: Any) -> None:
    text = project_config.read_text(encoding="utf-8")
    project_config.write_text(
        text.replace("min_group_size = 10", "min_group_size = 9"), encoding="utf-8"
    )
    cfg = load_config(project_config)
    assert cfg.marts.min_group_size == 9
    _write_validated(cfg, province_kit, {"440100": 10, "440200": 9, "440300": 9})
    summary = build_marts(cfg)
    access = load_mart("sme_credit_access", cfg)
    assert access is not None
    assert _row(access, "440200", month=MONTH)["active_smes"] == 9
    assert marts_manifest(cfg)["min_group_size"] == 9 == summary.min_group_size


# ----------------------------------------------------------------------------- privacy


def test_marts_contain_no_entity_rows_or_ids(project_config: Path, province_kit: Any) -> None:
    cfg = load_config(project_config)
    codes = _write_validated(cfg, province_kit, {"440100": 12, "440300": 15})
    tiny = province_kit.build()
    secrets = {
        *codes,
        *tiny["households"]["household_id"],
        *tiny["households"]["head_id_number"],
        *tiny["households"]["head_name"],
        *(f"LN{i:05d}" for i in range(len(codes))),
    }
    summary = build_marts(cfg)
    assert summary.written
    allowed = {spec.name: set(spec.columns) for spec in MART_SPECS.values()}
    for name in summary.written:
        frame = pl.read_parquet(cfg.paths.marts / f"{name}.parquet")
        assert set(frame.columns) == allowed[name]
        assert not {"entity_id", "credit_code", "household_id", "loan_id"} & set(frame.columns)
        for col in frame.select(pl.col(pl.String)).columns:
            values = set(frame.get_column(col).drop_nulls().unique().to_list())
            assert not values & secrets, (name, col)
            for v in values:
                assert not USCC.search(v), (name, col, v)
                assert not RESIDENT_ID.search(v), (name, col, v)
        if "region_code" in frame.columns:
            assert set(frame["region_code"]) <= {*REGION_CODES, PROVINCE_CODE}


# ----------------------------------------------------------------------------- suppression


def test_suppress_small_groups_nulls_every_measure() -> None:
    f = pl.DataFrame({"region_code": ["440100", "440200"], "n": [10, 9], "x": [1.5, 2.5]})
    out = suppress_small_groups(f, keys=["region_code"], size="n", values=["x"], min_size=10)
    assert out.rows() == [("440100", 10, 1.5, False), ("440200", None, None, True)]


def test_empty_groups_describe_nobody_and_stay() -> None:
    f = pl.DataFrame({"region_code": ["440100", "440200", "440000"], "n": [0, 30, 30]})
    out = suppress_small_groups(
        f,
        keys=["region_code"],
        size="n",
        values=[],
        min_size=10,
        margins=[Margin("region_code", PROVINCE_CODE)],
    )
    assert out["suppressed"].to_list() == [False, False, False]


def test_grade_margin_protects_a_lone_small_grade() -> None:
    # one region's grades: D (3) alone could be recovered from the total the shares reveal
    f = pl.DataFrame({"region_code": ["440100"] * 3, "grade": ["A", "B", "D"], "n": [40, 20, 3]})
    out = suppress_small_groups(
        f,
        keys=["region_code", "grade"],
        size="n",
        values=[],
        min_size=10,
        margins=[Margin("grade")],
    )
    assert out.filter(pl.col("suppressed"))["grade"].to_list() == ["B", "D"]


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=40), min_size=2, max_size=8),
    k=st.integers(min_value=2, max_value=12),
)
def test_no_suppressed_region_can_be_recovered_from_the_total(sizes: list[int], k: int) -> None:
    regions = list(REGION_CODES[: len(sizes)])
    f = pl.DataFrame(
        {
            "region_code": [*regions, PROVINCE_CODE],
            "year": [2012] * (len(sizes) + 1),
            "n": [*sizes, sum(sizes)],
        }
    )
    out = suppress_small_groups(
        f,
        keys=["region_code", "year"],
        size="n",
        values=[],
        min_size=k,
        margins=[Margin("region_code", PROVINCE_CODE)],
    )
    truth = dict(zip([*regions, PROVINCE_CODE], [*sizes, sum(sizes)], strict=True))
    published = out.filter(~pl.col("suppressed"))
    for code, n in published.select("region_code", "n").iter_rows():
        assert n == truth[code]
        assert n == 0 or n >= k
    hidden = out.filter(pl.col("suppressed") & (pl.col("region_code") != PROVINCE_CODE))
    if hidden.height and PROVINCE_CODE in published["region_code"].to_list():
        hidden_total = sum(truth[c] for c in hidden["region_code"])
        assert hidden.height >= 2
        assert hidden_total >= k


def test_suppress_small_groups_checks_its_input() -> None:
    f = pl.DataFrame({"region_code": ["440100"], "n": [3]})
    with pytest.raises(SchemaError, match="'frame' must have the columns"):
        suppress_small_groups(f, keys=["region_code"], size="m", values=[], min_size=10)
    with pytest.raises(DataError, match="'min_size' must be an integer >= 1; got 0"):
        suppress_small_groups(f, keys=["region_code"], size="n", values=[], min_size=0)


# ----------------------------------------------------------------------------- ratings


def _write_ratings(cfg: WorkbenchConfig, codes: list[str]) -> None:
    cfg.paths.ratings.mkdir(parents=True, exist_ok=True)
    grades = ["A"] * 12 + ["B"] * 10 + ["D"] * (len(codes) - 22)
    pl.DataFrame(
        {"credit_code": codes, "year": [2013] * len(codes), "grade": grades},
        schema={"credit_code": pl.String, "year": pl.Int32, "grade": pl.String},
    ).write_parquet(cfg.paths.ratings / "tax_ratings.parquet")


def test_tax_grades_by_region_with_shares(project_config: Path, province_kit: Any) -> None:
    cfg = load_config(project_config)
    codes = _write_validated(cfg, province_kit, {"440100": 25})
    _write_ratings(cfg, codes)
    summary = build_marts(cfg)
    assert "tax_grades" in summary.written
    grades = load_mart("tax_grades", cfg)
    assert grades is not None
    a = _row(grades, "440100", year=2013, grade="A")
    assert (a["taxpayers"], a["share"]) == (12, pytest.approx(12 / 25))
    # D (3) is primary; B (10) goes with it, or D could be recovered from the shares
    assert _row(grades, "440100", year=2013, grade="D")["suppressed"] is True
    assert _row(grades, "440100", year=2013, grade="B")["suppressed"] is True
    assert _row(grades, "440100", year=2013, grade="M")["taxpayers"] == 0


def test_marts_without_their_input_are_skipped_and_stale_files_removed(
    project_config: Path, province_kit: Any
) -> None:
    cfg = load_config(project_config)
    codes = _write_validated(cfg, province_kit, {"440100": 25})
    _write_ratings(cfg, codes)
    assert "tax_grades" in build_marts(cfg).written
    (cfg.paths.ratings / "tax_ratings.parquet").unlink()
    summary = build_marts(cfg)
    assert "rate tax" in summary.skipped["tax_grades"]
    assert not (cfg.paths.marts / "tax_grades.parquet").exists()
    assert load_mart("tax_grades", cfg) is None
    manifest = marts_manifest(cfg)
    assert "tax_grades" not in manifest["marts"]
    assert manifest["skipped"]["tax_grades"] == summary.skipped["tax_grades"]


def test_build_marts_needs_validated_records(project_config: Path) -> None:
    with pytest.raises(InputFileError, match="run `scoring validate"):
        build_marts(load_config(project_config))


# ----------------------------------------------------------------------------- later marts


def _effects(**overrides: Any) -> pl.DataFrame:
    row = {
        "region_code": PROVINCE_CODE,
        "outcome": "sme_access_rate",
        "outcome_zh": "贷款获得率",
        "outcome_en": "SME credit access",
        "estimator": "did",
        "unit": "share",
        "n_regions": 22,
        "n_obs": 1320,
        "estimate": 0.011,
        "ci_low": 0.004,
        "ci_high": 0.018,
        "p_value": 0.002,
    }
    row.update(overrides)
    return pl.DataFrame([row])


def test_write_mart_for_later_steps_keeps_the_build_manifest(
    project_config: Path, province_kit: Any
) -> None:
    cfg = load_config(project_config)
    _write_validated(cfg, province_kit, {"440100": 12})
    build_marts(cfg)
    write_mart("pilot_effects", _effects(), config=cfg)
    effects = load_mart("pilot_effects", cfg)
    assert effects is not None
    assert effects.row(0, named=True)["suppressed"] is False
    manifest = marts_manifest(cfg)
    assert {"pilot_effects", "sme_credit_access"} <= set(manifest["marts"])
    # a rebuild keeps what later steps wrote
    build_marts(cfg)
    assert load_mart("pilot_effects", cfg) is not None
    assert "pilot_effects" in marts_manifest(cfg)["marts"]


def test_write_mart_refuses_bad_frames(project_config: Path) -> None:
    cfg = load_config(project_config)
    with pytest.raises(SchemaError, match="'pilot_effects' must have the columns"):
        write_mart("pilot_effects", _effects().drop("ci_low"), config=cfg)
    with pytest.raises(DataError, match="region_code' must be one of the 22 regions"):
        write_mart("pilot_effects", _effects(region_code="110000"), config=cfg)
    with pytest.raises(DataError, match="must have one row per"):
        write_mart("pilot_effects", pl.concat([_effects(), _effects()]), config=cfg)
    with pytest.raises(DataError, match="'name' must be one of the marts"):
        write_mart("entity_scores", _effects(), config=cfg)
    assert not (cfg.paths.marts / MANIFEST_NAME).exists()


def test_load_mart(project_config: Path) -> None:
    cfg = load_config(project_config)
    assert load_mart("model_health", cfg) is None
    with pytest.raises(DataError, match="'name' must be one of the marts"):
        load_mart("households", cfg)
    cfg.paths.marts.mkdir(parents=True)
    pl.DataFrame({"region_code": ["440100"]}).write_parquet(cfg.paths.marts / "sme_npl.parquet")
    with pytest.raises(SchemaError, match="run `scoring marts` to rebuild it"):
        load_mart("sme_npl", cfg)


def test_marts_command(project_config: Path, province_kit: Any) -> None:
    cfg = load_config(project_config)
    _write_validated(cfg, province_kit, {"440100": 12})
    result = CliRunner().invoke(cli, ["--config", str(project_config), "marts"])
    assert result.exit_code == 0, result.output
    assert "sme_credit_access: 1380 rows" in result.output
    assert "tax_grades: skipped" in result.output
    assert (cfg.paths.marts / MANIFEST_NAME).is_file()


def test_marts_command_without_records_fails_with_one_line(project_config: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(project_config), "marts"])
    assert result.exit_code == 2
    assert result.output.startswith("error: ")
    assert "scoring validate" in result.output


def test_credit_villages_are_counted_and_protected_by_their_households(
    project_config: Path, province_kit: Any
) -> None:
    cfg = load_config(project_config)
    frames = province_kit.build()
    base = frames["households"].row(0, named=True)
    rows = []
    for city, n in (("440100", 12), ("440200", 4), ("440300", 7)):
        for i in range(n):
            village = f"{city[:4]}01001{i % 3:03d}"
            rows.append(
                {
                    **base,
                    "household_id": f"H{village}{i:04d}",
                    "city_code": city,
                    "county_code": f"{city[:4]}01",
                    "town_code": village[:9],
                    "village_code": village,
                }
            )
    frames["households"] = pl.DataFrame(rows, schema=TABLES["households"].schema)
    province_kit.write(frames, cfg.paths.validated)
    cfg.paths.ratings.mkdir(parents=True)
    villages = [f"{c[:4]}01001{i:03d}" for c in ("440100", "440200", "440300") for i in range(3)]
    pl.DataFrame(
        {"village_code": villages, "year": [2013] * 9, "credit_village": [True, True, False] * 3},
        schema={"village_code": pl.String, "year": pl.Int32, "credit_village": pl.Boolean},
    ).write_parquet(cfg.paths.ratings / "village_ratings.parquet")
    build_marts(cfg)
    units = load_mart("rural_units", cfg)
    assert units is not None
    row = _row(units, "440100", year=2013, level="village")
    assert (row["households"], row["units"], row["credit_units"]) == (12, 3, 2)
    assert row["share"] == pytest.approx(2 / 3)
    # villages of 4 and 7 households: a place is not a person, but its people are few
    assert _row(units, "440200", year=2013, level="village")["suppressed"] is True
    assert _row(units, "440300", year=2013, level="village")["suppressed"] is True
    assert _row(units, PROVINCE_CODE, year=2013, level="village")["units"] == 9
