"""The ground truth of the synthetic province: true PDs, the AUC ceiling, the planted effects.

Outcome definition (shared with the collection of credit files)
---------------------------------------------------------------
For an entity and a snapshot date ``S`` (a year end in ``province.snapshots``) the outcome
is *observable* when the entity has at least one ``loan_repayments`` record (over all its
loans) with ``S < month <= S + 12 months``; then ``default = 1`` when any of its loans
shows ``days_past_due >= 90`` in one of those records, else ``0``.

``true_pd`` is the exact probability with which the generator drew that outcome: the
entity's probability of default in the outcome year given its creditworthiness at ``S``
(the state its records up to ``S`` were drawn from), when it has a loan that can show
DPD 90 inside the window, else 0 (see :mod:`scoring.synth._credit`). For rows that are not
observable it is the entity's probability of default with such a loan, and ``default`` is
null.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from scoring import geo
from scoring.exceptions import DataError
from scoring.synth._common import Calendar, IntArray, const
from scoring.synth._credit import CreditBook, CreditParams
from scoring.synth._entities import Segment

TRUE_PD_SCHEMA = {
    "entity_type": pl.String,
    "entity_id": pl.String,
    "region_code": pl.String,
    "snapshot_date": pl.Date,
    "true_pd": pl.Float64,
    "observable": pl.Boolean,
    "default": pl.Int8,
}

README = """# Ground truth of the synthetic province (data/truth)

Written by `scoring generate` next to the department records. **Nothing downstream may read
these files except evaluation code and tests**: models, ratings, credit files, exports and
dashboards work on the department records only, exactly as they would on real data.

- `true_pd.parquet`: one row per entity and snapshot: `entity_type`, `entity_id`,
  `region_code` (one of the 22 evaluation regions), `snapshot_date`, `true_pd`,
  `observable`, `default`.
- `ceiling.json`: AUC of `true_pd` against `default` on observable rows, per segment, per
  snapshot and overall: the ceiling any model is measured against.
- `effects.json`: the planted pilot effects: definitions, units, planted sizes, the sizes
  expected in this sample, pilot regions and start.
