"""Following an Ableton Link session: its tempo and beat lock encore's timeline, as a
MIDI clock's do (live.engine.midiclock), and encore's tempo control sets the session's.

Transport: with Link's start/stop sync a peer's Stop pauses encore and its Start brings
encore in again on the next bar line. Only the changes count, not the state: a session
where no one uses the transport says "stopped" all along, and encore plays in it.

Beats: Link peers agree on the beat modulo the quantum (4: a bar of 4/4), not on the
beat itself. encore's beat 0 is the Link bar line at which it starts playing (the next
one after it joins: the music comes in on a downbeat, as a clip launches in a DAW), so
encore's bar lines are the session's. The lock is renewed every FOLLOW_EVERY seconds from
Link's own beat, which is exact (no tick jitter to average away).
"""

from __future__ import annotations

import math
import threading
from typing import Callable

from live.core.commands import FollowBeat
from live.engine.link import QUANTUM, LinkSession

FOLLOW_EVERY = 0.05  # seconds


class LinkFollower:
    def __init__(self, session: LinkSession, follow: Callable[[FollowBeat], None],
                 restart_on_bar: Callable[[], None], clock: Callable[[], float],
                 pause: Callable[[], None] | None = None):
        self.session = session
        self.follow = follow
        self.restart_on_bar = restart_on_bar
        self.pause = pause
        self.clock = clock
        self._playing: bool | None = None  # the session's transport when last looked
        self._paused = False  # by a peer's Stop: its Start brings encore in again
        self.origin: float | None = None  # the Link beat that is encore's beat 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def peers(self) -> int:
        return self.session.last().peers

    @property
    def session_playing(self) -> bool | None:
        """The session's transport as the follower last saw it (it looks every
        FOLLOW_EVERY: a Start and Stop between two looks are one Stop it never saw)."""
        return self._playing

    def start(self) -> None:
        """Come in on the session's next bar line, then keep locked to it."""
        state = self.session.state()
        self._playing = state.playing
        self._come_in(state)
        self._thread = threading.Thread(target=self._loop, name="encore-link-follow", daemon=True)
        self._thread.start()

    def set_tempo(self, bpm: float) -> None:
        """encore's tempo knob, in a Link session: the session's tempo (it comes back to
        us, and to every peer, through the lock)."""
        self.session.set_tempo(bpm)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)

    def _come_in(self, state) -> None:
        """encore's beat 0 is the session's next bar line."""
        self.origin = math.ceil(state.beat / QUANTUM + 1e-9) * QUANTUM
        self.restart_on_bar()
        self._lock(state)

    def _loop(self) -> None:
        while not self._stop.wait(FOLLOW_EVERY):
            state = self.session.last()
            if state.playing != self._playing:
                self._playing = state.playing
                if not state.playing and self.pause is not None:
                    self.pause()  # a peer pressed Stop
                    self._paused = True
                    continue
                if state.playing and self._paused:
                    self._paused = False
                    self._come_in(state)  # a peer pressed Start: in on the next bar
                    continue
            self._lock(state)

    def _lock(self, state) -> None:
        now = self.clock()
        self.follow(FollowBeat(now, state.beat_at(now) - self.origin, state.tempo_bpm, "link"))
