"""Rural credit ratings (农户信用评定): households, then credit villages, towns and counties.

``domain/RULES.md`` section 3, every number from ``[rural]`` in the configuration.

**Households.** A household with a credit file (``registered_date`` on or before the
year end) is rated as of the year end from records dated on or before it. Each
indicator of ``[[rural.indicators]]`` turns one household feature
(:data:`HOUSEHOLD_FEATURES`) into points; each public record of
``[[rural.records]]`` adds or deducts points while it is recent (until
``record_years`` after the behaviour ended, or after the event where no end is
recorded). The score is the sum of the point lines clipped to ``[0, max_points]``:
AAA >= ``grade_aaa_min``, AA >= ``grade_aa_min``, A >= ``grade_a_min``, otherwise
not a credit household (信用户; grade null).

**Villages, towns, counties**, each year:

* credit household share = credit households / all households the table lists for
  the village (with a credit file or not);
* borrowers = households with a loan reported in the year; clean borrowers = those
  never ``arrears_dpd`` or more days past due in the year;
* NPL ratio = balance of loans ``npl_dpd`` or more days past due / all balance, each
  loan at its last report of the year; the increase is on the previous year's ratio.

A share or ratio with nothing to measure (no borrowers, no balance, no balance a
year earlier) cannot fail its criterion: its value is null and it passes. Values
are compared at 1e-10 precision, so 0.06 - 0.05 counts as the 0.01 it stands for.
A credit village meets every village criterion; a credit town every town criterion
(its villages, borrowers and balances together); a credit county the county one.

Examples
--------
>>> import datetime as dt
>>> from scoring.config import load_config
>>> hh = _example_households(["H1"], village="440101001001")
>>> r = rate_rural(hh, year=2012, rules=load_config().rural)
>>> r.households.select("household_id", "score", "grade").row(0)
('H1', 50.0, None)
>>> r.villages.select("credit_households", "credit_village").row(0)
(0, False)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from scoring.config import RuralConfig, RuralIndicator
from scoring.exceptions import ConfigError
from scoring.progress import track
from scoring.ratings._common import FrameLike, check_year, empty_frame, raw_table, year_end
from scoring.schema import TABLES

__all__ = [
    "AREA_CRITERIA_SCHEMA",
    "COUNTY_RATINGS_SCHEMA",
    "HOUSEHOLD_FEATURES",
    "HOUSEHOLD_POINTS_SCHEMA",
    "HOUSEHOLD_RATINGS_SCHEMA",
    "TOWN_RATINGS_SCHEMA",
    "VILLAGE_RATINGS_SCHEMA",
    "RuralRatings",
    "household_rating_features",
    "rate_rural",
    "rate_rural_years",
]

HOUSEHOLD_FEATURES: dict[str, tuple[str, str, str]] = {
    "members": ("家庭人口", "household members", "persons"),
    "labourers": ("劳动力人数", "labourers", "persons"),
    "land_area": ("承包地面积", "contracted land area", "mu"),
    "main_income_source": ("主要收入来源", "main income source (code)", ""),
    "cooperative_member": ("合作社社员", "member of a cooperative (1 yes, 0 no)", ""),
    "years_on_file": ("建档年限", "completed years since the credit file was opened", "years"),
    "subsidies_year": ("当年农业补贴", "agricultural subsidies paid in the year", "CNY"),
    "insured_sum_year": (
        "当年农业保险保额",
        "sum insured of policies in force in the year",
        "CNY",
    ),
    "insured_years_3y": (
        "近三年投保年数",
        "years of the last three with a policy in force",
        "years",
    ),
    "loan_balance": ("年末贷款余额", "loan balance at each loan's last report of the year", "CNY"),
    "max_dpd_24m": ("近24个月最长逾期天数", "longest days past due in the 24 months", "days"),
    "in_arrears": (
        "年末拖欠",
        "a loan at least arrears_dpd days past due at its last report of the year (1 yes)",
        "",
    ),
}
"""Household features an indicator can score: name -> (Chinese, English, unit).
Computed as of the year end; a household without such records scores 0 (no
subsidy, no insurance, no loan, never past due)."""

HOUSEHOLD_RATINGS_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.String(),
    "year": pl.Int32(),
    "city_code": pl.String(),
    "county_code": pl.String(),
    "town_code": pl.String(),
    "village_code": pl.String(),
    "registered_date": pl.Date(),
    "points_basics": pl.Float64(),
    "points_finances": pl.Float64(),
    "points_credit": pl.Float64(),
    "points_records": pl.Float64(),
    "score": pl.Float64(),
    "grade": pl.String(),
    "credit_household": pl.Boolean(),
}
"""``household_ratings.parquet``: one row per rated household and year."""

HOUSEHOLD_POINTS_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.String(),
    "year": pl.Int32(),
    "block": pl.String(),
    "indicator_code": pl.String(),
    "name_zh": pl.String(),
    "name_en": pl.String(),
    "value": pl.String(),
    "points": pl.Float64(),
    "source_record_id": pl.String(),
}
"""``household_points.parquet``: one line per indicator (and public record) of a household."""

_AREA_COMMON: dict[str, pl.DataType] = {
    "borrowers": pl.Int64(),
    "clean_borrowers": pl.Int64(),
    "clean_borrower_share": pl.Float64(),
    "loan_balance": pl.Float64(),
    "npl_balance": pl.Float64(),
    "npl_ratio": pl.Float64(),
}

VILLAGE_RATINGS_SCHEMA: dict[str, pl.DataType] = {
    "year": pl.Int32(),
    "village_code": pl.String(),
    "town_code": pl.String(),
    "county_code": pl.String(),
    "city_code": pl.String(),
    "households": pl.Int64(),
    "rated_households": pl.Int64(),
    "credit_households": pl.Int64(),
    "credit_household_share": pl.Float64(),
    **_AREA_COMMON,
    "npl_ratio_prev": pl.Float64(),
    "npl_increase": pl.Float64(),
    "credit_village": pl.Boolean(),
    "failed_criteria": pl.String(),
}
"""``village_ratings.parquet``: one row per village and year (信用村)."""

TOWN_RATINGS_SCHEMA: dict[str, pl.DataType] = {
    "year": pl.Int32(),
    "town_code": pl.String(),
    "county_code": pl.String(),
    "city_code": pl.String(),
    "villages": pl.Int64(),
    "credit_villages": pl.Int64(),
    "credit_village_share": pl.Float64(),
    **_AREA_COMMON,
    "credit_town": pl.Boolean(),
    "failed_criteria": pl.String(),
}
"""``town_ratings.parquet``: one row per town and year (信用乡镇)."""

COUNTY_RATINGS_SCHEMA: dict[str, pl.DataType] = {
    "year": pl.Int32(),
    "county_code": pl.String(),
    "city_code": pl.String(),
    "villages": pl.Int64(),
    "credit_villages": pl.Int64(),
    "credit_village_share": pl.Float64(),
    "towns": pl.Int64(),
    "credit_towns": pl.Int64(),
    "credit_county": pl.Boolean(),
    "failed_criteria": pl.String(),
}
"""``county_ratings.parquet``: one row per county and year (信用县)."""

AREA_CRITERIA_SCHEMA: dict[str, pl.DataType] = {
    "year": pl.Int32(),
    "level": pl.String(),
    "area_code": pl.String(),
    "criterion": pl.String(),
    "name_zh": pl.String(),
    "name_en": pl.String(),
    "operator": pl.String(),
    "threshold": pl.Float64(),
    "value": pl.Float64(),
    "passed": pl.Boolean(),
}
"""``rural_criteria.parquet``: each criterion of each village, town and county: its
threshold, the area's value and whether it passed (the reasons for the status)."""

