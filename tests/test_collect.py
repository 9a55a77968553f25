"""Collection into credit files: leakage, retention, disputes, outcome, schemas, I/O."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scoring.cli import cli
from scoring.collect import (
    CollectionRules,
    add_months,
    build_credit_file,
    collect_credit_files,
    credit_file_schema,
    last_rated_year,
    region_code_expr,
    required_tables,
    years_before,
)
from scoring.config import load_config
from scoring.exceptions import ConfigError, InputFileError, SchemaError
from scoring.features import SEGMENTS, features_for
from scoring.geo import CITIES, county_codes, region_of_county
from scoring.schema import TABLES

S = dt.date(2012, 12, 31)
SME_ID = "91440101MA0000015X"
HH_ID = "HH440101001001001"
_ids = itertools.count()


def rules(**over: Any) -> CollectionRules:
    base: dict[str, Any] = {
        "snapshots": (S,),
        "outcome_months": 12,
        "default_dpd": 90,
        "data_end": dt.date(2014, 12, 31),
        "retention_years": 5,
        "exclude_open_disputes": True,
    }
    return CollectionRules(**(base | over))


def _default(table: str, column: str) -> Any:
    col = TABLES[table].column(column)
    if col.nullable:
        return None
    if col.codes:
        return col.codes[0]
    dtype = col.dtype
    if dtype == pl.String:
        return f"{column[:2].upper()}{next(_ids):06d}"
    if dtype == pl.Date:
        return dt.date(2012, 1, 1)
    if dtype == pl.Float64:
        return 1000.0
    if dtype == pl.Int64:
        return 0
    return False


def rows(table: str, *items: dict[str, Any]) -> pl.DataFrame:
    """A typed frame of ``table`` whose unspecified columns take plain valid defaults."""
    schema = TABLES[table].schema
    data = [{c: item.get(c, _default(table, c)) for c in schema} for item in items]
    return pl.DataFrame(data, schema=schema)


def tables(**given_frames: pl.DataFrame) -> dict[str, pl.LazyFrame]:
    """Every raw table, empty unless given; one SME and one household by default."""
    out = {n: pl.LazyFrame(schema=t.schema) for n, t in TABLES.items()}
    out["enterprises"] = rows(
        "enterprises",
        {
            "credit_code": SME_ID,
            "city_code": "440100",
            "county_code": "440101",
            "established_date": dt.date(2005, 1, 1),
        },
    ).lazy()
    out["households"] = rows(
        "households",
        {
            "household_id": HH_ID,
            "city_code": "440100",
            "county_code": "440101",
            "town_code": "440101001",
            "village_code": "440101001001",
            "members": 4,
            "labourers": 2,
            "registered_date": dt.date(2005, 1, 1),
        },
    ).lazy()
    for name, df in given_frames.items():
        out[name] = df.lazy()
    return out


def credit_row(
    t: dict[str, pl.LazyFrame], *, segment: str = "sme", r: CollectionRules | None = None
) -> dict[str, Any]:
    out = build_credit_file(t, segment=segment, rules=r or rules()).collect()
    assert out.height == 1, out
    return out.row(0, named=True)


def loan(
    entity: str = SME_ID, *, kind: str = "sme", loan_id: str = "L1", **kw: Any
) -> dict[str, Any]:
    return {
        "loan_id": loan_id,
        "entity_type": kind,
        "entity_id": entity,
        "origination_date": dt.date(2011, 1, 10),
        "maturity_date": dt.date(2015, 1, 10),
        "principal": 100_000.0,
    } | kw


def repayment(month: dt.date, dpd: int, *, loan_id: str = "L1", **kw: Any) -> dict[str, Any]:
    return {"loan_id": loan_id, "month": month, "days_past_due": dpd, "balance": 50_000.0} | kw


# ------------------------------------------------------------------------ outcome


@pytest.mark.parametrize(("dpd", "expected"), [(89, 0), (90, 1), (91, 1)])
def test_default_needs_default_dpd_days(dpd: int, expected: int) -> None:
    t = tables(
        loans=rows("loans", loan()),
        loan_repayments=rows("loan_repayments", repayment(dt.date(2013, 6, 1), dpd)),
    )
    row = credit_row(t)
    assert row["observable"] is True
    assert row["default"] == expected


@pytest.mark.parametrize(
    ("month", "counted"),
    [
        (dt.date(2012, 12, 1), False),  # the snapshot's own month is a feature, not outcome
        (dt.date(2013, 1, 1), True),  # first month of (S, S + 12 months]
        (dt.date(2013, 12, 1), True),  # last month: ends on S + 12 months
        (dt.date(2014, 1, 1), False),  # after the window
    ],
)
def test_outcome_window_edges(month: dt.date, counted: bool) -> None:
    reps = [repayment(month, 120)]
    if not counted:  # keep the entity observable with a clean month inside the window
        reps.append(repayment(dt.date(2013, 6, 1), 0))
    t = tables(loans=rows("loans", loan()), loan_repayments=rows("loan_repayments", *reps))
    row = credit_row(t)
    assert row["observable"] is True
    assert row["default"] == (1 if counted else 0)


def test_default_counts_any_loan_including_new_ones() -> None:
    t = tables(
        loans=rows(
            "loans", loan(loan_id="L1"), loan(loan_id="L2", origination_date=dt.date(2013, 3, 1))
        ),
        loan_repayments=rows(
            "loan_repayments",
            repayment(dt.date(2013, 5, 1), 0, loan_id="L1"),
            repayment(dt.date(2013, 9, 1), 95, loan_id="L2"),
        ),
    )
    row = credit_row(t)
    assert (row["default"], row["loans_count"]) == (1, 1)  # L2 is outcome, not a feature


def test_outcome_null_without_repayment_record_in_window() -> None:
    t = tables(
        loans=rows("loans", loan()),
        loan_repayments=rows("loan_repayments", repayment(dt.date(2012, 11, 1), 100)),
    )
    row = credit_row(t)
    assert (row["observable"], row["default"]) == (False, None)
    assert row["max_dpd_12m"] == 100


def test_outcome_null_when_window_passes_data_end() -> None:
    late = dt.date(2014, 6, 30)
    t = tables(
        loans=rows("loans", loan()),
        loan_repayments=rows("loan_repayments", repayment(dt.date(2014, 8, 1), 120)),
    )
    row = credit_row(t, r=rules(snapshots=(late,)))
    assert (row["observable"], row["default"]) == (False, None)


def test_outcome_ignores_corrected_records() -> None:
    t = tables(
        loans=rows("loans", loan()),
        loan_repayments=rows(
            "loan_repayments",
            repayment(dt.date(2013, 3, 1), 0),
            repayment(dt.date(2013, 4, 1), 120, record_id="BAD"),
        ),
        disputes=rows(
            "disputes",
            {
                "entity_type": "sme",
                "entity_id": SME_ID,
                "source_table": "loan_repayments",
                "source_record_id": "BAD",
                "opened_date": dt.date(2013, 5, 1),
                "resolved_date": dt.date(2013, 5, 15),
                "outcome": "corrected",
            },
        ),
    )
    assert credit_row(t)["default"] == 0


# ------------------------------------------------------------------------ retention

CUT = years_before(S, 5)  # 2007-12-31


@pytest.mark.parametrize(
    ("ended", "used"),
    [
        (CUT - dt.timedelta(days=1), False),  # 5 years + 1 day before the snapshot
        (CUT, True),  # exactly 5 years: not more than 5 years
        (CUT + dt.timedelta(days=1), True),  # 5 years - 1 day
    ],
)
def test_retention_court_case(ended: dt.date, used: bool) -> None:
    case = {
        "entity_type": "sme",
        "entity_id": SME_ID,
        "filed_date": dt.date(2006, 1, 1),
        "closed_date": ended,
    }
    t = tables(court_enforcement=rows("court_enforcement", case))
    assert credit_row(t)["enforcement_cases"] == int(used)


@pytest.mark.parametrize(
    ("ended", "used"), [(CUT - dt.timedelta(days=1), False), (CUT + dt.timedelta(days=1), True)]
)
def test_retention_uses_event_date_without_end(ended: dt.date, used: bool) -> None:
    t = tables(
        admin_penalties=rows(
            "admin_penalties",
            {"credit_code": SME_ID, "decision_date": ended, "severity": "serious"},
        ),
        public_records=rows(
            "public_records",
            {"household_id": HH_ID, "event_date": ended, "item_code": "DEBT_EVASION"},
            {
                "household_id": HH_ID,
                "event_date": dt.date(2006, 1, 1),
                "item_code": "LAWSUIT",
                "ended_date": ended,
            },
            # plus items are not negative records: kept whatever their age
            {"household_id": HH_ID, "event_date": dt.date(2001, 1, 1), "item_code": "MODEL_WORKER"},
        ),
    )
    assert credit_row(t)["penalties_serious"] == int(used)
    hh = credit_row(t, segment="household")
    assert hh["public_minus_items"] == 2 * int(used)
    assert hh["public_plus_items"] == 1


def test_retention_keeps_a_case_still_open() -> None:
    old = {"entity_type": "sme", "entity_id": SME_ID, "filed_date": dt.date(2003, 1, 1)}
    closed_later = old | {"closed_date": dt.date(2013, 6, 1)}  # open at the snapshot
    t = tables(court_enforcement=rows("court_enforcement", old, closed_later))
    row = credit_row(t)
    assert (row["enforcement_cases"], row["enforcement_open"]) == (2, 2)


def test_retention_applies_to_delinquent_months_only() -> None:
    t = tables(
        loans=rows(
            "loans", loan(kind="household", entity=HH_ID, origination_date=dt.date(2006, 1, 1))
        ),
        loan_repayments=rows(
            "loan_repayments",
            repayment(dt.date(2007, 11, 1), 60),  # ended 2007-11-30: older than 5 years
            repayment(dt.date(2008, 1, 1), 30),
        ),
    )
    assert credit_row(t, segment="household")["max_dpd_retained"] == 30
    t2 = tables(
        loans=rows(
            "loans", loan(kind="household", entity=HH_ID, origination_date=dt.date(2006, 1, 1))
        ),
        loan_repayments=rows("loan_repayments", repayment(dt.date(2007, 11, 1), 0)),
    )
    assert credit_row(t2, segment="household")["max_dpd_retained"] == 0


def test_retention_years_from_config() -> None:
    case = {
        "entity_type": "sme",
        "entity_id": SME_ID,
        "filed_date": dt.date(2009, 1, 1),
        "closed_date": dt.date(2009, 6, 1),
    }
    t = tables(court_enforcement=rows("court_enforcement", case))
    assert credit_row(t, r=rules(retention_years=4))["enforcement_cases"] == 1
    assert credit_row(t, r=rules(retention_years=3))["enforcement_cases"] == 0


# ------------------------------------------------------------------------ disputes

PENALTY = {
    "record_id": "AP1",
    "credit_code": SME_ID,
    "decision_date": dt.date(2012, 3, 1),
    "severity": "general",
}


def _dispute(**kw: Any) -> dict[str, Any]:
    return {
        "entity_type": "sme",
        "entity_id": SME_ID,
        "source_table": "admin_penalties",
        "source_record_id": "AP1",
        "opened_date": dt.date(2012, 6, 1),
    } | kw


@pytest.mark.parametrize(
    ("dispute", "exclude_open", "used", "open_flag", "unresolved_flag"),
    [
        (_dispute(), True, 0, 1, 0),  # open at the snapshot: left out, flagged
        (_dispute(), False, 1, 1, 0),  # open but config keeps it: used, flagged
        (_dispute(resolved_date=dt.date(2013, 1, 10), outcome="corrected"), True, 0, 1, 0),
        (_dispute(resolved_date=dt.date(2012, 7, 1), outcome="corrected"), True, 0, 0, 0),
        (_dispute(resolved_date=dt.date(2012, 7, 1), outcome="corrected"), False, 0, 0, 0),
        (_dispute(resolved_date=dt.date(2012, 7, 1), outcome="upheld"), True, 1, 0, 0),
        (_dispute(resolved_date=dt.date(2012, 7, 1), outcome="unresolved"), True, 1, 0, 1),
        (_dispute(opened_date=dt.date(2013, 2, 1)), True, 1, 0, 0),  # opened after S
    ],
)
def test_disputes(
    dispute: dict[str, Any], exclude_open: bool, used: int, open_flag: int, unresolved_flag: int
) -> None:
    t = tables(
        admin_penalties=rows("admin_penalties", PENALTY),
        disputes=rows("disputes", dispute),
    )
    row = credit_row(t, r=rules(exclude_open_disputes=exclude_open))
    assert row["penalties_general"] == used
    assert row["open_disputes"] == open_flag
    assert row["unresolved_disputes"] == unresolved_flag


def test_dispute_on_a_loan_covers_its_repayments() -> None:
    t = tables(
        loans=rows("loans", loan()),
        loan_repayments=rows("loan_repayments", repayment(dt.date(2012, 10, 1), 45)),
        disputes=rows("disputes", _dispute(source_table="loans", source_record_id="L1")),
    )
    row = credit_row(t)
    assert (row["loans_count"], row["max_dpd_12m"], row["open_disputes"]) == (0, None, 1)


def test_dispute_is_judged_per_snapshot() -> None:
    t = tables(
        admin_penalties=rows("admin_penalties", PENALTY),
        disputes=rows("disputes", _dispute(resolved_date=dt.date(2013, 2, 1), outcome="upheld")),
    )
    r = rules(snapshots=(S, dt.date(2013, 12, 31)))
    out = build_credit_file(t, segment="sme", rules=r).collect()
    assert out.get_column("penalties_general").to_list() == [0, 1]
    assert out.get_column("open_disputes").to_list() == [1, 0]


# ------------------------------------------------------------------------ features


def test_entities_exist_only_while_registered() -> None:
    t = tables()
    t["enterprises"] = rows(
        "enterprises",
        {"credit_code": "A", "county_code": "440101", "established_date": dt.date(2013, 1, 1)},
        {
            "credit_code": "B",
            "county_code": "440101",
            "established_date": dt.date(2010, 1, 1),
            "deregistered_date": S,
        },
        {
            "credit_code": "C",
            "county_code": "440606",
            "established_date": dt.date(2010, 1, 1),
            "deregistered_date": S + dt.timedelta(days=1),
        },
    ).lazy()
    out = build_credit_file(t, segment="sme", rules=rules()).collect()
    assert out.select("entity_id", "region_code").rows() == [("C", "440606")]


def test_tax_filing_features_use_what_was_known() -> None:
    def filing(period: dt.date, **kw: Any) -> dict[str, Any]:
        return {
            "credit_code": SME_ID,
            "period": period,
            "due_date": add_months(period, 1),
            "filed_date": add_months(period, 1),
            "tax_payable": 100.0,
            "tax_paid": 100.0,
        } | kw

    t = tables(
        tax_filings=rows(
            "tax_filings",
            filing(dt.date(2012, 1, 1)),
            filing(dt.date(2012, 2, 1), filed_date=dt.date(2012, 3, 20)),  # late
            filing(dt.date(2012, 3, 1), filed_date=None),  # never filed: late, nothing paid
            filing(dt.date(2012, 4, 1), tax_paid=40.0, zero_declaration=True),  # 60 in arrears
            # December return: deadline and filing after the snapshot -> neither late nor known
            filing(dt.date(2012, 12, 1), filed_date=dt.date(2013, 1, 20), tax_paid=999.0),
            filing(dt.date(2011, 12, 1)),  # before the window
        ),
    )
    row = credit_row(t)
    assert row["tax_filed_months_12m"] == 3
    assert row["tax_paid_12m"] == pytest.approx(240.0)
    assert row["late_filings_12m"] == 2
    assert row["zero_declarations_12m"] == 1
    assert row["tax_arrears_12m"] == pytest.approx(60.0)


def test_trend_is_relative_monthly_slope() -> None:
    months = [dt.date(2012, m, 1) for m in range(1, 13)]
    usage = [100.0 + 10.0 * i for i in range(12)]
    t = tables(
        utility_payments=rows(
            "utility_payments",
            *[
                {
                    "entity_type": "sme",
                    "entity_id": SME_ID,
                    "utility": "electricity",
                    "month": m,
                    "usage": u,
                }
                for m, u in zip(months, usage, strict=True)
            ],
            {
                "entity_type": "sme",
                "entity_id": SME_ID,
                "utility": "water",
                "month": months[0],
                "usage": 1e6,
                "days_late": 12,
            },
        )
    )
    row = credit_row(t)
    assert row["electricity_trend_12m"] == pytest.approx(10.0 / 155.0)
    assert (row["utility_late_bills_12m"], row["utility_max_days_late_12m"]) == (1, 12)


def test_loan_features_at_the_snapshot_month() -> None:
    t = tables(
        loans=rows("loans", loan(loan_id="L1"), loan(loan_id="L2", principal=50_000.0)),
        loan_repayments=rows(
            "loan_repayments",
            repayment(dt.date(2011, 3, 1), 100, loan_id="L1"),  # 22 months before: 24m only
            repayment(dt.date(2012, 12, 1), 0, loan_id="L1", balance=20_000.0),
            repayment(dt.date(2012, 12, 1), 10, loan_id="L2", balance=30_000.0),
            repayment(dt.date(2012, 11, 1), 0, loan_id="L2", balance=35_000.0),
        ),
    )
    row = credit_row(t)
    assert (row["loan_balance"], row["open_loans"]) == (50_000.0, 2)
    assert row["loan_utilisation"] == pytest.approx(50_000.0 / 150_000.0)
    assert (row["max_dpd_12m"], row["max_dpd_24m"], row["delinquent_months_24m"]) == (10, 100, 2)


def test_village_context_leaves_the_household_out() -> None:
    hh = [f"HH{i}" for i in range(4)]
    t = tables()
    t["households"] = rows(
        "households",
        *[
            {
                "household_id": h,
                "village_code": "V1",
                "county_code": "440101",
                "registered_date": dt.date(2005, 1, 1),
                "members": 3,
            }
            for h in hh
        ],
    ).lazy()
    t["loans"] = rows("loans", *[loan(h, kind="household", loan_id=f"L{h}") for h in hh[:3]]).lazy()
    t["loan_repayments"] = rows(
        "loan_repayments",
        repayment(dt.date(2012, 6, 1), 0, loan_id="LHH0"),
        repayment(dt.date(2012, 6, 1), 40, loan_id="LHH1"),
        repayment(dt.date(2012, 6, 1), 0, loan_id="LHH2"),
    ).lazy()
    out = build_credit_file(t, segment="household", rules=rules()).collect()
    got = dict(zip(out["entity_id"], out["village_arrears_share"], strict=True))
    assert got == pytest.approx({"HH0": 0.5, "HH1": 0.0, "HH2": 0.5, "HH3": 1 / 3})
    share = dict(zip(out["entity_id"], out["village_borrower_share"], strict=True))
    assert share == pytest.approx({"HH0": 2 / 3, "HH1": 2 / 3, "HH2": 2 / 3, "HH3": 1.0})
    assert out["village_households"].to_list() == [4] * 4


def test_tax_grade_published_by_the_snapshot() -> None:
    grades = pl.LazyFrame(
        {"credit_code": [SME_ID] * 3, "year": [2010, 2011, 2012], "grade": ["D", "B", "A"]}
    )
    t = tables()
    r = rules(snapshots=(dt.date(2012, 4, 29), S))
    out = build_credit_file(t, segment="sme", rules=r, tax_grades=grades).collect()
    assert out["tax_grade"].to_list() == ["D", "B"]
    assert credit_row(t)["tax_grade"] == "unrated"
    assert last_rated_year(dt.date(2012, 4, 30)) == 2011
    published = grades.with_columns(
        published_date=pl.Series([dt.date(2011, 4, 1), dt.date(2012, 4, 1), dt.date(2013, 1, 5)])
    )
    out = build_credit_file(t, segment="sme", rules=r, tax_grades=published).collect()
    assert out["tax_grade"].to_list() == ["B", "B"]


def test_region_code_matches_geo() -> None:
    counties = [c for city in CITIES for c in county_codes(city)]
    got = pl.select(region_code_expr(pl.Series(counties))).to_series().to_list()
    assert got == [region_of_county(c) for c in counties]


# ------------------------------------------------------------------------ no leakage

CUTOFF = dt.date(2012, 12, 31)


def _leak_base() -> dict[str, pl.DataFrame]:
    """Records on both sides of the cut-off in every table the credit files read."""
    t = tables(
        loans=rows(
            "loans",
            loan(loan_id="L1"),
            loan(HH_ID, kind="household", loan_id="L2", origination_date=dt.date(2013, 2, 1)),
        ),
        loan_repayments=rows(
            "loan_repayments",
            repayment(dt.date(2012, 10, 1), 30, loan_id="L1"),
            repayment(dt.date(2013, 2, 1), 95, loan_id="L1"),
            repayment(dt.date(2013, 3, 1), 0, loan_id="L2"),
        ),
        court_enforcement=rows(
            "court_enforcement",
            {"entity_type": "sme", "entity_id": SME_ID, "filed_date": dt.date(2012, 5, 1)},
            {"entity_type": "household", "entity_id": HH_ID, "filed_date": dt.date(2013, 5, 1)},
        ),
        admin_penalties=rows(
            "admin_penalties",
            PENALTY,
            PENALTY | {"record_id": "AP2", "decision_date": dt.date(2013, 3, 3)},
        ),
        disputes=rows("disputes", _dispute(opened_date=dt.date(2013, 1, 5))),
        public_records=rows(
            "public_records",
            {"household_id": HH_ID, "event_date": dt.date(2013, 1, 9), "item_code": "LAWSUIT"},
        ),
        tax_filings=rows(
            "tax_filings",
            {
                "credit_code": SME_ID,
                "period": dt.date(2012, 11, 1),
                "due_date": dt.date(2012, 12, 15),
                "filed_date": None,
            },
        ),
        utility_payments=rows(
            "utility_payments",
            {
                "entity_type": "household",
                "entity_id": HH_ID,
                "month": dt.date(2012, 12, 1),
                "days_late": 3,
            },
        ),
    )
    return {n: lf.collect() for n, lf in t.items()}


_BASE = _leak_base()
_POOL = {
    "entity": [SME_ID, HH_ID],
    "loan": ["L1", "L2"],
    "record": sorted(
        {r for df in _BASE.values() if "record_id" in df.columns for r in df["record_id"]}
    ),
}
_DATE_AFTER = st.dates(CUTOFF + dt.timedelta(days=1), dt.date(2016, 12, 31))
_ANY_DATE = st.one_of(st.none(), st.dates(dt.date(2000, 1, 1), dt.date(2016, 12, 31)))
# tables that link records to each other are drawn more often
_LEAK_TABLES = [
    *sorted(n for n in TABLES if TABLES[n].date_column is not None),
    "loans",
    "loans",
    "loan_repayments",
    "disputes",
    "disputes",
    "enterprises",
    "households",
]


def _value(table: str, column: str, draw: st.DrawFn) -> Any:
    spec = TABLES[table]
    col = spec.column(column)
    if column == spec.date_column:
        d = draw(_DATE_AFTER)
        return d.replace(day=1) if column in ("month", "period") else d
    if column in ("entity_id", "credit_code", "household_id"):
        return draw(st.sampled_from(_POOL["entity"]))
    if column == "loan_id":
        return draw(st.sampled_from(_POOL["loan"]))
    if table == "disputes" and column == "source_record_id":
        return draw(st.sampled_from(_POOL["loan"] + _POOL["record"]))
    if column == "record_id":
        return draw(st.sampled_from(_POOL["record"]))
    if column == "source_table":
        return draw(st.sampled_from(sorted(TABLES)))
    if col.codes:
        return draw(st.sampled_from(col.codes))
    if col.dtype == pl.Date:
        return draw(_ANY_DATE)
    if col.dtype == pl.Float64:
        return draw(st.floats(0, 1e6))
    if col.dtype == pl.Int64:
        return draw(st.integers(0, 400))
    if col.dtype == pl.Boolean:
        return draw(st.booleans())
    return draw(st.sampled_from(["440101", "440101001", "440101001001", "440606", "C", "x"]))


@st.composite
def _future_edit(draw: st.DrawFn) -> tuple[str, str, dict[str, Any], int]:
    """Add, replace or delete a record dated after the cut-off."""
    table = draw(st.sampled_from(_LEAK_TABLES))
    record = {c: _value(table, c, draw) for c in TABLES[table].schema}
    return (
        table,
        draw(st.sampled_from(["add", "replace", "delete"])),
        record,
        draw(st.integers(0, 5)),
    )


def _apply(frames: dict[str, pl.DataFrame], edit: tuple[str, str, dict[str, Any], int]) -> None:
    table, how, record, pick = edit
    df = frames[table]
    after = df.with_row_index("_i").filter(pl.col(TABLES[table].date_column or "") > CUTOFF)
    if how != "add" and after.height:
        drop = after["_i"][pick % after.height]
        df = df.with_row_index("_i").filter(pl.col("_i") != drop).drop("_i")
    if how != "delete":
        df = pl.concat([df, pl.DataFrame([record], schema=TABLES[table].schema)])
    frames[table] = df


def _features_at_cutoff(frames: dict[str, pl.DataFrame], segment: str) -> pl.DataFrame:
    keep = [f.name for f in features_for(segment, role=None) if f.role != "outcome"]
    out = build_credit_file(
        {n: df.lazy() for n, df in frames.items()},
        segment=segment,
        rules=rules(snapshots=(CUTOFF,)),
    )
    return out.select(keep).collect()


_BASELINE = {seg: _features_at_cutoff(_BASE, seg) for seg in SEGMENTS}


def test_no_leakage_records_after_the_snapshot_removed() -> None:
    truncated = {}
    for name, df in _BASE.items():
        date_col = TABLES[name].date_column
        truncated[name] = df if date_col is None else df.filter(pl.col(date_col) <= CUTOFF)
    assert sum(df.height for df in truncated.values()) < sum(df.height for df in _BASE.values())
    for seg in SEGMENTS:
        assert _features_at_cutoff(truncated, seg).equals(_BASELINE[seg]), seg


def _record(table: str, **kw: Any) -> dict[str, Any]:
    return rows(table, kw).row(0, named=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(_future_edit(), min_size=1, max_size=3))
# a loan id reused by a loan originated after the cut-off must not pull in earlier repayments
@example(
    edits=[("loans", "add", _record("loans", **loan(origination_date=dt.date(2013, 5, 1))), 0)]
)
@example(
    edits=[
        (
            "loans",
            "replace",
            _record(
                "loans",
                **loan(HH_ID, kind="household", loan_id="L1", origination_date=dt.date(2013, 5, 1)),
            ),
            0,
        )
    ]
)
def test_no_leakage_from_records_after_the_snapshot(
    edits: list[tuple[str, str, dict[str, Any], int]],
) -> None:
    frames = dict(_BASE)
    for edit in edits:
        _apply(frames, edit)
    for seg in SEGMENTS:
        assert _features_at_cutoff(frames, seg).equals(_BASELINE[seg]), (seg, edits)


def test_leak_base_reacts_to_records_before_the_snapshot() -> None:
    """The properties above can fail: the same edit dated on the cut-off changes rows."""
    frames = dict(_BASE)
    early = rows("admin_penalties", PENALTY | {"record_id": "AP9", "decision_date": CUTOFF})
    frames["admin_penalties"] = pl.concat([frames["admin_penalties"], early])
    assert not _features_at_cutoff(frames, "sme").equals(_BASELINE["sme"])


# ------------------------------------------------------------------------ schemas, errors


@pytest.mark.parametrize("segment", SEGMENTS)
def test_output_schema(segment: str, province_kit: Any) -> None:
    frames = {n: df.lazy() for n, df in province_kit.build().items()}
    r = rules(snapshots=(dt.date(2011, 12, 31), S, dt.date(2013, 12, 31)))
    out = build_credit_file(frames, segment=segment, rules=r).collect()
    assert out.schema == credit_file_schema(segment)
    assert out.height > 0
    assert out.select("entity_id", "snapshot_date").is_duplicated().sum() == 0
    assert out.equals(out.sort("snapshot_date", "entity_id"))
    assert not {"head_id_number", "head_name", "name"} & set(out.columns)
    ids = [f.name for f in features_for(segment, role="id")]
    assert out.select(ids).null_count().sum_horizontal().item() == 0


def test_missing_column_is_a_schema_error() -> None:
    t = tables()
    t["loans"] = t["loans"].drop("principal")
    with pytest.raises(SchemaError, match=r"'loans.principal' must be a column"):
        build_credit_file(t, segment="sme", rules=rules())


def test_missing_table_is_a_schema_error() -> None:
    t = tables()
    del t["disputes"]
    with pytest.raises(SchemaError, match="'tables' must include table 'disputes'"):
        build_credit_file(t, segment="household", rules=rules())
    assert "disputes" in required_tables("household")


def test_rules_are_checked() -> None:
    with pytest.raises(ConfigError, match="'snapshots' must be distinct dates"):
        rules(snapshots=(S, S))
    with pytest.raises(ConfigError, match="'snapshot' must be between"):
        CollectionRules.from_config(load_config(), snapshots=[dt.date(2020, 1, 1)])


def test_add_months_keeps_month_ends() -> None:
    assert add_months(dt.date(2012, 2, 29), 12) == dt.date(2013, 2, 28)
    assert add_months(dt.date(2013, 2, 28), 12) == dt.date(2014, 2, 28)
    assert add_months(dt.date(2012, 11, 30), 1) == dt.date(2012, 12, 31)


# ------------------------------------------------------------------------ files and CLI


def _validated_config(tmp_path: Path, project_config: Path, province_kit: Any) -> Path:
    from scoring.validate import validate_records, write_validated

    cfg = load_config(project_config)
    raw = province_kit.write(province_kit.build(), cfg.paths.raw)
    report = validate_records(raw, config=cfg)
    write_validated(report, validated_dir=cfg.paths.validated, quarantine_dir=cfg.paths.quarantine)
    return project_config


def test_collect_credit_files_writes_files(
    tmp_path: Path, project_config: Path, province_kit: Any
) -> None:
    cfg = load_config(_validated_config(tmp_path, project_config, province_kit))
    summary = collect_credit_files(cfg)
    assert summary.sme_path == cfg.paths.curated / "sme_credit_files.parquet"
    sme = pl.read_parquet(summary.sme_path)
    hh = pl.read_parquet(summary.household_path)
    assert sme.schema == credit_file_schema("sme")
    assert hh.schema == credit_file_schema("household")
    assert (summary.sme_rows, summary.household_rows) == (sme.height, hh.height)
    assert sorted(set(sme["snapshot_date"])) == list(cfg.province.snapshots)
    assert summary.source_records == sum(
        pl.read_parquet(cfg.paths.validated / f"{n}.parquet").height
        for n in {n for s in SEGMENTS for n in required_tables(s)}
    )
    assert "# Feature dictionary" in summary.dictionary_path.read_text(encoding="utf-8")
    assert not summary.tax_grades_used
    leftovers = [p.name for p in cfg.paths.curated.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_cli_collect(tmp_path: Path, project_config: Path, province_kit: Any) -> None:
    runner = CliRunner()
    refused = runner.invoke(cli, ["--config", str(project_config), "collect"])
    assert refused.exit_code == 2
    assert "scoring validate" in refused.output
    _validated_config(tmp_path, project_config, province_kit)
    ok = runner.invoke(
        cli, ["--config", str(project_config), "collect", "--snapshot", "2012-12-31"]
    )
    assert ok.exit_code == 0, ok.output
    assert "sme_credit_files.parquet" in ok.output
    cfg = load_config(project_config)
    snaps = pl.read_parquet(cfg.paths.curated / "sme_credit_files.parquet")["snapshot_date"]
    assert snaps.unique().to_list() == [S]
    bad = runner.invoke(
        cli, ["--config", str(project_config), "collect", "--snapshot", "2020-01-01"]
    )
    assert bad.exit_code == 2
    assert "'snapshot' must be between" in bad.output


def test_collect_uses_tax_ratings_when_present(
    tmp_path: Path, project_config: Path, province_kit: Any
) -> None:
    cfg = load_config(_validated_config(tmp_path, project_config, province_kit))
    code = province_kit.uscc(1)
    ratings = cfg.paths.ratings / "tax_ratings.parquet"
    ratings.parent.mkdir(parents=True)
    pl.DataFrame({"credit_code": [code], "year": [2011], "grade": ["A"]}).write_parquet(ratings)
    summary = collect_credit_files(cfg, snapshots=[S])
    sme = pl.read_parquet(summary.sme_path)
    assert summary.tax_grades_used
    assert dict(zip(sme["entity_id"], sme["tax_grade"], strict=True))[code] == "A"
    assert set(sme["tax_grade"]) == {"A", "unrated"}
    pl.DataFrame({"credit_code": [code], "rating": ["A"]}).write_parquet(ratings)
    with pytest.raises(SchemaError, match="must have columns credit_code, year and grade"):
        collect_credit_files(cfg)


def test_collect_refuses_unvalidated_input(project_config: Path) -> None:
    with pytest.raises(InputFileError, match="must hold validated records"):
        collect_credit_files(load_config(project_config))


# ------------------------------------------------------------------------ synthetic province


@pytest.fixture(scope="module")
def synth_files(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A small synthetic province (no faults), validated and collected."""
    import shutil

    from scoring.synth import generate_province
    from scoring.validate import validate_records, write_validated

    root = tmp_path_factory.mktemp("synth")
    (root / "configs").mkdir()
    shutil.copy(
        Path(__file__).resolve().parent.parent / "configs" / "workbench.toml", root / "configs"
    )
    cfg = load_config(root / "configs" / "workbench.toml")
    generate_province(
        cfg, out=cfg.paths.raw, truth=cfg.paths.truth, scale=0.1, seed=3, faults=False
    )
    report = validate_records(cfg.paths.raw, config=cfg)
    write_validated(report, validated_dir=cfg.paths.validated, quarantine_dir=cfg.paths.quarantine)
    summary = collect_credit_files(cfg)
    return cfg, summary


