"""The model adapter: one onnxruntime session behind `step(state, event) -> state`.

Two kinds meet the ONNX contract (see the architecture notes):
  - `stream`: an LSTM that carries (h, c); one step per event, state in and out;
  - `window`: the original study's design, the next event from the last W events.

A State is immutable (numpy arrays are never written in place, windows are tuples),
so the engine can keep one per event and roll back to any of them for nothing.
The file is checked on load, and what is wrong is said precisely.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from live.core import vocab
from live.core.errors import EncoreError

SILENCE_PAD = vocab.time_shift(vocab.MAX_SHIFT_STEPS)  # left padding for window models

# One [[event]] array per event, built once: a step feeds one of these, not a new array.
_ONE_EVENT = tuple(np.full((1, 1), event, dtype=np.int64) for event in range(vocab.VOCAB_SIZE))
for _array in _ONE_EVENT:
    _array.setflags(write=False)


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

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size


@dataclass(frozen=True)
class State:
    """The model's memory after some events, and its logits for the next event."""

    logits: np.ndarray  # float32 [388]
    h: np.ndarray | None = None  # stream: [L, 1, H]
    c: np.ndarray | None = None
    window: tuple[int, ...] = ()  # window: the last W events


DEFAULT_MODEL = "default.onnx"  # what plays: int8 weights, the faster step
FULL_PRECISION_DEFAULT = "default-fp32.onnx"  # the same model as trained: to fine-tune from


def default_model_path(name: str = DEFAULT_MODEL) -> Path:
    """A model shipped in models/, found inside the installed package (or this checkout)."""
    from importlib import resources

    try:
        shipped = resources.files("live.models") / name
        if shipped.is_file():
            return Path(str(shipped))
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "models" / name


def model_path(name: str | Path) -> Path:
    """What a --model value names: a file, or else a model shipped in models/ by its name
    ('default', 'default-fp32' or 'default-fp32.onnx'), so no one needs the install path."""
    path = Path(name)
    if path.is_file() or path.parent != Path("."):
        return path
    shipped = default_model_path(path.name if path.suffix == ".onnx" else f"{path.name}.onnx")
    return shipped if shipped.is_file() else path


def load_failure(err: Exception) -> str:
    """onnxruntime's refusal of a file, in words: its codes mean nothing to a musician."""
    text = str(err).strip()
    if "INVALID_PROTOBUF" in text or "Protobuf parsing failed" in text:
        return "not an ONNX model (the file could not be parsed); give a .onnx file made by encore export"
    first_line = text.splitlines()[0] if text else type(err).__name__
    return f"not a loadable ONNX model ({first_line[:200]})"


def load_model(path: str | Path | None = None, threads: int = 1) -> "Model":
    """Open and check a model file (or a shipped model by name); the default model when
    no path is given."""
    if path is not None:
        path = model_path(path)
    if path is None:
        path = default_model_path()
        if not path.is_file():
            raise ModelError(
                path,
                "no default model is installed; give --model FILE.onnx "
                "(train one with `encore train`, then `encore export`)",
            )
    path = Path(path)
    if not path.is_file():
        raise ModelError(path, "no such model file; check the path")
    session = _open_session(path, threads)
    info = _read_info(path, session)
    model = StreamModel(session, info) if info.kind == "stream" else WindowModel(session, info)
    model.check()
    return model


def describe_model_file(path: str | Path) -> str:
    """One line for a model picker: what the file is, without running it.

    'stream 2x256, int8 weights, 1.3 MB (plays by default)'; a file that cannot be
    used says why instead."""
    path = Path(path)
    try:
        info = _read_info(path, _open_session(path, threads=1))
    except ModelError as err:
        return f"not usable: {str(err).removeprefix(f'{path}: ')}"
    shape = f"{info.layers}x{info.hidden}" if info.layers and info.hidden else "?"
    if info.kind == "window":
        shape += f" over {info.window} events"
    weights = "int8" if info.metadata.get("encore.weights", "").startswith("int8") else "float32"
    line = f"{info.kind} {shape}, {weights} weights, {info.size_bytes / 1e6:.1f} MB"
    if path.resolve() == default_model_path().resolve():
        line += " (plays by default)"
    return line


