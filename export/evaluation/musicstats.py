"""What rendered music looks like beside the held-out tunes, in numbers.

Per set of notes: notes per second, pitch range (and its middle 90 %), the pitch-class
histogram (as written, and key-aligned: each piece rotated so its commonest pitch class
is 0, which compares melodies of any key) and the inter-onset-interval (IOI) histogram. Between two sets: the
total-variation distance
of each histogram (0 = the same shape, 1 = nothing in common). And the two failures a
listener notices at once: one note repeated over and over, and long silence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from live.core.wording import count

IOI_EDGES = np.array([0.0, 0.03, 0.06, 0.09, 0.125, 0.175, 0.25, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, np.inf])
LONG_SILENCE = 4.0  # seconds without a sounding note
REPEAT_RUN = 16  # the same pitch this many times in a row is a stuck melody


@dataclass
class MusicStats:
    notes: int
    seconds: float
    notes_per_second: float
    pitch_low: int
    pitch_high: int
    pitch_classes: np.ndarray  # 12, sums to 1
    aligned_pitch_classes: np.ndarray  # 12, sums to 1: each piece's commonest class at 0
    pitch_p5: float
    pitch_p95: float
    ioi: np.ndarray  # len(IOI_EDGES) - 1, sums to 1
    longest_silence: float
    longest_repeat: int

    @property
    def degenerate(self) -> list[str]:
        found = []
        if self.longest_silence > LONG_SILENCE:
            found.append(f"silence of {self.longest_silence:.2f} s")
        if self.longest_repeat >= REPEAT_RUN:
            found.append(f"one pitch {self.longest_repeat} times in a row")
        return found


def stats(pieces: list[np.ndarray]) -> MusicStats:
    """pieces: note arrays [n, 4] (pitch, start, end, velocity), each in its own time."""
    pitch_classes = np.zeros(12)
    aligned = np.zeros(12)
    all_pitches = []
    ioi = np.zeros(len(IOI_EDGES) - 1)
    notes = 0
    seconds = 0.0
    low, high = 127, 0
    silence, repeat = 0.0, 0
    for piece in pieces:
        if len(piece) == 0:
            continue
        piece = piece[np.lexsort((piece[:, 0], piece[:, 1]))]
        pitches = piece[:, 0].astype(int)
        notes += len(piece)
        seconds += float(piece[:, 2].max() - piece[:, 1].min())
        low, high = min(low, int(pitches.min())), max(high, int(pitches.max()))
        counts = np.bincount(pitches % 12, minlength=12)
        pitch_classes += counts
        aligned += np.roll(counts, -int(counts.argmax()))
        all_pitches.append(pitches)
        onsets = np.unique(np.round(piece[:, 1], 3))
        ioi += np.histogram(np.diff(onsets), bins=IOI_EDGES)[0]
        silence = max(silence, _longest_gap(piece))
        repeat = max(repeat, _longest_run(pitches))
    return MusicStats(
        notes=notes,
        seconds=seconds,
        notes_per_second=notes / seconds if seconds else 0.0,
        pitch_low=low,
        pitch_high=high,
        pitch_classes=pitch_classes / max(pitch_classes.sum(), 1),
        aligned_pitch_classes=aligned / max(aligned.sum(), 1),
        pitch_p5=float(np.percentile(np.concatenate(all_pitches), 5)) if all_pitches else 0.0,
        pitch_p95=float(np.percentile(np.concatenate(all_pitches), 95)) if all_pitches else 0.0,
        ioi=ioi / max(ioi.sum(), 1),
        longest_silence=silence,
        longest_repeat=repeat,
    )


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total variation distance between two histograms (each summing to 1)."""
    return float(0.5 * np.abs(a - b).sum())


def _longest_gap(piece: np.ndarray) -> float:
    """Longest time with nothing sounding, between the first onset and the last end."""
    order = np.argsort(piece[:, 1])
    sounding_until = piece[order[0], 2]
    gap = 0.0
    for index in order[1:]:
        start, end = piece[index, 1], piece[index, 2]
        gap = max(gap, start - sounding_until)
        sounding_until = max(sounding_until, end)
    return float(gap)


