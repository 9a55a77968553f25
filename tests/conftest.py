"""Shared test fixtures.

``tiny_province``: a hand-made, schema-valid province (a few rows per raw table of
``scoring.schema.TABLES``), built with the real code functions, for tests that plant
one fault at a time. Owned by the validation tests; other tests may use it.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest

from scoring.codes import org_code_check_char, resident_id_check_char, uscc_check_char
from scoring.schema import TABLES

PROJECT_ROOT = Path(__file__).resolve().parent.parent

CITY, COUNTY = "440100", "440101"
TOWN, VILLAGE = "440101001", "440101001001"


def make_uscc(n: int, *, county: str = COUNTY) -> str:
    """A valid unified social credit code (GB 32100) for enterprise number ``n``."""
    org8 = f"MA{n:06d}"
    first17 = f"91{county}{org8}{org_code_check_char(org8)}"
    return first17 + uscc_check_char(first17)


def make_resident_id(n: int, *, born: str = "19700101") -> str:
    """A valid synthetic resident id number (GB 11643) for person number ``n``."""
    first17 = f"{COUNTY}{born}{n % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def _d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def _months(start: str, n: int) -> list[dt.date]:
    d = _d(start)
    out = []
    for _ in range(n):
        out.append(d)
        d = dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return out


def _frame(name: str, data: dict[str, list[Any]]) -> pl.DataFrame:
    schema = TABLES[name].schema
    assert list(data) == list(schema), f"{name}: fixture columns out of step with the schema"
    return pl.DataFrame(data, schema=schema)


def build_tiny_province() -> dict[str, pl.DataFrame]:
    """Every raw table, a few valid rows each; no problem of any severity."""
    smes = [make_uscc(i) for i in range(1, 4)]
    hh = ["HH440101001001001", "HH440101001001002"]
    f: dict[str, pl.DataFrame] = {}
    f["enterprises"] = _frame(
        "enterprises",
        {
            "credit_code": smes,
            "name": ["甲公司", "乙公司", "丙公司"],
            "city_code": [CITY] * 3,
            "county_code": [COUNTY] * 3,
            "industry": ["C", "G", "I"],
            "size_class": ["micro", "small", "medium"],
            "registered_capital": [50.0, 300.0, 2000.0],
            "established_date": [_d("2005-03-01"), _d("2009-07-15"), _d("1998-11-20")],
            "deregistered_date": [None, None, _d("2014-06-30")],
        },
    )
    f["households"] = _frame(
        "households",
        {
            "household_id": hh,
            "head_id_number": [make_resident_id(1), make_resident_id(2, born="19651231")],
            "head_name": ["张三", "李四"],
            "city_code": [CITY] * 2,
            "county_code": [COUNTY] * 2,
            "town_code": [TOWN] * 2,
            "village_code": [VILLAGE] * 2,
            "members": [4, 6],
            "labourers": [2, 3],
            "land_area": [5.5, 12.0],
            "main_income_source": ["crops", "livestock"],
            "cooperative_member": [True, False],
            "registered_date": [_d("2009-05-01"), _d("2010-02-01")],
        },
    )
    periods = _months("2012-01-01", 3)
    tf = [(c, p) for c in smes for p in periods]
    f["tax_filings"] = _frame(
        "tax_filings",
        {
            "record_id": [f"TF{i:05d}" for i in range(len(tf))],
            "credit_code": [c for c, _ in tf],
            "period": [p for _, p in tf],
            "due_date": [p + dt.timedelta(days=45) for _, p in tf],
            "filed_date": [p + dt.timedelta(days=40) for _, p in tf],
            "revenue": [120000.0] * len(tf),
            "tax_payable": [6000.0] * len(tf),
            "tax_paid": [6000.0] * len(tf),
            "zero_declaration": [False] * len(tf),
        },
    )
    f["tax_violations"] = _frame(
        "tax_violations",
        {
            "record_id": ["TV00001"],
            "credit_code": [smes[1]],
            "event_date": [_d("2012-04-10")],
            "indicator_code": ["LATE_WITHHOLDING"],
            "amount": [None],
            "ended_date": [_d("2012-05-01")],
        },
    )
    f["loans"] = _frame(
        "loans",
        {
            "loan_id": ["LN0001", "LN0002"],
            "entity_type": ["sme", "household"],
            "entity_id": [smes[0], hh[0]],
            "bank_code": ["ICBCGD", "GDRCU"],
            "purpose": ["working_capital", "agriculture"],
            "origination_date": [_d("2012-01-15"), _d("2012-01-20")],
            "maturity_date": [_d("2013-01-15"), _d("2013-01-20")],
            "principal": [500000.0, 30000.0],
        },
    )
    rep = [(ln, m) for ln in ("LN0001", "LN0002") for m in _months("2012-02-01", 3)]
    f["loan_repayments"] = _frame(
        "loan_repayments",
        {
            "record_id": [f"LR{i:05d}" for i in range(len(rep))],
            "loan_id": [ln for ln, _ in rep],
            "month": [m for _, m in rep],
            "balance": [400000.0, 300000.0, 200000.0, 25000.0, 20000.0, 15000.0],
            "amount_due": [100000.0] * 3 + [5000.0] * 3,
            "amount_paid": [100000.0] * 3 + [5000.0] * 3,
            "days_past_due": [0, 0, 0, 0, 15, 0],
        },
    )
    si = [(c, m) for c in smes[:2] for m in _months("2012-01-01", 2)]
    f["social_insurance"] = _frame(
        "social_insurance",
        {
            "record_id": [f"SI{i:05d}" for i in range(len(si))],
            "credit_code": [c for c, _ in si],
            "month": [m for _, m in si],
            "employees": [12, 12, 40, 41],
            "contribution_due": [9000.0, 9000.0, 30000.0, 30500.0],
            "contribution_paid": [9000.0, 9000.0, 30000.0, 30500.0],
        },
    )
    ut = [("sme", smes[0]), ("household", hh[1])]
    um = [(t, e, m) for t, e in ut for m in _months("2012-01-01", 2)]
    f["utility_payments"] = _frame(
        "utility_payments",
        {
            "record_id": [f"UP{i:05d}" for i in range(len(um))],
            "entity_type": [t for t, _, _ in um],
            "entity_id": [e for _, e, _ in um],
            "utility": ["electricity"] * len(um),
            "month": [m for _, _, m in um],
            "usage": [5200.0, 5100.0, 210.0, 190.0],
            "amount_due": [4200.0, 4100.0, 120.0, 110.0],
            "days_late": [0, 3, 0, 0],
        },
    )
    f["court_enforcement"] = _frame(
        "court_enforcement",
        {
            "record_id": ["CE00001"],
            "entity_type": ["sme"],
            "entity_id": [smes[2]],
            "case_number": ["(2013)穗中法执字第123号"],
            "filed_date": [_d("2013-03-01")],
            "closed_date": [_d("2013-06-01")],
            "amount": [80000.0],
            "dishonest": [False],
        },
    )
    f["admin_penalties"] = _frame(
        "admin_penalties",
        {
            "record_id": ["AP00001"],
            "credit_code": [smes[2]],
            "decision_date": [_d("2013-08-08")],
            "severity": ["general"],
            "authority": ["environment"],
            "amount": [20000.0],
        },
    )
    f["agri_subsidies"] = _frame(
        "agri_subsidies",
        {
            "record_id": ["AS00001", "AS00002"],
            "household_id": hh,
            "pay_date": [_d("2012-03-15"), _d("2012-03-15")],
            "subsidy_type": ["grain", "machinery"],
            "amount": [800.0, 3000.0],
        },
    )
    f["agri_insurance"] = _frame(
        "agri_insurance",
        {
            "record_id": ["AI00001"],
            "household_id": [hh[1]],
            "policy_start": [_d("2012-04-01")],
            "policy_end": [_d("2013-03-31")],
            "crop": ["pigs"],
            "insured_amount": [50000.0],
            "premium": [1500.0],
            "claim_paid": [0.0],
        },
    )
    f["public_records"] = _frame(
        "public_records",
        {
            "record_id": ["PR00001"],
            "household_id": [hh[0]],
            "event_date": [_d("2011-09-01")],
            "item_code": ["VOLUNTEER"],
            "ended_date": [None],
        },
    )
    f["consents"] = _frame(
        "consents",
        {
            "consent_id": ["CS00001", "CS00002"],
            "entity_type": ["sme", "household"],
            "entity_id": [smes[0], hh[0]],
            "bank_code": ["ICBCGD", "GDRCU"],
            "purpose": ["credit_approval", "credit_approval"],
            "granted_date": [_d("2012-01-05"), _d("2012-01-10")],
            "expiry_date": [_d("2013-01-05"), _d("2013-01-10")],
            "withdrawn_date": [None, None],
        },
    )
    f["disputes"] = _frame(
        "disputes",
        {
            "dispute_id": ["DS00001"],
            "entity_type": ["household"],
            "entity_id": [hh[0]],
            "source_table": ["loan_repayments"],
            "source_record_id": ["LR00004"],
            "opened_date": [_d("2012-05-02")],
            "reason": ["逾期记录有误 overdue record wrong"],
            "resolved_date": [_d("2012-05-20")],
            "outcome": ["corrected"],
        },
    )
    assert set(f) == set(TABLES), "the tiny province must cover every raw table"
    return f


def write_tables(frames: dict[str, pl.DataFrame], folder: Path, *, fmt: str = "parquet") -> Path:
    """Write every frame as ``<table>.<fmt>`` into ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in frames.items():
        if fmt == "csv":
            df.write_csv(folder / f"{name}.csv")
        else:
            df.write_parquet(folder / f"{name}.parquet")
    return folder


