"""Fuzzing the readers and the command line: every hostile input ends in the reader's own
error (one line at the command line: what, where, what to do) or in a result, never in
another exception, a traceback or a crash report. Seeded (derandomize): the same inputs
each run, so a failure replays; tools/fuzz.py draws many more for as long as it is given."""

from __future__ import annotations

import argparse
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile
from cli_helpers import run_main

FUZZ = settings(max_examples=200, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def assert_contract(result, *argv) -> None:
    """The one-line contract: a result, or one line saying what is wrong; never a
    traceback or encore's last resort (an internal error is a bug found)."""
    where = f"encore {' '.join(map(str, argv))[:200]}"
    assert "Traceback" not in result.stderr, where + "\n" + result.stderr[-2000:]
    assert "internal error" not in result.stderr, where + "\n" + result.stderr
    assert result.returncode in (0, 1, 2), (where, result.returncode, result.stderr)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("encore"), (where, result.stderr[:2000])
        assert len(lines[0]) < 600, (where, lines[0][:300])


# ---------------------------------------------------------------- MIDI files


@FUZZ
@given(st.randoms(use_true_random=False))
def test_a_damaged_midi_file_is_read_or_refused_with_a_midi_file_error(tmp_path, rng):
    from live.core.errors import MidiFileError
    from live.files.midifile import read_midi

    path = tmp_path / "damaged.mid"
    path.write_bytes(hostile.mutated_midi(rng))
    for beats in (False, True):
        try:
            song = read_midi(path, beats=beats)
        except MidiFileError as err:
            assert str(path) in str(err) and "\n" not in str(err)
        else:
            assert all(math.isfinite(n.start) and n.end >= n.start for p in song.parts for n in p.notes)


@pytest.mark.parametrize("kind", hostile.CRAFTED)
def test_each_crafted_midi_file_is_one_line_and_a_batch_goes_on_past_it(tmp_path, kind):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(hostile.crafted_midi(kind))
    alone = run_main("encode", bad)
    assert_contract(alone, "encode", kind)
    import random

    (tmp_path / "good.mid").write_bytes(hostile.good_midi(random.Random(1)))
    batch = run_main("encode", tmp_path)
    assert_contract(batch, "encode", "folder with", kind)
    assert "good.mid" in batch.stdout  # the good file is encoded whatever the bad one is
    if alone.returncode:
        assert "skipped" in batch.stderr + batch.stdout


# ---------------------------------------------------------------- event files


@FUZZ
@given(st.randoms(use_true_random=False))
def test_decode_of_any_event_file_is_a_file_or_one_line_and_the_old_output_stays(tmp_path, rng):
    events, output = tmp_path / "events.json", tmp_path / "out.mid"
    events.write_text(hostile.event_file_text(rng))
    output.write_bytes(b"MThd the old file")
    result = run_main("decode", events, "-o", output)
    assert_contract(result, "decode", events.read_text()[:80])
    if result.returncode:
        assert output.read_bytes() == b"MThd the old file"  # a refusal never costs the old file


# ---------------------------------------------------------------- knob maps


@FUZZ
@given(st.randoms(use_true_random=False))
def test_a_knob_map_that_loads_gives_every_knob_a_value_its_control_takes(tmp_path, rng):
    from live.engine.knobs import KNOB_CONTROLS, KnobMapError, read_knob_file

    path = tmp_path / "controls.toml"
    path.write_text(hostile.knob_map_text(rng))
    try:
        knobs = read_knob_file(path)
    except KnobMapError as err:
        assert str(path) in str(err) and "\n" not in str(err)
        return
    for knob in knobs.knobs:
        if knob.control not in KNOB_CONTROLS:
            continue  # a button: pressed, not valued
        spec = KNOB_CONTROLS[knob.control]
        for cc_value in (0, 1, 31, 63, 64, 100, 126, 127):
            assert spec.problem(knob.value(cc_value)) is None, (path.read_text(), knob, cc_value)


# ---------------------------------------------------------------- model files


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    from live.model.randmodels import build_stream_model

    return build_stream_model(tmp_path_factory.mktemp("fuzz") / "small.onnx", layers=1, hidden=8, embedding=4,
                              primers=[[300, 60, 280, 188]])


@settings(FUZZ, max_examples=80)
@given(st.randoms(use_true_random=False))
def test_model_metadata_of_any_kind_loads_or_is_one_model_error(tmp_path, small_model, rng):
    from live.model import ModelError, load_model

    path = hostile.with_metadata(small_model, tmp_path / "model.onnx", hostile.model_metadata(rng))
    try:
        model = load_model(path)
    except ModelError as err:
        assert "model.onnx" in str(err) and "\n" not in str(err)
        return
    assert len(model.info.primers) <= 1000 and model.info.layers <= 64
    assert_contract(run_main("info", path), "info", path)


def _model_with_classes(path, classes: int):
    """A stream model in every way but its logits' size (the contract's first check)."""
    import onnx
    from onnx import TensorProto, helper

    from live.core import vocab

    graph = helper.make_graph(
        [helper.make_node("Identity", ["h"], ["h_out"]), helper.make_node("Identity", ["c"], ["c_out"]),
         helper.make_node("ConstantOfShape", ["shape"], ["logits"],
                          value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0]))],
        "wrong-size",
        [helper.make_tensor_value_info("events", TensorProto.INT64, ["batch", "time"]),
         helper.make_tensor_value_info("h", TensorProto.FLOAT, [1, "batch", 4]),
         helper.make_tensor_value_info("c", TensorProto.FLOAT, [1, "batch", 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "time", classes]),
         helper.make_tensor_value_info("h_out", TensorProto.FLOAT, [1, "batch", 4]),
         helper.make_tensor_value_info("c_out", TensorProto.FLOAT, [1, "batch", 4])],
        [helper.make_tensor("shape", TensorProto.INT64, [3], [1, 1, classes])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    for key, value in {"encore.kind": "stream", "encore.vocab": vocab.VOCAB_NAME}.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.save(model, path)
    return path


def test_every_command_that_takes_a_model_refuses_what_play_refuses(tmp_path):
    from toy_corpus import toy_corpus

    from export.corpus.building import save_corpus

    model = _model_with_classes(tmp_path / "wide.onnx", 10_000)
    corpus = save_corpus(toy_corpus(pieces=4), tmp_path / "toy.npz")
    for argv in (["render", "-o", tmp_path / "x.mid", "--model", model, "--events", "10"],
                 ["info", model], ["evaluate", model, corpus], ["quantize", model, "-o", tmp_path / "q.onnx"],
                 ["musicstats", model, corpus, "--minutes", "0.1"]):
        result = run_main(*argv)
        assert_contract(result, *argv)
        assert result.returncode == 1 and "10000 classes" in result.stderr, (argv, result.stderr)
    assert not (tmp_path / "q.onnx").exists()


# ---------------------------------------------------------------- corpora


@pytest.fixture(scope="module")
def corpus_arrays(tmp_path_factory):
    from toy_corpus import toy_corpus

    from export.corpus.building import save_corpus

    path = save_corpus(toy_corpus(pieces=6), tmp_path_factory.mktemp("fuzz") / "toy.npz")
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


@FUZZ
@given(st.randoms(use_true_random=False))
def test_a_damaged_corpus_loads_whole_or_is_one_corpus_error(tmp_path, corpus_arrays, rng):
    from export.corpus.building import load_corpus
    from export.errors import CorpusError

    path = tmp_path / "damaged.npz"
    with open(path, "wb") as file:
        np.savez(file, **hostile.corpus_arrays(rng, corpus_arrays))
    try:
        corpus = load_corpus(path, mmap=rng.random() < 0.5)  # training maps the notes (savez stores them)
    except CorpusError as err:
        assert "damaged.npz" in str(err) and "\n" not in str(err)
        return
    for piece in corpus.pieces:  # what loads is what training reads: every piece encodes
        assert all(0 <= e < 388 for e in piece.events)
    assert_contract(run_main("info", path), "info", path)


# ---------------------------------------------------------------- command-line numbers


def _typed_options():
    """(command, option, type function) for every option of every command that converts
    its text (numbers, notes, names)."""
    from live.app.cli import build_parser

    found = []

    def walk(parser, prefix):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, prefix + [name])
            elif action.type is not None and action.option_strings:
                found.append((" ".join(prefix), action.option_strings[-1], action.type))
    walk(build_parser(), [])
    return found


