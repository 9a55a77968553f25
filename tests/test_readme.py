"""The README's code runs as written (on a CSV shaped like the one it reads)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from scoring import Scorecard

README = Path(__file__).resolve().parent.parent / "README.md"


def _python_block(after_heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(after_heading)
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert match is not None, f"no python block after {after_heading!r}"
    return match.group(1)


def test_fitting_a_scorecard_on_your_own_csv_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(7)
    n = 3000
    income = rng.lognormal(8, 0.5, n)
    overdue = rng.integers(0, 5, n)
    risk = 1 / (1 + np.exp(4.0 - 0.8 * overdue + 0.0004 * (income - 3000)))
    loans = pl.DataFrame(
        {
            "loan_id": [f"L{i:05d}" for i in range(n)],
            "income": pl.Series(income).scatter(np.flatnonzero(rng.random(n) < 0.05), None),
            "overdue_months": overdue,
            "sector": rng.choice(["farm", "shop", "factory", "transport"], n),
            "default_12m": (rng.random(n) < risk).astype(int),
        }
    )
    loans.write_csv(tmp_path / "my_loans.csv")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(
        compile(_python_block("### Fit a scorecard on your own data"), "README.md", "exec"),
        namespace,
    )
    scored = namespace["scored"]
    assert isinstance(scored, pl.DataFrame)
    assert scored.height == n
    assert {"loan_id", "score", "pd", "reason_1_code", "reason_1_zh", "reason_1_en"} <= set(
        scored.columns
    )
    card = namespace["card"]
    assert isinstance(card, Scorecard)
    again = Scorecard.from_json((tmp_path / "card.json").read_text())
    assert np.array_equal(again.points(loans), card.points(loans))
