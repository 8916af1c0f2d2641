"""MIDI clock: follow an external 24 ppqn clock (tempo, transport), or send our own.

The follower turns clock ticks into a tempo and a beat phase that lock the timeline: a
beat model plays on the DJ's grid, a seconds model's quantise grid sits on it;
Start/Stop/Continue drive the performance. The sender sends 24 ppqn from the timeline.
"""

from __future__ import annotations

import collections
import math
import statistics
import threading
import time
from typing import Callable

from live.core.commands import FollowBeat
from live.core.timeline import Timeline

PPQN = 24
LATE_IN_A_ROW = PPQN // 2  # ticks behind the line in a row (half a beat) before they count as lost:
# a busy machine can hold ticks back for tens of ms and then hand them over at once
SUSPECT = -1  # _lost_ticks: this tick may follow lost ones; not decided yet


class ClockFollower:
    """Feed it clock, start, stop and continue messages with their arrival times; it says
    where the beat is through `follow(FollowBeat)`.

    MIDI: after Start the next tick is beat 0, the downbeat; Stop freezes the count and
    Continue goes on from it. The phase comes from a straight line fitted through the
    last beat's tick arrivals: a tick arrives up to one audio period late (2.7 ms on JACK
    at 128 frames), and the fit averages that away (a tick alone would shake the grid by
    it); a tempo change is followed within a beat.
    """

    def __init__(self, follow: Callable[[FollowBeat], None], on_start=None, on_stop=None, on_continue=None,
                 source: str = "midi clock"):
        self.follow = follow
        self.on_start, self.on_stop, self.on_continue = on_start, on_stop, on_continue
        self.source = source
        self.intervals: collections.deque = collections.deque(maxlen=PPQN * 2)
        self.fit: collections.deque = collections.deque(maxlen=PPQN)  # (tick since Start, arrival)
        self.last_tick: float | None = None
        self.ticks = -1  # since Start: the first tick after Start is tick 0
        self.running = False
        self._late: tuple[int, list] = (0, [])  # ticks arriving k after the fitted line: (k, those ticks)
        self.bpm: float | None = None

    def handle(self, message, at: float) -> bool:
        """True if the message was a clock or transport message."""
        kind = message.type
        if kind == "clock":
            if self.last_tick is not None:
                interval = at - self.last_tick
                if 0 < interval < 0.25:  # under 10 BPM is a stopped clock, not a tempo
                    self.intervals.append(interval)
                else:
                    self.fit.clear()
            self.last_tick = at
            if len(self.intervals) >= 6:
                # The mean, not the median: arrival times are quantised to the audio
                # period, and only the mean of those jittered intervals converges.
                self.bpm = 60.0 / (PPQN * statistics.fmean(self.intervals))
            if self.running:
                self.ticks += 1
                lost = self._lost_ticks(at)
                if lost == SUSPECT:
                    return True  # counted, but kept out of the line until decided
                self.ticks += lost
                self.fit.append((self.ticks, at))
                if self.ticks == 0 or self.ticks % (PPQN // 4) == 0 or lost:
                    self._lock()
            return True
        if kind == "start":
            self.running, self.ticks = True, -1
            self.fit.clear()
            self._late = (0, [])
            if self.on_start:
                self.on_start()
            if self.bpm is not None:
                # the downbeat is the next tick: expected one tick from now (the tick
                # itself corrects it), so the first notes can be on time
                self.follow(FollowBeat(at + 60.0 / (self.bpm * PPQN), 0.0, self.bpm, self.source))
            return True
        if kind == "stop":
            self.running = False
            if self.on_stop:
                self.on_stop()
            return True
        if kind == "continue":
            self.running = True
            self.fit.clear()
            self._late = (0, [])
            if self.on_continue:
                self.on_continue()
            return True
        return kind == "songpos"

    def _lost_ticks(self, at: float) -> int:
        """Ticks that never came: a process that stalls past a JACK cycle loses its input
        for it (measured: a 60 ms stall cost 3 ticks, for the rest of the set). A tick
        that arrives k ticks after the line through the last beat's ticks, and every tick
        for the next half beat too, says k were lost; a late burst (ticks delayed, then all at once)
        catches up with the line and is not counted. Ticks under suspicion stay out of
        the line until it is decided."""
        if len(self.fit) < 6 or self.bpm is None:
            return 0
        slope, end = _line_end(list(self.fit))
        expected = end + slope * (self.ticks - self.fit[-1][0])
        k = round((at - expected) / slope) if slope > 0 else 0
        late, suspects = self._late
        if k >= 1 and (k == late or not suspects):
            suspects = suspects + [(self.ticks, at)]
            if len(suspects) < LATE_IN_A_ROW:
                self._late = (k, suspects)
                return SUSPECT
            self.fit.extend((tick + k, arrival) for tick, arrival in suspects[:-1])
            self._late = (0, [])
            return k
        # on the line again: the suspects were late, not lost
        self.fit.extend(suspects)
        self._late = (0, [])
        return 0

    def _lock(self) -> None:
        points = list(self.fit)
        if len(points) >= 6:
            slope, at = _line_end(points)
            bpm = 60.0 / (PPQN * slope) if slope > 0 else self.bpm
        else:
            at, bpm = points[-1][1], self.bpm
        if bpm is not None:
            self.follow(FollowBeat(at, points[-1][0] / PPQN, bpm, self.source))


def _line_end(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares line through (tick, arrival): its slope and its value at the last tick."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx
    return slope, mean_y + slope * (points[-1][0] - mean_x)


class ClockSender:
    """Sends 24 ppqn clock at the timeline's tempo (with Start and Stop) to drive other gear."""

    def __init__(self, send: Callable, timeline: Timeline, clock: Callable[[], float] = time.perf_counter):
        self.send = send
        self.timeline = timeline
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
        timeline = self.timeline
        ticks = None
        while self._running:
            now = self.clock()
            interval = 60.0 / (timeline.bpm * PPQN)
            if ticks is not None:
                due = timeline.heard_at(timeline.perf_at_beat((ticks + 1) / PPQN))
            if ticks is None or not now - interval < due < now + 2 * interval:
                # (re)join the timeline's beat grid: at the first tick, or after a resume
                # or a lock moved it, rather than send a burst or fall silent
                ticks = math.ceil(timeline.beat_at(timeline.sounding_at(now)) * PPQN + 1e-9) - 1
                due = timeline.heard_at(timeline.perf_at_beat((ticks + 1) / PPQN))
            ticks += 1
            wait = due - self.clock()
            if wait > 0.0015:
                time.sleep(wait - 0.0015)
            while self.clock() < due:
                pass
            self.send(tick)
