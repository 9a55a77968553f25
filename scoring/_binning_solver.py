"""Numerical core of optimal binning: pre-binning, WoE/IV arithmetic and the exact solver.

Nothing here knows about frames, estimators or reporting; :mod:`scoring.binning` wires it.

Conventions
-----------
* WoE of a bin = ``ln((bads / total_bads) / (goods / total_goods))``; positive means riskier.
* Smoothing: a bin with zero bads or zero goods gets 0.5 added to *both* its bad and good
  counts before its WoE and IV term are computed (totals are not adjusted). Every other bin
  is exact. A bin with no rows at all has WoE 0 and IV term 0.
* IV term of a bin = ``(%bad - %good) * WoE`` with the same (possibly smoothed) counts.

The solver maximises the sum of IV terms over partitions of the ordered pre-bins into
contiguous bins, subject to per-bin minimum size, bads and goods, an optional maximum bin
count and a shape constraint on the WoE sequence. Because IV is additive over bins and the
shape constraint only involves neighbouring bins, a dynamic programme over (previous
boundary, current boundary) finds the exact optimum in ``O(K^3)`` numpy work for ``K``
pre-bins (times the bin-count limit when one is set).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "SMOOTHING",
    "Constraints",
    "Partition",
    "Trend",
    "bin_deviance",
    "categorical_prebins",
    "feasible_bins",
    "greedy_splits",
    "numeric_prebins",
    "quantile_grid",
    "solve_partition",
    "woe_iv",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

Trend = Literal["ascending", "descending", "peak", "valley", "none"]

SMOOTHING = 0.5
"""Added to the bad and good counts of a bin that has zero bads or zero goods."""


def woe_iv(
    bads: npt.ArrayLike, goods: npt.ArrayLike, total_bads: float, total_goods: float
) -> tuple[FloatArray, FloatArray]:
    """WoE and IV term of bins (element-wise), with the module's smoothing rule.

    Examples
    --------
    >>> woe, iv = woe_iv([10, 0], [84, 5], 300.0, 700.0)
    >>> woe.round(6).tolist(), iv.round(6).tolist()
    ([-1.280934, -1.550597], [0.111014, 0.009599])
    """
    b = np.asarray(bads, dtype=np.float64)
    g = np.asarray(goods, dtype=np.float64)
    zero = (b == 0) | (g == 0)
    empty = (b == 0) & (g == 0)
    b = np.where(zero, b + SMOOTHING, b)
    g = np.where(zero, g + SMOOTHING, g)
    pb = b / total_bads
    pg = g / total_goods
    woe = np.where(empty, 0.0, np.log(pb / pg))
    iv = np.where(empty, 0.0, (pb - pg) * woe)
    return woe, iv


@dataclass(frozen=True)
class Constraints:
    """Per-bin feasibility limits (absolute counts) and the optional bin-count limit.

    ``waiver_chi2``: a bin short of ``min_bads`` bads (or ``min_goods`` goods) is still
    feasible, with at least one of each, when its bad count departs from the overall bad
    rate with a likelihood-ratio statistic (:func:`bin_deviance`) of at least this much:
    many rows then vouch for a bin that few events alone could not. ``None``: no waiver.
    """

    min_count: int = 1
    min_bads: int = 1
    min_goods: int = 1
    max_bins: int | None = None
    waiver_chi2: float | None = None


def bin_deviance(
    counts: npt.ArrayLike, bads: npt.ArrayLike, bad_rate: float
) -> npt.NDArray[np.float64]:
    """Likelihood-ratio (G) statistic of ``bads`` in ``counts`` rows against ``bad_rate``.

    ``2 * (b ln(b / E) + g ln(g / (n - E)))`` with ``E = n * bad_rate`` and ``g = n - b``
    (``0 ln 0 = 0``); chi-square with one degree of freedom when the bin holds rows drawn
    at the overall rate. Empty bins give 0.

    Examples
    --------
    >>> bin_deviance([2000, 536], [3, 1], 0.018).round(1).tolist()
    [51.6, 12.9]
    """
    n = np.asarray(counts, dtype=np.float64)
    b = np.asarray(bads, dtype=np.float64)
    g = n - b
    e = n * bad_rate
    with np.errstate(divide="ignore", invalid="ignore"):
        tb = np.where(b > 0, b * np.log(b / e), 0.0)
        tg = np.where(g > 0, g * np.log(g / (n - e)), 0.0)
    out: npt.NDArray[np.float64] = np.where(n > 0, 2.0 * (tb + tg), 0.0)
    return out


def feasible_bins(
    counts: npt.ArrayLike,
    bads: npt.ArrayLike,
    c: Constraints,
    *,
    total_bads: float,
    total_goods: float,
) -> npt.NDArray[np.bool_]:
    """Whether bins of these row and bad counts meet the per-bin constraints (element-wise).

    Examples
    --------
    At a 1.8 % bad rate, 3 bads in 2,000 rows (36 expected) are clear evidence of a safe
    segment; 1 bad in 536 rows (9.6 expected) is not; 50 rows are too few in any case:

    >>> c = Constraints(min_count=100, min_bads=5, min_goods=5, waiver_chi2=24.0)
    >>> feasible_bins([2000, 536, 600, 50], [3, 1, 30, 10], c, total_bads=180,
    ...               total_goods=9820).tolist()
    [True, False, True, False]
    """
    n = np.asarray(counts, dtype=np.int64)
    b = np.asarray(bads, dtype=np.int64)
    g = n - b
    ok_b = b >= c.min_bads
    ok_g = g >= c.min_goods
    if c.waiver_chi2 is not None and not (ok_b & ok_g).all():
        clear = bin_deviance(n, b, total_bads / (total_bads + total_goods)) >= c.waiver_chi2
        ok_b = ok_b | (clear & (b >= 1))
        ok_g = ok_g | (clear & (g >= 1))
    out: npt.NDArray[np.bool_] = (n >= max(c.min_count, 1)) & ok_b & ok_g
    return out


# --------------------------------------------------------------------------- pre-binning


def _counts_at(
    sorted_values: FloatArray, sorted_bad_values: FloatArray, edges: FloatArray
) -> tuple[IntArray, IntArray]:
    n = sorted_values.size
    cuts = np.searchsorted(sorted_values, edges, side="left")
    bad_cuts = np.searchsorted(sorted_bad_values, edges, side="left")
    counts = np.diff(np.concatenate(([0], cuts, [n]))).astype(np.int64)
    bads = np.diff(np.concatenate(([0], bad_cuts, [sorted_bad_values.size]))).astype(np.int64)
    return counts, bads


def quantile_grid(
    sorted_values: FloatArray, sorted_bad_values: FloatArray, size: int
) -> tuple[FloatArray, IntArray, IntArray]:
    """A quantile grid of at most ``size`` cells over sorted clean values.

    Returns ``(edges, counts, bads)``: ``len(edges) + 1`` left-closed cells
    ``(-inf, e0), [e0, e1), ..., [e_last, inf)``. When the feature has at most ``size``
    distinct values every value gets its own cell; otherwise the edges are quantiles, and a
    value whose ties fill a whole quantile step is isolated in a cell of its own (so a spike
    such as "0 for 40 % of rows" is never split or mixed).

    Examples
    --------
    >>> v = np.array([0.0, 0, 0, 0, 1, 2, 3, 4, 5, 6])
    >>> edges, counts, bads = quantile_grid(v, np.array([0.0, 6.0]), 4)
    >>> edges.tolist(), counts.tolist(), bads.tolist()
    ([1.0, 2.0, 4.0], [4, 1, 2, 3], [1, 0, 0, 1])
    """
    n = sorted_values.size
    if n == 0:
        return np.empty(0), np.zeros(1, np.int64), np.zeros(1, np.int64)
    new_run = sorted_values[1:] != sorted_values[:-1]
    n_unique = int(np.count_nonzero(new_run)) + 1
    max_prebins = size
    if n_unique <= max_prebins:
        edges = sorted_values[1:][new_run]
    else:
        positions = (n * np.arange(1, max_prebins, dtype=np.int64)) // max_prebins
        cand = np.unique(sorted_values[positions])
        lo = np.searchsorted(sorted_values, cand, side="left")
        hi = np.searchsorted(sorted_values, cand, side="right")
        heavy = ((hi - lo) >= n / max_prebins) & (hi < n)
        # The first value's run may be heavy too even if no quantile lands on it.
        first_hi = int(np.searchsorted(sorted_values, sorted_values[0], side="right"))
        extra = sorted_values[hi[heavy]]
        if first_hi >= n / max_prebins and first_hi < n:
            extra = np.append(extra, sorted_values[first_hi])
        edges = np.union1d(cand, extra)
        edges = edges[edges > sorted_values[0]]
    counts, bads = _counts_at(sorted_values, sorted_bad_values, edges)
    return edges.astype(np.float64), counts, bads


def greedy_splits(
    counts: IntArray,
    bads: IntArray,
    *,
    total_bads: float,
    total_goods: float,
    constraints: Constraints,
    max_leaves: int,
) -> IntArray:
    """Best-first binary splitting of ordered cells by IV gain (a CART on the grid).

    Every leaf satisfies the per-bin constraints. Returns the sorted interior cell
    boundaries of the leaves (boundary ``s`` separates cell ``s - 1`` from cell ``s``).

    Examples
    --------
    >>> greedy_splits(np.array([50, 50, 50, 50]), np.array([1, 2, 10, 12]), total_bads=25,
    ...               total_goods=175, constraints=Constraints(min_count=50), max_leaves=2)
    array([2])
    """
    cn = np.concatenate(([0], np.cumsum(counts)))
    cb = np.concatenate(([0], np.cumsum(bads)))
    c = constraints

    def best(lo: int, hi: int) -> tuple[float, int]:
        if hi - lo < 2:
            return -1.0, -1
        s = np.arange(lo + 1, hi)
        nl, bl = cn[s] - cn[lo], cb[s] - cb[lo]
        nr, br = cn[hi] - cn[s], cb[hi] - cb[s]
        ok = feasible_bins(nl, bl, c, total_bads=total_bads, total_goods=total_goods) & (
            feasible_bins(nr, br, c, total_bads=total_bads, total_goods=total_goods)
        )
        if not ok.any():
            return -1.0, -1
        _, ivl = woe_iv(bl, nl - bl, total_bads, total_goods)
        _, ivr = woe_iv(br, nr - br, total_bads, total_goods)
        gain = np.where(ok, ivl + ivr, -np.inf)
        k = int(np.argmax(gain))
        _, ivp = woe_iv(
            cb[hi] - cb[lo], cn[hi] - cn[lo] - (cb[hi] - cb[lo]), total_bads, total_goods
        )
        return float(gain[k] - ivp), int(s[k])

    k = int(counts.size)
    heap: list[tuple[float, int, int, int]] = []
    g, s = best(0, k)
    if s > 0:
        heapq.heappush(heap, (-g, 0, k, s))
    cuts: list[int] = []
    while heap and len(cuts) + 1 < max_leaves:
        _, lo, hi, s = heapq.heappop(heap)
        cuts.append(s)
        for a, b in ((lo, s), (s, hi)):
            g, t = best(a, b)
            if t > 0:
                heapq.heappush(heap, (-g, a, b, t))
    return np.asarray(sorted(cuts), dtype=np.int64)


GRID_SIZE = 8192
"""Cells of the fine quantile grid on which candidate split points are searched."""


def numeric_prebins(
    sorted_values: FloatArray,
    sorted_bad_values: FloatArray,
    max_prebins: int,
    *,
    total_bads: float,
    total_goods: float,
    constraints: Constraints,
) -> tuple[FloatArray, IntArray, IntArray]:
    """Pre-bins of a numeric feature: quantile edges plus the edges of a greedy IV tree.

    The union of ``max_prebins`` quantiles and the leaf boundaries of a best-first IV tree
    (at most ``max_prebins`` leaves, each a feasible bin) grown on a fine quantile grid of
    :data:`GRID_SIZE` cells: the quantiles give the solver even coverage, the tree puts
    candidates where the bad rate actually changes.

    Examples
    --------
    >>> v = np.arange(100.0)
    >>> bad_v = np.r_[np.arange(0.0, 50.0, 10.0), np.arange(50.0, 100.0, 2.0)]
    >>> edges, counts, bads = numeric_prebins(v, bad_v, 4, total_bads=30, total_goods=70,
    ...                                       constraints=Constraints(min_count=10))
    >>> edges.tolist(), bads.tolist()
    ([11.0, 25.0, 31.0, 50.0, 75.0], [2, 1, 1, 1, 13, 12])
    """
    q_edges, q_counts, q_bads = quantile_grid(sorted_values, sorted_bad_values, max_prebins)
    if q_counts.size < max_prebins:  # every distinct value is already a pre-bin
        return q_edges, q_counts, q_bads
    g_edges, g_counts, g_bads = quantile_grid(sorted_values, sorted_bad_values, GRID_SIZE)
    cut = greedy_splits(
        g_counts,
        g_bads,
        total_bads=total_bads,
        total_goods=total_goods,
        constraints=constraints,
        max_leaves=max_prebins,
    )
    edges = np.union1d(q_edges, g_edges[cut - 1])
    counts, bads = _counts_at(sorted_values, sorted_bad_values, edges)
    return edges, counts, bads


def categorical_prebins(
    counts: IntArray,
    bads: IntArray,
    *,
    rare_min_count: int,
    max_prebins: int,
    total_bads: float,
    total_goods: float,
) -> list[list[int]]:
    """Group category levels into ordered pre-bins.

    Levels with fewer than ``rare_min_count`` rows are pooled into one pre-bin; the
    pre-bins are ordered by WoE (ascending, ties by first level index) and, when more than
    ``max_prebins`` remain, neighbours in that order are pooled by cumulative row count.
    Returns the level indices of each pre-bin, in order.

    Examples
    --------
    >>> categorical_prebins(np.array([50, 50, 3, 2]), np.array([10, 2, 1, 0]),
    ...                     rare_min_count=5, max_prebins=10, total_bads=13, total_goods=92)
    [[1], [0], [2, 3]]
    """
    rare = np.flatnonzero(counts < rare_min_count)
    groups: list[list[int]] = [[int(i)] for i in np.flatnonzero(counts >= rare_min_count)]
    if rare.size:
        groups.append([int(i) for i in rare])
    g_counts = np.array([counts[g].sum() for g in groups], dtype=np.int64)
    g_bads = np.array([bads[g].sum() for g in groups], dtype=np.int64)
    woe, _ = woe_iv(g_bads, g_counts - g_bads, total_bads, total_goods)
    first = np.array([g[0] for g in groups])
    order = np.lexsort((first, woe))
    groups = [groups[i] for i in order]
    if len(groups) > max_prebins:
        cum = np.cumsum(g_counts[order])
        chunk = np.minimum((cum - 1) * max_prebins // cum[-1], max_prebins - 1)
        pooled: list[list[int]] = [[] for _ in range(max_prebins)]
        for k, g in zip(chunk.tolist(), groups, strict=True):
            pooled[k].extend(g)
        groups = [g for g in pooled if g]
    return groups


# --------------------------------------------------------------------------- solver

_LT, _GT, _ANY = 0, 1, 2
# phase transitions (from_phase, to_phase, comparison of previous WoE vs current WoE)
_AUTOMATA: dict[str, tuple[int, list[tuple[int, int, int]]]] = {
    "ascending": (1, [(0, 0, _LT)]),
    "descending": (1, [(0, 0, _GT)]),
    "none": (1, [(0, 0, _ANY)]),
    "peak": (2, [(0, 0, _LT), (0, 1, _GT), (1, 1, _GT)]),
    "valley": (2, [(0, 0, _GT), (0, 1, _LT), (1, 1, _LT)]),
}


@dataclass(frozen=True)
class Partition:
    """The solver's answer: pre-bin boundaries ``[0, ..., K]`` and the total IV."""

    boundaries: tuple[int, ...]
    iv: float


