"""Three figures of how a melody sits on the beat, as pure functions over note arrays.

Notes are arrays [n, 4] (pitch, start s, end s, velocity), as everywhere in evaluation;
a BeatGrid says where the beats fall in those seconds (a steady tempo, or a MIDI file's
tempo map), with beat 0 on a bar line. Each figure is a Share (hits of a total), so the
figures of many pieces pool by adding counts: every note (or bar) weighs the same,
whichever piece it is in.

- grid share: the share of note onsets within GRID_TOLERANCE_MS of the 16th-note grid,
  the distance measured in beats and turned into ms by the tempo in force at the onset.
- bar repeats: the share of non-empty 4/4 bars that repeat an earlier bar (see
  bar_repeat_share for the one definition).
- key share: the share of notes in the piece's key (see key_share).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRID_TOLERANCE_MS = 6.0  # an onset this close to a 16th is on the grid
SIXTEENTHS_PER_BEAT = 4
BEATS_PER_BAR = 4  # every bar is read as 4/4, from beat 0
REPEAT_LAGS = (1, 2, 4)  # a bar repeats when it equals the bar this many bars before
REFERENCE_SECONDS_PER_BEAT = 0.48  # beat corpora and beat models: 125 BPM, a 16th is 0.12 s
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)  # pitch classes above the tonic


@dataclass(frozen=True)
class BeatGrid:
    """A tempo map: segment i starts at starts[i] seconds on beat beats[i] and runs at
    seconds_per_beat[i] until the next. The first segment also covers any time before
    its start."""

    starts: tuple[float, ...]
    beats: tuple[float, ...]
    seconds_per_beat: tuple[float, ...]

    @classmethod
    def steady(cls, seconds_per_beat: float = REFERENCE_SECONDS_PER_BEAT) -> BeatGrid:
        return cls((0.0,), (0.0,), (float(seconds_per_beat),))

    @classmethod
    def from_midi_tempos(cls, ticks_per_beat: int, changes: list[tuple[int, int]]) -> BeatGrid:
        """A MIDI file's grid: changes are (absolute tick, microseconds per beat) from any
        track; tick 0 is beat 0 and 120 BPM holds until the first change, as in MIDI."""
        ticks, tempos = [0], [500_000]
        for tick, tempo in sorted(changes):
            if tick == ticks[-1]:
                tempos[-1] = tempo
            else:
                ticks.append(tick)
                tempos.append(tempo)
        starts, spb = [0.0], [t / 1e6 for t in tempos]
        for i in range(1, len(ticks)):
            starts.append(starts[-1] + (ticks[i] - ticks[i - 1]) / ticks_per_beat * spb[i - 1])
        return cls(tuple(starts), tuple(t / ticks_per_beat for t in ticks), tuple(spb))

    def _segment(self, seconds: np.ndarray) -> np.ndarray:
        return np.maximum(np.searchsorted(self.starts, seconds, side="right") - 1, 0)

    def beat_at(self, seconds: np.ndarray) -> np.ndarray:
        i = self._segment(seconds)
        return np.asarray(self.beats)[i] + (seconds - np.asarray(self.starts)[i]) / np.asarray(self.seconds_per_beat)[i]

    def seconds_per_beat_at(self, seconds: np.ndarray) -> np.ndarray:
        return np.asarray(self.seconds_per_beat)[self._segment(seconds)]


@dataclass(frozen=True)
class Share:
    hits: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        """hits / total, or None where there was nothing to count."""
        return self.hits / self.total if self.total else None

    def __add__(self, other: Share) -> Share:
        return Share(self.hits + other.hits, self.total + other.total)


def grid_share(notes: np.ndarray, grid: BeatGrid, tolerance_ms: float = GRID_TOLERANCE_MS) -> Share:
    """Onsets (one per note, chords count each note) within tolerance_ms of a 16th."""
    starts = np.asarray(notes, float).reshape(-1, 4)[:, 1]
    sixteenths = grid.beat_at(starts) * SIXTEENTHS_PER_BEAT
    off_beats = np.abs(sixteenths - np.round(sixteenths)) / SIXTEENTHS_PER_BEAT
    off_ms = off_beats * grid.seconds_per_beat_at(starts) * 1000.0
    return Share(int(np.count_nonzero(off_ms <= tolerance_ms + 1e-9)), len(starts))


def bars(notes: np.ndarray, grid: BeatGrid) -> dict[int, tuple[tuple[int, int], ...]]:
    """Non-empty bars by index from beat 0: each the sorted (16th within the bar, pitch)
    of its notes. An onset is rounded to its nearest 16th before it is given a bar, so a
    note played just ahead of a bar line belongs to the downbeat it meant."""
    notes = np.asarray(notes, float).reshape(-1, 4)
    sixteenths = np.round(grid.beat_at(notes[:, 1]) * SIXTEENTHS_PER_BEAT).astype(int)
    per_bar = SIXTEENTHS_PER_BEAT * BEATS_PER_BAR
    found: dict[int, list[tuple[int, int]]] = {}
    for sixteenth, pitch in zip(sixteenths, notes[:, 0].astype(int)):
        bar, position = divmod(int(sixteenth), per_bar)
        found.setdefault(bar, []).append((position, int(pitch)))
    return {bar: tuple(sorted(content)) for bar, content in found.items()}


def bar_repeat_share(notes: np.ndarray, grid: BeatGrid) -> Share:
    """The one definition of a repeated bar: of the bars that hold a note, those whose
    notes (16th within the bar and pitch, durations and velocities aside) equal the notes
    of the bar 1, 2 or 4 bars before (REPEAT_LAGS). Empty bars count neither way."""
    content = bars(notes, grid)
    repeats = sum(1 for bar, these in content.items()
                  if any(content.get(bar - lag) == these for lag in REPEAT_LAGS))
    return Share(repeats, len(content))


def best_key(notes: np.ndarray) -> int:
    """The tonic pitch class of the major scale holding the most notes (ties: the lowest
    tonic). A natural minor key uses its relative major's seven pitch classes, so the 12
    major scales stand for all 24 major and minor keys; which of the two a tune is does
    not change the share."""
    counts = np.bincount(np.asarray(notes, float).reshape(-1, 4)[:, 0].astype(int) % 12, minlength=12)
    return int(np.argmax([_in_scale(counts, tonic) for tonic in range(12)]))


def key_share(notes: np.ndarray) -> Share:
    """Notes (each note once, whatever its length) whose pitch class is in the piece's
    best_key: how diatonic the piece is. The key is estimated per piece."""
    notes = np.asarray(notes, float).reshape(-1, 4)
    counts = np.bincount(notes[:, 0].astype(int) % 12, minlength=12)
    return Share(_in_scale(counts, best_key(notes)) if len(notes) else 0, len(notes))


def _in_scale(counts: np.ndarray, tonic: int) -> int:
    return int(sum(counts[(tonic + step) % 12] for step in MAJOR_SCALE))
