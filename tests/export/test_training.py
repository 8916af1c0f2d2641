"""Training, resuming, exporting and evaluating with real torch and real onnxruntime."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from export.corpus.building import save_corpus  # noqa: E402 (after the importorskips)
from export.errors import CheckpointError, ExportError  # noqa: E402 (after the importorskips)
from export.evaluation.batch_logits import stream_step, window_logits, zero_state  # noqa: E402 (after the importorskips)
from export.evaluation.evaluate import evaluate  # noqa: E402 (after the importorskips)
from export.evaluation.info import model_info  # noqa: E402 (after the importorskips)
from export.model_files.onnx_export import export_run  # noqa: E402 (after the importorskips)
from export.training import session as session_module  # noqa: E402 (after the importorskips)
from export.training.train import BEST, LAST, default_config, load_checkpoint, train  # noqa: E402 (after the importorskips)
from live.model import ModelError, load_model  # noqa: E402

from toy_corpus import toy_corpus  # noqa: E402

TINY_STREAM = dict(layers=1, hidden=64, embed=32, window=32, batch=4, lr=1e-2, transpose=0, stretch=0.0)
TINY_SEED = dict(hidden=16, batch=32, lr=3e-3, transpose=2, stretch=0.02)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # CI shares its cores
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def toy_path(tmp_path):
    return save_corpus(toy_corpus(), tmp_path / "toy.npz")


def test_a_small_stream_network_learns_the_toy_corpus(toy_path, tmp_path):
    config = default_config("stream", **{**TINY_STREAM, "hidden": 128})
    result = train(toy_path, tmp_path / "run", config, epochs=20, quiet=True)
    assert result.stopped == "epochs" and result.epoch == 20
    assert result.best_val_nll < 0.1
    assert (tmp_path / "run" / "curve.png").stat().st_size > 1000
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert len(log) == 20 and log[-1]["val_nll"] < log[0]["val_nll"]


@pytest.mark.parametrize("arch, options", [("stream", TINY_STREAM), ("seed", TINY_SEED)])
def test_each_arch_trains_exports_a_checked_onnx_file_and_evaluates(arch, options, toy_path, tmp_path):
    run = tmp_path / arch
    result = train(toy_path, run, default_config(arch, **options), epochs=1, quiet=True)
    assert result.steps > 0 and result.best_val_nll is not None

    exported = export_run(run, tmp_path / f"{arch}.onnx")
    assert exported.max_difference <= 1e-4
    model = load_model(exported.path)
    meta = model.info.metadata
    assert meta["encore.kind"] == ("stream" if arch == "stream" else "window")
    assert meta["encore.vocab"] == "performance-388-v1"
    assert meta["encore.window"] == ("32" if arch == "stream" else "50")
    assert float(meta["encore.val_nll"]) == pytest.approx(result.best_val_nll, abs=1e-4)
    assert "toy scales" in meta["encore.corpus"]
    primers = json.loads(meta["encore.primers"])
    assert primers and all(32 <= len(p) <= 65 for p in primers)

    import onnx

    ops = {node.op_type for node in onnx.load(str(exported.path)).graph.node}
    assert "LSTM" in ops and "Loop" not in ops

    if arch == "stream":  # the contract's shapes, batch and time both free
        h, c = zero_state(model, 3)
        logits, h_out, c_out = stream_step(model, np.zeros((3, 7), np.int64), h, c)
        assert logits.shape == (3, 7, 388) and h_out.shape == h.shape == c_out.shape
    else:
        assert window_logits(model, np.zeros((5, 50), np.int64)).shape == (5, 388)

    scored = evaluate(exported.path, toy_path, split="val", baseline="ngram", max_order=3)
    assert scored.scores.nll_per_event == pytest.approx(result.best_val_nll, abs=1e-3)
    assert set(scored.baselines) == {"unigram", "2-gram", "3-gram"}
    assert scored.best_baseline == "3-gram"
    assert model_info(exported.path)["primers"] == len(primers)

    # --max-events keeps whole pieces: the toy's one val piece, all of it, for model and baselines
    capped = evaluate(exported.path, toy_path, split="val", baseline="ngram", max_order=2, max_events=1)
    assert capped.pieces == 1
    assert capped.scores.events == capped.baselines["unigram"].events == scored.scores.events


def test_ctrl_c_leaves_a_checkpoint_that_resumes_to_the_same_weights(toy_path, tmp_path):
    config = default_config("stream", **{**TINY_STREAM, "transpose": 3, "stretch": 0.05, "dropout": 0.3})
    straight = train(toy_path, tmp_path / "straight", config, epochs=2, quiet=True)

    def interrupt(step, loss):
        if step == 5:  # mid-epoch, state carried between windows
            raise KeyboardInterrupt

    cut = train(toy_path, tmp_path / "cut", config, epochs=2, on_step=interrupt, quiet=True)
    assert cut.stopped == "interrupted" and cut.steps == 5
    assert "--resume" in cut.resume_hint("toy.npz")
    assert load_checkpoint(tmp_path / "cut" / LAST)["position"]["batch"] == 5

    resumed = train(toy_path, tmp_path / "cut", config, epochs=2, resume=True, quiet=True)
    assert resumed.steps == straight.steps and resumed.events == straight.events
    a = load_checkpoint(tmp_path / "straight" / LAST)["model"]
    b = load_checkpoint(tmp_path / "cut" / LAST)["model"]
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6), name
    assert resumed.best_val_nll == pytest.approx(straight.best_val_nll, abs=1e-6)


def test_runs_refuse_the_wrong_arch_an_occupied_folder_and_foreign_files(toy_path, tmp_path):
    run = tmp_path / "run"
    train(toy_path, run, default_config("stream", **TINY_STREAM), epochs=1, quiet=True)
    with pytest.raises(CheckpointError, match="arch 'stream', not 'seed'"):
        train(toy_path, run, default_config("seed", **TINY_SEED), epochs=1, resume=True, quiet=True)
    with pytest.raises(CheckpointError, match="already holds a run"):
        train(toy_path, run, default_config("stream", **TINY_STREAM), epochs=1, quiet=True)

    evil = tmp_path / "evil.pt"
    torch.save({"format": "encore-checkpoint-v1", "payload": np.arange(3)}, evil)  # needs full unpickling
    with pytest.raises(CheckpointError, match="not a loadable encore checkpoint"):
        load_checkpoint(evil)
    state = load_checkpoint(run / BEST)
    state["vocab"] = "other-vocab"
    torch.save(state, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="vocabulary 'other-vocab'"):
        load_checkpoint(tmp_path / "other.pt")


def test_export_refuses_to_write_a_file_that_disagrees_with_torch(toy_path, tmp_path, monkeypatch):
    run = tmp_path / "run"
    train(toy_path, run, default_config("stream", **TINY_STREAM), epochs=1, quiet=True)
    from export.model_files import onnx_export

    monkeypatch.setattr(onnx_export, "_parity", lambda *args: 3e-3)
    with pytest.raises(ExportError, match="disagree by 3.00e-03"):
        export_run(run, tmp_path / "bad.onnx")
    assert not list(tmp_path.glob("bad.onnx*"))


def test_a_model_of_another_vocabulary_is_refused(toy_path, tmp_path):
    import onnx

    run = tmp_path / "run"
    train(toy_path, run, default_config("stream", **TINY_STREAM), epochs=1, quiet=True)
    path = export_run(run, tmp_path / "m.onnx").path
    proto = onnx.load(str(path))
    for entry in proto.metadata_props:
        if entry.key == "encore.vocab":
            entry.value = "remi-v2"
    onnx.save(proto, str(tmp_path / "other.onnx"))
    with pytest.raises(ModelError, match="vocabulary 'remi-v2' is not performance-388-v1"):
        load_model(tmp_path / "other.onnx")


def test_sigterm_saves_a_checkpoint_like_ctrl_c(toy_path, tmp_path):
    import os
    import signal

    def terminate(step, loss):
        if step == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    result = train(toy_path, tmp_path / "run", default_config("stream", **TINY_STREAM), epochs=3,
                   on_step=terminate, quiet=True)
    assert result.stopped == "interrupted"
    assert load_checkpoint(tmp_path / "run" / LAST)["position"]["steps"] == 2
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handler given back


def test_weights_that_do_not_fit_their_config_are_one_error(toy_path, tmp_path):
    run = tmp_path / "run"
    train(toy_path, run, default_config("stream", **TINY_STREAM), epochs=1, quiet=True)
    state = load_checkpoint(run / BEST)
    state["config"]["hidden"] = 32
    (tmp_path / "edited").mkdir()
    torch.save(state, tmp_path / "edited" / BEST)
    with pytest.raises(CheckpointError, match="weights do not fit its own config"):
        export_run(tmp_path / "edited", tmp_path / "m.onnx")


def test_init_fine_tunes_from_a_trained_run(toy_path, tmp_path):
    config = default_config("stream", **TINY_STREAM)
    first = train(toy_path, tmp_path / "base", config, epochs=3, quiet=True)
    # a fresh run of another shape on the command line: --init's shape wins
    other = default_config("stream", **{**TINY_STREAM, "hidden": 32, "lr": 1e-3})
    tuned = train(toy_path, tmp_path / "tuned", other, epochs=1, quiet=True, init=tmp_path / "base")
    state = load_checkpoint(tmp_path / "tuned" / LAST)
    assert state["config"]["hidden"] == 64 and state["config"]["lr"] == 1e-3
    assert state["corpus"]["init"] == str(tmp_path / "base")
    # starting from trained weights, one epoch already beats the scratch run's first epoch
    scratch = train(toy_path, tmp_path / "scratch", config, epochs=1, quiet=True)
    assert tuned.best_val_nll < scratch.best_val_nll
    assert tuned.best_val_nll <= first.best_val_nll + 0.05
    with pytest.raises(CheckpointError, match="arch 'stream'"):
        train(toy_path, tmp_path / "wrong", default_config("seed", **TINY_SEED), epochs=1, quiet=True,
              init=tmp_path / "base")


def test_init_fine_tunes_from_an_exported_model_file(toy_path, tmp_path):
    """A user with only the shipped .onnx (no run folder) fine-tunes from it: the
    weights read back from the file give the file's own logits."""
    config = default_config("stream", **{**TINY_STREAM, "layers": 2, "hidden": 48})
    train(toy_path, tmp_path / "base", config, epochs=3, quiet=True)
    shipped = export_run(tmp_path / "base", tmp_path / "base.onnx").path

    from export.model_files.onnx_import import checkpoint_from_onnx

    state = checkpoint_from_onnx(shipped)
    base = load_checkpoint(tmp_path / "base" / BEST)
    for name, tensor in base["model"].items():
        assert torch.allclose(state["model"][name], tensor, atol=1e-6), name
    assert (state["config"]["layers"], state["config"]["hidden"], state["config"]["embed"]) == (2, 48, 32)

    tuned = train(toy_path, tmp_path / "tuned", default_config("stream", **TINY_STREAM), epochs=1,
                  quiet=True, init=shipped)
    scratch = train(toy_path, tmp_path / "scratch", config, epochs=1, quiet=True)
    assert tuned.best_val_nll < scratch.best_val_nll
    assert load_checkpoint(tmp_path / "tuned" / LAST)["corpus"]["init"] == str(shipped)

    window = train(toy_path, tmp_path / "seed", default_config("seed", **TINY_SEED), epochs=1, quiet=True)
    export_run(window.run_dir, tmp_path / "seed.onnx")
    with pytest.raises(CheckpointError, match="only stream models"):
        checkpoint_from_onnx(tmp_path / "seed.onnx")
    with pytest.raises(CheckpointError, match="no such model file"):
        checkpoint_from_onnx(tmp_path / "missing.onnx")


