"""Tax credit rating: a known answer for every rule, boundaries, carry-over, schemas."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest

from scoring.config import TaxConfig, TaxDeduction, load_config
from scoring.exceptions import DataError, SchemaError
from scoring.ratings import (
    TAX_DEDUCTIONS_SCHEMA,
    TAX_RATINGS_SCHEMA,
    TaxRatings,
    rate_tax,
    rate_tax_years,
)
from scoring.ratings._tax import _example_filings as filings

RULES = load_config().tax
OLD = dt.date(2001, 5, 1)  # established long before: may be A
Y = 2012


def ents(*codes: str, established: dt.date = OLD, deregistered: dt.date | None = None):
    n = len(codes)
    return pl.DataFrame(
        {
            "credit_code": list(codes),
            "established_date": [established] * n,
            "deregistered_date": [deregistered] * n,
        },
        schema={
            "credit_code": pl.String,
            "established_date": pl.Date,
            "deregistered_date": pl.Date,
        },
    )


def violations(*rows: tuple[str, dt.date, str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "record_id": [f"V{i}" for i in range(len(rows))],
            "credit_code": [r[0] for r in rows],
            "event_date": [r[1] for r in rows],
            "indicator_code": [r[2] for r in rows],
            "amount": [None] * len(rows),
            "ended_date": [None] * len(rows),
        },
        schema={
            "record_id": pl.String,
            "credit_code": pl.String,
            "event_date": pl.Date,
            "indicator_code": pl.String,
            "amount": pl.Float64,
            "ended_date": pl.Date,
        },
    )


def one(result: TaxRatings, code: str = "C1", year: int = Y) -> dict[str, object]:
    row = result.ratings.filter(pl.col("credit_code") == code, pl.col("year") == year)
    assert row.height == 1
    return row.row(0, named=True)


def lines(result: TaxRatings, code: str = "C1") -> list[tuple[str, float]]:
    d = result.deductions.filter(pl.col("credit_code") == code)
    return list(zip(d["indicator_code"].to_list(), d["points"].to_list(), strict=True))


def rules_with(*deductions: tuple[str, float, str], **changes: object) -> TaxConfig:
    """The default rules plus extra deduction rows (code, points, kind), all per event."""
    extra = tuple(
        TaxDeduction(c, c, c, p, "event", k, "violations")  # type: ignore[arg-type]
        for c, p, k in deductions
    )
    return dataclasses.replace(RULES, deductions=RULES.deductions + extra, **changes)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the clean case


def test_clean_taxpayer_scores_100_and_gets_a_without_lines() -> None:
    r = rate_tax(filings("C1", Y), None, ents("C1"), year=Y, rules=RULES)
    row = one(r)
    assert (row["score"], row["grade"], row["grade_basis"]) == (100.0, "A", "score")
    assert (row["filing_months"], row["published_date"]) == (12, dt.date(Y + 1, 4, 1))
    assert r.deductions.height == 0


# --------------------------------------------------------------------------- filings rules


def test_late_filing_costs_five_per_month_dated_at_the_deadline() -> None:
    r = rate_tax(filings("C1", Y, late_months=(3, 7)), None, ents("C1"), year=Y, rules=RULES)
    assert one(r)["score"] == 90.0
    d = r.deductions
    assert d["indicator_code"].to_list() == ["LATE_FILING"] * 2
    assert d["event_date"].to_list() == [dt.date(Y, 4, 15), dt.date(Y, 8, 15)]
    assert d["source_record_id"].to_list() == [f"C1-{Y}03", f"C1-{Y}07"]
    assert set(d["source_table"]) == {"tax_filings"}


def test_a_return_never_filed_is_a_late_filing() -> None:
    fil = filings("C1", Y).with_columns(
        filed_date=pl.when(pl.col("period").dt.month() == 5).then(None).otherwise("filed_date")
    )
    r = rate_tax(fil, None, ents("C1"), year=Y, rules=RULES)
    assert lines(r) == [("LATE_FILING", 5.0)]
    assert one(r)["score"] == 95.0


def test_filing_on_the_deadline_is_on_time() -> None:
    fil = filings("C1", Y).with_columns(filed_date=pl.col("due_date"))
    assert rate_tax(fil, None, ents("C1"), year=Y, rules=RULES).deductions.height == 0


def test_late_payment_when_paid_below_payable() -> None:
    r = rate_tax(filings("C1", Y, unpaid_months=(2,)), None, ents("C1"), year=Y, rules=RULES)
    assert lines(r) == [("LATE_PAYMENT", 5.0)]
    fil = filings("C1", Y).with_columns(tax_paid=pl.col("tax_payable") - 0.001)
    assert rate_tax(fil, None, ents("C1"), year=Y, rules=RULES).deductions.height == 0
    fil = filings("C1", Y).with_columns(tax_paid=pl.col("tax_payable") - 0.01)
    assert rate_tax(fil, None, ents("C1"), year=Y, rules=RULES).deductions.height == 12


def test_filings_of_other_years_are_not_used() -> None:
    fil = pl.concat([filings("C1", Y - 1, late_months=(1,)), filings("C1", Y)])
    assert rate_tax(fil, None, ents("C1"), year=Y, rules=RULES).deductions.height == 0


def test_a_late_filing_rule_left_out_of_the_table_is_not_applied() -> None:
    rules = dataclasses.replace(
        RULES, deductions=tuple(d for d in RULES.deductions if d.code != "LATE_FILING")
    )
    r = rate_tax(filings("C1", Y, late_months=(1,)), None, ents("C1"), year=Y, rules=rules)
    assert r.deductions.height == 0


# --------------------------------------------------------------------------- violation rules


@pytest.mark.parametrize(
    "row", [d for d in RULES.deductions if d.source == "violations"], ids=lambda d: d.code
)
def test_every_violation_rule_of_the_table_has_its_known_answer(row: TaxDeduction) -> None:
    vio = violations(("C1", dt.date(Y, 6, 1), row.code))
    r = rate_tax(filings("C1", Y), vio, ents("C1"), year=Y, rules=RULES)
    got = one(r)
    assert lines(r) == [(row.code, row.points)]
    assert r.deductions.row(0, named=True)["kind"] == row.kind
    assert got["score"] == 100.0 - row.points
    if row.kind == "direct_d":
        assert (got["grade"], got["grade_basis"], got["direct_d_year"]) == ("D", "direct_d", Y)
    elif row.kind == "no_a":
        assert (got["grade"], got["grade_basis"], got["cannot_be_a"]) == ("B", "no_a", True)
    else:
        expected = "A" if 100.0 - row.points >= 90 else "B"
        assert (got["grade"], got["grade_basis"]) == (expected, "score")


def test_once_rules_count_once_a_year_and_event_rules_each_time() -> None:
    vio = violations(
        ("C1", dt.date(Y, 2, 1), "ACCOUNTING_SYSTEM_NOT_FILED"),
        ("C1", dt.date(Y, 3, 1), "ACCOUNTING_SYSTEM_NOT_FILED"),
        ("C1", dt.date(Y, 2, 1), "DEVICE_LOST"),
        ("C1", dt.date(Y, 3, 1), "DEVICE_LOST"),
    )
    r = rate_tax(filings("C1", Y), vio, ents("C1"), year=Y, rules=RULES)
    assert sorted(lines(r)) == [
        ("ACCOUNTING_SYSTEM_NOT_FILED", 3.0),
        ("DEVICE_LOST", 1.0),
        ("DEVICE_LOST", 1.0),
    ]
    kept = r.deductions.filter(pl.col("indicator_code") == "ACCOUNTING_SYSTEM_NOT_FILED")
    assert kept["event_date"].to_list() == [dt.date(Y, 2, 1)]  # the first event
    assert one(r)["score"] == 95.0


def test_unknown_violation_code_is_refused_with_the_codes() -> None:
    vio = violations(("C1", dt.date(Y, 6, 1), "NOPE"))
    with pytest.raises(DataError, match=r"'tax_violations.indicator_code' must be one of .*NOPE"):
        rate_tax(filings("C1", Y), vio, ents("C1"), year=Y, rules=RULES)
    vio = violations(("C1", dt.date(Y, 6, 1), "LATE_FILING"))
    with pytest.raises(DataError, match="derived from tax_filings"):
        rate_tax(filings("C1", Y), vio, ents("C1"), year=Y, rules=RULES)


def test_score_equals_start_minus_the_sum_of_its_lines() -> None:
    vio = violations(
        ("C1", dt.date(Y, 6, 1), "DEVICE_DAMAGED"), ("C2", dt.date(Y, 1, 9), "DEVICE_LOST")
    )
    fil = pl.concat([filings("C1", Y, late_months=(1, 2)), filings("C2", Y, months=range(1, 10))])
    r = rate_tax(fil, vio, ents("C1", "C2"), year=Y, rules=RULES)
    sums = r.deductions.group_by("credit_code").agg(pl.col("points").sum())
    joined = r.ratings.join(sums, on="credit_code")
    assert (joined["start_score"] - joined["points"] == joined["score"]).all()
    assert joined.sort("credit_code")["score"].to_list() == [79.0, 89.0]


# --------------------------------------------------------------------------- boundaries


@pytest.mark.parametrize(
    ("points", "grade"),
    [(10.1, "B"), (10.0, "A"), (30.1, "C"), (30.0, "B"), (60.1, "D"), (60.0, "C")],
)
def test_grade_boundaries(points: float, grade: str) -> None:
    rules = rules_with(("FRACTION", points, "deduct"))
    vio = violations(("C1", dt.date(Y, 6, 1), "FRACTION"))
    got = one(rate_tax(filings("C1", Y), vio, ents("C1"), year=Y, rules=rules))
    assert (round(100 - points, 6), grade) == (got["score"], got["grade"])


def test_fractional_points_add_up_without_float_noise() -> None:
    rules = rules_with(("TENTH", 0.1, "deduct"))
    vio = violations(*[("C1", dt.date(Y, 1, d), "TENTH") for d in range(1, 11)])
    assert one(rate_tax(filings("C1", Y), vio, ents("C1"), year=Y, rules=rules))["score"] == 99.0


# --------------------------------------------------------------------------- start score 90


def test_fewer_filing_months_than_complete_start_at_90() -> None:
    r = rate_tax(filings("C1", Y, months=range(1, 12)), None, ents("C1"), year=Y, rules=RULES)
    got = one(r)
    assert (got["filing_months"], got["start_score"], got["score"], got["grade"]) == (
        11,
        90.0,
        90.0,
        "A",
    )
    fil = filings("C1", Y, months=range(1, 12), late_months=(1,))
    assert one(rate_tax(fil, None, ents("C1"), year=Y, rules=RULES))["grade"] == "B"
    rules = dataclasses.replace(RULES, complete_filing_months=11)
    got = one(rate_tax(fil, None, ents("C1"), year=Y, rules=rules))
    assert (got["start_score"], got["score"]) == (100.0, 95.0)


def test_taxpayer_without_filings_is_rated_from_90() -> None:
    got = one(rate_tax(filings("C1", Y - 1), None, ents("C1"), year=Y, rules=RULES))
    assert (got["filing_months"], got["start_score"], got["grade"]) == (0, 90.0, "A")


# --------------------------------------------------------------------------- who is rated, M


def test_only_enterprises_established_and_not_deregistered_at_the_year_end() -> None:
    e = pl.concat(
        [
            ents("OK"),
            ents("LATER", established=dt.date(Y + 1, 1, 1)),
            ents("GONE", deregistered=dt.date(Y, 12, 31)),
            ents("STAYS", deregistered=dt.date(Y + 1, 1, 1)),
        ]
    )
    fil = pl.concat([filings(c, Y) for c in ("OK", "LATER", "GONE", "STAYS", "UNKNOWN")])
    r = rate_tax(fil, None, e, year=Y, rules=RULES)
    assert r.ratings["credit_code"].to_list() == ["OK", "STAYS"]


def test_new_taxpayer_is_m_unless_d() -> None:
    new = ents("C1", established=dt.date(Y, 1, 1))
    got = one(rate_tax(filings("C1", Y), None, new, year=Y, rules=RULES))
    assert (got["grade"], got["grade_basis"]) == ("M", "new_taxpayer")
    direct = violations(("C1", dt.date(Y, 6, 1), "INVOICE_FRAUD"))
    assert one(rate_tax(filings("C1", Y), direct, new, year=Y, rules=RULES))["grade"] == "D"
    late = filings("C1", Y, late_months=tuple(range(1, 13)))
    bad = violations(("C1", dt.date(Y, 6, 1), "DEVICE_LOST"))
    got = one(rate_tax(late, bad, new, year=Y, rules=RULES))
    assert (got["score"], got["grade"], got["grade_basis"]) == (39.0, "D", "score")


def test_no_business_income_is_m_from_70() -> None:
    zero = filings("C1", Y, zero_months=tuple(range(1, 13)))
    got = one(rate_tax(zero, None, ents("C1"), year=Y, rules=RULES))
    assert (got["grade"], got["grade_basis"]) == ("M", "no_income")
    rules = rules_with(("FRACTION", 30.1, "deduct"))
    vio = violations(("C1", dt.date(Y, 6, 1), "FRACTION"))
    assert one(rate_tax(zero, vio, ents("C1"), year=Y, rules=rules))["grade"] == "C"
    vio = violations(("C1", dt.date(Y, 6, 1), "FRACTION"))
    rules = rules_with(("FRACTION", 30.0, "deduct"))
    assert one(rate_tax(zero, vio, ents("C1"), year=Y, rules=rules))["grade"] == "M"


# --------------------------------------------------------------------------- cannot be A


def test_under_three_years_of_operation_cannot_be_a() -> None:
    young = ents("C1", established=dt.date(Y - 2, 1, 1))  # 3 years less a day at the year end
    r = rate_tax(filings("C1", Y), None, young, year=Y, rules=RULES)
    assert (one(r)["grade"], lines(r)) == ("B", [("NO_A_YOUNG", 0.0)])
    old_enough = ents("C1", established=dt.date(Y - 3, 12, 31))
    assert one(rate_tax(filings("C1", Y), None, old_enough, year=Y, rules=RULES))["grade"] == "A"


def test_zero_declarations_three_months_running_bar_a() -> None:
    r = rate_tax(filings("C1", Y, zero_months=(4, 5, 6)), None, ents("C1"), year=Y, rules=RULES)
    assert (one(r)["grade"], lines(r)) == ("B", [("NO_A_ZERO_RUN", 0.0)])
    assert r.deductions["source_record_id"].to_list() == [f"C1-{Y}06"]
    two = filings("C1", Y, zero_months=(4, 5, 7, 8))
    assert one(rate_tax(two, None, ents("C1"), year=Y, rules=RULES))["grade"] == "A"


def test_zero_declarations_in_six_months_of_the_year_bar_a() -> None:
    five = filings("C1", Y, zero_months=(1, 3, 5, 7, 9))
    assert one(rate_tax(five, None, ents("C1"), year=Y, rules=RULES))["grade"] == "A"
    six = filings("C1", Y, zero_months=(1, 3, 5, 7, 9, 11))
    r = rate_tax(six, None, ents("C1"), year=Y, rules=RULES)
    assert (one(r)["grade"], lines(r)) == ("B", [("NO_A_ZERO_YEAR", 0.0)])


def test_zero_declaration_runs_do_not_cross_the_year() -> None:
    fil = pl.concat(
        [filings("C1", Y - 1, zero_months=(11, 12)), filings("C1", Y, zero_months=(1,))]
    )
    assert one(rate_tax(fil, None, ents("C1"), year=Y, rules=RULES))["grade"] == "A"


def test_previous_d_bars_a() -> None:
    prev = pl.DataFrame(
        {
            "credit_code": ["C1"],
            "year": [Y - 1],
            "grade": ["D"],
            "grade_basis": ["score"],
            "direct_d_year": [None],
        },
        schema_overrides={"direct_d_year": pl.Int32},
    )
    rules = dataclasses.replace(RULES, d_next_year_penalty=0.0)
    r = rate_tax(filings("C1", Y), None, ents("C1"), year=Y, rules=rules, previous=prev)
    assert one(r)["grade"] == "B"
    assert ("NO_A_PREV_D", 0.0) in lines(r)


# --------------------------------------------------------------------------- carry-over


def test_score_based_d_costs_points_next_year_then_clears() -> None:
    years = [Y, Y + 1, Y + 2]
    fil = pl.concat([filings("C1", y) for y in years])
    vio = violations(*[("C1", dt.date(Y, m, 1), "DEVICE_DAMAGED") for m in range(1, 7)])
    r = rate_tax_years(fil, vio, ents("C1"), years=years, rules=RULES)
    got = r.ratings.select("year", "score", "grade", "grade_basis").rows()
    assert got == [
        (Y, 34.0, "D", "score"),
        (Y + 1, 89.0, "B", "score"),
        (Y + 2, 100.0, "A", "score"),
    ]
    second = r.deductions.filter(pl.col("year") == Y + 1)
    assert sorted(second["indicator_code"]) == ["NO_A_PREV_D", "PREV_D_SCORE"]
    assert second.filter(pl.col("indicator_code") == "PREV_D_SCORE")["points"].item() == 11.0
    assert second["source_record_id"].to_list() == [f"C1:{Y}"] * 2


@pytest.mark.parametrize("keep", [1, 2, 3])
def test_direct_d_is_kept_then_bars_a_one_year(keep: int) -> None:
    years = list(range(Y - 1, Y - 1 + keep + 2))
    fil = pl.concat([filings("C1", y) for y in years])
    vio = violations(("C1", dt.date(Y - 1, 9, 9), "ABNORMAL_HOUSEHOLD"))
    rules = dataclasses.replace(RULES, direct_d_years=keep)
    r = rate_tax_years(fil, vio, ents("C1"), years=years, rules=rules)
    grades = r.ratings["grade"].to_list()
    assert grades == ["D"] * keep + ["B", "A"]
    assert r.ratings["grade_basis"].to_list()[:keep] == ["direct_d"] + ["kept_d"] * (keep - 1)
    assert r.ratings["direct_d_year"].to_list()[:keep] == [Y - 1] * keep
    bar = r.deductions.filter(pl.col("year") == Y - 1 + keep)["indicator_code"].to_list()
    assert "NO_A_AFTER_DIRECT_D" in bar


def test_years_must_be_consecutive_and_chaining_equals_rate_tax_years() -> None:
    fil = pl.concat([filings("C1", y, late_months=(y - 2009,)) for y in (2010, 2011)])
    with pytest.raises(DataError, match="consecutive"):
        rate_tax_years(fil, None, ents("C1"), years=[2010, 2012], rules=RULES)
    both = rate_tax_years(fil, None, ents("C1"), years=[2011, 2010], rules=RULES)
    first = rate_tax(fil, None, ents("C1"), year=2010, rules=RULES)
    second = rate_tax(fil, None, ents("C1"), year=2011, rules=RULES, previous=first)
    assert both.ratings.equals(pl.concat([first.ratings, second.ratings]))


# --------------------------------------------------------------------------- schemas, errors


def test_output_schemas_even_when_empty() -> None:
    r = rate_tax(filings("C1", Y), violations(), ents("C1"), year=Y, rules=RULES)
    assert dict(r.ratings.schema) == TAX_RATINGS_SCHEMA
    assert dict(r.deductions.schema) == TAX_DEDUCTIONS_SCHEMA
    empty = rate_tax(filings("C1", Y).head(0), None, ents("C1").head(0), year=Y, rules=RULES)
    assert empty.ratings.height == 0
    assert dict(empty.ratings.schema) == TAX_RATINGS_SCHEMA
    assert empty.grade_table().height == 0


def test_lazy_and_eager_inputs_give_the_same_ratings() -> None:
    fil = filings("C1", Y, late_months=(2,))
    eager = rate_tax(fil, None, ents("C1"), year=Y, rules=RULES)
    lazy = rate_tax(fil.lazy(), None, ents("C1").lazy(), year=Y, rules=RULES)
    assert eager.ratings.equals(lazy.ratings)
    assert eager.deductions.equals(lazy.deductions)


def test_missing_column_and_wrong_type_are_schema_errors() -> None:
    with pytest.raises(SchemaError, match="'tax_filings' must have column 'due_date'"):
        rate_tax(filings("C1", Y).drop("due_date"), None, ents("C1"), year=Y, rules=RULES)
    bad = filings("C1", Y).with_columns(pl.col("period").cast(pl.String))
    with pytest.raises(SchemaError, match="'tax_filings.period' must be of type Date; got String"):
        rate_tax(bad, None, ents("C1"), year=Y, rules=RULES)
    with pytest.raises(DataError, match="'year' must be an integer year"):
        rate_tax(filings("C1", Y), None, ents("C1"), year=12.5, rules=RULES)  # type: ignore[arg-type]


def test_grade_distribution_and_explanation() -> None:
    fil = pl.concat([filings("C1", Y, late_months=(1, 2, 3)), filings("C2", Y)])
    r = rate_tax(fil, None, ents("C1", "C2"), year=Y, rules=RULES)
    dist = r.grade_distribution()
    assert dist["grade"].to_list() == ["A", "B", "M", "C", "D"]
    assert dist["taxpayers"].to_list() == [1, 1, 0, 0, 0]
    assert dist["share"].sum() == pytest.approx(1.0)
    assert r.grade_table().row(0) == (
        Y,
        2,
        "1 (50.0%)",
        "1 (50.0%)",
        "0 (0.0%)",
        "0 (0.0%)",
        "0 (0.0%)",
    )
    text = r.explain("C1", Y)
    assert "grade B" in text
    assert "score 85 = start 100 - 15" in text
    assert text.count("LATE_FILING") == 3
    assert "Tax return filed late" in text


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("grade_b_min = 70", "grade_b_min = 95", r"'tax.grade_a_min' .* above grade_b_min"),
        ('per = "event"', 'per = "daily"', r"'tax.deductions\[0\].per' .* one of event, once"),
        ('kind = "deduct"', 'kind = "fine"', r"'tax.deductions\[0\].kind'"),
        ('code = "LATE_PAYMENT"', 'code = "LATE_FILING"', r"'tax.deductions\[1\].code' .* unique"),
        ('code = "LATE_PAYMENT"', 'code = "LATE_TAX"', r"one of LATE_FILING, LATE_PAYMENT"),
        ("points = 5\n", "points = -5\n", r"'tax.deductions\[0\].points' .* >= 0"),
        ("publication_month = 4", "publication_month = 13", r"'tax.publication_month'"),
        ("complete_filing_months = 12", "complete_filing_months = 13", "complete_filing_months"),
    ],
)
def test_bad_tax_configuration_names_the_key(
    tmp_path: pytest.TempPathFactory, old: str, new: str, message: str
) -> None:
    from scoring.config import default_config_path
    from scoring.exceptions import ConfigError

    text = default_config_path().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "workbench.toml"  # type: ignore[operator]
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)
