"""Recording: what was actually sent (and the player's input notes on a second track),
written as a .mid file that is saved on every exit path and never half-written."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from live.files.midifile import Part, write_midi
from live.files.output_paths import check_midi_output
from live.core.notes import Note, sort_notes, stretched


class Recorder:
    def __init__(self, path: str | Path, bpm: float = 120.0, program: int = 0,
                 voices: dict[int, tuple[str, int]] | None = None):
        self.path = check_midi_output(path)  # before the set, not after it
        self.bpm = bpm
        # recorded times are performance times; for a beat model they are beats x 0.48 s,
        # and this makes them seconds at `bpm` (so the file's notes sit on its grid)
        self.stretch = 1.0
        self.program = program
        self.voices = dict(voices or {})  # channel -> (track name, program) of voices beside the lead
        self._lock = threading.Lock()
        self._open: dict[tuple[str, int, int], tuple[float, int]] = {}
        self._notes: dict[tuple[str, int], list[Note]] = {}

    def sent(self, seconds: float, message) -> None:
        self._note("encore", seconds, message)

    def played(self, seconds: float, message) -> None:
        """A note the player played on the input."""
        self._note("input", seconds, message)

    def _note(self, track: str, seconds: float, message) -> None:
        if message.type not in ("note_on", "note_off"):
            return
        key = (track, message.channel, message.note)
        with self._lock:
            if key in self._open:
                start, velocity = self._open.pop(key)
                self._notes.setdefault((track, message.channel), []).append(
                    Note(message.note, max(0.0, start), max(0.0, seconds), velocity)
                )
            if message.type == "note_on" and message.velocity > 0:
                self._open[key] = (seconds, message.velocity)

    @property
    def note_count(self) -> int:
        with self._lock:
            return sum(len(n) for n in self._notes.values())

    def save(self, end_seconds: float | None = None) -> Path:
        """Write the file (notes still open end at end_seconds); safe to call again."""
        with self._lock:
            notes = {k: list(v) for k, v in self._notes.items()}
            for (track, channel, pitch), (start, velocity) in self._open.items():
                end = max(start, end_seconds if end_seconds is not None else start)
                notes.setdefault((track, channel), []).append(Note(pitch, start, end, velocity))
        def named(track: str, channel: int) -> tuple[str, int]:
            if track != "encore":
                return "player input", 0
            return self.voices.get(channel, ("encore", self.program))

        parts = [
            Part(
                name=named(track, channel)[0],
                channel=channel,
                program=named(track, channel)[1],
                is_drum=channel == 9,
                notes=sort_notes(stretched(found, self.stretch)),
            )
            for (track, channel), found in sorted(notes.items())
        ]
        if not parts:
            parts = [Part("encore", 0, program=self.program)]
        temporary = self.path.with_name(self.path.name + ".part")
        write_midi(temporary, parts, bpm=self.bpm, title="encore recording")
        os.replace(temporary, self.path)  # all or nothing: never a half-written file
        return self.path
