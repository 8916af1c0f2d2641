"""The clock follower locks the timeline to a MIDI clock's beat, on injected arrival times
(the JACK tests play a real clock)."""

import random

import mido
import pytest

from live.core.tempo import Quantizer
from live.core.timeline import Timeline
from live.engine.midiclock import PPQN, ClockFollower

PERIOD = 128 / 48000  # JACK's audio period here: a tick arrives up to this late


def follow(timeline: Timeline, **callbacks) -> ClockFollower:
    return ClockFollower(lambda b: timeline.lock(b.at, b.beat, b.bpm, b.source), **callbacks)


def clock_ticks(follower, first: float, bpm: float, count: int, jitter=None):
    """`count` ticks of a bpm clock from `first`; arrivals late by jitter()."""
    tick = 60.0 / bpm / PPQN
    for k in range(count):
        at = first + k * tick + (jitter() if jitter else 0.0)
        follower.handle(mido.Message("clock"), at=at)
    return first + count * tick


def test_the_tick_after_start_is_the_downbeat_and_the_grid_sits_on_the_ticks():
    timeline = Timeline(beats=True, bpm=120.0)
    timeline.beat_origin = 2.0  # the performance's beat 0 (where its first bar begins)
    follower = follow(timeline)
    clock_ticks(follower, 9.0, 128.0, 2 * PPQN)  # running before Start: the tempo is known
    follower.handle(mido.Message("start"), at=10.0)
    first = 10.0 + 60.0 / 128 / PPQN
    # before the tick comes, beat 0 is expected one tick after the Start
    assert timeline.heard_at(timeline.perf_at_beat(0)) == pytest.approx(first, abs=1e-6)
    clock_ticks(follower, first, 128.0, 4 * PPQN)
    assert timeline.bpm == pytest.approx(128.0, rel=1e-6) and timeline.source == "midi clock"
    for beat in (0.0, 4.25, 6.0):  # the 16th grid ahead is the clock's, from the downbeat on
        assert timeline.heard_at(timeline.perf_at_beat(beat)) == pytest.approx(first + beat * 60 / 128, abs=1e-6)


def test_jittered_arrivals_and_a_tempo_change_keep_the_grid_within_a_millisecond():
    rng = random.Random(7)
    timeline = Timeline(beats=True)
    follower = follow(timeline)
    follower.handle(mido.Message("start"), at=0.0)
    late = lambda: rng.uniform(0.0, PERIOD)  # noqa: E731
    change = clock_ticks(follower, 0.01, 128.0, 8 * PPQN, jitter=late)
    # the true clock's 16ths, predicted from what was heard so far: one tick's jitter
    # would move them by up to 2.7 ms; the fitted line by far less
    for sixteenth in range(8 * 4, 8 * 4 + 4):
        truth = 0.01 + sixteenth * 60 / 128 / 4
        assert abs(timeline.heard_at(timeline.perf_at_beat(sixteenth / 4)) - truth - PERIOD / 2) < 1e-3
    # 128 -> 136 BPM: a beat later the grid is the new tempo's
    clock_ticks(follower, change, 136.0, 2 * PPQN, jitter=late)
    beat_now = 8 + 2  # beats since the downbeat
    for ahead in (0.25, 0.5, 1.0):
        truth = change + (2 + ahead) * 60 / 136
        predicted = timeline.heard_at(timeline.perf_at_beat(beat_now + ahead))
        assert abs(predicted - truth - PERIOD / 2) < 1.5e-3
    assert timeline.bpm == pytest.approx(136.0, rel=0.01)


def test_a_seconds_model_keeps_its_time_and_its_quantise_grid_moves_onto_the_clock():
    timeline = Timeline(beats=False, bpm=120.0)
    timeline.place(0.0, 0.0)
    follower = follow(timeline)
    follower.handle(mido.Message("start"), at=5.0)
    first = 5.004
    clock_ticks(follower, first, 100.0, 2 * PPQN)
    assert timeline.rate == 1.0  # its music is not stretched
    assert timeline.bpm == pytest.approx(100.0, rel=1e-6)
    assert timeline.beat_origin == pytest.approx(first, abs=1e-6)  # beat 0 on the first tick
    quantizer = Quantizer(timeline, "1/16", 1.0)
    sixteenth = 60.0 / 100 / 4
    assert quantizer.shift(first + 5 * sixteenth + 0.004, not_before=0) == pytest.approx(-0.004)


