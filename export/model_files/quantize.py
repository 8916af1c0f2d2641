"""A model file -> the same model with int8 weights, to play and render faster.

onnxruntime's dynamic quantization stores each LSTM and MatMul weight matrix as int8
with one scale, and quantizes the activations at run time. A batch-1 step on a CPU is
bound by reading the weights, so 4x fewer bytes make it faster (1.7-2.3x for the
2x256 default, measured with `encore bench`) and the file 4x smaller.

The result is judged before it is kept, as export judges its own: both files predict
the model's primers (held-out music) event by event, and the int8 file must stay within
MAX_KL nats per event of the original's distribution. A file that fails is deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from live.model import Model, load_model

from export.errors import ExportError
from export.evaluation.batch_logits import stream_logits, window_logits
from export.evaluation.scoring import log_softmax, padded_groups, windows
from export.model_files.metadata import write_metadata

MAX_KL = 0.02  # nats/event: 40x what the default model's int8 file differs by (0.0005)
WEIGHTS_KEY = "encore.weights"


@dataclass
class QuantizeResult:
    path: Path
    bytes: int
    source_bytes: int
    events: int  # predictions compared
    mean_kl: float  # nats/event, KL(original || int8)
    top1_agreement: float  # share of events where both pick the same likeliest event
    nll_original: float  # on the primers' next events
    nll_int8: float


def quantize_model(source: str | Path, output: str | Path) -> QuantizeResult:
    source, output = Path(source), Path(output)
    if output.resolve() == source.resolve():
        raise ExportError(f"{output}: the int8 copy would replace the model it is made from; "
                          "give -o another file")
    original = load_model(source, threads=1)
    if original.info.weights == "int8":
        raise ExportError(f"{source}: its weights are already int8; quantize the full-precision file")
    probe = _probe_pieces(original)

    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    try:
        _quantize_file(source, partial, original.info.metadata)
        quantized = load_model(partial, threads=1)
        result = _compare(original, quantized, probe, output, source)
        if not result.mean_kl <= MAX_KL:
            raise ExportError(
                f"the int8 model's predictions differ from {source}'s by {result.mean_kl:.3f} "
                f"nats/event (> {MAX_KL}); nothing written to {output}: play the original"
            )
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    result.bytes = output.stat().st_size
    return result


def _quantize_file(source: Path, destination: Path, meta: dict[str, str]) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantizer logs advice for image models through the root logger; not ours.
    quiet = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(destination), weight_type=QuantType.QInt8)
    finally:
        logging.getLogger().setLevel(quiet)
    write_metadata(destination, {**meta, WEIGHTS_KEY: f"int8 (dynamic quantization of {source.name})"})


def _probe_pieces(model: Model) -> list[np.ndarray]:
    """The model's primers (held-out music); for a model without any (random weights),
    a fixed pseudo-random event list so the comparison still has something to read."""
    pieces = [np.asarray(p, dtype=np.int64) for p in model.info.primers if len(p) >= 2]
    if pieces:
        return pieces
    return [np.random.default_rng(0).integers(0, 388, 256)]


def _log_probs(model: Model, pieces: list[np.ndarray]) -> list[np.ndarray]:
    """Per piece, log p of each next event given the events before it: [len - 1, 388]."""
    out: list[np.ndarray | None] = [None] * len(pieces)
    if model.kind == "stream":
        for group, batch in padded_groups(pieces):
            logits = stream_logits(model, batch)
            for b, i in enumerate(group):
                out[i] = log_softmax(logits[b, : len(pieces[i]) - 1])
    else:
        for i, events in enumerate(pieces):
            out[i] = log_softmax(window_logits(model, windows(events, model.info.window)))
    return out


def _compare(original: Model, quantized: Model, pieces, output: Path, source: Path) -> QuantizeResult:
    reference = np.concatenate(_log_probs(original, pieces))
    approx = np.concatenate(_log_probs(quantized, pieces))
    targets = np.concatenate([p[1:] for p in pieces])
    kl = (np.exp(reference) * (reference - approx)).sum(axis=1)
    rows = np.arange(len(targets))
    return QuantizeResult(
        path=output,
        bytes=0,
        source_bytes=source.stat().st_size,
        events=len(targets),
        mean_kl=float(kl.mean()),
        top1_agreement=float(np.mean(reference.argmax(axis=1) == approx.argmax(axis=1))),
        nll_original=float(-reference[rows, targets].mean()),
        nll_int8=float(-approx[rows, targets].mean()),
    )


def format_result(result: QuantizeResult) -> str:
    return (
        f"wrote {result.path} (int8 weights, {result.bytes / 1e6:.1f} MB, was "
        f"{result.source_bytes / 1e6:.1f} MB): on {result.events:,} primer events it differs "
        f"from the original by {result.mean_kl:.4f} nats/event (KL), picks the same likeliest "
        f"event {result.top1_agreement:.1%} of the time; NLL {result.nll_original:.3f} -> "
        f"{result.nll_int8:.3f}"
    )
