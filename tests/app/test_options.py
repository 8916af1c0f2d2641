"""The sampling options come from the table of controls: each flag lands in Controls."""

import pytest
from cli_helpers import assert_one_line_error, encore

from live.app.cli import build_parser
from live.app.options import controls_from_args, with_controls
from live.core.controls import CONTROL_SPECS, ControlError, Controls

FLAGGED = [spec for spec in CONTROL_SPECS if spec.flag is not None and spec.kind != "choice"]


def render_args(*extra):
    return build_parser().parse_args(["render", "-o", "x.mid", *map(str, extra)])


def a_value_that_is_not_the_default(spec):
    value = spec.high if spec.default != spec.high else spec.low
    return int(value) if spec.whole else value


@pytest.mark.parametrize("spec", FLAGGED, ids=lambda s: s.flag)
def test_every_flag_of_the_table_lands_in_its_control(spec):
    value = a_value_that_is_not_the_default(spec)
    extra = ["--high", 127] if spec.name == "low" else ["--low", 0] if spec.name == "high" else []
    controls = controls_from_args(render_args(spec.flag, value, *extra))
    assert getattr(controls, spec.name) == value
    # and nothing else moved
    assert {k: v for k, v in vars(controls).items() if k != spec.name} == \
        {k: v for k, v in vars(Controls()).items() if k != spec.name}


def test_scale_sets_root_and_scale_and_no_options_give_the_table_defaults():
    assert controls_from_args(render_args()) == Controls()
    controls = controls_from_args(render_args("--scale", "F#:dorian"))
    assert (controls.root, controls.scale) == (6, "dorian")


def test_low_and_high_take_note_names():
    controls = controls_from_args(render_args("--low", "C2", "--high", "F#4"))
    assert (controls.low, controls.high) == (36, 66)
    with pytest.raises(ControlError, match=r"--low C5 \(72\) is above --high C4 \(60\)"):
        controls_from_args(render_args("--low", "C5", "--high", "C4"))


def test_with_controls_gives_back_args_that_make_the_same_controls():
    playing = Controls(temperature=0.7, low=40, high=90, root=9, scale="blues", polyphony=2,
                       max_note=0.5, density=-0.3, velocity_gain=1.5, velocity_offset=-4, transpose=5)
    args = render_args()
    assert controls_from_args(with_controls(args, playing)) == playing
    assert controls_from_args(args) == Controls()  # the original is left as it was


@pytest.mark.parametrize("args, fragment", [
    (["--temperature", "9"], "argument --temperature: 9.0 is out of range; allowed: 0.05..3"),
    (["--polyphony", "0"], "argument --polyphony: 0 is out of range; allowed: 1..16"),
    (["--max-note", "60"], "argument --max-note: 60.0 is out of range; allowed: 0.01..30 s"),
    (["--low", "H2"], "argument --low: expected a pitch 0..127 or a note name like C2, F#4, Bb3, not 'H2'"),
    (["--high", "C10"], "argument --high: C10 (pitch 132) is out of range"),
    (["--transpose", "up"], "argument --transpose: expected a whole number, not 'up'"),
    (["--scale", "C:bebop"], "argument --scale: scale 'C:bebop': unknown scale 'bebop'"),
    (["--low", "C5", "--high", "C4"], "--low C5 (72) is above --high C4 (60)"),
])
def test_a_bad_control_on_the_command_line_is_one_line_naming_the_flag(tmp_path, args, fragment):
    result = encore("render", "-o", tmp_path / "x.mid", "--model", tmp_path / "unused.onnx", *args)
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "x.mid").exists()
