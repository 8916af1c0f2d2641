"""The corpus file: an .npz that `encore corpus build` writes and training, evaluation,
info and musicstats read. Written whole or not at all (beside, then renamed); read only
after its archive's headers say it fits in memory, and refused as one CorpusError for
every way its arrays can differ from what build writes (the fuzz suite's corpus cases)."""

from __future__ import annotations

import json
import math
import os
import zipfile
from pathlib import Path

import numpy as np

# building names these functions too (its callers' old address): it imports this module,
# so this one reads building's names when called, not when imported

from export.errors import CorpusError
from live.files.input_paths import input_problem
from live.files.output_paths import replace_atomically


def check_corpus_path(path: str | Path) -> Path:
    """Where a corpus will be saved: a .npz name, in a folder that exists (checked before
    the build, which can take long)."""
    from live.files.output_paths import check_writable

    path = Path(path)
    if path.suffix != ".npz":
        raise CorpusError(f"{path}: a corpus file ends in .npz; name it like corpus.npz")
    return check_writable(path, "corpus.npz")


def save_corpus(corpus, path: str | Path) -> Path:
    """Write a Corpus whole (beside, then renamed over the old file)."""
    pieces = corpus.pieces
    return write_corpus(path, names=[p.name for p in pieces], sources=[p.source for p in pieces],
                        split=[p.split for p in pieces], meters=[p.meter for p in pieces],
                        lengths=[len(p.notes) for p in pieces], note_chunks=(p.notes for p in pieces),
                        provenance=corpus.provenance)


NOTES_MEMBER = "notes.npy"


def write_corpus(path: str | Path, *, names, sources, split, meters, lengths, note_chunks, provenance) -> Path:
    """Write a corpus file from its columns, the notes given piece by piece (`lengths`
    of them in `note_chunks`), so a build of 100,000 files never holds them all. The
    notes are stored uncompressed, to be mapped (load_corpus(mmap=True)); the rest is
    compressed. Beside, then renamed: a failed write leaves the old corpus whole."""
    from export.corpus.building import FORMAT

    path = Path(path)
    if path.suffix != ".npz":
        raise CorpusError(f"{path}: a corpus file ends in .npz; name it like corpus.npz")
    total = int(sum(lengths))
    columns = {
        "format": np.array(FORMAT),
        "offsets": np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int64),
        "names": np.array(names, dtype=str),
        "sources": np.array(sources, dtype=str),
        "split": np.array(split, dtype=str),
        "meters": np.array(meters, dtype=str),
        "provenance": np.array(json.dumps(provenance)),
    }
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(temporary):
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            for name, array in columns.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)
            info = zipfile.ZipInfo(NOTES_MEMBER, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            with archive.open(info, "w", force_zip64=True) as member:
                header = {"descr": "<f8", "fortran_order": False, "shape": (total, 4)}
                np.lib.format.write_array_header_1_0(member, header)
                written = 0
                for chunk in note_chunks:
                    chunk = np.ascontiguousarray(chunk, dtype="<f8").reshape(-1, 4)
                    member.write(chunk.tobytes())
                    written += len(chunk)
                if written != total:
                    raise ValueError(f"{written} notes given where the lengths say {total}")
        with open(temporary, "rb+") as file:
            os.fsync(file.fileno())  # on disk before the rename (a build then removes its journal)

    replace_atomically(path, write)
    return path


def _mapped_notes(path: Path) -> np.ndarray | None:
    """The notes array mapped from the file (read-only, nothing read until used), or None
    where they are compressed (a corpus from before notes were stored) or not at hand."""
    import struct

    with zipfile.ZipFile(path) as archive:
        try:
            info = archive.getinfo(NOTES_MEMBER)
        except KeyError:
            return None
        if info.compress_type != zipfile.ZIP_STORED:
            return None
    with open(path, "rb") as file:
        file.seek(info.header_offset)
        local = file.read(30)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            return None
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        file.seek(info.header_offset + 30 + name_length + extra_length)
        version = np.lib.format.read_magic(file)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(file)
        offset = file.tell()
    member_end = info.header_offset + 30 + name_length + extra_length + info.file_size
    if fortran or len(shape) != 2 or dtype.kind not in "fiu" or offset + math.prod(shape) * dtype.itemsize > member_end:
        return None  # not what write_corpus writes: read it the ordinary way, which checks it
    if math.prod(shape) == 0:
        return np.zeros(shape, dtype=dtype)
    # an ndarray view of the map: indexing a np.memmap runs Python code for every row
    return np.asarray(np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape))


# What a corpus file may unpack to: Lakh's melodies are about 0.5 GB; a zip of zeros that
# says 10 GB (2 MB on disk) is refused before it is unpacked. Training maps the notes
# instead (load_corpus(mmap=True)): they do not count there.
MAX_CORPUS_BYTES = 4 * 2**30


def _short(err: Exception) -> str:
    text = str(err) or type(err).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _check_declared_sizes(path: Path, mapped: bool = False) -> None:
    """Every array's size as its .npy header declares it (and the zip's own sizes), added
    up before anything is unpacked. Notes that are mapped are not unpacked: they count
    for nothing (they are on the disk as large as they are)."""
    stored, declared = 0, 0
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            if mapped and member.filename == NOTES_MEMBER and member.compress_type == zipfile.ZIP_STORED:
                continue
            stored += member.file_size
            with archive.open(member) as stream:
                version = np.lib.format.read_magic(stream)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = read(stream)
                declared += math.prod(shape) * dtype.itemsize
    total = max(stored, declared)
    if total > MAX_CORPUS_BYTES:
        raise CorpusError(f"{path}: unpacks to {total / 2**30:,.1f} GiB; encore reads corpora up to "
                          f"{MAX_CORPUS_BYTES // 2**30} GiB (split the sources into smaller corpora)")


