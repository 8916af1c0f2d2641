"""What leaves a performance: the scheduler's messages for the port, and its log lines,
which a flood of the same mistake must not turn into a flood of lines."""

from __future__ import annotations

from typing import Callable, NamedTuple


class MidiOut(NamedTuple):
    """One message for the port, in the scheduler's words (the shell makes it MIDI)."""

    kind: str  # "note_on" | "note_off" | "control_change"
    channel: int
    number: int  # pitch, or controller number
    value: int  # velocity (0 for a note-off), or controller value
    due: float | None = None  # performance seconds it was due; None for the ledger's own


class ThrottledLog:
    """One line per topic every `seconds` of the clock, with how many were held back."""

    def __init__(self, log: Callable[[str], None], seconds: float):
        self.log = log
        self.seconds = seconds
        self._topics: dict[str, tuple[float, int]] = {}  # topic -> (said at, held back since)

    def say(self, topic: str, line: str, now: float) -> None:
        said_at, held = self._topics.get(topic, (float("-inf"), 0))
        if now - said_at < self.seconds:
            self._topics[topic] = (said_at, held + 1)
            return
        self.log(line + (f" ({held} more refused since)" if held else ""))
        self._topics[topic] = (now, 0)
