import numpy as np
import pytest

from export.evaluation.musicstats import distance, stats


def piece(pitches, step=0.25, length=0.2, start=0.0):
    return np.array([[p, start + i * step, start + i * step + length, 80] for i, p in enumerate(pitches)], float)


def test_stats_of_a_scale():
    s = stats([piece([60, 62, 64, 65, 67, 69, 71, 72])])
    assert s.notes == 8 and s.pitch_low == 60 and s.pitch_high == 72
    assert abs(s.notes_per_second - 8 / 1.95) < 1e-9
    assert s.pitch_classes[0] == 2 / 8 and s.pitch_classes[1] == 0
    assert s.ioi.argmax() == 6  # every onset 0.25 s apart: the [0.25, 0.35) bin
    assert s.degenerate == []


def test_degenerate_music_is_named():
    stuck = stats([piece([60] * 20)])
    assert stuck.longest_repeat == 20 and "one pitch 20 times in a row" in stuck.degenerate
    gappy = np.vstack([piece([60, 62]), piece([64], start=6.0)])
    assert "silence of 5.55 s" in stats([gappy]).degenerate


def test_distance_between_histograms():
    a = stats([piece([60, 62, 64] * 4)])
    b = stats([piece([61, 63, 66] * 4, step=0.5)])
    assert distance(a.pitch_classes, a.pitch_classes) == 0.0
    assert distance(a.pitch_classes, b.pitch_classes) == 1.0
    assert 0 < distance(a.ioi, b.ioi) <= 1.0


def test_musicstats_renders_and_compares_through_the_cli(stream_model_path, tmp_path):
    import json

    from cli_helpers import run_main
    from export.corpus.building import save_corpus
    from toy_corpus import toy_corpus

    corpus = save_corpus(toy_corpus(), tmp_path / "toy.npz")
    result = run_main("musicstats", stream_model_path, corpus, "--minutes", "0.5", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["rendered"]["notes"] > 0 and figures["test"]["notes"] > 0
    assert 0.0 <= figures["pitch_class_distance"] <= 1.0 and 0.0 <= figures["ioi_distance"] <= 1.0


def test_key_aligned_pitch_classes_compare_melodies_in_any_key():
    in_c = stats([piece([60, 62, 64, 60, 67, 60, 65, 60])])
    in_e = stats([piece([64, 66, 68, 64, 71, 64, 69, 64])])  # the same tune a major third up
    assert distance(in_c.pitch_classes, in_e.pitch_classes) > 0.5
    assert distance(in_c.aligned_pitch_classes, in_e.aligned_pitch_classes) == 0.0
    assert in_c.aligned_pitch_classes[0] == 4 / 8  # the commonest class sits at 0
    wide = stats([piece([30] + [60] * 98 + [100])])
    assert (wide.pitch_low, wide.pitch_high) == (30, 100) and wide.pitch_p5 == wide.pitch_p95 == 60


def test_several_renders_pool_their_notes_and_give_each_figure_its_range(stream_model_path, tmp_path):
    from export.corpus.building import save_corpus
    from export.evaluation.musicstats import compare
    from toy_corpus import toy_corpus

    corpus = save_corpus(toy_corpus(), tmp_path / "toy.npz")
    one = [compare(stream_model_path, corpus, minutes=0.25, seed=s) for s in (5, 6, 7)]
    three = compare(stream_model_path, corpus, minutes=0.25, seed=5, renders=3)
    assert "spread" not in one[0] and three["renders"] == 3
    # the renders are the single renders with the next seeds, pooled
    assert three["rendered"]["notes"] == sum(f["rendered"]["notes"] for f in one)
    assert len({f["rendered"]["notes"] for f in one}) > 1  # fresh seeds, other music
    for key in ("notes_per_second", "pitch_class_distance", "ioi_distance"):
        singles = [f["rendered"][key] if key == "notes_per_second" else f[key] for f in one]
        assert three["spread"][key] == pytest.approx([min(singles), max(singles)], abs=1e-3)
