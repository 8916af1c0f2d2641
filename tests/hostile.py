"""Hostile inputs, made from a random.Random: damaged and crafted MIDI files, event
files, knob maps, model metadata, corpus arrays and command-line numbers.

The fuzz tests (tests/fuzz) draw them through hypothesis (st.randoms(), so a failure
shrinks and replays); tools/fuzz.py draws many more of them for as long as it is given.
Each maker returns what to write and nothing else: the checks are the callers'."""

from __future__ import annotations

import io
import json
import random
import struct
import warnings

import mido
import numpy as np

from midi_builders import varint

# ---------------------------------------------------------------- MIDI


def good_midi(rng: random.Random) -> bytes:
    """A small, valid file: a melody, a tempo, a key and a time signature."""
    midi = mido.MidiFile(ticks_per_beat=rng.choice([96, 480, 960]))
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=rng.randrange(300_000, 900_000)))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4))
    track.append(mido.MetaMessage("key_signature", key=rng.choice(["C", "Am", "F#", "Eb"])))
    for _ in range(rng.randrange(1, 24)):
        pitch = rng.randrange(36, 96)
        track.append(mido.Message("note_on", note=pitch, velocity=rng.randrange(1, 128), time=rng.randrange(0, 500)))
        track.append(mido.Message("note_off", note=pitch, time=rng.randrange(1, 500)))
    out = io.BytesIO()
    midi.save(file=out)
    return out.getvalue()


def _header(fmt: int, tracks: int, division: int) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, fmt, tracks, division & 0xFFFF)


def _track(body: bytes, declared: int | None = None) -> bytes:
    return b"MTrk" + struct.pack(">I", len(body) if declared is None else declared) + body


CRAFTED = (
    "division 0", "smpte 0 ticks", "huge delta", "key of 8 sharps", "format 2", "track length lies",
    "no tracks", "running status without a status", "sysex without end", "meta length huge",
    "note-ons only", "empty", "header only", "riff", "100 tracks declared", "tempo 0",
    "gap of 1e8 seconds", "pitch bend storm", "deep delta chain",
)


def crafted_midi(kind: str) -> bytes:
    """One of the files fuzzing broke mido or encore with (CRAFTED names them)."""
    note = b"\x00\x90\x3c\x40\x60\x80\x3c\x00"
    end = b"\x00\xff\x2f\x00"
    if kind == "division 0":
        return _header(0, 1, 0) + _track(note + end)
    if kind == "smpte 0 ticks":
        return _header(0, 1, 0xE700) + _track(note + end)
    if kind == "huge delta":
        return _header(0, 1, 480) + _track(b"\xff" * 160 + b"\x7f\x90\x3c\x40" + end)
    if kind == "key of 8 sharps":
        return _header(0, 1, 480) + _track(b"\x00\xff\x59\x02\x08\x00" + note + end)
    if kind == "format 2":
        return _header(2, 1, 480) + _track(note + end)
    if kind == "track length lies":
        return _header(0, 1, 480) + _track(note + end, declared=10**9)
    if kind == "no tracks":
        return _header(1, 0, 480)
    if kind == "running status without a status":
        return _header(0, 1, 480) + _track(b"\x00\x3c\x40\x10\x3c\x00" + end)
    if kind == "sysex without end":
        return _header(0, 1, 480) + _track(b"\x00\xf0\x7e\x7f\x09" + b"\x01" * 40)
    if kind == "meta length huge":
        return _header(0, 1, 480) + _track(b"\x00\xff\x03\xff\xff\xff\x7f" + b"x" * 20)
    if kind == "note-ons only":
        return _header(0, 1, 480) + _track(b"".join(b"\x10\x90" + bytes([p, 90]) for p in range(40, 90)) + end)
    if kind == "empty":
        return b""
    if kind == "header only":
        return b"MThd"
    if kind == "riff":
        return b"RIFF\x00\x00\x00\x00RMIDdata"
    if kind == "100 tracks declared":
        return _header(1, 100, 480) + _track(note + end)
    if kind == "tempo 0":
        return _header(0, 1, 480) + _track(b"\x00\xff\x51\x03\x00\x00\x00" + note + end)
    if kind == "gap of 1e8 seconds":
        return _header(0, 1, 96) + _track(note + varint(int(1e8 * 2 * 96)) + b"\x90\x3e\x40\x60\x80\x3e\x00" + end)
    if kind == "pitch bend storm":
        return _header(0, 1, 480) + _track(b"".join(b"\x00\xe0\x7f\x7f" for _ in range(500)) + note + end)
    if kind == "deep delta chain":
        return _header(0, 1, 480) + _track(b"".join(b"\x81\x80\x80\x00\x90\x3c\x40" for _ in range(50)) + end)
    raise ValueError(kind)


