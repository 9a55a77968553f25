"""The tax deduction indicators the generator may write into ``tax_violations``.

Only indicators of ``[[tax.deductions]]`` with ``source = "violations"`` are used (the
configuration's :class:`~scoring.config.TaxConfig`). Their yearly rates live here (they
shape the synthetic data only); an indicator the generator does not know gets a rate
from its kind and points.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scoring.config import TaxDeduction
from scoring.exceptions import ConfigError


@dataclass(frozen=True, slots=True)
class ViolationIndicator:
    """One deduction indicator recorded in ``tax_violations``, with its synthetic rate.

    ``rate`` is the yearly event rate of an average firm, ``slope`` how fast it rises
    with tax-discipline risk (log-rate per standard deviation), ``micro`` an extra
    log-rate for micro firms, ``amount`` whether events carry an amount.
    """

    code: str
    kind: str
    per: str
    rate: float
    slope: float
    micro: float = 0.0
    amount: bool = False


# (rate per year, slope, micro log-rate, has amount): shapes the synthetic province only.
# Tuned with the rating rules so that about 5 % of taxpayers rate A and 7 % D a year.
_KNOWN: dict[str, tuple[float, float, float, bool]] = {
    "LATE_WITHHOLDING": (0.45, 0.5, 0.0, False),
    "LATE_FIN_STATEMENTS": (1.20, 0.4, 0.2, False),
    "ACCOUNTING_SYSTEM_NOT_FILED": (0.05, 0.5, 0.3, False),
    "INVOICE_IRREGULAR": (0.35, 0.4, 0.0, True),
    "BANK_ACCOUNTS_NOT_REPORTED": (0.04, 0.6, 0.0, False),
    "DEVICE_LOST": (0.15, 0.2, 0.0, False),
    "DEVICE_DAMAGED": (0.010, 0.6, 0.0, False),
    "BOOKS_NOT_KEPT": (0.20, 0.5, 0.9, False),
    "TAX_CRIME": (0.0004, 1.1, 0.0, True),
    "TAX_EVASION": (0.005, 1.1, -0.5, True),
    "UNPAID_BY_DEADLINE": (0.008, 1.1, 0.0, True),
    "OBSTRUCT_INSPECTION": (0.0004, 1.0, 0.0, False),
    "INVOICE_FRAUD": (0.002, 1.0, 0.0, True),
    "ABNORMAL_HOUSEHOLD": (0.005, 1.1, 0.4, False),
}


def _fallback(kind: str, points: float) -> tuple[float, float, float, bool]:
    if kind == "direct_d":
        return (0.003, 1.0, 0.0, False)
    if kind == "no_a":
        return (0.05, 0.5, 0.5, False)
    return (max(0.01, 0.15 / max(points, 1.0)), 0.6, 0.0, False)


def violation_indicators(
    deductions: Iterable[TaxDeduction], *, source: str
) -> tuple[ViolationIndicator, ...]:
    """The ``source = "violations"`` indicators of the deduction table, with their rates.

    Raises
    ------
    ConfigError
        When the table holds no such indicator (``source`` names the file).
    """
    out = tuple(
        ViolationIndicator(d.code, d.kind, d.per, *_KNOWN.get(d.code, _fallback(d.kind, d.points)))
        for d in deductions
        if d.source == "violations"
    )
    if not out:
        raise ConfigError(
            f"'tax.deductions' in {source} must hold at least one indicator with "
            'source = "violations"; got none.'
        )
    return out
