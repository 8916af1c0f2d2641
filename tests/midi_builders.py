"""MIDI files built by the tests themselves, byte by byte or through mido."""

from __future__ import annotations

import struct
from pathlib import Path

import mido


def save(path: Path, tracks: list[list], ticks_per_beat: int = 480, type_: int = 1) -> Path:
    """tracks: lists of mido messages whose .time is the delta in ticks."""
    midi = mido.MidiFile(type=type_, ticks_per_beat=ticks_per_beat)
    for messages in tracks:
        midi.tracks.append(mido.MidiTrack(messages))
    midi.save(path)
    return path


def varint(value: int) -> bytes:
    """A variable-length quantity, as a track writes delta times."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def raw_file(path: Path, fmt: int, division: int, track_bodies: list[bytes]) -> Path:
    """A Standard MIDI File from raw track bytes (for running status, SMPTE, ...)."""
    data = b"MThd" + struct.pack(">Lhhh", 6, fmt, len(track_bodies), division)
    for body in track_bodies:
        data += b"MTrk" + struct.pack(">L", len(body)) + body
    path.write_bytes(data)
    return path


def on(note, velocity=100, time=0, channel=0):
    return mido.Message("note_on", note=note, velocity=velocity, time=time, channel=channel)


def off(note, time=0, channel=0):
    return mido.Message("note_off", note=note, velocity=0, time=time, channel=channel)


def cc(control, value, time=0, channel=0):
    return mido.Message("control_change", control=control, value=value, time=time, channel=channel)


def meta(kind, time=0, **fields):
    return mido.MetaMessage(kind, time=time, **fields)


def note_ticks(midi) -> tuple[list[int], list[int]]:
    """(onset ticks, end ticks) of every note in a mido.MidiFile, all tracks."""
    onsets, ends = [], []
    for track in midi.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                onsets.append(tick)
            elif message.type in ("note_on", "note_off"):
                ends.append(tick)
    return onsets, ends


def tempos_bpm(midi) -> list[float]:
    """Every set_tempo of a mido.MidiFile, in BPM to 3 places."""
    import mido

    return [round(mido.tempo2bpm(m.tempo), 3) for track in midi.tracks for m in track if m.type == "set_tempo"]
