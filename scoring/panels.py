"""Dashboard pages from widgets: a banner, filters, KPI cards and charts that follow them.

The dashboards in ``dashboards/`` call this module and nothing below it: a
:class:`Board` loads marts through :func:`scoring.marts.load_mart` (never a record or
an entity row), holds the region and year filters (ipywidgets), and rebuilds every KPI
card and chart that depends on a filter when it changes. Figures come from
:mod:`scoring.plots` as plotly MIME bundles shown in ``Output`` widgets (drawn by the
``jupyterlab-plotly`` front end, offline) and replaced when a filter changes.

A builder (a function of :mod:`scoring.plots`) is called with the mart and only the
filter values it names among ``region``, ``year``, ``pilot_regions`` and
``pilot_start``, plus the options given; so a tile map that takes ``year`` follows the
year filter, a trend that takes ``region`` follows the region filter. A mart that has not
been built yet shows a "尚无数据 / not yet available" card naming the step that writes it.

Examples
--------
>>> from scoring.config import load_config
>>> board = Board(load_config().with_root("/nonexistent"))
>>> board.region, board.year
('440000', 2014)
>>> card = board.chart("model_health", plots.model_health_chart, "模型健康度", "Model health")
>>> "gd-missing" in card._dom_classes
True
"""

from __future__ import annotations

import datetime as dt
import html
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets  # type: ignore[import-untyped]
import polars as pl

from scoring import plots
from scoring.config import WorkbenchConfig
from scoring.geo import REGION_CODES
from scoring.marts import MART_SPECS, PROVINCE_CODE, load_mart, marts_manifest

__all__ = ["DASHBOARDS", "Board"]

DASHBOARDS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "pilot_overview.ipynb",
        "试点总览",
        "Pilot overview",
        "信息归集与覆盖、试点地区与对照地区对比、试点效果估计",
        "Records collected, coverage, pilot vs control regions, estimated pilot effects",
    ),
    (
        "sme_credit.ipynb",
        "中小微企业信用",
        "SME credit",
        "贷款获得、不良贷款、新发放贷款违约率、纳税信用等级、模型健康度",
        "Credit access, NPL, default of new loans, tax credit grades, model health",
    ),
    (
        "rural_credit.ipynb",
        "农村信用体系",
        "Rural credit",
        "信用户、信用村、信用镇评定（分地区）",
        "Credit households, villages and towns by region",
    ),
)
"""The dashboards the landing page lists: file, Chinese and English title and summary."""

_FILTERS = ("region", "year")
_CONTEXT = (*_FILTERS, "pilot_regions", "pilot_start")

