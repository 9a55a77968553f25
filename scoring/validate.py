"""Validation of the raw department records, the validation report, and quarantine.

Two halves, kept apart:

- **Checks** (:func:`validate_records`, :func:`validate_frames`) read the tables of
  :data:`scoring.schema.TABLES` and return a :class:`ValidationReport`; they write nothing.
  Every check is a polars expression over a whole column (no Python loop over rows):
  columns and types, nulls, code lists (and banks, tax deduction indicators and region
  codes from the configuration and :mod:`scoring.geo`), check characters of credit codes
  and resident id numbers, date ranges and date order, value ranges (wrong units),
  referential integrity, duplicate record ids and duplicate submissions, and, as
  warnings, missing months in monthly series and late filings.
- **Writing** (:func:`write_validated`) puts the clean rows in ``paths.validated`` and,
  in quarantine mode, the rows with errors in ``paths.quarantine/<table>.parquet`` with a
  ``reasons`` column, each folder built under a temporary name and renamed into place.
  Rows in = rows validated + rows quarantined, checked on the written files.

Later steps call :func:`require_validated` and refuse to run on records that were not
validated.

Severities: ``error`` (the row cannot be used: it is quarantined or blocks the run),
``warning`` (worth a look, the rows are kept) and ``info`` (facts of the records such
as late filings, which the tax rating uses).

Examples
--------
>>> import polars as pl
>>> from scoring.config import load_config
>>> frames = {"enterprises": pl.DataFrame({"credit_code": ["91350100M000100Y44"]})}
>>> report = validate_frames(frames, config=load_config(), tables=["enterprises"])
>>> report.ok
False
>>> sorted({p.check for p in report.errors})
['check_char', 'missing_column']
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import polars as pl
from rich.table import Table as RichTable

from scoring.codes import resident_id_valid_expr, uscc_valid_expr
from scoring.config import WorkbenchConfig
from scoring.exceptions import ConfigError, DataError, InputFileError, ValidationFailed
from scoring.geo import CITIES, county_codes
from scoring.progress import track
from scoring.schema import TABLES, Table
from scoring.storage import atomic_dir, find_table, scan_table, write_json

__all__ = [
    "REPORT_NAME",
    "Problem",
    "Severity",
    "TableCheck",
    "ValidatedOutput",
    "ValidationReport",
    "report_table",
    "require_validated",
    "validate_frames",
    "validate_records",
    "write_report",
    "write_validated",
]

Severity = Literal["error", "warning", "info"]

REPORT_NAME = "validation_report.json"
"""File name of the JSON report written next to the validated tables."""

_ROW = "__row__"
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
# Dates outside this window are impossible for any record of the pilot (e.g. 1900-01-01
# placeholders); columns with their own lo/hi in the schema use those instead.
_PLAUSIBLE_DATES = (dt.date(1949, 10, 1), dt.date(2099, 12, 31))
_MONTHLY_DATES = ("month", "period")
# Parents come before the tables that refer to them; disputes refer to any table.
_ENTITY_TABLES = {
    "sme": ("enterprises", "credit_code"),
    "household": ("households", "household_id"),
}
_TRUE = ("true", "t", "1", "yes", "y")
_FALSE = ("false", "f", "0", "no", "n")
_EXTRA_CHECK = re.compile(r"^\s*(\w+)\s*(>=|<=|>|<|==)\s*(\w+)\s*$")
_OPS = {">=": "before", ">": "not after", "<=": "after", "<": "not before", "==": "different from"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True, slots=True)
class Problem:
    """One kind of problem in one column of one table, with the rows that have it.

    ``row_ids`` are values of ``id_column`` (the table's record id, or the entity for
    series-level problems such as missing months); ``row_numbers`` count data rows of
    the file from 1 (in a CSV file, row ``n`` is on line ``n + 1``). Both lists are
    capped; ``count`` is the full number of rows (or months) affected.
    """

    table: str
    column: str
    check: str
    severity: Severity
    problem: str
    expected: str
    count: int
    id_column: str = ""
    row_ids: tuple[str, ...] = ()
    row_numbers: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The problem as a JSON-ready dict.

        Examples
        --------
        >>> p = Problem("loans", "bank_code", "code", "error", "unknown bank code", "GDRCU", 1)
        >>> p.to_dict()["severity"]
        'error'
        """
        return {
            "table": self.table,
            "column": self.column,
            "check": self.check,
            "severity": self.severity,
            "problem": self.problem,
            "expected": self.expected,
            "count": self.count,
            "id_column": self.id_column,
            "row_ids": list(self.row_ids),
            "row_numbers": list(self.row_numbers),
        }


@dataclass(frozen=True, slots=True)
class _Source:
    """Where a table's rows come from: a file (read again when writing) or a frame."""

    name: str
    path: Path | None
    frame: pl.DataFrame | None
    size: int | None
    mtime_ns: int | None

    @classmethod
    def of_file(cls, name: str, path: Path) -> _Source:
        st = path.stat()
        return cls(name, path, None, st.st_size, st.st_mtime_ns)

    @property
    def label(self) -> str:
        return str(self.path) if self.path is not None else f"<frame {self.name}>"

    @property
    def is_csv(self) -> bool:
        return self.path is not None and self.path.suffix == ".csv"

    def scan(self) -> pl.LazyFrame:
        if self.frame is not None:
            return self.frame.lazy()
        assert self.path is not None  # one of the two is always set
        return scan_table(self.path)

    def check_unchanged(self) -> None:
        if self.path is None:
            return
        st = self.path.stat() if self.path.exists() else None
        if st is None or (st.st_size, st.st_mtime_ns) != (self.size, self.mtime_ns):
            raise ValidationFailed(
                f"'{self.path}' must not change between validation and writing; "
                "it changed, so validate again."
            )


