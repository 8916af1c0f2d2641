"""Training batches, pure numpy: what each arch reads in one optimisation step.

stream: pieces (shuffled) are laid end to end in B lanes, joined by 1 s of silence
    (PAD_EVENT; a beat corpus: by a bar of rest, BAR_JOINT, so a lane keeps the bar's
    phase from piece to piece: a 1 s joint is 100 steps, 4 off the 16th grid, and a model
    trained across it learned to slip by 4 steps after a rest); shorter lanes are filled
    up with IGNORE, positions that are no one's
    target, so no piece is dropped. Each lane is cut into consecutive windows of T events. The LSTM
    state is carried from one window of a lane to the next (truncated backprop), so
    the network learns to keep playing past any window length, as it must live.
seed:  every event of the joined stream is a target; its input is the W events before
    it. One epoch visits each target once in a shuffled order.
"""

from __future__ import annotations

import numpy as np

from live.core.bars import to_bar_line

from export.evaluation.scoring import PAD_EVENT, windows

IGNORE = -100  # torch's CrossEntropyLoss ignore_index


BAR_JOINT = np.array(to_bar_line([PAD_EVENT]), dtype=np.int64)  # 192 steps: 100 + 92


def lanes(pieces: list[np.ndarray], count: int, rng: np.random.Generator,
          joint: np.ndarray | None = None) -> np.ndarray:
    """[lanes, length] event ids: pieces shuffled, dealt to the shortest lane, joined by
    `joint` (default PAD_EVENT), shorter lanes filled up with IGNORE. Fewer lanes when
    there are fewer pieces."""
    joint = np.array([PAD_EVENT]) if joint is None else joint
    order = rng.permutation(len(pieces))
    count = max(1, min(count, len(pieces)))
    rows: list[list[np.ndarray]] = [[] for _ in range(count)]
    lengths = np.zeros(count, dtype=np.int64)
    for i in order:
        lane = int(lengths.argmin())
        rows[lane] += [pieces[i], joint]
        lengths[lane] += len(pieces[i]) + len(joint)
    joined = [np.concatenate(r) for r in rows]
    length = max(len(j) for j in joined)
    return np.stack([np.pad(j, (0, length - len(j)), constant_values=IGNORE) for j in joined]).astype(np.int64)


def stream_windows(lane_events: np.ndarray, window: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Consecutive (inputs, targets) [lanes, <= window] pairs along the lanes; a short
    last window is kept, so a small corpus still trains. Filler reads as silence."""
    length = lane_events.shape[1] - 1  # the last event is only ever a target
    inputs = np.where(lane_events == IGNORE, PAD_EVENT, lane_events)
    return [
        (inputs[:, start : min(start + window, length)],
         lane_events[:, start + 1 : min(start + window, length) + 1])
        for start in range(0, length, window)
    ]


def seed_batches(pieces: list[np.ndarray], window: int, batch: int, rng: np.random.Generator):
    """(inputs [B, W], targets [B]) over every event of the shuffled, joined pieces."""
    joined = lanes(pieces, 1, rng)[0]
    positions = rng.permutation(np.arange(1, len(joined)))
    for start in range(0, len(positions), batch):
        chosen = positions[start : start + batch]
        yield windows(joined, window, chosen), joined[chosen]


def seed_batch_count(pieces: list[np.ndarray], batch: int) -> int:
    events = sum(len(p) + 1 for p in pieces) - 1
    return -(-events // batch)
