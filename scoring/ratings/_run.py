"""Wiring: read the validated records, rate, write under ``paths.ratings``.

Files (Parquet, each written atomically; a run replaces the rows of the years it
rated and keeps the others):

=============================  ==================================================
``tax_ratings.parquet``        :data:`~scoring.ratings.TAX_RATINGS_SCHEMA`
``tax_deductions.parquet``     :data:`~scoring.ratings.TAX_DEDUCTIONS_SCHEMA`
``household_ratings.parquet``  :data:`~scoring.ratings.HOUSEHOLD_RATINGS_SCHEMA`
``household_points.parquet``   :data:`~scoring.ratings.HOUSEHOLD_POINTS_SCHEMA`
``village_ratings.parquet``    :data:`~scoring.ratings.VILLAGE_RATINGS_SCHEMA`
``town_ratings.parquet``       :data:`~scoring.ratings.TOWN_RATINGS_SCHEMA`
``county_ratings.parquet``     :data:`~scoring.ratings.COUNTY_RATINGS_SCHEMA`
``rural_criteria.parquet``     :data:`~scoring.ratings.AREA_CRITERIA_SCHEMA`
``red_list.parquet``           :data:`~scoring.ratings.LIST_SCHEMA` (key ``as_of``)
``black_list.parquet``         :data:`~scoring.ratings.LIST_SCHEMA` (key ``as_of``)
=============================  ==================================================

Disputes (the validated ``disputes`` table and the objection store of ``scoring
dispute``, :func:`scoring.disputes.disputes_in_force`) apply as in collection: a record under a
dispute open on the rating date is left out when ``collection.exclude_open_disputes``,
a record found wrong (``corrected``) is never used. The rating date is the
publication date for tax, the year end for rural ratings and lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from scoring.config import WorkbenchConfig
from scoring.disputes import disputes_in_force
from scoring.exceptions import DataError, InputFileError
from scoring.progress import track
from scoring.ratings._common import check_year, drop_disputed, year_end
from scoring.ratings._lists import LIST_SCHEMA, CreditLists, build_lists
from scoring.ratings._rural import (
    AREA_CRITERIA_SCHEMA,
    COUNTY_RATINGS_SCHEMA,
    HOUSEHOLD_POINTS_SCHEMA,
    HOUSEHOLD_RATINGS_SCHEMA,
    TOWN_RATINGS_SCHEMA,
    VILLAGE_RATINGS_SCHEMA,
    RuralRatings,
    rate_rural,
)
from scoring.ratings._tax import (
    TAX_DEDUCTIONS_SCHEMA,
    TAX_RATINGS_SCHEMA,
    TaxRatings,
    rate_tax,
)
from scoring.storage import read_table, scan_table, write_parquet

__all__ = [
    "RATING_FILES",
    "rating_years",
    "run_lists",
    "run_rural_ratings",
    "run_tax_ratings",
]

RATING_FILES: dict[str, dict[str, pl.DataType]] = {
    "tax_ratings": TAX_RATINGS_SCHEMA,
    "tax_deductions": TAX_DEDUCTIONS_SCHEMA,
    "household_ratings": HOUSEHOLD_RATINGS_SCHEMA,
    "household_points": HOUSEHOLD_POINTS_SCHEMA,
    "village_ratings": VILLAGE_RATINGS_SCHEMA,
    "town_ratings": TOWN_RATINGS_SCHEMA,
    "county_ratings": COUNTY_RATINGS_SCHEMA,
    "rural_criteria": AREA_CRITERIA_SCHEMA,
    "red_list": LIST_SCHEMA,
    "black_list": LIST_SCHEMA,
}
"""Every file under ``paths.ratings`` (name without ``.parquet``) and its schema."""


def rating_years(config: WorkbenchConfig) -> list[int]:
    """The calendar years of the records, ``province.data_start`` .. ``data_end``.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> rating_years(load_config())
    [2010, 2011, 2012, 2013, 2014]
    """
    return list(range(config.province.data_start.year, config.province.data_end.year + 1))


def _years(config: WorkbenchConfig, year: int | None) -> list[int]:
    known = rating_years(config)
    if year is None:
        return known
    y = check_year(year)
    if y not in known:
        raise DataError(f"'year' must be one of the data years {known[0]}..{known[-1]}; got {y}.")
    return [y]


def _validated(config: WorkbenchConfig) -> Path:
    from scoring.validate import require_validated  # validation sits before rating

    return require_validated(config)


def _scan(folder: Path, name: str) -> pl.LazyFrame:
    return scan_table(folder / f"{name}.parquet")


def _write_keyed(
    frame: pl.DataFrame,
    path: Path,
    *,
    key: str,
    schema: dict[str, pl.DataType],
    sort: Sequence[str],
) -> Path:
    """Write ``frame``, keeping rows of an existing file whose ``key`` it does not cover."""
    out = frame.select(list(schema))
    if path.exists():
        old = read_table(path)
        if dict(old.schema) == schema:
            done = out.get_column(key).unique().implode()
            out = pl.concat([old.filter(~pl.col(key).is_in(done)), out])
    return write_parquet(out.sort(list(sort)), path)


def run_tax_ratings(
    config: WorkbenchConfig, *, year: int | None = None, progress: bool = False
) -> TaxRatings:
    """Rate the tax credit of every taxpayer and write both tax files.

    ``year`` None rates every data year; a year rates the years up to it in order
    (the carry-over rules need them) and writes them all.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> run_tax_ratings(load_config().with_root("/nonexistent"))
    Traceback (most recent call last):
    ...
    scoring.exceptions.InputFileError: '/nonexistent/data/validated' must hold validated ...
    """
    if year is not None:
        last = _years(config, year)[0]
        years = [y for y in rating_years(config) if y <= last]
    else:
        years = rating_years(config)
    folder = _validated(config)
    filings = _scan(folder, "tax_filings")
    violations = _scan(folder, "tax_violations")
    enterprises = _scan(folder, "enterprises")
    disputes = disputes_in_force(_scan(folder, "disputes"), config)
    rules = config.tax
    parts: list[TaxRatings] = []
    prev: TaxRatings | None = None
    steps = track(years, description="tax ratings") if progress else years
    for y in steps:
        as_of = dt.date(y + 1, rules.publication_month, 1)

        def clean(lf: pl.LazyFrame, table: str, as_of: dt.date = as_of) -> pl.LazyFrame:
            return drop_disputed(
                lf,
                disputes,
                table=table,
                as_of=as_of,
                exclude_open=config.collection.exclude_open_disputes,
            )

        prev = rate_tax(
            clean(filings, "tax_filings"),
            clean(violations, "tax_violations"),
            enterprises,
            year=y,
            rules=rules,
            previous=prev,
        )
        parts.append(prev)
    result = TaxRatings.concat(parts)
    root = config.paths.ratings
    _write_keyed(
        result.ratings,
        root / "tax_ratings.parquet",
        key="year",
        schema=TAX_RATINGS_SCHEMA,
        sort=("year", "credit_code"),
    )
    _write_keyed(
        result.deductions,
        root / "tax_deductions.parquet",
        key="year",
        schema=TAX_DEDUCTIONS_SCHEMA,
        sort=("year", "credit_code", "event_date", "indicator_code", "source_record_id"),
    )
    return result


def run_rural_ratings(
    config: WorkbenchConfig, *, year: int | None = None, progress: bool = False
) -> RuralRatings:
    """Rate households, villages, towns and counties and write the six rural files.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> run_rural_ratings(load_config(), year=1999)
    Traceback (most recent call last):
    ...
    scoring.exceptions.DataError: 'year' must be one of the data years 2010..2014; got 1999.
    """
    years = _years(config, year)
    folder = _validated(config)
    t = {
        name: _scan(folder, name)
        for name in (
            "households",
            "loans",
            "loan_repayments",
            "agri_subsidies",
            "agri_insurance",
            "public_records",
            "disputes",
        )
    }
    t["disputes"] = disputes_in_force(t["disputes"], config)
    excl = config.collection.exclude_open_disputes
    parts = []
    steps = track(years, description="rural ratings") if progress else years
    for y in steps:
        as_of = year_end(y)
        repayments = drop_disputed(
            t["loan_repayments"],
            t["disputes"],
            table="loan_repayments",
            as_of=as_of,
            exclude_open=excl,
        )
        repayments = drop_disputed(
            repayments,
            t["disputes"],
            table="loans",
            as_of=as_of,
            exclude_open=excl,
            key="loan_id",
        )
        parts.append(
            rate_rural(
                t["households"],
                t["loans"],
                repayments,
                drop_disputed(
                    t["agri_subsidies"],
                    t["disputes"],
                    table="agri_subsidies",
                    as_of=as_of,
                    exclude_open=excl,
                ),
                drop_disputed(
                    t["agri_insurance"],
                    t["disputes"],
                    table="agri_insurance",
                    as_of=as_of,
                    exclude_open=excl,
                ),
                drop_disputed(
                    t["public_records"],
                    t["disputes"],
                    table="public_records",
                    as_of=as_of,
                    exclude_open=excl,
                ),
                year=y,
                rules=config.rural,
            )
        )
    result = RuralRatings.concat(parts)
    root = config.paths.ratings
    for name, frame, sort in (
        ("household_ratings", result.households, ("year", "household_id")),
        (
            "household_points",
            result.points,
            ("year", "household_id", "block", "indicator_code", "value"),
        ),
        ("village_ratings", result.villages, ("year", "village_code")),
        ("town_ratings", result.towns, ("year", "town_code")),
        ("county_ratings", result.counties, ("year", "county_code")),
        ("rural_criteria", result.criteria, ("year", "level", "area_code", "criterion")),
    ):
        _write_keyed(
            frame, root / f"{name}.parquet", key="year", schema=RATING_FILES[name], sort=sort
        )
    return result


def _rating_file(config: WorkbenchConfig, name: str, command: str) -> pl.LazyFrame:
    path = config.paths.ratings / f"{name}.parquet"
    if not path.is_file():
        raise InputFileError(f"'{path}' must exist for the lists; run `scoring {command}` first.")
    return scan_table(path)


def run_lists(config: WorkbenchConfig, *, year: int | None = None) -> CreditLists:
    """Build the red and black lists in force at each year end and write both files.

    Reads ``tax_ratings.parquet`` and ``household_ratings.parquet`` (run the
    ratings first) and the validated court enforcement and penalty records.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> run_lists(load_config(), year=2020)
    Traceback (most recent call last):
    ...
    scoring.exceptions.DataError: 'year' must be one of the data years 2010..2014; got 2020.
    """
    years = _years(config, year)
    folder = _validated(config)
    tax = _rating_file(config, "tax_ratings", "rate tax")
    households = _rating_file(config, "household_ratings", "rate rural")
    court = _scan(folder, "court_enforcement")
    penalties = _scan(folder, "admin_penalties")
    disputes = _scan(folder, "disputes")
    excl = config.collection.exclude_open_disputes
    parts = []
    for y in years:
        as_of = year_end(y)
        parts.append(
            build_lists(
                as_of=as_of,
                rules=config.lists,
                tax_ratings=tax,
                household_ratings=households,
                court_enforcement=drop_disputed(
                    court, disputes, table="court_enforcement", as_of=as_of, exclude_open=excl
                ),
                admin_penalties=drop_disputed(
                    penalties, disputes, table="admin_penalties", as_of=as_of, exclude_open=excl
                ),
            )
        )
    result = CreditLists.concat(parts)
    sort = ("as_of", "entity_type", "entity_id", "reason_code", "listed_date", "source_record_id")
    root = config.paths.ratings
    _write_keyed(result.red, root / "red_list.parquet", key="as_of", schema=LIST_SCHEMA, sort=sort)
    _write_keyed(
        result.black, root / "black_list.parquet", key="as_of", schema=LIST_SCHEMA, sort=sort
    )
    return result
