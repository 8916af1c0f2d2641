"""A piano roll picture of a MIDI file, written as SVG by hand (no dependency).

One rectangle per note (x = time, y = pitch), bar and beat lines from the file's own
ticks and first time signature, a pitch name at each C, light rows for the black keys,
one colour per channel with a legend, the title and tempo at the top.

Time on the roll is quarter notes from tick 0 (read_midi(beats=True)), so bar lines sit
where the file's grid puts them whatever its tempo map says. The drawing (roll_svg) is
pure; read_roll and write_roll are the file ends. A file with no notes still gets a
picture: its bars, empty, and a line saying so (a recording where nothing was played is
an answer, not an error).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from live.core.errors import MidiFileError
from live.core.scales import note_name
from live.core.vocab import REFERENCE_BEAT_SECONDS
from live.core.wording import count
from live.files.midifile import DRUM_CHANNEL, Song, read_midi
from live.files.output_paths import OutputPathError, check_svg_output

# Colours in the order channels appear (not by channel number), so two channels always
# get the two most distinct; Tableau 10, then six more.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1", "#edc948", "#76b7b2",
           "#ff9da7", "#9c755f", "#7f7f7f", "#17becf", "#bcbd22", "#8c564b", "#1f3a93",
           "#d62728", "#2ca02c")

PIXELS_PER_BEAT = 24.0  # a 4/4 bar is 96 px wide
MIN_PLOT_WIDTH = 600.0  # a short file is drawn wider, up to MAX_PIXELS_PER_BEAT
MAX_PIXELS_PER_BEAT = 64.0
MAX_PLOT_WIDTH = 4800.0  # a long file is compressed to this
MIN_WIDTH = 640.0  # room for the title and legend
LEFT, RIGHT = 44.0, 16.0
PLOT_HEIGHT = 560.0  # rows share it, 4..12 px each
MIN_ROW, MAX_ROW = 4.0, 12.0
MIN_BEAT_GAP, MIN_BAR_GAP, MIN_NUMBER_GAP = 4.0, 6.0, 28.0  # px: closer lines are thinned
EMPTY_RANGE = (48, 71)  # C3..B4: the rows of a roll with no notes


@dataclass(frozen=True)
class Mark:
    """One note on the roll; times in quarter notes from the file's tick 0."""

    pitch: int
    start: float
    end: float
    velocity: int
    channel: int  # 0..15


@dataclass
class RollMusic:
    """What a roll shows: the notes, and what the file says about its time."""

    marks: list[Mark]
    length: float  # quarter notes
    channels: dict[int, list[str]] = field(default_factory=dict)  # channel -> its tracks' names
    time_signature: tuple[int, int] = (4, 4)
    tempos: list[float] = field(default_factory=lambda: [120.0])  # BPM, in file order
    title: str = ""

    @property
    def bar_beats(self) -> float:
        """Quarter notes in a bar: 4/4 -> 4, 3/4 -> 3, 6/8 -> 3."""
        numerator, denominator = self.time_signature
        return numerator * 4.0 / denominator

    @property
    def beat_beats(self) -> float:
        """Quarter notes between beat lines: the denominator's note, or a dotted one in 6/8, 9/8, 12/8."""
        numerator, denominator = self.time_signature
        unit = 4.0 / denominator
        return unit * 3 if denominator >= 8 and numerator % 3 == 0 and numerator > 3 else unit

    @property
    def bars(self) -> int:
        """Whole bars the file spans (at least one, so an empty roll has a bar to show)."""
        return max(1, math.ceil(round(self.length / self.bar_beats, 6)))


# ---------------------------------------------------------------- reading


