"""Augmentation on notes before encoding, as Performance RNN does: each piece, each
epoch, is transposed by a few semitones and played a little faster or slower, so the
network hears every melody in several keys and tempos without memorising one."""

from __future__ import annotations

import numpy as np

DEFAULT_TRANSPOSE = 5  # semitones either way
DEFAULT_STRETCH = 0.05  # time stretch drawn from 0.95..1.05


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
