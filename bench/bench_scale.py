"""Benchmark: scoring and exporting a province-sized snapshot (10 million SMEs) on one machine.

How the data is made: the full raw province at 10 million entities would not fit on this
machine's disk comfortably (and generating it takes hours), so the benchmark generates a
small province (``--base-scale``, default 0.1: about 2,000 SMEs), runs the real chain on it
(validate, tax ratings, credit files) and trains the SME champion (``--model``, default the
scorecard) into a temporary MLflow store. The credit file of the scored snapshot
(2013-12-31) is then *replicated* to ``--entities`` rows: each row is a base row drawn at
random, its float features jittered by a log-normal factor (sd 0.05, so bins and reasons
vary), under a new entity id ``BENCH<13 digits>`` (sorted, as ``scoring collect`` writes).
It is written 1 million rows at a time, so building it needs little memory. Consents (80 %
of the entities, for ICBCGD, permission level 2) go to the validated folder.

Each measured step runs in a fresh subprocess, which reports its wall time and its own peak
resident memory (``VmHWM``; the Spark figure is the driver's, not the JVM's):

* ``score``: ``scoring.batch.score_snapshot`` end to end (load the champion, stream the credit
  file, score, write the scored table, the health rows and the mart);
* ``export``: ``scoring.exports.export_scores`` of that scored table (Parquet + CSV + manifest);
* ``in-memory``: the pure scoring rate, ``score_frame`` on a ``--slice`` of rows already in
  memory (no I/O), for comparison;
* with ``--spark``: ``score_snapshot(engine="spark", master=--master)`` on
  ``--spark-entities`` rows (default 1 million) beside the in-process figure on the same rows.

Run it under the shared lock on the build machine::

    flock /tmp/gdcredit-bench.lock uv run python bench/bench_scale.py              # 10M
    flock /tmp/gdcredit-bench.lock uv run python bench/bench_scale.py --spark      # + Spark 1M
    uv run python bench/bench_scale.py --entities 200000 --spark-entities 50000 --spark  # quick

Everything is written to a temporary folder removed afterwards (``--keep DIR`` keeps it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AS_OF = dt.date(2013, 12, 31)
BANK = "ICBCGD"
CHUNK = 1_000_000


def _cfg(root: Path):  # type: ignore[no-untyped-def]
    from scoring.config import load_config

    return load_config().with_root(root)


def build_base(root: Path, *, scale: float, seed: int, model: str) -> None:
    """A small province through the real chain, and its SME champion in a fresh store."""
    from scoring.collect import collect_credit_files
    from scoring.lifecycle import register_run
    from scoring.ratings import run_tax_ratings
    from scoring.synth import generate_province
    from scoring.tracking import train_and_log
    from scoring.validate import validate_records, write_validated

    cfg = _cfg(root)
    generate_province(
        cfg, out=cfg.paths.raw, truth=cfg.paths.truth, scale=scale, seed=seed, faults=True
    )
    report = validate_records(cfg.paths.raw, config=cfg)
    write_validated(
        report,
        validated_dir=cfg.paths.validated,
        quarantine_dir=cfg.paths.quarantine,
        quarantine=True,
    )
    run_tax_ratings(cfg)
    collect_credit_files(cfg)
    register_run(cfg, train_and_log(cfg, segment="sme", model_type=model))


def build_scaled(base: Path, root: Path, *, n: int, seed: int) -> None:
    """``n`` SMEs on AS_OF replicated from the base snapshot, consents, the base's store."""
    import numpy as np
    import polars as pl

    from scoring.schema import TABLES
    from scoring.storage import parquet_batches

    src, cfg = _cfg(base), _cfg(root)
    rows = pl.read_parquet(src.paths.curated / "sme_credit_files.parquet").filter(
        pl.col("snapshot_date") == AS_OF
    )
    floats = [c for c, t in rows.schema.items() if t in (pl.Float32, pl.Float64)]
    rng = np.random.default_rng(seed)
    with parquet_batches(cfg.paths.curated / "sme_credit_files.parquet") as write:
        for start in range(0, n, CHUNK):
            size = min(CHUNK, n - start)
            chunk = rows[rng.integers(0, rows.height, size)]
            jitter = {c: np.exp(rng.normal(0.0, 0.05, size)) for c in floats}
            chunk = chunk.with_columns(
                pl.format(
                    "BENCH{}", pl.int_range(start, start + size).cast(pl.String).str.zfill(13)
                ).alias("entity_id"),
                *[(pl.col(c) * pl.Series(jitter[c])).alias(c) for c in floats],
            )
            write(chunk)
    ids = pl.int_range(0, n, eager=True)
    keep = ids.filter(pl.Series(rng.random(n) < 0.8))
    consents = pl.DataFrame({"i": keep}).select(
        pl.format("CS{}", pl.col("i").cast(pl.String).str.zfill(12)).alias("consent_id"),
        pl.lit("sme").alias("entity_type"),
        pl.format("BENCH{}", pl.col("i").cast(pl.String).str.zfill(13)).alias("entity_id"),
        pl.lit(BANK).alias("bank_code"),
        pl.lit("credit_approval").alias("purpose"),
        pl.lit(dt.date(2013, 1, 1)).alias("granted_date"),
        pl.lit(dt.date(2015, 1, 1)).alias("expiry_date"),
        pl.lit(None, dtype=pl.Date).alias("withdrawn_date"),
    )
    cfg.paths.validated.mkdir(parents=True, exist_ok=True)
    consents.cast(TABLES["consents"].schema).write_parquet(cfg.paths.validated / "consents.parquet")  # type: ignore[arg-type]
    cfg.paths.mlruns.mkdir(parents=True, exist_ok=True)
    # the artifacts stay where the base store put them (absolute paths in the database)
    shutil.copy(src.paths.mlruns / "mlflow.db", cfg.paths.mlruns / "mlflow.db")


