"""Dashboard marts: the aggregate tables leadership dashboards read, and nothing else.

:func:`build_marts` reads the validated department records (``paths.validated``), the
credit files (``paths.curated``, optional) and the ratings (``paths.ratings``, optional)
and writes one Parquet file per mart into ``paths.marts``, each atomically, plus
``manifest.json`` (build time, minimum group size, rows per mart, marts skipped and why).
The dashboards read the marts only (:func:`load_mart`): never a record or an entity row,
so they run with ``data/raw`` and ``data/curated`` absent.

Every mart is keyed by ``region_code`` (the 22 regions of :mod:`scoring.geo`, with
Shunde 440606 apart from Foshan 440600, plus ``440000`` for the whole province) and a
``month`` (first day, ``Date``) or a ``year`` (``Int32``), and carries ``suppressed``.

Disclosure control, applied here so that nothing small leaves this step:

* **Primary**: a group (row) describing fewer than ``[marts] min_group_size`` entities
  (default 10), but more than none, is suppressed: every measure of the row is null and
  ``suppressed`` is true. The group size of each mart is named in :data:`MART_SPECS`.
* **Complementary**: a suppressed row must not be recoverable by subtracting the
  published rows from a published total (the province row, or a region's total over
  grades). Within every such margin, while the suppressed rows are a single row or
  together describe fewer than ``min_group_size`` entities, the smallest published row is
  suppressed as well (the total row when no other row is left).
* Derived marts (``pilot_vs_control``) are computed from rows already published.

Marts that other steps write later use :func:`write_mart`, which checks the columns
against :data:`MART_SPECS` and applies the same suppression: ``model_health`` (model
lifecycle: AUC, KS, Gini, PSI per model version and snapshot) and ``pilot_effects``
(pilot evaluation: estimate and confidence interval per outcome). A dashboard shows a
"尚无数据 / not yet available" card for a mart that is missing.

Examples
--------
>>> frame = pl.DataFrame({"region_code": ["440100", "440200", "440300", "440000"],
...     "year": [2012] * 4, "entities": [10, 9, 40, 59], "loans": [3, 2, 8, 13]})
>>> out = suppress_small_groups(frame, keys=["region_code", "year"], size="entities",
...     values=["loans"], min_size=10, margins=[Margin("region_code", PROVINCE_CODE)])
>>> out.select("region_code", "loans", "suppressed").rows()
[('440100', None, True), ('440200', None, True), ('440300', 8, False), ('440000', 13, False)]
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from scoring.config import WorkbenchConfig
from scoring.exceptions import DataError, InputFileError, SchemaError
from scoring.geo import REGION_CODES, SHUNDE
from scoring.schema import TABLES
from scoring.storage import scan_table, write_json, write_parquet

__all__ = [
    "MANIFEST_NAME",
    "MART_SPECS",
    "PROVINCE_CODE",
    "Margin",
    "MartSpec",
    "MartsSummary",
    "build_marts",
    "load_mart",
    "mart_path",
    "marts_manifest",
    "suppress_small_groups",
    "write_mart",
]

PROVINCE_CODE = "440000"
"""``region_code`` of the province-wide rows (GB/T 2260 code of Guangdong)."""

MANIFEST_NAME = "manifest.json"
"""File in ``paths.marts`` describing the last build."""

_SCHEMA_VERSION = 1

_STR = pl.String()
_DATE = pl.Date()
_YEAR = pl.Int32()
_INT = pl.Int64()
_FLOAT = pl.Float64()
_BOOL = pl.Boolean()


@dataclass(frozen=True, slots=True)
class MartSpec:
    """One mart: its file, its columns, and how it is suppressed.

    ``keys`` identify a row; ``size`` is the column counting the entities a row
    describes (the group size suppression looks at); ``values`` are the measures that
    become null when a row is suppressed (``size`` among them). ``margins`` are the key
    columns whose members add up to a total that can be derived (see
    :class:`Margin`). ``writer`` names the step that writes the mart. ``optional``
    columns may be absent from a frame written to the mart; they are stored as null.
    """

    name: str
    zh: str
    en: str
    keys: tuple[str, ...]
    columns: Mapping[str, pl.DataType]
    size: str
    values: tuple[str, ...]
    margins: tuple[Margin, ...]
    writer: str
    description: str
    optional: tuple[str, ...] = ()

    @property
    def file_name(self) -> str:
        """``<name>.parquet``."""
        return f"{self.name}.parquet"


@dataclass(frozen=True, slots=True)
class Margin:
    """A key column whose members sum to a total someone could subtract from.

    ``total`` is the member value of the published total row (``PROVINCE_CODE`` for
    ``region_code``), or None when the total is only implied (grades of a region add up
    to the region's taxpayers, which the shares reveal).
    """

    column: str
    total: str | None = None


_REGION_MARGIN = Margin("region_code", PROVINCE_CODE)


def _spec(
    name: str,
    zh: str,
    en: str,
    columns: Mapping[str, pl.DataType],
    *,
    keys: tuple[str, ...],
    size: str,
    margins: tuple[Margin, ...] = (_REGION_MARGIN,),
    writer: str = "scoring marts",
    description: str,
    optional: tuple[str, ...] = (),
) -> MartSpec:
    cols = dict(columns)
    cols["suppressed"] = _BOOL
    values = tuple(c for c in cols if c not in keys and c != "suppressed")
    return MartSpec(name, zh, en, keys, cols, size, values, margins, writer, description, optional)


MART_SPECS: dict[str, MartSpec] = {
    s.name: s
    for s in (
        _spec(
            "records_by_source",
            "归集记录(分来源)",
            "records collected per source",
            {
                "region_code": _STR,
                "month": _DATE,
                "source": _STR,
                "records": _INT,
                "entities": _INT,
            },
            keys=("region_code", "month", "source"),
            size="entities",
            description="Validated records dated in the month, per source table; entities: "
            "distinct enterprises or households with such a record.",
        ),
        _spec(
            "coverage",
            "信息覆盖主体",
            "entities covered",
            {
                "region_code": _STR,
                "year": _YEAR,
                "segment": _STR,
                "registered": _INT,
                "covered": _INT,
                "coverage_rate": _FLOAT,
                "credit_files": _INT,
            },
            keys=("region_code", "year", "segment"),
            size="registered",
            description="segment sme|household. registered: enterprises active or households "
            "registered at the year end; covered: those with at least one department record "
            "in the year; credit_files: entities with a credit file at the year-end snapshot "
            "(null before `scoring collect`).",
        ),
        _spec(
            "sme_credit_access",
            "中小微企业贷款获得",
            "SME credit access",
            {
                "region_code": _STR,
                "month": _DATE,
                "active_smes": _INT,
                "borrowers": _INT,
                "new_loans": _INT,
                "new_loan_amount": _FLOAT,
                "access_rate": _FLOAT,
            },
            keys=("region_code", "month"),
            size="active_smes",
            description="active_smes: registered and not deregistered in the month; "
            "borrowers: SMEs with a loan originated in the month; access_rate = "
            "borrowers / active_smes; new_loan_amount in CNY.",
        ),
        _spec(
            "sme_npl",
            "中小微企业不良贷款",
            "SME non-performing loans",
            {
                "region_code": _STR,
                "month": _DATE,
                "borrowers": _INT,
                "loans": _INT,
                "balance": _FLOAT,
                "npl_balance": _FLOAT,
                "npl_ratio": _FLOAT,
            },
            keys=("region_code", "month"),
            size="borrowers",
            description="SME loans with a balance reported in the month; npl_balance: balance "
            "of loans at least province.default_dpd days past due; npl_ratio = npl_balance / "
            "balance (CNY).",
        ),
        _spec(
            "sme_loan_cohorts",
            "新发放贷款违约率",
            "default rate of new SME loans",
            {
                "region_code": _STR,
                "month": _DATE,
                "borrowers": _INT,
                "loans": _INT,
                "defaulted": _INT,
                "default_rate": _FLOAT,
            },
            keys=("region_code", "month"),
            size="borrowers",
            description="SME loans originated in the month whose outcome window "
            "(province.outcome_months) ends by data_end; defaulted: reached "
            "province.default_dpd days past due within the window.",
        ),
        _spec(
            "tax_grades",
            "纳税信用等级分布",
            "tax credit grades",
            {
                "region_code": _STR,
                "year": _YEAR,
                "grade": _STR,
                "taxpayers": _INT,
                "share": _FLOAT,
            },
            keys=("region_code", "year", "grade"),
            size="taxpayers",
            margins=(_REGION_MARGIN, Margin("grade")),
            description="Taxpayers rated in the year by grade (A, B, M, C, D), from "
            "ratings/tax_ratings.parquet; share of the region's rated taxpayers.",
        ),
        _spec(
            "household_ratings",
            "信用户评定",
            "credit households",
            {
                "region_code": _STR,
                "year": _YEAR,
                "grade": _STR,
                "households": _INT,
                "share": _FLOAT,
            },
            keys=("region_code", "year", "grade"),
            size="households",
            margins=(_REGION_MARGIN, Margin("grade")),
            description="Households rated at the year end by grade (AAA, AA, A; none: not a "
            "credit household), from ratings/household_ratings.parquet.",
        ),
        _spec(
            "rural_units",
            "信用村·信用镇",
            "credit villages and towns",
            {
                "region_code": _STR,
                "year": _YEAR,
                "level": _STR,
                "households": _INT,
                "units": _INT,
                "credit_units": _INT,
                "share": _FLOAT,
            },
            keys=("region_code", "year", "level"),
            size="households",
            description="level village|town: villages (towns) rated in the year and how many "
            "reached credit village (town) status, from ratings/village_ratings.parquet and "
            "ratings/town_ratings.parquet. The group size is the households registered in the "
            "region at the year end: a status describes a place, the people in it are who "
            "suppression protects.",
        ),
        _spec(
            "pilot_vs_control",
            "试点地区与对照地区",
            "pilot vs control regions",
            {
                "outcome": _STR,
                "group": _STR,
                "month": _DATE,
                "regions": _INT,
                "value": _FLOAT,
            },
            keys=("outcome", "group", "month"),
            size="regions",
            margins=(),
            description="outcome sme_access_rate|sme_npl_ratio|sme_default_rate|"
            "credit_household_share; group pilot|control; value pooled over the published "
            "(unsuppressed) region rows of the group, so it reveals nothing the region marts "
            "do not; regions: how many regions contributed. Yearly outcomes sit on the "
            "year's December.",
        ),
        _spec(
            "model_health",
            "模型健康度",
            "model health",
            {
                "region_code": _STR,
                "snapshot_date": _DATE,
                "segment": _STR,
                "model_name": _STR,
                "model_version": _STR,
                "alias": _STR,
                "sample": _STR,
                "n": _INT,
                "auc": _FLOAT,
                "ks": _FLOAT,
                "gini": _FLOAT,
                "psi": _FLOAT,
            },
            keys=(
                "region_code",
                "snapshot_date",
                "segment",
                "model_name",
                "model_version",
                "alias",
                "sample",
            ),
            size="n",
            writer="model lifecycle (issue 5): write_mart('model_health', ...)",
            description="One row per registered model version, snapshot and sample "
            "(train|test|oot|scored), province-wide (440000) or per region; alias "
            "champion|challenger|''; n: entities scored; psi against the training sample.",
        ),
        _spec(
            "pilot_effects",
            "试点效果估计",
            "pilot effect estimates",
            {
                "region_code": _STR,
                "outcome": _STR,
                "outcome_zh": _STR,
                "outcome_en": _STR,
                "estimator": _STR,
                "unit": _STR,
                "n_regions": _INT,
                "n_obs": _INT,
                "estimate": _FLOAT,
                "ci_low": _FLOAT,
                "ci_high": _FLOAT,
                "p_value": _FLOAT,
                "wild_ci_low": _FLOAT,
                "wild_ci_high": _FLOAT,
                "wild_p_value": _FLOAT,
            },
            keys=("region_code", "outcome", "estimator"),
            optional=("wild_ci_low", "wild_ci_high", "wild_p_value"),
            size="n_regions",
            margins=(),
            writer="pilot evaluation (issue 7): write_mart('pilot_effects', ...)",
            description="Difference-in-differences estimates of the pilot effect per outcome "
            "(region_code 440000: all pilot regions), with the cluster-robust 95% interval and the "
            "wild cluster bootstrap 95% interval (wild_*; the one to show with 6 treated "
            "regions); unit: 'share' "
            "(absolute change of a share) or as the outcome says.",
        ),
    )
}
"""Every mart by name. ``model_health`` and ``pilot_effects`` are written by later steps."""

BUILT_MARTS = (
    "records_by_source",
    "coverage",
    "sme_credit_access",
    "sme_npl",
    "sme_loan_cohorts",
    "tax_grades",
    "household_ratings",
    "rural_units",
    "pilot_vs_control",
)


@dataclass(frozen=True, slots=True)
class MartsSummary:
    """What :func:`build_marts` wrote.

    ``written`` maps a mart to ``(rows, suppressed rows)``; ``skipped`` maps a mart that
    could not be built (its input is missing) to the reason.
    """

    folder: Path
    min_group_size: int
    written: dict[str, tuple[int, int]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Rows written over all marts."""
        return sum(r for r, _ in self.written.values())

    @property
    def suppressed(self) -> int:
        """Suppressed rows over all marts."""
        return sum(s for _, s in self.written.values())


# --------------------------------------------------------------------------- suppression


def _mark_complements(
    df: pl.DataFrame, *, keys: Sequence[str], size: str, min_size: int, margin: Margin
) -> tuple[pl.DataFrame, bool]:
    """One pass of complementary suppression within ``margin``; True when it marked rows."""
    others = [k for k in keys if k != margin.column]
    is_total = pl.col(margin.column) == margin.total if margin.total is not None else pl.lit(False)
    members = df.filter(~is_total)
    sz = pl.col(size).fill_null(0)
    stats = members.group_by(others).agg(
        n_supp=pl.col("suppressed").sum(),
        supp_size=sz.filter(pl.col("suppressed")).sum(),
        open_rows=(~pl.col("suppressed") & (sz > 0)).sum(),
    )
    need = stats.filter(
        (pl.col("n_supp") > 0) & ((pl.col("n_supp") == 1) | (pl.col("supp_size") < min_size))
    )
    if need.height == 0:
        return df, False
    marked = False
    with_open = need.filter(pl.col("open_rows") > 0).select(others)
    if with_open.height:
        pick = (
            members.filter(~pl.col("suppressed") & (sz > 0))
            .join(with_open, on=others, how="semi", nulls_equal=True)
            .sort([*others, size, margin.column])
            .group_by(others, maintain_order=True)
            .first()
            .select(keys)
            .with_columns(_pick=pl.lit(True))
        )
        df = (
            df.join(pick, on=list(keys), how="left", nulls_equal=True)
            .with_columns(suppressed=pl.col("suppressed") | pl.col("_pick").fill_null(False))
            .drop("_pick")
        )
        marked = True
    if margin.total is not None:
        closed = need.filter(pl.col("open_rows") == 0).select(others)
        if closed.height:
            hit = df.join(closed, on=others, how="semi", nulls_equal=True).filter(
                is_total & ~pl.col("suppressed")
            )
            if hit.height:
                mark = hit.select(keys).with_columns(_pick=pl.lit(True))
                df = (
                    df.join(mark, on=list(keys), how="left", nulls_equal=True)
                    .with_columns(
                        suppressed=pl.col("suppressed") | pl.col("_pick").fill_null(False)
                    )
                    .drop("_pick")
                )
                marked = True
    return df, marked


def suppress_small_groups(
    frame: pl.DataFrame,
    *,
    keys: Sequence[str],
    size: str,
    values: Sequence[str],
    min_size: int,
    margins: Sequence[Margin] = (),
) -> pl.DataFrame:
    """Suppress rows describing fewer than ``min_size`` entities, and their complements.

    A row with ``0 < size < min_size`` is suppressed; then, within each margin, more
    rows are suppressed until no suppressed row can be recovered by subtraction (see the
    module docstring). Suppressed rows keep their keys, get null ``values`` (and a null
    ``size``) and ``suppressed = true``. Rows of size 0 describe nobody and stay.

    Parameters
    ----------
    frame
        One row per group; ``keys`` unique.
    keys
        The columns identifying a row.
    size
        The column counting the entities of a row.
    values
        The measure columns to null out (``size`` is always nulled too).
    min_size
        The smallest group that may be published.
    margins
        Key columns whose members sum to a derivable total.

    Examples
    --------
    >>> f = pl.DataFrame({"region_code": ["440100", "440200"], "n": [10, 9]})
    >>> suppress_small_groups(f, keys=["region_code"], size="n", values=[],
    ...     min_size=10).rows()
    [('440100', 10, False), ('440200', None, True)]
    """
    if min_size < 1:
        raise DataError(f"'min_size' must be an integer >= 1; got {min_size!r}.")
    missing = [c for c in (*keys, size, *values) if c not in frame.columns]
    if missing:
        raise SchemaError(f"'frame' must have the columns {missing}; got {frame.columns}.")
    sz = pl.col(size).fill_null(0)
    df = frame.with_columns(suppressed=(sz > 0) & (sz < min_size))
    if df.height and margins:
        for _ in range(df.height + 1):
            changed = False
            for m in margins:
                df, marked = _mark_complements(
                    df, keys=keys, size=size, min_size=min_size, margin=m
                )
                changed = changed or marked
            if not changed:
                break
    hide = [c for c in dict.fromkeys([size, *values]) if c not in keys]
    return df.with_columns(
        [pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c) for c in hide]
    )


