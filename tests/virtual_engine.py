"""A live engine on a virtual clock, sending to an in-memory port: pump() does the two
threads' work at the clock's now, so engine tests neither sleep nor need an idle machine."""

import threading
import time

from live.engine.live_engine import LiveEngine, Output


class VirtualClock:
    def __init__(self, start: float = 100.0):
        self.now = start

    def __call__(self) -> float:
        return self.now


class MemoryPort:
    def __init__(self, clock=time.perf_counter):
        self.sent = []
        self.clock = clock
        self.lock = threading.Lock()

    def send(self, message):
        with self.lock:
            self.sent.append((self.clock(), message))

    def notes(self):
        with self.lock:
            return [(t, m) for t, m in self.sent if m.type in ("note_on", "note_off")]



class Virtual:
    """An engine on a virtual clock, pumped every millisecond of virtual time."""

    def __init__(self, generator, lookahead=0.1, port=None, tick=0.001, timeline=None):
        self.clock = VirtualClock()
        self.port = port or MemoryPort(self.clock)
        self.port.clock = self.clock
        self.output = Output(self.port)
        self.said = []
        self.engine = LiveEngine(generator, self.output, clock=self.clock, lookahead=lookahead,
                                 log=self.said.append, timeline=timeline)
        self.tick = tick

    def start(self):
        self.engine.start(threads=False)
        return self

    def run(self, seconds: float, each=None, generate=True):
        end = self.clock.now + seconds
        while self.clock.now < end:
            self.engine.pump(generate)
            if each is not None:
                each(self.clock.now)
            self.clock.now += self.tick

    def stop(self):
        self.engine.stop()
