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
from typing import Callable, Iterable

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
from live.core.outgoing import MidiOut, ThrottledLog
from live.core.performer import NoteMessage
from live.core.timeline import Timeline
from live.core.margins import (  # noqa: F401 (the engine finds them here)
    COMMIT_MARGIN, DEFAULT_LOOKAHEAD, RESEED_MARGIN, RESTART_MARGIN, STALE_NOTE_ON, START_MARGIN,
)
from live.core.scheduler_form import LAUNCH_MODES, NO_LOOP_IN_SECONDS, FormCommands, LoopState  # noqa: F401
from live.core.scheduler_output import ALL_NOTES_OFF, ALL_SOUND_OFF, OutputLedger, _Queued, _Sounding  # noqa: F401

REJECTED_LOG_SECONDS = 5.0  # a knob flooding bad values is said once per this, per control
IDLE_WAIT = 0.005  # paused, or waiting for the player: look again this soon
MAX_WAIT = 0.01  # never plan further than this before looking at the clock again
LATENCY_HISTORY = 1000
_NEVER = float("inf")
SIXTEENTH_STEPS = vocab.STEPS_PER_BEAT // 4
SHAPING_ONLY = frozenset(spec.name for spec in CONTROL_SPECS if not spec.resamples)


def _nothing() -> None:
    pass


class Scheduler(OutputLedger, FormCommands):
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


    def finish(self, now: float) -> None:
        """End the performance: the performer ends its notes, everything queued leaves."""
        messages = self.generator.finish()
        if messages:
            self._queue_messages(0, messages, now)
        self.flush(now)

    # ------------------------------------------------------------ inside


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
