"""`encore play`: the live engine wired to real MIDI ports, with clean-up on every exit.

Stop, Ctrl-C, SIGTERM, SIGHUP, an exception, the end of --seconds: each one ends every
sounding note, sends CC 123 on each channel used and saves the recording. What this
process cannot see (SIGKILL, a crash in native code) its guardian covers on a device port.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from live.core.ensemble import other_voices
from live.core.wording import count
from live.engine.live_engine import LiveEngine, Output
from live.engine.input_router import InputRouter
from live.engine.knobs import load_knob_map
from live.core.errors import EncoreError
from live.core.tempo import Quantizer
from live.core.timeline import Timeline
from live.engine.midiclock import ClockFollower, ClockSender
from live.engine.jack_link import JackLink
from live.engine.ports import Backend, PortError, open_backend, open_input, open_output
from live.files.recorder import Recorder

PORT_CHECK_SECONDS = 0.5
LISTENER_LOOK_EVERY = 0.05  # how often a port waiting for its synth asks JACK
# The first note of a set leaves this long after the ports opened: a JACK connection made a
# moment ago takes effect at a later period, and on a loaded machine a first note sent
# sooner was lost on the way (the synth then heard its note-off alone).
FIRST_NOTE_MARGIN = 0.1


def say(line: str) -> None:
    print(f"encore: {line}", file=sys.stderr, flush=True)


@dataclass
class PortWatch:
    """Watches the output port we connected to; reopens it when it comes back."""

    backend: Backend
    output: Output
    wanted: str | None  # what the user asked for; None for our own virtual port
    engine: LiveEngine
    link: JackLink | None = None  # on JACK: the connection itself, watched
    sounding_at_loss: tuple = ()  # (channel, pitch): ended on the port when it returns

    def check(self) -> None:
        """A device that comes back often has another name (a new ALSA client number,
        a JACK suffix): it is found again by what the user asked for, not by its old
        full name."""
        if self.wanted is None:
            return
        if self.link is not None and not self.output.lost and not self.link.intact():
            self._connection_broke()
            return
        try:
            names = [n for n in self.backend.output_names() if self.wanted.lower() in n.lower()]
        except (OSError, RuntimeError):  # rtmidi's SystemError is an OSError
            return  # a listing cut short (a signal in a system call, a busy server): next round
        if self.output.lost and len(names) == 1:
            try:
                if self.link is not None:
                    self.link.destination = names[0]
                    port, _ = self.link.attach(lambda: open_output(self.backend, names[0]))
                else:
                    port, _ = open_output(self.backend, names[0])
            except PortError:
                return
            self.output.replace(port)
            ended = self._end_what_sounded()
            say(f"output port {names[0]!r} is back; {ended}playing again")
        elif not self.output.lost and not names:
            self._lost()

    def _lost(self) -> None:
        self.output.lost = True
        self.sounding_at_loss = self.engine.sounding_notes()
        self.engine.forget_sounding()
        say(f"output port {self.wanted!r} vanished; playing on silently until it returns")

    def _connection_broke(self) -> None:
        """The port went away, for a moment or for good, and our connection with it."""
        if self.link.destination_present() and self.link.reconnect():
            self.sounding_at_loss = self.engine.sounding_notes()
            ended = self._end_what_sounded()
            say(f"output port {self.wanted!r} went away and came back; connected again, "
                f"{ended}playing on")
            return
        self._lost()

    def _end_what_sounded(self) -> str:
        """The notes sounding when the port went are ended there now (with CC 123): the
        synth may still hold them."""
        keys, self.sounding_at_loss = self.sounding_at_loss, ()
        self.engine.end_notes(keys)
        return f"the {len(keys)} note{'s' if len(keys) != 1 else ''} sounding then ended, " if keys else ""


def _open_watched(backend: Backend, port: str | None, virtual: str | None):
    """The output, and on JACK the watch on its connection (a device port only: our own
    virtual port has no one connection to keep)."""
    from live.engine.ports import match_port

    if port is None or backend.name != "jack":
        return (*open_output(backend, port, virtual), None)
    name = match_port(backend.output_names(), port, "output")
    link = JackLink.open(name)
    if link is None:
        return (*open_output(backend, name), None)
    opened, described = link.attach(lambda: open_output(backend, name))
    return opened, described, link


class Session:
    """One live performance: backend, output, engine, controller input, clock, recorder.

    Built from the same options as `encore play`; closing it is the one clean-up path
    (notes off, CC 123, the recording saved) whoever closes it: play, the TUI's engine
    process, a signal, an error."""

    def __init__(self, args, generator, log=say):
        self.args = args
        self.log = log
        if getattr(args, "link", False) and args.follow_clock:
            raise EncoreError("--link and --follow-clock are two tempo sources; follow one of them")
        if args.follow_clock and not args.input:
            raise EncoreError("--follow-clock follows the MIDI clock on an input port: name it with "
                              "--input PORT (encore ports lists them)")
        # What can be wrong with the files is found before a port opens or a note plays:
        # a set must not end by losing its recording to a bad path.
        voices = {channel: (name, program) for name, channel, program in other_voices(args)}
        self.recorder = (
            Recorder(args.record, bpm=args.bpm, program=args.program or 0, voices=voices) if args.record else None
        )
        self.capture_dir = check_capture_dir(getattr(args, "capture_dir", None) or ".")
        # loaded here, once: a missing or broken map is one clear line before any port
        self.knob_map = load_knob_map(args.controls, warn=log)
        if args.controls:
            if not args.input:
                log(f"{args.controls}: knobs come from an input port; without --input PORT "
                    "this map moves nothing")
        self.backend = open_backend(args.backend)
        inputs_before = set(self.backend.input_names())
        if args.input:
            check_input_named(args.input, sorted(inputs_before), args.virtual)  # before any port opens
        port, described, self.link = _open_watched(self.backend, args.port, args.virtual)
        log(self.backend.note)  # after the port: a port that will not open is one line
        log(described)
        self.output = Output(port)
        # a virtual port lives and dies with this process; a device port outlives it
        self.output_virtual = args.port is None and (
            args.virtual is not None or self.backend.can_make_virtual_ports)
        # a virtual output appears among the inputs too: what is new there is encore's own
        self.own_inputs = frozenset(set(self.backend.input_names()) - inputs_before)
        self.listener = self._listener_to_wait_for()
        self.timeline = Timeline(beats=generator.model.info.time == "beats", bpm=args.bpm,
                                 latency=getattr(args, "output_latency", 0.0) / 1000.0)
        self.engine = LiveEngine(
            generator, self.output, lookahead=args.lookahead / 1000.0, recorder=self.recorder, log=log,
            timeline=self.timeline,
        )
        self.output.on_lost = self._lost
        self.engine.set_launch(getattr(args, "launch", "bar"))
        self.watch = PortWatch(self.backend, self.output, args.port, self.engine, self.link)
        if args.quantize != "off":
            self.engine.set_quantizer(Quantizer(self.timeline, args.quantize, args.quantize_strength / 100.0))
        self.ableton = None  # following an Ableton Link session (--link)
        if getattr(args, "link", False):
            try:
                from live.engine.link import LinkSession
                from live.engine.link_follower import LinkFollower

                self.ableton = LinkFollower(LinkSession.open(bpm=args.bpm), self.engine.follow_beat,
                                            self.engine.restart_on_bar, self.engine.clock, self.engine.pause)
            except Exception:
                self.output.close()
                raise
        if args.listen == "call":
            self.engine.respond_after = args.respond_after
        self.input_port, self.router, self.clock_sender = None, None, None
        try:
            if args.input:
                self.input_port, self.router = open_controller_input(
                    args, self.backend, self.engine, self.output, self.recorder,
                    self.knob_map, log, own=self.own_inputs, set_tempo=self.set_tempo, press=self.press,
                )
        except Exception:
            self.output.close()
            raise
        if args.send_clock:
            self.clock_sender = ClockSender(self.output.send, self.timeline)
        self.closed = False

    def set_tempo(self, bpm: float) -> None:
        """The tempo control: encore's own, or in a Link session the session's."""
        if self.ableton is not None:
            self.ableton.set_tempo(bpm)
        else:
            self.engine.set_tempo(bpm)

    def press(self, button: str) -> None:
        """A loop's button (live.core.controls.BUTTONS), from a CC or a key."""
        if button == "capture":
            self.capture_clip()
        elif button in ("double", "halve"):
            self.engine.set_loop(change=button)
        else:
            self.engine.phrase_action(button)

    def capture_clip(self):
        """Write the loop's phrase as a .mid clip at the tempo; says where (or why not)."""
        from live.files.clips import ClipError, write_clip

        state = self.engine.loop_state()
        generator = self.engine.generator
        others = tuple((name, generator.voice("bass").looper.phrase if generator.voice("bass").looper else (),
                        generator.voice("bass").controls, channel, program)
                       for name, channel, program in other_voices(self.args))
        try:
            path = write_clip(self.capture_dir, state.phrase, self.engine.controls, self.timeline.bpm,
                              generator.channel, self.args.program or 0,
                              bar_of=str(state.bar or ""), others=others)
        except (ClipError, OSError) as err:
            self.log(str(err))
            return None
        bars = len(state.phrase)
        self.log(f"captured the loop ({count(bars, 'bar')} at {self.timeline.bpm:g} BPM) to {path}")
        return path

    @property
    def link_peers(self) -> int | None:
        return self.ableton.peers if self.ableton is not None else None

    def _lost(self, line: str) -> None:
        self.engine.forget_sounding()
        self.log(line)

    def _listener_to_wait_for(self):
        """On JACK, encore's own default port waits for a synth before its first note:
        notes sent before anyone connected were heard by no one (a set began mid-phrase).
        A witness of the port's connections says when one comes. A port named with
        --virtual (a rig connected by script), --no-wait, a clock or Link to follow: no wait."""
        args = self.args
        if not (self.output_virtual and self.backend.name == "jack" and args.virtual is None
                and not getattr(args, "no_wait", False) and not args.follow_clock
                and not getattr(args, "link", False) and len(self.own_inputs) == 1):
            return None
        from live.engine.jack_witness import ConnectionWitness

        return ConnectionWitness.start(next(iter(self.own_inputs)), every=LISTENER_LOOK_EVERY)

    @property
    def waiting_for_listener(self) -> bool:
        return self.listener is not None

    def check_listener(self) -> None:
        """Start on the first connection to our port, its first note FIRST_NOTE_MARGIN
        later (a connection just made carries messages from a later JACK period). Play
        pressed before that (the TUI's space) ends the wait too: stop_waiting."""
        listener = self.listener
        if listener is None or not listener.destinations:
            return
        heard = ", ".join(listener.destinations)
        self.stop_waiting()
        self.engine.resume(margin=FIRST_NOTE_MARGIN)
        self.log(f"{heard} connected: playing")

    def stop_waiting(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.stop()

    def start(self) -> None:
        import mido

        if self.args.program is not None:
            self.output.send(
                mido.Message("program_change", channel=self.engine.generator.channel, program=self.args.program)
            )
        for _, channel, program in other_voices(self.args):  # a bass always has its sound named
            self.output.send(mido.Message("program_change", channel=channel, program=program))
        self.engine.start(margin=FIRST_NOTE_MARGIN)
        if self.listener is not None:
            self.engine.pause()
            self.log(f"waiting for a synth: connect one to {self.listener.port_name!r} and encore starts "
                     "(--no-wait plays at once)")
        if self.args.follow_clock:
            self.engine.pause()
            self.log("waiting for MIDI clock Start on the input")
        if self.ableton is not None:
            self.engine.pause()
            self.ableton.start()  # in on the session's next bar line
            self.log(f"Ableton Link: {self.ableton.session.last().tempo_bpm:.1f} BPM, "
                     f"{count(self.ableton.peers, 'peer')}; in on the next bar")
        if self.clock_sender is not None:
            self.clock_sender.start()

    def save_recording(self):
        if self.recorder is None:
            return None
        if self.timeline.beats:  # in beats, written at the tempo now: its notes on the file's grid
            self.recorder.bpm, self.recorder.stretch = self.timeline.bpm, self.timeline.rate
        path = self.recorder.save(self.engine.performance_time())
        self.log(f"recorded {count(self.recorder.note_count, 'note')} to {path}")
        return path

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.stop_waiting()
        try:
            if self.input_port is not None:
                self.input_port.close()
            if self.router is not None and self.router.thru is not None:
                self.router.release_thru()
            if self.clock_sender is not None:
                self.clock_sender.stop()
            if self.ableton is not None:
                self.ableton.stop()
                self.ableton.session.close()
        finally:
            self.engine.stop()  # every exit path: notes off, CC 123
            try:
                self.save_recording()
            finally:
                self.output.close()
                if self.link is not None:
                    self.link.close()


def check_input_named(wanted: str, names: list[str], virtual: str | None) -> None:
    """A typo in --input is said before the output opens (a synth would hear it open and
    close). A name that can only be encore's own virtual port (not there yet) is left to
    open_input, which says why it is refused."""
    from live.engine.ports import DEFAULT_VIRTUAL_NAME, match_port

    if any(wanted.lower() in name.lower() for name in names):
        match_port(names, wanted, "input")  # several: say which
    elif wanted.lower() not in (virtual or DEFAULT_VIRTUAL_NAME).lower():
        match_port(names, wanted, "input")  # none: says so, with the list


def check_capture_dir(folder) -> str:
    """The folder captured clips go to exists (found before the set, not at the capture)."""
    from pathlib import Path

    path = Path(folder).expanduser()
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "does not exist"
        raise EncoreError(f"--capture-dir {folder}: {what}; create it first (mkdir -p {folder}) or choose another")
    return str(path)


def open_controller_input(args, backend, engine, output, recorder, knob_map, log=say,
                          own=frozenset(), set_tempo=None, press=None):
    """Knobs, played notes and clock from the --input port (the clock followed only with
    --follow-clock: a stray clock on a keyboard's port must not move the set's tempo)."""
    follow = args.follow_clock
    follower = ClockFollower(
        engine.follow_beat if follow else (lambda beat: None),
        on_start=engine.restart_on_bar if follow else None,
        on_stop=engine.pause if follow else None,
        on_continue=engine.resume if follow else None,
    )
    router = InputRouter(
        engine, knob_map, listen=args.listen,
        thru=None if args.no_thru else output.send,
        clock_follower=follower, recorder=recorder, set_tempo=set_tempo, press=press,
        follow_chords=(getattr(args, "chords", None) or "").strip().lower() == "input",
    )
    port, name = open_input(backend, args.input, callback=router, own=own, on_error=log)
    log(f"input from {name!r}: knobs, played notes ({args.listen}), clock")
    return port, router