_BLOCKS = ("basics", "finances", "credit")
_PRECISION = 10  # decimals kept before comparing a share with its threshold

# criterion -> Chinese, English
_CRITERIA = {
    "CREDIT_HOUSEHOLD_SHARE": ("信用户占农户比例", "Credit households / households"),
    "CLEAN_BORROWER_SHARE": ("借款户中无拖欠户占比", "Borrowers without arrears / borrowers"),
    "NPL_RATIO": ("不良贷款占比", "Non-performing loan ratio"),
    "NPL_INCREASE": ("不良贷款占比较上年增幅", "NPL ratio increase on the previous year"),
    "CREDIT_VILLAGE_SHARE": ("信用村占比", "Credit villages / villages"),
}


@dataclass(frozen=True, slots=True)
class RuralRatings:
    """Household ratings with their point lines; village, town and county status with reasons.

    Frames follow :data:`HOUSEHOLD_RATINGS_SCHEMA`, :data:`HOUSEHOLD_POINTS_SCHEMA`,
    :data:`VILLAGE_RATINGS_SCHEMA`, :data:`TOWN_RATINGS_SCHEMA`,
    :data:`COUNTY_RATINGS_SCHEMA` and :data:`AREA_CRITERIA_SCHEMA`.
    """

    households: pl.DataFrame
    points: pl.DataFrame
    villages: pl.DataFrame
    towns: pl.DataFrame
    counties: pl.DataFrame
    criteria: pl.DataFrame

    @classmethod
    def concat(cls, parts: Sequence[RuralRatings]) -> RuralRatings:
        """Several years' ratings as one.

        Examples
        --------
        >>> RuralRatings.concat([]).villages.height
        0
        """
        schemas = (
            HOUSEHOLD_RATINGS_SCHEMA,
            HOUSEHOLD_POINTS_SCHEMA,
            VILLAGE_RATINGS_SCHEMA,
            TOWN_RATINGS_SCHEMA,
            COUNTY_RATINGS_SCHEMA,
            AREA_CRITERIA_SCHEMA,
        )
        if not parts:
            return cls(*(empty_frame(s) for s in schemas))
        return cls(
            pl.concat([p.households for p in parts]),
            pl.concat([p.points for p in parts]),
            pl.concat([p.villages for p in parts]),
            pl.concat([p.towns for p in parts]),
            pl.concat([p.counties for p in parts]),
            pl.concat([p.criteria for p in parts]),
        )

    def summary(self) -> pl.DataFrame:
        """Per year: rated households, credit households by grade, credit villages/towns/counties.

        Shares: ``rated_share`` of the listed households, ``credit_share`` of the rated.

        Examples
        --------
        >>> RuralRatings.concat([]).summary().columns[:4]
        ['year', 'households', 'rated', 'rated_share']
        """
        hh = self.households.group_by("year").agg(
            rated=pl.len().cast(pl.Int64),
            credit=pl.col("credit_household").sum().cast(pl.Int64),
            AAA=(pl.col("grade") == "AAA").sum().cast(pl.Int64),
            AA=(pl.col("grade") == "AA").sum().cast(pl.Int64),
            A=(pl.col("grade") == "A").sum().cast(pl.Int64),
        )
        vil = self.villages.group_by("year").agg(
            households=pl.col("households").sum(),
            villages=pl.len().cast(pl.Int64),
            credit_villages=pl.col("credit_village").sum().cast(pl.Int64),
        )
        town = self.towns.group_by("year").agg(
            towns=pl.len().cast(pl.Int64), credit_towns=pl.col("credit_town").sum().cast(pl.Int64)
        )
        county = self.counties.group_by("year").agg(
            counties=pl.len().cast(pl.Int64),
            credit_counties=pl.col("credit_county").sum().cast(pl.Int64),
        )
        return (
            vil.join(hh, on="year", how="full", coalesce=True)
            .join(town, on="year", how="full", coalesce=True)
            .join(county, on="year", how="full", coalesce=True)
            .with_columns(
                rated_share=pl.col("rated") / pl.col("households"),
                credit_share=pl.col("credit") / pl.col("rated"),
            )
            .select(
                "year",
                "households",
                "rated",
                "rated_share",
                "credit",
                "credit_share",
                "AAA",
                "AA",
                "A",
                "villages",
                "credit_villages",
                "towns",
                "credit_towns",
                "counties",
                "credit_counties",
            )
            .sort("year")
        )


