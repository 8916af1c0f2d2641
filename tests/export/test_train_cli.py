"""The training commands through the `encore` CLI, as a user runs them (in-process through
main(argv); `train` itself once as a real process, and without torch in one)."""

import json
import subprocess
import sys

import pytest

from live.files.midifile import Part, write_midi
from live.core.notes import Note

from export.corpus.building import Corpus, save_corpus

from midi_builders import off, on, save
from cli_helpers import assert_one_line_error, encore, run_main
from toy_corpus import toy_corpus

TINY = ["--layers", "1", "--hidden", "16", "--embed", "8", "--window", "32", "--batch", "4"]


def test_corpus_build_of_nothing_usable_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run_main("corpus", "build", tmp_path / "empty", "-o", tmp_path / "c.npz"),
                          "no pieces found", "empty")
    drums = tmp_path / "drums"
    drums.mkdir()
    save(drums / "beat.mid", [[on(36, channel=9), off(36, time=240, channel=9)] * 20])
    assert_one_line_error(run_main("corpus", "build", drums, "-o", tmp_path / "c.npz"),
                          "no usable melody", "beat.mid", "only drums")
    assert_one_line_error(run_main("corpus", "build", drums, "-o", tmp_path / "c.npz", "--bpm", "fast"),
                          "BPM 'fast'")
    assert not (tmp_path / "c.npz").exists()


def test_training_on_an_empty_corpus_is_one_line(tmp_path):
    empty = save_corpus(Corpus([], {}), tmp_path / "empty.npz")
    assert_one_line_error(run_main("train", empty, "-o", tmp_path / "run", "--epochs", "1"),
                          "empty.npz", "the corpus is empty")
    assert_one_line_error(run_main("evaluate", tmp_path / "missing.onnx", empty), "missing.onnx", "no such model file")


def test_build_train_export_evaluate_info_end_to_end(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    songs = tmp_path / "songs"
    songs.mkdir()
    for k in range(6):
        notes = [Note(60 + (i * (k + 1)) % 12, i * 0.25, i * 0.25 + 0.2, 64 + 8 * (i % 4)) for i in range(40)]
        write_midi(songs / f"song{k}.mid", [Part("Lead", 0, 81, notes=notes)], bpm=128)
    (songs / "corrupt.mid").write_bytes(b"MThd\x00")
    corpus = tmp_path / "c.npz"

    built = run_main("corpus", "build", songs, "-o", corpus, "--quiet")
    assert built.returncode == 0, built.stderr
    assert "6 pieces" in built.stdout and "corrupt.mid" in built.stderr and "1 skipped" in built.stderr
    described = run_main("info", corpus, "--json")
    assert described.returncode == 0, described.stderr
    summary = json.loads(described.stdout)
    assert sum(s["pieces"] for s in summary["splits"].values()) == 6
    assert summary["sources"][0]["skipped"] == 1 and "licence unknown" in summary["sources"][0]["licence"]
    assert summary["splits"]["train"]["notes"] > 0 and summary["splits"]["train"]["events"] > 40

    run = tmp_path / "run"
    # the one real `encore train` process: the training entry point as a user starts it
    trained = encore("train", corpus, "-o", run, "--epochs", "1", "--threads", "1", "--quiet", *TINY)
    assert trained.returncode == 0, trained.stderr
    assert "best validation NLL" in trained.stdout and (run / "best.pt").exists()

    wrong = run_main("train", corpus, "-o", run, "--resume", "--arch", "seed", "--epochs", "2")
    assert_one_line_error(wrong, "arch 'stream', not 'seed'", "--arch stream")

    model = tmp_path / "m.onnx"
    exported = run_main("export", run, "-o", model)
    assert exported.returncode == 0, exported.stderr
    assert "onnxruntime matches torch" in exported.stdout

    scored = run_main("evaluate", model, corpus, "--split", "val", "--baseline", "ngram", "--json")
    assert scored.returncode == 0, scored.stderr
    record = json.loads(scored.stdout)
    assert record["kind"] == "stream" and record["scores"]["events"] > 0
    assert len(record["baselines"]) == 7 and record["best_baseline"] in record["baselines"]

    info = run_main("info", model)
    assert info.returncode == 0, info.stderr
    assert "stream model" in info.stdout and "primers:" in info.stdout

    for command in (["info", model], ["evaluate", model, corpus, "--baseline", "ngram", "--max-order", "2"]):
        without_torch = run_without_torch(*command)
        assert without_torch.returncode == 0, without_torch.stderr

    import onnx

    proto = onnx.load(str(model))
    for entry in proto.metadata_props:
        if entry.key == "encore.vocab":
            entry.value = "remi-v2"
    onnx.save(proto, str(tmp_path / "other.onnx"))
    assert_one_line_error(run_main("info", tmp_path / "other.onnx"), "other.onnx",
                          "'remi-v2' is not performance-388-v1")
    assert_one_line_error(run_main("evaluate", tmp_path / "other.onnx", corpus), "'remi-v2'")


def run_without_torch(*args):
    """The CLI in a process where importing torch (or onnx) fails, as on a player's machine."""
    code = ("import sys; sys.modules['torch'] = None; sys.modules['onnx'] = None; "
            "from live.app.cli import main; sys.exit(main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=120)


def test_the_runtime_and_help_never_import_torch_or_the_training_side():
    code = ("import sys; from live.app.cli import build_parser; "
            "assert 'train' in build_parser().format_help(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'export', 'onnx', 'music21')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_training_without_the_train_extra_is_one_line(tmp_path):
    corpus = save_corpus(toy_corpus(), tmp_path / "toy.npz")
    assert_one_line_error(run_without_torch("train", corpus, "-o", tmp_path / "run", "--epochs", "1"),
                          "needs torch", "pip install")


def test_options_the_study_fixed_are_refused_for_the_seed_arch(tmp_path):
    pytest.importorskip("torch")
    corpus = save_corpus(toy_corpus(), tmp_path / "toy.npz")
    assert_one_line_error(run_main("train", corpus, "-o", tmp_path / "run", "--arch", "seed", "--layers", "3",
                                 "--epochs", "1"), "--layers apply to --arch stream only")
    assert_one_line_error(run_main("train", corpus, "-o", tmp_path / "run"),
                          "give --epochs, --minutes, --steps or --patience")
