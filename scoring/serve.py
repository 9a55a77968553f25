"""Serving the leadership dashboards with Voila: local, read-only, preheated, culled.

:func:`serve_dashboards` runs Voila standalone (never as a Jupyter server extension, whose
contents and kernels APIs would let a viewer read files and run code) on the
``dashboards/`` folder:

* on ``127.0.0.1:8866`` by default; the address is printed once the port is known free;
* one preheated kernel per dashboard (``--preheat_kernel=True --pool_size=1``), so a page
  opens on an already executed notebook; idle kernels are culled;
* no tracebacks shown to viewers; JupyterLab-only front-end extensions are not loaded,
  and the page template (``gdcredit``) fetches nothing from the internet;
* hardened routes: ``/`` opens the landing dashboard (``index.ipynb``); Jupyter's and
  Voila's file, tree, contents, sessions, terminals and kernel-list routes answer 403;
  the kernel websocket accepts only widget (comm) messages, so an ``execute_request``
  from a browser is dropped;
* ``SCORING_CONFIG`` is set for the kernels, so the dashboards read the marts of the
  configuration being served;
* Ctrl-C or SIGTERM shuts every kernel down (kernels run in their own sessions and would
  outlive the server otherwise); any kernel process still alive afterwards is killed.

Voila is imported inside the functions that need it: ``scoring`` imports without the
``dashboards`` extra.

Examples
--------
>>> args = voila_arguments(Path("dashboards"), host="127.0.0.1", port=8866)
>>> args[0], "--preheat_kernel=True" in args, "--show_tracebacks=False" in args
('dashboards', True, True)
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from scoring.config import PROJECT_ROOT, WorkbenchConfig
from scoring.exceptions import ConfigError, InputFileError, MissingExtraError

__all__ = [
    "DASHBOARDS_DIR",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "LANDING_PAGE",
    "REFUSED_ROUTES",
    "TEMPLATE_NAME",
    "ServerProcess",
    "StopReport",
    "dashboard_url",
    "free_port",
    "serve_dashboards",
    "voila_arguments",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8866
DASHBOARDS_DIR = PROJECT_ROOT / "dashboards"
"""The dashboard notebooks served by default."""
LANDING_PAGE = "index.ipynb"
"""The dashboard ``/`` opens: it lists the others."""
TEMPLATE_NAME = "gdcredit"
"""The Voila template of the workbench (``scoring/voila_template``)."""
_TEMPLATE_ROOT = Path(__file__).resolve().parent / "voila_template"

REFUSED_ROUTES: tuple[str, ...] = (
    r"/api/contents(?:/.*)?",
    r"/api/kernels/?",
    r"/api/kernelspecs(?:/.*)?",
    r"/api/sessions(?:/.*)?",
    r"/api/terminals(?:/.*)?",
    r"/api/config(?:/.*)?",
    r"/lab(?:/.*)?",
    r"/tree(?:/.*)?",
    r"/notebooks(?:/.*)?",
    r"/edit(?:/.*)?",
    r"/files(?:/.*)?",
    r"/terminals(?:/.*)?",
    r"/voila/tree(?:/.*)?",
    r"/voila/api/contents(?:/.*)?",
)
"""URL patterns (relative to the base URL) that answer 403 Forbidden."""

# Front-end extensions the pages do not need (JupyterLab-only, and failing in Voila).
_DENIED_EXTENSIONS = ("jupyterlab-jupytext", "@voila-dashboards/jupyterlab-preview")


def voila_arguments(
    dashboards: Path,
    *,
    host: str,
    port: int,
    cull_idle_seconds: int = 120,
    cull_interval_seconds: int = 30,
) -> list[str]:
    """The Voila command-line arguments :func:`serve_dashboards` runs with.

    Examples
    --------
    >>> [a for a in voila_arguments(Path("d"), host="0.0.0.0", port=9000) if "9000" in a]
    ['--port=9000']
    """
    args = [
        str(dashboards),
        "--no-browser",
        f"--port={port}",
        "--Voila.port_retries=0",
        f"--Voila.ip={host}",
        "--preheat_kernel=True",
        "--pool_size=1",
        "--show_tracebacks=False",
        f"--template={TEMPLATE_NAME}",
        "--theme=light",
        f"--MappingKernelManager.cull_idle_timeout={cull_idle_seconds}",
        f"--MappingKernelManager.cull_interval={cull_interval_seconds}",
    ]
    args += [f"--VoilaConfiguration.extension_denylist={e}" for e in _DENIED_EXTENSIONS]
    return args


def dashboard_url(host: str, port: int, notebook: str | None = None) -> str:
    """The address of the server, or of one dashboard on it.

    Examples
    --------
    >>> dashboard_url("127.0.0.1", 8866)
    'http://127.0.0.1:8866/'
    >>> dashboard_url("127.0.0.1", 8866, "sme_credit.ipynb")
    'http://127.0.0.1:8866/voila/render/sme_credit.ipynb'
    """
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}/"
    return base if notebook is None else f"{base}voila/render/{notebook}"


def _check_port(host: str, port: int) -> None:
    if not 0 < port < 65536:
        raise ConfigError(f"'port' must be an integer in 1..65535; got {port!r}.")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            why = "in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            raise ConfigError(
                f"'port' must be free on {host}; got {port} ({why}); pass --port with another."
            ) from None


def _voila_class() -> type[Any]:
    """Voila with the workbench's routes: landing redirect and refused routes."""
    try:
        import tornado.web
        from jupyter_server.utils import url_path_join
        from voila.app import Voila  # type: ignore[import-untyped]
        from voila.tornado.contentshandler import (  # type: ignore[import-untyped]
            VoilaContentsHandler,
        )
        from voila.tornado.treehandler import (  # type: ignore[import-untyped]
            TornadoVoilaTreeHandler,
        )
    except ImportError as exc:
        raise MissingExtraError(
            "'voila' must be installed to serve the dashboards; got "
            f"{exc.name or exc}: install the extra with `uv sync --extra dashboards` "
            "(or `pip install 'gd-credit-workbench[dashboards]'`)."
        ) from None

    class RefusedHandler(tornado.web.RequestHandler):
        """Answers 403 to every method: the dashboards are read-only."""

        def prepare(self) -> None:
            raise tornado.web.HTTPError(403)

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish("403 Forbidden: read-only dashboards / 只读看板\n")

    class DashboardVoila(Voila):  # type: ignore[misc]
        """Voila serving a dashboards folder with hardened routes."""

        def init_handlers(self) -> list[Any]:
            dropped = (VoilaContentsHandler, TornadoVoilaTreeHandler)
            kept = [h for h in super().init_handlers() if h[1] not in dropped]
            refused = [(url_path_join(self.server_url, r), RefusedHandler) for r in REFUSED_ROUTES]
            landing = url_path_join(self.server_url, "voila/render", LANDING_PAGE)
            home = [
                (self.server_url, tornado.web.RedirectHandler, {"url": landing, "permanent": False})
            ]
            return [*refused, *kept, *home]

    return DashboardVoila


