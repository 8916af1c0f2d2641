"""The live engine in a process of its own, so a busy screen can never delay a note.

The UI process sends requests down a pipe and receives a Status about 20 times a
second (the dataclasses of live.engine.protocol). The engine process owns the MIDI
ports and the model; when the pipe breaks (the UI quit or crashed) it closes the
session, which ends every note. A busy UI shares no GIL with the sender thread.
"""

from __future__ import annotations

import collections
import multiprocessing
import time
from dataclasses import fields

import numpy as np

from live.core.wording import count
from live.core import vocab
from live.core.scales import note_name
from live.core.errors import EncoreError
from live.engine import protocol
from live.signals import ignore_stop_signals, leave_interrupts_to_the_screen, on_stop_signals

STATUS_SECONDS = 0.05
PORT_CHECK_SECONDS = 0.5
# An engine that sends no status for this long (it sends 20 a second) is frozen: stopped
# (SIGSTOP), deadlocked, swapped out. Generous: a busy machine delays it by tenths.
FROZEN_SECONDS = 3.0
ROLL_NOTES = 400


def primer_preview(events: list[int], count: int = 8) -> str:
    names = [note_name(e) for e in events if vocab.is_note_on(e)][:count]
    return " ".join(names) if names else "(no notes)"


def tempo_status(timeline, now: float, peers: int | None) -> protocol.TempoStatus:
    return protocol.TempoStatus(
        timeline.bpm, timeline.source, timeline.beats, timeline.beat_at(timeline.sounding_at(now)),
        timeline.beat_origin, timeline.perf_per_beat(), peers,
    )


def loop_status(state, timeline) -> protocol.LoopStatus:
    return protocol.LoopStatus(state.bars, state.bar, state.passes, state.hold, state.capturing, state.launch,
                               state.anchor, 4 * timeline.perf_per_beat())


def harmony_status(harmony, timeline, now: float, asked: str | None) -> protocol.HarmonyStatus:
    """The chord sounding now and the next, from the harmony the generator leans to."""
    if harmony is None:
        return protocol.HarmonyStatus(progression="input" if (asked or "").strip().lower() == "input" else "")
    step = vocab.seconds_to_steps(timeline.sounding_at(now))
    change = harmony.next_change(step)
    what = harmony.parts[-1][1]
    return protocol.HarmonyStatus(
        str(harmony.chord_at(step)), None if change is None else str(change[1]),
        None if change is None else (change[0] - step) / vocab.STEPS_PER_BEAT,
        harmony.key_label, str(what) if hasattr(what, "chords") else "input")


