"""The model adapter: one onnxruntime session behind `step(state, event) -> state`.

Two kinds meet the ONNX contract (live.model.contract checks a file on load):
  - `stream`: an LSTM that carries (h, c); one step per event, state in and out;
  - `window`: the original study's design, the next event from the last W events.

A State is immutable (numpy arrays are never written in place, windows are tuples),
so the engine can keep one per event and roll back to any of them for nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from live.core import vocab
from live.model.contract import SILENCE_PAD, ModelError, ModelInfo, check_first_step, open_checked
from live.model.shipped import default_model_path, model_path

# One [[event]] array per event, built once: a step feeds one of these, not a new array.
_ONE_EVENT = tuple(np.full((1, 1), event, dtype=np.int64) for event in range(vocab.VOCAB_SIZE))
for _array in _ONE_EVENT:
    _array.setflags(write=False)


@dataclass(frozen=True)
class State:
    """The model's memory after some events, and its logits for the next event."""

    logits: np.ndarray  # float32 [388]
    h: np.ndarray | None = None  # stream: [L, 1, H]
    c: np.ndarray | None = None
    window: tuple[int, ...] = ()  # window: the last W events


def _direct_run(session):
    """session.run without its per-call Python checks (input names, OrtValue ownership,
    graph capture): our feeds are the same names every step and the model is checked on
    load, and at a tenth of a millisecond a step the checks cost 5-8 %. The public run
    where an onnxruntime has no inner session to call."""
    inner = getattr(session, "_sess", None)
    if inner is None or not callable(getattr(inner, "run", None)):
        return session.run
    return lambda names, feed: inner.run(names, feed, None)


def _aligned_zeros(shape, dtype, align: int = 64) -> np.ndarray:
    """Zeros on a cache-line boundary: onnxruntime's kernels read and write these buffers
    in place every step, and where numpy happened to put them moved a step's time."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.zeros(size + align, dtype=np.uint8)
    start = -raw.ctypes.data % align
    return raw[start:start + size].view(dtype).reshape(shape)


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
        self._event = _aligned_zeros((1, 1), np.int64)
        self._logits = _aligned_zeros((1, 1, vocab.VOCAB_SIZE), np.float32)
        shape = (layers, 1, hidden)
        self._memory = [(_aligned_zeros(shape, np.float32), _aligned_zeros(shape, np.float32)) for _ in range(2)]
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

    @property
    def kind(self) -> str:
        return self.info.kind

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
        state = self.initial_state()  # runs one step: shapes must agree end to end
        check_first_step(self.info, state.logits, {"h_out": state.h, "c_out": state.c})
        self._bound = _BoundStep(self.session, self.info.layers, self.info.hidden)

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



class WindowModel(Model):
    def check(self) -> None:
        check_first_step(self.info, self.initial_state().logits)

    def initial_state(self) -> State:
        # The study primed with W corpus events; with none, a window of silence.
        return self._predict((self.info.pad_event,) * self.info.window)

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


def load_model(path: str | Path | None = None, threads: int | None = 1) -> Model:
    """Open and check a model file (or a shipped model by name); the default model when
    no path is given. threads=None lets onnxruntime choose (batch scoring)."""
    if path is None:
        path = default_model_path()
        if not path.is_file():
            raise ModelError(
                path,
                "no default model is installed; give --model FILE.onnx "
                "(train one with `encore train`, then `encore export`)",
            )
    session, info = open_checked(model_path(path), threads)
    model = StreamModel(session, info) if info.kind == "stream" else WindowModel(session, info)
    model.check()
    return model
