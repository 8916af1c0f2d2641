"""Bars for beat models: where a beat-time melody's bar lines fall, and a primer that ends
on one, so a performance starts on a downbeat where the model thinks it is.

Beat time: a note's times are its quarter notes x 0.48 s (vocab.REFERENCE_BEAT_SECONDS),
so one 10 ms step is 1/48 beat and a 4/4 bar is 192 steps.
"""

from __future__ import annotations

import math

from live.core import vocab
from live.core.notes import Note


def meter_bar_beats(meter: str) -> float:
    """Quarter notes in a bar of this meter ("6/8" -> 3.0); 4 when unknown."""
    try:
        top, bottom = (int(x) for x in meter.split("/"))
        return top * 4.0 / bottom if top > 0 and bottom > 0 else 4.0
    except ValueError:
        return 4.0


def bar_aligned(notes: list[Note], bar_beats: float = 4.0, phase_beats: float = 0.0) -> list[Note]:
    """Beat-time notes moved so that the bar line at or before the first note is time 0.
    phase_beats: where a bar line falls (0: bars from the file's tick 0)."""
    if not notes:
        return notes
    beat = vocab.REFERENCE_BEAT_SECONDS
    first = min(n.start for n in notes) / beat
    line = phase_beats + math.floor((first - phase_beats) / bar_beats + 1e-9) * bar_beats
    shift = line * beat
    return [Note(n.pitch, n.start - shift, n.end - shift, n.velocity) for n in notes]


def steps_of(events: list[int]) -> int:
    """The length of an event stream in steps: its time shifts added up."""
    return sum(e - vocab.TIME_SHIFT_OFFSET + 1 for e in events if vocab.is_time_shift(e))


def to_bar_line(events: list[int], bar_steps: int = vocab.STEPS_PER_BAR) -> list[int]:
    """The events with a rest after them up to their next bar line (none if on one)."""
    rest = -steps_of(events) % bar_steps
    padded = list(events)
    while rest > 0:
        step = min(rest, vocab.MAX_SHIFT_STEPS)
        padded.append(vocab.time_shift(step))
        rest -= step
    return padded


def bars_of(events, bar_steps: int) -> list[list[int]]:
    """A beat-time piece cut at its bar lines (step 0 is one): one list of events per
    bar, a time shift that crosses a bar line split in two."""
    bars: list[list[int]] = [[]]
    into = 0  # steps into the current bar
    for event in (int(e) for e in events):
        if not vocab.is_time_shift(event):
            bars[-1].append(event)
            continue
        steps = vocab.decode_event(event).value
        while into + steps >= bar_steps:
            if bar_steps - into:
                bars[-1].append(vocab.time_shift(bar_steps - into))
            steps -= bar_steps - into
            bars.append([])
            into = 0
        if steps:
            bars[-1].append(vocab.time_shift(steps))
            into += steps
    return [bar for bar in bars if bar] if into == 0 else [bar for bar in bars[:-1] if bar]


def last_bars(events: list[int], max_events: int, bar_steps: int = vocab.STEPS_PER_BAR) -> list[int]:
    """The whole bars at the end of a beat-time stream that fit in max_events (at least
    one), led by the velocity in force."""
    bars = bars_of(events, bar_steps)
    kept: list[int] = []
    first = len(bars)
    while first > 0 and (not kept or len(kept) + len(bars[first - 1]) <= max_events):
        first -= 1
        kept = bars[first] + kept
    if kept and not vocab.is_velocity(kept[0]):
        before = [e for bar in bars[:first] for e in bar if vocab.is_velocity(e)]
        kept = before[-1:] + kept
    return kept