def _longest_run(pitches: np.ndarray) -> int:
    longest = run = 1
    for a, b in zip(pitches, pitches[1:]):
        run = run + 1 if a == b else 1
        longest = max(longest, run)
    return longest if len(pitches) else 0


def describe(name: str, s: MusicStats) -> str:
    return (f"{name}: {count(s.notes, 'note')} in {s.seconds:.0f} s = {s.notes_per_second:.2f} notes/s, "
            f"pitch {s.pitch_low}..{s.pitch_high} (90 % in {s.pitch_p5:.0f}..{s.pitch_p95:.0f}), "
            f"longest silence {s.longest_silence:.2f} s, "
            f"longest repeat {s.longest_repeat}")


def compare(model_path, corpus_path, split: str = "test", minutes: float = 3.0,
            temperature: float = 1.0, seed: int = 0, renders: int = 1) -> dict:
    """Render `minutes` of music (a minute per embedded primer, in turn) `renders` times
    with fresh random seeds, and set the figures of it all beside the corpus split's.

    One render is one sample: two files of the same model fork at the first draw that
    falls either side of a boundary. With several, each figure also comes as its range
    over the renders, which says how far a difference between two models is only luck."""
    from live.model import load_model

    from export.corpus.building import load_corpus

    model = load_model(model_path)
    held_out = stats([p.notes for p in load_corpus(corpus_path).split(split)])
    segments = max(1, int(round(minutes)))
    each = [_render_pieces(model, minutes, segments, temperature, seed + r * segments)
            for r in range(renders)]
    ours = stats([piece for pieces in each for piece in pieces])
    figures = {
        "model": str(model_path),
        "renders": renders,
        "rendered": _as_dict(ours),
        split: _as_dict(held_out),
        **_distances(ours, held_out),
        "degenerate": ours.degenerate,
    }
    if renders > 1:
        per_render = [stats(pieces) for pieces in each]
        rows = [{"notes_per_second": s.notes_per_second, **_distances(s, held_out)} for s in per_render]
        figures["spread"] = {key: [min(r[key] for r in rows), max(r[key] for r in rows)] for key in rows[0]}
    return figures


def _render_pieces(model, minutes: float, segments: int, temperature: float, first_seed: int):
    """`segments` renders of minutes/segments each, primer by primer, seeds counting up."""
    from live.core.controls import Controls
    from live.core.generator import Generator
    from live.core.render import render
    from live.files.primers import closed

    primers = model.info.primers or [[]]
    pieces = []
    for index in range(segments):
        generator = Generator(model, Controls(temperature=temperature), seed=first_seed + index)
        generator.prime(closed(list(primers[index % len(primers)])))
        result = render(generator, seconds=60.0 * minutes / segments)
        pieces.append(np.array([[n.pitch, n.start, n.end, n.velocity] for n in result.notes], float)
                      .reshape(-1, 4))
    return pieces


def _distances(ours: MusicStats, theirs: MusicStats) -> dict:
    return {
        "pitch_class_distance": distance(ours.pitch_classes, theirs.pitch_classes),
        "aligned_pitch_class_distance": distance(ours.aligned_pitch_classes, theirs.aligned_pitch_classes),
        "ioi_distance": distance(ours.ioi, theirs.ioi),
    }


def _as_dict(s: MusicStats) -> dict:
    return {"notes": s.notes, "seconds": round(s.seconds, 1), "notes_per_second": round(s.notes_per_second, 3),
            "pitch_range": [s.pitch_low, s.pitch_high], "pitch_p5_p95": [s.pitch_p5, s.pitch_p95],
            "pitch_classes": [round(x, 4) for x in s.pitch_classes],
            "aligned_pitch_classes": [round(x, 4) for x in s.aligned_pitch_classes],
            "longest_silence": round(s.longest_silence, 2),
            "longest_repeat": s.longest_repeat}
