"""The scheduler: one performance, stepped with an explicit `now`, the same in render and
on stage.

It owns generating ahead of the clock (the lookahead), the queue of due messages, the
history of snapshots and the rollback on a control change, reseed, panic, pause and
resume, call and response, the quantise grid, and the output's invariants: a ledger of
what sounds, no note-off for a silent pitch, a re-strike ends the old note first, and a
note that outlives its max length is ended here whatever happens upstream, so a stalled
model can never hang a note.

`now` is a clock reading in seconds (the wall clock live, a virtual one in render);
the timeline (live.core.timeline) maps it to performance time and back, through the
tempo for a beat model; what is queued is kept in performance time, so a tempo change
moves everything not yet sent onto the new grid, and nothing already sent. Two callers may share it: one generates
(`plan`, `generate_one`, `apply`), one sends (`deliver_due`). The queue and the ledger
are touched only inside `guard` (the live engine passes its lock; render none), and the
model steps outside it, so a sender is never held up by the model. What leaves goes
through `send`, called inside the guard: a panic can never overtake a note-on.
"""

from __future__ import annotations

import collections
import heapq
import math
import itertools
from contextlib import nullcontext
from typing import Callable, Iterable, NamedTuple

from live.core import vocab
from live.core.bars import to_bar_line
from live.core.commands import (
    ChangeControls, Command, FollowBeat, Hear, Panic, Pause, PhraseAction, PlayChord, Reseed, Resume, SetChords,
    SetLaunch, SetLoop, SetQuantizer, SetTempo,
)
from live.core.controls import CONTROL_SPECS, GRID_STEPS
from live.core.errors import EncoreError
from live.core.generator import Generator
from live.core.looper import LoopAction
from live.core.phrase import LOOP_BARS
from live.core.outgoing import MidiOut, ThrottledLog
from live.core.performer import NoteMessage
from live.core.timeline import Timeline

DEFAULT_LOOKAHEAD = 0.1
START_MARGIN = 0.02  # the first event is due this long after start (or resume)
RESTART_MARGIN = 0.006  # music regenerated after a knob turn starts this far after "now"
ALL_NOTES_OFF, ALL_SOUND_OFF = 123, 120  # the MIDI channel-mode messages
RESEED_MARGIN = 0.03  # after a reseed or panic: time to prime the model first
COMMIT_MARGIN = 0.002  # an event due this close to "now" may already be on its way out
WATCHDOG_SLACK = 0.05  # a note is ended this long past its max length
# A note-on this late is dropped, not sent: after the machine (or the process) stood
# still, a burst of stale notes would come out as blips, not music.
STALE_NOTE_ON = 0.05
REJECTED_LOG_SECONDS = 5.0  # a knob flooding bad values is said once per this, per control
IDLE_WAIT = 0.005  # paused, or waiting for the player: look again this soon
MAX_WAIT = 0.01  # never plan further than this before looking at the clock again
LATENCY_HISTORY = 1000
_NEVER = float("inf")
SIXTEENTH_STEPS = vocab.STEPS_PER_BEAT // 4
SHAPING_ONLY = frozenset(spec.name for spec in CONTROL_SPECS if not spec.resamples)
LAUNCH_MODES = ("bar", "beat", "now")
NO_LOOP_IN_SECONDS = ("no loop: a loop counts bars, and this model plays in seconds, without a beat "
                      "(play a beat model; `encore info MODEL` says which time a model speaks)")


class LoopState(NamedTuple):
    """The loop as a screen shows it (read from another thread: a moment's view)."""

    bars: int  # the length asked last (0: no loop)
    bar: int | None  # the loop's bar heard now, from 1
    passes: int  # times round (the first pass is its capture)
    hold: bool
    capturing: bool  # its phrase is being played for the first time
    launch: str
    anchor: float | None  # performance time of a bar 1 of the loop
    phrase: tuple  # its bars (live.core.phrase.Bar, None where not played yet)


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


def _nothing() -> None:
    pass


