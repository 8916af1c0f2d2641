import mido
import pytest

from live.core.errors import MidiFileError
from live.files.midifile import Part, read_midi, write_midi
from live.core.notes import Note
from midi_builders import cc, meta, off, on, raw_file, save


def notes_of(part):
    return [(n.pitch, round(n.start, 3), round(n.end, 3), n.velocity) for n in part.notes]


def approx_notes(notes):
    return [(p, pytest.approx(s, abs=1e-3), pytest.approx(e, abs=1e-3), v) for p, s, e, v in notes]


def test_tempo_changes_mid_file_map_to_absolute_seconds(tmp_path):
    # 480 ticks per beat; 120 BPM for two beats (1 s), then 60 BPM (1 s per beat),
    # then 240 BPM from tick 1920 (3 s) on.
    conductor = [
        meta("set_tempo", tempo=500_000),
        meta("set_tempo", tempo=1_000_000, time=960),
        meta("set_tempo", tempo=250_000, time=960),
    ]
    lead = [
        meta("track_name", name="Lead"),
        on(60, time=480), off(60, time=480),  # 0.5 .. 1.0 s
        on(62, time=0), off(62, time=480),  # 1.0 .. 2.0 s
        on(64, time=480), off(64, time=480),  # 3.0 .. 3.25 s
    ]
    song = read_midi(save(tmp_path / "tempo.mid", [conductor, lead]))
    assert [round(b, 3) for _, b in song.tempos] == [120, 60, 240]
    assert [round(s, 3) for s, _ in song.tempos] == [0, 1.0, 3.0]
    (part,) = song.parts
    assert notes_of(part) == approx_notes([(60, 0.5, 1.0, 100), (62, 1.0, 2.0, 100), (64, 3.0, 3.25, 100)])


def test_tempo_in_a_later_track_applies_to_all_tracks(tmp_path):
    lead = [on(60), off(60, time=960)]
    tempo_elsewhere = [meta("set_tempo", tempo=1_000_000)]
    song = read_midi(save(tmp_path / "t.mid", [lead, tempo_elsewhere]))
    assert notes_of(song.parts[0]) == [(60, 0.0, 2.0, 100)]


def test_running_status_and_note_on_velocity_zero_as_note_off(tmp_path):
    # 96 ticks per beat at the default 120 BPM: 96 ticks = 0.5 s.
    body = bytes(
        [0x00, 0x90, 60, 100,  # note on 60
         0x60, 60, 0,  # running status: note on 60 velocity 0 = note off
         0x00, 62, 80,  # running status: note on 62
         0x60, 0x80, 62, 64,  # note off 62
         0x00, 0xFF, 0x2F, 0x00]
    )
    song = read_midi(raw_file(tmp_path / "rs.mid", 0, 96, [body]))
    assert notes_of(song.parts[0]) == [(60, 0.0, 0.5, 100), (62, 0.5, 1.0, 80)]


def test_smpte_time_division(tmp_path):
    # 25 frames per second x 40 ticks per frame = 1000 ticks per second
    division = struct_smpte(25, 40)
    body = bytes([0x00, 0x90, 60, 100, 0x87, 0x68, 0x80, 60, 0,  # 1000 ticks later: off
                  0x00, 0xFF, 0x2F, 0x00])
    song = read_midi(raw_file(tmp_path / "smpte.mid", 0, division, [body]))
    assert notes_of(song.parts[0]) == [(60, 0.0, 1.0, 100)]


def struct_smpte(fps, ticks_per_frame):
    raw = ((256 - fps) << 8) | ticks_per_frame
    return raw - 65536  # as the signed 16-bit field of the header


def test_several_tracks_channels_programs_and_drums_kept_apart(tmp_path):
    tracks = [
        [meta("track_name", name="My Song"), meta("time_signature", numerator=3, denominator=4)],
        [meta("track_name", name="Bass"), mido.Message("program_change", channel=1, program=33),
         on(36, channel=1), off(36, time=480, channel=1)],
        [meta("track_name", name="Drums"), on(36, channel=9), off(36, time=60, channel=9)],
        [meta("track_name", name="Keys"), mido.Message("program_change", channel=2, program=4),
         on(60, channel=2), on(64, channel=3), off(60, time=240, channel=2), off(64, channel=3)],
    ]
    song = read_midi(save(tmp_path / "multi.mid", tracks))
    assert song.title == "My Song" and song.time_signature == (3, 4)
    summary = [(p.name, p.channel, p.program, p.is_drum, len(p.notes)) for p in song.parts]
    assert summary == [
        ("Bass", 1, 33, False, 1),
        ("Drums", 9, 0, True, 1),
        ("Keys", 2, 4, False, 1),
        ("Keys", 3, 0, False, 1),
    ]
    assert [p.name for p in song.pitched_parts()] == ["Bass", "Keys", "Keys"]


