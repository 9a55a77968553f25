"""Credit-file features as data: sources, aggregates, features and their dictionary.

Three layers, all plain data holding polars expressions, so that the feature
dictionary and the columns of the credit files come from one definition and cannot
drift apart:

- a :class:`Source` is one raw table as collection reads it: the date a record is
  observed, which records are negative information (subject to retention) and when
  their behaviour ended;
- an :class:`Aggregate` summarises a source's records per entity and snapshot date
  over a look-back window (``sum``, ``max`` or ``count``), counting a record only
  once it is known at the snapshot;
- a :class:`Feature` is a column of a credit file: an expression over the aggregates
  of one snapshot and the entity's registration columns, with its meaning in Chinese
  and English, unit, kind, expected direction of risk and whether it is built from
  negative records.

``scoring.collect`` evaluates these definitions; this module does no I/O.

Direction (``monotone``): ``+1`` means a higher value should go with a higher
default risk, ``-1`` a lower one, ``None`` no expectation. Model code may use it as a
monotone constraint.

Examples
--------
>>> [f.name for f in features_for("sme")][:4]
['firm_age_years', 'size_class', 'industry', 'registered_capital']
>>> d = feature_dictionary()
>>> d.filter(pl.col("name") == "max_dpd_12m").get_column("unit").to_list()
['days', 'days']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from scoring.exceptions import ConfigError
from scoring.schema import INCOME_SOURCES

__all__ = [
    "AGGREGATES",
    "CONTEXT_KEYS",
    "CONTEXT_TOTALS",
    "FEATURES",
    "INCOME_NORMS",
    "PUBLIC_MINUS_ITEMS",
    "PUBLIC_PLUS_ITEMS",
    "SEGMENTS",
    "SOURCES",
    "TAX_GRADES",
    "TAX_GRADE_PUBLISHED",
    "UNRATED",
    "Aggregate",
    "Day",
    "Feature",
    "Source",
    "feature_dictionary",
    "feature_dictionary_markdown",
    "feature_names",
    "features_for",
    "month_index",
    "sources_for",
]

Segment = Literal["sme", "household"]
SEGMENTS: tuple[Segment, ...] = ("sme", "household")

How = Literal["sum", "max", "count"]
Kind = Literal["numeric", "categorical", "date", "id"]
Role = Literal["id", "feature", "flag", "outcome"]

ValueExpr = pl.Expr | Callable[[dt.date], pl.Expr]
"""A per-record expression, or a function of the snapshot date returning one."""

PUBLIC_PLUS_ITEMS = ("MODEL_WORKER", "VOLUNTEER")
PUBLIC_MINUS_ITEMS = ("LAWSUIT", "DEBT_EVASION", "LOAN_MISUSE", "ARREARS")

TAX_GRADES = ("A", "B", "M", "C", "D")
UNRATED = "unrated"
"""Tax grade category of a taxpayer with no grade published by the snapshot."""
TAX_GRADE_PUBLISHED = (4, 30)
"""(month, day) of year Y+1 by which the tax grades of year Y are published (set each April)."""

INCOME_NORMS: dict[str, float] = {
    "crops": 12_000.0,
    "livestock": 16_000.0,
    "aquaculture": 20_000.0,
    "migrant_work": 24_000.0,
    "business": 28_000.0,
    "other": 12_000.0,
}
"""Annual net income per labourer (CNY) by main income source, for ``income_estimate``.

Illustrative norms of the order of Guangdong's 2012 rural income (about CNY 10,500 net
per resident, two residents per labourer); replace them with the county's statistics."""
INCOME_PER_MU = 800.0
"""Annual net income per mu of contracted land (CNY), for ``income_estimate``."""


_DAYS_PER_MONTH = 365.2425 / 12
_MONTHS_1970_TO_2010 = 480


def month_index(date: pl.Expr) -> pl.Expr:
    """Months since 2010-01 of a column of first-of-month dates, as a float (trend slopes).

    Computed from the day number (exact for the first day of any month from 1950 to
    2100), which is much cheaper than calendar arithmetic per row.

    Examples
    --------
    >>> import datetime as dt
    >>> pl.select(month_index(pl.lit(dt.date(2011, 3, 1)))).item()
    14.0
    """
    months = (date.cast(pl.Int32) / _DAYS_PER_MONTH).round()
    return months - _MONTHS_1970_TO_2010


def _first_of_next_month(day: dt.date) -> dt.date:
    """The first day of the month that holds ``day + 1``."""
    nxt = day + dt.timedelta(days=1)
    return nxt.replace(day=1)


