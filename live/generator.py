"""The generator: model + sampler + performer, one event at a time, deterministic.

Everything here runs on the event stream's own time (10 ms steps); render drives it as
fast as it can, the live scheduler drives it a little ahead of the wall clock. A
snapshot holds all that generation depends on (model state, performer, random state),
so the engine can roll back to the last sent event when a knob turns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from live.controls import Controls
from live.model import Model, State
from live.performer import NoteMessage, Performer
from live.sampler import sample


@dataclass(frozen=True)
class Snapshot:
    state: State
    performer: Performer
    rng_state: dict
    events: int


class Generator:
    def __init__(
        self,
        model: Model,
        controls: Controls | None = None,
        seed: int | None = None,
        channel: int = 0,
    ):
        self.model = model
        self.controls = controls or Controls()
        self.rng = np.random.default_rng(seed)
        self.channel = channel
        self.state = model.initial_state()
        self.performer = Performer(channel)
        self.events: list[int] = []

    def prime(self, events: list[int]) -> None:
        """Set the model's state from a primer; its notes are not played."""
        self.state = self.model.feed(self.model.initial_state(), list(events))
        self.performer = Performer(self.channel)
        self.events = []

    def next(self) -> tuple[int, list[NoteMessage]]:
        """Sample, play and feed back one event."""
        event = sample(self.state.logits, self.performer, self.controls, self.rng)
        messages = self.performer.apply(event, self.controls)
        self.state = self.model.step(self.state, event)
        self.events.append(event)
        return event, messages

    def finish(self) -> list[NoteMessage]:
        return self.performer.finish()

    def snapshot(self) -> Snapshot:
        return Snapshot(
            self.state, self.performer.copy(), self.rng.bit_generator.state, len(self.events)
        )

    def restore(self, snapshot: Snapshot) -> None:
        self.state = snapshot.state
        self.performer = snapshot.performer.copy()
        self.rng.bit_generator.state = snapshot.rng_state
        del self.events[snapshot.events :]
