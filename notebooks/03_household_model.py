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
# # 农户信用模型与评级 · Household credit model and ratings
#
# The household scorecard and challenger (compared, logged, registered, promoted as in
# notebook 02), then the rule-based household ratings of the pilot plan and the credit
# villages and towns by region. Run `scoring collect` and `scoring rate rural` first.

# %%
import polars as pl

from scoring import plots
from scoring.collect import region_code_expr
from scoring.config import load_config
from scoring.geo import REGION_CODES
from scoring.lifecycle import promote, register_run
from scoring.marts import PROVINCE_CODE, load_mart
from scoring.tracking import train_and_log
from scoring.training import fit_and_evaluate

cfg = load_config()
SEGMENT = "household"
pl.Config.set_tbl_rows(40)
region_labels = {code: plots.region_label(code) for code in REGION_CODES}
print("configuration:", cfg.source)

# %% [markdown]
# ## 模型 · Models
#
# Household credit files carry no tax records; electricity, water, subsidies,
# agricultural insurance and the village's public records stand in for them.

# %%
runs = {
    model_type: fit_and_evaluate(cfg, segment=SEGMENT, model_type=model_type)
    for model_type in ("scorecard", "gbm")
}
pl.concat(
    [
        run.evaluation.by_split.select(pl.lit(name).alias("model"), pl.all())
        for name, run in runs.items()
    ]
)

# %%
plots.roc_chart(
    pl.concat(
        [
            run.evaluation.roc.filter(pl.col("split") == "oot").with_columns(
                pl.lit(name).alias("split")
            )
            for name, run in runs.items()
        ]
    )
)

# %%
plots.calibration_chart(
    runs["scorecard"].evaluation.calibration.filter(pl.col("split") == "oot")
).show()
plots.calibration_chart(runs["gbm"].evaluation.calibration.filter(pl.col("split") == "oot")).show()

# %% [markdown]
# ## 评分卡特征 · Scorecard features
#
# The features the scorecard kept, with their information value, and the bins of the
# strongest three.

# %%
card = runs["scorecard"].model.estimator
bins = card.binner_.bin_table()
points = card.table()
kept = (
    bins.filter(
        (pl.col("kind") == "total")
        & pl.col("feature").is_in(points.get_column("feature").unique().to_list())
    )
    .select("feature", "iv")
    .sort("iv", descending=True)
)
kept

# %%
for feature in kept.get_column("feature").head(3).to_list():
    plots.bin_chart(bins, feature=feature).show()

# %% [markdown]
# ## 记录、注册与晋升 · Log, register, promote

# %%
logged = {
    name: train_and_log(cfg, segment=SEGMENT, model_type=name, fitted=run)
    for name, run in runs.items()
}
registered = {name: register_run(cfg, run) for name, run in logged.items()}
decision = promote(cfg, segment=SEGMENT)
print(f"{decision.name}: challenger version {decision.challenger} -> {decision.decision}")
pl.DataFrame([{"check": c.name, "passed": c.passed, "detail": c.detail} for c in decision.checks])

# %% [markdown]
# ## 农户信用评级 · Household ratings (rule-based)
#
# The pilot plan's household rating: points for basics, finances, credit history and
# public records give AAA, AA, A or below A; a rated household with grade A or better is
# a credit household (信用户). Grade mix per year, province-wide and by region.

# %%
household_marts = load_mart("household_ratings", cfg)
plots.household_grade_mix(household_marts, region=PROVINCE_CODE)

# %%
(
    household_marts.filter(pl.col("region_code") != PROVINCE_CODE)
    .filter(pl.col("year") == household_marts.get_column("year").max())
    .with_columns(pl.col("region_code").replace_strict(region_labels).alias("region"))
    .pivot(on="grade", index=["region_code", "region"], values="share")
    .sort("region_code")
)

# %% [markdown]
# ## 信用村与信用镇 · Credit villages and towns by region
#
# A village is a credit village when enough of its households are credit households,
# enough borrowers are clean and its NPL ratio is low and not rising (thresholds in
# `[rural]` of the configuration); a town when enough of its villages are credit villages.
# Below: counts by region and year, then why villages missed the status.

# %%
villages = pl.read_parquet(cfg.paths.ratings / "village_ratings.parquet")
towns = pl.read_parquet(cfg.paths.ratings / "town_ratings.parquet")
last_year = villages.get_column("year").max()
units = pl.concat(
    [
        villages.group_by(region_code_expr(pl.col("county_code")).alias("region_code"), "year")
        .agg(pl.len().alias("units"), pl.col("credit_village").sum().alias("credit_units"))
        .with_columns(pl.lit("village").alias("level")),
        towns.group_by(region_code_expr(pl.col("county_code")).alias("region_code"), "year")
        .agg(pl.len().alias("units"), pl.col("credit_town").sum().alias("credit_units"))
        .with_columns(pl.lit("town").alias("level")),
    ]
).with_columns(
    (pl.col("credit_units") / pl.col("units")).alias("share"),
    pl.col("region_code").replace_strict(region_labels).alias("region"),
)
units.filter(pl.col("year") == last_year).pivot(
    on="level", index=["region_code", "region"], values=["credit_units", "units"]
).sort("region_code")

# %%
plots.rural_units_bars(load_mart("rural_units", cfg), year=last_year)

# %%
(
    villages.filter((pl.col("year") == last_year) & ~pl.col("credit_village"))
    .get_column("failed_criteria")
    .str.split(",")
    .explode()
    .value_counts(sort=True)
)
