"""argparse types for encore's options: each refusal is one line naming the value and
what it may be."""

from __future__ import annotations

import argparse
import math
import re

from live.core.controls import RENAMED, control_name
from live.core.phrase import LOOP_BARS

COMMAND_METAVARS = ("COMMAND", "ACTION")  # the subcommand arguments


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line naming the fix, not a usage dump; and
    no command at all (`encore`, `encore corpus`) shows the commands there are."""

    # Fills each option's help just before it is shown: `train --help` shows the training
    # side's defaults without `encore --help` (or the instrument) importing that side.
    late_help = None  # a function of the help text, or None

    def format_help(self) -> str:
        if self.late_help is not None:
            for action in self._actions:
                if action.help:
                    action.help = self.late_help(action.help)
            self.late_help = None
        return super().format_help()

    def error(self, message: str):
        # a value is shown as given, but a pasted megabyte is not: 60 characters of it
        message = re.sub(r"'([^']{60})[^']{4,}'", r"'\1...'", message)
        missing = message.removeprefix("the following arguments are required: ")
        if missing in COMMAND_METAVARS:
            self.print_help()
            self.exit(2, f"{self.prog}: give one of the commands above\n")
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def int_in(low: int, high: int, what: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number, not {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} {value} is outside {low}..{high}")
        return value

    return parse


def fraction(what: str):
    """A number in 0 <= x < 1 (a dropout, a stretch either way)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, not {text!r}") from None
        if not 0 <= value < 1:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{what} {text} is outside 0 <= {what} < 1")
        return value

    return parse


# A seed is any whole number numpy's generators take, with room for the offsets voices add.
random_seed = int_in(0, 2**32 - 1, "a random seed")


def control_argument(text: str) -> str:
    """A control's name in either spelling (top-p, top_p); an old name says the new one."""
    name = control_name(text)
    if name in RENAMED:
        raise argparse.ArgumentTypeError(f"{text!r} is now called {RENAMED[name]!r}")
    return name


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not math.isfinite(value):  # nan and inf: a render or a set that never ends
        raise argparse.ArgumentTypeError(f"expected a finite number, not {text!r}")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be above 0")
    return value


def up_to(limit: float):
    """A positive, finite number of at most `limit` (a day of music: more is a typo, 1e308)."""
    def parse(text: str) -> float:
        value = positive_float(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"{value:g} is over the most it takes, {limit:g}")
        return value

    return parse


def non_negative_ms(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected milliseconds, not {text!r}") from None
    if not 0 <= value <= 500:
        raise argparse.ArgumentTypeError(f"{value:g} ms is outside 0..500")
    return value


def bpm(text: str) -> float:
    value = positive_float(text)
    if not 20 <= value <= 400:
        raise argparse.ArgumentTypeError(f"BPM {value:g} is outside 20..400")
    return value


def loop_bars(text: str) -> int:
    """--loop: a length in bars, or 0 / off."""
    value = text.strip().lower()
    value = "0" if value == "off" else value
    if value not in [str(bars) for bars in LOOP_BARS]:
        raise argparse.ArgumentTypeError(
            f"a loop is {', '.join(map(str, LOOP_BARS[1:]))} bars (0 or off: none), not {text!r}")
    return int(value)
