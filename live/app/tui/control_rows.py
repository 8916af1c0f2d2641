"""The rows of the TUI's controls panel: what each shows and the command a key press sends.

The sampling controls' rows are the table's (live.core.controls.CONTROL_SPECS): label,
steps, range and display come from there. Tempo and quantise are not sampling controls
(the engine's clock and grid own them), so their rows are written here, in the same form,
with the status entry they read and the command they send.
"""

from __future__ import annotations

from dataclasses import dataclass

from live.core.controls import CONTROL_SPECS, LAUNCH_SPEC, LOOP_SPEC, SPECS_BY_NAME, TEMPO_SPEC, ControlSpec
from live.engine import protocol

GRIDS = ("off", "1/8", "1/16", "1/32")

# What a row moves: a sampling control ("set"), the tempo ("tempo") or the grid ("quantize").
SAMPLING, TEMPO, GRID, GRID_STRENGTH = "controls", "tempo", "quantize", "quantize_strength"
LOOP, LAUNCH = "loop", "launch"  # the loop's length and when its actions land
BASS = "bass"  # a control of the bass voice (--bass)
BASS_ROWS = ("low", "high", "density", "temperature")


@dataclass(frozen=True)
class ControlRow:
    spec: ControlSpec
    target: str = SAMPLING

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def label(self) -> str:
        return f"bass {self.spec.label}" if self.target == BASS else self.spec.label

    @property
    def learnable(self) -> bool:
        """Can a knob be MIDI-learned for it (sampling controls and the tempo)?"""
        return self.target in (SAMPLING, TEMPO, LOOP, LAUNCH)


# Tempo and quantise have their options in play's parser (--bpm, --quantize, --quantize-strength).
ROWS: list[ControlRow] = [ControlRow(spec) for spec in CONTROL_SPECS] + [
    *(ControlRow(SPECS_BY_NAME[name], BASS) for name in BASS_ROWS),
    ControlRow(LOOP_SPEC, LOOP),
    ControlRow(LAUNCH_SPEC, LAUNCH),
    ControlRow(TEMPO_SPEC, TEMPO),
    ControlRow(ControlSpec("quantize", "choice", default="off", choices=GRIDS,
                           cyclic=True, cli=False), GRID),
    ControlRow(ControlSpec("quantize_strength", "int", 0, 100, 100, 5, 25,
                           unit="%", cli=False), GRID_STRENGTH),
]
ROW_BY_NAME = {row.name: row for row in ROWS if row.target != BASS}


def row_value(row: ControlRow, status: protocol.Status):
    """The row's value in an engine status snapshot."""
    if row.target == TEMPO:
        return status.tempo.bpm
    if row.target == GRID:
        return status.quantize.grid
    if row.target == GRID_STRENGTH:
        return round(status.quantize.strength * 100)
    if row.target == LOOP:
        return str(status.loop.bars) if status.loop.bars else "off"
    if row.target == LAUNCH:
        return status.loop.launch
    if row.target == BASS:
        return None if status.bass is None else getattr(status.bass, row.name)
    return getattr(status.controls, row.name)


def shown_value(row: ControlRow, status: protocol.Status) -> str:
    value = row_value(row, status)
    return "-" if value is None else row.spec.show(value)


def shown(row: ControlRow, status: protocol.Status) -> str:
    return shown_value(row, status)


def adjusted(row: ControlRow, status: protocol.Status, steps: int, coarse: bool) -> protocol.Request:
    """The command that moves this row by `steps` (fine or coarse); None: nothing to move."""
    spec, value = row.spec, row_value(row, status)
    if value is None:
        return None
    if spec.kind == "choice":
        new = spec.choices[(spec.choices.index(value) + steps) % len(spec.choices)]
    else:
        new = value + (spec.coarse if coarse else spec.fine) * steps
        if spec.cyclic:
            new = spec.low + (new - spec.low) % (spec.high - spec.low + 1)
        new = min(spec.high, max(spec.low, new))
        new = round(new) if spec.whole else round(new, 3)
    if row.target == TEMPO:
        return protocol.SetTempo(new)
    if row.target == GRID:
        return protocol.SetQuantize(new, status.quantize.strength)
    if row.target == GRID_STRENGTH:
        return protocol.SetQuantize(status.quantize.grid, new / 100)
    if row.target == LOOP:
        return protocol.SetLoop(0 if new == "off" else int(new))
    if row.target == LAUNCH:
        return protocol.SetLaunch(new)
    controls = status.bass if row.target == BASS else status.controls
    if row.name == "low":  # the range never turns inside out
        new = min(new, controls.high)
    elif row.name == "high":
        new = max(new, controls.low)
    return protocol.SetControl(row.name, new, "bass" if row.target == BASS else None)
