"""The dashboards end to end: a small province, `scoring marts`, `scoring serve`, Chromium.

One server for the module: a province at scale 0.02 goes through generate -> validate ->
rate -> collect, `scoring marts` runs as a subprocess, then every data folder except the
marts is deleted and `scoring serve` starts as a subprocess on a free port. Debian's
Chromium (playwright cannot download browsers here) opens each dashboard. Screenshots go
to ``test-artifacts/`` (git-ignored); nothing else is written into the repository.
"""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import polars as pl
import pytest
from nbclient import NotebookClient

from scoring.config import load_config
from scoring.serve import DASHBOARDS_DIR, ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dashboards-browser")]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
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
# page -> charts it draws from the marts this module builds; the rest are "not yet" cards
PAGES = {"index": 2, "pilot_overview": 5, "sme_credit": 6, "rural_credit": 5}
LATER_MARTS = ("model_health", "pilot_effects")  # written by later steps, absent here

USCC = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Z])")
RESIDENT_ID = re.compile(
    r"(?<!\d)\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?!\d)"
)
HOUSEHOLD_ID = re.compile(r"(?<![0-9A-Z])H\d{16}(?!\d)")
PERSON_NAME = re.compile(
    r"[陈李黄张梁林刘吴罗何郑谢冯王周叶邓杨曾朱][甲乙丙丁戊己庚辛壬癸][一二三四五六七八九十]"
)
FIRM_NAME = re.compile(r"模拟.{0,8}有限公司")

playwright_sync = pytest.importorskip("playwright.sync_api")


@dataclass
class Site:
    """The served dashboards and what must never appear on them."""

    root: Path
    config: Path
    server: ServerProcess
    secrets: frozenset[str]
    log: Path

    def url(self, page: str) -> str:
        return f"{self.server.url}voila/render/{page}.ipynb"