def _optional(frame: FrameLike | None, table: str, columns: Sequence[str]) -> pl.LazyFrame:
    if frame is None:
        contract = TABLES[table].schema
        return pl.LazyFrame(schema={c: contract[c] for c in columns})
    return raw_table(frame, table, columns)


def _loan_months(
    loans: FrameLike | None, repayments: FrameLike | None, households: pl.LazyFrame
) -> pl.LazyFrame:
    """Monthly repayment reports of household loans, with the household's id."""
    ln = (
        _optional(loans, "loans", ["loan_id", "entity_type", "entity_id"])
        .filter(pl.col("entity_type") == "household")
        .select("loan_id", household_id=pl.col("entity_id"))
        .unique("loan_id", keep="first", maintain_order=True)
        .join(households.select("household_id"), on="household_id", how="semi")
    )
    rep = _optional(
        repayments, "loan_repayments", ["record_id", "loan_id", "month", "balance", "days_past_due"]
    )
    return rep.join(ln, on="loan_id", how="inner")


def _loan_year(months: pl.LazyFrame, year: int, rules: RuralConfig) -> pl.LazyFrame:
    """Per household loan reported in ``year``: last balance and days past due, arrears."""
    start, end = dt.date(year, 1, 1), year_end(year)
    return (
        months.filter(pl.col("month").is_between(start, end))
        .sort("loan_id", "month", "record_id")
        .group_by("loan_id")
        .agg(
            pl.col("household_id").first(),
            balance=pl.col("balance").last(),
            last_dpd=pl.col("days_past_due").last(),
            max_dpd=pl.col("days_past_due").max(),
        )
        .with_columns(
            npl=pl.col("last_dpd") >= rules.npl_dpd,
            arrears_now=pl.col("last_dpd") >= rules.arrears_dpd,
            arrears_year=pl.col("max_dpd") >= rules.arrears_dpd,
        )
    )


