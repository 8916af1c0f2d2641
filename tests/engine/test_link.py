"""encore's Link session against a second, plain aalink peer in the same process: two Link
apps on one machine find each other over loopback, as they would over a LAN.

Other Link apps on the machine or the network (a frozen earlier run, a DAW) may be in the
session too, so the tests count peers relative to each other and never ask whose tempo the
joined session took."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from live.app.bench_rig import start_peer
from live.engine import link as link_module
from live.engine.link import INSTALL_HINT, LinkError, LinkSession

DEADLINE = 5.0  # seconds for anything that travels between peers; measured: well under 1 s


def require_aalink():
    try:
        import aalink
    except ImportError as err:
        if os.environ.get("ENCORE_REQUIRE_LINK"):
            pytest.fail(f"aalink is required here but not installed: {err}")
        pytest.skip(f"no aalink package ({err}): pip install aalink")
    return aalink


def wait_for(condition, what: str, deadline: float = DEADLINE):
    end = time.perf_counter() + deadline
    while time.perf_counter() < end:
        got = condition()
        if got:
            return got
        time.sleep(0.01)
    pytest.fail(f"within {deadline:g} s: {what}")


class PlainPeer:
    """Another Link app: a bare aalink Link made inside an asyncio loop of its own."""

    def __init__(self, aalink, bpm: float):
        self.loop, self.thread, self.link = start_peer(aalink, bpm, "test-link-peer", timeout=2.0)

    def beat_now(self) -> tuple[float, float]:
        """The beat and the perf_counter moment it was read at."""
        before = time.perf_counter()
        beat = self.link.beat
        return beat, (before + time.perf_counter()) / 2

    def close(self):
        self.link.enabled = False
        self.link = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(2)
        self.loop.close()


def found_each_other(ours: LinkSession, other: PlainPeer) -> bool:
    """Each counts a peer, and the same number: each counts the other plus any stranger."""
    mine, theirs = ours.state().peers, other.link.num_peers
    return mine >= 1 and mine == theirs


def phase_gap(a: float, b: float, quantum: float = 4.0) -> float:
    """How far apart two beats are within the bar, either way round."""
    gap = (a - b) % quantum
    return min(gap, quantum - gap)


@pytest.fixture
def aalink():
    return require_aalink()


@pytest.fixture
def peers(aalink):
    """Ours at 120 BPM and a plain peer at 128, once they have found each other."""
    ours = LinkSession.open(bpm=120.0)
    other = PlainPeer(aalink, bpm=128.0)
    try:
        wait_for(lambda: found_each_other(ours, other), "the two peers find each other")
        # Joined sessions share one tempo: whichever it was, both now play it.
        wait_for(lambda: abs(ours.state().tempo_bpm - other.link.tempo) < 0.01, "the peers agree on a tempo")
        yield ours, other
    finally:
        ours.close()
        other.close()


def test_a_tempo_change_on_another_peer_reaches_ours(peers):
    ours, other = peers
    other.link.tempo = 128.0
    wait_for(lambda: abs(ours.state().tempo_bpm - 128.0) < 0.01, "128 BPM reaches us")
    other.link.tempo = 140.0
    # Link sends tempo as microseconds per beat: 140 arrives as 140.00014.
    wait_for(lambda: abs(ours.state().tempo_bpm - 140.0) < 0.01, "140 BPM reaches us")
    state = ours.last()
    # beat_at, fed from the snapshots, runs at the new tempo too.
    assert ours.beat_at(state.at + 60.0) - state.beat == pytest.approx(state.tempo_bpm, rel=1e-6)


def test_our_tempo_reaches_the_other_peer(peers):
    ours, other = peers
    ours.set_tempo(133.0)
    assert ours.state().tempo_bpm == pytest.approx(133.0)
    wait_for(lambda: abs(other.link.tempo - 133.0) < 0.01, "our 133 BPM reaches the other peer")


def test_both_peers_sit_at_the_same_place_in_the_bar(peers):
    ours, other = peers
    for _ in range(5):
        state = ours.state()
        beat, at = other.beat_now()
        assert 0.0 <= state.phase < 4.0
        assert state.phase == pytest.approx(state.beat % 4.0)
        assert phase_gap(state.beat_at(at), beat) < 0.05
        time.sleep(0.02)  # a few moments apart, not one sample


def test_beat_at_extrapolates_an_old_snapshot_onto_a_fresh_one(peers):
    ours, _ = peers
    old = ours.state()
    wait_for(lambda: time.perf_counter() > old.at + 0.2, "time passes")
    fresh = ours.state()
    assert fresh.beat > old.beat
    assert old.beat_at(fresh.at) == pytest.approx(fresh.beat, abs=1e-3)
    # Between snapshots beat_at reads the latest one: it agrees with a fresh reading.
    assert ours.beat_at(fresh.at) == pytest.approx(fresh.beat, abs=1e-3)


def test_start_and_stop_are_shared(peers):
    ours, other = peers
    other.link.playing = True
    wait_for(lambda: ours.state().playing, "the other peer's start reaches us")
    other.link.playing = False
    wait_for(lambda: not ours.state().playing, "the other peer's stop reaches us")


def test_close_is_prompt_and_the_other_peer_sees_us_go(aalink):
    other = PlainPeer(aalink, bpm=128.0)
    try:
        ours = LinkSession.open(bpm=128.0)
        wait_for(lambda: found_each_other(ours, other), "the peers find each other")
        before = other.link.num_peers
        started = time.perf_counter()
        ours.close()
        assert time.perf_counter() - started < link_module.CLOSE_WAIT
        assert ours.closed
        assert not any(t.name == "encore-link" and t.is_alive() for t in threading.enumerate())
        ours.close()  # again: nothing happens
        # Leaving says goodbye: the other peer counts one fewer without waiting for a timeout.
        wait_for(lambda: other.link.num_peers < before, "the other peer sees us leave")
        last = ours.state()  # after close: the last snapshot, and setting a tempo does nothing
        ours.set_tempo(90.0)
        assert ours.state() == last
    finally:
        other.close()


@pytest.mark.parametrize("bpm", [0.0, 19.0, 1000.0, float("nan"), float("inf"), "fast"])
def test_a_tempo_link_cannot_play_is_one_clear_error(bpm):
    with pytest.raises(LinkError, match=r"out of range; choose 20 to 999"):
        LinkSession.open(bpm=bpm)


def test_without_aalink_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "aalink", None)  # an import of it now fails
    with pytest.raises(LinkError) as caught:
        LinkSession.open()
    assert str(caught.value) == INSTALL_HINT
    assert "\n" not in str(caught.value)


def test_a_link_that_will_not_enable_is_one_clear_error(monkeypatch):
    class Stubborn:
        """A Link whose enabling does not take, as where no network interface will do."""

        def __init__(self, bpm):
            self.quantum, self.start_stop_sync_enabled = 4, False

        enabled = property(lambda self: False, lambda self, value: None)

    class FakeModule:
        Link = Stubborn

    monkeypatch.setitem(sys.modules, "aalink", FakeModule)
    with pytest.raises(LinkError, match=r"^Ableton Link could not be enabled: it stayed disabled$"):
        LinkSession.open()


def test_encore_comes_in_on_the_session_s_bar_and_follows_a_peer_s_tempo_on_the_beat(peers, beat_model_path):
    """The whole follow: a beat model's engine locked to Link by the LinkFollower. Its beat
    0 is a session bar line; a peer's tempo change bends encore's timeline, and encore's
    beats stay on the session's beats (phase at quantum 4) before and after."""
    from live.core.controls import Controls
    from live.core.generator import Generator
    from live.core.timeline import Timeline
    from live.engine.link_follower import LinkFollower
    from live.engine.live_engine import LiveEngine, Output
    from live.model import load_model

    ours, other = peers

    class Sink:
        def send(self, message):
            pass

    engine = LiveEngine(Generator(load_model(beat_model_path), Controls(), seed=1), Output(Sink()),
                        timeline=Timeline(beats=True, bpm=100.0), log=lambda line: None)
    follower = LinkFollower(ours, engine.follow_beat, engine.restart_on_bar, engine.clock, engine.pause)
    engine.start()
    engine.pause()
    follower.start()
    try:
        assert follower.origin % 4 == 0  # beat 0 is a bar line of the session
        timeline = engine.timeline

        def in_phase() -> bool:
            beat, at = other.beat_now()
            ours_beat = timeline.beat_at(timeline.sounding_at(at))
            return phase_gap(ours_beat, beat) < 0.02 and abs(timeline.bpm - other.link.tempo) < 0.01

        wait_for(in_phase, "encore's beat sits on the session's")
        assert timeline.source == "link" and engine.playing
        other.link.tempo = 137.0
        wait_for(lambda: abs(timeline.bpm - 137.0) < 0.01, "the peer's 137 BPM reaches encore's timeline")
        for _ in range(5):  # and the beat with it, sampled a few moments apart
            wait_for(in_phase, "encore's beat on the session's after the change")
            time.sleep(0.03)
        follower.set_tempo(125.0)  # encore's tempo knob sets the session's tempo
        wait_for(lambda: abs(other.link.tempo - 125.0) < 0.01, "encore's 125 BPM reaches the peer")
        # the transport (start/stop sync): a peer's Stop pauses encore, its Start brings it in
        # on the next bar line, on the session's beat
        other.link.playing = True
        wait_for(lambda: follower.session_playing, "the session's Start reaches the follower")
        other.link.playing = False
        wait_for(lambda: not engine.playing, "a peer's Stop pauses encore")
        other.link.playing = True
        wait_for(lambda: engine.playing and follower.origin % 4 == 0, "a peer's Start brings encore back")
        wait_for(in_phase, "back on the session's beat")
        other.link.playing = False
        wait_for(lambda: not engine.playing, "a peer's Stop pauses encore")
    finally:
        follower.stop()
        engine.stop()
