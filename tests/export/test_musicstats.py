import json
import re

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


def grid_corpus(tmp_path, time):
    """Pieces of 16ths on the reference grid (0.12 s), each bar the same: a corpus saved
    with provenance time `time`."""
    from export.corpus.building import Corpus, Piece, save_corpus

    bar = [60, 64, 67, 72] * 4
    rows = np.array([[p, k * 0.12, k * 0.12 + 0.1, 80] for k, p in enumerate(bar * 3)], float)
    pieces = [Piece(f"p{k}", "grid", rows, split) for k, split in enumerate(["train", "val", "test"])]
    return save_corpus(Corpus(pieces, {"time": time} if time else {}), tmp_path / f"{time}.npz")


def figure_lines(stdout):
    return {line.split(":")[0]: line for line in stdout.splitlines() if line.split(":")[0].startswith(
        ("on the 16th grid", "bar repeats", "in key"))}


def test_a_beat_corpus_has_a_grid_and_a_seconds_corpus_has_none(tmp_path):
    from cli_helpers import run_main
    from export.evaluation.beatstats import GRID_TOLERANCE_MS

    beats = run_main("musicstats", grid_corpus(tmp_path, "beats"))
    assert beats.returncode == 0, beats.stderr
    lines = figure_lines(beats.stdout)
    # one line per figure, the tolerance named; 3 bars alike: bars 2 and 3 repeat
    assert lines[f"on the 16th grid (onsets within {GRID_TOLERANCE_MS:g} ms)"].endswith("test 100.0 %")
    assert lines["bar repeats (bars equal to the bar 1, 2 or 4 before)"].endswith("test 66.7 %")
    assert lines["in key (notes in the major/minor scale holding most of them)"].endswith("test 100.0 %")
    for time in ("seconds", None):  # as said, or a corpus from before beat time
        seconds = run_main("musicstats", grid_corpus(tmp_path, time), "--json")
        figures = json.loads(seconds.stdout)["test"]
        assert figures["grid_share"] is None and figures["bar_repeat_share"] is None
        assert figures["key_share"] == 1.0
    text = run_main("musicstats", grid_corpus(tmp_path, "seconds")).stdout
    assert [line.split(": ", 1)[1] for line in figure_lines(text).values()] == ["test n/a", "test n/a", "test 100.0 %"]


def test_midi_files_are_measured_on_their_own_grid_alone_or_beside_a_render(tmp_path, stream_model_path):
    from cli_helpers import run_main
    from midi_builders import meta, off, on, save

    def melody(path, late_ms):
        # 500 ticks a beat at 120 BPM: a tick is 1 ms, a 16th 125 ticks; two bars of 16ths, alike
        notes = []
        for k, pitch in enumerate([60, 64, 67, 72] * 8):
            notes += [on(pitch, time=late_ms if k == 0 else 25), off(pitch, time=100)]
        return save(path, [[meta("set_tempo", tempo=500_000)], notes], ticks_per_beat=500)

    folder = tmp_path / "songs"
    folder.mkdir()
    melody(folder / "on.mid", 0)
    melody(folder / "late.mid", 30)
    (folder / "notes.txt").write_text("not MIDI, not looked at")
    alone = run_main("musicstats", folder)
    assert alone.returncode == 0, alone.stderr
    assert alone.stdout.splitlines()[0].startswith("    files: 64 notes")
    # on.mid all on the grid, late.mid all 30 ms late; each has 2 bars, the second a repeat
    assert [line.split(": ", 1)[1] for line in figure_lines(alone.stdout).values()] == [
        "files 50.0 %", "files 50.0 %", "files 100.0 %"]
    one = json.loads(run_main("musicstats", folder / "on.mid", "--json").stdout)
    assert one["reference"] == "files" and one["files"]["grid_share"] == 1.0

    beside = run_main("musicstats", stream_model_path, folder, "--minutes", "0.25")
    assert beside.returncode == 0, beside.stderr
    lines = list(figure_lines(beside.stdout).values())
    # the random model speaks seconds: its music has no grid; its key share is a share
    assert lines[0].endswith("rendered n/a, files 50.0 %") and lines[1].endswith("rendered n/a, files 50.0 %")
    assert re.search(r"rendered \d+\.\d %, files 100\.0 %$", lines[2])
    assert "distance to files" in beside.stdout


def test_musicstats_says_in_one_line_what_it_cannot_measure(tmp_path, stream_model_path):
    from cli_helpers import assert_one_line_error, run_main

    assert_one_line_error(run_main("musicstats", tmp_path / "missing"), "no such file or folder")
    assert_one_line_error(run_main("musicstats", stream_model_path), "is a model", "a corpus .npz")
    (tmp_path / "bad.mid").write_text("not MIDI")
    assert_one_line_error(run_main("musicstats", tmp_path), "no MIDI file with notes", "bad.mid")


def test_a_beat_model_s_renders_sit_on_the_grid_control_s_lines_and_off_it_where_they_like(beat_model_path, tmp_path):
    from cli_helpers import run_main
    from export.corpus.building import save_corpus
    from toy_corpus import toy_corpus

    corpus = save_corpus(toy_corpus(), tmp_path / "toy.npz")
    on = run_main("musicstats", beat_model_path, corpus, "--minutes", "1", "--json")
    off = run_main("musicstats", beat_model_path, corpus, "--minutes", "1", "--grid", "off", "--json")
    assert on.returncode == 0 and off.returncode == 0, on.stderr + off.stderr
    on, off = json.loads(on.stdout), json.loads(off.stdout)
    assert on["grid_control"] == "1/16" and off["grid_control"] == "off"
    assert on["rendered"]["notes"] > 0 and on["rendered"]["grid_share"] == 1.0
    assert off["rendered"]["grid_share"] < 0.9  # a random model's own rhythm is anywhere
