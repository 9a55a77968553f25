"""The synthetic province: determinism, schema, keys, rates, faults, outcome and effects."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import geo
from scoring.codes import (
    is_valid_resident_id,
    is_valid_uscc,
    resident_id_valid_expr,
    uscc_valid_expr,
)
from scoring.config import WorkbenchConfig, load_config
from scoring.exceptions import ConfigError
from scoring.ratings import rate_rural_years, rate_tax_years
from scoring.schema import TABLES, data_dictionary_markdown
from scoring.synth import GenerationSummary, build_segments, generate_province
from scoring.synth._common import Calendar, stream
from scoring.synth._credit import HOUSEHOLD_CREDIT, SME_CREDIT, PilotEffects, simulate_credit
from scoring.synth._entities import (
    Segment,
    build_geography,
    build_households,
    build_smes,
    make_usccs,
    pilot_mask,
    resident_ids,
)
from scoring.synth._faults import FAULTS, MIN_ROWS

# Real enterprises' published unified social credit codes (Tencent, Alibaba, Huawei, Sinopec)
# and the standards' sample numbers.
PUBLISHED_USCC = [
    "9144030071526726XG",
    "91330100716105852F",
    "914403001922038216",
    "91110000710926094P",
    "91350100M000100Y43",
]
PUBLISHED_RESIDENT_ID = ["11010519491231002X"]

SMALL = 0.03
MEDIUM = 0.3
SNAPSHOTS = (
    dt.date(2010, 12, 31),
    dt.date(2011, 12, 31),
    dt.date(2012, 12, 31),
    dt.date(2013, 12, 31),
)


@dataclasses.dataclass(frozen=True)
class Province:
    summary: GenerationSummary
    out: Path
    truth: Path

    def table(self, name: str) -> pl.DataFrame:
        return pl.read_parquet(self.out / f"{name}.parquet")


def _generate(root: Path, *, scale: float, seed: int, faults: bool) -> Province:
    s = generate_province(
        load_config(), out=root / "raw", truth=root / "truth", scale=scale, seed=seed, faults=faults
    )
    return Province(s, root / "raw", root / "truth")


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Province:
    return _generate(tmp_path_factory.mktemp("faulty"), scale=SMALL, seed=11, faults=True)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Province:
    return _generate(tmp_path_factory.mktemp("clean"), scale=SMALL, seed=11, faults=False)


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> Province:
    return _generate(tmp_path_factory.mktemp("medium"), scale=MEDIUM, seed=42, faults=False)


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _region(col: pl.Expr) -> pl.Expr:
    return pl.when(col == geo.SHUNDE).then(col).otherwise(col.str.slice(0, 4) + "00")


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_files(faulty: Province, tmp_path: Path) -> None:
    again = _generate(tmp_path, scale=SMALL, seed=11, faults=True)
    assert _digests(again.out) == _digests(faulty.out)
    assert _digests(again.truth) == _digests(faulty.truth)
    assert again.summary.rows == faulty.summary.rows


def test_another_seed_gives_other_data(faulty: Province, tmp_path: Path) -> None:
    other = _generate(tmp_path, scale=SMALL, seed=12, faults=True)
    assert _digests(other.out)["enterprises.parquet"] != _digests(faulty.out)["enterprises.parquet"]


def test_faults_change_only_the_rows_they_list(faulty: Province, clean: Province) -> None:
    manifest = pl.read_parquet(faulty.truth / "faults.parquet")
    for name, table in TABLES.items():
        keys = manifest.filter(pl.col("table") == name).get_column("record_key")
        a = faulty.table(name).filter(~pl.col(table.key).is_in(keys.implode())).sort(table.key)
        b = clean.table(name).filter(~pl.col(table.key).is_in(keys.implode())).sort(table.key)
        assert a.equals(b), name
        assert faulty.table(name).height == clean.table(name).height + (
            manifest.filter((pl.col("table") == name) & (pl.col("kind") == "duplicate")).height
        ), name


# --------------------------------------------------------------------------- schema


def test_tables_follow_the_schema_exactly(clean: Province) -> None:
    assert sorted(p.stem for p in clean.out.glob("*.parquet")) == sorted(TABLES)
    assert (clean.out / "DICTIONARY.md").read_text(encoding="utf-8") == data_dictionary_markdown()
    for name, table in TABLES.items():
        df = clean.table(name)
        assert df.schema == pl.Schema(table.schema), name
        assert df.height > 0, name
        assert df.get_column(table.key).is_unique().all(), name
        for col in table.columns:
            s = df.get_column(col.name)
            if not col.nullable:
                assert s.null_count() == 0, (name, col.name)
            if col.codes is not None:
                assert set(s.drop_nulls().unique()) <= set(col.codes), (name, col.name)
            if col.lo is not None:
                assert s.drop_nulls().min() >= col.lo, (name, col.name)  # type: ignore[operator]
            if col.hi is not None:
                assert s.drop_nulls().max() <= col.hi, (name, col.name)  # type: ignore[operator]
        if table.natural_key:
            assert not df.select(table.natural_key).is_duplicated().any(), name


def test_extra_checks_and_date_order_hold(clean: Province) -> None:
    checks = {
        "tax_filings": ("filed_date", "period", ">="),
        "loans": ("maturity_date", "origination_date", ">"),
        "court_enforcement": ("closed_date", "filed_date", ">="),
        "agri_insurance": ("policy_end", "policy_start", ">"),
        "consents": ("expiry_date", "granted_date", ">"),
        "disputes": ("resolved_date", "opened_date", ">"),
    }
    for name, (late, early, op) in checks.items():
        df = clean.table(name).drop_nulls(late)
        ok = df.get_column(late) >= df.get_column(early)
        if op == ">":
            ok = df.get_column(late) > df.get_column(early)
        assert ok.all(), name
    consents = clean.table("consents").drop_nulls("withdrawn_date")
    assert (consents.get_column("withdrawn_date") > consents.get_column("granted_date")).all()


def test_faults_off_leaves_an_empty_manifest(clean: Province) -> None:
    manifest = pl.read_parquet(clean.truth / "faults.parquet")
    assert manifest.height == 0
    assert manifest.columns == ["table", "column", "record_key", "kind"]
    assert clean.summary.faults == 0


def test_references_resolve_without_faults(clean: Province) -> None:
    smes = clean.table("enterprises").get_column("credit_code").implode()
    hhs = clean.table("households").get_column("household_id").implode()
    for name, table in TABLES.items():
        df = clean.table(name)
        if table.entity == "credit_code" and name != "enterprises":
            assert df.get_column("credit_code").is_in(smes).all(), name
        if table.entity == "household_id" and name != "households":
            assert df.get_column("household_id").is_in(hhs).all(), name
        if "entity_type" in df.columns:
            sme = df.filter(pl.col("entity_type") == "sme")
            hh = df.filter(pl.col("entity_type") == "household")
            assert sme.get_column("entity_id").is_in(smes).all(), name
            assert hh.get_column("entity_id").is_in(hhs).all(), name
    loans = clean.table("loans").get_column("loan_id").implode()
    assert clean.table("loan_repayments").get_column("loan_id").is_in(loans).all()
    disputes = clean.table("disputes")
    assert disputes.height > 0
    for source, rows in disputes.group_by("source_table"):
        ids = clean.table(str(source[0])).get_column("record_id").implode()
        assert rows.get_column("source_record_id").is_in(ids).all(), source


def test_records_only_while_the_firm_exists(clean: Province) -> None:
    ents = clean.table("enterprises").select("credit_code", "established_date", "deregistered_date")
    for name, date in (
        ("tax_filings", "period"),
        ("social_insurance", "month"),
        ("admin_penalties", "decision_date"),
        ("tax_violations", "event_date"),
    ):
        df = clean.table(name).join(ents, on="credit_code")
        start = pl.col("established_date")
        if date in ("period", "month"):
            start = start.dt.truncate("1mo")
        assert df.filter(pl.col(date) < start).height == 0, name
        assert df.filter(pl.col(date) >= pl.col("deregistered_date")).height == 0, name
    loans = clean.table("loans").join(ents, left_on="entity_id", right_on="credit_code")
    assert (loans.get_column("origination_date") >= loans.get_column("established_date")).all()
    dereg = loans.drop_nulls("deregistered_date")
    assert (dereg.get_column("maturity_date") < dereg.get_column("deregistered_date")).all()


def test_tax_violations_use_only_configured_violation_codes(clean: Province) -> None:
    allowed = {d.code for d in load_config().tax.deductions if d.source == "violations"}
    used = set(clean.table("tax_violations").get_column("indicator_code").unique())
    assert used <= allowed
    assert len(used) >= 5


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize("code", PUBLISHED_USCC)
def test_published_credit_codes_validate(code: str) -> None:
    assert is_valid_uscc(code)
    assert pl.select(uscc_valid_expr(pl.lit(code))).item()


@pytest.mark.parametrize("code", PUBLISHED_RESIDENT_ID)
def test_published_resident_ids_validate(code: str) -> None:
    assert is_valid_resident_id(code)


_DIVISIONS = st.sampled_from([*geo.CITIES, *geo.county_codes("440600")])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), division=_DIVISIONS, category=st.integers(0, 2))
def test_generated_credit_codes_are_valid(seed: int, division: str, category: int) -> None:
    rng = np.random.default_rng(seed)
    mat = make_usccs(rng, np.array([division] * 8), np.full(8, category))
    codes = [bytes(row).decode() for row in mat]
    assert all(is_valid_uscc(c) for c in codes)
    assert all(c[0] == "9" and c[1] == "123"[category] and c[2:8] == division for c in codes)
    # A wrong check character must fail.
    bad = [c[:17] + ("0" if c[17] != "0" else "1") for c in codes]
    assert not any(is_valid_uscc(c) for c in bad)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), born=st.dates(dt.date(1940, 1, 1), dt.date(1990, 12, 31)))
def test_generated_resident_ids_are_valid(seed: int, born: dt.date) -> None:
    rng = np.random.default_rng(seed)
    county = np.array(["440103"] * 6)
    mat = resident_ids(rng, county, np.array([born] * 6, dtype="datetime64[D]"))
    ids = [bytes(row).decode() for row in mat]
    assert len(set(ids)) == 6
    assert all(is_valid_resident_id(i) and i[6:14] == born.strftime("%Y%m%d") for i in ids)
    flipped = [i[:17] + ("1" if i[17] != "1" else "2") for i in ids]
    assert not any(is_valid_resident_id(i) for i in flipped)


def test_entity_keys_are_valid_and_well_formed(clean: Province) -> None:
    ents = clean.table("enterprises")
    assert ents.select(uscc_valid_expr(pl.col("credit_code")).all()).item()
    assert ents.get_column("credit_code").is_unique().all()
    assert (ents.get_column("credit_code").str.slice(0, 1) == "9").all()
    assert set(ents.get_column("credit_code").str.slice(1, 1).unique()) <= {"1", "2", "3"}
    assert (ents.get_column("credit_code").str.slice(2, 6) == ents.get_column("city_code")).all()
    assert ents.get_column("name").str.contains("模拟").all()
    hh = clean.table("households")
    assert hh.select(resident_id_valid_expr(pl.col("head_id_number")).all()).item()
    assert (hh.get_column("head_id_number").str.slice(0, 6) == hh.get_column("county_code")).all()
    born = hh.get_column("head_id_number").str.slice(6, 8).str.to_date("%Y%m%d")
    assert born.min() >= dt.date(1940, 1, 1)  # type: ignore[operator]
    assert born.max() <= dt.date(1990, 12, 31)  # type: ignore[operator]
    assert (
        hh.get_column("head_name")
        .str.contains(r"^.[甲乙丙丁戊己庚辛壬癸][一二三四五六七八九十]$")
        .all()
    )
    assert hh.get_column("household_id").str.contains(r"^H\d{16}$").all()
    assert (hh.get_column("household_id").str.slice(1, 12) == hh.get_column("village_code")).all()
    assert (hh.get_column("village_code").str.slice(0, 9) == hh.get_column("town_code")).all()
    assert (hh.get_column("town_code").str.slice(0, 6) == hh.get_column("county_code")).all()
    assert (hh.get_column("county_code").str.slice(0, 4) + "00" == hh.get_column("city_code")).all()
    assert (hh.get_column("labourers") <= hh.get_column("members")).all()


def test_every_city_and_shunde_is_populated(medium: Province) -> None:
    regions = pl.concat(
        [
            medium.table(t).select(_region(pl.col("county_code")).alias("r"))
            for t in ("enterprises", "households")
        ]
    )
    assert set(regions.get_column("r")) == set(geo.REGION_CODES)
    for t in ("enterprises", "households"):
        assert set(medium.table(t).get_column("city_code")) == set(geo.CITIES), t


def test_villages_hold_one_to_three_hundred_households_at_scale_one() -> None:
    cfg = load_config()
    cal = Calendar(2010, 5)
    geog = build_geography(stream(42, "geography"))
    hh = build_households(
        stream(42, "households"),
        geog,
        cal,
        cfg.synth.households_per_scale,
        pilot=pilot_mask(cfg.province.pilot_regions),
        pilot_month=32,
        effect_rated=0.1,
    )
    sizes = hh.frame.group_by("village_code").len().get_column("len")
    assert 100 <= sizes.median() <= 300  # type: ignore[operator]
    assert sizes.is_between(50, 450).mean() > 0.95  # type: ignore[operator]


# --------------------------------------------------------------------------- faults


def _fault_is_visible(
    df: pl.DataFrame, name: str, column: str, kind: str, ctx: dict[str, Any]
) -> pl.Series:
    """Per faulty row (``df`` holds only them), whether validation could see the fault."""
    table = TABLES[name]
    if kind == "duplicate":
        return pl.Series([True] * df.height)  # checked apart
    s = df.get_column(column)
    if kind == "invalid_code":
        expr = resident_id_valid_expr if column == "head_id_number" else uscc_valid_expr
        return ~df.select(expr(pl.col(column))).to_series()
    if kind == "orphan":
        known = ctx["loans"] if column == "loan_id" else ctx["entities"]
        return ~s.is_in(known.implode())
    col = table.column(column)
    outside = pl.Series([False] * df.height)
    if col.lo is not None:
        outside = outside | (s < col.lo)
    if col.hi is not None:
        outside = outside | (s > col.hi)
    if kind == "impossible_date":
        spec = next(f for f in FAULTS[name] if f.kind == kind and f.column == column)
        if spec.how.startswith("before:"):
            outside = outside | (s < df.get_column(spec.how.split(":", 1)[1]))
    return outside


def test_every_planted_fault_is_listed_and_visible(faulty: Province) -> None:
    manifest = pl.read_parquet(faulty.truth / "faults.parquet")
    ctx = {
        "entities": pl.concat(
            [
                faulty.table("enterprises").get_column("credit_code"),
                faulty.table("households").get_column("household_id"),
            ]
        ),
        "loans": faulty.table("loans").get_column("loan_id"),
    }
    for name, specs in FAULTS.items():
        df = faulty.table(name)
        key = TABLES[name].key
        big_enough = df.height >= MIN_ROWS
        for spec in specs:
            listed = manifest.filter(
                (pl.col("table") == name)
                & (pl.col("kind") == spec.kind)
                & (pl.col("column") == spec.column)
            )
            if not big_enough:
                continue
            assert listed.height >= 1, (name, spec.kind, spec.column)
            rows = df.filter(pl.col(key).is_in(listed.get_column("record_key").implode()))
            assert rows.height == listed.height, (name, spec.kind)
            if spec.kind == "duplicate":
                natural = list(TABLES[name].natural_key)
                counts = df.join(rows.select(natural), on=natural).group_by(natural).len()
                assert (counts.get_column("len") >= 2).all(), name
            else:
                assert _fault_is_visible(rows, name, spec.column, spec.kind, ctx).all(), (
                    name,
                    spec.kind,
                )
    assert set(manifest.get_column("kind")) == {
        "duplicate",
        "invalid_code",
        "orphan",
        "impossible_date",
        "wrong_unit",
    }
    assert faulty.summary.faults == manifest.height


# --------------------------------------------------------------------------- outcome and truth


def _outcomes_from_records(p: Province) -> pl.DataFrame:
    """The shared outcome definition, computed from the raw records alone."""
    loans = p.table("loans").select("loan_id", "entity_type", "entity_id")
    rep = p.table("loan_repayments").join(loans, on="loan_id")
    parts = []
    for snap in SNAPSHOTS:
        end = snap.replace(year=snap.year + 1)
        window = rep.filter((pl.col("month") > snap) & (pl.col("month") <= end))
        parts.append(
            window.group_by("entity_type", "entity_id")
            .agg((pl.col("days_past_due") >= 90).any().cast(pl.Int8).alias("default_records"))
            .with_columns(pl.lit(snap).alias("snapshot_date"))
        )
    return pl.concat(parts)


def test_outcome_follows_the_shared_definition(medium: Province) -> None:
    truth = pl.read_parquet(medium.truth / "true_pd.parquet")
    from_records = _outcomes_from_records(medium)
    joined = truth.join(from_records, on=["entity_type", "entity_id", "snapshot_date"], how="left")
    assert (
        joined.get_column("observable") == joined.get_column("default_records").is_not_null()
    ).all()
    obs = joined.filter(pl.col("observable"))
    assert (obs.get_column("default") == obs.get_column("default_records")).all()
    assert joined.filter(~pl.col("observable")).get_column("default").null_count() == (
        joined.filter(~pl.col("observable")).height
    )
    # Every observable entity-snapshot with an active loan is in the truth.
    assert (
        from_records.join(truth, on=["entity_type", "entity_id", "snapshot_date"], how="anti")
        .filter(pl.col("entity_type") == "household")
        .height
        == 0
    )


def test_defaults_show_as_an_escalating_run_inside_the_window(medium: Province) -> None:
    rep = medium.table("loan_repayments").sort("loan_id", "month")
    ninety = rep.filter(pl.col("days_past_due") == 90).select(
        "loan_id", pl.col("month").alias("m90")
    )
    assert ninety.height > 50
    run = rep.join(ninety, on="loan_id").filter(
        (pl.col("month") >= pl.col("m90").dt.offset_by("-2mo")) & (pl.col("month") <= pl.col("m90"))
    )
    seq = run.group_by("loan_id").agg(
        pl.col("days_past_due").sort_by("month"), pl.col("m90").first()
    )
    assert all(s == [30, 60, 90] for s in seq.get_column("days_past_due").to_list())
    # The first missed payment falls in the same calendar year: nothing shows by the snapshot.
    first_miss = seq.get_column("m90").dt.offset_by("-2mo")
    assert (first_miss.dt.year() == seq.get_column("m90").dt.year()).all()
    # Escalation continues 120, 150, ... and the loan is written off by the year end.
    after = rep.join(ninety, on="loan_id").filter(pl.col("month") > pl.col("m90"))
    assert (after.get_column("month").dt.year() == after.get_column("m90").dt.year()).all()
    steps = after.with_columns(
        (
            (pl.col("month").dt.year() - pl.col("m90").dt.year()) * 12
            + pl.col("month").dt.month()
            - pl.col("m90").dt.month()
        ).alias("k")
    )
    assert (steps.get_column("days_past_due") == 90 + 30 * steps.get_column("k")).all()


def test_rates_and_ceiling_fall_in_their_bands(medium: Province) -> None:
    ceiling = json.loads((medium.truth / "ceiling.json").read_text(encoding="utf-8"))
    sme, hh = ceiling["segments"]["sme"], ceiling["segments"]["household"]
    assert 0.02 <= sme["default_rate"] <= 0.045
    assert 0.01 <= hh["default_rate"] <= 0.035
    assert 0.80 <= sme["auc"] <= 0.88
    assert 0.75 <= hh["auc"] <= 0.85
    assert set(sme["by_snapshot"]) == {str(d) for d in SNAPSHOTS}
    # Per snapshot too (wider: about 2,500 SME and 6,000 household outcomes each here).
    for block, lo, hi in ((sme, 0.76, 0.90), (hh, 0.73, 0.87)):
        for snap in block["by_snapshot"].values():
            assert lo <= snap["auc"] <= hi, snap
    for block in (sme, hh):  # the true PD is calibrated
        assert block["mean_true_pd"] == pytest.approx(block["default_rate"], rel=0.25)
    assert medium.summary.ceiling["sme"] == sme["auc"]
    truth = pl.read_parquet(medium.truth / "true_pd.parquet")
    assert truth.schema == pl.Schema(
        {
            "entity_type": pl.String,
            "entity_id": pl.String,
            "region_code": pl.String,
            "snapshot_date": pl.Date,
            "true_pd": pl.Float64,
            "observable": pl.Boolean,
            "default": pl.Int8,
        }
    )
    assert set(truth.get_column("region_code")) == set(geo.REGION_CODES)
    assert truth.get_column("true_pd").is_between(0.0, 1.0).all()


def test_tax_grades_land_near_five_percent_a_and_seven_percent_d(medium: Province) -> None:
    """The rating engine of the workbench on the generated records."""
    rated = rate_tax_years(
        medium.table("tax_filings"),
        medium.table("tax_violations"),
        medium.table("enterprises"),
        years=[2010, 2011, 2012, 2013, 2014],
        rules=load_config().tax,
    ).ratings
    shares = (
        rated.group_by("year")
        .agg((pl.col("grade") == "A").mean().alias("A"), (pl.col("grade") == "D").mean().alias("D"))
        .sort("year")
    )
    assert shares.height == 5
    assert shares.get_column("A").is_between(0.03, 0.08).all(), shares
    assert shares.get_column("D").is_between(0.05, 0.10).all(), shares
    assert 0.04 <= shares.get_column("A").mean() <= 0.065  # type: ignore[operator]
    assert 0.055 <= shares.get_column("D").mean() <= 0.09  # type: ignore[operator]


# --------------------------------------------------------------------------- truth and records


def _entity_index(ids: pl.Series) -> pl.DataFrame:
    return pl.DataFrame({"entity_id": ids, "i": np.arange(ids.len())})


def test_true_pd_is_the_pd_of_the_state_at_the_snapshot(medium: Province) -> None:
    """The outcome after S is drawn from the state on S, never from what comes later."""
    sme, hh = build_segments(load_config(), scale=MEDIUM, seed=42)
    truth = pl.read_parquet(medium.truth / "true_pd.parquet")
    for seg, params in ((sme, SME_CREDIT), (hh, HOUSEHOLD_CREDIT)):
        rows = truth.filter(pl.col("entity_type") == seg.kind).join(
            _entity_index(seg.ids), on="entity_id"
        )
        assert rows.height == truth.filter(pl.col("entity_type") == seg.kind).height
        i = rows.get_column("i").to_numpy()
        y = rows.get_column("snapshot_date").dt.year().to_numpy() - 2010 + 1
        pd_ = rows.get_column("true_pd").to_numpy()
        expected = params.pd(seg.state[i, y])
        assert np.array_equal(seg.state[i, y], seg.latent[i, y - 1])
        at_risk = pd_ > 0
        np.testing.assert_allclose(pd_[at_risk], expected[at_risk], rtol=1e-12)
        # Not the outcome year's own creditworthiness (its shock comes after S).
        assert np.abs(pd_[at_risk] - params.pd(seg.latent[i, y])[at_risk]).mean() > 1e-3
        # A zero is an observable row without a loan that can reach DPD 90 in the window:
        # rare, so that the ceiling holds little a model of the records cannot know.
        observable = rows.get_column("observable").to_numpy()
        assert np.array_equal(pd_[~observable], expected[~observable])
        assert 0 < (pd_[observable] == 0).mean() < 0.04, seg.kind


def _late_bills_rank_state(p: Province, seg: Segment, *, bills_year: int) -> float:
    """Spearman correlation of late bills in ``bills_year`` with the risk on 2012-12-31."""
    late = (
        p.table("utility_payments")
        .filter((pl.col("month").dt.year() == bills_year) & (pl.col("entity_type") == seg.kind))
        .group_by("entity_id")
        .agg((pl.col("days_late") > 0).sum().alias("late"))
        .join(_entity_index(seg.ids), on="entity_id")
    )
    risk = -seg.state[late.get_column("i").to_numpy(), 2012 - 2010 + 1]
    rho = late.with_columns(pl.Series("risk", risk)).select(
        pl.corr("late", "risk", method="spearman")
    )
    return float(rho.item())


def test_records_up_to_the_snapshot_reveal_the_state(medium: Province) -> None:
    """Late bills of the 12 months to a snapshot rank entities by their state on it."""
    sme, hh = build_segments(load_config(), scale=MEDIUM, seed=42)
    for seg, floor in ((sme, 0.85), (hh, 0.9)):
        before = _late_bills_rank_state(medium, seg, bills_year=2012)
        assert before > floor, (seg.kind, before)
        # The bills after the snapshot follow the new year's shock: they rank the state on
        # the snapshot less well than the bills before it.
        after = _late_bills_rank_state(medium, seg, bills_year=2013)
        assert after < before - 0.03, (seg.kind, before, after)


def test_a_minority_of_villages_qualify_as_credit_villages(medium: Province) -> None:
    """The [rural] rules of the configuration on the generated households."""
    cfg = load_config()
    households = medium.table("households")
    filed = households.select(
        (pl.col("registered_date") <= dt.date(2010, 12, 31)).mean().alias("2010"),
        (pl.col("registered_date") <= dt.date(2013, 12, 31)).mean().alias("2013"),
    ).row(0, named=True)
    assert 0.62 <= filed["2010"] <= 0.78, filed
    assert 0.85 <= filed["2013"] <= 0.97, filed
    rated = rate_rural_years(
        households,
        medium.table("loans"),
        medium.table("loan_repayments"),
        medium.table("agri_subsidies"),
        medium.table("agri_insurance"),
        medium.table("public_records"),
        years=[2010, 2012, 2013],
        rules=cfg.rural,
    )
    share = dict(
        rated.villages.group_by("year").agg(pl.col("credit_village").mean()).sort("year").rows()
    )
    assert share[2010] <= 0.05, share
    assert 0.05 <= share[2012] <= 0.40, share
    assert 0.10 <= share[2013] <= 0.45, share
    # Credit households: most rated households by 2012, not all.
    credit = rated.households.filter(pl.col("year") == 2012).get_column("credit_household")
    assert 0.6 <= credit.mean() <= 0.85  # type: ignore[operator]


# --------------------------------------------------------------------------- planted effects


def _did(panel: pl.DataFrame, value: str, pilots: tuple[str, ...], start: dt.date) -> float:
    means = (
        panel.with_columns(
            pl.col("region").is_in(pilots).alias("pilot"), (pl.col("month") >= start).alias("post")
        )
        .group_by("pilot", "post")
        .agg(pl.col(value).mean())
    )

    def m(pilot: bool, post: bool) -> float:
        return float(
            means.filter((pl.col("pilot") == pilot) & (pl.col("post") == post)).item(0, value)
        )

    return (m(True, True) - m(True, False)) - (m(False, True) - m(False, False))


def test_planted_effects_show_in_before_after_pilot_control_differences(medium: Province) -> None:
    cfg = load_config()
    pilots, start = cfg.province.pilot_regions, cfg.province.pilot_start
    months = pl.DataFrame(
        {"month": pl.date_range(dt.date(2010, 1, 1), dt.date(2014, 12, 1), "1mo", eager=True)}
    )
    hh = medium.table("households").with_columns(_region(pl.col("county_code")).alias("region"))
    rated = (
        hh.join(months, how="cross")
        .group_by("region", "month")
        .agg((pl.col("registered_date") <= pl.col("month").dt.month_end()).mean().alias("share"))
    )
    assert _did(rated, "share", pilots, start) == pytest.approx(
        cfg.synth.effect_household_rated, abs=0.02
    )

    ents = medium.table("enterprises").with_columns(_region(pl.col("county_code")).alias("region"))
    active = ents.join(months, how="cross").filter(
        (pl.col("established_date") <= pl.col("month").dt.month_end())
        & (
            pl.col("deregistered_date").is_null()
            | (pl.col("deregistered_date") > pl.col("month").dt.month_end())
        )
    )
    new = (
        medium.table("loans")
        .filter(pl.col("entity_type") == "sme")
        .select(
            pl.col("entity_id").alias("credit_code"),
            pl.col("origination_date").dt.truncate("1mo").alias("month"),
        )
        .unique()
        .with_columns(pl.lit(1).alias("new"))
    )
    access = (
        active.join(new, on=["credit_code", "month"], how="left")
        .group_by("region", "month")
        .agg(pl.col("new").fill_null(0).mean().alias("share"))
    )
    assert _did(access, "share", pilots, start) == pytest.approx(
        cfg.synth.effect_sme_access, abs=0.004
    )

    effects = json.loads((medium.truth / "effects.json").read_text(encoding="utf-8"))
    assert effects["pilot_regions"] == list(pilots)
    assert effects["pilot_start"] == start.isoformat()
    e = effects["effects"]
    assert e["sme_access"]["expected_in_sample"] == pytest.approx(
        cfg.synth.effect_sme_access, abs=1e-4
    )
    assert e["sme_default"]["expected_in_sample"] == pytest.approx(
        cfg.synth.effect_sme_default, abs=5e-4
    )
    assert e["household_rated"]["expected_in_sample"] == pytest.approx(
        cfg.synth.effect_household_rated, abs=0.02
    )


def test_screening_lowers_default_among_new_pilot_loans() -> None:
    """SME credit at scale 1 (no records): new pilot loans default less, by about the effect."""
    cfg = load_config()
    cal = Calendar(2010, 5)
    geog = build_geography(stream(42, "geography"))
    smes = build_smes(stream(42, "enterprises"), geog, cal, cfg.synth.smes_per_scale)
    pilot = pilot_mask(cfg.province.pilot_regions)
    effects = PilotEffects(pilot, 32, cfg.synth.effect_sme_access, cfg.synth.effect_sme_default)
    book = simulate_credit(
        smes, cal, stream(42, "credit:sme"), SME_CREDIT, n_banks=3, n_regions=22, effects=effects
    )
    o = book.origination_month
    frame = pl.DataFrame(
        {
            "pilot": pilot[smes.region[book.entity]],
            "post": o >= 32,
            "p12": book.p12,
            "bad": (book.default_year >= 0) & (book.default_month <= o + 12),
        }
    ).filter(pl.Series(o <= cal.n_months - 13))

    def did(col: str) -> float:
        m = frame.group_by("pilot", "post").agg(pl.col(col).mean())
        v = {(r[0], r[1]): r[2] for r in m.rows()}
        return float((v[True, True] - v[True, False]) - (v[False, True] - v[False, False]))

    assert did("p12") == pytest.approx(cfg.synth.effect_sme_default, abs=0.004)
    assert -0.03 <= did("bad") <= -0.002


# --------------------------------------------------------------------------- errors


def _config(**province: Any) -> WorkbenchConfig:
    cfg = load_config()
    return dataclasses.replace(cfg, province=dataclasses.replace(cfg.province, **province))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": 0.0}, "'scale' must be a number > 0"),
        ({"scale": float("nan")}, "'scale' must be a number > 0"),
        ({"seed": -1}, "'seed' must be an integer >= 0"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"scale": SMALL, "seed": 1, "faults": False} | kwargs
    with pytest.raises(ConfigError, match=message):
        generate_province(load_config(), out=tmp_path / "raw", truth=tmp_path / "truth", **args)
    assert not (tmp_path / "raw").exists()


def test_truth_must_lie_apart_from_the_data(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'truth' must be a folder apart from 'out'"):
        generate_province(
            load_config(),
            out=tmp_path / "raw",
            truth=tmp_path / "raw" / "truth",
            scale=SMALL,
            seed=1,
            faults=False,
        )


def test_snapshots_must_be_year_ends(tmp_path: Path) -> None:
    cfg = _config(snapshots=(dt.date(2012, 6, 30),))
    with pytest.raises(ConfigError, match="'province.snapshots'"):
        generate_province(
            cfg, out=tmp_path / "raw", truth=tmp_path / "truth", scale=SMALL, seed=1, faults=False
        )


def test_a_failed_run_leaves_the_previous_folders_untouched(tmp_path: Path) -> None:
    out, truth = tmp_path / "raw", tmp_path / "truth"
    out.mkdir()
    (out / "marker.txt").write_text("previous data", encoding="utf-8")
    cfg = load_config()
    no_violations = tuple(d for d in cfg.tax.deductions if d.source != "violations")
    broken = dataclasses.replace(cfg, tax=dataclasses.replace(cfg.tax, deductions=no_violations))
    with pytest.raises(ConfigError, match='source = "violations"'):
        generate_province(broken, out=out, truth=truth, scale=SMALL, seed=1, faults=True)
    assert [p.name for p in out.iterdir()] == ["marker.txt"]
    assert not truth.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]
