"""Checkpoints: the files a run folder holds (last.pt, best.pt), read back with every
way they can be wrong said in one line, and written so a crash never leaves half a file.

Plain dicts of tensors and Python values, loaded with torch.load(weights_only=True), so a
checkpoint from elsewhere cannot run code. Written the same by any device and any number
of processes, and loaded on the CPU."""

from __future__ import annotations

from pathlib import Path

from live.core import vocab

from export.errors import CheckpointError
from export.training.defaults import DEFAULTS

CHECKPOINT_FORMAT = "encore-checkpoint-v1"
LAST, BEST = "last.pt", "best.pt"


class NotFinite(Exception):
    """Inside the loop: what stopped being a number (the loss, a weight)."""


def load_checkpoint(path: str | Path) -> dict:
    import torch

    path = Path(path)
    if path.is_dir():
        for name in (BEST, LAST):
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise CheckpointError(f"{path}: holds no checkpoint ({BEST} or {LAST}); train into it first")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such run folder or checkpoint; check the path")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle refusals, truncation, not a zip: all one message
        raise CheckpointError(f"{path}: not a loadable encore checkpoint ({type(err).__name__}); "
                              "train again or pick another file") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not an encore checkpoint ({CHECKPOINT_FORMAT})")
    if state.get("vocab") != vocab.VOCAB_NAME:
        raise CheckpointError(f"{path}: vocabulary {state.get('vocab')!r} is not {vocab.VOCAB_NAME}")
    problem = checkpoint_problem(state)
    if problem:
        raise CheckpointError(f"{path}: not a whole encore checkpoint ({problem}); train again or pick another file")
    return state


# What every use of a checkpoint reads (export, fine-tuning, resuming); a resume reads
# more, checked where it resumes.
_CONFIG_NUMBERS = {"layers": (1, 64), "hidden": (1, 16_384), "embed": (0, 16_384), "window": (1, 100_000)}


def checkpoint_problem(state: dict) -> str | None:
    config = state.get("config")
    if not isinstance(config, dict):
        return "no config"
    if config.get("arch") not in DEFAULTS:
        return f"config arch {str(config.get('arch'))[:20]!r} is not stream or seed"
    for key, (low, high) in _CONFIG_NUMBERS.items():
        value = config.get(key, DEFAULTS[config["arch"]].get(key))
        if value is not None and not (type(value) is int and low <= value <= high):
            return f"config {key} is {str(value)[:20]!r}, not a whole number {low}..{high}"
    dropout = config.get("dropout", 0.0)
    if not (isinstance(dropout, (int, float)) and 0 <= dropout < 1):
        return f"config dropout is {str(dropout)[:20]!r}, not a number in [0, 1)"
    if not isinstance(state.get("model"), dict):
        return "no model weights"
    return None


def model_from_checkpoint(state: dict, where: str | Path):
    """The checkpoint's network with its weights; weights that do not fit its own
    config (a hand-edited or foreign file) are one CheckpointError."""
    from export.training.networks import build_model

    try:
        model = build_model(state["config"])
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, RuntimeError) as err:
        first = str(err).splitlines()[0][:160]
        raise CheckpointError(f"{where}: its weights do not fit its own config ({first}); "
                              "train again or pick another file") from None
    return model


def save_checkpoint(path: Path, state: dict) -> None:
    import torch

    # Weights that went inf on a finite loss (a learning rate far too high) are not saved
    # over the last good checkpoint: the next loss is NaN and the run stops there.
    if not all(bool(torch.isfinite(weights).all()) for weights in state["model"].values()
               if torch.is_floating_point(weights)):
        raise NotFinite("a weight")
    partial = path.with_suffix(".tmp")
    torch.save(state, partial)
    partial.replace(path)  # a crash mid-write never leaves a broken checkpoint
