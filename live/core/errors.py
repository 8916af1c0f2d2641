"""The errors a user can cause. Each prints as one line: what, where, what to do."""

from __future__ import annotations

from pathlib import Path


class EncoreError(Exception):
    """Base of every error the CLI reports as one line instead of a traceback."""


class MidiFileError(EncoreError):
    """A MIDI file that cannot be read or written: names the file and the cause."""

    def __init__(self, path: str | Path, cause: str):
        self.path = Path(path)
        self.cause = cause
        super().__init__(f"{self.path}: {cause}")


class EventFileError(EncoreError):
    """An event list (JSON) that cannot be read: names the file and the cause."""

    def __init__(self, path: str | Path, cause: str):
        self.path = Path(path)
        self.cause = cause
        super().__init__(f"{self.path}: {cause}")
