"""Logits + controls -> the next event.

Masks keep the stream playable and the musician's controls respected:
  - a note held for the max note length is forced off (no sampling at all);
  - a note lasts one step at least: no note-off or re-strike in the step it began;
  - no time shift may carry a held note past its max length;
  - note-ons only for pitches inside the range and scale (as played, after transpose);
  - at max polyphony only re-strikes of held pitches may start;
  - note-offs only for held pitches.
Then density biases note-ons against time shifts, temperature scales, and top-p keeps
the likeliest events. A mask never leaves nothing: there is always a time shift (or a
forced note-off) to take.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from live import vocab
from live.controls import Controls
from live.performer import Performer

DENSITY_SCALE = 3.0  # nats of bias at density +-1
FALLBACK = vocab.time_shift(1)

_ON = slice(vocab.NOTE_ON_OFFSET, vocab.NOTE_OFF_OFFSET)
_OFF = slice(vocab.NOTE_OFF_OFFSET, vocab.TIME_SHIFT_OFFSET)
_SHIFT = slice(vocab.TIME_SHIFT_OFFSET, vocab.VELOCITY_OFFSET)
_VELOCITY = slice(vocab.VELOCITY_OFFSET, vocab.VOCAB_SIZE)


@lru_cache(maxsize=64)
def _pitch_mask(low: int, high: int, root: int, scale: str, transpose: int) -> np.ndarray:
    """Model pitches whose played pitch (after transpose) is in range and scale."""
    probe = Controls(low=low, high=high, root=root, scale=scale)
    mask = np.array(
        [0 <= p + transpose <= 127 and probe.pitch_allowed(p + transpose) for p in range(128)]
    )
    mask.setflags(write=False)
    return mask


@lru_cache(maxsize=64)
def _static_bias(controls: Controls) -> np.ndarray:
    """What depends on the controls alone, as additive log-space bias: the density tilt,
    and -inf on note-ons outside the range and scale and on every note-off (held
    pitches are opened per event)."""
    pitches = _pitch_mask(
        controls.low, controls.high, controls.root, controls.scale, controls.transpose
    )
    bias = np.zeros(vocab.VOCAB_SIZE)
    bias[_ON] = np.where(pitches, controls.density * DENSITY_SCALE, -np.inf)
    bias[_OFF] = -np.inf
    bias[_SHIFT] = -controls.density * DENSITY_SCALE
    bias.setflags(write=False)
    return bias


def event_bias(performer: Performer, controls: Controls) -> np.ndarray:
    """Additive bias over the 388 events: -inf where an event may not come next."""
    bias = _static_bias(controls).copy()
    held = list(performer.held)
    if held:
        # A note lasts one step at least: no off, and no re-strike, in the step it began.
        now = performer.step
        releasable = [vocab.NOTE_OFF_OFFSET + p for p, h in performer.held.items() if h.onset != now]
        if releasable:
            bias[releasable] = 0.0
        if len(releasable) < len(held):
            bias[[p for p, h in performer.held.items() if h.onset == now]] = -np.inf
    if len(held) >= controls.max_polyphony:
        restrikes = bias[held]
        bias[_ON] = -np.inf  # only re-strikes: they add no voice
        bias[held] = restrikes
    steps_left = performer.steps_left(controls)
    if steps_left is not None and steps_left < vocab.MAX_SHIFT_STEPS:
        bias[vocab.TIME_SHIFT_OFFSET + max(steps_left, 0) : vocab.VELOCITY_OFFSET] = -np.inf
    return bias


def allowed_events(performer: Performer, controls: Controls) -> np.ndarray:
    """Boolean mask over the 388 events: what may come next."""
    return np.isfinite(event_bias(performer, controls))


def sample(
    logits: np.ndarray, performer: Performer, controls: Controls, rng: np.random.Generator
) -> int:
    """Draw the next event index."""
    overdue = performer.overdue(controls)
    if overdue:
        return vocab.note_off(overdue[0])

    bias = event_bias(performer, controls)
    scores = np.asarray(logits, dtype=np.float64) * (1.0 / controls.temperature)
    scores += bias
    top = float(scores.max())
    if not math.isfinite(top):
        # NaN or inf from a broken model, or nothing allowed: sample the allowed
        # events evenly, and if there are none, take a time shift.
        allowed = np.flatnonzero(np.isfinite(bias))
        return int(rng.choice(allowed)) if allowed.size else FALLBACK
    scores -= top
    probabilities = np.exp(scores, out=scores)

    if controls.top_p < 1.0:
        probabilities /= probabilities.sum()
        order = np.argsort(-probabilities, kind="stable")
        cumulative = np.cumsum(probabilities[order])
        keep = order[: int(np.searchsorted(cumulative, controls.top_p)) + 1]
        nucleus = np.zeros_like(probabilities)
        nucleus[keep] = probabilities[keep]
        probabilities = nucleus

    cumulative = np.cumsum(probabilities)
    index = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    if index >= vocab.VOCAB_SIZE or probabilities[index] == 0.0:
        # Rounding at the top of the cumulative sum: take the likeliest instead.
        index = int(np.argmax(probabilities))
    return index
