"""A loop's phrase as a .mid clip: exactly its bars long at the tempo, from its downbeat."""

import mido
import pytest

from live.core import vocab
from live.core.controls import Controls
from live.core.generator import Generator
from live.core.phrase import phrase_notes
from live.core.render import render
from live.core.timeline import Timeline
from live.files.clips import ClipError, write_clip
from live.files.midifile import read_midi
from live.model import load_model

BAR = vocab.STEPS_PER_BAR * vocab.STEP_SECONDS


def phrase_of(beat_model_path, bars, played_bars):
    model = load_model(beat_model_path)
    generator = Generator(model, Controls(variation=0), seed=2)
    generator.prime(list(model.info.primers[0]))
    generator.loop().begin(bars, generator.performer, generator)
    render(generator, seconds=played_bars * BAR, timeline=Timeline(beats=True, bpm=125))
    return generator.looper.phrase


@pytest.mark.parametrize("bars, bpm", [(2, 128.0), (4, 174.0)])
def test_a_clip_is_exactly_its_bars_long_at_the_tempo_from_its_downbeat(beat_model_path, tmp_path, bars, bpm):
    phrase = phrase_of(beat_model_path, bars, bars + 1)
    path = write_clip(tmp_path, phrase, Controls(transpose=3), bpm)
    assert path.name == f"encore-loop-{bars}bars-{bpm:g}bpm.mid"
    midi = mido.MidiFile(path)
    assert midi.length == pytest.approx(bars * 4 * 60 / bpm, abs=1e-3)  # to the end of its last bar
    tempos = [m.tempo for track in midi.tracks for m in track if m.type == "set_tempo"]
    assert [round(mido.tempo2bpm(t), 3) for t in tempos] == [bpm]
    # read in beats: the notes of one pass, transposed as they sound, on their grid positions
    song = read_midi(path, beats=True)
    notes = [n for part in song.parts for n in part.notes]
    expected = phrase_notes(phrase, Controls(transpose=3))
    assert sorted((round(n.start, 3), n.pitch) for n in notes) == sorted((round(n.start, 3), n.pitch) for n in expected)
    assert all(n.end <= bars * BAR + 1e-6 for n in notes)
    # a second capture never overwrites the first
    assert write_clip(tmp_path, phrase, Controls(), bpm).name.endswith("-2.mid")


def test_no_clip_before_the_phrase_has_come_round_or_without_a_loop(beat_model_path, tmp_path):
    phrase = phrase_of(beat_model_path, 4, 2)
    with pytest.raises(ClipError, match="still playing its phrase for the first time"):
        write_clip(tmp_path, phrase, Controls(), 120.0)
    with pytest.raises(ClipError, match="no loop to capture"):
        write_clip(tmp_path, (), Controls(), 120.0)
    assert not list(tmp_path.iterdir())
