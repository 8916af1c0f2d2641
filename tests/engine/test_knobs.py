"""Knob maps in TOML: what loads, what a knob turn means, and one clear line for a bad map."""

import pytest

from live.engine.knobs import KnobMapError, is_knob_cc, read_knob_file


def write(tmp_path, text):
    path = tmp_path / "map.toml"
    path.write_text(text)
    return path


def test_a_map_loads_and_its_knobs_sweep_their_ranges(tmp_path):
    path = write(tmp_path, """
[[knob]]
cc = 21
control = "temperature"
channel = 2

[[knob]]
cc = 22
control = "transpose"
min = -5
max = 7
""")
    temperature, transpose = read_knob_file(path).knobs
    assert temperature.matches(1, 21) and not temperature.matches(0, 21)  # channel 2 on the wire is 1
    # exp curve: the middle of the knob is the geometric middle of 0.2..2.0
    assert temperature.value(0) == 0.2 and temperature.value(127) == 2.0
    assert temperature.value(64) == pytest.approx((0.2 * 2.0) ** 0.5, rel=0.02)
    assert transpose.matches(9, 22)  # no channel: any
    assert (transpose.value(0), transpose.value(127)) == (-5, 7)


@pytest.mark.parametrize("text, fragment", [
    ("[[knob]]\ncc = 123\ncontrol = \"density\"", "knob 1: cc must be a number 0..119 (120-127 are channel mode"),
    ("[[knob]]\ncc = \"x\"\ncontrol = \"density\"", "knob 1: cc must be a number 0..119"),
    ("[[knob]]\ncc = 20\ncontrol = \"loudness\"", "knob 1: unknown control 'loudness'; choose from temperature"),
    ("[[knob]]\ncc = 20\ncontrol = \"density\"\nchannel = 17", "knob 1: channel must be 1..16, not 17"),
    ("[[knob]]\ncc = 20\ncontrol = \"density\"\ncurve = \"s\"", "knob 1: curve must be one of linear, exp, log"),
    ("[[knob]]\ncc = 20\ncontrol = \"density\"\nspeed = 2", "knob 1: unknown key(s) speed"),
    ("[knobs\n", "not valid TOML"),
])
def test_a_bad_map_is_named_with_the_entry_and_the_fix(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(KnobMapError) as caught:
        read_knob_file(path)
    assert str(path) in str(caught.value) and fragment in str(caught.value)


def test_mode_messages_are_never_knobs():
    assert is_knob_cc(0) and is_knob_cc(119)
    assert not any(is_knob_cc(cc) for cc in range(120, 128))


def encore_play(*args):
    from cli_helpers import run_main

    return run_main("play", "--seconds", "1", *args)


@pytest.mark.parametrize("args, fragment", [
    (["--controls", "{tmp}/missing.toml"], "missing.toml: no such knob map"),
    (["--controls", "{tmp}/bad.toml"], "bad.toml: not valid TOML"),
    (["--record", "{tmp}/"], "is a folder; give a file name in it"),
    (["--record", "{tmp}/take.wav"], "take.wav: encore writes MIDI here, not audio; name it take.mid"),
    (["--record", "/proc/take.mid"], "/proc/take.mid: cannot write here"),
])
def test_play_finds_a_bad_file_option_before_it_plays_a_note(tmp_path, args, fragment):
    (tmp_path / "bad.toml").write_text("[knobs\n")
    # --backend winmm does not exist here: reaching the ports would be another error
    result = encore_play(*[a.format(tmp=tmp_path) for a in args], "--backend", "winmm")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert fragment in result.stderr
    assert not list(tmp_path.glob("*.part"))


def test_a_saved_map_from_an_older_learn_with_mode_ccs_neither_blocks_playing_nor_learning(tmp_path, monkeypatch):
    from live.engine.knobs import Knob, load_knob_map, save_learned

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    saved = tmp_path / "encore" / "controls.toml"
    saved.parent.mkdir()
    saved.write_text('[[knob]]\ncc = 123\ncontrol = "temperature"\nchannel = 1\n\n'
                     '[[knob]]\ncc = 21\ncontrol = "density"\nchannel = 1\n')
    loaded = load_knob_map()
    assert loaded.lookup(0, 21).control == "density" and loaded.lookup(0, 123) is None
    save_learned(Knob(22, "top_p", 1))  # learning again rewrites the map without it
    assert [(k.cc, k.control) for k in read_knob_file(saved).knobs] == [(21, "density"), (22, "top_p")]
    # a map given with --controls is the musician's own: it is refused with a line instead
    given = write(tmp_path, '[[knob]]\ncc = 123\ncontrol = "temperature"\n')
    with pytest.raises(KnobMapError, match="120-127 are channel mode messages"):
        load_knob_map(given)