def _segment_tables(
    counts: IntArray, bads: IntArray, total_bads: float, total_goods: float, c: Constraints
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    cn = np.concatenate(([0], np.cumsum(counts)))
    cb = np.concatenate(([0], np.cumsum(bads)))
    n = cn[None, :] - cn[:, None]
    b = cb[None, :] - cb[:, None]
    upper = np.triu(np.ones(n.shape, dtype=bool), k=1)
    n_safe = np.where(upper, n, 0)
    b_safe = np.where(upper, b, 0)
    woe, iv = woe_iv(b_safe, n_safe - b_safe, total_bads, total_goods)
    valid = upper & feasible_bins(n_safe, b_safe, c, total_bads=total_bads, total_goods=total_goods)
    return woe, iv, valid


def solve_partition(
    counts: IntArray,
    bads: IntArray,
    *,
    total_bads: float,
    total_goods: float,
    constraints: Constraints,
    trend: Trend,
) -> Partition | None:
    """Exact IV-maximising partition of ordered pre-bins into contiguous bins.

    ``trend`` constrains the WoE sequence of the bins: strictly ascending, strictly
    descending, rising then falling (``"peak"``), falling then rising (``"valley"``) or free
    (``"none"``). Returns ``None`` when no partition satisfies the constraints.

    Examples
    --------
    >>> counts = np.array([100, 100, 100, 100])
    >>> bads = np.array([5, 20, 10, 40])
    >>> c = Constraints(min_count=1, min_bads=1, min_goods=1)
    >>> p = solve_partition(counts, bads, total_bads=75, total_goods=325,
    ...                     constraints=c, trend="ascending")
    >>> p.boundaries
    (0, 1, 3, 4)
    >>> solve_partition(counts, bads, total_bads=75, total_goods=325,
    ...                 constraints=c, trend="none").boundaries
    (0, 1, 2, 3, 4)
    """
    k = int(counts.size)
    if trend not in _AUTOMATA:
        raise ValueError(f"unknown trend {trend!r}")
    woe, iv, valid = _segment_tables(counts, bads, total_bads, total_goods, constraints)
    n_phases, transitions = _AUTOMATA[trend]
    bounded = constraints.max_bins is not None and constraints.max_bins < k
    n_layers = int(constraints.max_bins) if bounded and constraints.max_bins else 1
    neg = -np.inf
    size = k + 1
    f = np.full((n_phases, n_layers, size, size), neg)
    back = np.full((n_phases, n_layers, size, size), -1, dtype=np.int64)
    f[0, 0, 0, 1:] = np.where(valid[0, 1:], iv[0, 1:], neg)
    for i in range(1, k):
        ok = valid[i, i + 1 :]
        if not ok.any():
            continue
        w_next = woe[i, i + 1 :]
        w_prev = woe[:i, i]
        conds = {
            _LT: w_prev[:, None] < w_next[None, :],
            _GT: w_prev[:, None] > w_next[None, :],
        }
        for q in range(n_phases):
            best = np.full((n_layers, k - i), neg)
            best_arg = np.full((n_layers, k - i), -1, dtype=np.int64)
            for p, q_to, cmp in transitions:
                if q_to != q:
                    continue
                prev = f[p, :, :i, i]  # (layers, h)
                if not np.isfinite(prev).any():
                    continue
                if cmp == _ANY:
                    h = np.broadcast_to(prev.argmax(axis=1)[:, None], best.shape)
                    val = np.broadcast_to(prev.max(axis=1)[:, None], best.shape)
                else:
                    cand = np.where(conds[cmp][None, :, :], prev[:, :, None], neg)
                    h = cand.argmax(axis=1)
                    val = np.take_along_axis(cand, h[:, None, :], axis=1)[:, 0, :]
                if bounded:
                    val = np.concatenate((np.full((1, k - i), neg), val[:-1]))
                    h = np.concatenate((np.full((1, k - i), -1), h[:-1]))
                better = val > best
                best = np.where(better, val, best)
                best_arg = np.where(better, p * size + h, best_arg)
            f[q, :, i, i + 1 :] = np.where(ok[None, :], best + iv[i, i + 1 :][None, :], neg)
            back[q, :, i, i + 1 :] = best_arg
    end = f[:, :, :, k]
    if not np.isfinite(end).any():
        return None
    # argmax takes the first optimum: phase 0 and (when bounded) the fewest bins first.
    flat = int(np.argmax(end))
    p, layer, i = (int(v) for v in np.unravel_index(flat, end.shape))
    total = float(end[p, layer, i])
    bounds = [k]
    j = k
    while True:
        bounds.append(i)
        if i == 0:
            break
        code = int(back[p, layer, i, j])
        p, start = divmod(code, size)
        j, i = i, start
        if bounded:
            layer -= 1
    return Partition(boundaries=tuple(reversed(bounds)), iv=total)


def is_monotone(values: FloatArray) -> int:
    """+1 when strictly increasing, -1 when strictly decreasing, else 0 (also for one bin).

    Examples
    --------
    >>> is_monotone(np.array([-1.0, 0.2, 0.7])), is_monotone(np.array([0.3, 0.1, 0.2]))
    (1, 0)
    """
    if values.size < 2:
        return 0
    d = np.diff(values)
    if bool((d > 0).all()):
        return 1
    if bool((d < 0).all()):
        return -1
    return 0


def min_count_for_share(share: float, n_rows: int) -> int:
    """Smallest row count that is at least ``share`` of ``n_rows`` (never below 1).

    Examples
    --------
    >>> min_count_for_share(0.05, 1000), min_count_for_share(0.0, 10)
    (50, 1)
    """
    return max(1, math.ceil(share * n_rows - 1e-9))