def test_synth_outcome_matches_the_ground_truth(synth_files: Any) -> None:
    cfg, summary = synth_files
    truth = pl.read_parquet(cfg.paths.truth / "true_pd.parquet")
    # the generator's truth ignores disputes; collection drops repayment records (and
    # loans) whose dispute was resolved as corrected, so those entities may differ
    disputes = pl.read_parquet(cfg.paths.validated / "disputes.parquet")
    corrected = disputes.filter(
        pl.col("source_table").is_in(["loans", "loan_repayments"])
        & (pl.col("outcome") == "corrected")
    ).get_column("entity_id")
    compared = 0
    for seg, path in (("sme", summary.sme_path), ("household", summary.household_path)):
        files = pl.read_parquet(path).select(
            "entity_id", "snapshot_date", "region_code", "observable", "default"
        )
        assert files.equals(files.sort("snapshot_date", "entity_id")), seg
        t = truth.filter(pl.col("entity_type") == seg).select(files.columns)
        both = files.join(t, on=["entity_id", "snapshot_date"], how="left", suffix="_truth")
        assert both["observable_truth"].null_count() == 0, seg  # every credit file is in truth
        assert (both["region_code"] == both["region_code_truth"]).all(), seg
        same = both.filter(~pl.col("entity_id").is_in(corrected.implode()))
        assert same.height > 0.95 * both.height, seg
        for col in ("observable", "default"):
            assert same[col].eq_missing(same[f"{col}_truth"]).all(), (seg, col)
        compared += same.filter(pl.col("observable")).height
        if seg == "sme":  # SMEs exist exactly while registered, in both
            assert files.height == t.height
    assert compared > 1000
    # households registered after a snapshot have no credit file at it (their record is
    # dated by registered_date), while the truth lists every household at every snapshot
    assert summary.household_rows <= truth.filter(pl.col("entity_type") == "household").height