def import_onnxruntime():
    """onnxruntime, imported with Ctrl-C held back until it is done (see live.engine.signals)."""
    from live.engine.signals import interrupts_held

    with interrupts_held():
        import onnxruntime
    return onnxruntime


def _open_session(path: Path, threads: int):
    ort = import_onnxruntime()

    options = ort.SessionOptions()
    # One thread: a batch-1 step is too small to share, and the other core belongs
    # to the MIDI sender and the UI.
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own untyped errors
        raise ModelError(path, load_failure(err)) from None


def _read_info(path: Path, session) -> ModelInfo:
    meta = dict(session.get_modelmeta().custom_metadata_map)
    kind = meta.get("encore.kind")
    if kind not in ("stream", "window"):
        raise ModelError(
            path, f"metadata encore.kind is {kind!r}; an encore model says 'stream' or 'window'"
        )
    model_vocab = meta.get("encore.vocab")
    if model_vocab != vocab.VOCAB_NAME:
        raise ModelError(
            path,
            f"speaks vocabulary {model_vocab!r}, not {vocab.VOCAB_NAME}; "
            "export it with this version of encore",
        )

    def integer(key: str, default: int | None = None) -> int:
        text = meta.get(key)
        if text is None and default is not None:
            return default
        try:
            value = int(text)
            if value < 0:
                raise ValueError
            return value
        except (TypeError, ValueError):
            raise ModelError(path, f"metadata {key} is {text!r}, expected a whole number") from None

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
    )


def _read_primers(path: Path, text: str | None) -> list[list[int]]:
    if not text:
        return []
    try:
        primers = json.loads(text)
        if not isinstance(primers, list):
            raise ValueError
        for primer in primers:
            if not isinstance(primer, list) or not all(
                isinstance(e, int) and 0 <= e < vocab.VOCAB_SIZE for e in primer
            ):
                raise ValueError
    except ValueError:
        raise ModelError(
            path, "metadata encore.primers is not a JSON list of event-index lists"
        ) from None
    return primers


def _direct_run(session):
    """session.run without its per-call Python checks (input names, OrtValue ownership,
    graph capture): our feeds are the same names every step and the model is checked on
    load, and at a tenth of a millisecond a step the checks cost 5-8 %. The public run
    where an onnxruntime has no inner session to call."""
    inner = getattr(session, "_sess", None)
    if inner is None or not callable(getattr(inner, "run", None)):
        return session.run
    return lambda names, feed: inner.run(names, feed, None)


