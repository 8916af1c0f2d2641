"""Chords: names and progressions read as musicians write them, the key they make, and the
sampler's lean toward the chord on beats 1 and 3 (measured on the shipped model), and a
chord change landing on the next beat or bar line."""

from pathlib import Path

import numpy as np
import pytest

from live.core import vocab
from live.core.bars import to_bar_line
from live.core.chords import ChordError, chord_of_pitches, key_name, key_of, parse_chord, parse_progression
from live.core.commands import PlayChord, SetChords
from live.core.controls import Controls
from live.core.generator import Generator
from live.core.harmony import Harmony, _key_tones
from live.core.render import Cue, render
from live.core.timeline import Timeline
from live.model import load_model

SHIPPED = Path(__file__).parents[2] / "models" / "default.onnx"
BAR = vocab.STEPS_PER_BAR * vocab.STEP_SECONDS


@pytest.mark.parametrize("name, root, tones", [
    ("Am", 9, {9, 0, 4}), ("F", 5, {5, 9, 0}), ("G7", 7, {7, 11, 2, 5}), ("Cmaj7", 0, {0, 4, 7, 11}),
    ("F#m7", 6, {6, 9, 1, 4}), ("Bbsus4", 10, {10, 3, 5}), ("Dsus2", 2, {2, 4, 9}), ("Bdim", 11, {11, 2, 5}),
    ("Caug", 0, {0, 4, 8}), ("E5", 4, {4, 11}), ("Ebmaj", 3, {3, 7, 10}),
])
def test_chord_names(name, root, tones):
    chord = parse_chord(name)
    assert (chord.root, set(chord.tones)) == (root, tones)


def test_progressions_their_bars_and_their_key():
    progression = parse_progression("Am:2 F C G")
    assert progression.bars == 5 and str(progression) == "Am:2 F C G"
    assert [str(progression.at_bar(b)) for b in range(7)] == ["Am", "Am", "F", "C", "G", "Am", "Am"]
    assert key_name(key_of(parse_progression("Am F C G"))) == "A:minor"
    assert key_name(key_of(parse_progression("C G Am F"))) == "C:major"
    assert key_name(key_of(parse_progression("Em C G D"))) == "E:minor"


@pytest.mark.parametrize("text, fragment", [
    ("Hm", "chord 'Hm': expected a root"), ("Cmaj9", "chord 'Cmaj9'"), ("Am:0", "1..64"), ("", "no chords"),
])
def test_a_bad_progression_says_what_is_wrong(text, fragment):
    with pytest.raises(ChordError, match=fragment):
        parse_progression(text)


def test_a_chord_held_on_a_keyboard():
    assert str(chord_of_pitches([57, 60, 64])) == "Am"
    assert str(chord_of_pitches([48, 64, 67, 70])) == "C7"  # spread over octaves
    assert chord_of_pitches([60]) is None
    odd = chord_of_pitches([60, 61, 66])
    assert odd.root == 0 and odd.tones == {0, 1, 6}  # not a named chord: still its tones


def shares(model, amount, seeds=range(4), bars=16, progression="Am F C G"):
    """(chord tones among notes on beats 1 and 3, in-key share of all notes)."""
    chords = parse_progression(progression)
    key = _key_tones(key_of(chords))
    strong = tones = inkey = total = 0
    for seed in seeds:
        generator = Generator(model, Controls(harmony=amount), seed=seed)
        generator.prime(to_bar_line(list(model.info.primers[seed % len(model.info.primers)])))
        generator.harmony = Harmony.of(chords, generator.performer.step)
        result = render(generator, seconds=bars * BAR, timeline=Timeline(beats=True, bpm=125))
        for note in result.notes:
            step = round(note.start / vocab.STEP_SECONDS)
            total += 1
            inkey += note.pitch % 12 in key
            if step % (2 * vocab.STEPS_PER_BEAT) == 0:
                strong += 1
                tones += note.pitch % 12 in generator.harmony.chord_at(step).tones
    return tones / strong, inkey / total


def test_the_lead_leans_to_the_chord_on_beats_1_and_3_and_to_the_key_elsewhere():
    model = load_model(SHIPPED)
    off, leaning = shares(model, 0), shares(model, 60)
    assert leaning[0] > 0.7 > 0.25 * 2 > off[0] - 0.2  # a triad is 3 of 12 pitch classes: chance is 25 %
    assert leaning[0] > off[0] + 0.3 and leaning[1] > 0.95 and leaning[1] > off[1]


def test_the_lean_is_never_a_lock():
    chords = Harmony.of(parse_progression("C"), 0)
    bias = chords.bias(0, 1.0, 0)
    assert np.isfinite(bias).all() and bias[vocab.note_on(61)] < 0 == bias[vocab.note_on(60)]
    assert chords.bias(0, 0.0, 0) is None
    # transposed, the lean is on the pitches as they sound
    assert chords.bias(0, 1.0, 1)[vocab.note_on(59)] == 0  # 59 sounds as C


@pytest.fixture(scope="module")
def beat_model(beat_model_path):
    return load_model(beat_model_path)


def test_a_chord_played_lands_on_the_next_beat_and_a_progression_on_the_next_bar(beat_model):
    generator = Generator(beat_model, Controls(), seed=1)
    generator.prime([])
    cues = [Cue(2.3 * BAR, SetChords(parse_progression("Dm G"))), Cue(5.1 * BAR, PlayChord(parse_chord("E7")))]
    render(generator, seconds=8 * BAR, cues=cues, timeline=Timeline(beats=True, bpm=125))
    harmony = generator.harmony
    (start, progression), (played_at, chord) = harmony.parts
    assert start == 3 * vocab.STEPS_PER_BAR and str(progression) == "Dm G"
    beat = vocab.STEPS_PER_BEAT
    assert played_at == 5 * vocab.STEPS_PER_BAR + beat and str(chord) == "E7"  # 5.1 bars: the next beat
    assert str(harmony.chord_at(played_at - 1)) == "Dm" and str(harmony.chord_at(played_at)) == "E7"  # bar 6: Dm again
    assert key_name(harmony.key) == "C:major"  # Dm G is a ii-V of C; a chord played keeps the key