# features the synthetic province drives from its latent creditworthiness (AUC at least
# 0.05 away from 0.5 in the expected direction for several seeds)
EXPECTED_SIGNAL = {
    "sme": (
        "employees",
        "si_arrears_months_12m",
        "si_unpaid_share_12m",
        "tax_paid_12m",
        "late_filings_12m",
        "zero_declarations_12m",
        "tax_violations_24m",
        "max_dpd_24m",
        "utility_late_bills_12m",
        "utility_max_days_late_12m",
        "electricity_trend_12m",
    ),
    "household": (
        "labourers",
        "income_estimate",
        "cooperative_member",
        "agri_insured",
        "insured_amount_12m",
        "max_dpd_retained",
        "utility_late_bills_12m",
        "public_plus_items",
        "public_minus_items",
    ),
}


@pytest.mark.parametrize("segment", SEGMENTS)
def test_synth_features_point_the_expected_way(synth_files: Any, segment: str) -> None:
    from scoring.metrics import auc

    _, summary = synth_files
    path = summary.sme_path if segment == "sme" else summary.household_path
    files = pl.read_parquet(path).filter(pl.col("observable"))
    assert files["default"].sum() >= 30
    direction = {f.name: f.monotone for f in features_for(segment)}
    for name in EXPECTED_SIGNAL[segment]:
        d = files.select(name, "default").drop_nulls()
        a = auc(d["default"].to_numpy(), d[name].to_numpy())
        sign = direction[name]
        assert sign is not None
        assert (a - 0.5) * sign > 0.02, (name, a, sign)


