"""Household, village, town and county ratings: points, grades, thresholds at their edges."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.config import RuralIndicator, load_config
from scoring.exceptions import ConfigError
from scoring.ratings import (
    AREA_CRITERIA_SCHEMA,
    COUNTY_RATINGS_SCHEMA,
    HOUSEHOLD_FEATURES,
    HOUSEHOLD_POINTS_SCHEMA,
    HOUSEHOLD_RATINGS_SCHEMA,
    TOWN_RATINGS_SCHEMA,
    VILLAGE_RATINGS_SCHEMA,
    RuralRatings,
    household_rating_features,
    rate_rural,
    rate_rural_years,
)
from scoring.ratings._rural import _example_households
from scoring.schema import TABLES

RULES = load_config().rural
Y = 2012
V1, V2 = "440101001001", "440101001002"


def households(ids: list[str], *, village: str = V1, credit: bool = False, **kw: object):
    """Plain households (score 50); ``credit`` makes them A credit households (score 63)."""
    hh = _example_households(ids, village=village, **kw)  # type: ignore[arg-type]
    if credit:
        hh = hh.with_columns(
            members=pl.lit(4, dtype=pl.Int64),
            labourers=pl.lit(3, dtype=pl.Int64),
            land_area=pl.lit(10.0),
            cooperative_member=pl.lit(True),
        )
    return hh


def frame(table: str, rows: list[dict[str, object]]) -> pl.DataFrame:
    schema = TABLES[table].schema
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema)


def loans_for(ids: list[str], *, entity_type: str = "household") -> pl.DataFrame:
    return frame(
        "loans",
        [
            {
                "loan_id": f"L-{i}",
                "entity_type": entity_type,
                "entity_id": i,
                "bank_code": "GDRCU",
                "purpose": "agriculture",
                "origination_date": dt.date(2010, 1, 1),
                "maturity_date": dt.date(2015, 1, 1),
                "principal": 100_000.0,
            }
            for i in ids
        ],
    )


def reports(rows: list[tuple[str, dt.date, float, int]]) -> pl.DataFrame:
    """Repayment reports (household id, month, balance, days past due) of loan L-<id>."""
    return frame(
        "loan_repayments",
        [
            {
                "record_id": f"R-{h}-{m.isoformat()}",
                "loan_id": f"L-{h}",
                "month": m,
                "balance": b,
                "amount_due": 100.0,
                "amount_paid": 100.0,
                "days_past_due": d,
            }
            for h, m, b, d in rows
        ],
    )


def criterion(r: RuralRatings, level: str, code: str, area: str = V1) -> dict[str, object]:
    row = r.criteria.filter(
        pl.col("level") == level, pl.col("criterion") == code, pl.col("area_code") == area
    )
    assert row.height == 1
    return row.row(0, named=True)


def points_of(r: RuralRatings, hid: str) -> dict[str, float]:
    p = r.points.filter(pl.col("household_id") == hid)
    return dict(zip(p["indicator_code"], p["points"], strict=True))


# --------------------------------------------------------------------------- households


def test_plain_household_points_line_by_line() -> None:
    r = rate_rural(households(["H1"]), year=Y, rules=RULES)
    assert points_of(r, "H1") == {
        "MEMBERS": 4.0,
        "LABOURERS": 8.0,
        "LAND_AREA": 5.0,
        "INCOME_SOURCE": 6.0,
        "COOPERATIVE": 0.0,
        "YEARS_ON_FILE": 2.0,
        "INSURED_SUM": 0.0,
        "INSURED_YEARS": 0.0,
        "SUBSIDIES": 0.0,
        "LOAN_BALANCE": 15.0,
        "MAX_DPD_24M": 6.0,
        "IN_ARREARS": 4.0,
    }
    row = r.households.row(0, named=True)
    assert (row["points_basics"], row["points_finances"], row["points_credit"]) == (25, 15, 10)
    assert (row["score"], row["grade"], row["credit_household"]) == (50.0, None, False)


def test_credit_household_and_the_score_is_the_sum_of_its_lines() -> None:
    r = rate_rural(households(["H1"], credit=True), year=Y, rules=RULES)
    row = r.households.row(0, named=True)
    assert (row["score"], row["grade"], row["credit_household"]) == (63.0, "A", True)
    assert r.points["points"].sum() == row["score"]


def test_bins_are_closed_on_the_left() -> None:
    hh = pl.concat(
        [
            households(["EDGE"]).with_columns(land_area=pl.lit(5.0)),
            households(["BELOW"]).with_columns(land_area=pl.lit(4.99)),
        ]
    )
    r = rate_rural(hh, year=Y, rules=RULES)
    assert points_of(r, "EDGE")["LAND_AREA"] == 8.0
    assert points_of(r, "BELOW")["LAND_AREA"] == 5.0


@pytest.mark.parametrize(
    ("land", "score", "grade"),
    [
        (0.0, 59.9, None),
        (1.0, 60.0, "A"),
        (2.0, 69.9, "A"),
        (3.0, 70.0, "AA"),
        (4.0, 79.9, "AA"),
        (5.0, 80.0, "AAA"),
    ],
)
def test_household_grade_boundaries(land: float, score: float, grade: str | None) -> None:
    one = RuralIndicator(
        code="LAND",
        name_zh="地",
        name_en="land",
        block="basics",
        feature="land_area",
        edges=(1, 2, 3, 4, 5),
        points=(59.9, 60, 69.9, 70, 79.9, 80),
    )
    rules = dataclasses.replace(RULES, indicators=(one,), records=())
    hh = households(["H1"]).with_columns(land_area=pl.lit(land))
    row = rate_rural(hh, year=Y, rules=rules).households.row(0, named=True)
    assert (row["score"], row["grade"]) == (score, grade)


def test_only_households_with_a_credit_file_by_the_year_end_are_rated() -> None:
    hh = pl.concat(
        [
            households(["ON"], registered=dt.date(Y, 12, 31)),
            households(["LATE"], registered=dt.date(Y + 1, 1, 1)),
        ]
    )
    r = rate_rural(hh, year=Y, rules=RULES)
    assert r.households["household_id"].to_list() == ["ON"]
    assert r.villages.select("households", "rated_households").row(0) == (2, 1)


def test_finance_features_subsidies_insurance_loans() -> None:
    hh = households(["H1", "H2"])
    sub = frame(
        "agri_subsidies",
        [
            {
                "record_id": "S1",
                "household_id": "H1",
                "pay_date": dt.date(Y, 3, 1),
                "amount": 800.0,
            },
            {
                "record_id": "S2",
                "household_id": "H1",
                "pay_date": dt.date(Y, 9, 1),
                "amount": 400.0,
            },
            {
                "record_id": "S3",
                "household_id": "H1",
                "pay_date": dt.date(Y - 1, 9, 1),
                "amount": 9e3,
            },
        ],
    )
    ins = frame(
        "agri_insurance",
        [
            {
                "record_id": f"I{k}",
                "household_id": "H1",
                "policy_start": dt.date(k, 6, 1),
                "policy_end": dt.date(k + 1, 5, 31),
                "crop": "rice",
                "insured_amount": 6000.0,
                "premium": 60.0,
                "claim_paid": 0.0,
            }
            for k in (Y - 4, Y - 1)
        ],
    )
    rep = reports(
        [
            ("H2", dt.date(Y - 2, 12, 1), 80_000.0, 120),  # outside the 24 months
            ("H2", dt.date(Y - 1, 1, 1), 70_000.0, 45),
            ("H2", dt.date(Y, 11, 1), 60_000.0, 0),
            ("H2", dt.date(Y, 12, 1), 55_000.0, 3),
        ]
    )
    f = household_rating_features(hh, loans_for(["H2"]), rep, sub, ins, year=Y, rules=RULES)
    got = f.collect().sort("household_id")
    h1, h2 = got.row(0, named=True), got.row(1, named=True)
    assert h1["subsidies_year"] == 1200.0
    assert h1["insured_sum_year"] == 6000.0  # the Y-1 policy runs into Y
    assert h1["insured_years_3y"] == 2  # Y-1 and Y; the Y-4 policy ended in Y-3
    assert (h2["loan_balance"], h2["max_dpd_24m"], h2["in_arrears"]) == (55_000.0, 45, 1)
    assert (h1["loan_balance"], h1["max_dpd_24m"], h1["in_arrears"]) == (0.0, 0, 0)


def test_sme_loans_are_not_household_loans() -> None:
    rep = reports([("H1", dt.date(Y, 12, 1), 500_000.0, 200)])
    r = rate_rural(
        households(["H1"]), loans_for(["H1"], entity_type="sme"), rep, year=Y, rules=RULES
    )
    assert r.villages.select("borrowers", "loan_balance").row(0) == (0, 0.0)
    assert points_of(r, "H1")["IN_ARREARS"] == 4.0


def test_public_records_plus_minus_once_and_retention() -> None:
    def rec(rid: str, item: str, event: dt.date, ended: dt.date | None = None) -> dict[str, object]:
        return {
            "record_id": rid,
            "household_id": "H1",
            "event_date": event,
            "item_code": item,
            "ended_date": ended,
        }

    pr = frame(
        "public_records",
        [
            rec("P1", "MODEL_WORKER", dt.date(Y, 2, 1)),
            rec("P2", "MODEL_WORKER", dt.date(Y, 5, 1)),  # once: not again
            rec("P3", "LAWSUIT", dt.date(Y - 1, 2, 1)),
            rec("P4", "LAWSUIT", dt.date(Y, 2, 1)),
            rec("P5", "DEBT_EVASION", dt.date(Y - 8, 1, 1), dt.date(Y - 5, 12, 31)),  # too old
            rec("P6", "LOAN_MISUSE", dt.date(Y - 8, 1, 1), dt.date(Y - 4, 1, 1)),  # still counts
            rec("P7", "ARREARS", dt.date(Y + 1, 1, 1)),  # after the year end
        ],
    )
    r = rate_rural(households(["H1"]), public_records=pr, year=Y, rules=RULES)
    rec_lines = r.points.filter(pl.col("block") == "records")
    assert sorted(zip(rec_lines["source_record_id"], rec_lines["points"], strict=True)) == [
        ("P1", 5.0),
        ("P3", -5.0),
        ("P4", -5.0),
        ("P6", -10.0),
    ]
    row = r.households.row(0, named=True)
    assert (row["points_records"], row["score"]) == (-15.0, 35.0)


def test_score_is_clipped_to_zero_and_max_points() -> None:
    items = [
        {
            "record_id": f"P{i}",
            "household_id": "H1",
            "event_date": dt.date(Y, 1, 1 + i),
            "item_code": "DEBT_EVASION",
            "ended_date": None,
        }
        for i in range(8)
    ]
    pr = frame("public_records", items)
    r = rate_rural(households(["H1"]), public_records=pr, year=Y, rules=RULES)
    assert r.households["score"].item() == 0.0
    rules = dataclasses.replace(RULES, max_points=40.0)
    assert rate_rural(households(["H1"]), year=Y, rules=rules).households["score"].item() == 40.0


@settings(max_examples=15, deadline=None)
@given(days=st.lists(st.integers(1, 700), min_size=5, max_size=5))
def test_records_after_the_year_end_never_change_the_ratings(days: list[int]) -> None:
    end = dt.date(Y, 12, 31)
    base = households(["H1", "H2"])
    rep = reports([("H1", dt.date(Y, 12, 1), 1000.0, 0), ("H2", dt.date(Y, 6, 1), 500.0, 0)])
    before = rate_rural(base, loans_for(["H1", "H2"]), rep, year=Y, rules=RULES)
    later = [end + dt.timedelta(days=d) for d in days]
    month = later[0].replace(day=1)
    rep2 = pl.concat([rep, reports([("H1", month, 9e5, 300), ("H2", month, 9e5, 300)])])
    sub = frame(
        "agri_subsidies",
        [{"record_id": "S", "household_id": "H1", "pay_date": later[1], "amount": 5000.0}],
    )
    policy = {
        "record_id": "I",
        "household_id": "H2",
        "policy_start": later[2],
        "policy_end": later[2] + dt.timedelta(days=365),
        "crop": "rice",
        "insured_amount": 9e4,
        "premium": 1.0,
        "claim_paid": 0.0,
    }
    ins = frame("agri_insurance", [policy])
    record = {
        "record_id": "P",
        "household_id": "H1",
        "event_date": later[3],
        "item_code": "DEBT_EVASION",
        "ended_date": None,
    }
    pr = frame("public_records", [record])
    changed = base.with_columns(  # a later change of H2's file date moves it past the year end
        registered_date=pl.when(pl.col("household_id") == "H2")
        .then(pl.lit(later[4]))
        .otherwise("registered_date")
    )
    after = rate_rural(base, loans_for(["H1", "H2"]), rep2, sub, ins, pr, year=Y, rules=RULES)
    for got, want in zip(
        (after.households, after.points, after.villages, after.towns, after.criteria),
        (before.households, before.points, before.villages, before.towns, before.criteria),
        strict=True,
    ):
        assert got.equals(want)
    moved = rate_rural(changed, year=Y, rules=RULES)
    assert moved.households["household_id"].to_list() == ["H1"]


def test_village_share_counts_every_listed_household() -> None:
    # The households table is the village's roll; a household whose credit file opens
    # later still lives in the village, so it counts in the denominator, not as rated.
    hh = pl.concat(
        [village(7, 0), households(["LATER1", "LATER2", "LATER3"], registered=dt.date(Y + 1, 5, 1))]
    )
    r = rate_rural(hh, year=Y, rules=RULES)
    v = r.villages.row(0, named=True)
    assert (v["households"], v["rated_households"], v["credit_households"]) == (10, 7, 7)
    assert criterion(r, "village", "CREDIT_HOUSEHOLD_SHARE")["value"] == 0.7


def test_unknown_feature_in_the_indicator_table_is_a_config_error() -> None:
    bad = dataclasses.replace(RULES.indicators[0], feature="head_name")
    rules = dataclasses.replace(RULES, indicators=(bad,))
    with pytest.raises(ConfigError, match="feature of MEMBERS must be one of .*got 'head_name'"):
        rate_rural(households(["H1"]), year=Y, rules=rules)
    assert {i.feature for i in RULES.indicators} <= set(HOUSEHOLD_FEATURES)


# --------------------------------------------------------------------------- villages


def village(n_credit: int, n_other: int, *, code: str = V1) -> pl.DataFrame:
    parts = [households([f"{code}-C{i}" for i in range(n_credit)], village=code, credit=True)]
    parts.append(households([f"{code}-N{i}" for i in range(n_other)], village=code))
    return pl.concat(parts)


@pytest.mark.parametrize(("n_credit", "passed"), [(699, False), (700, True)])
def test_village_credit_household_share_edge(n_credit: int, passed: bool) -> None:
    r = rate_rural(village(n_credit, 1000 - n_credit), year=Y, rules=RULES)
    c = criterion(r, "village", "CREDIT_HOUSEHOLD_SHARE")
    assert (c["value"], c["threshold"], c["operator"], c["passed"]) == (
        n_credit / 1000,
        0.7,
        ">=",
        passed,
    )
    v = r.villages.row(0, named=True)
    assert v["credit_village"] is passed  # nothing else to fail: no borrowers, no loans
    assert v["failed_criteria"] == ("" if passed else "CREDIT_HOUSEHOLD_SHARE")


@pytest.mark.parametrize(("clean", "passed"), [(849, False), (850, True)])
def test_village_clean_borrower_share_edge(clean: int, passed: bool) -> None:
    hh = village(1000, 0)
    ids = hh["household_id"].to_list()
    rows = [(h, dt.date(Y, 6, 1), 1000.0, 0 if i < clean else 1) for i, h in enumerate(ids)]
    rows += [(h, dt.date(Y, 12, 1), 1000.0, 0) for h in ids]  # all current again at year end
    r = rate_rural(hh, loans_for(ids), reports(rows), year=Y, rules=RULES)
    c = criterion(r, "village", "CLEAN_BORROWER_SHARE")
    assert (c["value"], c["passed"]) == (clean / 1000, passed)
    assert r.villages.select("borrowers", "clean_borrowers").row(0) == (1000, clean)
    assert criterion(r, "village", "NPL_RATIO")["value"] == 0.0


@pytest.mark.parametrize(("npl", "passed"), [(49.0, True), (50.0, False)])
def test_village_npl_ratio_edge(npl: float, passed: bool) -> None:
    hh = village(2, 0)
    bad, good = hh["household_id"].to_list()
    rep = reports([(bad, dt.date(Y, 12, 1), npl, 90), (good, dt.date(Y, 12, 1), 1000 - npl, 89)])
    r = rate_rural(hh, loans_for([bad, good]), rep, year=Y, rules=RULES)
    c = criterion(r, "village", "NPL_RATIO")
    assert (c["value"], c["operator"], c["threshold"], c["passed"]) == (
        npl / 1000,
        "<",
        0.05,
        passed,
    )


@pytest.mark.parametrize(("npl_now", "passed"), [(39.0, True), (40.0, False)])
def test_village_npl_increase_edge(npl_now: float, passed: bool) -> None:
    hh = village(2, 0)
    bad, good = hh["household_id"].to_list()
    rep = reports(
        [
            (bad, dt.date(Y - 1, 12, 1), 30.0, 120),
            (good, dt.date(Y - 1, 12, 1), 970.0, 0),
            (bad, dt.date(Y, 12, 1), npl_now, 150),
            (good, dt.date(Y, 12, 1), 1000 - npl_now, 0),
        ]
    )
    r = rate_rural(hh, loans_for([bad, good]), rep, year=Y, rules=RULES)
    c = criterion(r, "village", "NPL_INCREASE")
    assert c["value"] == pytest.approx((npl_now - 30) / 1000)
    assert c["passed"] is passed
    v = r.villages.row(0, named=True)
    assert v["npl_ratio_prev"] == 0.03
    assert criterion(r, "village", "NPL_RATIO")["passed"]  # 3.9 % and 4 %: below 5 %


def test_village_without_loans_a_year_earlier_cannot_fail_the_increase() -> None:
    hh = village(2, 0)
    bad, good = hh["household_id"].to_list()
    rep = reports([(bad, dt.date(Y, 12, 1), 40.0, 120), (good, dt.date(Y, 12, 1), 960.0, 0)])
    r = rate_rural(hh, loans_for([bad, good]), rep, year=Y, rules=RULES)
    c = criterion(r, "village", "NPL_INCREASE")
    assert (c["value"], c["passed"]) == (None, True)


# --------------------------------------------------------------------------- towns, counties


def _town(n_villages: int, n_credit: int, town: str = "440101001") -> pl.DataFrame:
    return pl.concat(
        [
            village(1, 0, code=f"{town}{k:03d}")
            if k < n_credit
            else village(0, 1, code=f"{town}{k:03d}")
            for k in range(n_villages)
        ]
    )


@pytest.mark.parametrize(("n_villages", "n_credit", "passed"), [(2, 1, True), (3, 1, False)])
def test_town_credit_village_share_edge(n_villages: int, n_credit: int, passed: bool) -> None:
    r = rate_rural(_town(n_villages, n_credit), year=Y, rules=RULES)
    c = criterion(r, "town", "CREDIT_VILLAGE_SHARE", area="440101001")
    assert (c["value"], c["threshold"], c["passed"]) == (n_credit / n_villages, 0.5, passed)
    assert r.towns["credit_town"].item() is passed


@pytest.mark.parametrize(("clean", "passed"), [(8, False), (9, True)])
def test_town_borrowers_without_arrears_edge_and_town_npl(clean: int, passed: bool) -> None:
    hh = _town(2, 2)
    extra = households([f"B{i}" for i in range(10)], village="440101001000", credit=True)
    hh = pl.concat([hh, extra])
    ids = extra["household_id"].to_list()
    rows = [(h, dt.date(Y, 12, 1), 100.0, 0 if i < clean else 5) for i, h in enumerate(ids)]
    r = rate_rural(hh, loans_for(ids), reports(rows), year=Y, rules=RULES)
    c = criterion(r, "town", "CLEAN_BORROWER_SHARE", area="440101001")
    assert (c["value"], c["threshold"], c["passed"]) == (clean / 10, 0.9, passed)
    assert criterion(r, "town", "NPL_RATIO", area="440101001")["value"] == 0.0
    assert r.towns["credit_town"].item() is passed


@pytest.mark.parametrize(("n_credit", "passed"), [(2, False), (3, True)])
def test_county_credit_village_share_edge(n_credit: int, passed: bool) -> None:
    # five villages in two towns of one county
    hh = pl.concat(
        [_town(3, min(n_credit, 3), "440101001"), _town(2, max(n_credit - 3, 0), "440101002")]
    )
    r = rate_rural(hh, year=Y, rules=RULES)
    c = criterion(r, "county", "CREDIT_VILLAGE_SHARE", area="440101")
    assert (c["value"], c["threshold"], c["passed"]) == (n_credit / 5, 0.6, passed)
    county = r.counties.row(0, named=True)
    assert (county["villages"], county["towns"], county["credit_county"]) == (5, 2, passed)


# --------------------------------------------------------------------------- schemas, years


def test_output_schemas_and_years() -> None:
    hh = village(3, 2)
    ids = hh["household_id"].to_list()
    rep = reports([(h, dt.date(y, 12, 1), 10.0, 0) for h in ids for y in (Y - 1, Y)])
    r = rate_rural_years(hh, loans_for(ids), rep, years=[Y, Y - 1], rules=RULES)
    for got, want in (
        (r.households, HOUSEHOLD_RATINGS_SCHEMA),
        (r.points, HOUSEHOLD_POINTS_SCHEMA),
        (r.villages, VILLAGE_RATINGS_SCHEMA),
        (r.towns, TOWN_RATINGS_SCHEMA),
        (r.counties, COUNTY_RATINGS_SCHEMA),
        (r.criteria, AREA_CRITERIA_SCHEMA),
    ):
        assert dict(got.schema) == want
        assert sorted(set(got["year"])) == [Y - 1, Y]
    assert "head_id_number" not in r.households.columns
    s = r.summary()
    assert s.select("year", "households", "rated", "credit").rows() == [
        (Y - 1, 5, 5, 3),
        (Y, 5, 5, 3),
    ]
    assert RuralRatings.concat([]).summary().height == 0


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("edges = [1, 2, 3]", "edges = [1, 3, 2]", r"'rural.indicators\[1\].edges' .* increasing"),
        ("points = [0, 5, 8, 10]", "points = [0, 5, 8]", r"'rural.indicators\[1\].points' .* 4"),
        ('block = "basics"', 'block = "assets"', r"'rural.indicators\[0\].block'"),
        ('item = "VOLUNTEER"', 'item = "HERO"', r"'rural.records\[1\].item' .* MODEL_WORKER"),
        ("grade_aa_min = 70", "grade_aa_min = 85", r"'rural.grade_aaa_min' .* above"),
        ("village_max_npl_ratio = 0.05", "village_max_npl_ratio = 5", r"in \[0.0, 1.0\]"),
    ],
)
def test_bad_rural_configuration_names_the_key(
    tmp_path: pytest.TempPathFactory, old: str, new: str, message: str
) -> None:
    from scoring.config import default_config_path

    text = default_config_path().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "workbench.toml"  # type: ignore[operator]
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)