# --------------------------------------------------------------------------- inputs


def _region_expr(county: str = "county_code", city: str = "city_code") -> pl.Expr:
    return (
        pl.when(pl.col(county) == SHUNDE)
        .then(pl.lit(SHUNDE))
        .otherwise(pl.col(city))
        .alias("region_code")
    )


def _region_of_code(code: str) -> pl.Expr:
    """Region of a town or village code (its first six digits are the county)."""
    county = pl.col(code).str.slice(0, 6)
    city = pl.col(code).str.slice(0, 4) + pl.lit("00")
    return pl.when(county == SHUNDE).then(pl.lit(SHUNDE)).otherwise(city).alias("region_code")


@dataclass(frozen=True, slots=True)
class _Inputs:
    config: WorkbenchConfig
    validated: dict[str, pl.LazyFrame]

    @property
    def first_month(self) -> dt.date:
        return self.config.province.data_start.replace(day=1)

    @property
    def last_month(self) -> dt.date:
        return self.config.province.data_end.replace(day=1)

    @property
    def years(self) -> list[int]:
        p = self.config.province
        return list(range(p.data_start.year, p.data_end.year + 1))

    def months(self) -> pl.DataFrame:
        return pl.DataFrame(
            {"month": pl.date_range(self.first_month, self.last_month, "1mo", eager=True)}
        )

    def smes(self) -> pl.LazyFrame:
        return (
            self.validated["enterprises"]
            .select(
                pl.col("credit_code").alias("entity_id"),
                _region_expr(),
                "established_date",
                "deregistered_date",
            )
            .filter(pl.col("region_code").is_in(REGION_CODES))
        )

    def households(self) -> pl.LazyFrame:
        return (
            self.validated["households"]
            .select(pl.col("household_id").alias("entity_id"), _region_expr(), "registered_date")
            .filter(pl.col("region_code").is_in(REGION_CODES))
        )

    def entities(self) -> pl.LazyFrame:
        """entity_type, entity_id, region_code of every enterprise and household."""
        return pl.concat(
            [
                self.smes().select(pl.lit("sme").alias("entity_type"), "entity_id", "region_code"),
                self.households().select(
                    pl.lit("household").alias("entity_type"), "entity_id", "region_code"
                ),
            ]
        )

    def sme_loans(self) -> pl.LazyFrame:
        """SME loans with their region: loan_id, entity_id, region_code, origination."""
        return (
            self.validated["loans"]
            .filter(pl.col("entity_type") == "sme")
            .select("loan_id", "entity_id", "origination_date", "principal")
            .join(self.smes().select("entity_id", "region_code"), on="entity_id", how="inner")
        )


