"""The `encore` command line, run as a user would: in-process through main(argv), and
through the real console command and `python -m` where only a process will do."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from live.files.midifile import Part, read_midi, write_midi
from live.core.notes import Note
from live.core import codec, vocab
from cli_helpers import assert_one_line_error, encore, run_main

EXAMPLE = Path(__file__).parents[2] / "live" / "examples" / "ode_to_joy.mid"


def test_inspect_shows_every_part_and_the_chosen_melody():
    result = run_main("corpus", "inspect", EXAMPLE)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "128 BPM" in out and "4 parts" in out
    assert "Synth Lead (ch 1)" in out and "Bass (ch 2)" in out and "Pads (ch 3)" in out
    assert "<- melody" in out.split("Synth Lead (ch 1)")[1].splitlines()[0]
    assert "drums kept apart: Drums (ch 10)" in out


def test_encode_prints_the_melody_events_and_decode_writes_them_back(tmp_path):
    encoded = run_main("encode", EXAMPLE, "--json")
    assert encoded.returncode == 0, encoded.stderr
    record = json.loads(encoded.stdout)
    assert record["part"] == "Synth Lead (ch 1)" and record["vocab"] == "performance-388-v1"
    lead = read_midi(EXAMPLE).parts[0]
    assert record["events"] == codec.encode(lead.notes)

    events_file = tmp_path / "events.json"
    events_file.write_text(encoded.stdout)
    out = tmp_path / "back.mid"
    decoded = run_main("decode", events_file, "-o", out, "--program", 81, "--channel", 3)
    assert decoded.returncode == 0, decoded.stderr
    assert f"{len(lead.notes)} notes" in decoded.stdout
    (part,) = read_midi(out).parts
    assert (part.channel, part.program) == (2, 81)
    assert codec.encode(part.notes) == record["events"]


def test_encode_in_beats_reads_the_file_s_beats_and_decode_plays_them_at_any_tempo(tmp_path, monkeypatch):
    import io

    # a quarter-note melody at 90 BPM: in beats its shifts are whole beats (48 steps)
    song = tmp_path / "slow.mid"
    beat = 60 / 90
    write_midi(song, [Part("lead", 0, 0, notes=[Note(60 + i, i * beat, (i + 0.5) * beat, 90) for i in range(4)])],
               bpm=90)
    encoded = run_main("encode", song, "--time", "beats", "--json")
    assert encoded.returncode == 0, encoded.stderr
    record = json.loads(encoded.stdout)
    assert record["time"] == "beats"
    shifts = [e - vocab.TIME_SHIFT_OFFSET + 1 for e in record["events"] if vocab.is_time_shift(e)]
    assert shifts == [24, 24] * 3 + [24]  # half a beat on, half a beat off, in 1/48-beat steps
    assert run_main("encode", song).stdout.split() != [str(e) for e in record["events"]]  # seconds differ

    # from standard input; the file says beats, so decode plays them in beats at its --bpm
    monkeypatch.setattr("sys.stdin", io.StringIO(encoded.stdout))
    decoded = run_main("decode", "-", "-o", tmp_path / "fast.mid", "--bpm", 150)
    assert decoded.returncode == 0 and "1.40 s (3.5 beats at 150 BPM)" in decoded.stdout, decoded.stdout
    (part,) = read_midi(tmp_path / "fast.mid").parts
    assert [round(n.start, 6) for n in part.notes] == [round(i * 60 / 150, 6) for i in range(4)]
    again = run_main("encode", tmp_path / "fast.mid", "--time", "beats", "--json")
    assert json.loads(again.stdout)["events"] == record["events"]  # the same beats at another tempo


def test_encode_all_merges_every_non_drum_part():
    plain = run_main("encode", EXAMPLE).stdout.split()
    merged = run_main("encode", EXAMPLE, "--all").stdout.split()
    song = read_midi(EXAMPLE)
    ons = sum(1 for e in merged if int(e) < 128)
    assert ons == sum(len(p.notes) for p in song.pitched_parts())
    assert len(merged) > len(plain)


def test_encode_names():
    result = run_main("encode", EXAMPLE, "--names")
    assert result.stdout.startswith("VELOCITY 25, NOTE_ON 76, TIME_SHIFT 42, NOTE_OFF 76")


def test_decode_accepts_a_plain_list_and_plain_text(tmp_path):
    for name, text in [("list.json", "[356, 60, 305, 188]"), ("plain.txt", "356 60 305 188\n")]:
        source = tmp_path / name
        source.write_text(text)
        result = run_main("decode", source, "-o", tmp_path / f"{name}.mid")
        assert result.returncode == 0, result.stderr
        (part,) = read_midi(tmp_path / f"{name}.mid").parts
        assert [(n.pitch, n.start, round(n.end, 3)) for n in part.notes] == [(60, 0.0, 0.5)]


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["encode", "missing.mid"], ["missing.mid", "no such file"]),
        (["corpus", "inspect", "missing.mid"], ["missing.mid", "no such file"]),
        (["decode", "missing.json", "-o", "x.mid"], ["missing.json", "no such file"]),
        (["decode", "x.json", "-o", "x.mid", "--channel", "17"], ["channel 17 is outside 1..16"]),
        (["decode", "x.json", "-o", "x.mid", "--program", "abc"], ["program must be a whole number"]),
        (["frobnicate"], ["invalid choice"]),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path, args, fragments):
    assert_one_line_error(run_main(*args, cwd=tmp_path), *fragments)


def test_a_non_midi_file_and_a_bad_event_file_are_one_line_each(tmp_path):
    text = tmp_path / "notes.mid"
    text.write_text("not midi at all")
    assert_one_line_error(run_main("encode", text), "notes.mid", "not a MIDI file")
    bad_events = tmp_path / "bad.json"
    bad_events.write_text("[60, 400]")
    assert_one_line_error(
        run_main("decode", bad_events, "-o", tmp_path / "o.mid"), "bad.json", "event 1 is 400"
    )


def test_a_folder_with_bad_files_processes_the_good_and_reports_the_bad(tmp_path):
    good = Part("Lead", 0, notes=[Note(60 + i, i * 0.5, i * 0.5 + 0.4, 90) for i in range(8)])
    (tmp_path / "sub").mkdir()
    for name in ["a.mid", "sub/b.MID"]:
        write_midi(tmp_path / name, [good])
    (tmp_path / "broken.mid").write_bytes(b"MThd\x00\x00")
    (tmp_path / "sub" / "fake.midi").write_text("hello")
    (tmp_path / "readme.txt").write_text("ignored: not a MIDI suffix")

    result = run_main("encode", tmp_path)
    assert result.returncode == 0
    printed = dict(line.split(": ", 1) for line in result.stdout.strip().splitlines())
    assert sorted(Path(p).name for p in printed) == ["a.mid", "b.MID"]
    assert "Traceback" not in result.stderr
    assert "2 of 4 files read, 2 skipped:" in result.stderr
    assert "broken.mid: truncated" in result.stderr
    assert "fake.midi: not a MIDI file" in result.stderr


def test_python_dash_m_is_the_same_command_as_main_in_process(tmp_path):
    # the one real process for `python -m live.app.cli`: what main(argv) gives the tests above
    # is what the interpreter gives a user, output and exit codes alike
    for args in (["encode", EXAMPLE, "--json"], ["frobnicate"], ["decode", "missing.json", "-o", "x.mid"]):
        real, in_process = encore(*args, cwd=tmp_path), run_main(*args, cwd=tmp_path)
        assert (real.returncode, real.stdout, real.stderr) == \
            (in_process.returncode, in_process.stdout, in_process.stderr)
    assert real.returncode == 1 and real.stderr.startswith("encore: ")


def test_an_in_process_run_sees_native_output_and_leaves_signals_and_folder_as_they_were(monkeypatch, tmp_path):
    import os
    import signal

    from live.app import cli

    def noisy(args):  # as onnxruntime's C++ logging would, and as `play` does at its end
        os.write(2, b"a native warning\n")
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.chdir("/")
        return 0

    monkeypatch.setattr(cli, "cmd_inspect", noisy)
    handler, folder = signal.getsignal(signal.SIGTERM), os.getcwd()
    result = run_main("corpus", "inspect", "x.mid", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "a native warning\n")
    assert signal.getsignal(signal.SIGTERM) == handler and os.getcwd() == folder


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "encore"
    result = subprocess.run([script, "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("encore ")


def test_ctrl_c_while_encore_is_still_loading_is_one_line():
    # a real SIGINT, sent the moment the entry point starts to import the program
    code = (
        "import builtins, os, signal, sys\n"
        "real_import = builtins.__import__\n"
        "def importing(name, *args, **kwargs):\n"
        "    if name == 'live.app.cli':\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "    return real_import(name, *args, **kwargs)\n"
        "builtins.__import__ = importing\n"
        "from live.app.launch import main\n"
        "sys.exit(main())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 130
    assert result.stderr.strip() == "encore: interrupted while starting"


def run_python(code: str):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_ctrl_c_inside_onnxruntime_start_up_arrives_after_it_as_a_plain_interrupt():
    # onnxruntime turns an interrupt inside its own initialisation into an ImportError
    code = (
        "import builtins, os, signal, sys\n"
        "real_import = builtins.__import__\n"
        "def importing(name, *args, **kwargs):\n"
        "    if name == 'onnxruntime' and 'onnxruntime' not in sys.modules:\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "    return real_import(name, *args, **kwargs)\n"
        "builtins.__import__ = importing\n"
        "from live.model.contract import import_onnxruntime\n"
        "try:\n"
        "    import_onnxruntime()\n"
        "except KeyboardInterrupt:\n"
        "    ort = sys.modules.get('onnxruntime')\n"
        "    print('interrupted', ort is not None and hasattr(ort, 'InferenceSession'))\n"
    )
    result = run_python(code)
    assert result.stdout.strip() == "interrupted True", result.stdout + result.stderr


def test_ctrl_c_while_the_arguments_are_read_is_one_line():
    code = (
        "import os, signal, sys\n"
        "import live.app.cli as cli\n"
        "real_build = cli.build_parser\n"
        "def build():\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    return real_build()\n"
        "cli.build_parser = build\n"
        "sys.exit(cli.main(['info']))\n"
    )
    result = run_python(code)
    assert result.returncode == 130
    assert result.stderr.strip() == "encore: interrupted"


@pytest.mark.parametrize("entries, fragment", [
    ({"encore.time": "bars"}, "metadata encore.time is 'bars'"),
    # export's own loader once took this file (reading no primers); the instrument refuses it
    ({"encore.primers": "[[60, 300"}, "metadata encore.primers is not a JSON list"),
])
def test_a_model_file_is_refused_the_same_way_by_info_evaluate_render_and_play(tmp_path, entries, fragment):
    from live.model.randmodels import build_stream_model

    bad = build_stream_model(tmp_path / "bad.onnx", layers=1, hidden=8, embedding=4, metadata=entries)
    refusals = [
        encore("info", bad),
        encore("evaluate", bad, tmp_path / "corpus.npz"),
        encore("render", "--model", bad, "-o", tmp_path / "x.mid"),
        encore("play", "--model", bad),
    ]
    for result in refusals:
        assert_one_line_error(result, str(bad), fragment)
    assert len({result.stderr for result in refusals}) == 1, [r.stderr for r in refusals]


@pytest.mark.parametrize("command", [
    ["render", "--model", "{model}", "-o", "{out}/x.mid"],
    ["render", "--model", "{model}", "-o", "{tmp}/x.mid", "--wav", "{out}/x.wav"],
    ["render", "--model", "{model}", "-o", "{tmp}/x.mid", "--roll", "{out}/x.svg"],
    ["roll", str(EXAMPLE), "-o", "{out}/roll.svg"],
    ["play", "--seconds", "1", "--backend", "winmm", "--record", "{out}/take.mid"],
    ["decode", "{events}", "-o", "{out}/x.mid"],
    ["corpus", "build", str(EXAMPLE), "-o", "{out}/corpus.npz"],
    ["quantize", "{model}", "-o", "{out}/model-int8.onnx"],
    ["export", "{tmp}", "-o", "{out}/model.onnx"],
])
def test_a_missing_output_folder_is_one_line_and_is_not_made(stream_model_path, tmp_path, command):
    events = tmp_path / "events.json"
    events.write_text("[60, 188]")
    missing = tmp_path / "nonexist" / "deeper"
    args = [a.format(model=stream_model_path, out=missing, tmp=tmp_path, events=events) for a in command]
    result = run_main(*args)
    assert_one_line_error(result, f"the folder {missing} does not exist", f"mkdir -p {missing}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.json"]


def test_encore_alone_lists_the_commands():
    for argv, commands in ([], ["render", "play", "tui", "train", "musicstats"]), (["corpus"], ["inspect", "build"]):
        result = run_main(*argv)
        assert result.returncode == 2
        assert all(f"    {name} " in result.stdout or f"    {name}\n" in result.stdout for name in commands)
        assert result.stderr.strip().endswith("give one of the commands above")
        assert "Traceback" not in result.stderr


def test_train_help_shows_the_defaults_training_uses():
    from export.training.train import default_config

    text = " ".join(run_main("train", "--help").stdout.split())
    stream, seed = default_config("stream"), default_config("seed")
    for option, key in (("--window", "window"), ("--batch", "batch"), ("--hidden", "hidden"),
                        ("--val-events", "val_events"), ("--optimizer", "optimizer")):
        assert f"(default: stream {stream[key]}, seed {seed[key]})" in text.split(option, 2)[2], option
    assert f"(default {stream['layers']})" in text
    assert f"semitones either way (default {stream['transpose']})" in text


def test_info_on_a_run_folder_says_how_to_export_it(tmp_path):
    run = tmp_path / "mine"
    run.mkdir()
    (run / "best.pt").write_bytes(b"")
    assert_one_line_error(run_main("info", run), f"{run}: is a training run folder",
                          f"encore export {run} -o model.onnx")
    assert_one_line_error(run_main("info", tmp_path), f"{tmp_path}: is a folder, not a model file")


def test_one_note_is_one_note(tmp_path):
    events = tmp_path / "one.json"
    events.write_text(json.dumps([vocab.note_on(60), vocab.time_shift(50), vocab.note_off(60)]))
    result = run_main("decode", events, "-o", tmp_path / "one.mid")
    assert result.returncode == 0, result.stderr
    assert ": 1 note," in result.stdout


def test_info_says_which_time_a_model_speaks(stream_model_path, beat_model_path):
    beats = run_main("info", beat_model_path)
    assert beats.returncode == 0 and "time: beats, 48 steps a beat" in beats.stdout
    seconds = run_main("info", stream_model_path)
    assert seconds.returncode == 0 and "time: seconds, 10 ms steps" in seconds.stdout


def svg_marks(path, cls):
    import xml.etree.ElementTree as ET

    return [e for e in ET.parse(path).getroot().iter() if e.get("class") == cls]


def test_roll_draws_any_midi_file_and_says_so_in_one_line(tmp_path):
    out = tmp_path / "joy.svg"
    result = run_main("roll", EXAMPLE, "-o", out)
    assert result.returncode == 0, result.stderr
    song = read_midi(EXAMPLE)
    notes = sum(len(p.notes) for p in song.parts)
    channels = len({p.channel for p in song.parts})
    assert result.stdout.splitlines() == [f"wrote {out}: {notes:,} notes, "
                                          f"{len(svg_marks(out, 'bar'))} bars of 4/4, {channels} channels"]
    assert len(svg_marks(out, "note")) == notes
    # without -o: the picture lands beside the .mid, named after it
    copy = tmp_path / "copy.mid"
    copy.write_bytes(EXAMPLE.read_bytes())
    assert run_main("roll", copy).returncode == 0
    assert len(svg_marks(tmp_path / "copy.svg", "note")) == notes


@pytest.mark.parametrize("args, fragments", [
    (["roll", "missing.mid", "-o", "roll.svg"], ["missing.mid: no such file"]),
    (["roll", str(EXAMPLE), "-o", "roll.png"], ["roll.png: encore draws the roll as SVG", "name it roll.svg"]),
    (["render", "--seconds", "1", "-o", "x.mid", "--roll", "x.png"], ["x.png: encore draws the roll as SVG"]),
])
def test_roll_bad_input_is_one_line_and_writes_nothing(tmp_path, args, fragments):
    assert_one_line_error(run_main(*args, cwd=tmp_path), *fragments)
    assert list(tmp_path.iterdir()) == []


def test_render_roll_draws_the_render_it_wrote(stream_model_path, tmp_path):
    mid, svg = tmp_path / "r.mid", tmp_path / "r.svg"
    result = run_main("render", "--model", stream_model_path, "--seconds", 10, "--random-seed", 3,
                      "-o", mid, "--roll", svg, "--quiet")
    assert result.returncode == 0, result.stderr
    (part,) = read_midi(mid).parts
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"wrote {mid}: ") and lines[1].startswith(f"wrote {svg}: ")
    assert len(svg_marks(svg, "note")) == len(part.notes) > 0
    last_beat = max(n.end for n in part.notes) * 120 / 60  # the file is at 120 BPM
    assert len(svg_marks(svg, "bar")) == math.ceil(last_beat / 4)


@pytest.mark.parametrize("args, fragment", [
    (["play", "--output-latency", "900"], "900 ms is outside 0..500"),
    (["play", "--output-latency", "soon"], "expected milliseconds, not 'soon'"),
    (["play", "--grid", "1/12"], "'1/12' is not one of off, 1/32, 1/16"),
    (["render", "--bars", "0", "-o", "x.mid"], "bars"),
])
def test_the_beat_options_refuse_bad_values_in_one_line(args, fragment):
    result = run_main(*args)
    assert_one_line_error(result, fragment)


def test_walk_findings_are_one_line_each(tmp_path):
    """From a newcomer's walk through the README on a fresh clone."""
    picture = tmp_path / "roll.svg"
    picture.write_text("<svg/>")
    result = run_main("render", "--bars", 2, "-o", picture)
    assert_one_line_error(result, "roll.svg", "not a picture", "roll.mid")
    assert picture.read_text() == "<svg/>"  # not replaced by a MIDI file
    wav = tmp_path / "take.wav"
    wav.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    assert_one_line_error(run_main("roll", wav), "take.wav", "not a MIDI file (WAV audio)")
    assert_one_line_error(run_main("play", "--follow-clock", "--seconds", 1), "--follow-clock", "--input PORT")


def test_a_render_of_seconds_counts_its_bars_to_the_half(tmp_path):
    result = run_main("render", "--seconds", 5, "--bpm", 120, "-o", tmp_path / "x.mid", "--quiet", "--top_p", 0.9)
    assert result.returncode == 0, result.stderr
    assert "2.5 bars at 120 BPM" in result.stdout  # --top_p is --top-p, as a map spells it


def _commands():
    from live.app.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    names = []
    for name, command in sub.choices.items():
        inner = [a for a in command._actions if a.__class__.__name__ == "_SubParsersAction"]
        names += [[name, *([child] if child else [])] for child in (inner[0].choices if inner else [None])]
    return names


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_command_s_help_is_shown(command):
    # a % in a help text (a unit, "25 %") is a format character to argparse: --help once died of it
    result = run_main(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and "Traceback" not in result.stderr
