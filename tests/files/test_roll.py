"""The piano roll picture: one mark per note, a line per bar, the file's meter, one colour per channel."""

import math
import xml.etree.ElementTree as ET

import pytest

from live.core.errors import MidiFileError
from live.core.notes import Note
from live.files.midifile import Part, write_midi
from live.files.output_paths import OutputPathError, check_svg_output
from live.files.roll import MAX_PLOT_WIDTH, draw_roll, read_roll, roll_svg, summary, write_roll
from midi_builders import meta, off, on, raw_file, save

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def marked(root, cls, tag=None):
    return [e for e in root.iter() if e.get("class") == cls and (tag is None or e.tag == SVG + tag)]


def beats_to_seconds(beats, bpm):
    return beats * 60.0 / bpm


def file_of(tmp_path, notes_in_beats, bpm=120.0, meter=(4, 4), channels=(0,), names=("Piano",),
            title="test song"):
    """A .mid file whose notes are given in quarter notes: (pitch, start, end) per channel."""
    parts = []
    for channel, name, notes in zip(channels, names, notes_in_beats):
        parts.append(Part(name, channel, notes=[
            Note(p, beats_to_seconds(s, bpm), beats_to_seconds(e, bpm), 100) for p, s, e in notes]))
    path = tmp_path / "song.mid"
    write_midi(path, parts, bpm=bpm, time_signature=meter, title=title)
    return path


@pytest.mark.parametrize("meter, bpm, notes", [
    ((4, 4), 120.0, [(60, 0, 1), (64, 1, 2), (67, 2.5, 3), (72, 5, 9.5)]),  # into the 3rd bar
    ((3, 4), 90.0, [(62, 0, 0.5), (65, 3, 4), (69, 6.5, 7), (62, 7, 12)]),  # ends on bar 4's line
])
def test_one_mark_per_note_and_one_bar_line_per_bar_of_the_files_meter(tmp_path, meter, bpm, notes):
    music = read_roll(file_of(tmp_path, [notes], bpm=bpm, meter=meter))
    root = parse(roll_svg(music))
    assert len(marked(root, "note", "rect")) == len(notes)

    bar_beats = meter[0] * 4 / meter[1]
    bars = math.ceil(max(e for _, _, e in notes) / bar_beats)
    bar_lines = marked(root, "bar", "line")
    assert len(bar_lines) == bars
    # evenly spaced, the first at the plot's left edge
    xs = [float(line.get("x1")) for line in bar_lines]
    gaps = {round(b - a, 2) for a, b in zip(xs, xs[1:])}
    assert len(gaps) <= 1
    assert len(marked(root, "beat", "line")) == bars * (meter[0] - 1)
    assert [e.text for e in marked(root, "bar-number")] == [str(b) for b in range(1, bars + 1)]
    assert f"{meter[0]}/{meter[1]}" in marked(root, "tempo")[0].text
    assert f"{bpm:g} BPM" in marked(root, "tempo")[0].text  # the tempo is the file's, not the grid's


def test_notes_sit_at_their_beat_and_pitch(tmp_path):
    notes = [(60, 0, 1), (67, 1, 1.5), (60, 2, 4), (72, 4, 5)]
    root = parse(roll_svg(read_roll(file_of(tmp_path, [notes], bpm=100.0))))
    rects = marked(root, "note", "rect")
    bars = [float(line.get("x1")) for line in marked(root, "bar", "line")]
    per_beat = (bars[1] - bars[0]) / 4
    left = bars[0]
    for rect, (_, start, end) in zip(rects, notes):
        assert float(rect.get("x")) == pytest.approx(left + start * per_beat, abs=0.01)
        assert float(rect.get("width")) == pytest.approx((end - start) * per_beat, abs=0.01)
    y = {pitch: float(rect.get("y")) for rect, (pitch, _, _) in zip(rects, notes)}
    assert y[72] < y[67] < y[60]  # high notes at the top
    assert float(rects[0].get("y")) == float(rects[2].get("y"))  # one row per pitch


def test_each_channel_has_its_own_colour_and_a_legend_line(tmp_path):
    path = file_of(tmp_path, [[(60, 0, 1), (64, 1, 2)], [(36, 0, 2), (38, 2, 4)], [(42, 0, 0.5)]],
                   channels=(0, 1, 9), names=("Piano", "Bass", "Kit"))
    root = parse(roll_svg(read_roll(path)))
    fills = {}
    for rect in marked(root, "note", "rect"):
        fills.setdefault(rect.get("data-channel"), set()).add(rect.get("fill"))
    assert set(fills) == {"1", "2", "10"}
    assert all(len(f) == 1 for f in fills.values())  # one colour within a channel
    assert len(set.union(*fills.values())) == 3  # and a different one for each
    legend = {g.get("data-channel"): g for g in marked(root, "legend", "g")}
    assert [t.text for g in legend.values() for t in g.iter(SVG + "text")] == [
        "ch 1: Piano", "ch 2: Bass", "ch 10 drums: Kit"]
    for channel, g in legend.items():
        assert g.find(SVG + "rect").get("fill") in fills[channel]