def _read_validated(config: WorkbenchConfig) -> dict[str, pl.LazyFrame]:
    folder = config.paths.validated
    hint = "run `scoring validate --quarantine` first"
    if not folder.is_dir():
        raise InputFileError(f"'{folder}' must hold validated records; it does not exist: {hint}.")
    out: dict[str, pl.LazyFrame] = {}
    for name in TABLES:
        path = folder / f"{name}.parquet"
        if path.is_file():
            out[name] = scan_table(path)
    missing = [n for n in ("enterprises", "households") if n not in out]
    if missing:
        raise InputFileError(
            f"'{folder}' must hold the validated tables {', '.join(missing)}; not found: {hint}."
        )
    return out


def _with_province(frame: pl.DataFrame, keys: Sequence[str], sums: Sequence[str]) -> pl.DataFrame:
    """Append the province rows: ``sums`` added over the regions, per other key."""
    others = [k for k in keys if k != "region_code"]
    total = frame.group_by(others).agg([pl.col(c).sum() for c in sums])
    total = total.with_columns(region_code=pl.lit(PROVINCE_CODE))
    return pl.concat([frame, total.select(frame.columns)], how="vertical_relaxed")


def _ratio(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).otherwise(None).cast(_FLOAT)


# --------------------------------------------------------------------------- the marts

