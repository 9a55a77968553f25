"""Benchmark: generate the synthetic province at several scales.

Each scale runs in a fresh subprocess (so the peak memory is that run's own), which
reports rows, seconds inside ``generate_province`` and its peak resident memory
(``ru_maxrss``). Run it under the shared lock on the build machine::

    flock /tmp/gdcredit-bench.lock uv run python bench/bench_generate.py --scales 1 10

Output goes to a temporary folder that is removed afterwards (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _child(scale: float, seed: int, faults: bool, root: Path) -> None:
    from scoring.config import load_config
    from scoring.synth import generate_province

    t0 = time.perf_counter()
    s = generate_province(
        load_config(),
        out=root / "raw",
        truth=root / "truth",
        scale=scale,
        seed=seed,
        faults=faults,
    )
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = sum(p.stat().st_size for p in (root / "raw").iterdir())
    print(
        json.dumps(
            {
                "scale": scale,
                "smes": s.smes,
                "households": s.households,
                "rows": s.total_rows,
                "rows_by_table": s.rows,
                "faults": s.faults,
                "seconds": round(wall, 2),
                "rows_per_second": round(s.total_rows / wall),
                "peak_mb": round(peak_kb / 1024),
                "disk_mb": round(size / 2**20, 1),
                "ceiling": s.ceiling,
                "default_rate": s.default_rate,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-faults", action="store_true", help="generate without faults")
    parser.add_argument("--keep", type=Path, default=None, help="keep the output under this folder")
    parser.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _child(args.child, args.seed, not args.no_faults, args.root)
        return

    env = {**os.environ, "SCORING_PROGRESS": "0"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    print(
        f"{'scale':>6} {'entities':>10} {'rows':>12} {'seconds':>8} {'rows/s':>11} {'peak MB':>8}"
    )
    for scale in args.scales:
        with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
            root = (args.keep / f"scale-{scale:g}") if args.keep else Path(tmp)
            cmd = [sys.executable, __file__, "--child", str(scale), "--seed", str(args.seed)]
            cmd += ["--root", str(root)] + (["--no-faults"] if args.no_faults else [])
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.exit(f"scale {scale:g} failed:\n{done.stderr}")
            r = json.loads(done.stdout.strip().splitlines()[-1])
        entities = r["smes"] + r["households"]
        print(
            f"{scale:>6g} {entities:>10,} {r['rows']:>12,} {r['seconds']:>8.1f} "
            f"{r['rows_per_second']:>11,} {r['peak_mb']:>8,}"
        )
        print(
            f"       disk {r['disk_mb']} MB, faults {r['faults']:,}, ceiling {r['ceiling']}, "
            f"default rate {r['default_rate']}"
        )
        print("       rows: " + ", ".join(f"{k} {v:,}" for k, v in r["rows_by_table"].items()))


if __name__ == "__main__":
    main()
