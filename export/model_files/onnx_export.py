"""A run's best checkpoint -> one ONNX file meeting encore's model contract.

The file is written next to its destination first, loaded as the instrument loads it
(live.model: the same contract, the same checks) and checked against torch (max abs
logit difference <= 1e-4: stream over 512 events stepped one at a time as the
instrument steps them, window over every window of the same 512 events). Only a file
that passes is moved into place; one that fails is deleted and export says so.
"""

from __future__ import annotations

import datetime as _dt
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from live.core import vocab
from live.model import State, load_model

from export.errors import ExportError
from export.evaluation.batch_logits import window_logits
from export.evaluation.scoring import PAD_EVENT, windows
from export.model_files.metadata import write_metadata
from export.training.checkpoints import load_checkpoint, model_from_checkpoint

TOLERANCE = 1e-4
OPSET = 17


@dataclass
class ExportResult:
    path: Path
    kind: str
    max_difference: float
    bytes: int
    meta: dict


def export_run(run: str | Path, output: str | Path) -> ExportResult:
    from export.training.networks import describe, parameter_count

    state = load_checkpoint(run)
    config = state["config"]
    model = model_from_checkpoint(state, run)
    model.eval()

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    kind = "stream" if config["arch"] == "stream" else "window"
    with warnings.catch_warnings():
        # The exporter warns about LSTM batch sizes; the parity check below is the proof.
        warnings.simplefilter("ignore")
        if kind == "stream":
            _export_stream(model, partial)
        else:
            _export_window(model, config["window"], partial)

    meta = {
        "encore.kind": kind,
        "encore.vocab": vocab.VOCAB_NAME,
        "encore.window": str(config["window"]),
        "encore.layers": str(config["layers"]),
        "encore.hidden": str(config["hidden"]),
        "encore.corpus": state["corpus"]["description"],
        "encore.val_nll": f"{state['best_val_nll']:.4f}" if state["best_val_nll"] is not None else "nan",
        "encore.primers": json.dumps(state["primers"]),
        "encore.arch": describe(config),
        "encore.params": str(parameter_count(model)),
        "encore.train_events": str(state["position"]["events"]),
        "encore.train_seconds": f"{state.get('elapsed', 0.0):.0f}",
        "encore.created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        # What a window model reads before a piece begins (see export/scoring.py).
        "encore.pad_event": str(PAD_EVENT),
        **({"encore.time": "beats", "encore.steps_per_beat": str(vocab.STEPS_PER_BEAT)}
           if state["corpus"].get("time") == "beats" else {"encore.time": "seconds"}),
    }
    write_metadata(partial, meta)
    try:
        difference = _parity(model, kind, config, partial, np.array(state["parity_events"], dtype=np.int64))
        if not difference <= TOLERANCE:
            raise ExportError(
                f"onnxruntime and torch disagree by {difference:.2e} (> {TOLERANCE:g}) on {run}; "
                f"nothing written to {output}"
            )
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return ExportResult(output, kind, difference, output.stat().st_size, meta)


def _export_stream(model, path: Path) -> None:
    import torch

    h, c = model.zero_state(1)
    events = torch.zeros((1, 4), dtype=torch.int64)
    torch.onnx.export(
        model, (events, h, c), str(path),
        input_names=["events", "h", "c"],
        output_names=["logits", "h_out", "c_out"],
        dynamic_axes={
            "events": {0: "batch", 1: "time"},
            "h": {1: "batch"},
            "c": {1: "batch"},
            "logits": {0: "batch", 1: "time"},
            "h_out": {1: "batch"},
            "c_out": {1: "batch"},
        },
        opset_version=OPSET,
        dynamo=False,  # the TorchScript exporter turns nn.LSTM into one ONNX LSTM op
    )


def _export_window(model, window: int, path: Path) -> None:
    import torch

    torch.onnx.export(
        model, (torch.zeros((1, window), dtype=torch.int64),), str(path),
        input_names=["events"],
        output_names=["logits"],
        dynamic_axes={"events": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,
    )


def _parity(model, kind: str, config: dict, path: Path, events: np.ndarray) -> float:
    """Largest |onnxruntime - torch| logit over the check events."""
    import torch

    shipped = load_model(path, threads=1)
    with torch.no_grad():
        if kind == "stream":
            expected = model(torch.from_numpy(events[None, :]), *model.zero_state(1))[0][0].numpy()
            h, c = (tensor.numpy() for tensor in model.zero_state(1))
            state = State(np.zeros(vocab.VOCAB_SIZE, np.float32), h, c)
            got = []
            for event in events:
                state = shipped.step(state, int(event))
                got.append(state.logits)
            return float(np.abs(np.stack(got) - expected).max())
        contexts = windows(events, config["window"])
        expected = model(torch.from_numpy(contexts)).numpy()
        got = np.concatenate([window_logits(shipped, contexts[i : i + 64]) for i in range(0, len(contexts), 64)])
        return float(np.abs(got - expected).max())
