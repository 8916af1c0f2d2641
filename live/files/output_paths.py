"""Files encore writes, checked before the work that fills them begins: a render or a
set's recording never fails at its end for a path that was wrong from the start."""

from __future__ import annotations

import os
from pathlib import Path

from live.core.errors import EncoreError

AUDIO_SUFFIXES = {".wav", ".mp3", ".flac", ".ogg", ".aif", ".aiff", ".m4a"}


class OutputPathError(EncoreError):
    """A file encore was asked to write cannot be written there: names it and says why."""


def check_writable(path, example: str) -> Path:
    """A file can be created at `path`, in a folder that exists; one clear line if not.

    A missing folder is refused, not made: a typo (`/nonexist/x.mid`) would otherwise leave
    folders behind in odd places. The rest it tries for real, because only the file system
    knows (read-only mounts, /proc, permissions, a full disk), and leaves nothing behind.
    `~` is the home folder, also where no shell expanded it (`--record=~/take.mid`).
    Returns the path to write."""
    text = str(path)
    path = Path(path).expanduser()
    try:
        return _check_writable(path, text, example)
    except OSError as err:  # a name too long, a loop of links: stat itself fails
        raise OutputPathError(
            f"{_shown(path)}: cannot write here ({err.strerror or err}); choose another name"
        ) from None


# Room for what is made beside the file: the probe and the temporary file of a write.
_SIDE_NAME_BYTES = 40


def _shown(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 120 else text[:60] + "..." + text[-40:]


def _check_writable(path: Path, text: str, example: str) -> Path:
    if path.is_symlink():
        # the file is written beside and renamed over: over a link that would replace the
        # link, so the file it names is the one written
        try:
            path = Path(os.path.realpath(path, strict=True)) if path.exists() else path.resolve()
        except (OSError, RuntimeError):
            raise OutputPathError(f"{_shown(path)}: a symbolic link loop (the link leads back to itself); "
                                  "choose another name") from None
    name_bytes = len(os.fsencode(path.name))
    try:
        most = os.pathconf(path.parent if path.parent.is_dir() else ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        most = 255
    if name_bytes + _SIDE_NAME_BYTES > most:
        raise OutputPathError(f"{_shown(path)}: the file name is {name_bytes} bytes; this file system takes "
                              f"{most}, and encore writes beside it first: use {most - _SIDE_NAME_BYTES} at most")
    if path.is_dir() or text.endswith(("/", os.sep)):
        raise OutputPathError(f"{path}: is a folder; give a file name in it, like {path / example}")
    if path.exists() and not path.is_file():
        # a file is written beside and renamed over: a FIFO or a device there would be replaced
        raise OutputPathError(f"{path}: is not a plain file (a FIFO, a device, a socket); name a file to write")
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise OutputPathError(
            f"{path}: the folder {folder} {what}; create it first (mkdir -p {folder}) or choose another"
        )
    probe = path.with_name(f".{path.name}.encore-probe-{os.getpid()}")
    try:
        with open(probe, "xb"):
            pass
        probe.unlink()
    except OSError as err:
        raise OutputPathError(
            f"{path}: cannot write here ({err.strerror or err}); choose another folder"
        ) from None
    return path


OTHER_KINDS = {".svg": "a picture", ".png": "a picture", ".onnx": "a model", ".npz": "a corpus",
               ".json": "events", ".toml": "a knob map", ".txt": "text"}


def check_midi_output(path, audio_hint: str = "") -> Path:
    """A .mid file to be written: not a name that promises audio, and writable."""
    path = Path(path).expanduser()
    if path.suffix.lower() in AUDIO_SUFFIXES:
        raise OutputPathError(
            f"{path}: encore writes MIDI here, not audio; name it {path.with_suffix('.mid').name}"
            + audio_hint
        )
    if path.suffix.lower() in OTHER_KINDS:
        # a picture, a model or a corpus of the musician's own must not become a MIDI file
        raise OutputPathError(
            f"{path}: encore writes a MIDI file here, not {OTHER_KINDS[path.suffix.lower()]}; "
            f"name it {path.with_suffix('.mid').name}"
        )
    return check_writable(path, "take.mid")


def check_wav_output(path) -> Path:
    """A .wav file FluidSynth will write."""
    path = Path(path).expanduser()
    if path.suffix.lower() != ".wav":
        raise OutputPathError(f"{path}: --wav writes WAV audio; name it {path.with_suffix('.wav').name}")
    return check_writable(path, "take.wav")


def check_svg_output(path) -> Path:
    """A piano roll picture: SVG, written directly (a PNG would need a plotting library)."""
    path = Path(path).expanduser()
    if path.suffix.lower() != ".svg" and not path.is_dir():  # a folder: check_writable says so
        raise OutputPathError(
            f"{path}: encore draws the roll as SVG (any browser opens it); name it {path.with_suffix('.svg').name}"
        )
    return check_writable(path, "roll.svg")


def same_file(a, b) -> bool:
    """Do two paths name one file (an input given as the output too)?"""
    try:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
    except OSError:
        return False


def replace_atomically(path: Path, write) -> None:
    """write(temporary path), then rename it over `path`: a write that fails (a full disk,
    a size limit, Ctrl-C) leaves the old file whole, never half-written."""
    temporary = path.with_name(f".{path.name}.encore-{os.getpid()}.part")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def unused_path(folder, name: str) -> Path:
    """`name` in `folder`, or name-2, name-3 ... when taken: a new render never
    overwrites the last one, which the musician may still want."""
    folder, base = Path(folder), Path(name)
    path, number = folder / base, 1
    while path.exists():
        number += 1
        path = folder / f"{base.stem}-{number}{base.suffix}"
    return path
