"""Scales and note names: the pitch vocabulary musicians use for the controls."""

from __future__ import annotations

import re

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
_NOTE = re.compile(r"^([A-Ga-g][#b]?)(-?[0-9]{1,3})$")


class ScaleError(EncoreError):
    """A scale or note name that is not one: says what was given and what would do."""


def pitch_class(name: str) -> int | None:
    """'C' -> 0, 'F#' -> 6, 'Bb' -> 10; None if it is not a note letter."""
    return _ROOTS.get(name.strip().upper())


def note_name(pitch: int) -> str:
    """60 -> 'C4' (MIDI's middle C is C4, so pitch 0 is C-1)."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def note_number(name: str) -> int | None:
    """'C4' -> 60, 'F#2' -> 42, 'Bb3' -> 58; None if the text is not a note name.
    The pitch may fall outside 0..127 ('G#9'): the caller checks the range it needs."""
    match = _NOTE.match(name.strip())
    if not match:
        return None
    letter, octave = match.groups()
    root = _ROOTS[letter.upper()]
    # Cb and B# cross the octave line: Cb4 is B3, B#3 is C4
    crossing = -12 if letter.upper() == "CB" else 12 if letter.upper() == "B#" else 0
    return 12 * (int(octave) + 1) + root + crossing


def parse_scale(text: str) -> tuple[int, str]:
    """'A:minor', 'F#:dorian', 'c:major_pentatonic' -> (root, scale name)."""
    root_text, _, name = text.partition(":")
    root = _ROOTS.get(root_text.strip().upper())
    if root is None:
        raise ScaleError(
            f"scale {text!r}: unknown root {root_text!r}; use a note name like C, F#, Bb"
        )
    name = name.strip().lower().replace("-", "_").replace(" ", "_") or "major"
    name = SCALE_ALIASES.get(name, name)
    if name not in SCALES:
        raise ScaleError(
            f"scale {text!r}: unknown scale {name!r}; choose from {', '.join(SCALES)} "
            f"(or {', '.join(SCALE_ALIASES)})"
        )
    return root, name
