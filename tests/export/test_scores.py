"""Melodies from scores: the velocity and tempo rules, and one real music21 piece."""

import numpy as np
import pytest

from export.corpus.music21_sources import DYNAMIC_VELOCITY, note_velocity, piece_bpm, seconds_at


def test_velocity_follows_metre_then_dynamics_then_accent_marks():
    downbeat, strong, weak, offbeat = (note_velocity(s, None) for s in (1.0, 0.5, 0.25, 0.125))
    assert downbeat > strong > weak > offbeat
    assert weak == DYNAMIC_VELOCITY["mf"]
    assert note_velocity(0.25, "pp") < note_velocity(0.25, "p") < note_velocity(0.25, "ff")
    assert note_velocity(0.125, "ff", accented=True) > note_velocity(0.125, "ff")
    assert 1 <= note_velocity(0.0, "ppp") and note_velocity(1.0, "fff", accented=True) <= 127


def test_tempo_marks_map_quarter_offsets_to_seconds():
    plain = seconds_at([], 120.0)
    assert plain(4.0) == pytest.approx(2.0)
    changing = seconds_at([(0.0, 60.0), (4.0, 120.0)], 999.0)
    assert changing(2.0) == pytest.approx(2.0)
    assert changing(6.0) == pytest.approx(5.0)  # 4 beats at 60, then 2 at 120
    pickup = seconds_at([(1.0, 60.0)], 120.0)  # a mark after a pickup note rules it too
    assert pickup(0.0) == 0.0 and pickup(2.0) == pytest.approx(2.0)


def test_drawn_bpm_stays_in_range_and_repeats_with_the_seed():
    drawn = [piece_bpm(f"tune{i}", 0, (120, 140)) for i in range(50)]
    assert all(120 <= b <= 140 for b in drawn) and len(set(drawn)) > 10
    assert drawn == [piece_bpm(f"tune{i}", 0, (120, 140)) for i in range(50)]
    assert piece_bpm("tune", 0, (128, 128)) == 128


def test_one_tune_of_a_music21_collection_becomes_a_phrased_melody():
    pytest.importorskip("music21", reason="music21 is the optional 'corpus' extra")
    from export.corpus.music21_sources import read_collection

    source = read_collection("ryansMammoth", seed=0, bpm=(120, 140), limit=1)
    (piece,) = source.pieces
    pitch, start, end, velocity = piece.notes.T
    assert len(piece.notes) > 50 and "public domain" in source.licence
    assert len(np.unique(velocity)) >= 3  # accents, never one constant
    assert np.all(np.diff(start) >= 0) and np.all(end > start)
    assert np.all(end[:-1] <= start[1:] + 1e-9)  # one line: no overlaps
    beat = np.median(np.diff(start))
    assert 0.1 < beat < 0.5  # a dance tempo, 120-140 BPM


def test_tunes_of_an_abc_book_parse_the_same_in_worker_processes():
    pytest.importorskip("music21", reason="music21 is the optional 'corpus' extra")
    from export.corpus.music21_sources import read_collection

    alone = read_collection("oneills1850", seed=1, bpm=(125, 125), limit=3)
    shared = read_collection("oneills1850", seed=1, bpm=(125, 125), limit=3, jobs=2)
    assert [p.name for p in alone.pieces] == ["oneills1850/0001-0050.abc#1", "oneills1850/0001-0050.abc#2",
                                              "oneills1850/0001-0050.abc#3"]
    assert [p.name for p in shared.pieces] == [p.name for p in alone.pieces]
    assert all(np.array_equal(a.notes, b.notes) for a, b in zip(alone.pieces, shared.pieces))


def test_an_unknown_collection_names_the_known_ones():
    from export.corpus.building import build_corpus
    from export.errors import CorpusError

    with pytest.raises(CorpusError, match="music21:nope is not a known collection.*music21:ryansMammoth"):
        build_corpus(["music21:nope"])


# The first alarm may land in hypothesis' garbage-collector callback, where Python
# swallows it (and pytest reports it): the guard fires again a second later, as here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_score_that_reads_too_long_is_skipped_and_counted(monkeypatch):
    pytest.importorskip("music21", reason="music21 is the optional 'corpus' extra")
    import time

    from export.corpus import music21_sources

    real = music21_sources.score_melody

    def slow_for_the_second(music21, score, label, seed, bpm, *rest):
        if label.endswith("#2"):
            time.sleep(60)  # a pathological score: the guard ends it long before
        return real(music21, score, label, seed, bpm, *rest)

    # 4 s: an ordinary tune reads in well under that even with music21's caches cold on a
    # fresh machine (0.5 s was not: a fresh CI clone once skipped the first tune too)
    monkeypatch.setattr(music21_sources, "PIECE_SECONDS", 4)
    monkeypatch.setattr(music21_sources, "score_melody", slow_for_the_second)
    began = time.monotonic()
    source = music21_sources.read_collection("oneills1850", seed=1, bpm=(125, 125), limit=3)
    assert time.monotonic() - began < 45  # not the 60 s the slow score would take
    assert [p.name.rsplit("#", 1)[1] for p in source.pieces] == ["1", "3"]
    (skipped,) = source.report.skipped
    assert "took over 4 s to read" in str(skipped)


def test_the_bach_bass_collection_takes_each_chorale_s_bass_line_under_its_soprano():
    pytest.importorskip("music21", reason="music21 is the optional 'corpus' extra")
    from export.corpus.music21_sources import read_collection

    soprano = read_collection("bach", seed=0, limit=2, time="beats")
    bass = read_collection("bachBass", seed=0, limit=2, time="beats")
    assert [p.name.split("/")[1] for p in bass.pieces] == [p.name.split("/")[1] for p in soprano.pieces]
    assert "bass line" in bass.licence and "public domain" in bass.licence
    for high, low in zip(soprano.pieces, bass.pieces):
        assert np.median(low.notes[:, 0]) < np.median(high.notes[:, 0]) - 12  # over an octave below
        assert np.all(low.notes[:-1, 2] <= low.notes[1:, 1] + 1e-9)  # one line
