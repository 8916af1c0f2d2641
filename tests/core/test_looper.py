"""Loops: a phrase of bars that comes back, exact or varied; next, mutate, hold and a new
length landing on the bar line; nothing left sounding at any loop end. Rendered through
the scheduler on a virtual clock, as live play runs it."""

from types import SimpleNamespace

import numpy as np
import pytest

from live.core import vocab
from live.core.commands import ChangeControls, Pause, PhraseAction, Resume, SetLaunch, SetLoop
from live.core.controls import Controls
from live.core.generator import Generator
from live.core.phrase import phrase_notes, resample_chance
from live.core.render import Cue, render
from live.core.scheduler import Scheduler
from live.core.timeline import Timeline
from live.model import load_model

BAR = vocab.STEPS_PER_BAR * vocab.STEP_SECONDS  # 1.92 s of performance time


@pytest.fixture(scope="module")
def model(beat_model_path):
    return load_model(beat_model_path)


def looped(model, bars, variation=0, seed=1, primer=2, controls=None):
    generator = Generator(model, (controls or Controls()).with_(variation=variation), seed=seed)
    generator.prime(list(model.info.primers[primer % len(model.info.primers)]))
    generator.loop().begin(bars, generator.performer, generator)
    return generator


def played(model, bars, total_bars, variation=0, seed=1, cues=(), controls=None):
    generator = looped(model, bars, variation, seed, controls=controls)
    result = render(generator, seconds=total_bars * BAR, cues=cues, timeline=Timeline(beats=True, bpm=125))
    return generator, result


def bar_of(notes, number):
    """The notes beginning in bar `number` (0-based), as (onset in the bar, end, pitch, velocity)."""
    start = number * BAR
    return tuple((round(n.start - start, 4), round(n.end - start, 4), n.pitch, n.velocity)
                 for n in notes if start - 1e-9 <= n.start < start + BAR - 1e-9)


def passes(notes, bars, count):
    return [tuple(bar_of(notes, k * bars + b) for b in range(bars)) for k in range(count)]


def test_with_no_variation_every_pass_is_the_first_note_for_note(model):
    _, result = played(model, 4, 24, variation=0)
    phrases = passes(result.notes, 4, 6)
    assert sum(len(bar) for bar in phrases[0]) > 8  # the phrase has notes to repeat
    assert all(phrase == phrases[0] for phrase in phrases[1:])
    # and every note ends by the loop's end: nothing crosses bar 1
    for n in result.notes:
        assert n.start // (4 * BAR) == (n.end - 1e-9) // (4 * BAR)


def repeat_share(model, variation, seeds=range(4), bars=4, total=32):
    same = total_bars = 0
    for seed in seeds:
        _, result = played(model, bars, total, variation=variation, seed=seed)
        for k in range(bars, total):
            total_bars += 1
            same += bar_of(result.notes, k) == bar_of(result.notes, k - bars)
    return same / total_bars


def test_more_variation_changes_more_bars_measured(model):
    shares = {v: repeat_share(model, v) for v in (0, 25, 50, 100)}
    assert shares[0] == 1.0
    assert shares[0] > shares[25] > shares[50] > shares[100]
    assert 0.0 < shares[50] < 1.0  # between: some bars repeat, some change


def test_the_phrase_s_end_changes_more_often_than_its_start():
    # the chances themselves, and their mean close to the variation asked
    chances = [resample_chance(40, index, 4) for index in range(4)]
    assert chances == sorted(chances) and chances[0] < 0.4 < chances[-1]
    assert abs(np.mean(chances) - 0.4) < 0.05
    assert resample_chance(0, 3, 4) == 0.0 and resample_chance(100, 0, 4) == 1.0


def test_the_end_changes_more_in_what_is_played(model):
    changed = np.zeros(4)
    for seed in range(6):
        _, result = played(model, 4, 40, variation=40, seed=seed)
        for k in range(4, 40):
            changed[k % 4] += bar_of(result.notes, k) != bar_of(result.notes, k - 4)
    assert changed[3] > changed[0]


def test_a_transpose_applies_to_the_repeated_notes_at_once(model):
    turn_at = 9.5 * BAR  # inside the third pass of a 4-bar loop
    cue = Cue(turn_at, ChangeControls({"transpose": 5}, 0.0))
    _, plain = played(model, 4, 16, variation=0)
    _, turned = played(model, 4, 16, variation=0, cues=[cue])
    # (a pitch transposed past 127 is held silent)
    after = [(round(n.start, 3), n.pitch) for n in plain.notes if n.start > turn_at + 0.15 and n.pitch <= 122]
    turned_after = [(round(n.start, 3), n.pitch - 5) for n in turned.notes if n.start > turn_at + 0.15]
    assert after and after == turned_after
    before = [n for n in plain.notes if n.end < turn_at]
    assert before == [n for n in turned.notes if n.end < turn_at]


