"""The live engine in a process of its own, so a busy screen can never delay a note.

The UI process sends commands (plain tuples) down a pipe and receives status
snapshots (plain dicts) about 20 times a second. The engine process owns the MIDI
ports and the model; when the pipe breaks (the UI quit or crashed) it closes the
session, which ends every note. A busy UI shares no GIL with the sender thread.
"""

from __future__ import annotations

import collections
import multiprocessing
import signal
import time
from dataclasses import asdict

import numpy as np

from live.core import vocab
from live.app.bench import percentile
from live.core.controls import NOTE_NAMES
from live.core.errors import EncoreError

STATUS_SECONDS = 0.05
PORT_CHECK_SECONDS = 0.5
ROLL_NOTES = 400


def note_name(pitch: int) -> str:
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def primer_preview(events: list[int], count: int = 8) -> str:
    names = [note_name(e) for e in events if vocab.is_note_on(e)][:count]
    return " ".join(names) if names else "(no notes)"


class EngineServer:
    """Runs in the engine process: a Session driven by commands from the pipe."""

    def __init__(self, conn, args):
        from live.app.options import generator_from_args
        from live.engine.session import Session

        self.conn = conn
        self.args = args
        self.logs: list[str] = []
        self.generator, self.seeded_with = generator_from_args(args, channel=args.channel - 1)
        self.primer_number = _primer_number(self.seeded_with)
        self.primer_events = list(self.generator.primer)
        self.rng = np.random.default_rng(args.random_seed)
        self.session = Session(args, self.generator, log=self.logs.append)
        self.played: collections.deque = collections.deque(maxlen=ROLL_NOTES)
        self.session.engine.listeners.append(self._heard_sent)
        self.learned: list[str] = []
        self.commands_read = 0  # in each status: the UI knows which changes are not read yet

    def _heard_sent(self, message, error) -> None:
        self.played.append((message.time, message.pitch, message.on, message.velocity))

    # ------------------------------------------------------------ commands

    def handle(self, command) -> bool:
        """Apply one command; False means quit."""
        self.commands_read += 1
        kind, *rest = command
        engine = self.session.engine
        if kind == "quit":
            return False
        if kind == "play":
            engine.resume()
        elif kind == "stop":
            engine.pause()
        elif kind == "panic":
            engine.panic()
            if self.session.router is not None and self.session.router.thru is not None:
                self.session.router.release_thru()
            self.logs.append("panic: all notes off")
        elif kind == "set":
            name, value = rest
            engine.update_controls(**{name: value})
        elif kind == "tempo":
            self.session.tempo.bpm = float(rest[0])
        elif kind == "quantize":
            self._quantize(*rest)
        elif kind == "reseed":
            self._reseed(rest[0] if rest else None)
        elif kind == "learn":
            self._learn(rest[0])
        elif kind == "save":
            if self.session.recorder is None:
                self.logs.append("not recording: start with --record FILE.mid")
            else:
                self.session.save_recording()
        return True

    def _quantize(self, grid: str, strength: float) -> None:
        from live.engine.midiclock import Quantizer

        engine = self.session.engine
        engine.quantizer = None if grid == "off" else Quantizer(self.session.tempo, grid, strength)

    def _reseed(self, which) -> None:
        """which: None (random), +1 / -1 (next, previous), 'silence', 'capture' (the
        phrase just played on the input), or a .mid path."""
        from live.core import codec
        from live.files.primers import closed, embedded_primer, primer_from_midi

        model = self.generator.model
        try:
            if which == "silence":
                events, self.seeded_with = [], "silence"
            elif which == "capture":
                router = self.session.router
                notes = router.captured_notes() if router is not None else []
                if not notes:
                    self.logs.append("nothing captured: play a phrase on the input first (--input NAME)")
                    return
                events = closed(codec.encode(notes))
                self.seeded_with = f"the {len(notes)} notes just played"
            elif isinstance(which, str):
                events, self.seeded_with = primer_from_midi(which), f"the melody of {which}"
            elif model.info.primers:
                count = len(model.info.primers)
                number = None if which is None else ((self.primer_number or 0) + which) % count
                self.primer_number, events = embedded_primer(model, number, self.rng)
                self.seeded_with = f"primer {self.primer_number} of {count}"
            else:
                events, self.seeded_with = [], "silence (the model has no primers)"
        except EncoreError as err:
            self.logs.append(str(err))
            return
        self.primer_events = events
        self.session.engine.reseed(events)
        self.logs.append(f"reseeded with {self.seeded_with}")

    def _learn(self, control: str) -> None:
        router = self.session.router
        if router is None:
            self.logs.append("MIDI learn needs an input: start with --input NAME")
            return
        from live.engine.knobs import save_learned

        def done(knob):
            path = save_learned(knob)
            self.learned.append(control)
            self.logs.append(f"{control} <- {knob.describe()}, saved to {path}")

        router.learn(control, done)
        self.logs.append(f"MIDI learn: move a knob for {control}")

    # ------------------------------------------------------------ status

    def status(self) -> dict:
        engine = self.session.engine
        now = engine.performance_time()
        errors = list(engine.send_errors)[-500:]
        steps = list(engine.step_times)[-300:]
        recent = [t for t in list(engine.sent_at) if time.perf_counter() - t < 2.0]
        with engine._lock:
            upcoming = [(s.due, s.message.pitch, s.message.on, s.message.velocity) for s in engine._heap]
        info = self.generator.model.info
        knobs = {}
        if self.session.router is not None:
            for name in asdict(engine.controls):
                mapped = self.session.router.knobs.for_control(name)
                if mapped:
                    knobs[name] = mapped[-1].describe()
        quantizer = engine.quantizer
        logs, self.logs[:] = list(self.logs), []
        return {
            "now": now,
            "commands_read": self.commands_read,
            "playing": engine.playing,
            "failed": engine.failed,
            "controls": asdict(engine.controls),
            "knobs": knobs,
            "tempo": {"bpm": self.session.tempo.bpm, "source": self.session.tempo.source},
            "quantize": {"grid": quantizer.grid if quantizer else "off",
                         "strength": quantizer.strength if quantizer else 1.0},
            "meters": {
                "notes_per_s": len(recent) / 2.0,
                "step_median_ms": float(np.median(steps)) * 1e3 if steps else 0.0,
                "step_p99_ms": percentile(steps, 0.99) * 1e3 if steps else 0.0,
                "send_p99_ms": percentile(errors, 0.99) * 1e3 if errors else 0.0,
                "send_max_ms": max(errors) * 1e3 if errors else 0.0,
                "held": len(engine.sounding),
            },
            "played": list(self.played),
            "upcoming": sorted(upcoming)[:100],
            "seed": {"description": self.seeded_with, "number": self.primer_number,
                     "count": len(info.primers), "preview": primer_preview(self.primer_events)},
            "model": {"path": str(info.path), "kind": info.kind, "layers": info.layers,
                      "hidden": info.hidden, "window": info.window, "val_nll": info.val_nll,
                      "corpus": info.corpus, "primers": len(info.primers)},
            "ports": {"output": self.session.output.port.name if self.session.output.port else None,
                      "output_lost": self.session.output.lost,
                      "output_virtual": self.session.output_virtual,
                      "input": self.args.input, "backend": self.session.backend.name,
                      "own_inputs": sorted(self.session.own_inputs),
                      "recording": str(self.session.recorder.path) if self.session.recorder else None},
            "logs": logs,
        }

    def final(self) -> dict:
        engine = self.session.engine
        errors = [e * 1e3 for e in engine.send_errors]
        return {
            "closed": True,
            "notes": engine.sent_notes,
            "send_median_ms": float(np.median(errors)) if errors else 0.0,
            "send_p99_ms": percentile(errors, 0.99) if errors else 0.0,
            "send_max_ms": max(errors) if errors else 0.0,
            "messages": len(errors),
        }