def test_every_option_that_takes_a_number_refuses_a_bad_one_as_argparse_words():
    """argparse turns ArgumentTypeError, ValueError and TypeError into one usage line;
    anything else (OverflowError, a value that is not finite) would reach the command."""
    options = _typed_options()
    assert len(options) > 40
    for command, option, convert in options:
        for text in hostile.NUMBER_TEXTS:
            try:
                value = convert(text)
            except (argparse.ArgumentTypeError, ValueError, TypeError):
                continue
            if isinstance(value, float):
                assert math.isfinite(value), (command, option, text, value)


@settings(FUZZ, max_examples=120)
@given(st.randoms(use_true_random=False), st.data())
def test_render_with_any_numbers_renders_or_says_one_line(tmp_path, small_model, rng, data):
    options = [o for c, o, _ in _typed_options() if c == "render" and o not in ("--seconds", "--bars", "--events")]
    chosen = data.draw(st.lists(st.sampled_from(options), min_size=1, max_size=3, unique=True))
    argv = ["render", "-o", tmp_path / "x.mid", "--model", small_model, "--events", "30"]
    for option in chosen:
        argv += [option, hostile.number_text(rng)]
    assert_contract(run_main(*argv), *argv)


@pytest.mark.parametrize("damage", ["names of no length and no meters", "offsets of floats", "split unknown",
                                    "notes as text", "provenance a list"])
def test_damages_the_long_fuzz_run_found_are_one_corpus_error(tmp_path, corpus_arrays, damage):
    from export.corpus.building import load_corpus
    from export.errors import CorpusError

    arrays = dict(corpus_arrays)
    if damage == "names of no length and no meters":
        del arrays["meters"]
        arrays["names"] = np.array("x")
    elif damage == "offsets of floats":
        arrays["offsets"] = arrays["offsets"].astype(float)
    elif damage == "split unknown":
        arrays["split"] = np.array(["nope"] * len(arrays["split"]))
    elif damage == "notes as text":
        arrays["notes"] = arrays["notes"].astype("U8")
    else:
        arrays["provenance"] = np.array("[1, 2]")
    path = tmp_path / "damaged.npz"
    with open(path, "wb") as file:
        np.savez(file, **arrays)
    with pytest.raises(CorpusError, match="damaged.npz"):
        load_corpus(path)
