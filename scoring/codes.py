"""Identifier rules: unified social credit codes and resident id numbers.

- Unified social credit code (GB 32100-2015), 18 characters: registration
  authority (1) + organisation category (1) + division code (6) + organisation
  code (9, GB 11714, with its own check digit) + check character. The check
  character uses weights ``3**i mod 31`` over the alphabet ``0-9 A-H J-N P-R T U W X Y``.
- Resident id number (GB 11643-1999), 18 characters: division (6) + birth date (8)
  + sequence (3) + check (ISO 7064 MOD 11-2, ``X`` for 10).

Scalar functions build and check one code; the ``*_valid_expr`` functions return
polars expressions that check a whole column at once (no Python loop over rows).

Examples
--------
>>> uscc_check_char("91440300MA5D0Y2X2") in USCC_ALPHABET
True
>>> is_valid_resident_id("11010519491231002X")
True
>>> is_valid_resident_id("110105194912310021")
False
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from scoring.exceptions import DataError

__all__ = [
    "USCC_ALPHABET",
    "is_valid_org_code",
    "is_valid_resident_id",
    "is_valid_uscc",
    "mask_resident_id",
    "org_code_check_char",
    "org_code_valid_expr",
    "resident_id_check_char",
    "resident_id_valid_expr",
    "uscc_check_char",
    "uscc_valid_expr",
]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters of GB 32100 (no I, O, S, V, Z)."""

_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))

_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_VALUE = {ch: i for i, ch in enumerate(_ORG_ALPHABET)}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_CHECK = "10X98765432"  # index: weighted sum mod 11


