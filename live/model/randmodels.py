"""Random-weight ONNX models that meet the model contract: for tests and benchmarks.

They play nonsense, but through the same onnxruntime path, with the same shapes and
operators (ONNX LSTM) as trained models, so they test the engine and time it
honestly. Built with the `onnx` helper API (the `test` and `train` extras), no torch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from live.core import vocab

OPSET = 17


def _onnx():
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        from live.core.errors import EncoreError

        raise EncoreError(
            "building a random-weight model needs the onnx package: pip install onnx"
        ) from None
    return onnx, TensorProto, helper, numpy_helper


def _save(graph, path, kind: str, window: int, layers: int, hidden: int, primers, metadata) -> Path:
    """The model around `graph`, with the contract's metadata, written to `path`."""
    onnx, _, helper, _ = _onnx()
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    entries = {
        "encore.kind": kind,
        "encore.vocab": vocab.VOCAB_NAME,
        "encore.window": window,
        "encore.layers": layers,
        "encore.hidden": hidden,
        "encore.corpus": "none: random weights",
        "encore.primers": json.dumps(primers or []),
        **(metadata or {}),
    }
    for key, value in entries.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, str(value)
    path = Path(path)
    onnx.save(model, path)
    return path


def _lstm_weights(rng, directions: int, hidden: int, inputs: int, scale: float):
    w = rng.normal(0, scale, (directions, 4 * hidden, inputs)).astype(np.float32)
    r = rng.normal(0, scale, (directions, 4 * hidden, hidden)).astype(np.float32)
    b = rng.normal(0, scale, (directions, 8 * hidden)).astype(np.float32)
    return w, r, b


def build_stream_model(
    path: str | Path,
    layers: int = 2,
    hidden: int = 64,
    embedding: int = 32,
    seed: int = 0,
    primers: list[list[int]] | None = None,
    output_bias: np.ndarray | None = None,
    metadata: dict | None = None,
    sharpness: float = 2.0,
) -> Path:
    """An embedding -> `layers` x LSTM(hidden) -> linear(388) stream model.

    sharpness scales the output layer: higher makes the model's choices peakier and
    more dependent on its history, as a trained model's are."""
    onnx, TensorProto, helper, numpy_helper = _onnx()
    rng = np.random.default_rng(seed)
    scale = 1.0 / np.sqrt(hidden)
    inits = [
        numpy_helper.from_array(
            rng.normal(0, 1, (vocab.VOCAB_SIZE, embedding)).astype(np.float32), "embedding"
        ),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(
            rng.normal(0, sharpness * scale, (hidden, vocab.VOCAB_SIZE)).astype(np.float32),
            "out_w",
        ),
        numpy_helper.from_array(
            (np.zeros(vocab.VOCAB_SIZE) if output_bias is None else output_bias).astype(np.float32),
            "out_b",
        ),
    ]
    nodes = [
        helper.make_node("Gather", ["embedding", "events"], ["embedded"], axis=0),
        helper.make_node("Transpose", ["embedded"], ["x0"], perm=[1, 0, 2]),
    ]
    h_outs, c_outs = [], []
    x, width = "x0", embedding
    for layer in range(layers):
        w, r, b = _lstm_weights(rng, 1, hidden, width, scale * (1 + sharpness) / 3)
        inits += [
            numpy_helper.from_array(w, f"w{layer}"),
            numpy_helper.from_array(r, f"r{layer}"),
            numpy_helper.from_array(b, f"b{layer}"),
            numpy_helper.from_array(np.array([layer], np.int64), f"start{layer}"),
            numpy_helper.from_array(np.array([layer + 1], np.int64), f"end{layer}"),
            numpy_helper.from_array(np.array([0], np.int64), f"axis0_{layer}"),
        ]
        nodes += [
            helper.make_node("Slice", ["h", f"start{layer}", f"end{layer}", f"axis0_{layer}"], [f"h{layer}"]),
            helper.make_node("Slice", ["c", f"start{layer}", f"end{layer}", f"axis0_{layer}"], [f"c{layer}"]),
            helper.make_node(
                "LSTM",
                [x, f"w{layer}", f"r{layer}", f"b{layer}", "", f"h{layer}", f"c{layer}"],
                [f"y{layer}", f"yh{layer}", f"yc{layer}"],
                hidden_size=hidden,
            ),
            helper.make_node("Squeeze", [f"y{layer}", "axis1"], [f"x{layer + 1}"]),
        ]
        h_outs.append(f"yh{layer}")
        c_outs.append(f"yc{layer}")
        x, width = f"x{layer + 1}", hidden
    nodes += [
        helper.make_node("Transpose", [x], ["batch_first"], perm=[1, 0, 2]),
        helper.make_node("MatMul", ["batch_first", "out_w"], ["projected"]),
        helper.make_node("Add", ["projected", "out_b"], ["logits"]),
        helper.make_node("Concat", h_outs, ["h_out"], axis=0),
        helper.make_node("Concat", c_outs, ["c_out"], axis=0),
    ]
    graph = helper.make_graph(
        nodes,
        "encore_stream_random",
        [
            helper.make_tensor_value_info("events", TensorProto.INT64, ["batch", "time"]),
            helper.make_tensor_value_info("h", TensorProto.FLOAT, [layers, "batch", hidden]),
            helper.make_tensor_value_info("c", TensorProto.FLOAT, [layers, "batch", hidden]),
        ],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "time", vocab.VOCAB_SIZE]),
            helper.make_tensor_value_info("h_out", TensorProto.FLOAT, [layers, "batch", hidden]),
            helper.make_tensor_value_info("c_out", TensorProto.FLOAT, [layers, "batch", hidden]),
        ],
        inits,
    )
    return _save(graph, path, "stream", 256, layers, hidden, primers, metadata)


