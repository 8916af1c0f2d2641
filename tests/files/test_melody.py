import pytest

from live.core.errors import MidiFileError
from live.files.melody import all_pitched_notes, choose_melody, skyline_notes
from live.files.midifile import Part, Song
from live.core.notes import Note


def line(pitches, start=0.0, step=0.25, length=0.2, velocity=90):
    return [Note(p, start + i * step, start + i * step + length, velocity) for i, p in enumerate(pitches)]


def chords(roots, step=1.0):
    return [Note(r + d, i * step, (i + 1) * step, 60) for i, r in enumerate(roots) for d in (0, 4, 7)]


BASS = line([36, 43, 36, 43] * 8, step=0.5, length=0.45)
TUNE = line([72, 74, 76, 77, 79, 77, 76, 74] * 4)
PADS = chords([60, 55, 57, 53] * 2, step=2.0)


def song(*parts):
    return Song(parts=list(parts), duration=16.0)


def test_a_part_named_like_a_lead_is_taken():
    named = Part("Vocal line", 3, notes=line([50, 52, 53] * 3))
    choice = choose_melody(song(Part("Piano", 0, notes=TUNE), named))
    assert choice.part is named
    assert "Vocal line" in choice.reason


@pytest.mark.parametrize("name", ["Lead", "synth lead 2", "MELODY", "Main Vox", "Topline", "Solo Sax"])
def test_lead_names(name):
    part = Part(name, 0, notes=line([40, 41]))
    assert choose_melody(song(Part("x", 1, notes=TUNE), part)).part is part


def test_without_names_the_high_monophonic_busy_part_wins():
    tune = Part("Track 2", 1, notes=TUNE)
    choice = choose_melody(song(Part("Track 1", 0, notes=BASS), tune, Part("Track 3", 2, notes=PADS)))
    assert choice.part is tune
    assert "no part is named" in choice.reason
    by_part = {s.part.name: s for s in choice.scores}
    assert by_part["Track 3"].monophony == 0.0  # chords are never one note alone
    assert by_part["Track 1"].monophony == 1.0 and by_part["Track 2"].monophony == 1.0
    assert by_part["Track 2"].score > by_part["Track 1"].score > by_part["Track 3"].score


def test_drums_are_never_the_melody():
    drums = Part("Lead drums", 9, is_drum=True, notes=line([36, 38] * 40))
    tune = Part("keys", 0, notes=TUNE)
    assert choose_melody(song(drums, tune)).part is tune


def test_a_song_with_only_drums_has_no_melody():
    drums = Part("Drums", 9, is_drum=True, notes=line([36, 38]))
    with pytest.raises(MidiFileError, match="no pitched notes"):
        choose_melody(song(drums))
    with pytest.raises(MidiFileError, match="no pitched notes"):
        all_pitched_notes(song(drums))


def test_all_pitched_notes_merges_every_non_drum_part_in_time_order():
    merged = all_pitched_notes(song(Part("a", 0, notes=BASS), Part("b", 1, notes=TUNE),
                                    Part("d", 9, is_drum=True, notes=line([36]))))
    assert len(merged) == len(BASS) + len(TUNE)
    assert merged == sorted(merged, key=lambda n: (n.start, n.pitch))


def test_skyline_keeps_the_top_of_each_chord_and_cuts_at_the_next_onset():
    notes = [
        Note(60, 0.0, 1.0, 50), Note(64, 0.0, 1.0, 60), Note(67, 0.0, 1.0, 70),
        Note(72, 0.5, 0.8, 90),  # a higher note over the chord
        Note(48, 0.6, 2.0, 40),  # a low note under the still-sounding 72: dropped
        Note(62, 1.0, 1.5, 80),
    ]
    assert skyline_notes(notes) == [
        Note(67, 0.0, 0.5, 70), Note(72, 0.5, 0.8, 90), Note(62, 1.0, 1.5, 80),
    ]


def test_skyline_output_is_one_voice():
    import random

    rng = random.Random(7)
    notes = [Note(rng.randrange(40, 90), t := rng.random() * 20, t + rng.random() * 2, 64) for _ in range(400)]
    top = skyline_notes(notes)
    for a, b in zip(top, top[1:]):
        assert a.end <= b.start
