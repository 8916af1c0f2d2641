"""encore model: the ONNX model contract and its onnxruntime adapter.

    from live.model import load_model
    model = load_model("default")          # a file, or a shipped model by name
    state = model.feed(model.initial_state(), events)
    state = model.step(state, event)       # state.logits: the next event's scores

contract: what a file must be (one checker for play, info, evaluate, quantize, export);
runtime:  State and the stream/window models; shipped: the models in models/.
"""

from live.model.contract import KINDS, TIMES, ModelError, ModelInfo, import_onnxruntime
from live.model.runtime import Model, State, StreamModel, WindowModel, load_model
from live.model.shipped import (
    BASS_MODEL,
    DEFAULT_MODEL,
    FULL_PRECISION_DEFAULT,
    default_model_path,
    describe_model_file,
    model_path,
)

__all__ = [
    "BASS_MODEL", "DEFAULT_MODEL", "FULL_PRECISION_DEFAULT", "KINDS", "TIMES", "Model", "ModelError", "ModelInfo",
    "State", "StreamModel", "WindowModel", "default_model_path", "describe_model_file",
    "import_onnxruntime", "load_model", "model_path",
]
