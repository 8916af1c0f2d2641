"""Offline render: the live path on a virtual clock, as fast as the model steps."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from live.core.generator import Generator
from live.files.midifile import Part, write_midi
from live.core.notes import Note, sort_notes
from live.core.performer import NoteMessage

@dataclass
class Rendered:
    events: list[int]
    messages: list[NoteMessage] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    seconds: float = 0.0


def render(
    generator: Generator,
    seconds: float | None = None,
    events: int | None = None,
    progress=None,
) -> Rendered:
    """Generate until `seconds` of music or `events` events, then end every note.

    progress, if given, is called with the fraction done now and then."""
    if (seconds is None) == (events is None):
        raise ValueError("render needs exactly one of seconds or events")
    performer = generator.performer
    messages: list[NoteMessage] = []
    count = 0
    last_report = -1.0
    while True:
        done = count / events if events is not None else performer.time / seconds
        if done >= 1.0:
            break
        if progress is not None and done - last_report >= 0.01:
            progress(done)
            last_report = done
        _, sent = generator.next()
        messages += sent
        count += 1
        performer = generator.performer
    messages += generator.finish()
    if progress is not None:
        progress(1.0)
    return Rendered(
        events=list(generator.events),
        messages=messages,
        notes=sort_notes(generator.performer.notes),
        seconds=generator.performer.time,
    )


def write_rendered(
    rendered: Rendered, path, bpm: float, channel: int, program: int, title: str
) -> None:
    part = Part(name=title, channel=channel, program=program, is_drum=channel == 9,
                notes=rendered.notes)
    write_midi(path, [part], bpm=bpm, title=title)


def terminal_progress(label: str):
    """A one-line progress bar on stderr when it is a terminal; None otherwise."""
    if not sys.stderr.isatty():
        return None

    def show(fraction: float) -> None:
        filled = int(fraction * 30)
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%}")
        if fraction >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
