"""`encore tui`: the performer's screen over the live engine.

The engine runs in its own process (live.engine.process); this app only sends it
commands and draws the snapshots it sends back, at most 30 times a second, so nothing
on screen can delay a note.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Static

from live.core.wording import count
from live.app.tui.pending import PendingChanges
from live.app.tui.control_rows import ROW_BY_NAME, ROWS, adjusted
from live.app.tui.screens import ChordsScreen, HelpScreen, SeedFileScreen, SetupScreen
from live.app.tui.widgets import ControlsPanel, PianoRoll, Transport
from live.core.errors import EncoreError
from live.engine import protocol
from live.engine.process import RemoteEngine

REFRESH_SECONDS = 1 / 30


def start_engine(args) -> RemoteEngine:
    """The engine process, building its generator from the command line's options."""
    from functools import partial

    from live.app.options import generator_from_args

    return RemoteEngine(args, partial(generator_from_args, args, channel=args.channel - 1))


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
        Binding("n", "press('next')", "next", show=False),
        Binding("h", "press('hold')", "hold", show=False),
        Binding("m", "press('mutate')", "mutate", show=False),
        Binding("plus", "press('double')", "double", show=False),
        Binding("minus", "press('halve')", "halve", show=False),
        Binding("x", "press('capture')", "clip", show=False),
        Binding("k", "chords", "chords", show=False),
        Binding("l", "learn", "learn"),
        Binding("s", "save", "save"),
        Binding("o", "setup", "ports"),
        Binding("R", "render", "render"),
        Binding("question_mark", "help", "help"),
        Binding("q", "quit_encore", "quit"),
        # Ctrl-C stops encore, as it does `encore play` (Textual's own only says how to quit)
        Binding("ctrl+c", "quit_encore", show=False, priority=True),
    ]

    def __init__(self, args, engine_factory=start_engine, status: protocol.Status | None = None):
        super().__init__()
        self.args = args
        self.engine_factory = engine_factory  # None: a screen with no engine (tests)
        self.engine = None
        self.status = status  # the latest snapshot from the engine
        self.final: protocol.Closed | None = None
        self.rescued = False  # the MIDI panic after an engine crash, sent once
        # On JACK, who listens to the engine's virtual port: its rescue's addresses
        self.witness = None
        self._witnessed: str | None = None  # the port a witness was started for
        self.pending = PendingChanges()  # what the screen shows ahead of the engine
        if self.engine_factory is start_engine:
            RemoteEngine.prepare()

    def compose(self) -> ComposeResult:
        yield Static("", id="status")
        with Horizontal(id="main"):
            yield ControlsPanel(id="controls")
            with Vertical(id="right"):
                yield Transport(id="transport")
                yield PianoRoll(id="roll")
                yield Static("", id="meters")
                yield Static("", id="seed")
        yield Static("", id="log")
        yield Footer(compact=True, show_command_palette=False)  # every key fits 80 columns

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
            if isinstance(message, protocol.Fatal):
                self.log_line(f"{message.message} (o: ports and model, R: render to a file)", error=True)
                self.query_one("#controls", ControlsPanel).problem = message.message
            elif isinstance(message, protocol.Closed):
                self.final = message
            elif isinstance(message, protocol.Status):
                for line in message.logs:
                    self.log_line(line)
                self.status = message
                self._witness(message.ports)
                for request in self.pending.still_ahead_of(message):
                    self._assume(request)
        if messages:
            self.show_status()
        died = getattr(self.engine, "died", None)  # after receive(): see RemoteEngine.died
        why = died() if died is not None else None
        frozen = getattr(self.engine, "frozen", None)
        if why is None and frozen is not None and frozen() and not self.rescued:
            self.engine.kill()  # its notes would hang as long as it does
            why = "it stopped answering and was stopped"
        if why is not None and not self.rescued:
            self.rescued = True
            self.rescue_notes(why)
            if self.status is not None:
                self.status = self.status.with_(playing=False)
                self.show_status()

    def show_status(self) -> None:
        status = self.status
        panes = [self.query_one("#controls", ControlsPanel), self.query_one("#transport", Transport),
                 self.query_one("#roll", PianoRoll)]
        for pane in panes:
            pane.status = status
            pane.refresh()
        if status is None:
            return
        model, ports, meters = status.model, status.ports, status.meters
        state = "▶ PLAYING" if status.playing else "■ STOPPED"
        output = ports.output or "-"
        if ports.output_lost:
            output += " (lost)"
        self.query_one("#status", Static).update(
            f"{state}  {Path(model.path).name} {model.kind} {model.layers}x{model.hidden}"
            f"  out: {output}  in: {ports.input or '-'}"
            + ("  ● REC" if ports.recording else "")
        )
        self.query_one("#meters", Static).update(
            f"notes/s {meters.notes_per_s:4.1f}  held {meters.held:2d}\n"
            f"step {meters.step_median_ms:.2f} ms  send p99 {meters.send_p99_ms:.2f} ms"
        )
        seed = status.seed
        self.query_one("#seed", Static).update(f"seed: {seed.description}  ▸ {seed.preview}")

    def _witness(self, ports: protocol.PortsStatus) -> None:
        """A virtual JACK output is watched from this process, which outlives the engine's:
        if the engine dies unseen, its notes are ended at the ports it was connected to."""
        if not (ports.output_virtual and ports.backend == "jack" and len(ports.own_inputs) == 1):
            return
        name = ports.own_inputs[0]  # our virtual output, as JACK names it (encore:encore)
        if name == self._witnessed:
            return
        self._witnessed = name
        self._stop_witness()

        def start() -> None:  # up to 2 s for a busy server: not on the screen's thread
            from live.engine.jack_witness import ConnectionWitness

            self.witness = ConnectionWitness.start(name)

        threading.Thread(target=start, name="encore-witness-start", daemon=True).start()

    def _stop_witness(self) -> None:
        witness, self.witness = self.witness, None
        if witness is not None:
            witness.stop()

    def rescue_notes(self, why: str) -> None:
        """The engine process ended without its clean-up: nobody sent the note-offs. A
        device port is still there, so this process sends the MIDI panic itself."""
        from live.core.errors import EncoreError
        from live.engine.ports import panic_port

        ports = self.status.ports if self.status is not None else protocol.PortsStatus()
        name = ports.output
        head = f"the engine stopped unexpectedly ({why})"
        if name and not ports.output_virtual:
            try:
                panic_port(ports.backend or self.args.backend, name)  # the one it used
                self.log_line(f"{head}; all notes off sent to {name!r}; press o to start it again",
                              error=True)
            except EncoreError as err:
                self.log_line(f"{head}; could not reach {name!r} for all notes off ({err})", error=True)
        elif self.witness is not None and self.witness.destinations:
            reached, missed = self.witness.panic(ports.backend or "jack")
            said = f"all notes off sent to {', '.join(reached)}, which its virtual port fed" if reached else ""
            if missed:
                said += ("; " if said else "") + f"could not reach {', '.join(missed)}"
            self.log_line(f"{head}; {said}; press o to start it again", error=True)
        else:
            self.log_line(f"{head}; its virtual port closed with it; press o to start it again",
                          error=True)

    def log_line(self, line: str, error: bool = False) -> None:
        log = self.query_one("#log", Static)
        log.update(Text(line, style="bold red" if error else "yellow"))

    # ------------------------------------------------------------ keys -> engine

    def command(self, request: protocol.Request) -> None:
        if self.engine is not None:
            self.engine.send(request)
            self.pending.sent_one(request, shown_at_once=self.status is not None)
        self._assume(request)

    def _assume(self, request: protocol.Request) -> None:
        """Show a change at once, before the engine confirms it, so two quick key
        presses build on each other instead of on the same old snapshot."""
        status = self.status
        if status is None:
            return
        if isinstance(request, protocol.SetControl):
            try:
                if request.voice == "bass":
                    if status.bass is None:
                        return
                    self.status = status.with_(bass=status.bass.with_(**{request.name: request.value}))
                else:
                    self.status = status.with_(controls=status.controls.with_(**{request.name: request.value}))
            except (EncoreError, TypeError):
                return  # the engine will say what is wrong
        elif isinstance(request, protocol.SetTempo):
            # the bpm only: beat and grid stay as they were until the engine's next status
            self.status = status.with_(tempo=replace(status.tempo, bpm=request.bpm))
        elif isinstance(request, protocol.SetQuantize):
            self.status = status.with_(quantize=protocol.QuantizeStatus(request.grid, request.strength))
        elif isinstance(request, protocol.SetLoop):
            self.status = status.with_(loop=replace(status.loop, bars=request.bars))
        elif isinstance(request, protocol.SetLaunch):
            self.status = status.with_(loop=replace(status.loop, launch=request.when))
        else:
            return
        self.query_one("#controls", ControlsPanel).status = self.status
        self.query_one("#controls", ControlsPanel).refresh()

    def action_toggle_play(self) -> None:
        playing = self.status is not None and self.status.playing
        self.command(protocol.Stop() if playing else protocol.Play())

    def action_panic(self) -> None:
        self.command(protocol.PanicRequest())

    def action_reseed(self) -> None:
        self.command(protocol.ReseedRequest(None))

    def action_primer(self, step: int) -> None:
        self.command(protocol.ReseedRequest(step))

    def action_seed(self, which: str) -> None:
        self.command(protocol.ReseedRequest(which))

    def action_seed_file(self) -> None:
        def chosen(path) -> None:
            if path:
                self.command(protocol.ReseedRequest(path))

        self.push_screen(SeedFileScreen(), chosen)

    def action_select(self, step: int) -> None:
        controls = self.query_one("#controls", ControlsPanel)
        controls.selected = (controls.selected + step) % len(ROWS)

    def action_adjust(self, steps: int, coarse: bool) -> None:
        if self.status is None:
            return
        row = ROWS[self.query_one("#controls", ControlsPanel).selected]
        request = adjusted(row, self.status, steps, coarse)
        if request is None:
            self.log_line(f"{row.label}: no bass voice (start with --bass)")
            return
        self.command(request)

    def action_temperature(self, steps: int) -> None:
        if self.status is not None:
            self.command(adjusted(ROW_BY_NAME["temperature"], self.status, steps, False))

    def action_learn(self) -> None:
        row = ROWS[self.query_one("#controls", ControlsPanel).selected]
        if not row.learnable:
            self.log_line(f"{row.label} has no knob mapping yet")
            return
        self.command(protocol.Learn(row.name))

    def action_press(self, button: str) -> None:
        """A loop's button: hold, next, mutate, double, halve, capture (a clip)."""
        if self.status is not None and not self.status.loop.bars and button != "capture":
            self.log_line(f"no loop to {button}: choose a loop length in the loop row (or --loop BARS)")
            return
        self.command(protocol.Press(button))

    def action_chords(self) -> None:
        def chosen(text) -> None:
            if text:
                self.command(protocol.SetChords(text))

        current = self.status.harmony.progression if self.status is not None else ""
        self.push_screen(ChordsScreen("" if current == "input" else current), chosen)

    def action_save(self) -> None:
        self.command(protocol.SaveRecording())

    def action_render(self) -> None:
        """Render a minute offline with the current settings: music even with no MIDI."""
        self.log_line("rendering 60 s ...")
        self.run_worker(self._render, thread=True, exclusive=True, group="render")

    def _render(self) -> None:
        import copy

        from live.app.options import generator_from_args, timeline_from_args, with_controls
        from live.core.ensemble import other_voices
        from live.core.errors import EncoreError
        from live.core.render import render
        from live.files.midifile import write_rendered
        from live.files.output_paths import unused_path

        # The working folder, as for every relative path the musician gives (--record);
        # the full path is said, and an earlier render is never overwritten.
        path = unused_path(Path.cwd(), "encore-render.mid")
        try:
            args, seed = self.args, None
            if self.status is not None:  # what plays now, not what the command line said
                args = with_controls(args, self.status.controls)
                seed = (self.status.seed.description, list(self.status.seed.events))
            if self.status is not None:  # at the tempo on screen, with its loop
                args = copy.copy(args)
                args.bpm = self.status.tempo.bpm
                args.loop = self.status.loop.bars if self.status.tempo.beats else 0
            generator, seeded_with = generator_from_args(args, channel=args.channel - 1, seed=seed)
            timeline = timeline_from_args(args, generator.model)
            # a beat model: 32 bars at the tempo, on its grid; a seconds model: a minute
            length = 32 * 4 * timeline.perf_per_beat() if timeline.beats else 60.0
            result = render(generator, seconds=length, timeline=timeline)
            write_rendered(result, path, args.bpm, args.channel - 1, args.program or 0, "encore render",
                           others=other_voices(args),
                           stretch=timeline.rate)
        except EncoreError as err:
            self.call_from_thread(self.log_line, str(err), True)
            return
        self.call_from_thread(self.log_line, f"wrote {path}: {count(len(result.notes), 'note')}, "
                                             f"seeded with {seeded_with}")

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_setup(self) -> None:
        def chosen(args) -> None:
            if args is None:
                return
            self.args = args
            self.restart_engine()

        own = self.status.ports.own_inputs if self.status is not None else ()
        self.push_screen(SetupScreen(self.args, own), chosen)

    def restart_engine(self) -> None:
        if self.engine is not None:
            self.engine.close()
        self.status = None
        self.query_one("#controls", ControlsPanel).problem = None
        self.rescued = False
        self.pending = PendingChanges()
        self.log_line("restarting the engine ...")
        self.engine = self.engine_factory(self.args)

    def action_quit_encore(self) -> None:
        if self.engine is not None:
            self.final = self.engine.close() or self.final
        self._stop_witness()
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
            f"encore: {count(final.notes, 'note')} played; send-time error median "
            f"{final.send_median_ms:.3f} ms, p99 {final.send_p99_ms:.3f} ms, "
            f"max {final.send_max_ms:.3f} ms over {count(final.messages, 'message')}"
        )
    return 0
