"""Tests of the pilot-region evaluation (scoring.evaluation).

Two generated provinces (scale 0.2, the configuration's seed 42): one with the planted
effects of configs/workbench.toml, generated with faults and validated like real data,
and one with every planted effect set to zero. The DiD must recover the planted effect
(its wild cluster bootstrap 95 % interval covers it), find nothing where nothing was
planted, pass the placebo and the pre-trend test. See the module docstring of
scoring.evaluation for why the wild bootstrap interval is the one asserted.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from scoring import evaluation as ev
from scoring.cli import cli
from scoring.config import WorkbenchConfig, load_config
from scoring.exceptions import ConfigError, DataError, MissingExtraError, SchemaError
from scoring.marts import MART_SPECS, load_mart, write_mart
from scoring.schema import TABLES
from scoring.synth import generate_province
from scoring.validate import validate_records, write_validated

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCALE = 0.2
SEED = 42  # synth.seed of configs/workbench.toml
REPS = 999
PLANTED = ("sme_access_rate", "sme_default_rate", "household_rated_share")
START = dt.date(2012, 9, 1)


def _config_copy(root: Path, *, zero_effects: bool = False) -> WorkbenchConfig:
    """configs/workbench.toml copied under ``root`` (paths resolve there)."""
    text = (PROJECT_ROOT / "configs" / "workbench.toml").read_text(encoding="utf-8")
    if zero_effects:
        for key in ("effect_sme_access", "effect_sme_default", "effect_household_rated"):
            text, n = re.subn(rf"(?m)^{key} = [-0-9.]+", f"{key} = 0.0", text)
            assert n == 1, key
    (root / "configs").mkdir(parents=True)
    path = root / "configs" / "workbench.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


@pytest.fixture(scope="module")
def planted_config(tmp_path_factory: pytest.TempPathFactory) -> WorkbenchConfig:
    """Generated with faults, validated with quarantine: the real pipeline."""
    cfg = _config_copy(tmp_path_factory.mktemp("planted"))
    generate_province(
        cfg, out=cfg.paths.raw, truth=cfg.paths.truth, scale=SCALE, seed=SEED, faults=True
    )
    report = validate_records(cfg.paths.raw, config=cfg)
    write_validated(
        report,
        validated_dir=cfg.paths.validated,
        quarantine_dir=cfg.paths.quarantine,
        quarantine=True,
    )
    return cfg


@pytest.fixture(scope="module")
def evaluation(planted_config: WorkbenchConfig) -> ev.PilotEvaluation:
    return ev.evaluate_pilot(planted_config, reps=REPS)


@pytest.fixture(scope="module")
def zero_panels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    """Panels of a province with every planted effect zero (no faults: read raw)."""
    cfg = _config_copy(tmp_path_factory.mktemp("zero"), zero_effects=True)
    generate_province(
        cfg, out=cfg.paths.raw, truth=cfg.paths.truth, scale=SCALE, seed=SEED, faults=False
    )
    assert ev.load_planted_effects(cfg) == dict.fromkeys(PLANTED, 0.0)
    tables = {n: pl.scan_parquet(cfg.paths.raw / f"{n}.parquet") for n in TABLES}
    return ev.outcome_panels(tables, province=cfg.province)


# --------------------------------------------------------------------------- recovery


@pytest.mark.parametrize("outcome", PLANTED)
def test_did_interval_contains_planted_effect(evaluation: ev.PilotEvaluation, outcome: str) -> None:
    r = evaluation.did[outcome]
    planted = evaluation.planted[outcome]
    assert planted != 0.0
    assert r.covers(planted, wild=True), (r.estimate, r.wild_ci_low, r.wild_ci_high, planted)
    assert (r.n_regions, r.n_treated) == (22, 6)


@pytest.mark.parametrize("outcome", ["sme_access_rate", "household_rated_share"])
def test_did_finds_the_effect_where_there_is_power(
    evaluation: ev.PilotEvaluation, outcome: str
) -> None:
    # At this scale access and rated households are measured well enough that zero is
    # excluded; the default rate of new loans is not (see the report of issue 7).
    assert not evaluation.did[outcome].covers(0.0, wild=True)


# records_per_entity is descriptive: the generator plants no effect on it and does not
# keep its trends parallel (pilot regions grow their household files faster), so the
# placebo and zero-effect checks apply to the planted outcomes only.
@pytest.mark.parametrize("outcome", PLANTED)
def test_placebo_interval_contains_zero(evaluation: ev.PilotEvaluation, outcome: str) -> None:
    pb = evaluation.placebo[outcome]
    assert pb.start == dt.date(2011, 9, 1)
    assert pb.n_obs < evaluation.did[outcome].n_obs  # months before the real start only
    # Zero lies in the wild interval exactly when the wild p-value of zero exceeds 5 %.
    assert pb.wild_p_value is not None
    assert pb.wild_p_value > 0.05, (pb.estimate, pb.ci_low, pb.ci_high, pb.wild_p_value)


@pytest.mark.parametrize("outcome", PLANTED)
def test_pretrend_test_does_not_reject(evaluation: ev.PilotEvaluation, outcome: str) -> None:
    es = evaluation.event_studies[outcome]
    assert es.pretrend_wild_p_value is not None
    assert es.pretrend_wild_p_value > 0.05
    assert es.pretrend_bins
    assert es.pretrend_df[0] == len(es.pretrend_bins)


@pytest.fixture(scope="module")
def zero_did(zero_panels: dict[str, pl.DataFrame]) -> dict[str, ev.DidResult]:
    pilots = load_config().province.pilot_regions
    return {
        name: ev.difference_in_differences(
            panel, pilot_regions=pilots, start=START, outcome=name, reps=REPS
        )
        for name, panel in zero_panels.items()
    }


@pytest.mark.parametrize("outcome", PLANTED)
def test_zero_planted_effect_interval_contains_zero(
    zero_did: dict[str, ev.DidResult], outcome: str
) -> None:
    r = zero_did[outcome]
    assert r.covers(0.0, wild=True), (r.estimate, r.wild_ci_low, r.wild_ci_high)


def test_wild_bootstrap_is_reproducible_for_a_seed(
    zero_panels: dict[str, pl.DataFrame], zero_did: dict[str, ev.DidResult]
) -> None:
    again = ev.difference_in_differences(
        zero_panels["sme_access_rate"],
        pilot_regions=load_config().province.pilot_regions,
        start=START,
        outcome="sme_access_rate",
        reps=REPS,
    )
    assert again == zero_did["sme_access_rate"]


def test_event_study_shows_the_step(evaluation: ev.PilotEvaluation) -> None:
    coef = evaluation.event_studies["household_rated_share"].coefficients
    assert coef.filter(pl.col("period") == -1).row(0)[2:5] == (0.0, 0.0, 0.0)
    post = coef.filter(pl.col("period") >= 0).get_column("estimate").to_numpy()
    pre = coef.filter(pl.col("period") < -1).get_column("estimate").to_numpy()
    assert post.min() > 0.05 > np.abs(pre).max()  # planted +0.10 from the start
    assert coef.get_column("first_month").is_sorted()


def test_effects_by_region_has_each_pilot_region(evaluation: ev.PilotEvaluation) -> None:
    t = evaluation.by_region["household_rated_share"]
    assert sorted(t.get_column("region_code")) == sorted(load_config().province.pilot_regions)
    assert (t.get_column("estimate") > 0.0).all()


# --------------------------------------------------------------------------- panels


def test_panels_have_one_row_per_region_and_month(evaluation: ev.PilotEvaluation) -> None:
    for name, panel in evaluation.panels.items():
        n_months = 48 if name == "sme_default_rate" else 60  # cohorts up to 2013-12
        assert panel.height == 22 * n_months, name
        assert panel.select("region_code", "month").is_duplicated().sum() == 0
        assert panel.get_column("month").max() == dt.date(2014 if n_months == 60 else 2013, 12, 1)
        assert set(ev.PANEL_COLUMNS) <= set(panel.columns)


def test_household_panel_counts_the_validated_households(
    planted_config: WorkbenchConfig, evaluation: ev.PilotEvaluation
) -> None:
    households = pl.read_parquet(planted_config.paths.validated / "households.parquet")
    panel = evaluation.panels["household_rated_share"]
    last = panel.filter(pl.col("month") == dt.date(2014, 12, 1))
    assert last.get_column("households").sum() == households.height
    filed = households.filter(pl.col("registered_date") <= dt.date(2014, 12, 31)).height
    assert last.get_column("rated").sum() == filed


def _d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def test_access_panel_definition_at_the_month_edges() -> None:
    ent = pl.DataFrame(
        {
            "credit_code": ["A", "B", "C"],
            "county_code": ["440606", "440606", "440605"],
            "established_date": [_d("2010-02-28"), _d("2009-01-01"), _d("2010-01-05")],
            "deregistered_date": [None, _d("2010-03-01"), None],
        },
        schema_overrides={"deregistered_date": pl.Date},
    )
    loans = pl.DataFrame(
        {
            "loan_id": ["1", "2", "3", "4"],
            "entity_type": ["sme", "sme", "household", "sme"],
            "entity_id": ["A", "A", "A", "C"],
            "origination_date": [
                _d("2010-02-28"),
                _d("2010-02-03"),
                _d("2010-02-10"),
                _d("2010-03-31"),
            ],
        }
    )
    p = ev.sme_access_panel(ent, loans, first_month=_d("2010-01-01"), last_month=_d("2010-03-01"))
    shunde = p.filter(pl.col("region_code") == "440606").sort("month")
    # B is deregistered in March: not active in March; A is active from February.
    assert shunde.get_column("active_smes").to_list() == [1, 2, 1]
    # Two SME loans of A in February count one borrower; the household loan none.
    assert shunde.get_column("borrowers").to_list() == [0, 1, 0]
    assert shunde.get_column("value").to_list() == [0.0, 0.5, 0.0]
    foshan = p.filter(pl.col("region_code") == "440600").sort("month")
    assert foshan.get_column("borrowers").to_list() == [0, 0, 1]  # Shunde is apart from Foshan


def test_default_panel_window_is_after_origination_and_within_12_months() -> None:
    ent = pl.DataFrame(
        {
            "credit_code": ["A"],
            "county_code": ["440103"],
            "established_date": [_d("2005-01-01")],
            "deregistered_date": [None],
        },
        schema_overrides={"deregistered_date": pl.Date},
    )
    loans = pl.DataFrame(
        {
            "loan_id": ["in", "edge", "late", "same"],
            "entity_type": ["sme"] * 4,
            "entity_id": ["A"] * 4,
            "origination_date": [_d("2011-01-15")] * 4,
        }
    )
    rep = pl.DataFrame(
        {
            "loan_id": ["in", "edge", "late", "same", "in"],
            "month": [
                _d("2011-06-01"),
                _d("2012-01-01"),
                _d("2012-02-01"),
                _d("2011-01-01"),
                _d("2011-07-01"),
            ],
            "days_past_due": [90, 120, 90, 150, 120],
        }
    )
    p = ev.sme_default_panel(
        ent, loans, rep, first_month=_d("2010-01-01"), last_month=_d("2012-12-01")
    )
    row = p.filter((pl.col("region_code") == "440100") & (pl.col("month") == _d("2011-01-01")))
    assert row.select("loans", "defaulted").row(0) == (4, 2)  # "in" and "edge"
    assert p.get_column("month").max() == _d("2011-12-01")
    assert (
        p.filter(pl.col("loans") == 0).get_column("value").null_count()
        == p.filter(pl.col("loans") == 0).height
    )


def test_records_panel_places_repayments_through_their_loan() -> None:
    tables = ev._example_tables()
    rec = ev.records_panel(tables, first_month=_d("2010-01-01"), last_month=_d("2014-12-01"))
    got = {s: int(n) for s, n in rec.group_by("source").agg(pl.col("records").sum()).rows()}
    # The SME was established before the data: no registration record in the months.
    assert got == {"households": 1, "loans": 1, "loan_repayments": 3}
    assert set(rec.get_column("region_code")) == {"440100", "440606"}


def test_outcome_panels_require_the_tables() -> None:
    with pytest.raises(SchemaError, match="'tables' must hold the tables"):
        ev.outcome_panels({"enterprises": pl.DataFrame()}, province=load_config().province)


# --------------------------------------------------------------------------- inference


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
@pytest.mark.filterwarnings("ignore:The inplace keyword:Warning")
def test_estimate_and_cluster_se_match_pyfixest(evaluation: ev.PilotEvaluation) -> None:
    pf = pytest.importorskip("pyfixest")
    panel = evaluation.panels["sme_access_rate"]
    r = evaluation.did["sme_access_rate"]
    pilots = list(load_config().province.pilot_regions)
    data = (
        panel.filter(pl.col("weight") > 0)
        .with_columns(
            did=(pl.col("region_code").is_in(pilots) & (pl.col("month") >= START)).cast(pl.Float64),
            month=pl.col("month").cast(pl.String),
        )
        .to_pandas()
    )
    fit = pf.feols(
        "value ~ did | region_code + month",
        data=data,
        weights="weight",
        vcov={"CRV1": "region_code"},
        ssc=pf.ssc(k_adj=True, k_fixef="full", G_adj=True),
    )
    assert fit.coef()["did"] == pytest.approx(r.estimate, rel=1e-8)
    assert fit.se()["did"] == pytest.approx(r.se, rel=1e-6)


def test_wild_interval_bounds_are_where_the_library_test_turns(
    evaluation: ev.PilotEvaluation,
) -> None:
    r = evaluation.did["sme_access_rate"]
    used = ev._panel_arrays(
        evaluation.panels["sme_access_rate"],
        pilot_regions=load_config().province.pilot_regions,
        weighted=True,
    )
    post = pl.col("month") >= START
    d = ev._design(used, used.select((pl.col("treated") & post).cast(pl.Float64).alias("did")))
    assert r.wild_ci_low is not None
    assert r.wild_ci_high is not None
    eps = 1e-3 * r.se

    def p(b0: float) -> float:
        return float(ev._wild_run(d, column=0, b0=b0, reps=REPS, seed=r.seed).pvalue)

    assert p(r.wild_ci_low + eps) > 0.05 >= p(r.wild_ci_low - eps)
    assert p(r.wild_ci_high - eps) > 0.05 >= p(r.wild_ci_high + eps)


def test_did_example_recovers_a_noiseless_effect() -> None:
    r = ev.difference_in_differences(
        ev._example_panel(), pilot_regions=("440100", "440400"), start=START, reps=0
    )
    assert r.estimate == pytest.approx(0.02, abs=2e-4)
    assert r.covers(0.02)
    assert not r.covers(0.0)
    assert r.wild_p_value is None
    with pytest.raises(DataError, match="'wild' must only be asked"):
        r.covers(0.02, wild=True)


def test_unweighted_did_ignores_the_weights() -> None:
    panel = ev._example_panel()
    kw = {"pilot_regions": ("440100",), "start": START, "reps": 0}
    a = ev.difference_in_differences(panel, weighted=False, **kw)  # type: ignore[arg-type]
    b = ev.difference_in_differences(
        panel.with_columns(weight=pl.int_range(pl.len()).cast(pl.Float64) + 1.0),
        weighted=False,
        **kw,  # type: ignore[arg-type]
    )
    assert a.estimate == pytest.approx(b.estimate)
    assert not a.weighted


def test_did_needs_pilot_and_control_regions() -> None:
    panel = ev._example_panel().filter(pl.col("region_code").is_in(["440100", "440400"]))
    with pytest.raises(DataError, match="pilot and control regions"):
        ev.difference_in_differences(panel, pilot_regions=("440100", "440400"), start=START)


def test_did_needs_months_on_both_sides_of_the_start() -> None:
    panel = ev._example_panel().filter(pl.col("month") < START)
    with pytest.raises(DataError, match="months before and from the start"):
        ev.difference_in_differences(panel, pilot_regions=("440100",), start=START, reps=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confidence": 1.5}, "'confidence' must be in"),
        ({"reps": -1}, "'reps' must be an integer >= 0"),
        ({"pilot_regions": ("999999",)}, "'pilot_regions' must hold region codes"),
    ],
)
def test_did_rejects_bad_options(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"pilot_regions": ("440100",), "start": START, "reps": 0}
    args.update(kwargs)
    with pytest.raises((ConfigError, DataError), match=message):
        ev.difference_in_differences(ev._example_panel(), **args)  # type: ignore[arg-type]


def test_event_study_refuses_a_window_without_the_reference() -> None:
    with pytest.raises(ConfigError, match="'window' must be"):
        ev.event_study(ev._example_panel(), pilot_regions=("440100",), start=START, window=(-1, 3))


# --------------------------------------------------------------------------- model performance


def _scored_example() -> pl.DataFrame:
    # 440100: perfect ranking (AUC 1); 440200: reversed (AUC 0); 440300: AUC 0.75.
    return pl.DataFrame(
        {
            "region_code": ["440100"] * 4 + ["440200"] * 4 + ["440300"] * 4,
            "pd": [0.1, 0.2, 0.8, 0.9, 0.9, 0.8, 0.2, 0.1, 0.1, 0.4, 0.35, 0.8],
            "default": [0, 0, 1, 1] * 3,
        }
    )


def test_performance_by_region_known_aucs() -> None:
    t = ev.performance_by_region(_scored_example(), pilot_regions=("440100",))
    assert t.get_column("region_code").to_list() == ["440100", "440200", "440300"]
    assert t.get_column("auc").to_list() == [1.0, 0.0, 0.75]
    assert t.get_column("ks").to_list() == [1.0, 1.0, 0.5]  # KS has no direction; AUC has
    assert t.get_column("pilot").to_list() == [True, False, False]
    assert t.get_column("bad_rate").to_list() == [0.5, 0.5, 0.5]
    brier = ((0.1**2 + 0.2**2 + 0.2**2 + 0.1**2) / 4, (0.9**2 + 0.8**2 + 0.8**2 + 0.9**2) / 4)
    assert t.get_column("brier").to_list()[:2] == pytest.approx(brier)
    assert t.get_column("calibrated").to_list() == [True, True, True]  # mean PD 0.5 vs 2 of 4


def test_performance_by_region_flags_miscalibration() -> None:
    s = pl.DataFrame({"region_code": ["440100"] * 200, "pd": [0.01] * 200, "default": [0, 1] * 100})
    t = ev.performance_by_region(s, pilot_regions=())
    assert t.row(0, named=True)["calibrated"] is False


def test_model_gap_detects_a_worse_region_group() -> None:
    rng = np.random.default_rng(3)
    n = 400
    y = rng.integers(0, 2, 2 * n)
    good = np.where(y[:n] == 1, 0.7, 0.3) + rng.normal(0, 0.05, n)
    noise = rng.uniform(0.2, 0.8, n)  # no information in the control regions
    s = pl.DataFrame(
        {
            "region_code": ["440100"] * n + ["440200"] * n,
            "pd": np.clip(np.concatenate([good, noise]), 0, 1),
            "default": y,
        }
    )
    g = ev.model_gap(s, pilot_regions=("440100",), reps=200, seed=1)
    assert g.pilot == pytest.approx(1.0)
    assert abs(g.control - 0.5) < 0.08
    assert g.ci_low > 0.3
    assert g.p_value < 0.01
    same = ev.model_gap(
        s.with_columns(region_code=pl.Series(["440100", "440200"] * n)),
        pilot_regions=("440100",),
        reps=200,
        seed=1,
    )
    assert same.ci_low < 0.0 < same.ci_high


def test_model_gap_needs_both_classes() -> None:
    s = _scored_example().with_columns(
        default=pl.when(pl.col("region_code") == "440100").then(0).otherwise(pl.col("default"))
    )
    with pytest.raises(DataError, match="defaults and non-defaults in the pilot regions"):
        ev.model_gap(s, pilot_regions=("440100",), reps=10)


def test_scored_frame_is_checked() -> None:
    with pytest.raises(SchemaError, match="'scored' must have the columns"):
        ev.performance_by_region(pl.DataFrame({"pd": [0.1]}), pilot_regions=())
    bad = _scored_example().with_columns(default=pl.lit(2))
    with pytest.raises(DataError, match="'default' must be 0 or 1"):
        ev.performance_by_region(bad, pilot_regions=())


# --------------------------------------------------------------------------- truth, mart, CLI


def test_planted_effects_come_from_the_truth(
    planted_config: WorkbenchConfig, evaluation: ev.PilotEvaluation
) -> None:
    effects = json.loads((planted_config.paths.truth / "effects.json").read_text())["effects"]
    assert evaluation.planted == {
        "sme_access_rate": effects["sme_access"]["planted"],
        "sme_default_rate": effects["sme_default"]["planted"],
        "household_rated_share": effects["household_rated"]["planted"],
    }
    s = planted_config.synth
    assert evaluation.planted["sme_access_rate"] == s.effect_sme_access


def test_planted_effects_of_another_pilot_are_refused(
    planted_config: WorkbenchConfig, tmp_path: Path
) -> None:
    truth = tmp_path / "data" / "truth"
    truth.mkdir(parents=True)
    data = json.loads((planted_config.paths.truth / "effects.json").read_text())
    data["pilot_start"] = "2013-01-01"
    (truth / "effects.json").write_text(json.dumps(data))
    with pytest.raises(DataError, match="must describe the configured pilot"):
        ev.load_planted_effects(load_config().with_root(tmp_path))


def test_pilot_effects_frame_fits_the_mart(evaluation: ev.PilotEvaluation, tmp_path: Path) -> None:
    frame = evaluation.effects_frame()
    assert frame.get_column("outcome").to_list() == list(ev.OUTCOMES)
    assert frame.filter(pl.col("outcome") == "records_per_entity").item(0, "planted") is None
    assert set(MART_SPECS["pilot_effects"].columns) - {"suppressed"} <= set(frame.columns)
    cfg = load_config().with_root(tmp_path)
    write_mart("pilot_effects", frame, config=cfg)
    mart = load_mart("pilot_effects", cfg)
    assert mart is not None
    by_outcome = frame.sort("outcome")
    assert mart.get_column("outcome").to_list() == by_outcome.get_column("outcome").to_list()
    assert mart.get_column("estimate").to_list() == by_outcome.get_column("estimate").to_list()
    assert not mart.get_column("suppressed").any()


def test_cli_evaluate_prints_planted_beside_estimates(planted_config: WorkbenchConfig) -> None:
    result = CliRunner().invoke(
        cli, ["--config", str(planted_config.source), "evaluate", "--reps", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "planted" in result.output
    assert "+0.1000" in result.output
    for name in ev.OUTCOMES:
        assert name in result.output
    mart = load_mart("pilot_effects", planted_config)
    assert mart is not None
    assert mart.height == len(ev.OUTCOMES)


def test_cli_evaluate_without_validated_records(tmp_path: Path) -> None:
    cfg = _config_copy(tmp_path)
    result = CliRunner().invoke(cli, ["--config", str(cfg.source), "evaluate", "--reps", "0"])
    assert result.exit_code == 2
    assert "must hold validated records" in result.output


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "statsmodels.regression.linear_model", None)
    with pytest.raises(MissingExtraError, match="`evaluation` extra"):
        ev.difference_in_differences(ev._example_panel(), pilot_regions=("440100",), start=START)


def test_import_without_the_evaluation_extra() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('statsmodels', 'wildboottest', 'pyfixest'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import scoring, scoring.evaluation, scoring.cli\n"
        "import polars as pl, datetime as dt\n"
        "p = scoring.evaluation.household_rated_panel(pl.DataFrame({'household_id': ['H'],\n"
        "    'county_code': ['440103'], 'registered_date': [dt.date(2010, 1, 1)]}),\n"
        "    first_month=dt.date(2010, 1, 1), last_month=dt.date(2010, 1, 1))\n"
        "print(p.height, 'statsmodels' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    )
    assert out.stdout.split() == ["22", "False"]
