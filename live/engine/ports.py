"""MIDI ports through mido on python-rtmidi: pick a backend, find ports, open them.

`auto` tries the platform's own MIDI system first (ALSA, CoreMIDI, WinMM), then a
running JACK server, and says which it took. Port names match on a unique
case-insensitive substring, so `--port mini` finds "Arturia MiniLab mkII MIDI 1".
"""

from __future__ import annotations

import contextlib
import os
import time
import sys
from dataclasses import dataclass, field

from live.core.errors import EncoreError

RTMIDI_APIS = {"alsa": "LINUX_ALSA", "jack": "UNIX_JACK", "coremidi": "MACOSX_CORE", "winmm": "WINDOWS_MM"}
PLATFORM_ORDER = {"linux": ["alsa", "jack"], "darwin": ["coremidi", "jack"], "win32": ["winmm"]}
VIRTUAL_CAPABLE = {"alsa", "jack", "coremidi"}  # WinMM has no virtual ports
DEFAULT_VIRTUAL_NAME = "encore"
# The MIDI client a virtual port belongs to: on JACK the port is "encore:encore" (RtMidi's
# own default client name, "RtMidiOut Client", hid it from anyone looking for encore); ALSA
# lists client "encore", port "encore"; CoreMIDI shows the port name.
CLIENT_NAME = "encore"

# Never let a probe of JACK start a server of its own.
os.environ.setdefault("JACK_NO_START_SERVER", "1")


class PortError(EncoreError):
    """A MIDI backend or port that cannot be used: names it and says what to do."""


@dataclass
class Backend:
    name: str  # alsa, jack, coremidi, winmm
    mido_backend: object
    note: str = ""  # how it was chosen, for the user
    # One MIDI client kept for listing ports. mido opens two new clients per listing, and
    # on JACK each open takes tens of milliseconds: the port watch would do that twice a
    # second, and a signal landing inside an open fails it ("JACK server not running?").
    _lister: tuple | None = field(default=None, repr=False)

    @property
    def can_make_virtual_ports(self) -> bool:
        return self.name in VIRTUAL_CAPABLE

    def output_names(self) -> list[str]:
        return self._names(1)

    def input_names(self) -> list[str]:
        return self._names(0)

    def _names(self, which: int) -> list[str]:
        import rtmidi

        with quiet_stderr():
            if self._lister is None:
                api = getattr(rtmidi, f"API_{RTMIDI_APIS[self.name]}")
                # named, so they do not take the default client names ports are known by
                self._lister = (
                    retry_interrupted(lambda: rtmidi.MidiIn(rtapi=api, name="encore-list-in")),
                    retry_interrupted(lambda: rtmidi.MidiOut(rtapi=api, name="encore-list-out")),
                )
            names = self._lister[which].get_ports()
            if not names and not self._lister[1 - which].get_ports():
                # no port at all, either way, may mean a MIDI server that restarted
                # under the old clients: ask fresh ones next time
                self._lister = None
        return list(dict.fromkeys(names))


