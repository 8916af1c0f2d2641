"""The training side's commands on `encore`'s command line: corpus build, train, export,
quantize, evaluate, info. Parsers here; the work in export.commands, imported only when
such a command runs, so `encore --help` and the instrument never load torch."""

from __future__ import annotations

import argparse

from live.app.arguments import fraction, int_in, positive_float, random_seed, up_to


def add_training_commands(commands, corpus_commands) -> None:
    build = corpus_commands.add_parser(
        "build", help="build a training corpus (.npz) from MIDI folders and music21 collections",
        description="Build a training corpus. What is read is kept in CORPUS.npz.partial/ as it goes: "
                    "a build stopped by Ctrl-C, a kill or a crash goes on from there when the same "
                    "command is given again (with any --jobs).",
    )
    build.add_argument("sources", nargs="+", metavar="SOURCE",
                       help="MIDI file or folder (recursive), or music21:oneills1850 | airdsAirs | "
                            "ryansMammoth | essenFolksong | bach")
    build.add_argument("-o", "--output", required=True, metavar="CORPUS.npz")
    build.add_argument("--time", choices=("beats", "seconds"), default="beats",
                       help="beats: beat positions, for a beat model that plays on any tempo's grid "
                            "(default); seconds: 10 ms steps at each piece's tempo (the first models')")
    build.add_argument("--meter", action="append", metavar="N/D",
                       help="keep only pieces in this time signature; repeat for several "
                            "(e.g. --meter 4/4 --meter 2/4 --meter 2/2 for dance music; default: all)")
    build.add_argument("--bpm", type=bpm_range, default=(120.0, 120.0), metavar="BPM|LOW-HIGH",
                       help="with --time seconds, the tempo for scores without one: a value or a range "
                            "drawn per piece (default 120)")
    build.add_argument("--seed", type=random_seed, default=0, help="split and tempo draws (default 0)")
    build.add_argument("--limit", type=int_in(1, 10**9, "limit"), help="at most N pieces per source")
    build.add_argument("--skyline", action=argparse.BooleanOptionalAction, default=True,
                       help="reduce each melody to one voice (default on)")
    build.add_argument("--jobs", type=int_in(1, 64, "jobs"), default=1,
                       help="processes reading files and parsing scores (default 1; your core count "
                            "for a big folder)")
    build.add_argument("--log-every", type=int_in(1, 10**9, "log-every"), default=1000, metavar="N",
                       help="off a terminal (a log), a line every N files (default 1000)")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(handler=_training_handler("cmd_corpus_build"))

    train = commands.add_parser("train", help="train a network on a corpus (needs the train extra)")
    train.add_argument("corpus", metavar="CORPUS.npz")
    train.add_argument("-o", "--output", required=True, metavar="RUN_DIR")
    train.add_argument("--arch", choices=["stream", "seed"],
                       help="stream: LSTM that carries its state (default); seed: the study's BiLSTM")
    train.add_argument("--minutes", type=positive_float, help="stop after this much training time")
    train.add_argument("--epochs", type=int_in(1, 10**6, "epochs"), help="stop after this many epochs")
    train.add_argument("--steps", type=int_in(1, 10**9, "steps"),
                       help="stop once the run has taken this many optimisation steps in all (a short "
                            "measured run, a test)")
    train.add_argument("--init", metavar="RUN_DIR_OR_MODEL",
                       help="fine-tune: start from a trained run, checkpoint or stream .onnx model "
                            "('default': the shipped model); its shape is kept")
    train.add_argument("--resume", action="store_true",
                       help="continue the run in RUN_DIR with its own settings")
    train.add_argument("--seed", type=random_seed, help="makes the run repeatable (default 0)")
    train.add_argument("--layers", type=int_in(1, 8, "layers"),
                       help="LSTM layers {default:layers}")
    train.add_argument("--hidden", type=int_in(4, 4096, "hidden"),
                       help="LSTM units per layer {default:hidden}")
    train.add_argument("--embed", type=int_in(4, 4096, "embed"),
                       help="stream: embedding size {default:stream.embed}; "
                            "seed: none (one-hot input)")
    train.add_argument("--dropout", type=fraction("dropout"), help="dropout {default:dropout}")
    train.add_argument("--window", type=int_in(2, 100000, "window"),
                       help="stream: events per truncated-backprop window; seed: context {default:window}")
    train.add_argument("--batch", type=int_in(1, 100000, "batch"),
                       help="sequences per step {default:batch}")
    train.add_argument("--lr", type=up_to(10.0), help="learning rate {default:lr}")
    train.add_argument("--lr-decay", type=positive_float, metavar="FACTOR",
                       help="multiply the learning rate by this after an epoch that does not improve, "
                            "down to 1/100 of --lr; 1 is none, as the study {default:lr_decay}")
    train.add_argument("--patience", type=int_in(1, 10**6, "patience"), metavar="N",
                       help="stop after N validations in a row without a better one (default: never)")
    train.add_argument("--optimizer", choices=["adam", "rmsprop"],
                       help="the seed arch's is the study's {default:optimizer}")
    train.add_argument("--transpose", type=int_in(0, 24, "transpose"),
                       help="semitones either way {default:transpose}")
    train.add_argument("--stretch", type=fraction("stretch"), help="time stretch either way {default:stretch}")
    train.add_argument("--val-events", type=int_in(1, 10**9, "val events"),
                       help="validate on the first val pieces up to about this many events {default:val_events}")
    train.add_argument("--threads", type=int_in(1, 256, "threads"), help="torch threads")
    train.add_argument("--device", type=training_device, default="auto", metavar="auto|cpu|cuda|cuda:N|mps",
                       help="where to train: auto takes a GPU where torch sees one (default auto); "
                            "one asked for but absent falls back to the CPU")
    train.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default="auto",
                       help="auto: bf16 mixed precision on a CUDA GPU that has it, else fp16 there; "
                            "fp32 on the CPU unless bf16 is asked for (default auto)")
    train.add_argument("--nproc", type=int_in(1, 1024, "nproc"), default=1, metavar="N",
                       help="train in N processes on this machine (data parallel through torchrun: "
                            "one per GPU, or CPU processes sharing the cores); --batch lanes are "
                            "shared among them (default 1)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.late_help = _with_training_defaults
    train.set_defaults(handler=_training_handler("cmd_train"))

    export = commands.add_parser("export", help="write a run's best model as ONNX (checked against torch)")
    export.add_argument("run", metavar="RUN_DIR")
    export.add_argument("-o", "--output", required=True, metavar="MODEL.onnx")
    export.set_defaults(handler=_training_handler("cmd_export"))

    quantize = commands.add_parser(
        "quantize", help="write a model with int8 weights: faster steps, a 4x smaller file "
                         "(checked against the original on its primers)")
    quantize.add_argument("model", metavar="MODEL.onnx")
    quantize.add_argument("-o", "--output", required=True, metavar="MODEL-int8.onnx")
    quantize.set_defaults(handler=_training_handler("cmd_quantize"))

    evaluate = commands.add_parser("evaluate", help="score a model file on a corpus split")
    evaluate.add_argument("model", metavar="MODEL.onnx")
    evaluate.add_argument("corpus", metavar="CORPUS.npz")
    evaluate.add_argument("--split", choices=["val", "test"], default="test")
    evaluate.add_argument("--baseline", choices=["ngram"], help="also score unigram .. 7-gram baselines")
    evaluate.add_argument("--max-order", type=int_in(1, 7, "n-gram order"), default=7)
    evaluate.add_argument("--threads", type=int_in(1, 256, "threads"))
    evaluate.add_argument("--max-events", type=int_in(1, 10**9, "max events"),
                          help="score only the split's first pieces up to about N events (window models are slow)")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(handler=_training_handler("cmd_evaluate"))

    info = commands.add_parser("info", help="what a model file (kind, size, corpus, NLL, primers) "
                                             "or a built corpus (sources, licences, splits) holds")
    info.add_argument("model", metavar="MODEL.onnx|CORPUS.npz", nargs="?", default="default",
                      help="a file, or a shipped model by name (default: the model that plays)")
    info.add_argument("--json", action="store_true")
    info.set_defaults(handler=_training_handler("cmd_info"))


def _training_handler(name: str):
    def handler(args) -> int:
        from export import commands

        return getattr(commands, name)(args)

    return handler


def training_device(text: str) -> str:
    """auto, cpu, mps, cuda or cuda:N; whether it exists is the training side's to say."""
    kind, colon, index = text.partition(":")
    if text in ("auto", "cpu", "mps", "cuda") or (kind == "cuda" and colon and index.isdigit()):
        return text
    raise argparse.ArgumentTypeError(f"device {text!r} is not auto, cpu, cuda, cuda:N (N a GPU number) or mps")


def bpm_range(text: str) -> tuple[float, float]:
    """'128' -> (128, 128); '120-140' -> (120, 140)."""
    low_text, _, high_text = text.partition("-")
    try:
        low = float(low_text)
        high = float(high_text) if high_text else low
    except ValueError:
        raise argparse.ArgumentTypeError(f"BPM {text!r} is not a number or a range like 120-140") from None
    if not 20 <= low <= high <= 400:
        raise argparse.ArgumentTypeError(f"BPM {text!r} must lie within 20..400, low before high")
    return low, high


def _with_training_defaults(text: str) -> str:
    """'{default:window}' in a help text -> '(default: stream 128, seed 50)', read from the
    training side only when `train --help` is shown."""
    import re

    from export.training.defaults import default_text

    return re.sub(r"\{default:([\w.]+)\}", lambda m: default_text(m.group(1)), text)