@dataclass(frozen=True, slots=True)
class Day:
    """A date of each record, compared with snapshot dates without arithmetic per row.

    The first non-null of ``columns``; with ``month_end``, the last day of its month
    (monthly records are dated by their month's first day and known at its end);
    otherwise plus ``plus_days``. Comparisons move the snapshot side instead:
    ``month_end(m) <= d`` is ``m < first day of the month of d + 1``.

    Examples
    --------
    >>> import datetime as dt
    >>> df = pl.DataFrame({"month": [dt.date(2012, 11, 1), dt.date(2012, 12, 1)]})
    >>> known = Day(("month",), month_end=True).on_or_before(dt.date(2012, 12, 30))
    >>> df.select(known).to_series().to_list()
    [True, False]
    """

    columns: tuple[str, ...]
    month_end: bool = False
    plus_days: int = 0

    def _base(self) -> pl.Expr:
        return pl.col(self.columns[0]) if len(self.columns) == 1 else pl.coalesce(self.columns)

    def on_or_before(self, day: dt.date) -> pl.Expr:
        """True where the record's date is on or before ``day`` (null where it is null)."""
        if self.month_end:
            return self._base() < _first_of_next_month(day)
        return self._base() <= day - dt.timedelta(days=self.plus_days)

    def after(self, day: dt.date) -> pl.Expr:
        """True where the record's date is after ``day`` (null where it is null)."""
        if self.month_end:
            return self._base() >= _first_of_next_month(day)
        return self._base() > day - dt.timedelta(days=self.plus_days)

    def before(self, day: dt.date) -> pl.Expr:
        """True where the record's date is before ``day`` (null where it is null)."""
        return self.on_or_before(day - dt.timedelta(days=1))

    def expr(self) -> pl.Expr:
        """The date itself, per record (for documentation and tests; slow on big data)."""
        if self.month_end:
            return self._base().dt.month_end()
        return self._base().dt.offset_by(f"{self.plus_days}d")


def _day(*columns: str, month_end: bool = False, plus_days: int = 0) -> Day:
    return Day(columns, month_end=month_end, plus_days=plus_days)


@dataclass(frozen=True, slots=True, eq=False)
class Aggregate:
    """A per-entity, per-snapshot summary of one source's records.

    A record counts at snapshot ``S`` when it is visible (its own and its parents'
    dates on or before ``S``), not dropped by retention or a dispute, its ``known``
    date is on or before ``S`` and its window date (``at``, default the source's
    ``observed``) lies in ``(S - months, S]`` (``months=None``: all retained history).

    ``value`` is the per-record value (``count`` counts records where it is true); it
    may be a function of the snapshot date for as-of states (e.g. a case still open).

    Examples
    --------
    >>> a = AGGREGATES["late_filings_12m"]
    >>> a.how, a.months, a.known
    ('count', 12, Day(columns=('due_date',), month_end=False, plus_days=1))
    """

    name: str
    value: ValueExpr
    how: How
    months: int | None = 12
    known: Day | None = None
    at: Day | None = None

    def value_at(self, snapshot: dt.date) -> pl.Expr:
        """The per-record value expression at ``snapshot``."""
        return self.value(snapshot) if callable(self.value) else self.value


@dataclass(frozen=True, slots=True, eq=False)
class Source:
    """A raw table as collection reads it.

    ``observed``: the date a record is observed (monthly records: the month's last
    day); windows count back from the snapshot on it. ``negative``: which records are
    negative information; ``ended``: when their behaviour ended (null or after the
    snapshot: still going on). A negative record whose behaviour ended more than
    ``retention_years`` before the snapshot is not used.

    Examples
    --------
    >>> src = SOURCES["court_enforcement"]
    >>> src.segments, src.ended
    (('sme', 'household'), Day(columns=('closed_date',), month_end=False, plus_days=0))
    """

    table: str
    segments: tuple[Segment, ...]
    observed: Day
    aggregates: tuple[Aggregate, ...]
    negative: pl.Expr | None = None
    ended: Day | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Feature:
    """One column of a credit file, with its dictionary entry.

    ``expr`` is evaluated on one snapshot's frame (registration columns,
    ``snapshot_date`` and the aggregates by name); features of ``stage`` 2 are
    evaluated afterwards on all entities of the snapshot (village context).

    Examples
    --------
    >>> f = next(f for f in FEATURES if f.name == "employees")
    >>> f.unit, f.monotone, f.sources
    ('persons', -1, ('social_insurance',))
    """

    name: str
    segments: tuple[Segment, ...]
    sources: tuple[str, ...]
    zh: str
    en: str
    unit: str
    kind: Kind
    dtype: pl.DataType
    expr: pl.Expr
    monotone: int | None = None
    negative: bool = False
    role: Role = "feature"
    stage: int = 1
    categories: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------- sources

_month_end = _day("month", month_end=True)
_filed = _day("filed_date")
_late = pl.col("filed_date").is_null() | (pl.col("filed_date") > pl.col("due_date"))
_arrears = (pl.col("tax_payable") - pl.col("tax_paid")).clip(lower_bound=0.0)
_is_electricity = pl.col("utility") == "electricity"


def _trend_aggregates(
    prefix: str,
    y: pl.Expr,
    m: pl.Expr,
    *,
    known: Day | None = None,
    where: pl.Expr | None = None,
) -> tuple[Aggregate, ...]:
    """Sums for an OLS slope of ``y`` on month index ``m`` over 12 months."""
    keep = where if where is not None else pl.lit(True)
    yy = pl.when(keep).then(y)
    return (
        Aggregate(f"{prefix}_n", keep & y.is_not_null(), "count", known=known),
        Aggregate(f"{prefix}_m", pl.when(keep & y.is_not_null()).then(m), "sum", known=known),
        Aggregate(f"{prefix}_y", yy, "sum", known=known),
        Aggregate(f"{prefix}_my", yy * m, "sum", known=known),
        Aggregate(f"{prefix}_mm", pl.when(keep & y.is_not_null()).then(m * m), "sum", known=known),
    )


