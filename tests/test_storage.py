from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from scoring.exceptions import InputFileError
from scoring.storage import atomic_dir, find_table, read_table, write_parquet


def test_parquet_written_and_read_back(tmp_path: Path) -> None:
    df = pl.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    path = write_parquet(df, tmp_path / "sub" / "t.parquet")
    assert read_table(path).equals(df)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["t.parquet"]


def test_truncated_parquet_names_the_file(tmp_path: Path) -> None:
    path = write_parquet(pl.DataFrame({"a": list(range(1000))}), tmp_path / "t.parquet")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match=r"t\.parquet' must be a readable parquet file"):
        read_table(path)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_bytes(b"")
    with pytest.raises(InputFileError, match="must not be empty"):
        read_table(tmp_path / "t.csv")


def test_find_table_prefers_parquet_and_explains_absence(tmp_path: Path) -> None:
    (tmp_path / "loans.csv").write_text("a\n1\n")
    assert find_table(tmp_path, "loans").name == "loans.csv"
    with pytest.raises(InputFileError, match="'households' must exist in"):
        find_table(tmp_path, "households")


def test_atomic_dir_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out"

    def interrupted_build() -> None:
        with atomic_dir(target) as d:
            (d / "half.txt").write_text("x")
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        interrupted_build()
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_refuses_to_overwrite_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep.txt").write_text("old")
    with (
        pytest.raises(InputFileError, match="refusing to overwrite"),
        atomic_dir(target, overwrite=False),
    ):
        pass
    assert (target / "keep.txt").read_text() == "old"
