"""What rendered music looks like beside the held-out tunes, in numbers.

Per set of notes: notes per second, pitch range (and its middle 90 %), the pitch-class
histogram (as written, and key-aligned: each piece rotated so its commonest pitch class
is 0, which compares melodies of any key) and the inter-onset-interval (IOI) histogram. Between two sets: the
total-variation distance
of each histogram (0 = the same shape, 1 = nothing in common). And the two failures a
listener notices at once: one note repeated over and over, and long silence.

Where the music has a beat grid, how it sits on it (beatstats): the share of onsets on
the 16th grid and of bars repeating an earlier bar; and, grid or not, the share of notes
in each piece's key. A grid comes from a beat corpus or beat model (125 BPM from time 0)
or a MIDI file's own tempo map; a seconds corpus or model has none ("n/a").

What is measured beside a render (or alone): a corpus .npz split, a .mid file, or a
folder of them (each file's melody, as `corpus build` reads it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from live.core import vocab
from live.core.wording import count

from export.errors import CorpusError
from export.evaluation.beatstats import (
    GRID_TOLERANCE_MS,
    BeatGrid,
    Share,
    bar_repeat_share,
    grid_share,
    key_share,
)

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
    on_grid: Share = field(default_factory=Share)  # onsets on the 16th grid, of those with a grid
    bar_repeats: Share = field(default_factory=Share)  # bars repeating an earlier bar, the same
    in_key: Share = field(default_factory=Share)  # notes in their piece's key

    @property
    def degenerate(self) -> list[str]:
        found = []
        if self.longest_silence > LONG_SILENCE:
            found.append(f"silence of {self.longest_silence:.2f} s")
        if self.longest_repeat >= REPEAT_RUN:
            found.append(f"one pitch {self.longest_repeat} times in a row")
        return found


def stats(pieces: list[np.ndarray], grids: list[BeatGrid | None] | None = None) -> MusicStats:
    """pieces: note arrays [n, 4] (pitch, start, end, velocity), each in its own time;
    grids: each piece's beat grid, or None where it has none (None: no piece has one)."""
    grids = grids if grids is not None else [None] * len(pieces)
    on_grid = bar_repeats = in_key = Share()
    pitch_classes = np.zeros(12)
    aligned = np.zeros(12)
    all_pitches = []
    ioi = np.zeros(len(IOI_EDGES) - 1)
    notes = 0
    seconds = 0.0
    low, high = 127, 0
    silence, repeat = 0.0, 0
    for piece, grid in zip(pieces, grids):
        if len(piece) == 0:
            continue
        in_key += key_share(piece)
        if grid is not None:
            on_grid += grid_share(piece, grid)
            bar_repeats += bar_repeat_share(piece, grid)
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
        on_grid=on_grid,
        bar_repeats=bar_repeats,
        in_key=in_key,
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


# ---------------------------------------------------------------- what is measured


@dataclass
class Source:
    """Music to measure: its pieces, each one's beat grid, and the files it could not read."""

    name: str  # the key of its figures: the corpus split, or "files"
    pieces: list[np.ndarray]
    grids: list[BeatGrid | None]
    skipped: list[str] = field(default_factory=list)


