"""The real ``scoring`` command, run as a subprocess: clear one-line errors, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from scoring.config import load_config


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCORING_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # slow imports otherwise
    env["SCORING_PROGRESS"] = "0"
    return subprocess.run(
        [sys.executable, "-m", "scoring.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture
def raw(project_config: Path, province_kit: SimpleNamespace) -> Path:
    """The tiny valid province written where the config's paths.raw points."""
    folder = load_config(project_config).paths.raw
    return province_kit.write(province_kit.build(), folder)  # type: ignore[no-any-return]


def test_missing_folder(project_config: Path, tmp_path: Path) -> None:
    proc = run(project_config, "validate", str(tmp_path / "no_such_folder"))
    assert_one_line_error(proc, "must be an existing folder", "no_such_folder")


def test_missing_table_and_default_folder(project_config: Path, raw: Path) -> None:
    (raw / "consents.parquet").unlink()
    proc = run(project_config, "validate")  # FOLDER defaults to paths.raw
    assert_one_line_error(proc, str(raw), "missing: consents")


def test_truncated_parquet(project_config: Path, raw: Path) -> None:
    path = raw / "loans.parquet"
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    proc = run(project_config, "validate", str(raw))
    assert_one_line_error(proc, "loans.parquet", "must be a readable parquet file")


def test_empty_file(project_config: Path, raw: Path) -> None:
    (raw / "households.parquet").unlink()
    (raw / "households.csv").write_bytes(b"")
    proc = run(project_config, "validate", str(raw))
    assert_one_line_error(proc, "households.csv", "must not be empty")


def test_wrong_column_type(project_config: Path, raw: Path) -> None:
    df = pl.read_parquet(raw / "households.parquet")
    df.with_columns(pl.col("registered_date").cast(pl.Int64)).write_parquet(
        raw / "households.parquet"
    )
    proc = run(project_config, "validate", str(raw))
    assert_one_line_error(proc, "households.registered_date", "cannot hold a date")
    # quarantine cannot fix a column: still a clear error, nothing validated
    proc = run(project_config, "validate", str(raw), "--quarantine")
    assert_one_line_error(proc, "registered_date", "has type Int64, expected Date")
    assert not load_config(project_config).paths.validated.exists()


def test_unparseable_csv_values(project_config: Path, raw: Path) -> None:
    df = pl.read_parquet(raw / "households.parquet")
    (raw / "households.parquet").unlink()
    df.with_columns(pl.col("members").cast(pl.String).replace("6", "six")).write_csv(
        raw / "households.csv"
    )
    proc = run(project_config, "validate", str(raw))
    assert_one_line_error(proc, "households.members: not a whole number (1)")


def test_unknown_region_code(project_config: Path, raw: Path, tmp_path: Path) -> None:
    df = pl.read_parquet(raw / "enterprises.parquet")
    df.with_columns(city_code=pl.lit("449900")).write_parquet(raw / "enterprises.parquet")
    report = tmp_path / "report.json"
    proc = run(project_config, "validate", str(raw), "--report", str(report))
    assert_one_line_error(proc, "enterprises.city_code: unknown city code (3)", str(report))
    assert "unknown city code" in proc.stdout  # the printed table
    problems = json.loads(report.read_text())["problems"]
    region = [p for p in problems if p["check"] == "region"]
    assert region[0]["table"] == "enterprises"
    assert region[0]["row_numbers"] == [1, 2, 3]
    assert not load_config(project_config).paths.validated.exists()


def test_clean_records_are_validated(project_config: Path, raw: Path) -> None:
    cfg = load_config(project_config)
    proc = run(project_config, "validate")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "validation passed: 40 rows in 15 tables, no errors." in proc.stdout
    assert (cfg.paths.validated / "tax_filings.parquet").is_file()
    assert (cfg.paths.reports / "validation_report.json").is_file()


def test_quarantine_sets_rows_aside_and_exits_zero(project_config: Path, raw: Path) -> None:
    cfg = load_config(project_config)
    df = pl.read_parquet(raw / "loans.parquet")
    df.with_columns(bank_code=pl.lit("NOBANK")).write_parquet(raw / "loans.parquet")
    proc = run(project_config, "validate", "--quarantine")
    assert proc.returncode == 0, proc.stderr
    assert "quarantined: 9 rows" in proc.stdout  # 2 loans, 6 repayments, 1 dispute
    bad = pl.read_parquet(cfg.paths.quarantine / "loans.parquet")
    assert bad.get_column("reasons").to_list() == [["bank_code: unknown bank code"]] * 2


def test_help_lists_the_options(project_config: Path) -> None:
    proc = run(project_config, "validate", "--help")
    assert proc.returncode == 0
    assert "--quarantine" in proc.stdout
    assert "--report" in proc.stdout


def test_generate_sets_the_objection_store_of_the_replaced_province_aside(
    project_config: Path,
) -> None:
    from scoring.disputes import DisputeStore

    cfg = load_config(project_config)
    store = DisputeStore.from_config(cfg)
    store.open(
        entity_type="sme",
        entity_id="E1",
        source_table="loans",
        source_record_id="L1",
        reason="wrong amount",
        actor="STAFF01",
    )
    args = ["generate", "--scale", "0.01", "--seed", "3"]
    result = run(project_config, *args)
    assert result.returncode == 0, result.stderr
    assert not cfg.paths.disputes_db.exists()
    aside = list(cfg.paths.disputes_db.parent.glob("disputes.*.sqlite"))
    assert len(aside) == 1
    assert f"set aside -> {aside[0]}" in result.stdout
    assert DisputeStore(aside[0]).disputes().get_column("entity_id").to_list() == ["E1"]
    # generating elsewhere (--out) leaves the store of paths.raw alone
    DisputeStore.from_config(cfg).open(
        entity_type="sme",
        entity_id="E2",
        source_table="loans",
        source_record_id="L2",
        reason="wrong amount",
        actor="STAFF01",
    )
    elsewhere = cfg.paths.raw.parent / "elsewhere"
    result = run(project_config, *args, "--out", str(elsewhere))
    assert result.returncode == 0, result.stderr
    assert cfg.paths.disputes_db.exists()
    assert "set aside" not in result.stdout
