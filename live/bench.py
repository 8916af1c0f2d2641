"""`encore bench`: figures, not pass/fail. Each section times one path of the instrument."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from live import codec
from live.midifile import Part, read_midi, write_midi
from live.notes import Note


def random_song_notes(count: int, seed: int = 1) -> list[Note]:
    """A busy, realistic-looking part: chords and runs, overlaps, varied velocity."""
    rng = random.Random(seed)
    notes, now = [], 0.0
    while len(notes) < count:
        now += rng.choice([0.0, 0.0, 0.06, 0.125, 0.25, 0.5, 1.7])
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            length = rng.choice([0.003, 0.1, 0.25, 0.5, 2.0])
            notes.append(Note(rng.randrange(36, 96), now, now + length, rng.randrange(20, 127)))
    return notes[:count]


def _best_of(repeats: int, work) -> float:
    """The fastest of a few runs: the figure least disturbed by a shared machine."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_codec(notes_count: int = 10_000, repeats: int = 5) -> dict:
    notes = random_song_notes(notes_count)
    events = codec.encode(notes)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.mid"
        write_midi(path, [Part("bench", 0, notes=notes)])
        read_s = _best_of(repeats, lambda: read_midi(path))
        write_s = _best_of(repeats, lambda: write_midi(path, [Part("bench", 0, notes=notes)]))
    encode_s = _best_of(repeats, lambda: codec.encode(notes))
    decode_s = _best_of(repeats, lambda: codec.decode(events))
    return {
        "notes": notes_count,
        "events": len(events),
        "encode_ms": encode_s * 1e3,
        "decode_ms": decode_s * 1e3,
        "encode_decode_ms": (encode_s + decode_s) * 1e3,
        "read_midi_ms": read_s * 1e3,
        "write_midi_ms": write_s * 1e3,
    }


def format_codec(figures: dict) -> str:
    return (
        f"codec, {figures['notes']:,} notes -> {figures['events']:,} events (best of runs):\n"
        f"  encode {figures['encode_ms']:.1f} ms, decode {figures['decode_ms']:.1f} ms, "
        f"encode + decode {figures['encode_decode_ms']:.1f} ms\n"
        f"  read .mid {figures['read_midi_ms']:.1f} ms, write .mid {figures['write_midi_ms']:.1f} ms"
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
