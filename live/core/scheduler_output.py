"""The scheduler's sending side and the output's invariants: a ledger of what sounds, no
note-off for a silent pitch, a re-strike ends the old note first, a note that outlives
its max length is ended here whatever happens upstream, and after a rollback the output
agrees with the restored performer. A part of live.core.scheduler.Scheduler (a mixin:
it reads the scheduler's queue, timeline, generator and send); all of it runs inside
the scheduler's guard."""

from __future__ import annotations

import heapq
from typing import NamedTuple

from live.core import vocab
from live.core.margins import WATCHDOG_SLACK
from live.core.outgoing import MidiOut
from live.core.performer import NoteMessage

ALL_NOTES_OFF, ALL_SOUND_OFF = 123, 120  # the MIDI channel-mode messages


class _Queued(NamedTuple):
    """A message waiting for its time; a plain tuple, so the heap compares it in C (the
    order breaks ties, so messages are never compared)."""

    due: float  # performance seconds
    order: int
    event: int  # index of the generated event that made it
    message: NoteMessage


class _Sounding(NamedTuple):
    started: float  # performance time it was sent at (a tempo change does not age it)
    max_seconds: float


class OutputLedger:
    """What a Scheduler sends, and what it knows sounds."""

    def deliver_due(self, now: float) -> float | None:
        """Send everything due by `now` and end notes past their max length. Returns the
        clock time of the next queued message, or None. Call it inside the guard."""
        queue = self._queue
        due_by = self.timeline.to_perf(now)
        while queue and queue[0].due <= due_by:
            item = heapq.heappop(queue)
            self._deliver(item, now, due_by)
        if self.sounding:
            self._watchdog(due_by)
        return self.timeline.to_clock(queue[0].due) if queue else None

    def flush(self, now: float) -> None:
        """Send everything queued, due or not (the end of a render)."""
        with self.guard:
            played = self.timeline.to_perf(now)
            while self._queue:
                self._deliver(heapq.heappop(self._queue), now, played)

    def forget_sounding(self) -> None:
        """The output port went away, and the notes on it with it."""
        with self.guard:
            self.sounding.clear()

    def all_notes_off(self, sound_off: bool = False) -> None:
        """Note-offs for all that sounds, CC 123 on each channel used, nothing queued sent
        after. sound_off (the panic) adds CC 120, cutting release tails a normal end keeps."""
        with self.guard:
            self._queue.clear()
            self._end(list(self.sounding), sound_off)

    def sounding_notes(self) -> tuple[tuple[int, int], ...]:
        with self.guard:
            return tuple(self.sounding)

    def end_notes(self, keys) -> None:
        """Note-offs for these (channel, pitch), sounding by the ledger or not (a port
        that came back may still hold them), and CC 123 on each channel used."""
        with self.guard:
            self._end(keys, sound_off=False)

    def _end(self, keys, sound_off: bool) -> None:
        for channel, pitch in keys:
            self._note_off(channel, pitch)
        for channel in sorted(self.channels_used):
            self.send(MidiOut("control_change", channel, ALL_NOTES_OFF, 0))
            if sound_off:
                self.send(MidiOut("control_change", channel, ALL_SOUND_OFF, 0))

    def _deliver(self, item: _Queued, now: float, played: float) -> None:
        message = item.message
        key = (message.channel, message.pitch)
        if item.event > self._last_sent_event:
            self._last_sent_event = item.event
        if message.on:
            if self.stale_after is not None and now - self.timeline.to_clock(item.due) > self.stale_after:
                return  # stood still past its time: dropped (its note-off finds it silent)
            if key in self.sounding:
                self._note_off(*key)  # a re-strike ends the old note first
            self.channels_used.add(message.channel)
            if self.send(MidiOut("note_on", message.channel, message.pitch, message.velocity, item.due)):
                self.sounding[key] = _Sounding(played, self.generator.max_note(message.channel))
        elif key in self.sounding:
            del self.sounding[key]
            self.channels_used.add(message.channel)
            self.send(MidiOut("note_off", message.channel, message.pitch, 0, item.due))

    def _note_off(self, channel: int, pitch: int) -> None:
        self.sounding.pop((channel, pitch), None)
        self._send(MidiOut("note_off", channel, pitch, 0))

    def _send(self, out: MidiOut) -> bool:
        self.channels_used.add(out.channel)
        return self.send(out)

    def _watchdog(self, played: float) -> None:
        """Whatever happens upstream, no note outlives its max length by much (counted
        in performance time: for a beat model, at 125 BPM)."""
        for (channel, pitch), note in list(self.sounding.items()):
            if played - note.started > note.max_seconds + WATCHDOG_SLACK:
                self._note_off(channel, pitch)

    def use_channel(self, channel: int) -> None:
        """Someone else sends on this channel through our port (thru): CC 123 covers it."""
        with self.guard:
            self.channels_used.add(channel)

    def _silence(self) -> None:
        """Drop the unsent future and end what sounds."""
        with self.guard:
            self._queue.clear()
            self._shifts.clear()
            for channel, pitch in list(self.sounding):
                self._note_off(channel, pitch)

    def _reconcile(self, played: float) -> None:
        """After a rollback the output must agree with the restored performer: a note
        sounding (or about to, from a kept note-on) that the performer no longer holds
        gets its note-off now, or it would never get one. Called inside the guard."""
        generator = self.generator
        held = generator.held_keys()
        pending_on: dict[tuple[int, int], float] = {}
        for item in self._queue:
            key = (item.message.channel, item.message.pitch)
            if item.message.on:
                pending_on[key] = max(pending_on.get(key, 0.0), item.due)
            else:
                pending_on.pop(key, None)
        for key in (set(self.sounding) | set(pending_on)) - held:
            due = max(played, pending_on.get(key, played)) + vocab.STEP_SECONDS
            off = NoteMessage(due, False, key[1], 0, key[0])
            heapq.heappush(self._queue, _Queued(due, next(self._order), 0, off))
