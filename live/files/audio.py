"""A rendered .mid -> a .wav through FluidSynth, where it is installed.

The file appears whole or not at all (FluidSynth writes a `.part` that is renamed at the
end, and removed on failure or Ctrl-C), and it is peak-normalised: FluidSynth's own level
for one melodic line peaks around -29 dBFS, too quiet to audition against a track."""

from __future__ import annotations

import os
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

from live.core.errors import EncoreError

SOUNDFONT_PLACES = [
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
]
INSTALL = "Debian/Ubuntu: apt install fluidsynth timgm6mb-soundfont"
PEAK_DBFS = -1.0  # where the loudest sample lands
CHUNK_FRAMES = 1 << 16  # normalise in pieces: an hour of audio is 600 MB


class AudioError(EncoreError):
    """--wav cannot be made: says what is missing or wrong, and that the .mid is kept."""


def is_soundfont(path: Path) -> bool:
    """A SoundFont 2 file starts 'RIFF', a size, then 'sfbk'."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
    except OSError:
        return False
    return head[:4] == b"RIFF" and head[8:12] == b"sfbk"


def check_soundfont(explicit: str | None) -> None:
    """A soundfont given by name must be one (FluidSynth would fall back to its default
    in silence): checked before rendering starts."""
    if explicit is None:
        return
    path = Path(explicit)
    if not path.is_file():
        raise AudioError(f"{path}: no such soundfont file; give a .sf2 file to --soundfont")
    if not is_soundfont(path):
        raise AudioError(f"{path}: not a SoundFont 2 (.sf2) file; give a .sf2 file to --soundfont")


def find_soundfont(explicit: str | None = None) -> Path | None:
    for candidate in [explicit, os.environ.get("ENCORE_SOUNDFONT"), *SOUNDFONT_PLACES]:
        if candidate and Path(candidate).is_file() and is_soundfont(Path(candidate)):
            return Path(candidate)
    return None


def check_audio_tools(soundfont: str | None) -> tuple[str, Path]:
    """(FluidSynth, the soundfont) for --wav, found before the render: one clear line,
    and no render wasted, where either is missing."""
    binary = shutil.which("fluidsynth")
    if binary is None:
        raise AudioError(f"--wav needs FluidSynth: install it ({INSTALL}), or leave out --wav")
    check_soundfont(soundfont)
    font = find_soundfont(soundfont)
    if font is None:
        raise AudioError(
            f"--wav needs a General MIDI soundfont (.sf2): install one ({INSTALL}) or give "
            "--soundfont FILE.sf2"
        )
    return binary, font


def render_wav(midi_path, wav_path, soundfont: str | None = None, rate: int = 44100) -> None:
    """MIDI -> WAV through FluidSynth, where it is installed; one clear line where not."""
    midi_path, wav_path = Path(midi_path), Path(wav_path)
    binary, font = check_audio_tools(soundfont)
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    partial = wav_path.with_name(wav_path.name + ".part")
    command = [binary, "-ni", "-q", "-T", "wav", "-F", str(partial), "-r", str(rate),
               str(font), str(midi_path)]
    try:
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 or not partial.is_file() or partial.stat().st_size <= 44:
            reason = (result.stderr or result.stdout).strip().splitlines()
            raise AudioError(
                f"{wav_path}: FluidSynth failed ({reason[-1] if reason else 'no output'}); "
                f"{midi_path} was written"
            )
        normalise_peak(partial, PEAK_DBFS)
        os.replace(partial, wav_path)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"{midi_path} was written, {wav_path} was not") from None
    finally:
        partial.unlink(missing_ok=True)


def normalise_peak(path: Path, peak_dbfs: float) -> float:
    """Scale 16-bit PCM in place so its loudest sample sits at peak_dbfs; returns the gain.
    Silence stays silence."""
    with wave.open(str(path), "rb") as source:
        if source.getsampwidth() != 2:
            return 1.0
        params = source.getparams()
        peak = 0
        while frames := source.readframes(CHUNK_FRAMES):
            samples = np.frombuffer(frames, dtype="<i2")
            peak = max(peak, int(np.abs(samples.astype(np.int32)).max(initial=0)))
    if peak == 0:
        return 1.0
    gain = (10 ** (peak_dbfs / 20) * 32767) / peak
    scaled = path.with_name(path.name + ".gain")
    try:
        with wave.open(str(path), "rb") as source, wave.open(str(scaled), "wb") as target:
            target.setparams(params)
            while frames := source.readframes(CHUNK_FRAMES):
                samples = np.frombuffer(frames, dtype="<i2").astype(np.float64) * gain
                target.writeframes(np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes())
        os.replace(scaled, path)
    finally:
        scaled.unlink(missing_ok=True)
    return gain
