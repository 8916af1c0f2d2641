"""A model file's predictions over many events at once, for scoring and checks.

The model is what the instrument loads (live.model.load_model: the same contract, the
same checks); here its session runs whole batches, [B, T] from a zero state for a
stream model and [B, W] windows for a window model, instead of one event at a time.
"""

from __future__ import annotations

import numpy as np

from live.model import Model

from export.evaluation.scoring import Scores, cap_events, score_stream, score_windows

STREAM_OUTPUTS = ["logits", "h_out", "c_out"]


def zero_state(model: Model, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """A stream model's (h, c) before any event, for `batch` sequences."""
    shape = (model.info.layers, batch, model.info.hidden)
    return np.zeros(shape, np.float32), np.zeros(shape, np.float32)


def stream_step(model: Model, events: np.ndarray, h: np.ndarray, c: np.ndarray):
    """[B, T] events from (h, c) -> logits [B, T, 388], h_out, c_out."""
    feed = {"events": np.asarray(events, dtype=np.int64), "h": h, "c": c}
    return model.session.run(STREAM_OUTPUTS, feed)


def stream_logits(model: Model, events: np.ndarray) -> np.ndarray:
    """[B, T] events from a zero state -> [B, T, 388] logits."""
    return stream_step(model, events, *zero_state(model, len(events)))[0]


def window_logits(model: Model, contexts: np.ndarray) -> np.ndarray:
    """[B, W] events -> [B, 388] logits for the event after each window."""
    return model.session.run(["logits"], {"events": np.asarray(contexts, dtype=np.int64)})[0]


def score(model: Model, pieces: list[np.ndarray], max_events: int | None = None) -> Scores:
    """Held-out scores of the model on whole pieces (see export.evaluation.scoring)."""
    pieces = cap_events(pieces, max_events)
    if model.kind == "stream":
        return score_stream(pieces, lambda batch: stream_logits(model, batch))
    return score_windows(pieces, model.info.window, lambda contexts: window_logits(model, contexts))
