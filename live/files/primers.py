"""Primers: the events that set the model's state before it plays (they are not played).

From the model's own embedded primers, from a MIDI file's melody, from notes typed on
the command line, or from silence (no primer at all).
"""

from __future__ import annotations

import math
import re

import numpy as np

from live.core import codec, vocab
from live.core.errors import EncoreError
from live.files.melody import melody_notes
from live.files.midifile import read_midi
from live.core.bars import bar_aligned, last_bars, meter_bar_beats
from live.model import Model
from live.core.notes import Note
from live.core.scales import note_number

MAX_PRIMER_EVENTS = 512


class SeedError(EncoreError):
    """A seed that cannot be used: says which and why."""


def embedded_primer(model: Model, number: int | None, rng: np.random.Generator) -> tuple[int, list[int]]:
    """(number, events) of one of the model's primers: the given one, or one drawn by rng.
    Numbers count from 1, as a musician counts them (`--primer 1` is the first)."""
    primers = model.info.primers
    if not primers:
        raise SeedError(
            f"{model.info.path}: the model has no embedded primers; "
            "seed with --seed-file, --seed-notes or --silence"
        )
    if number is None:
        number = int(rng.integers(len(primers))) + 1
    elif not 1 <= number <= len(primers):
        raise SeedError(f"primer {number} does not exist; the model has primers 1..{len(primers)}")
    return number, closed(list(primers[number - 1]))


def primer_from_midi(path, max_events: int = MAX_PRIMER_EVENTS, beats: bool = False) -> list[int]:
    """The end of a file's melody: the last max_events events, cut at an onset; for a
    beat model, its last whole bars (read in beats from the file's ticks)."""
    song = read_midi(path, beats=beats)
    notes = melody_notes(song)
    if not beats:
        return closed(tail_from_onset(codec.encode(notes), max_events))
    notes = bar_aligned(notes, meter_bar_beats("{}/{}".format(*song.time_signature)))
    bar = vocab.STEPS_PER_BAR * vocab.STEP_SECONDS
    until = math.ceil(max((n.end for n in notes), default=0.0) / bar - 1e-9) * bar
    return closed(last_bars(codec.encode(notes, origin=0.0, until=until), max_events))


def primer_from_notes(text: str, bpm: float = 120.0, beats: bool = False) -> list[int]:
    """'C4 E4 G4 C5' or '60 64 67 72': a phrase of eighth notes at bpm (a beat model's
    eighths are beats, whatever the tempo)."""
    pitches = [parse_pitch(token) for token in re.split(r"[\s,]+", text.strip()) if token]
    if not pitches:
        raise SeedError(f"seed notes {text!r}: no notes given; e.g. 'C4 E4 G4' or '60 64 67'")
    eighth = vocab.REFERENCE_BEAT_SECONDS / 2 if beats else 30.0 / bpm
    notes = [Note(p, i * eighth, (i + 0.9) * eighth, 80) for i, p in enumerate(pitches)]
    return codec.encode(notes)


def parse_pitch(token: str) -> int:
    # isascii: "²" is a digit to str.isdigit, not to int()
    number = token.lstrip("-")
    pitch = int(token) if number.isascii() and number.isdigit() and len(number) < 100 else note_number(token)
    if pitch is None:
        raise SeedError(f"seed note {token!r} is not a note; use names like C4, F#3, Bb5 or numbers 0..127")
    if not 0 <= pitch <= 127:
        raise SeedError(f"seed note {token!r} is pitch {pitch}, outside 0..127")
    return pitch


def tail_from_onset(events: list[int], max_events: int) -> list[int]:
    """The last max_events events, starting at a VELOCITY or NOTE_ON so the cut is clean."""
    if len(events) <= max_events:
        return list(events)
    tail = events[-max_events:]
    for i, event in enumerate(tail):
        if vocab.is_velocity(event) or vocab.is_note_on(event):
            return tail[i:]
    return tail


def closed(events: list[int]) -> list[int]:
    """Append note-offs for notes the primer leaves sounding: the performer starts silent,
    so the model should not believe otherwise."""
    decoder = codec.StreamDecoder(max_note_seconds=None)
    for event in events:
        decoder.feed(event)
    return list(events) + [vocab.note_off(p) for p in sorted(decoder.sounding)]
