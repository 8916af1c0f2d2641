"""The performance-388 vocabulary: the same index layout as Performance RNN's encoding.

    0-127    NOTE_ON     pitch = index
    128-255  NOTE_OFF    pitch = index - 128
    256-355  TIME_SHIFT  (index - 255) steps of 10 ms: 10 ms ... 1 s
    356-387  VELOCITY    bin = index - 355, 1..32

Event streams are plain lists of ints so they move cheaply between the codec, the
model and the sampler; the helpers here name and build them.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

VOCAB_NAME = "performance-388-v1"

NUM_PITCHES = 128
STEPS_PER_SECOND = 100
STEP_SECONDS = 1.0 / STEPS_PER_SECOND
# Beat models: a step is 1/48 of a quarter note (16ths, 8ths and triplets are whole steps).
# At the reference tempo a step is exactly 10 ms, so a beat model's events read as a
# Performance RNN performance at 125 BPM, and "performance seconds" keep one meaning.
STEPS_PER_BEAT = 48
REFERENCE_BPM = 60.0 / (STEPS_PER_BEAT * STEP_SECONDS)  # 125
REFERENCE_BEAT_SECONDS = STEPS_PER_BEAT * STEP_SECONDS  # 0.48
STEPS_PER_BAR = 4 * STEPS_PER_BEAT  # a bar of 4/4
MAX_SHIFT_STEPS = 100
NUM_VELOCITY_BINS = 32

NOTE_ON_OFFSET = 0
NOTE_OFF_OFFSET = NOTE_ON_OFFSET + NUM_PITCHES  # 128
TIME_SHIFT_OFFSET = NOTE_OFF_OFFSET + NUM_PITCHES  # 256
VELOCITY_OFFSET = TIME_SHIFT_OFFSET + MAX_SHIFT_STEPS  # 356
VOCAB_SIZE = VELOCITY_OFFSET + NUM_VELOCITY_BINS  # 388


class EventType(Enum):
    NOTE_ON = "NOTE_ON"
    NOTE_OFF = "NOTE_OFF"
    TIME_SHIFT = "TIME_SHIFT"
    VELOCITY = "VELOCITY"


class Event(NamedTuple):
    """One event decoded from its index: a type and its value (pitch, steps or bin)."""

    type: EventType
    value: int

    def __str__(self) -> str:
        return f"{self.type.value} {self.value}"


def note_on(pitch: int) -> int:
    _check_range("pitch", pitch, 0, NUM_PITCHES - 1)
    return NOTE_ON_OFFSET + pitch


def note_off(pitch: int) -> int:
    _check_range("pitch", pitch, 0, NUM_PITCHES - 1)
    return NOTE_OFF_OFFSET + pitch


def time_shift(steps: int) -> int:
    _check_range("time shift steps", steps, 1, MAX_SHIFT_STEPS)
    return TIME_SHIFT_OFFSET + steps - 1


def velocity(bin_: int) -> int:
    _check_range("velocity bin", bin_, 1, NUM_VELOCITY_BINS)
    return VELOCITY_OFFSET + bin_ - 1


def decode_event(index: int) -> Event:
    """The type and value of one event index (ValueError outside 0..387)."""
    if not 0 <= index < VOCAB_SIZE:
        raise ValueError(f"event index {index} is outside 0..{VOCAB_SIZE - 1}")
    if index < NOTE_OFF_OFFSET:
        return Event(EventType.NOTE_ON, index - NOTE_ON_OFFSET)
    if index < TIME_SHIFT_OFFSET:
        return Event(EventType.NOTE_OFF, index - NOTE_OFF_OFFSET)
    if index < VELOCITY_OFFSET:
        return Event(EventType.TIME_SHIFT, index - TIME_SHIFT_OFFSET + 1)
    return Event(EventType.VELOCITY, index - VELOCITY_OFFSET + 1)


def event_name(index: int) -> str:
    return str(decode_event(index))


def is_note_on(index: int) -> bool:
    return NOTE_ON_OFFSET <= index < NOTE_OFF_OFFSET


def is_note_off(index: int) -> bool:
    return NOTE_OFF_OFFSET <= index < TIME_SHIFT_OFFSET


def is_time_shift(index: int) -> bool:
    return TIME_SHIFT_OFFSET <= index < VELOCITY_OFFSET


def is_velocity(index: int) -> bool:
    return VELOCITY_OFFSET <= index < VOCAB_SIZE


def velocity_to_bin(midi_velocity: int) -> int:
    """MIDI velocity 1..127 -> bin 1..32, as Performance RNN: (v - 1) // 4 + 1.

    Out-of-range velocities are clamped first, so messy files cannot produce a bin
    outside the vocabulary.
    """
    v = min(127, max(1, int(midi_velocity)))
    return (v - 1) // 4 + 1


def bin_to_velocity(bin_: int) -> int:
    """Bin 1..32 -> the lowest MIDI velocity of that bin: 1 + (b - 1) * 4."""
    _check_range("velocity bin", bin_, 1, NUM_VELOCITY_BINS)
    return 1 + (bin_ - 1) * 4


def seconds_to_steps(seconds: float) -> int:
    """Round a time to the nearest 10 ms step (half-way rounds up, never to even).

    round() would send 0.125 s and 0.135 s both to even steps; musicians expect
    half a step to round the same way everywhere.
    """
    return int(seconds * STEPS_PER_SECOND + 0.5 + 1e-9) if seconds >= 0 else -seconds_to_steps(-seconds)


def steps_to_seconds(steps: int) -> float:
    return steps / STEPS_PER_SECOND


def _check_range(what: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{what} {value} is outside {low}..{high}")
