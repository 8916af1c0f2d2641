"""Where the music is on the tempo's grid, as the TUI words and draws it: bar:beat, tempo
and its source, whether the model plays in beats or seconds, and the roll's grid lines.

Read from the engine's TempoStatus only; the timeline itself lives in the engine.
"""

from __future__ import annotations

import math

from live.core.timeline import bar_and_beat
from live.core.wording import count
from live.engine import protocol

BEATS_PER_BAR = 4  # what bar_and_beat counts in


def position_label(tempo: protocol.TempoStatus) -> str:
    bar, beat = bar_and_beat(tempo.beat, BEATS_PER_BAR)
    return f"bar {bar}:{beat}"


def source_label(tempo: protocol.TempoStatus, short: bool = False) -> str:
    """'int.', 'clock' or 'Link (2 peers)'; short: 'Link', for the tempo row's narrow column."""
    if tempo.source == "midi clock":
        return "clock"
    if tempo.source == "link":
        return "Link" if short or tempo.peers is None else f"Link ({count(tempo.peers, 'peer')})"
    return "int."


def model_label(tempo: protocol.TempoStatus) -> str:
    if tempo.beats:
        return "beat model: tempo stretches the music"
    return "seconds model: tempo moves the grid only"


def grid_lines(tempo: protocol.TempoStatus, start: float, end: float) -> list[tuple[float, bool]]:
    """(performance time, is a bar line) of every beat from `start` to `end`, in
    performance seconds: beat_origin + k x perf_per_beat, bar lines where k is a bar's first
    beat. The same for both kinds of model: a seconds model's grid is the tempo's."""
    step = tempo.perf_per_beat
    if not step > 0 or end < start:
        return []  # no grid to draw (a status from before the engine knew its tempo)
    first = math.ceil((start - tempo.beat_origin) / step)
    last = math.floor((end - tempo.beat_origin) / step)
    return [(tempo.beat_origin + k * step, k % BEATS_PER_BAR == 0) for k in range(first, last + 1)]


def loop_label(loop: protocol.LoopStatus, variation: int) -> str:
    """'loop 4 bars  bar 2/4  pass 7  variation 25 %' (or held, or capturing); '' without one."""
    if not loop.bars:
        return ""
    parts = [f"loop {count(loop.bars, 'bar')}"]
    if loop.bar is not None:
        parts.append(f"bar {loop.bar}/{loop.bars}")
    if loop.capturing:
        parts.append("first pass")
    elif loop.passes:
        parts.append(f"pass {loop.passes}")
    parts.append("HOLD" if loop.hold else f"variation {variation} %")
    if loop.launch != "bar":
        parts.append(f"launch {loop.launch}")
    return "  ".join(parts)


def loop_starts(loop: protocol.LoopStatus, start: float, end: float) -> list[float]:
    """Performance times of the loop's bar 1 from `start` to `end`."""
    if not loop.bars or loop.anchor is None or not loop.bar_seconds > 0 or end < start:
        return []
    length = loop.bars * loop.bar_seconds
    first = math.ceil((start - loop.anchor) / length - 1e-9)
    last = math.floor((end - loop.anchor) / length + 1e-9)
    return [loop.anchor + k * length for k in range(first, last + 1)]


def harmony_label(harmony: protocol.HarmonyStatus) -> str:
    """'chord Am -> F in 2 beats  key A:minor' (or waiting for one played); '' without chords."""
    if harmony.chord is None:
        return "chords: play one on the input" if harmony.progression == "input" else ""
    text = f"chord {harmony.chord}"
    if harmony.next_chord is not None and harmony.beats_to_next is not None:
        text += f" -> {harmony.next_chord} in {count(max(1, math.ceil(harmony.beats_to_next - 1e-9)), 'beat')}"
    return f"{text}  key {harmony.key}"
