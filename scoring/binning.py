"""Optimal monotonic binning and weight of evidence: :class:`WoEBinner`.

Numeric features are cut into fine quantile pre-bins (ties kept together, each distinct
value its own pre-bin when there are few), then the pre-bins are merged into the bins that
maximise information value (IV) under a WoE shape constraint: ascending, descending,
peak, valley, none, or chosen from the data (``"auto"``, see below). IV is a sum of
per-bin terms and the shape constraint only involves neighbouring bins, so the optimum is
found exactly by dynamic programming over pre-bin boundaries, subject to a minimum bin
share, minimum bads and goods per bin and an optional maximum bin count.

Minimum bad and good counts keep the WoE of a bin from resting on a handful of events,
but they would also forbid the most telling bins of all: a large segment with almost no
bads (3 bads in 900 rows where 110 were expected). So the counts are waived, down to one
bad and one good, for a bin whose likelihood-ratio statistic against the overall bad rate,
``2 * (b ln(b / E) + g ln(g / (n - E)))`` with ``E`` the expected bads, reaches
``min_count_waiver_chi2`` (default 24, a chi-square tail probability of about one in a
million): there many rows vouch for what few events could not.

``"auto"`` takes the better (by IV) of ascending and descending, unless a single turning
point (peak or valley, as for age or credit utilisation) is clearly better:
``(IV_shape - IV_monotone) * n_bads * n_goods / n_rows >= peak_valley_min_chi2``. The
scaled IV is, to second order in the WoE, Pearson's chi-square statistic of the bins
against the bad flag, so the test asks for a chi-square gain: a real shape passes it more
easily the more rows there are, noise does not. The default, 24, lies above every gain
seen on pure-noise features in simulations (0.1 % of them exceed 21; rows 1,000-50,000,
bad rates 3-30 %, continuous, skewed and zero-spiked features).

Categorical features (string, categorical or enum columns, or any column named in
``categorical_features``): rare levels are pooled, levels are ordered by bad rate and the
same programme groups neighbours in that order.

Missing values (null or NaN) and each special code get a bin of their own. Categories not
seen in training get the declared ``unseen`` treatment.

Conventions
-----------
* ``WoE = ln(%bad / %good)`` (positive = riskier); bins are closed on the left, ``[a, b)``.
* Smoothing: a bin with zero bads or zero goods has 0.5 added to both its bad and good
  counts before its WoE and IV term are computed; a bin with no rows at all (an unused
  special code, or the missing bin when training had no missing values) has WoE 0. The
  WoE shown in :meth:`WoEBinner.bin_table` is exactly the value :meth:`WoEBinner.transform`
  writes.
* A feature with a single non-empty bin (constant, or entirely missing) carries no
  information: it is dropped with a :class:`DroppedFeatureWarning` and recorded in
  ``dropped_features_``; fitting fails only if every feature is dropped.
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils import ClassifierTags
from sklearn.utils.validation import check_is_fitted

from scoring._binning_solver import (
    Constraints,
    Partition,
    Trend,
    categorical_prebins,
    is_monotone,
    min_count_for_share,
    numeric_prebins,
    solve_partition,
    woe_iv,
)
from scoring._frames import (
    CategoricalEncoder,
    EstimatorNotFittedError,
    NumericEncoder,
    apply_tables,
    as_frame,
    as_target,
    is_categorical_dtype,
    resolve_n_jobs,
    string_view,
)
from scoring.exceptions import ConfigError, DataError, ModelError, SchemaError

__all__ = ["DroppedFeatureWarning", "FeatureBins", "WoEBinner"]

FloatArray = npt.NDArray[np.float64]
TrendName = Literal["auto", "ascending", "descending", "peak", "valley", "none"]
Unseen = Literal["missing", "worst", "error"]
SpecialCode = float | int | str

_TRENDS: tuple[str, ...] = ("auto", "ascending", "descending", "peak", "valley", "none")
_UNSEEN: tuple[str, ...] = ("missing", "worst", "error")
_JSON_FORMAT = "scoring.WoEBinner"
_JSON_VERSION = 1


class DroppedFeatureWarning(UserWarning):
    """A feature was dropped while fitting because it carries no information."""


# --------------------------------------------------------------------------- fitted bins


def _fmt(v: float) -> str:
    return f"{v:.6g}"


@dataclass(frozen=True)
class FeatureBins:
    """The fitted bins of one feature, in code order.

    Bin codes run ``0 .. n_regular - 1`` for the regular bins (numeric ranges or
    categorical groups), then one bin per special code, then the missing bin (always last).

    Attributes
    ----------
    name : str
        Column name.
    kind : {"numeric", "categorical"}
        How the feature was binned.
    splits : tuple of float
        Numeric: interior cut points; bin ``k`` is ``[splits[k-1], splits[k])``.
    groups : tuple of tuple of str
        Categorical: the levels of each regular bin.
    specials : tuple
        The special codes, one bin each.
    counts, bads : tuple of int
        Training rows and bads per bin.
    woe : tuple of float
        WoE per bin (the value ``transform`` writes).
    trend : int
        +1 when the bad rate rises with the feature over the regular bins, -1 when it
        falls, 0 otherwise (always 0 for categorical features).
    unseen_bin : int or None
        Categorical: the bin an unseen level falls into; ``None`` means an error.
    user_defined : bool
        Whether the splits came from ``user_splits``.
    """

    name: str
    kind: Literal["numeric", "categorical"]
    splits: tuple[float, ...]
    groups: tuple[tuple[str, ...], ...]
    specials: tuple[SpecialCode, ...]
    counts: tuple[int, ...]
    bads: tuple[int, ...]
    woe: tuple[float, ...]
    trend: int
    unseen_bin: int | None
    user_defined: bool

    @property
    def n_regular(self) -> int:
        """Number of regular (range or level-group) bins."""
        return len(self.counts) - len(self.specials) - 1

    @property
    def missing_bin(self) -> int:
        """Code of the missing-value bin (the last one)."""
        return len(self.counts) - 1

    def labels(self) -> list[str]:
        """Readable label of every bin, in code order."""
        out: list[str] = []
        if self.kind == "numeric":
            edges = [-math.inf, *self.splits, math.inf]
            for lo, hi in itertools.pairwise(edges):
                left = "(-inf" if lo == -math.inf else f"[{_fmt(lo)}"
                right = "inf)" if hi == math.inf else f"{_fmt(hi)})"
                out.append(f"{left}, {right}")
        else:
            for g in self.groups:
                shown = ", ".join(g[:5]) + (f", ... (+{len(g) - 5})" if len(g) > 5 else "")
                out.append(shown if g else "(no level)")
        out.extend(f"Special {c!r}" for c in self.specials)
        out.append("Missing")
        return out

    def encoder(self) -> NumericEncoder | CategoricalEncoder:
        """The row -> bin-code encoder for :func:`scoring._frames.apply_tables`."""
        m = self.n_regular
        n_codes = len(self.counts)
        if self.kind == "numeric":
            specials = tuple((float(c), m + i) for i, c in enumerate(self.specials))
            return NumericEncoder(
                column=self.name,
                splits=np.asarray(self.splits, dtype=np.float64),
                specials=specials,
                missing_code=self.missing_bin,
                n_codes=n_codes,
            )
        levels: list[str] = []
        codes: list[int] = []
        for k, g in enumerate(self.groups):
            levels.extend(g)
            codes.extend([k] * len(g))
        for i, c in enumerate(self.specials):
            levels.append(str(c))
            codes.append(m + i)
        return CategoricalEncoder(
            column=self.name,
            levels=tuple(levels),
            codes=tuple(codes),
            missing_code=self.missing_bin,
            unseen_code=self.unseen_bin,
            n_codes=n_codes,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (see :meth:`from_dict`)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "splits": list(self.splits),
            "groups": [list(g) for g in self.groups],
            "specials": list(self.specials),
            "counts": list(self.counts),
            "bads": list(self.bads),
            "woe": list(self.woe),
            "trend": self.trend,
            "unseen_bin": self.unseen_bin,
            "user_defined": self.user_defined,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureBins:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            name=str(d["name"]),
            kind=d["kind"],
            splits=tuple(float(v) for v in d["splits"]),
            groups=tuple(tuple(str(v) for v in g) for g in d["groups"]),
            specials=tuple(d["specials"]),
            counts=tuple(int(v) for v in d["counts"]),
            bads=tuple(int(v) for v in d["bads"]),
            woe=tuple(float(v) for v in d["woe"]),
            trend=int(d["trend"]),
            unseen_bin=None if d["unseen_bin"] is None else int(d["unseen_bin"]),
            user_defined=bool(d["user_defined"]),
        )


# --------------------------------------------------------------------------- fitting rules


@dataclass(frozen=True)
class _Rules:
    """Validated parameters, resolved for one fit."""

    max_n_prebins: int
    constraints: Constraints
    trend: Mapping[str, str]
    default_trend: str
    peak_valley_min_chi2: float | None
    categorical: frozenset[str]
    rare_min_count: int
    specials: Mapping[str, tuple[SpecialCode, ...]]
    global_specials: tuple[SpecialCode, ...]
    user_splits: Mapping[str, Sequence[Any]]
    unseen: str
    n_rows: int
    n_bads: int
    n_goods: int


def _check_int(name: str, value: Any, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lo:
        raise ConfigError(f"'{name}' must be an integer >= {lo}; got {value!r}.")
    return int(value)


def _check_share(name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | np.floating)
        or not 0.0 <= float(value) < 1.0
    ):
        raise ConfigError(f"'{name}' must be a number in [0, 1); got {value!r}.")
    return float(value)


def _check_optional_chi2(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | np.integer | np.floating)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ConfigError(f"'{name}' must be a finite number >= 0 or None; got {value!r}.")
    return float(value)


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"'{name}' must be one of {', '.join(choices)}; got {value!r}.")
    return value


def _check_columns(name: str, keys: Sequence[str], columns: Sequence[str]) -> None:
    unknown = [k for k in keys if k not in columns]
    if unknown:
        raise ConfigError(
            f"'{name}' must only name columns of X; got unknown {unknown[:5]} "
            f"(columns: {list(columns)[:10]})."
        )


def _check_code(name: str, code: Any) -> SpecialCode:
    if isinstance(code, bool) or not isinstance(code, int | float | str | np.number):
        raise ConfigError(f"'{name}' must hold numbers or strings; got {code!r}.")
    if isinstance(code, np.number):
        code = code.item()
    if isinstance(code, float) and not math.isfinite(code):
        raise ConfigError(f"'{name}' must hold finite numbers (NaN is always missing); got {code}.")
    return cast(SpecialCode, code)


# --------------------------------------------------------------------------- per-feature fit


def _finish(
    name: str,
    kind: Literal["numeric", "categorical"],
    *,
    splits: Sequence[float],
    groups: Sequence[Sequence[str]],
    regular: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    specials: Sequence[tuple[SpecialCode, int, int]],
    missing: tuple[int, int],
    rules: _Rules,
    user_defined: bool,
    n_distinct: int,
) -> FeatureBins | str:
    if n_distinct <= 1:
        if missing[0] == rules.n_rows:
            return "all values are missing"
        return "constant: a single distinct value"
    counts = np.concatenate(
        (regular[0], np.array([s[1] for s in specials], np.int64), [missing[0]])
    ).astype(np.int64)
    bads = np.concatenate(
        (regular[1], np.array([s[2] for s in specials], np.int64), [missing[1]])
    ).astype(np.int64)
    woe, _ = woe_iv(bads, counts - bads, rules.n_bads, rules.n_goods)
    m = len(regular[0])
    trend = is_monotone(woe[:m]) if kind == "numeric" else 0
    unseen_bin: int | None = None
    if kind == "categorical":
        if rules.unseen == "missing":
            unseen_bin = len(counts) - 1
        elif rules.unseen == "worst":
            used = np.flatnonzero(counts > 0)
            unseen_bin = int(used[np.argmax(woe[used])])
    return FeatureBins(
        name=name,
        kind=kind,
        splits=tuple(float(s) for s in splits),
        groups=tuple(tuple(g) for g in groups),
        specials=tuple(s[0] for s in specials),
        counts=tuple(int(c) for c in counts),
        bads=tuple(int(b) for b in bads),
        woe=tuple(float(w) for w in woe),
        trend=trend,
        unseen_bin=unseen_bin,
        user_defined=user_defined,
    )


def _best_partition(
    counts: npt.NDArray[np.int64], bads: npt.NDArray[np.int64], trend: str, rules: _Rules
) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """Pre-bin boundaries of the optimal bins (one bin when nothing is feasible).

    ``"auto"`` takes the better monotone trend, or the better of peak and valley when its
    IV gain over that trend passes :func:`_shape_gain_is_clear`; then the boundaries of the
    best monotone bins come second (``None`` otherwise).
    """
    k = int(counts.size)
    if k <= 1:
        return (0, k), None

    def solve(t: str) -> Partition | None:
        return solve_partition(
            counts,
            bads,
            total_bads=rules.n_bads,
            total_goods=rules.n_goods,
            constraints=rules.constraints,
            trend=cast(Trend, t),
        )

    def better(a: Partition | None, b: Partition | None) -> Partition | None:
        if a is None or (b is not None and b.iv > a.iv + 1e-12):
            return b
        return a

    if trend != "auto":
        best = solve(trend)
        return (best.boundaries if best is not None else (0, k)), None
    best = better(solve("ascending"), solve("descending"))
    if best is None:
        return (0, k), None
    threshold = rules.peak_valley_min_chi2
    if threshold is not None:
        # Free bins bound every shape from above: when even they do not gain clearly,
        # neither peak nor valley can, and the two extra solves are skipped.
        free = solve("none")
        if free is not None and _shape_gain_is_clear(free.iv - best.iv, threshold, rules):
            shaped = better(solve("peak"), solve("valley"))
            if shaped is not None and _shape_gain_is_clear(shaped.iv - best.iv, threshold, rules):
                return shaped.boundaries, best.boundaries
    return best.boundaries, None


def _shape_gain_is_clear(iv_gain: float, threshold: float, rules: _Rules) -> bool:
    """Whether an IV gain over the best monotone bins is too large to be noise.

    For bins of one feature, ``IV * n_bads * n_goods / n_rows`` approximates Pearson's
    chi-square statistic of the bins against the bad flag (exact to second order in the
    WoE), so the scaled gain is a chi-square gain: it grows with the sample for a real
    shape and stays of order one for noise. The threshold (``peak_valley_min_chi2``) allows
    for the turning point and the bins being searched for.
    """
    return iv_gain * rules.n_bads * rules.n_goods / rules.n_rows >= threshold


def _fit_numeric(name: str, s: pl.Series, is_bad: npt.NDArray[np.bool_], rules: _Rules) -> Any:
    values = s.cast(pl.Float64).to_numpy()
    missing = np.isnan(values)
    codes = [c for c in rules.specials.get(name, rules.global_specials) if not isinstance(c, str)]
    clean = ~missing
    special_stats: list[tuple[SpecialCode, int, int]] = []
    for c in codes:
        hit = values == float(c)
        clean &= ~hit
        special_stats.append((c, int(hit.sum()), int(is_bad[hit].sum())))
    xc = values[clean]
    xs = np.sort(xc)
    xb = np.sort(xc[is_bad[clean]])
    miss = (int(missing.sum()), int(is_bad[missing].sum()))
    n_distinct = (
        min(xs.size, 1 + int(np.count_nonzero(xs[1:] != xs[:-1])))
        + sum(1 for s_ in special_stats if s_[1] > 0)
        + (miss[0] > 0)
    )
    if name in rules.user_splits:
        edges = np.unique(np.asarray(rules.user_splits[name], dtype=np.float64))
        cuts = np.searchsorted(xs, edges, side="left")
        bcuts = np.searchsorted(xb, edges, side="left")
        counts = np.diff(np.concatenate(([0], cuts, [xs.size]))).astype(np.int64)
        bads = np.diff(np.concatenate(([0], bcuts, [xb.size]))).astype(np.int64)
        return _finish(
            name,
            "numeric",
            splits=edges.tolist(),
            groups=(),
            regular=(counts, bads),
            specials=special_stats,
            missing=miss,
            rules=rules,
            user_defined=True,
            n_distinct=n_distinct,
        )
    edges, pcounts, pbads = numeric_prebins(
        xs,
        xb,
        rules.max_n_prebins,
        total_bads=rules.n_bads,
        total_goods=rules.n_goods,
        constraints=rules.constraints,
    )
    bounds, monotone = _best_partition(
        pcounts, pbads, rules.trend.get(name, rules.default_trend), rules
    )
    cb = np.concatenate(([0], np.cumsum(pcounts)))
    bb = np.concatenate(([0], np.cumsum(pbads)))

    def bins_at(b: tuple[int, ...]) -> FeatureBins | str:
        idx = np.asarray(b)
        return _finish(
            name,
            "numeric",
            splits=edges[idx[1:-1] - 1].tolist(),
            groups=(),
            regular=(np.diff(cb[idx]), np.diff(bb[idx])),
            specials=special_stats,
            missing=miss,
            rules=rules,
            user_defined=False,
            n_distinct=n_distinct,
        )

    chosen = bins_at(bounds)
    if monotone is None or isinstance(chosen, str):
        return chosen
    return chosen, bins_at(monotone)


def _fit_categorical(name: str, s: pl.Series, is_bad: npt.NDArray[np.bool_], rules: _Rules) -> Any:
    sv = string_view(s)
    stats = (
        pl.DataFrame({"x": sv, "y": pl.Series(is_bad)})
        .group_by("x")
        .agg(n=pl.len(), b=pl.col("y").sum())
        .sort("x", nulls_last=True)
    )
    null_row = stats.filter(pl.col("x").is_null())
    miss = (int(null_row["n"][0]), int(null_row["b"][0])) if null_row.height else (0, 0)
    stats = stats.filter(pl.col("x").is_not_null())
    codes = [str(c) for c in rules.specials.get(name, rules.global_specials)]
    special_stats: list[tuple[SpecialCode, int, int]] = []
    for c in dict.fromkeys(codes):
        hit = stats.filter(pl.col("x") == c)
        special_stats.append(
            (c, int(hit["n"][0]) if hit.height else 0, int(hit["b"][0]) if hit.height else 0)
        )
    stats = stats.filter(~pl.col("x").is_in(codes))
    levels: list[str] = stats["x"].to_list()
    n = stats["n"].to_numpy().astype(np.int64)
    b = stats["b"].to_numpy().astype(np.int64)
    n_distinct = len(levels) + sum(1 for s_ in special_stats if s_[1] > 0) + (miss[0] > 0)
    if name in rules.user_splits:
        listed: list[list[str]] = [list(map(str, g)) for g in rules.user_splits[name]]
        seen = {lv for g in listed for lv in g}
        rest = [lv for lv in levels if lv not in seen]
        groups = listed + ([rest] if rest else [])
        pos = {lv: i for i, lv in enumerate(levels)}
        gc = np.array([sum(int(n[pos[lv]]) for lv in g if lv in pos) for g in groups], np.int64)
        gb = np.array([sum(int(b[pos[lv]]) for lv in g if lv in pos) for g in groups], np.int64)
        return _finish(
            name,
            "categorical",
            splits=(),
            groups=[sorted(g) for g in groups],
            regular=(gc, gb),
            specials=special_stats,
            missing=miss,
            rules=rules,
            user_defined=True,
            n_distinct=n_distinct,
        )
    if not levels:
        return _finish(
            name,
            "categorical",
            splits=(),
            groups=[[]],
            regular=(np.zeros(1, np.int64), np.zeros(1, np.int64)),
            specials=special_stats,
            missing=miss,
            rules=rules,
            user_defined=False,
            n_distinct=n_distinct,
        )
    pre = categorical_prebins(
        n,
        b,
        rare_min_count=rules.rare_min_count,
        max_prebins=rules.max_n_prebins,
        total_bads=rules.n_bads,
        total_goods=rules.n_goods,
    )
    pc = np.array([n[g].sum() for g in pre], np.int64)
    pb = np.array([b[g].sum() for g in pre], np.int64)
    bounds, _ = _best_partition(pc, pb, "ascending", rules)
    groups = [
        sorted(levels[i] for g in pre[lo:hi] for i in g) for lo, hi in itertools.pairwise(bounds)
    ]
    cb = np.concatenate(([0], np.cumsum(pc)))
    bb = np.concatenate(([0], np.cumsum(pb)))
    idx = np.asarray(bounds)
    return _finish(
        name,
        "categorical",
        splits=(),
        groups=groups,
        regular=(np.diff(cb[idx]), np.diff(bb[idx])),
        specials=special_stats,
        missing=miss,
        rules=rules,
        user_defined=False,
        n_distinct=n_distinct,
    )


# --------------------------------------------------------------------------- estimator


class WoEBinner(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Optimal monotonic binning and WoE encoding (a scikit-learn transformer).

    Parameters
    ----------
    max_n_prebins : int, default 50
        Fine pre-bins per feature before merging (quantiles for numeric features; levels,
        pooled by bad-rate order beyond this, for categorical ones).
    min_bin_share : float, default 0.02
        Minimum share of all training rows in every regular bin.
    min_bad_count, min_good_count : int, default 5
        Minimum bads and goods in every regular bin, waived (down to one) for a bin that
        clearly departs from the overall bad rate, see ``min_count_waiver_chi2``.
    min_count_waiver_chi2 : float or None, default 24.0
        A bin short of ``min_bad_count`` bads or ``min_good_count`` goods is still allowed
        when the likelihood-ratio statistic of its bads against the overall bad rate
        reaches this value (see the module docstring); ``None``: no waiver.
    max_n_bins : int or None, default None
        Maximum number of regular bins (missing and special bins not counted).
    monotonic_trend : str or mapping, default "auto"
        WoE shape over numeric bins: ``"ascending"`` (bad rate rises with the feature),
        ``"descending"``, ``"peak"``, ``"valley"``, ``"none"`` or ``"auto"`` (the better
        of ascending and descending by IV, or of peak and valley when that is clearly
        better, see ``peak_valley_min_chi2``). A mapping sets it per feature (others get
        "auto").
    peak_valley_min_chi2 : float or None, default 24.0
        How clearly a peak or valley must beat the best monotone bins for ``"auto"`` to
        choose it: its IV gain times ``n_bads * n_goods / n_rows`` (a chi-square gain,
        see the module docstring). ``None`` keeps ``"auto"`` monotone.
    categorical_features : sequence of str or None, default None
        Numeric columns to bin as categories (string, categorical and enum columns always
        are). For arrays, features are named ``x0, x1, ...``.
    rare_category_share : float, default 0.01
        Levels below this share of rows are pooled before grouping.
    special_codes : sequence, mapping or None, default None
        Values that get a bin of their own: a sequence applies to every feature (numbers
        to numeric features, every code to categorical ones as text); a mapping gives
        codes per feature.
    user_splits : mapping or None, default None
        Fixed bins per feature, used as given (no optimisation, no constraints): cut points
        for a numeric feature, lists of levels for a categorical one (levels not listed
        form one more bin).
    unseen : {"missing", "worst", "error"}, default "missing"
        What an unseen category gets at transform time: the missing bin's WoE, the
        riskiest bin's WoE, or a :class:`~scoring.exceptions.DataError`.
    n_jobs : int or None, default -1
        Threads (features in ``fit``, row blocks in ``transform``); -1 uses all cores.

    Attributes
    ----------
    bins_ : dict of str to FeatureBins
        Fitted bins of every kept feature, in input order.
    iv_ : dict of str to float
        Total IV per kept feature (missing and special bins included).
    monotonic_trends_ : dict of str to int
        +1 when the bad rate rises with the feature, -1 when it falls, 0 for categorical
        or non-monotonic features (usable as LightGBM monotone constraints).
    monotone_alternatives_ : dict of str to FeatureBins
        For each feature that ``"auto"`` binned as a peak or valley, its best monotone
        bins: :class:`~scoring.scorecard.Scorecard` falls back on them when the shape does
        not also pay given the other features.
    dropped_features_ : dict of str to str
        Features dropped in ``fit`` and why.
    n_features_in_ : int
        Columns seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names seen in ``fit`` (only when X had string column names).
    n_rows_, n_bads_ : int
        Training rows and bads (the WoE denominators).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=5000)
    >>> y = (rng.random(5000) < 1 / (1 + np.exp(3 - x))).astype(int)
    >>> X = pl.DataFrame({"x": x, "colour": rng.choice(["red", "blue"], 5000)})
    >>> binner = WoEBinner(max_n_bins=4).fit(X, y)
    >>> binner.monotonic_trends_
    {'x': 1, 'colour': 0}
    >>> binner.bin_table("x").select("label", "count", "bads", "woe").with_columns(
    ...     pl.col("woe").round(3))
    shape: (6, 4)
    ┌─────────────────────────┬───────┬──────┬────────┐
    │ label                   ┆ count ┆ bads ┆ woe    │
    │ ---                     ┆ ---   ┆ ---  ┆ ---    │
    │ str                     ┆ i64   ┆ i64  ┆ f64    │
    ╞═════════════════════════╪═══════╪══════╪════════╡
    │ (-inf, -0.749554)       ┆ 1142  ┆ 14   ┆ -1.765 │
    │ [-0.749554, 0.00437185) ┆ 1425  ┆ 44   ┆ -0.822 │
    │ [0.00437185, 1.49564)   ┆ 2089  ┆ 193  ┆ 0.339  │
    │ [1.49564, inf)          ┆ 344   ┆ 87   ┆ 1.541  │
    │ Missing                 ┆ 0     ┆ 0    ┆ 0.0    │
    │ Total                   ┆ 5000  ┆ 338  ┆ null   │
    └─────────────────────────┴───────┴──────┴────────┘
    >>> binner.transform(X.head(2)).round(3)
    array([[ 0.339, -0.002],
           [-0.822, -0.002]])
    """

    def __init__(
        self,
        *,
        max_n_prebins: int = 50,
        min_bin_share: float = 0.02,
        min_bad_count: int = 5,
        min_good_count: int = 5,
        max_n_bins: int | None = None,
        monotonic_trend: TrendName | Mapping[str, TrendName] = "auto",
        peak_valley_min_chi2: float | None = 24.0,
        min_count_waiver_chi2: float | None = 24.0,
        categorical_features: Sequence[str] | None = None,
        rare_category_share: float = 0.01,
        special_codes: Sequence[SpecialCode] | Mapping[str, Sequence[SpecialCode]] | None = None,
        user_splits: Mapping[str, Sequence[Any]] | None = None,
        unseen: Unseen = "missing",
        n_jobs: int | None = -1,
    ) -> None:
        self.max_n_prebins = max_n_prebins
        self.min_bin_share = min_bin_share
        self.min_bad_count = min_bad_count
        self.min_good_count = min_good_count
        self.max_n_bins = max_n_bins
        self.monotonic_trend = monotonic_trend
        self.peak_valley_min_chi2 = peak_valley_min_chi2
        self.min_count_waiver_chi2 = min_count_waiver_chi2
        self.categorical_features = categorical_features
        self.rare_category_share = rare_category_share
        self.special_codes = special_codes
        self.user_splits = user_splits
        self.unseen = unseen
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ validation

    def _rules(self, columns: Sequence[str], n_rows: int, n_bads: int) -> _Rules:
        max_n_prebins = _check_int("max_n_prebins", self.max_n_prebins, 2)
        share = _check_share("min_bin_share", self.min_bin_share)
        min_bads = _check_int("min_bad_count", self.min_bad_count, 0)
        min_goods = _check_int("min_good_count", self.min_good_count, 0)
        max_bins = None if self.max_n_bins is None else _check_int("max_n_bins", self.max_n_bins, 1)
        rare = _check_share("rare_category_share", self.rare_category_share)
        pv = _check_optional_chi2("peak_valley_min_chi2", self.peak_valley_min_chi2)
        waiver = _check_optional_chi2("min_count_waiver_chi2", self.min_count_waiver_chi2)
        unseen = _check_choice("unseen", self.unseen, _UNSEEN)
        if self.n_jobs is not None and (
            isinstance(self.n_jobs, bool) or not isinstance(self.n_jobs, int) or self.n_jobs == 0
        ):
            raise ConfigError(f"'n_jobs' must be a non-zero integer or None; got {self.n_jobs!r}.")
        trend_map: dict[str, str] = {}
        default_trend = "auto"
        if isinstance(self.monotonic_trend, Mapping):
            _check_columns("monotonic_trend", list(self.monotonic_trend), columns)
            for k, v in self.monotonic_trend.items():
                trend_map[k] = _check_choice(f"monotonic_trend[{k!r}]", v, _TRENDS)
        else:
            default_trend = _check_choice("monotonic_trend", self.monotonic_trend, _TRENDS)
        categorical: list[str] = []
        if self.categorical_features is not None:
            if isinstance(self.categorical_features, str):
                raise ConfigError(
                    "'categorical_features' must be a list of column names; "
                    f"got the string {self.categorical_features!r}."
                )
            categorical = [str(c) for c in self.categorical_features]
            _check_columns("categorical_features", categorical, columns)
        specials: dict[str, tuple[SpecialCode, ...]] = {}
        global_specials: tuple[SpecialCode, ...] = ()
        if isinstance(self.special_codes, Mapping):
            _check_columns("special_codes", list(self.special_codes), columns)
            for k, codes in self.special_codes.items():
                if isinstance(codes, str) or not isinstance(codes, Sequence | np.ndarray):
                    raise ConfigError(
                        f"'special_codes[{k!r}]' must be a list of codes; got {codes!r}."
                    )
                specials[k] = tuple(
                    dict.fromkeys(_check_code(f"special_codes[{k!r}]", c) for c in codes)
                )
        elif self.special_codes is not None:
            if isinstance(self.special_codes, str):
                raise ConfigError(
                    f"'special_codes' must be a list of codes; got {self.special_codes!r}."
                )
            global_specials = tuple(
                dict.fromkeys(_check_code("special_codes", c) for c in self.special_codes)
            )
        user: dict[str, Sequence[Any]] = {}
        if self.user_splits is not None:
            if not isinstance(self.user_splits, Mapping):
                raise ConfigError(
                    "'user_splits' must be a mapping of feature to splits; "
                    f"got {self.user_splits!r}."
                )
            _check_columns("user_splits", list(self.user_splits), columns)
            user = dict(self.user_splits)
        if n_bads < max(1, min_bads) or n_rows - n_bads < max(1, min_goods):
            raise DataError(
                f"'y' must contain at least {max(1, min_bads)} bads and {max(1, min_goods)} "
                f"goods (min_bad_count, min_good_count); got {n_bads} bads and "
                f"{n_rows - n_bads} goods."
            )
        return _Rules(
            max_n_prebins=max_n_prebins,
            constraints=Constraints(
                min_count=min_count_for_share(share, n_rows),
                min_bads=min_bads,
                min_goods=min_goods,
                max_bins=max_bins,
                waiver_chi2=waiver,
            ),
            trend=trend_map,
            default_trend=default_trend,
            peak_valley_min_chi2=pv,
            categorical=frozenset(categorical),
            rare_min_count=math.ceil(rare * n_rows - 1e-9),
            specials=specials,
            global_specials=global_specials,
            user_splits=user,
            unseen=unseen,
            n_rows=n_rows,
            n_bads=n_bads,
            n_goods=n_rows - n_bads,
        )

    @staticmethod
    def _check_user_splits(name: str, spec: Sequence[Any], categorical: bool) -> None:
        if isinstance(spec, str) or not isinstance(spec, Sequence | np.ndarray):
            raise ConfigError(f"'user_splits[{name!r}]' must be a list; got {spec!r}.")
        if categorical:
            for g in spec:
                if isinstance(g, str) or not isinstance(g, Sequence | np.ndarray):
                    raise ConfigError(
                        f"'user_splits[{name!r}]' must be a list of level lists for a "
                        f"categorical feature; got {g!r}."
                    )
        else:
            try:
                arr = np.asarray(spec, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ConfigError(
                    f"'user_splits[{name!r}]' must be numbers for a numeric feature; got {spec!r}."
                ) from exc
            if arr.ndim != 1 or not np.isfinite(arr).all():
                raise ConfigError(f"'user_splits[{name!r}]' must be finite numbers; got {spec!r}.")

    # ------------------------------------------------------------------ fit

    def fit(self, X: Any, y: Any) -> WoEBinner:
        """Find the bins of every feature of ``X`` against the binary target ``y``.

        Parameters
        ----------
        X : polars/pandas DataFrame, LazyFrame, numpy array or nested lists
            Features; nulls and NaN are missing values.
        y : array-like
            Default flag: 0/1 or bool, 1 = bad (the event). Other labels are refused.

        Returns
        -------
        WoEBinner
            ``self``, fitted.

        Raises
        ------
        DataError
            When ``y`` is not binary, has too few bads or goods, or ``X`` is unusable.
        ConfigError
            When a parameter is invalid or names an unknown column.
        ModelError
            When every feature is dropped.
        """
        frame, named = as_frame(X)
        is_bad, _ = as_target(y, n_rows=frame.height)
        return self._fit_frame(frame, named, is_bad)

    def _fit_frame(
        self, frame: pl.DataFrame, named: bool, is_bad: npt.NDArray[np.bool_]
    ) -> WoEBinner:
        n_bads = int(is_bad.sum())
        rules = self._rules(frame.columns, frame.height, n_bads)
        kinds: dict[str, bool] = {}
        for col, dtype in frame.schema.items():
            kinds[col] = is_categorical_dtype(dtype) or col in rules.categorical
            if col in rules.user_splits:
                self._check_user_splits(col, rules.user_splits[col], kinds[col])
            codes = rules.specials.get(col, ())
            if not kinds[col] and any(isinstance(c, str) for c in codes):
                raise ConfigError(
                    f"'special_codes[{col!r}]' must be numbers for a numeric feature; "
                    f"got {list(codes)}."
                )

        def fit_one(col: str) -> FeatureBins | str | tuple[FeatureBins, FeatureBins]:
            s = frame.get_column(col)
            if kinds[col]:
                return cast(FeatureBins | str, _fit_categorical(col, s, is_bad, rules))
            return cast(
                FeatureBins | str | tuple[FeatureBins, FeatureBins],
                _fit_numeric(col, s, is_bad, rules),
            )

        threads = min(resolve_n_jobs(self.n_jobs), frame.width)
        if threads > 1 and frame.height >= 50_000:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                results = list(pool.map(fit_one, frame.columns))
        else:
            results = [fit_one(c) for c in frame.columns]

        bins: dict[str, FeatureBins] = {}
        alternatives: dict[str, FeatureBins] = {}
        dropped: dict[str, str] = {}
        for col, res in zip(frame.columns, results, strict=True):
            if isinstance(res, str):
                dropped[col] = res
            elif isinstance(res, tuple):
                bins[col], alternatives[col] = res
            else:
                bins[col] = res
        for col, reason in dropped.items():
            warnings.warn(
                f"Feature {col!r} dropped: {reason}.", DroppedFeatureWarning, stacklevel=2
            )
        if not bins:
            raise ModelError(
                f"'X' must have at least one informative feature; got none (dropped: {dropped})."
            )
        self._set_fitted(
            bins=bins,
            dropped=dropped,
            n_features=frame.width,
            names=frame.columns if named else None,
            n_rows=frame.height,
            n_bads=n_bads,
            alternatives=alternatives,
        )
        return self

    def _set_fitted(
        self,
        *,
        bins: dict[str, FeatureBins],
        dropped: dict[str, str],
        n_features: int,
        names: Sequence[str] | None,
        n_rows: int,
        n_bads: int,
        alternatives: dict[str, FeatureBins] | None = None,
    ) -> None:
        self.bins_ = bins
        self.monotone_alternatives_ = dict(alternatives or {})
        self.dropped_features_ = dropped
        self.n_features_in_ = n_features
        if names is not None:
            self.feature_names_in_ = np.asarray(list(names), dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.n_rows_ = n_rows
        self.n_bads_ = n_bads
        self.iv_ = {
            name: float(
                woe_iv(
                    np.asarray(fb.bads),
                    np.asarray(fb.counts) - np.asarray(fb.bads),
                    n_bads,
                    n_rows - n_bads,
                )[1].sum()
            )
            for name, fb in bins.items()
        }
        self.monotonic_trends_ = {name: fb.trend for name, fb in bins.items()}

    def _use_monotone_alternative(self, name: str) -> None:
        """Replace the peak/valley bins of ``name`` by its best monotone bins."""
        bins = dict(self.bins_)
        alternatives = dict(self.monotone_alternatives_)
        bins[name] = alternatives.pop(name)
        self._set_fitted(
            bins=bins,
            dropped=self.dropped_features_,
            n_features=self.n_features_in_,
            names=list(self.feature_names_in_) if hasattr(self, "feature_names_in_") else None,
            n_rows=self.n_rows_,
            n_bads=self.n_bads_,
            alternatives=alternatives,
        )

    # ------------------------------------------------------------------ transform

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "bins_")
        except SklearnNotFittedError as exc:
            raise EstimatorNotFittedError(
                f"'{type(self).__name__}' must be fitted before use; call fit(X, y) first."
            ) from exc

    def _input_names(self) -> list[str]:
        if hasattr(self, "feature_names_in_"):
            return [str(c) for c in self.feature_names_in_]
        return [f"x{j}" for j in range(self.n_features_in_)]

    def _frame_for(self, X: Any, features: Sequence[str]) -> pl.DataFrame:
        """The columns ``features`` of ``X``, matched by name or by position."""
        if isinstance(X, pl.LazyFrame):
            names = X.collect_schema().names()
            missing = [c for c in features if c not in names]
            if not missing and hasattr(self, "feature_names_in_"):
                X = X.select(features).collect()
        frame, named = as_frame(X)
        fitted = self._input_names()
        if named and hasattr(self, "feature_names_in_"):
            missing = [c for c in features if c not in frame.columns]
            if missing:
                raise SchemaError(
                    f"'X' must contain the fitted feature columns; missing {missing[:10]} "
                    f"({len(missing)} of {len(features)})."
                )
        else:
            if frame.width != self.n_features_in_:
                raise SchemaError(
                    f"'X' must have {self.n_features_in_} features as in fit; got "
                    f"{frame.width}. X has {frame.width} features, but "
                    f"{type(self).__name__} is expecting {self.n_features_in_} features as input."
                )
            frame = frame.rename(dict(zip(frame.columns, fitted, strict=True)))
        frame = frame.select(features)
        for col, dtype in frame.schema.items():
            fb = self.bins_[col]
            if fb.kind == "numeric" and not (dtype.is_numeric() or dtype in (pl.Boolean, pl.Null)):
                raise SchemaError(f"'X[{col}]' must be numeric as in fit; got {dtype}.")
        return frame

    def transform(self, X: Any) -> npt.NDArray[np.float64]:
        """Replace every kept feature by the WoE of its bin.

        Columns are matched by name when ``X`` is a DataFrame and the binner was fitted on
        one (extra columns are ignored), otherwise by position.

        Returns
        -------
        ndarray of shape (n_rows, n_kept_features)
            WoE values, in the order of :meth:`get_feature_names_out`.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        SchemaError
            When a fitted column is missing or has the wrong type.
        DataError
            For an unseen category with ``unseen="error"``.
        """
        self._check_fitted()
        return self._transform_frame(self._frame_for(X, list(self.bins_)))

    def _transform_frame(self, frame: pl.DataFrame) -> FloatArray:
        """WoE matrix of a frame that holds exactly the kept features, by fitted name."""
        features = list(self.bins_)
        return cast(
            FloatArray,
            apply_tables(
                frame,
                [self.bins_[f].encoder() for f in features],
                [np.asarray(self.bins_[f].woe, dtype=np.float64) for f in features],
                mode="matrix",
                n_jobs=self.n_jobs,
            ),
        )

    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.object_]:
        """Names of the output columns: the kept features, in input order.

        Examples
        --------
        >>> X = pl.DataFrame({"a": [0, 1] * 50, "b": ["u", "v", "w", "v"] * 25})
        >>> WoEBinner(min_bin_share=0.0).fit(X, [0, 1, 0, 0] * 25).get_feature_names_out()
        array(['a', 'b'], dtype=object)
        """
        self._check_fitted()
        if input_features is not None:
            given = [str(c) for c in input_features]
            fitted = self._input_names()
            if len(given) != len(fitted):
                raise ConfigError(
                    f"'input_features' must name the {len(fitted)} fitted features; got "
                    f"{len(given)} (input_features should have length equal to number of "
                    f"features ({len(fitted)}), got {len(given)})."
                )
            if hasattr(self, "feature_names_in_") and given != fitted:
                raise ConfigError(
                    f"'input_features' must equal feature_names_in_ {fitted}; got {given} "
                    "(input_features is not equal to feature_names_in_)."
                )
            rename = dict(zip(fitted, given, strict=True))
            return np.asarray([rename[f] for f in self.bins_], dtype=object)
        return np.asarray(list(self.bins_), dtype=object)

    # ------------------------------------------------------------------ reporting

    def bin_table(self, feature: str | None = None, *, totals: bool = True) -> pl.DataFrame:
        """The bin table of one feature (or of all, with a ``feature`` column).

        Columns: ``bin`` (code), ``label``, ``kind`` (range, levels, special, missing,
        total), ``lower``/``upper`` (numeric ranges), ``levels`` (categorical groups),
        ``count``, ``count_share``, ``bads``, ``goods``, ``bad_rate``, ``woe`` and ``iv``
        (the bin's IV term). With ``totals`` a last row ``Total`` carries the sums and the
        feature's total IV.

        Examples
        --------
        >>> X = pl.DataFrame({"months": [6, 9, 12, 24, 36, None] * 50})
        >>> y = [1, 0, 0, 1, 1, 0] * 50
        >>> b = WoEBinner(user_splits={"months": [12]}).fit(X, y)
        >>> b.bin_table("months").select("label", "count", "bads", "woe", "iv")
        shape: (4, 5)
        ┌────────────┬───────┬──────┬───────────┬──────────┐
        │ label      ┆ count ┆ bads ┆ woe       ┆ iv       │
        │ ---        ┆ ---   ┆ ---  ┆ ---       ┆ ---      │
        │ str        ┆ i64   ┆ i64  ┆ f64       ┆ f64      │
        ╞════════════╪═══════╪══════╪═══════════╪══════════╡
        │ (-inf, 12) ┆ 100   ┆ 50   ┆ 0.0       ┆ 0.0      │
        │ [12, inf)  ┆ 150   ┆ 100  ┆ 0.693147  ┆ 0.231049 │
        │ Missing    ┆ 50    ┆ 0    ┆ -4.615121 ┆ 1.538374 │
        │ Total      ┆ 300   ┆ 150  ┆ null      ┆ 1.769423 │
        └────────────┴───────┴──────┴───────────┴──────────┘

        The missing bin has no bads, so its WoE is smoothed: ``ln((0.5 / 150) / (50.5 / 150))``.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        SchemaError
            When ``feature`` was not kept.
        """
        self._check_fitted()
        if feature is None:
            return pl.concat(
                [
                    self.bin_table(f, totals=totals).select(pl.lit(f).alias("feature"), pl.all())
                    for f in self.bins_
                ]
            )
        if feature not in self.bins_:
            reason = self.dropped_features_.get(feature, "not a fitted feature")
            raise SchemaError(f"'feature' must be a kept feature; got {feature!r} ({reason}).")
        fb = self.bins_[feature]
        counts = np.asarray(fb.counts, dtype=np.int64)
        bads = np.asarray(fb.bads, dtype=np.int64)
        _, iv = woe_iv(bads, counts - bads, self.n_bads_, self.n_rows_ - self.n_bads_)
        m = fb.n_regular
        kinds = (
            ["range" if fb.kind == "numeric" else "levels"] * m
            + ["special"] * len(fb.specials)
            + ["missing"]
        )
        edges = [-math.inf, *fb.splits, math.inf]
        lower: list[float | None] = [None] * len(counts)
        upper: list[float | None] = [None] * len(counts)
        levels: list[list[str] | None] = [None] * len(counts)
        for k in range(m):
            if fb.kind == "numeric":
                lower[k], upper[k] = edges[k], edges[k + 1]
            else:
                levels[k] = list(fb.groups[k])
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(counts > 0, bads / np.maximum(counts, 1), np.nan)
        table = pl.DataFrame(
            {
                "bin": pl.Series(list(range(len(counts))), dtype=pl.Int32),
                "label": fb.labels(),
                "kind": kinds,
                "lower": pl.Series(lower, dtype=pl.Float64),
                "upper": pl.Series(upper, dtype=pl.Float64),
                "levels": pl.Series(levels, dtype=pl.List(pl.String)),
                "count": counts,
                "count_share": counts / self.n_rows_,
                "bads": bads,
                "goods": counts - bads,
                "bad_rate": pl.Series(rate).fill_nan(None),
                "woe": np.asarray(fb.woe, dtype=np.float64),
                "iv": iv,
            }
        )
        if totals:
            n = int(counts.sum())
            total = pl.DataFrame(
                {
                    "bin": pl.Series([None], dtype=pl.Int32),
                    "label": ["Total"],
                    "kind": ["total"],
                    "lower": pl.Series([None], dtype=pl.Float64),
                    "upper": pl.Series([None], dtype=pl.Float64),
                    "levels": pl.Series([None], dtype=pl.List(pl.String)),
                    "count": [n],
                    "count_share": [n / self.n_rows_],
                    "bads": [int(bads.sum())],
                    "goods": [int(n - bads.sum())],
                    "bad_rate": [float(bads.sum()) / n if n else None],
                    "woe": pl.Series([None], dtype=pl.Float64),
                    "iv": [float(iv.sum())],
                }
            )
            table = pl.concat([table, total])
        return table

    def summary(self) -> pl.DataFrame:
        """One row per input feature: kind, bins, IV, trend, kept or dropped and why.

        Examples
        --------
        >>> X = pl.DataFrame({"a": [1.0, 2.0, 3.0, 4.0] * 25, "b": ["u", "v"] * 50})
        >>> b = WoEBinner(min_bad_count=0, min_good_count=0).fit(X, [0, 0, 1, 1] * 25)
        >>> b.summary().select("feature", "kind", "n_bins", "trend", "status")
        shape: (2, 5)
        ┌─────────┬─────────────┬────────┬───────┬────────┐
        │ feature ┆ kind        ┆ n_bins ┆ trend ┆ status │
        │ ---     ┆ ---         ┆ ---    ┆ ---   ┆ ---    │
        │ str     ┆ str         ┆ i64    ┆ i64   ┆ str    │
        ╞═════════╪═════════════╪════════╪═══════╪════════╡
        │ a       ┆ numeric     ┆ 2      ┆ 1     ┆ kept   │
        │ b       ┆ categorical ┆ 1      ┆ 0     ┆ kept   │
        └─────────┴─────────────┴────────┴───────┴────────┘

        Raises
        ------
        NotFittedError
            Before ``fit``.
        """
        self._check_fitted()
        rows: list[dict[str, Any]] = []
        for name in self._input_names():
            if name in self.bins_:
                fb = self.bins_[name]
                rows.append(
                    {
                        "feature": name,
                        "kind": fb.kind,
                        "n_bins": fb.n_regular,
                        "iv": self.iv_[name],
                        "trend": fb.trend,
                        "status": "kept",
                        "reason": "user splits" if fb.user_defined else "optimal bins",
                    }
                )
            else:
                rows.append(
                    {
                        "feature": name,
                        "kind": None,
                        "n_bins": None,
                        "iv": None,
                        "trend": None,
                        "status": "dropped",
                        "reason": self.dropped_features_.get(name, ""),
                    }
                )
        return pl.DataFrame(
            rows,
            schema={
                "feature": pl.String,
                "kind": pl.String,
                "n_bins": pl.Int64,
                "iv": pl.Float64,
                "trend": pl.Int64,
                "status": pl.String,
                "reason": pl.String,
            },
        )

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        """Parameters and fitted bins as a JSON-ready dict (see :meth:`from_dict`)."""
        self._check_fitted()
        return {
            "format": _JSON_FORMAT,
            "version": _JSON_VERSION,
            "params": _jsonable(self.get_params()),
            "n_features_in": self.n_features_in_,
            "feature_names_in": (
                [str(c) for c in self.feature_names_in_]
                if hasattr(self, "feature_names_in_")
                else None
            ),
            "n_rows": self.n_rows_,
            "n_bads": self.n_bads_,
            "features": [fb.to_dict() for fb in self.bins_.values()],
            "monotone_alternatives": [fb.to_dict() for fb in self.monotone_alternatives_.values()],
            "dropped": dict(self.dropped_features_),
        }

    def to_json(self) -> str:
        """Serialise the fitted binner to JSON; :meth:`from_json` restores it exactly.

        Examples
        --------
        >>> X = pl.DataFrame({"a": list(range(100))})
        >>> b = WoEBinner(min_bin_share=0.2).fit(X, [0] * 60 + [1, 0] * 20)
        >>> again = WoEBinner.from_json(b.to_json())
        >>> bool((again.transform(X) == b.transform(X)).all())
        True
        """
        return json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WoEBinner:
        """Rebuild a fitted binner from :meth:`to_dict` output.

        Raises
        ------
        DataError
            When ``data`` is not a serialised WoEBinner of a known version.
        """
        if data.get("format") != _JSON_FORMAT or data.get("version") != _JSON_VERSION:
            raise DataError(
                f"'data' must be a {_JSON_FORMAT} version {_JSON_VERSION} document; got "
                f"format {data.get('format')!r} version {data.get('version')!r}."
            )
        binner = cls(**data["params"])
        bins = {d["name"]: FeatureBins.from_dict(d) for d in data["features"]}
        alternatives = {
            d["name"]: FeatureBins.from_dict(d) for d in data.get("monotone_alternatives", [])
        }
        binner._set_fitted(
            bins=bins,
            dropped=dict(data.get("dropped", {})),
            n_features=int(data["n_features_in"]),
            names=data["feature_names_in"],
            n_rows=int(data["n_rows"]),
            n_bads=int(data["n_bads"]),
            alternatives=alternatives,
        )
        return binner

    @classmethod
    def from_json(cls, text: str) -> WoEBinner:
        """Rebuild a fitted binner from :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = False
        tags.target_tags.required = True
        # The binner needs a binary target; this makes scikit-learn's common checks feed
        # it two classes (the transformer is not a classifier: estimator_type stays None).
        tags.classifier_tags = ClassifierTags(multi_class=False)
        return tags


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
