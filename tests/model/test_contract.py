"""The model file's contract: the metadata a beat model needs, and refusals in one line."""

import pytest

from hostile import with_metadata

from live.core import vocab
from live.model import ModelError, describe_model_file, load_model
from live.model.contract import SILENCE_PAD
from live.model.randmodels import build_stream_model, build_window_model


def _with_metadata(path, **entries):
    """The file at path with metadata entries set (added where missing); None removes one."""
    return with_metadata(path, path, entries)


@pytest.fixture
def small(tmp_path):
    return build_stream_model(tmp_path / "small.onnx", layers=1, hidden=8, embedding=4)


def test_a_file_without_encore_time_speaks_seconds_with_the_silent_pad(small):
    info = load_model(small).info
    assert (info.time, info.steps_per_beat, info.pad_event) == ("seconds", None, SILENCE_PAD)


def test_a_beat_model_says_its_steps_per_beat_and_its_pad_event(small):
    info = load_model(_with_metadata(small, **{"encore.time": "beats", "encore.steps_per_beat": "48",
                                              "encore.pad_event": "300"})).info
    assert (info.time, info.steps_per_beat, info.pad_event) == ("beats", 48, 300)


def test_a_window_model_pads_with_its_pad_event(tmp_path):
    path = build_window_model(tmp_path / "w.onnx", hidden=8, window=6, seed=1)
    assert load_model(path).initial_state().window == (SILENCE_PAD,) * 6
    _with_metadata(path, **{"encore.pad_event": "260"})
    assert load_model(path).initial_state().window == (260,) * 6


@pytest.mark.parametrize(
    "entries, fragment",
    [
        ({"encore.time": "bars"}, "metadata encore.time is 'bars'; a model speaks 'seconds'"),
        ({"encore.time": "beats"}, "encore.steps_per_beat is missing"),
        ({"encore.time": "beats", "encore.steps_per_beat": "0"},
         "metadata encore.steps_per_beat is '0', expected a whole number of 1 or more"),
        ({"encore.time": "beats", "encore.steps_per_beat": "12.5"}, "encore.steps_per_beat is '12.5'"),
        ({"encore.pad_event": "388"}, "encore.pad_event is 388, outside the vocabulary 0..387"),
        ({"encore.pad_event": "silence"}, "encore.pad_event is 'silence', expected a whole number"),
        ({"encore.vocab": None}, f"vocabulary none is not {vocab.VOCAB_NAME}"),
        ({"encore.primers": "not json"}, "encore.primers is not a JSON list"),
    ],
)
def test_bad_metadata_is_one_error_naming_the_file(small, entries, fragment):
    _with_metadata(small, **entries)
    with pytest.raises(ModelError) as caught:
        load_model(small)
    assert str(caught.value).startswith(f"{small}: ") and fragment in str(caught.value)
    assert describe_model_file(small).startswith("not usable: ") and fragment in describe_model_file(small)


def test_a_stream_file_takes_its_memory_size_from_h_where_its_metadata_lacks_it(tmp_path):
    # (export's own loader used to refuse this file: the instrument's rule wins)
    path = build_stream_model(tmp_path / "m.onnx", layers=1, hidden=8, embedding=4)
    _with_metadata(path, **{"encore.layers": None, "encore.hidden": None})
    info = load_model(path).info
    assert (info.layers, info.hidden) == (1, 8)


def test_threads_none_lets_onnxruntime_choose_for_batch_work(small):
    model = load_model(small, threads=None)
    assert model.session.get_session_options().intra_op_num_threads == 0
    assert load_model(small).session.get_session_options().intra_op_num_threads == 1
