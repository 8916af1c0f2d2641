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

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from live.app.progress import progress_bars
from live.core import vocab
from live.signals import stop_requests, terminate_as_interrupt

from export.corpus import batches
from export.corpus.augment import BEAT_TRANSPOSE, DEFAULT_STRETCH, DEFAULT_TRANSPOSE, augment, vary_velocity
from export.corpus.building import Corpus, load_corpus, notes_to_events
from export.errors import CheckpointError, CorpusError, TrainConfigError, TrainingDiverged
from export.training.curve import SessionCurve
from export.training import distributed
from export.training.defaults import DEFAULTS
from export.training.devices import Placement, place
from export.training.primers import bar_primers, choose_primers
from export.evaluation.scoring import cap_events, score_stream, score_windows

CHECKPOINT_FORMAT = "encore-checkpoint-v1"
LAST, BEST = "last.pt", "best.pt"
PARITY_EVENTS = 512
CLIP_NORM = 1.0
# last.pt is also saved this often inside an epoch: a slow arch (seed) or a killed job
# loses at most this much training.
SAVE_EVERY_SECONDS = 600
# Halving the learning rate on a plateau stops at this fraction of the starting rate:
# a fine-tune on 59 songs halved it to ~1e-15 in 40 epochs that then changed nothing.
LR_FLOOR = 0.01


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


# ---------------------------------------------------------------- checkpoints


def load_checkpoint(path: str | Path) -> dict:
    import torch

    path = Path(path)
    if path.is_dir():
        for name in (BEST, LAST):
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise CheckpointError(f"{path}: holds no checkpoint ({BEST} or {LAST}); train into it first")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such run folder or checkpoint; check the path")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle refusals, truncation, not a zip: all one message
        raise CheckpointError(f"{path}: not a loadable encore checkpoint ({type(err).__name__}); "
                              "train again or pick another file") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not an encore checkpoint ({CHECKPOINT_FORMAT})")
    if state.get("vocab") != vocab.VOCAB_NAME:
        raise CheckpointError(f"{path}: vocabulary {state.get('vocab')!r} is not {vocab.VOCAB_NAME}")
    problem = _checkpoint_problem(state)
    if problem:
        raise CheckpointError(f"{path}: not a whole encore checkpoint ({problem}); train again or pick another file")
    return state


# What every use of a checkpoint reads (export, fine-tuning, resuming); a resume reads
# more, checked where it resumes.
_CONFIG_NUMBERS = {"layers": (1, 64), "hidden": (1, 16_384), "embed": (0, 16_384), "window": (1, 100_000)}


def _checkpoint_problem(state: dict) -> str | None:
    config = state.get("config")
    if not isinstance(config, dict):
        return "no config"
    if config.get("arch") not in DEFAULTS:
        return f"config arch {str(config.get('arch'))[:20]!r} is not stream or seed"
    for key, (low, high) in _CONFIG_NUMBERS.items():
        value = config.get(key, DEFAULTS[config["arch"]].get(key))
        if value is not None and not (type(value) is int and low <= value <= high):
            return f"config {key} is {str(value)[:20]!r}, not a whole number {low}..{high}"
    dropout = config.get("dropout", 0.0)
    if not (isinstance(dropout, (int, float)) and 0 <= dropout < 1):
        return f"config dropout is {str(dropout)[:20]!r}, not a number in [0, 1)"
    if not isinstance(state.get("model"), dict):
        return "no model weights"
    return None


def model_from_checkpoint(state: dict, where: str | Path):
    """The checkpoint's network with its weights; weights that do not fit its own
    config (a hand-edited or foreign file) are one CheckpointError."""
    from export.training.networks import build_model

    try:
        model = build_model(state["config"])
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, RuntimeError) as err:
        first = str(err).splitlines()[0][:160]
        raise CheckpointError(f"{where}: its weights do not fit its own config ({first}); "
                              "train again or pick another file") from None
    return model