def _build_province(config: Path) -> frozenset[str]:
    """Generate, validate, rate and collect a small province; return its ids and names."""
    from scoring.collect import collect_credit_files
    from scoring.ratings import run_rural_ratings, run_tax_ratings
    from scoring.synth import generate_province
    from scoring.validate import validate_records, write_validated

    cfg = load_config(config)
    p = cfg.paths
    generate_province(cfg, out=p.raw, truth=p.truth, scale=0.02, seed=11, faults=True)
    report = validate_records(p.raw, config=cfg)
    write_validated(report, validated_dir=p.validated, quarantine_dir=p.quarantine, quarantine=True)
    run_tax_ratings(cfg)
    run_rural_ratings(cfg)
    collect_credit_files(cfg)
    ents = pl.read_parquet(p.raw / "enterprises.parquet")
    hh = pl.read_parquet(p.raw / "households.parquet")
    return frozenset(
        str(v)
        for col in (
            ents["credit_code"],
            ents["name"],
            hh["household_id"],
            hh["head_id_number"],
            hh["head_name"],
        )
        for v in col.drop_nulls().to_list()
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("dashboards")
    (root / "configs").mkdir()
    config = root / "configs" / "workbench.toml"
    shutil.copy(PROJECT_ROOT / "configs" / "workbench.toml", config)
    secrets = _build_province(config)
    marts = subprocess.run(
        [str(Path(sys.executable).with_name("scoring")), "--config", str(config), "marts"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert marts.returncode == 0, marts.stderr
    # The dashboards read the marts only: everything else goes.
    cfg = load_config(config)
    for folder in (
        cfg.paths.raw,
        cfg.paths.curated,
        cfg.paths.validated,
        cfg.paths.ratings,
        cfg.paths.quarantine,
        cfg.paths.truth,
    ):
        shutil.rmtree(folder, ignore_errors=True)
    log = root / "serve.log"
    with log.open("wb") as out:
        server = ServerProcess(config, log=out)
        server.start()
        try:
            yield Site(root, config, server, secrets, log)
        finally:
            server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    with playwright_sync.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Opened:
    page: Any
    html: str
    errors: list[str]
    offsite: list[str]


def _open(chromium: Any, site: Site, name: str) -> Opened:
    page = chromium.new_page(viewport={"width": 1360, "height": 900})
    errors: list[str] = []
    offsite: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: (
            offsite.append(r.url)
            if r.url.split(":", 1)[0] in ("http", "https", "ws", "wss")
            and not r.url.startswith(site.server.url)
            else None
        ),
    )
    response = page.goto(site.url(name))
    assert response is not None
    assert response.status == 200
    html = response.text()
    page.wait_for_selector(".gd-page", timeout=60_000)
    page.wait_for_function(
        "n => document.querySelectorAll('.gd-chart .js-plotly-plot').length >= n",
        arg=PAGES[name],
        timeout=60_000,
    )
    return Opened(page, html, errors, offsite)


def _screenshot(page: Any, name: str) -> Path:
    height = page.evaluate("document.querySelector('#rendered_cells').scrollHeight")
    page.set_viewport_size({"width": 1360, "height": int(height) + 40})
    page.wait_for_timeout(500)
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"dashboard_{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _private_hits(text: str, secrets: frozenset[str]) -> list[str]:
    hits = [
        m.group(0)
        for rx in (USCC, RESIDENT_ID, HOUSEHOLD_ID, PERSON_NAME, FIRM_NAME)
        for m in rx.finditer(text)
    ]
    return hits + [s for s in secrets if s in text]


# ----------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("name", list(PAGES))
def test_dashboard_renders_its_charts(chromium: Any, site: Site, name: str) -> None:
    opened = _open(chromium, site, name)
    page = opened.page
    charts = page.locator(".gd-chart .js-plotly-plot").count()
    missing = page.locator(".gd-missing").all_inner_texts()
    assert charts == PAGES[name]
    assert all(any(m in text for m in LATER_MARTS) for text in missing), missing
    body = page.inner_text("body")
    assert "model not found" not in body
    assert "There was an error" not in body
    assert not [e for e in opened.errors if "model not found" in e or "Traceback" in e]
    assert opened.offsite == []  # offline: nothing fetched from the internet
    path = _screenshot(page, name)
    assert path.stat().st_size > 50_000
    # private: no personal data or entity ids anywhere on the page
    assert _private_hits(page.content(), site.secrets) == []
    assert _private_hits(opened.html, site.secrets) == []
    # read-only: the notebook's code is not in the page
    for source in ("board.page(", "load_config(", "from scoring"):
        assert source not in opened.html
    page.close()


def test_region_and_year_filters_update_charts_and_kpis(chromium: Any, site: Site) -> None:
    page = _open(chromium, site, "sme_credit").page
    kpis = page.locator(".gd-kpi")
    trend = page.locator(".gd-chart").nth(2)  # 月度贷款获得率: follows the region
    tiles = page.locator(".gd-chart").nth(0)  # tile map: follows the year
    assert "全省 Guangdong" in kpis.first.inner_text()
    before = trend.locator(".js-plotly-plot").inner_html()
    page.locator(".gd-filter-region select").select_option(index=1)  # 广州 Guangzhou
    # the chart is redrawn once the new figure arrives: wait for the plot itself, with the
    # region's line and the province's in its legend
    page.wait_for_function(
        """() => {
            const chart = document.querySelectorAll('.gd-chart')[2];
            const plot = chart?.querySelector('.js-plotly-plot');
            return !!plot && plot.querySelectorAll('.legendtext').length === 2
                && plot.textContent.includes('广州');
        }""",
        timeout=20_000,
    )
    page.wait_for_function(
        "() => document.querySelector('.gd-kpi')?.innerText.includes('广州 Guangzhou')",
        timeout=20_000,
    )
    assert "广州 Guangzhou" in kpis.first.inner_text()
    assert trend.locator(".js-plotly-plot").inner_html() != before
    assert trend.locator(".legendtext").count() == 2  # the region and the province
    assert "2014年" in tiles.inner_text()
    page.locator(".gd-filter-year button", has_text="2012").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.gd-chart')[0].innerText.includes('2012年')",
        timeout=20_000,
    )
    # the KPI cards follow the year too (each card is its own output: wait for it as well)
    page.wait_for_function(
        "() => document.querySelector('.gd-kpi')?.innerText.includes('2012年')",
        timeout=20_000,
    )
    assert "2012年" in kpis.first.inner_text()
    page.close()


# ----------------------------------------------------------------------------- read-only


REFUSED = [
    ("GET", "/api/contents"),
    ("GET", "/api/contents/index.ipynb"),
    ("PUT", "/api/contents/x.ipynb"),
    ("GET", "/api/kernels"),
    ("POST", "/api/kernels"),
    ("GET", "/api/sessions"),
    ("POST", "/api/sessions"),
    ("GET", "/api/terminals"),
    ("GET", "/lab"),
    ("GET", "/tree"),
    ("GET", "/files/index.ipynb"),
    ("GET", "/terminals/1"),
    ("GET", "/voila/tree"),
    ("GET", "/voila/api/contents"),
    ("GET", "/voila/files/index.ipynb"),
    ("GET", "/voila/files/sme_credit.ipynb"),
]


def _request(site: Site, method: str, path: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(site.server.host, site.server.port, timeout=10)
    try:
        conn.request(method, path, body=b"{}" if method in ("POST", "PUT") else None)
        resp = conn.getresponse()
        resp.read()
    finally:
        conn.close()
    return resp


def _status(site: Site, method: str, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(site.server.host, site.server.port, timeout=10)
    try:
        conn.request(method, path, body=b"{}" if method in ("POST", "PUT") else None)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    return resp.status, body


@pytest.mark.parametrize(("method", "path"), REFUSED)
def test_jupyter_routes_are_refused(site: Site, method: str, path: str) -> None:
    status, body = _status(site, method, path)
    assert status in (403, 404), (method, path, status)
    assert b'"cells"' not in body
    assert b"board.page" not in body


def test_landing_page_is_the_root(site: Site) -> None:
    resp = _request(site, "GET", "/")
    assert resp.status == 302
    assert resp.getheader("Location") == "/voila/render/index.ipynb"


_EXECUTE_JS = """
async ([kernelId, code]) => {
  const ws = new WebSocket(`ws://${location.host}/api/kernels/${kernelId}/channels`);
  const got = [];
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    got.push(m.msg_type + ':' + (m.parent_header.msg_type || ''));
  };
  await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
  const msg = (type, content) => JSON.stringify({
    header: {msg_id: crypto.randomUUID(), msg_type: type, username: 'viewer',
             session: crypto.randomUUID(), date: new Date().toISOString(), version: '5.3'},
    parent_header: {}, metadata: {}, content: content, channel: 'shell', buffers: []});
  ws.send(msg('execute_request', {code: code, silent: false, store_history: false,
                                  user_expressions: {}, allow_stdin: false}));
  ws.send(msg('kernel_info_request', {}));
  await new Promise((ok) => setTimeout(ok, 2500));
  ws.close();
  return got;
}
"""


def test_code_execution_from_the_browser_is_refused(
    chromium: Any, site: Site, tmp_path: Path
) -> None:
    page = _open(chromium, site, "index").page
    kernel_id = page.evaluate(
        "JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId"
    )
    marker = tmp_path / "executed.txt"
    code = f"open({str(marker)!r}, 'w').write('pwned')"
    got = page.evaluate(_EXECUTE_JS, [kernel_id, code])
    # the socket works (kernel_info is answered) but the execute request is dropped
    assert "kernel_info_reply:kernel_info_request" in got
    assert not [m for m in got if m.endswith(":execute_request")]
    assert not marker.exists()
    page.close()


# ----------------------------------------------------------------------------- notebooks


@pytest.mark.parametrize("name", list(PAGES))
def test_dashboard_notebook_executes_with_nbclient(
    site: Site, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCORING_CONFIG", str(site.config))
    nb = nbformat.read(DASHBOARDS_DIR / f"{name}.ipynb", as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 1  # the whole page is one widget (see Board.page)


# ----------------------------------------------------------------------------- shutdown


def test_server_stops_on_sigterm_without_leftover_kernels(
    chromium: Any, site: Site, tmp_path: Path
) -> None:
    """A server of its own (the landing page only), so the test order does not matter."""
    cfg = load_config(site.config)
    assert not cfg.paths.raw.exists()
    assert not cfg.paths.curated.exists()
    folder = tmp_path / "dash"
    folder.mkdir()
    shutil.copy(DASHBOARDS_DIR / "index.ipynb", folder / "index.ipynb")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = ServerProcess(site.config, dashboards=folder, log=out)
        server.start()
        try:
            page = chromium.new_page()
            page.goto(f"{server.url}voila/render/index.ipynb")
            page.wait_for_selector(".gd-chart .js-plotly-plot", timeout=60_000)
            kernels = server.kernel_pids()
            for _ in range(600):  # the viewer's kernel, and the pool refilling behind it
                if len(kernels) >= 2:
                    break
                page.wait_for_timeout(100)
                kernels = server.kernel_pids()
        finally:
            report = server.stop()
    page.close()
    assert len(kernels) >= 2
    assert set(kernels) <= set(report.kernels_before)
    assert report.returncode == 0
    assert report.leftover == ()
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "Dashboards stopped." in text
    # The server itself raised nothing. A kernel still pre-rendering the landing page when
    # SIGTERM arrives may log its interrupted request ("Exception in message handler", from
    # ipykernel's own dispatcher) before it is shut down: that is the kernel, not the server.
    blocks = text.split("Traceback (most recent call last):")[1:]
    server_errors = [b for b in blocks if "ipykernel/kernelbase.py" not in b.split("\n\n")[0]]
    assert server_errors == [], text
