"""Melody extraction: which part of a song is its tune (the study picked it by hand).

A part named like a lead (lead, melody, vocal, ...) wins if there is one. Otherwise
every pitched part is scored on what makes a line a melody rather than bass, pads
or chords: it plays one note at a time, sits high, has many notes and runs through
much of the song. Skyline reduction can then squeeze the chosen part to one voice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from live.core.wording import count
from live.core.errors import MidiFileError
from live.files.midifile import Part, Song
from live.core.notes import Note, sort_notes

LEAD_NAME = re.compile(
    r"lead|melod|vocal|\bvox\b|voice|sing|solo|theme|top ?line|hook|\btune\b", re.IGNORECASE
)

# Weights of the score's terms; monophony matters most, since bass lines are
# monophonic too, height separates them.
WEIGHTS = {"monophony": 0.40, "height": 0.25, "notes": 0.20, "coverage": 0.15}
LOW_PITCH, HIGH_PITCH = 36, 84  # mean pitch mapped to 0..1 between C2 and C6
ONSET_TOLERANCE = 0.005  # onsets closer than this are one chord for the skyline


@dataclass
class PartScore:
    part: Part
    named: bool
    monophony: float  # share of sounding time with exactly one note
    mean_pitch: float
    notes: int
    coverage: float  # share of the song's length during which the part sounds
    score: float = 0.0


@dataclass
class MelodyChoice:
    part: Part
    reason: str
    scores: list[PartScore]


def score_parts(song: Song) -> list[PartScore]:
    parts = song.pitched_parts()
    length = max([song.duration] + [n.end for p in parts for n in p.notes]) or 1.0
    scores = []
    for part in parts:
        sounding, single = _sounding_time(part.notes)
        scores.append(
            PartScore(
                part=part,
                named=bool(LEAD_NAME.search(part.name)),
                monophony=single / sounding if sounding else 0.0,
                mean_pitch=sum(n.pitch for n in part.notes) / len(part.notes),
                notes=len(part.notes),
                coverage=sounding / length,
            )
        )
    most_notes = max((s.notes for s in scores), default=1)
    most_coverage = max((s.coverage for s in scores), default=1.0) or 1.0
    for s in scores:
        height = (s.mean_pitch - LOW_PITCH) / (HIGH_PITCH - LOW_PITCH)
        s.score = (
            WEIGHTS["monophony"] * s.monophony
            + WEIGHTS["height"] * min(1.0, max(0.0, height))
            + WEIGHTS["notes"] * s.notes / most_notes
            + WEIGHTS["coverage"] * s.coverage / most_coverage
        )
    return scores


def choose_melody(song: Song) -> MelodyChoice:
    """The melody part and why; a song with no pitched notes is a MidiFileError."""
    scores = score_parts(song)
    if not scores:
        raise MidiFileError(
            song.path or "song", "has no pitched notes (only drums, or empty)"
        )
    named = [s for s in scores if s.named]
    if named:
        best = max(named, key=lambda s: s.score)
        reason = f"its name '{best.part.name}' marks a lead"
        if len(named) > 1:
            reason += f" (best scored of {len(named)} such parts)"
    else:
        best = max(scores, key=lambda s: s.score)
        reason = (
            "no part is named like a lead; highest score "
            f"({best.monophony:.0%} monophonic, mean pitch {best.mean_pitch:.0f}, "
            f"{count(best.notes, 'note')})"
        )
    return MelodyChoice(best.part, reason, scores)


def melody_notes(song: Song, skyline: bool = False) -> list[Note]:
    notes = choose_melody(song).part.notes
    return skyline_notes(notes) if skyline else list(notes)


def all_pitched_notes(song: Song) -> list[Note]:
    """Every non-drum note of the song, merged into one part."""
    notes = [n for p in song.pitched_parts() for n in p.notes]
    if not notes:
        raise MidiFileError(
            song.path or "song", "has no pitched notes (only drums, or empty)"
        )
    return sort_notes(notes)


def skyline_notes(notes: list[Note]) -> list[Note]:
    """Reduce to one voice: the highest note of each onset, unless a higher kept note
    still sounds; each kept note ends at the next kept onset at the latest."""
    kept: list[Note] = []
    for n in sorted(notes, key=lambda n: (n.start, -n.pitch)):
        if kept:
            last = kept[-1]
            if n.start - last.start < ONSET_TOLERANCE:
                continue  # a lower note of the same chord
            if last.end > n.start and last.pitch > n.pitch:
                continue  # under a higher note still sounding
        kept.append(n)
    return [
        Note(n.pitch, n.start, min(n.end, following.start), n.velocity)
        if following is not None
        else n
        for n, following in zip(kept, kept[1:] + [None])
    ]


def _sounding_time(notes: list[Note]) -> tuple[float, float]:
    """(seconds with at least one note sounding, seconds with exactly one)."""
    edges = sorted([(n.start, 1) for n in notes] + [(n.end, -1) for n in notes])
    sounding = single = 0.0
    count, previous = 0, None
    for time, delta in edges:
        if previous is not None and count > 0:
            sounding += time - previous
            if count == 1:
                single += time - previous
        count += delta
        previous = time
    return sounding, single