@pytest.fixture
def tiny_province() -> dict[str, pl.DataFrame]:
    """A fresh copy of the tiny valid province (mutate it freely)."""
    return build_tiny_province()


@pytest.fixture
def province_kit() -> SimpleNamespace:
    """The fixture helpers for test modules (which cannot import conftest):
    ``build()``, ``write(frames, folder, fmt=...)``, ``uscc(n)``, ``resident_id(n)``."""
    return SimpleNamespace(
        build=build_tiny_province,
        write=write_tables,
        uscc=make_uscc,
        resident_id=make_resident_id,
    )


@pytest.fixture
def project_config(tmp_path: Path) -> Path:
    """A copy of configs/workbench.toml whose data paths all lie under ``tmp_path``."""
    (tmp_path / "configs").mkdir()
    target = tmp_path / "configs" / "workbench.toml"
    shutil.copy(PROJECT_ROOT / "configs" / "workbench.toml", target)
    return target


# ----------------------------------------------------------------------------- model stores


def build_generated_province(root: Path) -> Path:
    """Generate, validate, rate and collect a province at scale 0.1 under ``root``.

    Returns the path of its configuration (a copy of the project's, paths under ``root``).
    """
    from click.testing import CliRunner

    from scoring.cli import cli
    from scoring.config import load_config
    from scoring.synth import generate_province

    (root / "configs").mkdir(parents=True)
    config = root / "configs" / "workbench.toml"
    shutil.copy(PROJECT_ROOT / "configs" / "workbench.toml", config)
    cfg = load_config(config)
    generate_province(
        cfg, out=cfg.paths.raw, truth=cfg.paths.truth, scale=0.1, seed=11, faults=True
    )
    for args in (["validate", "--quarantine"], ["rate", "tax"], ["collect"]):
        result = CliRunner().invoke(cli, ["--config", str(config), *args])
        assert result.exit_code == 0, result.output
    return config