def uscc_check_char(first17: str) -> str:
    """Check character (18th) of a unified social credit code.

    Examples
    --------
    >>> uscc_check_char("91350100M000100Y4")
    '3'
    """
    if len(first17) != 17 or any(ch not in _USCC_VALUE for ch in first17):
        raise DataError(f"'first17' must be 17 characters of {USCC_ALPHABET}; got {first17!r}.")
    total = sum(_USCC_VALUE[ch] * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    """Check character (9th) of an organisation code (GB 11714).

    Examples
    --------
    >>> org_code_check_char("D2143569")
    'X'
    """
    if len(first8) != 8 or any(ch not in _ORG_VALUE for ch in first8):
        raise DataError(f"'first8' must be 8 characters of 0-9 A-Z; got {first8!r}.")
    total = sum(_ORG_VALUE[ch] * w for ch, w in zip(first8, _ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def resident_id_check_char(first17: str) -> str:
    """Check character of a resident id number (GB 11643, ISO 7064 MOD 11-2).

    Examples
    --------
    >>> resident_id_check_char("11010519491231002")
    'X'
    """
    if len(first17) != 17 or not first17.isdigit():
        raise DataError(f"'first17' must be 17 digits; got {first17!r}.")
    total = sum(int(ch) * w for ch, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_valid_org_code(code: str) -> bool:
    """Whether a 9-character organisation code has a correct check character.

    Examples
    --------
    >>> is_valid_org_code("D2143569X")
    True
    """
    if len(code) != 9 or any(ch not in _ORG_VALUE for ch in code[:8]):
        return False
    return org_code_check_char(code[:8]) == code[8]


def is_valid_uscc(code: str) -> bool:
    """Whether an 18-character unified social credit code is well formed.

    Checks the alphabet, the embedded organisation code's check character and
    the final check character.

    Examples
    --------
    >>> is_valid_uscc("91350100M000100Y43")
    True
    >>> is_valid_uscc("91350100M000100Y44")
    False
    """
    if len(code) != 18 or any(ch not in _USCC_VALUE for ch in code):
        return False
    return is_valid_org_code(code[8:17]) and uscc_check_char(code[:17]) == code[17]


def is_valid_resident_id(code: str) -> bool:
    """Whether an 18-character string is a well-formed resident id number.

    Checks the province part of the division code (11-82), the birth date (a real
    date in 1900-2099) and the check character. The date check keeps 18-digit
    credit codes from passing as id numbers by chance.

    Examples
    --------
    >>> is_valid_resident_id("440524198001010013")
    True
    >>> is_valid_resident_id("914403001234567890")
    False
    """
    if len(code) != 18 or not code[:17].isdigit():
        return False
    if not 11 <= int(code[:2]) <= 82:
        return False
    try:
        born = dt.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        return False
    if not 1900 <= born.year <= 2099:
        return False
    return resident_id_check_char(code[:17]) == code[17].upper()


def mask_resident_id(code: str) -> str:
    """Mask a resident id number for display: keep the first 3 and last 2 characters.

    Examples
    --------
    >>> mask_resident_id("11010519491231002X")
    '110*************2X'
    """
    return code[:3] + "*" * (len(code) - 5) + code[-2:] if len(code) > 5 else "*" * len(code)


def _char_values(col: pl.Expr, alphabet: str, positions: range) -> list[pl.Expr]:
    mapping = {ch: i for i, ch in enumerate(alphabet)}
    return [
        col.str.slice(i, 1).replace_strict(mapping, default=None, return_dtype=pl.Int64)
        for i in positions
    ]


def _weighted(values: list[pl.Expr], weights: tuple[int, ...]) -> pl.Expr:
    total = pl.lit(0, dtype=pl.Int64)
    for v, w in zip(values, weights, strict=True):
        total = total + v * w
    return total


def org_code_valid_expr(col: pl.Expr) -> pl.Expr:
    """Polars expression: is each 9-character organisation code valid?

    Nulls and malformed codes give ``False``.

    Examples
    --------
    >>> df = pl.DataFrame({"c": ["D2143569X", "D21435691", None]})
    >>> df.select(org_code_valid_expr(pl.col("c"))).to_series().to_list()
    [True, False, False]
    """
    values = _char_values(col, _ORG_ALPHABET, range(8))
    c = 11 - _weighted(values, _ORG_WEIGHTS) % 11
    expected = (
        pl.when(c == 10)
        .then(pl.lit("X"))
        .when(c == 11)
        .then(pl.lit("0"))
        .otherwise(c.cast(pl.String))
    )
    ok = (col.str.len_chars() == 9) & (col.str.slice(8, 1) == expected)
    return ok.fill_null(False)


def uscc_valid_expr(col: pl.Expr) -> pl.Expr:
    """Polars expression: is each unified social credit code valid?

    Examples
    --------
    >>> df = pl.DataFrame({"c": ["91350100M000100Y43", "91350100M000100Y44", "short"]})
    >>> df.select(uscc_valid_expr(pl.col("c"))).to_series().to_list()
    [True, False, False]
    """
    values = _char_values(col, USCC_ALPHABET, range(18))
    total = _weighted(values[:17], _USCC_WEIGHTS)
    check_ok = values[17] == (31 - total % 31) % 31
    ok = (col.str.len_chars() == 18) & check_ok & org_code_valid_expr(col.str.slice(8, 9))
    return ok.fill_null(False)


def resident_id_valid_expr(col: pl.Expr) -> pl.Expr:
    """Polars expression: is each value a well-formed resident id number?

    The same checks as :func:`is_valid_resident_id`: province, birth date, check character.

    Examples
    --------
    >>> df = pl.DataFrame({"c": ["11010519491231002X", "110105194912310021"]})
    >>> df.select(resident_id_valid_expr(pl.col("c"))).to_series().to_list()
    [True, False]
    """
    values = _char_values(col, "0123456789", range(17))
    total = _weighted(values, _ID_WEIGHTS)
    expected = total % 11
    check_map = {i: ch for i, ch in enumerate(_ID_CHECK)}
    expected_ch = expected.replace_strict(check_map, return_dtype=pl.String)
    born = col.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    province = col.str.slice(0, 2).cast(pl.Int64, strict=False)
    ok = (
        (col.str.len_chars() == 18)
        & province.is_between(11, 82)
        & born.dt.year().is_between(1900, 2099)
        & (col.str.slice(17, 1).str.to_uppercase() == expected_ch)
    )
    return ok.fill_null(False)
