"""The training loop: epochs of augmented batches, validation, checkpoints, resume.

A run folder holds:
    last.pt     where training stands (resume from it): weights, optimizer, learning-rate
                schedule, position inside the epoch, carried LSTM state, torch RNG
    best.pt     the weights with the best validation NLL so far (export reads it)
    curve.png   training loss and validation NLL against events seen
    log.jsonl   one JSON line per validation

Checkpoints are plain dicts of tensors and Python values, loaded with
torch.load(weights_only=True), so a checkpoint from elsewhere cannot run code.
Each epoch's batches come from a generator seeded with (seed, epoch), so resuming
in the middle of an epoch replays exactly the batches it had not yet seen.
A checkpoint is written the same by any device and any number of processes (the
unwrapped model's weights, the whole batch's LSTM state, the position in global
steps), and loads on the CPU.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from live.app.progress import progress_bars
from live.signals import stop_requests, terminate_as_interrupt

from export.corpus.augment import DEFAULT_STRETCH, DEFAULT_TRANSPOSE
from export.corpus.building import load_corpus
from export.errors import CheckpointError, TrainConfigError, TrainingDiverged
from export.training import distributed
from export.training.checkpoints import (  # noqa: F401 (named here too, where callers find them)
    BEST, CHECKPOINT_FORMAT, LAST, NotFinite, load_checkpoint, model_from_checkpoint, save_checkpoint,
)
from export.training.defaults import DEFAULTS
from export.training.devices import place
from export.training.session import TrainingSession

CLIP_NORM = 1.0
# last.pt is also saved this often inside an epoch: a slow arch (seed) or a killed job
# loses at most this much training.
SAVE_EVERY_SECONDS = 600


def default_config(arch: str = "stream", **overrides) -> dict:
    if arch not in DEFAULTS:
        raise TrainConfigError(f"unknown arch '{arch}'; choose stream or seed")
    given = {k: v for k, v in overrides.items() if v is not None}
    if arch == "seed":
        fixed = {k: given[k] for k in ("layers", "embed") if k in given and given[k] != DEFAULTS["seed"][k]}
        if fixed:
            raise TrainConfigError(f"the seed arch is the study's (two BiLSTM layers on one-hot input); "
                                  f"--{'/--'.join(fixed)} apply to --arch stream only")
    config = {"arch": arch, **DEFAULTS[arch], "seed": 0, "transpose": DEFAULT_TRANSPOSE,
              "stretch": DEFAULT_STRETCH, "clip": CLIP_NORM}
    config.update(given)
    return config


@dataclass
class TrainResult:
    run_dir: Path
    stopped: str  # "epochs", "minutes", "steps", "patience" or "interrupted"
    epoch: int
    steps: int
    events: int
    best_val_nll: float | None
    seconds: float
    events_per_second: float  # over the session, validation and data preparation included
    step_events_per_second: float  # over optimisation steps only: the training speed
    main: bool = True  # the process that reports (rank 0 of several)

    def resume_hint(self, corpus: str) -> str:
        return f"interrupted; checkpoint saved, resume with: encore train {corpus} -o {self.run_dir} --resume"


def train(
    corpus_path: str | Path,
    run_dir: str | Path,
    config: dict | None = None,
    *,
    resume: bool = False,
    minutes: float | None = None,
    epochs: int | None = None,
    on_step: Callable[[int, float], None] | None = None,
    quiet: bool = False,
    threads: int | None = None,
    init: str | Path | None = None,
    device: str = "cpu",
    precision: str = "fp32",
    say: Callable[[str], None] | None = None,
    steps: int | None = None,
) -> TrainResult:
    """Train until `epochs` epochs are done, `minutes` pass or the run has taken `steps`
    optimisation steps in all (whichever is first);
    Ctrl-C (KeyboardInterrupt, also from on_step) saves last.pt and returns.
    Resuming takes the checkpoint's config; a config given too must be of its arch.
    `init` (a run folder, a checkpoint, a stream .onnx file or "default" for the shipped
    model) starts from trained weights instead of random ones: fine-tuning. The
    network's shape comes from it; the rest from `config`.
    `device` and `precision` as --device and --precision; `say` hears the one line on
    where it trains, where there is one worth saying. Started by torchrun (RANK and
    WORLD_SIZE set), this is one process of several: see export.training.distributed."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    ranks = distributed.from_environment()
    placement = place(device, precision, ranks.local_rank if ranks.spread else None)
    run_dir = Path(run_dir)
    check_run_dir(run_dir, resume)
    state = None
    if resume:
        state = load_checkpoint(run_dir / LAST)
        config = config or state["config"]
        if state["config"]["arch"] != config["arch"]:
            raise CheckpointError(f"{run_dir / LAST}: a checkpoint of arch '{state['config']['arch']}', "
                                  f"not '{config['arch']}'; resume with --arch {state['config']['arch']}")
        config = state["config"]
    config = dict(config or default_config())
    start_weights = None
    if init is not None and not resume:
        from export.model_files import onnx_import

        start = onnx_import.checkpoint_from_onnx(init) if onnx_import.is_model_file(init) else load_checkpoint(init)
        shape = {k: start["config"][k] for k in ("arch", "layers", "hidden", "embed", "window")
                 if k in start["config"]}
        if shape["arch"] != config["arch"]:
            raise CheckpointError(f"{init}: a checkpoint of arch '{shape['arch']}'; fine-tune it with "
                                  f"--arch {shape['arch']}")
        config.update(shape)
        start_weights = start["model"]
    if epochs is None and minutes is None and steps is None and not config.get("patience"):
        raise TrainConfigError("give --epochs, --minutes, --steps or --patience (or several) so training knows "
                               "when to stop")
    corpus = load_corpus(corpus_path, mmap=True)  # a corpus larger than memory trains too
    if ranks.spread and config["arch"] == "stream":  # before any process waits for another
        pieces = len(corpus.split("train"))
        few = f" ({pieces} training pieces)" if pieces < config["batch"] else ""
        ranks.check_share(min(config["batch"], pieces), few)
    if say is not None and ranks.main:
        where = placement.note
        if ranks.spread:
            shared = f"{config['batch']} {'lanes' if config['arch'] == 'stream' else 'windows a batch'} shared"
            where = f"{where + '; ' if where else ''}{ranks.world} processes, {shared}"
        if where:
            say(where)
    run_dir.mkdir(parents=True, exist_ok=True)
    if ranks.spread:
        distributed.join(placement.device)
    try:
        run = TrainingSession(corpus, str(corpus_path), run_dir, config, state, placement, ranks)
        if start_weights is not None:
            try:
                run.model.load_state_dict(start_weights)
            except RuntimeError as err:
                raise CheckpointError(f"{init}: its weights do not fit ({str(err).splitlines()[0][:120]})") from None
            run.corpus_info["init"] = str(init)
        run.spread()
        return _loop(run, minutes, epochs, steps, on_step, quiet or not ranks.main)
    finally:
        distributed.leave()