def music_from_songs(in_beats: Song, in_seconds: Song, fallback_title: str = "") -> RollMusic:
    """The roll's music from one file read twice: in beat time (the notes, on the
    file's ticks) and in seconds (the tempo map, for the tempo shown)."""
    marks, channels = [], {}
    for part in in_beats.parts:
        names = channels.setdefault(part.channel, [])
        name = part.name or f"track {part.track}"
        if name not in names:
            names.append(name)
        marks += [Mark(n.pitch, _beats(n.start), _beats(n.end), n.velocity, part.channel)
                  for n in part.notes]
    marks.sort(key=lambda m: (m.start, m.pitch, m.channel))
    length = max([_beats(in_beats.duration)] + [m.end for m in marks])
    return RollMusic(marks=marks, length=length, channels=dict(sorted(channels.items())),
                     time_signature=in_beats.time_signature,
                     tempos=[bpm for _, bpm in in_seconds.tempos],
                     title=in_beats.title or fallback_title)


def _beats(beat_seconds: float) -> float:
    # read_midi(beats=True) gives quarter notes x 0.48 s; rounded so that a note ending
    # on a bar line is not a hair past it
    return round(beat_seconds / REFERENCE_BEAT_SECONDS, 6)


def read_roll(path: str | Path) -> RollMusic:
    """A .mid file's roll music; any failure is one MidiFileError line."""
    path = Path(path).expanduser()
    in_seconds = read_midi(path)  # missing, not MIDI, corrupt: said here, first
    try:
        in_beats = read_midi(path, beats=True)
    except MidiFileError as err:
        if err.cause.startswith("SMPTE"):
            raise MidiFileError(path, "SMPTE time (frames, not beats): it has no bars or beats to "
                                      "draw; save it with a beat (PPQ) time base") from None
        raise
    return music_from_songs(in_beats, in_seconds, fallback_title=path.stem)


# ---------------------------------------------------------------- drawing


