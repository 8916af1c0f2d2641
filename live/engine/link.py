"""An Ableton Link session as a tempo source: the tempo, beat and phase (quantum 4) that
encore shares with the other Link apps on the network.

Through the aalink package. aalink is built on asyncio: a Link is made inside a running
event loop and hands its callbacks to that loop. encore has threads, not asyncio, so the
session runs one loop in a daemon thread of its own (`encore-link`) and everything else
calls state(), beat_at(), set_tempo() and close() from any thread: Link captures and
commits its session state under a lock of its own.

Clocks. Link keeps time on a clock of its own, in microseconds (link.time, a timedelta;
on Linux it is CLOCK_MONOTONIC_RAW, which sits apart from perf_counter's CLOCK_MONOTONIC
by a fixed-looking offset, ~0.1 s measured here, that drifts by NTP's slew, at most
500 ppm). aalink gives the beat only at Link's "now", never at a time we pass, so a
snapshot reads the beat between two perf_counter readings and takes their midpoint as the
moment (`at`): within microseconds, and read again when a thread switch widened the
bracket. The phase comes from that same beat (Link's phase is the beat modulo the
quantum), so beat and phase belong to one moment. Snapshots are taken again every
REFRESH seconds and whenever a peer changes the tempo, so extrapolating from the last one
(beat_at) never leans on the two clocks' rates agreeing for long.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from dataclasses import dataclass

from live.core.errors import EncoreError

QUANTUM = 4.0  # beats: a bar of 4/4 is what peers agree on
OPEN_WAIT = 2.0  # seconds Link may take to start; it takes milliseconds
CLOSE_WAIT = 1.0
REFRESH = 0.05  # seconds between the snapshots the loop takes by itself
TIGHT = 50e-6  # seconds: a beat read bracketed closer than this needs no second try
TRIES = 5
TEMPO_RANGE = (20.0, 999.0)  # BPM Link accepts; it clamps anything else without a word
clock = time.perf_counter  # encore's clock: every `at` is on it

INSTALL_HINT = "Ableton Link needs the aalink package: pip install aalink"


class LinkError(EncoreError):
    """Link cannot be used here: aalink missing, or the session would not start."""


@dataclass(frozen=True)
class LinkState:
    """The session at one moment `at` (perf_counter seconds)."""

    tempo_bpm: float
    beat: float  # on our own timeline; peers agree on beat modulo QUANTUM, not on beat
    phase: float  # beat modulo QUANTUM: 0 is the downbeat of the bar
    peers: int  # other Link apps in the session
    playing: bool  # the session's transport (start/stop sync)
    at: float

    def beat_at(self, clock_time: float) -> float:
        """The beat at another moment on encore's clock, at this tempo."""
        return self.beat + (clock_time - self.at) * self.tempo_bpm / 60.0


def _sample(link) -> LinkState:
    """Tempo, beat and the perf_counter moment of that beat, read together."""
    best = None
    for _ in range(TRIES):
        tempo = link.tempo
        before = clock()
        beat = link.beat
        after = clock()
        steady = link.tempo == tempo  # no tempo change between the tempo and the beat
        if steady and (best is None or after - before < best[2] - best[1]):
            best = (tempo, before, after, beat)
        if steady and after - before <= TIGHT:
            break
    if best is None:  # the tempo moved under every try: take the last, it is ms off at worst
        best = (link.tempo, before, after, beat)
    tempo, before, after, beat = best
    return LinkState(tempo_bpm=tempo, beat=beat, phase=beat % QUANTUM, peers=link.num_peers,
                     playing=link.playing, at=(before + after) / 2)


class LinkSession:
    """One Link session, enabled at quantum 4 with start/stop sync. Use open()."""

    def __init__(self, aalink, bpm: float):
        self._aalink = aalink
        self._bpm = bpm
        self._link = None  # set by the loop thread once enabled; None again once closed
        self._last: LinkState | None = None
        self._lock = threading.Lock()
        self._started = threading.Event()
        self._closing = threading.Event()
        self._failure: str | None = None
        self._thread = threading.Thread(target=self._run, name="encore-link", daemon=True)

    @classmethod
    def open(cls, bpm: float = 120.0, wait: float = OPEN_WAIT) -> "LinkSession":
        """Join (or start) the Link session on the network. A LinkError in one line where
        aalink is missing or Link does not start within `wait` seconds."""
        _check_tempo(bpm)
        try:
            import aalink
        except ImportError:
            raise LinkError(INSTALL_HINT) from None
        session = cls(aalink, bpm)
        session._thread.start()
        if not session._started.wait(wait):
            session.close()
            raise LinkError(f"Ableton Link did not start within {wait:g} s; try again, or play without Link")
        if session._failure is not None:
            raise LinkError(f"Ableton Link could not be enabled: {session._failure}")
        return session

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()

    async def _serve(self) -> None:
        try:
            link = self._aalink.Link(self._bpm)  # takes the running loop: this thread's
            link.quantum = QUANTUM
            link.start_stop_sync_enabled = True
            link.enabled = True
            if not link.enabled:
                raise RuntimeError("it stayed disabled")
        except Exception as err:
            self._failure = str(err) or type(err).__name__
            self._started.set()
            return
        # A peer's tempo change bends the timeline: snapshot it now, not at the next refresh.
        for add in (link.add_tempo_callback, link.add_num_peers_callback, link.add_start_stop_callback):
            add(self._on_change)
        self._link = link
        self._refresh(link)
        self._started.set()
        try:
            while not self._closing.is_set():
                await asyncio.sleep(REFRESH)
                self._refresh(link)
        finally:
            self._link = None
            link.enabled = False  # says goodbye to the peers, so they drop us at once
            # The last reference goes here (or in a state() still reading): aalink's Link
            # releases the GIL while its threads stop, so this cannot deadlock.
            del link

    def _on_change(self, _value) -> None:
        link = self._link
        if link is not None:
            self._refresh(link)

    def _refresh(self, link) -> LinkState:
        state = _sample(link)
        with self._lock:
            # Two threads may sample at once: the later moment wins.
            if self._last is None or state.at >= self._last.at:
                self._last = state
            return self._last

    def state(self) -> LinkState:
        """A fresh snapshot; after close(), the last one taken."""
        link = self._link
        if link is None:
            return self.last()
        return self._refresh(link)

    def last(self) -> LinkState:
        """The latest snapshot without asking Link (at most REFRESH seconds old)."""
        with self._lock:
            assert self._last is not None, "open() returns only once a snapshot was taken"
            return self._last

    def beat_at(self, clock_time: float) -> float:
        """The beat at `clock_time` (perf_counter seconds), from the latest snapshot."""
        return self.last().beat_at(clock_time)

    def set_tempo(self, bpm: float) -> None:
        """Set the whole session's tempo (every peer follows). Nothing once closed."""
        _check_tempo(bpm)
        link = self._link
        if link is None:
            return
        link.tempo = bpm
        self._refresh(link)

    @property
    def closed(self) -> bool:
        return self._closing.is_set() and not self._thread.is_alive()

    def close(self, wait: float = CLOSE_WAIT) -> None:
        """Leave the session. Returns within `wait` seconds; again is harmless."""
        self._closing.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(wait)


def _check_tempo(bpm: float) -> None:
    low, high = TEMPO_RANGE
    try:
        value = float(bpm)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high):
        raise LinkError(f"Link tempo {bpm!r} BPM is out of range; choose {low:g} to {high:g}")
