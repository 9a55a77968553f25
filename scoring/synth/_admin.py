"""Consents to query and objections (disputes) against recorded items.

Every loan comes with the borrower's consent for credit approval at the lending bank, many
with a post-loan-management consent, some with a guarantor's consent; entities also grant
consents for applications that never became loans. Disputes pick real records (a cured
late payment, a court case, a penalty, a violation, a minus item) and follow the 20-day
handling of the credit reporting regulation, with some late and some still open.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from scoring.schema import DISPUTE_OUTCOMES
from scoring.synth._common import Calendar, choose, const, date_series
from scoring.synth._entities import Segment

_REASONS = (
    "非本人记录 not my record",
    "金额有误 wrong amount",
    "已结清未更新 settled but not updated",
    "逾期系银行扣款失败 bank debit failed",
    "日期有误 wrong date",
)
_DISPUTE_SHARE = {
    "loan_repayments": 0.004,
    "court_enforcement": 0.03,
    "admin_penalties": 0.03,
    "tax_violations": 0.01,
    "public_records": 0.03,
}


def consents(
    loans: pl.DataFrame,
    segments: dict[str, Segment],
    cal: Calendar,
    rng: np.random.Generator,
    bank_codes: tuple[str, ...],
) -> pl.DataFrame:
    """Consents for every loan, some guarantors, and applications without a loan."""
    start = np.datetime64(cal.start.isoformat())
    end = np.datetime64(cal.end.isoformat())
    n = loans.height
    orig = loans.get_column("origination_date").to_numpy().astype("datetime64[D]")
    mat = loans.get_column("maturity_date").to_numpy().astype("datetime64[D]")
    not_before = np.maximum(
        loans.get_column("_not_before").to_numpy().astype("datetime64[D]"), start
    )
    granted = np.maximum(orig - rng.integers(0, 31, n), not_before)
    expiry = np.maximum(granted + 365 * rng.integers(1, 4, n), mat)
    parts = [
        loans.select("entity_type", "entity_id", "bank_code").with_columns(
            pl.lit("credit_approval").alias("purpose"),
            date_series("granted_date", granted),
            date_series("expiry_date", expiry),
        )
    ]
    post = rng.random(n) < 0.5
    parts.append(
        loans.filter(pl.Series(post))
        .select("entity_type", "entity_id", "bank_code")
        .with_columns(
            pl.lit("post_loan_management").alias("purpose"),
            date_series("granted_date", orig[post]),
            date_series("expiry_date", mat[post] + 30),
        )
    )
    # Guarantors: another entity of the same type, active when the loan was made.
    for kind, seg in segments.items():
        rows = np.flatnonzero((loans.get_column("entity_type") == kind).to_numpy())
        rows = rows[rng.random(len(rows)) < 0.05]
        if len(rows) == 0 or seg.n == 0:
            continue
        guarantor = rng.integers(0, seg.n, len(rows))
        o_month = cal.month_of(orig[rows])
        ok = (seg.first[guarantor] < o_month) & (o_month < seg.stop[guarantor])
        rows, guarantor = rows[ok], guarantor[ok]
        g_date = np.maximum(orig[rows] - rng.integers(0, 31, len(rows)), start)
        g_date = seg.clamp(guarantor, g_date)
        parts.append(
            pl.DataFrame(
                [
                    const("entity_type", kind, len(rows)),
                    seg.ids.gather(guarantor).alias("entity_id"),
                    loans.get_column("bank_code").gather(rows),
                    const("purpose", "guarantee", len(rows)),
                    date_series("granted_date", g_date),
                    date_series("expiry_date", mat[rows]),
                ]
            )
        )
    # Applications that never became a loan.
    for kind, seg in segments.items():
        years = np.arange(cal.n_years)
        active = (seg.first[:, None] < 12 * years[None, :] + 12) & (
            seg.stop[:, None] > 12 * years[None, :]
        )
        ent, y = np.nonzero(active & (rng.random((seg.n, cal.n_years)) < 0.08))
        lo = np.maximum(12 * y, seg.first[ent])
        hi = np.minimum(12 * y + 12, seg.stop[ent])
        month = lo + np.floor(rng.random(len(ent)) * np.maximum(hi - lo, 1)).astype(np.int64)
        day = seg.clamp(ent, cal.random_day(rng, month))
        parts.append(
            pl.DataFrame(
                [
                    const("entity_type", kind, len(ent)),
                    seg.ids.gather(ent).alias("entity_id"),
                    pl.Series("bank_code", bank_codes).gather(
                        rng.integers(0, len(bank_codes), len(ent))
                    ),
                    const("purpose", "credit_approval", len(ent)),
                    date_series("granted_date", day),
                    date_series("expiry_date", day + 365),
                ]
            )
        )
    out = pl.concat(parts).sort("granted_date", "entity_id", "purpose", maintain_order=True)
    m = out.height
    g = out.get_column("granted_date").to_numpy().astype("datetime64[D]")
    e = out.get_column("expiry_date").to_numpy().astype("datetime64[D]")
    span = np.maximum((np.minimum(e, end) - g).astype(np.int64), 1)
    withdrawn = g + 1 + np.floor(rng.random(m) * span).astype(np.int64)
    withdrawn = np.where(
        (rng.random(m) < 0.02) & (withdrawn <= end), withdrawn, np.datetime64("NaT")
    )
    return out.with_columns(date_series("withdrawn_date", withdrawn))


def disputes(
    sources: dict[str, pl.DataFrame], cal: Calendar, rng: np.random.Generator
) -> pl.DataFrame:
    """Objections against real records.

    ``sources`` maps a table name to its candidate records with the columns
    ``entity_type``, ``entity_id``, ``record_id`` and ``record_date``.
    """
    end = np.datetime64(cal.end.isoformat())
    parts = []
    for table, cand in sources.items():
        pick = rng.random(cand.height) < _DISPUTE_SHARE[table]
        sel = cand.filter(pl.Series(pick))
        m = sel.height
        record_date = sel.get_column("record_date").to_numpy().astype("datetime64[D]")
        opened = np.asarray(record_date + rng.integers(10, 401, m), dtype="datetime64[D]")
        parts.append(
            sel.select(
                "entity_type", "entity_id", pl.col("record_id").alias("source_record_id")
            ).with_columns(
                pl.lit(table).alias("source_table"),
                date_series("opened_date", opened),
            )
        )
    out = pl.concat(parts).filter(pl.col("opened_date") <= cal.end).sort("opened_date")
    m = out.height
    opened = out.get_column("opened_date").to_numpy().astype("datetime64[D]")
    resolved = opened + np.where(
        rng.random(m) < 0.85, rng.integers(2, 21, m), rng.integers(21, 91, m)
    )
    is_open = resolved > end
    outcome = pl.Series("outcome", DISPUTE_OUTCOMES).gather(
        choose(rng, m, np.array([0.35, 0.5, 0.15]))
    )
    return out.select(
        "entity_type",
        "entity_id",
        "source_table",
        "source_record_id",
        "opened_date",
        pl.Series("reason", _REASONS).gather(rng.integers(0, len(_REASONS), m)),
        date_series("resolved_date", np.where(is_open, np.datetime64("NaT"), resolved)),
        pl.when(pl.Series(is_open)).then(None).otherwise(outcome).alias("outcome"),
    )
