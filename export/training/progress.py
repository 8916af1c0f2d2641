"""Progress on stderr: rich bars on a terminal, plain lines in a log, or nothing.

start(label, total) gives a bar; bar.update() moves it and sets the text after it;
bar.note(text) is a milestone (an epoch's validation), which a log also receives as a
line, so a training run in the background leaves a readable record."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator


class _Silent:
    def update(self, completed: int | None = None, advance: int = 1, status: str | None = None) -> None:
        pass

    def note(self, text: str, detail: str = "") -> None:
        pass


class _Lines(_Silent):
    def __init__(self, label: str):
        self.label = label

    def note(self, text: str, detail: str = "") -> None:
        print(f"{self.label}: {text}{' ' + detail if detail else ''}", file=sys.stderr, flush=True)


class _RichBar(_Silent):
    def __init__(self, bars, label: str, total: int):
        self.bars, self.task = bars, bars.add_task(label, total=total, status="")

    def update(self, completed: int | None = None, advance: int = 1, status: str | None = None) -> None:
        fields = {} if status is None else {"status": status}
        if completed is None:
            self.bars.update(self.task, advance=advance, **fields)
        else:
            self.bars.update(self.task, completed=completed, **fields)

    def note(self, text: str, detail: str = "") -> None:
        self.bars.update(self.task, status=text)  # the bar has room for the gist only


@contextmanager
def progress_bars(quiet: bool = False, log_lines: bool = False) -> Iterator:
    """Yields start(label, total) -> bar. Off a terminal: milestone lines if log_lines."""
    if quiet or not sys.stderr.isatty():
        yield (lambda label, total: _Lines(label)) if log_lines and not quiet else (lambda label, total: _Silent())
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[status]}")]
    with Progress(*columns, console=Console(file=sys.stderr)) as bars:
        yield lambda label, total: _RichBar(bars, label, total)
