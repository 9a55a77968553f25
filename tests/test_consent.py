from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.config import load_config
from scoring.consent import (
    EXCLUSION_REASONS,
    EXPORTED,
    REASON_COLUMNS,
    classify_entities,
    export_columns,
    permitted_fields,
    valid_consent_expr,
)
from scoring.exceptions import ConfigError, DataError, SchemaError
from scoring.schema import TABLES

AS_OF = dt.date(2013, 12, 31)
D = dt.date.fromisoformat


def consents(rows: list[tuple[str, str, str, str, str, str, str, str | None]]) -> pl.DataFrame:
    """Rows of (consent_id, entity_type, entity_id, bank, purpose, granted, expiry, withdrawn)."""
    cols = list(TABLES["consents"].schema)
    data = {
        c: [
            (D(v) if v is not None else None) if c.endswith("_date") else v
            for v in (r[i] for r in rows)
        ]
        for i, c in enumerate(cols)
    }
    return pl.DataFrame(data, schema=TABLES["consents"].schema)


def entities(*ids: str, entity_type: str = "sme") -> pl.DataFrame:
    return pl.DataFrame({"entity_type": [entity_type] * len(ids), "entity_id": list(ids)})


def status_of(table: pl.DataFrame, ents: pl.DataFrame, **query: object) -> dict[str, str]:
    args = {"bank": "ICBCGD", "purpose": "credit_approval", "as_of": AS_OF} | query
    out = classify_entities(ents, table, **args)  # type: ignore[arg-type]
    return dict(zip(out["entity_id"], out["status"], strict=True))


CA = "credit_approval"


def test_each_status_and_its_boundaries() -> None:
    table = consents(
        [
            # consent, type, entity, bank, purpose, granted, expiry, withdrawn
            ("C01", "sme", "valid", "ICBCGD", CA, "2013-01-01", "2014-01-01", None),
            ("C02", "sme", "granted_today", "ICBCGD", CA, "2013-12-31", "2014-12-31", None),
            ("C03", "sme", "expires_today", "ICBCGD", CA, "2013-01-01", "2013-12-31", None),
            ("C04", "sme", "expires_tomorrow", "ICBCGD", CA, "2013-01-01", "2014-01-01", None),
            ("C05", "sme", "wd_today", "ICBCGD", CA, "2013-01-01", "2014-06-01", "2013-12-31"),
            ("C06", "sme", "wd_tomorrow", "ICBCGD", CA, "2013-01-01", "2014-06-01", "2014-01-01"),
            ("C07", "sme", "wrong_purp", "ICBCGD", "guarantee", "2013-01-01", "2014-06-01", None),
            ("C08", "sme", "other_bank", "GDRCU", CA, "2013-01-01", "2014-06-01", None),
            ("C09", "sme", "future", "ICBCGD", CA, "2014-01-01", "2015-01-01", None),
            ("C10", "sme", "wd_late", "ICBCGD", CA, "2013-01-01", "2013-06-01", "2013-07-01"),
        ]
    )  # fmt: skip
    ids = [
        "valid", "granted_today", "expires_today", "expires_tomorrow", "wd_today",
        "wd_tomorrow", "wrong_purp", "other_bank", "future", "wd_late",
        "nobody",
    ]  # fmt: skip
    assert status_of(table, entities(*ids)) == {
        "valid": EXPORTED,
        "granted_today": EXPORTED,
        "expires_today": "expired",
        "expires_tomorrow": EXPORTED,
        "wd_today": "withdrawn",
        "wd_tomorrow": EXPORTED,
        "wrong_purp": "wrong_purpose",
        "other_bank": "no_consent",
        "future": "no_consent",
        "wd_late": "expired",
        "nobody": "no_consent",
    }


