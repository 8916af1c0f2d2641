"""Corpus building from real MIDI files, its file format, splits, and the pure rules
around it (augmentation, batches, primers, score velocities and tempo)."""

import json

import numpy as np
import pytest

from live.core import codec, vocab
from live.files.midifile import Part, write_midi
from live.core.notes import Note

from export.corpus import batches
from export.corpus.augment import augment, transpose_range
from export.corpus.building import (
    Corpus, assign_splits, build_corpus, load_corpus, notes_to_events, save_corpus,
)
from export.errors import CorpusError
from export.training.primers import choose_primers, onset_boundaries
from export.evaluation.scoring import PAD_EVENT, windows

from midi_builders import meta, off, on, save


def melody(first_pitch: int, count: int = 16) -> list[Note]:
    return [Note(first_pitch + (i % 5), i * 0.25, i * 0.25 + 0.2, 70 + i) for i in range(count)]


@pytest.fixture
def midi_folder(tmp_path):
    folder = tmp_path / "songs"
    (folder / "deeper").mkdir(parents=True)
    for k in range(9):
        lead = Part("Lead", 0, 81, notes=melody(60 + k))
        bass = Part("Bass", 1, 38, notes=[Note(36, i * 1.0, i * 1.0 + 0.9, 90) for i in range(8)])
        write_midi((folder / "deeper" if k % 2 else folder) / f"song{k}.mid", [lead, bass], bpm=128)
    (folder / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")  # header cut short
    save(folder / "tiny.mid", [[meta("set_tempo", tempo=500000), on(60), off(60, time=240)]])
    return folder


def test_build_reads_melodies_skips_bad_files_and_stores_provenance(midi_folder, tmp_path):
    corpus = build_corpus([str(midi_folder)], seed=3, time="seconds")
    assert len(corpus.pieces) == 9
    piece = next(p for p in corpus.pieces if p.name == "deeper/song1.mid")
    assert piece.notes[:, 0].min() == 61  # the lead, not the bass
    assert codec.encode(melody(61)) == list(piece.events)

    skipped = corpus.provenance["skipped"]
    assert len(skipped) == 2
    assert any("broken.mid" in s for s in skipped)
    assert any("tiny.mid" in s and "only 1 melody notes" in s for s in skipped)
    counts = corpus.provenance["counts"]
    assert (counts["pieces"], counts["skipped"]) == (9, 2)
    assert counts["train"] + counts["val"] + counts["test"] == 9 and counts["val"] >= 1 and counts["test"] >= 1
    assert "licence" in corpus.provenance["sources"][0]

    path = save_corpus(corpus, tmp_path / "c.npz")
    again = load_corpus(path)
    assert [p.name for p in again.pieces] == [p.name for p in corpus.pieces]
    assert [p.split for p in again.pieces] == [p.split for p in corpus.pieces]
    assert all(np.array_equal(a.notes, b.notes) for a, b in zip(again.pieces, corpus.pieces))
    assert again.provenance == json.loads(json.dumps(corpus.provenance))
    assert "9 pieces" in again.describe()


def test_a_beat_corpus_puts_notes_on_the_beat_grid_exactly_from_the_bar_line_whatever_the_tempo(tmp_path):
    beat = 60.0 / 137  # an odd tempo: in seconds its 16ths are no whole number of 10 ms steps
    # a pickup on beat 4 of the first bar, then 16ths and 8th triplets
    onsets = [3.0, 4.0, 4.25, 4.5, 4.75, 5.0, 5.0 + 1 / 3, 5.0 + 2 / 3, 6.0, 7.5]
    notes = [Note(60 + i, t * beat, (t + 0.2) * beat, 80) for i, t in enumerate(onsets)]
    write_midi(tmp_path / "odd.mid", [Part("Lead", 0, 81, notes=notes)], bpm=137)
    (piece,) = build_corpus([str(tmp_path / "odd.mid")]).pieces
    assert (piece.time, piece.meter) == ("beats", "4/4")

    events = list(piece.events)
    steps = [vocab.TIME_SHIFT_OFFSET <= e < vocab.VELOCITY_OFFSET for e in events]
    onset_steps, now = [], 0
    for event, is_shift in zip(events, steps):
        if is_shift:
            now += event - vocab.TIME_SHIFT_OFFSET + 1
        elif event < vocab.NOTE_OFF_OFFSET:
            onset_steps.append(now)
    # beat 3 is 144 steps from the bar line (the rest before the pickup is kept); a 16th
    # is 12 steps, a triplet 8th 16: every onset exactly where the score puts it
    assert onset_steps == [round(t * vocab.STEPS_PER_BEAT) for t in onsets]
    assert now % vocab.STEPS_PER_BAR == 0 and now == 2 * vocab.STEPS_PER_BAR  # ends on a bar line

    seconds = build_corpus([str(tmp_path / "odd.mid")], time="seconds").pieces[0]
    assert seconds.events[0] != events[0]  # in seconds the leading rest goes, as before


def test_meters_choose_pieces_and_say_what_they_left_out(tmp_path):
    for name, signature in (("reel", (4, 4)), ("polka", (2, 4)), ("jig", (6, 8))):
        write_midi(tmp_path / f"{name}.mid", [Part("Lead", 0, 81, notes=melody(60))], time_signature=signature)
    corpus = build_corpus([str(tmp_path)], meters=["4/4", "2/4"])
    assert sorted((p.name, p.meter) for p in corpus.pieces) == [("polka.mid", "2/4"), ("reel.mid", "4/4")]
    assert corpus.provenance["left_out_by_meter"] == {"6/8": 1}
    with pytest.raises(CorpusError, match="no piece .* is in 3/4 .*1 piece in 6/8"):
        build_corpus([str(tmp_path / "jig.mid")], meters=["3/4"])
    with pytest.raises(CorpusError, match="meter 'four': give a time signature like 4/4"):
        build_corpus([str(tmp_path)], meters=["four"])


def test_splits_are_by_name_and_seed_and_stable_when_pieces_are_added():
    names = [f"piece{i}" for i in range(100)]
    labels = assign_splits(names, seed=0)
    assert labels.count("val") == 10 and labels.count("test") == 9
    assert assign_splits(list(reversed(names)), seed=0) == list(reversed(labels))
    assert assign_splits(names, seed=1) != labels
    grown = assign_splits(names + [f"new{i}" for i in range(5)], seed=0)
    moved = sum(a != b for a, b in zip(labels, grown))
    assert moved <= 5  # ranks shift only around the share's edge
    assert assign_splits(["a", "b", "c"], 0).count("train") == 1


def test_empty_sources_and_sources_without_melodies_are_one_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no pieces found"):
        build_corpus([str(tmp_path / "empty")])
    drums = tmp_path / "drums"
    drums.mkdir()
    save(drums / "beat.mid", [[on(36, channel=9), off(36, time=240, channel=9)] * 20])
    with pytest.raises(CorpusError, match="no usable melody.*beat.mid"):
        build_corpus([str(drums)])
    with pytest.raises(CorpusError, match="no such file or folder"):
        build_corpus([str(tmp_path / "missing")])


def test_load_rejects_files_that_are_not_corpora(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(CorpusError, match="not an encore corpus"):
        load_corpus(tmp_path / "other.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(CorpusError, match=r"junk.npz: not a corpus \(an .npz made by encore corpus build\)"):
        load_corpus(tmp_path / "junk.npz")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 and then nothing a zip needs")
    with pytest.raises(CorpusError, match="cannot be read"):
        load_corpus(tmp_path / "broken.npz")
    # a MIDI file given where a corpus goes (encore train song.mid) says how to make one of it
    save(tmp_path / "song.mid", [[on(60), off(60, time=480)]])
    with pytest.raises(CorpusError, match="song.mid: a MIDI file, not a corpus; .*encore corpus build .*song.mid"):
        load_corpus(tmp_path / "song.mid")
    with pytest.raises(CorpusError, match="the corpus is empty"):
        load_corpus(save_corpus(Corpus([], {}), tmp_path / "empty.npz"))


def test_augmentation_transposes_inside_the_keyboard_and_stretches_time():
    notes = np.array([[120, 0.0, 0.5, 80], [125, 0.5, 1.0, 90]], dtype=np.float64)
    assert transpose_range(notes[:, 0], 5) == (-5, 2)
    rng = np.random.default_rng(0)
    for _ in range(50):
        out = augment(notes, rng, semitones=5, stretch=0.05)
        assert out[:, 0].max() <= 127 and out[:, 0].min() >= 115
        assert out[1, 0] - out[0, 0] == 5  # intervals kept
        factor = out[1, 1] / 0.5
        assert 0.95 <= factor <= 1.05 and out[1, 2] == pytest.approx(factor)
        assert list(out[:, 3]) == [80, 90]
    assert np.array_equal(augment(notes, rng, 0, 0.0), notes)


def test_stream_lanes_carry_every_event_in_order_with_silence_between_pieces():
    rng = np.random.default_rng(0)
    pieces = [np.arange(10) + 100 * k for k in range(6)]
    pieces.append(np.arange(25) + 1000)
    lanes = batches.lanes(pieces, 3, rng)
    assert lanes.shape[0] == 3
    carried = lanes[lanes != batches.IGNORE]
    assert sorted(carried[carried != PAD_EVENT]) == sorted(np.concatenate(pieces))  # nothing dropped
    for lane in lanes:
        pauses = np.flatnonzero(lane == PAD_EVENT)
        assert len(pauses) >= 1 and all(lane[p - 1] % 100 in (9, 24) for p in pauses)
    pairs = batches.stream_windows(lanes, 4)
    inputs = np.concatenate([x for x, _ in pairs], axis=1)
    targets = np.concatenate([y for _, y in pairs], axis=1)
    assert np.array_equal(targets, lanes[:, 1:])
    filler = lanes[:, :-1] == batches.IGNORE
    assert filler.any() and np.all(inputs[filler] == PAD_EVENT)
    assert np.array_equal(inputs[~filler], lanes[:, :-1][~filler])


def test_windows_are_left_padded_with_silence():
    contexts = windows(np.array([1, 2, 3, 4]), 3)
    assert contexts.tolist() == [[PAD_EVENT, PAD_EVENT, 1], [PAD_EVENT, 1, 2], [1, 2, 3]]
    rng = np.random.default_rng(0)
    seen = [t for _, y in batches.seed_batches([np.array([1, 2, 3]), np.array([7, 8])], 2, 4, rng) for t in y]
    # Every event after the first is a target once, the pauses between pieces too.
    assert sorted(seen) == sorted([2, 3, PAD_EVENT, 7, 8, PAD_EVENT])


def test_primers_start_at_note_ons_with_a_velocity_and_fit_the_length():
    events = notes_to_events(np.array([(60 + i % 7, i * 0.3, i * 0.3 + 0.2, 60 + 3 * (i % 4)) for i in range(80)]))
    primers = choose_primers([events], seed=0, count=5)
    assert 1 <= len(primers) <= 5
    for primer in primers:
        assert vocab.is_velocity(primer[0])
        assert 32 <= len(primer) <= 65
        assert vocab.is_note_on(primer[1])
    assert onset_boundaries([vocab.velocity(3), vocab.note_on(60), vocab.note_on(64)]) == [0]


def test_beat_lanes_join_pieces_by_a_whole_bar_so_every_piece_starts_on_a_bar_line():
    one_bar = [vocab.velocity(20), 60, vocab.time_shift(100), 188, vocab.time_shift(92)]
    pieces = [np.array(one_bar * k) for k in (1, 2, 3)]
    lane = batches.lanes(pieces, 1, np.random.default_rng(0), batches.BAR_JOINT)[0]
    steps, starts = 0, []
    for event in lane:
        if vocab.TIME_SHIFT_OFFSET <= event < vocab.VELOCITY_OFFSET:
            steps += int(event) - vocab.TIME_SHIFT_OFFSET + 1
        elif event < vocab.NOTE_OFF_OFFSET:
            starts.append(steps)
    assert starts and all(s % vocab.STEPS_PER_BAR == 0 for s in starts)


def test_beat_augmentation_redraws_each_piece_s_loudness_and_keeps_its_grid():
    from export.corpus.augment import FLAT_VELOCITY_SHARE, vary_velocity

    notes = np.array([[60 + i % 5, i * 0.12, i * 0.12 + 0.1, 50 + 10 * (i % 4)] for i in range(32)], float)
    rng = np.random.default_rng(0)
    flat = varied = 0
    seen = []
    for _ in range(400):
        out = vary_velocity(notes, rng)
        seen.extend(out[:, 3])
        assert np.array_equal(out[:, :3], notes[:, :3])  # pitches and times untouched
        assert out[:, 3].min() >= 1 and out[:, 3].max() <= 127
        if len(set(out[:, 3])) == 1:
            flat += 1
        else:
            varied += 1
            # one gain and one offset for the whole piece: the accents keep their order
            assert np.array_equal(np.argsort(out[:8, 3], kind="stable"), np.argsort(notes[:8, 3], kind="stable"))
    assert abs(flat / 400 - FLAT_VELOCITY_SHARE) < 0.07
    # the books play 50-80 here; redrawn, some pieces far softer, others far louder
    assert min(seen) < 35 and max(seen) > 105


def test_a_file_name_that_is_not_utf8_is_built_like_any_other(tmp_path):
    import os

    folder = tmp_path / "names"
    folder.mkdir()
    melody = [[on(60 + i % 7, time=0 if i == 0 else 0), off(60 + i % 7, time=240)] for i in range(48)]
    save(folder / "good.mid", [sum(melody, [])])
    odd = os.fsdecode(os.fsencode(str(folder)) + b"/caf\xe9-\xff.mid")  # bytes from another system
    save(odd, [sum(melody, [])])
    corpus = build_corpus([str(folder)])
    assert len(corpus.pieces) == 2
    load_corpus(save_corpus(corpus, tmp_path / "c.npz"))  # and it saves and loads