def test_a_run_saves_its_checkpoint_inside_a_long_epoch(toy_path, tmp_path, monkeypatch):
    import export.training.train as training

    monkeypatch.setattr(training, "SAVE_EVERY_SECONDS", 0.0)
    saved = []
    real_save = training.save_checkpoint
    monkeypatch.setattr(training, "save_checkpoint", lambda path, state: (saved.append(state["position"]["batch"]),
                                                                 real_save(path, state)))
    train(toy_path, tmp_path / "run", default_config("stream", **TINY_STREAM), epochs=1, quiet=True)
    # saved after (nearly) every batch inside the epoch, not only at its end
    assert len(saved) > 3 and len(set(saved)) > 3


def test_max_events_scores_the_first_whole_pieces_only():
    from export.evaluation.scoring import cap_events

    pieces = [np.arange(n) for n in (10, 20, 30, 40)]
    assert [len(p) for p in cap_events(pieces, 25)] == [10, 20]
    assert [len(p) for p in cap_events(pieces, 1)] == [10]
    assert len(cap_events(pieces, None)) == 4


def test_the_learning_rate_halves_after_an_epoch_that_does_not_improve(toy_path, tmp_path, monkeypatch):

    nll = iter([2.0, 1.5, 1.7, 1.8, 1.2])  # epochs 3 and 4 do not improve
    monkeypatch.setattr(session_module.TrainingSession, "validate", lambda self: next(nll))
    config = default_config("stream", **{**TINY_STREAM, "lr": 1e-2})
    train(toy_path, tmp_path / "run", config, epochs=5, quiet=True)
    state = load_checkpoint(tmp_path / "run" / LAST)
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(1e-2 / 4)
    assert state["best_val_nll"] == 1.2


