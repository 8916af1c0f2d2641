"""The quantise grid: how far a note-on moves toward the beat grid of the timeline.
Pure: performance times come in, offsets go out."""

from __future__ import annotations

from live.core.timeline import Timeline

GRIDS = {"1/8": 0.5, "1/16": 0.25, "1/32": 0.125}  # in beats


class Quantizer:
    """Pulls note-ons toward the grid by `strength` (0..1); their notes keep their length."""

    def __init__(self, timeline: Timeline, grid: str = "1/16", strength: float = 1.0):
        if grid not in GRIDS:
            raise ValueError(f"grid {grid!r}: choose {', '.join(GRIDS)}")
        self.timeline = timeline
        self.grid = grid
        self.strength = min(1.0, max(0.0, strength))

    def shift(self, perf: float, not_before: float) -> float:
        target = self.timeline.grid_time(perf, GRIDS[self.grid], not_before)
        return self.strength * (target - perf)
