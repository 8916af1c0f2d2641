"""Progress on stderr through rich, or nothing at all (quiet runs and tests)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator


@contextmanager
def progress_bars(quiet: bool = False) -> Iterator[Callable]:
    """Yields start(label, total) -> update(completed=None, advance=1, **fields):
    one bar per call to start, with the fields shown after the bar."""
    if quiet:
        yield lambda label, total: (lambda *args, **kwargs: None)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    ]
    with Progress(*columns, console=Console(file=sys.stderr), transient=False) as bars:

        def start(label: str, total: int):
            task = bars.add_task(label, total=total, status="")

            def update(completed: int | None = None, advance: int = 1, status: str | None = None):
                fields = {} if status is None else {"status": status}
                if completed is None:
                    bars.update(task, advance=advance, **fields)
                else:
                    bars.update(task, completed=completed, **fields)

            return update

        yield start
