"""Primers: short windows of held-out music shipped inside a model, so one file is
enough to start it playing in its own style."""

from __future__ import annotations

import numpy as np

from live.core import vocab
from live.core.bars import bars_of

PRIMER_COUNT = 16
PRIMER_MIN, PRIMER_MAX = 32, 64


def onset_boundaries(events: np.ndarray) -> list[int]:
    """Indices where an instant's note-ons begin: a VELOCITY event, or a NOTE_ON with
    no VELOCITY or NOTE_ON right before it."""
    found = []
    for i, event in enumerate(events):
        if vocab.is_velocity(event):
            found.append(i)
        elif vocab.is_note_on(event) and (
            i == 0 or not (vocab.is_velocity(events[i - 1]) or vocab.is_note_on(events[i - 1]))
        ):
            found.append(i)
    return found


def cut_primer(events: np.ndarray, start: int, boundaries: list[int]) -> list[int] | None:
    """events from the boundary `start` to the last boundary within PRIMER_MAX events
    (at least PRIMER_MIN long), led by the velocity in force so the loudness is known."""
    ends = [b for b in boundaries if PRIMER_MIN <= b - start <= PRIMER_MAX]
    if not ends:
        return None
    primer = [int(e) for e in events[start : ends[-1]]]
    if not vocab.is_velocity(primer[0]):
        earlier = [int(e) for e in events[:start] if vocab.is_velocity(e)]
        primer = earlier[-1:] + primer
    return primer


def bar_primers(pieces: list[np.ndarray], seed: int, bar_steps: int, count: int = PRIMER_COUNT) -> list[list[int]]:
    """For a beat model: primers of whole bars (1 to 4, as many as fit PRIMER_MAX events),
    from a bar line to a bar line, led by the velocity in force; a performance primed with
    one starts on a downbeat, where the model thinks it is."""
    rng = np.random.default_rng(seed)
    primers: list[list[int]] = []
    for attempt in range(count * 4):
        if len(primers) >= count or not pieces:
            break
        bars = bars_of(pieces[attempt % len(pieces)], bar_steps)
        if len(bars) < 2:
            continue
        first = int(rng.integers(len(bars) - 1))
        primer: list[int] = []
        for bar in bars[first:first + 4]:
            if primer and len(primer) + len(bar) > PRIMER_MAX:
                break
            primer += bar
        if len(primer) < PRIMER_MIN // 2 or not any(vocab.is_note_on(e) for e in primer):
            continue
        if not vocab.is_velocity(primer[0]):
            before = [e for bar in bars[:first] for e in bar if vocab.is_velocity(e)]
            first_velocity = next((e for e in primer if vocab.is_velocity(e)), None)
            lead = before[-1:] or ([first_velocity] if first_velocity is not None else [])
            primer = lead + primer
        if primer not in primers:
            primers.append(primer)
    return primers


def choose_primers(pieces: list[np.ndarray], seed: int, count: int = PRIMER_COUNT) -> list[list[int]]:
    """Up to `count` primers, cut at note-on boundaries, spread over the pieces."""
    rng = np.random.default_rng(seed)
    primers: list[list[int]] = []
    for attempt in range(count * 4):
        if len(primers) >= count or not pieces:
            break
        events = pieces[attempt % len(pieces)]
        boundaries = onset_boundaries(events)
        starts = [b for b in boundaries if b + PRIMER_MIN <= len(events)]
        if not starts:
            continue
        primer = cut_primer(events, starts[int(rng.integers(len(starts)))], boundaries)
        if primer and primer not in primers:
            primers.append(primer)
    return primers
