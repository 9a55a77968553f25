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
# # 纳税信用等级与红黑名单 · Tax credit grades, red and black lists
#
# The taxpayer rating of the pilot plan (A, B, M, C, D from a score of 100 less the
# deductions of the year, with the direct-D and cannot-be-A rules) by region and year,
# the deduction lines that explain the grades, and the red and black lists in force at
# each year end. Run `scoring rate tax` and `scoring lists` first.

# %%
import polars as pl

from scoring import plots
from scoring.collect import region_code_expr
from scoring.config import load_config
from scoring.geo import REGION_CODES
from scoring.marts import PROVINCE_CODE, load_mart

cfg = load_config()
pl.Config.set_tbl_rows(40)
pl.Config.set_fmt_str_lengths(60)
region_labels = {code: plots.region_label(code) for code in REGION_CODES}
ratings = pl.read_parquet(cfg.paths.ratings / "tax_ratings.parquet")
deductions = pl.read_parquet(cfg.paths.ratings / "tax_deductions.parquet")
print(f"{ratings.height:,} taxpayer-years rated, {deductions.height:,} deduction lines")

# %% [markdown]
# ## 全省等级分布 · Grade mix of the province by year

# %%
grades = load_mart("tax_grades", cfg)
plots.tax_grade_mix(grades, region=PROVINCE_CODE)

# %%
grades.filter(pl.col("region_code") == PROVINCE_CODE).pivot(
    on="grade", index="year", values="share"
).sort("year")

# %% [markdown]
# ## 分地区 · By region and year
#
# Share of A and of D taxpayers per region; suppressed groups (too few taxpayers) show
# as null.

# %%
(
    grades.filter(pl.col("region_code") != PROVINCE_CODE)
    .filter(pl.col("grade").is_in(["A", "D"]))
    .with_columns(pl.col("region_code").replace_strict(region_labels).alias("region"))
    .pivot(on=["grade", "year"], index=["region_code", "region"], values="share")
    .sort("region_code")
)

# %% [markdown]
# ## 扣分明细 · What the deductions were for
#
# Every grade is explained by its deduction lines (indicator, points, source record).
# The most frequent indicators, with the points they took, over all years:

# %%
deductions.group_by("indicator_code", "name_zh", "name_en", "kind").agg(
    pl.len().alias("lines"),
    pl.col("credit_code").n_unique().alias("taxpayers"),
    pl.col("points").sum().alias("points"),
).sort("lines", descending=True)

# %%
ratings.group_by("year", "grade_basis").len().pivot(
    on="year", index="grade_basis", values="len", sort_columns=True
).sort("grade_basis")

# %% [markdown]
# ## 红名单与黑名单 · Red and black lists
#
# Entries in force at each year end, by list, entity type and reason; then by region
# (the region is read from the entity's code: the division code inside an SME's unified
# social credit code, the village code inside a household id). Counts only: no names.

# %%
lists = pl.concat(
    [
        pl.read_parquet(cfg.paths.ratings / "red_list.parquet"),
        pl.read_parquet(cfg.paths.ratings / "black_list.parquet"),
    ]
)
lists.group_by("as_of", "list", "entity_type", "reason_code", "reason_zh", "reason_en").len(
    "entries"
).sort("as_of", "list", "entity_type", "entries", descending=[False, False, False, True])

# %%
(
    lists.with_columns(
        region_code_expr(
            pl.when(pl.col("entity_type") == "sme")
            .then(pl.col("entity_id").str.slice(2, 6))
            .otherwise(pl.col("entity_id").str.slice(1, 6))
        ).alias("region_code")
    )
    .filter(pl.col("as_of") == pl.col("as_of").max())
    .group_by("region_code", "list", "entity_type")
    .len("entries")
    .with_columns(pl.col("region_code").replace_strict(region_labels).alias("region"))
    .pivot(on=["list", "entity_type"], index=["region_code", "region"], values="entries")
    .sort("region_code")
)
