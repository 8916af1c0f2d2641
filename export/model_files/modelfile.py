"""Reading a shipped model file with onnxruntime alone (no torch): its metadata, its
contract, and batch predictions for scoring. evaluate, info and export's own check
all read the file through here, so they judge exactly what the instrument will play."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from live.core import vocab

from export.errors import ModelFileError
from export.evaluation.scoring import Scores, cap_events, score_stream, score_windows

KINDS = ("stream", "window")


@dataclass
class ModelFile:
    path: Path
    session: object  # onnxruntime.InferenceSession
    meta: dict[str, str]

    @property
    def kind(self) -> str:
        return self.meta["encore.kind"]

    @property
    def window(self) -> int:
        return int(self.meta.get("encore.window", "50"))

    @property
    def primers(self) -> list[list[int]]:
        try:
            return json.loads(self.meta.get("encore.primers", "[]"))
        except json.JSONDecodeError:
            return []

    def stream_logits(self, events: np.ndarray) -> np.ndarray:
        """[B, T] events from a zero state -> [B, T, 388] logits."""
        return self.stream_step(events, *self.zero_state(len(events)))[0]

    def zero_state(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        shape = (int(self.meta["encore.layers"]), batch, int(self.meta["encore.hidden"]))
        return np.zeros(shape, np.float32), np.zeros(shape, np.float32)

    def stream_step(self, events: np.ndarray, h: np.ndarray, c: np.ndarray):
        return self.session.run(None, {"events": events.astype(np.int64), "h": h, "c": c})

    def window_logits(self, contexts: np.ndarray) -> np.ndarray:
        """[B, W] events -> [B, 388] logits for the event after each window."""
        return self.session.run(None, {"events": contexts.astype(np.int64)})[0]

    def score(self, pieces: list[np.ndarray], max_events: int | None = None) -> Scores:
        pieces = cap_events(pieces, max_events)
        if self.kind == "stream":
            return score_stream(pieces, self.stream_logits)
        return score_windows(pieces, self.window, self.window_logits)


def open_model(path: str | Path, threads: int | None = None) -> ModelFile:
    """Load and check a model file; anything wrong is one ModelFileError naming it."""
    from live.model.runtime import import_onnxruntime, load_failure, model_path

    onnxruntime = import_onnxruntime()

    path = model_path(path)
    if not path.is_file():
        raise ModelFileError(path, "no such model file; check the path (export one with: encore export RUN_DIR -o model.onnx)")
    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3  # ORT's warnings are for its developers, not players
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # ORT raises its own exception types for bad files
        raise ModelFileError(path, load_failure(err)) from None
    meta = dict(session.get_modelmeta().custom_metadata_map)
    check_contract(path, session, meta)
    return ModelFile(path, session, meta)


def write_metadata(path: Path, meta: dict[str, str]) -> None:
    """Replace a model file's metadata_props with `meta` (needs the onnx package)."""
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))


def check_contract(path: Path, session, meta: dict[str, str]) -> None:
    found_vocab = meta.get("encore.vocab")
    if found_vocab != vocab.VOCAB_NAME:
        shown = repr(found_vocab) if found_vocab else "none"
        raise ModelFileError(path, f"vocabulary {shown} is not {vocab.VOCAB_NAME}; "
                                   "export a model trained with encore's vocabulary")
    kind = meta.get("encore.kind")
    if kind not in KINDS:
        raise ModelFileError(path, f"encore.kind {kind!r} is not one of {', '.join(KINDS)}")
    inputs = {i.name for i in session.get_inputs()}
    needed = {"events", "h", "c"} if kind == "stream" else {"events"}
    if not needed <= inputs:
        raise ModelFileError(path, f"a {kind} model needs inputs {sorted(needed)}, this one has {sorted(inputs)}")
    if kind == "stream" and not {"encore.layers", "encore.hidden"} <= meta.keys():
        raise ModelFileError(path, "a stream model needs encore.layers and encore.hidden metadata")
