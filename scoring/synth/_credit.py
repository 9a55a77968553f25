"""Bank loans and their monthly repayment status, with the defaults and the pilot effects.

How a default happens (the one mechanism behind the outcome and the true PD)
----------------------------------------------------------------------------
Entity ``i`` has, in calendar year ``y``, a probability of default

    pd[i, y] = logistic(a + b * risk[i, y])      (risk = -state[i, y])

where ``state[i, y]`` is its creditworthiness at December 31 of ``y - 1``: the latent of
year ``y - 1``, the very value every record of that year was drawn from (see
:attr:`scoring.synth._entities.Segment.state`). Nothing that happens after that day (the
new year's shock, its records, its loans) changes ``pd[i, y]``, so a model of the records
up to the snapshot can in principle reach the ceiling.

The probability applies when the entity has at least one loan that *can* show DPD 90
inside ``y`` with its first missed payment also inside ``y``: a loan is eligible in month
``m`` of ``y`` when ``m`` is March .. December, the first missed payment ``m - 2`` comes
after the first record and by the last instalment (``m <= origination + term + 2``), and
``m`` falls before the borrower closes. One uniform number per entity and year decides:
every eligible loan of the entity goes bad together (the firm or household fails, not a
single loan), each at a month of its own eligible months; so the entity's probability is
exactly ``pd[i, y]`` however many loans it holds, and each loan's own probability is
``pd[i, y]`` too. A bad loan shows DPD 30, 60, 90 in three consecutive months of ``y``
(nothing of it is visible before January 1 of ``y``) and keeps reporting (120, 150, ...)
until December, then it is written off. An entity with a default gets no new loan in the
next two calendar years.

For a snapshot on December 31 of ``y - 1`` and its outcome window (the months of ``y``),
the exact probability of a default is therefore ``pd[i, y]`` when the entity has an
eligible loan in ``y``, else 0; :mod:`scoring.synth._truth` writes it as ``true_pd``. The
only borrowers with records in ``y`` and no eligible loan are those whose first loan of the
window reports from November or December: new lending is weak in the fourth quarter
(:attr:`CreditParams.season`), so they are few.

Cured delinquencies (DPD 30, sometimes 30 then 60, then caught up) happen at a monthly
rate that rises steeply with risk; they never reach 90.

Pilot effects (SMEs in pilot regions from the pilot month): better screening
---------------------------------------------------------------------------
In a pilot region-month, every active SME's probability of taking a new loan is
reweighted, ``rate' = rate * A * exp(theta * latent)``, with ``theta`` and ``A`` solved per
region and month so that

- the mean probability over the region's active SMEs rises by exactly
  ``effect_sme_access`` (access), and
- the rate-weighted mean over those SMEs of ``p12`` (the probability that a loan taken now
  reaches DPD 90 within the 12 months after its origination month) moves by exactly
  ``effect_sme_default`` (default among new loans).

Nothing else changes: the defaults of a given entity follow the same ``pd`` in every
region, so trends stay parallel and a difference-in-differences recovers the effects.
Cohorts after ``data_end - 12 months`` (no full window inside the data) keep the region's
last ``theta``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from scoring.schema import LOAN_PURPOSES
from scoring.synth._common import (
    BoolArray,
    Calendar,
    FloatArray,
    IntArray,
    choose,
    const,
    date_series,
    logistic,
    panel,
)
from scoring.synth._entities import Segment

BLOCK_YEARS = 2
_THETA_RANGE = (-6.0, 6.0)
_BISECTIONS = 40


@dataclass(frozen=True, slots=True)
class CreditParams:
    """How one segment borrows and defaults (shapes the synthetic data only)."""

    kind: str
    base_rate: float  # monthly probability of a new loan, average entity
    rate_slope: float  # log-rate per unit of creditworthiness
    unregistered_factor: float  # households without a credit file borrow less
    terms: tuple[int, ...]
    term_p: tuple[float, ...]
    pd_intercept: float
    pd_slope: float
    cure_intercept: float
    cure_slope: float
    monthly_rate: float
    purposes: tuple[str, ...]
    purpose_p: tuple[float, ...]
    principal_median: tuple[float, ...]  # by size class (SME) or purpose (household)
    season: tuple[float, ...]  # relative new lending by calendar month, January first

    def pd(self, latent: FloatArray) -> FloatArray:
        """Probability of default in a year with an eligible loan, from creditworthiness."""
        return logistic(self.pd_intercept - self.pd_slope * latent)


SME_CREDIT = CreditParams(
    kind="sme",
    base_rate=0.025,
    rate_slope=0.6,
    unregistered_factor=1.0,
    terms=(12, 24, 36),
    term_p=(0.5, 0.3, 0.2),
    pd_intercept=-3.45,
    pd_slope=1.45,
    cure_intercept=-5.6,
    cure_slope=2.4,
    monthly_rate=0.0055,
    purposes=("working_capital", "equipment"),
    purpose_p=(0.65, 0.35),
    principal_median=(3e5, 2e6, 1e7),
    # Strong at the start of the year (开门红), slow in the fourth quarter when the
    # year's credit quotas run out.
    season=(1.5, 1.1, 1.4, 1.2, 1.1, 1.2, 1.0, 0.9, 1.0, 0.5, 0.4, 0.5),
)

HOUSEHOLD_CREDIT = CreditParams(
    kind="household",
    base_rate=0.02,
    rate_slope=0.5,
    unregistered_factor=0.3,
    terms=(12, 24, 36),
    term_p=(0.45, 0.35, 0.2),
    pd_intercept=-3.55,
    pd_slope=1.15,
    cure_intercept=-7.0,
    cure_slope=3.4,
    monthly_rate=0.006,
    purposes=("agriculture", "consumption", "housing"),
    purpose_p=(0.6, 0.25, 0.15),
    principal_median=(3e4, 5e4, 1.5e5),
    # Farm loans for spring planting; little new lending after the autumn harvest.
    season=(1.6, 1.3, 1.7, 1.5, 1.1, 0.9, 0.8, 0.8, 0.9, 0.2, 0.1, 0.6),
)


@dataclass(frozen=True, slots=True)
class PilotEffects:
    """The planted SME effects and where they apply."""

    treated_region: BoolArray  # per geo.REGION_CODES entry
    pilot_month: int
    access: float
    default: float


@dataclass(frozen=True, slots=True)
class CreditBook:
    """The loans of one segment with everything the truth needs."""

    kind: str
    entity: IntArray
    origination_month: IntArray
    origination_date: np.ndarray
    term: IntArray
    principal: FloatArray
    bank: IntArray
    purpose: IntArray
    eligible: BoolArray  # (n_loans, n_years): can show DPD 90 in that year
    default_year: IntArray  # -1 when never
    default_month: IntArray  # month index of DPD 90, -1 when never
    first_record: IntArray
    last_record: IntArray  # inclusive; < first_record when the loan never reports
    p12: FloatArray  # probability of DPD 90 within 12 months of origination
    cells: pl.DataFrame  # per region-month: active, rates and p12 before/after the pilot

    @property
    def n(self) -> int:
        return len(self.entity)


def _eligibility(
    o: IntArray, term: IntArray, cal: Calendar, last: IntArray
) -> tuple[IntArray, IntArray]:
    """First and last month index (per loan and year) at which DPD 90 may fall.

    DPD 90 in month ``m`` means the first missed payment in ``m - 2``: after the first
    record (``o + 1``), in the same calendar year as ``m`` and by the last instalment
    (``o + term``); the records run on while the loan is in default, up to ``last``
    (the borrower's last active month).
    """
    years = np.arange(cal.n_years)
    lo = np.maximum(12 * years[None, :] + 2, o[:, None] + 3)
    hi = np.minimum(12 * years[None, :] + 11, np.minimum(o + term + 2, last)[:, None])
    return lo, np.minimum(hi, cal.n_months - 1)


def _p12(pd_: FloatArray, o: IntArray, term: IntArray, cal: Calendar, last: IntArray) -> FloatArray:
    """Probability that a loan from month ``o`` reaches DPD 90 within 12 months.

    ``pd_`` is the borrower's ``(n, n_years)`` probability of default by year.
    """
    lo, hi = _eligibility(o, term, cal, last)
    rows = np.arange(len(o))
    y0 = o // 12
    y1 = np.minimum(y0 + 1, cal.n_years - 1)
    h0 = np.where(hi[rows, y0] >= lo[rows, y0], pd_[rows, y0], 0.0)
    n1 = np.maximum(hi[rows, y1] - lo[rows, y1] + 1, 0)
    in1 = np.maximum(np.minimum(hi[rows, y1], o + 12) - lo[rows, y1] + 1, 0)
    f1 = np.where((y0 + 1 < cal.n_years) & (n1 > 0), in1 / np.maximum(n1, 1), 0.0)
    return np.asarray(h0 + (1.0 - h0) * pd_[rows, y1] * f1)


def _screening(
    rate: FloatArray,
    p12: FloatArray,
    latent: FloatArray,
    region: IntArray,
    active: BoolArray,
    treated: BoolArray,
    *,
    access: float,
    default: float,
    theta_fixed: FloatArray | None,
) -> tuple[FloatArray, FloatArray]:
    """Reweight the rates of treated regions; returns the new rates and theta by region."""
    n_regions = len(treated)
    n_active = np.bincount(region, active, minlength=n_regions).astype(np.float64)
    total = np.bincount(region, rate, minlength=n_regions)
    mean_p = np.bincount(region, rate * p12, minlength=n_regions) / np.maximum(total, 1e-300)
    z = latent - latent.mean() if len(latent) else latent

    def weighted_p(theta: FloatArray) -> FloatArray:
        w = rate * np.exp(np.clip(theta[region] * z, -50.0, 50.0))
        wt = np.bincount(region, w, minlength=n_regions)
        return np.asarray(
            np.bincount(region, w * p12, minlength=n_regions) / np.maximum(wt, 1e-300)
        )

    if theta_fixed is None:
        target = mean_p + default
        lo = np.full(n_regions, _THETA_RANGE[0])
        hi = np.full(n_regions, _THETA_RANGE[1])
        for _ in range(_BISECTIONS):  # weighted p12 falls as theta rises
            mid = (lo + hi) / 2.0
            above = weighted_p(mid) > target
            lo = np.where(above, mid, lo)
            hi = np.where(above, hi, mid)
        theta = np.where(treated & (total > 0), (lo + hi) / 2.0, 0.0)
    else:
        theta = np.where(treated, theta_fixed, 0.0)
    w = rate * np.exp(np.clip(theta[region] * z, -50.0, 50.0))
    w_total = np.bincount(region, w, minlength=n_regions)
    scale = np.where(
        treated & (w_total > 0), (total + access * n_active) / np.maximum(w_total, 1e-300), 1.0
    )
    new_rate = np.where(treated[region], w * scale[region], rate)
    return np.asarray(np.clip(new_rate, 0.0, 1.0)), theta


def simulate_credit(
    seg: Segment,
    cal: Calendar,
    rng: np.random.Generator,
    params: CreditParams,
    *,
    n_banks: int,
    n_regions: int,
    effects: PilotEffects | None,
) -> CreditBook:
    """Originate loans month by month and draw the defaults year by year."""
    n = seg.n
    pd_ = params.pd(seg.state)
    u_default = rng.random((n, cal.n_years))
    v_month = rng.random((n, cal.n_years))
    blocked_until = np.zeros(n, dtype=np.int64)
    min_term = min(params.terms)
    term_arr = np.array(params.terms, dtype=np.int64)
    term_p = np.array(params.term_p)
    season = np.array(params.season) / np.mean(params.season)
    # An entity still registered at the data end lives on: its loans may run past it.
    life_stop = np.where(seg.stop < cal.n_months, seg.stop, cal.n_months + 120)
    last_full_cohort = cal.n_months - 13
    theta_last = np.zeros(n_regions)

    chunks: dict[str, list[np.ndarray]] = {k: [] for k in ("entity", "o", "term", "p12")}
    default_year = np.zeros(0, dtype=np.int64)
    default_month = np.zeros(0, dtype=np.int64)
    cells: list[pl.DataFrame] = []

    for y in range(cal.n_years):
        for k in range(12 * y, 12 * y + 12):
            active = (seg.first <= k) & (k < seg.stop)
            room = life_stop - 1 - k
            ok = active & (k >= blocked_until) & (room >= min_term)
            rate = params.base_rate * np.exp(params.rate_slope * seg.latent[:, y]) * season[k % 12]
            if seg.registered_month is not None:
                rate = rate * np.where(seg.registered_month <= k, 1.0, params.unregistered_factor)
            rate = np.where(ok, rate, 0.0)
            # Each entity's would-be loan this month: its term and its 12-month default risk.
            term = term_arr[choose(rng, n, term_p)]
            fits = (term_arr[None, :] <= room[:, None]).sum(axis=1)
            term = np.where(term <= room, term, term_arr[np.maximum(fits - 1, 0)])
            o = np.full(n, k, dtype=np.int64)
            p12 = _p12(pd_, o, term, cal, life_stop - 1)
            if effects is not None:
                n_active = np.bincount(seg.region, active, minlength=n_regions)
                before = np.bincount(seg.region, rate, minlength=n_regions)
                p_before = np.bincount(seg.region, rate * p12, minlength=n_regions)
                if k >= effects.pilot_month:
                    rate, theta = _screening(
                        rate,
                        p12,
                        seg.latent[:, y],
                        seg.region,
                        active,
                        effects.treated_region,
                        access=effects.access,
                        default=effects.default,
                        theta_fixed=None if k <= last_full_cohort else theta_last,
                    )
                    theta_last = theta
                after = np.bincount(seg.region, rate, minlength=n_regions)
                p_after = np.bincount(seg.region, rate * p12, minlength=n_regions)
                cells.append(
                    pl.DataFrame(
                        {
                            "region": np.arange(n_regions),
                            "month": np.full(n_regions, k),
                            "active": n_active.astype(np.int64),
                            "rate_before": before / np.maximum(n_active, 1),
                            "rate_after": after / np.maximum(n_active, 1),
                            "p12_before": p_before / np.maximum(before, 1e-300),
                            "p12_after": p_after / np.maximum(after, 1e-300),
                        }
                    )
                )
            new = np.flatnonzero(rng.random(n) < rate)
            chunks["entity"].append(new)
            chunks["o"].append(o[new])
            chunks["term"].append(term[new])
            chunks["p12"].append(p12[new])
            grow = np.full(len(new), -1, dtype=np.int64)
            default_year = np.concatenate([default_year, grow])
            default_month = np.concatenate([default_month, grow])
        # Year end: which entities fail this year, and with them all their eligible loans.
        ent = np.concatenate(chunks["entity"])
        lo, hi = _eligibility(
            np.concatenate(chunks["o"]), np.concatenate(chunks["term"]), cal, life_stop[ent] - 1
        )
        n_y = np.maximum(hi[:, y] - lo[:, y] + 1, 0)
        bad = (default_year < 0) & (n_y > 0) & (u_default[ent, y] < pd_[ent, y])
        default_year = np.where(bad, y, default_year)
        month = lo[:, y] + np.floor(v_month[ent, y] * np.maximum(n_y, 1)).astype(np.int64)
        default_month = np.where(bad, month, default_month)
        blocked_until[ent[bad]] = 12 * (y + 1 + BLOCK_YEARS)

    entity = np.concatenate(chunks["entity"])
    o_all = np.concatenate(chunks["o"])
    t_all = np.concatenate(chunks["term"])
    lo, hi = _eligibility(o_all, t_all, cal, life_stop[entity] - 1)
    m_all = len(entity)
    last = np.where(
        default_year >= 0,
        np.minimum(12 * default_year + 11, seg.stop[entity] - 1),
        np.minimum(o_all + t_all, cal.n_months - 1),
    )
    purpose = choose(rng, m_all, np.array(params.purpose_p))
    if params.kind == "sme":
        median = np.array(params.principal_median)[seg.size[entity]]
    else:
        median = np.array(params.principal_median)[purpose]
    principal = np.exp(rng.normal(np.log(median) + 0.15 * seg.latent[entity, o_all // 12], 0.7))
    lo_p, hi_p = (1e4, 5e8) if params.kind == "sme" else (3e3, 1e6)
    principal = np.round(np.clip(principal, lo_p, hi_p) / 1000.0) * 1000.0
    purposes_global = np.array([LOAN_PURPOSES.index(p) for p in params.purposes])
    cell_frame = (
        pl.concat(cells)
        if cells
        else pl.DataFrame(
            schema={
                c: pl.Int64 if c in ("region", "month", "active") else pl.Float64
                for c in (
                    "region",
                    "month",
                    "active",
                    "rate_before",
                    "rate_after",
                    "p12_before",
                    "p12_after",
                )
            }
        )
    )
    return CreditBook(
        kind=params.kind,
        entity=entity,
        origination_month=o_all,
        origination_date=seg.clamp(entity, cal.random_day(rng, o_all)),
        term=t_all,
        principal=principal,
        bank=rng.integers(0, n_banks, m_all),
        purpose=purposes_global[purpose],
        eligible=hi >= lo,
        default_year=default_year,
        default_month=default_month,
        first_record=o_all + 1,
        last_record=last,
        p12=np.concatenate(chunks["p12"]),
        cells=cell_frame,
    )


def loans_frame(
    book: CreditBook, seg: Segment, cal: Calendar, bank_codes: tuple[str, ...]
) -> pl.DataFrame:
    """The ``loans`` rows of one book (without loan ids)."""
    o_date = book.origination_date
    day = (o_date - cal.month_start(book.origination_month)).astype(np.int64)
    mat_month = book.origination_month + book.term
    maturity = cal.month_start(mat_month) + np.minimum(day, cal.month_days(mat_month) - 1)
    return pl.DataFrame(
        [
            const("entity_type", book.kind, book.n),
            seg.ids.gather(book.entity).alias("entity_id"),
            pl.Series("bank_code", bank_codes).gather(book.bank),
            pl.Series("purpose", LOAN_PURPOSES).gather(book.purpose),
            date_series("origination_date", o_date),
            date_series("maturity_date", maturity),
            pl.Series("principal", book.principal, dtype=pl.Float64),
        ]
    )


@dataclass(frozen=True, slots=True)
class Repayments:
    """Repayment rows of one book (without record or loan ids) and their raw arrays."""

    frame: pl.DataFrame
    loan: IntArray  # index of the row's loan in the book
    month: IntArray
    dpd: IntArray
    cured: BoolArray  # a late payment that was caught up (never part of a default)


def repayments(
    book: CreditBook,
    seg: Segment,
    cal: Calendar,
    rng: np.random.Generator,
    params: CreditParams,
    loans: IntArray,
) -> Repayments:
    """Monthly repayment records of the loans ``loans`` of one book (indices, ascending)."""
    local, month = panel(book.first_record[loans], book.last_record[loans] + 1)
    loan = loans[local]
    n = len(loan)
    o = book.origination_month[loan]
    term = book.term[loan]
    j = month - o
    dy = book.default_year[loan]
    dm = book.default_month[loan]
    last = book.last_record[loan]
    in_default = (dy >= 0) & (month >= dm - 2)
    dpd_default = np.where(in_default, 30 * (month - dm + 3), 0)

    risk = -seg.latent[book.entity[loan], np.minimum(month // 12, cal.n_years - 1)]
    q = logistic(params.cure_intercept + params.cure_slope * risk)
    room = (month + 2 <= last) & ((dy < 0) | (month + 2 < dm - 2))
    start = room & (rng.random(n) < q)
    two = start & (rng.random(n) < 0.25)
    dpd_cure = np.where(start, 30, 0)
    second = np.zeros(n, dtype=np.int64)
    second[1:] = np.where(two[:-1], 60, 0)
    dpd = np.maximum(np.maximum(dpd_default, dpd_cure), second)

    first_row = np.ones(n, dtype=bool)
    first_row[1:] = loan[1:] != loan[:-1]
    prev = np.zeros(n, dtype=np.int64)
    prev[1:] = dpd[:-1]
    prev = np.where(first_row, 0, prev)
    inc = np.where(dpd > 0, 0, np.where(prev > 0, 1 + prev // 30, 1))
    inc = np.where(in_default, 0, inc)
    cum = np.cumsum(inc)
    loan_start = np.flatnonzero(first_row)
    base = np.repeat(cum[loan_start] - inc[loan_start], np.diff(np.append(loan_start, n)))
    paid_count = cum - base
    paid_before = paid_count - inc
    principal = book.principal[loan]
    inst = principal / term
    balance_before = np.maximum(principal - paid_before * inst, 0.0)
    balance = np.maximum(principal - paid_count * inst, 0.0)
    interest = params.monthly_rate * balance_before
    due = np.where(
        j <= term, np.minimum(inst, balance_before) + interest, balance_before + interest
    )
    paid = np.where(inc > 0, np.minimum(inc * inst, balance_before) + interest, 0.0)
    frame = pl.DataFrame(
        [
            date_series("month", cal.month_start(month)),
            pl.Series("balance", np.round(balance, 2), dtype=pl.Float64),
            pl.Series("amount_due", np.round(due, 2), dtype=pl.Float64),
            pl.Series("amount_paid", np.round(paid, 2), dtype=pl.Float64),
            pl.Series("days_past_due", dpd.astype(np.int64), dtype=pl.Int64),
        ]
    )
    return Repayments(frame=frame, loan=loan, month=month, dpd=dpd, cured=(dpd > 0) & ~in_default)