_REGISTRATION = {"enterprises": "sme", "households": "household"}


def _entity_months(inp: _Inputs, name: str) -> pl.LazyFrame | None:
    """entity_type, entity_id, month of each record of table ``name`` (None: not usable)."""
    table = TABLES[name]
    lf = inp.validated.get(name)
    if lf is None or table.date_column is None:
        return None
    month = pl.col(table.date_column).dt.month_start().alias("month")
    if name in _REGISTRATION or table.entity in ("credit_code", "household_id"):
        etype = _REGISTRATION.get(name) or ("sme" if table.entity == "credit_code" else "household")
        key = table.key if name in _REGISTRATION else (table.entity or table.key)
        rows = lf.select(pl.lit(etype).alias("entity_type"), pl.col(key).alias("entity_id"), month)
    elif table.entity == "entity_id":
        rows = lf.select("entity_type", "entity_id", month)
    elif name == "loan_repayments" and "loans" in inp.validated:
        rows = (
            lf.select("loan_id", month)
            .join(
                inp.validated["loans"].select("loan_id", "entity_type", "entity_id"),
                on="loan_id",
                how="inner",
            )
            .select("entity_type", "entity_id", "month")
        )
    else:
        return None
    return rows.filter(pl.col("month").is_between(inp.first_month, inp.last_month))


def _records_by_source(inp: _Inputs) -> pl.DataFrame:
    ents = inp.entities()
    parts = []
    for name in TABLES:
        rows = _entity_months(inp, name)
        if rows is None:
            continue
        parts.append(
            rows.join(ents, on=["entity_type", "entity_id"], how="inner")
            .group_by("region_code", "month")
            .agg(
                records=pl.len().cast(_INT),
                entities=pl.struct("entity_type", "entity_id").n_unique().cast(_INT),
            )
            .with_columns(source=pl.lit(name))
        )
    frame = pl.concat(parts).collect()
    # An entity sits in one region, so distinct entities add up over regions.
    return _with_province(frame, ("region_code", "month", "source"), ("records", "entities"))


def _year_ends(inp: _Inputs) -> pl.DataFrame:
    return pl.DataFrame({"year": inp.years}, schema={"year": _YEAR}).with_columns(
        year_end=pl.date(pl.col("year"), 12, 31)
    )


def _registered(inp: _Inputs) -> pl.LazyFrame:
    """segment, entity_id, region_code, year: entities on the register at each year end."""
    ye = _year_ends(inp).lazy()
    smes = (
        inp.smes()
        .join(ye, how="cross")
        .filter(
            (pl.col("established_date") <= pl.col("year_end"))
            & (
                pl.col("deregistered_date").is_null()
                | (pl.col("deregistered_date") > pl.col("year_end"))
            )
        )
        .select(pl.lit("sme").alias("segment"), "entity_id", "region_code", "year")
    )
    hh = (
        inp.households()
        .join(ye, how="cross")
        .filter(pl.col("registered_date") <= pl.col("year_end"))
        .select(pl.lit("household").alias("segment"), "entity_id", "region_code", "year")
    )
    return pl.concat([smes, hh])


