"""A training corpus: melodies as notes, split by piece, with where they came from.

Notes are stored rather than events so that augmentation can transpose and stretch
them before encoding, as Performance RNN does. The file is a plain .npz (no pickle):

    format       "encore-corpus-v1"
    notes        float64 [N, 4]: pitch, start s, end s, velocity, every piece one after another
                 (stored, not compressed, so training maps it from the file instead of
                 reading it whole; the other arrays are compressed)
                 (a beat corpus, provenance "time": "beats": times are beats x 0.48 s, the
                 reference 125 BPM, from the piece's first bar line, so one 10 ms step is
                 1/48 beat and a 16th is exactly 12 steps)
    meters       str [P]: each piece's time signature as written ("4/4", "6/8"; "" unknown)
    offsets      int64 [P + 1]: piece i is notes[offsets[i]:offsets[i + 1]]
    names        str [P]: unique piece names (file path relative to its folder, or
                 collection/file#tune)
    sources      str [P]: the source each piece came from, as given on the command line
    split        str [P]: train | val | test
    provenance   str: JSON with sources, licence notes, counts and skipped pieces

The split is by piece and depends only on the piece's name and the seed (a hash rank),
so adding files to a folder does not move the others between splits.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np


from live.core.wording import count
from live.core import codec, vocab
from live.files.midiscan import ScanReport
from live.core.notes import Note

from export.errors import CorpusError

FORMAT = "encore-corpus-v1"
SPLITS = ("train", "val", "test")
TIMES = ("beats", "seconds")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
MIN_NOTES = 8  # fewer notes than this is a fragment, not a melody
MUSIC21_PREFIX = "music21:"

USER_FILES_LICENCE = (
    "user-supplied MIDI files; licence unknown: check it before sharing a model trained on them"
)


@dataclass
class Piece:
    name: str
    source: str
    notes: np.ndarray  # float64 [n, 4]: pitch, start, end, velocity
    split: str = "train"
    meter: str = ""
    time: str = "seconds"  # or "beats": see the module docstring

    @property
    def events(self) -> np.ndarray:
        """The piece as the model reads it, unaugmented."""
        return notes_to_events(self.notes, self.time)


@dataclass
class Corpus:
    pieces: list[Piece]
    provenance: dict = field(default_factory=dict)

    @property
    def time(self) -> str:
        return self.provenance.get("time", "seconds")

    def split(self, name: str) -> list[Piece]:
        if name not in SPLITS:
            raise CorpusError(f"unknown split '{name}'; choose one of {', '.join(SPLITS)}")
        return [p for p in self.pieces if p.split == name]

    def describe(self) -> str:
        """One line for a model's metadata: what it learned from."""
        sources = ", ".join(s["name"] for s in self.provenance.get("sources", [])) or "unknown"
        notes = sum(len(p.notes) for p in self.pieces)
        return f"{sources}: {count(len(self.pieces), 'piece')}, {count(notes, 'note')}"


# ---------------------------------------------------------------- notes <-> arrays


def notes_to_array(notes: Iterable[Note]) -> np.ndarray:
    rows = [(n.pitch, n.start, n.end, n.velocity) for n in notes]
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def array_to_notes(array: np.ndarray) -> list[Note]:
    # tolist, not row by row: a numpy row (a mapped one more so) costs ~1 us to index
    return [Note(int(p), s, e, int(v)) for p, s, e, v in np.asarray(array, dtype=np.float64).tolist()]


def notes_to_events(array: np.ndarray, time: str = "seconds") -> np.ndarray:
    """A piece's events. In beats it starts on its first bar line (the rest before a
    pickup kept) and ends on a bar line, so pieces played back to back in a training
    lane keep the bar's phase: the model can count where the downbeat is."""
    notes = array_to_notes(array)
    if time != "beats" or not notes:
        return np.asarray(codec.encode(notes), dtype=np.int64)
    bar = vocab.STEPS_PER_BAR * vocab.STEP_SECONDS
    bars = math.ceil(max(n.end for n in notes) / bar - 1e-9)
    return np.asarray(codec.encode(notes, origin=0.0, until=bars * bar), dtype=np.int64)


# ---------------------------------------------------------------- splits


def assign_splits(names: list[str], seed: int, fractions=DEFAULT_FRACTIONS) -> list[str]:
    """train/val/test per piece: rank the pieces by a seeded hash of their names and
    give the first share to val, the next to test, the rest to train. With 3 or more
    pieces val and test each get at least one."""
    count = len(names)
    ranked = sorted(range(count), key=lambda i: _name_hash(names[i], seed))
    n_val = _share(count, fractions[1])
    n_test = _share(count - n_val, fractions[2]) if count - n_val > 1 else 0
    labels = ["train"] * count
    for rank, index in enumerate(ranked):
        if rank < n_val:
            labels[index] = "val"
        elif rank < n_val + n_test:
            labels[index] = "test"
    return labels


def _share(count: int, fraction: float) -> int:
    if count < 2 or fraction <= 0:
        return 0
    return min(count - 1, max(1, round(count * fraction)))


def _name_hash(name: str, seed: int) -> str:
    # surrogateescape: a file name that is not UTF-8 (bytes from another system) hashes too
    return hashlib.sha256(f"{seed}:{name}".encode("utf-8", "surrogateescape")).hexdigest()


# ---------------------------------------------------------------- building


@dataclass
class SourcePieces:
    """What one source gave: its pieces, its licence note and the report of its files."""

    name: str
    kind: str
    licence: str
    pieces: list[Piece]
    report: ScanReport


def build_corpus(sources: list[str], **options) -> Corpus:
    """Read every source into pieces, split them, record where they came from: a corpus
    in memory. The options and the build are export.corpus.corpus_build's (which also
    streams a build to a file and resumes one that stopped)."""
    from export.corpus.corpus_build import build_corpus as build

    return build(sources, **options)


def usable_melody(where, notes: list[Note]) -> np.ndarray:
    """The notes as an array, or an EncoreError naming the piece when too few to learn from."""
    if len(notes) < MIN_NOTES:
        raise CorpusError(f"{where}: only {len(notes)} melody notes; a piece needs at least {MIN_NOTES}")
    return notes_to_array(notes)


def check_meter(meter: str) -> str:
    """"4/4" as given, or a CorpusError saying what a meter looks like."""
    top, _, bottom = meter.partition("/")
    if not (top.isdigit() and bottom.isdigit() and int(top) > 0 and int(bottom) in (1, 2, 4, 8, 16, 32)):
        raise CorpusError(f"meter {meter!r}: give a time signature like 4/4, 2/4 or 6/8")
    return f"{int(top)}/{int(bottom)}"


def meter_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{count(n, 'piece')} in {m}" for m, n in sorted(counts.items(), key=lambda kv: -kv[1]))


# The file (save_corpus, load_corpus, check_corpus_path) is export.corpus.corpus_file's;
# named here too, where the callers have always found them.
from export.corpus.corpus_file import check_corpus_path, load_corpus, save_corpus  # noqa: E402

__all__ = ["Corpus", "Piece", "SourcePieces", "build_corpus", "check_corpus_path", "load_corpus", "save_corpus"]
