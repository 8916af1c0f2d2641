"""`encore bench --grid`: its figures from offsets, its report, its one-line refusals, and a
short run on JACK with the shipped beat model (sane values, not the issue's goals)."""

import json
import math

import pytest

from cli_helpers import assert_one_line_error, encore, run_main
from jackports import jack_backend
from live.app import grid_bench
from live.engine.ports import PortError
from live.model import load_model
from live.model.shipped import default_model_path


def test_each_onset_is_measured_to_the_nearest_grid_time_either_side():
    grid = [0.0, 0.1, 0.2, 0.3]
    onsets = [-0.01, 0.004, 0.098, 0.149, 0.151, 0.35]
    assert grid_bench.offsets_to_grid(onsets, grid) == pytest.approx([-0.01, 0.004, -0.002, 0.049, -0.049, 0.05])


def test_a_link_beat_is_measured_to_its_nearest_16th_at_its_own_tempo():
    # at 120 BPM a beat is 0.5 s, a 16th 125 ms; at 60 BPM twice that
    got = grid_bench.offsets_to_beat_grid([(8.01, 120.0), (8.24, 120.0), (3.76, 60.0)])
    assert got == pytest.approx([0.005, -0.005, 0.01])


def test_the_latency_is_one_for_all_parts_and_the_spread_is_around_it():
    figures = grid_bench.grid_figures({
        "128 BPM": [0.002, 0.003, 0.004, 0.009],  # one onset 6 ms off the others
        "136 BPM": [0.003, 0.0031, 0.0029],
    })
    assert figures["latency_ms"] == pytest.approx(3.0)
    assert figures["onsets"] == 7
    slow, fast = figures["parts"]["128 BPM"], figures["parts"]["136 BPM"]
    assert slow["onsets"] == 4 and slow["max_ms"] == pytest.approx(6.0)
    assert slow["within_3ms"] == pytest.approx(0.75)
    assert slow["median_ms"] == pytest.approx(1.0)
    assert fast["within_3ms"] == 1.0 and fast["max_ms"] == pytest.approx(0.1)
    assert slow["offsets_ms"] == pytest.approx([2.0, 3.0, 4.0, 9.0])  # in order, for a look at the outliers


def test_the_report_has_a_line_for_each_figure():
    part = grid_bench.grid_figures({"128 BPM": [0.002, 0.008], "136 BPM": [0.003]})
    figures = {
        "model": "/x/beats.onnx", "seconds": 20.0,
        "clock": {**part, "master_late_p99_ms": 0.02, "master_late_max_ms": 0.05, "master_stalls": [(3.5, 37.4)],
                  "ticks_behind": 2, "notes_played": 40, "notes_heard": 39},
        "link": {"skipped": "Ableton Link needs the aalink package: pip install aalink"},
        "tui": {"seconds": 20.0, "notes": 90, "notes_heard": 90, "messages": 200,
                "send_error_median_ms": 0.004, "send_error_p99_ms": 0.31, "send_error_max_ms": 0.9,
                "knob_turns": 9, "knob_turns_heard": 9, "knob_to_sound_median_ms": 55.5,
                "knob_to_sound_max_ms": 110.2, "knob_beyond_grid_median_ms": 1.5, "knob_beyond_grid_max_ms": 4.25},
    }
    text = grid_bench.format_grid(figures)
    assert "beats.onnx" in text and "10 s at each tempo" in text
    assert "latency (median of onset - nearest 16th): 3.00 ms over 3 onsets" in text
    assert "128 BPM: |offset - latency| median 3.00 ms" in text and "50% of 2 within 3 ms" in text
    assert "40 notes played, 39 heard" in text
    assert "2 clock ticks behind the master's" in text and "37.4 ms at 3.5 s" in text
    assert "Ableton Link: skipped (Ableton Link needs the aalink package" in text
    assert "p99 0.310 ms, max 0.900 ms" in text
    assert "median 55.5 ms, max 110.2 ms over 9 of 9 turns" in text
    assert "beyond the wait for that line (what the engine adds): median 1.5 ms, max 4.2 ms" in text


def test_a_seconds_model_is_refused_in_one_line(stream_model_path):
    result = run_main("bench", "--grid", "--model", stream_model_path)
    assert_one_line_error(result, "is a seconds model", "--model")


def test_without_jack_it_says_so_in_one_line(beat_model_path, monkeypatch):
    import live.engine.ports as ports

    def no_server(name="auto"):
        raise PortError("MIDI backend jack is not available (no JACK server running)")

    monkeypatch.setattr(ports, "open_backend", no_server)
    result = run_main("bench", "--grid", "--model", beat_model_path)
    assert_one_line_error(result, "bench --grid runs on JACK", "no JACK server running", "jackd")


def test_one_model_only():
    assert_one_line_error(run_main("bench", "--grid", "--model", "a.onnx", "--model", "b.onnx"),
                          "one model")


def test_a_short_run_on_jack_gives_every_figure_with_sane_values():
    jack_backend()  # skips (or fails where JACK is required) without a server
    path = default_model_path()
    assert load_model(path).info.time == "beats", f"{path} should be a beat model"
    result = encore("bench", "--grid", "--seconds", "4", "--json", timeout=180)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    for name in ("clock", "link"):
        section = figures[name]
        # the path's latency: JACK's periods (2.7 ms at 128 frames), not a 16th's 117 ms
        assert abs(section["latency_ms"]) < 20, (name, section)
        for tempo in ("128 BPM", "136 BPM"):
            part = section["parts"][tempo]
            assert part["onsets"] >= 1, (name, tempo, section)
            assert 0 <= part["median_ms"] <= part["p90_ms"] <= part["max_ms"], (name, tempo, part)
            assert 0 <= part["within_3ms"] <= 1
    assert figures["clock"]["master_late_max_ms"] >= 0
    assert figures["link"]["peers"] >= 1
    for name in ("clock", "link"):  # what play says it played, and what arrived of it
        assert 1 <= figures[name]["notes_heard"] <= figures[name]["notes_played"], figures[name]
    tui = figures["tui"]
    assert tui["notes"] >= 1 and tui["notes_heard"] >= 1 and tui["messages"] >= tui["notes"]
    assert 0 <= tui["send_error_median_ms"] <= tui["send_error_p99_ms"] <= tui["send_error_max_ms"]
    assert tui["knob_turns"] >= 1 and tui["knob_turns_heard"] >= 1
    assert 0 < tui["knob_to_sound_median_ms"] <= tui["knob_to_sound_max_ms"]
    # the engine's own part: what is left once the wait for the grid's line is taken off
    assert tui["knob_beyond_grid_median_ms"] <= tui["knob_to_sound_median_ms"]
    assert not any(isinstance(v, float) and math.isnan(v) for v in tui.values())
