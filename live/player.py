"""`encore play`: the live engine wired to real MIDI ports, with clean-up on every exit.

Stop, Ctrl-C, SIGTERM, SIGHUP, an exception, the end of --seconds: each one ends every
sounding note, sends CC 123 on each channel used and saves the recording. What this
process cannot see (SIGKILL, a crash in native code) its guardian covers on a device port.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from dataclasses import dataclass

from live.engine import LiveEngine, Output
from live.guardian import Guardian
from live.inputs import InputRouter
from live.knobs import is_knob_cc, load_knob_map, save_learned
from live.midiclock import ClockFollower, ClockSender, Quantizer, Tempo
from live.ports import Backend, PortError, open_backend, open_input, open_output
from live.recorder import Recorder

PORT_CHECK_SECONDS = 0.5


def say(line: str) -> None:
    print(f"encore: {line}", file=sys.stderr, flush=True)


@dataclass
class PortWatch:
    """Watches the output port we connected to; reopens it when it comes back."""

    backend: Backend
    output: Output
    wanted: str | None  # what the user asked for; None for our own virtual port
    engine: LiveEngine

    def check(self) -> None:
        """A device that comes back often has another name (a new ALSA client number,
        a JACK suffix): it is found again by what the user asked for, not by its old
        full name."""
        if self.wanted is None:
            return
        try:
            names = [n for n in self.backend.output_names() if self.wanted.lower() in n.lower()]
        except (OSError, RuntimeError):  # rtmidi's SystemError is an OSError
            return  # a listing cut short (a signal in a system call, a busy server): next round
        if self.output.lost and len(names) == 1:
            try:
                port, _ = open_output(self.backend, names[0])
            except PortError:
                return
            self.output.replace(port)
            say(f"output port {names[0]!r} is back; playing again")
        elif not self.output.lost and not names:
            self.output.lost = True
            self.engine.forget_sounding()
            say(f"output port {self.wanted!r} vanished; playing on silently until it returns")


class StopRequest:
    """Set by signals, by --seconds running out, or by the caller."""

    def __init__(self):
        self.event = threading.Event()
        self.reason = ""

    def set(self, reason: str) -> None:
        self.reason = self.reason or reason
        self.event.set()


def install_signal_handlers(stop: StopRequest) -> None:
    for sig, name in [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "Ctrl-C"), (getattr(signal, "SIGHUP", None), "SIGHUP")]:
        if sig is not None:
            signal.signal(sig, lambda *_ , n=name: stop.set(n))


class Session:
    """One live performance: backend, output, engine, controller input, clock, recorder.

    Built from the same options as `encore play`; closing it is the one clean-up path
    (notes off, CC 123, the recording saved) whoever closes it: play, the TUI's engine
    process, a signal, an error."""

    def __init__(self, args, generator, log=say):
        self.args = args
        self.log = log
        # What can be wrong with the files is found before a port opens or a note plays:
        # a set must not end by losing its recording to a bad path.
        self.recorder = (
            Recorder(args.record, bpm=args.bpm, program=args.program or 0) if args.record else None
        )
        # loaded here, once: a missing or broken map is one clear line before any port
        self.knob_map = load_knob_map(args.controls)
        if args.controls:
            if not args.input:
                log(f"{args.controls}: knobs come from an input port; without --input PORT "
                    "this map moves nothing")
        self.backend = open_backend(args.backend)
        inputs_before = set(self.backend.input_names())
        port, described = open_output(self.backend, args.port, args.virtual)
        log(self.backend.note)  # after the port: a port that will not open is one line
        log(described)
        self.output = Output(port)
        # a virtual port lives and dies with this process; a device port outlives it
        self.output_virtual = args.port is None and (
            args.virtual is not None or self.backend.can_make_virtual_ports)
        # a virtual output appears among the inputs too: what is new there is encore's own
        self.own_inputs = frozenset(set(self.backend.input_names()) - inputs_before)
        self.engine = LiveEngine(
            generator, self.output, lookahead=args.lookahead / 1000.0, recorder=self.recorder, log=log
        )
        self.output.on_lost = self._lost
        self.watch = PortWatch(self.backend, self.output, args.port, self.engine)
        self.tempo = Tempo(args.bpm)
        if args.quantize != "off":
            self.engine.quantizer = Quantizer(self.tempo, args.quantize, args.quantize_strength / 100.0)
        if args.listen == "call":
            self.engine.respond_after = args.respond_after
        self.input_port, self.router, self.clock_sender = None, None, None
        try:
            if args.input:
                self.input_port, self.router = open_controller_input(
                    args, self.backend, self.engine, self.output, self.recorder, self.tempo,
                    self.knob_map, log, own=self.own_inputs,
                )
        except Exception:
            self.output.close()
            raise
        if args.send_clock:
            self.clock_sender = ClockSender(self.output.send, self.tempo)
        self.closed = False

    def _lost(self, line: str) -> None:
        self.engine.forget_sounding()
        self.log(line)

    def start(self) -> None:
        if self.args.program is not None:
            import mido

            self.output.send(
                mido.Message("program_change", channel=self.engine.generator.channel, program=self.args.program)
            )
        self.engine.start()
        if self.args.follow_clock:
            self.engine.pause()
            self.log("waiting for MIDI clock Start on the input")
        if self.clock_sender is not None:
            self.clock_sender.start()

    def save_recording(self):
        if self.recorder is None:
            return None
        path = self.recorder.save(self.engine.performance_time())
        self.log(f"recorded {self.recorder.note_count} notes to {path}")
        return path

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self.input_port is not None:
                self.input_port.close()
            if self.router is not None and self.router.thru is not None:
                self.router.release_thru()
            if self.clock_sender is not None:
                self.clock_sender.stop()
        finally:
            self.engine.stop()  # every exit path: notes off, CC 123
            try:
                self.save_recording()
            finally:
                self.output.close()


def play(args, make_generator) -> int:
    """Play until stopped. make_generator() -> (generator, how it was seeded) runs once the
    signal handlers are in: from the first moment a signal only asks to stop, so neither
    loading the model nor opening the ports can be cut off halfway with a port open."""
    stop = StopRequest()
    install_signal_handlers(stop)  # kept to the end: a late second signal must not kill
    session = guardian = None
    try:
        generator, seeded_with = make_generator()
        session = Session(args, generator)
        if not session.output_virtual:
            # a device port outlives this process: if it dies unseen, the guardian ends the notes
            try:
                guardian = Guardian(session.backend.name, args.port or session.output.port.name)
            except OSError as err:  # no process to spare: play on, as before there was one
                say(f"playing without a guardian for the notes ({err})")
        if not stop.event.is_set():
            session.start()
            say(f"playing, seeded with {seeded_with}; Ctrl-C stops")
        started = time.monotonic()
        while not stop.event.is_set():
            stop.event.wait(PORT_CHECK_SECONDS)
            session.watch.check()
            if session.engine.failed:
                stop.set("engine error")
            if guardian is not None and guardian.process.poll() is not None:
                say("the guardian process has ended: from now on a kill -9 or a crash "
                    "would leave notes sounding (a clean stop still ends them)")
                guardian = None
            if args.seconds and time.monotonic() - started >= args.seconds:
                stop.set("time is up")
    finally:
        if session is not None:
            session.close()  # if this fails, the guardian is not released: it ends the notes
            if guardian is not None:
                guardian.release()
            say(f"stopped ({stop.reason or 'exception'}): {session.engine.sent_notes} notes played, "
                "none left sounding")
        elif stop.event.is_set():
            say(f"stopped ({stop.reason}) before playing")
        # Everything has ended: a signal from now on (a second Ctrl-C, a service manager's
        # TERM) must not turn the clean stop into a kill while the interpreter winds down,
        # which gives the default handlers back.
        for sig in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", None)):
            if sig is not None:
                signal.signal(sig, signal.SIG_IGN)
    return 1 if session is not None and session.engine.failed else 0


def open_controller_input(args, backend, engine, output, recorder, tempo, knob_map, log=say,
                          own=frozenset()):
    """Knobs, played notes and clock from the --input port."""
    follower = ClockFollower(
        tempo,
        to_performance=lambda at: at - engine._origin,
        on_start=engine.resume if args.follow_clock else None,
        on_stop=engine.pause if args.follow_clock else None,
        on_continue=engine.resume if args.follow_clock else None,
    )
    router = InputRouter(
        engine, knob_map, listen=args.listen,
        thru=None if args.no_thru else output.send,
        clock_follower=follower, recorder=recorder,
    )
    port, name = open_input(backend, args.input, callback=router, own=own)
    log(f"input from {name!r}: knobs, played notes ({args.listen}), clock")
    return port, router


def learn(args) -> int:
    """`encore learn CONTROL`: move a knob; it is mapped and saved."""
    import queue as queue_module

    backend = open_backend(args.backend)
    knob_map = load_knob_map(None)
    heard: queue_module.SimpleQueue = queue_module.SimpleQueue()

    def on_message(message):
        if message.type == "control_change" and is_knob_cc(message.control):
            heard.put(message)

    port, name = open_input(backend, args.input, callback=on_message)
    say(f"move the knob for {args.control} on {name!r} (waiting {args.timeout:g} s)")
    try:
        message = heard.get(timeout=args.timeout)
    except queue_module.Empty:
        raise PortError(f"no knob moved on {name!r} within {args.timeout:g} s; nothing was saved") from None
    finally:
        port.close()
    knob = knob_map.learn(args.control, message.channel, message.control)
    path = save_learned(knob)
    print(f"{args.control} <- {knob.describe()}, saved to {path}")
    return 0


def list_ports(backend_name: str) -> str:
    backend = open_backend(backend_name)
    lines = [backend.note, "outputs:"]
    lines += [f"  {name}" for name in backend.output_names()] or ["  (none)"]
    lines.append("inputs:")
    lines += [f"  {name}" for name in backend.input_names()] or ["  (none)"]
    return "\n".join(lines)
