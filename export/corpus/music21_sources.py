"""Melodies from the score collections bundled with music21 (the `corpus` extra).

A score says which note falls where in the bar and how loud a passage is meant to be,
but not how hard each key is struck or how fast to play. encore derives both:

Velocity (never one constant), as a player phrases a dance tune:
  base from the dynamic marking in force (ppp 28, pp 40, p 54, mp 68, mf 80, f 96,
  ff 108, fff 118; mf when the score has none), plus a metrical accent from
  music21's beatStrength:
      downbeat (strength 1.0)                   +16
      other strong beats (>= 0.5, e.g. beat 3)   +8
      weak beats (>= 0.25, e.g. beats 2 and 4)    0
      offbeats (< 0.25)                          -10
  plus 10 for a note with an accent or marcato mark; clamped to 1..127.

Time in beats (the default, for beat models): a note's quarter-note offset x 0.48 s (the
reference 125 BPM), from the bar line of its first bar (a pickup keeps its rest), tempo
marks ignored: the grid is the score's, exactly.
Time in seconds (--time seconds, the first models'): the score's own MetronomeMarks where
it has them (every change followed); otherwise one BPM per piece, drawn from the --bpm
range with the corpus seed and the piece's name, so a rebuild gives the same tempo.

The melody: the soprano part for Bach chorales (by name, else the first part), the
first part elsewhere; ties merged, repeats expanded when music21 can, grace notes
dropped, a chord reduced to its top note. music21:bachBass takes the bass part instead
(by name, else the last part), a chord reduced to its lowest note: lines for a bass voice.
"""

from __future__ import annotations

import bisect
import hashlib
from functools import partial
from pathlib import Path
from typing import Callable, NamedTuple

from live.core.errors import EncoreError
from live.signals import TimeLimit, time_limit
from live.files.midiscan import ScanReport, process_each
from live.core.notes import Note
from live.core.vocab import REFERENCE_BEAT_SECONDS

from export.corpus.building import Piece, SourcePieces, usable_melody
from export.corpus.workers import ordered_map
from export.errors import CorpusError, MissingExtraError

MAX_REPEAT_GROWTH = 4  # repeats may make a tune at most this many times longer

DYNAMIC_VELOCITY = {"ppp": 28, "pp": 40, "p": 54, "mp": 68, "mf": 80, "f": 96, "ff": 108, "fff": 118}
DEFAULT_DYNAMIC = "mf"
ACCENT_MARK_BONUS = 10

COLLECTIONS = {
    "oneills1850": "O'Neill's Music of Ireland (1850 tunes, published 1903): public domain",
    "airdsAirs": "Aird's Selection of Scotch, English, Irish and Foreign Airs (1782-1797): public domain",
    "ryansMammoth": "Ryan's Mammoth Collection (1883): public domain",
    "essenFolksong": (
        "Essen Folksong Collection: distributed with music21 by permission for "
        "non-commercial research use only; do not ship models trained on it"
    ),
    "bach": "J. S. Bach chorales, soprano line (music21 corpus encodings; the music is public domain)",
    "bachBass": "J. S. Bach chorales, bass line (music21 corpus encodings; the music is public domain)",
}
# The line a collection takes from each score: its soprano (melodies) or its bass.
VOICES = {"bachBass": "bass"}


# ---------------------------------------------------------------- the pure rules


def metrical_accent(beat_strength: float) -> int:
    if beat_strength >= 1.0:
        return 16
    if beat_strength >= 0.5:
        return 8
    if beat_strength >= 0.25:
        return 0
    return -10


def note_velocity(beat_strength: float, dynamic: str | None, accented: bool = False) -> int:
    """The velocity rule of the module docstring."""
    base = DYNAMIC_VELOCITY.get(dynamic or DEFAULT_DYNAMIC, DYNAMIC_VELOCITY[DEFAULT_DYNAMIC])
    velocity = base + metrical_accent(beat_strength) + (ACCENT_MARK_BONUS if accented else 0)
    return min(127, max(1, velocity))


def seconds_at(marks: list[tuple[float, float]], default_bpm: float) -> Callable[[float], float]:
    """Quarter-note offsets -> seconds under tempo marks [(offset, quarter BPM)]; before
    the first mark its tempo holds (a pickup bar), with no marks default_bpm."""
    marks = sorted(marks) or [(0.0, default_bpm)]
    starts, bpms, elapsed = [], [], []
    seconds = 0.0
    for i, (offset, bpm) in enumerate(marks):
        if i:
            seconds += (offset - starts[-1]) * 60.0 / bpms[-1]
        starts.append(0.0 if i == 0 else offset)
        bpms.append(bpm)
        elapsed.append(seconds)

    def to_seconds(offset: float) -> float:
        i = max(0, bisect.bisect_right(starts, offset) - 1)
        return elapsed[i] + (offset - starts[i]) * 60.0 / bpms[i]

    return to_seconds


