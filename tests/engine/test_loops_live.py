"""Loops in the live engine on a virtual clock: next, hold and mutate pressed between two
bar lines land on the next one, the music up to it unchanged; and buttons on a (stand-in)
controller's CCs press them once per press."""

import mido
import pytest

from live.core import vocab
from live.core.controls import Controls
from live.core.generator import Generator
from live.core.timeline import Timeline
from live.engine.input_router import InputRouter
from live.engine.knobs import KnobMap, KnobMapError, Knob, read_knob_file
from live.model import load_model
from virtual_engine import Virtual

BAR = vocab.STEPS_PER_BAR * vocab.STEP_SECONDS  # performance seconds


@pytest.fixture(scope="module")
def model(beat_model_path):
    return load_model(beat_model_path)


def live_loop(model, bars=2, variation=0, bpm=150.0):
    generator = Generator(model, Controls(variation=variation), seed=4)
    generator.prime(list(model.info.primers[1]))
    generator.loop().begin(bars, generator.performer, generator)
    virtual = Virtual(generator, timeline=Timeline(beats=True, bpm=bpm))
    heard = []
    virtual.engine.listeners.append(lambda message, error: heard.append(
        (message.time, message.on, message.pitch, message.velocity, message.channel)))
    return virtual.start(), heard


def bar_of(heard, number, origin):
    """(onset in the bar, pitch) of the notes struck in bar `number` (sounding or not)."""
    start = origin + number * BAR
    return tuple(sorted((round(time - start, 4), pitch) for time, on, pitch, _, _ in heard
                        if on and start - 1e-9 <= time < start + BAR - 1e-9))


def test_next_pressed_mid_bar_lands_on_the_next_bar_line(model):
    virtual, heard = live_loop(model)
    engine = virtual.engine
    origin = engine.timeline.beat_origin
    seconds_per_bar = BAR * engine.timeline.rate
    virtual.run(4.4 * seconds_per_bar)  # into bar 5: the loop's bar 1, third time round
    engine.phrase_action("next")
    virtual.run(3.0 * seconds_per_bar)
    looper = engine.generator.looper
    assert looper.anchor * vocab.STEP_SECONDS == pytest.approx(origin + 5 * BAR)  # the next bar line
    assert bar_of(heard, 4, origin) == bar_of(heard, 0, origin)  # the bar it was pressed in: unchanged
    assert (bar_of(heard, 5, origin), bar_of(heard, 6, origin)) != (bar_of(heard, 0, origin),
                                                                    bar_of(heard, 1, origin))
    virtual.run(2.0 * seconds_per_bar)
    assert bar_of(heard, 7, origin) == bar_of(heard, 5, origin)  # the new phrase comes round
    virtual.stop()
    assert not engine.scheduler.sounding


def test_hold_and_mutate_land_on_the_bar_line_and_say_why_not_without_a_loop(model):
    virtual, heard = live_loop(model, variation=100)
    engine = virtual.engine
    origin = engine.timeline.beat_origin
    seconds_per_bar = BAR * engine.timeline.rate
    virtual.run(2.5 * seconds_per_bar)
    engine.phrase_action("hold")
    virtual.run(0.3 * seconds_per_bar)
    assert not engine.generator.looper.hold  # pressed, not landed: the bar line is ahead
    virtual.run(5.0 * seconds_per_bar)
    assert engine.generator.looper.hold
    held = bar_of(heard, 4, origin), bar_of(heard, 5, origin)
    assert (bar_of(heard, 6, origin), bar_of(heard, 7, origin)) == held
    engine.phrase_action("mutate")  # at 7.8 bars: lands on bar 9, the loop's bar 1
    virtual.run(2.4 * seconds_per_bar)
    def past_the_line(bar):  # a note tied into the bar is struck again on its line
        return [note for note in bar if note[0] > 0]

    assert bar_of(heard, 8, origin) != held[0]
    assert past_the_line(bar_of(heard, 9, origin)) == past_the_line(held[1])
    engine.set_loop(0)
    engine.phrase_action("next")
    virtual.run(0.1)
    assert any("no loop to next" in line for line in virtual.said)
    virtual.stop()
    assert not engine.scheduler.sounding


class Engine:
    """What the router drives, recorded: the calls a controller's buttons and knobs make."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append((name, args, kwargs))


def cc(control, value, channel=0):
    return mido.Message("control_change", channel=channel, control=control, value=value)


def test_a_button_presses_once_per_press_and_a_knob_sets_the_loop_length():
    # a stand-in for a DJ controller's pads and knobs: the CCs they send
    pressed, engine = [], Engine()
    knobs = KnobMap([Knob(20, "next"), Knob(21, "hold"), Knob(22, "loop"), Knob(23, "launch")])
    router = InputRouter(engine, knobs, press=pressed.append)
    for value in (127, 127, 0, 127, 0):  # a pad held (sent twice) then pressed again
        router(cc(20, value))
    router(cc(21, 127))
    router(cc(21, 0))
    assert pressed == ["next", "next", "hold"]
    router(cc(22, 127))  # all the way: 16 bars
    router(cc(22, 0))  # all the way back: off
    router(cc(23, 64))
    assert [c for c in engine.calls if c[0] != "use_channel"] == [
        ("set_loop", (16,), {}), ("set_loop", (0,), {}), ("set_launch", ("beat",), {})]


def test_a_knob_map_names_a_button_and_refuses_a_range_for_it(tmp_path):
    path = tmp_path / "map.toml"
    path.write_text('[[knob]]\ncc = 20\ncontrol = "capture"\n')
    assert read_knob_file(path).knobs == [Knob(20, "capture")]
    path.write_text('[[knob]]\ncc = 20\ncontrol = "next"\nmin = 0\n')
    with pytest.raises(KnobMapError, match="next is a button"):
        read_knob_file(path)


def test_a_message_that_fails_is_said_once_and_the_input_goes_on():
    """A knob whose change raises (a stand-in engine that refuses it) must not kill the
    input: the next CCs and notes still arrive, and the failure is said once, not per CC."""
    said, calls = [], []

    class Refusing(Engine):
        def update_controls(self, **changes):
            if changes.get("temperature", 0) > 1.5:
                raise IndexError("a stand-in failure")
            calls.append(changes)

        def log(self, line):
            said.append(line)

    router = InputRouter(Refusing(), KnobMap([Knob(74, "temperature")]), thru=None)
    for value in (127, 127, 127, 0, 10):
        router(cc(74, value))
    assert [round(c["temperature"], 2) for c in calls] == [0.2, 0.24]
    assert len(said) == 1 and "could not be handled (IndexError: a stand-in failure)" in said[0]
    router(mido.Message("note_on", note=60, velocity=90))  # played notes still reach the engine
