"""`encore quantize`: int8 weights, judged against the original before they are kept."""

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from export.errors import CheckpointError, ExportError
from export.model_files.quantize import MAX_KL, _compare, _probe_pieces, quantize_model
from live.core.controls import Controls
from live.core.generator import Generator
from live.model import FULL_PRECISION_DEFAULT, default_model_path, load_model
from live.model.randmodels import build_stream_model
from live.core.render import render
from cli_helpers import run_main
from conftest import PRIMERS


def test_quantize_writes_an_int8_model_that_plays_like_the_original(stream_model_path, tmp_path):
    output = tmp_path / "tiny-int8.onnx"
    result = run_main("quantize", stream_model_path, "-o", output)
    assert result.returncode == 0, result.stderr
    assert f"wrote {output} (int8 weights" in result.stdout and "nats/event (KL)" in result.stdout

    proto = onnx.load(str(output))
    assert {"DynamicQuantizeLSTM"} <= {node.op_type for node in proto.graph.node}
    model = load_model(output)  # the runtime's own checks: the contract still holds
    assert model.kind == "stream" and model.info.metadata["encore.weights"].startswith("int8")
    assert model.info.primers == PRIMERS  # metadata carried over

    original = load_model(stream_model_path)
    renders = [render(Generator(m, Controls(), seed=5), events=400) for m in (original, model, model)]
    assert renders[1].events == renders[2].events  # int8 is as deterministic as float32
    assert renders[1].notes  # it plays
    # The same model: after the same primer it expects the same next event, nearly as much.
    expected = [m.feed(m.initial_state(), PRIMERS[0]).logits for m in (original, model)]
    assert expected[0].argmax() == expected[1].argmax()
    assert np.abs(expected[0] - expected[1]).max() < 0.1 * np.abs(expected[0]).max()

    info = run_main("info", output)
    assert "weights int8 (dynamic quantization of tiny_stream.onnx)" in info.stdout


def test_a_window_model_quantizes_too(window_model_path, tmp_path):
    result = quantize_model(window_model_path, tmp_path / "window-int8.onnx")
    assert result.mean_kl <= MAX_KL and result.events == sum(len(p) - 1 for p in PRIMERS)
    assert load_model(result.path).kind == "window"


def test_an_int8_file_is_not_quantized_twice(stream_model_path, tmp_path):
    once = tmp_path / "once.onnx"
    quantize_model(stream_model_path, once)
    result = run_main("quantize", once, "-o", tmp_path / "twice.onnx")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "already int8" in result.stderr and not (tmp_path / "twice.onnx").exists()


def test_quantizing_a_file_onto_itself_is_refused_and_the_original_kept(stream_model_path, tmp_path):
    original = tmp_path / "mine.onnx"
    original.write_bytes(stream_model_path.read_bytes())
    result = run_main("quantize", original, "-o", original)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "would replace the model it is made from" in result.stderr
    assert original.read_bytes() == stream_model_path.read_bytes()


def test_a_model_that_int8_would_change_is_refused_and_nothing_is_written(tmp_path):
    # One huge output weight sets the int8 scale for the whole matrix: every other
    # weight rounds to zero, and the predictions with it.
    path = build_stream_model(tmp_path / "spiky.onnx", hidden=32, embedding=16, seed=1,
                              primers=PRIMERS, sharpness=6.0)
    proto = onnx.load(str(path))
    for index, tensor in enumerate(proto.graph.initializer):
        if tensor.name == "out_w":
            weights = numpy_helper.to_array(tensor).copy()
            weights[0, 0] = 500.0
            proto.graph.initializer[index].CopyFrom(numpy_helper.from_array(weights, "out_w"))
    onnx.save(proto, str(path))
    output = tmp_path / "spiky-int8.onnx"
    with pytest.raises(ExportError, match=r"differ from .*spiky.onnx's by .* nothing written"):
        quantize_model(path, output)
    assert not output.exists() and not list(tmp_path.glob("*.partial"))


def test_the_shipped_int8_default_is_the_shipped_float32_model():
    played, trained = default_model_path(), default_model_path(FULL_PRECISION_DEFAULT)
    assert played.name == "default.onnx" and trained.is_file()
    assert load_model().info.metadata["encore.weights"].startswith("int8")
    original, quantized = load_model(trained, threads=1), load_model(played, threads=1)
    result = _compare(original, quantized, _probe_pieces(original), played, trained)
    assert result.events > 500 and result.mean_kl <= MAX_KL and result.top1_agreement > 0.95
    assert abs(result.nll_int8 - result.nll_original) < 0.01
    assert played.stat().st_size < trained.stat().st_size / 3


def test_fine_tuning_from_an_int8_file_says_where_the_full_precision_one_is():
    from export.model_files.onnx_import import checkpoint_from_onnx

    with pytest.raises(CheckpointError, match="int8 .* --init default"):
        checkpoint_from_onnx(default_model_path())


def test_info_with_no_file_describes_the_model_that_plays_and_names_reach_the_shipped_ones():
    plays = run_main("info")
    assert plays.returncode == 0, plays.stderr
    assert "default.onnx: stream model, 1.3 MB" in plays.stdout and "weights int8" in plays.stdout
    full = run_main("info", "default-fp32")
    assert full.returncode == 0, full.stderr
    assert "default-fp32.onnx: stream model, 5.0 MB" in full.stdout and "weights float32" in full.stdout
