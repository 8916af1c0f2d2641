"""The CLI handlers of the training side: read arguments, call the work, print results.

live/cli.py imports this module only inside its handlers, so the runtime never loads
it (nor torch) unless a training command runs."""

from __future__ import annotations

import importlib.util
import json
import sys

from export.errors import MissingExtraError
from live.core.wording import count


def require(module: str, extra: str, command: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(module, extra, command)


def cmd_corpus_build(args) -> int:
    from export.corpus.building import check_corpus_path
    from export.corpus.corpus_build import build_corpus_file
    from live.app.progress import progress_bars
    from live.signals import terminate_as_interrupt

    check_corpus_path(args.output)  # before the build, not after it

    def say(line: str) -> None:
        print(f"encore: {line}", file=sys.stderr)

    with progress_bars(args.quiet, every=args.log_every) as start_bar, terminate_as_interrupt():
        def progress(label, total, done=0):
            bar = start_bar(label, total)
            bar.update(completed=done)
            return lambda skipped: bar.update(status=f"{skipped:,} skipped" if skipped else "")

        provenance = build_corpus_file(args.sources, args.output, seed=args.seed, bpm=args.bpm, limit=args.limit,
                                       skyline=args.skyline, progress=progress, jobs=args.jobs, time=args.time,
                                       meters=args.meter, say=say)
    counts = provenance["counts"]
    print(f"wrote {args.output}: {count(counts['pieces'], 'piece')} ({counts['train']} train, {counts['val']} val, "
          f"{counts['test']} test), {count(counts['notes'], 'note')}, {count(counts['events'], 'event')}, "
          f"in {args.time}")
    left_out = provenance.get("left_out_by_meter")
    if left_out:
        from export.corpus.building import meter_counts
        print(f"left out by meter: {meter_counts(left_out)}")
    skipped = provenance["skipped"]
    if skipped:
        shown = skipped[:SKIPPED_SHOWN]
        more = f"\n  ... and {len(skipped) - len(shown):,} more (all in the corpus's provenance: encore info " \
               f"{args.output} --json)" if len(skipped) > len(shown) else ""
        print(f"{len(skipped):,} skipped:" + "".join(f"\n  {reason}" for reason in shown) + more, file=sys.stderr)
    return 0


SKIPPED_SHOWN = 20  # of 100,000 files, the skipped ones are listed in the provenance, not all here


def cmd_train(args) -> int:
    require("torch", "train", "encore train")
    from export.training import distributed
    from export.training.train import check_run_dir, default_config, train

    if args.nproc > 1 and not distributed.from_environment().spread:
        _check_before_launch(args, check_run_dir)  # one line here, not one from each process
        return distributed.launch(args.nproc, args.argv)

    # Resuming without --arch takes the run's own; with it, train() checks they agree.
    config = None if args.resume and args.arch is None else default_config(
        args.arch or "stream", layers=args.layers, hidden=args.hidden, embed=args.embed, dropout=args.dropout,
        window=args.window, batch=args.batch, lr=args.lr, lr_decay=args.lr_decay, optimizer=args.optimizer,
        seed=args.seed,
        transpose=args.transpose, stretch=args.stretch, val_events=args.val_events,
        patience=args.patience,
    )
    result = train(args.corpus, args.output, config, resume=args.resume, minutes=args.minutes,
                   epochs=args.epochs, quiet=args.quiet, threads=args.threads, init=args.init,
                   steps=args.steps, device=args.device, precision=args.precision,
                   say=lambda line: print(line, file=sys.stderr))
    if not result.main:
        return 130 if result.stopped == "interrupted" else 0  # rank 0 reports for all
    if result.stopped == "interrupted":
        print(f"encore: {result.resume_hint(args.corpus)}", file=sys.stderr)
        return 130
    best = f"{result.best_val_nll:.3f}" if result.best_val_nll is not None else "n/a"
    print(f"trained {result.epoch} full epoch{'' if result.epoch == 1 else 's'} "
          f"({result.steps:,} steps, {result.events:,} events, "
          f"{result.step_events_per_second:,.0f} events/s in steps, {result.events_per_second:,.0f} overall, "
          f"stopped by {result.stopped}); "
          f"best validation NLL {best} nats/event; {result.run_dir}: best.pt, last.pt, curve.png")
    return 0


def _check_before_launch(args, check_run_dir) -> None:
    """What every process would refuse alike, refused once before they start."""
    from pathlib import Path

    from export.corpus.building import load_corpus
    from export.training.defaults import DEFAULTS
    from export.training.distributed import Ranks

    check_run_dir(Path(args.output), args.resume)
    if not Path(args.corpus).is_file():
        load_corpus(args.corpus)  # its one line on a missing corpus
    if not args.resume and (args.arch or "stream") == "stream":
        Ranks(0, args.nproc).check_share(args.batch or DEFAULTS["stream"]["batch"])


def cmd_export(args) -> int:
    require("torch", "train", "encore export")
    require("onnx", "train", "encore export")
    from export.model_files.onnx_export import export_run
    from live.files.output_paths import check_writable

    check_writable(args.output, "model.onnx")
    result = export_run(args.run, args.output)
    primers = len(json.loads(result.meta["encore.primers"]))
    print(f"wrote {result.path} ({result.kind}, {result.bytes / 1e6:.1f} MB, {primers} primers, "
          f"validation NLL {result.meta['encore.val_nll']}): onnxruntime matches torch within "
          f"{result.max_difference:.1e}")
    return 0


def cmd_quantize(args) -> int:
    require("onnx", "train", "encore quantize")
    from export.model_files.quantize import format_result, quantize_model
    from live.files.output_paths import check_writable

    check_writable(args.output, "model-int8.onnx")
    print(format_result(quantize_model(args.model, args.output)))
    return 0


def cmd_evaluate(args) -> int:
    from export.evaluation.evaluate import evaluate, format_evaluation

    result = evaluate(args.model, args.corpus, split=args.split, baseline=args.baseline,
                      max_order=args.max_order, threads=args.threads, max_events=args.max_events)
    print(json.dumps(result.as_dict(), indent=2) if args.json else format_evaluation(result))
    return 0


def cmd_info(args) -> int:
    from export.evaluation.info import corpus_info, format_corpus_info, format_info, model_info

    if str(args.model).endswith(".npz"):
        info = corpus_info(args.model)
        print(json.dumps(info, indent=2) if args.json else format_corpus_info(info))
        return 0
    info = model_info(args.model)
    print(json.dumps(info, indent=2) if args.json else format_info(info))
    return 0

