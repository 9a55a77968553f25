"""Tax credit rating (纳税信用评价, 地税 pilot): deduction lines, score and grade per year.

The scheme is SAT 2014 No.40/No.48 with M from SAT 2018 No.8 (``domain/RULES.md``
section 2), with every number and the deduction table taken from ``[tax]`` in the
configuration. One taxpayer-year is rated as follows.

* **Who**: enterprises established on or before the year end and not deregistered
  by then. Records of unknown taxpayers are ignored (no establishment date).
* **Lines**: each event that costs points, sets D or bars A becomes one line
  (credit code, year, event date, indicator, names, kind, points, source record):

  - ``LATE_FILING`` per monthly filing of the year (by tax period) filed after its
    deadline or never filed (``filed_date`` empty); the event date is the deadline;
  - ``LATE_PAYMENT`` per filing whose ``tax_paid`` is below ``tax_payable``
    (by more than half a fen); the event date is the deadline;
  - every ``tax_violations`` record of the year, matched on ``indicator_code``;
  - rule lines from the code: ``PREV_D_SCORE`` (a score-based D last year costs
    ``d_next_year_penalty``), ``DIRECT_D_KEPT`` (a directly set D is kept
    ``direct_d_years`` years), and the bars on A: ``NO_A_YOUNG`` (under
    ``min_years_for_a`` years of operation at the year end), ``NO_A_PREV_D``,
    ``NO_A_AFTER_DIRECT_D`` (the year after a kept direct D ends),
    ``NO_A_ZERO_RUN`` / ``NO_A_ZERO_YEAR`` (zero declarations in consecutive months
    or in too many months of the year).

  ``per = "once"`` keeps the first event of the year only.
* **Start**: ``start_score``, or ``start_score_incomplete`` when the taxpayer has
  fewer than ``complete_filing_months`` monthly filings in the year. The monthly
  filings stand for the indicators that must be present every year; where months
  are missing the year's record is incomplete, which is how this workbench reads
  SAT's "non-recurring indicators missing" (the bureaus' audit data is not collected).
* **Score** = start - sum of line points (rounded to 1e-6). Grades by score:
  A >= ``grade_a_min``, B >= ``grade_b_min``, C >= ``grade_c_min``, else D.
* **Grade**, first rule that applies (``grade_basis``): a ``direct_d`` event of the
  year -> D (``direct_d``); a kept direct D -> D (``kept_d``); score-based D ->
  D (``score``); established in the year -> M (``new_taxpayer``); filings with no
  revenue all year and score >= ``grade_b_min`` -> M (``no_income``); score grade
  A with a bar on A -> B (``no_a``); otherwise the score grade (``score``).
* **Published** on the first day of ``publication_month`` of the next year: the
  grade of year Y is known from then (results are set each April).

Rate the years in order, passing the previous year's result (:func:`rate_tax_years`
does this), or the carry-over rules cannot apply.

Examples
--------
>>> import datetime as dt
>>> from scoring.config import load_config
>>> ents = pl.DataFrame({"credit_code": ["C1"], "established_date": [dt.date(2001, 5, 1)],
...     "deregistered_date": [None]})
>>> fil = _example_filings("C1", 2012, late_months=(3,))
>>> r = rate_tax(fil, None, ents, year=2012, rules=load_config().tax)
>>> r.ratings.select("score", "grade").row(0)
(95.0, 'A')
>>> r.deductions.select("indicator_code", "points").row(0)
('LATE_FILING', 5.0)
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from scoring.config import TaxConfig
from scoring.exceptions import DataError
from scoring.progress import track
from scoring.ratings._common import FrameLike, check_year, empty_frame, raw_table, year_end
from scoring.schema import TABLES

__all__ = [
    "TAX_DEDUCTIONS_SCHEMA",
    "TAX_GRADES",
    "TAX_RATINGS_SCHEMA",
    "TaxRatings",
    "rate_tax",
    "rate_tax_years",
]

TAX_GRADES = ("A", "B", "M", "C", "D")
"""Tax credit grades, best first (M: new taxpayer or no business income)."""

TAX_RATINGS_SCHEMA: dict[str, pl.DataType] = {
    "credit_code": pl.String(),
    "year": pl.Int32(),
    "published_date": pl.Date(),
    "established_date": pl.Date(),
    "filing_months": pl.Int32(),
    "start_score": pl.Float64(),
    "deducted": pl.Float64(),
    "score": pl.Float64(),
    "score_grade": pl.String(),
    "grade": pl.String(),
    "grade_basis": pl.String(),
    "cannot_be_a": pl.Boolean(),
    "direct_d_year": pl.Int32(),
}
"""``tax_ratings.parquet``: one row per taxpayer and year."""

TAX_DEDUCTIONS_SCHEMA: dict[str, pl.DataType] = {
    "credit_code": pl.String(),
    "year": pl.Int32(),
    "event_date": pl.Date(),
    "indicator_code": pl.String(),
    "name_zh": pl.String(),
    "name_en": pl.String(),
    "kind": pl.String(),
    "points": pl.Float64(),
    "source_table": pl.String(),
    "source_record_id": pl.String(),
}
"""``tax_deductions.parquet``: one row per line (event) of a taxpayer-year."""

_FILING_COLUMNS = (
    "record_id",
    "credit_code",
    "period",
    "due_date",
    "filed_date",
    "revenue",
    "tax_payable",
    "tax_paid",
    "zero_declaration",
)
_PAYMENT_TOLERANCE = 0.005  # half a fen: float noise is not a payment shortfall
_D_BASES = ("direct_d", "kept_d")


def _rule_names(rules: TaxConfig) -> dict[str, tuple[str, str, str]]:
    """Kind, Chinese and English name of the lines the code adds (not in the table)."""
    run, months, years = (
        rules.zero_declaration_run_no_a,
        rules.zero_declaration_year_no_a,
        rules.min_years_for_a,
    )
    return {
        "PREV_D_SCORE": ("deduct", "上一年度评价指标得分为D级", "Score-based grade D last year"),
        "DIRECT_D_KEPT": ("direct_d", "直接判为D级, 仍在保留期内", "Directly set D still kept"),
        "NO_A_YOUNG": (
            "no_a",
            f"实际生产经营期不满{years}年",
            f"Under {years} years of operation",
        ),
        "NO_A_PREV_D": ("no_a", "上一评价年度纳税信用为D级", "Grade D in the previous year"),
        "NO_A_AFTER_DIRECT_D": (
            "no_a",
            "直接判为D级保留期满后第一年",
            "First year after a kept direct D",
        ),
        "NO_A_ZERO_RUN": (
            "no_a",
            f"连续{run}个月零申报、负申报",
            f"Zero declarations {run} months running",
        ),
        "NO_A_ZERO_YEAR": (
            "no_a",
            f"一年内累计{months}个月零申报、负申报",
            f"Zero declarations in {months} months of the year",
        ),
    }


@dataclass(frozen=True, slots=True)
class TaxRatings:
    """Tax credit ratings and the lines that explain them.

    ``ratings`` follows :data:`TAX_RATINGS_SCHEMA`, ``deductions``
    :data:`TAX_DEDUCTIONS_SCHEMA`. For every row, ``score = start_score - deducted``
    and ``deducted`` is the sum of that taxpayer-year's line points.
    """

    ratings: pl.DataFrame
    deductions: pl.DataFrame

    @classmethod
    def concat(cls, parts: Sequence[TaxRatings]) -> TaxRatings:
        """Several years' ratings as one.

        Examples
        --------
        >>> TaxRatings.concat([]).ratings.height
        0
        """
        if not parts:
            return cls(empty_frame(TAX_RATINGS_SCHEMA), empty_frame(TAX_DEDUCTIONS_SCHEMA))
        return cls(
            pl.concat([p.ratings for p in parts]),
            pl.concat([p.deductions for p in parts]),
        )

    def grade_distribution(self) -> pl.DataFrame:
        """Taxpayers and share per year and grade (every grade listed, zero when absent).

        Examples
        --------
        >>> TaxRatings.concat([]).grade_distribution().columns
        ['year', 'grade', 'taxpayers', 'share']
        """
        years = self.ratings.select(pl.col("year").unique().sort())
        grid = years.join(pl.DataFrame({"grade": list(TAX_GRADES)}), how="cross")
        counts = self.ratings.group_by("year", "grade").agg(taxpayers=pl.len().cast(pl.Int64))
        out = grid.join(counts, on=["year", "grade"], how="left").with_columns(
            pl.col("taxpayers").fill_null(0)
        )
        order = pl.col("grade").replace_strict(
            {g: i for i, g in enumerate(TAX_GRADES)}, return_dtype=pl.Int8
        )
        return out.with_columns(
            share=pl.col("taxpayers") / pl.col("taxpayers").sum().over("year")
        ).sort("year", order)

    def grade_table(self) -> pl.DataFrame:
        """The grade distribution for printing: per year, taxpayers and "count (share %)".

        Examples
        --------
        >>> TaxRatings.concat([]).grade_table().columns
        ['year', 'taxpayers', 'A', 'B', 'M', 'C', 'D']
        """
        dist = self.grade_distribution()
        if dist.height == 0:
            return pl.DataFrame(
                schema={"year": pl.Int32, "taxpayers": pl.Int64}
                | {g: pl.String for g in TAX_GRADES}
            )
        cells = dist.with_columns(
            cell=pl.format(
                "{} ({}%)", "taxpayers", (pl.col("share") * 100).round(1).cast(pl.String)
            )
        )
        wide = cells.pivot(on="grade", index="year", values="cell")
        totals = dist.group_by("year").agg(pl.col("taxpayers").sum())
        return wide.join(totals, on="year").select("year", "taxpayers", *TAX_GRADES).sort("year")

    def explain(self, credit_code: str, year: int) -> str:
        """A taxpayer-year's grade and every line behind it, as text.

        Examples
        --------
        >>> TaxRatings.concat([]).explain("X", 2012)
        Traceback (most recent call last):
        ...
        scoring.exceptions.DataError: 'credit_code' must be a taxpayer rated in 2012; got 'X'.
        """
        row = self.ratings.filter(pl.col("credit_code") == credit_code, pl.col("year") == year)
        if row.height == 0:
            raise DataError(
                f"'credit_code' must be a taxpayer rated in {year}; got {credit_code!r}."
            )
        r = row.row(0, named=True)
        lines = self.deductions.filter(
            pl.col("credit_code") == credit_code, pl.col("year") == year
        ).sort("event_date", "indicator_code")
        out = [
            f"{credit_code} {year}: grade {r['grade']} ({r['grade_basis']}), score "
            f"{r['score']:g} = start {r['start_score']:g} - {r['deducted']:g}; "
            f"{r['filing_months']} filing months; published {r['published_date']}",
        ]
        for ln in lines.iter_rows(named=True):
            points = f"-{ln['points']:g}" if ln["points"] else "0"
            out.append(
                f"  {ln['event_date']}  {ln['indicator_code']:<27} {ln['kind']:<8} "
                f"{points:>4}  {ln['name_zh']} / {ln['name_en']}  "
                f"[{ln['source_table']} {ln['source_record_id']}]"
            )
        if lines.height == 0:
            out.append("  (no lines: nothing deducted, nothing bars A)")
        return "\n".join(out)


def _deduction_table(rules: TaxConfig) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "code": [d.code for d in rules.deductions],
            "name_zh": [d.name_zh for d in rules.deductions],
            "name_en": [d.name_en for d in rules.deductions],
            "points": [d.points for d in rules.deductions],
            "per": [d.per for d in rules.deductions],
            "kind": [d.kind for d in rules.deductions],
            "source": [d.source for d in rules.deductions],
        },
        schema={
            "code": pl.String,
            "name_zh": pl.String,
            "name_en": pl.String,
            "points": pl.Float64,
            "per": pl.String,
            "kind": pl.String,
            "source": pl.String,
        },
    )


def _line(
    lf: pl.LazyFrame,
    *,
    code: str,
    names: tuple[str, str],
    kind: str,
    points: float | pl.Expr,
    per: str,
    event_date: pl.Expr,
    source_table: str,
    source_record_id: pl.Expr,
) -> pl.LazyFrame:
    """Lines of one indicator in the common layout (plus ``per``, dropped later)."""
    pts = points if isinstance(points, pl.Expr) else pl.lit(float(points))
    return lf.select(
        pl.col("credit_code"),
        event_date.cast(pl.Date).alias("event_date"),
        pl.lit(code).alias("indicator_code"),
        pl.lit(names[0]).alias("name_zh"),
        pl.lit(names[1]).alias("name_en"),
        pl.lit(kind).alias("kind"),
        pts.cast(pl.Float64).alias("points"),
        pl.lit(source_table).alias("source_table"),
        source_record_id.cast(pl.String).alias("source_record_id"),
        pl.lit(per).alias("per"),
    )


def _previous_frame(previous: TaxRatings | pl.DataFrame | None, year: int) -> pl.LazyFrame:
    cols = {"credit_code": pl.String, "grade": pl.String, "grade_basis": pl.String}
    if previous is None:
        return pl.LazyFrame(schema={**cols, "direct_d_year": pl.Int32})
    frame = previous.ratings if isinstance(previous, TaxRatings) else previous
    need = ["credit_code", "year", "grade", "grade_basis", "direct_d_year"]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise DataError(f"'previous' must have columns {need}; missing {missing}.")
    return (
        frame.lazy()
        .filter(pl.col("year") == year - 1)
        .select(*cols, pl.col("direct_d_year").cast(pl.Int32))
    )


def _violation_lines(
    violations: FrameLike | None, ents: pl.LazyFrame, table: pl.DataFrame, y: int
) -> pl.LazyFrame:
    if violations is None:
        return _line(
            pl.LazyFrame(schema={"credit_code": pl.String}),
            code="",
            names=("", ""),
            kind="",
            points=0.0,
            per="",
            event_date=pl.lit(None),
            source_table="tax_violations",
            source_record_id=pl.lit(None),
        )
    vio = (
        raw_table(
            violations,
            "tax_violations",
            ["record_id", "credit_code", "event_date", "indicator_code"],
        )
        .filter(pl.col("event_date").dt.year() == y)
        .join(ents.select("credit_code"), on="credit_code", how="semi")
    )
    codes = vio.select(pl.col("indicator_code").unique()).collect().to_series().to_list()
    usable = table.filter(pl.col("source") == "violations")
    bad = sorted(set(codes) - set(usable["code"].to_list()), key=str)
    if bad:
        derived = set(table.filter(pl.col("source") == "filings")["code"].to_list())
        why = " (derived from tax_filings, not violations)" if set(bad) & derived else ""
        known = ", ".join(usable["code"].to_list())
        raise DataError(
            f"'tax_violations.indicator_code' must be one of the [[tax.deductions]] codes with "
            f"source violations ({known}){why}; got {bad} in {y}."
        )
    joined = vio.join(usable.lazy(), left_on="indicator_code", right_on="code", how="inner")
    return joined.select(
        pl.col("credit_code"),
        pl.col("event_date"),
        pl.col("indicator_code"),
        pl.col("name_zh"),
        pl.col("name_en"),
        pl.col("kind"),
        pl.col("points"),
        pl.lit("tax_violations").alias("source_table"),
        pl.col("record_id").alias("source_record_id"),
        pl.col("per"),
    )


def _zero_lines(
    fil: pl.LazyFrame, rules: TaxConfig, names: dict[str, tuple[str, str, str]]
) -> list[pl.LazyFrame]:
    zero = (
        fil.filter(pl.col("zero_declaration"))
        .select("credit_code", "period", "record_id")
        .sort("credit_code", "period")
        .with_columns(month=pl.col("period").dt.month().cast(pl.Int32))
        .with_columns(run=pl.col("month") - pl.int_range(pl.len()).over("credit_code"))
        .with_columns(
            in_run=pl.int_range(1, pl.len() + 1).over("credit_code", "run"),
            in_year=pl.int_range(1, pl.len() + 1).over("credit_code"),
        )
    )
    out = []
    for code, column, needed in (
        ("NO_A_ZERO_RUN", "in_run", rules.zero_declaration_run_no_a),
        ("NO_A_ZERO_YEAR", "in_year", rules.zero_declaration_year_no_a),
    ):
        hit = zero.filter(pl.col(column) == needed)
        out.append(
            _line(
                hit,
                code=code,
                names=names[code][1:],
                kind="no_a",
                points=0.0,
                per="once",
                event_date=pl.col("period"),
                source_table="tax_filings",
                source_record_id=pl.col("record_id"),
            )
        )
    return out


def rate_tax(
    filings: FrameLike,
    violations: FrameLike | None,
    enterprises: FrameLike,
    *,
    year: int,
    rules: TaxConfig,
    previous: TaxRatings | pl.DataFrame | None = None,
) -> TaxRatings:
    """Rate every taxpayer of ``year``: score, grade and the lines behind them.

    Parameters
    ----------
    filings, violations, enterprises
        Raw tables ``tax_filings``, ``tax_violations`` (None: no violations) and
        ``enterprises`` as ``scoring.schema`` defines them (validated).
    year
        The evaluation year; records of other years are not used.
    rules
        ``config.tax``: start scores, grade bounds and the deduction table.
    previous
        The ratings of ``year - 1`` (more years may be given); None when there are
        none, which switches the carry-over rules off.

    Returns
    -------
    TaxRatings
        One rating per taxpayer and its lines.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> ents = pl.DataFrame({"credit_code": ["C1"], "established_date": [dt.date(2012, 3, 1)],
    ...     "deregistered_date": [None]})
    >>> rate_tax(_example_filings("C1", 2012), None, ents, year=2012,
    ...     rules=load_config().tax).ratings["grade_basis"].to_list()
    ['new_taxpayer']
    """
    y = check_year(year)
    start, end = dt.date(y, 1, 1), year_end(y)
    names = _rule_names(rules)
    table = _deduction_table(rules)
    ents = (
        raw_table(
            enterprises, "enterprises", ["credit_code", "established_date", "deregistered_date"]
        )
        .filter(
            pl.col("established_date") <= end,
            pl.col("deregistered_date").is_null() | (pl.col("deregistered_date") > end),
        )
        .select("credit_code", "established_date")
        .unique("credit_code", keep="first", maintain_order=True)
    )
    fil = (
        raw_table(filings, "tax_filings", _FILING_COLUMNS)
        .filter(pl.col("period").is_between(start, end))
        .join(ents.select("credit_code"), on="credit_code", how="semi")
        .sort("credit_code", "period", "record_id")
        .unique(["credit_code", "period"], keep="first", maintain_order=True)
    )
    prev = _previous_frame(previous, y).join(
        ents.select("credit_code"), on="credit_code", how="semi"
    )

    parts: list[pl.LazyFrame] = []
    for d in rules.deductions:
        if d.source != "filings":
            continue
        late = (
            pl.col("filed_date").is_null() | (pl.col("filed_date") > pl.col("due_date"))
            if d.code == "LATE_FILING"
            else pl.col("tax_paid") < pl.col("tax_payable") - _PAYMENT_TOLERANCE
        )
        parts.append(
            _line(
                fil.filter(late),
                code=d.code,
                names=(d.name_zh, d.name_en),
                kind=d.kind,
                points=d.points,
                per=d.per,
                event_date=pl.col("due_date"),
                source_table="tax_filings",
                source_record_id=pl.col("record_id"),
            )
        )
    parts.append(_violation_lines(violations, ents, table, y))
    prev_id = pl.col("credit_code") + pl.lit(f":{y - 1}")
    since = pl.lit(y) - pl.col("direct_d_year")
    was_direct = pl.col("grade_basis").is_in(_D_BASES)
    for code, rows, points in (
        (
            "PREV_D_SCORE",
            prev.filter(pl.col("grade") == "D", pl.col("grade_basis") == "score"),
            rules.d_next_year_penalty,
        ),
        ("DIRECT_D_KEPT", prev.filter(was_direct, since < rules.direct_d_years), 0.0),
        ("NO_A_AFTER_DIRECT_D", prev.filter(was_direct, since == rules.direct_d_years), 0.0),
        ("NO_A_PREV_D", prev.filter(pl.col("grade") == "D"), 0.0),
    ):
        parts.append(
            _line(
                rows,
                code=code,
                names=names[code][1:],
                kind=names[code][0],
                points=points,
                per="once",
                event_date=pl.lit(start),
                source_table="tax_ratings",
                source_record_id=prev_id,
            )
        )
    young = pl.col("established_date").dt.offset_by(f"{rules.min_years_for_a}y") > end
    parts.append(
        _line(
            ents.filter(young) if rules.min_years_for_a > 0 else ents.head(0),
            code="NO_A_YOUNG",
            names=names["NO_A_YOUNG"][1:],
            kind="no_a",
            points=0.0,
            per="once",
            event_date=pl.col("established_date"),
            source_table="enterprises",
            source_record_id=pl.col("credit_code"),
        )
    )
    parts.extend(_zero_lines(fil, rules, names))

    first = pl.int_range(pl.len()).over("credit_code", "indicator_code") == 0
    lines = (
        pl.concat(parts)
        .sort("credit_code", "indicator_code", "event_date", "source_record_id")
        .filter((pl.col("per") == "event") | first)
        .drop("per")
        .with_columns(year=pl.lit(y, dtype=pl.Int32))
        .select(list(TAX_DEDUCTIONS_SCHEMA))
        .sort("credit_code", "event_date", "indicator_code", "source_record_id")
        .collect()
    )
    ratings = _grade(ents, fil, lines.lazy(), prev, rules=rules, year=y).collect()
    return TaxRatings(ratings=ratings, deductions=lines)


def _grade(
    ents: pl.LazyFrame,
    fil: pl.LazyFrame,
    lines: pl.LazyFrame,
    prev: pl.LazyFrame,
    *,
    rules: TaxConfig,
    year: int,
) -> pl.LazyFrame:
    stats = fil.group_by("credit_code").agg(
        filing_months=pl.col("period").n_unique().cast(pl.Int32),
        revenue=pl.col("revenue").sum(),
    )
    new_d = (pl.col("kind") == "direct_d") & (pl.col("indicator_code") != "DIRECT_D_KEPT")
    agg = lines.group_by("credit_code").agg(
        deducted=pl.col("points").sum(),
        direct_new=new_d.any(),
        kept=(pl.col("indicator_code") == "DIRECT_D_KEPT").any(),
        cannot_be_a=(pl.col("kind") == "no_a").any(),
    )
    prev_year = prev.select("credit_code", prev_direct_year=pl.col("direct_d_year"))
    score = pl.col("score")
    score_grade = (
        pl.when(score >= rules.grade_a_min)
        .then(pl.lit("A"))
        .when(score >= rules.grade_b_min)
        .then(pl.lit("B"))
        .when(score >= rules.grade_c_min)
        .then(pl.lit("C"))
        .otherwise(pl.lit("D"))
    )
    new = pl.col("established_date") >= dt.date(year, 1, 1)
    no_income = (
        (pl.col("filing_months") > 0) & (pl.col("revenue") <= 0) & (score >= rules.grade_b_min)
    )
    sg = pl.col("score_grade")
    basis = (
        pl.when(pl.col("direct_new"))
        .then(pl.lit("direct_d"))
        .when(pl.col("kept"))
        .then(pl.lit("kept_d"))
        .when(sg == "D")
        .then(pl.lit("score"))
        .when(new)
        .then(pl.lit("new_taxpayer"))
        .when(no_income)
        .then(pl.lit("no_income"))
        .when((sg == "A") & pl.col("cannot_be_a"))
        .then(pl.lit("no_a"))
        .otherwise(pl.lit("score"))
    )
    gb = pl.col("grade_basis")
    grade = (
        pl.when(gb.is_in(["direct_d", "kept_d"]))
        .then(pl.lit("D"))
        .when(gb.is_in(["new_taxpayer", "no_income"]))
        .then(pl.lit("M"))
        .when(gb == "no_a")
        .then(pl.lit("B"))
        .otherwise(sg)
    )
    direct_year = (
        pl.when(gb == "direct_d")
        .then(pl.lit(year, dtype=pl.Int32))
        .when(gb == "kept_d")
        .then(pl.col("prev_direct_year"))
        .otherwise(pl.lit(None, dtype=pl.Int32))
    )
    pub = dt.date(year + 1, rules.publication_month, 1)
    return (
        ents.join(stats, on="credit_code", how="left")
        .join(agg, on="credit_code", how="left")
        .join(prev_year, on="credit_code", how="left")
        .with_columns(
            pl.col("filing_months").fill_null(0),
            pl.col("revenue").fill_null(0.0),
            pl.col("deducted").fill_null(0.0),
            pl.col("direct_new", "kept", "cannot_be_a").fill_null(False),
        )
        .with_columns(
            start_score=pl.when(pl.col("filing_months") >= rules.complete_filing_months)
            .then(pl.lit(rules.start_score))
            .otherwise(pl.lit(rules.start_score_incomplete))
        )
        .with_columns(score=(pl.col("start_score") - pl.col("deducted")).round(6))
        .with_columns(score_grade=score_grade)
        .with_columns(grade_basis=basis)
        .with_columns(grade=grade, direct_d_year=direct_year)
        .with_columns(
            year=pl.lit(year, dtype=pl.Int32),
            published_date=pl.lit(pub, dtype=pl.Date),
        )
        .select(list(TAX_RATINGS_SCHEMA))
        .sort("credit_code")
    )


def rate_tax_years(
    filings: FrameLike,
    violations: FrameLike | None,
    enterprises: FrameLike,
    *,
    years: Sequence[int],
    rules: TaxConfig,
    previous: TaxRatings | pl.DataFrame | None = None,
    progress: bool = False,
) -> TaxRatings:
    """Rate consecutive ``years`` in order, each passing its result to the next.

    ``previous`` may hold the ratings of the year before the first.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> ents = pl.DataFrame({"credit_code": ["C1"], "established_date": [dt.date(2001, 1, 1)],
    ...     "deregistered_date": [None]})
    >>> fil = pl.concat([_example_filings("C1", y) for y in (2011, 2012)])
    >>> r = rate_tax_years(fil, None, ents, years=[2011, 2012], rules=load_config().tax)
    >>> r.ratings.select("year", "grade").rows()
    [(2011, 'A'), (2012, 'A')]
    """
    ys = sorted(check_year(y, name="years") for y in years)
    if any(b != a + 1 for a, b in itertools.pairwise(ys)) or len(set(ys)) != len(ys):
        raise DataError(f"'years' must be consecutive years; got {ys}.")
    prev = previous
    parts = []
    steps = track(ys, description="tax ratings") if progress else ys
    for y in steps:
        result = rate_tax(filings, violations, enterprises, year=y, rules=rules, previous=prev)
        parts.append(result)
        prev = result
    return TaxRatings.concat(parts)


def _example_filings(
    credit_code: str,
    year: int,
    *,
    late_months: Sequence[int] = (),
    unpaid_months: Sequence[int] = (),
    zero_months: Sequence[int] = (),
    months: Sequence[int] = tuple(range(1, 13)),
) -> pl.DataFrame:
    """Twelve (or ``months``) clean monthly filings of one taxpayer, for examples and tests.

    Filings are due on the 15th of the next month and filed on the 10th; months in
    ``late_months`` are filed on the 20th, ``unpaid_months`` pay half the tax,
    ``zero_months`` are zero declarations (no revenue, no tax).

    Examples
    --------
    >>> _example_filings("C1", 2012, late_months=(1,)).row(0)[3:5]
    (datetime.date(2012, 2, 15), datetime.date(2012, 2, 20))
    """
    rows = []
    for m in months:
        period = dt.date(year, m, 1)
        nxt = dt.date(year + (m == 12), m % 12 + 1, 1)
        zero = m in zero_months
        revenue = 0.0 if zero else 100_000.0
        payable = 0.0 if zero else 5_000.0
        rows.append(
            {
                "record_id": f"{credit_code}-{year}{m:02d}",
                "credit_code": credit_code,
                "period": period,
                "due_date": nxt.replace(day=15),
                "filed_date": nxt.replace(day=20 if m in late_months else 10),
                "revenue": revenue,
                "tax_payable": payable,
                "tax_paid": payable / 2 if m in unpaid_months else payable,
                "zero_declaration": zero,
            }
        )
    return pl.DataFrame(rows, schema=TABLES["tax_filings"].schema)
