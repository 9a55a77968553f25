from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.codes import (
    USCC_ALPHABET,
    is_valid_org_code,
    is_valid_resident_id,
    is_valid_uscc,
    org_code_check_char,
    resident_id_check_char,
    resident_id_valid_expr,
    uscc_check_char,
    uscc_valid_expr,
)
from scoring.exceptions import DataError

# Published examples: the GB 32100 sample code, the GB 11714 sample organisation
# code and the GB 11643 sample id number.
PUBLISHED_USCC = ["91350100M000100Y43"]
PUBLISHED_ORG = ["D2143569X"]
PUBLISHED_ID = ["11010519491231002X"]


@pytest.mark.parametrize("code", PUBLISHED_USCC)
def test_published_uscc_is_valid(code: str) -> None:
    assert is_valid_uscc(code)


@pytest.mark.parametrize("code", PUBLISHED_ORG)
def test_published_org_code_is_valid(code: str) -> None:
    assert is_valid_org_code(code)


@pytest.mark.parametrize("code", PUBLISHED_ID)
def test_published_resident_id_is_valid(code: str) -> None:
    assert is_valid_resident_id(code)


_ORG_BODY = st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8)
_USCC_HEAD = st.tuples(
    st.sampled_from("9"), st.sampled_from("123"), st.sampled_from(["440100", "440606", "445300"])
)


def _make_uscc(head: tuple[str, str, str], body: str) -> str:
    org = body + org_code_check_char(body)
    first17 = "".join(head) + org
    return first17 + uscc_check_char(first17)


@given(_USCC_HEAD, _ORG_BODY)
def test_built_uscc_validates_scalar_and_vectorised(head: tuple[str, str, str], body: str) -> None:
    code = _make_uscc(head, body)
    # The organisation check may yield characters outside the USCC alphabet
    # (e.g. 'X' is inside, but none of its results are I, O, S, V or Z).
    assert is_valid_uscc(code)
    got = pl.DataFrame({"c": [code]}).select(uscc_valid_expr(pl.col("c"))).item()
    assert got is True


@given(_USCC_HEAD, _ORG_BODY, st.integers(0, 17), st.sampled_from(USCC_ALPHABET))
def test_one_changed_character_is_caught(
    head: tuple[str, str, str], body: str, pos: int, ch: str
) -> None:
    code = _make_uscc(head, body)
    changed = code[:pos] + ch + code[pos + 1 :]
    if changed == code:
        return
    # A single substitution always breaks the mod-31 check (31 is prime, weights non-zero).
    assert not is_valid_uscc(changed)
    got = pl.DataFrame({"c": [changed]}).select(uscc_valid_expr(pl.col("c"))).item()
    assert got is False


_ID_HEAD = st.builds(
    lambda prov, rest, born, seq: f"{prov:02d}{rest:04d}{born:%Y%m%d}{seq:03d}",
    st.integers(11, 82),
    st.integers(0, 9999),
    st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)),
    st.integers(0, 999),
)


@given(_ID_HEAD)
def test_resident_id_check_round_trip(first17: str) -> None:
    code = first17 + resident_id_check_char(first17)
    assert is_valid_resident_id(code)
    assert pl.DataFrame({"c": [code]}).select(resident_id_valid_expr(pl.col("c"))).item()
    wrong = first17 + ("0" if code[-1] != "0" else "1")
    assert not is_valid_resident_id(wrong)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_scalar_and_vectorised_resident_id_checks_agree(first17: str) -> None:
    code = first17 + resident_id_check_char(first17)
    vectorised = pl.DataFrame({"c": [code]}).select(resident_id_valid_expr(pl.col("c"))).item()
    assert vectorised is is_valid_resident_id(code)


def test_impossible_birth_dates_and_provinces_are_not_id_numbers() -> None:
    for first17 in ("44052419800230001", "00052419800101001", "44052418000101001"):
        code = first17 + resident_id_check_char(first17)
        assert not is_valid_resident_id(code), code


def test_vectorised_handles_nulls_and_garbage() -> None:
    df = pl.DataFrame(
        {"c": [None, "", "91350100M000100Y4", "91350100M000100Y43", "9135010OM000100Y43"]}
    )
    assert df.select(uscc_valid_expr(pl.col("c"))).to_series().to_list() == [
        False,
        False,
        False,
        True,
        False,
    ]


def test_bad_input_to_check_functions_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="'first17' must be 17 characters"):
        uscc_check_char("123")
    with pytest.raises(DataError, match="'first17' must be 17 digits"):
        resident_id_check_char("1234567890123456A")
