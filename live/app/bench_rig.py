"""The bench's own gear on JACK, for `encore bench --grid`: a receiver that stamps what
arrives, a MIDI clock master, a second Ableton Link peer, and `encore play` in a process
of its own. Stand-ins for a synth, a DJ's controller, another Link app and the musician's
encore: the bench measures encore against them from outside."""

from __future__ import annotations

import asyncio
import bisect
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

from live.core.errors import EncoreError
from live.engine.live_engine import realtime_priority
from live.engine.midiclock import PPQN

SPIN = 0.002  # seconds: the clock master sleeps until this close to a tick, then spins
LINK_SAMPLE_EVERY = 0.005  # seconds between readings of the Link peer's beat
TIGHT = 50e-6  # a beat read bracketed closer than this is taken at once
LATE = 0.001  # a tick sent this late is the machine's stall, worth a look
READY_WAIT = 60.0  # seconds `encore play` may take to load its model and open its ports
STOP_WAIT = 15.0


def unique(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:6]}"


class Receiver:
    """A virtual JACK MIDI input that keeps every message with the moment it arrived.

    RtMidi stamps each message with JACK's time since the one before; a thread reading
    the queue sees it later (a sleep, the GIL: measured 4.5 ms median, 9.7 ms max beside
    a busy thread). So the arrival times are the sum of JACK's deltas, placed on
    perf_counter by the message read soonest after it arrived: the smallest read time
    minus sum. JACK's clock and perf_counter kept within 0.06 ms of each other over 25 s
    (measured), so one such constant holds for a run."""

    def __init__(self, name: str | None = None):
        import rtmidi

        self.name = name or unique("encore-bench-synth")
        self._port = rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK, name=self.name, queue_size_limit=8192)
        self._port.open_virtual_port(self.name)
        self._got: list[tuple[float, float, list[int]]] = []  # (read at, JACK delta, bytes)
        self._lock = threading.Lock()
        self._reading = True
        self._thread = threading.Thread(target=self._read, name="bench-receiver", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while self._reading:
            got = self._port.get_message()
            if got is None:
                time.sleep(0.001)
                continue
            data, delta = got
            with self._lock:
                self._got.append((time.perf_counter(), delta, data))

    def arrivals(self) -> list[tuple[float, list[int]]]:
        """(arrival time on perf_counter, message bytes), oldest first."""
        with self._lock:
            got = list(self._got)
        sums, total = [], 0.0
        for index, (_, delta, _) in enumerate(got):
            total += delta if index else 0.0  # RtMidi's first delta is 0 by definition
            sums.append(total)
        if not got:
            return []
        start = min(read - summed for (read, _, _), summed in zip(got, sums))
        return [(start + summed, data) for (_, _, data), summed in zip(got, sums)]

    def onsets(self, since: float = float("-inf")) -> list[float]:
        """Arrival times of note-ons (velocity above 0)."""
        return [at for at, data in self.arrivals()
                if at >= since and len(data) == 3 and data[0] & 0xF0 == 0x90 and data[2] > 0]

    def close(self) -> None:
        self._reading = False
        self._thread.join(timeout=1.0)
        self._port.close_port()
        del self._port


class ClockMaster:
    """24 ppqn on a virtual JACK output of the bench's own, from a thread that sleeps to
    within SPIN of each tick and spins the rest (realtime priority where allowed), as a
    DJ's controller sends it. Remembers each tick's due time since Start (tick 0 is the
    downbeat: the first after Start) and how late it left."""

    def __init__(self, backend, bpm: float):
        import mido

        self.name = unique("encore-bench-clock")
        self.port = backend.mido_backend.open_output(self.name, virtual=True)
        self._tick = mido.Message("clock")
        self.bpm = bpm
        self.ticks: list[float] = []  # due time of each tick since Start
        self.late: list[float] = []  # sent - due of every tick, in seconds
        self.stalls: list[tuple[float, float]] = []  # (due, late) of ticks since Start over LATE late
        self.changes: list[tuple[float, float]] = []  # (due time of the last tick before, new bpm)
        self._running = False
        self._start_next = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-clock", daemon=True)

    def start_clock(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        import mido

        realtime_priority(lambda line: None)
        due, bpm = time.perf_counter(), self.bpm
        while not self._stop.is_set():
            if self.bpm != bpm:
                self.changes.append((due, self.bpm))
                bpm = self.bpm
            due += 60.0 / (bpm * PPQN)
            wait = due - time.perf_counter()
            if wait > SPIN:
                time.sleep(wait - SPIN)
            while time.perf_counter() < due:
                pass
            self.port.send(self._tick)
            self.late.append(time.perf_counter() - due)
            if self.late[-1] > LATE and self._running:
                self.stalls.append((due, self.late[-1]))
            if self._running:
                self.ticks.append(due)
            if self._start_next:  # Start right after a tick: the next one is the downbeat
                self.port.send(mido.Message("start"))
                self._start_next, self._running = False, True

    def start(self) -> None:
        """Send Start after the next tick, a tick before the downbeat."""
        self._start_next = True

    def stop(self) -> None:
        import mido

        self._running = False
        self.port.send(mido.Message("stop"))

    def sixteenths(self) -> list[float]:
        return self.ticks[::PPQN // 4]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.port.close()


def start_peer(aalink, bpm: float, name: str, timeout: float = 5.0):
    """A bare aalink Link (quantum 4, start/stop sync on), made inside an asyncio loop run
    by a thread of its own (aalink needs a running loop): (loop, thread, link)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=name, daemon=True)
    thread.start()

    async def make():
        link = aalink.Link(bpm)
        link.quantum = 4
        link.start_stop_sync_enabled = True
        link.enabled = True
        return link

    return loop, thread, asyncio.run_coroutine_threadsafe(make(), loop).result(timeout=timeout)


class LinkPeer:
    """Another Link app in the bench process: a plain aalink.Link in an asyncio loop of
    its own thread, and a thread reading its beat every LINK_SAMPLE_EVERY seconds between
    two perf_counter readings, so any moment can be turned into the peer's beat."""

    def __init__(self, aalink, bpm: float):
        self.loop, self._loop_thread, self.link = start_peer(aalink, bpm, "bench-link")
        self._samples: list[tuple[float, float, float]] = []  # (at, beat, tempo)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample_loop, name="bench-link-beat", daemon=True)
        self._sampler.start()

    def _sample_loop(self) -> None:
        while not self._stop.wait(LINK_SAMPLE_EVERY):
            best = None
            for _ in range(5):
                tempo = self.link.tempo
                before = time.perf_counter()
                beat = self.link.beat
                after = time.perf_counter()
                if best is None or after - before < best[1] - best[0]:
                    best = (before, after, beat, tempo)
                if after - before <= TIGHT:
                    break
            before, after, beat, tempo = best
            with self._lock:
                self._samples.append(((before + after) / 2, beat, tempo))

    def set_tempo(self, bpm: float) -> float:
        """The whole session's tempo from now; returns when it was set (perf_counter)."""
        self.link.tempo = bpm
        return time.perf_counter()

    def beat_at(self, at: float) -> tuple[float, float]:
        """(the peer's beat, its tempo) at perf_counter time `at`, from the reading before it."""
        with self._lock:
            samples = list(self._samples)
        index = max(0, bisect.bisect_right(samples, (at, float("inf"), 0.0)) - 1)
        sampled, beat, tempo = samples[index]
        return beat + (at - sampled) * tempo / 60.0, tempo

    def close(self) -> None:
        self._stop.set()
        self._sampler.join(timeout=1.0)
        self.link.enabled = False
        self.link = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._loop_thread.join(timeout=2.0)
        self.loop.close()


class PlayProcess:
    """`encore play OPTIONS` in a process of its own, as a musician runs it: its own GIL
    and realtime sender, nothing of the bench's threads in its way."""

    READY = ", seeded with"  # what play says once the session has started ("playing at 128 BPM, seeded with")

    def __init__(self, options: list[str]):
        self.lines: list[str] = []
        self._ready = threading.Event()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "live.app.cli", "play", "--backend", "jack", *options],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        )
        self._reader = threading.Thread(target=self._read, name="bench-play-log", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line.rstrip())
            if self.READY in line:
                self._ready.set()

    def wait_ready(self, timeout: float = READY_WAIT) -> None:
        """Until the session plays (or waits for Start); a failure is one line, play's own."""
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self._reader.join(timeout=1.0)
                said = next((line for line in reversed(self.lines) if line.strip()), "nothing")
                why = "stopped" if self.process.poll() is not None else f"did not start within {timeout:g} s"
                self.stop()
                raise EncoreError(f"encore play for the bench {why}; it said: {said}")

    def notes_played(self) -> int | None:
        """What play said it played when it stopped ("... 123 notes played, ...")."""
        import re

        for line in reversed(self.lines):
            found = re.search(r"(\d+) notes? played", line)
            if found:
                return int(found.group(1))
        return None

    def stop(self) -> int | None:
        """Ctrl-C, as a musician stops it (every note ends); killed if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=1.0)
        return self.process.returncode