def _array_problem(notes, offsets, names, sources, split, meters, provenance) -> str | None:
    """What is wrong with a corpus file's arrays (None: nothing): every way a hand-made,
    damaged or foreign .npz can differ from what corpus build writes."""
    from export.corpus.building import SPLITS, TIMES

    if not isinstance(provenance, dict):
        return "its provenance is not a JSON object"
    if provenance.get("time", "seconds") not in TIMES:
        return f"time {str(provenance.get('time'))[:20]!r} is not beats or seconds"
    if notes.ndim != 2 or notes.shape[1] != 4 or notes.dtype.kind not in "fiu":
        return f"notes are {notes.dtype} {list(notes.shape)}, not numbers [n, 4]"
    for what, array in (("names", names), ("sources", sources), ("split", split), ("meters", meters)):
        if array.ndim != 1 or array.dtype.kind != "U":
            return f"{what} are {array.dtype} {list(array.shape)}, not a list of text"
    count_ = len(names)
    if not len(sources) == len(split) == len(meters) == count_:
        return "names, sources, split and meters differ in length"
    if offsets.ndim != 1 or offsets.dtype.kind not in "iu" or len(offsets) != count_ + 1:
        return f"offsets are {offsets.dtype} {list(offsets.shape)}, not {count_ + 1} whole numbers"
    if count_ and (offsets[0] != 0 or offsets[-1] != len(notes) or np.any(np.diff(offsets) < 0)):
        return "offsets do not cut the notes into pieces in order"
    if not set(split.tolist()) <= set(SPLITS):
        return f"a split is not one of {', '.join(SPLITS)}"
    for first in range(0, len(notes), CHECK_ROWS):  # a block at a time: a mapped corpus stays unread
        problem = _notes_problem(np.asarray(notes[first:first + CHECK_ROWS]))
        if problem:
            return problem
    return None


CHECK_ROWS = 1 << 20


def _notes_problem(notes: np.ndarray) -> str | None:
    if not np.isfinite(notes).all():
        return "a note has a time or number that is not finite (nan or inf)"
    pitch, start, end, velocity = notes.T
    if np.any(pitch != np.round(pitch)) or pitch.min() < 0 or pitch.max() > 127:
        return "a pitch is not a whole number 0..127"
    if np.any(velocity != np.round(velocity)) or velocity.min() < 0 or velocity.max() > 127:
        return "a velocity is not a whole number 0..127"
    if start.min() < 0 or np.any(end < start) or end.max() > 10**6:
        return "a note starts before 0, ends before it starts or past 10^6"
    return None


def load_corpus(path: str | Path, mmap: bool = False):
    """Read a corpus file; every way it can be wrong is one CorpusError naming the file.
    mmap: the notes are mapped from the file, not read into memory (training a corpus
    larger than memory; a corpus written before notes were stored is read as ever)."""
    from export.corpus.building import FORMAT, Corpus, Piece

    path = Path(path)
    problem = input_problem(path, missing="no such corpus file")
    if problem:
        hint = f"; build one with: encore corpus build SOURCE -o {path}" if problem == "no such corpus file" else ""
        raise CorpusError(f"{path}: {problem}{hint}")
    with open(path, "rb") as file:
        head = file.read(4)
    if head != b"PK\x03\x04":  # a corpus is an .npz: a zip file
        if head == b"MThd":
            raise CorpusError(f"{path}: a MIDI file, not a corpus; build one from it (or its folder) first: "
                              f"encore corpus build {path} -o corpus.npz, then train on corpus.npz")
        raise CorpusError(f"{path}: not a corpus (an .npz made by encore corpus build); build one from MIDI "
                          "files: encore corpus build FOLDER -o corpus.npz")
    try:
        mapped = _mapped_notes(path) if mmap else None
        _check_declared_sizes(path, mapped is not None)
        with np.load(path, allow_pickle=False) as data:
            if "format" not in data or str(data["format"]) != FORMAT:
                raise CorpusError(f"{path}: not an encore corpus ({FORMAT}); build one with: encore corpus build")
            notes = data["notes"] if mapped is None else mapped
            offsets = data["offsets"]
            names, sources, split = data["names"], data["sources"], data["split"]
            # older corpora have no meters (and names of no length are refused below)
            meters = data["meters"] if "meters" in data else np.full(len(names) if names.ndim == 1 else 0, "")
            provenance = json.loads(str(data["provenance"]))
    except CorpusError:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, RecursionError) as err:
        # a cut-short download, a full disk, an array that is not what its header says
        raise CorpusError(f"{path}: cannot be read as a corpus ({_short(err)}); rebuild it with: "
                          "encore corpus build") from None
    except MemoryError:
        raise CorpusError(f"{path}: too large to read (more memory than there is); rebuild it smaller") from None
    problem = _array_problem(notes, offsets, names, sources, split, meters, provenance)
    if problem:
        raise CorpusError(f"{path}: not a whole corpus ({problem}); rebuild it with: encore corpus build")
    time = provenance.get("time", "seconds")
    pieces = [
        Piece(str(names[i]), str(sources[i]), notes[offsets[i]:offsets[i + 1]], str(split[i]),
              str(meters[i]), time)
        for i in range(len(names))
    ]
    if not pieces:
        raise CorpusError(f"{path}: the corpus is empty (0 pieces); rebuild it from sources with melodies")
    return Corpus(pieces, provenance)