_CSS = """
<style>
.gd-banner{background:linear-gradient(120deg,#10314f 0%,#1f4e79 55%,#2d6ea6 100%);color:#fff;
  border-radius:12px;padding:22px 28px 18px 28px;margin:4px 0 14px 0;
  box-shadow:0 2px 8px rgba(16,49,79,.25)}
.gd-banner .gd-kicker{font-size:13px;letter-spacing:.08em;opacity:.8}
.gd-banner h1{font-size:28px;line-height:1.25;margin:4px 0 2px 0;font-weight:700;color:#fff}
.gd-banner h1 .en{font-size:18px;font-weight:400;opacity:.85;margin-left:10px}
.gd-banner .gd-sub{font-size:13.5px;opacity:.88;margin-top:6px}
.gd-banner .gd-warn{margin-top:8px;background:rgba(255,196,0,.18);padding:4px 10px;
  border-radius:6px;display:inline-block}
.gd-filters{background:#fff;border-radius:10px;padding:8px 14px;margin:0 0 14px 0;
  box-shadow:0 1px 3px rgba(16,24,40,.08);align-items:center}
.gd-filters{gap:18px}
.gd-filters .widget-label,.gd-filters .gd-fl{font-weight:700;color:#1f2d3d;font-size:14px}
.gd-filter-year .widget-toggle-button{background:#eef2f7;color:#1f2d3d;border-radius:6px;
  margin-right:4px;font-weight:600}
.gd-filter-year .widget-toggle-button.mod-active{background:#1f4e79;color:#fff}
.gd-page{width:100%}
.gd-kpis{gap:12px;margin:0 0 14px 0;flex-wrap:wrap}
.gd-kpi{background:#fff;border-radius:10px;padding:12px 16px 10px 16px;flex:1 1 180px;
  box-shadow:0 1px 3px rgba(16,24,40,.08);border-top:4px solid #1f4e79;min-width:170px}
.gd-kpi .gd-l{font-size:14.5px;color:#1f2d3d;font-weight:700;line-height:1.3}
.gd-kpi .gd-e{font-size:11.5px;color:#6b7a90;line-height:1.3}
.gd-kpi .gd-v{font-size:30px;font-weight:700;color:#10314f;line-height:1.25;margin-top:4px}
.gd-kpi .gd-n{font-size:12px;color:#6b7a90}
.gd-kpi.gd-hidden .gd-v{color:#9aa6b5}
.gd-row{gap:14px;margin:0 0 14px 0;align-items:stretch}
.gd-card{background:#fff;border-radius:10px;padding:12px 14px 6px 14px;
  box-shadow:0 1px 3px rgba(16,24,40,.08);flex:1 1 0;min-width:0}
.gd-card .gd-t{font-size:16px;font-weight:700;color:#1f2d3d}
.gd-card .gd-t span{font-size:13px;font-weight:400;color:#6b7a90;margin-left:8px}
.gd-card .gd-s{font-size:12px;color:#8a97a8;margin-top:1px}
.gd-missing .gd-empty{border:2px dashed #c9d1dc;border-radius:10px;color:#6b7a90;
  text-align:center;padding:48px 12px;margin:10px 0 8px 0;font-size:15px}
.gd-missing .gd-empty b{display:block;font-size:20px;color:#1f4e79;margin-bottom:4px}
.gd-foot{color:#6b7a90;font-size:12px;margin:6px 2px 0 2px}
.gd-links{gap:14px;flex-wrap:wrap;align-items:stretch;margin:0 0 14px 0}
.gd-links .widget-html,.gd-links .widget-html-content{height:100%;width:100%}
.gd-links .widget-html-content{display:flex}
.gd-link{display:block;background:#fff;border-radius:12px;padding:18px 20px;text-decoration:none;
  box-shadow:0 1px 3px rgba(16,24,40,.10);border-left:6px solid #1f4e79;color:#1f2d3d;
  box-sizing:border-box;width:100%;min-height:110px}
.gd-link:hover{box-shadow:0 4px 14px rgba(16,24,40,.18)}
.gd-link .gd-t{font-size:20px;font-weight:700;color:#10314f}
.gd-link .gd-t span{font-size:14px;font-weight:400;color:#6b7a90;margin-left:8px}
.gd-link p{margin:8px 0 0 0;font-size:13.5px;color:#3d4b5c}
.gd-link p.en{color:#6b7a90;margin-top:2px}
.gd-link .gd-go{margin-top:10px;color:#d4380d;font-weight:600;font-size:13px}
</style>
"""


def _h(text: object) -> str:
    return html.escape(str(text))


def _accepted(builder: Callable[..., Any]) -> set[str]:
    return set(inspect.signature(builder).parameters)


