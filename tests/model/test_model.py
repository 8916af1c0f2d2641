from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from live.core import vocab
from live.model import ModelError, State, load_model
from live.model.randmodels import build_stream_model
from conftest import PRIMERS


def test_stream_model_loads_with_its_metadata_and_primers(stream_model_path):
    model = load_model(stream_model_path)
    assert model.kind == "stream"
    assert (model.info.layers, model.info.hidden) == (2, 32)
    assert model.info.primers == PRIMERS
    assert model.initial_state().logits.shape == (388,)


def test_stream_state_is_carried_and_feeding_many_equals_stepping_one_by_one(stream_model_path):
    model = load_model(stream_model_path)
    start = model.initial_state()
    events = PRIMERS[0]
    fed = model.feed(start, events)
    stepped = start
    for event in events:
        stepped = model.step(stepped, event)
    np.testing.assert_allclose(fed.logits, stepped.logits, atol=1e-5)
    np.testing.assert_allclose(fed.h, stepped.h, atol=1e-5)
    # the state matters: another history gives other logits
    other = model.feed(start, PRIMERS[1])
    assert np.abs(other.logits - fed.logits).max() > 1e-3


def test_states_are_snapshots_restoring_one_replays_exactly(stream_model_path):
    model = load_model(stream_model_path)
    saved = model.feed(model.initial_state(), PRIMERS[0])
    a = model.step(model.step(saved, 60), 300)
    b = model.step(model.step(saved, 60), 300)  # from the same saved state again
    np.testing.assert_array_equal(a.logits, b.logits)
    assert saved.h is not a.h


def test_a_step_gives_exactly_what_the_public_onnxruntime_call_gives(stream_model_path):
    # step() skips session.run's per-call Python checks; the numbers must not change
    model = load_model(stream_model_path)
    state = model.feed(model.initial_state(), PRIMERS[0])
    stepped = model.step(state, 300)
    logits, h, c = model.session.run(
        None, {"events": np.array([[300]], dtype=np.int64), "h": state.h, "c": state.c})
    np.testing.assert_array_equal(stepped.logits, logits[0, -1])
    np.testing.assert_array_equal(stepped.h, h)
    np.testing.assert_array_equal(stepped.c, c)


def public_step(model, state, event):
    logits, h, c = model.session.run(
        None, {"events": np.array([[event]], dtype=np.int64), "h": state.h, "c": state.c})
    return logits[0, -1], h, c


def assert_state_is(state, expected):
    for got, want in zip((state.logits, state.h, state.c), expected):
        np.testing.assert_array_equal(got, want)


def test_steps_on_rolled_back_and_interleaved_states_give_what_onnxruntime_gives(stream_model_path):
    # step() runs through buffers bound once and reused: stepping on from the last state,
    # going back to an older one, or alternating two histories must not mix them up
    model = load_model(stream_model_path)
    start = model.feed(model.initial_state(), PRIMERS[0])
    other = model.feed(model.initial_state(), PRIMERS[1])
    states, expected = [start], [tuple(np.copy(a) for a in (start.logits, start.h, start.c))]
    for i, event in enumerate([60, 300, 260, 61, 380, 188, 300, 62]):
        before = states[-1] if i % 3 else states[max(0, len(states) - 3)]  # now and then back
        if i % 4 == 3:
            other = model.step(other, event)  # another history in between
        stepped = model.step(before, event)
        assert_state_is(stepped, public_step(model, before, event))
        states.append(stepped)
        expected.append(tuple(np.copy(a) for a in (stepped.logits, stepped.h, stepped.c)))
    # what a step returned is never written afterwards
    for state, values in zip(states, expected):
        assert_state_is(state, values)


def test_a_step_cut_short_leaves_nothing_stale(stream_model_path, monkeypatch):
    model = load_model(stream_model_path)
    last = model.step(model.feed(model.initial_state(), PRIMERS[0]), 60)
    older = model.feed(model.initial_state(), PRIMERS[1])
    runs = model._bound._runs

    def interrupted():
        raise KeyboardInterrupt  # Ctrl-C during the run, after the older state was copied in

    monkeypatch.setattr(model._bound, "_runs", [interrupted, interrupted])
    with pytest.raises(KeyboardInterrupt):
        model.step(older, 300)
    monkeypatch.setattr(model._bound, "_runs", runs)
    assert_state_is(model.step(last, 61), public_step(model, last, 61))


