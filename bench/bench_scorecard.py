"""Benchmark: our binning, scorecard and scoring against optbinning and plain polars.

Data (issue 4): ``--rows`` training rows (default 1M) with 20 numeric features (5 % missing)
and 5 categorical ones (5, 8, 12, 20 and 30 levels), a 5 % bad rate, plus ``--test-rows``
held-out rows from the same process (true PD known). Features are credit-like: lognormal
amounts, counts, ratios, scores; mostly monotone in risk, one U-shaped (``num_09``), some
weak; missingness is mildly informative.

Every measurement runs in a fresh subprocess so that peak memory (``ru_maxrss``) belongs to
it alone; "data MB" is the resident size after loading the input, "peak MB" the maximum
during the whole process. Measurements:

1. binning + WoE on the training rows: ``WoEBinner().fit(X, y).transform(X)`` vs
   optbinning ``BinningProcess(...).fit(X, y).transform(X, metric="woe")`` (defaults),
   with the total IV of each.
2. full scorecard fit: ours on all training rows vs optbinning's ``Scorecard``
   (BinningProcess + LogisticRegression, PDO scaling) on the first ``--peer-rows`` rows
   (default 100k, as measured in the issue), and the AUC of each on the test rows.
3. scoring ``--score-rows`` rows (default 10M, resampled from the training rows): our
   ``Scorecard.points`` vs a plain polars ``pl.when().then()`` chain of points per bin,
   summed with ``pl.sum_horizontal``; the two must agree exactly.

Run the full size only under the shared lock::

    flock /tmp/gdcredit-bench.lock uv run python bench/bench_scorecard.py

and a quick smoke run with, e.g., ``--rows 100000 --score-rows 1000000 --peer-rows 20000``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

CATEGORY_LEVELS = (5, 8, 12, 20, 30)
N_NUMERIC = 20


# --------------------------------------------------------------------------- data


def make_benchmark_data(rows: int, seed: int) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Synthetic credit table: (features, 0/1 bad flag, true PD)."""
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    logit = np.zeros(rows)
    strengths = np.linspace(0.9, 0.05, N_NUMERIC)
    for j in range(N_NUMERIC):
        u = rng.normal(size=rows)
        kind = j % 5
        if kind == 0:  # amount, lognormal
            x = np.round(np.exp(1.0 + 0.8 * u) * 1000.0, 2)
            eff = strengths[j] * u
        elif kind == 1:  # count of events
            x = rng.poisson(np.exp(0.5 + 0.6 * u)).astype(np.float64)
            eff = strengths[j] * u
        elif kind == 2:  # ratio in (0, 1), risk falls with it
            x = 1.0 / (1.0 + np.exp(-u))
            eff = -strengths[j] * u
        elif kind == 3:  # a bounded score, saturating effect
            x = np.round(u * 10.0 + 50.0, 1)
            eff = strengths[j] * np.tanh(u)
        else:  # a plain standardised indicator; num_09 is U-shaped
            x = u.copy()
            eff = 0.4 * (1.0 - u**2) if j == 9 else -strengths[j] * u
        logit += eff
        missing = rng.random(rows) < 0.05
        logit += np.where(missing, 0.2, 0.0)
        x[missing] = np.nan
        cols[f"num_{j:02d}"] = x
    for j, n_levels in enumerate(CATEGORY_LEVELS):
        p = 1.0 / np.arange(1, n_levels + 1) ** 0.8
        level = rng.choice(n_levels, size=rows, p=p / p.sum())
        logit += rng.normal(scale=0.5, size=n_levels)[level]
        cols[f"cat_{j}"] = pl.Series(level).replace_strict(
            list(range(n_levels)), [f"L{k:02d}" for k in range(n_levels)], return_dtype=pl.String
        )
    lo, hi = -20.0, 5.0
    for _ in range(60):  # intercept for a 5 % bad rate
        mid = (lo + hi) / 2
        if (1.0 / (1.0 + np.exp(-(logit + mid)))).mean() > 0.05:
            hi = mid
        else:
            lo = mid
    pd_true = 1.0 / (1.0 + np.exp(-(logit + lo)))
    y = (rng.random(rows) < pd_true).astype(np.int8)
    frame = pl.DataFrame(cols).with_columns(pl.col(pl.Float64).fill_nan(None))
    return frame, y, pd_true


