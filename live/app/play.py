"""`encore play`, `encore learn` and `encore ports`: a live Session run from the command
line, with signal handling and the guardian around it."""

from __future__ import annotations

import threading
import time

from live.core.wording import count
from live.engine.guardian import Guardian
from live.engine.knobs import is_knob_cc, load_knob_map, save_learned
from live.engine.ports import PortError, open_backend, open_input
from live.signals import ignore_stop_signals, on_stop_signals
from live.engine.session import LISTENER_LOOK_EVERY, PORT_CHECK_SECONDS, Session, say


class StopRequest:
    """Set by signals, by --seconds running out, or by the caller."""

    def __init__(self):
        self.event = threading.Event()
        self.reason = ""

    def set(self, reason: str) -> None:
        self.reason = self.reason or reason
        self.event.set()


def install_signal_handlers(stop: StopRequest) -> None:
    on_stop_signals(stop.set)


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
        # a device port outlives this process: if it dies unseen, the guardian ends the
        # notes there; our virtual JACK port dies with it, and the guardian ends them where
        # it was connected
        watched = None
        if not session.output_virtual:
            watched = (args.port or session.output.port.name, False)
        elif session.backend.name == "jack" and len(session.own_inputs) == 1:
            watched = (next(iter(session.own_inputs)), True)
        if watched is not None:
            try:
                guardian = Guardian(session.backend.name, *watched)
            except OSError as err:  # no process to spare: play on, as before there was one
                say(f"playing without a guardian for the notes ({err})")
        if not stop.event.is_set():
            session.start()
            timeline = session.timeline
            tempo = (f" at {timeline.bpm:g} BPM (a beat model: on its grid)" if timeline.beats
                     else " (a seconds model: the tempo moves only the quantise grid)")
            bars = getattr(args, "loop", 0)
            loop = (f", looping {count(bars, 'bar')} (variation {generator.controls.variation} %)"
                    if bars else "")
            state = "ready" if session.waiting_for_listener else "playing"
            say(f"{state}{tempo}{loop}, seeded with {seeded_with}; Ctrl-C stops")
        started = time.monotonic()
        waiting = session.waiting_for_listener  # then --seconds counts from the first note
        ends = started + args.seconds if args.seconds and not waiting else float("inf")
        while not stop.event.is_set():
            # wake for the port check, or exactly when --seconds runs out (not up to 0.5 s late)
            check_every = LISTENER_LOOK_EVERY if session.waiting_for_listener else PORT_CHECK_SECONDS
            stop.event.wait(max(0.0, min(check_every, ends - time.monotonic())))
            session.check_listener()
            if waiting and not session.waiting_for_listener:
                waiting, ends = False, time.monotonic() + args.seconds if args.seconds else float("inf")
            session.watch.check()
            if session.engine.failed:
                stop.set("engine error")
            if guardian is not None and guardian.process.poll() is not None:
                say("the guardian process has ended: from now on a kill -9 or a crash "
                    "would leave notes sounding (a clean stop still ends them)")
                guardian = None
            if time.monotonic() >= ends:
                stop.set("time is up")
    finally:
        if session is not None:
            session.close()  # if this fails, the guardian is not released: it ends the notes
            if guardian is not None:
                guardian.release()
            say(f"stopped ({stop.reason or 'exception'}): {count(session.engine.sent_notes, 'note')} played, "
                "none left sounding")
        elif stop.event.is_set():
            say(f"stopped ({stop.reason}) before playing")
        # Everything has ended: a signal from now on (a second Ctrl-C, a service manager's
        # TERM) must not turn the clean stop into a kill while the interpreter winds down,
        # which gives the default handlers back.
        ignore_stop_signals()
    return 1 if session is not None and session.engine.failed else 0


def learn(args) -> int:
    """`encore learn CONTROL`: move a knob; it is mapped and saved."""
    import queue as queue_module

    backend = open_backend(args.backend)
    knob_map = load_knob_map(None, warn=say)
    heard: queue_module.SimpleQueue = queue_module.SimpleQueue()

    def on_message(message):
        if message.type == "control_change" and is_knob_cc(message.control):
            heard.put(message)

    port, name = open_input(backend, args.input, callback=on_message)
    from live.core.controls import BUTTONS

    what = "press the button" if args.control in BUTTONS else "move the knob"
    say(f"{what} for {args.control} on {name!r} (waiting {args.timeout:g} s)")
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
