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

from export.evaluation.scoring import PAD_EVENT

IGNORE = -100  # torch's CrossEntropyLoss ignore_index


BAR_JOINT = np.array(to_bar_line([PAD_EVENT]), dtype=np.int64)  # 192 steps: 100 + 92


# Events are held as int16 (vocab 388, IGNORE -100): an epoch of a corpus ten times the
# default's (19 million events) is 38 MB a copy, not 150; a batch is widened when it is taken.
LANE_DTYPE = np.int16


def lanes(pieces: list[np.ndarray], count: int, rng: np.random.Generator,
          joint: np.ndarray | None = None) -> np.ndarray:
    """[lanes, length] event ids (int16): pieces shuffled, dealt to the shortest lane,
    joined by `joint` (default PAD_EVENT), shorter lanes filled up with IGNORE. Fewer
    lanes when there are fewer pieces."""
    joint = np.array([PAD_EVENT], dtype=LANE_DTYPE) if joint is None else joint.astype(LANE_DTYPE)
    order = rng.permutation(len(pieces))
    count = max(1, min(count, len(pieces)))
    lengths = np.zeros(count, dtype=np.int64)
    dealt: list[list[int]] = [[] for _ in range(count)]
    for i in order:
        lane = int(lengths.argmin())
        dealt[lane].append(int(i))
        lengths[lane] += len(pieces[i]) + len(joint)
    out = np.full((count, int(lengths.max())), IGNORE, dtype=LANE_DTYPE)
    for lane, chosen in enumerate(dealt):  # written in place: no lane is ever a list of arrays
        at = 0
        for i in chosen:
            out[lane, at:at + len(pieces[i])] = pieces[i]
            at += len(pieces[i])
            out[lane, at:at + len(joint)] = joint
            at += len(joint)
    return out


class StreamWindows:
    """Consecutive (inputs, targets) [lanes, <= window] int64 pairs along the lanes, made
    as they are taken; a short last window is kept, so a small corpus still trains.
    Filler reads as silence."""

    def __init__(self, lane_events: np.ndarray, window: int):
        self.lanes, self.window = lane_events, window
        self.length = lane_events.shape[1] - 1  # the last event is only ever a target

    def __len__(self) -> int:
        return -(-self.length // self.window) if self.length > 0 else 0

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        start = index * self.window
        end = min(start + self.window, self.length)
        inputs = self.lanes[:, start:end].astype(np.int64)
        inputs[inputs == IGNORE] = PAD_EVENT
        return inputs, self.lanes[:, start + 1:end + 1].astype(np.int64)

    def __iter__(self):
        return (self[i] for i in range(len(self)))


def stream_windows(lane_events: np.ndarray, window: int) -> StreamWindows:
    return StreamWindows(lane_events, window)


def seed_batches(pieces: list[np.ndarray], window: int, batch: int, rng: np.random.Generator):
    """(inputs [B, W], targets [B]) over every event of the shuffled, joined pieces."""
    joined = lanes(pieces, 1, rng)[0]
    padded = np.concatenate([np.full(window, PAD_EVENT, dtype=joined.dtype), joined])  # once, not per batch
    positions = rng.permutation(np.arange(1, len(joined)))
    for start in range(0, len(positions), batch):
        chosen = positions[start : start + batch]
        yield padded[chosen[:, None] + np.arange(window)[None, :]].astype(np.int64), joined[chosen].astype(np.int64)


def seed_batch_count(pieces: list[np.ndarray], batch: int) -> int:
    events = sum(len(p) + 1 for p in pieces) - 1
    return -(-events // batch)