- `faults.parquet`: every planted fault: `table`, `column`, `record_key` (the value of the
  table's key column) and `kind`.

## Outcome definition

For an entity and a snapshot date S (a year end), the outcome is **observable** when the
entity has at least one `loan_repayments` record (over all its loans) with
S < `month` <= S + 12 months. Then **default = 1** when any of its loans shows
`days_past_due` >= 90 in one of those records, else 0. Defaults show in the records as DPD
30, 60, 90, 120, ... in consecutive months, all inside the window, so nothing of a coming
default is visible on or before S.

`true_pd` is the exact probability with which the generator drew that outcome: the entity's
probability of default in the outcome year given its creditworthiness on S, when it has a
loan that can show DPD 90 inside the window, else 0. Creditworthiness on S is the state
every record up to S was drawn from (tax filings, social insurance, utility bills,
repayments, ...); nothing after S (the new year's shock, its records, its loans) enters
`true_pd`, so a model of the credit files can in principle reach the ceiling. A loan can
show DPD 90 inside the window unless it first reports in November or December (fourth-
quarter lending is weak, so such borrowers are few) or its last instalment fell more than
two months before the DPD 90 month. `true_pd` does not depend on how many loans the entity
holds: when an entity fails, all its eligible loans go bad together. For rows that are not
observable it is the entity's probability of default with such a loan, and `default` is
null. SMEs appear for the snapshots at which they are registered and not deregistered;
households for every snapshot.

## Faults

Kinds: `duplicate` (same natural key, new record id; the row named is the second copy),
`invalid_code` (wrong check character), `orphan` (entity or loan that does not exist),
`impossible_date` (a date before the one it must follow, or a century typo outside the
schema range), `wrong_unit` (an amount in the wrong unit, out of the schema range).
Late filings, unfiled months (`filed_date` null) and months missing from social insurance and
utility records are realistic, not faults, and are not listed.
"""


def _year_index(d: dt.date, cal: Calendar) -> int:
    return d.year - cal.first_year


def outcome_pairs(
    book: CreditBook, loan_of_record: IntArray, month: IntArray, dpd: IntArray, cal: Calendar
) -> tuple[IntArray, IntArray]:
    """Encoded ``entity * n_years + year`` of observed and of defaulted entity-years."""
    year = month // 12
    key = book.entity[loan_of_record] * cal.n_years + year
    return np.unique(key), np.unique(key[dpd >= 90])


def true_pd(
    seg: Segment,
    book: CreditBook,
    params: CreditParams,
    cal: Calendar,
    snapshots: tuple[dt.date, ...],
    *,
    observed: IntArray,
    defaulted: IntArray,
) -> pl.DataFrame:
    """The truth rows of one segment."""
    region_codes = pl.Series(geo.REGION_CODES)
    parts = []
    for snap in snapshots:
        y = _year_index(snap, cal) + 1
        if not 0 < y < cal.n_years:
            continue
        month_s = 12 * y - 1
        ent = np.flatnonzero((seg.first <= month_s) & (seg.stop > month_s))
        alive = (book.default_year < 0) | (book.default_year >= y)
        at_risk = np.zeros(seg.n, dtype=bool)
        at_risk[book.entity[alive & book.eligible[:, y]]] = True
        key = ent * cal.n_years + y
        obs = np.isin(key, observed)
        bad = np.isin(key, defaulted)
        year_pd = params.pd(seg.state[ent, y])
        pd_ = np.where(obs, np.where(at_risk[ent], year_pd, 0.0), year_pd)
        parts.append(
            pl.DataFrame(
                [
                    const("entity_type", seg.kind, len(ent)),
                    seg.ids.gather(ent).alias("entity_id"),
                    region_codes.gather(seg.region[ent]).alias("region_code"),
                    const("snapshot_date", snap, len(ent)),
                    pl.Series("true_pd", pd_, dtype=pl.Float64),
                    pl.Series("observable", obs, dtype=pl.Boolean),
                    pl.Series("default", np.where(obs, bad, 0), dtype=pl.Int8),
                ]
            ).with_columns(pl.when(pl.col("observable")).then(pl.col("default")).alias("default"))
        )
    if not parts:
        return pl.DataFrame(schema=TRUE_PD_SCHEMA)
    return pl.concat(parts)


def _auc_or_none(frame: pl.DataFrame) -> float | None:
    from scoring.metrics import auc  # scipy is slow to import; only needed here

    try:
        return round(auc(frame.get_column("default"), frame.get_column("true_pd")), 4)
    except DataError:
        return None


def _block(frame: pl.DataFrame) -> dict[str, Any]:
    obs = frame.filter(pl.col("observable"))
    n, bad = obs.height, int(obs.get_column("default").sum() or 0)
    return {
        "auc": _auc_or_none(obs),
        "rows": frame.height,
        "observable": n,
        "defaults": bad,
        "default_rate": round(bad / n, 5) if n else None,
        "mean_true_pd": round(float(np.mean(obs.get_column("true_pd").to_numpy())), 5)
        if n
        else None,
    }


def ceiling(truth: pl.DataFrame) -> dict[str, Any]:
    """AUC of ``true_pd`` vs ``default`` on observable rows: per segment, snapshot, overall."""
    out: dict[str, Any] = {
        "definition": (
            "AUC of true_pd against default on observable rows (see README.md); "
            "the best any model of these records can hope for."
        ),
        "overall": _block(truth),
        "segments": {},
    }
    for kind in ("sme", "household"):
        seg = truth.filter(pl.col("entity_type") == kind)
        block = _block(seg)
        block["by_snapshot"] = {
            str(d): _block(seg.filter(pl.col("snapshot_date") == d))
            for d in sorted(seg.get_column("snapshot_date").unique().to_list())
        }
        out["segments"][kind] = block
    return out


def effects(
    *,
    sme_book: CreditBook,
    sme: Segment,
    households: Segment,
    cal: Calendar,
    pilot: npt.NDArray[np.bool_],
    pilot_regions: tuple[str, ...],
    pilot_start: dt.date,
    pilot_month: int,
    access: float,
    default: float,
    rated: float,
    batch_share: dict[str, float],
) -> dict[str, Any]:
    """The planted effects with exact definitions, units and the sizes expected here."""
    last_full = cal.n_months - 13
    cells = sme_book.cells.filter(
        (pl.col("month") >= pilot_month)
        & (pl.col("active") > 0)
        & pl.col("region").is_in(np.flatnonzero(pilot).tolist())
    )
    access_diff = cells.get_column("rate_after") - cells.get_column("rate_before")
    expected_access = float(np.mean(access_diff.to_numpy())) if cells.height else None
    full = cells.filter((pl.col("month") <= last_full) & (pl.col("rate_before") > 0))
    default_diff = full.get_column("p12_after") - full.get_column("p12_before")
    expected_default = float(np.mean(default_diff.to_numpy())) if full.height else None
    # The same, each cell weighted by its expected number of new loans.
    weight = (full.get_column("rate_after") * full.get_column("active")).to_numpy()
    expected_default_w = (
        float(np.average(default_diff.to_numpy(), weights=weight))
        if full.height and weight.sum() > 0
        else None
    )
    last_full_month = cal.month_start(last_full)
    return {
        "pilot_regions": list(pilot_regions),
        "pilot_start": pilot_start.isoformat(),
        "region_definition": (
            "region = scoring.geo.region_of_county(county_code): the city, except Shunde "
            "(440606), which is its own region apart from Foshan (440600)."
        ),
        "design": (
            "Effects start in the month of pilot_start in the pilot regions only; every "
            "other part of the generator is common to all regions (levels may differ by "
            "region, trends do not), so a difference-in-differences with region and month "
            "fixed effects on the region-by-month panels below recovers them."
        ),
        "expected_in_sample": (
            "The effect this sample was built to show, before the luck of the draws: the "
            "mean over pilot region-months from pilot_start of the planted change in each "
            "cell's probability (SME effects), or the share of each pilot region's "
            "households filed by the pilot campaign. SME effects are planted by screening: "
            "in pilot region-months the chance of a new loan is tilted towards "
            "creditworthy SMEs and scaled, so both the access share and the 12-month "
            "default rate of new loans move by the planted amounts."
        ),
        "noise": (
            "Small regions (Yunfu, Shunde) have few SMEs and loans per month: weight cells "
            "by cell_weight (or regress at entity/loan level with the same fixed effects); "
            "at scale 1 the standard error of the sme_default estimate is about 0.006."
        ),
        "effects": {
            "sme_access": {
                "planted": access,
                "expected_in_sample": _round(expected_access),
                "unit": "share of active SMEs (absolute change, 0.01 = one percentage point)",
                "cell_weight": "active SMEs of the cell",
                "panel": "region x month, months data_start .. data_end",
                "definition": (
                    "Per region and month: number of distinct SMEs (enterprises.credit_code) "
                    "with a loan (loans.entity_type = 'sme') whose origination_date falls "
                    "in the month, divided by the number of SMEs active in the month "
                    "(established_date <= last day of the month and deregistered_date null "
                    "or after the last day of the month)."
                ),
            },
            "sme_default": {
                "planted": default,
                "expected_in_sample": _round(expected_default),
                "expected_in_sample_loan_weighted": _round(expected_default_w),
                "unit": "share of loans (absolute change, -0.01 = minus one percentage point)",
                "cell_weight": "SME loans originated in the cell",
                "panel": (
                    f"region x origination month, months data_start .. {last_full_month} "
                    "(cohorts with a full 12-month window inside the data)"
                ),
                "definition": (
                    "Per region and month: among SME loans originated in the month, the share "
                    "with at least one loan_repayments record with days_past_due >= 90 and "
                    "month within the 12 months after the origination month "
                    "(origination month < month <= origination month + 12)."
                ),
            },
            "household_rated": {
                "planted": rated,
                "expected_in_sample": _round(
                    float(np.mean(list(batch_share.values()))) if batch_share else None
                ),
                "expected_in_sample_by_region": {k: _round(v) for k, v in batch_share.items()},
                "unit": "share of households (absolute change, 0.10 = ten percentage points)",
                "cell_weight": "households of the region",
                "panel": "region x month, months data_start .. data_end",
                "definition": (
                    "Per region and month: share of the region's households (all rows of "
                    "households) whose registered_date (credit file) is on or before the last "
                    "day of the month. Pilot regions run the same path as the others, "
                    "`planted` lower before pilot_start; households filed by the pilot "
                    "campaign carry registered_date = pilot_start."
                ),
            },
        },
        "entities": {"smes": sme.n, "households": households.n},
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 5)