def read_source(path: str | Path, split: str = "test") -> Source:
    """A corpus .npz (its split), a .mid file or a folder of them (every file)."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"{path}: no such file or folder; give a corpus .npz, a .mid file or a folder of them")
    if path.suffix.lower() == ".onnx":
        raise CorpusError(f"{path} is a model; give the music to measure (beside it): a corpus .npz, "
                          "a .mid file or a folder of them")
    if path.suffix.lower() == ".npz":
        from export.corpus.building import load_corpus

        corpus = load_corpus(path)
        # A beat corpus holds beats x 0.48 s from each piece's first bar line.
        grid = BeatGrid.steady() if corpus.provenance.get("time") == "beats" else None
        pieces = [p.notes for p in corpus.split(split)]
        return Source(split, pieces, [grid] * len(pieces))
    return _midi_source(path)


def _midi_source(path: Path) -> Source:
    from live.files.melody import melody_notes
    from live.files.midifile import read_midi
    from live.files.midiscan import ScanReport, find_midi_files, process_each

    from export.corpus.building import notes_to_array

    def read(file: Path):
        # The melody as `corpus build` takes it (skyline on), on the file's own grid.
        return notes_to_array(melody_notes(read_midi(file), skyline=True)), midi_grid(file)

    report = ScanReport()
    read_files = [result for _, result in process_each(find_midi_files([path]), read, report)]
    skipped = [str(err) for err in report.skipped]
    if not read_files:
        first = f" (first: {skipped[0]})" if skipped else ""
        raise CorpusError(f"{path}: no MIDI file with notes could be read{first}; "
                          "give a .mid file, a folder of them or a corpus .npz")
    return Source("files", [notes for notes, _ in read_files], [grid for _, grid in read_files], skipped)


def midi_grid(path: str | Path) -> BeatGrid | None:
    """The 16th grid of a MIDI file from tick 0: its ticks per beat and tempo changes (any
    track), through mido. None for SMPTE time, which counts frames, not beats."""
    import mido

    midi = mido.MidiFile(path, clip=True)
    if midi.ticks_per_beat <= 0:
        return None
    changes = []
    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo" and msg.tempo > 0:
                changes.append((tick, msg.tempo))
    return BeatGrid.from_midi_tempos(midi.ticks_per_beat, changes)


def model_grid(model) -> BeatGrid | None:
    """A beat model's render keeps its steps at the reference length (10 ms), so its beat
    is steps_per_beat steps from the render's start; a seconds model has no grid."""
    if model.info.time != "beats" or not model.info.steps_per_beat:
        return None
    return BeatGrid.steady(model.info.steps_per_beat * vocab.STEP_SECONDS)


# ---------------------------------------------------------------- renders beside it


def compare(model_path, corpus_path, split: str = "test", minutes: float = 3.0,
            temperature: float = 1.0, seed: int = 0, renders: int = 1, grid_control: str = "1/16",
            loop: int = 0, variation: int = 25, chords: str | None = None, harmony: int = 60) -> dict:
    """The figures of corpus_path (a corpus split, a .mid file or a folder of them) and,
    with a model, of `minutes` of its music (a minute per embedded primer, in turn)
    rendered `renders` times with fresh random seeds, set beside them.

    One render is one sample: two files of the same model fork at the first draw that
    falls either side of a boundary. With several, each figure also comes as its range
    over the renders, which says how far a difference between two models is only luck.
    loop (bars, a beat model's) renders with a loop of that length at `variation` %;
    chords (a progression) with the harmony control at `harmony` %, and adds how many of
    the notes on beats 1 and 3 are the chord's tones and how many notes are in its key."""
    source = read_source(corpus_path, split)
    held_out = stats(source.pieces, source.grids)
    figures: dict = {"source": str(corpus_path), "reference": source.name}
    if source.skipped:
        figures["skipped"] = source.skipped
    if model_path is None:
        figures[source.name] = _as_dict(held_out)
        return figures

    from live.model import load_model

    model = load_model(model_path)
    grid = model_grid(model)
    segments = max(1, int(round(minutes)))
    if loop and grid is None:
        from live.core.errors import EncoreError

        raise EncoreError(f"--loop needs a beat model: {model_path} plays in seconds, without bars")
    progression = None
    if chords:
        from live.core.chords import parse_progression

        if grid is None:
            from live.core.errors import EncoreError

            raise EncoreError(f"--chords needs a beat model: {model_path} plays in seconds, without bars")
        progression = parse_progression(chords)
    each = [_render_pieces(model, minutes, segments, temperature, seed + r * segments, grid_control,
                           loop, variation, progression, harmony)
            for r in range(renders)]
    pooled = [piece for pieces in each for piece in pieces]
    ours = stats(pooled, [grid] * len(pooled))
    figures.update({
        "model": str(model_path),
        "renders": renders,
        "minutes": minutes,
        "random_seed": seed,
        "grid_control": grid_control,
        **({"loop_bars": loop, "variation": variation} if loop else {}),
        "rendered": _as_dict(ours),
        source.name: _as_dict(held_out),
        **_distances(ours, held_out),
        "degenerate": ours.degenerate,
    })
    if progression is not None:
        figures.update({"chords": str(progression), "harmony": harmony, **chord_shares(pooled, progression)})
    if renders > 1:
        per_render = [stats(pieces, [grid] * len(pieces)) for pieces in each]
        rows = [{"notes_per_second": s.notes_per_second, **_distances(s, held_out), **_shares(s)}
                for s in per_render]
        keys = [key for key in rows[0] if all(r[key] is not None for r in rows)]
        figures["spread"] = {key: [min(r[key] for r in rows), max(r[key] for r in rows)] for key in keys}
    return figures


