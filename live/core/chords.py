"""Chords and progressions: "Am F C G", "Am:2 F:2", chords played on a keyboard, and the
key they make.

A chord is its root and its tones as pitch classes (0 = C). A progression is chords with
their lengths in bars, cycling for ever from the bar it begins on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from live.core.errors import EncoreError
from live.core.scales import NOTE_NAMES, SCALES, pitch_class

# quality -> intervals above the root; the names musicians write ("" is major)
QUALITIES: dict[str, tuple[int, ...]] = {
    "": (0, 4, 7), "maj": (0, 4, 7), "m": (0, 3, 7), "min": (0, 3, 7),
    "7": (0, 4, 7, 10), "m7": (0, 3, 7, 10), "maj7": (0, 4, 7, 11),
    "sus2": (0, 2, 7), "sus4": (0, 5, 7), "dim": (0, 3, 6), "aug": (0, 4, 8), "5": (0, 7),
}
_CHORD = re.compile(r"^([A-Ga-g])([#b]?)(.*)$")
KEY_SCALES = ("major", "natural_minor")  # the keys a progression is read in


class ChordError(EncoreError):
    """A chord name or progression that is not one: says which and what would do."""


@dataclass(frozen=True)
class Chord:
    root: int  # pitch class
    tones: frozenset[int]  # pitch classes, the root among them
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Progression:
    chords: tuple[tuple[Chord, int], ...]  # (chord, bars), cycling

    @property
    def bars(self) -> int:
        return sum(bars for _, bars in self.chords)

    def at_bar(self, bar: int) -> Chord:
        """The chord of bar `bar` (0-based from where the progression began)."""
        bar %= self.bars
        for chord, length in self.chords:
            if bar < length:
                return chord
            bar -= length
        raise AssertionError("unreachable: bar < bars")

    def __str__(self) -> str:
        return " ".join(chord.name if bars == 1 else f"{chord.name}:{bars}" for chord, bars in self.chords)


def parse_chord(text: str) -> Chord:
    """'Am' -> A minor; 'F#m7', 'Bbmaj7', 'Csus4', 'G5', 'Edim', 'Caug', 'D7'."""
    match = _CHORD.match(text.strip())
    quality = match.group(3) if match else None
    if not match or quality not in QUALITIES:
        raise ChordError(
            f"chord {text!r}: expected a root (C, F#, Bb ...) and one of the qualities "
            f"{', '.join(q or '(none: major)' for q in QUALITIES)}, e.g. Am, F, G7, Cmaj7")
    letter, accidental = match.group(1).upper(), match.group(2)
    root = pitch_class(letter + accidental)
    tones = frozenset((root + interval) % 12 for interval in QUALITIES[quality])
    return Chord(root, tones, f"{letter}{accidental}{quality}")


def parse_progression(text: str) -> Progression:
    """'Am F C G' (a bar each) or 'Am:2 F:2' (bars each): a ChordError names what is wrong."""
    chords = []
    for word in text.replace(",", " ").split():
        name, _, bars = word.partition(":")
        if bars and not (bars.isdigit() and 1 <= int(bars) <= 64):
            raise ChordError(f"chord {word!r}: the bars after ':' are a whole number 1..64, not {bars!r}")
        chords.append((parse_chord(name), int(bars) if bars else 1))
    if not chords:
        raise ChordError("no chords: give them as 'Am F C G' (a bar each) or 'Am:2 F:2'")
    return Progression(tuple(chords))


def chord_of_pitches(pitches) -> Chord | None:
    """A chord held on a keyboard (two or more notes): the lowest note is its root."""
    pitches = sorted(set(pitches))
    if len(pitches) < 2:
        return None
    root = pitches[0] % 12
    tones = frozenset(p % 12 for p in pitches)
    quality = next((q for q, intervals in QUALITIES.items() if q not in ("maj", "min")
                    and frozenset((root + i) % 12 for i in intervals) == tones), None)
    name = NOTE_NAMES[root] + (quality if quality is not None else "(" + "".join(
        NOTE_NAMES[t] for t in sorted(tones - {root}, key=lambda t: (t - root) % 12)) + ")")
    return Chord(root, tones, name)


def key_of(progression: Progression) -> tuple[int, str]:
    """The major or minor key whose scale holds the most of the progression's tones (a
    chord that lasts longer counts more); a tie goes to the key of the first chord's root."""
    first = progression.chords[0][0]

    def score(key: tuple[int, str]):
        root, scale = key
        pcs = {(root + step) % 12 for step in SCALES[scale]}
        held = sum(bars * len(chord.tones & pcs) for chord, bars in progression.chords)
        minor = scale == "natural_minor"
        return held, root == first.root and (minor == (3 in {(t - first.root) % 12 for t in first.tones})), -root

    return max(((root, scale) for root in range(12) for scale in KEY_SCALES), key=score)


def key_name(key: tuple[int, str]) -> str:
    root, scale = key
    return f"{NOTE_NAMES[root]}:{'minor' if scale == 'natural_minor' else scale}"