def _case_open(s: dt.date) -> pl.Expr:
    return pl.col("closed_date").is_null() | (pl.col("closed_date") > s)


def _policy_active(s: dt.date) -> pl.Expr:
    return pl.col("policy_end") > s


SOURCES: dict[str, Source] = {
    s.table: s
    for s in (
        Source(
            "tax_filings",
            ("sme",),
            observed=_day("period", month_end=True),
            negative=_late | (_arrears > 0),
            ended=_filed,
            aggregates=(
                Aggregate("tax_filed_months_12m", pl.lit(True), "count", known=_filed),
                Aggregate("tax_paid_12m", pl.col("tax_paid"), "sum", known=_filed),
                Aggregate("revenue_12m", pl.col("revenue"), "sum", known=_filed),
                Aggregate("tax_arrears_12m", _arrears, "sum", known=_filed),
                Aggregate(
                    "late_filings_12m",
                    _late,
                    "count",
                    known=_day("due_date", plus_days=1),
                ),
                Aggregate(
                    "zero_declarations_12m", pl.col("zero_declaration"), "count", known=_filed
                ),
                *_trend_aggregates(
                    "tax_trend", pl.col("tax_paid"), month_index(pl.col("period")), known=_filed
                ),
            ),
        ),
        Source(
            "tax_violations",
            ("sme",),
            observed=_day("event_date"),
            negative=pl.lit(True),
            ended=_day("ended_date", "event_date"),
            aggregates=(Aggregate("tax_violations_24m", pl.lit(True), "count", months=24),),
        ),
        Source(
            "social_insurance",
            ("sme",),
            observed=_month_end,
            negative=pl.col("contribution_paid") < pl.col("contribution_due"),
            ended=_month_end,
            aggregates=(
                Aggregate("si_months_12m", pl.lit(True), "count"),
                Aggregate("si_employees_12m", pl.col("employees"), "sum"),
                Aggregate(
                    "si_arrears_months_12m",
                    pl.col("contribution_paid") < pl.col("contribution_due"),
                    "count",
                ),
                Aggregate("si_due_12m", pl.col("contribution_due"), "sum"),
                Aggregate("si_paid_12m", pl.col("contribution_paid"), "sum"),
            ),
        ),
        Source(
            "loans",
            SEGMENTS,
            observed=_day("origination_date"),
            aggregates=(
                Aggregate("loans_count", pl.lit(True), "count", months=None),
                Aggregate("new_loans_12m", pl.lit(True), "count"),
            ),
        ),
        Source(
            "loan_repayments",
            SEGMENTS,
            observed=_month_end,
            negative=pl.col("days_past_due") > 0,
            ended=_month_end,
            aggregates=(
                Aggregate("repayment_months_12m", pl.lit(True), "count"),
                Aggregate("max_dpd_12m", pl.col("days_past_due"), "max"),
                Aggregate("max_dpd_24m", pl.col("days_past_due"), "max", months=24),
                Aggregate("max_dpd_retained", pl.col("days_past_due"), "max", months=None),
                Aggregate("delinquent_months_24m", pl.col("days_past_due") > 0, "count", months=24),
                # the last complete month before the snapshot: balances as of the snapshot
                Aggregate("loan_balance", pl.col("balance"), "sum", months=1),
                Aggregate(
                    "open_principal",
                    pl.when(pl.col("balance") > 0).then(pl.col("principal")),
                    "sum",
                    months=1,
                ),
                Aggregate("open_loans", pl.col("balance") > 0, "count", months=1),
            ),
        ),
        Source(
            "utility_payments",
            SEGMENTS,
            observed=_month_end,
            negative=pl.col("days_late") > 0,
            ended=_month_end,
            aggregates=(
                Aggregate("utility_late_bills_12m", pl.col("days_late") > 0, "count"),
                Aggregate("utility_max_days_late_12m", pl.col("days_late"), "max"),
                *_trend_aggregates(
                    "elec_trend",
                    pl.col("usage"),
                    month_index(pl.col("month")),
                    where=_is_electricity,
                ),
            ),
        ),
        Source(
            "court_enforcement",
            SEGMENTS,
            observed=_day("filed_date"),
            negative=pl.lit(True),
            ended=_day("closed_date"),
            aggregates=(
                Aggregate("enforcement_cases", pl.lit(True), "count", months=None),
                Aggregate("enforcement_open", _case_open, "count", months=None),
                Aggregate(
                    "dishonest_open",
                    lambda s: _case_open(s) & pl.col("dishonest"),
                    "count",
                    months=None,
                ),
            ),
        ),
        Source(
            "admin_penalties",
            ("sme",),
            observed=_day("decision_date"),
            negative=pl.lit(True),
            ended=_day("decision_date"),
            aggregates=(
                Aggregate(
                    "penalties_general", pl.col("severity") == "general", "count", months=None
                ),
                Aggregate(
                    "penalties_serious", pl.col("severity") == "serious", "count", months=None
                ),
            ),
        ),
        Source(
            "agri_subsidies",
            ("household",),
            observed=_day("pay_date"),
            aggregates=(Aggregate("subsidies_12m", pl.col("amount"), "sum"),),
        ),
        Source(
            "agri_insurance",
            ("household",),
            observed=_day("policy_start"),
            aggregates=(
                Aggregate("insured_active", _policy_active, "count", months=None),
                Aggregate("insured_amount_12m", pl.col("insured_amount"), "sum"),
                Aggregate(
                    "claims_24m",
                    pl.col("claim_paid"),
                    "sum",
                    months=24,
                    known=_day("policy_end"),
                    at=_day("policy_end"),
                ),
            ),
        ),
        Source(
            "public_records",
            ("household",),
            observed=_day("event_date"),
            negative=pl.col("item_code").is_in(PUBLIC_MINUS_ITEMS),
            ended=_day("ended_date", "event_date"),
            aggregates=(
                Aggregate(
                    "public_plus_items",
                    pl.col("item_code").is_in(PUBLIC_PLUS_ITEMS),
                    "count",
                    months=None,
                ),
                Aggregate(
                    "public_minus_items",
                    pl.col("item_code").is_in(PUBLIC_MINUS_ITEMS),
                    "count",
                    months=None,
                ),
            ),
        ),
    )
}
"""Every source read into credit files, by raw table name."""

