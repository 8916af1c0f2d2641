"""The table of controls: Controls follows it, checks by it, and shows and parses through it."""

from dataclasses import fields

import pytest

from live.core.controls import (
    CONTROL_SPECS,
    KINDS,
    RENAMED,
    SPECS_BY_NAME,
    ControlError,
    Controls,
)
from live.core.scales import note_name, note_number


def test_controls_has_one_field_per_row_with_the_row_default():
    assert [f.name for f in fields(Controls)] == [spec.name for spec in CONTROL_SPECS]
    defaults = Controls()
    for spec in CONTROL_SPECS:
        assert getattr(defaults, spec.name) == spec.default, spec.name
        assert spec.kind in KINDS


def test_every_row_is_consistent():
    for spec in CONTROL_SPECS:
        if spec.kind != "choice":
            assert spec.low <= spec.default <= spec.high, spec.name
            knob_low, knob_high = spec.knob_range
            assert spec.low <= knob_low < knob_high <= spec.high, spec.name
            assert 0 < spec.fine <= spec.coarse, spec.name
            spec.show(spec.default)  # its display format takes its values
        else:
            assert spec.default in spec.choices
        # the flag is the name in CLI spelling, so argparse's dest is the name itself
        assert spec.flag in (None, "--" + spec.name.replace("_", "-")), spec.name
    assert set(RENAMED.values()) <= set(SPECS_BY_NAME) and not set(RENAMED) & set(SPECS_BY_NAME)
    ccs = [cc for spec in CONTROL_SPECS for cc in spec.ccs]
    assert len(ccs) == len(set(ccs)) and all(0 <= cc < 120 for cc in ccs)


@pytest.mark.parametrize("spec", [s for s in CONTROL_SPECS if s.kind != "choice"], ids=lambda s: s.name)
def test_each_range_edge_is_taken_and_a_step_past_it_is_one_line_naming_the_control(spec):
    others = {"low": 0, "high": 127}  # keep low <= high while one of them is at an edge
    for edge in (spec.low, spec.high):
        Controls(**{**others, spec.name: edge})
    past = spec.high + (1 if spec.whole else 0.01)
    with pytest.raises(ControlError) as caught:
        Controls(**{spec.name: past})
    message = str(caught.value)
    assert message.startswith(f"{spec.name} {past} is out of range; allowed: {spec.low:g}..{spec.high:g}")
    assert "\n" not in message


def test_a_wrong_type_a_scale_not_in_the_list_and_an_inside_out_range_are_refused():
    with pytest.raises(ControlError, match="temperature 'hot' is not a number"):
        Controls(temperature="hot")
    with pytest.raises(ControlError, match="scale 'bebop' is not one of chromatic, major"):
        Controls(scale="bebop")
    with pytest.raises(ControlError, match="low 80 is above high 60"):
        Controls(low=80, high=60)


def test_values_show_as_the_screen_shows_them():
    show = {name: spec.show for name, spec in SPECS_BY_NAME.items()}
    assert show["low"](48) == "C3 (48)" and show["root"](9) == "A"
    assert show["scale"]("natural_minor") == "natural minor"
    assert show["max_note"](1.5) == "1.50 s" and show["density"](0.2) == "+0.20"
    assert show["transpose"](-3) == "-3" and show["velocity_offset"](5) == "+5"
    assert show["polyphony"](4.0) == "4"  # a whole number, even when it arrives as a float


def test_parse_reads_numbers_and_note_names_and_says_what_is_wrong():
    low = SPECS_BY_NAME["low"]
    assert low.parse("C2") == 36 and low.parse("F#4") == 66 and low.parse("Bb3") == 58
    assert low.parse("40") == 40
    with pytest.raises(ControlError, match=r"expected a pitch 0..127 or a note name like C2.*not 'H2'"):
        low.parse("H2")
    with pytest.raises(ControlError, match=r"G#9 \(pitch 128\) is out of range; allowed: 0..127 or C-1..G9"):
        low.parse("G#9")
    with pytest.raises(ControlError, match="expected a whole number, not '1.5'"):
        SPECS_BY_NAME["polyphony"].parse("1.5")
    with pytest.raises(ControlError, match="nan is out of range"):
        SPECS_BY_NAME["density"].parse("nan")


def test_note_names_and_numbers_round_trip():
    assert all(note_number(note_name(p)) == p for p in range(128))
    assert note_number("Cb4") == 59 and note_number("B#3") == 60 and note_number("E#4") == 65
    assert note_number("c-1") == 0 and note_number("C") is None and note_number("X4") is None