def _credit_files(inp: _Inputs) -> pl.DataFrame | None:
    """region_code, year, segment, credit_files from the curated credit files, if any."""
    folder = inp.config.paths.curated
    parts = []
    for segment in ("sme", "household"):
        path = folder / f"{segment}_credit_files.parquet"
        if not path.is_file():
            continue
        lf = scan_table(path)
        missing = {"entity_id", "snapshot_date", "region_code"} - set(lf.collect_schema())
        if missing:
            raise SchemaError(
                f"'{path}' must have the columns {sorted(missing)}; they are missing."
            )
        parts.append(
            lf.group_by("region_code", pl.col("snapshot_date").dt.year().cast(_YEAR).alias("year"))
            .agg(credit_files=pl.col("entity_id").n_unique().cast(_INT))
            .with_columns(segment=pl.lit(segment))
        )
    if not parts:
        return None
    return pl.concat(parts).collect()


def _coverage(inp: _Inputs) -> pl.DataFrame:
    active = []
    for name in TABLES:
        if name in _REGISTRATION:
            continue
        rows = _entity_months(inp, name)
        if rows is not None:
            active.append(
                rows.select(
                    pl.col("entity_type").alias("segment"),
                    "entity_id",
                    pl.col("month").dt.year().cast(_YEAR).alias("year"),
                )
            )
    reg = _registered(inp)
    if active:
        seen = pl.concat(active).unique()
        reg = reg.join(
            seen.with_columns(_seen=pl.lit(True)),
            on=["segment", "entity_id", "year"],
            how="left",
        )
    else:
        reg = reg.with_columns(_seen=pl.lit(None, dtype=_BOOL))
    frame = (
        reg.group_by("region_code", "year", "segment")
        .agg(
            registered=pl.len().cast(_INT),
            covered=pl.col("_seen").fill_null(False).sum().cast(_INT),
        )
        .collect()
    )
    keys = ("region_code", "year", "segment")
    files = _credit_files(inp)
    if files is not None:
        frame = frame.join(files, on=list(keys), how="left").with_columns(
            pl.col("credit_files").fill_null(0)
        )
    else:
        frame = frame.with_columns(credit_files=pl.lit(None, dtype=_INT))
    frame = _with_province(frame, keys, ("registered", "covered", "credit_files"))
    if files is None:
        frame = frame.with_columns(credit_files=pl.lit(None, dtype=_INT))
    return frame.with_columns(coverage_rate=_ratio("covered", "registered"))


def _region_months(inp: _Inputs) -> pl.DataFrame:
    regions = pl.DataFrame({"region_code": list(REGION_CODES)})
    return regions.join(inp.months(), how="cross")


def _sme_credit_access(inp: _Inputs) -> pl.DataFrame:
    first, last = inp.first_month, inp.last_month
    smes = inp.smes()
    starts = (
        smes.select(
            "region_code",
            pl.max_horizontal(pl.col("established_date").dt.month_start(), pl.lit(first)).alias(
                "month"
            ),
        )
        .group_by("region_code", "month")
        .agg(n=pl.len().cast(_INT))
    )
    ends = (
        smes.filter(pl.col("deregistered_date").is_not_null())
        .select(
            "region_code",
            # active through the month of deregistration, gone from the next one
            pl.max_horizontal(
                pl.col("deregistered_date").dt.offset_by("1mo").dt.month_start(), pl.lit(first)
            ).alias("month"),
        )
        .group_by("region_code", "month")
        .agg(n=pl.len().cast(_INT))
    )
    loans = (
        inp.sme_loans()
        .with_columns(month=pl.col("origination_date").dt.month_start())
        .filter(pl.col("month").is_between(first, last))
        .group_by("region_code", "month")
        .agg(
            borrowers=pl.col("entity_id").n_unique().cast(_INT),
            new_loans=pl.len().cast(_INT),
            new_loan_amount=pl.col("principal").sum().cast(_FLOAT),
        )
    )
    grid = _region_months(inp).lazy()
    frame = (
        grid.join(starts, on=["region_code", "month"], how="left")
        .join(ends.rename({"n": "gone"}), on=["region_code", "month"], how="left")
        .join(loans, on=["region_code", "month"], how="left")
        .sort("region_code", "month")
        .with_columns(
            active_smes=(pl.col("n").fill_null(0) - pl.col("gone").fill_null(0))
            .cum_sum()
            .over("region_code")
            .cast(_INT),
            borrowers=pl.col("borrowers").fill_null(0),
            new_loans=pl.col("new_loans").fill_null(0),
            new_loan_amount=pl.col("new_loan_amount").fill_null(0.0),
        )
        .drop("n", "gone")
        .collect()
    )
    keys = ("region_code", "month")
    frame = _with_province(
        frame, keys, ("active_smes", "borrowers", "new_loans", "new_loan_amount")
    )
    return frame.with_columns(access_rate=_ratio("borrowers", "active_smes"))


def _sme_repayments(inp: _Inputs) -> pl.LazyFrame | None:
    if "loan_repayments" not in inp.validated or "loans" not in inp.validated:
        return None
    return (
        inp.validated["loan_repayments"]
        .select("loan_id", pl.col("month").dt.month_start(), "balance", "days_past_due")
        .join(
            inp.sme_loans().select("loan_id", "entity_id", "region_code", "origination_date"),
            on="loan_id",
            how="inner",
        )
    )


def _sme_npl(inp: _Inputs) -> pl.DataFrame | None:
    rep = _sme_repayments(inp)
    if rep is None:
        return None
    dpd = inp.config.province.default_dpd
    frame = (
        rep.filter(
            (pl.col("balance") > 0) & pl.col("month").is_between(inp.first_month, inp.last_month)
        )
        .group_by("region_code", "month")
        .agg(
            borrowers=pl.col("entity_id").n_unique().cast(_INT),
            loans=pl.col("loan_id").n_unique().cast(_INT),
            balance=pl.col("balance").sum().cast(_FLOAT),
            npl_balance=pl.col("balance").filter(pl.col("days_past_due") >= dpd).sum().cast(_FLOAT),
        )
        .collect()
    )
    frame = (
        _region_months(inp)
        .join(frame, on=["region_code", "month"], how="left")
        .with_columns(
            pl.col("borrowers", "loans").fill_null(0),
            pl.col("balance", "npl_balance").fill_null(0.0),
        )
    )
    frame = _with_province(
        frame, ("region_code", "month"), ("borrowers", "loans", "balance", "npl_balance")
    )
    return frame.with_columns(npl_ratio=_ratio("npl_balance", "balance"))


