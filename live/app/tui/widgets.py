"""The panels of the TUI's screen: the controls, the transport line and the piano roll.
Each draws the app's latest status (its `status` attribute) and nothing else."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from live.app.tui.control_rows import BASS, ROWS, TEMPO, shown
from live.engine import protocol
from live.app.tui.transport import (
    grid_lines, harmony_label, loop_label, loop_starts, model_label, position_label, source_label,
)


class ControlsPanel(Static):
    selected = reactive(0)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.status: protocol.Status | None = None
        self.problem: str | None = None  # why the engine could not start, in full
        self.top = 0  # the first row shown

    def render(self) -> Text:
        text = Text()
        if self.status is None and self.problem is not None:
            # the whole line and what to do: the log line below is one row and cuts it
            text.append("no engine\n\n", style="bold red")
            text.append(self.problem + "\n\n")
            text.append("o  pick ports and a model\nR  render this seed to a file\n?  help   q  quit",
                        style="bold")
            return text
        if self.status is None:
            return Text("waiting for the engine ...", style="dim")
        knobs = self.status.knobs
        # more rows than lines: a window that keeps the selected row in sight
        fit = max(1, self.content_size.height or len(ROWS))
        self.top = min(max(self.top, self.selected - fit + 1), self.selected)
        for index, row in list(enumerate(ROWS))[self.top:self.top + fit]:
            if index > self.top:
                text.append("\n")  # between rows: no blank line under the last one
            value = shown(row, self.status)
            cc = knobs.get(row.name, "") if row.target != BASS else ""
            cc = cc.split(" (")[0] if cc else ""
            if row.target == TEMPO:
                cc = source_label(self.status.tempo, short=True)
            # a long value (harmonic minor) takes room from the label, not the CC column
            room = max(len(value) + 1, 27)
            line = f"{row.label[:room - len(value) - 1]:<{room - len(value)}}{value} {cc:>6}"
            style = "reverse bold" if index == self.selected else ""
            text.append(line, style=style)
        return text


class Transport(Static):
    """Where the music is: bar:beat, the tempo and who sets it, and what the tempo does to
    this model's music."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.status: protocol.Status | None = None

    def render(self) -> Text:
        if self.status is None:
            return Text("")
        tempo = self.status.tempo
        text = Text()
        text.append(position_label(tempo), style="bold reverse")
        text.append(f"  {tempo.bpm:.1f} BPM", style="bold")
        text.append(f"  {source_label(tempo)}\n", style="bold cyan")
        loop = loop_label(self.status.loop, self.status.controls.variation)
        if loop:
            text.append(loop + "\n", style="bold magenta")
        chords = harmony_label(self.status.harmony)
        if chords:
            text.append(chords + "\n", style="bold green")
        text.append(model_label(tempo), style="dim")
        return text


class PianoRoll(Static):
    """The last seconds of what was played, and what is about to be, as a scroll, over the
    tempo's beat lines (bar lines stronger)."""

    PAST_SECONDS = 4.0
    FUTURE_SECONDS = 0.2
    NOW, BAR, BEAT, LOOP = ("┃", "bold yellow"), ("│", "blue"), ("┆", "dim"), ("║", "bold magenta")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.status: protocol.Status | None = None

    def notes(self) -> list[tuple[int, float, float, bool]]:
        """(pitch, start, end, upcoming) in performance seconds."""
        if self.status is None:
            return []
        now = self.status.now
        found = _paired(self.status.played, still_open_until=now, upcoming=False)
        found += _paired(self.status.upcoming, still_open_until=now + self.FUTURE_SECONDS, upcoming=True)
        return [n for n in found if n[2] >= now - self.PAST_SECONDS]

    def width(self) -> int:
        return max(10, self.size.width)

    def column(self, time_: float) -> int:
        """The column performance time `time_` is drawn at (now: PAST_SECONDS from the left)."""
        seconds = self.PAST_SECONDS + self.FUTURE_SECONDS
        return int((time_ - self.status.now + self.PAST_SECONDS) / seconds * (self.width() - 1))

    def render(self) -> Text:
        if self.status is None:
            return Text("no notes yet", style="dim")
        width, height = self.width(), max(3, self.size.height)
        notes = self.notes()
        low = min((n[0] for n in notes), default=0)
        span = max(1, max((n[0] for n in notes), default=0) - low + 1)
        rows = min(height, span) if notes else height
        # what each column shows where no note is: the playhead, a bar line, a beat line
        under = [(" ", "")] * width
        now = self.status.now
        lines = grid_lines(self.status.tempo, now - self.PAST_SECONDS, now + self.FUTURE_SECONDS)
        beats_apart = self.status.tempo.perf_per_beat / (self.PAST_SECONDS + self.FUTURE_SECONDS) * width
        for time_, bar in lines:
            if bar or beats_apart >= 2:  # beat lines closer than that would be a wall
                column = self.column(time_)
                if 0 <= column < width:
                    under[column] = self.BAR if bar else self.BEAT
        for time_ in loop_starts(self.status.loop, now - self.PAST_SECONDS, now + self.FUTURE_SECONDS):
            column = self.column(time_)
            if 0 <= column < width:
                under[column] = self.LOOP  # the loop's bar 1
        under[self.column(now)] = self.NOW
        grid = [list(under) for _ in range(rows)]
        for pitch, start, end, upcoming in notes:
            row = rows - 1 - int((pitch - low) * rows / span)
            first, last = self.column(start), self.column(end)
            for column in range(max(0, first), min(width, max(first, last) + 1)):
                grid[row][column] = ("▒", "dim cyan") if upcoming else ("█", "bold green")
        if not notes:
            said = "no notes yet"[:width - 1]
            grid[0][1:1 + len(said)] = [(char, "dim") for char in said]
        text = Text()
        for r, cells in enumerate(grid):
            for char, style in cells:
                text.append(char, style=style)
            if r < rows - 1:
                text.append("\n")
        return text


def _paired(messages, still_open_until: float, upcoming: bool) -> list[tuple[int, float, float, bool]]:
    """Note-on/off messages (time, pitch, on, velocity) -> notes; open ones run on."""
    found, open_notes = [], {}
    for time_, pitch, on, _ in messages:
        if on:
            open_notes[pitch] = time_
        elif pitch in open_notes:
            found.append((pitch, open_notes.pop(pitch), time_, upcoming))
    found += [(pitch, start, still_open_until, upcoming) for pitch, start in open_notes.items()]
    return found
