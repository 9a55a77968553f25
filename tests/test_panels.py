"""Dashboard pages from widgets: filters drive the cards that use them; missing marts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from scoring import plots
from scoring.config import WorkbenchConfig, load_config
from scoring.marts import build_marts
from scoring.panels import DASHBOARDS, Board
from scoring.schema import TABLES
from scoring.serve import DASHBOARDS_DIR

PLOTLY = "application/vnd.plotly.v1+json"


@pytest.fixture
def config(project_config: Path, province_kit: Any) -> WorkbenchConfig:
    """Marts of 3 cities (12, 15 and 20 SMEs, one loan each in June 2012)."""
    cfg = load_config(project_config)
    frames = province_kit.build()
    rows, n = [], 0
    for city, count in (("440100", 12), ("440300", 15), ("445300", 20)):
        for _ in range(count):
            n += 1
            rows.append(
                {
                    "credit_code": province_kit.uscc(n, county=f"{city[:4]}01"),
                    "name": f"模拟企业{n}有限公司",
                    "city_code": city,
                    "county_code": f"{city[:4]}01",
                    "industry": "C",
                    "size_class": "micro",
                    "registered_capital": 50.0,
                    "established_date": dt.date(2005, 1, 1),
                    "deregistered_date": None,
                }
            )
    smes = pl.DataFrame(rows, schema=TABLES["enterprises"].schema)
    frames["enterprises"] = smes
    frames["loans"] = pl.DataFrame(
        [
            {
                "loan_id": f"LN{i:04d}",
                "entity_type": "sme",
                "entity_id": code,
                "bank_code": "ICBCGD",
                "purpose": "working_capital",
                "origination_date": dt.date(2012, 6, 10) if i % 2 else dt.date(2013, 3, 3),
                "maturity_date": dt.date(2014, 6, 10),
                "principal": 100000.0,
            }
            for i, code in enumerate(smes["credit_code"])
        ],
        schema=TABLES["loans"].schema,
    )
    province_kit.write(frames, cfg.paths.validated)
    build_marts(cfg)
    return cfg


def _figure(card: Any) -> dict[str, Any]:
    output = card.children[1]
    data: dict[str, Any] = output.outputs[0]["data"][PLOTLY]
    return data


def test_filters_redraw_only_the_cards_that_use_them(config: WorkbenchConfig) -> None:
    board = Board(config)
    trend = board.chart("sme_credit_access", plots.access_trend, "月度贷款获得率", "access")
    tiles = board.chart("sme_credit_access", plots.access_map, "贷款获得率", "by region")
    kpis = board.kpis([("sme_credit_access", plots.kpi_active_smes)])
    assert "gd-chart" in trend._dom_classes
    assert [t["name"] for t in _figure(trend)["data"]] == ["全省 Guangdong"]
    tiles_before = json.dumps(_figure(tiles))
    assert "47" in kpis.children[0].value  # 12 + 15 + 20 SMEs in the province
    board.set_filters(region="440300")
    assert [t["name"] for t in _figure(trend)["data"]] == ["深圳 Shenzhen", "全省 Guangdong"]
    assert "深圳 Shenzhen" in trend.children[0].value
    assert "15" in kpis.children[0].value
    # the tile map takes the region only to frame it: redrawn, same values
    assert json.dumps(_figure(tiles)) != tiles_before
    trend_before = json.dumps(_figure(trend))
    board.set_filters(year=2012)
    assert json.dumps(_figure(trend)) == trend_before  # a trend spans all years
    assert "2012年" in tiles.children[0].value
    assert "2012年" in kpis.children[0].value


def test_a_missing_mart_is_a_card_not_a_failure(config: WorkbenchConfig) -> None:
    board = Board(config)
    card = board.chart("model_health", plots.model_health_chart, "模型健康度", "Model health")
    assert "gd-missing" in card._dom_classes
    text = card.children[1].value
    assert "尚无数据" in text
    assert "Not yet available" in text
    assert "issue 5" in text
    kpi = board.kpis([("pilot_effects", plots.kpi_pilot_effect)]).children[0]
    assert "试点效果" in kpi.value  # its own label,
    assert "尚无数据" in kpi.value  # and the reason it has no value
    assert "gd-hidden" in kpi._dom_classes


def test_page_header_and_footer_tell_where_numbers_come_from(config: WorkbenchConfig) -> None:
    board = Board(config)
    page = board.page(board.header("中小微企业信用", "SME credit"), board.footer())
    assert "gd-page" in page._dom_classes
    header, footer = page.children
    assert "中小微企业信用" in header.value
    assert "scoring marts" not in header.value  # built: no warning
    assert "少于10个主体" in footer.value
    assert "fewer than 10 entities" in footer.value


def test_header_warns_when_no_marts_were_built(project_config: Path) -> None:
    board = Board(load_config(project_config))
    assert "scoring marts" in board.header("试点总览", "Pilot overview").value


def test_landing_page_links_every_dashboard(config: WorkbenchConfig) -> None:
    cards = Board(config).links().children
    assert len(cards) == len(DASHBOARDS) == 3
    for card, (file, zh, en, *_) in zip(cards, DASHBOARDS, strict=True):
        assert f"href='{file}'" in card.value
        assert zh in card.value
        assert en in card.value
        assert (DASHBOARDS_DIR / file).is_file()
