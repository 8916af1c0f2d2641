"""The performer: sampled events -> timed note-on/note-off messages. It owns the invariants:

  - every note-on gets its note-off, within the max note length;
  - no note-off is sent for a pitch that is not sounding;
  - everything still sounding ends when the performance ends (finish()).

Time is the event stream's own: 10 ms steps since the performance began; the caller
maps it to a clock (a virtual one for render, the wall clock for live play).
Transpose and velocity gain apply here, to what is played; the model keeps its own
pitches, and the performer remembers which played pitch each model pitch sounds, so a
transpose turned mid-note still ends the right note.
"""

from __future__ import annotations

from dataclasses import dataclass

from live.core import codec, vocab
from live.core.controls import Controls
from live.core.notes import Note

DEFAULT_BIN = vocab.velocity_to_bin(codec.DEFAULT_VELOCITY)


@dataclass(frozen=True)
class NoteMessage:
    time: float  # seconds since the performance began
    on: bool
    pitch: int  # as played
    velocity: int  # 0 for note-offs
    channel: int


@dataclass
class Held:
    """A note the model holds: what it sounds as (None once ended early), since when."""

    played: int | None
    onset: int  # step
    velocity: int
    bin: int  # the velocity bin it was struck at (a loop strikes it again so)


class Performer:
    def __init__(self, channel: int = 0, start_step: int = 0):
        self.channel = channel
        self.step = start_step
        self.bin = DEFAULT_BIN
        self.held: dict[int, Held] = {}  # model pitch -> its note
        self.playing: dict[int, int] = {}  # played pitch -> model pitch
        self.notes: list[Note] = []  # finished notes, as played
        self.release_pending: set[int] = set()  # model pitches released in their first step
        self.events = 0
        self.note_ons = 0
        self.shifted_at = 0  # the event count at the last time shift (see sampler.MAX_EVENTS_IN_A_STEP)

    # ------------------------------------------------------------ what the sampler reads

    def steps_left(self, controls: Controls) -> int | None:
        """Steps until the earliest held note reaches the max length (None: none held)."""
        if not self.held:
            return None
        limit = max_steps(controls)
        return min(h.onset for h in self.held.values()) + limit - self.step

    def overdue(self, controls: Controls) -> list[int]:
        """Model pitches held for the max length or longer, lowest first."""
        if not self.held:
            return []
        limit = max_steps(controls)
        return sorted(p for p, h in self.held.items() if self.step - h.onset >= limit)

    @property
    def time(self) -> float:
        return self.step * vocab.STEP_SECONDS

    # ------------------------------------------------------------ playing

    def apply(self, event: int, controls: Controls) -> list[NoteMessage]:
        """Play one event; returns the messages it causes, stamped with their times."""
        self.events += 1
        out: list[NoteMessage] = []
        # Plain range tests, not vocab.decode_event: this runs once per sampled event.
        if not 0 <= event < vocab.VOCAB_SIZE:
            vocab.decode_event(event)  # raises the range error
        if event < vocab.NOTE_OFF_OFFSET:
            self._note_on(event - vocab.NOTE_ON_OFFSET, controls, out)
        elif event < vocab.TIME_SHIFT_OFFSET:
            self._note_off(event - vocab.NOTE_OFF_OFFSET, out)
        elif event < vocab.VELOCITY_OFFSET:
            self.shifted_at = self.events
            self._time_shift(event - vocab.TIME_SHIFT_OFFSET + 1, controls, out)
        else:
            self.bin = event - vocab.VELOCITY_OFFSET + 1
        return out

    def finish(self) -> list[NoteMessage]:
        """End every sounding note now (at least one step after it began)."""
        out: list[NoteMessage] = []
        if any(h.onset >= self.step for h in self.held.values()):
            self.step += 1  # a note-on just sent still gets a length
        for pitch in sorted(self.held):
            self._note_off(pitch, out)
        return out

    def copy(self) -> "Performer":
        """A copy for a snapshot, cheap at any length of performance: the list of
        finished notes is shared (it only grows; restoring truncates it)."""
        twin = Performer.__new__(Performer)  # not copy.copy: this runs once per event
        twin.__dict__.update(self.__dict__)
        twin.held = {p: Held(h.played, h.onset, h.velocity, h.bin) for p, h in self.held.items()}
        twin.playing = dict(self.playing)
        twin.release_pending = set(self.release_pending)
        return twin

    def _time_shift(self, steps: int, controls: Controls, out: list[NoteMessage]) -> None:
        target = self.step + steps
        if self.release_pending:
            self._release_pending(out)
        if self.held:
            self._force_overdue(controls, target, out)
        self.step = target

    def _note_on(self, pitch: int, controls: Controls, out: list[NoteMessage]) -> None:
        if pitch in self.held:
            if self.held[pitch].onset == self.step:
                return  # struck twice in one instant: one strike
            self._note_off(pitch, out)  # a re-strike ends the old note first
        played = pitch + controls.transpose
        velocity = controls.played_velocity(vocab.bin_to_velocity(self.bin))
        if not 0 <= played <= 127:
            self.held[pitch] = Held(None, self.step, velocity, self.bin)  # the model holds it; silent
            return
        if played in self.playing:
            # Another model pitch sounds this played pitch (transpose moved): end it,
            # unless it began this instant, when the new strike is the same note.
            other = self.playing[played]
            if self.held[other].onset == self.step:
                self.held[pitch] = Held(None, self.step, velocity, self.bin)
                return
            self._end_sound(other, out)
        self.held[pitch] = Held(played, self.step, velocity, self.bin)
        self.playing[played] = pitch
        self.note_ons += 1
        out.append(NoteMessage(self.time, True, played, velocity, self.channel))

    def _note_off(self, pitch: int, out: list[NoteMessage]) -> None:
        if pitch not in self.held:
            return  # a note-off of a silent pitch: nothing to send
        if self.held[pitch].onset == self.step and self.held[pitch].played is not None:
            self.release_pending.add(pitch)  # a note lasts one step at least: end it then
            return
        self._end_sound(pitch, out)
        del self.held[pitch]

    def _end_sound(self, pitch: int, out: list[NoteMessage], at_step: int | None = None) -> None:
        held = self.held[pitch]
        if held.played is None:
            return
        step = self.step if at_step is None else at_step
        time = step * vocab.STEP_SECONDS
        out.append(NoteMessage(time, False, held.played, 0, self.channel))
        self.notes.append(
            Note(held.played, held.onset * vocab.STEP_SECONDS, time, held.velocity)
        )
        del self.playing[held.played]
        held.played = None

    def _release_pending(self, out: list[NoteMessage]) -> None:
        for pitch in sorted(self.release_pending):
            if pitch in self.held:
                self._end_sound(pitch, out, at_step=self.held[pitch].onset + 1)
                del self.held[pitch]
        self.release_pending.clear()

    def _force_overdue(self, controls: Controls, target: int, out: list[NoteMessage]) -> None:
        """Safety net under the sampler: a note that would outlast the max length within
        this time shift ends exactly at its limit."""
        limit = max_steps(controls)
        due = sorted(
            (h.onset + limit, p) for p, h in self.held.items()
            if h.played is not None and h.onset + limit <= target
        )
        for at_step, pitch in due:
            self._end_sound(pitch, out, at_step=max(at_step, self.step))


def max_steps(controls: Controls) -> int:
    return max(1, int(controls.max_note * vocab.STEPS_PER_SECOND + 1e-9))