def test_a_valid_consent_wins_and_the_latest_valid_one_is_relied_on() -> None:
    table = consents(
        [
            ("OLD", "sme", "E", "ICBCGD", CA, "2012-01-01", "2013-01-01", None),
            ("MID", "sme", "E", "ICBCGD", CA, "2013-01-01", "2015-01-01", None),
            ("NEW", "sme", "E", "ICBCGD", CA, "2013-06-01", "2014-06-01", None),
            ("WDR", "sme", "E", "ICBCGD", CA, "2013-09-01", "2014-09-01", "2013-10-01"),
        ]
    )
    out = classify_entities(entities("E"), table, bank="ICBCGD", purpose=CA, as_of=AS_OF)
    assert out.rows() == [("sme", "E", EXPORTED, "NEW")]
    # without the valid ones, the latest granted decides: withdrawn
    only_old = table.filter(pl.col("consent_id").is_in(["OLD", "WDR"]))
    assert status_of(only_old, entities("E")) == {"E": "withdrawn"}
    # a same-purpose history is reported before a consent for another purpose
    mixed = pl.concat(
        [
            table.filter(pl.col("consent_id") == "OLD"),
            consents([("G", "sme", "E", "ICBCGD", "guarantee", "2013-01-01", "2015-01-01", None)]),
        ]
    )
    assert status_of(mixed, entities("E")) == {"E": "expired"}


def test_entity_type_and_bank_must_match() -> None:
    table = consents([("C1", "household", "X1", "ICBCGD", CA, "2013-01-01", "2015-01-01", None)])
    assert status_of(table, entities("X1")) == {"X1": "no_consent"}
    assert status_of(table, entities("X1", entity_type="household")) == {"X1": EXPORTED}
    assert status_of(table, entities("X1", entity_type="household"), bank="GZBANK") == {
        "X1": "no_consent"
    }


def test_lazy_in_lazy_out_and_bad_input_refused() -> None:
    table = consents([("C1", "sme", "A", "ICBCGD", CA, "2013-01-01", "2015-01-01", None)])
    lazy = classify_entities(
        entities("A").lazy(), table.lazy(), bank="ICBCGD", purpose=CA, as_of=AS_OF
    )
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect()["status"].to_list() == [EXPORTED]
    with pytest.raises(DataError, match="'purpose' must be one of"):
        classify_entities(entities("A"), table, bank="ICBCGD", purpose="marketing", as_of=AS_OF)
    with pytest.raises(SchemaError, match=r"'consents.granted_date' must be of type Date"):
        classify_entities(
            entities("A"),
            table.with_columns(pl.col("granted_date").cast(pl.String)),
            bank="ICBCGD",
            purpose=CA,
            as_of=AS_OF,
        )
    with pytest.raises(SchemaError, match="'entities.entity_id' must be a String column"):
        classify_entities(
            pl.DataFrame({"entity_type": ["sme"], "entity_id": [1]}),
            table,
            bank="ICBCGD",
            purpose=CA,
            as_of=AS_OF,
        )


_day = st.dates(min_value=dt.date(2013, 1, 1), max_value=dt.date(2014, 12, 31))


@st.composite
def _consent_rows(draw: st.DrawFn) -> list[tuple[str, str, str, str, str, str, str, str | None]]:
    rows = []
    for i in range(draw(st.integers(0, 12))):
        granted = draw(_day)
        expiry = granted + dt.timedelta(days=draw(st.integers(1, 400)))
        withdrawn = draw(st.none() | _day)
        rows.append(
            (
                f"C{i:02d}",
                "sme",
                draw(st.sampled_from(["A", "B", "C"])),
                draw(st.sampled_from(["ICBCGD", "GDRCU"])),
                draw(st.sampled_from([CA, "guarantee"])),
                granted.isoformat(),
                expiry.isoformat(),
                withdrawn.isoformat() if withdrawn else None,
            )
        )
    return rows


@settings(max_examples=60, deadline=None)
@given(rows=_consent_rows(), as_of=_day)
def test_exported_exactly_when_a_matching_consent_is_valid(
    rows: list[tuple[str, str, str, str, str, str, str, str | None]], as_of: dt.date
) -> None:
    table = consents(rows)
    out = classify_entities(
        entities("A", "B", "C", "D"), table, bank="ICBCGD", purpose=CA, as_of=as_of
    )
    # one status per entity, from the known set: the counts add up
    assert out.height == 4
    assert set(out["status"]) <= {EXPORTED, *EXCLUSION_REASONS}
    for ent, status, consent_id in out.select("entity_id", "status", "consent_id").rows():
        mine = [r for r in rows if r[2] == ent and r[3] == "ICBCGD" and r[4] == CA]
        valid = [
            r for r in mine if D(r[5]) <= as_of < D(r[6]) and (r[7] is None or D(r[7]) > as_of)
        ]
        assert (status == EXPORTED) == bool(valid)
        if valid:
            assert consent_id in {r[0] for r in valid}
            assert D(next(r for r in valid if r[0] == consent_id)[5]) == max(D(r[5]) for r in valid)
        else:
            assert consent_id is None