def _sme_loan_cohorts(inp: _Inputs) -> pl.DataFrame | None:
    rep = _sme_repayments(inp)
    if rep is None:
        return None
    p = inp.config.province
    window = f"{p.outcome_months}mo"
    last_cohort = pl.Series([inp.last_month]).dt.offset_by(f"-{p.outcome_months}mo").item()
    defaults = (
        rep.with_columns(start=pl.col("origination_date").dt.month_start())
        .filter(
            (pl.col("days_past_due") >= p.default_dpd)
            & (pl.col("month") > pl.col("start"))
            & (pl.col("month") <= pl.col("start").dt.offset_by(window))
        )
        .select("loan_id")
        .unique()
        .with_columns(defaulted=pl.lit(True))
    )
    frame = (
        inp.sme_loans()
        .with_columns(month=pl.col("origination_date").dt.month_start())
        .filter(pl.col("month").is_between(inp.first_month, last_cohort))
        .join(defaults, on="loan_id", how="left")
        .group_by("region_code", "month")
        .agg(
            borrowers=pl.col("entity_id").n_unique().cast(_INT),
            loans=pl.len().cast(_INT),
            defaulted=pl.col("defaulted").fill_null(False).sum().cast(_INT),
        )
        .collect()
    )
    grid = _region_months(inp).filter(pl.col("month") <= last_cohort)
    frame = grid.join(frame, on=["region_code", "month"], how="left").with_columns(
        pl.col("borrowers", "loans", "defaulted").fill_null(0)
    )
    frame = _with_province(frame, ("region_code", "month"), ("borrowers", "loans", "defaulted"))
    return frame.with_columns(default_rate=_ratio("defaulted", "loans"))


def _rating_file(inp: _Inputs, name: str, columns: Sequence[str]) -> pl.LazyFrame | None:
    path = inp.config.paths.ratings / f"{name}.parquet"
    if not path.is_file():
        return None
    lf = scan_table(path)
    missing = [c for c in columns if c not in lf.collect_schema()]
    if missing:
        raise SchemaError(f"'{path}' must have the columns {missing}; they are missing.")
    return lf.select(columns)


def _distribution(
    counts: pl.LazyFrame, *, categories: Sequence[str], count: str, years: Sequence[int]
) -> pl.DataFrame:
    """Complete region x year x category grid of counts, with province rows and shares."""
    grid = (
        pl.DataFrame({"region_code": list(REGION_CODES)})
        .join(pl.DataFrame({"year": list(years)}, schema={"year": _YEAR}), how="cross")
        .join(pl.DataFrame({"grade": list(categories)}), how="cross")
    )
    got = counts.collect()
    seen_years = got.get_column("year").unique()
    frame = (
        grid.filter(pl.col("year").is_in(seen_years.implode()))
        .join(got, on=["region_code", "year", "grade"], how="left")
        .with_columns(pl.col(count).fill_null(0).cast(_INT))
    )
    frame = _with_province(frame, ("region_code", "year", "grade"), (count,))
    return frame.with_columns(
        share=(pl.col(count) / pl.col(count).sum().over("region_code", "year"))
        .fill_nan(None)
        .cast(_FLOAT)
    )


TAX_GRADE_ORDER = ("A", "B", "M", "C", "D")
HOUSEHOLD_GRADE_ORDER = ("AAA", "AA", "A", "none")


def _tax_grades(inp: _Inputs) -> pl.DataFrame | None:
    lf = _rating_file(inp, "tax_ratings", ("credit_code", "year", "grade"))
    if lf is None:
        return None
    counts = (
        lf.join(
            inp.smes().select(pl.col("entity_id").alias("credit_code"), "region_code"),
            on="credit_code",
            how="inner",
        )
        .group_by("region_code", pl.col("year").cast(_YEAR), "grade")
        .agg(taxpayers=pl.len().cast(_INT))
    )
    return _distribution(counts, categories=TAX_GRADE_ORDER, count="taxpayers", years=inp.years)


def _household_ratings(inp: _Inputs) -> pl.DataFrame | None:
    lf = _rating_file(inp, "household_ratings", ("household_id", "year", "grade"))
    if lf is None:
        return None
    counts = (
        lf.join(
            inp.households().select(pl.col("entity_id").alias("household_id"), "region_code"),
            on="household_id",
            how="inner",
        )
        .with_columns(
            pl.when(pl.col("grade").is_in(HOUSEHOLD_GRADE_ORDER[:-1]))
            .then(pl.col("grade"))
            .otherwise(pl.lit("none"))
            .alias("grade")
        )
        .group_by("region_code", pl.col("year").cast(_YEAR), "grade")
        .agg(households=pl.len().cast(_INT))
    )
    return _distribution(
        counts, categories=HOUSEHOLD_GRADE_ORDER, count="households", years=inp.years
    )


def _rural_units(inp: _Inputs) -> pl.DataFrame | None:
    parts = []
    for level, code in (("village", "village_code"), ("town", "town_code")):
        flag = f"credit_{level}"
        lf = _rating_file(inp, f"{level}_ratings", (code, "year", flag))
        if lf is None:
            continue
        parts.append(
            lf.with_columns(_region_of_code(code))
            .filter(pl.col("region_code").is_in(REGION_CODES))
            .group_by("region_code", pl.col("year").cast(_YEAR))
            .agg(
                units=pl.col(code).n_unique().cast(_INT),
                credit_units=pl.col(code).filter(pl.col(flag)).n_unique().cast(_INT),
            )
            .with_columns(level=pl.lit(level))
        )
    if not parts:
        return None
    households = (
        _registered(inp)
        .filter(pl.col("segment") == "household")
        .group_by("region_code", "year")
        .agg(households=pl.len().cast(_INT))
    )
    frame = (
        pl.concat(parts)
        .join(households, on=["region_code", "year"], how="left")
        .with_columns(pl.col("households").fill_null(0))
        .collect()
    )
    frame = _with_province(
        frame, ("region_code", "year", "level"), ("households", "units", "credit_units")
    )
    return frame.with_columns(share=_ratio("credit_units", "units"))