@dataclass(frozen=True, slots=True)
class TableCheck:
    """The outcome of validating one table.

    ``rejected`` holds one row per data row with errors: ``row`` (1-based row number)
    and ``reasons`` (a list of ``"<column>: <problem>"``). ``structural`` lists errors
    that setting rows aside cannot fix (a missing column, a column of an unusable type).
    """

    name: str
    rows: int
    rejected: pl.DataFrame
    structural: tuple[str, ...]
    source: _Source = field(repr=False)

    @property
    def path(self) -> Path | None:
        """The file the table was read from (``None`` for an in-memory frame)."""
        return self.source.path

    @property
    def error_rows(self) -> int:
        """Number of rows with at least one error."""
        return self.rejected.height


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Everything validation found, per table and per problem.

    Examples
    --------
    >>> r = ValidationReport(folder=None, tables={}, problems=())
    >>> r.ok, r.headline()
    (True, 'validation passed: 0 rows in 0 tables, no errors.')
    """

    folder: Path | None
    tables: Mapping[str, TableCheck]
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Problems of severity ``error``."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """Problems of severity ``warning``."""
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        """Whether no error was found."""
        return not self.errors

    @property
    def structural(self) -> dict[str, tuple[str, ...]]:
        """Tables with errors that quarantining rows cannot fix, with those errors."""
        return {n: t.structural for n, t in self.tables.items() if t.structural}

    def headline(self) -> str:
        """One line that sums the report up."""
        n_rows = sum(t.rows for t in self.tables.values())
        if self.ok:
            return f"validation passed: {n_rows} rows in {len(self.tables)} tables, no errors."
        bad_rows = sum(t.error_rows for t in self.tables.values())
        first = "; ".join(
            f"{p.table}.{p.column}: {p.problem} ({p.count})"
            if p.column
            else f"{p.table}: {p.problem}"
            for p in self.errors[:3]
        )
        more = f"; and {len(self.errors) - 3} more" if len(self.errors) > 3 else ""
        n_tables = len({p.table for p in self.errors})
        return (
            f"validation found {_plural(len(self.errors), 'kind')} of error in "
            f"{_plural(n_tables, 'table')} ({_plural(bad_rows, 'row')} with errors): "
            f"{first}{more}"
        )

    def summary(self, *, examples: int = 3) -> pl.DataFrame:
        """One row per problem: table, column, problem, severity, count, example ids.

        Examples
        --------
        >>> ValidationReport(folder=None, tables={}, problems=()).summary().columns
        ['table', 'column', 'problem', 'severity', 'count', 'examples']
        """
        return pl.DataFrame(
            {
                "table": [p.table for p in self.problems],
                "column": [p.column for p in self.problems],
                "problem": [p.problem for p in self.problems],
                "severity": [p.severity for p in self.problems],
                "count": [p.count for p in self.problems],
                "examples": [", ".join(p.row_ids[:examples]) for p in self.problems],
            },
            schema={
                "table": pl.String,
                "column": pl.String,
                "problem": pl.String,
                "severity": pl.String,
                "count": pl.Int64,
                "examples": pl.String,
            },
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict (what :func:`write_report` writes)."""
        return {
            "folder": str(self.folder) if self.folder is not None else None,
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "error_rows": sum(t.error_rows for t in self.tables.values()),
            "tables": {
                n: {
                    "file": str(t.path) if t.path is not None else None,
                    "size": t.source.size,
                    "mtime_ns": t.source.mtime_ns,
                    "rows": t.rows,
                    "error_rows": t.error_rows,
                    "structural": list(t.structural),
                }
                for n, t in self.tables.items()
            },
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass(frozen=True, slots=True)
class ValidatedOutput:
    """What :func:`write_validated` wrote: folders, report and counts per table.

    ``counts`` maps a table to ``(rows_in, rows_validated, rows_quarantined)``.
    """

    validated_dir: Path
    quarantine_dir: Path
    report_path: Path
    counts: Mapping[str, tuple[int, int, int]]

    @property
    def quarantined(self) -> int:
        """Rows set aside in all tables."""
        return sum(q for _, _, q in self.counts.values())

    @property
    def validated(self) -> int:
        """Rows written to the validated folder in all tables."""
        return sum(v for _, v, _ in self.counts.values())


@dataclass(frozen=True, slots=True)
class _Check:
    column: str
    check: str
    severity: Severity
    problem: str
    expected: str
    flag: pl.Expr


# --------------------------------------------------------------------------- reading


def _table_order(names: Iterable[str]) -> list[str]:
    """Entities first, then loans, then records referring to them, disputes last."""
    rank = {"enterprises": 0, "households": 0, "loans": 1, "loan_repayments": 3, "disputes": 4}
    schema_pos = {n: i for i, n in enumerate(TABLES)}
    return sorted(names, key=lambda n: (rank.get(n, 2), schema_pos[n]))


def _open_folder(folder: Path, names: Sequence[str]) -> tuple[dict[str, _Source], list[Problem]]:
    if not folder.is_dir():
        raise InputFileError(f"'folder' must be an existing folder; got {str(folder)!r}.")
    missing = [
        n for n in names if not any((folder / f"{n}{s}").exists() for s in (".parquet", ".csv"))
    ]
    if missing:
        raise InputFileError(
            f"'{folder}' must hold every raw table as <table>.parquet or <table>.csv; "
            f"missing: {', '.join(missing)}."
        )
    sources = {n: _Source.of_file(n, find_table(folder, n)) for n in names}
    for src in sources.values():
        src.scan()  # opens the file: an empty, truncated or unreadable file fails here
    problems = [
        Problem(
            table=p.stem,
            column="",
            check="unknown_file",
            severity="warning",
            problem=f"file {p.name} is not a table of the schema; ignored",
            expected="one of " + ", ".join(TABLES),
            count=0,
        )
        for p in sorted(folder.iterdir())
        if p.suffix in (".parquet", ".csv") and p.stem not in TABLES
    ]
    return sources, problems


# --------------------------------------------------------------------------- casting

_KIND = {
    pl.Date: "a date (YYYY-MM-DD)",
    pl.Int64: "a whole number",
    pl.Float64: "a number",
    pl.Boolean: "true or false",
    pl.String: "text",
}


def _kind(dtype: pl.DataType) -> str:
    for k, v in _KIND.items():
        if dtype == k:
            return v
    return str(dtype)


def _cast_expr(name: str, src: pl.DataType, dst: pl.DataType) -> pl.Expr | None:
    """``name`` converted from ``src`` to ``dst``; unparseable values become null.

    ``None`` when there is no sensible conversion (e.g. a number where a date belongs).
    """
    col = pl.col(name)
    if src == dst:
        if dst == pl.String:
            return pl.when(col.str.strip_chars() == "").then(None).otherwise(col)
        return col
    if src == pl.Null:
        return col.cast(dst)
    if src == pl.String:
        text = col.str.strip_chars()
        if dst == pl.Date:
            return text.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        if dst in (pl.Int64, pl.Float64):
            return text.cast(dst, strict=False)
        if dst == pl.Boolean:
            words = {w: True for w in _TRUE} | {w: False for w in _FALSE}
            return text.str.to_lowercase().replace_strict(
                words, default=None, return_dtype=pl.Boolean
            )
        return None
    if src.is_integer() and (dst == pl.Int64 or dst == pl.Float64):
        return col.cast(dst, strict=False)
    if src.is_float() and dst == pl.Float64:
        return col.cast(pl.Float64)
    if src.is_float() and dst == pl.Int64:
        return pl.when(col == col.floor()).then(col.cast(pl.Int64, strict=False))
    if isinstance(src, pl.Datetime) and dst == pl.Date:
        return col.dt.date()
    if isinstance(src, pl.Categorical | pl.Enum) and dst == pl.String:
        return col.cast(pl.String)
    return None


def _is_blank(name: str, src: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if src == pl.String:
        return col.is_null() | (col.str.strip_chars() == "")
    return col.is_null()


def _null_name(c: str) -> str:
    return f"__null__{c}"


def _type_name(c: str) -> str:
    return f"__type__{c}"


def _typed(
    table: Table, source: _Source
) -> tuple[pl.LazyFrame, list[Problem], tuple[str, ...], set[str]]:
    """The table in schema types, with per-column blank and failed-conversion flags.

    Returns the lazy frame (a row number, every schema column, the flags), the
    column-level problems, the structural errors and the columns that are unusable.
    """
    raw = source.scan()
    schema = raw.collect_schema()
    exprs: list[pl.Expr] = [pl.col(_ROW).cast(pl.Int64)]
    problems: list[Problem] = []
    structural: list[str] = []
    unusable: set[str] = set()
    for c in table.columns:
        dst = c.dtype if isinstance(c.dtype, pl.DataType) else c.dtype()
        if c.name not in schema:
            msg = f"missing column '{c.name}'"
            problems.append(
                Problem(
                    table.name,
                    c.name,
                    "missing_column",
                    "error",
                    "missing column",
                    f"a column '{c.name}' of {_kind(dst)}",
                    0,
                )
            )
            structural.append(msg)
            unusable.add(c.name)
            exprs += [
                pl.lit(None, dtype=dst).alias(c.name),
                pl.lit(False).alias(_null_name(c.name)),
                pl.lit(False).alias(_type_name(c.name)),
            ]
            continue
        src = schema[c.name]
        cast = _cast_expr(c.name, src, dst)
        if cast is None:
            problems.append(
                Problem(
                    table.name,
                    c.name,
                    "column_type",
                    "error",
                    f"column of type {src} cannot hold {_kind(dst)}",
                    f"{_kind(dst)} ({dst})",
                    0,
                )
            )
            structural.append(f"column '{c.name}' has type {src}, expected {dst}")
            unusable.add(c.name)
            exprs += [
                pl.lit(None, dtype=dst).alias(c.name),
                pl.lit(False).alias(_null_name(c.name)),
                pl.lit(False).alias(_type_name(c.name)),
            ]
            continue
        if src != dst and src != pl.Null and not source.is_csv:
            problems.append(
                Problem(
                    table.name,
                    c.name,
                    "column_type",
                    "warning",
                    f"stored as {src}; converted",
                    f"{_kind(dst)} ({dst})",
                    0,
                )
            )
        blank = _is_blank(c.name, src)
        exprs += [
            cast.alias(c.name),
            blank.alias(_null_name(c.name)),
            (~blank & cast.is_null()).alias(_type_name(c.name)),
        ]
    if len(unusable) == len(table.columns) and not set(schema.names()) & set(table.schema):
        # nothing matched: a different delimiter or no header row, not 9 missing columns
        problems = [
            Problem(
                table.name,
                "",
                "missing_column",
                "error",
                "none of the schema's columns found (a comma-separated file with a header?)",
                "columns " + ", ".join(table.schema),
                0,
            )
        ]
        structural = [f"none of the columns {', '.join(table.schema)} found"]
    extra = [n for n in schema.names() if n not in table.schema]
    if extra:
        problems.append(
            Problem(
                table.name,
                ", ".join(extra),
                "extra_column",
                "warning",
                "column(s) not in the schema; not carried to validated",
                "only the columns of the schema",
                0,
            )
        )
    # a row-index node (not an expression) so that no filter is pushed below the numbering
    return raw.with_row_index(_ROW, offset=1).select(exprs), problems, tuple(structural), unusable


# --------------------------------------------------------------------------- checks


@dataclass(frozen=True, slots=True)
class _Refs:
    """Keys that rows of later tables may refer to, all and without errors."""

    keys: dict[str, pl.Series] = field(default_factory=dict)
    clean: dict[str, pl.Series] = field(default_factory=dict)
    # disputes.source_record_id values found in each table, all and without errors
    disputed: dict[str, pl.Series] = field(default_factory=dict)
    disputed_clean: dict[str, pl.Series] = field(default_factory=dict)


def _in(col: pl.Expr, values: pl.Series) -> pl.Expr:
    return col.is_in(values.implode())


def _ref_checks(col: str, parent: str, refs: _Refs) -> list[_Check]:
    key = TABLES[parent].key
    if parent not in refs.keys:
        return []
    c = pl.col(col)
    return [
        _Check(
            col,
            "orphan",
            "error",
            f"unknown {parent} {key} (orphan record)",
            f"a {key} of {parent}",
            ~_in(c, refs.keys[parent]),
        ),
        _Check(
            col,
            "parent_error",
            "error",
            f"refers to a row of {parent} with errors",
            f"a row of {parent} without errors",
            _in(c, refs.keys[parent]) & ~_in(c, refs.clean[parent]),
        ),
    ]


def _entity_checks(table: Table, refs: _Refs) -> list[_Check]:
    if table.name in ("enterprises", "households") or table.entity is None:
        return []
    if table.name == "loan_repayments":
        return _ref_checks("loan_id", "loans", refs)
    if table.entity_type is not None:
        parent, _ = _ENTITY_TABLES[table.entity_type]
        return _ref_checks(table.entity, parent, refs)
    # the entity type is a column: choose the parent table row by row
    out: list[_Check] = []
    eid, etype = pl.col(table.entity), pl.col("entity_type")
    orphan: pl.Expr = pl.lit(False)
    bad_parent: pl.Expr = pl.lit(False)
    for et, (parent, _) in _ENTITY_TABLES.items():
        if parent not in refs.keys:
            continue
        is_et = etype == et
        orphan = pl.when(is_et).then(~_in(eid, refs.keys[parent])).otherwise(orphan)
        bad_parent = (
            pl.when(is_et)
            .then(_in(eid, refs.keys[parent]) & ~_in(eid, refs.clean[parent]))
            .otherwise(bad_parent)
        )
    out.append(
        _Check(
            table.entity,
            "orphan",
            "error",
            "unknown entity (orphan record)",
            "a credit_code of enterprises (sme) or household_id of households",
            orphan,
        )
    )
    out.append(
        _Check(
            table.entity,
            "parent_error",
            "error",
            "refers to an entity with errors",
            "an entity without errors",
            bad_parent,
        )
    )
    return out


def _dispute_checks(refs: _Refs) -> list[_Check]:
    st, rid = pl.col("source_table"), pl.col("source_record_id")
    orphan: pl.Expr = pl.lit(False)
    bad_parent: pl.Expr = pl.lit(False)
    for t, found in refs.disputed.items():
        orphan = pl.when(st == t).then(~_in(rid, found)).otherwise(orphan)
        bad_parent = (
            pl.when(st == t)
            .then(_in(rid, found) & ~_in(rid, refs.disputed_clean[t]))
            .otherwise(bad_parent)
        )
    return [
        _Check(
            "source_record_id",
            "orphan",
            "error",
            "disputed record not found in its table",
            "a record id of the table named in source_table",
            orphan,
        ),
        _Check(
            "source_record_id",
            "parent_error",
            "error",
            "disputed record has errors",
            "a disputed record without errors",
            bad_parent,
        ),
    ]


def _fmt(x: float | dt.date) -> str:
    if isinstance(x, dt.date):
        return x.isoformat()
    return f"{x:g}"


def _code_checks(table: Table, config_codes: Mapping[str, tuple[str, ...]]) -> list[_Check]:
    out: list[_Check] = []
    names = set(table.schema)
    for c in table.columns:
        codes = c.codes
        what = "code not in the code list"
        if c.name == "bank_code":
            codes, what = config_codes["bank_code"], "unknown bank code"
        elif c.name == "indicator_code":
            codes, what = config_codes["indicator_code"], "unknown deduction indicator code"
        elif c.name == "source_table":
            codes, what = tuple(TABLES), "unknown table name"
        if codes is not None:
            out.append(
                _Check(
                    c.name,
                    "code",
                    "error",
                    what,
                    "one of " + ", ".join(codes),
                    ~_in(pl.col(c.name), pl.Series(codes, dtype=pl.String)),
                )
            )
    if "city_code" in names:
        out.append(
            _Check(
                "city_code",
                "region",
                "error",
                "unknown city code",
                "a Guangdong city code (GB/T 2260), e.g. 440100",
                ~pl.col("city_code").is_in(list(CITIES)),
            )
        )
    if "county_code" in names:
        counties = [k for city in CITIES for k in county_codes(city)]
        county, city = pl.col("county_code"), pl.col("city_code")
        known = county.is_in(counties)
        out.append(
            _Check(
                "county_code",
                "region",
                "error",
                "unknown county code",
                "a county code of the province (scoring.geo)",
                ~known,
            )
        )
        if "city_code" in names:
            out.append(
                _Check(
                    "county_code",
                    "nesting",
                    "error",
                    "county not in its city",
                    "a county code starting with the city code's first 4 digits",
                    known
                    & city.is_in(list(CITIES))
                    & (county.str.slice(0, 4) != city.str.slice(0, 4)),
                )
            )
    for child, parent, digits in (
        ("town_code", "county_code", 9),
        ("village_code", "town_code", 12),
    ):
        if child in names and parent in names:
            code = pl.col(child)
            ok = code.str.contains(rf"^\d{{{digits}}}$") & code.str.starts_with(pl.col(parent))
            out.append(
                _Check(
                    child,
                    "nesting",
                    "error",
                    f"{child} does not nest in its {parent}",
                    f"{digits} digits starting with {parent}",
                    ~ok,
                )
            )
    return out


def _row_checks(
    table: Table,
    *,
    unusable: set[str],
    refs: _Refs,
    config_codes: Mapping[str, tuple[str, ...]],
    valid_codes: Mapping[str, pl.Series],
) -> list[_Check]:
    """Every row-level check of one table, in report order."""
    out: list[_Check] = []
    names = set(table.schema)
    for c in table.columns:
        dst = c.dtype if isinstance(c.dtype, pl.DataType) else c.dtype()
        out.append(
            _Check(
                c.name, "type", "error", f"not {_kind(dst)}", _kind(dst), pl.col(_type_name(c.name))
            )
        )
        if not c.nullable and c.name not in unusable:
            out.append(
                _Check(
                    c.name,
                    "null",
                    "error",
                    "missing value",
                    "a value (not nullable)",
                    pl.col(_null_name(c.name)),
                )
            )
    out += _code_checks(table, config_codes)
    # check characters
    if "credit_code" in names:
        out.append(
            _Check(
                "credit_code",
                "check_char",
                "error",
                "invalid unified social credit code",
                "18 characters with valid check characters (GB 32100)",
                pl.col("credit_code").is_not_null()
                & ~_in(pl.col("credit_code"), valid_codes["credit_code"]),
            )
        )
    if "entity_id" in names and "entity_type" in names:
        eid = pl.col("entity_id")
        out.append(
            _Check(
                "entity_id",
                "check_char",
                "error",
                "invalid unified social credit code",
                "an SME entity_id with valid check characters (GB 32100)",
                (pl.col("entity_type") == "sme")
                & eid.is_not_null()
                & ~_in(eid, valid_codes["entity_id"]),
            )
        )
    if "head_id_number" in names:
        hid = pl.col("head_id_number")
        out.append(
            _Check(
                "head_id_number",
                "check_char",
                "error",
                "invalid resident id number",
                "18 characters with a valid check character (GB 11643)",
                hid.is_not_null() & ~_in(hid, valid_codes["head_id_number"]),
            )
        )
    # ranges: dates (schema bounds, else plausible dates) and numbers (wrong units)
    for c in table.columns:
        col = pl.col(c.name)
        if c.dtype == pl.Date:
            lo = c.lo if isinstance(c.lo, dt.date) else _PLAUSIBLE_DATES[0]
            hi = c.hi if isinstance(c.hi, dt.date) else _PLAUSIBLE_DATES[1]
            out.append(
                _Check(
                    c.name,
                    "date_range",
                    "error",
                    "date out of range",
                    f"a date from {lo} to {hi}",
                    ~col.is_between(lo, hi),
                )
            )
        elif c.dtype in (pl.Int64, pl.Float64):
            if c.dtype == pl.Float64:
                out.append(
                    _Check(
                        c.name,
                        "not_finite",
                        "error",
                        "not a finite number",
                        "a finite number",
                        ~col.is_finite(),
                    )
                )
                finite = col.is_finite()
            else:
                finite = pl.lit(True)
            if c.lo is not None and c.hi is not None:
                unit = f" {c.unit}" if c.unit else ""
                out.append(
                    _Check(
                        c.name,
                        "range",
                        "error",
                        "value out of range (wrong unit?)",
                        f"from {_fmt(c.lo)} to {_fmt(c.hi)}{unit}",
                        finite & ~col.is_between(c.lo, c.hi),
                    )
                )
    for rule in table.extra_checks:
        m = _EXTRA_CHECK.match(rule)
        if m is None:  # the schema is code: a rule we cannot read is a bug there
            raise DataError(f"'extra_checks' must read '<column> <op> <column>'; got {rule!r}.")
        left, op, right = m.groups()
        a, b = pl.col(left), pl.col(right)
        holds = {">=": a >= b, ">": a > b, "<=": a <= b, "<": a < b, "==": a == b}[op]
        out.append(_Check(left, "date_order", "error", f"{left} {_OPS[op]} {right}", rule, ~holds))
    # referential integrity
    out += _entity_checks(table, refs)
    if table.name == "disputes":
        out += _dispute_checks(refs)
    # duplicates: the first submission is kept, later ones are flagged
    key = pl.col(table.key)
    out.append(
        _Check(
            table.key,
            "duplicate_key",
            "error",
            "duplicate record id (first kept)",
            f"a unique {table.key}",
            key.is_not_null() & ~key.is_first_distinct(),
        )
    )
    natural = table.natural_key
    if natural:
        out.append(
            _Check(
                ",".join(natural),
                "duplicate_submission",
                "error",
                "duplicate submission (first kept)",
                f"one row per ({', '.join(natural)})",
                pl.all_horizontal([pl.col(n).is_not_null() for n in natural])
                & ~pl.struct(list(natural)).is_first_distinct(),
            )
        )
    elif table.name not in ("enterprises", "households"):
        rest = [n for n in table.schema if n != table.key]
        out.append(
            _Check(
                ",".join(rest),
                "duplicate_submission",
                "error",
                "duplicate submission under a new record id (first kept)",
                f"no two rows equal apart from {table.key}",
                ~pl.struct(rest).is_first_distinct(),
            )
        )
    if table.name == "tax_filings":
        filed = pl.col("filed_date")
        out.append(
            _Check(
                "filed_date",
                "late_filing",
                "info",
                "filed after the deadline",
                "filed_date <= due_date",
                filed > pl.col("due_date"),
            )
        )
        out.append(
            _Check("filed_date", "not_filed", "info", "not filed", "a filing date", filed.is_null())
        )
    return out


def _valid_codes(table: Table, lf: pl.LazyFrame, source: _Source) -> dict[str, pl.Series]:
    """The distinct well-formed identifiers of each identifier column.

    Check characters are computed once per distinct value (an entity has many records),
    then rows are checked by membership.
    """
    names = set(table.schema)
    wanted: list[tuple[str, pl.Expr | None, Callable[[pl.Expr], pl.Expr]]] = []
    if "credit_code" in names:
        wanted.append(("credit_code", None, uscc_valid_expr))
    if "entity_id" in names and "entity_type" in names:
        wanted.append(("entity_id", pl.col("entity_type") == "sme", uscc_valid_expr))
    if "head_id_number" in names:
        wanted.append(("head_id_number", None, resident_id_valid_expr))
    out: dict[str, pl.Series] = {}
    for column, where, is_valid in wanted:
        rows = lf if where is None else lf.filter(where.fill_null(False))
        distinct = rows.select(pl.col(column).drop_nulls().unique())
        valid = _collect(distinct.filter(is_valid(pl.col(column))), source)
        out[column] = valid.get_column(column)
    return out


def _missing_months(
    table: Table, lf: pl.LazyFrame, *, bad_rows: pl.Series, source: _Source, max_ids: int | None
) -> list[Problem]:
    """Gaps in monthly series: per entity, months between its first and last row.

    Counted on the rows without errors (what later steps see), so that one month typed a
    century off does not count as a thousand missing months.
    """
    month = table.date_column
    if month not in _MONTHLY_DATES or month not in table.natural_key:
        return []
    group = [n for n in table.natural_key if n != month]
    idx = pl.col(month).dt.year().cast(pl.Int64) * 12 + pl.col(month).dt.month().cast(pl.Int64)
    gaps = _collect(
        lf.filter(
            pl.all_horizontal([pl.col(n).is_not_null() for n in (*group, month)])
            & ~pl.col(_ROW).is_in(bad_rows.implode())
        )
        .group_by(group)
        .agg(
            n=pl.col(month).n_unique(),
            span=idx.max() - idx.min() + 1,
        )
        .filter(pl.col("span") > pl.col("n"))
        .select(
            pl.concat_str([pl.col(g).cast(pl.String) for g in group], separator="|").alias("id"),
            (pl.col("span") - pl.col("n")).alias("missing"),
        )
        .sort("id"),
        source,
    )
    if gaps.height == 0:
        return []
    ids = gaps.get_column("id")
    return [
        Problem(
            table.name,
            month,
            "missing_months",
            "warning",
            "months missing in the series",
            f"one row per month from the first to the last month of each ({', '.join(group)}),"
            " counted on rows without errors",
            int(gaps.get_column("missing").sum()),
            id_column=",".join(group),
            row_ids=tuple(ids.to_list() if max_ids is None else ids.head(max_ids).to_list()),
        )
    ]


def _collect(lf: pl.LazyFrame, source: _Source) -> pl.DataFrame:
    try:
        # the streaming engine's start-up dominates on the many small check queries
        return lf.collect(engine="in-memory")
    except pl.exceptions.PolarsError as exc:  # corrupt pages, ragged CSV rows, odd types
        first = str(exc).splitlines()[0]
        hint = " (save CSV files as UTF-8)" if "utf-8" in first.lower() else ""
        raise InputFileError(
            f"'{source.label}' must be a readable file in the schema; reading or checking it "
            f"failed: {first}{hint}"
        ) from None


def _check_table(
    table: Table,
    source: _Source,
    *,
    refs: _Refs,
    config_codes: Mapping[str, tuple[str, ...]],
    disputed_ids: Mapping[str, pl.Series],
    max_ids: int | None,
) -> tuple[TableCheck, list[Problem]]:
    lf, problems, structural, unusable = _typed(table, source)
    checks = _row_checks(
        table,
        unusable=unusable,
        refs=refs,
        config_codes=config_codes,
        valid_codes=_valid_codes(table, lf, source),
    )
    flag_names = [f"__f{i}" for i in range(len(checks))]
    flags = _collect(
        lf.select(
            pl.col(_ROW),
            *[c.flag.fill_null(False).alias(n) for c, n in zip(checks, flag_names, strict=True)],
        ),
        source,
    )
    n_rows = flags.height
    counts = flags.select(pl.col(flag_names).sum()).row(0) if n_rows else (0,) * len(checks)
    error_flags = [
        pl.col(n) for c, n in zip(checks, flag_names, strict=True) if c.severity == "error"
    ]
    is_error = pl.any_horizontal(error_flags) if error_flags else pl.lit(False)
    rejected = flags.filter(is_error).select(
        pl.col(_ROW).alias("row"),
        pl.concat_list(
            [
                pl.when(pl.col(n)).then(pl.lit(f"{c.column}: {c.problem}"))
                for c, n in zip(checks, flag_names, strict=True)
                if c.severity == "error"
            ]
        )
        .list.drop_nulls()
        .alias("reasons")
        if error_flags
        else pl.lit([], dtype=pl.List(pl.String)).alias("reasons"),
    )
    # ids of the flagged rows, fetched once for all problems
    wanted = [
        flags.filter(pl.col(n)).get_column(_ROW)
        if max_ids is None
        else flags.filter(pl.col(n)).get_column(_ROW).head(max_ids)
        for n, k in zip(flag_names, counts, strict=True)
        if k
    ]
    needed = pl.concat(wanted).unique() if wanted else pl.Series(_ROW, [], dtype=pl.Int64)
    key_of = dict(
        _collect(
            lf.select(_ROW, pl.col(table.key).cast(pl.String).fill_null("<null>")).filter(
                pl.col(_ROW).is_in(needed.implode())
            ),
            source,
        ).iter_rows()
    )
    for c, n, k in zip(checks, flag_names, counts, strict=True):
        if not k:
            continue
        rows = flags.filter(pl.col(n)).get_column(_ROW)
        rows = rows if max_ids is None else rows.head(max_ids)
        numbers = tuple(int(r) for r in rows)
        problems.append(
            Problem(
                table.name,
                c.column,
                c.check,
                c.severity,
                c.problem,
                c.expected,
                int(k),
                id_column=table.key,
                row_ids=tuple(key_of[r] for r in numbers),
                row_numbers=numbers,
            )
        )
    problems += _missing_months(
        table, lf, bad_rows=rejected.get_column("row"), source=source, max_ids=max_ids
    )
    if n_rows == 0:
        problems.append(
            Problem(
                table.name, "", "empty_table", "warning", "table has no rows", "at least one row", 0
            )
        )
    # column-level problems concern every row of the table
    problems = [
        replace(p, count=n_rows) if p.check in ("missing_column", "column_type") else p
        for p in problems
    ]
    _remember_keys(table, lf, rejected, refs=refs, disputed_ids=disputed_ids, source=source)
    check = TableCheck(table.name, n_rows, rejected, structural, source)
    return check, problems


def _remember_keys(
    table: Table,
    lf: pl.LazyFrame,
    rejected: pl.DataFrame,
    *,
    refs: _Refs,
    disputed_ids: Mapping[str, pl.Series],
    source: _Source,
) -> None:
    """Store the keys later tables refer to (entities, loans, disputed records)."""
    bad = rejected.get_column("row").implode()
    key = pl.col(table.key)
    if table.name in ("enterprises", "households", "loans"):
        keys = _collect(lf.select(_ROW, key).filter(key.is_not_null()), source)
        refs.keys[table.name] = keys.get_column(table.key)
        refs.clean[table.name] = keys.filter(~pl.col(_ROW).is_in(bad)).get_column(table.key)
    ids = disputed_ids.get(table.name)
    if ids is not None:
        found = _collect(lf.select(_ROW, key).filter(_in(key, ids)), source)
        refs.disputed[table.name] = found.get_column(table.key)
        refs.disputed_clean[table.name] = found.filter(~pl.col(_ROW).is_in(bad)).get_column(
            table.key
        )


def _disputed_ids(source: _Source) -> dict[str, pl.Series]:
    """``source_record_id`` values of the disputes, grouped by ``source_table``."""
    lf = source.scan()
    names = lf.collect_schema().names()
    if "source_table" not in names or "source_record_id" not in names:
        return {}
    pairs = _collect(
        lf.select(
            pl.col("source_table").cast(pl.String, strict=False),
            pl.col("source_record_id").cast(pl.String, strict=False),
        )
        .drop_nulls()
        .unique(),
        source,
    )
    return {
        t: pairs.filter(pl.col("source_table") == t).get_column("source_record_id") for t in TABLES
    }


# --------------------------------------------------------------------------- config codes


def _config_codes(config: WorkbenchConfig) -> dict[str, tuple[str, ...]]:
    """Bank codes and tax deduction indicator codes allowed by the configuration."""
    return {
        "bank_code": tuple(b.code for b in config.banks),
        "indicator_code": _indicator_codes(config),
    }


def _indicator_codes(config: WorkbenchConfig) -> tuple[str, ...]:
    codes = tuple(d.code for d in config.tax.deductions)
    if not codes:
        raise ConfigError(
            f"'tax.deductions' in {config.source} must list the deduction indicators "
            "(each with a code); got none."
        )
    return codes


# --------------------------------------------------------------------------- public API


def _validate(
    sources: Mapping[str, _Source],
    *,
    folder: Path | None,
    config: WorkbenchConfig,
    max_ids: int | None,
    extra_problems: Sequence[Problem] = (),
) -> ValidationReport:
    if max_ids is not None and max_ids < 0:
        raise DataError(f"'max_ids' must be >= 0 or None; got {max_ids!r}.")
    config_codes = _config_codes(config)
    disputed = _disputed_ids(sources["disputes"]) if "disputes" in sources else {}
    refs = _Refs()
    checks: dict[str, TableCheck] = {}
    problems: list[Problem] = list(extra_problems)
    for name in track(_table_order(sources), description="validating tables"):
        check, found = _check_table(
            TABLES[name],
            sources[name],
            refs=refs,
            config_codes=config_codes,
            disputed_ids=disputed,
            max_ids=max_ids,
        )
        checks[name] = check
        problems += found
    schema_pos = {n: i for i, n in enumerate(TABLES)}
    problems.sort(key=lambda p: (schema_pos.get(p.table, -1), _SEVERITY_ORDER[p.severity]))
    ordered = {n: checks[n] for n in TABLES if n in checks}
    return ValidationReport(folder=folder, tables=ordered, problems=tuple(problems))


def _table_names(tables: Iterable[str] | None) -> list[str]:
    names = list(TABLES) if tables is None else list(tables)
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise DataError(f"'tables' must name tables of the schema; got unknown {unknown!r}.")
    return names


def validate_records(
    folder: str | Path,
    *,
    config: WorkbenchConfig,
    tables: Iterable[str] | None = None,
    max_ids: int | None = 20,
) -> ValidationReport:
    """Validate the raw tables in ``folder`` (Parquet or CSV, one file per table).

    Parameters
    ----------
    folder
        Folder holding ``<table>.parquet`` or ``<table>.csv`` for every table of
        :data:`scoring.schema.TABLES`. CSV files are read as text and converted.
    config
        The configuration (bank codes, tax deduction indicator codes).
    tables
        Validate only these tables (default: all; references to tables left out are
        not checked).
    max_ids
        At most this many row ids and row numbers per problem (``None``: all).

    Raises
    ------
    InputFileError
        The folder or a table file is missing, empty, truncated or unreadable.

    Examples
    --------
    >>> import tempfile
    >>> from scoring.config import load_config
    >>> validate_records(tempfile.mkdtemp(), config=load_config())
    Traceback (most recent call last):
    ...
    scoring.exceptions.InputFileError: '...' must hold every raw table ...; missing: ...
    """
    base = Path(folder)
    sources, extra = _open_folder(base, _table_names(tables))
    return _validate(sources, folder=base, config=config, max_ids=max_ids, extra_problems=extra)


def validate_frames(
    frames: Mapping[str, pl.DataFrame],
    *,
    config: WorkbenchConfig,
    tables: Iterable[str] | None = None,
    max_ids: int | None = 20,
) -> ValidationReport:
    """Validate tables given as polars frames (same checks as :func:`validate_records`).

    Examples
    --------
    >>> from scoring.config import load_config
    >>> validate_frames({}, config=load_config())
    Traceback (most recent call last):
    ...
    scoring.exceptions.DataError: 'frames' must hold every table validated; missing ...
    """
    names = _table_names(tables)
    missing = [n for n in names if n not in frames]
    if missing:
        raise DataError(f"'frames' must hold every table validated; missing {', '.join(missing)}.")
    sources = {n: _Source(n, None, frames[n], None, None) for n in names}
    return _validate(sources, folder=None, config=config, max_ids=max_ids)


def write_report(report: ValidationReport, path: str | Path, **extra: Any) -> Path:
    """Write the report as JSON (atomically); ``extra`` keys are added at the top level.

    Examples
    --------
    >>> import tempfile, json
    >>> p = write_report(ValidationReport(None, {}, ()), Path(tempfile.mkdtemp()) / "r.json")
    >>> json.loads(p.read_text())["ok"]
    True
    """
    return write_json(report.to_dict() | extra, path)


def report_table(report: ValidationReport, *, limit: int = 40, examples: int = 3) -> RichTable:
    """A short rich table of the problems (errors first) for the terminal.

    Examples
    --------
    >>> report_table(ValidationReport(None, {}, ())).row_count
    0
    """
    n = {s: sum(1 for p in report.problems if p.severity == s) for s in _SEVERITY_ORDER}
    title = f"validation: {n['error']} errors, {n['warning']} warnings, {n['info']} notes"
    t = RichTable(title=title, title_justify="left")
    for name in ("table", "column", "problem", "severity", "count", "example row ids"):
        t.add_column(name, justify="right" if name == "count" else "left")
    ranked = sorted(report.problems, key=lambda p: _SEVERITY_ORDER[p.severity])
    style = {"error": "red", "warning": "yellow", "info": "dim"}
    for p in ranked[:limit]:
        t.add_row(
            p.table,
            p.column,
            p.problem,
            p.severity,
            str(p.count),
            ", ".join(p.row_ids[:examples]),
            style=style[p.severity],
        )
    if len(ranked) > limit:
        t.caption = f"{len(ranked) - limit} more problems in the JSON report"
    return t


def _clean_frame(table: Table, check: TableCheck) -> pl.LazyFrame:
    lf, _, _, _ = _typed(table, check.source)
    bad = check.rejected.get_column("row").implode()
    return lf.filter(~pl.col(_ROW).is_in(bad)).select(list(table.schema))


def _quarantine_frame(check: TableCheck) -> pl.LazyFrame:
    raw = check.source.scan()
    keep = [n for n in raw.collect_schema().names() if n not in ("row", "reasons")]
    return (
        raw.select(keep)
        .with_row_index("row", offset=1)
        .with_columns(pl.col("row").cast(pl.Int64))
        .join(check.rejected.lazy(), on="row", how="inner", maintain_order="left")
        .select("row", *keep, "reasons")
    )


def _rows_in(path: Path) -> int:
    return int(pl.scan_parquet(path).select(pl.len()).collect().item())


def write_validated(
    report: ValidationReport,
    *,
    validated_dir: str | Path,
    quarantine_dir: str | Path,
    quarantine: bool = False,
) -> ValidatedOutput:
    """Write the validated tables and, in quarantine mode, the rows with errors.

    Clean rows go to ``validated_dir/<table>.parquet`` in schema types, with the report
    as ``validated_dir/validation_report.json``; rows with errors go, as read, to
    ``quarantine_dir/<table>.parquet`` with their ``row`` number and ``reasons``.
    Each folder is built under a temporary name and renamed into place, replacing an
    earlier one. Rows in = validated + quarantined is checked on the written files.

    Raises
    ------
    ValidationFailed
        The report has errors and ``quarantine`` is false (nothing is written), or a
        table has errors that quarantining rows cannot fix (a missing column, a column
        of an unusable type), or a source file changed since it was validated.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> out = write_validated(ValidationReport(None, {}, ()), validated_dir=root / "v",
    ...                       quarantine_dir=root / "q")
    >>> sorted(p.name for p in (root / "v").iterdir())
    ['validation_report.json']
    """
    vdir, qdir = Path(validated_dir), Path(quarantine_dir)
    if vdir.resolve() == qdir.resolve():
        raise DataError(
            f"'quarantine_dir' must differ from 'validated_dir'; got {str(qdir)!r} for both."
        )
    if report.structural:
        detail = "; ".join(f"{t}: {', '.join(e)}" for t, e in report.structural.items())
        raise ValidationFailed(
            f"'records' must have every column of the schema in a usable type before rows "
            f"can be quarantined; got {detail}.",
            report,
        )
    if not report.ok and not quarantine:
        raise ValidationFailed(
            f"{report.headline()}; nothing was written to {vdir} "
            "(fix the records, or run `scoring validate --quarantine` to set bad rows aside).",
            report,
        )
    for check in report.tables.values():
        check.source.check_unchanged()
    counts: dict[str, tuple[int, int, int]] = {}
    with atomic_dir(vdir) as v_tmp, atomic_dir(qdir) as q_tmp:
        for name, check in report.tables.items():
            clean = v_tmp / f"{name}.parquet"
            _clean_frame(TABLES[name], check).sink_parquet(clean)
            n_clean = _rows_in(clean)
            n_bad = 0
            if check.error_rows:
                bad = q_tmp / f"{name}.parquet"
                _quarantine_frame(check).sink_parquet(bad)
                n_bad = _rows_in(bad)
            if n_clean + n_bad != check.rows:
                raise DataError(
                    f"'{name}' rows must add up: {check.rows} read, {n_clean} validated + "
                    f"{n_bad} quarantined; nothing was written."
                )
            counts[name] = (check.rows, n_clean, n_bad)
        written = {
            n: {"rows_in": a, "validated": b, "quarantined": c} for n, (a, b, c) in counts.items()
        }
        write_report(report, v_tmp / REPORT_NAME, written=written, quarantine_dir=str(qdir))
    return ValidatedOutput(vdir, qdir, vdir / REPORT_NAME, counts)


def require_validated(config: WorkbenchConfig) -> Path:
    """The validated folder of ``config``, or a clear error if it is missing or stale.

    Later steps (collect) call this before reading ``paths.validated``.

    Raises
    ------
    InputFileError
        No validated records (validation not run, or it failed without quarantine).
    ValidationFailed
        A raw file changed after it was validated.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> require_validated(load_config().with_root("/nonexistent"))
    Traceback (most recent call last):
    ...
    scoring.exceptions.InputFileError: '/nonexistent/data/validated' must hold validated ...
    """
    folder = config.paths.validated
    hint = "run `scoring validate` (or `scoring validate --quarantine` to set bad rows aside)"
    report_path = folder / REPORT_NAME
    if not report_path.is_file():
        raise InputFileError(
            f"'{folder}' must hold validated records; found no {REPORT_NAME}: {hint}."
        )
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
        tables: dict[str, Any] = report["tables"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputFileError(
            f"'{report_path}' must be a validation report; reading it failed ({exc}): {hint}."
        ) from None
    missing = [n for n in TABLES if not (folder / f"{n}.parquet").is_file()]
    if missing:
        raise InputFileError(
            f"'{folder}' must hold every validated table; missing {', '.join(missing)}: {hint}."
        )
    for name, info in tables.items():
        file = info.get("file") if isinstance(info, dict) else None
        if not file or not Path(file).exists():
            continue
        st = Path(file).stat()
        if (st.st_size, st.st_mtime_ns) != (info.get("size"), info.get("mtime_ns")):
            raise ValidationFailed(
                f"'{file}' must be unchanged since it was validated; it changed: "
                f"{hint} again before using {name}."
            )
    return folder
