"""Shared pieces of the generator: random streams, the month calendar, id builders.

Everything here works on whole arrays; nothing loops over rows.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
DateArray = npt.NDArray[np.datetime64]


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent random stream for one part of the province.

    Streams are keyed by name (not by call order), so adding a table never shifts
    the random numbers of another one.
    """
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(key,))))


def logistic(x: FloatArray) -> FloatArray:
    """The logistic function, elementwise."""
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def ar1(rng: np.random.Generator, n: int, n_years: int, *, rho: float, sd: float) -> FloatArray:
    """Stationary AR(1) paths, one row per entity, one column per year."""
    out = np.empty((n, n_years), dtype=np.float64)
    out[:, 0] = rng.normal(0.0, sd, n)
    innov = sd * np.sqrt(1.0 - rho * rho)
    for y in range(1, n_years):
        out[:, y] = rho * out[:, y - 1] + rng.normal(0.0, innov, n)
    return out


@dataclass(frozen=True, slots=True)
class Calendar:
    """Whole calendar years of monthly records; month index 0 is January of ``first_year``."""

    first_year: int
    n_years: int

    @property
    def n_months(self) -> int:
        return 12 * self.n_years

    @property
    def start(self) -> dt.date:
        return dt.date(self.first_year, 1, 1)

    @property
    def end(self) -> dt.date:
        return dt.date(self.first_year + self.n_years - 1, 12, 31)

    def month_start(self, k: IntArray | int) -> DateArray:
        """First day of month index ``k`` (any integer, also outside the calendar)."""
        base = np.datetime64(f"{self.first_year:04d}-01", "M")
        return np.asarray((base + np.asarray(k)).astype("datetime64[D]"))

    def month_days(self, k: IntArray) -> IntArray:
        """Number of days in month index ``k``."""
        return (self.month_start(k + 1) - self.month_start(k)).astype(np.int64)

    def year_start(self, y: IntArray | int) -> DateArray:
        return self.month_start(12 * np.asarray(y))

    def month_of(self, dates: DateArray) -> IntArray:
        """Month index of each date (may lie outside ``[0, n_months)``)."""
        months = np.asarray(dates).astype("datetime64[M]").astype(np.int64)
        base = np.datetime64(f"{self.first_year:04d}-01", "M").astype(np.int64)
        return np.asarray(months - base, dtype=np.int64)

    def random_day(self, rng: np.random.Generator, k: IntArray) -> DateArray:
        """A uniformly random day inside month index ``k``."""
        days = self.month_days(k)
        offset = np.floor(rng.random(len(k)) * days).astype(np.int64)
        return self.month_start(k) + offset


def date_series(name: str, values: DateArray) -> pl.Series:
    """A polars Date column from numpy ``datetime64[D]`` values (NaT becomes null)."""
    return pl.Series(name, np.asarray(values, dtype="datetime64[D]")).cast(pl.Date)


def const(name: str, value: str | dt.date, n: int) -> pl.Series:
    """A column holding one value ``n`` times (strings or dates)."""
    dtype = pl.String if isinstance(value, str) else pl.Date
    return pl.repeat(value, n, dtype=dtype, eager=True).alias(name)


def ascii_series(name: str, chars: npt.NDArray[np.uint8]) -> pl.Series:
    """A string column from an ``(n, width)`` matrix of ASCII bytes."""
    mat = np.ascontiguousarray(chars, dtype=np.uint8)
    width = mat.shape[1]
    return pl.Series(name, mat.view(f"S{width}").ravel()).cast(pl.String)


def digit_chars(values: IntArray, width: int) -> npt.NDArray[np.uint8]:
    """The zero-padded decimal digits of ``values`` as an ``(n, width)`` ASCII matrix."""
    v = np.array(values, dtype=np.int64)
    out = np.empty((len(v), width), dtype=np.uint8)
    for j in range(width - 1, -1, -1):  # one pass per digit
        out[:, j] = 48 + v % 10
        v //= 10
    return out


def sequence_ids(name: str, prefix: str, start: int, n: int, *, width: int = 10) -> pl.Series:
    """Ids ``prefix`` + a zero-padded sequence number ``start .. start + n - 1``."""
    pre = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    body = digit_chars(np.arange(start, start + n, dtype=np.int64), width)
    mat = np.concatenate([np.broadcast_to(pre, (n, len(pre))), body], axis=1)
    return ascii_series(name, mat)


def panel(first: IntArray, stop: IntArray) -> tuple[IntArray, IntArray]:
    """Entity and month index of every active month ``first <= k < stop``."""
    lengths = np.maximum(np.asarray(stop) - np.asarray(first), 0)
    entity = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    offsets = np.cumsum(lengths) - lengths
    within = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(offsets, lengths)
    return entity, np.repeat(np.asarray(first, dtype=np.int64), lengths) + within


def poisson_events(
    rng: np.random.Generator, rates: FloatArray, exposure: FloatArray
) -> tuple[IntArray, IntArray]:
    """Poisson event counts for an ``(n, n_years)`` rate matrix, exploded to events.

    Returns the entity index and the year index of each event.
    """
    counts = rng.poisson(np.maximum(rates * exposure, 0.0))
    flat = counts.ravel()
    idx = np.repeat(np.arange(flat.size, dtype=np.int64), flat)
    return idx // rates.shape[1], idx % rates.shape[1]


def random_month_in_year(
    rng: np.random.Generator, year: IntArray, first: IntArray, stop: IntArray
) -> IntArray:
    """A uniformly random active month (``first <= k < stop``) inside year index ``year``."""
    lo = np.maximum(12 * year, first)
    hi = np.minimum(12 * year + 12, stop)
    span = np.maximum(hi - lo, 1)
    return np.asarray(lo + np.floor(rng.random(len(year)) * span).astype(np.int64))


def choose(rng: np.random.Generator, n: int, p: FloatArray) -> IntArray:
    """Categorical draws with fixed probabilities ``p`` (normalised)."""
    cp = np.cumsum(np.asarray(p, dtype=np.float64))
    cp /= cp[-1]
    return np.asarray(np.searchsorted(cp, rng.random(n), side="right"), dtype=np.int64)


def choose_rows(rng: np.random.Generator, weights: FloatArray) -> IntArray:
    """One categorical draw per row of an ``(n, k)`` weight matrix."""
    cw = np.cumsum(weights, axis=1)
    u = rng.random(weights.shape[0]) * cw[:, -1]
    return np.asarray((cw < u[:, None]).sum(axis=1), dtype=np.int64)
