"""The timeline: performance time <-> clock time through a tempo that can change."""

import pytest

from live.core import vocab
from live.core.timeline import Timeline, bar_and_beat


@pytest.mark.parametrize("bpm", [100.0, 128.0, 150.0])
def test_a_beat_model_s_steps_stretch_to_the_tempo(bpm):
    timeline = Timeline(beats=True, bpm=bpm)
    timeline.place(0.0, 50.0)
    beat = 60.0 / bpm
    # a step is 1/48 beat; a 16th 12 steps; at 125 BPM that would be 10 ms and 120 ms
    assert timeline.to_clock(vocab.STEPS_PER_BEAT * vocab.STEP_SECONDS) == pytest.approx(50.0 + beat)
    assert timeline.to_clock(12 * vocab.STEP_SECONDS) == pytest.approx(50.0 + beat / 4)
    assert timeline.to_perf(timeline.to_clock(3.21)) == pytest.approx(3.21)


def test_a_seconds_model_keeps_its_time_at_any_tempo():
    timeline = Timeline(beats=False, bpm=90.0)
    timeline.place(2.0, 10.0)
    timeline.set_bpm(140.0, now=11.0)
    assert timeline.to_clock(5.0) == pytest.approx(13.0) and timeline.rate == 1.0
    assert timeline.perf_per_beat() == pytest.approx(60 / 140)


def test_a_tempo_change_bends_the_future_and_leaves_the_past():
    timeline = Timeline(beats=True, bpm=120.0)
    timeline.place(0.0, 0.0)
    before = timeline.to_clock(0.96)  # beat 2 at 120: 1.0 s
    assert before == pytest.approx(1.0)
    timeline.set_bpm(60.0, now=1.0)
    assert timeline.to_clock(0.96) == pytest.approx(1.0)  # what sounded at the change stays
    assert timeline.to_clock(0.96 + 0.48) == pytest.approx(2.0)  # the next beat at 60 BPM
    assert timeline.to_clock(0.48) == pytest.approx(0.0)  # (the line extends back, unused)
    with pytest.raises(ValueError, match="tempo 1000 BPM is outside 20..400"):
        timeline.set_bpm(1000.0, now=1.0)


def test_output_latency_sends_early_and_the_beat_is_heard_on_time():
    timeline = Timeline(beats=True, bpm=125.0, latency=0.015)
    timeline.lock(clock=10.0, beat=0.0, bpm=125.0, source="midi clock")
    assert timeline.heard_at(timeline.perf_at_beat(1.0)) == pytest.approx(10.48)
    assert timeline.to_clock(timeline.perf_at_beat(1.0)) == pytest.approx(10.465)
    assert timeline.sounding_at(10.48) == pytest.approx(timeline.perf_at_beat(1.0))


def test_bars_and_beats_count_from_one():
    assert bar_and_beat(0.0) == (1, 1)
    assert bar_and_beat(3.99) == (1, 4)
    assert bar_and_beat(4.0) == (2, 1)
    assert bar_and_beat(-2.0) == (1, 1)
