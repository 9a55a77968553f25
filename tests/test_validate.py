from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

import polars as pl
import pytest
from rich.console import Console

from scoring.codes import org_code_check_char, resident_id_check_char, uscc_check_char
from scoring.config import WorkbenchConfig, load_config
from scoring.exceptions import DataError, InputFileError, ValidationFailed
from scoring.schema import TABLES
from scoring.validate import (
    REPORT_NAME,
    Problem,
    ValidationReport,
    report_table,
    require_validated,
    validate_frames,
    validate_records,
    write_report,
    write_validated,
)

Frames = dict[str, pl.DataFrame]


@pytest.fixture(scope="module")
def config() -> WorkbenchConfig:
    return load_config()


def set_cell(df: pl.DataFrame, row: int, column: str, value: Any) -> pl.DataFrame:
    """``df`` with one cell replaced (keeping the column's type unless ``value`` is text)."""
    dtype = pl.String if isinstance(value, str) else df.schema[column]
    return df.with_columns(
        pl.when(pl.int_range(pl.len()) == row)
        .then(pl.lit(value, dtype=dtype))
        .otherwise(pl.col(column).cast(dtype))
        .alias(column)
    )


def append_copy(df: pl.DataFrame, row: int, **changes: Any) -> pl.DataFrame:
    """``df`` with a copy of ``row`` appended (some columns changed)."""
    extra = df.slice(row, 1).with_columns(
        [pl.lit(v, dtype=df.schema[k]).alias(k) for k, v in changes.items()]
    )
    return pl.concat([df, extra])


def find(report: ValidationReport, table: str, column: str, check: str) -> Problem:
    hits = [p for p in report.problems if (p.table, p.column, p.check) == (table, column, check)]
    found = [(p.table, p.column, p.check) for p in report.problems]
    assert hits, f"no {check} on {table}.{column}; found {found}"
    return hits[0]


def test_tiny_province_validates_clean_as_parquet_and_csv(
    tmp_path: Path, province_kit: SimpleNamespace, config: WorkbenchConfig
) -> None:
    for fmt in ("parquet", "csv"):
        folder = province_kit.write(province_kit.build(), tmp_path / fmt, fmt=fmt)
        report = validate_records(folder, config=config)
        assert report.problems == (), [p.to_dict() for p in report.problems]
        assert report.ok
        assert report.tables["tax_filings"].rows == 9


def _uscc(n: int) -> str:
    org8 = f"MA{n:06d}"
    first17 = f"91440101{org8}{org_code_check_char(org8)}"
    return first17 + uscc_check_char(first17)


def _flip_last(code: str) -> str:
    return code[:-1] + ("0" if code[-1] != "0" else "1")


SME0, SME1 = _uscc(1), _uscc(2)
HEAD1 = "44010119651231002" + resident_id_check_char("44010119651231002")
BAD_USCC = _flip_last(SME0)
UNKNOWN_SME = _uscc(999)

Plant = Callable[[Frames], None]


class Fault(NamedTuple):
    """How to plant one fault, and where validation must find it."""

    plant: Plant
    where: str  # table.column
    check: str
    key: str  # record id of the bad row


def _set(table: str, row: int, column: str, value: Any) -> Plant:
    def plant(f: Frames) -> None:
        f[table] = set_cell(f[table], row, column, value)

    return plant


def _dup(table: str, row: int, **changes: Any) -> Plant:
    def plant(f: Frames) -> None:
        f[table] = append_copy(f[table], row, **changes)

    return plant


