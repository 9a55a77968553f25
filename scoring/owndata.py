"""A scorecard on a table the user brings: ``scoring card fit`` and ``scoring card apply``.

For analysts who have a CSV or Parquet file of loans with a default flag and want a
scorecard without writing code:

- :func:`read_labelled_table` reads the file, checks the target (a 0/1 flag, or two values
  with ``bad`` naming the bad one; nulls and other values are refused with their row
  numbers) and sets aside columns that must not become features: the id column, dates,
  resident id numbers (personal data), credit codes and other identifier-like text (almost
  every value unique), each with its reason.
- :func:`fit_card` holds out a stratified test share, fits :class:`scoring.Scorecard` with
  its defaults on the rest, measures AUC, Gini and KS on both, and writes a folder
  (atomically): ``scorecard.json`` (reload with ``Scorecard.from_json``), ``scorecard.csv``
  (points per bin), ``bins.csv``, ``selection.csv`` (every selection decision with its
  reason), ``scores.csv`` (every row: split, score, PD, top-3 reasons), ``metrics.json`` and
  ``report.html`` (ROC, KS and the bins of the strongest features; opens offline).
- :func:`apply_card` scores another table with a saved scorecard.

Rows are identified in ``scores.csv`` by ``row`` (1 = the first data row of the file) and
by the id column when one is named and it holds no resident id numbers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from scoring.codes import resident_id_valid_expr, uscc_valid_expr
from scoring.exceptions import DataError, InputFileError
from scoring.metrics import auc, gini, ks, ks_curve, roc_curve
from scoring.scorecard import Scorecard
from scoring.storage import atomic_dir, write_parquet, write_text

__all__ = [
    "CardFit",
    "LabelledTable",
    "apply_card",
    "fit_card",
    "read_labelled_table",
    "read_user_table",
]

_IDENTIFIER_SHARE = 0.5  # share of valid codes, or of distinct values, that marks an identifier
_MIN_ROWS_FOR_UNIQUENESS = 50
_SHOWN = 5


@dataclass(frozen=True, slots=True)
class LabelledTable:
    """A user's table split into features, the 0/1 target and the row identifiers."""

    features: pl.DataFrame
    target: npt.NDArray[np.int8]
    rows: pl.DataFrame
    """``row`` (1 = first data row) and the id column when it may be shown."""
    set_aside: dict[str, str] = field(default_factory=dict)
    """Columns not used as features, with the reason."""


@dataclass(frozen=True, slots=True)
class CardFit:
    """What :func:`fit_card` measured and where it wrote the scorecard."""

    folder: Path
    rows: int
    bads: int
    features_offered: int
    features_used: tuple[str, ...]
    set_aside: dict[str, str]
    metrics: dict[str, float]


def _rows_text(positions: Sequence[int]) -> str:
    shown = ", ".join(str(p + 1) for p in positions[:_SHOWN])
    more = f" and {len(positions) - _SHOWN} more" if len(positions) > _SHOWN else ""
    return f"rows {shown}{more}"


def _target(frame: pl.DataFrame, column: str, *, bad: str | None, path: Path) -> pl.Series:
    if column not in frame.columns:
        raise DataError(
            f"'target' must be a column of {path}; got {column!r} (columns: {frame.columns})."
        )
    values = frame.get_column(column)
    nulls = np.flatnonzero(values.is_null().to_numpy())
    if nulls.size:
        raise DataError(
            f"'{column}' in {path} must have a value on every row; it is empty on "
            f"{_rows_text(nulls.tolist())} (1 = first data row)."
        )
    if bad is not None:
        text = values.cast(pl.String)
        levels = sorted(text.unique().to_list())
        if bad not in levels or len(levels) != 2:
            raise DataError(
                f"'{column}' in {path} must hold exactly two values, one of them {bad!r} "
                f"(the bad one); got {levels[:10]}."
            )
        return (text == bad).cast(pl.Int8).rename("target")
    if values.dtype == pl.Boolean:
        return values.cast(pl.Int8).rename("target")
    if values.dtype.is_numeric():
        wrong = np.flatnonzero(~values.is_in([0, 1]).to_numpy())
        if not wrong.size:
            return values.cast(pl.Int8).rename("target")
        got = values.gather(wrong[:_SHOWN].tolist()).to_list()
    else:
        levels = values.cast(pl.String).unique().sort().to_list()
        got = levels[:_SHOWN]
        wrong = np.flatnonzero(~values.cast(pl.String).is_in(["0", "1"]).to_numpy())
        if not wrong.size:
            return values.cast(pl.String).cast(pl.Int8).rename("target")
    raise DataError(
        f"'{column}' in {path} must be the 0/1 default flag (1 = bad), or name the bad value "
        f"with --bad; got {got} on {_rows_text(wrong.tolist())} (1 = first data row)."
    )


