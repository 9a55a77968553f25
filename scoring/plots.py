"""Figures and headline numbers for the dashboards, built from mart frames only.

The one module that imports plotly. Every builder takes a mart (a polars frame from
:func:`scoring.marts.load_mart`) and keyword-only filter values, and returns a plotly
figure or a :class:`Kpi`; none reads a file. The filter values a builder accepts are
named the same everywhere, so :mod:`scoring.panels` passes each builder only those it
declares:

``region``
    a region code of :mod:`scoring.geo`, or ``"440000"`` for the province;
``year``
    a calendar year;
``pilot_regions``, ``pilot_start``
    the pilot (from the marts manifest).

Labels are Chinese first with English alongside. Suppressed groups show as "—" (tiles
in grey) with a note; nothing is drawn from the internet (no map tiles, no CDN): the tile
map is a grid of squares laid out roughly as the cities lie.

Examples
--------
>>> region_label("440606")
'顺德区 Shunde'
>>> fmt_percent(0.0321)
'3.2%'
>>> sorted(TILE_POSITIONS) == sorted(REGION_CODES)
True
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]
import polars as pl

from scoring.geo import REGION_CODES, region_name
from scoring.marts import MART_SPECS, PROVINCE_CODE
from scoring.schema import TABLES

__all__ = [
    "HOUSEHOLD_GRADE_COLORS",
    "OUTCOME_LABELS",
    "SUPPRESSED_TEXT",
    "TAX_GRADE_COLORS",
    "TILE_POSITIONS",
    "Kpi",
    "access_map",
    "access_trend",
    "bin_chart",
    "bundle_html",
    "calibration_chart",
    "coverage_map",
    "credit_household_map",
    "default_rate_trend",
    "event_study_chart",
    "figure_bundle",
    "figure_html",
    "figures_html",
    "fmt_count",
    "fmt_percent",
    "household_grade_mix",
    "kpi_access_rate",
    "kpi_active_smes",
    "kpi_coverage",
    "kpi_credit_household_share",
    "kpi_credit_units",
    "kpi_model_auc",
    "kpi_new_loans",
    "kpi_npl_ratio",
    "kpi_pilot_effect",
    "kpi_records",
    "kpi_registered",
    "kpi_tax_grade_share",
    "ks_chart",
    "model_health_chart",
    "npl_map",
    "npl_trend",
    "pilot_effects_chart",
    "pilot_vs_control_chart",
    "records_by_source_bars",
    "records_trend",
    "region_effects_chart",
    "region_label",
    "roc_chart",
    "rural_units_bars",
    "score_by_region_chart",
    "tax_grade_mix",
    "tile_map",
]

# --------------------------------------------------------------------------- style

FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", Arial'
INK = "#1f2d3d"
MUTED = "#6b7a90"
GRID = "#e6ebf2"
NAVY = "#1f4e79"
TEAL = "#138d90"
ORANGE = "#e07b16"
RED = "#c0392b"
GREY = "#c9d1dc"
PILOT = "#d4380d"
SELECTED = "#111827"

TAX_GRADE_COLORS = {"A": "#1b7f3b", "B": "#7fb77e", "M": "#b7c3d0", "C": "#f0a202", "D": "#c0392b"}
"""Tax credit grades, best to worst."""
HOUSEHOLD_GRADE_COLORS = {"AAA": "#0b5d1e", "AA": "#2e8b3e", "A": "#8cc084", "none": "#c9d1dc"}
"""Household grades; ``none``: not a credit household."""

_GOOD = [[0.0, "#e8f0f8"], [0.5, "#6fa1cf"], [1.0, "#173f66"]]
_BAD = [[0.0, "#fdf0e6"], [0.5, "#ef9a62"], [1.0, "#9e2a1c"]]

_TEMPLATE = go.layout.Template(
    layout={
        "font": {"family": FONT, "size": 13, "color": INK},
        "colorway": [NAVY, ORANGE, TEAL, "#7b5ea7", "#8c6d31", RED],
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "margin": {"l": 56, "r": 16, "t": 12, "b": 44},
        "hoverlabel": {"font": {"family": FONT}},
        "xaxis": {"gridcolor": GRID, "linecolor": GREY, "zeroline": False, "automargin": True},
        "yaxis": {"gridcolor": GRID, "linecolor": GREY, "zeroline": False, "automargin": True},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0, "title": None},
    }
)

PROVINCE_LABEL = "全省 Guangdong"
SUPPRESSED_TEXT = "—"


def region_label(code: str) -> str:
    """Chinese and English name of a region, or of the province (``440000``).

    Examples
    --------
    >>> region_label("440000")
    '全省 Guangdong'
    """
    return PROVINCE_LABEL if code == PROVINCE_CODE else region_name(code)


def _short_zh(code: str) -> str:
    return region_label(code).split(" ")[0]


def fmt_percent(value: float | None, *, digits: int = 1) -> str:
    """A share as a percentage, or "—" when unknown or suppressed.

    Examples
    --------
    >>> fmt_percent(None)
    '—'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return SUPPRESSED_TEXT
    return f"{value * 100:.{digits}f}%"


