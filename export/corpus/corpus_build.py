"""`encore corpus build`: sources -> a journal of shards -> one corpus.

Streams: the files of a folder are read `jobs` at a time by spawned workers, in order,
and kept in the journal a shard at a time (export.corpus.build_journal), so memory holds
one shard, a build of 100,000 files stopped by Ctrl-C, SIGTERM, a kill or a crash goes on
where it stopped, and the corpus file is written piece by piece from the shards.
Then the pieces are filtered by meter, named uniquely, split, and their provenance
recorded, exactly as building's docstring says.
"""

from __future__ import annotations

import datetime as _dt
import tempfile
import time as _time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from live.core import vocab
from live.core.bars import bar_aligned, meter_bar_beats
from live.files.melody import melody_notes
from live.files.midifile import read_midi
from live.files.midiscan import attempt, find_midi_files

from export.corpus.build_journal import BuildJournal, PieceRead, journal_folder
from export.corpus.building import (
    DEFAULT_FRACTIONS, FORMAT, MUSIC21_PREFIX, SPLITS, TIMES, USER_FILES_LICENCE, Corpus, Piece,
    assign_splits, check_meter, meter_counts, notes_to_events, usable_melody,
)
from export.corpus.workers import ordered_map
from export.errors import CorpusError

# A shard holds this many files, or those read in SHARD_SECONDS if fewer: a kill loses
# at most that much reading, and a shard of melodies is a few MB.
SHARD_FILES = 500
SHARD_SECONDS = 30.0


@dataclass
class Entry:
    """A piece as the build knows it before the file is written: where its notes are."""

    name: str
    source: str
    meter: str
    events: int
    notes: int
    shard: int
    row: int  # the piece's place in its shard
    split: str = "train"


def build_corpus(sources: list[str], seed: int = 0, bpm=(120.0, 120.0), limit: int | None = None,
                 skyline: bool = True, fractions=DEFAULT_FRACTIONS, progress: Callable | None = None,
                 jobs: int = 1, time: str = "beats", meters=None) -> Corpus:
    """The corpus in memory (its journal a temporary folder): for tests and small builds."""
    with tempfile.TemporaryDirectory(prefix="encore-corpus-") as folder:
        journal = start(sources, Path(folder) / "build", seed, bpm, limit, skyline, fractions, time, meters)
        try:
            collect(journal, jobs, progress)
            entries, provenance = assemble(journal)
            pieces, notes = [], _notes_in_order(journal, entries)
            for entry in entries:
                pieces.append(Piece(entry.name, entry.source, next(notes), entry.split, entry.meter, time))
            return Corpus(pieces, provenance)
        finally:
            journal.close()


def build_corpus_file(sources: list[str], output: str | Path, seed: int = 0, bpm=(120.0, 120.0),
                      limit: int | None = None, skyline: bool = True, fractions=DEFAULT_FRACTIONS,
                      progress: Callable | None = None, jobs: int = 1, time: str = "beats", meters=None,
                      say: Callable[[str], None] | None = None) -> dict:
    """Build into `output` through its journal (output + ".partial"), resuming a stopped
    build of the same command; the journal goes once the corpus is written. Returns
    the provenance. A KeyboardInterrupt leaves the journal and says how far it was."""
    try:
        journal = start(sources, journal_folder(output), seed, bpm, limit, skyline, fractions, time, meters)
        try:
            return _read_and_write(journal, Path(output), progress, jobs, say)
        finally:
            journal.close()  # the lock: a stopped build's journal waits for the same command
    except OSError as err:  # a full disk, a folder taken away: what was kept stays kept
        where = err.filename or journal_folder(output)
        raise CorpusError(f"{where}: {err.strerror or type(err).__name__}; free some space or fix the folder, "
                          "then give the same command (what was read is kept)") from None


def _read_and_write(journal: BuildJournal, output: Path, progress, jobs: int, say) -> dict:
    from export.corpus.corpus_file import write_corpus

    if journal.resumed and say:
        say(f"resuming the stopped build in {journal.folder}: {_files_read(journal):,} of "
            f"{_planned(journal):,} files already read")
    try:
        collect(journal, jobs, progress)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"{_files_read(journal):,} of {_planned(journal):,} files read and kept in "
                                f"{journal.folder}; give the same command to go on from there") from None
    try:
        entries, provenance = assemble(journal)
    except NoPieceInMeters as err:  # the reading stands: another --meter goes on from it
        raise CorpusError(f"{err}; what was read is kept in {journal.folder}, so that goes straight on") from None
    except NothingUsable:
        journal.remove()  # everything was read and nothing is usable: nothing to go on with
        raise
    write_corpus(output, names=[e.name for e in entries], sources=[e.source for e in entries],
                 split=[e.split for e in entries], meters=[e.meter for e in entries],
                 lengths=[e.notes for e in entries], note_chunks=_notes_in_order(journal, entries),
                 provenance=provenance)
    journal.remove()
    return provenance