def _primer_number(description: str) -> int | None:
    if description.startswith("primer "):
        return int(description.split()[1])
    return None


def serve(conn, args) -> None:
    """The engine process's main: build, run, and always clean up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the UI

    def terminate(*_):
        raise SystemExit(0)

    # SIGTERM, and SIGHUP when the terminal closes: leave through the clean-up below.
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, terminate)
    try:
        server = EngineServer(conn, args)
    except EncoreError as err:
        conn.send({"fatal": str(err)})
        return
    except Exception as err:  # never a traceback on the user's screen
        conn.send({"fatal": f"engine could not start: {type(err).__name__}: {err}"})
        return
    final = {"closed": True}
    try:
        server.session.start()
        server.logs.append(f"playing, seeded with {server.seeded_with}")
        checked = time.monotonic()
        while True:
            if conn.poll(STATUS_SECONDS):
                if not server.handle(conn.recv()):
                    break
            if time.monotonic() - checked > PORT_CHECK_SECONDS:
                server.session.watch.check()
                checked = time.monotonic()
            conn.send(server.status())
    except (EOFError, BrokenPipeError, OSError):
        pass  # the UI went away: clean up below
    finally:
        # A second signal must not cut the clean-up short.
        for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if sig is not None:
                signal.signal(sig, signal.SIG_IGN)
        server.session.close()
        final = server.final()
        try:
            conn.send(final)
        except (BrokenPipeError, OSError):
            pass


class RemoteEngine:
    """The UI's handle on the engine process."""

    @staticmethod
    def prepare() -> None:
        """Start multiprocessing's resource tracker now, while sys.stderr is still the
        terminal's: a UI that captures stderr (Textual does) leaves it no file
        descriptor to hand on, and starting a process then fails."""
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()

    def __init__(self, args):
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child, args), name="encore-engine", daemon=True)
        self.process.start()
        child.close()
        self.final: dict | None = None
        self.fatal: str | None = None

    def send(self, *command) -> None:
        try:
            self.conn.send(command)
        except (BrokenPipeError, OSError):
            pass

    def receive(self) -> list[dict]:
        """Everything that arrived since the last call (never blocks)."""
        got = []
        try:
            while self.conn.poll():
                message = self.conn.recv()
                if "fatal" in message:
                    self.fatal = message["fatal"]
                elif message.get("closed"):
                    self.final = message
                got.append(message)
        except (EOFError, OSError):
            pass
        return got

    def died(self) -> str | None:
        """How the engine process ended, when it ended without its clean-up (killed,
        crashed): then nobody has sent the note-offs. None while it runs, after a clean
        close, or when it could not start (it said why)."""
        # Ask after receive(): a last word (fatal, closed) read there rules a crash out.
        if self.process.is_alive() or self.final is not None or self.fatal is not None:
            return None
        code = self.process.exitcode
        return f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"

    def close(self, timeout: float = 5.0) -> dict | None:
        """Quit the engine (notes off, recording saved) and wait for it."""
        self.send("quit")
        deadline = time.monotonic() + timeout
        while self.process.is_alive() and time.monotonic() < deadline:
            self.receive()
            time.sleep(0.02)
        self.receive()
        if self.process.is_alive():
            self.process.terminate()  # SIGTERM: the engine still cleans up
            self.process.join(2.0)
            self.receive()  # its last word, if it came in that time
        return self.final
