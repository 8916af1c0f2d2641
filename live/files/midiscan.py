"""Many MIDI files at once: find them in folders, read the good, count the bad."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

from live.core.errors import EncoreError, MidiFileError

MIDI_SUFFIXES = {".mid", ".midi", ".smf", ".kar"}

T = TypeVar("T")


def find_midi_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files given as files stay as they are (even with another suffix, so the reader
    can say what is wrong with them); folders are searched recursively for MIDI."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in _files_below(path) if p.suffix.lower() in MIDI_SUFFIXES)
        else:
            found.append(path)
    return found


def _files_below(folder: Path) -> list[Path]:
    """Every file below `folder`, walked with a list, not recursion: Path.rglob and os.walk
    recurse, and a folder nested 1,200 deep ended a whole batch in RecursionError.
    Links to folders are not followed (a loop would never end); unreadable folders are passed."""
    import os

    files, folders = [], [folder]
    while folders:
        try:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(Path(entry.path))
                    elif entry.is_file():
                        files.append(Path(entry.path))
        except OSError:
            continue
    return files


@dataclass
class ScanReport:
    """What a batch did: how many files succeeded, and each skipped one with its reason."""

    done: int = 0
    skipped: list[EncoreError] = field(default_factory=list)

    def summary(self) -> str:
        total = self.done + len(self.skipped)
        line = f"{self.done} of {total} files read"
        if self.skipped:
            line += f", {len(self.skipped)} skipped:"
            line += "".join(f"\n  {err}" for err in self.skipped)
        return line


def process_each(
    paths: Iterable[Path], work: Callable[[Path], T], report: ScanReport
) -> Iterator[tuple[Path, T]]:
    """Run work() on each file; a file that raises an EncoreError is skipped and counted,
    so one corrupt file among a thousand costs nothing but a line in the report."""
    for path in paths:
        result, error = attempt(path, work)
        if error is not None:
            report.skipped.append(error)
            continue
        report.done += 1
        yield path, result


def attempt(path: Path, work: Callable[[Path], T]) -> tuple[T | None, EncoreError | None]:
    """work(path), or the one line that says why this file is skipped: whatever it raised
    (a worker process hands the line back, never the exception)."""
    try:
        return work(path), None
    except EncoreError as err:
        return None, err
    except MemoryError:
        return None, MidiFileError(path, "too large to read (it asks for more memory than there is)")
    except RecursionError:
        return None, MidiFileError(path, "nested too deeply to read")
    except Exception as err:  # a parser's bug on a file no one foresaw: that file, not the batch
        return None, MidiFileError(path, f"could not be read ({type(err).__name__}: {str(err)[:120]})")
