"""What the musician (and the MIDI input) asks of a performance, as typed commands.

Any thread may make one; the scheduler's owner applies them between two events, so a
knob turned from the TUI, a CC from a controller and a note played on a keyboard all
reach the performance the same way, in render as on stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Union


@dataclass(frozen=True)
class ChangeControls:
    """Set some controls (by their names in the control table)."""

    changes: Mapping[str, Any]
    at: float  # clock time of the turn: the knob-latency meter counts from here
    voice: str | None = None  # whose controls ("bass"); None: the lead's


@dataclass(frozen=True)
class Hear:
    """A note the player played: the model hears it and continues from it."""

    on: bool
    pitch: int
    velocity: int = 0
    at: float = 0.0  # clock time it was played (call and response waits from here)


@dataclass(frozen=True)
class Reseed:
    """Prime the model afresh and restart from silence."""

    primer: tuple[int, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Panic:
    """All notes off now; generation goes on from a clean, silent state."""


@dataclass(frozen=True)
class Pause:
    """Stop sounding; the model keeps its place."""


@dataclass(frozen=True)
class Resume:
    """Play again from where the performance paused (a clock Continue, a key); with
    from_bar_line (a clock Start), from the next bar line, which becomes beat 0. margin:
    how long after now the first event is due (None: the scheduler's START_MARGIN); a
    port just connected takes a longer one (its first JACK periods carry nothing)."""

    from_bar_line: bool = False
    margin: float | None = None


@dataclass(frozen=True)
class SetQuantizer:
    """Pull note-ons to a grid (a live.core.tempo.Quantizer), or None for off."""

    quantizer: Any


@dataclass(frozen=True)
class SetTempo:
    """A new tempo from clock time `at` on (the knob, the screen, a Link peer)."""

    bpm: float
    at: float
    source: str = "internal"


@dataclass(frozen=True)
class FollowBeat:
    """An external clock says: beat `beat` (since its Start) sounds at clock time `at`,
    at `bpm`. The timeline locks its phase there."""

    at: float
    beat: float
    bpm: float
    source: str = "midi clock"


@dataclass(frozen=True)
class SetLoop:
    """A loop of `bars` bars (0: none); or change='double' / 'halve' the length asked
    last. A loop begins at the launch point; a new length lands on the loop's bar line."""

    bars: int = 0
    change: str | None = None


@dataclass(frozen=True)
class PhraseAction:
    """'next' (a new phrase), 'mutate' (the bar at the launch point sampled anew) or
    'hold' (exact repeats, or not: a toggle), landing at the launch point."""

    kind: str


@dataclass(frozen=True)
class SetLaunch:
    """When phrase actions land: 'bar' (the next bar line), 'beat' or 'now' (the grid)."""

    when: str


@dataclass(frozen=True)
class SetChords:
    """A progression (live.core.chords.Progression) from the next bar line, its bar 1 there."""

    progression: Any


@dataclass(frozen=True)
class PlayChord:
    """A chord held on the input (live.core.chords.Chord): it sounds from the next beat."""

    chord: Any


Command = Union[ChangeControls, Hear, Reseed, Panic, Pause, Resume, SetQuantizer, SetTempo, FollowBeat,
                SetLoop, PhraseAction, SetLaunch, SetChords, PlayChord]
