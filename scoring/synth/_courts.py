"""Court enforcement cases against firms and households.

Cases come from two places: disputes unrelated to the banks (a yearly rate rising with
risk) and banks suing after a loan default (filed two to nine months after DPD 90, so a
case about a default never shows before the default itself).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from scoring.synth._common import (
    Calendar,
    const,
    date_series,
    logistic,
    poisson_events,
    random_month_in_year,
)
from scoring.synth._credit import CreditBook
from scoring.synth._entities import Segment

_PARAMS = {
    # kind: (log-rate intercept, slope on creditworthiness, median amount CNY)
    "sme": (-4.3, -1.3, 2e5),
    "household": (-5.4, -1.4, 3e4),
}


def court_enforcement(
    seg: Segment, book: CreditBook, cal: Calendar, rng: np.random.Generator
) -> pl.DataFrame:
    """Enforcement cases of one segment (without record ids), ordered by filing date."""
    a, b, median = _PARAMS[seg.kind]
    years = np.arange(cal.n_years)
    lo = np.maximum(seg.first[:, None], 12 * years[None, :])
    hi = np.minimum(seg.stop[:, None], 12 * years[None, :] + 12)
    exposure = np.maximum(hi - lo, 0) / 12.0
    ent, y = poisson_events(rng, np.exp(a + b * seg.latent), exposure)
    month = random_month_in_year(rng, y, seg.first[ent], seg.stop[ent])
    c = seg.latent[ent, y]
    amount = np.exp(rng.normal(np.log(median), 1.0, len(ent)))
    dishonest = rng.random(len(ent)) < logistic(-1.6 - 0.8 * c)

    bad = np.flatnonzero((book.default_year >= 0) & (rng.random(book.n) < 0.35))
    sued = book.default_month[bad] + 2 + rng.integers(0, 8, len(bad))
    keep = sued < np.minimum(cal.n_months, seg.stop[book.entity[bad]])
    bad, sued = bad[keep], sued[keep]
    ent = np.concatenate([ent, book.entity[bad]])
    month = np.concatenate([month, sued])
    amount = np.concatenate([amount, book.principal[bad] * rng.uniform(0.3, 1.0, len(bad))])
    dishonest = np.concatenate([dishonest, rng.random(len(bad)) < 0.4])

    m = len(ent)
    filed = seg.clamp(ent, cal.random_day(rng, month))
    closed = filed + np.ceil(np.exp(rng.normal(np.log(150.0), 0.8, m))).astype(np.int64)
    end = np.datetime64(cal.end.isoformat())
    closed = np.where(closed > end, np.datetime64("NaT"), closed)
    year = (cal.first_year + month // 12).astype(np.int64)
    frame = pl.DataFrame(
        [
            const("entity_type", seg.kind, m),
            seg.ids.gather(ent).alias("entity_id"),
            seg.county.gather(ent).alias("_county"),
            pl.Series("_year", year),
            date_series("filed_date", filed),
            date_series("closed_date", closed),
            pl.Series("amount", np.round(np.minimum(amount, 5e9), 2), dtype=pl.Float64),
            pl.Series("dishonest", dishonest, dtype=pl.Boolean),
        ]
    )
    return frame.sort("filed_date", "entity_id")


def with_case_numbers(cases: pl.DataFrame) -> pl.DataFrame:
    """Number the cases per county court and year: ``(2012)粤0103执57号``."""
    seq = pl.int_range(1, pl.len() + 1).over("_county", "_year", order_by="filed_date")
    return cases.with_columns(
        pl.format("({})粤{}执{}号", pl.col("_year"), pl.col("_county").str.slice(2, 4), seq).alias(
            "case_number"
        )
    ).drop("_county", "_year")
