"""Real MIDI ports on a JACK server (the dummy driver needs no sound card).

.ci/run starts `jackd -R -d dummy -r 48000 -p 128` and sets ENCORE_REQUIRE_JACK=1, so
in CI a missing server fails these tests instead of skipping them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from live.engine.ports import PortError, open_backend


def jack_backend():
    try:
        return open_backend("jack")
    except PortError as err:
        if os.environ.get("ENCORE_REQUIRE_JACK"):
            pytest.fail(f"JACK is required here but not available: {err}")
        pytest.skip(f"no JACK server: {err} (start one: jackd -R -d dummy -r 48000 -p 128)")


class Receiver:
    """A virtual JACK MIDI input that records what arrives, with arrival times.

    It reads RtMidi's own queue from a Python thread instead of taking a callback: a
    Python callback runs in JACK's realtime thread and must wait for the GIL there,
    which under load makes JACK skip cycles and lose messages in the test harness."""

    def __init__(self, backend, name: str | None = None):
        self.backend = backend
        self.name = name or f"recv-{uuid.uuid4().hex[:8]}"
        self.messages: list[tuple[float, object]] = []
        self._lock = threading.Lock()
        self.port = None
        self._reader = None
        self.open()

    def open(self):
        import rtmidi

        self.port = rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK, name=self.name, queue_size_limit=8192)
        self.port.open_virtual_port(self.name)
        self._reading = True
        self._reader = threading.Thread(target=self._read, args=(self.port,), daemon=True)
        self._reader.start()

    def _read(self, port):
        import mido

        while self._reading:
            got = port.get_message()
            if got is None:
                time.sleep(0.001)
                continue
            data, _ = got
            try:
                message = mido.Message.from_bytes(data)
            except ValueError:
                continue
            with self._lock:
                self.messages.append((time.perf_counter(), message))

    def close(self):
        if self.port is not None:
            self._reading = False
            self._reader.join(timeout=1)
            self.port.close_port()
            del self.port
            self.port = None

    def snapshot(self):
        with self._lock:
            return list(self.messages)

    def notes(self):
        return [(t, m) for t, m in self.snapshot() if m.type in ("note_on", "note_off")]

    def wait_for(self, predicate, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.snapshot()):
                return True
            time.sleep(0.02)
        return False


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def sounding_after(messages) -> set:
    """Replay note messages; what is left sounding (and check no off without an on)."""
    sounding = set()
    for _, m in messages:
        key = (m.channel, getattr(m, "note", None))
        if m.type == "note_on" and m.velocity > 0:
            assert key not in sounding, f"struck twice without a note-off: {m}"
            sounding.add(key)
        elif m.type == "note_off" or (m.type == "note_on" and m.velocity == 0):
            assert key in sounding, f"note-off for a silent pitch: {m}"
            sounding.remove(key)
    return sounding


def start_play(*args) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "live.app.cli", "play", "--backend", "jack", *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        cwd=Path(__file__).parents[1],
    )
