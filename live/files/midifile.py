"""Standard MIDI Files <-> parts of notes in seconds, through mido.

Reading keeps what a melody model needs and what a musician would expect kept:
  - formats 0 and 1 (format 2 holds independent sequences with no shared time line:
    refused with a clear error);
  - every tempo change, from any track, mapped to absolute seconds; SMPTE time too;
  - note_on with velocity 0 is a note-off; a note-on of a sounding pitch re-strikes;
    a note-off of a silent pitch is ignored; notes still open end with their track;
  - one part per (track, channel), with its program and track name; channel 10 is
    drums, kept apart;
  - the sustain pedal (CC 64 >= 64 is down) lengthens notes as Performance RNN does:
    a key released under the pedal sounds until the pedal lifts or the pitch is
    struck again.

Writing makes a format 1 file at 480 ticks per beat: a conductor track (title,
tempo, time signature) and one track per part (name, program, channel).
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass, field
from pathlib import Path

import mido

from live.core.errors import MidiFileError
from live.core.notes import Note, sort_notes, stretched
from live.core.vocab import REFERENCE_BEAT_SECONDS
from live.files.output_paths import replace_atomically
from live.files.input_paths import input_problem

DRUM_CHANNEL = 9  # channel 10 as musicians count
WRITE_TICKS_PER_BEAT = 480
SUSTAIN_CC = 64
SUSTAIN_DOWN_AT = 64


@dataclass
class Part:
    """The notes of one track on one channel."""

    name: str
    channel: int  # 0..15
    program: int = 0
    is_drum: bool = False
    notes: list[Note] = field(default_factory=list)
    track: int = 0

    @property
    def label(self) -> str:
        shown = self.name or f"track {self.track}"
        return f"{shown} (ch {self.channel + 1})"


@dataclass
class Song:
    """What a MIDI file holds, in seconds."""

    parts: list[Part]
    path: Path | None = None
    format: int = 1
    title: str = ""
    tempos: list[tuple[float, float]] = field(default_factory=lambda: [(0.0, 120.0)])
    time_signature: tuple[int, int] = (4, 4)
    duration: float = 0.0

    @property
    def bpm(self) -> float:
        """The tempo in force at the start."""
        return self.tempos[0][1]

    def pitched_parts(self) -> list[Part]:
        return [p for p in self.parts if not p.is_drum and p.notes]


# ---------------------------------------------------------------- reading


def read_midi(path: str | Path, beats: bool = False) -> Song:
    """Read a .mid file; any failure is a MidiFileError naming the file and the cause.
    beats=True reads time in beats, not seconds: a note's times are its quarter notes
    from tick 0 x 0.48 s (the reference 125 BPM of beat models), the tempo map ignored,
    so a note on the file's grid lands on the model's grid exactly."""
    path = Path(path)
    midi = _open(path)
    if midi.type == 2:
        raise MidiFileError(
            path,
            "format 2 (independent sequences) is not supported; "
            "save it as format 0 or 1 from your sequencer",
        )
    try:
        return _song_from(midi, path, beats)
    except MidiFileError:
        raise
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as err:
        raise MidiFileError(path, f"corrupt MIDI data ({err})") from None


def _open(path: Path) -> mido.MidiFile:
    problem = input_problem(path, folder="is a folder, not a MIDI file")
    if problem:
        raise MidiFileError(path, problem)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        # mido holds every message as an object: 15 MB took 2.2 GB and 80 s, 50 MB 8 GB
        raise MidiFileError(path, f"{size / 1e6:,.0f} MB is larger than encore reads "
                                  f"({MAX_FILE_BYTES // 10**6} MB at most; a melody file is rarely 1 MB)")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except PermissionError:
        raise MidiFileError(path, "cannot be read (permission denied)") from None
    except OSError as err:
        raise MidiFileError(path, f"cannot be read ({err.strerror or err})") from None
    if not magic:
        raise MidiFileError(path, "is empty (0 bytes)")
    if magic == b"RIFF":
        with path.open("rb") as handle:
            kind = handle.read(12)[8:12]
        if kind == b"RMID":
            raise MidiFileError(path, "RIFF MIDI (.rmi) is not supported; save it as a plain .mid")
        what = "WAV audio" if kind == b"WAVE" else f"a RIFF {kind.decode('latin-1')!r} file"
        raise MidiFileError(path, f"not a MIDI file ({what}); give a Standard MIDI File")
    if magic != b"MThd":
        raise MidiFileError(path, "not a MIDI file (no MThd header); give a Standard MIDI File")
    try:
        # clip=True: data bytes over 127 (common in hand-edited files) are clamped
        # rather than rejected.
        return mido.MidiFile(path, clip=True)
    except PermissionError:
        raise MidiFileError(path, "cannot be read (permission denied)") from None
    except EOFError:
        raise MidiFileError(path, "truncated: the file ends before its data does") from None
    except OSError as err:
        if "MThd" in str(err):
            raise MidiFileError(
                path, "not a MIDI file (no MThd header); give a Standard MIDI File"
            ) from None
        raise MidiFileError(path, f"corrupt MIDI data ({err})") from None
    except (ValueError, KeyError, IndexError, struct.error, UnicodeError, OverflowError,
            mido.midifiles.meta.KeySignatureError) as err:  # a key of 8 sharps, a varint of 1,024 bits
        raise MidiFileError(path, f"corrupt MIDI data ({type(err).__name__}: {err})") from None
    except MemoryError:
        raise MidiFileError(path, "too large to read (it asks for more memory than there is)") from None


class _TempoMap:
    """Absolute ticks -> seconds under every tempo change of the file."""

    def __init__(self, changes: list[tuple[int, int]], ticks_per_beat: int):
        self.ticks_per_beat = ticks_per_beat
        self.ticks = [0]
        self.tempos = [500_000]  # MIDI's default, 120 BPM
        self.seconds = [0.0]
        for tick, tempo in sorted(changes):
            if tick == self.ticks[-1]:
                self.tempos[-1] = tempo
                continue
            self.seconds.append(self.to_seconds(tick))
            self.ticks.append(tick)
            self.tempos.append(tempo)

    def to_seconds(self, tick: int) -> float:
        i = bisect.bisect_right(self.ticks, tick) - 1
        per_tick = self.tempos[i] / 1e6 / self.ticks_per_beat
        return self.seconds[i] + (tick - self.ticks[i]) * per_tick

    def bpms(self) -> list[tuple[float, float]]:
        return [(s, mido.tempo2bpm(t)) for s, t in zip(self.seconds, self.tempos)]


class _BeatClock:
    """Ticks -> beat time: quarter notes x 0.48 s, whatever the tempo (see read_midi)."""

    def __init__(self, ticks_per_beat: int):
        self.per_tick = REFERENCE_BEAT_SECONDS / ticks_per_beat

    def to_seconds(self, tick: int) -> float:
        return tick * self.per_tick

    def bpms(self) -> list[tuple[float, float]]:
        return [(0.0, 60.0 / REFERENCE_BEAT_SECONDS)]


class _SmpteClock:
    """SMPTE division: a fixed number of ticks per second, tempo changes ignored."""

    def __init__(self, division: int):
        raw = division & 0xFFFF
        fps = 256 - (raw >> 8)
        fps = 29.97 if fps == 29 else float(fps)
        self.per_tick = 1.0 / (fps * (raw & 0xFF))

    def to_seconds(self, tick: int) -> float:
        return tick * self.per_tick

    def bpms(self) -> list[tuple[float, float]]:
        return [(0.0, 120.0)]


MAX_TICKS = 10**12  # at 480 a beat and 120 BPM: 33 years
MAX_FILE_BYTES = 8 * 10**6  # mido takes ~150 MB and 5 s a MB: 8 MB is 1.2 GB, 40 s
# Longer is a corrupt delta time, not a song: a gap of 1e8 s would be 1e8 time shifts
# (an 877-byte file took 1.9 GB to encode).
MAX_SONG_SECONDS = 24 * 3600


def _song_from(midi: mido.MidiFile, path: Path, beats: bool = False) -> Song:
    division = midi.ticks_per_beat
    if division == 0 or (division < 0 and division & 0xFF == 0):
        raise MidiFileError(path, "corrupt header: 0 ticks per beat (or per SMPTE frame)")
    if beats and division < 0:
        raise MidiFileError(path, "SMPTE time (frames, not beats): it has no beat grid to read; "
                                  "use --time seconds for it")

    # Absolute ticks per message, per track.
    timed_tracks = []
    tempo_changes, program_changes, time_sigs = [], [], []
    end_tick = 0
    for track in midi.tracks:
        tick, timed = 0, []
        for msg in track:
            tick += msg.time
            if tick > MAX_TICKS:  # a delta of hundreds of digits: no song, and no float holds it
                raise MidiFileError(path, "corrupt delta times: a moment past any song's end")
            timed.append((tick, msg))
            if msg.type == "set_tempo" and msg.tempo > 0:
                tempo_changes.append((tick, msg.tempo))
            elif msg.type == "program_change":
                program_changes.append((tick, msg.channel, msg.program))
            elif msg.type == "time_signature":
                time_sigs.append((tick, (msg.numerator, msg.denominator)))
        end_tick = max(end_tick, tick)
        timed_tracks.append(timed)

    if beats:
        clock = _BeatClock(division)
    else:
        clock = _SmpteClock(division) if division < 0 else _TempoMap(tempo_changes, division)
    program_changes.sort(key=lambda c: c[0])

    parts, title = [], ""
    for index, timed in enumerate(timed_tracks):
        name = _first_text(timed, "track_name")
        if index == 0 and name:
            title = name
        instrument = _first_text(timed, "instrument_name")
        track_end = clock.to_seconds(timed[-1][0]) if timed else 0.0
        for channel, notes in _track_notes(timed, clock, track_end).items():
            if not notes:
                continue
            first_tick = notes[0][0]
            parts.append(
                Part(
                    name=name or instrument,
                    channel=channel,
                    program=_program_at(program_changes, channel, first_tick),
                    is_drum=channel == DRUM_CHANNEL,
                    notes=sort_notes(note for _, note in notes),
                    track=index,
                )
            )
    time_sigs.sort(key=lambda t: t[0])
    duration = clock.to_seconds(end_tick)
    if duration > MAX_SONG_SECONDS:
        raise MidiFileError(path, f"lasts {duration / 3600:,.0f} hours (a corrupt delta time or a gap far past "
                                  f"any song); encore reads files up to {MAX_SONG_SECONDS // 3600} hours long")
    return Song(
        parts=parts,
        path=path,
        format=midi.type,
        title=title,
        tempos=clock.bpms(),
        time_signature=time_sigs[0][1] if time_sigs else (4, 4),
        duration=duration,
    )


def _first_text(timed, meta_type: str) -> str:
    for _, msg in timed:
        if msg.type == meta_type:
            return msg.name.strip() if hasattr(msg, "name") else ""
    return ""


def _program_at(changes, channel: int, tick: int) -> int:
    program = 0
    for at, ch, prog in changes:
        if at > tick:
            break
        if ch == channel:
            program = prog
    return program


def _track_notes(timed, clock, track_end: float) -> dict[int, list[tuple[int, Note]]]:
    """Pair note-ons with note-offs per channel and apply the sustain pedal.

    Returns channel -> [(onset tick, Note)]; the tick serves the program look-up.
    """
    streams: dict[int, list] = {}
    for tick, msg in timed:
        if msg.type == "note_on" and msg.velocity > 0:
            event = (tick, 1, "on", msg.note, msg.velocity)
        elif msg.type == "note_off" or (msg.type == "note_on" and msg.velocity == 0):
            event = (tick, 1, "off", msg.note, 0)
        elif msg.type == "control_change" and msg.control == SUSTAIN_CC:
            event = (tick, 0, "pedal", msg.value >= SUSTAIN_DOWN_AT, 0)
        else:
            continue
        streams.setdefault(msg.channel, []).append(event)
    # A stable sort on (tick, pedal first): pedal changes act before the notes of
    # their instant, as in note_seq; notes keep their order in the file.
    return {
        channel: _pair_notes(sorted(events, key=lambda e: e[:2]), clock, track_end)
        for channel, events in streams.items()
    }


def _pair_notes(events, clock, track_end: float) -> list[tuple[int, Note]]:
    held: dict[int, tuple] = {}  # pitch -> (start s, velocity, tick): key down
    pedalled: dict[int, tuple] = {}  # pitch -> the same: key up, held by the pedal
    restruck_at: dict[int, int] = {}  # pitch -> tick where a re-strike ended a note
    pedal_down = False
    done = []

    def close(store, pitch, at):
        start, velocity, tick = store.pop(pitch)
        # Zero-length notes are kept: they were played; the codec gives them a step.
        done.append((tick, Note(pitch, start, max(at, start), velocity)))

    for tick, _, kind, value, velocity in events:
        now = clock.to_seconds(tick)
        if kind == "pedal":
            pedal_down = value
            if not pedal_down:
                for pitch in list(pedalled):
                    close(pedalled, pitch, now)
        elif kind == "on":
            for store in (held, pedalled):
                if value in store:
                    close(store, value, now)  # a re-strike ends the old note
                    restruck_at[value] = tick
            held[value] = (now, velocity, tick)
        elif value in held:
            if held[value][2] == tick and restruck_at.get(value) == tick:
                continue  # "on, off" at one tick: this off belonged to the old note
            if pedal_down:
                pedalled[value] = held.pop(value)
            else:
                close(held, value, now)
    for store in (held, pedalled):
        for pitch in list(store):
            close(store, pitch, track_end)
    done.sort(key=lambda d: d[0])
    return done


# ---------------------------------------------------------------- writing


def write_midi(
    path: str | Path,
    parts: list[Part],
    bpm: float = 120.0,
    time_signature: tuple[int, int] = (4, 4),
    title: str = "encore",
    length: float | None = None,
) -> None:
    """Write parts as a format 1 file; reading it back gives the same parts and notes
    (times to within half a tick: 0.5 ms at 120 BPM). length (seconds): every track ends
    exactly there (a clip's length, as a DAW reads it), not at its last note."""
    path = Path(path)
    midi = mido.MidiFile(type=1, ticks_per_beat=WRITE_TICKS_PER_BEAT)
    seconds_per_tick = 60.0 / bpm / WRITE_TICKS_PER_BEAT

    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("track_name", name=title, time=0))
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    numerator, denominator = time_signature
    conductor.append(
        mido.MetaMessage(
            "time_signature", numerator=numerator, denominator=denominator, time=0
        )
    )
    midi.tracks.append(conductor)
    end_tick = None if length is None else round(length / seconds_per_tick)

    for part in parts:
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=part.name, time=0))
        track.append(
            mido.Message("program_change", channel=part.channel, program=part.program, time=0)
        )
        timeline = []  # (tick, 0 = off / 1 = on, pitch, velocity): offs first at a tick
        for n in part.notes:
            timeline.append((round(n.start / seconds_per_tick), 1, n.pitch, n.velocity))
            timeline.append((round(n.end / seconds_per_tick), 0, n.pitch, 0))
        timeline.sort()
        now = 0
        for tick, is_on, pitch, velocity in timeline:
            kind = "note_on" if is_on else "note_off"
            track.append(
                mido.Message(
                    kind, channel=part.channel, note=pitch, velocity=velocity, time=tick - now
                )
            )
            now = tick
        midi.tracks.append(track)
    if end_tick is not None:
        for track in midi.tracks:
            at = sum(message.time for message in track)
            track.append(mido.MetaMessage("end_of_track", time=max(0, end_tick - at)))

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(path, lambda temporary: midi.save(temporary))
    except OSError as err:
        raise MidiFileError(path, f"cannot write ({err.strerror or err})") from None


def write_rendered(rendered, path, bpm: float, channel: int, program: int, title: str,
                   stretch: float = 1.0, others: tuple = ()) -> None:
    """A render (live.core.render.Rendered) as a .mid file, a track a voice; stretch turns
    its performance times into seconds at bpm (a beat model's: 125 / bpm). others: more
    voices as (name, channel, program); the first track is the lead's on `channel`."""
    voices = [(title, channel, program), *others]
    parts = [Part(name=name, channel=ch, program=prog, is_drum=ch == 9,
                  notes=stretched(rendered.notes_on(ch) if others else rendered.notes, stretch))
             for name, ch, prog in voices]
    write_midi(path, parts, bpm=bpm, title=title)
