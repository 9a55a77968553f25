"""The province: cities, counties, towns, villages and pilot membership.

Guangdong's 21 prefecture-level cities carry their real GB/T 2260 division codes.
Shunde district (440606), a pilot region of its own inside Foshan, is a *region*
beside the 21 cities, so the pilot evaluation works on 22 regions: the 21 cities
(Foshan without Shunde) and Shunde.

Counties, towns and villages beneath the cities are synthetic, except Foshan's five
real districts. Codes nest: county = 6 digits, town = county + 3 digits,
village = town + 3 digits.

Examples
--------
>>> CITIES["440100"].name_zh
'广州'
>>> region_of_county("440606")
'440606'
>>> region_of_county("440605")
'440600'
>>> len(REGION_CODES)
22
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from scoring.exceptions import UnknownRegionError

__all__ = [
    "CITIES",
    "REGION_CODES",
    "SHUNDE",
    "City",
    "check_region_codes",
    "county_codes",
    "region_name",
    "region_of_county",
    "regions_frame",
]

SHUNDE = "440606"
"""Shunde district, a pilot region inside Foshan (440600)."""


@dataclass(frozen=True, slots=True)
class City:
    """A prefecture-level city with rough weights for the synthetic province.

    ``sme_weight`` follows the relative number of enterprises, ``household_weight``
    the relative rural population; both only shape the synthetic data.
    """

    code: str
    name_zh: str
    name_en: str
    sme_weight: float
    household_weight: float
    n_counties: int


_CITY_ROWS: tuple[City, ...] = (
    City("440100", "广州", "Guangzhou", 12.0, 2.5, 6),
    City("440200", "韶关", "Shaoguan", 0.5, 3.0, 5),
    City("440300", "深圳", "Shenzhen", 20.0, 0.2, 6),
    City("440400", "珠海", "Zhuhai", 1.5, 0.5, 3),
    City("440500", "汕头", "Shantou", 1.2, 3.5, 5),
    City("440600", "佛山", "Foshan", 4.5, 1.5, 5),
    City("440700", "江门", "Jiangmen", 1.3, 3.0, 5),
    City("440800", "湛江", "Zhanjiang", 0.9, 7.0, 6),
    City("440900", "茂名", "Maoming", 0.7, 6.5, 5),
    City("441200", "肇庆", "Zhaoqing", 0.7, 3.5, 5),
    City("441300", "惠州", "Huizhou", 1.7, 3.0, 5),
    City("441400", "梅州", "Meizhou", 0.5, 4.5, 6),
    City("441500", "汕尾", "Shanwei", 0.3, 2.5, 4),
    City("441600", "河源", "Heyuan", 0.4, 3.0, 5),
    City("441700", "阳江", "Yangjiang", 0.4, 2.5, 4),
    City("441800", "清远", "Qingyuan", 0.5, 4.0, 6),
    City("441900", "东莞", "Dongguan", 6.0, 0.5, 4),
    City("442000", "中山", "Zhongshan", 2.0, 0.8, 4),
    City("445100", "潮州", "Chaozhou", 0.5, 2.0, 3),
    City("445200", "揭阳", "Jieyang", 0.7, 5.0, 5),
    City("445300", "云浮", "Yunfu", 0.3, 2.5, 4),
)

CITIES: dict[str, City] = {c.code: c for c in _CITY_ROWS}
"""The 21 prefecture-level cities by GB/T 2260 code."""

# Foshan's real districts; Shunde is one of them.
_FOSHAN_DISTRICTS = ("440604", "440605", "440606", "440607", "440608")

REGION_CODES: tuple[str, ...] = (*sorted(CITIES), SHUNDE)
"""The 22 regions of the pilot evaluation: 21 cities and Shunde."""

_REGION_NAMES: dict[str, tuple[str, str]] = {
    **{c.code: (c.name_zh, c.name_en) for c in _CITY_ROWS},
    SHUNDE: ("顺德区", "Shunde"),
}


def county_codes(city_code: str) -> tuple[str, ...]:
    """County-level division codes of a city (synthetic except Foshan's districts).

    Examples
    --------
    >>> county_codes("440600")
    ('440604', '440605', '440606', '440607', '440608')
    >>> county_codes("440400")
    ('440401', '440402', '440403')
    """
    if city_code not in CITIES:
        raise UnknownRegionError(
            f"'city_code' must be one of the 21 Guangdong city codes; got {city_code!r}."
        )
    if city_code == "440600":
        return _FOSHAN_DISTRICTS
    n = CITIES[city_code].n_counties
    return tuple(f"{city_code[:4]}{k:02d}" for k in range(1, n + 1))


def region_of_county(county_code: str) -> str:
    """The evaluation region of a county: Shunde itself, else its city.

    Examples
    --------
    >>> region_of_county("440103")
    '440100'
    """
    if county_code == SHUNDE:
        return SHUNDE
    city = county_code[:4] + "00"
    if city not in CITIES:
        raise UnknownRegionError(
            f"'county_code' must lie in a Guangdong city; got {county_code!r}."
        )
    return city


def region_name(code: str) -> str:
    """Bilingual name of a region, e.g. ``'广州 Guangzhou'``.

    Examples
    --------
    >>> region_name("440606")
    '顺德区 Shunde'
    """
    try:
        zh, en = _REGION_NAMES[code]
    except KeyError:
        raise UnknownRegionError(
            f"'region' must be one of the 22 pilot-evaluation regions; got {code!r}."
        ) from None
    return f"{zh} {en}"


def check_region_codes(codes: tuple[str, ...] | list[str], *, what: str) -> tuple[str, ...]:
    """Return ``codes`` as a tuple after checking each is a known region.

    Examples
    --------
    >>> check_region_codes(["440100", "440606"], what="pilot_regions")
    ('440100', '440606')
    """
    unknown = [c for c in codes if c not in _REGION_NAMES]
    if unknown:
        raise UnknownRegionError(
            f"'{what}' must hold region codes of Guangdong (21 cities and Shunde 440606); "
            f"got unknown {unknown!r}."
        )
    return tuple(codes)


def regions_frame(pilot_regions: tuple[str, ...] = ()) -> pl.DataFrame:
    """The 22 regions as a table: code, Chinese and English name, pilot flag.

    Examples
    --------
    >>> regions_frame(("440100",)).filter(pl.col("pilot")).get_column("name_en").to_list()
    ['Guangzhou']
    """
    return pl.DataFrame(
        {
            "region_code": list(REGION_CODES),
            "name_zh": [_REGION_NAMES[c][0] for c in REGION_CODES],
            "name_en": [_REGION_NAMES[c][1] for c in REGION_CODES],
            "pilot": [c in pilot_regions for c in REGION_CODES],
        }
    )
