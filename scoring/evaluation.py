"""Pilot-region evaluation: outcome panels, difference-in-differences, event study, placebo.

Did the 2012 pilot change credit in the pilot regions? This module answers with
region-by-month panels of outcomes and a difference-in-differences (DiD) of the six pilot
regions (``province.pilot_regions``) against the sixteen other regions, before and after
``province.pilot_start``; and it asks whether the champion model serves pilot and control
regions equally well. Everything is a pure function over polars frames except the small
loaders (:func:`load_validated_tables`, :func:`load_planted_effects`) and
:func:`evaluate_pilot`, which reads ``paths.validated`` and ``paths.truth`` and runs it all.

Outcome panels (one row per region and month, months ``data_start .. data_end``)
--------------------------------------------------------------------------------
Regions are the 22 of :mod:`scoring.geo` (Shunde 440606 apart from Foshan 440600), from
``county_code`` as in :func:`scoring.geo.region_of_county`. The definitions are those of
the planted effects in ``paths.truth/effects.json`` (:mod:`scoring.synth._truth`), word
for word, so that on generated data the DiD must recover the planted sizes:

``sme_access_rate``
    SMEs (``enterprises.credit_code``) with a loan (``loans.entity_type = 'sme'``)
    originated in the month, divided by the SMEs active in the month
    (``established_date`` on or before the month's last day and ``deregistered_date``
    null or after it). Weight: the active SMEs.
``sme_default_rate``
    Among SME loans originated in the month, the share with a ``loan_repayments`` record
    of ``days_past_due >= province.default_dpd`` in the ``province.outcome_months``
    months after the origination month (origination month < month <= origination month
    + window). Cohorts whose window passes ``data_end`` are dropped, as are region-months
    without a new loan. Weight: the new loans.
``household_rated_share``
    Share of the region's households (every row of ``households``) whose credit file
    (``registered_date``) is dated on or before the month's last day. Weight: households.
``records_per_entity``
    Validated records dated in the month (every table of :data:`scoring.schema.TABLES`
    with a date column, by the entity it is about; repayments through their loan) per
    entity of the region (active SMEs plus households). No effect is planted on it; the
    synthetic pilot changes it only through the extra loans. Weight: the entities.

Inference
---------
The DiD is a two-way fixed-effects regression ``y_rt = b * pilot_r * post_t + a_r + g_t``
fitted by weighted least squares with the panel weights above (the precision of a
region-month grows with its denominator; the planted effect is the same in every cell,
so the weighting changes the noise, not the target) or, with ``weighted=False``, with
equal weights. Standard errors are cluster-robust by region (statsmodels, CRV1 with
the usual ``G / (G - 1) * (N - 1) / (N - K)`` correction) and intervals use Student's t
with ``G - 1`` degrees of freedom.

With six treated regions of very unequal size (Guangzhou holds about two thirds of the
pilot SMEs) the cluster-robust interval is too narrow: on 12 generated provinces (scale
0.2) it held the planted SME access effect 8 times and the rated-household effect 9 times.
So the DiD also reports a restricted wild cluster bootstrap (Rademacher weights by region,
fixed seed, the ``wildboottest`` package), whose interval held them 12 and 11 times:
**read the wild interval**. Its p-value tests
``b = 0``; its interval collects every ``b0`` the bootstrap test does not reject. The
bootstrap numerator is linear and its denominator quadratic in ``b0`` (Roodman et al.
2019), so three runs of the library give the test at every ``b0`` exactly (checked
against the library's own p-values) and the bounds are found by bisection. Weighted fits
are bootstrapped as OLS on rows scaled by the square root of the weight (the same
estimator).

The event study replaces ``pilot * post`` by one indicator per quarter (or month)
relative to the start, the quarter before the start being the reference. The pre-trend
test pools the pre-start quarters into two bins and tests both bin effects: the
cluster-robust joint F test is reported, and the wild bootstrap p-value of each bin with
a Bonferroni correction is the one to read (48 tests on 16 generated provinces without
planted effects, at 5 %: the F test of ten unpooled quarters rejected 45 times, of two
bins 9 times, the wild Bonferroni test 3 times). Effects per pilot region compare
one pilot region at a time with all controls (one treated cluster: read them as
descriptive, no cluster method is reliable there). The placebo moves the start a year
earlier and uses only months before the real start.

Examples
--------
>>> panel = _example_panel()
>>> r = difference_in_differences(panel, pilot_regions=("440100", "440400"),
...                               start=dt.date(2012, 9, 1), outcome="example", reps=0)
>>> round(r.estimate, 3), r.n_regions, r.n_treated, r.ci_low < 0.02 < r.ci_high
(0.02, 6, 2, True)
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from scoring import metrics
from scoring.collect import region_code_expr
from scoring.config import ProvinceConfig, WorkbenchConfig
from scoring.exceptions import (
    ConfigError,
    DataError,
    MissingExtraError,
    ModelError,
    SchemaError,
)
from scoring.geo import REGION_CODES, check_region_codes, region_name
from scoring.schema import TABLES
from scoring.storage import find_table, scan_table

__all__ = [
    "DEFAULT_REPS",
    "DEFAULT_SEED",
    "OUTCOMES",
    "PANEL_COLUMNS",
    "PROVINCE_CODE",
    "DidResult",
    "EventStudyResult",
    "ModelGapResult",
    "Outcome",
    "PilotEvaluation",
    "champion_scores",
    "difference_in_differences",
    "effects_by_region",
    "evaluate_pilot",
    "event_study",
    "household_rated_panel",
    "load_planted_effects",
    "load_validated_tables",
    "model_gap",
    "model_gaps",
    "outcome_panels",
    "performance_by_region",
    "pilot_effects_frame",
    "placebo_test",
    "records_panel",
    "records_per_entity_panel",
    "sme_access_panel",
    "sme_default_panel",
]

DEFAULT_REPS = 9999
"""Wild cluster bootstrap replications (the cost hardly depends on it)."""
DEFAULT_SEED = 20120901
"""Seed of the bootstrap weights: the same seed gives the same intervals."""
PROVINCE_CODE = "440000"
"""``region_code`` of province-wide rows (as in the dashboard marts)."""

FloatArray = npt.NDArray[np.float64]
Frame = pl.DataFrame | pl.LazyFrame


@dataclass(frozen=True, slots=True)
class Outcome:
    """One outcome of the evaluation: its names, unit and the planted effect it matches.

    ``truth_key`` names the effect in ``effects.json`` (None: nothing is planted on it).
    """

    name: str
    zh: str
    en: str
    unit: str
    truth_key: str | None


OUTCOMES: dict[str, Outcome] = {
    o.name: o
    for o in (
        Outcome(
            "sme_access_rate", "中小微企业贷款获得率", "SME credit access", "share", "sme_access"
        ),
        Outcome(
            "sme_default_rate",
            "新发放贷款违约率",
            "default rate of new SME loans",
            "share",
            "sme_default",
        ),
        Outcome(
            "household_rated_share",
            "农户建档评级占比",
            "households with a credit file (rated)",
            "share",
            "household_rated",
        ),
        Outcome(
            "records_per_entity",
            "每主体归集记录数",
            "records collected per entity",
            "records per entity and month",
            None,
        ),
    )
}
"""The outcomes of :func:`outcome_panels`, in order."""

PANEL_COLUMNS = ("region_code", "month", "value", "weight")
"""Columns every outcome panel has (besides its own counts)."""


# --------------------------------------------------------------------------- helpers


def _require(module: str) -> ModuleType:
    """Import an optional dependency of the ``evaluation`` extra, or say how to get it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"'{module.split('.')[0]}' must be installed for the pilot evaluation (the "
            "`evaluation` extra: `uv sync --extra evaluation` or "
            f"`pip install 'gd-credit-workbench[evaluation]'`); got {type(exc).__name__}: {exc}."
        ) from None


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Run the small dense algebra of the regressions on one BLAS thread.

    The design matrices are about 1,300 x 100: threads gain nothing there, and on a
    busy machine a multi-threaded OpenBLAS made one SVD 50 times slower (0.8 s against
    0.015 s). threadpoolctl comes with scikit-learn; without it nothing changes.
    """
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - installed with scikit-learn
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.year * 12 + day.month - 1 + months, 12)
    return dt.date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _lazy(frame: Frame, name: str, columns: Sequence[str]) -> pl.LazyFrame:
    lf = frame.lazy()
    have = lf.collect_schema().names()
    missing = [c for c in columns if c not in have]
    if missing:
        raise SchemaError(f"'{name}' must have the columns {missing}; got {have}.")
    return lf


def _month_grid(first: dt.date, last: dt.date) -> pl.DataFrame:
    months = pl.date_range(first.replace(day=1), last.replace(day=1), "1mo", eager=True)
    return pl.DataFrame({"region_code": list(REGION_CODES)}).join(
        pl.DataFrame({"month": months}), how="cross"
    )


def _check_months(first_month: dt.date, last_month: dt.date) -> None:
    if first_month > last_month:
        raise ConfigError(
            f"'first_month' must not be after 'last_month'; got {first_month} > {last_month}."
        )


def _smes(enterprises: Frame) -> pl.LazyFrame:
    cols = ("credit_code", "county_code", "established_date", "deregistered_date")
    return (
        _lazy(enterprises, "enterprises", cols)
        .select(
            pl.col("credit_code").alias("entity_id"),
            region_code_expr(pl.col("county_code")).alias("region_code"),
            "established_date",
            "deregistered_date",
        )
        .filter(pl.col("region_code").is_in(REGION_CODES))
    )


def _sme_loans(enterprises: Frame, loans: Frame) -> pl.LazyFrame:
    cols = ("loan_id", "entity_type", "entity_id", "origination_date")
    return (
        _lazy(loans, "loans", cols)
        .filter(pl.col("entity_type") == "sme")
        .select("loan_id", "entity_id", pl.col("origination_date").dt.month_start().alias("month"))
        .join(_smes(enterprises).select("entity_id", "region_code"), on="entity_id", how="inner")
    )


def _ratio(num: str, den: str) -> pl.Expr:
    return (
        pl.when(pl.col(den) > 0)
        .then(pl.col(num).cast(pl.Float64) / pl.col(den))
        .otherwise(None)
        .alias("value")
    )


# --------------------------------------------------------------------------- panels


def sme_access_panel(
    enterprises: Frame, loans: Frame, *, first_month: dt.date, last_month: dt.date
) -> pl.DataFrame:
    """SME credit access per region and month: borrowers / active SMEs.

    Parameters
    ----------
    enterprises, loans
        The validated ``enterprises`` and ``loans`` tables (lazy or not).
    first_month, last_month
        The months of the panel (any day of the month).

    Returns
    -------
    polars.DataFrame
        region_code, month, active_smes, borrowers, value (= borrowers / active_smes,
        null without active SMEs), weight (= active_smes); 22 regions x months.

    Examples
    --------
    >>> ent = pl.DataFrame({"credit_code": ["A", "B"], "county_code": ["440103", "440103"],
    ...     "established_date": [dt.date(2009, 5, 1), dt.date(2010, 2, 10)],
    ...     "deregistered_date": [dt.date(2010, 3, 31), None]})
    >>> loans = pl.DataFrame({"loan_id": ["L1"], "entity_type": ["sme"], "entity_id": ["B"],
    ...     "origination_date": [dt.date(2010, 2, 20)]})
    >>> p = sme_access_panel(ent, loans, first_month=dt.date(2010, 1, 1),
    ...                      last_month=dt.date(2010, 4, 1))
    >>> p.filter(pl.col("region_code") == "440100").select("active_smes", "value").rows()
    [(1, 0.0), (2, 0.5), (1, 0.0), (1, 0.0)]
    """
    _check_months(first_month, last_month)
    first, last = first_month.replace(day=1), last_month.replace(day=1)
    smes = _smes(enterprises)

    def changes(column: str, name: str) -> pl.LazyFrame:
        month = pl.col(column).dt.month_start()
        return (
            smes.filter(pl.col(column).is_not_null() & (month <= last))
            .select("region_code", pl.max_horizontal(month, pl.lit(first)).alias("month"))
            .group_by("region_code", "month")
            .agg(pl.len().cast(pl.Int64).alias(name))
        )

    # An SME deregistered in a month is not active in it (deregistered by its last day).
    borrowers = (
        _sme_loans(enterprises, loans)
        .filter(pl.col("month").is_between(first, last))
        .group_by("region_code", "month")
        .agg(pl.col("entity_id").n_unique().cast(pl.Int64).alias("borrowers"))
    )
    return (
        _month_grid(first, last)
        .lazy()
        .join(changes("established_date", "_in"), on=["region_code", "month"], how="left")
        .join(changes("deregistered_date", "_out"), on=["region_code", "month"], how="left")
        .join(borrowers, on=["region_code", "month"], how="left")
        .sort("region_code", "month")
        .with_columns(
            active_smes=(pl.col("_in").fill_null(0) - pl.col("_out").fill_null(0))
            .cum_sum()
            .over("region_code"),
            borrowers=pl.col("borrowers").fill_null(0),
        )
        .with_columns(
            _ratio("borrowers", "active_smes"), weight=pl.col("active_smes").cast(pl.Float64)
        )
        .select("region_code", "month", "active_smes", "borrowers", "value", "weight")
        .collect()
    )


def sme_default_panel(
    enterprises: Frame,
    loans: Frame,
    loan_repayments: Frame,
    *,
    first_month: dt.date,
    last_month: dt.date,
    window_months: int = 12,
    default_dpd: int = 90,
) -> pl.DataFrame:
    """Default rate of new SME loans per region and origination month.

    A loan originated in month ``o`` defaults when a repayment record has
    ``days_past_due >= default_dpd`` and ``o < month <= o + window_months``. Cohorts
    after ``last_month - window_months`` (window not inside the data) are left out.

    Returns
    -------
    polars.DataFrame
        region_code, month, loans, defaulted, value (= defaulted / loans, null without
        loans), weight (= loans).

    Examples
    --------
    >>> ent = pl.DataFrame({"credit_code": ["A"], "county_code": ["440606"],
    ...     "established_date": [dt.date(2005, 1, 1)], "deregistered_date": [None]})
    >>> loans = pl.DataFrame({"loan_id": ["L1", "L2"], "entity_type": ["sme", "sme"],
    ...     "entity_id": ["A", "A"],
    ...     "origination_date": [dt.date(2010, 1, 5), dt.date(2010, 1, 20)]})
    >>> rep = pl.DataFrame({"loan_id": ["L1", "L2"], "month": [dt.date(2011, 1, 1)] * 2,
    ...     "days_past_due": [90, 60]})
    >>> p = sme_default_panel(ent, loans, rep, first_month=dt.date(2010, 1, 1),
    ...                       last_month=dt.date(2011, 12, 1))
    >>> p.filter(pl.col("region_code") == "440606").row(0)
    ('440606', datetime.date(2010, 1, 1), 2, 1, 0.5, 2.0)
    >>> p.get_column("month").max()
    datetime.date(2010, 12, 1)
    """
    _check_months(first_month, last_month)
    if isinstance(window_months, bool) or not isinstance(window_months, int) or window_months < 1:
        raise ConfigError(f"'window_months' must be an integer >= 1; got {window_months!r}.")
    first = first_month.replace(day=1)
    last_cohort = _add_months(last_month.replace(day=1), -window_months)
    new = _sme_loans(enterprises, loans).filter(pl.col("month").is_between(first, last_cohort))
    rep = _lazy(loan_repayments, "loan_repayments", ("loan_id", "month", "days_past_due"))
    bad = (
        rep.filter(pl.col("days_past_due") >= default_dpd)
        .select("loan_id", pl.col("month").dt.month_start().alias("_m"))
        .join(new.select("loan_id", "month"), on="loan_id", how="inner")
        .filter(
            (pl.col("_m") > pl.col("month"))
            & (pl.col("_m") <= pl.col("month").dt.offset_by(f"{window_months}mo"))
        )
        .select("loan_id")
        .unique()
        .with_columns(_bad=pl.lit(1, dtype=pl.Int64))
    )
    counts = (
        new.join(bad, on="loan_id", how="left")
        .group_by("region_code", "month")
        .agg(
            loans=pl.len().cast(pl.Int64),
            defaulted=pl.col("_bad").fill_null(0).sum().cast(pl.Int64),
        )
    )
    if last_cohort < first:
        grid = _month_grid(first, first).clear()
    else:
        grid = _month_grid(first, last_cohort)
    return (
        grid.lazy()
        .join(counts, on=["region_code", "month"], how="left")
        .with_columns(pl.col("loans", "defaulted").fill_null(0))
        .with_columns(_ratio("defaulted", "loans"), weight=pl.col("loans").cast(pl.Float64))
        .select("region_code", "month", "loans", "defaulted", "value", "weight")
        .sort("region_code", "month")
        .collect()
    )


def household_rated_panel(
    households: Frame, *, first_month: dt.date, last_month: dt.date
) -> pl.DataFrame:
    """Share of households with a credit file (``registered_date`` by the month's end).

    Returns
    -------
    polars.DataFrame
        region_code, month, households, rated, value (= rated / households), weight
        (= households).

    Examples
    --------
    >>> hh = pl.DataFrame({"household_id": ["H1", "H2"], "county_code": ["440402"] * 2,
    ...     "registered_date": [dt.date(2008, 1, 1), dt.date(2010, 2, 28)]})
    >>> p = household_rated_panel(hh, first_month=dt.date(2010, 1, 1),
    ...                           last_month=dt.date(2010, 3, 1))
    >>> p.filter(pl.col("region_code") == "440400").get_column("value").to_list()
    [0.5, 1.0, 1.0]
    """
    _check_months(first_month, last_month)
    first, last = first_month.replace(day=1), last_month.replace(day=1)
    hh = (
        _lazy(households, "households", ("household_id", "county_code", "registered_date"))
        .select(
            region_code_expr(pl.col("county_code")).alias("region_code"),
            pl.col("registered_date").dt.month_start().alias("_m"),
        )
        .filter(pl.col("region_code").is_in(REGION_CODES))
    )
    totals = hh.group_by("region_code").agg(households=pl.len().cast(pl.Int64))
    filed = (
        hh.filter(pl.col("_m") <= last)
        .group_by("region_code", pl.max_horizontal("_m", pl.lit(first)).alias("month"))
        .agg(_n=pl.len().cast(pl.Int64))
    )
    return (
        _month_grid(first, last)
        .lazy()
        .join(filed, on=["region_code", "month"], how="left")
        .join(totals, on="region_code", how="left")
        .sort("region_code", "month")
        .with_columns(
            rated=pl.col("_n").fill_null(0).cum_sum().over("region_code"),
            households=pl.col("households").fill_null(0),
        )
        .with_columns(_ratio("rated", "households"), weight=pl.col("households").cast(pl.Float64))
        .select("region_code", "month", "households", "rated", "value", "weight")
        .collect()
    )


_REGISTRATION = {"enterprises": "sme", "households": "household"}


def records_panel(
    tables: Mapping[str, Frame], *, first_month: dt.date, last_month: dt.date
) -> pl.DataFrame:
    """Records collected per region, month and source table (long format).

    Every table of ``tables`` that is a table of :data:`scoring.schema.TABLES` with a
    date column counts its records by that date's month and by the region of the
    entity it is about (registrations by their own date; loan repayments through their
    loan). ``enterprises`` and ``households`` must be given (they place entities).

    Returns
    -------
    polars.DataFrame
        region_code, month, source, records (region-months without records are absent).

    Examples
    --------
    >>> ent = pl.DataFrame({"credit_code": ["A"], "county_code": ["440103"],
    ...     "established_date": [dt.date(2010, 1, 9)], "deregistered_date": [None]})
    >>> hh = pl.DataFrame({"household_id": ["H1"], "county_code": ["440606"],
    ...     "registered_date": [dt.date(2005, 1, 1)]})
    >>> pen = pl.DataFrame({"credit_code": ["A", "A"],
    ...     "decision_date": [dt.date(2010, 1, 2), dt.date(2010, 1, 30)]})
    >>> records_panel({"enterprises": ent, "households": hh, "admin_penalties": pen},
    ...     first_month=dt.date(2010, 1, 1), last_month=dt.date(2010, 2, 1)
    ... ).select("region_code", "source", "records").rows()
    [('440100', 'admin_penalties', 2), ('440100', 'enterprises', 1)]
    """
    _check_months(first_month, last_month)
    first, last = first_month.replace(day=1), last_month.replace(day=1)
    missing = [n for n in _REGISTRATION if n not in tables]
    if missing:
        raise SchemaError(f"'tables' must hold {missing} (they place entities in regions).")
    entities = pl.concat(
        [
            _smes(tables["enterprises"]).select(
                pl.lit("sme").alias("entity_type"), "entity_id", "region_code"
            ),
            _lazy(tables["households"], "households", ("household_id", "county_code")).select(
                pl.lit("household").alias("entity_type"),
                pl.col("household_id").alias("entity_id"),
                region_code_expr(pl.col("county_code")).alias("region_code"),
            ),
        ]
    )
    parts = []
    for name, frame in tables.items():
        table = TABLES.get(name)
        if table is None or table.date_column is None:
            continue
        month = pl.col(table.date_column).dt.month_start().alias("month")
        if name in _REGISTRATION:
            key = _lazy(frame, name, (table.key, table.date_column)).select(
                pl.lit(_REGISTRATION[name]).alias("entity_type"),
                pl.col(table.key).alias("entity_id"),
                month,
            )
        elif table.entity in ("credit_code", "household_id"):
            key = _lazy(frame, name, (table.entity, table.date_column)).select(
                pl.lit("sme" if table.entity == "credit_code" else "household").alias(
                    "entity_type"
                ),
                pl.col(table.entity).alias("entity_id"),
                month,
            )
        elif table.entity == "entity_id":
            key = _lazy(frame, name, ("entity_type", "entity_id", table.date_column)).select(
                "entity_type", "entity_id", month
            )
        elif name == "loan_repayments" and "loans" in tables:
            key = (
                _lazy(frame, name, ("loan_id", table.date_column))
                .select("loan_id", month)
                .join(
                    _lazy(tables["loans"], "loans", ("loan_id", "entity_type", "entity_id")).select(
                        "loan_id", "entity_type", "entity_id"
                    ),
                    on="loan_id",
                    how="inner",
                )
                .select("entity_type", "entity_id", "month")
            )
        else:
            continue
        parts.append(
            key.filter(pl.col("month").is_between(first, last))
            .join(entities, on=["entity_type", "entity_id"], how="inner")
            .group_by("region_code", "month")
            .agg(records=pl.len().cast(pl.Int64))
            .with_columns(source=pl.lit(name))
        )
    schema = {"region_code": pl.String, "month": pl.Date, "source": pl.String, "records": pl.Int64}
    if not parts:
        return pl.DataFrame(schema=schema)
    return (
        pl.concat([p.select(list(schema)) for p in parts])
        .collect()
        .sort("region_code", "month", "source")
    )


def records_per_entity_panel(
    records: pl.DataFrame, access: pl.DataFrame, rated: pl.DataFrame
) -> pl.DataFrame:
    """Records collected per entity (active SMEs plus households) by region and month.

    Parameters
    ----------
    records
        :func:`records_panel`.
    access, rated
        :func:`sme_access_panel` and :func:`household_rated_panel` of the same months
        (they hold the active SMEs and the households).

    Returns
    -------
    polars.DataFrame
        region_code, month, records, entities, value (= records / entities), weight
        (= entities).

    Examples
    --------
    >>> m = dt.date(2010, 1, 1)
    >>> rec = pl.DataFrame({"region_code": ["440100"], "month": [m], "source": ["loans"],
    ...                     "records": [6]})
    >>> acc = pl.DataFrame({"region_code": ["440100"], "month": [m], "active_smes": [2]})
    >>> hh = pl.DataFrame({"region_code": ["440100"], "month": [m], "households": [1]})
    >>> records_per_entity_panel(rec, acc, hh).row(0)
    ('440100', datetime.date(2010, 1, 1), 6, 3, 2.0, 3.0)
    """
    totals = records.group_by("region_code", "month").agg(records=pl.col("records").sum())
    return (
        access.select("region_code", "month", "active_smes")
        .join(
            rated.select("region_code", "month", "households"),
            on=["region_code", "month"],
            how="inner",
        )
        .join(totals, on=["region_code", "month"], how="left")
        .with_columns(
            records=pl.col("records").fill_null(0).cast(pl.Int64),
            entities=(pl.col("active_smes") + pl.col("households")).cast(pl.Int64),
        )
        .with_columns(_ratio("records", "entities"), weight=pl.col("entities").cast(pl.Float64))
        .select("region_code", "month", "records", "entities", "value", "weight")
        .sort("region_code", "month")
    )


def outcome_panels(
    tables: Mapping[str, Frame], *, province: ProvinceConfig
) -> dict[str, pl.DataFrame]:
    """Every outcome panel of :data:`OUTCOMES` from the validated tables.

    ``tables`` needs ``enterprises``, ``households``, ``loans`` and ``loan_repayments``;
    every other table of :data:`scoring.schema.TABLES` given adds to the records.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> panels = outcome_panels(_example_tables(), province=load_config().province)
    >>> list(panels)
    ['sme_access_rate', 'sme_default_rate', 'household_rated_share', 'records_per_entity']
    >>> panels["sme_access_rate"].height, panels["sme_default_rate"].height
    (1320, 1056)
    """
    missing = [
        n for n in ("enterprises", "households", "loans", "loan_repayments") if n not in tables
    ]
    if missing:
        raise SchemaError(f"'tables' must hold the tables {missing}; got {sorted(tables)}.")
    first, last = province.data_start, province.data_end
    access = sme_access_panel(
        tables["enterprises"], tables["loans"], first_month=first, last_month=last
    )
    rated = household_rated_panel(tables["households"], first_month=first, last_month=last)
    default = sme_default_panel(
        tables["enterprises"],
        tables["loans"],
        tables["loan_repayments"],
        first_month=first,
        last_month=last,
        window_months=province.outcome_months,
        default_dpd=province.default_dpd,
    )
    records = records_panel(tables, first_month=first, last_month=last)
    return {
        "sme_access_rate": access,
        "sme_default_rate": default,
        "household_rated_share": rated,
        "records_per_entity": records_per_entity_panel(records, access, rated),
    }


# --------------------------------------------------------------------------- loaders


def load_validated_tables(config: WorkbenchConfig) -> dict[str, pl.LazyFrame]:
    """The validated tables of ``paths.validated``, lazily, after checking they are current.

    Raises
    ------
    InputFileError
        Validation has not run (``scoring validate --quarantine``).

    Examples
    --------
    >>> from scoring.config import load_config
    >>> load_validated_tables(load_config().with_root("/nonexistent"))
    Traceback (most recent call last):
    ...
    scoring.exceptions.InputFileError: '/nonexistent/data/validated' must hold validated ...
    """
    from scoring.validate import require_validated

    folder = require_validated(config)
    return {n: scan_table(find_table(folder, n), schema=TABLES[n].schema) for n in TABLES}


def load_planted_effects(config: WorkbenchConfig) -> dict[str, float]:
    """Planted effect sizes by outcome name from ``paths.truth/effects.json`` ({} if none).

    Only the synthetic province has a truth; for a user's own records this is empty.

    Raises
    ------
    DataError
        The truth is unreadable, or describes other pilot regions or another start than
        the configuration (generate the province again).

    Examples
    --------
    >>> from scoring.config import load_config
    >>> load_planted_effects(load_config().with_root("/nonexistent"))
    {}
    """
    path = config.paths.truth / "effects.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        effects = data["effects"]
        regions = tuple(data["pilot_regions"])
        start = dt.date.fromisoformat(data["pilot_start"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(
            f"'{path}' must be the truth's effects.json; reading failed: {exc}."
        ) from None
    p = config.province
    if sorted(regions) != sorted(p.pilot_regions) or start != p.pilot_start:
        raise DataError(
            f"'{path}' must describe the configured pilot ({sorted(p.pilot_regions)} from "
            f"{p.pilot_start}); got {sorted(regions)} from {start}: generate the province again."
        )
    out: dict[str, float] = {}
    for o in OUTCOMES.values():
        entry = effects.get(o.truth_key) if o.truth_key else None
        if isinstance(entry, dict) and isinstance(entry.get("planted"), int | float):
            out[o.name] = float(entry["planted"])
    return out


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class DidResult:
    """A difference-in-differences estimate with cluster and wild-bootstrap inference.

    ``ci_low``/``ci_high``/``p_value``: cluster-robust (by region), Student t with
    ``n_regions - 1`` degrees of freedom. ``wild_*``: restricted wild cluster bootstrap
    (None when ``reps = 0``; the interval also when only the p-value was asked for); an
    infinite bound means the test rejects no value on that side.
    """

    outcome: str
    start: dt.date
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    wild_ci_low: float | None
    wild_ci_high: float | None
    wild_p_value: float | None
    n_regions: int
    n_treated: int
    n_obs: int
    weighted: bool
    reps: int
    seed: int
    confidence: float

    def covers(self, value: float, *, wild: bool = False) -> bool:
        """Whether ``value`` lies in the (cluster, or wild bootstrap) interval.

        Examples
        --------
        >>> r = difference_in_differences(_example_panel(), pilot_regions=("440100",),
        ...     start=dt.date(2012, 9, 1), outcome="example", reps=0)
        >>> r.covers(0.02), r.covers(0.5)
        (True, False)
        """
        if wild:
            if self.wild_ci_low is None or self.wild_ci_high is None:
                raise DataError(
                    "'wild' must only be asked of a result with a wild bootstrap interval; "
                    f"got reps={self.reps} and no interval."
                )
            return self.wild_ci_low <= value <= self.wild_ci_high
        return self.ci_low <= value <= self.ci_high


@dataclass(frozen=True, slots=True)
class EventStudyResult:
    """Effects by period relative to the start, and the pre-trend test.

    ``coefficients``: period (relative to the start, in ``unit``), first_month,
    estimate, se, ci_low, ci_high, p_value; the ``reference`` period is a row of zeros.
    ``pretrend_*``: test that the pilot regions did not drift before the start, with the
    pre-start periods pooled into ``pretrend_bins`` (first and last period of each bin):
    ``pretrend_f`` / ``pretrend_df`` / ``pretrend_p_value`` the cluster-robust joint F
    test, ``pretrend_wild_p_value`` the Bonferroni-combined wild bootstrap p-values of
    the bins (None when ``reps = 0``).
    """

    outcome: str
    start: dt.date
    unit: Literal["month", "quarter"]
    reference: int
    coefficients: pl.DataFrame
    pretrend_bins: tuple[tuple[int, int], ...]
    pretrend_f: float
    pretrend_df: tuple[int, int]
    pretrend_p_value: float
    pretrend_wild_p_value: float | None
    n_regions: int
    n_treated: int
    n_obs: int


@dataclass(frozen=True, slots=True)
class ModelGapResult:
    """A model metric in pilot against control regions, with a bootstrap interval.

    ``difference = pilot - control``; the interval is the percentile interval of the
    stratified bootstrap (rows resampled within group and outcome class).
    """

    metric: str
    pilot: float
    control: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    n_pilot: int
    n_control: int
    reps: int
    seed: int


# --------------------------------------------------------------------------- DiD core


@dataclass(frozen=True, slots=True)
class _Design:
    y: FloatArray
    w: FloatArray
    x: FloatArray  # effect columns first, then region and month dummies
    groups: npt.NDArray[np.int64]
    n_effects: int
    n_regions: int
    n_treated: int


def _panel_arrays(
    panel: pl.DataFrame, *, pilot_regions: Sequence[str], weighted: bool
) -> pl.DataFrame:
    missing = [c for c in PANEL_COLUMNS if c not in panel.columns]
    if missing:
        raise SchemaError(f"'panel' must have the columns {missing}; got {panel.columns}.")
    check_region_codes(list(pilot_regions), what="pilot_regions")
    used = panel.filter(
        pl.col("value").is_not_null()
        & pl.col("value").is_finite()
        & pl.col("weight").is_not_null()
        & (pl.col("weight") > 0)
    ).with_columns(treated=pl.col("region_code").is_in(list(pilot_regions)))
    if not weighted:
        used = used.with_columns(weight=pl.lit(1.0))
    n_t = used.filter(pl.col("treated")).get_column("region_code").n_unique()
    n_c = used.filter(~pl.col("treated")).get_column("region_code").n_unique()
    if n_t == 0 or n_c == 0:
        raise DataError(
            f"'panel' must have pilot and control regions with data; got {n_t} pilot and "
            f"{n_c} control regions."
        )
    return used.sort("region_code", "month")


def _design(used: pl.DataFrame, effects: pl.DataFrame) -> _Design:
    """Effect columns (as given, one row per used row), then region and month dummies."""
    regions = used.get_column("region_code").to_numpy()
    months = used.get_column("month").to_numpy()
    region_ids, r_idx = np.unique(regions, return_inverse=True)
    month_ids, m_idx = np.unique(months, return_inverse=True)
    n = used.height
    fe_r = np.zeros((n, len(region_ids)))
    fe_r[np.arange(n), r_idx] = 1.0
    fe_m = np.zeros((n, len(month_ids)))
    fe_m[np.arange(n), m_idx] = 1.0
    x = np.column_stack([effects.to_numpy().astype(np.float64), fe_r, fe_m[:, 1:]])
    return _Design(
        y=used.get_column("value").to_numpy().astype(np.float64),
        w=used.get_column("weight").to_numpy().astype(np.float64),
        x=x,
        groups=r_idx.astype(np.int64),
        n_effects=effects.width,
        n_regions=len(region_ids),
        n_treated=used.filter(pl.col("treated")).get_column("region_code").n_unique(),
    )


def _fit(d: _Design) -> Any:
    """WLS with cluster-robust (by region) covariance, t inference with G - 1 df."""
    lm = _require("statsmodels.regression.linear_model")
    if d.n_regions < 3:
        raise DataError(f"'panel' must cover at least 3 regions; got {d.n_regions}.")
    model = lm.WLS(d.y, d.x, weights=d.w)
    return model.fit(cov_type="cluster", cov_kwds={"groups": d.groups}, use_t=True)


def _effects_table(res: Any, d: _Design, *, alpha: float) -> FloatArray:
    """estimate, se, ci_low, ci_high, p_value of the effect columns (one row each).

    Through ``t_test`` on those columns only: the cluster-robust variances of the fixed
    effects themselves are not identified (and can come out slightly negative).
    """
    tt = res.t_test(np.eye(d.x.shape[1])[: d.n_effects])
    ci = np.asarray(tt.conf_int(alpha=alpha), dtype=np.float64).reshape(d.n_effects, 2)
    return np.column_stack([np.ravel(tt.effect), np.ravel(tt.sd), ci, np.ravel(tt.pvalue)]).astype(
        np.float64
    )


def _check_confidence(confidence: float) -> float:
    if not (isinstance(confidence, float | int) and 0.0 < confidence < 1.0):
        raise ConfigError(f"'confidence' must be in (0, 1); got {confidence!r}.")
    return float(confidence)


def _check_reps(reps: int) -> int:
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 0:
        raise ConfigError(f"'reps' must be an integer >= 0; got {reps!r}.")
    return reps


def _wild_run(d: _Design, *, column: int, b0: float, reps: int, seed: int) -> Any:
    """One restricted wild cluster bootstrap test of ``coef[column] = b0`` (wildboottest).

    Rademacher weights by region, CRV1 small-sample factors as statsmodels; weighted fits
    as OLS on rows scaled by the square root of the weight. ``b0`` is tested by shifting
    the outcome by ``b0`` times the tested column and testing zero.
    """
    wb = _require("wildboottest.wildboottest")
    sw = np.sqrt(d.w)
    x = d.x * sw[:, None]
    y = d.y * sw - b0 * x[:, column]
    r = np.zeros(x.shape[1])
    r[column] = 1.0
    boot = wb.WildboottestCL(X=x, Y=y, cluster=d.groups, R=r, B=reps, seed=seed, parallel=False)
    boot.get_scores(bootstrap_type="11", impose_null=True)
    boot.get_weights(weights_type="rademacher")
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    boot.get_vcov()
    boot.get_tstat()
    boot.get_pvalue(pval_type="two-tailed")
    return boot


class _WildTest:
    """The restricted wild cluster bootstrap test of ``b = b0`` for every ``b0``.

    Runs :func:`_wild_run` three times (``b0`` = 0, +h, -h) and keeps, per bootstrap
    draw, the numerator (linear in ``b0``) and denominator (quadratic in ``b0``) of the
    bootstrap t, so the test at any ``b0`` is exact arithmetic on them.
    """

    def __init__(self, d: _Design, *, reps: int, seed: int, h: float) -> None:
        def run(b0: float) -> Any:
            return _wild_run(d, column=0, b0=b0, reps=reps, seed=seed)

        b_0, b_p, b_m = run(0.0), run(h), run(-h)
        self.p_value = float(b_0.pvalue)
        n0, n1 = np.asarray(b_0.numer, float), np.asarray(b_p.numer, float)
        d0, dp, dm = (np.asarray(b.denom, float) for b in (b_0, b_p, b_m))
        self._n0, self._n1 = n0, (n1 - n0) / h
        self._d0, self._d1, self._d2 = d0, (dp - dm) / (2 * h), (dp + dm - 2 * d0) / (2 * h * h)
        t0, tp = float(np.ravel(b_0.t_stat)[0]), float(np.ravel(b_p.t_stat)[0])
        self._se = h / (t0 - tp)
        self._beta = t0 * self._se
        # The interpolation must reproduce the library's own p-values.
        for b0, boot in ((0.0, b_0), (h, b_p), (-h, b_m)):
            if abs(self.p_at(b0) - float(boot.pvalue)) > 1.5 / max(reps, 1):
                raise ModelError(
                    "'wildboottest' must give a bootstrap t linear in the tested value; got "
                    f"p={boot.pvalue} at {b0} against {self.p_at(b0)} interpolated."
                )

    def p_at(self, b0: float) -> float:
        numer = self._n0 + self._n1 * b0
        denom = np.maximum(self._d0 + self._d1 * b0 + self._d2 * b0 * b0, 1e-300)
        t = (self._beta - b0) / self._se
        return float(np.mean(abs(t) < np.abs(numer / np.sqrt(denom))))

    def interval(self, *, alpha: float, scale: float) -> tuple[float, float]:
        return self._bound(-1.0, alpha, scale), self._bound(1.0, alpha, scale)

    def _bound(self, side: float, alpha: float, scale: float) -> float:
        inside = self._beta
        step = scale
        for _ in range(60):
            outside = self._beta + side * step
            if self.p_at(outside) <= alpha:
                break
            inside, step = outside, step * 2.0
        else:
            return side * math.inf
        for _ in range(60):
            mid = (inside + outside) / 2.0
            if self.p_at(mid) > alpha:
                inside = mid
            else:
                outside = mid
            if abs(outside - inside) <= 1e-6 * scale:
                break
        return (inside + outside) / 2.0


def _did_on(
    used: pl.DataFrame,
    *,
    outcome: str,
    start: dt.date,
    reps: int,
    seed: int,
    confidence: float,
    weighted: bool,
    wild_interval: bool = True,
) -> DidResult:
    first = start.replace(day=1)
    post = pl.col("month") >= first
    if used.filter(post).height == 0 or used.filter(~post).height == 0:
        months = used.get_column("month")
        raise DataError(
            f"'panel' must have months before and from the start {first}; got "
            f"{months.min()!s} .. {months.max()!s}."
        )
    d = _design(used, used.select((pl.col("treated") & post).cast(pl.Float64).alias("did")))
    alpha = 1.0 - confidence
    wild_lo = wild_hi = wild_p = None
    with _one_blas_thread():
        est, se, lo, hi, p_value = (float(v) for v in _effects_table(_fit(d), d, alpha=alpha)[0])
        if reps > 0 and wild_interval:
            if not math.isfinite(se) or se <= 0:
                raise ModelError(f"'panel' must give a positive standard error; got {se}.")
            test = _WildTest(d, reps=reps, seed=seed, h=max(4.0 * se, 1e-9))
            wild_lo, wild_hi = test.interval(alpha=alpha, scale=se)
            wild_p = test.p_value
        elif reps > 0:
            wild_p = float(_wild_run(d, column=0, b0=0.0, reps=reps, seed=seed).pvalue)
    return DidResult(
        outcome=outcome,
        start=first,
        estimate=est,
        se=se,
        ci_low=lo,
        ci_high=hi,
        p_value=p_value,
        wild_ci_low=wild_lo,
        wild_ci_high=wild_hi,
        wild_p_value=wild_p,
        n_regions=d.n_regions,
        n_treated=d.n_treated,
        n_obs=used.height,
        weighted=weighted,
        reps=reps,
        seed=seed,
        confidence=confidence,
    )


def difference_in_differences(
    panel: pl.DataFrame,
    *,
    pilot_regions: Sequence[str],
    start: dt.date,
    outcome: str = "",
    weighted: bool = True,
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> DidResult:
    """Pilot against control regions, before and after ``start``, with region and month FE.

    Parameters
    ----------
    panel
        An outcome panel (region_code, month, value, weight); rows with a null value or
        a zero weight are left out.
    pilot_regions
        The treated regions.
    start
        The first treated month (any day of it).
    outcome
        A name carried into the result.
    weighted
        Weight each region-month by ``weight`` (else all equally).
    reps
        Wild cluster bootstrap replications; 0 skips the bootstrap.
    seed
        Seed of the bootstrap weights.
    confidence
        Level of both intervals.

    Returns
    -------
    DidResult

    Raises
    ------
    DataError
        No pilot or no control region with data, no month before or after the start,
        or fewer than 3 regions.
    MissingExtraError
        statsmodels or wildboottest is not installed (the ``evaluation`` extra).

    Examples
    --------
    >>> r = difference_in_differences(_example_panel(), pilot_regions=("440100", "440400"),
    ...     start=dt.date(2012, 9, 1), outcome="example", reps=999)
    >>> r.covers(0.02), r.covers(0.02, wild=True), r.covers(0.0)
    (True, True, False)
    """
    used = _panel_arrays(panel, pilot_regions=pilot_regions, weighted=weighted)
    return _did_on(
        used,
        outcome=outcome,
        start=start,
        reps=_check_reps(reps),
        seed=seed,
        confidence=_check_confidence(confidence),
        weighted=weighted,
    )


def placebo_test(
    panel: pl.DataFrame,
    *,
    pilot_regions: Sequence[str],
    start: dt.date,
    months_earlier: int = 12,
    outcome: str = "",
    weighted: bool = True,
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
    wild_interval: bool = False,
) -> DidResult:
    """The DiD with a fake start ``months_earlier`` months before ``start``, on earlier data.

    Only months before the real ``start`` are used, so the real effect cannot leak in;
    a placebo that rejects zero points at diverging trends. By default the wild
    bootstrap gives only its p-value of zero (one bootstrap run instead of the three an
    interval takes; zero lies in the wild interval exactly when that p-value exceeds
    ``1 - confidence``); ``wild_interval=True`` adds the interval.

    Examples
    --------
    >>> r = placebo_test(_example_panel(), pilot_regions=("440100", "440400"),
    ...                  start=dt.date(2012, 9, 1), reps=0)
    >>> r.start, r.covers(0.0)
    (datetime.date(2011, 9, 1), True)
    """
    if (
        isinstance(months_earlier, bool)
        or not isinstance(months_earlier, int)
        or months_earlier < 1
    ):
        raise ConfigError(f"'months_earlier' must be an integer >= 1; got {months_earlier!r}.")
    real = start.replace(day=1)
    fake = _add_months(real, -months_earlier)
    before = panel.filter(pl.col("month") < real)
    used = _panel_arrays(before, pilot_regions=pilot_regions, weighted=weighted)
    return _did_on(
        used,
        outcome=outcome,
        start=fake,
        reps=_check_reps(reps),
        seed=seed,
        confidence=_check_confidence(confidence),
        weighted=weighted,
        wild_interval=wild_interval,
    )


def effects_by_region(
    panel: pl.DataFrame,
    *,
    pilot_regions: Sequence[str],
    start: dt.date,
    weighted: bool = True,
    confidence: float = 0.95,
) -> pl.DataFrame:
    """The DiD of each pilot region alone against all control regions.

    With one treated cluster the cluster-robust interval is unreliable (and so is a
    wild cluster bootstrap): read these as descriptive estimates.

    Returns
    -------
    polars.DataFrame
        region_code, name, estimate, se, ci_low, ci_high, p_value, n_obs; one row per
        pilot region with data.

    Examples
    --------
    >>> t = effects_by_region(_example_panel(), pilot_regions=("440100", "440400"),
    ...                       start=dt.date(2012, 9, 1))
    >>> t.select("region_code", pl.col("estimate").round(3)).rows()
    [('440100', 0.02), ('440400', 0.02)]
    """
    conf = _check_confidence(confidence)
    pilots = check_region_codes(list(pilot_regions), what="pilot_regions")
    rows = []
    present = set(panel.get_column("region_code").unique().to_list())
    for region in pilots:
        if region not in present:
            continue
        sub = panel.filter(
            (pl.col("region_code") == region) | ~pl.col("region_code").is_in(list(pilots))
        )
        try:
            used = _panel_arrays(sub, pilot_regions=(region,), weighted=weighted)
        except DataError:
            continue  # the region has no usable row
        r = _did_on(
            used, outcome="", start=start, reps=0, seed=0, confidence=conf, weighted=weighted
        )
        rows.append(
            {
                "region_code": region,
                "name": region_name(region),
                "estimate": r.estimate,
                "se": r.se,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "p_value": r.p_value,
                "n_obs": r.n_obs,
            }
        )
    schema = {
        "region_code": pl.String,
        "name": pl.String,
        "estimate": pl.Float64,
        "se": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "p_value": pl.Float64,
        "n_obs": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema)


def _period_dummies(used: pl.DataFrame, groups: Sequence[Sequence[int]]) -> pl.DataFrame:
    """One treated indicator per group of periods (pilot region and period in the group)."""
    return used.select(
        [
            (pl.col("treated") & pl.col("period").is_in(list(g))).cast(pl.Float64).alias(f"g{i}")
            for i, g in enumerate(groups)
        ]
    )


def event_study(
    panel: pl.DataFrame,
    *,
    pilot_regions: Sequence[str],
    start: dt.date,
    outcome: str = "",
    unit: Literal["month", "quarter"] = "quarter",
    window: tuple[int, int] | None = None,
    pretrend_bins: int = 2,
    weighted: bool = True,
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> EventStudyResult:
    """Effect by period relative to the start (reference: the period before it).

    Period ``k`` of a month is ``floor(months since the start / 3)`` (quarters) or the
    months since the start; with ``window = (lo, hi)`` periods outside are binned into
    ``lo`` and ``hi``. Every period but the reference gets its own coefficient.

    The pre-trend test asks whether the pilot regions drifted from the controls before
    the start. It runs on a second fit in which the pre-start periods other than the
    reference are pooled into ``pretrend_bins`` consecutive groups (the post-start periods
    keep their own coefficients), because with six treated regions a cluster-robust joint
    test of ten quarterly coefficients rejects far too often. Two p-values: the joint F
    test of the bin effects (cluster-robust, ``G - 1`` denominator degrees of freedom;
    still too liberal with few treated regions) and, with ``reps > 0``, the Bonferroni
    combination of the wild bootstrap p-values of the bin effects (the one to read; see
    the module docstring for the measured rejection rates).

    Returns
    -------
    EventStudyResult

    Raises
    ------
    DataError
        No pilot-region data in the period before the start, or fewer regions than
        ``pretrend_bins + 2``.

    Examples
    --------
    >>> es = event_study(_example_panel(), pilot_regions=("440100", "440400"),
    ...                  start=dt.date(2012, 9, 1), window=(-3, 3))
    >>> pct = (pl.col("estimate") * 100).round().cast(pl.Int64)  # percentage points
    >>> es.coefficients.select("period", pct).rows()
    [(-3, 0), (-2, 0), (-1, 0), (0, 2), (1, 2), (2, 2), (3, 2)]
    >>> es.pretrend_bins, es.pretrend_df
    (((-3, -3), (-2, -2)), (2, 5))
    """
    if unit not in ("month", "quarter"):
        raise ConfigError(f"'unit' must be 'month' or 'quarter'; got {unit!r}.")
    if isinstance(pretrend_bins, bool) or not isinstance(pretrend_bins, int) or pretrend_bins < 1:
        raise ConfigError(f"'pretrend_bins' must be an integer >= 1; got {pretrend_bins!r}.")
    conf = _check_confidence(confidence)
    used = _panel_arrays(panel, pilot_regions=pilot_regions, weighted=weighted)
    first = start.replace(day=1)
    since = (pl.col("month").dt.year() * 12 + pl.col("month").dt.month() - 1) - _month_index(first)
    per = 3 if unit == "quarter" else 1
    period = since.floordiv(per)
    if window is not None:
        lo, hi = window
        if not lo < -1 < hi:
            raise ConfigError(f"'window' must be (lo, hi) with lo < -1 < hi; got {window!r}.")
        period = period.clip(lo, hi)
    used = used.with_columns(period=period.cast(pl.Int64))
    periods = sorted(used.filter(pl.col("treated")).get_column("period").unique().to_list())
    reference = -1
    if reference not in periods:
        raise DataError(
            f"'panel' must have pilot-region data in the {unit} before the start; got periods "
            f"{periods[:3]}..."
        )
    effects = [k for k in periods if k != reference]
    pre = [k for k in effects if k < reference]
    d = _design(used, _period_dummies(used, [[k] for k in effects]))
    if d.n_regions < pretrend_bins + 2:
        raise DataError(
            f"'panel' must cover at least {pretrend_bins + 2} regions for {pretrend_bins} "
            f"pre-trend bins; got {d.n_regions}."
        )
    with _one_blas_thread():
        table = _effects_table(_fit(d), d, alpha=1.0 - conf)
    rows = [(k, *(float(v) for v in table[j])) for j, k in enumerate(effects)]
    rows.append((reference, 0.0, 0.0, 0.0, 0.0, float("nan")))
    coef = (
        pl.DataFrame(
            rows,
            schema={
                "period": pl.Int64,
                "estimate": pl.Float64,
                "se": pl.Float64,
                "ci_low": pl.Float64,
                "ci_high": pl.Float64,
                "p_value": pl.Float64,
            },
            orient="row",
        )
        .with_columns(p_value=pl.col("p_value").fill_nan(None))
        .sort("period")
        .with_columns(
            first_month=pl.lit(first).dt.offset_by(pl.format("{}mo", pl.col("period") * per))
        )
        .select("period", "first_month", "estimate", "se", "ci_low", "ci_high", "p_value")
    )
    bins = [
        [int(k) for k in g] for g in np.array_split(np.array(pre), min(pretrend_bins, len(pre)))
    ]
    bins = [g for g in bins if g]
    if bins:
        post = [[k] for k in effects if k > reference]
        d_bins = _design(used, _period_dummies(used, [*bins, *post]))
        r = np.eye(d_bins.x.shape[1])[: len(bins)]
        wild_p: float | None = None
        with _one_blas_thread():
            f = _fit(d_bins).f_test(r)
            if _check_reps(reps) > 0:
                p_bins = [
                    float(_wild_run(d_bins, column=j, b0=0.0, reps=reps, seed=seed).pvalue)
                    for j in range(len(bins))
                ]
                wild_p = min(1.0, len(bins) * min(p_bins))  # Bonferroni over the bins
        f_stat, p_val = float(np.ravel(f.fvalue)[0]), float(f.pvalue)
        df = (int(f.df_num), int(f.df_denom))
    else:
        f_stat, p_val, df, wild_p = float("nan"), float("nan"), (0, 0), None
    return EventStudyResult(
        outcome=outcome,
        start=first,
        unit=unit,
        reference=reference,
        coefficients=coef,
        pretrend_bins=tuple((g[0], g[-1]) for g in bins),
        pretrend_f=f_stat,
        pretrend_df=df,
        pretrend_p_value=p_val,
        pretrend_wild_p_value=wild_p,
        n_regions=d.n_regions,
        n_treated=d.n_treated,
        n_obs=used.height,
    )


# --------------------------------------------------------------------------- the whole run


@dataclass(frozen=True, slots=True)
class PilotEvaluation:
    """Everything :func:`evaluate_pilot` computed, by outcome name."""

    panels: dict[str, pl.DataFrame]
    did: dict[str, DidResult]
    placebo: dict[str, DidResult]
    event_studies: dict[str, EventStudyResult]
    by_region: dict[str, pl.DataFrame]
    planted: dict[str, float]

    def effects_frame(self) -> pl.DataFrame:
        """:func:`pilot_effects_frame` of the DiD results with the planted effects."""
        return pilot_effects_frame(list(self.did.values()), planted=self.planted)

    def summary(self) -> pl.DataFrame:
        """One printable row per outcome: estimate, intervals, planted, placebo, pre-trend.

        Numbers are rounded to 4 decimals and intervals shown as ``[low, high]``; the
        p-values are the wild bootstrap ones when a bootstrap ran, else cluster-robust.

        Examples
        --------
        >>> e = PilotEvaluation(panels={}, did={}, placebo={}, event_studies={},
        ...                     by_region={}, planted={})
        >>> e.summary().height
        0
        """

        def num(x: float | None) -> str:
            return "-" if x is None else f"{x:+.4f}"

        def ci(lo: float | None, hi: float | None) -> str:
            return "-" if lo is None or hi is None else f"[{lo:+.4f}, {hi:+.4f}]"

        rows = []
        for name, r in self.did.items():
            pb = self.placebo.get(name)
            es = self.event_studies.get(name)
            pre = None
            if es is not None:
                pre = es.pretrend_wild_p_value
                pre = es.pretrend_p_value if pre is None else pre
            rows.append(
                {
                    "outcome": name,
                    "estimate": num(r.estimate),
                    "95% CI (cluster)": ci(r.ci_low, r.ci_high),
                    "95% CI (wild)": ci(r.wild_ci_low, r.wild_ci_high),
                    "p": f"{r.p_value if r.wild_p_value is None else r.wild_p_value:.4f}",
                    "planted": num(self.planted.get(name)),
                    "placebo (cluster CI, p)": "-"
                    if pb is None
                    else f"{num(pb.estimate)} {ci(pb.ci_low, pb.ci_high)} p="
                    + f"{pb.p_value if pb.wild_p_value is None else pb.wild_p_value:.2f}",
                    "pre-trend p": "-" if pre is None or math.isnan(pre) else f"{pre:.4f}",
                }
            )
        return pl.DataFrame(rows)


def evaluate_pilot(
    config: WorkbenchConfig,
    *,
    outcomes: Sequence[str] | None = None,
    weighted: bool = True,
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
    tables: Mapping[str, Frame] | None = None,
) -> PilotEvaluation:
    """Panels, DiD, placebo, event study and per-region effects for every outcome.

    Reads ``paths.validated`` (unless ``tables`` are given) and the planted effects
    from ``paths.truth`` when there is a truth.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> evaluate_pilot(load_config().with_root("/nonexistent"))
    Traceback (most recent call last):
    ...
    scoring.exceptions.InputFileError: '/nonexistent/data/validated' must hold validated ...
    """
    names = list(OUTCOMES) if outcomes is None else list(outcomes)
    unknown = [n for n in names if n not in OUTCOMES]
    if unknown:
        raise ConfigError(f"'outcomes' must be among {list(OUTCOMES)}; got {unknown}.")
    src = load_validated_tables(config) if tables is None else tables
    planted = load_planted_effects(config)
    p = config.province
    panels = outcome_panels(src, province=p)
    common: dict[str, Any] = {
        "pilot_regions": p.pilot_regions,
        "start": p.pilot_start,
        "weighted": weighted,
        "confidence": confidence,
    }
    did, placebo, events, regions = {}, {}, {}, {}
    for name in names:
        panel = panels[name]
        did[name] = difference_in_differences(panel, outcome=name, reps=reps, seed=seed, **common)
        placebo[name] = placebo_test(panel, outcome=name, reps=reps, seed=seed, **common)
        events[name] = event_study(panel, outcome=name, reps=reps, seed=seed, **common)
        regions[name] = effects_by_region(panel, **common)
    return PilotEvaluation(
        panels={n: panels[n] for n in names},
        did=did,
        placebo=placebo,
        event_studies=events,
        by_region=regions,
        planted={n: v for n, v in planted.items() if n in names},
    )


def pilot_effects_frame(
    results: Sequence[DidResult], *, planted: Mapping[str, float] | None = None
) -> pl.DataFrame:
    """One row per outcome for the ``pilot_effects`` mart, with the planted effect.

    Carries the columns of :data:`scoring.marts.MART_SPECS` ``["pilot_effects"]``
    (province-wide rows, ``region_code`` 440000, estimator ``did``; ``ci_low`` and
    ``ci_high`` are the cluster-robust interval) plus se, n_treated, wild_ci_low,
    wild_ci_high, wild_p_value and planted (null when nothing was planted or there is
    no truth).

    Examples
    --------
    >>> r = difference_in_differences(_example_panel(), pilot_regions=("440100",),
    ...     start=dt.date(2012, 9, 1), outcome="sme_access_rate", reps=0)
    >>> f = pilot_effects_frame([r], planted={"sme_access_rate": 0.02})
    >>> f.select("outcome", "unit", "planted").row(0)
    ('sme_access_rate', 'share', 0.02)
    """
    rows = []
    given = dict(planted or {})
    for r in results:
        o = OUTCOMES.get(r.outcome, Outcome(r.outcome, r.outcome, r.outcome, "", None))
        rows.append(
            {
                "region_code": PROVINCE_CODE,
                "outcome": r.outcome,
                "outcome_zh": o.zh,
                "outcome_en": o.en,
                "estimator": "did",
                "unit": o.unit,
                "n_regions": r.n_regions,
                "n_treated": r.n_treated,
                "n_obs": r.n_obs,
                "estimate": r.estimate,
                "se": r.se,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "p_value": r.p_value,
                "wild_ci_low": r.wild_ci_low,
                "wild_ci_high": r.wild_ci_high,
                "wild_p_value": r.wild_p_value,
                "planted": given.get(r.outcome),
            }
        )
    schema: dict[str, Any] = {
        "region_code": pl.String,
        "outcome": pl.String,
        "outcome_zh": pl.String,
        "outcome_en": pl.String,
        "estimator": pl.String,
        "unit": pl.String,
        "n_regions": pl.Int64,
        "n_treated": pl.Int64,
        "n_obs": pl.Int64,
        "estimate": pl.Float64,
        "se": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "p_value": pl.Float64,
        "wild_ci_low": pl.Float64,
        "wild_ci_high": pl.Float64,
        "wild_p_value": pl.Float64,
        "planted": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


# --------------------------------------------------------------------------- model performance


def _scored(scored: pl.DataFrame, pilot_regions: Sequence[str]) -> pl.DataFrame:
    missing = [c for c in ("region_code", "pd", "default") if c not in scored.columns]
    if missing:
        raise SchemaError(f"'scored' must have the columns {missing}; got {scored.columns}.")
    pilots = check_region_codes(list(pilot_regions), what="pilot_regions")
    out = scored.select("region_code", "pd", "default").filter(pl.col("default").is_not_null())
    bad = out.filter(~pl.col("default").cast(pl.Float64, strict=False).is_in([0.0, 1.0]))
    if bad.height:
        raise DataError(
            f"'default' must be 0 or 1; got {bad.get_column('default').unique().to_list()[:5]}."
        )
    if out.height == 0:
        raise DataError("'scored' must have rows with an observed default; got none.")
    return out.with_columns(pilot=pl.col("region_code").is_in(list(pilots)))


def performance_by_region(
    scored: pl.DataFrame,
    *,
    pilot_regions: Sequence[str],
    min_count: int = 1,
    confidence: float = 0.95,
) -> pl.DataFrame:
    """AUC, KS, Gini, Brier and calibration of a model's PDs per region.

    Parameters
    ----------
    scored
        One row per scored entity: region_code, pd (the model's PD), default (0/1;
        rows with a null outcome are left out).
    pilot_regions
        Flags the pilot regions.
    min_count
        Fewer rows (or a single class): AUC, Gini and KS are null.
    confidence
        Level of the interval of the observed default rate.

    Returns
    -------
    polars.DataFrame
        region_code, pilot, n, bads, bad_rate, mean_pd, auc, gini, ks, brier, ci_lower,
        ci_upper (Wilson interval of the bad rate), calibrated (mean_pd inside it).

    Examples
    --------
    >>> s = pl.DataFrame({"region_code": ["440100"] * 4 + ["440200"] * 4,
    ...     "pd": [0.1, 0.4, 0.35, 0.8, 0.2, 0.3, 0.6, 0.7], "default": [0, 0, 1, 1] * 2})
    >>> performance_by_region(s, pilot_regions=("440100",)).select(
    ...     "region_code", "pilot", "auc", "ks").rows()
    [('440100', True, 0.75, 0.5), ('440200', False, 1.0, 1.0)]
    """
    conf = _check_confidence(confidence)
    s = _scored(scored, pilot_regions)
    by = metrics.metrics_by_group(
        s.get_column("default"),
        s.get_column("pd"),
        s.get_column("region_code"),
        min_count=min_count,
    ).rename({"group": "region_code"})
    extra = s.group_by("region_code").agg(
        pilot=pl.col("pilot").first(),
        mean_pd=pl.col("pd").mean(),
        brier=((pl.col("pd") - pl.col("default")) ** 2).mean(),
    )
    out = by.join(extra, on="region_code", how="left")
    lo, hi = metrics.binomial_interval(
        out.get_column("bads").to_numpy(), out.get_column("n").to_numpy(), confidence=conf
    )
    return (
        out.with_columns(ci_lower=pl.Series(lo), ci_upper=pl.Series(hi))
        .with_columns(
            calibrated=(pl.col("mean_pd") >= pl.col("ci_lower"))
            & (pl.col("mean_pd") <= pl.col("ci_upper"))
        )
        .select(
            "region_code",
            "pilot",
            "n",
            "bads",
            "bad_rate",
            "mean_pd",
            "auc",
            "gini",
            "ks",
            "brier",
            "ci_lower",
            "ci_upper",
            "calibrated",
        )
        .sort("region_code")
    )


_GAP_METRICS: dict[str, Callable[[Any, Any], float]] = {
    "auc": metrics.auc,
    "ks": lambda y, p: metrics.ks(y, p).statistic,
    "brier": metrics.brier,
}


def model_gap(
    scored: pl.DataFrame,
    *,
    pilot_regions: Sequence[str],
    metric: Literal["auc", "ks", "brier"] = "auc",
    reps: int = 999,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> ModelGapResult:
    """Does the model serve pilot and control regions equally well? ``metric`` in each.

    The interval comes from a stratified bootstrap: rows are drawn with replacement
    within pilot and control regions and within defaults and non-defaults (so every
    draw has both classes); the p-value is twice the smaller share of draws on either
    side of zero (percentile bootstrap).

    Raises
    ------
    DataError
        A group without both a default and a non-default.

    Examples
    --------
    >>> s = pl.DataFrame({"region_code": ["440100"] * 4 + ["440200"] * 4,
    ...     "pd": [0.1, 0.4, 0.35, 0.8, 0.2, 0.3, 0.6, 0.7], "default": [0, 0, 1, 1] * 2})
    >>> g = model_gap(s, pilot_regions=("440100",), reps=200)
    >>> g.pilot, g.control, g.difference
    (0.75, 1.0, -0.25)
    """
    if metric not in _GAP_METRICS:
        raise ConfigError(f"'metric' must be one of {list(_GAP_METRICS)}; got {metric!r}.")
    if _check_reps(reps) < 1:
        raise ConfigError(f"'reps' must be an integer >= 1; got {reps!r}.")
    conf = _check_confidence(confidence)
    fn = _GAP_METRICS[metric]
    s = _scored(scored, pilot_regions)
    groups = {}
    for flag, label in ((True, "pilot"), (False, "control")):
        g = s.filter(pl.col("pilot") == flag)
        y = g.get_column("default").cast(pl.Float64).to_numpy()
        p = g.get_column("pd").cast(pl.Float64).to_numpy()
        if y.sum() == 0 or y.sum() == y.size:
            raise DataError(
                f"'scored' must have defaults and non-defaults in the {label} regions; got "
                f"{int(y.sum())} of {y.size}."
            )
        groups[label] = (y, p)
    rng = np.random.default_rng(seed)
    point = {k: fn(y, p) for k, (y, p) in groups.items()}
    diffs = np.empty(reps)
    for b in range(reps):
        vals = {}
        for k, (y, p) in groups.items():
            idx = np.concatenate(
                [rng.choice(np.flatnonzero(y == c), size=int((y == c).sum())) for c in (0, 1)]
            )
            vals[k] = fn(y[idx], p[idx])
        diffs[b] = vals["pilot"] - vals["control"]
    alpha = 1.0 - conf
    lo, hi = np.quantile(diffs, [alpha / 2.0, 1.0 - alpha / 2.0])
    p_value = min(1.0, 2.0 * min(float(np.mean(diffs <= 0)), float(np.mean(diffs >= 0))))
    return ModelGapResult(
        metric=metric,
        pilot=point["pilot"],
        control=point["control"],
        difference=point["pilot"] - point["control"],
        ci_low=float(lo),
        ci_high=float(hi),
        p_value=p_value,
        n_pilot=int(groups["pilot"][0].size),
        n_control=int(groups["control"][0].size),
        reps=reps,
        seed=seed,
    )


def model_gaps(
    scored: pl.DataFrame,
    *,
    pilot_regions: Sequence[str],
    metrics: Sequence[Literal["auc", "ks", "brier"]] = ("auc", "ks", "brier"),
    reps: int = 999,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> pl.DataFrame:
    """:func:`model_gap` for several metrics, one row each (``metric``, ``pilot``, ...).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> pd_ = rng.uniform(0.01, 0.3, 4000)
    >>> s = pl.DataFrame({"region_code": ["440100", "440200"] * 2000, "pd": pd_,
    ...     "default": (rng.random(4000) < pd_).astype(int)})
    >>> t = model_gaps(s, pilot_regions=["440100"], metrics=["auc", "ks"], reps=99)
    >>> t.get_column("metric").to_list(), t.columns[:4]
    (['auc', 'ks'], ['metric', 'pilot', 'control', 'difference'])
    """
    rows = [
        model_gap(
            scored,
            pilot_regions=pilot_regions,
            metric=m,
            reps=reps,
            seed=seed,
            confidence=confidence,
        )
        for m in metrics
    ]
    return pl.DataFrame([asdict(r) for r in rows])


def champion_scores(config: WorkbenchConfig, *, segment: str, split: str = "oot") -> pl.DataFrame:
    """The champion's PD on one split of a segment's credit file, for the by-region checks.

    Columns ``region_code``, ``default``, ``pd`` (no entity ids); the split is the one
    the model's training used (``[model]`` snapshots and test share).

    Raises
    ------
    TrackingError
        When the store fails or the segment has no champion.
    InputFileError
        When the credit file is missing.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> champion_scores(load_config(), segment="sme", split="future")
    Traceback (most recent call last):
    ...
    scoring.exceptions.ConfigError: 'split' must be one of train, test, oot; got 'future'.
    """
    from scoring.training import SPLITS, read_credit_file, split_credit_file

    if split not in SPLITS:
        raise ConfigError(f"'split' must be one of {', '.join(SPLITS)}; got {split!r}.")
    from scoring.lifecycle import load_by_alias

    champion = load_by_alias(config, segment=segment)
    rows = split_credit_file(read_credit_file(config, segment=segment), config.model)[split]
    pd_ = champion.credit_model.score_pd_grade(rows).get_column("pd")
    return rows.select("region_code", pl.col("default").cast(pl.Int8)).with_columns(pd_)


# --------------------------------------------------------------------------- doctest data


def _example_panel() -> pl.DataFrame:
    """Six regions x 60 months, a +0.02 effect in 440100 and 440400 from 2012-09, no noise
    except a small deterministic wobble."""
    regions = ["440100", "440400", "440200", "440300", "440500", "440600"]
    months = pl.date_range(dt.date(2010, 1, 1), dt.date(2014, 12, 1), "1mo", eager=True)
    frame = pl.DataFrame({"region_code": regions}).join(
        pl.DataFrame({"month": months}), how="cross"
    )
    i = pl.int_range(pl.len())
    wobble = ((i * 7919) % 13 - 6).cast(pl.Float64) * 1e-4
    treated = pl.col("region_code").is_in(["440100", "440400"]) & (
        pl.col("month") >= dt.date(2012, 9, 1)
    )
    return frame.with_columns(
        value=0.05 + 0.02 * treated.cast(pl.Float64) + wobble,
        weight=pl.lit(100.0),
    )


def _example_tables() -> dict[str, pl.DataFrame]:
    """A minimal province for doctests: one SME with a loan that defaults, one household."""
    d = dt.date
    return {
        "enterprises": pl.DataFrame(
            {
                "credit_code": ["A"],
                "county_code": ["440103"],
                "established_date": [d(2005, 1, 1)],
                "deregistered_date": [None],
            },
            schema_overrides={"deregistered_date": pl.Date},
        ),
        "households": pl.DataFrame(
            {"household_id": ["H1"], "county_code": ["440606"], "registered_date": [d(2011, 5, 3)]}
        ),
        "loans": pl.DataFrame(
            {
                "loan_id": ["L1"],
                "entity_type": ["sme"],
                "entity_id": ["A"],
                "origination_date": [d(2012, 10, 9)],
            }
        ),
        "loan_repayments": pl.DataFrame(
            {
                "loan_id": ["L1"] * 3,
                "month": [d(2013, 1, 1), d(2013, 2, 1), d(2013, 3, 1)],
                "days_past_due": [30, 60, 90],
            }
        ),
    }