def _kill_leftover_children(timeout: float = 5.0) -> int:
    """Terminate (then kill) every child process still alive; returns how many there were."""
    import psutil  # type: ignore[import-untyped]

    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.terminate()
    _, alive = psutil.wait_procs(children, timeout=timeout)
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    psutil.wait_procs(alive, timeout=timeout)
    return len(children)


def serve_dashboards(
    config: WorkbenchConfig,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    dashboards: Path | None = None,
    cull_idle_seconds: int = 120,
    announce: Callable[[str], None] = print,
    extra_args: Sequence[str] = (),
) -> None:
    """Serve the dashboards until Ctrl-C or SIGTERM, then stop every kernel.

    Parameters
    ----------
    config
        The configuration whose marts the dashboards read (passed to the kernels as
        ``SCORING_CONFIG``).
    host, port
        Where to listen; ``127.0.0.1:8866`` by default (local viewers only).
    dashboards
        The folder of dashboard notebooks; default ``dashboards/`` of the project.
    cull_idle_seconds
        Idle kernels are shut down after this long.
    announce
        Receives the lines to show the user (the address first).
    extra_args
        More Voila arguments (e.g. ``--debug``).

    Raises
    ------
    MissingExtraError
        Voila is not installed (the ``dashboards`` extra).
    InputFileError
        The dashboards folder or its landing page is missing.
    ConfigError
        The port is taken or invalid.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> serve_dashboards(load_config(), dashboards=Path("/nonexistent"))
    Traceback (most recent call last):
    ...
    scoring.exceptions.InputFileError: 'dashboards' must be a folder holding index.ipynb; ...
    """
    folder = (dashboards or DASHBOARDS_DIR).resolve()
    if not (folder / LANDING_PAGE).is_file():
        raise InputFileError(
            f"'dashboards' must be a folder holding {LANDING_PAGE}; got {str(folder)!r}."
        )
    if cull_idle_seconds < 1:
        raise ConfigError(f"'cull_idle_seconds' must be an integer >= 1; got {cull_idle_seconds}.")
    app_class = _voila_class()
    _check_port(host, port)
    os.environ["SCORING_CONFIG"] = str(config.source.resolve())
    # Kernels inherit the environment: bytecode caching keeps their imports fast.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    jupyter_path = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(_TEMPLATE_ROOT), jupyter_path) if p
    )
    if not config.paths.marts.is_dir():
        announce(f"note: no marts in {config.paths.marts} yet; run `scoring marts` to fill them.")
    app = app_class()
    argv = [
        *voila_arguments(folder, host=host, port=port, cull_idle_seconds=cull_idle_seconds),
        *extra_args,
    ]
    app.initialize(argv)
    announce(f"Dashboards 看板: {dashboard_url(host, port)}  (Ctrl-C to stop)")
    from tornado.web import HTTPError

    try:
        app.start()  # returns after Ctrl-C or SIGTERM, once Voila has shut its kernels down
    except HTTPError as exc:
        # Voila's shutdown asks for every kernel by id; a pre-heated kernel that was still
        # starting is not registered yet, so the request fails with 404. That kernel is a
        # child process like the others and is stopped below.
        if exc.status_code != 404:
            raise
    finally:
        leftover = _kill_leftover_children()
        if leftover:
            announce(f"stopped {leftover} leftover kernel process(es)")
        announce("Dashboards stopped.")


