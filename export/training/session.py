"""One training session's state: the network, its optimiser and schedule, where the
run stands, the carried LSTM state; and what it does with them: plan an epoch's batches,
take a step, validate, and give the state a checkpoint holds. export.training.train's
loop drives it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from live.core import vocab

from export.corpus import batches
from export.corpus.augment import BEAT_TRANSPOSE, augment, vary_velocity
from export.corpus.building import Corpus, notes_to_events
from export.errors import CheckpointError, CorpusError
from export.training import distributed
from export.training.checkpoints import CHECKPOINT_FORMAT, LAST, model_from_checkpoint
from export.training.curve import SessionCurve
from export.training.devices import Placement, place
from export.training.primers import bar_primers, choose_primers
from export.evaluation.scoring import cap_events, score_stream, score_windows

PARITY_EVENTS = 512
# Halving the learning rate on a plateau stops at this fraction of the starting rate:
# a fine-tune on 59 songs halved it to ~1e-15 in 40 epochs that then changed nothing.
LR_FLOOR = 0.01


class TrainingSession:
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