def fmt_count(value: float | None) -> str:
    """A count with thousands separators; 万 / 亿 for large numbers.

    Examples
    --------
    >>> fmt_count(1234), fmt_count(123456), fmt_count(None)
    ('1,234', '12.3万', '—')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return SUPPRESSED_TEXT
    if abs(value) >= 1e8:
        return f"{value / 1e8:.2f}亿"
    if abs(value) >= 1e5:
        return f"{value / 1e4:.1f}万"
    return f"{value:,.0f}"


def _fmt_amount(value: float | None) -> str:
    """CNY in 亿元 / 万元."""
    if value is None:
        return SUPPRESSED_TEXT
    if abs(value) >= 1e8:
        return f"{value / 1e8:.2f}亿元"
    return f"{value / 1e4:,.0f}万元"


def _figure(*, height: int) -> Any:
    fig = go.Figure()
    fig.update_layout(template=_TEMPLATE, height=height)
    return fig


def _message(text: str, *, height: int = 300) -> Any:
    fig = _figure(height=height)
    fig.add_annotation(
        text=text,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 14, "color": MUTED},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


_NO_DATA = "本筛选条件下无可发布数据<br>No publishable data for this selection"


_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


def figure_bundle(fig: Any) -> dict[str, Any]:
    """The plotly MIME bundle of ``fig`` (JSON only: plotly.js comes from the front end).

    Displayed in an ``ipywidgets.Output`` it renders offline in Voila and JupyterLab
    (the ``jupyterlab-plotly`` extension); far lighter than a ``FigureWidget``, which
    ships its 5 MB script with every chart.

    Examples
    --------
    >>> bundle = figure_bundle(records_trend(_example_records(), region="440000"))
    >>> list(bundle)
    ['application/vnd.plotly.v1+json']
    >>> bundle["application/vnd.plotly.v1+json"]["config"]["displaylogo"]
    False
    """
    data = json.loads(fig.to_json(validate=False))
    data["config"] = dict(_CONFIG)
    return {"application/vnd.plotly.v1+json": data}


def bundle_html(spec: Mapping[str, Any], *, include_plotlyjs: bool) -> str:
    """A plotly JSON output (``application/vnd.plotly.v1+json``) as an HTML ``<div>``.

    For reports: ``include_plotlyjs`` embeds plotly.js (about 5 MB) in the first figure of
    a page only, so the page opens offline.

    Examples
    --------
    >>> spec = figure_bundle(_message("x"))["application/vnd.plotly.v1+json"]
    >>> div = bundle_html(spec, include_plotlyjs=False)
    >>> div.lstrip().startswith("<div"), "displaylogo" in div
    (True, True)
    """
    import plotly.io as pio  # type: ignore[import-untyped]

    fig = pio.from_json(json.dumps({k: v for k, v in spec.items() if k != "config"}))
    body: str = pio.to_html(
        fig,
        include_plotlyjs=include_plotlyjs,
        full_html=False,
        config=dict(spec.get("config") or _CONFIG),
    )
    return body


# --------------------------------------------------------------------------- frame helpers


def _rows(frame: pl.DataFrame, region: str) -> pl.DataFrame:
    return frame.filter(pl.col("region_code") == region)


def _in_year(frame: pl.DataFrame, year: int, column: str = "month") -> pl.DataFrame:
    if column == "year":
        return frame.filter(pl.col("year") == year)
    return frame.filter(pl.col(column).dt.year() == year)


def _published(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(~pl.col("suppressed"))


def _pooled(frame: pl.DataFrame, num: str, den: str) -> float | None:
    """sum(num) / sum(den) over the published rows; None when nothing is published."""
    pub = _published(frame)
    d = pub.get_column(den).sum() if pub.height else 0
    if not d:
        return None
    return float(pub.get_column(num).sum()) / float(d)


def _per_region(frame: pl.DataFrame, num: str, den: str) -> tuple[dict[str, float], set[str]]:
    """Pooled ratio per region; the set of regions with suppressed rows and no value."""
    values: dict[str, float] = {}
    hidden: set[str] = set()
    for code in REGION_CODES:
        rows = _rows(frame, code)
        v = _pooled(rows, num, den)
        if v is not None:
            values[code] = v
        elif rows.height and rows.get_column("suppressed").any():
            hidden.add(code)
    return values, hidden


def _total(frame: pl.DataFrame, column: str) -> float | None:
    """Sum of ``column`` over the published rows; None when none is published."""
    pub = _published(frame)
    return float(pub.get_column(column).sum()) if pub.height else None


def _year_end_row(frame: pl.DataFrame, region: str, year: int) -> dict[str, Any] | None:
    rows = _in_year(_rows(frame, region), year).sort("month")
    return rows.row(-1, named=True) if rows.height else None


# --------------------------------------------------------------------------- tile map

TILE_POSITIONS: dict[str, tuple[int, int]] = {
    # (column west->east, row north->south), roughly where each city lies
    "440200": (4, 0),  # 韶关
    "441400": (8, 0),  # 梅州
    "441800": (3, 1),  # 清远
    "441600": (6, 1),  # 河源
    "445200": (8, 1),  # 揭阳
    "445100": (9, 1),  # 潮州
    "445300": (1, 2),  # 云浮
    "441200": (2, 2),  # 肇庆
    "440600": (3, 2),  # 佛山
    "440100": (4, 2),  # 广州
    "441900": (5, 2),  # 东莞
    "441300": (6, 2),  # 惠州
    "440500": (9, 2),  # 汕头
    "440900": (1, 3),  # 茂名
    "440700": (2, 3),  # 江门
    "440606": (3, 3),  # 顺德
    "442000": (4, 3),  # 中山
    "440300": (5, 3),  # 深圳
    "441500": (7, 3),  # 汕尾
    "440800": (0, 4),  # 湛江
    "441700": (1, 4),  # 阳江
    "440400": (4, 4),  # 珠海
}
"""Grid position of each of the 22 regions on the tile map."""


def _interpolate(scale: Sequence[Sequence[Any]], t: float) -> str:
    t = min(max(t, 0.0), 1.0)
    for (t0, c0), (t1, c1) in itertools.pairwise(scale):
        if t <= t1:
            w = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
            a = [int(c0[i : i + 2], 16) for i in (1, 3, 5)]
            b = [int(c1[i : i + 2], 16) for i in (1, 3, 5)]
            return "#" + "".join(f"{round(x + (y - x) * w):02x}" for x, y in zip(a, b, strict=True))
    return str(scale[-1][1])


def tile_map(
    values: Mapping[str, float],
    *,
    label_zh: str,
    label_en: str,
    hidden: set[str] | frozenset[str] = frozenset(),
    pilot_regions: Sequence[str] = (),
    selected: str | None = None,
    good_high: bool = True,
    percent: bool = True,
    height: int = 390,
) -> Any:
    """The 21 cities and Shunde as a grid of tiles coloured by ``values``.

    Regions in ``hidden`` (suppressed) are grey with "—"; regions with no value are
    pale. Pilot regions have an orange frame and a star; ``selected`` a dark frame.

    Examples
    --------
    >>> fig = tile_map({"440100": 0.5, "440300": 0.2}, label_zh="覆盖率", label_en="coverage")
    >>> len(fig.layout.shapes)
    22
    """
    fig = _figure(height=height)
    known = [v for v in values.values() if v is not None and not math.isnan(v)]
    lo, hi = (min(known), max(known)) if known else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo = hi - max(abs(hi) * 0.1, 0.01)
    span = hi - lo
    scale = _GOOD if good_high else _BAD
    fmt = fmt_percent if percent else fmt_count
    xs, ys, hover, shade = [], [], [], []
    for code, (col, row) in TILE_POSITIONS.items():
        v = values.get(code)
        if v is not None and math.isnan(v):
            v = None
        t = 0.5 if v is None else (v - lo) / span
        fill = "#f1f4f8" if v is None else _interpolate(scale, 0.08 + 0.92 * t)
        if code in hidden:
            fill = "#d5dbe3"
        dark = v is not None and t > 0.55
        pilot = code in pilot_regions
        line = (
            {"color": SELECTED, "width": 3.5}
            if code == selected
            else {"color": PILOT, "width": 2.5}
            if pilot
            else {"color": "white", "width": 1}
        )
        fig.add_shape(
            type="rect",
            x0=col - 0.47,
            x1=col + 0.47,
            y0=row - 0.45,
            y1=row + 0.45,
            fillcolor=fill,
            line=line,
            layer="below",
        )
        name_en = region_label(code).split(" ", 1)[1]
        value_text = SUPPRESSED_TEXT if v is None else fmt(v)
        star = "★" if pilot else ""
        fig.add_annotation(
            x=col,
            y=row,
            showarrow=False,
            text=(
                f"<b>{star}{_short_zh(code)}</b><br>"
                f"<span style='font-size:8.5px'>{name_en}</span><br><b>{value_text}</b>"
            ),
            font={"size": 11.5, "color": "white" if dark else INK},
        )
        xs.append(col)
        ys.append(row)
        shade.append(lo if v is None else v)
        note = " (已隐去 suppressed)" if code in hidden else ""
        hover.append(
            f"{region_label(code)}{' · 试点 pilot' if pilot else ''}<br>"
            f"{label_zh} {label_en}: {value_text}{note}"
        )
    tick = (".1%" if span < 0.05 else ".0%") if percent else ","
    # invisible markers carry the hover text and the colour bar
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="markers",
            hovertext=hover,
            hoverinfo="text",
            marker={
                "size": 44,
                "symbol": "square",
                "opacity": 0,
                "color": shade,
                "colorscale": scale,
                "cmin": lo,
                "cmax": hi,
                "showscale": bool(known),
                "colorbar": {
                    "orientation": "h",
                    "x": 0.72,
                    "xanchor": "center",
                    "y": -0.02,
                    "yanchor": "top",
                    "len": 0.5,
                    "thickness": 9,
                    "outlinewidth": 0,
                    "tickformat": tick,
                    "tickfont": {"size": 10},
                    "title": {
                        "text": f"{label_zh} {label_en}",
                        "side": "top",
                        "font": {"size": 11},
                    },
                },
            },
            showlegend=False,
        )
    )
    fig.add_annotation(
        x=-0.45,
        y=-0.3,
        xanchor="left",
        yanchor="top",
        showarrow=False,
        align="left",
        text="<span style='color:#d4380d'>★ 试点地区 pilot</span><br>"
        "<span style='color:#6b7a90'>灰色 grey: 已隐去 suppressed</span>",
        font={"size": 10.5},
    )
    fig.update_xaxes(visible=False, range=[-0.52, 9.52], fixedrange=True)
    fig.update_yaxes(visible=False, range=[4.52, -0.52], fixedrange=True)
    fig.update_layout(margin={"l": 2, "r": 2, "t": 2, "b": 58}, dragmode=False)
    return fig


def coverage_map(
    coverage: pl.DataFrame,
    *,
    year: int,
    region: str = PROVINCE_CODE,
    pilot_regions: Sequence[str] = (),
    segment: str = "sme",
) -> Any:
    """Tile map of the share of registered entities with a department record in ``year``.

    Examples
    --------
    >>> coverage_map(_example_coverage(), year=2012).layout.height
    390
    """
    rows = _in_year(coverage.filter(pl.col("segment") == segment), year, "year")
    values, hidden = _per_region(rows, "covered", "registered")
    return tile_map(
        values,
        label_zh="信息覆盖率",
        label_en="coverage",
        hidden=hidden,
        pilot_regions=pilot_regions,
        selected=region,
    )


def access_map(
    access: pl.DataFrame,
    *,
    year: int,
    region: str = PROVINCE_CODE,
    pilot_regions: Sequence[str] = (),
) -> Any:
    """Tile map of SME credit access (borrowers / active SMEs, monthly, pooled over ``year``).

    Examples
    --------
    >>> len(access_map(_blank("sme_credit_access"), year=2013).layout.shapes)
    22
    """
    values, hidden = _per_region(_in_year(access, year), "borrowers", "active_smes")
    return tile_map(
        values,
        label_zh="月均贷款获得率",
        label_en="monthly credit access",
        hidden=hidden,
        pilot_regions=pilot_regions,
        selected=region,
    )


def npl_map(
    npl: pl.DataFrame, *, year: int, region: str = PROVINCE_CODE, pilot_regions: Sequence[str] = ()
) -> Any:
    """Tile map of the SME NPL ratio at the last month of ``year``.

    Examples
    --------
    >>> len(npl_map(_blank("sme_npl"), year=2013).layout.shapes)
    22
    """
    values: dict[str, float] = {}
    hidden: set[str] = set()
    for code in REGION_CODES:
        row = _year_end_row(npl, code, year)
        if row is None:
            continue
        if row["suppressed"]:
            hidden.add(code)
        elif row["npl_ratio"] is not None:
            values[code] = row["npl_ratio"]
    return tile_map(
        values,
        label_zh="年末不良率",
        label_en="NPL ratio, year end",
        hidden=hidden,
        pilot_regions=pilot_regions,
        selected=region,
        good_high=False,
    )


def _credit_share(households: pl.DataFrame) -> pl.DataFrame:
    """Per region and year: share of credit households, null when any grade is suppressed."""
    return households.group_by("region_code", "year").agg(
        hidden=pl.col("suppressed").any(),
        num=pl.col("households").filter(pl.col("grade") != "none").sum(),
        den=pl.col("households").sum(),
    )


def credit_household_map(
    households: pl.DataFrame,
    *,
    year: int,
    region: str = PROVINCE_CODE,
    pilot_regions: Sequence[str] = (),
) -> Any:
    """Tile map of the share of rated households that are credit households (AAA-A).

    Examples
    --------
    >>> len(credit_household_map(_blank("household_ratings"), year=2013).layout.shapes)
    22
    """
    shares = _credit_share(_in_year(households, year, "year"))
    values: dict[str, float] = {}
    hidden: set[str] = set()
    for row in shares.iter_rows(named=True):
        if row["region_code"] == PROVINCE_CODE:
            continue
        if row["hidden"]:
            hidden.add(row["region_code"])
        elif row["den"]:
            values[row["region_code"]] = row["num"] / row["den"]
    return tile_map(
        values,
        label_zh="信用户占比",
        label_en="credit households",
        hidden=hidden,
        pilot_regions=pilot_regions,
        selected=region,
    )


# --------------------------------------------------------------------------- lines and bars


def _empty(fig: Any) -> bool:
    """True when no trace of ``fig`` has a y value to draw."""
    return not any(t.y is not None and any(v is not None for v in t.y) for t in fig.data)


def _pilot_marker(fig: Any, pilot_start: dt.date | None) -> None:
    if pilot_start is None:
        return
    fig.add_vline(x=pilot_start, line={"color": PILOT, "width": 1.5, "dash": "dot"})
    fig.add_annotation(
        x=pilot_start,
        y=1.0,
        yref="paper",
        xanchor="left",
        yanchor="top",
        showarrow=False,
        text="试点启动 pilot start",
        font={"size": 11, "color": PILOT},
    )


def _trend(
    frame: pl.DataFrame,
    *,
    value: str,
    region: str,
    label: str,
    percent: bool = True,
    pilot_start: dt.date | None = None,
    height: int = 320,
) -> Any:
    fig = _figure(height=height)
    shown = [region] if region == PROVINCE_CODE else [region, PROVINCE_CODE]
    yfmt = ".2%" if percent else ",.0f"
    hidden = False
    for code, color, dash in zip(shown, (NAVY, MUTED), ("solid", "dot"), strict=False):
        rows = _rows(frame, code).sort("month")
        if not rows.height:
            continue
        if rows.get_column(value).is_null().all():
            hidden = hidden or (code == region and bool(rows.get_column("suppressed").any()))
            continue
        fig.add_trace(
            go.Scatter(
                x=rows.get_column("month").to_list(),
                y=rows.get_column(value).to_list(),
                mode="lines",
                name=region_label(code),
                line={"color": color, "dash": dash, "width": 2.4},
                connectgaps=False,
                hovertemplate=f"%{{x|%Y-%m}}<br>{label}: %{{y:{yfmt}}}"
                f"<extra>{region_label(code)}</extra>",
            )
        )
    if _empty(fig):
        return _message(_NO_DATA, height=height)
    fig.update_yaxes(tickformat=".1%" if percent else ",", rangemode="tozero")
    fig.update_xaxes(dtick="M12", tickformat="%Y")
    fig.update_layout(hovermode="x unified")
    _pilot_marker(fig, pilot_start)
    if hidden:
        fig.add_annotation(
            x=1.0,
            y=1.0,
            xref="paper",
            yref="paper",
            xanchor="right",
            yanchor="top",
            showarrow=False,
            text=f"{region_label(region)}：数据已隐去 suppressed (small groups)",
            font={"size": 11, "color": MUTED},
        )
    return fig


def access_trend(access: pl.DataFrame, *, region: str, pilot_start: dt.date | None = None) -> Any:
    """Monthly SME credit access of the region, with the province for comparison.

    Examples
    --------
    >>> "No publishable data" in access_trend(_blank("sme_credit_access"), region="440100"
    ...     ).layout.annotations[0].text
    True
    """
    return _trend(
        access,
        value="access_rate",
        region=region,
        label="贷款获得率 access",
        pilot_start=pilot_start,
    )


def npl_trend(npl: pl.DataFrame, *, region: str, pilot_start: dt.date | None = None) -> Any:
    """Monthly SME NPL ratio of the region, with the province for comparison.

    Examples
    --------
    >>> npl_trend(_blank("sme_npl"), region="440000").layout.height
    320
    """
    return _trend(
        npl, value="npl_ratio", region=region, label="不良率 NPL", pilot_start=pilot_start
    )


def default_rate_trend(
    cohorts: pl.DataFrame, *, region: str, pilot_start: dt.date | None = None
) -> Any:
    """12-month default rate of the SME loans originated each month.

    Examples
    --------
    >>> default_rate_trend(_blank("sme_loan_cohorts"), region="440000").layout.height
    320
    """
    return _trend(
        cohorts,
        value="default_rate",
        region=region,
        label="违约率 default rate",
        pilot_start=pilot_start,
    )


def records_trend(records: pl.DataFrame, *, region: str, pilot_start: dt.date | None = None) -> Any:
    """Records collected per month (all sources), published rows only.

    Examples
    --------
    >>> len(records_trend(_example_records(), region="440000").data)
    1
    """
    rows = (
        _published(_rows(records, region))
        .group_by("month")
        .agg(pl.col("records").sum())
        .sort("month")
    )
    if not rows.height:
        return _message(_NO_DATA)
    fig = _figure(height=300)
    fig.add_trace(
        go.Scatter(
            x=rows.get_column("month").to_list(),
            y=rows.get_column("records").to_list(),
            mode="lines",
            fill="tozeroy",
            line={"color": TEAL, "width": 2},
            fillcolor="rgba(19,141,144,0.15)",
            name=region_label(region),
            hovertemplate="%{x|%Y-%m}<br>归集记录 records: %{y:,}<extra></extra>",
        )
    )
    fig.update_yaxes(tickformat="~s", rangemode="tozero")
    fig.update_xaxes(dtick="M12", tickformat="%Y")
    fig.update_layout(showlegend=False)
    _pilot_marker(fig, pilot_start)
    return fig


def _source_label(name: str) -> str:
    t = TABLES.get(name)
    return f"{t.zh} {t.en}" if t else name


def records_by_source_bars(records: pl.DataFrame, *, region: str, year: int) -> Any:
    """Records collected in ``year`` per source table (published rows).

    Examples
    --------
    >>> records_by_source_bars(_example_records(), region="440000", year=2012).data[0].y
    ('纳税申报与缴纳 tax filings and payments',)
    """
    rows = (
        _published(_in_year(_rows(records, region), year))
        .group_by("source")
        .agg(pl.col("records").sum())
        .sort("records")
    )
    if not rows.height:
        return _message(_NO_DATA, height=420)
    fig = _figure(height=420)
    fig.add_trace(
        go.Bar(
            y=[_source_label(s) for s in rows.get_column("source")],
            x=rows.get_column("records").to_list(),
            orientation="h",
            marker={"color": NAVY},
            text=[fmt_count(v) for v in rows.get_column("records")],
            textposition="auto",
            hovertemplate="%{y}<br>%{x:,} 条 records<extra></extra>",
        )
    )
    fig.update_xaxes(tickformat="~s")
    fig.update_yaxes(tickfont={"size": 11})
    fig.update_layout(margin={"l": 8, "r": 16, "t": 8, "b": 32})
    return fig


def _grade_mix(frame: pl.DataFrame, *, count: str, region: str, colors: Mapping[str, str]) -> Any:
    rows = _rows(frame, region).sort("year")
    if not rows.height or rows.get_column("share").is_null().all():
        return _message(_NO_DATA)
    fig = _figure(height=320)
    years = sorted(set(rows.get_column("year").to_list()))
    for grade, color in colors.items():
        g = rows.filter(pl.col("grade") == grade).sort("year")
        share = dict(
            zip(g.get_column("year").to_list(), g.get_column("share").to_list(), strict=True)
        )
        ys = [share.get(y) for y in years]
        fig.add_trace(
            go.Bar(
                x=[str(y) for y in years],
                y=ys,
                name=grade,
                marker={"color": color},
                text=[fmt_percent(v, digits=0) if v and v >= 0.04 else "" for v in ys],
                textposition="inside",
                insidetextanchor="middle",
                hovertemplate=f"%{{x}} · {grade}: %{{y:.1%}}<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack", legend={"traceorder": "normal"})
    fig.update_yaxes(tickformat=".0%", range=[0, 1])
    return fig


def tax_grade_mix(grades: pl.DataFrame, *, region: str) -> Any:
    """Share of taxpayers per tax credit grade, per year (stacked to 100%).

    Examples
    --------
    >>> tax_grade_mix(_blank("tax_grades"), region="440000").layout.height
    300
    """
    return _grade_mix(grades, count="taxpayers", region=region, colors=TAX_GRADE_COLORS)


def household_grade_mix(households: pl.DataFrame, *, region: str) -> Any:
    """Share of rated households per grade (AAA, AA, A, none), per year.

    Examples
    --------
    >>> household_grade_mix(_blank("household_ratings"), region="440000").layout.height
    300
    """
    colors = {("未评上 none" if k == "none" else k): v for k, v in HOUSEHOLD_GRADE_COLORS.items()}
    frame = households.with_columns(
        grade=pl.when(pl.col("grade") == "none").then(pl.lit("未评上 none")).otherwise("grade")
    )
    return _grade_mix(frame, count="households", region=region, colors=colors)


def rural_units_bars(units: pl.DataFrame, *, year: int, region: str = PROVINCE_CODE) -> Any:
    """Share of villages and towns with credit status, per region, in ``year``.

    Examples
    --------
    >>> rural_units_bars(_blank("rural_units"), year=2013).layout.height
    360
    """
    rows = _in_year(units, year, "year").filter(pl.col("region_code") != PROVINCE_CODE)
    if not rows.height:
        return _message(_NO_DATA, height=360)
    fig = _figure(height=360)
    order = [c for c in REGION_CODES if c in set(rows.get_column("region_code").to_list())]
    for level, name, color in (
        ("village", "信用村 credit villages", TEAL),
        ("town", "信用镇 credit towns", NAVY),
    ):
        lv = rows.filter(pl.col("level") == level)
        share = dict(
            zip(
                lv.get_column("region_code").to_list(),
                lv.get_column("share").to_list(),
                strict=True,
            )
        )
        fig.add_trace(
            go.Bar(
                x=[_short_zh(c) for c in order],
                y=[share.get(c) for c in order],
                name=name,
                marker={
                    "color": color,
                    "line": {
                        "width": [2.5 if c == region else 0 for c in order],
                        "color": SELECTED,
                    },
                },
                customdata=[region_label(c) for c in order],
                hovertemplate="%{customdata}<br>" + name + ": %{y:.1%}<extra></extra>",
            )
        )
    if _empty(fig):
        return _message(_NO_DATA, height=360)
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(tickangle=-45, tickfont={"size": 11})
    return fig


OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "sme_access_rate": ("中小微企业贷款获得率", "SME credit access"),
    "sme_npl_ratio": ("中小微企业不良率", "SME NPL ratio"),
    "sme_default_rate": ("新发放贷款违约率", "default rate of new SME loans"),
    "credit_household_share": ("信用户占比", "credit households"),
    "household_rated_share": ("农户建档评级占比", "households with a credit file (rated)"),
    "records_per_entity": ("每主体归集记录数", "records collected per entity"),
}
"""Chinese and English names of the pilot outcomes."""


def pilot_vs_control_chart(
    pilot_vs_control: pl.DataFrame,
    *,
    outcome: str = "sme_access_rate",
    pilot_start: dt.date | None = None,
) -> Any:
    """The outcome in pilot and control regions over time (pooled published regions).

    Examples
    --------
    >>> pilot_vs_control_chart(_example_pvc()).layout.height
    320
    """
    rows = pilot_vs_control.filter(pl.col("outcome") == outcome).sort("month")
    zh, en = OUTCOME_LABELS.get(outcome, (outcome, outcome))
    if not rows.height:
        return _message(_NO_DATA)
    fig = _figure(height=320)
    for group, name, color in (
        ("pilot", "试点地区 pilot regions", PILOT),
        ("control", "对照地区 control regions", NAVY),
    ):
        g = rows.filter(pl.col("group") == group)
        fig.add_trace(
            go.Scatter(
                x=g.get_column("month").to_list(),
                y=g.get_column("value").to_list(),
                mode="lines",
                name=name,
                line={"color": color, "width": 2.4},
                hovertemplate=f"%{{x|%Y-%m}}<br>{zh} {en}: %{{y:.2%}}<extra>{name}</extra>",
            )
        )
    if _empty(fig):
        return _message(_NO_DATA)
    fig.update_yaxes(tickformat=".1%", rangemode="tozero")
    fig.update_xaxes(dtick="M12", tickformat="%Y")
    fig.update_layout(hovermode="x unified")
    _pilot_marker(fig, pilot_start)
    return fig


def _effect_interval(rows: pl.DataFrame) -> tuple[list[float], list[float]]:
    """The wild cluster bootstrap interval where the mart has it, else the cluster one.

    With six treated regions of unequal size the cluster-robust interval is too narrow;
    the pilot evaluation recommends the wild bootstrap interval.
    """
    if "wild_ci_low" in rows.columns and rows.get_column("wild_ci_low").null_count() == 0:
        return rows.get_column("wild_ci_low").to_list(), rows.get_column("wild_ci_high").to_list()
    return rows.get_column("ci_low").to_list(), rows.get_column("ci_high").to_list()


def pilot_effects_chart(effects: pl.DataFrame) -> Any:
    """Estimated pilot effect per outcome with its 95% interval (province-wide rows).

    Examples
    --------
    >>> pilot_effects_chart(_blank("pilot_effects")).layout.height
    280
    """
    if "suppressed" not in effects.columns:  # straight from the evaluation, not the mart
        effects = effects.with_columns(suppressed=pl.lit(value=False))
    rows = effects.filter(
        (pl.col("region_code") == PROVINCE_CODE)
        & ~pl.col("suppressed")
        & (pl.col("unit") == "share")
    ).sort("outcome")
    if not rows.height:
        return _message(_NO_DATA, height=280)
    labels = [f"{r['outcome_zh']}<br>{r['outcome_en']}" for r in rows.iter_rows(named=True)]
    est = rows.get_column("estimate").to_list()
    lo, hi = _effect_interval(rows)
    fig = _figure(height=max(220, 70 * rows.height + 80))
    fig.add_trace(
        go.Scatter(
            x=est,
            y=labels,
            mode="markers",
            marker={"size": 12, "color": PILOT},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [h - e for h, e in zip(hi, est, strict=True)],
                "arrayminus": [e - lo_ for e, lo_ in zip(est, lo, strict=True)],
                "color": PILOT,
                "thickness": 2,
                "width": 6,
            },
            hovertemplate="%{y}<br>估计 estimate: %{x:.3f}<extra></extra>",
            showlegend=False,
        )
    )
    fig.add_vline(x=0, line={"color": MUTED, "width": 1})
    fig.update_xaxes(title={"text": "试点效果 (95%置信区间) · pilot effect (95% CI)"})
    fig.update_yaxes(autorange="reversed")
    return fig


def model_health_chart(health: pl.DataFrame, *, segment: str = "sme") -> Any:
    """AUC and KS of the champion per snapshot (province-wide), with PSI as bars.

    Examples
    --------
    >>> "No champion" in model_health_chart(_blank("model_health")).layout.annotations[0].text
    True
    """
    rows = health.filter(
        (pl.col("segment") == segment)
        & (pl.col("region_code") == PROVINCE_CODE)
        & (pl.col("alias") == "champion")
        & ~pl.col("suppressed")
    ).sort("snapshot_date")
    if not rows.height:
        return _message("暂无冠军模型记录<br>No champion model recorded yet")
    fig = _figure(height=320)
    oot = rows.filter(pl.col("sample").is_in(["oot", "scored"]))
    shown = oot if oot.height else rows
    x = shown.get_column("snapshot_date").to_list()
    for col, name, color in (("auc", "AUC", NAVY), ("ks", "KS", TEAL)):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=shown.get_column(col).to_list(),
                name=name,
                mode="lines+markers",
                line={"color": color, "width": 2.4},
            )
        )
    fig.add_trace(
        go.Bar(
            x=x,
            y=shown.get_column("psi").to_list(),
            name="PSI 稳定性",
            yaxis="y2",
            marker={"color": "rgba(224,123,22,0.45)"},
        )
    )
    fig.update_layout(
        yaxis={"range": [0, 1], "title": {"text": "AUC / KS"}},
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
            "title": {"text": "PSI"},
        },
    )
    return fig


# --------------------------------------------------------------------------- headline numbers


@dataclass(frozen=True, slots=True)
class Kpi:
    """A headline number: bilingual label, formatted value and a short note."""

    label_zh: str
    label_en: str
    value: str
    note: str = ""

    @property
    def suppressed(self) -> bool:
        """True when the value could not be shown."""
        return self.value == SUPPRESSED_TEXT


def _where(region: str, year: int | None = None) -> str:
    place = region_label(region)
    return f"{year}年 · {place}" if year is not None else place


def kpi_records(records: pl.DataFrame, *, region: str, year: int) -> Kpi:
    """Records collected in ``year`` (published rows of all sources).

    Examples
    --------
    >>> kpi_records(_example_records(), region="440000", year=2012).value
    '300'
    """
    rows = _published(_in_year(_rows(records, region), year))
    total = _total(rows, "records")
    return Kpi("归集记录", "records collected", fmt_count(total), _where(region, year))


def kpi_coverage(coverage: pl.DataFrame, *, region: str, year: int, segment: str = "sme") -> Kpi:
    """Share of registered entities with a department record in ``year``.

    Examples
    --------
    >>> kpi_coverage(_example_coverage(), region="440100", year=2012).value
    '80.0%'
    """
    rows = _in_year(_rows(coverage, region).filter(pl.col("segment") == segment), year, "year")
    who = "企业" if segment == "sme" else "农户"
    en = "SMEs" if segment == "sme" else "households"
    return Kpi(
        f"{who}信息覆盖率",
        f"{en} covered",
        fmt_percent(_pooled(rows, "covered", "registered")),
        _where(region, year),
    )


def kpi_registered(coverage: pl.DataFrame, *, region: str, year: int, segment: str = "sme") -> Kpi:
    """Entities registered at the end of ``year``.

    Examples
    --------
    >>> kpi_registered(_example_coverage(), region="440100", year=2012).value
    '100'
    """
    rows = _published(
        _in_year(_rows(coverage, region).filter(pl.col("segment") == segment), year, "year")
    )
    n = _total(rows, "registered")
    zh, en = ("在册企业", "SMEs registered") if segment == "sme" else ("建档农户", "households")
    return Kpi(zh, en, fmt_count(n), _where(region, year))


def kpi_active_smes(access: pl.DataFrame, *, region: str, year: int) -> Kpi:
    """Active SMEs at the last month of ``year``.

    Examples
    --------
    >>> kpi_active_smes(_blank("sme_credit_access"), region="440000", year=2013).value
    '—'
    """
    row = _year_end_row(access, region, year)
    n = None if row is None else row["active_smes"]
    return Kpi("存续中小微企业", "active SMEs", fmt_count(n), _where(region, year))


def kpi_new_loans(access: pl.DataFrame, *, region: str, year: int) -> Kpi:
    """New SME loans originated in ``year``, with their amount.

    Examples
    --------
    >>> kpi_new_loans(_blank("sme_credit_access"), region="440000", year=2013).value
    '—'
    """
    rows = _published(_in_year(_rows(access, region), year))
    n = _total(rows, "new_loans")
    amount = _total(rows, "new_loan_amount")
    return Kpi("新发放贷款", "new SME loans", fmt_count(n), f"{_fmt_amount(amount)} · {year}年")


def kpi_access_rate(access: pl.DataFrame, *, region: str, year: int) -> Kpi:
    """Monthly SME credit access pooled over ``year``.

    Examples
    --------
    >>> kpi_access_rate(_blank("sme_credit_access"), region="440000", year=2013).value
    '—'
    """
    v = _pooled(_in_year(_rows(access, region), year), "borrowers", "active_smes")
    return Kpi(
        "月均贷款获得率", "monthly credit access", fmt_percent(v, digits=2), _where(region, year)
    )


def kpi_npl_ratio(npl: pl.DataFrame, *, region: str, year: int) -> Kpi:
    """SME NPL ratio at the last month of ``year``.

    Examples
    --------
    >>> kpi_npl_ratio(_blank("sme_npl"), region="440000", year=2013).value
    '—'
    """
    row = _year_end_row(npl, region, year)
    v = None if row is None else row["npl_ratio"]
    return Kpi("年末不良率", "NPL ratio, year end", fmt_percent(v, digits=2), _where(region, year))


def kpi_tax_grade_share(grades: pl.DataFrame, *, region: str, year: int, grade: str = "A") -> Kpi:
    """Share of rated taxpayers with ``grade``.

    Examples
    --------
    >>> kpi_tax_grade_share(_blank("tax_grades"), region="440000", year=2013).value
    '—'
    """
    rows = _rows(_in_year(grades, year, "year"), region).filter(pl.col("grade") == grade)
    v = rows.get_column("share").item() if rows.height == 1 else None
    return Kpi(f"纳税信用{grade}级占比", f"tax grade {grade}", fmt_percent(v), _where(region, year))


def kpi_credit_household_share(households: pl.DataFrame, *, region: str, year: int) -> Kpi:
    """Share of rated households that are credit households (AAA, AA or A).

    Examples
    --------
    >>> kpi_credit_household_share(_blank("household_ratings"), region="440000", year=2013).value
    '—'
    """
    rows = _credit_share(_rows(_in_year(households, year, "year"), region))
    v = None
    if rows.height == 1 and not rows.item(0, "hidden") and rows.item(0, "den"):
        v = rows.item(0, "num") / rows.item(0, "den")
    return Kpi("信用户占比", "credit households", fmt_percent(v), _where(region, year))


def kpi_credit_units(units: pl.DataFrame, *, region: str, year: int, level: str = "village") -> Kpi:
    """Villages (towns) with credit status, with their share.

    Examples
    --------
    >>> kpi_credit_units(_blank("rural_units"), region="440000", year=2013).value
    '—'
    """
    rows = _rows(_in_year(units, year, "year"), region).filter(pl.col("level") == level)
    row = rows.row(0, named=True) if rows.height == 1 else None
    zh, en = ("信用村", "credit villages") if level == "village" else ("信用镇", "credit towns")
    if row is None or row["suppressed"]:
        return Kpi(zh, en, SUPPRESSED_TEXT, _where(region, year))
    return Kpi(
        zh,
        en,
        fmt_count(row["credit_units"]),
        f"占 {fmt_percent(row['share'])} of {fmt_count(row['units'])} · {year}年",
    )


def kpi_pilot_effect(effects: pl.DataFrame, *, outcome: str = "sme_access_rate") -> Kpi:
    """The estimated pilot effect on ``outcome`` with its 95% interval.

    Examples
    --------
    >>> kpi_pilot_effect(_blank("pilot_effects")).value
    '—'
    """
    zh, en = OUTCOME_LABELS.get(outcome, (outcome, outcome))
    rows = effects.filter((pl.col("region_code") == PROVINCE_CODE) & (pl.col("outcome") == outcome))
    if not rows.height or rows.item(0, "suppressed"):
        return Kpi(f"试点效果·{zh}", f"pilot effect on {en}", SUPPRESSED_TEXT)
    r = rows.row(0, named=True)
    pp = r["unit"] == "share"
    scale, unit = (100.0, " 个百分点 pp") if pp else (1.0, "")
    (lo,), (hi,) = _effect_interval(rows.head(1))
    return Kpi(
        f"试点效果·{zh}",
        f"pilot effect on {en}",
        f"{r['estimate'] * scale:+.2f}{unit}",
        f"95% CI [{lo * scale:.2f}, {hi * scale:.2f}]",
    )


def kpi_model_auc(health: pl.DataFrame, *, segment: str = "sme") -> Kpi:
    """AUC of the champion model at its latest snapshot.

    Examples
    --------
    >>> kpi_model_auc(_blank("model_health")).value
    '—'
    """
    rows = health.filter(
        (pl.col("segment") == segment)
        & (pl.col("region_code") == PROVINCE_CODE)
        & (pl.col("alias") == "champion")
        & ~pl.col("suppressed")
    ).sort("snapshot_date")
    if not rows.height:
        return Kpi("冠军模型AUC", "champion AUC", SUPPRESSED_TEXT, "暂无 none yet")
    r = rows.row(-1, named=True)
    return Kpi(
        "冠军模型AUC",
        "champion AUC",
        f"{r['auc']:.3f}",
        f"{r['model_name']} v{r['model_version']} · {r['snapshot_date']}",
    )


# --------------------------------------------------------------------------- model reports
# Figures of a training run (scoring.training writes them as HTML artifacts of the MLflow
# run). They take evaluation frames, not marts: a run's report is for analysts, and its
# frames hold no entity ids.

_SPLIT_COLORS = {"train": GREY, "test": TEAL, "oot": NAVY}
_SPLIT_TEXT = {"train": "训练 train", "test": "测试 test", "oot": "跨期 out-of-time"}


def figure_html(fig: Any, *, title: str) -> str:
    """A self-contained HTML page of ``fig`` (plotly.js embedded: opens offline).

    Examples
    --------
    >>> page = figure_html(_message("x"), title="ROC")
    >>> "<title>ROC</title>" in page, "plotly" in page
    (True, True)
    """
    body: str = fig.to_html(include_plotlyjs=True, full_html=True, config=_CONFIG)
    return body.replace("<head>", f'<head><meta charset="utf-8"><title>{title}</title>', 1)


def figures_html(figures: Sequence[tuple[str, Any]], *, title: str) -> str:
    """One self-contained HTML page of several figures, each under its heading.

    plotly.js is embedded once (about 5 MB), so a run's report opens offline without
    carrying a copy per chart.

    Examples
    --------
    >>> page = figures_html([("ROC", _message("a")), ("KS", _message("b"))], title="Charts")
    >>> page.count("<h2>"), page.count("<title>Charts</title>")
    (2, 1)
    """
    parts = []
    for i, (heading, fig) in enumerate(figures):
        div: str = fig.to_html(
            include_plotlyjs=(i == 0), full_html=False, config=_CONFIG, div_id=f"figure-{i}"
        )
        parts.append(f"<section><h2>{html.escape(heading)}</h2>{div}</section>")
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        "<style>body{font-family:sans-serif;margin:1em 2em}h2{font-size:1.1em}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{''.join(parts)}</body></html>"
    )


def roc_chart(curves: pl.DataFrame) -> Any:
    """ROC curve per split: columns ``split``, ``fpr``, ``tpr``, ``auc``.

    Examples
    --------
    >>> curves = pl.DataFrame({"split": ["oot"] * 3, "fpr": [0.0, 0.2, 1.0],
    ...     "tpr": [0.0, 0.7, 1.0], "auc": [0.75] * 3})
    >>> [t.name for t in roc_chart(curves).data]
    ['跨期 out-of-time · AUC 0.750', '随机 chance']
    """
    fig = _figure(height=420)
    others = itertools.cycle((NAVY, ORANGE, PILOT, MUTED))
    for split in curves.get_column("split").unique(maintain_order=True).to_list():
        part = curves.filter(pl.col("split") == split)
        color = _SPLIT_COLORS.get(split) or next(others)  # other curves: e.g. one per model
        fig.add_trace(
            go.Scatter(
                x=part.get_column("fpr").to_list(),
                y=part.get_column("tpr").to_list(),
                mode="lines",
                name=f"{_SPLIT_TEXT.get(split, split)} · AUC {part.get_column('auc')[0]:.3f}",
                line={"color": color, "width": 2.4},
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="随机 chance",
            line={"color": MUTED, "dash": "dot", "width": 1},
        )
    )
    fig.update_xaxes(title={"text": "误拒率 false positive rate"}, range=[0, 1])
    fig.update_yaxes(title={"text": "命中率 true positive rate"}, range=[0, 1])
    return fig


def ks_chart(curve: pl.DataFrame) -> Any:
    """Cumulative shares of bads and goods by score (KS): ``score``, ``cum_bad``, ``cum_good``.

    The KS statistic is the largest vertical gap, marked on the chart.

    Examples
    --------
    >>> curve = pl.DataFrame({"score": [500, 550, 600], "cum_bad": [0.5, 0.9, 1.0],
    ...     "cum_good": [0.1, 0.4, 1.0]})
    >>> ks_chart(curve).layout.title.text
    'KS 0.500 @ 550'
    """
    fig = _figure(height=420)
    x = curve.get_column("score").to_list()
    bad = curve.get_column("cum_bad").to_list()
    good = curve.get_column("cum_good").to_list()
    for y, name, color in ((bad, "违约 bads", RED), (good, "正常 goods", NAVY)):
        fig.add_trace(
            go.Scatter(x=x, y=y, mode="lines", name=name, line={"color": color, "width": 2.4})
        )
    gaps = [abs(b - g) for b, g in zip(bad, good, strict=True)]
    if gaps:
        i = max(range(len(gaps)), key=gaps.__getitem__)
        fig.add_trace(
            go.Scatter(
                x=[x[i], x[i]],
                y=[good[i], bad[i]],
                mode="lines+markers",
                name="KS",
                line={"color": ORANGE, "width": 3},
            )
        )
        fig.update_layout(title={"text": f"KS {gaps[i]:.3f} @ {x[i]:g}", "x": 0.5})
    fig.update_xaxes(title={"text": "评分 score"})
    fig.update_yaxes(title={"text": "累计占比 cumulative share"}, range=[0, 1])
    return fig


def calibration_chart(table: pl.DataFrame) -> Any:
    """Observed default rate (with its interval) against the grade PD, per grade.

    ``table``: ``grade``, ``n``, ``observed_rate``, ``expected_pd``, ``ci_lower``,
    ``ci_upper`` (:func:`scoring.metrics.calibration_by_grade`), best grade first.

    Examples
    --------
    >>> t = pl.DataFrame({"grade": ["A", "B"], "n": [100, 80], "observed_rate": [0.01, 0.05],
    ...     "expected_pd": [0.012, 0.04], "ci_lower": [0.002, 0.02], "ci_upper": [0.05, 0.12]})
    >>> [t.type for t in calibration_chart(t).data]
    ['bar', 'scatter']
    """
    fig = _figure(height=420)
    grades = table.get_column("grade").to_list()
    obs = table.get_column("observed_rate").to_list()
    lo = table.get_column("ci_lower").to_list()
    hi = table.get_column("ci_upper").to_list()
    up = [None if o is None or h is None else h - o for o, h in zip(obs, hi, strict=True)]
    down = [None if o is None or v is None else o - v for o, v in zip(obs, lo, strict=True)]
    fig.add_trace(
        go.Bar(
            x=grades,
            y=table.get_column("expected_pd").to_list(),
            name="等级PD grade PD",
            marker={"color": "rgba(31,78,121,0.35)"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=grades,
            y=obs,
            mode="markers",
            name="实际违约率 observed (interval)",
            marker={"color": ORANGE, "size": 10},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": up,
                "arrayminus": down,
                "color": ORANGE,
            },
            customdata=table.get_column("n").to_list(),
            hovertemplate="%{x}: %{y:.2%} (n=%{customdata})<extra></extra>",
        )
    )
    fig.update_xaxes(title={"text": "等级 grade"}, type="category")
    fig.update_yaxes(title={"text": "违约率 default rate"}, tickformat=".1%", rangemode="tozero")
    return fig


def score_by_region_chart(scores: pl.DataFrame) -> Any:
    """Score distribution per region (box plots): columns ``region_code``, ``score``.

    Examples
    --------
    >>> s = pl.DataFrame({"region_code": ["440100", "440100", "440300"], "score": [600, 620, 580]})
    >>> [t.name for t in score_by_region_chart(s).data]
    ['广州 Guangzhou', '深圳 Shenzhen']
    """
    fig = _figure(height=460)
    for code in sorted(scores.get_column("region_code").unique().to_list()):
        values = scores.filter(pl.col("region_code") == code).get_column("score").to_list()
        fig.add_trace(
            go.Box(y=values, name=region_label(code), boxpoints=False, marker={"color": NAVY})
        )
    fig.update_layout(showlegend=False)
    fig.update_yaxes(title={"text": "评分 score"})
    return fig


def bin_chart(bins: pl.DataFrame, *, feature: str) -> Any:
    """Share of rows (bars) and bad rate (line) per bin of one feature, WoE in the hover.

    ``bins``: a bin table of :meth:`scoring.binning.WoEBinner.bin_table` (one feature,
    or all with a ``feature`` column); the ``Total`` row is left out.

    Examples
    --------
    >>> t = pl.DataFrame({"label": ["[0, 30)", "[30, inf)", "Missing", "Total"],
    ...     "kind": ["range", "range", "missing", "total"], "count_share": [0.7, 0.2, 0.1, 1.0],
    ...     "bad_rate": [0.01, 0.08, 0.03, 0.025], "woe": [-0.9, 1.2, 0.2, None],
    ...     "iv": [0.3, 0.4, 0.01, 0.71]})
    >>> fig = bin_chart(t, feature="max_dpd_12m")
    >>> [tr.type for tr in fig.data], list(fig.data[0].x), fig.layout.title.text
    (['bar', 'scatter'], ['[0, 30)', '[30, inf)', 'Missing'], 'max_dpd_12m · IV 0.710')
    """
    rows = bins.filter(pl.col("feature") == feature) if "feature" in bins.columns else bins
    total = rows.filter(pl.col("kind") == "total")
    rows = rows.filter(pl.col("kind") != "total")
    if not rows.height:
        return _message(_NO_DATA)
    iv = total.get_column("iv")[0] if total.height else rows.get_column("iv").sum()
    labels = rows.get_column("label").to_list()
    fig = _figure(height=360)
    fig.add_trace(
        go.Bar(
            x=labels,
            y=rows.get_column("count_share").to_list(),
            name="样本占比 share of rows",
            marker={"color": "rgba(31,78,121,0.35)"},
            customdata=rows.get_column("woe").to_list(),
            hovertemplate="%{x}: %{y:.1%} · WoE %{customdata:.3f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=rows.get_column("bad_rate").to_list(),
            name="违约率 bad rate",
            mode="lines+markers",
            yaxis="y2",
            line={"color": RED, "width": 2.4},
            hovertemplate="%{x}: %{y:.2%}<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": f"{feature} · IV {iv:.3f}", "x": 0.5},
        yaxis={"title": {"text": "样本占比 share"}, "tickformat": ".0%"},
        yaxis2={
            "title": {"text": "违约率 bad rate"},
            "tickformat": ".1%",
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
        },
    )
    fig.update_xaxes(type="category", title={"text": "分箱 bin"})
    return fig


def event_study_chart(
    coefficients: pl.DataFrame, *, unit: str = "quarter", outcome: str = ""
) -> Any:
    """Effect by period around the pilot start with its interval (an event study).

    ``coefficients``: ``period``, ``estimate``, ``ci_low``, ``ci_high``
    (:attr:`scoring.evaluation.EventStudyResult.coefficients`); period 0 is the first
    period of the pilot, the reference period is the row of zeros.

    Examples
    --------
    >>> c = pl.DataFrame({"period": [-2, -1, 0, 1], "estimate": [0.001, 0.0, 0.01, 0.012],
    ...     "ci_low": [-0.004, 0.0, 0.005, 0.006], "ci_high": [0.006, 0.0, 0.015, 0.018]})
    >>> fig = event_study_chart(c, outcome="sme_access_rate")
    >>> list(fig.data[0].x), fig.layout.title.text
    ([-2, -1, 0, 1], '中小微企业贷款获得率 SME credit access')
    """
    rows = coefficients.sort("period")
    if not rows.height:
        return _message(_NO_DATA)
    zh, en = OUTCOME_LABELS.get(outcome, (outcome, ""))
    est = rows.get_column("estimate").to_list()
    lo = rows.get_column("ci_low").to_list()
    hi = rows.get_column("ci_high").to_list()
    fig = _figure(height=360)
    fig.add_trace(
        go.Scatter(
            x=rows.get_column("period").to_list(),
            y=est,
            mode="markers+lines",
            name="效果 effect (95% CI)",
            marker={"size": 9, "color": PILOT},
            line={"color": PILOT, "width": 1.5},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [h - e for h, e in zip(hi, est, strict=True)],
                "arrayminus": [e - v for e, v in zip(est, lo, strict=True)],
                "color": PILOT,
            },
        )
    )
    fig.add_hline(y=0, line={"color": MUTED, "width": 1})
    fig.add_vline(x=-0.5, line={"color": MUTED, "dash": "dash", "width": 1})
    periods = {"quarter": "季度 quarters", "month": "月 months"}.get(unit, unit)
    fig.update_layout(title={"text": f"{zh} {en}".strip(), "x": 0.5}, showlegend=False)
    fig.update_xaxes(title={"text": f"距试点开始 {periods} since the pilot start"}, dtick=1)
    fig.update_yaxes(title={"text": "相对对照地区 vs control regions"})
    return fig


def region_effects_chart(effects: pl.DataFrame, *, outcome: str = "") -> Any:
    """The DiD estimate of each pilot region alone, with its interval.

    ``effects``: ``region_code``, ``estimate``, ``ci_low``, ``ci_high``
    (:func:`scoring.evaluation.effects_by_region`).

    Examples
    --------
    >>> e = pl.DataFrame({"region_code": ["440100", "440400"], "estimate": [0.01, 0.02],
    ...     "ci_low": [0.0, 0.01], "ci_high": [0.02, 0.03]})
    >>> list(region_effects_chart(e).data[0].y)
    ['广州 Guangzhou', '珠海 Zhuhai']
    """
    rows = effects.sort("region_code")
    if not rows.height:
        return _message(_NO_DATA)
    zh, en = OUTCOME_LABELS.get(outcome, (outcome, ""))
    est = rows.get_column("estimate").to_list()
    lo = rows.get_column("ci_low").to_list()
    hi = rows.get_column("ci_high").to_list()
    fig = _figure(height=max(240, 50 * rows.height + 100))
    fig.add_trace(
        go.Scatter(
            x=est,
            y=[region_label(c) for c in rows.get_column("region_code").to_list()],
            mode="markers",
            marker={"size": 11, "color": PILOT},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [h - e for h, e in zip(hi, est, strict=True)],
                "arrayminus": [e - v for e, v in zip(est, lo, strict=True)],
                "color": PILOT,
            },
            showlegend=False,
        )
    )
    fig.add_vline(x=0, line={"color": MUTED, "width": 1})
    fig.update_layout(title={"text": f"{zh} {en}".strip(), "x": 0.5})
    fig.update_xaxes(title={"text": "试点效果 pilot effect (95% CI)"})
    fig.update_yaxes(autorange="reversed")
    return fig


# --------------------------------------------------------------------------- doctest data


def _blank(mart: str) -> pl.DataFrame:
    """An empty frame with the columns of ``mart``."""
    return pl.DataFrame(schema=dict(MART_SPECS[mart].columns))


def _example_records() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "region_code": [PROVINCE_CODE] * 3,
            "month": [dt.date(2012, m, 1) for m in (1, 2, 3)],
            "source": ["tax_filings"] * 3,
            "records": [100, 100, 100],
            "entities": [50, 50, 50],
            "suppressed": [False] * 3,
        }
    )


def _example_coverage() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "region_code": ["440100", "440300"],
            "year": [2012, 2012],
            "segment": ["sme", "sme"],
            "registered": [100, 200],
            "covered": [80, 150],
            "coverage_rate": [0.8, 0.75],
            "credit_files": [None, None],
            "suppressed": [False, False],
        }
    )


def _example_pvc() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "outcome": ["sme_access_rate"] * 2,
            "group": ["pilot", "control"],
            "month": [dt.date(2012, 1, 1)] * 2,
            "regions": [6, 16],
            "value": [0.03, 0.02],
            "suppressed": [False, False],
        }
    )
