"""A loop's phrase as a .mid clip: exactly its bars long, from its downbeat, at the tempo,
ready to drop into a DAW (`c`apture in the TUI, a button, --capture-dir)."""

from __future__ import annotations

from pathlib import Path

from live.core import vocab
from live.core.controls import Controls
from live.core.errors import EncoreError
from live.core.notes import stretched
from live.core.phrase import phrase_notes
from live.files.midifile import Part, write_midi
from live.files.output_paths import check_writable, unused_path


class ClipError(EncoreError):
    """No clip to write: no loop, or its phrase is still being played for the first time."""


def write_clip(folder, phrase: tuple, controls: Controls, bpm: float, channel: int = 0, program: int = 0,
               bar_of: str = "", others: tuple = ()) -> Path:
    """Write one pass of `phrase` (a beat model's bars) to a new file in `folder`; returns it.
    others: the phrases of more voices as (name, phrase, controls, channel, program), a
    track each beside the lead's."""
    if not phrase:
        raise ClipError("no loop to capture: set a loop length first (--loop BARS, the loop row)")
    missing = [number + 1 for number, bar in enumerate(phrase) if bar is None]
    if missing:
        raise ClipError(f"the loop is still playing its phrase for the first time (bar "
                        f"{bar_of or missing[0]} of {len(phrase)}); capture once it has come round")
    rate = vocab.REFERENCE_BPM / bpm  # performance seconds (at 125 BPM) -> seconds at bpm
    bars = len(phrase)
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ClipError(f"{folder}: not a folder; --capture-dir names the folder clips go to")
    path = unused_path(folder, f"encore-loop-{bars}bar{'s' if bars > 1 else ''}-{bpm:g}bpm.mid")
    check_writable(path, "clips/")
    seconds = bars * 4 * 60.0 / bpm
    voices = [(f"encore loop ({bars} bars)", phrase, controls, channel, program), *others]
    parts = [Part(name=name, channel=ch, program=prog, is_drum=ch == 9,
                  notes=stretched(phrase_notes(bars_of, voice_controls), rate))
             for name, bars_of, voice_controls, ch, prog in voices
             if bars_of and all(bar is not None for bar in bars_of)]
    write_midi(path, parts, bpm=bpm, title="encore loop", length=seconds)
    return path