# --------------------------------------------------------------------------- in a subprocess


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port free on ``host`` right now (for tests and benchmarks).

    Examples
    --------
    >>> 0 < free_port() < 65536
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True, slots=True)
class StopReport:
    """How a :class:`ServerProcess` ended: its exit code, and kernels that outlived it."""

    returncode: int | None
    kernels_before: tuple[int, ...]
    leftover: tuple[int, ...]


def _alive(pid: int) -> bool:
    import psutil

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


class ServerProcess:
    """``scoring serve`` run as a real subprocess, as a user would (benchmarks, smoke tests).

    ``start()`` waits until the server answers; ``stop()`` sends SIGTERM (as a service
    manager would) and reports the kernel processes that outlived it.

    Parameters
    ----------
    config_path
        The TOML file the server (and its kernels) use.
    host, port
        Where to listen; ``port=None`` picks a free one.
    dashboards
        Folder of dashboard notebooks (default: the project's).
    log
        Where the server's output goes (default: discarded).

    Examples
    --------
    >>> server = ServerProcess(Path("configs/workbench.toml"), port=8899)
    >>> server.url
    'http://127.0.0.1:8899/'
    """

    def __init__(
        self,
        config_path: Path,
        *,
        host: str = DEFAULT_HOST,
        port: int | None = None,
        dashboards: Path | None = None,
        log: IO[bytes] | None = None,
    ) -> None:
        self.config_path = Path(config_path)
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.dashboards = dashboards
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's address."""
        return dashboard_url(self.host, self.port)

    def start(self, *, timeout: float = 120.0) -> str:
        """Start the server and wait until it answers; returns its address."""
        script = Path(sys.executable).with_name("scoring")  # the console script, as users run it
        launcher = [str(script)] if script.is_file() else [sys.executable, "-m", "scoring.cli"]
        cmd = [
            *launcher,
            "--config",
            str(self.config_path),
            "serve",
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        if self.dashboards is not None:
            cmd += ["--dashboards", str(self.dashboards)]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        out = self.log if self.log is not None else subprocess.DEVNULL
        self.process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise InputFileError(
                    f"'scoring serve' must keep running; it exited with {self.process.returncode}."
                )
            conn = http.client.HTTPConnection(self.host, self.port, timeout=2)
            try:
                conn.request("GET", "/")
                status = conn.getresponse().status
            except OSError:
                status = None
            finally:
                conn.close()
            if status in (200, 301, 302):
                return self.url
            time.sleep(0.25)
        self.stop()
        raise InputFileError(f"'scoring serve' must answer within {timeout:.0f} s; it did not.")

    def kernel_pids(self) -> list[int]:
        """Process ids of the kernels the server runs now."""
        import psutil

        if self.process is None or self.process.poll() is not None:
            return []
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        return [c.pid for c in children if "ipykernel" in " ".join(_cmdline(c))]

    def stop(self, *, timeout: float = 30.0, sig: int = signal.SIGTERM) -> StopReport:
        """Send ``sig`` (SIGTERM by default) and wait; report kernels left alive."""
        if self.process is None:
            return StopReport(None, (), ())
        kernels = tuple(self.kernel_pids())
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        deadline = time.monotonic() + 5.0
        while any(_alive(p) for p in kernels) and time.monotonic() < deadline:
            time.sleep(0.1)
        leftover = tuple(p for p in kernels if _alive(p))
        return StopReport(self.process.returncode, kernels, leftover)

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _cmdline(proc: Any) -> list[str]:
    import psutil

    try:
        return [str(a) for a in proc.cmdline()]
    except (psutil.NoSuchProcess, psutil.AccessDenied):  # ended, or not ours to read
        return []