def test_stop_and_continue_go_on_counting_beats_from_where_the_clock_stopped():
    timeline = Timeline(beats=True)
    events = []
    follower = follow(timeline, on_stop=lambda: events.append("stop"), on_continue=lambda: events.append("go"))
    follower.handle(mido.Message("start"), at=0.0)
    end = clock_ticks(follower, 0.01, 120.0, 3 * PPQN)
    follower.handle(mido.Message("stop"), at=end)
    follower.handle(mido.Message("continue"), at=end + 3.4)
    clock_ticks(follower, end + 3.41, 120.0, PPQN)
    assert events == ["stop", "go"]
    # beat 3 (the first tick after Continue) sounds where the clock put it, 3.4 s later
    assert timeline.heard_at(timeline.perf_at_beat(3.0)) == pytest.approx(end + 3.41, abs=1e-6)


def test_the_sent_clock_ticks_on_the_timeline_s_beats_and_follows_its_tempo():
    import copy
    import threading
    import time

    from live.engine.midiclock import ClockSender

    timeline = Timeline(beats=True, bpm=125.0)
    timeline.place(0.0, time.perf_counter() + 0.05)
    sent, lock = [], threading.Lock()

    def send(message):
        with lock:
            sent.append((time.perf_counter(), message.type))

    sender = ClockSender(send, timeline)
    sender.start()
    time.sleep(1.0)
    before = copy.copy(timeline)  # the 125 BPM line
    timeline.set_bpm(150.0, now=time.perf_counter())
    bent = time.perf_counter()
    time.sleep(1.0)
    sender.stop()
    kinds = [kind for _, kind in sent]
    assert kinds[0] == "start" and kinds[-1] == "stop"
    ticks = [t for t, kind in sent if kind == "clock"]
    # each tick leaves at its place on the timeline's 24 ppqn grid: the median within a
    # millisecond (the sender spins for the last stretch), whatever the tempo did
    for line, part in ((before, [t for t in ticks if t < bent]), (timeline, [t for t in ticks if t > bent])):
        errors = []
        for t in part:
            tick = line.beat_at(line.sounding_at(t)) * PPQN
            errors.append(abs(tick - round(tick)) * 60 / line.bpm / PPQN)
        assert len(part) > 30 and sorted(errors)[len(errors) // 2] < 0.001, errors
    late = [b - a for a, b in zip(ticks, ticks[1:]) if a > bent + 0.1]
    assert sum(late) / len(late) == pytest.approx(60 / 150 / PPQN, rel=0.02)  # 150 BPM after the bend


def test_ticks_lost_in_a_stall_are_counted_so_the_beat_does_not_slip():
    """A process that stalls past a JACK cycle never sees the ticks of it: measured, a
    60 ms stall cost 3 ticks (58.6 ms at 128 BPM) for the rest of the set."""
    timeline = Timeline(beats=True)
    follower = follow(timeline)
    follower.handle(mido.Message("start"), at=0.0)
    tick = 60.0 / 128 / PPQN
    for k in range(2 * PPQN):
        follower.handle(mido.Message("clock"), at=0.01 + k * tick)
    for k in range(2 * PPQN + 3, 4 * PPQN):  # ticks 48, 49, 50 never arrive
        follower.handle(mido.Message("clock"), at=0.01 + k * tick)
    assert follower.ticks == 4 * PPQN - 1
    assert timeline.bpm == pytest.approx(128.0, rel=1e-6)
    assert timeline.heard_at(timeline.perf_at_beat(4.0)) == pytest.approx(0.01 + 4 * PPQN * tick, abs=1e-6)


def test_ticks_delayed_and_then_delivered_at_once_are_not_taken_for_lost_ones():
    """A busy machine: JACK holds three ticks back and hands them over in one go. They
    were late, not lost: the count stays the master's."""
    timeline = Timeline(beats=True)
    follower = follow(timeline)
    follower.handle(mido.Message("start"), at=0.0)
    tick = 60.0 / 128 / PPQN
    arrivals = [0.01 + k * tick for k in range(4 * PPQN)]
    for k in (50, 51, 52):
        arrivals[k] = arrivals[53] - 0.0001 * (53 - k)  # held back, then a burst
    for at in arrivals:
        follower.handle(mido.Message("clock"), at=at)
    assert follower.ticks == 4 * PPQN - 1
    assert timeline.heard_at(timeline.perf_at_beat(4.0)) == pytest.approx(0.01 + 4 * PPQN * tick, abs=1e-4)
