from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
from click.testing import CliRunner

from scoring.cli import cli
from scoring.codes import is_valid_resident_id
from scoring.config import WorkbenchConfig, load_config
from scoring.consent import REASON_COLUMNS
from scoring.disputes import DisputeStore
from scoring.exceptions import (
    ConfigError,
    DataError,
    InputFileError,
    SchemaError,
    VerificationFailed,
)
from scoring.exports import (
    CSV_NAME,
    MANIFEST_NAME,
    PARQUET_NAME,
    SIGNATURE_NAME,
    TEMP_PREFIX,
    export_scores,
    scored_path,
    verify_export,
)
from scoring.features import feature_names
from scoring.schema import TABLES

AS_OF = dt.date(2013, 12, 31)
D = dt.date.fromisoformat


def _clean_env() -> dict[str, str]:
    """The environment for a child process: no SCORING_* settings, bytecode caching on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCORING_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


CA = "credit_approval"
BANKS = ("GZBANK", "ICBCGD", "GDRCU")  # permission levels 1, 2, 3
PROJECT = Path(__file__).resolve().parent.parent

# (household id, consent kind) -> expected status on AS_OF for every bank, purpose CA
PLAN = {
    **{f"H{i:02d}": "valid" for i in range(1, 11)},
    **{f"H{i:02d}": "expired" for i in range(11, 14)},
    **{f"H{i:02d}": "withdrawn" for i in range(14, 16)},
    "H16": "wrong_purpose",
    "H17": "other_bank",
    "H18": "none",
    "H19": "none",
    "H20": "none",
    "H21": "future",
}
EXPECTED_EXCLUDED = {"no_consent": 5, "expired": 3, "withdrawn": 2, "wrong_purpose": 1}


def _consent_rows(entity_type: str, ids: dict[str, str]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for bank in BANKS:
        for ent, kind in ids.items():
            row: dict[str, object] = {
                "consent_id": f"CS-{bank}-{ent}",
                "entity_type": entity_type,
                "entity_id": ent,
                "bank_code": bank,
                "purpose": CA,
                "granted_date": D("2013-01-01"),
                "expiry_date": D("2014-06-30"),
                "withdrawn_date": None,
            }
            if kind == "none":
                continue
            if kind == "expired":
                row["expiry_date"] = AS_OF
            elif kind == "withdrawn":
                row["withdrawn_date"] = AS_OF
            elif kind == "wrong_purpose":
                row["purpose"] = "guarantee"
            elif kind == "other_bank":
                row["bank_code"] = "XBANK"
            elif kind == "future":
                row["granted_date"] = D("2014-01-01")
            rows.append(row)
    return rows


def scored_frame(segment: str, ids: list[str], *, as_of: dt.date = AS_OF) -> pl.DataFrame:
    n = len(ids)
    return pl.DataFrame(
        {
            "entity_id": ids,
            "segment": [segment] * n,
            "as_of": [as_of] * n,
            "region_code": ["440101"] * n,
            "score": [500 + 7 * i for i in range(n)],
            "grade": ["AA" if i % 2 else "A" for i in range(n)],
            "pd": [0.01 + 0.003 * i for i in range(n)],
            **{
                c: [
                    {"code": "MAX_DPD_12M", "zh": "近12个月最长逾期天数", "en": "Longest delay"}[
                        c.rsplit("_", 1)[1]
                    ]
                    if i % 3
                    else None
                    for i in range(n)
                ]
                for c in REASON_COLUMNS
            },
            "model_name": [f"{segment}-credit"] * n,
            "model_version": ["3"] * n,
            "run_id": ["0123456789abcdef0123456789abcdef"] * n,
        },
        schema_overrides={"score": pl.Int32},
    )


def _households(province_kit: SimpleNamespace) -> pl.DataFrame:
    ids = sorted(PLAN)
    n = len(ids)
    return pl.DataFrame(
        {
            "household_id": ids,
            "head_id_number": [province_kit.resident_id(i + 1) for i in range(n)],
            "head_name": [
                f"{'张李王陈'[i % 4]}{'一二三四五六七八九十'[i % 10]}{i}" for i in range(n)
            ],
            "city_code": ["440100"] * n,
            "county_code": ["440101"] * n,
            "town_code": ["440101001"] * n,
            "village_code": ["440101001001"] * n,
            "members": [4] * n,
            "labourers": [2] * n,
            "land_area": [5.0] * n,
            "main_income_source": ["crops"] * n,
            "cooperative_member": [True] * n,
            "registered_date": [D("2009-01-01")] * n,
        },
        schema=TABLES["households"].schema,
    )


def _credit_file(segment: str, ids: list[str]) -> pl.DataFrame:
    names = feature_names(segment)[:3]
    frames = []
    for snap in (D("2012-12-31"), AS_OF):
        frames.append(
            pl.DataFrame(
                {
                    "entity_id": ids,
                    "snapshot_date": [snap] * len(ids),
                    **{
                        n: [float(i + k) + (snap.year - 2012) * 100 for i in range(len(ids))]
                        for k, n in enumerate(names)
                    },
                    "default": [0] * len(ids),
                }
            )
        )
    return pl.concat(frames)


@pytest.fixture
def world(tmp_path: Path, province_kit: SimpleNamespace) -> SimpleNamespace:
    """A config rooted in tmp_path with scores, consents, households, credit files, disputes."""
    cfg = load_config().with_root(tmp_path)
    hh = sorted(PLAN)
    smes = [province_kit.uscc(i) for i in range(1, 7)]
    kinds = ["valid", "valid", "valid", "expired", "withdrawn", "none"]
    sme_plan = dict(zip(smes, kinds, strict=True))
    for segment, ids in (("household", hh), ("sme", smes)):
        path = scored_path(cfg, segment=segment, as_of=AS_OF)
        path.parent.mkdir(parents=True, exist_ok=True)
        scored_frame(segment, ids).write_parquet(path)
        cfg.paths.curated.mkdir(parents=True, exist_ok=True)
        _credit_file(segment, ids).write_parquet(
            cfg.paths.curated / f"{segment}_credit_files.parquet"
        )
    cfg.paths.validated.mkdir(parents=True)
    pl.DataFrame(
        _consent_rows("household", PLAN) + _consent_rows("sme", sme_plan),
        schema=TABLES["consents"].schema,
    ).write_parquet(cfg.paths.validated / "consents.parquet")
    households = _households(province_kit)
    households.write_parquet(cfg.paths.validated / "households.parquet")
    store = DisputeStore.from_config(cfg)
    kw = {"entity_type": "household", "source_table": "loans", "actor": "clerk-1"}
    store.open(entity_id="H01", source_record_id="L1", reason="r", opened_on=D("2013-12-20"), **kw)
    old = store.open(
        entity_id="H02", source_record_id="L2", reason="r", opened_on=D("2013-11-01"), **kw
    )
    store.resolve(old.dispute_id, outcome="upheld", actor="clerk-2", resolved_on=D("2013-12-01"))
    store.open(entity_id="H03", source_record_id="L3", reason="r", opened_on=D("2014-01-05"), **kw)
    return SimpleNamespace(cfg=cfg, households=households, smes=smes, root=tmp_path)


def _export(cfg: WorkbenchConfig, bank: str, segment: str = "household", **kw: object):  # type: ignore[no-untyped-def]
    return export_scores(cfg, bank=bank, segment=segment, as_of=AS_OF, **kw)  # type: ignore[arg-type]


def test_level_2_export_rows_counts_flags_and_manifest(world: SimpleNamespace) -> None:
    res = _export(world.cfg, "ICBCGD")
    assert res.path.parent == world.cfg.paths.exports / "ICBCGD" / "household" / "2013-12-31"
    assert sorted(p.name for p in res.path.iterdir()) == [MANIFEST_NAME, CSV_NAME, PARQUET_NAME]
    df = pl.read_parquet(res.path / PARQUET_NAME)
    assert df["entity_id"].to_list() == [f"H{i:02d}" for i in range(1, 11)]
    assert df["consent_id"].to_list() == [f"CS-ICBCGD-H{i:02d}" for i in range(1, 11)]
    # open on the as-of date: H01 only (H02 settled before, H03 opened after)
    assert df.filter(pl.col("under_dispute"))["entity_id"].to_list() == ["H01"]
    assert {"pd", *REASON_COLUMNS} <= set(df.columns)
    assert not any(c.startswith("feature_") for c in df.columns)
    assert "region_code" not in df.columns
    assert df["as_of"].unique().to_list() == [AS_OF]
    m = json.loads((res.path / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert m["rows"] == {
        "scored": len(PLAN),
        "exported": 10,
        "excluded": EXPECTED_EXCLUDED,
        "under_dispute": 1,
    }
    assert dict(res.excluded) == EXPECTED_EXCLUDED
    assert m["bank"]["permission_level"] == 2
    assert m["purpose"] == CA
    assert m["model"] == {
        "name": "household-credit",
        "version": "3",
        "run_id": "0123456789abcdef0123456789abcdef",
    }
    assert m["as_of"] == "2013-12-31"
    assert m["schema_version"] == 1
    assert "5 years" in m["negative_information"]
    for name in (PARQUET_NAME, CSV_NAME):
        digest = hashlib.sha256((res.path / name).read_bytes()).hexdigest()
        assert m["files"][name]["sha256"] == digest
    assert verify_export(res.path, config=world.cfg).ok


def test_level_1_has_no_pd_or_reasons_and_level_3_has_features(world: SimpleNamespace) -> None:
    one = _export(world.cfg, "GZBANK")
    for frame in (
        pl.read_parquet(one.path / PARQUET_NAME),
        pl.read_csv(one.path / CSV_NAME),
    ):
        assert "pd" not in frame.columns
        assert not [c for c in frame.columns if c.startswith("reason_")]
        assert {"score", "grade", "under_dispute", "model_version"} <= set(frame.columns)
    three = _export(world.cfg, "GDRCU")
    df = pl.read_parquet(three.path / PARQUET_NAME)
    names = feature_names("household")[:3]
    assert [c for c in df.columns if c.startswith("feature_")] == [f"feature_{n}" for n in names]
    # values of the as-of snapshot (not 2012's): entity i has i + k + 100
    assert df[f"feature_{names[0]}"].to_list() == [float(i) + 100 for i in range(10)]
    for res in (one, three):
        assert verify_export(res.path, config=world.cfg).ok


def test_verify_refuses_a_manifest_claiming_more_than_the_level(world: SimpleNamespace) -> None:
    res = _export(world.cfg, "ICBCGD")
    m = json.loads((res.path / MANIFEST_NAME).read_text(encoding="utf-8"))
    m["bank"]["permission_level"] = 1
    (res.path / MANIFEST_NAME).write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(VerificationFailed, match="exceed permission level 1"):
        verify_export(res.path, config=world.cfg)


def test_tampered_files_fail_verify(world: SimpleNamespace) -> None:
    res = _export(world.cfg, "ICBCGD")
    csv_path = res.path / CSV_NAME
    original = csv_path.read_bytes()
    # change one score in the CSV: same size, different checksum and values
    text = original.decode("utf-8-sig")
    first = text.splitlines()[1]
    score = first.split(",")[3]
    csv_path.write_bytes(b"\xef\xbb\xbf" + text.replace(score, str(int(score) + 1), 1).encode())
    with pytest.raises(VerificationFailed, match=r"scores\.csv SHA-256 is") as info:
        verify_export(res.path)
    assert "values differ" in str(info.value)
    csv_path.write_bytes(original)
    assert verify_export(res.path).ok
    # a rewritten Parquet with one row dropped, checksum "fixed" in the manifest: counts catch it
    pq = res.path / PARQUET_NAME
    pl.read_parquet(pq).head(9).write_parquet(pq)
    m = json.loads((res.path / MANIFEST_NAME).read_text(encoding="utf-8"))
    m["files"][PARQUET_NAME] |= {
        "sha256": hashlib.sha256(pq.read_bytes()).hexdigest(),
        "bytes": pq.stat().st_size,
    }
    (res.path / MANIFEST_NAME).write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(VerificationFailed, match="scores.parquet has 9 rows; manifest says 10"):
        verify_export(res.path)
    # an extra file, a missing file
    other = _export(world.cfg, "ICBCGD")
    (other.path / "notes.txt").write_text("x")
    (other.path / CSV_NAME).unlink()
    with pytest.raises(
        VerificationFailed, match="unexpected file notes.txt.*scores.csv is missing"
    ):
        verify_export(other.path)


def test_cli_export_and_verify_exit_codes(world: SimpleNamespace) -> None:
    toml = world.root / "workbench.toml"
    toml.write_text(
        (PROJECT / "configs" / "workbench.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    assert load_config(toml).paths.exports == world.cfg.paths.exports
    runner = CliRunner()
    args = ["--config", str(toml), "export"]
    run = runner.invoke(
        cli, [*args, "--bank", "GZBANK", "--segment", "sme", "--as-of", "2013-12-31"]
    )
    assert run.exit_code == 0, run.output
    assert "exported 3 rows" in run.output
    assert "no_consent 1, expired 1, withdrawn 1, wrong_purpose 0" in run.output
    path = Path(run.output.split(" to ")[1].splitlines()[0])
    assert "not signed (set $SCORING_EXPORT_SIGN_KEY_GZBANK to sign the manifest)" in run.output
    ok = runner.invoke(cli, [*args, "verify", str(path)])
    assert ok.exit_code == 0
    assert ok.output.startswith("ok: ")
    assert ok.output.strip().endswith("signature unsigned")
    required = runner.invoke(cli, [*args, "verify", "--require-signature", str(path)])
    assert required.exit_code == 1
    assert "manifest.sig is missing" in required.output
    pq = path / PARQUET_NAME
    pq.write_bytes(pq.read_bytes()[:-10])
    bad = runner.invoke(cli, [*args, "verify", str(path)])
    assert bad.exit_code == 1
    assert bad.output.startswith("error: ")
    assert "scores.parquet" in bad.output
    missing = runner.invoke(cli, [*args, "--bank", "GZBANK"])
    assert missing.exit_code == 2
    assert "--segment" in missing.output
    unknown = runner.invoke(
        cli, [*args, "--bank", "NOPE", "--segment", "sme", "--as-of", "2013-12-31"]
    )
    assert unknown.exit_code == 2
    assert unknown.output.startswith("error: 'bank' must be one of")


def test_every_export_is_a_new_folder(world: SimpleNamespace) -> None:
    a = _export(world.cfg, "ICBCGD")
    before = {p.name: p.read_bytes() for p in a.path.iterdir()}
    b = _export(world.cfg, "ICBCGD")
    assert a.export_id != b.export_id
    assert a.path.parent == b.path.parent
    assert {p.name: p.read_bytes() for p in a.path.iterdir()} == before
    assert verify_export(a.path).ok
    assert verify_export(b.path).ok


_KILLED = """
import datetime as dt, sys
from scoring.config import load_config
from scoring.exports import export_scores
cfg = load_config().with_root(sys.argv[1])
export_scores(cfg, bank="ICBCGD", segment="household", as_of=dt.date(2013, 12, 31))
"""


def test_an_export_killed_half_way_leaves_no_visible_export(world: SimpleNamespace) -> None:
    env = {**_clean_env(), "PYTHONPATH": str(PROJECT), "SCORING_TEST_EXPORT_PAUSE": "30"}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(world.root)], env=env)
    parent = world.cfg.paths.exports / "ICBCGD" / "household" / "2013-12-31"
    deadline = time.monotonic() + 60
    try:
        while not list(parent.glob(f"{TEMP_PREFIX}*/{PARQUET_NAME}")):
            assert proc.poll() is None, "the export process ended before it was killed"
            assert time.monotonic() < deadline, "the export never started writing"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    entries = list(parent.iterdir())
    assert [p.name for p in entries if not p.name.startswith(TEMP_PREFIX)] == []
    (partial,) = entries
    assert not (partial / MANIFEST_NAME).exists()
    with pytest.raises(VerificationFailed, match="unfinished export"):
        verify_export(partial)
    # the next export is complete and verifies; a fresh leftover is kept (it could be a
    # concurrent export), one untouched for over a day is removed
    res = _export(world.cfg, "ICBCGD")
    assert verify_export(res.path).ok
    assert partial.exists()
    day_old = time.time() - 25 * 3600
    os.utime(partial, (day_old, day_old))
    _export(world.cfg, "ICBCGD")
    assert not partial.exists()


_ID_PATTERN = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


def _cells(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        df = pl.read_parquet(path)
        return [str(v) for col in df.columns for v in df[col].to_list()]
    return [path.read_text(encoding="utf-8-sig")]


def test_no_resident_id_or_name_anywhere_in_exports(world: SimpleNamespace) -> None:
    for bank in BANKS:
        for segment in ("household", "sme"):
            _export(world.cfg, bank, segment)
    files = [p for p in world.cfg.paths.exports.rglob("*") if p.is_file()]
    assert len(files) == 3 * 2 * 3
    ids = set(world.households["head_id_number"])
    names = set(world.households["head_name"])
    scanned = 0
    for path in files:
        for text in _cells(path):
            scanned += 1
            found = [m for m in _ID_PATTERN.findall(text) if is_valid_resident_id(m.upper())]
            assert not found, f"{path}: resident id number {found[0]}"
            assert not ids & set(_ID_PATTERN.findall(text)), path
            assert not [n for n in names if n in text], f"{path}: a head's name"
    assert scanned > 100
    # the scan itself finds an id number and a name when there is one
    planted = world.households["head_id_number"][0]
    assert [m for m in _ID_PATTERN.findall(f"x,{planted},y") if is_valid_resident_id(m)]


def test_an_export_keyed_by_resident_ids_is_refused(world: SimpleNamespace) -> None:
    cfg = world.cfg
    path = scored_path(cfg, segment="household", as_of=AS_OF)
    hh = world.households
    leaked = scored_frame("household", hh["head_id_number"].to_list())
    leaked.write_parquet(path)
    consents = pl.DataFrame(
        _consent_rows("household", dict.fromkeys(hh["head_id_number"], "valid")),
        schema=TABLES["consents"].schema,
    )
    consents.write_parquet(cfg.paths.validated / "consents.parquet")
    with pytest.raises(DataError, match="must not contain a resident id number or a person"):
        _export(cfg, "ICBCGD")
    # a head's name in a reason text is caught too
    named = scored_frame("household", sorted(PLAN)).with_columns(
        pl.lit(hh["head_name"][0]).alias("reason_1_zh")
    )
    named.write_parquet(path)
    pl.DataFrame(_consent_rows("household", PLAN), schema=TABLES["consents"].schema).write_parquet(
        cfg.paths.validated / "consents.parquet"
    )
    with pytest.raises(DataError, match="must not contain"):
        _export(cfg, "ICBCGD")
    assert not (cfg.paths.exports / "ICBCGD").exists()  # nothing written, not even a folder


def test_keyed_hash_of_ids(world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCORING_EXPORT_ID_KEY", raising=False)
    with pytest.raises(ConfigError, match="'SCORING_EXPORT_ID_KEY' must be set"):
        _export(world.cfg, "ICBCGD", hash_ids=True)
    key = "a-bank-shared-secret-0123456789"
    monkeypatch.setenv("SCORING_EXPORT_ID_KEY", key)
    res = _export(world.cfg, "ICBCGD", hash_ids=True)
    df = pl.read_parquet(res.path / PARQUET_NAME)
    expected = sorted(
        hmac.new(key.encode(), f"H{i:02d}".encode(), hashlib.sha256).hexdigest()
        for i in range(1, 11)
    )
    assert sorted(df["entity_id"]) == expected
    m = json.loads((res.path / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert m["entity_id"]["hashed"] is True
    assert key not in (res.path / MANIFEST_NAME).read_text(encoding="utf-8")
    assert verify_export(res.path).ok


def test_signed_manifest(world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    name = "SCORING_EXPORT_SIGN_KEY_ICBCGD"
    monkeypatch.setenv(name, "short")
    with pytest.raises(ConfigError, match=f"'{name}' must be at least 16 characters"):
        _export(world.cfg, "ICBCGD")
    key = "icbc-guangdong-shared-key-2013"
    monkeypatch.setenv(name, key)
    res = _export(world.cfg, "ICBCGD")
    sig = (res.path / SIGNATURE_NAME).read_text(encoding="ascii").strip()
    manifest = res.path / MANIFEST_NAME
    assert sig == hmac.new(key.encode(), manifest.read_bytes(), hashlib.sha256).hexdigest()
    # the bank's own check with a standard tool gives the same digest
    openssl = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", key, str(manifest)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert openssl.stdout.strip().endswith(sig)
    assert key not in manifest.read_text(encoding="utf-8")
    assert verify_export(res.path, config=world.cfg).signature == "valid"
    assert verify_export(res.path, config=world.cfg, require_signature=True).ok
    # without the key the signature cannot be checked; a bank that requires it refuses
    monkeypatch.delenv(name)
    assert verify_export(res.path, config=world.cfg).signature == "unchecked"
    with pytest.raises(VerificationFailed, match="no key for bank ICBCGD"):
        verify_export(res.path, config=world.cfg, require_signature=True)
    # a manifest changed after signing (its checksums kept consistent) is caught
    m = json.loads(manifest.read_text(encoding="utf-8"))
    m["purpose"] = "guarantee"
    manifest.write_text(json.dumps(m, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    with pytest.raises(VerificationFailed, match="manifest.sig does not match manifest.json"):
        verify_export(res.path, key=key.encode())
    with pytest.raises(VerificationFailed, match="manifest.sig does not match"):
        verify_export(res.path, key=b"another-bank-key-0123456789")
    # an unsigned export passes unless a signature is required
    unsigned = _export(world.cfg, "ICBCGD")
    assert not (unsigned.path / SIGNATURE_NAME).exists()
    assert verify_export(unsigned.path).signature == "unsigned"
    with pytest.raises(VerificationFailed, match="manifest.sig is missing"):
        verify_export(unsigned.path, require_signature=True)


def test_csv_has_a_bom_and_reads_back_in_chinese(world: SimpleNamespace) -> None:
    res = _export(world.cfg, "ICBCGD")
    raw = (res.path / CSV_NAME).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with (res.path / CSV_NAME).open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10
    assert rows[1]["reason_1_zh"] == "近12个月最长逾期天数"
    assert next(iter(rows[0])) == "entity_id"  # the BOM is not glued to the first header


def test_inputs_that_break_the_contract_are_refused(world: SimpleNamespace) -> None:
    cfg = world.cfg
    with pytest.raises(InputFileError, match="run `scoring score --segment sme --as-of 2012-12-31"):
        export_scores(cfg, bank="ICBCGD", segment="sme", as_of=D("2012-12-31"))
    path = scored_path(cfg, segment="household", as_of=AS_OF)
    good = pl.read_parquet(path)
    good.with_columns(pl.col("pd").cast(pl.String)).write_parquet(path)
    with pytest.raises(SchemaError, match="column 'pd' must be of type Float64; got String"):
        _export(cfg, "ICBCGD")
    pl.concat([good, good.head(1)]).write_parquet(path)
    with pytest.raises(DataError, match="entity_id must be non-null and unique"):
        _export(cfg, "ICBCGD")
    good.with_columns(
        pl.when(pl.col("entity_id") == "H05").then(pl.lit("4")).otherwise("model_version")
        .alias("model_version")
    ).write_parquet(path)  # fmt: skip
    with pytest.raises(DataError, match="must come from one model"):
        _export(cfg, "ICBCGD")
    good.write_parquet(path)
    with pytest.raises(DataError, match="'purpose' must be one of"):
        _export(cfg, "ICBCGD", purpose="marketing")
    (cfg.paths.validated / "consents.parquet").unlink()
    with pytest.raises(InputFileError, match="validated consents"):
        _export(cfg, "ICBCGD")