def check_run_dir(run_dir: Path, resume: bool) -> None:
    """A run folder that can be trained into: before any work (or any process) starts."""
    if run_dir.exists() and not run_dir.is_dir():
        raise CheckpointError(f"{run_dir}: is a file; -o names a run folder (created if missing)")
    if resume and not (run_dir / LAST).is_file():
        load_checkpoint(run_dir / LAST)  # its own one line: what is missing where
    if not resume and (run_dir / LAST).exists():
        raise CheckpointError(f"{run_dir}: already holds a run; add --resume to continue it, or choose another -o")


def _loop(run: TrainingSession, minutes: float | None, epochs: int | None, steps: int | None, on_step,
          quiet: bool) -> TrainResult:
    ranks, run_dir = run.ranks, run.run_dir
    deadline = time.monotonic() + minutes * 60 if minutes is not None else math.inf
    next_save = time.monotonic() + SAVE_EVERY_SECONDS
    session_start, session_events, step_seconds = time.monotonic(), 0, 0.0
    stopped = "epochs"
    # One process of several only notes a stop signal: all of them stop at the step they agree on.
    stopping = stop_requests() if ranks.spread else terminate_as_interrupt()
    with progress_bars(quiet, log_lines=True) as start_bar, stopping as heard:
        try:
            while epochs is None or run.position["epoch"] < epochs:
                plan, total = run.epoch_batches(run.position["epoch"])
                bar = start_bar(f"epoch {run.position['epoch'] + 1}", total)
                bar.update(completed=run.position["batch"])
                tick, tick_events = time.monotonic(), 0
                for index, (inputs, targets) in enumerate(plan):
                    if index < run.position["batch"]:
                        continue  # replaying a resumed epoch up to where it stopped
                    began = time.monotonic()
                    loss, count = run.step(inputs, targets)
                    step_seconds += time.monotonic() - began
                    now = time.monotonic()
                    out_of_time, save_now, stop = now >= deadline, now >= next_save, False
                    if ranks.spread:  # rank 0's clock decides, any process's signal stops all
                        loss, (stop, out_of_time, save_now) = distributed.agree(
                            run.placement.device, loss, bool(heard), out_of_time and ranks.main,
                            save_now and ranks.main)
                    if not math.isfinite(loss):  # after agree: every process stops at the same step
                        raise NotFinite(f"the loss ({loss})")
                    run.position["batch"] = index + 1
                    run.position["steps"] += 1
                    run.position["events"] += count
                    session_events += count
                    tick_events += count
                    run.history["train"].append([run.position["events"], loss])
                    best = f"{run.best:.3f}" if run.best is not None else "-"
                    bar.update(status=f"loss {loss:.3f} {tick_events / max(now - tick, 1e-9):,.0f} ev/s val {best}")
                    if on_step:
                        on_step(run.position["steps"], loss)
                    if stop:
                        raise KeyboardInterrupt
                    if out_of_time or (steps is not None and run.position["steps"] >= steps):
                        stopped = "minutes" if out_of_time else "steps"
                        if run.position["batch"] >= total:  # it ran out on the epoch's last batch: a whole epoch
                            run.position["epoch"] += 1
                            run.position["batch"] = 0
                            run.carry = None
                        break
                    if save_now:
                        run.clock()
                        _save_last(run, run.checkpoint())
                        next_save = now + SAVE_EVERY_SECONDS
                else:
                    run.position["epoch"] += 1
                    run.position["batch"] = 0
                    run.carry = None
                _finish_segment(run, bar)
                if stopped in ("minutes", "steps"):
                    break
                patience = run.config.get("patience")
                if patience and run.validations_since_best() >= patience:
                    stopped = "patience"
                    bar.note(f"{patience} validations without a better one: stopping (best {run.best:.3f})")
                    break
        except KeyboardInterrupt:
            stopped = "interrupted"
            run.clock()
            try:
                _save_last(run, run.checkpoint())
            except NotFinite as what:
                raise TrainingDiverged(_diverged(run, str(what))) from None
        except NotFinite as what:
            raise TrainingDiverged(_diverged(run, str(what))) from None
    if run.curve is not None:
        run.curve.finish(run.history, run.config)
    if ranks.spread:
        distributed.barrier()  # no process leaves before rank 0 has written
    seconds = time.monotonic() - session_start
    return TrainResult(run_dir, stopped, run.position["epoch"], run.position["steps"], run.position["events"],
                       run.best, seconds, session_events / max(seconds, 1e-9),
                       session_events / max(step_seconds, 1e-9), ranks.main)