def _categorical(frame: pl.DataFrame) -> list[str]:
    return [c for c, t in frame.schema.items() if t == pl.String]


# --------------------------------------------------------------------------- measuring


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load(workdir: Path, part: str) -> tuple[pl.DataFrame, np.ndarray]:
    frame = pl.read_parquet(workdir / f"{part}.parquet")
    y = frame["__y"].to_numpy()
    return frame.drop("__y", "__pd"), y


def _score_frame(workdir: Path, rows: int) -> pl.DataFrame:
    train, _ = _load(workdir, "train")
    return train.sample(n=rows, with_replacement=True, seed=17).rechunk()


def measure(name: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One measurement, run inside its own process."""
    from sklearn.metrics import roc_auc_score

    out: dict[str, Any] = {"name": name}
    if name in ("binning_ours", "binning_peer"):
        X, y = _load(workdir, "train")
        if name == "binning_peer":
            from optbinning import BinningProcess

            Xp = X.to_pandas()
            out["data_mb"] = _rss_mb()
            t0 = time.perf_counter()
            bp = BinningProcess(
                variable_names=list(X.columns), categorical_variables=_categorical(X)
            )
            bp.fit(Xp, y)
            bp.transform(Xp, metric="woe")
            out["seconds"] = time.perf_counter() - t0
            out["total_iv"] = float(bp.summary()["iv"].astype(float).sum())
        else:
            from scoring.binning import WoEBinner

            out["data_mb"] = _rss_mb()
            t0 = time.perf_counter()
            binner = WoEBinner().fit(X, y)
            binner.transform(X)
            out["seconds"] = time.perf_counter() - t0
            out["total_iv"] = float(sum(binner.iv_.values()))
            # not timed: the U-shaped feature binned with the shape asked for explicitly
            peak = WoEBinner(monotonic_trend="peak").fit(X.select("num_09"), y)
            out["total_iv_peak_num_09"] = (
                out["total_iv"] - binner.iv_["num_09"] + peak.iv_["num_09"]
            )
    elif name in ("scorecard_ours", "scorecard_ours_peak", "scorecard_peer"):
        X, y = _load(workdir, "train")
        Xt, yt = _load(workdir, "test")
        if name == "scorecard_peer":
            from optbinning import BinningProcess
            from optbinning import Scorecard as PeerScorecard
            from sklearn.linear_model import LogisticRegression

            n = min(args.peer_rows, X.height)
            Xp, yp, Xtp = X.head(n).to_pandas(), y[:n], Xt.to_pandas()
            out["rows"] = n
            out["data_mb"] = _rss_mb()
            t0 = time.perf_counter()
            card = PeerScorecard(
                binning_process=BinningProcess(
                    variable_names=list(X.columns), categorical_variables=_categorical(X)
                ),
                estimator=LogisticRegression(),
                scaling_method="pdo_odds",
                scaling_method_params={"pdo": 20, "odds": 50, "scorecard_points": 600},
            ).fit(Xp, yp)
            out["seconds"] = time.perf_counter() - t0
            out["test_auc"] = float(roc_auc_score(yt, card.predict_proba(Xtp)[:, 1]))
        else:
            from scoring.binning import WoEBinner
            from scoring.scorecard import Scorecard

            # the variant asks for the shape of the one U-shaped feature, as an analyst would
            binner = WoEBinner(monotonic_trend={"num_09": "peak"})
            out["rows"] = X.height
            out["data_mb"] = _rss_mb()
            t0 = time.perf_counter()
            card = Scorecard(binner=binner if name == "scorecard_ours_peak" else None).fit(X, y)
            out["seconds"] = time.perf_counter() - t0
            out["test_auc"] = float(roc_auc_score(yt, card.predict_proba(Xt)[:, 1]))
            out["n_features"] = len(card.features_)
            if name == "scorecard_ours":
                (workdir / "scorecard.json").write_text(card.to_json(), encoding="utf-8")
    elif name in ("scoring_ours", "scoring_baseline", "scoring_polars_lookup"):
        from scoring.scorecard import Scorecard

        card = Scorecard.from_json((workdir / "scorecard.json").read_text(encoding="utf-8"))
        frame = _score_frame(workdir, args.score_rows)
        out["rows"] = frame.height
        out["data_mb"] = _rss_mb()
        if name == "scoring_ours":
            t0 = time.perf_counter()
            points = card.points(frame)
            out["seconds"] = time.perf_counter() - t0
        else:
            exprs = _when_then(card, lookup=name == "scoring_polars_lookup")
            expr = pl.sum_horizontal(exprs)
            t0 = time.perf_counter()
            points = frame.select(expr).to_series().to_numpy()
            out["seconds"] = time.perf_counter() - t0
        out["sha256"] = hashlib.sha256(points.astype(np.int64).tobytes()).hexdigest()
    else:
        raise SystemExit(f"unknown measurement {name!r}")
    out["peak_mb"] = _peak_mb()
    return out


def _when_then(card: Any, *, lookup: bool = False) -> list[pl.Expr]:
    """The baseline: one when/then chain of integer points per bin and feature.

    With ``lookup`` the categorical features use ``replace_strict`` (a hash lookup) instead
    of one ``is_in`` test per group: the stronger plain-polars variant.
    """
    exprs = []
    for f in card.features_:
        fb = card.binner_.bins_[f]
        pts = [int(p) for p in card.points_[f]]
        col = pl.col(f)
        if fb.kind == "numeric":
            e = pl.when(col.is_null() | col.is_nan()).then(pts[fb.missing_bin])
            for k, code in enumerate(fb.specials):
                e = e.when(col == code).then(pts[fb.n_regular + k])
            for k, s in enumerate(fb.splits):
                e = e.when(col < s).then(pts[k])
            exprs.append(e.otherwise(pts[fb.n_regular - 1]).alias(f))
        elif lookup:
            levels = [lv for g in fb.groups for lv in g] + [str(c) for c in fb.specials]
            codes = [k for k, g in enumerate(fb.groups) for _ in g]
            codes += [fb.n_regular + k for k in range(len(fb.specials))]
            mapped = col.replace_strict(
                levels, [pts[c] for c in codes], default=pts[fb.unseen_bin], return_dtype=pl.Int64
            )
            exprs.append(
                pl.when(col.is_null()).then(pts[fb.missing_bin]).otherwise(mapped).alias(f)
            )
        else:
            e = pl.when(col.is_null()).then(pts[fb.missing_bin])
            for k, code in enumerate(fb.specials):
                e = e.when(col == str(code)).then(pts[fb.n_regular + k])
            for k, group in enumerate(fb.groups):
                e = e.when(col.is_in(list(group))).then(pts[k])
            exprs.append(e.otherwise(pts[fb.unseen_bin]).alias(f))
    return exprs


def _run(name: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--measure",
        name,
        "--workdir",
        str(workdir),
        "--peer-rows",
        str(args.peer_rows),
        "--score-rows",
        str(args.score_rows),
    ]
    env = {**os.environ}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    print(f"  running {name} ...", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------- report


def _row(label: str, ours: float, peer: float, fmt: str, ratio: float | None) -> str:
    r = "" if ratio is None else f"{ratio:8.2f}x"
    return f"{label:<44} {ours:>{12}{fmt}} {peer:>{12}{fmt}} {r:>10}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="training rows")
    ap.add_argument("--test-rows", type=int, default=300_000, help="held-out rows for AUC")
    ap.add_argument("--peer-rows", type=int, default=100_000, help="optbinning scorecard rows")
    ap.add_argument("--score-rows", type=int, default=10_000_000, help="rows to score")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-peer", action="store_true", help="skip the optbinning runs")
    ap.add_argument("--workdir", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--measure", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.measure:
        print(json.dumps(measure(args.measure, args.workdir, args)))
        return

    with tempfile.TemporaryDirectory(prefix="bench-scorecard-") as tmp:
        workdir = Path(tmp)
        t0 = time.perf_counter()
        frame, y, pd_true = make_benchmark_data(args.rows + args.test_rows, args.seed)
        full = frame.with_columns(pl.Series("__y", y), pl.Series("__pd", pd_true))
        full.head(args.rows).write_parquet(workdir / "train.parquet")
        full.tail(args.test_rows).write_parquet(workdir / "test.parquet")
        from sklearn.metrics import roc_auc_score

        true_auc = float(roc_auc_score(y[args.rows :], pd_true[args.rows :]))
        print(
            f"data: {args.rows:,} train + {args.test_rows:,} test rows, 25 features, "
            f"bad rate {y.mean():.2%}, generated in {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
        )
        del frame, full

        res: dict[str, dict[str, Any]] = {}
        names = [
            "binning_ours",
            "scorecard_ours",
            "scorecard_ours_peak",
            "scoring_ours",
            "scoring_baseline",
            "scoring_polars_lookup",
        ]
        if not args.skip_peer:
            names[1:1] = ["binning_peer"]
            names.insert(names.index("scorecard_ours") + 1, "scorecard_peer")
        for name in names:
            res[name] = _run(name, workdir, args)

    nan = float("nan")
    bo, bp = res["binning_ours"], res.get("binning_peer", {})
    so, sp = res["scorecard_ours"], res.get("scorecard_peer", {})
    qo, qb, ql = res["scoring_ours"], res["scoring_baseline"], res["scoring_polars_lookup"]
    print()
    print(f"{'measure':<44} {'ours':>12} {'peer':>12} {'peer/ours':>10}")
    print("-" * 81)
    print(f"[1] binning + WoE, {args.rows:,} rows; peer = optbinning BinningProcess")
    print(
        _row(
            "  time (s)",
            bo["seconds"],
            bp.get("seconds", nan),
            ".2f",
            bp.get("seconds", nan) / bo["seconds"],
        )
    )
    print(
        _row(
            "  peak RSS (MB)",
            bo["peak_mb"],
            bp.get("peak_mb", nan),
            ".0f",
            bp.get("peak_mb", nan) / bo["peak_mb"],
        )
    )
    print(
        _row(
            "  peak RSS over loaded data (MB)",
            bo["peak_mb"] - bo["data_mb"],
            bp.get("peak_mb", nan) - bp.get("data_mb", nan),
            ".0f",
            None,
        )
    )
    print(
        _row(
            "  total IV (ours/peer in last column)",
            bo["total_iv"],
            bp.get("total_iv", nan),
            ".4f",
            bo["total_iv"] / bp.get("total_iv", nan),
        )
    )
    print(
        _row(
            "  total IV, num_09 binned as asked 'peak'",
            bo["total_iv_peak_num_09"],
            bp.get("total_iv", nan),
            ".4f",
            bo["total_iv_peak_num_09"] / bp.get("total_iv", nan),
        )
    )
    print(
        f"[2] scorecard fit; ours on {so['rows']:,} rows, peer = optbinning Scorecard on "
        f"{sp.get('rows', 0):,} rows"
    )
    print(
        _row(
            "  fit time (s)",
            so["seconds"],
            sp.get("seconds", nan),
            ".2f",
            sp.get("seconds", nan) / so["seconds"],
        )
    )
    print(_row("  peak RSS (MB)", so["peak_mb"], sp.get("peak_mb", nan), ".0f", None))
    print(
        _row(
            f"  test AUC (true-PD AUC {true_auc:.4f})",
            so["test_auc"],
            sp.get("test_auc", nan),
            ".4f",
            None,
        )
    )
    print(f"    ours kept {so['n_features']} features")
    sk = res["scorecard_ours_peak"]
    print("  ours with monotonic_trend={'num_09': 'peak'} (the U-shaped feature)")
    print(_row("  fit time (s)", sk["seconds"], sp.get("seconds", nan), ".2f", None))
    print(_row("  test AUC", sk["test_auc"], sp.get("test_auc", nan), ".4f", None))
    print(f"[3] scoring {qo['rows']:,} rows; peer = polars when/then chain + sum_horizontal")
    print(_row("  time (s)", qo["seconds"], qb["seconds"], ".2f", qb["seconds"] / qo["seconds"]))
    print(_row("  peak RSS (MB)", qo["peak_mb"], qb["peak_mb"], ".0f", None))
    print(
        _row(
            "  peak RSS over loaded data (MB)",
            qo["peak_mb"] - qo["data_mb"],
            qb["peak_mb"] - qb["data_mb"],
            ".0f",
            None,
        )
    )
    print("  stronger polars variant: when/then for numeric, replace_strict for categorical")
    print(_row("  time (s)", qo["seconds"], ql["seconds"], ".2f", ql["seconds"] / qo["seconds"]))
    same = qo["sha256"] == qb["sha256"] == ql["sha256"]
    print(f"    identical scores: {same}")
    if not same:
        raise SystemExit("scores differ between ours and the baseline")


if __name__ == "__main__":
    main()
