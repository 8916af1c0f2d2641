"""The MIDI input: knobs move controls, played notes reach the model, clock drives time.

Runs in the MIDI backend's callback thread, so it only hands commands to the engine
(which applies them between events) and never blocks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from live.engine import LiveEngine
from live.knobs import Knob, KnobMap
from live.midiclock import ClockFollower

LISTEN_MODES = ("continue", "call", "off")


@dataclass
class Learning:
    control: str
    done: Callable[[Knob], None]


class InputRouter:
    def __init__(
        self,
        engine: LiveEngine,
        knobs: KnobMap,
        listen: str = "continue",
        thru: Callable | None = None,
        clock_follower: ClockFollower | None = None,
        recorder=None,
        on_control: Callable[[str, object, Knob], None] | None = None,
        now: Callable[[], float] = time.perf_counter,
    ):
        if listen not in LISTEN_MODES:
            raise ValueError(f"listen mode {listen!r}: choose {', '.join(LISTEN_MODES)}")
        self.engine = engine
        self.knobs = knobs
        self.listen = listen
        self.thru = thru
        self.clock_follower = clock_follower
        self.recorder = recorder
        self.on_control = on_control
        self.now = now
        self.learning: Learning | None = None
        self.last_cc: tuple[int, int, int] | None = None  # (channel, cc, value)

    def learn(self, control: str, done: Callable[[Knob], None]) -> None:
        """The next CC that arrives is mapped to `control`."""
        self.learning = Learning(control, done)

    def __call__(self, message) -> None:
        at = self.now()
        if self.clock_follower is not None and self.clock_follower.handle(message, at):
            return
        kind = message.type
        if kind == "control_change":
            self._knob(message)
        elif kind in ("note_on", "note_off"):
            on = kind == "note_on" and message.velocity > 0
            if self.thru is not None:
                self.thru(message)
            if self.recorder is not None:
                self.recorder.played(self.engine.performance_time(), message)
            if self.listen != "off":
                self.engine.hear(on, message.note, message.velocity)

    def _knob(self, message) -> None:
        self.last_cc = (message.channel, message.control, message.value)
        if self.learning is not None:
            learning, self.learning = self.learning, None
            knob = self.knobs.learn(learning.control, message.channel, message.control)
            learning.done(knob)
            return
        knob = self.knobs.lookup(message.channel, message.control)
        if knob is None:
            return
        value = knob.value(message.value)
        if knob.control == "scale":
            self.engine.update_controls(scale=value)
        else:
            self.engine.update_controls(**{knob.control: value})
        if self.on_control is not None:
            self.on_control(knob.control, value, knob)
