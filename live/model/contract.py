"""The model file's contract: what encore reads from an ONNX file, and what it refuses.

One checker for everything that opens a model (play, render, the TUI, info, evaluate,
quantize, export's own check), so a file is judged the same way everywhere. The rules
are those of the architecture notes ("The model file"):

  - kind `stream` (default): inputs events int64 [B, T], h, c float32 [L, B, H];
    outputs logits float32 [B, T, 388], h_out, c_out;
  - kind `window`: input events int64 [B, W]; output logits float32 [B, 388];
  - metadata: encore.kind, encore.vocab, encore.time ('seconds' when absent, or
    'beats' with encore.steps_per_beat), encore.window, encore.layers, encore.hidden,
    encore.corpus, encore.val_nll, encore.primers, encore.pad_event.

Each refusal is one ModelError naming the file and what is wrong with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from live.core import vocab
from live.core.errors import EncoreError

KINDS = ("stream", "window")
TIMES = ("seconds", "beats")
SILENCE_PAD = vocab.time_shift(vocab.MAX_SHIFT_STEPS)  # 1 s of silence: what pads a window

# Each kind's inputs and outputs: (name, ONNX type, rank). The table drives the check.
INT64, FLOAT = "tensor(int64)", "tensor(float)"
SPECS = {
    "stream": {
        "input": [("events", INT64, 2), ("h", FLOAT, 3), ("c", FLOAT, 3)],
        "output": [("logits", FLOAT, 3), ("h_out", FLOAT, 3), ("c_out", FLOAT, 3)],
    },
    "window": {
        "input": [("events", INT64, 2)],
        "output": [("logits", FLOAT, 2)],
    },
}


class ModelError(EncoreError):
    """A model file that cannot be used: names the file and what is wrong."""

    def __init__(self, path, cause: str):
        self.path = Path(path)
        super().__init__(f"{self.path}: {cause}")


@dataclass
class ModelInfo:
    path: Path
    kind: str
    window: int
    layers: int
    hidden: int
    corpus: str = ""
    val_nll: float | None = None
    primers: list[list[int]] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    time: str = "seconds"  # what a TIME_SHIFT step is: 10 ms, or 1/steps_per_beat of a beat
    steps_per_beat: int | None = None  # beat models only
    pad_event: int = SILENCE_PAD  # what a window model reads before a piece begins

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size

    @property
    def weights(self) -> str:
        return "int8" if self.metadata.get("encore.weights", "").startswith("int8") else "float32"


# ---------------------------------------------------------------- opening a file


def import_onnxruntime():
    """onnxruntime, imported with Ctrl-C held back until it is done (see live.signals)."""
    from live.signals import interrupts_held

    with interrupts_held():
        import onnxruntime
    return onnxruntime


def load_failure(err: Exception) -> str:
    """onnxruntime's refusal of a file, in words: its codes mean nothing to a musician."""
    text = str(err).strip()
    if "INVALID_PROTOBUF" in text or "Protobuf parsing failed" in text:
        return "not an ONNX model (the file could not be parsed); give a .onnx file made by encore export"
    first_line = text.splitlines()[0] if text else type(err).__name__
    return f"not a loadable ONNX model ({first_line[:200]})"


def open_session(path: Path, threads: int | None = 1):
    """An onnxruntime session on the CPU. threads=None lets onnxruntime choose (batch
    scoring); the instrument's one thread is the default."""
    ort = import_onnxruntime()

    options = ort.SessionOptions()
    # One thread: a batch-1 step is too small to share, and the other core belongs
    # to the MIDI sender and the UI.
    if threads:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # onnxruntime's warnings are for its developers, not players
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own untyped errors
        raise ModelError(path, load_failure(err)) from None


def open_checked(path: Path, threads: int | None = 1):
    """(session, info) of a file that meets the contract's static rules."""
    path = Path(path)
    if path.is_dir():
        raise ModelError(path, folder_not_a_model(path))
    if not path.is_file():
        # a FIFO or a device is refused, not opened (onnxruntime would wait on a FIFO for
        # good); a link loop said "no such file", which sent users looking for a typo
        if path.is_symlink() and not path.exists():
            raise ModelError(path, "a symbolic link that leads nowhere (or back to itself); give the model file")
        if path.exists():
            raise ModelError(path, "not a regular file (a FIFO, a device or a socket); give the model file")
        raise ModelError(path, "no such model file; check the path")
    session = open_session(path, threads)
    return session, read_info(path, session)


def folder_not_a_model(path: Path) -> str:
    """A folder given for a model: a training run (its checkpoints) is exported first."""
    if (path / "best.pt").is_file() or (path / "last.pt").is_file():
        return (f"is a training run folder, not a model; export it first: "
                f"encore export {path} -o model.onnx, then use model.onnx")
    return "is a folder, not a model file; give a .onnx file"


# ---------------------------------------------------------------- the checker


def read_info(path: Path, session) -> ModelInfo:
    """The file's metadata and inputs/outputs checked, and what they say about it."""
    meta = dict(session.get_modelmeta().custom_metadata_map)
    info = _read_metadata(path, meta)
    inputs = {node.name: node for node in session.get_inputs()}
    outputs = {node.name: node for node in session.get_outputs()}
    for what, table in (("input", inputs), ("output", outputs)):
        for name, type_, rank in SPECS[info.kind][what]:
            _require(info, table, name, type_, rank, what)
    if info.kind == "stream":
        # h's shape says the memory's size where it is fixed; the metadata where it is not
        shape = inputs["h"].shape
        info.layers = shape[0] if isinstance(shape[0], int) else info.layers
        info.hidden = shape[2] if isinstance(shape[2], int) else info.hidden
        if not info.layers or not info.hidden:
            raise ModelError(path, "h has no fixed [layers, batch, hidden] shape and the metadata "
                                   "encore.layers/encore.hidden do not say it")
    else:
        width = inputs["events"].shape[1]
        if isinstance(width, int):
            info.window = width
        if not info.window:
            raise ModelError(path, "events has no fixed window length and encore.window is not set")
    return info


