"""The TUI's modal screens: help, a file to seed from, ports and model."""

from __future__ import annotations

import copy
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        # the keys as a text file of their own (live/app/tui/help.md): shown as written
        yield Static((Path(__file__).parent / "help.md").read_text().rstrip(), id="help", markup=False)


class SeedFileScreen(ModalScreen):
    """Ask for a .mid file to seed from (its melody's end primes the model)."""

    BINDINGS = [Binding("escape", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="setup"):
            yield Static("seed from a MIDI file: its melody primes the model (enter, escape closes)")
            yield Input(placeholder="path/to/song.mid", id="seed-file")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


class ChordsScreen(ModalScreen):
    """Ask for a progression to follow from the next bar line."""

    BINDINGS = [Binding("escape", "dismiss", "close")]

    def __init__(self, current: str = ""):
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="setup"):
            yield Static("chords, a bar each: Am F C G (Am:2 for two bars; maj m 7 m7 maj7 sus2 sus4 dim aug 5); "
                         "from the next bar line (enter, escape closes)")
            yield Input(value=self.current, placeholder="Am F C G", id="chords")

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
        from live.model import describe_model_file

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
        self.query_one("#models", OptionList).highlighted = 0

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
        outputs.add_options([Option("virtual port 'encore' (encore:encore on JACK)", id="")] +
                            [Option(n, id=n) for n in backend.output_names()])
        # not encore's own output seen from the other side: it would feed encore itself
        own = set(self.own_inputs)
        inputs.add_options([Option("no input", id="")] +
                           [Option(n, id=n) for n in backend.input_names() if n not in own])
        # Enter picks the highlighted row at once: without one it did nothing until Down
        outputs.highlighted = inputs.highlighted = 0
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
    """The shipped models, the one that plays by default first."""
    from live.model import default_model_path

    default = default_model_path()
    return sorted(default.parent.glob("*.onnx"), key=lambda p: (p != default, p.name))
