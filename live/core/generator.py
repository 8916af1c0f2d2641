"""The generator: model + sampler + performer, one event at a time, deterministic.

Everything here runs on the event stream's own time (10 ms steps); render drives it as
fast as it can, the live scheduler drives it a little ahead of the wall clock. A
snapshot holds all that generation depends on (model state, performer, position in
the noise), so the engine can roll back to the last sent event when a knob turns.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from live.core import vocab
from live.core.controls import GRID_STEPS, Controls
from live.core.looper import Looper
from live.core.noise import GumbelNoise, NoisePosition
from live.core.performer import NoteMessage, Performer
from live.core.sampler import sample


class StepModel(Protocol):
    """What the generator needs of a model (live.model's adapters are such): a state
    holds the model's memory and its `logits` for the next event."""

    def initial_state(self) -> Any: ...

    def step(self, state: Any, event: int) -> Any: ...

    def feed(self, state: Any, events: list[int]) -> Any: ...


class Snapshot(NamedTuple):  # a tuple: made once per event, cheaply
    state: Any  # the model's, immutable
    performer: Performer
    noise: NoisePosition
    events: int
    notes: int  # finished notes at the time (the list is shared, see Performer.copy)
    loop: Any = None  # the looper's state (Looper.save), if there is one


# A live set forgets what lies this far behind its oldest rollback point: a set of hours
# kept every event and note it had played (about 10 MB an hour with a bass). Render
# keeps all (its result is every event). A loop's capture reads the last 16 bars of notes.
KEEP_EVENTS = 4096
KEEP_NOTES = 4096


class Generator:
    def __init__(
        self,
        model: StepModel,
        controls: Controls | None = None,
        seed: int | None = None,
        channel: int = 0,
    ):
        self.model = model
        # a beat model (1/48-beat steps): the grid control places its notes on the beat
        info = getattr(model, "info", None)
        self.beats = getattr(info, "time", "seconds") == "beats"
        self.controls = controls or Controls()
        self.noise = GumbelNoise(seed)
        self.channel = channel
        self.state = model.initial_state()
        self.performer = Performer(channel)
        self.restarted_at = 0.0
        self.events: list[int] = []
        self._events_forgotten = 0  # events dropped from the head of `events` (forget_before)
        self._notes_forgotten = 0  # and finished notes from the head of performer.notes
        self.primer: list[int] = []
        self.looper: Looper | None = None  # made once a loop is asked for
        self.harmony = None  # a live.core.harmony.Harmony: the chords it leans to, or None
        self.harmony_key: tuple[int, str] | None = None  # a key given (--scale): chords keep it
        self.chord_only = False  # lean to the chord's tones on every step (a bass), not only beats 1 and 3

    def loop(self):
        """The looper, made on first use (a beat model's bars)."""
        if self.looper is None:
            self.looper = Looper()
        return self.looper

    @property
    def replaying(self) -> bool:
        """A bar of a loop is being played again: its time is not the engine's to give."""
        return self.looper is not None and self.looper.mode == "play"

    # ------------------------------------------------------------ what the scheduler asks of a
    # performance, alike for one voice and for an ensemble of them (live.core.ensemble)

    @property
    def channels(self) -> tuple[int, ...]:
        return (self.channel,)

    def held_keys(self) -> set[tuple[int, int]]:
        """(channel, played pitch) of what the performer holds."""
        return {(self.channel, pitch) for pitch in self.performer.playing}

    def max_note(self, channel: int) -> float:
        """The max note length (seconds) of the voice on `channel`."""
        return self.controls.max_note

    def voice(self, name: str | None) -> "Generator":
        """The voice a control change is for: this one (the lead)."""
        if name not in (None, "lead"):
            raise KeyError(f"no voice {name!r}")
        return self

    def begin_loop(self, bars: int) -> None:
        """A loop of `bars` bars from here (before play: its downbeat)."""
        self.loop().begin(bars, self.performer, self)

    def loop_comes_in(self, restart: bool = False, renew: bool = False) -> None:
        """After the performer was placed anew: where the loop goes on (Looper.come_in)."""
        if self.looper is not None:
            self.looper.come_in(self.performer, self, restart=restart, renew=renew)

    def rest_to(self, target: int) -> list[NoteMessage]:
        """Let time pass up to step `target` as forced events the model hears (a rest; a
        note past its max length ended on the way); the messages they make. A bar of a
        loop played again keeps its own time: it is never given a rest."""
        performer, controls = self.performer, self.controls
        messages: list[NoteMessage] = []
        while performer.step < target and not self.replaying:
            overdue = performer.overdue(controls)
            if overdue:
                event = vocab.note_off(overdue[0])
            else:
                left = performer.steps_left(controls)
                steps = min(target - performer.step, vocab.MAX_SHIFT_STEPS, left or vocab.MAX_SHIFT_STEPS,
                            self.shift_limit() - performer.step)
                event = vocab.time_shift(max(1, steps))
            messages += self.force(event)
            performer = self.performer
        return messages

    def shift_limit(self) -> int:
        """The furthest step one forced time shift may reach (a loop's bar line)."""
        step = self.performer.step
        return self.looper.limit(step) if self.looper is not None else step + vocab.MAX_SHIFT_STEPS

    def prime(self, events: list[int], at_seconds: float = 0.0) -> None:
        """Set the model's state from a primer; its notes are not played. The
        performance (re)starts silent at `at_seconds`."""
        self.primer = list(events)
        self.state = self.model.feed(self.model.initial_state(), self.primer)
        self.reset_performer(at_seconds)  # the scheduler then says where a loop begins

    def reset_performer(self, at_seconds: float) -> None:
        """A silent performer at `at_seconds`; the model keeps what it has heard."""
        notes = self.performer.notes
        self.performer = Performer(self.channel, vocab.seconds_to_steps(at_seconds))
        self.performer.notes = notes
        self.restarted_at = self.performer.time  # where the performance last (re)started
        if self.looper is not None:
            self.looper.park()

    def next(self) -> tuple[int, list[NoteMessage]]:
        """Sample (or, in a loop, maybe play again), play and feed back one event."""
        looper = self.looper
        if looper is None:
            event = self.sample_event()
            return event, self._play(event)
        event = looper.choose(self)
        messages = self._play(event)
        looper.played(event, self.performer, self, chosen=True)
        return event, messages

    def sample_event(self) -> int:
        """What the model would play next, under the controls (not played)."""
        controls = self.controls
        grid = GRID_STEPS[controls.grid] if self.beats else None
        harmony = self.harmony
        lean = None if harmony is None else harmony.bias(self.performer.step, controls.harmony / 100.0,
                                                        controls.transpose, self.chord_only)
        return sample(self.state.logits, self.performer, controls, self.noise, grid, lean)

    def hear(self, on: bool, pitch: int, velocity: int = 0) -> None:
        """The model hears a note someone else played; the performer plays nothing.

        Its velocity becomes the current bin too, so encore answers at the player's
        dynamics."""
        if on:
            bin_ = vocab.velocity_to_bin(velocity)
            if bin_ != self.performer.bin:
                self.performer.bin = bin_
                self.state = self.model.step(self.state, vocab.velocity(bin_))
                self.events.append(vocab.velocity(bin_))
        event = vocab.note_on(pitch) if on else vocab.note_off(pitch)
        self.state = self.model.step(self.state, event)
        self.events.append(event)

    def force(self, event: int) -> list[NoteMessage]:
        """Play and feed back an event chosen by the engine (a rest, a forced note-off)."""
        messages = self._play(event)
        if self.looper is not None:
            self.looper.played(event, self.performer, self, chosen=False)
        return messages

    def _play(self, event: int) -> list[NoteMessage]:
        messages = self.performer.apply(event, self.controls)
        self.state = self.model.step(self.state, event)
        self.events.append(event)
        return messages

    def finish(self) -> list[NoteMessage]:
        return self.performer.finish()

    def forget_before(self, snapshot: Snapshot) -> None:
        """Drop the events and finished notes more than KEEP_EVENTS / KEEP_NOTES before this
        snapshot (the oldest a rollback may return to): never what a restore still cuts."""
        drop = snapshot.events - self._events_forgotten - KEEP_EVENTS
        if drop >= KEEP_EVENTS:  # in chunks: a del at the head moves the whole list
            del self.events[:drop]
            self._events_forgotten += drop
        drop = snapshot.notes - self._notes_forgotten - KEEP_NOTES
        if drop >= KEEP_NOTES:
            del self.performer.notes[:drop]  # the list every copy of the performer shares
            self._notes_forgotten += drop

    def snapshot(self) -> Snapshot:
        return Snapshot(  # counts from the start of the set, whatever was forgotten since
            self.state,
            self.performer.copy(),
            self.noise.position(),
            self._events_forgotten + len(self.events),
            self._notes_forgotten + len(self.performer.notes),
            self.looper.save() if self.looper is not None else None,
        )

    def restore(self, snapshot: Snapshot) -> None:
        self.state = snapshot.state
        self.performer = snapshot.performer.copy()
        del self.performer.notes[max(0, snapshot.notes - self._notes_forgotten):]
        self.noise.restore(snapshot.noise)
        del self.events[max(0, snapshot.events - self._events_forgotten):]
        if self.looper is not None:
            if snapshot.loop is None:
                self.looper = None  # the loop began after this point
            else:
                self.looper.load(snapshot.loop)
