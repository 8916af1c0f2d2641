"""Harmony: which chord sounds at a step, and the sampler's lean toward it.

On a strong beat (beats 1 and 3 of a bar) the harmony control leans note-ons toward the
chord's tones; elsewhere toward the key. A lean, never a mask: at 100 % a pitch outside
loses HARMONY_NATS of log-probability (e^4, 55 times less likely), so the model can still
play a passing note, and a scale lock (--scale) stays the one hard rule.

What sounds is a list of parts, each from a step on: a progression (its bar 1 there,
cycling) or one chord held (played on the input). A change lands on a beat or a bar line
the scheduler chooses, so a render and a rollback hear it at the same step.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from live.core import vocab
from live.core.chords import Chord, Progression, key_of, key_name
from live.core.scales import SCALES

HARMONY_NATS = 4.0  # the lean at harmony 100 %
STRONG_STEPS = 2 * vocab.STEPS_PER_BEAT  # beats 1 and 3 of a 4/4 bar


@dataclass(frozen=True)
class Harmony:
    parts: tuple[tuple[int, Progression | Chord], ...]  # (from step, what sounds), in order
    key: tuple[int, str]  # (root, scale): the lean off the strong beats
    origin: int = 0  # a bar line (step): where the strong beats are counted from
    fixed_key: bool = False  # the key was given (--scale): chords do not move it

    @classmethod
    def of(cls, what: Progression | Chord, from_step: int, key: tuple[int, str] | None = None,
           origin: int | None = None) -> "Harmony":
        """`what` from `from_step`; key: a given one (fixed), or None for the chords' own."""
        return cls(((from_step, what),), key or key_for(what), from_step if origin is None else origin,
                   key is not None)

    def then(self, what: Progression | Chord, from_step: int) -> "Harmony":
        """From `from_step` on, `what` sounds (parts after it are dropped). A new progression
        brings its key (unless the key was given); a chord played keeps the key there is."""
        parts = tuple(part for part in self.parts if part[0] < from_step) + ((from_step, what),)
        key = self.key if self.fixed_key or isinstance(what, Chord) else key_for(what)
        return Harmony(parts, key, self.origin, self.fixed_key)

    def moved(self, origin: int) -> "Harmony":
        """Beat 1 is now at step `origin` (a clock Start): strong beats and a progression's bars
        count from there."""
        parts = tuple((max(start, origin) if isinstance(what, Progression) else start, what)
                      for start, what in self.parts)
        return Harmony(parts, self.key, origin, self.fixed_key)

    def chord_at(self, step: int) -> Chord:
        start, what = self.parts[0]
        for part_start, part in self.parts:
            if part_start <= step:
                start, what = part_start, part
        if isinstance(what, Chord):
            return what
        return what.at_bar(max(0, step - start) // vocab.STEPS_PER_BAR)

    def strong(self, step: int) -> bool:
        return (step - self.origin) % STRONG_STEPS == 0

    def bias(self, step: int, amount: float, transpose: int, chord_only: bool = False) -> np.ndarray | None:
        """The lean over the 388 events at `step` (read-only), or None at 0 %. chord_only (a
        bass): toward the chord's tones on every step, not only on the strong beats."""
        if amount <= 0:
            return None
        strong = chord_only or self.strong(step)
        tones = self.chord_at(step).tones if strong else _key_tones(self.key) | self.chord_at(step).tones
        return _lean(tones, round(amount, 3), transpose % 12)

    def next_change(self, step: int) -> tuple[int, Chord] | None:
        """The next step after `step` where the chord changes, and that chord (None: never)."""
        now = self.chord_at(step)
        line = self.origin + ((step - self.origin) // vocab.STEPS_PER_BAR + 1) * vocab.STEPS_PER_BAR
        later = [start for start, _ in self.parts if start > step]
        for candidate in sorted(set(later + [line + k * vocab.STEPS_PER_BAR for k in range(64)])):
            if self.chord_at(candidate) != now:
                return candidate, self.chord_at(candidate)
        return None

    @property
    def key_label(self) -> str:
        return key_name(self.key)


def key_for(what: Progression | Chord) -> tuple[int, str]:
    return key_of(what if isinstance(what, Progression) else Progression(((what, 1),)))


def _key_tones(key: tuple[int, str]) -> frozenset[int]:
    root, scale = key
    return frozenset((root + step) % 12 for step in SCALES[scale])


@lru_cache(maxsize=512)
def _lean(tones: frozenset[int], amount: float, transpose: int) -> np.ndarray:
    """-amount x HARMONY_NATS on the note-ons of model pitches that sound outside `tones`."""
    bias = np.zeros(vocab.VOCAB_SIZE, dtype=np.float32)
    for pitch in range(128):
        if (pitch + transpose) % 12 not in tones:
            bias[vocab.NOTE_ON_OFFSET + pitch] = -amount * HARMONY_NATS
    bias.setflags(write=False)
    return bias
