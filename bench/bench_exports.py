"""Benchmark: a bank export of N scored entities (consent filter, disputes, files, manifest).

Builds a synthetic scored table, consents (about 1.3 per entity, mixed statuses) and a
dispute store in a temporary folder, then times ``export_scores`` at permission level 2,
with and without keyed id hashing, and ``verify_export``.

    uv run python bench/bench_exports.py --entities 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from scoring.config import load_config
from scoring.consent import REASON_COLUMNS
from scoring.disputes import DisputeStore
from scoring.exports import export_scores, scored_path, verify_export
from scoring.schema import TABLES

AS_OF = dt.date(2013, 12, 31)


def build(root: Path, n: int, disputes: int, seed: int) -> None:
    cfg = load_config().with_root(root)
    rng = np.random.default_rng(seed)
    ids = pl.Series("entity_id", [f"HH{i:012d}" for i in range(n)])
    scored = pl.DataFrame(
        {
            "entity_id": ids,
            "segment": "household",
            "as_of": AS_OF,
            "region_code": "440101",
            "score": pl.Series(rng.integers(300, 900, n), dtype=pl.Int32),
            "grade": pl.Series(rng.choice(["AAA", "AA", "A", "below"], n)),
            "pd": rng.random(n) * 0.2,
            **{
                c: "近12个月最长逾期天数" if c.endswith("_zh") else "MAX_DPD_12M"
                for c in REASON_COLUMNS
            },
            "model_name": "household-credit",
            "model_version": "1",
            "run_id": "0" * 32,
        }
    )
    path = scored_path(cfg, segment="household", as_of=AS_OF)
    path.parent.mkdir(parents=True)
    scored.write_parquet(path)
    m = int(n * 1.3)
    granted = np.datetime64("2012-01-01") + rng.integers(0, 800, m)
    consents = pl.DataFrame(
        {
            "consent_id": [f"CS{i:012d}" for i in range(m)],
            "entity_type": "household",
            "entity_id": ids.gather(rng.integers(0, n, m)),
            "bank_code": pl.Series(rng.choice(["ICBCGD", "GDRCU"], m)),
            "purpose": pl.Series(rng.choice(["credit_approval", "guarantee"], m, p=[0.8, 0.2])),
            "granted_date": pl.Series(granted).cast(pl.Date),
            "expiry_date": pl.Series(granted + 365 * rng.integers(1, 3, m)).cast(pl.Date),
            "withdrawn_date": pl.Series(
                np.where(rng.random(m) < 0.05, granted + 100, np.datetime64("NaT"))
            ).cast(pl.Date),
        },
        schema_overrides=TABLES["consents"].schema,
    )
    cfg.paths.validated.mkdir(parents=True)
    consents.write_parquet(cfg.paths.validated / "consents.parquet")
    store = DisputeStore.from_config(cfg)
    table = pl.DataFrame(
        {
            "dispute_id": [f"DS{i:08d}" for i in range(disputes)],
            "entity_type": "household",
            "entity_id": ids.gather(rng.integers(0, n, disputes)),
            "source_table": "loans",
            "source_record_id": [f"L{i}" for i in range(disputes)],
            "opened_date": pl.Series(
                np.datetime64("2013-06-01") + rng.integers(0, 300, disputes)
            ).cast(pl.Date),
            "reason": "wrong amount",
            "resolved_date": pl.Series([None] * disputes, dtype=pl.Date),
            "outcome": pl.Series([None] * disputes, dtype=pl.String),
        },
        schema_overrides=TABLES["disputes"].schema,
    )
    start = time.perf_counter()
    store.import_table(table, origin="import:bench")
    print(f"dispute import: {disputes} disputes in {time.perf_counter() - start:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--disputes", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        build(root, args.entities, args.disputes, args.seed)
        print(f"setup: {args.entities} scored entities in {time.perf_counter() - start:.1f} s")
        cfg = load_config().with_root(root)
        for hashing in (False, True):
            if hashing:
                os.environ["SCORING_EXPORT_ID_KEY"] = "bench-key-0123456789abcdef"
            start = time.perf_counter()
            res = export_scores(
                cfg, bank="ICBCGD", segment="household", as_of=AS_OF, hash_ids=hashing
            )
            secs = time.perf_counter() - start
            print(
                f"export (level 2, hash_ids={hashing}): {res.rows_exported} of "
                f"{args.entities} rows in {secs:.2f} s "
                f"({args.entities / secs:,.0f} scored rows/s); excluded {dict(res.excluded)}"
            )
        start = time.perf_counter()
        verify_export(res.path)
        print(f"verify: {time.perf_counter() - start:.2f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
