"""Offline render: the live path on a virtual clock, as fast as the model steps.

The same Scheduler that plays on stage, stepped with a clock that jumps to wherever the
scheduler would next wake: so a control change, a loop or a tempo change is heard the
same way in a .mid file as live.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from live.core import vocab
from live.core.commands import Command
from live.core.generator import Generator
from live.core.notes import Note, sort_notes
from live.core.performer import NoteMessage
from live.core.timeline import Timeline
from live.core.scheduler import DEFAULT_LOOKAHEAD, MidiOut, Scheduler


@dataclass(frozen=True)
class Cue:
    """A command given at a moment of the performance (seconds), as a musician would."""

    at: float
    command: Command


@dataclass
class Rendered:
    events: list[int]
    sent: list[tuple] = field(default_factory=list)  # (time, on, pitch, velocity, channel)
    notes: list[Note] = field(default_factory=list)
    seconds: float = 0.0

    def notes_on(self, channel: int) -> list[Note]:
        """The notes of one voice (its channel)."""
        return notes_of(sent for sent in self.sent if sent[4] == channel)

    @property
    def messages(self) -> list[NoteMessage]:
        """What was sent, as messages stamped with their performance time."""
        return [NoteMessage(*sent) for sent in self.sent]


class _Collected:
    """The render's port: what the scheduler sends, kept with its performance time
    (as plain tuples: a render sends thousands a second)."""

    def __init__(self):
        self.sent: list[tuple] = []
        self.playing_now = 0.0  # performance time of the clock, for the ledger's own

    def __call__(self, out: MidiOut) -> bool:
        kind = out.kind
        if kind != "control_change":
            at = self.playing_now if out.due is None else out.due
            self.sent.append((at, kind == "note_on", out.number, out.value, out.channel))
        return True


def render(
    generator: Generator,
    seconds: float | None = None,
    events: int | None = None,
    cues: Iterable[Cue] = (),
    lookahead: float = DEFAULT_LOOKAHEAD,
    progress=None,
    timeline: Timeline | None = None,
) -> Rendered:
    """Generate until `seconds` of music or `events` generated events, then end every note.

    cues: commands at moments of the performance, applied when the virtual clock gets
    there, exactly as a live session applies them when they arrive. progress, if given,
    is called with the fraction done now and then."""
    if (seconds is None) == (events is None):
        raise ValueError("render needs exactly one of seconds or events")
    port = _Collected()
    scheduler = Scheduler(generator, port, lookahead=lookahead, timeline=timeline)
    timeline = scheduler.timeline
    pending = sorted(cues, key=lambda cue: cue.at)
    now = 0.0
    scheduler.start(now)
    scheduler.history_from = _history_from(pending, lookahead)
    last_report = -1.0
    while True:
        if events is not None:
            if scheduler.events_generated >= events:
                break
        elif generator.performer.time >= seconds:
            break
        if progress is not None:
            done = scheduler.events_generated / events if events is not None else generator.performer.time / seconds
            if done - last_report >= 0.01:
                progress(done)
                last_report = done
        while pending and timeline.to_clock(pending[0].at) <= now:
            scheduler.apply([pending.pop(0).command], now)  # a resume or a tempo moves the timeline
            scheduler.history_from = _history_from(pending, lookahead)
        wait = scheduler.plan(now)
        if wait == 0.0:
            scheduler.generate_one(now)
            continue
        # Nothing to do until the lookahead wants the next event (or a cue is due): the
        # virtual clock jumps straight there, where the live one would sleep.
        if scheduler.playing:
            wake = timeline.to_clock(generator.performer.time) - lookahead + 1e-6
        elif pending:
            wake = now + wait
        else:
            break  # paused for good: the performance ends here
        if pending:
            wake = min(wake, timeline.to_clock(pending[0].at))
        now = max(now, wake)
        port.playing_now = timeline.to_perf(now)
        scheduler.deliver_due(now)
    port.playing_now = generator.performer.time
    scheduler.finish(now)
    if progress is not None:
        progress(1.0)
    sent, length = port.sent, generator.performer.time
    if seconds is not None:
        # N seconds (or bars) of music are that long: the last time shift may run past
        # the end, and what it holds ends there (a note begun there is not heard)
        sent, length = cut_at(sent, seconds), seconds
    return Rendered(
        events=list(generator.events),
        sent=sent,
        notes=notes_of(sent),
        seconds=length,
    )


def cut_at(sent: list[tuple], end: float) -> list[tuple]:
    """Sent (time, on, pitch, velocity, channel) with nothing after `end`: a note-on from
    `end` on is dropped with its note-off; a note sounding at `end` ends there."""
    kept, late = [], set()
    for item in sent:
        time, on, pitch, _, channel = item
        if time < end:
            kept.append(item)
        elif on:
            late.add((channel, pitch))
        elif (channel, pitch) in late:
            late.discard((channel, pitch))
        else:
            kept.append((end, False, pitch, 0, channel))
    return kept


def _history_from(pending: list[Cue], lookahead: float) -> float:
    """Where rollback points are next needed: a cue rolls back to the last event played
    by its moment, which began up to the longest time shift (1 s) before it and was made
    up to a lookahead (and a margin) before that."""
    longest = vocab.MAX_SHIFT_STEPS * vocab.STEP_SECONDS
    return pending[0].at - lookahead - longest - 0.05 if pending else float("inf")


def notes_of(sent: Iterable[tuple]) -> list[Note]:
    """Paired note-on/note-off (time, on, pitch, velocity, channel) as notes (a note
    still open has no end: left out)."""
    notes, open_notes = [], {}
    for time, on, pitch, velocity, channel in sent:
        if on:
            open_notes[(channel, pitch)] = (time, velocity)
        elif (channel, pitch) in open_notes:
            start, on_velocity = open_notes.pop((channel, pitch))
            notes.append(Note(pitch, start, time, on_velocity))
    return sort_notes(notes)

