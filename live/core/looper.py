"""The looper: a phrase of 1-16 bars that comes back, changed a little each time.

It sits in the generator, between the sampler and the performer, so a loop is heard the
same in a render as on stage and the model always hears what is played: on a repetition
each bar is either played again exactly (its events forced, the model listening) or
sampled anew (the model continuing from what it just heard, the new bar kept in the
phrase: the loop evolves). Which bars change is drawn from the generator's noise, so a
render stays deterministic and a rollback replays the same choices.

Modes: free (no loop: the model plays on), capture and resample (sampling, the bar
recorded), play (a bar again), wait (silent until the loop's next bar line, after a
pause), parked (the scheduler is placing the performer; it says where the loop goes on).

Actions (a new loop length, next, mutate, hold) carry the step they land on; the
scheduler keeps them until they are behind the music, because a rollback may restore a
state from before one was given. A serial number makes each land once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from live.core import vocab
from live.core.phrase import Bar, resample_chance, resized, sounding, way_in

FREE, WAIT, PLAY, SAMPLE, PARKED = "free", "wait", "play", "sample", "parked"
ACTION_KINDS = ("bars", "next", "mutate", "hold")
_SHIFT_0 = vocab.TIME_SHIFT_OFFSET - 1  # a shift's steps are event - _SHIFT_0


@dataclass(frozen=True)
class LoopAction:
    kind: str  # one of ACTION_KINDS
    at_step: int  # where it lands (a length change: the loop's first bar line from here)
    value: int = 0  # bars: the new length (0: off)
    serial: int = 0


class Looper:
    def __init__(self, bar_steps: int = vocab.STEPS_PER_BAR):
        self.bar_steps = bar_steps
        self.bars = 0  # the loop's length; 0: no loop
        self.phrase: tuple[Bar | None, ...] = ()  # None: a bar not captured yet
        self.anchor: int | None = None  # a step where the loop's bar 1 begins
        self.mode = FREE
        self.index = 0  # the bar of the loop being generated
        self.bar_start = self.bar_end = 0
        self.way: tuple[int, ...] = ()  # events that lead into the bar (see phrase.way_in)
        self.way_at = 0
        self.cursor = 0  # play: the next of the bar's events
        self.shift_done = 0  # play: steps of the current time shift already played
        self.recording: list[int] = []  # sample: the bar's events so far
        self.recording_from: tuple = (0, ())  # sample: (bin, held) as the bar began
        self.hold = False  # exact repeats, whatever the variation
        self.mutate = False  # the next bar begun is sampled anew
        self.pending: tuple[LoopAction, ...] = ()
        self.applied = 0  # the serial of the last action that landed
        self.passes = 0  # how often bar 1 has begun (the capture is pass 1)
        self.changed = 0  # bars sampled anew in this pass
        self.leading_in = False  # the event just chosen leads into the bar (not kept in it)

    # ------------------------------------------------------------ state

    @property
    def replaying(self) -> bool:
        """Playing a bar again: the performance may not be given a rest or a note."""
        return self.mode == PLAY

    @property
    def complete(self) -> bool:
        return bool(self.phrase) and all(bar is not None for bar in self.phrase)

    def save(self) -> tuple:
        return dict(self.__dict__), len(self.recording)

    def load(self, saved: tuple) -> None:
        state, length = saved
        self.__dict__.update(state)
        del self.recording[length:]  # the list is shared with later states, dropped now

    def install(self, actions) -> None:
        """Actions given since (a rollback restored an older state): each lands once."""
        known = {action.serial for action in self.pending}
        new = [a for a in actions if a.serial > self.applied and a.serial not in known]
        if new:
            self.pending = tuple(sorted(self.pending + tuple(new), key=lambda a: (a.at_step, a.serial)))

    def next_bar_line(self, step: int) -> int:
        """The loop's first bar line at or after `step` (the step itself with no loop)."""
        if self.anchor is None or not self.bars:
            return step
        return self.anchor + math.ceil((step - self.anchor) / self.bar_steps) * self.bar_steps

    def bar_at(self, step: int) -> int | None:
        """The bar of the loop (0-based) sounding at `step`, or None."""
        if self.anchor is None or not self.bars:
            return None
        return (step - self.anchor) // self.bar_steps % self.bars

    def limit(self, step: int) -> int:
        """How far one time shift may go from `step`: not past a bar line of the loop
        nor the step an action lands on."""
        limit = step + vocab.MAX_SHIFT_STEPS
        if self.mode in (PLAY, SAMPLE, WAIT):
            limit = min(limit, self.bar_end)
        if self.pending:
            at = self.pending[0].at_step
            if at > step:
                limit = min(limit, at)
        return max(limit, step + 1)

    # ------------------------------------------------------------ the generator's turn

    def choose(self, generator) -> int:
        """The next event: one leading into the bar, one of the bar again, a rest, or
        one the model samples (a time shift stopped at the bar line)."""
        performer = generator.performer
        self.leading_in = self.way_at < len(self.way)
        if self.leading_in:
            event = self.way[self.way_at]
            self.way_at += 1
            return event
        step = performer.step
        if self.mode == PLAY:
            return self._replayed(step)
        if self.mode == WAIT:
            return vocab.time_shift(min(self.limit(step) - step, vocab.MAX_SHIFT_STEPS))
        event = generator.sample_event()
        if vocab.TIME_SHIFT_OFFSET <= event < vocab.VELOCITY_OFFSET:
            limit = self.limit(step)
            if step + event - _SHIFT_0 > limit:
                event = vocab.time_shift(limit - step)
        return event

    def played(self, event: int, performer, generator, chosen: bool) -> None:
        """After any event is played: chosen here, or forced by the scheduler (a rest,
        a note-off), which a bar being sampled keeps as well."""
        if self.mode == SAMPLE:
            if not (chosen and self.leading_in):
                self.recording.append(event)
        elif self.mode == PLAY and not chosen and vocab.is_time_shift(event):
            self.mode = WAIT  # time moved under a bar played again: silent to its end
        self.settle(performer, generator)

    def settle(self, performer, generator) -> None:
        """At a bar line: keep the bar just sampled, land the actions due, begin the
        next bar (a choice drawn from the noise: again, or anew)."""
        step = performer.step
        at_line = self.mode in (PLAY, SAMPLE, WAIT) and step >= self.bar_end
        if at_line and self.mode == SAMPLE:
            self._keep_bar()
        begin = None
        if at_line:
            begin = (self.index + 1) % self.bars if self.bars else None
        while self.pending and self.pending[0].at_step <= step:
            action = self.pending[0]
            if action.kind == "bars" and self.bars and not at_line and self.mode not in (FREE, PARKED):
                break  # a length lands on the loop's bar line
            self.pending = self.pending[1:]
            self.applied = max(self.applied, action.serial)
            begin = self._land(action, step, begin, at_line)
        if begin is not None and self.bars and self.mode != PARKED:
            self._begin(begin, step, performer, generator)
        elif at_line and not self.bars:
            self.mode = FREE

    # ------------------------------------------------------------ the scheduler's turn

    def begin(self, bars: int, performer, generator) -> None:
        """A loop of `bars` bars from the performer's step (before play: its downbeat)."""
        self.bars, self.phrase, self.anchor, self.passes = bars, (None,) * bars, performer.step, 0
        self._begin(0, performer.step, performer, generator)

    def park(self) -> None:
        """The performer was reset (a pause, a panic, a reseed): the scheduler will say
        where the loop comes in again; until then nothing is recorded."""
        self.mode, self.way, self.way_at, self.recording = PARKED, (), 0, []

    def come_in(self, performer, generator, restart: bool = False, renew: bool = False) -> None:
        """Go on from the performer's step: on the loop's next bar line (silent until
        then), or with restart from bar 1 now (a clock Start), or with renew a new
        phrase from now (a new seed)."""
        step = performer.step
        if not self.bars:
            self.mode = FREE
            self.settle(performer, generator)
            return
        if renew:
            self.phrase, self.passes = (None,) * self.bars, 0
        if restart or renew:
            self.anchor = step
            self._begin(0, step, performer, generator)
            return
        line = self.next_bar_line(step)
        if line == step:
            self._begin(self.bar_at(step), step, performer, generator)
        else:
            self.mode, self.bar_end, self.index = WAIT, line, (self.bar_at(line) - 1) % self.bars
        self.settle(performer, generator)

    # ------------------------------------------------------------ inside

    def _land(self, action: LoopAction, step: int, begin, at_line: bool):
        """An action lands at `step`; returns the bar to begin now (or None)."""
        if action.kind == "hold":
            self.hold = not self.hold
        elif action.kind == "mutate":
            if not self.bars:
                return begin
            if self.mode == PLAY and not at_line:
                self._sample_from_here()
            elif self.mode != SAMPLE or at_line:
                self.mutate = True
        elif action.kind == "next":
            if self.bars:
                self.anchor, self.phrase, self.passes = step, (None,) * self.bars, 0
                return 0
        elif action.kind == "bars":
            old, self.bars = self.bars, action.value
            if not self.bars:
                self.phrase, self.anchor, self.mode = (), None, FREE
                return None
            if not old or self.anchor is None:
                self.anchor, self.phrase, self.passes = step, (None,) * self.bars, 0
                return 0
            self.phrase = resized(self.phrase, self.bars)
            return self.bar_at(step) if at_line or self.mode in (FREE, PARKED) else begin
        return begin

    def _begin(self, index: int, step: int, performer, generator) -> None:
        """Begin bar `index` of the loop at `step`: again, or sampled anew."""
        self.index, self.bar_start, self.bar_end = index, step, step + self.bar_steps
        self.way, self.way_at, self.cursor, self.shift_done = (), 0, 0, 0
        if index == 0:
            self.passes += 1
            self.changed = 0
        bar = self.phrase[index] if index < len(self.phrase) else None
        if bar is not None and not self.mutate and not self._anew(index, generator):
            self.mode = PLAY
            self.way = tuple(way_in(performer, bar))
            return
        if bar is not None:
            self.changed += 1
        self.mutate = False
        self.mode = SAMPLE
        if index == 0:  # the loop's rule: every note ends on bar 1
            self.way = tuple(vocab.note_off(pitch) for pitch in sorted(performer.held))
            self.recording_from = (performer.bin, ())
        else:
            self.recording_from = (performer.bin, sounding(performer))
        self.recording = []

    def _anew(self, index: int, generator) -> bool:
        if self.hold:
            return False
        chance = resample_chance(generator.controls.variation, index, self.bars)
        if chance <= 0.0:
            return False
        if chance >= 1.0:
            return True
        # a uniform draw from the next row of Gumbel noise (its CDF is exp(-exp(-g)))
        return math.exp(-math.exp(-float(generator.noise.next_row()[0]))) < chance

    def _keep_bar(self) -> None:
        bin_, held = self.recording_from
        if bin_ and self.index < len(self.phrase):
            bar = Bar(bin_, held, tuple(self.recording))
            self.phrase = self.phrase[: self.index] + (bar,) + self.phrase[self.index + 1:]
        self.recording = []

    def _replayed(self, step: int) -> int:
        bar = self.phrase[self.index]
        limit = self.limit(step)
        while self.cursor < len(bar.events):
            event = bar.events[self.cursor]
            if not vocab.TIME_SHIFT_OFFSET <= event < vocab.VELOCITY_OFFSET:
                self.cursor += 1
                return event
            steps = event - _SHIFT_0 - self.shift_done
            if step + steps > limit:  # a bar line or an action inside it: played in two
                self.shift_done += limit - step
                return vocab.time_shift(limit - step)
            self.cursor, self.shift_done = self.cursor + 1, 0
            if steps > 0:
                return vocab.time_shift(steps)
        # the bar's events are done before its end (kept short): rest to the line
        return vocab.time_shift(max(1, min(self.bar_end - step, vocab.MAX_SHIFT_STEPS)))

    def _sample_from_here(self) -> None:
        """Mutate inside a bar: what was played of it stays, the rest is sampled anew."""
        bar = self.phrase[self.index]
        kept = list(bar.events[: self.cursor])
        if self.shift_done:
            kept.append(vocab.time_shift(self.shift_done))
        self.recording, self.recording_from = kept, (bar.bin, bar.held)
        self.mode, self.way, self.way_at, self.shift_done = SAMPLE, (), 0, 0
        self.changed += 1
