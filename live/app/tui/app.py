"""`encore tui`: the performer's screen over the live engine.

The engine runs in its own process (live.engine.process); this app only sends it
commands and draws the snapshots it sends back, at most 30 times a second, so nothing
on screen can delay a note.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from live.core.controls import NOTE_NAMES, SCALES
from live.engine.process import RemoteEngine, note_name
from live.app.tui.pending import PendingChanges

REFRESH_SECONDS = 1 / 30
GRIDS = ["off", "1/8", "1/16", "1/32"]
SCALE_NAMES = list(SCALES)


@dataclass(frozen=True)
class ControlRow:
    key: str
    label: str
    fine: float
    coarse: float
    low: float
    high: float

    def show(self, value) -> str:
        if self.key in ("low", "high"):
            return f"{note_name(int(value))} ({int(value)})"
        if self.key == "root":
            return NOTE_NAMES[int(value)]
        if self.key in ("scale", "quantize"):
            return str(value).replace("_", " ")
        if self.key == "max_note_seconds":
            return f"{value:.2f} s"
        if self.key == "quantize_strength":
            return f"{value:.0f} %"
        if self.key == "bpm":
            return f"{value:.1f}"  # the clock source is shown beside it
        if isinstance(value, float):
            return f"{value:+.2f}" if self.key == "density" else f"{value:.2f}"
        return f"{value:+d}" if self.key in ("transpose", "velocity_offset") else str(value)


ROWS = [
    ControlRow("temperature", "temperature", 0.05, 0.25, 0.05, 3.0),
    ControlRow("top_p", "top-p", 0.05, 0.2, 0.05, 1.0),
    ControlRow("low", "lowest pitch", 1, 12, 0, 127),
    ControlRow("high", "highest pitch", 1, 12, 0, 127),
    ControlRow("root", "key", 1, 7, 0, 11),
    ControlRow("scale", "scale", 1, 1, 0, len(SCALE_NAMES) - 1),
    ControlRow("max_polyphony", "polyphony", 1, 4, 1, 16),
    ControlRow("max_note_seconds", "max note", 0.1, 1.0, 0.05, 30.0),
    ControlRow("density", "density", 0.1, 0.5, -1.0, 1.0),
    ControlRow("velocity_gain", "velocity gain", 0.05, 0.25, 0.0, 2.0),
    ControlRow("velocity_offset", "velocity offset", 1, 10, -127, 127),
    ControlRow("transpose", "transpose", 1, 12, -24, 24),
    ControlRow("bpm", "BPM", 1, 10, 20, 400),
    ControlRow("quantize", "quantise", 1, 1, 0, len(GRIDS) - 1),
    ControlRow("quantize_strength", "quantise strength", 5, 25, 0, 100),
]


def row_value(row: ControlRow, status: dict):
    if row.key == "bpm":
        return status["tempo"]["bpm"]
    if row.key == "quantize":
        return status["quantize"]["grid"]
    if row.key == "quantize_strength":
        return status["quantize"]["strength"] * 100
    return status["controls"][row.key]


def adjusted(row: ControlRow, status: dict, steps: int, coarse: bool) -> tuple:
    """The command that moves this control by `steps` (fine or coarse)."""
    value = row_value(row, status)
    step = (row.coarse if coarse else row.fine) * steps
    if row.key == "scale":
        index = (SCALE_NAMES.index(value) + steps) % len(SCALE_NAMES)
        return ("set", "scale", SCALE_NAMES[index])
    if row.key == "quantize":
        grid = GRIDS[(GRIDS.index(value) + steps) % len(GRIDS)]
        return ("quantize", grid, status["quantize"]["strength"])
    if row.key == "root":
        return ("set", "root", int(value + step) % 12)
    new = min(row.high, max(row.low, value + step))
    controls = status["controls"]
    if row.key == "low":
        new = min(new, controls["high"])
    if row.key == "high":
        new = max(new, controls["low"])
    if row.key == "bpm":
        return ("tempo", round(new, 1))
    if row.key == "quantize_strength":
        return ("quantize", status["quantize"]["grid"], new / 100)
    if isinstance(row.fine, int) and isinstance(row.coarse, int) and row.key != "max_note_seconds":
        new = int(round(new))
    else:
        new = round(new, 3)
    return ("set", row.key, new)


class ControlsPanel(Static):
    selected = reactive(0)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.status: dict | None = None

    def render(self) -> Text:
        text = Text()
        if self.status is None:
            return Text("waiting for the engine ...", style="dim")
        knobs = self.status.get("knobs", {})
        for index, row in enumerate(ROWS):
            value = row.show(row_value(row, self.status))
            cc = knobs.get(row.key, "")
            cc = cc.split(" (")[0] if cc else ""
            if row.key == "bpm":
                cc = "clock" if self.status["tempo"]["source"] == "midi clock" else "int."
            line = f"{row.label:<17}{value:>10} {cc:>6}"
            style = "reverse bold" if index == self.selected else ""
            text.append(line + "\n", style=style)
        return text


class PianoRoll(Static):
    """The last seconds of what was played, and what is about to be, as a scroll."""

    PAST_SECONDS = 4.0
    FUTURE_SECONDS = 0.2

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.status: dict | None = None

    def notes(self) -> list[tuple[int, float, float, bool]]:
        """(pitch, start, end, upcoming) in performance seconds."""
        if self.status is None:
            return []
        now = self.status["now"]
        found = _paired(self.status["played"], still_open_until=now, upcoming=False)
        found += _paired(self.status["upcoming"], still_open_until=now + self.FUTURE_SECONDS, upcoming=True)
        return [n for n in found if n[2] >= now - self.PAST_SECONDS]

    def render(self) -> Text:
        width = max(10, self.size.width)
        height = max(3, self.size.height)
        notes = self.notes()
        if not notes:
            return Text("no notes yet", style="dim")
        now = self.status["now"]
        low = min(n[0] for n in notes)
        high = max(n[0] for n in notes)
        span = max(1, high - low + 1)
        rows = min(height, span)
        grid = [[" "] * width for _ in range(rows)]
        styles = [[""] * width for _ in range(rows)]
        seconds = self.PAST_SECONDS + self.FUTURE_SECONDS
        now_column = int(self.PAST_SECONDS / seconds * (width - 1))
        for pitch, start, end, upcoming in notes:
            row = rows - 1 - int((pitch - low) * rows / span)
            first = int((start - now + self.PAST_SECONDS) / seconds * (width - 1))
            last = int((end - now + self.PAST_SECONDS) / seconds * (width - 1))
            for column in range(max(0, first), min(width, max(first, last) + 1)):
                grid[row][column] = "▒" if upcoming else "█"
                styles[row][column] = "dim cyan" if upcoming else "bold green"
        text = Text()
        for r in range(rows):
            for c in range(width):
                char = grid[r][c]
                if c == now_column and char == " ":
                    text.append("│", style="dim")
                else:
                    text.append(char, style=styles[r][c])
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


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        yield Static(
            "encore keys\n\n"
            "space   play / stop            p   panic (all notes off)\n"
            "r       reseed (random)        . , next / previous primer\n"
            "f       seed from a .mid file  c   seed from what was just played\n"
            "z       seed from silence\n"
            "up/down select a control       left/right adjust (shift: coarse)\n"
            "[ ]     temperature down / up  l   MIDI-learn the selected control\n"
            "s       save the recording     o   ports and model\n"
            "R       render 60 s to encore-render.mid (works without MIDI ports)\n"
            "?       this help              q   quit (all notes off)\n\n"
            "escape closes this help",
            id="help",
        )


class SeedFileScreen(ModalScreen):
    """Ask for a .mid file to seed from (its melody's end primes the model)."""

    BINDINGS = [Binding("escape", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="setup"):
            yield Static("seed from a MIDI file: its melody primes the model (enter, escape closes)")
            yield Input(placeholder="path/to/song.mid", id="seed-file")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


class SetupScreen(ModalScreen):
    """Ports and model: picking one restarts the engine with it."""

    BINDINGS = [Binding("escape", "dismiss", "close"), Binding("f5", "refresh", "refresh")]

    def __init__(self, args, own_inputs=()):
        super().__init__()
        self.args = args
        self.own_inputs = own_inputs

    def compose(self) -> ComposeResult:
        from live.model.runtime import describe_model_file

        with Vertical(id="setup"):
            yield Static("output port (enter picks, F5 refreshes, escape closes)")
            yield OptionList(id="outputs")
            yield Static("input port")
            yield OptionList(id="inputs")
            yield Static("model (enter loads; or type a file path below)")
            yield OptionList(*[Option(f"{p.name}  {describe_model_file(p)}", id=str(p))
                               for p in shipped_models()], id="models")
            yield Input(value=str(self.args.model or ""), placeholder="models/default.onnx", id="model")
            yield Static("", id="setup-info")

    def on_mount(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        from live.core.errors import EncoreError
        from live.engine.ports import open_backend

        outputs, inputs = self.query_one("#outputs", OptionList), self.query_one("#inputs", OptionList)
        outputs.clear_options()
        inputs.clear_options()
        try:
            backend = open_backend(self.args.backend)
        except EncoreError as err:
            self.query_one("#setup-info", Static).update(str(err))
            return
        outputs.add_options([Option("virtual port 'encore'", id="")] +
                            [Option(n, id=n) for n in backend.output_names()])
        # not encore's own output seen from the other side: it would feed encore itself
        own = set(self.own_inputs)
        inputs.add_options([Option("no input", id="")] +
                           [Option(n, id=n) for n in backend.input_names() if n not in own])
        self.query_one("#setup-info", Static).update(backend.note)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        args = copy.copy(self.args)
        if event.option_list.id == "outputs":
            args.port = event.option.id or None
        elif event.option_list.id == "inputs":
            args.input = event.option.id or None
        else:
            args.model = event.option.id
        self.dismiss(args)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        args = copy.copy(self.args)
        args.model = event.value or None
        self.dismiss(args)


def shipped_models() -> list[Path]:
    from live.model.runtime import default_model_path

    return sorted(default_model_path().parent.glob("*.onnx"))


class EncoreApp(App):
    CSS_PATH = "encore.tcss"
    TITLE = "encore"
    BINDINGS = [
        Binding("space", "toggle_play", "play/stop"),
        Binding("p", "panic", "panic"),
        Binding("r", "reseed", "reseed"),
        Binding("full_stop", "primer(1)", "next", show=False),
        Binding("comma", "primer(-1)", "previous", show=False),
        Binding("z", "seed('silence')", "silence", show=False),
        Binding("c", "seed('capture')", "capture", show=False),
        Binding("f", "seed_file", "seed file", show=False),
        Binding("up", "select(-1)", show=False),
        Binding("down", "select(1)", show=False),
        Binding("left", "adjust(-1, False)", show=False),
        Binding("right", "adjust(1, False)", show=False),
        Binding("shift+left", "adjust(-1, True)", show=False),
        Binding("shift+right", "adjust(1, True)", show=False),
        Binding("left_square_bracket", "temperature(-1)", show=False),
        Binding("right_square_bracket", "temperature(1)", show=False),
        Binding("l", "learn", "learn"),
        Binding("s", "save", "save"),
        Binding("o", "setup", "ports"),
        Binding("R", "render", "render"),
        Binding("question_mark", "help", "help"),
        Binding("q", "quit_encore", "quit"),
    ]

    def __init__(self, args, engine_factory=RemoteEngine, status: dict | None = None):
        super().__init__()
        self.args = args
        self.engine_factory = engine_factory
        self.engine = None
        self.status = status  # the latest snapshot from the engine
        self.final: dict | None = None
        self.rescued = False  # the MIDI panic after an engine crash, sent once
        self.pending = PendingChanges()  # what the screen shows ahead of the engine
        if engine_factory is RemoteEngine:
            RemoteEngine.prepare()

    def compose(self) -> ComposeResult:
        yield Static("", id="status")
        with Horizontal(id="main"):
            yield ControlsPanel(id="controls")
            with Vertical(id="right"):
                yield PianoRoll(id="roll")
                yield Static("", id="meters")
                yield Static("", id="seed")
        yield Static("", id="log")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#controls").border_title = "controls"
        self.query_one("#roll").border_title = "piano roll"
        if self.engine_factory is not None:
            self.engine = self.engine_factory(self.args)
        self.set_interval(REFRESH_SECONDS, self.refresh_from_engine)
        if getattr(self.args, "seconds", None):
            self.set_timer(self.args.seconds, self.action_quit_encore)
        self.show_status()

    # ------------------------------------------------------------ engine -> screen

    def refresh_from_engine(self) -> None:
        if self.engine is None:
            return
        messages = self.engine.receive()
        for message in messages:
            if "fatal" in message:
                self.log_line(f"{message['fatal']} (o: ports and model, R: render to a file)", error=True)
            elif message.get("closed"):
                self.final = message
            else:
                for line in message.get("logs", []):
                    self.log_line(line)
                self.status = message
                for command in self.pending.still_ahead_of(message):
                    self._assume(command)
        if messages:
            self.show_status()
        died = getattr(self.engine, "died", None)  # after receive(): see RemoteEngine.died
        why = died() if died is not None else None
        if why is not None and not self.rescued:
            self.rescued = True
            self.rescue_notes(why)
            if self.status is not None:
                self.status = {**self.status, "playing": False}
                self.show_status()

    def show_status(self) -> None:
        status = self.status
        controls = self.query_one("#controls", ControlsPanel)
        roll = self.query_one("#roll", PianoRoll)
        controls.status = roll.status = status
        controls.refresh()
        roll.refresh()
        if status is None:
            return
        model, ports, meters, tempo = status["model"], status["ports"], status["meters"], status["tempo"]
        state = "▶ PLAYING" if status["playing"] else "■ STOPPED"
        output = ports["output"] or "-"
        if ports["output_lost"]:
            output += " (lost)"
        self.query_one("#status", Static).update(
            f"{state}  {Path(model['path']).name} {model['kind']} {model['layers']}x{model['hidden']}"
            f"  out: {output}  in: {ports['input'] or '-'}"
            + ("  ● REC" if ports["recording"] else "")
        )
        self.query_one("#meters", Static).update(
            f"notes/s {meters['notes_per_s']:4.1f}  held {meters['held']:2d}  "
            f"{tempo['bpm']:.1f} BPM\n"
            f"step {meters['step_median_ms']:.2f} ms  send p99 {meters['send_p99_ms']:.2f} ms"
        )
        seed = status["seed"]
        self.query_one("#seed", Static).update(f"seed: {seed['description']}  ▸ {seed['preview']}")

    def rescue_notes(self, why: str) -> None:
        """The engine process ended without its clean-up: nobody sent the note-offs. A
        device port is still there, so this process sends the MIDI panic itself."""
        from live.core.errors import EncoreError
        from live.engine.ports import panic_port

        ports = (self.status or {}).get("ports") or {}
        name = ports.get("output")
        head = f"the engine stopped unexpectedly ({why})"
        if name and not ports.get("output_virtual"):
            try:
                panic_port(ports.get("backend") or self.args.backend, name)  # the one it used
                self.log_line(f"{head}; all notes off sent to {name!r}; press o to start it again",
                              error=True)
            except EncoreError as err:
                self.log_line(f"{head}; could not reach {name!r} for all notes off ({err})", error=True)
        else:
            self.log_line(f"{head}; its virtual port closed with it; press o to start it again",
                          error=True)

    def log_line(self, line: str, error: bool = False) -> None:
        log = self.query_one("#log", Static)
        log.update(Text(line, style="bold red" if error else "yellow"))

    # ------------------------------------------------------------ keys -> engine

    def command(self, *command) -> None:
        if self.engine is not None:
            self.engine.send(*command)
            self.pending.sent_one(command, shown_at_once=self.status is not None)
        self._assume(command)

    def _assume(self, command) -> None:
        """Show a change at once, before the engine confirms it, so two quick key
        presses build on each other instead of on the same old snapshot."""
        if self.status is None:
            return
        kind, *rest = command
        if kind == "set":
            self.status["controls"][rest[0]] = rest[1]
        elif kind == "tempo":
            self.status["tempo"]["bpm"] = rest[0]
        elif kind == "quantize":
            self.status["quantize"] = {"grid": rest[0], "strength": rest[1]}
        else:
            return
        self.query_one("#controls", ControlsPanel).refresh()

    def action_toggle_play(self) -> None:
        playing = self.status is not None and self.status["playing"]
        self.command("stop" if playing else "play")

    def action_panic(self) -> None:
        self.command("panic")

    def action_reseed(self) -> None:
        self.command("reseed", None)

    def action_primer(self, step: int) -> None:
        self.command("reseed", step)

    def action_seed(self, which: str) -> None:
        self.command("reseed", which)

    def action_seed_file(self) -> None:
        def chosen(path) -> None:
            if path:
                self.command("reseed", path)

        self.push_screen(SeedFileScreen(), chosen)

    def action_select(self, step: int) -> None:
        controls = self.query_one("#controls", ControlsPanel)
        controls.selected = (controls.selected + step) % len(ROWS)

    def action_adjust(self, steps: int, coarse: bool) -> None:
        if self.status is None:
            return
        row = ROWS[self.query_one("#controls", ControlsPanel).selected]
        self.command(*adjusted(row, self.status, steps, coarse))

    def action_temperature(self, steps: int) -> None:
        if self.status is not None:
            self.command(*adjusted(ROWS[0], self.status, steps, False))

    def action_learn(self) -> None:
        row = ROWS[self.query_one("#controls", ControlsPanel).selected]
        if row.key in ("bpm", "quantize", "quantize_strength"):
            self.log_line(f"{row.label} has no knob mapping yet")
            return
        self.command("learn", row.key)

    def action_save(self) -> None:
        self.command("save")

    def action_render(self) -> None:
        """Render a minute offline with the current settings: music even with no MIDI."""
        self.log_line("rendering 60 s ...")
        self.run_worker(self._render, thread=True, exclusive=True, group="render")

    def _render(self) -> None:
        from live.core.errors import EncoreError
        from live.app.options import generator_from_args
        from live.core.render import render, write_rendered

        args = copy.copy(self.args)
        if self.status is not None:
            for name, value in self.status["controls"].items():
                setattr(args, {"max_polyphony": "polyphony", "max_note_seconds": "max_note"}.get(name, name), value)
            args.scale = f"{NOTE_NAMES[self.status['controls']['root']]}:{self.status['controls']['scale']}"
        path = Path("encore-render.mid")
        try:
            generator, seeded_with = generator_from_args(args, channel=args.channel - 1)
            result = render(generator, seconds=60.0)
            write_rendered(result, path, args.bpm, args.channel - 1, args.program or 0, "encore render")
        except EncoreError as err:
            self.call_from_thread(self.log_line, str(err), True)
            return
        self.call_from_thread(self.log_line, f"wrote {path.resolve()}: {len(result.notes)} notes, "
                                             f"seeded with {seeded_with}")

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_setup(self) -> None:
        def chosen(args) -> None:
            if args is None:
                return
            self.args = args
            self.restart_engine()

        own = (self.status or {}).get("ports", {}).get("own_inputs", [])
        self.push_screen(SetupScreen(self.args, own), chosen)

    def restart_engine(self) -> None:
        if self.engine is not None:
            self.engine.close()
        self.status = None
        self.rescued = False
        self.pending = PendingChanges()
        self.log_line("restarting the engine ...")
        self.engine = self.engine_factory(self.args)

    def action_quit_encore(self) -> None:
        if self.engine is not None:
            self.final = self.engine.close() or self.final
        self.exit(self.final)


def run_tui(args) -> int:
    app = EncoreApp(args)
    try:
        final = app.run()
    finally:
        if app.engine is not None and app.engine.process.is_alive():
            app.engine.close()  # any exit path: the engine ends every note
    if final:
        print(
            f"encore: {final['notes']} notes played; send-time error median "
            f"{final['send_median_ms']:.3f} ms, p99 {final['send_p99_ms']:.3f} ms, "
            f"max {final['send_max_ms']:.3f} ms over {final['messages']} messages"
        )
    return 0
