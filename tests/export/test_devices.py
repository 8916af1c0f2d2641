"""--device and --precision: the CPU trains exactly as it did, an absent GPU is one line."""

import pytest

torch = pytest.importorskip("torch")

from export.training.devices import place  # noqa: E402 (after the importorskip)
from export.training.train import LAST, default_config, load_checkpoint, train  # noqa: E402 (after the importorskip)

from cli_helpers import assert_one_line_error, run_main  # noqa: E402

TINY = dict(layers=1, hidden=16, embed=8, window=32, batch=4)
TINY_ARGS = ["--layers", "1", "--hidden", "16", "--embed", "8", "--window", "32", "--batch", "4",
             "--threads", "1", "--quiet"]
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="a machine with a CUDA device")


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/training_fixtures.py


def losses(run_dir):
    return [loss for _, loss in load_checkpoint(run_dir / LAST)["history"]["train"]]


def test_device_cpu_trains_exactly_as_a_run_without_the_option(toy_path, tmp_path):
    # train() without device/precision is the loop as it was before they existed
    before = train(toy_path, tmp_path / "before", default_config("stream", **TINY), steps=8, quiet=True)
    assert before.steps == 8 and before.stopped == "steps"
    cpu = run_main("train", toy_path, "-o", tmp_path / "cpu", "--steps", "8", "--device", "cpu",
                   "--precision", "fp32", *TINY_ARGS)
    assert cpu.returncode == 0, cpu.stderr
    assert cpu.stderr == ""  # the CPU in fp32, as asked: nothing to say
    assert losses(tmp_path / "cpu") == losses(tmp_path / "before")  # exactly, not nearly
    if not torch.cuda.is_available():  # auto on a machine without a GPU: the same CPU run
        auto = run_main("train", toy_path, "-o", tmp_path / "auto", "--steps", "8", *TINY_ARGS)
        assert auto.returncode == 0 and auto.stderr == ""
        assert losses(tmp_path / "auto") == losses(tmp_path / "before")


@no_cuda
def test_cuda_asked_for_without_one_falls_back_to_the_cpu_in_one_line(toy_path, tmp_path):
    result = run_main("train", toy_path, "-o", tmp_path / "run", "--steps", "3", "--device", "cuda", *TINY_ARGS)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cuda asked for, but torch sees no CUDA device" in lines[0] and "training on the CPU" in lines[0]
    assert torch.__version__ in lines[0]
    assert load_checkpoint(tmp_path / "run" / LAST)["position"]["steps"] == 3
    assert "cuda:1 asked for" in place("cuda:1").note and place("cuda:1").device.type == "cpu"


def test_precision_on_the_cpu_is_fp32_unless_bf16_is_asked_for(toy_path, tmp_path):
    assert place("cpu", "auto").precision == "fp32" and place("cpu", "auto").note is None
    fp16 = place("cpu", "fp16")
    assert fp16.precision == "fp32" and "needs a CUDA GPU" in fp16.note
    bf16 = place("cpu", "bf16")
    assert bf16.precision == "bf16" and "bf16 mixed precision" in bf16.note

    config = default_config("stream", **TINY, dropout=0.0)
    train(toy_path, tmp_path / "fp32", config, steps=4, quiet=True)
    train(toy_path, tmp_path / "bf16", config, steps=4, quiet=True, precision="bf16")
    full, half = losses(tmp_path / "fp32"), losses(tmp_path / "bf16")
    assert full != half  # autocast ran: bf16 rounds differently
    assert half == pytest.approx(full, abs=0.01)  # and trains the same network
    assert load_checkpoint(tmp_path / "bf16" / LAST)["model"]["out.weight"].dtype == torch.float32


def test_a_device_that_is_no_device_is_one_line(toy_path, tmp_path):
    assert_one_line_error(run_main("train", toy_path, "-o", tmp_path / "run", "--device", "gpu", "--steps", "1"),
                          "device 'gpu'", "cuda:N")