class _BoundStep:
    """A stream model's one-event step through buffers bound to the session once
    (onnxruntime's IOBinding): no feed dict, no output arrays made per call. A step took
    13 % less time with the copies below, measured on the default model (interleaved).

    Two binding sets ping-pong: set k reads memory from buffers k and writes it to
    buffers 1-k, which set 1-k reads next. So stepping on from the state the last step
    returned copies nothing in; any other state (a rollback, a restore) is copied into
    the input buffers first. What a step returns is copied out, since a State is
    immutable and the buffers are written again two steps later. A lock keeps two
    threads from sharing the buffers."""

    def __init__(self, session, layers: int, hidden: int):
        self._event = np.zeros((1, 1), dtype=np.int64)
        self._logits = np.zeros((1, 1, vocab.VOCAB_SIZE), dtype=np.float32)
        shape = (layers, 1, hidden)
        self._memory = [(np.zeros(shape, np.float32), np.zeros(shape, np.float32)) for _ in range(2)]
        self._runs = [self._bind(session, k) for k in range(2)]
        self._next = 0  # the set whose input buffers hold the last returned state's memory
        self._last: State | None = None
        self._lock = threading.Lock()

    def _bind(self, session, k: int):
        binding = session.io_binding()
        (h_in, c_in), (h_out, c_out) = self._memory[k], self._memory[1 - k]
        for name, array in [("events", self._event), ("h", h_in), ("c", c_in)]:
            binding.bind_input(name, "cpu", 0, array.dtype, list(array.shape), array.ctypes.data)
        for name, array in [("logits", self._logits), ("h_out", h_out), ("c_out", c_out)]:
            binding.bind_output(name, "cpu", 0, array.dtype, list(array.shape), array.ctypes.data)
        # As in _direct_run: the inner call, without the public one's per-call checks.
        inner, raw = getattr(session, "_sess", None), getattr(binding, "_iobinding", None)
        if raw is not None and callable(getattr(inner, "run_with_iobinding", None)):
            return lambda: inner.run_with_iobinding(raw, None)
        return lambda: session.run_with_iobinding(binding)

    def step(self, state: State, event: int) -> State:
        with self._lock:
            k = self._next
            in_place = state is self._last
            # Until this step succeeds no state is known to be in the buffers: one cut
            # short (an error, a Ctrl-C) must not leave the next step trusting them.
            self._last = None
            if not in_place:
                h_in, c_in = self._memory[k]
                if state.h.shape != h_in.shape or state.c.shape != c_in.shape:
                    # copyto would broadcast a wrong shape where onnxruntime refuses it
                    raise ValueError(
                        f"a state of h {list(state.h.shape)}, c {list(state.c.shape)} for a "
                        f"model of {list(h_in.shape)}"
                    )
                np.copyto(h_in, state.h)
                np.copyto(c_in, state.c)
            self._event[0, 0] = event
            self._runs[k]()
            h_out, c_out = self._memory[1 - k]
            stepped = State(self._logits[0, 0].copy(), h_out.copy(), c_out.copy())
            self._next, self._last = 1 - k, stepped
            return stepped


class Model:
    """What every kind offers the engine."""

    def __init__(self, session, info: ModelInfo):
        self.session = session
        self._session_run = _direct_run(session)
        self.info = info
        self.inputs = {i.name: i for i in session.get_inputs()}
        self.outputs = {o.name: o for o in session.get_outputs()}

    @property
    def kind(self) -> str:
        return self.info.kind

    def _require(self, table: dict, name: str, type_: str, rank: int, what: str) -> None:
        if name not in table:
            raise ModelError(
                self.info.path,
                f"a {self.kind} model needs {what} '{name}'; it has {sorted(table)}",
            )
        node = table[name]
        if node.type != type_ or len(node.shape) != rank:
            raise ModelError(
                self.info.path,
                f"{what} '{name}' is {node.type} {node.shape}; the contract says "
                f"{type_} of rank {rank}",
            )

    def check(self) -> None:
        raise NotImplementedError

    def initial_state(self) -> State:
        raise NotImplementedError

    def step(self, state: State, event: int) -> State:
        raise NotImplementedError

    def feed(self, state: State, events: list[int]) -> State:
        for event in events:
            state = self.step(state, event)
        return state