def test_next_lands_on_the_next_bar_line_with_a_new_phrase_that_then_repeats(model):
    cue = Cue(9.3 * BAR, PhraseAction("next"))
    generator, result = played(model, 2, 20, variation=0, cues=[cue])
    old = bar_of(result.notes, 0), bar_of(result.notes, 1)
    assert bar_of(result.notes, 8) == old[0] and bar_of(result.notes, 9) == old[1]  # up to the cue's bar
    new = bar_of(result.notes, 10), bar_of(result.notes, 11)  # bar 11 of the set: the new bar 1
    assert new != old
    for k in range(12, 20, 2):
        assert (bar_of(result.notes, k), bar_of(result.notes, k + 1)) == new
    assert generator.looper.anchor == round(10 * BAR / vocab.STEP_SECONDS)


def test_next_with_launch_beat_begins_the_phrase_on_the_next_beat(model):
    cues = [Cue(0.0, SetLaunch("beat")), Cue(4.3 * BAR, PhraseAction("next"))]
    generator, _ = played(model, 1, 8, variation=0, cues=cues)
    anchor = generator.looper.anchor * vocab.STEP_SECONDS
    beat = BAR / 4
    assert abs(anchor / beat - round(anchor / beat)) < 1e-6 and 4.3 * BAR < anchor <= 4.3 * BAR + beat


def test_hold_freezes_a_phrase_that_changed_every_time(model):
    cue = Cue(6.5 * BAR, PhraseAction("hold"))
    generator, result = played(model, 2, 20, variation=100, cues=[cue])
    assert bar_of(result.notes, 4) != bar_of(result.notes, 2)  # 100 %: new each time, before
    held = (bar_of(result.notes, 8), bar_of(result.notes, 9))  # from the first pass after it lands
    for k in range(10, 20, 2):
        assert (bar_of(result.notes, k), bar_of(result.notes, k + 1)) == held
    assert generator.looper.hold


def test_mutate_samples_one_bar_anew_and_the_loop_keeps_it(model):
    cue = Cue(8.6 * BAR, PhraseAction("mutate"))  # lands on bar 10 of the set: bar 2 of the loop
    _, result = played(model, 4, 20, variation=0, cues=[cue])
    first = passes(result.notes, 4, 1)[0]
    mutated = tuple(bar_of(result.notes, 8 + b) for b in range(4))
    assert mutated[0] == first[0] and mutated[2:] == first[2:] and mutated[1] != first[1]
    assert passes(result.notes, 4, 5)[3:] == [mutated, mutated]


def test_double_repeats_the_phrase_and_halve_keeps_its_first_bars(model):
    cues = [Cue(4.2 * BAR, SetLoop(change="double")), Cue(12.4 * BAR, SetLoop(change="halve"))]
    generator, result = played(model, 2, 24, variation=0, cues=cues)
    a = (bar_of(result.notes, 0), bar_of(result.notes, 1))
    # doubled on the loop's bar line at bar 6 of the set: the 4-bar phrase is A A
    for k in range(6, 14, 2):
        assert (bar_of(result.notes, k), bar_of(result.notes, k + 1)) == a
    halved = [bar_of(result.notes, k) for k in range(14, 24)]
    assert all(bar == a[0] for bar in halved[::2]) and all(bar == a[1] for bar in halved[1::2])
    assert generator.looper.bars == 2


def test_halve_a_one_bar_loop_stays_one_bar_and_a_loop_turned_off_plays_on(model):
    cues = [Cue(1.5 * BAR, SetLoop(change="halve")), Cue(4.5 * BAR, SetLoop(0))]
    generator, result = played(model, 1, 12, variation=0, cues=cues)
    assert bar_of(result.notes, 1) == bar_of(result.notes, 0)
    onsets = [(at, pitch) for at, _, pitch, _ in bar_of(result.notes, 0)]
    # bar 5 still loops (off lands on the loop's next bar line); its notes then play on
    assert [(at, pitch) for at, _, pitch, _ in bar_of(result.notes, 4)] == onsets
    assert generator.looper.bars == 0 and generator.looper.mode == "free"
    later = [bar_of(result.notes, k) for k in range(6, 12)]
    assert any(bar != bar_of(result.notes, 0) for bar in later)  # free again: it wanders


def test_a_knob_turn_that_resamples_replays_a_repeated_bar_unchanged(model):
    cue = Cue(6.4 * BAR, ChangeControls({"temperature": 1.7}, 0.0))
    _, plain = played(model, 4, 8, variation=0)
    _, turned = played(model, 4, 8, variation=0, cues=[cue])
    assert turned.notes == plain.notes  # every bar there is played again: the knob shapes only new ones


