"""One progress bar for every long job (render, corpus build, train), on stderr: rich
bars on a terminal, plain milestone lines in a log, or nothing.

    with progress_bars(quiet) as start:
        bar = start("epoch 1", total)   # work counted in items: shows done/total
        bar.update(advance=1, status="loss 1.23")
        bar.note("val NLL 1.10")        # a milestone; a log receives it as a line
        share = start("rendering")      # work measured as a share: shows a percentage
        share.fraction(0.5)

Off a terminal (a pipe, a log file, the tests) no bar is drawn; a job that runs past
FIRST_LINE_AFTER seconds says how far it is as a line every LINE_EVERY seconds (a short
job prints nothing, so output stays clean), and with log_lines milestones come as lines
too, so a training run in the background leaves a readable record."""

from __future__ import annotations

import sys
import time
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


FIRST_LINE_AFTER = 2.0  # seconds: a job shorter than this says nothing off a terminal
LINE_EVERY = 10.0


class _Lines(Bar):
    """Off a terminal: how far the job is, a line now and then; milestones if asked."""

    def __init__(self, label: str, total: int | None = None, milestones: bool = False,
                 clock: Callable[[], float] = time.monotonic, every: int | None = None):
        self.label, self.total, self.milestones, self.clock = label, total, milestones, clock
        self.every = every  # a line each time this many more items are done, not by the clock
        self.done = 0.0
        self.status = ""
        self.began = clock()
        self.next_line = self.began + FIRST_LINE_AFTER

    def update(self, completed: float | None = None, advance: float = 1, status: str | None = None) -> None:
        before = self.done
        self.done = completed if completed is not None else self.done + advance
        self.status = self.status if status is None else status
        if self.every:
            if completed is None and int(self.done) // self.every > int(before) // self.every:
                self._say()
            return
        self._maybe_say()

    def fraction(self, done: float) -> None:
        self.done = min(max(done, 0.0), 1.0)
        self._maybe_say()

    def note(self, text: str, detail: str = "") -> None:
        if self.milestones:
            print(f"{self.label}: {text}{' ' + detail if detail else ''}", file=sys.stderr, flush=True)

    def _maybe_say(self) -> None:
        now = self.clock()
        if now < self.next_line:
            return
        self.next_line = now + LINE_EVERY
        self._say()

    def _say(self) -> None:
        far = f"{int(self.done):,}/{self.total:,}" if self.total else f"{self.done * 100:.0f} %"
        status = f" {self.status}" if self.status else ""
        print(f"{self.label}: {far} ({self.clock() - self.began:.0f} s){status}", file=sys.stderr, flush=True)


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
def progress_bars(quiet: bool = False, log_lines: bool = False, every: int | None = None,
                  ) -> Iterator[Callable[..., Bar]]:
    """Yields start(label, total=None) -> Bar. Bars are drawn only when stderr is a
    terminal and not quiet; off a terminal a long job says how far it is now and then,
    or every `every` items (and its milestones if log_lines); quiet says nothing."""
    if quiet:
        yield lambda label, total=None: Bar()
        return
    if not sys.stderr.isatty():
        yield lambda label, total=None: _Lines(label, total, milestones=log_lines, every=every)
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("{task.description}"), BarColumn(), _count_column(), TimeElapsedColumn(),
               TextColumn("{task.fields[status]}")]
    with Progress(*columns, console=Console(file=sys.stderr)) as bars:
        yield lambda label, total=None: _RichBar(bars, label, total)