def _save(path: Path, state: dict) -> None:
    import torch

    # Weights that went inf on a finite loss (a learning rate far too high) are not saved
    # over the last good checkpoint: the next loss is NaN and the run stops there.
    if not all(bool(torch.isfinite(weights).all()) for weights in state["model"].values()
               if torch.is_floating_point(weights)):
        raise _NotFinite("a weight")
    partial = path.with_suffix(".tmp")
    torch.save(state, partial)
    partial.replace(path)  # a crash mid-write never leaves a broken checkpoint


# ---------------------------------------------------------------- the loop


class _NotFinite(Exception):
    """Inside the loop: what stopped being a number (the loss, a weight)."""


class _Run:
    """Everything one training session holds; the loop below drives it."""

    def __init__(self, corpus: Corpus, corpus_path: str, run_dir: Path, config: dict, state: dict | None,
                 placement: Placement | None = None, ranks: distributed.Ranks | None = None):
        import torch

        from export.training.networks import build_model, make_optimizer, make_schedule

        self.torch = torch
        self.config, self.run_dir = config, run_dir
        self.placement = placement or place()
        self.ranks = ranks or distributed.Ranks()
        self.train_pieces = corpus.split("train")
        val = [p.events for p in corpus.split("val")]
        if not self.train_pieces:
            raise CorpusError(f"{corpus_path}: no training pieces; build the corpus from more pieces")
        if not val:
            raise CorpusError(f"{corpus_path}: no validation pieces (needs 3 or more pieces); "
                              "add pieces and rebuild the corpus")
        self.val = cap_events(val, config["val_events"])
        torch.manual_seed(config["seed"])
        self.model = build_model(config).to(self.placement.device)
        self.optimizer = make_optimizer(self.model, config)
        self.scheduler = make_schedule(self.optimizer, config, LR_FLOOR)
        self.scaler = torch.amp.GradScaler("cuda") if self.placement.scaled else None
        self.trainer = self.model  # what steps call: the model, or DDP around it (spread())
        self.loss_fn = torch.nn.CrossEntropyLoss(ignore_index=batches.IGNORE)
        self.position = {"epoch": 0, "batch": 0, "steps": 0, "events": 0}
        self.best: float | None = None
        self.history: dict = {"train": [], "val": []}
        self.carry = None
        self.carry_whole = False  # a resumed carry holds every lane; a process keeps its own
        self.elapsed = 0.0  # training seconds over all sessions
        self.mark = time.monotonic()
        self.curve = SessionCurve(run_dir / "curve.png") if self.ranks.main else None
        self.time = corpus.time
        # train_events_per_epoch is counted when an epoch is planned: encoding every piece
        # here too doubled the start of a large corpus (100 s of 200 on ten times the default's)
        self.corpus_info = {"path": str(corpus_path), "description": corpus.describe(), "time": self.time}
        self.primers = (bar_primers(val, config["seed"], vocab.STEPS_PER_BAR) if self.time == "beats"
                        else choose_primers(val, config["seed"]))
        joined = np.concatenate([np.append(v, batches.PAD_EVENT) for v in val])
        self.parity_events = [int(e) for e in np.resize(joined, PARITY_EVENTS)]
        if state is not None:
            self._restore(state)

    # ---- state

    def _restore(self, state: dict) -> None:
        try:
            self._restore_from(state)
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as err:
            what = f"no {err.args[0]!r}" if isinstance(err, KeyError) else str(err).splitlines()[0][:120]
            raise CheckpointError(f"{self.run_dir / LAST}: cannot resume from it ({what}); train into a new "
                                  "folder, or fine-tune from it with --init") from None

    def _restore_from(self, state: dict) -> None:
        from export.training.networks import make_optimizer, make_schedule

        self.model = model_from_checkpoint(state, self.run_dir / LAST).to(self.placement.device)
        self.trainer = self.model
        self.optimizer = make_optimizer(self.model, self.config)
        self.optimizer.load_state_dict(state["optimizer"])
        self.position = dict(state["position"])
        self.best = state["best_val_nll"]
        self.scheduler = make_schedule(self.optimizer, self.config, LR_FLOOR)
        if self.scheduler is not None:
            if state.get("scheduler") is not None:
                self.scheduler.load_state_dict(state["scheduler"])
            elif self.best is not None:
                # a checkpoint from before the schedule was saved: its best is the run's
                self.scheduler.best = self.best
        self.history = state["history"]
        self.carry = (tuple(t.to(self.placement.device) for t in state["carry"])
                      if state.get("carry") is not None else None)
        self.carry_whole = self.carry is not None
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.elapsed = state.get("elapsed", 0.0)
        self.primers = state["primers"]
        self.parity_events = state["parity_events"]
        self.torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") is not None and self.placement.device.type == "cuda":
            self.torch.cuda.set_rng_state(state["cuda_rng"], self.placement.device)

    def spread(self) -> None:
        """Wrapped in DDP, once the weights are final: it starts every process from rank 0's."""
        if self.ranks.spread:
            from torch.nn.parallel import DistributedDataParallel

            cuda = self.placement.device.type == "cuda"
            self.trainer = DistributedDataParallel(self.model, device_ids=[self.placement.device] if cuda else None)

    def checkpoint(self) -> dict:
        """The state to save (of several processes: all of them call it, for the carry)."""
        carry = distributed.gather_lanes(self.carry) if self.ranks.spread else self.carry
        cuda = self.placement.device.type == "cuda"
        return {
            "format": CHECKPOINT_FORMAT,
            "vocab": vocab.VOCAB_NAME,
            "config": self.config,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "position": dict(self.position),
            "carry": list(carry) if carry is not None else None,
            "torch_rng": self.torch.get_rng_state(),
            "cuda_rng": self.torch.cuda.get_rng_state(self.placement.device) if cuda else None,
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "best_val_nll": self.best,
            "history": self.history,
            "corpus": self.corpus_info,
            "primers": self.primers,
            "parity_events": self.parity_events,
            "elapsed": self.elapsed,
        }

    # ---- data

    def epoch_batches(self, epoch: int) -> tuple[list, int]:
        """This epoch's batches (a list or a generator) and how many there are."""
        config = self.config
        rng = np.random.default_rng([config["seed"], epoch])
        if self.time == "beats":
            # no stretch: the grid is the point (the tempo is the player's); every key; loudness redrawn
            semitones = max(config["transpose"], BEAT_TRANSPOSE)
            pieces = [notes_to_events(vary_velocity(augment(p.notes, rng, semitones, 0.0), rng),
                                      "beats").astype(batches.LANE_DTYPE)
                      for p in self.train_pieces]
        else:
            pieces = [notes_to_events(augment(p.notes, rng, config["transpose"], config["stretch"]))
                      .astype(batches.LANE_DTYPE) for p in self.train_pieces]
        self.corpus_info.setdefault("train_events_per_epoch", int(sum(len(p) for p in pieces)))
        if config["arch"] == "stream":
            joint = batches.BAR_JOINT if self.time == "beats" else None
            plan = batches.stream_windows(batches.lanes(pieces, config["batch"], rng, joint), config["window"])
            return plan, len(plan)
        return (batches.seed_batches(pieces, config["window"], config["batch"], rng),
                batches.seed_batch_count(pieces, config["batch"]))

    # ---- steps

    def step(self, inputs: np.ndarray, targets: np.ndarray) -> tuple[float, int]:
        """One optimisation step on a batch: its mean loss and its count of targets. One
        of several processes steps on its own lanes and gives its part of the batch's mean
        (the processes' parts sum to it); the count is still the whole batch's."""
        torch = self.torch
        whole = None
        if self.ranks.spread:
            whole = int((targets != batches.IGNORE).sum())
            mine = self.ranks.share(len(inputs))
            inputs, targets = inputs[mine], targets[mine]
            if self.carry_whole:
                self.carry = tuple(t[:, mine] for t in self.carry)
        self.carry_whole = False
        self.trainer.train()
        device = self.placement.device
        x, y = torch.from_numpy(inputs).to(device), torch.from_numpy(targets).to(device)
        with self.placement.autocast():
            if self.config["arch"] == "stream":
                if self.carry is None or self.carry[0].shape[1] != x.shape[0]:
                    self.carry = self.model.zero_state(x.shape[0])
                logits, h, c = self.trainer(x, *self.carry)
                self.carry = (h.detach().float(), c.detach().float())  # fp32 whatever autocast ran in
                loss = self.loss_fn(logits.reshape(-1, vocab.VOCAB_SIZE), y.reshape(-1))
            else:
                logits = self.trainer(x)
                loss = self.loss_fn(logits, y)
        count = int((targets != batches.IGNORE).sum())
        if whole is not None:
            # DDP averages the processes' gradients: weighted so, they sum to the mean over the
            # whole batch, however its targets fall among the lanes (no targets: no gradient)
            loss = loss * (count * self.ranks.world / whole) if count else logits.sum() * 0.0
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)  # clip the true gradients
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config["clip"])
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config["clip"])
            self.optimizer.step()
        if whole is not None:
            return loss.item() / self.ranks.world, whole
        return loss.item(), count

    def validate(self) -> float:
        torch = self.torch
        self.model.eval()
        device = self.placement.device
        with torch.no_grad():  # in fp32: the NLL that picks best.pt is the exported model's
            if self.config["arch"] == "stream":
                def run(batch):
                    out = self.model(torch.from_numpy(batch).to(device), *self.model.zero_state(len(batch)))[0]
                    return out.float().cpu().numpy()
                scores = score_stream(self.val, run)
            else:
                scores = score_windows(
                    self.val, self.config["window"],
                    lambda batch: self.model(torch.from_numpy(batch).to(device)).float().cpu().numpy())
        return scores.nll_per_event

    # ---- records

    def clock(self) -> None:
        now = time.monotonic()
        self.elapsed += now - self.mark
        self.mark = now

    def record_validation(self, nll: float) -> bool:
        epoch, events = self.position["epoch"], self.position["events"]
        self.history["val"].append([events, epoch, nll])
        improved = self.best is None or nll < self.best
        if improved:
            self.best = nll
        if not self.ranks.main:
            return improved
        with (self.run_dir / "log.jsonl").open("a") as log:
            log.write(json.dumps({"epoch": epoch, "steps": self.position["steps"], "events": events,
                                  "val_nll": nll, "best": self.best, "seconds": round(self.elapsed, 1)}) + "\n")
        return improved

    def validations_since_best(self) -> int:
        """How many validations in a row have not improved on the best."""
        since = 0
        for _, _, nll in reversed(self.history["val"]):
            if nll <= self.best:
                break
            since += 1
        return since


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
        run = _Run(corpus, str(corpus_path), run_dir, config, state, placement, ranks)
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


