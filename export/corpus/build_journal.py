"""The journal of a corpus build, so a stopped build goes on where it stopped.

A folder beside the output (corpus.npz.partial/) holds what the build was asked
(plan.json: the sources, their files in order, the options that shape a piece) and what
it has read so far, in shards (shard-00000.npz ...): the pieces of a run of consecutive
files of one source, and the line of each file skipped. A shard is written whole, then
done.json names it, both by rename, so a kill at any moment leaves a journal that reads
back: the files of the shards it names are done, the rest are read again. The corpus a
resumed build ends with is the one an unbroken build writes.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from export.errors import CorpusError

JOURNAL_FORMAT = "encore-corpus-journal-v1"
# The plan's entries that decide what reading gives (a stopped build resumes only for
# the same); the rest (--meter, the split) applies after reading, so they may change.
READING = ("SOURCE", "folders", "--time", "--skyline", "--limit", "--bpm", "--seed")
PLAN, DONE = "plan.json", "done.json"
SUFFIX = ".partial"


@dataclass
class PieceRead:
    """What reading one file (or one tune) gave: a piece, or the line saying why not.
    Plain data: a worker process hands it back."""

    name: str
    notes: np.ndarray | None = None  # float64 [n, 4], as building's Piece
    meter: str = ""
    events: int = 0
    error: str | None = None


@dataclass
class Shard:
    """One shard's pieces without their notes (those are read when written out)."""

    index: int
    source: int
    names: list[str]
    meters: list[str]
    events: np.ndarray  # int64 [pieces]
    offsets: np.ndarray  # int64 [pieces + 1] into the shard's notes
    errors: list[str]


def journal_folder(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(output.name + SUFFIX)


class BuildJournal:
    def __init__(self, folder: Path, plan: dict, shards: list[dict], lock=None):
        self.folder, self.plan, self.shards = folder, plan, shards
        self._lock = lock  # held while this build runs: a second one into the same file is refused

    @classmethod
    def open(cls, folder: Path, plan: dict) -> "BuildJournal":
        """The journal in `folder`: a new one for `plan`, or the stopped build's when it was
        asked the same (its file lists are kept: the same files, in the same order).
        A stopped build of something else is one CorpusError, never overwritten."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise CorpusError(f"{folder}: is a file where the build keeps its journal; move it away")
        folder.mkdir(parents=True, exist_ok=True)
        lock = _lock(folder)
        try:
            if (folder / PLAN).is_file():
                return cls._resumed(folder, plan, lock)
            _write_json(folder / PLAN, plan)
        except BaseException:
            lock.close()
            raise
        return cls(folder, plan, [], lock)

    @classmethod
    def _resumed(cls, folder: Path, plan: dict, lock) -> "BuildJournal":
        try:
            stored = json.loads((folder / PLAN).read_text())
            shards = json.loads((folder / DONE).read_text())["shards"] if (folder / DONE).is_file() else []
            if not (isinstance(stored, dict) and isinstance(shards, list)
                    and all((folder / s["file"]).is_file() for s in shards)):
                raise ValueError("a shard it names is missing")
        except (OSError, ValueError, KeyError, TypeError) as err:
            why = str(err)[:80] or type(err).__name__
            raise CorpusError(f"{folder}: a stopped build's journal that cannot be read ({why}); "
                              "delete that folder to start the build over") from None
        differ = [key for key in plan if key in READING and stored.get(key) != plan[key]]
        if differ:
            raise CorpusError(
                f"{folder}: holds a stopped build of other {', '.join(differ)}; give the same command "
                "to resume it, or delete that folder to start over")
        # what is applied after reading (meters, split) is this command's, not the stopped one's
        return cls(folder, {**stored, **{k: v for k, v in plan.items() if k not in READING}}, shards, lock)

    @property
    def resumed(self) -> bool:
        return bool(self.shards)

    def files(self, source: int) -> list[str] | None:
        return self.plan["files"][source]

    def has(self, source: int) -> bool:
        return any(s["source"] == source for s in self.shards)

    def files_done(self, source: int) -> int:
        return sum(s["files"] for s in self.shards if s["source"] == source)

    def add_shard(self, source: int, reads: list[PieceRead]) -> None:
        """Keep the reads of the next files of `source`, then name them done."""
        index = len(self.shards)
        name = f"shard-{index:05d}.npz"
        kept = [r for r in reads if r.error is None]
        lengths = [len(r.notes) for r in kept]
        partial = self.folder / (name + ".tmp")
        with open(partial, "wb") as file:  # uncompressed: a shard lives minutes, written fast
            np.savez(
                file,
                notes=np.concatenate([r.notes for r in kept]) if kept else np.zeros((0, 4)),
                offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
                names=np.array([r.name for r in kept], dtype=str),
                meters=np.array([r.meter for r in kept], dtype=str),
                events=np.array([r.events for r in kept], dtype=np.int64),
                errors=np.array([r.error for r in reads if r.error is not None], dtype=str),
            )
            file.flush()
            os.fsync(file.fileno())
        partial.replace(self.folder / name)
        shards = self.shards + [{"file": name, "source": source, "files": len(reads)}]
        _write_json(self.folder / DONE, {"format": JOURNAL_FORMAT, "shards": shards})  # now it is done
        self.shards = shards

    def read_shards(self) -> Iterator[Shard]:
        for index, entry in enumerate(self.shards):
            with self._shard(index) as data:
                yield Shard(index, entry["source"], data["names"].tolist(), data["meters"].tolist(),
                            data["events"], data["offsets"], data["errors"].tolist())

    def shard_notes(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """A shard's notes and the offsets that cut them into its pieces."""
        with self._shard(index) as data:
            return data["notes"], data["offsets"]

    @contextmanager
    def _shard(self, index: int):
        path = self.folder / self.shards[index]["file"]
        try:
            with np.load(path, allow_pickle=False) as data:
                yield data
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            raise CorpusError(f"{path}: a shard of the stopped build is damaged ({str(err)[:80]}); delete "
                              f"{self.folder} to start the build over") from None

    def remove(self) -> None:
        """The build is done: done.json goes first, so a journal cut short while it is
        removed reads as a build with nothing done, never as one with shards missing."""
        (self.folder / DONE).unlink(missing_ok=True)
        (self.folder / PLAN).unlink(missing_ok=True)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.close()

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def _lock(folder: Path):
    """The journal's lock file, held for as long as this build runs (flock; on Windows a
    byte locked with msvcrt), or a CorpusError when another build holds it."""
    file = open(folder / "lock", "a+")
    try:
        try:
            import fcntl

            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:
            import msvcrt

            file.seek(0)
            msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:
        file.close()
        raise CorpusError(f"{folder}: another build into the same corpus is running; wait for it to end, "
                          "or give another -o") from None
    return file


def _write_json(path: Path, value: dict) -> None:
    partial = path.with_name(path.name + ".tmp")
    with open(partial, "w") as file:
        file.write(json.dumps(value))
        file.flush()
        os.fsync(file.fileno())  # on disk before the rename says it is done
    partial.replace(path)