def piece_bpm(name: str, seed: int, bpm: tuple[float, float]) -> float:
    """A BPM drawn uniformly from the range, fixed by the seed and the piece's name."""
    low, high = bpm
    fraction = int(hashlib.sha256(f"{seed}:{name}".encode("utf-8", "surrogateescape")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return round(low + (high - low) * fraction, 1)


# ---------------------------------------------------------------- music21 I/O


class TuneSpec(NamedTuple):
    """One score to parse: a whole file, or tune number `number` (X:) of an ABC book.
    Plain data, so worker processes can take it."""

    label: str
    path: Path
    number: int | None = None
    voice: str = "soprano"


def check_collection(name: str) -> None:
    """A CorpusError unless `name` is a collection encore reads (and music21 is there to
    read it): before a build starts, not minutes into it."""
    import importlib.util

    if name not in COLLECTIONS:
        raise CorpusError(
            f"music21:{name} is not a known collection; choose one of "
            + ", ".join(f"music21:{c}" for c in COLLECTIONS)
        )
    if importlib.util.find_spec("music21") is None:
        raise MissingExtraError("music21", "corpus", "encore corpus build music21:...")


def read_collection(
    name: str,
    seed: int = 0,
    bpm: tuple[float, float] = (120.0, 120.0),
    limit: int | None = None,
    progress: Callable | None = None,
    jobs: int = 1,
    time: str = "seconds",
) -> SourcePieces:
    """Every tune of one music21 collection (the first `limit` of them) as pieces,
    parsed in `jobs` processes (music21 is slow: Ryan's 1,059 tunes take minutes)."""
    check_collection(name)
    music21 = _import_music21()
    tunes = _list_tunes(music21, name, limit)
    report = ScanReport()
    advance = progress(f"parsing music21:{name}", len(tunes), 0) if progress else None
    parse = partial(melody_or_error, seed=seed, bpm=bpm, time=time)

    def unwrap(result):
        _, notes, _, error = result
        if advance:
            advance(len(report.skipped) + (error is not None))
        if error is not None:
            raise EncoreError(error)
        return notes

    try:
        with ordered_map(jobs) as mapped:
            results = list(process_each(mapped(parse, tunes, _lost_tune), unwrap, report))
    finally:
        _BOOKS.clear()
    pieces = [Piece(result[0], f"music21:{name}", notes, meter=result[2], time=time) for result, notes in results]
    return SourcePieces(f"music21:{name}", "music21", COLLECTIONS[name], pieces, report)


def _lost_tune(tune: TuneSpec):
    return (tune.label, None, "",
            f"{tune.label}: the process reading it died, twice (out of memory, or a crash); skipped")


def melody_or_error(tune: TuneSpec, seed: int, bpm: tuple[float, float], time: str = "seconds"):
    """(label, notes array or None, meter, error line or None): never raises, so a worker
    process hands every failure back as a line for the report."""
    import music21

    try:
        with time_limit(PIECE_SECONDS):
            score = _parse(music21, tune)
            meter = score_meter(score)
            notes = score_melody(music21, score, tune.label, seed, bpm, time, tune.voice)
        return tune.label, usable_melody(tune.label, notes), meter, None
    except EncoreError as err:
        return tune.label, None, "", str(err)
    except TimeLimit:
        return (tune.label, None, "",
                f"{tune.label}: took over {PIECE_SECONDS} s to read (a pathological score); skipped")
    except Exception as err:  # music21 raises many kinds on odd scores
        return tune.label, None, "", f"{tune.label}: music21 cannot read it ({type(err).__name__}: {err})"


def score_meter(score) -> str:
    """The score's first time signature ("4/4"), "" when it has none."""
    from music21 import meter

    signature = next(iter(score.recurse().getElementsByClass(meter.TimeSignature)), None)
    return signature.ratioString if signature is not None else ""


# A guard, not a budget: the slowest ordinary tune reads in seconds, but one odd score
# (repeats music21 unrolls into tens of thousands of notes) once took half an hour.
PIECE_SECONDS = 300


def _import_music21():
    try:
        import music21
    except ImportError:
        raise MissingExtraError("music21", "corpus", "encore corpus build music21:...") from None
    return music21


_BOOKS: dict[Path, dict] = {}  # ABC books split into tunes, once per process


def _parse(music21, tune: TuneSpec):
    if tune.number is None:
        return music21.converter.parse(tune.path)
    if tune.path not in _BOOKS:
        _BOOKS[tune.path] = _abc_tunes(music21, tune.path)
    return music21.abcFormat.translate.abcToStreamScore(_BOOKS[tune.path][tune.number])


def _list_tunes(music21, name: str, limit: int | None) -> list[TuneSpec]:
    from music21 import corpus

    paths = corpus.getComposer("bach") if name in ("bach", "bachBass") else corpus.getWork(name)
    voice = VOICES.get(name, "soprano")
    paths = sorted(Path(p) for p in (paths if isinstance(paths, list) else [paths]))
    tunes: list[TuneSpec] = []
    for path in paths:
        if limit is not None and len(tunes) >= limit:
            break
        label = f"{name}/{path.name}"
        if path.suffix != ".abc":
            tunes.append(TuneSpec(label, path, voice=voice))
            continue
        book = _abc_tunes(music21, path)
        if len(book) == 1:
            tunes.append(TuneSpec(label, path))
        else:
            _BOOKS[path] = book
            tunes += [TuneSpec(f"{label}#{number}", path, number) for number in book]
    return tunes[:limit]


def _abc_tunes(music21, path: Path) -> dict:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    handler = music21.abcFormat.ABCHandler()
    handler.process(text)
    return handler.splitByReferenceNumber()


def bar_positions(part):
    """onset (quarter lengths) -> (where it falls in its bar, the bar's time signature),
    from the bars' own signatures, looked up by bisection (music21's own lookups search
    the whole stream for each note: minutes on a long tune with repeats expanded). None
    when the part has no bars."""
    from music21 import meter, stream

    bars, signature = [], None
    for bar in part.getElementsByClass(stream.Measure):
        signature = bar.timeSignature or signature or meter.TimeSignature("4/4")
        bars.append((float(bar.offset), float(bar.paddingLeft or 0.0), signature))
    if not bars:
        return None
    starts = [start for start, _, _ in bars]

    def position(onset: float):
        start, padding, signature = bars[max(0, bisect.bisect_right(starts, onset + 1e-9) - 1)]
        return (onset - start + padding) % float(signature.barDuration.quarterLength), signature

    return position


def beat_strengths(part):
    """onset (quarter lengths) -> music21's beat strength (the same numbers as
    Note.beatStrength, found as bar_positions finds them). None when the part has no bars."""
    position_of = bar_positions(part)
    if position_of is None:
        return None

    def strength(onset: float) -> float:
        position, signature = position_of(onset)
        return float(signature.getAccentWeight(position, forcePositionMatch=False))

    return strength


def score_melody(music21, score, label: str, seed: int, bpm: tuple[float, float],
                 time: str = "seconds", voice: str = "soprano") -> list[Note]:
    """The melody of a parsed score as notes in seconds or beat time, by the module
    docstring's rules."""
    from music21 import articulations, dynamics, tempo

    try:
        expanded = score.expandRepeats()
        # Badly nested repeat marks can make music21 unroll a page into tens of
        # thousands of notes; a real tune plays its repeats a few times at most.
        if len(expanded.recurse().notes) <= MAX_REPEAT_GROWTH * max(1, len(score.recurse().notes)):
            score = expanded
    except Exception:  # badly nested repeats: keep the written form
        pass
    parts = list(getattr(score, "parts", [])) or [score]
    part = next((p for p in parts if voice in (p.partName or "").lower()),
                parts[-1] if voice == "bass" else parts[0])
    lowest = voice == "bass"  # a chord in a bass line is heard by its root
    stripped = part.stripTies()
    flat = stripped.flatten()
    strength_at = beat_strengths(stripped)
    position_of = bar_positions(stripped)

    marks = [
        (float(m.offset), float(m.getQuarterBPM()))
        for m in flat.getElementsByClass(tempo.MetronomeMark)
        if m.number is not None or m.numberSounding is not None
    ]
    if time == "beats":
        first = min((float(n.offset) for n in flat.notes if n.quarterLength > 0), default=0.0)
        # from the first note's bar line: a pickup keeps the rest before it
        bar_line = first - (position_of(first)[0] if position_of else 0.0)
        to_seconds = lambda offset: (offset - bar_line) * REFERENCE_BEAT_SECONDS
    else:
        to_seconds = seconds_at(marks, piece_bpm(label, seed, bpm))
    dynamic_at = sorted((float(d.offset), d.value) for d in flat.getElementsByClass(dynamics.Dynamic))
    dynamic_offsets = [offset for offset, _ in dynamic_at]

    notes = []
    for element in flat.notes:
        length = float(element.quarterLength)
        if length <= 0:
            continue  # grace notes carry no time of their own
        pitch = (min if lowest else max)(p.midi for p in element.pitches)
        if not 0 <= pitch <= 127:
            continue
        onset = float(element.offset)
        i = bisect.bisect_right(dynamic_offsets, onset) - 1
        accented = any(
            isinstance(a, (articulations.Accent, articulations.StrongAccent))
            for a in element.articulations
        )
        strength = strength_at(onset) if strength_at else element.beatStrength
        velocity = note_velocity(strength, dynamic_at[i][1] if i >= 0 else None, accented)
        notes.append(Note(pitch, to_seconds(onset), to_seconds(onset + length), velocity))
    return notes