def _why_not_a_feature(series: pl.Series) -> str | None:
    """The reason a column must not be a feature, or None."""
    dtype = series.dtype
    if dtype.is_temporal():
        return "a date or time: derive a duration or an age from it first"
    if not (dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)):
        return None
    text = series.cast(pl.String).drop_nulls()
    if text.is_empty():
        return None
    frame = text.to_frame("v")
    resident = frame.select(resident_id_valid_expr(pl.col("v")).mean()).item()
    if resident is not None and resident >= _IDENTIFIER_SHARE:
        return "resident id numbers (personal data)"
    codes = frame.select(uscc_valid_expr(pl.col("v")).mean()).item()
    if codes is not None and codes >= _IDENTIFIER_SHARE:
        return "unified social credit codes (identifiers)"
    if text.len() >= _MIN_ROWS_FOR_UNIQUENESS and text.n_unique() >= _IDENTIFIER_SHARE * text.len():
        return "identifier-like text (most values unique, e.g. names or numbers)"
    return None


def read_user_table(path: str | Path) -> pl.DataFrame:
    """A user's CSV (types inferred from all rows, UTF-8 with or without BOM) or Parquet file.

    Raises
    ------
    InputFileError
        The file is missing, of another kind, or cannot be parsed (the message says where).
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"'data' must be a CSV or Parquet file; got {str(p)!r}.")
    try:
        if p.suffix.lower() == ".parquet":
            return pl.read_parquet(p)
        if p.suffix.lower() in (".csv", ".txt"):
            return pl.read_csv(
                p, infer_schema_length=None, encoding="utf8-lossy", try_parse_dates=True
            )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputFileError(
            f"'{p}' must be a readable {p.suffix[1:]} file; reading it failed: "
            f"{str(exc).splitlines()[0]}"
        ) from None
    raise InputFileError(f"'data' must be a .csv or .parquet file; got {str(p)!r}.")


def read_labelled_table(
    path: str | Path, *, target: str, bad: str | None = None, id_column: str | None = None
) -> LabelledTable:
    """Read a CSV or Parquet file as features, a 0/1 target and row identifiers.

    Raises
    ------
    InputFileError
        The file cannot be read.
    DataError
        The target or the id column is missing, the target is not a 0/1 flag (nor two
        values with ``bad``), has empty rows, or one class only; no column is left as a
        feature.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "loans.csv"
    >>> pl.DataFrame({"id": ["a", "b", "c"], "x": [1, 2, 3], "bad": [0, 1, 2]}).write_csv(p)
    >>> read_labelled_table(p, target="bad", id_column="id")
    Traceback (most recent call last):
    ...
    scoring.exceptions.DataError: 'bad' in ... must be the 0/1 default flag...; got [2] on rows 3...
    """
    p = Path(path)
    frame = read_user_table(p)
    if frame.height == 0:
        raise DataError(f"'{p}' must hold rows; it is empty.")
    y = _target(frame, target, bad=bad, path=p)
    if y.n_unique() < 2:
        raise DataError(
            f"'{target}' in {p} must have both classes (0 and 1); got only {y[0]} "
            f"on all {frame.height} rows."
        )
    rows = pl.DataFrame({"row": np.arange(1, frame.height + 1, dtype=np.int64)})
    set_aside = {target: "the target"}
    if id_column is not None:
        if id_column not in frame.columns:
            raise DataError(
                f"'id' must be a column of {p}; got {id_column!r} (columns: {frame.columns})."
            )
        ids = frame.get_column(id_column)
        if _why_not_a_feature(ids) == "resident id numbers (personal data)":
            set_aside[id_column] = "the id column; resident id numbers, so rows are shown by number"
        else:
            set_aside[id_column] = "the id column"
            rows = rows.with_columns(ids.cast(pl.String).alias(id_column))
    for name in frame.columns:
        if name in set_aside:
            continue
        why = _why_not_a_feature(frame.get_column(name))
        if why is not None:
            set_aside[name] = why
    features = frame.drop(list(set_aside))
    if not features.width:
        raise DataError(f"'{p}' must have a column that can be a feature; set aside: {set_aside}.")
    return LabelledTable(features, y.to_numpy(), rows, set_aside)


def _split(y: npt.NDArray[np.int8], *, test_share: float, seed: int) -> npt.NDArray[np.bool_]:
    """A stratified test mask (the same share of bads and goods held out)."""
    rng = np.random.default_rng(seed)
    test = np.zeros(y.size, dtype=bool)
    if test_share <= 0:
        return test
    for cls in (0, 1):
        where = np.flatnonzero(y == cls)
        take = round(where.size * test_share)
        test[rng.choice(where, size=take, replace=False)] = True
    return test


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """List columns as text, so that the frame can be written as CSV."""
    return frame.with_columns(
        pl.col(c).list.join(" | ") for c, t in frame.schema.items() if isinstance(t, pl.List)
    )


def _scores(card: Scorecard, features: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "score": np.asarray(card.points(features)),
            "pd": card.predict_proba(features)[:, 1],
        }
    ).hstack(card.reasons(features, k=3))


def fit_card(
    path: str | Path,
    *,
    target: str,
    out: str | Path,
    bad: str | None = None,
    id_column: str | None = None,
    test_share: float = 0.3,
    seed: int = 0,
) -> CardFit:
    """Fit a scorecard on a user's table and write the scorecard folder ``out``.

    ``test_share`` of the rows (stratified by the target, ``seed``) is held out and
    measured; 0 fits on every row and measures on the training rows only.

    Raises
    ------
    InputFileError, DataError
        See :func:`read_labelled_table`; also too few bads to fit.
    """
    if not 0 <= test_share < 1:
        raise DataError(f"'test_share' must be in [0, 1); got {test_share}.")
    data = read_labelled_table(path, target=target, bad=bad, id_column=id_column)
    test = _split(data.target, test_share=test_share, seed=seed)
    train_x, train_y = data.features.filter(pl.Series(~test)), data.target[~test]
    card = Scorecard().fit(train_x, train_y)
    scored = _scores(card, data.features)
    pd_ = scored.get_column("pd").to_numpy()
    metrics: dict[str, float] = {}
    for split, mask in (("train", ~test), ("test", test)):
        if mask.sum() == 0 or len(set(data.target[mask].tolist())) < 2:
            continue
        metrics[f"{split}_auc"] = auc(data.target[mask], pd_[mask])
        metrics[f"{split}_gini"] = gini(data.target[mask], pd_[mask])
        metrics[f"{split}_ks"] = ks(data.target[mask], pd_[mask]).statistic
    used = tuple(card.table().get_column("feature").unique(maintain_order=True).to_list())
    rows = data.rows.with_columns(
        pl.Series("split", np.where(test, "test", "train")),
        pl.Series("default", data.target),
    ).hstack(scored)
    summary = {
        "source": str(Path(path).resolve()),
        "target": target,
        "bad_value": bad,
        "rows": int(data.target.size),
        "bads": int(data.target.sum()),
        "test_share": test_share,
        "seed": seed,
        "features_offered": data.features.width,
        "features_used": list(used),
        "set_aside": data.set_aside,
        "metrics": metrics,
        "fitted_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    with atomic_dir(out) as tmp:
        (tmp / "scorecard.json").write_text(card.to_json(), encoding="utf-8")
        _flat(card.table()).write_csv(tmp / "scorecard.csv")
        _flat(card.binner_.bin_table()).write_csv(tmp / "bins.csv")
        card.selection_log_.write_csv(tmp / "selection.csv")
        rows.write_csv(tmp / "scores.csv")
        (tmp / "metrics.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        (tmp / "report.html").write_text(
            _report(card, rows, used, title=f"Scorecard · {Path(path).name}"), encoding="utf-8"
        )
    return CardFit(
        folder=Path(out),
        rows=int(data.target.size),
        bads=int(data.target.sum()),
        features_offered=data.features.width,
        features_used=used,
        set_aside=data.set_aside,
        metrics=metrics,
    )


def _report(card: Scorecard, rows: pl.DataFrame, used: Sequence[str], *, title: str) -> str:
    from scoring import plots

    curves: list[pl.DataFrame] = []
    ks_rows: list[pl.DataFrame] = []
    for split in ("train", "test"):
        part = rows.filter(pl.col("split") == split)
        y = part.get_column("default").to_numpy()
        if part.height == 0 or len(set(y.tolist())) < 2:
            continue
        pd_ = part.get_column("pd").to_numpy()
        curves.append(
            roc_curve(y, pd_).select(
                pl.lit(split).alias("split"), pl.all(), pl.lit(auc(y, pd_)).alias("auc")
            )
        )
        if split == "test" or not ks_rows:
            ks_rows = [ks_curve(y, part.get_column("score").to_numpy())]
    figures: list[tuple[str, Any]] = []
    if curves:
        figures.append(("ROC 曲线 ROC", plots.roc_chart(pl.concat(curves))))
    if ks_rows:
        figures.append(("KS 曲线 KS", plots.ks_chart(ks_rows[0])))
    bins = card.binner_.bin_table()
    strongest = (
        bins.filter((pl.col("kind") == "total") & pl.col("feature").is_in(list(used)))
        .sort("iv", descending=True)
        .get_column("feature")
        .head(6)
        .to_list()
    )
    for feature in strongest:
        figures.append((f"分箱 Bins · {feature}", plots.bin_chart(bins, feature=feature)))
    return str(plots.figures_html(figures, title=title))


def apply_card(
    card_path: str | Path, data_path: str | Path, *, out: str | Path, id_column: str | None = None
) -> Path:
    """Score a table with a saved scorecard (``scorecard.json``); write CSV or Parquet.

    The output has ``row`` (1 = first data row), the id column when given (unless it
    holds resident id numbers), ``score``, ``pd`` and the top-3 reasons.

    Raises
    ------
    InputFileError
        A file cannot be read, or ``out`` is neither ``.csv`` nor ``.parquet``.
    SchemaError
        The table lacks a feature of the scorecard.
    """
    target = Path(out)
    if target.suffix not in (".csv", ".parquet"):
        raise InputFileError(f"'out' must end in .csv or .parquet; got {str(target)!r}.")
    try:
        card = Scorecard.from_json(Path(card_path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFileError(
            f"'card' must be a readable scorecard.json; got {str(card_path)!r} ({exc.strerror})."
        ) from None
    frame = read_user_table(data_path)
    rows = pl.DataFrame({"row": np.arange(1, frame.height + 1, dtype=np.int64)})
    if id_column is not None:
        if id_column not in frame.columns:
            raise DataError(
                f"'id' must be a column of {data_path}; got {id_column!r} "
                f"(columns: {frame.columns})."
            )
        ids = frame.get_column(id_column)
        if _why_not_a_feature(ids) != "resident id numbers (personal data)":
            rows = rows.with_columns(ids.cast(pl.String).alias(id_column))
    scored = rows.hstack(_scores(card, frame))
    if target.suffix == ".csv":
        return write_text(scored.write_csv(), target)
    return write_parquet(scored, target)