class Board:
    """One dashboard page: marts, filters, and the cards that follow the filters.

    Parameters
    ----------
    config
        Whose ``paths.marts`` to read; the pilot regions, pilot start and the years of
        the filter come from its ``[province]``.
    """

    def __init__(self, config: WorkbenchConfig) -> None:
        p = config.province
        self.config = config
        self.manifest = marts_manifest(config)
        self.pilot_regions: tuple[str, ...] = p.pilot_regions
        self.pilot_start: dt.date = p.pilot_start
        self.years = list(range(p.data_start.year, p.data_end.year + 1))
        self.region = PROVINCE_CODE
        self.year = self.years[-1]
        self._marts: dict[str, pl.DataFrame | None] = {}
        self._views: list[tuple[frozenset[str], Callable[[], None]]] = []
        self._region_widget = widgets.Dropdown(
            options=[(plots.region_label(PROVINCE_CODE) + " (全部 all)", PROVINCE_CODE)]
            + [
                (("★ " if c in self.pilot_regions else "") + plots.region_label(c), c)
                for c in REGION_CODES
            ],
            value=PROVINCE_CODE,
            description="地区 Region",
            style={"description_width": "initial"},
            layout=widgets.Layout(width="300px"),
        )
        self._region_widget.add_class("gd-filter-region")
        self._year_widget = widgets.ToggleButtons(
            options=[(str(y), y) for y in self.years],
            value=self.year,
            style={"button_width": "62px"},
        )
        self._year_widget.add_class("gd-filter-year")
        self._region_widget.observe(self._on_region, names="value")
        self._year_widget.observe(self._on_year, names="value")

    # ------------------------------------------------------------------ data

    def mart(self, name: str) -> pl.DataFrame | None:
        """Mart ``name`` (loaded once), or None when it has not been built yet.

        Examples
        --------
        >>> from scoring.config import load_config
        >>> board = Board(load_config().with_root("/nonexistent"))
        >>> board.mart("sme_npl") is None
        True
        """
        if name not in self._marts:
            self._marts[name] = load_mart(name, self.config)
        return self._marts[name]

    @property
    def min_group_size(self) -> int:
        """The suppression threshold the marts were built with.

        Examples
        --------
        >>> from scoring.config import load_config
        >>> board = Board(load_config().with_root("/nonexistent"))
        >>> board.min_group_size
        10
        """
        return int(self.manifest.get("min_group_size", self.config.marts.min_group_size))

    # ------------------------------------------------------------------ filters

    def _on_region(self, change: dict[str, Any]) -> None:
        self.region = str(change["new"])
        self._refresh("region")

    def _on_year(self, change: dict[str, Any]) -> None:
        self.year = int(change["new"])
        self._refresh("year")

    def _refresh(self, changed: str) -> None:
        for depends, update in self._views:
            if changed in depends:
                update()

    def set_filters(self, *, region: str | None = None, year: int | None = None) -> None:
        """Set the filters as a viewer would (the widgets follow, and so do the cards).

        Examples
        --------
        >>> from scoring.config import load_config
        >>> board = Board(load_config().with_root("/nonexistent"))
        >>> board.set_filters(region="440300", year=2012)
        >>> board.region, board.year
        ('440300', 2012)
        """
        if region is not None:
            self._region_widget.value = region
        if year is not None:
            self._year_widget.value = year

    def _context(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "year": self.year,
            "pilot_regions": self.pilot_regions,
            "pilot_start": self.pilot_start,
        }

    def _scope(self, depends: frozenset[str]) -> str:
        parts = []
        if "year" in depends:
            parts.append(f"{self.year}年")
        if "region" in depends:
            parts.append(plots.region_label(self.region))
        return " · ".join(parts)

    def _call(
        self, builder: Callable[..., Any], frame: pl.DataFrame, options: dict[str, Any]
    ) -> Any:
        ctx = self._context()
        args = {k: ctx[k] for k in _accepted(builder) & set(_CONTEXT) if k not in options}
        return builder(frame, **args, **options)

    # ------------------------------------------------------------------ page parts

    def header(self, title_zh: str, title_en: str, subtitle: str = "") -> Any:
        """The page banner (with the page's style sheet).

        Examples
        --------
        >>> from scoring.config import load_config
        >>> board = Board(load_config().with_root("/nonexistent"))
        >>> "SME credit" in board.header("中小微企业信用", "SME credit").value
        True
        """
        built = self.manifest.get("built_at")
        warn = (
            ""
            if built
            else "<div class='gd-warn'>看板数据尚未生成，请运行 <code>scoring marts</code> · "
            "Marts not built yet: run <code>scoring marts</code></div>"
        )
        sub = f"<div class='gd-sub'>{_h(subtitle)}</div>" if subtitle else ""
        box = widgets.HTML(
            _CSS + "<div class='gd-banner'><div class='gd-kicker'>广东省社会信用体系建设试点 · "
            "Guangdong Credit Pilot</div>"
            f"<h1>{_h(title_zh)}<span class='en'>{_h(title_en)}</span></h1>{sub}{warn}</div>"
        )
        box.add_class("gd-header")
        return box

    def filters(self, *, region: bool = True, year: bool = True) -> Any:
        """The filter bar: region (province or one of the 22 regions) and year.

        Examples
        --------
        >>> from scoring.config import load_config
        >>> board = Board(load_config().with_root("/nonexistent"))
        >>> len(board.filters().children)
        4
        """
        year_label = widgets.HTML("<span class='gd-fl'>年份 Year</span>")
        items: list[Any] = [self._region_widget] if region else []
        if year:
            items += [year_label, self._year_widget]
        note = widgets.HTML(
            "<span style='color:#6b7a90;font-size:12px;margin-left:12px'>"
            "★ 试点地区 pilot region</span>"
        )
        bar = widgets.HBox(
            [*items, note], layout=widgets.Layout(flex_flow="row wrap", align_items="center")
        )
        bar.add_class("gd-filters")
        return bar

    def kpis(self, items: Sequence[tuple[Any, ...]]) -> Any:
        """A row of KPI cards: ``(mart name, plots.kpi_* builder[, options])`` each.

        Examples
        --------
        >>> from scoring.config import load_config
        >>> board = Board(load_config().with_root("/nonexistent"))
        >>> len(board.kpis([("sme_npl", plots.kpi_npl_ratio)]).children)
        1
        """
        cards = []
        for item in items:
            name, builder = item[0], item[1]
            options: dict[str, Any] = dict(item[2]) if len(item) > 2 else {}
            cards.append(self._kpi_card(name, builder, options))
        row = widgets.HBox(cards, layout=widgets.Layout(flex_flow="row wrap"))
        row.add_class("gd-kpis")
        return row

    def _kpi_card(self, name: str, builder: Callable[..., Any], options: dict[str, Any]) -> Any:
        card = widgets.HTML()
        card.add_class("gd-kpi")
        frame = self.mart(name)
        depends = frozenset(_accepted(builder) & set(_FILTERS))

        def render() -> None:
            if frame is None:
                # the builder names the figure; the mart it needs is not built yet
                empty = pl.DataFrame(schema=dict(MART_SPECS[name].columns))
                shell = self._call(builder, empty, options)
                kpi = plots.Kpi(shell.label_zh, shell.label_en, "尚无数据", "not yet available")
            else:
                kpi = self._call(builder, frame, options)
            card.value = (
                f"<div class='gd-l'>{_h(kpi.label_zh)}</div>"
                f"<div class='gd-e'>{_h(kpi.label_en)}</div>"
                f"<div class='gd-v'>{_h(kpi.value)}</div><div class='gd-n'>{_h(kpi.note)}</div>"
            )
            if kpi.suppressed or frame is None:
                card.add_class("gd-hidden")
            else:
                card.remove_class("gd-hidden")

        render()
        if frame is not None:
            self._views.append((depends, render))
        return card

    def chart(
        self,
        name: str,
        builder: Callable[..., Any],
        title_zh: str,
        title_en: str,
        **options: Any,
    ) -> Any:
        """A chart card of ``builder`` over mart ``name`` that follows the filters it uses.

        ``options`` go to the builder as keyword arguments (e.g. ``segment="household"``).
        """
        spec = MART_SPECS[name]
        depends = frozenset(_accepted(builder) & set(_FILTERS))
        head = widgets.HTML()
        frame = self.mart(name)

        def title() -> None:
            scope = self._scope(depends)
            head.value = (
                f"<div class='gd-t'>{_h(title_zh)}<span>{_h(title_en)}</span></div>"
                f"<div class='gd-s'>{_h(scope) if scope else '&nbsp;'}</div>"
            )

        title()
        if frame is None:
            empty = widgets.HTML(
                "<div class='gd-empty'><b>尚无数据</b>Not yet available<br>"
                f"<small>{_h(spec.zh)} · {_h(spec.en)} — {_h(spec.writer)}</small></div>"
            )
            card = widgets.VBox([head, empty])
            card.add_class("gd-card")
            card.add_class("gd-missing")
            return card
        figure = widgets.Output()
        figure.add_class("gd-figure")

        def draw() -> None:
            bundle = plots.figure_bundle(self._call(builder, frame, options))
            figure.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)

        def update() -> None:
            title()
            draw()

        draw()

        self._views.append((depends, update))
        card = widgets.VBox([head, figure])
        card.add_class("gd-card")
        card.add_class("gd-chart")
        return card

    def page(self, *parts: Any) -> Any:
        """The whole page as one widget: display it as the notebook's single output.

        One output per page keeps Voila's pre-heated pages whole (with several widget
        outputs, the last ones sometimes lose the race with the widget manager).

        Examples
        --------
        >>> from scoring.config import load_config
        >>> board = Board(load_config().with_root("/nonexistent"))
        >>> len(board.page(board.header("试点总览", "Pilot overview"), board.footer()).children)
        2
        """
        box = widgets.VBox(list(parts))
        box.add_class("gd-page")
        return box

    def row(self, *cards: Any) -> Any:
        """Cards side by side (equal widths).

        Examples
        --------
        >>> from scoring.config import load_config
        >>> board = Board(load_config().with_root("/nonexistent"))
        >>> board.row(board.footer(), board.footer())._dom_classes
        ('gd-row',)
        """
        box = widgets.HBox(list(cards))
        box.add_class("gd-row")
        return box

    def footer(self) -> Any:
        """Where the numbers come from and how they are protected.

        Examples
        --------
        >>> from scoring.config import load_config
        >>> board = Board(load_config().with_root("/nonexistent"))
        >>> "少于10个主体" in board.footer().value
        True
        """
        built = str(self.manifest.get("built_at", "—")).replace("T", " ")[:16]
        k = self.min_group_size
        box = widgets.HTML(
            f"<div class='gd-foot'>数据更新 data as of {_h(built)} UTC · 仅展示汇总数据，"
            f"少于{k}个主体的分组已隐去（—） · aggregates only; groups of fewer than {k} "
            "entities are suppressed (—) · 只读 read-only</div>"
        )
        box.add_class("gd-footer")
        return box

    def links(self) -> Any:
        """The landing page's cards, one per dashboard.

        Examples
        --------
        >>> from scoring.config import load_config
        >>> board = Board(load_config().with_root("/nonexistent"))
        >>> len(board.links().children)
        3
        """
        cards = []
        for file, zh, en, desc_zh, desc_en in DASHBOARDS:
            link = widgets.HTML(
                f"<a class='gd-link' href='{_h(file)}'><div class='gd-t'>{_h(zh)}"
                f"<span>{_h(en)}</span></div><p>{_h(desc_zh)}</p><p class='en'>{_h(desc_en)}</p>"
                "<div class='gd-go'>打开 Open →</div></a>",
                layout=widgets.Layout(flex="1 1 300px"),
            )
            cards.append(link)
        box = widgets.HBox(cards, layout=widgets.Layout(flex_flow="row wrap"))
        box.add_class("gd-links")
        return box
