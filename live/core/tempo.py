"""Tempo and the quantise grid: beats per minute, where beat 0 falls, and how far a
note-on moves toward the grid. Pure: times come in, times go out."""

from __future__ import annotations

from typing import Callable

GRIDS = {"1/8": 0.5, "1/16": 0.25, "1/32": 0.125}  # in beats


class Tempo:
    """Beats per minute and where beat 0 falls, in the engine's performance seconds."""

    def __init__(self, bpm: float = 120.0, origin: float = 0.0, source: str = "internal"):
        self.bpm = bpm
        self._origin = origin
        self._anchor: tuple[float, int, Callable[[float], float]] | None = None
        self.source = source

    @property
    def origin(self) -> float:
        if self._anchor is None:
            return self._origin
        at, beat, to_performance = self._anchor
        return to_performance(at) - beat * self.seconds_per_beat()

    @origin.setter
    def origin(self, seconds: float) -> None:
        self._origin, self._anchor = seconds, None

    def anchor(self, at: float, beat: int, to_performance: Callable[[float], float]) -> None:
        """Wall-clock time `at` was beat `beat`. Converted to performance seconds when
        read, not now: a clock Start also resumes the engine, which moves its timeline,
        and the grid must sit on the new one from the first note."""
        self._anchor = (at, beat, to_performance)

    def seconds_per_beat(self) -> float:
        return 60.0 / self.bpm

    def grid_time(self, seconds: float, grid_beats: float, not_before: float) -> float:
        """The grid line nearest `seconds`, but never earlier than `not_before`."""
        step = grid_beats * self.seconds_per_beat()
        line = self.origin + round((seconds - self.origin) / step) * step
        while line < not_before:
            line += step
        return line


class Quantizer:
    """Pulls note-ons toward the grid by `strength` (0..1); their notes keep their length."""

    def __init__(self, tempo: Tempo, grid: str = "1/16", strength: float = 1.0):
        if grid not in GRIDS:
            raise ValueError(f"grid {grid!r}: choose {', '.join(GRIDS)}")
        self.tempo = tempo
        self.grid = grid
        self.strength = min(1.0, max(0.0, strength))

    def shift(self, seconds: float, not_before: float) -> float:
        target = self.tempo.grid_time(seconds, GRIDS[self.grid], not_before)
        return self.strength * (target - seconds)
