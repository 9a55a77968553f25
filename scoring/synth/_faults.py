"""Faults as real department data has them, planted table by table and all recorded.

Kinds (the ``kind`` column of ``faults.parquet``):

- ``duplicate``: the same submission sent twice (same natural key, new record id); the
  manifest names the second copy's record id and the natural-key columns.
- ``invalid_code``: a credit code (or a head's id number) with a wrong check character.
- ``orphan``: a record whose entity (or loan) does not exist.
- ``impossible_date``: a date before the date it must follow (filed before the period,
  closed before filed, maturity before origination, ...) or outside the schema's range
  (a century typo).
- ``wrong_unit``: an amount in the wrong unit, so far that it falls out of the schema's
  range (capital in CNY instead of 10k CNY, principal in 10k CNY instead of CNY, land in
  square metres instead of mu).

Each table gets ``round(rate * factor * rows)`` faults of each of its kinds (at least one
when the table has 50 rows or more), on disjoint rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from scoring.schema import TABLES
from scoring.synth._common import ascii_series, digit_chars, sequence_ids
from scoring.synth._entities import USCC_ALPHABET, unique_usccs

MIN_ROWS = 50
DUPLICATE_IDS_FROM = 8 * 10**9
"""Record-id numbers of duplicated submissions start here (original rows count from 1)."""
FAULT_SCHEMA = {"table": pl.String, "column": pl.String, "record_key": pl.String, "kind": pl.String}


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One kind of fault for one column of one table.

    ``how`` details the change: for dates ``"century"`` or ``"before:<column>"``, for
    units the multiplying factor as text.
    """

    kind: str
    column: str
    how: str = ""
    factor: float = 1.0


_UNIT_MU_M2 = 10000.0 / 15.0  # square metres per mu

FAULTS: dict[str, tuple[FaultSpec, ...]] = {
    "enterprises": (FaultSpec("wrong_unit", "registered_capital", "10000"),),
    "households": (
        FaultSpec("wrong_unit", "land_area", str(_UNIT_MU_M2)),
        FaultSpec("invalid_code", "head_id_number", factor=0.25),
    ),
    "tax_filings": (
        FaultSpec("duplicate", "credit_code,period"),
        FaultSpec("invalid_code", "credit_code", factor=0.25),
        FaultSpec("orphan", "credit_code"),
        FaultSpec("impossible_date", "filed_date", "before:period"),
    ),
    "tax_violations": (
        FaultSpec("duplicate", "credit_code,indicator_code,event_date"),
        FaultSpec("invalid_code", "credit_code", factor=0.25),
        FaultSpec("orphan", "credit_code"),
        FaultSpec("impossible_date", "event_date", "century"),
    ),
    "loans": (
        FaultSpec("orphan", "entity_id"),
        FaultSpec("impossible_date", "maturity_date", "before:origination_date"),
        FaultSpec("wrong_unit", "principal", "0.0001"),
    ),
    "loan_repayments": (
        FaultSpec("duplicate", "loan_id,month"),
        FaultSpec("orphan", "loan_id"),
        FaultSpec("impossible_date", "month", "century"),
    ),
    "social_insurance": (
        FaultSpec("duplicate", "credit_code,month"),
        FaultSpec("invalid_code", "credit_code", factor=0.25),
        FaultSpec("orphan", "credit_code"),
        FaultSpec("impossible_date", "month", "century"),
    ),
    "utility_payments": (
        FaultSpec("duplicate", "entity_id,utility,month"),
        FaultSpec("orphan", "entity_id"),
        FaultSpec("impossible_date", "month", "century"),
    ),
    "court_enforcement": (
        FaultSpec("orphan", "entity_id"),
        FaultSpec("impossible_date", "closed_date", "before:filed_date"),
    ),
    "admin_penalties": (
        FaultSpec("invalid_code", "credit_code", factor=0.25),
        FaultSpec("orphan", "credit_code"),
        FaultSpec("impossible_date", "decision_date", "century"),
    ),
    "agri_subsidies": (
        FaultSpec("orphan", "household_id"),
        FaultSpec("impossible_date", "pay_date", "century"),
    ),
    "agri_insurance": (
        FaultSpec("orphan", "household_id"),
        FaultSpec("impossible_date", "policy_end", "before:policy_start"),
    ),
    "public_records": (
        FaultSpec("orphan", "household_id"),
        FaultSpec("impossible_date", "event_date", "century"),
    ),
    "consents": (
        FaultSpec("orphan", "entity_id"),
        FaultSpec("impossible_date", "expiry_date", "before:granted_date"),
    ),
}
"""The faults each table may receive."""


