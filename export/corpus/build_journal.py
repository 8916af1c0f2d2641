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
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from export.errors import CorpusError

JOURNAL_FORMAT = "encore-corpus-journal-v1"
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
        if (folder / PLAN).is_file():
            try:
                stored = json.loads((folder / PLAN).read_text())
                shards = json.loads((folder / DONE).read_text())["shards"] if (folder / DONE).is_file() else []
            except (OSError, ValueError, KeyError, TypeError) as err:
                raise CorpusError(f"{folder}: a stopped build's journal that cannot be read ({type(err).__name__}); "
                                  "delete that folder to start the build over") from None
            differ = [key for key in plan if key != "files" and stored.get(key) != plan[key]]
            if differ:
                raise CorpusError(
                    f"{folder}: holds a stopped build of other {', '.join(differ)}; give the same command "
                    "to resume it, or delete that folder to start over")
            return cls(folder, stored, shards, lock)
        _write_json(folder / PLAN, plan)
        return cls(folder, plan, [], lock)

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
            with np.load(self.folder / entry["file"], allow_pickle=False) as data:
                yield Shard(index, entry["source"], data["names"].tolist(), data["meters"].tolist(),
                            data["events"], data["offsets"], data["errors"].tolist())

    def shard_notes(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """A shard's notes and the offsets that cut them into its pieces."""
        with np.load(self.folder / self.shards[index]["file"], allow_pickle=False) as data:
            return data["notes"], data["offsets"]

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.close()

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def _lock(folder: Path):
    """The journal's lock file, held (flock) for as long as this build runs, or a
    CorpusError when another build holds it. Where there is no flock (Windows), None."""
    try:
        import fcntl
    except ImportError:
        return None
    file = open(folder / "lock", "a")
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        file.close()
        raise CorpusError(f"{folder}: another build into the same corpus is running; wait for it to end, "
                          "or give another -o") from None
    return file


def _write_json(path: Path, value: dict) -> None:
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(value))
    partial.replace(path)