def check_first_step(info: ModelInfo, logits: np.ndarray, memory: dict[str, np.ndarray] | None = None) -> None:
    """What one step from the initial state gave: shapes must agree end to end."""
    if logits.shape != (vocab.VOCAB_SIZE,):
        raise ModelError(info.path, f"logits have {logits.shape[-1]} classes; the vocabulary has "
                                    f"{vocab.VOCAB_SIZE}")
    expected = (info.layers, 1, info.hidden)
    for name, array in (memory or {}).items():
        if array.shape != expected:
            raise ModelError(info.path, f"{name} is {list(array.shape)} after a step from h and c of "
                                        f"{list(expected)}; the contract says the same shape out as in")


def _require(info: ModelInfo, table: dict, name: str, type_: str, rank: int, what: str) -> None:
    if name not in table:
        raise ModelError(info.path, f"a {info.kind} model needs {what} '{name}'; it has {sorted(table)}")
    node = table[name]
    if node.type != type_ or len(node.shape) != rank:
        raise ModelError(info.path, f"{what} '{name}' is {node.type} {node.shape}; the contract says "
                                    f"{type_} of rank {rank}")


def _read_metadata(path: Path, meta: dict[str, str]) -> ModelInfo:
    kind = meta.get("encore.kind")
    if kind not in KINDS:
        raise ModelError(path, f"metadata encore.kind is {kind!r}; an encore model says 'stream' or 'window'")
    found_vocab = meta.get("encore.vocab")
    if found_vocab != vocab.VOCAB_NAME:
        shown = repr(found_vocab) if found_vocab else "none"
        raise ModelError(path, f"vocabulary {shown} is not {vocab.VOCAB_NAME}; "
                               "export a model trained with encore's vocabulary")

    def integer(key: str, default: int | None = None, least: int = 0) -> int:
        text = meta.get(key)
        if text is None and default is not None:
            return default
        most = MOST.get(key)
        try:
            value = int(text) if str(text).isascii() and len(str(text)) < 30 else None
            if value is None or value < least or (most is not None and value > most):
                raise ValueError
            return value
        except (TypeError, ValueError):
            shown = repr(text) if len(str(text)) <= 40 else repr(str(text)[:37] + "...")
            expected = f" of {least} or more" if least else ""
            expected += f" up to {most:,}" if most is not None else ""
            raise ModelError(path, f"metadata {key} is {shown}, expected a whole number{expected}") from None

    time = meta.get("encore.time", "seconds")
    if time not in TIMES:
        raise ModelError(path, f"metadata encore.time is {time!r}; a model speaks 'seconds' (10 ms steps) "
                               "or 'beats' (with encore.steps_per_beat)")
    steps_per_beat = None
    if time == "beats":
        if "encore.steps_per_beat" not in meta:
            raise ModelError(path, "metadata encore.time is 'beats' but encore.steps_per_beat is missing; "
                                   "a beat model says how many steps make a beat (48)")
        steps_per_beat = integer("encore.steps_per_beat", least=1)
    pad_event = integer("encore.pad_event", SILENCE_PAD)
    if pad_event >= vocab.VOCAB_SIZE:
        raise ModelError(path, f"metadata encore.pad_event is {pad_event}, outside the vocabulary "
                               f"0..{vocab.VOCAB_SIZE - 1}")
    try:
        val_nll = float(meta["encore.val_nll"]) if meta.get("encore.val_nll") else None
    except ValueError:
        raise ModelError(path, f"metadata encore.val_nll is {meta['encore.val_nll']!r}") from None
    return ModelInfo(
        path=path,
        kind=kind,
        window=integer("encore.window", 0),
        layers=integer("encore.layers", 0),
        hidden=integer("encore.hidden", 0),
        corpus=meta.get("encore.corpus", ""),
        val_nll=val_nll,
        primers=_read_primers(path, meta.get("encore.primers")),
        metadata=meta,
        time=time,
        steps_per_beat=steps_per_beat,
        pad_event=pad_event,
    )


# What a model's metadata may ask for: beyond these a file asks for gigabytes, not music.
MAX_PRIMERS = 1000
MAX_PRIMER_EVENTS = 10_000
MOST = {"encore.window": 100_000, "encore.layers": 64, "encore.hidden": 16_384,
        "encore.steps_per_beat": 960}


def _read_primers(path: Path, text: str | None) -> list[list[int]]:
    if not text:
        return []
    wrong = "metadata encore.primers is not a JSON list of event-index lists"
    try:
        primers = json.loads(text)
    except RecursionError:
        raise ModelError(path, f"{wrong} (it is nested too deeply)") from None
    except ValueError:
        raise ModelError(path, wrong) from None
    if not isinstance(primers, list):
        raise ModelError(path, wrong)
    if len(primers) > MAX_PRIMERS:
        raise ModelError(path, f"metadata encore.primers holds {len(primers):,} primers; a model may hold "
                               f"{MAX_PRIMERS:,} at most")
    for primer in primers:
        if not isinstance(primer, list) or not all(
            type(e) is int and 0 <= e < vocab.VOCAB_SIZE for e in primer
        ):
            raise ModelError(path, wrong)
        if len(primer) > MAX_PRIMER_EVENTS:
            raise ModelError(path, f"metadata encore.primers has a primer of {len(primer):,} events; "
                                   f"{MAX_PRIMER_EVENTS:,} at most")
    return primers