def _diverged(run: TrainingSession, what: str) -> str:
    step = run.position["steps"] + 1
    kept = run.run_dir / LAST
    if kept.is_file():
        import torch

        saved = torch.load(kept, map_location="cpu", weights_only=True)["position"]["steps"]
        kept_text = f"the last good checkpoint is kept: {kept} (step {saved:,})"
    else:
        kept_text = "no checkpoint had been written yet"
    return (f"training diverged at step {step:,}: {what} is not a finite number; {kept_text}; "
            f"train again with a lower --lr (it was {run.config['lr']:g})")


def _save_last(run: TrainingSession, state: dict) -> None:
    if run.ranks.main:
        save_checkpoint(run.run_dir / LAST, state)


def _finish_segment(run: TrainingSession, bar) -> None:
    """After an epoch (or the time budget): validate, keep the best, save, plot. Of
    several processes rank 0 validates and writes; the others wait for its NLL."""
    nll = run.validate() if run.ranks.main else None
    if run.ranks.spread:
        nll = distributed.from_main(nll)
    run.clock()
    improved = run.record_validation(nll)
    if run.scheduler is not None:
        run.scheduler.step(nll)
        if not improved:
            bar.note(f"no better: learning rate now {run.optimizer.param_groups[0]['lr']:.2e}")
    state = run.checkpoint()
    if run.ranks.main:
        if improved:
            save_checkpoint(run.run_dir / BEST, state)
        save_checkpoint(run.run_dir / LAST, state)
    position = run.position
    bar.note(f"val NLL {nll:.3f} (best {run.best:.3f})",
             f"after {position['steps']:,} steps, {position['events']:,} events, {run.elapsed / 60:.1f} min")
    if run.curve is not None:
        run.curve.validated(run.history, run.config)