_PILOT_OUTCOMES: tuple[tuple[str, str, str, str], ...] = (
    # outcome, mart, numerator, denominator
    ("sme_access_rate", "sme_credit_access", "borrowers", "active_smes"),
    ("sme_npl_ratio", "sme_npl", "npl_balance", "balance"),
    ("sme_default_rate", "sme_loan_cohorts", "defaulted", "loans"),
)


def _pilot_vs_control(
    published: Mapping[str, pl.DataFrame], config: WorkbenchConfig
) -> pl.DataFrame:
    """Pilot and control group values pooled over the published region rows."""
    pilots = list(config.province.pilot_regions)
    group = (
        pl.when(pl.col("region_code").is_in(pilots))
        .then(pl.lit("pilot"))
        .otherwise(pl.lit("control"))
        .alias("group")
    )
    parts = []
    for outcome, mart, num, den in _PILOT_OUTCOMES:
        df = published.get(mart)
        if df is None:
            continue
        parts.append(
            df.filter((pl.col("region_code") != PROVINCE_CODE) & ~pl.col("suppressed"))
            .group_by(group, "month")
            .agg(
                regions=(pl.col(den) > 0).sum().cast(_INT),
                num=pl.col(num).sum(),
                den=pl.col(den).sum(),
            )
            .with_columns(outcome=pl.lit(outcome), value=_ratio("num", "den"))
        )
    hh = published.get("household_ratings")
    if hh is not None:
        # a region-year counts only when none of its grade rows is suppressed
        whole = (
            hh.filter(pl.col("region_code") != PROVINCE_CODE)
            .group_by("region_code", "year")
            .agg(
                ok=~pl.col("suppressed").any(),
                num=pl.col("households").filter(pl.col("grade") != "none").sum(),
                den=pl.col("households").sum(),
            )
            .filter(pl.col("ok") & (pl.col("den") > 0))
        )
        parts.append(
            whole.group_by(group, pl.date(pl.col("year"), 12, 1).alias("month"))
            .agg(regions=pl.len().cast(_INT), num=pl.col("num").sum(), den=pl.col("den").sum())
            .with_columns(outcome=pl.lit("credit_household_share"), value=_ratio("num", "den"))
        )
    cols = ["outcome", "group", "month", "regions", "value"]
    if not parts:
        return pl.DataFrame(schema={c: MART_SPECS["pilot_vs_control"].columns[c] for c in cols})
    return pl.concat([p.select(cols) for p in parts], how="vertical_relaxed")


# --------------------------------------------------------------------------- files


def mart_path(name: str, config: WorkbenchConfig) -> Path:
    """The file of mart ``name`` in ``paths.marts`` (whether or not it exists).

    Examples
    --------
    >>> from scoring.config import load_config
    >>> mart_path("sme_npl", load_config()).name
    'sme_npl.parquet'
    """
    return config.paths.marts / _spec_of(name).file_name


def _spec_of(name: str) -> MartSpec:
    try:
        return MART_SPECS[name]
    except KeyError:
        raise DataError(
            f"'name' must be one of the marts {', '.join(MART_SPECS)}; got {name!r}."
        ) from None


def _conform(spec: MartSpec, frame: pl.DataFrame, *, what: str) -> pl.DataFrame:
    """``frame`` with exactly the spec's columns, in order and type, sorted by the keys."""
    absent = [c for c in spec.optional if c not in frame.columns]
    if absent:
        frame = frame.with_columns(pl.lit(None).alias(c) for c in absent)
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"'{what}' must have the columns {missing}; got {frame.columns}.")
    try:
        out = frame.select([pl.col(c).cast(t) for c, t in spec.columns.items()])
    except pl.exceptions.PolarsError as exc:
        raise SchemaError(
            f"'{what}' must have columns of the types {dict(spec.columns)}; "
            f"casting failed: {str(exc).splitlines()[0]}"
        ) from None
    return out.sort(list(spec.keys), nulls_last=True)


def _check_regions(spec: MartSpec, frame: pl.DataFrame, *, what: str) -> None:
    if "region_code" not in spec.columns:
        return
    allowed = [*REGION_CODES, PROVINCE_CODE]
    bad = frame.filter(~pl.col("region_code").is_in(allowed)).get_column("region_code")
    if bad.len():
        raise DataError(
            f"'{what}.region_code' must be one of the 22 regions or {PROVINCE_CODE}; "
            f"got {bad.unique().sort().to_list()[:5]}."
        )


def _finish(spec: MartSpec, frame: pl.DataFrame, *, min_size: int, what: str) -> pl.DataFrame:
    frame = frame.with_columns(suppressed=pl.lit(False))
    frame = _conform(spec, frame, what=what).drop("suppressed")
    _check_regions(spec, frame, what=what)
    dup = frame.select(spec.keys).is_duplicated()
    if dup.any():
        raise DataError(
            f"'{what}' must have one row per {', '.join(spec.keys)}; "
            f"got {int(dup.sum())} duplicated rows."
        )
    out = suppress_small_groups(
        frame,
        keys=spec.keys,
        size=spec.size,
        values=spec.values,
        min_size=min_size,
        margins=spec.margins,
    )
    return _conform(spec, out, what=what)


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFileError(
            f"'{path}' must be a JSON marts manifest; reading failed: {exc}."
        ) from None
    return data if isinstance(data, dict) else {}


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _record(manifest: dict[str, Any], spec: MartSpec, frame: pl.DataFrame) -> None:
    marts = manifest.setdefault("marts", {})
    marts[spec.name] = {
        "file": spec.file_name,
        "rows": frame.height,
        "suppressed_rows": int(frame.get_column("suppressed").sum()),
        "written_at": _now(),
        "writer": spec.writer,
    }