def mutated_midi(rng: random.Random) -> bytes:
    """A valid file damaged the ways files are: bytes flipped, cut, inserted, a chunk
    length or header field changed, a varint run made long."""
    data = bytearray(rng.choice([good_midi(rng), crafted_midi(rng.choice(CRAFTED))]))
    for _ in range(rng.randrange(1, 6)):
        how = rng.randrange(6)
        if not data:
            data += b"MThd"
        position = rng.randrange(len(data))
        if how == 0:
            data[position] = rng.randrange(256)
        elif how == 1:
            del data[position:position + rng.randrange(1, 16)]
        elif how == 2:
            data[position:position] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        elif how == 3 and len(data) >= 14:
            field = rng.choice([(8, ">H"), (10, ">H"), (12, ">H"), (4, ">I")])
            data[field[0]:field[0] + struct.calcsize(field[1])] = struct.pack(
                field[1], rng.choice([0, 1, 2, 0x7FFF, 0xE700, 0xFFFF] if field[1] == ">H" else [0, 6, 2**31]))
        elif how == 4:
            data[position:position] = b"\xff" * rng.randrange(1, 200) + b"\x00"
        else:
            data = data[:position]
    return bytes(data)


# ---------------------------------------------------------------- event files


def _json_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rng.randrange(-5, 400)
    if kind == 1:
        return rng.choice([1e400, -1e400, 0.5, 3.0, 387.0, 10**rng.randrange(1, 40)])
    if kind == 2:
        return rng.choice(["300", "x", "", "²", "1e3", "٣", " 60 "])
    if kind == 3:
        return rng.choice([True, False, None])
    if kind == 4:
        return rng.randrange(0, 388)
    if kind == 5:
        return 10 ** rng.randrange(20, 60)
    if kind == 6:
        return [_json_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 7:
        return {"events": [_json_value(rng, depth + 1) for _ in range(rng.randrange(4))]}
    return {rng.choice(["events", "x", ""]): _json_value(rng, depth + 1)}


def event_file_text(rng: random.Random) -> str:
    """What `encore decode` may be handed: JSON of any shape, plain numbers, junk."""
    kind = rng.randrange(7)
    if kind == 0:
        return json.dumps([_json_value(rng) for _ in range(rng.randrange(1, 12))])
    if kind == 1:
        return json.dumps({"events": [rng.randrange(0, 388) for _ in range(rng.randrange(30))]})
    if kind == 2:
        depth = rng.choice([50, 2000, 100_000])
        return "[" * depth + "]" * depth
    if kind == 3:
        return "[" + "9" * rng.choice([10, 4301, 5000]) + "]"
    if kind == 4:
        return " ".join(str(rng.randrange(-10, 500)) for _ in range(rng.randrange(1, 30)))
    if kind == 5:
        return "".join(rng.choice("[]{}0123456789,.:\"e-+ \nx") for _ in range(rng.randrange(1, 60)))
    return json.dumps(_json_value(rng))


# ---------------------------------------------------------------- knob maps


def _toml_value(rng: random.Random) -> str:
    return rng.choice([
        str(rng.randrange(-300, 300)), "nan", "inf", "-inf", "1e308", "true", '"x"', '"scale"', "[]",
        "{a = 1}", "0.5", "-0.0", "1_000", '"density"', '"temperature"', '"log"', '"linear"',
        str(rng.random() * 10), "9" * 30,
    ])


def knob_map_text(rng: random.Random) -> str:
    """A knob map file: [[knob]] tables with fields right, wrong, missing or unknown."""
    if rng.random() < 0.1:
        depth = rng.choice([10, 5000])
        return "a = " + "[" * depth + "]" * depth + "\n"
    if rng.random() < 0.1:
        return "".join(rng.choice("[]=\"\n knob.cc1") for _ in range(rng.randrange(1, 80)))
    lines = []
    for _ in range(rng.randrange(0, 4)):
        lines.append(rng.choice(["[[knob]]", "[knob]", "[[knob]]", "[[other]]"]))
        for key in rng.sample(["cc", "control", "channel", "min", "max", "curve", "extra"], rng.randrange(0, 7)):
            if key == "control" and rng.random() < 0.7:
                value = '"' + rng.choice(["temperature", "density", "scale", "top_p", "low", "grid", "next",
                                          "harmony", "variation", "max_note_seconds", "loop", "bogus"]) + '"'
            else:
                value = _toml_value(rng)
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- model metadata


METADATA_KEYS = ("encore.kind", "encore.vocab", "encore.window", "encore.layers", "encore.hidden",
                 "encore.primers", "encore.time", "encore.steps_per_beat", "encore.pad_event",
                 "encore.val_nll", "encore.params", "encore.train_events", "encore.weights")


def _metadata_value(rng: random.Random, key: str) -> str | None:
    if key == "encore.primers":
        return rng.choice([
            "[]", "[[1, 2, 3]]", "5", "banana", "[[999]]", "[[1.5]]", "[[true]]", "[" * 5000 + "]" * 5000,
            json.dumps([[1, 2]] * rng.choice([10, 1001, 20_000])), json.dumps([list(range(300)) * 40]), "",
        ])
    return rng.choice([
        None, "", "stream", "window", "performance-388", "beats", "seconds", "0", "1", "48", "300", "388",
        "-1", "banana", "nan", "inf", "1e400", "9" * 5000, "100000000000", "int8", "0.5", "²",
    ])


def with_metadata(source, target, entries: dict[str, str | None]):
    """The model file `source` written to `target` with metadata entries set (added where
    missing; None removes one). target may be source."""
    import onnx

    proto = onnx.load(source)
    props = {p.key: p.value for p in proto.metadata_props}
    props.update(entries)
    del proto.metadata_props[:]
    for key, value in props.items():
        if value is not None:
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
    onnx.save(proto, target)
    return target


def model_metadata(rng: random.Random) -> dict[str, str | None]:
    """Entries to set on a working model file's metadata (None: remove the entry)."""
    return {key: _metadata_value(rng, key) for key in rng.sample(METADATA_KEYS, rng.randrange(1, 5))}


# ---------------------------------------------------------------- corpora


def corpus_arrays(rng: random.Random, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A built corpus's arrays with some made wrong: NaN, out of range, other dtypes and
    shapes, offsets that do not cut, entries missing or foreign."""
    arrays = {name: array.copy() for name, array in arrays.items()}
    for _ in range(rng.randrange(1, 4)):
        name = rng.choice(sorted(arrays) + ["extra"])
        how = rng.randrange(7)
        if name == "extra":
            arrays["extra"] = np.arange(3)
        elif how == 0:
            del arrays[name]
        elif how == 1 and arrays[name].dtype.kind == "f" and arrays[name].size:
            flat = arrays[name].reshape(-1)
            flat[rng.randrange(flat.size)] = rng.choice([np.nan, np.inf, -1.0, 1e12, 128.0, 0.5])
        elif how == 2 and arrays[name].ndim:
            arrays[name] = arrays[name][: max(0, len(arrays[name]) - rng.randrange(1, 3))]
        elif how == 3:
            try:
                with warnings.catch_warnings():  # complex to real, inf to int: the damage is the point
                    warnings.simplefilter("ignore")
                    arrays[name] = arrays[name].astype(rng.choice([np.complex64, np.int8, np.bool_, "U3",
                                                                   np.float16]))
            except ValueError:  # text that is no number stays text
                arrays[name] = arrays[name].astype("U3")
        elif how == 4:
            arrays[name] = np.array(rng.choice(["", "x", "{}", "[]", "encore-corpus-v1", "null"]))
        elif how == 5 and arrays[name].ndim:
            arrays[name] = arrays[name][::-1].copy()
        else:
            arrays[name] = arrays[name].reshape(-1) if arrays[name].ndim > 1 else arrays[name].reshape(-1, 1)
    return arrays


# ---------------------------------------------------------------- numbers


NUMBER_TEXTS = (
    "nan", "NaN", "inf", "-inf", "Infinity", "1e308", "1e309", "-1e308", "1e-320", "0", "-0", "-1", "1",
    "0.5", "2", "127", "128", "255", "256", "1000", "86401", "99999999999", "9" * 5000, "0x10", "1_000",
    "²", "٣", "", " ", " 5 ", "5.", ".5", "1e", "--1", "+3", "True", "None", "1/4", "C4", "A:minor", "off",
    "\x00", "1\x00", "-", "1e400", "4294967296", "2**70",
)


def number_text(rng: random.Random) -> str:
    """What a typo or a fuzzer may give an option that takes a number (or a name)."""
    if rng.random() < 0.8:
        return rng.choice(NUMBER_TEXTS)
    return repr(rng.uniform(-1e6, 1e6)) if rng.random() < 0.5 else str(rng.randrange(-10**6, 10**6))
