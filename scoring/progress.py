"""Progress bars for long work, shown on a terminal and silent elsewhere.

Examples
--------
>>> sum(track(range(3), description="adding"))
3
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Sized
from typing import TypeVar

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

__all__ = ["track"]

T = TypeVar("T")


def _enabled() -> bool:
    if os.environ.get("SCORING_PROGRESS") == "0":
        return False
    return sys.stderr.isatty() or os.environ.get("SCORING_PROGRESS") == "1"


def track(items: Iterable[T], *, description: str, total: int | None = None) -> Iterator[T]:
    """Iterate over ``items`` with a progress bar on stderr (when it is a terminal).

    Set ``SCORING_PROGRESS=0`` to hide it, ``SCORING_PROGRESS=1`` to force it.
    """
    if not _enabled():
        yield from items
        return
    if total is None and isinstance(items, Sized):
        total = len(items)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)
