"""Input conversion and the fast row -> bin -> value kernel shared by the binner and scorecard.

``as_frame`` turns what a user passes (polars, pandas, numpy, lists) into a polars frame and
says whether the columns carried real names. ``apply_tables`` maps every row of a set of
features to a bin and looks a per-bin value up (WoE for the binner, points for the
scorecard), either into a matrix or summed per row. It never loops over rows in Python:
numeric features are coded by comparing a cache-sized chunk against each split (cheaper
than a binary search for the few splits a scorecard has), categorical features by a polars
dictionary lookup, and row ranges run on threads (numpy and polars release the GIL).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from scoring.exceptions import DataError, NotFittedError, SchemaError

__all__ = [
    "CategoricalEncoder",
    "EstimatorNotFittedError",
    "NumericEncoder",
    "apply_tables",
    "as_frame",
    "as_target",
    "is_categorical_dtype",
    "resolve_n_jobs",
]

CHUNK = 1 << 16
"""Rows per chunk in the kernel: small enough that a chunk of one column stays in cache."""

_SERIAL_BELOW = 200_000
"""Inputs with fewer rows than this are scored on one thread (thread start-up dominates)."""


EstimatorNotFittedError = NotFittedError
"""Alias kept for the estimators: the workbench's NotFittedError is scikit-learn's too."""


def is_categorical_dtype(dtype: pl.DataType) -> bool:
    """True for string-like polars dtypes (String, Categorical, Enum, Object).

    Examples
    --------
    >>> is_categorical_dtype(pl.String), is_categorical_dtype(pl.Float64)
    (True, False)
    """
    return any(dtype == t for t in (pl.String, pl.Categorical, pl.Enum, pl.Object))


def resolve_n_jobs(n_jobs: int | None) -> int:
    """Threads to use: ``None`` means 1, ``-1`` all cores, ``-2`` all but one, and so on.

    Examples
    --------
    >>> resolve_n_jobs(None), resolve_n_jobs(3)
    (1, 3)
    """
    cpus = os.cpu_count() or 1
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(1, cpus + 1 + n_jobs)
    return max(1, n_jobs)


# --------------------------------------------------------------------------- conversion


def _object_column(name: str, col: npt.NDArray[Any]) -> pl.Series:
    try:
        return pl.Series(name, col.astype(np.float64))
    except (TypeError, ValueError):
        pass
    try:
        return pl.Series(name, col, dtype=pl.String, strict=False)
    except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
        raise DataError(
            f"'X[{name}]' must hold numbers or strings; got values such as {col[0]!r}."
        ) from exc


def as_frame(X: Any, *, name: str = "X", min_rows: int = 1) -> tuple[pl.DataFrame, bool]:
    """A polars frame from a polars/pandas frame, a LazyFrame, a numpy array or nested lists.

    Returns the frame and whether its column names are real (a DataFrame with string
    column names); arrays get the names ``x0, x1, ...``.

    Raises
    ------
    DataError
        For sparse, complex, 1-D, 3-D or empty input.

    Examples
    --------
    >>> frame, named = as_frame(np.array([[1.0, 2.0], [3.0, np.nan]]))
    >>> frame.columns, named
    (['x0', 'x1'], False)
    """
    if isinstance(X, pl.LazyFrame):
        X = X.collect()
    if isinstance(X, pl.DataFrame):
        frame, named = X, True
    elif type(X).__module__.startswith("pandas") and hasattr(X, "columns"):
        named = all(isinstance(c, str) for c in X.columns)
        if not named:
            X = X.set_axis([f"x{j}" for j in range(X.shape[1])], axis=1)
        frame = pl.from_pandas(X)
    else:
        if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
            raise DataError(
                f"'{name}' must be dense; got a sparse matrix (sparse input is not supported, "
                "call .toarray() first)."
            )
        arr = np.asarray(X)
        if np.iscomplexobj(arr):
            raise DataError(f"'{name}' must be real: Complex data not supported; got {arr.dtype}.")
        if arr.ndim != 2:
            raise DataError(
                f"'{name}' must be 2-dimensional (rows x features); got {arr.ndim} dimension(s)."
                " Reshape your data with X.reshape(-1, 1) if it has a single feature or"
                " X.reshape(1, -1) if it contains a single sample."
            )
        names = [f"x{j}" for j in range(arr.shape[1])]
        if arr.dtype == object:
            frame = pl.DataFrame([_object_column(n, arr[:, j]) for j, n in enumerate(names)])
        elif arr.dtype.kind in "biuf":
            frame = pl.DataFrame({n: arr[:, j] for j, n in enumerate(names)})
        elif arr.dtype.kind in "US":
            frame = pl.DataFrame({n: arr[:, j].astype(str) for j, n in enumerate(names)})
        else:
            raise DataError(f"'{name}' must be numeric or strings; got dtype {arr.dtype}.")
        named = False
    if frame.width == 0:
        raise DataError(
            f"'{name}' must have at least one feature; got 0 feature(s) "
            f"(shape=({frame.height}, 0)) while a minimum of 1 is required."
        )
    if frame.height < min_rows:
        raise DataError(
            f"'{name}' must have at least {min_rows} row(s); got {frame.height} sample(s) "
            f"(shape=({frame.height}, {frame.width}))."
        )
    for col, dtype in frame.schema.items():
        if not (
            dtype.is_numeric() or dtype in (pl.Boolean, pl.Null) or is_categorical_dtype(dtype)
        ):
            raise SchemaError(f"'{name}[{col}]' must be numeric or string; got {dtype}.")
    return frame, named


def as_target(y: Any, *, n_rows: int) -> tuple[npt.NDArray[np.bool_], npt.NDArray[Any]]:
    """Validate the 0/1 (or bool) default flag and return ``(is_bad, classes)``.

    1 / True is the bad (event) class; ``classes`` are the two sorted labels, so the bad
    class is ``classes[1]``, scikit-learn's positive class. Other labels are refused
    rather than guessed.

    Raises
    ------
    DataError
        When ``y`` is not one-dimensional, has missing values, a length that differs from
        ``X``, or not exactly two classes.

    Examples
    --------
    >>> bad, classes = as_target([0, 1, 1, 0], n_rows=4)
    >>> bad.tolist(), classes.tolist()
    ([False, True, True, False], [0, 1])
    """
    from sklearn.utils.multiclass import type_of_target
    from sklearn.utils.validation import column_or_1d

    if isinstance(y, pl.DataFrame) and y.width == 1:
        y = y.to_series()
    if isinstance(y, pl.Series):
        if y.null_count():
            raise DataError(f"'y' must not contain missing values; got {y.null_count()}.")
        y = y.to_numpy()
    if y is None:
        raise DataError(
            "'y' must be a binary target; got None (this estimator requires y to be passed, "
            "but the target y is None)."
        )
    arr = np.asarray(y)
    if np.iscomplexobj(arr):
        raise DataError(f"'y' must be real: Complex data not supported; got {arr.dtype}.")
    try:
        arr = column_or_1d(arr, warn=True)
    except ValueError as exc:
        raise DataError(f"'y' must be one-dimensional; got shape {arr.shape}.") from exc
    if arr.shape[0] != n_rows:
        raise DataError(
            f"'y' must have one label per row of X ({n_rows}); got {arr.shape[0]} "
            "(inconsistent numbers of samples)."
        )
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise DataError(
            f"'y' must be finite labels; got {int((~np.isfinite(arr)).sum())} NaN or inf value(s)."
        )
    if arr.dtype == object and any(v is None for v in arr[:1000]):
        raise DataError("'y' must not contain missing values; got None.")
    kind = type_of_target(arr, input_name="y")
    if kind == "unknown" or kind.startswith("continuous"):
        raise DataError(
            f"'y' must be a binary target; got target type {kind!r} (Unknown label type)."
        )
    classes = np.unique(arr)
    if classes.size != 2:
        raise DataError(
            f"'y' must have exactly two classes (0 = good, 1 = bad); got {classes.size} "
            f"class(es): {classes.tolist()[:10]}. Only binary classification is supported."
        )
    if arr.dtype.kind not in "biuf" or classes.tolist() != [0, 1]:
        # Never guess which label is bad from their order: "good" < "bad" is not universal.
        raise DataError(
            f"'y' must be the 0/1 default flag (1 = bad) or bool; got labels "
            f"{classes.tolist()}. Map the target first, e.g. y == 'bad'."
        )
    return arr == 1, classes


# --------------------------------------------------------------------------- encoders


@dataclass(frozen=True)
class NumericEncoder:
    """Row -> bin code for a numeric feature.

    Codes: ``0 .. len(splits)`` for the left-closed ranges, then ``specials`` (value, code)
    override, then missing (null or NaN) gets ``missing_code``.
    """

    column: str
    splits: npt.NDArray[np.float64]
    specials: tuple[tuple[float, int], ...]
    missing_code: int
    n_codes: int


@dataclass(frozen=True)
class CategoricalEncoder:
    """Row -> bin code for a categorical feature (levels compared as strings).

    ``unseen_code`` of ``None`` means an unseen level is an error.
    """

    column: str
    levels: tuple[str, ...]
    codes: tuple[int, ...]
    missing_code: int
    unseen_code: int | None
    n_codes: int
    as_string: bool = field(default=False)


Encoder = NumericEncoder | CategoricalEncoder


def _code_dtype(n_codes: int) -> type[np.unsignedinteger[Any]]:
    return np.uint8 if n_codes <= 255 else np.uint16


@dataclass
class _NumericSource:
    values: npt.NDArray[np.float64]
    validity: npt.NDArray[np.uint8] | None
    offset: int


def _numeric_source(s: pl.Series) -> _NumericSource:
    if s.dtype != pl.Float64:
        s = s.cast(pl.Float64)
    arr = s.rechunk().to_arrow()
    if hasattr(arr, "combine_chunks"):
        arr = arr.combine_chunks()
    validity_buf, data_buf = arr.buffers()[:2]
    offset = int(arr.offset)
    values = np.frombuffer(data_buf, dtype=np.float64, count=offset + len(arr))[offset:]
    validity = None
    if validity_buf is not None and arr.null_count:
        validity = np.frombuffer(validity_buf, dtype=np.uint8)
    return _NumericSource(values=values, validity=validity, offset=offset)


def string_view(s: pl.Series) -> pl.Series:
    """The series as strings, the form in which categorical levels are compared.

    Examples
    --------
    >>> string_view(pl.Series([1, None])).to_list()
    ['1', None]
    """
    return s if s.dtype == pl.String else s.cast(pl.String)


def _categorical_codes(s: pl.Series, enc: CategoricalEncoder, feature: str) -> npt.NDArray[Any]:
    dtype = _code_dtype(enc.n_codes + 1)
    sentinel = enc.n_codes  # stands for "unseen" until resolved
    unseen = sentinel if enc.unseen_code is None else enc.unseen_code
    pl_dtype = pl.UInt8 if dtype == np.uint8 else pl.UInt16
    if isinstance(s.dtype, pl.Categorical | pl.Enum) and not enc.as_string:
        uniq = s.drop_nulls().unique()
        ucodes = (
            uniq.cast(pl.String)
            .replace_strict(enc.levels, enc.codes, default=unseen, return_dtype=pl_dtype)
            .to_numpy()
        )
        uphys = uniq.to_physical().to_numpy().astype(np.int64)
        lut = np.full(int(uphys.max()) + 1 if uphys.size else 1, unseen, dtype=dtype)
        lut[uphys] = ucodes
        phys = s.to_physical()
        out = lut[phys.fill_null(0).to_numpy().astype(np.intp)]
        if s.null_count():
            out[s.is_null().to_numpy()] = enc.missing_code
    else:
        # A non-strict cast to an Enum of the known levels is polars' fastest string lookup;
        # unknown strings become null, told apart from real nulls by the input's mask.
        sv = string_view(s)
        n_levels = len(enc.levels)
        lut = np.array([*enc.codes, unseen], dtype=dtype)
        phys = sv.cast(pl.Enum(list(enc.levels)), strict=False).to_physical()
        out = lut[phys.fill_null(n_levels).to_numpy().astype(np.intp, copy=False)]
        if sv.null_count():
            out[sv.is_null().to_numpy()] = enc.missing_code
    if enc.unseen_code is None:
        bad = out == sentinel
        if bad.any():
            examples = string_view(s).filter(pl.Series(bad)).unique().sort().head(5).to_list()
            raise DataError(
                f"'X[{feature}]' must only hold categories seen in fit "
                f"(unseen='error'); got {int(bad.sum())} row(s) with unseen levels such as "
                f"{examples}."
            )
    return np.ascontiguousarray(out)


def _encode_numeric_chunk(
    src: _NumericSource,
    enc: NumericEncoder,
    lo: int,
    hi: int,
    codes: npt.NDArray[Any],
    flag: npt.NDArray[np.bool_],
) -> None:
    v = src.values[lo:hi]
    splits = enc.splits
    if splits.size <= 16:
        codes.fill(0)
        view = flag.view(np.uint8)
        for s in splits:
            np.greater_equal(v, s, out=flag)
            np.add(codes, view, out=codes)
    else:
        codes[:] = np.searchsorted(splits, v, side="right")
    for value, code in enc.specials:
        np.equal(v, value, out=flag)
        np.copyto(codes, code, where=flag)
    np.isnan(v, out=flag)
    np.copyto(codes, enc.missing_code, where=flag)
    if src.validity is not None:
        bit = src.offset + lo
        first = bit // 8
        shift = bit - first * 8
        nbytes = (shift + hi - lo + 7) // 8
        bits = np.unpackbits(
            src.validity[first : first + nbytes], bitorder="little", count=shift + hi - lo
        )[shift:]
        np.equal(bits, 0, out=flag)
        np.copyto(codes, enc.missing_code, where=flag)


def apply_tables(
    frame: pl.DataFrame,
    encoders: Sequence[Encoder],
    tables: Sequence[npt.NDArray[Any]],
    *,
    mode: Literal["matrix", "sum"],
    n_jobs: int | None = None,
) -> npt.NDArray[Any]:
    """Look up ``tables[j][bin of row i in feature j]`` for every row and feature.

    ``mode="matrix"`` returns an ``(n_rows, n_features)`` Fortran-ordered array (WoE);
    ``mode="sum"`` returns the per-row sum over features (points).

    Examples
    --------
    >>> enc = NumericEncoder("x", np.array([1.0, 5.0]), ((-1.0, 3),), 4, 5)
    >>> frame = pl.DataFrame({"x": [0.0, 1.0, 7.0, -1.0, None]})
    >>> apply_tables(frame, [enc], [np.array([10, 20, 30, 40, 50])], mode="sum").tolist()
    [10, 20, 30, 40, 50]
    """
    n = frame.height
    p = len(encoders)
    dtype = np.result_type(*[t.dtype for t in tables]) if tables else np.dtype(np.float64)
    tables = [np.ascontiguousarray(t, dtype=dtype) for t in tables]
    threads = 1 if n < _SERIAL_BELOW else resolve_n_jobs(n_jobs)
    cat_enc = {j: e for j, e in enumerate(encoders) if isinstance(e, CategoricalEncoder)}
    num_enc = {j: e for j, e in enumerate(encoders) if isinstance(e, NumericEncoder)}
    cat_idx = list(cat_enc)

    def cat_codes(j: int) -> npt.NDArray[Any]:
        enc = cat_enc[j]
        return _categorical_codes(frame.get_column(enc.column), enc, enc.column)

    num_src: dict[int, _NumericSource] = {}
    cat_src: dict[int, npt.NDArray[Any]] = {}

    def run(fn: Callable[[int], Any], items: Sequence[int]) -> list[Any]:
        if threads == 1 or len(items) <= 1:
            return [fn(i) for i in items]
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(fn, items))

    for j, codes in zip(cat_idx, run(cat_codes, cat_idx), strict=True):
        cat_src[j] = codes
    for j, enc in num_enc.items():
        num_src[j] = _numeric_source(frame.get_column(enc.column))

    out = np.empty((n, p), dtype=dtype, order="F") if mode == "matrix" else np.zeros(n, dtype=dtype)

    def work(lo_hi: tuple[int, int]) -> None:
        lo, hi = lo_hi
        flag = np.empty(CHUNK, dtype=np.bool_)
        buffers: dict[np.dtype[Any], npt.NDArray[Any]] = {
            np.dtype(np.uint8): np.empty(CHUNK, np.uint8),
            np.dtype(np.uint16): np.empty(CHUNK, np.uint16),
        }
        vals = np.empty(CHUNK, dtype=dtype)
        for st in range(lo, hi, CHUNK):
            en = min(st + CHUNK, hi)
            m = en - st
            for j in range(p):
                if j in cat_src:
                    c = cat_src[j][st:en]
                else:
                    enc = num_enc[j]
                    c = buffers[np.dtype(_code_dtype(enc.n_codes))][:m]
                    _encode_numeric_chunk(num_src[j], enc, st, en, c, flag[:m])
                if mode == "matrix":
                    np.take(tables[j], c, out=out[st:en, j], mode="clip")
                else:
                    np.take(tables[j], c, out=vals[:m], mode="clip")
                    np.add(out[st:en], vals[:m], out=out[st:en])

    step = -(-n // threads)
    step = -(-step // CHUNK) * CHUNK
    ranges = [(lo, min(lo + step, n)) for lo in range(0, n, step)] if n else []
    if threads == 1 or len(ranges) <= 1:
        for r in ranges:
            work(r)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(work, ranges))
    return out
