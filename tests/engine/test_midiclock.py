"""The clock follower's beat grid, on injected times (the JACK tests play real clock)."""

import mido
import pytest

from live.core.tempo import Quantizer, Tempo
from live.engine.midiclock import PPQN, ClockFollower


class Timeline:
    """An engine's performance clock: performance seconds = wall seconds - origin.
    Resuming a paused engine moves its origin (the performance picks up where it was)."""

    def __init__(self):
        self.origin = 0.0

    def to_performance(self, at: float) -> float:
        return at - self.origin


def test_a_start_that_resumes_the_engine_puts_the_grid_on_the_new_timeline():
    timeline = Timeline()
    tempo = Tempo(120.0)

    def resume():  # the engine resumes: wall 100.0 is now performance 6.95
        timeline.origin = 93.05

    follower = ClockFollower(tempo, timeline.to_performance, on_start=resume)
    follower.handle(mido.Message("start"), at=100.0)
    assert tempo.origin == pytest.approx(6.95)  # beat 0 is the Start, on the resumed timeline
    quantizer = Quantizer(tempo, "1/16", 1.0)
    # a note-on just after the Start's first 16th (0.125 s at 120 BPM) moves onto it
    assert 7.06 + quantizer.shift(7.06, not_before=7.0) == pytest.approx(7.075)


def test_the_beat_phase_follows_the_clock_ticks():
    timeline = Timeline()
    tempo = Tempo(100.0)
    follower = ClockFollower(tempo, timeline.to_performance)
    follower.handle(mido.Message("start"), at=10.0)
    tick = 60.0 / 128 / PPQN  # a 128 BPM clock
    first = 10.004  # the tick after Start: beat 0, as MIDI says
    follower.handle(mido.Message("clock"), at=first)
    assert tempo.origin == pytest.approx(first, abs=1e-9)  # the downbeat, at once
    for k in range(1, 2 * PPQN + 1):
        follower.handle(mido.Message("clock"), at=first + k * tick)
    assert tempo.bpm == pytest.approx(128.0, rel=1e-6) and tempo.source == "midi clock"
    # re-anchored on beat 2: beat 0 still sits on the first tick, not a tick before it
    assert tempo.origin == pytest.approx(first, abs=1e-9)
    quantizer = Quantizer(tempo, "1/16", 1.0)
    sixteenth = 6 * tick
    assert quantizer.shift(first + 5 * sixteenth + 0.004, not_before=0) == pytest.approx(-0.004)
    tempo.origin = 5.0  # setting it by hand drops the anchor
    assert tempo.origin == 5.0