def test_format_0_with_several_channels_gives_one_part_per_channel(tmp_path):
    track = [on(60, channel=0), on(40, channel=1), off(60, time=480, channel=0), off(40, channel=1)]
    song = read_midi(save(tmp_path / "f0.mid", [track], type_=0))
    assert song.format == 0
    assert [(p.channel, notes_of(p)) for p in song.parts] == [
        (0, [(60, 0.0, 0.5, 100)]),
        (1, [(40, 0.0, 0.5, 100)]),
    ]


def test_sustain_pedal_lengthens_notes_until_it_lifts(tmp_path):
    track = [
        cc(64, 127),
        on(60), off(60, time=240),  # key up at 0.25 s, pedal still down
        on(64, time=240), off(64, time=240),  # 0.5 .. 0.75 s
        cc(64, 0, time=480),  # pedal up at 1.25 s
        on(67), off(67, time=240),  # after the pedal: as played
    ]
    song = read_midi(save(tmp_path / "pedal.mid", [track]))
    assert notes_of(song.parts[0]) == [
        (60, 0.0, 1.25, 100), (64, 0.5, 1.25, 100), (67, 1.25, 1.5, 100),
    ]


def test_restrike_under_the_pedal_ends_the_sustained_note(tmp_path):
    track = [
        cc(64, 100), on(60), off(60, time=240),
        on(60, time=240), off(60, time=240),  # struck again at 0.5 s
        cc(64, 10, time=240),  # pedal up at 1.0 s
    ]
    song = read_midi(save(tmp_path / "pedal2.mid", [track]))
    assert notes_of(song.parts[0]) == [(60, 0.0, 0.5, 100), (60, 0.5, 1.0, 100)]


def test_overlapping_same_pitch_restrikes_and_stray_note_offs(tmp_path):
    track = [
        off(50),  # a note-off of a silent pitch: ignored
        on(60), on(60, time=480, velocity=70),  # re-strike at 0.5 s ends the first
        off(60, time=480), off(60, time=480),  # second off: silent pitch, ignored
        off(60, time=0), on(60, velocity=90), off(60, time=240),  # off then on at one tick
    ]
    song = read_midi(save(tmp_path / "restrike.mid", [track]))
    assert notes_of(song.parts[0]) == [
        (60, 0.0, 0.5, 100), (60, 0.5, 1.0, 70), (60, 1.5, 1.75, 90),
    ]


def test_on_then_off_at_one_tick_after_a_restrike_belongs_to_the_old_note(tmp_path):
    track = [on(60), on(60, time=480, velocity=70), off(60), off(60, time=480)]
    song = read_midi(save(tmp_path / "onoff.mid", [track]))
    assert notes_of(song.parts[0]) == [(60, 0.0, 0.5, 100), (60, 0.5, 1.0, 70)]


def test_notes_left_open_end_with_their_track(tmp_path):
    track = [on(60), on(64, time=240), meta("end_of_track", time=720)]
    song = read_midi(save(tmp_path / "open.mid", [track]))
    assert notes_of(song.parts[0]) == [(60, 0.0, 1.0, 100), (64, 0.25, 1.0, 100)]


# ---------------------------------------------------------------- bad files


def test_format_2_is_refused_clearly(tmp_path):
    path = save(tmp_path / "f2.mid", [[on(60), off(60, time=10)]], type_=2)
    with pytest.raises(MidiFileError, match="format 2.*format 0 or 1"):
        read_midi(path)


