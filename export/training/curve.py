"""The training curve as a PNG beside the checkpoints (matplotlib, drawn off-screen)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

# Drawn after a validation at most this often, and when a session ends: a quarter of a
# second of matplotlib each time outweighed the epochs of a small corpus.
PLOT_EVERY_SECONDS = 30.0


class SessionCurve:
    """curve.png through one training session."""

    def __init__(self, path: Path):
        self.path = path
        self.drawn_at = time.monotonic()
        self.behind = False  # a validation since it was drawn

    def validated(self, history: dict, config: dict) -> None:
        self.behind = True
        if time.monotonic() - self.drawn_at >= PLOT_EVERY_SECONDS:
            self.finish(history, config)

    def finish(self, history: dict, config: dict) -> None:
        if self.behind:
            plot_curve(history, self.path, config)
            self.drawn_at, self.behind = time.monotonic(), False


def plot_curve(history: dict, path: Path, config: dict) -> Path | None:
    """Training loss (smoothed) and validation NLL against events seen; None without
    matplotlib (the curve is a convenience, not a reason to stop training)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        return None
    figure, axes = pyplot.subplots(figsize=(7, 4))
    if history["train"]:
        events, losses = np.array(history["train"], dtype=float).T
        span = max(1, len(losses) // 50)
        smooth = np.convolve(losses, np.ones(span) / span, mode="valid")
        axes.plot(events[span - 1:], smooth, label="train loss (augmented)", color="tab:blue")
    if history["val"]:
        events, _, nll = np.array(history["val"], dtype=float).T
        axes.plot(events, nll, "o-", label="validation NLL", color="tab:orange")
    axes.set_xlabel("training events")
    axes.set_ylabel("nats per event")
    axes.set_title(f"encore {config['arch']}: {config.get('layers')}x{config.get('hidden')}")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path
