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
# # 中小微企业信用模型 · SME credit model
#
# Build the scorecard and the gradient-boosting challenger on the SME credit files, compare
# them out of time, log both runs to MLflow, register them and run the promotion gate.
# Settings come from `[model]` in the configuration; the credit files from
# `scoring collect`.

# %%
import polars as pl

from scoring import plots
from scoring.config import load_config
from scoring.lifecycle import promote, register_run
from scoring.tracking import tracking_uri, train_and_log
from scoring.training import fit_and_evaluate

cfg = load_config()
SEGMENT = "sme"
pl.Config.set_tbl_rows(40)
print("configuration:", cfg.source)
print("MLflow store:", tracking_uri(cfg))

# %% [markdown]
# ## 拟合两个模型 · Fit both models
#
# Training snapshots, a test share of whole entities held out, and the out-of-time
# snapshots are set in `[model]`. The scorecard bins every feature into monotonic WoE
# bins, selects features and fits a logistic regression; the challenger is LightGBM with
# the same monotone directions, calibrated on held-out rows.

# %%
runs = {
    model_type: fit_and_evaluate(cfg, segment=SEGMENT, model_type=model_type)
    for model_type in ("scorecard", "gbm")
}
{name: {split: frame.height for split, frame in run.splits.items()} for name, run in runs.items()}

# %% [markdown]
# ## 对比 · Comparison by split
#
# AUC, Gini, KS, Brier score and log loss on the training, test and out-of-time rows.
# `ceiling` is the AUC of the true PD of the synthetic province on the same rows (absent
# on real data).

# %%
comparison = pl.concat(
    [
        run.evaluation.by_split.select(pl.lit(name).alias("model"), pl.all())
        for name, run in runs.items()
    ]
)
comparison

# %%
{name: run.evaluation.ceiling for name, run in runs.items()}

# %% [markdown]
# ## ROC 曲线 · ROC curves (out of time)

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

# %% [markdown]
# ## KS 曲线 · KS (out of time)

# %%
plots.ks_chart(runs["scorecard"].evaluation.ks_curve).show()
plots.ks_chart(runs["gbm"].evaluation.ks_curve).show()

# %% [markdown]
# ## 分等级校准 · Calibration by grade (out of time)
#
# Observed default rate per grade with its binomial 95 % interval, against the grade PD
# estimated on the training rows.

# %%
calibration = pl.concat(
    [
        run.evaluation.calibration.filter(pl.col("split") == "oot").select(
            pl.lit(name).alias("model"), pl.all()
        )
        for name, run in runs.items()
    ]
)
calibration

# %%
plots.calibration_chart(calibration.filter(pl.col("model") == "scorecard")).show()
plots.calibration_chart(calibration.filter(pl.col("model") == "gbm")).show()

# %% [markdown]
# ## 评分卡 · The scorecard: selection, bins and points
#
# Every selection decision with its reason, then the bins of the four strongest features
# of the model (share of rows, bad rate, WoE) and their points per bin.

# %%
card = runs["scorecard"].model.estimator
card.selection_log_

# %%
bins = card.binner_.bin_table()
points = card.table()
top = (
    bins.filter(
        (pl.col("kind") == "total")
        & pl.col("feature").is_in(points.get_column("feature").unique().to_list())
    )
    .sort("iv", descending=True)
    .head(4)
    .get_column("feature")
    .to_list()
)
bins.filter(pl.col("feature").is_in(top) & (pl.col("kind") == "total")).select("feature", "iv")

# %%
for feature in top:
    plots.bin_chart(bins, feature=feature).show()

# %%
points.filter(pl.col("feature").is_in(top))

# %% [markdown]
# ## 挑战者模型 · The challenger: monotone constraints and importance

# %%
gbm = runs["gbm"].model.estimator
gbm.constraint_table_

# %%
pl.DataFrame({"feature": gbm.feature_names_, "gain_share": gbm.feature_importances_}).sort(
    "gain_share", descending=True
)

# %% [markdown]
# ## 记录到 MLflow 并晋升 · Log to MLflow, register, promote
#
# Each run is logged with its parameters, metrics, report and model, then registered: the
# first model of a segment becomes champion, later ones challenger. The promotion gate
# compares the challenger with the champion (out-of-time AUC, calibration, PSI,
# monotone directions) and promotes it only when every check passes.

# %%
logged = {
    name: train_and_log(cfg, segment=SEGMENT, model_type=name, fitted=run)
    for name, run in runs.items()
}
registered = {name: register_run(cfg, run) for name, run in logged.items()}
pl.DataFrame(
    [
        {
            "model": name,
            "run_id": logged[name].run_id,
            "version": version.version,
            "alias": version.alias,
            "oot_auc": logged[name].metrics["oot_auc"],
        }
        for name, version in registered.items()
    ]
)

# %%
decision = promote(cfg, segment=SEGMENT)
print(f"{decision.name}: challenger version {decision.challenger} -> {decision.decision}")
pl.DataFrame([{"check": c.name, "passed": c.passed, "detail": c.detail} for c in decision.checks])
