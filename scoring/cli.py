"""The ``scoring`` command: thin wiring over the package's modules.

Every command has ``--help``. Errors the user can fix are printed as one line,
``error: <message>``, with exit code 2; nothing prints a bare traceback unless
``SCORING_DEBUG=1`` is set.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from scoring.config import WorkbenchConfig, load_config
from scoring.exceptions import WorkbenchError

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def friendly_errors(func: F) -> F:
    """Turn the workbench's own exceptions (and a few OS ones) into one clear line."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if os.environ.get("SCORING_DEBUG") == "1":
            return func(*args, **kwargs)
        try:
            return func(*args, **kwargs)
        except WorkbenchError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            _fail("interrupted; nothing half-written was left in place.", code=130)
        except (OSError, MemoryError) as exc:
            _fail(f"{type(exc).__name__}: {exc}")

    return wrapper  # type: ignore[return-value]


class Context:
    """What every command shares: the configuration file chosen by ``--config``."""

    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path
        self._config: WorkbenchConfig | None = None

    @property
    def config(self) -> WorkbenchConfig:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    envvar="SCORING_CONFIG",
    help="Configuration TOML (default: configs/workbench.toml, or $SCORING_CONFIG).",
)
@click.version_option(package_name="gd-credit-workbench")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Guangdong Credit Pilot Workbench: credit files, ratings, scorecards, exports.

    The data flow: generate (or bring) department records -> validate -> collect
    into credit files -> rate -> train -> promote -> score -> export / marts -> serve.
    """
    ctx.obj = Context(config_path)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="scoring")


if __name__ == "__main__":
    main()