class Scheduler:
    def __init__(
        self,
        generator: Generator,
        send: Callable[[MidiOut], bool],
        lookahead: float = DEFAULT_LOOKAHEAD,
        guard=None,
        on_queued: Callable[[], None] = _nothing,
        log: Callable[[str], None] = _nothing,
        timeline: Timeline | None = None,
    ):
        self.generator = generator
        self.send = send  # False when the message did not leave (a lost port)
        self.lookahead = lookahead
        self.guard = guard if guard is not None else nullcontext()
        self.on_queued = on_queued  # called inside the guard: something new is queued
        self.log = log

        self.timeline = timeline if timeline is not None else Timeline()
        self.started = False
        self.playing = False
        self.quantizer = None  # a live.core.tempo.Quantizer, or None
        self.respond_after: float | None = None  # call and response: answer after this pause
        # Snapshots are kept from this performance time on. Live, always; a render that
        # knows when its next cue comes skips them until shortly before (they cost 15 %).
        self.history_from = float("-inf")
        # Live: note-ons later than this are dropped (STALE_NOTE_ON). A render's virtual
        # clock delivers late by design, so there it is None.
        self.stale_after: float | None = None

        self._queue: list[_Queued] = []
        self._order = itertools.count()
        self._history: collections.deque = collections.deque()  # (event index, time, snapshot)
        # Live, the generator forgets what lies far behind the oldest rollback point (a set
        # of hours); a render keeps every event, its result.
        self.forgets = False
        self._event_count = 0
        self._last_sent_event = 0  # the newest event a message of which has left
        self._shifts: dict[tuple[int, int], tuple[float, float | None]] = {}
        self._player_held: set[int] = set()
        self._player_last = float("-inf")  # clock time of the player's last note
        self._answering = True
        self._changed_at: float | None = None  # clock time of a control change not yet heard
        self._refusals = ThrottledLog(lambda line: self.log(line), REJECTED_LOG_SECONDS)  # a flooding knob

        self.sounding: dict[tuple[int, int], _Sounding] = {}  # (channel, pitch) -> note
        self.channels_used: set[int] = set(generator.channels)
        self.events_generated = 0
        self.control_latencies: collections.deque = collections.deque(maxlen=LATENCY_HISTORY)
        # of each, the wait for the grid's next line (a beat model starts new music only on
        # its grid, as a step sequencer takes a change at its next step); 0 for seconds models
        self.grid_waits: collections.deque = collections.deque(maxlen=LATENCY_HISTORY)
        self.launch = "bar"  # when phrase actions land (SetLaunch)
        self.loop_bars = generator.looper.bars if generator.looper is not None else 0  # asked last
        self._loop_actions: list[LoopAction] = []  # given, not yet behind the music
        self._loop_serial = itertools.count(1)
        # (action, clock time given, clock time it lands): how long a press waits for its line
        self.loop_landings: collections.deque = collections.deque(maxlen=LATENCY_HISTORY)

    # ------------------------------------------------------------ time

    def performance_time(self, now: float) -> float:
        return self.timeline.to_perf(now)

    def start(self, now: float, margin: float = START_MARGIN) -> None:
        """Begin playing: the first event is due `margin` after `now`, and is beat 0
        (a beat model's primer ends on a bar line: it plays from a downbeat)."""
        self.started = self.playing = True
        self.timeline.place(self.generator.performer.time, now + margin)
        self.timeline.beat_origin = self.generator.performer.time
        self._mark_base()

    # ------------------------------------------------------------ the generating side

    def plan(self, now: float) -> float:
        """How long the generating side may wait before its next turn: 0 means generate
        one event now (`generate_one`). Skips ahead to `now` when generation fell behind
        (a stalled model, a paused machine) rather than send a burst of late notes."""
        if not self.playing or (self.respond_after is not None and not self._our_turn(now)):
            return IDLE_WAIT
        timeline = self.timeline
        played = timeline.to_perf(now)
        ahead = timeline.to_clock(self.generator.performer.time) - now
        if ahead < 0:
            self._advance_to(played + RESTART_MARGIN, now)
            return 0.0
        if ahead < self.lookahead:
            return 0.0
        return min(ahead - self.lookahead + 0.001, MAX_WAIT)

    def generate_one(self, now: float) -> None:
        """Sample, play and queue one event."""
        generator = self.generator
        begins_at = generator.performer.step  # where this event starts in the music
        _, messages = generator.next()
        self.events_generated += 1
        self._event_count += 1
        index = self._event_count
        if self._changed_at is not None:
            # Knob turn to the moment the first event decided under the new controls
            # takes effect in the music (its start, on the clock).
            turned = self._changed_at
            self.control_latencies.append(self.timeline.to_clock(begins_at * vocab.STEP_SECONDS) - turned)
            line = self._on_grid(self.timeline.to_perf(turned) + RESTART_MARGIN) if self.timeline.beats else None
            self.grid_waits.append(0.0 if line is None else max(0.0, self.timeline.to_clock(line) - turned))
            self._changed_at = None
        if self.history_from != _NEVER and generator.performer.time >= self.history_from:
            self._history.append((index, generator.performer.time, generator.snapshot()))
            self._trim_history(now)
        if messages:
            self._queue_messages(index, messages, now)

    def next_due(self) -> float | None:
        """Clock time of the next queued message (None when nothing is queued)."""
        with self.guard:
            return self.timeline.to_clock(self._queue[0].due) if self._queue else None

    def upcoming(self, limit: int = 100) -> list[tuple[float, int, bool, int]]:
        """What is queued, soonest first: (due performance seconds, pitch, on, velocity)."""
        with self.guard:
            items = sorted(self._queue)[:limit]
        return [(item.due, item.message.pitch, item.message.on, item.message.velocity) for item in items]

    def use_channel(self, channel: int) -> None:
        """Someone else sends on this channel through our port (thru): CC 123 covers it."""
        with self.guard:
            self.channels_used.add(channel)

    def apply(self, commands: Iterable[Command], now: float) -> None:
        """Apply commands in order; a knob turn's many CCs roll back once for all."""
        changed = False
        turned_at = None  # when the first of them was turned
        for command in commands:
            if isinstance(command, ChangeControls):
                try:
                    voice = self.generator.voice(command.voice)
                    voice.controls = voice.controls.with_(**command.changes)
                except (EncoreError, TypeError, KeyError) as err:
                    self._refusals.say(",".join(sorted(command.changes)), f"control not changed: {err}", now)
                    continue
                turned_at = command.at if turned_at is None else min(turned_at, command.at)
                if not SHAPING_ONLY.issuperset(command.changes):
                    changed = True  # the future must be sampled again
                elif self._changed_at is None:
                    self._changed_at = turned_at  # heard from the next note on
            elif isinstance(command, Hear):
                if command.on:
                    self._player_held.add(command.pitch)
                else:
                    self._player_held.discard(command.pitch)
                self._player_last = max(self._player_last, command.at)
                self._rollback(now)
                changed = False
                self.generator.hear(command.on, command.pitch, command.velocity)
            elif isinstance(command, Reseed):
                self._silence()
                primer, at = list(command.primer), self._restart_time(now)
                if self.timeline.beats and self.started:
                    # a new seed comes in on the next bar line, the model at the start of a bar
                    primer, at = to_bar_line(primer), self._on_grid(at, 4 * self.timeline.perf_per_beat())
                self.generator.prime(primer, at_seconds=at)
                self._loop_comes_in(renew=True)
                self._mark_base()
            elif isinstance(command, Panic):
                # everything silent, and it stays so until Resume (space): a panic that
                # played straight on would not be one
                self.playing = False
                self._shifts.clear()
                self.all_notes_off(sound_off=True)
                self.generator.reset_performer(self._restart_time(now))
                self._mark_base()
            elif isinstance(command, Pause):
                self.playing = False
                self._silence()
            elif isinstance(command, Resume):
                if self.started and not self.playing:
                    performer_time = self.generator.performer.time
                    self.generator.reset_performer(performer_time)
                    # a beat model goes on from its grid (the pause may have come between
                    # two 32nds), or from the next bar line: the model hears the rest
                    bar = 4 * self.timeline.perf_per_beat() if command.from_bar_line else None
                    performer_time = self._rest_until(self._on_grid(performer_time, bar))
                    self._loop_comes_in(restart=command.from_bar_line)
                    margin = START_MARGIN if command.margin is None else command.margin
                    with self.guard:
                        self.timeline.place(performer_time, now + margin)
                        if command.from_bar_line:
                            self.timeline.beat_origin = performer_time
                    if command.from_bar_line and self.generator.harmony is not None:
                        self.generator.harmony = self.generator.harmony.moved(
                            vocab.seconds_to_steps(performer_time))
                    self._mark_base()
                    self.playing = True
            elif isinstance(command, SetLoop):
                self._set_loop(command, now)
            elif isinstance(command, PhraseAction):
                self._phrase_action(command.kind, now)
            elif isinstance(command, SetLaunch):
                if command.when in LAUNCH_MODES:
                    self.launch = command.when
                else:
                    self._refusals.say("launch", f"launch not changed: {command.when!r} is not one of "
                                       f"{', '.join(LAUNCH_MODES)}", now)
            elif isinstance(command, (SetChords, PlayChord)):
                self._harmony_change(command, now)
            elif isinstance(command, SetQuantizer):
                self.quantizer = command.quantizer
            elif isinstance(command, SetTempo):
                try:
                    with self.guard:  # the sender maps times through it
                        self.timeline.set_bpm(command.bpm, now, command.source)
                except ValueError as err:
                    self._refusals.say("tempo", f"tempo not changed: {err}", now)
            elif isinstance(command, FollowBeat):
                try:
                    with self.guard:
                        self.timeline.lock(command.at, command.beat, command.bpm, command.source)
                except ValueError as err:
                    self._refusals.say("tempo", f"clock not followed: {err}", now)
            else:
                raise TypeError(f"not a scheduler command: {command!r}")
        if changed:
            self._rollback(now)
            self._changed_at = turned_at  # measured at the first event made under them

    # ------------------------------------------------------------ the sending side

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

    def finish(self, now: float) -> None:
        """End the performance: the performer ends its notes, everything queued leaves."""
        messages = self.generator.finish()
        if messages:
            self._queue_messages(0, messages, now)
        self.flush(now)

    # ------------------------------------------------------------ inside

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

    def _queue_messages(self, index: int, messages: list[NoteMessage], now: float) -> None:
        quantizing = self.quantizer is not None or self._shifts
        with self.guard:
            for message in messages:
                due = message.time + self._quantize(message, now) if quantizing else message.time
                heapq.heappush(self._queue, _Queued(due, next(self._order), index, message))
            self.on_queued()

    def _quantize(self, message: NoteMessage, now: float) -> float:
        """The offset that moves a note-on toward the grid; its note-off moves with it
        (and never lands before it, even when regenerated after a rollback)."""
        if self.quantizer is None and not self._shifts:
            return 0.0
        key = (message.channel, message.pitch)
        if not message.on:
            shift, on_due = self._shifts.get(key, (0.0, None))
            due = message.time + shift
            if on_due is not None and due < on_due + vocab.STEP_SECONDS:
                due = on_due + vocab.STEP_SECONDS
            return due - message.time
        shift = 0.0
        if self.quantizer is not None:
            shift = self.quantizer.shift(message.time, not_before=self.timeline.to_perf(now) + 0.002)
        self._shifts[key] = (shift, message.time + shift)
        return shift

    def _trim_history(self, now: float) -> None:
        # Keep snapshots back to the newest event already played: the rollback point.
        horizon = self.timeline.to_perf(now)
        history = self._history
        while len(history) > 1 and history[1][1] <= horizon:
            history.popleft()
        if self.forgets and history:
            self.generator.forget_before(history[0][2])

    def _rollback(self, now: float) -> None:
        """Drop the unsent future; back to the last event already played, then to now."""
        if not self.started or not self.playing or not self._history:
            return  # paused: the new controls simply apply when play resumes
        with self.guard:
            played = self.timeline.to_perf(now)
            # Committed: due by now, or a message of it has already left.
            committed = [
                entry for entry in self._history
                if entry[1] <= played + COMMIT_MARGIN or entry[0] <= self._last_sent_event
            ]
            # Right after a restart nothing has played yet: back to its first point.
            index, _, snapshot = committed[-1] if committed else self._history[0]
            self._queue = [item for item in self._queue if item.event <= index]
            heapq.heapify(self._queue)
            while self._history and self._history[-1][0] > index:
                self._history.pop()
            self.generator.restore(snapshot)
            self._reinstall_loop_actions()
            self._reconcile(played)
        self._advance_to(played + RESTART_MARGIN, now)

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

    def _on_grid(self, perf: float, grid: float | None = None) -> float:
        """A beat model restarts (after a knob turn, a reseed, a pause) on the next line of
        its grid control (or `grid`) from its beat 0, never between: a model left between two 16ths carries
        on from there, off the beat for good (measured: a resume between two 32nds put
        every later note half a 16th late). A seconds model restarts where it is."""
        timeline = self.timeline
        if not timeline.beats:
            return perf
        # the grid control's lines (a 16th when it is off: where a model's phase lives)
        grid = grid or (GRID_STEPS.get(self.generator.controls.grid) or SIXTEENTH_STEPS) * vocab.STEP_SECONDS
        return timeline.beat_origin + math.ceil((perf - timeline.beat_origin) / grid - 1e-9) * grid

    def _advance_to(self, seconds: float, now: float) -> None:
        """Let time pass up to `seconds` (on a beat model's grid) as forced events the
        model hears (a rest)."""
        target = vocab.seconds_to_steps(self._on_grid(seconds))
        generator = self.generator
        if generator.performer.step >= target:
            return
        messages = generator.rest_to(target)
        self._event_count += 1
        self._history.append((self._event_count, generator.performer.time, generator.snapshot()))
        if messages:
            self._queue_messages(self._event_count, messages, now)

    def _rest_until(self, perf: float) -> float:
        """The model hears a rest up to performance time `perf`; returns where it is."""
        self.generator.rest_to(vocab.seconds_to_steps(perf))
        return self.generator.performer.time

    def _silence(self) -> None:
        """Drop the unsent future and end what sounds."""
        with self.guard:
            self._queue.clear()
            self._shifts.clear()
            for channel, pitch in list(self.sounding):
                self._note_off(channel, pitch)

    def _our_turn(self, now: float) -> bool:
        """In call and response, encore is silent while the player plays, and answers
        once the player has paused for respond_after seconds."""
        if self.respond_after is None:
            return True
        busy = bool(self._player_held) or now - self._player_last < self.respond_after
        if busy and self._answering:
            self._answering = False
            self._silence()
        elif not busy and not self._answering:
            self._answering = True
            answer_at = self._on_grid(self.timeline.to_perf(now) + RESTART_MARGIN)
            if self.timeline.beats:
                # the model hears the rest while the player played: it answers on its bar's grid
                performer_time = self.generator.performer.time
                self.generator.reset_performer(performer_time)
                self._rest_until(max(answer_at, self._on_grid(performer_time)))
                self._loop_comes_in()
            else:
                self.generator.reset_performer(answer_at)
            self._mark_base()
        return self._answering

    def _restart_time(self, now: float) -> float:
        if not self.started:
            return self.generator.performer.time
        return self._on_grid(self.timeline.to_perf(now) + RESEED_MARGIN)

    def _mark_base(self) -> None:
        """The first rollback point of a fresh start."""
        self._history.clear()
        self._event_count += 1
        self._history.append((self._event_count, self.generator.performer.time, self.generator.snapshot()))

    # ------------------------------------------------------------ harmony

    def _harmony_change(self, command, now: float) -> None:
        """A progression from the next bar line, a played chord from the next beat; the
        unsent future is made again if it is made past there."""
        from live.core.harmony import Harmony

        if not self.timeline.beats:
            self._refusals.say("chords", "no chords: they change on beats and bars, and this model plays in "
                               "seconds (play a beat model)", now)
            return
        chord = isinstance(command, PlayChord)
        what = command.chord if chord else command.progression
        perf = self.timeline.to_perf(now) + RESTART_MARGIN if self.started else self.generator.performer.time
        beat = self.timeline.perf_per_beat()
        at = vocab.seconds_to_steps(self._on_grid(perf, beat if chord else 4 * beat))
        generator = self.generator
        if generator.harmony is None:
            origin = vocab.seconds_to_steps(self.timeline.beat_origin)
            generator.harmony = Harmony.of(what, at, generator.harmony_key, origin)
        else:
            generator.harmony = generator.harmony.then(what, at)
        if self.started and self.playing and at < generator.performer.step:
            self._rollback(now)

    # ------------------------------------------------------------ loops

    def loop_state(self, now: float) -> LoopState:
        looper = self.generator.looper
        if looper is None or not looper.bars or looper.anchor is None:
            return LoopState(self.loop_bars, None, 0, False, bool(self.loop_bars), self.launch, None, ())
        step = vocab.seconds_to_steps(self.timeline.sounding_at(now))
        bar = looper.bar_at(step)
        return LoopState(self.loop_bars, None if bar is None else bar + 1, looper.passes, looper.hold,
                         not looper.complete, self.launch, looper.anchor * vocab.STEP_SECONDS, looper.phrase)

    def _set_loop(self, command: SetLoop, now: float) -> None:
        if not self.timeline.beats:
            self._refusals.say("loop", NO_LOOP_IN_SECONDS, now)
            return
        bars = command.bars
        if command.change == "double":
            if not self.loop_bars:
                self._refusals.say("loop", "no loop to double: set a loop length first", now)
                return
            bars = min(self.loop_bars * 2, LOOP_BARS[-1])
        elif command.change == "halve":
            if not self.loop_bars:
                self._refusals.say("loop", "no loop to halve: set a loop length first", now)
                return
            bars = max(self.loop_bars // 2, 1)
        if bars not in LOOP_BARS:
            self._refusals.say("loop", f"loop not changed: {bars!r} bars; a loop is "
                               f"{', '.join(map(str, LOOP_BARS[1:]))} bars (0: off)", now)
            return
        if bars == self.loop_bars:
            return
        looper = self.generator.loop()
        launch = self._launch_step(now)
        # a length lands on the loop's own bar line; a loop begins at the launch point
        at = looper.next_bar_line(launch) if self.loop_bars and looper.bars else launch
        self.loop_bars = bars
        self._give(LoopAction("bars", at, bars, next(self._loop_serial)), now)

    def _phrase_action(self, kind: str, now: float) -> None:
        if not self.timeline.beats:
            self._refusals.say("loop", NO_LOOP_IN_SECONDS, now)
            return
        if kind not in ("next", "mutate", "hold"):
            self._refusals.say("loop", f"no phrase action {kind!r}; choose next, mutate or hold", now)
            return
        if not self.loop_bars:
            self._refusals.say("loop", f"no loop to {kind}: set a loop length first", now)
            return
        self._give(LoopAction(kind, self._launch_step(now), 0, next(self._loop_serial)), now)

    def _give(self, action: LoopAction, now: float) -> None:
        """Hand an action to the looper; if the music is made past where it lands, the
        unsent future is made again (it lands there, not a lookahead late)."""
        self._prune_loop_actions()
        self._loop_actions.append(action)
        lands = self.timeline.to_clock(action.at_step * vocab.STEP_SECONDS)
        self.loop_landings.append((action.kind, now, max(lands, now)))
        generator = self.generator
        if self.started and self.playing and action.at_step < generator.performer.step and self._history:
            self._rollback(now)  # restores, reinstalls the actions, then plays on
        else:
            generator.loop().install([action])

    def _launch_step(self, now: float) -> int:
        perf = self.timeline.to_perf(now) + RESTART_MARGIN if self.started else self.generator.performer.time
        if self.launch == "bar":
            perf = self._on_grid(perf, 4 * self.timeline.perf_per_beat())
        elif self.launch == "beat":
            perf = self._on_grid(perf, self.timeline.perf_per_beat())
        else:
            perf = self._on_grid(perf)
        return vocab.seconds_to_steps(perf)

    def _reinstall_loop_actions(self) -> None:
        """After a rollback: the restored state may be older than some actions given."""
        if self._loop_actions:
            self.generator.loop().install(self._loop_actions)

    def _prune_loop_actions(self) -> None:
        """Actions that landed before the oldest rollback point can never be needed again."""
        if not self._loop_actions or not self._history:
            return
        saved = self._history[0][2].loop
        landed = saved[0]["applied"] if saved is not None else 0
        self._loop_actions = [a for a in self._loop_actions if a.serial > landed]

    def _loop_comes_in(self, restart: bool = False, renew: bool = False) -> None:
        """After the performer was placed anew (resume, reseed, an answer): where the
        loop goes on (its next bar line; from bar 1 on a clock Start; anew on a reseed)."""
        self.generator.loop_comes_in(restart=restart, renew=renew)