@dataclass(frozen=True, slots=True)
class KnownIds:
    """What exists, so that an orphan surely points at nothing."""

    credit_codes: npt.NDArray[np.bytes_]  # S18, the enterprises' codes
    city_codes: npt.NDArray[np.str_]
    n_loans: int
    id_prefix: dict[str, str]


def empty_manifest() -> pl.DataFrame:
    return pl.DataFrame(schema=FAULT_SCHEMA)


def _bytes_matrix(values: pl.Series, width: int) -> npt.NDArray[np.uint8]:
    arr = np.array(values.to_list(), dtype=f"S{width}")
    return np.frombuffer(arr.tobytes(), dtype=np.uint8).reshape(len(arr), width).copy()


def _bad_check(rng: np.random.Generator, values: pl.Series, alphabet: str, width: int) -> pl.Series:
    """The same codes with a different (wrong) last character."""
    mat = _bytes_matrix(values, width)
    alpha = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
    lut = np.zeros(256, dtype=np.int64)
    lut[alpha] = np.arange(len(alpha))
    current = lut[mat[:, -1]]
    shift = rng.integers(1, len(alpha), len(values))
    mat[:, -1] = alpha[(current + shift) % len(alpha)]
    return ascii_series(values.name, mat)


def _orphan_codes(rng: np.random.Generator, n: int, known: KnownIds) -> pl.Series:
    division = known.city_codes[rng.integers(0, len(known.city_codes), n)]
    mat = unique_usccs(rng, division, np.zeros(n, dtype=np.int64), exclude=known.credit_codes)
    return ascii_series("code", mat)


def _orphan_households(rng: np.random.Generator, values: pl.Series) -> pl.Series:
    """Household ids in a real village with a sequence number no village reaches."""
    mat = _bytes_matrix(values, 17)
    mat[:, 13:17] = digit_chars(9000 + rng.integers(0, 1000, len(values)), 4)
    return ascii_series(values.name, mat)


def _orphan_entities(
    rng: np.random.Generator, df: pl.DataFrame, idx: npt.NDArray[np.int64], known: KnownIds
) -> pl.Series:
    types = df.get_column("entity_type").gather(idx).to_numpy()
    current = df.get_column("entity_id").gather(idx)
    sme = types == "sme"
    out = current.to_numpy().astype(object)
    if sme.any():
        out[sme] = _orphan_codes(rng, int(sme.sum()), known).to_numpy()
    if (~sme).any():
        out[~sme] = _orphan_households(rng, current.filter(pl.Series(~sme))).to_numpy()
    return pl.Series("entity_id", out.tolist(), dtype=pl.String)


def _shift_century(values: pl.Series, rng: np.random.Generator) -> pl.Series:
    d = values.to_numpy().astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day = (d - month.astype("datetime64[D]")).astype(np.int64)
    years = np.where(rng.random(len(d)) < 0.5, 100, -100)
    new_month = month + 12 * years
    new_days = (new_month + 1).astype("datetime64[D]") - new_month.astype("datetime64[D]")
    moved = new_month.astype("datetime64[D]") + np.minimum(day, new_days.astype(np.int64) - 1)
    return pl.Series(values.name, moved).cast(pl.Date)


