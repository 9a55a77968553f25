"""Time from page request to first chart visible, per dashboard, in a real browser.

Builds a synthetic province (generate -> validate -> rate -> collect -> `scoring marts`)
in a temporary folder, or reuses ``--root`` when it already holds marts, starts
`scoring serve` as a subprocess (pre-heated kernels, as in production) and opens every
dashboard in Debian's Chromium, each visit in a fresh browser context (cold cache).
Visits go round the dashboards so that each one's kernel pool refills in between.

    uv run python bench/bench_dashboards.py                 # scale 0.2, 3 rounds
    uv run python bench/bench_dashboards.py --scale 1 --repeat 5
    flock /tmp/gdcredit-bench.lock uv run python bench/bench_dashboards.py
    uv run python bench/bench_dashboards.py --scale 1 --screenshots docs/screenshots

Target: under 5 s to the first chart on this machine.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from scoring.config import load_config
from scoring.marts import build_marts, marts_manifest
from scoring.serve import ServerProcess

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PAGES = ("index", "pilot_overview", "sme_credit", "rural_credit")
TARGET_S = 5.0
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def build_province(root: Path, *, scale: float, seed: int) -> Path:
    """A province under ``root`` with its marts; returns the config file."""
    from scoring.collect import collect_credit_files
    from scoring.ratings import run_rural_ratings, run_tax_ratings
    from scoring.synth import generate_province
    from scoring.validate import validate_records, write_validated

    (root / "configs").mkdir(parents=True, exist_ok=True)
    config = root / "configs" / "workbench.toml"
    shutil.copy(PROJECT_ROOT / "configs" / "workbench.toml", config)
    cfg = load_config(config)
    p = cfg.paths
    t0 = time.perf_counter()
    generate_province(cfg, out=p.raw, truth=p.truth, scale=scale, seed=seed, faults=True)
    report = validate_records(p.raw, config=cfg)
    write_validated(report, validated_dir=p.validated, quarantine_dir=p.quarantine, quarantine=True)
    run_tax_ratings(cfg)
    run_rural_ratings(cfg)
    collect_credit_files(cfg)
    t1 = time.perf_counter()
    summary = build_marts(cfg)
    t2 = time.perf_counter()
    print(
        f"province at scale {scale}: {t1 - t0:.1f} s; marts: {t2 - t1:.1f} s "
        f"({summary.rows} rows, {summary.suppressed} suppressed)"
    )
    return config


def first_chart_seconds(browser: Any, url: str, *, timeout_ms: int) -> float:
    """Seconds from the request to the first plotly chart on screen (fresh context)."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(".js-plotly-plot", state="visible", timeout=timeout_ms)
    seconds = time.perf_counter() - t0
    context.close()
    return seconds


def screenshot(browser: Any, url: str, path: Path) -> None:
    """A full-page screenshot of one dashboard (for the README)."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector(".gd-page", timeout=60_000)
    page.wait_for_timeout(2500)  # let every chart draw
    height = page.evaluate("document.querySelector('#rendered_cells').scrollHeight")
    page.set_viewport_size({"width": 1360, "height": int(height) + 40})
    page.wait_for_timeout(500)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    context.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.2, help="province scale (1.0 = full)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeat", type=int, default=3, help="visits per dashboard")
    ap.add_argument("--root", type=Path, default=None, help="reuse or keep this folder")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--warmup", type=float, default=20.0, help="seconds for the pools to fill")
    ap.add_argument("--pause", type=float, default=2.0, help="seconds between visits")
    ap.add_argument("--screenshots", type=Path, default=None, help="save one PNG per dashboard")
    args = ap.parse_args(argv)

    tmp = None
    root = args.root
    if root is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench-dashboards-")
        root = Path(tmp.name)
    config = root / "configs" / "workbench.toml"
    if not (config.is_file() and marts_manifest(load_config(config)).get("built_at")):
        config = build_province(root, scale=args.scale, seed=args.seed)
    times: dict[str, list[float]] = {p: [] for p in PAGES}
    with (root / "serve.log").open("wb") as log:
        server = ServerProcess(config, log=log)
        t0 = time.perf_counter()
        server.start()
        print(
            f"server answering after {time.perf_counter() - t0:.1f} s; "
            f"waiting {args.warmup:.0f} s for the pre-heated kernels"
        )
        time.sleep(args.warmup)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
                for _ in range(args.repeat):
                    for page in PAGES:
                        url = f"{server.url}voila/render/{page}.ipynb"
                        times[page].append(first_chart_seconds(browser, url, timeout_ms=60_000))
                        time.sleep(args.pause)
                if args.screenshots is not None:
                    for page in PAGES:
                        path = args.screenshots / f"dashboard_{page}.png"
                        screenshot(browser, f"{server.url}voila/render/{page}.ipynb", path)
                        print(f"screenshot: {path}")
                        time.sleep(args.pause)
                browser.close()
        finally:
            report = server.stop()
    print(f"\n{'dashboard':<16}{'min s':>8}{'median s':>10}{'max s':>8}  target < {TARGET_S:.0f} s")
    ok = True
    for page, ts in times.items():
        med = statistics.median(ts)
        ok = ok and med < TARGET_S
        verdict = "ok" if med < TARGET_S else "SLOW"
        print(f"{page:<16}{min(ts):>8.2f}{med:>10.2f}{max(ts):>8.2f}  {verdict}")
    print(
        f"\nserver stopped (exit {report.returncode}); kernels before stop: "
        f"{len(report.kernels_before)}, left over: {len(report.leftover)}"
    )
    if tmp is not None:
        tmp.cleanup()
    return 0 if ok and not report.leftover else 1


if __name__ == "__main__":
    sys.exit(main())