def test_pitch_names_at_each_c_and_black_keys_shaded(tmp_path):
    root = parse(roll_svg(read_roll(file_of(tmp_path, [[(50, 0, 1), (61, 1, 2), (75, 2, 3)]]))))
    labels = sorted(marked(root, "pitch"), key=lambda e: float(e.get("y")))
    assert [e.text for e in labels] == ["C5", "C4", "C3"]  # top down, whole octaves
    assert len(marked(root, "black-key")) == 3 * 5


def test_title_and_tempo_changes_at_the_top(tmp_path):
    conductor = [meta("track_name", name="Étude <1> & co\x01"), meta("set_tempo", tempo=500_000),
                 meta("time_signature", numerator=3, denominator=4),
                 meta("set_tempo", tempo=1_000_000, time=1440)]
    lead = [on(60), off(60, time=2880)]
    music = read_roll(save(tmp_path / "tempo.mid", [conductor, lead]))
    root = parse(roll_svg(music))  # escaped, and the control character gone: it parses
    assert marked(root, "title")[0].text == "Étude <1> & co "
    tempo = marked(root, "tempo")[0].text
    assert "120 BPM (1 tempo change, 60-120)" in tempo and "3/4" in tempo and "2 bars" in tempo


def test_a_file_with_no_notes_is_an_empty_roll_that_says_so(tmp_path):
    path = save(tmp_path / "silent.mid", [[meta("track_name", name="nothing"),
                                           meta("end_of_track", time=480 * 8)]])
    music = read_roll(path)
    root = parse(roll_svg(music))
    assert marked(root, "note") == []
    assert marked(root, "empty")[0].text == "no notes in this file"
    assert len(marked(root, "bar", "line")) == 2  # its 8 beats of silence
    assert summary(music).startswith("no notes in the file: an empty roll of 2 bars")


def test_a_long_file_is_compressed_to_a_readable_width(tmp_path):
    notes = [(60 + b % 12, b, b + 0.5) for b in range(0, 4000, 2)]  # 1000 bars
    music = read_roll(file_of(tmp_path, [notes]))
    root = parse(roll_svg(music))
    assert len(marked(root, "note", "rect")) == len(notes)
    assert float(root.get("width")) <= MAX_PLOT_WIDTH + 100
    bar_lines = marked(root, "bar", "line")
    xs = [float(line.get("x1")) for line in bar_lines]
    assert 1 < len(bar_lines) < music.bars  # thinned: never closer than a few pixels
    assert min(b - a for a, b in zip(xs, xs[1:])) >= 6
    assert marked(root, "beat") == []  # beats would be a grey wash at this width


def test_smpte_files_and_non_midi_files_are_one_clear_error(tmp_path):
    smpte = ((256 - 25) << 8 | 40) - 65536
    body = bytes([0x00, 0x90, 60, 100, 0x87, 0x68, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00])
    with pytest.raises(MidiFileError, match="SMPTE time .*no bars or beats to draw"):
        read_roll(raw_file(tmp_path / "smpte.mid", 0, smpte, [body]))
    text = tmp_path / "notes.mid"
    text.write_text("hello")
    with pytest.raises(MidiFileError, match="not a MIDI file"):
        read_roll(text)


def test_the_roll_is_written_whole_and_only_as_svg(tmp_path):
    midi = file_of(tmp_path, [[(60, 0, 1)]])
    path, music = draw_roll(midi, tmp_path / "roll.svg")
    assert parse(path.read_text()).tag == SVG + "svg"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roll.svg", "song.mid"]  # no .part left

    with pytest.raises(OutputPathError, match=r"roll.png: encore draws the roll as SVG .* name it roll.svg"):
        check_svg_output(tmp_path / "roll.png")
    with pytest.raises(OutputPathError, match="does not exist"):
        draw_roll(midi, tmp_path / "missing" / "roll.svg")
    assert not (tmp_path / "missing").exists()

    blocked = tmp_path / "blocked.svg"
    blocked.mkdir()  # a folder where the file should go: the rename fails, nothing is left behind
    (blocked / "inside").write_text("x")
    with pytest.raises(OutputPathError, match="cannot write the roll"):
        write_roll(blocked, roll_svg(music))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked.svg", "roll.svg", "song.mid"]