def test_the_curve_is_drawn_at_the_end_of_a_session_not_after_each_quick_epoch(toy_path, tmp_path, monkeypatch):
    from export.training import curve

    drawn = []
    monkeypatch.setattr(curve, "plot_curve", lambda history, path, config: drawn.append(len(history["val"])))
    train(toy_path, tmp_path / "run", default_config("stream", **TINY_STREAM), epochs=3, quiet=True)
    assert drawn == [3]  # once, with every validation in it
    monkeypatch.setattr(curve, "PLOT_EVERY_SECONDS", 0.0)  # epochs slower than the interval
    train(toy_path, tmp_path / "run", None, epochs=5, resume=True, quiet=True)
    assert drawn == [3, 4, 5]


def test_the_learning_rate_stops_halving_at_a_hundredth_of_where_it_began(toy_path, tmp_path, monkeypatch):

    nll = iter([2.0] + [2.5] * 9)  # nine epochs that do not improve: 2^-9 would be below the floor
    monkeypatch.setattr(session_module.TrainingSession, "validate", lambda self: next(nll))
    train(toy_path, tmp_path / "run", default_config("stream", **TINY_STREAM), epochs=10, quiet=True)
    state = load_checkpoint(tmp_path / "run" / LAST)
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(1e-2 * session_module.LR_FLOOR)