def test_synth_no_leakage_records_after_the_snapshot_removed(synth_files: Any) -> None:
    cfg, _ = synth_files
    full = {n: pl.read_parquet(cfg.paths.validated / f"{n}.parquet") for n in TABLES}
    cut = {}
    for name, df in full.items():
        date_col = TABLES[name].date_column
        cut[name] = df if date_col is None else df.filter(pl.col(date_col) <= CUTOFF)
    assert sum(df.height for df in cut.values()) < 0.9 * sum(df.height for df in full.values())
    for seg in SEGMENTS:
        assert _features_at_cutoff(cut, seg).equals(_features_at_cutoff(full, seg)), seg


def test_collection_sees_objections_of_the_dispute_store(
    tmp_path: Path, project_config: Path, province_kit: Any
) -> None:
    from scoring.disputes import DisputeStore

    cfg = load_config(_validated_config(tmp_path, project_config, province_kit))
    penalty = pl.read_parquet(cfg.paths.validated / "admin_penalties.parquet").row(0, named=True)
    snapshot = max(s for s in cfg.province.snapshots if s >= penalty["decision_date"])

    def flags() -> dict[str, Any]:
        files = pl.read_parquet(collect_credit_files(cfg).sme_path)
        row = files.filter(
            (pl.col("entity_id") == penalty["credit_code"]) & (pl.col("snapshot_date") == snapshot)
        )
        return row.select(
            "open_disputes", (pl.col("penalties_general") + pl.col("penalties_serious")).alias("n")
        ).row(0, named=True)

    before = flags()
    store = DisputeStore.from_config(cfg)
    dispute = store.open(
        entity_type="sme",
        entity_id=penalty["credit_code"],
        source_table="admin_penalties",
        source_record_id=penalty["record_id"],
        reason="penalty already revoked",
        actor="STAFF01",
        opened_on=penalty["decision_date"],
    )
    under_dispute = flags()
    assert under_dispute["open_disputes"] == before["open_disputes"] + 1
    assert under_dispute["n"] == before["n"] - 1  # the disputed penalty is left out
    # settled as upheld before the snapshot: the penalty counts again, nothing is open
    store.resolve(
        dispute.dispute_id, outcome="upheld", actor="STAFF01", resolved_on=penalty["decision_date"]
    )
    assert flags() == before
