"""A shipped stream model file -> torch weights, so `encore train --init models/default.onnx`
(or `--init default`) fine-tunes from the model a user already has, with no run folder.

The file is what onnx_export wrote: Gather(embedding) -> one ONNX LSTM op per layer ->
MatMul + Add. Weights are read back by walking that graph, then the rebuilt torch network
is checked against onnxruntime on the file's own primers (the same 1e-4 bound as export),
so a graph of another shape is refused instead of fine-tuned from garbage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from live.core import vocab

from export.errors import CheckpointError

TOLERANCE = 1e-4
# ONNX orders an LSTM's gate blocks i, o, f, c; torch orders them i, f, g(=c), o.
ONNX_TO_TORCH_GATES = (0, 2, 3, 1)


def is_model_file(init: str | Path) -> bool:
    # "default" is the shipped model, unless a run folder of that name is right here.
    return str(init).endswith(".onnx") or (str(init) == "default" and not Path(init).exists())


def resolve(init: str | Path) -> Path:
    if str(init) == "default":
        from live.model import FULL_PRECISION_DEFAULT, default_model_path

        # The model as trained, not the int8 file that plays: its weights are exact.
        return default_model_path(FULL_PRECISION_DEFAULT)
    return Path(init)


def checkpoint_from_onnx(init: str | Path) -> dict:
    """A checkpoint-shaped dict (config + model weights) read from a stream model file."""
    import onnx
    from onnx import numpy_helper

    path = resolve(init)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such model file; give a run folder, a checkpoint or a .onnx model")
    try:
        proto = onnx.load(str(path))
    except Exception as err:
        raise CheckpointError(f"{path}: not a readable ONNX file ({type(err).__name__})") from None
    meta = {p.key: p.value for p in proto.metadata_props}
    if meta.get("encore.vocab") != vocab.VOCAB_NAME:
        raise CheckpointError(f"{path}: vocabulary {meta.get('encore.vocab')!r} is not {vocab.VOCAB_NAME}")
    if meta.get("encore.weights", "").startswith("int8"):
        raise CheckpointError(f"{path}: its weights are int8 (for playing); fine-tune from the full-precision "
                              "file it was made from (for the shipped model: --init default)")
    if meta.get("encore.kind") != "stream":
        raise CheckpointError(f"{path}: a '{meta.get('encore.kind')}' model; only stream models can be "
                              "fine-tuned from a model file (give the seed run's folder instead)")
    weights = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    try:
        model = _weights_from_graph(proto.graph, weights)
    except (KeyError, IndexError, ValueError, StopIteration) as err:
        raise CheckpointError(f"{path}: not a graph encore exported ({type(err).__name__}); "
                              "fine-tune from its run folder") from None
    layers = sum(1 for k in model if k.startswith("lstm.weight_ih_l"))
    hidden = model["lstm.weight_hh_l0"].shape[1]
    embed = model["embed.weight"].shape[1]
    from export.training.train import default_config

    config = default_config("stream", layers=layers, hidden=hidden, embed=embed,
                            window=int(meta.get("encore.window", "256")))
    import torch

    state = {"config": config, "model": {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in model.items()}}
    _check_parity(state, path, meta)
    return state


def _weights_from_graph(graph, weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    nodes = list(graph.node)
    gather = next(n for n in nodes if n.op_type == "Gather" and n.input[0] in weights)
    lstms = [n for n in nodes if n.op_type == "LSTM"]
    matmul = next(n for n in nodes if n.op_type == "MatMul" and n.input[1] in weights)
    add = next(n for n in nodes if n.op_type == "Add" and matmul.output[0] in n.input)
    if not lstms:
        raise ValueError("no LSTM op")
    model = {"embed.weight": weights[gather.input[0]]}
    for layer, node in enumerate(lstms):
        w, r, b = (weights[name][0] for name in node.input[1:4])  # [1, 4H, ...]: one direction
        hidden = r.shape[1]
        model[f"lstm.weight_ih_l{layer}"] = _torch_gates(w, hidden)
        model[f"lstm.weight_hh_l{layer}"] = _torch_gates(r, hidden)
        model[f"lstm.bias_ih_l{layer}"] = _torch_gates(b[: 4 * hidden], hidden)
        model[f"lstm.bias_hh_l{layer}"] = _torch_gates(b[4 * hidden :], hidden)
    model["out.weight"] = weights[matmul.input[1]].T
    model["out.bias"] = weights[next(i for i in add.input if i in weights)]
    return model


def _torch_gates(array: np.ndarray, hidden: int) -> np.ndarray:
    blocks = [array[g * hidden : (g + 1) * hidden] for g in range(4)]
    return np.concatenate([blocks[g] for g in ONNX_TO_TORCH_GATES])


def _check_parity(state: dict, path: Path, meta: dict) -> None:
    import json

    import torch

    from live.model import load_model

    from export.evaluation.batch_logits import stream_logits
    from export.training.networks import build_model

    model = build_model(state["config"])
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as err:
        raise CheckpointError(f"{path}: its weights do not fit a stream network "
                              f"({str(err).splitlines()[0][:120]})") from None
    model.eval()
    primers = json.loads(meta.get("encore.primers", "[]"))
    events = np.array([e for p in primers for e in p][:256] or list(range(0, vocab.VOCAB_SIZE, 3)), np.int64)
    shipped = load_model(path, threads=1)
    expected = stream_logits(shipped, events[None, :])[0]
    with torch.no_grad():
        got = model(torch.from_numpy(events[None, :]), *model.zero_state(1))[0][0].numpy()
    difference = float(np.abs(got - expected).max())
    if not difference <= TOLERANCE:
        raise CheckpointError(f"{path}: weights read back from the file disagree with it by {difference:.2e}; "
                              "fine-tune from its run folder instead")