def _render_pieces(model, minutes: float, segments: int, temperature: float, first_seed: int,
                   grid_control: str = "1/16", loop: int = 0, variation: int = 25, progression=None,
                   harmony: int = 60):
    """`segments` renders of minutes/segments each, primer by primer, seeds counting up."""
    from live.core.controls import Controls
    from live.core.generator import Generator
    from live.core.render import render
    from live.files.primers import closed

    primers = model.info.primers or [[]]
    pieces = []
    for index in range(segments):
        controls = Controls(temperature=temperature, grid=grid_control, variation=variation, harmony=harmony)
        generator = Generator(model, controls, seed=first_seed + index)
        generator.prime(closed(list(primers[index % len(primers)])))
        if loop:
            generator.begin_loop(loop)
        if progression is not None:
            from live.core.harmony import Harmony

            generator.harmony = Harmony.of(progression, generator.performer.step)
        result = render(generator, seconds=60.0 * minutes / segments)
        pieces.append(np.array([[n.pitch, n.start, n.end, n.velocity] for n in result.notes], float)
                      .reshape(-1, 4))
    return pieces


def chord_shares(pieces: list[np.ndarray], progression) -> dict:
    """Of renders that began on bar 1 of `progression` (times in performance seconds from 0):
    the share of note-ons on beats 1 and 3 that are the chord's tones, and of all notes in the
    progression's key."""
    from live.core.chords import key_of
    from live.core.harmony import STRONG_STEPS, Harmony, _key_tones

    harmony = Harmony.of(progression, 0)
    key = _key_tones(key_of(progression))
    strong = tones = inkey = total = 0
    for piece in pieces:
        for pitch, start, _, _ in piece:
            step = int(round(start / vocab.STEP_SECONDS))
            total += 1
            inkey += int(pitch) % 12 in key
            if step % STRONG_STEPS == 0:
                strong += 1
                tones += int(pitch) % 12 in harmony.chord_at(step).tones
    return {"chord_tones_on_beats_1_and_3": tones / strong if strong else None,
            "notes_on_beats_1_and_3": strong, "in_chords_key": inkey / total if total else None}


def _distances(ours: MusicStats, theirs: MusicStats) -> dict:
    return {
        "pitch_class_distance": distance(ours.pitch_classes, theirs.pitch_classes),
        "aligned_pitch_class_distance": distance(ours.aligned_pitch_classes, theirs.aligned_pitch_classes),
        "ioi_distance": distance(ours.ioi, theirs.ioi),
    }


def _shares(s: MusicStats) -> dict:
    """The beat figures, each None where it has nothing to count (no grid, no notes)."""
    return {"grid_share": s.on_grid.value, "bar_repeat_share": s.bar_repeats.value, "key_share": s.in_key.value}


