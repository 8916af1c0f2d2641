"""Knob maps in TOML: what loads, what a knob turn means, and one clear line for a bad map."""

import pytest

from cli_helpers import run_main

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


def test_the_default_map_is_the_table_s_default_ccs():
    from live.core.controls import CONTROL_SPECS
    from live.engine.knobs import DEFAULT_KNOBS, KnobMap

    expected = {(cc, spec.name) for spec in CONTROL_SPECS for cc in spec.ccs}
    assert {(k.cc, k.control) for k in DEFAULT_KNOBS} == expected
    assert ("max_note", 73) in {(k.control, k.cc) for k in DEFAULT_KNOBS}  # what the README promises
    # a knob sweeps the table's knob range with the table's curve
    temperature = KnobMap().lookup(0, 74)
    assert (temperature.value(0), temperature.value(127)) == (0.2, 2.0)
    assert temperature.value(64) == pytest.approx((0.2 * 2.0) ** 0.5, rel=0.02)


def test_a_map_with_old_control_names_loads_under_the_new_ones_and_says_so_once(tmp_path):
    path = write(tmp_path, '[[knob]]\ncc = 21\ncontrol = "temperature"\n\n'
                           '[[knob]]\ncc = 22\ncontrol = "max_note_seconds"\n\n'
                           '[[knob]]\ncc = 23\ncontrol = "max_polyphony"\nmax = 4\n')
    said = []
    knobs = read_knob_file(path, warn=said.append).knobs
    assert [(k.cc, k.control) for k in knobs] == [(21, "temperature"), (22, "max_note"), (23, "polyphony")]
    assert knobs[2].value(127) == 4
    assert said == [(f"{path}: knob 2: control 'max_note_seconds' is now 'max_note'; "
                     "knob 3: control 'max_polyphony' is now 'polyphony' "
                     "(it loads; write the new names there to quiet this)")]
    said.clear()
    read_knob_file(write(tmp_path, '[[knob]]\ncc = 21\ncontrol = "density"\n'), warn=said.append)
    assert said == []
    # the flag's and the screen's spelling is the same name
    assert read_knob_file(write(tmp_path, '[[knob]]\ncc = 21\ncontrol = "max-note"\n')).knobs[0].control == "max_note"


def test_learning_again_rewrites_a_saved_map_with_the_new_names(tmp_path, monkeypatch):
    from live.engine.knobs import Knob, load_knob_map, save_learned

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    saved = tmp_path / "encore" / "controls.toml"
    saved.parent.mkdir()
    saved.write_text('[[knob]]\ncc = 21\ncontrol = "max_note_seconds"\nchannel = 1\n')
    said = []
    assert load_knob_map(warn=said.append).lookup(0, 21).control == "max_note"
    assert len(said) == 1 and "controls.toml: knob 1: control 'max_note_seconds' is now 'max_note'" in said[0]
    save_learned(Knob(22, "top_p", 1))
    assert 'control = "max_note"' in saved.read_text() and "max_note_seconds" not in saved.read_text()


@pytest.mark.parametrize("entry, fragment", [
    ('control = "temperature"\nmax = 5', "knob 1: max 5 is outside temperature's range 0.05..3"),
    ('control = "scale"\nmax = 40', "knob 1: max 40 is outside scale's range 0..11"),
    ('control = "low"\nmin = "C2"', "knob 1: min and max must be numbers"),
])
def test_a_knob_sweep_the_control_cannot_take_is_refused(tmp_path, entry, fragment):
    with pytest.raises(KnobMapError, match=fragment):
        read_knob_file(write(tmp_path, f"[[knob]]\ncc = 20\n{entry}\n"))


def test_a_scale_knob_sweeps_the_scale_list():
    from live.core.scales import SCALES
    from live.engine.knobs import Knob

    knob = Knob(20, "scale")
    assert (knob.value(0), knob.value(127)) == (list(SCALES)[0], list(SCALES)[-1])


def test_learn_offers_the_table_s_names():
    from live.app.cli import build_parser
    from live.core.controls import CONTROL_SPECS

    parser = build_parser()
    for spec in CONTROL_SPECS:
        assert parser.parse_args(["learn", spec.name, "--input", "x"]).control == spec.name
    result = run_main("learn", "max_note_seconds", "--input", "x")
    assert result.returncode == 2 and "'max_note_seconds' is now called 'max_note'" in result.stderr
    assert parser.parse_args(["learn", "top-p", "--input", "x"]).control == "top_p"  # the flag's spelling