FAULTS: dict[str, Fault] = {
    "bad check character": Fault(
        _set("enterprises", 0, "credit_code", BAD_USCC),
        "enterprises.credit_code",
        "check_char",
        BAD_USCC,
    ),
    "bad sme entity_id": Fault(
        _set("loans", 0, "entity_id", BAD_USCC), "loans.entity_id", "check_char", "LN0001"
    ),
    "bad resident id": Fault(
        _set("households", 1, "head_id_number", _flip_last(HEAD1)),
        "households.head_id_number",
        "check_char",
        "HH440101001001002",
    ),
    "unknown bank": Fault(
        _set("loans", 1, "bank_code", "NOBANK"), "loans.bank_code", "code", "LN0002"
    ),
    "unknown bank in consents": Fault(
        _set("consents", 0, "bank_code", "HSBC"), "consents.bank_code", "code", "CS00001"
    ),
    "unknown deduction indicator": Fault(
        _set("tax_violations", 0, "indicator_code", "SPEEDING"),
        "tax_violations.indicator_code",
        "code",
        "TV00001",
    ),
    "code not in list": Fault(
        _set("enterprises", 1, "industry", "Z"), "enterprises.industry", "code", SME1
    ),
    "unknown entity type": Fault(
        _set("utility_payments", 0, "entity_type", "company"),
        "utility_payments.entity_type",
        "code",
        "UP00000",
    ),
    "unknown city": Fault(
        _set("enterprises", 2, "city_code", "449900"), "enterprises.city_code", "region", _uscc(3)
    ),
    "unknown county": Fault(
        _set("households", 0, "county_code", "440199"),
        "households.county_code",
        "region",
        "HH440101001001001",
    ),
    "county outside its city": Fault(
        _set("enterprises", 0, "county_code", "440201"), "enterprises.county_code", "nesting", SME0
    ),
    "village outside its town": Fault(
        _set("households", 1, "village_code", "440101002001"),
        "households.village_code",
        "nesting",
        "HH440101001001002",
    ),
    "town not 9 digits": Fault(
        _set("households", 0, "town_code", "44010100X"),
        "households.town_code",
        "nesting",
        "HH440101001001001",
    ),
    "filed before the period": Fault(
        _set("tax_filings", 4, "filed_date", dt.date(2011, 12, 1)),
        "tax_filings.filed_date",
        "date_order",
        "TF00004",
    ),
    "closed before filed": Fault(
        _set("court_enforcement", 0, "closed_date", dt.date(2013, 1, 1)),
        "court_enforcement.closed_date",
        "date_order",
        "CE00001",
    ),
    "maturity before origination": Fault(
        _set("loans", 1, "maturity_date", dt.date(2011, 1, 1)),
        "loans.maturity_date",
        "date_order",
        "LN0002",
    ),
    "date after the data": Fault(
        _set("loans", 0, "origination_date", dt.date(2030, 1, 1)),
        "loans.origination_date",
        "date_range",
        "LN0001",
    ),
    "placeholder date": Fault(
        _set("consents", 1, "expiry_date", dt.date(1900, 1, 1)),
        "consents.expiry_date",
        "date_range",
        "CS00002",
    ),
    "established in the future": Fault(
        _set("households", 0, "registered_date", dt.date(2015, 6, 1)),
        "households.registered_date",
        "date_range",
        "HH440101001001001",
    ),
    "wrong unit": Fault(
        _set("enterprises", 1, "registered_capital", 3_000_000.0),
        "enterprises.registered_capital",
        "range",
        SME1,
    ),
    "wrong unit in filings": Fault(
        _set("tax_filings", 2, "revenue", 1.2e10), "tax_filings.revenue", "range", "TF00002"
    ),
    "negative count": Fault(
        _set("households", 1, "members", 0), "households.members", "range", "HH440101001001002"
    ),
    "not a number": Fault(
        _set("agri_insurance", 0, "premium", float("nan")),
        "agri_insurance.premium",
        "not_finite",
        "AI00001",
    ),
    "missing value": Fault(
        _set("enterprises", 2, "name", None), "enterprises.name", "null", _uscc(3)
    ),
    "missing value in bool": Fault(
        _set("court_enforcement", 0, "dishonest", None),
        "court_enforcement.dishonest",
        "null",
        "CE00001",
    ),
    "orphan sme": Fault(
        _set("social_insurance", 1, "credit_code", UNKNOWN_SME),
        "social_insurance.credit_code",
        "orphan",
        "SI00001",
    ),
    "orphan household": Fault(
        _set("agri_subsidies", 0, "household_id", "HH999"),
        "agri_subsidies.household_id",
        "orphan",
        "AS00001",
    ),
    "orphan entity_id": Fault(
        _set("utility_payments", 3, "entity_id", "HH999"),
        "utility_payments.entity_id",
        "orphan",
        "UP00003",
    ),
    "orphan repayment": Fault(
        _set("loan_repayments", 5, "loan_id", "LN9999"),
        "loan_repayments.loan_id",
        "orphan",
        "LR00005",
    ),
    "orphan disputed record": Fault(
        _set("disputes", 0, "source_record_id", "LR99999"),
        "disputes.source_record_id",
        "orphan",
        "DS00001",
    ),
    "dispute of an unknown table": Fault(
        _set("disputes", 0, "source_table", "bank_secrets"),
        "disputes.source_table",
        "code",
        "DS00001",
    ),
    "duplicate record id": Fault(_dup("loans", 0), "loans.loan_id", "duplicate_key", "LN0001"),
    "duplicate submission": Fault(
        _dup("tax_filings", 3, record_id="TF99999"),
        "tax_filings.credit_code,period",
        "duplicate_submission",
        "TF99999",
    ),
    "duplicate without natural key": Fault(
        _dup("admin_penalties", 0, record_id="AP99999"),
        "admin_penalties.credit_code,decision_date,severity,authority,amount",
        "duplicate_submission",
        "AP99999",
    ),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_each_planted_fault_is_found_with_table_column_and_row(
    tmp_path: Path, province_kit: SimpleNamespace, config: WorkbenchConfig, fault: Fault
) -> None:
    table, column = fault.where.split(".")
    check, key, plant = fault.check, fault.key, fault.plant
    frames = province_kit.build()
    plant(frames)
    report = validate_records(province_kit.write(frames, tmp_path), config=config)
    problem = find(report, table, column, check)
    assert problem.severity == "error"
    assert problem.count == 1
    assert problem.id_column == TABLES[table].key
    assert problem.row_ids == (key,)
    # the row number points at the bad row of the file (1-based)
    row = frames[table].with_row_index("n", offset=1).filter(pl.col(TABLES[table].key) == key)
    assert problem.row_numbers[-1] == row.get_column("n").to_list()[-1]
    assert not report.ok
    # and the bad row is the one set aside
    assert problem.row_numbers[-1] in report.tables[table].rejected.get_column("row").to_list()


def test_an_invalid_parent_sets_its_records_aside_too(
    province_kit: SimpleNamespace, config: WorkbenchConfig
) -> None:
    frames = province_kit.build()
    frames["enterprises"] = set_cell(frames["enterprises"], 0, "registered_capital", -5.0)
    report = validate_frames(frames, config=config)
    child = find(report, "tax_filings", "credit_code", "parent_error")
    assert child.count == 3
    assert set(child.row_ids) == {"TF00000", "TF00001", "TF00002"}
    assert find(report, "loans", "entity_id", "parent_error").row_ids == ("LN0001",)
    # the loan's repayments follow the loan
    assert find(report, "loan_repayments", "loan_id", "parent_error").count == 3


def test_duplicates_keep_the_first_submission(
    province_kit: SimpleNamespace, config: WorkbenchConfig
) -> None:
    frames = province_kit.build()
    frames["tax_filings"] = pl.concat(
        [frames["tax_filings"].slice(3, 1).with_columns(record_id=pl.lit("TF00003")),
         frames["tax_filings"]]
    )  # fmt: skip
    report = validate_frames(frames, config=config)
    dup = find(report, "tax_filings", "record_id", "duplicate_key")
    assert dup.row_numbers == (5,)  # the original, now second in the file
    assert report.tables["tax_filings"].rejected.get_column("row").to_list() == [5]


def test_csv_values_that_do_not_parse_are_reported_per_row(
    tmp_path: Path, province_kit: SimpleNamespace, config: WorkbenchConfig
) -> None:
    folder = province_kit.write(province_kit.build(), tmp_path, fmt="csv")
    text = (folder / "households.csv").read_text().splitlines()
    text[1] = text[1].replace(",4,2,", ",four,2,").replace("2009-05-01", "2009-02-30")
    text[2] = text[2].replace(",false,", ",maybe,")
    (folder / "households.csv").write_text("\n".join(text) + "\n")
    report = validate_records(folder, config=config)
    members = find(report, "households", "members", "type")
    assert (members.row_ids, members.row_numbers, members.expected) == (
        ("HH440101001001001",),
        (1,),
        "a whole number",
    )
    assert find(report, "households", "registered_date", "type").row_numbers == (1,)
    assert find(report, "households", "cooperative_member", "type").row_numbers == (2,)
    # a value that failed to parse is not also reported as missing
    assert not [p for p in report.problems if p.check == "null"]


def test_a_column_stored_as_text_is_converted_with_a_warning(
    province_kit: SimpleNamespace, config: WorkbenchConfig
) -> None:
    frames = province_kit.build()
    frames["loans"] = frames["loans"].with_columns(pl.col("principal").cast(pl.String))
    report = validate_frames(frames, config=config)
    assert report.ok
    assert find(report, "loans", "principal", "column_type").severity == "warning"


def test_a_column_of_an_unusable_type_is_structural(
    tmp_path: Path, province_kit: SimpleNamespace, config: WorkbenchConfig
) -> None:
    frames = province_kit.build()
    frames["households"] = frames["households"].with_columns(
        pl.col("registered_date").cast(pl.Int64)
    )
    report = validate_frames(frames, config=config)
    problem = find(report, "households", "registered_date", "column_type")
    assert problem.severity == "error"
    assert problem.count == 2
    assert "registered_date" in report.structural["households"][0]
    with pytest.raises(ValidationFailed, match="registered_date"):
        write_validated(
            report, validated_dir=tmp_path / "v", quarantine_dir=tmp_path / "q", quarantine=True
        )
    assert not (tmp_path / "v").exists()


def test_missing_and_extra_columns(province_kit: SimpleNamespace, config: WorkbenchConfig) -> None:
    frames = province_kit.build()
    frames["consents"] = frames["consents"].drop("purpose").with_columns(note=pl.lit("x"))
    report = validate_frames(frames, config=config)
    assert find(report, "consents", "purpose", "missing_column").severity == "error"
    assert find(report, "consents", "note", "extra_column").severity == "warning"
    assert list(report.structural) == ["consents"]


def test_missing_months_and_late_filings_are_not_errors(
    province_kit: SimpleNamespace, config: WorkbenchConfig
) -> None:
    frames = province_kit.build()
    tf = frames["tax_filings"].filter(pl.col("record_id") != "TF00004")
    tf = set_cell(tf, 0, "filed_date", dt.date(2012, 3, 1))  # due 2012-02-15
    frames["tax_filings"] = tf
    report = validate_frames(frames, config=config)
    assert report.ok
    gap = find(report, "tax_filings", "period", "missing_months")
    assert (gap.severity, gap.count, gap.row_ids, gap.id_column) == (
        "warning",
        1,
        (SME1,),
        "credit_code",
    )
    late = find(report, "tax_filings", "filed_date", "late_filing")
    assert (late.severity, late.row_ids) == ("info", ("TF00000",))


def test_missing_folder_table_empty_and_truncated_files(
    tmp_path: Path, province_kit: SimpleNamespace, config: WorkbenchConfig
) -> None:
    with pytest.raises(InputFileError, match="must be an existing folder; got '.*nowhere'"):
        validate_records(tmp_path / "nowhere", config=config)
    folder = province_kit.write(province_kit.build(), tmp_path / "raw")
    (folder / "loans.parquet").unlink()
    with pytest.raises(InputFileError, match=r"missing: loans\.$"):
        validate_records(folder, config=config)
    (folder / "loans.parquet").write_bytes(b"")
    with pytest.raises(InputFileError, match=r"loans\.parquet' must not be empty"):
        validate_records(folder, config=config)
    data = province_kit.build()["loans"]
    data.write_parquet(folder / "loans.parquet")
    blob = (folder / "loans.parquet").read_bytes()
    (folder / "loans.parquet").write_bytes(blob[: len(blob) - 40])
    with pytest.raises(InputFileError, match=r"loans\.parquet' must be a readable parquet"):
        validate_records(folder, config=config)


def test_unknown_files_are_reported_not_read(
    tmp_path: Path, province_kit: SimpleNamespace, config: WorkbenchConfig
) -> None:
    folder = province_kit.write(province_kit.build(), tmp_path)
    (folder / "loan.csv").write_text("x\n1\n")
    report = validate_records(folder, config=config)
    assert report.ok
    assert [p.problem for p in report.warnings] == [
        "file loan.csv is not a table of the schema; ignored"
    ]


def test_quarantine_sets_bad_rows_aside_and_counts_add_up(
    tmp_path: Path, province_kit: SimpleNamespace, config: WorkbenchConfig
) -> None:
    frames = province_kit.build()
    frames["loans"] = set_cell(frames["loans"], 1, "bank_code", "NOBANK")
    frames["tax_filings"] = append_copy(frames["tax_filings"], 3, record_id="TF99999")
    folder = province_kit.write(frames, tmp_path / "raw", fmt="csv")
    report = validate_records(folder, config=config)
    vdir, qdir = tmp_path / "validated", tmp_path / "quarantine"

    with pytest.raises(ValidationFailed, match="--quarantine"):
        write_validated(report, validated_dir=vdir, quarantine_dir=qdir)
    assert not vdir.exists()
    assert not qdir.exists()

    out = write_validated(report, validated_dir=vdir, quarantine_dir=qdir, quarantine=True)
    assert out.counts["loans"] == (2, 1, 1)
    # the repayments of the quarantined loan follow it
    assert out.counts["loan_repayments"] == (6, 3, 3)
    assert out.counts["tax_filings"] == (10, 9, 1)
    # and so does the dispute about one of those repayments
    assert out.counts["disputes"] == (1, 0, 1)
    assert out.quarantined == 6
    for name, (n_in, n_ok, n_bad) in out.counts.items():
        assert n_in == n_ok + n_bad
        ok = pl.read_parquet(vdir / f"{name}.parquet")
        assert ok.height == n_ok
        assert ok.schema == pl.Schema(TABLES[name].schema), name
    bad = pl.read_parquet(qdir / "loans.parquet")
    assert bad.get_column("loan_id").to_list() == ["LN0002"]
    assert bad.get_column("row").to_list() == [2]
    assert bad.get_column("reasons").to_list() == [["bank_code: unknown bank code"]]
    assert bad.get_column("bank_code").to_list() == ["NOBANK"]  # as read, for fixing
    dups = pl.read_parquet(qdir / "tax_filings.parquet")
    assert dups.get_column("record_id").to_list() == ["TF99999"]
    assert sorted(p.name for p in qdir.iterdir()) == [
        "disputes.parquet", "loan_repayments.parquet", "loans.parquet", "tax_filings.parquet"
    ]  # fmt: skip
    saved = json.loads((vdir / REPORT_NAME).read_text())
    assert saved["written"]["loans"] == {"rows_in": 2, "validated": 1, "quarantined": 1}
    # no temporary folders left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quarantine", "raw", "validated"]


def test_report_json_has_what_a_user_needs(
    tmp_path: Path, province_kit: SimpleNamespace, config: WorkbenchConfig
) -> None:
    frames = province_kit.build()
    frames["households"] = set_cell(frames["households"], 1, "city_code", "449900")
    report = validate_frames(frames, config=config)
    path = write_report(report, tmp_path / "r.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["ok"] is False
    # the household's records are set aside with it (agri_subsidies, ...)
    assert {p["check"] for p in data["problems"]} == {"region", "parent_error"}
    (p,) = [p for p in data["problems"] if p["table"] == "households"]
    assert p == {
        "table": "households",
        "column": "city_code",
        "check": "region",
        "severity": "error",
        "problem": "unknown city code",
        "expected": "a Guangdong city code (GB/T 2260), e.g. 440100",
        "count": 1,
        "id_column": "household_id",
        "row_ids": ["HH440101001001002"],
        "row_numbers": [2],
    }
    assert data["tables"]["households"]["error_rows"] == 1


def test_row_ids_are_capped_but_counts_are_not(
    province_kit: SimpleNamespace, config: WorkbenchConfig
) -> None:
    frames = province_kit.build()
    frames["tax_filings"] = frames["tax_filings"].with_columns(revenue=pl.lit(-1.0))
    capped = validate_frames(frames, config=config, max_ids=2)
    problem = find(capped, "tax_filings", "revenue", "range")
    assert (problem.count, len(problem.row_ids), len(problem.row_numbers)) == (9, 2, 2)
    full = validate_frames(frames, config=config, max_ids=None)
    assert len(find(full, "tax_filings", "revenue", "range").row_ids) == 9


def test_report_table_and_headline_name_the_problems(
    province_kit: SimpleNamespace, config: WorkbenchConfig
) -> None:
    frames = province_kit.build()
    frames["loans"] = set_cell(frames["loans"], 0, "bank_code", "NOBANK")
    report = validate_frames(frames, config=config)
    assert report.headline().startswith(
        "validation found 2 kinds of error in 2 tables (4 rows with errors)"
    )
    console = Console(width=200, record=True)
    console.print(report_table(report))
    text = console.export_text()
    assert "bank_code" in text
    assert "unknown bank code" in text
    assert "LN0001" in text
    summary = report.summary()
    assert summary.filter(pl.col("column") == "bank_code").get_column("count").to_list() == [1]


def test_require_validated_refuses_missing_and_stale_records(
    tmp_path: Path,
    province_kit: SimpleNamespace,
    project_config: Path,
) -> None:
    cfg = load_config(project_config)
    with pytest.raises(InputFileError, match="scoring validate --quarantine"):
        require_validated(cfg)
    raw = province_kit.write(province_kit.build(), cfg.paths.raw)
    report = validate_records(raw, config=cfg)
    write_validated(report, validated_dir=cfg.paths.validated, quarantine_dir=cfg.paths.quarantine)
    assert require_validated(cfg) == cfg.paths.validated
    (cfg.paths.validated / "loans.parquet").unlink()
    with pytest.raises(InputFileError, match="missing loans"):
        require_validated(cfg)
    write_validated(report, validated_dir=cfg.paths.validated, quarantine_dir=cfg.paths.quarantine)
    st = (raw / "loans.parquet").stat()
    os.utime(raw / "loans.parquet", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(ValidationFailed, match="loans.parquet' must be unchanged"):
        require_validated(cfg)
    # writing from a report whose source changed since is refused as well
    with pytest.raises(ValidationFailed, match="validate again"):
        write_validated(report, validated_dir=tmp_path / "v2", quarantine_dir=tmp_path / "q2")


def test_bad_arguments_are_refused(province_kit: SimpleNamespace, config: WorkbenchConfig) -> None:
    with pytest.raises(DataError, match="'tables' must name tables"):
        validate_frames(province_kit.build(), config=config, tables=["loanz"])
    with pytest.raises(DataError, match="'max_ids' must be >= 0"):
        validate_frames(province_kit.build(), config=config, max_ids=-1)
    report = validate_frames(province_kit.build(), config=config)
    with pytest.raises(DataError, match="'quarantine_dir' must differ"):
        write_validated(report, validated_dir=Path("/tmp/x"), quarantine_dir=Path("/tmp/x"))


# --------------------------------------------------------------------------- synthetic province

# What validation calls each kind of fault the generator plants (scoring.synth._faults).
CHECKS_FOR_KIND = {
    "duplicate": {"duplicate_submission"},
    "invalid_code": {"check_char"},
    "orphan": {"orphan"},
    "impossible_date": {"date_order", "date_range"},
    "wrong_unit": {"range"},
}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic province at scale 0.02, with and without faults."""
    from scoring.synth import generate_province

    root = tmp_path_factory.mktemp("synthetic")
    cfg = load_config()
    for faults in (False, True):
        sub = root / ("faulty" if faults else "clean")
        generate_province(
            cfg, out=sub / "raw", truth=sub / "truth", scale=0.02, seed=7, faults=faults
        )
    return root


def test_synthetic_province_without_faults_validates_clean(
    synthetic: Path, config: WorkbenchConfig
) -> None:
    report = validate_records(synthetic / "clean" / "raw", config=config)
    assert report.ok, report.headline()
    # gaps in monthly series are behaviour of the generator, and only warnings
    assert {p.check for p in report.warnings} <= {"missing_months"}
    assert sum(t.rows for t in report.tables.values()) > 50_000


def test_every_planted_fault_is_reported_with_table_column_and_key(
    synthetic: Path, config: WorkbenchConfig
) -> None:
    report = validate_records(synthetic / "faulty" / "raw", config=config, max_ids=None)
    faults = pl.read_parquet(synthetic / "faulty" / "truth" / "faults.parquet")
    assert set(faults.get_column("kind")) == set(CHECKS_FOR_KIND)
    found = {(p.table, p.column, p.check, key) for p in report.errors for key in p.row_ids}
    missed = [
        row
        for row in faults.iter_rows(named=True)
        if not any(
            (row["table"], row["column"], check, row["record_key"]) in found
            for check in CHECKS_FOR_KIND[row["kind"]]
        )
    ]
    assert not missed, missed[:5]
    assert faults.height > 300


def test_quarantined_province_adds_up_and_validates_clean(
    synthetic: Path, tmp_path: Path, config: WorkbenchConfig
) -> None:
    report = validate_records(synthetic / "faulty" / "raw", config=config)
    out = write_validated(
        report,
        validated_dir=tmp_path / "validated",
        quarantine_dir=tmp_path / "quarantine",
        quarantine=True,
    )
    assert out.quarantined == sum(t.error_rows for t in report.tables.values()) > 0
    for name, (n_in, n_ok, n_bad) in out.counts.items():
        assert n_in == n_ok + n_bad == report.tables[name].rows
    again = validate_records(tmp_path / "validated", config=config)
    assert again.ok, again.headline()