def _as_dict(s: MusicStats) -> dict:
    return {"notes": s.notes, "seconds": round(s.seconds, 1), "notes_per_second": round(s.notes_per_second, 3),
            "pitch_range": [s.pitch_low, s.pitch_high], "pitch_p5_p95": [s.pitch_p5, s.pitch_p95],
            "pitch_classes": [round(x, 4) for x in s.pitch_classes],
            "aligned_pitch_classes": [round(x, 4) for x in s.aligned_pitch_classes],
            "longest_silence": round(s.longest_silence, 2),
            "longest_repeat": s.longest_repeat,
            **{key: None if value is None else round(value, 4) for key, value in _shares(s).items()},
            "grid_tolerance_ms": GRID_TOLERANCE_MS}


# ---------------------------------------------------------------- in words

BEAT_FIGURES = (  # key, what it counts (the output line's label)
    ("grid_share", f"on the 16th grid (onsets within {GRID_TOLERANCE_MS:g} ms)"),
    ("bar_repeat_share", "bar repeats (bars equal to the bar 1, 2 or 4 before)"),
    ("key_share", "in key (notes in the major/minor scale holding most of them)"),
)


def format_figures(figures: dict) -> str:
    """compare()'s figures as lines: one per set of music, then one per beat figure with
    every set beside the other, the distances, the spread over renders, what went wrong."""
    reference = figures["reference"]
    sets = (["rendered"] if "rendered" in figures else []) + [reference]
    lines = [_describe(name, figures[name]) for name in sets]
    if "skipped" in figures:
        skipped = figures["skipped"]
        lines.append(f"skipped {count(len(skipped), 'file')} (first: {skipped[0]})")
    spread = figures.get("spread", {})
    for key, label in BEAT_FIGURES:
        shown = []
        for name in sets:
            text = f"{name} {_percent(figures[name][key])}"
            if name == "rendered" and key in spread:
                low, high = spread[key]
                text += f" ({100 * low:.1f}..{100 * high:.1f} over {figures['renders']} renders)"
            shown.append(text)
        lines.append(f"{label}: " + ", ".join(shown))
    if "rendered" not in figures:
        return "\n".join(lines)
    if "chords" in figures:
        lines.append(f"chords {figures['chords']} at harmony {figures['harmony']} %: "
                     f"{_percent(figures['chord_tones_on_beats_1_and_3'])} of the "
                     f"{figures['notes_on_beats_1_and_3']} notes on beats 1 and 3 are the chord's tones "
                     f"(a triad is 25 % of the pitch classes), {_percent(figures['in_chords_key'])} of all notes "
                     "in the chords' key")
    lines.append(f"distance to {reference} (0 = same, 1 = disjoint): pitch classes "
                 f"{figures['pitch_class_distance']:.3f} (key-aligned {figures['aligned_pitch_class_distance']:.3f}), "
                 f"inter-onset intervals {figures['ioi_distance']:.3f}")
    if spread:

        def span(key: str, digits: int) -> str:
            low, high = spread[key]
            return f"{low:.{digits}f}..{high:.{digits}f}"

        lines.append(f"over {figures['renders']} renders of {figures['minutes']:g} min (random seeds "
                     f"{figures['random_seed']} up): notes/s {span('notes_per_second', 2)}, pitch classes "
                     f"{span('pitch_class_distance', 3)} (key-aligned {span('aligned_pitch_class_distance', 3)}), "
                     f"inter-onset intervals {span('ioi_distance', 3)}")
    lines.append("degenerate: " + (", ".join(figures["degenerate"]) or "none"))
    return "\n".join(lines)


def _describe(name: str, f: dict) -> str:
    return (f"{name:>9}: {count(f['notes'], 'note')} in {f['seconds']:.0f} s = {f['notes_per_second']:.2f} notes/s, "
            f"pitch {f['pitch_range'][0]}..{f['pitch_range'][1]} (90 % in {f['pitch_p5_p95'][0]:.0f}.."
            f"{f['pitch_p5_p95'][1]:.0f}), longest silence {f['longest_silence']:.2f} s, "
            f"longest repeat {f['longest_repeat']}")


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.1f} %"