def test_valid_consent_expr_matches_the_rule() -> None:
    table = consents(
        [
            ("C1", "sme", "A", "B", CA, "2013-01-01", "2014-01-01", None),
            ("C2", "sme", "A", "B", CA, "2013-01-01", "2014-01-01", "2014-01-01"),
            ("C3", "sme", "A", "B", CA, "2014-01-01", "2015-01-01", None),
        ]
    )
    assert table.select(valid_consent_expr(AS_OF)).to_series().to_list() == [True, True, False]


def test_permission_levels_pick_the_columns() -> None:
    cfg = load_config()
    assert permitted_fields(cfg, "GZBANK") == ("score", "grade")
    level1 = export_columns(permitted_fields(cfg, "GZBANK"))
    level2 = export_columns(permitted_fields(cfg, "ICBCGD"))
    level3 = export_columns(permitted_fields(cfg, "GDRCU"), feature_columns=("feature_x",))
    assert "pd" not in level1
    assert not set(REASON_COLUMNS) & set(level1)
    assert {"pd", *REASON_COLUMNS} <= set(level2)
    assert "feature_x" not in level2
    assert set(level2) < set(level3)
    assert "feature_x" in level3
    for cols in (level1, level2, level3):
        assert cols[0] == "entity_id"
        assert {"under_dispute", "consent_id", "run_id"} <= set(cols)
        assert not {"region_code", "head_id_number", "head_name"} & set(cols)
    with pytest.raises(DataError, match="'fields' must be among"):
        export_columns(("score", "salary"))
    with pytest.raises(DataError, match="'feature_columns' must be empty"):
        export_columns(("score",), feature_columns=("feature_x",))


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = (Path(__file__).parent.parent / "configs" / "workbench.toml").read_text("utf-8")
    assert old in text
    p = tmp_path / "workbench.toml"
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('level_1 = ["score", "grade"]', 'level_1 = ["score", "salary"]', r"'exports.level_1'"),
        (
            'level_2 = ["score", "grade", "pd", "reasons"]',
            'level_2 = ["pd"]',
            r"'exports.level_2' .* must be a superset of level_1",
        ),
        ('default_purpose = "credit_approval"', 'default_purpose = "x"', "default_purpose"),
        ("settle_within_days = 20", "settle_within_days = 0", "settle_within_days"),
    ],
)
def test_export_and_dispute_config_is_validated(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_variant(tmp_path, old, new))


def test_levels_are_configurable(tmp_path: Path) -> None:
    cfg = load_config(_variant(tmp_path, 'level_1 = ["score", "grade"]', 'level_1 = ["grade"]'))
    assert permitted_fields(cfg, "GZBANK") == ("grade",)
    assert "score" not in export_columns(permitted_fields(cfg, "GZBANK"))


def test_cli_consent_list_shows_states(project_config: Path) -> None:
    from click.testing import CliRunner

    from scoring.cli import cli

    cfg = load_config(project_config)
    cfg.paths.validated.mkdir(parents=True)
    consents(
        [
            ("C1", "sme", "A", "ICBCGD", CA, "2013-01-01", "2014-01-01", None),
            ("C2", "sme", "B", "ICBCGD", CA, "2013-01-01", "2013-06-01", None),
            ("C3", "sme", "C", "GDRCU", CA, "2013-01-01", "2014-01-01", None),
        ]
    ).write_parquet(cfg.paths.validated / "consents.parquet")
    args = ["--config", str(project_config), "consent", "list", "--bank", "ICBCGD"]
    out = CliRunner().invoke(cli, [*args, "--as-of", "2013-12-31"])
    assert out.exit_code == 0, out.output
    assert "2 consents of ICBCGD on 2013-12-31: expired 1, valid 1" in out.output
    assert "C3" not in out.output
    bad = CliRunner().invoke(
        cli, ["--config", str(project_config), "consent", "list", "--bank", "X"]
    )
    assert bad.exit_code == 2
    assert bad.output.startswith("error: 'bank' must be one of")
