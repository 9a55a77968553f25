"""Joint reward and punishment lists (红名单 / 黑名单) in force on a date.

Each entry names the entity (an enterprise by credit code, a household by its
household id only: never a resident id number or a name), the reason (code,
Chinese, English, from ``[[lists.reasons]]``), the source record, and the dates it
is listed from and expires on (the publicity period, ``months`` of its reason).
An entry is in force on ``as_of`` when ``listed_date <= as_of < expiry_date``.
The reasons the code knows:

========================  =====  ==========================================================
code                      list   listed from / expiry
========================  =====  ==========================================================
``TAX_A_CONSECUTIVE``     red    grade A in ``tax_a_years`` consecutive rating years, from
                                 the last one's publication
``CREDIT_HOUSEHOLD_AAA``  red    an AAA credit household, from its rating year end
``TAX_D``                 black  tax grade D, from the rating's publication
``DISHONEST_DEBTOR``      black  a dishonest judgement debtor (court_enforcement), from the
                                 filing date, until expiry or until the case is closed
``SERIOUS_PENALTY``       black  a serious administrative penalty, from the decision date
========================  =====  ==========================================================

A reason missing from the configuration is not listed. With ``red_excludes_black``
an entity on the black list on ``as_of`` is left off the red list. Only records
dated on or before ``as_of`` and ratings published by then are used.

Examples
--------
>>> import datetime as dt
>>> from scoring.config import load_config
>>> pen = pl.DataFrame({"record_id": ["P1"], "credit_code": ["C1"],
...     "decision_date": [dt.date(2012, 6, 30)], "severity": ["serious"]})
>>> lists = build_lists(as_of=dt.date(2012, 12, 31), rules=load_config().lists,
...     admin_penalties=pen)
>>> lists.black.select("entity_id", "reason_code", "expiry_date").row(0)
('C1', 'SERIOUS_PENALTY', datetime.date(2015, 6, 30))
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from scoring.config import ListReason, ListsConfig
from scoring.exceptions import DataError
from scoring.ratings._common import FrameLike, empty_frame, raw_table

__all__ = ["LIST_REASONS", "LIST_SCHEMA", "CreditLists", "build_lists"]

LIST_REASONS = (
    "TAX_A_CONSECUTIVE",
    "CREDIT_HOUSEHOLD_AAA",
    "TAX_D",
    "DISHONEST_DEBTOR",
    "SERIOUS_PENALTY",
)
"""The reason codes the code can list; ``[[lists.reasons]]`` names and times them."""

LIST_SCHEMA: dict[str, pl.DataType] = {
    "list": pl.String(),
    "as_of": pl.Date(),
    "entity_type": pl.String(),
    "entity_id": pl.String(),
    "reason_code": pl.String(),
    "reason_zh": pl.String(),
    "reason_en": pl.String(),
    "source_table": pl.String(),
    "source_record_id": pl.String(),
    "listed_date": pl.Date(),
    "expiry_date": pl.Date(),
}
"""``red_list.parquet`` and ``black_list.parquet``: one row per entry in force on ``as_of``."""


@dataclass(frozen=True, slots=True)
class CreditLists:
    """The red and the black list, each following :data:`LIST_SCHEMA`."""

    red: pl.DataFrame
    black: pl.DataFrame

    @classmethod
    def concat(cls, parts: list[CreditLists]) -> CreditLists:
        """Lists of several dates as one.

        Examples
        --------
        >>> CreditLists.concat([]).red.columns == list(LIST_SCHEMA)
        True
        """
        if not parts:
            return cls(empty_frame(LIST_SCHEMA), empty_frame(LIST_SCHEMA))
        return cls(pl.concat([p.red for p in parts]), pl.concat([p.black for p in parts]))

    def summary(self) -> pl.DataFrame:
        """Entries per date, list and reason.

        Examples
        --------
        >>> CreditLists.concat([]).summary().columns
        ['as_of', 'list', 'reason_code', 'entity_type', 'entries']
        """
        both = pl.concat([self.red, self.black])
        return (
            both.group_by("as_of", "list", "reason_code", "entity_type")
            .agg(entries=pl.len().cast(pl.Int64))
            .sort("as_of", "list", "reason_code", "entity_type")
        )


def _entries(
    lf: pl.LazyFrame,
    reason: ListReason,
    *,
    as_of: dt.date,
    entity_type: str | pl.Expr,
    entity_id: str,
    source_table: str,
    source_record_id: pl.Expr,
    listed: pl.Expr,
) -> pl.LazyFrame:
    kind = entity_type if isinstance(entity_type, pl.Expr) else pl.lit(entity_type)
    return (
        lf.select(
            list=pl.lit(reason.list),
            as_of=pl.lit(as_of, dtype=pl.Date),
            entity_type=kind,
            entity_id=pl.col(entity_id),
            reason_code=pl.lit(reason.code),
            reason_zh=pl.lit(reason.name_zh),
            reason_en=pl.lit(reason.name_en),
            source_table=pl.lit(source_table),
            source_record_id=source_record_id.cast(pl.String),
            listed_date=listed.cast(pl.Date),
        )
        .with_columns(expiry_date=pl.col("listed_date").dt.offset_by(f"{reason.months}mo"))
        .filter(pl.col("listed_date") <= as_of, pl.col("expiry_date") > as_of)
    )


def _tax_frame(tax_ratings: FrameLike, as_of: dt.date) -> pl.LazyFrame:
    need = ("credit_code", "year", "grade", "published_date")
    lf = tax_ratings.lazy()
    have = lf.collect_schema().names()
    missing = [c for c in need if c not in have]
    if missing:
        raise DataError(f"'tax_ratings' must have columns {list(need)}; missing {missing}.")
    return lf.select(need).filter(pl.col("published_date") <= as_of)


def build_lists(
    *,
    as_of: dt.date,
    rules: ListsConfig,
    tax_ratings: FrameLike | None = None,
    household_ratings: FrameLike | None = None,
    court_enforcement: FrameLike | None = None,
    admin_penalties: FrameLike | None = None,
) -> CreditLists:
    """The red and black lists in force on ``as_of``.

    Parameters
    ----------
    as_of
        The list date (``scoring lists --year Y`` uses 31 December of Y).
    rules
        ``config.lists``: the reasons, their publicity periods, the A-run length.
    tax_ratings
        Tax ratings of :func:`~scoring.ratings.rate_tax` (all years needed for the
        A run), or None.
    household_ratings
        Household ratings of :func:`~scoring.ratings.rate_rural`, or None.
    court_enforcement, admin_penalties
        Raw tables (``scoring.schema``), or None.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> ce = pl.DataFrame({"record_id": ["E1"], "entity_type": ["household"],
    ...     "entity_id": ["H7"], "filed_date": [dt.date(2012, 3, 1)],
    ...     "closed_date": [None], "dishonest": [True]})
    >>> build_lists(as_of=dt.date(2012, 12, 31), rules=load_config().lists,
    ...     court_enforcement=ce).black.select("entity_type", "entity_id").row(0)
    ('household', 'H7')
    """
    if not isinstance(as_of, dt.date):
        raise DataError(f"'as_of' must be a date; got {as_of!r}.")
    unknown = [r.code for r in rules.reasons if r.code not in LIST_REASONS]
    if unknown:
        raise DataError(
            f"'lists.reasons' codes must be among {', '.join(LIST_REASONS)}; got {unknown}."
        )
    red: list[pl.LazyFrame] = []
    black: list[pl.LazyFrame] = []

    if tax_ratings is not None:
        tax = _tax_frame(tax_ratings, as_of)
        rid = pl.format("{}:{}", "credit_code", "year")
        reason = rules.reason("TAX_A_CONSECUTIVE")
        if reason is not None:
            a = tax.filter(pl.col("grade") == "A")
            run = a
            for k in range(1, rules.tax_a_years):
                earlier = a.select("credit_code", year=pl.col("year") + k)
                run = run.join(earlier, on=["credit_code", "year"], how="semi")
            red.append(
                _entries(
                    run,
                    reason,
                    as_of=as_of,
                    entity_type="sme",
                    entity_id="credit_code",
                    source_table="tax_ratings",
                    source_record_id=rid,
                    listed=pl.col("published_date"),
                )
            )
        reason = rules.reason("TAX_D")
        if reason is not None:
            black.append(
                _entries(
                    tax.filter(pl.col("grade") == "D"),
                    reason,
                    as_of=as_of,
                    entity_type="sme",
                    entity_id="credit_code",
                    source_table="tax_ratings",
                    source_record_id=rid,
                    listed=pl.col("published_date"),
                )
            )

    reason = rules.reason("CREDIT_HOUSEHOLD_AAA")
    if household_ratings is not None and reason is not None:
        hh = household_ratings.lazy().filter(pl.col("grade") == "AAA")
        listed = pl.date(pl.col("year"), 12, 31)
        red.append(
            _entries(
                hh,
                reason,
                as_of=as_of,
                entity_type="household",
                entity_id="household_id",
                source_table="household_ratings",
                source_record_id=pl.format("{}:{}", "household_id", "year"),
                listed=listed,
            )
        )

    reason = rules.reason("DISHONEST_DEBTOR")
    if court_enforcement is not None and reason is not None:
        cols = ["record_id", "entity_type", "entity_id", "filed_date", "closed_date", "dishonest"]
        ce = raw_table(court_enforcement, "court_enforcement", cols).filter(
            pl.col("dishonest"),
            pl.col("closed_date").is_null() | (pl.col("closed_date") > as_of),
        )
        black.append(
            _entries(
                ce,
                reason,
                as_of=as_of,
                entity_type=pl.col("entity_type"),
                entity_id="entity_id",
                source_table="court_enforcement",
                source_record_id=pl.col("record_id"),
                listed=pl.col("filed_date"),
            )
        )

    reason = rules.reason("SERIOUS_PENALTY")
    if admin_penalties is not None and reason is not None:
        cols = ["record_id", "credit_code", "decision_date", "severity"]
        pen = raw_table(admin_penalties, "admin_penalties", cols).filter(
            pl.col("severity") == "serious"
        )
        black.append(
            _entries(
                pen,
                reason,
                as_of=as_of,
                entity_type="sme",
                entity_id="credit_code",
                source_table="admin_penalties",
                source_record_id=pl.col("record_id"),
                listed=pl.col("decision_date"),
            )
        )

    order = ("entity_type", "entity_id", "reason_code", "listed_date", "source_record_id")
    black_df = (
        pl.concat(black).select(list(LIST_SCHEMA)).sort(order).collect()
        if black
        else empty_frame(LIST_SCHEMA)
    )
    red_lf = pl.concat(red).select(list(LIST_SCHEMA)) if red else empty_frame(LIST_SCHEMA).lazy()
    if rules.red_excludes_black:
        red_lf = red_lf.join(
            black_df.lazy().select("entity_type", "entity_id").unique(),
            on=["entity_type", "entity_id"],
            how="anti",
        )
    return CreditLists(red=red_lf.sort(order).collect(), black=black_df)
