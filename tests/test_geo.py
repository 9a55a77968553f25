from __future__ import annotations

import pytest

from scoring.exceptions import UnknownRegionError
from scoring.geo import (
    CITIES,
    REGION_CODES,
    SHUNDE,
    check_region_codes,
    county_codes,
    region_name,
    region_of_county,
    regions_frame,
)


def test_twenty_one_cities_with_real_codes() -> None:
    assert len(CITIES) == 21
    assert CITIES["440300"].name_zh == "深圳"
    assert CITIES["445300"].name_en == "Yunfu"
    assert all(code.startswith("44") and code.endswith("00") for code in CITIES)


def test_shunde_is_a_region_inside_foshan() -> None:
    assert SHUNDE in county_codes("440600")
    assert region_of_county(SHUNDE) == SHUNDE
    assert region_of_county("440605") == "440600"
    assert len(REGION_CODES) == 22


def test_counties_nest_under_their_city() -> None:
    for city in CITIES:
        for county in county_codes(city):
            assert county[:4] == city[:4]
            assert region_of_county(county) in (city, SHUNDE)


def test_unknown_regions_are_refused_with_the_code() -> None:
    with pytest.raises(UnknownRegionError, match="'pilot' must hold region codes.*'999999'"):
        check_region_codes(["440100", "999999"], what="pilot")
    with pytest.raises(UnknownRegionError, match="got '450102'"):
        region_of_county("450102")
    with pytest.raises(UnknownRegionError):
        region_name("000000")
    with pytest.raises(UnknownRegionError):
        county_codes("440000")


def test_regions_frame_marks_pilots() -> None:
    df = regions_frame(("440100", SHUNDE))
    assert df.height == 22
    assert sorted(df.filter(df["pilot"])["region_code"].to_list()) == ["440100", SHUNDE]
