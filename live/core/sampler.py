"""Logits + controls -> the next event.

Masks keep the stream playable and the musician's controls respected:
  - a note held for the max note length is forced off (no sampling at all);
  - a note lasts one step at least: no note-off or re-strike in the step it began;
  - no time shift may carry a held note past its max length;
  - note-ons only for pitches inside the range and scale (as played, after transpose);
  - at max polyphony only re-strikes of held pitches may start;
  - note-offs only for held pitches;
  - a beat model starts notes (and their velocity events) only on the grid control's
    lines, and with nothing held a time shift goes to a grid line: the model hears only
    on-grid onsets and rests, so a slip never carries on (a model that put one note 4
    steps late went on playing 4 steps late for good); a held note may end anywhere.
Then density biases note-ons against time shifts, temperature scales, top-p keeps the
likeliest events, and one row of Gumbel noise makes the draw (see live/noise.py). A
mask never leaves nothing: there is always a time shift (or a forced note-off) to take.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from live.core import vocab
from live.core.controls import Controls
from live.core.noise import GumbelNoise
from live.core.performer import Performer

DENSITY_SCALE = 3.0  # nats of bias at density +-1
# Beyond this a float32 score's spacing (2**-15 here) starts to round the noise: centre first.
PRECISE_SCORES = 256.0
FALLBACK = vocab.time_shift(1)
# A model that never lets time pass (velocity events for ever, note-ons and offs in one
# instant) would hold a render in one step for good: after this many events in a step,
# only a time shift or a note-off may come.
MAX_EVENTS_IN_A_STEP = 64

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
    bias = np.zeros(vocab.VOCAB_SIZE, dtype=np.float32)
    bias[_ON] = np.where(pitches, controls.density * DENSITY_SCALE, -np.inf)
    bias[_OFF] = -np.inf
    bias[_SHIFT] = -controls.density * DENSITY_SCALE
    bias.setflags(write=False)
    return bias


# The biases of the Controls objects seen last, by identity: the same object comes back
# event after event (one per voice: a lead and a bass alternate), and an identity test is
# cheaper than hashing its fields for the lru_cache (that cost a render a tenth of its
# speed). A dict replaced whole, never changed in place, so a reader never sees a mix.
_RECENT_CONTROLS = 4
_recent: dict[int, tuple[Controls, np.ndarray, dict]] = {}  # id -> (controls, static bias, grid biases)


def _biases_of(controls: Controls) -> tuple[Controls, np.ndarray, dict]:
    global _recent
    entry = _recent.get(id(controls))
    if entry is None or entry[0] is not controls:
        entry = (controls, _static_bias(controls), {})
        recent = dict(list(_recent.items())[-(_RECENT_CONTROLS - 1):])
        recent[id(controls)] = entry
        _recent = recent
    return entry


@lru_cache(maxsize=256)
def _grid_bias(controls: Controls, grid: int, phase: int, held: bool) -> np.ndarray:
    """The static bias `phase` steps past a grid line: between lines no note-on and no
    velocity event; with nothing held, time shifts only to a grid line (with a note held,
    to anywhere: it may end between lines)."""
    bias = _static_bias(controls).copy()
    if phase:
        bias[_ON] = -np.inf
        bias[_VELOCITY] = -np.inf
    if not held:
        steps = np.arange(1, vocab.MAX_SHIFT_STEPS + 1)
        bias[_SHIFT][(phase + steps) % grid != 0] = -np.inf
    bias.setflags(write=False)
    return bias


def _grid_bias_for(controls: Controls, grid: int, phase: int, held: bool) -> np.ndarray:
    """_grid_bias, remembered per Controls object (see _biases_of)."""
    biases = _biases_of(controls)[2]
    key = (grid, phase, held)
    bias = biases.get(key)
    if bias is None:
        bias = biases[key] = _grid_bias(controls, grid, phase, held)
    return bias


def _static_bias_for(controls: Controls) -> np.ndarray:
    """_static_bias, remembered per Controls object (see _biases_of)."""
    return _biases_of(controls)[1]


def event_bias(performer: Performer, controls: Controls, grid: int | None = None) -> np.ndarray:
    """Additive bias over the 388 events: -inf where an event may not come next.
    grid: a beat model's steps between grid lines (None: anywhere).

    Read it, do not write it: with nothing held it is the shared, read-only static bias
    (every per-event rule concerns held notes)."""
    return _event_bias(performer, controls, performer.steps_left(controls), grid)


def _event_bias(performer: Performer, controls: Controls, steps_left: int | None,
                grid: int | None = None) -> np.ndarray:
    """event_bias, given performer.steps_left (sample has it already)."""
    if performer.events - performer.shifted_at >= MAX_EVENTS_IN_A_STEP:
        return _time_must_pass(_event_bias_in_time(performer, controls, steps_left, grid))
    return _event_bias_in_time(performer, controls, steps_left, grid)


def _time_must_pass(bias: np.ndarray) -> np.ndarray:
    bias = bias.copy()
    bias[_ON] = -np.inf
    bias[_VELOCITY] = -np.inf
    return bias


def _event_bias_in_time(performer: Performer, controls: Controls, steps_left: int | None,
                        grid: int | None = None) -> np.ndarray:
    held = performer.held
    off_grid = grid is not None and performer.step % grid != 0
    static = _static_bias_for(controls) if grid is None else _grid_bias_for(controls, grid, performer.step % grid,
                                                                            bool(held))
    if not held:
        return static
    bias = static.copy()
    at_max_polyphony = len(held) >= controls.polyphony
    if at_max_polyphony:
        bias[_ON] = -np.inf  # only re-strikes (reopened below): they add no voice
    now = performer.step
    for pitch, note in held.items():
        if note.onset == now:
            # A note lasts one step at least: no off, and no re-strike, in the step it began.
            bias[vocab.NOTE_ON_OFFSET + pitch] = -np.inf
        else:
            bias[vocab.NOTE_OFF_OFFSET + pitch] = 0.0
            if at_max_polyphony and not off_grid:
                bias[vocab.NOTE_ON_OFFSET + pitch] = static[vocab.NOTE_ON_OFFSET + pitch]
    if steps_left is not None and steps_left < vocab.MAX_SHIFT_STEPS:
        bias[vocab.TIME_SHIFT_OFFSET + max(steps_left, 0) : vocab.VELOCITY_OFFSET] = -np.inf
    return bias


def allowed_events(performer: Performer, controls: Controls, grid: int | None = None) -> np.ndarray:
    """Boolean mask over the 388 events: what may come next."""
    return np.isfinite(event_bias(performer, controls, grid))


def sample(logits: np.ndarray, performer: Performer, controls: Controls, noise: GumbelNoise,
           grid: int | None = None, lean: np.ndarray | None = None) -> int:
    """Draw the next event index (grid: see event_bias; lean: a finite bias added on top,
    the harmony's: live.core.harmony)."""
    steps_left = performer.steps_left(controls)
    if steps_left is not None and steps_left <= 0:
        # A note is overdue exactly when the earliest held one is: end the lowest overdue.
        return vocab.note_off(performer.overdue(controls)[0])

    bias = _event_bias(performer, controls, steps_left, grid)
    if lean is not None:
        bias = bias + lean
    gumbel = noise.next_row()
    # Gumbel-max: the argmax of scores plus Gumbel noise is a draw from softmax(scores).
    noisy = _scores(logits, bias, controls)
    noisy += gumbel
    index = int(noisy.argmax())
    best = noisy[index]
    if abs(best) > PRECISE_SCORES and math.isfinite(best):
        # Logits far from zero (a low temperature, a model's odd scale): what decides
        # the draw is their differences, so measure them from the top.
        noisy = _scores(logits, bias, controls)
        noisy -= noisy.max()
        noisy += gumbel
        index = int(noisy.argmax())
        best = noisy[index]
    if not math.isfinite(best):
        # NaN or inf from a broken model (argmax finds them first), or nothing allowed:
        # an allowed event, evenly; if there is none, a time shift.
        allowed = np.isfinite(bias)
        return int(np.where(allowed, gumbel, -np.inf).argmax()) if allowed.any() else FALLBACK
    return index


def _scores(logits: np.ndarray, bias: np.ndarray, controls: Controls) -> np.ndarray:
    """Log-space scores, float32 like the logits and the noise: tempered logits plus the
    bias, -inf outside the nucleus when top-p is on."""
    if controls.temperature == 1.0:  # x * 1.0 is exactly x: one numpy call fewer
        scores = np.add(logits, bias, dtype=np.float32)
    else:
        scores = np.multiply(logits, np.float32(1.0 / controls.temperature), dtype=np.float32)
        scores += bias
    if controls.top_p < 1.0:
        _drop_outside_nucleus(scores, controls.top_p)
    return scores


def _drop_outside_nucleus(scores: np.ndarray, top_p: float) -> None:
    """-inf on all but the likeliest events whose probability first reaches top_p (ties
    keep the lower index). Scores with no finite top are left for sample to handle."""
    top = float(scores.max())
    if not math.isfinite(top):
        return
    # float64 here: which events make the nucleus can turn on the last bit of a sum
    probabilities = np.exp(np.subtract(scores, top, dtype=np.float64))
    probabilities /= probabilities.sum()
    order = (-probabilities).argsort(kind="stable")
    cumulative = probabilities[order].cumsum()
    kept = int(cumulative.searchsorted(top_p)) + 1
    scores[order[kept:]] = -np.inf
