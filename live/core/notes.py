"""Notes: the one plain representation between MIDI files, the codec and the performer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Note:
    """A sounding note: MIDI pitch 0..127, start and end in seconds, velocity 1..127."""

    pitch: int
    start: float
    end: float
    velocity: int

    @property
    def duration(self) -> float:
        return self.end - self.start


def sort_notes(notes) -> list[Note]:
    """Notes in time order, lower pitch first at one instant: the order used everywhere."""
    return sorted(notes, key=lambda n: (n.start, n.pitch, n.end, n.velocity))


def max_polyphony(notes) -> int:
    """The most notes sounding at one instant (an end at t frees its voice before a start at t)."""
    edges = sorted([(n.start, 1) for n in notes] + [(n.end, -1) for n in notes])
    sounding = peak = 0
    for _, delta in edges:
        sounding += delta
        peak = max(peak, sounding)
    return peak



def stretched(notes, factor: float) -> list[Note]:
    """The notes with every time multiplied by factor (beat time to seconds at a tempo)."""
    if factor == 1.0:
        return list(notes)
    return [Note(n.pitch, n.start * factor, n.end * factor, n.velocity) for n in notes]