def _loop(run: _Run, minutes: float | None, epochs: int | None, steps: int | None, on_step,
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
                        raise _NotFinite(f"the loss ({loss})")
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
            except _NotFinite as what:
                raise TrainingDiverged(_diverged(run, str(what))) from None
        except _NotFinite as what:
            raise TrainingDiverged(_diverged(run, str(what))) from None
    if run.curve is not None:
        run.curve.finish(run.history, run.config)
    if ranks.spread:
        distributed.barrier()  # no process leaves before rank 0 has written
    seconds = time.monotonic() - session_start
    return TrainResult(run_dir, stopped, run.position["epoch"], run.position["steps"], run.position["events"],
                       run.best, seconds, session_events / max(seconds, 1e-9),
                       session_events / max(step_seconds, 1e-9), ranks.main)


def _diverged(run: _Run, what: str) -> str:
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


def _save_last(run: _Run, state: dict) -> None:
    if run.ranks.main:
        _save(run.run_dir / LAST, state)


def _finish_segment(run: _Run, bar) -> None:
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
            _save(run.run_dir / BEST, state)
        _save(run.run_dir / LAST, state)
    position = run.position
    bar.note(f"val NLL {nll:.3f} (best {run.best:.3f})",
             f"after {position['steps']:,} steps, {position['events']:,} events, {run.elapsed / 60:.1f} min")
    if run.curve is not None:
        run.curve.validated(run.history, run.config)