@pytest.mark.parametrize(
    "content, cause",
    [
        (None, "no such file"),
        (b"", "is empty"),
        (b"MThd\x00\x00", "truncated"),
        (b"RIFF\x00\x00\x00\x00RMIDdata", "RIFF MIDI"),
        (b"hello, I am a text file\n" * 3, "not a MIDI file"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x00\x10\x00\x90", "truncated"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0XXXX\x00\x00\x00\x04\x00\xff\x2f\x00", "corrupt"),
        (b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\x00\x04\x00\xf4\x01\x02", "corrupt"),
    ],
    ids=["missing", "empty", "header-cut", "rmi", "text", "truncated", "no-track-header", "undefined-status"],
)
def test_bad_files_raise_one_error_naming_the_file_and_cause(tmp_path, content, cause):
    path = tmp_path / "bad.mid"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(MidiFileError) as caught:
        read_midi(path)
    message = str(caught.value)
    assert str(path) in message and cause in message
    assert "\n" not in message


def test_a_folder_is_not_a_midi_file(tmp_path):
    with pytest.raises(MidiFileError, match="is a folder"):
        read_midi(tmp_path)


# ---------------------------------------------------------------- writing


def test_what_is_written_reads_back_the_same(tmp_path):
    parts = [
        Part("Lead", channel=0, program=81, notes=[
            Note(72, 0.0, 0.37, 100), Note(74, 0.37, 0.5, 64), Note(72, 0.5, 1.251, 1),
            Note(72, 1.251, 1.9, 127),  # re-strike at one instant: off before on
        ]),
        Part("Chords", channel=4, program=0, notes=[
            Note(60, 0.0, 2.0, 50), Note(64, 0.0, 2.0, 50), Note(67, 0.0, 2.0, 50),
        ]),
        Part("Drums", channel=9, program=0, is_drum=True, notes=[Note(36, 0.0, 0.1, 120)]),
    ]
    path = tmp_path / "out.mid"
    write_midi(path, parts, bpm=128, time_signature=(6, 8), title="Round trip")

    raw = mido.MidiFile(path)
    assert raw.type == 1 and raw.ticks_per_beat == 480
    conductor = {m.type: m for m in raw.tracks[0]}
    assert round(mido.tempo2bpm(conductor["set_tempo"].tempo)) == 128
    assert (conductor["time_signature"].numerator, conductor["time_signature"].denominator) == (6, 8)

    song = read_midi(path)
    assert song.title == "Round trip" and song.time_signature == (6, 8)
    assert round(song.bpm, 3) == 128
    assert len(song.parts) == len(parts)
    half_tick = 60 / 128 / 480 / 2
    for written, read in zip(parts, song.parts):
        assert (read.name, read.channel, read.program, read.is_drum) == (
            written.name, written.channel, written.program, written.is_drum)
        assert len(read.notes) == len(written.notes)
        for a, b in zip(sorted(written.notes, key=lambda n: (n.start, n.pitch)), read.notes):
            assert (a.pitch, a.velocity) == (b.pitch, b.velocity)
            assert abs(a.start - b.start) <= half_tick + 1e-9
            assert abs(a.end - b.end) <= half_tick + 1e-9


def test_writing_to_an_impossible_place_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(MidiFileError, match="cannot write"):
        write_midi(blocker / "out.mid", [Part("x", 0, notes=[Note(60, 0, 1, 64)])])


def _smf(division: int, track: bytes) -> bytes:
    """A one-track Standard MIDI File from raw track bytes."""
    import struct

    return (b"MThd" + struct.pack(">IHHH", 6, 0, 1, division & 0xFFFF)
            + b"MTrk" + struct.pack(">I", len(track)) + track)


END = b"\x00\xff\x2f\x00"


@pytest.mark.parametrize("name, data, fragment", [
    ("smpte-zero.mid", _smf(0xE700, b"\x00\x90\x3c\x40\x10\x80\x3c\x00" + END),
     "0 ticks per beat (or per SMPTE frame)"),
    ("eight-sharps.mid", _smf(480, b"\x00\xff\x59\x02\x08\x00" + END), "corrupt MIDI data (KeySignatureError"),
    ("huge-varint.mid", _smf(480, b"\xff" * 200 + b"\x00\x90\x3c\x40" + END), "corrupt delta times"),
], ids=["smpte-0-ticks", "8-sharps", "1400-bit-delta"])
def test_a_hostile_file_is_one_clear_error_not_a_crash(tmp_path, name, data, fragment):
    from live.core.errors import MidiFileError

    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(MidiFileError) as caught:
        read_midi(path)
    assert fragment in str(caught.value) and name in str(caught.value)


def test_a_folder_nested_1200_deep_is_searched_not_a_crash(tmp_path):
    import os

    from live.files.midiscan import find_midi_files

    deep, folders = tmp_path, []
    for _ in range(1200):  # one by one: os.makedirs itself recurses
        deep = deep / "d"
        os.mkdir(deep)
        folders.append(deep)
    try:
        write_midi(deep / "song.mid", [Part("m", 0, 0, notes=[Note(60, 0.0, 0.5, 90)])])
        (tmp_path / "top.MID").write_bytes((deep / "song.mid").read_bytes())
        assert sorted(p.name for p in find_midi_files([tmp_path])) == ["song.mid", "top.MID"]
    finally:  # taken down from the bottom: pytest's own clean-up (shutil.rmtree) recurses too
        (deep / "song.mid").unlink(missing_ok=True)
        for folder in reversed(folders):
            os.rmdir(folder)
