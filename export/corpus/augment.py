"""Augmentation on notes before encoding, as Performance RNN does: each piece, each
epoch, is transposed by a few semitones and played a little faster or slower, so the
network hears every melody in several keys and tempos without memorising one.

A beat corpus is never stretched (its grid is the point; tempo is the player's), is
transposed across the whole octave, and gets its loudness redrawn per piece: the score
collections' velocities (54-118, accents from the metre) are one player's, and a model
that never heard others pays ~15 nats for each velocity event of a real EDM melody. So
each piece, each epoch, plays with a gain and an offset drawn for it, and one in four
at one flat velocity, as a step sequencer writes melodies."""

from __future__ import annotations

import numpy as np

DEFAULT_TRANSPOSE = 5  # semitones either way
DEFAULT_STRETCH = 0.05  # time stretch drawn from 0.95..1.05
BEAT_TRANSPOSE = 6  # a beat corpus: -6..+6, every key
VELOCITY_GAIN = (0.6, 1.3)  # drawn per piece (beat corpora)
VELOCITY_OFFSET = (-25.0, 25.0)
FLAT_VELOCITY_SHARE = 0.25
FLAT_VELOCITY = (60, 127)


def transpose_range(pitches: np.ndarray, semitones: int) -> tuple[int, int]:
    """The shifts within +-semitones that keep every pitch inside 0..127."""
    if len(pitches) == 0:
        return 0, 0
    low = max(-semitones, -int(pitches.min()))
    high = min(semitones, 127 - int(pitches.max()))
    return (low, high) if low <= high else (0, 0)


def augment(notes: np.ndarray, rng: np.random.Generator, semitones: int = DEFAULT_TRANSPOSE,
            stretch: float = DEFAULT_STRETCH) -> np.ndarray:
    """notes [n, 4] (pitch, start, end, velocity) transposed and stretched; a new array."""
    low, high = transpose_range(notes[:, 0], semitones)
    shift = int(rng.integers(low, high + 1))
    factor = float(rng.uniform(1.0 - stretch, 1.0 + stretch)) if stretch > 0 else 1.0
    out = notes.copy()
    out[:, 0] += shift
    out[:, 1:3] *= factor
    return out


def vary_velocity(notes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One piece's velocities redrawn as the module docstring says; a new array."""
    out = notes.copy()
    if rng.random() < FLAT_VELOCITY_SHARE:
        out[:, 3] = int(rng.integers(FLAT_VELOCITY[0], FLAT_VELOCITY[1] + 1))
    else:
        gain, offset = rng.uniform(*VELOCITY_GAIN), rng.uniform(*VELOCITY_OFFSET)
        out[:, 3] = np.clip(np.rint(out[:, 3] * gain + offset), 1, 127)
    return out