class EngineServer:
    """Runs in the engine process: a Session driven by commands from the pipe."""

    def __init__(self, conn, args, make_generator):
        from live.engine.session import Session

        self.conn = conn
        self.args = args
        self.logs: list[str] = []
        self.generator, self.seeded_with = make_generator()
        self.primer_number = _primer_number(self.seeded_with)
        self.primer_events = list(self.generator.primer)
        self.rng = np.random.default_rng(args.random_seed)
        self.session = Session(args, self.generator, log=self.logs.append)
        self.played: collections.deque = collections.deque(maxlen=ROLL_NOTES)
        self.session.engine.listeners.append(self._heard_sent)
        self.learned: list[str] = []
        self.requests_read = 0  # in each status: the screen knows which changes are not read yet

    def _heard_sent(self, message, error) -> None:
        self.played.append((message.time, message.pitch, message.on, message.velocity))

    # ------------------------------------------------------------ commands

    def handle(self, request: protocol.Request) -> bool:
        """Apply one request from the screen; False means quit."""
        self.requests_read += 1
        engine = self.session.engine
        if isinstance(request, protocol.Quit):
            return False
        if isinstance(request, protocol.Play):
            self.session.stop_waiting()  # space before a synth came: play now
            engine.resume()
        elif isinstance(request, protocol.Stop):
            self.session.stop_waiting()
            engine.pause()
        elif isinstance(request, protocol.PanicRequest):
            engine.panic()
            if self.session.router is not None and self.session.router.thru is not None:
                self.session.router.release_thru()
            self.logs.append("panic: all notes off, stopped; space plays again")
        elif isinstance(request, protocol.SetControl):
            if request.voice is not None and "bass" not in getattr(self.generator, "voices", {}):
                self.logs.append("no bass voice: start with --bass")
            else:
                engine.update_controls(voice=request.voice, **{request.name: request.value})
        elif isinstance(request, protocol.SetTempo):
            self.session.set_tempo(float(request.bpm))
        elif isinstance(request, protocol.SetQuantize):
            self._quantize(request.grid, request.strength)
        elif isinstance(request, protocol.ReseedRequest):
            self._reseed(request.which)
        elif isinstance(request, protocol.Learn):
            self._learn(request.control)
        elif isinstance(request, protocol.SetLoop):
            engine.set_loop(request.bars)
        elif isinstance(request, protocol.SetLaunch):
            engine.set_launch(request.when)
        elif isinstance(request, protocol.SetChords):
            self._chords(request.text)
        elif isinstance(request, protocol.Press):
            self.session.press(request.button)
        elif isinstance(request, protocol.SaveRecording):
            if self.session.recorder is None:
                self.logs.append("not recording: start with --record FILE.mid")
            else:
                self.session.save_recording()
        else:
            self.logs.append(f"unknown request {request!r}")
        return True

    def _quantize(self, grid: str, strength: float) -> None:
        from live.core.tempo import Quantizer

        engine = self.session.engine
        engine.set_quantizer(None if grid == "off" else Quantizer(self.session.timeline, grid, strength))

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
                self.seeded_with = f"the {count(len(notes), 'note')} just played"
            elif isinstance(which, str):
                events, self.seeded_with = primer_from_midi(which), f"the melody of {which}"
            elif model.info.primers:
                primers = len(model.info.primers)
                current = (self.primer_number or 1) - 1  # numbered from 1; stepped round from 0
                number = None if which is None else (current + which) % primers + 1
                self.primer_number, events = embedded_primer(model, number, self.rng)
                self.seeded_with = f"primer {self.primer_number} of {primers}"
            else:
                events, self.seeded_with = [], "silence (the model has no primers)"
        except EncoreError as err:
            self.logs.append(str(err))
            return
        self.primer_events = events
        self.session.engine.reseed(events)
        self.logs.append(f"reseeded with {self.seeded_with}")

    def _chords(self, text: str) -> None:
        from live.core.chords import parse_progression

        try:
            progression = parse_progression(text)
        except EncoreError as err:
            self.logs.append(str(err))
            return
        self.session.engine.set_chords(progression)
        self.logs.append(f"chords {progression} from the next bar line")

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

    def status(self) -> protocol.Status:
        engine = self.session.engine
        now = engine.performance_time()
        errors = list(engine.send_errors)[-500:]
        steps = list(engine.step_times)[-300:]
        recent = [t for t in list(engine.sent_at) if time.perf_counter() - t < 2.0]
        info = self.generator.model.info
        knobs = {}
        if self.session.router is not None:
            for name in [*fields_of(engine.controls), "loop", "launch"]:
                mapped = self.session.router.knobs.for_control(name)
                if mapped:
                    knobs[name] = mapped[-1].describe()
        quantizer = engine.quantizer
        logs, self.logs[:] = tuple(self.logs), []
        session = self.session
        return protocol.Status(
            now=now,
            playing=engine.playing,
            failed=engine.failed,
            controls=engine.controls,
            bass=self.generator.voice("bass").controls if "bass" in getattr(self.generator, "voices", {}) else None,
            knobs=knobs,
            tempo=tempo_status(session.timeline, engine.clock(), session.link_peers),
            quantize=protocol.QuantizeStatus(quantizer.grid, quantizer.strength) if quantizer
            else protocol.QuantizeStatus(),
            loop=loop_status(engine.loop_state(), session.timeline),
            harmony=harmony_status(self.generator.harmony, session.timeline, engine.clock(),
                                   getattr(self.args, "chords", None)),
            meters=protocol.Meters(
                notes_per_s=len(recent) / 2.0,
                step_median_ms=float(np.median(steps)) * 1e3 if steps else 0.0,
                step_p99_ms=float(np.percentile(steps, 99)) * 1e3 if steps else 0.0,
                send_p99_ms=float(np.percentile(errors, 99)) * 1e3 if errors else 0.0,
                send_max_ms=max(errors) * 1e3 if errors else 0.0,
                held=engine.held,
            ),
            played=tuple(self.played),
            upcoming=tuple(engine.upcoming(100)),
            seed=protocol.SeedStatus(self.seeded_with, self.primer_number, len(info.primers),
                                     primer_preview(self.primer_events), tuple(self.primer_events)),
            model=protocol.ModelStatus(str(info.path), info.kind, info.layers, info.hidden, info.window,
                                       info.val_nll, info.corpus, len(info.primers)),
            ports=protocol.PortsStatus(
                output=session.output.port.name if session.output.port else None,
                output_lost=session.output.lost,
                output_virtual=session.output_virtual,
                input=self.args.input,
                backend=session.backend.name,
                own_inputs=tuple(sorted(session.own_inputs)),
                recording=str(session.recorder.path) if session.recorder else None,
            ),
            logs=logs,
            requests_read=self.requests_read,
        )

    def final(self) -> protocol.Closed:
        engine = self.session.engine
        errors = [e * 1e3 for e in engine.send_errors]
        knobs = [x * 1e3 for x in engine.control_latencies]
        beyond = [(x - w) * 1e3 for x, w in zip(engine.control_latencies, engine.scheduler.grid_waits)]
        return protocol.Closed(
            notes=engine.sent_notes,
            send_median_ms=float(np.median(errors)) if errors else 0.0,
            send_p99_ms=float(np.percentile(errors, 99)) if errors else 0.0,
            send_max_ms=max(errors) if errors else 0.0,
            messages=len(errors),
            knob_turns=len(knobs),
            knob_median_ms=float(np.median(knobs)) if knobs else None,
            knob_max_ms=max(knobs) if knobs else None,
            knob_beyond_grid_median_ms=float(np.median(beyond)) if beyond else None,
            knob_beyond_grid_max_ms=max(beyond) if beyond else None,
            loop_landings=tuple(engine.scheduler.loop_landings),
        )