def _planned(journal: BuildJournal) -> int:
    return sum(len(files) for files in journal.plan["files"] if files is not None)


def _files_read(journal: BuildJournal) -> int:
    """Of the MIDI files planned, how many the journal holds (a collection's tunes are not
    files: they are not counted either way)."""
    return sum(journal.files_done(i) for i, files in enumerate(journal.plan["files"]) if files is not None)


class NoPieceInMeters(CorpusError):
    """Everything read, and no piece in the meters asked for."""


class NothingUsable(CorpusError):
    """Everything read, and not one piece to learn from."""


# ---------------------------------------------------------------- the plan


def start(sources, folder, seed, bpm, limit, skyline, fractions, time, meters) -> BuildJournal:
    """Every source checked and its files listed (before any is read), in a journal."""
    if not sources:
        raise CorpusError("no sources given; name MIDI folders or music21:COLLECTION")
    if time not in TIMES:
        raise CorpusError(f"time {time!r}: choose {' or '.join(TIMES)}")
    kept = None if meters is None else sorted({check_meter(m) for m in meters})
    files: list[list[str] | None] = []
    for source in sources:
        if source.startswith(MUSIC21_PREFIX):
            from export.corpus.music21_sources import check_collection

            check_collection(source[len(MUSIC21_PREFIX):])
            files.append(None)  # a collection is read whole: its tunes are music21's to list
            continue
        root = Path(source)
        if not root.exists():
            raise CorpusError(f"{source}: no such file or folder; check the path")
        files.append([_relative_name(path, root) for path in find_midi_files([root])[:limit]])
    # the folders as found from here: the same command from another folder is another build
    folders = [s if s.startswith(MUSIC21_PREFIX) else str(Path(s).resolve()) for s in sources]
    plan = {"SOURCE": list(sources), "folders": folders, "--time": time, "--skyline": skyline, "--limit": limit,
            "--bpm": list(bpm), "--seed": seed, "--meter": kept, "split": list(fractions), "files": files}
    return BuildJournal.open(folder, plan)


def _relative_name(path: Path, root: Path) -> str:
    return path.name if root.is_file() else str(path.relative_to(root))


# ---------------------------------------------------------------- reading


def collect(journal: BuildJournal, jobs: int = 1, progress: Callable | None = None) -> None:
    """Read what the journal does not hold yet, shard by shard."""
    plan = journal.plan
    for index, source in enumerate(plan["SOURCE"]):
        if source.startswith(MUSIC21_PREFIX):
            if not journal.has(index):
                journal.add_shard(index, _collection_reads(source, plan, jobs, progress))
            continue
        files = journal.files(index)
        done = journal.files_done(index)
        if done >= len(files):
            continue
        advance = progress(f"reading {source}", len(files), done) if progress else None
        read = partial(read_file, source, plan["--skyline"], plan["--time"])
        block: list[PieceRead] = []
        began = _time.monotonic()
        skipped = 0
        lost = partial(_lost_file, source)
        try:
            with ordered_map(jobs) as mapped:
                for piece in mapped(read, files[done:], lost):
                    block.append(piece)
                    skipped += piece.error is not None
                    if advance:
                        advance(skipped)
                    if len(block) >= SHARD_FILES or _time.monotonic() - began >= SHARD_SECONDS:
                        # handed over first: a stop inside add_shard leaves it written or not, never twice
                        full, block, began = block, [], _time.monotonic()
                        journal.add_shard(index, full)
        finally:  # a stop keeps what was read before it
            if block:
                journal.add_shard(index, block)


def read_file(source: str, skyline: bool, time: str, name: str) -> PieceRead:
    """One file's melody (in a worker process): a piece, or the line why not."""
    path = _path_of(source, name)

    def melody(path: Path) -> PieceRead:
        song = read_midi(path, beats=time == "beats")
        meter = "{}/{}".format(*song.time_signature)
        notes = melody_notes(song, skyline=skyline)
        if time == "beats":
            notes = bar_aligned(notes, meter_bar_beats(meter))
        array = usable_melody(path, notes)
        return PieceRead(name, array, meter, len(notes_to_events(array, time)))

    piece, error = attempt(path, melody)
    return piece if error is None else PieceRead(name, error=str(error))


def _path_of(source: str, name: str) -> Path:
    """A planned file's path: its name is relative to its folder (a file source: itself)."""
    root = Path(source)
    return root if root.is_file() else root / name


def _lost_file(source: str, name: str) -> PieceRead:
    return PieceRead(name, error=f"{_path_of(source, name)}: the process reading it died, twice (out of memory, "
                                 "or a crash); skipped")