AGGREGATES: dict[str, Aggregate] = {a.name: a for s in SOURCES.values() for a in s.aggregates}
"""Every aggregate by name (names are unique across sources)."""


def sources_for(segment: str) -> tuple[Source, ...]:
    """The sources that feed credit files of ``segment``.

    Examples
    --------
    >>> [s.table for s in sources_for("household")][:3]
    ['loans', 'loan_repayments', 'utility_payments']
    """
    _check_segment(segment)
    return tuple(s for s in SOURCES.values() if segment in s.segments)


# -------------------------------------------------------------------------- features

_SME: tuple[Segment, ...] = ("sme",)
_HH: tuple[Segment, ...] = ("household",)
_BOTH: tuple[Segment, ...] = SEGMENTS
_I32 = pl.Int32()
_F64 = pl.Float64()
_STR = pl.String()
_I8 = pl.Int8()


def _c(name: str) -> pl.Expr:
    return pl.col(name)


def _n(name: str) -> pl.Expr:
    """A count aggregate as Int32."""
    return pl.col(name).cast(pl.Int32)


def _share(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den)


def _trend(prefix: str) -> pl.Expr:
    """Relative monthly trend: OLS slope over the mean, clipped to [-1, 1]; null if < 3 months."""
    n, sm, sy, smy, smm = (
        pl.col(f"{prefix}_{s}").cast(pl.Float64) for s in ("n", "m", "y", "my", "mm")
    )
    den = n * smm - sm * sm
    slope = (n * smy - sm * sy) / den
    mean = sy / n
    ok = (n >= 3) & (den > 0) & (mean > 0)
    return pl.when(ok).then((slope / mean).clip(-1.0, 1.0))


def _age_years(col: str) -> pl.Expr:
    return (pl.col("snapshot_date") - pl.col(col)).dt.total_days().cast(pl.Float64) / 365.25


def _income_estimate() -> pl.Expr:
    per_labourer = pl.col("main_income_source").replace_strict(
        INCOME_NORMS, default=INCOME_NORMS["other"], return_dtype=pl.Float64
    )
    return (
        pl.col("labourers").cast(pl.Float64) * per_labourer
        + pl.col("land_area") * INCOME_PER_MU
        + pl.col("subsidies_12m").fill_null(0.0)
    )


def _borrower() -> pl.Expr:
    return (pl.col("repayment_months_12m") > 0).cast(pl.Int64)


def _in_arrears() -> pl.Expr:
    return ((pl.col("repayment_months_12m") > 0) & (pl.col("max_dpd_12m") > 0)).cast(pl.Int64)


CONTEXT_KEYS = ("village_code",)
"""Stage-2 features compare a household with the others of its village, per snapshot."""

CONTEXT_TOTALS: dict[str, pl.Expr] = {
    "_village_households": pl.col("entity_id").count().cast(pl.Int64),
    "_village_borrowers": _borrower().sum(),
    "_village_in_arrears": _in_arrears().sum(),
}
"""Totals per village and snapshot that the stage-2 features read (with the household's own)."""


def _village_loo(total: str, own: pl.Expr, total_den: str, own_den: pl.Expr) -> pl.Expr:
    """Leave-one-out share among the other households of the same village and snapshot."""
    num_other = pl.col(total) - own
    den_other = pl.col(total_den) - own_den
    return pl.when(den_other > 0).then(num_other.cast(pl.Float64) / den_other)


