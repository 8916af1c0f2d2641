"""The musician's controls: plain values, checked, each changeable between any two events."""

from __future__ import annotations

from dataclasses import dataclass, replace

from live.core.errors import EncoreError

SCALES: dict[str, tuple[int, ...]] = {
    "chromatic": tuple(range(12)),
    "major": (0, 2, 4, 5, 7, 9, 11),
    "natural_minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "major_pentatonic": (0, 2, 4, 7, 9),
    "minor_pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
}
SCALE_ALIASES = {
    "minor": "natural_minor", "aeolian": "natural_minor", "ionian": "major",
    "pentatonic": "major_pentatonic", "harmonic": "harmonic_minor",
}
NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
_ROOTS = {name: i for i, name in enumerate(NOTE_NAMES)}
_ROOTS.update({"DB": 1, "EB": 3, "GB": 6, "AB": 8, "BB": 10, "CB": 11, "FB": 4, "E#": 5, "B#": 0})

TEMPERATURE_RANGE = (0.05, 3.0)


class ControlError(EncoreError):
    """A control set to a value it cannot take: names the control, the value and the range."""


@dataclass(frozen=True)
class Controls:
    temperature: float = 1.0  # 0.05..3.0: below 1 safer, above 1 wilder
    top_p: float = 1.0  # nucleus sampling: keep the likeliest events up to this mass
    low: int = 0  # lowest pitch that may sound (after transpose)
    high: int = 127  # highest pitch that may sound (after transpose)
    root: int = 0  # 0 = C .. 11 = B
    scale: str = "chromatic"
    max_polyphony: int = 16  # 1 = a monophonic lead
    max_note_seconds: float = 5.0  # a note is forced off after this long
    density: float = 0.0  # -1..1: fewer .. more notes (bias on note-ons vs time shifts)
    velocity_gain: float = 1.0  # 0..2, applied to what is played
    velocity_offset: int = 0  # -127..127, applied after the gain
    transpose: int = 0  # -24..24 semitones, applied to what is played

    def __post_init__(self):
        _check(TEMPERATURE_RANGE[0] <= self.temperature <= TEMPERATURE_RANGE[1],
               "temperature", self.temperature, "0.05..3.0")
        _check(0.0 < self.top_p <= 1.0, "top-p", self.top_p, "above 0 and at most 1")
        _check(0 <= self.low <= 127 and 0 <= self.high <= 127, "pitch range",
               f"{self.low}..{self.high}", "pitches 0..127")
        _check(self.low <= self.high, "pitch range", f"{self.low}..{self.high}", "low <= high")
        _check(0 <= self.root <= 11, "root", self.root, "0..11")
        _check(self.scale in SCALES, "scale", self.scale, ", ".join(SCALES))
        _check(1 <= self.max_polyphony <= 16, "max polyphony", self.max_polyphony, "1..16")
        _check(0.01 <= self.max_note_seconds <= 30.0, "max note length",
               self.max_note_seconds, "0.01..30 s")
        _check(-1.0 <= self.density <= 1.0, "density", self.density, "-1..1")
        _check(0.0 <= self.velocity_gain <= 2.0, "velocity gain", self.velocity_gain, "0..2")
        _check(-127 <= self.velocity_offset <= 127, "velocity offset", self.velocity_offset,
               "-127..127")
        _check(-24 <= self.transpose <= 24, "transpose", self.transpose, "-24..24")

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


def parse_scale(text: str) -> tuple[int, str]:
    """'A:minor', 'F#:dorian', 'c:major_pentatonic' -> (root, scale name)."""
    root_text, _, name = text.partition(":")
    root = _ROOTS.get(root_text.strip().upper())
    if root is None:
        raise ControlError(
            f"scale {text!r}: unknown root {root_text!r}; use a note name like C, F#, Bb"
        )
    name = name.strip().lower().replace("-", "_").replace(" ", "_") or "major"
    name = SCALE_ALIASES.get(name, name)
    if name not in SCALES:
        raise ControlError(
            f"scale {text!r}: unknown scale {name!r}; choose from {', '.join(SCALES)} "
            f"(or {', '.join(SCALE_ALIASES)})"
        )
    return root, name


def _check(ok: bool, what: str, value, allowed: str) -> None:
    if not ok:
        raise ControlError(f"{what} {value} is out of range; allowed: {allowed}")
