"""The whole render path on a real ONNX model: sample, perform, write, read back."""

import os
import shutil
import subprocess
import sys
import wave

import numpy as np
import pytest

from live.core import vocab
from live.core.controls import Controls
from live.core.generator import Generator
from live.files.midifile import Part, read_midi, write_midi
from live.model.runtime import load_model
from live.core.notes import Note
from live.core.render import render
from live.files.midifile import write_rendered
from live.files.primers import SeedError, embedded_primer, primer_from_midi, primer_from_notes
from cli_helpers import encore, run_main
from midi_builders import note_ticks, tempos_bpm
from conftest import PRIMERS


def on_grid(notes):
    step = vocab.seconds_to_steps
    return [(n.pitch, step(n.start), step(n.end), n.velocity) for n in notes]


@pytest.mark.parametrize("model_fixture", ["stream_model_path", "window_model_path"])
def test_the_written_file_reads_back_as_exactly_the_performers_notes(model_fixture, request, tmp_path):
    model = load_model(request.getfixturevalue(model_fixture))
    generator = Generator(model, Controls(polyphony=4, velocity_gain=1.2), seed=11, channel=4)
    generator.prime(PRIMERS[0])
    result = render(generator, seconds=30.0)  # the sparser tiny window model: 25-45 notes
    assert len(result.notes) > 20 and result.seconds >= 30.0

    path = tmp_path / "out.mid"
    write_rendered(result, path, bpm=132, channel=4, program=81, title="test render")
    (part,) = read_midi(path).parts
    assert (part.channel, part.program, part.name) == (4, 81, "test render")
    assert on_grid(part.notes) == on_grid(result.notes)

    # every note-on message has its note-off, and the notes are what the messages say
    ons = sorted((m.time, m.pitch) for m in result.messages if m.on)
    assert ons == sorted((n.start, n.pitch) for n in result.notes)
    assert sum(m.on for m in result.messages) == sum(not m.on for m in result.messages)


def test_the_same_arguments_give_the_same_bytes(stream_model_path, tmp_path):
    args = ["render", "--model", stream_model_path, "--seconds", 15, "--random-seed", 7,
            "--temperature", 1.3, "--scale", "A:minor", "--bpm", 128, "--program", 5]
    # real processes: the render entry point, and the same bytes from one run to the next
    first = encore(*args, "-o", tmp_path / "a.mid")
    second = encore(*args, "-o", tmp_path / "b.mid")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "wrote" in first.stdout and "seeded with primer" in first.stdout
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()
    other = encore(*args[:-6], "--random-seed", 8, "--temperature", 1.3, "--scale", "A:minor",
                   "--bpm", 128, "--program", 5, "-o", tmp_path / "c.mid")
    assert other.returncode == 0, other.stderr
    assert (tmp_path / "c.mid").read_bytes() != (tmp_path / "a.mid").read_bytes()

    song = read_midi(tmp_path / "a.mid")
    assert round(song.bpm) == 128 and song.time_signature == (4, 4)
    (part,) = song.parts
    assert part.program == 5
    a_minor = {9, 11, 0, 2, 4, 5, 7}
    assert {n.pitch % 12 for n in part.notes} <= a_minor


def test_render_by_event_count(stream_model_path, tmp_path):
    result = run_main("render", "--model", stream_model_path, "--events", 300, "--silence",
                    "-o", tmp_path / "e.mid")
    assert result.returncode == 0, result.stderr
    assert "(300 events)" in result.stdout and "seeded with silence" in result.stdout


def test_seeds_change_what_is_played_and_primer_notes_are_not_played(stream_model_path, tmp_path):
    model = load_model(stream_model_path)

    def first_events(primer):
        generator = Generator(model, Controls(), seed=5)
        generator.prime(primer)
        result = render(generator, events=200)
        return result.events, result.notes

    events_a, notes_a = first_events(PRIMERS[0])
    events_b, _ = first_events(PRIMERS[1])
    assert events_a != events_b  # the same random seed, another primer: another melody
    assert first_events(PRIMERS[0])[0] == events_a  # and repeatable
    # the primer sets the state but is not played: every note comes from a generated
    # note-on, and the primer's scale is not what the performance opens with
    assert len(notes_a) == sum(vocab.is_note_on(e) for e in events_a) > 0
    primer_pitches = [e for e in PRIMERS[0] if vocab.is_note_on(e)]
    assert [n.pitch for n in notes_a[:3]] != primer_pitches[:3]


