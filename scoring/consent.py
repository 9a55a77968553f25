"""Who may see what: consent to query, and the fields of each permission level.

Pure functions over the ``consents`` department table (``scoring.schema.TABLES["consents"]``)
and the configuration; nothing here reads or writes files.

A consent lets one bank query one entity for one purpose (RULES.md section 5, Art.18 and
Art.20 of the 2013 credit-reporting regulation). It is **valid on an as-of date** when::

    granted_date <= as_of < expiry_date  and  (withdrawn_date is null or withdrawn_date > as_of)

so the expiry date and the withdrawal date are the first days the consent no longer holds.

Every scored entity is classified into exactly one status, checked in this order:

``exported``
    a valid consent of this bank for this purpose exists; the export relies on the one granted
    last (``consent_id``).
``withdrawn`` / ``expired``
    no valid consent, and this bank's latest consent for this purpose granted on or before the
    as-of date was withdrawn (before it expired) or has expired.
``wrong_purpose``
    this bank holds a consent valid on the as-of date, but for another purpose.
``no_consent``
    anything else: no consent of this bank at all, or only ones granted after the as-of date.

Consents of other banks never count.

Examples
--------
>>> import datetime as dt
>>> consents = pl.DataFrame(
...     {
...         "consent_id": ["C1", "C2", "C3"],
...         "entity_type": ["sme", "sme", "sme"],
...         "entity_id": ["A", "B", "C"],
...         "bank_code": ["GDRCU", "GDRCU", "GDRCU"],
...         "purpose": ["credit_approval", "credit_approval", "guarantee"],
...         "granted_date": [dt.date(2013, 1, 1)] * 3,
...         "expiry_date": [dt.date(2014, 1, 1), dt.date(2013, 6, 1), dt.date(2014, 1, 1)],
...         "withdrawn_date": [None, None, None],
...     }
... )
>>> entities = pl.DataFrame({"entity_type": ["sme"] * 4, "entity_id": ["A", "B", "C", "D"]})
>>> out = classify_entities(
...     entities, consents, bank="GDRCU", purpose="credit_approval", as_of=dt.date(2013, 12, 31)
... )
>>> out.sort("entity_id").rows()
[('sme', 'A', 'exported', 'C1'), ('sme', 'B', 'expired', None), ('sme', 'C', 'wrong_purpose', None), ('sme', 'D', 'no_consent', None)]
"""  # noqa: E501

from __future__ import annotations

import datetime as dt
from typing import TypeVar

import polars as pl

from scoring.config import WorkbenchConfig
from scoring.exceptions import DataError, SchemaError
from scoring.schema import CONSENT_PURPOSES, ENTITY_TYPES, TABLES

__all__ = [
    "EXCLUSION_REASONS",
    "EXPORTED",
    "IDENTITY_COLUMNS",
    "PROVENANCE_COLUMNS",
    "REASON_COLUMNS",
    "classify_entities",
    "consent_state_expr",
    "export_columns",
    "permitted_fields",
    "valid_consent_expr",
]

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

EXPORTED = "exported"
"""The status of an entity whose row goes into the export."""
EXCLUSION_REASONS = ("no_consent", "expired", "withdrawn", "wrong_purpose")
"""Why an entity is left out of an export; the manifest counts every one (zeros included)."""

IDENTITY_COLUMNS = ("entity_id", "segment", "as_of")
"""Columns every export starts with, whatever the permission level."""
REASON_COLUMNS = tuple(f"reason_{i}_{part}" for i in (1, 2, 3) for part in ("code", "zh", "en"))
"""The top-3 reasons: code, Chinese text and English text each."""
PROVENANCE_COLUMNS = ("under_dispute", "model_name", "model_version", "run_id", "consent_id")
"""Columns every export ends with: the dispute flag, the model, and the consent relied on."""

_FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "score": ("score",),
    "grade": ("grade",),
    "pd": ("pd",),
    "reasons": REASON_COLUMNS,
    "features": (),  # the credit file's feature columns, known only per snapshot
}

_CONSENT_SCHEMA = TABLES["consents"].schema
_KEYS = ["entity_type", "entity_id"]


