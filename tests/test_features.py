"""Feature definitions and the feature dictionary generated from them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from scoring.collect import CollectionRules, build_credit_file, credit_file_schema, entity_frame
from scoring.features import (
    AGGREGATES,
    CONTEXT_TOTALS,
    FEATURES,
    INCOME_NORMS,
    SEGMENTS,
    SOURCES,
    Day,
    feature_dictionary,
    feature_dictionary_markdown,
    feature_names,
    features_for,
    month_index,
    sources_for,
)
from scoring.schema import INCOME_SOURCES, TABLES

RULES = CollectionRules(
    snapshots=(dt.date(2012, 12, 31),),
    outcome_months=12,
    default_dpd=90,
    data_end=dt.date(2014, 12, 31),
    retention_years=5,
    exclude_open_disputes=True,
)


@pytest.mark.parametrize("segment", SEGMENTS)
def test_dictionary_covers_every_credit_file_column(segment: str, province_kit: Any) -> None:
    frames = {n: df.lazy() for n, df in province_kit.build().items()}
    out = build_credit_file(frames, segment=segment, rules=RULES).collect()
    d = feature_dictionary().filter(pl.col("segment") == segment)
    assert d.get_column("name").to_list() == out.columns
    assert dict(zip(d["name"], d["dtype"], strict=True)) == {
        k: str(v) for k, v in out.schema.items()
    }
    assert list(credit_file_schema(segment)) == out.columns
    md = feature_dictionary_markdown()
    for name in out.columns:
        assert f"| `{name}` |" in md


def test_names_are_unique_per_segment() -> None:
    for seg in SEGMENTS:
        names = [f.name for f in features_for(seg, role=None)]
        assert len(names) == len(set(names)), seg
    all_aggs = [a.name for s in SOURCES.values() for a in s.aggregates]
    assert len(all_aggs) == len(set(all_aggs)) == len(AGGREGATES)


def test_every_entry_is_documented() -> None:
    d = feature_dictionary()
    assert d.filter((pl.col("zh") == "") | (pl.col("en") == "")).height == 0
    numeric = d.filter((pl.col("role") == "feature") & (pl.col("kind") == "numeric"))
    assert numeric.filter(pl.col("unit") == "").get_column("name").to_list() == []
    cats = d.filter(pl.col("kind") == "categorical")
    assert cats.get_column("monotone").null_count() == cats.height
    assert set(d.get_column("monotone").drop_nulls().to_list()) <= {-1, 1}
    known_sources = set(TABLES) | {"tax_ratings"}
    for f in FEATURES:
        assert set(f.sources) <= known_sources, f.name


def test_the_issue_features_are_present() -> None:
    sme = set(feature_names("sme"))
    hh = set(feature_names("household"))
    assert {
        "firm_age_years",
        "size_class",
        "industry",
        "registered_capital",
        "employees",
        "si_arrears_months_12m",
        "tax_paid_12m",
        "tax_paid_trend_12m",
        "late_filings_12m",
        "zero_declarations_12m",
        "tax_arrears_12m",
        "tax_grade",
        "loan_balance",
        "loan_utilisation",
        "max_dpd_12m",
        "max_dpd_24m",
        "delinquent_months_24m",
        "enforcement_cases",
        "penalties_general",
        "penalties_serious",
        "utility_late_bills_12m",
        "electricity_trend_12m",
    } <= sme
    assert {
        "members",
        "labourers",
        "land_area",
        "main_income_source",
        "income_estimate",
        "agri_insured",
        "subsidies_12m",
        "cooperative_member",
        "loans_count",
        "max_dpd_retained",
        "public_plus_items",
        "public_minus_items",
        "village_arrears_share",
    } <= hh
    # the region is an id (pilot evaluation), never a model feature; no personal data
    for seg in SEGMENTS:
        names = set(feature_names(seg))
        assert not {"region_code", "city_code", "county_code", "entity_id"} & names
        assert not {"head_id_number", "head_name"} & {f.name for f in features_for(seg, role=None)}


def _entity_columns(segment: str) -> set[str]:
    empty = {n: pl.LazyFrame(schema=t.schema) for n, t in TABLES.items()}
    return set(entity_frame(empty, segment=segment).collect_schema()) | {"snapshot_date"}


def test_feature_expressions_use_only_known_columns() -> None:
    specials = {"tax_grade", "open_disputes", "unresolved_disputes", "default", "observable"}
    used: set[str] = set()
    for segment in SEGMENTS:
        aggregates = {a.name for s in sources_for(segment) for a in s.aggregates}
        stage1 = {f.name for f in features_for(segment, role=None) if f.stage == 1}
        allowed = aggregates | specials | _entity_columns(segment)
        for f in features_for(segment, role=None):
            roots = set(f.expr.meta.root_names())
            ok = allowed | (stage1 | set(CONTEXT_TOTALS) if f.stage == 2 else set())
            assert roots <= ok, (f.name, roots - ok)
            used |= roots
    assert set(AGGREGATES) <= used, set(AGGREGATES) - used  # no aggregate computed for nothing


def test_source_expressions_use_columns_of_their_table() -> None:
    parents = {"loan_repayments": {"origination_date", "principal"}}
    for s in SOURCES.values():
        cols = set(TABLES[s.table].schema) | parents.get(s.table, set())
        exprs = [s.negative]
        days = [s.observed, s.ended]
        for a in s.aggregates:
            exprs.append(a.value_at(dt.date(2012, 12, 31)))
            days += [a.known, a.at]
        for e in exprs:
            if e is not None:
                assert set(e.meta.root_names()) <= cols, (s.table, e)
        for d in days:
            if d is not None:
                assert set(d.columns) <= cols, (s.table, d)
        assert (s.negative is None) == (s.ended is None), s.table


@pytest.mark.parametrize(("month_end", "plus_days"), [(True, 0), (False, 0), (False, 1)])
def test_day_comparisons_match_the_dates_themselves(month_end: bool, plus_days: int) -> None:
    days = pl.date_range(dt.date(2011, 11, 1), dt.date(2013, 3, 31), "1d", eager=True)
    firsts = days.filter(days.dt.day() == 1) if month_end else days
    frame = pl.DataFrame({"d": pl.concat([firsts, pl.Series([None], dtype=pl.Date)])})
    day = Day(("d",), month_end=month_end, plus_days=plus_days)
    for s in [
        dt.date(2012, 12, 31),
        dt.date(2012, 12, 30),
        dt.date(2012, 2, 29),
        dt.date(2013, 1, 1),
    ]:
        got = frame.select(
            le=day.on_or_before(s), gt=day.after(s), lt=day.before(s), value=day.expr()
        )
        want = got.select(le=pl.col("value") <= s, gt=pl.col("value") > s, lt=pl.col("value") < s)
        assert got.select("le", "gt", "lt").equals(want), s


def test_negative_features_come_from_sources_with_retention() -> None:
    negative_tables = {s.table for s in SOURCES.values() if s.negative is not None}
    for f in FEATURES:
        if f.negative and f.role == "feature":
            assert set(f.sources) & negative_tables, f.name


def test_income_norms_cover_every_income_source() -> None:
    assert set(INCOME_NORMS) == set(INCOME_SOURCES)


def test_month_index_is_exact_on_first_days() -> None:
    firsts = pl.date_range(dt.date(1950, 1, 1), dt.date(2100, 12, 1), "1mo", eager=True)
    want = (firsts.dt.year().cast(pl.Int32) - 2010) * 12 + firsts.dt.month().cast(pl.Int32) - 1
    got = pl.select(month_index(pl.lit(firsts))).to_series()
    assert got.cast(pl.Int32).equals(want, check_names=False)


def test_dictionary_frame_shape() -> None:
    d = feature_dictionary()
    assert d.columns == [
        "segment",
        "name",
        "role",
        "kind",
        "dtype",
        "unit",
        "zh",
        "en",
        "sources",
        "monotone",
        "negative",
        "categories",
    ]
    assert d.group_by("segment").len().sort("segment")["len"].to_list() == [
        len(features_for("household", role=None)),
        len(features_for("sme", role=None)),
    ]
