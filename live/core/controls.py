"""The musician's controls: one table says what each is, and Controls holds their values.

CONTROL_SPECS is the one place a control's name, range, default, steps, display, CLI flag,
default knob and knob sweep are written (in the spirit of mido's messages/specs.py). The
Controls dataclass, the command-line options, the default knob map, `encore learn`, knob
map files and the TUI's rows all read it, and all use the control's one name.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, fields, replace

from live.core.errors import EncoreError
from live.core.scales import NOTE_NAMES, SCALES, note_name, note_number

KINDS = ("float", "int", "pitch", "choice")  # pitch: a whole number read and shown as a note
CURVES = ("linear", "exp", "log")


class ControlError(EncoreError):
    """A control set to a value it cannot take: names the control, the value and the range."""


@dataclass(frozen=True)
class ControlSpec:
    name: str  # the one name: Controls field, knob map `control =`, `encore learn NAME`, status key
    kind: str  # one of KINDS
    low: float = 0  # for a choice: unused (the choices are the range)
    high: float = 0
    default: object = 0
    fine: float = 1  # a step of the TUI's arrow keys
    coarse: float = 1  # with shift
    display: str = "d"  # a format spec, or "key" (a pitch class shown as C..B)
    unit: str = ""  # shown after the value
    cli: bool = True  # has a command-line option of its own (--label)
    help: str = ""
    ccs: tuple[int, ...] = ()  # the default knob map's CC numbers for it
    knob_low: float | None = None  # the sweep of a knob, if narrower than the range
    knob_high: float | None = None
    curve: str = "linear"  # exp suits controls heard in ratios: equal turns, equal changes
    choices: tuple[str, ...] = ()
    cyclic: bool = False  # the TUI steps past the end to the start (keys, scales)
    # Heard by sampling the future again (the unsent future is dropped and made anew).
    # False: it only shapes what is played, so a turn applies from the next note on and
    # never cuts one that sounds (a velocity knob swept at 50 CC/s must not stutter).
    resamples: bool = True

    @property
    def label(self) -> str:
        """The name as the screen and the command line spell it: top_p is top-p."""
        return self.name.replace("_", "-")

    @property
    def flag(self) -> str | None:
        return "--" + self.label if self.cli else None

    @property
    def whole(self) -> bool:
        return self.kind in ("int", "pitch")

    @property
    def allowed(self) -> str:
        if self.kind == "choice":
            return ", ".join(self.choices)
        text = f"{self.low:g}..{self.high:g}" + (f" {self.unit}" if self.unit else "")
        if self.kind == "pitch":
            text += f" or {note_name(int(self.low))}..{note_name(int(self.high))}"
        return text

    @property
    def knob_range(self) -> tuple[float, float]:
        if self.kind == "choice":
            return 0, len(self.choices) - 1  # a knob sweeps an index into the choices
        return (self.low if self.knob_low is None else self.knob_low,
                self.high if self.knob_high is None else self.knob_high)

    def problem(self, value, shown: str | None = None) -> str | None:
        """What is wrong with this value (without the control's name), or None."""
        if self.kind == "choice":
            return None if value in self.choices else f"{value!r} is not one of {self.allowed}"
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            return f"{value!r} is not a number"
        if not self.low <= value <= self.high:
            return f"{shown or value} is out of range; allowed: {self.allowed}"
        return None

    def parse(self, text: str):
        """A value from the command line; ControlError (without the name) if it is not one."""
        text, shown = text.strip(), None
        if self.kind == "choice":
            value = text.lower()
        elif self.kind == "float":
            value = _number(text, float, "a number")
        elif self.kind == "pitch":
            value = note_number(text)
            if value is None:
                value = _number(text, int, "a pitch 0..127 or a note name like C2, F#4, Bb3")
            else:
                shown = f"{text} (pitch {value})"
        else:
            value = _number(text, int, "a whole number")
        problem = self.problem(value, shown)
        if problem is not None:
            raise ControlError(problem)
        return value

    def show(self, value) -> str:
        """The value as the screen shows it."""
        if self.kind == "choice":
            text = str(value).replace("_", " ")
        elif self.kind == "pitch":
            text = f"{note_name(int(value))} ({int(value)})"
        elif self.display == "key":
            text = NOTE_NAMES[int(value) % 12]
        else:
            text = format(round(value) if self.whole else float(value), self.display)
        return f"{text} {self.unit}" if self.unit else text


CONTROL_SPECS: tuple[ControlSpec, ...] = (
    # name, kind, low, high, default, fine step, coarse step, display; then by keyword
    ControlSpec("temperature", "float", 0.05, 3.0, 1.0, 0.05, 0.25, ".2f",
                help="below 1 safer, above 1 wilder",
                ccs=(74,), knob_low=0.2, knob_high=2.0, curve="exp"),
    ControlSpec("top_p", "float", 0.01, 1.0, 1.0, 0.05, 0.2, ".2f",
                help="nucleus mass: sample only the likeliest events up to it",
                ccs=(71,), knob_low=0.3),
    ControlSpec("low", "pitch", 0, 127, 0, 1, 12,
                help="lowest pitch played, a number or a note name like C2",
                ccs=(78,), knob_low=24, knob_high=84),
    ControlSpec("high", "pitch", 0, 127, 127, 1, 12,
                help="highest pitch played, a number or a note name like C6",
                ccs=(79,), knob_low=48, knob_high=108),
    ControlSpec("root", "int", 0, 11, 0, 1, 7, "key", cyclic=True, cli=False,
                help="the scale's root, 0 = C .. 11 = B (set with --scale ROOT:NAME)"),
    ControlSpec("scale", "choice", default="chromatic", choices=tuple(SCALES), cyclic=True,
                help="lock to a scale, e.g. A:minor, F#:dorian, F:lydian, C:blues"),
    ControlSpec("polyphony", "int", 1, 16, 16, 1, 4,
                help="most notes at once, 1 = monophonic",
                ccs=(77,), knob_high=8),
    ControlSpec("max_note", "float", 0.01, 30.0, 5.0, 0.1, 1.0, ".2f", unit="s",
                help="a note is forced off after this long",
                ccs=(73,), knob_low=0.05, knob_high=5.0, curve="exp"),
    ControlSpec("density", "float", -1.0, 1.0, 0.0, 0.1, 0.5, "+.2f",
                help="fewer .. more notes", ccs=(1, 72)),
    ControlSpec("velocity_gain", "float", 0.0, 2.0, 1.0, 0.05, 0.25, ".2f",
                help="scales the velocity played", ccs=(75,), resamples=False),
    ControlSpec("velocity_offset", "int", -127, 127, 0, 1, 10, "+d",
                help="added to the velocity after the gain",
                knob_low=-64, knob_high=64, resamples=False),
    ControlSpec("transpose", "int", -24, 24, 0, 1, 12, "+d",
                help="semitones, applied to what is played",
                ccs=(76,), knob_low=-12, knob_high=12),
    ControlSpec("grid", "choice", default="1/16",
                choices=("off", "1/32", "1/16", "1/8", "1/4", "1/16t", "1/8t"),
                help="a beat model starts notes only on this grid of the beat (off: where it likes; "
                     "t: triplets); a seconds model has no beat grid and ignores it"),
    ControlSpec("harmony", "int", 0, 100, 60, 5, 25, unit="%",
                help="with chords (--chords): how strongly notes on beats 1 and 3 lean to the chord's "
                     "tones and the rest to the key (a lean: never a lock)"),
    ControlSpec("variation", "int", 0, 100, 25, 5, 25, unit="%",
                help="how much of a loop is sampled anew each time round (0: the same phrase, "
                     "100: a new one); the end of the phrase changes most", resamples=False),
)
# grid -> steps of a beat model (48 a beat): where a note may begin
GRID_STEPS = {"off": None, "1/32": 6, "1/16": 12, "1/8": 24, "1/4": 48, "1/16t": 8, "1/8t": 16}
SPECS_BY_NAME: dict[str, ControlSpec] = {spec.name: spec for spec in CONTROL_SPECS}

# The tempo is the timeline's, not the sampler's (no Controls field; --bpm is play's own
# option), but a knob, the screen and `learn` move it like the rest. A knob sweeps the
# tempos a set lives in; the screen and --bpm reach the whole range.
TEMPO_SPEC = ControlSpec("bpm", "float", 20, 400, 120.0, 1, 10, ".1f", cli=False,
                         help="tempo: a beat model plays at it", knob_low=60, knob_high=180)
# The loop's length and when its actions land belong to the scheduler's looper, not the
# sampler (no Controls field), but a knob, the screen and `learn` move them like the rest.
LOOP_SPEC = ControlSpec("loop", "choice", default="off", choices=("off", "1", "2", "4", "8", "16"),
                        unit="", cli=False, help="a phrase of this many bars that comes back")
LAUNCH_SPEC = ControlSpec("launch", "choice", default="bar", choices=("bar", "beat", "now"), cli=False,
                          help="when a loop's next, mutate and hold land (its length: at its bar line)")

# A loop's buttons: a CC press (value 64 and up, after one below) does each once, the TUI
# has a key for each, and a knob map or `learn` names them like a control.
BUTTONS = {
    "hold": "freeze the loop: exact repeats, whatever the variation (again: let it vary)",
    "next": "a new phrase from the launch point",
    "mutate": "the loop's bar at the launch point sampled anew",
    "double": "the loop twice as long (its phrase twice), on its bar line",
    "halve": "the loop half as long (its first bars), on its bar line",
    "capture": "write the loop's phrase as a .mid clip",
}

# Names used before there was one name per control: knob maps that use them still load.
RENAMED = {"max_note_seconds": "max_note", "max_polyphony": "polyphony"}


def control_name(text: str) -> str:
    """A control's one name from either spelling: 'top-p' (flag, screen) is top_p."""
    return text.strip().lower().replace("-", "_")


def _default(name: str):
    return field(default=SPECS_BY_NAME[name].default)


@dataclass(frozen=True)
class Controls:
    """Plain values, checked against the table, each changeable between any two events.
    The fields are the table's rows, in its order (checked below)."""

    temperature: float = _default("temperature")
    top_p: float = _default("top_p")
    low: int = _default("low")  # pitches as played, after transpose
    high: int = _default("high")
    root: int = _default("root")
    scale: str = _default("scale")
    polyphony: int = _default("polyphony")
    max_note: float = _default("max_note")  # seconds
    density: float = _default("density")
    velocity_gain: float = _default("velocity_gain")
    velocity_offset: int = _default("velocity_offset")
    transpose: int = _default("transpose")
    grid: str = _default("grid")  # beat models only
    harmony: int = _default("harmony")  # percent; with chords (live.core.harmony)
    variation: int = _default("variation")  # percent; a loop's (live.core.looper)

    def __post_init__(self):
        for spec in CONTROL_SPECS:
            problem = spec.problem(getattr(self, spec.name))
            if problem is not None:
                raise ControlError(f"{spec.name} {problem}")
        if self.low > self.high:
            raise ControlError(f"low {self.low} is above high {self.high}; "
                               "the lowest pitch must be at most the highest")

    def with_(self, **changes) -> "Controls":
        return replace(self, **changes)

    def pitch_allowed(self, played_pitch: int) -> bool:
        """May this pitch (as played, after transpose) sound under the range and scale?"""
        return (
            self.low <= played_pitch <= self.high
            and (played_pitch - self.root) % 12 in SCALES[self.scale]
        )

    def played_velocity(self, velocity: int) -> int:
        return min(127, max(1, round(velocity * self.velocity_gain) + self.velocity_offset))


if [f.name for f in fields(Controls)] != [spec.name for spec in CONTROL_SPECS]:
    raise AssertionError("Controls' fields and CONTROL_SPECS' rows differ")  # caught at import


def _number(text: str, kind, what: str):
    try:
        return kind(text)
    except ValueError:
        raise ControlError(f"expected {what}, not {text!r}") from None