def _candidates(df: pl.DataFrame, name: str, spec: FaultSpec) -> npt.NDArray[np.bool_]:
    table = TABLES[name]
    if spec.kind == "wrong_unit":
        col = table.column(spec.column)
        moved = df.get_column(spec.column) * float(spec.how)
        lo = float(col.lo) if isinstance(col.lo, int | float) else -np.inf
        hi = float(col.hi) if isinstance(col.hi, int | float) else np.inf
        return np.asarray(((moved < lo) | (moved > hi)).fill_null(False).to_numpy())
    if spec.kind == "impossible_date":
        return np.asarray(df.get_column(spec.column).is_not_null().to_numpy())
    if spec.kind == "invalid_code" and "entity_type" in df.columns:
        return np.asarray((df.get_column("entity_type") == "sme").to_numpy())
    return np.ones(df.height, dtype=bool)


def plant(
    name: str,
    df: pl.DataFrame,
    *,
    rng: np.random.Generator,
    rate: float,
    known: KnownIds,
    duplicate_ids_from: int = DUPLICATE_IDS_FROM,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Plant this table's faults; returns the faulty table and its manifest rows.

    Duplicated submissions get record ids numbered from ``duplicate_ids_from`` (a range no
    original record reaches), so the other rows keep the ids they have without faults.
    """
    specs = FAULTS.get(name, ())
    if not specs or df.height < MIN_ROWS or rate <= 0:
        return df, empty_manifest()
    key = TABLES[name].key
    used = np.zeros(df.height, dtype=bool)
    manifest: list[pl.DataFrame] = []
    extra: list[pl.DataFrame] = []
    for spec in specs:
        want = max(1, round(rate * spec.factor * df.height))
        pool = np.flatnonzero(_candidates(df, name, spec) & ~used)
        if len(pool) == 0:
            continue
        idx = np.sort(rng.choice(pool, size=min(want, len(pool)), replace=False))
        used[idx] = True
        if spec.kind == "duplicate":
            copies = df[idx]
            new_ids = sequence_ids(key, known.id_prefix[name], duplicate_ids_from, len(idx))
            copies = copies.with_columns(new_ids)
            extra.append(copies)
            keys = new_ids
        else:
            if spec.kind == "invalid_code":
                current = df.get_column(spec.column).gather(idx)
                if spec.column == "head_id_number":
                    values = _bad_check(rng, current, "0123456789X", 18)
                else:
                    values = _bad_check(rng, current, USCC_ALPHABET, 18)
            elif spec.kind == "orphan":
                if spec.column == "entity_id":
                    values = _orphan_entities(rng, df, idx, known)
                elif spec.column == "credit_code":
                    values = _orphan_codes(rng, len(idx), known)
                elif spec.column == "household_id":
                    values = _orphan_households(rng, df.get_column(spec.column).gather(idx))
                else:  # loan_id: numbers far above any loan's
                    start = 9 * 10**9 + int(rng.integers(0, 10**8))
                    values = sequence_ids(spec.column, known.id_prefix["loans"], start, len(idx))
            elif spec.kind == "impossible_date":
                current = df.get_column(spec.column).gather(idx)
                if spec.how == "century":
                    values = _shift_century(current, rng)
                else:
                    other = df.get_column(spec.how.split(":", 1)[1]).gather(idx).to_numpy()
                    days = rng.integers(1, 61, len(idx))
                    values = pl.Series(spec.column, other.astype("datetime64[D]") - days).cast(
                        pl.Date
                    )
            else:  # wrong_unit
                values = df.get_column(spec.column).gather(idx) * float(spec.how)
                values = values.round(2)
            column = df.get_column(spec.column).scatter(idx, values.alias(spec.column))
            df = df.with_columns(column)
            keys = df.get_column(key).gather(idx)
        manifest.append(
            pl.DataFrame(
                {
                    "table": [name] * len(keys),
                    "column": [spec.column] * len(keys),
                    "record_key": keys,
                    "kind": [spec.kind] * len(keys),
                },
                schema=FAULT_SCHEMA,
            )
        )
    if extra:
        df = pl.concat([df, *extra])
    out = pl.concat(manifest) if manifest else empty_manifest()
    return df, out