def build_window_model(
    path: str | Path,
    hidden: int = 512,
    window: int = 50,
    seed: int = 0,
    primers: list[list[int]] | None = None,
    metadata: dict | None = None,
) -> Path:
    """The study's design: one-hot(388) -> BiLSTM(hidden, sequences) -> BiLSTM(hidden)
    -> dense(388), over the last `window` events. Dropout is the identity at inference."""
    onnx, TensorProto, helper, numpy_helper = _onnx()
    rng = np.random.default_rng(seed)
    scale = 1.0 / np.sqrt(hidden)
    w1, r1, b1 = _lstm_weights(rng, 2, hidden, vocab.VOCAB_SIZE, scale)
    w2, r2, b2 = _lstm_weights(rng, 2, hidden, 2 * hidden, scale)
    inits = [
        numpy_helper.from_array(np.eye(vocab.VOCAB_SIZE, dtype=np.float32), "one_hot"),
        numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(r1, "r1"),
        numpy_helper.from_array(b1, "b1"), numpy_helper.from_array(w2, "w2"),
        numpy_helper.from_array(r2, "r2"), numpy_helper.from_array(b2, "b2"),
        numpy_helper.from_array(np.array([0, 0, 2 * hidden], np.int64), "seq_shape"),
        numpy_helper.from_array(np.array([0, 2 * hidden], np.int64), "flat_shape"),
        numpy_helper.from_array(
            rng.normal(0, scale, (2 * hidden, vocab.VOCAB_SIZE)).astype(np.float32), "out_w"
        ),
        numpy_helper.from_array(np.zeros(vocab.VOCAB_SIZE, np.float32), "out_b"),
    ]
    nodes = [
        helper.make_node("Gather", ["one_hot", "events"], ["hot"], axis=0),  # [B, W, 388]
        helper.make_node("Transpose", ["hot"], ["x"], perm=[1, 0, 2]),  # [W, B, 388]
        helper.make_node("LSTM", ["x", "w1", "r1", "b1"], ["y1"], hidden_size=hidden,
                         direction="bidirectional"),  # [W, 2, B, H]
        helper.make_node("Transpose", ["y1"], ["y1t"], perm=[0, 2, 1, 3]),  # [W, B, 2, H]
        helper.make_node("Reshape", ["y1t", "seq_shape"], ["x2"]),  # [W, B, 2H]
        helper.make_node("LSTM", ["x2", "w2", "r2", "b2"], ["", "h2"], hidden_size=hidden,
                         direction="bidirectional"),  # h2: [2, B, H]
        helper.make_node("Transpose", ["h2"], ["h2t"], perm=[1, 0, 2]),  # [B, 2, H]
        helper.make_node("Reshape", ["h2t", "flat_shape"], ["features"]),  # [B, 2H]
        helper.make_node("MatMul", ["features", "out_w"], ["projected"]),
        helper.make_node("Add", ["projected", "out_b"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "encore_window_random",
        [helper.make_tensor_value_info("events", TensorProto.INT64, ["batch", window])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", vocab.VOCAB_SIZE])],
        inits,
    )
    return _save(graph, path, "window", window, 2, hidden, primers, metadata)
