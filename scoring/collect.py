"""Collection (归集): validated department records -> credit files, one row per entity per snapshot.

The rules, applied per snapshot date ``S`` (the year ends of ``province.snapshots``):

- **Entities**: SMEs established on or before ``S`` and not deregistered by then;
  households registered on or before ``S``. Personal data (the head's id number and
  name) is never read.
- **No leakage**: a feature at ``S`` uses only records dated on or before ``S`` (a
  monthly record counts from its month's last day; a repayment also needs its loan
  originated by ``S``), and only what was known at ``S`` (a return's amounts once it
  was filed; a late filing once its deadline passed; a court case is open at ``S`` when
  not closed by ``S``).
- **Retention** (征信业管理条例 Art.16): a negative record whose behaviour ended more
  than ``collection.retention_years`` before ``S`` is not used. The end of the
  behaviour: ``ended_date`` / ``closed_date``, or the event date when there is none; a
  court case without ``closed_date`` (or closed after ``S``) is still going on and is
  kept.
- **Disputes** (Art.25): a record under a dispute open at ``S`` is counted in the
  ``open_disputes`` flag and, when ``collection.exclude_open_disputes``, left out of
  the features. Once resolved (``resolved_date`` on or before ``S``): ``corrected``
  drops the record from then on (the department's corrected data arrives as records of
  its own); ``upheld`` uses it; ``unresolved`` uses it and counts it in
  ``unresolved_disputes``. A dispute on a loan covers its repayment records too; a
  dispute on a registration row is flagged only. The disputes are the validated
  ``disputes`` table and the objection store (``paths.disputes_db``, ``scoring
  dispute``), the store's state winning for a dispute in both.
- **Outcome**: ``default`` is 1 when any loan of the entity reaches
  ``province.default_dpd`` days past due in a repayment month ending in
  ``(S, S + outcome_months]``, else 0; ``observable`` is true when that window ends
  by ``province.data_end`` and the entity has a repayment record in it, and
  ``default`` is null otherwise. Repayment records whose dispute was resolved as
  corrected are not used for the outcome.

The pure functions (:func:`build_credit_file`, :func:`aggregate_source`, ...) take and
return ``LazyFrame`` objects; :func:`collect_credit_files` wires them to the data
folders and writes the files atomically, rows sorted by ``snapshot_date`` and
``entity_id``. No Python loop runs over rows; the loops run over snapshots and sources
while building expressions. Each source is read once for all snapshots: every
aggregate becomes one masked column per snapshot in a single group-by, and dates are
compared by moving the snapshot side (no calendar arithmetic per row).

Examples
--------
>>> rules = CollectionRules(snapshots=(dt.date(2012, 12, 31),), outcome_months=12,
...     default_dpd=90, data_end=dt.date(2014, 12, 31), retention_years=5,
...     exclude_open_disputes=True)
>>> rules.retention_cutoff(dt.date(2012, 12, 31))
datetime.date(2007, 12, 31)
"""

from __future__ import annotations

import calendar
import datetime as dt
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from scoring.config import WorkbenchConfig
from scoring.disputes import disputes_in_force, record_left_out
from scoring.exceptions import ConfigError, SchemaError
from scoring.features import (
    CONTEXT_KEYS,
    CONTEXT_TOTALS,
    SEGMENTS,
    TAX_GRADE_PUBLISHED,
    Aggregate,
    Day,
    Source,
    feature_dictionary_markdown,
    features_for,
    sources_for,
)
from scoring.geo import SHUNDE
from scoring.schema import TABLES
from scoring.storage import find_table, scan_table, write_parquet, write_text

__all__ = [
    "TAX_RATINGS_FILE",
    "CollectionRules",
    "CollectionSummary",
    "add_months",
    "aggregate_source",
    "assemble_credit_file",
    "build_credit_file",
    "collect_credit_files",
    "credit_file_schema",
    "dispute_flags",
    "dispute_status",
    "entity_frame",
    "last_rated_year",
    "outcome_columns",
    "outcome_frame",
    "region_code_expr",
    "required_tables",
    "tax_grade_frame",
    "wide_credit_frame",
    "write_credit_files",
    "years_before",
]

TAX_RATINGS_FILE = "tax_ratings.parquet"
"""The tax rating output (credit_code, year, grade) read from ``paths.ratings`` if present."""

_ENTITY_TABLE = {"sme": "enterprises", "household": "households"}