def permitted_fields(config: WorkbenchConfig, bank: str) -> tuple[str, ...]:
    """The field groups ``bank`` may receive, from its permission level and ``[exports]``.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> permitted_fields(load_config(), "GZBANK")
    ('score', 'grade')
    >>> permitted_fields(load_config(), "ICBCGD")
    ('score', 'grade', 'pd', 'reasons')
    """
    return config.exports.fields(config.bank(bank).permission_level)


def export_columns(
    fields: tuple[str, ...] | list[str], *, feature_columns: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """The columns of an export carrying ``fields``, in file order.

    Parameters
    ----------
    fields
        Field groups (``score``, ``grade``, ``pd``, ``reasons``, ``features``).
    feature_columns
        The export's feature columns (``feature_<name>``) when ``features`` is among ``fields``.

    Examples
    --------
    >>> export_columns(("score", "grade"))
    ('entity_id', 'segment', 'as_of', 'score', 'grade', 'under_dispute', 'model_name', 'model_version', 'run_id', 'consent_id')
    >>> "pd" in export_columns(("score", "grade", "pd", "reasons"))
    True
    """  # noqa: E501
    unknown = [f for f in fields if f not in _FIELD_COLUMNS]
    if unknown:
        raise DataError(f"'fields' must be among {', '.join(_FIELD_COLUMNS)}; got {unknown}.")
    if feature_columns and "features" not in fields:
        raise DataError(
            f"'feature_columns' must be empty without the 'features' field; got {feature_columns}."
        )
    body: list[str] = []
    for group in _FIELD_COLUMNS:  # fixed order whatever the order in config
        if group in fields:
            body += feature_columns if group == "features" else _FIELD_COLUMNS[group]
    return (*IDENTITY_COLUMNS, *body, *PROVENANCE_COLUMNS)


def valid_consent_expr(as_of: dt.date) -> pl.Expr:
    """Polars expression: is each consent row valid on ``as_of``?

    Examples
    --------
    >>> df = pl.DataFrame(
    ...     {
    ...         "granted_date": [dt.date(2013, 1, 1)] * 3,
    ...         "expiry_date": [dt.date(2014, 1, 1), dt.date(2013, 12, 31), dt.date(2014, 1, 1)],
    ...         "withdrawn_date": [None, None, dt.date(2013, 12, 31)],
    ...     }
    ... )
    >>> df.select(valid_consent_expr(dt.date(2013, 12, 31))).to_series().to_list()
    [True, False, False]
    """
    day = pl.lit(as_of, dtype=pl.Date)
    return (
        (pl.col("granted_date") <= day)
        & (day < pl.col("expiry_date"))
        & (pl.col("withdrawn_date").is_null() | (pl.col("withdrawn_date") > day))
    )


def consent_state_expr(as_of: dt.date) -> pl.Expr:
    """Polars expression: ``valid``, ``withdrawn``, ``expired`` or ``not_granted`` on ``as_of``.

    A consent withdrawn on or after its expiry date counts as expired.

    Examples
    --------
    >>> df = pl.DataFrame(
    ...     {
    ...         "granted_date": [dt.date(2013, 1, 1)] * 3 + [dt.date(2014, 2, 1)],
    ...         "expiry_date": [dt.date(2015, 1, 1), dt.date(2013, 6, 1)] * 2,
    ...         "withdrawn_date": [None, dt.date(2013, 7, 1), dt.date(2013, 3, 1), None],
    ...     }
    ... )
    >>> df.select(consent_state_expr(dt.date(2013, 12, 31))).to_series().to_list()
    ['valid', 'expired', 'withdrawn', 'not_granted']
    """
    day = pl.lit(as_of, dtype=pl.Date)
    withdrawn = (
        pl.col("withdrawn_date").is_not_null()
        & (pl.col("withdrawn_date") <= day)
        & (pl.col("withdrawn_date") < pl.col("expiry_date"))
    )
    return (
        pl.when(pl.col("granted_date") > day)
        .then(pl.lit("not_granted"))
        .when(withdrawn)
        .then(pl.lit("withdrawn"))
        .when(pl.col("expiry_date") <= day)
        .then(pl.lit("expired"))
        .otherwise(pl.lit("valid"))
        .alias("consent_state")
    )


def _check_consents(consents: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    schema = consents.collect_schema() if isinstance(consents, pl.LazyFrame) else consents.schema
    for name, dtype in _CONSENT_SCHEMA.items():
        if name not in schema:
            raise SchemaError(f"'consents' must have a column {name!r}; got {list(schema)}.")
        if schema[name] != dtype and schema[name] != pl.Null:
            raise SchemaError(
                f"'consents.{name}' must be of type {dtype}; got {schema[name]} "
                "(validate the department file first: scoring validate)."
            )
    return consents.lazy()


def _check_entities(entities: FrameT) -> FrameT:
    schema = entities.collect_schema() if isinstance(entities, pl.LazyFrame) else entities.schema
    for name in _KEYS:
        if schema.get(name) != pl.String:
            raise SchemaError(
                f"'entities.{name}' must be a String column; got {schema.get(name)} "
                f"(columns: {list(schema)})."
            )
    return entities


def classify_entities(
    entities: FrameT,
    consents: pl.DataFrame | pl.LazyFrame,
    *,
    bank: str,
    purpose: str,
    as_of: dt.date,
) -> FrameT:
    """Classify each entity as exported or excluded (with the reason) for one bank query.

    Parameters
    ----------
    entities
        One row per entity, with String columns ``entity_type`` and ``entity_id``; other
        columns are dropped.
    consents
        The ``consents`` table (all banks; other banks' rows are ignored).
    bank, purpose, as_of
        The query: which bank, for which purpose, on which date.

    Returns
    -------
    The entities (same frame kind), with ``entity_type``, ``entity_id``, ``status``
    (``exported`` or one of :data:`EXCLUSION_REASONS`) and ``consent_id`` (the consent the
    export relies on; null when excluded).

    Examples
    --------
    >>> empty = pl.DataFrame(schema=TABLES["consents"].schema)
    >>> ents = pl.DataFrame({"entity_type": ["household"], "entity_id": ["H1"]})
    >>> classify_entities(
    ...     ents, empty, bank="GDRCU", purpose="guarantee", as_of=dt.date(2013, 12, 31)
    ... )["status"].to_list()
    ['no_consent']
    """
    if purpose not in CONSENT_PURPOSES:
        raise DataError(f"'purpose' must be one of {', '.join(CONSENT_PURPOSES)}; got {purpose!r}.")
    if not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime):
        raise DataError(f"'as_of' must be a date; got {as_of!r}.")
    _check_entities(entities)
    lazy_consents = _check_consents(consents)
    scoped = (
        lazy_consents.select(list(_CONSENT_SCHEMA))
        .with_columns(pl.col("withdrawn_date").cast(pl.Date))
        .filter(
            (pl.col("bank_code") == bank)
            & pl.col("entity_type").is_in(list(ENTITY_TYPES))
            & (pl.col("granted_date") <= pl.lit(as_of, dtype=pl.Date))
        )
        .with_columns(consent_state_expr(as_of))
    )
    order = ["granted_date", "consent_id"]
    same = scoped.filter(pl.col("purpose") == purpose)
    relied_on = (
        same.filter(pl.col("consent_state") == "valid")
        .group_by(_KEYS)
        .agg(pl.col("consent_id").sort_by(order).last())
    )
    latest_state = same.group_by(_KEYS).agg(
        pl.col("consent_state").sort_by(order).last().alias("_same_state")
    )
    other_valid = (
        scoped.filter((pl.col("purpose") != purpose) & (pl.col("consent_state") == "valid"))
        .select(_KEYS)
        .unique()
        .with_columns(pl.lit(True).alias("_other_valid"))
    )
    status = (
        pl.when(pl.col("consent_id").is_not_null())
        .then(pl.lit(EXPORTED))
        .when(pl.col("_same_state") == "withdrawn")
        .then(pl.lit("withdrawn"))
        .when(pl.col("_same_state") == "expired")
        .then(pl.lit("expired"))
        .when(pl.col("_other_valid").fill_null(False))
        .then(pl.lit("wrong_purpose"))
        .otherwise(pl.lit("no_consent"))
        .alias("status")
    )
    out = (
        entities.lazy()
        .select(_KEYS)
        .join(relied_on, on=_KEYS, how="left", maintain_order="left")
        .join(latest_state, on=_KEYS, how="left", maintain_order="left")
        .join(other_valid, on=_KEYS, how="left", maintain_order="left")
        .select(*_KEYS, status, "consent_id")
    )
    return out if isinstance(entities, pl.LazyFrame) else out.collect()