# The feature tables below are kept in a compact layout (one entry per block) on purpose.
# fmt: off
def _loan_features(segs: tuple[Segment, ...]) -> tuple[Feature, ...]:
    src = ("loans", "loan_repayments")
    return (
        Feature(
            "loans_count", segs, ("loans",), "贷款笔数(截至快照)", "loans taken up to the snapshot",
            "loans", "numeric", _I32, _n("loans_count"),
        ),
        Feature(
            "new_loans_12m", segs, ("loans",), "近12个月新增贷款笔数",
            "loans originated in the 12 months to the snapshot", "loans", "numeric", _I32,
            _n("new_loans_12m"),
        ),
        Feature(
            "loan_balance", segs, src, "贷款余额(快照所在月)",
            "outstanding loan balance reported for the last month to the snapshot", "CNY",
            "numeric", _F64, _c("loan_balance").cast(pl.Float64),
        ),
        Feature(
            "open_loans", segs, src, "未结清贷款笔数", "loans with a balance in that month",
            "loans", "numeric", _I32, _n("open_loans"),
        ),
        Feature(
            "loan_utilisation", segs, src, "贷款余额占未结清贷款本金比例",
            "balance over principal of the loans still open (null: no open loan)", "share",
            "numeric", _F64, _share(_c("loan_balance"), _c("open_principal")), monotone=1,
        ),
        Feature(
            "max_dpd_12m", segs, src, "近12个月最长逾期天数",
            "maximum days past due in the 12 months to the snapshot (null: no repayment record)",
            "days", "numeric", _I32, _c("max_dpd_12m").cast(pl.Int32), monotone=1, negative=True,
        ),
        Feature(
            "max_dpd_24m", segs, src, "近24个月最长逾期天数",
            "maximum days past due in the 24 months to the snapshot (null: no repayment record)",
            "days", "numeric", _I32, _c("max_dpd_24m").cast(pl.Int32), monotone=1, negative=True,
        ),
        Feature(
            "delinquent_months_24m", segs, src, "近24个月逾期月份数",
            "loan-months with any days past due in the 24 months to the snapshot",
            "loan-months", "numeric", _I32, _n("delinquent_months_24m"), monotone=1,
            negative=True,
        ),
        Feature(
            "repayment_months_12m", segs, src, "近12个月还款记录月份数",
            "loan-months reported in the 12 months to the snapshot (0: not a borrower)",
            "loan-months", "numeric", _I32, _n("repayment_months_12m"),
        ),
    )


def _court_features(segs: tuple[Segment, ...]) -> tuple[Feature, ...]:
    return (
        Feature(
            "enforcement_cases", segs, ("court_enforcement",), "法院强制执行案件数",
            "court enforcement cases filed by the snapshot (within retention)", "cases",
            "numeric", _I32, _n("enforcement_cases"), monotone=1, negative=True,
        ),
    )


def _utility_features(segs: tuple[Segment, ...]) -> tuple[Feature, ...]:
    return (
        Feature(
            "utility_late_bills_12m", segs, ("utility_payments",), "近12个月水电费逾期次数",
            "utility bills (electricity, water) paid late in the 12 months to the snapshot",
            "bills", "numeric", _I32, _n("utility_late_bills_12m"), monotone=1, negative=True,
        ),
    )


