"""One progress bar for every long job (render, corpus build, train), on stderr: rich
bars on a terminal, plain milestone lines in a log, or nothing.

    with progress_bars(quiet) as start:
        bar = start("epoch 1", total)   # work counted in items: shows done/total
        bar.update(advance=1, status="loss 1.23")
        bar.note("val NLL 1.10")        # a milestone; a log receives it as a line
        share = start("rendering")      # work measured as a share: shows a percentage
        share.fraction(0.5)

Off a terminal (a pipe, a log file, the tests) nothing is drawn, so output stays
clean; with log_lines, milestones still come as lines, so a training run in the
background leaves a readable record."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator


class Bar:
    """A bar that shows nothing: off a terminal, or asked to be quiet."""

    def update(self, completed: float | None = None, advance: float = 1, status: str | None = None) -> None:
        pass

    def fraction(self, done: float) -> None:
        """How much of the whole is done, 0..1 (for `start(label)` without a total)."""

    def note(self, text: str, detail: str = "") -> None:
        pass


class _Lines(Bar):
    def __init__(self, label: str):
        self.label = label

    def note(self, text: str, detail: str = "") -> None:
        print(f"{self.label}: {text}{' ' + detail if detail else ''}", file=sys.stderr, flush=True)


SHARE_STEPS = 1000  # a share is drawn as this many steps: fine enough for any bar width


class _RichBar(Bar):
    def __init__(self, bars, label: str, total: int | None):
        share = total is None
        self.bars = bars
        self.task = bars.add_task(label, total=SHARE_STEPS if share else total, status="", share=share)

    def update(self, completed: float | None = None, advance: float = 1, status: str | None = None) -> None:
        fields = {} if status is None else {"status": status}
        if completed is None:
            self.bars.update(self.task, advance=advance, **fields)
        else:
            self.bars.update(self.task, completed=completed, **fields)

    def fraction(self, done: float) -> None:
        self.bars.update(self.task, completed=min(max(done, 0.0), 1.0) * SHARE_STEPS)

    def note(self, text: str, detail: str = "") -> None:
        self.bars.update(self.task, status=text)  # the bar has room for the gist only


def _count_column():
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Count(ProgressColumn):
        """'37/120' for work counted in items, ' 37%' for a share."""

        def render(self, task) -> Text:
            if task.fields.get("share"):
                return Text(f"{task.percentage:>3.0f}%", style="progress.percentage")
            return Text(f"{int(task.completed)}/{int(task.total)}", style="progress.download")

    return Count()


@contextmanager
def progress_bars(quiet: bool = False, log_lines: bool = False) -> Iterator[Callable[..., Bar]]:
    """Yields start(label, total=None) -> Bar. Bars are drawn only when stderr is a
    terminal and not quiet; otherwise milestone lines if log_lines, else nothing."""
    if quiet or not sys.stderr.isatty():
        if log_lines and not quiet:
            yield lambda label, total=None: _Lines(label)
        else:
            yield lambda label, total=None: Bar()
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("{task.description}"), BarColumn(), _count_column(), TimeElapsedColumn(),
               TextColumn("{task.fields[status]}")]
    with Progress(*columns, console=Console(file=sys.stderr)) as bars:
        yield lambda label, total=None: _RichBar(bars, label, total)