def household_rating_features(
    households: FrameLike,
    loans: FrameLike | None = None,
    repayments: FrameLike | None = None,
    subsidies: FrameLike | None = None,
    insurance: FrameLike | None = None,
    *,
    year: int,
    rules: RuralConfig,
) -> pl.LazyFrame:
    """Every :data:`HOUSEHOLD_FEATURES` column for the households rated in ``year``.

    Only records dated on or before the year end are used.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> f = household_rating_features(_example_households(["H1"]), year=2012,
    ...     rules=load_config().rural).collect()
    >>> f.select("household_id", "years_on_file", "loan_balance").row(0)
    ('H1', 2, 0.0)
    """
    y = check_year(year)
    start, end = dt.date(y, 1, 1), year_end(y)
    hh = _households(households).filter(pl.col("registered_date") <= end)
    months = _loan_months(loans, repayments, hh)
    per_loan = _loan_year(months, y, rules)
    loan_feats = per_loan.group_by("household_id").agg(
        loan_balance=pl.col("balance").sum(),
        in_arrears=pl.col("arrears_now").any().cast(pl.Int64),
    )
    dpd = (
        months.filter(pl.col("month").is_between(dt.date(y - 1, 1, 1), end))
        .group_by("household_id")
        .agg(max_dpd_24m=pl.col("days_past_due").max())
    )
    sub = (
        _optional(subsidies, "agri_subsidies", ["household_id", "pay_date", "amount"])
        .filter(pl.col("pay_date").is_between(start, end))
        .group_by("household_id")
        .agg(subsidies_year=pl.col("amount").sum())
    )
    ins = _optional(
        insurance,
        "agri_insurance",
        ["household_id", "policy_start", "policy_end", "insured_amount"],
    ).filter(pl.col("policy_start") <= end)

    def in_force(k: int) -> pl.Expr:
        return (pl.col("policy_start") <= year_end(k)) & (pl.col("policy_end") >= dt.date(k, 1, 1))

    ins_feats = ins.group_by("household_id").agg(
        insured_sum_year=pl.col("insured_amount").filter(in_force(y)).sum(),
        insured_years_3y=pl.sum_horizontal(
            *(in_force(k).any().cast(pl.Int64) for k in (y - 2, y - 1, y))
        ),
    )
    return (
        hh.join(loan_feats, on="household_id", how="left")
        .join(dpd, on="household_id", how="left")
        .join(sub, on="household_id", how="left")
        .join(ins_feats, on="household_id", how="left")
        .with_columns(
            pl.col("cooperative_member").cast(pl.Int64),
            years_on_file=(pl.lit(y) - pl.col("registered_date").dt.year()).cast(pl.Int64),
            loan_balance=pl.col("loan_balance").fill_null(0.0),
            in_arrears=pl.col("in_arrears").fill_null(0),
            max_dpd_24m=pl.col("max_dpd_24m").fill_null(0),
            subsidies_year=pl.col("subsidies_year").fill_null(0.0),
            insured_sum_year=pl.col("insured_sum_year").fill_null(0.0),
            insured_years_3y=pl.col("insured_years_3y").fill_null(0),
        )
    )


