# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 试点地区评估 · Did the pilot regions fare better?
#
# Guangzhou, Zhuhai, Shantou, Huizhou, Yunfu and Shunde started the pilot in 2012-09
# (`[province]` of the configuration). Region-by-month panels of each outcome, a
# difference-in-differences of the pilot regions against the others with region and
# month fixed effects and standard errors clustered by region, a wild cluster bootstrap
# interval (only six treated regions), an event study with a pre-trend test, a placebo
# start one year earlier, the effect of each pilot region alone, and how well the
# champion models serve pilot and control regions. On generated data the planted effects
# (`data/truth`) stand beside the estimates.

# %%
import polars as pl

from scoring import plots
from scoring.config import load_config
from scoring.evaluation import champion_scores, evaluate_pilot, model_gaps, performance_by_region

cfg = load_config()
pl.Config.set_tbl_rows(40)
pl.Config.set_fmt_str_lengths(60)
REPS = 1999  # wild bootstrap draws (the CLI `scoring evaluate` uses 9999)
print("pilot regions:", ", ".join(plots.region_label(c) for c in cfg.province.pilot_regions))
print("pilot start:", cfg.province.pilot_start)

# %% [markdown]
# ## 双重差分 · Difference-in-differences
#
# One row per outcome: the estimate, its cluster-robust and wild bootstrap 95 % intervals,
# the planted effect, the placebo and the pre-trend p-value. Read the wild bootstrap
# interval: with six treated clusters the cluster-robust one is too narrow.

# %%
evaluation = evaluate_pilot(cfg, reps=REPS)
evaluation.summary()

# %%
effects = evaluation.effects_frame()
effects.select("outcome", "estimate", "ci_low", "ci_high", "wild_ci_low", "wild_ci_high", "planted")

# %%
plots.pilot_effects_chart(effects)

# %% [markdown]
# ## 结果面板 · The outcome panels
#
# Pilot against control regions, month by month (size-weighted means of the regions).

# %%
pl.concat(
    [
        panel.group_by(
            pl.col("region_code").is_in(list(cfg.province.pilot_regions)).alias("pilot"),
            pl.col("month").dt.year().alias("year"),
        )
        .agg(((pl.col("value") * pl.col("weight")).sum() / pl.col("weight").sum()).alias("mean"))
        .with_columns(pl.lit(name).alias("outcome"))
        for name, panel in evaluation.panels.items()
    ]
).pivot(on="year", index=["outcome", "pilot"], values="mean", sort_columns=True).sort(
    "outcome", "pilot"
)

# %% [markdown]
# ## 事件研究 · Event study
#
# The effect by quarter around the start (quarter -1 is the reference). Before the start
# the points should scatter around zero: that is what the pre-trend test checks.

# %%
for name, study in evaluation.event_studies.items():
    print(
        f"{name}: pre-trend F p = {study.pretrend_p_value:.3f}, "
        f"wild bootstrap p = {study.pretrend_wild_p_value}"
    )
    plots.event_study_chart(study.coefficients, unit=study.unit, outcome=name).show()

# %% [markdown]
# ## 安慰剂检验 · Placebo: a start one year earlier
#
# Fitted on the months before the real start only; its interval should contain zero.

# %%
pl.DataFrame(
    [
        {
            "outcome": name,
            "placebo_start": r.start,
            "estimate": r.estimate,
            "ci_low": r.ci_low,
            "ci_high": r.ci_high,
            "wild_ci_low": r.wild_ci_low,
            "wild_ci_high": r.wild_ci_high,
            "covers_zero": r.covers(0.0),
        }
        for name, r in evaluation.placebo.items()
    ]
)

# %% [markdown]
# ## 各试点地区 · Each pilot region alone
#
# Each pilot region against all control regions; with a single treated cluster these are
# descriptive estimates.

# %%
for name, frame in evaluation.by_region.items():
    plots.region_effects_chart(frame, outcome=name).show()

# %% [markdown]
# ## 模型在试点与对照地区的表现 · Model performance by region
#
# The champion of each segment on its out-of-time rows: AUC, KS, Brier and calibration
# per region, then the gap between pilot and control regions with a stratified bootstrap
# interval (does the model serve both equally well?).

# %%
scored = {segment: champion_scores(cfg, segment=segment) for segment in ("sme", "household")}
performance_by_region(
    scored["sme"], pilot_regions=cfg.province.pilot_regions, min_count=cfg.model.region_min_count
)

# %%
performance_by_region(
    scored["household"],
    pilot_regions=cfg.province.pilot_regions,
    min_count=cfg.model.region_min_count,
)

# %%
pl.concat(
    [
        model_gaps(frame, pilot_regions=cfg.province.pilot_regions).select(
            pl.lit(segment).alias("segment"), pl.all()
        )
        for segment, frame in scored.items()
    ]
)
