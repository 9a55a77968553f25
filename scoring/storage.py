"""The data folders: reading tables and writing them atomically.

Readers accept Parquet or CSV (a user's own department files) and turn every
failure into an :class:`~scoring.exceptions.InputFileError` naming the file.
Writers write to a temporary name in the same folder and rename, so a reader never
sees a half-written file; :func:`atomic_dir` does the same for a whole folder.

Examples
--------
>>> import tempfile, polars as pl
>>> d = Path(tempfile.mkdtemp())
>>> write_parquet(pl.DataFrame({"a": [1, 2]}), d / "t.parquet")
PosixPath('...t.parquet')
>>> read_table(d / "t.parquet").height
2
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from scoring.exceptions import InputFileError

__all__ = [
    "atomic_dir",
    "find_table",
    "parquet_batches",
    "read_table",
    "scan_table",
    "write_json",
    "write_parquet",
    "write_text",
]

_SUFFIXES = (".parquet", ".csv")


def find_table(folder: str | Path, name: str) -> Path:
    """The file of table ``name`` in ``folder`` (``name.parquet`` or ``name.csv``).

    Examples
    --------
    >>> find_table("/nonexistent", "loans")
    Traceback (most recent call last):
    ...
    scoring.exceptions.InputFileError: 'folder' must be an existing folder; got '/nonexistent'.
    """
    base = Path(folder)
    if not base.is_dir():
        raise InputFileError(f"'folder' must be an existing folder; got {str(base)!r}.")
    for suffix in _SUFFIXES:
        p = base / f"{name}{suffix}"
        if p.exists():
            return p
    raise InputFileError(
        f"'{name}' must exist in {base} as {name}.parquet or {name}.csv; found neither."
    )


def scan_table(path: str | Path, *, schema: dict[str, Any] | None = None) -> pl.LazyFrame:
    """Lazily scan a Parquet or CSV file, checking it can be opened.

    CSV columns are read with ``schema`` types where given (others as strings).
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"'path' must be an existing file; got {str(p)!r}.")
    if p.stat().st_size == 0:
        raise InputFileError(f"'{p}' must not be empty; got a file of 0 bytes.")
    try:
        if p.suffix == ".parquet":
            lf = pl.scan_parquet(p)
            lf.collect_schema()
            return lf
        if p.suffix == ".csv":
            overrides = dict(schema) if schema else None
            lf = pl.scan_csv(
                p, schema_overrides=overrides, infer_schema=False, try_parse_dates=False
            )
            lf.collect_schema()
            return lf
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputFileError(
            f"'{p}' must be a readable {p.suffix[1:]} file; reading it failed: "
            f"{str(exc).splitlines()[0]}"
        ) from None
    raise InputFileError(f"'{p}' must end in .parquet or .csv; got {p.suffix!r}.")


def read_table(path: str | Path, *, schema: dict[str, Any] | None = None) -> pl.DataFrame:
    """Read a whole Parquet or CSV file, with errors that name the file."""
    p = Path(path)
    lf = scan_table(p, schema=schema)
    try:
        return lf.collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputFileError(
            f"'{p}' must be a readable {p.suffix[1:]} file; reading it failed: "
            f"{str(exc).splitlines()[0]}"
        ) from None


def _tmp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")


def write_parquet(df: pl.DataFrame | pl.LazyFrame, path: str | Path) -> Path:
    """Write a frame to Parquet atomically (temporary name, then rename)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(target)
    try:
        if isinstance(df, pl.LazyFrame):
            df.sink_parquet(tmp)
        else:
            df.write_parquet(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


@contextlib.contextmanager
def parquet_batches(path: str | Path) -> Iterator[Callable[[pl.DataFrame], int]]:
    """Write a Parquet file batch by batch, atomically: ``write(frame)`` appends one batch.

    The batches go to a hidden temporary name next to ``path``, renamed into place when the
    block ends normally; on any exception (a ``KeyboardInterrupt`` too) the temporary file is
    removed and ``path`` is untouched. Every batch must have the first batch's columns and
    types. ``write`` returns the rows written so far. A block that writes no batch writes no
    file.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> with parquet_batches(d / "t.parquet") as write:
    ...     write(pl.DataFrame({"a": [1, 2]}))
    ...     write(pl.DataFrame({"a": [3]}))
    2
    3
    >>> pl.read_parquet(d / "t.parquet")["a"].to_list(), sorted(p.name for p in d.iterdir())
    ([1, 2, 3], ['t.parquet'])
    """
    import pyarrow.parquet as pq

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(target)
    writer: Any = None
    schema: Any = None
    rows = 0

    def write(frame: pl.DataFrame) -> int:
        nonlocal writer, schema, rows
        table = frame.to_arrow()
        if writer is None:
            schema = table.schema
            writer = pq.ParquetWriter(tmp, schema, compression="zstd")
        elif not table.schema.equals(schema):
            raise InputFileError(
                f"'{target}' batches must all have the columns and types {schema}; "
                f"got {table.schema}."
            )
        writer.write_table(table)
        rows += frame.height
        return rows

    try:
        yield write
        if writer is not None:
            writer.close()
            writer = None
            os.replace(tmp, target)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)


def write_text(text: str, path: str | Path) -> Path:
    """Write a UTF-8 text file atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(target)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def write_json(obj: Any, path: str | Path) -> Path:
    """Write JSON (UTF-8, indented, non-ASCII kept) atomically."""
    return write_text(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n", path)


@contextlib.contextmanager
def atomic_dir(target: str | Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Build a folder under a temporary name and move it into place on success.

    On an exception the temporary folder is removed and ``target`` is untouched.
    With ``overwrite=False`` an existing ``target`` is an error.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> with atomic_dir(root / "out") as d:
    ...     _ = (d / "x.txt").write_text("hi")
    >>> (root / "out" / "x.txt").read_text()
    'hi'
    """
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists() and not overwrite:
        raise InputFileError(f"'{final}' must not exist already; refusing to overwrite it.")
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            old = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.old")
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
