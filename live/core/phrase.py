"""A phrase: the bars a loop plays again, kept as the events the performer played.

A bar is kept as its events (the model's own pitches and velocity bins, so transpose and
the velocity controls apply to a repeat at once) and what sounded as it began: the bar
before it may have been played again or sampled anew, and a repeat makes the output
agree with the bar as it was first played (a tied note is struck again on the bar line,
a note the bar never had is ended there).

The rule at the loop's end, as a clip's in a DAW: every note ends on the loop's bar 1,
so nothing carries over and every pass of the phrase begins from silence.
"""

from __future__ import annotations

from dataclasses import dataclass

from live.core import vocab
from live.core.controls import Controls
from live.core.notes import Note, sort_notes
from live.core.performer import Performer

LOOP_BARS = (0, 1, 2, 4, 8, 16)  # 0: no loop


@dataclass(frozen=True)
class Bar:
    """One bar of a phrase as it was played."""

    bin: int  # the velocity bin as it began
    held: tuple[tuple[int, int], ...]  # (model pitch, bin) sounding as it began, by pitch
    events: tuple[int, ...]  # its events; the time shifts add up to one bar


def sounding(performer: Performer) -> tuple[tuple[int, int], ...]:
    """What the performer holds, as a bar records it."""
    return tuple(sorted((pitch, held.bin) for pitch, held in performer.held.items()))


def way_in(performer: Performer, bar: Bar) -> list[int]:
    """The events that make the performer agree with how `bar` began: note-offs for what
    it did not hold, the notes it held struck again (at their bins), then its bin."""
    wanted = dict(bar.held)
    events = [vocab.note_off(pitch) for pitch in sorted(performer.held) if pitch not in wanted]
    current = performer.bin
    for pitch, bin_ in bar.held:
        if pitch not in performer.held:
            if bin_ != current:
                events.append(vocab.velocity(bin_))
                current = bin_
            events.append(vocab.note_on(pitch))
    if bar.bin != current:
        events.append(vocab.velocity(bar.bin))
    return events


def resample_chance(variation: float, index: int, bars: int) -> float:
    """The chance that bar `index` (0-based) of a `bars`-bar phrase is sampled anew on a
    repetition, at `variation` percent. 0 and 100 are exact (the same phrase, a new one);
    between, the end changes more than the start, as a producer varies the last bar:
    v ** (2 (bars - index) / (bars + 1)), whose mean over the bars is close to v."""
    v = variation / 100.0
    if v <= 0.0:
        return 0.0
    if v >= 1.0:
        return 1.0
    return v ** (2.0 * (bars - index) / (bars + 1))


def resized(bars: tuple, count: int) -> tuple:
    """A phrase made `count` bars long: a longer one repeats it (as a DAW's "duplicate
    loop"), a shorter one keeps its first bars."""
    if count <= len(bars):
        return bars[:count]
    if not bars:
        return (None,) * count
    return tuple(bars[i % len(bars)] for i in range(count))


def phrase_notes(bars: tuple[Bar, ...], controls: Controls | None = None,
                 bar_steps: int = vocab.STEPS_PER_BAR) -> list[Note]:
    """The notes of one pass of the phrase, from its bar 1 (time 0) to its end, as they
    sound now (transpose and velocity applied); what sounds at the end ends there."""
    controls = controls or Controls()
    performer = Performer()
    for number, bar in enumerate(bars):
        start = number * bar_steps
        for event in way_in(performer, bar) + list(bar.events):
            if vocab.is_time_shift(event):
                left = start + bar_steps - performer.step
                if left <= 0:
                    continue
                event = vocab.time_shift(min(left, event - vocab.TIME_SHIFT_OFFSET + 1))
            performer.apply(event, controls)
        while performer.step < start + bar_steps:  # a bar kept short: its rest
            rest = min(start + bar_steps - performer.step, vocab.MAX_SHIFT_STEPS)
            performer.apply(vocab.time_shift(rest), controls)
    end = len(bars) * bar_steps * vocab.STEP_SECONDS
    performer.finish()
    return sort_notes([Note(n.pitch, n.start, min(n.end, end), n.velocity) for n in performer.notes if n.start < end])