def write_mart(name: str, frame: pl.DataFrame, *, config: WorkbenchConfig) -> Path:
    """Check, suppress and atomically write one mart, and note it in the manifest.

    For the steps that add marts after ``scoring marts`` (``model_health``,
    ``pilot_effects``): ``frame`` must have the columns of ``MART_SPECS[name]`` (a
    ``suppressed`` column is not needed: it is computed here, with the minimum group
    size of ``[marts]``).

    Examples
    --------
    >>> import tempfile
    >>> from scoring.config import load_config
    >>> cfg = load_config().with_root(tempfile.mkdtemp())
    >>> effects = pl.DataFrame({"region_code": ["440000"], "outcome": ["sme_access_rate"],
    ...     "outcome_zh": ["贷款获得率"], "outcome_en": ["SME credit access"],
    ...     "estimator": ["did"], "unit": ["share"], "n_regions": [22], "n_obs": [1320],
    ...     "estimate": [0.011], "ci_low": [0.004], "ci_high": [0.018], "p_value": [0.01]})
    >>> write_mart("pilot_effects", effects, config=cfg).name
    'pilot_effects.parquet'
    >>> load_mart("pilot_effects", cfg).get_column("estimate").to_list()
    [0.011]
    """
    spec = _spec_of(name)
    out = _finish(spec, frame, min_size=config.marts.min_group_size, what=name)
    folder = config.paths.marts
    path = write_parquet(out, folder / spec.file_name)
    manifest = _read_manifest(folder)
    manifest.setdefault("schema_version", _SCHEMA_VERSION)
    manifest["min_group_size"] = config.marts.min_group_size
    _record(manifest, spec, out)
    write_json(manifest, folder / MANIFEST_NAME)
    return path


def load_mart(name: str, config: WorkbenchConfig) -> pl.DataFrame | None:
    """Mart ``name`` from ``paths.marts``, or None when it has not been built yet.

    The dashboards' only way to data: a missing mart becomes a "not yet available" card.

    Raises
    ------
    DataError
        ``name`` is not a mart of :data:`MART_SPECS`.
    SchemaError
        The file lacks columns of the spec (built by an older version: rebuild it).

    Examples
    --------
    >>> from scoring.config import load_config
    >>> load_mart("model_health", load_config().with_root("/nonexistent")) is None
    True
    """
    spec = _spec_of(name)
    path = config.paths.marts / spec.file_name
    if not path.is_file():
        return None
    frame = scan_table(path).collect()
    absent = [c for c in spec.optional if c not in frame.columns]
    if absent:
        frame = frame.with_columns(pl.lit(None).alias(c) for c in absent)
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"'{path}' must have the columns {missing}; run `scoring marts` to rebuild it."
        )
    return frame.select(list(spec.columns))


def marts_manifest(config: WorkbenchConfig) -> dict[str, Any]:
    """The manifest of ``paths.marts`` (empty when no marts were built).

    Examples
    --------
    >>> from scoring.config import load_config
    >>> marts_manifest(load_config().with_root("/nonexistent"))
    {}
    """
    return _read_manifest(config.paths.marts)


def build_marts(config: WorkbenchConfig) -> MartsSummary:
    """Build every mart of this step from validated records, credit files and ratings.

    Marts whose input is missing (no ratings yet, no loans table) are skipped and their
    old files removed, so a dashboard never shows stale figures; marts written by other
    steps (``model_health``, ``pilot_effects``) are left alone.

    Raises
    ------
    InputFileError
        No validated records: run ``scoring validate`` first.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> build_marts(load_config().with_root("/nonexistent"))
    Traceback (most recent call last):
    ...
    scoring.exceptions.InputFileError: '/nonexistent/data/validated' must hold validated ...
    """
    inp = _Inputs(config, _read_validated(config))
    k = config.marts.min_group_size
    builders = {
        "records_by_source": (_records_by_source, "no validated records"),
        "coverage": (_coverage, "no validated records"),
        "sme_credit_access": (_sme_credit_access, "no validated loans"),
        "sme_npl": (_sme_npl, "no validated loans and loan_repayments"),
        "sme_loan_cohorts": (_sme_loan_cohorts, "no validated loans and loan_repayments"),
        "tax_grades": (_tax_grades, "no ratings/tax_ratings.parquet: run `scoring rate tax`"),
        "household_ratings": (
            _household_ratings,
            "no ratings/household_ratings.parquet: run `scoring rate rural`",
        ),
        "rural_units": (
            _rural_units,
            "no ratings/village_ratings.parquet or town_ratings.parquet: run `scoring rate rural`",
        ),
    }
    published: dict[str, pl.DataFrame] = {}
    skipped: dict[str, str] = {}
    for name, (build, why) in builders.items():
        if name == "sme_credit_access" and "loans" not in inp.validated:
            skipped[name] = why
            continue
        raw = build(inp)
        if raw is None:
            skipped[name] = why
            continue
        published[name] = _finish(MART_SPECS[name], raw, min_size=k, what=name)
    published["pilot_vs_control"] = _finish(
        MART_SPECS["pilot_vs_control"],
        _pilot_vs_control(published, config),
        min_size=1,  # pooled from published rows; suppressed only when no region is left
        what="pilot_vs_control",
    )
    folder = config.paths.marts
    manifest = _read_manifest(folder)
    manifest.update(
        schema_version=_SCHEMA_VERSION,
        built_at=_now(),
        min_group_size=k,
        data_start=config.province.data_start.isoformat(),
        data_end=config.province.data_end.isoformat(),
        pilot_regions=list(config.province.pilot_regions),
        skipped=skipped,
    )
    summary = MartsSummary(folder=folder, min_group_size=k, skipped=dict(skipped))
    for name, frame in published.items():
        write_parquet(frame, folder / MART_SPECS[name].file_name)
        _record(manifest, MART_SPECS[name], frame)
        summary.written[name] = (frame.height, int(frame.get_column("suppressed").sum()))
    for name in skipped:
        (folder / MART_SPECS[name].file_name).unlink(missing_ok=True)
        manifest.get("marts", {}).pop(name, None)
    write_json(manifest, folder / MANIFEST_NAME)
    return summary