FEATURES: tuple[Feature, ...] = (
    # ---------------------------------------------------------------- identifiers
    Feature(
        "entity_id", _BOTH, ("enterprises", "households"), "主体标识(统一社会信用代码或农户编号)",
        "entity id (unified social credit code or household id)", "", "id", _STR,
        _c("entity_id"), role="id",
    ),
    Feature(
        "snapshot_date", _BOTH, (), "快照日期", "snapshot date (features as of this day)", "",
        "date", pl.Date(), _c("snapshot_date"), role="id",
    ),
    Feature(
        "region_code", _BOTH, ("enterprises", "households"), "试点评估地区代码",
        "pilot-evaluation region (city, or Shunde 440606); an id, not a model feature", "",
        "id", _STR, _c("region_code"), role="id",
    ),
    Feature(
        "city_code", _BOTH, ("enterprises", "households"), "地级市代码", "city division code",
        "", "id", _STR, _c("city_code"), role="id",
    ),
    Feature(
        "county_code", _BOTH, ("enterprises", "households"), "县区代码", "county division code",
        "", "id", _STR, _c("county_code"), role="id",
    ),
    Feature(
        "town_code", _HH, ("households",), "乡镇代码", "town code", "", "id", _STR,
        _c("town_code"), role="id",
    ),
    Feature(
        "village_code", _HH, ("households",), "行政村代码", "village code", "", "id", _STR,
        _c("village_code"), role="id",
    ),
    # ---------------------------------------------------------------- SME: registration
    Feature(
        "firm_age_years", _SME, ("enterprises",), "企业成立年限", "years since establishment",
        "years", "numeric", _F64, _age_years("established_date"), monotone=-1,
    ),
    Feature(
        "size_class", _SME, ("enterprises",), "企业规模", "size class", "", "categorical",
        _STR, _c("size_class"), categories=("micro", "small", "medium"),
    ),
    Feature(
        "industry", _SME, ("enterprises",), "行业门类", "industry section (GB/T 4754)", "",
        "categorical", _STR, _c("industry"),
    ),
    Feature(
        "registered_capital", _SME, ("enterprises",), "注册资本", "registered capital",
        "10k CNY", "numeric", _F64, _c("registered_capital").cast(pl.Float64), monotone=-1,
    ),
    # ---------------------------------------------------------------- SME: social insurance
    Feature(
        "employees", _SME, ("social_insurance",), "参保职工人数(近12个月平均)",
        "insured employees, mean over the months reported in the 12 months to the snapshot",
        "persons", "numeric", _F64,
        _share(_c("si_employees_12m").cast(pl.Float64), _c("si_months_12m")), monotone=-1,
    ),
    Feature(
        "si_arrears_months_12m", _SME, ("social_insurance",), "近12个月社保欠缴月份数",
        "months with social-insurance contributions paid short, 12 months to the snapshot",
        "months", "numeric", _I32, _n("si_arrears_months_12m"), monotone=1, negative=True,
    ),
    Feature(
        "si_unpaid_share_12m", _SME, ("social_insurance",), "近12个月社保欠缴比例",
        "share of social-insurance contributions due but not paid, 12 months to the snapshot",
        "share", "numeric", _F64,
        _share(_c("si_due_12m") - _c("si_paid_12m"), _c("si_due_12m")).clip(0.0, 1.0),
        monotone=1, negative=True,
    ),
    # ---------------------------------------------------------------- SME: tax
    Feature(
        "tax_paid_12m", _SME, ("tax_filings",), "近12个月已缴税额",
        "tax paid on returns filed by the snapshot, periods in the 12 months to it", "CNY",
        "numeric", _F64, _c("tax_paid_12m").cast(pl.Float64), monotone=-1,
    ),
    Feature(
        "tax_paid_trend_12m", _SME, ("tax_filings",), "近12个月纳税额趋势",
        "trend of monthly tax paid over the 12 months to the snapshot: OLS slope over the "
        "mean, per month, clipped to [-1, 1] (null: fewer than 3 months or nothing paid)",
        "1/month", "numeric", _F64, _trend("tax_trend"), monotone=-1,
    ),
    Feature(
        "revenue_12m", _SME, ("tax_filings",), "近12个月申报收入",
        "declared revenue on returns filed by the snapshot, 12 months to it", "CNY", "numeric",
        _F64, _c("revenue_12m").cast(pl.Float64), monotone=-1,
    ),
    Feature(
        "tax_filed_months_12m", _SME, ("tax_filings",), "近12个月申报月份数",
        "tax periods in the 12 months to the snapshot with a return filed by it", "months",
        "numeric", _I32, _n("tax_filed_months_12m"), monotone=-1,
    ),
    Feature(
        "late_filings_12m", _SME, ("tax_filings",), "近12个月逾期申报次数",
        "returns of the 12 months to the snapshot whose deadline passed before it and that "
        "were filed late or not at all", "returns", "numeric", _I32, _n("late_filings_12m"),
        monotone=1, negative=True,
    ),
    Feature(
        "zero_declarations_12m", _SME, ("tax_filings",), "近12个月零申报次数",
        "zero declarations filed in the 12 months to the snapshot", "returns", "numeric", _I32,
        _n("zero_declarations_12m"), monotone=1,
    ),
    Feature(
        "tax_arrears_12m", _SME, ("tax_filings",), "近12个月欠缴税款",
        "tax declared but not paid on returns filed by the snapshot, 12 months to it", "CNY",
        "numeric", _F64, _c("tax_arrears_12m").cast(pl.Float64), monotone=1, negative=True,
    ),
    Feature(
        "tax_violations_24m", _SME, ("tax_violations",), "近24个月税务违法违章次数",
        "tax violations recorded in the 24 months to the snapshot", "events", "numeric", _I32,
        _n("tax_violations_24m"), monotone=1, negative=True,
    ),
    Feature(
        "tax_grade", _SME, ("tax_ratings",), "最近一次纳税信用等级",
        "last tax credit grade published by the snapshot (its published_date; without one, "
        f"grades of year Y count from {TAX_GRADE_PUBLISHED[1]} "
        f"{dt.date(2000, TAX_GRADE_PUBLISHED[0], 1):%B} of Y+1); '{UNRATED}' when none "
        "(also when no tax ratings were produced)", "", "categorical",
        _STR, _c("tax_grade").fill_null(UNRATED), categories=(*TAX_GRADES, UNRATED),
    ),
    # ---------------------------------------------------------------- loans (both segments)
    *_loan_features(_SME),
    # ---------------------------------------------------------------- SME: courts, penalties
    *_court_features(_SME),
    Feature(
        "enforcement_open", _SME, ("court_enforcement",), "未结执行案件数",
        "court enforcement cases still open at the snapshot", "cases", "numeric", _I32,
        _n("enforcement_open"), monotone=1, negative=True,
    ),
    Feature(
        "dishonest_listed", _SME, ("court_enforcement",), "失信被执行人",
        "1 if listed as a dishonest judgement debtor in a case open at the snapshot", "0/1",
        "numeric", _I8, (_c("dishonest_open") > 0).cast(pl.Int8), monotone=1, negative=True,
    ),
    Feature(
        "penalties_general", _SME, ("admin_penalties",), "一般行政处罚次数",
        "general administrative penalties decided by the snapshot (within retention)",
        "penalties", "numeric", _I32, _n("penalties_general"), monotone=1, negative=True,
    ),
    Feature(
        "penalties_serious", _SME, ("admin_penalties",), "严重行政处罚次数",
        "serious administrative penalties decided by the snapshot (within retention)",
        "penalties", "numeric", _I32, _n("penalties_serious"), monotone=1, negative=True,
    ),
    # ---------------------------------------------------------------- utilities
    *_utility_features(_SME),
    Feature(
        "utility_max_days_late_12m", _SME, ("utility_payments",), "近12个月水电费最长逾期天数",
        "longest delay of a utility payment in the 12 months to the snapshot (null: no bill)",
        "days", "numeric", _I32, _c("utility_max_days_late_12m").cast(pl.Int32), monotone=1,
        negative=True,
    ),
    Feature(
        "electricity_trend_12m", _SME, ("utility_payments",), "近12个月用电量趋势",
        "trend of monthly electricity use over the 12 months to the snapshot: OLS slope over "
        "the mean, per month, clipped to [-1, 1] (null: fewer than 3 months or no use)",
        "1/month", "numeric", _F64, _trend("elec_trend"), monotone=-1,
    ),
    # ---------------------------------------------------------------- household basics
    Feature(
        "members", _HH, ("households",), "家庭人口", "household members", "persons", "numeric",
        _I32, _c("members").cast(pl.Int32),
    ),
    Feature(
        "labourers", _HH, ("households",), "劳动力人数", "labourers in the household",
        "persons", "numeric", _I32, _c("labourers").cast(pl.Int32), monotone=-1,
    ),
    Feature(
        "land_area", _HH, ("households",), "承包地面积", "contracted land area", "mu",
        "numeric", _F64, _c("land_area").cast(pl.Float64), monotone=-1,
    ),
    Feature(
        "main_income_source", _HH, ("households",), "主要收入来源", "main income source", "",
        "categorical", _STR, _c("main_income_source"), categories=INCOME_SOURCES,
    ),
    Feature(
        "income_estimate", _HH, ("households", "agri_subsidies"), "家庭年收入估算",
        "estimated annual net income: labourers x norm for the main income source + land "
        f"area x CNY {INCOME_PER_MU:.0f}/mu + subsidies of the 12 months to the snapshot "
        "(norms: scoring.features.INCOME_NORMS)", "CNY", "numeric", _F64, _income_estimate(),
        monotone=-1,
    ),
    Feature(
        "cooperative_member", _HH, ("households",), "合作社社员", "1 if member of a cooperative",
        "0/1", "numeric", _I8, _c("cooperative_member").cast(pl.Int8), monotone=-1,
    ),
    Feature(
        "agri_insured", _HH, ("agri_insurance",), "参加农业保险",
        "1 if an agricultural insurance policy is in force at the snapshot", "0/1", "numeric",
        _I8, (_c("insured_active") > 0).cast(pl.Int8), monotone=-1,
    ),
    Feature(
        "insured_amount_12m", _HH, ("agri_insurance",), "近12个月投保金额",
        "sum insured of policies started in the 12 months to the snapshot", "CNY", "numeric",
        _F64, _c("insured_amount_12m").cast(pl.Float64), monotone=-1,
    ),
    Feature(
        "claims_24m", _HH, ("agri_insurance",), "近24个月保险赔款",
        "claims paid on policies that ended in the 24 months to the snapshot", "CNY", "numeric",
        _F64, _c("claims_24m").cast(pl.Float64), monotone=1,
    ),
    Feature(
        "subsidies_12m", _HH, ("agri_subsidies",), "近12个月农业补贴",
        "agricultural subsidies paid in the 12 months to the snapshot", "CNY", "numeric", _F64,
        _c("subsidies_12m").cast(pl.Float64), monotone=-1,
    ),
    # ---------------------------------------------------------------- household loans
    *_loan_features(_HH),
    Feature(
        "max_dpd_retained", _HH, ("loans", "loan_repayments"), "历史最长逾期天数(保存期内)",
        "maximum days past due over the whole loan history within retention (null: no "
        "repayment record)", "days", "numeric", _I32, _c("max_dpd_retained").cast(pl.Int32),
        monotone=1, negative=True,
    ),
    *_court_features(_HH),
    *_utility_features(_HH),
    Feature(
        "public_plus_items", _HH, ("public_records",), "公共记录加分事项数",
        "public-record plus items (model worker, volunteer) by the snapshot", "items",
        "numeric", _I32, _n("public_plus_items"), monotone=-1,
    ),
    Feature(
        "public_minus_items", _HH, ("public_records",), "公共记录减分事项数",
        "public-record minus items (lawsuit, debt evasion, loan misuse, arrears) by the "
        "snapshot, within retention", "items", "numeric", _I32, _n("public_minus_items"),
        monotone=1, negative=True,
    ),
    # ---------------------------------------------------------------- village context
    Feature(
        "village_households", _HH, ("households",), "本村农户数",
        "households registered in the village at the snapshot", "households", "numeric", _I32,
        _c("_village_households").cast(pl.Int32), stage=2,
    ),
    Feature(
        "village_borrower_share", _HH, ("households", "loan_repayments"), "本村其他农户借款比例",
        "share of the village's other households with a loan reported in the 12 months to "
        "the snapshot (leave-one-out; null: no other household)", "share", "numeric", _F64,
        _village_loo("_village_borrowers", _borrower(), "_village_households", pl.lit(1)),
        stage=2,
    ),
    Feature(
        "village_arrears_share", _HH, ("households", "loan_repayments"), "本村其他借款户逾期比例",
        "share of the village's other borrowers with any days past due in the 12 months to "
        "the snapshot (leave-one-out; null: no other borrower)", "share", "numeric", _F64,
        _village_loo("_village_in_arrears", _in_arrears(), "_village_borrowers", _borrower()),
        monotone=1, negative=True, stage=2,
    ),
    # ---------------------------------------------------------------- flags and outcome
    Feature(
        "open_disputes", _BOTH, ("disputes",), "未决异议数",
        "disputes (objections) open at the snapshot on this entity's records; a record under "
        "an open dispute is left out of the features when collection.exclude_open_disputes",
        "disputes", "numeric", _I32, _n("open_disputes"), role="flag",
    ),
    Feature(
        "unresolved_disputes", _BOTH, ("disputes",), "异议未能解决的记录数",
        "disputes closed as unresolved by the snapshot (the record is used, with this note)",
        "disputes", "numeric", _I32, _n("unresolved_disputes"), role="flag",
    ),
    Feature(
        "default", _BOTH, ("loans", "loan_repayments"), "违约(快照后12个月内逾期90天以上)",
        "1 if any loan of the entity reaches province.default_dpd days past due in the "
        "province.outcome_months after the snapshot, else 0; null when not observable",
        "0/1", "numeric", _I8, _c("default"), role="outcome",
    ),
    Feature(
        "observable", _BOTH, ("loan_repayments",), "违约结果可观测",
        "true when the outcome window ends by province.data_end and the entity has a "
        "repayment record in it", "", "numeric", pl.Boolean(), _c("observable"),
        role="outcome",
    ),
)
# fmt: on
"""Every column of the credit files, in output order (per segment: filter by segment)."""


