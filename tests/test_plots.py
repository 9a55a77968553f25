"""Figures and headline numbers from mart frames: tile map, suppression, bundles."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import polars as pl
import pytest

from scoring import plots
from scoring.geo import REGION_CODES
from scoring.marts import MART_SPECS, PROVINCE_CODE

SCORING = Path(__file__).resolve().parent.parent / "scoring"
PILOTS = ("440100", "440400", "440500", "441300", "445300", "440606")


def _access(rows: list[tuple[str, int | None, int | None, bool]]) -> pl.DataFrame:
    """sme_credit_access rows (region, active, borrowers, suppressed) for 2013-01..12."""
    out = []
    for region, active, borrowers, suppressed in rows:
        for m in range(1, 13):
            out.append(
                {
                    "region_code": region,
                    "month": dt.date(2013, m, 1),
                    "active_smes": active,
                    "borrowers": borrowers,
                    "new_loans": borrowers,
                    "new_loan_amount": None if borrowers is None else borrowers * 1e5,
                    "access_rate": None if not active else (borrowers or 0) / active,
                    "suppressed": suppressed,
                }
            )
    return pl.DataFrame(out, schema=dict(MART_SPECS["sme_credit_access"].columns))


ACCESS = _access(
    [
        ("440100", 200, 10, False),
        ("440300", 400, 8, False),
        ("445300", None, None, True),
        (PROVINCE_CODE, 609, 20, False),
    ]
)


def test_plots_is_the_only_module_that_imports_plotly() -> None:
    importers = sorted(
        p.relative_to(SCORING).as_posix()
        for p in SCORING.rglob("*.py")
        if re.search(r"^\s*(import|from) plotly", p.read_text(encoding="utf-8"), re.M)
    )
    assert importers == ["plots.py"]


def test_tile_map_draws_22_tiles_with_pilots_framed() -> None:
    fig = plots.access_map(ACCESS, year=2013, region="440300", pilot_regions=PILOTS)
    assert len(fig.layout.shapes) == len(REGION_CODES) == 22
    frames = [s.line.color for s in fig.layout.shapes]
    assert frames.count(plots.PILOT) == len(PILOTS)  # 440300 selected is not a pilot
    assert frames.count(plots.SELECTED) == 1
    texts = " ".join(a.text for a in fig.layout.annotations)
    assert "广州" in texts
    assert "5.0%" in texts  # 10 / 200
    assert "2.0%" in texts  # 8 / 400
    hover = " ".join(fig.data[0].hovertext)
    assert "云浮 Yunfu · 试点 pilot<br>月均贷款获得率 monthly credit access: — (已隐去" in hover
    grey = [s for s in fig.layout.shapes if s.fillcolor == "#d5dbe3"]
    assert len(grey) == 1  # Yunfu, suppressed


def test_kpis_follow_the_filters_and_show_suppression() -> None:
    assert plots.kpi_access_rate(ACCESS, region="440100", year=2013).value == "5.00%"
    kpi = plots.kpi_access_rate(ACCESS, region="445300", year=2013)
    assert kpi.value == "—"
    assert kpi.suppressed
    assert plots.kpi_active_smes(ACCESS, region=PROVINCE_CODE, year=2013).value == "609"
    assert plots.kpi_new_loans(ACCESS, region="440100", year=2013).note.startswith("1,200万元")
    assert plots.kpi_access_rate(ACCESS, region="440100", year=2011).value == "—"


def test_trend_compares_the_region_with_the_province() -> None:
    fig = plots.access_trend(ACCESS, region="440100", pilot_start=dt.date(2012, 9, 1))
    assert [t.name for t in fig.data] == ["广州 Guangzhou", "全省 Guangdong"]
    assert any("pilot start" in a.text for a in fig.layout.annotations)
    hidden = plots.access_trend(ACCESS, region="445300")
    assert [t.name for t in hidden.data] == ["全省 Guangdong"]
    assert any("云浮 Yunfu：数据已隐去" in a.text for a in hidden.layout.annotations)
    empty = plots.access_trend(ACCESS.filter(pl.col("region_code") == "445300"), region="445300")
    assert "No publishable data" in empty.layout.annotations[0].text


def test_pilot_effect_in_percentage_points() -> None:
    effects = pl.DataFrame(
        [
            {
                "region_code": PROVINCE_CODE,
                "outcome": "sme_access_rate",
                "outcome_zh": "贷款获得率",
                "outcome_en": "SME credit access",
                "estimator": "did",
                "unit": "share",
                "n_regions": 22,
                "n_obs": 1320,
                "estimate": 0.011,
                "ci_low": 0.004,
                "ci_high": 0.018,
                "p_value": 0.01,
                "suppressed": False,
            }
        ],
        schema=dict(MART_SPECS["pilot_effects"].columns),
    )
    kpi = plots.kpi_pilot_effect(effects)
    assert kpi.value == "+1.10 个百分点 pp"
    assert kpi.note == "95% CI [0.40, 1.80]"
    fig = plots.pilot_effects_chart(effects)
    assert list(fig.data[0].error_x.array) == pytest.approx([0.007])
    # With the wild cluster bootstrap interval in the mart, that one is shown.
    wild = effects.with_columns(wild_ci_low=pl.lit(0.001), wild_ci_high=pl.lit(0.025))
    assert plots.kpi_pilot_effect(wild).note == "95% CI [0.10, 2.50]"
    fig = plots.pilot_effects_chart(wild)
    assert list(fig.data[0].error_x.array) == pytest.approx([0.014])
    assert list(fig.data[0].error_x.arrayminus) == pytest.approx([0.010])


def test_figure_bundles_are_plain_json() -> None:
    for fig in (
        plots.access_map(ACCESS, year=2013),
        plots.access_trend(ACCESS, region="440100"),
        plots.records_trend(plots._example_records(), region=PROVINCE_CODE),
    ):
        bundle = plots.figure_bundle(fig)
        text = json.dumps(bundle, allow_nan=False)
        assert "cdn" not in text.lower()
        assert bundle["application/vnd.plotly.v1+json"]["config"]["displaylogo"] is False


def test_formats() -> None:
    assert plots.fmt_count(123_456_789) == "1.23亿"
    assert plots.fmt_percent(float("nan")) == "—"
    assert plots.region_label("440606") == "顺德区 Shunde"