# ----------------------------------------------------------------------------- dates


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` shifted by whole months; a month's last day stays the last day.

    Examples
    --------
    >>> add_months(dt.date(2013, 2, 28), -12)
    datetime.date(2012, 2, 29)
    >>> add_months(dt.date(2012, 12, 31), 12)
    datetime.date(2013, 12, 31)
    >>> add_months(dt.date(2012, 1, 15), 1)
    datetime.date(2012, 2, 15)
    """
    y, m = divmod(day.year * 12 + day.month - 1 + months, 12)
    m += 1
    last = calendar.monthrange(y, m)[1]
    is_last = day.day == calendar.monthrange(day.year, day.month)[1]
    return dt.date(y, m, last if is_last else min(day.day, last))


def years_before(day: dt.date, years: int) -> dt.date:
    """``day`` moved back whole years (29 February -> 28 February).

    Examples
    --------
    >>> years_before(dt.date(2012, 2, 29), 5)
    datetime.date(2007, 2, 28)
    """
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


# ----------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class CollectionRules:
    """The collection rules as plain values (from config; see :meth:`from_config`).

    Examples
    --------
    >>> from scoring.config import load_config
    >>> r = CollectionRules.from_config(load_config())
    >>> [d.year for d in r.snapshots], r.default_dpd, r.retention_years
    ([2010, 2011, 2012, 2013], 90, 5)
    """

    snapshots: tuple[dt.date, ...]
    outcome_months: int
    default_dpd: int
    data_end: dt.date
    retention_years: int
    exclude_open_disputes: bool

    def __post_init__(self) -> None:
        if not self.snapshots:
            raise ConfigError("'snapshots' must hold at least one date; got none.")
        if list(self.snapshots) != sorted(set(self.snapshots)):
            raise ConfigError(
                f"'snapshots' must be distinct dates in increasing order; "
                f"got {[d.isoformat() for d in self.snapshots]}."
            )
        for name in ("outcome_months", "default_dpd", "retention_years"):
            if getattr(self, name) < 1:
                raise ConfigError(f"'{name}' must be an integer >= 1; got {getattr(self, name)}.")

    @classmethod
    def from_config(
        cls, config: WorkbenchConfig, *, snapshots: Sequence[dt.date] | None = None
    ) -> CollectionRules:
        """Rules from the configuration; ``snapshots`` replaces ``province.snapshots``."""
        prov = config.province
        snaps = tuple(sorted(set(snapshots))) if snapshots else prov.snapshots
        bad = [d for d in snaps if not prov.data_start <= d <= prov.data_end]
        if bad:
            raise ConfigError(
                f"'snapshot' must be between province.data_start {prov.data_start} and "
                f"province.data_end {prov.data_end}; got {', '.join(d.isoformat() for d in bad)}."
            )
        return cls(
            snapshots=snaps,
            outcome_months=prov.outcome_months,
            default_dpd=prov.default_dpd,
            data_end=prov.data_end,
            retention_years=config.collection.retention_years,
            exclude_open_disputes=config.collection.exclude_open_disputes,
        )

    def retention_cutoff(self, snapshot: dt.date) -> dt.date:
        """Negative records whose behaviour ended before this day are not used at ``snapshot``."""
        return years_before(snapshot, self.retention_years)

    def outcome_end(self, snapshot: dt.date) -> dt.date:
        """Last day of the outcome window of ``snapshot``."""
        return add_months(snapshot, self.outcome_months)


# ----------------------------------------------------------------------------- inputs


def required_tables(segment: str) -> tuple[str, ...]:
    """Raw tables a segment's credit file is built from.

    Examples
    --------
    >>> required_tables("household")[:2]
    ('households', 'disputes')
    """
    names = [_ENTITY_TABLE[segment], "disputes", *(s.table for s in sources_for(segment))]
    return tuple(dict.fromkeys(names))


def _check_columns(tables: Mapping[str, pl.LazyFrame], names: Sequence[str]) -> None:
    for name in names:
        if name not in tables:
            raise SchemaError(f"'tables' must include table '{name}'; got {sorted(tables)}.")
        have = tables[name].collect_schema()
        for col in TABLES[name].columns:
            if col.personal:
                continue
            if col.name not in have:
                raise SchemaError(
                    f"'{name}.{col.name}' must be a column of table '{name}'; got columns "
                    f"{list(have)}."
                )
            if have[col.name] != col.dtype:
                raise SchemaError(
                    f"'{name}.{col.name}' must be of type {col.dtype}; got {have[col.name]}."
                )


def region_code_expr(county: pl.Expr) -> pl.Expr:
    """The pilot-evaluation region of a county column (vectorised ``geo.region_of_county``).

    Examples
    --------
    >>> pl.select(region_code_expr(pl.lit("440606")), r=region_code_expr(pl.lit("440605"))).row(0)
    ('440606', '440600')
    """
    return pl.when(county == SHUNDE).then(pl.lit(SHUNDE)).otherwise(county.str.slice(0, 4) + "00")


def entity_frame(tables: Mapping[str, pl.LazyFrame], *, segment: str) -> pl.LazyFrame:
    """Registration columns of a segment's entities, with ``entity_id`` and ``region_code``.

    ``_from`` / ``_until`` bound the days the entity exists (``_until`` exclusive, null
    while it exists). Personal columns are never selected.

    Examples
    --------
    >>> empty = {n: pl.LazyFrame(schema=t.schema) for n, t in TABLES.items()}
    >>> cols = entity_frame(empty, segment="household").collect_schema().names()
    >>> cols[:2], "head_id_number" in cols
    (['entity_id', 'city_code'], False)
    """
    if segment == "sme":
        lf = tables["enterprises"].select(
            pl.col("credit_code").alias("entity_id"),
            "city_code",
            "county_code",
            "industry",
            "size_class",
            "registered_capital",
            "established_date",
            pl.col("established_date").alias("_from"),
            pl.col("deregistered_date").alias("_until"),
        )
    elif segment == "household":
        lf = tables["households"].select(
            pl.col("household_id").alias("entity_id"),
            "city_code",
            "county_code",
            "town_code",
            "village_code",
            "members",
            "labourers",
            "land_area",
            "main_income_source",
            "cooperative_member",
            pl.col("registered_date").alias("_from"),
            pl.lit(None, pl.Date).alias("_until"),
        )
    else:
        raise ConfigError(f"'segment' must be one of {', '.join(SEGMENTS)}; got {segment!r}.")
    return lf.with_columns(region_code=region_code_expr(pl.col("county_code")))


def _exists(snapshot: dt.date) -> pl.Expr:
    return (pl.col("_from") <= snapshot) & (
        pl.col("_until").is_null() | (pl.col("_until") > snapshot)
    )


# ----------------------------------------------------------------------------- disputes


def dispute_status(disputes: pl.LazyFrame, rules: CollectionRules) -> pl.LazyFrame:
    """Per disputed record: whether it is left out at each snapshot, and if ever corrected.

    Columns: ``source_table``, ``source_record_id``, ``_x{k}`` (left out at snapshot
    ``k``: under an open dispute when ``exclude_open_disputes``, or corrected by
    then) and ``_xc`` (resolved as corrected at any time; used for the outcome).
    Disputes opened after a snapshot do not affect it.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> rules = CollectionRules.from_config(
    ...     load_config(), snapshots=[dt.date(2012, 12, 31), dt.date(2013, 12, 31)]
    ... )
    >>> d = pl.LazyFrame({"source_table": ["admin_penalties"], "source_record_id": ["AP1"],
    ...     "opened_date": [dt.date(2012, 6, 1)], "resolved_date": [dt.date(2013, 2, 1)],
    ...     "outcome": ["upheld"]})
    >>> dispute_status(d, rules).collect().row(0)  # open at the first snapshot only
    ('admin_penalties', 'AP1', True, False, False)
    """
    resolved_at = pl.when(pl.col("outcome").is_not_null()).then(pl.col("resolved_date"))
    cols = [
        record_left_out(s, exclude_open=rules.exclude_open_disputes).any().alias(f"_x{k}")
        for k, s in enumerate(rules.snapshots)
    ]
    cols.append(
        (resolved_at.is_not_null() & (pl.col("outcome") == "corrected"))
        .fill_null(False)
        .any()
        .alias("_xc")
    )
    return disputes.group_by("source_table", "source_record_id").agg(cols)


def dispute_flags(disputes: pl.LazyFrame, rules: CollectionRules, *, segment: str) -> pl.LazyFrame:
    """Per entity: disputes open at each snapshot and disputes closed unresolved by then.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> rules = CollectionRules.from_config(load_config(), snapshots=[dt.date(2012, 12, 31)])
    >>> d = pl.LazyFrame({"entity_type": ["sme"], "entity_id": ["A"],
    ...     "opened_date": [dt.date(2012, 6, 1)], "resolved_date": [dt.date(2012, 7, 1)],
    ...     "outcome": ["unresolved"]})
    >>> dispute_flags(d, rules, segment="sme").collect().row(0)
    ('A', 0, 1)
    """
    resolved_at = pl.when(pl.col("outcome").is_not_null()).then(pl.col("resolved_date"))
    cols = []
    for k, s in enumerate(rules.snapshots):
        opened = pl.col("opened_date") <= s
        resolved = (resolved_at <= s).fill_null(False)
        cols += [
            (opened & ~resolved).sum().alias(f"open_disputes@{k}"),
            (opened & resolved & (pl.col("outcome") == "unresolved"))
            .fill_null(False)
            .sum()
            .alias(f"unresolved_disputes@{k}"),
        ]
    return disputes.filter(pl.col("entity_type") == segment).group_by("entity_id").agg(cols)


def _attach_exclusions(
    lf: pl.LazyFrame, status: pl.DataFrame, *, table: str, key: str, prefix: str, k: int
) -> tuple[pl.LazyFrame, bool]:
    """Left-join the exclusion flags of ``table``'s disputed records; skip when none."""
    rows = status.filter(pl.col("source_table") == table)
    if rows.height == 0:
        return lf, False
    flags = rows.select(
        pl.col("source_record_id").alias(key),
        *[pl.col(f"_x{i}").alias(f"{prefix}{i}") for i in range(k)],
        pl.col("_xc").alias(f"{prefix}c"),
    )
    return lf.join(flags.lazy(), on=key, how="left"), True


# ----------------------------------------------------------------------------- sources


def _segment_records(
    tables: Mapping[str, pl.LazyFrame],
    table: str,
    *,
    segment: str,
    status: pl.DataFrame,
    k: int,
) -> tuple[pl.LazyFrame, list[str]]:
    """A source table's records of one segment with ``_eid``, ``_date`` and exclusion flags.

    ``_date`` is the latest of the record's own date and its parent's (a repayment's
    loan origination): a record counts at ``S`` only when ``_date <= S``.
    Returns the frame and the prefixes of its exclusion flag columns.
    """
    spec = TABLES[table]
    lf = tables[table]
    prefixes: list[str] = []
    if table == "loan_repayments":
        loans = _segment_loans(tables, segment=segment)
        loans, has = _attach_exclusions(
            loans, status, table="loans", key="loan_id", prefix="_lx", k=k
        )
        if has:
            prefixes.append("_lx")
        lf = lf.join(loans, on="loan_id", how="inner").with_columns(
            _date=pl.max_horizontal("month", "origination_date")
        )
    else:
        if spec.entity_type is None:
            lf = lf.filter(pl.col("entity_type") == segment)
        elif spec.entity_type != segment:
            raise ConfigError(f"'{table}' must be a source of {spec.entity_type}; got {segment!r}.")
        lf = lf.with_columns(_eid=pl.col(str(spec.entity)), _date=pl.col(str(spec.date_column)))
    lf, has = _attach_exclusions(lf, status, table=table, key=spec.key, prefix="_x", k=k)
    if has:
        prefixes.append("_x")
    return lf, prefixes


def _segment_loans(tables: Mapping[str, pl.LazyFrame], *, segment: str) -> pl.LazyFrame:
    return (
        tables["loans"]
        .filter(pl.col("entity_type") == segment)
        .select(
            "loan_id",
            pl.col("entity_id").alias("_eid"),
            "origination_date",
            "principal",
        )
    )


def aggregate_source(
    records: pl.LazyFrame,
    source: Source,
    rules: CollectionRules,
    *,
    exclusion_prefixes: Sequence[str] = (),
    names: Collection[str] | None = None,
    extra: tuple[Sequence[pl.Expr], Sequence[pl.Expr]] = ((), ()),
) -> pl.LazyFrame:
    """Aggregate one source per entity for every snapshot: ``_eid`` + ``<aggregate>@<k>``.

    ``records`` carry ``_eid`` (entity id) and ``_date`` (the record's visibility date)
    besides the source's own columns; ``exclusion_prefixes`` name boolean columns
    ``<prefix><k>`` marking records left out at snapshot ``k`` by a dispute; ``names``
    limits the aggregates computed (default: all of the source's); ``extra`` adds
    masked columns and their aggregations to the same pass (e.g. :func:`outcome_columns`).

    One scan and one group-by serve all snapshots: each aggregate becomes one masked
    column per snapshot. Sums are added in fixed point (hundredths of the unit), exactly,
    so the same records give the same bytes whatever order the engine reads them in.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> from scoring.features import SOURCES
    >>> rules = CollectionRules.from_config(
    ...     load_config(), snapshots=[dt.date(2012, 12, 31), dt.date(2013, 12, 31)]
    ... )
    >>> days = [dt.date(2012, 3, 1), dt.date(2013, 3, 1)]
    >>> penalties = pl.LazyFrame({"_eid": ["A", "A"], "_date": days, "decision_date": days,
    ...     "severity": ["general", "serious"]})
    >>> out = aggregate_source(penalties, SOURCES["admin_penalties"], rules).collect()
    >>> out.columns[1:3], out.row(0)
    (['penalties_general@0', 'penalties_serious@0'], ('A', 1, 0, 1, 1))
    """
    chosen = _selected(source, names)
    # each distinct window (date, look-back, known-from) is evaluated once per snapshot
    windows: list[tuple[Day, int | None, Day | None]] = []
    window_of: list[int] = []
    for a in chosen:
        key = (a.at if a.at is not None else source.observed, a.months, a.known)
        if key not in windows:
            windows.append(key)
        window_of.append(windows.index(key))
    derived: dict[str, pl.Expr] = {}
    if source.negative is not None:
        derived["_neg"] = source.negative.fill_null(False)
    for i, a in enumerate(chosen):
        if callable(a.value):
            continue
        if a.how == "count":
            derived[f"_v{i}"] = a.value.fill_null(False)
        elif a.how == "sum":
            # fixed point (1/100 of the unit): integer sums are exact, so the result does not
            # depend on the order the engine adds records in
            derived[f"_v{i}"] = (a.value.cast(pl.Float64) * _SCALE).round().cast(pl.Int64)
        else:
            derived[f"_v{i}"] = a.value
    pre = records.with_columns(**derived) if derived else records

    ended = source.ended if source.ended is not None else source.observed
    masks: dict[str, pl.Expr] = {}
    for k, s in enumerate(rules.snapshots):
        base = (pl.col("_date") <= s) & source.observed.on_or_before(s)
        if source.negative is not None:
            expired = pl.col("_neg") & ended.before(rules.retention_cutoff(s)).fill_null(False)
            base = base & ~expired
        for prefix in exclusion_prefixes:
            base = base & ~pl.col(f"{prefix}{k}").fill_null(False)
        for j, (at, months, known) in enumerate(windows):
            cond = base & at.on_or_before(s)
            if months is not None:
                cond = cond & at.after(add_months(s, -months))
            if known is not None:
                cond = cond & known.on_or_before(s)
            masks[f"_w{k}_{j}"] = cond.fill_null(False)
    pre = pre.with_columns(**masks)

    masked: list[pl.Expr] = []
    aggs: list[pl.Expr] = []
    for k, s in enumerate(rules.snapshots):
        for i, a in enumerate(chosen):
            cond = pl.col(f"_w{k}_{window_of[i]}")
            name = f"{a.name}@{k}"
            if callable(a.value):
                value = a.value(s)
                if a.how == "sum":
                    value = (value.cast(pl.Float64) * _SCALE).round().cast(pl.Int64)
            else:
                value = pl.col(f"_v{i}")
            if a.how == "count":
                masked.append((cond & value.fill_null(False)).alias(name))
                aggs.append(pl.col(name).sum())
            elif a.how == "sum":
                masked.append(pl.when(cond).then(value).alias(name))
                aggs.append(pl.col(name).sum() / _SCALE)
            else:
                masked.append(pl.when(cond).then(value).alias(name))
                aggs.append(pl.col(name).max())
    return pre.select("_eid", *masked, *extra[0]).group_by("_eid").agg(*aggs, *extra[1])


_SCALE = 100.0


def _selected(source: Source, names: Collection[str] | None) -> tuple[Aggregate, ...]:
    return tuple(a for a in source.aggregates if names is None or a.name in names)


# ----------------------------------------------------------------------------- outcome


def outcome_columns(
    rules: CollectionRules, *, exclusion_prefixes: Sequence[str] = ()
) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """Masked columns and their aggregations for the outcome of every snapshot.

    Over repayment records (with ``month`` and ``days_past_due``): ``_out_n@k`` counts
    the repayment months ending in ``(S, S + outcome_months]``, ``_out_dpd@k`` is their
    maximum days past due. Records whose dispute was resolved as corrected (column
    ``<prefix>c``) are left out.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> rules = CollectionRules.from_config(load_config(), snapshots=[dt.date(2012, 12, 31)])
    >>> masked, aggs = outcome_columns(rules)
    >>> reps = pl.LazyFrame({"_eid": ["A", "A", "A"], "days_past_due": [120, 90, 30],
    ...     "month": [dt.date(2012, 12, 1), dt.date(2013, 12, 1), dt.date(2014, 1, 1)]})
    >>> reps.select("_eid", *masked).group_by("_eid").agg(aggs).collect().row(0)
    ('A', 1, 90)
    """
    keep = pl.lit(True)
    for prefix in exclusion_prefixes:
        keep = keep & ~pl.col(f"{prefix}c").fill_null(False)
    month_end = Day(("month",), month_end=True)
    masked: list[pl.Expr] = []
    aggs: list[pl.Expr] = []
    for i, s in enumerate(rules.snapshots):
        cond = keep & month_end.after(s) & month_end.on_or_before(rules.outcome_end(s))
        masked += [
            cond.alias(f"_out_n@{i}"),
            pl.when(cond).then(pl.col("days_past_due")).alias(f"_out_dpd@{i}"),
        ]
        aggs += [pl.col(f"_out_n@{i}").sum(), pl.col(f"_out_dpd@{i}").max()]
    return masked, aggs


def outcome_frame(
    tables: Mapping[str, pl.LazyFrame],
    rules: CollectionRules,
    *,
    segment: str,
) -> pl.LazyFrame:
    """Per entity and snapshot window ``(S, S + outcome_months]``: repayment months and max DPD.

    Columns ``_eid``, ``_out_n@k`` and ``_out_dpd@k`` (see :func:`outcome_columns`).
    :func:`build_credit_file` computes the same columns in its pass over the repayments.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> rules = CollectionRules.from_config(load_config(), snapshots=[dt.date(2012, 12, 31)])
    >>> empty = {n: pl.LazyFrame(schema=t.schema) for n, t in TABLES.items()}
    >>> outcome_frame(empty, rules, segment="sme").collect_schema().names()
    ['_eid', '_out_n@0', '_out_dpd@0']
    """
    status = dispute_status(tables["disputes"], rules).collect()
    records, prefixes = _segment_records(
        tables, "loan_repayments", segment=segment, status=status, k=len(rules.snapshots)
    )
    masked, aggs = outcome_columns(rules, exclusion_prefixes=prefixes)
    return records.select("_eid", *masked).group_by("_eid").agg(aggs)


# ----------------------------------------------------------------------------- tax grades


def last_rated_year(snapshot: dt.date) -> int:
    """The latest rating year whose tax grades are published by ``snapshot``.

    Examples
    --------
    >>> last_rated_year(dt.date(2012, 12, 31)), last_rated_year(dt.date(2013, 4, 29))
    (2011, 2011)
    """
    month, day = TAX_GRADE_PUBLISHED
    published = dt.date(snapshot.year, month, day)
    return snapshot.year - 1 if snapshot >= published else snapshot.year - 2


def tax_grade_frame(ratings: pl.LazyFrame, rules: CollectionRules) -> pl.LazyFrame:
    """Per taxpayer: the last tax grade published by each snapshot (``_eid``, ``tax_grade@k``).

    A grade counts from its ``published_date`` when the ratings carry one (the tax
    rating output does), else from the day :func:`last_rated_year` allows.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> rules = CollectionRules.from_config(load_config(), snapshots=[dt.date(2012, 12, 31)])
    >>> grades = pl.LazyFrame({"credit_code": ["A", "A"], "year": [2011, 2012],
    ...     "grade": ["B", "A"], "published_date": [dt.date(2012, 4, 1), dt.date(2013, 4, 1)]})
    >>> tax_grade_frame(grades, rules).collect().row(0)
    ('A', 'B')
    """
    has_published = "published_date" in ratings.collect_schema()
    aggs = []
    for k, s in enumerate(rules.snapshots):
        known = (
            pl.col("published_date") <= s if has_published else pl.col("year") <= last_rated_year(s)
        ).fill_null(False)
        aggs.append(
            pl.col("grade")
            .filter(known)
            .sort_by(pl.col("year").filter(known))
            .last()
            .alias(f"tax_grade@{k}")
        )
    published = [pl.col("published_date")] if has_published else []
    return (
        ratings.select(
            pl.col("credit_code").alias("_eid"),
            pl.col("year").cast(pl.Int32),
            pl.col("grade").cast(pl.String),
            *published,
        )
        .group_by("_eid")
        .agg(aggs)
    )


# ----------------------------------------------------------------------------- assembly


def credit_file_schema(segment: str) -> pl.Schema:
    """Column names and types of a segment's credit file.

    Examples
    --------
    >>> s = credit_file_schema("sme")
    >>> s["default"], s["observable"], "head_id_number" in s
    (Int8, Boolean, False)
    """
    return pl.Schema({f.name: f.dtype for f in features_for(segment, role=None)})


def build_credit_file(
    tables: Mapping[str, pl.LazyFrame],
    *,
    segment: str,
    rules: CollectionRules,
    tax_grades: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """The credit file of one segment: one row per entity per snapshot, in dictionary order.

    Parameters
    ----------
    tables
        Validated raw tables by name (``scoring.schema.TABLES``), as lazy frames.
    segment
        ``"sme"`` or ``"household"``.
    rules
        Snapshots, outcome definition, retention and dispute handling.
    tax_grades
        The tax rating output (``credit_code``, ``year``, ``grade``); without it every
        SME's ``tax_grade`` is ``"unrated"``.

    Examples
    --------
    >>> import tempfile
    >>> from scoring.features import feature_names
    >>> rules = CollectionRules(snapshots=(dt.date(2012, 12, 31),), outcome_months=12,
    ...     default_dpd=90, data_end=dt.date(2014, 12, 31), retention_years=5,
    ...     exclude_open_disputes=True)
    >>> tables = {n: pl.LazyFrame(schema=t.schema) for n, t in TABLES.items()}
    >>> build_credit_file(tables, segment="sme", rules=rules).collect().height
    0
    """
    wide = wide_credit_frame(tables, segment=segment, rules=rules, tax_grades=tax_grades)
    return assemble_credit_file(
        wide, segment=segment, rules=rules, tax_grades=tax_grades is not None
    )


def wide_credit_frame(
    tables: Mapping[str, pl.LazyFrame],
    *,
    segment: str,
    rules: CollectionRules,
    tax_grades: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """One row per entity: registration columns and every aggregate of every snapshot.

    Columns ``_eid``, the entity's registration columns, ``<aggregate>@<k>``, the dispute
    flags, ``_out_n@k`` / ``_out_dpd@k`` and (SMEs) ``tax_grade@k``;
    :func:`assemble_credit_file` turns it into the credit file.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> rules = CollectionRules.from_config(load_config(), snapshots=[dt.date(2012, 12, 31)])
    >>> empty = {n: pl.LazyFrame(schema=t.schema) for n, t in TABLES.items()}
    >>> wide = wide_credit_frame(empty, segment="sme", rules=rules)
    >>> [c for c in wide.collect_schema() if c.startswith("max_dpd")]
    ['max_dpd_12m@0', 'max_dpd_24m@0']
    """
    if segment not in SEGMENTS:
        raise ConfigError(f"'segment' must be one of {', '.join(SEGMENTS)}; got {segment!r}.")
    _check_columns(tables, required_tables(segment))
    k = len(rules.snapshots)
    # disputes are few: their per-record status is computed once, eagerly
    status = dispute_status(tables["disputes"], rules).collect()
    needed = _needed(segment)
    wide = entity_frame(tables, segment=segment).rename({"entity_id": "_eid"})
    outcome_done = False
    for source in sources_for(segment):
        if not _selected(source, needed):
            continue
        records, prefixes = _segment_records(
            tables, source.table, segment=segment, status=status, k=k
        )
        extra: tuple[list[pl.Expr], list[pl.Expr]] = ([], [])
        if source.table == "loan_repayments":  # the outcome comes from the same pass
            extra = outcome_columns(rules, exclusion_prefixes=prefixes)
            outcome_done = True
        part = aggregate_source(
            records, source, rules, exclusion_prefixes=prefixes, names=needed, extra=extra
        )
        wide = wide.join(part, on="_eid", how="left")
    if not outcome_done:
        wide = wide.join(outcome_frame(tables, rules, segment=segment), on="_eid", how="left")
    flags = dispute_flags(tables["disputes"], rules, segment=segment).rename({"entity_id": "_eid"})
    wide = wide.join(flags, on="_eid", how="left")
    if segment == "sme" and tax_grades is not None:
        wide = wide.join(tax_grade_frame(tax_grades, rules), on="_eid", how="left")
    return wide


def _needed(segment: str) -> set[str]:
    """Column names the segment's feature expressions read (aggregates among them)."""
    return {name for f in features_for(segment, role=None) for name in f.expr.meta.root_names()}


def assemble_credit_file(
    wide: pl.LazyFrame | pl.DataFrame,
    *,
    segment: str,
    rules: CollectionRules,
    tax_grades: bool = False,
) -> pl.LazyFrame:
    """The credit file from :func:`wide_credit_frame`: one row per entity per snapshot.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> rules = CollectionRules.from_config(load_config(), snapshots=[dt.date(2012, 12, 31)])
    >>> empty = {n: pl.LazyFrame(schema=t.schema) for n, t in TABLES.items()}
    >>> wide = wide_credit_frame(empty, segment="sme", rules=rules).collect()
    >>> assemble_credit_file(wide, segment="sme", rules=rules).collect_schema() == (
    ...     credit_file_schema("sme"))
    True
    """
    wide = wide.lazy()
    columns = features_for(segment, role=None)
    needed = _needed(segment)
    aggregates = [a for src in sources_for(segment) for a in _selected(src, needed)]
    static = [c for c in wide.collect_schema() if "@" not in c and not c.startswith("_")]
    stage1 = [f for f in columns if f.stage == 1]
    stage2 = [f for f in columns if f.stage == 2]
    names = [f.name for f in columns]
    # sorted once: filters, selects, left joins and concatenation keep the order
    wide = wide.sort("_eid")
    parts = []
    for i, s in enumerate(rules.snapshots):
        observable_window = rules.outcome_end(s) <= rules.data_end
        cols = [
            pl.col(f"{a.name}@{i}").fill_null(0).alias(a.name)
            if a.how != "max"
            else pl.col(f"{a.name}@{i}").alias(a.name)
            for a in aggregates
        ]
        observable = (pl.col(f"_out_n@{i}").fill_null(0) > 0) & pl.lit(observable_window)
        cols += [
            pl.col(f"open_disputes@{i}").fill_null(0).alias("open_disputes"),
            pl.col(f"unresolved_disputes@{i}").fill_null(0).alias("unresolved_disputes"),
            observable.alias("observable"),
            pl.when(observable)
            .then(pl.col(f"_out_dpd@{i}") >= rules.default_dpd)
            .cast(pl.Int8)
            .alias("default"),
            (pl.col(f"tax_grade@{i}") if tax_grades else pl.lit(None, pl.String)).alias(
                "tax_grade"
            ),
        ]
        part = (
            wide.filter(_exists(s))
            .select(
                pl.col("_eid").alias("entity_id"), *static, pl.lit(s).alias("snapshot_date"), *cols
            )
            .select([f.expr.cast(f.dtype).alias(f.name) for f in stage1])
        )
        if stage2:  # context: totals over the entities of the same snapshot and village
            # (window expressions, not a self-join: the plan stays a tree, read once)
            totals = {name: e.over(CONTEXT_KEYS) for name, e in CONTEXT_TOTALS.items()}
            part = part.with_columns(**totals).with_columns(
                [f.expr.cast(f.dtype).alias(f.name) for f in stage2]
            )
        parts.append(part.select(names))
    return pl.concat(parts, how="vertical")


# ----------------------------------------------------------------------------- I/O wiring


@dataclass(frozen=True, slots=True)
class CollectionSummary:
    """What :func:`collect_credit_files` wrote, with counts for the log.

    Examples
    --------
    >>> import tempfile
    >>> from scoring.config import load_config
    >>> rules = CollectionRules.from_config(load_config(), snapshots=[dt.date(2012, 12, 31)])
    >>> empty = {n: pl.LazyFrame(schema=t.schema) for n, t in TABLES.items()}
    >>> s = write_credit_files(empty, rules=rules, out=tempfile.mkdtemp())
    >>> s.source_records, s.household_rows, s.tax_grades_used
    (0, 0, False)
    """

    sme_path: Path
    household_path: Path
    dictionary_path: Path
    snapshots: tuple[dt.date, ...]
    sme_rows: int
    household_rows: int
    sme_observable: int
    household_observable: int
    sme_defaults: int
    household_defaults: int
    source_records: int
    tax_grades_used: bool
    seconds: float

    @property
    def records_per_second(self) -> float:
        """Source records read per second of wall time."""
        return self.source_records / self.seconds if self.seconds > 0 else float("nan")


def _scan_validated(folder: Path, names: Sequence[str]) -> dict[str, pl.LazyFrame]:
    out = {}
    for name in names:
        path = find_table(folder, name)
        out[name] = scan_table(path, schema=TABLES[name].schema)
    return out


def _row_count(lf: pl.LazyFrame) -> int:
    return int(lf.select(pl.len()).collect().item())


def write_credit_files(
    tables: Mapping[str, pl.LazyFrame],
    *,
    rules: CollectionRules,
    out: str | Path,
    tax_grades: pl.LazyFrame | None = None,
) -> CollectionSummary:
    """Build both segments' credit files and write them, with ``FEATURES.md``, under ``out``.

    Each file is written atomically (temporary name, then rename). The caller vouches
    that ``tables`` are validated; :func:`collect_credit_files` checks it for the data
    folders of a configuration.

    Examples
    --------
    >>> import tempfile
    >>> rules = CollectionRules(snapshots=(dt.date(2012, 12, 31),), outcome_months=12,
    ...     default_dpd=90, data_end=dt.date(2014, 12, 31), retention_years=5,
    ...     exclude_open_disputes=True)
    >>> tables = {n: pl.LazyFrame(schema=t.schema) for n, t in TABLES.items()}
    >>> s = write_credit_files(tables, rules=rules, out=tempfile.mkdtemp())
    >>> s.sme_rows, s.sme_path.name, s.dictionary_path.name
    (0, 'sme_credit_files.parquet', 'FEATURES.md')
    """
    start = time.perf_counter()
    names = sorted({n for seg in SEGMENTS for n in required_tables(seg)})
    _check_columns(tables, names)
    source_records = sum(_row_count(tables[n]) for n in names)
    folder = Path(out)
    written: dict[str, Path] = {}
    for segment in SEGMENTS:
        grades = tax_grades if segment == "sme" else None
        # materialised once: the snapshots (and the village totals) all read it
        wide = wide_credit_frame(tables, segment=segment, rules=rules, tax_grades=grades)
        lf = assemble_credit_file(
            wide.collect(engine="streaming"),
            segment=segment,
            rules=rules,
            tax_grades=grades is not None,
        )
        written[segment] = write_parquet(lf, folder / f"{segment}_credit_files.parquet")
    dictionary = write_text(feature_dictionary_markdown(), folder / "FEATURES.md")
    seconds = time.perf_counter() - start
    counts = {
        seg: pl.scan_parquet(p)
        .select(
            pl.len().alias("rows"),
            pl.col("observable").sum().alias("observable"),
            pl.col("default").cast(pl.Int64).sum().alias("defaults"),
        )
        .collect()
        .row(0, named=True)
        for seg, p in written.items()
    }
    return CollectionSummary(
        sme_path=written["sme"],
        household_path=written["household"],
        dictionary_path=dictionary,
        snapshots=rules.snapshots,
        sme_rows=int(counts["sme"]["rows"]),
        household_rows=int(counts["household"]["rows"]),
        sme_observable=int(counts["sme"]["observable"] or 0),
        household_observable=int(counts["household"]["observable"] or 0),
        sme_defaults=int(counts["sme"]["defaults"] or 0),
        household_defaults=int(counts["household"]["defaults"] or 0),
        source_records=source_records,
        tax_grades_used=tax_grades is not None,
        seconds=seconds,
    )


def collect_credit_files(
    config: WorkbenchConfig, *, snapshots: Sequence[dt.date] | None = None
) -> CollectionSummary:
    """Collect validated records into credit files under ``paths.curated``.

    Writes ``sme_credit_files.parquet``, ``household_credit_files.parquet`` and
    ``FEATURES.md`` (the feature dictionary), each atomically. Refuses input that has
    not passed validation (``scoring.validate.require_validated``).

    Parameters
    ----------
    config
        The workbench configuration (``paths.validated`` in, ``paths.curated`` out,
        ``paths.ratings/tax_ratings.parquet`` used when present).
    snapshots
        Snapshot dates; default ``province.snapshots``.

    Examples
    --------
    >>> import tempfile
    >>> from scoring.config import load_config
    >>> cfg = load_config().with_root(tempfile.mkdtemp())
    >>> collect_credit_files(cfg)
    Traceback (most recent call last):
    ...
    scoring.exceptions.InputFileError: ...
    """
    from scoring.validate import require_validated

    require_validated(config)
    rules = CollectionRules.from_config(config, snapshots=snapshots)
    names = sorted({n for seg in SEGMENTS for n in required_tables(seg)})
    tables = _scan_validated(config.paths.validated, names)
    ratings_path = config.paths.ratings / TAX_RATINGS_FILE
    tax_grades = None
    if ratings_path.exists():
        tax_grades = scan_table(ratings_path)
        have = tax_grades.collect_schema()
        missing = [c for c in ("credit_code", "year", "grade") if c not in have]
        if missing:
            raise SchemaError(
                f"'{ratings_path}' must have columns credit_code, year and grade; "
                f"got {list(have)} (missing {', '.join(missing)})."
            )
    tables["disputes"] = disputes_in_force(tables["disputes"], config)
    return write_credit_files(tables, rules=rules, out=config.paths.curated, tax_grades=tax_grades)