def _check_segment(segment: str) -> None:
    if segment not in SEGMENTS:
        raise ConfigError(f"'segment' must be one of {', '.join(SEGMENTS)}; got {segment!r}.")


def features_for(segment: str, *, role: Role | None = "feature") -> tuple[Feature, ...]:
    """The columns of a segment's credit file with ``role`` (``None``: every column).

    Examples
    --------
    >>> [f.name for f in features_for("household", role="id")][-3:]
    ['county_code', 'town_code', 'village_code']
    >>> features_for("bank")
    Traceback (most recent call last):
    ...
    scoring.exceptions.ConfigError: 'segment' must be one of sme, household; got 'bank'.
    """
    _check_segment(segment)
    return tuple(f for f in FEATURES if segment in f.segments and (role is None or f.role == role))


def feature_names(segment: str) -> list[str]:
    """Names of the model features of ``segment`` (no ids, flags or outcome).

    Examples
    --------
    >>> "region_code" in feature_names("sme"), "tax_grade" in feature_names("sme")
    (False, True)
    """
    return [f.name for f in features_for(segment)]


def _monotone_text(m: int | None) -> str:
    return {1: "+", -1: "-"}.get(m, "") if m is not None else ""


def feature_dictionary() -> pl.DataFrame:
    """The feature dictionary: one row per segment and credit-file column.

    Examples
    --------
    >>> d = feature_dictionary()
    >>> d.columns[:6]
    ['segment', 'name', 'role', 'kind', 'dtype', 'unit']
    >>> d.filter(pl.col("name") == "tax_grade").get_column("categories").item()
    'A, B, M, C, D, unrated'
    """
    rows = [
        {
            "segment": seg,
            "name": f.name,
            "role": f.role,
            "kind": f.kind,
            "dtype": str(f.dtype),
            "unit": f.unit,
            "zh": f.zh,
            "en": f.en,
            "sources": ", ".join(f.sources),
            "monotone": f.monotone,
            "negative": f.negative,
            "categories": ", ".join(f.categories),
        }
        for seg in SEGMENTS
        for f in FEATURES
        if seg in f.segments
    ]
    return pl.DataFrame(rows, schema_overrides={"monotone": pl.Int8})