def empty_store(cfg: Any, cache: Path) -> None:
    """An empty, migrated MLflow store at ``cfg.paths.mlruns`` (a copy of one made once)."""
    from scoring.config import load_config
    from scoring.tracking import connect

    template = cache / "mlflow-empty.db"
    if not template.exists():
        scratch = cache / "mlflow-template"
        connect(load_config(cfg.source).with_root(scratch))
        shutil.copy(scratch / "mlruns" / "mlflow.db", template)
    cfg.paths.mlruns.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, cfg.paths.mlruns / "mlflow.db")


def copy_workbench(province: Path, root: Path, cache: Path) -> Any:
    """Config, credit files and truth of ``province`` under ``root``, with an empty store."""
    from scoring.config import load_config

    (root / "configs").mkdir(parents=True)
    shutil.copy(province, root / "configs" / "workbench.toml")
    src, cfg = load_config(province), load_config(root / "configs" / "workbench.toml")
    for folder in ("curated", "truth"):
        shutil.copytree(getattr(src.paths, folder), getattr(cfg.paths, folder))
    empty_store(cfg, cache)
    return cfg


@pytest.fixture(scope="session")
def store_kit() -> SimpleNamespace:
    """Helpers for the model lifecycle tests (which cannot import conftest):
    ``build_province(root)``, ``empty_store(cfg, cache)``, ``copy_workbench(...)``."""
    return SimpleNamespace(
        build_province=build_generated_province,
        empty_store=empty_store,
        copy_workbench=copy_workbench,
    )