def _households(households: FrameLike) -> pl.LazyFrame:
    cols = [
        "household_id",
        "city_code",
        "county_code",
        "town_code",
        "village_code",
        "members",
        "labourers",
        "land_area",
        "main_income_source",
        "cooperative_member",
        "registered_date",
    ]
    return raw_table(households, "households", cols).unique(
        "household_id", keep="first", maintain_order=True
    )


def _indicator_points(ind: RuralIndicator) -> pl.Expr:
    x = pl.col(ind.feature)
    if ind.categories:
        return x.replace_strict(
            dict(zip(ind.categories, ind.points, strict=True)), default=0.0, return_dtype=pl.Float64
        )
    out: pl.Expr = pl.lit(ind.points[-1])
    for edge, pts in reversed(list(zip(ind.edges, ind.points, strict=False))):
        out = pl.when(x.cast(pl.Float64) < edge).then(pl.lit(pts)).otherwise(out)
    return out


def _check_features(rules: RuralConfig) -> None:
    for ind in rules.indicators:
        if ind.feature not in HOUSEHOLD_FEATURES:
            raise ConfigError(
                f"'rural.indicators' feature of {ind.code} must be one of "
                f"{', '.join(HOUSEHOLD_FEATURES)}; got {ind.feature!r}."
            )
        if ind.categories and ind.feature != "main_income_source":
            raise ConfigError(
                f"'rural.indicators' categories of {ind.code} must go with a coded feature "
                f"(main_income_source); got {ind.feature!r}."
            )
        if not ind.categories and ind.feature == "main_income_source":
            raise ConfigError(
                f"'rural.indicators' {ind.code} must list categories for the coded feature "
                f"main_income_source; got edges {list(ind.edges)}."
            )


def _record_lines(
    public_records: FrameLike | None, hh: pl.LazyFrame, *, year: int, rules: RuralConfig
) -> pl.LazyFrame:
    end = year_end(year)
    cutoff = dt.date(year - rules.record_years, 12, 31)
    items = pl.LazyFrame(
        {
            "item_code": [r.item for r in rules.records],
            "name_zh": [r.name_zh for r in rules.records],
            "name_en": [r.name_en for r in rules.records],
            "points": [r.points for r in rules.records],
            "per": [r.per for r in rules.records],
        },
        schema={
            "item_code": pl.String,
            "name_zh": pl.String,
            "name_en": pl.String,
            "points": pl.Float64,
            "per": pl.String,
        },
    )
    recs = (
        _optional(
            public_records,
            "public_records",
            ["record_id", "household_id", "event_date", "item_code", "ended_date"],
        )
        .filter(
            pl.col("event_date") <= end,
            pl.coalesce("ended_date", "event_date") > cutoff,
        )
        .join(hh.select("household_id"), on="household_id", how="semi")
        .join(items, on="item_code", how="inner")
        .sort("household_id", "item_code", "event_date", "record_id")
    )
    first = pl.int_range(pl.len()).over("household_id", "item_code") == 0
    return recs.filter((pl.col("per") == "event") | first).select(
        "household_id",
        block=pl.lit("records"),
        indicator_code=pl.col("item_code"),
        name_zh=pl.col("name_zh"),
        name_en=pl.col("name_en"),
        value=pl.col("event_date").cast(pl.String),
        points=pl.col("points"),
        source_record_id=pl.col("record_id"),
    )


