"""The live engine: the core's Scheduler on the wall clock, in two threads, on a port.

The generator thread alone generates (it owns the Generator: model state, performer,
random state) and applies the commands other threads queue (the CLI, the TUI, MIDI
callbacks); the sender thread sends each message at its due time. They share the
scheduler's queue and ledger under one lock; the model steps outside it, so a send is
never held up by a step. All the music's rules are the scheduler's: this file is threads,
waits, the port and the meters.

`pump()` does one turn of both threads' work without threads, for a virtual clock: the
engine's tests drive time instead of sleeping.
"""

from __future__ import annotations

import collections
import queue
import sys
import threading
import time
from typing import Callable

from live.core.commands import (
    ChangeControls, Command, FollowBeat, Hear, Panic, Pause, PhraseAction, PlayChord, Reseed, Resume, SetChords,
    SetLaunch, SetLoop, SetQuantizer, SetTempo,
)
from live.core.controls import Controls
from live.core.generator import Generator
from live.core.performer import NoteMessage
from live.core.scheduler import DEFAULT_LOOKAHEAD, STALE_NOTE_ON, START_MARGIN, MidiOut, Scheduler
from live.core.timeline import Timeline

SPIN_SECONDS = 0.0015  # sleep until this close to a due time, then spin
SEND_GUARD_SECONDS = 0.003  # no model step starts this close before a send
SWITCH_INTERVAL = 0.0005  # how long one thread may hold the GIL when another waits
MAX_SLEEP = 0.005  # a waiting thread looks again this soon (a stop, a new command)
METER_HISTORY = 20_000  # send-time errors and step times kept for the meters


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


def to_mido(out: MidiOut):
    import mido

    if out.kind == "control_change":
        return mido.Message("control_change", channel=out.channel, control=out.number, value=out.value)
    return mido.Message(out.kind, channel=out.channel, note=out.number, velocity=out.value)


