"""Red and black lists: reasons, source records, listed and expiry dates, exclusions."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest

from scoring.config import ListReason, load_config
from scoring.exceptions import DataError
from scoring.ratings import LIST_SCHEMA, CreditLists, build_lists
from scoring.schema import TABLES

RULES = load_config().lists


def tax(rows: list[tuple[str, int, str]]) -> pl.DataFrame:
    """Tax ratings (credit code, year, grade), published on 1 April of the next year."""
    return pl.DataFrame(
        {
            "credit_code": [r[0] for r in rows],
            "year": [r[1] for r in rows],
            "grade": [r[2] for r in rows],
            "published_date": [dt.date(r[1] + 1, 4, 1) for r in rows],
        },
        schema={
            "credit_code": pl.String,
            "year": pl.Int32,
            "grade": pl.String,
            "published_date": pl.Date,
        },
    )


def court(rows: list[dict[str, object]]) -> pl.DataFrame:
    schema = TABLES["court_enforcement"].schema
    base = {"case_number": "(2012)粤0101执1号", "amount": 1e5, "entity_type": "sme"}
    return pl.DataFrame([{c: {**base, **r}.get(c) for c in schema} for r in rows], schema=schema)


def penalties(rows: list[tuple[str, str, dt.date, str]]) -> pl.DataFrame:
    schema = TABLES["admin_penalties"].schema
    data = [
        {
            "record_id": r,
            "credit_code": c,
            "decision_date": d,
            "severity": s,
            "authority": "market",
            "amount": 1e4,
        }
        for r, c, d, s in rows
    ]
    return pl.DataFrame(data, schema=schema)


def entries(lists: CreditLists, which: str = "black") -> list[tuple[object, ...]]:
    frame = lists.black if which == "black" else lists.red
    return frame.select(
        "entity_id", "reason_code", "source_record_id", "listed_date", "expiry_date"
    ).rows()


# --------------------------------------------------------------------------- tax based


def test_three_consecutive_a_years_put_a_taxpayer_on_the_red_list() -> None:
    t = tax(
        [("RUN", y, "A") for y in (2010, 2011, 2012)]
        + [("GAP", 2010, "A"), ("GAP", 2011, "B"), ("GAP", 2012, "A")]
        + [("TWO", 2011, "A"), ("TWO", 2012, "A")]
    )
    lists = build_lists(as_of=dt.date(2013, 12, 31), rules=RULES, tax_ratings=t)
    assert entries(lists, "red") == [
        ("RUN", "TAX_A_CONSECUTIVE", "RUN:2012", dt.date(2013, 4, 1), dt.date(2014, 4, 1))
    ]
    red = lists.red.row(0, named=True)
    assert (red["list"], red["entity_type"], red["source_table"]) == ("red", "sme", "tax_ratings")
    assert (red["reason_zh"], red["reason_en"]) == (
        "连续三年纳税信用A级",
        "Tax credit grade A three years running",
    )
    # the 2012 grades are not published on 2012-12-31; 2013-04-01 the entry starts
    assert build_lists(as_of=dt.date(2012, 12, 31), rules=RULES, tax_ratings=t).red.height == 0
    assert build_lists(as_of=dt.date(2013, 3, 31), rules=RULES, tax_ratings=t).red.height == 0
    assert build_lists(as_of=dt.date(2013, 4, 1), rules=RULES, tax_ratings=t).red.height == 1
    assert build_lists(as_of=dt.date(2014, 4, 1), rules=RULES, tax_ratings=t).red.height == 0
    two = dataclasses.replace(RULES, tax_a_years=2)
    got = build_lists(as_of=dt.date(2013, 12, 31), rules=two, tax_ratings=t).red
    assert sorted(got["entity_id"]) == ["RUN", "TWO"]


def test_d_taxpayers_are_black_listed_for_a_year_from_publication() -> None:
    t = tax([("D1", 2012, "D"), ("C1", 2012, "C")])
    lists = build_lists(as_of=dt.date(2013, 12, 31), rules=RULES, tax_ratings=t)
    assert entries(lists) == [("D1", "TAX_D", "D1:2012", dt.date(2013, 4, 1), dt.date(2014, 4, 1))]
    assert build_lists(as_of=dt.date(2014, 12, 31), rules=RULES, tax_ratings=t).black.height == 0


# --------------------------------------------------------------------------- records based


def test_dishonest_debtors_until_expiry_or_the_case_is_closed() -> None:
    march = dt.date(2012, 3, 1)
    ce = court(
        [
            {"record_id": "OPEN", "entity_id": "C1", "filed_date": march},
            {
                "record_id": "CLOSED",
                "entity_id": "C2",
                "filed_date": march,
                "closed_date": dt.date(2012, 10, 1),
            },
            {
                "record_id": "CLOSES_LATER",
                "entity_id": "C3",
                "filed_date": march,
                "closed_date": dt.date(2013, 6, 1),
            },
            {"record_id": "FUTURE", "entity_id": "C4", "filed_date": dt.date(2013, 1, 1)},
            {"record_id": "HONEST", "entity_id": "C5", "filed_date": march, "dishonest": False},
            {
                "record_id": "HH",
                "entity_type": "household",
                "entity_id": "H9",
                "filed_date": dt.date(2011, 1, 1),
            },
        ]
    ).with_columns(pl.col("dishonest").fill_null(True))
    lists = build_lists(as_of=dt.date(2012, 12, 31), rules=RULES, court_enforcement=ce)
    assert entries(lists) == [
        ("H9", "DISHONEST_DEBTOR", "HH", dt.date(2011, 1, 1), dt.date(2013, 1, 1)),
        ("C1", "DISHONEST_DEBTOR", "OPEN", dt.date(2012, 3, 1), dt.date(2014, 3, 1)),
        ("C3", "DISHONEST_DEBTOR", "CLOSES_LATER", dt.date(2012, 3, 1), dt.date(2014, 3, 1)),
    ]
    types = dict(zip(lists.black["entity_id"], lists.black["entity_type"], strict=True))
    assert types == {"C1": "sme", "C3": "sme", "H9": "household"}
    later = build_lists(as_of=dt.date(2013, 12, 31), rules=RULES, court_enforcement=ce)
    assert sorted(later.black["source_record_id"]) == ["FUTURE", "OPEN"]


def test_serious_penalties_are_listed_for_their_publicity_period() -> None:
    pen = penalties(
        [
            ("P1", "C1", dt.date(2012, 6, 30), "serious"),
            ("P2", "C2", dt.date(2012, 6, 30), "general"),
        ]
    )
    lists = build_lists(as_of=dt.date(2012, 12, 31), rules=RULES, admin_penalties=pen)
    assert entries(lists) == [
        ("C1", "SERIOUS_PENALTY", "P1", dt.date(2012, 6, 30), dt.date(2015, 6, 30))
    ]
    last_day = build_lists(as_of=dt.date(2015, 6, 29), rules=RULES, admin_penalties=pen)
    assert last_day.black.height == 1
    assert (
        build_lists(as_of=dt.date(2015, 6, 30), rules=RULES, admin_penalties=pen).black.height == 0
    )
    assert (
        build_lists(as_of=dt.date(2012, 6, 29), rules=RULES, admin_penalties=pen).black.height == 0
    )
    short = dataclasses.replace(
        RULES,
        reasons=tuple(
            dataclasses.replace(r, months=6) if r.code == "SERIOUS_PENALTY" else r
            for r in RULES.reasons
        ),
    )
    got = build_lists(as_of=dt.date(2012, 12, 29), rules=short, admin_penalties=pen)
    assert got.black["expiry_date"].to_list() == [dt.date(2012, 12, 30)]


# --------------------------------------------------------------------------- households


def test_aaa_households_on_the_red_list_by_household_id_only() -> None:
    hh = pl.DataFrame(
        {
            "household_id": ["H1", "H2", "H3"],
            "year": [2012, 2012, 2011],
            "grade": ["AAA", "AA", "AAA"],
            "village_code": ["440101001001"] * 3,
        }
    )
    lists = build_lists(as_of=dt.date(2012, 12, 31), rules=RULES, household_ratings=hh)
    assert entries(lists, "red") == [
        ("H1", "CREDIT_HOUSEHOLD_AAA", "H1:2012", dt.date(2012, 12, 31), dt.date(2013, 12, 31))
    ]
    assert set(lists.red.columns) == set(LIST_SCHEMA)  # no name, no id number, no village


# --------------------------------------------------------------------------- rules


def test_black_listed_entities_are_left_off_the_red_list() -> None:
    t = tax([("C1", y, "A") for y in (2010, 2011, 2012)])
    pen = penalties([("P1", "C1", dt.date(2013, 2, 1), "serious")])
    lists = build_lists(
        as_of=dt.date(2013, 12, 31), rules=RULES, tax_ratings=t, admin_penalties=pen
    )
    assert (lists.red.height, lists.black.height) == (0, 1)
    keep = dataclasses.replace(RULES, red_excludes_black=False)
    both = build_lists(as_of=dt.date(2013, 12, 31), rules=keep, tax_ratings=t, admin_penalties=pen)
    assert (both.red.height, both.black.height) == (1, 1)


def test_a_reason_left_out_of_the_configuration_is_not_listed() -> None:
    pen = penalties([("P1", "C1", dt.date(2012, 2, 1), "serious")])
    rules = dataclasses.replace(
        RULES, reasons=tuple(r for r in RULES.reasons if r.code != "SERIOUS_PENALTY")
    )
    assert (
        build_lists(as_of=dt.date(2012, 12, 31), rules=rules, admin_penalties=pen).black.height == 0
    )
    bad = dataclasses.replace(
        RULES, reasons=(*RULES.reasons, ListReason("NOPE", "black", "x", "x", 1))
    )
    with pytest.raises(DataError, match="'lists.reasons' codes must be among .*NOPE"):
        build_lists(as_of=dt.date(2012, 12, 31), rules=bad)


def test_schema_summary_and_empty_lists() -> None:
    empty = build_lists(as_of=dt.date(2012, 12, 31), rules=RULES)
    assert dict(empty.red.schema) == LIST_SCHEMA
    assert dict(empty.black.schema) == LIST_SCHEMA
    pen = penalties([("P1", "C1", dt.date(2012, 2, 1), "serious")])
    lists = build_lists(
        as_of=dt.date(2012, 12, 31), rules=RULES, admin_penalties=pen, tax_ratings=tax([])
    )
    assert dict(lists.black.schema) == LIST_SCHEMA
    assert lists.summary().rows() == [(dt.date(2012, 12, 31), "black", "SERIOUS_PENALTY", "sme", 1)]
    with pytest.raises(DataError, match="'tax_ratings' must have columns"):
        build_lists(as_of=dt.date(2012, 12, 31), rules=RULES, tax_ratings=pl.DataFrame({"x": [1]}))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('list = "red"', 'list = "grey"', r"'lists.reasons\[0\].list' .* red, black"),
        ("months = 36", "months = 0", r"'lists.reasons\[4\].months' .* >= 1"),
        ("tax_a_years = 3", "tax_a_years = 0", r"'lists.tax_a_years'"),
    ],
)
def test_bad_lists_configuration_names_the_key(
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