@contextlib.contextmanager
def quiet_stderr():
    """Silence what C libraries (ALSA, JACK) print on fd 2 while we probe; our own
    one-line errors say what matters."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _try_backend(name: str):
    import mido

    backend = mido.Backend(f"mido.backends.rtmidi/{RTMIDI_APIS[name]}", load=True)
    with quiet_stderr():
        retry_interrupted(backend.get_output_names)  # raises when the system is not there
    return backend


def open_backend(name: str = "auto") -> Backend:
    if name != "auto":
        if name not in RTMIDI_APIS:
            raise PortError(f"unknown MIDI backend {name!r}; choose auto, {', '.join(RTMIDI_APIS)}")
        try:
            return Backend(name, _try_backend(name), f"{name} as asked")
        except Exception as err:
            raise PortError(f"MIDI backend {name} is not available ({_why(name, err)})") from None
    tried = []
    for candidate in PLATFORM_ORDER.get(sys.platform, ["alsa", "jack"]):
        try:
            backend = _try_backend(candidate)
        except Exception as err:
            tried.append(f"{candidate}: {_why(candidate, err)}")
            continue
        note = f"using {candidate}" + (f" ({'; '.join(tried)})" if tried else "")
        return Backend(candidate, backend, note)
    raise PortError(
        "no MIDI system found (" + "; ".join(tried) + "); on Linux load the ALSA sequencer "
        "(modprobe snd-seq) or start JACK (jackd -R -d dummy, or your audio setup)"
    )


def _why(name: str, err: Exception) -> str:
    text = str(err)
    if name == "jack" and ("JACK" in text or "jack" in text):
        return "no JACK server running"
    if name == "alsa":
        return "no ALSA sequencer (/dev/snd/seq)"
    if isinstance(err, (ImportError, ValueError)):
        return f"not built into python-rtmidi ({text})"
    return text.splitlines()[0] if text else type(err).__name__


def match_port(names: list[str], wanted: str, direction: str) -> str:
    """The one port whose name contains `wanted` (an exact name always wins)."""
    if wanted in names:
        return wanted
    found = [n for n in names if wanted.lower() in n.lower()]
    if len(found) == 1:
        return found[0]
    listing = ", ".join(repr(n) for n in names) or "none"
    if not found:
        raise PortError(f"no MIDI {direction} port matches {wanted!r}; {direction} ports: {listing}")
    raise PortError(
        f"{wanted!r} matches {len(found)} {direction} ports: "
        + ", ".join(repr(n) for n in found) + "; give more of the name"
    )


def open_output(backend: Backend, port: str | None = None, virtual: str | None = None):
    """(mido output port, description). No port and no virtual name: a virtual port
    named 'encore' where the backend allows it, else the first port there is."""
    if port is not None:
        name = match_port(backend.output_names(), port, "output")
        return _open(backend.mido_backend.open_output, name, False), f"output to {name!r}"
    if virtual is None and backend.can_make_virtual_ports:
        virtual = DEFAULT_VIRTUAL_NAME
    if virtual is not None:
        if not backend.can_make_virtual_ports:
            raise PortError(f"{backend.name} cannot make virtual ports; choose one with --port")
        opened = _open(backend.mido_backend.open_output, virtual, True, client_name=CLIENT_NAME)
        seen_as = f"{CLIENT_NAME}:{virtual}" if backend.name == "jack" else virtual
        return opened, f"virtual output port {seen_as!r} (connect your synth to it)"
    names = backend.output_names()
    if not names:
        raise PortError(f"no MIDI output ports on {backend.name}; plug in a synth or use --virtual")
    return _open(backend.mido_backend.open_output, names[0], False), f"output to {names[0]!r}"


class PolledInput:
    """A MIDI input read by a Python thread of its own from RtMidi's queue.

    mido's callback would run Python in the MIDI system's realtime thread, which must
    then wait for the GIL; under load JACK skips its cycle and messages are lost.
    Reading RtMidi's queue every millisecond costs at most that much latency."""

    POLL_SECONDS = 0.001

    def __init__(self, backend: Backend, name: str, callback, virtual: bool = False, on_error=None):
        import threading

        import rtmidi

        self.name = name
        self.callback = callback
        self.on_error = on_error  # told once if the callback fails
        self.garbled = 0  # messages that could not be parsed, skipped
        self.failures = 0
        api = getattr(rtmidi, f"API_{RTMIDI_APIS[backend.name]}")
        with quiet_stderr():
            self._rt = retry_interrupted(
                lambda: rtmidi.MidiIn(rtapi=api, name="encore in", queue_size_limit=8192))
            self._rt.ignore_types(sysex=True, timing=False, active_sense=True)
            if virtual:
                self._rt.open_virtual_port(name)
            else:
                ports = self._rt.get_ports()
                if name not in ports:
                    raise PortError(f"input port {name!r} vanished before it could be opened")
                self._rt.open_port(ports.index(name))
        self._running = True
        self._thread = threading.Thread(target=self._read, name="encore-input", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        import time

        import mido

        while self._running:
            got = self._rt.get_message()
            if got is None:
                time.sleep(self.POLL_SECONDS)
                continue
            try:
                message = mido.Message.from_bytes(got[0])
            except Exception:  # mido raises ValueError, IndexError ... for a truncated message
                self.garbled += 1  # a byte salad from a flaky cable: skipped, never a crash
                continue
            try:
                self.callback(message)
            except Exception as err:  # whatever one message does, the input lives on
                self.failures += 1
                if self.failures == 1 and self.on_error is not None:
                    self.on_error(f"input {self.name!r}: a {message.type} message failed "
                                  f"({type(err).__name__}: {err}); the input goes on")

    def close(self) -> None:
        if self._running:
            self._running = False
            self._thread.join(timeout=1.0)
            self._rt.close_port()


def open_input(backend: Backend, port: str, callback, own: frozenset[str] = frozenset(),
               on_error=None) -> tuple[PolledInput, str]:
    """The input port whose name contains `port`. `own`: input names that are encore's own
    output (its virtual port, seen from the other side): reading one would play every
    note back into encore, which passes it through again, for ever."""
    names = backend.input_names()
    others = [n for n in names if n not in own]
    mine = [n for n in names if n in own and port.lower() in n.lower()]
    if mine and not [n for n in others if port.lower() in n.lower()]:
        raise PortError(
            f"input {mine[0]!r} is encore's own output: it would play encore back into "
            "itself; choose your controller's port (encore ports lists them)"
        )
    name = match_port(others, port, "input")
    try:
        return PolledInput(backend, name, callback, on_error=on_error), name
    except (OSError, SystemError, RuntimeError) as err:
        raise PortError(f"cannot open input port {name!r} ({err})") from None


INTERRUPTED_TRIES = 3


def retry_interrupted(make):
    """make() a MIDI client, again if a signal cut its opening short: JACK's client open
    fails outright ("JACK server not running?") when a system call inside it is
    interrupted, and a Ctrl-C at that moment must stop encore, not break it."""
    for attempt in range(INTERRUPTED_TRIES):
        try:
            return make()
        except (OSError, RuntimeError):  # rtmidi's SystemError is an OSError
            if attempt == INTERRUPTED_TRIES - 1:
                raise
            time.sleep(0.01)


def _open(opener, name: str, virtual: bool, **extra):
    try:
        with quiet_stderr():
            return retry_interrupted(lambda: opener(name, virtual=virtual, **extra))
    except (OSError, SystemError, RuntimeError) as err:
        what = "create virtual port" if virtual else "open port"
        why = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise PortError(f"cannot {what} {name!r} ({why})") from None


ALL_NOTES_OFF, ALL_SOUND_OFF = 123, 120


def panic_port(backend_name: str, port_name: str) -> None:
    """MIDI panic on a device port that another process was playing: all notes off and
    all sound off on every channel, whatever it had held."""
    import mido

    backend = open_backend(backend_name)
    port = _open(backend.mido_backend.open_output, match_port(backend.output_names(), port_name, "output"), False)
    try:
        for channel in range(16):
            for control in (ALL_NOTES_OFF, ALL_SOUND_OFF):
                port.send(mido.Message("control_change", channel=channel, control=control, value=0))
    finally:
        port.close()
