"""Data parallel training through torchrun on the gloo backend (this machine's CPUs):
`encore train --nproc 2` as a user starts it, compared with one process."""

import shutil
import signal
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
if not dist.is_available() or not dist.is_gloo_available():
    pytest.skip("torch without gloo", allow_module_level=True)

from export.training.train import LAST, default_config, load_checkpoint, train  # noqa: E402 (after the importorskips)


# Dropout off: each process draws its own masks, so with it the runs differ by design.
TINY = dict(layers=1, hidden=16, embed=8, window=32, batch=4, dropout=0.0)
TINY_ARGS = ["--layers", "1", "--hidden", "16", "--embed", "8", "--window", "32", "--batch", "4",
             "--dropout", "0", "--device", "cpu", "--threads", "1"]
# float32 sums taken in another order (a gradient summed over 2 lanes then averaged across
# processes, not over 4 at once): 5e-7 measured over 25 steps; another batch gives 1e-2.
TOLERANCE = 1e-5


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/training_fixtures.py


def encore_process(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "live.app.cli", *map(str, args)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def test_two_processes_train_as_one_with_the_same_batch_and_their_checkpoint_resumes_in_one(toy_path, tmp_path):
    # 25 steps: all of epoch 1 (19, its last windows part filler), rank 0's validation, 6 into epoch 2
    two = tmp_path / "two"
    launched = encore_process("train", toy_path, "-o", two, "--nproc", "2", "--steps", "25", "--quiet", *TINY_ARGS)
    out, err = launched.communicate(timeout=120)
    assert launched.returncode == 0, err
    assert "25 steps" in out and out.count("trained") == 1  # rank 0 reports, once
    assert "2 processes, 4 lanes shared" in err and "Traceback" not in err

    straight = train(toy_path, tmp_path / "one", default_config("stream", **TINY), epochs=2, quiet=True)
    one = load_checkpoint(tmp_path / "one" / LAST)
    shared = load_checkpoint(two / LAST)
    assert shared["position"] == {"epoch": 1, "batch": 6, "steps": 25, "events": one["history"]["train"][24][0]}
    for (events, loss), (events_one, loss_one) in zip(shared["history"]["train"], one["history"]["train"][:25]):
        assert events == events_one and loss == pytest.approx(loss_one, abs=TOLERANCE)
    assert shared["history"]["val"][0][2] == pytest.approx(one["history"]["val"][0][2], abs=TOLERANCE)
    assert shared["carry"][0].shape == (1, 4, 16)  # every lane's state, gathered from both processes

    half = train(toy_path, tmp_path / "half", default_config("stream", **{**TINY, "batch": 2}), steps=6, quiet=True)
    assert half.steps == 6
    gap = max(abs(a[1] - b[1]) for a, b in zip(load_checkpoint(tmp_path / "half" / LAST)["history"]["train"],
                                                one["history"]["train"]))
    assert gap > 100 * TOLERANCE  # the tolerance tells a batch split right from another batch

    resumed = train(toy_path, two, epochs=2, resume=True, quiet=True)  # one process, mid-epoch
    assert resumed.steps == straight.steps and resumed.events == straight.events
    weights = load_checkpoint(two / LAST)["model"]
    for name, value in one["model"].items():
        assert torch.allclose(weights[name], value, atol=TOLERANCE), name
    assert resumed.best_val_nll == pytest.approx(straight.best_val_nll, abs=TOLERANCE)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
def test_sigterm_saves_once_and_every_process_exits(toy_path, tmp_path):
    run = tmp_path / "run"
    launched = encore_process("train", toy_path, "-o", run, "--nproc", "2", "--epochs", "1000", *TINY_ARGS)
    seen = []
    for line in launched.stderr:  # off a terminal: a line after each validation
        seen.append(line)
        if "val NLL" in line:
            break
    launched.send_signal(signal.SIGTERM)
    out, err = launched.communicate(timeout=60)
    err = "".join(seen) + err
    assert launched.returncode == 130, err
    assert err.count("resume with: encore train") == 1 and "Traceback" not in err
    assert out == ""
    position = load_checkpoint(run / LAST)["position"]
    assert position["epoch"] >= 1 and position["batch"] >= 1  # saved on the stop, after epoch 1's save
    if shutil.which("pgrep"):
        left = subprocess.run(["pgrep", "-f", str(run)], capture_output=True, text=True).stdout
        assert left == "", "a training process outlived the launcher"
