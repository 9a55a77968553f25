from __future__ import annotations

import polars as pl

from scoring.schema import TABLES, data_dictionary, data_dictionary_markdown


def test_every_table_has_its_key_and_entity_columns() -> None:
    for t in TABLES.values():
        names = [c.name for c in t.columns]
        assert len(names) == len(set(names)), t.name
        assert t.key in names, t.name
        assert all(k in names for k in t.natural_key), t.name
        if t.entity is not None:
            assert t.entity in names, t.name
        if t.date_column is not None:
            assert t.column(t.date_column).dtype == pl.Date, t.name


def test_dictionary_is_bilingual_and_marks_personal_data() -> None:
    d = data_dictionary()
    assert d.height == sum(len(t.columns) for t in TABLES.values())
    assert d.filter((pl.col("zh") == "") | (pl.col("en") == "")).height == 0
    personal = d.filter(pl.col("personal"))
    assert set(personal["column"]) == {"head_id_number", "head_name"}
    md = data_dictionary_markdown()
    for t in TABLES:
        assert f"## `{t}`" in md