def feature_dictionary_markdown() -> str:
    """The feature dictionary as Markdown, one table per segment.

    Examples
    --------
    >>> feature_dictionary_markdown().splitlines()[0]
    '# Feature dictionary: credit files (信用档案)'
    """
    titles = {
        "sme": "SME credit files (中小微企业信用档案)",
        "household": "Household credit files (农户信用档案)",
    }
    lines = [
        "# Feature dictionary: credit files (信用档案)",
        "",
        "Generated from `scoring/features.py`; do not edit by hand. One row per entity per "
        "snapshot date; every feature uses only records dated on or before the snapshot. "
        "Direction: `+` a higher value should mean higher default risk, `-` lower. "
        "Negative: built from negative records, which are not used once their behaviour "
        "ended more than `collection.retention_years` before the snapshot.",
        "",
    ]
    for seg in SEGMENTS:
        lines += [
            f"## {titles[seg]}: `{seg}_credit_files.parquet`",
            "",
            "| column | role | kind | type | unit | 中文 | meaning | sources | direction "
            "| negative |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for f in features_for(seg, role=None):
            meaning = f.en + (f" ({', '.join(f.categories)})" if f.categories else "")
            lines.append(
                f"| `{f.name}` | {f.role} | {f.kind} | {f.dtype} | {f.unit} | {f.zh} | {meaning} "
                f"| {', '.join(f.sources)} | {_monotone_text(f.monotone)} | "
                f"{'yes' if f.negative else ''} |"
            )
        lines.append("")
    return "\n".join(lines)
