"""Household department records: electricity bills, subsidies, insurance, public records.

The static part of a household's creditworthiness also shaped its farm (land, income
source, cooperative membership) in :mod:`scoring.synth._entities`; the yearly part
shows here, in late bills, insurance take-up and the plus and minus items the village
committee and the courts record.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from scoring.schema import CROPS, PUBLIC_RECORD_ITEMS, SUBSIDY_TYPES
from scoring.synth._common import (
    Calendar,
    IntArray,
    choose_rows,
    const,
    date_series,
    logistic,
    panel,
)
from scoring.synth._entities import Segment
from scoring.synth._sme_records import late_days

# (log-odds intercept, slope on creditworthiness) per public-record item, per year.
_PUBLIC_ITEMS: dict[str, tuple[float, float]] = {
    "MODEL_WORKER": (-4.2, 1.0),
    "VOLUNTEER": (-3.2, 0.8),
    "LAWSUIT": (-4.0, -1.2),
    "DEBT_EVASION": (-5.0, -1.4),
    "LOAN_MISUSE": (-5.0, -1.3),
    "ARREARS": (-3.8, -1.4),
}
PLUS_ITEMS = ("MODEL_WORKER", "VOLUNTEER")
INSURANCE_INTERCEPT = 0.4  # log-odds of a policy in a year, average household
INSURANCE_CAMPAIGN_SD = 0.6
# Insured crop by main income source (crops, livestock, aquaculture, migrant, business, other).
_CROP_WEIGHTS = np.array(
    [
        [0.45, 0.15, 0.2, 0.2, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
        [0.6, 0.0, 0.1, 0.3, 0.0, 0.0],
        [0.5, 0.0, 0.2, 0.3, 0.0, 0.0],
        [0.5, 0.1, 0.1, 0.3, 0.0, 0.0],
    ]
)


def _year_day(
    rng: np.random.Generator, cal: Calendar, year: IntArray, first_month: int, n_months: int
) -> np.ndarray:
    month = 12 * year + first_month + rng.integers(0, n_months, len(year))
    return cal.random_day(rng, month)


def utilities(seg: Segment, cal: Calendar, rng: np.random.Generator) -> pl.DataFrame:
    """Monthly electricity and water bills of every household."""
    assert seg.members is not None
    n = seg.n
    parts = []
    # Every household is on the grid and a village water scheme. Late power bills are
    # common (meter readings, payment at the village shop); a late water bill is rarer
    # and marks a household in real difficulty.
    for utility, base_use, price, late_intercept in (
        ("electricity", 110.0, 0.6, -1.0),
        ("water", 6.0, 2.0, -4.4),
    ):
        level = np.log(base_use * seg.members**0.6) + rng.normal(0.0, 0.4, n)
        ent, k = panel(seg.first, seg.stop)
        rows = len(ent)
        summer = 1.0 + (0.3 if utility == "electricity" else 0.1) * np.sin(np.pi * (k % 12) / 11.0)
        usage = np.round(np.exp(level[ent] + rng.normal(0.0, 0.15, rows)) * summer, 1)
        risk = -seg.latent[ent, k // 12]
        parts.append(
            pl.DataFrame(
                [
                    const("entity_type", "household", rows),
                    seg.ids.gather(ent).alias("entity_id"),
                    const("utility", utility, rows),
                    date_series("month", cal.month_start(k)),
                    pl.Series("usage", usage, dtype=pl.Float64),
                    pl.Series("amount_due", np.round(usage * price, 2), dtype=pl.Float64),
                    pl.Series(
                        "days_late", late_days(rng, risk, late_intercept, 3.0), dtype=pl.Int64
                    ),
                ]
            )
        )
    return pl.concat(parts)


def agri_subsidies(seg: Segment, cal: Calendar, rng: np.random.Generator) -> pl.DataFrame:
    """Yearly subsidies: grain and seed per mu, machinery now and then, livestock."""
    assert seg.land is not None
    assert seg.income is not None
    n, years = seg.n, cal.n_years
    land = seg.land
    crops = seg.income == 0
    farming = seg.income <= 2
    active = 0.85 + 0.15 * logistic(seg.latent)
    probs = {
        "grain": np.where((land > 0) & (crops | (seg.income == 5)), 0.9, 0.3 * (land > 0)),
        "machinery": 0.02 * farming,
        "seed": 0.3 * crops * (land > 0),
        "livestock": 0.6 * (seg.income == 1),
    }
    parts = []
    for kind in SUBSIDY_TYPES:
        p = probs[kind][:, None] * active
        hit = rng.random((n, years)) < p
        ent, y = np.nonzero(hit)
        m = len(ent)
        if kind == "grain":
            amount = land[ent] * rng.uniform(80.0, 110.0, m)
        elif kind == "seed":
            amount = land[ent] * rng.uniform(10.0, 20.0, m)
        elif kind == "machinery":
            amount = np.exp(rng.normal(np.log(8000.0), 0.6, m))
        else:
            amount = np.exp(rng.normal(np.log(2000.0), 0.6, m))
        parts.append(
            pl.DataFrame(
                [
                    seg.ids.gather(ent),
                    date_series("pay_date", _year_day(rng, cal, y, 3, 4)),
                    const("subsidy_type", kind, m),
                    pl.Series("amount", np.round(np.minimum(amount, 9e5), 2), dtype=pl.Float64),
                ]
            )
        )
    return pl.concat(parts).sort(["household_id", "pay_date"])


def agri_insurance(seg: Segment, cal: Calendar, rng: np.random.Generator) -> pl.DataFrame:
    """Yearly crop and livestock policies; creditworthy and cooperative households insure more."""
    assert seg.land is not None
    assert seg.income is not None
    assert seg.cooperative is not None
    assert seg.village is not None
    n, years = seg.n, cal.n_years
    farming = (seg.income <= 2).astype(np.float64)
    # Villages differ in how hard the township pushes the subsidised policies.
    campaign = rng.normal(0.0, INSURANCE_CAMPAIGN_SD, int(seg.village.max()) + 1)
    base = INSURANCE_INTERCEPT + campaign[seg.village] + 0.5 * seg.cooperative + 0.4 * farming
    p = logistic(base[:, None] + 2.3 * seg.latent)
    ent, y = np.nonzero(rng.random((n, years)) < p)
    m = len(ent)
    crop = choose_rows(rng, _CROP_WEIGHTS[seg.income[ent]])
    land = seg.land[ent]
    animal = crop >= 4
    insured = np.where(
        animal | (land <= 0),
        np.exp(rng.normal(np.log(3e4), 0.7, m)),
        land * rng.uniform(900.0, 1500.0, m),
    )
    # Creditworthy households insure more of their crop and herd.
    insured = insured * np.exp(0.5 * seg.latent[ent, y])
    insured = np.round(np.clip(insured, 1000.0, 5e6), -1)
    premium = np.round(insured * rng.uniform(0.03, 0.06, m), 2)
    claim = np.where(rng.random(m) < 0.07, np.round(insured * rng.uniform(0.1, 0.6, m), 2), 0.0)
    start = _year_day(rng, cal, y, 0, 4)
    return pl.DataFrame(
        [
            seg.ids.gather(ent),
            date_series("policy_start", start),
            date_series("policy_end", start + 364),
            pl.Series("crop", CROPS).gather(crop),
            pl.Series("insured_amount", insured, dtype=pl.Float64),
            pl.Series("premium", premium, dtype=pl.Float64),
            pl.Series("claim_paid", claim, dtype=pl.Float64),
        ]
    ).sort(["household_id", "policy_start"])


def public_records(seg: Segment, cal: Calendar, rng: np.random.Generator) -> pl.DataFrame:
    """Plus items (model worker, volunteer) and minus items (lawsuits, evasion, misuse, arrears)."""
    n, years = seg.n, cal.n_years
    parts = []
    for item in PUBLIC_RECORD_ITEMS:
        a, b = _PUBLIC_ITEMS[item]
        ent, y = np.nonzero(rng.random((n, years)) < logistic(a + b * seg.latent))
        m = len(ent)
        event = _year_day(rng, cal, y, 0, 12)
        if item in PLUS_ITEMS:
            ended = np.full(m, np.datetime64("NaT"), dtype="datetime64[D]")
        else:
            ended = event + rng.integers(30, 721, m)
            ended = np.where(rng.random(m) < 0.2, np.datetime64("NaT"), ended)
        parts.append(
            pl.DataFrame(
                [
                    seg.ids.gather(ent),
                    date_series("event_date", event),
                    const("item_code", item, m),
                    date_series("ended_date", ended),
                ]
            )
        )
    return pl.concat(parts).sort(["household_id", "event_date"])
