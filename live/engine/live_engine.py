"""The live engine: a generator thread runs a little ahead of the clock, a sender thread
sends each message at its due time.

One owner per mutable state: the generator thread alone touches the Generator (model
state, performer, random state); other threads (the CLI, the TUI, MIDI callbacks) send
it commands. The sender owns the truth of what is sounding on the output and keeps
the invariants there too, whatever arrives: no note-off for a silent pitch, a re-strike
ends the old note first, and a note that outlives the max note length is ended by the
sender itself, so a stalled model can never hang a note.

Knobs answer at once: a control change drops the future that has not been sent,
restores the generator to the last event already played, moves it to "now" and
generates again under the new controls.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import queue
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

from live.core import vocab
from live.core.controls import Controls
from live.core.errors import EncoreError
from live.core.generator import Generator
from live.core.performer import NoteMessage

SPIN_SECONDS = 0.0015  # sleep until this close to a due time, then spin
SEND_GUARD_SECONDS = 0.003  # no model step starts this close before a send
SWITCH_INTERVAL = 0.0005  # how long one thread may hold the GIL when another waits
DEFAULT_LOOKAHEAD = 0.1
RESTART_MARGIN = 0.006  # music regenerated after a knob turn starts this far after "now"
RESEED_MARGIN = 0.03  # after a reseed, panic or resume: time to prime the model first
WATCHDOG_SLACK = 0.05  # the sender ends a note this long past its max length
ERROR_HISTORY = 20_000  # send-time errors kept for the meters


@dataclass(order=True)
class Scheduled:
    due: float  # performance seconds
    order: int
    event: int = field(compare=False)  # index of the generated event that made it
    message: NoteMessage = field(compare=False)


@dataclass
class Sounding:
    started: float  # wall clock
    max_seconds: float


class Output:
    """Where messages go: a mido output port, a list in tests, or nothing (port lost)."""

    def __init__(self, port=None, on_lost: Callable[[str], None] | None = None):
        self.port = port
        self.lost = port is None
        self.on_lost = on_lost

    def send(self, message) -> bool:
        if self.lost:
            return False
        try:
            self.port.send(message)
            return True
        except Exception as err:  # a vanished port raises whatever its backend raises
            self.lost = True
            if self.on_lost:
                self.on_lost(f"output port lost ({err}); generation goes on silently")
            return False

    def replace(self, port) -> None:
        self.port = port
        self.lost = False

    def close(self) -> None:
        if self.port is not None:
            try:
                self.port.close()
            except Exception:
                pass


class LiveEngine:
    def __init__(
        self,
        generator: Generator,
        output: Output,
        clock: Callable[[], float] = time.perf_counter,
        lookahead: float = DEFAULT_LOOKAHEAD,
        recorder=None,
        log: Callable[[str], None] | None = None,
    ):
        self.generator = generator
        self.output = output
        self.clock = clock
        self.lookahead = lookahead
        self.recorder = recorder
        self.log = log or (lambda line: print(line, file=sys.stderr))

        self._lock = threading.Condition()
        self._heap: list[Scheduled] = []
        self._order = itertools.count()
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._wake = threading.Event()
        self._running = False
        self._playing = False
        self._threads: list[threading.Thread] = []
        self._origin = 0.0  # wall clock at performance time 0
        self._history: collections.deque = collections.deque()  # (event, time, snapshot)
        self._event_count = 0

        self.sounding: dict[tuple[int, int], Sounding] = {}  # (channel, pitch) -> note
        self.channels_used: set[int] = {generator.channel}
        self.send_errors: collections.deque = collections.deque(maxlen=ERROR_HISTORY)
        self.step_times: collections.deque = collections.deque(maxlen=ERROR_HISTORY)
        self.sent_notes = 0
        self.sent_at: collections.deque = collections.deque(maxlen=4096)  # wall times of note-ons
        self.generated_at: collections.deque = collections.deque(maxlen=4096)
        self.listeners: list[Callable[[NoteMessage, float], None]] = []
        self.failed: str | None = None

        self.quantizer = None  # a midiclock.Quantizer, or None
        self._shifts: dict[tuple[int, int], float] = {}  # quantise offset per sounding note
        self.respond_after: float | None = None  # call and response: answer after this pause
        self.player_held: set[int] = set()
        self.player_last = float("-inf")  # wall clock of the player's last note event
        self._answering = True
        self._changed_at: float | None = None  # wall clock of a control change not yet heard
        self.control_latencies: collections.deque = collections.deque(maxlen=1000)

    # ------------------------------------------------------------ public, any thread

    @property
    def controls(self) -> Controls:
        return self.generator.controls

    @property
    def playing(self) -> bool:
        return self._playing

    def start(self) -> None:
        """Start the threads and begin playing."""
        if self._running:
            return
        self._running = True
        self._playing = True
        # Python's default 5 ms switch interval would let the generator thread keep
        # the sender waiting that long; half a millisecond bounds it.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        self._origin = self.clock() + 0.02 - self.generator.performer.time
        self._mark_base()
        self._threads = [
            threading.Thread(target=self._guard(self._sender_loop), name="encore-sender", daemon=True),
            threading.Thread(target=self._guard(self._generator_loop), name="encore-generator", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop for good: every sounding note ends, CC 123 on each channel used."""
        if not self._running:
            self.panic_now()
            return
        self._running = False
        self._wake.set()
        with self._lock:
            self._lock.notify_all()
        for thread in self._threads:
            thread.join(timeout=2.0)
        self.panic_now()

    def set_controls(self, controls: Controls) -> None:
        self._command(("controls", (controls, self.clock())))

    def update_controls(self, **changes) -> None:
        self._command(("update", (changes, self.clock())))

    def reseed(self, primer: list[int]) -> None:
        self._command(("reseed", list(primer)))

    def hear(self, on: bool, pitch: int, velocity: int = 0) -> None:
        """A note the player played: the model hears it, so encore continues the phrase."""
        if on:
            self.player_held.add(pitch)
        else:
            self.player_held.discard(pitch)
        self.player_last = self.clock()
        self._command(("hear", (on, pitch, velocity)))

    def pause(self) -> None:
        self._command(("pause", None))

    def resume(self) -> None:
        self._command(("resume", None))

    def panic(self) -> None:
        """All notes off now; generation goes on from a clean, silent state."""
        self._command(("panic", None))

    def performance_time(self) -> float:
        return self.clock() - self._origin

    # ------------------------------------------------------------ generator thread

    def _command(self, command) -> None:
        self._commands.put(command)
        self._wake.set()
        if not self._running:
            self._apply_commands()

    def _generator_loop(self) -> None:
        while self._running:
            self._apply_commands()
            if not self._playing or not self._our_turn():
                self._wake.wait(0.005)
                self._wake.clear()
                continue
            now = self.performance_time()
            ahead = self.generator.performer.time - now
            if ahead < 0:
                # Fell behind (a stalled model, a paused machine): skip to now rather
                # than send a burst of late notes.
                self._advance_to(now + RESTART_MARGIN)
                continue
            if ahead < self.lookahead:
                self._yield_to_sender()
                self._generate_one()
            else:
                self._wake.wait(min(ahead - self.lookahead + 0.001, 0.01))
                self._wake.clear()

    def _yield_to_sender(self) -> None:
        """Stay off the GIL while a send is imminent: a model step started now could
        hold the sender back by its length (or a switch interval) just as it is due."""
        with self._lock:
            due = self._origin + self._heap[0].due if self._heap else None
        if due is None:
            return
        wait = due - self.clock()
        if 0 < wait < SEND_GUARD_SECONDS:
            time.sleep(wait + 0.0003)

    def _our_turn(self) -> bool:
        """In call and response, encore is silent while the player plays, and answers
        once the player has paused for respond_after seconds."""
        if self.respond_after is None:
            return True
        player_busy = bool(self.player_held) or self.clock() - self.player_last < self.respond_after
        if player_busy and self._answering:
            self._answering = False
            self._silence()
        elif not player_busy and not self._answering:
            self._answering = True
            self.generator.reset_performer(self.performance_time() + RESTART_MARGIN)
            self._mark_base()
        return self._answering

    def _generate_one(self) -> None:
        begins_at = self.generator.performer.time  # where this event starts in the music
        started = time.perf_counter()
        event, messages = self.generator.next()
        self.step_times.append(time.perf_counter() - started)
        self.generated_at.append(started)
        self._event_count += 1
        index = self._event_count
        if self._changed_at is not None:
            # Knob turn to the moment the first event decided under the new controls
            # takes effect in the music (its start, on the wall clock).
            self.control_latencies.append(self._origin + begins_at - self._changed_at)
            self._changed_at = None
        self._history.append((index, self.generator.performer.time, self.generator.snapshot()))
        self._trim_history()
        if messages:
            self._schedule(index, messages)

    def _schedule(self, index: int, messages: list[NoteMessage]) -> None:
        with self._lock:
            for message in messages:
                due = message.time + self._quantize(message)
                heapq.heappush(self._heap, Scheduled(due, next(self._order), index, message))
            self._lock.notify()

    def _quantize(self, message: NoteMessage) -> float:
        """The offset that moves a note-on toward the grid; its note-off moves with it
        (and never lands before it, even when regenerated after a rollback)."""
        key = (message.channel, message.pitch)
        if not message.on:
            shift, on_due = self._shifts.get(key, (0.0, None))
            due = message.time + shift
            if on_due is not None and due < on_due + vocab.STEP_SECONDS:
                due = on_due + vocab.STEP_SECONDS
            return due - message.time
        shift = 0.0
        if self.quantizer is not None:
            shift = self.quantizer.shift(message.time, not_before=self.performance_time() + 0.002)
        self._shifts[key] = (shift, message.time + shift)
        return shift

    def _trim_history(self) -> None:
        # Keep snapshots back to the newest event already played: the rollback point.
        horizon = self.performance_time()
        while len(self._history) > 1 and self._history[1][1] <= horizon:
            self._history.popleft()

    def _apply_commands(self) -> None:
        changed = False  # a knob turn sends many CCs: roll back once for all of them
        turned_at = None  # when the first of them was turned
        while True:
            try:
                kind, value = self._commands.get_nowait()
            except queue.Empty:
                break
            if kind in ("controls", "update"):
                value, at = value
                try:
                    controls = value if kind == "controls" else self.generator.controls.with_(**value)
                except EncoreError as err:
                    self.log(f"control not changed: {err}")
                    continue
                self.generator.controls = controls
                changed = True
                turned_at = at if turned_at is None else min(turned_at, at)
            elif kind == "hear":
                self._rollback()
                changed = False
                on, pitch, velocity = value
                self.generator.hear(on, pitch, velocity)
            elif kind == "reseed":
                self._silence()
                self.generator.prime(value, at_seconds=self._restart_time())
                self._mark_base()
            elif kind == "panic":
                self._silence()
                self.generator.reset_performer(self._restart_time())
                self._mark_base()
            elif kind == "pause":
                self._playing = False
                self._silence()
            elif kind == "resume" and not self._playing:
                self.generator.reset_performer(self.generator.performer.time)
                self._origin = self.clock() + 0.02 - self.generator.performer.time
                self._mark_base()
                self._playing = True
        if changed:
            self._rollback()
            self._changed_at = turned_at  # measured at the first event made under them

    def _rollback(self) -> None:
        """Drop the unsent future; back to the last event already played, then to now."""
        if not self._running or not self._playing or not self._history:
            return  # paused: the new controls simply apply when play resumes
        with self._lock:
            now = self.performance_time()  # under the lock: the sender cannot move on
            committed = [(i, t, s) for i, t, s in self._history if t <= now + 0.002]
            # Right after a restart nothing has played yet: back to its first point.
            index, _, snapshot = committed[-1] if committed else self._history[0]
            self._heap = [s for s in self._heap if s.event <= index]
            heapq.heapify(self._heap)
            while self._history and self._history[-1][0] > index:
                self._history.pop()
            self.generator.restore(snapshot)
            self._reconcile()
        self._advance_to(now + RESTART_MARGIN)

    def _reconcile(self) -> None:
        """After a rollback the output must agree with the restored performer: a note
        sounding (or about to, from a kept note-on) that the performer no longer holds
        gets its note-off now, or it would never get one. Called holding the lock."""
        held = {(self.generator.channel, played) for played in self.generator.performer.playing}
        pending_on = {}
        for item in self._heap:
            key = (item.message.channel, item.message.pitch)
            if item.message.on:
                pending_on[key] = max(pending_on.get(key, 0.0), item.due)
            else:
                pending_on.pop(key, None)
        now = self.performance_time()
        for key in (set(self.sounding) | set(pending_on)) - held:
            due = max(now, pending_on.get(key, now)) + vocab.STEP_SECONDS
            off = NoteMessage(due, False, key[1], 0, key[0])
            heapq.heappush(self._heap, Scheduled(due, next(self._order), 0, off))

    def _advance_to(self, seconds: float) -> None:
        """Let time pass up to `seconds` as forced events the model hears (a rest)."""
        target = vocab.seconds_to_steps(seconds)
        performer, controls = self.generator.performer, self.generator.controls
        while performer.step < target:
            overdue = performer.overdue(controls)
            if overdue:
                event = vocab.note_off(overdue[0])
            else:
                left = performer.steps_left(controls)
                steps = min(target - performer.step, vocab.MAX_SHIFT_STEPS, left or vocab.MAX_SHIFT_STEPS)
                event = vocab.time_shift(max(1, steps))
            messages = self.generator.force(event)
            self._event_count += 1
            self._history.append((self._event_count, performer.time, self.generator.snapshot()))
            if messages:
                self._schedule(self._event_count, messages)

    def _silence(self) -> None:
        """Drop the unsent future and end what sounds."""
        with self._lock:
            self._heap.clear()
            self._shifts.clear()
            for channel, pitch in list(self.sounding):
                self._send_note_off(channel, pitch)

    def _restart_time(self) -> float:
        return self.performance_time() + RESEED_MARGIN if self._running else self.generator.performer.time

    def _mark_base(self) -> None:
        """The first rollback point of a fresh start."""
        self._history.clear()
        self._event_count += 1
        self._history.append((self._event_count, self.generator.performer.time, self.generator.snapshot()))

    # ------------------------------------------------------------ sender thread

    def _sender_loop(self) -> None:
        realtime_priority(self.log)
        while self._running:
            with self._lock:
                due = self._heap[0].due if self._heap else None
                if due is None:
                    self._lock.wait(0.005)
                    self._watchdog()
                    continue
                wait = self._origin + due - self.clock()
                if wait > SPIN_SECONDS:
                    self._lock.wait(min(wait - SPIN_SECONDS, 0.005))
                    self._watchdog()
                    continue
            target = self._origin + due
            while self.clock() < target:
                pass
            with self._lock:
                now = self.clock()
                while self._heap and self._origin + self._heap[0].due <= now:
                    item = heapq.heappop(self._heap)
                    self._deliver(item.message, now - (self._origin + item.due))
                self._watchdog()

    def forget_sounding(self) -> None:
        """The output port went away, and the notes on it with it."""
        with self._lock:
            self.sounding.clear()

    def _deliver(self, message: NoteMessage, error: float) -> None:
        """Send one message, keeping the output's invariants (called holding the lock)."""
        if self.output.lost:
            return  # nothing reaches a lost port; generation keeps its place
        key = (message.channel, message.pitch)
        if message.on:
            if key in self.sounding:
                self._send_note_off(*key)  # a re-strike ends the old note first
            if not self._send(_midi("note_on", message.channel, message.pitch, message.velocity)):
                return  # the port went away with it: nothing sounds
            self.sounding[key] = Sounding(self.clock(), self.generator.controls.max_note)
            self.sent_notes += 1
            self.sent_at.append(self.clock())
            self.send_errors.append(error)
        elif key in self.sounding:
            self._send_note_off(*key)
            self.send_errors.append(error)
        for listener in self.listeners:
            listener(message, error)

    def _send_note_off(self, channel: int, pitch: int) -> None:
        self._send(_midi("note_off", channel, pitch, 0))
        self.sounding.pop((channel, pitch), None)

    def _send(self, message) -> bool:
        self.channels_used.add(message.channel)
        sent = self.output.send(message)
        if sent and self.recorder is not None:
            self.recorder.sent(self.clock() - self._origin, message)
        return sent

    def _watchdog(self) -> None:
        """Whatever happens upstream, no note outlives its max length by much."""
        if not self.sounding:
            return
        now = self.clock()
        for (channel, pitch), note in list(self.sounding.items()):
            if now - note.started > note.max_seconds + WATCHDOG_SLACK:
                self._send_note_off(channel, pitch)

    # ------------------------------------------------------------ clean-up

    def panic_now(self) -> None:
        """From any thread: note-offs for everything sounding, CC 123 on each channel."""
        with self._lock:
            self._heap.clear()
            for channel, pitch in list(self.sounding):
                self._send_note_off(channel, pitch)
            for channel in sorted(self.channels_used):
                self._send(_midi_cc(channel, 123, 0))

    def _guard(self, loop):
        """A failing thread logs one line and silences the engine; it never dies loud."""

        def run():
            try:
                loop()
            except Exception as err:
                self.failed = f"{type(err).__name__}: {err}"
                self.log(f"engine error, all notes off: {self.failed}")
                traceback.print_exc(file=sys.stderr) if "--debug" in sys.argv else None
                self._running = False
                self.panic_now()

        return run


def realtime_priority(log) -> bool:
    """Ask the OS to run this thread (the sender) before ordinary work, as JACK does
    for audio: on a busy machine a waking sender otherwise waits for a free core.
    Where that is not allowed (no rtprio rights, other systems), say so once."""
    import os

    try:
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_FIFO, os.sched_param(10))
        return True
    except (AttributeError, OSError, PermissionError):
        log("note: no realtime priority for the MIDI sender (timing may suffer on a busy "
            "machine; on Linux allow it with rtprio in /etc/security/limits.conf)")
        return False


def _midi(kind: str, channel: int, pitch: int, velocity: int):
    import mido

    return mido.Message(kind, channel=channel, note=pitch, velocity=velocity)


def _midi_cc(channel: int, control: int, value: int):
    import mido

    return mido.Message("control_change", channel=channel, control=control, value=value)