def fields_of(controls) -> list[str]:
    return [f.name for f in fields(controls)]


def _primer_number(description: str) -> int | None:
    if description.startswith("primer "):
        return int(description.split()[1])
    return None


def serve(conn, args, make_generator) -> None:
    """The engine process's main: build, run, and always clean up."""
    leave_interrupts_to_the_screen()

    def terminate(_name):
        raise SystemExit(0)

    # SIGTERM, and SIGHUP when the terminal closes: leave through the clean-up below.
    on_stop_signals(terminate, interrupt=False)
    try:
        server = EngineServer(conn, args, make_generator)
    except EncoreError as err:
        conn.send(protocol.Fatal(str(err)))
        return
    except Exception as err:  # never a traceback on the user's screen
        conn.send(protocol.Fatal(f"engine could not start: {type(err).__name__}: {err}"))
        return
    final = protocol.Closed()
    try:
        server.session.start()
        if not server.session.waiting_for_listener:
            server.logs.append(f"playing, seeded with {server.seeded_with}")
        checked = time.monotonic()
        while True:
            if conn.poll(STATUS_SECONDS):
                if not server.handle(conn.recv()):
                    break
            server.session.check_listener()
            if time.monotonic() - checked > PORT_CHECK_SECONDS:
                server.session.watch.check()
                checked = time.monotonic()
            conn.send(server.status())
    except (EOFError, BrokenPipeError, OSError):
        pass  # the UI went away: clean up below
    finally:
        ignore_stop_signals(interrupt=False)  # a second signal must not cut the clean-up short
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

    def __init__(self, args, make_generator):
        """make_generator() -> (Generator, how it was seeded), run in the engine process:
        a picklable callable, such as a partial of the command line's generator_from_args."""
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child, args, make_generator), name="encore-engine",
                                       daemon=True)
        self.process.start()
        child.close()
        self.final: protocol.Closed | None = None
        self.last_heard: float | None = None  # monotonic time of its last message
        self.fatal: str | None = None

    def send(self, request: protocol.Request) -> None:
        try:
            self.conn.send(request)
        except (BrokenPipeError, OSError):
            pass

    def receive(self) -> list[protocol.Reply]:
        """Everything that arrived since the last call (never blocks)."""
        got = []
        try:
            while self.conn.poll():
                message = self.conn.recv()
                self.last_heard = time.monotonic()
                if isinstance(message, protocol.Fatal):
                    self.fatal = message.message
                elif isinstance(message, protocol.Closed):
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

    def frozen(self, seconds: float = FROZEN_SECONDS) -> bool:
        """It answered once and has not for `seconds`, and still runs: its notes may hang."""
        return (self.last_heard is not None and self.final is None and self.fatal is None
                and time.monotonic() - self.last_heard > seconds and self.process.is_alive())

    def kill(self) -> None:
        """SIGKILL: the one signal a stopped or hung process cannot ignore."""
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2.0)

    def close(self, timeout: float = 5.0) -> protocol.Closed | None:
        """Quit the engine (notes off, recording saved) and wait for it."""
        self.send(protocol.Quit())
        deadline = time.monotonic() + timeout
        while self.process.is_alive() and time.monotonic() < deadline:
            self.receive()
            time.sleep(0.02)
        self.receive()
        if self.process.is_alive():
            self.process.terminate()  # SIGTERM: the engine still cleans up
            self.process.join(2.0)
            self.receive()  # its last word, if it came in that time
        self.kill()  # still there: frozen (SIGSTOP does not let SIGTERM in); never hang on it
        return self.final