class LiveEngine:
    def __init__(
        self,
        generator: Generator,
        output: Output,
        clock: Callable[[], float] = time.perf_counter,
        lookahead: float = DEFAULT_LOOKAHEAD,
        recorder=None,
        log: Callable[[str], None] | None = None,
        timeline: Timeline | None = None,
    ):
        self.output = output
        self.clock = clock
        self.recorder = recorder
        self.log = log or (lambda line: print(line, file=sys.stderr))
        self._lock = threading.Condition()
        self.scheduler = Scheduler(
            generator, self._send, lookahead=lookahead, guard=self._lock,
            on_queued=self._lock.notify, log=self.log, timeline=timeline,
        )
        self.scheduler.stale_after = STALE_NOTE_ON
        self.scheduler.forgets = True  # memory flat over a set of hours
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._wake = threading.Event()
        self._running = False
        self._threads: list[threading.Thread] = []

        self.send_errors: collections.deque = collections.deque(maxlen=METER_HISTORY)
        self.step_times: collections.deque = collections.deque(maxlen=METER_HISTORY)
        self.sent_notes = 0
        self.sent_at: collections.deque = collections.deque(maxlen=4096)  # clock times of note-ons
        self.listeners: list[Callable[[NoteMessage, float], None]] = []
        self.failed: str | None = None
        self._leaving_at = 0.0  # clock time the sender began delivering what is due

    # ------------------------------------------------------------ what others read

    @property
    def generator(self) -> Generator:
        return self.scheduler.generator

    @property
    def controls(self) -> Controls:
        return self.scheduler.generator.controls

    @property
    def playing(self) -> bool:
        return self.scheduler.playing

    @property
    def control_latencies(self):
        return self.scheduler.control_latencies

    @property
    def held(self) -> int:
        return len(self.scheduler.sounding)

    @property
    def quantizer(self):
        return self.scheduler.quantizer

    @property
    def respond_after(self) -> float | None:
        return self.scheduler.respond_after

    @respond_after.setter
    def respond_after(self, seconds: float | None) -> None:
        self.scheduler.respond_after = seconds  # call and response: answer after this pause

    def performance_time(self, at: float | None = None) -> float:
        """Performance seconds at clock time `at` (now by default)."""
        return self.scheduler.performance_time(self.clock() if at is None else at)

    def upcoming(self, limit: int = 100):
        return self.scheduler.upcoming(limit)

    # ------------------------------------------------------------ commands, any thread

    def update_controls(self, voice: str | None = None, **changes) -> None:
        """Change controls of the lead, or of another voice ("bass")."""
        self._command(ChangeControls(changes, self.clock(), voice))

    def hear(self, on: bool, pitch: int, velocity: int = 0) -> None:
        """A note the player played: the model hears it, so encore continues the phrase."""
        self._command(Hear(on, pitch, velocity, self.clock()))

    def reseed(self, primer: list[int]) -> None:
        self._command(Reseed(tuple(primer)))

    def pause(self) -> None:
        self._command(Pause())

    def resume(self, margin: float | None = None) -> None:
        self._command(Resume(margin=margin))

    def restart_on_bar(self) -> None:
        """Resume from the next bar line, as beat 0 (a MIDI clock Start)."""
        self._command(Resume(from_bar_line=True))

    def set_tempo(self, bpm: float, source: str = "internal") -> None:
        self._command(SetTempo(bpm, self.clock(), source))

    def follow_beat(self, beat: FollowBeat) -> None:
        """From any thread: an external clock's beat (see live.engine.midiclock)."""
        self._command(beat)

    @property
    def timeline(self) -> Timeline:
        return self.scheduler.timeline

    def panic(self) -> None:
        """All notes off (note-offs, CC 123 and 120 on each channel used), then stopped
        until resume(): generation starts again from a clean, silent state."""
        self._command(Panic())

    def set_loop(self, bars: int = 0, change: str | None = None) -> None:
        """A loop of `bars` bars (0: off), or change='double' / 'halve'."""
        self._command(SetLoop(bars, change))

    def phrase_action(self, kind: str) -> None:
        """'next', 'mutate' or 'hold', landing at the launch point."""
        self._command(PhraseAction(kind))

    def set_chords(self, progression) -> None:
        """A progression (live.core.chords.Progression) from the next bar line."""
        self._command(SetChords(progression))

    def play_chord(self, chord) -> None:
        """A chord held on the input (live.core.chords.Chord), from the next beat."""
        self._command(PlayChord(chord))

    def set_launch(self, when: str) -> None:
        self._command(SetLaunch(when))

    def loop_state(self):
        return self.scheduler.loop_state(self.clock())

    def set_quantizer(self, quantizer) -> None:
        self._command(SetQuantizer(quantizer))

    def use_channel(self, channel: int) -> None:
        self.scheduler.use_channel(channel)

    def _command(self, command: Command) -> None:
        self._commands.put(command)
        self._wake.set()
        if not self._running:
            self._apply_commands()  # no generator thread to do it

    def _apply_commands(self) -> None:
        commands = []
        while True:
            try:
                commands.append(self._commands.get_nowait())
            except queue.Empty:
                break
        if commands:
            self.scheduler.apply(commands, self.clock())

    # ------------------------------------------------------------ life

    def start(self, threads: bool = True, margin: float = START_MARGIN) -> None:
        """Begin playing, the first note `margin` from now; threads=False leaves the work to
        pump() (a virtual clock)."""
        if self._running:
            return
        self._running = True
        self.scheduler.start(self.clock(), margin)
        if not threads:
            return
        # Python's default 5 ms switch interval would let the generator thread keep
        # the sender waiting that long; half a millisecond bounds it.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        self._threads = [
            threading.Thread(target=self._guard(self._sender_loop), name="encore-sender", daemon=True),
            threading.Thread(target=self._guard(self._generator_loop), name="encore-generator", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop for good: every sounding note ends, CC 123 on each channel used."""
        self._running = False
        self._wake.set()
        with self._lock:
            self._lock.notify_all()
        for thread in self._threads:
            thread.join(timeout=2.0)
        self.panic_now()

    def panic_now(self) -> None:
        """From any thread: note-offs for everything sounding, CC 123 on each channel."""
        self.scheduler.all_notes_off()

    def sounding_notes(self):
        return self.scheduler.sounding_notes()

    def end_notes(self, keys) -> None:
        """From any thread: note-offs for these notes and CC 123 (a port come back)."""
        self.scheduler.end_notes(keys)

    def forget_sounding(self) -> None:
        """The output port went away, and the notes on it with it."""
        self.scheduler.forget_sounding()

    def pump(self, generate: bool = True) -> None:
        """One turn of the generator's and the sender's work at the clock's now
        (generate=False: the sender's alone, as while a model step stalls)."""
        if generate:
            self._apply_commands()
            while self._running and self.scheduler.plan(self.clock()) == 0.0:
                self._generate()
        with self._lock:
            self._leaving_at = now = self.clock()
            self.scheduler.deliver_due(now)

    # ------------------------------------------------------------ generator thread

    def _generator_loop(self) -> None:
        scheduler = self.scheduler
        while self._running:
            self._apply_commands()
            wait = scheduler.plan(self.clock())
            if wait == 0.0:
                self._yield_to_sender()
                self._generate()
            else:
                self._wake.wait(wait)
                self._wake.clear()

    def _generate(self) -> None:
        started = time.perf_counter()
        self.scheduler.generate_one(self.clock())
        self.step_times.append(time.perf_counter() - started)

    def _yield_to_sender(self) -> None:
        """Stay off the GIL while a send is imminent: a model step started now could
        hold the sender back by its length (or a switch interval) just as it is due."""
        due = self.scheduler.next_due()
        if due is None:
            return
        wait = due - self.clock()
        if 0 < wait < SEND_GUARD_SECONDS:
            time.sleep(wait + 0.0003)

    # ------------------------------------------------------------ sender thread

    def _sender_loop(self) -> None:
        realtime_priority(self.log)
        scheduler, lock, clock = self.scheduler, self._lock, self.clock
        while self._running:
            with lock:
                self._leaving_at = now = clock()
                due = scheduler.deliver_due(now)
                wait = MAX_SLEEP if due is None else due - clock()
                if wait > SPIN_SECONDS:
                    lock.wait(min(wait - SPIN_SECONDS, MAX_SLEEP))
                    continue
            while clock() < due:  # the last stretch: spin, a sleep wakes too late
                pass

    def _send(self, out: MidiOut) -> bool:
        """The scheduler's port (called holding the lock): MIDI out, recorder, meters."""
        message = to_mido(out)
        if not self.output.send(message):
            return False
        now = self._leaving_at  # when the sender began this batch: the meter's "sent"
        if self.recorder is not None:
            # at its due time (it left within a fraction of a millisecond of it): a beat
            # model's recording sits on the file's grid; an unscheduled note-off (a panic,
            # a port come back) at the moment it left
            self.recorder.sent(out.due if out.due is not None else self.scheduler.performance_time(now), message)
        if out.due is not None:
            error = now - self.scheduler.timeline.to_clock(out.due)
            self.send_errors.append(error)
            if out.kind == "note_on":
                self.sent_notes += 1
                self.sent_at.append(now)
            if self.listeners:
                performed = NoteMessage(out.due, out.kind == "note_on", out.number, out.value, out.channel)
                for listener in self.listeners:
                    listener(performed, error)
        return True

    def _guard(self, loop):
        """A failing thread logs one line and silences the engine; it never dies loud."""

        def run():
            try:
                loop()
            except Exception as err:
                self.failed = f"{type(err).__name__}: {err}"
                self.log(f"engine error, all notes off: {self.failed}")
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