def test_after_a_pause_the_loop_comes_back_on_its_next_bar_line_with_the_right_bar(model):
    cues = [Cue(5.3 * BAR, Pause()), Cue(5.3 * BAR + 0.5, Resume())]
    _, result = played(model, 4, 16, variation=0, cues=cues)
    first = passes(result.notes, 4, 1)[0]
    # performance time stands still while paused: it goes on silent to the loop's next bar
    # line, bar 7 of the set, which is the loop's bar 3
    assert not [n for n in result.notes if 5.3 * BAR + 0.15 < n.start < 6 * BAR - 1e-9]
    def onsets(bar):  # past the bar line (a note tied into the bar is struck again there)
        return [(at, pitch) for at, _, pitch, _ in bar if at > 0]

    assert onsets(bar_of(result.notes, 6)) == onsets(first[2])
    assert bar_of(result.notes, 7) == first[3]
    assert passes(result.notes, 4, 4)[2:] == [first, first]


def test_a_seconds_model_refuses_a_loop_in_one_line(stream_model_path):
    model = load_model(stream_model_path)
    said = []
    scheduler = Scheduler(Generator(model, seed=1), lambda out: True, log=said.append)
    scheduler.start(0.0)
    scheduler.apply([SetLoop(4)], 0.1)
    assert scheduler.generator.looper is None
    assert len(said) == 1 and "seconds" in said[0] and "beat model" in said[0]


def test_the_phrase_as_notes_is_exactly_its_bars_long(model):
    generator, _ = played(model, 2, 4, variation=0)
    notes = phrase_notes(generator.looper.phrase, Controls(transpose=2))
    assert notes and all(0 <= n.start < n.end <= 2 * BAR + 1e-9 for n in notes)
    _, result = played(model, 2, 2, variation=0)
    assert [(round(n.start, 4), n.pitch + 2) for n in result.notes] == [(round(n.start, 4), n.pitch) for n in notes]


# ---------------------------------------------------------------- adversarial logits


class Adversary:
    """A stand-in model whose logits are chosen to break the loop: notes struck and never
    released, notes struck across the bar line, floods of velocity changes."""

    info = SimpleNamespace(time="beats")

    def __init__(self, seed):
        rng = np.random.default_rng(seed)
        self.states = [SimpleNamespace(logits=self._logits(rng, kind)) for kind in range(4) for _ in range(16)]
        self.picks = rng.integers(0, len(self.states), 4096)
        self.steps = 0

    def initial_state(self):
        return self.states[0]

    def feed(self, state, events):
        return self.states[0]

    def step(self, state, event):
        self.steps += 1
        return self.states[self.picks[self.steps % len(self.picks)]]

    @staticmethod
    def _logits(rng, kind):
        logits = np.full(vocab.VOCAB_SIZE, -20.0, np.float32)
        if kind == 0:  # note-ons only
            logits[vocab.NOTE_ON_OFFSET:vocab.NOTE_OFF_OFFSET] = rng.normal(5, 3, 128)
        elif kind == 1:  # long time shifts: across every bar line
            logits[vocab.TIME_SHIFT_OFFSET + 60:vocab.VELOCITY_OFFSET] = 10.0
        elif kind == 2:
            logits[:] = rng.normal(0, 6, vocab.VOCAB_SIZE)
        else:  # velocities and note-ons, no note-offs
            logits[vocab.VELOCITY_OFFSET:] = 4.0
            logits[rng.integers(0, 128)] = 6.0
        return logits


def test_no_note_sounds_across_10000_loop_ends_with_adversarial_logits():
    rng = np.random.default_rng(7)
    generator = Generator(Adversary(7), Controls(variation=50, max_note=0.5, polyphony=16), seed=7)
    generator.prime([])
    looper = generator.loop()
    looper.begin(1, generator.performer, generator)
    sounding: dict[int, float] = {}
    ends = ons = 0
    last_pass = looper.passes
    while ends < 10_000:
        _, messages = generator.next()
        for m in messages:
            if m.on:
                assert m.pitch not in sounding
                sounding[m.pitch] = m.time
                ons += 1
            else:
                assert m.pitch in sounding  # never a note-off for a silent pitch
                assert m.time - sounding.pop(m.pitch) <= 0.5 + 1e-9  # the max length holds
        if looper.passes != last_pass and looper.way_at >= len(looper.way):
            # bar 1 of a new pass, after its way in: the loop's end left nothing sounding
            assert not sounding and not generator.performer.held, f"after loop end {ends}"
            last_pass = looper.passes
            ends += 1
            if ends % 97 == 0:  # now and then a knob: transpose, a shorter max length, mutate
                generator.controls = generator.controls.with_(transpose=int(rng.integers(-12, 13)),
                                                              max_note=float(rng.choice([0.1, 0.5])))
    for m in generator.finish():
        sounding.pop(m.pitch)
    assert not sounding and ons > 10_000