@pytest.mark.parametrize("schedule", ["saved", "from before it was saved"])
def test_a_resumed_run_halves_the_rate_against_the_best_before_it(toy_path, tmp_path, monkeypatch, schedule):

    nll = iter([2.0, 1.5, 1.7])  # the third epoch, after the resume, does not improve
    monkeypatch.setattr(session_module.TrainingSession, "validate", lambda self: next(nll))
    config = default_config("stream", **{**TINY_STREAM, "lr": 1e-2})
    train(toy_path, tmp_path / "run", config, epochs=2, quiet=True)
    last = tmp_path / "run" / LAST
    state = load_checkpoint(last)
    assert state["scheduler"]["best"] == 1.5
    if schedule != "saved":
        del state["scheduler"]
        torch.save(state, last)
    train(toy_path, tmp_path / "run", resume=True, epochs=3, quiet=True)
    assert load_checkpoint(last)["optimizer"]["param_groups"][0]["lr"] == pytest.approx(1e-2 / 2)


def test_patience_stops_a_run_that_no_longer_improves(toy_path, tmp_path, monkeypatch):

    nll = iter([2.0, 1.5, 1.6, 1.4, 1.45, 1.5, 1.41, 1.0])  # 3 misses in a row after epoch 4
    monkeypatch.setattr(session_module.TrainingSession, "validate", lambda self: next(nll))
    config = default_config("stream", **{**TINY_STREAM, "patience": 3})
    result = train(toy_path, tmp_path / "run", config, quiet=True)  # no --epochs, no --minutes
    assert (result.stopped, result.epoch, result.best_val_nll) == ("patience", 7, 1.4)
    assert load_checkpoint(tmp_path / "run" / BEST)["best_val_nll"] == 1.4


def test_the_shipped_default_model_reads_back_for_fine_tuning():
    """`--init default`: the shipped file's weights rebuild a torch network that gives
    the file's own logits (checked inside, to 1e-4)."""
    from export.model_files.onnx_import import checkpoint_from_onnx, is_model_file

    assert is_model_file("default")
    state = checkpoint_from_onnx("default")
    assert (state["config"]["arch"], state["config"]["layers"], state["config"]["hidden"]) == ("stream", 2, 256)
    assert state["model"]["embed.weight"].shape == (388, 256)


