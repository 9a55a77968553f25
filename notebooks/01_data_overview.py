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
# # 数据概览 · Data overview
#
# What the departments sent, what validation set aside, and how much of the province the
# credit files cover. Everything here is read from the folders of the configuration in
# use (`$SCORING_CONFIG`, else `configs/workbench.toml`); run `make run` (or at least
# `scoring generate`, `validate`, `rate tax`, `collect`, `rate rural`) first.

# %%
import json

import polars as pl

from scoring import plots
from scoring.config import load_config
from scoring.geo import REGION_CODES
from scoring.marts import PROVINCE_CODE, build_marts, load_mart
from scoring.validate import REPORT_NAME

cfg = load_config()
pl.Config.set_tbl_rows(30)
region_labels = {code: plots.region_label(code) for code in REGION_CODES}
print("configuration:", cfg.source)
print("validated records:", cfg.paths.validated)

# %% [markdown]
# ## 汇总表 · Aggregates
#
# The same aggregates the leadership dashboards read (`data/marts`): rebuilt here so that
# this report and the dashboards show the same numbers. Groups of fewer than
# `marts.min_group_size` entities are suppressed.

# %%
summary = build_marts(cfg)
records = load_mart("records_by_source", cfg)
coverage = load_mart("coverage", cfg)
summary

# %% [markdown]
# ## 按来源归集的记录 · Records collected by source
#
# Records per department source and year, province-wide.

# %%
province = records.filter(pl.col("region_code") == PROVINCE_CODE)
by_source_year = (
    province.group_by("source", pl.col("month").dt.year().alias("year"))
    .agg(pl.col("records").sum())
    .sort("year")
    .pivot(on="year", index="source", values="records")
    .sort("source")
)
by_source_year

# %%
last_year = province.get_column("month").max().year
plots.records_by_source_bars(records, region=PROVINCE_CODE, year=last_year)

# %% [markdown]
# ## 按月归集趋势 · Records by month
#
# The dashed line marks the start of the pilot (2012-09).

# %%
plots.records_trend(records, region=PROVINCE_CODE, pilot_start=cfg.province.pilot_start)

# %% [markdown]
# ## 按地区归集 · Records by region
#
# Records per region and year (all sources); suppressed groups show as null.

# %%
by_region = (
    records.filter(pl.col("region_code") != PROVINCE_CODE)
    .group_by("region_code", pl.col("month").dt.year().alias("year"))
    .agg(pl.col("records").sum())
    .with_columns(pl.col("region_code").replace_strict(region_labels).alias("region"))
    .sort("year")
    .pivot(on="year", index=["region_code", "region"], values="records")
    .sort("region_code")
)
by_region

# %% [markdown]
# ## 主体覆盖率 · Coverage of entities
#
# Share of registered SMEs and households with at least one record in the year, and the
# number of credit files built for them.

# %%
coverage.filter(pl.col("region_code") == PROVINCE_CODE).sort("segment", "year")

# %%
plots.coverage_map(
    coverage, year=last_year, pilot_regions=cfg.province.pilot_regions, segment="household"
)

# %% [markdown]
# ## 数据校验发现 · Validation findings
#
# What `scoring validate` found in the department files: each problem with its table,
# column and the number of rows concerned (the row ids are in the JSON report; rows with
# errors were quarantined in `data/quarantine`).

# %%
report = json.loads((cfg.paths.reports / REPORT_NAME).read_text(encoding="utf-8"))
print(
    f"{report['errors']} error kinds, {report['warnings']} warning kinds, "
    f"{report['error_rows']:,} rows quarantined"
)
tables = pl.DataFrame(
    [
        {"table": name, **{k: t[k] for k in ("rows", "error_rows")}}
        for name, t in report["tables"].items()
    ]
).with_columns((pl.col("error_rows") / pl.col("rows")).alias("error_share"))
tables

# %%
findings = pl.DataFrame(
    [
        {k: p[k] for k in ("table", "column", "severity", "problem", "count")}
        for p in report["problems"]
    ],
    schema={
        "table": pl.String,
        "column": pl.String,
        "severity": pl.String,
        "problem": pl.String,
        "count": pl.Int64,
    },
).sort("count", descending=True)
findings