def test_embedded_primers_by_number_or_drawn_reproducibly(stream_model_path):
    model = load_model(stream_model_path)
    # numbered from 1, as a musician counts: primer 1 is the first, 3 (of 3) the last
    number, events = embedded_primer(model, 1, np.random.default_rng(0))
    assert number == 1 and events[: len(PRIMERS[0])] == PRIMERS[0]
    number, events = embedded_primer(model, 3, np.random.default_rng(0))
    assert number == 3 and events[: len(PRIMERS[2])] == PRIMERS[2]
    drawn = [embedded_primer(model, None, np.random.default_rng(seed))[0] for seed in range(40)]
    assert set(drawn) == {1, 2, 3}
    for outside in (0, 4):
        with pytest.raises(SeedError, match=f"primer {outside} does not exist; the model has primers 1..3"):
            embedded_primer(model, outside, np.random.default_rng(0))


def test_seed_from_a_midi_file_and_from_typed_notes(tmp_path):
    notes = [Note(72 + (i % 5), i * 0.2, i * 0.2 + 0.3, 90) for i in range(300)]  # overlapping
    write_midi(tmp_path / "seed.mid", [Part("Lead", 0, notes=notes)])
    primer = primer_from_midi(tmp_path / "seed.mid", max_events=100)
    assert len(primer) <= 100 + 5
    assert vocab.is_velocity(primer[0]) or vocab.is_note_on(primer[0])
    sounding = set()
    for event in primer:  # the primer leaves nothing sounding
        if vocab.is_note_on(event):
            sounding.add(event)
        elif vocab.is_note_off(event):
            sounding.discard(event - 128)
    assert not sounding

    typed = primer_from_notes("C4 E4 G4 Bb4 72")
    assert [e for e in typed if vocab.is_note_on(e)] == [60, 64, 67, 70, 72]
    with pytest.raises(SeedError, match="'H9' is not a note"):
        primer_from_notes("C4 H9")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--temperature", "0"], "argument --temperature: 0.0 is out of range; allowed: 0.05..3"),
        (["--channel", "17"], "channel 17 is outside 1..16"),
        (["--seed-file", "missing.mid"], "missing.mid: no such file"),
        (["--scale", "H:major"], "unknown root 'H'"),
        (["--top-p", "0"], "argument --top-p: 0.0 is out of range"),
        (["--primer", "9"], "primer 9 does not exist"),
        (["--primer", "0"], "primer 0 does not exist; the model has primers 1..3"),
        (["--wav", "x.mp3"], "x.mp3: --wav writes WAV audio; name it x.wav"),
        (["--wav", "x.wav", "--soundfont", "missing.sf2"], "missing.sf2: no such soundfont file"),
        (["--wav", "x.wav", "--soundfont", "not-a-font.sf2"], "not a SoundFont 2 (.sf2) file"),
    ],
)
def test_bad_render_arguments_are_one_line(stream_model_path, tmp_path, args, fragment):
    (tmp_path / "not-a-font.sf2").write_bytes(b"RIFF\0\0\0\0WAVE" + bytes(100))
    args = [str(tmp_path / a) if a.endswith((".mp3", ".sf2")) else a for a in args]
    result = run_main("render", "--model", stream_model_path, "-o", tmp_path / "x.mid", *args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert fragment in result.stderr
    assert not (tmp_path / "x.mid").exists()


@pytest.mark.parametrize("output, fragment", [
    ("x.wav", "x.wav: encore writes MIDI here, not audio; name it x.mid and add --wav FILE.wav"),
    ("folder/", "folder: is a folder; give a file name in it, like"),
    ("/proc/x.mid", "/proc/x.mid: cannot write here"),
])
def test_an_output_that_cannot_be_written_is_found_before_the_render(stream_model_path, tmp_path,
                                                                      output, fragment):
    (tmp_path / "folder").mkdir()
    target = output if output.startswith("/") else str(tmp_path / output) + ("/" if output.endswith("/") else "")
    # a render long enough that finding the problem only at its end would be felt
    result = run_main("render", "--model", stream_model_path, "-o", target, "--seconds", 86400)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert fragment in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_checking_an_output_leaves_nothing_behind_and_knows_home(tmp_path, monkeypatch):
    from live.files.output_paths import OutputPathError, check_midi_output, check_wav_output

    monkeypatch.setenv("HOME", str(tmp_path))
    assert check_midi_output("~/take.mid") == tmp_path / "take.mid"
    (tmp_path / "take.mid.part").write_text("the user's own file")
    assert check_midi_output(tmp_path / "take.mid") == tmp_path / "take.mid"
    # no probe, and no folder made for it, is left; a file of the user's is not touched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.mid.part"]
    with pytest.raises(OutputPathError, match="name it x.wav"):
        check_wav_output(tmp_path / "new" / "x.mp3")
    assert not (tmp_path / "new").exists()


def test_an_unreadable_model_is_one_line(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_text("nope")
    result = run_main("render", "--model", bad, "-o", tmp_path / "x.mid")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "model.onnx: not an ONNX model (the file could not be parsed); give a .onnx file made by " \
           "encore export" in result.stderr


def test_wav_through_fluidsynth_or_one_clear_line(stream_model_path, tmp_path):
    result = run_main("render", "--model", stream_model_path, "--seconds", 5, "--random-seed", 1,
                    "-o", tmp_path / "w.mid", "--wav", tmp_path / "w.wav")
    from live.files.audio import find_soundfont

    if os.environ.get("ENCORE_REQUIRE_FLUIDSYNTH"):
        assert shutil.which("fluidsynth") and find_soundfont(), "CI installs FluidSynth"
    if shutil.which("fluidsynth") and find_soundfont():
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "w.mid").is_file()
        with wave.open(str(tmp_path / "w.wav")) as audio:
            seconds = audio.getnframes() / audio.getframerate()
            samples = np.frombuffer(audio.readframes(audio.getnframes()), "<i2")
        assert seconds >= 4.5
        assert 20 * np.log10(np.abs(samples.astype(float)).max() / 32767) == pytest.approx(-1.0, abs=0.01)
        assert not list(tmp_path.glob("*.part"))
    else:
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "--wav needs" in result.stderr and not list(tmp_path.iterdir())


def test_without_fluidsynth_wav_is_one_line_before_any_render(stream_model_path, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))  # no fluidsynth on it
    result = run_main("render", "--model", stream_model_path, "--seconds", 86400,
                      "-o", tmp_path / "w.mid", "--wav", tmp_path / "w.wav")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("encore: --wav needs FluidSynth: install it (Debian/Ubuntu: apt "
                                     "install fluidsynth timgm6mb-soundfont), or leave out --wav")
    assert not list(tmp_path.iterdir())  # nothing rendered, nothing written


