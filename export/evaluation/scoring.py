"""How a model is scored, the same way for torch, onnxruntime and the n-gram baselines.

Each piece is read from its start; every event after the first is predicted from
the events before it (the first has no context, so no model is asked about it).
NLL per event is the mean of -log p over those predictions in nats; NLL per note
divides the same sum by the NOTE_ON events among them, so encodings with more or
fewer events per note compare fairly; top-1 is the share predicted exactly.

A window model sees the last W events; before a piece begins it sees PAD_EVENT, a
1 s time shift (silence). Training streams join pieces with the same 1 s of silence,
so a window that reaches back past a piece's start looks like what it learned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from live.core import vocab

PAD_EVENT = vocab.time_shift(vocab.MAX_SHIFT_STEPS)  # 1 s of silence
MAX_BATCH_EVENTS = 16384  # bounds the logits held at once: 16k x 388 floats = 25 MB (64k held 300 MB at its peak)


@dataclass
class Scores:
    nll_sum: float = 0.0
    events: int = 0
    notes: int = 0
    correct: int = 0

    def add(self, log_probs: np.ndarray, targets: np.ndarray) -> None:
        """log_probs [n, 388] predicting targets [n]."""
        picked = log_probs[np.arange(len(targets)), targets]
        self.nll_sum += float(-picked.sum())
        self.events += len(targets)
        self.notes += int(np.count_nonzero(targets < vocab.NOTE_OFF_OFFSET))
        self.correct += int(np.count_nonzero(log_probs.argmax(axis=1) == targets))

    @property
    def nll_per_event(self) -> float:
        return self.nll_sum / self.events if self.events else float("nan")

    @property
    def nll_per_note(self) -> float:
        return self.nll_sum / self.notes if self.notes else float("nan")

    @property
    def accuracy(self) -> float:
        return self.correct / self.events if self.events else float("nan")

    def as_dict(self) -> dict:
        return {
            "nll_per_event": self.nll_per_event,
            "nll_per_note": self.nll_per_note,
            "top1": self.accuracy,
            "events": self.events,
            "notes": self.notes,
        }


def log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cap_events(pieces: list[np.ndarray], max_events: int | None) -> list[np.ndarray]:
    """The first pieces (whole) up to about max_events, for a quicker estimate."""
    if max_events is None:
        return pieces
    kept, total = [], 0
    for events in pieces:
        if total >= max_events:
            break
        kept.append(events)
        total += len(events)
    return kept


# ---------------------------------------------------------------- stream models


def padded_groups(pieces: list[np.ndarray]) -> Iterator[tuple[list[int], np.ndarray]]:
    """Pieces grouped by length into padded [B, T] batches of inputs (all events but the
    last), at most MAX_BATCH_EVENTS each. Padding goes at the end, where a forward-only
    network cannot see it from the real positions."""
    order = sorted((i for i in range(len(pieces)) if len(pieces[i]) > 1), key=lambda i: len(pieces[i]))
    group: list[int] = []
    for i in order:
        longest = len(pieces[i]) - 1
        if group and (len(group) + 1) * longest > MAX_BATCH_EVENTS:
            yield group, _pad([pieces[j][:-1] for j in group])
            group = []
        group.append(i)
    if group:
        yield group, _pad([pieces[j][:-1] for j in group])


def _pad(rows: list[np.ndarray]) -> np.ndarray:
    batch = np.full((len(rows), max(len(r) for r in rows)), PAD_EVENT, dtype=np.int64)
    for b, row in enumerate(rows):
        batch[b, : len(row)] = row
    return batch


def score_stream(pieces: list[np.ndarray], run: Callable[[np.ndarray], np.ndarray]) -> Scores:
    """run(events [B, T]) -> logits [B, T, 388] from a zero state."""
    scores = Scores()
    for group, batch in padded_groups(pieces):
        logits = run(batch)
        for b, i in enumerate(group):
            targets = pieces[i][1:]
            scores.add(log_softmax(logits[b, : len(targets)]), targets)
    return scores


# ---------------------------------------------------------------- window models


def windows(events: np.ndarray, window: int, positions: np.ndarray | None = None) -> np.ndarray:
    """[n, window] contexts: row k holds the `window` events before position positions[k]
    (default 1..len-1), left-padded with PAD_EVENT."""
    events = np.asarray(events, dtype=np.int64)
    padded = np.concatenate([np.full(window, PAD_EVENT, dtype=np.int64), events])
    if positions is None:
        positions = np.arange(1, len(events))
    return padded[positions[:, None] + np.arange(window)[None, :]]


def score_windows(
    pieces: Iterable[np.ndarray], window: int, run: Callable[[np.ndarray], np.ndarray], batch: int = 512
) -> Scores:
    """run(events [B, W]) -> logits [B, 388] for the event after each window."""
    scores = Scores()
    for events in pieces:
        contexts = windows(events, window)
        for start in range(0, len(contexts), batch):
            logits = run(contexts[start : start + batch])
            scores.add(log_softmax(logits), events[1 + start : 1 + start + batch])
    return scores
