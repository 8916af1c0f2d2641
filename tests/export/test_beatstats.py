import numpy as np
import pytest

from export.evaluation.beatstats import (
    GRID_TOLERANCE_MS,
    BeatGrid,
    Share,
    bar_repeat_share,
    grid_share,
    key_share,
)
from export.evaluation.musicstats import read_source
from midi_builders import meta, off, on, save

SIXTEENTH = 0.12  # seconds, on the steady reference grid (125 BPM)
PHRASE_A = [60, 64, 67, 72]  # one bar of quarter notes
PHRASE_B = [71, 67, 62, 59]


def notes(pitches, starts, length=0.1):
    return np.array([[p, s, s + length, 90] for p, s in zip(pitches, starts)], float).reshape(-1, 4)


def bars_of(*bars, beat=0.48):
    """One bar per list of pitches, quarter notes from beat 0; [] is an empty bar."""
    pitches, starts = [], []
    for index, bar in enumerate(bars):
        for k, pitch in enumerate(bar):
            pitches.append(pitch)
            starts.append((4 * index + k) * beat)
    return notes(pitches, starts)


def midi_melody(path, pitches, ticks_per_beat, tempos, step_ticks, shift_ticks=0):
    """A type-1 file: a conductor track with tempos [(tick, microseconds per beat)] and a
    melody of one note every step_ticks (from tick 0, each moved by shift_ticks(tick))."""
    conductor, at = [], 0
    for tick, tempo in tempos:
        conductor.append(meta("set_tempo", tempo=tempo, time=tick - at))
        at = tick
    melody, at = [], 0
    for i, pitch in enumerate(pitches):
        start = i * step_ticks + (shift_ticks(i * step_ticks) if callable(shift_ticks) else shift_ticks)
        melody += [on(pitch, time=start - at), off(pitch, time=step_ticks // 2)]
        at = start + step_ticks // 2
    return save(path, [conductor, melody], ticks_per_beat=ticks_per_beat)


# ---------------------------------------------------------------- grid share


def test_onsets_on_the_16th_grid_count_within_the_tolerance_either_side():
    grid = BeatGrid.steady()
    on_grid = [k * SIXTEENTH for k in range(16)]
    assert grid_share(notes([60] * 16, on_grid), grid) == Share(16, 16)
    near = GRID_TOLERANCE_MS / 1000 - 0.001
    far = GRID_TOLERANCE_MS / 1000 + 0.001
    assert grid_share(notes([60] * 16, [t + near for t in on_grid]), grid).value == 1.0
    assert grid_share(notes([60] * 16, [t - near for t in on_grid]), grid).value == 1.0
    assert grid_share(notes([60] * 16, [t + far for t in on_grid]), grid).value == 0.0
    half = [t + (0.030 if k % 2 else 0.0) for k, t in enumerate(on_grid)]
    assert grid_share(notes([60] * 16, half), grid) == Share(8, 16)


def test_a_midi_melody_on_its_grid_is_all_on_it_and_30_ms_late_none_is(tmp_path):
    # 500 ticks a beat (a 16th is 125 ticks); 120 BPM (1 tick = 1 ms), from tick 2000
    # (bar 2) 80 BPM (1 tick = 1.5 ms): 30 ms is 30 ticks, then 20.
    tempos = [(0, 500_000), (2000, 750_000)]
    melody = [60, 62, 64, 65, 67, 69, 71, 72] * 4
    exact = midi_melody(tmp_path / "exact.mid", melody, 500, tempos, step_ticks=125)
    late = midi_melody(tmp_path / "late.mid", melody, 500, tempos, step_ticks=125,
                       shift_ticks=lambda tick: 30 if tick < 2000 else 20)
    for path, expected in ((exact, 1.0), (late, 0.0)):
        source = read_source(path)
        (piece,), (grid,) = source.pieces, source.grids
        assert len(piece) == len(melody)
        assert grid_share(piece, grid).value == expected
    # The exact file measured as if 120 BPM held throughout: the 16 notes of the 80 BPM
    # part fall every 187.5 ms, every other one 62.5 ms off a 125 ms grid: 24 of 32.
    assert grid_share(read_source(exact).pieces[0], BeatGrid.steady(0.5)) == Share(24, 32)


def test_a_grid_from_midi_tempos_maps_seconds_to_beats_and_the_tempo_in_force():
    grid = BeatGrid.from_midi_tempos(480, [(960, 1_000_000), (0, 600_000)])  # any order
    seconds = np.array([0.0, 0.6, 1.2, 2.2, -0.3])
    assert grid.beat_at(seconds) == pytest.approx([0.0, 1.0, 2.0, 3.0, -0.5])
    assert list(grid.seconds_per_beat_at(seconds)) == [0.6, 0.6, 1.0, 1.0, 0.6]
    assert BeatGrid.from_midi_tempos(480, []).seconds_per_beat == (0.5,)  # MIDI's default 120 BPM


# ---------------------------------------------------------------- bar repeats


def test_a_two_bar_phrase_played_four_times_repeats_from_its_third_bar():
    # A B A B A B A B: bars 1 and 2 have nothing before them to repeat (B is not A);
    # bars 3..8 each equal the bar 2 before (and 4 before): 6 of 8.
    music = bars_of(*[PHRASE_A, PHRASE_B] * 4)
    assert bar_repeat_share(music, BeatGrid.steady()) == Share(6, 8)


def test_a_four_bar_phrase_repeats_four_bars_later_and_one_bar_loops_one_bar_later():
    c, d = [62, 65, 69, 72], [64, 67, 71, 74]
    # A B C D A B C D: only the second half repeats, 4 bars back: 4 of 8.
    twice = bars_of(PHRASE_A, PHRASE_B, c, d, PHRASE_A, PHRASE_B, c, d)
    assert bar_repeat_share(twice, BeatGrid.steady()) == Share(4, 8)
    # A A A B: bars 2 and 3 repeat the bar before; bar 4 (B) equals neither bar 3 nor
    # bar 2 (A), and no bar lies 4 before it: 2 of 4
    assert bar_repeat_share(bars_of(PHRASE_A, PHRASE_A, PHRASE_A, PHRASE_B), BeatGrid.steady()) == Share(2, 4)


def test_empty_bars_count_neither_as_repeats_nor_as_bars():
    # A, rest, A, rest: the second A is 2 bars after the first; the rests are not bars: 1 of 2
    assert bar_repeat_share(bars_of(PHRASE_A, [], PHRASE_A, []), BeatGrid.steady()) == Share(1, 2)
    assert bar_repeat_share(bars_of([], [], []), BeatGrid.steady()) == Share(0, 0)
    assert Share(0, 0).value is None


def test_a_bar_repeats_only_with_the_same_pitches_on_the_same_16ths():
    grid = BeatGrid.steady()
    first = bars_of(PHRASE_A)
    late = first.copy()
    late[:, 1:3] += 4 * 0.48 + 0.02  # the next bar, 20 ms behind: the same 16ths
    moved = first.copy()
    moved[:, 1:3] += 4 * 0.48 + SIXTEENTH  # a 16th later in its bar
    sharp = first.copy()
    sharp[:, 1:3] += 4 * 0.48
    sharp[0, 0] += 1
    assert bar_repeat_share(np.vstack([first, late]), grid) == Share(1, 2)
    assert bar_repeat_share(np.vstack([first, moved]), grid) == Share(0, 2)
    assert bar_repeat_share(np.vstack([first, sharp]), grid) == Share(0, 2)


def test_a_note_just_ahead_of_a_bar_line_belongs_to_the_downbeat():
    music = bars_of(PHRASE_A, PHRASE_A)
    music[4, 1:3] -= 0.01  # bar 2's first note 10 ms early, still on its downbeat
    assert bar_repeat_share(music, BeatGrid.steady()) == Share(1, 2)


# ---------------------------------------------------------------- key share


def test_a_major_scale_is_all_in_key_in_any_key_and_minor_too():
    c_major = [60, 62, 64, 65, 67, 69, 71, 72]
    steps = [k * 0.25 for k in range(8)]
    assert key_share(notes(c_major, steps)) == Share(8, 8)
    assert key_share(notes([p + 3 for p in c_major], steps)) == Share(8, 8)  # E flat major
    a_minor = [57, 59, 60, 62, 64, 65, 67, 69]  # natural minor: C major's pitch classes
    assert key_share(notes(a_minor, steps)).value == 1.0


def test_chromatic_notes_lower_the_key_share():
    scale_twice = [60, 62, 64, 65, 67, 69, 71] * 2
    # + F# and C#: C major holds the 14 scale notes; G major (F#, no F) 12 + 1 = 13;
    # D major (F#, C#; no F, no C) 10 + 2 = 12. Best is C major: 14 of 16.
    music = scale_twice + [66, 61]
    assert key_share(notes(music, [k * 0.25 for k in range(len(music))])) == Share(14, 16)
    every_class = list(range(60, 72))  # each pitch class once: any scale holds 7 of 12
    assert key_share(notes(every_class, [k * 0.25 for k in range(12)])) == Share(7, 12)
    assert key_share(notes([], [])) == Share(0, 0)
