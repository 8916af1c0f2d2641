"""The TUI's rows: one per control of the table, plus tempo and quantise; what a key sends."""

import pytest

from live.app.tui.control_rows import ROW_BY_NAME, ROWS, adjusted, shown
from live.core.controls import CONTROL_SPECS, LAUNCH_SPEC, LOOP_SPEC, TEMPO_SPEC, Controls
from live.engine.protocol import QuantizeStatus, SetControl, SetQuantize, SetTempo, Status, TempoStatus

STATUS = Status(
    controls=Controls(low=48, high=84, root=11, scale="blues", polyphony=16, max_note=0.1),
    tempo=TempoStatus(126.0, "internal"),
    quantize=QuantizeStatus("1/32", 0.8),
)


def test_every_control_of_the_table_has_its_row_in_the_table_s_order():
    learnable = [row for row in ROWS if row.learnable]
    # a knob can move the loop, its launch and the tempo too
    assert [row.spec for row in learnable] == [*CONTROL_SPECS, LOOP_SPEC, LAUNCH_SPEC, TEMPO_SPEC]
    # not mapped to knobs: quantise, and the bass's rows (a knob map names the lead's controls)
    assert [row.label for row in ROWS if not row.learnable] == [
        "bass low", "bass high", "bass density", "bass temperature", "quantize", "quantize-strength"]
    for row in ROWS:  # each row reads and shows its value from a status
        assert shown(row, STATUS)


@pytest.mark.parametrize("name, steps, coarse, command", [
    ("temperature", 1, False, SetControl("temperature", 1.05)),
    ("temperature", -1, True, SetControl("temperature", 0.75)),
    ("root", 1, False, SetControl("root", 0)),  # B -> C: the key wraps round
    ("scale", 1, False, SetControl("scale", "chromatic")),  # the last scale -> the first
    ("polyphony", 1, True, SetControl("polyphony", 16)),  # held at the top of the range
    ("max_note", -1, False, SetControl("max_note", 0.01)),  # held at the bottom
    ("transpose", -1, True, SetControl("transpose", -12)),
    ("low", 3, True, SetControl("low", 84)),  # never above the highest pitch
    ("high", -3, True, SetControl("high", 48)),
    ("bpm", 1, True, SetTempo(136.0)),
    ("quantize", 1, False, SetQuantize("off", 0.8)),
    ("quantize_strength", -1, True, SetQuantize("1/32", 0.55)),
])
def test_a_key_press_sends_the_command_for_its_row(name, steps, coarse, command):
    sent = adjusted(ROW_BY_NAME[name], STATUS, steps, coarse)
    assert type(sent) is type(command)
    for got, wanted in zip(vars(sent).values(), vars(command).values()):
        assert got == pytest.approx(wanted) if isinstance(wanted, float) else got == wanted
        assert type(got) is type(wanted)


def test_rows_show_what_the_screen_shows():
    assert shown(ROW_BY_NAME["root"], STATUS) == "B"
    assert shown(ROW_BY_NAME["low"], STATUS) == "C3 (48)"
    assert shown(ROW_BY_NAME["quantize_strength"], STATUS) == "80 %"
    assert shown(ROW_BY_NAME["bpm"], STATUS) == "126.0"