def test_bench_times_each_model_given_and_sets_them_side_by_side(stream_model_path, window_model_path,
                                                                monkeypatch):
    import json

    from live.app import bench

    # the codec's figures once, not best of 5: that alone took 4 s a run here
    real_codec = bench.bench_codec
    monkeypatch.setattr(bench, "bench_codec", lambda: real_codec(repeats=1))
    result = run_main("bench", "--model", stream_model_path, "--model", window_model_path, "--steps", "200", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    stream, window = figures["models"]
    assert (stream["kind"], window["kind"]) == ("stream", "window")
    for model in (stream, window):
        assert 0 < model["step_median_ms"] <= model["step_p99_ms"]
        assert model["render_events_per_s"] > 0 and model["render_x_realtime"] > 0
        # x real time = events rendered per second / events per second of the music
        assert model["render_x_realtime"] == pytest.approx(
            model["render_events_per_s"] / model["music_events_per_s"])
        # the figure is the best of the rounds, each of which is kept beside it
        rounds = model["render_x_realtime_rounds"]
        assert len(rounds) == 3 and model["render_x_realtime"] == max(rounds)
        assert min(rounds) <= model["render_x_realtime_median"] <= max(rounds)
    assert figures["codec"]["notes"] == 10_000 and figures["codec"]["events"] > 10_000
    monkeypatch.setattr(bench, "bench_codec", lambda: real_codec(notes_count=500, repeats=1))
    text = run_main("bench", "--model", stream_model_path, "--model", window_model_path, "--steps", "100")
    assert text.returncode == 0, text.stderr
    assert "tiny_window.onnx per event:" in text.stdout and "the cost of tiny_stream.onnx" in text.stdout


def test_audio_is_peak_normalised_in_place_and_silence_stays_silent(tmp_path):
    from live.files.audio import CHUNK_FRAMES, normalise_peak

    def write(path, samples):
        with wave.open(str(path), "wb") as audio:
            audio.setnchannels(2)
            audio.setsampwidth(2)
            audio.setframerate(44100)
            audio.writeframes(samples.astype("<i2").tobytes())

    def read(path):
        with wave.open(str(path)) as audio:
            return np.frombuffer(audio.readframes(audio.getnframes()), "<i2").astype(float)

    # longer than one chunk, loudest sample in the second chunk
    quiet = (np.sin(np.arange(2 * 3 * CHUNK_FRAMES) / 20) * 1000).round()
    quiet[2 * CHUNK_FRAMES + 7] = -1200
    write(tmp_path / "q.wav", quiet)
    gain = normalise_peak(tmp_path / "q.wav", -6.0)
    louder = read(tmp_path / "q.wav")
    assert len(louder) == len(quiet)
    assert np.abs(louder).max() == pytest.approx(10 ** (-6 / 20) * 32767, abs=1)
    assert gain == pytest.approx(10 ** (-6 / 20) * 32767 / 1200)
    assert np.allclose(louder, quiet * gain, atol=0.51)  # the same waveform, scaled
    write(tmp_path / "s.wav", np.zeros(1000))
    assert normalise_peak(tmp_path / "s.wav", -1.0) == 1.0 and not read(tmp_path / "s.wav").any()


def test_bench_on_a_runtime_only_install_skips_the_study_model_and_says_why():
    # a runtime-only install (`make setup`) has no onnx package to build the study's model:
    # a fresh process where importing it fails (the codec's figures cut short: 4 s otherwise)
    code = ("import sys; sys.modules['onnx'] = None\n"
            "from live.app import bench\n"
            "real = bench.bench_codec\n"
            "bench.bench_codec = lambda: real(notes_count=500, repeats=1)\n"
            "from live.app.cli import main\n"
            "sys.exit(main(['bench', '--steps', '40']))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "default model (int8): stream 2x256" in result.stdout
    assert "study's window model 2x BiLSTM 512, random weights: skipped (building a random-weight " \
           "model needs the onnx package" in result.stdout


def test_the_seven_modes_and_the_names_musicians_use_are_scales():
    from live.core.scales import SCALES, ScaleError, parse_scale

    assert parse_scale("F:lydian") == (5, "lydian") and parse_scale("B:locrian") == (11, "locrian")
    assert parse_scale("A:aeolian") == (9, "natural_minor") and parse_scale("C:ionian") == (0, "major")
    # the modes are rotations of one another: each has the major scale's seven classes
    major = set(SCALES["major"])
    for offset, mode in enumerate(["major", "dorian", "phrygian", "lydian", "mixolydian",
                                   "natural_minor", "locrian"]):
        step = SCALES["major"][offset]
        assert {(step + c) % 12 for c in SCALES[mode]} == major, mode
    with pytest.raises(ScaleError, match=r"choose from .*locrian.* \(or minor, aeolian"):
        parse_scale("C:bebop")


@pytest.mark.parametrize("bpm", [100, 128, 150])
def test_a_beat_model_renders_on_its_tempo_s_grid_for_its_bars(beat_model_path, tmp_path, bpm):
    import mido

    out = tmp_path / f"at{bpm}.mid"
    result = run_main("render", "--model", beat_model_path, "--bpm", bpm, "--bars", 8, "--random-seed", 5,
                      "--density", 1, "-o", out, "--quiet")  # the random tiny model: rather sparse on a grid
    assert result.returncode == 0, result.stderr
    assert f"8 bars at {bpm} BPM" in result.stdout
    midi = mido.MidiFile(out)
    assert tempos_bpm(midi) == [bpm]  # a DAW lines it up by dropping it in
    step = midi.ticks_per_beat // 48  # 1/48 beat: the model's step
    onsets, ends = note_ticks(midi)
    assert len(onsets) > 30
    sixteenth = midi.ticks_per_beat // 4
    assert all(tick % sixteenth == 0 for tick in onsets)  # every onset on the tempo's 16ths (--grid 1/16)
    assert all(tick % step == 0 for tick in ends)  # and every note ends on one of the model's steps
    bar = 4 * midi.ticks_per_beat
    assert 7 * bar < max(ends) <= 8 * bar + step  # it lasts its bars
    seconds = read_midi(out).duration
    assert seconds == pytest.approx(8 * 4 * 60 / bpm, abs=60 / bpm)


def test_with_the_grid_off_a_beat_model_starts_notes_on_any_of_its_steps(beat_model_path, tmp_path):
    import mido

    out = tmp_path / "free.mid"
    result = run_main("render", "--model", beat_model_path, "--bpm", 128, "--bars", 8, "--random-seed", 5,
                      "--grid", "off", "-o", out, "--quiet")
    assert result.returncode == 0, result.stderr
    midi = mido.MidiFile(out)
    onsets, _ = note_ticks(midi)
    step, sixteenth = midi.ticks_per_beat // 48, midi.ticks_per_beat // 4
    assert all(tick % step == 0 for tick in onsets)  # on the model's 1/48 beat
    assert any(tick % sixteenth for tick in onsets)  # but this random model's, not the 16ths


def test_a_seconds_model_is_told_that_bars_need_a_beat_model(stream_model_path, tmp_path):
    from cli_helpers import assert_one_line_error

    result = run_main("render", "--model", stream_model_path, "--bars", 4, "-o", tmp_path / "x.mid")
    assert_one_line_error(result, "--bars needs a beat model", "speaks seconds", "--seconds")


def test_a_looped_render_repeats_its_phrase_and_is_the_same_every_time(beat_model_path, tmp_path):
    args = ["render", "--model", beat_model_path, "--bpm", 128, "--bars", 12, "--random-seed", 5,
            "--loop", 2, "--variation", 0]
    assert run_main(*args, "-o", tmp_path / "a.mid").returncode == 0
    assert run_main(*args, "-o", tmp_path / "b.mid").returncode == 0
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()
    song = read_midi(tmp_path / "a.mid", beats=True)
    notes = [n for part in song.parts for n in part.notes]
    bar = 4 * vocab.REFERENCE_BEAT_SECONDS

    def phrase(k):  # the notes struck in pass k of the 2-bar loop, from its downbeat
        return sorted((round(n.start - 2 * bar * k, 3), n.pitch) for n in notes
                      if 2 * bar * k - 1e-6 <= n.start < 2 * bar * (k + 1) - 1e-6)

    assert phrase(0) and all(phrase(k) == phrase(0) for k in range(1, 6))
    varied = run_main(*args[:-1], 60, "-o", tmp_path / "c.mid")
    assert varied.returncode == 0
    assert (tmp_path / "c.mid").read_bytes() != (tmp_path / "a.mid").read_bytes()


def test_a_seconds_model_is_told_that_a_loop_needs_a_beat_model(stream_model_path, tmp_path):
    from cli_helpers import assert_one_line_error

    result = run_main("render", "--model", stream_model_path, "--loop", 4, "-o", tmp_path / "x.mid")
    assert_one_line_error(result, "--loop needs a beat model", "plays in seconds")
    result = run_main("render", "--model", stream_model_path, "--loop", 3, "-o", tmp_path / "x.mid")
    assert_one_line_error(result, "a loop is 1, 2, 4, 8, 16 bars")


def test_chords_need_a_beat_model_and_a_keyboard_for_input(stream_model_path, beat_model_path, tmp_path):
    from cli_helpers import assert_one_line_error

    out = ["-o", tmp_path / "x.mid"]
    assert_one_line_error(run_main("render", "--model", stream_model_path, "--chords", "Am F", *out),
                          "--chords needs a beat model")
    assert_one_line_error(run_main("render", "--model", beat_model_path, "--chords", "input", *out),
                          "--chords input follows the chord held on the --input keyboard")
    assert_one_line_error(run_main("render", "--model", beat_model_path, "--chords", "Am Xb", *out),
                          "chord 'Xb'")
    assert run_main("render", "--model", beat_model_path, "--chords", "Am:2 F C G", "--harmony", 80,
                    "--bars", 4, *out).returncode == 0


@pytest.mark.parametrize("args, fragment", [
    (["render", "--seconds", "nan"], "expected a finite number, not 'nan'"),
    (["render", "--seconds", "inf"], "expected a finite number, not 'inf'"),
    (["render", "--seconds", "1e308"], "1e+308 is over the most it takes, 86400"),
    (["play", "--seconds", "nan"], "expected a finite number"),
    (["play", "--lookahead", "1e9"], "is over the most it takes, 2000"),
    (["musicstats", "x.npz", "--minutes", "nan"], "expected a finite number"),
])
def test_a_length_that_would_never_end_is_one_line(args, fragment, tmp_path):
    from cli_helpers import assert_one_line_error

    output = ["-o", tmp_path / "x.mid"] if args[0] == "render" else []
    assert_one_line_error(run_main(*args, *output), fragment)


def test_a_fifo_or_device_as_output_is_refused_not_replaced(stream_model_path, tmp_path):
    from cli_helpers import assert_one_line_error

    fifo = tmp_path / "q.mid"
    os.mkfifo(fifo)
    assert_one_line_error(run_main("render", "--model", stream_model_path, "-o", fifo, "--seconds", 1),
                          "is not a plain file (a FIFO, a device, a socket)")
    assert fifo.is_fifo()  # still the FIFO it was


def test_an_input_given_as_the_output_is_refused(stream_model_path, tmp_path):
    from cli_helpers import assert_one_line_error

    song = tmp_path / "song.mid"
    write_midi(song, [Part("melody", 0, 0, notes=[Note(60 + i, i * 0.5, i * 0.5 + 0.4, 90) for i in range(8)])])
    before = song.read_bytes()
    assert_one_line_error(run_main("render", "--model", stream_model_path, "--seed-file", song, "-o", song,
                                   "--seconds", 1), "is the --seed-file too")
    events = tmp_path / "ev.json"
    events.write_text("[60, 300, 188]")
    assert_one_line_error(run_main("decode", events, "-o", events), "not events; name it ev.mid")
    named_as_midi = tmp_path / "ev.mid"  # events under a MIDI file's name: still not overwritten
    named_as_midi.write_text("[60, 300, 188]")
    assert_one_line_error(run_main("decode", named_as_midi, "-o", named_as_midi), "is the events file too")
    assert named_as_midi.read_text() == "[60, 300, 188]"
    assert song.read_bytes() == before and events.read_text() == "[60, 300, 188]"


def test_a_write_that_fails_leaves_the_old_file_whole(tmp_path, monkeypatch):
    """The file is written beside and renamed over: a full disk or Ctrl-C mid-write leaves
    the old one as it was (and no temporary behind)."""
    import mido

    path = tmp_path / "prev.mid"
    write_midi(path, [Part("melody", 0, 0, notes=[Note(60, 0.0, 0.5, 90)])])
    before = path.read_bytes()

    def full_disk(self, filename=None, file=None):
        with open(filename, "wb") as out:
            out.write(b"MThd")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mido.MidiFile, "save", full_disk)
    from live.core.errors import MidiFileError

    with pytest.raises(MidiFileError, match="No space left on device"):
        write_midi(path, [Part("melody", 0, 0, notes=[Note(62, 0.0, 0.5, 90)])])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["prev.mid"]