def _collection_reads(source: str, plan: dict, jobs: int, progress) -> list[PieceRead]:
    from export.corpus.music21_sources import read_collection

    got = read_collection(source[len(MUSIC21_PREFIX):], seed=plan["--seed"], bpm=tuple(plan["--bpm"]),
                          limit=plan["--limit"], progress=progress, jobs=jobs, time=plan["--time"])
    return ([PieceRead(p.name, p.notes, p.meter, len(p.events)) for p in got.pieces]
            + [PieceRead("", error=str(err)) for err in got.report.skipped])


# ---------------------------------------------------------------- the corpus


def assemble(journal: BuildJournal) -> tuple[list[Entry], dict]:
    """The pieces the corpus keeps, split, and its provenance; or the CorpusError that
    says why no piece is usable."""
    plan = journal.plan
    sources, time = plan["SOURCE"], plan["--time"]
    kept_meters = None if plan["--meter"] is None else set(plan["--meter"])
    entries: list[Entry] = []
    skipped: list[str] = []
    per_source = [{"pieces": 0, "notes": 0, "skipped": 0} for _ in sources]
    other_meters: dict[str, int] = {}
    for shard in journal.read_shards():
        source = sources[shard.source]
        skipped += shard.errors
        per_source[shard.source]["skipped"] += len(shard.errors)
        for row, (name, meter) in enumerate(zip(shard.names, shard.meters)):
            if kept_meters is not None and meter not in kept_meters:
                other_meters[meter or "unknown"] = other_meters.get(meter or "unknown", 0) + 1
                continue
            notes = int(shard.offsets[row + 1] - shard.offsets[row])
            entries.append(Entry(name, source, meter, int(shard.events[row]), notes, shard.index, row))
            per_source[shard.source]["pieces"] += 1
            per_source[shard.source]["notes"] += notes
    if not entries:
        where = ", ".join(sources)
        if other_meters:
            raise NoPieceInMeters(f"no piece of {where} is in {', '.join(sorted(kept_meters))} "
                                  f"(found {meter_counts(other_meters)}); choose other --meter values")
        if skipped:
            raise NothingUsable(
                f"no usable melody in {where}: "
                f"{'the one piece was' if len(skipped) == 1 else f'all {len(skipped):,} pieces were'} skipped "
                f"(first: {skipped[0]})")
        raise NothingUsable(f"no pieces found in {where}; give folders of .mid files or music21:NAME")
    _make_names_unique(entries)
    for entry, label in zip(entries, assign_splits([e.name for e in entries], plan["--seed"], plan["split"])):
        entry.split = label
    provenance = {
        "format": FORMAT,
        "vocab": vocab.VOCAB_NAME,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seed": plan["--seed"],
        "time": time,
        **({"steps_per_beat": vocab.STEPS_PER_BEAT} if time == "beats"
           else {"bpm_for_scores_without_tempo": plan["--bpm"]}),
        "meters_kept": plan["--meter"],
        "left_out_by_meter": other_meters,
        "skyline": plan["--skyline"],
        "limit_per_source": plan["--limit"],
        "split_fractions": plan["split"],
        "sources": [{"name": source, **_kind_and_licence(source), **per_source[i]}
                    for i, source in enumerate(sources)],
        "counts": {
            "pieces": len(entries),
            "notes": sum(e.notes for e in entries),
            "events": sum(e.events for e in entries),
            **{s: sum(e.split == s for e in entries) for s in SPLITS},
            "skipped": len(skipped),
        },
        "skipped": skipped,
    }
    return entries, provenance


def _kind_and_licence(source: str) -> dict:
    if source.startswith(MUSIC21_PREFIX):
        from export.corpus.music21_sources import COLLECTIONS

        return {"kind": "music21", "licence": COLLECTIONS[source[len(MUSIC21_PREFIX):]]}
    return {"kind": "midi", "licence": USER_FILES_LICENCE}


def _make_names_unique(entries: list[Entry]) -> None:
    """The same file name from two sources must not share a split hash."""
    seen: set[str] = set()
    for entry in entries:
        if entry.name in seen:
            entry.name = f"{entry.source}/{entry.name}"
        else:
            seen.add(entry.name)


def _notes_in_order(journal: BuildJournal, entries: list[Entry]) -> Iterator[np.ndarray]:
    """Each entry's notes, reading one shard at a time (the entries are in shard order)."""
    loaded, notes, offsets = -1, None, None
    for entry in entries:
        if entry.shard != loaded:
            loaded = entry.shard
            notes, offsets = journal.shard_notes(entry.shard)
        yield notes[offsets[entry.row]:offsets[entry.row + 1]]