def _grade_expr(rules: RuralConfig) -> pl.Expr:
    s = pl.col("score")
    return (
        pl.when(s >= rules.grade_aaa_min)
        .then(pl.lit("AAA"))
        .when(s >= rules.grade_aa_min)
        .then(pl.lit("AA"))
        .when(s >= rules.grade_a_min)
        .then(pl.lit("A"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def _rate_households(
    feats: pl.LazyFrame, public_records: FrameLike | None, *, year: int, rules: RuralConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    lines = [
        feats.select(
            "household_id",
            block=pl.lit(ind.block),
            indicator_code=pl.lit(ind.code),
            name_zh=pl.lit(ind.name_zh),
            name_en=pl.lit(ind.name_en),
            value=pl.col(ind.feature).cast(pl.String),
            points=_indicator_points(ind).cast(pl.Float64),
            source_record_id=pl.lit(None, dtype=pl.String),
        )
        for ind in rules.indicators
    ]
    lines.append(_record_lines(public_records, feats, year=year, rules=rules))
    points = (
        pl.concat(lines)
        .with_columns(year=pl.lit(year, dtype=pl.Int32))
        .select(list(HOUSEHOLD_POINTS_SCHEMA))
        .sort("household_id", "block", "indicator_code", "value")
        .collect()
    )
    by_block = points.group_by("household_id").agg(
        *(
            pl.col("points").filter(pl.col("block") == b).sum().alias(f"points_{b}")
            for b in (*_BLOCKS, "records")
        ),
        raw=pl.col("points").sum(),
    )
    ratings = (
        feats.join(by_block.lazy(), on="household_id", how="left")
        .with_columns(
            pl.col(
                "points_basics", "points_finances", "points_credit", "points_records", "raw"
            ).fill_null(0.0),
            year=pl.lit(year, dtype=pl.Int32),
        )
        .with_columns(score=pl.col("raw").clip(0.0, rules.max_points).round(6))
        .with_columns(grade=_grade_expr(rules))
        .with_columns(credit_household=pl.col("grade").is_not_null())
        .select(list(HOUSEHOLD_RATINGS_SCHEMA))
        .sort("household_id")
        .collect()
    )
    return ratings, points


def _npl(per_loan: pl.LazyFrame, key: str) -> pl.LazyFrame:
    return per_loan.group_by(key).agg(
        loan_balance=pl.col("balance").sum(),
        npl_balance=pl.col("balance").filter(pl.col("npl")).sum(),
    )


def _ratio(num: str, den: str) -> pl.Expr:
    """``num / den``, null where there is nothing to measure."""
    return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).otherwise(None)


def _borrowers(per_loan: pl.LazyFrame, key: str) -> pl.LazyFrame:
    hh = per_loan.group_by(key, "household_id").agg(arrears=pl.col("arrears_year").any())
    return hh.group_by(key).agg(
        borrowers=pl.len().cast(pl.Int64),
        clean_borrowers=(~pl.col("arrears")).sum().cast(pl.Int64),
    )


def _criteria(
    frame: pl.DataFrame,
    *,
    level: str,
    key: str,
    year: int,
    spec: Sequence[tuple[str, str, str, float]],
) -> pl.DataFrame:
    """One row per area and criterion (code, value column, operator, threshold)."""
    parts = []
    for code, column, op, threshold in spec:
        v = pl.col("value").round(_PRECISION)
        ok = v >= threshold if op == ">=" else v < threshold
        parts.append(
            frame.select(
                year=pl.lit(year, dtype=pl.Int32),
                level=pl.lit(level),
                area_code=pl.col(key),
                criterion=pl.lit(code),
                name_zh=pl.lit(_CRITERIA[code][0]),
                name_en=pl.lit(_CRITERIA[code][1]),
                operator=pl.lit(op),
                threshold=pl.lit(float(threshold)),
                value=pl.col(column).cast(pl.Float64),
            ).with_columns(passed=ok.fill_null(True))
        )
    if not parts:
        return empty_frame(AREA_CRITERIA_SCHEMA)
    return pl.concat(parts).select(list(AREA_CRITERIA_SCHEMA))


def _status(frame: pl.DataFrame, criteria: pl.DataFrame, *, key: str, flag: str) -> pl.DataFrame:
    verdict = criteria.group_by("area_code").agg(
        pl.col("passed").all().alias(flag),
        failed_criteria=pl.col("criterion").filter(~pl.col("passed")).sort().str.join(","),
    )
    return frame.join(verdict, left_on=key, right_on="area_code", how="left").with_columns(
        pl.col(flag).fill_null(True), pl.col("failed_criteria").fill_null("")
    )


def _rate_areas(
    ratings: pl.DataFrame,
    hh_all: pl.LazyFrame,
    months: pl.LazyFrame,
    *,
    year: int,
    rules: RuralConfig,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    place = hh_all.select("household_id", "village_code", "town_code", "county_code", "city_code")
    per_loan = _loan_year(months, year, rules).join(place, on="household_id", how="inner")
    prev_loan = _loan_year(months, year - 1, rules).join(place, on="household_id", how="inner")
    rated = (
        ratings.lazy()
        .group_by("village_code")
        .agg(
            rated_households=pl.len().cast(pl.Int64),
            credit_households=pl.col("credit_household").sum().cast(pl.Int64),
        )
    )
    prev_npl = _npl(prev_loan, "village_code").select(
        "village_code", npl_ratio_prev=_ratio("npl_balance", "loan_balance")
    )
    villages = (
        place.group_by("village_code")
        .agg(
            pl.col("town_code", "county_code", "city_code").first(),
            households=pl.len().cast(pl.Int64),
        )
        .join(rated, on="village_code", how="left")
        .join(_borrowers(per_loan, "village_code"), on="village_code", how="left")
        .join(_npl(per_loan, "village_code"), on="village_code", how="left")
        .join(prev_npl, on="village_code", how="left")
        .with_columns(
            pl.col(
                "rated_households", "credit_households", "borrowers", "clean_borrowers"
            ).fill_null(0),
            pl.col("loan_balance", "npl_balance").fill_null(0.0),
            year=pl.lit(year, dtype=pl.Int32),
        )
        .with_columns(
            credit_household_share=_ratio("credit_households", "households"),
            clean_borrower_share=_ratio("clean_borrowers", "borrowers"),
            npl_ratio=_ratio("npl_balance", "loan_balance"),
        )
        .with_columns(npl_increase=pl.col("npl_ratio") - pl.col("npl_ratio_prev"))
        .sort("village_code")
        .collect()
    )
    v_crit = _criteria(
        villages,
        level="village",
        key="village_code",
        year=year,
        spec=(
            (
                "CREDIT_HOUSEHOLD_SHARE",
                "credit_household_share",
                ">=",
                rules.village_min_credit_household_share,
            ),
            (
                "CLEAN_BORROWER_SHARE",
                "clean_borrower_share",
                ">=",
                rules.village_min_clean_borrower_share,
            ),
            ("NPL_RATIO", "npl_ratio", "<", rules.village_max_npl_ratio),
            ("NPL_INCREASE", "npl_increase", "<", rules.village_max_npl_increase),
        ),
    )
    villages = _status(villages, v_crit, key="village_code", flag="credit_village").select(
        list(VILLAGE_RATINGS_SCHEMA)
    )

    towns = (
        villages.lazy()
        .group_by("town_code")
        .agg(
            pl.col("county_code", "city_code").first(),
            villages=pl.len().cast(pl.Int64),
            credit_villages=pl.col("credit_village").sum().cast(pl.Int64),
        )
        .join(_borrowers(per_loan, "town_code"), on="town_code", how="left")
        .join(_npl(per_loan, "town_code"), on="town_code", how="left")
        .with_columns(
            pl.col("borrowers", "clean_borrowers").fill_null(0),
            pl.col("loan_balance", "npl_balance").fill_null(0.0),
            year=pl.lit(year, dtype=pl.Int32),
        )
        .with_columns(
            credit_village_share=_ratio("credit_villages", "villages"),
            clean_borrower_share=_ratio("clean_borrowers", "borrowers"),
            npl_ratio=_ratio("npl_balance", "loan_balance"),
        )
        .sort("town_code")
        .collect()
    )
    t_crit = _criteria(
        towns,
        level="town",
        key="town_code",
        year=year,
        spec=(
            (
                "CREDIT_VILLAGE_SHARE",
                "credit_village_share",
                ">=",
                rules.town_min_credit_village_share,
            ),
            (
                "CLEAN_BORROWER_SHARE",
                "clean_borrower_share",
                ">=",
                rules.town_min_clean_borrower_share,
            ),
            ("NPL_RATIO", "npl_ratio", "<", rules.town_max_npl_ratio),
        ),
    )
    towns = _status(towns, t_crit, key="town_code", flag="credit_town").select(
        list(TOWN_RATINGS_SCHEMA)
    )

    counties = (
        villages.group_by("county_code")
        .agg(
            pl.col("city_code").first(),
            villages=pl.len().cast(pl.Int64),
            credit_villages=pl.col("credit_village").sum().cast(pl.Int64),
        )
        .join(
            towns.group_by("county_code").agg(
                towns=pl.len().cast(pl.Int64),
                credit_towns=pl.col("credit_town").sum().cast(pl.Int64),
            ),
            on="county_code",
            how="left",
        )
        .with_columns(
            year=pl.lit(year, dtype=pl.Int32),
            credit_village_share=_ratio("credit_villages", "villages"),
        )
        .sort("county_code")
    )
    c_crit = _criteria(
        counties,
        level="county",
        key="county_code",
        year=year,
        spec=(
            (
                "CREDIT_VILLAGE_SHARE",
                "credit_village_share",
                ">=",
                rules.county_min_credit_village_share,
            ),
        ),
    )
    counties = _status(counties, c_crit, key="county_code", flag="credit_county").select(
        list(COUNTY_RATINGS_SCHEMA)
    )
    criteria = pl.concat([v_crit, t_crit, c_crit]).sort("level", "area_code", "criterion")
    return villages, towns, counties, criteria


def rate_rural(
    households: FrameLike,
    loans: FrameLike | None = None,
    repayments: FrameLike | None = None,
    subsidies: FrameLike | None = None,
    insurance: FrameLike | None = None,
    public_records: FrameLike | None = None,
    *,
    year: int,
    rules: RuralConfig,
) -> RuralRatings:
    """Rate households, villages, towns and counties for ``year``.

    Parameters
    ----------
    households, loans, repayments, subsidies, insurance, public_records
        Raw tables ``households``, ``loans``, ``loan_repayments``, ``agri_subsidies``,
        ``agri_insurance`` and ``public_records`` (``scoring.schema``); None stands
        for a table without rows. Only household loans are used.
    year
        The rating year; the as-of date is its last day.
    rules
        ``config.rural``.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> hh = _example_households(["H1", "H2"], village="440101001001")
    >>> r = rate_rural(hh, year=2012, rules=load_config().rural)
    >>> r.criteria.filter(pl.col("level") == "village")["criterion"].to_list()
    ['CLEAN_BORROWER_SHARE', 'CREDIT_HOUSEHOLD_SHARE', 'NPL_INCREASE', 'NPL_RATIO']
    """
    y = check_year(year)
    _check_features(rules)
    hh_all = _households(households)
    feats = household_rating_features(
        households, loans, repayments, subsidies, insurance, year=y, rules=rules
    )
    ratings, points = _rate_households(feats, public_records, year=y, rules=rules)
    months = _loan_months(loans, repayments, hh_all)
    villages, towns, counties, criteria = _rate_areas(ratings, hh_all, months, year=y, rules=rules)
    return RuralRatings(ratings, points, villages, towns, counties, criteria)


def rate_rural_years(
    households: FrameLike,
    loans: FrameLike | None = None,
    repayments: FrameLike | None = None,
    subsidies: FrameLike | None = None,
    insurance: FrameLike | None = None,
    public_records: FrameLike | None = None,
    *,
    years: Sequence[int],
    rules: RuralConfig,
    progress: bool = False,
) -> RuralRatings:
    """:func:`rate_rural` for each of ``years``, as one result.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> r = rate_rural_years(_example_households(["H1"]), years=[2011, 2012],
    ...     rules=load_config().rural)
    >>> r.households["year"].to_list()
    [2011, 2012]
    """
    ys = sorted({check_year(y, name="years") for y in years})
    steps = track(ys, description="rural ratings") if progress else ys
    return RuralRatings.concat(
        [
            rate_rural(
                households,
                loans,
                repayments,
                subsidies,
                insurance,
                public_records,
                year=y,
                rules=rules,
            )
            for y in steps
        ]
    )


def _example_households(
    ids: Sequence[str],
    *,
    village: str = "440101001001",
    registered: dt.date = dt.date(2010, 3, 1),
) -> pl.DataFrame:
    """Plain households of one village for examples and tests: 3 members, 2 labourers,
    4 mu of rice, not in a cooperative, a credit file since ``registered``."""
    n = len(ids)
    return pl.DataFrame(
        {
            "household_id": list(ids),
            "head_id_number": ["440101198001010000"] * n,
            "head_name": ["-"] * n,
            "city_code": [village[:4] + "00"] * n,
            "county_code": [village[:6]] * n,
            "town_code": [village[:9]] * n,
            "village_code": [village] * n,
            "members": [3] * n,
            "labourers": [2] * n,
            "land_area": [4.0] * n,
            "main_income_source": ["crops"] * n,
            "cooperative_member": [False] * n,
            "registered_date": [registered] * n,
        },
        schema=TABLES["households"].schema,
    )
