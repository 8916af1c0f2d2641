"""The MIDI input: knobs move controls, played notes reach the model, clock drives time.

Runs in the MIDI backend's callback thread, so it only hands commands to the engine
(which applies them between events) and never blocks.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass
from typing import Callable

from live.engine.live_engine import LiveEngine
from live.core.controls import BUTTONS, LAUNCH_SPEC, LOOP_SPEC, TEMPO_SPEC
from live.engine.knobs import Knob, KnobMap, is_knob_cc
from live.engine.midiclock import ClockFollower
from live.core.notes import Note

LISTEN_MODES = ("continue", "call", "off")
CAPTURE_NOTES = 64  # how much of the player's phrase a capture keeps
FAILURE_SAID_EVERY = 5.0  # seconds: a message that fails again and again is said this seldom


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
        set_tempo: Callable[[float], None] | None = None,
        recorder=None,
        now: Callable[[], float] = time.perf_counter,
        press: Callable[[str], None] | None = None,
        follow_chords: bool = False,
    ):
        if listen not in LISTEN_MODES:
            raise ValueError(f"listen mode {listen!r}: choose {', '.join(LISTEN_MODES)}")
        self.engine = engine
        self.knobs = knobs
        self.listen = listen
        self.thru = thru
        self.clock_follower = clock_follower
        self.set_tempo = set_tempo or engine.set_tempo  # a Link session's, when following one
        self.recorder = recorder
        self.now = now
        self.press = press or (lambda button: None)  # a loop's button (BUTTONS), pressed
        self.buttons_down: set[tuple[int, int]] = set()  # (channel, cc) of buttons held down
        self.follow_chords = follow_chords  # --chords input: the chord held leads the harmony
        self.keys_down: set[int] = set()  # pitches held on the input
        self.chord = None  # the chord last handed on
        # what a knob moves that is not a sampling control
        self.settings: dict[str, Callable] = {
            TEMPO_SPEC.name: lambda value: self.set_tempo(value),
            LOOP_SPEC.name: lambda value: engine.set_loop(0 if value == "off" else int(value)),
            LAUNCH_SPEC.name: engine.set_launch,
        }
        self.learning: Learning | None = None
        self._last_failure_said = float("-inf")
        self.captured: collections.deque = collections.deque(maxlen=CAPTURE_NOTES * 2)
        self.thru_held: set[tuple[int, int]] = set()  # (channel, pitch) passed through, still down

    def release_thru(self) -> None:
        """End every note the player is holding through us (quit, panic): a key still
        down when the input closes would never send its note-off."""
        import mido

        for channel, pitch in sorted(self.thru_held):
            self.thru(mido.Message("note_off", channel=channel, note=pitch, velocity=0))
        self.thru_held.clear()

    def captured_notes(self) -> list[Note]:
        """The last phrase played on the input, as notes (for seeding from it)."""
        notes, open_notes = [], {}
        for at, on, pitch, velocity in list(self.captured):
            if on:
                open_notes[pitch] = (at, velocity)
            elif pitch in open_notes:
                start, velocity = open_notes.pop(pitch)
                notes.append(Note(pitch, start, at, velocity))
        last = max([at for at, *_ in self.captured], default=0.0)
        notes += [Note(p, start, max(last, start + 0.1), v) for p, (start, v) in open_notes.items()]
        return sorted(notes, key=lambda n: (n.start, n.pitch))

    def learn(self, control: str, done: Callable[[Knob], None]) -> None:
        """The next CC that arrives is mapped to `control`."""
        self.learning = Learning(control, done)

    def __call__(self, message) -> None:
        """One message from the input. Whatever goes wrong with one is said (once a few
        seconds) and the input goes on: a dead input thread would leave the knobs, the
        played notes and the clock dead for the rest of the set while the music plays on."""
        try:
            self._handle(message)
        except Exception as err:  # noqa: BLE001 (the input must outlive any one message)
            now = self.now()
            if now - self._last_failure_said > FAILURE_SAID_EVERY:
                self._last_failure_said = now
                log = getattr(self.engine, "log", None)
                if callable(log):
                    log(f"input: {message!r} could not be handled ({type(err).__name__}: {err}); the input goes on")

    def _handle(self, message) -> None:
        at = self.now()
        if self.clock_follower is not None and self.clock_follower.handle(message, at):
            return
        kind = message.type
        if kind == "control_change":
            self._knob(message)
        elif kind in ("note_on", "note_off"):
            on = kind == "note_on" and message.velocity > 0
            self.captured.append((at, on, message.note, message.velocity))
            if self.thru is not None:
                key = (message.channel, message.note)
                if on:
                    self.thru_held.add(key)
                elif key not in self.thru_held:
                    key = None  # an off for a note we never passed: do not pass it either
                else:
                    self.thru_held.discard(key)
                if key is not None:
                    self.engine.use_channel(message.channel)  # CC 123 covers it too
                    self.thru(message)
            if self.recorder is not None:
                self.recorder.played(self.engine.performance_time(), message)
            if self.follow_chords:
                self._chord(on, message.note)
            if self.listen != "off":
                self.engine.hear(on, message.note, message.velocity)

    def _chord(self, on: bool, pitch: int) -> None:
        """Two or more keys held together are a chord; a new one leads from the next beat
        (letting go keeps the last: a left hand lifts between chords)."""
        from live.core.chords import chord_of_pitches

        (self.keys_down.add if on else self.keys_down.discard)(pitch)
        chord = chord_of_pitches(self.keys_down) if on else None
        if chord is not None and chord != self.chord:
            self.chord = chord
            self.engine.play_chord(chord)

    def _knob(self, message) -> None:
        if self.learning is not None and is_knob_cc(message.control):
            learning, self.learning = self.learning, None
            knob = self.knobs.learn(learning.control, message.channel, message.control)
            learning.done(knob)
            return
        knob = self.knobs.lookup(message.channel, message.control)
        if knob is None:
            return
        if knob.control in BUTTONS:
            # once per press: a pad sends 127 down and 0 up; a toggle pad 127 and 0 in turn
            key, down = (message.channel, message.control), message.value >= 64
            if down and key not in self.buttons_down:
                self.press(knob.control)
            (self.buttons_down.add if down else self.buttons_down.discard)(key)
        elif knob.control in self.settings:
            self.settings[knob.control](knob.value(message.value))
        else:
            self.engine.update_controls(**{knob.control: knob.value(message.value)})