def test_a_state_of_another_shape_is_refused_not_broadcast(stream_model_path):
    model = load_model(stream_model_path)
    state = model.initial_state()
    one_layer = State(state.logits, state.h[:1], state.c[:1])
    with pytest.raises(ModelError, match=r"failed to run \(a state of h \[1, 1, 32\]"):
        model.step(one_layer, 60)
    assert_state_is(model.step(state, 60), public_step(model, state, 60))


@pytest.mark.parametrize("event", [-1, vocab.VOCAB_SIZE])
def test_a_step_outside_the_vocabulary_is_named(stream_model_path, event):
    model = load_model(stream_model_path)
    with pytest.raises(ModelError, match=f"event {event} is outside the vocabulary"):
        model.step(model.initial_state(), event)


def test_window_model_keeps_the_last_w_events(window_model_path):
    model = load_model(window_model_path)
    assert model.kind == "window" and model.info.window == 12
    state = model.feed(model.initial_state(), PRIMERS[0])
    assert state.window == tuple(PRIMERS[0][-12:])
    state = model.step(state, 61)
    assert state.window[-1] == 61 and len(state.window) == 12
    short = model.feed(model.initial_state(), [60, 300])
    assert short.window[-2:] == (60, 300) and len(short.window) == 12


def _save_with(tmp_path, name, **metadata):
    path = build_stream_model(tmp_path / name, layers=1, hidden=8, embedding=4)
    model = onnx.load(path)
    for prop in model.metadata_props:
        if prop.key in metadata:
            prop.value = metadata[prop.key]
    onnx.save(model, path)
    return path


@pytest.mark.parametrize(
    "metadata, fragment",
    [
        ({"encore.kind": "transformer"}, "encore.kind is 'transformer'"),
        ({"encore.vocab": "midi-like-v2"}, "vocabulary 'midi-like-v2'"),
        ({"encore.primers": "[[1, 2, 999]]"}, "encore.primers"),
        ({"encore.layers": "two"}, "encore.layers"),
    ],
)
def test_bad_metadata_is_named(tmp_path, metadata, fragment):
    path = _save_with(tmp_path, "bad.onnx", **metadata)
    with pytest.raises(ModelError) as caught:
        load_model(path)
    assert fragment in str(caught.value) and str(path) in str(caught.value)


def test_wrong_inputs_and_output_sizes_are_named(tmp_path):
    # A "stream" model whose logits have 300 classes and that lacks c.
    graph = helper.make_graph(
        [helper.make_node("Identity", ["h"], ["h_out"]), helper.make_node("Identity", ["h"], ["c_out"]),
         helper.make_node("Cast", ["events"], ["f"], to=TensorProto.FLOAT),
         helper.make_node("Unsqueeze", ["f", "axes"], ["logits"])],
        "broken",
        [helper.make_tensor_value_info("events", TensorProto.INT64, [1, 1]),
         helper.make_tensor_value_info("h", TensorProto.FLOAT, [1, 1, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1, 1]),
         helper.make_tensor_value_info("h_out", TensorProto.FLOAT, [1, 1, 4]),
         helper.make_tensor_value_info("c_out", TensorProto.FLOAT, [1, 1, 4])],
        [helper.make_tensor("axes", TensorProto.INT64, [1], [2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    for key, value in {"encore.kind": "stream", "encore.vocab": vocab.VOCAB_NAME}.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    path = tmp_path / "broken.onnx"
    onnx.save(model, path)
    with pytest.raises(ModelError, match="needs input 'c'"):
        load_model(path)


def test_not_a_model_and_missing_model(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not protobuf")
    with pytest.raises(ModelError, match="junk.onnx: not an ONNX model \\(the file could not be parsed\\)"):
        load_model(junk)
    with pytest.raises(ModelError, match="no such model file"):
        load_model(tmp_path / "missing.onnx")


def test_a_shipped_model_is_found_by_its_name_from_any_folder(tmp_path, monkeypatch):
    from live.model import default_model_path, model_path

    monkeypatch.chdir(tmp_path)
    full = default_model_path("default-fp32.onnx")
    assert model_path("default-fp32") == full and model_path("default-fp32.onnx") == full
    assert load_model("default").info.path == default_model_path()
    assert model_path("nothing-shipped") == Path("nothing-shipped")  # then "no such model file"
    (tmp_path / "default").write_text("a file here wins over the shipped name")
    assert model_path("default") == Path("default")