def test_a_stream_file_of_another_graph_shape_is_one_error(stream_model_path, tmp_path):
    import onnx

    from export.model_files.onnx_import import checkpoint_from_onnx

    assert checkpoint_from_onnx(stream_model_path)["config"]["layers"] == 2  # any contract graph reads back
    proto = onnx.load(str(stream_model_path))
    for node in proto.graph.node:
        if node.op_type == "MatMul":
            node.op_type = "Gemm"  # a graph encore's exporter never writes
    onnx.save(proto, str(tmp_path / "other.onnx"))
    with pytest.raises(CheckpointError, match="not a graph encore exported"):
        checkpoint_from_onnx(tmp_path / "other.onnx")


def test_a_budget_that_ends_on_an_epoch_s_last_batch_counts_that_epoch(toy_path, tmp_path):
    """The walk saw `epoch 5: val NLL ...` then `trained 4 full epochs`, and epoch 4 logged twice."""
    config = default_config("stream", **TINY_STREAM)
    whole = train(toy_path, tmp_path / "whole", config, epochs=2, quiet=True)
    per_epoch = whole.steps // 2
    cut = train(toy_path, tmp_path / "cut", config, steps=2 * per_epoch, quiet=True)
    assert cut.stopped == "steps" and cut.epoch == 2
    log = [json.loads(line)["epoch"] for line in (tmp_path / "cut" / "log.jsonl").read_text().splitlines()]
    assert log == [1, 2]


def test_a_loss_that_stops_being_a_number_ends_training_and_keeps_the_last_good_checkpoint(
        toy_path, tmp_path, monkeypatch):
    from export.errors import TrainingDiverged
    from export.training import train as training

    run_dir = tmp_path / "run"
    config = default_config("stream", **TINY_STREAM)
    train(toy_path, run_dir, config, epochs=1, quiet=True)
    good = load_checkpoint(run_dir / LAST)
    real_step, steps = session_module.TrainingSession.step, []

    def step_then_nan(self, inputs, targets):
        loss, count = real_step(self, inputs, targets)
        steps.append(loss)
        if len(steps) == 3:  # the weights go bad (as a learning rate far too high makes them)
            with torch.no_grad():
                next(self.model.parameters()).fill_(float("inf"))
            return float("nan"), count
        return loss, count

    monkeypatch.setattr(session_module.TrainingSession, "step", step_then_nan)
    monkeypatch.setattr(training, "SAVE_EVERY_SECONDS", 0.0)  # a save is due at every step
    with pytest.raises(TrainingDiverged) as stopped:
        train(toy_path, run_dir, resume=True, epochs=3, quiet=True)
    message = str(stopped.value)
    assert "diverged at step" in message and "the loss (nan)" in message and "lower --lr" in message
    kept = load_checkpoint(run_dir / LAST)
    assert kept["position"]["steps"] == good["position"]["steps"] + 2  # saved before the bad step, not after
    assert all(bool(torch.isfinite(w).all()) for w in kept["model"].values() if torch.is_floating_point(w))


@pytest.mark.parametrize("arch", ["stream", "seed"])
def test_a_mapped_corpus_gives_the_same_batches_as_the_loaded_one(toy_path, tmp_path, arch):
    from export.corpus.building import load_corpus
    from export.training.session import TrainingSession as _Run

    config = default_config(arch, **(TINY_STREAM if arch == "stream" else TINY_SEED))
    loaded, mapped = (_Run(load_corpus(toy_path, mmap=m), str(toy_path), tmp_path / f"run{m}", config, None)
                      for m in (False, True))
    for epoch in (0, 3):
        (a, count_a), (b, count_b) = loaded.epoch_batches(epoch), mapped.epoch_batches(epoch)
        pairs = list(zip(a, b, strict=True))
        assert count_a == count_b == len(pairs) > 0
        for (inputs_a, targets_a), (inputs_b, targets_b) in pairs:
            assert inputs_a.dtype == targets_a.dtype == np.int64  # as torch's embedding and loss take them
            np.testing.assert_array_equal(inputs_a, inputs_b)
            np.testing.assert_array_equal(targets_a, targets_b)
