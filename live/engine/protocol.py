"""What the screen and the engine process say to each other, as dataclasses.

The screen sends requests down the pipe; the engine process answers with a Status about
20 times a second, a Fatal when it could not start, and a Closed with its last figures.
One Status type serves the engine process, the TUI and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Union

from live.core.controls import Controls

# ---------------------------------------------------------------- screen -> engine


@dataclass(frozen=True)
class Play:
    pass


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class PanicRequest:
    """All notes off now (and the notes passed through from the input)."""


@dataclass(frozen=True)
class SetControl:
    name: str  # a row of the control table
    value: object
    voice: str | None = None  # "bass": the bass voice's control; None: the lead's


@dataclass(frozen=True)
class SetTempo:
    bpm: float


@dataclass(frozen=True)
class SetQuantize:
    grid: str  # "off", "1/8", "1/16", "1/32"
    strength: float  # 0..1


@dataclass(frozen=True)
class ReseedRequest:
    """which: None (a random primer), +1 / -1 (next, previous), 'silence', 'capture' (what
    was just played on the input), or a .mid path."""

    which: object = None


@dataclass(frozen=True)
class Learn:
    control: str


@dataclass(frozen=True)
class SaveRecording:
    pass


@dataclass(frozen=True)
class SetLoop:
    """A loop of `bars` bars (0: off)."""

    bars: int


@dataclass(frozen=True)
class SetLaunch:
    when: str  # "bar", "beat", "now"


@dataclass(frozen=True)
class Press:
    """A loop's button (live.core.controls.BUTTONS): hold, next, mutate, double, halve, capture."""

    button: str


@dataclass(frozen=True)
class SetChords:
    """A progression as typed ('Am F C G', 'Am:2 F:2'): from the next bar line."""

    text: str


@dataclass(frozen=True)
class Quit:
    pass


Request = Union[Play, Stop, PanicRequest, SetControl, SetTempo, SetQuantize, ReseedRequest, Learn,
                SaveRecording, SetLoop, SetLaunch, Press, SetChords, Quit]

# ---------------------------------------------------------------- engine -> screen


@dataclass(frozen=True)
class TempoStatus:
    bpm: float = 120.0
    source: str = "internal"  # or "midi clock", "link"
    beats: bool = False  # the model plays in beats (the tempo stretches it), not seconds
    beat: float = 0.0  # beats since beat 0 (bar 1, beat 1), heard now
    beat_origin: float = 0.0  # performance time of beat 0 (the piano roll's bar lines)
    perf_per_beat: float = 0.5  # performance seconds in a beat
    peers: int | None = None  # Ableton Link peers, when following Link


@dataclass(frozen=True)
class QuantizeStatus:
    grid: str = "off"
    strength: float = 1.0


@dataclass(frozen=True)
class LoopStatus:
    bars: int = 0  # the length asked last (0: no loop)
    bar: int | None = None  # the loop's bar heard now, from 1
    passes: int = 0
    hold: bool = False
    capturing: bool = False  # playing its phrase for the first time
    launch: str = "bar"
    anchor: float | None = None  # performance time of a bar 1 (the roll marks the loop's start)
    bar_seconds: float = 1.92  # performance seconds in a bar


@dataclass(frozen=True)
class HarmonyStatus:
    chord: str | None = None  # sounding now (None: no chords)
    next_chord: str | None = None
    beats_to_next: float | None = None  # beats until it
    key: str = ""
    progression: str = ""  # as typed, or "input"


@dataclass(frozen=True)
class Meters:
    notes_per_s: float = 0.0
    step_median_ms: float = 0.0
    step_p99_ms: float = 0.0
    send_p99_ms: float = 0.0
    send_max_ms: float = 0.0
    held: int = 0


@dataclass(frozen=True)
class SeedStatus:
    description: str = ""
    number: int | None = None
    count: int = 0
    preview: str = ""
    events: tuple[int, ...] = ()  # the primer itself: R renders from what is on screen


@dataclass(frozen=True)
class ModelStatus:
    path: str = ""
    kind: str = ""
    layers: int = 0
    hidden: int = 0
    window: int = 0
    val_nll: float | None = None
    corpus: str = ""
    primers: int = 0


@dataclass(frozen=True)
class PortsStatus:
    output: str | None = None
    output_lost: bool = False
    output_virtual: bool = False
    input: str | None = None
    backend: str = ""
    own_inputs: tuple[str, ...] = ()
    recording: str | None = None


@dataclass(frozen=True)
class Status:
    now: float = 0.0  # performance seconds
    playing: bool = False
    failed: str | None = None
    controls: Controls = field(default_factory=Controls)
    bass: Controls | None = None  # the bass voice's controls (None: no bass)
    knobs: dict[str, str] = field(default_factory=dict)  # control -> "CC 74 (any channel)"
    tempo: TempoStatus = field(default_factory=TempoStatus)
    quantize: QuantizeStatus = field(default_factory=QuantizeStatus)
    loop: LoopStatus = field(default_factory=LoopStatus)
    harmony: HarmonyStatus = field(default_factory=HarmonyStatus)
    meters: Meters = field(default_factory=Meters)
    played: tuple = ()  # (time, pitch, on, velocity) of what was sent, oldest first
    upcoming: tuple = ()  # the same, of what is queued
    seed: SeedStatus = field(default_factory=SeedStatus)
    model: ModelStatus = field(default_factory=ModelStatus)
    ports: PortsStatus = field(default_factory=PortsStatus)
    logs: tuple[str, ...] = ()
    requests_read: int | None = None  # how many requests the engine had read (None: it does not count)

    def with_(self, **changes) -> "Status":
        return replace(self, **changes)


@dataclass(frozen=True)
class Fatal:
    """The engine could not start: one line saying why."""

    message: str


@dataclass(frozen=True)
class Closed:
    """The engine closed cleanly: every note ended; its figures."""

    notes: int = 0
    send_median_ms: float = 0.0
    send_p99_ms: float = 0.0
    send_max_ms: float = 0.0
    messages: int = 0
    knob_turns: int = 0  # control changes whose new music was measured
    knob_median_ms: float | None = None  # turn -> first event under the new controls
    knob_max_ms: float | None = None
    # the same less each turn's wait for a beat model's next grid line (what the engine adds)
    knob_beyond_grid_median_ms: float | None = None
    knob_beyond_grid_max_ms: float | None = None
    # each loop action given: (kind, clock time given, clock time it landed in the music)
    loop_landings: tuple[tuple[str, float, float], ...] = ()


Reply = Union[Status, Fatal, Closed]
