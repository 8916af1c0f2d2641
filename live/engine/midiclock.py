"""MIDI clock: follow an external 24 ppqn clock (tempo, transport), or send our own.

The follower turns clock ticks into a BPM estimate and a beat phase, so note-ons can
be quantised to the DJ's grid; Start/Stop/Continue drive the performance.
"""

from __future__ import annotations

import collections
import statistics
import threading
import time
from typing import Callable

from live.core.tempo import Tempo

PPQN = 24


class ClockFollower:
    """Feed it clock, start, stop and continue messages with their arrival times."""

    def __init__(self, tempo: Tempo, to_performance: Callable[[float], float],
                 on_start=None, on_stop=None, on_continue=None):
        self.tempo = tempo
        self.to_performance = to_performance
        self.on_start, self.on_stop, self.on_continue = on_start, on_stop, on_continue
        self.intervals: collections.deque = collections.deque(maxlen=PPQN * 2)
        self.last_tick: float | None = None
        self.ticks = 0
        self.running = False

    def handle(self, message, at: float) -> bool:
        """True if the message was a clock or transport message."""
        kind = message.type
        if kind == "clock":
            if self.last_tick is not None:
                interval = at - self.last_tick
                if 0 < interval < 0.25:  # under 10 BPM is a stopped clock, not a tempo
                    self.intervals.append(interval)
            self.last_tick = at
            if self.running:
                self.ticks += 1  # the first tick after Start is tick 0: the downbeat
            estimated = len(self.intervals) >= 6
            if estimated:
                # The mean, not the median: arrival times are quantised to the audio
                # period (2.7 ms on JACK at 128 frames), and only the mean of those
                # jittered intervals converges on the true tempo.
                self.tempo.bpm = 60.0 / (PPQN * statistics.fmean(self.intervals))
                self.tempo.source = "midi clock"
            if self.running and self.ticks % PPQN == 0 and (estimated or self.ticks == 0):
                # Re-anchor the beat phase on every beat: drift never builds up. Beat 0
                # needs no tempo: it is where the first tick after Start arrived.
                self.tempo.anchor(at, self.ticks // PPQN, self.to_performance)
            return True
        if kind == "start":
            # MIDI: the tick after Start is beat 0. Until it comes, the Start stands in.
            self.running, self.ticks = True, -1
            self.tempo.anchor(at, 0, self.to_performance)
            if self.on_start:
                self.on_start()
            return True
        if kind == "stop":
            self.running = False
            if self.on_stop:
                self.on_stop()
            return True
        if kind == "continue":
            self.running = True
            if self.on_continue:
                self.on_continue()
            return True
        return kind == "songpos"


class ClockSender:
    """Sends 24 ppqn clock at the internal tempo (with Start and Stop) to drive other gear."""

    def __init__(self, send: Callable, tempo: Tempo, clock: Callable[[], float] = time.perf_counter):
        self.send = send
        self.tempo = tempo
        self.clock = clock
        self._running = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        import mido

        self._running = True
        self.send(mido.Message("start"))
        self._thread = threading.Thread(target=self._loop, name="encore-clock", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        import mido

        if not self._running:
            return
        self._running = False
        if self._thread:
            self._thread.join(timeout=1.0)
        self.send(mido.Message("stop"))

    def _loop(self) -> None:
        import mido

        tick = mido.Message("clock")
        due = self.clock()
        while self._running:
            due += 60.0 / (self.tempo.bpm * PPQN)
            wait = due - self.clock()
            if wait > 0.0015:
                time.sleep(wait - 0.0015)
            while self.clock() < due:
                pass
            self.send(tick)