def roll_svg(music: RollMusic) -> str:
    """The piano roll of `music` as a standalone SVG document."""
    layout = _Layout(music)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(layout.width)}" '
        f'height="{_n(layout.height)}" viewBox="0 0 {_n(layout.width)} {_n(layout.height)}" '
        'font-family="sans-serif">',
        f"<title>{_text(music.title or 'piano roll')}</title>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    out += _header(music, layout)
    out += _rows(layout)
    out += _grid(music, layout)
    out += _notes(music, layout)
    if not music.marks:
        out.append(f'<text class="empty" x="{_n(layout.left + layout.plot_width / 2)}" '
                   f'y="{_n(layout.top + layout.plot_height / 2)}" text-anchor="middle" '
                   'font-size="14" fill="#555">no notes in this file</text>')
    out.append(f'<rect class="frame" x="{_n(layout.left)}" y="{_n(layout.top)}" '
               f'width="{_n(layout.plot_width)}" height="{_n(layout.plot_height)}" '
               'fill="none" stroke="#555" stroke-width="1"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


class _Layout:
    """Where everything goes: pixels per beat, the pitch rows, the plot's box."""

    def __init__(self, music: RollMusic):
        span = music.bars * music.bar_beats
        per_beat = PIXELS_PER_BEAT
        if span * per_beat < MIN_PLOT_WIDTH:
            per_beat = min(MAX_PIXELS_PER_BEAT, MIN_PLOT_WIDTH / span)
        self.per_beat = min(per_beat, MAX_PLOT_WIDTH / span)  # long files: compressed
        self.plot_width = span * self.per_beat
        self.width = max(MIN_WIDTH, LEFT + self.plot_width + RIGHT)

        pitches = [m.pitch for m in music.marks] or list(EMPTY_RANGE)
        # whole octaves, C at the bottom to B at the top, so every roll shows a C label
        self.low = min(pitches) // 12 * 12
        self.high = min(127, max(pitches) // 12 * 12 + 11)
        rows = self.high - self.low + 1
        self.row = max(MIN_ROW, min(MAX_ROW, PLOT_HEIGHT / rows))
        self.plot_height = rows * self.row

        self.colours = {ch: PALETTE[i % len(PALETTE)] for i, ch in enumerate(_channels_of(music))}
        self.legend = _legend_rows(music, self.colours, self.width)
        self.left = LEFT
        self.top = 48.0 + 16.0 * len(self.legend) + 16.0  # title, info, legend, bar numbers
        self.height = self.top + self.plot_height + 12.0

    def x(self, beats: float) -> float:
        return self.left + beats * self.per_beat

    def y(self, pitch: int) -> float:
        """The top of the pitch's row (high pitches at the top)."""
        return self.top + (self.high - pitch) * self.row


def _channels_of(music: RollMusic) -> list[int]:
    return sorted(set(music.channels) | {m.channel for m in music.marks})


def _legend_rows(music: RollMusic, colours: dict[int, str], width: float) -> list[list[tuple[int, str, float]]]:
    """(channel, text, x) per legend entry, wrapped to the picture's width."""
    rows, x = [[]], LEFT
    for channel in colours:
        names = music.channels.get(channel) or ["untitled"]
        drums = " drums" if channel == DRUM_CHANNEL else ""
        text = f"ch {channel + 1}{drums}: {', '.join(names)}"
        entry = 16 + 6.5 * len(text) + 18  # swatch, text at about 6.5 px a character, gap
        if x + entry > width - RIGHT and rows[-1]:
            rows.append([])
            x = LEFT
        rows[-1].append((channel, text, x))
        x += entry
    return rows if rows[0] else []


def _header(music: RollMusic, layout: _Layout) -> list[str]:
    numerator, denominator = music.time_signature
    info = (f"{_tempo_text(music.tempos)} · {numerator}/{denominator} · "
            f"{count(music.bars, 'bar')} · {count(len(music.marks), 'note')}")
    out = [
        f'<text class="title" x="{_n(LEFT)}" y="22" font-size="16" font-weight="bold" '
        f'fill="#222">{_text(music.title or "piano roll")}</text>',
        f'<text class="tempo" x="{_n(LEFT)}" y="40" font-size="12" fill="#444">{_text(info)}</text>',
    ]
    for index, row in enumerate(layout.legend):
        y = 52.0 + 16.0 * index
        for channel, text, x in row:
            out.append(f'<g class="legend" data-channel="{channel + 1}">'
                       f'<rect x="{_n(x)}" y="{_n(y)}" width="10" height="10" '
                       f'fill="{layout.colours[channel]}"/>'
                       f'<text x="{_n(x + 14)}" y="{_n(y + 9)}" font-size="11" fill="#333">'
                       f"{_text(text)}</text></g>")
    return out


def _tempo_text(tempos: list[float]) -> str:
    shown = [round(t, 1) for t in tempos] or [120.0]
    if len(set(shown)) == 1:
        return f"{shown[0]:g} BPM"
    changes = count(len(shown) - 1, "tempo change")
    return f"{shown[0]:g} BPM ({changes}, {min(shown):g}-{max(shown):g})"


def _rows(layout: _Layout) -> list[str]:
    """Black keys' rows shaded, a line under each C, and the C's name on the left."""
    out = []
    for pitch in range(layout.low, layout.high + 1):
        y = layout.y(pitch)
        if pitch % 12 in (1, 3, 6, 8, 10):
            out.append(f'<rect class="black-key" x="{_n(layout.left)}" y="{_n(y)}" '
                       f'width="{_n(layout.plot_width)}" height="{_n(layout.row)}" fill="#eef0f4"/>')
        if pitch % 12 == 0:
            bottom = y + layout.row
            out.append(f'<line class="octave" x1="{_n(layout.left)}" y1="{_n(bottom)}" '
                       f'x2="{_n(layout.left + layout.plot_width)}" y2="{_n(bottom)}" '
                       'stroke="#c9ced6" stroke-width="1"/>')
            size = min(11.0, layout.row + 6)
            out.append(f'<text class="pitch" x="{_n(layout.left - 4)}" '
                       f'y="{_n(y + layout.row / 2 + size * 0.35)}" text-anchor="end" '
                       f'font-size="{_n(size)}" fill="#444">{note_name(pitch)}</text>')
    return out


def _grid(music: RollMusic, layout: _Layout) -> list[str]:
    """Beat lines (light), bar lines (darker) and bar numbers, thinned where too close."""
    out = []
    top, bottom = _n(layout.top), _n(layout.top + layout.plot_height)
    bar_px = music.bar_beats * layout.per_beat
    if music.beat_beats * layout.per_beat >= MIN_BEAT_GAP:
        per_bar = round(music.bar_beats / music.beat_beats)
        for bar in range(music.bars):
            for beat in range(1, per_bar):
                x = _n(layout.x(bar * music.bar_beats + beat * music.beat_beats))
                out.append(f'<line class="beat" x1="{x}" y1="{top}" x2="{x}" y2="{bottom}" '
                           'stroke="#e2e5ea" stroke-width="1"/>')
    bar_step = _spacing(bar_px, MIN_BAR_GAP)
    number_step = _spacing(bar_px, MIN_NUMBER_GAP)
    for bar in range(music.bars):
        x = _n(layout.x(bar * music.bar_beats))
        if bar % bar_step == 0:
            out.append(f'<line class="bar" x1="{x}" y1="{top}" x2="{x}" y2="{bottom}" '
                       'stroke="#8b929c" stroke-width="1.2"/>')
        if bar % number_step == 0:
            out.append(f'<text class="bar-number" x="{_n(layout.x(bar * music.bar_beats) + 2)}" '
                       f'y="{_n(layout.top - 4)}" font-size="10" fill="#666">{bar + 1}</text>')
    return out


def _spacing(gap: float, least: float) -> int:
    """Every 1st, 2nd, 4th, 8th ... line: the first that leaves at least `least` px between."""
    step = 1
    while step * gap < least:
        step *= 2
    return step


def _notes(music: RollMusic, layout: _Layout) -> list[str]:
    out = []
    for mark in music.marks:
        x = layout.x(mark.start)
        width = max(1.0, (mark.end - mark.start) * layout.per_beat)  # a zero-length note still shows
        bar, beat = divmod(mark.start, music.bar_beats)
        where = f"bar {int(bar) + 1} beat {beat / music.beat_beats + 1:g}"
        tip = f"{note_name(mark.pitch)} · ch {mark.channel + 1} · {where} · velocity {mark.velocity}"
        out.append(f'<rect class="note" data-channel="{mark.channel + 1}" x="{_n(x)}" '
                   f'y="{_n(layout.y(mark.pitch) + 0.5)}" width="{_n(width)}" '
                   f'height="{_n(max(1.0, layout.row - 1))}" rx="1" fill="{layout.colours[mark.channel]}" '
                   f'fill-opacity="{0.4 + 0.6 * mark.velocity / 127:.2f}">'
                   f"<title>{_text(tip)}</title></rect>")
    return out


def _n(value: float) -> str:
    """A coordinate: two decimals at most, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _text(text: str) -> str:
    """Text safe inside an SVG element: escaped, and without the control characters XML
    forbids (a MIDI track name may hold any byte)."""
    return escape("".join(c if c >= " " or c in "\t\n" else " " for c in text))


# ---------------------------------------------------------------- writing


def write_roll(path: str | Path, svg: str) -> Path:
    """Write the SVG whole or not at all (a temporary file renamed over the target)."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.part")
    try:
        temporary.write_text(svg, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise OutputPathError(f"{path}: cannot write the roll ({err.strerror or err})") from None
    return path


def draw_roll(midi_path: str | Path, svg_path: str | Path) -> tuple[Path, RollMusic]:
    """Read a .mid file and write its roll (the input is said wrong before the output)."""
    music = read_roll(midi_path)
    svg_path = check_svg_output(svg_path)
    return write_roll(svg_path, roll_svg(music)), music


def summary(music: RollMusic) -> str:
    """What the roll shows, in a few words: '34 notes, 12 bars of 4/4, 2 channels'."""
    numerator, denominator = music.time_signature
    bars = f"{count(music.bars, 'bar')} of {numerator}/{denominator}"
    if not music.marks:
        return f"no notes in the file: an empty roll of {bars}"
    channels = count(len(_channels_of(music)), "channel")
    return f"{count(len(music.marks), 'note')}, {bars}, {channels}"

