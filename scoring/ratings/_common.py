"""What the three raters share: input checks against the raw-table contract, dates, disputes.

Examples
--------
>>> year_end(2012)
datetime.date(2012, 12, 31)
>>> raw_table(pl.DataFrame({"credit_code": ["X"]}), "enterprises", ["credit_code"]).collect().height
1
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TypeAlias

import polars as pl

from scoring.disputes import record_left_out
from scoring.exceptions import DataError, SchemaError
from scoring.schema import TABLES

__all__ = [
    "FrameLike",
    "add_months",
    "check_year",
    "drop_disputed",
    "empty_frame",
    "raw_table",
    "year_end",
]

FrameLike: TypeAlias = pl.DataFrame | pl.LazyFrame
"""A table given eagerly or lazily; the raters work lazily and collect once."""

_DISPUTE_COLUMNS = ("source_table", "source_record_id", "opened_date", "resolved_date", "outcome")


def year_end(year: int) -> dt.date:
    """The last day of ``year``: the as-of date of that year's ratings.

    Examples
    --------
    >>> year_end(2010).isoformat()
    '2010-12-31'
    """
    return dt.date(year, 12, 31)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months, clamped to the month's last day.

    Examples
    --------
    >>> add_months(dt.date(2012, 1, 31), 1)
    datetime.date(2012, 2, 29)
    """
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return dt.date(year, month, min(day.day, (nxt - dt.timedelta(days=1)).day))


def check_year(year: object, *, name: str = "year") -> int:
    """``year`` as an int, or a DataError in the house shape.

    Examples
    --------
    >>> check_year("2012")
    Traceback (most recent call last):
    ...
    scoring.exceptions.DataError: 'year' must be an integer year 1949..2100; got '2012'.
    """
    if isinstance(year, bool) or not isinstance(year, int) or not 1949 <= year <= 2100:
        raise DataError(f"'{name}' must be an integer year 1949..2100; got {year!r}.")
    return year


def raw_table(frame: FrameLike, table: str, columns: Sequence[str]) -> pl.LazyFrame:
    """The ``columns`` of raw table ``table``, checked and typed as ``scoring.schema`` says.

    A column that is missing, or whose type cannot stand for the contract's type,
    raises :class:`~scoring.exceptions.SchemaError` naming table and column. All-null
    columns and other integer or float widths are cast.

    Examples
    --------
    >>> raw_table(pl.DataFrame({"members": ["3"]}), "households", ["members"])
    Traceback (most recent call last):
    ...
    scoring.exceptions.SchemaError: 'households.members' must be of type Int64; got String.
    """
    if not isinstance(frame, pl.DataFrame | pl.LazyFrame):
        raise DataError(
            f"'{table}' must be a polars DataFrame or LazyFrame; got {type(frame).__name__}."
        )
    lf = frame.lazy()
    have = lf.collect_schema()
    contract = TABLES[table].schema
    exprs = []
    for name in columns:
        want = contract[name]
        if name not in have:
            raise SchemaError(
                f"'{table}' must have column '{name}'; got columns {sorted(have.names())}."
            )
        got = have[name]
        same = got == want
        castable = got == pl.Null or (got.is_numeric() and want.is_numeric())
        if not same and not castable:
            raise SchemaError(f"'{table}.{name}' must be of type {want}; got {got}.")
        exprs.append(pl.col(name) if same else pl.col(name).cast(want))
    return lf.select(exprs)


def drop_disputed(
    frame: pl.LazyFrame,
    disputes: FrameLike | None,
    *,
    table: str,
    as_of: dt.date,
    exclude_open: bool,
    key: str = "record_id",
) -> pl.LazyFrame:
    """Leave out records of ``table`` that a dispute (异议) takes out of use on ``as_of``.

    A dispute settled by ``as_of`` with outcome ``corrected`` found the record wrong:
    it is never used. A dispute open on ``as_of`` leaves the record out when
    ``exclude_open`` (``[collection] exclude_open_disputes``). Upheld and unresolved
    records are used (as in :mod:`scoring.collect`). The disputed ids of ``table``
    are matched with ``frame[key]``: ``table="loans", key="loan_id"`` drops the
    repayment records of a disputed loan.

    Examples
    --------
    >>> recs = pl.LazyFrame({"record_id": ["r1", "r2"]})
    >>> d = pl.DataFrame({"source_table": ["public_records"], "source_record_id": ["r1"],
    ...     "opened_date": [dt.date(2012, 5, 1)], "resolved_date": [None], "outcome": [None]})
    >>> drop_disputed(recs, d, table="public_records", as_of=dt.date(2012, 12, 31),
    ...     exclude_open=True).collect()["record_id"].to_list()
    ['r2']
    """
    if disputes is None:
        return frame
    d = raw_table(disputes, "disputes", _DISPUTE_COLUMNS).filter(pl.col("source_table") == table)
    out = record_left_out(as_of, exclude_open=exclude_open)
    gone = d.filter(out).select(pl.col("source_record_id").alias(key)).unique()
    return frame.join(gone, on=key, how="anti")


def empty_frame(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame of ``schema`` (outputs keep their columns when nothing qualifies)."""
    return pl.DataFrame(schema=schema)