class StreamModel(Model):
    _bound: _BoundStep | None = None

    def check(self) -> None:
        for name, type_, rank in [
            ("events", "tensor(int64)", 2), ("h", "tensor(float)", 3), ("c", "tensor(float)", 3)
        ]:
            self._require(self.inputs, name, type_, rank, "input")
        for name, rank in [("logits", 3), ("h_out", 3), ("c_out", 3)]:
            self._require(self.outputs, name, "tensor(float)", rank, "output")
        layers, hidden = self._state_shape()
        self.info.layers, self.info.hidden = layers, hidden
        state = self.initial_state()  # runs one step: shapes must agree end to end
        if state.logits.shape != (vocab.VOCAB_SIZE,):
            raise ModelError(
                self.info.path,
                f"logits have {state.logits.shape[-1]} classes; the vocabulary has "
                f"{vocab.VOCAB_SIZE}",
            )
        for name, memory in [("h_out", state.h), ("c_out", state.c)]:
            if memory.shape != (layers, 1, hidden):
                raise ModelError(
                    self.info.path,
                    f"{name} is {list(memory.shape)} after a step from h and c of "
                    f"{[layers, 1, hidden]}; the contract says the same shape out as in",
                )
        self._bound = _BoundStep(self.session, layers, hidden)

    def _state_shape(self) -> tuple[int, int]:
        shape = self.inputs["h"].shape
        layers = shape[0] if isinstance(shape[0], int) else self.info.layers
        hidden = shape[2] if isinstance(shape[2], int) else self.info.hidden
        if not layers or not hidden:
            raise ModelError(
                self.info.path,
                "h has no fixed [layers, batch, hidden] shape and the metadata "
                "encore.layers/encore.hidden do not say it",
            )
        return layers, hidden

    def initial_state(self) -> State:
        zeros = np.zeros((self.info.layers, 1, self.info.hidden), dtype=np.float32)
        # Before any event the model has no prediction; one silent step gives it one.
        return self.feed(State(np.zeros(vocab.VOCAB_SIZE, np.float32), zeros, zeros), [SILENCE_PAD])

    _OUTPUTS = ["logits", "h_out", "c_out"]

    def _run(self, state: State, events) -> tuple[np.ndarray, State]:
        """events: a list of event indices, or an int64 array [1, T]."""
        if not isinstance(events, np.ndarray):
            events = np.asarray([events], dtype=np.int64)
        feed = {"events": events, "h": state.h, "c": state.c}
        try:
            logits, h, c = self._session_run(self._OUTPUTS, feed)
        except Exception as err:
            raise ModelError(self.info.path, f"failed to run ({str(err).splitlines()[0][:200]})") from None
        return logits[0], State(logits[0, -1], h, c)

    def step(self, state: State, event: int) -> State:
        if not 0 <= event < vocab.VOCAB_SIZE:
            raise ModelError(self.info.path, f"event {event} is outside the vocabulary 0..{vocab.VOCAB_SIZE - 1}")
        if self._bound is None:  # check() runs the first steps, before the buffers exist
            return self._run(state, _ONE_EVENT[event])[1]
        try:
            return self._bound.step(state, event)
        except Exception as err:
            raise ModelError(self.info.path, f"failed to run ({str(err).splitlines()[0][:200]})") from None

    def feed(self, state: State, events: list[int]) -> State:
        """Many events in one call: priming costs one run, not one per event."""
        if not events:
            return state
        return self._run(state, list(events))[1]

    def sequence_logits(self, state: State, events: list[int]) -> np.ndarray:
        """Logits after each event [T, 388] (for evaluation and tests)."""
        return self._run(state, list(events))[0]


class WindowModel(Model):
    def check(self) -> None:
        self._require(self.inputs, "events", "tensor(int64)", 2, "input")
        self._require(self.outputs, "logits", "tensor(float)", 2, "output")
        width = self.inputs["events"].shape[1]
        if isinstance(width, int):
            self.info.window = width
        if not self.info.window:
            raise ModelError(
                self.info.path, "events has no fixed window length and encore.window is not set"
            )
        state = self.initial_state()
        if state.logits.shape != (vocab.VOCAB_SIZE,):
            raise ModelError(
                self.info.path,
                f"logits have {state.logits.shape[-1]} classes; the vocabulary has "
                f"{vocab.VOCAB_SIZE}",
            )

    def initial_state(self) -> State:
        # The study primed with W corpus events; with none, a window of silence.
        return self._predict((SILENCE_PAD,) * self.info.window)

    def _predict(self, window: tuple[int, ...]) -> State:
        feed = {"events": np.asarray([window], dtype=np.int64)}
        try:
            (logits,) = self._session_run(["logits"], feed)
        except Exception as err:
            raise ModelError(self.info.path, f"failed to run ({str(err).splitlines()[0][:200]})") from None
        return State(logits[0], window=window)

    def step(self, state: State, event: int) -> State:
        return self._predict(state.window[1:] + (event,))

    def feed(self, state: State, events: list[int]) -> State:
        if not events:
            return state
        window = (state.window + tuple(events))[-self.info.window :]
        return self._predict(window)
