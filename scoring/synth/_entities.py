"""Enterprises and rural households: where they are, their keys, their latent creditworthiness.

Each entity carries a latent creditworthiness per calendar year,
``c[i, y] = static[i] + shock[i, y]`` with a stationary AR(1) shock (a household's static
part includes a share common to its village). ``c[i, y]`` drives every record of year
``y`` the other modules write; the defaults of year ``y + 1`` are drawn from the same
value, the entity's *state* at the year end (:attr:`Segment.state`), so the records up to
a snapshot carry the risk of its outcome window the way bureau data does. ``risk = -c``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import numpy.typing as npt
import polars as pl

from scoring import geo
from scoring.schema import INCOME_SOURCES, INDUSTRIES, SIZE_CLASSES
from scoring.synth._common import (
    BoolArray,
    Calendar,
    FloatArray,
    IntArray,
    ar1,
    ascii_series,
    choose,
    choose_rows,
    date_series,
    digit_chars,
    logistic,
)

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _ch in enumerate(USCC_ALPHABET):
    _USCC_VALUE[ord(_ch)] = _i
_USCC_BYTES = np.frombuffer(USCC_ALPHABET.encode("ascii"), dtype=np.uint8)
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_ORG_CHECK = np.frombuffer(b"0123456789X0", dtype=np.uint8)  # index 11 - sum % 11 (1..11)

# Clearly synthetic names: a common Cantonese surname + a heavenly stem + a numeral
# (the 张三/李四 placeholder pattern); firm names carry the word 模拟 (simulated).
_SURNAMES = tuple("陈李黄张梁林刘吴罗何郑谢冯王周叶邓杨曾朱")
_STEMS = tuple("甲乙丙丁戊己庚辛壬癸")
_NUMERALS = tuple("一二三四五六七八九十")
_TRADE_NAMES = ("合盛", "永利", "华信", "恒通", "宏达", "兴业", "广源", "新峰", "金成", "嘉禾")
_INDUSTRY_WORDS = {
    "A": "农业",
    "C": "制造",
    "E": "建筑工程",
    "F": "贸易",
    "G": "物流",
    "H": "餐饮",
    "I": "信息科技",
    "K": "置业",
    "L": "商务服务",
    "O": "家政服务",
}
_INDUSTRY_P = np.array([0.04, 0.24, 0.07, 0.30, 0.07, 0.08, 0.06, 0.03, 0.07, 0.04])
_INDUSTRY_SHIFT = np.array([-0.10, 0.05, -0.10, 0.0, 0.0, -0.05, 0.10, -0.05, 0.05, 0.0])
_SIZE_P = np.array([0.70, 0.25, 0.05])
_SIZE_SHIFT = np.array([-0.10, 0.15, 0.30])
_CAPITAL_MEDIAN = np.array([30.0, 300.0, 3000.0])  # 10k CNY
_CATEGORY_P = np.array([0.85, 0.12, 0.03])  # enterprise, individual business, cooperative
_INCOME_P = np.array([0.38, 0.12, 0.08, 0.25, 0.07, 0.10])
_INCOME_BETA = np.array([-0.2, 0.0, 0.2, 0.6, 1.0, -1.2])
_LAND_MEDIAN = np.array([6.0, 3.0, 5.0, 2.0, 1.5, 2.5])  # mu
_EARLIEST_EST = np.datetime64("1980-01-01")

SME_STATIC_SD = np.sqrt(0.82)
SME_SHOCK_SD = np.sqrt(0.18)
HH_STATIC_SD = np.sqrt(0.76)
HH_VILLAGE_SD = 0.3  # households of one village share part of their creditworthiness
HH_SHOCK_SD = np.sqrt(0.15)
SHOCK_RHO = 0.65
HOUSEHOLDS_PER_VILLAGE = 200
REGISTERED_BEFORE_START = 0.65  # share of control-region households with a file before data_start


@dataclass(frozen=True, slots=True)
class Geography:
    """Every county of the province with the sampling weights of the synthetic data."""

    county: npt.NDArray[np.str_]
    region: IntArray  # index into geo.REGION_CODES
    city: IntArray  # index into the sorted city codes
    sme_weight: FloatArray
    household_weight: FloatArray
    region_shift: FloatArray  # per region, small level difference of creditworthiness
    city_codes: tuple[str, ...]


def build_geography(rng: np.random.Generator) -> Geography:
    """Counties of the 21 cities, with random (seeded) county sizes inside each city."""
    city_codes = tuple(sorted(geo.CITIES))
    counties: list[str] = []
    city_idx: list[int] = []
    sme_w: list[float] = []
    hh_w: list[float] = []
    for ci, code in enumerate(city_codes):
        city = geo.CITIES[code]
        cc = geo.county_codes(code)
        share = rng.dirichlet(np.full(len(cc), 4.0))
        counties.extend(cc)
        city_idx.extend([ci] * len(cc))
        sme_w.extend(city.sme_weight * share)
        hh_w.extend(city.household_weight * share)
    region_index = {r: i for i, r in enumerate(geo.REGION_CODES)}
    region = np.array([region_index[geo.region_of_county(c)] for c in counties], dtype=np.int64)
    return Geography(
        county=np.array(counties),
        region=region,
        city=np.array(city_idx, dtype=np.int64),
        sme_weight=np.array(sme_w),
        household_weight=np.array(hh_w),
        region_shift=rng.normal(0.0, 0.12, len(geo.REGION_CODES)),
        city_codes=city_codes,
    )


@dataclass(frozen=True, slots=True)
class Segment:
    """Entities of one type as arrays, plus the entity table written to ``out``.

    ``first``/``stop`` bound the active months (``first <= k < stop``); ``latent`` is
    ``c[i, y]``; ``prior`` is ``c`` of the year before the data start; ``region`` indexes
    ``geo.REGION_CODES``; ``village`` (households) indexes the villages.
    """

    kind: str
    ids: pl.Series
    county: pl.Series
    region: IntArray
    first: IntArray
    stop: IntArray
    latent: FloatArray
    prior: FloatArray
    size: IntArray
    frame: pl.DataFrame
    tax_discipline: FloatArray | None = None
    registered_month: IntArray | None = None
    land: FloatArray | None = None
    members: IntArray | None = None
    income: IntArray | None = None
    cooperative: BoolArray | None = None
    established: npt.NDArray[np.datetime64] | None = None
    filed_by_pilot: BoolArray | None = None
    village: IntArray | None = None

    @property
    def n(self) -> int:
        return len(self.region)

    @property
    def state(self) -> FloatArray:
        """Creditworthiness at the start of each year (the year before's ``latent``).

        ``state[:, y]`` is what the entity was at December 31 of year ``y - 1``: it drives
        the defaults of year ``y``, and the records up to that day were drawn from it.
        """
        return np.concatenate([self.prior[:, None], self.latent[:, :-1]], axis=1)

    def subset(self, idx: IntArray) -> Segment:
        """The entities ``idx`` only (every per-entity array and column cut the same way)."""
        n = self.n
        changes: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == n:
                changes[f.name] = value[idx]
            elif isinstance(value, pl.Series):
                changes[f.name] = value.gather(idx)
            elif isinstance(value, pl.DataFrame):
                changes[f.name] = value[idx]
        return replace(self, **changes)  # type: ignore[arg-type]

    def clamp(
        self, entity: IntArray, dates: npt.NDArray[np.datetime64]
    ) -> npt.NDArray[np.datetime64]:
        """Move dates that fall before an entity's establishment onto that day."""
        if self.established is None:
            return dates
        return np.asarray(np.maximum(dates, self.established[entity]))


# --------------------------------------------------------------------------- codes


def org_check(values: IntArray) -> npt.NDArray[np.uint8]:
    """GB 11714 check characters for an ``(n, 8)`` matrix of organisation-code values."""
    c = 11 - (values @ _ORG_WEIGHTS) % 11
    return np.asarray(_ORG_CHECK[c], dtype=np.uint8)


def uscc_check(chars: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """GB 32100 check characters for an ``(n, 17)`` ASCII matrix."""
    total = _USCC_VALUE[chars] @ _USCC_WEIGHTS
    return np.asarray(_USCC_BYTES[(31 - total % 31) % 31], dtype=np.uint8)


def make_usccs(
    rng: np.random.Generator, division: npt.NDArray[np.str_], category: IntArray
) -> npt.NDArray[np.uint8]:
    """Valid unified social credit codes as an ``(n, 18)`` ASCII matrix (not yet unique)."""
    n = len(division)
    mat = np.empty((n, 18), dtype=np.uint8)
    mat[:, 0] = ord("9")
    mat[:, 1] = np.frombuffer(b"123", dtype=np.uint8)[category]
    mat[:, 2:8] = np.frombuffer(np.asarray(division, dtype="S6").tobytes(), dtype=np.uint8).reshape(
        n, 6
    )
    new_style = rng.random(n) < 0.6
    body = _USCC_BYTES[rng.integers(0, 31, (n, 8))]
    digits = np.frombuffer(b"0123456789", dtype=np.uint8)[rng.integers(0, 10, (n, 8))]
    body = np.where(new_style[:, None], body, digits)
    body[new_style, 0] = ord("M")
    body[new_style, 1] = ord("A")
    mat[:, 8:16] = body
    # GB 11714 values: digits 0-9, letters A=10 .. Z=35.
    org_values = np.where(body >= ord("A"), body.astype(np.int64) - 55, body.astype(np.int64) - 48)
    mat[:, 16] = org_check(org_values)
    mat[:, 17] = uscc_check(mat[:, :17])
    return mat


def unique_usccs(
    rng: np.random.Generator,
    division: npt.NDArray[np.str_],
    category: IntArray,
    *,
    exclude: npt.NDArray[np.bytes_] | None = None,
) -> npt.NDArray[np.uint8]:
    """Valid codes, unique among themselves and absent from ``exclude`` (``S18`` values)."""
    mat = make_usccs(rng, division, category)
    for _ in range(50):
        keys = mat.view("S18").ravel()
        _, first = np.unique(keys, return_index=True)
        dup = np.ones(len(keys), dtype=bool)
        dup[first] = False
        if exclude is not None:
            dup |= np.isin(keys, exclude)
        if not dup.any():
            return mat
        mat[dup] = make_usccs(rng, division[dup], category[dup])
    raise RuntimeError("could not draw unique credit codes")  # pragma: no cover


def resident_ids(
    rng: np.random.Generator, county: npt.NDArray[np.str_], birth: npt.NDArray[np.datetime64]
) -> npt.NDArray[np.uint8]:
    """Synthetic resident id numbers (GB 11643) as an ``(n, 18)`` ASCII matrix, unique."""
    n = len(county)
    mat = np.empty((n, 18), dtype=np.uint8)
    mat[:, :6] = np.frombuffer(np.asarray(county, dtype="S6").tobytes(), dtype=np.uint8).reshape(
        n, 6
    )
    ymd = np.datetime_as_string(birth, unit="D").astype("S10")
    raw = np.frombuffer(ymd.tobytes(), dtype=np.uint8).reshape(n, 10)
    mat[:, 6:14] = raw[:, [0, 1, 2, 3, 5, 6, 8, 9]]
    male = (rng.random(n) < 0.85).astype(np.int64)
    seq = 2 * rng.integers(0, 500, n) + male  # odd = male
    for _ in range(50):
        mat[:, 14:17] = digit_chars(seq, 3)
        keys = mat[:, :17].copy().view("S17").ravel()
        _, first = np.unique(keys, return_index=True)
        if len(first) == n:
            break
        redraw = np.ones(n, dtype=bool)
        redraw[first] = False
        seq[redraw] = 2 * rng.integers(0, 500, int(redraw.sum())) + male[redraw]
    total = (mat[:, :17].astype(np.int64) - 48) @ _ID_WEIGHTS
    mat[:, 17] = _ID_CHECK[total % 11]
    return mat


def _names(rng: np.random.Generator, n: int) -> pl.Series:
    s = pl.Series(_SURNAMES).gather(rng.integers(0, len(_SURNAMES), n))
    a = pl.Series(_STEMS).gather(rng.integers(0, len(_STEMS), n))
    b = pl.Series(_NUMERALS).gather(rng.integers(0, len(_NUMERALS), n))
    return pl.select(pl.concat_str([pl.lit(s), pl.lit(a), pl.lit(b)])).to_series()


# --------------------------------------------------------------------------- SMEs


def build_smes(rng: np.random.Generator, geog: Geography, cal: Calendar, n: int) -> Segment:
    """The enterprises: location, size, codes, dates and latent creditworthiness."""
    county_i = choose(rng, n, geog.sme_weight)
    region = geog.region[county_i]
    county = geog.county[county_i]
    city_code = np.array(geog.city_codes)[geog.city[county_i]]
    industry = choose(rng, n, _INDUSTRY_P)
    size = choose(rng, n, _SIZE_P)
    category = choose(rng, n, _CATEGORY_P)
    static = (
        rng.normal(0.0, SME_STATIC_SD, n)
        + geog.region_shift[region]
        + _SIZE_SHIFT[size]
        + _INDUSTRY_SHIFT[industry]
    )
    path = static[:, None] + ar1(rng, n, cal.n_years + 1, rho=SHOCK_RHO, sd=SME_SHOCK_SD)
    prior, latent = path[:, 0], path[:, 1:]
    # Tax discipline: mostly creditworthiness, partly a habit of its own.
    tax_discipline = 0.9 * latent + 0.45 * rng.normal(0.0, 1.0, n)[:, None]

    start = np.datetime64(cal.start.isoformat())
    span = int((np.datetime64(cal.end.isoformat()) - start).astype(np.int64)) + 1
    incumbent = rng.random(n) < 0.65
    before = start - np.ceil(rng.exponential(6.5 * 365.25, n)).astype(np.int64) - 1
    before = np.maximum(before, _EARLIEST_EST + rng.integers(0, 3650, n))
    entrant = start + rng.integers(0, span - 45, n)
    established = np.where(incumbent, before, entrant).astype("datetime64[D]")
    first = np.maximum(cal.month_of(established), 0)

    # Deregistration: a yearly hazard that rises with risk; at least two months after entry.
    hazard = logistic(-3.3 - 0.7 * latent)
    years = np.arange(cal.n_years)
    possible = (12 * years[None, :] + 11) >= (first[:, None] + 2)
    event = (rng.random((n, cal.n_years)) < hazard) & possible
    has = event.any(axis=1)
    dereg_year = np.argmax(event, axis=1)
    lo = np.maximum(12 * dereg_year, first + 2)
    month = lo + np.floor(rng.random(n) * (12 * dereg_year + 12 - lo)).astype(np.int64)
    dereg = np.where(has, cal.random_day(rng, month), np.datetime64("NaT"))
    stop = np.where(has, month, cal.n_months)

    codes = unique_usccs(rng, city_code, category)
    ids = ascii_series("credit_code", codes)
    capital = np.exp(rng.normal(np.log(_CAPITAL_MEDIAN[size]) + 0.2 * static, 0.9))
    capital = np.round(np.clip(capital, 1.0, 5e5), 1)
    city_zh = pl.Series([geo.CITIES[c].name_zh for c in geog.city_codes]).gather(
        geog.city[county_i]
    )
    trade = pl.Series(_TRADE_NAMES).gather(rng.integers(0, len(_TRADE_NAMES), n))
    word = pl.Series([_INDUSTRY_WORDS[s] for s in INDUSTRIES]).gather(industry)
    name = pl.select(
        pl.concat_str(
            [pl.lit(city_zh), pl.lit("模拟"), pl.lit(trade), pl.lit(word), pl.lit("有限公司")]
        )
    ).to_series()
    county_s = pl.Series("county_code", county)
    frame = pl.DataFrame(
        [
            ids,
            name.alias("name"),
            pl.Series("city_code", city_code),
            county_s,
            pl.Series("industry", INDUSTRIES).gather(industry),
            pl.Series("size_class", SIZE_CLASSES).gather(size),
            pl.Series("registered_capital", capital, dtype=pl.Float64),
            date_series("established_date", established),
            date_series("deregistered_date", dereg),
        ]
    )
    return Segment(
        kind="sme",
        ids=ids,
        county=county_s,
        region=region,
        first=first,
        stop=stop,
        latent=latent,
        prior=prior,
        size=size,
        frame=frame,
        tax_discipline=tax_discipline,
        established=established,
    )


# --------------------------------------------------------------------------- households


def _villages(
    rng: np.random.Generator, county_i: IntArray, geog: Geography
) -> tuple[IntArray, npt.NDArray[np.str_], npt.NDArray[np.str_]]:
    """Assign households to villages: returns village index, village and town codes."""
    n = len(county_i)
    village = np.empty(n, dtype=np.int64)
    village_codes: list[str] = []
    town_codes: list[str] = []
    order = np.argsort(county_i, kind="stable")
    counts = np.bincount(county_i, minlength=len(geog.county))
    pos = 0
    for ci, count in enumerate(counts):  # one pass per county (about 100)
        if count == 0:
            continue
        n_v = max(1, round(count / HOUSEHOLDS_PER_VILLAGE))
        n_t = max(1, int(np.ceil(n_v / 4)))
        share = rng.dirichlet(np.full(n_v, 8.0))
        local = choose(rng, int(count), share)
        village[order[pos : pos + count]] = len(village_codes) + local
        pos += int(count)
        county = str(geog.county[ci])
        per_town = int(np.ceil(n_v / n_t))
        for v in range(n_v):
            town = f"{county}{v // per_town + 1:03d}"
            town_codes.append(town)
            village_codes.append(f"{town}{200 + v % per_town + 1:03d}")
    return village, np.array(village_codes), np.array(town_codes)


def registration_months(
    rng: np.random.Generator,
    treated: BoolArray,
    cal: Calendar,
    *,
    effect: float,
    pilot_month: int,
) -> tuple[IntArray, BoolArray]:
    """Month index of each household's credit file (negative: before the data start).

    Control regions follow one common path from ``REGISTERED_BEFORE_START`` to every
    household by the last month. Pilot regions follow the same path ``effect`` lower
    until the pilot month, when the households that would otherwise still lack a file
    at the end (the top ``effect`` share) all get one: the share with a file is then
    exactly ``effect`` higher than the counterfactual from the pilot month on.
    """
    n = len(treated)
    u = rng.random(n)
    f0 = REGISTERED_BEFORE_START
    step = (1.0 - f0) / cal.n_months
    shift = np.where(treated, effect, 0.0)
    # Month m has F(m) = f0 - shift + step * (m + 1); registered at the first m with F >= u.
    m = np.ceil((u - f0 + shift) / step).astype(np.int64) - 1
    m = np.where(u <= f0 - shift, -1, m)
    batch = treated & (u > 1.0 - effect)
    return np.where(batch, pilot_month, np.minimum(m, cal.n_months - 1)), batch


def build_households(
    rng: np.random.Generator,
    geog: Geography,
    cal: Calendar,
    n: int,
    *,
    pilot: BoolArray,
    pilot_month: int,
    effect_rated: float,
) -> Segment:
    """The rural households: location, ids, head, farm and latent creditworthiness."""
    county_i = choose(rng, n, geog.household_weight)
    order = np.lexsort((rng.random(n), county_i))
    county_i = county_i[order]
    region = geog.region[county_i]
    county = geog.county[county_i]
    village, village_codes, town_codes = _villages(rng, county_i, geog)
    order = np.argsort(village, kind="stable")
    county_i, region, county, village = (
        county_i[order],
        region[order],
        county[order],
        village[order],
    )
    starts = np.searchsorted(village, village, side="left")
    seq = np.arange(n, dtype=np.int64) - starts + 1
    village_code = village_codes[village]
    vmat = np.frombuffer(np.asarray(village_code, dtype="S12").tobytes(), dtype=np.uint8).reshape(
        n, 12
    )
    hid = np.concatenate([np.full((n, 1), ord("H"), dtype=np.uint8), vmat, digit_chars(seq, 4)], 1)
    ids = ascii_series("household_id", hid)

    village_shift = rng.normal(0.0, HH_VILLAGE_SD, len(village_codes))
    static = rng.normal(0.0, HH_STATIC_SD, n) + geog.region_shift[region] + village_shift[village]
    path = static[:, None] + ar1(rng, n, cal.n_years + 1, rho=SHOCK_RHO, sd=HH_SHOCK_SD)
    prior, latent = path[:, 0], path[:, 1:]
    income = choose_rows(rng, _INCOME_P[None, :] * np.exp(_INCOME_BETA[None, :] * static[:, None]))
    members = np.minimum(1 + rng.poisson(2.8, n), 12)
    lab_p = np.clip(0.55 + 0.15 * static, 0.2, 0.9)
    labourers = rng.binomial(members, lab_p)
    farming = income <= 2
    no_land = rng.random(n) < np.where(farming, 0.03, 0.25)
    land = np.exp(rng.normal(np.log(_LAND_MEDIAN[income]) + 0.8 * static, 0.4))
    land = np.where(no_land, 0.0, np.round(np.clip(land, 0.1, 200.0), 1))
    coop = rng.random(n) < logistic(-1.2 + 1.5 * static + 0.5 * farming)

    birth_lo = np.datetime64("1940-01-01")
    birth_span = int((np.datetime64("1990-12-31") - birth_lo).astype(np.int64))
    birth = birth_lo + rng.integers(0, birth_span + 1, n)
    head_id = ascii_series("head_id_number", resident_ids(rng, county, birth))

    reg_month, batch = registration_months(
        rng, pilot[region], cal, effect=effect_rated, pilot_month=pilot_month
    )
    early = np.datetime64("2003-01-01")
    early_span = int((np.datetime64(cal.start.isoformat()) - early).astype(np.int64))
    reg_date = np.where(
        reg_month < 0,
        early + rng.integers(0, early_span, n),
        cal.random_day(rng, np.maximum(reg_month, 0)),
    )
    # The pilot campaign's batch carries the pilot start date itself.
    reg_date = np.where(batch, cal.month_start(pilot_month), reg_date)

    county_s = pl.Series("county_code", county)
    city_code = np.array(geog.city_codes)[geog.city[county_i]]
    frame = pl.DataFrame(
        [
            ids,
            head_id,
            _names(rng, n).alias("head_name"),
            pl.Series("city_code", city_code),
            county_s,
            pl.Series("town_code", town_codes[village]),
            pl.Series("village_code", village_code),
            pl.Series("members", members, dtype=pl.Int64),
            pl.Series("labourers", labourers, dtype=pl.Int64),
            pl.Series("land_area", land, dtype=pl.Float64),
            pl.Series("main_income_source", INCOME_SOURCES).gather(income),
            pl.Series("cooperative_member", coop, dtype=pl.Boolean),
            date_series("registered_date", reg_date),
        ]
    )
    return Segment(
        kind="household",
        ids=ids,
        county=county_s,
        region=region,
        first=np.zeros(n, dtype=np.int64),
        stop=np.full(n, cal.n_months, dtype=np.int64),
        latent=latent,
        prior=prior,
        size=np.zeros(n, dtype=np.int64),
        frame=frame,
        registered_month=reg_month,
        land=land,
        members=members,
        income=income,
        cooperative=coop,
        filed_by_pilot=batch,
        village=village,
    )


def pilot_mask(pilot_regions: tuple[str, ...]) -> BoolArray:
    """Boolean per ``geo.REGION_CODES`` entry: is the region a pilot region?"""
    return np.array([r in pilot_regions for r in geo.REGION_CODES])
