"""SME department records: tax filings and violations, social insurance, utilities, penalties.

Every rate rises with risk (``-latent``) or, for tax, with tax-discipline risk, so the
records carry the creditworthiness the defaults are drawn from. Records exist only in the
months a firm is active (``first <= month < stop``).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from scoring.schema import PENALTY_AUTHORITIES, PENALTY_SEVERITIES
from scoring.synth._common import (
    Calendar,
    FloatArray,
    IntArray,
    choose,
    const,
    date_series,
    logistic,
    panel,
    poisson_events,
    random_month_in_year,
)
from scoring.synth._entities import Segment
from scoring.synth._taxcodes import ViolationIndicator

_REVENUE_MEDIAN = np.array([6e4, 8e5, 8e6])  # CNY per month by size class
_ZERO_BASE = np.array([-1.1, -2.8, -4.2])  # log-odds of a zero declaration by size class
_EMPLOYEES = np.array([3.0, 30.0, 250.0])
_SI_REGISTERED = np.array([0.6, 0.9, 0.98])
_KWH = np.array([2500.0, 25000.0, 250000.0])
_WATER = np.array([40.0, 400.0, 4000.0])
_AUTHORITY_P = np.array([0.30, 0.15, 0.20, 0.15, 0.20])
GROWTH_SLOPE = 0.12  # yearly log growth of activity per unit of creditworthiness
GROWTH_NOISE = 0.03


def _exposure(seg: Segment, cal: Calendar) -> FloatArray:
    """Active months of each firm in each year, as a share of the year."""
    years = np.arange(cal.n_years)
    lo = np.maximum(seg.first[:, None], 12 * years[None, :])
    hi = np.minimum(seg.stop[:, None], 12 * years[None, :] + 12)
    return np.asarray(np.maximum(hi - lo, 0) / 12.0)


def growth_path(seg: Segment, cal: Calendar, rng: np.random.Generator) -> FloatArray:
    """Log growth of each firm's activity by month: rises with creditworthiness.

    Drives the employee count and electricity use, so the trends carry the risk.
    """
    g = GROWTH_SLOPE * seg.latent + rng.normal(0.0, GROWTH_NOISE, seg.latent.shape)
    before = np.cumsum(g, axis=1) - g
    within = (np.arange(cal.n_months) % 12 + 1) / 12.0
    year = np.arange(cal.n_months) // 12
    return np.asarray(before[:, year] + g[:, year] * within[None, :])


def tax_filings(
    seg: Segment, cal: Calendar, rng: np.random.Generator, growth: FloatArray
) -> pl.DataFrame:
    """One filing per active month: declared revenue, tax payable and paid, filing dates.

    Revenue follows the firm's activity growth (as its payroll and power use do).
    """
    assert seg.tax_discipline is not None
    n = seg.n
    revenue_i = _REVENUE_MEDIAN[seg.size] * np.exp(rng.normal(0.0, 0.5, n))
    zero_i = _ZERO_BASE[seg.size] + rng.normal(0.0, 1.1, n)
    tax_rate = rng.uniform(0.03, 0.06, n)
    ent, k = panel(seg.first, seg.stop)
    rows = len(ent)
    y = k // 12
    c = seg.latent[ent, y]
    t = seg.tax_discipline[ent, y]
    missing = rng.random(rows) < logistic(-4.6 - 0.9 * t)
    late = ~missing & (rng.random(rows) < logistic(-1.15 - 0.5 * t))
    zero = ~missing & (rng.random(rows) < logistic(zero_i[ent] - 0.5 * c))
    season = 1.0 + 0.12 * np.sin(2.0 * np.pi * (k % 12) / 12.0)
    revenue = revenue_i[ent] * np.exp(0.2 * c + growth[ent, k]) * season
    revenue = revenue * np.exp(rng.normal(0.0, 0.12, rows))
    revenue = np.where(zero | missing, 0.0, np.round(revenue, 2))
    payable = np.round(revenue * tax_rate[ent], 2)
    arrears = (payable > 0) & (rng.random(rows) < logistic(-2.0 - 0.6 * t))
    paid = np.where(arrears, np.round(payable * rng.uniform(0.0, 0.9, rows), 2), payable)
    next_month = cal.month_start(k + 1)
    due = next_month + 14
    on_time = next_month + rng.integers(0, 15, rows)
    late_days = 1 + np.minimum(np.floor(rng.exponential(12.0, rows)), 120).astype(np.int64)
    filed = np.where(late, due + late_days, on_time)
    filed = np.where(missing, np.datetime64("NaT"), filed)
    return pl.DataFrame(
        [
            seg.ids.gather(ent),
            date_series("period", cal.month_start(k)),
            date_series("due_date", due),
            date_series("filed_date", filed),
            pl.Series("revenue", revenue, dtype=pl.Float64),
            pl.Series("tax_payable", payable, dtype=pl.Float64),
            pl.Series("tax_paid", paid, dtype=pl.Float64),
            pl.Series("zero_declaration", zero, dtype=pl.Boolean),
        ]
    )


def tax_violations(
    seg: Segment,
    cal: Calendar,
    rng: np.random.Generator,
    indicators: tuple[ViolationIndicator, ...],
) -> pl.DataFrame:
    """Violation events coded to the configured deduction indicators."""
    assert seg.tax_discipline is not None
    exposure = _exposure(seg, cal)
    tax_risk = -seg.tax_discipline
    micro = (seg.size == 0).astype(np.float64)[:, None]
    parts = []
    for ind in indicators:
        rate = ind.rate * np.exp(ind.slope * tax_risk + ind.micro * micro - 0.5 * ind.slope**2)
        ent, y = poisson_events(rng, rate, exposure)
        if ind.per == "once":
            _, first = np.unique(ent * cal.n_years + y, return_index=True)
            ent, y = ent[first], y[first]
        m = len(ent)
        month = random_month_in_year(rng, y, seg.first[ent], seg.stop[ent])
        event = seg.clamp(ent, cal.random_day(rng, month))
        if ind.amount:
            floor = 1e5 if ind.code == "TAX_EVASION" else 500.0
            median = 3e5 if ind.code == "TAX_EVASION" else 2e4
            amount = np.maximum(np.exp(rng.normal(np.log(median), 0.8, m)), floor)
            amount = np.round(np.minimum(amount, 4e9), 2)
        else:
            amount = np.full(m, np.nan)
        ended = event + rng.integers(1, 366, m)
        ended = np.where(rng.random(m) < 0.15, np.datetime64("NaT"), ended)
        parts.append(
            pl.DataFrame(
                [
                    seg.ids.gather(ent),
                    date_series("event_date", event),
                    const("indicator_code", ind.code, m),
                    pl.Series("amount", amount, dtype=pl.Float64).fill_nan(None),
                    date_series("ended_date", ended),
                ]
            )
        )
    out = pl.concat(parts)
    return out.unique(
        subset=["credit_code", "indicator_code", "event_date"], keep="first", maintain_order=True
    ).sort(["credit_code", "event_date", "indicator_code"])


def social_insurance(
    seg: Segment, cal: Calendar, rng: np.random.Generator, growth: FloatArray
) -> pl.DataFrame:
    """Monthly contributions of the firms registered with social insurance."""
    n = seg.n
    registered = rng.random(n) < _SI_REGISTERED[seg.size]
    base = np.log(_EMPLOYEES[seg.size]) + rng.normal(0.0, 0.5, n)
    stop = np.where(registered, seg.stop, seg.first)
    ent, k = panel(seg.first, stop)
    rows = len(ent)
    keep = rng.random(rows) >= 0.01  # a few months never reach the bureau
    ent, k = ent[keep], k[keep]
    rows = len(ent)
    log_emp = base[ent] + growth[ent, k] + rng.normal(0.0, 0.04, rows)
    employees = np.clip(np.round(np.exp(log_emp)), 0, 100000).astype(np.int64)
    wage = 2500.0 + 250.0 * (k // 12)
    due = np.round(employees * wage * 0.30, 2)
    c = seg.latent[ent, k // 12]
    arrears = (due > 0) & (rng.random(rows) < logistic(-3.3 - 1.9 * c))
    paid = np.where(arrears, np.round(due * rng.uniform(0.0, 0.8, rows), 2), due)
    return pl.DataFrame(
        [
            seg.ids.gather(ent),
            date_series("month", cal.month_start(k)),
            pl.Series("employees", employees, dtype=pl.Int64),
            pl.Series("contribution_due", due, dtype=pl.Float64),
            pl.Series("contribution_paid", paid, dtype=pl.Float64),
        ]
    )


def late_days(
    rng: np.random.Generator, risk: FloatArray, intercept: float, slope: float = 1.5
) -> IntArray:
    """Days a bill is paid late: mostly 0, more often and longer for risky payers."""
    rows = len(risk)
    late = rng.random(rows) < logistic(intercept + slope * risk)
    days = 1 + np.floor(rng.exponential(10.0 + 15.0 * np.maximum(risk, 0.0))).astype(np.int64)
    return np.where(late, np.minimum(days, 365), 0)


def utilities(
    seg: Segment, cal: Calendar, rng: np.random.Generator, growth: FloatArray
) -> pl.DataFrame:
    """Monthly electricity bills of every firm and water bills of most."""
    n = seg.n
    parts = []
    for utility, base_use, price, share, late_intercept in (
        ("electricity", _KWH, 0.85, 1.0, -1.6),
        ("water", _WATER, 3.2, 0.85, -4.2),
    ):
        has = rng.random(n) < share
        level = np.log(base_use[seg.size]) + rng.normal(0.0, 0.5, n)
        ent, k = panel(seg.first, np.where(has, seg.stop, seg.first))
        keep = rng.random(len(ent)) >= 0.005
        ent, k = ent[keep], k[keep]
        rows = len(ent)
        summer = 1.0 + (0.25 if utility == "electricity" else 0.1) * np.sin(np.pi * (k % 12) / 11.0)
        usage = np.exp(level[ent] + growth[ent, k] + rng.normal(0.0, 0.04, rows)) * summer
        usage = np.round(np.minimum(usage, 5e7), 1)
        risk = -seg.latent[ent, k // 12]
        parts.append(
            pl.DataFrame(
                [
                    const("entity_type", "sme", rows),
                    seg.ids.gather(ent).alias("entity_id"),
                    const("utility", utility, rows),
                    date_series("month", cal.month_start(k)),
                    pl.Series("usage", usage, dtype=pl.Float64),
                    pl.Series("amount_due", np.round(usage * price, 2), dtype=pl.Float64),
                    pl.Series(
                        "days_late", late_days(rng, risk, late_intercept, 2.4), dtype=pl.Int64
                    ),
                ]
            )
        )
    return pl.concat(parts)


def admin_penalties(seg: Segment, cal: Calendar, rng: np.random.Generator) -> pl.DataFrame:
    """Administrative penalties: fines by market, tax, environment, quality, safety bodies."""
    rate = np.exp(-3.4 - 1.0 * seg.latent)
    ent, y = poisson_events(rng, rate, _exposure(seg, cal))
    m = len(ent)
    month = random_month_in_year(rng, y, seg.first[ent], seg.stop[ent])
    c = seg.latent[ent, y]
    serious = rng.random(m) < logistic(-2.0 - 0.6 * c)
    amount = np.exp(rng.normal(np.where(serious, np.log(5e4), np.log(5e3)), 0.9))
    return pl.DataFrame(
        [
            seg.ids.gather(ent),
            date_series("decision_date", seg.clamp(ent, cal.random_day(rng, month))),
            pl.Series("severity", PENALTY_SEVERITIES).gather(serious.astype(np.int64)),
            pl.Series("authority", PENALTY_AUTHORITIES).gather(choose(rng, m, _AUTHORITY_P)),
            pl.Series("amount", np.round(np.minimum(amount, 5e8), -2), dtype=pl.Float64),
        ]
    ).sort(["credit_code", "decision_date"])