# -- the measured steps, each in its own process -------------------------------------------


def _peak_kb() -> int:
    """This process's peak resident memory in KiB.

    ``VmHWM`` where there is one (Linux): ``ru_maxrss`` survives ``exec`` and would report
    the parent's peak (which holds the 10M consents it wrote) for a smaller child.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _step(step: str, root: Path, args: argparse.Namespace) -> dict[str, object]:
    cfg = _cfg(root)
    t0 = time.perf_counter()
    if step in ("score", "score-spark"):
        from scoring.batch import score_snapshot

        r = score_snapshot(
            cfg,
            segment="sme",
            as_of=AS_OF,
            batch_rows=args.batch_rows,
            engine="spark" if step == "score-spark" else "polars",
            master=args.master if step == "score-spark" else None,
        )
        rows = r.rows
        extra: dict[str, object] = {"model": f"{r.model_name} v{r.model_version}"}
    elif step == "export":
        from scoring.exports import export_scores

        e = export_scores(cfg, bank=BANK, segment="sme", as_of=AS_OF)
        rows = e.rows_exported + sum(e.excluded.values())
        extra = {"exported": e.rows_exported}
    elif step == "in-memory":
        import polars as pl

        from scoring.batch import input_columns, score_frame
        from scoring.lifecycle import load_by_alias

        loaded = load_by_alias(cfg, segment="sme")
        frame = (
            pl.scan_parquet(cfg.paths.curated / "sme_credit_files.parquet")
            .head(args.slice)
            .select(input_columns("sme"))
            .collect()
        )
        stamp = {"model_name": "m", "model_version": "1", "run_id": "r"}
        score_frame(frame.head(1000), loaded.model, segment="sme", as_of=AS_OF, **stamp)
        t0 = time.perf_counter()
        score_frame(frame, loaded.model, segment="sme", as_of=AS_OF, **stamp)
        rows = frame.height
        extra = {}
    else:
        raise SystemExit(f"unknown step {step!r}")
    wall = time.perf_counter() - t0
    return {
        "step": step,
        "rows": rows,
        "seconds": round(wall, 2),
        "rows_per_second": round(rows / wall),
        "peak_mb": round(_peak_kb() / 1024),
        **extra,
    }


def run_step(step: str, root: Path, args: argparse.Namespace) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["SCORING_PROGRESS"] = "0"
    cmd = [sys.executable, __file__, "--step", step, "--root", str(root)]
    cmd += ["--batch-rows", str(args.batch_rows), "--slice", str(args.slice)]
    cmd += ["--master", args.master]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{step} failed:\n{proc.stderr[-4000:]}")
    out: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"{step:>11}: {out['rows']:>11,} rows in {out['seconds']:>8.1f} s = "
        f"{out['rows_per_second']:>9,} rows/s, peak {out['peak_mb']:>6,} MB",
        flush=True,
    )
    return out


def scale_step(top: Path, args: argparse.Namespace) -> None:
    """Score and export ``--entities`` SMEs; the in-memory rate on a slice."""
    t0 = time.perf_counter()
    big = top / f"n{args.entities}"
    build_scaled(top / "base", big, n=args.entities, seed=args.seed)
    size = (big / "data" / "curated" / "sme_credit_files.parquet").stat().st_size
    print(
        f"credit file of {args.entities:,} SMEs ({size / 2**20:,.0f} MB) built in "
        f"{time.perf_counter() - t0:.0f} s"
    )
    score = run_step("score", big, args)
    export = run_step("export", big, args)
    run_step("in-memory", big, args)
    wall = float(str(score["seconds"])) + float(str(export["seconds"]))
    peak = max(int(str(score["peak_mb"])), int(str(export["peak_mb"])))
    print(
        f"  end to end: score + export of {args.entities:,} SMEs in {wall:.1f} s = "
        f"{args.entities / wall:,.0f} rows/s; peak {peak:,} MB"
    )


def spark_step(top: Path, args: argparse.Namespace) -> None:
    """Spark (``--master``) beside the in-process path on ``--spark-entities`` SMEs."""
    small = top / f"n{args.spark_entities}"
    build_scaled(top / "base", small, n=args.spark_entities, seed=args.seed)
    here = run_step("score", small, args)
    spark = run_step("score-spark", small, args)
    ratio = float(str(spark["seconds"])) / float(str(here["seconds"]))
    print(f"  Spark {args.master} / in-process on {args.spark_entities:,} rows: {ratio:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--entities", type=int, default=10_000_000, help="SMEs scored and exported (0: skip)"
    )
    parser.add_argument("--slice", type=int, default=500_000, help="rows of the in-memory rate")
    parser.add_argument("--batch-rows", type=int, default=200_000)
    parser.add_argument("--spark", action="store_true", help="also Spark vs in-process")
    parser.add_argument("--spark-entities", type=int, default=1_000_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--base-scale", type=float, default=0.1)
    parser.add_argument("--model", choices=["scorecard", "gbm"], default="scorecard")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, default=None, help="keep the data in this folder")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(_step(args.step, args.root, args)))
        return

    os.environ.pop("MLFLOW_TRACKING_URI", None)
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    top = args.keep or tmp
    try:
        t0 = time.perf_counter()
        build_base(top / "base", scale=args.base_scale, seed=args.seed, model=args.model)
        took = time.perf_counter() - t0
        print(f"base province (scale {args.base_scale}) and its champion in {took:.0f} s")
        if args.entities > 0:
            scale_step(top, args)
        if args.spark:
            spark_step(top, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
